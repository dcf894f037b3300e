/* dmetrics.h — the /metrics families of `kswarm run` that come from process-wide counters
 * (base/opstats.h) and from the notifier, rendered by the daemon's h_metrics after its own:
 *
 *   kswarm_kube_requests_total{verb}              counter  API server calls (get, list,
 *                                                          watch, create, update, patch,
 *                                                          delete, other)
 *   kswarm_kube_watch_restarts_total              counter  watch streams re-established
 *                                                          (back-off or relist after 410)
 *   kswarm_llm_requests_total{result}             counter  LLM requests, result ok|error
 *   kswarm_llm_request_duration_seconds           histogram  first attempt to the end
 *   kswarm_reconcile_seconds                      histogram  a plan's execution, verification
 *                                                          included
 *   kswarm_notifications_total{sink,type,result}  counter  per sink (its index and type):
 *                                                          delivered, retried, failed,
 *                                                          duplicate, rate_limited, dropped
 * Ownership: borrows everything during the call. */
#ifndef KS_DAEMON_DMETRICS_H
#define KS_DAEMON_DMETRICS_H

#include <stddef.h>

struct ks_err;
struct ks_prom_writer;
struct notifier;
struct notify_sink;

/* notifier may be NULL (no sinks). */
int dmetrics_render(struct ks_prom_writer *pw, const struct notifier *notifier,
		    const struct notify_sink *sinks, size_t nsinks, struct ks_err *err);

#endif
