/* test_swarm.c — the swarm's rounds over recorded worlds (tests/fixtures/diag, cost): each
 * path from a finding or a cost report to a plan (or to no plan), checked on the transcript:
 * the message types in order, who said them, and what each answers (re). */
#include "testutil.h"
#include "fake_prom.h"

#include <math.h>
#include <pthread.h>
#include <unistd.h>
#include <stdio.h>
#include <string.h>

#include "base/json.h"
#include "cost/catalog.h"
#include "cost/optimize.h"
#include "cost/pricing.h"
#include "diag/diag.h"
#include "forecast/events.h"
#include "store/plans.h"
#include "store/store.h"
#include "swarm/bus.h"
#include "swarm/policy.h"
#include "swarm/swarm.h"
#include "world/world.h"

#define NOW 1795000000 /* 2026-11-18, a Wednesday */

struct fx {
	struct store *store;
	struct bus *bus;
	struct policy_ctx *policy;
	struct swarm *swarm;
	struct world *world;
	struct diag_report rep;
	int64_t seen; /* transcript seq already looked at */
	int dry_runs;
};

static int fake_dry_run(void *ctx, const cJSON *plan, cJSON **diff, struct ks_err *err)
{
	(void)err;
	struct fx *f = ctx;
	f->dry_runs++;
	*diff = cJSON_CreateObject();
	cJSON_AddStringToObject(*diff, "plan_id", ks_json_str_or(plan, "plan_id", ""));
	cJSON_AddStringToObject(*diff, "diff", "-  memory: 256Mi\n+  memory: 512Mi\n");
	return 0;
}

static void fx_open(struct fx *f, struct world *w, const char *policy, const char *sources)
{
	*f = (struct fx){.world = w};
	struct ks_err err = {0};
	assert_int_equal(store_open(":memory:", &f->store, &err), 0);
	assert_int_equal(bus_new(f->store, &f->bus, &err), 0);
	f->policy = policy_ctx_new();
	if (policy && policy_ctx_load_mem(f->policy, "test-policy.yaml", policy, strlen(policy),
					  &err))
		fail_msg("policy: %s", err.msg);
	struct swarm_opts o = {
		.bus = f->bus, .store = f->store, .policy = f->policy, .cluster = "local",
		.goals = {.uptime_target = 0.9999, .min_savings_usd = 5, .cut_cost = true},
		.secret_sources = sources, .dry_run = fake_dry_run, .dry_run_ctx = f,
	};
	if (swarm_new(&o, &f->swarm, &err))
		fail_msg("swarm_new: %s", err.msg);
	tu_analyze(w, NULL, &f->rep);
}

static void fx_close(struct fx *f)
{
	swarm_free(f->swarm);
	bus_free(f->bus);
	store_close(f->store);
	policy_ctx_free(f->policy);
	diag_report_free(&f->rep);
	world_free(f->world);
}

static struct swarm_round_stats fx_round(struct fx *f, const struct opt_report *opt,
					 const struct fc_events *ev, int64_t now)
{
	struct swarm_inputs in = {.world = f->world, .findings = &f->rep, .optimize = opt,
				  .events = ev, .now = now};
	struct swarm_round_stats st;
	struct ks_err err = {0};
	if (swarm_round(f->swarm, &in, &st, &err))
		fail_msg("swarm_round: %s", err.msg);
	return st;
}

/* The transcript since the last call: one JSON message each. */
static int collect(const struct swarm_msg *m, void *ctx)
{
	cJSON_AddItemToArray(ctx, swarm_msg_to_json(m));
	return 0;
}

static cJSON *fx_new_msgs(struct fx *f)
{
	cJSON *arr = cJSON_CreateArray();
	assert_int_equal(store_msgs_since(f->store, f->seen, 0, collect, arr, NULL), 0);
	store_last_seq(f->store, &f->seen, NULL);
	return arr;
}

/* "type/from type/from ..." of the messages. */
static char *sequence(const cJSON *msgs)
{
	struct ks_buf b;
	ks_buf_init(&b, KS_BUF_UNLIMITED);
	const cJSON *m;
	cJSON_ArrayForEach(m, msgs)
		ks_buf_appendf(&b, "%s%s/%s", b.len ? " " : "", ks_json_str(m, "type"),
			       ks_json_str(m, "from"));
	ks_buf_appendc(&b, '\0');
	return ks_buf_detach(&b);
}

/* The first message of this type (and author, when given). */
static const cJSON *msg_of(const cJSON *msgs, const char *type, const char *from)
{
	const cJSON *m;
	cJSON_ArrayForEach(m, msgs)
		if (!strcmp(ks_json_str(m, "type"), type) &&
		    (!from || !strcmp(ks_json_str(m, "from"), from)))
			return m;
	return NULL;
}

static const char *first_re(const cJSON *m)
{
	const cJSON *r = cJSON_GetArrayItem(cJSON_GetObjectItem(m, "re"), 0);
	return r ? r->valuestring : "";
}

static void assert_answers(const cJSON *m, const cJSON *to)
{
	assert_non_null(m);
	assert_non_null(to);
	assert_string_equal(first_re(m), ks_json_str(to, "id"));
}

static const char *AUTO_POLICY = "approval: {dry-run: false, auto: {max-risk: high}}\n";
static const char *HUMAN_POLICY = "approval: {dry-run: false}\n";

/* MemoryLimitTooLow: diagnosis, proposal with the patch, critics, decision, plan with the
 * verification, approval request with the dry-run diff (a person must approve). */
static void test_patch_plan(void **state)
{
	(void)state;
	struct fx f;
	fx_open(&f, tu_world("diag/pod-oom-limit.yaml"), HUMAN_POLICY, NULL);
	struct swarm_round_stats st = fx_round(&f, NULL, NULL, NOW);
	assert_int_equal(st.plans, 1);
	assert_int_equal(st.pending_human, 1);
	cJSON *msgs = fx_new_msgs(&f);
	char *seq = sequence(msgs);
	assert_string_equal(seq, "question/orchestrator diagnosis/diagnostics proposal/diagnostics "
				 "vote/performance critique/reliability vote/reliability "
				 "decision/orchestrator plan/orchestrator "
				 "approval_request/orchestrator");
	free(seq);
	const cJSON *q = msg_of(msgs, "question", NULL), *d = msg_of(msgs, "diagnosis", NULL);
	const cJSON *p = msg_of(msgs, "proposal", NULL), *dec = msg_of(msgs, "decision", NULL);
	const cJSON *plan = msg_of(msgs, "plan", NULL);
	const cJSON *req = msg_of(msgs, "approval_request", NULL);
	assert_answers(d, q);
	assert_answers(p, d);
	assert_answers(msg_of(msgs, "vote", "performance"), p);
	assert_answers(msg_of(msgs, "critique", "reliability"), p);
	assert_answers(dec, p);
	assert_answers(plan, dec);
	assert_answers(req, plan);
	assert_string_equal(ks_json_str(dec, "body.chosen"), ks_json_str(p, "id"));
	assert_string_equal(ks_json_str(d, "body.cause"), "MemoryLimitTooLow");
	const cJSON *step = cJSON_GetArrayItem(ks_json_get(plan, "body.steps"), 0);
	assert_string_equal(ks_json_str(step, "id"), "s1");
	assert_string_equal(ks_json_str(step, "action"), "patch");
	assert_string_equal(ks_json_str(step, "target.kind"), "Deployment");
	assert_string_equal(ks_json_str(step, "target.namespace"), "analytics");
	assert_string_equal(ks_json_str(step, "target.name"), "report-builder");
	assert_string_equal(ks_json_str(step, "target.apiVersion"), "apps/v1");
	assert_true(ks_json_str(step, "target.uid")[0]);
	/* The spec's generation, not the resourceVersion that status writes move. */
	const cJSON *pre = cJSON_GetArrayItem(ks_json_get(step, "preconditions.fields"), 0);
	assert_string_equal(ks_json_str(pre, "path"), "metadata.generation");
	assert_true(cJSON_IsNumber(cJSON_GetObjectItem(pre, "equals")));
	assert_null(ks_json_get(step, "preconditions.resourceVersion"));
	assert_non_null(ks_json_get(step, "patch"));
	char *verify = tu_json(ks_json_get(step, "verify"));
	assert_contains(verify, "\"checks\":[\"rollout\",\"pods-ready\",\"no-findings\"]");
	assert_contains(verify, "\"findings\":[\"MemoryLimitTooLow\"]");
	free(verify);
	assert_string_equal(ks_json_str(plan, "body.policy.approval"), "human");
	assert_non_null(ks_json_str(plan, "body.rollback"));
	assert_contains(ks_json_str(req, "body.diff.diff"), "512Mi");
	assert_int_equal(f.dry_runs, 1);
	/* the API: list, get */
	cJSON *list = NULL;
	assert_int_equal(swarm_plans_list(f.swarm, "pending", 10, &list, NULL), 0);
	assert_int_equal(ks_json_len(list), 1);
	assert_string_equal(ks_json_str(cJSON_GetArrayItem(list, 0), "plan_id"), "p1");
	cJSON_Delete(list);
	cJSON *got = NULL;
	assert_int_equal(swarm_plan_get(f.swarm, "p1", &got, NULL), 0);
	assert_string_equal(ks_json_str(got, "status"), "pending");
	assert_string_equal(ks_json_str(got, "decision.id"), ks_json_str(dec, "id"));
	assert_string_equal(ks_json_str(got, "approval_request.id"), ks_json_str(req, "id"));
	assert_true(ks_json_len(cJSON_GetObjectItem(got, "history")) >= 4);
	cJSON_Delete(got);
	assert_int_equal(swarm_plan_get(f.swarm, "p99", &got, NULL), KS_ENOTFOUND);
	cJSON *props = NULL;
	assert_int_equal(swarm_proposals(f.swarm, &props, NULL), 0);
	assert_int_equal(ks_json_len(props), 1);
	cJSON_Delete(props);
	cJSON_Delete(msgs);
	fx_close(&f);
}

