/* test_sim_metrics.c — the simulator's metrics rendered from a fixed set of pods, nodes and
 * Services (no cluster): the series and label sets of cAdvisor, kube-state-metrics and the
 * HTTP metrics; counters that grow with simulated time and stay put when it does not; CPU
 * capped at the limit with throttling; 503s with no ready backend; promtool accepting the
 * exposition (`promtool check metrics`) and loading the backfill
 * (`promtool tsdb create-blocks-from openmetrics`); the address and duration parsers. */
#include "testutil.h"

#include "base/json.h"
#include "sim/sim_metrics.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define T0 1763733600 /* 2025-11-21T14:00:00Z */

static const char pods_json[] =
	"[{\"metadata\":{\"name\":\"web-7d9f-abcde\",\"namespace\":\"shop\",\"uid\":"
	"\"1111-2222\",\"labels\":{\"app\":\"web\",\"pod-template-hash\":\"7d9f\"},"
	"\"ownerReferences\":[{\"kind\":\"ReplicaSet\",\"name\":\"web-7d9f\",\"controller\":true}]},"
	"\"spec\":{\"nodeName\":\"ip-10-0-1-1.ec2.internal\",\"containers\":[{\"name\":\"app\","
	"\"image\":\"nginx:1.25\",\"resources\":{\"requests\":{\"cpu\":\"300m\",\"memory\":"
	"\"256Mi\"},\"limits\":{\"cpu\":\"50m\",\"memory\":\"512Mi\"}}}]},"
	"\"status\":{\"phase\":\"Running\",\"qosClass\":\"Burstable\",\"hostIP\":\"10.0.1.1\","
	"\"podIP\":\"10.1.0.2\",\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}],"
	"\"containerStatuses\":[{\"name\":\"app\",\"ready\":true,\"restartCount\":2,"
	"\"lastState\":{\"terminated\":{\"reason\":\"OOMKilled\"}},"
	"\"state\":{\"running\":{\"startedAt\":\"2025-11-21T13:00:00Z\"}},"
	"\"containerID\":\"containerd://abc123\"}]}},"
	/* a pending pod (no containers running) */
	"{\"metadata\":{\"name\":\"api-0\",\"namespace\":\"shop\",\"uid\":\"3333\","
	"\"labels\":{\"app\":\"api\"}},\"spec\":{\"containers\":[{\"name\":\"api\",\"image\":"
	"\"api:2\"}]},\"status\":{\"phase\":\"Pending\",\"qosClass\":\"BestEffort\","
	"\"containerStatuses\":[{\"name\":\"api\",\"restartCount\":0,\"state\":{\"waiting\":"
	"{\"reason\":\"ContainerCreating\"}}}]}}]";

static const char nodes_json[] =
	"[{\"metadata\":{\"name\":\"ip-10-0-1-1.ec2.internal\",\"labels\":{"
	"\"karpenter.sh/nodepool\":\"default\",\"karpenter.sh/capacity-type\":\"spot\","
	"\"node.kubernetes.io/instance-type\":\"m5.large\",\"topology.kubernetes.io/zone\":"
	"\"us-east-1a\",\"kubernetes.io/os\":\"linux\"}},\"spec\":{\"providerID\":"
	"\"aws:///us-east-1a/i-0abc\"},\"status\":{\"capacity\":{\"cpu\":\"2\",\"memory\":"
	"\"7689188Ki\",\"pods\":\"29\",\"ephemeral-storage\":\"20959212Ki\"},\"allocatable\":{"
	"\"cpu\":\"1930m\",\"memory\":\"7030Mi\",\"pods\":\"29\"},\"conditions\":[{\"type\":"
	"\"Ready\",\"status\":\"True\"},{\"type\":\"MemoryPressure\",\"status\":\"False\"}],"
	"\"addresses\":[{\"type\":\"InternalIP\",\"address\":\"127.0.0.1\"}],\"nodeInfo\":{"
	"\"kernelVersion\":\"6.1\",\"osImage\":\"Amazon Linux 2023\",\"kubeletVersion\":"
	"\"v1.20.2\",\"kubeProxyVersion\":\"v1.20.2\",\"containerRuntimeVersion\":"
	"\"containerd://1.7.20\",\"systemUUID\":\"ec2abc\"}}}]";

