/* rightsize.h — container right-sizing from usage history, with the VPA recommender's math
 * (docs/RIGHTSIZING.md has every constant, its source in kubernetes/autoscaler, and the few
 * we changed and why).
 *
 * Per (namespace, workload, container) — all replicas of a workload feed one aggregate, as
 * the VPA aggregates the pods of its target — two decaying histograms:
 *  - CPU: one sample per usage rate (cores) over one step, weighted 2^((t - ref) / 24 h);
 *  - memory: one sample per pod container per 24 h interval, its peak working set (bumped
 *    after an OOM kill to max(used + 100 MiB, used * 1.2), used = max(request, peak)),
 *    weighted 2^((interval end - ref) / 24 h); the last RS_MEM_INTERVALS intervals only.
 * Buckets grow 5% (exponential: bucket b starts at first * (1.05^b - 1) / 0.05); a percentile
 * is the end of the bucket where the cumulative weight reaches it. Target p90, lower p50,
 * upper p95, each +15%; upper * (1 + 1/confidence), lower * (1 + 0.001/confidence)^-2,
 * confidence = min(history span, samples * step) in days; then the floors (25m CPU, 250 MiB
 * memory per pod, split evenly among its containers), then the LimitRange min/max.
 *
 * Life cycle: rs_set_new -> rs_set_add_cpu / rs_set_add_memory / rs_set_add_oom, or
 * rs_fetch_prometheus (a handful of whole-namespace or whole-cluster range queries) ->
 * rs_recommend (one rs_rec per container spec given) -> rs_set_free.
 *
 * Ownership: a rs_set copies the names it is given; the rs_rec array returned by
 * rs_recommend is the caller's (free with free()), and its spec pointers point into the
 * caller's spec array. Not thread-safe: one set per thread. */
#ifndef KS_COST_RIGHTSIZE_H
#define KS_COST_RIGHTSIZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ks_err;
struct prom_client;
struct prom_sample;

/* ---- constants (VPA defaults unless docs/RIGHTSIZING.md says otherwise) ---- */
#define RS_BUCKET_GROWTH 0.05          /* each bucket 5% wider than the one before */
#define RS_CPU_FIRST_BUCKET 0.01       /* cores */
#define RS_CPU_MAX 1000.0              /* cores: the last bucket starts at or above it */
#define RS_MEM_FIRST_BUCKET 1e7        /* bytes */
#define RS_MEM_MAX 1e12                /* bytes */
#define RS_EPSILON 0.001               /* weight under which a bucket is empty (fresh = 1) */
#define RS_HALF_LIFE_S 86400.0         /* CPU and memory */
#define RS_TARGET_PCT 0.90
#define RS_LOWER_PCT 0.50
#define RS_UPPER_PCT 0.95
#define RS_SAFETY_MARGIN 0.15
#define RS_OOM_BUMP_RATIO 1.2
#define RS_OOM_MIN_BUMP (100.0 * 1024 * 1024)
#define RS_POD_MIN_CPU 0.025           /* cores per pod */
#define RS_POD_MIN_MEM (250.0 * 1024 * 1024)
#define RS_MEM_INTERVAL_S 86400.0      /* one memory peak per interval */
#define RS_MEM_INTERVALS 8             /* intervals kept: an 8-day memory window */
#define RS_UPPER_CONF_MULT 1.0         /* upper * (1 + 1/conf)^1 */
#define RS_UPPER_CONF_EXP 1.0
#define RS_LOWER_CONF_MULT 0.001       /* lower * (1 + 0.001/conf)^-2 */
#define RS_LOWER_CONF_EXP (-2.0)
#define RS_MIN_HISTORY_S 86400.0       /* less history than this: RS_SHORT_HISTORY */

/* ---- histograms ---- */
enum rs_resource { RS_CPU, RS_MEMORY };

