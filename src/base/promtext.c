/* promtext.c — see promtext.h.
 * Design: every public call validates all of its input first and only then appends; if an
 * append still fails (the buffer's ceiling) the buffer is cut back to its length at entry, so
 * the output never holds half a line. Numbers: the shortest round-trip digits come from trying
 * "%.*e" with 1..17 significant digits until strtod gives the value back; those digits are then
 * laid out the way Go's FormatFloat(v, 'g', -1, 64) does (exponent form when the decimal
 * exponent is below -4 or at least 6), which is how client_golang writes values and "le". */
#include "base/common.h"
#include "base/promtext.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

void ks_prom_writer_init(struct ks_prom_writer *w, struct ks_buf *out)
{
	memset(w, 0, sizeof *w);
	w->out = out;
}

void ks_prom_writer_init_om(struct ks_prom_writer *w, struct ks_buf *out)
{
	ks_prom_writer_init(w, out);
	w->openmetrics = true;
}

void ks_prom_writer_release(struct ks_prom_writer *w)
{
	for (size_t i = 0; i < w->ndone; i++)
		free(w->done[i]);
	free(w->done);
	memset(w, 0, sizeof *w);
}

const char *ks_prom_type_name(enum ks_prom_type type)
{
	switch (type) {
	case KS_PROM_COUNTER:
		return "counter";
	case KS_PROM_GAUGE:
		return "gauge";
	case KS_PROM_HISTOGRAM:
		return "histogram";
	case KS_PROM_UNTYPED:
		return "untyped";
	}
	return NULL;
}

static bool name_ok(const char *s, bool colon)
{
	if (!s || !*s)
		return false;
	for (const char *p = s; *p; p++) {
		char c = *p;
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
			  (colon && c == ':') || (p != s && c >= '0' && c <= '9');
		if (!ok)
			return false;
	}
	return true;
}

bool ks_prom_valid_metric_name(const char *s)
{
	return name_ok(s, true);
}

bool ks_prom_valid_label_name(const char *s)
{
	return name_ok(s, false);
}

/* Offset of the first byte that is not part of valid UTF-8 (no overlongs, no surrogates,
 * nothing above U+10FFFF), or -1 when all of s is valid. */
static long utf8_bad_offset(const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;
	while (s[i]) {
		unsigned c = s[i];
		size_t n;
		unsigned lo = 0x80, hi = 0xBF;
		if (c < 0x80) {
			i++;
			continue;
		} else if (c >= 0xC2 && c <= 0xDF) {
			n = 1;
		} else if (c >= 0xE0 && c <= 0xEF) {
			n = 2;
			if (c == 0xE0)
				lo = 0xA0;
			else if (c == 0xED)
				hi = 0x9F;
		} else if (c >= 0xF0 && c <= 0xF4) {
			n = 3;
			if (c == 0xF0)
				lo = 0x90;
			else if (c == 0xF4)
				hi = 0x8F;
		} else {
			return (long)i;
		}
		for (size_t k = 1; k <= n; k++) {
			unsigned d = s[i + k];
			if (d < (k == 1 ? lo : 0x80) || d > (k == 1 ? hi : 0xBF))
				return (long)i;
		}
		i += n + 1;
	}
	return -1;
}

/* Shortest round-trip digits of a finite non-zero |v|: digits (no dot) and decimal exponent. */
static void shortest_digits(double v, char *digits, size_t dlen, int *exp10)
{
	/* Reading back is monotone in the number of digits (p digits that read back imply p + 1
	 * do), so a binary search over 1..17 finds the fewest in at most five tries. */
	char tmp[40];
	int lo = 1, hi = 17;
	while (lo < hi) {
		int mid = (lo + hi) / 2;
		snprintf(tmp, sizeof tmp, "%.*e", mid - 1, v);
		if (strtod(tmp, NULL) == v)
			hi = mid;
		else
			lo = mid + 1;
	}
	snprintf(tmp, sizeof tmp, "%.*e", lo - 1, v);
	size_t n = 0;
	const char *p = tmp;
	for (; *p && *p != 'e'; p++)
		if (*p >= '0' && *p <= '9' && n + 1 < dlen)
			digits[n++] = *p;
	digits[n] = '\0';
	*exp10 = *p == 'e' ? atoi(p + 1) : 0;
}

