/* scenario.h — the simulator's scenarios (scenarios/NAME.yaml, embedded in the binary).
 *
 * A scenario sets a stage, breaks something on a timeline, and states its ground truth:
 *
 *   name: payment-db-secret            # [a-z0-9-], unique
 *   summary: one line for `kswarm sim --list`
 *   description: what happens, in prose
 *   nodes:     [{count, instance_type, nodepool, capacity_type, zone}]   registered at start
 *   objects:   [Kubernetes objects]    server-side applied at start (Namespaces first)
 *   vault:     [{mount, path, data: {k: v}}]   written to the simulated Vault at start
 *   registry:  {repositories: {"docker.io/library/nginx": ["1.25.3"]}}
 *              a repository listed here serves only the listed tags; others serve any tag
 *   usage:     [{namespace, workload: Deployment/web, container, cpu_m, mem_mib, daily_amp,
 *                peak_hour, noise, growth_per_day, spike_prob_per_hour, spike_mult,
 *                spike_minutes}]   the usage curve of matching containers (usage.h)
 *   behaviors: [{namespace, workload, container, image: GLOB,
 *                when: always | {secret_differs_from_vault: {secret, key, mount, path, field}},
 *                exit: {code, after: DURATION}, not_ready: {message}, log: [lines]}]
 *              evaluated at each container start on the real objects; a container that
 *              exits non-zero and has a readiness probe is never ready (its app never
 *              became healthy), nor is one with not_ready
 *   timeline:  [{at: DURATION, every: DURATION, apply: [objects] | delete: [refs] |
 *                scale: {namespace, kind, name, replicas: N | "+N"} |
 *                drain: {nodepool} | interrupt: {node: NAME} or {}}]   times are simulated,
 *              from the start of the scenario; interrupt is a spot interruption notice
 *              (Karpenter's path), for a named node or a random spot node
 *   ground_truth:
 *     root_cause: a sentence
 *     diagnosis: {cause, kind, namespace, name, needs_metrics}   what `kswarm analyze` must
 *                report first among the findings about the scenario's namespace (its cause
 *                code and root-cause object); {none: true} for a healthy stage
 *     optimize: {nodepool, current_monthly_usd, recommended_monthly_usd,
 *                monthly_savings_usd}   optional: what `kswarm optimize` must find for that
 *                NodePool (prices of the built-in us-east-1 snapshot, no usage history)
 *     broken:  [checks]   all hold once the fault has shown
 *     fix: {description, steps: [{kubectl: [args]}]}   args may hold
 *                          {{vault:MOUNT/PATH#FIELD}}, replaced by the vault's value
 *     healthy: [checks]   all hold once the fix has healed the cluster
 *
 * A check: {what, apiVersion, kind, namespace, name | selector, path, equals | not_equals |
 * equals_path | exists, quantifier: all (default) | any}. path is dotted with [*] (any
 * element) and [N]; a check on no object fails. Label keys holding dots can't be named in a
 * path.
 *
 * Ownership: a struct sim_scenario owns its parsed document; everything it points into
 * lives as long as it. */
#ifndef KS_SIM_SCENARIO_H
#define KS_SIM_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "sim/usage.h"

struct ks_err;
struct ks_buf;
struct kube_client;

#define SIM_SCENARIO_MAX_BYTES (4 << 20)

struct sim_usage_rule {
	const char *ns, *workload, *container; /* container NULL: every container */
	struct sim_usage_curve curve;
};

enum sim_when { SIM_WHEN_ALWAYS, SIM_WHEN_SECRET_DIFFERS_FROM_VAULT };

struct sim_behavior {
	const char *ns, *workload, *container, *image_glob; /* NULL: any */
	enum sim_when when;
	const char *secret, *key, *mount, *path, *field;    /* secret_differs_from_vault */
	int exit_code;       /* -1: keeps running */
	double exit_after_s;
	bool not_ready;
	const char *probe_message;
	const char **log;
	size_t n_log;
};

enum sim_action_kind { SIM_ACT_APPLY, SIM_ACT_DELETE, SIM_ACT_SCALE, SIM_ACT_DRAIN,
		       SIM_ACT_INTERRUPT };

struct sim_action {
	enum sim_action_kind kind;
	double at_s, every_s; /* every 0: once */
	const cJSON *objects; /* apply, delete: an array */
	const char *ns, *target_kind, *name, *nodepool; /* interrupt: name NULL = any spot node */
	int replicas;
	bool relative; /* "+N" */
};

struct sim_scenario_nodes {
	int count;
	const char *instance_type, *nodepool, *capacity_type, *zone;
};

struct sim_scenario {
	char *source; /* file path or "scenarios/NAME.yaml" (embedded) */
	cJSON *doc;
	const char *name, *summary, *description;
	const cJSON *objects, *vault, *truth;
	const cJSON *registry; /* repositories map, or NULL */
	struct sim_usage_rule *usage;
	size_t n_usage;
	struct sim_behavior *behaviors;
	size_t n_behaviors;
	struct sim_action *actions;
	size_t n_actions;
	struct sim_scenario_nodes *nodes;
	size_t n_nodes;
};

/* Parse and validate one scenario; errors name the file and the field
 * ("scenarios/x.yaml: behaviors[0].exit.code: ..."), or line:column for YAML syntax. */
int sim_scenario_parse(const char *source, const char *data, size_t len,
		       struct sim_scenario **out, struct ks_err *err);
/* NAME (embedded scenarios/NAME.yaml) or a path to a .yaml file. */
int sim_scenario_load(const char *name_or_path, struct sim_scenario **out, struct ks_err *err);
void sim_scenario_free(struct sim_scenario *sc);
/* Names of the embedded scenarios, sorted; NULL-terminated array of borrowed strings
 * (free the array only). */
const char **sim_scenario_names(size_t *n);

/* Evaluate the ground truth's "broken" or "healthy" checks against the cluster. Each check
 * is reported on one line ("ok - what" / "not yet - what: found ...") into report.
 * *holds is whether all hold. */
int sim_scenario_check(struct kube_client *c, const struct sim_scenario *sc, const char *which,
		       struct ks_buf *report, bool *holds, struct ks_err *err);

/* One check (an item of ground_truth.broken or .healthy) on one object; found gets what the
 * path held (for the report). Pure: for tests and fuzzing. */
bool sim_scenario_check_object(const cJSON *chk, const cJSON *obj, char *found, size_t flen);
/* Whether glob (with * and ?) matches s. */
bool sim_glob_match(const char *glob, const char *s);

#endif
