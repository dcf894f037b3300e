/* measure.c — the measured outcome of a finished plan, from evidence only.
 *
 * A plan's `measured` JSON (store/plans.h) is written at three moments:
 *   STARTED  swarm_next_approved -> measure__plan_started: a plan whose key names a cost
 *            ("nodepool-mix:<pool>": the NodePool's current monthly cost in the optimizer's
 *            report; "rightsize:<Kind>/<ns>/<name>": the workload's monthly_usd) gets
 *            cost_before_usd_per_month, the value of the last round (the daemon serializes
 *            them: a round, then the approved plans). s->costs keeps that round's values,
 *            by the hash of the key (no copies), and only while an approved plan waits
 *            (measure__round_end): a round with nothing approved does no cost work.
 *   ENDED    swarm_plan_finished -> measure__plan_finished: result, why (failed or rolled
 *            back: the reconciler's reason), seconds_to_outcome (end - created),
 *            execution_seconds (end - when it went executing: the row's `updated` then).
 *            A succeeded plan with a finding or a cost to watch is "measuring": true.
 *   WATCHED  every swarm_round, whether its inputs changed or not -> measure__round:
 *            finding:<id>  decided in the first round after the end: gone -> finding_cleared
 *                          true and cleared_after_seconds; still open -> finding_cleared
 *                          false (written at once, with a note), watched until the window
 *                          (SWARM_MEASURE_WINDOW_S after the end) ends, and it may still
 *                          flip to true.
 *            cost keys     settled when the same value (within $0.01) was seen in
 *                          SWARM_MEASURE_SETTLE_ROUNDS consecutive rounds that had a cost
 *                          report (looked up by name in the report, for these plans only)
 *                          and, for a NodePool, no node still being replaced (the report's
 *                          settling_nodes);
 *                          at the end of the window regardless (settled false, the
 *                          last value seen). savings_per_month = before - after, negative
 *                          when it costs more.
 *            Complete -> measuring false, measured_at, the learning outcome row's measured
 *            saving (learn_set_measured, which agent_learning's ratio reads) and one
 *            observation from "learning" answering the plan's outcome message.
 * Progress between these moments (the settling count) lives in s->measuring only: a
 * restarted swarm reads back the plans still measuring (measure__restore) and counts the
 * settling rounds afresh.
 * Ownership: s->costs and s->measuring belong to the swarm (measure__release); the JSON this
 * file builds is written to the store and freed here, except what measure__plan_finished
 * returns. */
#include "base/common.h"
#include "base/hashmap.h"
#include "base/json.h"
#include "base/timeutil.h"
#include "cost/optimize.h"
#include "diag/diag.h"
#include "store/plans.h"
#include "swarm/swarm_internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define FINDING_PREFIX "finding:"
#define POOL_PREFIX "nodepool-mix:"
#define WORKLOAD_PREFIX "rightsize:"

static double cents(double usd)
{
	return round(usd * 100) / 100;
}

/* ---- the round's costs, by the hash of the plan key that would change them ---- */

static uint64_t fold(uint64_t h, const char *p, size_t n)
{
	return (h ^ ks_hash(p, n)) * 1099511628211ULL;
}

/* A key folded over its parts between ':' and '/' (names have neither). */
static uint64_t cost_key_hash(const char *key)
{
	uint64_t h = 0;
	for (const char *p = key;; ) {
		size_t n = strcspn(p, ":/");
		h = fold(h, p, n);
		if (!p[n])
			return h;
		p += n + 1;
	}
}

static bool is_cost_key(const char *key)
{
	return !strncmp(key, POOL_PREFIX, strlen(POOL_PREFIX)) ||
	       !strncmp(key, WORKLOAD_PREFIX, strlen(WORKLOAD_PREFIX));
}

static void add_cost(struct swarm *s, uint64_t key, double usd_month)
{
	s->costs = ks_grow(s->costs, sizeof *s->costs, s->ncosts + 1, &s->costs_cap);
	s->costs[s->ncosts++] = (struct swarm_cost){.key = key, .usd_month = cents(usd_month)};
}

/* A pool's current monthly cost, or NAN when unknown (a node without a price). */
static double pool_cost(const struct opt_pool *p)
{
	return p->current.unpriced ? NAN : p->current.hourly_usd * OPT_HOURS_PER_MONTH;
}

