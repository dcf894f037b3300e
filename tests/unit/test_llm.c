/* test_llm.c — the LLM client: the NDJSON and event-stream parsers as tables (every split of
 * the input gives the same items), then the client against an in-process server speaking
 * Ollama's NDJSON and OpenAI's SSE streams exactly (tests/fake_llm.h): tokens split across
 * writes, error bodies of both backends, a mid-stream error, a cut stream, 429 then success
 * (Retry-After honoured), a timeout, a refused connection, the concurrency limit, and the
 * configuration's precedence. */
#include "testutil.h"

#include "base/json.h"
#include "base/timeutil.h"
#include "llm/llm.h"

#include "fake_llm.h"

#include <stdlib.h>
#include <string.h>

/* ---- parsers ---- */

struct items {
	struct ks_buf out;
	int n;
};

static int add_line(void *ctx, const char *line, size_t len)
{
	struct items *it = ctx;
	ks_buf_append(&it->out, line, len);
	ks_buf_appendc(&it->out, '|');
	it->n++;
	return 0;
}

static int add_event(void *ctx, const char *type, const char *data, size_t len)
{
	struct items *it = ctx;
	ks_buf_appendf(&it->out, "%s=", type);
	ks_buf_append(&it->out, data, len);
	ks_buf_appendc(&it->out, '|');
	it->n++;
	return 0;
}

/* Either parser behind one interface, so every case runs through the same splitting. */
struct any_parser {
	bool sse;
	struct llm_ndjson nd;
	struct llm_sse ev;
};

static int ap_feed(struct any_parser *a, const char *p, size_t n, struct items *it)
{
	return a->sse ? llm_sse_feed(&a->ev, p, n, add_event, it, NULL)
		      : llm_ndjson_feed(&a->nd, p, n, add_line, it, NULL);
}

/* Feed `in` cut at every position (two pieces) and byte by byte; all must give `want`. */
static void check_split(bool sse, const char *in, const char *want)
{
	size_t n = strlen(in);
	for (size_t cut = 0; cut <= n + 1; cut++) {
		struct items it = {0};
		ks_buf_init(&it.out, KS_BUF_UNLIMITED);
		struct any_parser a = {.sse = sse};
		llm_ndjson_init(&a.nd, 1024);
		llm_sse_init(&a.ev, 1024);
		if (cut <= n) {
			assert_int_equal(ap_feed(&a, in, cut, &it), 0);
			assert_int_equal(ap_feed(&a, in + cut, n - cut, &it), 0);
		} else {
			for (size_t i = 0; i < n; i++)
				assert_int_equal(ap_feed(&a, in + i, 1, &it), 0);
		}
		if (!sse)
			assert_int_equal(llm_ndjson_finish(&a.nd, add_line, &it, NULL), 0);
		const char *got = it.out.data ? it.out.data : "";
		if (strcmp(got, want))
			fail_msg("cut %zu of \"%s\": got \"%s\", want \"%s\"", cut, in, got, want);
		llm_ndjson_release(&a.nd);
		llm_sse_release(&a.ev);
		ks_buf_release(&it.out);
	}
}

static void check_ndjson(const char *in, const char *want)
{
	check_split(false, in, want);
}

static void check_sse(const char *in, const char *want)
{
	check_split(true, in, want);
}

static void test_ndjson_lines(void **state)
{
	check_ndjson("{\"a\":1}\n{\"b\":2}\n", "{\"a\":1}|{\"b\":2}|");
	check_ndjson("{\"a\":1}\r\n\r\n{\"b\":2}", "{\"a\":1}|{\"b\":2}|"); /* CRLF, blank, no LF */
	check_ndjson("", "");
	check_ndjson("\n\n", "");
}

static void test_ndjson_ceiling(void **state)
{
	struct llm_ndjson p;
	struct items it = {0};
	struct ks_err err = {0};
	ks_buf_init(&it.out, KS_BUF_UNLIMITED);
	llm_ndjson_init(&p, 8);
	assert_int_equal(llm_ndjson_feed(&p, "12345\n", 6, add_line, &it, &err), 0);
	assert_int_equal(llm_ndjson_feed(&p, "123456789", 9, add_line, &it, &err), KS_ETOOBIG);
	assert_contains(err.msg, "longer than 8 bytes");
	llm_ndjson_release(&p);
	ks_buf_release(&it.out);
}

