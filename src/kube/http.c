/* http.c — see http.h.
 *
 * Life of a transfer (struct kube_http_xfer):
 *
 *   QUEUED --(token bucket gives a token, not_before passed: start_xfer)--> RUNNING
 *   RUNNING --(curl says done: finish_xfer)--> retry?  yes: QUEUED (not_before = Retry-After)
 *                                                      no:  DONE (done() called, then freed)
 *   QUEUED/RUNNING --(kube_http_cancel)--> DEAD (removed from curl; freed by the outermost poll)
 *
 * Invariants:
 *   1. No callback of ours (done, on_data) runs inside libcurl: the write callback only
 *      appends to x->pending or x->resp.body; kube_http_poll delivers after perform.
 *   2. A transfer is freed only by the outermost kube_http_poll (h->depth == 0), so pointers
 *      held by an outer loop stay valid while a callback runs a nested kube_http_do.
 *   3. Stream data is delivered before its transfer's done().
 *   4. Every step costs O(1) per transfer it touches, never O(all transfers): a simulator
 *      keeps thousands of writes queued. Lists: `all` (every transfer, for freeing), the
 *      FIFO queues `shortq` and `streamq` (QUEUED, due now), `delayed` (QUEUED with a
 *      Retry-After), `with_data` (streams holding undelivered bytes), `dead` (to reap);
 *      counters n_active (QUEUED + RUNNING) and inflight (RUNNING short requests). */
#include "base/common.h"
#include "base/json.h"
#include "base/timeutil.h"
#include "kube/http.h"

#include "base/opstats.h"

#include <stdio.h>
#include <string.h>

#include <curl/curl.h>

#define DEFAULT_QPS 50.0
#define DEFAULT_BURST 100
#define DEFAULT_TIMEOUT_MS 60000L
#define DEFAULT_MAX_RESPONSE ((size_t)512 << 20)
#define DEFAULT_MAX_RETRIES 10
#define MAX_RETRY_AFTER_S 60
#define MAX_ERROR_BODY ((size_t)1 << 20)
#define MAX_PENDING_STREAM ((size_t)256 << 20)
/* Short requests in flight at once; the rest wait in our queue. Below the API server's 250
 * HTTP/2 streams per connection, so one connection carries them all; without the cap a burst
 * of thousands of requests opens connection after connection and their TLS handshakes time
 * out. Streams (watches) are not counted. */
#define MAX_INFLIGHT 200
#define MAX_HOST_CONNECTIONS 8

enum xfer_state { X_QUEUED, X_RUNNING, X_DONE, X_DEAD };

struct kube_http_xfer {
	struct kube_http *h;
	struct kube_http_xfer *prev, *next;   /* h->all */
	struct kube_http_xfer *qprev, *qnext; /* the queue it waits in (shortq/streamq/delayed) */
	struct kube_http_xfer *wnext;         /* h->with_data */
	struct kube_http_xfer *dnext;         /* h->dead */
	struct xfer_queue *queue;             /* NULL when in no queue */
	bool in_with_data;
	enum xfer_state state;
	CURL *easy;
	struct curl_slist *headers;
	char *method, *path, *accept, *content_type, *body;
	size_t body_len;
	long timeout_ms, idle_timeout_s;
	int (*on_data)(void *ctx, const char *p, size_t n);
	void *data_ctx;
	kube_http_done_fn done;
	void *ctx;
	struct kube_http_resp resp;
	struct ks_buf pending; /* stream bytes not yet given to on_data */
	int64_t not_before_ms;
	int64_t started_ms;
	long retry_after_s;
	int retries;
	bool retried_401;
	bool no_retry; /* the caller wants 429 and 5xx as they are */
	bool stream_mode; /* decided at the first body byte: 2xx and on_data */
	bool status_known;
	bool too_big;
	int abort_rc; /* non-zero when on_data asked to stop */
	char errbuf[CURL_ERROR_SIZE];
};

struct xfer_queue {
	struct kube_http_xfer *head, *tail;
};

