/* test_policy.c — the policy engine (src/swarm/policy): every rule kind allowing and denying,
 * matching (globs, labels, NodePools, clusters, kinds), deny wins whatever the order, change
 * windows across days and time zones, sliding-hour rate limits (and restoring them), dry-run,
 * production always needing a person, and bad files rejected with exact LINE:COL messages
 * with nothing of them applied. Fixtures: tests/fixtures/policy/. */
#include "testutil.h"

#include <string.h>

#include "base/json.h"
#include "base/timeutil.h"
#include "swarm/policy.h"

/* 2026-11-23 is a Monday. */
static int64_t T(const char *rfc3339)
{
	int64_t ns;
	assert_int_equal(ks_time_parse_rfc3339(rfc3339, strlen(rfc3339), &ns, NULL), 0);
	return ns / 1000000000;
}

static struct policy_ctx *ctx_from(const char *yaml)
{
	struct policy_ctx *ctx = policy_ctx_new();
	struct ks_err err = {0};
	if (policy_ctx_load_mem(ctx, "t.yaml", yaml, strlen(yaml), &err))
		fail_msg("%s", err.msg);
	return ctx;
}

static struct policy_ctx *ctx_fixture(const char *rel)
{
	struct policy_ctx *ctx = policy_ctx_new();
	struct ks_err err = {0};
	if (policy_ctx_load(ctx, tu_fixture(rel), &err))
		fail_msg("%s", err.msg);
	return ctx;
}

/* A low-risk change with every property unknown, in namespace ns. */
static struct policy_change change(const char *ns)
{
	return (struct policy_change){
		.cluster = "eks-prod",
		.namespace = ns,
		.kind = POLICY_KIND_CAPACITY_TYPE,
		.risk = POLICY_RISK_LOW,
		.nodes_after = -1,
		.zones_after = -1,
		.cost_before_hr = -1,
		.cost_after_hr = -1,
	};
}

static const struct policy_verdict *find(const struct policy_result *r, const char *policy,
					 const char *rule)
{
	for (size_t i = 0; i < r->nverdicts; i++)
		if (!strcmp(r->verdicts[i].policy, policy) && !strcmp(r->verdicts[i].rule, rule))
			return &r->verdicts[i];
	return NULL;
}

static void expect_verdict(const struct policy_result *r, const char *policy, const char *rule,
			   enum policy_outcome o, const char *why)
{
	const struct policy_verdict *v = find(r, policy, rule);
	if (!v)
		fail_msg("no verdict of %s/%s", policy, rule);
	if (v->outcome != o)
		fail_msg("%s/%s: %s, expected %s (%s)", policy, rule,
			 policy_outcome_name(v->outcome), policy_outcome_name(o), v->why);
	assert_contains(v->why, why);
}

static const int64_t MON_10 = 1795428000; /* 2026-11-23T10:00:00Z, checked in test_time */

static void test_time(void **state)
{
	(void)state;
	assert_int_equal(T("2026-11-23T10:00:00Z"), MON_10);
}

/* ---- rule kinds ---- */

static void test_never_use_spot(void **state)
{
	(void)state;
	struct policy_ctx *ctx = ctx_fixture("policy/example.yaml");
	const char *prod_labels[] = {"app", "api", "env", "production"};
	struct policy_change c = change("prod-api");
	c.labels = prod_labels;
	c.nlabels = 2;
	c.uses_spot = true;
	c.risk = POLICY_RISK_LOW;
	struct policy_result r;
	policy_evaluate(ctx, &c, MON_10, &r);
	assert_false(r.allowed);
	assert_int_equal(r.approval, POLICY_APPROVAL_DENIED);
	expect_verdict(&r, "never-use-spot-for-production", "never-use-spot", POLICY_DENY,
		       "spot capacity, which this policy forbids");
	policy_result_release(&r);

	c.uses_spot = false;
	policy_evaluate(ctx, &c, MON_10, &r);
	assert_true(r.allowed);
	expect_verdict(&r, "never-use-spot-for-production", "never-use-spot", POLICY_ALLOW,
		       "does not use spot");
	policy_result_release(&r);

	/* Same namespace without the label: the policy does not match at all. */
	c.uses_spot = true;
	c.nlabels = 1;
	policy_evaluate(ctx, &c, MON_10, &r);
	assert_true(r.allowed);
	assert_null(find(&r, "never-use-spot-for-production", "never-use-spot"));
	policy_result_release(&r);
	policy_ctx_free(ctx);
}

