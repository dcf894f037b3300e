/* agent_forecasting.c — looks ahead: NodePool limits running out, cost anomalies.
 * State machine, on each round's question:
 *   RECORD (agent_forecasting_record, every round, also the rounds skipped as unchanged;
 *           at most every SERIES_MIN_STEP_S): per NodePool with spec.limits.cpu, the CPU it
 *           has provisioned (status.resources.cpu; what Karpenter's limits count) against
 *           the limit, in the store's series "nodepool-cpu:<pool>"; with an opt_report, the
 *           cluster's hourly cost in "cost:cluster". Read back, the samples are put on a
 *           regular grid (regularize) for the models.
 *   HISTORY: with Prometheus (swarm_inputs.prom), Karpenter's own gauge over the last week,
 *           hourly: karpenter_nodepool_usage{nodepool=<pool>,resource_type="cpu"}; without
 *           it (or when it has too few samples), the series recorded above.
 *   PREDICT: with SWARM_FC_MIN_SAMPLES samples or more, fc_exhaust_predict over the history
 *           (step = the mean spacing, 30-day horizon, the outside event feed scaling the
 *           forecast, so "traffic x3 on DATE" moves the date) -> when the limit is reached
 *           (expected or plausibly) within the horizon, PROPOSE "nodepool-limits": raise
 *           spec.limits.cpu by half, before that date;
 *   ANOMALY: fc_anomaly_detect over the cost series -> an observation per anomaly that
 *           reaches the latest sample, once (s->anomaly_said: its start, give or take 3
 *           grid steps).
 * Ownership: nothing beyond the store's series. */
#include "base/common.h"
#include "base/json.h"
#include "base/timeutil.h"
#include "cost/optimize.h"
#include "forecast/anomaly.h"
#include "forecast/exhaust.h"
#include "kube/quantity.h"
#include "metrics/prom.h"
#include "store/plans.h"
#include "swarm/swarm_internal.h"
#include "world/world.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define HORIZON_S (30.0 * 86400)
#define HISTORY_S (int64_t)(30 * 86400)
#define PROM_HISTORY_S (7.0 * 86400)
#define PROM_STEP_S 3600.0
#define SERIES_MIN_STEP_S 300 /* one recorded sample per 5 minutes at most */
#define GRID_MAX 20000          /* grid points of a regularized series (69 days at 5 min) */

struct history {
	int64_t *t;
	double *y, *cap;
	size_t n;
	const char *source;
};

static void history_release(struct history *h)
{
	free(h->t);
	free(h->y);
	free(h->cap);
	*h = (struct history){0};
}

/* Karpenter's usage gauge of pool from Prometheus; false when there is not enough of it. */
static bool prom_history(struct swarm *s, const char *pool, struct history *h)
{
	char q[512];
	snprintf(q, sizeof q, "karpenter_nodepool_usage{nodepool=\"%s\",resource_type=\"cpu\"}",
		 pool);
	struct prom_result r = {0};
	struct ks_err err = {0};
	if (prom_query_range(s->in->prom, q, (double)s->now - PROM_HISTORY_S, (double)s->now,
			     PROM_STEP_S, &r, &err)) {
		KS_WARN("swarm", "forecasting %s: %s", pool, err.msg);
		return false;
	}
	const struct prom_series *se = r.nseries ? &r.series[0] : NULL;
	if (se && se->nsamples >= SWARM_FC_MIN_SAMPLES) {
		h->t = ks_calloc(se->nsamples, sizeof *h->t);
		h->y = ks_calloc(se->nsamples, sizeof *h->y);
		for (size_t i = 0; i < se->nsamples; i++) {
			h->t[i] = (int64_t)se->samples[i].t;
			h->y[i] = se->samples[i].v;
		}
		h->n = se->nsamples;
		h->source = "prometheus";
	}
	prom_result_free(&r);
	return h->n > 0;
}

static double cores(const cJSON *obj, const char *path)
{
	const char *v = ks_json_str(obj, path);
	struct kube_quantity q;
	if (!v || kube_quantity_parse(v, strlen(v), &q, NULL))
		return cJSON_IsNumber(ks_json_get(obj, path)) ? ks_json_get(obj, path)->valuedouble
							     : NAN;
	return (double)kube_quantity_milli(&q) / 1000;
}

