/* optimize_report.c — `kswarm optimize` output: the JSON of docs/optimize.schema.json, the
 * text (a table per NodePool, its alternatives, risks, patch and a one-line verdict; the
 * cluster-wide figures; the top savings), and the patched NodePools as YAML. */
#include "base/common.h"
#include "base/buf.h"
#include "base/json.h"
#include "base/jsonout.h"
#include "cost/optimize.h"
#include "diag/capacity.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* money and rates, rounded as shown (cents a month, 1/10000 of a dollar an hour) */
static double cents(double v)
{
	return round(v * 100) / 100;
}

static double rate4(double v)
{
	return round(v * 10000) / 10000;
}

static cJSON *num_or_null(double v, bool ok)
{
	return ok && isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull();
}

static cJSON *bound_method(bool have, enum opt_bound_method m)
{
	return !have || m == OPT_BOUND_NONE ? cJSON_CreateNull()
					    : cJSON_CreateString(opt_bound_method_name(m));
}

static cJSON *mix_json(const struct opt_mix *x)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "hourly_usd", rate4(x->hourly_usd));
	cJSON_AddNumberToObject(o, "monthly_usd", cents(x->hourly_usd * OPT_HOURS_PER_MONTH));
	cJSON_AddNumberToObject(o, "nodes", (double)x->nodes);
	cJSON_AddNumberToObject(o, "allocatable_cpu_m", (double)x->cpu_m);
	cJSON_AddNumberToObject(o, "allocatable_memory_bytes", (double)x->mem);
	cJSON *items = cJSON_AddArrayToObject(o, "mix");
	for (size_t i = 0; i < x->n_items; i++) {
		const struct opt_mix_item *it = &x->items[i];
		cJSON *j = cJSON_CreateObject();
		cJSON_AddStringToObject(j, "instance_type", it->type);
		cJSON_AddStringToObject(j, "capacity_type", it->capacity);
		cJSON_AddNumberToObject(j, "nodes", (double)it->nodes);
		cJSON_AddItemToObject(j, "hourly_usd_each",
				      num_or_null(rate4(it->usd_hr_each), it->usd_hr_each >= 0));
		cJSON_AddStringToObject(j, "price_source", it->price_source);
		cJSON_AddItemToObject(
		    j, "interruption_bucket",
		    num_or_null(it->interruption_bucket, it->interruption_bucket >= 0));
		cJSON_AddItemToArray(items, j);
	}
	if (x->unpriced)
		cJSON_AddNumberToObject(o, "unpriced_nodes", (double)x->unpriced);
	return o;
}

