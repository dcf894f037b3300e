/* test_notify.c — notifications (src/daemon/notify.h) against an in-process libmicrohttpd
 * receiver on loopback: the exact Slack and webhook payloads, de-duplication across
 * repeated diagnoses (and again after the finding resolves or changes), the per-sink rate
 * limit, retries with back-off on 500 (and none on 400), the bearer token and headers, and
 * that the bus callback does not wait for a slow receiver. */
#include "testutil.h"

#include "base/alloc.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/json.h"
#include "base/timeutil.h"
#include "daemon/notify.h"
#include "swarm/msg.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <microhttpd.h>

struct receiver {
	struct MHD_Daemon *d;
	char url[64];
	pthread_mutex_t mu;
	int requests;
	int fail_first;     /* answer `fail_status` this many times first */
	unsigned fail_status;
	int delay_ms;       /* before answering */
	struct ks_buf bodies; /* each followed by "\n----\n" */
	char authorization[256], team[64];
};

struct rconn {
	struct ks_buf body;
};

static enum MHD_Result r_handler(void *cls, struct MHD_Connection *c, const char *url,
				 const char *method, const char *version, const char *upload,
				 size_t *upload_size, void **con_cls)
{
	(void)url;
	(void)method;
	(void)version;
	struct receiver *r = cls;
	struct rconn *rc = *con_cls;
	if (!rc) {
		rc = ks_calloc(1, sizeof *rc);
		ks_buf_init(&rc->body, KS_BUF_UNLIMITED);
		*con_cls = rc;
		return MHD_YES;
	}
	if (*upload_size) {
		ks_buf_append(&rc->body, upload, *upload_size);
		*upload_size = 0;
		return MHD_YES;
	}
	if (r->delay_ms) {
		struct timespec ts = {r->delay_ms / 1000, (long)(r->delay_ms % 1000) * 1000000L};
		nanosleep(&ts, NULL);
	}
	pthread_mutex_lock(&r->mu);
	r->requests++;
	bool fail = r->fail_first > 0;
	if (fail)
		r->fail_first--;
	else
		ks_buf_append(&r->bodies, rc->body.data ? rc->body.data : "", rc->body.len);
	if (!fail)
		ks_buf_appendstr(&r->bodies, "\n----\n");
	const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
	const char *team = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Team");
	snprintf(r->authorization, sizeof r->authorization, "%s", auth ? auth : "");
	snprintf(r->team, sizeof r->team, "%s", team ? team : "");
	pthread_mutex_unlock(&r->mu);
	const char *body = fail ? "oops" : "ok";
	struct MHD_Response *resp = MHD_create_response_from_buffer(
		strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret = MHD_queue_response(c, fail ? r->fail_status : 200, resp);
	MHD_destroy_response(resp);
	return ret;
}

static void r_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)c;
	(void)toe;
	struct rconn *rc = *con_cls;
	if (rc) {
		ks_buf_release(&rc->body);
		free(rc);
		*con_cls = NULL;
	}
}

static void r_start(struct receiver *r)
{
	pthread_mutex_init(&r->mu, NULL);
	ks_buf_init(&r->bodies, KS_BUF_UNLIMITED);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	r->d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD,
				0, NULL, NULL, r_handler, r, MHD_OPTION_SOCK_ADDR, &sa,
				MHD_OPTION_NOTIFY_COMPLETED, r_completed, r,
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10, MHD_OPTION_END);
	assert_non_null(r->d);
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(r->d, MHD_DAEMON_INFO_BIND_PORT);
	snprintf(r->url, sizeof r->url, "http://127.0.0.1:%d/hook", info->port);
}

static void r_stop(struct receiver *r)
{
	MHD_stop_daemon(r->d);
	ks_buf_release(&r->bodies);
	pthread_mutex_destroy(&r->mu);
}

static int r_count(struct receiver *r)
{
	pthread_mutex_lock(&r->mu);
	int n = 0;
	for (const char *p = r->bodies.data; p && (p = strstr(p, "\n----\n")); p += 6)
		n++;
	pthread_mutex_unlock(&r->mu);
	return n;
}

