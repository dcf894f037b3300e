/* fuzz_quantity.c — libFuzzer target for kube_quantity_parse and what builds on it.
 * Beyond "no crash, no UB, no leak" it checks, aborting on a violation:
 *  - errors are KS_EINVAL or KS_ETOOBIG with a message, and inputs past the ceiling fail;
 *  - a parsed value respects the representation invariants, and an echoed literal is the input;
 *  - String() and the canonical form parse back to the same value, and the canonical form is
 *    a fixed point (its own String() and canonical form);
 *  - "-" + input parses to the negated value in the same format, "+" + input to the same;
 *  - value/milli have the quantity's sign and agree with each other (ceil away from zero);
 *  - q + q - q == q, q - q == 0, -(-q) == q, and for the input split in two parsed halves
 *    a and b: cmp is antisymmetric and (a + b) - b == a whenever a + b fits. */
#include "base/common.h"
#include "kube/quantity.h"

#include <string.h>

__extension__ typedef __int128 i128;

static void check_error(int rc, const struct ks_err *err)
{
	if (rc != KS_EINVAL && rc != KS_ETOOBIG)
		abort();
	if (err->code != rc || err->msg[0] == '\0')
		abort();
}

static void check_invariants(const struct kube_quantity *q)
{
	if (q->mant == INT64_MIN)
		abort();
	if (q->mant == 0 && q->scale != 0)
		abort();
	if (q->mant != 0 && (q->mant % 10 == 0 || q->scale < -9))
		abort();
	if (strnlen(q->lit, sizeof q->lit) >= sizeof q->lit)
		abort();
}

/* s must parse back to a quantity equal to q. */
static void check_reparse(const struct kube_quantity *q, const char *s, int n)
{
	struct kube_quantity r;
	struct ks_err err;
	if (n < 0 || (size_t)n != strlen(s))
		abort();
	if (kube_quantity_parse(s, (size_t)n, &r, &err) != 0)
		abort();
	if (kube_quantity_cmp(q, &r) != 0)
		abort();
}

static i128 abs128(int64_t v)
{
	return v < 0 ? -(i128)v : (i128)v;
}

static void check_values(const struct kube_quantity *q)
{
	int sign = kube_quantity_sign(q);
	int64_t v = kube_quantity_value(q), m = kube_quantity_milli(q);
	if (sign == 0 && (v != 0 || m != 0))
		abort();
	if (sign != 0 && ((v > 0) != (sign > 0) || (m > 0) != (sign > 0) || v == 0 || m == 0))
		abort();
	int64_t sv, sm;
	int rv = kube_quantity_scaled(q, 0, &sv), rm = kube_quantity_scaled(q, -3, &sm);
	if (sv != v || sm != m)
		abort();
	if (rv == 0 && rm == 0 && sign != 0) {
		/* both round away from zero: 1000 (value - 1) < milli <= 1000 value */
		i128 av = abs128(sv), am = abs128(sm);
		if (!(1000 * (av - 1) < am && am <= 1000 * av))
			abort();
	}
	if (rm == 0 && rv != 0) /* fits in milli but not in units: impossible */
		abort();
}

static void check_arithmetic(const struct kube_quantity *q)
{
	int sign = kube_quantity_sign(q);
	struct kube_quantity a = *q;
	if (kube_quantity_add(&a, q, NULL) == 0) {
		if (kube_quantity_cmp(&a, q) != sign)
			abort();
		if (kube_quantity_sub(&a, q, NULL) != 0 || kube_quantity_cmp(&a, q) != 0)
			abort();
		check_invariants(&a);
	}
	a = *q;
	if (kube_quantity_sub(&a, q, NULL) != 0 || !kube_quantity_is_zero(&a))
		abort();
	if (a.format != q->format)
		abort();
	struct kube_quantity n = *q;
	kube_quantity_neg(&n);
	if (kube_quantity_cmp(&n, q) != -sign && !(sign == 0 && kube_quantity_cmp(&n, q) == 0))
		abort();
	kube_quantity_neg(&n);
	if (kube_quantity_cmp(&n, q) != 0)
		abort();
}

static bool parse_quiet(const uint8_t *data, size_t size, struct kube_quantity *q)
{
	struct ks_err err;
	int rc = kube_quantity_parse((const char *)data, size, q, &err);
	if (rc)
		check_error(rc, &err);
	return rc == 0;
}

static void check_pair(const struct kube_quantity *a, const struct kube_quantity *b)
{
	int c = kube_quantity_cmp(a, b);
	if (c != -kube_quantity_cmp(b, a) || c < -1 || c > 1)
		abort();
	struct kube_quantity s = *a;
	if (kube_quantity_add(&s, b, NULL) == 0) {
		check_invariants(&s);
		if (kube_quantity_cmp(&s, a) != kube_quantity_sign(b))
			abort();
		if (kube_quantity_sub(&s, b, NULL) != 0 || kube_quantity_cmp(&s, a) != 0)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kube_quantity q;
	struct ks_err err;
	int rc = kube_quantity_parse((const char *)data, size, &q, &err);
	if (rc) {
		check_error(rc, &err);
		if (size > KUBE_QUANTITY_MAX_LEN && rc != KS_ETOOBIG)
			abort();
	} else {
		if (size > KUBE_QUANTITY_MAX_LEN)
			abort();
		check_invariants(&q);
		if (q.lit[0] && (strlen(q.lit) != size || memcmp(q.lit, data, size) != 0))
			abort();

		char s[KUBE_QUANTITY_STR_MAX], c[KUBE_QUANTITY_STR_MAX], c2[KUBE_QUANTITY_STR_MAX];
		int n = kube_quantity_format(&q, s, sizeof s);
		check_reparse(&q, s, n);
		int m = kube_quantity_format_canonical(&q, c, sizeof c);
		check_reparse(&q, c, m);
		struct kube_quantity r;
		kube_quantity_parse(c, (size_t)m, &r, NULL);
		if (kube_quantity_format_canonical(&r, c2, sizeof c2) != m || strcmp(c, c2) != 0)
			abort();
		if (kube_quantity_format(&r, c2, sizeof c2) != m || strcmp(c, c2) != 0)
			abort();
		if (c[0] == '+' || (c[0] == '0' && c[1] != '\0'))
			abort();

		/* the same input with an explicit sign */
		if (size > 0 && size < KUBE_QUANTITY_MAX_LEN && data[0] != '-' && data[0] != '+') {
			char buf[KUBE_QUANTITY_MAX_LEN + 1];
			for (int sgn = 0; sgn < 2; sgn++) {
				buf[0] = sgn ? '+' : '-';
				memcpy(buf + 1, data, size);
				struct kube_quantity t;
				if (kube_quantity_parse(buf, size + 1, &t, NULL) != 0)
					abort();
				if (sgn == 0)
					kube_quantity_neg(&t);
				if (kube_quantity_cmp(&t, &q) != 0 || t.format != q.format)
					abort();
			}
		}
		check_values(&q);
		check_arithmetic(&q);
	}

	/* two halves, as two quantities */
	if (size >= 2) {
		struct kube_quantity a, b;
		size_t h = size / 2;
		if (parse_quiet(data, h, &a) && parse_quiet(data + h, size - h, &b))
			check_pair(&a, &b);
	}
	return 0;
}
