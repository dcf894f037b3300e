/* test_optimize.c — kswarm optimize's NodePool recommender (cost/optimize.h) on a built
 * cluster (tests/fixtures/cost/optimize-pools.yaml: three pools, a DaemonSet, images seen on
 * both architectures or one) and on one recorded from the simulator
 * (diag/karp-capacity.yaml): the mix, the proof, the alternatives and why they lost, the
 * spot policy, the patch, the JSON/YAML output and right-sizing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "testutil.h"

#include "base/buf.h"
#include "base/err.h"
#include "base/json.h"
#include "cost/catalog.h"
#include "cost/optimize.h"
#include "cost/pricing.h"
#include "cost/rightsize.h"
#include "metrics/prom.h"
#include "world/world.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static struct cost_catalog *cat;
static struct cost_prices *prices;

static int setup(void **state)
{
	(void)state;
	char *path = cost_catalog_default_path();
	struct ks_err err = {0};
	int rc = cost_catalog_load(path, &cat, &err);
	free(path);
	if (rc)
		return -1;
	prices = cost_prices_from_catalog(cat);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	cost_prices_free(prices);
	cost_catalog_free(cat);
	return 0;
}

static void run(struct world *w, struct opt_opts *o, struct opt_report *r)
{
	o->cat = cat;
	o->prices = prices;
	struct ks_err err = {0};
	int rc = opt_run(w, o, r, &err);
	if (rc)
		fail_msg("opt_run: %s", err.msg);
}

static const struct opt_pool *pool(const struct opt_report *r, const char *name)
{
	for (size_t i = 0; i < r->n_pools; i++)
		if (!strcmp(r->pools[i].name, name))
			return &r->pools[i];
	fail_msg("no pool %s", name);
	return NULL;
}

static const struct opt_candidate *cand(const struct opt_pool *p, const char *name)
{
	for (size_t i = 0; i < p->n_cands; i++)
		if (!strcmp(p->cands[i].name, name))
			return &p->cands[i];
	fail_msg("pool %s: no candidate %s", p->name, name);
	return NULL;
}

static bool mix_has(const struct opt_mix *x, const char *type, int64_t nodes)
{
	for (size_t i = 0; i < x->n_items; i++)
		if (!strcmp(x->items[i].type, type))
			return x->items[i].nodes == nodes;
	return false;
}

static bool near(double a, double b)
{
	return fabs(a - b) < 1e-6;
}

/* The pinned types of a patch ("" when none), comma-separated. */
static void pinned(const cJSON *patch, char *out, size_t n)
{
	out[0] = 0;
	const cJSON *r;
	cJSON_ArrayForEach(r, ks_json_get(patch, "spec.template.spec.requirements")) {
		if (strcmp(ks_json_str_or(r, "key", ""), "node.kubernetes.io/instance-type"))
			continue;
		const cJSON *v;
		cJSON_ArrayForEach(v, ks_json_get(r, "values")) {
			size_t len = strlen(out);
			snprintf(out + len, n - len, "%s%s", len ? "," : "", v->valuestring);
		}
	}
}

static bool requires(const cJSON *patch, const char *key, const char *value)
{
	const cJSON *r;
	cJSON_ArrayForEach(r, ks_json_get(patch, "spec.template.spec.requirements")) {
		if (strcmp(ks_json_str_or(r, "key", ""), key))
			continue;
		const cJSON *v;
		cJSON_ArrayForEach(v, ks_json_get(r, "values"))
			if (!value || !strcmp(v->valuestring, value))
				return true;
	}
	return false;
}