static struct swarm_msg msg(enum swarm_msg_type type, const char *id, const char *ns,
			    const char *name, const char *text, const char *body_json)
{
	struct swarm_msg m = {.type = type, .ts = 1795255202123LL};
	snprintf(m.id, sizeof m.id, "%s", id);
	snprintf(m.cluster, sizeof m.cluster, "local");
	snprintf(m.from, sizeof m.from, "%s", type == SWARM_MSG_DIAGNOSIS ? "diagnostics"
					     : type == SWARM_MSG_OUTCOME ? "reconciler"
									 : "orchestrator");
	snprintf(m.subject.kind, sizeof m.subject.kind, "Deployment");
	snprintf(m.subject.namespace, sizeof m.subject.namespace, "%s", ns);
	snprintf(m.subject.name, sizeof m.subject.name, "%s", name);
	m.text = ks_strdup(text);
	m.body = cJSON_Parse(body_json);
	return m;
}

static struct notifier *start(struct notify_sink *sinks, size_t n, int64_t backoff_ms)
{
	struct notify_opts o = {.backoff_ms = backoff_ms, .max_attempts = 3, .timeout_ms = 3000};
	struct notifier *nt = NULL;
	struct ks_err err = {0};
	assert_int_equal(notifier_new(sinks, n, &o, &nt, &err), 0);
	return nt;
}

static void test_slack_payload(void **state)
{
	(void)state;
	struct swarm_msg m = msg(SWARM_MSG_DIAGNOSIS, "m42", "payments", "payment-service",
				 "payment-service crash-loops: <password> & Vault differ", "{}");
	struct ks_buf b;
	ks_buf_init(&b, KS_BUF_UNLIMITED);
	assert_int_equal(notify_render(NOTIFY_SLACK, &m, &b), 0);
	assert_string_equal(
		b.data,
		"{\"text\":\"kswarm [local] Finding on Deployment payments/payment-service: "
		"payment-service crash-loops: &lt;password&gt; &amp; Vault differ\","
		"\"blocks\":[{\"type\":\"section\",\"text\":{\"type\":\"mrkdwn\",\"text\":"
		"\"*Finding on Deployment payments/payment-service*\\npayment-service crash-loops:"
		" &lt;password&gt; &amp; Vault differ\"}},{\"type\":\"context\",\"elements\":"
		"[{\"type\":\"mrkdwn\",\"text\":\"cluster local · from diagnostics · m42 · "
		"2026-11-21T10:00:02.123Z\"}]}]}");
	ks_buf_reset(&b);
	struct swarm_msg a = msg(SWARM_MSG_APPROVAL_REQUEST, "m50", "payments", "payment-service",
				 "p3 needs a person", "{\"plan_id\":\"p3\"}");
	notify_render(NOTIFY_SLACK, &a, &b);
	assert_non_null(strstr(b.data, "\"text\":\"kswarm [local] Plan p3 awaits approval: "
				       "p3 needs a person\""));
	ks_buf_reset(&b);
	struct swarm_msg o = msg(SWARM_MSG_OUTCOME, "m60", "payments", "payment-service", "done",
				 "{\"plan_id\":\"p3\",\"result\":\"rolled_back\"}");
	notify_render(NOTIFY_SLACK, &o, &b);
	assert_non_null(
		strstr(b.data, "\"text\":\"kswarm [local] Plan p3 was rolled back: done\""));
	ks_buf_release(&b);
	swarm_msg_release(&m);
	swarm_msg_release(&a);
	swarm_msg_release(&o);
}

static void test_webhook_payload_is_the_message(void **state)
{
	(void)state;
	struct receiver r = {0};
	r_start(&r);
	char *tokdir = tu_mkdtemp();
	char *tokfile = ks_asprintf("%s/token", tokdir);
	tu_write_file(tokfile, "s3cr3t-token\n");
	struct notify_sink sink = {.kind = NOTIFY_WEBHOOK, .url = r.url, .token_file = tokfile,
				   .headers = {"X-Team: sre"}, .nheaders = 1};
	struct notifier *nt = start(&sink, 1, 50);
	struct swarm_msg m = msg(SWARM_MSG_OUTCOME, "m60", "analytics", "report-builder",
				 "p1 succeeded", "{\"plan_id\":\"p1\",\"result\":\"succeeded\"}");
	notifier_on_message(&m, nt);
	assert_true(notifier_flush(nt, 5000));
	struct ks_buf want;
	ks_buf_init(&want, KS_BUF_UNLIMITED);
	swarm_msg_encode(&m, &want);
	ks_buf_appendstr(&want, "\n----\n");
	assert_string_equal(r.bodies.data, want.data);
	assert_string_equal(r.authorization, "Bearer s3cr3t-token");
	assert_string_equal(r.team, "sre");
	struct notify_stats st;
	notifier_stats(nt, 0, &st);
	assert_int_equal(st.delivered, 1);
	notifier_free(nt);
	ks_buf_release(&want);
	swarm_msg_release(&m);
	r_stop(&r);
	tu_rmtree(tokdir);
	free(tokdir);
	free(tokfile);
}

