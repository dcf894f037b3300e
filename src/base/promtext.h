/* promtext.h — the Prometheus text exposition format 0.0.4, written into a ks_buf.
 * A writer emits metric families one after another: ks_prom_family writes "# HELP" (when help
 * is not NULL) and "# TYPE", then ks_prom_sample (counter, gauge, untyped) or ks_prom_histogram
 * (histogram) append that family's samples. The format wants a family's samples together, so a
 * family name cannot be opened a second time. Metric names must match [a-zA-Z_:][a-zA-Z0-9_:]*,
 * label names [a-zA-Z_][a-zA-Z0-9_]*, label values and help text must be valid UTF-8; label
 * values are escaped (\\, \", \n) and help text too (\\, \n) as the format requires.
 * Sample values: integral values below 1e15 in magnitude as plain integers ("42"), other finite
 * values in the shortest form that reads back the same, written as Go's
 * strconv.FormatFloat(v, 'g', -1, 64) ("0.25", "1.2345675e+06"), and "+Inf", "-Inf", "NaN".
 * Histogram "le" values are written exactly as client_golang writes them ("0.005", "1",
 * "1e+06", "+Inf").
 * OpenMetrics 1.0 text (for `promtool tsdb create-blocks-from openmetrics`): a writer set up by
 * ks_prom_writer_init_om writes "# TYPE foo counter" for a counter family named "foo_total"
 * (whose samples keep the _total suffix; a counter family must end in _total there), "unknown"
 * for untyped, escapes '"' in help text too, writes timestamps in seconds ("1700000000.5")
 * and ends with ks_prom_eof ("# EOF").
 * Ownership: the writer borrows the output buffer (the caller owns it) and owns copies of the
 * family names it has written, freed by ks_prom_writer_release. Arguments are only read during
 * a call. A failing call returns a negative KS_E* code and leaves the buffer as it was. */
#ifndef KS_PROMTEXT_H
#define KS_PROMTEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ks_buf;
struct ks_err;

/* The Content-Type of a scrape response in this format, and of OpenMetrics text. */
#define KS_PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define KS_PROM_OM_CONTENT_TYPE "application/openmetrics-text; version=1.0.0; charset=utf-8"
/* Pass as ts_ms for a sample without a timestamp. */
#define KS_PROM_NO_TIMESTAMP INT64_MIN
/* Room for any number formatted by ks_prom_format_value / ks_prom_format_le. */
#define KS_PROM_NUM_MAX 32

enum ks_prom_type {
	KS_PROM_COUNTER,
	KS_PROM_GAUGE,
	KS_PROM_HISTOGRAM,
	KS_PROM_UNTYPED,
};

struct ks_prom_label {
	const char *name;
	const char *value;
};

/* One histogram observation set. counts holds nbounds + 1 per-bucket counts (not cumulative):
 * counts[i] observations in (bounds[i-1], bounds[i]], the last one those above bounds[nbounds-1].
 * bounds are finite and strictly increasing; the "+Inf" bucket is always written. */
struct ks_prom_histogram {
	const double *bounds;
	size_t nbounds;
	const uint64_t *counts;
	double sum;
};

struct ks_prom_writer {
	struct ks_buf *out;
	char *family; /* the open family, NULL before the first */
	enum ks_prom_type type;
	char **done; /* every family name written so far */
	size_t ndone, capdone;
	bool openmetrics; /* OpenMetrics 1.0 text instead of 0.0.4 */
};

void ks_prom_writer_init(struct ks_prom_writer *w, struct ks_buf *out);
void ks_prom_writer_release(struct ks_prom_writer *w);
/* The same writer for OpenMetrics text (see above). */
void ks_prom_writer_init_om(struct ks_prom_writer *w, struct ks_buf *out);
/* OpenMetrics: the final "# EOF" line. */
int ks_prom_eof(struct ks_prom_writer *w, struct ks_err *err);

/* Start a family: "# HELP name help" (omitted when help is NULL) and "# TYPE name type". */
int ks_prom_family(struct ks_prom_writer *w, const char *name, enum ks_prom_type type,
		   const char *help, struct ks_err *err);
/* One sample of the open counter, gauge or untyped family: name{labels} value [ts_ms]. */
int ks_prom_sample(struct ks_prom_writer *w, const struct ks_prom_label *labels, size_t nlabels,
		   double value, int64_t ts_ms, struct ks_err *err);
/* A label set validated and written once as a sample shows it ("{a=\"x\",b=\"y\"}", nothing
 * for no labels), appended to out, for ks_prom_sample_pre: the same series at many times, or
 * the same labels in many families, without validating and escaping them again. */
int ks_prom_labels_format(const struct ks_prom_label *labels, size_t nlabels,
			  struct ks_buf *out, struct ks_err *err);
/* ks_prom_sample with labels from ks_prom_labels_format (NULL or "" for none). */
int ks_prom_sample_pre(struct ks_prom_writer *w, const char *labels_text, double value,
		       int64_t ts_ms, struct ks_err *err);
/* One histogram of the open histogram family: cumulative name_bucket{...,le="..."} lines,
 * le="+Inf", then name_sum and name_count, all with the same labels and timestamp. The labels
 * must not include "le". */
int ks_prom_histogram(struct ks_prom_writer *w, const struct ks_prom_label *labels,
		      size_t nlabels, const struct ks_prom_histogram *h, int64_t ts_ms,
		      struct ks_err *err);

/* A sample value as described above; returns the length. out needs KS_PROM_NUM_MAX bytes. */
size_t ks_prom_format_value(double v, char *out, size_t outlen);
/* Go's strconv.FormatFloat(v, 'g', -1, 64), with "+Inf", "-Inf", "NaN" (as client_golang). */
size_t ks_prom_format_le(double v, char *out, size_t outlen);

bool ks_prom_valid_metric_name(const char *s);
bool ks_prom_valid_label_name(const char *s);
const char *ks_prom_type_name(enum ks_prom_type type);

#endif
