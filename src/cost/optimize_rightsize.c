/* optimize_rightsize.c — the optimizer's right-sizing: one rs_spec per container of each
 * workload (its first pod's requests and limits, whether an HPA scales it on CPU, its
 * namespace's LimitRange for containers), rs_recommend on the usage history, then each
 * workload's and pod set's per-pod requests with the recommended targets (only where the
 * recommendation is "ok": with short history or no data the request stays). */
#include "base/common.h"
#include "base/json.h"
#include "cost/optimize_internal.h"
#include "cost/rightsize.h"
#include "diag/capacity.h"
#include "kube/objstore.h"

#include <math.h>
#include <string.h>

struct hpa_scan {
	struct world *w;
	const char *kind, *name;
	bool on_cpu;
};

/* autoscaling/v1 targetCPUUtilizationPercentage, or a v2 Resource/ContainerResource metric
 * on cpu. */
static int hpa_visit(void *ctx, struct wobj o)
{
	struct hpa_scan *h = ctx;
	const cJSON *j = world_json(h->w, o);
	const cJSON *ref = ks_json_get(j, "spec.scaleTargetRef");
	if (strcmp(ks_json_str_or(ref, "kind", ""), h->kind) ||
	    strcmp(ks_json_str_or(ref, "name", ""), h->name))
		return 0;
	if (ks_json_get(j, "spec.targetCPUUtilizationPercentage") ||
	    !ks_json_get(j, "spec.metrics")) /* v1 with no target: 80% CPU by default */
		h->on_cpu = true;
	const cJSON *mt;
	cJSON_ArrayForEach(mt, ks_json_get(j, "spec.metrics"))
	{
		const char *n1 = ks_json_str(mt, "resource.name");
		const char *n2 = ks_json_str(mt, "containerResource.name");
		if ((n1 && !strcmp(n1, "cpu")) || (n2 && !strcmp(n2, "cpu")))
			h->on_cpu = true;
	}
	return h->on_cpu;
}

struct lr_scan {
	struct world *w;
	double min_cpu, max_cpu, min_mem, max_mem;
};

static int lr_visit(void *ctx, struct wobj o)
{
	struct lr_scan *l = ctx;
	const cJSON *lim;
	cJSON_ArrayForEach(lim, ks_json_get(world_json(l->w, o), "spec.limits"))
	{
		if (strcmp(ks_json_str_or(lim, "type", ""), "Container"))
			continue;
		const cJSON *mn = ks_json_get(lim, "min"), *mx = ks_json_get(lim, "max");
		int64_t v;
		if ((v = cap_qty_milli(ks_json_child(mn, "cpu"), 0)) > 0)
			l->min_cpu = fmax(l->min_cpu, (double)v / 1000);
		if ((v = cap_qty_milli(ks_json_child(mx, "cpu"), 0)) > 0)
			l->max_cpu =
			    l->max_cpu > 0 ? fmin(l->max_cpu, (double)v / 1000) : (double)v / 1000;
		if ((v = cap_qty_value(ks_json_child(mn, "memory"), 0)) > 0)
			l->min_mem = fmax(l->min_mem, (double)v);
		if ((v = cap_qty_value(ks_json_child(mx, "memory"), 0)) > 0)
			l->max_mem = l->max_mem > 0 ? fmin(l->max_mem, (double)v) : (double)v;
	}
	return 0;
}

