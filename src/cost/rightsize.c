/* rightsize.c — the VPA recommender's decaying histograms and estimators (see rightsize.h,
 * docs/RIGHTSIZING.md).
 *
 * Data: a set holds two maps. Series ("ns \x1f pod \x1f container") keep what is per pod
 * container until the end: the memory peak of each interval and whether it saw an OOM kill
 * (the OOM bump needs the request, which only rs_recommend knows). Aggregates
 * ("ns \x1f workload \x1f container") hold the CPU histogram (filled as samples arrive), the
 * memory histogram (folded from their series' peaks by rs_recommend) and the sample counts.
 *
 * Time: the set only ever sees cluster time. rs_fetch_prometheus queries a simulated
 * cluster in real time and maps what comes back (to_cluster_time) before it is added.
 *
 * Speed: a histogram stores only its non-empty bucket range (~20-40 doubles, not 176); a
 * bucket is found from the top bits of the value (a table) and one comparison, no log; a
 * sample's decay weight is the previous one's times 2^(step / half-life) when the step
 * repeats, else one exp2. */
#include "base/common.h"
#include "cost/rightsize.h"

#include "base/hashmap.h"
#include "base/timeutil.h"
#include "metrics/prom.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

/* ---- buckets ---- */

#define MAX_BUCKETS 256 /* guess[] holds a bucket in a byte */

/* guess[key] for key = (the top 20 bits of a double v) - key0: the bucket of the smallest
 * double with those bits. Those bits keep 8 bits of mantissa, so a key spans under 0.4% of
 * v while every bucket spans at least 5% (the first ones more): v is in guess[key] or the
 * next bucket. */
#define KEY_SHIFT 44
#define MAX_KEYS 8192

struct bucket_table {
	double first;
	int n;
	double start[MAX_BUCKETS];
	uint64_t key0;
	int nkeys;
	uint8_t guess[MAX_KEYS];
};

static uint64_t key_of(double v)
{
	uint64_t bits;
	memcpy(&bits, &v, sizeof(bits));
	return bits >> KEY_SHIFT;
}

static struct bucket_table tables[2];
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

/* NewExponentialHistogramOptions: n = ceil(log_ratio(max * (ratio - 1) / first + 1)) + 1;
 * bucket b starts at first * (ratio^b - 1) / (ratio - 1). */
static void table_init(struct bucket_table *t, double first, double max)
{
	double ratio = 1 + RS_BUCKET_GROWTH;
	t->first = first;
	t->n = (int)ceil(log(max * (ratio - 1) / first + 1) / log(ratio)) + 1;
	if (t->n > MAX_BUCKETS)
		t->n = MAX_BUCKETS;
	for (int b = 0; b < t->n; b++)
		t->start[b] = b == 0 ? 0 : first * (pow(ratio, b) - 1) / (ratio - 1);
	t->key0 = key_of(first);
	t->nkeys = (int)(key_of(t->start[t->n - 1]) - t->key0 + 1);
	if (t->nkeys > MAX_KEYS)
		t->nkeys = MAX_KEYS;
	int b = 0;
	for (int k = 0; k < t->nkeys; k++) {
		uint64_t bits = (t->key0 + (uint64_t)k) << KEY_SHIFT;
		double lo;
		memcpy(&lo, &bits, sizeof(lo));
		while (b + 1 < t->n && lo >= t->start[b + 1])
			b++;
		t->guess[k] = (uint8_t)b;
	}
}

static void tables_init(void)
{
	table_init(&tables[RS_CPU], RS_CPU_FIRST_BUCKET, RS_CPU_MAX);
	table_init(&tables[RS_MEMORY], RS_MEM_FIRST_BUCKET, RS_MEM_MAX);
}

static const struct bucket_table *table(enum rs_resource r)
{
	pthread_once(&tables_once, tables_init);
	return &tables[r == RS_MEMORY];
}

int rs_bucket_count(enum rs_resource r)
{
	return table(r)->n;
}

double rs_bucket_start(enum rs_resource r, int b)
{
	const struct bucket_table *t = table(r);
	return b <= 0 ? 0 : b >= t->n ? t->start[t->n - 1] : t->start[b];
}