static cJSON *pool_json(const struct opt_pool *p)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "name", p->name);
	cJSON_AddNumberToObject(o, "pods", (double)p->pods);
	cJSON_AddNumberToObject(o, "pending_pods", (double)p->pending_pods);
	cJSON *ov = cJSON_AddObjectToObject(o, "daemonset_overhead");
	cJSON_AddNumberToObject(ov, "cpu_m", (double)p->overhead_cpu_m);
	cJSON_AddNumberToObject(ov, "memory_bytes", (double)p->overhead_mem);
	cJSON_AddNumberToObject(ov, "pods", (double)p->overhead_pods);
	cJSON_AddItemToObject(o, "current", mix_json(&p->current));
	cJSON_AddItemToObject(o, "recommended", mix_json(&p->recommended));
	cJSON_AddItemToObject(o, "with_rightsizing",
			      p->has_rightsized ? mix_json(&p->with_rightsizing)
						: cJSON_CreateNull());
	cJSON_AddNumberToObject(o, "monthly_savings_usd", cents(p->monthly_savings_usd));
	cJSON_AddItemToObject(
	    o, "lower_bound_monthly_usd",
	    num_or_null(cents(p->lower_bound_monthly_usd), p->lower_bound_monthly_usd >= 0));
	cJSON_AddItemToObject(o, "gap_pct", num_or_null(round(p->gap_pct * 100) / 100, true));
	cJSON_AddItemToObject(o, "lower_bound_method",
			      bound_method(p->lower_bound_monthly_usd >= 0, p->bound_method));
	cJSON *alts = cJSON_AddArrayToObject(o, "alternatives");
	for (size_t i = 0; i < p->n_cands; i++) {
		const struct opt_candidate *c = &p->cands[i];
		cJSON *a = mix_json(&c->mix);
		cJSON_AddStringToObject(a, "name", c->name);
		cJSON_AddStringToObject(a, "description", c->description);
		cJSON_AddBoolToObject(a, "chosen", (int)i == p->chosen);
		cJSON_AddBoolToObject(a, "feasible", c->feasible);
		cJSON_AddBoolToObject(a, "eligible", c->eligible);
		cJSON_AddNumberToObject(a, "types_considered", (double)c->types_considered);
		cJSON_AddNumberToObject(a, "unplaced_pods", (double)c->unplaced_pods);
		cJSON_AddItemToObject(
		    a, "lower_bound_monthly_usd",
		    num_or_null(cents(c->lower_bound_usd_hr * OPT_HOURS_PER_MONTH),
				c->lower_bound_usd_hr >= 0));
		cJSON_AddItemToObject(a, "gap_pct",
				      num_or_null(round(c->gap_pct * 100) / 100, true));
		cJSON_AddItemToObject(a, "lower_bound_method",
				      bound_method(c->lower_bound_usd_hr >= 0, c->bound_method));
		cJSON_AddItemToObject(
		    a, "why_not", c->why_not ? cJSON_CreateString(c->why_not) : cJSON_CreateNull());
		cJSON_AddItemToArray(alts, a);
	}
	cJSON *risks = cJSON_AddArrayToObject(o, "risks");
	for (size_t i = 0; i < p->n_risks; i++)
		cJSON_AddItemToArray(risks, cJSON_CreateString(p->risks[i]));
	cJSON_AddItemToObject(o, "patch",
			      p->patch ? cJSON_Duplicate(p->patch, true) : cJSON_CreateNull());
	cJSON_AddNumberToObject(o, "settling_nodes", (double)p->settling_nodes);
	cJSON_AddStringToObject(o, "verdict", p->verdict ? p->verdict : "");
	return o;
}

static cJSON *workload_json(const struct opt_workload *w)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "namespace", w->ns);
	cJSON_AddStringToObject(o, "kind", w->kind);
	cJSON_AddStringToObject(o, "name", w->name);
	cJSON_AddItemToObject(o, "nodepool",
			      w->nodepool ? cJSON_CreateString(w->nodepool) : cJSON_CreateNull());
	cJSON_AddNumberToObject(o, "replicas", (double)w->replicas);
	cJSON *rq = cJSON_AddObjectToObject(o, "requests_per_pod");
	cJSON_AddNumberToObject(rq, "cpu_m", (double)w->cpu_m);
	cJSON_AddNumberToObject(rq, "memory_bytes", (double)w->mem);
	cJSON_AddNumberToObject(o, "monthly_usd", cents(w->monthly_usd));
	cJSON_AddNumberToObject(o, "monthly_savings_usd", cents(w->monthly_savings_usd));
	cJSON_AddBoolToObject(o, "over_requested", w->over_requested);
	cJSON *cs = cJSON_AddArrayToObject(o, "containers");
	for (size_t i = 0; i < w->n_containers; i++) {
		const struct opt_container_rec *c = &w->containers[i];
		cJSON *j = cJSON_CreateObject();
		cJSON_AddStringToObject(j, "name", c->container);
		cJSON_AddStringToObject(j, "status", c->status);
		cJSON_AddNumberToObject(j, "cpu_request_cores", c->cpu_request);
		cJSON_AddNumberToObject(j, "cpu_target_cores", round(c->cpu_target * 1000) / 1000);
		cJSON_AddNumberToObject(j, "memory_request_bytes", c->mem_request);
		cJSON_AddNumberToObject(j, "memory_target_bytes", round(c->mem_target));
		cJSON_AddStringToObject(j, "reason", c->text);
		cJSON_AddItemToArray(cs, j);
	}
	return o;
}

