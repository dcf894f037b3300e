/* msg.c — see msg.h. One encoder (through a cJSON tree, so the field order is the DESIGN
 * shape's) and one strict decoder; swarm_msg_validate is the envelope check both the decoder
 * and the bus use, swarm_msg_check_body the per-type table of required body fields. */
#include "base/common.h"
#include "base/json.h"
#include "base/timeutil.h"
#include "swarm/msg.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const type_names[SWARM_MSG_TYPE_COUNT] = {
	[SWARM_MSG_OBSERVATION] = "observation",
	[SWARM_MSG_QUESTION] = "question",
	[SWARM_MSG_DIAGNOSIS] = "diagnosis",
	[SWARM_MSG_PROPOSAL] = "proposal",
	[SWARM_MSG_CRITIQUE] = "critique",
	[SWARM_MSG_VETO] = "veto",
	[SWARM_MSG_VOTE] = "vote",
	[SWARM_MSG_DECISION] = "decision",
	[SWARM_MSG_PLAN] = "plan",
	[SWARM_MSG_APPROVAL_REQUEST] = "approval_request",
	[SWARM_MSG_APPROVAL] = "approval",
	[SWARM_MSG_REJECTION] = "rejection",
	[SWARM_MSG_STEP_STARTED] = "step_started",
	[SWARM_MSG_STEP_DONE] = "step_done",
	[SWARM_MSG_VERIFICATION] = "verification",
	[SWARM_MSG_ROLLBACK] = "rollback",
	[SWARM_MSG_OUTCOME] = "outcome",
};

/* The last millisecond ks_time_parse_rfc3339 can represent (int64 nanoseconds: 2262). */
#define TS_MAX_MS (INT64_MAX / 1000000 - 1)

const char *swarm_msg_type_name(enum swarm_msg_type t)
{
	if ((unsigned)t >= SWARM_MSG_TYPE_COUNT)
		return "?";
	return type_names[t];
}

int swarm_msg_type_parse(const char *s, enum swarm_msg_type *out, struct ks_err *err)
{
	for (int t = 0; t < SWARM_MSG_TYPE_COUNT; t++) {
		if (strcmp(s, type_names[t]) == 0) {
			*out = (enum swarm_msg_type)t;
			return 0;
		}
	}
	return ks_err_set(err, KS_EINVAL, "type: \"%.40s\" is not a message type", s);
}

void swarm_msg_release(struct swarm_msg *m)
{
	free(m->text);
	cJSON_Delete(m->body);
	*m = (struct swarm_msg){0};
}

void swarm_msg_copy(struct swarm_msg *dst, const struct swarm_msg *src)
{
	*dst = *src;
	dst->text = src->text ? ks_strdup(src->text) : NULL;
	dst->body = src->body ? cJSON_Duplicate(src->body, true) : NULL;
	if (src->body && !dst->body)
		abort(); /* cJSON_Duplicate fails only on out-of-memory */
}

void swarm_msg_set_text(struct swarm_msg *m, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *t = ks_vasprintf(fmt, ap);
	va_end(ap);
	free(m->text);
	m->text = t;
}

void swarm_msg_fit_text(char *text)
{
	size_t len = strlen(text);
	if (len < SWARM_MSG_TEXT_MAX)
		return;
	len = SWARM_MSG_TEXT_MAX - 1;
	while (len > 0 && ((unsigned char)text[len] & 0xC0) == 0x80)
		len--; /* cut at a character boundary */
	text[len] = '\0';
}