static void test_pools(void **state)
{
	(void)state;
	struct world *w = tu_world("cost/optimize-pools.yaml");
	struct opt_opts o = {0};
	struct opt_report r;
	run(w, &o, &r);
	assert_int_equal(r.n_pools, 3);
	const struct opt_pool *g = pool(&r, "general");
	/* the DaemonSet tolerates every taint: 100m, 128 MiB and one pod on every node */
	assert_int_equal(g->overhead_cpu_m, 100);
	assert_int_equal(g->overhead_mem, 128LL << 20);
	assert_int_equal(g->overhead_pods, 1);
	assert_int_equal(pool(&r, "batch")->overhead_cpu_m, 100);
	assert_int_equal(g->pods, 6);
	/* the nodes as they are: 2 x m5.2xlarge ($0.384) + 1 x m6g.2xlarge ($0.308) */
	assert_int_equal(g->current.nodes, 3);
	assert_true(near(g->current.hourly_usd, 2 * 0.384 + 0.308));
	/* api's image only ran on amd64, web's on both: api (2 x 1 CPU) and three web pods on an
	 * m5a.xlarge, the fourth web pod on an m6g.medium; proven optimal */
	assert_string_equal(g->cands[g->chosen].name, "open sizes");
	assert_true(mix_has(&g->recommended, "m5a.xlarge", 1));
	assert_true(mix_has(&g->recommended, "m6g.medium", 1));
	assert_true(near(g->recommended.hourly_usd, 0.172 + 0.0385));
	assert_int_equal(g->bound_method, OPT_BOUND_EXACT);
	assert_true(g->gap_pct < 1e-6);
	assert_true(near(g->monthly_savings_usd,
			 (g->current.hourly_usd - g->recommended.hourly_usd) * OPT_HOURS_PER_MONTH));
	/* under the current requirements (2xlarge only) one amd64 node holds everything */
	const struct opt_candidate *cur = cand(g, "current requirements");
	assert_true(mix_has(&cur->mix, "m5a.2xlarge", 1));
	assert_non_null(strstr(cur->why_not, "a month more"));
	/* the all-arm64 alternative is cheaper per node but api's image was never seen there */
	const struct opt_candidate *arm = cand(g, "arm64 (Graviton)");
	assert_false(arm->eligible);
	assert_non_null(strstr(arm->why_not, "ghcr.io/acme/api:2.0"));
	assert_null(strstr(arm->why_not, "ghcr.io/acme/web:1.0"));
	/* the category is kept; "any category" is shown, never chosen */
	assert_false(cand(g, "any category")->eligible);
	char types[256];
	pinned(g->patch, types, sizeof types);
	assert_string_equal(types, "m5a.xlarge,m6g.medium");
	assert_true(requires(g->patch, "karpenter.k8s.aws/instance-category", "m"));
	assert_false(requires(g->patch, "karpenter.k8s.aws/instance-size", NULL));
	assert_true(requires(g->patch, "karpenter.sh/capacity-type", "on-demand"));
	/* the patched NodePool for -o yaml: the patch applied, status and server fields gone */
	assert_non_null(g->patched);
	assert_true(ks_json_identical(ks_json_get(g->patched, "spec.template.spec.requirements"),
				      ks_json_get(g->patch, "spec.template.spec.requirements")));
	assert_null(ks_json_get(g->patched, "status"));
	assert_string_equal(ks_json_str(g->patched, "spec.limits.cpu"), "100");

	/* spot is not the policy's default: shown with the reason */
	const struct opt_pool *b = pool(&r, "batch");
	assert_false(cand(b, "spot")->eligible);
	assert_non_null(strstr(cand(b, "spot")->why_not, "spot policy 'keep'"));
	assert_false(b->cands[b->chosen].spot);
	/* one worker a node (required anti-affinity on the hostname): three nodes, even under
	 * the current requirements where one c6a.4xlarge would hold all three */
	assert_int_equal(b->recommended.nodes, 3);
	assert_true(mix_has(&cand(b, "current requirements")->mix, "c6a.4xlarge", 3));
	/* the batch pool names amd64: the arm64 candidate needs its images seen on arm64 */
	assert_false(cand(b, "arm64 (Graviton)")->eligible);

	/* cluster-wide: every node priced; idle = price minus the requested share */
	assert_true(near(r.current_hourly_usd, 2 * 0.384 + 0.308 + 2 * 0.68 + 0.768));
	assert_true(r.idle_hourly_usd > 0 && r.idle_hourly_usd < r.current_hourly_usd);
	assert_int_equal(r.n_top, 3);
	assert_true(r.top[0].monthly_usd >= r.top[1].monthly_usd);
	assert_int_equal(r.n_workloads, 5); /* web, api, worker, ledger, node-exporter */
	assert_null(r.usage_source);
	opt_report_free(&r);
	world_free(w);
}

