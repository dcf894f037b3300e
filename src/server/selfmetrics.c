/* selfmetrics.c — see selfmetrics.h. A registry is an array of families, each an array of
 * series keyed by the canonical label text that ks_prom_labels_format writes (so
 * `a="x"` and `{a="x"}` are the same series). Lookups are linear: a daemon has a few dozen
 * series and /metrics is scraped every few seconds at most. One mutex covers everything. */
#include "base/common.h"
#include "base/buf.h"
#include "base/err.h"
#include "server/selfmetrics.h"

#include <pthread.h>
#include <string.h>

static const double seconds_bounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
					 0.1,    0.25,  0.5,    1,     2.5,  5,     10};
#define NBOUNDS (sizeof seconds_bounds / sizeof seconds_bounds[0])

/* Label pairs one series may carry, and the bytes of a label set. */
#define MAX_LABELS 8
#define MAX_LABEL_TEXT 1024

struct series {
	char *labels; /* canonical "{a=\"x\"}" or "" */
	double value; /* counter, gauge; histogram: the sum */
	uint64_t counts[NBOUNDS + 1];
};

struct family {
	char *name;
	char *help;
	enum ks_prom_type type;
	struct series *series;
	size_t nseries, cap;
};

struct selfmetrics {
	pthread_mutex_t mu;
	struct family families[SELFMETRICS_MAX_FAMILIES];
	size_t nfamilies;
};

struct selfmetrics *selfmetrics_new(void)
{
	struct selfmetrics *m = ks_calloc(1, sizeof *m);
	pthread_mutex_init(&m->mu, NULL);
	return m;
}

void selfmetrics_free(struct selfmetrics *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->nfamilies; i++) {
		struct family *f = &m->families[i];
		for (size_t j = 0; j < f->nseries; j++)
			free(f->series[j].labels);
		free(f->series);
		free(f->name);
		free(f->help);
	}
	pthread_mutex_destroy(&m->mu);
	free(m);
}

/* Split `a="x",b="y"` (braces optional) into pairs, unescaping values in place in buf. */
static int split_labels(const char *text, char *buf, size_t buflen,
			struct ks_prom_label *pairs, size_t *npairs, struct ks_err *err)
{
	*npairs = 0;
	if (!text)
		return 0;
	size_t n = strlen(text);
	if (n && text[0] == '{') {
		if (text[n - 1] != '}')
			return ks_err_set(err, KS_EINVAL, "label set '%s': no closing brace", text);
		text++;
		n -= 2;
	}
	if (n + 1 > buflen)
		return ks_err_set(err, KS_ETOOBIG, "label set of %zu bytes (at most %zu)", n,
				  buflen - 1);
	memcpy(buf, text, n);
	buf[n] = '\0';
	char *p = buf;
	while (*p) {
		if (*npairs == MAX_LABELS)
			return ks_err_set(err, KS_ETOOBIG, "more than %d labels", MAX_LABELS);
		char *eq = strchr(p, '=');
		if (!eq || eq[1] != '"')
			return ks_err_set(err, KS_EINVAL,
					  "label set: expected name=\"value\" at '%s'", p);
		*eq = '\0';
		char *val = eq + 2, *r = val, *w = val;
		while (*r && *r != '"') {
			if (*r == '\\') {
				r++;
				if (*r != '\\' && *r != '"' && *r != 'n')
					return ks_err_set(err, KS_EINVAL,
							  "label %s: bad escape in value", p);
				*w++ = *r == 'n' ? '\n' : *r;
				r++;
				continue;
			}
			*w++ = *r++;
		}
		if (*r != '"')
			return ks_err_set(err, KS_EINVAL, "label %s: unterminated value", p);
		r++;
		*w = '\0';
		pairs[(*npairs)++] = (struct ks_prom_label){.name = p, .value = val};
		if (*r == ',')
			r++;
		else if (*r)
			return ks_err_set(err, KS_EINVAL, "label set: expected ',' at '%s'", r);
		p = r;
	}
	return 0;
}

/* The canonical text of a label set, into out (caller releases). */
static int canonical_labels(const char *labels, struct ks_buf *out, struct ks_err *err)
{
	char buf[MAX_LABEL_TEXT];
	struct ks_prom_label pairs[MAX_LABELS];
	size_t npairs;
	int rc = split_labels(labels, buf, sizeof buf, pairs, &npairs, err);
	if (rc)
		return rc;
	return ks_prom_labels_format(pairs, npairs, out, err);
}

static struct family *family_find(struct selfmetrics *m, const char *name)
{
	for (size_t i = 0; i < m->nfamilies; i++)
		if (!strcmp(m->families[i].name, name))
			return &m->families[i];
	return NULL;
}

/* The family of this name and type, created when new (mu held). */
static int family_get(struct selfmetrics *m, const char *name, enum ks_prom_type type,
		      struct family **out, struct ks_err *err)
{
	struct family *f = family_find(m, name);
	if (f) {
		if (f->type != type)
			return ks_err_set(err, KS_EINVAL, "metric %s is a %s, not a %s", name,
					  ks_prom_type_name(f->type), ks_prom_type_name(type));
		*out = f;
		return 0;
	}
	if (!ks_prom_valid_metric_name(name))
		return ks_err_set(err, KS_EINVAL, "'%s' is not a metric name", name);
	if (m->nfamilies == SELFMETRICS_MAX_FAMILIES)
		return ks_err_set(err, KS_ETOOBIG, "metric %s: more than %d families", name,
				  SELFMETRICS_MAX_FAMILIES);
	f = &m->families[m->nfamilies++];
	*f = (struct family){.name = ks_strdup(name), .type = type};
	*out = f;
	return 0;
}

