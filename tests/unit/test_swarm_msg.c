/* test_swarm_msg.c — swarm messages: type names, the exact JSON shape, byte-exact round
 * trips of the documented examples (tests/fixtures/swarm/), strict decoding with errors that
 * name the field, the ceilings, and the typed-body checks. */
#include "testutil.h"

#include "base/json.h"
#include "swarm/msg.h"

#include <stdio.h>
#include <string.h>

static const char *const examples[] = {
	"observation", "proposal", "critique", "veto",	    "vote",
	"decision",    "plan",	   "approval", "rejection", "outcome",
};

static void type_names(void **state)
{
	(void)state;
	for (int t = 0; t < SWARM_MSG_TYPE_COUNT; t++) {
		enum swarm_msg_type back;
		const char *name = swarm_msg_type_name((enum swarm_msg_type)t);
		assert_int_equal(swarm_msg_type_parse(name, &back, NULL), 0);
		assert_int_equal(back, t);
	}
	assert_string_equal(swarm_msg_type_name(SWARM_MSG_APPROVAL_REQUEST), "approval_request");
	assert_string_equal(swarm_msg_type_name(SWARM_MSG_TYPE_COUNT), "?");
	enum swarm_msg_type t;
	struct ks_err err = {0};
	assert_int_equal(swarm_msg_type_parse("Proposal", &t, &err), KS_EINVAL);
	assert_contains(err.msg, "type: \"Proposal\" is not a message type");
}

static void encode_shape(void **state)
{
	(void)state;
	struct swarm_msg m = {
		.id = "m42",
		.ts = 1795255202123, /* 2026-11-21T10:00:02.123Z */
		.cluster = "local",
		.from = "cost",
		.to = "orchestrator",
		.type = SWARM_MSG_PROPOSAL,
		.subject = {.kind = "NodePool", .name = "general"},
	};
	assert_int_equal(swarm_msg_add_re(&m, "m40", NULL), 0);
	swarm_msg_set_text(&m, "Move nodepool %s to arm64 (m7g): saves $%d/month.", "general", 412);
	struct ks_buf b;
	ks_buf_init(&b, KS_BUF_UNLIMITED);
	assert_int_equal(swarm_msg_encode(&m, &b), 0);
	assert_string_equal(
		b.data,
		"{\"id\":\"m42\",\"ts\":\"2026-11-21T10:00:02.123Z\",\"cluster\":\"local\","
		"\"from\":\"cost\",\"to\":\"orchestrator\",\"type\":\"proposal\","
		"\"re\":[\"m40\"],\"subject\":{\"kind\":\"NodePool\",\"namespace\":\"\","
		"\"name\":\"general\"},\"text\":\"Move nodepool general to arm64 (m7g): "
		"saves $412/month.\",\"body\":{}}");
	/* The proposal has no body yet: the envelope is fine, the typed body is not. */
	struct ks_err err = {0};
	assert_int_equal(swarm_msg_validate(&m, NULL), 0);
	assert_int_equal(swarm_msg_check_body(&m, &err), KS_EINVAL);
	assert_contains(err.msg, "body: a proposal needs a body object");
	m.body = cJSON_CreateObject();
	assert_int_equal(swarm_msg_check_body(&m, &err), KS_EINVAL);
	assert_contains(err.msg, "body.action: required in a proposal");
	ks_buf_release(&b);
	swarm_msg_release(&m);
}

/* Every documented example decodes, passes its body check, and encodes to the same bytes. */
static void examples_round_trip(void **state)
{
	(void)state;
	for (size_t i = 0; i < KS_ARRAY_LEN(examples); i++) {
		char rel[64];
		snprintf(rel, sizeof rel, "swarm/%s.json", examples[i]);
		char *json = tu_read_fixture(rel);
		size_t len = strlen(json);
		while (len && json[len - 1] == '\n')
			json[--len] = '\0';
		struct swarm_msg m;
		struct ks_err err = {0};
		if (swarm_msg_decode(json, len, &m, &err))
			fail_msg("%s: %s", rel, err.msg);
		assert_string_equal(swarm_msg_type_name(m.type), examples[i]);
		if (swarm_msg_check_body(&m, &err))
			fail_msg("%s: %s", rel, err.msg);
		struct ks_buf b;
		ks_buf_init(&b, KS_BUF_UNLIMITED);
		assert_int_equal(swarm_msg_encode(&m, &b), 0);
		assert_string_equal(b.data, json);
		ks_buf_release(&b);
		swarm_msg_release(&m);
		free(json);
	}
}

