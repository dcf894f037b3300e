/* an_usage.c — "Usage": what the containers of a workload use against what they request and
 * may use, from the metrics in the world (world_fetch_metrics or a snapshot's). Runs only
 * when metrics were read.
 *
 * Per workload (Deployment, StatefulSet, DaemonSet), over its running pods, reading the
 * template's containers once and each pod only by name (no pod is decoded):
 *   IdleReplicas (Deployment, StatefulSet) — the replicas' summed p95 CPU is under
 *     IDLE_RATIO of what they request and the load needs at most half of them:
 *     needed = ceil(sum p95 / (request per replica * TARGET_UTIL)), raised to the replica
 *     count before the last scale-up when the events tell it. The fix is a merge patch of
 *     spec.replicas, or of the HPA's spec.minReplicas when an HPA scales the workload (no
 *     finding when the HPA's minimum is already low: it scaled up for its own metric).
 *   CPUThrottled — a container throttled in over THROTTLED_RATIO of its CFS periods.
 *   MemoryNearLimit — a container's peak working set over MEM_NEAR of its memory limit.
 * Both lower-severity, with a strategic-merge patch of the container's limit. */
#include "base/common.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/json.h"
#include "diag/capacity.h"
#include "diag/analyzers.h"
#include "diag/diag.h"
#include "world/promfetch.h"

#define AN "Usage"
#define IDLE_RATIO 0.3
#define TARGET_UTIL 0.7
#define MIN_IDLE_REPLICAS 2
#define THROTTLED_RATIO 0.25
#define MEM_NEAR 0.9
#define MAX_CONTAINERS 16

struct ctr_stats {
	const char *name;
	int64_t req_cpu_m, req_mem, lim_cpu_m, lim_mem; /* -1: unset */
	double p95_sum;     /* over the pods with a value */
	size_t p95_pods;
	double avg_sum;
	double mem_max;     /* the highest of the pods */
	const char *mem_max_pod;
	double throttled_max;
	const char *throttled_pod;
};

struct wl_stats {
	struct diag_ctx *cx;
	struct world *w;
	const char *ns;
	struct ctr_stats c[MAX_CONTAINERS];
	size_t nc;
	size_t pods, pods_with_metrics;
};

static int visit_pod(void *ctx, struct wobj o)
{
	struct wl_stats *s = ctx;
	if (!wobj_str_eq(o, "status.phase", "Running"))
		return 0;
	const char *pod = wobj_name(s->w, o);
	s->pods++;
	bool any = false;
	for (size_t i = 0; i < s->nc; i++) {
		struct ctr_stats *c = &s->c[i];
		double v;
		if (world_metric(s->w, WM_CPU_P95_CORES, s->ns, pod, c->name, &v) ||
		    world_metric(s->w, WM_CPU_AVG_CORES, s->ns, pod, c->name, &v)) {
			c->p95_sum += v;
			c->p95_pods++;
			any = true;
		}
		if (world_metric(s->w, WM_CPU_AVG_CORES, s->ns, pod, c->name, &v))
			c->avg_sum += v;
		if (world_metric(s->w, WM_MEM_MAX_BYTES, s->ns, pod, c->name, &v) &&
		    v > c->mem_max) {
			c->mem_max = v;
			c->mem_max_pod = pod;
		}
		if (world_metric(s->w, WM_CPU_THROTTLED_RATIO, s->ns, pod, c->name, &v) &&
		    v > c->throttled_max) {
			c->throttled_max = v;
			c->throttled_pod = pod;
		}
	}
	s->pods_with_metrics += any;
	return 0;
}

static int visit_rs(void *ctx, struct wobj o)
{
	struct wl_stats *s = ctx;
	world_owned_by(s->w, WK_POD, wobj_uid(s->w, o), visit_pod, s);
	return 0;
}

static void read_template(struct wl_stats *s, const cJSON *wl)
{
	const cJSON *c;
	cJSON_ArrayForEach(c, ks_json_get(wl, "spec.template.spec.containers")) {
		if (s->nc == MAX_CONTAINERS)
			break;
		struct ctr_stats *cs = &s->c[s->nc++];
		const cJSON *req = ks_json_get(c, "resources.requests");
		const cJSON *lim = ks_json_get(c, "resources.limits");
		*cs = (struct ctr_stats){
			.name = ks_json_str_or(c, "name", ""),
			.req_cpu_m = cap_qty_milli(ks_json_child(req, "cpu"), -1),
			.req_mem = cap_qty_value(ks_json_child(req, "memory"), -1),
			.lim_cpu_m = cap_qty_milli(ks_json_child(lim, "cpu"), -1),
			.lim_mem = cap_qty_value(ks_json_child(lim, "memory"), -1),
		};
	}
}