cJSON *opt_report_json(const struct opt_report *r)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "cluster", r->cluster ? r->cluster : "");
	cJSON_AddStringToObject(o, "region", r->region ? r->region : "");
	cJSON_AddStringToObject(o, "spot_policy", r->spot_policy ? r->spot_policy : "");
	cJSON_AddItemToObject(o, "usage_source",
			      r->usage_source ? cJSON_CreateString(r->usage_source)
					      : cJSON_CreateNull());
	cJSON *s = cJSON_AddObjectToObject(o, "summary");
	cJSON_AddNumberToObject(s, "nodes", (double)r->nodes);
	cJSON_AddNumberToObject(s, "current_hourly_usd", rate4(r->current_hourly_usd));
	cJSON_AddNumberToObject(s, "current_monthly_usd",
				cents(r->current_hourly_usd * OPT_HOURS_PER_MONTH));
	cJSON_AddNumberToObject(s, "recommended_hourly_usd", rate4(r->recommended_hourly_usd));
	cJSON_AddNumberToObject(s, "recommended_monthly_usd",
				cents(r->recommended_hourly_usd * OPT_HOURS_PER_MONTH));
	cJSON_AddNumberToObject(
	    s, "monthly_savings_usd",
	    cents((r->current_hourly_usd - r->recommended_hourly_usd) * OPT_HOURS_PER_MONTH));
	cJSON_AddNumberToObject(s, "idle_monthly_usd",
				cents(r->idle_hourly_usd * OPT_HOURS_PER_MONTH));
	cJSON_AddNumberToObject(s, "allocatable_cpu_m", (double)r->alloc_cpu_m);
	cJSON_AddNumberToObject(s, "allocatable_memory_bytes", (double)r->alloc_mem);
	cJSON_AddNumberToObject(s, "requested_cpu_m", (double)r->requested_cpu_m);
	cJSON_AddNumberToObject(s, "requested_memory_bytes", (double)r->requested_mem);
	cJSON *pools = cJSON_AddArrayToObject(o, "nodepools");
	for (size_t i = 0; i < r->n_pools; i++)
		cJSON_AddItemToArray(pools, pool_json(&r->pools[i]));
	cJSON *wls = cJSON_AddArrayToObject(o, "workloads");
	for (size_t i = 0; i < r->n_workloads; i++)
		cJSON_AddItemToArray(wls, workload_json(&r->workloads[i]));
	cJSON *top = cJSON_AddArrayToObject(o, "top_savings");
	for (size_t i = 0; i < r->n_top; i++) {
		cJSON *t = cJSON_CreateObject();
		cJSON_AddStringToObject(t, "what", r->top[i].what);
		cJSON_AddNumberToObject(t, "monthly_usd", cents(r->top[i].monthly_usd));
		cJSON_AddItemToArray(top, t);
	}
	cJSON *notes = cJSON_AddArrayToObject(o, "notes");
	for (size_t i = 0; i < r->n_notes; i++)
		cJSON_AddItemToArray(notes, cJSON_CreateString(r->notes[i]));
	return o;
}

/* ---- text --------------------------------------------------------------------------------- */

struct style {
	const char *bold, *dim, *green, *yellow, *off;
};
static const struct style colour = { "\033[1m", "\033[2m", "\033[32m", "\033[33m", "\033[0m" };
static const struct style plain = { "", "", "", "", "" };

static void row(struct ks_buf *b, const char *label, const struct opt_mix *x, const char *extra)
{
	char mix[42];
	opt_mix_text(mix, sizeof mix, x);
	ks_buf_appendf(b, "  %-26s %5lld  %-41s %9.4f %10.2f%s%s\n", label, (long long)x->nodes,
		       mix, x->hourly_usd, x->hourly_usd * OPT_HOURS_PER_MONTH, extra ? "  " : "",
		       extra ? extra : "");
}

