/* yschema.c — see yschema.h. */
#include "base/common.h"
#include "kube/yschema.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int kube_ys_bad(const struct kube_ysrc *x, const struct kube_ynode *n, const char *field,
		const char *fmt, ...)
{
	char what[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	return ks_err_set(x->err, KS_EINVAL, "%s:%d:%d: %s%s%s", x->name, n->line, n->col, field,
			  field[0] ? ": " : "", what);
}

int kube_ys_type(const struct kube_ysrc *x, const struct kube_ynode *n, const char *field,
		 enum kube_ynode_type t)
{
	static const char *const names[] = {"a scalar", "a mapping", "a list"};
	if (n->type != t)
		return kube_ys_bad(x, n, field, "must be %s", names[t]);
	if (t == KUBE_Y_SCALAR && strlen(n->str) != n->len)
		return kube_ys_bad(x, n, field, "holds a NUL byte");
	return 0;
}

int kube_ys_keys(const struct kube_ysrc *x, const struct kube_ynode *n, const char *field,
		 const char *const *allowed)
{
	for (size_t i = 0; i < n->n; i += 2) {
		const struct kube_ynode *k = n->kids[i];
		int rc = kube_ys_type(x, k, field, KUBE_Y_SCALAR);
		if (rc)
			return rc;
		bool ok = false;
		for (const char *const *a = allowed; *a && !ok; a++)
			ok = !strcmp(k->str, *a);
		if (!ok)
			return kube_ys_bad(x, k, field, "unknown key '%s'", k->str);
		for (size_t j = 0; j < i; j += 2)
			if (!strcmp(n->kids[j]->str, k->str))
				return kube_ys_bad(x, k, field, "key '%s' is given twice", k->str);
	}
	return 0;
}

const struct kube_ynode *kube_ys_member(const struct kube_ynode *map, const char *key)
{
	for (size_t i = 0; i + 1 < map->n; i += 2)
		if (!strcmp(map->kids[i]->str, key))
			return map->kids[i + 1];
	return NULL;
}
