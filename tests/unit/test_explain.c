/* test_explain.c — `--explain` end to end against the in-process LLM server
 * (tests/fake_llm.h) over the fixture world diag/llm-payments.yaml: answers stream in
 * finding order with placeholders unmasked even when split across tokens, and are stored
 * into the findings (the built-in text kept in the results); a cache hit makes no request;
 * the planted Secret value never appears in any request body, masked or not; the
 * concurrency limit holds; anonymization defaults by endpoint; a dead endpoint leaves the
 * built-in explanations and gives one error. */
#include "testutil.h"

#include "diag/explain.h"

#include "fake_llm.h"
#include "llm_finding.h"

#include <string.h>

/* The object of each finding is its name-1 (the first name the masking meets). */
static const char *const answer_tokens[] = {"Object ", "name", "-1 in namespace-", "1 is ",
					    "broken; see log", "-1.", NULL};

struct shown {
	struct ks_buf text;   /* "[i]text" pieces in the order shown */
	struct ks_buf per[8]; /* text per finding */
	int ends[8];
	size_t end_order[8], n_ends;
	bool text_after_end;  /* text of a finding arrived after a later one ended */
};

static void on_text(void *ctx, size_t i, const char *text, size_t len)
{
	struct shown *s = ctx;
	for (size_t k = 0; k < s->n_ends; k++)
		if (s->end_order[k] >= i)
			s->text_after_end = true;
	ks_buf_append(&s->per[i], text, len);
	ks_buf_appendf(&s->text, "[%zu]", i);
	ks_buf_append(&s->text, text, len);
}

static void on_end(void *ctx, size_t i, int rc)
{
	struct shown *s = ctx;
	s->ends[i] = rc;
	s->end_order[s->n_ends++] = i;
}

static void shown_init(struct shown *s)
{
	*s = (struct shown){0};
	ks_buf_init(&s->text, KS_BUF_UNLIMITED);
	for (size_t i = 0; i < 8; i++)
		ks_buf_init(&s->per[i], KS_BUF_UNLIMITED);
}

static void shown_release(struct shown *s)
{
	ks_buf_release(&s->text);
	for (size_t i = 0; i < 8; i++)
		ks_buf_release(&s->per[i]);
}

/* The crash-loop finding, then simple ones about the pod and the Secret. */
static void build_report(struct world *w, struct diag_report *rep, size_t extra)
{
	llm_finding(w, rep);
	struct diag_ctx cx = {.w = w, .rep = rep};
	for (size_t i = 0; i < extra; i++) {
		struct wobj o = i % 2 ? world_get(w, WK_SECRET, "payments", "db-credentials")
				      : world_get(w, WK_POD, "payments", POD_NAME);
		struct diag_finding *f = diag_new(&cx, "Pod", "Example", DIAG_MEDIUM, o);
		diag_set_symptom(f, "finding %zu about %s", i + 1, f->object.name);
		diag_set_root_cause(f, "cause %zu", i + 1);
		diag_set_explanation(f, "built-in %zu", i + 1);
		diag_ev_log(f, &f->object, "api", true, LOG_LINE);
		diag_fix_human(f, "check %zu", i + 1);
	}
}

struct env {
	struct fake_llm s;
	struct world *w;
	struct diag_report rep;
	struct llm_config cfg;
	char *cache;
};

static void env_start(struct env *e, enum llm_backend b, size_t extra)
{
	*e = (struct env){.s = {.tokens = answer_tokens, .piece = 9}};
	fake_llm_start(&e->s);
	e->w = tu_world("diag/llm-payments.yaml");
	build_report(e->w, &e->rep, extra);
	llm_config_defaults(&e->cfg, b);
	free(e->cfg.base_url);
	e->cfg.base_url = ks_strdup(e->s.url);
	e->cfg.timeout_ms = 5000;
	e->cache = tu_mkdtemp();
}

static void env_stop(struct env *e)
{
	fake_llm_stop(&e->s);
	diag_report_free(&e->rep);
	world_free(e->w);
	llm_config_release(&e->cfg);
	tu_rmtree(e->cache);
	free(e->cache);
}

