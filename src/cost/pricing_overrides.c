/* pricing_overrides.c — a cluster's price overrides file (format in pricing.h, semantics in
 * docs/PRICING.md). The file is parsed by kcyaml (JSON is YAML, so both go the same way) and
 * the node tree is walked directly, so every message names the line and column of the node
 * at fault: "prices.yaml:7:12: savingsPlans[0].pct: '120' is not between 0 and 100".
 * Ownership: struct cost_overrides owns its strings; cost_overrides_free frees it all. */
#include "base/common.h"

#include "cost/pricing.h"

#include "base/buf.h"
#include "cost/pricing_internal.h"
#include "kube/kcyaml.h"
#include "kube/yschema.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

struct ov_ctx {
	struct kube_ysrc ys; /* the file: name and error */
	struct cost_overrides *ov;
};

static int number(struct ov_ctx *x, const struct kube_ynode *n, const char *field, double lo,
		  double hi, bool hi_open, double *out)
{
	int rc = kube_ys_type(&x->ys, n, field, KUBE_Y_SCALAR);
	if (rc)
		return rc;
	if (strlen(n->str) != n->len || !cost__parse_decimal(n->str, n->len, out))
		return kube_ys_bad(&x->ys, n, field, "'%s' is not a number (digits, one optional '.')", n->str);
	if (*out < lo || *out > hi || (hi_open && *out == hi))
		return kube_ys_bad(&x->ys, n, field, "'%s' is not between %g and %g%s", n->str, lo, hi,
			   hi_open ? " (exclusive)" : "");
	return 0;
}

static int text(struct ov_ctx *x, const struct kube_ynode *n, const char *field, char **out)
{
	int rc = kube_ys_type(&x->ys, n, field, KUBE_Y_SCALAR);
	if (rc)
		return rc;
	if (n->len == 0 || n->len > 63 || strlen(n->str) != n->len)
		return kube_ys_bad(&x->ys, n, field, "'%s' must be 1-63 characters", n->str);
	for (const char *p = n->str; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || strchr("-._*", *p)))
			return kube_ys_bad(&x->ys, n, field, "'%s' holds a character other than "
						"[A-Za-z0-9._*-]", n->str);
	*out = ks_strdup(n->str);
	return 0;
}

static int text_list(struct ov_ctx *x, const struct kube_ynode *n, const char *field,
		     char ***out, size_t *count)
{
	int rc = kube_ys_type(&x->ys, n, field, KUBE_Y_SEQ);
	if (rc)
		return rc;
	if (n->n == 0 || n->n > COST_OVERRIDES_MAX_ITEMS)
		return kube_ys_bad(&x->ys, n, field, "must hold 1 to %d items", COST_OVERRIDES_MAX_ITEMS);
	*out = ks_calloc(n->n, sizeof **out);
	for (size_t i = 0; i < n->n; i++) {
		if ((rc = text(x, n->kids[i], field, &(*out)[i])))
			return rc;
		(*count)++;
	}
	return 0;
}

static int missing(struct ov_ctx *x, const struct kube_ynode *n, const char *field,
		   const char *key)
{
	return kube_ys_bad(&x->ys, n, field, "'%s' is required", key);
}

static int parse_plan(struct ov_ctx *x, const struct kube_ynode *n, const char *field,
		      struct cost_savings_plan *sp)
{
	static const char *const keys[] = {"name", "pct", "families", "regions", NULL};
	const struct kube_ynode *v;
	int rc = kube_ys_type(&x->ys, n, field, KUBE_Y_MAP);
	if (!rc)
		rc = kube_ys_keys(&x->ys, n, field, keys);
	if (rc)
		return rc;
	if (!(v = kube_ys_member(n, "name")))
		return missing(x, n, field, "name");
	if ((rc = text(x, v, field, &sp->name)))
		return rc;
	if (!(v = kube_ys_member(n, "pct")))
		return missing(x, n, field, "pct");
	if ((rc = number(x, v, field, 0, 100, true, &sp->pct)))
		return rc;
	if ((v = kube_ys_member(n, "families")) &&
	    (rc = text_list(x, v, field, &sp->families, &sp->nfamilies)))
		return rc;
	if ((v = kube_ys_member(n, "regions")) &&
	    (rc = text_list(x, v, field, &sp->regions, &sp->nregions)))
		return rc;
	return 0;
}

