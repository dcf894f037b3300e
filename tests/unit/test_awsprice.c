/* test_awsprice.c — the live AWS price client (cost/awsprice.h) against a stand-in for AWS.
 *
 * The stand-in is an in-process libmicrohttpd server on loopback that checks every request
 * as AWS would before answering: POST /, the Authorization header recomputed from the
 * received method, host, headers and body with the test's secret key (the SigV4 signature
 * must verify, with the credential scope, the signed-header list and X-Amz-Date consistent
 * and within AWS's 15-minute skew), X-Amz-Target and Content-Type for Pricing, Action,
 * Version, ProductDescription.1, StartTime and MaxResults for EC2, Karpenter's GetProducts
 * filters, and the NextToken of each follow-up page. A request that fails a check is
 * answered as AWS answers a bad signature (403 SignatureDoesNotMatch) and the failure is
 * recorded for the test to assert on. Otherwise it answers from a script of recorded
 * responses (tests/fixtures/cost/aws/: GetProducts pages in the aws_v1 format with PriceList
 * documents as JSON strings, DescribeSpotPriceHistory XML with EC2's namespace, and the
 * error documents of both protocols).
 *
 * Every fetch runs with trace logging captured from stderr: the planted secret key must not
 * appear there nor in any error message. */
#include "testutil.h"

#include "base/json.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "cost/awsprice.h"
#include "cost/pricing.h"
#include "cost/sigv4.h"

#include <microhttpd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define AKID "AKIDEXAMPLEKSWARM01"
#define SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYzzSECRETzz"
#define SESSION "FwoGZXIvYXdzEBkaDEXAMPLESESSIONTOKEN=="

/* ---- the stand-in ---- */

struct step {
	unsigned status;
	const char *fixture;       /* under cost/aws/, or */
	const char *body;          /* a literal body */
	const char *error_type;    /* an x-amzn-ErrorType header, or NULL */
};

struct fake_aws {
	const char *service; /* "pricing" or "ec2" */
	const char *region;  /* the signing region expected */
	const struct step *steps;
	int nsteps;
	struct MHD_Daemon *d;
	int port;
	int requests;
	char problems[4096];
	char tokens[8][256]; /* the NextToken of each request, "" when none */
};

struct upload {
	struct ks_buf body;
};

