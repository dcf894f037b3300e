/* an_node.c — the Node analyzer: node conditions with a known polarity, and cordons.
 *
 * Only condition types whose healthy status is known are judged (K8sGPT's "any other type
 * not False is bad" reports EKS' KernelReady=True and k3s' EtcdIsVoter=True): Ready must be
 * True; MemoryPressure, DiskPressure, PIDPressure, NetworkUnavailable and the
 * node-problem-detector problems (KernelDeadlock, ReadonlyFilesystem, FrequentKubeletRestart,
 * FrequentDockerRestart, FrequentContainerdRestart, CorruptDockerOverlay2) must not be True.
 *
 * Many nodes NotReady at once for one reason (a zone lost, a CNI broken everywhere) are one
 * finding: the group key names the reason and message, not the node. A cordoned node
 * (spec.unschedulable) is info, grouped as "node-cordoned:<node>" so a PodDisruptionBudget
 * that blocks its drain can take it over (an_pdb.c aliases that key). */
#include "base/common.h"

#include <string.h>

#include "base/json.h"
#include "base/timeutil.h"
#include "diag/analyzers.h"
#include "diag/diag.h"
#include "diag/infra.h"

struct bad_type {
	const char *type;
	const char *cause;
	enum diag_severity sev;
	const char *what;
};

static const struct bad_type bad_when_true[] = {
	{"MemoryPressure", "NodeMemoryPressure", DIAG_HIGH, "is low on memory"},
	{"DiskPressure", "NodeDiskPressure", DIAG_HIGH, "is low on disk"},
	{"PIDPressure", "NodePIDPressure", DIAG_HIGH, "is low on process ids"},
	{"NetworkUnavailable", "NodeNetworkUnavailable", DIAG_HIGH, "has no working pod network"},
	{"KernelDeadlock", "NodeProblem", DIAG_MEDIUM, "has a kernel deadlock"},
	{"ReadonlyFilesystem", "NodeProblem", DIAG_MEDIUM, "has a read-only filesystem"},
	{"FrequentKubeletRestart", "NodeProblem", DIAG_MEDIUM, "restarts its kubelet often"},
	{"FrequentDockerRestart", "NodeProblem", DIAG_MEDIUM, "restarts docker often"},
	{"FrequentContainerdRestart", "NodeProblem", DIAG_MEDIUM, "restarts containerd often"},
	{"CorruptDockerOverlay2", "NodeProblem", DIAG_MEDIUM, "has a corrupt overlay2 storage"},
};

static const cJSON *find_condition(const cJSON *node, const char *type)
{
	return infra_json_condition(ks_json_get(node, "status.conditions"), type);
}

static void report_not_ready(struct diag_ctx *cx, struct wobj node)
{
	struct world *w = cx->w;
	const cJSON *j = world_json(w, node);
	const cJSON *c = find_condition(j, "Ready");
	struct diag_ref ref = diag_ref_of(w, node);
	const char *status = c ? ks_json_str_or(c, "status", "Unknown") : "Unknown";
	const char *reason = c ? ks_json_str_or(c, "reason", "") : "NoReadyCondition";
	const char *msg = c ? ks_json_str_or(c, "message", "") : "the node reports no Ready condition";
	int64_t hb = c ? infra_age_of(w, ks_json_str(c, "lastHeartbeatTime")) : -1;
	char age[32] = "unknown";
	if (hb >= 0)
		ks_time_format_age(hb, age, sizeof age);
	struct diag_finding *f = diag_new(cx, "Node", "NodeNotReady", DIAG_CRITICAL, node);
	diag_set_symptom(f, "node %s is %s", ref.name,
			 !strcmp(status, "False") ? "NotReady" : "in an unknown state");
	diag_set_root_cause(f, "Node %s has Ready=%s (%s): %s; last heartbeat %s ago.", ref.name,
			    status, reason, msg, age);
	diag_ev_field(f, &ref, ".status.conditions[Ready]", "%s %s: %s", status, reason, msg);
	diag_ev_field(f, &ref, ".status.conditions[Ready].lastHeartbeatTime", "%s (%s ago)",
		      c ? ks_json_str_or(c, "lastHeartbeatTime", "") : "", age);
	diag_set_group(f, "nodes-notready:%s:%s", reason, msg);
	diag_fix_human(f, "bring the kubelet on %s back (or replace the node)", ref.name);
	diag_fix_check(f, "kubectl describe node %s", ref.name);
	diag_fix_check(f, "the kubelet's and the container runtime's logs on the node");
	if (!strcmp(status, "Unknown"))
		diag_fix_check(f, "whether the instance is still running and reachable");
	f->confidence = 0.9;
}

