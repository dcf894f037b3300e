/* quantity.c — Kubernetes resource.Quantity: parsing, String(), comparison, arithmetic.
 * See quantity.h for the behaviour and the limits. Parsing works on a decimal digit array so
 * that any input under the length ceiling is rounded exactly before it is narrowed to the
 * int64 mantissa; arithmetic uses 128-bit intermediates. */
#include "base/common.h"
#include "kube/quantity.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

__extension__ typedef __int128 i128;
__extension__ typedef unsigned __int128 u128;

#define SPLIT_RE "^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$"
#define ERR_FORMAT "quantities must match the regular expression '" SPLIT_RE "'"
#define ERR_NUMERIC "unable to parse numeric part of quantity"
#define ERR_SUFFIX "unable to parse quantity's suffix"

/* Digits of the value being parsed: input digits plus what 2^60 and a carry add. */
#define DIGITS_MAX (KUBE_QUANTITY_MAX_LEN + 32)
/* Room for an input shown in a message (4 bytes per escaped byte). */
#define SHOWN_MAX (4 * KUBE_QUANTITY_MAX_LEN + 1)

static const char int64_max_str[] = "9223372036854775807";
static const uint8_t int64_max_digits[19] = {9, 2, 2, 3, 3, 7, 2, 0, 3, 6,
					     8, 5, 4, 7, 7, 5, 8, 0, 7};

static const uint64_t pow10_u64[20] = {
	1ULL, 10ULL, 100ULL, 1000ULL, 10000ULL, 100000ULL, 1000000ULL, 10000000ULL,
	100000000ULL, 1000000000ULL, 10000000000ULL, 100000000000ULL, 1000000000000ULL,
	10000000000000ULL, 100000000000000ULL, 1000000000000000ULL, 10000000000000000ULL,
	100000000000000000ULL, 1000000000000000000ULL, 10000000000000000000ULL,
};

const char *kube_qformat_name(enum kube_qformat f)
{
	switch (f) {
	case KUBE_QF_DECIMAL_SI: return "DecimalSI";
	case KUBE_QF_BINARY_SI: return "BinarySI";
	case KUBE_QF_DECIMAL_EXP: return "DecimalExponent";
	}
	return "?";
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* The input as it can appear in a message: printable ASCII kept, other bytes as \xNN. */
static void show_input(const char *s, size_t len, char *out, size_t outlen)
{
	size_t o = 0;
	for (size_t i = 0; i < len && o + 5 < outlen; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c < 0x7f && c != '\\')
			out[o++] = (char)c;
		else
			o += (size_t)snprintf(out + o, outlen - o, "\\x%02x", c);
	}
	out[o] = '\0';
}

/* ---- parsing ---- */

/* What parseQuantityString splits the input into. */
struct scan {
	bool positive;
	bool has_digit;  /* the numeric part holds at least one digit */
	const char *num; /* integer digits after the leading zeros (may be empty) */
	size_t numlen;
	const char *den; /* fraction digits */
	size_t denlen;
	const char *suf;
	size_t suflen;
	size_t bad; /* offset of the offending byte when the scan fails */
};

static bool in_suffix_set(char c)
{
	return c != '\0' && memchr("eEinumkKMGTP", c, 12) != NULL;
}

/* parseQuantityString: false (with sc->bad set) where it returns ErrFormatWrong. */
static bool scan_quantity(const char *s, size_t len, struct scan *sc)
{
	size_t i = 0;
	memset(sc, 0, sizeof *sc);
	sc->positive = true;
	sc->num = sc->den = sc->suf = s + len;
	if (s[0] == '-' || s[0] == '+') {
		sc->positive = s[0] == '+';
		i++;
	}
	size_t start = i;
	while (i < len && s[i] == '0')
		i++;
	if (i >= len) { /* only a sign and zeros: the value is "0" */
		sc->has_digit = true;
		return true;
	}
	size_t nstart = i;
	while (i < len && is_digit(s[i]))
		i++;
	sc->num = s + nstart;
	sc->numlen = i - nstart;
	sc->has_digit = i > start;
	if (i >= len)
		return true;
	if (s[i] == '.') {
		size_t dstart = ++i;
		while (i < len && is_digit(s[i]))
			i++;
		sc->den = s + dstart;
		sc->denlen = i - dstart;
		sc->has_digit = sc->has_digit || sc->denlen > 0;
		if (i >= len)
			return true;
	}
	size_t sstart = i;
	while (i < len && in_suffix_set(s[i]))
		i++;
	if (i < len) {
		if (s[i] == '+' || s[i] == '-')
			i++;
		while (i < len && is_digit(s[i]))
			i++;
		if (i < len) {
			sc->bad = i;
			return false;
		}
	}
	sc->suf = s + sstart;
	sc->suflen = len - sstart;
	return true;
}