/* ---- the scale history from the Deployment's events ---- */

struct scale_hist {
	struct world *w;
	int64_t replicas;
	int64_t previous;   /* the count before the scale-up to replicas, or -1 */
	int64_t last_count; /* of the event seen last */
	struct wobj scale_up;
};

static int64_t scaled_to(const char *msg)
{
	const char *p = strstr(msg, "Scaled ");
	const char *to = p ? strstr(p, " to ") : NULL;
	if (!to)
		return -1;
	char *end = NULL;
	long long n = strtoll(to + 4, &end, 10);
	return end != to + 4 ? n : -1;
}

static int visit_scale_event(void *ctx, struct wobj e)
{
	struct scale_hist *h = ctx;
	if (!wobj_str_eq(e, "reason", "ScalingReplicaSet"))
		return 0;
	const cJSON *ev = world_json(h->w, e);
	const char *msg = ks_json_str_or(ev, "message", "");
	int64_t n = scaled_to(msg);
	if (n < 0)
		return 0;
	if (n == h->replicas && strstr(msg, "Scaled up") && h->last_count >= 0 &&
	    h->last_count < n) {
		h->previous = h->last_count;
		h->scale_up = e;
	} else if (n == h->replicas && strstr(msg, "Scaled up") && !wobj_ok(h->scale_up)) {
		h->scale_up = e;
	}
	h->last_count = n;
	return 0;
}

struct hpa_find {
	const char *kind, *name;
	struct wobj hpa;
};

static int visit_hpa(void *ctx, struct wobj o)
{
	struct hpa_find *h = ctx;
	if (wobj_str_eq(o, "spec.scaleTargetRef.kind", h->kind) &&
	    wobj_str_eq(o, "spec.scaleTargetRef.name", h->name))
		h->hpa = o;
	return 0;
}

static cJSON *labels_of(const char *ns, const char *kind, const char *name)
{
	cJSON *l = cJSON_CreateObject();
	cJSON_AddStringToObject(l, "namespace", ns);
	cJSON_AddStringToObject(l, kind, name);
	return l;
}

