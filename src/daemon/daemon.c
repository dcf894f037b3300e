/* daemon.c — `kswarm run` (see daemon.h for the loop and its states).
 *
 * Threads: the loop runs in the caller's thread; the HTTP server calls the handlers below
 * from its own threads. What both touch is behind `mu`: the latest findings and cost JSON
 * (replaced whole each round) and the wake-up flag that an approval over the API sets so the
 * loop executes the plan at once instead of at the next interval. The swarm, the bus and the
 * store serialize their own calls. */
#include "base/common.h"
#include "daemon/daemon.h"

#include "base/alloc.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/fileutil.h"
#include "base/json.h"
#include "base/log.h"
#include "base/promtext.h"
#include "base/strutil.h"
#include "base/timeutil.h"
#include "cost/catalog.h"
#include "cost/optimize.h"
#include "cost/pricing.h"
#include "cost/rightsize.h"
#include "base/opstats.h"
#include "daemon/config.h"
#include "daemon/dmetrics.h"
#include "daemon/narrate.h"
#include "daemon/notify.h"
#include "daemon/stream.h"
#include "diag/diag.h"
#include "diag/finding.h"
#include "forecast/events.h"
#include "forecast/hw.h"
#include "kube/connect.h"
#include "llm/llm.h"
#include "metrics/prom.h"
#include "reconcile/reconcile.h"
#include "server/server.h"
#include "store/plans.h"
#include "store/store.h"
#include "swarm/bus.h"
#include "swarm/msg.h"
#include "swarm/policy.h"
#include "swarm/swarm.h"
#include "world/promfetch.h"
#include "world/world.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define MOD "daemon"

struct daemon {
	const struct daemon_opts *o;
	const struct daemon_config *cfg;
	char cluster[SWARM_MSG_AGENT_MAX];
	struct store *store;
	struct bus *bus;
	struct notifier *notifier; /* NULL without notify: sinks */
	struct policy_ctx *policy;
	struct kube_client kube;
	bool kube_open;
	struct reconciler *rec;
	struct swarm *swarm;
	struct server *server;
	struct cost_catalog *cat;
	struct cost_prices *prices;
	struct fc_events events;
	bool have_events;
	char *vault_token;
	struct llm_config llm;
	bool have_llm;

	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool wake;
	cJSON *findings_json; /* latest round's, under mu */
	cJSON *cost_json;

	/* counters for /metrics (under mu) */
	double rounds, round_seconds_sum, last_round_seconds;
	double plans_by_result[3]; /* succeeded, failed, rolled_back */
	double findings_by_severity[DIAG_CRITICAL + 1];
};

/* ---- helpers ---- */

static void wake_loop(struct daemon *d)
{
	pthread_mutex_lock(&d->mu);
	d->wake = true;
	pthread_cond_signal(&d->cv);
	pthread_mutex_unlock(&d->mu);
}

/* Wait up to seconds, in slices so a signal's flag is seen; false when asked to stop. */
static bool wait_next(struct daemon *d, double seconds)
{
	int64_t until = ks_mono_ms() + (int64_t)(seconds * 1000);
	pthread_mutex_lock(&d->mu);
	while (!d->wake && !*d->o->stop) {
		int64_t left = until - ks_mono_ms();
		if (left <= 0)
			break;
		if (left > 200)
			left = 200;
		struct timespec ts = ks_timespec_in_ms(CLOCK_REALTIME, left);
		pthread_cond_timedwait(&d->cv, &d->mu, &ts);
	}
	d->wake = false;
	pthread_mutex_unlock(&d->mu);
	return !*d->o->stop;
}

static void plan_ended(struct daemon *d, const char *plan_id, const char *result,
		       const char *why, const char *message_id);

/* ---- reconciler events -> bus messages ---- */

static const enum swarm_msg_type event_type[] = {
	[RECONCILE_STEP_STARTED] = SWARM_MSG_STEP_STARTED,
	[RECONCILE_STEP_DONE] = SWARM_MSG_STEP_DONE,
	[RECONCILE_VERIFICATION] = SWARM_MSG_VERIFICATION,
	[RECONCILE_ROLLBACK] = SWARM_MSG_ROLLBACK,
	[RECONCILE_OUTCOME] = SWARM_MSG_OUTCOME,
};

static void copy_field(char *dst, size_t n, const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	snprintf(dst, n, "%s", cJSON_IsString(v) ? v->valuestring : "");
}