static void test_spot_prefer(void **state)
{
	(void)state;
	struct world *w = tu_world("cost/optimize-pools.yaml");
	struct opt_opts o = {.spot = OPT_SPOT_PREFER};
	struct opt_report r;
	run(w, &o, &r);
	/* batch: three replicas in a staging namespace -> spot, types under 15% interruption */
	const struct opt_pool *b = pool(&r, "batch");
	const struct opt_candidate *c = &b->cands[b->chosen];
	assert_true(c->spot);
	for (size_t i = 0; i < c->mix.n_items; i++) {
		assert_string_equal(c->mix.items[i].capacity, "spot");
		assert_in_range(c->mix.items[i].interruption_bucket, 0, OPT_SPOT_MAX_BUCKET);
	}
	assert_true(requires(b->patch, "karpenter.sh/capacity-type", "spot"));
	assert_false(requires(b->patch, "karpenter.sh/capacity-type", "on-demand"));
	bool risk = false;
	for (size_t i = 0; i < b->n_risks; i++)
		risk = risk || strstr(b->risks[i], "interruption") != NULL;
	assert_true(risk);
	/* payments runs in a production namespace: never spot */
	const struct opt_pool *p = pool(&r, "payments");
	assert_false(p->cands[p->chosen].spot);
	assert_non_null(strstr(cand(p, "spot")->why_not, "production namespace"));
	opt_report_free(&r);

	o.spot = OPT_SPOT_NEVER;
	run(w, &o, &r);
	for (size_t i = 0; i < r.n_pools; i++)
		for (size_t k = 0; k < r.pools[i].recommended.n_items; k++)
			assert_string_equal(r.pools[i].recommended.items[k].capacity, "on-demand");
	opt_report_free(&r);
	world_free(w);
}

static void test_filter_and_output(void **state)
{
	(void)state;
	struct world *w = tu_world("cost/optimize-pools.yaml");
	struct opt_opts o = {.nodepool = "batch"};
	struct opt_report r;
	run(w, &o, &r);
	assert_int_equal(r.n_pools, 1);
	cJSON *j = opt_report_json(&r);
	const cJSON *p = cJSON_GetArrayItem(ks_json_get(j, "nodepools"), 0);
	assert_string_equal(ks_json_str(p, "name"), "batch");
	/* money rounded to the cent a month */
	double m = ks_json_get(p, "current.monthly_usd")->valuedouble;
	assert_true(near(m, round(m * 100) / 100));
	assert_true(near(m, 992.8));
	assert_string_equal(ks_json_str(p, "lower_bound_method"), "exact");
	assert_true(cJSON_IsObject(ks_json_get(p, "patch")));
	assert_true(cJSON_IsNull(ks_json_get(p, "with_rightsizing")));
	cJSON_Delete(j);
	struct ks_buf b;
	ks_buf_init(&b, KS_BUF_UNLIMITED);
	struct ks_err err = {0};
	assert_int_equal(opt_report_yaml(&b, &r, &err), 0);
	ks_buf_appendc(&b, 0);
	assert_non_null(strstr(b.data, "kind: NodePool\n"));
	assert_non_null(strstr(b.data, "name: batch\n"));
	assert_null(strstr(b.data, "---"));
	ks_buf_reset(&b);
	opt_report_text(&b, &r, false);
	ks_buf_appendc(&b, 0);
	assert_non_null(strstr(b.data, "NodePool batch"));
	assert_non_null(strstr(b.data, "\nVerdict: $825.27 a month to save"));
	assert_null(strstr(b.data, "\033["));
	ks_buf_release(&b);
	opt_report_free(&r);

	o.nodepool = "nope";
	assert_int_equal(opt_run(w, &o, &r, &err), KS_ENOTFOUND);
	assert_non_null(strstr(err.msg, "NodePool nope not found"));
	world_free(w);
}

