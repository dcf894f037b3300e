/* yschema.h — checking a kcyaml tree by hand against a file format, with every error naming
 * the file, the line and column of the node at fault, and the field:
 *   "prices.yaml:7:12: savingsPlans[0].pct: '120' is not between 0 and 100".
 * The formats' own parsers (price overrides, policies) walk their trees with these. */
#ifndef KS_KUBE_YSCHEMA_H
#define KS_KUBE_YSCHEMA_H

#include "kube/kcyaml.h"

struct ks_err;

/* The file being checked: its name (for messages) and where errors go. */
struct kube_ysrc {
	const char *name;
	struct ks_err *err;
};

/* KS_EINVAL with "NAME:LINE:COL: FIELD: what" (no "FIELD: " when field is ""). */
int kube_ys_bad(const struct kube_ysrc *x, const struct kube_ynode *n, const char *field,
		const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* n is of type t ("must be a scalar / a mapping / a list"); a scalar holding a NUL byte is
 * refused. */
int kube_ys_type(const struct kube_ysrc *x, const struct kube_ynode *n, const char *field,
		 enum kube_ynode_type t);
/* Every key of the mapping n is a scalar among allowed (NULL-terminated), none repeated. */
int kube_ys_keys(const struct kube_ysrc *x, const struct kube_ynode *n, const char *field,
		 const char *const *allowed);
/* The value under key in a mapping (keys checked by kube_ys_keys), or NULL. */
const struct kube_ynode *kube_ys_member(const struct kube_ynode *map, const char *key);

#endif
