/* test_quantity.c — resource.Quantity parsing, String(), values, comparison and arithmetic,
 * with the tables of apimachinery's quantity_test.go ported, plus bad inputs and limits. */
#include "testutil.h"

#include "kube/quantity.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#define DSI KUBE_QF_DECIMAL_SI
#define BSI KUBE_QF_BINARY_SI
#define DEX KUBE_QF_DECIMAL_EXP

static struct kube_quantity parse_ok(const char *s)
{
	struct kube_quantity q;
	struct ks_err e = {0};
	if (kube_quantity_parse(s, strlen(s), &q, &e) != 0)
		fail_msg("'%s': unexpected error: %s", s, e.msg);
	return q;
}

/* A quantity as Kubernetes' tests write it: mant * 10^exp, not necessarily normalized. */
static struct kube_quantity dq(int64_t mant, int exp, enum kube_qformat f)
{
	struct kube_quantity q;
	memset(&q, 0, sizeof q);
	q.mant = mant;
	q.scale = exp;
	q.format = f;
	return q;
}

static const char *str(const struct kube_quantity *q, char *buf)
{
	assert_true(kube_quantity_format(q, buf, KUBE_QUANTITY_STR_MAX) >= 0);
	return buf;
}

/* TestQuantityParse: value and format of every entry, also with "-" and "+" prefixes. */
static void parse_values(void **state)
{
	(void)state;
	const int64_t max = INT64_MAX;
	struct {
		const char *in;
		int64_t mant;
		int exp;
		enum kube_qformat f;
	} t[] = {
		{"0", 0, 0, DSI},
		{"0n", 0, 0, DSI},
		{"0u", 0, 0, DSI},
		{"0m", 0, 0, DSI},
		{"0Ki", 0, 0, BSI},
		{"0k", 0, 0, DSI},
		{"0Mi", 0, 0, BSI},
		{"0M", 0, 0, DSI},
		{"0Gi", 0, 0, BSI},
		{"0G", 0, 0, DSI},
		{"0Ti", 0, 0, BSI},
		{"0T", 0, 0, DSI},
		{"1", 1, 0, DSI},
		/* binary suffixes */
		{"1Ki", 1024, 0, BSI},
		{"8Ki", 8 * 1024, 0, BSI},
		{"7Mi", 7LL << 20, 0, BSI},
		{"6Gi", 6LL << 30, 0, BSI},
		{"5Ti", 5LL << 40, 0, BSI},
		{"4Pi", 4LL << 50, 0, BSI},
		{"3Ei", 3LL << 60, 0, BSI},
		{"10Ti", 10LL << 40, 0, BSI},
		{"100Ti", 100LL << 40, 0, BSI},
		/* decimal suffixes */
		{"5n", 5, -9, DSI},
		{"4u", 4, -6, DSI},
		{"3m", 3, -3, DSI},
		{"9", 9, 0, DSI},
		{"8k", 8, 3, DSI},
		{"50k", 5, 4, DSI},
		{"7M", 7, 6, DSI},
		{"6G", 6, 9, DSI},
		{"5T", 5, 12, DSI},
		{"40T", 4, 13, DSI},
		{"300T", 3, 14, DSI},
		{"2P", 2, 15, DSI},
		{"1E", 1, 18, DSI},
		/* decimal exponents */
		{"1E-3", 1, -3, DEX},
		{"1e3", 1, 3, DEX},
		{"1E6", 1, 6, DEX},
		{"1e9", 1, 9, DEX},
		{"1E12", 1, 12, DEX},
		{"1e15", 1, 15, DEX},
		{"1E18", 1, 18, DEX},
		/* nonstandard but still parsable */
		{"1e14", 1, 14, DEX},
		{"1e13", 1, 13, DEX},
		{"100.035k", 100035, 0, DSI},
		/* things that look like floating point */
		{"0.001", 1, -3, DSI},
		{"0.0005k", 5, -1, DSI},
		{"0.005", 5, -3, DSI},
		{"0.05", 5, -2, DSI},
		{"0.5", 5, -1, DSI},
		{"0.00050k", 5, -1, DSI},
		{"0.00500", 5, -3, DSI},
		{"0.05000", 5, -2, DSI},
		{"0.50000", 5, -1, DSI},
		{"0.5e0", 5, -1, DEX},
		{"0.5e-1", 5, -2, DEX},
		{"0.5e-2", 5, -3, DEX},
		{"10.035M", 10035, 3, DSI},
		{"1.2e3", 12, 2, DEX},
		{"1.3E+6", 13, 5, DEX},
		{"1.40e9", 14, 8, DEX},
		{"1.53E12", 153, 10, DEX},
		{"1.6e15", 16, 14, DEX},
		{"1.7E18", 17, 17, DEX},
		{"9.01", 901, -2, DSI},
		{"8.1k", 81, 2, DSI},
		{"7.123456M", 7123456, 0, DSI},
		{"6.987654321G", 6987654321LL, 0, DSI},
		{"5.444T", 5444, 9, DSI},
		{"40.1T", 401, 11, DSI},
		{"300.2T", 3002, 11, DSI},
		{"2.5P", 25, 14, DSI},
		{"1.01E", 101, 16, DSI},
		/* things that saturate or round */
		{"3.001n", 4, -9, DSI},
		{"1.1E-9", 2, -9, DEX},
		{"0.0000000001", 1, -9, DSI},
		{"0.0000000005", 1, -9, DSI},
		{"0.00000000050", 1, -9, DSI},
		{"0.5e-9", 1, -9, DEX},
		{"0.9n", 1, -9, DSI},
		{"0.00000012345", 124, -9, DSI},
		{"0.00000012354", 124, -9, DSI},
		{"9Ei", max, 0, BSI},
		{"9223372036854775807Ki", max, 0, BSI},
		{"12E", 12, 18, DSI},
		/* fractional binary */
		{"100.035Ki", 10243584, -2, BSI},
		{"0.5Mi", 524288, 0, BSI},
		{"0.05Gi", 536870912, -1, BSI},
		{"0.025Ti", 274877906944LL, -1, BSI},
		/* things written by trolls */
		{"0.000000000001Ki", 2, -9, DSI},
		{".001", 1, -3, DSI},
		{".0001k", 100, -3, DSI},
		{"1.", 1, 0, DSI},
		{"1.G", 1, 9, DSI},
		/* sub-nano values round away from zero (quantity_subnano_test.go) */
		{"1e-2147483647", 1, -9, DEX},
		{"1e-100", 1, -9, DEX},
		{"1e-10", 1, -9, DEX},
		{"9e-10", 1, -9, DEX},
		{"15e-10", 2, -9, DEX},
		{"1000000000000000000000e-30", 1, -9, DEX},
		{"1000000000000000000001e-30", 2, -9, DEX},
		{"999999999999999999999e-30", 1, -9, DEX},
		{"0e-2147483647", 0, 0, DEX},
		{"0.0e-100", 0, 0, DEX},
		{"0.00000000000000000000001Ki", 1, -9, DSI},
		/* more of ours */
		{"8Ei", max, 0, BSI},
		{"7.99999999999999999999Ei", max, 0, BSI},
		{"9223372036854775807", max, 0, DSI},
		{"1e2147483647", 1, 2147483647, DEX},
		{"123456789012345678e100", 123456789012345678LL, 100, DEX},
		{"0.30000000000000004", 300000001, -9, DSI},
		{"1.0000000001", 1000000001, -9, DSI},
		{"123456789012345678901234567890e-25", 12345678901235LL, -9, DEX},
		{"0.000000001Ki", 1024, -9, DSI},
		{"1.1Ki", 11264, -1, BSI},
		{"0.9Gi", 9663676416LL, -1, BSI},
		{"1E-2147483648", 1, -9, DEX},
	};
	for (size_t i = 0; i < KS_ARRAY_LEN(t); i++) {
		for (int sign = 0; sign < 3; sign++) {
			char in[80];
			const char *prefix[] = {"", "-", "+"};
			snprintf(in, sizeof in, "%s%s", prefix[sign], t[i].in);
			struct kube_quantity q = parse_ok(in);
			struct kube_quantity want =
				dq(sign == 1 ? -t[i].mant : t[i].mant, t[i].exp, t[i].f);
			if (kube_quantity_cmp(&q, &want) != 0)
				fail_msg("%s: got mant %lld scale %d", in, (long long)q.mant,
					 q.scale);
			if (q.format != t[i].f)
				fail_msg("%s: format %s, want %s", in, kube_qformat_name(q.format),
					 kube_qformat_name(t[i].f));
			/* the representation is normalized */
			assert_true(q.mant == 0 ? q.scale == 0 : q.mant % 10 != 0);
		}
	}
}

