/* promfetch.h — container usage from Prometheus into the world (world_add_metric).
 *
 * A handful of whole-cluster queries (never one per pod) over cAdvisor's series, summed per
 * namespace/pod/container (container "" and "POD" skipped): mean and p95 CPU, peak working
 * set, CFS throttling ratio and OOM kills over a window.
 *
 * Time: a cluster played by kswarm's simulator at --time-scale X runs X simulated seconds per
 * real second; its Prometheus stamps samples in real time while the counters advance in
 * simulated time. The scale is read from the simulator's gauge sim_time_seconds (its deriv;
 * 1 when the series is absent, as on a real cluster). The window is given in cluster time;
 * it is queried as window / X real seconds (at least PROMFETCH_MIN_REAL_WINDOW_S, so a few
 * scrapes fall in it), CPU rates are divided by X, and the window recorded with
 * world_set_metrics_window is the cluster-time span actually covered. */
#ifndef KS_WORLD_PROMFETCH_H
#define KS_WORLD_PROMFETCH_H

struct world;
struct ks_err;

#define PROMFETCH_DEFAULT_WINDOW_S 3600.0
#define PROMFETCH_MIN_REAL_WINDOW_S 60.0

/* prom_url: the Prometheus base URL; window_s: cluster seconds (<= 0: the default). Fails
 * (world unchanged) when Prometheus cannot be queried. */
int world_fetch_metrics(struct world *w, const char *prom_url, double window_s,
			struct ks_err *err);

/* The PromQL behind a WM_* metric, for evidence ("$W" stands for the window, "$R" for the
 * rate range), or NULL for an unknown name. */
const char *world_metric_promql(const char *name);

#endif
