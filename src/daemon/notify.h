/* notify.h — notifications: the swarm's findings (diagnoses), plans awaiting approval and
 * plans' outcomes announced to chat or to any HTTP endpoint (kswarm.yaml `notify:`,
 * docs/CONFIG.md).
 *
 * Sinks:
 *   slack    a Slack-compatible incoming webhook: {"text":…,"blocks":[section, context]}
 *   webhook  a generic JSON webhook: the message itself (docs/MESSAGES.md shape), with the
 *            configured headers and, with token_file, "Authorization: Bearer <token>"
 * What is announced (a bus subscriber):
 *   diagnosis         once per subject (kind, namespace, name) until its text changes, or
 *                     until a succeeded outcome on that subject resolves it (then a new
 *                     diagnosis is announced again) — not every round;
 *   approval_request  once per plan;
 *   outcome           once per plan.
 * Each sink has a rate limit (a token bucket of per_minute, refilled continuously): past it
 * a notification is dropped and counted. Delivery is on a worker thread of the notifier
 * (the bus callback only renders and queues: it never blocks on the network), POST with a
 * 5 s timeout; a network error, 429 or 5xx is retried with exponential back-off (base,
 * doubled per attempt, capped), up to max_attempts; other 4xx are not retried.
 * Secrets: the messages carry no secret values (the swarm publishes fingerprints only); the
 * sink's URL (a Slack webhook URL is a credential), headers and token are never logged nor
 * sent anywhere but to that sink: logs name a sink by its index and type.
 *
 * Ownership: notifier_new copies the sink configuration; notifier_free stops the worker
 * (after the attempt in hand; what is still queued is dropped and counted). */
#ifndef KS_DAEMON_NOTIFY_H
#define KS_DAEMON_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ks_buf;
struct ks_err;
struct bus;
struct swarm_msg;
struct notifier;

enum notify_kind { NOTIFY_SLACK, NOTIFY_WEBHOOK };

#define NOTIFY_MAX_SINKS 16
#define NOTIFY_MAX_HEADERS 16
#define NOTIFY_DEFAULT_PER_MINUTE 20

/* One sink as configured (config.c fills it; strings owned). */
struct notify_sink {
	enum notify_kind kind;
	char *url;        /* or */
	char *url_file;   /* a file holding the URL (Slack's URL is a secret) */
	char *token_file; /* optional bearer token */
	char *headers[NOTIFY_MAX_HEADERS]; /* "Name: value" */
	size_t nheaders;
	int per_minute;   /* rate limit; default NOTIFY_DEFAULT_PER_MINUTE */
};

void notify_sink_release(struct notify_sink *s);
const char *notify_kind_name(enum notify_kind k);

struct notify_opts {
	int max_attempts;       /* default 5 */
	int64_t backoff_ms;     /* first retry after this; default 1000 */
	int64_t max_backoff_ms; /* default 60000 */
	long timeout_ms;        /* per POST; default 5000 */
	size_t queue_max;       /* queued deliveries at most (then dropped); default 1000 */
};

struct notify_stats {
	uint64_t queued, delivered, retried, failed;
	uint64_t duplicates;   /* suppressed by the de-duplication (counted once per sink) */
	uint64_t rate_limited; /* dropped by the sink's rate limit */
	uint64_t dropped;      /* queue full, or still queued at notifier_free */
};

/* Reads url_file and token_file; starts the worker. */
int notifier_new(const struct notify_sink *sinks, size_t n, const struct notify_opts *o,
		 struct notifier **out, struct ks_err *err);
void notifier_free(struct notifier *n);
/* Subscribe to the bus (diagnosis, approval_request, outcome); 0 or an error. The bus must
 * outlive the subscription: call notifier_detach before bus_free. */
int notifier_attach(struct notifier *n, struct bus *b, struct ks_err *err);
void notifier_detach(struct notifier *n);
/* The bus callback (public for tests): dedup, rate limit, render, queue. */
void notifier_on_message(const struct swarm_msg *m, void *ctx);
/* Wait until nothing is queued or in flight (true) or timeout_ms passed (false). */
bool notifier_flush(struct notifier *n, int64_t timeout_ms);
void notifier_stats(const struct notifier *n, size_t sink, struct notify_stats *out);

/* Whether a message of this type is announced at all. */
bool notify_wants(const struct swarm_msg *m);
/* The payload a sink of this kind gets for m (pure; tests check it byte for byte). */
int notify_render(enum notify_kind kind, const struct swarm_msg *m, struct ks_buf *out);

#endif