static void on_reconcile_event(void *ctx, const struct reconcile_event *ev)
{
	struct daemon *d = ctx;
	struct swarm_msg m = {.type = event_type[ev->kind]};
	snprintf(m.from, sizeof m.from, "reconciler");
	snprintf(m.cluster, sizeof m.cluster, "%s", d->cluster);
	if (ev->target) {
		copy_field(m.subject.kind, sizeof m.subject.kind, ev->target, "kind");
		copy_field(m.subject.namespace, sizeof m.subject.namespace, ev->target,
			   "namespace");
		copy_field(m.subject.name, sizeof m.subject.name, ev->target, "name");
	}
	swarm_msg_set_text(&m, "%s", ev->text && *ev->text ? ev->text : "(no text)");
	m.body = ev->body && cJSON_IsObject(ev->body) ? cJSON_Duplicate(ev->body, 1)
						       : cJSON_CreateObject();
	if (!cJSON_HasObjectItem(m.body, "plan_id"))
		cJSON_AddStringToObject(m.body, "plan_id", ev->plan_id ? ev->plan_id : "");
	if (ev->step_id && !cJSON_HasObjectItem(m.body, "step"))
		cJSON_AddStringToObject(m.body, "step", ev->step_id);
	if (ev->kind == RECONCILE_VERIFICATION && !cJSON_HasObjectItem(m.body, "ok"))
		cJSON_AddBoolToObject(m.body, "ok", ev->ok);
	if (ev->kind == RECONCILE_OUTCOME && !cJSON_HasObjectItem(m.body, "result"))
		cJSON_AddStringToObject(m.body, "result", ev->result ? ev->result : "failed");
	struct ks_err err = {0};
	bool published = !bus_publish(d->bus, &m, &err);
	if (!published)
		KS_ERROR(MOD, "recording the reconciler's %s message: %s",
			 swarm_msg_type_name(m.type), err.msg);
	if (ev->kind == RECONCILE_OUTCOME && ev->plan_id)
		plan_ended(d, ev->plan_id, ev->result ? ev->result : "failed",
			   ks_json_str(ev->body, "why"), published ? m.id : NULL);
	swarm_msg_release(&m);
}

/* ---- the world and Layer 2 ---- */

static int load_world(struct daemon *d, struct world *w, struct ks_err *err)
{
	struct world_load_opts lo = {.timeout_ms = 120000};
	int rc = world_load_live(w, &d->kube, &lo, err);
	if (rc)
		return rc;
	struct ks_err lerr = {0};
	struct world_log_opts gl = {0};
	if (world_fetch_logs(w, &d->kube, &gl, &lerr))
		KS_WARN(MOD, "reading container logs: %s (going on without them)", lerr.msg);
	if (d->cfg->prometheus && world_fetch_metrics(w, d->cfg->prometheus, 0, &lerr))
		KS_WARN(MOD, "reading usage from Prometheus: %s (going on without it)", lerr.msg);
	return 0;
}

static bool json_str_eq(const cJSON *obj, const char *key, const char *s)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	return cJSON_IsString(v) && !strcmp(v->valuestring, s ? s : "");
}

/* reconcile_findings_fn: analyse a fresh world and look for the causes on the target (the
 * finding's object, or one of the objects it lists as affected). */
static int findings_on_target(void *ctx, const cJSON *target, const cJSON *causes,
			      bool *still_present, struct ks_err *err)
{
	struct daemon *d = ctx;
	*still_present = false;
	struct world *w = world_new();
	int rc = load_world(d, w, err);
	struct diag_report rep = {0};
	struct diag_opts dopt = {0};
	if (!rc)
		rc = diag_run(w, &dopt, &rep, err);
	const char *kind = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(target, "kind"));
	const char *ns =
		cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(target, "namespace"));
	const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(target, "name"));
	for (size_t i = 0; !rc && i < rep.n && !*still_present; i++) {
		const struct diag_finding *f = rep.findings[i];
		bool cause_listed = false;
		const cJSON *c;
		cJSON_ArrayForEach(c, causes)
			if (cJSON_IsString(c) && !strcmp(c->valuestring, f->cause))
				cause_listed = true;
		if (!cause_listed)
			continue;
		bool on = kind && name && !strcmp(f->object.kind, kind) &&
			  !strcmp(f->object.ns, ns ? ns : "") && !strcmp(f->object.name, name);
		const cJSON *a;
		cJSON_ArrayForEach(a, f->affected)
			if (json_str_eq(a, "kind", kind) && json_str_eq(a, "namespace", ns) &&
			    json_str_eq(a, "name", name))
				on = true;
		const cJSON *r;
		cJSON_ArrayForEach(r, f->related)
			if (json_str_eq(r, "kind", kind) && json_str_eq(r, "namespace", ns) &&
			    json_str_eq(r, "name", name))
				on = true;
		*still_present = on;
	}
	diag_report_free(&rep);
	world_free(w);
	return rc;
}

static int dry_run(void *ctx, const cJSON *plan, cJSON **diff, struct ks_err *err)
{
	struct daemon *d = ctx;
	return reconcile_dry_run(d->rec, plan, diff, err);
}

