/* llm.c — see llm.h.
 *
 * Life of a request (struct xfer) inside llm_run:
 *
 *   WAITING --(a slot is free, not_before passed: start)--> RUNNING
 *   RUNNING --(curl done: complete)--> retryable and no token delivered? WAITING (back-off)
 *                                      else DONE (on_done called)
 *
 * Invariants:
 *   1. At most cfg->max_concurrency transfers are RUNNING.
 *   2. Bytes of a 2xx answer go through the backend's stream parser as they arrive; tokens
 *      reach on_token from the write callback (which never calls back into libcurl).
 *      Bytes of a non-2xx answer go to a bounded error body, read when the transfer ends.
 *   3. A 2xx stream counts as complete only when the backend's end marker arrived
 *      (Ollama's "done":true, OpenAI's [DONE]); a cut stream is an error.
 *   4. The API key goes into one header list per attempt and nowhere else. */
#include "base/common.h"
#include "base/json.h"
#include "base/timeutil.h"
#include "llm/llm.h"

#include "base/opstats.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <curl/curl.h>

#define BACKOFF_FIRST_MS 500
#define BACKOFF_MAX_MS 30000
#define RETRY_AFTER_MAX_S 60

/* ---- configuration ---- */

const char *llm_backend_name(enum llm_backend b)
{
	return b == LLM_OPENAI ? "openai" : "ollama";
}

int llm_backend_parse(const char *s, enum llm_backend *out)
{
	if (!strcasecmp(s, "ollama"))
		*out = LLM_OLLAMA;
	else if (!strcasecmp(s, "openai"))
		*out = LLM_OPENAI;
	else
		return KS_EINVAL;
	return 0;
}

static void set_str(char **dst, const char *s)
{
	free(*dst);
	*dst = s ? ks_strdup(s) : NULL;
}

void llm_config_defaults(struct llm_config *c, enum llm_backend b)
{
	llm_config_release(c);
	*c = (struct llm_config){
		.backend = b,
		.base_url = ks_strdup(b == LLM_OPENAI ? "https://api.openai.com"
						      : "http://127.0.0.1:11434"),
		.model = ks_strdup(b == LLM_OPENAI ? "gpt-4o-mini" : "llama3.2"),
		.api_key_env = b == LLM_OPENAI ? ks_strdup("OPENAI_API_KEY") : NULL,
		.api_key = NULL,
		.timeout_ms = 120000,
		.connect_timeout_ms = 10000,
		.retries = 2,
		.max_concurrency = 4,
		.temperature = 0.2,
		.max_tokens = 512,
	};
}

static const char *env_or_flag(const char *flag, const char *env)
{
	if (flag)
		return flag;
	const char *v = getenv(env);
	return v && *v ? v : NULL;
}

int llm_config_load(struct llm_config *c, const struct llm_flags *flags, struct ks_err *err)
{
	static const struct llm_flags none = {0};
	if (!flags)
		flags = &none;
	enum llm_backend b = LLM_OLLAMA;
	const char *bs = env_or_flag(flags->backend, "KSWARM_LLM_BACKEND");
	if (bs && llm_backend_parse(bs, &b))
		return ks_err_set(err, KS_EINVAL, "LLM backend '%s': expected ollama or openai",
				  bs);
	*c = (struct llm_config){0};
	llm_config_defaults(c, b);
	const char *url = env_or_flag(flags->url, "KSWARM_LLM_URL");
	if (url) {
		if (strncmp(url, "http://", 7) && strncmp(url, "https://", 8)) {
			llm_config_release(c);
			return ks_err_set(err, KS_EINVAL,
					  "LLM URL '%s': expected http:// or https://", url);
		}
		set_str(&c->base_url, url);
		size_t n = strlen(c->base_url);
		while (n > 0 && c->base_url[n - 1] == '/')
			c->base_url[--n] = '\0';
	}
	const char *model = env_or_flag(flags->model, "KSWARM_LLM_MODEL");
	if (model)
		set_str(&c->model, model);
	const char *key_env = env_or_flag(flags->api_key_env, "KSWARM_LLM_API_KEY_ENV");
	if (key_env)
		set_str(&c->api_key_env, key_env);
	if (c->api_key_env) {
		const char *key = getenv(c->api_key_env);
		set_str(&c->api_key, key && *key ? key : NULL);
	}
	return 0;
}

