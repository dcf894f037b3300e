/* quantity.h — Kubernetes resource.Quantity ("500m", "1.5Gi", "2e3"), parsed and printed as
 * k8s.io/apimachinery/pkg/api/resource does.
 *
 * Parsing follows ParseQuantity exactly: the same scanner (so "1.", ".5", "+1", "-", "k" and
 * "1.G" are accepted like Kubernetes accepts them), the same suffixes (binary Ki..Ei, decimal
 * n u m "" k M G T P E, exponents e<int32>/E<int32>), values finer than 1n rounded away from
 * zero to the next nano ("0.9n" is 1n, "1.1m" stays 1100u), BinarySI values capped silently at
 * 2^63-1 ("8Ei", "9Ei" parse as 9223372036854775807), and a BinarySI value in (0, 1) turning
 * into DecimalSI. Error texts are Kubernetes' (ErrFormatWrong, ErrSuffix, ErrNumeric),
 * prefixed with the input and followed by the cause.
 *
 * kube_quantity_format is Quantity.String(): the canonical form (largest exponent keeping an
 * integer mantissa, format of the input kept: "1.5Gi" -> "1536Mi", "0.1" -> "100m",
 * "1000" -> "1k", "2e3" -> "2e3"), except that, like Kubernetes, an input that parsed on the
 * int64 fast path and already looks canonical is echoed verbatim ("+1" prints "+1",
 * "1.500k" prints "1.500k", "1E3" prints "1E3"). kube_quantity_format_canonical never echoes.
 *
 * Representation and limits (Kubernetes keeps an inf.Dec of any size; kswarm does not):
 *  - value = mant * 10^scale with |mant| <= INT64_MAX (the range is symmetric: -2^63 itself is
 *    not representable), mant without trailing zero digits, scale in [-9, INT32_MAX] (0 for
 *    zero). Every value that fits int64Amount at scale >= -9 fits, and so does any value
 *    with at most 18 significant digits whatever its exponent ("1e100", "123e-7").
 *  - a parsed value needing more significant digits after rounding to nano (for instance
 *    "18446744073709551616", which Kubernetes keeps exactly) fails with KS_ETOOBIG, as does a
 *    normalized exponent beyond INT32_MAX ("10e2147483647", which Kubernetes mangles).
 *  - input longer than KUBE_QUANTITY_MAX_LEN bytes fails with KS_ETOOBIG.
 *  - the verbatim echo is kept only for inputs shorter than KUBE_QUANTITY_LIT_MAX bytes;
 *    longer ones (possible only with padding zeros, "0000000000000000000000001") print in
 *    computed canonical form, which has the same value.
 *  - DecimalSI has no suffix above E (10^18): such values print in exponent form ("1000E"
 *    prints "1e21"), as current apimachinery does (older releases dropped the exponent).
 *  - a BinarySI value of 10^38 or more (reachable only through add/sub) prints as DecimalSI;
 *    a BinarySI value divisible by 2^70 prints with the largest suffix, Ei, where Kubernetes
 *    prints a wrong number.
 *  - kube_quantity_value/milli round away from zero, as int64Amount does, and saturate at
 *    INT64_MIN/INT64_MAX where Kubernetes silently overflows; kube_quantity_scaled reports
 *    the overflow instead. (Kubernetes' inf.Dec path rounds some negative values up instead:
 *    MilliValue of "-0.0000000001" is +1 there, -1 here.)
 * A struct kube_quantity is a plain value: copy it freely, nothing to free. */
#ifndef KS_KUBE_QUANTITY_H
#define KS_KUBE_QUANTITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ks_err;

/* Ceiling on the input of kube_quantity_parse. */
#define KUBE_QUANTITY_MAX_LEN 128
/* Inputs shorter than this are echoed verbatim by kube_quantity_format when Kubernetes would. */
#define KUBE_QUANTITY_LIT_MAX 24
/* Always enough room for kube_quantity_format and kube_quantity_format_canonical. */
#define KUBE_QUANTITY_STR_MAX 64

enum kube_qformat {
	KUBE_QF_DECIMAL_SI = 0, /* "DecimalSI": 12M, 100m, 5 */
	KUBE_QF_BINARY_SI,      /* "BinarySI": 12Mi */
	KUBE_QF_DECIMAL_EXP,    /* "DecimalExponent": 12e6 */
};

struct kube_quantity {
	int64_t mant;                     /* |mant| <= INT64_MAX, no trailing zero digits */
	int32_t scale;                    /* value = mant * 10^scale; >= -9 */
	enum kube_qformat format;         /* as parsed (Quantity.Format) */
	char lit[KUBE_QUANTITY_LIT_MAX];  /* the input, when String() echoes it; else "" */
};

/* "DecimalSI", "BinarySI", "DecimalExponent". */
const char *kube_qformat_name(enum kube_qformat f);

/* ParseQuantity. s need not be NUL-terminated. No whitespace is trimmed (Quantity's JSON
 * decoding trims; trim before calling when decoding JSON). On failure *q is left zero. */
int kube_quantity_parse(const char *s, size_t len, struct kube_quantity *q, struct ks_err *err);

/* Quantity.String() into out; returns the length, or KS_ETOOBIG (out set to "") when outlen
 * is too small. KUBE_QUANTITY_STR_MAX is always enough. */
int kube_quantity_format(const struct kube_quantity *q, char *out, size_t outlen);
/* The computed canonical form, never the echoed input ("+1" prints "1"). */
int kube_quantity_format_canonical(const struct kube_quantity *q, char *out, size_t outlen);

/* Value(): the value rounded away from zero to an integer, saturated at INT64_MIN/MAX. */
int64_t kube_quantity_value(const struct kube_quantity *q);
/* MilliValue(): ceil(q * 1000) away from zero, saturated at INT64_MIN/MAX. */
int64_t kube_quantity_milli(const struct kube_quantity *q);
/* ScaledValue(scale): the value in units of 10^scale, rounded away from zero; KS_ETOOBIG
 * (and *out saturated) when it does not fit an int64. */
int kube_quantity_scaled(const struct kube_quantity *q, int scale, int64_t *out);

/* -1, 0 or 1 as a < b, a == b, a > b (exact, whatever the formats). */
int kube_quantity_cmp(const struct kube_quantity *a, const struct kube_quantity *b);
/* -1, 0 or 1. */
int kube_quantity_sign(const struct kube_quantity *q);
bool kube_quantity_is_zero(const struct kube_quantity *q);

/* q += y and q -= y, exactly. As Quantity.Add/Sub, a zero q takes y's format. Fails with
 * KS_ETOOBIG, leaving q unchanged, when the exact result does not fit the representation. */
int kube_quantity_add(struct kube_quantity *q, const struct kube_quantity *y, struct ks_err *err);
int kube_quantity_sub(struct kube_quantity *q, const struct kube_quantity *y, struct ks_err *err);
void kube_quantity_neg(struct kube_quantity *q);

/* NewQuantity(value, format): bytes are kube_quantity_from_int(n, KUBE_QF_BINARY_SI). */
struct kube_quantity kube_quantity_from_int(int64_t value, enum kube_qformat format);
/* NewMilliQuantity(milli, format): milli-cores are kube_quantity_from_milli(m, DECIMAL_SI).
 * INT64_MIN is clamped to -INT64_MAX in both. */
struct kube_quantity kube_quantity_from_milli(int64_t milli, enum kube_qformat format);

#endif
