/* test_sigv4.c — the SigV4 signer against AWS's published test suite (aws-sig-v4-test-suite:
 * key AKIDEXAMPLE, 2015-08-30T12:36:00Z, us-east-1, service "service"): the canonical
 * request, the string to sign and the Authorization header of each vector; the documented
 * signing-key example (iam, 20120215); and the inputs the signer refuses. */
#include "testutil.h"

#include "cost/sigv4.h"

#include <stdio.h>
#include <string.h>

#define SUITE_TIME 1440938160 /* 20150830T123600Z */
#define HOST "example.amazonaws.com"
#define EMPTY_SHA "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define CRED "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
#define STS_HEAD "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
#define TOKEN                                                                                 \
	"AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRX" \
	"mxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsbu" \
	"rEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iP" \
	"PkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA=="

static const struct cost_sigv4_credentials suite_creds = {
	.access_key_id = "AKIDEXAMPLE",
	.secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
};
static const struct cost_sigv4_scope suite_scope = {
	.region = "us-east-1", .service = "service", .unix_s = SUITE_TIME};

struct vector {
	const char *name;
	struct cost_sigv4_request req;
	const char *token;
	const char *creq;     /* NULL: not checked */
	const char *sts_hash; /* the last line of the string to sign */
	const char *authz_tail; /* after "Credential=.../aws4_request, " */
};

static const struct cost_sigv4_pair dup_headers[] = {
	{"My-Header1", "value2"}, {"My-Header1", "value2"}, {"My-Header1", "value1"}};
static const struct cost_sigv4_pair trim_headers[] = {
	{"My-Header1", " value1"}, {"My-Header2", " \"a   b   c\""}};
static const struct cost_sigv4_pair form_headers[] = {
	{"Content-Type", "application/x-www-form-urlencoded"}};
static const struct cost_sigv4_pair case_params[] = {{"Param2", "value2"}, {"Param1", "value1"}};
static const struct cost_sigv4_pair one_param[] = {{"Param1", "value1"}};