/* Remove each required body field in turn: the check names it. */
static void typed_bodies_name_missing_fields(void **state)
{
	(void)state;
	static const struct {
		const char *type, *field;
	} required[] = {
		{"proposal", "action"},	 {"proposal", "risk"},	   {"proposal", "confidence"},
		{"critique", "concern"}, {"critique", "severity"}, {"veto", "reason"},
		{"veto", "rule"},	 {"decision", "chosen"},   {"decision", "considered"},
		{"decision", "reason"},	 {"plan", "plan_id"},	   {"plan", "steps"},
		{"plan", "risk"},	 {"approval", "plan_id"},  {"approval", "approver"},
		{"rejection", "by"},	 {"rejection", "reason"},  {"outcome", "plan_id"},
		{"outcome", "result"},	 {"vote", "score"},
	};
	for (size_t i = 0; i < KS_ARRAY_LEN(required); i++) {
		char rel[64], want[96];
		snprintf(rel, sizeof rel, "swarm/%s.json", required[i].type);
		char *json = tu_read_fixture(rel);
		struct swarm_msg m;
		assert_int_equal(swarm_msg_decode(json, strlen(json), &m, NULL), 0);
		cJSON_DeleteItemFromObjectCaseSensitive(m.body, required[i].field);
		struct ks_err err = {0};
		assert_int_equal(swarm_msg_check_body(&m, &err), KS_EINVAL);
		snprintf(want, sizeof want, "body.%s: required in a %s", required[i].field,
			 required[i].type);
		assert_contains(err.msg, want);
		swarm_msg_release(&m);
		free(json);
	}
}

static void typed_bodies_check_values(void **state)
{
	(void)state;
	static const struct {
		const char *type, *field, *value, *want;
	} bad[] = {
		{"proposal", "risk", "\"extreme\"", "body.risk: must be one of low, medium, high"},
		{"proposal", "confidence", "1.5", "body.confidence: must be a number from 0 to 1"},
		{"proposal", "action", "\"\"", "body.action: must be a non-empty string"},
		{"plan", "steps", "[]", "body.steps: must be a non-empty array"},
		{"plan", "steps", "[1]", "body.steps: every item must be an object"},
		{"decision", "chosen", "\"p7\"", "body.chosen: must be a message id"},
		{"decision", "considered", "[\"m1\",\"x\"]", "body.considered: every item"},
		{"outcome", "result", "\"ok\"", "body.result: must be one of succeeded, failed"},
	};
	for (size_t i = 0; i < KS_ARRAY_LEN(bad); i++) {
		char rel[64];
		snprintf(rel, sizeof rel, "swarm/%s.json", bad[i].type);
		char *json = tu_read_fixture(rel);
		struct swarm_msg m;
		assert_int_equal(swarm_msg_decode(json, strlen(json), &m, NULL), 0);
		cJSON *v = cJSON_Parse(bad[i].value);
		assert_non_null(v);
		cJSON_ReplaceItemInObjectCaseSensitive(m.body, bad[i].field, v);
		struct ks_err err = {0};
		assert_int_equal(swarm_msg_check_body(&m, &err), KS_EINVAL);
		assert_contains(err.msg, bad[i].want);
		swarm_msg_release(&m);
		free(json);
	}
	/* Types without a typed body pass with any body, even none. */
	struct swarm_msg obs = {.type = SWARM_MSG_QUESTION, .from = "orchestrator"};
	assert_int_equal(swarm_msg_check_body(&obs, NULL), 0);
}