/* Strings the scanner of parseQuantityString accepts that look like errors. */
static void parse_odd_but_valid(void **state)
{
	(void)state;
	struct {
		const char *in;
		const char *out;
		enum kube_qformat f;
	} t[] = {
		{"-", "0", DSI},       {"+", "0", DSI},   {".", "0", DSI},
		{"-.", "0", DSI},      {"+.", "0", DSI},  {"00", "0", DSI},
		{"-0", "0", DSI},      {"k", "0", DSI},   {"m", "0", DSI},
		{"n", "0", DSI},       {"e5", "0", DEX},  {"e-9", "0", DEX},
		{"Ki", "0", BSI},      {"Ti", "0", BSI},  {".Ki", "0", BSI},
		{"1.Ki", "1.Ki", BSI}, {"5.", "5.", DSI}, {"0Ei", "0", BSI},
		{".5", "500m", DSI},   {"E", "0", DSI},   {"1e+0", "1e+0", DEX},
	};
	for (size_t i = 0; i < KS_ARRAY_LEN(t); i++) {
		char buf[KUBE_QUANTITY_STR_MAX];
		struct kube_quantity q = parse_ok(t[i].in);
		if (strcmp(str(&q, buf), t[i].out) != 0)
			fail_msg("%s: String() '%s', want '%s'", t[i].in, buf, t[i].out);
		if (q.format != t[i].f)
			fail_msg("%s: format %s", t[i].in, kube_qformat_name(q.format));
	}
}

