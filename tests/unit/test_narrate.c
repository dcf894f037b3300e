/* test_narrate.c — the LLM narrator (src/daemon/narrate.c) and the terminal printer's LLM
 * line (src/daemon/stream.c), against the in-process LLM server (tests/fake_llm.h) that
 * speaks Ollama's NDJSON stream byte for byte: tokens reach the terminal as they arrive and
 * control characters never do, the explanation is published once (not printed twice), the
 * prompt carries the text and never the body, a dead LLM is paused after three failures,
 * a full queue drops the oldest, and freeing the narrator cancels an answer in flight. */
#include "base/common.h"
#include "testutil.h"

#include "base/alloc.h"
#include "base/buf.h"
#include "base/json.h"
#include "base/timeutil.h"
#include "daemon/narrate.h"
#include "daemon/stream.h"
#include "llm/llm.h"
#include "store/store.h"
#include "swarm/bus.h"
#include "swarm/msg.h"

#include "fake_llm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const tokens[] = {"The payment ", "service\n\n\x1b[31mcannot ",
				     "log in: its password \xc2\x9b" "changed.", NULL};

struct env {
	struct fake_llm s;
	struct llm_config cfg;
	struct store *store;
	struct bus *bus;
	char *out;
	size_t out_len;
	FILE *f;
	struct stream_printer *sp;
	struct narrator *n;
};

static void env_start(struct env *e, bool printer)
{
	*e = (struct env){.s = {.tokens = tokens, .piece = 5}};
	fake_llm_start(&e->s);
	llm_config_defaults(&e->cfg, LLM_OLLAMA);
	free(e->cfg.base_url);
	e->cfg.base_url = ks_strdup(e->s.url);
	e->cfg.timeout_ms = 5000;
	e->cfg.retries = 0;
	assert_int_equal(store_open(":memory:", &e->store, NULL), 0);
	struct ks_err err = {0};
	if (bus_new(e->store, &e->bus, &err))
		fail_msg("bus_new: %s", err.msg);
	e->f = open_memstream(&e->out, &e->out_len);
	if (printer)
		e->sp = stream_printer_attach(e->bus, e->f, false);
	struct narrate_sink sink = printer ? stream_printer_sink(e->sp) : (struct narrate_sink){0};
	if (narrator_new(e->bus, &e->cfg, printer ? &sink : NULL, &e->n, &err))
		fail_msg("narrator_new: %s", err.msg);
}

static void env_stop(struct env *e)
{
	narrator_free(e->n);
	stream_printer_detach(e->sp, e->bus);
	fclose(e->f);
	free(e->out);
	bus_free(e->bus);
	store_close(e->store);
	llm_config_release(&e->cfg);
	fake_llm_stop(&e->s);
}

/* Publish a message of type t about payments/payment-service; its id in id_out. */
static void say(struct env *e, enum swarm_msg_type t, const char *text, const char *body,
		char id_out[SWARM_MSG_ID_MAX])
{
	struct swarm_msg m = {.type = t};
	snprintf(m.from, sizeof m.from, "diagnostics");
	snprintf(m.cluster, sizeof m.cluster, "local");
	snprintf(m.subject.kind, sizeof m.subject.kind, "Deployment");
	snprintf(m.subject.namespace, sizeof m.subject.namespace, "payments");
	snprintf(m.subject.name, sizeof m.subject.name, "payment-service");
	swarm_msg_set_text(&m, "%s", text);
	m.body = ks_json_parse(body, strlen(body), 1 << 16, NULL);
	struct ks_err err = {0};
	if (bus_publish(e->bus, &m, &err))
		fail_msg("bus_publish: %s", err.msg);
	if (id_out)
		snprintf(id_out, SWARM_MSG_ID_MAX, "%s", m.id);
	swarm_msg_release(&m);
}

/* The observations from "llm" in the transcript. */
static int collect_llm(const struct swarm_msg *m, void *ctx)
{
	if (m->type == SWARM_MSG_OBSERVATION && !strcmp(m->from, "llm"))
		cJSON_AddItemToArray(ctx, swarm_msg_to_json(m));
	return 0;
}

static cJSON *explanations(struct env *e)
{
	cJSON *all = cJSON_CreateArray();
	struct ks_err err = {0};
	if (bus_replay(e->bus, 0, collect_llm, all, &err))
		fail_msg("bus_replay: %s", err.msg);
	return all;
}