struct suffix {
	int base;     /* 10 or 2 */
	int32_t exp;  /* power of the base */
	enum kube_qformat format;
};

/* strconv.ParseInt(s, 10, 32). */
static bool parse_int32(const char *s, size_t n, int32_t *out)
{
	size_t i = 0;
	bool neg = false;
	if (n > 0 && (s[0] == '+' || s[0] == '-')) {
		neg = s[0] == '-';
		i++;
	}
	if (i >= n)
		return false;
	int64_t v = 0;
	for (; i < n; i++) {
		if (!is_digit(s[i]))
			return false;
		v = v * 10 + (s[i] - '0');
		if (v > (int64_t)INT32_MAX + 1)
			return false;
	}
	if (neg)
		v = -v;
	if (v < INT32_MIN || v > INT32_MAX)
		return false;
	*out = (int32_t)v;
	return true;
}

/* quantitySuffixer.interpret. *exp_range is set when the suffix is e<int> out of int32. */
static bool interpret_suffix(const char *s, size_t n, struct suffix *out, bool *exp_range)
{
	static const char dec1[] = "numkMGTPE";
	static const int32_t dec1_exp[] = {-9, -6, -3, 3, 6, 9, 12, 15, 18};
	static const char bin1[] = "KMGTPE";

	*exp_range = false;
	out->base = 10;
	out->format = KUBE_QF_DECIMAL_SI;
	out->exp = 0;
	if (n == 0)
		return true;
	if (n == 1) {
		const char *p = memchr(dec1, s[0], sizeof dec1 - 1);
		if (p) {
			out->exp = dec1_exp[p - dec1];
			return true;
		}
	}
	if (n == 2 && s[1] == 'i') {
		const char *p = memchr(bin1, s[0], sizeof bin1 - 1);
		if (p) {
			out->base = 2;
			out->exp = (int32_t)(10 * (p - bin1 + 1));
			out->format = KUBE_QF_BINARY_SI;
			return true;
		}
	}
	if (n > 1 && (s[0] == 'e' || s[0] == 'E')) {
		if (!parse_int32(s + 1, n - 1, &out->exp)) {
			/* digits with an optional sign that only failed on range */
			size_t i = (s[1] == '+' || s[1] == '-') ? 2 : 1;
			bool digits = i < n;
			for (; i < n; i++)
				digits = digits && is_digit(s[i]);
			*exp_range = digits;
			return false;
		}
		out->format = KUBE_QF_DECIMAL_EXP;
		return true;
	}
	return false;
}

/* Decimal digits, most significant first. */
struct digits {
	uint8_t d[DIGITS_MAX];
	size_t n;
};

static void digits_mul_small(struct digits *x, unsigned m)
{
	unsigned carry = 0;
	for (size_t i = x->n; i-- > 0;) {
		unsigned v = x->d[i] * m + carry;
		x->d[i] = (uint8_t)(v % 10);
		carry = v / 10;
	}
	while (carry) { /* the caller sized the array for this */
		memmove(x->d + 1, x->d, x->n);
		x->d[0] = (uint8_t)(carry % 10);
		x->n++;
		carry /= 10;
	}
}

static void digits_increment(struct digits *x)
{
	for (size_t i = x->n; i-- > 0;) {
		if (x->d[i] < 9) {
			x->d[i]++;
			return;
		}
		x->d[i] = 0;
	}
	memmove(x->d + 1, x->d, x->n);
	x->d[0] = 1;
	x->n++;
}