static void test_streams_in_order(void **state)
{
	struct env e;
	env_start(&e, LLM_OLLAMA, 2);
	struct shown sh;
	shown_init(&sh);
	struct diag_explain_out out = {0};
	struct diag_explain_opts o = {.world = e.w, .anonymize = DIAG_ANONYMIZE_ON,
				      .cache_dir = e.cache, .on_text = on_text, .on_end = on_end,
				      .ctx = &sh, .out = &out};
	struct ks_err err = {0};
	assert_int_equal(diag_explain(&e.rep, &e.cfg, &o, &err), 0);
	assert_int_equal(e.s.requests, 3);
	assert_int_equal(out.n, 3);
	assert_int_equal(out.requests, 3);
	assert_true(out.anonymized);
	/* Placeholders split over tokens came back as the real names. */
	assert_string_equal(sh.per[0].data, "Object payment-service in payments is broken; see "
					    LOG_LINE_REDACTED ".");
	assert_string_equal(sh.per[1].data, "Object " POD_NAME " in payments is broken; see "
					    LOG_LINE_REDACTED ".");
	assert_string_equal(sh.per[2].data, "Object db-credentials in payments is broken; see "
					    LOG_LINE_REDACTED ".");
	/* In order: no text of a finding after it or a later one ended, ends in order. */
	assert_false(sh.text_after_end);
	assert_int_equal(sh.n_ends, 3);
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(sh.end_order[i], i);
		assert_int_equal(sh.ends[i], 0);
	}
	const char *t = sh.text.data;
	assert_true(strstr(t, "[0]") < strstr(t, "[1]") && strstr(t, "[1]") < strstr(t, "[2]"));
	assert_null(strstr(strstr(t, "[1]"), "[0]"));
	/* Stored into the findings; the built-in text kept aside. */
	assert_string_equal(e.rep.findings[0]->explanation, sh.per[0].data);
	assert_contains(out.results[0].builtin, "The api container of payment-service exits");
	assert_string_equal(out.results[0].answer, sh.per[0].data);
	assert_string_equal(out.results[1].builtin, "built-in 1");
	assert_false(out.results[0].cached);
	/* Root cause and remediation are the analyzers' still. */
	assert_contains(e.rep.findings[0]->root_cause, "Container api of payments/payment-service");
	diag_explain_out_release(&out);
	shown_release(&sh);

	/* Another run over the same cluster: every answer from the cache, no request. */
	diag_report_free(&e.rep);
	build_report(e.w, &e.rep, 2);
	shown_init(&sh);
	assert_int_equal(diag_explain(&e.rep, &e.cfg, &o, &err), 0);
	assert_int_equal(e.s.requests, 3);
	assert_int_equal(out.cache_hits, 3);
	assert_int_equal(out.requests, 0);
	assert_true(out.results[2].cached);
	assert_string_equal(sh.per[2].data, "Object db-credentials in payments is broken; see "
					    LOG_LINE_REDACTED ".");
	assert_int_equal(sh.n_ends, 3);
	diag_explain_out_release(&out);
	shown_release(&sh);
	env_stop(&e);
}

static void assert_no_secret(const struct fake_llm *s)
{
	assert_true(s->bodies.len > 0);
	if (strstr(s->bodies.data, PLANTED_SECRET))
		fail_msg("the planted Secret value went to the LLM: %s", s->bodies.data);
}