static struct world *world_from_text(const char *text)
{
	struct world *w = world_new();
	struct ks_err err = {0};
	if (world_load_snapshot_mem(w, text, strlen(text), &err))
		fail_msg("world: %s", err.msg);
	return w;
}

#define PLANTED "s3cr3t-planted-value"
#define PLANTED_B64 "czNjcjN0LXBsYW50ZWQtdmFsdWU="

/* CredentialsRejected on a Secret with a configured source: secret-from-source, then a
 * restart; the value in the cluster's Secret appears in no message. */
static void test_secret_plan(void **state)
{
	(void)state;
	char *yaml = tu_read_fixture("diag/pod-payment-db-secret.yaml");
	char *at = strstr(yaml, "    password: ''");
	assert_non_null(at);
	char *planted = ks_asprintf("%.*s    password: %s%s", (int)(at - yaml), yaml, PLANTED_B64,
				    at + strlen("    password: ''"));
	free(yaml);
	struct fx f;
	fx_open(&f, world_from_text(planted), HUMAN_POLICY,
		"[{\"secret\":\"payments/db-secret\",\"key\":\"password\",\"vault\":{\"mount\":"
		"\"secret\",\"path\":\"payments/db\",\"field\":\"password\"}}]");
	free(planted);
	struct swarm_round_stats st = fx_round(&f, NULL, NULL, NOW);
	assert_int_equal(st.plans, 1);
	cJSON *msgs = fx_new_msgs(&f);
	const cJSON *plan = msg_of(msgs, "plan", NULL);
	assert_non_null(plan);
	const cJSON *steps = ks_json_get(plan, "body.steps");
	assert_int_equal(ks_json_len(steps), 2);
	const cJSON *s1 = cJSON_GetArrayItem(steps, 0), *s2 = cJSON_GetArrayItem(steps, 1);
	assert_string_equal(ks_json_str(s1, "action"), "secret-from-source");
	assert_string_equal(ks_json_str(s1, "target.kind"), "Secret");
	assert_string_equal(ks_json_str(s1, "target.name"), "db-secret");
	assert_string_equal(ks_json_str(s1, "secret.key"), "password");
	assert_string_equal(ks_json_str(s1, "secret.source.type"), "vault");
	assert_string_equal(ks_json_str(s1, "secret.source.path"), "payments/db");
	assert_string_equal(ks_json_str(s2, "action"), "restart");
	assert_string_equal(ks_json_str(s2, "target.kind"), "Deployment");
	assert_string_equal(ks_json_str(s2, "target.name"), "payment-service");
	assert_string_equal(cJSON_GetArrayItem(ks_json_get(s2, "verify.findings"), 0)->valuestring,
			    "CredentialsRejected");
	/* the value is in no message, encoded or not */
	char *all = tu_json(msgs);
	assert_null(strstr(all, PLANTED));
	assert_null(strstr(all, PLANTED_B64));
	free(all);
	cJSON *got = NULL;
	assert_int_equal(swarm_plan_get(f.swarm, "p1", &got, NULL), 0);
	all = tu_json(got);
	assert_null(strstr(all, PLANTED_B64));
	free(all);
	cJSON_Delete(got);
	cJSON_Delete(msgs);
	fx_close(&f);
}

/* The same finding without a source: a person must act; an observation and a diagnosis
 * saying what to check, no proposal, no plan. */
static void test_human_only(void **state)
{
	(void)state;
	struct fx f;
	fx_open(&f, tu_world("diag/pod-payment-db-secret.yaml"), HUMAN_POLICY, NULL);
	struct swarm_round_stats st = fx_round(&f, NULL, NULL, NOW);
	assert_int_equal(st.plans, 0);
	assert_int_equal(st.proposals, 0);
	cJSON *msgs = fx_new_msgs(&f);
	char *seq = sequence(msgs);
	assert_string_equal(seq, "question/orchestrator observation/diagnostics "
				 "diagnosis/diagnostics");
	free(seq);
	const cJSON *d = msg_of(msgs, "diagnosis", NULL);
	assert_answers(d, msg_of(msgs, "observation", NULL));
	assert_true(cJSON_IsTrue(ks_json_get(d, "body.needs_human")));
	char *checks = tu_json(ks_json_get(d, "body.checks"));
	assert_contains(checks, "source of truth");
	free(checks);
	cJSON_Delete(msgs);
	fx_close(&f);
}

static struct cost_catalog *cat;
static struct cost_prices *prices;