struct kube_http {
	CURLM *multi;
	struct kube_http_opts o;
	char *server, *tls_server_name, *proxy_url, *user_agent, *connect_to_entry;
	char *url_base; /* server, with the host replaced by tls_server_name when set */
	struct curl_slist *connect_to;
	void *ca;
	size_t ca_len;
	struct kube_http_xfer *all;
	struct xfer_queue shortq, streamq, delayed;
	struct kube_http_xfer *with_data, *dead;
	int n_active, inflight;
	bool plaintext_remote; /* http:// to a host that is not loopback */
	double tokens;
	int64_t refill_ms;
	int depth;
	struct kube_http_stats stats;
};

static bool curl_ready;

static void global_init(void)
{
	if (!curl_ready) {
		curl_global_init(CURL_GLOBAL_DEFAULT);
		curl_ready = true;
	}
}

/* With tls-server-name, the URL carries that name (for SNI and certificate checks) and
 * CURLOPT_CONNECT_TO sends the connection to the real host. */
static int setup_server_name(struct kube_http *h, struct ks_err *err)
{
	const char *s = h->server;
	const char *hs = strstr(s, "://");
	if (!hs)
		return ks_err_set(err, KS_EINVAL, "server URL '%s' has no scheme", s);
	hs += 3;
	const char *he = hs;
	if (*he == '[') {
		he = strchr(he, ']');
		if (!he)
			return ks_err_set(err, KS_EINVAL, "server URL '%s': unclosed '['", s);
		he++;
	} else {
		while (*he && *he != ':' && *he != '/')
			he++;
	}
	const char *port = "443";
	char portbuf[16];
	if (*he == ':') {
		size_t n = strcspn(he + 1, "/");
		if (n == 0 || n >= sizeof portbuf)
			return ks_err_set(err, KS_EINVAL, "server URL '%s': bad port", s);
		memcpy(portbuf, he + 1, n);
		portbuf[n] = '\0';
		port = portbuf;
	}
	if (!h->tls_server_name) {
		h->url_base = ks_strdup(s);
	} else {
		h->url_base = ks_asprintf("%.*s%s%s", (int)(hs - s), s, h->tls_server_name, he);
		h->connect_to_entry = ks_asprintf("%s:%s:%.*s:%s", h->tls_server_name, port,
						  (int)(he - hs), hs, port);
		h->connect_to = curl_slist_append(NULL, h->connect_to_entry);
	}
	size_t n = strlen(h->url_base);
	while (n > 0 && h->url_base[n - 1] == '/')
		h->url_base[--n] = '\0';
	return 0;
}

int kube_http_new(const struct kube_http_opts *opts, struct kube_http **out, struct ks_err *err)
{
	global_init();
	if (!opts->server || !*opts->server)
		return ks_err_set(err, KS_EINVAL, "no API server URL");
	struct kube_http *h = ks_calloc(1, sizeof *h);
	h->o = *opts;
	h->server = ks_strdup(opts->server);
	h->tls_server_name = opts->tls_server_name && *opts->tls_server_name
				     ? ks_strdup(opts->tls_server_name) : NULL;
	h->proxy_url = opts->proxy_url ? ks_strdup(opts->proxy_url) : NULL;
	h->user_agent = ks_strdup(opts->user_agent ? opts->user_agent : "kswarm/" KSWARM_VERSION);
	if (opts->ca_pem && opts->ca_len) {
		h->ca = ks_malloc(opts->ca_len);
		memcpy(h->ca, opts->ca_pem, opts->ca_len);
		h->ca_len = opts->ca_len;
	}
	h->o.server = h->server;
	h->o.ca_pem = h->ca;
	if (h->o.qps <= 0)
		h->o.qps = DEFAULT_QPS;
	if (h->o.burst <= 0)
		h->o.burst = DEFAULT_BURST;
	if (h->o.timeout_ms <= 0)
		h->o.timeout_ms = DEFAULT_TIMEOUT_MS;
	if (!h->o.max_response)
		h->o.max_response = DEFAULT_MAX_RESPONSE;
	if (h->o.max_retries == 0)
		h->o.max_retries = DEFAULT_MAX_RETRIES;
	else if (h->o.max_retries < 0)
		h->o.max_retries = 0;
	h->tokens = h->o.burst;
	h->refill_ms = ks_mono_ms();
	if (!strncmp(h->server, "http://", 7)) {
		const char *host = h->server + 7;
		h->plaintext_remote = strncmp(host, "127.", 4) && strncmp(host, "localhost", 9) &&
				      strncmp(host, "[::1]", 5);
	}
	int rc = setup_server_name(h, err);
	if (rc) {
		kube_http_free(h);
		return rc;
	}
	h->multi = curl_multi_init();
	curl_multi_setopt(h->multi, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
	/* HTTP/2 streams per connection: kube-apiserver allows 250 by default. */
	curl_multi_setopt(h->multi, CURLMOPT_MAX_CONCURRENT_STREAMS, 250L);
	curl_multi_setopt(h->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)MAX_HOST_CONNECTIONS);
	*out = h;
	return 0;
}

