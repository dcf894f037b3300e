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

#endif
