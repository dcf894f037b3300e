/* analyzers.c — the registry of analyzers: the names --filter accepts, in the order they
 * run. Each entry's function lives in its src/diag/an_*.c file. */
#include "base/common.h"

#include "diag/analyzers.h"

static const struct diag_analyzer analyzers[] = {
	{.name = "Pod", .describe = "pods that do not run or are not ready, traced to the cause",
	 .opt_in = false, .run = diag_an_pods},
	{.name = "Deployment", .describe = "Deployments not ready or whose rollout is stuck",
	 .opt_in = false, .run = diag_an_deployments},
	{.name = "ReplicaSet", .describe = "ReplicaSets whose pods the API server refuses",
	 .opt_in = false, .run = diag_an_replicasets},
	{.name = "StatefulSet",
	 .describe = "StatefulSets: missing Service or StorageClass, replicas not running",
	 .opt_in = false, .run = diag_an_statefulsets},
	{.name = "DaemonSet", .describe = "DaemonSets not scheduled or not ready on every node",
	 .opt_in = false, .run = diag_an_daemonsets},
	{.name = "Job", .describe = "failed and suspended Jobs", .opt_in = false,
	 .run = diag_an_jobs},
	{.name = "CronJob",
	 .describe = "CronJobs: invalid schedule, suspended, negative deadline, missed runs",
	 .opt_in = false, .run = diag_an_cronjobs},

	{"Service", "Services without (ready) endpoints; selector vs the labels pods carry", false,
	 diag_an_service},
	{"Ingress", "Ingresses with no/unknown class, missing backend Service or port, missing "
		    "TLS Secret", false, diag_an_ingress},
	{"NetworkPolicy", "NetworkPolicies selecting no pod, or all pods and denying ingress",
	 false, diag_an_netpol},
	{"Gateway", "Gateway API: unknown GatewayClass, not accepted/programmed, HTTPRoutes with "
		    "missing parents or backends", false, diag_an_gateway},
	{"PersistentVolumeClaim", "claims Pending (provisioning failed, missing StorageClass) or "
				  "Lost", false, diag_an_pvc},
	{"PersistentVolume", "volumes Released or Failed", false, diag_an_pv},
	{"StorageClass", "several default StorageClasses", false, diag_an_storageclass},
	{"Node", "NotReady, pressure and network conditions; cordoned nodes", false, diag_an_node},
	{"HorizontalPodAutoscaler", "missing target, missing requests, scaling inactive or at "
				    "its maximum", false, diag_an_hpa},
	{"PodDisruptionBudget", "budgets allowing no disruption, and drains they block", false,
	 diag_an_pdb},
	{"ValidatingWebhookConfiguration", "webhooks whose Service or its ready pods are missing",
	 false, diag_an_validating_webhook},
	{"MutatingWebhookConfiguration", "webhooks whose Service or its ready pods are missing",
	 false, diag_an_mutating_webhook},
	{"ConfigMap", "ConfigMaps unused, empty or over 1 MiB", false, diag_an_configmap},
	{"Scheduling", "pending pods: which constraint excludes each node and NodePool", false,
	 diag_an_schedule},
	{"Karpenter", "NodePools at their limits, unsatisfiable or overprovisioned; nodes blocked "
		      "from disruption", false, diag_an_karpenter},
	{"Usage", "idle replicas, CPU throttling and memory near the limit (needs metrics)", false,
	 diag_an_usage},
	{"Security", "default ServiceAccount tokens, privileged or host-namespace pods, wildcard "
		     "RBAC (only with --filter Security)", true, diag_an_security},
};

const struct diag_analyzer *diag_analyzers(size_t *n)
{
	*n = KS_ARRAY_LEN(analyzers);
	return analyzers;
}