/* ---- the HTTP handlers ---- */

static int h_snapshot(struct daemon *d, cJSON *const *slot, cJSON **out, struct ks_err *err)
{
	pthread_mutex_lock(&d->mu);
	*out = *slot ? cJSON_Duplicate(*slot, 1) : NULL;
	pthread_mutex_unlock(&d->mu);
	if (!*out)
		return ks_err_set(err, KS_ENOTFOUND, "no round has completed yet");
	return 0;
}

static int h_findings(void *ctx, cJSON **out, struct ks_err *err)
{
	struct daemon *d = ctx;
	return h_snapshot(d, &d->findings_json, out, err);
}

static int h_cost(void *ctx, cJSON **out, struct ks_err *err)
{
	struct daemon *d = ctx;
	return h_snapshot(d, &d->cost_json, out, err);
}

/* GET /api/v1/cost/history (docs/API.md): the cluster's hourly cost the forecasting agent
 * records each round (series "cost:cluster"), its last COST_HISTORY_MAX samples, a Holt
 * linear forecast of it (hw.h; from 3 samples) over a quarter of the span shown (at most
 * COST_FORECAST_MAX steps of the mean spacing) with an 80% interval, and the savings of
 * the plans that succeeded. */
#define COST_HISTORY_MAX 500
#define COST_FORECAST_MAX 48

static cJSON *cost_point(int64_t t, double usd)
{
	cJSON *p = cJSON_CreateObject();
	cJSON_AddNumberToObject(p, "t", (double)t);
	cJSON_AddNumberToObject(p, "usd_per_hour", usd);
	return p;
}

static cJSON *cost_forecast(const int64_t *t, const double *y, size_t n)
{
	cJSON *fj = cJSON_CreateArray();
	struct fc_hw_model m = {0};
	struct fc_forecast f = {0};
	struct ks_err err = {0};
	if (n < 3 || t[n - 1] <= t[0])
		return fj;
	double step = (double)(t[n - 1] - t[0]) / (double)(n - 1);
	size_t h = n / 4 < 1 ? 1 : n / 4 > COST_FORECAST_MAX ? COST_FORECAST_MAX : n / 4;
	if (fc_hw_fit(y, n, 0, &m, &err) || fc_hw_forecast(&m, h, 0.8, &f, &err)) {
		KS_DEBUG(MOD, "cost forecast: %s", err.msg);
	} else {
		for (size_t i = 0; i < h; i++) {
			cJSON *p = cost_point(t[n - 1] + (int64_t)llround(step * (double)(i + 1)),
					      fmax(0, f.mean[i]));
			cJSON_AddNumberToObject(p, "lo", fmax(0, f.lo[i]));
			cJSON_AddNumberToObject(p, "hi", fmax(0, f.hi[i]));
			cJSON_AddItemToArray(fj, p);
		}
	}
	fc_forecast_release(&f);
	fc_hw_release(&m);
	return fj;
}

static int h_cost_history(void *ctx, cJSON **out, struct ks_err *err)
{
	struct daemon *d = ctx;
	int64_t *t = NULL;
	double *y = NULL, *cap = NULL;
	size_t n = 0;
	cJSON *by_status = NULL;
	struct plans_savings sv = {0};
	int rc = series_read(d->store, "cost:cluster", 0, &t, &y, &cap, &n, err);
	if (!rc)
		rc = plans_counts(d->store, &by_status, &sv, err);
	if (!rc) {
		size_t first = n > COST_HISTORY_MAX ? n - COST_HISTORY_MAX : 0;
		cJSON *samples = cJSON_CreateArray();
		for (size_t i = first; i < n; i++)
			cJSON_AddItemToArray(samples, cost_point(t[i], y[i]));
		*out = cJSON_CreateObject();
		cJSON_AddStringToObject(*out, "series", "cost:cluster");
		cJSON_AddItemToObject(*out, "samples", samples);
		cJSON_AddItemToObject(*out, "forecast", cost_forecast(t + first, y + first,
								      n - first));
		cJSON_AddNumberToObject(*out, "savings_realised_usd_per_month", sv.realised);
		cJSON_AddNumberToObject(*out, "savings_predicted_usd_per_month", sv.predicted);
		cJSON_AddNumberToObject(*out, "savings_measured_plans", sv.measured);
		cJSON_AddItemToObject(*out, "plans_by_status", by_status);
	}
	free(t);
	free(y);
	free(cap);
	return rc;
}

static int h_proposals(void *ctx, cJSON **out, struct ks_err *err)
{
	struct daemon *d = ctx;
	return swarm_proposals(d->swarm, out, err);
}

static int h_plans_list(void *ctx, const char *status, cJSON **out, struct ks_err *err)
{
	struct daemon *d = ctx;
	return swarm_plans_list(d->swarm, status, 200, out, err);
}

