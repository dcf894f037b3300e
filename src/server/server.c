/* server.c — the daemon's HTTP server (routes and contract in server.h, docs/API.md).
 * libmicrohttpd calls on_request several times per request: first with no context (we make
 * a struct request: start time, body buffer), then with upload chunks (appended up to
 * SERVER_MAX_BODY), then once with no data, when the route runs. A larger body is answered
 * 413 (answer_too_big says when). on_completed logs one line and counts the request in the self
 * metrics. The stream (GET /api/v1/stream) is handed to sse.c. Answers are JSON; errors are
 * {"error":"…","code":N}.
 * Stop order: quiesce (no new connections), unsubscribe from the bus, close every stream
 * (resuming the suspended ones), stop libmicrohttpd (which frees the streams), free.
 * bus_unsubscribe lets a callback already running in another thread finish; sse_hub_close_all
 * waits for one that holds the hub's lock, but one the bus has entered and that has not yet
 * taken it would touch a freed hub: the daemon stops publishing before server_stop. */
#include "base/common.h"
#include "base/buf.h"
#include "base/json.h"
#include "base/strutil.h"
#include "base/timeutil.h"
#include "server/apireq.h"
#include "server/selfmetrics.h"
#include "server/server.h"
#include "server/sse.h"
#include "server/webui.h"
#include "store/store.h"
#include "swarm/bus.h"
#include "swarm/msg.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define ADDR_MAX 64
#define STREAM_ROUTE "/api/v1/stream"
/* Bytes of an oversized body read (and dropped) before the 413 goes out. */
#define DISCARD_MAX ((size_t)1 << 20)

struct server {
	struct server_handlers h;
	char *token; /* NULL: no auth */
	bool auth_reads;
	struct bus *bus;
	struct store *store;
	struct MHD_Daemon *d;
	struct sse_hub *hub;
	struct selfmetrics *metrics;
	int bus_sub;
	char addr[ADDR_MAX];
};

struct request {
	int64_t start_ns;
	struct ks_buf body;
	bool too_big;      /* the body is over SERVER_MAX_BODY */
	bool answered;     /* 413 queued before the body ended */
	size_t discarded;  /* bytes read past the cap */
	int status;
	const char *route; /* a route template, the metrics label */
	char method[8];
	char path[128];    /* printable copy for the log */
};

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- answers ---- */