int om_rightsize(struct om *m, struct ks_err *err)
{
	struct rs_spec *specs = NULL;
	size_t *spec_wl = NULL, n = 0;
	char **names = ks_calloc(m->n_workloads + 1, sizeof *names); /* what specs point to */
	cJSON **containers = NULL; /* likewise (container names) */
	size_t n_containers = 0;
	for (size_t i = 0; i < m->n_workloads; i++) {
		struct om_workload *W = &m->workloads[i];
		/* the containers alone are decoded (a whole pod would stay in the world's cache) */
		struct wobj fp = W->first_pod;
		cJSON *cs = kube_objstore_to_cjson(fp.st, wobj_get(fp, "spec.containers"));
		int nc = ks_json_len(cs);
		if (nc <= 0) {
			cJSON_Delete(cs);
			continue;
		}
		containers = ks_realloc(containers, (n_containers + 1) * sizeof *containers);
		containers[n_containers++] = cs;
		struct hpa_scan h = { m->w, W->kind, W->name, false };
		world_in_namespace(m->w, WK_HPA, W->ns, hpa_visit, &h);
		struct lr_scan lr = { .w = m->w };
		world_in_namespace(m->w, WK_LIMITRANGE, W->ns, lr_visit, &lr);
		char *wl = strcmp(W->kind, "Pod") ? ks_asprintf("%s/%s", W->kind, W->name)
						  : ks_strdup(W->name);
		names[i] = wl;
		const cJSON *c;
		cJSON_ArrayForEach(c, cs)
		{
			specs = ks_realloc(specs, (n + 1) * sizeof *specs);
			spec_wl = ks_realloc(spec_wl, (n + 1) * sizeof *spec_wl);
			const cJSON *rq = ks_json_get(c, "resources.requests");
			const cJSON *lm = ks_json_get(c, "resources.limits");
			specs[n] = (struct rs_spec){
				.ns = W->ns,
				.workload = wl,
				.container = ks_json_str_or(c, "name", ""),
				.pod_containers = nc,
				.cpu_request =
				    (double)cap_qty_milli(ks_json_child(rq, "cpu"), 0) / 1000,
				.cpu_limit =
				    (double)cap_qty_milli(ks_json_child(lm, "cpu"), 0) / 1000,
				.mem_request =
				    (double)cap_qty_value(ks_json_child(rq, "memory"), 0),
				.mem_limit = (double)cap_qty_value(ks_json_child(lm, "memory"), 0),
				.hpa_on_cpu = h.on_cpu,
				.lr_min_cpu = lr.min_cpu,
				.lr_max_cpu = lr.max_cpu,
				.lr_min_mem = lr.min_mem,
				.lr_max_mem = lr.max_mem,
			};
			spec_wl[n++] = i;
		}
	}
	struct rs_rec *recs = NULL;
	int rc = rs_recommend(m->o->usage, specs, n, &recs, err);
	for (size_t k = 0; rc == 0 && k < n; k++) {
		struct om_workload *W = &m->workloads[spec_wl[k]];
		const struct rs_rec *r = &recs[k];
		W->recs = ks_realloc(W->recs, (W->n_recs + 1) * sizeof *W->recs);
		W->recs[W->n_recs++] = (struct opt_container_rec){
			.container = ks_strdup(specs[k].container),
			.status = ks_strdup(rs_status_name(r->status)),
			.text = ks_strdup(r->text),
			.cpu_request = specs[k].cpu_request,
			.cpu_target = r->cpu.target,
			.mem_request = specs[k].mem_request,
			.mem_target = r->mem.target,
		};
		if (r->cpu.reason == RS_REASON_OVER_REQUESTED ||
		    r->mem.reason == RS_REASON_OVER_REQUESTED)
			W->over_requested = true;
		if (r->status != RS_OK)
			continue;
		/* the pod's requests move by the container's change (targets are per
		 * container; a resource left alone, as CPU under an HPA, keeps its request) */
		double dcpu = r->cpu.reason == RS_REASON_HPA_CPU || !(r->cpu.target > 0)
				  ? 0
				  : r->cpu.target - specs[k].cpu_request;
		double dmem = r->mem.target > 0 ? r->mem.target - specs[k].mem_request : 0;
		W->new_cpu_m += (int64_t)llround(dcpu * 1000);
		W->new_mem += (int64_t)llround(dmem);
		W->rightsized = true;
	}
	for (size_t s = 0; s < m->n_sets; s++) {
		struct om_podset *ps = &m->sets[s];
		const struct om_workload *W = &m->workloads[ps->workload];
		if (!W->rightsized)
			continue;
		ps->new_cpu_m = ps->cpu_m + (W->new_cpu_m - W->cpu_m);
		ps->new_mem = ps->mem + (W->new_mem - W->mem);
		if (ps->new_cpu_m < 0)
			ps->new_cpu_m = 0;
		if (ps->new_mem < 0)
			ps->new_mem = 0;
	}
	free(recs);
	free(specs);
	free(spec_wl);
	for (size_t i = 0; i < m->n_workloads; i++)
		free(names[i]);
	free(names);
	for (size_t i = 0; i < n_containers; i++)
		cJSON_Delete(containers[i]);
	free(containers);
	return rc;
}