static int h_plan_get(void *ctx, const char *plan_id, cJSON **out, struct ks_err *err)
{
	struct daemon *d = ctx;
	int rc = swarm_plan_get(d->swarm, plan_id, out, err);
	if (rc)
		return rc;
	/* Layer 1's audit of it: who approved, what changed (secrets as fingerprints), when,
	 * the outcome. */
	cJSON *audit = NULL;
	struct ks_err aerr = {0};
	if (reconcile_audit(d->rec, plan_id, 1000, &audit, &aerr))
		KS_WARN(MOD, "reading the audit of plan %s: %s", plan_id, aerr.msg);
	cJSON_AddItemToObject(*out, "audit", audit ? audit : cJSON_CreateArray());
	return 0;
}

static int h_approve(void *ctx, const char *plan_id, const char *by, const char *comment,
		     struct ks_err *err)
{
	struct daemon *d = ctx;
	int rc = swarm_approve(d->swarm, plan_id, by, comment, err);
	if (!rc)
		wake_loop(d);
	return rc;
}

static int h_reject(void *ctx, const char *plan_id, const char *by, const char *reason,
		    struct ks_err *err)
{
	struct daemon *d = ctx;
	return swarm_reject(d->swarm, plan_id, by, reason, err);
}

/* The LLM rewords the swarm's computed answer (it adds no facts: the prompt says so, and
 * the computed answer is returned beside it). On any failure the computed answer stands. */
static char *reword(struct daemon *d, const char *question, const char *answer)
{
	char *user = ks_asprintf("Question: %s\n\nThe answer, computed from kswarm's recorded "
				 "decisions:\n%s",
				 question, answer);
	struct llm_message msgs[] = {
		{.role = "system",
		 .content = "You are kswarm's explainer for SREs. Reword the computed answer "
			    "in plain, short sentences. Use only the facts it states; add none, "
			    "drop none of its numbers, ids or names."},
		{.role = "user", .content = user},
	};
	struct llm_request rq = {.messages = msgs, .n_messages = 2};
	ks_buf_init(&rq.text, LLM_MAX_ANSWER);
	struct ks_err err = {0};
	char *out = NULL;
	if (llm_run(&d->llm, &rq, 1, &err) || !rq.text.len)
		KS_WARN(MOD, "the LLM did not reword the answer: %s (the computed answer stands)",
			err.msg[0] ? err.msg : "empty answer");
	else
		out = ks_strndup(rq.text.data, rq.text.len);
	llm_request_release(&rq);
	free(user);
	return out;
}

static int h_ask(void *ctx, const char *question, cJSON **out, struct ks_err *err)
{
	struct daemon *d = ctx;
	char *answer = NULL;
	cJSON *refs = NULL;
	int rc = swarm_ask(d->swarm, question, &answer, &refs, err);
	if (rc)
		return rc;
	char *worded = d->have_llm && answer && *answer ? reword(d, question, answer) : NULL;
	*out = cJSON_CreateObject();
	cJSON_AddStringToObject(*out, "answer", worded ? worded : answer ? answer : "");
	if (worded) {
		cJSON_AddStringToObject(*out, "computed_answer", answer);
		cJSON_AddStringToObject(*out, "worded_by", d->llm.model ? d->llm.model : "llm");
	}
	cJSON_AddItemToObject(*out, "refs", refs ? refs : cJSON_CreateArray());
	free(worded);
	free(answer);
	return 0;
}

static void metric(struct ks_prom_writer *pw, const char *name, enum ks_prom_type type,
		   const char *help, const char *label, const char *value, double v,
		   struct ks_err *err)
{
	if (help)
		ks_prom_family(pw, name, type, help, err);
	struct ks_prom_label l = {.name = label, .value = value};
	ks_prom_sample(pw, label ? &l : NULL, label ? 1 : 0, v, KS_PROM_NO_TIMESTAMP, err);
}

