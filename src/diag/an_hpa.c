/* an_hpa.c — the HorizontalPodAutoscaler analyzer.
 *
 * Reads the three shapes a cluster serves: autoscaling/v1 (targetCPUUtilizationPercentage;
 * conditions in the annotation autoscaling.alpha.kubernetes.io/conditions), v2beta1
 * (resource.targetAverageUtilization), and v2beta2/v2 (resource.target.type Utilization;
 * ContainerResource too). Findings:
 *   - HPATargetMissing (high): scaleTargetRef names a Deployment/StatefulSet/ReplicaSet that
 *     does not exist (other kinds are not looked up: any kind with a scale subresource works);
 *   - HPAMissingRequests (medium): a Utilization target on cpu/memory while a container of
 *     the target's pod template has no request for it (the HPA cannot compute utilization;
 *     K8sGPT also flags missing limits, which the HPA does not need);
 *   - HPAUnableToScale (high): AbleToScale=False (FailedGetScale, FailedUpdateScale), unless
 *     the target is missing (reported above);
 *   - HPAMetricsUnavailable (medium): ScalingActive=False other than ScalingDisabled (a
 *     target scaled to 0 on purpose), with the controller's message;
 *   - HPAAtMaxReplicas (medium): ScalingLimited=True with reason TooManyReplicas (wants more
 *     than maxReplicas). TooFewReplicas (resting at minReplicas) is normal, not a finding;
 *     ScaleUpLimit/ScaleDownLimit are rate limits, not findings. */
#include "base/common.h"

#include <string.h>

#include "base/json.h"
#include "diag/analyzers.h"
#include "diag/diag.h"
#include "diag/infra.h"

static const struct {
	const char *kind;
	enum world_kind k;
} scale_targets[] = {
	{"Deployment", WK_DEPLOYMENT},
	{"StatefulSet", WK_STATEFULSET},
	{"ReplicaSet", WK_REPLICASET},
};

/* The conditions array: status.conditions (v2*) or the v1 annotation (parsed into *owned). */
static const cJSON *hpa_conditions(const cJSON *hpa, cJSON **owned)
{
	*owned = NULL;
	const cJSON *c = ks_json_get(hpa, "status.conditions");
	if (cJSON_IsArray(c))
		return c;
	const cJSON *anns = ks_json_get(hpa, "metadata.annotations");
	const cJSON *a = anns ? ks_json_child(anns, "autoscaling.alpha.kubernetes.io/conditions")
			      : NULL;
	const char *ann = cJSON_IsString(a) ? a->valuestring : NULL;
	if (!ann)
		return NULL;
	struct ks_err err = {0};
	*owned = ks_json_parse(ann, strlen(ann), (size_t)1 << 20, &err);
	return cJSON_IsArray(*owned) ? *owned : NULL;
}

/* Resources with a Utilization target: bit 0 cpu, bit 1 memory. */
static unsigned utilization_resources(const cJSON *hpa)
{
	unsigned bits = 0;
	if (ks_json_get(hpa, "spec.targetCPUUtilizationPercentage"))
		bits |= 1;
	const cJSON *m;
	cJSON_ArrayForEach(m, ks_json_get(hpa, "spec.metrics"))
	{
		const char *type = ks_json_str_or(m, "type", "");
		const cJSON *r = !strcmp(type, "Resource")	    ? ks_json_get(m, "resource") :
				 !strcmp(type, "ContainerResource") ? ks_json_get(m, "containerResource") :
								      NULL;
		if (!r)
			continue;
		bool util = ks_json_get(r, "targetAverageUtilization") ||
			    !strcmp(ks_json_str_or(r, "target.type", ""), "Utilization");
		if (!util)
			continue;
		const char *res = ks_json_str_or(r, "name", "");
		if (!strcmp(res, "cpu"))
			bits |= 1;
		else if (!strcmp(res, "memory"))
			bits |= 2;
	}
	return bits;
}

/* Names of the template's containers lacking a request for res, into out. */
static size_t containers_without_request(const cJSON *target, const char *res, char *out,
					 size_t n)
{
	size_t count = 0, off = 0;
	out[0] = '\0';
	const cJSON *c;
	cJSON_ArrayForEach(c, ks_json_get(target, "spec.template.spec.containers"))
	{
		const cJSON *req = ks_json_get(c, "resources.requests");
		if (req && ks_json_child(req, res))
			continue;
		count++;
		int k = snprintf(out + off, n - off, "%s%s", off ? ", " : "",
				 ks_json_str_or(c, "name", "?"));
		if (k > 0 && (size_t)k < n - off)
			off += (size_t)k;
	}
	return count;
}

