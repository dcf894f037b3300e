/* test_server.c — the daemon's HTTP server (src/server): started on 127.0.0.1:0 with an
 * in-memory store, a real bus and test handlers returning fixed JSON (the server is what is
 * tested). Every route; auth (none, missing, wrong token, auth on reads); the body cap (413);
 * bad JSON and bad fields (400); 404/405; /metrics; the transcript; the stream: order and
 * ids, resume with Last-Event-ID while messages keep coming (no gap, no duplicate), ?since=,
 * filters, pings, a slow client closed and resumed, the client limit (503), 200 concurrent
 * clients, stopping with clients attached. Also the request parsers, the self-metrics
 * registry, the API client's errors and the CLI's text renderings. */
#include "testutil.h"

#include "base/buf.h"
#include "base/json.h"
#include "server/apiclient.h"
#include "server/apireq.h"
#include "server/selfmetrics.h"
#include "server/server.h"
#include "server/sse.h"
#include "server/webui.h"
#include "store/store.h"
#include "swarm/bus.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define TOKEN "s3cret-token"

/* ---- test handlers ---- */

struct calls {
	pthread_mutex_t mu;
	char last[512]; /* "approve p3 by=alice comment=ok" */
	char status[32];
};

static int h_findings(void *ctx, cJSON **out, struct ks_err *err)
{
	KS_UNUSED(ctx);
	KS_UNUSED(err);
	*out = ks_json_parse("[{\"cause\":\"CrashLoop\"}]", 23, 1024, NULL);
	return 0;
}

static int h_cost(void *ctx, cJSON **out, struct ks_err *err)
{
	KS_UNUSED(ctx);
	KS_UNUSED(err);
	*out = cJSON_CreateObject();
	cJSON_AddNumberToObject(*out, "per_hour", 1.5);
	return 0;
}

static int h_cost_history(void *ctx, cJSON **out, struct ks_err *err)
{
	KS_UNUSED(ctx);
	KS_UNUSED(err);
	const char *text = "{\"samples\":[{\"t\":1,\"usd_per_hour\":2},"
			   "{\"t\":2,\"usd_per_hour\":3}],\"forecast\":[]}";
	*out = ks_json_parse(text, strlen(text), 4096, NULL);
	return 0;
}

static int h_proposals(void *ctx, cJSON **out, struct ks_err *err)
{
	KS_UNUSED(ctx);
	return ks_err_set(err, KS_EIO, "proposals exploded");
	*out = NULL;
}

static int h_plans_list(void *ctx, const char *status, cJSON **out, struct ks_err *err)
{
	struct calls *c = ctx;
	KS_UNUSED(err);
	pthread_mutex_lock(&c->mu);
	snprintf(c->status, sizeof c->status, "%s", status ? status : "(all)");
	pthread_mutex_unlock(&c->mu);
	const char *text = "[{\"plan_id\":\"p3\",\"status\":\"pending\",\"risk\":\"low\","
			   "\"title\":\"Right-size shop/web\",\"created\":\"2026-11-21T10:00:00Z\","
			   "\"savings_per_month\":42.5}]";
	*out = ks_json_parse(text, strlen(text), 4096, NULL);
	return 0;
}

static int h_plan_get(void *ctx, const char *plan_id, cJSON **out, struct ks_err *err)
{
	KS_UNUSED(ctx);
	if (strcmp(plan_id, "p3"))
		return ks_err_set(err, KS_ENOTFOUND, "no plan %s", plan_id);
	*out = cJSON_CreateObject();
	cJSON_AddStringToObject(*out, "plan_id", "p3");
	cJSON_AddStringToObject(*out, "status", "pending");
	return 0;
}

static int h_approve(void *ctx, const char *plan_id, const char *by, const char *comment,
		     struct ks_err *err)
{
	struct calls *c = ctx;
	if (!strcmp(plan_id, "p9"))
		return ks_err_set(err, KS_ECONFLICT, "plan p9 is already done");
	pthread_mutex_lock(&c->mu);
	snprintf(c->last, sizeof c->last, "approve %s by=%s comment=%s", plan_id, by,
		 comment ? comment : "(none)");
	pthread_mutex_unlock(&c->mu);
	return 0;
}

static int h_reject(void *ctx, const char *plan_id, const char *by, const char *reason,
		    struct ks_err *err)
{
	struct calls *c = ctx;
	KS_UNUSED(err);
	pthread_mutex_lock(&c->mu);
	snprintf(c->last, sizeof c->last, "reject %s by=%s reason=%s", plan_id, by, reason);
	pthread_mutex_unlock(&c->mu);
	return 0;
}

static int h_ask(void *ctx, const char *question, cJSON **out, struct ks_err *err)
{
	KS_UNUSED(ctx);
	KS_UNUSED(err);
	*out = cJSON_CreateObject();
	char *a = ks_asprintf("You asked: %s", question);
	cJSON_AddStringToObject(*out, "answer", a);
	free(a);
	cJSON *refs = cJSON_AddArrayToObject(*out, "refs");
	cJSON_AddItemToArray(refs, cJSON_CreateString("m1"));
	return 0;
}

static int h_metrics(void *ctx, struct ks_buf *out, struct ks_err *err)
{
	KS_UNUSED(ctx);
	KS_UNUSED(err);
	return ks_buf_appendstr(out, "# TYPE kswarm_agents gauge\nkswarm_agents 8\n");
}

/* ---- the fixture ---- */

struct fx {
	struct store *store;
	struct bus *bus;
	struct server *srv;
	struct calls calls;
	int port;
	char url[64];
};

static void fx_start(struct fx *f, const char *token, bool auth_reads, int max_clients)
{
	memset(f, 0, sizeof *f);
	pthread_mutex_init(&f->calls.mu, NULL);
	struct ks_err err = {0};
	assert_int_equal(store_open(":memory:", &f->store, NULL), 0);
	assert_int_equal(bus_new(f->store, &f->bus, NULL), 0);
	struct server_opts o = {
		.listen = "127.0.0.1:0",
		.token = token,
		.auth_reads = auth_reads,
		.threads = 2,
		.max_stream_clients = max_clients,
		.bus = f->bus,
		.store = f->store,
		.handlers = {.ctx = &f->calls, .findings = h_findings, .cost = h_cost,
			     .cost_history = h_cost_history,
			     .proposals = h_proposals, .plans_list = h_plans_list,
			     .plan_get = h_plan_get, .approve = h_approve, .reject = h_reject,
			     .ask = h_ask, .metrics = h_metrics},
	};
	if (server_start(&o, &f->srv, &err))
		fail_msg("server_start: %s", err.msg);
	const char *addr = server_address(f->srv);
	f->port = (int)strtol(strrchr(addr, ':') + 1, NULL, 10);
	assert_true(f->port > 0);
	snprintf(f->url, sizeof f->url, "http://%s", addr);
}

static void fx_stop(struct fx *f)
{
	server_stop(f->srv);
	bus_free(f->bus);
	store_close(f->store);
	pthread_mutex_destroy(&f->calls.mu);
}

static void publish(struct fx *f, const char *from, enum swarm_msg_type type,
		    const char *name, size_t text_len)
{
	struct swarm_msg m = {.type = type, .cluster = "local"};
	snprintf(m.from, sizeof m.from, "%s", from);
	snprintf(m.subject.kind, sizeof m.subject.kind, "Deployment");
	snprintf(m.subject.namespace, sizeof m.subject.namespace, "shop");
	snprintf(m.subject.name, sizeof m.subject.name, "%s", name);
	if (text_len) {
		char *t = ks_malloc(text_len + 1);
		memset(t, 'x', text_len);
		t[text_len] = '\0';
		swarm_msg_set_text(&m, "%s", t);
		free(t);
	} else {
		swarm_msg_set_text(&m, "%s notes something about %s.", from, name);
	}
	struct ks_err err = {0};
	if (bus_publish(f->bus, &m, &err))
		fail_msg("bus_publish: %s", err.msg);
	swarm_msg_release(&m);
}