static enum MHD_Result queue(struct MHD_Connection *c, struct request *rq, int status,
			     const char *content_type, char *text, size_t len)
{
	struct MHD_Response *r =
		MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(text);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", content_type);
	MHD_add_response_header(r, "Cache-Control", "no-store");
	if (status == 401)
		MHD_add_response_header(r, "WWW-Authenticate", "Bearer realm=\"kswarm\"");
	rq->status = status;
	enum MHD_Result ret = MHD_queue_response(c, (unsigned)status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result answer_json(struct MHD_Connection *c, struct request *rq, int status,
				   cJSON *j)
{
	char *text = ks_json_print(j);
	cJSON_Delete(j);
	return queue(c, rq, status, "application/json", text, strlen(text));
}

static enum MHD_Result answer_error(struct MHD_Connection *c, struct request *rq, int status,
				    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static enum MHD_Result answer_error(struct MHD_Connection *c, struct request *rq, int status,
				    const char *fmt, ...)
{
	char msg[KS_ERR_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "error", msg);
	cJSON_AddNumberToObject(j, "code", status);
	return answer_json(c, rq, status, j);
}

static int status_of(int code)
{
	switch (code) {
	case KS_ENOTFOUND:
		return 404;
	case KS_EINVAL:
		return 400;
	case KS_ECONFLICT:
		return 409;
	case KS_EFORBIDDEN:
		return 403;
	case KS_ETOOBIG:
		return 413;
	default:
		return 500;
	}
}

static enum MHD_Result answer_err(struct MHD_Connection *c, struct request *rq, int code,
				  const struct ks_err *err)
{
	int status = status_of(code);
	if (status == 500)
		KS_WARN("server", "%s %s: %s", rq->method, rq->path, err->msg);
	return answer_error(c, rq, status, "%s", err->msg[0] ? err->msg : ks_errcode_name(code));
}

/* A handler's answer: its tree, or its error. */
static enum MHD_Result answer_handler(struct MHD_Connection *c, struct request *rq, int rc,
				      cJSON *out, const struct ks_err *err)
{
	if (rc) {
		cJSON_Delete(out);
		return answer_err(c, rq, rc, err);
	}
	if (!out)
		out = cJSON_CreateNull();
	return answer_json(c, rq, 200, out);
}

static enum MHD_Result not_available(struct MHD_Connection *c, struct request *rq)
{
	return answer_error(c, rq, 501, "%s is not available in this daemon", rq->path);
}

/* ---- routes ---- */

static enum MHD_Result route_metrics(struct server *s, struct MHD_Connection *c,
				     struct request *rq)
{
	struct ks_buf out;
	ks_buf_init(&out, KS_BUF_UNLIMITED);
	struct ks_err err = {0};
	struct sse_hub_stats st;
	sse_hub_get_stats(s->hub, &st);
	selfmetrics_set(s->metrics, "kswarm_stream_clients", NULL, st.clients, NULL);
	selfmetrics_set(s->metrics, "kswarm_stream_frames", NULL, (double)st.frames, NULL);
	selfmetrics_set(s->metrics, "kswarm_stream_dropped_clients", NULL, (double)st.dropped,
			NULL);
	selfmetrics_set(s->metrics, "kswarm_stream_replayed_messages", NULL,
			(double)st.replayed, NULL);
	int rc = selfmetrics_render(s->metrics, &out, &err);
	if (!rc && s->h.metrics)
		rc = s->h.metrics(s->h.ctx, &out, &err);
	if (rc) {
		ks_buf_release(&out);
		return answer_err(c, rq, rc, &err);
	}
	size_t len = out.len;
	return queue(c, rq, 200, KS_PROM_CONTENT_TYPE, ks_buf_detach(&out), len);
}

struct filter_ctx {
	struct api_stream_filter *f;
	struct ks_err *err;
	int rc;
};

static enum MHD_Result filter_arg(void *cls, enum MHD_ValueKind kind, const char *key,
				  const char *value)
{
	struct filter_ctx *fc = cls;
	KS_UNUSED(kind);
	if (!fc->rc)
		fc->rc = api_stream_filter_set(fc->f, key, value ? value : "", fc->err);
	return fc->rc ? MHD_NO : MHD_YES;
}

static int query_filter(struct MHD_Connection *c, struct api_stream_filter *f,
			struct ks_err *err)
{
	struct filter_ctx fc = {.f = f, .err = err};
	*f = (struct api_stream_filter){0};
	MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, filter_arg, &fc);
	return fc.rc;
}

struct transcript_ctx {
	const struct api_stream_filter *f;
	cJSON *messages;
	int64_t last_seq;
	int count;
};

static int transcript_one(const struct swarm_msg *m, void *ctx)
{
	struct transcript_ctx *tc = ctx;
	tc->last_seq = m->seq;
	tc->count++;
	if (api_stream_filter_match(tc->f, m))
		cJSON_AddItemToArray(tc->messages, swarm_msg_to_json(m));
	return 0;
}

static enum MHD_Result route_transcript(struct server *s, struct MHD_Connection *c,
					struct request *rq)
{
	struct ks_err err = {0};
	int64_t since = 0;
	int limit;
	struct api_stream_filter f;
	const char *since_s = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "since");
	int rc = since_s && *since_s ? api_parse_seq(since_s, &since, &err) : 0;
	if (!rc)
		rc = api_parse_limit(MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND,
								 "limit"),
				     API_TRANSCRIPT_LIMIT_DEFAULT, API_TRANSCRIPT_LIMIT_MAX, &limit,
				     &err);
	if (!rc)
		rc = query_filter(c, &f, &err);
	if (rc)
		return answer_err(c, rq, rc, &err);
	struct transcript_ctx tc = {.f = &f, .messages = cJSON_CreateArray(), .last_seq = since};
	rc = store_msgs_since(s->store, since, limit, transcript_one, &tc, &err);
	if (rc) {
		cJSON_Delete(tc.messages);
		return answer_err(c, rq, rc, &err);
	}
	cJSON *j = cJSON_CreateObject();
	cJSON_AddItemToObject(j, "messages", tc.messages);
	cJSON_AddNumberToObject(j, "next_since", (double)tc.last_seq);
	cJSON_AddBoolToObject(j, "more", tc.count == limit);
	return answer_json(c, rq, 200, j);
}