void measure__round_end(struct swarm *s)
{
	s->ncosts = 0;
	const struct opt_report *r = s->in->optimize;
	if (!r || !s->costs_wanted)
		return;
	uint64_t pools = fold(0, "nodepool-mix", strlen("nodepool-mix"));
	uint64_t workloads = fold(0, "rightsize", strlen("rightsize"));
	for (size_t i = 0; i < r->n_pools; i++) {
		const struct opt_pool *p = &r->pools[i];
		if (p->name && !isnan(pool_cost(p)))
			add_cost(s, fold(pools, p->name, strlen(p->name)), pool_cost(p));
	}
	for (size_t i = 0; i < r->n_workloads; i++) {
		const struct opt_workload *w = &r->workloads[i];
		if (!w->kind || !w->ns || !w->name)
			continue;
		uint64_t h = fold(workloads, w->kind, strlen(w->kind));
		h = fold(h, w->ns, strlen(w->ns));
		add_cost(s, fold(h, w->name, strlen(w->name)), w->monthly_usd);
	}
}

/* The cost of a key in the last round's table (measure__plan_started). */
static bool cost_of(const struct swarm *s, const char *key, double *usd_month)
{
	uint64_t h = cost_key_hash(key);
	for (size_t i = 0; i < s->ncosts; i++) {
		if (s->costs[i].key == h) {
			*usd_month = s->costs[i].usd_month;
			return true;
		}
	}
	return false;
}

/* The cost of a key in this round's report, looked up by name: only the plans being
 * measured are looked up, so the rounds without any stay cheap. *settling: a pool whose
 * nodes Karpenter is still replacing (its cost is a moment of that, never settled). */
static bool report_cost(const struct opt_report *r, const char *key, double *usd_month,
			bool *settling)
{
	*settling = false;
	if (!strncmp(key, POOL_PREFIX, strlen(POOL_PREFIX))) {
		const char *name = key + strlen(POOL_PREFIX);
		for (size_t i = 0; i < r->n_pools; i++) {
			const struct opt_pool *p = &r->pools[i];
			if (p->name && !strcmp(p->name, name) && !isnan(pool_cost(p))) {
				*usd_month = cents(pool_cost(p));
				*settling = p->settling_nodes > 0;
				return true;
			}
		}
		return false;
	}
	const char *kind = key + strlen(WORKLOAD_PREFIX);
	size_t kind_len = strcspn(kind, "/");
	const char *ns = kind + kind_len + (kind[kind_len] ? 1 : 0);
	size_t ns_len = strcspn(ns, "/");
	const char *name = ns + ns_len + (ns[ns_len] ? 1 : 0);
	for (size_t i = 0; i < r->n_workloads; i++) {
		const struct opt_workload *w = &r->workloads[i];
		if (w->kind && w->ns && w->name && strlen(w->kind) == kind_len &&
		    !strncmp(w->kind, kind, kind_len) && strlen(w->ns) == ns_len &&
		    !strncmp(w->ns, ns, ns_len) && !strcmp(w->name, name)) {
			*usd_month = cents(w->monthly_usd);
			return true;
		}
	}
	return false;
}

/* "NodePool general", "Deployment shop/web" for a cost key. */
static void cost_subject_text(const char *key, char *out, size_t n)
{
	if (!strncmp(key, POOL_PREFIX, strlen(POOL_PREFIX))) {
		snprintf(out, n, "NodePool %s", key + strlen(POOL_PREFIX));
		return;
	}
	const char *kind = key + strlen(WORKLOAD_PREFIX);
	size_t kind_len = strcspn(kind, "/");
	snprintf(out, n, "%.*s %s", (int)kind_len, kind, kind[kind_len] ? kind + kind_len + 1 : "");
}

/* ---- the measured JSON ---- */

static void put(cJSON *m, const char *key, cJSON *value)
{
	cJSON_DeleteItemFromObjectCaseSensitive(m, key);
	cJSON_AddItemToObject(m, key, value);
}

static void put_time(cJSON *m, const char *key, int64_t unix_s)
{
	char ts[40];
	ks_time_format_rfc3339(unix_s, ts, sizeof ts);
	put(m, key, cJSON_CreateString(ts));
}