static void xfer_free(struct kube_http_xfer *x)
{
	if (x->easy) {
		if (x->state == X_RUNNING || x->state == X_DEAD)
			curl_multi_remove_handle(x->h->multi, x->easy);
		curl_easy_cleanup(x->easy);
	}
	curl_slist_free_all(x->headers);
	free(x->method);
	free(x->path);
	free(x->accept);
	free(x->content_type);
	free(x->body);
	ks_buf_release(&x->resp.body);
	ks_buf_release(&x->pending);
	free(x);
}

void kube_http_free(struct kube_http *h)
{
	if (!h)
		return;
	for (struct kube_http_xfer *x = h->all, *n; x; x = n) {
		n = x->next;
		xfer_free(x);
	}
	if (h->multi)
		curl_multi_cleanup(h->multi);
	curl_slist_free_all(h->connect_to);
	free(h->server);
	free(h->tls_server_name);
	free(h->proxy_url);
	free(h->user_agent);
	free(h->connect_to_entry);
	free(h->url_base);
	free(h->ca);
	free(h);
}

const char *kube_http_server(const struct kube_http *h)
{
	return h->server;
}

void kube_http_get_stats(const struct kube_http *h, struct kube_http_stats *out)
{
	*out = h->stats;
}

/* ---- libcurl callbacks: they only store bytes (invariant 1) ---- */

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
	struct kube_http_xfer *x = ud;
	size_t len = size * n;
	if (len > 12 && !strncasecmp(p, "retry-after:", 12)) {
		char v[32];
		size_t vl = len - 12 < sizeof v - 1 ? len - 12 : sizeof v - 1;
		memcpy(v, p + 12, vl);
		v[vl] = '\0';
		char *end;
		long s = strtol(v, &end, 10);
		if (end != v && s >= 0)
			x->retry_after_s = s > MAX_RETRY_AFTER_S ? MAX_RETRY_AFTER_S : s;
	} else if (len > 13 && !strncasecmp(p, "content-type:", 13)) {
		const char *v = p + 13;
		size_t vl = len - 13;
		while (vl && (*v == ' ' || *v == '\t'))
			v++, vl--;
		while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n'))
			vl--;
		if (vl >= sizeof x->resp.content_type)
			vl = sizeof x->resp.content_type - 1;
		memcpy(x->resp.content_type, v, vl);
		x->resp.content_type[vl] = '\0';
	}
	return len;
}

static size_t on_write(char *p, size_t size, size_t n, void *ud)
{
	struct kube_http_xfer *x = ud;
	size_t len = size * n;
	if (!x->status_known) {
		long status = 0;
		curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
		x->status_known = true;
		x->stream_mode = x->on_data && status >= 200 && status < 300;
	}
	x->h->stats.bytes_in += len;
	struct ks_buf *dst = x->stream_mode ? &x->pending : &x->resp.body;
	if (ks_buf_append(dst, p, len)) {
		x->too_big = true;
		return 0; /* CURLE_WRITE_ERROR */
	}
	if (x->stream_mode && !x->in_with_data) {
		x->in_with_data = true;
		x->wnext = x->h->with_data;
		x->h->with_data = x;
	}
	return len;
}

/* ---- starting ---- */