static enum MHD_Result route_stream(struct server *s, struct MHD_Connection *c,
				    struct request *rq)
{
	struct ks_err err = {0};
	int64_t since = -1;
	struct api_stream_filter f;
	const char *last = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Last-Event-ID");
	const char *since_s = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "since");
	const char *from = last && *last ? last : since_s && *since_s ? since_s : NULL;
	int rc = from ? api_parse_seq(from, &since, &err) : 0;
	if (!rc)
		rc = query_filter(c, &f, &err);
	if (rc)
		return answer_err(c, rq, rc, &err);
	struct MHD_Response *r = sse_open(s->hub, c, since, &f, &err);
	if (!r)
		return answer_error(c, rq, 503, "%s", err.msg);
	rq->status = 200;
	enum MHD_Result ret = MHD_queue_response(c, 200, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result route_decision(struct server *s, struct MHD_Connection *c,
				      struct request *rq, const char *plan_id, bool approve)
{
	struct ks_err err = {0};
	struct api_decision d;
	const char *body = rq->body.data ? rq->body.data : "";
	int rc = approve ? api_parse_approve(body, rq->body.len, &d, &err)
			 : api_parse_reject(body, rq->body.len, &d, &err);
	if (rc)
		return answer_err(c, rq, rc, &err);
	if (!(approve ? s->h.approve : s->h.reject)) {
		api_decision_release(&d);
		return not_available(c, rq);
	}
	const char *by = d.by[0] ? d.by : "api";
	rc = approve ? s->h.approve(s->h.ctx, plan_id, by, d.text, &err)
		     : s->h.reject(s->h.ctx, plan_id, by, d.text, &err);
	api_decision_release(&d);
	if (rc)
		return answer_err(c, rq, rc, &err);
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "plan_id", plan_id);
	cJSON_AddStringToObject(j, "result", approve ? "approved" : "rejected");
	cJSON_AddStringToObject(j, "by", by);
	return answer_json(c, rq, 200, j);
}

static enum MHD_Result route_ask(struct server *s, struct MHD_Connection *c,
				 struct request *rq)
{
	struct ks_err err = {0};
	char *question;
	int rc = api_parse_ask(rq->body.data ? rq->body.data : "", rq->body.len, &question, &err);
	if (rc)
		return answer_err(c, rq, rc, &err);
	if (!s->h.ask) {
		free(question);
		return not_available(c, rq);
	}
	cJSON *out = NULL;
	rc = s->h.ask(s->h.ctx, question, &out, &err);
	free(question);
	return answer_handler(c, rq, rc, out, &err);
}

/* A GET answered by a handler without arguments. */
static enum MHD_Result route_simple(struct server *s, struct MHD_Connection *c,
				    struct request *rq,
				    int (*fn)(void *, cJSON **, struct ks_err *))
{
	if (!fn)
		return not_available(c, rq);
	struct ks_err err = {0};
	cJSON *out = NULL;
	int rc = fn(s->h.ctx, &out, &err);
	return answer_handler(c, rq, rc, out, &err);
}

static bool authorized(struct server *s, struct MHD_Connection *c, bool mutating)
{
	if (!s->token || (!mutating && !s->auth_reads))
		return true;
	return api_bearer_ok(MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization"),
			     s->token);
}

