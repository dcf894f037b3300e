/* dmetrics.c — the process-wide /metrics families of the daemon (dmetrics.h). */
#include "base/common.h"
#include "daemon/dmetrics.h"

#include "base/opstats.h"
#include "base/promtext.h"
#include "daemon/notify.h"

#include <stdio.h>

static int histogram(struct ks_prom_writer *pw, const char *name, const char *help,
		     enum ks_hist_id id, struct ks_err *err)
{
	uint64_t counts[KS_OPSTATS_NBOUNDS + 1];
	double sum;
	ks_hist_get(id, counts, &sum);
	struct ks_prom_histogram h = {.bounds = ks_opstats_bounds,
				      .nbounds = KS_OPSTATS_NBOUNDS,
				      .counts = counts,
				      .sum = sum};
	int rc = ks_prom_family(pw, name, KS_PROM_HISTOGRAM, help, err);
	return rc ? rc : ks_prom_histogram(pw, NULL, 0, &h, KS_PROM_NO_TIMESTAMP, err);
}

int dmetrics_render(struct ks_prom_writer *pw, const struct notifier *notifier,
		    const struct notify_sink *sinks, size_t nsinks, struct ks_err *err)
{
	int rc = ks_prom_family(pw, "kswarm_kube_requests_total", KS_PROM_COUNTER,
				"Kubernetes API server calls by verb.", err);
	for (int op = KS_OP_KUBE_GET; !rc && op <= KS_OP_KUBE_OTHER; op++) {
		struct ks_prom_label l = {.name = "verb", .value = ks_op_kube_verb(op)};
		rc = ks_prom_sample(pw, &l, 1, (double)ks_op_get(op), KS_PROM_NO_TIMESTAMP, err);
	}
	if (!rc)
		rc = ks_prom_family(pw, "kswarm_kube_watch_restarts_total", KS_PROM_COUNTER,
				    "Watch streams re-established (after a failure or a 410).",
				    err);
	if (!rc)
		rc = ks_prom_sample(pw, NULL, 0, (double)ks_op_get(KS_OP_WATCH_RESTART),
				    KS_PROM_NO_TIMESTAMP, err);
	if (!rc)
		rc = ks_prom_family(pw, "kswarm_llm_requests_total", KS_PROM_COUNTER,
				    "LLM requests by result.", err);
	static const struct {
		const char *result;
		enum ks_op op;
	} llm[] = {{"ok", KS_OP_LLM_OK}, {"error", KS_OP_LLM_ERROR}};
	for (size_t i = 0; !rc && i < 2; i++) {
		struct ks_prom_label l = {.name = "result", .value = llm[i].result};
		rc = ks_prom_sample(pw, &l, 1, (double)ks_op_get(llm[i].op), KS_PROM_NO_TIMESTAMP,
				    err);
	}
	if (!rc)
		rc = histogram(pw, "kswarm_llm_request_duration_seconds",
			       "LLM request latency (first attempt to the end of the answer).",
			       KS_HIST_LLM_SECONDS, err);
	if (!rc)
		rc = histogram(pw, "kswarm_reconcile_seconds",
			       "Seconds the reconciler spent executing a plan (verification "
			       "included).",
			       KS_HIST_RECONCILE_SECONDS, err);
	if (rc || !notifier || !nsinks)
		return rc;
	rc = ks_prom_family(pw, "kswarm_notifications_total", KS_PROM_COUNTER,
			    "Notifications per sink by result.", err);
	for (size_t i = 0; !rc && i < nsinks; i++) {
		struct notify_stats st;
		notifier_stats(notifier, i, &st);
		char idx[24];
		snprintf(idx, sizeof idx, "%zu", i);
		const struct {
			const char *result;
			uint64_t v;
		} rows[] = {{"delivered", st.delivered},   {"retried", st.retried},
			    {"failed", st.failed},	   {"duplicate", st.duplicates},
			    {"rate_limited", st.rate_limited}, {"dropped", st.dropped}};
		for (size_t k = 0; !rc && k < sizeof rows / sizeof rows[0]; k++) {
			struct ks_prom_label l[] = {{.name = "sink", .value = idx},
						    {.name = "type",
						     .value = notify_kind_name(sinks[i].kind)},
						    {.name = "result", .value = rows[k].result}};
			rc = ks_prom_sample(pw, l, 3, (double)rows[k].v, KS_PROM_NO_TIMESTAMP, err);
		}
	}
	return rc;
}