int swarm_msg_id_valid(const char *s)
{
	if (s[0] != 'm' || s[1] < '1' || s[1] > '9')
		return 0;
	size_t n = strlen(s + 1);
	if (n > 19)
		return 0;
	for (size_t i = 1; i <= n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	/* 19 digits may still overflow int64. */
	return n < 19 || strcmp(s + 1, "9223372036854775807") <= 0;
}

int swarm_msg_add_re(struct swarm_msg *m, const char *id, struct ks_err *err)
{
	if (!swarm_msg_id_valid(id))
		return ks_err_set(err, KS_EINVAL, "re: \"%.30s\" is not a message id (m<number>)",
				  id);
	if (m->nre >= SWARM_MSG_RE_MAX)
		return ks_err_set(err, KS_ETOOBIG, "re: more than %d ids", SWARM_MSG_RE_MAX);
	snprintf(m->re[m->nre++], SWARM_MSG_ID_MAX, "%s", id);
	return 0;
}

/* ---- validation ---- */

/* A name-like field: printable ASCII without spaces; empty allowed when !required. */
static int check_token(const char *field, const char *s, size_t max, bool required,
		       struct ks_err *err)
{
	size_t n = strnlen(s, max);
	if (n >= max)
		return ks_err_set(err, KS_ETOOBIG, "%s: longer than %zu bytes", field, max - 1);
	if (required && n == 0)
		return ks_err_set(err, KS_EINVAL, "%s: required, and empty", field);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c <= 0x20 || c >= 0x7f)
			return ks_err_set(err, KS_EINVAL, "%s: byte %zu (0x%02x) is not "
					  "printable ASCII", field, i, c);
	}
	return 0;
}

static int check_text(const char *s, struct ks_err *err)
{
	if (!s || !*s)
		return ks_err_set(err, KS_EINVAL, "text: required, and empty");
	size_t n = strnlen(s, SWARM_MSG_TEXT_MAX + 1);
	if (n > SWARM_MSG_TEXT_MAX)
		return ks_err_set(err, KS_ETOOBIG, "text: longer than %d bytes",
				  SWARM_MSG_TEXT_MAX);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f)
			return ks_err_set(err, KS_EINVAL,
					  "text: control character 0x%02x at byte %zu", c, i);
	}
	return 0;
}

/* Depth of a JSON value (a scalar is 1), counting no further than limit + 1. */
static int json_depth(const cJSON *v, int limit)
{
	if (!cJSON_IsArray(v) && !cJSON_IsObject(v))
		return 1;
	if (limit <= 0)
		return 1;
	int deepest = 0;
	for (const cJSON *c = v->child; c; c = c->next) {
		int d = json_depth(c, limit - 1);
		if (d > deepest)
			deepest = d;
		if (deepest >= limit)
			break;
	}
	return deepest + 1;
}

static int check_body_shape(const cJSON *body, struct ks_err *err)
{
	if (!body)
		return 0;
	if (!cJSON_IsObject(body))
		return ks_err_set(err, KS_EINVAL, "body: not an object");
	if (json_depth(body, SWARM_MSG_BODY_DEPTH) > SWARM_MSG_BODY_DEPTH)
		return ks_err_set(err, KS_ETOOBIG, "body: nested deeper than %d levels",
				  SWARM_MSG_BODY_DEPTH);
	char *s = ks_json_print(body);
	size_t n = s ? strlen(s) : 0;
	free(s);
	if (!s)
		return ks_err_set(err, KS_EINVAL, "body: cannot be printed as JSON");
	if (n > SWARM_MSG_BODY_MAX)
		return ks_err_set(err, KS_ETOOBIG, "body: %zu bytes, more than %d", n,
				  SWARM_MSG_BODY_MAX);
	return 0;
}