static int setup(void **state)
{
	(void)state;
	char *path = cost_catalog_default_path();
	int rc = cost_catalog_load(path, &cat, NULL);
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

static void optimize(struct world *w, struct opt_report *r)
{
	struct opt_opts o = {.cat = cat, .prices = prices};
	struct ks_err err = {0};
	if (opt_run(w, &o, r, &err))
		fail_msg("opt_run: %s", err.msg);
}

static struct opt_pool *pool_named(struct opt_report *r, const char *name)
{
	for (size_t i = 0; i < r->n_pools; i++)
		if (!strcmp(r->pools[i].name, name))
			return &r->pools[i];
	fail_msg("no pool %s", name);
	return NULL;
}

/* The optimizer's mix for NodePool payments is one node under a replicated workload:
 * reliability vetoes it; the decision on the pool records the veto and why the cost proposal
 * lost to the other proposal about the pool (Layer 2's NodePoolOverprovisioned repair). */
static void test_cost_vetoed(void **state)
{
	(void)state;
	struct fx f;
	fx_open(&f, tu_world("cost/optimize-pools.yaml"), HUMAN_POLICY, NULL);
	struct opt_report r;
	optimize(f.world, &r);
	assert_int_equal(pool_named(&r, "payments")->recommended.nodes, 1);
	fx_round(&f, &r, NULL, NOW);
	cJSON *msgs = fx_new_msgs(&f);
	if (getenv("DEBUG_SWARM")) {
		char *all = tu_json(msgs);
		tu_write_file(getenv("DEBUG_SWARM"), all);
		free(all);
	}
	const cJSON *m, *prop = NULL, *veto = NULL, *dec = NULL, *plan = NULL;
	cJSON_ArrayForEach(m, msgs)
	{
		if (strcmp(ks_json_str_or(m, "subject.name", ""), "payments"))
			continue;
		const char *t = ks_json_str(m, "type");
		if (!strcmp(t, "proposal") && !strcmp(ks_json_str(m, "from"), "cost"))
			prop = m;
		else if (!strcmp(t, "veto"))
			veto = m;
		else if (!strcmp(t, "decision"))
			dec = m;
		else if (!strcmp(t, "plan"))
			plan = m;
	}
	assert_non_null(prop);
	assert_string_equal(ks_json_str(prop, "body.action"), "nodepool-mix");
	assert_true(ks_json_len(ks_json_get(prop, "body.alternatives")) > 0);
	assert_answers(veto, prop);
	assert_string_equal(ks_json_str(veto, "from"), "reliability");
	assert_string_equal(ks_json_str(veto, "body.rule"), "min-2-nodes");
	assert_non_null(dec);
	assert_string_not_equal(ks_json_str(dec, "body.chosen"), ks_json_str(prop, "id"));
	assert_string_equal(ks_json_str(cJSON_GetArrayItem(ks_json_get(dec, "body.vetoes"), 0),
					"veto"),
			    ks_json_str(veto, "id"));
	const cJSON *alt = cJSON_GetArrayItem(ks_json_get(dec, "body.alternatives"), 0);
	assert_string_equal(ks_json_str(alt, "proposal"), ks_json_str(prop, "id"));
	assert_contains(ks_json_str(alt, "why_lost"), "vetoed by reliability (min-2-nodes)");
	/* the plan carries the alternative and why it lost */
	assert_non_null(plan);
	char *alts = tu_json(ks_json_get(plan, "body.alternatives"));
	assert_contains(alts, "min-2-nodes");
	free(alts);
	/* the batch pool (staging, three nodes after): no veto, both proposals weighed, one
	 * planned */
	const cJSON *d1 = msg_of(msgs, "decision", NULL);
	assert_string_equal(ks_json_str(d1, "subject.name"), "batch");
	assert_int_equal(ks_json_len(ks_json_get(d1, "body.considered")), 2);
	assert_int_equal(ks_json_len(ks_json_get(d1, "body.vetoes")), 0);
	assert_string_equal(ks_json_str(msg_of(msgs, "plan", NULL), "subject.name"), "batch");
	cJSON_Delete(msgs);
	opt_report_free(&r);
	fx_close(&f);
}

/* The message of type `type` about NodePool `pool` among msgs, or NULL. */
static const cJSON *about_pool(const cJSON *msgs, const char *type, const char *pool)
{
	const cJSON *m;
	cJSON_ArrayForEach(m, msgs)
		if (!strcmp(ks_json_str(m, "type"), type) &&
		    !strcmp(ks_json_str_or(m, "subject.name", ""), pool))
			return m;
	return NULL;
}

/* Stabilization window: once a plan on NodePool batch succeeded, a new mix for it (another
 * fingerprint) is held for SWARM_STABILIZE_S, the decision says so and no plan is made; when
 * the window is over a round runs by itself and the change is planned. */
static void test_stabilization_window(void **state)
{
	(void)state;
	struct fx f;
	fx_open(&f, tu_world("cost/optimize-pools.yaml"), HUMAN_POLICY, NULL);
	struct opt_report r;
	optimize(f.world, &r);
	fx_round(&f, &r, NULL, NOW);
	cJSON *msgs = fx_new_msgs(&f);
	const cJSON *plan = about_pool(msgs, "plan", "batch");
	assert_non_null(plan);
	char first[32];
	snprintf(first, sizeof first, "%s", ks_json_str(plan, "body.plan_id"));
	cJSON_Delete(msgs);
	assert_int_equal(swarm_approve(f.swarm, first, "alice", NULL, NULL), 0);
	cJSON *next = NULL;
	assert_int_equal(swarm_next_approved(f.swarm, &next, NULL), 0);
	cJSON_Delete(next);
	assert_int_equal(swarm_plan_finished(f.swarm, first, "succeeded", NULL, NULL), 0);
	cJSON_Delete(fx_new_msgs(&f));
	/* a minute later the optimizer wants another mix for the pool: held */
	cJSON_AddStringToObject(pool_named(&r, "batch")->patch, "x-another-mix", "1");
	fx_round(&f, &r, NULL, NOW + 60);
	msgs = fx_new_msgs(&f);
	const cJSON *dec = about_pool(msgs, "decision", "batch");
	assert_non_null(dec);
	assert_string_equal(ks_json_str(dec, "body.chosen"), "");
	char want[96];
	snprintf(want, sizeof want, "hold: plan %s changed NodePool batch", first);
	assert_contains(ks_json_str(dec, "body.reason"), want);
	assert_contains(ks_json_str(dec, "body.reason"), "30-minute stabilization window");
	assert_null(about_pool(msgs, "plan", "batch"));
	cJSON_Delete(msgs);
	/* the same inputs once the window is over: a round runs, and the change is planned */
	fx_round(&f, &r, NULL, NOW + 60 + 30 * 60); /* SWARM_STABILIZE_S */
	msgs = fx_new_msgs(&f);
	plan = about_pool(msgs, "plan", "batch");
	assert_non_null(plan);
	assert_string_not_equal(ks_json_str(plan, "body.plan_id"), first);
	cJSON_Delete(msgs);
	opt_report_free(&r);
	fx_close(&f);
}

/* The same one-node mix under a policy requiring several zones: the veto names the policy. */
static void test_cost_single_az(void **state)
{
	(void)state;
	struct fx f;
	fx_open(&f, tu_world("cost/optimize-pools.yaml"),
		"policies:\n  - {name: multi-az-always, rule: {require-multi-az: true}}\n"
		"approval: {dry-run: false}\n", NULL);
	struct opt_report r;
	optimize(f.world, &r);
	fx_round(&f, &r, NULL, NOW);
	cJSON *msgs = fx_new_msgs(&f);
	const cJSON *m, *veto = NULL;
	cJSON_ArrayForEach(m, msgs)
		if (!strcmp(ks_json_str(m, "type"), "veto") &&
		    !strcmp(ks_json_str(m, "subject.name"), "payments"))
			veto = m;
	assert_non_null(veto);
	assert_string_equal(ks_json_str(veto, "from"), "reliability");
	assert_string_equal(ks_json_str(veto, "body.rule"), "multi-az-always");
	assert_contains(ks_json_str(veto, "body.reason"), "1 availability zone");
	cJSON_Delete(msgs);
	opt_report_free(&r);
	fx_close(&f);
}

/* A policy denies changes in the namespace: status denied, a veto from "policy" naming the
 * rule, nothing to approve and nothing handed to the reconciler. */
static void test_policy_denied(void **state)
{
	(void)state;
	struct fx f;
	fx_open(&f, tu_world("diag/pod-oom-limit.yaml"),
		"policies:\n"
		"  - {name: hands-off-analytics, match: {namespaces: [analytics]}, "
		"rule: {deny: true}}\n"
		"approval: {dry-run: false, auto: {max-risk: high}}\n",
		NULL);
	struct swarm_round_stats st = fx_round(&f, NULL, NULL, NOW);
	assert_int_equal(st.denied, 1);
	cJSON *msgs = fx_new_msgs(&f);
	char *seq = sequence(msgs);
	assert_contains(seq, "decision/orchestrator plan/orchestrator veto/policy");
	assert_null(strstr(seq, "approval"));
	free(seq);
	const cJSON *veto = msg_of(msgs, "veto", "policy");
	assert_answers(veto, msg_of(msgs, "plan", NULL));
	assert_string_equal(ks_json_str(veto, "body.rule"), "hands-off-analytics");
	cJSON *list = NULL;
	assert_int_equal(swarm_plans_list(f.swarm, NULL, 0, &list, NULL), 0);
	assert_string_equal(ks_json_str(cJSON_GetArrayItem(list, 0), "status"), "denied");
	cJSON_Delete(list);
	cJSON *plan = (cJSON *)1;
	assert_int_equal(swarm_next_approved(f.swarm, &plan, NULL), 0);
	assert_null(plan);
	cJSON_Delete(msgs);
	fx_close(&f);
}

/* A new install's policy (dry-run on): the plan is shown only. */
static void test_dry_run(void **state)
{
	(void)state;
	struct fx f;
	fx_open(&f, tu_world("diag/pod-oom-limit.yaml"), NULL, NULL);
	struct swarm_round_stats st = fx_round(&f, NULL, NULL, NOW);
	assert_int_equal(st.dry_run, 1);
	cJSON *msgs = fx_new_msgs(&f);
	char *seq = sequence(msgs);
	assert_true(strlen(seq) > 20 &&
		    !strcmp(seq + strlen(seq) - strlen("plan/orchestrator"), "plan/orchestrator"));
	free(seq);
	assert_string_equal(ks_json_str(msg_of(msgs, "plan", NULL), "body.policy.approval"),
			    "dry-run");
	cJSON *got = NULL;
	assert_int_equal(swarm_plan_get(f.swarm, "p1", &got, NULL), 0);
	assert_string_equal(ks_json_str(got, "status"), "dry-run");
	assert_contains(ks_json_str(got, "diff.diff"), "512Mi"); /* the diff is kept */
	cJSON_Delete(got);
	assert_int_equal(swarm_approve(f.swarm, "p1", "alice", NULL, NULL), KS_ECONFLICT);
	cJSON_Delete(msgs);
	fx_close(&f);
}

/* Automatic approval: an approval from "auto", then the plan is handed out once, counted
 * for the rate limits, and its outcome recorded. */
static void test_auto_approval(void **state)
{
	(void)state;
	struct fx f;
	fx_open(&f, tu_world("diag/pod-oom-limit.yaml"), AUTO_POLICY, NULL);
	struct swarm_round_stats st = fx_round(&f, NULL, NULL, NOW);
	assert_int_equal(st.approved_auto, 1);
	cJSON *msgs = fx_new_msgs(&f);
	const cJSON *ap = msg_of(msgs, "approval", "auto");
	assert_answers(ap, msg_of(msgs, "plan", NULL));
	assert_string_equal(ks_json_str(ap, "body.approver"), "auto");
	assert_int_equal(f.dry_runs, 0);
	cJSON *plan = NULL;
	assert_int_equal(swarm_next_approved(f.swarm, &plan, NULL), 0);
	assert_non_null(plan);
	assert_string_equal(ks_json_str(plan, "plan_id"), "p1");
	/* the reconciler's audit learns who approved it */
	assert_string_equal(ks_json_str(plan, "approved_by"), "auto");
	assert_int_equal(policy_applied_count(f.policy), 1);
	cJSON_Delete(plan);
	assert_int_equal(swarm_next_approved(f.swarm, &plan, NULL), 0);
	assert_null(plan);
	assert_int_equal(swarm_plan_finished(f.swarm, "p1", "succeeded", NULL, NULL), 0);
	assert_int_equal(swarm_plan_finished(f.swarm, "p1", "succeeded", NULL, NULL),
			 KS_ECONFLICT);
	/* a restarted daemon (new swarm, new policy context) still counts it for the rate
	 * limits */
	swarm_free(f.swarm);
	policy_ctx_free(f.policy);
	f.policy = policy_ctx_new();
	struct swarm_opts o = {.bus = f.bus, .store = f.store, .policy = f.policy};
	assert_int_equal(swarm_new(&o, &f.swarm, NULL), 0);
	assert_int_equal(policy_applied_count(f.policy), 1);
	cJSON *metrics = NULL;
	assert_int_equal(swarm_metrics(f.swarm, &metrics, NULL), 0);
	assert_int_equal(ks_json_int_or(metrics, "plans.succeeded", 0), 1);
	assert_int_equal(ks_json_int_or(metrics, "savings_realised_per_month", -1), 0);
	cJSON_Delete(metrics);
	cJSON_Delete(msgs);
	fx_close(&f);
}

/* A person approves one plan and rejects another through the API. */
static void test_approve_reject(void **state)
{
	(void)state;
	struct fx f;
	fx_open(&f, tu_world("diag/pod-oom-limit.yaml"), HUMAN_POLICY, NULL);
	fx_round(&f, NULL, NULL, NOW);
	cJSON_Delete(fx_new_msgs(&f));
	struct ks_err err = {0};
	assert_int_equal(swarm_approve(f.swarm, "p1", "alice", "ok after lunch", &err), 0);
	assert_int_equal(swarm_approve(f.swarm, "p1", "alice", NULL, NULL), KS_ECONFLICT);
	assert_int_equal(swarm_approve(f.swarm, "p9", "alice", NULL, NULL), KS_ENOTFOUND);
	cJSON *msgs = fx_new_msgs(&f);
	char *seq = sequence(msgs);
	assert_string_equal(seq, "approval/human:alice");
	free(seq);
	assert_string_equal(ks_json_str(msg_of(msgs, "approval", NULL), "body.approver"), "alice");
	assert_string_equal(ks_json_str(msg_of(msgs, "approval", NULL), "body.comment"),
			    "ok after lunch");
	cJSON_Delete(msgs);
	cJSON *plan = NULL;
	assert_int_equal(swarm_next_approved(f.swarm, &plan, NULL), 0);
	assert_string_equal(ks_json_str(plan, "plan_id"), "p1");
	assert_string_equal(ks_json_str(plan, "approved_by"), "alice");
	cJSON_Delete(plan);
	fx_close(&f);

	fx_open(&f, tu_world("diag/pod-oom-limit.yaml"), HUMAN_POLICY, NULL);
	fx_round(&f, NULL, NULL, NOW);
	cJSON_Delete(fx_new_msgs(&f));
	assert_int_equal(swarm_reject(f.swarm, "p1", "bob", "not during the sale", NULL), 0);
	msgs = fx_new_msgs(&f);
	const cJSON *rej = msg_of(msgs, "rejection", "human:bob");
	assert_non_null(rej);
	assert_string_equal(ks_json_str(rej, "body.reason"), "not during the sale");
	cJSON *got = NULL;
	assert_int_equal(swarm_plan_get(f.swarm, "p1", &got, NULL), 0);
	assert_string_equal(ks_json_str(got, "status"), "rejected");
	cJSON_Delete(got);
	cJSON_Delete(msgs);
	fx_close(&f);
}

/* Nothing new: the next round publishes nothing; an open plan keeps its finding from being
 * proposed again in a new swarm over the same store. */
static void test_dedup(void **state)
{
	(void)state;
	struct fx f;
	fx_open(&f, tu_world("diag/pod-oom-limit.yaml"), HUMAN_POLICY, NULL);
	fx_round(&f, NULL, NULL, NOW);
	cJSON_Delete(fx_new_msgs(&f));
	struct swarm_round_stats st = fx_round(&f, NULL, NULL, NOW + 60);
	assert_int_equal(st.proposals, 0);
	cJSON *msgs = fx_new_msgs(&f);
	assert_int_equal(ks_json_len(msgs), 0);
	cJSON_Delete(msgs);
	/* a restarted swarm (its memory lost) still sees the open plan in the store */
	swarm_free(f.swarm);
	struct swarm_opts o = {.bus = f.bus, .store = f.store, .policy = f.policy,
			       .goals = {.min_savings_usd = 5}};
	assert_int_equal(swarm_new(&o, &f.swarm, NULL), 0);
	st = fx_round(&f, NULL, NULL, NOW + 120);
	assert_int_equal(st.proposals, 0);
	assert_int_equal(st.plans, 0);
	msgs = fx_new_msgs(&f);
	char *seq = sequence(msgs);
	assert_string_equal(seq, "question/orchestrator");
	free(seq);
	cJSON_Delete(msgs);
	/* approved, executed and finished: quiet while it is recent; once it resolved and came
	 * back after SWARM_RECENT_S, it is proposed again */
	assert_int_equal(swarm_approve(f.swarm, "p1", "alice", NULL, NULL), 0);
	cJSON *plan = NULL;
	assert_int_equal(swarm_next_approved(f.swarm, &plan, NULL), 0);
	cJSON_Delete(plan);
	assert_int_equal(swarm_plan_finished(f.swarm, "p1", "succeeded", NULL, NULL), 0);
	st = fx_round(&f, NULL, NULL, NOW + 1800);
	assert_int_equal(st.proposals, 0);
	struct diag_report empty = {0};
	struct swarm_inputs none = {.world = f.world, .findings = &empty, .now = NOW + 3000};
	assert_int_equal(swarm_round(f.swarm, &none, &st, NULL), 0);
	st = fx_round(&f, NULL, NULL, NOW + 2 * 3600);
	assert_int_equal(st.proposals, 1);
	assert_int_equal(st.plans, 1);
	cJSON_Delete(fx_new_msgs(&f));
	/* once rejected, the same problem stays quiet too */
	assert_int_equal(swarm_reject(f.swarm, "p2", "bob", "no", NULL), 0);
	swarm_free(f.swarm);
	assert_int_equal(swarm_new(&o, &f.swarm, NULL), 0);
	st = fx_round(&f, NULL, NULL, NOW + 180);
	assert_int_equal(st.proposals, 0);
	cJSON_Delete(fx_new_msgs(&f));
	fx_close(&f);
}

/* Swap the world the next round sees (same store, bus and swarm). */
static void fx_use_world(struct fx *f, const char *rel)
{
	diag_report_free(&f->rep);
	world_free(f->world);
	f->world = tu_world(rel);
	tu_analyze(f->world, NULL, &f->rep);
}

/* Three repairs rejected: the learning agent suggests a policy (YAML that parses), and the
 * next repair's confidence is lowered by the documented formula. */
static void test_learning(void **state)
{
	(void)state;
	static const char *const worlds[] = {"diag/pod-oom-limit.yaml", "diag/pod-image-typo.yaml",
					     "diag/service-selector-mismatch.yaml"};
	struct fx f;
	fx_open(&f, tu_world(worlds[0]), HUMAN_POLICY, NULL);
	cJSON *msgs = NULL;
	for (int i = 0; i < 3; i++) {
		if (i)
			fx_use_world(&f, worlds[i]);
		struct swarm_round_stats st = fx_round(&f, NULL, NULL, NOW + i * 60);
		assert_int_equal(st.pending_human, 1);
		cJSON_Delete(fx_new_msgs(&f));
		char id[8];
		snprintf(id, sizeof id, "p%d", i + 1);
		assert_int_equal(swarm_reject(f.swarm, id, "bob", i < 2 ? "too risky" : "not now",
					      NULL), 0);
		msgs = fx_new_msgs(&f);
		if (i < 2) {
			assert_null(msg_of(msgs, "observation", "learning"));
			cJSON_Delete(msgs);
		}
	}
	char *seq = sequence(msgs);
	assert_string_equal(seq, "rejection/human:bob observation/learning");
	free(seq);
	const cJSON *ob = msg_of(msgs, "observation", "learning");
	assert_answers(ob, msg_of(msgs, "rejection", NULL));
	assert_int_equal(ks_json_int_or(ob, "body.rejections", 0), 3);
	assert_string_equal(ks_json_str(cJSON_GetArrayItem(ks_json_get(ob, "body.reasons"), 0),
					"reason"),
			    "too risky");
	const char *yaml = ks_json_str(ob, "body.policy_yaml");
	assert_contains(yaml, "rule: {deny: true}");
	char *file = ks_asprintf("policies:\n%s", yaml);
	struct policy_set *set = NULL;
	struct ks_err err = {0};
	if (policy_parse_mem("suggested.yaml", file, strlen(file), &set, &err))
		fail_msg("the suggested policy does not parse: %s\n%s", err.msg, file);
	assert_int_equal(policy_set_count(set), 1);
	policy_set_free(set);
	free(file);
	cJSON_Delete(msgs);
	/* the next repair: confidence c * (0 + 1) / (0 + 0 + 3 + 1) */
	fx_use_world(&f, "diag/pod-bad-rollout.yaml");
	fx_round(&f, NULL, NULL, NOW + 600);
	msgs = fx_new_msgs(&f);
	const cJSON *prop = msg_of(msgs, "proposal", NULL);
	const cJSON *vote = msg_of(msgs, "vote", "learning");
	assert_answers(vote, prop);
	double c = ks_json_get(prop, "body.confidence")->valuedouble;
	assert_true(fabs(ks_json_get(vote, "body.confidence")->valuedouble -
			 round(c / 4 * 1000) / 1000) < 1e-9);
	assert_true(ks_json_get(vote, "body.score")->valuedouble < 0);
	const cJSON *dec = msg_of(msgs, "decision", NULL);
	assert_true(fabs(ks_json_get(dec, "body.confidence")->valuedouble -
			 ks_json_get(vote, "body.confidence")->valuedouble) < 1e-9);
	cJSON_Delete(msgs);
	/* an outcome counts too: predicted vs measured is recorded */
	struct plan_row row;
	assert_int_equal(plans_get(f.store, "p4", &row, NULL), 0);
	plan_row_release(&row);
	fx_close(&f);
}

/* Questions about a plan, an object and a decision, answered from the record. */
static void test_ask(void **state)
{
	(void)state;
	struct fx f;
	fx_open(&f, tu_world("diag/pod-oom-limit.yaml"), HUMAN_POLICY, NULL);
	fx_round(&f, NULL, NULL, NOW);
	cJSON *msgs = fx_new_msgs(&f);
	const char *dec = ks_json_str(msg_of(msgs, "decision", NULL), "id");
	const char *prop = ks_json_str(msg_of(msgs, "proposal", NULL), "id");
	const char *crit = ks_json_str(msg_of(msgs, "critique", NULL), "id");
	char *answer = NULL;
	cJSON *refs = NULL;
	assert_int_equal(swarm_ask(f.swarm, "Why p1?", &answer, &refs, NULL), 0);
	assert_contains(answer, "Why:");
	assert_contains(answer, "confidence");
	char *r = tu_json(refs);
	assert_contains(r, dec);
	assert_contains(r, prop);
	free(r);
	free(answer);
	cJSON_Delete(refs);
	assert_int_equal(swarm_ask(f.swarm, "what else could we do for analytics/report-builder?",
				   &answer, &refs, NULL), 0);
	assert_contains(answer, "What else:");
	assert_contains(answer, "Doing nothing");
	assert_null(strstr(answer, "Why:"));
	free(answer);
	cJSON_Delete(refs);
	assert_int_equal(swarm_ask(f.swarm, "what's the risk of p1", &answer, &refs, NULL), 0);
	assert_contains(answer, "Risk: ");
	assert_contains(answer, "reliability raised a concern");
	assert_contains(answer, "Rollback:");
	r = tu_json(refs);
	assert_contains(r, crit);
	free(r);
	free(answer);
	cJSON_Delete(refs);
	char q[64];
	snprintf(q, sizeof q, "how sure are you about %s?", dec);
	assert_int_equal(swarm_ask(f.swarm, q, &answer, &refs, NULL), 0);
	assert_contains(answer, "How sure: confidence");
	assert_contains(answer, "MemoryLimitTooLow");
	free(answer);
	cJSON_Delete(refs);
	assert_int_equal(swarm_ask(f.swarm, "why nothing-here?", &answer, &refs, NULL), 0);
	assert_contains(answer, "I found no decision");
	assert_int_equal(ks_json_len(refs), 0);
	free(answer);
	cJSON_Delete(refs);
	cJSON_Delete(msgs);
	fx_close(&f);
}

/* NodePool internal-tools grows a core an hour toward its 256-core limit: the forecasting
 * agent proposes raising the limit before the predicted date; an outside event ("traffic
 * x3") moves that date earlier. The history is the one the swarm recorded itself, or
 * Karpenter's gauge from Prometheus when one is given. */
static const char *prom_route(void *ctx, const char *form)
{
	(void)ctx;
	return strstr(form, "karpenter_nodepool_usage") ? "prom/karpenter-nodepool-usage.json"
							: "prom/error-bad-data.json";
}

static double exhaustion_in_days(const struct fc_events *ev, bool prom)
{
	struct fx f;
	fx_open(&f, tu_world("diag/karp-capacity.yaml"), HUMAN_POLICY, NULL);
	struct fake_prom srv = {.route = prom_route};
	struct prom_client *pc = NULL;
	if (prom) {
		fake_prom_start(&srv);
		pc = fake_prom_client(&srv);
	} else {
		for (int i = 0; i < 48; i++)
			assert_int_equal(series_record(f.store, "nodepool-cpu:internal-tools",
						       NOW - (48 - i) * 3600, 16 + i, 256, NULL),
					 0);
	}
	struct swarm_inputs in = {.world = f.world, .findings = &f.rep, .events = ev,
				  .prom = pc, .now = NOW};
	assert_int_equal(swarm_round(f.swarm, &in, NULL, NULL), 0);
	if (prom) {
		prom_client_free(pc);
		fake_prom_stop(&srv); /* joins the server's thread: last_form is settled */
		assert_contains(srv.last_form, "karpenter_nodepool_usage");
	}
	cJSON *msgs = fx_new_msgs(&f);
	const cJSON *m, *prop = NULL;
	cJSON_ArrayForEach(m, msgs)
		if (!strcmp(ks_json_str(m, "type"), "proposal") &&
		    !strcmp(ks_json_str(m, "from"), "forecasting") &&
		    !strcmp(ks_json_str(m, "subject.name"), "internal-tools"))
			prop = m;
	assert_non_null(prop);
	assert_string_equal(ks_json_str(prop, "body.action"), "nodepool-limits");
	assert_string_equal(ks_json_str(prop, "body.exhaustion.source"),
			    prom ? "prometheus" : "recorded");
	const cJSON *step = cJSON_GetArrayItem(ks_json_get(prop, "body.steps"), 0);
	assert_string_equal(ks_json_str(step, "patch_type"), "merge");
	assert_string_equal(ks_json_str(step, "patch.spec.limits.cpu"), "384");
	double days = ks_json_get(prop, "body.exhaustion.in_days")->valuedouble;
	assert_true(days > 0 && days < 30);
	cJSON_Delete(msgs);
	fx_close(&f);
	return days;
}

static void test_forecast(void **state)
{
	(void)state;
	double plain = exhaustion_in_days(NULL, false);
	struct fc_event item = {.name = "traffic x3", .scale = 3,
				.start_ns = (int64_t)(NOW + 86400) * 1000000000,
				.end_ns = (int64_t)(NOW + 20 * 86400) * 1000000000};
	struct fc_events ev = {.items = &item, .n = 1};
	double busy = exhaustion_in_days(&ev, false);
	assert_true(busy < plain);
	assert_true(busy < 2);
	/* Prometheus's history: the same growth, a few hours later (20 -> 67 cores) */
	double from_prom = exhaustion_in_days(NULL, true);
	assert_true(from_prom > 0 && from_prom < plain);
}

/* Right-sizing below the observed peak: the performance agent vetoes it; the decision on
 * the Deployment weighs it against the MemoryLimitTooLow repair and records why it lost. */
static void test_rightsize_vetoed(void **state)
{
	(void)state;
	struct fx f;
	fx_open(&f, tu_world("diag/pod-oom-limit.yaml"), HUMAN_POLICY, NULL);
	world_add_metric(f.world, WM_MEM_MAX_BYTES, "analytics", "report-builder-85f44f85fb-62p65",
			 "builder", 300.0 * 1048576);
	struct opt_container_rec c = {.container = (char *)"builder", .cpu_request = 0.2,
				      .cpu_target = 0.1, .mem_request = 192.0 * 1048576,
				      .mem_target = 128.0 * 1048576};
	struct opt_workload wl = {.ns = (char *)"analytics", .kind = (char *)"Deployment",
				  .name = (char *)"report-builder", .containers = &c,
				  .n_containers = 1, .monthly_savings_usd = 12};
	struct opt_report r = {.workloads = &wl, .n_workloads = 1};
	fx_round(&f, &r, NULL, NOW);
	cJSON *msgs = fx_new_msgs(&f);
	const cJSON *rs = msg_of(msgs, "proposal", "efficiency");
	assert_non_null(rs);
	assert_string_equal(ks_json_str(rs, "body.action"), "rightsize");
	const cJSON *step = cJSON_GetArrayItem(ks_json_get(rs, "body.steps"), 0);
	char *patch = tu_json(ks_json_get(step, "patch"));
	assert_contains(patch, "\"name\":\"builder\"");
	assert_contains(patch, "\"memory\":\"128Mi\"");
	assert_contains(patch, "\"cpu\":\"100m\"");
	free(patch);
	const cJSON *veto = msg_of(msgs, "veto", "performance");
	assert_answers(veto, rs);
	assert_string_equal(ks_json_str(veto, "body.rule"), "performance-floor");
	assert_contains(ks_json_str(veto, "body.reason"), "below the observed peak of 300 MiB");
	const cJSON *dec = msg_of(msgs, "decision", NULL);
	assert_string_equal(ks_json_str(dec, "body.chosen"),
			    ks_json_str(msg_of(msgs, "proposal", "diagnostics"), "id"));
	const cJSON *alt = cJSON_GetArrayItem(ks_json_get(dec, "body.alternatives"), 0);
	assert_string_equal(ks_json_str(alt, "proposal"), ks_json_str(rs, "id"));
	assert_contains(ks_json_str(alt, "why_lost"), "vetoed by performance");
	cJSON_Delete(msgs);
	/* above the peak: no veto */
	c.mem_target = 320.0 * 1048576;
	wl.monthly_savings_usd = 6;
	fx_round(&f, &r, NULL, NOW + 60);
	msgs = fx_new_msgs(&f);
	assert_non_null(msg_of(msgs, "proposal", "efficiency"));
	assert_null(msg_of(msgs, "veto", NULL));
	assert_non_null(msg_of(msgs, "vote", "performance"));
	cJSON_Delete(msgs);
	fx_close(&f);
}

/* Idle replicas of image-resizer (usage-cost-spike.yaml, with one replica before the scale-up)
 * measured near zero: Layer 2 proposes scaling 30 replicas down to 1. Outside production the reliability agent critiques it; in a
 * production namespace it vetoes it (one pod: a drain or a crash is an outage). */
static int quiet_pod(void *ctx, struct wobj pod)
{
	struct world *w = ctx;
	const cJSON *p = world_json(w, pod);
	const char *name = ks_json_str(p, "metadata.name");
	const cJSON *c;
	cJSON_ArrayForEach(c, ks_json_get(p, "spec.containers"))
	{
		world_add_metric(w, WM_CPU_P95_CORES, "media", name, ks_json_str(c, "name"), 0.001);
		world_add_metric(w, WM_CPU_AVG_CORES, "media", name, ks_json_str(c, "name"), 0.001);
	}
	return 0;
}

static struct world *quiet_resizer(bool production)
{
	char *yaml = tu_read_fixture("diag/usage-cost-spike.yaml");
	const char *at = "    name: media\n  status:";
	char *pos = strstr(yaml, at);
	assert_non_null(pos);
	char *text = production ? ks_asprintf("%.*s    name: media\n    labels: {env: production}\n"
					      "  status:%s",
					      (int)(pos - yaml), yaml, pos + strlen(at))
				: ks_strdup(yaml);
	/* It ran one replica before the scale-up (the recording says 2). */
	char *before = strstr(text, "image-resizer-847f66d47c to 2\n");
	assert_non_null(before);
	before[strlen("image-resizer-847f66d47c to ")] = '1';
	struct world *w = world_new();
	struct ks_err err = {0};
	if (world_load_snapshot_mem(w, text, strlen(text), &err))
		fail_msg("%s", err.msg);
	world_in_namespace(w, WK_POD, "media", quiet_pod, w);
	free(text);
	free(yaml);
	return w;
}

static void test_scale_to_one(void **state)
{
	(void)state;
	for (int prod = 0; prod < 2; prod++) {
		struct fx f;
		fx_open(&f, quiet_resizer(prod), HUMAN_POLICY, NULL);
		fx_round(&f, NULL, NULL, NOW);
		cJSON *msgs = fx_new_msgs(&f);
		const cJSON *pr = msg_of(msgs, "proposal", "diagnostics");
		assert_non_null(pr);
		char *steps = tu_json(ks_json_get(pr, "body.steps"));
		assert_contains(steps, "\"replicas\":1");
		free(steps);
		const cJSON *veto = msg_of(msgs, "veto", "reliability");
		const cJSON *crit = msg_of(msgs, "critique", "reliability");
		if (prod) {
			assert_answers(veto, pr);
			assert_string_equal(ks_json_str(veto, "body.rule"),
					    "min-2-replicas-in-production");
			assert_contains(ks_json_str(veto, "body.reason"),
					"Deployment media/image-resizer from 30 to 1 replicas");
			assert_null(msg_of(msgs, "plan", NULL));
		} else {
			assert_null(veto);
			assert_answers(crit, pr);
			assert_string_equal(ks_json_str(crit, "body.severity"), "medium");
			assert_contains(ks_json_str(crit, "body.concern"), "leaves one pod");
		}
		cJSON_Delete(msgs);
		fx_close(&f);
	}
}

/* Every scenario whose finding has a patch remediation ends in a plan that applies it to the
 * root-cause object and verifies that the cause is gone. */
static void test_scenarios(void **state)
{
	(void)state;
	static const struct {
		const char *fixture, *cause, *kind, *name;
	} cases[] = {
		{"diag/pod-oom-limit.yaml", "MemoryLimitTooLow", "Deployment", "report-builder"},
		{"diag/pod-bad-rollout.yaml", "RolloutRegression", "Deployment", NULL},
		{"diag/pod-image-typo.yaml", "ImageTagNotFound", "Deployment", "catalog-api"},
		{"diag/service-selector-mismatch.yaml", "ServiceSelectorMismatch", "Service", NULL},
		{"diag/karp-capacity.yaml", "NodePoolLimitReached", "NodePool", NULL},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		struct fx f;
		fx_open(&f, tu_world(cases[i].fixture), HUMAN_POLICY, NULL);
		fx_round(&f, NULL, NULL, NOW);
		cJSON *msgs = fx_new_msgs(&f);
		const cJSON *m, *plan = NULL;
		cJSON_ArrayForEach(m, msgs)
		{
			const cJSON *st = cJSON_GetArrayItem(ks_json_get(m, "body.steps"), 0);
			const cJSON *fd = cJSON_GetArrayItem(ks_json_get(st, "verify.findings"), 0);
			if (!strcmp(ks_json_str(m, "type"), "plan") && fd &&
			    !strcmp(fd->valuestring, cases[i].cause))
				plan = m;
		}
		if (!plan)
			fail_msg("%s: no plan for %s", cases[i].fixture, cases[i].cause);
		const cJSON *st = cJSON_GetArrayItem(ks_json_get(plan, "body.steps"), 0);
		assert_string_equal(ks_json_str(st, "action"), "patch");
		assert_string_equal(ks_json_str(st, "target.kind"), cases[i].kind);
		if (cases[i].name)
			assert_string_equal(ks_json_str(st, "target.name"), cases[i].name);
		assert_non_null(ks_json_get(st, "patch"));
		assert_non_null(ks_json_str(st, "patch_type"));
		/* docs/PLANS.md: no empty names (a cluster-scoped target has no namespace) */
		const cJSON *ns = ks_json_get(st, "target.namespace");
		assert_true(!ns || ns->valuestring[0]);
		assert_true(ks_json_str(st, "target.uid")[0]);
		/* generation for kinds that have one, else resourceVersion */
		assert_true(ks_json_get(st, "preconditions.fields") ||
			    ks_json_str(st, "preconditions.resourceVersion")[0]);
		char *checks = tu_json(ks_json_get(st, "verify.checks"));
		assert_contains(checks, "no-findings");
		if (!strcmp(cases[i].kind, "Deployment"))
			assert_string_equal(checks, "[\"rollout\",\"pods-ready\",\"no-findings\"]");
		free(checks);
		cJSON_Delete(msgs);
		fx_close(&f);
	}
}

/* The cluster's cost jumps from about $10 to $20 an hour: the forecasting agent says so once,
 * as an observation. */
static void test_cost_anomaly(void **state)
{
	(void)state;
	struct fx f;
	fx_open(&f, tu_world("diag/pod-baseline.yaml"), HUMAN_POLICY, NULL);
	for (int i = 0; i < 48; i++) {
		double usd = i < 44 ? 10 + 0.05 * ((i * 7) % 5 - 2) : 20;
		assert_int_equal(series_record(f.store, "cost:cluster", NOW - (48 - i) * 3600, usd,
					       0, NULL), 0);
	}
	struct opt_report r = {.current_hourly_usd = 20};
	fx_round(&f, &r, NULL, NOW);
	cJSON *msgs = fx_new_msgs(&f);
	const cJSON *ob = msg_of(msgs, "observation", "forecasting");
	assert_non_null(ob);
	assert_answers(ob, msg_of(msgs, "question", NULL));
	assert_string_equal(ks_json_str(ob, "body.anomaly"), "cost");
	assert_true(cJSON_IsTrue(ks_json_get(ob, "body.ongoing")));
	assert_true(ks_json_get(ob, "body.observed_usd_hr")->valuedouble > 19);
	assert_contains(ks_json_str(ob, "text"), "more than expected");
	cJSON_Delete(msgs);
	/* said once: a later round (new cost sample) does not repeat it */
	r.current_hourly_usd = 20.01;
	fx_round(&f, &r, NULL, NOW + 3600);
	msgs = fx_new_msgs(&f);
	assert_null(msg_of(msgs, "observation", "forecasting"));
	cJSON_Delete(msgs);
	fx_close(&f);
}

/* The bus delivers in whichever thread is delivering: a round published while the daemon's
 * reconciler thread is delivering its own message is run by that thread's delivery, and
 * must come out the same. */
struct slow_ctx {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool started;
	struct bus *bus;
};

static void slow_cb(const struct swarm_msg *m, void *ctx)
{
	struct slow_ctx *c = ctx;
	if (m->type != SWARM_MSG_OUTCOME)
		return;
	pthread_mutex_lock(&c->mu);
	c->started = true;
	pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
	usleep(300 * 1000); /* the round's question queues behind this delivery */
}

static void *reconciler_thread(void *arg)
{
	struct slow_ctx *c = arg;
	struct swarm_msg m = {.type = SWARM_MSG_OUTCOME, .body = cJSON_CreateObject()};
	snprintf(m.from, sizeof m.from, "reconciler");
	cJSON_AddStringToObject(m.body, "plan_id", "p0");
	cJSON_AddStringToObject(m.body, "result", "succeeded");
	swarm_msg_set_text(&m, "Plan p0 succeeded.");
	if (bus_publish(c->bus, &m, NULL))
		abort();
	swarm_msg_release(&m);
	return NULL;
}

static void test_other_thread_delivers(void **state)
{
	(void)state;
	struct fx f;
	fx_open(&f, tu_world("diag/pod-oom-limit.yaml"), HUMAN_POLICY, NULL);
	struct slow_ctx c = {.bus = f.bus};
	pthread_mutex_init(&c.mu, NULL);
	pthread_cond_init(&c.cv, NULL);
	struct bus_filter all = {0};
	int sub = bus_subscribe(f.bus, &all, slow_cb, &c);
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, reconciler_thread, &c), 0);
	pthread_mutex_lock(&c.mu);
	while (!c.started)
		pthread_cond_wait(&c.cv, &c.mu);
	pthread_mutex_unlock(&c.mu);
	struct swarm_round_stats st = fx_round(&f, NULL, NULL, NOW);
	pthread_join(th, NULL);
	bus_unsubscribe(f.bus, sub);
	assert_int_equal(st.proposals, 1);
	assert_int_equal(st.plans, 1);
	assert_int_equal(st.pending_human, 1);
	cJSON *msgs = fx_new_msgs(&f);
	char *seq = sequence(msgs);
	assert_string_equal(seq, "outcome/reconciler question/orchestrator diagnosis/diagnostics "
				 "proposal/diagnostics vote/performance critique/reliability "
				 "vote/reliability decision/orchestrator plan/orchestrator "
				 "approval_request/orchestrator");
	free(seq);
	cJSON_Delete(msgs);
	pthread_cond_destroy(&c.cv);
	pthread_mutex_destroy(&c.mu);
	fx_close(&f);
}