static void set_cred_headers(struct kube_http_xfer *x, const struct kube_http_cred *c)
{
	if (c->token && *c->token) {
		char *hdr = ks_asprintf("Authorization: Bearer %s", c->token);
		x->headers = curl_slist_append(x->headers, hdr);
		explicit_bzero(hdr, strlen(hdr));
		free(hdr);
	} else if (c->basic_user) {
		curl_easy_setopt(x->easy, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
		curl_easy_setopt(x->easy, CURLOPT_USERNAME, c->basic_user);
		curl_easy_setopt(x->easy, CURLOPT_PASSWORD, c->basic_pass ? c->basic_pass : "");
	}
	if (c->cert_pem && c->key_pem) {
		struct curl_blob cert = {(void *)c->cert_pem, c->cert_len, CURL_BLOB_COPY};
		struct curl_blob key = {(void *)c->key_pem, c->key_len, CURL_BLOB_COPY};
		curl_easy_setopt(x->easy, CURLOPT_SSLCERT_BLOB, &cert);
		curl_easy_setopt(x->easy, CURLOPT_SSLCERTTYPE, "PEM");
		curl_easy_setopt(x->easy, CURLOPT_SSLKEY_BLOB, &key);
		curl_easy_setopt(x->easy, CURLOPT_SSLKEYTYPE, "PEM");
	}
}

static void finish_xfer(struct kube_http_xfer *x, int rc, struct ks_err *err);

/* ---- queues (invariant 4) ---- */

static void q_push(struct xfer_queue *q, struct kube_http_xfer *x)
{
	x->queue = q;
	x->qnext = NULL;
	x->qprev = q->tail;
	if (q->tail)
		q->tail->qnext = x;
	else
		q->head = x;
	q->tail = x;
}

static void q_remove(struct kube_http_xfer *x)
{
	struct xfer_queue *q = x->queue;
	if (!q)
		return;
	if (x->qprev)
		x->qprev->qnext = x->qnext;
	else
		q->head = x->qnext;
	if (x->qnext)
		x->qnext->qprev = x->qprev;
	else
		q->tail = x->qprev;
	x->qprev = x->qnext = NULL;
	x->queue = NULL;
}

/* QUEUED: into the queue it belongs to now. */
static void enqueue(struct kube_http_xfer *x)
{
	struct kube_http *h = x->h;
	x->state = X_QUEUED;
	if (x->not_before_ms > ks_mono_ms())
		q_push(&h->delayed, x);
	else
		q_push(x->on_data ? &h->streamq : &h->shortq, x);
}

/* DONE or DEAD: no longer active, reaped by the outermost poll. */
static void retire(struct kube_http_xfer *x, enum xfer_state st)
{
	struct kube_http *h = x->h;
	q_remove(x);
	x->state = st;
	h->n_active--;
	x->dnext = h->dead;
	h->dead = x;
}

static void start_xfer(struct kube_http_xfer *x)
{
	struct kube_http *h = x->h;
	struct ks_err err = {0};
	struct kube_http_cred cred = {0};
	if (h->o.get_cred && h->o.get_cred(h->o.cred_ctx, &cred, &err)) {
		if (!err.code)
			err.code = KS_EAUTH;
		finish_xfer(x, err.code, &err);
		return;
	}
	if (h->plaintext_remote && (cred.token || cred.basic_user)) {
		/* A token or password over plain HTTP to another host is readable on the way. */
		ks_err_set(&err, KS_EAUTH,
			   "%s: refusing to send credentials over plain HTTP to %s (use https)",
			   x->path, h->server);
		finish_xfer(x, KS_EAUTH, &err);
		return;
	}
	if (x->easy)
		curl_easy_reset(x->easy);
	else
		x->easy = curl_easy_init();
	curl_slist_free_all(x->headers);
	x->headers = NULL;
	ks_buf_reset(&x->resp.body);
	ks_buf_reset(&x->pending);
	x->resp.status = 0;
	x->resp.content_type[0] = '\0';
	x->resp.attempts++;
	x->status_known = x->stream_mode = x->too_big = false;
	x->retry_after_s = -1;
	x->errbuf[0] = '\0';

	CURL *e = x->easy;
	char *url = ks_asprintf("%s%s", h->url_base, x->path);
	curl_easy_setopt(e, CURLOPT_URL, url);
	free(url);
	curl_easy_setopt(e, CURLOPT_PRIVATE, x);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
	curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(e, CURLOPT_USERAGENT, h->user_agent);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	if (!h->o.no_compression)
		curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "gzip");
	if (h->connect_to)
		curl_easy_setopt(e, CURLOPT_CONNECT_TO, h->connect_to);
	if (h->proxy_url)
		curl_easy_setopt(e, CURLOPT_PROXY, h->proxy_url);
	if (h->ca) {
		struct curl_blob ca = {h->ca, h->ca_len, CURL_BLOB_NOCOPY};
		curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &ca);
	}
	if (h->o.insecure) {
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	long timeout = x->timeout_ms == 0 ? h->o.timeout_ms : x->timeout_ms;
	if (timeout > 0)
		curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout);
	if (x->idle_timeout_s > 0) {
		curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
		curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, x->idle_timeout_s);
	}
	char *hdr = ks_asprintf("Accept: %s", x->accept ? x->accept : "application/json");
	x->headers = curl_slist_append(x->headers, hdr);
	free(hdr);
	if (x->body) {
		hdr = ks_asprintf("Content-Type: %s",
				  x->content_type ? x->content_type : "application/json");
		x->headers = curl_slist_append(x->headers, hdr);
		free(hdr);
	}
	set_cred_headers(x, &cred);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->headers);
	if (!strcmp(x->method, "GET")) {
		curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
	} else if (!strcmp(x->method, "POST") && x->body) {
		curl_easy_setopt(e, CURLOPT_POST, 1L);
	} else {
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, x->method);
	}
	if (x->body) {
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, x->body);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)x->body_len);
	}
	x->started_ms = ks_mono_ms();
	x->state = X_RUNNING;
	h->inflight += !x->on_data;
	h->stats.requests++;
	curl_multi_add_handle(h->multi, e);
}

