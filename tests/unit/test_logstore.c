/* test_logstore.c — the simulated kubelets' log store: lines in order, multi-line appends,
 * the kubelet's error messages, previous instances across restarts, tail, fixed-width
 * nanosecond timestamps, limitBytes cutting mid-line, since, the line and byte ceilings of
 * the ring, dropping a pod, and appends racing renders from another thread. */
#include "testutil.h"

#include "sim/logstore.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

/* 2026-11-21T10:00:00Z */
#define T0 1795255200000LL

static const struct sim_logs_query all = {.tail_lines = -1};

/* Render into a fresh string (or NULL on error, with *rc set). */
static char *render(struct sim_logs *l, const char *ns, const char *pod, const char *c,
		    const struct sim_logs_query *q, int *rc, struct ks_err *err)
{
	struct ks_buf b;
	ks_buf_init(&b, 64u << 20);
	*rc = sim_logs_render(l, ns, pod, c, q, &b, err);
	if (*rc) {
		ks_buf_release(&b);
		return NULL;
	}
	return ks_buf_detach(&b);
}

static void expect(struct sim_logs *l, const char *c, const struct sim_logs_query *q,
		   const char *want)
{
	int rc;
	struct ks_err err = {0};
	char *got = render(l, "ns", "p", c, q, &rc, &err);
	if (rc)
		fail_msg("render: %s", err.msg);
	assert_string_equal(got, want);
	free(got);
}

static void lines_in_order(void **state)
{
	(void)state;
	struct sim_logs *l = sim_logs_new();
	sim_logs_append(l, "ns", "p", "app", T0, "one");
	sim_logs_append(l, "ns", "p", "app", T0 + 1, "two\nthree\n");
	sim_logs_append(l, "ns", "p", "app", T0 + 2, "");
	sim_logs_append(l, "ns", "p", "app", T0 + 3, "a\n\nb");
	sim_logs_append(l, "ns", "p", "side", T0, "other container");
	sim_logs_append(l, "ns2", "p", "app", T0, "other namespace");
	expect(l, "app", &all, "one\ntwo\nthree\n\na\n\nb\n");
	expect(l, "side", &all, "other container\n");
	sim_logs_free(l);
}

static void errors_as_kubelet(void **state)
{
	(void)state;
	struct sim_logs *l = sim_logs_new();
	sim_logs_append(l, "ns", "web-1", "app", T0, "x");
	struct ks_err err = {0};
	int rc;
	assert_null(render(l, "ns", "web-2", "app", &all, &rc, &err));
	assert_int_equal(rc, KS_ENOTFOUND);
	assert_string_equal(err.msg, "pod \"web-2\" does not exist");
	assert_null(render(l, "other", "web-1", "app", &all, &rc, &err));
	assert_int_equal(rc, KS_ENOTFOUND);
	assert_null(render(l, "ns", "web-1", "db", &all, &rc, &err));
	assert_int_equal(rc, KS_ENOTFOUND);
	assert_string_equal(err.msg, "container \"db\" not found in pod \"web-1\"");
	struct sim_logs_query prev = {.previous = true, .tail_lines = -1};
	assert_null(render(l, "ns", "web-1", "app", &prev, &rc, &err));
	assert_int_equal(rc, KS_EINVAL);
	assert_string_equal(err.msg,
			    "previous terminated container \"app\" in pod \"web-1\" not found");
	/* Names are quoted as Go's %q does. */
	assert_null(render(l, "ns", "a\"b\\c", "app", &all, &rc, &err));
	assert_string_equal(err.msg, "pod \"a\\\"b\\\\c\" does not exist");
	sim_logs_free(l);
}

static void previous_instance(void **state)
{
	(void)state;
	struct sim_logs *l = sim_logs_new();
	struct sim_logs_query prev = {.previous = true, .tail_lines = -1};
	sim_logs_append(l, "ns", "p", "app", T0, "first run");
	sim_logs_append(l, "ns", "p", "app", T0, "panic: boom");
	sim_logs_restart(l, "ns", "p", "app");
	expect(l, "app", &all, "");
	expect(l, "app", &prev, "first run\npanic: boom\n");
	sim_logs_append(l, "ns", "p", "app", T0 + 10, "second run");
	expect(l, "app", &all, "second run\n");
	sim_logs_restart(l, "ns", "p", "app");
	sim_logs_append(l, "ns", "p", "app", T0 + 20, "third run");
	expect(l, "app", &prev, "second run\n"); /* only one previous instance */
	expect(l, "app", &all, "third run\n");
	/* A restart of a container with no lines yet still makes a (empty) previous. */
	sim_logs_restart(l, "ns", "p", "fresh");
	expect(l, "fresh", &prev, "");
	sim_logs_free(l);
}

