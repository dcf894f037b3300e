/* analyzers.c — the registry of analyzers: what --filter names and what runs by default.
 * Each analyzer lives in its own src/diag/an_*.c; this table only lists them. */
#include "base/common.h"
#include "diag/diag.h"

void diag_an_schedule(struct diag_ctx *cx);
void diag_an_karpenter(struct diag_ctx *cx);
void diag_an_usage(struct diag_ctx *cx);

static const struct diag_analyzer analyzers[] = {
	{.name = "Scheduling",
	 .describe = "pending pods: which constraint excludes each node and NodePool",
	 .opt_in = false,
	 .run = diag_an_schedule},
	{.name = "Karpenter",
	 .describe = "NodePools at their limits, unsatisfiable or overprovisioned; disruption "
		     "blocked",
	 .opt_in = false,
	 .run = diag_an_karpenter},
	{.name = "Usage",
	 .describe = "idle replicas, CPU throttling and memory near the limit (needs metrics)",
	 .opt_in = false,
	 .run = diag_an_usage},
};

const struct diag_analyzer *diag_analyzers(size_t *n)
{
	*n = KS_ARRAY_LEN(analyzers);
	return analyzers;
}
