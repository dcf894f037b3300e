/* apiclient.c — see apiclient.h. One curl easy handle per client, reused between calls
 * (keep-alive); the answer is read into a ks_buf with APICLIENT_MAX_RESPONSE as ceiling and
 * parsed with base/json.h. Error answers are the server's {"error":"…","code":N}; anything
 * else (a proxy's HTML page) is reported by status alone. */
#include "base/common.h"
#include "base/buf.h"
#include "base/curlopt.h"
#include "base/fileutil.h"
#include "base/json.h"
#include "base/strutil.h"
#include "server/apiclient.h"

#include <curl/curl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOKEN_MAX 4096

struct apiclient {
	CURL *e;
	char *server; /* without a trailing slash */
	char *auth;   /* "Authorization: Bearer …" or NULL */
	long timeout_ms;
};

int apiclient_new(const struct apiclient_opts *o, struct apiclient **out, struct ks_err *err)
{
	*out = NULL;
	const char *server = o->server && *o->server ? o->server : getenv("KSWARM_SERVER");
	if (!server || !*server)
		server = APICLIENT_DEFAULT_SERVER;
	if (strncmp(server, "http://", 7) && strncmp(server, "https://", 8))
		return ks_err_set(err, KS_EINVAL,
				  "server '%s': expected an http:// or https:// URL", server);
	if (o->token && strpbrk(o->token, "\r\n"))
		return ks_err_set(err, KS_EINVAL, "the token holds a line break");
	CURL *e = curl_easy_init();
	if (!e)
		return ks_err_set(err, KS_EIO, "cannot initialise libcurl");
	struct apiclient *c = ks_calloc(1, sizeof *c);
	c->e = e;
	c->server = ks_strdup(server);
	size_t n = strlen(c->server);
	while (n && c->server[n - 1] == '/')
		c->server[--n] = '\0';
	if (o->token && *o->token)
		c->auth = ks_asprintf("Authorization: Bearer %s", o->token);
	c->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : APICLIENT_TIMEOUT_MS;
	*out = c;
	return 0;
}

void apiclient_free(struct apiclient *c)
{
	if (!c)
		return;
	curl_easy_cleanup(c->e);
	free(c->server);
	if (c->auth) {
		memset(c->auth, 0, strlen(c->auth));
		free(c->auth);
	}
	free(c);
}

const char *apiclient_server(const struct apiclient *c)
{
	return c->server;
}

static size_t on_data(char *p, size_t size, size_t n, void *ud)
{
	struct ks_buf *b = ud;
	return ks_buf_append(b, p, size * n) ? 0 : size * n;
}

static int code_of_status(long status)
{
	switch (status) {
	case 400:
		return KS_EINVAL;
	case 401:
	case 403:
		return KS_EFORBIDDEN;
	case 404:
		return KS_ENOTFOUND;
	case 409:
		return KS_ECONFLICT;
	case 413:
		return KS_ETOOBIG;
	default:
		return KS_EHTTP;
	}
}

/* The error of a non-2xx answer. */
static int status_error(struct apiclient *c, const char *method, const char *path,
			long status, const struct ks_buf *b, struct ks_err *err)
{
	cJSON *j = b->len ? ks_json_parse(b->data, b->len, b->len + 1, NULL) : NULL;
	const char *msg = j ? ks_json_str(j, "error") : NULL;
	int code = code_of_status(status);
	if (status == 401)
		ks_err_set(err, code, "%s %s: %s", method, path,
			   c->auth ? "the daemon rejected the token"
				   : "the daemon wants a bearer token (--token-file or "
				     "$KSWARM_TOKEN)");
	else
		ks_err_set(err, code, "%s %s: %ld%s%s", method, path, status, msg ? ": " : "",
			   msg ? msg : "");
	if (err)
		err->http_status = (int)status;
	cJSON_Delete(j);
	return code;
}