/* 176 for both with the constants above. */
int rs_bucket_count(enum rs_resource r);
/* Start of bucket b (0 for b = 0); b in [0, rs_bucket_count). */
double rs_bucket_start(enum rs_resource r, int b);
/* The bucket of v: the last one whose start is <= v (values below 0 and NaN: 0). */
int rs_find_bucket(enum rs_resource r, double v);
/* A sample's weight at time t (Unix seconds) against the reference time ref. */
double rs_decay_weight(double t, double ref);

/* A histogram holding only the buckets between its lowest and highest non-empty one. */
struct rs_hist {
	double *w;      /* weights of buckets lo .. lo + n - 1 */
	double total;
	int lo, n;
};
void rs_hist_add(struct rs_hist *h, enum rs_resource r, double v, double weight);
/* The VPA's percentile: the end of the bucket where the cumulative weight reaches
 * p * total (the start of the last bucket, which has no end); 0 when empty. */
double rs_hist_percentile(const struct rs_hist *h, enum rs_resource r, double p);
bool rs_hist_empty(const struct rs_hist *h);
void rs_hist_release(struct rs_hist *h);

/* ---- the set of aggregates ---- */

/* Which workload a pod belongs to ("Deployment/web"); NULL: the pod stands alone. */
typedef const char *(*rs_workload_fn)(void *ctx, const char *ns, const char *pod);

struct rs_set_opts {
	double ref_time;          /* the end of the history (Unix seconds): weights are 1 there */
	double cpu_step_s;        /* the span one CPU sample covers (for the confidence) */
	rs_workload_fn workload_of; /* NULL: every pod stands alone */
	void *workload_ctx;
};

struct rs_set;
struct rs_set *rs_set_new(const struct rs_set_opts *o);
void rs_set_free(struct rs_set *s); /* NULL is fine */
size_t rs_set_size(const struct rs_set *s); /* aggregates */
/* The time scale rs_fetch_prometheus found (cluster seconds per real second: X for kswarm's
 * simulator at --time-scale X, 1 on a real cluster); 1 for a set not filled by it. */
double rs_set_time_scale(const struct rs_set *s);

/* CPU usage samples (cores, each the mean over the step ending at t) of one container;
 * NaN, infinite and negative values are skipped. */
void rs_set_add_cpu(struct rs_set *s, const char *ns, const char *pod, const char *container,
		    const struct prom_sample *v, size_t n);
/* Working-set samples (bytes) of one container: the peak of each memory interval is kept
 * (intervals end at ref_time - k * RS_MEM_INTERVAL_S); samples older than the window or
 * after ref_time are ignored. */
void rs_set_add_memory(struct rs_set *s, const char *ns, const char *pod,
		       const char *container, const struct prom_sample *v, size_t n);
/* An OOM kill of the container at time t (in the memory window, else ignored). */
void rs_set_add_oom(struct rs_set *s, const char *ns, const char *pod, const char *container,
		    double t);

/* ---- Prometheus ---- */
/* Times and spans here are cluster time; on a real cluster that is Prometheus' time. */
struct rs_fetch_opts {
	const char *ns;        /* one namespace, or NULL: the whole cluster */
	double end;            /* Unix seconds (Prometheus' clock); 0: now */
	double window_s;       /* CPU history; 0: RS_MEM_INTERVALS * RS_MEM_INTERVAL_S */
	double cpu_step_s;     /* 0: chosen from the series count (RS_FETCH_* below) */
	size_t max_points;     /* points per CPU query; 0: RS_FETCH_MAX_POINTS */
};
#define RS_FETCH_MIN_STEP_S 300.0       /* a 5-minute rate: a few scrapes in each */
#define RS_FETCH_MAX_STEP_S 3600.0
#define RS_FETCH_MAX_POINTS ((size_t)1 << 20)   /* ~35 MB of JSON: under PROM_MAX_RESPONSE */
#define RS_FETCH_MAX_CPU_QUERIES 16
/* Simulated clusters only (time scale X > 1): the shortest CPU rate range in real seconds,
 * so that a few scrapes fall in each (the cluster-time step becomes at least 30 X: 12 h at
 * X = 1440), as promfetch.c's; and how far each OOM increase reaches into the interval
 * before, so that no OOM kill falls between two ranges (the scrape interval of Prometheus'
 * example configuration; kswarm's simulator is scraped every 5 s). */