static int h_metrics(void *ctx, struct ks_buf *out, struct ks_err *err)
{
	struct daemon *d = ctx;
	struct ks_prom_writer pw;
	ks_prom_writer_init(&pw, out);
	pthread_mutex_lock(&d->mu);
	metric(&pw, "kswarm_rounds_total", KS_PROM_COUNTER, "Deliberation rounds completed.",
	       NULL, NULL, d->rounds, err);
	metric(&pw, "kswarm_round_duration_seconds_sum", KS_PROM_COUNTER,
	       "Seconds spent in rounds (world load, analysis, deliberation).", NULL, NULL,
	       d->round_seconds_sum, err);
	metric(&pw, "kswarm_findings", KS_PROM_GAUGE, "Open findings by severity (last round).",
	       "severity", diag_severity_name(DIAG_INFO), d->findings_by_severity[DIAG_INFO],
	       err);
	for (int s = DIAG_LOW; s <= DIAG_CRITICAL; s++)
		metric(&pw, "kswarm_findings", KS_PROM_GAUGE, NULL, "severity",
		       diag_severity_name((enum diag_severity)s), d->findings_by_severity[s], err);
	static const char *const results[] = {"succeeded", "failed", "rolled_back"};
	metric(&pw, "kswarm_plans_executed_total", KS_PROM_COUNTER,
	       "Plans the reconciler finished, by outcome.", "result", results[0],
	       d->plans_by_result[0], err);
	for (int i = 1; i < 3; i++)
		metric(&pw, "kswarm_plans_executed_total", KS_PROM_COUNTER, NULL, "result",
		       results[i], d->plans_by_result[i], err);
	pthread_mutex_unlock(&d->mu);
	cJSON *sm = NULL;
	if (!swarm_metrics(d->swarm, &sm, err) && sm) {
		/* {"family": {"help":…, "type":"counter|gauge", "samples":[{"labels":{…},"value"}]}}
		 * or {"name": number}: both shapes are rendered. */
		const cJSON *fam;
		cJSON_ArrayForEach(fam, sm)
		{
			char name[128];
			snprintf(name, sizeof name, "kswarm_swarm_%s", fam->string);
			for (char *p = name; *p; p++)
				if (!isalnum((unsigned char)*p))
					*p = '_';
			if (cJSON_IsNumber(fam)) {
				metric(&pw, name, KS_PROM_GAUGE, "Swarm counter (see docs/API.md).",
				       NULL, NULL, fam->valuedouble, err);
			} else if (cJSON_IsObject(fam)) {
				const cJSON *v;
				bool first = true;
				cJSON_ArrayForEach(v, fam)
				{
					if (!cJSON_IsNumber(v))
						continue;
					metric(&pw, name, KS_PROM_GAUGE,
					       first ? "Swarm counter by key (see docs/API.md)." : NULL,
					       "key", v->string, v->valuedouble, err);
					first = false;
				}
			}
		}
		cJSON_Delete(sm);
	}
	dmetrics_render(&pw, d->notifier, d->cfg->notify, d->cfg->nnotify, err);
	ks_prom_writer_release(&pw);
	return 0;
}

/* ---- one round ---- */

static cJSON *findings_json(const struct diag_report *rep)
{
	cJSON *arr = cJSON_CreateArray();
	for (size_t i = 0; i < rep->n; i++)
		cJSON_AddItemToArray(arr, diag_finding_json(rep->findings[i]));
	return arr;
}

static struct rs_set *fetch_usage(struct daemon *d, struct world *w)
{
	if (!d->cfg->prometheus)
		return NULL;
	struct ks_err err = {0};
	struct rs_set *set = opt_usage_from_prometheus(w, d->cfg->prometheus, &err);
	if (!set)
		KS_WARN(MOD, "usage history from %s: %s (no right-sizing this round)",
			d->cfg->prometheus, err.msg);
	return set;
}

static int run_round(struct daemon *d, struct ks_err *err)
{
	int64_t t0 = ks_mono_ms();
	struct world *w = world_new();
	int rc = load_world(d, w, err);
	if (rc) {
		world_free(w);
		return rc;
	}
	if (!d->cluster[0])
		snprintf(d->cluster, sizeof d->cluster, "%s",
			 d->cfg->cluster ? d->cfg->cluster : world_cluster_name(w));
	struct diag_report rep = {0};
	struct diag_opts dopt = {0};
	if ((rc = diag_run(w, &dopt, &rep, err))) {
		world_free(w);
		return rc;
	}
	struct opt_report orep = {0};
	bool have_opt = false;
	struct rs_set *usage = NULL;
	if (d->cfg->cut_cost && d->cat) {
		usage = fetch_usage(d, w);
		struct opt_opts oo = {.cat = d->cat,
				      .prices = d->prices,
				      .spot = opt_spot_policy_parse(d->cfg->spot),
				      .usage = usage,
				      .usage_source = d->cfg->prometheus};
		struct ks_err oerr = {0};
		if (opt_run(w, &oo, &orep, &oerr))
			KS_WARN(MOD, "cost analysis: %s (no cost proposals this round)", oerr.msg);
		else
			have_opt = true;
	}
	struct prom_client *pc = NULL;
	if (d->cfg->prometheus) {
		struct prom_client_opts po = {.url = d->cfg->prometheus};
		struct ks_err perr = {0};
		if (prom_client_new(&po, &pc, &perr))
			pc = NULL;
	}
	struct swarm_inputs in = {.world = w,
				  .findings = &rep,
				  .optimize = have_opt ? &orep : NULL,
				  .prom = pc,
				  .events = d->have_events ? &d->events : NULL,
				  .now = world_now(w) > 0 ? world_now(w) : ks_time_now_ms() / 1000};
	struct swarm_round_stats st = {0};
	rc = swarm_round(d->swarm, &in, &st, err);
	prom_client_free(pc);

	cJSON *fj = findings_json(&rep);
	cJSON *cj = have_opt ? opt_report_json(&orep) : NULL;
	double sev[DIAG_CRITICAL + 1] = {0};
	for (size_t i = 0; i < rep.n; i++)
		sev[rep.findings[i]->severity]++;
	double secs = (double)(ks_mono_ms() - t0) / 1000.0;
	pthread_mutex_lock(&d->mu);
	cJSON_Delete(d->findings_json);
	cJSON_Delete(d->cost_json);
	d->findings_json = fj;
	d->cost_json = cj;
	memcpy(d->findings_by_severity, sev, sizeof sev);
	d->rounds++;
	d->round_seconds_sum += secs;
	d->last_round_seconds = secs;
	pthread_mutex_unlock(&d->mu);
	KS_INFO(MOD,
		"round %.0f: %zu findings, %d proposals, %d vetoes, %d plans (%d automatic, %d "
		"awaiting a person, %d denied, %d dry-run) in %.2f s",
		d->rounds, rep.n, st.proposals, st.vetoes, st.plans, st.approved_auto,
		st.pending_human, st.denied, st.dry_run, secs);
	if (have_opt)
		opt_report_free(&orep);
	rs_set_free(usage);
	diag_report_free(&rep);
	world_free(w);
	return rc;
}