static void problem(struct fake_aws *fa, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void problem(struct fake_aws *fa, const char *fmt, ...)
{
	size_t n = strlen(fa->problems);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(fa->problems + n, sizeof fa->problems - n, fmt, ap);
	va_end(ap);
	n = strlen(fa->problems);
	snprintf(fa->problems + n, sizeof fa->problems - n, "; ");
}

static const char *hdr(struct MHD_Connection *c, const char *name)
{
	return MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
}

/* "20261121T203000Z" -> unix seconds, -1 when malformed. */
static int64_t amz_date_unix(const char *d)
{
	if (!d || strlen(d) != 16 || d[8] != 'T' || d[15] != 'Z')
		return -1;
	char r[32];
	snprintf(r, sizeof r, "%.4s-%.2s-%.2sT%.2s:%.2s:%.2sZ", d, d + 4, d + 6, d + 9, d + 11,
		 d + 13);
	int64_t ns;
	return ks_time_parse_rfc3339(r, strlen(r), &ns, NULL) ? -1 : ns / 1000000000;
}

/* Recompute the signature of the received request; false (and a problem) when it differs. */
static bool verify_signature(struct fake_aws *fa, struct MHD_Connection *c, const char *url,
			     const char *body, size_t len)
{
	const char *auth = hdr(c, "Authorization"), *date = hdr(c, "X-Amz-Date");
	const char *host = hdr(c, "Host"), *token = hdr(c, "X-Amz-Security-Token");
	char akid[64], date8[16], region[32], service[32], signed_h[256], sig[80];
	if (!auth || !date || !host) {
		problem(fa, "missing Authorization, X-Amz-Date or Host");
		return false;
	}
	if (sscanf(auth, "AWS4-HMAC-SHA256 Credential=%63[^/]/%15[^/]/%31[^/]/%31[^/]/"
			 "aws4_request, SignedHeaders=%255[^,], Signature=%79s",
		   akid, date8, region, service, signed_h, sig) != 6) {
		problem(fa, "Authorization '%s' is not AWS4-HMAC-SHA256", auth);
		return false;
	}
	int64_t t = amz_date_unix(date);
	int64_t now = (int64_t)time(NULL);
	if (strcmp(akid, AKID) || strncmp(date, date8, 8) || strcmp(region, fa->region) ||
	    strcmp(service, fa->service) || t < 0 || t < now - 900 || t > now + 900) {
		problem(fa, "credential scope %s/%s/%s/%s or X-Amz-Date %s wrong", akid, date8,
			region, service, date);
		return false;
	}
	/* the headers named in SignedHeaders, as received (host, x-amz-date and the token are
	 * the signer's own) */
	struct cost_sigv4_pair hs[8];
	size_t nh = 0;
	char names[256];
	snprintf(names, sizeof names, "%s", signed_h);
	for (char *save = NULL, *n = strtok_r(names, ";", &save); n;
	     n = strtok_r(NULL, ";", &save)) {
		if (!strcmp(n, "host") || !strcmp(n, "x-amz-date") ||
		    !strcmp(n, "x-amz-security-token"))
			continue;
		const char *v = hdr(c, n);
		if (!v || nh == 8) {
			problem(fa, "signed header %s not received", n);
			return false;
		}
		hs[nh++] = (struct cost_sigv4_pair){n, v};
	}
	struct cost_sigv4_request req = {.method = "POST", .host = host, .path = url,
					 .headers = hs, .n_headers = nh, .payload = body,
					 .payload_len = len};
	struct cost_sigv4_credentials cr = {AKID, SECRET, token};
	struct cost_sigv4_scope sc = {.region = region, .service = service, .unix_s = t};
	struct cost_sigv4_signed s = {0};
	struct ks_err err = {0};
	bool ok = false;
	if (cost_sigv4_sign(&req, &cr, &sc, &s, &err))
		problem(fa, "re-signing: %s", err.msg);
	else if (strcmp(s.signed_headers, signed_h) || strcmp(s.signature, sig))
		problem(fa, "signature mismatch (signed headers '%s', want '%s')", signed_h,
			s.signed_headers);
	else
		ok = true;
	cost_sigv4_signed_release(&s);
	return ok;
}

static void check_getproducts(struct fake_aws *fa, struct MHD_Connection *c, const char *body,
			      size_t len)
{
	const char *target = hdr(c, "X-Amz-Target"), *ct = hdr(c, "Content-Type");
	if (!target || strcmp(target, "AWSPriceListService.GetProducts"))
		problem(fa, "X-Amz-Target '%s'", target ? target : "");
	if (!ct || strcmp(ct, "application/x-amz-json-1.1"))
		problem(fa, "Content-Type '%s'", ct ? ct : "");
	cJSON *j = ks_json_parse(body, len, 1 << 20, NULL);
	if (!j) {
		problem(fa, "body is not JSON");
		return;
	}
	if (strcmp(ks_json_str_or(j, "ServiceCode", ""), "AmazonEC2") ||
	    strcmp(ks_json_str_or(j, "FormatVersion", ""), "aws_v1") ||
	    ks_json_int_or(j, "MaxResults", 0) != 100)
		problem(fa, "ServiceCode, FormatVersion or MaxResults wrong");
	static const char *const want[][2] = {
		{"regionCode", "us-east-1"}, {"serviceCode", "AmazonEC2"},
		{"preInstalledSw", "NA"}, {"operatingSystem", "Linux"},
		{"capacitystatus", "Used"}, {"marketoption", "OnDemand"},
		{"tenancy", "Shared"}, {"productFamily", "Compute Instance"},
	};
	const cJSON *filters = ks_json_child(j, "Filters"), *f;
	if (ks_json_len(filters) != 8)
		problem(fa, "%d filters, want 8", ks_json_len(filters));
	for (size_t i = 0; i < 8; i++) {
		bool found = false;
		cJSON_ArrayForEach(f, filters)
			found |= !strcmp(ks_json_str_or(f, "Type", ""), "TERM_MATCH") &&
				 !strcmp(ks_json_str_or(f, "Field", ""), want[i][0]) &&
				 !strcmp(ks_json_str_or(f, "Value", ""), want[i][1]);
		if (!found)
			problem(fa, "no TERM_MATCH filter %s=%s", want[i][0], want[i][1]);
	}
	if (fa->requests < 8)
		snprintf(fa->tokens[fa->requests], sizeof fa->tokens[0], "%s",
			 ks_json_str_or(j, "NextToken", ""));
	cJSON_Delete(j);
}

/* The decoded value of name in a form body, into out ("" when absent). */
static void form_value(const char *form, const char *name, char *out, size_t cap)
{
	out[0] = '\0';
	size_t nl = strlen(name);
	for (const char *p = form; p && *p; p = strchr(p, '&') ? strchr(p, '&') + 1 : NULL) {
		if (strncmp(p, name, nl) || p[nl] != '=')
			continue;
		size_t o = 0;
		for (const char *v = p + nl + 1; *v && *v != '&' && o + 1 < cap; v++) {
			unsigned x;
			if (*v == '%' && sscanf(v + 1, "%2x", &x) == 1) {
				out[o++] = (char)x;
				v += 2;
			} else {
				out[o++] = *v == '+' ? ' ' : *v;
			}
		}
		out[o] = '\0';
		return;
	}
}

static void check_spot(struct fake_aws *fa, struct MHD_Connection *c, const char *form)
{
	const char *ct = hdr(c, "Content-Type");
	if (!ct || strncmp(ct, "application/x-www-form-urlencoded", 33))
		problem(fa, "Content-Type '%s'", ct ? ct : "");
	char v[512];
	form_value(form, "Action", v, sizeof v);
	if (strcmp(v, "DescribeSpotPriceHistory"))
		problem(fa, "Action '%s'", v);
	form_value(form, "Version", v, sizeof v);
	if (strcmp(v, "2016-11-15"))
		problem(fa, "Version '%s'", v);
	form_value(form, "ProductDescription.1", v, sizeof v);
	if (strcmp(v, "Linux/UNIX"))
		problem(fa, "ProductDescription.1 '%s'", v);
	form_value(form, "MaxResults", v, sizeof v);
	if (strcmp(v, "1000"))
		problem(fa, "MaxResults '%s'", v);
	form_value(form, "StartTime", v, sizeof v);
	int64_t ns;
	if (ks_time_parse_rfc3339(v, strlen(v), &ns, NULL) ||
	    ns / 1000000000 > (int64_t)time(NULL) + 60)
		problem(fa, "StartTime '%s'", v);
	if (fa->requests < 8)
		form_value(form, "NextToken", fa->tokens[fa->requests], sizeof fa->tokens[0]);
}

static enum MHD_Result fake_aws_on_req(void *cls, struct MHD_Connection *conn, const char *url,
				       const char *method, const char *version,
				       const char *data, size_t *data_size, void **con_cls)
{
	struct fake_aws *fa = cls;
	struct upload *u = *con_cls;
	if (!u) {
		u = ks_calloc(1, sizeof *u);
		ks_buf_init(&u->body, 1 << 20);
		*con_cls = u;
		return MHD_YES;
	}
	if (*data_size) {
		ks_buf_append(&u->body, data, *data_size);
		*data_size = 0;
		return MHD_YES;
	}
	const char *body = u->body.data ? u->body.data : "";
	bool ec2 = !strcmp(fa->service, "ec2");
	size_t before = strlen(fa->problems);
	if (strcmp(method, "POST") || strcmp(url, "/"))
		problem(fa, "%s %s", method, url);
	bool signed_ok = verify_signature(fa, conn, url, body, u->body.len);
	if (ec2)
		check_spot(fa, conn, body);
	else
		check_getproducts(fa, conn, body, u->body.len);
	int i = fa->requests < fa->nsteps ? fa->requests : fa->nsteps - 1;
	fa->requests++;
	char *text;
	unsigned status;
	const char *etype = NULL;
	if (!signed_ok || strlen(fa->problems) != before) {
		status = 403;
		text = ks_strdup(ec2 ? "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors>"
				       "<Error><Code>SignatureDoesNotMatch</Code><Message>The "
				       "request signature we calculated does not match the "
				       "signature you provided.</Message></Error></Errors>"
				       "<RequestID>0</RequestID></Response>"
				     : "{\"__type\":\"SignatureDoesNotMatch\",\"message\":\"The "
				       "request signature we calculated does not match the "
				       "signature you provided.\"}");
	} else {
		const struct step *s = &fa->steps[i];
		status = s->status;
		etype = s->error_type;
		if (s->body) {
			text = ks_strdup(s->body);
		} else {
			char rel[128];
			snprintf(rel, sizeof rel, "cost/aws/%s", s->fixture);
			text = tu_read_fixture(rel);
		}
	}
	struct MHD_Response *r =
		MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
	MHD_add_response_header(r, "Content-Type", ec2 ? "text/xml;charset=UTF-8"
						       : "application/x-amz-json-1.1");
	MHD_add_response_header(r, "x-amzn-RequestId", "6a2a5e1e-0000-4000-8000-EXAMPLE");
	if (etype)
		MHD_add_response_header(r, "x-amzn-ErrorType", etype);
	enum MHD_Result ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

static void fake_aws_on_done(void *cls, struct MHD_Connection *conn, void **con_cls,
			     enum MHD_RequestTerminationCode toe)
{
	struct upload *u = *con_cls;
	if (u) {
		ks_buf_release(&u->body);
		free(u);
		*con_cls = NULL;
	}
}

static void fake_aws_start(struct fake_aws *fa)
{
	fa->d = MHD_start_daemon(MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL,
				 fake_aws_on_req, fa, MHD_OPTION_NOTIFY_COMPLETED,
				 fake_aws_on_done, fa, MHD_OPTION_END);
	assert_non_null(fa->d);
	fa->port = MHD_get_daemon_info(fa->d, MHD_DAEMON_INFO_BIND_PORT)->port;
}

static void fake_aws_stop(struct fake_aws *fa)
{
	MHD_stop_daemon(fa->d);
	fa->d = NULL;
}

/* ---- running a fetch with stderr (the log) captured ---- */

struct run {
	struct fake_aws fa;
	struct aws_opts o;
	char url[64];
	char *log; /* what was logged */
};

static void run_init(struct run *r, const char *service, const struct step *steps, int n)
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

static const struct step two_product_pages[] = {
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

static const struct step throttled_then_ok[] = {
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

static const struct step always_throttled[] = {
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

static const struct step page_then_denied[] = {
	{200, "getproducts-page1.json", NULL, NULL},
	{400, "getproducts-error-access-denied.json", NULL,
	 "AccessDeniedException:http://internal.amazon.com/coral/com.amazonaws.awspricelistservice/"},
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
	static const struct step echo[] = {
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

static const struct step two_spot_pages[] = {
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
	static const struct step steps[] = {
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
	static const struct step steps[] = {
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