/* The bucket of v: the last one whose start is <= v (the table decides, so a value on a
 * boundary lands exactly as the formula's bucket starts say). */
static inline int find_bucket(const struct bucket_table *t, double v)
{
	if (!(v >= t->first))
		return 0; /* below the first bucket's end, negative or NaN */
	int last = t->n - 1;
	if (v >= t->start[last])
		return last;
	uint64_t key = key_of(v) - t->key0;
	int b = key < (uint64_t)t->nkeys ? t->guess[key] : last;
	if (b < last && v >= t->start[b + 1])
		b++;
	return b;
}

int rs_find_bucket(enum rs_resource r, double v)
{
	return find_bucket(table(r), v);
}

double rs_decay_weight(double t, double ref)
{
	return exp2((t - ref) / RS_HALF_LIFE_S);
}

/* ---- histograms ---- */

static void hist_grow(struct rs_hist *h, int b)
{
	if (h->n == 0) {
		h->w = ks_malloc(sizeof(double));
		h->lo = b;
		h->n = 1;
		h->w[0] = 0;
	} else if (b < h->lo) {
		int grow = h->lo - b;
		h->w = ks_realloc(h->w, (size_t)(h->n + grow) * sizeof(double));
		memmove(h->w + grow, h->w, (size_t)h->n * sizeof(double));
		for (int i = 0; i < grow; i++)
			h->w[i] = 0;
		h->lo = b;
		h->n += grow;
	} else if (b >= h->lo + h->n) {
		int n = b - h->lo + 1;
		h->w = ks_realloc(h->w, (size_t)n * sizeof(double));
		for (int i = h->n; i < n; i++)
			h->w[i] = 0;
		h->n = n;
	}
}

static inline void hist_add_bucket(struct rs_hist *h, int b, double weight)
{
	if ((unsigned)(b - h->lo) >= (unsigned)h->n)
		hist_grow(h, b);
	h->w[b - h->lo] += weight;
	h->total += weight;
}

void rs_hist_add(struct rs_hist *h, enum rs_resource r, double v, double weight)
{
	if (!(weight >= 0) || !isfinite(weight))
		return;
	hist_add_bucket(h, find_bucket(table(r), v), weight);
}

/* The first and last buckets holding at least RS_EPSILON, as the VPA's minBucket and
 * maxBucket; false when there is none. */
static bool hist_range(const struct rs_hist *h, int *min, int *max)
{
	int i = 0, j = h->n - 1;
	while (i < h->n && h->w[i] < RS_EPSILON)
		i++;
	if (i >= h->n)
		return false;
	while (h->w[j] < RS_EPSILON)
		j--;
	*min = i;
	*max = j;
	return true;
}

bool rs_hist_empty(const struct rs_hist *h)
{
	int a, b;
	return !hist_range(h, &a, &b);
}

double rs_hist_percentile(const struct rs_hist *h, enum rs_resource r, double p)
{
	int min, max;
	if (!hist_range(h, &min, &max))
		return 0;
	double threshold = p * h->total, partial = 0;
	int i = min;
	for (; i < max; i++) {
		partial += h->w[i];
		if (partial >= threshold)
			break;
	}
	int b = h->lo + i;
	const struct bucket_table *t = table(r);
	return b < t->n - 1 ? t->start[b + 1] : t->start[b];
}

void rs_hist_release(struct rs_hist *h)
{
	free(h->w);
	*h = (struct rs_hist){0};
}

/* ---- the set ---- */

struct agg {
	char *ns, *workload, *container;
	struct rs_hist cpu, mem;
	double first_t, last_t;
	size_t cpu_samples, mem_peaks;
	bool oom_bumped;
	const struct rs_spec *spec; /* set by rs_recommend */
};

struct series {
	struct agg *agg;
	double peak[RS_MEM_INTERVALS]; /* interval k ends at ref - k * RS_MEM_INTERVAL_S */
	uint8_t oom[RS_MEM_INTERVALS];
};

struct rs_set {
	struct rs_set_opts o;
	struct ks_map series, aggs; /* series: index + 1 into v; aggs: struct agg * */
	struct series *v;           /* contiguous, so rs_recommend walks them in order */
	size_t nv, cap;
	struct ks_buf key;          /* scratch */
	double time_scale;          /* set by rs_fetch_prometheus */
};