static enum MHD_Result method_not_allowed(struct MHD_Connection *c, struct request *rq,
					  const char *allow)
{
	return answer_error(c, rq, 405, "%s %s: method not allowed (use %s)", rq->method,
			    rq->path, allow);
}

/* Dispatch /api/v1/... (prefix stripped: rest is "plans/p3/approve"). */
static enum MHD_Result route_api(struct server *s, struct MHD_Connection *c,
				 struct request *rq, const char *rest)
{
	bool get = !strcmp(rq->method, "GET"), post = !strcmp(rq->method, "POST");
	/* Plan paths: plans, plans/ID, plans/ID/approve, plans/ID/reject. */
	char plan_id[API_PLAN_ID_MAX] = "";
	const char *action = NULL;
	if (!strncmp(rest, "plans/", 6)) {
		const char *id = rest + 6;
		size_t n = strcspn(id, "/");
		action = id[n] == '/' ? id + n + 1 : "";
		if (n == 0 || n >= sizeof plan_id)
			return answer_error(c, rq, 404, "no route %s", rq->path);
		memcpy(plan_id, id, n);
		plan_id[n] = '\0';
		rq->route = !*action			 ? "/api/v1/plans/{id}"
			    : !strcmp(action, "approve") ? "/api/v1/plans/{id}/approve"
			    : !strcmp(action, "reject")	 ? "/api/v1/plans/{id}/reject"
							 : NULL;
		if (!rq->route)
			return answer_error(c, rq, 404, "no route %s", rq->path);
	} else {
		static const char *const plain[] = {
			"/api/v1/findings",   "/api/v1/cost", "/api/v1/cost/history",
			"/api/v1/proposals",  "/api/v1/plans", "/api/v1/transcript",
			STREAM_ROUTE,	      "/api/v1/ask"};
		for (size_t i = 0; i < KS_ARRAY_LEN(plain) && !rq->route; i++)
			if (!strcmp(rest, plain[i] + strlen("/api/v1/")))
				rq->route = plain[i];
		if (!rq->route)
			return answer_error(c, rq, 404, "no route %s", rq->path);
	}
	bool mutating = action && *action ? true : !strcmp(rest, "ask");
	if (mutating ? !post : !get)
		return method_not_allowed(c, rq, mutating ? "POST" : "GET");
	if (!authorized(s, c, mutating))
		return answer_error(c, rq, 401, "missing or wrong bearer token");
	if (action) {
		if (!api_plan_id_valid(plan_id))
			return answer_error(c, rq, 404, "no plan '%s' (not a plan id)", plan_id);
		if (*action)
			return route_decision(s, c, rq, plan_id, !strcmp(action, "approve"));
		if (!s->h.plan_get)
			return not_available(c, rq);
		struct ks_err err = {0};
		cJSON *out = NULL;
		int rc = s->h.plan_get(s->h.ctx, plan_id, &out, &err);
		return answer_handler(c, rq, rc, out, &err);
	}
	if (!strcmp(rest, "findings"))
		return route_simple(s, c, rq, s->h.findings);
	if (!strcmp(rest, "cost"))
		return route_simple(s, c, rq, s->h.cost);
	if (!strcmp(rest, "cost/history"))
		return route_simple(s, c, rq, s->h.cost_history);
	if (!strcmp(rest, "proposals"))
		return route_simple(s, c, rq, s->h.proposals);
	if (!strcmp(rest, "transcript"))
		return route_transcript(s, c, rq);
	if (!strcmp(rest, "stream"))
		return route_stream(s, c, rq);
	if (!strcmp(rest, "ask"))
		return route_ask(s, c, rq);
	/* plans */
	if (!s->h.plans_list)
		return not_available(c, rq);
	const char *status = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "status");
	struct ks_err err = {0};
	cJSON *out = NULL;
	int rc = s->h.plans_list(s->h.ctx, status && *status ? status : NULL, &out, &err);
	return answer_handler(c, rq, rc, out, &err);
}

