/* bus.h — the one message bus of a kswarm process (DESIGN.md: "Everything the swarm says
 * is a typed message on one bus").
 *
 * Guarantees:
 *  1. Recorded before delivered: bus_publish appends the message to the store first; if the
 *     append fails, publish fails and no subscriber sees the message.
 *  2. One total order: every subscriber sees every message it matches in the order of the
 *     transcript's seq (id "m<seq>"), whichever thread published it.
 *  3. Re-entrant: a callback may publish; that message is recorded at once and delivered
 *     after the current one has reached every subscriber (breadth first), so guarantee 2
 *     holds. Such a publish returns before its message is delivered.
 *  4. Otherwise bus_publish returns after its message was delivered. Delivery runs in a
 *     publishing thread: a thread that publishes while another is delivering waits for it
 *     (the other thread delivers the queued message in order). Callbacks must therefore not
 *     wait on another thread that publishes.
 * Ownership: bus_new borrows the store (it must outlive the bus). bus_publish does not take
 * the message: it fills m->seq, m->id and (when 0) m->ts, and delivers a copy. Callbacks get
 * a borrowed message valid during the call. Filter strings are copied by bus_subscribe. */
#ifndef KS_SWARM_BUS_H
#define KS_SWARM_BUS_H

#include <stdint.h>

#include "swarm/msg.h"

struct ks_err;
struct store;
struct bus;

/* Which messages a subscriber receives. A zeroed filter matches everything. */
struct bus_filter {
	uint32_t types;    /* bit (1u << type) per wanted type; 0: every type */
	const char *to;    /* NULL: any; else messages to this agent and to everyone ("") */
	const char *kind;  /* subject filters: NULL or "" matches any value */
	const char *namespace;
	const char *name;
};

#define BUS_TYPE_BIT(t) (1u << (t))

typedef void (*bus_cb)(const struct swarm_msg *m, void *ctx);

int bus_new(struct store *store, struct bus **out, struct ks_err *err);
/* Free the bus (no publish may be running). */
void bus_free(struct bus *b);

/* Subscribe; returns a subscription id (> 0) for bus_unsubscribe. Safe from a callback: the
 * new subscriber gets the messages published after this call. */
int bus_subscribe(struct bus *b, const struct bus_filter *filter, bus_cb cb, void *ctx);
/* Stop a subscription; after this returns its callback is not called again (except that a
 * callback running in another thread at that moment finishes). */
void bus_unsubscribe(struct bus *b, int id);

/* Validate (envelope and typed body), assign seq/id/ts, record, deliver (see above). */
int bus_publish(struct bus *b, struct swarm_msg *m, struct ks_err *err);

/* The recorded messages after since_seq, in order (for late joiners: SSE Last-Event-ID).
 * cb returns nonzero to stop. */
int bus_replay(struct bus *b, int64_t since_seq, int (*cb)(const struct swarm_msg *m, void *ctx),
	       void *ctx, struct ks_err *err);

#endif