/* The outcome of a plan, however it ended (executed now, or finished by reconcile_resume
 * after a restart): counted, and told to the swarm (its learning, the plan's status and its
 * measured outcome). why: the reconciler's reason (its outcome's body.why) or an error;
 * message_id: the outcome message on the bus, or NULL. */
static void plan_ended(struct daemon *d, const char *plan_id, const char *result,
		       const char *why, const char *message_id)
{
	pthread_mutex_lock(&d->mu);
	d->plans_by_result[!strcmp(result, "succeeded")	  ? 0
			   : !strcmp(result, "rolled_back") ? 2
							    : 1]++;
	pthread_mutex_unlock(&d->mu);
	cJSON *outcome = cJSON_CreateObject();
	cJSON_AddStringToObject(outcome, "why", why ? why : "");
	if (message_id)
		cJSON_AddStringToObject(outcome, "message_id", message_id);
	struct ks_err err = {0};
	if (swarm_plan_finished(d->swarm, plan_id, result, outcome, &err))
		KS_ERROR(MOD, "recording the outcome of plan %s: %s", plan_id, err.msg);
	cJSON_Delete(outcome);
}

/* Run one plan through the reconciler (its OUTCOME event ends it with plan_ended); a plan
 * the reconciler refuses to start (a bad shape, a store error) is ended as failed here. */
static void execute_plan(struct daemon *d, const cJSON *plan)
{
	const char *plan_id =
		cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(plan, "plan_id"));
	const char *approver =
		cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(plan, "approved_by"));
	char id[64];
	snprintf(id, sizeof id, "%s", plan_id ? plan_id : "?");
	const char *result = "failed";
	struct ks_err err = {0};
	int64_t t0 = ks_mono_ms();
	if (reconcile_execute(d->rec, plan, approver ? approver : "unknown", &result, &err)) {
		KS_ERROR(MOD, "plan %s could not be executed: %s", id, err.msg);
		plan_ended(d, id, "failed", err.msg, NULL);
		return;
	}
	double secs = (double)(ks_mono_ms() - t0) / 1000.0;
	ks_hist_observe(KS_HIST_RECONCILE_SECONDS, secs);
	KS_INFO(MOD, "plan %s: %s in %.1f s", id, result, secs);
}

/* Execute every approved plan, one at a time. */
static int execute_approved(struct daemon *d, struct ks_err *err)
{
	while (!*d->o->stop) {
		cJSON *plan = NULL;
		int rc = swarm_next_approved(d->swarm, &plan, err);
		if (rc || !plan)
			return rc;
		execute_plan(d, plan);
		cJSON_Delete(plan);
	}
	return 0;
}

/* After reconcile_resume: a plan the swarm handed out ("executing") that the reconciler
 * never started (the crash came between the two) is executed now; one it had started was
 * finished by the resume, and its outcome event ended it. */