static void parse_errors(void **state)
{
	(void)state;
	struct {
		const char *in;
		int code;
		const char *msg;
	} t[] = {
		{"", KS_EINVAL,
		 "quantity '': quantities must match the regular expression "
		 "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$' (empty string)"},
		{"1.5.5Gi", KS_EINVAL,
		 "quantity '1.5.5Gi': quantities must match the regular expression "
		 "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$' (unexpected '.' at offset 3)"},
		{"1.1.M", KS_EINVAL, "(unexpected '.' at offset 3)"},
		{"1+1.0M", KS_EINVAL, "(unexpected '.' at offset 3)"},
		{"0.1am", KS_EINVAL, "(unexpected 'a' at offset 3)"},
		{"aoeu", KS_EINVAL, "(unexpected 'a' at offset 0)"},
		{" 1", KS_EINVAL, "(unexpected ' ' at offset 0)"},
		{"1 ", KS_EINVAL, "(unexpected ' ' at offset 1)"},
		{"1Qi", KS_EINVAL, "(unexpected 'Q' at offset 1)"},
		{"1e3e3", KS_EINVAL, "(unexpected 'e' at offset 3)"},
		{"0.1mi", KS_EINVAL, "quantity '0.1mi': unable to parse quantity's suffix 'mi'"},
		{".5i", KS_EINVAL, "unable to parse quantity's suffix 'i'"},
		{"1i", KS_EINVAL, "unable to parse quantity's suffix 'i'"},
		{"-3.01i", KS_EINVAL, "unable to parse quantity's suffix 'i'"},
		{"-3.01e-", KS_EINVAL, "unable to parse quantity's suffix 'e-'"},
		{"1ki", KS_EINVAL, "unable to parse quantity's suffix 'ki'"},
		{"1KI", KS_EINVAL, "(unexpected 'I' at offset 2)"},
		{"1e", KS_EINVAL, "unable to parse quantity's suffix 'e'"},
		{"1ee3", KS_EINVAL, "unable to parse quantity's suffix 'ee3'"},
		{"1Ki5", KS_EINVAL, "unable to parse quantity's suffix 'Ki5'"},
		{"1e2147483648", KS_EINVAL,
		 "suffix 'e2147483648' (exponent out of the int32 range)"},
		{"1E-2147483649", KS_EINVAL, "(exponent out of the int32 range)"},
		{"Ei", KS_EINVAL,
		 "quantity 'Ei': unable to parse numeric part of quantity (no digits)"},
		{"Pi", KS_EINVAL, "unable to parse numeric part of quantity"},
		{"-.Ei", KS_EINVAL, "unable to parse numeric part of quantity"},
		{"e-10", KS_EINVAL, "unable to parse numeric part of quantity"},
		{"1\x01", KS_EINVAL, "quantity '1\\x01': quantities must match"},
		/* beyond the representation (Kubernetes keeps these exactly) */
		{"18446744073709551616", KS_ETOOBIG,
		 "quantity '18446744073709551616': 20 significant digits do not fit a 64-bit "
		 "mantissa"},
		{"9223372036854775808", KS_ETOOBIG, "19 significant digits"},
		{"-9223372036854775808", KS_ETOOBIG, "19 significant digits"},
		{"12345678901234567891", KS_ETOOBIG, "20 significant digits"},
		{"10e2147483647", KS_ETOOBIG, "exponent 10^2147483648 is out of range"},
	};
	for (size_t i = 0; i < KS_ARRAY_LEN(t); i++) {
		struct kube_quantity q;
		struct ks_err e = {0};
		int rc = kube_quantity_parse(t[i].in, strlen(t[i].in), &q, &e);
		if (rc != t[i].code)
			fail_msg("'%s': rc %d, want %d (%s)", t[i].in, rc, t[i].code, e.msg);
		assert_int_equal(e.code, t[i].code);
		assert_contains(e.msg, t[i].msg);
		assert_int_equal(q.mant, 0);
	}

	/* the length ceiling, and a NUL inside the input */
	char big[KUBE_QUANTITY_MAX_LEN + 2];
	memset(big, '1', sizeof big);
	struct kube_quantity q;
	struct ks_err e = {0};
	assert_int_equal(kube_quantity_parse(big, KUBE_QUANTITY_MAX_LEN + 1, &q, &e), KS_ETOOBIG);
	assert_string_equal(e.msg, "quantity of 129 bytes exceeds the 128-byte limit");
	memset(big, '0', sizeof big);
	big[KUBE_QUANTITY_MAX_LEN - 1] = '7';
	assert_int_equal(kube_quantity_parse(big, KUBE_QUANTITY_MAX_LEN, &q, NULL), 0);
	assert_int_equal(q.mant, 7);
	assert_int_equal(kube_quantity_parse("1\0k", 3, &q, &e), KS_EINVAL);
	assert_contains(e.msg, "(unexpected byte 0x00 at offset 1)");
	assert_int_equal(kube_quantity_parse(NULL, 0, &q, NULL), KS_EINVAL);
}