void llm_config_release(struct llm_config *c)
{
	free(c->base_url);
	free(c->model);
	free(c->api_key_env);
	if (c->api_key) {
		explicit_bzero(c->api_key, strlen(c->api_key));
		free(c->api_key);
	}
	c->base_url = c->model = c->api_key_env = c->api_key = NULL;
}

bool llm_url_is_loopback(const char *url)
{
	CURLU *u = curl_url();
	char *host = NULL;
	bool loop = false;
	if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK) {
		unsigned char a[16];
		size_t n = strlen(host);
		if (n > 2 && host[0] == '[' && host[n - 1] == ']') {
			host[n - 1] = '\0';
			loop = inet_pton(AF_INET6, host + 1, a) == 1 &&
			       !memcmp(a, in6addr_loopback.s6_addr, 16);
		} else {
			loop = !strcasecmp(host, "localhost") ||
			       (inet_pton(AF_INET, host, a) == 1 && a[0] == 127);
		}
	}
	curl_free(host);
	curl_url_cleanup(u);
	return loop;
}

/* ---- NDJSON ---- */

void llm_ndjson_init(struct llm_ndjson *p, size_t max_line)
{
	ks_buf_init(&p->line, max_line);
}

void llm_ndjson_release(struct llm_ndjson *p)
{
	ks_buf_release(&p->line);
}

static int ndjson_emit(struct llm_ndjson *p, llm_line_fn fn, void *ctx)
{
	size_t n = p->line.len;
	if (n && p->line.data[n - 1] == '\r')
		n--;
	int rc = n ? fn(ctx, p->line.data, n) : 0;
	ks_buf_reset(&p->line);
	return rc;
}

int llm_ndjson_feed(struct llm_ndjson *p, const char *data, size_t n, llm_line_fn fn,
		    void *ctx, struct ks_err *err)
{
	while (n) {
		const char *nl = memchr(data, '\n', n);
		size_t take = nl ? (size_t)(nl - data) : n;
		if (ks_buf_append(&p->line, data, take))
			return ks_err_set(err, KS_ETOOBIG, "a stream line is longer than %zu bytes",
					  p->line.max);
		if (!nl)
			return 0;
		int rc = ndjson_emit(p, fn, ctx);
		if (rc)
			return rc;
		data += take + 1;
		n -= take + 1;
	}
	return 0;
}

int llm_ndjson_finish(struct llm_ndjson *p, llm_line_fn fn, void *ctx, struct ks_err *err)
{
	return ndjson_emit(p, fn, ctx);
}

/* ---- server-sent events ---- */

void llm_sse_init(struct llm_sse *p, size_t max)
{
	*p = (struct llm_sse){0};
	ks_buf_init(&p->line, max);
	ks_buf_init(&p->data, max);
}

void llm_sse_release(struct llm_sse *p)
{
	ks_buf_release(&p->line);
	ks_buf_release(&p->data);
}

static int sse_dispatch(struct llm_sse *p, llm_event_fn fn, void *ctx)
{
	int rc = 0;
	if (p->has_data) {
		size_t n = p->data.len;
		if (n && p->data.data[n - 1] == '\n')
			p->data.data[--n] = '\0';
		rc = fn(ctx, p->type[0] ? p->type : "message", p->data.data, n);
	}
	ks_buf_reset(&p->data);
	p->type[0] = '\0';
	p->has_data = false;
	return rc;
}