struct rs_set *rs_set_new(const struct rs_set_opts *o)
{
	struct rs_set *s = ks_calloc(1, sizeof(*s));
	s->o = *o;
	s->time_scale = 1;
	ks_map_init(&s->series);
	ks_map_init(&s->aggs);
	ks_buf_init(&s->key, KS_BUF_UNLIMITED);
	return s;
}

void rs_set_free(struct rs_set *s)
{
	if (!s)
		return;
	const char *k;
	void *v;
	free(s->v);
	for (size_t i = 0; ks_map_next(&s->aggs, &i, &k, &v);) {
		struct agg *a = v;
		rs_hist_release(&a->cpu);
		rs_hist_release(&a->mem);
		free(a->ns);
		free(a->workload);
		free(a->container);
		free(a);
	}
	ks_map_release(&s->series);
	ks_map_release(&s->aggs);
	ks_buf_release(&s->key);
	free(s);
}

size_t rs_set_size(const struct rs_set *s)
{
	return s->aggs.len;
}

double rs_set_time_scale(const struct rs_set *s)
{
	return s->time_scale;
}

static const char *make_key(struct rs_set *s, const char *a, const char *b, const char *c)
{
	ks_buf_reset(&s->key);
	ks_buf_appendstr(&s->key, a);
	ks_buf_appendc(&s->key, '\x1f');
	ks_buf_appendstr(&s->key, b);
	ks_buf_appendc(&s->key, '\x1f');
	ks_buf_appendstr(&s->key, c);
	return s->key.data;
}

static struct series *series_get(struct rs_set *s, const char *ns, const char *pod,
				 const char *container)
{
	uintptr_t idx = (uintptr_t)ks_map_get(&s->series, make_key(s, ns, pod, container));
	if (idx)
		return &s->v[idx - 1];
	const char *wl = s->o.workload_of ? s->o.workload_of(s->o.workload_ctx, ns, pod) : NULL;
	if (!wl)
		wl = pod;
	struct agg *a = ks_map_get(&s->aggs, make_key(s, ns, wl, container));
	if (!a) {
		a = ks_calloc(1, sizeof(*a));
		a->ns = ks_strdup(ns);
		a->workload = ks_strdup(wl);
		a->container = ks_strdup(container);
		ks_map_put(&s->aggs, s->key.data, a);
	}
	s->v = ks_grow(s->v, sizeof(*s->v), s->nv + 1, &s->cap);
	struct series *se = &s->v[s->nv++];
	*se = (struct series){.agg = a};
	ks_map_put(&s->series, make_key(s, ns, pod, container), (void *)(uintptr_t)s->nv);
	return se;
}

void rs_set_add_cpu(struct rs_set *s, const char *ns, const char *pod, const char *container,
		    const struct prom_sample *v, size_t n)
{
	struct series *se = series_get(s, ns, pod, container);
	struct agg *a = se->agg;
	const struct bucket_table *t = table(RS_CPU);
	double prev_t = NAN, dt = NAN, w = 0, factor = 1, first = INFINITY, last = -INFINITY;
	size_t added = 0;
	for (size_t i = 0; i < n; i++) {
		double x = v[i].v, ts = v[i].t;
		if (!isfinite(x) || x < 0 || !isfinite(ts))
			continue;
		if (ts - prev_t == dt) {
			w *= factor; /* the step repeats: no exp2 */
		} else {
			w = rs_decay_weight(ts, s->o.ref_time);
			dt = ts - prev_t;
			factor = isfinite(dt) ? exp2(dt / RS_HALF_LIFE_S) : 1;
		}
		prev_t = ts;
		hist_add_bucket(&a->cpu, find_bucket(t, x), w);
		first = ts < first ? ts : first;
		last = ts > last ? ts : last;
		added++;
	}
	if (!added)
		return;
	if (a->cpu_samples == 0 || first < a->first_t)
		a->first_t = first;
	if (a->cpu_samples == 0 || last > a->last_t)
		a->last_t = last;
	a->cpu_samples += added;
}