static void test_secret_never_sent(void **state)
{
	for (int anon = 0; anon < 2; anon++) {
		for (int b = 0; b < 2; b++) {
			struct env e;
			env_start(&e, b ? LLM_OPENAI : LLM_OLLAMA, 3);
			struct diag_explain_opts o = {
				.world = e.w, .cache_dir = "",
				.anonymize = anon ? DIAG_ANONYMIZE_ON : DIAG_ANONYMIZE_OFF};
			struct ks_err err = {0};
			assert_int_equal(diag_explain(&e.rep, &e.cfg, &o, &err), 0);
			assert_int_equal(e.s.requests, 4);
			assert_no_secret(&e.s);
			if (anon) {
				for (size_t i = 0; identifying[i]; i++)
					if (strstr(e.s.bodies.data, identifying[i]))
						fail_msg("\"%s\" was sent", identifying[i]);
			} else {
				/* Not masked: the log line went, its password redacted. */
				assert_contains(e.s.bodies.data, "password authentication failed");
				assert_contains(e.s.bodies.data, "payment-service");
			}
			env_stop(&e);
		}
	}
}

static void test_concurrency_limit(void **state)
{
	struct env e;
	env_start(&e, LLM_OPENAI, 5);
	e.s.delay_ms = 100;
	e.cfg.max_concurrency = 2;
	struct shown sh;
	shown_init(&sh);
	struct diag_explain_opts o = {.world = e.w, .cache_dir = "", .on_text = on_text,
				      .on_end = on_end, .ctx = &sh, .max_findings = 5};
	struct ks_err err = {0};
	assert_int_equal(diag_explain(&e.rep, &e.cfg, &o, &err), 0);
	assert_int_equal(e.s.requests, 5); /* max_findings of the 6 */
	assert_int_equal(e.s.max_active, 2);
	assert_false(sh.text_after_end);
	assert_int_equal(sh.n_ends, 5);
	for (size_t i = 0; i < 5; i++)
		assert_int_equal(sh.end_order[i], i);
	assert_string_equal(e.rep.findings[5]->explanation, "built-in 5"); /* not asked */
	shown_release(&sh);
	env_stop(&e);
}

static void test_anonymize_default(void **state)
{
	struct env e;
	env_start(&e, LLM_OLLAMA, 0);
	struct diag_explain_out out = {0};
	struct diag_explain_opts o = {.world = e.w, .cache_dir = "", .out = &out,
				      .anonymize = DIAG_ANONYMIZE_DEFAULT};
	struct ks_err err = {0};
	assert_int_equal(diag_explain(&e.rep, &e.cfg, &o, &err), 0);
	assert_false(out.anonymized); /* 127.0.0.1 is loopback */
	assert_contains(e.s.bodies.data, "payment-service");
	diag_explain_out_release(&out);
	env_stop(&e);
}

static void test_dead_endpoint(void **state)
{
	struct env e;
	env_start(&e, LLM_OLLAMA, 2);
	e.cfg.retries = 0;
	/* A port that refuses: one a server had, now closed. */
	struct fake_llm dead = {0};
	fake_llm_start(&dead);
	free(e.cfg.base_url);
	e.cfg.base_url = ks_strdup(dead.url);
	fake_llm_stop(&dead);
	struct shown sh;
	shown_init(&sh);
	struct diag_explain_out out = {0};
	struct diag_explain_opts o = {.world = e.w, .cache_dir = e.cache, .on_end = on_end,
				      .ctx = &sh, .out = &out};
	struct ks_err err = {0};
	assert_int_equal(diag_explain(&e.rep, &e.cfg, &o, &err), KS_ENET);
	assert_contains(err.msg, "explain: 3 of 3 findings kept their built-in explanation: LLM");
	assert_contains(e.rep.findings[0]->explanation, "The api container of payment-service");
	assert_string_equal(e.rep.findings[2]->explanation, "built-in 2");
	assert_null(out.results[1].answer);
	assert_int_equal(sh.n_ends, 3);
	assert_int_equal(sh.ends[2], KS_ENET);
	diag_explain_out_release(&out);
	shown_release(&sh);
	/* No world: refused before anything is sent. */
	o.world = NULL;
	assert_int_equal(diag_explain(&e.rep, &e.cfg, &o, &err), KS_EINVAL);
	env_stop(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_streams_in_order),
		cmocka_unit_test(test_secret_never_sent),
		cmocka_unit_test(test_concurrency_limit),
		cmocka_unit_test(test_anonymize_default),
		cmocka_unit_test(test_dead_endpoint),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
