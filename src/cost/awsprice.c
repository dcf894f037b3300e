/* awsprice.c — the live AWS price client (see awsprice.h; docs/PRICING.md has the wire format).
 *
 * Layers, bottom up:
 *  1. http_post: one POST with libcurl (timeout, no redirects, http/https only, a response
 *     ceiling of AWS_MAX_RESPONSE, the x-amzn-ErrorType header kept);
 *  2. aws_call: sign (cost_sigv4_sign, afresh for every attempt: X-Amz-Date moves), post, and
 *     on a non-200 answer read AWS's error code and message (JSON 1.1 "__type"/"message", or
 *     EC2's <Response><Errors><Error><Code/><Message/>) and retry what is throttling, after
 *     retry_base_ms, then twice that, ... (at most max_retries times);
 *  3. the two fetches, each a paging loop:
 *
 *        FIRST --request(no token)--> PAGE --token empty/absent--> COMMIT --> done
 *                                      |  \--token T (new)--> request(T) --> PAGE
 *                                      \--error / page max_pages+1 / T repeated--> FAIL
 *
 *     Each page is parsed as it arrives into an import in progress (on-demand: the offer
 *     importer's struct offer_import, fed one PriceList document at a time by
 *     cost__offer_add_document; spot: a map "type" -> latest price per zone, fed by
 *     cost__spot_take), so memory is one response plus the prices; COMMIT
 *     (cost__offer_commit, cost__spot_commit) is the only write to the price table, so a
 *     failure at any page leaves it as it was.
 * The XML of DescribeSpotPriceHistory and of EC2 errors is read with expat as a stream of
 * elements (namespaces split off; a DOCTYPE, and so any entity declaration, is refused).
 *
 * Ownership: everything allocated here is freed before returning, but *next_token of the page
 * importers. */
#include "base/common.h"
#include "base/curlopt.h"

#include "cost/awsprice.h"

#include "base/hashmap.h"
#include "base/json.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "cost/pricing.h"
#include "cost/pricing_internal.h"

#include <curl/curl.h>
#include <expat.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define AWS_HOST_MAX 256
#define AWS_CODE_MAX 64
#define AWS_MESSAGE_MAX 400
#define XML_TEXT_MAX 4096
#define XML_MAX_DEPTH 32
#define XML_NAME_MAX 48

/* ---- credentials ---- */

int aws_credentials_from_env(struct cost_sigv4_credentials *c, struct ks_err *err)
{
	const char *id = getenv("AWS_ACCESS_KEY_ID"), *secret = getenv("AWS_SECRET_ACCESS_KEY");
	const char *token = getenv("AWS_SESSION_TOKEN");
	*c = (struct cost_sigv4_credentials){0};
	bool no_id = !id || !id[0], no_secret = !secret || !secret[0];
	if (no_id || no_secret)
		return ks_err_set(err, KS_EAUTH, "no AWS credentials: %s%s%s not set (the "
				  "environment's AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and "
				  "optional AWS_SESSION_TOKEN are used)",
				  no_id ? "AWS_ACCESS_KEY_ID" : "",
				  no_id && no_secret ? " and " : "",
				  no_secret ? "AWS_SECRET_ACCESS_KEY" : "");
	*c = (struct cost_sigv4_credentials){
		.access_key_id = id,
		.secret_access_key = secret,
		.session_token = token && token[0] ? token : NULL,
	};
	return 0;
}

/* ---- one call: endpoint, signing, HTTP, errors, retries ---- */

struct aws_call {
	const struct aws_opts *o;
	const char *label;        /* "GetProducts us-east-1": the start of every message */
	char url[1024];
	char host[AWS_HOST_MAX];  /* what Host carries and what is signed */
	char path[512];
	const char *service;      /* "pricing", "ec2" */
	const char *sign_region;
	const char *content_type;
	const char *target;       /* X-Amz-Target, or NULL */
	bool xml_errors;          /* EC2: errors are XML; Pricing: JSON */
};