static void report_condition(struct diag_ctx *cx, struct wobj node, const struct bad_type *bt)
{
	struct world *w = cx->w;
	const cJSON *c = find_condition(world_json(w, node), bt->type);
	struct diag_ref ref = diag_ref_of(w, node);
	const char *reason = ks_json_str_or(c, "reason", "");
	const char *msg = ks_json_str_or(c, "message", "");
	struct diag_finding *f = diag_new(cx, "Node", bt->cause, bt->sev, node);
	diag_set_symptom(f, "node %s %s", ref.name, bt->what);
	diag_set_root_cause(f, "Node %s has %s=True (%s): %s", ref.name, bt->type, reason, msg);
	diag_ev_field(f, &ref, ".status.conditions", "%s=True %s: %s", bt->type, reason, msg);
	diag_fix_human(f, "relieve the %s on node %s", bt->type, ref.name);
	diag_fix_check(f, "kubectl describe node %s", ref.name);
	if (!strcmp(bt->type, "DiskPressure"))
		diag_fix_check(f, "image and container garbage collection, large emptyDir volumes "
				  "and logs on the node");
	else if (!strcmp(bt->type, "MemoryPressure"))
		diag_fix_check(f, "pods on the node using more memory than they request");
	f->confidence = 0.9;
}

static void report_cordoned(struct diag_ctx *cx, struct wobj node)
{
	struct world *w = cx->w;
	struct diag_ref ref = diag_ref_of(w, node);
	struct diag_finding *f = diag_new(cx, "Node", "NodeCordoned", DIAG_INFO, node);
	diag_set_symptom(f, "node %s is cordoned (SchedulingDisabled)", ref.name);
	diag_set_root_cause(f, "Node %s is marked unschedulable: no new pod lands there.",
			    ref.name);
	diag_ev_field(f, &ref, ".spec.unschedulable", "true");
	const cJSON *t;
	cJSON_ArrayForEach(t, ks_json_get(world_json(w, node), "spec.taints"))
	{
		const char *key = ks_json_str_or(t, "key", "");
		if (!strcmp(key, "node.kubernetes.io/unschedulable") ||
		    !strcmp(key, "karpenter.sh/disruption"))
			diag_ev_field(f, &ref, ".spec.taints", "%s:%s (added %s)", key,
				      ks_json_str_or(t, "effect", ""),
				      ks_json_str_or(t, "timeAdded", "?"));
	}
	diag_set_group(f, "node-cordoned:%s", ref.name);
	diag_fix_human(f, "finish the drain or maintenance, then `kubectl uncordon %s`", ref.name);
	f->confidence = 0.6;
}

static int node_visit(void *p, struct wobj node)
{
	struct diag_ctx *cx = p;
	char st[16];
	if (!infra_condition(node, "status.conditions", "Ready", st, sizeof st, NULL, 0, NULL,
			     0) ||
	    strcmp(st, "True"))
		report_not_ready(cx, node);
	for (size_t i = 0; i < KS_ARRAY_LEN(bad_when_true); i++)
		if (infra_condition(node, "status.conditions", bad_when_true[i].type, st, sizeof st,
				    NULL, 0, NULL, 0) &&
		    !strcmp(st, "True"))
			report_condition(cx, node, &bad_when_true[i]);
	if (wobj_bool(node, "spec.unschedulable", false))
		report_cordoned(cx, node);
	return 0;
}

void diag_an_node(struct diag_ctx *cx)
{
	diag_each(cx, WK_NODE, node_visit, cx);
}
