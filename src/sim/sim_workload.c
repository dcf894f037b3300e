/* sim_workload.c — which workload a pod belongs to, and the usage curve of its containers.
 * A scenario may set a curve per workload container (sim_scenario.c); without one the curve
 * is derived from the container's requests, so an unconfigured cluster still has plausible,
 * deterministic usage: a third of the CPU request and half of the memory request on average,
 * a daily cycle peaking at 14:00 UTC, 10% noise, no growth and no spikes. */
#include "base/common.h"
#include "base/hashmap.h"
#include "base/json.h"
#include "kube/quantity.h"
#include "sim/sim_internal.h"

#include <stdio.h>
#include <string.h>

/* Defaults for a container without requests: a small sidecar-sized process. */
#define DEFAULT_CPU_M 50.0
#define DEFAULT_MEM_MIB 64.0
#define MIB (1024.0 * 1024.0)

void sim_pod_workload(const cJSON *pod, char *out, size_t len)
{
	const cJSON *refs = ks_json_get(pod, "metadata.ownerReferences");
	const cJSON *ref, *ctrl = NULL;
	cJSON_ArrayForEach(ref, refs)
	{
		if (ks_json_bool_or(ref, "controller", false)) {
			ctrl = ref;
			break;
		}
	}
	if (!ctrl) {
		snprintf(out, len, "Pod/%s", ks_json_str_or(pod, "metadata.name", ""));
		return;
	}
	const char *kind = ks_json_str_or(ctrl, "kind", "");
	const char *name = ks_json_str_or(ctrl, "name", "");
	const char *hash = ks_json_str(pod, "metadata.labels.pod-template-hash");
	size_t n = strlen(name), h = hash ? strlen(hash) : 0;
	if (!strcmp(kind, "ReplicaSet") && h && n > h + 1 && name[n - h - 1] == '-' &&
	    !strcmp(name + n - h, hash)) {
		snprintf(out, len, "Deployment/%.*s", (int)(n - h - 1), name);
		return;
	}
	snprintf(out, len, "%s/%s", kind, name);
}

static const cJSON *find_container(const cJSON *pod, const char *name)
{
	static const char *const lists[] = {"spec.containers", "spec.initContainers"};
	for (size_t i = 0; i < KS_ARRAY_LEN(lists); i++) {
		const cJSON *c;
		cJSON_ArrayForEach(c, ks_json_get(pod, lists[i]))
		{
			if (!strcmp(ks_json_str_or(c, "name", ""), name))
				return c;
		}
	}
	return NULL;
}

/* A request (or limit) in millicores or bytes; def when unset or unparsable. */
static double resource(const cJSON *c, const char *path, bool milli, double def)
{
	const char *v = ks_json_str(c, path);
	struct kube_quantity q;
	if (!v || kube_quantity_parse(v, strlen(v), &q, NULL))
		return def;
	return milli ? (double)kube_quantity_milli(&q) : (double)kube_quantity_value(&q);
}

void sim_usage_for(const struct sim *s, const cJSON *pod, const char *container,
		   struct sim_usage_curve *out)
{
	char workload[256];
	sim_pod_workload(pod, workload, sizeof workload);
	const char *ns = ks_json_str_or(pod, "metadata.namespace", "");
	char *key = ks_asprintf("%s/%s/%s/%s", ns, workload, container,
				ks_json_str_or(pod, "metadata.name", ""));
	uint64_t seed = ks_hash(key, strlen(key));
	free(key);
	const cJSON *c = find_container(pod, container);
	double cpu_req = resource(c, "resources.requests.cpu", true, 0);
	double mem_req = resource(c, "resources.requests.memory", false, 0) / MIB;
	*out = (struct sim_usage_curve){
		.base_cpu_m = cpu_req > 0 ? cpu_req / 3.0 : DEFAULT_CPU_M,
		.base_mem_mib = mem_req > 0 ? mem_req / 2.0 : DEFAULT_MEM_MIB,
		.daily_amp = 0.3,
		.peak_hour = 14,
		.noise = 0.1,
		.seed = seed,
	};
	sim_usage_override(s, pod, container, out);
}