static const char svcs_json[] =
	"[{\"metadata\":{\"name\":\"web\",\"namespace\":\"shop\"},\"spec\":{\"selector\":{"
	"\"app\":\"web\"}}},"
	"{\"metadata\":{\"name\":\"api\",\"namespace\":\"shop\"},\"spec\":{\"selector\":{"
	"\"app\":\"api\"}}},"
	"{\"metadata\":{\"name\":\"kubernetes\",\"namespace\":\"default\"},\"spec\":{}}]";

/* A fixed curve: 200 millicores mean (demand above the 50m limit), 300 MiB. */
static void curve(void *ctx, const cJSON *pod, const char *container,
		  struct sim_usage_curve *out)
{
	(void)ctx;
	(void)pod;
	*out = (struct sim_usage_curve){.base_cpu_m = 200, .base_mem_mib = 300, .daily_amp = 0.2,
					.peak_hour = 14, .noise = 0.1, .seed = strlen(container)};
}

static struct sim_metrics_world *world(void)
{
	struct sim_metrics_world *w = sim_metrics_world_new(curve, NULL);
	const char *src[] = {pods_json, nodes_json, svcs_json};
	void (*add[])(struct sim_metrics_world *, const cJSON *) = {
		sim_metrics_world_add_pod, sim_metrics_world_add_node,
		sim_metrics_world_add_service};
	for (int i = 0; i < 3; i++) {
		cJSON *arr = ks_json_parse(src[i], strlen(src[i]), 1 << 20, NULL);
		assert_non_null(arr);
		const cJSON *o;
		cJSON_ArrayForEach(o, arr)
			add[i](w, o);
		cJSON_Delete(arr);
	}
	return w;
}

/* The value of the line starting with prefix (a whole series name with labels). */
static double value_of(const char *text, const char *series)
{
	size_t n = strlen(series);
	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, series, n) && p[n] == ' ')
			return strtod(p + n + 1, NULL);
	fail_msg("no series %s in:\n%s", series, text);
	return NAN;
}

#define CPU_WEB                                                                               \
	"container_cpu_usage_seconds_total{container=\"app\",cpu=\"total\",id=\"/kubepods.slice/" \
	"kubepods-burstable.slice/kubepods-burstable-pod1111_2222.slice/cri-containerd-abc123."  \
	"scope\",image=\"nginx:1.25\",name=\"abc123\",namespace=\"shop\",node=\"ip-10-0-1-1.ec2." \
	"internal\",pod=\"web-7d9f-abcde\"}"

