/* fuzz_selector.c — libFuzzer target for label selectors, LabelSelector objects and field
 * selectors. The first byte picks the parser (0: label selector string, 1: field selector,
 * 2: LabelSelector JSON); the rest is its input. Beyond "no crash, no UB, no leak" it checks,
 * aborting on a violation:
 *  - errors are KS_EINVAL/KS_ETOOBIG with a message; inputs past the ceiling fail;
 *  - label selectors: String() parses back to the same String() and the same matches, over
 *    label sets built from the selector's own keys and values; requirements are sorted;
 *  - LabelSelector objects: String() parses as a selector string that matches the same;
 *  - field selectors: String() parses back to the same requirements (as a multiset; terms
 *    are sorted as written, so the order may change once), String() is stable from the second
 *    round on, and matching is the same. */
#include "base/common.h"
#include "base/json.h"
#include "kube/selector.h"

#include <string.h>

static void check_error(int rc, const struct ks_err *err)
{
	if (rc != KS_EINVAL && rc != KS_ETOOBIG)
		abort();
	if (err->code != rc || err->msg[0] == '\0')
		abort();
}

static char *label_string(const struct kube_selector *sel)
{
	struct ks_buf b;
	ks_buf_init(&b, KS_BUF_UNLIMITED);
	if (kube_selector_format(sel, &b) != 0)
		abort();
	return ks_buf_detach(&b);
}

/* Label sets to match against: every key of sel with its first value (or its number), with
 * "", absent, and keys taken from the other requirements' values. */
static void label_sets_agree(const struct kube_selector *a, const struct kube_selector *b,
			     const struct kube_selector *src)
{
	size_t n = src->nreqs > 8 ? 8 : src->nreqs;
	const char *keys[8], *vals[8];
	for (int variant = 0; variant < 5; variant++) {
		size_t k = 0;
		for (size_t i = 0; i < n; i++) {
			const struct kube_selreq *r = &src->reqs[i];
			if (variant == 3 && i % 2)
				continue;
			keys[k] = r->key;
			if (variant == 0)
				vals[k] = r->nvalues ? r->values[0] : "1";
			else if (variant == 1)
				vals[k] = "";
			else if (variant == 4)
				vals[k] = r->nvalues ? r->values[r->nvalues - 1] : "7";
			else
				vals[k] = "2";
			k++;
		}
		if (variant == 2)
			k = 0;
		if (kube_selector_matches_kv(a, keys, vals, k) !=
		    kube_selector_matches_kv(b, keys, vals, k))
			abort();
	}
}

static void check_sorted(const struct kube_selector *sel)
{
	for (size_t i = 1; i < sel->nreqs; i++)
		if (strcmp(sel->reqs[i - 1].key, sel->reqs[i].key) > 0)
			abort();
}

/* sel's String() must parse and print the same and match the same. */
static void check_label_roundtrip(const struct kube_selector *sel, bool exact_sets)
{
	char *s1 = label_string(sel);
	struct kube_selector again;
	struct ks_err err;
	if (kube_selector_parse(s1, strlen(s1), &again, &err) != 0)
		abort();
	char *s2 = label_string(&again);
	if (strcmp(s1, s2) != 0 && exact_sets)
		abort();
	if (again.nreqs != sel->nreqs)
		abort();
	check_sorted(&again);
	if (!sel->nothing) {
		label_sets_agree(sel, &again, sel);
		label_sets_agree(sel, &again, &again);
	}
	free(s1);
	free(s2);
	kube_selector_free(&again);
}

static void fuzz_label(const char *s, size_t n)
{
	struct kube_selector sel;
	struct ks_err err;
	int rc = kube_selector_parse(s, n, &sel, &err);
	if (rc) {
		check_error(rc, &err);
		if (sel.nreqs != 0)
			abort();
		return;
	}
	if (n > KUBE_SELECTOR_MAX_LEN || sel.nothing)
		abort();
	check_sorted(&sel);
	for (size_t i = 0; i < sel.nreqs; i++) {
		const struct kube_selreq *r = &sel.reqs[i];
		bool set = r->op == KUBE_SEL_IN || r->op == KUBE_SEL_NOTIN;
		bool unary = r->op == KUBE_SEL_EXISTS || r->op == KUBE_SEL_NOT_EXISTS;
		if (unary ? r->nvalues != 0 : set ? r->nvalues == 0 : r->nvalues != 1)
			abort();
		for (size_t j = 1; j < r->nvalues; j++) /* a sorted set */
			if (strcmp(r->values[j - 1], r->values[j]) >= 0)
				abort();
	}
	check_label_roundtrip(&sel, true);
	kube_selector_free(&sel);
}