static void test_dedup(void **state)
{
	(void)state;
	struct receiver r = {0};
	r_start(&r);
	struct notify_sink sinks[] = {{.kind = NOTIFY_SLACK, .url = r.url, .per_minute = 100},
				      {.kind = NOTIFY_WEBHOOK, .url = r.url, .per_minute = 100}};
	struct notifier *nt = start(sinks, 2, 50);
	struct swarm_msg d1 = msg(SWARM_MSG_DIAGNOSIS, "m1", "analytics", "report-builder",
				  "OOMKilled at 256Mi", "{}");
	for (int round = 0; round < 5; round++) /* every round says it again */
		notifier_on_message(&d1, nt);
	assert_true(notifier_flush(nt, 5000));
	assert_int_equal(r_count(&r), 2); /* once per sink */
	struct notify_stats st;
	notifier_stats(nt, 0, &st);
	assert_int_equal(st.duplicates, 4);
	/* the finding changes: announced */
	struct swarm_msg d2 = msg(SWARM_MSG_DIAGNOSIS, "m2", "analytics", "report-builder",
				  "OOMKilled at 512Mi", "{}");
	notifier_on_message(&d2, nt);
	notifier_on_message(&d2, nt);
	/* an approval request and an outcome: once per plan */
	struct swarm_msg a = msg(SWARM_MSG_APPROVAL_REQUEST, "m3", "analytics", "report-builder",
				 "p1 needs a person", "{\"plan_id\":\"p1\"}");
	notifier_on_message(&a, nt);
	notifier_on_message(&a, nt);
	struct swarm_msg o = msg(SWARM_MSG_OUTCOME, "m4", "analytics", "report-builder",
				 "p1 succeeded", "{\"plan_id\":\"p1\",\"result\":\"succeeded\"}");
	notifier_on_message(&o, nt);
	notifier_on_message(&o, nt);
	/* resolved: the same finding again is news */
	notifier_on_message(&d2, nt);
	/* other types are not announced */
	struct swarm_msg p = msg(SWARM_MSG_PROPOSAL, "m5", "analytics", "report-builder",
				 "raise the limit", "{}");
	notifier_on_message(&p, nt);
	assert_true(notifier_flush(nt, 5000));
	assert_int_equal(r_count(&r), 2 * 5);
	notifier_free(nt);
	swarm_msg_release(&d1);
	swarm_msg_release(&d2);
	swarm_msg_release(&a);
	swarm_msg_release(&o);
	swarm_msg_release(&p);
	r_stop(&r);
}

static void test_rate_limit(void **state)
{
	(void)state;
	struct receiver r = {0};
	r_start(&r);
	struct notify_sink sink = {.kind = NOTIFY_WEBHOOK, .url = r.url, .per_minute = 3};
	struct notifier *nt = start(&sink, 1, 50);
	for (int i = 0; i < 10; i++) {
		char name[32];
		snprintf(name, sizeof name, "svc-%d", i);
		struct swarm_msg d = msg(SWARM_MSG_DIAGNOSIS, "m1", "shop", name, "broken", "{}");
		notifier_on_message(&d, nt);
		swarm_msg_release(&d);
	}
	assert_true(notifier_flush(nt, 5000));
	assert_int_equal(r_count(&r), 3);
	struct notify_stats st;
	notifier_stats(nt, 0, &st);
	assert_int_equal(st.rate_limited, 7);
	assert_int_equal(st.delivered, 3);
	notifier_free(nt);
	r_stop(&r);
}