/* The web UI's files (webui.h): no auth, revalidated by ETag, one CSP (self only). */
static enum MHD_Result route_ui(struct MHD_Connection *c, struct request *rq, const char *url)
{
	rq->route = "/ui";
	if (strcmp(rq->method, "GET") && strcmp(rq->method, "HEAD"))
		return method_not_allowed(c, rq, "GET");
	struct webui_asset a;
	if (!webui_find(url, &a))
		return answer_error(c, rq, 404, "no such file %s", rq->path);
	bool fresh = webui_etag_matches(
		MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_NONE_MATCH),
		a.etag);
	struct MHD_Response *r = MHD_create_response_from_buffer(
		fresh ? 0 : a.len, fresh ? NULL : (void *)a.data, MHD_RESPMEM_PERSISTENT);
	if (!r)
		return MHD_NO;
	if (!fresh)
		MHD_add_response_header(r, "Content-Type", a.content_type);
	MHD_add_response_header(r, "ETag", a.etag);
	MHD_add_response_header(r, "Cache-Control", "no-cache");
	MHD_add_response_header(r, "Content-Security-Policy", WEBUI_CSP);
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
	rq->status = fresh ? 304 : 200;
	enum MHD_Result ret = MHD_queue_response(c, (unsigned)rq->status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result route(struct server *s, struct MHD_Connection *c, struct request *rq,
			     const char *url)
{
	static const char api[] = "/api/v1/";
	if (!strcmp(url, "/healthz") || !strcmp(url, "/metrics")) {
		rq->route = !strcmp(url, "/healthz") ? "/healthz" : "/metrics";
		if (strcmp(rq->method, "GET") && strcmp(rq->method, "HEAD"))
			return method_not_allowed(c, rq, "GET");
		if (!strcmp(url, "/metrics"))
			return route_metrics(s, c, rq);
		return queue(c, rq, 200, "text/plain; charset=utf-8", ks_strdup("ok\n"), 3);
	}
	if (!strncmp(url, api, sizeof api - 1))
		return route_api(s, c, rq, url + sizeof api - 1);
	if (webui_is_ui_url(url))
		return route_ui(c, rq, url);
	rq->route = "other";
	return answer_error(c, rq, 404, "no route %s", rq->path);
}

/* ---- libmicrohttpd glue ---- */

static void printable_copy(char *dst, size_t cap, const char *src)
{
	size_t i = 0;
	for (; src[i] && i + 1 < cap; i++) {
		unsigned char ch = (unsigned char)src[i];
		dst[i] = ch < 0x20 || ch >= 0x7f || ch == '"' || ch == '\\' ? '?' : (char)ch;
	}
	dst[i] = '\0';
}

/* The 413 answer. Bodies up to DISCARD_MAX are read to their end first (answering while the
 * client still sends makes the kernel reset the connection, and the client may lose the
 * answer); past that the answer goes at once and libmicrohttpd closes the connection. */
static enum MHD_Result answer_too_big(struct MHD_Connection *c, struct request *rq)
{
	rq->route = "other";
	rq->answered = true;
	return answer_error(c, rq, 413, "request body larger than %d bytes", SERVER_MAX_BODY);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version,
				  const char *upload_data, size_t *upload_size, void **con_cls)
{
	struct server *s = cls;
	struct request *rq = *con_cls;
	KS_UNUSED(version);
	if (!rq) {
		rq = ks_calloc(1, sizeof *rq);
		rq->start_ns = now_ns();
		ks_buf_init(&rq->body, SERVER_MAX_BODY);
		printable_copy(rq->method, sizeof rq->method, method);
		printable_copy(rq->path, sizeof rq->path, url);
		*con_cls = rq;
		const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
							     MHD_HTTP_HEADER_CONTENT_LENGTH);
		int64_t declared;
		if (cl && ks_parse_int64(cl, &declared) && declared > SERVER_MAX_BODY) {
			rq->too_big = true;
			if ((uint64_t)declared > DISCARD_MAX)
				return answer_too_big(c, rq);
		}
		return MHD_YES;
	}
	if (*upload_size) {
		size_t n = *upload_size;
		*upload_size = 0;
		if (rq->answered)
			return MHD_YES;
		if (!rq->too_big && ks_buf_append(&rq->body, upload_data, n))
			rq->too_big = true;
		if (rq->too_big) {
			rq->discarded += n;
			if (rq->discarded > DISCARD_MAX)
				return answer_too_big(c, rq);
		}
		return MHD_YES;
	}
	if (rq->answered)
		return MHD_YES;
	if (rq->too_big)
		return answer_too_big(c, rq);
	return route(s, c, rq, url);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct server *s = cls;
	struct request *rq = *con_cls;
	KS_UNUSED(c);
	if (!rq)
		return;
	double secs = (double)(now_ns() - rq->start_ns) / 1e9;
	KS_INFO("server", "http method=%s path=\"%s\" status=%d duration_ms=%.1f%s", rq->method,
		rq->path, rq->status, secs * 1e3,
		toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " aborted=true");
	const char *route = rq->route ? rq->route : "other";
	char labels[160];
	snprintf(labels, sizeof labels, "route=\"%s\",code=\"%d\"", route, rq->status);
	selfmetrics_count(s->metrics, "kswarm_http_requests_total", labels, 1, NULL);
	if (strcmp(route, STREAM_ROUTE)) {
		snprintf(labels, sizeof labels, "route=\"%s\"", route);
		selfmetrics_observe(s->metrics, "kswarm_http_request_duration_seconds", labels,
				    secs, NULL);
	}
	ks_buf_release(&rq->body);
	free(rq);
	*con_cls = NULL;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char line[512];
	KS_UNUSED(cls);
	vsnprintf(line, sizeof line, fmt, ap);
	size_t n = strlen(line);
	while (n && line[n - 1] == '\n')
		line[--n] = '\0';
	KS_DEBUG("server", "libmicrohttpd: %s", line);
}