static int parse_reservation(struct ov_ctx *x, const struct kube_ynode *n, const char *field,
			     struct cost_reservation *r)
{
	static const char *const keys[] = {"instanceType", "count", "usdPerHour", NULL};
	const struct kube_ynode *v;
	double count;
	int rc = kube_ys_type(&x->ys, n, field, KUBE_Y_MAP);
	if (!rc)
		rc = kube_ys_keys(&x->ys, n, field, keys);
	if (rc)
		return rc;
	if (!(v = kube_ys_member(n, "instanceType")))
		return missing(x, n, field, "instanceType");
	if ((rc = text(x, v, field, &r->instance_type)))
		return rc;
	if (!strchr(r->instance_type, '.') || strchr(r->instance_type, '*'))
		return kube_ys_bad(&x->ys, v, field, "'%s' is not an instance type (family.size)",
			   r->instance_type);
	for (size_t i = 0; x->ov->reserved + i != r; i++)
		if (!strcmp(x->ov->reserved[i].instance_type, r->instance_type))
			return kube_ys_bad(&x->ys, v, field, "'%s' is reserved twice; give one entry with the "
						"total count", r->instance_type);
	if (!(v = kube_ys_member(n, "count")))
		return missing(x, n, field, "count");
	if ((rc = number(x, v, field, 1, 1000000, false, &count)))
		return rc;
	if (strchr(v->str, '.'))
		return kube_ys_bad(&x->ys, v, field, "count '%s' is not a whole number", v->str);
	r->count = (int64_t)count;
	if (!(v = kube_ys_member(n, "usdPerHour")))
		return missing(x, n, field, "usdPerHour");
	return number(x, v, field, 0, 1000, false, &r->usd_hr);
}

/* The list under key in map (*out NULL when absent), checked for type and length. */
static int list_member(struct ov_ctx *x, const struct kube_ynode *map, const char *key,
		       const struct kube_ynode **out)
{
	*out = kube_ys_member(map, key);
	if (!*out)
		return 0;
	int rc = kube_ys_type(&x->ys, *out, key, KUBE_Y_SEQ);
	if (!rc && (*out)->n > COST_OVERRIDES_MAX_ITEMS)
		rc = kube_ys_bad(&x->ys, *out, key, "more than %d items", COST_OVERRIDES_MAX_ITEMS);
	return rc;
}

static int parse_root(struct ov_ctx *x, const struct kube_ynode *root)
{
	static const char *const keys[] = {"discountPct", "savingsPlans", "reserved", NULL};
	struct cost_overrides *ov = x->ov;
	const struct kube_ynode *v;
	char field[64];
	int rc = kube_ys_type(&x->ys, root, "", KUBE_Y_MAP);
	if (!rc)
		rc = kube_ys_keys(&x->ys, root, "", keys);
	if (rc)
		return rc;
	if ((v = kube_ys_member(root, "discountPct"))) {
		if ((rc = number(x, v, "discountPct", 0, 100, true, &ov->discount_pct)))
			return rc;
		ov->has_discount = true;
	}
	if ((rc = list_member(x, root, "savingsPlans", &v)))
		return rc;
	if (v)
		ov->plans = ks_calloc(v->n ? v->n : 1, sizeof *ov->plans);
	for (size_t i = 0; v && i < v->n; i++) {
		snprintf(field, sizeof field, "savingsPlans[%zu]", i);
		ov->nplans++;
		if ((rc = parse_plan(x, v->kids[i], field, &ov->plans[i])))
			return rc;
	}
	if ((rc = list_member(x, root, "reserved", &v)))
		return rc;
	if (v)
		ov->reserved = ks_calloc(v->n ? v->n : 1, sizeof *ov->reserved);
	for (size_t i = 0; v && i < v->n; i++) {
		snprintf(field, sizeof field, "reserved[%zu]", i);
		ov->nreserved++;
		if ((rc = parse_reservation(x, v->kids[i], field, &ov->reserved[i])))
			return rc;
	}
	return 0;
}

int cost_overrides_parse_mem(const char *name, const char *data, size_t len,
			     struct cost_overrides **out, struct ks_err *err)
{
	*out = NULL;
	if (len > COST_OVERRIDES_MAX_BYTES)
		return ks_err_set(err, KS_ETOOBIG, "%s: larger than the %zu-byte limit", name,
				  COST_OVERRIDES_MAX_BYTES);
	struct kube_yaml y;
	if (kube_yaml_parse(data, len, &y, err))
		return ks_err_wrap(err, "%s", name);
	struct cost_overrides *ov = ks_calloc(1, sizeof *ov);
	ov->name = ks_strdup(name);
	struct ov_ctx x = {.ys = {.name = name, .err = err}, .ov = ov};
	int rc = y.root ? parse_root(&x, y.root)
			: ks_err_set(err, KS_EINVAL, "%s: empty document", name);
	kube_yaml_free(&y);
	if (rc) {
		cost_overrides_free(ov);
		return rc;
	}
	*out = ov;
	return 0;
}

int cost_overrides_load(const char *path, struct cost_overrides **out, struct ks_err *err)
{
	struct ks_buf b;
	ks_buf_init(&b, COST_OVERRIDES_MAX_BYTES);
	*out = NULL;
	int rc = ks_buf_read_file(&b, path, err);
	if (!rc)
		rc = cost_overrides_parse_mem(path, b.data, b.len, out, err);
	ks_buf_release(&b);
	return rc;
}

static void free_list(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void cost_overrides_free(struct cost_overrides *ov)
{
	if (!ov)
		return;
	for (size_t i = 0; i < ov->nplans; i++) {
		free(ov->plans[i].name);
		free_list(ov->plans[i].families, ov->plans[i].nfamilies);
		free_list(ov->plans[i].regions, ov->plans[i].nregions);
	}
	free(ov->plans);
	for (size_t i = 0; i < ov->nreserved; i++)
		free(ov->reserved[i].instance_type);
	free(ov->reserved);
	free(ov->name);
	free(ov);
}
