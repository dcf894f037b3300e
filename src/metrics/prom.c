/* prom.c — the Prometheus HTTP API client and response parser (see prom.h).
 *
 * Parsing walks the cJSON tree once: status, then data.resultType, then each result entry
 * into a prom_series whose label and sample arrays are sized from the JSON arrays up front.
 * Anything not of the documented shape is an error naming the entry and the field, so a
 * proxy's HTML page or a truncated body never reads as "no data". */
#include "base/common.h"
#include "base/curlopt.h"
#include "metrics/prom.h"

#include "base/json.h"

#include <curl/curl.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

struct prom_client {
	CURL *curl;
	char *url; /* without trailing '/' */
	long timeout_ms;
	size_t max_response;
};

const char *prom_series_label(const struct prom_series *s, const char *name)
{
	for (size_t i = 0; i < s->nlabels; i++)
		if (strcmp(s->labels[i].name, name) == 0)
			return s->labels[i].value;
	return NULL;
}

void prom_result_free(struct prom_result *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nseries; i++) {
		struct prom_series *s = &r->series[i];
		for (size_t j = 0; j < s->nlabels; j++) {
			free(s->labels[j].name);
			free(s->labels[j].value);
		}
		free(s->labels);
		free(s->samples);
	}
	free(r->series);
	*r = (struct prom_result){0};
}

/* Prometheus formats values with strconv.FormatFloat(v, 'f', -1, 64), and special values as
 * "NaN", "+Inf", "-Inf". strtod accepts those and more ("inf", hex); we take what it takes,
 * all of the string, nothing empty. */
static bool parse_value(const char *s, double *out)
{
	if (!s || !s[0] || strlen(s) > 64)
		return false;
	char *end = NULL;
	double v = strtod(s, &end);
	if (!end || *end)
		return false;
	*out = v;
	return true;
}

/* [ts, "v"] */
static int parse_pair(const cJSON *pair, struct prom_sample *out, const char *where,
		      struct ks_err *err)
{
	if (!cJSON_IsArray(pair) || cJSON_GetArraySize(pair) != 2)
		return ks_err_set(err, KS_EINVAL,
				  "prometheus: %s: a sample is not [time, \"value\"]", where);
	const cJSON *t = pair->child, *v = t->next;
	if (!cJSON_IsNumber(t) || !isfinite(t->valuedouble))
		return ks_err_set(err, KS_EINVAL, "prometheus: %s: sample time is not a number",
				  where);
	if (!cJSON_IsString(v) || !parse_value(v->valuestring, &out->v))
		return ks_err_set(err, KS_EINVAL,
				  "prometheus: %s: sample value %s is not a number string", where,
				  cJSON_IsString(v) ? v->valuestring : "(not a string)");
	out->t = t->valuedouble;
	return 0;
}

static int parse_labels(const cJSON *metric, struct prom_series *s, const char *where,
			struct ks_err *err)
{
	if (!metric)
		return 0; /* Prometheus always sends "metric", but {} and absent mean the same */
	if (!cJSON_IsObject(metric))
		return ks_err_set(err, KS_EINVAL, "prometheus: %s: \"metric\" is not an object",
				  where);
	size_t n = (size_t)cJSON_GetArraySize(metric);
	s->labels = n ? ks_calloc(n, sizeof(*s->labels)) : NULL;
	for (const cJSON *l = metric->child; l; l = l->next) {
		if (!cJSON_IsString(l) || !l->string)
			return ks_err_set(err, KS_EINVAL,
					  "prometheus: %s: label %s is not a string", where,
					  l->string ? l->string : "?");
		s->labels[s->nlabels].name = ks_strdup(l->string);
		s->labels[s->nlabels].value = ks_strdup(l->valuestring);
		s->nlabels++;
	}
	return 0;
}

static int parse_series(const cJSON *e, enum prom_result_type type, size_t idx,
			struct prom_series *s, struct ks_err *err)
{
	char where[48];
	snprintf(where, sizeof(where), "result[%zu]", idx);
	if (!cJSON_IsObject(e))
		return ks_err_set(err, KS_EINVAL, "prometheus: %s is not an object", where);
	int rc = parse_labels(ks_json_child(e, "metric"), s, where, err);
	if (rc)
		return rc;
	if (type == PROM_VECTOR) {
		const cJSON *v = ks_json_child(e, "value");
		if (!v)
			return ks_err_set(err, KS_EINVAL, "prometheus: %s has no \"value\"", where);
		s->samples = ks_calloc(1, sizeof(*s->samples));
		s->nsamples = 1;
		return parse_pair(v, &s->samples[0], where, err);
	}
	const cJSON *vs = ks_json_child(e, "values");
	if (!cJSON_IsArray(vs))
		return ks_err_set(err, KS_EINVAL, "prometheus: %s has no \"values\" array", where);
	size_t n = (size_t)cJSON_GetArraySize(vs);
	s->samples = n ? ks_calloc(n, sizeof(*s->samples)) : NULL;
	for (const cJSON *p = vs->child; p; p = p->next) {
		rc = parse_pair(p, &s->samples[s->nsamples], where, err);
		if (rc)
			return rc;
		s->nsamples++;
	}
	return 0;
}