size_t ks_prom_format_le(double v, char *out, size_t outlen)
{
	int n;
	if (isnan(v)) {
		n = snprintf(out, outlen, "NaN");
	} else if (isinf(v)) {
		n = snprintf(out, outlen, v > 0 ? "+Inf" : "-Inf");
	} else if (v == 0) {
		n = snprintf(out, outlen, "0"); /* -0 too, as client_golang */
	} else {
		char digits[24];
		int e;
		shortest_digits(fabs(v), digits, sizeof digits, &e);
		int nd = (int)strlen(digits);
		if (e < -4 || e >= 6)
			n = snprintf(out, outlen, "%.*e", nd - 1, v);
		else
			n = snprintf(out, outlen, "%.*f", nd - 1 - e > 0 ? nd - 1 - e : 0, v);
	}
	if (n < 0)
		n = 0;
	return (size_t)n < outlen ? (size_t)n : (outlen ? outlen - 1 : 0);
}

size_t ks_prom_format_value(double v, char *out, size_t outlen)
{
	if (isfinite(v) && v == floor(v) && fabs(v) < 1e15 && v != 0) {
		int n = snprintf(out, outlen, "%lld", (long long)v); /* exact below 2^53 */
		if (n < 0)
			n = 0;
		return (size_t)n < outlen ? (size_t)n : (outlen ? outlen - 1 : 0);
	}
	return ks_prom_format_le(v, out, outlen);
}

static int append_escaped(struct ks_buf *b, const char *s, bool quote)
{
	int rc = 0;
	const char *run = s;
	for (const char *p = s;; p++) {
		const char *esc = NULL;
		if (*p == '\\')
			esc = "\\\\";
		else if (*p == '\n')
			esc = "\\n";
		else if (quote && *p == '"')
			esc = "\\\"";
		else if (*p)
			continue;
		if (p > run)
			rc = rc ? rc : ks_buf_append(b, run, (size_t)(p - run));
		if (!esc)
			break;
		rc = rc ? rc : ks_buf_appendstr(b, esc);
		run = p + 1;
	}
	return rc;
}

/* Cut the buffer back after a failed append. */
static int rollback(struct ks_buf *b, size_t len, int rc, const char *what, struct ks_err *err)
{
	b->len = len;
	if (b->data)
		b->data[len] = '\0';
	return ks_err_set(err, rc, "metrics output: %s does not fit (%s)", what,
			  ks_errcode_name(rc));
}

static bool family_seen(const struct ks_prom_writer *w, const char *name)
{
	for (size_t i = 0; i < w->ndone; i++)
		if (strcmp(w->done[i], name) == 0)
			return true;
	return false;
}

int ks_prom_family(struct ks_prom_writer *w, const char *name, enum ks_prom_type type,
		   const char *help, struct ks_err *err)
{
	if (!ks_prom_valid_metric_name(name))
		return ks_err_set(err, KS_EINVAL,
				  "metric name '%s' is not valid (want [a-zA-Z_:][a-zA-Z0-9_:]*)",
				  name ? name : "(null)");
	if (!ks_prom_type_name(type))
		return ks_err_set(err, KS_EINVAL, "metric %s: unknown type %d", name, (int)type);
	if (family_seen(w, name))
		return ks_err_set(err, KS_EINVAL,
				  "metric %s: family already written; a family's samples must be "
				  "written together",
				  name);
	long bad = help ? utf8_bad_offset(help) : -1;
	if (bad >= 0)
		return ks_err_set(err, KS_EINVAL,
				  "metric %s: help text is not valid UTF-8 at byte %ld", name, bad);

	/* OpenMetrics names a counter family without its samples' _total suffix. */
	size_t shown = strlen(name);
	if (w->openmetrics && type == KS_PROM_COUNTER) {
		if (shown <= 6 || strcmp(name + shown - 6, "_total") != 0)
			return ks_err_set(err, KS_EINVAL,
					  "metric %s: an OpenMetrics counter's name must end in _total",
					  name);
		shown -= 6;
	}
	struct ks_buf *b = w->out;
	size_t len0 = b->len;
	int rc = 0;
	if (help) {
		rc = ks_buf_appendf(b, "# HELP %.*s ", (int)shown, name);
		rc = rc ? rc : append_escaped(b, help, w->openmetrics);
		rc = rc ? rc : ks_buf_appendc(b, '\n');
	}
	const char *tname = ks_prom_type_name(type);
	if (w->openmetrics && type == KS_PROM_UNTYPED)
		tname = "unknown";
	rc = rc ? rc : ks_buf_appendf(b, "# TYPE %.*s %s\n", (int)shown, name, tname);
	if (rc)
		return rollback(b, len0, rc, name, err);

	w->done = ks_grow(w->done, sizeof *w->done, w->ndone + 1, &w->capdone);
	w->done[w->ndone++] = ks_strdup(name);
	w->family = w->done[w->ndone - 1];
	w->type = type;
	return 0;
}