/* Spot: the optimizer (spot policy "prefer") moves NodePool batch, which runs namespace web,
 * to spot. Staging: reliability critiques the interruptions. The same report over a world
 * where web is production: reliability vetoes it. */
static const cJSON *about(const cJSON *msgs, const char *type, const char *name)
{
	const cJSON *m;
	cJSON_ArrayForEach(m, msgs)
		if (!strcmp(ks_json_str(m, "type"), type) &&
		    !strcmp(ks_json_str_or(m, "subject.name", ""), name) &&
		    strcmp(ks_json_str(m, "from"), "diagnostics"))
			return m;
	return NULL;
}

static void test_cost_spot(void **state)
{
	(void)state;
	char *yaml = tu_read_fixture("cost/optimize-pools.yaml");
	struct world *staging = world_from_text(yaml);
	struct opt_report r;
	struct opt_opts o = {.cat = cat, .prices = prices, .spot = OPT_SPOT_PREFER};
	assert_int_equal(opt_run(staging, &o, &r, NULL), 0);
	assert_true(pool_named(&r, "batch")->cands[pool_named(&r, "batch")->chosen].spot);

	struct fx f;
	fx_open(&f, staging, HUMAN_POLICY, NULL);
	fx_round(&f, &r, NULL, NOW);
	cJSON *msgs = fx_new_msgs(&f);
	const cJSON *prop = about(msgs, "proposal", "batch");
	assert_true(cJSON_IsTrue(ks_json_get(prop, "body.spot")));
	assert_string_equal(ks_json_str(prop, "body.policy.kind"), "capacity-type");
	const cJSON *crit = about(msgs, "critique", "batch");
	assert_answers(crit, prop);
	assert_string_equal(ks_json_str(crit, "body.severity"), "medium");
	assert_contains(ks_json_str(crit, "body.concern"), "spot");
	assert_null(about(msgs, "veto", "batch"));
	cJSON_Delete(msgs);
	fx_close(&f);

	char *at = strstr(yaml, "env: staging");
	assert_non_null(at);
	memcpy(at, "env: prod   ", strlen("env: staging"));
	fx_open(&f, world_from_text(yaml), HUMAN_POLICY, NULL);
	fx_round(&f, &r, NULL, NOW);
	msgs = fx_new_msgs(&f);
	const cJSON *veto = about(msgs, "veto", "batch");
	assert_answers(veto, about(msgs, "proposal", "batch"));
	assert_string_equal(ks_json_str(veto, "body.rule"), "no-spot-for-production");
	cJSON_Delete(msgs);
	fx_close(&f);
	opt_report_free(&r);
	free(yaml);
}