int swarm_msg_validate(const struct swarm_msg *m, struct ks_err *err)
{
	int rc;
	if (m->id[0] && !swarm_msg_id_valid(m->id))
		return ks_err_set(err, KS_EINVAL, "id: \"%.30s\" is not a message id (m<number>)",
				  m->id);
	if (m->ts < 0 || m->ts > TS_MAX_MS)
		return ks_err_set(err, KS_EINVAL, "ts: %lld ms is out of range",
				  (long long)m->ts);
	if ((unsigned)m->type >= SWARM_MSG_TYPE_COUNT)
		return ks_err_set(err, KS_EINVAL, "type: %d is not a message type", (int)m->type);
	if ((rc = check_token("cluster", m->cluster, SWARM_MSG_AGENT_MAX, false, err)) ||
	    (rc = check_token("from", m->from, SWARM_MSG_AGENT_MAX, true, err)) ||
	    (rc = check_token("to", m->to, SWARM_MSG_AGENT_MAX, false, err)) ||
	    (rc = check_token("subject.kind", m->subject.kind, SWARM_MSG_KIND_MAX, false, err)) ||
	    (rc = check_token("subject.namespace", m->subject.namespace, SWARM_MSG_NS_MAX, false,
			      err)) ||
	    (rc = check_token("subject.name", m->subject.name, SWARM_MSG_NAME_MAX, false, err)))
		return rc;
	if (m->nre > SWARM_MSG_RE_MAX)
		return ks_err_set(err, KS_ETOOBIG, "re: more than %d ids", SWARM_MSG_RE_MAX);
	for (size_t i = 0; i < m->nre; i++)
		if (strnlen(m->re[i], SWARM_MSG_ID_MAX) >= SWARM_MSG_ID_MAX ||
		    !swarm_msg_id_valid(m->re[i]))
			return ks_err_set(err, KS_EINVAL, "re[%zu]: not a message id (m<number>)",
					  i);
	if ((rc = check_text(m->text, err)))
		return rc;
	return check_body_shape(m->body, err);
}

/* ---- typed bodies ---- */

enum field_kind {
	F_STRING,    /* a non-empty string */
	F_ID_OR_NONE,/* a message id, or "" */
	F_ENUM,      /* one of the strings in `values` */
	F_FRACTION,  /* a number in [0, 1] */
	F_NUMBER,    /* any finite number */
	F_STEPS,     /* a non-empty array of objects */
	F_IDS,       /* an array of message ids */
};

struct field_rule {
	const char *name;
	enum field_kind kind;
	const char *const *values; /* F_ENUM: NULL-terminated */
};

static const char *const risk_values[] = {"low", "medium", "high", NULL};
static const char *const result_values[] = {"succeeded", "failed", "rolled_back", NULL};

#define END {NULL, F_STRING, NULL}
static const struct field_rule proposal_rules[] = {
	{"action", F_STRING, NULL}, {"risk", F_ENUM, risk_values},
	{"confidence", F_FRACTION, NULL}, END};
static const struct field_rule critique_rules[] = {
	{"concern", F_STRING, NULL}, {"severity", F_ENUM, risk_values}, END};
static const struct field_rule veto_rules[] = {
	{"reason", F_STRING, NULL}, {"rule", F_STRING, NULL}, END};
static const struct field_rule decision_rules[] = {
	{"chosen", F_ID_OR_NONE, NULL}, {"considered", F_IDS, NULL},
	{"reason", F_STRING, NULL}, END};
static const struct field_rule plan_rules[] = {
	{"plan_id", F_STRING, NULL}, {"risk", F_ENUM, risk_values}, {"steps", F_STEPS, NULL}, END};
static const struct field_rule approval_rules[] = {
	{"plan_id", F_STRING, NULL}, {"approver", F_STRING, NULL}, END};
static const struct field_rule rejection_rules[] = {
	{"plan_id", F_STRING, NULL}, {"by", F_STRING, NULL}, {"reason", F_STRING, NULL}, END};
static const struct field_rule outcome_rules[] = {
	{"plan_id", F_STRING, NULL}, {"result", F_ENUM, result_values}, END};
static const struct field_rule vote_rules[] = {
	{"proposal", F_ID_OR_NONE, NULL}, {"score", F_NUMBER, NULL}, END};
#undef END

static const struct field_rule *const body_rules[SWARM_MSG_TYPE_COUNT] = {
	[SWARM_MSG_PROPOSAL] = proposal_rules,   [SWARM_MSG_CRITIQUE] = critique_rules,
	[SWARM_MSG_VETO] = veto_rules,           [SWARM_MSG_VOTE] = vote_rules,
	[SWARM_MSG_DECISION] = decision_rules,   [SWARM_MSG_PLAN] = plan_rules,
	[SWARM_MSG_APPROVAL] = approval_rules,   [SWARM_MSG_REJECTION] = rejection_rules,
	[SWARM_MSG_OUTCOME] = outcome_rules,
};