static void propose_limits(struct swarm *s, const char *pool, double limit,
			   const struct fc_exhaust *ex, const char *source, const char *re)
{
	double when = ex->mean.found ? ex->mean.t : ex->upper.t;
	long long new_limit = (long long)ceil(limit * 1.5);
	cJSON *patch = cJSON_CreateObject();
	char q[32];
	snprintf(q, sizeof q, "%lld", new_limit);
	cJSON_AddStringToObject(cJSON_AddObjectToObject(cJSON_AddObjectToObject(patch, "spec"),
							"limits"),
				"cpu", q);
	char key[320], fp[24];
	snprintf(key, sizeof key, "nodepool-limits:%s", pool);
	swarm__fingerprint(patch, fp);
	if (swarm__handled(s, key, fp)) {
		cJSON_Delete(patch);
		return;
	}
	char date[40] = "now";
	if (!ex->already_over)
		ks_time_format_rfc3339((int64_t)when, date, sizeof date);
	cJSON *b = swarm__proposal("nodepool-limits", "low",
				   ex->mean.found || ex->already_over ? 0.8 : 0.6, key, fp);
	cJSON_AddStringToObject(b, "severity", "medium");
	char title[512];
	snprintf(title, sizeof title, "Raise NodePool %s's CPU limit from %g to %lld before %s",
		 pool, limit, new_limit, date);
	cJSON_AddStringToObject(b, "title", title);
	cJSON_AddStringToObject(b, "benefit", "pods keep scheduling past the predicted date");
	cJSON_AddNumberToObject(b, "savings_per_month", 0);
	cJSON *ej = cJSON_AddObjectToObject(b, "exhaustion");
	cJSON_AddStringToObject(ej, "date", date);
	cJSON_AddBoolToObject(ej, "already_over", ex->already_over);
	cJSON_AddNumberToObject(ej, "in_days", ex->already_over ? 0 : (when - s->now) / 86400);
	cJSON_AddNumberToObject(ej, "event_steps", (double)ex->event_steps);
	cJSON_AddStringToObject(ej, "statement", ex->statement);
	cJSON_AddStringToObject(ej, "source", source);
	swarm__patch_plan(s, b, "NodePool", "", pool, "merge", patch, NULL, title,
			  "the previous limit is restored");
	cJSON *pc = cJSON_AddObjectToObject(b, "policy");
	cJSON_AddStringToObject(pc, "kind", "nodepool");
	cJSON_AddStringToObject(pc, "nodepool", pool);
	struct swarm_subject subj = swarm__subject("NodePool", "", pool);
	swarm__publish(s, SWARM_MSG_PROPOSAL, "forecasting", re, &subj, b, NULL, "%s. %s", title,
		       ex->statement);
}

/* Put the recorded samples on a regular grid (rounds are not evenly spaced): the step is
 * the median gap; a grid point between two samples at most 3 steps apart is interpolated
 * linearly, one in a wider gap is NaN (a gap to the models). */
static void regularize(struct history *h, double *step_out)
{
	size_t n = h->n;
	double *gaps = ks_calloc(n, sizeof *gaps);
	for (size_t i = 1; i < n; i++)
		gaps[i - 1] = (double)(h->t[i] - h->t[i - 1]);
	for (size_t i = 1; i + 1 < n; i++) /* insertion sort: n is small */
		for (size_t k = i; k > 0 && gaps[k - 1] > gaps[k]; k--) {
			double x = gaps[k];
			gaps[k] = gaps[k - 1];
			gaps[k - 1] = x;
		}
	double step = fmax(SERIES_MIN_STEP_S, gaps[(n - 1) / 2]);
	free(gaps);
	size_t gn = (size_t)floor((double)(h->t[n - 1] - h->t[0]) / step) + 1;
	if (gn > GRID_MAX)
		gn = GRID_MAX;
	int64_t *t = ks_calloc(gn, sizeof *t);
	double *y = ks_calloc(gn, sizeof *y);
	size_t k = 0;
	for (size_t g = 0; g < gn; g++) {
		/* the grid ends on the last sample */
		double at = (double)h->t[n - 1] - (double)(gn - 1 - g) * step;
		while (k + 1 < n && (double)h->t[k + 1] < at)
			k++;
		size_t j = k + 1 < n ? k + 1 : k;
		double t0 = (double)h->t[k], t1 = (double)h->t[j];
		t[g] = (int64_t)at;
		if (at <= t0)
			y[g] = at == t0 ? h->y[k] : NAN;
		else if (t1 - t0 > 3 * step)
			y[g] = NAN;
		else
			y[g] = h->y[k] + (h->y[j] - h->y[k]) * (at - t0) / (t1 - t0);
	}
	free(h->t);
	free(h->y);
	h->t = t;
	h->y = y;
	h->n = gn;
	*step_out = step;
}

/* The recorded series name since HISTORY_S, on a regular grid; false when too short. */
static bool recorded_history(struct swarm *s, const char *name, struct history *h,
			     double *step)
{
	if (series_read(s->o.store, name, s->now - HISTORY_S, &h->t, &h->y, &h->cap, &h->n,
			NULL) ||
	    h->n < SWARM_FC_MIN_SAMPLES || h->t[h->n - 1] <= h->t[0])
		return false;
	h->source = "recorded";
	regularize(h, step);
	return true;
}

struct pool_ctx {
	struct swarm *s;
	const char *re;
};