static void publish_n(struct fx *f, int n)
{
	for (int i = 0; i < n; i++)
		publish(f, "cost", SWARM_MSG_OBSERVATION, "web", 0);
}

/* One API call; the status (0 when the transport failed) and the answer tree. */
static int call(struct fx *f, const char *token, const char *method, const char *path,
		const char *body, cJSON **out, struct ks_err *err)
{
	struct apiclient *c;
	assert_int_equal(apiclient_new(&(struct apiclient_opts){.server = f->url, .token = token},
				       &c, NULL),
			 0);
	cJSON *b = body ? ks_json_parse(body, strlen(body), 1 << 20, NULL) : NULL;
	cJSON *o = NULL;
	ks_err_clear(err);
	int rc = apiclient_call(c, method, path, b, &o, err);
	cJSON_Delete(b);
	apiclient_free(c);
	if (out)
		*out = o;
	else
		cJSON_Delete(o);
	return rc;
}

/* A socket connected to the server. */
static int connect_server(const struct fx *f)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)f->port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
	return fd;
}

/* A raw request over a socket (HTTP/1.0); the whole answer, caller frees. */
static char *raw(struct fx *f, const char *request, size_t len)
{
	int fd = connect_server(f);
	size_t off = 0;
	while (off < len) {
		ssize_t n = send(fd, request + off, len - off, MSG_NOSIGNAL);
		if (n <= 0)
			break; /* the server may answer 413 and close before reading it all */
		off += (size_t)n;
	}
	struct ks_buf b;
	ks_buf_init(&b, 1 << 20);
	char buf[4096];
	ssize_t n;
	while ((n = recv(fd, buf, sizeof buf, 0)) > 0)
		ks_buf_append(&b, buf, (size_t)n);
	close(fd);
	return ks_buf_detach(&b);
}

/* ---- SSE clients over raw sockets ---- */

#define MAX_SEEN 4096

struct sse_conn {
	int fd;
	struct ks_buf in;
	bool headers_done, hello, closed;
	int status;
	int pings;
	int64_t seen[MAX_SEEN];
	char events[MAX_SEEN][16];
	char froms[MAX_SEEN][16];
	int nseen;
};

static void sse_connect(struct fx *f, struct sse_conn *c, const char *path, const char *last_id)
{
	memset(c, 0, sizeof *c);
	ks_buf_init(&c->in, KS_BUF_UNLIMITED);
	c->fd = connect_server(f);
	char req[512];
	int n = snprintf(req, sizeof req,
			 "GET %s HTTP/1.0\r\nHost: x\r\nAccept: text/event-stream\r\n%s%s%s\r\n",
			 path, last_id ? "Last-Event-ID: " : "", last_id ? last_id : "",
			 last_id ? "\r\n" : "");
	assert_int_equal(send(c->fd, req, (size_t)n, MSG_NOSIGNAL), n);
}

static void sse_close(struct sse_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	ks_buf_release(&c->in);
}

/* Parse whatever complete frames are buffered. */
static void sse_parse(struct sse_conn *c)
{
	if (!c->headers_done) {
		char *end = strstr(c->in.data ? c->in.data : "", "\r\n\r\n");
		if (!end)
			return;
		c->status = (int)strtol(c->in.data + 9, NULL, 10); /* "HTTP/1.1 200" */
		c->headers_done = true;
		ks_buf_consume(&c->in, (size_t)(end + 4 - c->in.data));
	}
	char *end;
	while (c->in.len && (end = strstr(c->in.data, "\n\n"))) {
		*end = '\0';
		const char *fr = c->in.data;
		if (!strncmp(fr, ": ping", 6))
			c->pings++;
		else if (!strncmp(fr, ": kswarm", 8))
			c->hello = true;
		else if (!strncmp(fr, "id: ", 4)) {
			assert_true(c->nseen < MAX_SEEN);
			c->seen[c->nseen] = strtoll(fr + 4, NULL, 10);
			const char *ev = strstr(fr, "\nevent: ");
			const char *data = strstr(fr, "\ndata: ");
			assert_non_null(ev);
			assert_non_null(data);
			int evlen = (int)strcspn(ev + 8, "\n");
			snprintf(c->events[c->nseen], 16, "%.*s", evlen, ev + 8);
			cJSON *j = ks_json_parse(data + 7, strlen(data + 7), 1 << 20, NULL);
			assert_non_null(j);
			char id[32];
			snprintf(id, sizeof id, "m%lld", (long long)c->seen[c->nseen]);
			assert_string_equal(ks_json_str(j, "id"), id);
			snprintf(c->froms[c->nseen], 16, "%s", ks_json_str_or(j, "from", "?"));
			cJSON_Delete(j);
			c->nseen++;
		}
		ks_buf_consume(&c->in, (size_t)(end + 2 - c->in.data));
	}
}

/* Read what is there within ms; false when the peer closed. */
static bool sse_pump(struct sse_conn *c, int ms)
{
	struct pollfd p = {.fd = c->fd, .events = POLLIN};
	if (poll(&p, 1, ms) <= 0)
		return true;
	char buf[65536];
	ssize_t n = recv(c->fd, buf, sizeof buf, 0);
	if (n <= 0) {
		c->closed = true;
		return false;
	}
	ks_buf_append(&c->in, buf, (size_t)n);
	sse_parse(c);
	return true;
}

static int64_t ms_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Pump until cond holds or 10 s pass. */
#define PUMP_UNTIL(c, cond)                                                                  \
	do {                                                                                  \
		int64_t until_ = ms_now() + 10000;                                            \
		while (!(cond) && ms_now() < until_ && sse_pump((c), 50))                     \
			;                                                                     \
		assert_true(cond);                                                            \
	} while (0)

static void assert_seq(const struct sse_conn *c, int64_t first, int n)
{
	if (c->nseen != n)
		fail_msg("saw %d messages, expected %d", c->nseen, n);
	for (int i = 0; i < n; i++)
		if (c->seen[i] != first + i)
			fail_msg("message %d has id %lld, expected %lld", i,
				 (long long)c->seen[i], (long long)(first + i));
}

/* ---- tests: routes ---- */

static void test_healthz_and_metrics(void **state)
{
	KS_UNUSED(state);
	struct fx f;
	fx_start(&f, TOKEN, false, 0);
	char *r = raw(&f, "GET /healthz HTTP/1.0\r\n\r\n", 25);
	assert_contains(r, "HTTP/1.1 200");
	assert_contains(r, "\r\n\r\nok\n");
	free(r);
	server_count(f.srv, "kswarm_plans_total", "result=\"approved\"", 2);
	server_count(f.srv, "kswarm_plans_total", "{result=\"approved\"}", 1);
	server_count(f.srv, "bad name", NULL, 1); /* logged, ignored */
	r = raw(&f, "GET /metrics HTTP/1.0\r\n\r\n", 25);
	assert_contains(r, "text/plain; version=0.0.4");
	assert_contains(r, "kswarm_http_requests_total{route=\"/healthz\",code=\"200\"} 1");
	assert_contains(r, "kswarm_http_request_duration_seconds_bucket{route=\"/healthz\"");
	assert_contains(r, "kswarm_plans_total{result=\"approved\"} 3");
	assert_contains(r, "kswarm_stream_clients 0");
	assert_contains(r, "kswarm_agents 8");
	free(r);
	r = raw(&f, "POST /healthz HTTP/1.0\r\nContent-Length: 0\r\n\r\n", 46);
	assert_contains(r, "HTTP/1.1 405");
	free(r);
	fx_stop(&f);
}

