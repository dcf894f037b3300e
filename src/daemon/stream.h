/* stream.h — the conversation as it happens, one line per message, for a terminal:
 *   10:00:02.123  cost → orchestrator  proposal  Move nodepool general to arm64 (m7g): …
 * Replies are indented under what they answer (two spaces per level, at most 8 levels);
 * with colour each agent has its own colour and the type is dimmed. No colour when the
 * caller says so (not a TTY, NO_COLOR set).
 * With an LLM configured, its explanation of a message streams token by token on a line of
 * its own under that message (stream_printer_sink, for src/daemon/narrate.h):
 *   10:00:02.300    llm  explains m42  The payment service cannot log in to its database…
 * Ownership: the printer owns its depth table; out is borrowed. */
#ifndef KS_DAEMON_STREAM_H
#define KS_DAEMON_STREAM_H

#include <stdbool.h>
#include <stdio.h>

#include "daemon/narrate.h"

struct bus;
struct swarm_msg;
struct ks_buf;
struct stream_printer;

/* Subscribe a printer to every message of the bus. */
struct stream_printer *stream_printer_attach(struct bus *b, FILE *out, bool colour);
void stream_printer_detach(struct stream_printer *p, struct bus *b);
/* The sink that writes an LLM's tokens as they arrive (valid while p is attached). */
struct narrate_sink stream_printer_sink(struct stream_printer *p);
/* The line for m (without the newline) at indentation depth, appended to out. */
void stream_format(struct ks_buf *out, const struct swarm_msg *m, int depth, bool colour);

#endif