static void tail(void **state)
{
	(void)state;
	struct sim_logs *l = sim_logs_new();
	for (int i = 1; i <= 5; i++) {
		char line[16];
		snprintf(line, sizeof line, "l%d", i);
		sim_logs_append(l, "ns", "p", "c", T0 + i, line);
	}
	struct sim_logs_query q = {.tail_lines = 1};
	expect(l, "c", &q, "l5\n");
	q.tail_lines = 3;
	expect(l, "c", &q, "l3\nl4\nl5\n");
	q.tail_lines = 0; /* the kubelet's tail of zero lines is nothing */
	expect(l, "c", &q, "");
	q.tail_lines = 50;
	expect(l, "c", &q, "l1\nl2\nl3\nl4\nl5\n");
	/* Tail first, then since (the kubelet seeks back, then filters). */
	q.tail_lines = 2;
	q.since_ms = T0 + 5;
	expect(l, "c", &q, "l5\n");
	sim_logs_free(l);
}

static void timestamps(void **state)
{
	(void)state;
	struct sim_logs *l = sim_logs_new();
	sim_logs_append(l, "ns", "p", "c", T0 + 7, "hello");
	sim_logs_append(l, "ns", "p", "c", T0 + 61234, "world");
	struct sim_logs_query q = {.tail_lines = -1, .timestamps = true};
	expect(l, "c", &q,
	       "2026-11-21T10:00:00.007000000Z hello\n2026-11-21T10:01:01.234000000Z world\n");
	sim_logs_free(l);
}

static void limit_bytes(void **state)
{
	(void)state;
	struct sim_logs *l = sim_logs_new();
	sim_logs_append(l, "ns", "p", "c", T0, "abcdef");
	sim_logs_append(l, "ns", "p", "c", T0, "ghij");
	struct sim_logs_query q = {.tail_lines = -1, .limit_bytes = 4};
	expect(l, "c", &q, "abcd");
	q.limit_bytes = 7; /* the newline counts */
	expect(l, "c", &q, "abcdef\n");
	q.limit_bytes = 9;
	expect(l, "c", &q, "abcdef\ngh");
	q.limit_bytes = 1000;
	expect(l, "c", &q, "abcdef\nghij\n");
	/* The timestamp prefix counts too. */
	q.limit_bytes = 10;
	q.timestamps = true;
	expect(l, "c", &q, "2026-11-21");
	sim_logs_free(l);
}

static void since(void **state)
{
	(void)state;
	struct sim_logs *l = sim_logs_new();
	sim_logs_append(l, "ns", "p", "c", T0, "old");
	sim_logs_append(l, "ns", "p", "c", T0 + 1000, "edge");
	sim_logs_append(l, "ns", "p", "c", T0 + 2000, "new");
	struct sim_logs_query q = {.tail_lines = -1, .since_ms = T0 + 1000};
	expect(l, "c", &q, "edge\nnew\n"); /* lines at the instant are kept (not Before) */
	q.since_ms = T0 + 1001;
	expect(l, "c", &q, "new\n");
	q.since_ms = T0 + 5000;
	expect(l, "c", &q, "");
	sim_logs_free(l);
}

static void ring_line_ceiling(void **state)
{
	(void)state;
	struct sim_logs *l = sim_logs_new();
	for (int i = 0; i < SIM_LOGS_MAX_LINES + 5; i++) {
		char line[24];
		snprintf(line, sizeof line, "line %d", i);
		sim_logs_append(l, "ns", "p", "c", T0 + i, line);
	}
	int rc;
	struct ks_err err = {0};
	char *got = render(l, "ns", "p", "c", &all, &rc, &err);
	assert_int_equal(rc, 0);
	size_t n = 0;
	for (const char *p = got; (p = strchr(p, '\n')); p++)
		n++;
	assert_int_equal(n, SIM_LOGS_MAX_LINES);
	assert_true(strncmp(got, "line 5\n", 7) == 0); /* the five oldest went */
	char want_last[32];
	snprintf(want_last, sizeof want_last, "line %d\n", SIM_LOGS_MAX_LINES + 4);
	assert_string_equal(got + strlen(got) - strlen(want_last), want_last);
	free(got);
	sim_logs_free(l);
}