static bool region_ok(const char *r)
{
	if (!r || !r[0] || strlen(r) > 31)
		return false;
	for (const char *s = r; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-'))
			return false;
	return true;
}

/* Split url ("http(s)://HOST[:PORT][/PATH]") into c's host and path. */
static int set_endpoint(struct aws_call *c, const char *url, struct ks_err *err)
{
	const char *rest;
	if (!strncmp(url, "https://", 8))
		rest = url + 8;
	else if (!strncmp(url, "http://", 7))
		rest = url + 7;
	else
		return ks_err_set(err, KS_EINVAL, "%s: endpoint '%s' is not an http:// or "
				  "https:// URL", c->label, url);
	size_t hl = strcspn(rest, "/");
	const char *path = rest + hl;
	if (hl == 0 || hl >= sizeof c->host || strlen(url) >= sizeof c->url ||
	    strlen(path) >= sizeof c->path || strpbrk(url, "@?#% \t\r\n") ||
	    memchr(rest, '\\', strlen(rest)))
		return ks_err_set(err, KS_EINVAL, "%s: endpoint '%s': want http(s)://HOST[:PORT]"
				  "[/PATH] without user, query, fragment or escapes", c->label,
				  url);
	snprintf(c->host, sizeof c->host, "%.*s", (int)hl, rest);
	snprintf(c->path, sizeof c->path, "%s", path[0] ? path : "/");
	snprintf(c->url, sizeof c->url, "%s", url);
	return 0;
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

struct http_response {
	long status;
	struct ks_buf body;
	char error_type[AWS_CODE_MAX * 2]; /* x-amzn-ErrorType */
};

static size_t on_body(char *p, size_t size, size_t nmemb, void *ctx)
{
	size_t n = size * nmemb;
	return ks_buf_append(ctx, p, n) == 0 ? n : 0;
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *ctx)
{
	struct http_response *r = ctx;
	size_t n = size * nmemb;
	static const char name[] = "x-amzn-errortype:";
	if (n > sizeof name - 1 && !strncasecmp(p, name, sizeof name - 1)) {
		const char *v = p + sizeof name - 1;
		size_t vl = n - (sizeof name - 1);
		while (vl && (*v == ' ' || *v == '\t'))
			v++, vl--;
		while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' '))
			vl--;
		snprintf(r->error_type, sizeof r->error_type, "%.*s", (int)vl, v);
	}
	return n;
}

/* POST body to c->url with headers; r->body is filled whatever the status. */
static int http_post(const struct aws_call *c, struct curl_slist *headers, const char *body,
		     size_t len, struct http_response *r, struct ks_err *err)
{
	pthread_once(&curl_once, curl_init_once);
	CURL *e = curl_easy_init();
	if (!e)
		return ks_err_set(err, KS_EIO, "%s: cannot create a libcurl handle", c->label);
	long timeout = c->o->timeout_ms > 0 ? c->o->timeout_ms : AWS_DEFAULT_TIMEOUT_MS;
	char ebuf[CURL_ERROR_SIZE];
	ks_curl_defaults(e, c->url, timeout, ebuf);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, &r->body);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
	CURLcode cc = curl_easy_perform(e);
	int rc = 0;
	if (cc == CURLE_WRITE_ERROR)
		rc = ks_err_set(err, KS_ETOOBIG, "%s: %s: response larger than %zu bytes",
				c->label, c->url, AWS_MAX_RESPONSE);
	else if (cc == CURLE_OPERATION_TIMEDOUT)
		rc = ks_err_set(err, KS_ETIMEOUT, "%s: %s: timed out after %ld ms", c->label,
				c->url, timeout);
	else if (cc != CURLE_OK)
		rc = ks_err_set(err, KS_ENET, "%s: %s: %s", c->label, c->url,
				ebuf[0] ? ebuf : curl_easy_strerror(cc));
	else
		curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &r->status);
	curl_easy_cleanup(e);
	return rc;
}

/* Copy s into out with control characters as spaces, cut at outlen. */
static void printable(char *out, size_t outlen, const char *s, size_t len)
{
	size_t n = len < outlen - 1 ? len : outlen - 1;
	for (size_t i = 0; i < n; i++)
		out[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? ' ' : s[i];
	out[n] = '\0';
}

/* AWS JSON 1.1 error: the code from x-amzn-ErrorType or "__type" (or "code"), without a
 * "prefix#" or a ":suffix"; the message from "message" or "Message". */
static void json_error(const struct http_response *r, char code[AWS_CODE_MAX],
		       char msg[AWS_MESSAGE_MAX])
{
	struct ks_err perr = {0};
	cJSON *j = ks_json_parse(r->body.data ? r->body.data : "", r->body.len, AWS_MAX_RESPONSE,
				 &perr);
	const char *t = r->error_type[0] ? r->error_type : NULL;
	if (!t)
		t = ks_json_str(j, "__type");
	if (!t)
		t = ks_json_str(j, "code");
	if (t) {
		const char *hash = strrchr(t, '#');
		if (hash)
			t = hash + 1;
		printable(code, AWS_CODE_MAX, t, strcspn(t, ":"));
	}
	const char *m = ks_json_str(j, "message");
	if (!m)
		m = ks_json_str(j, "Message");
	if (m)
		printable(msg, AWS_MESSAGE_MAX, m, strlen(m));
	cJSON_Delete(j);
}

static bool throttled(const char *code, long status)
{
	static const char *const codes[] = {
		"ThrottlingException", "Throttling", "RequestLimitExceeded",
		"TooManyRequestsException", "RequestThrottled", "RequestThrottledException",
		"ProvisionedThroughputExceededException", "SlowDown",
	};
	for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
		if (!strcmp(code, codes[i]))
			return true;
	return status == 429 || status == 503;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts))
		;
}

