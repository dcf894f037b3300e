/* yschema.c — see yschema.h. */
#include "base/common.h"
#include "kube/yschema.h"

#include "base/strutil.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
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

int kube_ys_map(const struct kube_ysrc *x, const struct kube_ynode *n, const char *field,
		const char *const *allowed)
{
	int rc = kube_ys_type(x, n, field, KUBE_Y_MAP);
	return rc ? rc : kube_ys_keys(x, n, field, allowed);
}

int kube_ys_bool(const struct kube_ysrc *x, const struct kube_ynode *n, const char *field,
		 bool *out)
{
	int rc = kube_ys_type(x, n, field, KUBE_Y_SCALAR);
	if (rc)
		return rc;
	if (n->plain && !strcmp(n->str, "true"))
		*out = true;
	else if (n->plain && !strcmp(n->str, "false"))
		*out = false;
	else
		return kube_ys_bad(x, n, field, "'%s' is not true or false", n->str);
	return 0;
}

int kube_ys_int(const struct kube_ysrc *x, const struct kube_ynode *n, const char *field,
		int64_t lo, int64_t hi, int64_t *out)
{
	int rc = kube_ys_type(x, n, field, KUBE_Y_SCALAR);
	if (rc)
		return rc;
	if (!ks_parse_int64(n->str, out))
		return kube_ys_bad(x, n, field, "'%s' is not a whole number", n->str);
	if (*out < lo || *out > hi)
		return kube_ys_bad(x, n, field, "%s is not between %lld and %lld", n->str,
				   (long long)lo, (long long)hi);
	return 0;
}

int kube_ys_decimal(const struct kube_ysrc *x, const struct kube_ynode *n, const char *field,
		    bool pct, double lo, double hi, double *out)
{
	int rc = kube_ys_type(x, n, field, KUBE_Y_SCALAR);
	if (rc)
		return rc;
	const char *s = n->str;
	size_t digits = strspn(s, "0123456789"), dots = 0;
	if (s[digits] == '.') {
		dots = 1;
		digits += strspn(s + digits + 1, "0123456789");
	}
	size_t percent = pct && s[digits + dots] == '%';
	if (!digits || digits + dots + percent != n->len || n->len > 20)
		return kube_ys_bad(x, n, field, "'%s' is not a number (digits, one optional '.'%s)",
				   s, pct ? ", an optional final '%'" : "");
	*out = strtod(s, NULL);
	if (!(*out >= lo && *out <= hi))
		return kube_ys_bad(x, n, field, "%s is not between %g and %g", s, lo, hi);
	return 0;
}

int kube_ys_string(const struct kube_ysrc *x, const struct kube_ynode *n, const char *field,
		   bool token, bool allow_empty, size_t max)
{
	int rc = kube_ys_type(x, n, field, KUBE_Y_SCALAR);
	if (rc)
		return rc;
	if ((!allow_empty && n->len == 0) || n->len > max)
		return kube_ys_bad(x, n, field, "must be %s to %zu bytes long",
				   allow_empty ? "0" : "1", max);
	for (size_t i = 0; i < n->len; i++) {
		unsigned char c = (unsigned char)n->str[i];
		if (token ? (c <= ' ' || c > '~') : (c < ' ' && c != '\t'))
			return kube_ys_bad(x, n, field, "holds %s",
					   token ? "a space or a character other than printable ASCII"
						 : "a control character");
	}
	return 0;
}