/* "127.0.0.1:8080", "[::1]:8080" into a socket address. */
static int parse_listen(const char *listen, struct sockaddr_storage *ss, bool *ipv6,
			bool *loopback, struct ks_err *err)
{
	char host[64];
	const char *colon = strrchr(listen, ':');
	const char *h = listen;
	size_t hl = colon ? (size_t)(colon - listen) : 0;
	if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
		h++;
		hl -= 2;
	}
	int64_t port;
	if (!colon || !hl || hl >= sizeof host || !ks_parse_int64(colon + 1, &port) ||
	    port < 0 || port > 65535)
		return ks_err_set(err, KS_EINVAL, "listen address '%s': expected HOST:PORT",
				  listen);
	memcpy(host, h, hl);
	host[hl] = '\0';
	memset(ss, 0, sizeof *ss);
	struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons((uint16_t)port);
		*ipv6 = false;
		*loopback = (ntohl(v4->sin_addr.s_addr) >> 24) == 127;
		return 0;
	}
	if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons((uint16_t)port);
		*ipv6 = true;
		*loopback = IN6_IS_ADDR_LOOPBACK(&v6->sin6_addr);
		return 0;
	}
	return ks_err_set(err, KS_EINVAL,
			  "listen address '%s': '%s' is not an IPv4 or IPv6 address", listen,
			  host);
}