/* The overprovisioned pool right after a change narrowed its requirements: its two
 * m5.8xlarge nodes are drifted (Karpenter replaces them), so today's mix is a moment of that
 * replacement and no new mix is recommended until it settles. */
static void test_settling_pool(void **state)
{
	(void)state;
	struct world *w = tu_world_edited("diag/karp-capacity.yaml", "          - 8xlarge\n",
					  "          - large\n");
	struct opt_opts o = {0};
	struct opt_report r;
	run(w, &o, &r);
	const struct opt_pool *it = pool(&r, "internal-tools");
	assert_int_equal(it->settling_nodes, 2);
	assert_int_equal(it->chosen, -1);
	assert_null(it->patch);
	assert_true(it->monthly_savings_usd == 0);
	assert_non_null(strstr(it->verdict, "settling: 2 nodes being replaced"));
	assert_int_equal(pool(&r, "events")->settling_nodes, 0);
	opt_report_free(&r);
	world_free(w);
}

/* Recorded from the simulator: the overprovisioned pool and the pool at its limit. */
static void test_recorded(void **state)
{
	(void)state;
	struct world *w = tu_world("diag/karp-capacity.yaml");
	struct opt_opts o = {0};
	struct opt_report r;
	run(w, &o, &r);
	const struct opt_pool *it = pool(&r, "internal-tools");
	assert_true(near(it->current.hourly_usd, 2 * 1.536));
	assert_true(mix_has(&it->recommended, "m5a.large", 1));
	assert_true(near(it->monthly_savings_usd, (3.072 - 0.086) * OPT_HOURS_PER_MONTH));
	/* events: 10 pods pending at the CPU limit: the cheapest mix that holds them all costs
	 * more than today's nodes, and the patch raises the limit */
	const struct opt_pool *ev = pool(&r, "events");
	assert_int_equal(ev->pending_pods, 10);
	assert_true(ev->chosen >= 0);
	assert_true(ev->monthly_savings_usd < 0);
	assert_non_null(strstr(ev->verdict, "to run the 10 pending pods"));
	const char *lim = ks_json_str(ev->patch, "spec.limits.cpu");
	assert_non_null(lim);
	assert_true(atoi(lim) > 8);
	opt_report_free(&r);
	world_free(w);

	/* nodes with no pods but DaemonSet ones: emptiness consolidation should remove them */
	w = tu_world("diag/karp-unsatisfiable.yaml");
	run(w, &o, &r);
	ev = pool(&r, "events");
	assert_int_equal(ev->pods, 0);
	assert_int_equal(ev->recommended.nodes, 0);
	assert_null(ev->patch);
	assert_non_null(strstr(ev->verdict, "emptiness consolidation"));
	assert_true(near(ev->monthly_savings_usd, ev->current.hourly_usd * OPT_HOURS_PER_MONTH));
	opt_report_free(&r);
	world_free(w);
}

/* Usage history (in memory, as rs_fetch_prometheus would fill it): web uses a tenth of its
 * 500m and 200 MiB of its 1 GiB, for two days. */