static int check_labels(const char *family, const struct ks_prom_label *labels, size_t n,
			bool no_le, struct ks_err *err)
{
	for (size_t i = 0; i < n; i++) {
		const char *ln = labels[i].name;
		if (!ks_prom_valid_label_name(ln))
			return ks_err_set(err, KS_EINVAL,
					  "metric %s: label name '%s' is not valid (want "
					  "[a-zA-Z_][a-zA-Z0-9_]*)",
					  family, ln ? ln : "(null)");
		if (!labels[i].value)
			return ks_err_set(err, KS_EINVAL, "metric %s: label %s has no value",
					  family, ln);
		long bad = utf8_bad_offset(labels[i].value);
		if (bad >= 0)
			return ks_err_set(err, KS_EINVAL,
					  "metric %s: value of label %s is not valid UTF-8 "
					  "at byte %ld",
					  family, ln, bad);
		if (no_le && strcmp(ln, "le") == 0)
			return ks_err_set(err, KS_EINVAL,
					  "metric %s: a histogram cannot have a label named le",
					  family);
		for (size_t j = 0; j < i; j++)
			if (strcmp(labels[j].name, ln) == 0)
				return ks_err_set(err, KS_EINVAL, "metric %s: label %s given twice",
						  family, ln);
	}
	return 0;
}

/* {labels[,le="le"]}, nothing when there are neither */
static int append_labels(struct ks_buf *b, const struct ks_prom_label *labels, size_t n,
			 const char *le)
{
	if (!n && !le)
		return 0;
	int rc = ks_buf_appendc(b, '{');
	for (size_t i = 0; i < n; i++) {
		if (i)
			rc = rc ? rc : ks_buf_appendc(b, ',');
		rc = rc ? rc : ks_buf_appendstr(b, labels[i].name);
		rc = rc ? rc : ks_buf_append(b, "=\"", 2);
		rc = rc ? rc : append_escaped(b, labels[i].value, true);
		rc = rc ? rc : ks_buf_appendc(b, '"');
	}
	if (le)
		rc = rc ? rc : ks_buf_appendf(b, "%sle=\"%s\"", n ? "," : "", le);
	return rc ? rc : ks_buf_appendc(b, '}');
}

/* " value[ ts]\n" */
static int append_tail(struct ks_buf *b, bool om, const char *val, int64_t ts_ms)
{
	int rc = ks_buf_appendc(b, ' ');
	rc = rc ? rc : ks_buf_appendstr(b, val);
	if (ts_ms != KS_PROM_NO_TIMESTAMP && !om)
		rc = rc ? rc : ks_buf_appendf(b, " %lld", (long long)ts_ms);
	if (ts_ms != KS_PROM_NO_TIMESTAMP && om) {
		/* seconds, with the milliseconds when there are any */
		const char *sign = ts_ms < 0 ? "-" : "";
		uint64_t mag = ts_ms < 0 ? (uint64_t)0 - (uint64_t)ts_ms : (uint64_t)ts_ms;
		unsigned long long sec = mag / 1000, ms = mag % 1000;
		if (ms)
			rc = rc ? rc : ks_buf_appendf(b, " %s%llu.%03llu", sign, sec, ms);
		else
			rc = rc ? rc : ks_buf_appendf(b, " %s%llu", sign, sec);
	}
	return rc ? rc : ks_buf_appendc(b, '\n');
}

/* name+suffix{labels[,le="le"]} value[ ts]\n */
static int write_line(struct ks_buf *b, bool om, const char *name, const char *suffix,
		      const struct ks_prom_label *labels, size_t n, const char *le, const char *val,
		      int64_t ts_ms)
{
	int rc = ks_buf_appendstr(b, name);
	rc = rc ? rc : ks_buf_appendstr(b, suffix);
	rc = rc ? rc : append_labels(b, labels, n, le);
	return rc ? rc : append_tail(b, om, val, ts_ms);
}

static int check_open(const struct ks_prom_writer *w, bool histogram, struct ks_err *err)
{
	if (!w->family)
		return ks_err_set(err, KS_EINVAL, "metrics output: sample before any family");
	if (histogram != (w->type == KS_PROM_HISTOGRAM))
		return ks_err_set(err, KS_EINVAL, "metric %s: is a %s; use %s", w->family,
				  ks_prom_type_name(w->type),
				  histogram ? "ks_prom_sample" : "ks_prom_histogram");
	return 0;
}