/* The series of family name/type with these labels, created when new (mu held). */
static int series_get(struct selfmetrics *m, const char *name, enum ks_prom_type type,
		      const char *labels, struct series **out, struct ks_err *err)
{
	struct family *f;
	int rc = family_get(m, name, type, &f, err);
	if (rc)
		return rc;
	struct ks_buf canon;
	ks_buf_init(&canon, MAX_LABEL_TEXT * 2);
	rc = canonical_labels(labels, &canon, err);
	if (rc)
		goto out;
	for (size_t i = 0; i < f->nseries; i++) {
		if (!strcmp(f->series[i].labels, canon.data ? canon.data : "")) {
			*out = &f->series[i];
			goto out;
		}
	}
	if (f->nseries == SELFMETRICS_MAX_SERIES) {
		rc = ks_err_set(err, KS_ETOOBIG, "metric %s: more than %d series", name,
				SELFMETRICS_MAX_SERIES);
		goto out;
	}
	if (f->nseries == f->cap) {
		f->cap = f->cap ? f->cap * 2 : 8;
		f->series = ks_realloc(f->series, f->cap * sizeof *f->series);
	}
	*out = &f->series[f->nseries++];
	**out = (struct series){.labels = ks_buf_detach(&canon)};
out:
	ks_buf_release(&canon);
	return rc;
}

int selfmetrics_describe(struct selfmetrics *m, const char *family, enum ks_prom_type type,
			 const char *help, struct ks_err *err)
{
	pthread_mutex_lock(&m->mu);
	struct family *f;
	int rc = family_get(m, family, type, &f, err);
	if (!rc && help) {
		free(f->help);
		f->help = ks_strdup(help);
	}
	pthread_mutex_unlock(&m->mu);
	return rc;
}

int selfmetrics_count(struct selfmetrics *m, const char *family, const char *labels,
		      double add, struct ks_err *err)
{
	if (!(add >= 0))
		return ks_err_set(err, KS_EINVAL, "counter %s: cannot add %g", family, add);
	pthread_mutex_lock(&m->mu);
	struct series *s;
	int rc = series_get(m, family, KS_PROM_COUNTER, labels, &s, err);
	if (!rc)
		s->value += add;
	pthread_mutex_unlock(&m->mu);
	return rc;
}

int selfmetrics_set(struct selfmetrics *m, const char *family, const char *labels, double v,
		    struct ks_err *err)
{
	pthread_mutex_lock(&m->mu);
	struct series *s;
	int rc = series_get(m, family, KS_PROM_GAUGE, labels, &s, err);
	if (!rc)
		s->value = v;
	pthread_mutex_unlock(&m->mu);
	return rc;
}

int selfmetrics_observe(struct selfmetrics *m, const char *family, const char *labels,
			double v, struct ks_err *err)
{
	pthread_mutex_lock(&m->mu);
	struct series *s;
	int rc = series_get(m, family, KS_PROM_HISTOGRAM, labels, &s, err);
	if (!rc) {
		size_t i = 0;
		while (i < NBOUNDS && v > seconds_bounds[i])
			i++;
		s->counts[i]++;
		s->value += v;
	}
	pthread_mutex_unlock(&m->mu);
	return rc;
}

double selfmetrics_value(struct selfmetrics *m, const char *family, const char *labels)
{
	double v = 0;
	struct ks_buf canon;
	ks_buf_init(&canon, MAX_LABEL_TEXT * 2);
	if (canonical_labels(labels, &canon, NULL))
		goto out;
	pthread_mutex_lock(&m->mu);
	struct family *f = family_find(m, family);
	for (size_t i = 0; f && i < f->nseries; i++)
		if (!strcmp(f->series[i].labels, canon.data ? canon.data : ""))
			v = f->series[i].value;
	pthread_mutex_unlock(&m->mu);
out:
	ks_buf_release(&canon);
	return v;
}

int selfmetrics_render(struct selfmetrics *m, struct ks_buf *out, struct ks_err *err)
{
	struct ks_prom_writer w;
	ks_prom_writer_init(&w, out);
	int rc = 0;
	pthread_mutex_lock(&m->mu);
	for (size_t i = 0; i < m->nfamilies && !rc; i++) {
		struct family *f = &m->families[i];
		if (!f->nseries)
			continue;
		rc = ks_prom_family(&w, f->name, f->type, f->help, err);
		for (size_t j = 0; j < f->nseries && !rc; j++) {
			struct series *s = &f->series[j];
			if (f->type != KS_PROM_HISTOGRAM) {
				rc = ks_prom_sample_pre(&w, s->labels, s->value,
							KS_PROM_NO_TIMESTAMP, err);
				continue;
			}
			/* ks_prom_histogram takes pairs: split the canonical text back. */
			char buf[MAX_LABEL_TEXT * 2];
			struct ks_prom_label pairs[MAX_LABELS];
			size_t npairs;
			rc = split_labels(s->labels, buf, sizeof buf, pairs, &npairs, err);
			struct ks_prom_histogram h = {.bounds = seconds_bounds, .nbounds = NBOUNDS,
						      .counts = s->counts, .sum = s->value};
			if (!rc)
				rc = ks_prom_histogram(&w, pairs, npairs, &h, KS_PROM_NO_TIMESTAMP,
						       err);
		}
	}
	pthread_mutex_unlock(&m->mu);
	ks_prom_writer_release(&w);
	return rc;
}
