/* anonymize.h — mask what identifies a cluster before a finding leaves for an LLM, and put
 * it back in the answer.
 *
 * A struct diag_anon maps each real string to a stable placeholder of its category, numbered
 * in order of first sight: "name-1", "namespace-1", "uid-1", "label-1", "image-1", "host-1",
 * "log-1", "event-1", "value-1". One real string has one placeholder whatever category saw
 * it first, so a namespace and an object of the same name stay one thing to the model; the
 * same finding masked twice gives the same text (which makes the explain cache work).
 *
 * diag_anon_mask_json masks a finding's JSON (diag_finding_json output, or the subset the
 * explainer sends) in two passes:
 *   1. structured fields: "name" (but a metric's name), "container", "namespace", "uid",
 *      "image", "node"/"nodeName"/"host", every value under "labels"/"selector"/
 *      "matchLabels", a log item's "line" and an event's "message" (whole, as log-N and
 *      event-N), and field/diff values ("value", "before", "after") unless they look like an
 *      enum or a quantity (Pending, CrashLoopBackOff, 137, 512Mi stay: they are the facts);
 *   2. every other string (symptom, root cause, notes, summaries, paths, queries…) has each
 *      real string learnt so far replaced, longest first, where it stands as a word — so
 *      "payments/api crash-loops" becomes "namespace-1/name-2 crash-loops".
 *   Kinds, types, cause codes, severities, reasons and numbers are not masked.
 * Strings learnt with diag_anon_learn beforehand (the world's namespaces, say) are replaced
 * in free text too.
 *
 * diag_anon_unmask puts the real strings back into an answer; struct diag_anon_stream does
 * it for a streamed answer, holding back a chunk's tail while it may still be the start of a
 * placeholder ("name-" then "1" in the next token).
 *
 * Ownership: the anon owns its strings; returned placeholders are valid until release;
 * diag_anon_mask_json returns a new tree the caller deletes. */
#ifndef KS_DIAG_ANONYMIZE_H
#define KS_DIAG_ANONYMIZE_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "base/buf.h"
#include "base/hashmap.h"

enum diag_anon_cat {
	DIAG_ANON_NAME, DIAG_ANON_NAMESPACE, DIAG_ANON_UID, DIAG_ANON_LABEL, DIAG_ANON_IMAGE,
	DIAG_ANON_HOST, DIAG_ANON_LOG, DIAG_ANON_EVENT, DIAG_ANON_VALUE,
	DIAG_ANON_NCAT
};

struct diag_anon_pair {
	char *real, *placeholder;
};

struct diag_anon {
	struct ks_map by_real;        /* real -> struct diag_anon_pair * */
	struct ks_map by_placeholder; /* placeholder -> struct diag_anon_pair * */
	struct diag_anon_pair **pairs;
	size_t n, cap;
	unsigned next[DIAG_ANON_NCAT];
};

void diag_anon_init(struct diag_anon *a);
void diag_anon_release(struct diag_anon *a);
/* The placeholder of real (made on first sight); "" stays "". */
const char *diag_anon_mask(struct diag_anon *a, enum diag_anon_cat c, const char *real);
/* Learn a real string so free text has it replaced (same as mask, result unused). */
void diag_anon_learn(struct diag_anon *a, enum diag_anon_cat c, const char *real);
/* A masked copy of a finding's JSON. */
cJSON *diag_anon_mask_json(struct diag_anon *a, const cJSON *finding);
/* Free text with every learnt real string replaced (pass 2 above), and the host names and
 * IPv4 addresses it mentions ("pg-main.payments.svc.cluster.local") masked as host-N.
 * Caller frees. */
char *diag_anon_mask_text(struct diag_anon *a, const char *s);
/* The answer with placeholders replaced by their real strings (unknown ones stay). Appends
 * to out. */
int diag_anon_unmask(const struct diag_anon *a, const char *s, size_t n, struct ks_buf *out);

/* Unmasking a stream: feed appends to out what can be shown now; finish the rest. */
struct diag_anon_stream {
	const struct diag_anon *a;
	struct ks_buf hold;
	char prev; /* the last byte shown: whether a placeholder may start right after it */
};
void diag_anon_stream_init(struct diag_anon_stream *st, const struct diag_anon *a);
int diag_anon_stream_feed(struct diag_anon_stream *st, const char *s, size_t n,
			  struct ks_buf *out);
int diag_anon_stream_finish(struct diag_anon_stream *st, struct ks_buf *out);
void diag_anon_stream_release(struct diag_anon_stream *st);

#endif
