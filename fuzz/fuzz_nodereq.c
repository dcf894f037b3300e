/* fuzz_nodereq.c — libFuzzer target for node selector requirements (kube/nodereq.h). The
 * input is JSON (at most 64 KiB: pod specs and NodePools are far smaller): a Pod object, or
 * an array of requirements. Beyond "no crash, no UB, no leak" it checks, aborting on a
 * violation:
 *  - errors are KS_EINVAL/KS_ETOOBIG with a message;
 *  - over label sets built from the requirements' own keys and values: whenever one label
 *    set satisfies two terms, kube_nodereq_compatible says they are compatible (the
 *    intersection is sound), and a term is compatible with itself when some set matches it;
 *  - a pod's selector matches a set exactly when one of its terms does. */
#include "base/common.h"
#include "base/json.h"
#include "kube/nodereq.h"

#include <string.h>

#define MAX_INPUT (64 << 10)

static void check_error(int rc, const struct ks_err *err)
{
	if (rc != KS_EINVAL && rc != KS_ETOOBIG)
		abort();
	if (err->code != rc || err->msg[0] == '\0')
		abort();
}

struct labels {
	const char *keys[8], *vals[8];
	size_t n;
};

static const char *lookup(void *ctx, const char *key)
{
	const struct labels *l = ctx;
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->keys[i], key))
			return l->vals[i];
	return NULL;
}

/* Label set number v over the first keys of t: each key absent, "", its first or last value
 * or a number, chosen by the digits of v in base 5. */
static void make_labels(const struct kube_nodereq_term *t, unsigned v, struct labels *l)
{
	l->n = 0;
	for (size_t i = 0; i < t->nreqs && l->n < 8; i++, v /= 5) {
		const struct kube_nodereq *r = &t->reqs[i];
		if (lookup(l, r->key))
			continue;
		const char *val;
		switch (v % 5) {
		case 0: continue;
		case 1: val = ""; break;
		case 2: val = r->nvalues ? r->values[0] : "1"; break;
		case 3: val = r->nvalues ? r->values[r->nvalues - 1] : "7"; break;
		default: val = "42"; break;
		}
		l->keys[l->n] = r->key;
		l->vals[l->n++] = val;
	}
}

static void check_terms(const struct kube_nodereq_term *a, const struct kube_nodereq_term *b,
			const struct kube_nodereq_term *src)
{
	char why[512];
	bool compat = kube_nodereq_compatible(a, b, why, sizeof why);
	if (!compat && !why[0])
		abort();
	for (unsigned v = 0; v < 125; v++) {
		struct labels l;
		make_labels(src, v, &l);
		bool ma = kube_nodereq_term_matches(a, lookup, &l);
		bool mb = kube_nodereq_term_matches(b, lookup, &l);
		if (ma && mb && !compat)
			abort();
		if (ma && !kube_nodereq_compatible(a, a, NULL, 0))
			abort();
	}
}

static void fuzz_list(const cJSON *j)
{
	struct kube_nodereq_term t;
	struct ks_err err = {0};
	int rc = kube_nodereq_parse_list(j, &t, &err);
	if (rc) {
		check_error(rc, &err);
		kube_nodereq_term_free(&t);
		return;
	}
	if (!t.nreqs) {
		kube_nodereq_term_free(&t);
		return;
	}
	/* the second half of the list against the first */
	struct kube_nodereq_term a = {t.reqs, t.nreqs / 2, false};
	struct kube_nodereq_term b = {t.reqs + t.nreqs / 2, t.nreqs - t.nreqs / 2, false};
	check_terms(&a, &b, &t);
	check_terms(&t, &t, &t);
	kube_nodereq_term_free(&t);
}

static void fuzz_pod(const cJSON *j)
{
	struct kube_nodereq_sel s;
	struct ks_err err = {0};
	int rc = kube_nodereq_from_pod(j, &s, &err);
	if (rc) {
		check_error(rc, &err);
		kube_nodereq_sel_free(&s);
		return;
	}
	for (size_t i = 0; i < s.nterms; i++) {
		for (unsigned v = 0; v < 25; v++) {
			struct labels l;
			make_labels(&s.terms[i], v, &l);
			bool any = false;
			for (size_t k = 0; k < s.nterms; k++)
				any = any || kube_nodereq_term_matches(&s.terms[k], lookup, &l);
			if (any != kube_nodereq_sel_matches(&s, lookup, &l))
				abort();
		}
		if (i + 1 < s.nterms)
			check_terms(&s.terms[i], &s.terms[i + 1], &s.terms[i]);
	}
	kube_nodereq_sel_free(&s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > MAX_INPUT)
		return 0;
	cJSON *j = ks_json_parse((const char *)data, size, MAX_INPUT, NULL);
	if (!j)
		return 0;
	if (cJSON_IsArray(j))
		fuzz_list(j);
	else
		fuzz_pod(j);
	cJSON_Delete(j);
	return 0;
}
