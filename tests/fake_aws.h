/* fake_aws.h — a stand-in for AWS Pricing (GetProducts) and EC2 (DescribeSpotPriceHistory)
 * on a loopback port, for test_awsprice and the integration helper helper_fake_aws (static
 * functions: each binary includes it once).
 *
 * It checks every request as AWS would before answering: POST /, the Authorization header
 * recomputed from the received method, host, headers and body with the secret key below
 * (the SigV4 signature must verify, with the credential scope, the signed-header list and
 * X-Amz-Date consistent and within AWS's 15-minute skew), X-Amz-Target and Content-Type for
 * Pricing, Action, Version, ProductDescription.1, StartTime and MaxResults for EC2,
 * Karpenter's GetProducts filters for fa->price_region, and records the NextToken of each
 * request. A request that fails a check is answered as AWS answers a bad signature (403
 * SignatureDoesNotMatch) and the failure is appended to fa->problems. Otherwise it answers
 * with the script fa->steps (request i gets step i, the last step repeats): a status and a
 * fixture under tests/fixtures/cost/aws/ or a literal body. */
#ifndef KS_TEST_FAKE_AWS_H
#define KS_TEST_FAKE_AWS_H

#include <microhttpd.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "testutil.h"

#include "base/json.h"
#include "base/timeutil.h"
#include "cost/sigv4.h"

/* The credentials the stand-in accepts. */
#define AKID "AKIDEXAMPLEKSWARM01"
#define SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYzzSECRETzz"
#define SESSION "FwoGZXIvYXdzEBkaDEXAMPLESESSIONTOKEN=="

/* ---- the stand-in ---- */

struct fake_aws_step {
	unsigned status;
	const char *fixture;       /* under cost/aws/, or */
	const char *body;          /* a literal body */
	const char *error_type;    /* an x-amzn-ErrorType header, or NULL */
};

struct fake_aws {
	const char *service; /* "pricing" or "ec2" */
	const char *region;  /* the signing region expected */
	const char *price_region; /* the regionCode filter expected; NULL: us-east-1 */
	const struct fake_aws_step *steps;
	int nsteps;
	struct MHD_Daemon *d;
	int port;
	int requests;
	char problems[4096];
	char tokens[8][256]; /* the NextToken of each request, "" when none */
};

struct fake_aws_upload {
	struct ks_buf body;
};

static void problem(struct fake_aws *fa, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
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
		{"regionCode", NULL}, {"serviceCode", "AmazonEC2"},
		{"preInstalledSw", "NA"}, {"operatingSystem", "Linux"},
		{"capacitystatus", "Used"}, {"marketoption", "OnDemand"},
		{"tenancy", "Shared"}, {"productFamily", "Compute Instance"},
	};
	const cJSON *filters = ks_json_child(j, "Filters"), *f;
	if (ks_json_len(filters) != 8)
		problem(fa, "%d filters, want 8", ks_json_len(filters));
	for (size_t i = 0; i < 8; i++) {
		const char *value = want[i][1] ? want[i][1]
				    : fa->price_region ? fa->price_region : "us-east-1";
		bool found = false;
		cJSON_ArrayForEach(f, filters)
			found |= !strcmp(ks_json_str_or(f, "Type", ""), "TERM_MATCH") &&
				 !strcmp(ks_json_str_or(f, "Field", ""), want[i][0]) &&
				 !strcmp(ks_json_str_or(f, "Value", ""), value);
		if (!found)
			problem(fa, "no TERM_MATCH filter %s=%s", want[i][0], value);
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
	struct fake_aws_upload *u = *con_cls;
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
		text = ks_strdup(ec2 ? "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
				       "<Response><Errors>"
				       "<Error><Code>SignatureDoesNotMatch</Code><Message>The "
				       "request signature we calculated does not match the "
				       "signature you provided.</Message></Error></Errors>"
				       "<RequestID>0</RequestID></Response>"
				     : "{\"__type\":\"SignatureDoesNotMatch\",\"message\":\"The "
				       "request signature we calculated does not match the "
				       "signature you provided.\"}");
	} else {
		const struct fake_aws_step *s = &fa->steps[i];
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
	struct fake_aws_upload *u = *con_cls;
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

#endif
