/* test_kubelet_logs.c — pod logs through the real API server from a simulator run in this
 * process, read with kswarm's own client (kube_pod_logs): the startup lines, tail and
 * timestamps, --previous before and after a restart (the restart played on the log store as
 * a scenario would), the kubelet's error relayed with its status, and a deleted pod's logs
 * dropped. Each run uses a namespace and node name prefix of its own. */
#include "itest.h"

#include "cost/catalog.h"
#include "sim/sim_internal.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

struct fx {
	struct kube_client c;
	struct cost_catalog *cat;
	struct sim *s;
	char ns[64], node[128];
};

static int setup(void **state)
{
	struct fx *f = ks_calloc(1, sizeof *f);
	struct ks_err err = {0};
	it_connect(&f->c, NULL, 50);
	char *path = cost_catalog_default_path();
	if (cost_catalog_load(path, &f->cat, &err))
		fail_msg("catalog: %s", err.msg);
	free(path);
	char prefix[32];
	snprintf(prefix, sizeof prefix, "kst-kl-%d-", (int)getpid());
	snprintf(f->ns, sizeof f->ns, "kst-kubelet-logs-%d", (int)getpid());
	struct sim_opts o = {.name_prefix = prefix, .seed = (uint64_t)getpid()};
	assert_rc(sim_new(&f->c, f->cat, &o, &f->s, &err), 0, &err);
	assert_rc(sim_serve_kubelet(f->s, &err), 0, &err);
	assert_true(f->s->kubelet_port > 0 && f->s->kubelet_port != 10250);
	struct sim_node_spec spec = {.instance_type = "m5.large", .nodepool = "kst-kl",
				     .capacity_type = "on-demand", .zone = "us-east-1a"};
	assert_rc(sim_add_node(f->s, &spec, f->node, sizeof f->node, &err), 0, &err);
	assert_int_equal(sim_serve_kubelet(f->s, &err), 0); /* already serving: a no-op */
	assert_rc(sim_start(f->s, &err), 0, &err);
	it_create_ns(&f->c, f->ns);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	it_delete_ns(&f->c, f->ns);
	sim_remove_nodes(f->s, NULL);
	sim_free(f->s);
	cost_catalog_free(f->cat);
	kube_client_close(&f->c);
	free(f);
	return 0;
}

/* Step the simulator until the pod's phase is want (or it is gone when want is NULL). */
static void step_until(struct fx *f, const char *pod, const char *want)
{
	for (int i = 0; i < 150; i++) {
		sim_step(f->s, 100);
		cJSON *o = NULL;
		int rc = kube_get(&f->c, &KUBE_RES_PODS, f->ns, pod, &o, NULL);
		const char *phase = ks_json_str_or(o, "status.phase", "");
		bool done = want ? rc == 0 && strcmp(phase, want) == 0 : rc == KS_ENOTFOUND;
		cJSON_Delete(o);
		if (done)
			return;
	}
	fail_msg("pod %s/%s never reached %s", f->ns, pod, want ? want : "deletion");
}

static char *logs(struct fx *f, const char *pod, const struct kube_log_opts *o, int want_rc,
		  struct ks_err *err)
{
	struct ks_buf b;
	ks_buf_init(&b, 1u << 20);
	int rc = kube_pod_logs(&f->c, f->ns, pod, o, &b, err);
	if (rc != want_rc)
		fail_msg("logs of %s: %d (%s), want %d", pod, rc, err->msg, want_rc);
	return ks_buf_detach(&b);
}

static void logs_through_the_api_server(void **state)
{
	struct fx *f = *state;
	struct ks_err err = {0};
	char *body = ks_asprintf(
		"{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"api\"},"
		"\"spec\":{\"nodeName\":\"%s\",\"containers\":[{\"name\":\"app\",\"image\":"
		"\"ghcr.io/acme/api:3.2\",\"ports\":[{\"containerPort\":8443}]}]}}",
		f->node);
	cJSON *pod = it_parse(body);
	free(body);
	assert_rc(kube_create(&f->c, &KUBE_RES_PODS, f->ns, pod, NULL, &err), 0, &err);
	cJSON_Delete(pod);
	step_until(f, "api", "Running");

	struct kube_log_opts o = {.container = "app", .tail_lines = -1};
	char *got = logs(f, "api", &o, 0, &err);
	char *want = ks_asprintf("starting app (image ghcr.io/acme/api:3.2) in pod %s/api\n"
				 "listening on :8443\n", f->ns);
	assert_string_equal(got, want);
	free(got);
	free(want);
	/* One container: the API server picks it without a name. */
	struct kube_log_opts unnamed = {.tail_lines = 1, .timestamps = true};
	got = logs(f, "api", &unnamed, 0, &err);
	static const char shape[] = "2026-11-21T10:00:00.000000000Z listening on :8443\n";
	assert_int_equal(strlen(got), strlen(shape));
	int64_t ns;
	assert_int_equal(ks_time_parse_rfc3339(got, 30, &ns, NULL), 0);
	assert_true(ns / 1000000 <= ks_time_now_ms() && ns / 1000000 > ks_time_now_ms() - 300000);
	assert_string_equal(got + 30, " listening on :8443\n");
	free(got);

	/* --previous: the kubelet's 400, relayed by the API server. */
	struct kube_log_opts prev = {.container = "app", .tail_lines = -1, .previous = true};
	got = logs(f, "api", &prev, KS_EINVAL, &err);
	free(got);
	assert_int_equal(err.http_status, 400);
	assert_contains(err.msg, "previous terminated container \"app\" in pod \"api\" not found");

	/* A restart, as a crash-loop scenario plays it: the old lines become the previous
	 * instance. */
	sim_logs_append(f->s->logs, f->ns, "api", "app", ks_time_now_ms(),
			"panic: runtime error: invalid memory address");
	sim_logs_restart(f->s->logs, f->ns, "api", "app");
	sim_logs_append(f->s->logs, f->ns, "api", "app", ks_time_now_ms(), "starting again");
	got = logs(f, "api", &prev, 0, &err);
	assert_contains(got, "listening on :8443\npanic: runtime error: invalid memory address\n");
	free(got);
	got = logs(f, "api", &o, 0, &err);
	assert_string_equal(got, "starting again\n");
	free(got);

	/* Deleted: the pod goes (the simulated kubelet finishes it) and so do its logs. */
	struct kube_delete_opts d = {.grace_period_s = 1};
	assert_rc(kube_delete(&f->c, &KUBE_RES_PODS, f->ns, "api", &d, NULL, &err), 0, &err);
	step_until(f, "api", NULL);
	for (int i = 0; i < 20; i++)
		sim_step(f->s, 50); /* the informer's delete event */
	struct ks_buf b;
	ks_buf_init(&b, 1024);
	struct sim_logs_query q = {.tail_lines = -1};
	assert_int_equal(sim_logs_render(f->s->logs, f->ns, "api", "app", &q, &b, NULL),
			 KS_ENOTFOUND);
	ks_buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(logs_through_the_api_server, setup, teardown),
	};
	return cmocka_run_group_tests_name("kubelet_logs", tests, NULL, NULL);
}
