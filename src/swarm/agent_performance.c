/* agent_performance.c — guards latency and throughput.
 * Reads every proposal (stateless: each proposal is judged alone):
 *   rightsize     -> VETO (rule "performance-floor") when a container's target is below its
 *                    observed peak (CPU p95 / memory max of any of the workload's pods), or
 *                    the workload is CPU-throttled (> 10% of periods) or was OOM-killed;
 *                    else a vote of 0.2.
 *   repair        -> vote 0.5 when it repairs an outage (severity high or critical: a
 *                    broken workload serves nothing), else 0.
 *   nodepool-*    -> vote 0.3 for raising limits (pods can schedule), 0 for a new mix.
 * Ownership: none kept. */
#include "base/common.h"
#include "base/json.h"
#include "swarm/swarm_internal.h"
#include "world/world.h"

#include <stdio.h>
#include <string.h>

#define THROTTLED_MAX 0.10

struct peak_ctx {
	struct swarm *s;
	const char *prefix, *container;
	double cpu, mem, throttled, oom;
};

static int pod_peak(void *ctx, struct wobj pod)
{
	struct peak_ctx *p = ctx;
	struct world *w = p->s->in->world;
	const char *name = wobj_name(w, pod), *ns = wobj_ns(w, pod);
	if (strncmp(name, p->prefix, strlen(p->prefix)))
		return 0;
	double v;
	if (world_metric(w, WM_CPU_P95_CORES, ns, name, p->container, &v) && v > p->cpu)
		p->cpu = v;
	if (world_metric(w, WM_MEM_MAX_BYTES, ns, name, p->container, &v) && v > p->mem)
		p->mem = v;
	if (world_metric(w, WM_CPU_THROTTLED_RATIO, ns, name, p->container, &v) &&
	    v > p->throttled)
		p->throttled = v;
	if (world_metric(w, WM_OOM_EVENTS, ns, name, p->container, &v))
		p->oom += v;
	return 0;
}

/* The first reason the targets are unsafe, or false. */
static bool rightsize_unsafe(struct swarm *s, const struct swarm_msg *m, char *why, size_t n)
{
	char prefix[300];
	snprintf(prefix, sizeof prefix, "%s-", m->subject.name);
	const cJSON *c;
	cJSON_ArrayForEach(c, ks_json_get(m->body, "containers"))
	{
		struct peak_ctx p = {.s = s, .prefix = prefix,
				     .container = ks_json_str_or(c, "name", "")};
		world_in_namespace(s->in->world, WK_POD, m->subject.namespace, pod_peak, &p);
		double cpu_t = cJSON_GetNumberValue(cJSON_GetObjectItem(c, "cpu_target"));
		double mem_t = cJSON_GetNumberValue(cJSON_GetObjectItem(c, "mem_target"));
		if (p.oom > 0) {
			snprintf(why, n, "container %s was OOM-killed %.0f times", p.container,
				 p.oom);
			return true;
		}
		if (p.throttled > THROTTLED_MAX) {
			snprintf(why, n, "container %s is CPU-throttled in %.0f%% of periods",
				 p.container, p.throttled * 100);
			return true;
		}
		if (cpu_t > 0 && cpu_t < p.cpu) {
			snprintf(why, n, "container %s: CPU target %.3f cores is below the "
				 "observed p95 of %.3f", p.container, cpu_t, p.cpu);
			return true;
		}
		if (mem_t > 0 && mem_t < p.mem) {
			snprintf(why, n, "container %s: memory target %.0f MiB is below the "
				 "observed peak of %.0f MiB", p.container, mem_t / 1048576,
				 p.mem / 1048576);
			return true;
		}
	}
	return false;
}

static void on_proposal(const struct swarm_msg *m, void *ctx)
{
	struct swarm *s = ctx;
	if (!swarm__active(s, m) || !s->in)
		return;
	const char *action = ks_json_str_or(m->body, "action", "");
	char why[512];
	if (!strcmp(action, "rightsize")) {
		if (rightsize_unsafe(s, m, why, sizeof why)) {
			cJSON *b = cJSON_CreateObject();
			cJSON_AddStringToObject(b, "reason", why);
			cJSON_AddStringToObject(b, "rule", "performance-floor");
			swarm__publish(s, SWARM_MSG_VETO, "performance", m->id, &m->subject, b,
				       NULL, "Performance vetoes %s: %s.", m->id, why);
			return;
		}
		swarm__vote(s, "performance", m, 0.2,
			    "the targets stay above the observed peaks");
	} else if (swarm__repairs_outage(m)) {
		swarm__vote(s, "performance", m, 0.5,
			    "the workload serves nothing until it is repaired");
	} else if (!strcmp(action, "nodepool-limits")) {
		swarm__vote(s, "performance", m, 0.3, "pods keep scheduling when load grows");
	} else {
		swarm__vote(s, "performance", m, 0, "no effect on latency expected");
	}
}

void agent_performance_init(struct swarm *s)
{
	swarm__subscribe(s, BUS_TYPE_BIT(SWARM_MSG_PROPOSAL), on_proposal);
}