/* ---- measured outcomes (src/swarm/measure.c) ---- */

/* The plan's measured JSON as stored (caller frees), or NULL. */
static cJSON *measured_of(struct fx *f, const char *plan_id)
{
	struct plan_row r;
	assert_int_equal(plans_get(f->store, plan_id, &r, NULL), 0);
	cJSON *m = r.measured ? ks_json_parse(r.measured, strlen(r.measured), 1 << 20, NULL)
			      : NULL;
	plan_row_release(&r);
	return m;
}

static double num(const cJSON *j, const char *path)
{
	const cJSON *v = ks_json_get(j, path);
	if (!cJSON_IsNumber(v))
		fail_msg("%s is not a number", path);
	return v->valuedouble;
}

/* The reconciler's outcome message (as the daemon publishes it): its id in id. */
static void publish_outcome(struct fx *f, const char *text, char id[SWARM_MSG_ID_MAX])
{
	struct swarm_msg m = {.type = SWARM_MSG_OUTCOME, .body = cJSON_CreateObject()};
	cJSON_AddStringToObject(m.body, "plan_id", "p1");
	cJSON_AddStringToObject(m.body, "result", "succeeded");
	snprintf(m.from, sizeof m.from, "reconciler");
	snprintf(m.cluster, sizeof m.cluster, "local");
	swarm_msg_set_text(&m, "%s", text);
	struct ks_err err = {0};
	if (bus_publish(f->bus, &m, &err))
		fail_msg("publish: %s", err.msg);
	snprintf(id, SWARM_MSG_ID_MAX, "%s", m.id);
	swarm_msg_release(&m);
}