static void idle_replicas(struct wl_stats *s, struct wobj wo, const cJSON *wl)
{
	struct world *w = s->w;
	int64_t replicas = ks_json_int_or(wl, "spec.replicas", 1);
	struct cap_res per;
	cap_pod_requests(ks_json_get(wl, "spec.template"), &per);
	if (per.cpu_m <= 0 || s->pods_with_metrics < 3 || replicas < 3)
		return;
	double p95 = 0, avg = 0;
	for (size_t i = 0; i < s->nc; i++) {
		p95 += s->c[i].p95_sum;
		avg += s->c[i].avg_sum;
	}
	/* Pods without metrics count as using what the measured ones use on average. */
	p95 *= (double)s->pods / (double)s->pods_with_metrics;
	double requested = (double)per.cpu_m / 1000.0 * (double)s->pods;
	if (p95 >= IDLE_RATIO * requested)
		return;
	int64_t needed = (int64_t)ceil(p95 / ((double)per.cpu_m / 1000.0 * TARGET_UTIL));
	if (needed < 1)
		needed = 1;
	const char *kind = world_kinds[wo.kind].kind;
	const char *name = wobj_name(w, wo);
	struct scale_hist h = {.w = w, .replicas = replicas, .previous = -1, .last_count = -1,
			       .scale_up = {.id = KUBE_OBJ_NONE}};
	world_events_for(w, kind, s->ns, name, wobj_uid(w, wo), visit_scale_event, &h);
	int64_t target = needed;
	if (h.previous > target)
		target = h.previous;
	if (replicas - target < MIN_IDLE_REPLICAS || target * 2 > replicas)
		return;
	struct hpa_find hf = {.kind = kind, .name = name, .hpa = {.id = KUBE_OBJ_NONE}};
	if (world_has(w, WK_HPA))
		world_in_namespace(w, WK_HPA, s->ns, visit_hpa, &hf);
	int64_t hpa_min = wobj_ok(hf.hpa) ? wobj_int(hf.hpa, "spec.minReplicas", 1) : -1;
	if (wobj_ok(hf.hpa) && hpa_min <= target)
		return; /* the HPA scaled up on its own metric */

	struct diag_finding *f = diag_new(s->cx, AN, "IdleReplicas", DIAG_MEDIUM, wo);
	struct diag_ref ref = f->object;
	int64_t idle = replicas - target;
	char req_cpu[32], idle_cpu[32], idle_mem[32];
	cap_fmt_cpu(req_cpu, sizeof req_cpu, per.cpu_m);
	cap_fmt_cpu(idle_cpu, sizeof idle_cpu, per.cpu_m * idle);
	cap_fmt_mem(idle_mem, sizeof idle_mem, per.mem * idle);
	double per_replica_m = p95 / (double)s->pods * 1000.0;
	diag_set_symptom(f, "%s %s/%s runs %lld replicas using %.0fm CPU each of %s requested",
			 kind, s->ns, name, (long long)replicas, per_replica_m, req_cpu);
	diag_set_root_cause(
		f,
		"%s %s/%s %s %lld replicas while its load needs %lld: each uses about "
		"%.0fm CPU (p95) of %s vCPU requested, so %lld idle replicas request %s "
		"vCPU and %s.",
		kind, s->ns, name, h.previous >= 0 ? "was scaled up to" : "runs",
		(long long)replicas, (long long)target, per_replica_m, req_cpu, (long long)idle,
		idle_cpu, idle_mem);
	diag_ev_field(f, &ref, ".spec.replicas", "%lld", (long long)replicas);
	if (wobj_ok(h.scale_up))
		diag_ev_event(f, w, h.scale_up);
	diag_ev_field(f, &ref, ".spec.template.spec.containers[*].resources.requests.cpu", "%s",
		      req_cpu);
	diag_ev_metric(f, WM_CPU_P95_CORES, labels_of(s->ns, "deployment", name),
		       p95 / (double)s->pods, "cores per replica",
		       world_metric_promql(WM_CPU_P95_CORES));
	diag_ev_metric(f, WM_CPU_AVG_CORES, labels_of(s->ns, "deployment", name),
		       avg / (double)s->pods_with_metrics, "cores per replica",
		       world_metric_promql(WM_CPU_AVG_CORES));
	diag_ev_object(f, &ref, "%lld idle replicas request %s vCPU and %s", (long long)idle,
		       idle_cpu, idle_mem);
	cJSON *patch = cJSON_CreateObject();
	cJSON *spec = cJSON_AddObjectToObject(patch, "spec");
	if (wobj_ok(hf.hpa)) {
		struct diag_ref hr = diag_ref_of(w, hf.hpa);
		cJSON_AddNumberToObject(spec, "minReplicas", (double)target);
		diag_ev_field(f, &hr, ".spec.minReplicas", "%lld", (long long)hpa_min);
		diag_related(f, &hr, "autoscaler");
		diag_fix_patch(
			f, &hr, "merge", patch, "medium",
			"lower HorizontalPodAutoscaler %s/%s's minReplicas from %lld to %lld",
			hr.ns, hr.name, (long long)hpa_min, (long long)target);
	} else {
		cJSON_AddNumberToObject(spec, "replicas", (double)target);
		diag_fix_patch(f, &ref, "merge", patch, "medium",
			       "scale %s %s/%s from %lld to %lld replicas%s", kind, s->ns, name,
			       (long long)replicas, (long long)target,
			       h.previous >= 0 ? " (its count before the last scale-up, or what "
						 "the measured load needs)" :
						 " (what the measured load needs)");
	}
	f->n_affected = (size_t)replicas;
	f->confidence = 0.8;
}

/* A strategic-merge patch of one container's resources.limits.KEY in the pod template. */
static cJSON *limit_patch(const char *container, const char *key, const char *value)
{
	cJSON *patch = cJSON_CreateObject();
	cJSON *tspec = cJSON_AddObjectToObject(
		cJSON_AddObjectToObject(cJSON_AddObjectToObject(patch, "spec"), "template"),
		"spec");
	cJSON *ctrs = cJSON_AddArrayToObject(tspec, "containers");
	cJSON *c = cJSON_CreateObject();
	cJSON_AddStringToObject(c, "name", container);
	cJSON *lim = cJSON_AddObjectToObject(cJSON_AddObjectToObject(c, "resources"), "limits");
	cJSON_AddStringToObject(lim, key, value);
	cJSON_AddItemToArray(ctrs, c);
	return patch;
}