static void test_sse_events(void **state)
{
	/* OpenAI's data-only events. */
	check_sse("data: {\"x\":1}\n\ndata: [DONE]\n\n", "message={\"x\":1}|message=[DONE]|");
	/* CRLF and lone CR line ends, a comment, a named event, an id and retry. */
	check_sse(": keep-alive\r\nevent: delta\r\nid: 7\rretry: 100\ndata: a\r\n\r\n",
		  "delta=a|");
	/* Several data lines join with LF; no space after the colon; "data" alone is an
	 * empty line of data. */
	check_sse("data:one\ndata:  two\ndata\n\n", "message=one\n two\n|");
	/* An event without data is not dispatched; the type resets after each event. */
	check_sse("event: ping\n\ndata: x\n\n", "message=x|");
	/* A leading byte-order mark is ignored; an unfinished event at the end is dropped. */
	check_sse("\xEF\xBB\xBF" "data: b\n\ndata: lost", "message=b|");
	/* Unknown fields and a space before the colon name another field. */
	check_sse("data : no\nfoo: bar\ndata: yes\n\n", "message=yes|");
}

static void test_sse_ceiling(void **state)
{
	struct llm_sse p;
	struct items it = {0};
	struct ks_err err = {0};
	ks_buf_init(&it.out, KS_BUF_UNLIMITED);
	llm_sse_init(&p, 16);
	const char *in = "data: 0123456789\ndata: 0123456789\n\n";
	assert_int_equal(llm_sse_feed(&p, in, strlen(in), add_event, &it, &err), KS_ETOOBIG);
	assert_int_equal(it.n, 0);
	llm_sse_release(&p);
	ks_buf_release(&it.out);
}

/* ---- the client against the fake server ---- */

static const char *const answer[] = {"The", " pod", " payments/api", " \"crash\"-loops",
				     " because\nits key is missing.", NULL};
#define ANSWER "The pod payments/api \"crash\"-loops because\nits key is missing."

struct tokens {
	struct ks_buf all;
	int n, done_calls, done_rc;
};

static void on_token(void *ctx, size_t index, const char *text, size_t len)
{
	struct tokens *t = ctx;
	ks_buf_append(&t->all, text, len);
	t->n++;
}

static void on_done(void *ctx, size_t index, int rc, const struct ks_err *err)
{
	struct tokens *t = ctx;
	t->done_calls++;
	t->done_rc = rc;
}

static void config_for(struct llm_config *c, enum llm_backend b, const char *url)
{
	*c = (struct llm_config){0};
	llm_config_defaults(c, b);
	free(c->base_url);
	c->base_url = ks_strdup(url);
	c->timeout_ms = 5000;
	c->connect_timeout_ms = 2000;
}

static const struct llm_message msgs[] = {
	{"system", "Rewrite for an SRE."},
	{"user", "{\"symptom\":\"pods crash\"}"},
};

/* One client and its server, for the tests of one request at a time. */
struct client {
	struct fake_llm s;
	struct llm_config c;
	struct tokens t;
	struct llm_request r;
	struct ks_err err;
	bool asked;
};

static void cl_start(struct client *cl, enum llm_backend b, const struct fake_llm *how)
{
	*cl = (struct client){.s = *how};
	fake_llm_start(&cl->s);
	config_for(&cl->c, b, cl->s.url);
}

static void cl_forget(struct client *cl)
{
	if (cl->asked) {
		llm_request_release(&cl->r);
		ks_buf_release(&cl->t.all);
	}
	cl->asked = false;
	cl->t = (struct tokens){0};
}

/* One request; returns its rc; the answer is in cl->r, the tokens in cl->t. */
static int cl_chat(struct client *cl)
{
	cl_forget(cl);
	cl->asked = true;
	cl->r = (struct llm_request){.messages = msgs, .n_messages = 2, .on_token = on_token,
				     .on_done = on_done, .ctx = &cl->t};
	ks_buf_init(&cl->t.all, KS_BUF_UNLIMITED);
	return llm_run(&cl->c, &cl->r, 1, &cl->err);
}

static void cl_backend(struct client *cl, enum llm_backend b)
{
	llm_config_release(&cl->c);
	config_for(&cl->c, b, cl->s.url);
}

static void cl_stop(struct client *cl)
{
	cl_forget(cl);
	llm_config_release(&cl->c);
	fake_llm_stop(&cl->s);
}

