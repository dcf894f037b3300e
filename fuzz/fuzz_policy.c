/* fuzz_policy.c — libFuzzer target for policy files (policy_parse_mem) and the engine.
 * Beyond "no crash, no UB, no leak" it checks, aborting on a violation: errors are
 * KS_EINVAL, KS_ETOOBIG or KS_EUNSUPPORTED with a "NAME..." message and no result; an
 * accepted file, evaluated on a few changes at a few times, keeps the engine's promises:
 * allowed exactly when no verdict denies, DENIED exactly when not allowed, DRY_RUN only
 * under dry-run, a window that opens or a rate limit that frees later than now. */
#include "base/common.h"
#include "swarm/policy.h"

#include <string.h>

static void check(const struct policy_ctx *ctx, const struct policy_change *c, int64_t now)
{
	struct policy_result r;
	policy_evaluate(ctx, c, now, &r);
	bool denied = false;
	for (size_t i = 0; i < r.nverdicts; i++)
		denied |= r.verdicts[i].outcome == POLICY_DENY;
	bool dry = policy_set_dry_run(policy_ctx_policies(ctx));
	if (denied == r.allowed || (r.approval_live == POLICY_APPROVAL_DENIED) != denied ||
	    (r.approval == POLICY_APPROVAL_DRY_RUN) != (dry && !denied) ||
	    (!dry && r.approval != r.approval_live) ||
	    (r.approval_live == POLICY_APPROVAL_WINDOW && r.window_opens_at <= now) ||
	    (r.approval_live == POLICY_APPROVAL_RATE && r.rate_frees_at <= now) ||
	    (r.approval_live == POLICY_APPROVAL_AUTO && r.needs_human) || !r.approval_why[0])
		abort();
	policy_result_release(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct policy_set *s = (struct policy_set *)&s;
	struct ks_err err = {0};
	int rc = policy_parse_mem("p.yaml", (const char *)data, size, &s, &err);
	if (rc) {
		if ((rc != KS_EINVAL && rc != KS_ETOOBIG && rc != KS_EUNSUPPORTED) ||
		    err.code != rc || s != NULL || strncmp(err.msg, "p.yaml", 6) != 0)
			abort();
		return 0;
	}
	struct policy_ctx *ctx = policy_ctx_new();
	policy_ctx_set(ctx, s);
	const char *labels[] = {"env", "production", "app.kubernetes.io/part-of", "shop"};
	struct policy_change c = {
		.cluster = "eks-prod", .namespace = "team-a", .labels = labels, .nlabels = 2,
		.nodepool = "general", .kind = POLICY_KIND_REPLICAS, .risk = POLICY_RISK_LOW,
		.uses_spot = true, .nodes_after = 2, .zones_after = 1, .cost_before_hr = 90,
		.cost_after_hr = 120, .savings_pct = 5,
	};
	const int64_t base = 1795428000; /* a Monday, 10:00 UTC */
	for (int k = 0; k < 4; k++) {
		check(ctx, &c, base + k * 50000);
		policy_note_applied(ctx, &c, base + k * 50000);
		check(ctx, &c, base + k * 50000 + 1);
		c.kind = (enum policy_change_kind)((c.kind + 3) % POLICY_KIND_COUNT);
		c.risk = (enum policy_risk)((c.risk + 1) % 3);
		c.uses_spot = !c.uses_spot;
		c.namespace = k & 1 ? "prod-api" : NULL;
		c.nodes_after = -c.nodes_after;
	}
	policy_ctx_free(ctx);
	return 0;
}