static int execute_interrupted(struct daemon *d, struct ks_err *err)
{
	cJSON *list = NULL;
	int rc = swarm_plans_list(d->swarm, "executing", 0, &list, err);
	const cJSON *item;
	cJSON_ArrayForEach(item, list)
	{
		const char *plan_id = cJSON_GetStringValue(
			cJSON_GetObjectItemCaseSensitive(item, "plan_id"));
		cJSON *got = NULL;
		struct ks_err gerr = {0};
		if (!plan_id || swarm_plan_get(d->swarm, plan_id, &got, &gerr)) {
			KS_ERROR(MOD, "plan %s: %s", plan_id ? plan_id : "?", gerr.msg);
			continue;
		}
		const char *status =
			cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(got, "status"));
		cJSON *plan = cJSON_GetObjectItemCaseSensitive(got, "plan");
		if (status && !strcmp(status, "executing") && cJSON_IsObject(plan)) {
			KS_INFO(MOD, "plan %s was handed out before the restart and never started: "
				     "executing it now", plan_id);
			execute_plan(d, plan);
		}
		cJSON_Delete(got);
	}
	cJSON_Delete(list);
	return rc;
}

/* ---- start and stop ---- */

static int open_parts(struct daemon *d, struct ks_err *err)
{
	const struct daemon_config *c = d->cfg;
	/* The store's directory (a plain path, not ":memory:" or a "file:" URI). */
	char *slash = strrchr(c->store, '/');
	if (!strchr(c->store, ':') && slash && slash != c->store) {
		char *dir = ks_strndup(c->store, (size_t)(slash - c->store));
		int mk = ks_mkdir_p(dir, 0700, err);
		free(dir);
		if (mk)
			return mk;
	}
	int rc = store_open(c->store, &d->store, err);
	if (!rc)
		rc = bus_new(d->store, &d->bus, err);
	if (!rc && c->nnotify) {
		rc = notifier_new(c->notify, c->nnotify, NULL, &d->notifier, err);
		if (!rc)
			rc = notifier_attach(d->notifier, d->bus, err);
	}
	if (rc)
		return rc;
	d->policy = policy_ctx_new();
	if (c->policies && (rc = policy_ctx_load(d->policy, c->policies, err)))
		return rc;
	struct kube_connect_opts ko = {.config = {.kubeconfig = c->kubeconfig,
						  .context = c->context}};
	if ((rc = kube_client_connect(&ko, &d->kube, err)))
		return rc;
	d->kube_open = true;
	if (c->cluster)
		snprintf(d->cluster, sizeof d->cluster, "%s", c->cluster);
	else if (d->kube.context)
		snprintf(d->cluster, sizeof d->cluster, "%s", d->kube.context);
	if (c->vault_token_file &&
	    (rc = ks_read_secret_line(c->vault_token_file, "vault.token_file", 64 * 1024,
				      &d->vault_token, err)))
		return rc;
	if (c->events) {
		struct ks_buf b;
		ks_buf_init(&b, 16 << 20);
		rc = ks_buf_read_file(&b, c->events, err);
		if (!rc)
			rc = fc_events_parse(b.data ? b.data : "", b.len, &d->events, err);
		ks_buf_release(&b);
		if (rc)
			return ks_err_set(err, rc, "events %s: %s", c->events, err->msg);
		d->have_events = true;
	}
	if (c->llm_backend || c->llm_url || c->llm_model) {
		struct llm_flags lf = {.backend = c->llm_backend,
				       .url = c->llm_url,
				       .model = c->llm_model,
				       .api_key_env = c->llm_api_key_env};
		if ((rc = llm_config_load(&d->llm, &lf, err)))
			return ks_err_set(err, rc, "llm: %s", err->msg);
		d->have_llm = true;
	}
	char *cat_path = cost_catalog_default_path();
	struct ks_err cerr = {0};
	if (cost_catalog_load(cat_path, &d->cat, &cerr))
		KS_WARN(MOD, "instance catalog %s: %s (no cost proposals)", cat_path, cerr.msg);
	else
		d->prices = cost_prices_from_catalog(d->cat);
	free(cat_path);

	struct reconcile_opts ro = {.kube = &d->kube,
				    .store = d->store,
				    .cluster = d->cluster,
				    .kubeconfig = c->kubeconfig,
				    .kube_context = c->context,
				    .helm_bin = c->helm_bin,
				    .gitops_repo = c->gitops_repo,
				    .gitops_dir = c->gitops_dir,
				    .vault_addr = c->vault_addr,
				    .vault_token = d->vault_token,
				    .vault_namespace = c->vault_namespace,
				    .default_timeout_s = (int)c->verify_timeout_s,
				    .on_event = on_reconcile_event,
				    .findings = findings_on_target,
				    .ctx = d};
	if ((rc = reconcile_new(&ro, &d->rec, err)))
		return rc;
	struct swarm_opts so = {.bus = d->bus,
				.store = d->store,
				.policy = d->policy,
				.cluster = d->cluster,
				.goals = {.uptime_target = c->uptime_target,
					  .min_savings_usd = c->min_savings_usd,
					  .cut_cost = c->cut_cost},
				.secret_sources = c->secret_sources,
				.dry_run = dry_run,
				.dry_run_ctx = d};
	return swarm_new(&so, &d->swarm, err);
}