struct xml_doc;
static void xml_error_of(const char *body, size_t len, char code[AWS_CODE_MAX],
			 char msg[AWS_MESSAGE_MAX]);

static struct curl_slist *add_header(struct curl_slist *h, const char *name, const char *value)
{
	char *line = ks_asprintf("%s: %s", name, value);
	struct curl_slist *n = curl_slist_append(h, line);
	free(line);
	if (!n)
		abort();
	return n;
}

/* One signed POST; r->body holds a 200 answer. */
static int sign_and_post(const struct aws_call *c, const char *body, size_t len,
			 struct http_response *r, struct ks_err *err)
{
	const struct aws_opts *o = c->o;
	struct cost_sigv4_pair hdrs[2] = {{"Content-Type", c->content_type}};
	size_t nh = 1;
	if (c->target)
		hdrs[nh++] = (struct cost_sigv4_pair){"X-Amz-Target", c->target};
	struct cost_sigv4_request req = {
		.method = "POST", .host = c->host, .path = c->path, .headers = hdrs,
		.n_headers = nh, .payload = body, .payload_len = len,
	};
	struct cost_sigv4_scope scope = {
		.region = c->sign_region, .service = c->service,
		.unix_s = o->now_s ? o->now_s : (int64_t)time(NULL),
	};
	struct cost_sigv4_signed s = {0};
	struct ks_err serr = {0};
	if (cost_sigv4_sign(&req, &o->creds, &scope, &s, &serr))
		return ks_err_set(err, serr.code, "%s: signing: %s", c->label, serr.msg);
	struct curl_slist *h = add_header(NULL, "Host", c->host);
	h = add_header(h, "Content-Type", c->content_type);
	if (c->target)
		h = add_header(h, "X-Amz-Target", c->target);
	h = add_header(h, "X-Amz-Date", s.amz_date);
	if (o->creds.session_token && o->creds.session_token[0])
		h = add_header(h, "X-Amz-Security-Token", o->creds.session_token);
	h = add_header(h, "Authorization", s.authorization);
	h = curl_slist_append(h, "Expect:");
	cost_sigv4_signed_release(&s);
	int rc = http_post(c, h, body, len, r, err);
	curl_slist_free_all(h);
	return rc;
}

/* POST body, signed, retrying throttled attempts; 0 with resp holding the 200 answer. */
static int aws_call(const struct aws_call *c, const char *body, struct ks_buf *resp,
		    struct ks_err *err)
{
	const struct aws_opts *o = c->o;
	int retries = o->max_retries == 0 ? AWS_DEFAULT_RETRIES
					  : (o->max_retries < 0 ? 0 : o->max_retries);
	long wait = o->retry_base_ms > 0 ? o->retry_base_ms : AWS_DEFAULT_RETRY_BASE_MS;
	for (int attempt = 0;; attempt++) {
		struct http_response r = {0};
		ks_buf_init(&r.body, AWS_MAX_RESPONSE);
		int rc = sign_and_post(c, body, strlen(body), &r, err);
		if (!rc && r.status == 200) {
			ks_buf_release(resp);
			*resp = r.body;
			return 0;
		}
		if (rc) {
			ks_buf_release(&r.body);
			return rc;
		}
		char code[AWS_CODE_MAX] = "", msg[AWS_MESSAGE_MAX] = "";
		if (c->xml_errors)
			xml_error_of(r.body.data, r.body.len, code, msg);
		else
			json_error(&r, code, msg);
		if (!code[0] && !msg[0])
			printable(msg, 121, r.body.data ? r.body.data : "", r.body.len);
		ks_buf_release(&r.body);
		if (throttled(code, r.status) && attempt < retries) {
			KS_INFO("aws", "%s: HTTP %ld %s: retrying in %ld ms (%d of %d)", c->label,
				r.status, code[0] ? code : "(no code)", wait, attempt + 1, retries);
			sleep_ms(wait);
			wait = wait * 2 > 20000 ? 20000 : wait * 2;
			continue;
		}
		int kc = r.status == 401 || r.status == 403 ? KS_EFORBIDDEN
			 : r.status == 404		 ? KS_ENOTFOUND
						      : KS_EHTTP;
		rc = ks_err_set(err, kc, "%s: HTTP %ld %s: %s%s", c->label, r.status,
				code[0] ? code : "(no error code)", msg[0] ? msg : "(no message)",
				throttled(code, r.status) ? " (still throttled after retries)"
							  : "");
		if (err) {
			err->http_status = (int)r.status;
			snprintf(err->reason, sizeof err->reason, "%s", code);
		}
		return rc;
	}
}