static int count_of(const cJSON *msgs, const char *type, const char *from)
{
	int n = 0;
	const cJSON *m;
	cJSON_ArrayForEach(m, msgs)
		n += !strcmp(ks_json_str(m, "type"), type) && !strcmp(ks_json_str(m, "from"), from);
	return n;
}

/* The repair of pod-oom-limit.yaml (p1) approved automatically, handed out and finished with
 * result: the outcome passes why (may be NULL) and, when outcome_id is not NULL, the id of
 * a reconciler outcome message published for it. */
static void repair_finished(struct fx *f, const char *result, const char *why,
			    char outcome_id[SWARM_MSG_ID_MAX])
{
	fx_open(f, tu_world("diag/pod-oom-limit.yaml"), AUTO_POLICY, NULL);
	fx_round(f, NULL, NULL, NOW);
	cJSON *plan = NULL;
	assert_int_equal(swarm_next_approved(f->swarm, &plan, NULL), 0);
	cJSON_Delete(plan);
	cJSON *outcome = cJSON_CreateObject();
	if (why)
		cJSON_AddStringToObject(outcome, "why", why);
	if (outcome_id) {
		publish_outcome(f, "Plan p1 succeeded.", outcome_id);
		cJSON_AddStringToObject(outcome, "message_id", outcome_id);
	}
	assert_int_equal(swarm_plan_finished(f->swarm, "p1", result, outcome, NULL), 0);
	cJSON_Delete(outcome);
}