static int start_server(struct daemon *d, struct ks_err *err)
{
	const struct daemon_config *c = d->cfg;
	char *token = NULL;
	int rc;
	if (c->token_file &&
	    (rc = ks_read_secret_line(c->token_file, "auth.token_file", 64 * 1024, &token, err)))
		return rc;
	if (!token && !daemon_listen_is_loopback(c->listen))
		return ks_err_set(err, KS_EINVAL,
				  "listen %s is not a loopback address: set auth.token_file so "
				  "that changes need a bearer token",
				  c->listen);
	struct server_opts so = {.listen = c->listen,
				 .token = token,
				 .auth_reads = c->auth_reads,
				 .bus = d->bus,
				 .store = d->store,
				 .handlers = {.ctx = d,
					      .findings = h_findings,
					      .cost = h_cost,
					      .cost_history = h_cost_history,
					      .proposals = h_proposals,
					      .plans_list = h_plans_list,
					      .plan_get = h_plan_get,
					      .approve = h_approve,
					      .reject = h_reject,
					      .ask = h_ask,
					      .metrics = h_metrics}};
	rc = server_start(&so, &d->server, err);
	if (token) {
		explicit_bzero(token, strlen(token));
		free(token);
	}
	return rc;
}

static void close_parts(struct daemon *d)
{
	if (d->server)
		server_stop(d->server);
	swarm_free(d->swarm);
	reconcile_free(d->rec);
	if (d->kube_open)
		kube_client_close(&d->kube);
	notifier_free(d->notifier); /* unsubscribes first */
	bus_free(d->bus);
	policy_ctx_free(d->policy);
	store_close(d->store);
	cost_prices_free(d->prices);
	cost_catalog_free(d->cat);
	if (d->have_events)
		fc_events_release(&d->events);
	if (d->have_llm)
		llm_config_release(&d->llm);
	if (d->vault_token) {
		explicit_bzero(d->vault_token, strlen(d->vault_token));
		free(d->vault_token);
	}
	cJSON_Delete(d->findings_json);
	cJSON_Delete(d->cost_json);
	pthread_mutex_destroy(&d->mu);
	pthread_cond_destroy(&d->cv);
}

int daemon_run(const struct daemon_opts *o, struct ks_err *err)
{
	struct daemon d = {.o = o, .cfg = o->config};
	pthread_mutex_init(&d.mu, NULL);
	pthread_cond_init(&d.cv, NULL);
	struct stream_printer *sp = NULL;
	struct narrator *narrator = NULL;
	int rc = open_parts(&d, err);
	if (!rc && o->stream)
		sp = stream_printer_attach(d.bus, o->stream, o->colour);
	if (!rc && d.have_llm && d.cfg->llm_narrate) {
		struct narrate_sink sink = sp ? stream_printer_sink(sp) : (struct narrate_sink){0};
		rc = narrator_new(d.bus, &d.llm, sp ? &sink : NULL, &narrator, err);
	}
	int resumed = 0;
	if (!rc && (rc = reconcile_resume(d.rec, &resumed, err)) == 0 && resumed)
		KS_INFO(MOD, "%d interrupted plan(s) finished or rolled back after the restart",
			resumed);
	if (!rc)
		rc = execute_interrupted(&d, err);
	if (!rc)
		rc = start_server(&d, err);
	if (!rc) {
		KS_INFO(MOD, "cluster %s; API on http://%s; store %s; policies %s; every %.0f s",
			d.cluster, server_address(d.server), d.cfg->store,
			d.cfg->policies ? d.cfg->policies : "(default: dry-run)", d.cfg->interval_s);
		if (o->on_ready)
			o->on_ready(o->ready_ctx, server_address(d.server));
	}
	for (int round = 0; !rc && !*o->stop; round++) {
		struct ks_err rerr = {0};
		if (run_round(&d, &rerr))
			KS_ERROR(MOD, "round failed: %s (retrying at the next interval)", rerr.msg);
		if (execute_approved(&d, &rerr))
			KS_ERROR(MOD, "executing plans: %s", rerr.msg);
		if (o->max_rounds && round + 1 >= o->max_rounds)
			break;
		if (!wait_next(&d, d.cfg->interval_s))
			break;
		/* Woken by an approval: execute it before the next full round. */
		if (execute_approved(&d, &rerr))
			KS_ERROR(MOD, "executing plans: %s", rerr.msg);
	}
	/* The server's threads publish too (approvals): stop them before the printer goes. */
	if (d.server)
		server_stop(d.server);
	d.server = NULL;
	narrator_free(narrator); /* before the printer, its sink */
	if (sp)
		stream_printer_detach(sp, d.bus);
	close_parts(&d);
	return rc;
}
