/* selfmetrics.h — a small thread-safe registry of kswarm's own metrics (kswarm_* counters,
 * gauges and histograms), rendered as Prometheus text with base/promtext.h for /metrics.
 * A series is a family name plus a label set written as Prometheus shows it, with or without
 * the braces: `route="/api/v1/plans",code="200"` or `{agent="cost"}`; NULL or "" for none.
 * Families are created on first use with the type of that use; using a family with another
 * type, a bad metric name or a bad label set fails with KS_EINVAL. Help texts are optional
 * (selfmetrics_describe). Families and series render in the order they were first used.
 * Histograms share one set of bounds (SELFMETRICS_SECONDS_BOUNDS, for durations).
 * Ownership: the registry owns copies of every name, label set and help text; free it with
 * selfmetrics_free. All calls may come from any thread (one mutex). */
#ifndef KS_SERVER_SELFMETRICS_H
#define KS_SERVER_SELFMETRICS_H

#include "base/promtext.h"

struct ks_buf;
struct ks_err;
struct selfmetrics;

/* Most families one registry holds, and series per family (a ceiling against label sets
 * that grow without bound). */
#define SELFMETRICS_MAX_FAMILIES 128
#define SELFMETRICS_MAX_SERIES 512

struct selfmetrics *selfmetrics_new(void);
void selfmetrics_free(struct selfmetrics *m);

/* Give a family its type and help text ahead of its first sample (optional). */
int selfmetrics_describe(struct selfmetrics *m, const char *family, enum ks_prom_type type,
			 const char *help, struct ks_err *err);
/* Add to a counter (add >= 0). */
int selfmetrics_count(struct selfmetrics *m, const char *family, const char *labels,
		      double add, struct ks_err *err);
/* Set a gauge. */
int selfmetrics_set(struct selfmetrics *m, const char *family, const char *labels, double v,
		    struct ks_err *err);
/* Add one observation to a histogram (seconds bounds). */
int selfmetrics_observe(struct selfmetrics *m, const char *family, const char *labels,
			double v, struct ks_err *err);
/* The current value of a counter or gauge series (0 when it does not exist; tests). */
double selfmetrics_value(struct selfmetrics *m, const char *family, const char *labels);
/* Append every family as Prometheus text 0.0.4. */
int selfmetrics_render(struct selfmetrics *m, struct ks_buf *out, struct ks_err *err);

#endif