static void test_min_nodes_and_multi_az(void **state)
{
	(void)state;
	struct policy_ctx *ctx = ctx_fixture("policy/example.yaml");
	struct policy_change c = change("dev-web");
	c.nodepool = "general";
	c.nodes_after = 2;
	c.zones_after = 1;
	struct policy_result r;
	policy_evaluate(ctx, &c, MON_10, &r);
	assert_false(r.allowed);
	expect_verdict(&r, "min-nodes", "min-nodes", POLICY_DENY,
		       "The change leaves 2 nodes; at least 3 are required.");
	expect_verdict(&r, "require-multi-az", "require-multi-az", POLICY_DENY,
		       "leaves 1 availability zone; at least 2");
	policy_result_release(&r);

	c.nodes_after = 3;
	c.zones_after = 3;
	policy_evaluate(ctx, &c, MON_10, &r);
	assert_true(r.allowed);
	expect_verdict(&r, "min-nodes", "min-nodes", POLICY_ALLOW, "leaves 3 nodes");
	expect_verdict(&r, "require-multi-az", "require-multi-az", POLICY_ALLOW, "3 availability");
	policy_result_release(&r);

	/* Unknown properties are not applicable, never a denial. */
	c.nodes_after = c.zones_after = -1;
	policy_evaluate(ctx, &c, MON_10, &r);
	assert_true(r.allowed);
	expect_verdict(&r, "min-nodes", "min-nodes", POLICY_NOT_APPLICABLE, "not known");
	expect_verdict(&r, "require-multi-az", "require-multi-az", POLICY_NOT_APPLICABLE,
		       "not known");
	policy_result_release(&r);

	/* Another NodePool: min-nodes does not match. */
	c.nodepool = "gpu";
	c.nodes_after = 1;
	policy_evaluate(ctx, &c, MON_10, &r);
	assert_true(r.allowed);
	assert_null(find(&r, "min-nodes", "min-nodes"));
	policy_result_release(&r);
	policy_ctx_free(ctx);
}

static void test_cost_cap(void **state)
{
	(void)state;
	struct policy_ctx *ctx = ctx_fixture("policy/example.yaml");
	struct policy_change c = change("dev-web");
	c.cost_before_hr = 90;
	c.cost_after_hr = 120;
	c.savings_pct = -33;
	struct policy_result r;
	policy_evaluate(ctx, &c, MON_10, &r);
	assert_false(r.allowed);
	expect_verdict(&r, "cost-cap", "max-cost-per-hour", POLICY_DENY,
		       "The change brings the cost to $120.00/h, above the $100/h cap.");
	expect_verdict(&r, "worth-it", "optimize-when-savings-pct", POLICY_NOT_APPLICABLE,
		       "not a saving");
	policy_result_release(&r);

	/* Above the cap but lower than before: a saving is never blocked by the cap. */
	c.cost_before_hr = 200;
	c.cost_after_hr = 150;
	c.savings_pct = 25;
	policy_evaluate(ctx, &c, MON_10, &r);
	assert_true(r.allowed);
	expect_verdict(&r, "cost-cap", "max-cost-per-hour", POLICY_ALLOW, "does not raise it");
	policy_result_release(&r);

	c.cost_before_hr = 100;
	c.cost_after_hr = 80;
	c.savings_pct = 20;
	policy_evaluate(ctx, &c, MON_10, &r);
	assert_true(r.allowed);
	expect_verdict(&r, "cost-cap", "max-cost-per-hour", POLICY_ALLOW, "within the $100/h cap");
	expect_verdict(&r, "worth-it", "optimize-when-savings-pct", POLICY_ALLOW, "saves 20.0%");
	policy_result_release(&r);
	policy_ctx_free(ctx);
}

static void test_savings_threshold(void **state)
{
	(void)state;
	struct policy_ctx *ctx =
		ctx_from("policies:\n"
			 "  - {name: worth-it, rule: {optimize-when-savings-pct: 20%}}\n");
	struct policy_change c = change("dev-web");
	c.cost_before_hr = 10;
	c.cost_after_hr = 9;
	c.savings_pct = 10;
	struct policy_result r;
	policy_evaluate(ctx, &c, MON_10, &r);
	assert_false(r.allowed);
	expect_verdict(&r, "worth-it", "optimize-when-savings-pct", POLICY_DENY,
		       "The change saves 10.0%, below the 20% an optimization must save.");
	policy_result_release(&r);
	policy_ctx_free(ctx);
}

static void test_prefer_spot_is_advice(void **state)
{
	(void)state;
	struct policy_ctx *ctx = ctx_fixture("policy/example.yaml");
	struct policy_change c = change("dev-web");
	struct policy_result r;
	policy_evaluate(ctx, &c, MON_10, &r);
	assert_true(r.allowed);
	expect_verdict(&r, "prefer-spot-for-dev", "prefer-spot", POLICY_ADVICE,
		       "but the change does not use it");
	policy_result_release(&r);
	c.uses_spot = true;
	policy_evaluate(ctx, &c, MON_10, &r);
	expect_verdict(&r, "prefer-spot-for-dev", "prefer-spot", POLICY_ADVICE,
		       "and the change uses it");
	policy_result_release(&r);
	policy_ctx_free(ctx);
}

/* ---- matching and precedence ---- */