static struct diag_finding *cond_finding(struct diag_ctx *cx, struct wobj hpa, const char *cause,
					 enum diag_severity sev, const cJSON *c)
{
	struct world *w = cx->w;
	struct diag_ref ref = diag_ref_of(w, hpa);
	struct diag_finding *f = diag_new(cx, "HorizontalPodAutoscaler", cause, sev, hpa);
	diag_ev_field(f, &ref, ".status.conditions", "%s=%s %s: %s", ks_json_str_or(c, "type", ""),
		      ks_json_str_or(c, "status", ""), ks_json_str_or(c, "reason", ""),
		      ks_json_str_or(c, "message", ""));
	return f;
}

static int hpa_visit(void *p, struct wobj hpa)
{
	struct diag_ctx *cx = p;
	struct world *w = cx->w;
	const cJSON *j = world_json(w, hpa);
	const char *ns = wobj_ns(w, hpa), *name = wobj_name(w, hpa);
	struct diag_ref ref = diag_ref_of(w, hpa);
	const char *tkind = ks_json_str_or(j, "spec.scaleTargetRef.kind", "");
	const char *tname = ks_json_str_or(j, "spec.scaleTargetRef.name", "");
	struct wobj target = {0};
	bool known_kind = false;
	for (size_t i = 0; i < KS_ARRAY_LEN(scale_targets); i++)
		if (!strcmp(tkind, scale_targets[i].kind)) {
			known_kind = true;
			target = world_get(w, scale_targets[i].k, ns, tname);
		}
	cJSON *owned;
	const cJSON *conds = hpa_conditions(j, &owned);
	if (known_kind && !wobj_ok(target)) {
		struct diag_finding *f = diag_new(cx, "HorizontalPodAutoscaler", "HPATargetMissing",
						  DIAG_HIGH, hpa);
		diag_set_symptom(f, "HorizontalPodAutoscaler %s/%s scales nothing", ns, name);
		diag_set_root_cause(f, "HorizontalPodAutoscaler %s/%s targets %s %s, which does not "
				    "exist in namespace %s.", ns, name, tkind, tname, ns);
		diag_ev_field(f, &ref, ".spec.scaleTargetRef", "%s/%s", tkind, tname);
		const cJSON *a = infra_json_condition(conds, "AbleToScale");
		if (a && !strcmp(ks_json_str_or(a, "status", ""), "False"))
			diag_ev_field(f, &ref, ".status.conditions", "AbleToScale=False %s: %s",
				      ks_json_str_or(a, "reason", ""), ks_json_str_or(a, "message", ""));
		diag_fix_human(f, "point scaleTargetRef at the existing workload, or delete the "
			       "autoscaler");
		diag_fix_check(f, "kubectl -n %s get deploy,sts", ns);
		f->confidence = 0.95;
		goto out;
	}
	if (wobj_ok(target)) {
		const cJSON *tj = world_json(w, target);
		struct diag_ref tref = diag_ref_of(w, target);
		unsigned bits = utilization_resources(j);
		static const char *const res_names[] = {"cpu", "memory"};
		for (unsigned r = 0; r < 2; r++) {
			char names[512];
			if (!(bits & (1u << r)) ||
			    !containers_without_request(tj, res_names[r], names, sizeof names))
				continue;
			struct diag_finding *f = diag_new(cx, "HorizontalPodAutoscaler",
							  "HPAMissingRequests", DIAG_MEDIUM, hpa);
			diag_set_symptom(f, "HorizontalPodAutoscaler %s/%s cannot compute %s "
					 "utilization", ns, name, res_names[r]);
			diag_set_root_cause(f, "HorizontalPodAutoscaler %s/%s scales %s %s on %s "
					    "utilization, but container(s) %s of its pod template "
					    "request no %s.", ns, name, tkind, tname, res_names[r],
					    names, res_names[r]);
			diag_ev_field(f, &ref, ".spec.metrics", "%s Utilization target", res_names[r]);
			diag_ev_object(f, &tref, "containers without resources.requests.%s: %s",
				       res_names[r], names);
			const cJSON *sa = infra_json_condition(conds, "ScalingActive");
			if (sa && !strcmp(ks_json_str_or(sa, "status", ""), "False"))
				diag_ev_field(f, &ref, ".status.conditions", "ScalingActive=False "
					      "%s: %s", ks_json_str_or(sa, "reason", ""),
					      ks_json_str_or(sa, "message", ""));
			diag_related(f, &tref, "scale-target");
			diag_fix_human(f, "set resources.requests.%s on container(s) %s of %s %s",
				       res_names[r], names, tkind, tname);
			f->confidence = 0.9;
			goto out; /* the ScalingActive=False that follows is this */
		}
	}
	const cJSON *a = infra_json_condition(conds, "AbleToScale");
	if (a && !strcmp(ks_json_str_or(a, "status", ""), "False")) {
		struct diag_finding *f = cond_finding(cx, hpa, "HPAUnableToScale", DIAG_HIGH, a);
		diag_set_symptom(f, "HorizontalPodAutoscaler %s/%s cannot scale %s %s", ns, name,
				 tkind, tname);
		diag_set_root_cause(f, "HorizontalPodAutoscaler %s/%s cannot read or update the scale "
				    "of %s %s: %s", ns, name, tkind, tname,
				    ks_json_str_or(a, "message", ""));
		diag_fix_human(f, "fix what the message reports (scale subresource, RBAC of the "
			       "controller)");
		f->confidence = 0.85;
	}
	const cJSON *sa = infra_json_condition(conds, "ScalingActive");
	if (sa && !strcmp(ks_json_str_or(sa, "status", ""), "False") &&
	    strcmp(ks_json_str_or(sa, "reason", ""), "ScalingDisabled")) {
		struct diag_finding *f = cond_finding(cx, hpa, "HPAMetricsUnavailable", DIAG_MEDIUM,
						      sa);
		diag_set_symptom(f, "HorizontalPodAutoscaler %s/%s is not scaling", ns, name);
		diag_set_root_cause(f, "HorizontalPodAutoscaler %s/%s cannot compute a replica count "
				    "(%s): %s", ns, name, ks_json_str_or(sa, "reason", ""),
				    ks_json_str_or(sa, "message", ""));
		diag_fix_human(f, "make the metric available to the autoscaler");
		diag_fix_check(f, "kubectl get apiservice v1beta1.metrics.k8s.io (metrics-server)");
		diag_fix_check(f, "kubectl -n %s describe hpa %s", ns, name);
		f->confidence = 0.8;
	}
	const cJSON *sl = infra_json_condition(conds, "ScalingLimited");
	if (sl && !strcmp(ks_json_str_or(sl, "status", ""), "True") &&
	    !strcmp(ks_json_str_or(sl, "reason", ""), "TooManyReplicas")) {
		struct diag_finding *f = cond_finding(cx, hpa, "HPAAtMaxReplicas", DIAG_MEDIUM, sl);
		int64_t max = ks_json_int_or(j, "spec.maxReplicas", 0);
		diag_set_symptom(f, "HorizontalPodAutoscaler %s/%s is held at maxReplicas %lld", ns,
				 name, (long long)max);
		diag_set_root_cause(f, "HorizontalPodAutoscaler %s/%s wants more replicas of %s %s "
				    "than its maxReplicas %lld allows.", ns, name, tkind, tname,
				    (long long)max);
		diag_ev_field(f, &ref, ".spec.maxReplicas", "%lld", (long long)max);
		diag_ev_field(f, &ref, ".status.desiredReplicas", "%lld",
			      (long long)ks_json_int_or(j, "status.desiredReplicas", 0));
		cJSON *patch = cJSON_CreateObject();
		cJSON_AddNumberToObject(cJSON_AddObjectToObject(patch, "spec"), "maxReplicas",
					(double)(max + (max + 1) / 2));
		diag_fix_patch(f, &ref, "merge", patch, "medium",
			       "raise maxReplicas of %s/%s from %lld to %lld; risk: more pods cost "
			       "more and need room on the nodes", ns, name, (long long)max,
			       (long long)(max + (max + 1) / 2));
		f->confidence = 0.75;
	}
out:
	cJSON_Delete(owned);
	return 0;
}

void diag_an_hpa(struct diag_ctx *cx)
{
	diag_each(cx, WK_HPA, hpa_visit, cx);
}
