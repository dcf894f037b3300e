/* sim_metrics_render.c — how long one exposition of the simulator's metrics takes.
 *   sim_metrics_render [--pods N] [--seed S]
 * Builds N pods (default 10,000; Deployments of 10 replicas, one container each with
 * requests and limits, running on N/30 nodes, one Service per Deployment), as the simulator's
 * kubelet leaves them, into a sim_metrics_world, then renders: once at first sight (every
 * container started an hour earlier, so its CPU counter integrates an hour), once a simulated
 * second later (the steady state at time scale 1) and once 1440 simulated seconds later (one
 * render per real second at --time-scale 1440). Prints wall and CPU milliseconds and the
 * exposition's size for each, plus the world build: from cJSON trees, and as the simulator
 * does it each time, decoding every object from the informers' object store.
 * One line of JSON, then a summary. */
#include "base/common.h"
#include "benchclock.h"
#include "base/hashmap.h"
#include "base/json.h"
#include "base/timeutil.h"
#include "kube/objstore.h"
#include "sim/sim_metrics.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/* The default simulator curve's shape: a third of the CPU request, half the memory one. */
static void curve(void *ctx, const cJSON *pod, const char *container,
		  struct sim_usage_curve *out)
{
	(void)ctx;
	const char *name = ks_json_str_or(pod, "metadata.name", "");
	*out = (struct sim_usage_curve){.base_cpu_m = 100, .base_mem_mib = 128, .daily_amp = 0.3,
					.peak_hour = 14, .noise = 0.1,
					.seed = ks_hash(name, strlen(name)) ^ strlen(container)};
}

static cJSON *make_pod(long i, long nodes, uint64_t seed, const char *started)
{
	char buf[256];
	long dep = i / 10;
	cJSON *p = cJSON_CreateObject();
	cJSON *m = cJSON_AddObjectToObject(p, "metadata");
	snprintf(buf, sizeof buf, "app-%ld-5d8f7c9b4-%05lx", dep, (unsigned long)((i * 2654435761u
		 + seed) & 0xfffff));
	cJSON_AddStringToObject(m, "name", buf);
	snprintf(buf, sizeof buf, "team-%ld", dep % 40);
	cJSON_AddStringToObject(m, "namespace", buf);
	snprintf(buf, sizeof buf, "%08lx-1111-4222-8333-%012lx", i, (unsigned long)seed);
	cJSON_AddStringToObject(m, "uid", buf);
	cJSON *l = cJSON_AddObjectToObject(m, "labels");
	snprintf(buf, sizeof buf, "app-%ld", dep);
	cJSON_AddStringToObject(l, "app", buf);
	cJSON_AddStringToObject(l, "pod-template-hash", "5d8f7c9b4");
	cJSON *refs = cJSON_AddArrayToObject(m, "ownerReferences");
	cJSON *r = cJSON_CreateObject();
	cJSON_AddStringToObject(r, "kind", "ReplicaSet");
	snprintf(buf, sizeof buf, "app-%ld-5d8f7c9b4", dep);
	cJSON_AddStringToObject(r, "name", buf);
	cJSON_AddBoolToObject(r, "controller", true);
	cJSON_AddItemToArray(refs, r);
	cJSON *spec = cJSON_AddObjectToObject(p, "spec");
	snprintf(buf, sizeof buf, "ip-10-0-%ld-%ld.ec2.internal", (i % nodes) / 250, (i % nodes) % 250);
	cJSON_AddStringToObject(spec, "nodeName", buf);
	cJSON *cs = cJSON_AddArrayToObject(spec, "containers");
	cJSON *c = cJSON_CreateObject();
	cJSON_AddStringToObject(c, "name", "app");
	cJSON_AddStringToObject(c, "image", "registry.example.com/team/app:1.4.2");
	cJSON *res = cJSON_AddObjectToObject(c, "resources");
	cJSON *rq = cJSON_AddObjectToObject(res, "requests");
	cJSON_AddStringToObject(rq, "cpu", "250m");
	cJSON_AddStringToObject(rq, "memory", "256Mi");
	cJSON *lm = cJSON_AddObjectToObject(res, "limits");
	cJSON_AddStringToObject(lm, "cpu", "500m");
	cJSON_AddStringToObject(lm, "memory", "512Mi");
	cJSON_AddItemToArray(cs, c);
	cJSON *st = cJSON_AddObjectToObject(p, "status");
	cJSON_AddStringToObject(st, "phase", "Running");
	cJSON_AddStringToObject(st, "qosClass", "Burstable");
	cJSON_AddStringToObject(st, "hostIP", "10.0.0.1");
	cJSON_AddStringToObject(st, "podIP", "10.1.0.2");
	cJSON *conds = cJSON_AddArrayToObject(st, "conditions");
	cJSON *rc = cJSON_CreateObject();
	cJSON_AddStringToObject(rc, "type", "Ready");
	cJSON_AddStringToObject(rc, "status", "True");
	cJSON_AddItemToArray(conds, rc);
	cJSON *css = cJSON_AddArrayToObject(st, "containerStatuses");
	cJSON *x = cJSON_CreateObject();
	cJSON_AddStringToObject(x, "name", "app");
	cJSON_AddNumberToObject(x, "restartCount", 0);
	snprintf(buf, sizeof buf, "containerd://%016llx%016lx%032lx",
		 (unsigned long long)seed, i, (unsigned long)i * 7919);
	cJSON_AddStringToObject(x, "containerID", buf);
	cJSON_AddStringToObject(cJSON_AddObjectToObject(cJSON_AddObjectToObject(x, "state"),
							 "running"),
				"startedAt", started);
	cJSON_AddItemToArray(css, x);
	return p;
}