static int check_field(const char *type, const struct field_rule *r, const cJSON *v,
		       struct ks_err *err)
{
	if (!v)
		return ks_err_set(err, KS_EINVAL, "body.%s: required in a %s", r->name, type);
	switch (r->kind) {
	case F_STRING:
		if (!cJSON_IsString(v) || !v->valuestring[0])
			return ks_err_set(err, KS_EINVAL, "body.%s: must be a non-empty string",
					  r->name);
		return 0;
	case F_ID_OR_NONE:
		if (!cJSON_IsString(v) ||
		    (v->valuestring[0] && !swarm_msg_id_valid(v->valuestring)))
			return ks_err_set(err, KS_EINVAL,
					  "body.%s: must be a message id (m<number>) or \"\"",
					  r->name);
		return 0;
	case F_ENUM:
		if (cJSON_IsString(v))
			for (const char *const *p = r->values; *p; p++)
				if (strcmp(v->valuestring, *p) == 0)
					return 0;
		return ks_err_set(err, KS_EINVAL, "body.%s: must be one of %s%s%s%s%s", r->name,
				  r->values[0], r->values[1] ? ", " : "",
				  r->values[1] ? r->values[1] : "", r->values[2] ? ", " : "",
				  r->values[2] ? r->values[2] : "");
	case F_FRACTION:
		if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0 && v->valuedouble <= 1))
			return ks_err_set(err, KS_EINVAL, "body.%s: must be a number from 0 to 1",
					  r->name);
		return 0;
	case F_NUMBER:
		if (!cJSON_IsNumber(v) || v->valuedouble != v->valuedouble)
			return ks_err_set(err, KS_EINVAL, "body.%s: must be a number", r->name);
		return 0;
	case F_STEPS:
		if (!cJSON_IsArray(v) || !v->child)
			return ks_err_set(err, KS_EINVAL, "body.%s: must be a non-empty array",
					  r->name);
		for (const cJSON *c = v->child; c; c = c->next)
			if (!cJSON_IsObject(c))
				return ks_err_set(err, KS_EINVAL,
						  "body.%s: every item must be an object", r->name);
		return 0;
	case F_IDS:
		if (!cJSON_IsArray(v))
			return ks_err_set(err, KS_EINVAL, "body.%s: must be an array of ids",
					  r->name);
		for (const cJSON *c = v->child; c; c = c->next)
			if (!cJSON_IsString(c) || !swarm_msg_id_valid(c->valuestring))
				return ks_err_set(err, KS_EINVAL,
						  "body.%s: every item must be a message id",
						  r->name);
		return 0;
	}
	return 0;
}

int swarm_msg_check_body(const struct swarm_msg *m, struct ks_err *err)
{
	if ((unsigned)m->type >= SWARM_MSG_TYPE_COUNT)
		return ks_err_set(err, KS_EINVAL, "type: %d is not a message type", (int)m->type);
	const struct field_rule *rules = body_rules[m->type];
	if (!rules)
		return 0;
	const char *type = type_names[m->type];
	if (!cJSON_IsObject(m->body))
		return ks_err_set(err, KS_EINVAL, "body: a %s needs a body object", type);
	for (const struct field_rule *r = rules; r->name; r++) {
		int rc = check_field(type, r, ks_json_child(m->body, r->name), err);
		if (rc)
			return rc;
	}
	return 0;
}

/* ---- encoding ---- */