int kube_http_verb(const char *method, const char *path)
{
	if (!strcmp(method, "POST"))
		return KS_OP_KUBE_CREATE;
	if (!strcmp(method, "PUT"))
		return KS_OP_KUBE_UPDATE;
	if (!strcmp(method, "PATCH"))
		return KS_OP_KUBE_PATCH;
	if (!strcmp(method, "DELETE"))
		return KS_OP_KUBE_DELETE;
	if (strcmp(method, "GET"))
		return KS_OP_KUBE_OTHER;
	const char *q = strchr(path, '?');
	size_t plen = q ? (size_t)(q - path) : strlen(path);
	if (q && (strstr(q, "watch=1") || strstr(q, "watch=true")))
		return KS_OP_KUBE_WATCH;
	/* segments after /api/V or /apis/G/V, without namespaces/NS */
	const char *p = path;
	int skip;
	if (!strncmp(p, "/api/", 5))
		skip = 2;
	else if (!strncmp(p, "/apis/", 6))
		skip = 3;
	else
		return KS_OP_KUBE_GET; /* /version, /openapi, discovery */
	const char *seg[8];
	size_t seglen[8], n = 0;
	for (const char *s = p + 1; s < path + plen && n < 8;) {
		const char *e = memchr(s, '/', (size_t)(path + plen - s));
		if (!e)
			e = path + plen;
		if (e > s) {
			seg[n] = s;
			seglen[n++] = (size_t)(e - s);
		}
		s = e + 1;
	}
	size_t i = (size_t)skip;
	if (n <= i)
		return KS_OP_KUBE_GET; /* a group's discovery document */
	if (n >= i + 3 && seglen[i] == 10 && !memcmp(seg[i], "namespaces", 10))
		i += 2;
	return n - i == 1 ? KS_OP_KUBE_LIST : KS_OP_KUBE_GET;
}