static void test_retries_on_500(void **state)
{
	(void)state;
	struct receiver r = {.fail_first = 2, .fail_status = 500};
	r_start(&r);
	struct notify_sink sink = {.kind = NOTIFY_WEBHOOK, .url = r.url};
	struct notifier *nt = start(&sink, 1, 100);
	struct swarm_msg d = msg(SWARM_MSG_DIAGNOSIS, "m1", "shop", "web", "broken", "{}");
	int64_t t0 = ks_mono_ms();
	notifier_on_message(&d, nt);
	assert_true(notifier_flush(nt, 10000));
	int64_t took = ks_mono_ms() - t0;
	assert_int_equal(r.requests, 3);
	assert_int_equal(r_count(&r), 1);
	assert_true(took >= 100 + 200); /* back-off: 100 ms, then 200 ms */
	struct notify_stats st;
	notifier_stats(nt, 0, &st);
	assert_int_equal(st.retried, 2);
	assert_int_equal(st.delivered, 1);
	/* past max_attempts (3): given up */
	r.fail_first = 5;
	struct swarm_msg d2 = msg(SWARM_MSG_DIAGNOSIS, "m2", "shop", "api", "broken", "{}");
	notifier_on_message(&d2, nt);
	assert_true(notifier_flush(nt, 10000));
	notifier_stats(nt, 0, &st);
	assert_int_equal(st.failed, 1);
	assert_int_equal(r.requests, 6);
	/* a 400 is not retried */
	r.fail_first = 1;
	r.fail_status = 400;
	struct swarm_msg d3 = msg(SWARM_MSG_DIAGNOSIS, "m3", "shop", "db", "broken", "{}");
	notifier_on_message(&d3, nt);
	assert_true(notifier_flush(nt, 10000));
	notifier_stats(nt, 0, &st);
	assert_int_equal(st.failed, 2);
	assert_int_equal(r.requests, 7);
	notifier_free(nt);
	swarm_msg_release(&d);
	swarm_msg_release(&d2);
	swarm_msg_release(&d3);
	r_stop(&r);
}

static void test_never_blocks_the_bus(void **state)
{
	(void)state;
	struct receiver r = {.delay_ms = 500};
	r_start(&r);
	struct notify_sink sink = {.kind = NOTIFY_SLACK, .url = r.url};
	struct notifier *nt = start(&sink, 1, 50);
	int64_t t0 = ks_mono_ms();
	for (int i = 0; i < 5; i++) {
		char name[32];
		snprintf(name, sizeof name, "svc-%d", i);
		struct swarm_msg d = msg(SWARM_MSG_DIAGNOSIS, "m1", "shop", name, "broken", "{}");
		notifier_on_message(&d, nt);
		swarm_msg_release(&d);
	}
	assert_true(ks_mono_ms() - t0 < 200); /* queued, not sent, by the callback */
	notifier_free(nt); /* stops after the attempt in hand; the rest is dropped */
	r_stop(&r);
}

static void test_bad_sinks(void **state)
{
	(void)state;
	struct notifier *nt = NULL;
	struct ks_err err = {0};
	struct notify_sink nourl = {.kind = NOTIFY_SLACK};
	assert_int_not_equal(notifier_new(&nourl, 1, NULL, &nt, &err), 0);
	assert_non_null(strstr(err.msg, "no url"));
	struct notify_sink ftp = {.kind = NOTIFY_SLACK, .url = "ftp://x"};
	assert_int_not_equal(notifier_new(&ftp, 1, NULL, &nt, &err), 0);
	struct notify_sink missing = {.kind = NOTIFY_SLACK, .url_file = "/nonexistent/url"};
	assert_int_not_equal(notifier_new(&missing, 1, NULL, &nt, &err), 0);
	/* the error never quotes a URL read from a file */
	char *dir = tu_mkdtemp();
	char *f = ks_asprintf("%s/url", dir);
	tu_write_file(f, "gopher://hooks.example/T000/B000/XXXX\n");
	struct notify_sink secret = {.kind = NOTIFY_SLACK, .url_file = f};
	assert_int_not_equal(notifier_new(&secret, 1, NULL, &nt, &err), 0);
	assert_null(strstr(err.msg, "XXXX"));
	tu_rmtree(dir);
	free(dir);
	free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_slack_payload),
		cmocka_unit_test(test_webhook_payload_is_the_message),
		cmocka_unit_test(test_dedup),
		cmocka_unit_test(test_rate_limit),
		cmocka_unit_test(test_retries_on_500),
		cmocka_unit_test(test_never_blocks_the_bus),
		cmocka_unit_test(test_bad_sinks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