static void test_ollama_stream(void **state)
{
	struct client cl;
	cl_start(&cl, LLM_OLLAMA, &(struct fake_llm){.tokens = answer, .piece = 5});
	assert_int_equal(cl_chat(&cl), 0);
	assert_string_equal(cl.r.text.data, ANSWER);
	assert_string_equal(cl.t.all.data, ANSWER);
	assert_int_equal(cl.t.n, 5); /* one callback per token, though the bytes came in pieces */
	assert_int_equal(cl.t.done_calls, 1);
	assert_string_equal(cl.r.done_reason, "stop");
	assert_int_equal(cl.r.attempts, 1);
	/* The request as Ollama's /api/chat takes it. */
	const char *bodies = cl.s.bodies.data;
	cJSON *body = ks_json_parse(bodies, strstr(bodies, "\n----\n") - bodies, 1 << 20, NULL);
	assert_non_null(body);
	assert_string_equal(ks_json_str(body, "model"), "llama3.2");
	assert_true(cJSON_IsTrue(ks_json_get(body, "stream")));
	assert_int_equal(ks_json_len(ks_json_get(body, "messages")), 2);
	assert_int_equal(ks_json_int_or(body, "options.num_predict", 0), 512);
	assert_non_null(ks_json_get(body, "options.temperature"));
	assert_string_equal(cl.s.authorization, ""); /* no key configured */
	cJSON_Delete(body);
	cl_stop(&cl);
}

static void test_openai_stream(void **state)
{
	struct client cl;
	cl_start(&cl, LLM_OPENAI, &(struct fake_llm){.tokens = answer, .piece = 3});
	cl.c.api_key = ks_strdup("sk-test-0123456789");
	assert_int_equal(cl_chat(&cl), 0);
	assert_string_equal(cl.r.text.data, ANSWER);
	assert_int_equal(cl.t.n, 5);
	assert_string_equal(cl.r.done_reason, "stop");
	assert_string_equal(cl.s.authorization, "Bearer sk-test-0123456789");
	assert_non_null(strstr(cl.s.bodies.data, "\"max_tokens\":512"));
	assert_null(strstr(cl.s.bodies.data, "sk-test")); /* the key is a header, not body */

	/* A base URL ending in /v1, as OpenAI's own documentation writes it. */
	free(cl.c.base_url);
	cl.c.base_url = ks_asprintf("%s/v1", cl.s.url);
	assert_int_equal(cl_chat(&cl), 0);
	assert_string_equal(cl.r.text.data, ANSWER);
	cl_stop(&cl);
}

static void test_error_bodies(void **state)
{
	struct client cl;
	cl_start(&cl, LLM_OLLAMA, &(struct fake_llm){.tokens = answer, .error_status = 404});
	assert_int_equal(cl_chat(&cl), KS_ENOTFOUND);
	assert_contains(cl.err.msg, "HTTP 404: model 'nope' not found");
	assert_int_equal(cl.err.http_status, 404);
	assert_int_equal(cl.t.done_rc, KS_ENOTFOUND);
	assert_int_equal(cl.r.attempts, 1); /* a 4xx is not retried */

	cl.s.error_status = 401;
	cl_backend(&cl, LLM_OPENAI);
	assert_int_equal(cl_chat(&cl), KS_EFORBIDDEN);
	assert_contains(cl.err.msg, "HTTP 401: Incorrect API key provided");
	cl_stop(&cl);
}

static void test_midstream_error_and_cut(void **state)
{
	/* Ollama reports an error that happens once streaming began as a line of its own. */
	struct client cl;
	cl_start(&cl, LLM_OLLAMA,
		 &(struct fake_llm){
			 .raw = "{\"model\":\"llama3.2\",\"created_at\":\"2026-11-21T10:00:00Z\","
				"\"message\":{\"role\":\"assistant\",\"content\":\" Yes\"},"
				"\"done\":false}\n"
				"{\"error\":\"an error was encountered while running "
				"the model\"}\n"});
	assert_int_equal(cl_chat(&cl), KS_EHTTP);
	assert_contains(cl.err.msg, "ollama: an error was encountered while running the model");
	assert_string_equal(cl.t.all.data, " Yes");

	/* A stream cut before its end marker is not an answer. */
	cl.s.raw = "{\"model\":\"llama3.2\",\"message\":{\"role\":\"assistant\","
		   "\"content\":\"Hal\"},\"done\":false}\n";
	assert_int_equal(cl_chat(&cl), KS_EIO);
	assert_contains(cl.err.msg, "ended before its end marker");

	/* OpenAI: an error object as a data event; garbage that is not JSON. */
	cl_backend(&cl, LLM_OPENAI);
	cl.s.raw = "data: {\"error\":{\"message\":\"The server had an error\",\"type\":"
		   "\"server_error\",\"code\":null}}\n\n";
	assert_int_equal(cl_chat(&cl), KS_EHTTP);
	assert_contains(cl.err.msg, "openai: The server had an error");
	cl.s.raw = "data: {not json\n\n";
	assert_int_equal(cl_chat(&cl), KS_EINVAL);
	assert_contains(cl.err.msg, "openai stream");
	cl_stop(&cl);
}