/* String(): TestQuantityParseEmit, the echo of canonical-looking input, and ours. */
static void string_form(void **state)
{
	(void)state;
	struct {
		const char *in;
		const char *out;   /* String() */
		const char *canon; /* kube_quantity_format_canonical, when it differs */
	} t[] = {
		{"1Ki", "1Ki", NULL},
		{"1Mi", "1Mi", NULL},
		{"1Gi", "1Gi", NULL},
		{"1024Mi", "1Gi", NULL},
		{"1000M", "1G", NULL},
		{".001Ki", "1024m", NULL},
		{".000001Ki", "1024u", NULL},
		{".000000001Ki", "1024n", NULL},
		{".000000000001Ki", "2n", NULL},
		/* the examples of the brief */
		{"1.5Gi", "1536Mi", NULL},
		{"0.1", "100m", NULL},
		{"1000m", "1", NULL},
		{"2e3", "2e3", NULL},
		{"1k", "1k", NULL},
		{"1000", "1k", NULL},
		{"100Mi", "100Mi", NULL},
		{"0", "0", NULL},
		{"-1", "-1", NULL},
		{"1.1m", "1100u", NULL},
		{"1.5", "1500m", NULL},
		/* echoed verbatim by Kubernetes' fast path */
		{"+1", "+1", "1"},
		{"01", "01", "1"},
		{"1.500k", "1.500k", "1500"},
		{"100.035k", "100.035k", "100035"},
		{"10.035M", "10.035M", "10035k"},
		{"1E3", "1E3", "1e3"},
		{"1e+3", "1e+3", "1e3"},
		{"1e03", "1e03", "1e3"},
		{"+12Ki", "+12Ki", "12Ki"},
		{"012Ki", "012Ki", "12Ki"},
		{"12E", "12E", NULL},
		{"-0.5m", "-500u", NULL},
		{"1.050", "1.050", "1050m"},
		{"0001.5", "1500m", NULL},
		/* not echoed: suffix would change or input not on the int64 fast path */
		{"1.2e3", "1200", NULL},
		{"1.3E+6", "1300e3", NULL},
		{"1.7E18", "1700e15", NULL},
		{"8Ki", "8Ki", NULL},
		{"1024Ki", "1Mi", NULL},
		{"1023Ki", "1023Ki", NULL},
		{"4Ei", "4Ei", NULL},
		{"0.5Ki", "512", NULL},
		{"1.5Ki", "1536", NULL},
		{"1.1Ki", "1126400m", NULL},
		{"0.9Gi", "966367641600m", NULL},
		{"8Ei", "9223372036854775807", NULL},
		{"-9Ei", "-9223372036854775807", NULL},
		{"1000E", "1e21", NULL},
		{"5000E", "5e21", NULL},
		{"1000000E", "1e24", NULL},
		{"1e-100", "1e-9", NULL},
		{"0.0000000000001", "1n", NULL},
		{"-0.0000000000001", "-1n", NULL},
		{"0.00000000000000000000001Ki", "1n", NULL},
		{"1e2147483647", "10e2147483646", NULL},
		{"0.30000000000000004", "300000001n", NULL},
		{"123456789012345678901234567890e-25", "12345678901235e-9", NULL},
		{"9223372036854775807", "9223372036854775807", NULL},
		{"9223372036854775.807", "9223372036854775807m", NULL},
		{"1.0e1", "1.0e1", "10"},
		{"0.1e2", "10", NULL},
		{"1000e-3", "1", NULL},
		{"0e5", "0", NULL},
		{"0Ki", "0", NULL},
		{"-0.0Mi", "0", NULL},
	};
	for (size_t i = 0; i < KS_ARRAY_LEN(t); i++) {
		char buf[KUBE_QUANTITY_STR_MAX], cbuf[KUBE_QUANTITY_STR_MAX];
		struct kube_quantity q = parse_ok(t[i].in);
		if (strcmp(str(&q, buf), t[i].out) != 0)
			fail_msg("%s: String() '%s', want '%s'", t[i].in, buf, t[i].out);
		const char *canon = t[i].canon ? t[i].canon : t[i].out;
		assert_true(kube_quantity_format_canonical(&q, cbuf, sizeof cbuf) >= 0);
		if (strcmp(cbuf, canon) != 0)
			fail_msg("%s: canonical '%s', want '%s'", t[i].in, cbuf, canon);
		/* the canonical form parses back to the same value and prints the same */
		struct kube_quantity r = parse_ok(cbuf);
		assert_int_equal(kube_quantity_cmp(&q, &r), 0);
		assert_string_equal(str(&r, buf), canon);
		/* and the negated value prints with a '-' (TestQuantityString's second half) */
		if (!kube_quantity_is_zero(&q) && q.mant > 0) {
			char want[KUBE_QUANTITY_STR_MAX + 1];
			snprintf(want, sizeof want, "-%s", canon);
			kube_quantity_neg(&q);
			assert_string_equal(str(&q, buf), want);
		}
	}
}

/* TestQuantityString: canonical form of constructed values; each canonical string is kept
 * on parse, each alternate prints canonically and is not. */