int server_start(const struct server_opts *o, struct server **out, struct ks_err *err)
{
	*out = NULL;
	if (!o->bus || !o->store)
		return ks_err_set(err, KS_EINVAL, "server: a bus and a store are required");
	const char *listen = o->listen && *o->listen ? o->listen : "127.0.0.1:8080";
	struct sockaddr_storage ss;
	bool ipv6 = false, loopback = false;
	int rc = parse_listen(listen, &ss, &ipv6, &loopback, err);
	if (rc)
		return rc;
	bool auth = o->token && *o->token;
	if (!auth && !loopback)
		return ks_err_set(err, KS_EINVAL,
				  "listen address '%s' is not loopback: a token is required",
				  listen);
	struct server *s = ks_calloc(1, sizeof *s);
	s->h = o->handlers;
	s->token = auth ? ks_strdup(o->token) : NULL;
	s->auth_reads = o->auth_reads;
	s->bus = o->bus;
	s->store = o->store;
	s->metrics = selfmetrics_new();
	int max_clients = o->max_stream_clients > 0 ? o->max_stream_clients : 2000;
	s->hub = sse_hub_new(o->store, max_clients);
	selfmetrics_describe(s->metrics, "kswarm_http_requests_total", KS_PROM_COUNTER,
			     "HTTP requests answered, by route and status code.", NULL);
	selfmetrics_describe(s->metrics, "kswarm_http_request_duration_seconds",
			     KS_PROM_HISTOGRAM, "Time to answer an HTTP request (not streams).",
			     NULL);
	selfmetrics_describe(s->metrics, "kswarm_stream_clients", KS_PROM_GAUGE,
			     "Connected /api/v1/stream clients.", NULL);
	selfmetrics_describe(s->metrics, "kswarm_stream_frames", KS_PROM_GAUGE,
			     "Message frames queued to stream clients since start.", NULL);
	selfmetrics_describe(s->metrics, "kswarm_stream_dropped_clients", KS_PROM_GAUGE,
			     "Stream clients closed for falling behind, since start.", NULL);
	selfmetrics_describe(s->metrics, "kswarm_stream_replayed_messages", KS_PROM_GAUGE,
			     "Messages read back from the transcript for resuming clients.", NULL);
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO |
			 MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
	if (ipv6)
		flags |= MHD_USE_IPv6;
	unsigned threads = o->threads > 0 ? (unsigned)o->threads : 2;
	s->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, s,
				MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s,
				MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
				MHD_OPTION_THREAD_POOL_SIZE, threads,
				MHD_OPTION_CONNECTION_LIMIT, (unsigned)max_clients + 256,
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60,
				MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_END);
	if (!s->d) {
		rc = ks_err_set(err, KS_EIO, "cannot listen on %s (in use, or not an address of "
				"this host?)", listen);
		goto fail;
	}
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
	char host[INET6_ADDRSTRLEN];
	if (ipv6)
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, host, sizeof host);
	else
		inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, host, sizeof host);
	snprintf(s->addr, sizeof s->addr, ipv6 ? "[%s]:%u" : "%s:%u", host,
		 info ? (unsigned)info->port : 0);
	s->bus_sub = bus_subscribe(s->bus, &(struct bus_filter){0}, sse_hub_publish, s->hub);
	KS_INFO("server", "listening on http://%s (auth %s)", s->addr,
		!auth ? "off" : s->auth_reads ? "on for every /api call" : "on for POST");
	*out = s;
	return 0;
fail:
	sse_hub_free(s->hub);
	selfmetrics_free(s->metrics);
	free(s->token);
	free(s);
	return rc;
}

const char *server_address(const struct server *s)
{
	return s->addr;
}

struct sse_hub *server_sse_hub(struct server *s)
{
	return s->hub;
}

void server_stop(struct server *s)
{
	if (!s)
		return;
	MHD_socket ls = MHD_quiesce_daemon(s->d);
	if (ls != MHD_INVALID_SOCKET)
		close(ls);
	bus_unsubscribe(s->bus, s->bus_sub);
	sse_hub_close_all(s->hub);
	MHD_stop_daemon(s->d);
	sse_hub_free(s->hub);
	selfmetrics_free(s->metrics);
	free(s->token);
	free(s);
}

void server_count(struct server *s, const char *family, const char *labels, double add)
{
	struct ks_err err = {0};
	if (selfmetrics_count(s->metrics, family, labels, add, &err))
		KS_WARN("server", "metric %s: %s", family, err.msg);
}