static void test_get_routes(void **state)
{
	KS_UNUSED(state);
	struct fx f;
	fx_start(&f, TOKEN, false, 0);
	struct ks_err err;
	cJSON *out;
	assert_int_equal(call(&f, NULL, "GET", "/api/v1/findings", NULL, &out, &err), 0);
	assert_string_equal(ks_json_str(cJSON_GetArrayItem(out, 0), "cause"), "CrashLoop");
	cJSON_Delete(out);
	assert_int_equal(call(&f, NULL, "GET", "/api/v1/cost", NULL, &out, &err), 0);
	assert_int_equal(ks_json_int_or(out, "per_hour", 0) * 10 + 5, 15);
	cJSON_Delete(out);
	assert_int_equal(call(&f, NULL, "GET", "/api/v1/proposals", NULL, NULL, &err), KS_EHTTP);
	assert_int_equal(err.http_status, 500);
	assert_contains(err.msg, "proposals exploded");
	assert_int_equal(call(&f, NULL, "GET", "/api/v1/plans?status=pending", NULL, &out, &err),
			 0);
	assert_string_equal(f.calls.status, "pending");
	assert_int_equal(ks_json_len(out), 1);
	cJSON_Delete(out);
	assert_int_equal(call(&f, NULL, "GET", "/api/v1/plans", NULL, NULL, &err), 0);
	assert_string_equal(f.calls.status, "(all)");
	assert_int_equal(call(&f, NULL, "GET", "/api/v1/plans/p3", NULL, &out, &err), 0);
	assert_string_equal(ks_json_str(out, "status"), "pending");
	cJSON_Delete(out);
	assert_int_equal(call(&f, NULL, "GET", "/api/v1/plans/p404", NULL, NULL, &err),
			 KS_ENOTFOUND);
	assert_contains(err.msg, "no plan p404");
	assert_int_equal(call(&f, NULL, "GET", "/api/v1/plans/a%20b", NULL, NULL, &err),
			 KS_ENOTFOUND);
	assert_int_equal(call(&f, NULL, "GET", "/api/v1/nothing", NULL, NULL, &err),
			 KS_ENOTFOUND);
	assert_int_equal(call(&f, NULL, "GET", "/nothing", NULL, NULL, &err), KS_ENOTFOUND);
	assert_int_equal(call(&f, NULL, "GET", "/api/v1/cost/history", NULL, &out, &err), 0);
	assert_int_equal(ks_json_len(ks_json_get(out, "samples")), 2);
	cJSON_Delete(out);
	assert_int_equal(call(&f, NULL, "GET", "/api/v1/plans/p3/launch", NULL, NULL, &err),
			 KS_ENOTFOUND);
	/* wrong methods */
	assert_int_equal(call(&f, TOKEN, "POST", "/api/v1/findings", "{}", NULL, &err),
			 KS_EHTTP);
	assert_int_equal(err.http_status, 405);
	assert_int_equal(call(&f, TOKEN, "GET", "/api/v1/plans/p3/approve", NULL, NULL, &err),
			 KS_EHTTP);
	assert_int_equal(err.http_status, 405);
	/* error bodies are {"error","code"} */
	char *r = raw(&f, "GET /api/v1/nothing HTTP/1.0\r\n\r\n", 32);
	assert_contains(r, "application/json");
	assert_contains(r, "{\"error\":\"no route /api/v1/nothing\",\"code\":404}");
	free(r);
	fx_stop(&f);
}