static void string_table(void **state)
{
	(void)state;
	struct {
		struct kube_quantity in;
		const char *expect;
		const char *alternate;
		int check; /* 2: parses back, kept as the literal; 1: parses back; 0: capped */
	} t[] = {
		{dq(1024 * 1024 * 1024, 0, BSI), "1Gi", "1024Mi", 2},
		{dq(300 * 1024 * 1024, 0, BSI), "300Mi", "307200Ki", 2},
		{dq(6 * 1024, 0, BSI), "6Ki", "", 2},
		{dq(1001LL * 1024 * 1024 * 1024, 0, BSI), "1001Gi", "1025024Mi", 2},
		{dq(1024LL * 1024 * 1024 * 1024, 0, BSI), "1Ti", "1024Gi", 2},
		{dq(5, 0, BSI), "5", "5000m", 2},
		{dq(500, -3, BSI), "500m", "0.5", 2},
		{dq(1, 9, DSI), "1G", "1000M", 2},
		{dq(1000, 6, DSI), "1G", "0.001T", 2},
		{dq(1000000, 3, DSI), "1G", "", 2},
		{dq(1000000000, 0, DSI), "1G", "", 2},
		{dq(1, -3, DSI), "1m", "1000u", 2},
		{dq(80, -3, DSI), "80m", "", 2},
		{dq(1080, -3, DSI), "1080m", "1.08", 2},
		{dq(108, -2, DSI), "1080m", "1080000000n", 2},
		{dq(10800, -4, DSI), "1080m", "", 2},
		{dq(300, 6, DSI), "300M", "", 2},
		{dq(1, 12, DSI), "1T", "", 2},
		{dq(1, 18, DSI), "1E", "", 2},
		{dq(1, 21, DSI), "1e21", "1000E", 2},
		{dq(5, 21, DSI), "5e21", "5000E", 2},
		{dq(1, 24, DSI), "1e24", "1000000E", 2},
		{dq(1234567, 6, DSI), "1234567M", "", 2},
		{dq(1234567, -3, BSI), "1234567m", "", 2},
		{dq(3, 3, DSI), "3k", "", 2},
		{dq(1025, 0, BSI), "1025", "", 2},
		{dq(0, 0, DSI), "0", "", 2},
		{dq(0, 0, BSI), "0", "", 2},
		{dq(1, 9, DEX), "1e9", ".001e12", 2},
		{dq(1, -3, DEX), "1e-3", "0.001e0", 2},
		{dq(1, -9, DEX), "1e-9", "1000e-12", 2},
		{dq(80, -3, DEX), "80e-3", "", 2},
		{dq(300, 6, DEX), "300e6", "", 2},
		{dq(1, 12, DEX), "1e12", "", 2},
		{dq(1, 3, DEX), "1e3", "", 2},
		{dq(3, 3, DEX), "3e3", "", 2},
		{dq(3, 3, DSI), "3k", "", 2},
		{dq(0, 0, DEX), "0", "00", 2},
		{dq(1, -9, DSI), "1n", "", 2},
		{dq(80, -9, DSI), "80n", "", 2},
		{dq(1080, -9, DSI), "1080n", "", 2},
		{dq(108, -8, DSI), "1080n", "", 2},
		{dq(1, -6, DSI), "1u", "", 2},
		{dq(80, -6, DSI), "80u", "", 2},
		{dq(1080, -6, DSI), "1080u", "", 2},
		/* binary beyond int64 and past Ei (reachable through arithmetic only) */
		{dq(1, 19, BSI), "9765625000000000Ki", "", 0},
		{dq(1, 38, BSI), "100e36", "", 1},
		{dq(7 * 1024 * 1024, 8, BSI), "700000000Mi", "", 1},
		{dq(7 * 1024 * 1024, -1, BSI), "734003200m", "", 1},
	};
	for (size_t i = 0; i < KS_ARRAY_LEN(t); i++) {
		char buf[KUBE_QUANTITY_STR_MAX];
		if (strcmp(str(&t[i].in, buf), t[i].expect) != 0)
			fail_msg("[%zu] String() '%s', want '%s'", i, buf, t[i].expect);
		struct kube_quantity q = parse_ok(t[i].expect);
		if (t[i].check > 0)
			assert_int_equal(kube_quantity_cmp(&q, &t[i].in), 0);
		if (t[i].check > 1) /* "did not copy canonical string on parse" */
			assert_string_equal(q.lit, t[i].expect);
		if (t[i].alternate[0]) {
			q = parse_ok(t[i].alternate);
			assert_string_equal(q.lit, "");
			assert_string_equal(str(&q, buf), t[i].expect);
		}
		if (!kube_quantity_is_zero(&t[i].in)) {
			char want[KUBE_QUANTITY_STR_MAX + 1];
			struct kube_quantity n = t[i].in;
			kube_quantity_neg(&n);
			snprintf(want, sizeof want, "-%s", t[i].expect);
			assert_string_equal(str(&n, buf), want);
		}
	}
	/* the output buffer is checked */
	char small[4];
	struct kube_quantity q = parse_ok("1536Mi");
	assert_int_equal(kube_quantity_format(&q, small, sizeof small), KS_ETOOBIG);
	assert_string_equal(small, "");
	assert_int_equal(kube_quantity_format(&q, small, 0), KS_ETOOBIG);
	char exact[7];
	assert_int_equal(kube_quantity_format(&q, exact, sizeof exact), 6);
	assert_string_equal(exact, "1536Mi");
}