/* Never let the secret key out in a message, whatever an endpoint echoed back. */
static void redact(struct ks_err *err, const char *secret)
{
	if (!err || !secret || strlen(secret) < 4)
		return;
	char *at;
	while ((at = strstr(err->msg, secret))) {
		static const char mark[] = "[redacted]";
		size_t sl = strlen(secret), rest = strlen(at + sl);
		size_t ml = sl < sizeof mark - 1 ? sl : sizeof mark - 1;
		memcpy(at, mark, ml);
		memmove(at + ml, at + sl, rest + 1);
	}
}

/* ---- GetProducts ---- */

static const struct cost_sigv4_pair karpenter_filters[] = {
	{"serviceCode", "AmazonEC2"},     {"preInstalledSw", "NA"},
	{"operatingSystem", "Linux"},     {"capacitystatus", "Used"},
	{"marketoption", "OnDemand"},     {"tenancy", "Shared"},
	{"productFamily", "Compute Instance"},
};

static void filter_json(struct ks_buf *b, const char *field, const char *value)
{
	ks_buf_appendf(b, "%s{\"Type\":\"TERM_MATCH\",\"Field\":", b->data[b->len - 1] == '['
							     ? "" : ",");
	ks_buf_append_json_string(b, field);
	ks_buf_append(b, ",\"Value\":", 9);
	ks_buf_append_json_string(b, value);
	ks_buf_appendc(b, '}');
}

static char *getproducts_body(const char *region, const char *token)
{
	struct ks_buf b;
	ks_buf_init(&b, KS_BUF_UNLIMITED);
	ks_buf_appendf(&b, "{\"ServiceCode\":\"AmazonEC2\",\"Filters\":[");
	filter_json(&b, "regionCode", region);
	for (size_t i = 0; i < sizeof karpenter_filters / sizeof karpenter_filters[0]; i++)
		filter_json(&b, karpenter_filters[i].name, karpenter_filters[i].value);
	ks_buf_appendf(&b, "],\"FormatVersion\":\"aws_v1\",\"MaxResults\":%d",
		       AWS_PRICING_PAGE_SIZE);
	if (token) {
		ks_buf_append(&b, ",\"NextToken\":", 13);
		ks_buf_append_json_string(&b, token);
	}
	ks_buf_appendc(&b, '}');
	return ks_buf_detach(&b);
}

/* Parse one GetProducts page into im; *next: the NextToken (NULL when none). *index counts
 * the documents across pages. */
static int getproducts_page(struct offer_import *im, const char *label, const char *body,
			    size_t len, uint64_t *index, char **next, struct ks_err *err)
{
	*next = NULL;
	struct ks_err perr = {0};
	cJSON *j = ks_json_parse(body, len, AWS_MAX_RESPONSE, &perr);
	if (!j)
		return ks_err_set(err, perr.code ? perr.code : KS_EINVAL,
				  "%s: not a GetProducts response: %s", label, perr.msg);
	int rc = 0;
	const cJSON *list = ks_json_child(j, "PriceList"), *it;
	const cJSON *tok = ks_json_child(j, "NextToken");
	const char *fv = ks_json_str(j, "FormatVersion");
	if (!cJSON_IsObject(j) || !cJSON_IsArray(list))
		rc = ks_err_set(err, KS_EINVAL, "%s: not a GetProducts response: no \"PriceList\" "
				"array", label);
	else if (fv && strcmp(fv, "aws_v1"))
		rc = ks_err_set(err, KS_EINVAL, "%s: FormatVersion '%.40s', want aws_v1", label,
				fv);
	else if (tok && !cJSON_IsNull(tok) && !cJSON_IsString(tok))
		rc = ks_err_set(err, KS_EINVAL, "%s: NextToken is not a string", label);
	if (rc)
		list = NULL;
	cJSON_ArrayForEach(it, list) {
		if (!cJSON_IsString(it)) {
			rc = ks_err_set(err, KS_EINVAL, "%s: PriceList[%llu] is not a string",
					label, (unsigned long long)*index);
			break;
		}
		rc = cost__offer_add_document(im, it->valuestring, strlen(it->valuestring),
					      (*index)++, err);
		if (rc)
			break;
	}
	if (!rc && cJSON_IsString(tok) && tok->valuestring[0])
		*next = ks_strdup(tok->valuestring);
	cJSON_Delete(j);
	return rc;
}