static void test_rightsizing(void **state)
{
	(void)state;
	struct world *w = tu_world("cost/optimize-pools.yaml");
	double end = 1.8e9;
	struct rs_set_opts so = {.ref_time = end, .cpu_step_s = 300,
				 .workload_of = opt_workload_of, .workload_ctx = w};
	struct rs_set *set = rs_set_new(&so);
	size_t n = 2 * 86400 / 300;
	struct prom_sample *cpu = calloc(n, sizeof *cpu), *mem = calloc(n, sizeof *mem);
	for (size_t i = 0; i < n; i++) {
		cpu[i] = (struct prom_sample){end - (double)(n - 1 - i) * 300, 0.05};
		mem[i] = (struct prom_sample){cpu[i].t, 200.0 * 1024 * 1024};
	}
	for (int p = 0; p < 4; p++) {
		char pod[64];
		snprintf(pod, sizeof pod, "web-5d8f-%d", p);
		rs_set_add_cpu(set, "web", pod, "web", cpu, n);
		rs_set_add_memory(set, "web", pod, "web", mem, n);
	}
	free(cpu);
	free(mem);
	struct opt_opts o = {.usage = set, .usage_source = "test"};
	struct opt_report r;
	run(w, &o, &r);
	const struct opt_workload *web = NULL;
	for (size_t i = 0; i < r.n_workloads; i++)
		if (!strcmp(r.workloads[i].name, "web"))
			web = &r.workloads[i];
	assert_non_null(web);
	assert_string_equal(web->kind, "Deployment");
	assert_int_equal(web->replicas, 4);
	assert_true(web->over_requested);
	assert_int_equal(web->n_containers, 1);
	assert_string_equal(web->containers[0].status, "ok");
	assert_true(web->containers[0].cpu_target < 0.5);
	assert_true(web->monthly_savings_usd > 0);
	/* the biggest saving first */
	assert_ptr_equal(web, &r.workloads[0]);
	/* api has no history: it keeps its requests */
	for (size_t i = 0; i < r.n_workloads; i++)
		if (!strcmp(r.workloads[i].name, "api"))
			assert_string_equal(r.workloads[i].containers[0].status, "no-data");
	const struct opt_pool *g = pool(&r, "general");
	assert_true(g->has_rightsized);
	assert_true(g->with_rightsizing.hourly_usd <= g->recommended.hourly_usd);
	opt_report_free(&r);
	rs_set_free(set);
	world_free(w);
}

/* A cluster without NodePools (nothing to save): only workloads and idle capacity. */
static void test_no_pools(void **state)
{
	(void)state;
	struct world *w = tu_world("diag/pod-baseline.yaml");
	struct opt_opts o = {0};
	struct opt_report r;
	run(w, &o, &r);
	assert_int_equal(r.n_pools, 0);
	assert_int_equal(r.n_top, 0);
	assert_true(r.n_workloads > 0);
	bool said = false;
	for (size_t i = 0; i < r.n_notes; i++)
		said = said || strstr(r.notes[i], "NodePools") != NULL;
	assert_true(said);
	cJSON *j = opt_report_json(&r);
	assert_int_equal(ks_json_len(ks_json_get(j, "nodepools")), 0);
	cJSON_Delete(j);
	opt_report_free(&r);
	world_free(w);
}

static void test_policy_names(void **state)
{
	(void)state;
	assert_int_equal(opt_spot_policy_parse("keep"), OPT_SPOT_KEEP);
	assert_int_equal(opt_spot_policy_parse("prefer"), OPT_SPOT_PREFER);
	assert_int_equal(opt_spot_policy_parse("never"), OPT_SPOT_NEVER);
	assert_int_equal(opt_spot_policy_parse("always"), -1);
	assert_int_equal(opt_spot_policy_parse(NULL), -1);
	assert_string_equal(opt_spot_policy_name(OPT_SPOT_PREFER), "prefer");
}

int main(void)
{
	tu_set_data_dir();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pools),
		cmocka_unit_test(test_spot_prefer),
		cmocka_unit_test(test_filter_and_output),
		cmocka_unit_test(test_recorded),
		cmocka_unit_test(test_settling_pool),
		cmocka_unit_test(test_rightsizing),
		cmocka_unit_test(test_no_pools),
		cmocka_unit_test(test_policy_names),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
