/* opstats.h — process-wide counters of outside calls, for /metrics (src/daemon/dmetrics.h):
 * Kubernetes API calls by verb (counted in kube/http.c as each request starts), watch
 * restarts (kube/watch.c: a back-off after a failed stream or a relist after 410), LLM
 * requests by result with their latency (llm/llm.c), and the reconciler's plan latency
 * (the daemon). Thread-safe (one mutex); counters only grow.
 * Ownership: static storage; nothing to free. */
#ifndef KS_BASE_OPSTATS_H
#define KS_BASE_OPSTATS_H

#include <stddef.h>
#include <stdint.h>

enum ks_op {
	KS_OP_KUBE_GET,
	KS_OP_KUBE_LIST,
	KS_OP_KUBE_WATCH,
	KS_OP_KUBE_CREATE,
	KS_OP_KUBE_UPDATE,
	KS_OP_KUBE_PATCH,
	KS_OP_KUBE_DELETE,
	KS_OP_KUBE_OTHER,
	KS_OP_WATCH_RESTART,
	KS_OP_LLM_OK,
	KS_OP_LLM_ERROR,
	KS_OP_COUNT
};

/* The Kubernetes verb of the first KS_OP_KUBE_* ops ("get" … "other"). */
const char *ks_op_kube_verb(enum ks_op op);

enum ks_hist_id { KS_HIST_LLM_SECONDS, KS_HIST_RECONCILE_SECONDS, KS_HIST_COUNT };

/* Upper bounds (seconds) of the latency buckets every histogram here uses. */
#define KS_OPSTATS_NBOUNDS 12
extern const double ks_opstats_bounds[KS_OPSTATS_NBOUNDS];

void ks_op_count(enum ks_op op);
uint64_t ks_op_get(enum ks_op op);
void ks_hist_observe(enum ks_hist_id h, double seconds);
/* A copy: counts[KS_OPSTATS_NBOUNDS + 1] per bucket (not cumulative), and the sum. */
void ks_hist_get(enum ks_hist_id h, uint64_t *counts, double *sum);
/* Tests: everything back to zero. */
void ks_opstats_reset(void);

#endif