static void container_limits(struct wl_stats *s, struct wobj wo)
{
	struct world *w = s->w;
	const char *kind = world_kinds[wo.kind].kind;
	const char *name = wobj_name(w, wo);
	for (size_t i = 0; i < s->nc; i++) {
		struct ctr_stats *c = &s->c[i];
		if (c->throttled_pod && c->throttled_max > THROTTLED_RATIO && c->lim_cpu_m > 0) {
			struct diag_finding *f = diag_new(s->cx, AN, "CPUThrottled", DIAG_LOW, wo);
			diag_set_group(f, "CPUThrottled:%s/%s/%s/%s", kind, s->ns, name, c->name);
			char lim[32], nl[32];
			cap_fmt_cpu(lim, sizeof lim, c->lim_cpu_m);
			int64_t want = c->lim_cpu_m * 3 / 2;
			double p95 = c->p95_pods ? c->p95_sum / (double)c->p95_pods : 0;
			if ((int64_t)(p95 * 1500) > want)
				want = (int64_t)(p95 * 1500);
			want = (want + 99) / 100 * 100;
			snprintf(nl, sizeof nl, "%lldm", (long long)want);
			diag_set_symptom(f,
					 "container %s of %s %s/%s is CPU-throttled in %.0f%% of "
					 "periods",
					 c->name, kind, s->ns, name, c->throttled_max * 100);
			diag_set_root_cause(
				f,
				"Container %s of %s %s/%s hits its CPU limit of %s: %.0f%% "
				"of its CFS periods are throttled (pod %s), which slows it.",
				c->name, kind, s->ns, name, lim, c->throttled_max * 100,
				c->throttled_pod);
			struct diag_ref ref = f->object;
			diag_ev_field(f, &ref,
				      ".spec.template.spec.containers[*].resources.limits.cpu",
				      "%s", lim);
			cJSON *l = labels_of(s->ns, "pod", c->throttled_pod);
			cJSON_AddStringToObject(l, "container", c->name);
			diag_ev_metric(f, WM_CPU_THROTTLED_RATIO, l, c->throttled_max, "ratio",
				       world_metric_promql(WM_CPU_THROTTLED_RATIO));
			diag_fix_patch(f, &ref, "strategic", limit_patch(c->name, "cpu", nl), "low",
				       "raise container %s's CPU limit from %s to %s", c->name, lim,
				       nl);
			f->confidence = 0.7;
		}
		if (c->mem_max_pod && c->lim_mem > 0 &&
		    c->mem_max > MEM_NEAR * (double)c->lim_mem) {
			struct diag_finding *f =
				diag_new(s->cx, AN, "MemoryNearLimit", DIAG_LOW, wo);
			diag_set_group(f, "MemoryNearLimit:%s/%s/%s/%s", kind, s->ns, name,
				       c->name);
			char lim[32], peak[32], nl[32];
			cap_fmt_mem(lim, sizeof lim, c->lim_mem);
			cap_fmt_mem(peak, sizeof peak, (int64_t)c->mem_max);
			int64_t want_mi = (int64_t)ceil(c->mem_max * 1.25 / (1024.0 * 1024.0));
			snprintf(nl, sizeof nl, "%lldMi", (long long)want_mi);
			diag_set_symptom(f,
					 "container %s of %s %s/%s peaks at %.0f%% of its memory "
					 "limit",
					 c->name, kind, s->ns, name,
					 c->mem_max / (double)c->lim_mem * 100);
			diag_set_root_cause(
				f,
				"Container %s of %s %s/%s reached %s of its %s memory limit "
				"(pod %s): the next peak may get it OOM-killed.",
				c->name, kind, s->ns, name, peak, lim, c->mem_max_pod);
			struct diag_ref ref = f->object;
			diag_ev_field(f, &ref,
				      ".spec.template.spec.containers[*].resources.limits.memory",
				      "%s", lim);
			cJSON *l = labels_of(s->ns, "pod", c->mem_max_pod);
			cJSON_AddStringToObject(l, "container", c->name);
			diag_ev_metric(f, WM_MEM_MAX_BYTES, l, c->mem_max, "bytes",
				       world_metric_promql(WM_MEM_MAX_BYTES));
			diag_fix_patch(
				f, &ref, "strategic", limit_patch(c->name, "memory", nl), "low",
				"raise container %s's memory limit from %s to %s (peak + 25%%)",
				c->name, lim, nl);
			f->confidence = 0.7;
		}
	}
}

static int visit_workload(void *ctx, struct wobj o)
{
	struct diag_ctx *cx = ctx;
	struct world *w = cx->w;
	if (o.kind != WK_DAEMONSET && wobj_int(o, "spec.replicas", 1) < 1)
		return 0;
	const cJSON *wl = world_json(w, o);
	struct wl_stats s = {.cx = cx, .w = w, .ns = wobj_ns(w, o)};
	read_template(&s, wl);
	if (o.kind == WK_DEPLOYMENT)
		world_owned_by(w, WK_REPLICASET, wobj_uid(w, o), visit_rs, &s);
	else
		world_owned_by(w, WK_POD, wobj_uid(w, o), visit_pod, &s);
	if (!s.pods_with_metrics)
		return 0;
	if (o.kind != WK_DAEMONSET)
		idle_replicas(&s, o, wl);
	container_limits(&s, o);
	return 0;
}

void diag_an_usage(struct diag_ctx *cx)
{
	if (!world_has_metrics(cx->w))
		return;
	diag_each(cx, WK_DEPLOYMENT, visit_workload, cx);
	diag_each(cx, WK_STATEFULSET, visit_workload, cx);
	diag_each(cx, WK_DAEMONSET, visit_workload, cx);
}