/* The memory interval of an instant t: interval k is (ref - (k+1) I, ref - k I]. */
static int interval_of(const struct rs_set *s, double t)
{
	double d = s->o.ref_time - t;
	if (!(d >= 0))
		return -1;
	double k = d == 0 ? 0 : ceil(d / RS_MEM_INTERVAL_S) - 1;
	return k < RS_MEM_INTERVALS ? (int)k : -1;
}

static void series_peak(struct series *se, int k, double bytes)
{
	if (k >= 0 && k < RS_MEM_INTERVALS && bytes > se->peak[k])
		se->peak[k] = bytes;
}

void rs_set_add_memory(struct rs_set *s, const char *ns, const char *pod,
		       const char *container, const struct prom_sample *v, size_t n)
{
	struct series *se = series_get(s, ns, pod, container);
	for (size_t i = 0; i < n; i++)
		if (isfinite(v[i].v) && v[i].v > 0)
			series_peak(se, interval_of(s, v[i].t), v[i].v);
}

void rs_set_add_oom(struct rs_set *s, const char *ns, const char *pod, const char *container,
		    double t)
{
	struct series *se = series_get(s, ns, pod, container);
	int k = interval_of(s, t);
	if (k >= 0)
		se->oom[k] = 1;
}

/* RecordOOM: used = max(request, peak); needed = max(used + 100 MiB, used * 1.2). */
static double oom_bump(double request, double peak)
{
	double used = request > peak ? request : peak;
	double a = used + RS_OOM_MIN_BUMP, b = used * RS_OOM_BUMP_RATIO;
	return a > b ? a : b;
}

/* ---- recommendations ---- */

const char *rs_status_name(enum rs_status st)
{
	switch (st) {
	case RS_OK:
		return "ok";
	case RS_SHORT_HISTORY:
		return "short-history";
	case RS_NO_DATA:
		return "no-data";
	}
	return "?";
}

const char *rs_reason_name(enum rs_reason r)
{
	static const char *const names[] = {
		[RS_REASON_NO_DATA] = "no-data",
		[RS_REASON_HPA_CPU] = "hpa-scales-on-cpu",
		[RS_REASON_OVER_REQUESTED] = "over-requested",
		[RS_REASON_UNDER_REQUESTED] = "under-requested",
		[RS_REASON_NO_REQUEST] = "no-request",
		[RS_REASON_FITS] = "fits",
	};
	return (unsigned)r < KS_ARRAY_LEN(names) ? names[r] : "?";
}

/* Fold the series' memory peaks (with their OOM bumps) into the aggregates' memory
 * histograms; an aggregate's spec (set by rs_recommend) gives the request. */
static void fold_memory(struct rs_set *s)
{
	for (size_t i = 0; i < s->nv; i++) {
		struct series *se = &s->v[i];
		struct agg *a = se->agg;
		double request = a->spec ? a->spec->mem_request : 0;
		for (int j = 0; j < RS_MEM_INTERVALS; j++) {
			double peak = se->peak[j];
			if (se->oom[j]) {
				double bumped = oom_bump(request, peak);
				if (bumped > peak) {
					peak = bumped;
					a->oom_bumped = true;
				}
			}
			if (peak <= 0)
				continue;
			double end = s->o.ref_time - j * RS_MEM_INTERVAL_S;
			rs_hist_add(&a->mem, RS_MEMORY, peak, rs_decay_weight(end, s->o.ref_time));
			a->mem_peaks++;
		}
	}
}

/* The estimators, in the VPA's order: percentile, margin, confidence, floor; then the
 * LimitRange. conf in days. */
static void estimate(const struct rs_hist *h, enum rs_resource r, double conf, double floor,
		     double lr_min, double lr_max, struct rs_amounts *out)
{
	double m = 1 + RS_SAFETY_MARGIN;
	out->target = rs_hist_percentile(h, r, RS_TARGET_PCT) * m;
	out->lower = rs_hist_percentile(h, r, RS_LOWER_PCT) * m;
	out->upper = rs_hist_percentile(h, r, RS_UPPER_PCT) * m;
	out->upper *= pow(1 + RS_UPPER_CONF_MULT / conf, RS_UPPER_CONF_EXP);
	out->lower *= pow(1 + RS_LOWER_CONF_MULT / conf, RS_LOWER_CONF_EXP);
	double *vals[] = {&out->target, &out->lower, &out->upper};
	double before = 0;
	for (size_t i = 0; i < KS_ARRAY_LEN(vals); i++) {
		double *x = vals[i];
		if (*x < floor)
			*x = floor;
		if (i == 0)
			before = *x;
		if (lr_min > 0 && *x < lr_min)
			*x = lr_min;
		if (lr_max > 0 && *x > lr_max)
			*x = lr_max;
	}
	out->clamped = out->target != before;
}