static void test_tokens_stream_to_the_terminal_and_the_text_is_published(void **state)
{
	(void)state;
	struct env e;
	env_start(&e, true);
	char id[SWARM_MSG_ID_MAX];
	say(&e, SWARM_MSG_DIAGNOSIS, "payment-service crash-loops: the database rejects its "
				     "password.", "{\"finding\":\"f1\",\"planted\":\"s3cr3t-b0dy\"}",
	    id);
	assert_true(narrator_drain(e.n, 5000));
	fflush(e.f);
	/* one message line, then the LLM's line under it, indented one level */
	char want[128];
	snprintf(want, sizeof want, "  llm  explains %s  The payment service cannot log in: "
				    "its password changed.\n", id);
	if (!strstr(e.out, want))
		fail_msg("no LLM line %s in:\n%s", want, e.out);
	assert_null(strchr(e.out, '\x1b'));
	assert_null(strstr(e.out, "\xc2\x9b"));
	/* published once, answering the message, and not printed a second time */
	cJSON *ex = explanations(&e);
	assert_int_equal(cJSON_GetArraySize(ex), 1);
	cJSON *x = cJSON_GetArrayItem(ex, 0);
	assert_string_equal(ks_json_str(x, "body.explains"), id);
	assert_true(cJSON_IsTrue(ks_json_child(ks_json_child(x, "body"), "streamed")));
	assert_string_equal(cJSON_GetArrayItem(ks_json_child(x, "re"), 0)->valuestring, id);
	assert_non_null(strstr(ks_json_str(x, "text"), "cannot log in"));
	assert_null(strstr(ks_json_str(x, "text"), "\x1b"));
	int lines = 0;
	for (const char *p = e.out; (p = strstr(p, "cannot log in")); p++)
		lines++;
	assert_int_equal(lines, 1);
	cJSON_Delete(ex);
	/* the prompt: type, author, subject and text; never the body */
	assert_non_null(strstr(e.s.bodies.data, "the database rejects its password"));
	assert_non_null(strstr(e.s.bodies.data, "Deployment payments/payment-service"));
	assert_null(strstr(e.s.bodies.data, "s3cr3t-b0dy"));
	struct narrate_stats st;
	narrator_stats(e.n, &st);
	assert_int_equal(st.explained, 1);
	env_stop(&e);
}

/* A sink that records the calls: the tokens arrive one by one, between begin and end. */
struct recording {
	struct ks_buf calls;
};

static void rec_begin(void *ctx, int64_t seq, const char *id)
{
	ks_buf_appendf(&((struct recording *)ctx)->calls, "begin %lld %s|", (long long)seq, id);
}

static void rec_token(void *ctx, const char *text, size_t len)
{
	ks_buf_appendf(&((struct recording *)ctx)->calls, "token %.*s|", (int)len, text);
}

static void rec_end(void *ctx, bool ok, const char *why)
{
	ks_buf_appendf(&((struct recording *)ctx)->calls, "end %d %s|", ok, ok ? "" : why);
}

static void test_each_token_reaches_the_sink_as_it_comes(void **state)
{
	(void)state;
	struct env e;
	env_start(&e, false);
	narrator_free(e.n);
	struct recording r;
	ks_buf_init(&r.calls, KS_BUF_UNLIMITED);
	struct narrate_sink k = {.begin = rec_begin, .token = rec_token, .end = rec_end, .ctx = &r};
	struct ks_err err = {0};
	if (narrator_new(e.bus, &e.cfg, &k, &e.n, &err))
		fail_msg("narrator_new: %s", err.msg);
	say(&e, SWARM_MSG_OUTCOME, "Plan p1 succeeded.",
	    "{\"plan_id\":\"p1\",\"result\":\"succeeded\"}", NULL);
	assert_true(narrator_drain(e.n, 5000));
	ks_buf_appendc(&r.calls, '\0');
	assert_string_equal(r.calls.data, "begin 1 m1|token The payment |token service\n\n"
					  "\x1b[31mcannot |token log in: its password \xc2\x9b"
					  "changed.|end 1 |");
	ks_buf_release(&r.calls);
	env_stop(&e);
}