cJSON *swarm_msg_to_json(const struct swarm_msg *m)
{
	char ts[32];
	if (ks_time_format_rfc3339_ms(m->ts, ts, sizeof ts))
		snprintf(ts, sizeof ts, "1970-01-01T00:00:00.000Z");
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "id", m->id);
	cJSON_AddStringToObject(o, "ts", ts);
	cJSON_AddStringToObject(o, "cluster", m->cluster);
	cJSON_AddStringToObject(o, "from", m->from);
	cJSON_AddStringToObject(o, "to", m->to);
	cJSON_AddStringToObject(o, "type", swarm_msg_type_name(m->type));
	cJSON *re = cJSON_AddArrayToObject(o, "re");
	for (size_t i = 0; i < m->nre && i < SWARM_MSG_RE_MAX; i++)
		cJSON_AddItemToArray(re, cJSON_CreateString(m->re[i]));
	cJSON *subj = cJSON_AddObjectToObject(o, "subject");
	cJSON_AddStringToObject(subj, "kind", m->subject.kind);
	cJSON_AddStringToObject(subj, "namespace", m->subject.namespace);
	cJSON_AddStringToObject(subj, "name", m->subject.name);
	cJSON_AddStringToObject(o, "text", m->text ? m->text : "");
	cJSON_AddItemToObject(o, "body",
			      m->body ? cJSON_Duplicate(m->body, true) : cJSON_CreateObject());
	return o;
}

int swarm_msg_encode(const struct swarm_msg *m, struct ks_buf *out)
{
	cJSON *o = swarm_msg_to_json(m);
	char *s = ks_json_print(o);
	cJSON_Delete(o);
	if (!s)
		abort(); /* printing fails only on out-of-memory */
	int rc = ks_buf_appendstr(out, s);
	free(s);
	return rc;
}

/* ---- decoding ---- */

/* Copy the string member into dst (dst_max bytes with the NUL). */
static int take_string(const cJSON *v, const char *field, char *dst, size_t dst_max,
		       struct ks_err *err)
{
	if (!cJSON_IsString(v))
		return ks_err_set(err, KS_EINVAL, "%s: must be a string", field);
	size_t n = strlen(v->valuestring);
	if (n >= dst_max)
		return ks_err_set(err, KS_ETOOBIG, "%s: %zu bytes, more than %zu", field, n,
				  dst_max - 1);
	memcpy(dst, v->valuestring, n + 1);
	return 0;
}

/* Reject repeated member names (cJSON keeps them all, and would read the first). */
static int check_unique(const cJSON *obj, const char *where, struct ks_err *err)
{
	for (const cJSON *a = obj->child; a; a = a->next)
		for (const cJSON *b = a->next; b; b = b->next)
			if (strcmp(a->string, b->string) == 0)
				return ks_err_set(err, KS_EINVAL, "%s%.40s: appears twice", where,
						  a->string);
	return 0;
}

static int decode_subject(const cJSON *v, struct swarm_subject *s, struct ks_err *err)
{
	if (!cJSON_IsObject(v))
		return ks_err_set(err, KS_EINVAL, "subject: must be an object");
	int rc = check_unique(v, "subject.", err);
	if (rc)
		return rc;
	for (const cJSON *c = v->child; c; c = c->next) {
		if (strcmp(c->string, "kind") == 0)
			rc = take_string(c, "subject.kind", s->kind, sizeof s->kind, err);
		else if (strcmp(c->string, "namespace") == 0)
			rc = take_string(c, "subject.namespace", s->namespace, sizeof s->namespace,
					 err);
		else if (strcmp(c->string, "name") == 0)
			rc = take_string(c, "subject.name", s->name, sizeof s->name, err);
		else
			rc = ks_err_set(err, KS_EINVAL, "subject.%.40s: unknown field", c->string);
		if (rc)
			return rc;
	}
	return 0;
}

static int decode_re(const cJSON *v, struct swarm_msg *m, struct ks_err *err)
{
	if (!cJSON_IsArray(v))
		return ks_err_set(err, KS_EINVAL, "re: must be an array of ids");
	size_t i = 0;
	for (const cJSON *c = v->child; c; c = c->next, i++) {
		if (!cJSON_IsString(c))
			return ks_err_set(err, KS_EINVAL, "re[%zu]: must be a string", i);
		int rc = swarm_msg_add_re(m, c->valuestring, err);
		if (rc)
			return rc;
	}
	return 0;
}