static const struct vector vectors[] = {
	{"get-vanilla",
	 {.method = "GET", .host = HOST, .path = "/"},
	 NULL,
	 "GET\n/\n\nhost:" HOST "\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n" EMPTY_SHA,
	 "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63",
	 "SignedHeaders=host;x-amz-date, "
	 "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"},
	{"get-vanilla-query-order-key-case",
	 {.method = "GET", .host = HOST, .path = "/", .params = case_params, .n_params = 2},
	 NULL,
	 "GET\n/\nParam1=value1&Param2=value2\nhost:" HOST
	 "\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n" EMPTY_SHA,
	 "816cd5b414d056048ba4f7c5386d6e0533120fb1fcfa93762cf0fc39e2cf19e0",
	 "SignedHeaders=host;x-amz-date, "
	 "Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"},
	{"post-vanilla-query",
	 {.method = "POST", .host = HOST, .params = one_param, .n_params = 1},
	 NULL,
	 "POST\n/\nParam1=value1\nhost:" HOST
	 "\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n" EMPTY_SHA,
	 "9d659678c1756bb3113e2ce898845a0a79dbbc57b740555917687f1b3340fbbd",
	 "SignedHeaders=host;x-amz-date, "
	 "Signature=28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11"},
	{"post-x-www-form-urlencoded",
	 {.method = "POST",
	  .host = HOST,
	  .path = "/",
	  .headers = form_headers,
	  .n_headers = 1,
	  .payload = "Param1=value1",
	  .payload_len = 13},
	 NULL,
	 "POST\n/\n\ncontent-type:application/x-www-form-urlencoded\nhost:" HOST
	 "\nx-amz-date:20150830T123600Z\n\ncontent-type;host;x-amz-date\n"
	 "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e",
	 "42a5e5bb34198acb3e84da4f085bb7927f2bc277ca766e6d19c73c2154021281",
	 "SignedHeaders=content-type;host;x-amz-date, "
	 "Signature=ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a"},
	{"get-header-value-trim",
	 {.method = "GET", .host = HOST, .path = "/", .headers = trim_headers, .n_headers = 2},
	 NULL,
	 "GET\n/\n\nhost:" HOST "\nmy-header1:value1\nmy-header2:\"a b c\"\n"
	 "x-amz-date:20150830T123600Z\n\nhost;my-header1;my-header2;x-amz-date\n" EMPTY_SHA,
	 "a726db9b0df21c14f559d0a978e563112acb1b9e05476f0a6a1c7d68f28605c7",
	 "SignedHeaders=host;my-header1;my-header2;x-amz-date, "
	 "Signature=acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736"},
	{"get-header-key-duplicate",
	 {.method = "GET", .host = HOST, .path = "/", .headers = dup_headers, .n_headers = 3},
	 NULL,
	 "GET\n/\n\nhost:" HOST "\nmy-header1:value2,value2,value1\n"
	 "x-amz-date:20150830T123600Z\n\nhost;my-header1;x-amz-date\n" EMPTY_SHA,
	 NULL,
	 "SignedHeaders=host;my-header1;x-amz-date, "
	 "Signature=c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea"},
	{"get-utf8",
	 {.method = "GET", .host = HOST, .path = "/\xe1\x88\xb4"},
	 NULL,
	 "GET\n/%E1%88%B4\n\nhost:" HOST "\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n"
	 EMPTY_SHA,
	 "2a0a97d02205e45ce2e994789806b19270cfbbb0921b278ccf58f5249ac42102",
	 NULL},
	{"get-unreserved",
	 {.method = "GET",
	  .host = HOST,
	  .path = "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"},
	 NULL,
	 "GET\n/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz\n\nhost:" HOST
	 "\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n" EMPTY_SHA,
	 NULL,
	 NULL},
	{"post-sts-header-before",
	 {.method = "POST", .host = HOST, .path = "/"},
	 TOKEN,
	 "POST\n/\n\nhost:" HOST "\nx-amz-date:20150830T123600Z\nx-amz-security-token:" TOKEN
	 "\n\nhost;x-amz-date;x-amz-security-token\n" EMPTY_SHA,
	 "c237e1b440d4c63c32ca95b5b99481081cb7b13c7e40434868e71567c1a882f6",
	 "SignedHeaders=host;x-amz-date;x-amz-security-token, "
	 "Signature=85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead"},
};

/* got must be prefix + tail (nothing checked when tail is NULL). */
static void expect(const char *vector, const char *what, const char *got, const char *prefix,
		   const char *tail)
{
	if (!tail)
		return;
	char *want = ks_asprintf("%s%s", prefix, tail);
	if (strcmp(got, want))
		fail_msg("%s: %s\n%s\nwant\n%s", vector, what, got, want);
	free(want);
}

static void suite_vectors(void **state)
{
	(void)state;
	for (size_t i = 0; i < KS_ARRAY_LEN(vectors); i++) {
		const struct vector *v = &vectors[i];
		struct cost_sigv4_credentials c = suite_creds;
		c.session_token = v->token;
		struct cost_sigv4_signed s;
		struct ks_err e = {0};
		if (cost_sigv4_sign(&v->req, &c, &suite_scope, &s, &e))
			fail_msg("%s: %s", v->name, e.msg);
		assert_string_equal(s.amz_date, "20150830T123600Z");
		expect(v->name, "canonical request", s.canonical_request, "", v->creq);
		expect(v->name, "string to sign", s.string_to_sign, STS_HEAD, v->sts_hash);
		expect(v->name, "authorization", s.authorization, CRED, v->authz_tail);
		/* the secret key never appears in what the signer returns */
		assert_null(strstr(s.canonical_request, suite_creds.secret_access_key));
		assert_null(strstr(s.string_to_sign, suite_creds.secret_access_key));
		assert_null(strstr(s.authorization, suite_creds.secret_access_key));
		cost_sigv4_signed_release(&s);
	}
}