/* Decode errors name the field. */
static void strict_decoding(void **state)
{
	(void)state;
	static const struct {
		const char *json, *want;
	} bad[] = {
		{"[]", "message: not a JSON object"},
		{"{\"id\":\"m1\",", "invalid JSON"},
		{"{\"ts\":\"2026-11-21T10:00:00Z\",\"from\":\"a\",\"type\":\"vote\","
		 "\"text\":\"t\"}",
		 "id: required, and missing"},
		{"{\"id\":\"m1\",\"from\":\"a\",\"type\":\"vote\",\"text\":\"t\"}",
		 "ts: required, and missing"},
		{"{\"id\":\"m1\",\"ts\":\"2026-11-21T10:00:00Z\",\"type\":\"vote\",\"text\":\"t\"}",
		 "from: required, and missing"},
		{"{\"id\":\"m1\",\"ts\":\"2026-11-21T10:00:00Z\",\"from\":\"\",\"type\":\"vote\","
		 "\"text\":\"t\"}",
		 "from: required, and empty"},
		{"{\"id\":\"m01\",\"ts\":\"2026-11-21T10:00:00Z\",\"from\":\"a\",\"type\":\"vote\","
		 "\"text\":\"t\"}",
		 "id: \"m01\" is not a message id"},
		{"{\"id\":\"m1\",\"ts\":\"yesterday\",\"from\":\"a\",\"type\":\"vote\","
		 "\"text\":\"t\"}",
		 "ts: "},
		{"{\"id\":\"m1\",\"ts\":\"1969-12-31T23:59:59Z\",\"from\":\"a\",\"type\":\"vote\","
		 "\"text\":\"t\"}",
		 "ts: before 1970"},
		{"{\"id\":\"m1\",\"ts\":\"2026-11-21T10:00:00Z\",\"from\":\"a\",\"type\":\"chat\","
		 "\"text\":\"t\"}",
		 "type: \"chat\" is not a message type"},
		{"{\"id\":\"m1\",\"ts\":\"2026-11-21T10:00:00Z\",\"from\":\"a\",\"type\":\"vote\","
		 "\"text\":\"t\",\"colour\":1}",
		 "colour: unknown field"},
		{"{\"id\":\"m1\",\"ts\":\"2026-11-21T10:00:00Z\",\"from\":\"a\",\"from\":\"b\","
		 "\"type\":\"vote\",\"text\":\"t\"}",
		 "from: appears twice"},
		{"{\"id\":\"m1\",\"ts\":\"2026-11-21T10:00:00Z\",\"from\":\"a\",\"type\":\"vote\","
		 "\"text\":\"t\",\"subject\":{\"kind\":\"Pod\",\"uid\":\"x\"}}",
		 "subject.uid: unknown field"},
		{"{\"id\":\"m1\",\"ts\":\"2026-11-21T10:00:00Z\",\"from\":\"a\",\"type\":\"vote\","
		 "\"text\":\"t\",\"subject\":{\"name\":7}}",
		 "subject.name: must be a string"},
		{"{\"id\":\"m1\",\"ts\":\"2026-11-21T10:00:00Z\",\"from\":\"a b\","
		 "\"type\":\"vote\",\"text\":\"t\"}",
		 "from: byte 1 (0x20) is not printable ASCII"},
		{"{\"id\":\"m1\",\"ts\":\"2026-11-21T10:00:00Z\",\"from\":\"a\",\"type\":\"vote\","
		 "\"text\":\"a\\u0007b\"}",
		 "text: control character 0x07 at byte 1"},
		{"{\"id\":\"m1\",\"ts\":\"2026-11-21T10:00:00Z\",\"from\":\"a\",\"type\":\"vote\","
		 "\"text\":\"t\",\"re\":[\"m2\",3]}",
		 "re[1]: must be a string"},
		{"{\"id\":\"m1\",\"ts\":\"2026-11-21T10:00:00Z\",\"from\":\"a\",\"type\":\"vote\","
		 "\"text\":\"t\",\"re\":[\"x2\"]}",
		 "re: \"x2\" is not a message id"},
		{"{\"id\":\"m1\",\"ts\":\"2026-11-21T10:00:00Z\",\"from\":\"a\",\"type\":\"vote\","
		 "\"text\":\"t\",\"body\":[]}",
		 "body: must be an object"},
		{"{\"id\":\"m1\",\"ts\":\"2026-11-21T10:00:00Z\",\"from\":\"a\",\"type\":\"vote\","
		 "\"text\":\"\"}",
		 "text: required, and empty"},
	};
	for (size_t i = 0; i < KS_ARRAY_LEN(bad); i++) {
		struct swarm_msg m;
		struct ks_err err = {0};
		if (swarm_msg_decode(bad[i].json, strlen(bad[i].json), &m, &err) == 0)
			fail_msg("case %zu decoded: %s", i, bad[i].json);
		assert_contains(err.msg, bad[i].want);
		/* A failed decode leaves nothing to free. */
		assert_null(m.text);
		assert_null(m.body);
	}
}

