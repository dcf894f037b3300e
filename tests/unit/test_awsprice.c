/* test_awsprice.c — the live AWS price client (cost/awsprice.h) against a stand-in for AWS.
 *
 * The stand-in (tests/fake_aws.h) is an in-process libmicrohttpd server on loopback that
 * checks every request as AWS would before answering (the SigV4 signature recomputed with the
 * test's secret key, the headers, Karpenter's filters, the EC2 parameters, each page's token)
 * and answers a request that fails a check with 403 SignatureDoesNotMatch, recording the
 * failure for the test to assert on. Otherwise it answers from a script of recorded
 * responses (tests/fixtures/cost/aws/: GetProducts pages in the aws_v1 format with PriceList
 * documents as JSON strings, DescribeSpotPriceHistory XML with EC2's namespace, and the
 * error documents of both protocols).
 *
 * Every fetch runs with trace logging captured from stderr: the planted secret key must not
 * appear there nor in any error message. */
#include "testutil.h"
#include "fake_aws.h"

#include "base/log.h"
#include "cost/awsprice.h"
#include "cost/pricing.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- running a fetch with stderr (the log) captured ---- */

struct run {
	struct fake_aws fa;
	struct aws_opts o;
	char url[64];
	char *log; /* what was logged */
};

static void run_init(struct run *r, const char *service, const struct fake_aws_step *steps, int n)
{
	*r = (struct run){.fa = {.service = service, .region = "us-east-1", .steps = steps,
				 .nsteps = n}};
	fake_aws_start(&r->fa);
	snprintf(r->url, sizeof r->url, "http://127.0.0.1:%d/", r->fa.port);
	r->o = (struct aws_opts){
		.region = "us-east-1",
		.pricing_url = r->url,
		.ec2_url = r->url,
		.creds = {AKID, SECRET, SESSION},
		.timeout_ms = 5000,
		.retry_base_ms = 1,
	};
}

static int log_begin(char *path)
{
	fflush(stderr);
	int saved = dup(2);
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	dup2(fd, 2);
	close(fd);
	ks_log_set_level(KS_LOG_TRACE);
	return saved;
}

static char *log_end(int saved, const char *path)
{
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	ks_log_set_level(KS_LOG_WARN);
	char *text = NULL;
	size_t n = 0;
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	char buf[4096];
	size_t k;
	while ((k = fread(buf, 1, sizeof buf, f)) > 0) {
		text = ks_realloc(text, n + k + 1);
		memcpy(text + n, buf, k);
		n += k;
	}
	fclose(f);
	unlink(path);
	if (!text)
		text = ks_strdup("");
	text[n] = '\0';
	return text;
}

static int fetch_ondemand(struct run *r, struct cost_prices *p, struct cost_offer_stats *st,
			  struct ks_err *err)
{
	char path[] = "/tmp/kswarm-awslog-XXXXXX";
	int saved = log_begin(path);
	int rc = cost_prices_fetch_ondemand(p, &r->o, st, err);
	r->log = log_end(saved, path);
	return rc;
}

static int fetch_spot(struct run *r, struct cost_prices *p, size_t *nset, struct ks_err *err)
{
	char path[] = "/tmp/kswarm-awslog-XXXXXX";
	int saved = log_begin(path);
	int rc = cost_prices_fetch_spot(p, &r->o, nset, err);
	r->log = log_end(saved, path);
	return rc;
}

/* The secret key is nowhere: not in the log, not in the message. */
static void run_done(struct run *r, const struct ks_err *err)
{
	fake_aws_stop(&r->fa);
	assert_null(strstr(r->log, SECRET));
	assert_null(strstr(err->msg, SECRET));
	assert_null(strstr(r->log, SESSION));
	free(r->log);
}

static void assert_price(const struct cost_prices *p, const char *type, enum cost_capacity c,
			 double want, const char *source)
{
	struct cost_price pr;
	struct ks_err err = {0};
	if (cost_prices_get(p, type, c, &pr, &err))
		fail_msg("%s: %s", type, err.msg);
	assert_float_equal(pr.usd_hr, want, 1e-9);
	if (source && strcmp(pr.source, source))
		fail_msg("%s: source '%s', want '%s'", type, pr.source, source);
}

/* ---- on-demand ---- */

static const struct fake_aws_step two_product_pages[] = {
	{200, "getproducts-page1.json", NULL, NULL},
	{200, "getproducts-page2.json", NULL, NULL},
};