struct kube_http_xfer *kube_http_start(struct kube_http *h, const struct kube_http_req *req,
				       kube_http_done_fn done, void *ctx)
{
	ks_op_count((enum ks_op)kube_http_verb(req->method ? req->method : "GET", req->path));
	struct kube_http_xfer *x = ks_calloc(1, sizeof *x);
	x->h = h;
	x->method = ks_strdup(req->method ? req->method : "GET");
	x->path = ks_strdup(req->path);
	x->accept = req->accept ? ks_strdup(req->accept) : NULL;
	x->content_type = req->content_type ? ks_strdup(req->content_type) : NULL;
	if (req->body) {
		x->body = ks_strndup(req->body, req->body_len);
		x->body_len = req->body_len;
	}
	x->timeout_ms = req->timeout_ms;
	x->idle_timeout_s = req->idle_timeout_s;
	x->no_retry = req->no_retry;
	x->on_data = req->on_data;
	x->data_ctx = req->data_ctx;
	x->done = done;
	x->ctx = ctx;
	ks_buf_init(&x->resp.body, h->o.max_response);
	ks_buf_init(&x->pending, MAX_PENDING_STREAM);
	x->next = h->all;
	if (h->all)
		h->all->prev = x;
	h->all = x;
	h->n_active++;
	enqueue(x);
	return x;
}

void kube_http_cancel(struct kube_http *h, struct kube_http_xfer *x)
{
	if (!x || x->state == X_DEAD || x->state == X_DONE)
		return;
	if (x->state == X_RUNNING) {
		curl_multi_remove_handle(h->multi, x->easy);
		curl_easy_cleanup(x->easy);
		x->easy = NULL;
		h->inflight -= !x->on_data;
	}
	retire(x, X_DEAD);
}

/* ---- finishing ---- */

int kube_http_status_error(long status, const char *body, size_t len, const char *what,
			   struct ks_err *err)
{
	int code;
	switch (status) {
	case 401:
	case 403: code = KS_EFORBIDDEN; break;
	case 404: code = KS_ENOTFOUND; break;
	case 409: code = KS_ECONFLICT; break;
	case 410: code = KS_EGONE; break;
	case 408:
	case 504: code = KS_ETIMEOUT; break;
	case 400:
	case 422: code = KS_EINVAL; break;
	case 413: code = KS_ETOOBIG; break;
	default: code = KS_EHTTP;
	}
	const char *message = NULL, *reason = NULL;
	cJSON *st = body && len ? ks_json_parse(body, len, MAX_ERROR_BODY, NULL) : NULL;
	if (st && !strcmp(ks_json_str_or(st, "kind", ""), "Status")) {
		message = ks_json_str(st, "message");
		reason = ks_json_str(st, "reason");
	}
	if (err) {
		err->http_status = (int)status;
		snprintf(err->reason, sizeof err->reason, "%s", reason ? reason : "");
	}
	if (message) {
		ks_err_set(err, code, "%s: %s (HTTP %ld%s%s)", what, message, status,
			   reason ? ", " : "", reason ? reason : "");
	} else {
		/* Not a Status: quote the start of the body, on one line. */
		char snippet[201];
		size_t n = 0;
		for (size_t i = 0; body && i < len && n < sizeof snippet - 1; i++)
			snippet[n++] = (body[i] == '\n' || body[i] == '\r') ? ' ' : body[i];
		snippet[n] = '\0';
		ks_err_set(err, code, "%s: HTTP %ld%s%s", what, status, n ? ": " : "", snippet);
	}
	cJSON_Delete(st);
	return code;
}

static int curl_code_to_ks(CURLcode c)
{
	switch (c) {
	case CURLE_OPERATION_TIMEDOUT: return KS_ETIMEOUT;
	case CURLE_WRITE_ERROR: return KS_ETOOBIG;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_CONNECT:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_PARTIAL_FILE:
		return KS_ENET;
	default: return KS_ENET;
	}
}

static void finish_xfer(struct kube_http_xfer *x, int rc, struct ks_err *err)
{
	retire(x, X_DONE);
	if (x->done)
		x->done(x->ctx, &x->resp, rc, err);
}

/* Deliver buffered stream bytes; returns false when the consumer stopped the stream. */
static bool deliver_pending(struct kube_http_xfer *x)
{
	if (!x->pending.len || x->state != X_RUNNING || x->abort_rc)
		return true;
	int rc = x->on_data(x->data_ctx, x->pending.data, x->pending.len);
	ks_buf_reset(&x->pending);
	if (rc) {
		x->abort_rc = rc;
		return false;
	}
	return true;
}