static void test_matching(void **state)
{
	(void)state;
	struct policy_ctx *ctx = ctx_from(
		"policies:\n"
		"  - name: freeze\n"
		"    match:\n"
		"      clusters: [eks-*]\n"
		"      namespaces: [kube-system, 'team-?', 'ns-[ab]']\n"
		"      labels: {app.kubernetes.io/part-of: 'shop*', tier: ''}\n"
		"      kinds: [replicas, requests]\n"
		"    rule: {deny: true}\n"
		"approval: {dry-run: false}\n");
	const char *labels[] = {"tier", "", "app.kubernetes.io/part-of", "shop-eu"};
	const char *ns[] = {"kube-system", "team-a", "ns-b"};
	for (size_t i = 0; i < KS_ARRAY_LEN(ns); i++) {
		struct policy_change c = change(ns[i]);
		c.labels = labels;
		c.nlabels = 2;
		c.kind = POLICY_KIND_REPLICAS;
		struct policy_result r;
		policy_evaluate(ctx, &c, MON_10, &r);
		assert_false(r.allowed);
		expect_verdict(&r, "freeze", "deny", POLICY_DENY, "forbids every change");
		policy_result_release(&r);
	}
	struct policy_change miss[6];
	for (size_t i = 0; i < KS_ARRAY_LEN(miss); i++) {
		miss[i] = change("team-a");
		miss[i].labels = labels;
		miss[i].nlabels = 2;
		miss[i].kind = POLICY_KIND_REQUESTS;
	}
	miss[0].namespace = "team-ab";	      /* ? is one character */
	miss[1].cluster = "gke-prod";	      /* cluster glob */
	miss[2].kind = POLICY_KIND_LIMITS;    /* kind not listed */
	miss[3].nlabels = 1;		      /* label missing */
	miss[4].namespace = NULL;	      /* no namespace: no match */
	miss[5].cluster = NULL;
	for (size_t i = 0; i < KS_ARRAY_LEN(miss); i++) {
		struct policy_result r;
		policy_evaluate(ctx, &miss[i], MON_10, &r);
		if (!r.allowed)
			fail_msg("case %zu should not match", i);
		assert_int_equal(r.nverdicts, 0);
		policy_result_release(&r);
	}
	policy_ctx_free(ctx);
}

static void test_deny_wins_in_any_order(void **state)
{
	(void)state;
	const char *orders[] = {
		"policies:\n"
		"  - {name: a, rule: {prefer-spot: true}}\n"
		"  - {name: b, rule: {never-use-spot: true}}\n",
		"policies:\n"
		"  - {name: b, rule: {never-use-spot: true}}\n"
		"  - {name: a, rule: {prefer-spot: true}}\n",
	};
	for (size_t i = 0; i < KS_ARRAY_LEN(orders); i++) {
		struct policy_ctx *ctx = ctx_from(orders[i]);
		struct policy_change c = change("dev");
		c.uses_spot = true;
		struct policy_result r;
		policy_evaluate(ctx, &c, MON_10, &r);
		assert_false(r.allowed);
		assert_int_equal(r.nverdicts, 2);
		expect_verdict(&r, "a", "prefer-spot", POLICY_ADVICE, "uses it");
		expect_verdict(&r, "b", "never-use-spot", POLICY_DENY, "forbids");
		/* Denied: no approval is asked, even under dry-run. */
		assert_int_equal(r.approval, POLICY_APPROVAL_DENIED);
		policy_result_release(&r);
		policy_ctx_free(ctx);
	}
}

/* ---- approval ---- */

static void test_default_is_dry_run(void **state)
{
	(void)state;
	struct policy_ctx *ctx = policy_ctx_new();
	assert_true(policy_set_dry_run(policy_ctx_policies(ctx)));
	struct policy_change c = change("dev");
	struct policy_result r;
	policy_evaluate(ctx, &c, MON_10, &r);
	assert_true(r.allowed);
	assert_int_equal(r.approval, POLICY_APPROVAL_DRY_RUN);
	assert_int_equal(r.approval_live, POLICY_APPROVAL_HUMAN);
	assert_contains(r.approval_why, "automatic approval is not configured");
	policy_result_release(&r);
	policy_ctx_free(ctx);

	/* A file without approval.dry-run stays in dry-run too. */
	ctx = ctx_from("policies: []\napproval: {auto: {max-risk: medium}}\n");
	policy_evaluate(ctx, &c, MON_10, &r);
	assert_int_equal(r.approval, POLICY_APPROVAL_DRY_RUN);
	assert_int_equal(r.approval_live, POLICY_APPROVAL_AUTO);
	policy_result_release(&r);
	policy_ctx_free(ctx);
}