static void series_and_labels(void **state)
{
	(void)state;
	struct sim_metrics_world *w = world();
	struct sim_metrics *m = sim_metrics_new();
	struct ks_buf b;
	ks_buf_init(&b, SIM_METRICS_MAX_BYTES);
	struct ks_err e = {0};
	assert_int_equal(sim_metrics_render(m, w, T0, &b, &e), 0);
	const char *t = b.data;
	/* started an hour before T0 with demand above the 50m limit: capped at 0.05 cores */
	double cpu = value_of(t, CPU_WEB);
	assert_true(fabs(cpu - 3600 * 0.05) < 1e-6);
	assert_contains(t, "container_cpu_usage_seconds_total{container=\"\",cpu=\"total\","
			   "id=\"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-"
			   "pod1111_2222.slice\",image=\"\",name=\"\",namespace=\"shop\"");
	assert_true(value_of(t, "container_cpu_cfs_periods_total{container=\"app\",id=\"/"
				"kubepods.slice/kubepods-burstable.slice/kubepods-burstable-"
				"pod1111_2222.slice/cri-containerd-abc123.scope\",image=\"nginx:"
				"1.25\",name=\"abc123\",namespace=\"shop\",node=\"ip-10-0-1-1.ec2."
				"internal\",pod=\"web-7d9f-abcde\"}") == 36000);
	assert_contains(t, "container_cpu_cfs_throttled_periods_total{container=\"app\"");
	assert_contains(t, "container_spec_cpu_quota{container=\"app\"");
	assert_contains(t, "} 5000\n");
	assert_contains(t, "container_spec_memory_limit_bytes{container=\"app\"");
	assert_contains(t, "} 536870912\n");
	/* pending pod: no cAdvisor series, kube-state-metrics ones */
	assert_null(strstr(t, "container_memory_working_set_bytes{container=\"api\""));
	assert_contains(t, "kube_pod_info{namespace=\"shop\",pod=\"web-7d9f-abcde\",uid=\"1111-"
			   "2222\",host_ip=\"10.0.1.1\",pod_ip=\"10.1.0.2\",node=\"ip-10-0-1-1.ec2."
			   "internal\",created_by_kind=\"ReplicaSet\",created_by_name=\"web-7d9f\","
			   "priority_class=\"\",host_network=\"false\"} 1\n");
	assert_contains(t, "kube_pod_owner{namespace=\"shop\",pod=\"api-0\",uid=\"3333\","
			   "owner_kind=\"<none>\",owner_name=\"<none>\",owner_is_controller="
			   "\"<none>\"} 1\n");
	assert_contains(t, "kube_pod_status_phase{namespace=\"shop\",pod=\"api-0\",uid=\"3333\","
			   "phase=\"Pending\"} 1\n");
	assert_contains(t, "kube_pod_status_phase{namespace=\"shop\",pod=\"api-0\",uid=\"3333\","
			   "phase=\"Running\"} 0\n");
	assert_contains(t, "kube_pod_container_resource_requests{namespace=\"shop\",pod=\"web-7d9f-"
			   "abcde\",uid=\"1111-2222\",container=\"app\",node=\"ip-10-0-1-1.ec2."
			   "internal\",resource=\"cpu\",unit=\"core\"} 0.3\n");
	assert_contains(t, "kube_pod_container_resource_limits{namespace=\"shop\",pod=\"web-7d9f-"
			   "abcde\",uid=\"1111-2222\",container=\"app\",node=\"ip-10-0-1-1.ec2."
			   "internal\",resource=\"memory\",unit=\"byte\"} 536870912\n");
	assert_contains(t, "kube_pod_container_status_restarts_total{namespace=\"shop\",pod=\"web-"
			   "7d9f-abcde\",uid=\"1111-2222\",container=\"app\"} 2\n");
	assert_contains(t, "kube_pod_container_status_waiting_reason{namespace=\"shop\",pod=\"api-"
			   "0\",uid=\"3333\",container=\"api\",reason=\"ContainerCreating\"} 1\n");
	assert_contains(t, "kube_pod_container_status_last_terminated_reason{namespace=\"shop\","
			   "pod=\"web-7d9f-abcde\",uid=\"1111-2222\",container=\"app\",reason="
			   "\"OOMKilled\"} 1\n");
	assert_contains(t, "kube_node_info{node=\"ip-10-0-1-1.ec2.internal\","
			   "container_runtime_version=\"containerd://1.7.20\",internal_ip="
			   "\"127.0.0.1\",kernel_version=\"6.1\"");
	assert_contains(t, "kube_node_labels{node=\"ip-10-0-1-1.ec2.internal\",label_karpenter_sh_"
			   "nodepool=\"default\",label_karpenter_sh_capacity_type=\"spot\","
			   "label_node_kubernetes_io_instance_type=\"m5.large\","
			   "label_topology_kubernetes_io_zone=\"us-east-1a\"} 1\n");
	assert_contains(t, "kube_node_status_allocatable{node=\"ip-10-0-1-1.ec2.internal\","
			   "resource=\"cpu\",unit=\"core\"} 1.93\n");
	assert_contains(t, "kube_node_status_capacity{node=\"ip-10-0-1-1.ec2.internal\","
			   "resource=\"ephemeral_storage\",unit=\"byte\"} 21462233088\n");
	assert_contains(t, "kube_node_status_condition{node=\"ip-10-0-1-1.ec2.internal\","
			   "condition=\"MemoryPressure\",status=\"false\"} 1\n");
	assert_contains(t, "sim_time_seconds 1763733600\n");
	/* Services: first exposition starts at 0; the one without a selector is absent */
	assert_contains(t, "http_requests_total{code=\"200\",namespace=\"shop\",service=\"web\"} 0\n");
	assert_null(strstr(t, "service=\"kubernetes\""));

	/* ten simulated minutes later */
	ks_buf_reset(&b);
	assert_int_equal(sim_metrics_render(m, w, T0 + 600, &b, &e), 0);
	t = b.data;
	assert_true(fabs(value_of(t, CPU_WEB) - 4200 * 0.05) < 1e-6);
	double ok = value_of(t, "http_requests_total{code=\"200\",namespace=\"shop\","
				"service=\"web\"}");
	assert_true(ok > 600 * 20 * 0.3 && ok < 600 * 20 * 2);
	/* api has no ready backend: every request a 503, answered under 5 ms */
	double unavailable = value_of(t, "http_requests_total{code=\"503\",namespace=\"shop\","
					 "service=\"api\"}");
	if (!(unavailable > 1000))
		fail_msg("503s: %g", unavailable);
	assert_true(value_of(t, "http_requests_total{code=\"200\",namespace=\"shop\","
				"service=\"api\"}") == 0);
	assert_true(value_of(t, "http_request_duration_seconds_bucket{namespace=\"shop\","
				"service=\"api\",le=\"0.005\"}") == unavailable);
	assert_true(value_of(t, "http_request_duration_seconds_count{namespace=\"shop\","
				"service=\"web\"}") >= ok);
	/* the throttled backend (demand 4x its limit) answers slowly */
	assert_true(value_of(t, "http_request_duration_seconds_bucket{namespace=\"shop\","
				"service=\"web\",le=\"0.1\"}") < ok / 2);

	/* time standing still (or going back) moves no counter */
	struct ks_buf b2;
	ks_buf_init(&b2, SIM_METRICS_MAX_BYTES);
	assert_int_equal(sim_metrics_render(m, w, T0 + 300, &b2, &e), 0);
	assert_true(value_of(b2.data, CPU_WEB) == value_of(b.data, CPU_WEB));
	ks_buf_release(&b2);
	ks_buf_release(&b);
	sim_metrics_free(m);
	sim_metrics_world_free(w);
}