/* Move trailing zeros into the exponent. */
static void digits_trim(struct digits *x, int64_t *e10)
{
	while (x->n > 0 && x->d[x->n - 1] == 0) {
		x->n--;
		(*e10)++;
	}
}

/* Compare a*10^ea with b*10^eb, both digit strings without leading zeros, both non-empty. */
static int cmp_dec(const uint8_t *a, size_t na, int64_t ea, const uint8_t *b, size_t nb, int64_t eb)
{
	int64_t ta = (int64_t)na + ea, tb = (int64_t)nb + eb;
	if (ta != tb)
		return ta < tb ? -1 : 1;
	size_t n = na > nb ? na : nb;
	for (size_t i = 0; i < n; i++) {
		int x = i < na ? a[i] : 0, y = i < nb ? b[i] : 0;
		if (x != y)
			return x < y ? -1 : 1;
	}
	return 0;
}

static size_t u64_to_digits(uint64_t v, uint8_t *out)
{
	uint8_t tmp[20];
	size_t n = 0;
	do {
		tmp[n++] = (uint8_t)(v % 10);
		v /= 10;
	} while (v);
	for (size_t i = 0; i < n; i++)
		out[i] = tmp[n - 1 - i];
	return n;
}

static uint64_t abs64(int64_t v)
{
	return v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
}

/* Strip trailing zero digits of a mantissa into its scale (scale may grow past int32). */
static void normalize(int64_t *mant, int64_t *scale)
{
	if (*mant == 0) {
		*scale = 0;
		return;
	}
	while (*mant % 10 == 0) {
		*mant /= 10;
		(*scale)++;
	}
}

/* Whether Kubernetes' int64 fast path reuses the input as the String() form. */
static bool k8s_echoes(const struct scan *sc, const struct suffix *suf, bool fast, int64_t scale)
{
	if (!fast || sc->numlen == 0)
		return false;
	if (suf->base == 2) {
		uint64_t v = 0;
		for (size_t i = 0; i < sc->numlen; i++)
			v = v * 10 + (uint64_t)(sc->num[i] - '0');
		return (v & 7) != 0;
	}
	if (scale % 3 != 0)
		return false;
	/* shifted = num + den must not end in "000" */
	char shifted[40];
	memcpy(shifted, sc->num, sc->numlen);
	memcpy(shifted + sc->numlen, sc->den, sc->denlen);
	size_t n = sc->numlen + sc->denlen;
	return !(n >= 3 && memcmp(shifted + n - 3, "000", 3) == 0);
}