static void test_auto_and_human(void **state)
{
	(void)state;
	struct policy_ctx *ctx =
		ctx_from("approval:\n  dry-run: false\n  auto: {max-risk: medium}\n");
	struct policy_change c = change("dev");
	struct policy_result r;
	policy_evaluate(ctx, &c, MON_10, &r);
	assert_int_equal(r.approval, POLICY_APPROVAL_AUTO);
	assert_false(r.needs_human);
	policy_result_release(&r);

	c.risk = POLICY_RISK_HIGH;
	policy_evaluate(ctx, &c, MON_10, &r);
	assert_int_equal(r.approval, POLICY_APPROVAL_HUMAN);
	assert_contains(r.approval_why, "its risk (high) is above what is approved "
					"automatically (medium)");
	policy_result_release(&r);

	/* Production always needs a person, by namespace or by label, at any risk. */
	c.risk = POLICY_RISK_LOW;
	const char *prod[] = {"production", "prod-eu", "prod"};
	for (size_t i = 0; i < KS_ARRAY_LEN(prod); i++) {
		c.namespace = prod[i];
		policy_evaluate(ctx, &c, MON_10, &r);
		assert_int_equal(r.approval, POLICY_APPROVAL_HUMAN);
		assert_contains(r.approval_why, "(production)");
		policy_result_release(&r);
	}
	const char *labels[] = {"env", "production"};
	c.namespace = "shop";
	c.labels = labels;
	c.nlabels = 1;
	policy_evaluate(ctx, &c, MON_10, &r);
	assert_int_equal(r.approval, POLICY_APPROVAL_HUMAN);
	policy_result_release(&r);

	/* Secrets need a person by default. */
	c.nlabels = 0;
	c.kind = POLICY_KIND_SECRET;
	policy_evaluate(ctx, &c, MON_10, &r);
	assert_int_equal(r.approval, POLICY_APPROVAL_HUMAN);
	assert_contains(r.approval_why, "secret changes");
	policy_result_release(&r);
	policy_ctx_free(ctx);

	/* require-human forces a person where auto would do. */
	ctx = ctx_from("policies:\n  - {name: careful, match: {kinds: [rollback]}, "
		       "rule: {require-human: true}}\n"
		       "approval: {dry-run: false, auto: {max-risk: high}}\n");
	c = change("dev");
	c.kind = POLICY_KIND_ROLLBACK;
	policy_evaluate(ctx, &c, MON_10, &r);
	assert_true(r.allowed);
	assert_int_equal(r.approval, POLICY_APPROVAL_HUMAN);
	assert_contains(r.approval_why, "policy 'careful' requires a person");
	policy_result_release(&r);
	policy_ctx_free(ctx);
}

/* The defaults of `auto` are replaced, not merged; max-risk none turns auto off. */
static void test_auto_overrides(void **state)
{
	(void)state;
	struct policy_ctx *ctx = ctx_from("approval:\n  dry-run: false\n"
					  "  auto: {except-namespaces: [], except-labels: {},"
					  " except-kinds: []}\n");
	const char *labels[] = {"env", "production"};
	struct policy_change c = change("production");
	c.labels = labels;
	c.nlabels = 1;
	c.kind = POLICY_KIND_SECRET;
	struct policy_result r;
	policy_evaluate(ctx, &c, MON_10, &r);
	assert_int_equal(r.approval, POLICY_APPROVAL_AUTO);
	policy_result_release(&r);
	c.risk = POLICY_RISK_MEDIUM; /* max-risk defaults to low */
	policy_evaluate(ctx, &c, MON_10, &r);
	assert_int_equal(r.approval, POLICY_APPROVAL_HUMAN);
	policy_result_release(&r);
	policy_ctx_free(ctx);

	ctx = ctx_from("approval: {dry-run: false, auto: {max-risk: none}}\n");
	c = change("dev");
	policy_evaluate(ctx, &c, MON_10, &r);
	assert_int_equal(r.approval, POLICY_APPROVAL_HUMAN);
	assert_contains(r.approval_why, "automatic approval is not configured");
	policy_result_release(&r);
	policy_ctx_free(ctx);
}

static void test_windows_utc(void **state)
{
	(void)state;
	struct policy_ctx *ctx = ctx_fixture("policy/example.yaml");
	struct policy_change c = change("dev-web");
	struct policy_result r;
	struct {
		const char *now, *opens; /* opens NULL: inside */
	} cases[] = {
		{"2026-11-23T09:00:00Z", NULL},
		{"2026-11-23T16:59:59Z", NULL},
		{"2026-11-23T08:59:59Z", "2026-11-23T09:00:00Z"},
		{"2026-11-23T17:00:00Z", "2026-11-24T09:00:00Z"},
		{"2026-11-27T18:00:00Z", "2026-11-30T09:00:00Z"}, /* Friday evening -> Monday */
		{"2026-11-28T12:00:00Z", "2026-11-30T09:00:00Z"}, /* Saturday */
	};
	for (size_t i = 0; i < KS_ARRAY_LEN(cases); i++) {
		policy_evaluate(ctx, &c, T(cases[i].now), &r);
		if (!cases[i].opens) {
			assert_int_equal(r.approval, POLICY_APPROVAL_AUTO);
			assert_int_equal(r.window_opens_at, 0);
		} else {
			if (r.approval != POLICY_APPROVAL_WINDOW)
				fail_msg("%s: %s", cases[i].now, r.approval_why);
			assert_int_equal(r.window_opens_at, T(cases[i].opens));
			assert_contains(r.approval_why, cases[i].opens);
		}
		policy_result_release(&r);
	}
	policy_ctx_free(ctx);
}