static bool have_promtool(void)
{
	return system("command -v promtool >/dev/null 2>&1") == 0;
}

static void run_ok(const char *cmd, const char *outpath)
{
	int rc = system(cmd);
	struct ks_buf b;
	ks_buf_init(&b, KS_BUF_UNLIMITED);
	struct ks_err e = {0};
	ks_buf_read_file(&b, outpath, &e);
	if (rc != 0)
		fail_msg("%s (exit %d): %s", cmd, rc, b.data);
	ks_buf_release(&b);
}

static void promtool_accepts(void **state)
{
	(void)state;
	if (!have_promtool())
		skip();
	struct sim_metrics_world *w = world();
	struct sim_metrics *m = sim_metrics_new();
	struct ks_buf b;
	ks_buf_init(&b, SIM_METRICS_MAX_BYTES);
	struct ks_err e = {0};
	assert_int_equal(sim_metrics_render(m, w, T0, &b, &e), 0);
	char *dir = tu_mkdtemp();
	char path[512], out[512], cmd[2048];
	snprintf(path, sizeof path, "%s/metrics.txt", dir);
	snprintf(out, sizeof out, "%s/out.txt", dir);
	tu_write_file(path, b.data);
	snprintf(cmd, sizeof cmd, "promtool check metrics < '%s' > '%s' 2>&1", path, out);
	run_ok(cmd, out);
	/* promtool prints lint findings and still exits 0: there must be none */
	ks_buf_reset(&b);
	assert_int_equal(ks_buf_read_file(&b, out, &e), 0);
	assert_int_equal(b.len, 0);

	/* two hours of backfill every 5 minutes */
	snprintf(path, sizeof path, "%s/backfill.om", dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(sim_metrics_backfill_write(w, T0 - 7200, T0, 300, f, NULL, NULL, &e), 0);
	fclose(f);
	ks_buf_reset(&b);
	assert_int_equal(ks_buf_read_file(&b, path, &e), 0);
	assert_contains(b.data, "# TYPE container_cpu_usage_seconds counter\n");
	assert_contains(b.data, CPU_WEB " 0 1763726400\n");
	assert_contains(b.data, CPU_WEB " 360 1763733600\n");
	assert_true(b.len > 6 && !strcmp(b.data + b.len - 6, "# EOF\n"));
	snprintf(cmd, sizeof cmd,
		 "promtool tsdb create-blocks-from openmetrics '%s' '%s/data' > '%s' 2>&1", path,
		 dir, out);
	run_ok(cmd, out);
	ks_buf_release(&b);
	tu_rmtree(dir);
	free(dir);
	sim_metrics_free(m);
	sim_metrics_world_free(w);
}

static void parsers(void **state)
{
	(void)state;
	uint32_t ip;
	uint16_t port;
	struct ks_err e = {0};
	assert_int_equal(sim_metrics_parse_listen("127.0.0.1:9100", &ip, &port, &e), 0);
	assert_int_equal(port, 9100);
	assert_int_equal(sim_metrics_parse_listen("localhost:0", &ip, &port, &e), 0);
	assert_int_equal(port, 0);
	assert_int_equal(sim_metrics_parse_listen("127.1.2.3:80", &ip, &port, &e), 0);
	assert_int_equal(sim_metrics_parse_listen("0.0.0.0:9100", &ip, &port, &e), KS_EINVAL);
	assert_contains(e.msg, "loopback only");
	assert_int_equal(sim_metrics_parse_listen("10.0.0.1:9100", &ip, &port, &e), KS_EINVAL);
	assert_int_equal(sim_metrics_parse_listen(":9100", &ip, &port, &e), KS_EINVAL);
	assert_int_equal(sim_metrics_parse_listen("127.0.0.1:65536", &ip, &port, &e), KS_EINVAL);
	assert_int_equal(sim_metrics_parse_listen("127.0.0.1:", &ip, &port, &e), KS_EINVAL);
	assert_int_equal(sim_metrics_parse_listen("127.0.0.1:9x", &ip, &port, &e), KS_EINVAL);
	int64_t d;
	assert_int_equal(sim_metrics_parse_duration("14d", &d, &e), 0);
	assert_int_equal(d, 14 * 86400);
	assert_int_equal(sim_metrics_parse_duration("5m", &d, &e), 0);
	assert_int_equal(d, 300);
	assert_int_equal(sim_metrics_parse_duration("90", &d, &e), 0);
	assert_int_equal(d, 90);
	assert_int_equal(sim_metrics_parse_duration("36h", &d, &e), 0);
	assert_int_equal(d, 36 * 3600);
	assert_int_equal(sim_metrics_parse_duration("2w", &d, &e), 0);
	assert_int_equal(d, 14 * 86400);
	assert_int_equal(sim_metrics_parse_duration("1h30m", &d, &e), 0);
	assert_int_equal(d, 5400);
	assert_int_equal(sim_metrics_parse_duration("1.5h", &d, &e), 0);
	assert_int_equal(d, 5400);
	const char *bad[] = {"", "0", "d", "5x", "5mm", "-5m", "99999999999d", "0.5s", "1.5s"};
	for (size_t i = 0; i < KS_ARRAY_LEN(bad); i++)
		assert_int_equal(sim_metrics_parse_duration(bad[i], &d, &e), KS_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(series_and_labels),
		cmocka_unit_test(promtool_accepts),
		cmocka_unit_test(parsers),
	};
	return cmocka_run_group_tests_name("sim_metrics", tests, NULL, NULL);
}