static char *message_with(const char *extra_fields)
{
	return ks_asprintf("{\"id\":\"m1\",\"ts\":\"2026-11-21T10:00:00Z\",\"from\":\"a\","
			   "\"type\":\"observation\",%s}",
			   extra_fields);
}

static void ceilings(void **state)
{
	(void)state;
	struct ks_buf b;
	struct swarm_msg m;
	struct ks_err err = {0};

	/* text: SWARM_MSG_TEXT_MAX bytes pass, one more does not. */
	char *text = ks_malloc(SWARM_MSG_TEXT_MAX + 2);
	memset(text, 'x', SWARM_MSG_TEXT_MAX + 1);
	text[SWARM_MSG_TEXT_MAX + 1] = '\0';
	char *json = message_with("\"text\":\"x\"");
	assert_int_equal(swarm_msg_decode(json, strlen(json), &m, NULL), 0);
	free(m.text);
	m.text = ks_strndup(text, SWARM_MSG_TEXT_MAX);
	assert_int_equal(swarm_msg_validate(&m, NULL), 0);
	free(m.text);
	m.text = ks_strdup(text);
	assert_int_equal(swarm_msg_validate(&m, &err), KS_ETOOBIG);
	assert_contains(err.msg, "text: longer than 4096 bytes");
	swarm_msg_release(&m);
	free(json);
	free(text);

	/* re: SWARM_MSG_RE_MAX ids pass, one more does not. */
	ks_buf_init(&b, KS_BUF_UNLIMITED);
	ks_buf_appendstr(&b, "\"text\":\"t\",\"re\":[");
	for (int i = 1; i <= SWARM_MSG_RE_MAX + 1; i++)
		ks_buf_appendf(&b, "%s\"m%d\"", i > 1 ? "," : "", i);
	ks_buf_appendstr(&b, "]");
	json = message_with(b.data);
	assert_int_equal(swarm_msg_decode(json, strlen(json), &m, &err), KS_ETOOBIG);
	assert_contains(err.msg, "re: more than 32 ids");
	free(json);
	ks_buf_release(&b);

	/* body depth: 16 levels pass, 17 do not. */
	for (int depth = SWARM_MSG_BODY_DEPTH; depth <= SWARM_MSG_BODY_DEPTH + 1; depth++) {
		ks_buf_init(&b, KS_BUF_UNLIMITED);
		ks_buf_appendstr(&b, "\"text\":\"t\",\"body\":");
		for (int i = 0; i < depth; i++)
			ks_buf_appendstr(&b, i + 1 < depth ? "{\"a\":" : "{");
		for (int i = 0; i < depth; i++)
			ks_buf_appendstr(&b, "}");
		json = message_with(b.data);
		int rc = swarm_msg_decode(json, strlen(json), &m, &err);
		if (depth <= SWARM_MSG_BODY_DEPTH) {
			assert_int_equal(rc, 0);
			swarm_msg_release(&m);
		} else {
			assert_int_equal(rc, KS_ETOOBIG);
			assert_contains(err.msg, "body: nested deeper than 16 levels");
		}
		free(json);
		ks_buf_release(&b);
	}

	/* body size. */
	char *big = ks_malloc(SWARM_MSG_BODY_MAX + 1);
	memset(big, 'y', SWARM_MSG_BODY_MAX);
	big[SWARM_MSG_BODY_MAX] = '\0';
	char *fields = ks_asprintf("\"text\":\"t\",\"body\":{\"b\":\"%s\"}", big);
	json = message_with(fields);
	assert_int_equal(swarm_msg_decode(json, strlen(json), &m, &err), KS_ETOOBIG);
	assert_contains(err.msg, "body: 65544 bytes, more than 65536");
	free(json);
	free(fields);
	free(big);

	/* The whole document. */
	size_t n = SWARM_MSG_JSON_MAX + 1;
	char *huge = ks_malloc(n);
	memset(huge, ' ', n);
	assert_int_equal(swarm_msg_decode(huge, n, &m, &err), KS_ETOOBIG);
	assert_contains(err.msg, "exceeds");
	free(huge);

	/* Field lengths: subject.name 253 bytes pass, 254 do not. */
	for (int len = 253; len <= 254; len++) {
		char *name = ks_malloc((size_t)len + 1);
		memset(name, 'n', (size_t)len);
		name[len] = '\0';
		char *f = ks_asprintf("\"text\":\"t\",\"subject\":{\"name\":\"%s\"}", name);
		json = message_with(f);
		int rc = swarm_msg_decode(json, strlen(json), &m, &err);
		if (len == 253) {
			assert_int_equal(rc, 0);
			swarm_msg_release(&m);
		} else {
			assert_int_equal(rc, KS_ETOOBIG);
			assert_contains(err.msg, "subject.name: 254 bytes, more than 253");
		}
		free(json);
		free(f);
		free(name);
	}
}