int apiclient_call(struct apiclient *c, const char *method, const char *path,
		   const cJSON *body, cJSON **out, struct ks_err *err)
{
	*out = NULL;
	char *url = ks_asprintf("%s%s", c->server, path);
	char errbuf[CURL_ERROR_SIZE];
	struct ks_buf b;
	ks_buf_init(&b, APICLIENT_MAX_RESPONSE);
	char *payload = body ? ks_json_print(body) : NULL;
	struct curl_slist *hdrs = curl_slist_append(NULL, "Accept: application/json");
	if (payload)
		hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
	if (c->auth)
		hdrs = curl_slist_append(hdrs, c->auth);
	curl_easy_reset(c->e);
	ks_curl_defaults(c->e, url, c->timeout_ms, errbuf);
	curl_easy_setopt(c->e, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c->e, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c->e, CURLOPT_WRITEDATA, &b);
	if (!strcmp(method, "POST")) {
		curl_easy_setopt(c->e, CURLOPT_POST, 1L);
		curl_easy_setopt(c->e, CURLOPT_POSTFIELDS, payload ? payload : "");
		long len = payload ? (long)strlen(payload) : 0;
		curl_easy_setopt(c->e, CURLOPT_POSTFIELDSIZE, len);
	} else if (strcmp(method, "GET")) {
		curl_easy_setopt(c->e, CURLOPT_CUSTOMREQUEST, method);
	}
	int rc = 0;
	CURLcode cc = curl_easy_perform(c->e);
	long status = 0;
	curl_easy_getinfo(c->e, CURLINFO_RESPONSE_CODE, &status);
	if (cc == CURLE_WRITE_ERROR && b.len + CURL_MAX_WRITE_SIZE > b.max) {
		rc = ks_err_set(err, KS_ETOOBIG, "%s %s: answer larger than %zu bytes", method,
				path, b.max);
	} else if (cc == CURLE_OPERATION_TIMEDOUT) {
		rc = ks_err_set(err, KS_ETIMEOUT, "%s %s%s: no answer within %ld ms", method,
				c->server, path, c->timeout_ms);
	} else if (cc != CURLE_OK) {
		rc = ks_err_set(err, KS_ENET,
				"cannot reach the kswarm daemon at %s: %s (is `kswarm run` "
				"running? set --server or $KSWARM_SERVER)",
				c->server, errbuf[0] ? errbuf : curl_easy_strerror(cc));
	} else if (status < 200 || status > 299) {
		rc = status_error(c, method, path, status, &b, err);
	} else if (b.len == 0) {
		*out = cJSON_CreateNull();
	} else {
		*out = ks_json_parse(b.data, b.len, APICLIENT_MAX_RESPONSE, err);
		if (!*out)
			rc = ks_err_wrap(err, "%s %s: the answer", method, path);
	}
	curl_slist_free_all(hdrs);
	free(payload);
	free(url);
	ks_buf_release(&b);
	return rc;
}

int apiclient_load_token(const char *path, char **out, struct ks_err *err)
{
	*out = NULL;
	if (!path) {
		const char *env = getenv("KSWARM_TOKEN");
		if (env && *env)
			*out = ks_strdup(env);
		return 0;
	}
	return ks_read_secret_line(path, "token file", TOKEN_MAX, out, err);
}

/* ---- text ---- */

static const char *str_or(const cJSON *j, const char *key, const char *def)
{
	const char *v = ks_json_str(j, key);
	return v && *v ? v : def;
}

void apiclient_format_plans(const cJSON *plans, struct ks_buf *out)
{
	if (!ks_json_len(plans)) {
		ks_buf_appendstr(out, "No plans.\n");
		return;
	}
	ks_buf_appendf(out, "%-10s %-18s %-7s %-20s %12s  %s\n", "PLAN", "STATUS", "RISK",
		       "CREATED", "SAVINGS/MO", "TITLE");
	const cJSON *p;
	cJSON_ArrayForEach(p, plans) {
		const cJSON *sav = ks_json_get(p, "savings_per_month");
		char savings[32] = "-";
		if (cJSON_IsNumber(sav))
			snprintf(savings, sizeof savings, "$%.2f", sav->valuedouble);
		ks_buf_appendf(out, "%-10s %-18s %-7s %-20.20s %12s  %s\n",
			       str_or(p, "plan_id", "?"), str_or(p, "status", "-"),
			       str_or(p, "risk", "-"), str_or(p, "created", "-"), savings,
			       str_or(p, "title", ""));
	}
}