static void test_only_the_messages_worth_explaining(void **state)
{
	(void)state;
	struct env e;
	env_start(&e, false);
	say(&e, SWARM_MSG_OBSERVATION, "Nodepool general runs at 31% CPU.", "{}", NULL);
	say(&e, SWARM_MSG_VETO, "Spot is not allowed in production.",
	    "{\"reason\":\"spot in production\",\"rule\":\"no-spot-in-production\"}", NULL);
	assert_true(narrator_drain(e.n, 5000));
	assert_int_equal(e.s.requests, 1);
	cJSON *ex = explanations(&e);
	assert_int_equal(cJSON_GetArraySize(ex), 1);
	assert_false(cJSON_IsTrue(ks_json_child(ks_json_child(cJSON_GetArrayItem(ex, 0), "body"),
						 "streamed")));
	cJSON_Delete(ex);
	env_stop(&e);
}

/* The printer's LLM line when a message comes in the middle of it: the line is closed, the
 * message printed, and the LLM goes on after a continuation prefix. */
static void test_a_message_in_the_middle_of_the_llm_line(void **state)
{
	(void)state;
	struct env e;
	env_start(&e, true);
	narrator_free(e.n); /* drive the sink by hand */
	e.n = NULL;
	char id[SWARM_MSG_ID_MAX];
	say(&e, SWARM_MSG_OBSERVATION, "first", "{}", id);
	struct narrate_sink k = stream_printer_sink(e.sp);
	k.begin(k.ctx, strtoll(id + 1, NULL, 10), id);
	k.token(k.ctx, "  half ", 7);
	say(&e, SWARM_MSG_OBSERVATION, "second", "{}", NULL);
	k.token(k.ctx, "and the rest", 12);
	k.end(k.ctx, false, "cut");
	fflush(e.f);
	const char *a = strstr(e.out, "  llm  explains m1  half \n");
	const char *b = a ? strstr(a, "observation  second\n") : NULL;
	const char *c = b ? strstr(b, "  llm  …  and the rest [the LLM stopped: cut]\n") : NULL;
	if (!c)
		fail_msg("unexpected interleaving:\n%s", e.out);
	/* a failure before any token writes nothing */
	size_t before = e.out_len;
	k.begin(k.ctx, 1, "m1");
	k.end(k.ctx, false, "connection refused");
	fflush(e.f);
	assert_int_equal(e.out_len, before);
	env_stop(&e);
}

static void test_a_dead_llm_is_paused(void **state)
{
	(void)state;
	struct env e;
	env_start(&e, true);
	fake_llm_stop(&e.s); /* nobody listens on that port any more */
	for (int i = 0; i < 5; i++) {
		say(&e, SWARM_MSG_DIAGNOSIS, "broken", "{}", NULL);
		narrator_drain(e.n, 5000);
	}
	struct narrate_stats st;
	narrator_stats(e.n, &st);
	assert_int_equal(st.failed, NARRATE_FAILS_BEFORE_PAUSE);
	assert_int_equal(st.dropped, 5 - NARRATE_FAILS_BEFORE_PAUSE);
	assert_int_equal(st.explained, 0);
	fflush(e.f);
	assert_null(strstr(e.out, "llm"));
	cJSON *ex = explanations(&e);
	assert_int_equal(cJSON_GetArraySize(ex), 0);
	cJSON_Delete(ex);
	e.s = (struct fake_llm){0}; /* stopped already */
	fake_llm_start(&e.s);
	env_stop(&e);
}

static void test_a_full_queue_drops_the_oldest_and_free_cancels(void **state)
{
	(void)state;
	struct env e;
	env_start(&e, false);
	e.s.delay_ms = 4000;
	for (int i = 0; i < NARRATE_QUEUE_MAX + 6; i++)
		say(&e, SWARM_MSG_DIAGNOSIS, "broken", "{}", NULL);
	struct narrate_stats st;
	narrator_stats(e.n, &st);
	/* one is with the LLM; the queue holds NARRATE_QUEUE_MAX; the rest were dropped (the
	 * worker may not have taken the first yet: one more dropped then) */
	assert_in_range(st.dropped, 5, 6);
	int64_t t0 = ks_mono_ms();
	narrator_free(e.n);
	e.n = NULL;
	/* the answer in flight (4 s away) was cancelled, not waited for */
	assert_true(ks_mono_ms() - t0 < 3000);
	env_stop(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tokens_stream_to_the_terminal_and_the_text_is_published),
		cmocka_unit_test(test_each_token_reaches_the_sink_as_it_comes),
		cmocka_unit_test(test_only_the_messages_worth_explaining),
		cmocka_unit_test(test_a_message_in_the_middle_of_the_llm_line),
		cmocka_unit_test(test_a_dead_llm_is_paused),
		cmocka_unit_test(test_a_full_queue_drops_the_oldest_and_free_cancels),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