static enum rs_reason judge(double request, const struct rs_amounts *a)
{
	if (!(request > 0))
		return RS_REASON_NO_REQUEST;
	if (request > a->upper)
		return RS_REASON_OVER_REQUESTED;
	if (request < a->lower)
		return RS_REASON_UNDER_REQUESTED;
	return RS_REASON_FITS;
}

static void fmt_cpu(char *out, size_t n, double cores)
{
	if (isinf(cores))
		snprintf(out, n, "unbounded");
	else
		snprintf(out, n, "%.0fm", ceil(cores * 1000));
}

static void fmt_mem(char *out, size_t n, double bytes)
{
	if (isinf(bytes))
		snprintf(out, n, "unbounded");
	else
		snprintf(out, n, "%.0fMi", ceil(bytes / (1024 * 1024)));
}

static void describe(struct ks_buf *b, const char *what, double request,
		     const struct rs_amounts *a, void (*fmt)(char *, size_t, double))
{
	char req[32], t[32], lo[32], hi[32];
	fmt(req, sizeof(req), request);
	fmt(t, sizeof(t), a->target);
	fmt(lo, sizeof(lo), a->lower);
	fmt(hi, sizeof(hi), a->upper);
	ks_buf_appendf(b, "%s%s: %s: requests %s, recommended %s (%s-%s)%s%s",
		       b->len ? "; " : "", what, rs_reason_name(a->reason),
		       request > 0 ? req : "none", t, lo, hi, a->oom_bumped ? ", OOM bump" : "",
		       a->clamped ? ", LimitRange" : "");
}

static void recommend_one(const struct agg *a, const struct rs_spec *sp, double cpu_step,
			  struct rs_rec *rec)
{
	*rec = (struct rs_rec){.spec = sp};
	struct ks_buf text;
	ks_buf_init(&text, RS_REASON_TEXT_MAX - 1);
	if (!a || (a->cpu_samples == 0 && a->mem_peaks == 0)) {
		rec->status = RS_NO_DATA;
		rec->cpu.reason = rec->mem.reason = RS_REASON_NO_DATA;
		snprintf(rec->text, sizeof(rec->text), "no-data: no usage history");
		ks_buf_release(&text);
		return;
	}
	double step = cpu_step > 0 ? cpu_step : 60;
	double span = a->cpu_samples ? a->last_t - a->first_t : 0;
	double span_days = span / 86400, sample_days = (double)a->cpu_samples * step / 86400;
	rec->confidence = span_days < sample_days ? span_days : sample_days;
	rec->history_hours = span / 3600;
	rec->cpu_samples = a->cpu_samples;
	rec->mem_peaks = a->mem_peaks;
	rec->status = span < RS_MIN_HISTORY_S ? RS_SHORT_HISTORY : RS_OK;
	int nctr = sp->pod_containers > 0 ? sp->pod_containers : 1;
	if (sp->hpa_on_cpu) {
		rec->cpu.target = rec->cpu.lower = rec->cpu.upper = sp->cpu_request;
		rec->cpu.reason = RS_REASON_HPA_CPU;
	} else {
		estimate(&a->cpu, RS_CPU, rec->confidence, RS_POD_MIN_CPU / nctr, sp->lr_min_cpu,
			 sp->lr_max_cpu, &rec->cpu);
		rec->cpu.reason = a->cpu_samples ? judge(sp->cpu_request, &rec->cpu)
						 : RS_REASON_NO_DATA;
	}
	estimate(&a->mem, RS_MEMORY, rec->confidence, RS_POD_MIN_MEM / nctr, sp->lr_min_mem,
		 sp->lr_max_mem, &rec->mem);
	rec->mem.oom_bumped = a->oom_bumped;
	rec->mem.reason = a->mem_peaks ? judge(sp->mem_request, &rec->mem) : RS_REASON_NO_DATA;
	describe(&text, "cpu", sp->cpu_request, &rec->cpu, fmt_cpu);
	describe(&text, "memory", sp->mem_request, &rec->mem, fmt_mem);
	if (rec->status == RS_SHORT_HISTORY)
		ks_buf_appendf(&text, "; short-history: %.1f h", rec->history_hours);
	snprintf(rec->text, sizeof(rec->text), "%s", text.data);
	ks_buf_release(&text);
}