static void ondemand_two_pages(void **state)
{
	struct run r;
	run_init(&r, "pricing", two_product_pages, 2);
	struct cost_prices *p = cost_prices_from_catalog(NULL);
	struct cost_offer_stats st;
	struct ks_err err = {0};
	int rc = fetch_ondemand(&r, p, &st, &err);
	if (rc)
		fail_msg("%s", err.msg);
	assert_string_equal(r.fa.problems, "");
	assert_int_equal(r.fa.requests, 2);
	assert_string_equal(r.fa.tokens[0], "");
	assert_string_equal(r.fa.tokens[1], "eyJ0b2tlbiI6InBhZ2UyIn0=:AAAAAQ==");
	assert_int_equal(st.products, 5);
	assert_int_equal(st.matched, 5);
	assert_int_equal(st.priced, 5);
	assert_string_equal(st.region, "us-east-1");
	assert_string_equal(st.publication_date, "2026-11-01T00:00:00Z");
	const char *src = "GetProducts us-east-1 (2026-11-01T00:00:00Z)";
	assert_price(p, "m5.large", COST_CAPACITY_ON_DEMAND, 0.096, src);
	assert_price(p, "c5.xlarge", COST_CAPACITY_ON_DEMAND, 0.17, src);
	assert_price(p, "t3.medium", COST_CAPACITY_ON_DEMAND, 0.0416, src); /* page 2 */
	cost_prices_free(p);
	run_done(&r, &err);
}

static const struct fake_aws_step throttled_then_ok[] = {
	{400, "getproducts-error-throttling.json", NULL, "ThrottlingException"},
	{200, "getproducts-page1.json", NULL, NULL},
	{400, "getproducts-error-throttling.json", NULL, NULL}, /* __type only */
	{200, "getproducts-page2.json", NULL, NULL},
};

static void ondemand_throttled_then_ok(void **state)
{
	struct run r;
	run_init(&r, "pricing", throttled_then_ok, 4);
	struct cost_prices *p = cost_prices_from_catalog(NULL);
	struct ks_err err = {0};
	if (fetch_ondemand(&r, p, NULL, &err))
		fail_msg("%s", err.msg);
	assert_int_equal(r.fa.requests, 4);
	assert_string_equal(r.fa.problems, "");
	assert_string_equal(r.fa.tokens[3], "eyJ0b2tlbiI6InBhZ2UyIn0=:AAAAAQ==");
	assert_price(p, "r5.large", COST_CAPACITY_ON_DEMAND, 0.126, NULL);
	assert_non_null(strstr(r.log, "ThrottlingException: retrying"));
	cost_prices_free(p);
	run_done(&r, &err);
}

static const struct fake_aws_step always_throttled[] = {
	{400, "getproducts-error-throttling.json", NULL, NULL},
};

static void ondemand_still_throttled(void **state)
{
	struct run r;
	run_init(&r, "pricing", always_throttled, 1);
	r.o.max_retries = 2;
	struct cost_prices *p = cost_prices_from_catalog(NULL);
	struct ks_err err = {0};
	assert_int_equal(fetch_ondemand(&r, p, NULL, &err), KS_EHTTP);
	assert_int_equal(r.fa.requests, 3);
	assert_string_equal(err.reason, "ThrottlingException");
	assert_string_equal(err.msg, "GetProducts us-east-1: HTTP 400 ThrottlingException: Rate "
				     "exceeded (still throttled after retries)");
	cost_prices_free(p);
	run_done(&r, &err);
}

static const struct fake_aws_step page_then_denied[] = {
	{200, "getproducts-page1.json", NULL, NULL},
	{400, "getproducts-error-access-denied.json", NULL,
	 "AccessDeniedException:"
	 "http://internal.amazon.com/coral/com.amazonaws.awspricelistservice/"},
};

/* A failure at page 2 leaves the table as it was: no price from page 1. */
static void ondemand_denied_all_or_nothing(void **state)
{
	struct run r;
	run_init(&r, "pricing", page_then_denied, 2);
	struct cost_prices *p = cost_prices_from_catalog(NULL);
	struct ks_err err = {0};
	struct cost_price pr;
	assert_int_equal(fetch_ondemand(&r, p, NULL, &err), KS_EHTTP);
	assert_string_equal(r.fa.problems, "");
	assert_int_equal(r.fa.requests, 2);
	assert_int_equal(err.http_status, 400);
	assert_string_equal(err.reason, "AccessDeniedException");
	assert_string_equal(err.msg, "GetProducts us-east-1: HTTP 400 AccessDeniedException: User: "
				     "arn:aws:iam::123456789012:user/kswarm is not authorized to "
				     "perform: pricing:GetProducts");
	assert_int_equal(cost_prices_get(p, "m5.large", COST_CAPACITY_ON_DEMAND, &pr, NULL),
			 KS_ENOTFOUND);
	assert_string_equal(cost_prices_region(p), "us-east-1");
	cost_prices_free(p);
	run_done(&r, &err);
}

