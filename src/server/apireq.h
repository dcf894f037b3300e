/* apireq.h — the parts of an API request that come from outside, parsed and checked without
 * any I/O (so they are fuzzed alone: fuzz/fuzz_api_request.c): sequence numbers from
 * Last-Event-ID or ?since=, ?limit=, stream filters, plan ids in paths, the JSON bodies of
 * approve / reject / ask, and the bearer token check.
 * Every parser fails with KS_EINVAL (or KS_ETOOBIG past a ceiling) and an error naming the
 * field; the server answers 400 (413) with that text.
 * Ownership: results are fixed arrays or heap strings the caller frees, as noted. */
#ifndef KS_SERVER_APIREQ_H
#define KS_SERVER_APIREQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "swarm/msg.h"

struct ks_err;

#define API_PLAN_ID_MAX 64      /* bytes of a plan id with the NUL */
#define API_BY_MAX 64           /* "by" with the NUL */
#define API_TEXT_MAX 4096       /* comment, reason, question: bytes without the NUL */
#define API_TRANSCRIPT_LIMIT_DEFAULT 100
#define API_TRANSCRIPT_LIMIT_MAX 1000

/* A sequence number: decimal digits (no sign, at most 19), or a message id "m<seq>" (so a
 * client may send either form back). */
int api_parse_seq(const char *s, int64_t *out, struct ks_err *err);
/* ?limit=: 1..max; NULL or "" gives def. */
int api_parse_limit(const char *s, int def, int max, int *out, struct ks_err *err);
/* A plan id in a path: 1..63 bytes of [A-Za-z0-9._-]. */
bool api_plan_id_valid(const char *s);

/* Which stream messages a client wants; a zeroed filter matches everything. */
struct api_stream_filter {
	uint32_t types; /* bit (1u << type); 0: every type */
	char from[SWARM_MSG_AGENT_MAX];
	char cluster[SWARM_MSG_AGENT_MAX];
	char kind[SWARM_MSG_KIND_MAX];
	char namespace[SWARM_MSG_NS_MAX];
	char name[SWARM_MSG_NAME_MAX];
};
/* Set one query parameter (from, cluster, kind, namespace, name, type = a comma-separated
 * list of message types); other keys are ignored (returns 0). An empty value matches any. */
int api_stream_filter_set(struct api_stream_filter *f, const char *key, const char *value,
			  struct ks_err *err);
bool api_stream_filter_match(const struct api_stream_filter *f, const struct swarm_msg *m);

/* POST bodies (len bytes, not NUL-terminated; at most SERVER_MAX_BODY). Strict: an object,
 * only the fields named, of the types named. */
struct api_decision {
	char by[API_BY_MAX];   /* "" when absent */
	char *text;            /* comment (approve, may be NULL) or reason (reject, required) */
};
int api_parse_approve(const char *body, size_t len, struct api_decision *out,
		      struct ks_err *err);
int api_parse_reject(const char *body, size_t len, struct api_decision *out,
		     struct ks_err *err);
void api_decision_release(struct api_decision *d);
/* {"question":"…"} -> a heap copy of the question (caller frees). */
int api_parse_ask(const char *body, size_t len, char **question, struct ks_err *err);

/* "Bearer <token>" against the configured token, in time independent of where they differ
 * (and of the presented token's content); false for a missing or malformed header. */
bool api_bearer_ok(const char *authorization, const char *token);

#endif