int rs_recommend(struct rs_set *s, const struct rs_spec *specs, size_t n,
		 struct rs_rec **out, struct ks_err *err)
{
	for (size_t i = 0; i < n; i++)
		if (!specs[i].ns || !specs[i].workload || !specs[i].container)
			return ks_err_set(err, KS_EINVAL,
					  "right-sizing: spec %zu lacks a namespace, workload or "
					  "container name", i);
	const char *k;
	void *v;
	for (size_t i = 0; ks_map_next(&s->aggs, &i, &k, &v);) {
		struct agg *a = v;
		rs_hist_release(&a->mem);
		a->mem_peaks = 0;
		a->oom_bumped = false;
		a->spec = NULL;
	}
	struct agg **agg_of = ks_calloc(n ? n : 1, sizeof(*agg_of));
	for (size_t i = 0; i < n; i++) {
		const struct rs_spec *sp = &specs[i];
		agg_of[i] = ks_map_get(&s->aggs, make_key(s, sp->ns, sp->workload, sp->container));
		if (agg_of[i])
			agg_of[i]->spec = sp;
	}
	fold_memory(s);
	struct rs_rec *recs = ks_calloc(n ? n : 1, sizeof(*recs));
	for (size_t i = 0; i < n; i++)
		recommend_one(agg_of[i], &specs[i], s->o.cpu_step_s, &recs[i]);
	free(agg_of);
	*out = recs;
	return 0;
}

/* ---- Prometheus ---- */

#define SELECTOR "container!=\"\",container!=\"POD\""
#define BY "(namespace, pod, container)"

char *rs_promql(enum rs_resource r, bool oom, const char *ns, const char *rng)
{
	char sel[160] = SELECTOR;
	if (ns)
		snprintf(sel, sizeof(sel), SELECTOR ",namespace=\"%s\"", ns);
	if (oom)
		return ks_asprintf("sum by " BY " (increase(container_oom_events_total{%s}[%s]))",
				   sel, rng);
	if (r == RS_MEMORY)
		return ks_asprintf("max by " BY " (max_over_time("
				   "container_memory_working_set_bytes{%s}[%s]))", sel, rng);
	return ks_asprintf("sum by " BY " (rate(container_cpu_usage_seconds_total{%s}[%s]))",
			   sel, rng);
}

/* A namespace name (RFC 1123 label), so it cannot break out of the PromQL string. */
static bool valid_namespace(const char *ns)
{
	size_t n = strlen(ns);
	if (n == 0 || n > 63)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((ns[i] >= 'a' && ns[i] <= 'z') || (ns[i] >= '0' && ns[i] <= '9') ||
		      ns[i] == '-'))
			return false;
	return true;
}

/* One fetch: the set, the client, and the cluster's clock against Prometheus' (see
 * rs_fetch_prometheus). */
struct fetch {
	struct rs_set *s;
	struct prom_client *c;
	double end;                 /* real and cluster time meet there */
	double scale;               /* cluster seconds per real second; 1 on a real cluster */
	struct prom_sample *mapped; /* scratch: one series' samples in cluster time */
	size_t cap;
};

/* A series' samples (n), in cluster time. */
typedef void (*series_fn)(struct rs_set *s, struct series *se, const char *pod,
			  const struct prom_sample *v, size_t n);

/* Samples of a simulated cluster into cluster time: t -> end - (end - t) * scale, and a rate
 * (cluster seconds per real second) over the scale; at scale 1 they are passed as they are. */