static void complete(struct kube_http_xfer *x, CURLcode cc)
{
	struct kube_http *h = x->h;
	struct ks_err err = {0};
	long status = 0;
	curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
	x->resp.status = status;
	if (x->stream_mode)
		deliver_pending(x);
	curl_multi_remove_handle(h->multi, x->easy);
	x->state = X_QUEUED; /* not in the multi any more */
	h->inflight -= !x->on_data;
	char what[300];
	snprintf(what, sizeof what, "%s %s", x->method, x->path);
	KS_DEBUG("http", "%s -> %ld in %lld ms (attempt %d)", what, status,
		 (long long)(ks_mono_ms() - x->started_ms), x->resp.attempts);

	if (x->abort_rc) {
		ks_err_set(&err, x->abort_rc, "%s: stream stopped by its reader", what);
		finish_xfer(x, x->abort_rc, &err);
		return;
	}
	if (cc != CURLE_OK && !(cc == CURLE_WRITE_ERROR && !x->too_big)) {
		int code = x->too_big ? KS_ETOOBIG : curl_code_to_ks(cc);
		if (x->too_big)
			ks_err_set(&err, code, "%s: response larger than the %zu-byte limit", what,
				   x->stream_mode ? MAX_PENDING_STREAM : h->o.max_response);
		else
			ks_err_set(&err, code, "%s: %s", what,
				   x->errbuf[0] ? x->errbuf : curl_easy_strerror(cc));
		finish_xfer(x, code, &err);
		return;
	}
	bool retry_status = !x->no_retry &&
			    (status == 429 || (status >= 500 && x->retry_after_s >= 0));
	if (retry_status && x->retries < h->o.max_retries) {
		long wait = x->retry_after_s >= 0 ? x->retry_after_s : 1;
		x->retries++;
		h->stats.retries++;
		x->not_before_ms = ks_mono_ms() + wait * 1000;
		KS_INFO("http", "%s: HTTP %ld, retrying in %lds (retry %d of %d)", what, status, wait,
			x->retries, h->o.max_retries);
		enqueue(x);
		return;
	}
	if (status == 401 && !x->retried_401 && h->o.invalidate_cred) {
		x->retried_401 = true;
		h->o.invalidate_cred(h->o.cred_ctx);
		x->not_before_ms = 0;
		enqueue(x);
		return;
	}
	if (status >= 200 && status < 300) {
		finish_xfer(x, 0, NULL);
		return;
	}
	int code = kube_http_status_error(status, x->resp.body.data, x->resp.body.len, what, &err);
	finish_xfer(x, code, &err);
}

static void refill(struct kube_http *h)
{
	int64_t now = ks_mono_ms();
	h->tokens += (double)(now - h->refill_ms) * h->o.qps / 1000.0;
	if (h->tokens > h->o.burst)
		h->tokens = h->o.burst;
	h->refill_ms = now;
}

/* Start what may start; returns ms until the next queued transfer may, or -1. */
static long start_ready(struct kube_http *h)
{
	long wait = -1;
	int64_t now = ks_mono_ms();
	refill(h);
	/* Retries whose Retry-After has passed join the back of their queue. */
	for (struct kube_http_xfer *x = h->delayed.head, *n; x; x = n) {
		n = x->qnext;
		if (x->not_before_ms <= now) {
			q_remove(x);
			q_push(x->on_data ? &h->streamq : &h->shortq, x);
		} else {
			long w = (long)(x->not_before_ms - now);
			wait = wait < 0 || w < wait ? w : wait;
		}
	}
	/* Streams first (watches must not starve behind a burst of writes), oldest first. */
	struct xfer_queue *queues[] = {&h->streamq, &h->shortq};
	for (size_t i = 0; i < KS_ARRAY_LEN(queues); i++) {
		struct xfer_queue *q = queues[i];
		while (q->head) {
			struct kube_http_xfer *x = q->head;
			if (!x->on_data && h->inflight >= MAX_INFLIGHT)
				break; /* started when one in flight completes */
			if (h->tokens < 1.0) {
				long w = (long)((1.0 - h->tokens) * 1000.0 / h->o.qps) + 1;
				return wait < 0 || w < wait ? w : wait;
			}
			h->tokens -= 1.0;
			q_remove(x);
			start_xfer(x);
		}
	}
	return wait;
}