/* The plan's row and its measured JSON (an object; NULL when the plan cannot be read). */
static cJSON *load(struct swarm *s, const char *plan_id, struct plan_row *r)
{
	struct ks_err err = {0};
	if (plans_get(s->o.store, plan_id, r, &err)) {
		KS_WARN("swarm", "measuring plan %s: %s", plan_id, err.msg);
		return NULL;
	}
	cJSON *m = r->measured ? ks_json_parse(r->measured, strlen(r->measured),
					       SWARM_MSG_JSON_MAX, NULL)
			       : NULL;
	if (!cJSON_IsObject(m)) {
		cJSON_Delete(m);
		m = cJSON_CreateObject();
	}
	return m;
}

static int save(struct swarm *s, const char *plan_id, const cJSON *m, struct ks_err *err)
{
	char *txt = ks_json_print(m);
	int rc = plans_set_text(s->o.store, plan_id, "measured", txt, err);
	free(txt);
	return rc;
}

static void save_or_warn(struct swarm *s, const char *plan_id, const cJSON *m)
{
	struct ks_err err = {0};
	if (save(s, plan_id, m, &err))
		KS_WARN("swarm", "recording the measurement of plan %s: %s", plan_id, err.msg);
}

/* The measurement is complete: store it, give the learning row its saving (when there is
 * one) and say so once, answering the outcome message (or the plan message). */
static void complete(struct swarm *s, const struct plan_row *r, cJSON *m, const char *text)
{
	put(m, "measuring", cJSON_CreateFalse());
	put_time(m, "measured_at", s->now);
	cJSON_DeleteItemFromObjectCaseSensitive(m, "window_ends_at");
	save_or_warn(s, r->plan_id, m);
	const cJSON *saving = cJSON_GetObjectItemCaseSensitive(m, "savings_per_month");
	struct ks_err err = {0};
	if (cJSON_IsNumber(saving) &&
	    learn_set_measured(s->o.store, r->plan_id, saving->valuedouble, &err))
		KS_WARN("swarm", "plan %s: %s", r->plan_id, err.msg);
	struct swarm_subject subj = swarm__plan_subject(r);
	cJSON *body = cJSON_CreateObject();
	cJSON_AddStringToObject(body, "plan_id", r->plan_id);
	cJSON_AddItemToObject(body, "measured", cJSON_Duplicate(m, 1));
	const char *re = ks_json_str_or(m, "outcome_message", "");
	swarm__publish(s, SWARM_MSG_OBSERVATION, "learning", re[0] ? re : r->plan_msg_id, &subj,
		       body, NULL, "Plan %s measured: %s", r->plan_id, text);
}

/* ---- watching a finding ---- */

/* The finding in this round's report, or NULL when it is gone. */
static const struct diag_finding *finding_open(const struct swarm *s, const char *id)
{
	const struct diag_report *rep = s->in->findings;
	for (size_t i = 0; i < rep->n; i++)
		if (!strcmp(rep->findings[i]->id, id))
			return rep->findings[i];
	return NULL;
}

/* Still open in the first round after the plan: false for now, and why it may change. */
static void finding_still_open(struct swarm *s, const struct swarm_measuring *e)
{
	struct plan_row r;
	cJSON *m = load(s, e->plan_id, &r);
	if (!m)
		return;
	put(m, "finding_cleared", cJSON_CreateFalse());
	put(m, "finding_note", cJSON_CreateString("still open in the first round after the plan; "
						  "watched until window_ends_at, so this may "
						  "still turn true"));
	save_or_warn(s, e->plan_id, m);
	cJSON_Delete(m);
	plan_row_release(&r);
}

/* still_open: the finding at the end of the window, or NULL: it cleared. */
static void finding_done(struct swarm *s, const struct swarm_measuring *e,
			 const struct diag_finding *still_open, int64_t since)
{
	bool cleared = !still_open;
	struct plan_row r;
	cJSON *m = load(s, e->plan_id, &r);
	if (!m)
		return;
	put(m, "finding_cleared", cJSON_CreateBool(cleared));
	char text[400];
	if (cleared) {
		put(m, "cleared_after_seconds", cJSON_CreateNumber((double)since));
		if (cJSON_HasObjectItem(m, "finding_note"))
			put(m, "finding_note",
			    cJSON_CreateString("still open in the first round after the plan; "
					       "cleared later"));
		snprintf(text, sizeof text, "the finding cleared %lld s after the fix.",
			 (long long)since);
	} else {
		const struct diag_finding *f = still_open;
		put(m, "finding_note", cJSON_CreateString("still open when the measuring window "
							  "ended"));
		snprintf(text, sizeof text,
			 "the finding (%s on %s %s%s%s) was still open %d minutes after the plan.",
			 f->cause, f->object.kind, f->object.ns, f->object.ns[0] ? "/" : "",
			 f->object.name, SWARM_MEASURE_WINDOW_S / 60);
	}
	complete(s, &r, m, text);
	cJSON_Delete(m);
	plan_row_release(&r);
}

