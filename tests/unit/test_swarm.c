/* test_swarm.c — the swarm's rounds over recorded worlds (tests/fixtures/diag, cost): each
 * path from a finding or a cost report to a plan (or to no plan), checked on the transcript:
 * the message types in order, who said them, and what each answers (re). */
#include "testutil.h"

#include <math.h>
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

__attribute__((unused)) static const char *AUTO_POLICY = "approval: {dry-run: false, auto: {max-risk: high}}\n";
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
	assert_true(ks_json_str(step, "preconditions.resourceVersion")[0]);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_patch_plan),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