/* A raw request formatted from fmt; the whole answer, caller frees. */
static char *rawf(struct fx *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static char *rawf(struct fx *f, const char *fmt, ...)
{
	char req[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(req, sizeof req, fmt, ap);
	va_end(ap);
	assert_true(n > 0 && (size_t)n < sizeof req);
	return raw(f, req, (size_t)n);
}

/* The embedded web UI: content types, the CSP, the ETag and 304, no auth, 404 for what is
 * not an asset (traversal attempts, hidden names, other embedded files), GET/HEAD only. */
static void test_static_routes(void **state)
{
	KS_UNUSED(state);
	struct fx f;
	fx_start(&f, TOKEN, true, 0); /* auth on reads: the UI's files stay open */
	static const struct {
		const char *path, *type, *needle;
	} assets[] = {
		{"/", "text/html; charset=utf-8", "<!doctype html>"},
		{"/ui/", "text/html; charset=utf-8", "<main"},
		{"/ui/index.html", "text/html; charset=utf-8", "aria-live"},
		{"/ui/app.js", "text/javascript; charset=utf-8", "EventSource"},
		{"/ui/app.css", "text/css; charset=utf-8", ":root"},
	};
	char etag[64] = "";
	for (size_t i = 0; i < KS_ARRAY_LEN(assets); i++) {
		char *r = rawf(&f, "GET %s HTTP/1.0\r\n\r\n", assets[i].path);
		assert_contains(r, "HTTP/1.1 200");
		char ct[128];
		snprintf(ct, sizeof ct, "Content-Type: %s\r\n", assets[i].type);
		assert_contains(r, ct);
		assert_contains(r, "Content-Security-Policy: default-src 'self'; script-src");
		assert_contains(r, "X-Content-Type-Options: nosniff");
		assert_contains(r, "Cache-Control: no-cache");
		assert_contains(r, assets[i].needle);
		const char *e = strstr(r, "ETag: \"");
		assert_non_null(e);
		if (i == 3)
			snprintf(etag, sizeof etag, "%.*s", (int)strcspn(e + 6, "\r"), e + 6);
		free(r);
	}
	/* Revalidation: the same ETag is a 304 without a body; another is a 200. */
	char *r = rawf(&f, "GET /ui/app.js HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
		       "If-None-Match: W/\"x\", %s\r\n\r\n", etag);
	assert_contains(r, "HTTP/1.1 304");
	assert_null(strstr(r, "EventSource"));
	free(r);
	r = rawf(&f, "GET /ui/app.js HTTP/1.0\r\nIf-None-Match: \"0\"\r\n\r\n");
	assert_contains(r, "HTTP/1.1 200");
	free(r);
	/* HEAD: headers only. */
	r = rawf(&f, "HEAD /ui/app.css HTTP/1.0\r\n\r\n");
	assert_contains(r, "HTTP/1.1 200");
	assert_contains(r, "text/css");
	assert_null(strstr(r, ":root"));
	free(r);
	/* Not assets: unknown names, traversal (raw and percent-encoded), hidden names,
	 * subdirectories, other embedded files, the bare web/ prefix. */
	static const char *const missing[] = {
		"/ui/nothing.js",
		"/ui/../deploy/crds/karpenter.sh_nodepools.yaml",
		"/ui/%2e%2e/deploy/crds/karpenter.sh_nodepools.yaml",
		"/ui/..%2fdeploy%2fcrds%2fkarpenter.sh_nodepools.yaml",
		"/ui/..",
		"/ui/.hidden",
		"/ui/sub/app.js",
		"/ui/app.js/",
		"/web/index.html",
		"/index.html",
		"/../web/index.html",
	};
	for (size_t i = 0; i < KS_ARRAY_LEN(missing); i++) {
		r = rawf(&f, "GET %s HTTP/1.0\r\n\r\n", missing[i]);
		if (strncmp(r, "HTTP/1.1 404", 12) && strncmp(r, "HTTP/1.1 400", 12))
			fail_msg("%s: expected 404, got %.40s", missing[i], r);
		assert_null(strstr(r, "apiVersion"));
		free(r);
	}
	/* libmicrohttpd unescapes %00 into a NUL, which ends the name: the file before it is
	 * served with its own type, never anything else. */
	r = rawf(&f, "GET /ui/app.js%%00.css HTTP/1.0\r\n\r\n");
	assert_contains(r, "Content-Type: text/javascript");
	free(r);
	/* Only GET and HEAD. */
	struct ks_err err;
	assert_int_equal(call(&f, TOKEN, "POST", "/ui/app.js", "{}", NULL, &err), KS_EHTTP);
	assert_int_equal(err.http_status, 405);
	/* The look-up itself. */
	struct webui_asset a;
	assert_true(webui_find("/ui/app.js", &a));
	assert_true(a.len > 1000);
	assert_string_equal(a.content_type, "text/javascript; charset=utf-8");
	assert_false(webui_find("/ui/", &a) == false);
	assert_false(webui_find("/ui/..", &a));
	assert_false(webui_find("/api/v1/cost", &a));
	assert_true(webui_etag_matches("*", "\"1\""));
	assert_true(webui_etag_matches("\"2\", W/\"1\"", "\"1\""));
	assert_false(webui_etag_matches("\"12\"", "\"1\""));
	assert_false(webui_etag_matches(NULL, "\"1\""));
	assert_false(webui_etag_matches("", "\"1\""));
	fx_stop(&f);
}

static void test_post_routes_and_auth(void **state)
{
	KS_UNUSED(state);
	struct fx f;
	fx_start(&f, TOKEN, false, 0);
	struct ks_err err;
	cJSON *out;
	assert_int_equal(call(&f, TOKEN, "POST", "/api/v1/plans/p3/approve",
			      "{\"by\":\"alice\",\"comment\":\"ok\"}", &out, &err),
			 0);
	assert_string_equal(ks_json_str(out, "result"), "approved");
	cJSON_Delete(out);
	assert_string_equal(f.calls.last, "approve p3 by=alice comment=ok");
	/* an empty body is allowed for approve; by defaults to "api" */
	assert_int_equal(call(&f, TOKEN, "POST", "/api/v1/plans/p4/approve", NULL, NULL, &err),
			 0);
	assert_string_equal(f.calls.last, "approve p4 by=api comment=(none)");
	assert_int_equal(call(&f, TOKEN, "POST", "/api/v1/plans/p9/approve", "{}", NULL, &err),
			 KS_ECONFLICT);
	assert_int_equal(err.http_status, 409);
	assert_int_equal(call(&f, TOKEN, "POST", "/api/v1/plans/p3/reject",
			      "{\"reason\":\"not in peak week\"}", NULL, &err),
			 0);
	assert_string_equal(f.calls.last, "reject p3 by=api reason=not in peak week");
	/* 400s */
	assert_int_equal(call(&f, TOKEN, "POST", "/api/v1/plans/p3/reject", "{}", NULL, &err),
			 KS_EINVAL);
	assert_contains(err.msg, "'reason' is required");
	assert_int_equal(call(&f, TOKEN, "POST", "/api/v1/plans/p3/approve", "{\"by\":1}", NULL,
			      &err),
			 KS_EINVAL);
	assert_contains(err.msg, "not a string");
	assert_int_equal(call(&f, TOKEN, "POST", "/api/v1/plans/p3/approve", "{\"force\":\"y\"}",
			      NULL, &err),
			 KS_EINVAL);
	assert_contains(err.msg, "not allowed");
	char req[512];
	int n = snprintf(req, sizeof req,
			 "POST /api/v1/ask HTTP/1.0\r\nAuthorization: Bearer %s\r\n"
			 "Content-Length: 9\r\n\r\n{\"questio",
			 TOKEN);
	char *r = raw(&f, req, (size_t)n);
	assert_contains(r, "HTTP/1.1 400");
	assert_contains(r, "request body");
	free(r);
	/* ask */
	assert_int_equal(call(&f, TOKEN, "POST", "/api/v1/ask", "{\"question\":\"why?\"}", &out,
			      &err),
			 0);
	assert_string_equal(ks_json_str(out, "answer"), "You asked: why?");
	cJSON_Delete(out);
	/* 401: no token, a wrong one, one a byte longer or shorter */
	assert_int_equal(call(&f, NULL, "POST", "/api/v1/plans/p3/approve", "{}", NULL, &err),
			 KS_EFORBIDDEN);
	assert_int_equal(err.http_status, 401);
	assert_contains(err.msg, "wants a bearer token");
	assert_int_equal(call(&f, "wrong", "POST", "/api/v1/ask", "{\"question\":\"x\"}", NULL,
			      &err),
			 KS_EFORBIDDEN);
	assert_contains(err.msg, "rejected the token");
	assert_int_equal(call(&f, TOKEN "x", "POST", "/api/v1/ask", "{\"question\":\"x\"}", NULL,
			      &err),
			 KS_EFORBIDDEN);
	assert_int_equal(call(&f, "s3cret-toke", "POST", "/api/v1/ask", "{\"question\":\"x\"}",
			      NULL, &err),
			 KS_EFORBIDDEN);
	n = snprintf(req, sizeof req,
		     "POST /api/v1/ask HTTP/1.0\r\nAuthorization: Basic %s\r\n"
		     "Content-Length: 2\r\n\r\n{}", TOKEN);
	r = raw(&f, req, (size_t)n);
	assert_contains(r, "HTTP/1.1 401");
	assert_contains(r, "WWW-Authenticate: Bearer");
	free(r);
	assert_string_equal(f.calls.last, "reject p3 by=api reason=not in peak week");
	/* GETs need no token unless auth_reads */
	assert_int_equal(call(&f, NULL, "GET", "/api/v1/plans", NULL, NULL, &err), 0);
	fx_stop(&f);
}

static void test_auth_reads(void **state)
{
	KS_UNUSED(state);
	struct fx f;
	fx_start(&f, TOKEN, true, 0);
	struct ks_err err;
	assert_int_equal(call(&f, NULL, "GET", "/api/v1/plans", NULL, NULL, &err),
			 KS_EFORBIDDEN);
	assert_int_equal(call(&f, "nope", "GET", "/api/v1/transcript", NULL, NULL, &err),
			 KS_EFORBIDDEN);
	assert_int_equal(call(&f, TOKEN, "GET", "/api/v1/plans", NULL, NULL, &err), 0);
	struct sse_conn c;
	sse_connect(&f, &c, "/api/v1/stream", NULL);
	while (sse_pump(&c, 1000))
		;
	assert_int_equal(c.status, 401);
	sse_close(&c);
	/* health and metrics stay open */
	char *r = raw(&f, "GET /metrics HTTP/1.0\r\n\r\n", 25);
	assert_contains(r, "HTTP/1.1 200");
	free(r);
	fx_stop(&f);
}

static void test_no_token(void **state)
{
	KS_UNUSED(state);
	struct fx f;
	fx_start(&f, NULL, true, 0);
	struct ks_err err;
	assert_int_equal(call(&f, NULL, "POST", "/api/v1/plans/p3/approve", NULL, NULL, &err), 0);
	/* without a token, only loopback */
	struct server *s;
	struct server_opts o = {.listen = "0.0.0.0:0", .bus = f.bus, .store = f.store};
	assert_int_equal(server_start(&o, &s, &err), KS_EINVAL);
	assert_contains(err.msg, "a token is required");
	o.listen = "localhost:80";
	assert_int_equal(server_start(&o, &s, &err), KS_EINVAL);
	o.listen = "127.0.0.1";
	assert_int_equal(server_start(&o, &s, &err), KS_EINVAL);
	/* IPv6 loopback, where the host has it */
	o.listen = "[::1]:0";
	if (server_start(&o, &s, &err) == 0) {
		assert_true(!strncmp(server_address(s), "[::1]:", 6));
		assert_true(strtol(server_address(s) + 6, NULL, 10) > 0);
		server_stop(s);
	} else {
		assert_int_equal(err.code, KS_EIO);
	}
	fx_stop(&f);
}

static void test_body_cap(void **state)
{
	KS_UNUSED(state);
	struct fx f;
	fx_start(&f, TOKEN, false, 0);
	size_t big = SERVER_MAX_BODY + 10;
	struct ks_buf req;
	ks_buf_init(&req, KS_BUF_UNLIMITED);
	ks_buf_appendf(&req,
		       "POST /api/v1/ask HTTP/1.0\r\nAuthorization: Bearer %s\r\n"
		       "Content-Length: %zu\r\n\r\n{\"question\":\"",
		       TOKEN, big);
	while (req.len < big + 100)
		ks_buf_appendc(&req, 'q');
	char *r = raw(&f, req.data, req.len);
	assert_contains(r, "HTTP/1.1 413");
	free(r);
	/* a huge declared body is answered before it is sent */
	static const char huge[] = "POST /api/v1/ask HTTP/1.1\r\nHost: x\r\n"
				   "Content-Length: 100000000\r\n\r\n";
	r = raw(&f, huge, sizeof huge - 1);
	assert_contains(r, "HTTP/1.1 413");
	free(r);
	/* chunked, no Content-Length: answered when the body ends */
	struct ks_buf chunked;
	ks_buf_init(&chunked, KS_BUF_UNLIMITED);
	ks_buf_appendf(&chunked,
		       "POST /api/v1/ask HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
		       "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
		       TOKEN);
	for (int i = 0; i < 20; i++) {
		ks_buf_appendf(&chunked, "1000\r\n");
		for (int k = 0; k < 0x1000; k++)
			ks_buf_appendc(&chunked, 'q');
		ks_buf_appendstr(&chunked, "\r\n");
	}
	ks_buf_appendstr(&chunked, "0\r\n\r\n");
	r = raw(&f, chunked.data, chunked.len);
	assert_contains(r, "HTTP/1.1 413");
	free(r);
	ks_buf_release(&chunked);
	/* through the client (Content-Length, maybe Expect: 100-continue) */
	struct ks_err err;
	struct ks_buf q;
	ks_buf_init(&q, KS_BUF_UNLIMITED);
	ks_buf_appendstr(&q, "{\"question\":\"");
	while (q.len < SERVER_MAX_BODY)
		ks_buf_appendc(&q, 'q');
	ks_buf_appendstr(&q, "\"}");
	assert_int_equal(call(&f, TOKEN, "POST", "/api/v1/ask", q.data, NULL, &err), KS_ETOOBIG);
	assert_int_equal(err.http_status, 413);
	ks_buf_release(&q);
	ks_buf_release(&req);
	fx_stop(&f);
}

static void test_transcript(void **state)
{
	KS_UNUSED(state);
	struct fx f;
	fx_start(&f, TOKEN, false, 0);
	publish_n(&f, 4);
	publish(&f, "reliability", SWARM_MSG_DIAGNOSIS, "db", 0);
	struct ks_err err;
	cJSON *out;
	assert_int_equal(call(&f, NULL, "GET", "/api/v1/transcript?since=1&limit=2", NULL, &out,
			      &err),
			 0);
	const cJSON *msgs = ks_json_get(out, "messages");
	assert_int_equal(ks_json_len(msgs), 2);
	assert_string_equal(ks_json_str(cJSON_GetArrayItem(msgs, 0), "id"), "m2");
	assert_string_equal(ks_json_str(cJSON_GetArrayItem(msgs, 1), "id"), "m3");
	assert_int_equal(ks_json_int_or(out, "next_since", 0), 3);
	assert_true(ks_json_bool_or(out, "more", false));
	cJSON_Delete(out);
	assert_int_equal(call(&f, NULL, "GET", "/api/v1/transcript?from=reliability", NULL, &out,
			      &err),
			 0);
	msgs = ks_json_get(out, "messages");
	assert_int_equal(ks_json_len(msgs), 1);
	assert_string_equal(ks_json_str(cJSON_GetArrayItem(msgs, 0), "type"), "diagnosis");
	assert_false(ks_json_bool_or(out, "more", true));
	cJSON_Delete(out);
	assert_int_equal(call(&f, NULL, "GET", "/api/v1/transcript?since=-1", NULL, NULL, &err),
			 KS_EINVAL);
	assert_int_equal(call(&f, NULL, "GET", "/api/v1/transcript?limit=5000", NULL, NULL, &err),
			 KS_EINVAL);
	assert_int_equal(call(&f, NULL, "GET", "/api/v1/transcript?type=gossip", NULL, NULL,
			      &err),
			 KS_EINVAL);
	fx_stop(&f);
}

/* ---- tests: the stream ---- */

static void test_stream_live_in_order(void **state)
{
	KS_UNUSED(state);
	struct fx f;
	fx_start(&f, TOKEN, false, 0);
	publish_n(&f, 3); /* before the client: not sent to a live-only client */
	struct sse_conn c;
	sse_connect(&f, &c, "/api/v1/stream", NULL);
	PUMP_UNTIL(&c, c.hello);
	assert_int_equal(c.status, 200);
	assert_contains(c.in.data ? c.in.data : "", "");
	publish_n(&f, 20);
	publish(&f, "reliability", SWARM_MSG_DIAGNOSIS, "db", 0);
	PUMP_UNTIL(&c, c.nseen == 21);
	assert_seq(&c, 4, 21);
	assert_string_equal(c.events[0], "observation");
	assert_string_equal(c.events[20], "diagnosis");
	sse_close(&c);
	fx_stop(&f);
}

static void test_stream_since_and_filters(void **state)
{
	KS_UNUSED(state);
	struct fx f;
	fx_start(&f, TOKEN, false, 0);
	for (int i = 0; i < 10; i++)
		publish(&f, i % 2 ? "cost" : "reliability",
			i % 2 ? SWARM_MSG_QUESTION : SWARM_MSG_OBSERVATION, i < 5 ? "web" : "db",
			0);
	struct sse_conn a, b, c, d;
	sse_connect(&f, &a, "/api/v1/stream?since=0", NULL);
	sse_connect(&f, &b, "/api/v1/stream?since=0&from=cost&type=question", NULL);
	sse_connect(&f, &c, "/api/v1/stream?since=0&name=db&kind=Deployment&namespace=shop",
		    NULL);
	/* Last-Event-ID wins over ?since=, and "m7" is accepted too */
	sse_connect(&f, &d, "/api/v1/stream?since=0", "m7");
	PUMP_UNTIL(&a, a.nseen == 10);
	PUMP_UNTIL(&b, b.nseen == 5);
	PUMP_UNTIL(&c, c.nseen == 5);
	PUMP_UNTIL(&d, d.nseen == 3);
	assert_seq(&a, 1, 10);
	assert_seq(&d, 8, 3);
	for (int i = 0; i < 5; i++) {
		assert_int_equal(b.seen[i], 2 + 2 * i);
		assert_string_equal(b.froms[i], "cost");
		assert_int_equal(c.seen[i], 6 + i);
	}
	publish(&f, "cost", SWARM_MSG_QUESTION, "web", 0);
	publish(&f, "cost", SWARM_MSG_STEP_DONE, "db", 0);
	PUMP_UNTIL(&a, a.nseen == 12);
	PUMP_UNTIL(&b, b.nseen == 6);
	PUMP_UNTIL(&c, c.nseen == 6);
	assert_int_equal(b.seen[5], 11);
	assert_int_equal(c.seen[5], 12);
	for (int i = 0; i < 20; i++)
		sse_pump(&b, 5);
	assert_int_equal(b.nseen, 6);
	sse_close(&a);
	sse_close(&b);
	sse_close(&c);
	sse_close(&d);
	/* bad resume points and filters are 400 */
	struct ks_err err;
	assert_int_equal(call(&f, NULL, "GET", "/api/v1/stream?since=abc", NULL, NULL, &err),
			 KS_EINVAL);
	assert_int_equal(call(&f, NULL, "GET", "/api/v1/stream?type=proposal,nope", NULL, NULL,
			      &err),
			 KS_EINVAL);
	fx_stop(&f);
}

/* The stream as browsers and curl read it: HTTP/1.1, chunked. */
struct curl_sse {
	struct sse_conn c;
	int want;
};

static size_t curl_sse_data(char *p, size_t size, size_t n, void *ud)
{
	struct curl_sse *cs = ud;
	ks_buf_append(&cs->c.in, p, size * n);
	sse_parse(&cs->c);
	return cs->c.nseen >= cs->want ? 0 : size * n; /* 0 ends the transfer */
}

static void *publish_later(void *arg)
{
	usleep(100 * 1000);
	publish_n(arg, 2);
	return NULL;
}

/* 5 replayed, then 2 live (the connection suspended and resumed in between). */
static void test_stream_http11_curl(void **state)
{
	KS_UNUSED(state);
	struct fx f;
	fx_start(&f, TOKEN, false, 0);
	publish_n(&f, 5);
	pthread_t t;
	pthread_create(&t, NULL, publish_later, &f);
	struct curl_sse cs = {.c = {.headers_done = true, .fd = -1}, .want = 7};
	ks_buf_init(&cs.c.in, KS_BUF_UNLIMITED);
	char url[128];
	snprintf(url, sizeof url, "%s/api/v1/stream?since=m0", f.url);
	CURL *e = curl_easy_init();
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, curl_sse_data);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, &cs);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 10000L);
	CURLcode cc = curl_easy_perform(e);
	assert_int_equal(cc, CURLE_WRITE_ERROR); /* we stopped it */
	long status = 0;
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
	assert_int_equal(status, 200);
	curl_easy_cleanup(e);
	pthread_join(t, NULL);
	assert_true(cs.c.hello);
	assert_seq(&cs.c, 1, 7);
	ks_buf_release(&cs.c.in);
	fx_stop(&f);
}