/* A client with the wrong secret: the stand-in's verification refuses it. */
static void ondemand_bad_signature(void **state)
{
	struct run r;
	run_init(&r, "pricing", two_product_pages, 2);
	r.o.creds.secret_access_key = "not-the-secret-key-at-all";
	struct cost_prices *p = cost_prices_from_catalog(NULL);
	struct ks_err err = {0};
	assert_int_equal(fetch_ondemand(&r, p, NULL, &err), KS_EFORBIDDEN);
	assert_non_null(strstr(r.fa.problems, "signature mismatch"));
	assert_non_null(strstr(err.msg, "HTTP 403 SignatureDoesNotMatch"));
	cost_prices_free(p);
	run_done(&r, &err);
}

/* An endpoint that echoes the secret key back: the message is redacted. */
static void ondemand_secret_echo_redacted(void **state)
{
	static const struct fake_aws_step echo[] = {
		{400, NULL, "{\"__type\":\"InvalidParameterException\",\"message\":\"key "
			    SECRET " is not valid\"}", NULL},
	};
	struct run r;
	run_init(&r, "pricing", echo, 1);
	struct cost_prices *p = cost_prices_from_catalog(NULL);
	struct ks_err err = {0};
	assert_int_equal(fetch_ondemand(&r, p, NULL, &err), KS_EHTTP);
	assert_string_equal(err.msg, "GetProducts us-east-1: HTTP 400 InvalidParameterException: "
				     "key [redacted] is not valid");
	cost_prices_free(p);
	run_done(&r, &err);
}

static void ondemand_page_ceiling(void **state)
{
	struct run r;
	run_init(&r, "pricing", two_product_pages, 2);
	r.o.max_pages = 1;
	struct cost_prices *p = cost_prices_from_catalog(NULL);
	struct ks_err err = {0};
	assert_int_equal(fetch_ondemand(&r, p, NULL, &err), KS_ETOOBIG);
	assert_string_equal(err.msg, "GetProducts us-east-1: more than 1 pages");
	cost_prices_free(p);
	run_done(&r, &err);
}

/* ---- spot ---- */

static const struct fake_aws_step two_spot_pages[] = {
	{200, "spot-page1.xml", NULL, NULL},
	{200, "spot-page2.xml", NULL, NULL},
};

static void spot_two_pages(void **state)
{
	struct run r;
	run_init(&r, "ec2", two_spot_pages, 2);
	r.o.creds.session_token = NULL;
	struct cost_prices *p = cost_prices_from_catalog(NULL);
	struct ks_err err = {0};
	size_t n = 0;
	if (fetch_spot(&r, p, &n, &err))
		fail_msg("%s", err.msg);
	assert_string_equal(r.fa.problems, "");
	assert_int_equal(r.fa.requests, 2);
	assert_string_equal(r.fa.tokens[0], "");
	assert_string_equal(r.fa.tokens[1], "iBKtJDGxS1N0KmUQ0bPXqEXAMPLE");
	assert_int_equal(n, 2);
	/* the latest price in us-east-1a (0.0359, not the older 0.04; Windows skipped) and in
	 * us-east-1b (0.0371) */
	assert_price(p, "m5.large", COST_CAPACITY_SPOT, (0.0359 + 0.0371) / 2,
		     "spot: price history (DescribeSpotPriceHistory us-east-1: mean of the latest "
		     "prices in 2 zones, newest 2026-11-21T09:58:12Z)");
	assert_price(p, "c5.xlarge", COST_CAPACITY_SPOT, 0.0698, NULL);
	cost_prices_free(p);
	run_done(&r, &err);
}

static void spot_throttled_then_ok(void **state)
{
	static const struct fake_aws_step steps[] = {
		{503, "ec2-error-request-limit.xml", NULL, NULL},
		{200, "spot-page1.xml", NULL, NULL},
		{200, "spot-page2.xml", NULL, NULL},
	};
	struct run r;
	run_init(&r, "ec2", steps, 3);
	struct cost_prices *p = cost_prices_from_catalog(NULL);
	struct ks_err err = {0};
	if (fetch_spot(&r, p, NULL, &err))
		fail_msg("%s", err.msg);
	assert_int_equal(r.fa.requests, 3);
	assert_string_equal(r.fa.problems, "");
	assert_non_null(strstr(r.log, "HTTP 503 RequestLimitExceeded: retrying"));
	assert_price(p, "c5.xlarge", COST_CAPACITY_SPOT, 0.0698, NULL);
	cost_prices_free(p);
	run_done(&r, &err);
}