static int sse_line(struct llm_sse *p, llm_event_fn fn, void *ctx, struct ks_err *err)
{
	const char *s = p->line.data;
	size_t n = p->line.len;
	if (!p->started) {
		p->started = true;
		if (n >= 3 && !memcmp(s, "\xEF\xBB\xBF", 3)) {
			s += 3;
			n -= 3;
		}
	}
	if (n == 0)
		return sse_dispatch(p, fn, ctx);
	if (s[0] == ':')
		return 0; /* a comment (keep-alives) */
	const char *colon = memchr(s, ':', n);
	size_t name_len = colon ? (size_t)(colon - s) : n;
	const char *value = colon ? colon + 1 : s + n;
	size_t value_len = colon ? n - name_len - 1 : 0;
	if (value_len && value[0] == ' ') {
		value++;
		value_len--;
	}
	if (name_len == 4 && !memcmp(s, "data", 4)) {
		if (ks_buf_append(&p->data, value, value_len) || ks_buf_appendc(&p->data, '\n'))
			return ks_err_set(err, KS_ETOOBIG,
					  "an event's data is longer than %zu bytes", p->data.max);
		p->has_data = true;
	} else if (name_len == 5 && !memcmp(s, "event", 5)) {
		size_t k = value_len < sizeof p->type - 1 ? value_len : sizeof p->type - 1;
		memcpy(p->type, value, k);
		p->type[k] = '\0';
	}
	/* id, retry and unknown fields mean nothing to a one-shot request. */
	return 0;
}

int llm_sse_feed(struct llm_sse *p, const char *data, size_t n, llm_event_fn fn, void *ctx,
		 struct ks_err *err)
{
	for (size_t i = 0; i < n;) {
		if (p->after_cr && data[i] == '\n') {
			p->after_cr = false; /* the LF of a CRLF already ended the line */
			i++;
			continue;
		}
		p->after_cr = false;
		size_t j = i;
		while (j < n && data[j] != '\n' && data[j] != '\r')
			j++;
		if (ks_buf_append(&p->line, data + i, j - i))
			return ks_err_set(err, KS_ETOOBIG,
					  "an event-stream line is longer than %zu bytes",
					  p->line.max);
		if (j == n)
			return 0;
		p->after_cr = data[j] == '\r';
		int rc = sse_line(p, fn, ctx, err);
		ks_buf_reset(&p->line);
		if (rc)
			return rc;
		i = j + 1;
	}
	return 0;
}

/* ---- transfers ---- */

enum xfer_state { X_WAITING, X_RUNNING, X_DONE };

struct run;

struct xfer {
	int64_t t0_ms; /* the first attempt's start (0: never started), for the latency */
	struct run *run;
	struct llm_request *r;
	enum xfer_state state;
	CURL *easy;
	struct curl_slist *headers;
	char *body;
	long status;         /* known once the first body byte arrives */
	bool saw_end;        /* the backend's end marker */
	bool delivered;      /* a token reached the reader: no retry any more */
	int abort_rc;        /* the parser or decoder stopped the transfer */
	struct ks_err abort_err;
	int64_t not_before_ms;
	struct llm_ndjson nd;
	struct llm_sse sse;
	struct ks_buf errbody;
	char errbuf[CURL_ERROR_SIZE];
};

struct run {
	const struct llm_config *cfg;
	char *url;
	CURLM *multi;
	int running;
};

static int deliver(struct xfer *x, const char *text, size_t len)
{
	if (!len)
		return 0;
	if (ks_buf_append(&x->r->text, text, len))
		return ks_err_set(&x->abort_err, KS_ETOOBIG,
				  "the LLM's answer is longer than %zu bytes", LLM_MAX_ANSWER);
	x->delivered = true;
	if (x->r->on_token)
		x->r->on_token(x->r->ctx, x->r->index, text, len);
	return 0;
}

static void set_done_reason(struct xfer *x, const char *reason)
{
	if (reason)
		snprintf(x->r->done_reason, sizeof x->r->done_reason, "%s", reason);
}

/* The message of an error object: {"error":"…"} (Ollama) or {"error":{"message":…}}. */
static const char *error_message(const cJSON *v)
{
	const cJSON *e = cJSON_IsObject(v) ? cJSON_GetObjectItemCaseSensitive(v, "error") : NULL;
	if (cJSON_IsString(e))
		return e->valuestring;
	if (cJSON_IsObject(e))
		return ks_json_str_or(e, "message", "(no message)");
	return NULL;
}

/* One chunk of the stream as JSON; an error object in it stops the transfer. Returns the
 * tree (NULL with x->abort_err set when the chunk is not JSON or holds an error). */