/* ---- watching a cost ---- */

static void cost_done(struct swarm *s, const struct swarm_measuring *e, bool settled)
{
	struct plan_row r;
	cJSON *m = load(s, e->plan_id, &r);
	if (!m)
		return;
	char what[300], text[600];
	cost_subject_text(e->key, what, sizeof what);
	put(m, "settled", cJSON_CreateBool(settled));
	if (e->seen) {
		double saving = cents(e->before - e->last);
		put(m, "cost_after_usd_per_month", cJSON_CreateNumber(e->last));
		put(m, "savings_per_month", cJSON_CreateNumber(saving));
		snprintf(text, sizeof text,
			 "%s costs $%.2f/month %s than before (predicted %s$%.2f)%s", what,
			 fabs(saving), saving >= 0 ? "less" : "more", saving >= 0 ? "" : "savings ",
			 r.savings,
			 settled ? "." : "; it had not settled by the end of the measuring window, "
					 "so this is the last value seen.");
	} else {
		put(m, "note", cJSON_CreateString("no cost was seen after the plan (no cost "
						  "report, or the object is gone)"));
		snprintf(text, sizeof text, "no cost of %s was seen after the plan, so its saving "
			 "is unknown (predicted $%.2f).", what, r.savings);
	}
	complete(s, &r, m, text);
	cJSON_Delete(m);
	plan_row_release(&r);
}

/* One round of watching e; true when its measurement is complete. */
static bool watch(struct swarm *s, struct swarm_measuring *e)
{
	int64_t since = s->now > e->ended ? s->now - e->ended : 0;
	bool window_over = since >= SWARM_MEASURE_WINDOW_S;
	if (e->finding) {
		const struct diag_finding *f = finding_open(s, e->key + strlen(FINDING_PREFIX));
		if (!f) {
			finding_done(s, e, NULL, since);
			return true;
		}
		if (!e->finding_decided) {
			e->finding_decided = true;
			finding_still_open(s, e);
		}
		if (window_over)
			finding_done(s, e, f, since);
		return window_over;
	}
	double usd;
	bool settling;
	if (s->in->optimize && report_cost(s->in->optimize, e->key, &usd, &settling)) {
		bool same = e->same_rounds > 0 && fabs(usd - e->last) <= 0.01 + 1e-9;
		e->same_rounds = settling ? 0 : same ? e->same_rounds + 1 : 1;
		e->last = usd;
		e->seen = true;
	} else if (s->in->optimize) {
		e->same_rounds = 0; /* the report no longer has it */
	}
	bool settled = e->same_rounds >= SWARM_MEASURE_SETTLE_ROUNDS;
	if (settled || window_over)
		cost_done(s, e, settled);
	return settled || window_over;
}

void measure__round(struct swarm *s)
{
	for (size_t i = 0; i < s->nmeasuring;) {
		if (!watch(s, &s->measuring[i])) {
			i++;
			continue;
		}
		memmove(&s->measuring[i], &s->measuring[i + 1],
			(s->nmeasuring - i - 1) * sizeof *s->measuring);
		s->nmeasuring--;
	}
}

/* ---- the plan's start and end ---- */

void measure__plan_started(struct swarm *s, const struct plan_row *r)
{
	double usd;
	if (!is_cost_key(r->key) || !cost_of(s, r->key, &usd))
		return;
	cJSON *m = cJSON_CreateObject();
	cJSON_AddNumberToObject(m, "cost_before_usd_per_month", usd);
	put_time(m, "cost_before_at", s->round_now);
	save_or_warn(s, r->plan_id, m);
	cJSON_Delete(m);
}