static void test_429_then_success(void **state)
{
	for (int b = 0; b < 2; b++) {
		struct client cl;
		cl_start(&cl, b ? LLM_OPENAI : LLM_OLLAMA,
			 &(struct fake_llm){.tokens = answer, .fail_429 = 1, .piece = 64});
		int64_t t0 = ks_mono_ms();
		assert_int_equal(cl_chat(&cl), 0);
		assert_true(ks_mono_ms() - t0 >= 950); /* Retry-After: 1 */
		assert_int_equal(cl.r.attempts, 2);
		assert_int_equal(cl.s.requests, 2);
		assert_string_equal(cl.r.text.data, ANSWER);
		assert_int_equal(cl.t.done_calls, 1);

		/* With no retries allowed, the 429 is the answer. */
		cl.s.fail_429 = 1;
		cl.c.retries = 0;
		assert_int_equal(cl_chat(&cl), KS_EHTTP);
		assert_contains(cl.err.msg, "HTTP 429");
		cl_stop(&cl);
	}
}

static void test_timeout(void **state)
{
	struct client cl;
	cl_start(&cl, LLM_OLLAMA, &(struct fake_llm){.tokens = answer, .delay_ms = 1500});
	cl.c.timeout_ms = 300;
	int64_t t0 = ks_mono_ms();
	assert_int_equal(cl_chat(&cl), KS_ETIMEOUT);
	assert_true(ks_mono_ms() - t0 < 1200);
	assert_contains(cl.err.msg, "within 300 ms");
	assert_int_equal(cl.r.attempts, 1); /* a timeout is not retried */
	cl_stop(&cl);
}

static void test_connection_refused(void **state)
{
	/* A port nobody listens on: take one from the fake server, then stop it. */
	struct fake_llm s = {0};
	fake_llm_start(&s);
	char url[64];
	snprintf(url, sizeof url, "%s", s.url);
	fake_llm_stop(&s);
	struct llm_config c;
	config_for(&c, LLM_OLLAMA, url);
	c.retries = 1;
	struct tokens t[3];
	memset(t, 0, sizeof t);
	struct llm_request r[3];
	for (int i = 0; i < 3; i++) {
		r[i] = (struct llm_request){.messages = msgs, .n_messages = 2, .on_done = on_done,
					    .ctx = &t[i], .index = (size_t)i};
	}
	c.max_concurrency = 1;
	struct ks_err err = {0};
	assert_int_equal(llm_run(&c, r, 3, &err), KS_ENET);
	assert_contains(err.msg, "127.0.0.1");
	assert_int_equal(r[0].attempts, 2);
	/* The others were not sent once the first found nobody there. */
	for (int i = 1; i < 3; i++) {
		assert_int_equal(r[i].rc, KS_ENET);
		assert_int_equal(r[i].attempts, 0);
		assert_int_equal(t[i].done_calls, 1);
	}
	for (int i = 0; i < 3; i++)
		llm_request_release(&r[i]);
	llm_config_release(&c);
}

static void test_concurrency_limit(void **state)
{
	struct fake_llm s = {.tokens = answer, .delay_ms = 150, .piece = 64};
	fake_llm_start(&s);
	struct llm_config c;
	config_for(&c, LLM_OPENAI, s.url);
	c.max_concurrency = 2;
	enum { N = 6 };
	struct tokens t[N];
	memset(t, 0, sizeof t);
	struct llm_request r[N];
	for (int i = 0; i < N; i++) {
		ks_buf_init(&t[i].all, KS_BUF_UNLIMITED);
		r[i] = (struct llm_request){.messages = msgs, .n_messages = 2, .on_token = on_token,
					    .on_done = on_done, .ctx = &t[i], .index = (size_t)i};
	}
	struct ks_err err = {0};
	assert_int_equal(llm_run(&c, r, N, &err), 0);
	assert_int_equal(s.requests, N);
	assert_int_equal(s.max_active, 2);
	for (int i = 0; i < N; i++) {
		assert_string_equal(r[i].text.data, ANSWER);
		assert_string_equal(t[i].all.data, ANSWER);
		llm_request_release(&r[i]);
		ks_buf_release(&t[i].all);
	}
	llm_config_release(&c);
	fake_llm_stop(&s);
}