static cJSON *decode_chunk(struct xfer *x, const char *data, size_t len, int *rc)
{
	const char *backend = llm_backend_name(x->run->cfg->backend);
	struct ks_err perr = {0};
	cJSON *v = ks_json_parse(data, len, LLM_MAX_LINE, &perr);
	if (!v) {
		*rc = ks_err_set(&x->abort_err, KS_EINVAL, "%s stream: %s", backend, perr.msg);
		return NULL;
	}
	const char *emsg = error_message(v);
	if (emsg) {
		*rc = ks_err_set(&x->abort_err, KS_EHTTP, "%s: %s", backend, emsg);
		cJSON_Delete(v);
		return NULL;
	}
	*rc = 0;
	return v;
}

static int ollama_line(void *ctx, const char *line, size_t len)
{
	struct xfer *x = ctx;
	int rc;
	cJSON *v = decode_chunk(x, line, len, &rc);
	if (!v)
		return rc;
	const char *content = ks_json_str(v, "message.content");
	if (content)
		rc = deliver(x, content, strlen(content));
	if (!rc && ks_json_bool_or(v, "done", false)) {
		x->saw_end = true;
		set_done_reason(x, ks_json_str(v, "done_reason"));
	}
	cJSON_Delete(v);
	return rc;
}

static int openai_event(void *ctx, const char *type, const char *data, size_t len)
{
	struct xfer *x = ctx;
	if (len == 6 && !memcmp(data, "[DONE]", 6)) {
		x->saw_end = true;
		return 0;
	}
	int rc;
	cJSON *v = decode_chunk(x, data, len, &rc);
	if (!v)
		return rc;
	const cJSON *choices = ks_json_get(v, "choices");
	const cJSON *c0 = cJSON_IsArray(choices) ? cJSON_GetArrayItem(choices, 0) : NULL;
	const char *content = c0 ? ks_json_str(c0, "delta.content") : NULL;
	if (content)
		rc = deliver(x, content, strlen(content));
	if (c0)
		set_done_reason(x, ks_json_str(c0, "finish_reason"));
	cJSON_Delete(v);
	return rc;
}

static size_t on_write(char *p, size_t size, size_t nmemb, void *ud)
{
	struct xfer *x = ud;
	size_t n = size * nmemb;
	if (!x->status)
		curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &x->status);
	if (x->status < 200 || x->status >= 300) {
		size_t room = x->errbody.max - x->errbody.len;
		ks_buf_append(&x->errbody, p, n < room ? n : room);
		return n;
	}
	int rc = x->run->cfg->backend == LLM_OPENAI
			 ? llm_sse_feed(&x->sse, p, n, openai_event, x, &x->abort_err)
			 : llm_ndjson_feed(&x->nd, p, n, ollama_line, x, &x->abort_err);
	if (rc) {
		x->abort_rc = rc;
		return 0; /* stops the transfer */
	}
	return n;
}

static char *request_body(const struct llm_config *cfg, const struct llm_request *r)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "model", cfg->model);
	cJSON *msgs = cJSON_AddArrayToObject(o, "messages");
	for (size_t i = 0; i < r->n_messages; i++) {
		cJSON *m = cJSON_CreateObject();
		cJSON_AddStringToObject(m, "role", r->messages[i].role);
		cJSON_AddStringToObject(m, "content", r->messages[i].content);
		cJSON_AddItemToArray(msgs, m);
	}
	cJSON_AddBoolToObject(o, "stream", true);
	if (cfg->backend == LLM_OLLAMA) {
		cJSON *opt = cJSON_AddObjectToObject(o, "options");
		cJSON_AddNumberToObject(opt, "temperature", cfg->temperature);
		if (cfg->max_tokens > 0)
			cJSON_AddNumberToObject(opt, "num_predict", cfg->max_tokens);
	} else {
		cJSON_AddNumberToObject(o, "temperature", cfg->temperature);
		if (cfg->max_tokens > 0)
			cJSON_AddNumberToObject(o, "max_tokens", cfg->max_tokens);
	}
	char *s = ks_json_print(o);
	cJSON_Delete(o);
	return s;
}