/* Value(), MilliValue() and ScaledValue(), rounding away from zero. */
static void values(void **state)
{
	(void)state;
	struct {
		const char *in;
		int64_t value, milli;
	} t[] = {
		{"0", 0, 0},
		{"1", 1, 1000},
		{"1.1m", 1, 2},
		{"-1.1m", -1, -2},
		{"1.5", 2, 1500},
		{"-1.5", -2, -1500},
		{"100m", 1, 100},
		{"-100m", -1, -100},
		{"1n", 1, 1},
		{"-1n", -1, -1},
		{"1Gi", 1073741824LL, 1073741824000LL},
		{"1Mi", 1048576, 1048576000},
		{"2Ki", 2048, 2048000},
		{"1.1Ki", 1127, 1126400},
		{"9223372036854775807", INT64_MAX, INT64_MAX},
		{"8Ei", INT64_MAX, INT64_MAX},
		{"9223372036854775.807", 9223372036854776LL, INT64_MAX},
		{"-9223372036854775.807", -9223372036854776LL, -INT64_MAX},
		{"1e100", INT64_MAX, INT64_MAX},
		{"-1e100", INT64_MIN, INT64_MIN},
		{"1e18", 1000000000000000000LL, INT64_MAX},
		{"9e18", 9000000000000000000LL, INT64_MAX},
		{"1e19", INT64_MAX, INT64_MAX},
		{"123456789012345678e-9", 123456790, 123456789013LL},
	};
	for (size_t i = 0; i < KS_ARRAY_LEN(t); i++) {
		struct kube_quantity q = parse_ok(t[i].in);
		if (kube_quantity_value(&q) != t[i].value)
			fail_msg("%s: value %lld", t[i].in, (long long)kube_quantity_value(&q));
		if (kube_quantity_milli(&q) != t[i].milli)
			fail_msg("%s: milli %lld", t[i].in, (long long)kube_quantity_milli(&q));
	}

	/* TestScaledValue: NewScaledQuantity(1, from).ScaledValue(to) */
	struct {
		int from, to;
		int64_t want;
	} s[] = {
		{-9, -9, 1}, {-9, -6, 1}, {-9, -3, 1}, {-9, 0, 1}, {-6, -9, 1000}, {-6, -6, 1},
		{-6, -3, 1}, {-6, 0, 1}, {-3, -9, 1000000}, {-3, -6, 1000}, {-3, -3, 1}, {-3, 0, 1},
		{0, -9, 1000000000}, {0, -6, 1000000}, {0, -3, 1000}, {0, 0, 1}, {2, -2, 10000},
		{0, 18, 1}, {0, 30, 1}, {0, INT_MAX, 1},
	};
	for (size_t i = 0; i < KS_ARRAY_LEN(s); i++) {
		struct kube_quantity q = dq(1, s[i].from, DSI);
		int64_t v = 0;
		assert_int_equal(kube_quantity_scaled(&q, s[i].to, &v), 0);
		if (v != s[i].want)
			fail_msg("1e%d at 1e%d: %lld, want %lld", s[i].from, s[i].to, (long long)v,
				 (long long)s[i].want);
	}
	int64_t v;
	struct kube_quantity q = parse_ok("1");
	assert_int_equal(kube_quantity_scaled(&q, -19, &v), KS_ETOOBIG);
	assert_int_equal(v, INT64_MAX);
	assert_int_equal(kube_quantity_scaled(&q, -18, &v), 0);
	assert_int_equal(v, 1000000000000000000LL);
	q = parse_ok("-1e2147483647");
	assert_int_equal(kube_quantity_scaled(&q, INT_MIN, &v), KS_ETOOBIG);
	assert_int_equal(v, INT64_MIN);
	q = parse_ok("-1n");
	assert_int_equal(kube_quantity_scaled(&q, INT_MAX, &v), 0);
	assert_int_equal(v, -1);
}

/* TestQuantityCmp, TestQuantityCmpInt64AndDec, and cross-format comparisons. */
static void compare(void **state)
{
	(void)state;
	struct {
		const char *a, *b;
		int want;
	} t[] = {
		{"0", "0", 0}, {"100m", "50m", 1}, {"50m", "100m", -1}, {"10000T", "100Gi", 1},
		{"1Ki", "1024", 0}, {"1e3", "1k", 0}, {"0.1", "100m", 0}, {"-1", "1", -1},
		{"1e2147483647", "9223372036854775807", 1}, {"1n", "0", 1}, {"-1n", "0", -1},
		{"-1e100", "-1e99", -1}, {"0Ki", "0e9", 0}, {"1.5Gi", "1536Mi", 0},
		{"1e-100", "1n", 0}, {"999m", "1", -1}, {"-999m", "-1", 1},
	};
	for (size_t i = 0; i < KS_ARRAY_LEN(t); i++) {
		struct kube_quantity a = parse_ok(t[i].a), b = parse_ok(t[i].b);
		if (kube_quantity_cmp(&a, &b) != t[i].want ||
		    kube_quantity_cmp(&b, &a) != -t[i].want)
			fail_msg("cmp(%s, %s) = %d", t[i].a, t[i].b, kube_quantity_cmp(&a, &b));
	}
	const int64_t mp = INT64_MAX, e18 = 1000000000000000000LL;
	struct {
		struct kube_quantity a, b;
		int want;
	} u[] = {
		{dq(901, -2, DSI), dq(901, -2, DSI), 0},
		{dq(90, -1, DSI), dq(901, -2, DSI), -1},
		{dq(901, -2, DSI), dq(900, -2, DSI), 1},
		{dq(0, 0, DSI), dq(0, 0, DSI), 0},
		{dq(0, 1, DSI), dq(0, -1, DSI), 0},
		{dq(0, -1, DSI), dq(0, 1, DSI), 0},
		{dq(800, -3, DSI), dq(1, 0, DSI), -1},
		{dq(800, -3, DSI), dq(79, -2, DSI), 1},
		{dq(mp, 0, DSI), dq(1, -1, DSI), 1},
		{dq(mp, 1, DSI), dq(1, 0, DSI), 1},
		{dq(mp, 1, DSI), dq(1, 1, DSI), 1},
		{dq(mp, 1, DSI), dq(0, 1, DSI), 1},
		{dq(mp, -16, DSI), dq(1, 3, DSI), -1},
		{dq(-mp, 0, DSI), dq(0, 0, DSI), -1},
		{dq(-mp, -18, DSI), dq(-1, 0, DSI), -1},
		{dq(-mp, -19, DSI), dq(-1, 0, DSI), 1},
		{dq(e18, -17, DSI), dq(1, 1, DSI), 0},
		{dq(e18, -17, DSI), dq(-10, 0, DSI), 1},
		{dq(-e18, -17, DSI), dq(-10, 0, DSI), 0},
		{dq(e18, -17, DSI), dq(1, 0, DSI), 1},
		{dq(e18 + 1, -17, DSI), dq(1, 1, DSI), 1},
		{dq(e18 - 1, -17, DSI), dq(1, 1, DSI), -1},
	};
	for (size_t i = 0; i < KS_ARRAY_LEN(u); i++) {
		if (kube_quantity_cmp(&u[i].a, &u[i].b) != u[i].want ||
		    kube_quantity_cmp(&u[i].b, &u[i].a) != -u[i].want)
			fail_msg("[%zu] cmp = %d, want %d", i, kube_quantity_cmp(&u[i].a, &u[i].b),
				 u[i].want);
	}
	struct kube_quantity z = parse_ok("0"), n = parse_ok("-3m"), p = parse_ok("2Ki");
	assert_int_equal(kube_quantity_sign(&z), 0);
	assert_int_equal(kube_quantity_sign(&n), -1);
	assert_int_equal(kube_quantity_sign(&p), 1);
	assert_true(kube_quantity_is_zero(&z));
}