static const struct prom_sample *to_cluster_time(struct fetch *f, const struct prom_series *ps,
						  bool rate)
{
	if (f->scale == 1)
		return ps->samples;
	f->mapped = ks_grow(f->mapped, sizeof(*f->mapped), ps->nsamples, &f->cap);
	for (size_t i = 0; i < ps->nsamples; i++) {
		const struct prom_sample *x = &ps->samples[i];
		f->mapped[i] = (struct prom_sample){.t = f->end - (f->end - x->t) * f->scale,
						    .v = rate ? x->v / f->scale : x->v};
	}
	return f->mapped;
}

/* One range query over [start, end] real time (rate: its values are rates to rescale). */
static int run_range(struct fetch *f, const char *q, double start, double end, double step,
		     bool rate, series_fn fn, struct ks_err *err)
{
	struct prom_result r;
	KS_DEBUG("rightsize", "query_range %s [%.3f, %.3f] step %.3f", q, start, end, step);
	int rc = prom_query_range(f->c, q, start, end, step, &r, err);
	if (rc)
		return ks_err_wrap(err, "right-sizing query %s", q);
	for (size_t i = 0; i < r.nseries; i++) {
		const struct prom_series *ps = &r.series[i];
		const char *ns = prom_series_label(ps, "namespace");
		const char *pod = prom_series_label(ps, "pod");
		const char *ctr = prom_series_label(ps, "container");
		if (!ns || !pod || !ctr || !ctr[0] || strcmp(ctr, "POD") == 0)
			continue;
		fn(f->s, series_get(f->s, ns, pod, ctr), pod, to_cluster_time(f, ps, rate),
		   ps->nsamples);
	}
	prom_result_free(&r);
	return 0;
}

static void take_cpu(struct rs_set *s, struct series *se, const char *pod,
		     const struct prom_sample *v, size_t n)
{
	rs_set_add_cpu(s, se->agg->ns, pod, se->agg->container, v, n);
}

/* A range query's value at ref - k I is the peak (or the OOM increase) of interval k. */
static int grid_interval(const struct rs_set *s, double t)
{
	double k = round((s->o.ref_time - t) / RS_MEM_INTERVAL_S);
	return k >= 0 && k < RS_MEM_INTERVALS ? (int)k : -1;
}

static void take_memory(struct rs_set *s, struct series *se, const char *pod,
			const struct prom_sample *v, size_t n)
{
	(void)pod;
	for (size_t i = 0; i < n; i++)
		if (isfinite(v[i].v) && v[i].v > 0)
			series_peak(se, grid_interval(s, v[i].t), v[i].v);
}

static void take_oom(struct rs_set *s, struct series *se, const char *pod,
		     const struct prom_sample *v, size_t n)
{
	(void)pod;
	for (size_t i = 0; i < n; i++) {
		int k = grid_interval(s, v[i].t);
		if (k >= 0 && v[i].v >= 0.5) /* increase() extrapolates: ~1 is one */
			se->oom[k] = 1;
	}
}

/* A PromQL range of s seconds: whole seconds as "86400s" (as on a real cluster), else in
 * milliseconds ("59975ms": 24 h at a measured scale of 1440.6). */
static void range_str(char *out, size_t n, double s)
{
	if (s == floor(s))
		snprintf(out, n, "%.0fs", s);
	else
		snprintf(out, n, "%.0fms", ceil(s * 1000));
}

static int count_series(struct prom_client *c, const char *ns, double at, double *count,
			struct ks_err *err)
{
	char *inner = rs_promql(RS_CPU, false, ns, "5m");
	char *q = ks_asprintf("count(%s)", inner);
	struct prom_result r;
	int rc = prom_query(c, q, at, &r, err);
	if (rc) {
		ks_err_wrap(err, "right-sizing query %s", q);
	} else {
		*count = r.nseries == 1 && r.series[0].nsamples == 1 &&
					 isfinite(r.series[0].samples[0].v)
				 ? r.series[0].samples[0].v
				 : 0;
		prom_result_free(&r);
	}
	free(q);
	free(inner);
	return rc;
}