struct publisher {
	struct fx *f;
	int n;
};

static void *publish_thread(void *arg)
{
	struct publisher *p = arg;
	for (int i = 0; i < p->n; i++) {
		publish(p->f, "cost", SWARM_MSG_OBSERVATION, "web", 0);
		if (i % 16 == 0)
			usleep(1000);
	}
	return NULL;
}

/* Disconnect mid-stream while messages keep coming; reconnect with the last id seen: every
 * message exactly once, in order. Repeated at several points. */
static void test_stream_resume_no_gap_no_dup(void **state)
{
	KS_UNUSED(state);
	struct fx f;
	fx_start(&f, TOKEN, false, 0);
	enum { TOTAL = 1500 };
	struct publisher p = {.f = &f, .n = TOTAL};
	struct sse_conn c;
	sse_connect(&f, &c, "/api/v1/stream?since=0", NULL);
	PUMP_UNTIL(&c, c.hello);
	pthread_t t;
	pthread_create(&t, NULL, publish_thread, &p);
	int64_t all[TOTAL + 16];
	int nall = 0, reconnects = 0;
	while (nall < TOTAL) {
		int want = c.nseen + 100;
		int64_t until = ms_now() + 10000;
		while (c.nseen < want && nall + c.nseen < TOTAL && ms_now() < until)
			sse_pump(&c, 50);
		assert_true(c.nseen > 0 || nall + c.nseen == TOTAL);
		for (int i = 0; i < c.nseen; i++)
			all[nall++] = c.seen[i];
		if (nall >= TOTAL)
			break;
		char last[32];
		snprintf(last, sizeof last, "%lld", (long long)all[nall - 1]);
		sse_close(&c);
		sse_connect(&f, &c, "/api/v1/stream", last);
		reconnects++;
	}
	pthread_join(t, NULL);
	sse_close(&c);
	assert_true(reconnects >= 5);
	assert_int_equal(nall, TOTAL);
	for (int i = 0; i < TOTAL; i++)
		if (all[i] != i + 1)
			fail_msg("message %d has id %lld", i, (long long)all[i]);
	fx_stop(&f);
}