static cJSON *make_node(long i)
{
	char buf[128];
	cJSON *n = cJSON_CreateObject();
	cJSON *m = cJSON_AddObjectToObject(n, "metadata");
	snprintf(buf, sizeof buf, "ip-10-0-%ld-%ld.ec2.internal", i / 250, i % 250);
	cJSON_AddStringToObject(m, "name", buf);
	cJSON *l = cJSON_AddObjectToObject(m, "labels");
	cJSON_AddStringToObject(l, "karpenter.sh/nodepool", "default");
	cJSON_AddStringToObject(l, "node.kubernetes.io/instance-type", "m5.2xlarge");
	cJSON_AddStringToObject(l, "topology.kubernetes.io/zone", "us-east-1a");
	cJSON *st = cJSON_AddObjectToObject(n, "status");
	cJSON *cap = cJSON_AddObjectToObject(st, "capacity");
	cJSON_AddStringToObject(cap, "cpu", "8");
	cJSON_AddStringToObject(cap, "memory", "31000Mi");
	cJSON_AddStringToObject(cap, "pods", "58");
	cJSON *al = cJSON_AddObjectToObject(st, "allocatable");
	cJSON_AddStringToObject(al, "cpu", "7910m");
	cJSON_AddStringToObject(al, "memory", "29000Mi");
	cJSON_AddStringToObject(al, "pods", "58");
	cJSON *conds = cJSON_AddArrayToObject(st, "conditions");
	cJSON *c = cJSON_CreateObject();
	cJSON_AddStringToObject(c, "type", "Ready");
	cJSON_AddStringToObject(c, "status", "True");
	cJSON_AddItemToArray(conds, c);
	return n;
}

static cJSON *make_service(long dep)
{
	char buf[64];
	cJSON *s = cJSON_CreateObject();
	cJSON *m = cJSON_AddObjectToObject(s, "metadata");
	snprintf(buf, sizeof buf, "app-%ld", dep);
	cJSON_AddStringToObject(m, "name", buf);
	cJSON_AddStringToObject(cJSON_AddObjectToObject(cJSON_AddObjectToObject(s, "spec"),
							 "selector"),
				"app", buf);
	snprintf(buf, sizeof buf, "team-%ld", dep % 40);
	cJSON_AddStringToObject(m, "namespace", buf);
	return s;
}

