/* promfetch.c — world_fetch_metrics: container usage from Prometheus (see promfetch.h).
 *
 * One instant query per metric, each over the whole cluster, aggregated by
 * (namespace, pod, container): a container restarted in the window has two cAdvisor series
 * (two container IDs), which the sums and maxima fold into one value. The queries are
 * templates in which $W is the real-time window and $R the rate range ("5m" on a real
 * cluster); results are collected first and added to the world only when every query
 * succeeded, so a failure leaves the world as it was. */
#include "base/common.h"
#include "world/promfetch.h"

#include "metrics/prom.h"
#include "world/world.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define CONTAINERS "container!=\"\",container!=\"POD\""
#define BY "(namespace, pod, container)"

struct metric_query {
	const char *name;  /* WM_* */
	const char *promql;
	bool per_scale;    /* a rate of simulated seconds: divide by the time scale */
	bool round;        /* a count */
};

static const struct metric_query queries[] = {
	{WM_CPU_AVG_CORES,
	 "sum by " BY " (rate(container_cpu_usage_seconds_total{" CONTAINERS "}[$W]))", true,
	 false},
	{WM_CPU_P95_CORES,
	 "quantile_over_time(0.95, (sum by " BY " (rate(container_cpu_usage_seconds_total{"
	 CONTAINERS "}[$R])))[$W:$S])",
	 true, false},
	{WM_MEM_MAX_BYTES,
	 "max by " BY " (max_over_time(container_memory_working_set_bytes{" CONTAINERS "}[$W]))",
	 false, false},
	{WM_CPU_THROTTLED_RATIO,
	 "sum by " BY " (increase(container_cpu_cfs_throttled_periods_total{" CONTAINERS
	 "}[$W])) / sum by " BY " (increase(container_cpu_cfs_periods_total{" CONTAINERS
	 "}[$W]))",
	 false, false},
	{WM_OOM_EVENTS,
	 "sum by " BY " (increase(container_oom_events_total{" CONTAINERS "}[$W]))", false, true},
};

const char *world_metric_promql(const char *name)
{
	for (size_t i = 0; i < KS_ARRAY_LEN(queries); i++)
		if (strcmp(queries[i].name, name) == 0)
			return queries[i].promql;
	return NULL;
}

/* Prometheus durations are integers with a unit; whole seconds are enough. */
static void duration(char *out, size_t n, double s)
{
	snprintf(out, n, "%.0fs", s < 1 ? 1 : ceil(s));
}

static char *expand(const char *tpl, const char *wnd, const char *rng, const char *step)
{
	struct ks_buf b;
	ks_buf_init(&b, KS_BUF_UNLIMITED);
	for (const char *p = tpl; *p; p++) {
		if (p[0] == '$' && (p[1] == 'W' || p[1] == 'R' || p[1] == 'S')) {
			ks_buf_appendstr(&b, p[1] == 'W' ? wnd : p[1] == 'R' ? rng : step);
			p++;
		} else {
			ks_buf_appendc(&b, *p);
		}
	}
	return ks_buf_detach(&b);
}

int world_fetch_metrics(struct world *w, const char *prom_url, double window_s,
			struct ks_err *err)
{
	struct prom_client *c = NULL;
	struct prom_client_opts po = {.url = prom_url, .timeout_ms = 0, .max_response = 0};
	int rc = prom_client_new(&po, &c, err);
	if (rc)
		return rc;
	if (!(window_s > 0) || !isfinite(window_s))
		window_s = PROMFETCH_DEFAULT_WINDOW_S;
	double scale = 1;
	rc = prom_time_scale(c, 0, &scale, err);
	struct prom_result res[KS_ARRAY_LEN(queries)] = {0};
	if (rc)
		goto out;
	double real_w = window_s / scale;
	if (real_w < PROMFETCH_MIN_REAL_WINDOW_S)
		real_w = PROMFETCH_MIN_REAL_WINDOW_S;
	/* The p95 is over 5-minute rates (cluster time), each needing a few scrapes. */
	double real_r = 300.0 / scale < 30 ? 30 : 300.0 / scale;
	if (real_r > real_w)
		real_r = real_w;
	double real_s = real_r / 5 < 5 ? 5 : real_r / 5;
	char wnd[32], rng[32], step[32];
	duration(wnd, sizeof(wnd), real_w);
	duration(rng, sizeof(rng), real_r);
	duration(step, sizeof(step), real_s);
	for (size_t i = 0; i < KS_ARRAY_LEN(queries) && !rc; i++) {
		char *q = expand(queries[i].promql, wnd, rng, step);
		KS_DEBUG("promfetch", "query %s", q);
		rc = prom_query(c, q, 0, &res[i], err);
		free(q);
		if (!rc && res[i].type != PROM_VECTOR)
			rc = ks_err_set(err, KS_EINVAL, "prometheus: %s: expected a vector result",
					queries[i].name);
	}
	if (rc)
		goto out;
	for (size_t i = 0; i < KS_ARRAY_LEN(queries); i++) {
		for (size_t j = 0; j < res[i].nseries; j++) {
			const struct prom_series *s = &res[i].series[j];
			const char *ns = prom_series_label(s, "namespace");
			const char *pod = prom_series_label(s, "pod");
			const char *ctr = prom_series_label(s, "container");
			if (!ns || !pod || !ctr || !ctr[0] || strcmp(ctr, "POD") == 0 ||
			    s->nsamples != 1)
				continue;
			double v = s->samples[0].v;
			if (!isfinite(v))
				continue; /* 0/0 throttling of a container without a CPU limit */
			if (queries[i].per_scale)
				v /= scale;
			if (queries[i].round)
				v = round(v);
			world_add_metric(w, queries[i].name, ns, pod, ctr, v);
		}
	}
	world_set_metrics_window(w, real_w * scale);
out:
	if (rc)
		ks_err_wrap(err, "metrics from %s", prom_url);
	for (size_t i = 0; i < KS_ARRAY_LEN(queries); i++)
		prom_result_free(&res[i]);
	prom_client_free(c);
	return rc;
}
