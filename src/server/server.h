/* server.h — the daemon's HTTP server (libmicrohttpd): the JSON API, the live stream as
 * Server-Sent Events, Prometheus /metrics about kswarm itself, /healthz, and (issue 7) the
 * embedded web UI.
 *
 * Routes (docs/API.md):
 *   GET  /healthz                       200 "ok" (no auth)
 *   GET  /metrics                       Prometheus text 0.0.4 (no auth)
 *   GET  /api/v1/findings               handlers.findings
 *   GET  /api/v1/cost                   handlers.cost
 *   GET  /api/v1/cost/history           handlers.cost_history (the recorded cost series)
 *   GET  /api/v1/proposals              handlers.proposals
 *   GET  /api/v1/plans[?status=S]       handlers.plans_list
 *   GET  /api/v1/plans/{id}             handlers.plan_get
 *   POST /api/v1/plans/{id}/approve     {"by"?, "comment"?}   (bearer token)
 *   POST /api/v1/plans/{id}/reject      {"by"?, "reason"}     (bearer token)
 *   GET  /api/v1/transcript?since=SEQ&limit=N   messages from the store
 *   GET  /api/v1/stream                 SSE: "id: <seq>\nevent: <type>\ndata: <msg JSON>\n\n";
 *                                       Last-Event-ID (header) or ?since= resumes from the
 *                                       transcript, then live from the bus; filters
 *                                       ?from=agent&cluster=&kind=&namespace=&name=
 *   POST /api/v1/ask                    {"question"} -> {"answer","refs"} (bearer token)
 *   GET  /, /ui/NAME                    the embedded web UI (webui.h; no auth)
 * Auth: when a token is configured, every mutating call (POST) needs
 * "Authorization: Bearer <token>" (compared in constant time); GETs need it too when
 * auth_reads is set. Errors are JSON {"error":"…","code":N}. Request bodies are capped at
 * SERVER_MAX_BODY. Every request is logged as one structured line (method, path, status,
 * duration; never the token or a body).
 *
 * Threads: libmicrohttpd's internal thread pool; SSE clients are suspended while they have
 * nothing to read and resumed by the bus callback (no thread per client). The handlers are
 * called from the server's threads and must be thread-safe.
 * Ownership: opts and handlers are copied; the bus and store are borrowed and must outlive
 * the server. Handlers return a cJSON tree the server frees. */
#ifndef KS_SERVER_H
#define KS_SERVER_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

struct ks_err;
struct ks_buf;
struct bus;
struct store;
struct server;

#define SERVER_MAX_BODY (64 * 1024)

/* Each returns 0 and sets *out, or a negative KS_E* with err (mapped to the HTTP status:
 * KS_ENOTFOUND 404, KS_EINVAL 400, KS_ECONFLICT 409, KS_EFORBIDDEN 403, others 500). */
struct server_handlers {
	void *ctx;
	int (*findings)(void *ctx, cJSON **out, struct ks_err *err);
	int (*cost)(void *ctx, cJSON **out, struct ks_err *err);
	int (*cost_history)(void *ctx, cJSON **out, struct ks_err *err);
	int (*proposals)(void *ctx, cJSON **out, struct ks_err *err);
	int (*plans_list)(void *ctx, const char *status, cJSON **out, struct ks_err *err);
	int (*plan_get)(void *ctx, const char *plan_id, cJSON **out, struct ks_err *err);
	int (*approve)(void *ctx, const char *plan_id, const char *by, const char *comment,
		       struct ks_err *err);
	int (*reject)(void *ctx, const char *plan_id, const char *by, const char *reason,
		      struct ks_err *err);
	int (*ask)(void *ctx, const char *question, cJSON **out, struct ks_err *err);
	/* Extra metric families appended to /metrics (Prometheus text), or NULL. */
	int (*metrics)(void *ctx, struct ks_buf *out, struct ks_err *err);
};

struct server_opts {
	const char *listen;        /* "127.0.0.1:8080"; "[::1]:8080"; port 0 picks a free one */
	const char *token;         /* bearer token; NULL or "": no auth (only on loopback) */
	bool auth_reads;           /* GETs of /api need the token too */
	int threads;               /* default 2 */
	int max_stream_clients;    /* default 2000 */
	struct bus *bus;           /* required (the live stream) */
	struct store *store;       /* required (transcript and resume) */
	struct server_handlers handlers;
};

int server_start(const struct server_opts *o, struct server **out, struct ks_err *err);
/* The bound address "127.0.0.1:41234" (after port 0). */
const char *server_address(const struct server *s);
/* Close every stream, stop the threads, free. */
void server_stop(struct server *s);

/* Counters the daemon feeds (also exported on /metrics as kswarm_*). */
void server_count(struct server *s, const char *family, const char *labels, double add);

#endif