/* A resuming client that does not read while live messages come: its side list overflows
 * (queue cap 8), the live messages are read back from the store, and it still gets every
 * message once, in order. */
static void test_stream_replay_overflow(void **state)
{
	KS_UNUSED(state);
	struct fx f;
	fx_start(&f, TOKEN, false, 0);
	sse_hub_tune(server_sse_hub(f.srv), SSE_PING_MS, 8);
	enum { OLD = 3000, LIVE = 50 }; /* 12 MB: more than the socket buffers hold */
	for (int i = 0; i < OLD; i++)
		publish(&f, "cost", SWARM_MSG_OBSERVATION, "web", 4000);
	struct sse_conn c;
	sse_connect(&f, &c, "/api/v1/stream?since=0", NULL);
	int rcvbuf = 256 << 10; /* fixed: no autotuning while it does not read */
	setsockopt(c.fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
	usleep(300 * 1000); /* the server fills the socket and waits */
	publish_n(&f, LIVE);
	PUMP_UNTIL(&c, c.nseen == OLD + LIVE);
	assert_seq(&c, 1, OLD + LIVE);
	struct sse_hub_stats st;
	sse_hub_get_stats(server_sse_hub(f.srv), &st);
	assert_int_equal(st.replayed, OLD + LIVE); /* the live ones too came from the store */
	assert_int_equal(st.dropped, 0);
	publish_n(&f, 1);
	PUMP_UNTIL(&c, c.nseen == OLD + LIVE + 1);
	sse_close(&c);
	fx_stop(&f);
}

static void test_stream_ping(void **state)
{
	KS_UNUSED(state);
	struct fx f;
	fx_start(&f, TOKEN, false, 0);
	sse_hub_tune(server_sse_hub(f.srv), 50, SSE_CLIENT_QUEUE_MAX);
	struct sse_conn c;
	sse_connect(&f, &c, "/api/v1/stream", NULL);
	PUMP_UNTIL(&c, c.pings >= 2);
	publish_n(&f, 1);
	PUMP_UNTIL(&c, c.nseen == 1);
	sse_close(&c);
	fx_stop(&f);
}

/* A client that reads nothing falls behind by more than the queue cap: it is closed, and
 * resumes from its last id without losing anything. */
static void test_stream_slow_client(void **state)
{
	KS_UNUSED(state);
	struct fx f;
	fx_start(&f, TOKEN, false, 0);
	sse_hub_tune(server_sse_hub(f.srv), SSE_PING_MS, 16);
	struct sse_conn slow, fast;
	sse_connect(&f, &slow, "/api/v1/stream", NULL);
	int rcvbuf = 4096;
	setsockopt(slow.fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
	PUMP_UNTIL(&slow, slow.hello);
	sse_connect(&f, &fast, "/api/v1/stream", NULL);
	PUMP_UNTIL(&fast, fast.hello);
	/* more than the socket buffers hold; the fast client keeps up message by message */
	enum { N = 2000 };
	for (int i = 0; i < N; i++) {
		publish(&f, "cost", SWARM_MSG_OBSERVATION, "web", 4000);
		PUMP_UNTIL(&fast, fast.nseen == i + 1);
	}
	PUMP_UNTIL(&fast, fast.nseen == N);
	struct sse_hub_stats st;
	sse_hub_get_stats(server_sse_hub(f.srv), &st);
	assert_int_equal(st.dropped, 1);
	/* It read part of what was sent before it was closed (its tiny window drains the rest
	 * slowly); it reconnects with the last id it saw and gets exactly the rest. */
	for (int i = 0; i < 20; i++)
		sse_pump(&slow, 10);
	assert_true(slow.nseen < N);
	int got = slow.nseen;
	if (got)
		assert_seq(&slow, 1, got);
	char last[32];
	snprintf(last, sizeof last, "%d", got);
	sse_close(&slow);
	sse_connect(&f, &slow, "/api/v1/stream", last);
	PUMP_UNTIL(&slow, slow.nseen == N - got);
	assert_seq(&slow, got + 1, N - got);
	publish_n(&f, 1);
	PUMP_UNTIL(&slow, slow.nseen == N - got + 1);
	assert_int_equal(slow.seen[N - got], N + 1);
	sse_close(&slow);
	sse_close(&fast);
	fx_stop(&f);
}

static void test_stream_client_limit(void **state)
{
	KS_UNUSED(state);
	struct fx f;
	fx_start(&f, TOKEN, false, 2);
	struct sse_conn a, b, c;
	sse_connect(&f, &a, "/api/v1/stream", NULL);
	sse_connect(&f, &b, "/api/v1/stream", NULL);
	PUMP_UNTIL(&a, a.hello);
	PUMP_UNTIL(&b, b.hello);
	sse_connect(&f, &c, "/api/v1/stream", NULL);
	while (sse_pump(&c, 2000))
		;
	assert_int_equal(c.status, 503);
	assert_contains(c.in.data, "too many stream clients");
	sse_close(&c);
	sse_close(&a);
	/* a's slot frees once the server notices (writing pings to it) */
	sse_hub_tune(server_sse_hub(f.srv), 20, SSE_CLIENT_QUEUE_MAX);
	publish_n(&f, 1);
	PUMP_UNTIL(&b, b.nseen == 1);
	int64_t until = ms_now() + 5000;
	int status = 0;
	while (status != 200 && ms_now() < until) {
		sse_connect(&f, &c, "/api/v1/stream", NULL);
		while (!c.headers_done && sse_pump(&c, 200))
			;
		status = c.status;
		sse_close(&c);
		if (status != 200)
			usleep(20000);
	}
	assert_int_equal(status, 200);
	sse_close(&b);
	fx_stop(&f);
}

struct many {
	struct sse_conn *c;
	int n;
	int want;
};

static void test_stream_many_clients(void **state)
{
	KS_UNUSED(state);
	enum { CLIENTS = 200, MSGS = 50 };
	struct fx f;
	fx_start(&f, TOKEN, false, 0);
	struct sse_conn *cs = ks_calloc(CLIENTS, sizeof *cs);
	for (int i = 0; i < CLIENTS; i++)
		sse_connect(&f, &cs[i], "/api/v1/stream", NULL);
	for (int i = 0; i < CLIENTS; i++)
		PUMP_UNTIL(&cs[i], cs[i].hello);
	struct sse_hub_stats st;
	sse_hub_get_stats(server_sse_hub(f.srv), &st);
	assert_int_equal(st.clients, CLIENTS);
	publish_n(&f, MSGS);
	for (int i = 0; i < CLIENTS; i++) {
		PUMP_UNTIL(&cs[i], cs[i].nseen == MSGS);
		assert_seq(&cs[i], 1, MSGS);
	}
	/* stop with every client attached (and one half-way through a request) */
	int fd = connect_server(&f);
	assert_int_equal(send(fd, "GET /api/v1/str", 15, MSG_NOSIGNAL), 15);
	server_stop(f.srv);
	f.srv = NULL;
	close(fd);
	for (int i = 0; i < CLIENTS; i++) {
		while (sse_pump(&cs[i], 2000))
			;
		assert_true(cs[i].closed);
		sse_close(&cs[i]);
	}
	free(cs);
	fx_stop(&f);
}

/* ---- parsers, metrics, client ---- */

static void test_apireq(void **state)
{
	KS_UNUSED(state);
	int64_t seq;
	assert_int_equal(api_parse_seq("42", &seq, NULL), 0);
	assert_int_equal(seq, 42);
	assert_int_equal(api_parse_seq("m42", &seq, NULL), 0);
	assert_int_equal(seq, 42);
	assert_int_equal(api_parse_seq("9223372036854775807", &seq, NULL), 0);
	assert_int_equal(api_parse_seq("9223372036854775808", &seq, NULL), KS_EINVAL);
	assert_int_equal(api_parse_seq("", &seq, NULL), KS_EINVAL);
	assert_int_equal(api_parse_seq("m", &seq, NULL), KS_EINVAL);
	assert_int_equal(api_parse_seq("-1", &seq, NULL), KS_EINVAL);
	assert_int_equal(api_parse_seq("1 ", &seq, NULL), KS_EINVAL);
	int lim;
	assert_int_equal(api_parse_limit(NULL, 7, 10, &lim, NULL), 0);
	assert_int_equal(lim, 7);
	assert_int_equal(api_parse_limit("10", 7, 10, &lim, NULL), 0);
	assert_int_equal(api_parse_limit("0", 7, 10, &lim, NULL), KS_EINVAL);
	assert_int_equal(api_parse_limit("11", 7, 10, &lim, NULL), KS_EINVAL);
	assert_true(api_plan_id_valid("p3"));
	assert_false(api_plan_id_valid(""));
	assert_false(api_plan_id_valid("p/3"));
	assert_false(api_plan_id_valid(".. x"));
	assert_true(api_bearer_ok("Bearer abc", "abc"));
	assert_false(api_bearer_ok("Bearer abcd", "abc"));
	assert_false(api_bearer_ok("Bearer ab", "abc"));
	assert_false(api_bearer_ok("Bearer abd", "abc"));
	assert_false(api_bearer_ok("bearer abc", "abc"));
	assert_false(api_bearer_ok(NULL, "abc"));
	assert_false(api_bearer_ok("Bearer ", "abc"));
	struct api_decision d;
	assert_int_equal(api_parse_reject("{\"reason\":\"\"}", 13, &d, NULL), KS_EINVAL);
	assert_int_equal(api_parse_approve("{\"by\":\"a\",\"by\":\"b\"}", 19, &d, NULL),
			 KS_EINVAL);
	assert_int_equal(api_parse_approve("[]", 2, &d, NULL), KS_EINVAL);
	char *q;
	assert_int_equal(api_parse_ask("{\"question\":null}", 17, &q, NULL), KS_EINVAL);
	struct api_stream_filter flt = {0};
	assert_int_equal(api_stream_filter_set(&flt, "type", "veto,,proposal", NULL), 0);
	assert_int_equal(flt.types, (1u << SWARM_MSG_VETO) | (1u << SWARM_MSG_PROPOSAL));
	assert_int_equal(api_stream_filter_set(&flt, "unknown", "x", NULL), 0);
	char longname[300];
	memset(longname, 'n', sizeof longname - 1);
	longname[sizeof longname - 1] = '\0';
	assert_int_equal(api_stream_filter_set(&flt, "name", longname, NULL), KS_EINVAL);
}

static void test_selfmetrics(void **state)
{
	KS_UNUSED(state);
	struct selfmetrics *m = selfmetrics_new();
	struct ks_err err = {0};
	assert_int_equal(selfmetrics_describe(m, "kswarm_x_total", KS_PROM_COUNTER, "X.", &err),
			 0);
	assert_int_equal(selfmetrics_count(m, "kswarm_x_total", "a=\"1\",b=\"q\\\"\"", 2, &err),
			 0);
	assert_int_equal(selfmetrics_count(m, "kswarm_x_total", "{a=\"1\",b=\"q\\\"\"}", 1, &err),
			 0);
	assert_true(selfmetrics_value(m, "kswarm_x_total", "a=\"1\",b=\"q\\\"\"") == 3);
	assert_int_equal(selfmetrics_count(m, "kswarm_x_total", NULL, -1, &err), KS_EINVAL);
	assert_int_equal(selfmetrics_set(m, "kswarm_x_total", NULL, 1, &err), KS_EINVAL);
	assert_contains(err.msg, "is a counter");
	assert_int_equal(selfmetrics_count(m, "kswarm_y", "a=1", 1, &err), KS_EINVAL);
	assert_int_equal(selfmetrics_count(m, "kswarm_y", "a=\"1", 1, &err), KS_EINVAL);
	assert_int_equal(selfmetrics_count(m, "kswarm_y", "1a=\"1\"", 1, &err), KS_EINVAL);
	assert_int_equal(selfmetrics_count(m, "9bad", NULL, 1, &err), KS_EINVAL);
	assert_int_equal(selfmetrics_set(m, "kswarm_g", NULL, 5, &err), 0);
	assert_int_equal(selfmetrics_observe(m, "kswarm_h_seconds", "r=\"x\"", 0.003, &err), 0);
	assert_int_equal(selfmetrics_observe(m, "kswarm_h_seconds", "r=\"x\"", 20, &err), 0);
	struct ks_buf out;
	ks_buf_init(&out, KS_BUF_UNLIMITED);
	assert_int_equal(selfmetrics_render(m, &out, &err), 0);
	assert_contains(out.data, "# HELP kswarm_x_total X.\n# TYPE kswarm_x_total counter\n"
				  "kswarm_x_total{a=\"1\",b=\"q\\\"\"} 3\n");
	assert_contains(out.data, "# TYPE kswarm_g gauge\nkswarm_g 5\n");
	assert_contains(out.data, "kswarm_h_seconds_bucket{r=\"x\",le=\"0.0025\"} 0\n");
	assert_contains(out.data, "kswarm_h_seconds_bucket{r=\"x\",le=\"0.005\"} 1\n");
	assert_contains(out.data, "kswarm_h_seconds_bucket{r=\"x\",le=\"+Inf\"} 2\n");
	assert_contains(out.data, "kswarm_h_seconds_count{r=\"x\"} 2\n");
	ks_buf_release(&out);
	selfmetrics_free(m);
}

static void test_apiclient_errors(void **state)
{
	KS_UNUSED(state);
	/* nothing listens on a port we bound and closed */
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t al = sizeof a;
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &al), 0);
	close(fd);
	char url[64];
	snprintf(url, sizeof url, "http://127.0.0.1:%d/", ntohs(a.sin_port));
	struct apiclient *c;
	struct ks_err err = {0};
	assert_int_equal(apiclient_new(&(struct apiclient_opts){.server = url}, &c, &err), 0);
	snprintf(url, sizeof url, "http://127.0.0.1:%d", ntohs(a.sin_port));
	assert_string_equal(apiclient_server(c), url);
	cJSON *out;
	assert_int_equal(apiclient_call(c, "GET", "/api/v1/plans", NULL, &out, &err), KS_ENET);
	assert_contains(err.msg, "cannot reach the kswarm daemon at http://127.0.0.1:");
	assert_contains(err.msg, "is `kswarm run` running?");
	apiclient_free(c);
	assert_int_equal(apiclient_new(&(struct apiclient_opts){.server = "ftp://x"}, &c, &err),
			 KS_EINVAL);
	assert_int_equal(
		apiclient_new(&(struct apiclient_opts){.server = url, .token = "a\nb"}, &c, &err),
		KS_EINVAL);
	/* tokens */
	char *dir = tu_mkdtemp();
	char *path = ks_asprintf("%s/token", dir);
	tu_write_file(path, "  tok123 \nsecond line\n");
	char *tok;
	assert_int_equal(apiclient_load_token(path, &tok, &err), 0);
	assert_string_equal(tok, "tok123");
	free(tok);
	tu_write_file(path, "\n");
	assert_int_equal(apiclient_load_token(path, &tok, &err), KS_EINVAL);
	setenv("KSWARM_TOKEN", "fromenv", 1);
	assert_int_equal(apiclient_load_token(NULL, &tok, &err), 0);
	assert_string_equal(tok, "fromenv");
	free(tok);
	unsetenv("KSWARM_TOKEN");
	assert_int_equal(apiclient_load_token(NULL, &tok, &err), 0);
	assert_null(tok);
	tu_rmtree(dir);
	free(path);
	free(dir);
}