/* TestAdd, TestSub, TestNeg, the zero-preserves-suffix tests, overflow and cancellation. */
static void arithmetic(void **state)
{
	(void)state;
	struct {
		struct kube_quantity a, b, sum, diff;
		enum kube_qformat fsum;
	} t[] = {
		{dq(10, 0, DSI), dq(1, 1, DSI), dq(20, 0, DSI), dq(0, 0, DSI), DSI},
		{dq(10, 0, DSI), dq(1, 0, BSI), dq(11, 0, DSI), dq(9, 0, DSI), DSI},
		{dq(10, 0, BSI), dq(1, 0, DSI), dq(11, 0, BSI), dq(9, 0, BSI), BSI},
		{dq(0, 0, DSI), dq(50, 0, DSI), dq(50, 0, DSI), dq(-50, 0, DSI), DSI},
		{dq(50, 0, DSI), dq(0, 0, DSI), dq(50, 0, DSI), dq(50, 0, DSI), DSI},
		{dq(0, 0, DSI), dq(0, 0, DSI), dq(0, 0, DSI), dq(0, 0, DSI), DSI},
		{dq(0, 0, DSI), dq(1, 0, BSI), dq(1, 0, BSI), dq(-1, 0, BSI), BSI},
		{dq(1, 19, DSI), dq(-9000000000000000001LL, 0, DSI),
		 dq(999999999999999999LL, 0, DSI), dq(0, 0, DSI), DSI},
		{dq(1, -9, DSI), dq(1, 9, DEX), dq(1000000000000000001LL, -9, DSI),
		 dq(-999999999999999999LL, -9, DSI), DSI},
	};
	for (size_t i = 0; i < KS_ARRAY_LEN(t); i++) {
		struct kube_quantity q = t[i].a;
		assert_int_equal(kube_quantity_add(&q, &t[i].b, NULL), 0);
		if (kube_quantity_cmp(&q, &t[i].sum) != 0)
			fail_msg("[%zu] sum mant %lld scale %d", i, (long long)q.mant, q.scale);
		assert_int_equal(q.format, t[i].fsum);
		if (i == 7)
			continue; /* 1e19 - -9000000000000000001 does not fit */
		q = t[i].a;
		assert_int_equal(kube_quantity_sub(&q, &t[i].b, NULL), 0);
		if (kube_quantity_cmp(&q, &t[i].diff) != 0)
			fail_msg("[%zu] diff mant %lld scale %d", i, (long long)q.mant, q.scale);
	}

	const char *keep[] = {"100m", "1Gi"};
	for (size_t i = 0; i < KS_ARRAY_LEN(keep); i++) {
		char buf[KUBE_QUANTITY_STR_MAX], buf2[KUBE_QUANTITY_STR_MAX];
		struct kube_quantity v = parse_ok(keep[i]), zero = parse_ok("0"), q;
		q = v;
		kube_quantity_add(&q, &zero, NULL);
		assert_string_equal(str(&q, buf), keep[i]);
		q = zero;
		kube_quantity_add(&q, &v, NULL);
		assert_string_equal(str(&q, buf), keep[i]);
		q = v;
		kube_quantity_sub(&q, &zero, NULL);
		assert_string_equal(str(&q, buf), keep[i]);
		q = zero;
		kube_quantity_sub(&q, &v, NULL);
		struct kube_quantity n = v;
		kube_quantity_neg(&n);
		assert_string_equal(str(&q, buf), str(&n, buf2));
	}

	/* arithmetic drops the echoed input */
	char buf[KUBE_QUANTITY_STR_MAX];
	struct kube_quantity q = parse_ok("+1"), one = parse_ok("1");
	assert_string_equal(str(&q, buf), "+1");
	kube_quantity_add(&q, &one, NULL);
	assert_string_equal(str(&q, buf), "2");
	q = parse_ok("9.01");
	kube_quantity_neg(&q);
	assert_string_equal(str(&q, buf), "-9010m");
	q = parse_ok("1Ki");
	kube_quantity_add(&q, &one, NULL);
	assert_string_equal(str(&q, buf), "1025");
	struct kube_quantity k1023 = parse_ok("1023");
	kube_quantity_add(&q, &k1023, NULL);
	assert_string_equal(str(&q, buf), "2Ki");

	/* results that do not fit fail and leave q alone */
	struct {
		const char *a, *b;
		bool sub;
	} bad[] = {
		{"9223372036854775807", "1", false},
		{"-9223372036854775807", "1", true},
		{"1e30", "1", false},
		{"1n", "1e20", false},
		{"5e2147483647", "5e2147483647", false},
		{"1e18", "9223372036854775807", false},
	};
	for (size_t i = 0; i < KS_ARRAY_LEN(bad); i++) {
		struct kube_quantity a = parse_ok(bad[i].a), b = parse_ok(bad[i].b), before;
		struct ks_err e = {0};
		before = a;
		int rc = bad[i].sub ? kube_quantity_sub(&a, &b, &e) : kube_quantity_add(&a, &b, &e);
		if (rc != KS_ETOOBIG)
			fail_msg("%s %c %s: rc %d", bad[i].a, bad[i].sub ? '-' : '+', bad[i].b, rc);
		assert_memory_equal(&a, &before, sizeof a);
		assert_contains(e.msg, "the exact result does not fit a 64-bit mantissa");
	}
	struct kube_quantity a = parse_ok("1e30"), b = parse_ok("1");
	struct ks_err e = {0};
	kube_quantity_sub(&a, &b, &e);
	assert_string_equal(e.msg,
			    "quantity 1e30 - 1: the exact result does not fit a 64-bit mantissa");

	/* TestAddSubRoundTrip and TestAddSubRoundTripAcrossScales with a fixed generator */
	uint64_t seed = 42;
	for (int k = -9; k <= 10; k++) {
		struct kube_quantity acc = dq(0, 0, DSI);
		int64_t vals[50];
		for (int i = 0; i < 50; i++) {
			seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
			vals[i] = (int64_t)(seed >> 44); /* small enough that sums fit */
			struct kube_quantity x = kube_quantity_from_int(vals[i], DSI);
			x.scale += k;
			if (k < 0 && x.mant == 0)
				x.scale = 0;
			assert_int_equal(kube_quantity_add(&acc, &x, NULL), 0);
		}
		for (int i = 0; i < 50; i++) {
			struct kube_quantity x = kube_quantity_from_int(vals[i], DSI);
			x.scale += k;
			if (x.mant == 0)
				x.scale = 0;
			assert_int_equal(kube_quantity_sub(&acc, &x, NULL), 0);
		}
		assert_true(kube_quantity_is_zero(&acc));
	}
}