#define RS_FETCH_MIN_REAL_STEP_S 30.0
#define RS_FETCH_OOM_OVERLAP_S 15.0

/* Fill a set (made with ref_time = end and cpu_step_s = 0, both set here) from cAdvisor's
 * series: one instant query for the time scale (prom_time_scale, kept for
 * rs_set_time_scale) and one counting the containers, the CPU rate as time-chunked range
 * queries (at most RS_FETCH_MAX_CPU_QUERIES), the memory peak and the OOM increase per
 * memory interval as one range query each. Fails, naming the query, when one fails; the
 * set may then hold part of the history.
 * A simulated cluster at time scale X is queried over [end - window / X, end] real time,
 * with CPU rate ranges and steps of step / X (whole seconds, at least
 * RS_FETCH_MIN_REAL_STEP_S; cpu_step_s is that times X) and memory intervals of
 * RS_MEM_INTERVAL_S / X; its rates are divided by X and its sample times t mapped to
 * end - (end - t) X, so the set, cpu_step_s and every rs_rec are in cluster time. At X = 1
 * the queries and results are those of a real cluster. */
int rs_fetch_prometheus(struct rs_set *s, struct prom_client *c, const struct rs_fetch_opts *o,
			struct ks_err *err);
/* The PromQL of the CPU, memory and OOM queries for namespace ns (NULL: all) with range
 * rng ("300s"); the caller frees. */
char *rs_promql(enum rs_resource r, bool oom, const char *ns, const char *rng);

/* ---- recommendations ---- */
struct rs_spec {
	const char *ns, *workload, *container; /* workload as rs_workload_fn names it, or the pod */
	int pod_containers;      /* containers in the pod (the floors are split among them) */
	double cpu_request, cpu_limit; /* cores; 0: none */
	double mem_request, mem_limit; /* bytes; 0: none */
	bool hpa_on_cpu;         /* an HPA scales the workload on CPU: leave CPU alone */
	/* LimitRange (type Container) min and max; 0: none */
	double lr_min_cpu, lr_max_cpu, lr_min_mem, lr_max_mem;
};

enum rs_status { RS_OK, RS_SHORT_HISTORY, RS_NO_DATA };

enum rs_reason {
	RS_REASON_NO_DATA,         /* no usage at all */
	RS_REASON_HPA_CPU,         /* CPU left to the HPA */
	RS_REASON_OVER_REQUESTED,  /* the request is above the upper bound */
	RS_REASON_UNDER_REQUESTED, /* the request is below the lower bound */
	RS_REASON_NO_REQUEST,      /* nothing requested */
	RS_REASON_FITS,            /* the request is within [lower, upper] */
};
const char *rs_status_name(enum rs_status s);  /* "ok", "short-history", "no-data" */
const char *rs_reason_name(enum rs_reason r);  /* "over-requested", … */

struct rs_amounts {
	double target, lower, upper; /* cores or bytes; all 0 when there is no data */
	enum rs_reason reason;
	bool oom_bumped;             /* an OOM bump raised a memory peak */
	bool clamped;                /* a LimitRange min or max moved the target */
};

#define RS_REASON_TEXT_MAX 256
struct rs_rec {
	const struct rs_spec *spec;  /* the input, with the current requests and limits */
	enum rs_status status;
	double history_hours;        /* span of the CPU samples */
	double confidence;           /* days, as the VPA's */
	size_t cpu_samples, mem_peaks;
	struct rs_amounts cpu, mem;
	/* "cpu: over-requested: requests 1000m, recommended 588m (588m-882m); memory: fits: …;
	 * short-history: 6.0 h"; ", OOM bump" and ", LimitRange" follow a resource they moved */
	char text[RS_REASON_TEXT_MAX];
};

/* One recommendation per spec, in order; *out is the caller's (free()). */
int rs_recommend(struct rs_set *s, const struct rs_spec *specs, size_t n,
		 struct rs_rec **out, struct ks_err *err);

#endif