static void pool_text(struct ks_buf *b, const struct opt_pool *p, const struct style *s)
{
	char cpu[32], mem[32];
	ks_buf_appendf(b, "%sNodePool %s%s  %lld pod%s", s->bold, p->name, s->off,
		       (long long)p->pods, p->pods == 1 ? "" : "s");
	if (p->pending_pods)
		ks_buf_appendf(b, " (%lld pending)", (long long)p->pending_pods);
	if (p->overhead_pods) {
		cap_fmt_cpu(cpu, sizeof cpu, p->overhead_cpu_m);
		cap_fmt_mem(mem, sizeof mem, p->overhead_mem);
		ks_buf_appendf(b, ", DaemonSet overhead %s vCPU %s in %lld pod%s a node", cpu, mem,
			       (long long)p->overhead_pods, p->overhead_pods == 1 ? "" : "s");
	}
	ks_buf_appendf(b, "\n%s  %-26s %5s  %-41s %9s %10s%s\n", s->dim, "", "NODES", "MIX",
		       "$/HOUR", "$/MONTH", s->off);
	row(b, "current", &p->current, NULL);
	char extra[96] = "";
	if (p->chosen >= 0 && p->monthly_savings_usd > 0)
		snprintf(extra, sizeof extra, "saves $%.2f a month", p->monthly_savings_usd);
	row(b, "recommended", &p->recommended, extra[0] ? extra : NULL);
	if (p->lower_bound_monthly_usd >= 0)
		ks_buf_appendf(b, "  %-26s %5s  %-41s %9.4f %10.2f  gap %.1f%%\n",
			       p->bound_method == OPT_BOUND_EXACT ? "optimum (exact MIP)"
			       : p->bound_method == OPT_BOUND_INTEGER
				   ? "lower bound (integer nodes)"
				   : "lower bound (LP)",
			       "", "", p->lower_bound_monthly_usd / OPT_HOURS_PER_MONTH,
			       p->lower_bound_monthly_usd, isfinite(p->gap_pct) ? p->gap_pct : 0.0);
	if (p->has_rightsized)
		row(b, "with right-sizing", &p->with_rightsizing, NULL);
	if (p->n_cands)
		ks_buf_appendf(b, "  %salternatives%s\n", s->dim, s->off);
	for (size_t i = 0; i < p->n_cands; i++) {
		const struct opt_candidate *c = &p->cands[i];
		char label[40];
		snprintf(label, sizeof label, "%s %s", (int)i == p->chosen ? "*" : " ", c->name);
		row(b, label, &c->mix, (int)i == p->chosen ? "chosen" : c->why_not);
	}
	if (p->n_risks) {
		ks_buf_appendf(b, "  %srisks%s\n", s->dim, s->off);
		for (size_t i = 0; i < p->n_risks; i++)
			ks_buf_appendf(b, "    - %s\n", p->risks[i]);
	}
	if (p->patch) {
		char *j = ks_json_print(p->patch);
		ks_buf_appendf(b,
			       "  %spatch%s   kubectl patch nodepools.karpenter.sh %s --type merge "
			       "-p '%s'\n",
			       s->dim, s->off, p->name, j);
		free(j);
	}
	ks_buf_appendf(b, "  %sverdict%s %s%s%s\n\n", s->dim, s->off,
		       p->chosen >= 0 ? s->green : "", p->verdict ? p->verdict : "", s->off);
}