int cost_prices_import_getproducts_page(struct cost_prices *p, const char *name,
					const char *region, const char *body, size_t len,
					char **next_token, struct cost_offer_stats *st,
					struct ks_err *err)
{
	struct offer_import *im = cost__offer_new(name, region);
	uint64_t index = 0;
	char *next = NULL;
	int rc = getproducts_page(im, name, body, len, &index, &next, err);
	if (!rc)
		rc = cost__offer_commit(p, im, st, err);
	cost__offer_free(im);
	if (next_token)
		*next_token = rc ? NULL : next;
	if (!next_token || rc)
		free(next);
	return rc;
}

/* The paging loop shared by both APIs: page(ctx, body, len, &next, err) parses one page. */
typedef char *(*request_fn)(void *ctx, const char *token);
typedef int (*page_fn)(void *ctx, const char *body, size_t len, char **next,
		       struct ks_err *err);

static int page_through(const struct aws_call *c, request_fn request, page_fn page, void *ctx,
			struct ks_err *err)
{
	int max_pages = c->o->max_pages > 0 ? c->o->max_pages : AWS_MAX_PAGES;
	char *token = NULL;
	int rc = 0, n = 0;
	struct ks_buf resp;
	ks_buf_init(&resp, AWS_MAX_RESPONSE);
	for (;;) {
		if (n == max_pages) {
			rc = ks_err_set(err, KS_ETOOBIG, "%s: more than %d pages", c->label,
					max_pages);
			break;
		}
		char *body = request(ctx, token);
		KS_DEBUG("aws", "%s: POST %s page %d", c->label, c->url, n + 1);
		rc = aws_call(c, body, &resp, err);
		free(body);
		if (rc)
			break;
		n++;
		char *next = NULL;
		rc = page(ctx, resp.data ? resp.data : "", resp.len, &next, err);
		ks_buf_release(&resp);
		ks_buf_init(&resp, AWS_MAX_RESPONSE);
		if (!rc && next && token && !strcmp(next, token))
			rc = ks_err_set(err, KS_EINVAL, "%s: page %d repeats the NextToken of "
					"the page before", c->label, n);
		free(token);
		token = next;
		if (rc || !token)
			break;
	}
	free(token);
	ks_buf_release(&resp);
	KS_DEBUG("aws", "%s: %d page%s%s", c->label, n, n == 1 ? "" : "s",
		 rc ? ", failed" : "");
	return rc;
}

struct ondemand_ctx {
	const char *region;
	const char *label;
	struct offer_import *im;
	uint64_t index;
};

static char *ondemand_request(void *ctx, const char *token)
{
	struct ondemand_ctx *x = ctx;
	return getproducts_body(x->region, token);
}

static int ondemand_page(void *ctx, const char *body, size_t len, char **next,
			 struct ks_err *err)
{
	struct ondemand_ctx *x = ctx;
	return getproducts_page(x->im, x->label, body, len, &x->index, next, err);
}

/* The region of an "api.pricing.REGION.amazonaws.com[:PORT]" host into out: true if it is one. */
static bool pricing_host_region(const char *host, char *out, size_t cap)
{
	static const char pre[] = "api.pricing.", suf[] = ".amazonaws.com";
	size_t hl = strcspn(host, ":"), pl = sizeof pre - 1, sl = sizeof suf - 1;
	if (hl <= pl + sl || strncmp(host, pre, pl) || strncmp(host + hl - sl, suf, sl) ||
	    hl - pl - sl >= cap)
		return false;
	snprintf(out, cap, "%.*s", (int)(hl - pl - sl), host + pl);
	return region_ok(out);
}

int cost_prices_fetch_ondemand(struct cost_prices *p, const struct aws_opts *o,
			       struct cost_offer_stats *st, struct ks_err *err)
{
	if (st)
		*st = (struct cost_offer_stats){0};
	const char *pregion = o->pricing_region ? o->pricing_region : "us-east-1";
	if (!region_ok(o->region) || !region_ok(pregion))
		return ks_err_set(err, KS_EINVAL, "GetProducts: bad region '%s'",
				  region_ok(o->region) ? pregion : (o->region ? o->region : ""));
	char label[64];
	snprintf(label, sizeof label, "GetProducts %s", o->region);
	struct aws_call c = {
		.o = o, .label = label, .service = "pricing", .sign_region = pregion,
		.content_type = "application/x-amz-json-1.1",
		.target = "AWSPriceListService.GetProducts",
	};
	char *def = ks_asprintf("https://api.pricing.%s.amazonaws.com/", pregion);
	int rc = set_endpoint(&c, o->pricing_url ? o->pricing_url : def, err);
	free(def);
	if (rc)
		return rc;
	/* an AWS Pricing URL names the region it signs for */
	char url_region[32];
	if (!o->pricing_region && pricing_host_region(c.host, url_region, sizeof url_region))
		c.sign_region = url_region;
	struct ondemand_ctx x = {.region = o->region, .label = label,
				 .im = cost__offer_new(label, o->region)};
	rc = page_through(&c, ondemand_request, ondemand_page, &x, err);
	if (!rc)
		rc = cost__offer_commit(p, x.im, st, err);
	cost__offer_free(x.im);
	redact(err, o->creds.secret_access_key);
	return rc;
}