static int parse_tree(const cJSON *root, struct prom_result *out, struct ks_err *err)
{
	if (!cJSON_IsObject(root))
		return ks_err_set(err, KS_EINVAL, "prometheus: the response is not a JSON object");
	const char *status = ks_json_str(root, "status");
	if (!status)
		return ks_err_set(err, KS_EINVAL, "prometheus: the response has no \"status\"");
	if (strcmp(status, "success") != 0) {
		const char *et = ks_json_str_or(root, "errorType", "unknown");
		const char *msg = ks_json_str_or(root, "error", "(no error text)");
		return ks_err_set(err, KS_EINVAL, "prometheus: %s: %s", et, msg);
	}
	const cJSON *w = ks_json_child(root, "warnings");
	out->nwarnings = cJSON_IsArray(w) ? (size_t)cJSON_GetArraySize(w) : 0;
	const char *rt = ks_json_str(root, "data.resultType");
	const cJSON *res = ks_json_get(root, "data.result");
	if (!rt || !res)
		return ks_err_set(err, KS_EINVAL,
				  "prometheus: the response has no data.resultType or data.result");
	if (strcmp(rt, "scalar") == 0) {
		out->type = PROM_SCALAR;
		out->series = ks_calloc(1, sizeof(*out->series));
		out->nseries = 1;
		out->series[0].samples = ks_calloc(1, sizeof(struct prom_sample));
		out->series[0].nsamples = 1;
		return parse_pair(res, &out->series[0].samples[0], "scalar result", err);
	}
	if (strcmp(rt, "vector") == 0)
		out->type = PROM_VECTOR;
	else if (strcmp(rt, "matrix") == 0)
		out->type = PROM_MATRIX;
	else
		return ks_err_set(err, KS_EINVAL, "prometheus: result type '%s' is not supported",
				  rt);
	if (!cJSON_IsArray(res))
		return ks_err_set(err, KS_EINVAL, "prometheus: data.result is not an array");
	size_t n = (size_t)cJSON_GetArraySize(res);
	out->series = n ? ks_calloc(n, sizeof(*out->series)) : NULL;
	size_t i = 0;
	for (const cJSON *e = res->child; e; e = e->next, i++) {
		out->nseries = i + 1; /* so a failure frees what the entry allocated */
		int rc = parse_series(e, out->type, i, &out->series[i], err);
		if (rc)
			return rc;
	}
	return 0;
}

int prom_parse_response(const char *body, size_t len, size_t max, struct prom_result *out,
			struct ks_err *err)
{
	*out = (struct prom_result){0};
	if (!max)
		max = PROM_MAX_RESPONSE;
	struct ks_err jerr = {0};
	cJSON *root = ks_json_parse(body, len, max, &jerr);
	if (!root)
		return ks_err_set(err, jerr.code, "prometheus: %s", jerr.msg);
	int rc = parse_tree(root, out, err);
	cJSON_Delete(root);
	if (rc)
		prom_result_free(out);
	return rc;
}

/* ---- the client ---- */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

int prom_client_new(const struct prom_client_opts *o, struct prom_client **out,
		    struct ks_err *err)
{
	*out = NULL;
	if (!o || !o->url || !o->url[0])
		return ks_err_set(err, KS_EINVAL, "prometheus: no URL");
	if (strncmp(o->url, "http://", 7) != 0 && strncmp(o->url, "https://", 8) != 0)
		return ks_err_set(err, KS_EINVAL, "prometheus: URL '%s' is not http:// or https://",
				  o->url);
	pthread_once(&curl_once, curl_init_once);
	struct prom_client *c = ks_calloc(1, sizeof(*c));
	c->curl = curl_easy_init();
	if (!c->curl) {
		free(c);
		return ks_err_set(err, KS_EIO, "prometheus: cannot create a libcurl handle");
	}
	c->url = ks_strdup(o->url);
	size_t n = strlen(c->url);
	while (n > 0 && c->url[n - 1] == '/')
		c->url[--n] = 0;
	c->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : PROM_DEFAULT_TIMEOUT_MS;
	c->max_response = o->max_response ? o->max_response : PROM_MAX_RESPONSE;
	*out = c;
	return 0;
}

void prom_client_free(struct prom_client *c)
{
	if (!c)
		return;
	curl_easy_cleanup(c->curl);
	free(c->url);
	free(c);
}

const char *prom_client_url(const struct prom_client *c)
{
	return c->url;
}

static size_t on_body(char *p, size_t size, size_t nmemb, void *ctx)
{
	size_t n = size * nmemb;
	return ks_buf_append(ctx, p, n) == 0 ? n : 0;
}

/* POST form to c->url + path; parse the body whatever the status (Prometheus explains its
 * 4xx/5xx in the same JSON shape), and fall back to the status and the body's start. */