void opt_report_text(struct ks_buf *b, const struct opt_report *r, bool use_colour)
{
	const struct style *s = use_colour ? &colour : &plain;
	ks_buf_appendf(b,
		       "%skswarm optimize%s  cluster %s, prices %s, spot policy %s, usage %s\n\n",
		       s->bold, s->off, r->cluster && r->cluster[0] ? r->cluster : "-", r->region,
		       r->spot_policy, r->usage_source ? r->usage_source : "none");
	for (size_t i = 0; i < r->n_pools; i++)
		pool_text(b, &r->pools[i], s);
	size_t shown = 0;
	for (size_t i = 0; i < r->n_workloads; i++) {
		const struct opt_workload *w = &r->workloads[i];
		if (!w->over_requested && !(w->monthly_savings_usd > 0.005))
			continue;
		if (!shown++)
			ks_buf_appendf(b, "%sOver-requested workloads%s\n", s->bold, s->off);
		if (shown > 20)
			continue;
		ks_buf_appendf(b, "  %s %s/%s (%lld pod%s): saves $%.2f a month\n", w->kind, w->ns,
			       w->name, (long long)w->replicas, w->replicas == 1 ? "" : "s",
			       w->monthly_savings_usd);
		for (size_t k = 0; k < w->n_containers; k++)
			ks_buf_appendf(b, "    %s: %s\n", w->containers[k].container,
				       w->containers[k].text);
	}
	if (shown > 20)
		ks_buf_appendf(b, "  ... and %zu more (-o json lists them all)\n", shown - 20);
	if (shown)
		ks_buf_appendc(b, '\n');
	char acpu[32], amem[32], rcpu[32], rmem[32];
	cap_fmt_cpu(acpu, sizeof acpu, r->alloc_cpu_m);
	cap_fmt_mem(amem, sizeof amem, r->alloc_mem);
	cap_fmt_cpu(rcpu, sizeof rcpu, r->requested_cpu_m);
	cap_fmt_mem(rmem, sizeof rmem, r->requested_mem);
	ks_buf_appendf(b,
		       "%sCluster%s  %lld node%s, %s vCPU and %s allocatable, %s vCPU and %s "
		       "requested; idle capacity $%.2f a month\n",
		       s->bold, s->off, (long long)r->nodes, r->nodes == 1 ? "" : "s", acpu, amem,
		       rcpu, rmem, r->idle_hourly_usd * OPT_HOURS_PER_MONTH);
	if (r->n_top) {
		ks_buf_appendf(b, "%sTop savings%s\n", s->bold, s->off);
		for (size_t i = 0; i < r->n_top; i++)
			ks_buf_appendf(b, "  %2zu. $%10.2f a month  %s\n", i + 1,
				       r->top[i].monthly_usd, r->top[i].what);
	}
	for (size_t i = 0; i < r->n_notes; i++)
		ks_buf_appendf(b, "%snote:%s %s\n", s->dim, s->off, r->notes[i]);
	double save = (r->current_hourly_usd - r->recommended_hourly_usd) * OPT_HOURS_PER_MONTH;
	ks_buf_appendf(b, "\n%sVerdict:%s ", s->bold, s->off);
	if (save > 0.005)
		ks_buf_appendf(b,
			       "%s$%.2f a month to save (%.0f%% of $%.2f) with the NodePool "
			       "patches above%s\n",
			       s->green, save,
			       r->current_hourly_usd > 0
				   ? save / (r->current_hourly_usd * OPT_HOURS_PER_MONTH) * 100
				   : 0,
			       r->current_hourly_usd * OPT_HOURS_PER_MONTH, s->off);
	else
		ks_buf_appendf(b, "no NodePool change saves %.0f%% or more ($%.2f a month now)\n",
			       OPT_MIN_SAVING_PCT, r->current_hourly_usd * OPT_HOURS_PER_MONTH);
}

int opt_report_yaml(struct ks_buf *b, const struct opt_report *r, struct ks_err *err)
{
	size_t n = 0;
	for (size_t i = 0; i < r->n_pools; i++) {
		if (!r->pools[i].patched)
			continue;
		if (n++)
			ks_buf_appendstr(b, "---\n");
		int rc = ks_yaml_write(r->pools[i].patched, b, err);
		if (rc)
			return rc;
	}
	if (!n)
		ks_buf_appendstr(b, "# no NodePool needs a change\n");
	return 0;
}