/* ---- DescribeSpotPriceHistory and EC2 errors: XML ---- */

enum xml_kind { XK_NONE, XK_SPOT, XK_ERROR };

struct xml_doc {
	XML_Parser xp;
	const char *label;
	/* spot entries go here (NULL when only an error document is expected) */
	const struct cost_prices *p;
	struct ks_map *types;
	uint64_t *item_index;
	enum xml_kind kind;
	int depth;
	char names[XML_MAX_DEPTH + 1][XML_NAME_MAX]; /* local names, 1-based */
	bool capturing;
	char text[XML_TEXT_MAX];
	size_t tlen;
	char zone[64], type[64], desc[64], price[64], ts[64];
	char *next_token;
	char code[AWS_CODE_MAX], message[AWS_MESSAGE_MAX];
	int rc;
	struct ks_err *err;
};

static void xml_fail(struct xml_doc *d, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void xml_fail(struct xml_doc *d, int code, const char *fmt, ...)
{
	if (d->rc)
		return;
	char m[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(m, sizeof m, fmt, ap);
	va_end(ap);
	d->rc = ks_err_set(d->err, code, "%s: line %lu: %s", d->label,
			   (unsigned long)XML_GetCurrentLineNumber(d->xp), m);
	XML_StopParser(d->xp, XML_FALSE);
}

static bool at(const struct xml_doc *d, int depth, const char *name)
{
	return d->depth == depth && !strcmp(d->names[depth], name);
}

static void XMLCALL xml_start(void *ud, const XML_Char *name, const XML_Char **attrs)
{
	struct xml_doc *d = ud;
	const char *sp = strrchr(name, ' ');
	const char *local = sp ? sp + 1 : name;
	if (d->rc)
		return;
	if (d->depth == XML_MAX_DEPTH) {
		xml_fail(d, KS_EINVAL, "elements nested deeper than %d", XML_MAX_DEPTH);
		return;
	}
	d->depth++;
	snprintf(d->names[d->depth], XML_NAME_MAX, "%s", local);
	if (d->depth == 1) {
		if (!strcmp(local, "DescribeSpotPriceHistoryResponse") && sp &&
		    !strncmp(name, "http://ec2.amazonaws.com/doc/", 29))
			d->kind = XK_SPOT;
		else if (!strcmp(local, "Response") && !sp)
			d->kind = XK_ERROR;
		else
			xml_fail(d, KS_EINVAL, "root element <%.60s> is not "
				 "DescribeSpotPriceHistoryResponse (ec2.amazonaws.com) nor an "
				 "EC2 error <Response>", local);
		return;
	}
	if (d->kind == XK_SPOT && d->depth == 3 && !strcmp(d->names[2], "spotPriceHistorySet") &&
	    !strcmp(local, "item"))
		d->zone[0] = d->type[0] = d->desc[0] = d->price[0] = d->ts[0] = '\0';
	bool spot_field = d->kind == XK_SPOT && d->depth == 4 &&
			  !strcmp(d->names[2], "spotPriceHistorySet") &&
			  !strcmp(d->names[3], "item");
	bool error_field = d->kind == XK_ERROR && d->depth == 4 &&
			   !strcmp(d->names[2], "Errors") && !strcmp(d->names[3], "Error");
	d->capturing = spot_field || error_field || (d->kind == XK_SPOT && at(d, 2, "nextToken"));
	d->tlen = 0;
}

static void XMLCALL xml_text(void *ud, const XML_Char *s, int len)
{
	struct xml_doc *d = ud;
	if (d->rc || !d->capturing)
		return;
	if (d->tlen + (size_t)len >= sizeof d->text) {
		xml_fail(d, KS_ETOOBIG, "<%s> longer than %d bytes", d->names[d->depth],
			 XML_TEXT_MAX - 1);
		return;
	}
	memcpy(d->text + d->tlen, s, (size_t)len);
	d->tlen += (size_t)len;
	d->text[d->tlen] = '\0';
}

/* The text of a finished field into dst (KS_EINVAL when it does not fit). */
static void keep_field(struct xml_doc *d, char *dst, size_t cap)
{
	if (d->tlen >= cap)
		xml_fail(d, KS_EINVAL, "<%s> is too long", d->names[d->depth]);
	else
		snprintf(dst, cap, "%.*s", (int)d->tlen, d->text);
}

static void spot_item_done(struct xml_doc *d)
{
	uint64_t i = (*d->item_index)++;
	char where[160];
	snprintf(where, sizeof where, "%s: spotPriceHistorySet item %llu", d->label,
		 (unsigned long long)i);
	const char *missing = !d->zone[0]    ? "availabilityZone"
			      : !d->type[0]  ? "instanceType"
			      : !d->desc[0]  ? "productDescription"
			      : !d->price[0] ? "spotPrice"
			      : !d->ts[0]    ? "timestamp"
					     : NULL;
	if (missing) {
		d->rc = ks_err_set(d->err, KS_EINVAL, "%s: no <%s>", where, missing);
		XML_StopParser(d->xp, XML_FALSE);
		return;
	}
	int r = cost__spot_take(d->p, where, d->zone, d->type, d->desc, d->price, d->ts,
				d->types, d->err);
	if (r < 0) {
		d->rc = r;
		XML_StopParser(d->xp, XML_FALSE);
	}
}

static void XMLCALL xml_end(void *ud, const XML_Char *name)
{
	struct xml_doc *d = ud;
	if (d->rc)
		return;
	const char *n = d->names[d->depth];
	if (d->capturing) {
		if (d->kind == XK_ERROR) {
			if (!strcmp(n, "Code") && !d->code[0])
				printable(d->code, sizeof d->code, d->text, d->tlen);
			else if (!strcmp(n, "Message") && !d->message[0])
				printable(d->message, sizeof d->message, d->text, d->tlen);
		} else if (d->depth == 2) {
			free(d->next_token);
			d->next_token = d->tlen ? ks_strndup(d->text, d->tlen) : NULL;
		} else if (!strcmp(n, "availabilityZone")) {
			keep_field(d, d->zone, sizeof d->zone);
		} else if (!strcmp(n, "instanceType")) {
			keep_field(d, d->type, sizeof d->type);
		} else if (!strcmp(n, "productDescription")) {
			keep_field(d, d->desc, sizeof d->desc);
		} else if (!strcmp(n, "spotPrice")) {
			keep_field(d, d->price, sizeof d->price);
		} else if (!strcmp(n, "timestamp")) {
			keep_field(d, d->ts, sizeof d->ts);
		}
		d->capturing = false;
	} else if (d->kind == XK_SPOT && d->depth == 3 && !strcmp(n, "item") &&
		   !strcmp(d->names[2], "spotPriceHistorySet") && d->types) {
		spot_item_done(d);
	}
	d->depth--;
}

static void XMLCALL xml_doctype(void *ud, const XML_Char *name, const XML_Char *sysid,
				const XML_Char *pubid, int has_internal_subset)
{
	xml_fail(ud, KS_EINVAL, "a DOCTYPE is not accepted");
}

/* Parse body as EC2 XML into d (d's label, p, types, item_index, err set by the caller). */
static int xml_parse(struct xml_doc *d, const char *body, size_t len)
{
	if (len > AWS_MAX_RESPONSE)
		return ks_err_set(d->err, KS_ETOOBIG, "%s: larger than %zu bytes", d->label,
				  AWS_MAX_RESPONSE);
	d->xp = XML_ParserCreateNS("UTF-8", ' ');
	if (!d->xp)
		abort();
	XML_SetUserData(d->xp, d);
	XML_SetElementHandler(d->xp, xml_start, xml_end);
	XML_SetCharacterDataHandler(d->xp, xml_text);
	XML_SetStartDoctypeDeclHandler(d->xp, xml_doctype);
	int rc = 0;
	size_t off = 0;
	/* XML_Parse takes an int length: feed large bodies in pieces */
	do {
		size_t n = len - off > ((size_t)1 << 30) ? (size_t)1 << 30 : len - off;
		bool final = off + n == len;
		if (XML_Parse(d->xp, body + off, (int)n, final) == XML_STATUS_ERROR) {
			rc = d->rc ? d->rc
				   : ks_err_set(d->err, KS_EINVAL, "%s: line %lu column %lu: %s",
						d->label,
						(unsigned long)XML_GetCurrentLineNumber(d->xp),
						(unsigned long)XML_GetCurrentColumnNumber(d->xp),
						XML_ErrorString(XML_GetErrorCode(d->xp)));
			break;
		}
		off += n;
	} while (off < len);
	if (!rc && d->rc)
		rc = d->rc;
	XML_ParserFree(d->xp);
	d->xp = NULL;
	return rc;
}

/* An EC2 error document's code and message (left empty when body is not one). */
static void xml_error_of(const char *body, size_t len, char code[AWS_CODE_MAX],
			 char msg[AWS_MESSAGE_MAX])
{
	struct xml_doc *d = ks_calloc(1, sizeof *d);
	d->label = "EC2 error";
	if (body && !xml_parse(d, body, len) && d->kind == XK_ERROR) {
		snprintf(code, AWS_CODE_MAX, "%s", d->code);
		snprintf(msg, AWS_MESSAGE_MAX, "%s", d->message);
	}
	free(d->next_token);
	free(d);
}

/* One DescribeSpotPriceHistory page into types; *next: its nextToken (NULL when none). */
static int spot_page_parse(const struct cost_prices *p, const char *label, const char *body,
			   size_t len, struct ks_map *types, uint64_t *item_index, char **next,
			   struct ks_err *err)
{
	*next = NULL;
	struct xml_doc *d = ks_calloc(1, sizeof *d);
	*d = (struct xml_doc){.label = label, .p = p, .types = types,
			      .item_index = item_index, .err = err};
	int rc = xml_parse(d, body, len);
	if (!rc && d->kind == XK_ERROR)
		rc = ks_err_set(err, KS_EHTTP, "%s: %s: %s", label,
				d->code[0] ? d->code : "(no error code)",
				d->message[0] ? d->message : "(no message)");
	if (!rc)
		*next = d->next_token;
	else
		free(d->next_token);
	free(d);
	return rc;
}

int cost_prices_import_spot_xml_page(struct cost_prices *p, const char *name, const char *body,
				     size_t len, char **next_token, size_t *nset,
				     struct ks_err *err)
{
	if (nset)
		*nset = 0;
	struct ks_map types;
	ks_map_init(&types);
	uint64_t index = 0;
	char *next = NULL;
	int rc = spot_page_parse(p, name, body, len, &types, &index, &next, err);
	if (!rc)
		rc = cost__spot_commit(p, name, &types, nset, err);
	cost__spot_release(&types);
	if (next_token)
		*next_token = rc ? NULL : next;
	if (!next_token || rc)
		free(next);
	return rc;
}

struct spot_ctx {
	const struct cost_prices *p;
	const char *label;
	char start[32];
	struct ks_map types;
	uint64_t index;
};

static char *spot_request(void *ctx, const char *token)
{
	struct spot_ctx *x = ctx;
	struct ks_buf b;
	ks_buf_init(&b, KS_BUF_UNLIMITED);
	ks_buf_appendf(&b, "Action=DescribeSpotPriceHistory&Version=%s"
			   "&ProductDescription.1=Linux%%2FUNIX"
			   "&ProductDescription.2=Linux%%2FUNIX%%20%%28Amazon%%20VPC%%29"
			   "&StartTime=", AWS_EC2_API_VERSION);
	ks_buf_append_urlenc(&b, x->start);
	ks_buf_appendf(&b, "&MaxResults=%d", AWS_SPOT_PAGE_SIZE);
	if (token) {
		ks_buf_append(&b, "&NextToken=", 11);
		ks_buf_append_urlenc(&b, token);
	}
	return ks_buf_detach(&b);
}

static int spot_page(void *ctx, const char *body, size_t len, char **next, struct ks_err *err)
{
	struct spot_ctx *x = ctx;
	return spot_page_parse(x->p, x->label, body, len, &x->types, &x->index, next, err);
}

int cost_prices_fetch_spot(struct cost_prices *p, const struct aws_opts *o, size_t *nset,
			   struct ks_err *err)
{
	if (nset)
		*nset = 0;
	if (!region_ok(o->region))
		return ks_err_set(err, KS_EINVAL, "DescribeSpotPriceHistory: bad region '%s'",
				  o->region ? o->region : "");
	if (strcmp(o->region, cost_prices_region(p)))
		return ks_err_set(err, KS_EINVAL, "DescribeSpotPriceHistory %s: the price table "
				  "is for %s (import that region's on-demand prices first)",
				  o->region, cost_prices_region(p));
	char label[64];
	snprintf(label, sizeof label, "DescribeSpotPriceHistory %s", o->region);
	struct aws_call c = {
		.o = o, .label = label, .service = "ec2", .sign_region = o->region,
		.content_type = "application/x-www-form-urlencoded; charset=utf-8",
		.xml_errors = true,
	};
	char *def = ks_asprintf("https://ec2.%s.amazonaws.com/", o->region);
	int rc = set_endpoint(&c, o->ec2_url ? o->ec2_url : def, err);
	free(def);
	if (rc)
		return rc;
	struct spot_ctx x = {.p = p, .label = label};
	ks_time_format_rfc3339(o->now_s ? o->now_s : (int64_t)time(NULL), x.start,
			       sizeof x.start);
	ks_map_init(&x.types);
	rc = page_through(&c, spot_request, spot_page, &x, err);
	if (!rc)
		rc = cost__spot_commit(p, label, &x.types, nset, err);
	cost__spot_release(&x.types);
	redact(err, o->creds.secret_access_key);
	return rc;
}
