/* daemon.h — `kswarm run`: the long-running process that watches a cluster, runs the
 * swarm's rounds, executes approved plans through the reconciler and serves the HTTP API.
 *
 * The loop (one thread; the HTTP server has its own):
 *
 *   start: open the store, the bus, the policies; connect; reconcile_resume (finish or roll
 *          back what a crash interrupted); start the server.
 *   ROUND: load the world (LIST of every served kind, container logs of failing pods,
 *          usage from Prometheus when configured) -> Layer 2 findings -> cost report ->
 *          swarm_round (proposals, critiques, decisions, plans, approvals)
 *   EXECUTE: while an approved plan is queued: reconcile_execute (its events become
 *          step_started / step_done / verification / rollback / outcome messages), then
 *          swarm_plan_finished.
 *   WAIT: until the interval has passed, a plan was approved over the API, or stop.
 *   stop: after the current step of work; the server and the store are closed.
 *
 * Ownership: the config is borrowed for the daemon's life. */
#ifndef KS_DAEMON_H
#define KS_DAEMON_H

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>

struct ks_err;
struct daemon_config;
struct daemon;

struct daemon_opts {
	const struct daemon_config *config;
	FILE *stream;           /* one line per message as it happens (NULL: none) */
	bool colour;            /* ANSI colours on the stream */
	int max_rounds;         /* stop after this many rounds (0: never; tests) */
	volatile sig_atomic_t *stop; /* set (by a signal handler) to stop */
	/* Called once the server listens, with its address (for scripts: --ready-file). */
	void (*on_ready)(void *ctx, const char *address);
	void *ready_ctx;
};

/* Run until *stop is set or max_rounds are done. 0 on a clean stop. */
int daemon_run(const struct daemon_opts *o, struct ks_err *err);

#endif
