/* prom.h — a client for the Prometheus HTTP API: instant queries (/api/v1/query) and range
 * queries (/api/v1/query_range), and the parser of their JSON responses.
 *
 * The response format (prometheus.io/docs/prometheus/latest/querying/api/):
 *   {"status":"success","data":{"resultType":"vector"|"matrix"|"scalar"|"string",
 *    "result":…},"warnings":[…]}
 * vector: [{"metric":{labels},"value":[ts,"1.5"]}], matrix: [{"metric":{…},
 * "values":[[ts,"v"],…]}], scalar: [ts,"v"]. Sample values are strings, Go's float format
 * plus "NaN", "+Inf", "-Inf"; timestamps are numbers (seconds, fractional). Errors are
 * {"status":"error","errorType":"bad_data","error":"…"}, with HTTP 400, 422, 503 (or 200),
 * and are reported with their type and text. A scalar becomes one series without labels; a
 * string result is refused (no query of ours makes one).
 *
 * Requests are POSTed form-encoded (no URL length limit on long PromQL), one blocking libcurl
 * easy transfer each, with a timeout and a ceiling on the response body (PROM_MAX_RESPONSE
 * by default); only http and https are allowed.
 *
 * Ownership: a prom_client copies its options' strings; a prom_result owns its series,
 * labels and samples (prom_result_free); label strings point into the result. */
#ifndef KS_METRICS_PROM_H
#define KS_METRICS_PROM_H

#include <stdbool.h>
#include <stddef.h>

struct ks_err;

#define PROM_MAX_RESPONSE ((size_t)64 << 20)
#define PROM_DEFAULT_TIMEOUT_MS 30000L

enum prom_result_type { PROM_VECTOR, PROM_MATRIX, PROM_SCALAR };

struct prom_label {
	char *name, *value;
};

struct prom_sample {
	double t; /* Unix seconds */
	double v; /* may be NaN or ±Inf */
};

struct prom_series {
	struct prom_label *labels; /* sorted as the server sent them */
	size_t nlabels;
	struct prom_sample *samples; /* one for vector and scalar */
	size_t nsamples;
};

struct prom_result {
	enum prom_result_type type;
	struct prom_series *series;
	size_t nseries;
	size_t nwarnings; /* the response's warnings, counted */
};

/* The value of label name of s, or NULL. */
const char *prom_series_label(const struct prom_series *s, const char *name);
void prom_result_free(struct prom_result *r); /* leaves r zeroed; a zeroed r is fine */

/* Parse one response body (len bytes, need not be NUL-terminated). A status "error"
 * response fails with KS_EINVAL and "prometheus: <errorType>: <error>"; a malformed one with
 * KS_EINVAL naming what is wrong; over max bytes (0: PROM_MAX_RESPONSE) with KS_ETOOBIG. */
int prom_parse_response(const char *body, size_t len, size_t max, struct prom_result *out,
			struct ks_err *err);

struct prom_client_opts {
	const char *url;        /* "http://127.0.0.1:9090" (a path prefix is kept) */
	long timeout_ms;        /* per request, 0: PROM_DEFAULT_TIMEOUT_MS */
	size_t max_response;    /* 0: PROM_MAX_RESPONSE */
};

struct prom_client;
int prom_client_new(const struct prom_client_opts *o, struct prom_client **out,
		    struct ks_err *err);
void prom_client_free(struct prom_client *c); /* NULL is fine */
const char *prom_client_url(const struct prom_client *c);

/* An instant query at time at (Unix seconds; 0: the server's now). */
int prom_query(struct prom_client *c, const char *query, double at, struct prom_result *out,
	       struct ks_err *err);
/* A range query over [start, end] every step seconds (step > 0). */
int prom_query_range(struct prom_client *c, const char *query, double start, double end,
		     double step, struct prom_result *out, struct ks_err *err);

/* The time scale of the cluster behind c. kswarm's simulator (`kswarm sim --time-scale X`)
 * runs X simulated seconds per real second and exports its clock as the gauge
 * sim_time_seconds; Prometheus stamps samples in real time while the counters scraped from
 * the simulator advance in simulated seconds. The scale is that gauge's deriv over the last
 * 2 minutes (PROM_TIME_SCALE_QUERY, a few scrapes) at time at (0: the server's now), taken
 * to hold for the whole run. *scale is 1 when the series is absent (a real cluster) or its
 * deriv is not finite or at most PROM_TIME_SCALE_MIN (a clock running at real speed, with
 * scrape jitter around 1). Not the simulator's own gauge sim_time_scale: a simulator history
 * backfilled into Prometheus carries simulated timestamps, where the deriv is rightly 1.
 * Fails only when the query does. */
#define PROM_TIME_SCALE_QUERY "max(deriv(sim_time_seconds[2m]))"
#define PROM_TIME_SCALE_MIN 1.5
int prom_time_scale(struct prom_client *c, double at, double *scale, struct ks_err *err);

#endif
