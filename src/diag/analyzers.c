/* analyzers.c — the registry of analyzers: the names --filter accepts, in the order they
 * run. Each entry's function lives in its src/diag/an_*.c file. */
#include "base/common.h"

#include "diag/diag.h"

void diag_analyze_pods(struct diag_ctx *cx);
void diag_analyze_deployments(struct diag_ctx *cx);
void diag_analyze_replicasets(struct diag_ctx *cx);
void diag_analyze_statefulsets(struct diag_ctx *cx);
void diag_analyze_daemonsets(struct diag_ctx *cx);
void diag_analyze_jobs(struct diag_ctx *cx);
void diag_analyze_cronjobs(struct diag_ctx *cx);

static const struct diag_analyzer analyzers[] = {
	{.name = "Pod", .describe = "pods that do not run or are not ready, traced to the cause",
	 .opt_in = false, .run = diag_analyze_pods},
	{.name = "Deployment", .describe = "Deployments not ready or whose rollout is stuck",
	 .opt_in = false, .run = diag_analyze_deployments},
	{.name = "ReplicaSet", .describe = "ReplicaSets whose pods the API server refuses",
	 .opt_in = false, .run = diag_analyze_replicasets},
	{.name = "StatefulSet",
	 .describe = "StatefulSets: missing Service or StorageClass, replicas not running",
	 .opt_in = false, .run = diag_analyze_statefulsets},
	{.name = "DaemonSet", .describe = "DaemonSets not scheduled or not ready on every node",
	 .opt_in = false, .run = diag_analyze_daemonsets},
	{.name = "Job", .describe = "failed and suspended Jobs", .opt_in = false,
	 .run = diag_analyze_jobs},
	{.name = "CronJob",
	 .describe = "CronJobs: invalid schedule, suspended, negative deadline, missed runs",
	 .opt_in = false, .run = diag_analyze_cronjobs},
};

const struct diag_analyzer *diag_analyzers(size_t *n)
{
	*n = KS_ARRAY_LEN(analyzers);
	return analyzers;
}
