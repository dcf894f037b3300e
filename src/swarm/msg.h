/* msg.h — the typed messages of Layer 3 (DESIGN.md "Layer 3 messages").
 * Every message the swarm says has one JSON shape:
 *   {"id":"m42","ts":"2026-11-21T10:00:02.123Z","cluster":"local","from":"cost",
 *    "to":"orchestrator","type":"proposal","re":["m40"],
 *    "subject":{"kind":"NodePool","namespace":"","name":"general"},
 *    "text":"Move nodepool general to arm64 ...","body":{...}}
 * `text` is a plain sentence for people; `body` is what programs read (its fields per type
 * are in docs/MESSAGES.md and checked by swarm_msg_check_body).
 * Ownership: a struct swarm_msg owns `text` (heap, free()) and `body` (a cJSON object,
 * cJSON_Delete); swarm_msg_release frees both. Short fields are fixed arrays, so a message
 * can be written with designated initializers: {.type = SWARM_MSG_PROPOSAL, .from = "cost"}.
 * Decoding is strict: unknown or repeated fields, wrong types, and anything past the ceilings
 * below are rejected with an error naming the field. */
#ifndef KS_SWARM_MSG_H
#define KS_SWARM_MSG_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

struct ks_err;
struct ks_buf;

enum swarm_msg_type {
	SWARM_MSG_OBSERVATION,
	SWARM_MSG_QUESTION,
	SWARM_MSG_DIAGNOSIS,
	SWARM_MSG_PROPOSAL,
	SWARM_MSG_CRITIQUE,
	SWARM_MSG_VETO,
	SWARM_MSG_VOTE,
	SWARM_MSG_DECISION,
	SWARM_MSG_PLAN,
	SWARM_MSG_APPROVAL_REQUEST,
	SWARM_MSG_APPROVAL,
	SWARM_MSG_REJECTION,
	SWARM_MSG_STEP_STARTED,
	SWARM_MSG_STEP_DONE,
	SWARM_MSG_VERIFICATION,
	SWARM_MSG_ROLLBACK,
	SWARM_MSG_OUTCOME,
	SWARM_MSG_TYPE_COUNT
};

/* Ceilings (bytes include the NUL where a field is an array). */
#define SWARM_MSG_ID_MAX 24       /* "m" + up to 19 digits */
#define SWARM_MSG_AGENT_MAX 64    /* from, to, cluster: up to 63 bytes */
#define SWARM_MSG_KIND_MAX 64     /* subject kind */
#define SWARM_MSG_NS_MAX 64       /* subject namespace (Kubernetes: 63) */
#define SWARM_MSG_NAME_MAX 254    /* subject name (Kubernetes: 253) */
#define SWARM_MSG_RE_MAX 32       /* ids a message answers */
#define SWARM_MSG_TEXT_MAX 4096   /* bytes of text */
#define SWARM_MSG_BODY_MAX 65536  /* bytes of the body printed compactly */
#define SWARM_MSG_BODY_DEPTH 16   /* nesting of the body (the body object is depth 1) */
/* Decode refuses a longer document (room for escapes and pretty-printing beyond the ceilings
 * above, which are checked on the decoded values). */
#define SWARM_MSG_JSON_MAX ((size_t)256 << 10)

struct swarm_subject {
	char kind[SWARM_MSG_KIND_MAX];       /* "Deployment", "NodePool"; "" when none */
	char namespace[SWARM_MSG_NS_MAX];    /* "" for cluster-scoped objects */
	char name[SWARM_MSG_NAME_MAX];
};

struct swarm_msg {
	int64_t seq;                    /* the transcript's sequence number (not in JSON) */
	char id[SWARM_MSG_ID_MAX];      /* "m42" = "m" + seq; assigned by the bus */
	int64_t ts;                     /* ms since the epoch (UTC); the bus stamps 0 */
	char cluster[SWARM_MSG_AGENT_MAX];
	char from[SWARM_MSG_AGENT_MAX]; /* agent name, required */
	char to[SWARM_MSG_AGENT_MAX];   /* agent name, "" for everyone */
	enum swarm_msg_type type;
	size_t nre;
	char re[SWARM_MSG_RE_MAX][SWARM_MSG_ID_MAX]; /* ids of the messages it answers */
	struct swarm_subject subject;
	char *text;                     /* owned, a plain sentence, required */
	cJSON *body;                    /* owned object; NULL is encoded as {} */
};

/* "proposal" for SWARM_MSG_PROPOSAL; "?" for a value out of range. */
const char *swarm_msg_type_name(enum swarm_msg_type t);
/* The type named s; KS_EINVAL when no type has that name. */
int swarm_msg_type_parse(const char *s, enum swarm_msg_type *out, struct ks_err *err);

/* Free text and body, and zero the message. */
void swarm_msg_release(struct swarm_msg *m);
/* A deep copy of src into dst (dst is overwritten, not released). */
void swarm_msg_copy(struct swarm_msg *dst, const struct swarm_msg *src);
/* Set text from a printf format (frees the old text). */
void swarm_msg_set_text(struct swarm_msg *m, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Append an id to re; KS_ETOOBIG past SWARM_MSG_RE_MAX, KS_EINVAL for a malformed id. */
int swarm_msg_add_re(struct swarm_msg *m, const char *id, struct ks_err *err);
/* Cut text in place to at most SWARM_MSG_TEXT_MAX - 1 bytes, at a UTF-8 character boundary. */
void swarm_msg_fit_text(char *text);
/* Whether s is a message id: "m" followed by 1..19 decimal digits, no leading zero. */
int swarm_msg_id_valid(const char *s);

/* Check the envelope (what decode checks) on a message built in memory: required fields,
 * lengths, characters, body shape and ceilings. id may be "" (not yet published). */
int swarm_msg_validate(const struct swarm_msg *m, struct ks_err *err);
/* Check that the body carries the fields its type requires (docs/MESSAGES.md); types
 * without a typed body pass. */
int swarm_msg_check_body(const struct swarm_msg *m, struct ks_err *err);

/* Append the message as one compact JSON object (the DESIGN shape, fields in that order). */
int swarm_msg_encode(const struct swarm_msg *m, struct ks_buf *out);
/* The same as a cJSON tree (caller deletes). */
cJSON *swarm_msg_to_json(const struct swarm_msg *m);
/* Decode one message from JSON text of len bytes; on success *m owns what it holds (release
 * it); on failure *m is left zeroed. Envelope only: call swarm_msg_check_body for the body. */
int swarm_msg_decode(const char *json, size_t len, struct swarm_msg *m, struct ks_err *err);
/* The same from a parsed object (not consumed). */
int swarm_msg_from_json(const cJSON *obj, struct swarm_msg *m, struct ks_err *err);

#endif
