/* fuzz_reconcile_plan.c — a plan from outside (the body of a "plan" message, an API call):
 * parsed with the plan ceiling, shape-checked, and when it passes, every step's patch
 * document built; the diff and the rollback inverse of two of its objects computed. */
#include "base/common.h"
#include "base/json.h"
#include "reconcile/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cJSON *plan = ks_json_parse((const char *)data, size, RC_MAX_PLAN, NULL);
	if (!plan)
		return 0;
	if (reconcile_plan_check(plan, NULL) == 0) {
		const cJSON *s;
		cJSON_ArrayForEach(s, ks_json_child(plan, "steps")) {
			struct rc_step st;
			if (rc_step_parse(s, &st, NULL))
				abort(); /* the plan check accepted it */
			if (st.patch || st.secret_key == NULL) {
				enum kube_patch_type t;
				free(rc_step_patch_doc(&st, "2026-01-01T00:00:00Z", &t));
			}
		}
	}
	char *diff = rc_diff_text(plan, ks_json_child(plan, "steps"), true);
	free(diff);
	/* The rollback inverse between the plan and its first step: applied to the step, it
	 * must give the plan back, and the step must count as untouched. */
	const cJSON *other = cJSON_GetArrayItem(ks_json_child(plan, "steps"), 0);
	if (cJSON_IsObject(other)) {
		cJSON *inv = rc_inverse_merge(plan, other), *exp = rc_expected(inv, other);
		if (!rc_still_ours(inv, exp, other))
			abort();
		cJSON_Delete(inv);
		cJSON_Delete(exp);
	}
	cJSON_Delete(plan);
	return 0;
}