static int record_pool(void *ctx, struct wobj o)
{
	struct swarm *s = ctx;
	const cJSON *obj = world_json(s->in->world, o);
	double limit = cores(obj, "spec.limits.cpu"), used = cores(obj, "status.resources.cpu");
	if (isnan(limit) || limit <= 0 || isnan(used))
		return 0;
	char name[320];
	snprintf(name, sizeof name, "nodepool-cpu:%s", ks_json_str_or(obj, "metadata.name", ""));
	series_record(s->o.store, name, s->now, used, limit, NULL);
	return 0;
}

void agent_forecasting_record(struct swarm *s)
{
	if (s->last_sample && s->now - s->last_sample < SERIES_MIN_STEP_S)
		return;
	s->last_sample = s->now;
	world_each(s->in->world, WK_NODEPOOL, record_pool, s);
	if (s->in->optimize)
		series_record(s->o.store, "cost:cluster", s->now,
			      s->in->optimize->current_hourly_usd, 0, NULL);
}

static int forecast_pool(void *ctx, struct wobj o)
{
	struct pool_ctx *pc = ctx;
	struct swarm *s = pc->s;
	const cJSON *obj = world_json(s->in->world, o);
	const char *pool = ks_json_str_or(obj, "metadata.name", "");
	double limit = cores(obj, "spec.limits.cpu");
	if (isnan(limit) || limit <= 0)
		return 0;
	char name[320];
	snprintf(name, sizeof name, "nodepool-cpu:%s", pool);
	struct history h = {0};
	double step = PROM_STEP_S;
	bool have = s->in->prom && prom_history(s, pool, &h);
	if (!have) {
		history_release(&h);
		have = recorded_history(s, name, &h, &step);
	}
	if (have && h.n >= SWARM_FC_MIN_SAMPLES) {
		char what[400];
		snprintf(what, sizeof what, "NodePool %s CPU", pool);
		size_t season = (size_t)llround(86400 / step);
		struct fc_exhaust_input in = {
			.y = h.y, .n = h.n, .t_last = h.t[h.n - 1], .step_s = step,
			.period = h.n >= 2 * season ? season : 0,
			.limit = limit, .horizon_s = HORIZON_S, .what = what,
			.events = s->in->events,
		};
		struct fc_exhaust ex;
		if (!fc_exhaust_predict(&in, &ex, NULL) &&
		    (ex.already_over || ex.mean.found || ex.upper.found))
			propose_limits(s, pool, limit, &ex, h.source, pc->re);
	}
	history_release(&h);
	return 0;
}

static void cost_anomalies(struct swarm *s, const char *re)
{
	struct history h = {0};
	double step;
	struct fc_anomaly_result r = {0};
	if (!recorded_history(s, "cost:cluster", &h, &step) || h.n < 2 * SWARM_FC_MIN_SAMPLES ||
	    fc_anomaly_detect(h.y, h.n, 0, 0, &r, NULL)) {
		history_release(&h);
		return;
	}
	for (size_t i = 0; i < r.n; i++) {
		const struct fc_anomaly *a = &r.items[i];
		if (a->end != h.n - 1)
			continue;
		/* the anomaly said last time, seen again (its start may move by a few grid
		 * steps as samples come in) */
		double since_said = (double)llabs(h.t[a->start] - s->anomaly_said);
		if (s->anomaly_said && since_said <= 3 * step)
			continue;
		s->anomaly_said = h.t[a->start];
		char start[40];
		ks_time_format_rfc3339(h.t[a->start], start, sizeof start);
		cJSON *b = cJSON_CreateObject();
		cJSON_AddStringToObject(b, "anomaly", "cost");
		cJSON_AddStringToObject(b, "since", start);
		cJSON_AddNumberToObject(b, "observed_usd_hr", a->peak_observed);
		cJSON_AddNumberToObject(b, "expected_usd_hr", a->peak_expected);
		cJSON_AddNumberToObject(b, "sigmas", a->peak_sigmas);
		cJSON_AddBoolToObject(b, "ongoing", a->ongoing);
		struct swarm_subject subj = swarm__subject("Cluster", "", s->cluster);
		swarm__publish(s, SWARM_MSG_OBSERVATION, "forecasting", re, &subj, b, NULL,
			       "The cluster costs $%.2f/hour since %s, $%.2f more than expected "
			       "(%.1f sigma).", a->peak_observed, start,
			       a->peak_observed - a->peak_expected, a->peak_sigmas);
	}
	fc_anomaly_result_release(&r);
	history_release(&h);
}

static void on_question(const struct swarm_msg *m, void *ctx)
{
	struct swarm *s = ctx;
	if (!swarm__round_question(s, m))
		return;
	struct pool_ctx pc = {s, m->id};
	world_each(s->in->world, WK_NODEPOOL, forecast_pool, &pc);
	cost_anomalies(s, m->id);
}

void agent_forecasting_init(struct swarm *s)
{
	swarm__subscribe(s, BUS_TYPE_BIT(SWARM_MSG_QUESTION), on_question);
}