static char *endpoint_url(const struct llm_config *cfg)
{
	const char *base = cfg->base_url;
	size_t n = strlen(base);
	if (cfg->backend == LLM_OLLAMA)
		return ks_asprintf("%s/api/chat", base);
	/* "https://api.openai.com/v1" and "https://api.openai.com" both work. */
	if (n >= 3 && !strcmp(base + n - 3, "/v1"))
		return ks_asprintf("%s/chat/completions", base);
	return ks_asprintf("%s/v1/chat/completions", base);
}

static void start(struct xfer *x)
{
	struct run *run = x->run;
	const struct llm_config *cfg = run->cfg;
	if (!x->t0_ms)
		x->t0_ms = ks_mono_ms();
	if (!x->easy)
		x->easy = curl_easy_init();
	else
		curl_easy_reset(x->easy);
	curl_slist_free_all(x->headers);
	x->headers = curl_slist_append(NULL, "Content-Type: application/json");
	x->headers = curl_slist_append(x->headers, cfg->backend == LLM_OPENAI
							   ? "Accept: text/event-stream"
							   : "Accept: application/x-ndjson");
	if (cfg->api_key) {
		char *h = ks_asprintf("Authorization: Bearer %s", cfg->api_key);
		x->headers = curl_slist_append(x->headers, h);
		explicit_bzero(h, strlen(h));
		free(h);
	}
	llm_ndjson_release(&x->nd);
	llm_sse_release(&x->sse);
	llm_ndjson_init(&x->nd, LLM_MAX_LINE);
	llm_sse_init(&x->sse, LLM_MAX_LINE);
	ks_buf_reset(&x->errbody);
	ks_buf_reset(&x->r->text);
	x->status = 0;
	x->saw_end = false;
	x->abort_rc = 0;
	x->errbuf[0] = '\0';
	x->r->attempts++;

	CURL *e = x->easy;
	curl_easy_setopt(e, CURLOPT_URL, run->url);
	curl_easy_setopt(e, CURLOPT_PRIVATE, x);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->headers);
	curl_easy_setopt(e, CURLOPT_POST, 1L);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, x->body);
	curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(x->body));
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "kswarm/" KSWARM_VERSION);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, cfg->connect_timeout_ms);
	if (cfg->timeout_ms > 0)
		curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, cfg->timeout_ms);
	/* Only http(s), and no redirect that could carry the key elsewhere. */
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	x->state = X_RUNNING;
	run->running++;
	curl_multi_add_handle(run->multi, e);
}

static void finish(struct xfer *x, int rc, const struct ks_err *err)
{
	x->state = X_DONE;
	ks_op_count(rc ? KS_OP_LLM_ERROR : KS_OP_LLM_OK);
	if (x->t0_ms)
		ks_hist_observe(KS_HIST_LLM_SECONDS, (double)(ks_mono_ms() - x->t0_ms) / 1000.0);
	x->r->rc = rc;
	if (rc && err && &x->r->err != err)
		x->r->err = *err;
	if (x->r->on_done)
		x->r->on_done(x->r->ctx, x->r->index, rc, rc ? &x->r->err : NULL);
}

static bool retry_later(struct xfer *x, const char *why)
{
	const struct llm_config *cfg = x->run->cfg;
	if (x->delivered || x->r->attempts > cfg->retries)
		return false;
	/* libcurl reads Retry-After (seconds or an HTTP date) into CURLINFO_RETRY_AFTER. */
	curl_off_t retry_after = 0;
	bool told = curl_easy_getinfo(x->easy, CURLINFO_RETRY_AFTER, &retry_after) == CURLE_OK &&
		    retry_after > 0;
	long wait_ms;
	if (told) {
		curl_off_t s = retry_after > RETRY_AFTER_MAX_S ? RETRY_AFTER_MAX_S : retry_after;
		wait_ms = (long)s * 1000;
	} else {
		wait_ms = BACKOFF_FIRST_MS;
		for (int i = 1; i < x->r->attempts && wait_ms < BACKOFF_MAX_MS; i++)
			wait_ms *= 2;
		if (wait_ms > BACKOFF_MAX_MS)
			wait_ms = BACKOFF_MAX_MS;
	}
	KS_INFO("llm", "%s: %s, retrying in %ld ms (retry %d of %d)", x->run->url, why, wait_ms,
		x->r->attempts, cfg->retries);
	x->not_before_ms = ks_mono_ms() + wait_ms;
	x->state = X_WAITING;
	return true;
}