/* Only after dispatch in the same poll: a dead transfer may still sit in with_data until
 * dispatch has walked that list. */
static void reap(struct kube_http *h)
{
	if (h->with_data)
		return; /* dispatch has not seen everything yet: reap next time */
	while (h->dead) {
		struct kube_http_xfer *x = h->dead;
		h->dead = x->dnext;
		if (x->prev)
			x->prev->next = x->next;
		else
			h->all = x->next;
		if (x->next)
			x->next->prev = x->prev;
		xfer_free(x);
	}
}

/* Deliver stream bytes, then completions (invariant 3), outside libcurl (invariant 1).
 * Returns how many transfers made progress. */
static int dispatch(struct kube_http *h)
{
	int progressed = 0;
	/* Take the list: callbacks may add to a new one. Freed only by reap (invariant 2). */
	struct kube_http_xfer *list = h->with_data;
	h->with_data = NULL;
	for (struct kube_http_xfer *x = list, *n; x; x = n) {
		n = x->wnext;
		x->in_with_data = false;
		if (x->state == X_RUNNING && x->stream_mode && x->pending.len) {
			progressed++;
			if (!deliver_pending(x))
				complete(x, CURLE_OK); /* the reader stopped the stream */
		}
	}
	CURLMsg *m;
	int left;
	while ((m = curl_multi_info_read(h->multi, &left))) {
		if (m->msg != CURLMSG_DONE)
			continue;
		struct kube_http_xfer *x = NULL;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
		if (x && x->state == X_RUNNING) {
			complete(x, m->data.result);
			progressed++;
		}
	}
	return progressed;
}

int kube_http_poll(struct kube_http *h, long timeout_ms)
{
	h->depth++;
	long wait = start_ready(h);
	int running = 0;
	curl_multi_perform(h->multi, &running);
	/* What the first perform finished must not wait for the next socket event. */
	if (!dispatch(h)) {
		long t = timeout_ms < 0 ? 1000 : timeout_ms;
		if (wait >= 0 && wait < t)
			t = wait;
		long ct = -1;
		curl_multi_timeout(h->multi, &ct);
		if (ct >= 0 && ct < t)
			t = ct;
		if (t > 0)
			curl_multi_poll(h->multi, NULL, 0, (int)t, NULL);
		curl_multi_perform(h->multi, &running);
		dispatch(h);
	}
	start_ready(h);
	h->depth--;
	if (h->depth == 0)
		reap(h);
	return h->n_active;
}

void kube_http_wakeup(struct kube_http *h)
{
	curl_multi_wakeup(h->multi);
}

struct sync_result {
	bool done;
	int rc;
	struct ks_err err;
	struct kube_http_resp *resp;
};

static void sync_done(void *ctx, struct kube_http_resp *resp, int rc, const struct ks_err *err)
{
	struct sync_result *r = ctx;
	r->done = true;
	r->rc = rc;
	if (err)
		r->err = *err;
	/* Move the body out: the transfer is freed after this call. */
	r->resp->status = resp->status;
	r->resp->attempts = resp->attempts;
	memcpy(r->resp->content_type, resp->content_type, sizeof resp->content_type);
	ks_buf_release(&r->resp->body);
	r->resp->body = resp->body;
	ks_buf_init(&resp->body, resp->body.max);
}

int kube_http_do(struct kube_http *h, const struct kube_http_req *req,
		 struct kube_http_resp *resp, struct ks_err *err)
{
	memset(resp, 0, sizeof *resp);
	ks_buf_init(&resp->body, h->o.max_response);
	struct sync_result r = {.resp = resp};
	kube_http_start(h, req, sync_done, &r);
	while (!r.done)
		kube_http_poll(h, 1000);
	if (r.rc && err)
		*err = r.err;
	return r.rc;
}

void kube_http_resp_release(struct kube_http_resp *resp)
{
	ks_buf_release(&resp->body);
}
