/* sse.h — the live stream's clients (internal to src/server): Server-Sent Events over
 * libmicrohttpd with suspended connections, fed by one bus subscriber.
 *
 * A client is a libmicrohttpd response whose content reader hands out the frames queued for
 * it ("id: <seq>\nevent: <type>\ndata: <msg JSON>\n\n") and suspends the connection when
 * there is nothing to send; sse_hub_publish (the bus callback) queues a frame for every
 * client whose filter matches and resumes the suspended ones. A client is in one of two
 * states:
 *   REPLAY -> LIVE
 *   REPLAY: it asked for the messages after seq N (Last-Event-ID / ?since=): the reader reads
 *     the transcript in batches of SSE_REPLAY_BATCH (replay_batch); live messages meanwhile
 *     wait in a side list (at most queue_max; past that they are dropped and read back from
 *     the store, where the bus recorded them before delivering them). When a batch comes back
 *     short the reader moves the waiting messages newer than the last replayed one to the
 *     queue and the client is LIVE (catch_up). No gap: every message is either in the store
 *     when a batch is read or delivered after the client joined. No duplicate: each client
 *     keeps the highest seq it has queued (cursor) and skips anything at or below it.
 *   LIVE: frames queue as they are published; a client more than queue_max frames (or
 *     SSE_CLIENT_BYTES_MAX bytes) behind is closed (counted as dropped) and resumes with
 *     Last-Event-ID.
 * Every ping_ms (15 s) an idle client gets a ": ping" comment, which also finds connections
 * the peer has closed (libmicrohttpd does not watch suspended ones).
 * Shutdown: sse_hub_close_all marks every client closed and resumes the suspended ones
 * (libmicrohttpd must not be stopped with suspended connections); their readers then end the
 * response and the response free callback unlinks and frees the client.
 * Ownership: the hub borrows the store; frames are shared between clients (refcounted). */
#ifndef KS_SERVER_SSE_H
#define KS_SERVER_SSE_H

#include <stddef.h>
#include <stdint.h>

#include "server/apireq.h"

struct MHD_Connection;
struct MHD_Response;
struct ks_err;
struct store;
struct swarm_msg;
struct sse_hub;

#define SSE_PING_MS 15000
#define SSE_CLIENT_QUEUE_MAX 4096              /* frames a client may be behind */
#define SSE_CLIENT_BYTES_MAX ((size_t)16 << 20) /* bytes a client may be behind */
#define SSE_REPLAY_BATCH 256

struct sse_hub_stats {
	int clients;
	uint64_t frames;  /* message frames queued, all clients */
	uint64_t dropped; /* clients closed for falling behind */
	uint64_t replayed; /* messages read back from the store */
};

struct sse_hub *sse_hub_new(struct store *store, int max_clients);
/* Stop the ping thread and free (every client must be gone: after MHD_stop_daemon). */
void sse_hub_free(struct sse_hub *h);
/* Tests: the ping interval and the per-client queue cap. */
void sse_hub_tune(struct sse_hub *h, int ping_ms, size_t queue_max);

/* A streaming response for conn with the messages after since (< 0: live only) that match
 * f; NULL with KS_ETOOBIG when max_clients are connected, KS_ECANCELED when closing. The
 * caller queues it with status 200 and destroys its reference. */
struct MHD_Response *sse_open(struct sse_hub *h, struct MHD_Connection *conn, int64_t since,
			      const struct api_stream_filter *f, struct ks_err *err);
/* The bus callback (ctx: the hub). */
void sse_hub_publish(const struct swarm_msg *m, void *ctx);
/* Close every client (see above); no new client is accepted after this. */
void sse_hub_close_all(struct sse_hub *h);
void sse_hub_get_stats(struct sse_hub *h, struct sse_hub_stats *out);

/* The hub of a running server (server.c; tests tune it). */
struct server;
struct sse_hub *server_sse_hub(struct server *s);

#endif