/* A repair that succeeded: timings at the end; the finding is still open in the first round
 * after it (an unchanged round: it measures all the same), then gone: finding_cleared flips
 * to true with the time, and "learning" says so once, answering the outcome message. */
static void test_measure_finding(void **state)
{
	(void)state;
	struct fx f;
	char outcome_id[SWARM_MSG_ID_MAX];
	repair_finished(&f, "succeeded", "ignored when it succeeded", outcome_id);
	cJSON *m = measured_of(&f, "p1");
	assert_string_equal(ks_json_str(m, "result"), "succeeded");
	assert_string_equal(ks_json_str(m, "why"), "");
	assert_true(num(m, "seconds_to_outcome") >= 0 && num(m, "seconds_to_outcome") <= 2);
	assert_true(num(m, "execution_seconds") >= 0 && num(m, "execution_seconds") <= 2);
	assert_true(ks_json_bool_or(m, "measuring", false));
	assert_string_equal(ks_json_str(m, "finding"), f.rep.findings[0]->id);
	assert_null(ks_json_get(m, "finding_cleared"));
	cJSON_Delete(m);
	cJSON_Delete(fx_new_msgs(&f));
	/* first round after the end: the same inputs, still open */
	struct swarm_round_stats st = fx_round(&f, NULL, NULL, NOW + 30);
	assert_int_equal(st.proposals, 0);
	m = measured_of(&f, "p1");
	assert_false(ks_json_bool_or(m, "finding_cleared", true));
	assert_true(ks_json_bool_or(m, "measuring", false));
	assert_contains(ks_json_str(m, "finding_note"), "may still turn true");
	cJSON_Delete(m);
	cJSON *msgs = fx_new_msgs(&f);
	assert_int_equal(ks_json_len(msgs), 0);
	cJSON_Delete(msgs);
	/* gone later in the window */
	struct diag_report empty = {0};
	struct swarm_inputs none = {.world = f.world, .findings = &empty, .now = NOW + 90};
	assert_int_equal(swarm_round(f.swarm, &none, &st, NULL), 0);
	m = measured_of(&f, "p1");
	assert_true(ks_json_bool_or(m, "finding_cleared", false));
	double after = num(m, "cleared_after_seconds");
	assert_true(after >= 89 && after <= 90); /* the end is on the round clock, +0/1 s */
	assert_false(ks_json_bool_or(m, "measuring", true));
	assert_non_null(ks_json_str(m, "measured_at"));
	cJSON_Delete(m);
	msgs = fx_new_msgs(&f);
	const cJSON *ob = msg_of(msgs, "observation", "learning");
	assert_non_null(ob);
	assert_string_equal(first_re(ob), outcome_id);
	assert_contains(ks_json_str(ob, "text"), "Plan p1 measured: the finding cleared");
	assert_string_equal(ks_json_str(ob, "body.plan_id"), "p1");
	cJSON_Delete(msgs);
	/* said once */
	none.now = NOW + 150;
	assert_int_equal(swarm_round(f.swarm, &none, &st, NULL), 0);
	msgs = fx_new_msgs(&f);
	assert_int_equal(count_of(msgs, "observation", "learning"), 0);
	cJSON_Delete(msgs);
	/* the API carries it as an object */
	cJSON *list = NULL;
	assert_int_equal(swarm_plans_list(f.swarm, NULL, 10, &list, NULL), 0);
	assert_true(ks_json_bool_or(cJSON_GetArrayItem(list, 0), "measured.finding_cleared",
				    false));
	cJSON_Delete(list);
	cJSON *got = NULL;
	assert_int_equal(swarm_plan_get(f.swarm, "p1", &got, NULL), 0);
	assert_string_equal(ks_json_str(got, "measured.result"), "succeeded");
	cJSON_Delete(got);
	fx_close(&f);
}

/* A repair whose finding is still there an hour after it: false, and said so once. */
static void test_measure_finding_stays(void **state)
{
	(void)state;
	struct fx f;
	repair_finished(&f, "succeeded", NULL, NULL);
	cJSON_Delete(fx_new_msgs(&f));
	fx_round(&f, NULL, NULL, NOW + 30);
	fx_round(&f, NULL, NULL, NOW + 1800);
	cJSON *msgs = fx_new_msgs(&f);
	assert_int_equal(count_of(msgs, "observation", "learning"), 0);
	cJSON_Delete(msgs);
	fx_round(&f, NULL, NULL, NOW + 3601);
	cJSON *m = measured_of(&f, "p1");
	assert_false(ks_json_bool_or(m, "finding_cleared", true));
	assert_false(ks_json_bool_or(m, "measuring", true));
	assert_string_equal(ks_json_str(m, "finding_note"),
			    "still open when the measuring window ended");
	assert_null(ks_json_get(m, "cleared_after_seconds"));
	cJSON_Delete(m);
	msgs = fx_new_msgs(&f);
	const cJSON *ob = msg_of(msgs, "observation", "learning");
	assert_non_null(ob);
	assert_string_equal(ks_json_str(ob, "text"),
			    "Plan p1 measured: the finding (MemoryLimitTooLow on Deployment "
			    "analytics/report-builder) was still open 60 minutes after the plan.");
	/* it answers the plan message when the outcome message is not known */
	struct plan_row r;
	assert_int_equal(plans_get(f.store, "p1", &r, NULL), 0);
	assert_string_equal(first_re(ob), r.plan_msg_id);
	plan_row_release(&r);
	cJSON_Delete(msgs);
	fx_close(&f);
}

/* A plan the test hands the swarm directly (approved, so the next swarm_next_approved
 * takes it). */
static void insert_approved(struct fx *f, const char *id, const char *key, const char *kind,
			    const char *ns, const char *name, double savings)
{
	char *subject = ks_asprintf("{\"kind\":\"%s\",\"namespace\":\"%s\",\"name\":\"%s\"}", kind,
				    ns, name);
	char *plan = ks_asprintf("{\"plan_id\":\"%s\",\"steps\":[]}", id);
	struct plan_row r = {.created = NOW - 600, .updated = NOW - 600, .savings = savings,
			     .title = (char *)"a change", .subject = subject, .plan = plan};
	snprintf(r.plan_id, sizeof r.plan_id, "%s", id);
	snprintf(r.status, sizeof r.status, "approved");
	snprintf(r.risk, sizeof r.risk, "medium");
	snprintf(r.action, sizeof r.action, "%s",
		 !strncmp(key, "rightsize:", 10) ? "rightsize" : "nodepool-mix");
	snprintf(r.key, sizeof r.key, "%s", key);
	snprintf(r.fingerprint, sizeof r.fingerprint, "0123456789abcdef");
	struct ks_err err = {0};
	if (plans_insert(f->store, &r, &err))
		fail_msg("plans_insert: %s", err.msg);
	free(subject);
	free(plan);
}

/* A swarm whose rounds see a world but no findings (only the cost report the test gives). */
static void fx_open_without_findings(struct fx *f)
{
	fx_open(f, tu_world("diag/pod-oom-limit.yaml"), HUMAN_POLICY, NULL);
	diag_report_free(&f->rep);
	f->rep = (struct diag_report){0};
}

/* Start and finish plan id (executed between the rounds, as the daemon does). */
static void run_plan(struct fx *f, const char *id)
{
	cJSON *plan = NULL;
	assert_int_equal(swarm_next_approved(f->swarm, &plan, NULL), 0);
	assert_string_equal(ks_json_str(plan, "plan_id"), id);
	cJSON_Delete(plan);
	assert_int_equal(swarm_plan_finished(f->swarm, id, "succeeded", NULL, NULL), 0);
}

/* Plan p1, a mix change of NodePool general predicted to save $450/month, approved while
 * the pool cost $1/hour (the round at NOW), and run: r holds pool, the caller's. */