static void test_format(void **state)
{
	KS_UNUSED(state);
	const char *plans = "[{\"plan_id\":\"p3\",\"status\":\"pending\",\"risk\":\"low\","
			    "\"title\":\"Right-size shop/web\","
			    "\"created\":\"2026-11-21T10:00:00Z\","
			    "\"savings_per_month\":42.5},{\"plan_id\":\"p4\"}]";
	cJSON *j = ks_json_parse(plans, strlen(plans), 1 << 20, NULL);
	struct ks_buf out;
	ks_buf_init(&out, KS_BUF_UNLIMITED);
	apiclient_format_plans(j, &out);
	assert_string_equal(out.data,
			    "PLAN       STATUS             RISK    CREATED                "
			    "SAVINGS/MO  TITLE\n"
			    "p3         pending            low     2026-11-21T10:00:00Z       "
			    "$42.50  Right-size shop/web\n"
			    "p4         -                  -       -                               "
			    "-  \n");
	cJSON_Delete(j);
	ks_buf_reset(&out);
	j = cJSON_CreateArray();
	apiclient_format_plans(j, &out);
	assert_string_equal(out.data, "No plans.\n");
	cJSON_Delete(j);
	const char *plan = "{\"plan_id\":\"p3\",\"status\":\"approved\",\"plan\":{\"risk\":\"low\","
			   "\"title\":\"T\",\"steps\":[{\"id\":\"s1\",\"action\":\"patch\","
			   "\"target\":{\"kind\":\"Deployment\",\"namespace\":\"shop\","
			   "\"name\":\"web\"},\"summary\":\"cpu 2 -> 1\"}]},\"history\":[{\"id\":"
			   "\"m7\",\"ts\":\"2026-11-21T10:00:00.000Z\",\"type\":\"approval\","
			   "\"text\":\"alice approved.\"}]}";
	j = ks_json_parse(plan, strlen(plan), 1 << 20, NULL);
	ks_buf_reset(&out);
	apiclient_format_plan(j, &out);
	assert_string_equal(out.data,
			    "Plan:    p3\nStatus:  approved\nRisk:    low\nTitle:   T\n"
			    "Steps:\n  s1   patch              Deployment shop/web: cpu 2 -> 1\n"
			    "History:\n  m7     2026-11-21T10:00:00.000Z approval         "
			    "alice approved.\n");
	cJSON_Delete(j);
	const char *done = "{\"plan_id\":\"p4\",\"status\":\"succeeded\",\"plan\":{\"risk\":"
			   "\"medium\",\"title\":\"Mix\"},\"measured\":{\"result\":\"succeeded\","
			   "\"why\":\"\",\"seconds_to_outcome\":12,\"execution_seconds\":4,"
			   "\"cost_before_usd_per_month\":730,\"cost_after_usd_per_month\":328.5,"
			   "\"savings_per_month\":401.5,\"predicted_savings_per_month\":450,"
			   "\"settled\":true,\"measuring\":false}}";
	j = ks_json_parse(done, strlen(done), 1 << 20, NULL);
	ks_buf_reset(&out);
	apiclient_format_plan(j, &out);
	assert_string_equal(out.data,
			    "Plan:    p4\nStatus:  succeeded\nRisk:    medium\nTitle:   Mix\n"
			    "Measured: succeeded, ran 4 s, outcome 12 s after the plan\n"
			    "          saves $401.50/month (predicted $450.00): $730.00 -> $328.50\n");
	cJSON_Delete(j);
	j = ks_json_parse("{\"answer\":\"Because.\",\"refs\":[\"m1\",\"m2\"]}", 40, 1024, NULL);
	ks_buf_reset(&out);
	apiclient_format_answer(j, &out);
	assert_string_equal(out.data, "Because.\nBased on: m1 m2\n");
	cJSON_Delete(j);
	ks_buf_release(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_healthz_and_metrics),
		cmocka_unit_test(test_get_routes),
		cmocka_unit_test(test_static_routes),
		cmocka_unit_test(test_post_routes_and_auth),
		cmocka_unit_test(test_auth_reads),
		cmocka_unit_test(test_no_token),
		cmocka_unit_test(test_body_cap),
		cmocka_unit_test(test_transcript),
		cmocka_unit_test(test_stream_live_in_order),
		cmocka_unit_test(test_stream_since_and_filters),
		cmocka_unit_test(test_stream_http11_curl),
		cmocka_unit_test(test_stream_resume_no_gap_no_dup),
		cmocka_unit_test(test_stream_replay_overflow),
		cmocka_unit_test(test_stream_ping),
		cmocka_unit_test(test_stream_slow_client),
		cmocka_unit_test(test_stream_client_limit),
		cmocka_unit_test(test_stream_many_clients),
		cmocka_unit_test(test_apireq),
		cmocka_unit_test(test_selfmetrics),
		cmocka_unit_test(test_apiclient_errors),
		cmocka_unit_test(test_format),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
