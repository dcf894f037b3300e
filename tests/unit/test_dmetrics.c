/* test_dmetrics.c — the daemon's process-wide /metrics families (src/daemon/dmetrics.h):
 * the Kubernetes verb of a request (kube_http_verb), the rendering of the counters and
 * histograms (exact lines), and the notifier's per-sink counters. */
#include "testutil.h"

#include "base/buf.h"
#include "base/err.h"
#include "base/opstats.h"
#include "base/promtext.h"
#include "daemon/dmetrics.h"
#include "daemon/notify.h"
#include "kube/http.h"
#include "swarm/msg.h"

#include <stdio.h>
#include <string.h>

static void test_verbs(void **state)
{
	(void)state;
	static const struct {
		const char *method, *path;
		int op;
	} cases[] = {
		{"GET", "/api/v1/pods", KS_OP_KUBE_LIST},
		{"GET", "/api/v1/namespaces", KS_OP_KUBE_LIST},
		{"GET", "/api/v1/namespaces/payments", KS_OP_KUBE_GET},
		{"GET", "/api/v1/namespaces/payments/pods?limit=500", KS_OP_KUBE_LIST},
		{"GET", "/api/v1/namespaces/payments/pods/web-1", KS_OP_KUBE_GET},
		{"GET", "/api/v1/namespaces/payments/pods/web-1/log?previous=true", KS_OP_KUBE_GET},
		{"GET", "/apis/apps/v1/deployments", KS_OP_KUBE_LIST},
		{"GET", "/apis/apps/v1/namespaces/shop/deployments/web", KS_OP_KUBE_GET},
		{"GET", "/apis/karpenter.sh/v1/nodepools/general", KS_OP_KUBE_GET},
		{"GET", "/apis/apps/v1/namespaces/shop/deployments?watch=1&resourceVersion=5",
		 KS_OP_KUBE_WATCH},
		{"GET", "/api/v1/pods?allowWatchBookmarks=true&watch=true", KS_OP_KUBE_WATCH},
		{"GET", "/version", KS_OP_KUBE_GET},
		{"GET", "/apis/apps/v1", KS_OP_KUBE_GET},
		{"POST", "/api/v1/namespaces/shop/pods", KS_OP_KUBE_CREATE},
		{"PUT", "/api/v1/namespaces/shop/configmaps/c", KS_OP_KUBE_UPDATE},
		{"PATCH", "/apis/apps/v1/namespaces/shop/deployments/web", KS_OP_KUBE_PATCH},
		{"DELETE", "/api/v1/namespaces/shop/pods/web-1", KS_OP_KUBE_DELETE},
		{"OPTIONS", "/api/v1/pods", KS_OP_KUBE_OTHER},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		if (kube_http_verb(cases[i].method, cases[i].path) != cases[i].op)
			fail_msg("case %zu: %s %s: %d, wanted %d", i, cases[i].method,
				 cases[i].path, kube_http_verb(cases[i].method, cases[i].path),
				 cases[i].op);
}

static void test_render(void **state)
{
	(void)state;
	ks_opstats_reset();
	for (int i = 0; i < 3; i++)
		ks_op_count(KS_OP_KUBE_LIST);
	ks_op_count(KS_OP_KUBE_PATCH);
	ks_op_count(KS_OP_WATCH_RESTART);
	ks_op_count(KS_OP_LLM_OK);
	ks_op_count(KS_OP_LLM_ERROR);
	ks_hist_observe(KS_HIST_LLM_SECONDS, 0.3);
	ks_hist_observe(KS_HIST_LLM_SECONDS, 4);
	ks_hist_observe(KS_HIST_RECONCILE_SECONDS, 12.5);
	ks_hist_observe(KS_HIST_RECONCILE_SECONDS, 1000); /* past the last bound: +Inf only */
	struct ks_buf out;
	ks_buf_init(&out, KS_BUF_UNLIMITED);
	struct ks_prom_writer pw;
	ks_prom_writer_init(&pw, &out);
	struct ks_err err = {0};
	assert_int_equal(dmetrics_render(&pw, NULL, NULL, 0, &err), 0);
	ks_prom_writer_release(&pw);
	static const char *const want[] = {
		"# TYPE kswarm_kube_requests_total counter\n",
		"kswarm_kube_requests_total{verb=\"get\"} 0\n",
		"kswarm_kube_requests_total{verb=\"list\"} 3\n",
		"kswarm_kube_requests_total{verb=\"patch\"} 1\n",
		"kswarm_kube_requests_total{verb=\"other\"} 0\n",
		"kswarm_kube_watch_restarts_total 1\n",
		"kswarm_llm_requests_total{result=\"ok\"} 1\n",
		"kswarm_llm_requests_total{result=\"error\"} 1\n",
		"# TYPE kswarm_llm_request_duration_seconds histogram\n",
		"kswarm_llm_request_duration_seconds_bucket{le=\"0.25\"} 0\n",
		"kswarm_llm_request_duration_seconds_bucket{le=\"0.5\"} 1\n",
		"kswarm_llm_request_duration_seconds_bucket{le=\"5\"} 2\n",
		"kswarm_llm_request_duration_seconds_bucket{le=\"+Inf\"} 2\n",
		"kswarm_llm_request_duration_seconds_sum 4.3\n",
		"kswarm_llm_request_duration_seconds_count 2\n",
		"kswarm_reconcile_seconds_bucket{le=\"15\"} 1\n",
		"kswarm_reconcile_seconds_bucket{le=\"300\"} 1\n",
		"kswarm_reconcile_seconds_bucket{le=\"+Inf\"} 2\n",
		"kswarm_reconcile_seconds_sum 1012.5\n",
		"kswarm_reconcile_seconds_count 2\n",
	};
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
		if (!strstr(out.data, want[i]))
			fail_msg("missing line %s in:\n%s", want[i], out.data);
	assert_null(strstr(out.data, "kswarm_notifications_total"));
	ks_buf_release(&out);
}

static void test_notifications(void **state)
{
	(void)state;
	/* a sink nobody listens on: the message is queued, its delivery fails; the repeat
	 * is a duplicate */
	struct notify_sink sinks[] = {{.kind = NOTIFY_WEBHOOK, .url = "http://127.0.0.1:9/x"}};
	struct notify_opts o = {.max_attempts = 1, .timeout_ms = 1000};
	struct notifier *n = NULL;
	struct ks_err err = {0};
	assert_int_equal(notifier_new(sinks, 1, &o, &n, &err), 0);
	struct swarm_msg m = {.type = SWARM_MSG_DIAGNOSIS, .ts = 1, .text = (char *)"broken"};
	snprintf(m.from, sizeof m.from, "diagnostics");
	notifier_on_message(&m, n);
	notifier_on_message(&m, n);
	assert_true(notifier_flush(n, 5000));
	struct ks_buf out;
	ks_buf_init(&out, KS_BUF_UNLIMITED);
	struct ks_prom_writer pw;
	ks_prom_writer_init(&pw, &out);
	assert_int_equal(dmetrics_render(&pw, n, sinks, 1, &err), 0);
	ks_prom_writer_release(&pw);
	assert_non_null(strstr(out.data, "kswarm_notifications_total{sink=\"0\",type=\"webhook\","
					 "result=\"failed\"} 1\n"));
	assert_non_null(strstr(out.data, "kswarm_notifications_total{sink=\"0\",type=\"webhook\","
					 "result=\"duplicate\"} 1\n"));
	assert_non_null(strstr(out.data, "kswarm_notifications_total{sink=\"0\",type=\"webhook\","
					 "result=\"delivered\"} 0\n"));
	ks_buf_release(&out);
	notifier_free(n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verbs),
		cmocka_unit_test(test_render),
		cmocka_unit_test(test_notifications),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