static void query_encoding(void **state)
{
	(void)state;
	/* DescribeSpotPriceHistory's shape: encoded names and values, sorted by name */
	const struct cost_sigv4_pair p[] = {
		{"Version", "2016-11-15"},
		{"InstanceType.1", "m5.large"},
		{"Action", "DescribeSpotPriceHistory"},
		{"ProductDescription.1", "Linux/UNIX"},
		{"StartTime", "2026-11-21T00:00:00Z"},
	};
	struct cost_sigv4_request r = {
		.method = "GET", .host = "ec2.us-east-1.amazonaws.com", .params = p, .n_params = 5};
	struct cost_sigv4_scope sc = {
		.region = "us-east-1", .service = "ec2", .unix_s = SUITE_TIME};
	struct cost_sigv4_signed s;
	struct ks_err e = {0};
	assert_int_equal(cost_sigv4_sign(&r, &suite_creds, &sc, &s, &e), 0);
	assert_string_equal(s.query, "Action=DescribeSpotPriceHistory&InstanceType.1=m5.large&"
				     "ProductDescription.1=Linux%2FUNIX&"
				     "StartTime=2026-11-21T00%3A00%3A00Z&Version=2016-11-15");
	assert_contains(s.authorization, "/20150830/us-east-1/ec2/aws4_request, ");
	cost_sigv4_signed_release(&s);
	cost_sigv4_signed_release(&s); /* twice is fine */
}

static void signing_key(void **state)
{
	(void)state;
	/* the AWS General Reference example: iam, us-east-1, 20120215 */
	unsigned char k[32];
	char hex[65];
	assert_int_equal(cost_sigv4_signing_key("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
						"20120215", "us-east-1", "iam", k, NULL),
			 0);
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", k[i]);
	assert_string_equal(hex,
			    "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d");
	cost_sigv4_sha256_hex("", 0, hex);
	assert_string_equal(hex, EMPTY_SHA);
}

static void refusals(void **state)
{
	(void)state;
	struct cost_sigv4_signed s;
	struct ks_err e = {0};
	struct cost_sigv4_request r = {.method = "GET", .host = HOST, .path = "/a/../b"};
	assert_int_equal(cost_sigv4_sign(&r, &suite_creds, &suite_scope, &s, &e), KS_EINVAL);
	assert_string_equal(e.msg, "sigv4: path '/a/../b' is not normalised ('//', '.' or '..')");
	assert_null(s.authorization);

	r.path = "/";
	const struct cost_sigv4_pair host[] = {{"Host", "evil.example"}};
	r.headers = host;
	r.n_headers = 1;
	assert_int_equal(cost_sigv4_sign(&r, &suite_creds, &suite_scope, &s, &e), KS_EINVAL);
	assert_string_equal(e.msg, "sigv4: header 'host' is set by the signer");

	const struct cost_sigv4_pair crlf[] = {{"X-A", "a\r\nX-B: b"}};
	r.headers = crlf;
	assert_int_equal(cost_sigv4_sign(&r, &suite_creds, &suite_scope, &s, &e), KS_EINVAL);
	assert_string_equal(e.msg, "sigv4: header 'X-A' holds a line break");

	const struct cost_sigv4_pair badname[] = {{"X A", "v"}};
	r.headers = badname;
	assert_int_equal(cost_sigv4_sign(&r, &suite_creds, &suite_scope, &s, &e), KS_EINVAL);
	assert_string_equal(e.msg, "sigv4: header name 'X A' is not a token");

	r.n_headers = 0;
	struct cost_sigv4_credentials nokey = {.access_key_id = "AKIDEXAMPLE"};
	assert_int_equal(cost_sigv4_sign(&r, &nokey, &suite_scope, &s, &e), KS_EAUTH);
	struct cost_sigv4_scope badscope = {.region = "us east", .service = "ec2"};
	assert_int_equal(cost_sigv4_sign(&r, &suite_creds, &badscope, &s, &e), KS_EINVAL);
	struct cost_sigv4_scope neg = {.region = "us-east-1", .service = "ec2", .unix_s = -5};
	assert_int_equal(cost_sigv4_sign(&r, &suite_creds, &neg, &s, &e), KS_EINVAL);
	/* no message ever names the secret */
	assert_null(strstr(e.msg, "EXAMPLEKEY"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(suite_vectors),
		cmocka_unit_test(query_encoding),
		cmocka_unit_test(signing_key),
		cmocka_unit_test(refusals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