int kube_quantity_parse(const char *s, size_t len, struct kube_quantity *q, struct ks_err *err)
{
	memset(q, 0, sizeof *q);
	q->format = KUBE_QF_DECIMAL_SI;
	if (!s)
		len = 0;
	if (len > KUBE_QUANTITY_MAX_LEN)
		return ks_err_set(err, KS_ETOOBIG,
				  "quantity of %zu bytes exceeds the %d-byte limit", len,
				  KUBE_QUANTITY_MAX_LEN);
	if (len == 0)
		return ks_err_set(err, KS_EINVAL, "quantity '': " ERR_FORMAT " (empty string)");
	if (len == 1 && s[0] == '0') {
		q->lit[0] = '0';
		return 0;
	}

	char shown[SHOWN_MAX];
	show_input(s, len, shown, sizeof shown);

	struct scan sc;
	if (!scan_quantity(s, len, &sc)) {
		char what[16];
		unsigned char c = (unsigned char)s[sc.bad];
		if (c >= 0x20 && c < 0x7f)
			snprintf(what, sizeof what, "'%c'", c);
		else
			snprintf(what, sizeof what, "byte 0x%02x", c);
		return ks_err_set(err, KS_EINVAL,
				  "quantity '%s': " ERR_FORMAT " (unexpected %s at offset %zu)",
				  shown, what, sc.bad);
	}

	struct suffix suf;
	bool exp_range;
	if (!interpret_suffix(sc.suf, sc.suflen, &suf, &exp_range)) {
		char sufshown[SHOWN_MAX];
		show_input(sc.suf, sc.suflen, sufshown, sizeof sufshown);
		return ks_err_set(err, KS_EINVAL, "quantity '%s': " ERR_SUFFIX " '%s'%s", shown,
				  sufshown, exp_range ? " (exponent out of the int32 range)" : "");
	}

	/* Which path Kubernetes takes decides ErrNumeric and whether String() echoes the input. */
	size_t numlen = sc.numlen ? sc.numlen : 1; /* an empty numerator counts as "0" */
	int64_t fast_scale = 0;
	bool fast;
	if (suf.base == 10) {
		fast_scale = (int64_t)suf.exp - (int64_t)sc.denlen;
		fast = numlen + sc.denlen <= 18 && fast_scale >= -9;
	} else {
		int64_t prec = 15 - (int64_t)numlen - suf.exp * 3 / 10 - 1;
		fast = sc.denlen == 0 && prec >= 0; /* then num * 2^exp always fits an int64 */
	}
	if (!fast && !sc.has_digit)
		return ks_err_set(err, KS_EINVAL, "quantity '%s': " ERR_NUMERIC " (no digits)",
				  shown);

	/* The exact value: digits * 10^e10 (* 2^exp for binary suffixes). */
	struct digits x;
	x.n = 0;
	for (size_t i = 0; i < sc.numlen; i++)
		x.d[x.n++] = (uint8_t)(sc.num[i] - '0');
	for (size_t i = 0; i < sc.denlen; i++)
		if (x.n > 0 || sc.den[i] != '0')
			x.d[x.n++] = (uint8_t)(sc.den[i] - '0');
	int64_t e10 = (suf.base == 10 ? suf.exp : 0) - (int64_t)sc.denlen;
	enum kube_qformat format = suf.format;
	q->format = format;
	if (x.n == 0)
		return 0; /* zero keeps the suffix's format */
	if (suf.base == 2)
		for (int k = 0; k < suf.exp / 10; k++)
			digits_mul_small(&x, 1024);
	digits_trim(&x, &e10);

	/* Round anything finer than a nano away from zero. */
	if (e10 < -9) {
		uint64_t drop = (uint64_t)(-9 - e10);
		if (drop >= x.n) {
			x.d[0] = 1;
			x.n = 1;
		} else {
			x.n -= drop; /* the dropped digits end in a non-zero one */
			digits_increment(&x);
		}
		e10 = -9;
		digits_trim(&x, &e10);
	}

	if (format == KUBE_QF_BINARY_SI) {
		/* silently capped, as Kubernetes does */
		if (cmp_dec(x.d, x.n, e10, int64_max_digits, 19, 0) > 0) {
			memcpy(x.d, int64_max_digits, 19);
			x.n = 19;
			e10 = 0;
		}
		if ((int64_t)x.n + e10 <= 0) /* below 1 */
			format = KUBE_QF_DECIMAL_SI;
	}

	if (x.n > 19 || (x.n == 19 && memcmp(x.d, int64_max_digits, 19) > 0))
		return ks_err_set(err, KS_ETOOBIG,
				  "quantity '%s': %zu significant digits do not fit a 64-bit "
				  "mantissa (the limit is %s times a power of ten)",
				  shown, x.n, int64_max_str);
	if (e10 > INT32_MAX)
		return ks_err_set(err, KS_ETOOBIG,
				  "quantity '%s': exponent 10^%lld is out of range", shown,
				  (long long)e10);

	int64_t mant = 0;
	for (size_t i = 0; i < x.n; i++)
		mant = mant * 10 + x.d[i];
	q->mant = sc.positive ? mant : -mant;
	q->scale = (int32_t)e10;
	q->format = format;
	if (len < KUBE_QUANTITY_LIT_MAX && k8s_echoes(&sc, &suf, fast, fast_scale)) {
		memcpy(q->lit, s, len);
		q->lit[len] = '\0';
	}
	return 0;
}

/* ---- printing ---- */

static int finish(const char *buf, size_t n, char *out, size_t outlen)
{
	if (n + 1 > outlen) {
		if (outlen)
			out[0] = '\0';
		return KS_ETOOBIG;
	}
	memcpy(out, buf, n);
	out[n] = '\0';
	return (int)n;
}