/* The measured outcome (docs/SWARM.md), one fact a line. */
static void format_measured(const cJSON *m, struct ks_buf *out)
{
	if (!cJSON_IsObject(m))
		return;
	ks_buf_appendf(out, "Measured: %s", str_or(m, "result", "?"));
	const char *why = str_or(m, "why", "");
	if (*why)
		ks_buf_appendf(out, " (%s)", why);
	ks_buf_appendf(out, ", ran %.0f s, outcome %.0f s after the plan\n",
		       ks_json_num_or(m, "execution_seconds", 0), ks_json_num_or(m, "seconds_to_outcome", 0));
	const cJSON *cleared = cJSON_GetObjectItemCaseSensitive(m, "finding_cleared");
	if (cJSON_IsTrue(cleared))
		ks_buf_appendf(out, "          the finding cleared %.0f s after the outcome\n",
			       ks_json_num_or(m, "cleared_after_seconds", 0));
	else if (cJSON_IsFalse(cleared))
		ks_buf_appendstr(out, "          the finding was still open after the outcome\n");
	double saving = ks_json_num_or(m, "savings_per_month", NAN);
	if (!isnan(saving))
		ks_buf_appendf(out, "          %s $%.2f/month (predicted $%.2f): $%.2f -> $%.2f%s\n",
			       saving >= 0 ? "saves" : "costs more by", fabs(saving),
			       ks_json_num_or(m, "predicted_savings_per_month", 0),
			       ks_json_num_or(m, "cost_before_usd_per_month", 0),
			       ks_json_num_or(m, "cost_after_usd_per_month", 0),
			       cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(m, "settled"))
				       ? " (had not settled)"
				       : "");
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(m, "measuring")))
		ks_buf_appendstr(out, "          still measuring\n");
}

void apiclient_format_plan(const cJSON *plan, struct ks_buf *out)
{
	const cJSON *body = ks_json_get(plan, "plan");
	if (!cJSON_IsObject(body))
		body = plan;
	ks_buf_appendf(out, "Plan:    %s\n", str_or(plan, "plan_id", str_or(body, "plan_id", "?")));
	ks_buf_appendf(out, "Status:  %s\n", str_or(plan, "status", "-"));
	ks_buf_appendf(out, "Risk:    %s\n", str_or(body, "risk", "-"));
	ks_buf_appendf(out, "Title:   %s\n", str_or(body, "title", "-"));
	const cJSON *steps = ks_json_get(body, "steps");
	if (ks_json_len(steps)) {
		ks_buf_appendstr(out, "Steps:\n");
		const cJSON *st;
		cJSON_ArrayForEach(st, steps) {
			const cJSON *t = ks_json_get(st, "target");
			const char *ns = str_or(t, "namespace", "");
			ks_buf_appendf(out, "  %-4s %-18s %s %s%s%s", str_or(st, "id", "?"),
				       str_or(st, "action", "?"), str_or(t, "kind", "?"), ns,
				       *ns ? "/" : "", str_or(t, "name", "?"));
			const char *summary = str_or(st, "summary", NULL);
			ks_buf_appendf(out, "%s%s\n", summary ? ": " : "", summary ? summary : "");
		}
	}
	format_measured(ks_json_get(plan, "measured"), out);
	const cJSON *hist = ks_json_get(plan, "history");
	if (ks_json_len(hist)) {
		ks_buf_appendstr(out, "History:\n");
		const cJSON *m;
		cJSON_ArrayForEach(m, hist)
			ks_buf_appendf(out, "  %-6s %-24s %-16s %s\n", str_or(m, "id", "?"),
				       str_or(m, "ts", "-"), str_or(m, "type", "?"),
				       str_or(m, "text", ""));
	}
}

void apiclient_format_answer(const cJSON *answer, struct ks_buf *out)
{
	ks_buf_appendf(out, "%s\n", str_or(answer, "answer", "(no answer)"));
	const cJSON *refs = ks_json_get(answer, "refs");
	if (!ks_json_len(refs))
		return;
	ks_buf_appendstr(out, "Based on:");
	const cJSON *r;
	cJSON_ArrayForEach(r, refs)
		if (cJSON_IsString(r))
			ks_buf_appendf(out, " %s", r->valuestring);
	ks_buf_appendstr(out, "\n");
}