static void test_windows_offset_and_overnight(void **state)
{
	(void)state;
	/* 22:00-06:00 at +05:30 on Sunday and Saturday nights: Saturday 22:00 local is
	 * Saturday 16:30 UTC; it ends Sunday 06:00 local = Sunday 00:30 UTC. */
	struct policy_ctx *ctx = ctx_from(
		"approval:\n"
		"  dry-run: false\n"
		"  auto: {max-risk: high}\n"
		"  windows:\n"
		"    - {days: [sat-sun], from: '22:00', to: '06:00', tz: '+05:30'}\n"
		"    - {days: [wed], from: '00:00', to: '24:00', tz: 'UTC-08:00'}\n");
	struct policy_change c = change("dev");
	struct {
		const char *now, *opens;
	} cases[] = {
		{"2026-11-28T16:29:59Z", "2026-11-28T16:30:00Z"},
		{"2026-11-28T16:30:00Z", NULL},
		{"2026-11-29T00:29:59Z", NULL}, /* Sunday 05:59:59 local: Saturday's night */
		{"2026-11-29T00:30:00Z", "2026-11-29T16:30:00Z"}, /* then Sunday's */
		{"2026-11-30T00:29:00Z", NULL}, /* Monday 05:59 local: Sunday's night */
		{"2026-11-30T00:30:00Z", "2026-12-02T08:00:00Z"}, /* Wednesday 00:00 at -08:00 */
		{"2026-12-02T08:00:00Z", NULL},
		{"2026-12-03T07:59:59Z", NULL},
		{"2026-12-03T08:00:00Z", "2026-12-05T16:30:00Z"},
	};
	for (size_t i = 0; i < KS_ARRAY_LEN(cases); i++) {
		struct policy_result r;
		policy_evaluate(ctx, &c, T(cases[i].now), &r);
		if (!cases[i].opens) {
			if (r.approval != POLICY_APPROVAL_AUTO)
				fail_msg("%s: %s", cases[i].now, r.approval_why);
		} else {
			if (r.approval != POLICY_APPROVAL_WINDOW)
				fail_msg("%s: %s", cases[i].now, r.approval_why);
			if (r.window_opens_at != T(cases[i].opens))
				fail_msg("%s: %s", cases[i].now, r.approval_why);
		}
		policy_result_release(&r);
	}
	policy_ctx_free(ctx);
}

static void test_rate_limits_sliding(void **state)
{
	(void)state;
	struct policy_ctx *ctx = ctx_from("approval:\n"
					  "  dry-run: false\n"
					  "  auto: {max-risk: high}\n"
					  "  rate-limits: {per-hour: 4, per-namespace-per-hour: 2,"
					  " per-nodepool-per-hour: 3}\n");
	struct policy_change a = change("a"), b = change("b");
	struct policy_result r;
	int64_t t0 = MON_10;
	policy_note_applied(ctx, &a, t0);
	policy_note_applied(ctx, &a, t0 + 600);
	policy_evaluate(ctx, &a, t0 + 700, &r);
	assert_int_equal(r.approval, POLICY_APPROVAL_RATE);
	assert_int_equal(r.rate_frees_at, t0 + 3600);
	assert_contains(r.approval_why, "per-namespace-per-hour");
	policy_result_release(&r);
	/* Namespace b is not limited by a's count. */
	policy_evaluate(ctx, &b, t0 + 700, &r);
	assert_int_equal(r.approval, POLICY_APPROVAL_AUTO);
	policy_result_release(&r);
	/* The hour slides: at t0 + 3600 the first has left. */
	policy_evaluate(ctx, &a, t0 + 3599, &r);
	assert_int_equal(r.approval, POLICY_APPROVAL_RATE);
	policy_result_release(&r);
	policy_evaluate(ctx, &a, t0 + 3600, &r);
	assert_int_equal(r.approval, POLICY_APPROVAL_AUTO);
	policy_result_release(&r);

	/* The global limit: 4 an hour over all namespaces. */
	policy_note_applied(ctx, &b, t0 + 800);
	struct policy_change c = change("c");
	policy_note_applied(ctx, &c, t0 + 900);
	struct policy_change d = change("d");
	policy_evaluate(ctx, &d, t0 + 1000, &r);
	assert_int_equal(r.approval, POLICY_APPROVAL_RATE);
	assert_int_equal(r.rate_frees_at, t0 + 3600);
	assert_contains(r.approval_why, "The per-hour rate limit is reached");
	policy_result_release(&r);

	/* Per NodePool: three to "general" in the hour, across namespaces. */
	policy_ctx_free(ctx);
	ctx = ctx_from("approval:\n  dry-run: false\n  auto: {max-risk: high}\n"
		       "  rate-limits: {per-nodepool-per-hour: 3}\n");
	for (int i = 0; i < 3; i++) {
		struct policy_change n = change(i ? "x" : "y");
		n.nodepool = "general";
		policy_note_applied(ctx, &n, t0 + 60 * i);
	}
	struct policy_change g = change("z"), s = change("z");
	g.nodepool = "general";
	s.nodepool = "spot";
	policy_evaluate(ctx, &g, t0 + 300, &r);
	assert_int_equal(r.approval, POLICY_APPROVAL_RATE);
	assert_int_equal(r.rate_frees_at, t0 + 3600);
	policy_result_release(&r);
	policy_evaluate(ctx, &s, t0 + 300, &r);
	assert_int_equal(r.approval, POLICY_APPROVAL_AUTO);
	policy_result_release(&r);
	/* Another cluster's NodePool of the same name is another NodePool. */
	g.cluster = "gke-eu";
	policy_evaluate(ctx, &g, t0 + 300, &r);
	assert_int_equal(r.approval, POLICY_APPROVAL_AUTO);
	policy_result_release(&r);
	policy_ctx_free(ctx);

	/* A change with no namespace is not limited per namespace. */
	ctx = ctx_from("approval:\n  dry-run: false\n  auto: {max-risk: high}\n"
		       "  rate-limits: {per-namespace-per-hour: 1}\n");
	struct policy_change pool = change(NULL);
	pool.nodepool = "general";
	policy_note_applied(ctx, &pool, t0);
	policy_evaluate(ctx, &pool, t0 + 1, &r);
	assert_int_equal(r.approval, POLICY_APPROVAL_AUTO);
	policy_result_release(&r);
	policy_ctx_free(ctx);
}