static void spot_unauthorized_all_or_nothing(void **state)
{
	static const struct fake_aws_step steps[] = {
		{200, "spot-page1.xml", NULL, NULL},
		{403, "ec2-error-unauthorized.xml", NULL, NULL},
	};
	struct run r;
	run_init(&r, "ec2", steps, 2);
	struct cost_prices *p = cost_prices_from_catalog(NULL);
	assert_int_equal(cost_prices_set_spot(p, "m5.large", 0.05, "seed", NULL), 0);
	struct ks_err err = {0};
	assert_int_equal(fetch_spot(&r, p, NULL, &err), KS_EFORBIDDEN);
	assert_string_equal(err.reason, "UnauthorizedOperation");
	assert_string_equal(err.msg, "DescribeSpotPriceHistory us-east-1: HTTP 403 "
				     "UnauthorizedOperation: You are not authorized to perform "
				     "this operation.");
	assert_price(p, "m5.large", COST_CAPACITY_SPOT, 0.05, "spot: price history (seed)");
	cost_prices_free(p);
	run_done(&r, &err);
}

/* ---- page importers, options, credentials ---- */

static void spot_xml_pages(void **state)
{
	struct cost_prices *p = cost_prices_from_catalog(NULL);
	struct ks_err err = {0};
	char *next = NULL;
	size_t n = 0;
	static const char doctype[] =
		"<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY a \"aaaa\">]>"
		"<DescribeSpotPriceHistoryResponse xmlns=\"http://ec2.amazonaws.com/doc/"
		"2016-11-15/\"><nextToken>&a;</nextToken></DescribeSpotPriceHistoryResponse>";
	assert_int_equal(cost_prices_import_spot_xml_page(p, "x", doctype, strlen(doctype), &next,
							  &n, &err), KS_EINVAL);
	assert_string_equal(err.msg, "x: line 1: a DOCTYPE is not accepted");
	static const char other[] = "<ListBucketResult/>";
	assert_int_equal(cost_prices_import_spot_xml_page(p, "x", other, strlen(other), &next, &n,
							  &err), KS_EINVAL);
	char *e = tu_read_fixture("cost/aws/ec2-error-request-limit.xml");
	assert_int_equal(cost_prices_import_spot_xml_page(p, "x", e, strlen(e), &next, &n, &err),
			 KS_EHTTP);
	assert_string_equal(err.msg, "x: RequestLimitExceeded: Request limit exceeded.");
	free(e);
	static const char missing[] =
		"<DescribeSpotPriceHistoryResponse xmlns=\"http://ec2.amazonaws.com/doc/"
		"2016-11-15/\"><spotPriceHistorySet><item><instanceType>m5.large</instanceType>"
		"</item></spotPriceHistorySet></DescribeSpotPriceHistoryResponse>";
	assert_int_equal(cost_prices_import_spot_xml_page(p, "x", missing, strlen(missing), &next,
							  &n, &err), KS_EINVAL);
	assert_string_equal(err.msg, "x: spotPriceHistorySet item 0: no <availabilityZone>");
	char *page = tu_read_fixture("cost/aws/spot-page1.xml");
	assert_int_equal(cost_prices_import_spot_xml_page(p, "x", page, strlen(page), &next, &n,
							  &err), 0);
	assert_string_equal(next, "iBKtJDGxS1N0KmUQ0bPXqEXAMPLE");
	assert_int_equal(n, 1);
	free(next);
	free(page);
	cost_prices_free(p);
}

