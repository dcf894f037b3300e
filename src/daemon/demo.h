/* demo.h — the pure parts of `kswarm demo` (src/cli/cmd_demo.c): the demo's scenarios and
 * the story each tells, and the summary computed from the daemon's transcript.
 *
 * The summary (what the demo prints at the end and --summary-json writes):
 *   found             distinct subjects (kind, namespace, name) some agent diagnosed
 *   fixed             plans whose outcome is "succeeded"
 *   time_to_fix_s     mean over the fixed plans of (outcome time - first diagnosis of the
 *                     plan's subject; the plan's own time when there was no diagnosis)
 *   monthly_savings_usd  the predicted savings_per_month of the succeeded plans (USD), each
 *                     subject once with its largest (a second plan on a NodePool may be
 *                     priced before the first one's nodes were replaced)
 *   measured_monthly_savings_usd  the sum of the measured savings (the learning agent's
 *                     "Plan pN measured" observations: cost before the plan - cost once
 *                     settled); measured_plans how many fixes have one
 *   refused           [{"subject","by","rule","reason"}]: every veto (policy, reliability,
 *                     performance), once per subject and rule
 * Ownership: demo_summary_compute borrows the messages; the summary owns its JSON tree. */
#ifndef KS_DAEMON_DEMO_H
#define KS_DAEMON_DEMO_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

struct ks_buf;

struct demo_scenario {
	const char *name;  /* the simulator's scenario (scenarios/NAME.yaml) */
	const char *story; /* one line for the timeline */
};

/* Every scenario the demo knows, in the order of the story; n set to their number. */
const struct demo_scenario *demo_scenarios(size_t *n);
/* The default set (every scenario whose fix the swarm can make by itself). */
extern const char *const demo_default_scenarios[];
extern const size_t demo_default_scenarios_n;
/* The story line of a scenario, or NULL when the demo does not know it. */
const char *demo_story(const char *scenario);

struct demo_summary {
	int found, fixed;
	double time_to_fix_s;       /* 0 when nothing was fixed */
	double monthly_savings_usd;
	double measured_monthly_savings_usd;
	int measured_plans;
	cJSON *refused;             /* array, owned */
	/* [{"plan_id","subject","time_to_fix_s","savings_per_month",
	 *   "measured_savings_per_month" (only when measured)}], owned */
	cJSON *fixes;
};

/* The demo's scope: the namespaces and NodePools its scenarios create. A subject is in it
 * when its namespace is one of them, or, cluster-scoped, its name is (n == 0: everything).
 * On a cluster shared with others the demo approves and counts only what is in scope. */
bool demo_in_scope(const cJSON *subject, const char *const *scope, size_t n);

/* messages: an array of transcript messages (docs/MESSAGES.md), in order; only those in
 * scope count. */
void demo_summary_compute(const cJSON *messages, const char *const *scope, size_t nscope,
			  struct demo_summary *s);
void demo_summary_release(struct demo_summary *s);
/* {"found","fixed","time_to_fix_s","monthly_savings_usd","measured_monthly_savings_usd",
 *  "measured_plans","refused":[…],"fixes":[…]} (caller deletes). */
cJSON *demo_summary_json(const struct demo_summary *s);
/* The summary for people, several lines. */
void demo_summary_format(const struct demo_summary *s, struct ks_buf *out);

#endif