static void test_plaintext_key_refused(void **state)
{
	struct llm_config c;
	config_for(&c, LLM_OPENAI, "http://llm.example.com:8080");
	c.api_key = ks_strdup("sk-secret-key-value");
	struct llm_request r = {.messages = msgs, .n_messages = 2};
	struct ks_err err = {0};
	assert_int_equal(llm_run(&c, &r, 1, &err), KS_EAUTH);
	assert_contains(err.msg, "refusing to send the API key over plain http");
	assert_null(strstr(err.msg, "sk-secret"));
	llm_request_release(&r);
	llm_config_release(&c);
}

static void test_config_precedence(void **state)
{
	setenv("KSWARM_LLM_BACKEND", "openai", 1);
	setenv("KSWARM_LLM_URL", "https://llm.example.com/v1/", 1);
	setenv("KSWARM_LLM_MODEL", "env-model", 1);
	setenv("KSWARM_LLM_API_KEY_ENV", "TEST_LLM_KEY", 1);
	setenv("TEST_LLM_KEY", "k-123", 1);
	struct llm_config c = {0};
	struct ks_err err = {0};
	assert_int_equal(llm_config_load(&c, NULL, &err), 0);
	assert_int_equal(c.backend, LLM_OPENAI);
	assert_string_equal(c.base_url, "https://llm.example.com/v1"); /* trailing / dropped */
	assert_string_equal(c.model, "env-model");
	assert_string_equal(c.api_key, "k-123");
	llm_config_release(&c);

	/* Flags win over the environment. */
	struct llm_flags f = {.backend = "ollama", .url = "http://localhost:11434",
			      .model = "flag-model", .api_key_env = "NO_SUCH_VAR_KSWARM"};
	assert_int_equal(llm_config_load(&c, &f, &err), 0);
	assert_int_equal(c.backend, LLM_OLLAMA);
	assert_string_equal(c.base_url, "http://localhost:11434");
	assert_string_equal(c.model, "flag-model");
	assert_null(c.api_key);
	llm_config_release(&c);

	f = (struct llm_flags){.backend = "bard"};
	assert_int_equal(llm_config_load(&c, &f, &err), KS_EINVAL);
	assert_contains(err.msg, "'bard'");
	f = (struct llm_flags){.url = "ftp://x"};
	assert_int_equal(llm_config_load(&c, &f, &err), KS_EINVAL);
	unsetenv("KSWARM_LLM_BACKEND");
	unsetenv("KSWARM_LLM_URL");
	unsetenv("KSWARM_LLM_MODEL");
	unsetenv("KSWARM_LLM_API_KEY_ENV");
	unsetenv("TEST_LLM_KEY");

	/* Defaults. */
	assert_int_equal(llm_config_load(&c, NULL, &err), 0);
	assert_int_equal(c.backend, LLM_OLLAMA);
	assert_string_equal(c.base_url, "http://127.0.0.1:11434");
	llm_config_release(&c);
}

static void test_loopback(void **state)
{
	assert_true(llm_url_is_loopback("http://127.0.0.1:11434"));
	assert_true(llm_url_is_loopback("http://localhost"));
	assert_true(llm_url_is_loopback("http://[::1]:8080/v1"));
	assert_true(llm_url_is_loopback("http://127.8.9.1"));
	assert_false(llm_url_is_loopback("https://api.openai.com"));
	assert_false(llm_url_is_loopback("http://127.0.0.1.nip.io"));
	assert_false(llm_url_is_loopback("http://10.0.0.1:11434"));
	assert_false(llm_url_is_loopback("not a url"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ndjson_lines),
		cmocka_unit_test(test_ndjson_ceiling),
		cmocka_unit_test(test_sse_events),
		cmocka_unit_test(test_sse_ceiling),
		cmocka_unit_test(test_ollama_stream),
		cmocka_unit_test(test_openai_stream),
		cmocka_unit_test(test_error_bodies),
		cmocka_unit_test(test_midstream_error_and_cut),
		cmocka_unit_test(test_429_then_success),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_connection_refused),
		cmocka_unit_test(test_concurrency_limit),
		cmocka_unit_test(test_plaintext_key_refused),
		cmocka_unit_test(test_config_precedence),
		cmocka_unit_test(test_loopback),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