static void getproducts_page_errors(void **state)
{
	struct cost_prices *p = cost_prices_from_catalog(NULL);
	struct ks_err err = {0};
	static const char not_string[] = "{\"FormatVersion\":\"aws_v1\",\"PriceList\":[{}]}";
	assert_int_equal(cost_prices_import_getproducts_page(p, "g", NULL, not_string,
							     strlen(not_string), NULL, NULL, &err),
			 KS_EINVAL);
	assert_string_equal(err.msg, "g: PriceList[0] is not a string");
	static const char bad_doc[] = "{\"PriceList\":[\"{\\\"product\\\":1}\"]}";
	assert_int_equal(cost_prices_import_getproducts_page(p, "g", NULL, bad_doc,
							     strlen(bad_doc), NULL, NULL, &err),
			 KS_EINVAL);
	assert_string_equal(err.msg, "g: PriceList[0]: no \"product\" object with a \"sku\"");
	static const char v2[] = "{\"FormatVersion\":\"aws_v2\",\"PriceList\":[]}";
	assert_int_equal(cost_prices_import_getproducts_page(p, "g", NULL, v2, strlen(v2), NULL,
							     NULL, &err), KS_EINVAL);
	char *page = tu_read_fixture("cost/aws/getproducts-page2.json");
	char *next = (char *)"x";
	assert_int_equal(cost_prices_import_getproducts_page(p, "g", "us-east-1", page,
							     strlen(page), &next, NULL, &err), 0);
	assert_null(next); /* "NextToken": null */
	assert_price(p, "r5.large", COST_CAPACITY_ON_DEMAND, 0.126, "g (2026-11-01T00:00:00Z)");
	free(page);
	cost_prices_free(p);
}

static void endpoints_and_regions(void **state)
{
	struct cost_prices *p = cost_prices_from_catalog(NULL);
	struct ks_err err = {0};
	struct aws_opts o = {.region = "us-east-1", .pricing_url = "ftp://127.0.0.1/",
			     .ec2_url = "http://user@127.0.0.1:1/", .creds = {AKID, SECRET, NULL}};
	assert_int_equal(cost_prices_fetch_ondemand(p, &o, NULL, &err), KS_EINVAL);
	assert_non_null(strstr(err.msg, "is not an http:// or https:// URL"));
	assert_int_equal(cost_prices_fetch_spot(p, &o, NULL, &err), KS_EINVAL);
	assert_non_null(strstr(err.msg, "without user"));
	o.region = "eu-west-1";
	assert_int_equal(cost_prices_fetch_spot(p, &o, NULL, &err), KS_EINVAL);
	assert_non_null(strstr(err.msg, "the price table is for us-east-1"));
	o.region = "us-east-1/../x";
	assert_int_equal(cost_prices_fetch_ondemand(p, &o, NULL, &err), KS_EINVAL);
	/* nothing listens on port 1 */
	o.region = "us-east-1";
	o.pricing_url = "http://127.0.0.1:1/";
	assert_int_equal(cost_prices_fetch_ondemand(p, &o, NULL, &err), KS_ENET);
	assert_null(strstr(err.msg, SECRET));
	cost_prices_free(p);
}

static void credentials_from_env(void **state)
{
	struct cost_sigv4_credentials c;
	struct ks_err err = {0};
	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SECRET_ACCESS_KEY");
	unsetenv("AWS_SESSION_TOKEN");
	assert_int_equal(aws_credentials_from_env(&c, &err), KS_EAUTH);
	assert_non_null(strstr(err.msg, "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY not set"));
	setenv("AWS_ACCESS_KEY_ID", AKID, 1);
	assert_int_equal(aws_credentials_from_env(&c, &err), KS_EAUTH);
	assert_non_null(strstr(err.msg, ": AWS_SECRET_ACCESS_KEY not set"));
	setenv("AWS_SECRET_ACCESS_KEY", SECRET, 1);
	setenv("AWS_SESSION_TOKEN", "", 1);
	assert_int_equal(aws_credentials_from_env(&c, &err), 0);
	assert_string_equal(c.access_key_id, AKID);
	assert_string_equal(c.secret_access_key, SECRET);
	assert_null(c.session_token);
	setenv("AWS_SESSION_TOKEN", SESSION, 1);
	assert_int_equal(aws_credentials_from_env(&c, &err), 0);
	assert_string_equal(c.session_token, SESSION);
	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SECRET_ACCESS_KEY");
	unsetenv("AWS_SESSION_TOKEN");
}

int main(void)
{
	tu_set_data_dir();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ondemand_two_pages),
		cmocka_unit_test(ondemand_throttled_then_ok),
		cmocka_unit_test(ondemand_still_throttled),
		cmocka_unit_test(ondemand_denied_all_or_nothing),
		cmocka_unit_test(ondemand_bad_signature),
		cmocka_unit_test(ondemand_secret_echo_redacted),
		cmocka_unit_test(ondemand_page_ceiling),
		cmocka_unit_test(spot_two_pages),
		cmocka_unit_test(spot_throttled_then_ok),
		cmocka_unit_test(spot_unauthorized_all_or_nothing),
		cmocka_unit_test(spot_xml_pages),
		cmocka_unit_test(getproducts_page_errors),
		cmocka_unit_test(endpoints_and_regions),
		cmocka_unit_test(credentials_from_env),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