static void mix_plan_ran(struct fx *f, struct opt_pool *pool, struct opt_report *r)
{
	fx_open_without_findings(f);
	insert_approved(f, "p1", "nodepool-mix:general", "NodePool", "", "general", 450);
	*pool = (struct opt_pool){.name = (char *)"general", .chosen = -1,
				  .current = {.hourly_usd = 1.0}};
	*r = (struct opt_report){.pools = pool, .n_pools = 1, .current_hourly_usd = 1.0};
	fx_round(f, r, NULL, NOW);
	run_plan(f, "p1");
}

/* A NodePool mix change: the cost before is the last round's; the cost after settles once
 * the same in 3 consecutive rounds (those rounds' inputs are unchanged); savings = before -
 * after; the learning row gets it, and "learning" says so once. */
static void test_measure_cost_settles(void **state)
{
	(void)state;
	struct fx f;
	struct opt_pool pool;
	struct opt_report r;
	mix_plan_ran(&f, &pool, &r);
	cJSON *m = measured_of(&f, "p1");
	assert_true(fabs(num(m, "cost_before_usd_per_month") - 730) < 1e-9);
	assert_true(fabs(num(m, "predicted_savings_per_month") - 450) < 1e-9);
	assert_true(ks_json_bool_or(m, "measuring", false));
	cJSON_Delete(m);
	cJSON_Delete(fx_new_msgs(&f));
	static const double hourly[] = {0.5, 0.45, 0.45, 0.45};
	for (int i = 0; i < 4; i++) {
		pool.current.hourly_usd = hourly[i];
		r.current_hourly_usd = hourly[i];
		fx_round(&f, &r, NULL, NOW + 60 * (i + 1));
		m = measured_of(&f, "p1");
		cJSON *msgs = fx_new_msgs(&f);
		if (i < 3) { /* 0.5, then 0.45 seen once and twice */
			assert_true(ks_json_bool_or(m, "measuring", false));
			assert_null(ks_json_get(m, "savings_per_month"));
			assert_int_equal(count_of(msgs, "observation", "learning"), 0);
		} else {
			assert_false(ks_json_bool_or(m, "measuring", true));
			assert_true(ks_json_bool_or(m, "settled", false));
			assert_true(fabs(num(m, "cost_after_usd_per_month") - 328.5) < 1e-9);
			assert_true(fabs(num(m, "savings_per_month") - 401.5) < 1e-9);
			assert_non_null(ks_json_str(m, "measured_at"));
			const cJSON *ob = msg_of(msgs, "observation", "learning");
			assert_int_equal(count_of(msgs, "observation", "learning"), 1);
			assert_string_equal(ks_json_str(ob, "text"),
					    "Plan p1 measured: NodePool general costs "
					    "$401.50/month less than before (predicted $450.00).");
		}
		cJSON_Delete(msgs);
		cJSON_Delete(m);
	}
	struct learn_stats ls;
	assert_int_equal(learn_stats_get(f.store, "nodepool-mix", &ls, NULL), 0);
	assert_int_equal(ls.succeeded, 1);
	assert_int_equal(ls.measured_n, 1);
	assert_true(fabs(ls.measured_sum - 401.5) < 1e-9);
	assert_true(fabs(ls.predicted_sum - 450) < 1e-9);
	/* the savings realised are the measured one now, the prediction kept beside it */
	cJSON *metrics = NULL;
	assert_int_equal(swarm_metrics(f.swarm, &metrics, NULL), 0);
	assert_true(fabs(num(metrics, "savings_realised_per_month") - 401.5) < 1e-9);
	assert_true(fabs(num(metrics, "savings_predicted_per_month") - 450) < 1e-9);
	assert_int_equal(ks_json_int_or(metrics, "savings_measured_plans", -1), 1);
	cJSON_Delete(metrics);
	fx_round(&f, &r, NULL, NOW + 600);
	cJSON *msgs = fx_new_msgs(&f);
	assert_int_equal(count_of(msgs, "observation", "learning"), 0);
	cJSON_Delete(msgs);
	fx_close(&f);
}

/* While Karpenter is still replacing the pool's nodes (settling_nodes), an unchanged cost
 * is not a settled one: the rounds count only once the pool is done. */
static void test_measure_cost_waits_for_the_pool_to_settle(void **state)
{
	(void)state;
	struct fx f;
	struct opt_pool pool;
	struct opt_report r;
	mix_plan_ran(&f, &pool, &r);
	pool.current.hourly_usd = r.current_hourly_usd = 0.5;
	pool.settling_nodes = 1;
	for (int i = 1; i <= 5; i++)
		fx_round(&f, &r, NULL, NOW + 60 * i);
	cJSON *m = measured_of(&f, "p1");
	assert_true(ks_json_bool_or(m, "measuring", false));
	cJSON_Delete(m);
	pool.settling_nodes = 0;
	pool.current.hourly_usd = r.current_hourly_usd = 0.45;
	for (int i = 6; i <= 8; i++)
		fx_round(&f, &r, NULL, NOW + 60 * i);
	m = measured_of(&f, "p1");
	assert_false(ks_json_bool_or(m, "measuring", true));
	assert_true(fabs(num(m, "savings_per_month") - 401.5) < 1e-9);
	cJSON_Delete(m);
	fx_close(&f);
}

/* A right-sizing whose workload's cost keeps moving: after an hour the measurement is
 * complete regardless (settled false, the last value), a saving that is negative is reported
 * as it is, and a restarted swarm goes on watching. A plan with no cost before it has nothing
 * to compare with. */
static void test_measure_cost_cutoff(void **state)
{
	(void)state;
	struct fx f;
	fx_open_without_findings(&f);
	insert_approved(&f, "p1", "rightsize:Deployment/shop/web", "Deployment", "shop", "web",
			20);
	struct opt_workload wl = {.ns = (char *)"shop", .kind = (char *)"Deployment",
				  .name = (char *)"web", .monthly_usd = 100};
	struct opt_report r = {.workloads = &wl, .n_workloads = 1};
	fx_round(&f, &r, NULL, NOW);
	run_plan(&f, "p1");
	/* a plan whose workload the report did not have */
	insert_approved(&f, "p2", "rightsize:Deployment/shop/api", "Deployment", "shop", "api",
			20);
	run_plan(&f, "p2");
	cJSON *m = measured_of(&f, "p2");
	assert_false(ks_json_bool_or(m, "measuring", true));
	assert_contains(ks_json_str(m, "note"), "nothing to compare with");
	cJSON_Delete(m);
	cJSON_Delete(fx_new_msgs(&f));
	for (int i = 1; i <= 6; i++) {
		wl.monthly_usd = 100 + i; /* never the same twice */
		if (i == 3) {       /* a restart: the measurement goes on */
			swarm_free(f.swarm);
			struct swarm_opts o = {.bus = f.bus, .store = f.store, .policy = f.policy,
					       .goals = {.min_savings_usd = 5}};
			assert_int_equal(swarm_new(&o, &f.swarm, NULL), 0);
		}
		fx_round(&f, &r, NULL, NOW + 600 * i);
		m = measured_of(&f, "p1");
		assert_int_equal(ks_json_bool_or(m, "measuring", false), i < 6);
		cJSON_Delete(m);
	}
	m = measured_of(&f, "p1");
	assert_false(ks_json_bool_or(m, "settled", true));
	assert_true(fabs(num(m, "cost_after_usd_per_month") - 106) < 1e-9);
	assert_true(fabs(num(m, "savings_per_month") + 6) < 1e-9);
	cJSON_Delete(m);
	cJSON *msgs = fx_new_msgs(&f);
	const cJSON *ob = msg_of(msgs, "observation", "learning");
	assert_contains(ks_json_str(ob, "text"), "Deployment shop/web costs $6.00/month more than "
						 "before (predicted savings $20.00); it had not "
						 "settled");
	assert_int_equal(count_of(msgs, "observation", "learning"), 1);
	cJSON_Delete(msgs);
	struct learn_stats ls;
	assert_int_equal(learn_stats_get(f.store, "rightsize", &ls, NULL), 0);
	assert_int_equal(ls.measured_n, 1);
	assert_true(fabs(ls.measured_sum + 6) < 1e-9);
	fx_close(&f);
}

/* A failed plan: why comes from the reconciler, nothing is watched. */
static void test_measure_failed(void **state)
{
	(void)state;
	struct fx f;
	repair_finished(&f, "rolled_back", "step s1: pods not ready after 300 s", NULL);
	cJSON *m = measured_of(&f, "p1");
	assert_string_equal(ks_json_str(m, "result"), "rolled_back");
	assert_string_equal(ks_json_str(m, "why"), "step s1: pods not ready after 300 s");
	assert_false(ks_json_bool_or(m, "measuring", true));
	assert_null(ks_json_get(m, "finding"));
	cJSON_Delete(m);
	fx_close(&f);
}

int main(void)
{
	tu_set_data_dir();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_patch_plan),
		cmocka_unit_test(test_scenarios),
		cmocka_unit_test(test_secret_plan),
		cmocka_unit_test(test_human_only),
		cmocka_unit_test(test_cost_vetoed),
		cmocka_unit_test(test_stabilization_window),
		cmocka_unit_test(test_cost_single_az),
		cmocka_unit_test(test_cost_spot),
		cmocka_unit_test(test_rightsize_vetoed),
		cmocka_unit_test(test_scale_to_one),
		cmocka_unit_test(test_policy_denied),
		cmocka_unit_test(test_dry_run),
		cmocka_unit_test(test_auto_approval),
		cmocka_unit_test(test_approve_reject),
		cmocka_unit_test(test_dedup),
		cmocka_unit_test(test_other_thread_delivers),
		cmocka_unit_test(test_learning),
		cmocka_unit_test(test_ask),
		cmocka_unit_test(test_forecast),
		cmocka_unit_test(test_cost_anomaly),
		cmocka_unit_test(test_measure_finding),
		cmocka_unit_test(test_measure_finding_stays),
		cmocka_unit_test(test_measure_cost_settles),
		cmocka_unit_test(test_measure_cost_waits_for_the_pool_to_settle),
		cmocka_unit_test(test_measure_cost_cutoff),
		cmocka_unit_test(test_measure_failed),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