static size_t u128_to_str(u128 v, char *out)
{
	char tmp[48];
	size_t n = 0;
	do {
		tmp[n++] = (char)('0' + (int)(v % 10));
		v /= 10;
	} while (v);
	for (size_t i = 0; i < n; i++)
		out[i] = tmp[n - 1 - i];
	return n;
}

static const char *const dec_suffix[] = {"n", "u", "m", "", "k", "M", "G", "T", "P", "E"};
static const char *const bin_suffix[] = {"", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"};

int kube_quantity_format_canonical(const struct kube_quantity *q, char *out, size_t outlen)
{
	char buf[KUBE_QUANTITY_STR_MAX];
	size_t n = 0;
	if (q->mant == 0)
		return finish("0", 1, out, outlen);
	if (q->mant < 0)
		buf[n++] = '-';
	int64_t mant = q->mant, e = q->scale;
	normalize(&mant, &e);
	uint64_t m = abs64(mant);
	enum kube_qformat format = q->format;
	uint8_t md[20];
	size_t mn = u64_to_digits(m, md);

	if (format == KUBE_QF_BINARY_SI) {
		/* Only an integer of at least 1024 prints with a binary suffix. */
		if (e < 0 || (int64_t)mn + e > 38) {
			format = KUBE_QF_DECIMAL_SI;
		} else {
			u128 v = m;
			for (int64_t i = 0; i < e; i++)
				v *= 10;
			if (v < 1024) {
				format = KUBE_QF_DECIMAL_SI;
			} else {
				int k = 0;
				while (k < 6 && (v & 1023) == 0) {
					v >>= 10;
					k++;
				}
				n += u128_to_str(v, buf + n);
				size_t sl = strlen(bin_suffix[k]);
				memcpy(buf + n, bin_suffix[k], sl);
				return finish(buf, n + sl, out, outlen);
			}
		}
	}

	for (size_t i = 0; i < mn; i++)
		buf[n++] = (char)('0' + md[i]);
	int r = (int)(((e % 3) + 3) % 3); /* lower the exponent to a multiple of 3 */
	for (int i = 0; i < r; i++)
		buf[n++] = '0';
	e -= r;
	if (format == KUBE_QF_DECIMAL_SI && e >= -9 && e <= 18) {
		const char *sfx = dec_suffix[(e + 9) / 3];
		size_t sl = strlen(sfx);
		memcpy(buf + n, sfx, sl);
		n += sl;
	} else if (e != 0) {
		/* DecimalExponent, and DecimalSI beyond E, which has no suffix */
		n += (size_t)snprintf(buf + n, sizeof buf - n, "e%lld", (long long)e);
	}
	return finish(buf, n, out, outlen);
}

int kube_quantity_format(const struct kube_quantity *q, char *out, size_t outlen)
{
	if (q->lit[0])
		return finish(q->lit, strnlen(q->lit, sizeof q->lit - 1), out, outlen);
	return kube_quantity_format_canonical(q, out, outlen);
}

/* ---- values ---- */

int kube_quantity_scaled(const struct kube_quantity *q, int scale, int64_t *out)
{
	if (q->mant == 0) {
		*out = 0;
		return 0;
	}
	int sign = q->mant < 0 ? -1 : 1;
	uint64_t m = abs64(q->mant);
	int64_t d = (int64_t)q->scale - scale;
	if (d >= 0) {
		if (d > 18 || m > (uint64_t)INT64_MAX / pow10_u64[d]) {
			*out = sign > 0 ? INT64_MAX : INT64_MIN;
			return KS_ETOOBIG;
		}
		*out = sign * (int64_t)(m * pow10_u64[d]);
		return 0;
	}
	if (-d >= 19) { /* |mant| < 10^19: a non-zero fraction, rounded away from zero */
		*out = sign;
		return 0;
	}
	uint64_t p = pow10_u64[-d], v = m / p;
	if (m % p)
		v++;
	*out = sign * (int64_t)v;
	return 0;
}

int64_t kube_quantity_value(const struct kube_quantity *q)
{
	int64_t v;
	kube_quantity_scaled(q, 0, &v);
	return v;
}

int64_t kube_quantity_milli(const struct kube_quantity *q)
{
	int64_t v;
	kube_quantity_scaled(q, -3, &v);
	return v;
}

int kube_quantity_sign(const struct kube_quantity *q)
{
	return q->mant < 0 ? -1 : q->mant > 0;
}

bool kube_quantity_is_zero(const struct kube_quantity *q)
{
	return q->mant == 0;
}

int kube_quantity_cmp(const struct kube_quantity *a, const struct kube_quantity *b)
{
	int sa = kube_quantity_sign(a), sb = kube_quantity_sign(b);
	if (sa != sb)
		return sa < sb ? -1 : 1;
	if (sa == 0)
		return 0;
	uint8_t da[20], db[20];
	size_t na = u64_to_digits(abs64(a->mant), da), nb = u64_to_digits(abs64(b->mant), db);
	int c = cmp_dec(da, na, a->scale, db, nb, b->scale);
	return sa > 0 ? c : -c;
}

/* ---- arithmetic ---- */

static int add_impl(struct kube_quantity *q, const struct kube_quantity *y, char op,
		    const struct kube_quantity *shown_y, struct ks_err *err)
{
	struct kube_quantity r = *q;
	r.lit[0] = '\0';
	if (r.mant == 0)
		r.format = y->format;
	if (y->mant == 0) {
		*q = r;
		return 0;
	}
	if (r.mant == 0) {
		r.mant = y->mant;
		r.scale = y->scale;
		*q = r;
		return 0;
	}
	int64_t emin = r.scale < y->scale ? r.scale : y->scale;
	int64_t da = r.scale - emin, db = y->scale - emin;
	bool fits = false;
	int64_t mant = 0, e = emin;
	/* Past 19 digits of alignment the sum ends in a non-zero digit 20 places below its top. */
	if (da <= 19 && db <= 19) {
		i128 va = r.mant, vb = y->mant;
		for (int64_t i = 0; i < da; i++)
			va *= 10;
		for (int64_t i = 0; i < db; i++)
			vb *= 10;
		i128 s = va + vb;
		if (s == 0) {
			e = 0;
			fits = true;
		} else {
			while (s % 10 == 0) {
				s /= 10;
				e++;
			}
			if (s <= INT64_MAX && s >= -(i128)INT64_MAX && e <= INT32_MAX) {
				mant = (int64_t)s;
				fits = true;
			}
		}
	}
	if (!fits) {
		char a[KUBE_QUANTITY_STR_MAX], b[KUBE_QUANTITY_STR_MAX];
		kube_quantity_format_canonical(q, a, sizeof a);
		kube_quantity_format_canonical(shown_y, b, sizeof b);
		return ks_err_set(err, KS_ETOOBIG,
				  "quantity %s %c %s: the exact result does not fit a 64-bit "
				  "mantissa", a, op, b);
	}
	r.mant = mant;
	r.scale = (int32_t)e;
	*q = r;
	return 0;
}

int kube_quantity_add(struct kube_quantity *q, const struct kube_quantity *y, struct ks_err *err)
{
	return add_impl(q, y, '+', y, err);
}

int kube_quantity_sub(struct kube_quantity *q, const struct kube_quantity *y, struct ks_err *err)
{
	struct kube_quantity ny = *y;
	kube_quantity_neg(&ny);
	return add_impl(q, &ny, '-', y, err);
}

void kube_quantity_neg(struct kube_quantity *q)
{
	q->mant = -q->mant; /* |mant| <= INT64_MAX, so this cannot overflow */
	q->lit[0] = '\0';
}

static struct kube_quantity from_scaled(int64_t value, int64_t scale, enum kube_qformat format)
{
	struct kube_quantity q;
	memset(&q, 0, sizeof q);
	if (value == INT64_MIN)
		value = -INT64_MAX;
	normalize(&value, &scale);
	q.mant = value;
	q.scale = (int32_t)scale;
	q.format = format;
	return q;
}

struct kube_quantity kube_quantity_from_int(int64_t value, enum kube_qformat format)
{
	return from_scaled(value, 0, format);
}

struct kube_quantity kube_quantity_from_milli(int64_t milli, enum kube_qformat format)
{
	return from_scaled(milli, -3, format);
}