int rs_fetch_prometheus(struct rs_set *s, struct prom_client *c, const struct rs_fetch_opts *o,
			struct ks_err *err)
{
	if (o->ns && !valid_namespace(o->ns))
		return ks_err_set(err, KS_EINVAL, "right-sizing: '%s' is not a namespace name",
				  o->ns);
	struct fetch f = {.s = s, .c = c, .scale = 1};
	f.end = o->end > 0 ? o->end : floor((double)ks_time_now_ms() / 1000);
	double end = f.end;
	double window = o->window_s > 0 ? o->window_s : RS_MEM_INTERVALS * RS_MEM_INTERVAL_S;
	size_t max_points = o->max_points ? o->max_points : RS_FETCH_MAX_POINTS;
	s->o.ref_time = end;
	int rc = prom_time_scale(c, end, &f.scale, err);
	if (rc)
		return ks_err_wrap(err, "right-sizing query %s", PROM_TIME_SCALE_QUERY);
	s->time_scale = f.scale;
	double nseries = 0;
	rc = count_series(c, o->ns, end, &nseries, err);
	if (rc)
		return rc;
	/* The step (cluster time): as fine as the point budget allows, 5 min to 1 h, whole
	 * minutes. */
	double step = o->cpu_step_s;
	if (!(step > 0)) {
		double per_series = nseries > 0 ? (double)max_points * RS_FETCH_MAX_CPU_QUERIES /
							  nseries
						: window / RS_FETCH_MIN_STEP_S;
		step = per_series >= 1 ? window / per_series : RS_FETCH_MAX_STEP_S;
		step = ceil(step / 60) * 60;
		if (step < RS_FETCH_MIN_STEP_S)
			step = RS_FETCH_MIN_STEP_S;
		if (step > RS_FETCH_MAX_STEP_S)
			step = RS_FETCH_MAX_STEP_S;
	}
	/* Its real length: whole seconds (a PromQL range), and at least
	 * RS_FETCH_MIN_REAL_STEP_S so that a few scrapes fall in each rate. */
	double real_step = step;
	if (f.scale != 1) {
		real_step = ceil(step / f.scale);
		if (real_step < RS_FETCH_MIN_REAL_STEP_S)
			real_step = RS_FETCH_MIN_REAL_STEP_S;
		step = real_step * f.scale;
	}
	s->o.cpu_step_s = step;
	size_t points = (size_t)floor(window / step);
	if (points < 1)
		points = 1;
	/* Time chunks, so that no response holds more than max_points points (nor more than
	 * Prometheus' 11,000 a series). */
	double total = (nseries > 1 ? nseries : 1) * (double)points;
	size_t chunks = (size_t)ceil(total / (double)max_points);
	size_t per_chunk_cap = 11000;
	if (chunks < 1)
		chunks = 1;
	if ((points + chunks - 1) / chunks > per_chunk_cap)
		chunks = (points + per_chunk_cap - 1) / per_chunk_cap;
	if (chunks > points)
		chunks = points;
	char rng[32];
	range_str(rng, sizeof(rng), real_step);
	char *q = rs_promql(RS_CPU, false, o->ns, rng);
	double first = end - (double)(points - 1) * real_step;
	for (size_t i = 0; i < chunks && !rc; i++) {
		size_t a = points * i / chunks, b = points * (i + 1) / chunks - 1;
		rc = run_range(&f, q, first + (double)a * real_step, first + (double)b * real_step,
			       real_step, true, take_cpu, err);
	}
	free(q);
	if (rc)
		goto out;
	/* The memory intervals, 24 h of cluster time each. */
	double interval = RS_MEM_INTERVAL_S / f.scale;
	double mem_start = end - (RS_MEM_INTERVALS - 1) * interval;
	range_str(rng, sizeof(rng), interval);
	q = rs_promql(RS_MEMORY, false, o->ns, rng);
	rc = run_range(&f, q, mem_start, end, interval, false, take_memory, err);
	free(q);
	if (rc)
		goto out;
	/* increase() sees only the samples inside its range, so an OOM kill between the last
	 * scrape of one interval and the first of the next is missed: one scrape gap in
	 * thousands at scale 1, one in a dozen at 1440, where the range therefore reaches
	 * RS_FETCH_OOM_OVERLAP_S into the interval before. */
	range_str(rng, sizeof(rng), interval + (f.scale != 1 ? RS_FETCH_OOM_OVERLAP_S : 0));
	q = rs_promql(RS_MEMORY, true, o->ns, rng);
	rc = run_range(&f, q, mem_start, end, interval, false, take_oom, err);
	free(q);
out:
	free(f.mapped);
	return rc;
}