static void fuzz_label_json(const char *s, size_t n)
{
	cJSON *j = ks_json_parse(s, n, 1 << 16, NULL);
	if (!j)
		return;
	struct kube_selector sel;
	struct ks_err err;
	int rc = kube_selector_from_json(j, &sel, &err);
	if (rc) {
		check_error(rc, &err);
	} else {
		check_sorted(&sel);
		/* values of an In expression may repeat; String() then differs from the reparse */
		check_label_roundtrip(&sel, false);
		kube_selector_free(&sel);
	}
	cJSON_Delete(j);
}

static char *field_string(const struct kube_fieldsel *fs)
{
	struct ks_buf b;
	ks_buf_init(&b, KS_BUF_UNLIMITED);
	if (kube_fieldsel_format(fs, &b) != 0)
		abort();
	return ks_buf_detach(&b);
}

static int freq_cmp(const void *a, const void *b)
{
	const struct kube_fieldreq *x = a, *y = b;
	int c = strcmp(x->field, y->field);
	if (!c)
		c = (int)x->op - (int)y->op;
	if (!c)
		c = strcmp(x->value, y->value);
	return c;
}

static bool same_terms(const struct kube_fieldsel *a, const struct kube_fieldsel *b)
{
	if (a->nreqs != b->nreqs)
		return false;
	size_t n = a->nreqs;
	if (n == 0)
		return true;
	struct kube_fieldreq *x = ks_calloc(n + 1, sizeof *x), *y = ks_calloc(n + 1, sizeof *y);
	memcpy(x, a->reqs, n * sizeof *x);
	memcpy(y, b->reqs, n * sizeof *y);
	qsort(x, n, sizeof *x, freq_cmp);
	qsort(y, n, sizeof *y, freq_cmp);
	bool same = true;
	for (size_t i = 0; i < n && same; i++)
		same = freq_cmp(&x[i], &y[i]) == 0;
	free(x);
	free(y);
	return same;
}

struct fields {
	const struct kube_fieldsel *src;
	int variant;
};

static const char *field_lookup(void *ctx, const char *field)
{
	const struct fields *f = ctx;
	for (size_t i = 0; i < f->src->nreqs; i++) {
		if (strcmp(f->src->reqs[i].field, field) == 0) {
			if (f->variant == 0)
				return f->src->reqs[i].value;
			if (f->variant == 1)
				return NULL;
			return i % 2 ? "" : f->src->reqs[i].value;
		}
	}
	return "";
}

static void fuzz_field(const char *s, size_t n)
{
	struct kube_fieldsel fs;
	struct ks_err err;
	int rc = kube_fieldsel_parse(s, n, &fs, &err);
	if (rc) {
		check_error(rc, &err);
		if (fs.nreqs != 0)
			abort();
		return;
	}
	if (n > KUBE_SELECTOR_MAX_LEN)
		abort();
	char *s1 = field_string(&fs);
	struct kube_fieldsel f2, f3;
	if (kube_fieldsel_parse(s1, strlen(s1), &f2, &err) != 0)
		abort();
	if (!same_terms(&fs, &f2))
		abort();
	char *s2 = field_string(&f2);
	if (kube_fieldsel_parse(s2, strlen(s2), &f3, &err) != 0)
		abort();
	char *s3 = field_string(&f3);
	if (strcmp(s2, s3) != 0)
		abort();
	for (int v = 0; v < 3; v++) {
		struct fields ctx = {&fs, v};
		if (kube_fieldsel_matches(&fs, field_lookup, &ctx) !=
		    kube_fieldsel_matches(&f2, field_lookup, &ctx))
			abort();
	}
	/* every requirement holds on its own values */
	struct fields own = {&fs, 0};
	bool all_eq = true;
	for (size_t i = 0; i < fs.nreqs; i++)
		all_eq = all_eq && fs.reqs[i].op == KUBE_FIELD_EQ;
	if (all_eq && fs.nreqs > 0) {
		bool unique = true; /* a field listed twice can want two values */
		for (size_t i = 1; i < fs.nreqs && unique; i++)
			for (size_t j = 0; j < i && unique; j++)
				unique = strcmp(fs.reqs[i].field, fs.reqs[j].field) != 0;
		if (unique && !kube_fieldsel_matches(&fs, field_lookup, &own))
			abort();
	}
	free(s1);
	free(s2);
	free(s3);
	kube_fieldsel_free(&fs);
	kube_fieldsel_free(&f2);
	kube_fieldsel_free(&f3);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	const char *s = (const char *)data + 1;
	size_t n = size - 1;
	switch (data[0] % 3) {
	case 0: fuzz_label(s, n); break;
	case 1: fuzz_field(s, n); break;
	default: fuzz_label_json(s, n); break;
	}
	return 0;
}