static bool is_connect_failure(CURL *e, CURLcode cc)
{
	if (cc == CURLE_COULDNT_CONNECT || cc == CURLE_COULDNT_RESOLVE_HOST ||
	    cc == CURLE_COULDNT_RESOLVE_PROXY || cc == CURLE_SSL_CONNECT_ERROR)
		return true;
	/* A timeout before the request went out: the connection never came up. */
	long sent = 0;
	curl_easy_getinfo(e, CURLINFO_REQUEST_SIZE, &sent);
	return cc == CURLE_OPERATION_TIMEDOUT && sent == 0;
}

static void complete(struct xfer *x, CURLcode cc)
{
	struct run *run = x->run;
	struct ks_err err = {0};
	curl_multi_remove_handle(run->multi, x->easy);
	run->running--;
	if (!x->status)
		curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &x->status);
	if (x->abort_rc) {
		finish(x, x->abort_rc, &x->abort_err);
		return;
	}
	if (cc != CURLE_OK) {
		const char *what = x->errbuf[0] ? x->errbuf : curl_easy_strerror(cc);
		if (is_connect_failure(x->easy, cc) && retry_later(x, what))
			return;
		int code = cc == CURLE_OPERATION_TIMEDOUT ? KS_ETIMEOUT : KS_ENET;
		if (code == KS_ETIMEOUT && !is_connect_failure(x->easy, cc))
			ks_err_set(&err, code, "LLM %s: no complete answer within %ld ms", run->url,
				   run->cfg->timeout_ms);
		else
			ks_err_set(&err, code, "LLM %s: %s", run->url, what);
		finish(x, code, &err);
		return;
	}
	long st = x->status;
	if (st >= 200 && st < 300) {
		int rc = run->cfg->backend == LLM_OLLAMA
				 ? llm_ndjson_finish(&x->nd, ollama_line, x, &x->abort_err)
				 : 0;
		if (rc) {
			finish(x, rc, &x->abort_err);
		} else if (!x->saw_end) {
			ks_err_set(&err, KS_EIO, "LLM %s: the answer stream ended before its %s",
				   run->url, "end marker");
			finish(x, KS_EIO, &err);
		} else {
			finish(x, 0, NULL);
		}
		return;
	}
	if (st == 429 || st >= 500) {
		char why[32];
		snprintf(why, sizeof why, "HTTP %ld", st);
		if (retry_later(x, why))
			return;
	}
	cJSON *v = x->errbody.len ? ks_json_parse(x->errbody.data, x->errbody.len,
						  LLM_MAX_ERROR_BODY, NULL)
				  : NULL;
	const char *msg = error_message(v);
	char snippet[201];
	if (!msg) {
		size_t k = 0;
		for (size_t i = 0; i < x->errbody.len && k < sizeof snippet - 1; i++)
			snippet[k++] = x->errbody.data[i] == '\n' || x->errbody.data[i] == '\r'
					       ? ' '
					       : x->errbody.data[i];
		snippet[k] = '\0';
		msg = snippet;
	}
	int code = st == 401 || st == 403 ? KS_EFORBIDDEN
		   : st == 404		  ? KS_ENOTFOUND
		   : st == 413		  ? KS_ETOOBIG
					  : KS_EHTTP;
	ks_err_set(&err, code, "LLM %s: HTTP %ld%s%s", run->url, st, *msg ? ": " : "", msg);
	err.http_status = (int)st;
	cJSON_Delete(v);
	finish(x, code, &err);
}

/* End the requests whose cancel flag is set (a transfer in flight is removed from the
 * multi handle); the wait is shortened so that a later cancel is seen soon. Returns how
 * many ended. */