static void start_watching(struct swarm *s, const struct swarm_measuring *e)
{
	s->measuring = ks_grow(s->measuring, sizeof *s->measuring, s->nmeasuring + 1,
			       &s->measuring_cap);
	s->measuring[s->nmeasuring++] = *e;
}

cJSON *measure__plan_finished(struct swarm *s, const struct plan_row *r, const char *result,
			      const cJSON *outcome)
{
	int64_t end = s->now;
	bool ok = !strcmp(result, "succeeded");
	cJSON *started = r->measured ? ks_json_parse(r->measured, strlen(r->measured),
						     SWARM_MSG_JSON_MAX, NULL)
				     : NULL;
	cJSON *m = cJSON_CreateObject();
	cJSON_AddStringToObject(m, "result", result);
	cJSON_AddStringToObject(m, "why", ok ? "" : ks_json_str_or(outcome, "why", ""));
	put_time(m, "ended_at", end);
	cJSON_AddNumberToObject(m, "seconds_to_outcome",
				(double)(end > r->created ? end - r->created : 0));
	cJSON_AddNumberToObject(m, "execution_seconds",
				(double)(end > r->updated ? end - r->updated : 0));
	const char *msg = ks_json_str_or(outcome, "message_id", "");
	if (msg[0])
		cJSON_AddStringToObject(m, "outcome_message", msg);
	struct swarm_measuring e = {.ended = end};
	snprintf(e.plan_id, sizeof e.plan_id, "%s", r->plan_id);
	snprintf(e.key, sizeof e.key, "%s", r->key);
	bool watching = false;
	if (ok && !strncmp(r->key, FINDING_PREFIX, strlen(FINDING_PREFIX))) {
		watching = e.finding = true;
		cJSON_AddStringToObject(m, "finding", r->key + strlen(FINDING_PREFIX));
	} else if (ok && is_cost_key(r->key)) {
		cJSON_AddNumberToObject(m, "predicted_savings_per_month", r->savings);
		const cJSON *before = cJSON_GetObjectItemCaseSensitive(started,
								       "cost_before_usd_per_month");
		if (cJSON_IsNumber(before)) {
			watching = true;
			e.before = before->valuedouble;
			cJSON_AddNumberToObject(m, "cost_before_usd_per_month", e.before);
			cJSON_AddStringToObject(m, "cost_before_at",
						ks_json_str_or(started, "cost_before_at", ""));
		} else {
			cJSON_AddStringToObject(m, "note", "no cost was known in the round before "
							   "the plan ran: nothing to compare with");
		}
	}
	cJSON_AddBoolToObject(m, "measuring", watching);
	if (watching) {
		put_time(m, "window_ends_at", end + SWARM_MEASURE_WINDOW_S);
		start_watching(s, &e);
	}
	cJSON_Delete(started);
	return m;
}

/* ---- a restarted swarm ---- */

static int restore_row(const struct plan_row *r, void *ctx)
{
	struct swarm *s = ctx;
	/* written by ks_json_print (unformatted): a cheap test before parsing */
	if (!r->measured || !strstr(r->measured, "\"measuring\":true"))
		return 0;
	cJSON *m = ks_json_parse(r->measured, strlen(r->measured), SWARM_MSG_JSON_MAX, NULL);
	if (ks_json_bool_or(m, "measuring", false)) {
		struct swarm_measuring e = {
			.ended = r->updated,
			.finding = !strncmp(r->key, FINDING_PREFIX, strlen(FINDING_PREFIX)),
			.finding_decided = cJSON_HasObjectItem(m, "finding_cleared"),
			.before = cJSON_GetNumberValue(
				cJSON_GetObjectItemCaseSensitive(m, "cost_before_usd_per_month")),
		};
		snprintf(e.plan_id, sizeof e.plan_id, "%s", r->plan_id);
		snprintf(e.key, sizeof e.key, "%s", r->key);
		start_watching(s, &e);
	}
	cJSON_Delete(m);
	return 0;
}

int measure__restore(struct swarm *s, struct ks_err *err)
{
	/* A plan measures for an hour at most: the newest succeeded ones are enough. */
	return plans_list(s->o.store, "succeeded", 1000, restore_row, s, err);
}

void measure__release(struct swarm *s)
{
	free(s->costs);
	free(s->measuring);
	s->costs = NULL;
	s->measuring = NULL;
	s->ncosts = s->costs_cap = s->nmeasuring = s->measuring_cap = 0;
}