static int post(struct prom_client *c, const char *path, const char *form,
		struct prom_result *out, struct ks_err *err)
{
	*out = (struct prom_result){0};
	struct ks_buf resp;
	ks_buf_init(&resp, c->max_response);
	char *url = ks_asprintf("%s%s", c->url, path);
	struct curl_slist *h = curl_slist_append(NULL, "Accept: application/json");
	h = curl_slist_append(h, "Expect:");
	CURL *e = c->curl;
	curl_easy_reset(e);
	char ebuf[CURL_ERROR_SIZE];
	ks_curl_defaults(e, url, c->timeout_ms, ebuf);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, form);
	curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(form));
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, &resp);
	CURLcode cc = curl_easy_perform(e);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(h);

	int rc = 0;
	long status = 0;
	if (cc == CURLE_WRITE_ERROR) {
		rc = ks_err_set(err, KS_ETOOBIG, "prometheus %s: response larger than %zu bytes",
				url, c->max_response);
	} else if (cc == CURLE_OPERATION_TIMEDOUT) {
		rc = ks_err_set(err, KS_ETIMEOUT, "prometheus %s: timed out after %ld ms", url,
				c->timeout_ms);
	} else if (cc != CURLE_OK) {
		rc = ks_err_set(err, KS_ENET, "prometheus %s: %s", url,
				ebuf[0] ? ebuf : curl_easy_strerror(cc));
	} else {
		curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
		struct ks_err perr = {0};
		cJSON *root = ks_json_parse(resp.data, resp.len, c->max_response, &perr);
		if (root && ks_json_str(root, "status")) {
			/* Prometheus' own answer, success or its error text, any status. */
			rc = parse_tree(root, out, &perr);
			if (rc)
				prom_result_free(out);
			if (rc == 0 && status != 200) {
				prom_result_free(out);
				rc = ks_err_set(err, KS_EHTTP, "prometheus %s: HTTP %ld", url,
						status);
			} else if (rc) {
				rc = ks_err_set(err, status >= 500 ? KS_EHTTP : KS_EINVAL,
						"prometheus %s: HTTP %ld: %s", url, status,
						perr.msg + strlen("prometheus: "));
			}
		} else {
			char head[121];
			snprintf(head, sizeof(head), "%s", resp.data);
			for (char *p = head; *p; p++)
				if ((unsigned char)*p < 0x20)
					*p = ' ';
			rc = ks_err_set(
				err, status == 200 ? KS_EINVAL : KS_EHTTP,
				"prometheus %s: HTTP %ld: not a Prometheus API response (%s): %s",
				url, status, root ? "no \"status\"" : perr.msg, head);
		}
		cJSON_Delete(root);
		if (err && rc)
			err->http_status = (int)status;
	}
	free(url);
	ks_buf_release(&resp);
	return rc;
}

static void form_param(struct ks_buf *b, const char *name, const char *value)
{
	if (b->len)
		ks_buf_appendc(b, '&');
	ks_buf_appendstr(b, name);
	ks_buf_appendc(b, '=');
	ks_buf_append_urlenc(b, value);
}

static void form_time(struct ks_buf *b, const char *name, double t)
{
	char v[48];
	snprintf(v, sizeof(v), "%.3f", t);
	form_param(b, name, v);
}

int prom_query(struct prom_client *c, const char *query, double at, struct prom_result *out,
	       struct ks_err *err)
{
	*out = (struct prom_result){0};
	if (!query || !query[0])
		return ks_err_set(err, KS_EINVAL, "prometheus: empty query");
	struct ks_buf form;
	ks_buf_init(&form, KS_BUF_UNLIMITED);
	form_param(&form, "query", query);
	if (at > 0)
		form_time(&form, "time", at);
	int rc = post(c, "/api/v1/query", form.data, out, err);
	ks_buf_release(&form);
	return rc;
}

int prom_query_range(struct prom_client *c, const char *query, double start, double end,
		     double step, struct prom_result *out, struct ks_err *err)
{
	*out = (struct prom_result){0};
	if (!query || !query[0])
		return ks_err_set(err, KS_EINVAL, "prometheus: empty query");
	if (!(step > 0) || !(end >= start) || !isfinite(start) || !isfinite(end))
		return ks_err_set(err, KS_EINVAL,
				  "prometheus: range [%.3f, %.3f] step %.3f is not valid", start,
				  end, step);
	struct ks_buf form;
	ks_buf_init(&form, KS_BUF_UNLIMITED);
	form_param(&form, "query", query);
	form_time(&form, "start", start);
	form_time(&form, "end", end);
	form_time(&form, "step", step);
	int rc = post(c, "/api/v1/query_range", form.data, out, err);
	ks_buf_release(&form);
	return rc;
}

int prom_time_scale(struct prom_client *c, double at, double *scale, struct ks_err *err)
{
	*scale = 1;
	struct prom_result r;
	int rc = prom_query(c, PROM_TIME_SCALE_QUERY, at, &r, err);
	if (rc)
		return rc;
	if (r.nseries == 1 && r.series[0].nsamples == 1) {
		double v = r.series[0].samples[0].v;
		if (isfinite(v) && v > PROM_TIME_SCALE_MIN)
			*scale = v;
	}
	prom_result_free(&r);
	return 0;
}