static void ring_byte_ceiling(void **state)
{
	(void)state;
	struct sim_logs *l = sim_logs_new();
	char line[1001];
	size_t per = sizeof line - 1, total = 1200;
	for (size_t i = 0; i < total; i++) {
		memset(line, 'a' + (int)(i % 26), per);
		line[per] = '\0';
		sim_logs_append(l, "ns", "p", "c", T0, line);
	}
	int rc;
	struct ks_err err = {0};
	char *got = render(l, "ns", "p", "c", &all, &rc, &err);
	size_t kept = SIM_LOGS_MAX_BYTES / per;
	assert_int_equal(strlen(got), kept * (per + 1));
	/* The newest line is the last one appended. */
	assert_int_equal(got[strlen(got) - 2], 'a' + (int)((total - 1) % 26));
	assert_int_equal(got[0], 'a' + (int)((total - kept) % 26));
	free(got);
	/* One huge line keeps its first SIM_LOGS_MAX_LINE bytes. */
	char *big = ks_malloc(SIM_LOGS_MAX_LINE * 3 + 1);
	memset(big, 'z', SIM_LOGS_MAX_LINE * 3);
	big[SIM_LOGS_MAX_LINE * 3] = '\0';
	sim_logs_append(l, "ns", "p", "big", T0, big);
	free(big);
	got = render(l, "ns", "p", "big", &all, &rc, &err);
	assert_int_equal(strlen(got), SIM_LOGS_MAX_LINE + 1);
	free(got);
	sim_logs_free(l);
}

static void drop_pod(void **state)
{
	(void)state;
	struct sim_logs *l = sim_logs_new();
	sim_logs_append(l, "ns", "p", "a", T0, "x");
	sim_logs_append(l, "ns", "p", "b", T0, "y");
	sim_logs_restart(l, "ns", "p", "a");
	sim_logs_append(l, "ns", "q", "a", T0, "stays");
	sim_logs_drop_pod(l, "ns", "p");
	sim_logs_drop_pod(l, "ns", "never-there");
	int rc;
	struct ks_err err = {0};
	assert_null(render(l, "ns", "p", "a", &all, &rc, &err));
	assert_int_equal(rc, KS_ENOTFOUND);
	assert_string_equal(err.msg, "pod \"p\" does not exist");
	char *got = render(l, "ns", "q", "a", &all, &rc, &err);
	assert_string_equal(got, "stays\n");
	free(got);
	/* A new pod of the same name starts clean. */
	sim_logs_append(l, "ns", "p", "a", T0, "new pod");
	struct sim_logs_query prev = {.previous = true, .tail_lines = -1};
	assert_null(render(l, "ns", "p", "a", &prev, &rc, &err));
	assert_int_equal(rc, KS_EINVAL);
	sim_logs_free(l);
}

static void output_ceiling(void **state)
{
	(void)state;
	struct sim_logs *l = sim_logs_new();
	sim_logs_append(l, "ns", "p", "c", T0, "0123456789");
	sim_logs_append(l, "ns", "p", "c", T0, "0123456789");
	struct ks_buf b;
	ks_buf_init(&b, 15);
	struct ks_err err = {0};
	assert_int_equal(sim_logs_render(l, "ns", "p", "c", &all, &b, &err), KS_ETOOBIG);
	assert_string_equal(b.data, "0123456789\n");
	ks_buf_release(&b);
	sim_logs_free(l);
}

struct race {
	struct sim_logs *l;
	int n;
};

static void *writer(void *arg)
{
	struct race *r = arg;
	for (int i = 0; i < r->n; i++) {
		sim_logs_append(r->l, "ns", "p", "c", T0 + i, "some line of output");
		if (i % 100 == 99)
			sim_logs_restart(r->l, "ns", "p", "c");
		if (i % 500 == 499)
			sim_logs_drop_pod(r->l, "ns", "p");
	}
	return NULL;
}

static void concurrent(void **state)
{
	(void)state;
	struct race r = {sim_logs_new(), 3000};
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, writer, &r), 0);
	struct sim_logs_query q = {.tail_lines = 10, .timestamps = true};
	for (int i = 0; i < 3000; i++) {
		struct ks_buf b;
		ks_buf_init(&b, 1u << 20);
		int rc = sim_logs_render(r.l, "ns", "p", "c", &q, &b, NULL);
		assert_true(rc == 0 || rc == KS_ENOTFOUND);
		/* Whole lines only: every line ends with its newline. */
		assert_true(b.len == 0 || b.data[b.len - 1] == '\n');
		ks_buf_release(&b);
	}
	pthread_join(t, NULL);
	sim_logs_free(r.l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(lines_in_order),    cmocka_unit_test(errors_as_kubelet),
		cmocka_unit_test(previous_instance), cmocka_unit_test(tail),
		cmocka_unit_test(timestamps),        cmocka_unit_test(limit_bytes),
		cmocka_unit_test(since),             cmocka_unit_test(ring_line_ceiling),
		cmocka_unit_test(ring_byte_ceiling), cmocka_unit_test(drop_pod),
		cmocka_unit_test(output_ceiling),    cmocka_unit_test(concurrent),
	};
	return cmocka_run_group_tests_name("logstore", tests, NULL, NULL);
}