int main(int argc, char **argv)
{
	long pods = 10000;
	uint64_t seed = 1;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--pods"))
			pods = atol(argv[i + 1]);
		else if (!strcmp(argv[i], "--seed"))
			seed = strtoull(argv[i + 1], NULL, 10);
	}
	if (pods <= 0) {
		fprintf(stderr, "usage: sim_metrics_render [--pods N] [--seed S]\n");
		return 2;
	}
	const int64_t t = 1763733600;
	char started[32];
	ks_time_format_rfc3339(t - 3600, started, sizeof started);
	long nodes = pods / 30 + 1;
	double w0 = bench_wall_ms(), c0 = bench_cpu_ms();
	struct sim_metrics_world *w = sim_metrics_world_new(curve, NULL);
	for (long i = 0; i < pods; i++) {
		cJSON *p = make_pod(i, nodes, seed, started);
		sim_metrics_world_add_pod(w, p);
		cJSON_Delete(p);
	}
	for (long i = 0; i < nodes; i++) {
		cJSON *n = make_node(i);
		sim_metrics_world_add_node(w, n);
		cJSON_Delete(n);
	}
	for (long d = 0; d < (pods + 9) / 10; d++) {
		cJSON *s = make_service(d);
		sim_metrics_world_add_service(w, s);
		cJSON_Delete(s);
	}
	double build_wall = bench_wall_ms() - w0, build_cpu = bench_cpu_ms() - c0;

	/* The simulator's way: every pod interned in an object store, decoded at each render. */
	struct kube_objstore *st = kube_objstore_new();
	uint32_t *ids = ks_calloc((size_t)pods, sizeof *ids);
	for (long i = 0; i < pods; i++) {
		cJSON *p = make_pod(i, nodes, seed, started);
		ids[i] = kube_objstore_intern(st, p);
		cJSON_Delete(p);
	}
	double s0 = bench_wall_ms();
	struct sim_metrics_world *w2 = sim_metrics_world_new(curve, NULL);
	for (long i = 0; i < pods; i++) {
		cJSON *p = kube_objstore_to_cjson(st, ids[i]);
		sim_metrics_world_add_pod(w2, p);
		cJSON_Delete(p);
	}
	double store_wall = bench_wall_ms() - s0;
	sim_metrics_world_free(w2);
	for (long i = 0; i < pods; i++)
		kube_objstore_unref(st, ids[i]);
	free(ids);
	kube_objstore_free(st);
	struct sim_metrics *m = sim_metrics_new();
	struct ks_buf b;
	ks_buf_init(&b, SIM_METRICS_MAX_BYTES);
	struct ks_err e = {0};
	static const char *const what[] = {"first", "steady_1s", "steady_1440s"};
	const int64_t at[] = {t, t + 1, t + 1 + 1440};
	double rw[3], rc[3];
	size_t bytes[3];
	for (int k = 0; k < 3; k++) {
		ks_buf_reset(&b);
		double a = bench_wall_ms(), ac = bench_cpu_ms();
		if (sim_metrics_render(m, w, at[k], &b, &e)) {
			fprintf(stderr, "render: %s\n", e.msg);
			return 1;
		}
		rw[k] = bench_wall_ms() - a;
		rc[k] = bench_cpu_ms() - ac;
		bytes[k] = b.len;
	}
	printf("{\"bench\":\"sim_metrics_render\",\"pods\":%ld,\"nodes\":%ld,\"services\":%ld,"
	       "\"world_ms\":%.1f,\"world_cpu_ms\":%.1f,\"pods_from_store_ms\":%.1f",
	       pods, nodes, (pods + 9) / 10, build_wall, build_cpu, store_wall);
	for (int k = 0; k < 3; k++)
		printf(",\"%s_ms\":%.1f,\"%s_cpu_ms\":%.1f,\"%s_bytes\":%zu", what[k], rw[k], what[k],
		       rc[k], what[k], bytes[k]);
	printf("}\n");
	printf("%ld pods, %ld nodes, %ld services: world %.0f ms (pods from the object store "
	       "%.0f ms); render first %.0f ms, steady (1 s) %.0f ms, steady (1440 s) %.0f ms; "
	       "%.1f MiB a exposition\n",
	       pods, nodes, (pods + 9) / 10, build_wall, store_wall, rw[0], rw[1], rw[2],
	       (double)bytes[1] / (1024.0 * 1024.0));
	ks_buf_release(&b);
	sim_metrics_free(m);
	sim_metrics_world_free(w);
	return 0;
}