static int decode_ts(const cJSON *v, int64_t *ts, struct ks_err *err)
{
	if (!cJSON_IsString(v))
		return ks_err_set(err, KS_EINVAL, "ts: must be an RFC 3339 string");
	int64_t ns;
	struct ks_err perr = {0};
	if (ks_time_parse_rfc3339(v->valuestring, strlen(v->valuestring), &ns, &perr))
		return ks_err_set(err, KS_EINVAL, "ts: %s", perr.msg);
	if (ns < 0)
		return ks_err_set(err, KS_EINVAL, "ts: before 1970");
	*ts = ns / 1000000;
	return 0;
}

static int decode_member(const cJSON *c, struct swarm_msg *m, unsigned *seen,
			 struct ks_err *err)
{
	const char *k = c->string;
	if (strcmp(k, "id") == 0) {
		int rc = take_string(c, "id", m->id, sizeof m->id, err);
		if (!rc && m->id[0] && !swarm_msg_id_valid(m->id))
			rc = ks_err_set(err, KS_EINVAL,
					"id: \"%s\" is not a message id (m<number>)", m->id);
		*seen |= 1;
		return rc;
	}
	if (strcmp(k, "ts") == 0) {
		*seen |= 2;
		return decode_ts(c, &m->ts, err);
	}
	if (strcmp(k, "cluster") == 0)
		return take_string(c, "cluster", m->cluster, sizeof m->cluster, err);
	if (strcmp(k, "from") == 0) {
		*seen |= 4;
		return take_string(c, "from", m->from, sizeof m->from, err);
	}
	if (strcmp(k, "to") == 0)
		return take_string(c, "to", m->to, sizeof m->to, err);
	if (strcmp(k, "type") == 0) {
		*seen |= 8;
		if (!cJSON_IsString(c))
			return ks_err_set(err, KS_EINVAL, "type: must be a string");
		return swarm_msg_type_parse(c->valuestring, &m->type, err);
	}
	if (strcmp(k, "re") == 0)
		return decode_re(c, m, err);
	if (strcmp(k, "subject") == 0)
		return decode_subject(c, &m->subject, err);
	if (strcmp(k, "text") == 0) {
		*seen |= 16;
		if (!cJSON_IsString(c))
			return ks_err_set(err, KS_EINVAL, "text: must be a string");
		if (strlen(c->valuestring) > SWARM_MSG_TEXT_MAX)
			return ks_err_set(err, KS_ETOOBIG, "text: longer than %d bytes",
					  SWARM_MSG_TEXT_MAX);
		m->text = ks_strdup(c->valuestring);
		return 0;
	}
	if (strcmp(k, "body") == 0) {
		if (!cJSON_IsObject(c))
			return ks_err_set(err, KS_EINVAL, "body: must be an object");
		m->body = cJSON_Duplicate(c, true);
		if (!m->body)
			abort();
		return 0;
	}
	return ks_err_set(err, KS_EINVAL, "%.40s: unknown field", k);
}

int swarm_msg_from_json(const cJSON *obj, struct swarm_msg *m, struct ks_err *err)
{
	*m = (struct swarm_msg){0};
	if (!cJSON_IsObject(obj))
		return ks_err_set(err, KS_EINVAL, "message: not a JSON object");
	int rc = check_unique(obj, "", err);
	unsigned seen = 0;
	for (const cJSON *c = obj->child; !rc && c; c = c->next)
		rc = decode_member(c, m, &seen, err);
	static const char *const required[] = {"id", "ts", "from", "type", "text"};
	for (size_t i = 0; !rc && i < KS_ARRAY_LEN(required); i++)
		if (!(seen & (1u << i)))
			rc = ks_err_set(err, KS_EINVAL, "%s: required, and missing", required[i]);
	if (!rc)
		rc = swarm_msg_validate(m, err);
	if (rc)
		swarm_msg_release(m);
	return rc;
}

int swarm_msg_decode(const char *json, size_t len, struct swarm_msg *m, struct ks_err *err)
{
	*m = (struct swarm_msg){0};
	cJSON *root = ks_json_parse(json, len, SWARM_MSG_JSON_MAX, err);
	if (!root)
		return err ? err->code : KS_EINVAL;
	int rc = swarm_msg_from_json(root, m, err);
	cJSON_Delete(root);
	if (rc)
		ks_err_wrap(err, "message");
	return rc;
}