static void test_rate_restore_and_prune(void **state)
{
	(void)state;
	struct policy_ctx *ctx = ctx_from("approval:\n  dry-run: false\n  auto: {max-risk: high}\n"
					  "  rate-limits: {per-hour: 2}\n");
	int64_t t0 = MON_10;
	struct policy_applied list[] = {
		{.at = t0 - 7200, .namespace = "old"}, /* left the hour: dropped */
		{.at = t0 - 1800, .namespace = "a"},
		{.at = t0 - 600, .cluster = "c", .namespace = "b", .nodepool = "p"},
	};
	assert_int_equal(policy_restore_applied(ctx, list, KS_ARRAY_LEN(list), NULL), 0);
	assert_int_equal(policy_applied_count(ctx), 2);
	struct policy_change c = change("z");
	struct policy_result r;
	policy_evaluate(ctx, &c, t0, &r);
	assert_int_equal(r.approval, POLICY_APPROVAL_RATE);
	assert_int_equal(r.rate_frees_at, t0 + 1800);
	policy_result_release(&r);
	/* Reloading the policies keeps the record. */
	struct ks_err err = {0};
	const char *again = "approval: {dry-run: false, auto: {max-risk: high}, "
			    "rate-limits: {per-hour: 2}}\n";
	assert_int_equal(policy_ctx_load_mem(ctx, "t.yaml", again, strlen(again), &err), 0);
	assert_int_equal(policy_applied_count(ctx), 2);
	/* Noting a later change prunes what left the hour. */
	policy_note_applied(ctx, &c, t0 + 2000);
	assert_int_equal(policy_applied_count(ctx), 2);
	policy_ctx_free(ctx);
}

static void test_dry_run_keeps_the_answer(void **state)
{
	(void)state;
	struct policy_ctx *ctx = ctx_from("approval:\n  dry-run: true\n  auto: {max-risk: low}\n"
					  "  windows: [{from: '09:00', to: '17:00'}]\n");
	struct policy_change c = change("dev");
	struct policy_result r;
	policy_evaluate(ctx, &c, T("2026-11-23T20:00:00Z"), &r);
	assert_int_equal(r.approval, POLICY_APPROVAL_DRY_RUN);
	assert_int_equal(r.approval_live, POLICY_APPROVAL_WINDOW);
	assert_int_equal(r.window_opens_at, T("2026-11-24T09:00:00Z"));
	policy_result_release(&r);
	policy_ctx_free(ctx);
}

/* The examples table of docs/POLICY.md, on the example file. */
static void test_documented_examples(void **state)
{
	(void)state;
	struct policy_ctx *ctx = ctx_fixture("policy/example.yaml");
	struct policy_result r;
	struct policy_change c = change("dev-web");
	c.uses_spot = true;
	c.cost_before_hr = 123;
	c.cost_after_hr = 80;
	c.savings_pct = 35;
	policy_evaluate(ctx, &c, MON_10, &r);
	assert_true(r.allowed);
	assert_int_equal(r.approval, POLICY_APPROVAL_AUTO);
	expect_verdict(&r, "prefer-spot-for-dev", "prefer-spot", POLICY_ADVICE, "uses it");
	policy_result_release(&r);

	struct policy_change p = change("prod-api");
	p.kind = POLICY_KIND_REQUESTS;
	policy_evaluate(ctx, &p, MON_10, &r);
	assert_true(r.allowed);
	assert_int_equal(r.approval, POLICY_APPROVAL_HUMAN);
	assert_string_equal(r.approval_why, "A person must approve: namespace prod-api is "
					    "excepted from automatic approval (production).");
	policy_result_release(&r);

	for (int i = 0; i < 3; i++)
		policy_note_applied(ctx, &c, MON_10 + 60 * i);
	policy_evaluate(ctx, &c, MON_10 + 600, &r);
	assert_int_equal(r.approval, POLICY_APPROVAL_RATE);
	assert_int_equal(r.rate_frees_at, MON_10 + 3600);
	assert_string_equal(r.approval_why, "The per-namespace-per-hour rate limit is reached; "
					    "it frees at 2026-11-23T11:00:00Z.");
	cJSON *j = policy_result_to_json(&r);
	char *text = tu_json(j);
	assert_string_equal(
		text,
		"{\"allowed\":true,\"approval\":\"rate-limited\",\"approvalLive\":\"rate-limited\","
		"\"needsHuman\":false,\"why\":\"The per-namespace-per-hour rate limit is reached; "
		"it frees at 2026-11-23T11:00:00Z.\",\"rateFreesAt\":\"2026-11-23T11:00:00Z\","
		"\"verdicts\":[{\"policy\":\"require-multi-az\",\"rule\":\"require-multi-az\","
		"\"outcome\":\"not-applicable\",\"why\":\"The number of zones after the change "
		"is not known.\"},{\"policy\":\"prefer-spot-for-dev\",\"rule\":\"prefer-spot\","
		"\"outcome\":\"advice\",\"why\":\"Spot capacity is preferred here, and the change "
		"uses it.\"},{\"policy\":\"cost-cap\",\"rule\":\"max-cost-per-hour\",\"outcome\":"
		"\"allow\",\"why\":\"The cost after the change, $80.00/h, is within the $100/h "
		"cap.\"},{\"policy\":\"worth-it\",\"rule\":\"optimize-when-savings-pct\","
		"\"outcome\":\"allow\",\"why\":\"The change saves 35.0%, at least the 20% "
		"required.\"}]}");
	free(text);
	cJSON_Delete(j);
	policy_result_release(&r);
	policy_ctx_free(ctx);
}

