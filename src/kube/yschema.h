/* yschema.h — checking a kcyaml tree by hand against a file format, with every error naming
 * the file, the line and column of the node at fault, and the field:
 *   "prices.yaml:7:12: savingsPlans[0].pct: '120' is not between 0 and 100".
 * The formats' own parsers (price overrides, policies) walk their trees with these. */
#ifndef KS_KUBE_YSCHEMA_H
#define KS_KUBE_YSCHEMA_H

#include <stdbool.h>
#include <stdint.h>

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

/* Typed scalars and mappings, each an error naming the node when it does not fit: */
/* a mapping whose keys are all among allowed */
int kube_ys_map(const struct kube_ysrc *x, const struct kube_ynode *n, const char *field,
		const char *const *allowed);
/* plain true or false */
int kube_ys_bool(const struct kube_ysrc *x, const struct kube_ynode *n, const char *field,
		 bool *out);
/* a whole number in [lo, hi] */
int kube_ys_int(const struct kube_ysrc *x, const struct kube_ynode *n, const char *field,
		int64_t lo, int64_t hi, int64_t *out);
/* a decimal in [lo, hi]: digits with at most one '.', no sign, no exponent; a final '%' when
 * pct */
int kube_ys_decimal(const struct kube_ysrc *x, const struct kube_ynode *n, const char *field,
		    bool pct, double lo, double hi, double *out);
/* a string: printable ASCII without spaces when token, else any text without control
 * characters; 1..max bytes (0 bytes too when allow_empty) */
int kube_ys_string(const struct kube_ysrc *x, const struct kube_ynode *n, const char *field,
		   bool token, bool allow_empty, size_t max);

#endif