static void ids_and_copies(void **state)
{
	(void)state;
	assert_true(swarm_msg_id_valid("m1"));
	assert_true(swarm_msg_id_valid("m9223372036854775807"));
	assert_false(swarm_msg_id_valid("m9223372036854775808"));
	assert_false(swarm_msg_id_valid("m0"));
	assert_false(swarm_msg_id_valid("m"));
	assert_false(swarm_msg_id_valid("M1"));
	assert_false(swarm_msg_id_valid("m1x"));

	char *json = tu_read_fixture("swarm/plan.json");
	struct swarm_msg a, b;
	assert_int_equal(swarm_msg_decode(json, strlen(json), &a, NULL), 0);
	swarm_msg_copy(&b, &a);
	swarm_msg_release(&a);
	assert_string_equal(b.id, "m47");
	assert_string_equal(ks_json_str(b.body, "plan_id"), "p7");
	assert_int_equal(b.nre, 1);
	assert_string_equal(b.re[0], "m46");
	swarm_msg_release(&b);
	free(json);
}

/* A text past the ceiling is cut before the last character that would not fit whole. */
static void test_fit_text(void **state)
{
	(void)state;
	char *t = ks_malloc(SWARM_MSG_TEXT_MAX + 8);
	memset(t, 'a', SWARM_MSG_TEXT_MAX - 2);
	memcpy(t + SWARM_MSG_TEXT_MAX - 2, "\xc3\xa9xyz", 6); /* an e-acute across the cut */
	swarm_msg_fit_text(t);
	assert_int_equal(strlen(t), SWARM_MSG_TEXT_MAX - 2);
	char short_text[] = "caf\xc3\xa9";
	swarm_msg_fit_text(short_text);
	assert_string_equal(short_text, "caf\xc3\xa9");
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fit_text),
		cmocka_unit_test(type_names),
		cmocka_unit_test(encode_shape),
		cmocka_unit_test(examples_round_trip),
		cmocka_unit_test(typed_bodies_name_missing_fields),
		cmocka_unit_test(typed_bodies_check_values),
		cmocka_unit_test(strict_decoding),
		cmocka_unit_test(ceilings),
		cmocka_unit_test(ids_and_copies),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