/* ---- bad files ---- */

/* SHOW=1 in the environment prints the messages instead of comparing them. */
static void expect_bad(const char *yaml, const char *msg)
{
	struct policy_set *s = (struct policy_set *)&s;
	struct ks_err err = {0};
	int rc = policy_parse_mem("p.yaml", yaml, strlen(yaml), &s, &err);
	if (rc == 0)
		fail_msg("accepted: %s", yaml);
	assert_null(s);
	if (getenv("SHOW"))
		print_message("%s\n", err.msg);
	else if (strcmp(err.msg, msg))
		fail_msg("got \"%s\", expected \"%s\"", err.msg, msg);
}

static void test_bad_files(void **state)
{
	(void)state;
	expect_bad("policies:\n  - {name: a, rule: {min-node: 3}}\n",
		   "p.yaml:2:22: policies[0]: unknown key 'min-node'");
	expect_bad("policies:\n  - {name: a, rule: {min-nodes: three}}\n",
		   "p.yaml:2:33: policies[0]: 'three' is not a whole number");
	expect_bad("policies:\n  - {name: a, rule: {min-nodes: -1}}\n",
		   "p.yaml:2:33: policies[0]: -1 is not between 0 and 100000");
	expect_bad("policies:\n  - {name: a, rule: {max-cost-per-hour: 1e3}}\n",
		   "p.yaml:2:41: policies[0]: '1e3' is not a number (digits, one optional '.')");
	expect_bad("policies:\n  - {name: a, rule: {optimize-when-savings-pct: 20%%}}\n",
		   "p.yaml:2:49: policies[0]: '20%%' is not a number (digits, one optional '.', "
		   "an optional final '%')");
	expect_bad("policies:\n  - {name: a, rule: {max-cost-per-hour: 10%}}\n",
		   "p.yaml:2:41: policies[0]: '10%' is not a number (digits, one optional '.')");
	expect_bad("policies:\n  - {name: a, rule: {optimize-when-savings-pct: 120}}\n",
		   "p.yaml:2:49: policies[0]: 120 is not between 0 and 100");
	expect_bad("policies:\n  - {name: a, rule: {never-use-spot: yes}}\n",
		   "p.yaml:2:38: policies[0]: 'yes' is not true or false");
	expect_bad("policies:\n  - {name: a, rule: {}}\n",
		   "p.yaml:2:21: policies[0]: names no rule (deny, require-human, "
		   "never-use-spot, prefer-spot, require-multi-az, min-nodes, max-cost-per-hour, "
		   "optimize-when-savings-pct)");
	expect_bad("policies:\n  - {name: a, rule: {deny: true}}\n  - {name: a, rule: {deny: "
		   "true}}\n",
		   "p.yaml:3:12: policies[1]: the name 'a' is already used by another policy");
	expect_bad("policies:\n  - {rule: {deny: true}}\n",
		   "p.yaml:2:5: policies[0]: 'name' is required");
	expect_bad("policies:\n  - {name: a}\n", "p.yaml:2:5: policies[0]: 'rule' is required");
	expect_bad("policies:\n  - {name: a, match: {kinds: [scale]}, rule: {deny: true}}\n",
		   "p.yaml:2:31: policies[0]: 'scale' is not a kind of change (capacity-type, "
		   "instance-types, replicas, requests, limits, rollback, secret, nodepool)");
	expect_bad("policies:\n  - {name: a, match: {namespaces: []}, rule: {deny: true}}\n",
		   "p.yaml:2:35: policies[0]: must hold 1 to 64 items");
	expect_bad("policies:\n  - {name: a, rule: {never-use-spot: true, prefer-spot: true}}\n",
		   "p.yaml:2:21: policies[0]: never-use-spot and prefer-spot contradict each "
		   "other");
	expect_bad("approval: {windows: [{days: [mon-fry], from: '09:00', to: '10:00'}]}\n",
		   "p.yaml:1:30: approval.windows[0]: 'mon-fry' is not a day (mon..sun) or a "
		   "range (mon-fri)");
	expect_bad("approval: {windows: [{from: '9:00', to: '10:00'}]}\n",
		   "p.yaml:1:30: approval.windows[0]: '9:00' is not a time of day \"HH:MM\" "
		   "(00:00-23:59)");
	expect_bad("approval: {windows: [{from: '09:00', to: '09:00'}]}\n",
		   "p.yaml:1:43: approval.windows[0]: the window is empty ('from' equals 'to')");
	expect_bad("approval: {windows: [{from: '09:00', to: '10:00', tz: Europe/Paris}]}\n",
		   "p.yaml:1:55: approval.windows[0]: 'Europe/Paris' is not a time zone kswarm "
		   "reads (UTC, or a fixed offset such as +05:30 or UTC-08:00, up to 14:00)");
	expect_bad("approval: {auto: {max-risk: extreme}}\n",
		   "p.yaml:1:29: approval.auto: 'extreme' is not a risk (none, low, medium, high)");
	expect_bad("approval: {rate-limits: {per-hour: 0}}\n",
		   "p.yaml:1:36: approval.rate-limits: 0 is not between 1 and 10000");
	expect_bad("approval: {dry-run: maybe}\n",
		   "p.yaml:1:21: approval.dry-run: 'maybe' is not true or false");
	expect_bad("approvals: {}\n", "p.yaml:1:1: unknown key 'approvals'");
	expect_bad("- a\n", "p.yaml:1:1: must be a mapping");
	expect_bad("", "p.yaml: empty document");
}

