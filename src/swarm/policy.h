/* policy.h — the policy engine and the approval rules of kswarm (issue 6, "Policy and
 * approval"). Semantics, schema and examples: docs/POLICY.md.
 *
 * A policy file (YAML) holds `policies` (rules matched by cluster, namespace, labels,
 * NodePool and kind of change) and `approval` (dry-run, automatic approval, change windows,
 * rate limits). policy_evaluate takes a proposed change described as a struct policy_change
 * and answers: allowed or denied (deny wins), one verdict sentence per matching rule, and
 * the approval requirement (dry-run, blocked by window, rate-limited, human, auto).
 *
 * Time is always passed in (Unix seconds), so everything is testable and replayable.
 *
 * Ownership: policy_parse_mem/policy_load return a struct policy_set the caller frees with
 * policy_set_free. A struct policy_ctx owns its current policy set and the record of applied
 * changes (for rate limits); policy_ctx_free frees both. A struct policy_result owns its
 * verdicts (policy_result_release). A struct policy_change is only read (borrowed). */
#ifndef KS_SWARM_POLICY_H
#define KS_SWARM_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ks_err;

#define POLICY_MAX_BYTES (1024 * 1024) /* a policy file */
#define POLICY_MAX_POLICIES 256
#define POLICY_MAX_ITEMS 64 /* patterns in a list, labels in a map, windows */
#define POLICY_NAME_MAX 64  /* 63 characters and the NUL */
#define POLICY_MAX_APPLIED 100000 /* applied changes remembered for rate limits */
#define POLICY_RATE_WINDOW_S 3600 /* rate limits are per sliding hour */

enum policy_change_kind {
	POLICY_KIND_CAPACITY_TYPE, /* "capacity-type": spot / on-demand */
	POLICY_KIND_INSTANCE_TYPES,
	POLICY_KIND_REPLICAS,
	POLICY_KIND_REQUESTS,
	POLICY_KIND_LIMITS,
	POLICY_KIND_ROLLBACK,
	POLICY_KIND_SECRET,
	POLICY_KIND_NODEPOOL, /* "nodepool": other NodePool settings (limits, disruption) */
	POLICY_KIND_COUNT
};

enum policy_risk { POLICY_RISK_LOW, POLICY_RISK_MEDIUM, POLICY_RISK_HIGH };

/* "capacity-type"...; NULL for an out-of-range value. */
const char *policy_kind_name(enum policy_change_kind k);
/* The kind named s; false when there is none. */
bool policy_kind_parse(const char *s, enum policy_change_kind *out);
const char *policy_risk_name(enum policy_risk r);

/* A proposed change, from the point of view of one affected workload or NodePool (a change
 * that affects several workloads is evaluated once per workload; see docs/POLICY.md).
 * Strings may be NULL or "" (unknown / not applicable): a policy that asks for a field the
 * change leaves empty does not match it. Numbers below 0 mean "unknown": rules about an
 * unknown property report "not applicable" and do not deny. */
struct policy_change {
	const char *cluster;
	const char *namespace;
	const char *const *labels; /* key, value, key, value... of the affected workload */
	size_t nlabels;		   /* pairs */
	const char *nodepool;
	enum policy_change_kind kind;
	enum policy_risk risk;
	bool uses_spot;		/* the workload/NodePool runs on spot capacity afterwards */
	int nodes_after;	/* -1: unknown */
	int zones_after;	/* availability zones after the change; -1: unknown */
	double cost_before_hr;	/* USD per hour of the scope before; < 0: unknown */
	double cost_after_hr;	/* ... and after; < 0: unknown */
	double savings_pct;	/* predicted saving in percent (negative: costs more) */
};

enum policy_outcome {
	POLICY_ALLOW,	      /* the rule was checked and is satisfied */
	POLICY_DENY,	      /* the rule forbids the change */
	POLICY_ADVICE,	      /* a preference (prefer-spot): never allows or denies alone */
	POLICY_NOT_APPLICABLE /* the property the rule needs is unknown or irrelevant */
};
const char *policy_outcome_name(enum policy_outcome o);

struct policy_verdict {
	char policy[POLICY_NAME_MAX]; /* the policy's name */
	char rule[32];		      /* the rule kind: "min-nodes" */
	enum policy_outcome outcome;
	char why[256]; /* one sentence */
};