static size_t cancel_requested(struct run *run, struct xfer *xs, size_t n, long *wait)
{
	size_t ended = 0;
	for (size_t i = 0; i < n; i++) {
		struct xfer *x = &xs[i];
		if (!x->r->cancel || x->state == X_DONE)
			continue;
		if (!atomic_load(x->r->cancel)) {
			if (*wait > LLM_CANCEL_POLL_MS)
				*wait = LLM_CANCEL_POLL_MS;
			continue;
		}
		if (x->state == X_RUNNING) {
			curl_multi_remove_handle(run->multi, x->easy);
			run->running--;
		}
		struct ks_err e = {0};
		ks_err_set(&e, KS_ECANCELED, "LLM %s: the request was cancelled", run->url);
		finish(x, KS_ECANCELED, &e);
		ended++;
	}
	return ended;
}

void llm_request_release(struct llm_request *r)
{
	ks_buf_release(&r->text);
}

int llm_run(const struct llm_config *cfg, struct llm_request *reqs, size_t n,
	    struct ks_err *err)
{
	struct run run = {.cfg = cfg, .url = endpoint_url(cfg), .multi = curl_multi_init()};
	struct xfer *xs = ks_calloc(n ? n : 1, sizeof *xs);
	int maxc = cfg->max_concurrency > 0 ? cfg->max_concurrency : 1;
	bool plaintext_remote = !strncmp(cfg->base_url, "http://", 7) &&
				!llm_url_is_loopback(cfg->base_url);
	for (size_t i = 0; i < n; i++) {
		struct xfer *x = &xs[i];
		x->run = &run;
		x->r = &reqs[i];
		x->r->rc = 0;
		x->r->attempts = 0;
		x->r->done_reason[0] = '\0';
		ks_err_clear(&x->r->err);
		ks_buf_init(&x->r->text, LLM_MAX_ANSWER);
		ks_buf_init(&x->errbody, LLM_MAX_ERROR_BODY);
		llm_ndjson_init(&x->nd, LLM_MAX_LINE);
		llm_sse_init(&x->sse, LLM_MAX_LINE);
		x->body = request_body(cfg, x->r);
		x->state = X_WAITING;
	}
	size_t done = 0;
	if (cfg->api_key && plaintext_remote) {
		struct ks_err e = {0};
		ks_err_set(&e, KS_EAUTH, "LLM %s: refusing to send the API key over plain http to "
			   "a host that is not loopback (use https)", run.url);
		for (size_t i = 0; i < n; i++)
			finish(&xs[i], KS_EAUTH, &e);
		done = n;
	}
	while (done < n) {
		int64_t now = ks_mono_ms();
		long wait = 1000;
		for (size_t i = 0; i < n && run.running < maxc; i++) {
			struct xfer *x = &xs[i];
			if (x->state != X_WAITING)
				continue;
			if (x->not_before_ms <= now)
				start(x);
			else if (x->not_before_ms - now < wait)
				wait = (long)(x->not_before_ms - now);
		}
		int still;
		curl_multi_perform(run.multi, &still);
		CURLMsg *m;
		int left;
		while ((m = curl_multi_info_read(run.multi, &left))) {
			if (m->msg != CURLMSG_DONE)
				continue;
			struct xfer *x = NULL;
			CURLcode cc = m->data.result;
			curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
			complete(x, cc);
			if (x->state != X_DONE)
				continue;
			done++;
			if (x->r->rc != KS_ENET)
				continue;
			/* Nobody answers there: the requests not yet sent would fail alike. */
			for (size_t i = 0; i < n; i++) {
				if (xs[i].state == X_WAITING && xs[i].r->attempts == 0) {
					finish(&xs[i], KS_ENET, &x->r->err);
					done++;
				}
			}
		}
		done += cancel_requested(&run, xs, n, &wait);
		if (done < n)
			curl_multi_poll(run.multi, NULL, 0, wait > 0 ? (int)wait : 0, NULL);
	}
	int rc = 0;
	for (size_t i = 0; i < n; i++) {
		struct xfer *x = &xs[i];
		if (x->r->rc && !rc) {
			rc = x->r->rc;
			if (err)
				*err = x->r->err;
		}
		if (x->easy)
			curl_easy_cleanup(x->easy);
		curl_slist_free_all(x->headers);
		free(x->body);
		llm_ndjson_release(&x->nd);
		llm_sse_release(&x->sse);
		ks_buf_release(&x->errbody);
	}
	free(xs);
	curl_multi_cleanup(run.multi);
	free(run.url);
	return rc;
}