static void test_bad_fixtures_apply_nothing(void **state)
{
	(void)state;
	struct policy_ctx *ctx = ctx_fixture("policy/example.yaml");
	struct {
		const char *file, *msg;
	} cases[] = {
		{"policy/bad-rule-key.yaml", "bad-rule-key.yaml:4:12: policies[0]: unknown key "
					     "'min-node'"},
		{"policy/bad-window.yaml", "bad-window.yaml:6:45: approval.windows[0]: '25:00' is "
					   "not a time of day \"HH:MM\" (00:00-23:59, or 24:00)"},
		{"policy/bad-late.yaml", "bad-late.yaml:7:27: approval.rate-limits: 'ten' is not a "
					 "whole number"},
		{"policy/bad-syntax.yaml", "bad-syntax.yaml:"},
	};
	for (size_t i = 0; i < KS_ARRAY_LEN(cases); i++) {
		struct ks_err err = {0};
		assert_int_not_equal(policy_ctx_load(ctx, tu_fixture(cases[i].file), &err), 0);
		assert_contains(err.msg, cases[i].msg);
		/* The context still holds the example: 6 policies, dry-run off, its rules. */
		assert_int_equal(policy_set_count(policy_ctx_policies(ctx)), 6);
		assert_false(policy_set_dry_run(policy_ctx_policies(ctx)));
		struct policy_change c = change("dev-web");
		struct policy_result r;
		policy_evaluate(ctx, &c, MON_10, &r);
		assert_non_null(find(&r, "cost-cap", "max-cost-per-hour"));
		assert_null(find(&r, "freeze", "deny"));
		assert_int_equal(r.approval, POLICY_APPROVAL_AUTO);
		policy_result_release(&r);
	}
	policy_ctx_free(ctx);
}

static void test_size_ceilings(void **state)
{
	(void)state;
	struct ks_buf b;
	ks_buf_init(&b, KS_BUF_UNLIMITED);
	ks_buf_appendf(&b, "policies:\n");
	for (int i = 0; i <= POLICY_MAX_POLICIES; i++)
		ks_buf_appendf(&b, "  - {name: p%d, rule: {deny: true}}\n", i);
	struct policy_set *s;
	struct ks_err err = {0};
	assert_int_equal(policy_parse_mem("big.yaml", b.data, b.len, &s, &err), KS_EINVAL);
	assert_string_equal(err.msg, "big.yaml:2:3: policies: more than 256 policies");
	ks_buf_release(&b);

	char *huge = ks_calloc(POLICY_MAX_BYTES + 2, 1);
	memset(huge, '#', POLICY_MAX_BYTES + 1);
	assert_int_equal(policy_parse_mem("huge.yaml", huge, POLICY_MAX_BYTES + 1, &s, &err),
			 KS_ETOOBIG);
	assert_null(s);
	free(huge);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_time),
		cmocka_unit_test(test_never_use_spot),
		cmocka_unit_test(test_min_nodes_and_multi_az),
		cmocka_unit_test(test_cost_cap),
		cmocka_unit_test(test_savings_threshold),
		cmocka_unit_test(test_prefer_spot_is_advice),
		cmocka_unit_test(test_matching),
		cmocka_unit_test(test_deny_wins_in_any_order),
		cmocka_unit_test(test_default_is_dry_run),
		cmocka_unit_test(test_auto_and_human),
		cmocka_unit_test(test_auto_overrides),
		cmocka_unit_test(test_windows_utc),
		cmocka_unit_test(test_windows_offset_and_overnight),
		cmocka_unit_test(test_rate_limits_sliding),
		cmocka_unit_test(test_rate_restore_and_prune),
		cmocka_unit_test(test_dry_run_keeps_the_answer),
		cmocka_unit_test(test_documented_examples),
		cmocka_unit_test(test_bad_files),
		cmocka_unit_test(test_bad_fixtures_apply_nothing),
		cmocka_unit_test(test_size_ceilings),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
