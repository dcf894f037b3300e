/* sim_metrics.h — the simulator's metrics: what a Prometheus scraping a real EKS cluster sees.
 *
 * Three sources, named and labelled as the real exporters are, so queries written for a real
 * cluster run unchanged:
 *   cAdvisor through the kubelet (/metrics/cadvisor): container_cpu_usage_seconds_total,
 *     container_memory_working_set_bytes, container_memory_usage_bytes,
 *     container_cpu_cfs_periods_total, container_cpu_cfs_throttled_periods_total,
 *     container_oom_events_total, container_spec_memory_limit_bytes, container_spec_cpu_quota,
 *     container_spec_cpu_period; labels container, id (the cgroup path), image, name (the
 *     containerd ID), namespace, pod, plus cpu="total" on the CPU counter, plus node (which a
 *     real kubelet does not write: Prometheus's kubelet scrape config adds it; we serve every
 *     node from one endpoint). Each pod also has its pod-level cgroup series (container="",
 *     image="", name="") as the kubelet exposes, so sums need container!="" as on a real
 *     cluster. No pause-container series.
 *   kube-state-metrics v2: kube_pod_info, kube_pod_owner, kube_pod_status_phase,
 *     kube_pod_container_resource_requests/_limits, kube_pod_container_status_restarts_total,
 *     kube_pod_container_status_waiting_reason, kube_pod_container_status_last_terminated_reason,
 *     kube_node_info, kube_node_labels (only the Karpenter, instance-type and zone labels, as
 *     with --metric-labels-allowlist), kube_node_status_capacity/_allocatable,
 *     kube_node_status_condition.
 *   HTTP server metrics per Service, named as client_golang's promhttp instrumentation and
 *     most instrumented services name them: http_requests_total{namespace,service,code}
 *     (codes 200, 500, 503) and the http_request_duration_seconds{namespace,service} histogram
 *     with client_golang's default buckets (.005 … 10). Labelled by Service rather than pod,
 *     as a mesh or ingress reports them, so an SLO is one selector.
 *
 * Time: every value is computed at a simulated time t (sim_time_now). Live expositions carry
 * no timestamps (Prometheus stamps the real scrape time, as with any exporter) and include the
 * gauge sim_time_seconds: with --time-scale X, rate() over a real window W covers X*W simulated
 * seconds, so a consumer divides rates by X (or plots against sim_time_seconds); at scale 1 the
 * two clocks agree. The backfill (OpenMetrics with timestamps) is at scale 1: simulated time
 * equals real time over [now - duration, now].
 *
 * Counters are monotone for the life of a struct sim_metrics: CPU seconds are a running total
 * per container ID from the container's start (started before the simulator: real time back to
 * startedAt, at most SIM_METRICS_MAX_LOOKBACK_S), HTTP counters a running total per Service from
 * its first exposition. Inputs are Kubernetes objects (pods, nodes, services as JSON) gathered
 * into a struct sim_metrics_world, so a test or a benchmark renders without a cluster.
 *
 * Ownership: a world copies what it needs from the objects it is given; sim_metrics owns its
 * counters and its snapshot; buffers passed in belong to the caller. */
#ifndef KS_SIM_METRICS_H
#define KS_SIM_METRICS_H

#include <stdint.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "sim/usage.h"

struct ks_buf;
struct ks_err;
struct sim;

/* Re-render the live snapshot at most this often (real ms); a render that takes longer than
 * a quarter of it stretches the interval to four times its duration. */
#define SIM_METRICS_RENDER_EVERY_MS 1000
/* Ceiling on one exposition (10,000 pods take about 40 MiB). */
#define SIM_METRICS_MAX_BYTES ((size_t)512 << 20)
/* How far back a container started before the simulator gets its CPU counter integrated. */
#define SIM_METRICS_MAX_LOOKBACK_S (7 * 86400)
/* Default request rate of a Service, requests per (simulated) second, daily mean. */
#define SIM_METRICS_BASE_RPS 20.0
/* Ceilings of a backfill: window and points per series. */
#define SIM_METRICS_BACKFILL_MAX_S (90 * 86400)
#define SIM_METRICS_BACKFILL_MAX_POINTS 200000

/* A container's usage curve (sim_usage_for in the simulator). */
typedef void (*sim_metrics_curve_fn)(void *ctx, const cJSON *pod, const char *container,
				     struct sim_usage_curve *out);

struct sim_metrics_world;
struct sim_metrics;

struct sim_metrics_world *sim_metrics_world_new(sim_metrics_curve_fn curve, void *ctx);
void sim_metrics_world_free(struct sim_metrics_world *w);
/* Add a Pod, Node or Service object (borrowed during the call). */
void sim_metrics_world_add_pod(struct sim_metrics_world *w, const cJSON *pod);
void sim_metrics_world_add_node(struct sim_metrics_world *w, const cJSON *node);
void sim_metrics_world_add_service(struct sim_metrics_world *w, const cJSON *svc);

struct sim_metrics *sim_metrics_new(void);
/* Stops the HTTP server if one runs. NULL is fine. */
void sim_metrics_free(struct sim_metrics *m);

/* One exposition (text format 0.0.4, no timestamps) of w at simulated time t, appended to out;
 * counters advance to t (a t earlier than the last one leaves them where they are). */
int sim_metrics_render(struct sim_metrics *m, const struct sim_metrics_world *w, int64_t t,
		       struct ks_buf *out, struct ks_err *err);

/* OpenMetrics text with timestamps of the cAdvisor and HTTP series of w at from, from + step,
 * ... <= to (counters from 0 at from), ending in "# EOF", streamed to out family by family and
 * series by series (memory does not grow with the window). progress (may be NULL) is called
 * now and then with the fraction done. */
int sim_metrics_backfill_write(const struct sim_metrics_world *w, int64_t from, int64_t to,
			       int64_t step, FILE *out, void (*progress)(void *ctx, double done),
			       void *ctx, struct ks_err *err);

/* "127.0.0.1:9100", "localhost:0": loopback only (127.0.0.0/8 or localhost), port 0 picks a
 * free one. ip_be gets the IPv4 address in network byte order. */
int sim_metrics_parse_listen(const char *addr, uint32_t *ip_be, uint16_t *port,
			     struct ks_err *err);
/* "14d", "36h", "5m", "90s" or plain seconds "600" into seconds (> 0, at most 10 years). */
int sim_metrics_parse_duration(const char *s, int64_t *out, struct ks_err *err);

/* ---- in the simulator ---- */

/* Serve GET /metrics on addr (see sim_metrics_parse_listen) from a snapshot that sim_step
 * re-renders (sim_metrics_tick); *port_out gets the bound port. */
int sim_metrics_listen(struct sim *s, const char *addr, int *port_out, struct ks_err *err);
/* Called by sim_step: re-render the snapshot when SIM_METRICS_RENDER_EVERY_MS have passed and
 * the informers are synced. Does nothing unless sim_metrics_listen was called. */
void sim_metrics_tick(struct sim *s);
/* Wait (up to timeout_ms) until the pod, node and service informers are synced. */
int sim_metrics_wait_synced(struct sim *s, long timeout_ms, struct ks_err *err);
/* Write the backfill of the cluster's current pods and services over [now - duration_s, now]
 * (now rounded down to a multiple of step_s) to path, with progress on stderr. */
int sim_metrics_backfill(struct sim *s, int64_t duration_s, int64_t step_s, const char *path,
			 struct ks_err *err);

#endif