/* TestNewSet, TestMilliNewSet and TestNewScaledSet. */
static void constructors(void **state)
{
	(void)state;
	struct {
		int64_t v;
		bool milli;
		enum kube_qformat f;
		const char *want;
	} t[] = {
		{1, false, DSI, "1"},
		{1000, false, DSI, "1k"},
		{1234000, false, DSI, "1234k"},
		{1024, false, BSI, "1Ki"},
		{1000000, false, DEX, "1e6"},
		{1024 * 1024, false, BSI, "1Mi"},
		{1, true, DSI, "1m"},
		{1000, true, DSI, "1"},
		{1234000, true, DSI, "1234"},
		{1024, true, BSI, "1024m"},
		{1000000, true, DEX, "1e3"},
		{1024 * 1024, true, BSI, "1048576m"},
		{0, false, BSI, "0"},
		{0, true, DEX, "0"},
		{-1500, true, DSI, "-1500m"},
		{INT64_MAX, false, DSI, "9223372036854775807"},
		{INT64_MIN, false, DSI, "-9223372036854775807"},
		{INT64_MIN, true, DSI, "-9223372036854775807m"},
		{2048LL * 1024 * 1024 * 1024, false, BSI, "2Ti"},
	};
	for (size_t i = 0; i < KS_ARRAY_LEN(t); i++) {
		char buf[KUBE_QUANTITY_STR_MAX];
		struct kube_quantity q = t[i].milli ? kube_quantity_from_milli(t[i].v, t[i].f)
						    : kube_quantity_from_int(t[i].v, t[i].f);
		assert_string_equal(str(&q, buf), t[i].want);
		struct kube_quantity r = parse_ok(buf);
		assert_int_equal(kube_quantity_cmp(&q, &r), 0);
		int64_t v = t[i].v == INT64_MIN ? -INT64_MAX : t[i].v;
		if (t[i].milli)
			assert_int_equal(kube_quantity_milli(&r), v);
		else
			assert_int_equal(kube_quantity_value(&r), v);
	}
	assert_string_equal(kube_qformat_name(DSI), "DecimalSI");
	assert_string_equal(kube_qformat_name(BSI), "BinarySI");
	assert_string_equal(kube_qformat_name(DEX), "DecimalExponent");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse_values), cmocka_unit_test(parse_odd_but_valid),
		cmocka_unit_test(parse_errors), cmocka_unit_test(string_form),
		cmocka_unit_test(string_table), cmocka_unit_test(values),
		cmocka_unit_test(compare),      cmocka_unit_test(arithmetic),
		cmocka_unit_test(constructors),
	};
	return cmocka_run_group_tests_name("quantity", tests, NULL, NULL);
}
