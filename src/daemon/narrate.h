/* narrate.h — an LLM narrates the conversation: for the messages a person most wants
 * explained (diagnosis, decision, veto, rollback, outcome), the configured LLM writes two or
 * three plain sentences, and its tokens reach the terminal as they arrive.
 *
 * The LLM only words what the swarm computed. Its prompt holds the message's type, author,
 * subject and text (never the body); the agents' texts carry no secret values (tests plant
 * passwords to prove it). The whole explanation is then published on the bus as an
 * observation from "llm" answering the message, body {"explains": id, "worded_by": model,
 * "streamed": true when a sink showed its tokens}, so the transcript and the web UI have it.
 *
 * Ownership: the narrator borrows the bus, the LLM configuration and the sink, which must
 * outlive it. narrator_free waits for the worker (a request in flight is cancelled). */
#ifndef KS_DAEMON_NARRATE_H
#define KS_DAEMON_NARRATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bus;
struct ks_err;
struct llm_config;
struct narrator;

/* Where the tokens go as they arrive (the terminal printer, src/daemon/stream.h). Called
 * from the narrator's worker thread, one explanation at a time: begin, tokens, end. */
struct narrate_sink {
	void (*begin)(void *ctx, int64_t about_seq, const char *about_id);
	void (*token)(void *ctx, const char *text, size_t len);
	/* ok false: the LLM stopped (why: its error, no secret in it). */
	void (*end)(void *ctx, bool ok, const char *why);
	void *ctx;
};

#define NARRATE_QUEUE_MAX 32       /* messages waiting; a full queue drops the oldest */
#define NARRATE_FAILS_BEFORE_PAUSE 3
#define NARRATE_PAUSE_S 60         /* after that many failures in a row: the LLM is down */

struct narrate_stats {
	uint64_t explained, failed, dropped;
};

/* Subscribe to the bus and start the worker. sink may be NULL (explanations are then only
 * published). */
int narrator_new(struct bus *b, const struct llm_config *llm, const struct narrate_sink *sink,
		 struct narrator **out, struct ks_err *err);
/* Wait until nothing is queued or being explained, at most timeout_ms; true when idle. */
bool narrator_drain(struct narrator *n, int timeout_ms);
void narrator_stats(struct narrator *n, struct narrate_stats *out);
/* Unsubscribe, cancel what is in flight, join the worker, free. NULL is fine. */
void narrator_free(struct narrator *n);

#endif