enum policy_approval {
	POLICY_APPROVAL_DENIED,	   /* the policies deny the change: nothing to approve */
	POLICY_APPROVAL_DRY_RUN,   /* global dry-run: the change is only shown */
	POLICY_APPROVAL_WINDOW,	   /* outside every change window; see window_opens_at */
	POLICY_APPROVAL_RATE,	   /* a rate limit is reached; see rate_frees_at */
	POLICY_APPROVAL_HUMAN,	   /* a person must approve */
	POLICY_APPROVAL_AUTO,	   /* may be applied without a person */
};
/* "denied", "dry-run", "blocked-by-window", "rate-limited", "human", "auto". */
const char *policy_approval_name(enum policy_approval a);

struct policy_result {
	bool allowed;
	/* The first of DENIED, DRY_RUN, WINDOW, RATE, HUMAN, AUTO that holds. */
	enum policy_approval approval;
	/* What approval would be without dry-run (equal to approval when dry-run is off). */
	enum policy_approval approval_live;
	bool needs_human;	 /* a person must approve, whatever else holds */
	int64_t window_opens_at; /* next window start (Unix s) when outside every window; else 0 */
	int64_t rate_frees_at;	 /* when the rate limits admit this change again; else 0 */
	char approval_why[256];	 /* one sentence for approval_live */
	struct policy_verdict *verdicts; /* every rule of every matching policy, in file order */
	size_t nverdicts;
};
void policy_result_release(struct policy_result *r);
/* The result as JSON (for the bus and the HTTP API; the caller frees with cJSON_Delete):
 * {"allowed", "approval", "approvalLive", "needsHuman", "why", "windowOpensAt",
 *  "rateFreesAt" (RFC 3339, absent when 0), "verdicts": [{"policy", "rule", "outcome",
 *  "why"}]}. */
struct cJSON;
struct cJSON *policy_result_to_json(const struct policy_result *r);

/* ---- policy files ---- */

struct policy_set;

/* Parse a policy file held in memory; name is used in messages ("policy.yaml:7:12: ...").
 * All or nothing: on error *out is NULL and err says FILE:LINE:COL and what is wrong. */
int policy_parse_mem(const char *name, const char *data, size_t len, struct policy_set **out,
		     struct ks_err *err);
int policy_load(const char *path, struct policy_set **out, struct ks_err *err);
/* The set of a new install: no policies, dry-run on, no automatic approval. */
struct policy_set *policy_set_default(void);
void policy_set_free(struct policy_set *s);
size_t policy_set_count(const struct policy_set *s);
bool policy_set_dry_run(const struct policy_set *s);

/* ---- the engine: a policy set plus the record of applied changes ---- */

struct policy_ctx;

/* A context holding policy_set_default(). */
struct policy_ctx *policy_ctx_new(void);
void policy_ctx_free(struct policy_ctx *ctx);
/* Replace the policy set with the file's, all or nothing: on error the context keeps the
 * set it had. The record of applied changes is kept either way. */
int policy_ctx_load(struct policy_ctx *ctx, const char *path, struct ks_err *err);
int policy_ctx_load_mem(struct policy_ctx *ctx, const char *name, const char *data,
			size_t len, struct ks_err *err);
/* Take ownership of set (replacing and freeing the current one). */
void policy_ctx_set(struct policy_ctx *ctx, struct policy_set *set);
const struct policy_set *policy_ctx_policies(const struct policy_ctx *ctx);

/* Evaluate change at time now. out is filled (release with policy_result_release). */
void policy_evaluate(const struct policy_ctx *ctx, const struct policy_change *change,
		     int64_t now, struct policy_result *out);

/* An applied change, as rate limits count it. */
struct policy_applied {
	int64_t at; /* Unix seconds */
	const char *cluster, *namespace, *nodepool; /* NULL or "" when none */
};
/* Record that change was applied at time at (counts toward the rate limits for an hour). */
void policy_note_applied(struct policy_ctx *ctx, const struct policy_change *change,
			 int64_t at);
/* Replace the record with list (e.g. read back from the store after a restart). Entries
 * older than an hour before the newest are dropped; more than POLICY_MAX_APPLIED is an
 * error and changes nothing. */
int policy_restore_applied(struct policy_ctx *ctx, const struct policy_applied *list,
			   size_t n, struct ks_err *err);
/* Number of applied changes remembered. */
size_t policy_applied_count(const struct policy_ctx *ctx);

#endif
