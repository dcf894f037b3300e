/* watch.h — LIST then WATCH one resource, for ever, surviving everything the API server
 * and the network do to a long stream.
 *
 * A kube_watch drives this state machine (functions in watch.c):
 *
 *        start ──> LIST ──(list_done: all pages, rv = list's resourceVersion)──> WATCH
 *                   ^                                                           │
 *                   │ 410 Gone (HTTP status or an ERROR event with code 410)    │ events: ADDED,
 *                   └──────────────────────── RELIST <──────────────────────────┤ MODIFIED,
 *                                                                               │ DELETED,
 *        BACKOFF ──(timer: jittered exponential, 0.8 s .. 30 s)──> WATCH <──────┘ BOOKMARK
 *           ^                                            (stream ended: watch_done)
 *           └── transport error, 5xx, 429, bad event: watch_done / list_done with an error
 *
 * Invariants:
 *   1. rv is the resourceVersion of the last event delivered (or of the list), so a new
 *      WATCH resumes exactly where the last left off — nothing missed, nothing repeated.
 *   2. A LIST is delivered page by page: on_list_begin, on_list_page for each page, and
 *      on_list_end only when every page came in. A LIST that fails half-way ends without
 *      on_list_end, and the next one starts again with on_list_begin — so a reader that
 *      diffs (the informer) deletes only at on_list_end, from a complete snapshot.
 *   3. Every callback runs from kube_http_poll, outside libcurl.
 *
 * The framing parser (kube_watch_framer) splits the stream into newline-delimited JSON
 * events with a size ceiling per event; it is fuzzed (fuzz/fuzz_watch.c). */
#ifndef KS_KUBE_WATCH_H
#define KS_KUBE_WATCH_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "base/buf.h"
#include "kube/client.h"

struct ks_err;

enum kube_event_type { KUBE_EV_ADDED, KUBE_EV_MODIFIED, KUBE_EV_DELETED, KUBE_EV_BOOKMARK,
		       KUBE_EV_ERROR };

/* ---- framing ---- */

#define KUBE_WATCH_MAX_EVENT ((size_t)16 << 20)

struct kube_watch_framer {
	struct ks_buf line;
	size_t max_event;
};
void kube_watch_framer_init(struct kube_watch_framer *f, size_t max_event);
void kube_watch_framer_release(struct kube_watch_framer *f);
/* Feed bytes; calls fn for each complete event (type, object); fn returns non-zero to stop.
 * Returns 0, fn's non-zero value, or KS_ETOOBIG / KS_EINVAL for a bad event (err set). */
typedef int (*kube_event_fn)(void *ctx, enum kube_event_type type, cJSON *object);
int kube_watch_framer_feed(struct kube_watch_framer *f, const char *p, size_t n,
			   kube_event_fn fn, void *ctx, struct ks_err *err);
/* Parse one event line ({"type":..,"object":..}); *object is detached for the caller. */
int kube_watch_parse_event(const char *line, size_t len, enum kube_event_type *type,
			   cJSON **object, struct ks_err *err);
const char *kube_event_type_name(enum kube_event_type t);

/* ---- the watch loop ---- */

enum kube_watch_state { KW_IDLE, KW_LIST, KW_WATCH, KW_BACKOFF, KW_STOPPED };

struct kube_watch_handlers {
	/* A full snapshot, page by page (see invariant 2). A page's items live in a JSON arena
	 * and are valid during the call only. */
	void (*on_list_begin)(void *ctx);
	void (*on_list_page)(void *ctx, cJSON *items);
	void (*on_list_end)(void *ctx, const char *rv);
	/* One change; object is valid during the call (steal it with the detach flag). */
	void (*on_event)(void *ctx, enum kube_event_type type, cJSON *object);
	/* State changes and errors, for logs and metrics (err NULL when none). */
	void (*on_state)(void *ctx, enum kube_watch_state state, const struct ks_err *err);
	void *ctx;
};

struct kube_watch_opts {
	const char *ns;             /* NULL: all namespaces */
	const char *label_selector;
	const char *field_selector;
	int64_t page_size;          /* LIST limit, 0: 500 */
	int timeout_s;              /* server-side watch timeout, 0: random 5-10 min as client-go */
	bool no_bookmarks;
	const char *resource_version; /* start watching here and skip the LIST */
	long backoff_initial_ms;    /* 0: 800 */
	long backoff_max_ms;        /* 0: 30000 */
};

struct kube_watch;

struct kube_watch *kube_watch_new(struct kube_client *c, const struct kube_resource *r,
				  const struct kube_watch_opts *o,
				  const struct kube_watch_handlers *h);
/* Begin (LIST or WATCH); progress happens in kube_watch_poll / kube_http_poll. */
void kube_watch_start(struct kube_watch *w);
/* Run timers (back-off) and the client's transfers for up to timeout_ms. */
void kube_watch_poll(struct kube_watch *w, long timeout_ms);
/* The watch's own timer without polling the connection: restart it when its back-off is
 * over. Returns timeout_ms shortened to when the back-off ends (for the caller's poll). Many
 * watches on one client: tick each, then poll the client's HTTP once. */
long kube_watch_tick(struct kube_watch *w, long timeout_ms);
void kube_watch_stop(struct kube_watch *w);
/* Watch again from resourceVersion rv (a stopped or running watch); when the server no
 * longer has rv, it answers 410 and the watch relists. */
void kube_watch_resume(struct kube_watch *w, const char *rv);
void kube_watch_free(struct kube_watch *w);
enum kube_watch_state kube_watch_state(const struct kube_watch *w);
const char *kube_watch_rv(const struct kube_watch *w);

struct kube_watch_stats {
	uint64_t lists, relists, watches, restarts, events, bookmarks, gone;
};
void kube_watch_get_stats(const struct kube_watch *w, struct kube_watch_stats *out);

#endif