int ks_prom_sample(struct ks_prom_writer *w, const struct ks_prom_label *labels, size_t nlabels,
		   double value, int64_t ts_ms, struct ks_err *err)
{
	int rc = check_open(w, false, err);
	if (rc)
		return rc;
	rc = check_labels(w->family, labels, nlabels, false, err);
	if (rc)
		return rc;
	char val[KS_PROM_NUM_MAX];
	ks_prom_format_value(value, val, sizeof val);
	size_t len0 = w->out->len;
	rc = write_line(w->out, w->openmetrics, w->family, "", labels, nlabels, NULL, val, ts_ms);
	return rc ? rollback(w->out, len0, rc, w->family, err) : 0;
}

int ks_prom_labels_format(const struct ks_prom_label *labels, size_t nlabels,
			  struct ks_buf *out, struct ks_err *err)
{
	int rc = check_labels("label set", labels, nlabels, false, err);
	if (rc)
		return rc;
	size_t len0 = out->len;
	rc = append_labels(out, labels, nlabels, NULL);
	return rc ? rollback(out, len0, rc, "label set", err) : 0;
}

int ks_prom_sample_pre(struct ks_prom_writer *w, const char *labels_text, double value,
		       int64_t ts_ms, struct ks_err *err)
{
	int rc = check_open(w, false, err);
	if (rc)
		return rc;
	char val[KS_PROM_NUM_MAX];
	ks_prom_format_value(value, val, sizeof val);
	size_t len0 = w->out->len;
	rc = ks_buf_appendstr(w->out, w->family);
	rc = rc ? rc : ks_buf_appendstr(w->out, labels_text ? labels_text : "");
	rc = rc ? rc : append_tail(w->out, w->openmetrics, val, ts_ms);
	return rc ? rollback(w->out, len0, rc, w->family, err) : 0;
}

int ks_prom_histogram(struct ks_prom_writer *w, const struct ks_prom_label *labels,
		      size_t nlabels, const struct ks_prom_histogram *h, int64_t ts_ms,
		      struct ks_err *err)
{
	int rc = check_open(w, true, err);
	if (rc)
		return rc;
	rc = check_labels(w->family, labels, nlabels, true, err);
	if (rc)
		return rc;
	if (h->nbounds && (!h->bounds || !h->counts))
		return ks_err_set(err, KS_EINVAL, "metric %s: histogram without bounds or counts",
				  w->family);
	if (!h->counts)
		return ks_err_set(err, KS_EINVAL, "metric %s: histogram without counts", w->family);
	for (size_t i = 0; i < h->nbounds; i++) {
		if (!isfinite(h->bounds[i]))
			return ks_err_set(err, KS_EINVAL,
					  "metric %s: bucket bound %zu is not finite (+Inf is "
					  "implied)",
					  w->family, i);
		if (i && !(h->bounds[i] > h->bounds[i - 1]))
			return ks_err_set(err, KS_EINVAL,
					  "metric %s: bucket bounds are not strictly increasing at "
					  "%zu",
					  w->family, i);
	}

	struct ks_buf *b = w->out;
	bool om = w->openmetrics;
	size_t len0 = b->len;
	uint64_t cum = 0;
	char le[KS_PROM_NUM_MAX], val[KS_PROM_NUM_MAX];
	for (size_t i = 0; i <= h->nbounds && !rc; i++) {
		cum += h->counts[i];
		if (i < h->nbounds)
			ks_prom_format_le(h->bounds[i], le, sizeof le);
		else
			snprintf(le, sizeof le, "+Inf");
		snprintf(val, sizeof val, "%llu", (unsigned long long)cum);
		rc = write_line(b, om, w->family, "_bucket", labels, nlabels, le, val, ts_ms);
	}
	ks_prom_format_value(h->sum, val, sizeof val);
	rc = rc ? rc : write_line(b, om, w->family, "_sum", labels, nlabels, NULL, val, ts_ms);
	snprintf(val, sizeof val, "%llu", (unsigned long long)cum);
	rc = rc ? rc : write_line(b, om, w->family, "_count", labels, nlabels, NULL, val, ts_ms);
	return rc ? rollback(b, len0, rc, w->family, err) : 0;
}

int ks_prom_eof(struct ks_prom_writer *w, struct ks_err *err)
{
	if (!w->openmetrics)
		return ks_err_set(err, KS_EINVAL, "metrics output: # EOF is OpenMetrics only");
	size_t len0 = w->out->len;
	int rc = ks_buf_appendstr(w->out, "# EOF\n");
	return rc ? rollback(w->out, len0, rc, "# EOF", err) : 0;
}
