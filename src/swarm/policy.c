/* policy.c — see policy.h; the semantics are in docs/POLICY.md.
 *
 * Parsing: the file goes through kcyaml (every node has LINE:COL) and the tree is walked
 * against the schema, the way cost/pricing_overrides.c reads its file, so every message
 * names the node at fault: "policy.yaml:7:12: policies[2].rule: unknown key 'min-node'".
 * A set is built completely or freed completely (all or nothing); policy_ctx_load swaps it
 * in only after it parsed.
 *
 * Evaluation: every policy whose match holds adds one verdict per rule it sets; any DENY
 * denies the change (deny wins; the order of policies does not matter). Then the approval:
 * dry-run, change windows, rate limits, human, auto (policy.h, struct policy_result).
 *
 * Ownership: a policy_set owns every string and list in it; the ctx owns its set and its
 * record of applied changes (copied strings). */
#include "base/common.h"

#include "swarm/policy.h"

#include "base/json.h"
#include "base/strutil.h"
#include "base/timeutil.h"
#include "kube/kcyaml.h"
#include "kube/yschema.h"

#include <fnmatch.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* ---- the parsed set ---- */

struct pattern_list {
	char **v;
	size_t n;
};

struct label_patterns {
	char **keys, **values; /* keys exact, values globs */
	size_t n;
};

struct policy_match {
	struct pattern_list clusters, namespaces, nodepools;
	struct label_patterns labels;
	unsigned kinds; /* bit per enum policy_change_kind; 0: every kind */
};

struct policy_rule {
	bool deny, require_human, never_spot, prefer_spot, multi_az;
	bool has_min_nodes, has_max_cost, has_min_savings;
	int64_t min_nodes;
	double max_cost_hr, min_savings_pct;
};

struct policy {
	char *name;
	struct policy_match match;
	struct policy_rule rule;
};

struct policy_window {
	unsigned days;	/* bit per weekday, 0 = Sunday */
	int from, to;	/* minutes after local midnight; to <= from: ends the next day */
	int offset_min; /* local time = UTC + offset */
};

struct policy_set {
	struct policy *policies;
	size_t n;
	bool dry_run;
	bool auto_on;
	enum policy_risk auto_max_risk;
	struct pattern_list except_namespaces;
	struct label_patterns except_labels;
	unsigned except_kinds;
	struct policy_window *windows;
	size_t nwindows;
	int64_t rate_total, rate_namespace, rate_nodepool; /* 0: no limit */
};

static const char *const kind_names[POLICY_KIND_COUNT] = {
	[POLICY_KIND_CAPACITY_TYPE] = "capacity-type",
	[POLICY_KIND_INSTANCE_TYPES] = "instance-types",
	[POLICY_KIND_REPLICAS] = "replicas",
	[POLICY_KIND_REQUESTS] = "requests",
	[POLICY_KIND_LIMITS] = "limits",
	[POLICY_KIND_ROLLBACK] = "rollback",
	[POLICY_KIND_SECRET] = "secret",
	[POLICY_KIND_NODEPOOL] = "nodepool",
};

static const char *const risk_names[] = {"low", "medium", "high"};
static const char *const day_names[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

/* What a new `auto` section treats as production unless it says otherwise. */
static const char *const default_production_namespaces[] = {"prod", "prod-*", "production",
							    "production-*"};

const char *policy_kind_name(enum policy_change_kind k)
{
	return (unsigned)k < POLICY_KIND_COUNT ? kind_names[k] : NULL;
}

bool policy_kind_parse(const char *s, enum policy_change_kind *out)
{
	for (int k = 0; k < POLICY_KIND_COUNT; k++)
		if (!strcmp(s, kind_names[k])) {
			*out = (enum policy_change_kind)k;
			return true;
		}
	return false;
}

const char *policy_risk_name(enum policy_risk r)
{
	return (unsigned)r < KS_ARRAY_LEN(risk_names) ? risk_names[r] : "?";
}

const char *policy_outcome_name(enum policy_outcome o)
{
	static const char *const names[] = {"allow", "deny", "advice", "not-applicable"};
	return (unsigned)o < KS_ARRAY_LEN(names) ? names[o] : "?";
}

const char *policy_approval_name(enum policy_approval a)
{
	static const char *const names[] = {"denied", "dry-run", "blocked-by-window",
					    "rate-limited", "human", "auto"};
	return (unsigned)a < KS_ARRAY_LEN(names) ? names[a] : "?";
}

/* ---- freeing ---- */

static void patterns_release(struct pattern_list *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->v[i]);
	free(p->v);
	*p = (struct pattern_list){0};
}

static void labels_release(struct label_patterns *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->keys[i]);
		free(l->values[i]);
	}
	free(l->keys);
	free(l->values);
	*l = (struct label_patterns){0};
}

void policy_set_free(struct policy_set *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++) {
		struct policy *p = &s->policies[i];
		free(p->name);
		patterns_release(&p->match.clusters);
		patterns_release(&p->match.namespaces);
		patterns_release(&p->match.nodepools);
		labels_release(&p->match.labels);
	}
	free(s->policies);
	patterns_release(&s->except_namespaces);
	labels_release(&s->except_labels);
	free(s->windows);
	free(s);
}

struct policy_set *policy_set_default(void)
{
	struct policy_set *s = ks_calloc(1, sizeof *s);
	s->dry_run = true;
	s->auto_max_risk = POLICY_RISK_LOW;
	return s;
}

size_t policy_set_count(const struct policy_set *s)
{
	return s->n;
}

bool policy_set_dry_run(const struct policy_set *s)
{
	return s->dry_run;
}

/* ---- parsing ---- */

/* A glob (fnmatch(3), no flags): printable ASCII without spaces, 1-253 characters. */
static int parse_pattern(const struct kube_ysrc *x, const struct kube_ynode *n, const char *field,
			 bool allow_empty, char **out)
{
	int rc = kube_ys_type(x, n, field, KUBE_Y_SCALAR);
	if (rc)
		return rc;
	if ((!allow_empty && n->len == 0) || n->len > 253)
		return kube_ys_bad(x, n, field, "'%s' must be %s253 characters", n->str,
			   allow_empty ? "0-" : "1-");
	for (const char *p = n->str; *p; p++)
		if (*p <= ' ' || *p > '~')
			return kube_ys_bad(x, n, field, "'%s' holds a space or a non-ASCII character",
				   n->str);
	*out = ks_strdup(n->str);
	return 0;
}

/* count items of n: 1 to POLICY_MAX_ITEMS, or 0 too when allow_none. */
static int check_count(const struct kube_ysrc *x, const struct kube_ynode *n, const char *field,
		       size_t count, bool allow_none, const char *what)
{
	if ((!allow_none && count == 0) || count > POLICY_MAX_ITEMS)
		return kube_ys_bad(x, n, field, "must hold %d to %d %s", allow_none ? 0 : 1,
			   POLICY_MAX_ITEMS, what);
	return 0;
}

static int parse_patterns(const struct kube_ysrc *x, const struct kube_ynode *n, const char *field,
			  bool allow_none, struct pattern_list *out)
{
	int rc = kube_ys_type(x, n, field, KUBE_Y_SEQ);
	if (!rc)
		rc = check_count(x, n, field, n->n, allow_none, "items");
	if (rc)
		return rc;
	out->v = ks_calloc(n->n ? n->n : 1, sizeof *out->v);
	for (size_t i = 0; i < n->n; i++) {
		if ((rc = parse_pattern(x, n->kids[i], field, false, &out->v[i])))
			return rc;
		out->n++;
	}
	return 0;
}

static int parse_labels(const struct kube_ysrc *x, const struct kube_ynode *n, const char *field,
			bool allow_none, struct label_patterns *out)
{
	int rc = kube_ys_type(x, n, field, KUBE_Y_MAP);
	if (rc)
		return rc;
	size_t pairs = kube_ynode_pairs(n);
	if ((rc = check_count(x, n, field, pairs, allow_none, "labels")))
		return rc;
	out->keys = ks_calloc(pairs ? pairs : 1, sizeof *out->keys);
	out->values = ks_calloc(pairs ? pairs : 1, sizeof *out->values);
	for (size_t i = 0; i < pairs; i++) {
		const struct kube_ynode *k = n->kids[2 * i], *v = n->kids[2 * i + 1];
		if ((rc = parse_pattern(x, k, field, false, &out->keys[i])))
			return rc;
		for (size_t j = 0; j < i; j++)
			if (!strcmp(out->keys[j], out->keys[i])) {
				free(out->keys[i]);
				return kube_ys_bad(x, k, field, "label '%s' is given twice", k->str);
			}
		if ((rc = parse_pattern(x, v, field, true, &out->values[i]))) {
			free(out->keys[i]);
			return rc;
		}
		out->n++;
	}
	return 0;
}

static int parse_kinds(const struct kube_ysrc *x, const struct kube_ynode *n, const char *field,
		       bool allow_none, unsigned *out)
{
	int rc = kube_ys_type(x, n, field, KUBE_Y_SEQ);
	if (!rc)
		rc = check_count(x, n, field, n->n, allow_none, "kinds");
	if (rc)
		return rc;
	for (size_t i = 0; i < n->n; i++) {
		const struct kube_ynode *k = n->kids[i];
		enum policy_change_kind kind;
		if ((rc = kube_ys_type(x, k, field, KUBE_Y_SCALAR)))
			return rc;
		if (!policy_kind_parse(k->str, &kind))
			return kube_ys_bad(x, k, field,
				   "'%s' is not a kind of change (capacity-type, "
				   "instance-types, replicas, requests, limits, rollback, "
				   "secret, nodepool)",
				   k->str);
		*out |= 1u << kind;
	}
	return 0;
}

static int parse_match(const struct kube_ysrc *x, const struct kube_ynode *n, const char *field,
		       struct policy_match *m)
{
	static const char *const keys[] = {"clusters", "namespaces", "nodepools", "labels",
					   "kinds", NULL};
	const struct kube_ynode *v;
	int rc = kube_ys_map(x, n, field, keys);
	if (!rc && (v = kube_ys_member(n, "clusters")))
		rc = parse_patterns(x, v, field, false, &m->clusters);
	if (!rc && (v = kube_ys_member(n, "namespaces")))
		rc = parse_patterns(x, v, field, false, &m->namespaces);
	if (!rc && (v = kube_ys_member(n, "nodepools")))
		rc = parse_patterns(x, v, field, false, &m->nodepools);
	if (!rc && (v = kube_ys_member(n, "labels")))
		rc = parse_labels(x, v, field, false, &m->labels);
	if (!rc && (v = kube_ys_member(n, "kinds")))
		rc = parse_kinds(x, v, field, false, &m->kinds);
	return rc;
}

static int parse_rule(const struct kube_ysrc *x, const struct kube_ynode *n, const char *field,
		      struct policy_rule *r)
{
	static const char *const keys[] = {"deny", "require-human", "never-use-spot",
					   "prefer-spot", "require-multi-az", "min-nodes",
					   "max-cost-per-hour", "optimize-when-savings-pct",
					   NULL};
	const struct kube_ynode *v;
	int rc = kube_ys_map(x, n, field, keys);
	if (rc)
		return rc;
	if (n->n == 0)
		return kube_ys_bad(x, n, field, "names no rule (deny, require-human, never-use-spot, "
					"prefer-spot, require-multi-az, min-nodes, "
					"max-cost-per-hour, optimize-when-savings-pct)");
	if (!rc && (v = kube_ys_member(n, "deny")))
		rc = kube_ys_bool(x, v, field, &r->deny);
	if (!rc && (v = kube_ys_member(n, "require-human")))
		rc = kube_ys_bool(x, v, field, &r->require_human);
	if (!rc && (v = kube_ys_member(n, "never-use-spot")))
		rc = kube_ys_bool(x, v, field, &r->never_spot);
	if (!rc && (v = kube_ys_member(n, "prefer-spot")))
		rc = kube_ys_bool(x, v, field, &r->prefer_spot);
	if (!rc && (v = kube_ys_member(n, "require-multi-az")))
		rc = kube_ys_bool(x, v, field, &r->multi_az);
	if (!rc && (v = kube_ys_member(n, "min-nodes"))) {
		rc = kube_ys_int(x, v, field, 0, 100000, &r->min_nodes);
		r->has_min_nodes = true;
	}
	if (!rc && (v = kube_ys_member(n, "max-cost-per-hour"))) {
		rc = kube_ys_decimal(x, v, field, false, 0, 1e9, &r->max_cost_hr);
		r->has_max_cost = true;
	}
	if (!rc && (v = kube_ys_member(n, "optimize-when-savings-pct"))) {
		rc = kube_ys_decimal(x, v, field, true, 0, 100, &r->min_savings_pct);
		r->has_min_savings = true;
	}
	if (!rc && r->never_spot && r->prefer_spot)
		rc = kube_ys_bad(x, n, field, "never-use-spot and prefer-spot contradict each other");
	return rc;
}

static int parse_name(const struct kube_ysrc *x, const struct kube_ynode *n, const char *field, char **out)
{
	int rc = kube_ys_type(x, n, field, KUBE_Y_SCALAR);
	if (rc)
		return rc;
	if (n->len == 0 || n->len >= POLICY_NAME_MAX)
		return kube_ys_bad(x, n, field, "name '%s' must be 1-%d characters", n->str,
			   POLICY_NAME_MAX - 1);
	for (const char *p = n->str; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || strchr("-._", *p)))
			return kube_ys_bad(x, n, field, "name '%s' holds a character other than "
						"[A-Za-z0-9._-]", n->str);
	*out = ks_strdup(n->str);
	return 0;
}

static int parse_policy(const struct kube_ysrc *x, struct policy_set *s, const struct kube_ynode *n,
			const char *field, struct policy *p)
{
	static const char *const keys[] = {"name", "description", "match", "rule", NULL};
	const struct kube_ynode *v;
	int rc = kube_ys_map(x, n, field, keys);
	if (rc)
		return rc;
	if (!(v = kube_ys_member(n, "name")))
		return kube_ys_bad(x, n, field, "'name' is required");
	if ((rc = parse_name(x, v, field, &p->name)))
		return rc;
	for (struct policy *q = s->policies; q != p; q++)
		if (!strcmp(q->name, p->name))
			return kube_ys_bad(x, v, field, "the name '%s' is already used by another policy",
				   p->name);
	if ((v = kube_ys_member(n, "description")) && (rc = kube_ys_type(x, v, field, KUBE_Y_SCALAR)))
		return rc;
	if ((v = kube_ys_member(n, "match")) && (rc = parse_match(x, v, field, &p->match)))
		return rc;
	if (!(v = kube_ys_member(n, "rule")))
		return kube_ys_bad(x, n, field, "'rule' is required");
	return parse_rule(x, v, field, &p->rule);
}

/* "HH:MM", 00:00 to 23:59, or 24:00 when end is true. */
static int parse_clock(const struct kube_ysrc *x, const struct kube_ynode *n, const char *field, bool end,
		       int *minutes)
{
	int rc = kube_ys_type(x, n, field, KUBE_Y_SCALAR);
	if (rc)
		return rc;
	const char *s = n->str;
	bool shape = n->len == 5 && s[2] == ':';
	for (int i = 0; shape && i < 5; i++)
		shape = i == 2 || (s[i] >= '0' && s[i] <= '9');
	int h = shape ? (s[0] - '0') * 10 + (s[1] - '0') : 0;
	int m = shape ? (s[3] - '0') * 10 + (s[4] - '0') : 0;
	if (!shape || m > 59 || h > 24 || (h == 24 && (m || !end)))
		return kube_ys_bad(x, n, field, "'%s' is not a time of day \"HH:MM\" (00:00-23:59%s)", s,
			   end ? ", or 24:00" : "");
	*minutes = h * 60 + m;
	return 0;
}

/* "UTC", "Z", "+05:30", "-08:00", "UTC+05:30": a fixed offset from UTC. */
static int parse_tz(const struct kube_ysrc *x, const struct kube_ynode *n, const char *field, int *offset)
{
	int rc = kube_ys_type(x, n, field, KUBE_Y_SCALAR);
	if (rc)
		return rc;
	const char *s = n->str;
	if (!strcmp(s, "UTC") || !strcmp(s, "Z")) {
		*offset = 0;
		return 0;
	}
	if (!strncmp(s, "UTC", 3))
		s += 3;
	bool shape = strlen(s) == 6 && (s[0] == '+' || s[0] == '-') && s[3] == ':';
	for (int i = 1; shape && i < 6; i++)
		shape = i == 3 || (s[i] >= '0' && s[i] <= '9');
	int h = shape ? (s[1] - '0') * 10 + (s[2] - '0') : 0;
	int m = shape ? (s[4] - '0') * 10 + (s[5] - '0') : 0;
	if (!shape || m > 59 || h * 60 + m > 14 * 60)
		return kube_ys_bad(x, n, field, "'%s' is not a time zone kswarm reads (UTC, or a fixed "
					"offset such as +05:30 or UTC-08:00, up to 14:00)", n->str);
	*offset = (s[0] == '-' ? -1 : 1) * (h * 60 + m);
	return 0;
}

static int day_index(const char *s, size_t len)
{
	for (int d = 0; d < 7; d++)
		if (len == 3 && !strncasecmp(s, day_names[d], 3))
			return d;
	return -1;
}

/* "mon", or a range "mon-fri" (wrapping: "fri-mon" is fri, sat, sun, mon). */
static int parse_days(const struct kube_ysrc *x, const struct kube_ynode *n, const char *field,
		      unsigned *days)
{
	int rc = kube_ys_type(x, n, field, KUBE_Y_SEQ);
	if (rc)
		return rc;
	if (n->n == 0 || n->n > 7)
		return kube_ys_bad(x, n, field, "days must hold 1 to 7 items");
	for (size_t i = 0; i < n->n; i++) {
		const struct kube_ynode *d = n->kids[i];
		if ((rc = kube_ys_type(x, d, field, KUBE_Y_SCALAR)))
			return rc;
		const char *dash = strchr(d->str, '-');
		int a = day_index(d->str, dash ? (size_t)(dash - d->str) : d->len);
		int b = dash ? day_index(dash + 1, strlen(dash + 1)) : a;
		if (a < 0 || b < 0)
			return kube_ys_bad(x, d, field, "'%s' is not a day (mon..sun) or a range (mon-fri)",
				   d->str);
		for (int k = a;; k = (k + 1) % 7) {
			*days |= 1u << k;
			if (k == b)
				break;
		}
	}
	return 0;
}

static int parse_window(const struct kube_ysrc *x, const struct kube_ynode *n, const char *field,
			struct policy_window *w)
{
	static const char *const keys[] = {"days", "from", "to", "tz", NULL};
	const struct kube_ynode *v;
	int rc = kube_ys_map(x, n, field, keys);
	if (rc)
		return rc;
	w->days = 0x7f;
	if ((v = kube_ys_member(n, "days"))) {
		w->days = 0;
		if ((rc = parse_days(x, v, field, &w->days)))
			return rc;
	}
	if (!(v = kube_ys_member(n, "from")))
		return kube_ys_bad(x, n, field, "'from' is required");
	if ((rc = parse_clock(x, v, field, false, &w->from)))
		return rc;
	if (!(v = kube_ys_member(n, "to")))
		return kube_ys_bad(x, n, field, "'to' is required");
	if ((rc = parse_clock(x, v, field, true, &w->to)))
		return rc;
	if (w->to == w->from)
		return kube_ys_bad(x, v, field, "the window is empty ('from' equals 'to')");
	if ((v = kube_ys_member(n, "tz")) && (rc = parse_tz(x, v, field, &w->offset_min)))
		return rc;
	return 0;
}

static int parse_risk(const struct kube_ysrc *x, const struct kube_ynode *n, const char *field,
		      bool *on, enum policy_risk *out)
{
	int rc = kube_ys_type(x, n, field, KUBE_Y_SCALAR);
	if (rc)
		return rc;
	if (!strcmp(n->str, "none")) {
		*on = false;
		return 0;
	}
	for (size_t r = 0; r < KS_ARRAY_LEN(risk_names); r++)
		if (!strcmp(n->str, risk_names[r])) {
			*out = (enum policy_risk)r;
			return 0;
		}
	return kube_ys_bad(x, n, field, "'%s' is not a risk (none, low, medium, high)", n->str);
}

static int parse_auto(const struct kube_ysrc *x, const struct kube_ynode *n, struct policy_set *s)
{
	static const char *const keys[] = {"max-risk", "except-namespaces", "except-labels",
					   "except-kinds", NULL};
	const char *field = "approval.auto";
	const struct kube_ynode *v;
	int rc = kube_ys_map(x, n, field, keys);
	if (rc)
		return rc;
	s->auto_on = true;
	if ((v = kube_ys_member(n, "max-risk")) &&
	    (rc = parse_risk(x, v, field, &s->auto_on, &s->auto_max_risk)))
		return rc;
	if ((v = kube_ys_member(n, "except-namespaces"))) {
		if ((rc = parse_patterns(x, v, field, true, &s->except_namespaces)))
			return rc;
	} else {
		size_t k = KS_ARRAY_LEN(default_production_namespaces);
		s->except_namespaces.v = ks_calloc(k, sizeof(char *));
		for (; s->except_namespaces.n < k; s->except_namespaces.n++)
			s->except_namespaces.v[s->except_namespaces.n] =
				ks_strdup(default_production_namespaces[s->except_namespaces.n]);
	}
	if ((v = kube_ys_member(n, "except-labels"))) {
		if ((rc = parse_labels(x, v, field, true, &s->except_labels)))
			return rc;
	} else {
		s->except_labels.keys = ks_calloc(1, sizeof(char *));
		s->except_labels.values = ks_calloc(1, sizeof(char *));
		s->except_labels.keys[0] = ks_strdup("env");
		s->except_labels.values[0] = ks_strdup("prod*");
		s->except_labels.n = 1;
	}
	if ((v = kube_ys_member(n, "except-kinds")))
		return parse_kinds(x, v, field, true, &s->except_kinds);
	s->except_kinds = 1u << POLICY_KIND_SECRET;
	return 0;
}

static int parse_rates(const struct kube_ysrc *x, const struct kube_ynode *n, struct policy_set *s)
{
	static const char *const keys[] = {"per-hour", "per-namespace-per-hour",
					   "per-nodepool-per-hour", NULL};
	const char *field = "approval.rate-limits";
	const struct kube_ynode *v;
	int rc = kube_ys_map(x, n, field, keys);
	if (!rc && (v = kube_ys_member(n, "per-hour")))
		rc = kube_ys_int(x, v, field, 1, 10000, &s->rate_total);
	if (!rc && (v = kube_ys_member(n, "per-namespace-per-hour")))
		rc = kube_ys_int(x, v, field, 1, 10000, &s->rate_namespace);
	if (!rc && (v = kube_ys_member(n, "per-nodepool-per-hour")))
		rc = kube_ys_int(x, v, field, 1, 10000, &s->rate_nodepool);
	return rc;
}

static int parse_approval(const struct kube_ysrc *x, const struct kube_ynode *n, struct policy_set *s)
{
	static const char *const keys[] = {"dry-run", "auto", "windows", "rate-limits", NULL};
	const struct kube_ynode *v;
	char field[64];
	int rc = kube_ys_map(x, n, "approval", keys);
	if (!rc && (v = kube_ys_member(n, "dry-run")))
		rc = kube_ys_bool(x, v, "approval.dry-run", &s->dry_run);
	if (!rc && (v = kube_ys_member(n, "auto")))
		rc = parse_auto(x, v, s);
	if (!rc && (v = kube_ys_member(n, "rate-limits")))
		rc = parse_rates(x, v, s);
	if (rc || !(v = kube_ys_member(n, "windows")))
		return rc;
	if ((rc = kube_ys_type(x, v, "approval.windows", KUBE_Y_SEQ)))
		return rc;
	if (v->n == 0 || v->n > POLICY_MAX_ITEMS)
		return kube_ys_bad(x, v, "approval.windows", "must hold 1 to %d windows",
			   POLICY_MAX_ITEMS);
	s->windows = ks_calloc(v->n, sizeof *s->windows);
	for (size_t i = 0; i < v->n; i++) {
		snprintf(field, sizeof field, "approval.windows[%zu]", i);
		if ((rc = parse_window(x, v->kids[i], field, &s->windows[i])))
			return rc;
		s->nwindows++;
	}
	return 0;
}

static int parse_root(const struct kube_ysrc *x, const struct kube_ynode *root, struct policy_set *s)
{
	static const char *const keys[] = {"policies", "approval", NULL};
	const struct kube_ynode *v;
	char field[64];
	int rc = kube_ys_map(x, root, "", keys);
	if (rc)
		return rc;
	if ((v = kube_ys_member(root, "policies")) && !kube_ynode_is_null(v)) {
		if ((rc = kube_ys_type(x, v, "policies", KUBE_Y_SEQ)))
			return rc;
		if (v->n > POLICY_MAX_POLICIES)
			return kube_ys_bad(x, v, "policies", "more than %d policies",
				   POLICY_MAX_POLICIES);
		s->policies = ks_calloc(v->n ? v->n : 1, sizeof *s->policies);
		for (size_t i = 0; i < v->n; i++) {
			snprintf(field, sizeof field, "policies[%zu]", i);
			s->n++;
			if ((rc = parse_policy(x, s, v->kids[i], field, &s->policies[i])))
				return rc;
		}
	}
	if ((v = kube_ys_member(root, "approval")))
		return parse_approval(x, v, s);
	return 0;
}

int policy_parse_mem(const char *name, const char *data, size_t len, struct policy_set **out,
		     struct ks_err *err)
{
	*out = NULL;
	if (len > POLICY_MAX_BYTES)
		return ks_err_set(err, KS_ETOOBIG, "%s: larger than the %d-byte limit", name,
				  POLICY_MAX_BYTES);
	struct kube_yaml y;
	if (kube_yaml_parse(data, len, &y, err))
		return ks_err_wrap(err, "%s", name);
	struct policy_set *s = policy_set_default();
	struct kube_ysrc x = {.name = name, .err = err};
	int rc = y.root ? parse_root(&x, y.root, s)
			: ks_err_set(err, KS_EINVAL, "%s: empty document", name);
	kube_yaml_free(&y);
	if (rc) {
		policy_set_free(s);
		return rc;
	}
	*out = s;
	return 0;
}

int policy_load(const char *path, struct policy_set **out, struct ks_err *err)
{
	struct ks_buf b;
	ks_buf_init(&b, POLICY_MAX_BYTES);
	*out = NULL;
	int rc = ks_buf_read_file(&b, path, err);
	if (!rc)
		rc = policy_parse_mem(path, b.data, b.len, out, err);
	ks_buf_release(&b);
	return rc;
}

/* ---- matching ---- */

static const char *or_empty(const char *s)
{
	return s ? s : "";
}

static bool any_pattern_matches(const struct pattern_list *p, const char *s)
{
	if (!s || !*s)
		return false;
	for (size_t i = 0; i < p->n; i++)
		if (fnmatch(p->v[i], s, 0) == 0)
			return true;
	return false;
}

static const char *label_value(const struct policy_change *c, const char *key)
{
	for (size_t i = 0; i < c->nlabels; i++)
		if (c->labels[2 * i] && !strcmp(c->labels[2 * i], key))
			return or_empty(c->labels[2 * i + 1]);
	return NULL;
}

/* Every label pattern matches a label of the change. */
static bool labels_match(const struct label_patterns *l, const struct policy_change *c)
{
	for (size_t i = 0; i < l->n; i++) {
		const char *v = label_value(c, l->keys[i]);
		if (!v || fnmatch(l->values[i], v, 0) != 0)
			return false;
	}
	return true;
}

/* Some label pattern matches a label of the change. */
static bool labels_match_any(const struct label_patterns *l, const struct policy_change *c)
{
	for (size_t i = 0; i < l->n; i++) {
		const char *v = label_value(c, l->keys[i]);
		if (v && fnmatch(l->values[i], v, 0) == 0)
			return true;
	}
	return false;
}

/* The bit of kind in a kinds mask; 0 for a kind out of range (it matches no list). */
static unsigned kind_bit(enum policy_change_kind k)
{
	return (unsigned)k < POLICY_KIND_COUNT ? 1u << k : 0;
}

static bool policy_matches(const struct policy_match *m, const struct policy_change *c)
{
	if (m->clusters.n && !any_pattern_matches(&m->clusters, c->cluster))
		return false;
	if (m->namespaces.n && !any_pattern_matches(&m->namespaces, c->namespace))
		return false;
	if (m->nodepools.n && !any_pattern_matches(&m->nodepools, c->nodepool))
		return false;
	if (m->kinds && !(m->kinds & kind_bit(c->kind)))
		return false;
	return labels_match(&m->labels, c);
}

/* ---- evaluation ---- */

struct verdicts {
	struct policy_result *r;
	size_t cap;
	const char *policy;
};

static void verdict(struct verdicts *vs, const char *rule, enum policy_outcome o,
		    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void verdict(struct verdicts *vs, const char *rule, enum policy_outcome o,
		    const char *fmt, ...)
{
	struct policy_result *r = vs->r;
	if (r->nverdicts == vs->cap) {
		vs->cap = vs->cap ? 2 * vs->cap : 8;
		r->verdicts = ks_realloc(r->verdicts, vs->cap * sizeof *r->verdicts);
	}
	struct policy_verdict *v = &r->verdicts[r->nverdicts++];
	*v = (struct policy_verdict){.outcome = o};
	snprintf(v->policy, sizeof v->policy, "%s", vs->policy);
	snprintf(v->rule, sizeof v->rule, "%s", rule);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(v->why, sizeof v->why, fmt, ap);
	va_end(ap);
	if (o == POLICY_DENY)
		r->allowed = false;
}

static void check_rule(struct verdicts *vs, const struct policy_rule *rule,
		       const struct policy_change *c)
{
	if (rule->deny)
		verdict(vs, "deny", POLICY_DENY, "This policy forbids every change it matches.");
	if (rule->require_human)
		verdict(vs, "require-human", POLICY_ALLOW,
			"A person must approve changes this policy matches.");
	if (rule->never_spot) {
		if (c->uses_spot)
			verdict(vs, "never-use-spot", POLICY_DENY,
				"The change would run on spot capacity, which this policy "
				"forbids.");
		else
			verdict(vs, "never-use-spot", POLICY_ALLOW,
				"The change does not use spot capacity.");
	}
	if (rule->prefer_spot)
		verdict(vs, "prefer-spot", POLICY_ADVICE,
			c->uses_spot ? "Spot capacity is preferred here, and the change uses it."
				     : "Spot capacity is preferred here, but the change does "
				       "not use it.");
	if (rule->multi_az) {
		if (c->zones_after < 0)
			verdict(vs, "require-multi-az", POLICY_NOT_APPLICABLE,
				"The number of zones after the change is not known.");
		else if (c->zones_after < 2)
			verdict(vs, "require-multi-az", POLICY_DENY,
				"The change leaves %d availability zone%s; at least 2 are "
				"required.",
				c->zones_after, c->zones_after == 1 ? "" : "s");
		else
			verdict(vs, "require-multi-az", POLICY_ALLOW,
				"The change keeps %d availability zones.", c->zones_after);
	}
	if (rule->has_min_nodes) {
		if (c->nodes_after < 0)
			verdict(vs, "min-nodes", POLICY_NOT_APPLICABLE,
				"The number of nodes after the change is not known.");
		else if (c->nodes_after < rule->min_nodes)
			verdict(vs, "min-nodes", POLICY_DENY,
				"The change leaves %d node%s; at least %lld are required.",
				c->nodes_after, c->nodes_after == 1 ? "" : "s",
				(long long)rule->min_nodes);
		else
			verdict(vs, "min-nodes", POLICY_ALLOW,
				"The change leaves %d nodes, at least the %lld required.",
				c->nodes_after, (long long)rule->min_nodes);
	}
	if (rule->has_max_cost) {
		double cap = rule->max_cost_hr, after = c->cost_after_hr;
		double before = c->cost_before_hr;
		if (after < 0 || isnan(after))
			verdict(vs, "max-cost-per-hour", POLICY_NOT_APPLICABLE,
				"The hourly cost after the change is not known.");
		else if (after <= cap)
			verdict(vs, "max-cost-per-hour", POLICY_ALLOW,
				"The cost after the change, $%.2f/h, is within the $%g/h cap.",
				after, cap);
		else if (before >= 0 && after <= before)
			verdict(vs, "max-cost-per-hour", POLICY_ALLOW,
				"The cost stays above the $%g/h cap ($%.2f/h) but the change "
				"does not raise it (from $%.2f/h).",
				cap, after, before);
		else
			verdict(vs, "max-cost-per-hour", POLICY_DENY,
				"The change brings the cost to $%.2f/h, above the $%g/h cap.",
				after, cap);
	}
	if (rule->has_min_savings) {
		double pct = c->savings_pct, want = rule->min_savings_pct;
		if (!(pct > 0))
			verdict(vs, "optimize-when-savings-pct", POLICY_NOT_APPLICABLE,
				"The change is not a saving, so the savings threshold does not "
				"apply.");
		else if (pct < want)
			verdict(vs, "optimize-when-savings-pct", POLICY_DENY,
				"The change saves %.1f%%, below the %g%% an optimization must "
				"save.",
				pct, want);
		else
			verdict(vs, "optimize-when-savings-pct", POLICY_ALLOW,
				"The change saves %.1f%%, at least the %g%% required.", pct, want);
	}
}

/* ---- change windows ---- */

static int64_t floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

static bool window_open(const struct policy_window *w, int64_t now)
{
	int64_t local = now + (int64_t)w->offset_min * 60;
	int64_t day = floor_div(local, 86400);
	int wday = (int)(((day + 4) % 7 + 7) % 7); /* 1970-01-01 was a Thursday */
	int minute = (int)((local - day * 86400) / 60);
	if (w->from < w->to)
		return (w->days & (1u << wday)) && minute >= w->from && minute < w->to;
	return ((w->days & (1u << wday)) && minute >= w->from) ||
	       ((w->days & (1u << ((wday + 6) % 7))) && minute < w->to);
}

/* The first start of w after now (Unix seconds). */
static int64_t window_next_start(const struct policy_window *w, int64_t now)
{
	int64_t off = (int64_t)w->offset_min * 60, local = now + off;
	int64_t day = floor_div(local, 86400);
	for (int k = 0; k <= 7; k++) {
		int wday = (int)((((day + k) + 4) % 7 + 7) % 7);
		int64_t start = (day + k) * 86400 + (int64_t)w->from * 60;
		if ((w->days & (1u << wday)) && start > local)
			return start - off;
	}
	return 0; /* not reached: days is never empty */
}

/* ---- rate limits ---- */

struct applied {
	int64_t at;
	char *cluster, *namespace, *nodepool;
};

struct policy_ctx {
	struct policy_set *set;
	struct applied *applied;
	size_t napplied, cap;
	int64_t newest;
};

static bool same(const char *a, const char *b)
{
	return !strcmp(or_empty(a), or_empty(b));
}

enum rate_scope { RATE_ALL, RATE_NAMESPACE, RATE_NODEPOOL };

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

/* When the limit of scope frees for c: 0 when it is not reached now, else the time. */
static int64_t rate_frees_at(const struct policy_ctx *ctx, const struct policy_change *c,
			     enum rate_scope scope, int64_t limit, int64_t now)
{
	if (!limit)
		return 0;
	if (scope == RATE_NAMESPACE && !*or_empty(c->namespace))
		return 0;
	if (scope == RATE_NODEPOOL && !*or_empty(c->nodepool))
		return 0;
	int64_t *times = ks_calloc(ctx->napplied ? ctx->napplied : 1, sizeof *times);
	size_t n = 0;
	for (size_t i = 0; i < ctx->napplied; i++) {
		const struct applied *a = &ctx->applied[i];
		if (a->at <= now - POLICY_RATE_WINDOW_S || a->at > now)
			continue;
		if (scope != RATE_ALL && !same(a->cluster, c->cluster))
			continue;
		if (scope == RATE_NAMESPACE && !same(a->namespace, c->namespace))
			continue;
		if (scope == RATE_NODEPOOL && !same(a->nodepool, c->nodepool))
			continue;
		times[n++] = a->at;
	}
	int64_t frees = 0;
	if ((int64_t)n >= limit) {
		qsort(times, n, sizeof *times, cmp_i64);
		/* Admitted once n - limit + 1 of them have left the hour. */
		frees = times[n - (size_t)limit] + POLICY_RATE_WINDOW_S;
	}
	free(times);
	return frees;
}

/* ---- approval ---- */

static void approval(const struct policy_ctx *ctx, const struct policy_change *c, int64_t now,
		     const char *human_rule_policy, struct policy_result *r)
{
	const struct policy_set *s = ctx->set;
	char human_why[200] = "";
	if (human_rule_policy)
		snprintf(human_why, sizeof human_why, "policy '%s' requires a person",
			 human_rule_policy);
	else if (!s->auto_on)
		snprintf(human_why, sizeof human_why, "automatic approval is not configured");
	else if (c->risk > s->auto_max_risk)
		snprintf(human_why, sizeof human_why,
			 "its risk (%s) is above what is approved automatically (%s)",
			 policy_risk_name(c->risk), policy_risk_name(s->auto_max_risk));
	else if (any_pattern_matches(&s->except_namespaces, c->namespace))
		snprintf(human_why, sizeof human_why,
			 "namespace %s is excepted from automatic approval (production)",
			 c->namespace);
	else if (labels_match_any(&s->except_labels, c))
		snprintf(human_why, sizeof human_why,
			 "the workload's labels except it from automatic approval (production)");
	else if (s->except_kinds & kind_bit(c->kind))
		snprintf(human_why, sizeof human_why,
			 "%s changes are excepted from automatic approval",
			 policy_kind_name(c->kind));
	r->needs_human = human_why[0] != '\0';

	bool in_window = s->nwindows == 0;
	for (size_t i = 0; i < s->nwindows; i++) {
		if (window_open(&s->windows[i], now)) {
			in_window = true;
			break;
		}
		int64_t t = window_next_start(&s->windows[i], now);
		if (!r->window_opens_at || t < r->window_opens_at)
			r->window_opens_at = t;
	}
	if (in_window)
		r->window_opens_at = 0;

	int64_t limits[] = {s->rate_total, s->rate_namespace, s->rate_nodepool};
	const char *names[] = {"per-hour", "per-namespace-per-hour", "per-nodepool-per-hour"};
	const char *hit = NULL;
	for (int k = 0; k < 3; k++) {
		int64_t t = rate_frees_at(ctx, c, (enum rate_scope)k, limits[k], now);
		if (t > r->rate_frees_at) {
			r->rate_frees_at = t;
			hit = names[k];
		}
	}

	char when[32] = "";
	if (!r->allowed) {
		r->approval_live = POLICY_APPROVAL_DENIED;
		snprintf(r->approval_why, sizeof r->approval_why,
			 "The policies deny the change.");
	} else if (!in_window) {
		r->approval_live = POLICY_APPROVAL_WINDOW;
		ks_time_format_rfc3339(r->window_opens_at, when, sizeof when);
		snprintf(r->approval_why, sizeof r->approval_why,
			 "Outside every change window; the next opens at %s.", when);
	} else if (r->rate_frees_at) {
		r->approval_live = POLICY_APPROVAL_RATE;
		ks_time_format_rfc3339(r->rate_frees_at, when, sizeof when);
		snprintf(r->approval_why, sizeof r->approval_why,
			 "The %s rate limit is reached; it frees at %s.", hit, when);
	} else if (r->needs_human) {
		r->approval_live = POLICY_APPROVAL_HUMAN;
		snprintf(r->approval_why, sizeof r->approval_why,
			 "A person must approve: %s.", human_why);
	} else {
		r->approval_live = POLICY_APPROVAL_AUTO;
		snprintf(r->approval_why, sizeof r->approval_why,
			 "Approved automatically: %s risk, allowed by the policies.",
			 policy_risk_name(c->risk));
	}
	r->approval = r->allowed && s->dry_run ? POLICY_APPROVAL_DRY_RUN : r->approval_live;
}

void policy_evaluate(const struct policy_ctx *ctx, const struct policy_change *change,
		     int64_t now, struct policy_result *out)
{
	*out = (struct policy_result){.allowed = true};
	struct verdicts vs = {.r = out};
	const char *human_rule_policy = NULL;
	for (size_t i = 0; i < ctx->set->n; i++) {
		const struct policy *p = &ctx->set->policies[i];
		if (!policy_matches(&p->match, change))
			continue;
		vs.policy = p->name;
		check_rule(&vs, &p->rule, change);
		if (p->rule.require_human && !human_rule_policy)
			human_rule_policy = p->name;
	}
	approval(ctx, change, now, human_rule_policy, out);
}

void policy_result_release(struct policy_result *r)
{
	free(r->verdicts);
	*r = (struct policy_result){0};
}

static void add_time(cJSON *o, const char *key, int64_t t)
{
	char buf[32];
	if (t && !ks_time_format_rfc3339(t, buf, sizeof buf))
		cJSON_AddStringToObject(o, key, buf);
}

cJSON *policy_result_to_json(const struct policy_result *r)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddBoolToObject(o, "allowed", r->allowed);
	cJSON_AddStringToObject(o, "approval", policy_approval_name(r->approval));
	cJSON_AddStringToObject(o, "approvalLive", policy_approval_name(r->approval_live));
	cJSON_AddBoolToObject(o, "needsHuman", r->needs_human);
	cJSON_AddStringToObject(o, "why", r->approval_why);
	add_time(o, "windowOpensAt", r->window_opens_at);
	add_time(o, "rateFreesAt", r->rate_frees_at);
	cJSON *list = cJSON_AddArrayToObject(o, "verdicts");
	for (size_t i = 0; i < r->nverdicts; i++) {
		const struct policy_verdict *v = &r->verdicts[i];
		cJSON *j = cJSON_CreateObject();
		cJSON_AddStringToObject(j, "policy", v->policy);
		cJSON_AddStringToObject(j, "rule", v->rule);
		cJSON_AddStringToObject(j, "outcome", policy_outcome_name(v->outcome));
		cJSON_AddStringToObject(j, "why", v->why);
		cJSON_AddItemToArray(list, j);
	}
	return o;
}

/* ---- the context ---- */

struct policy_ctx *policy_ctx_new(void)
{
	struct policy_ctx *ctx = ks_calloc(1, sizeof *ctx);
	ctx->set = policy_set_default();
	return ctx;
}

static void applied_release(struct applied *a)
{
	free(a->cluster);
	free(a->namespace);
	free(a->nodepool);
}

void policy_ctx_free(struct policy_ctx *ctx)
{
	if (!ctx)
		return;
	for (size_t i = 0; i < ctx->napplied; i++)
		applied_release(&ctx->applied[i]);
	free(ctx->applied);
	policy_set_free(ctx->set);
	free(ctx);
}

void policy_ctx_set(struct policy_ctx *ctx, struct policy_set *set)
{
	policy_set_free(ctx->set);
	ctx->set = set;
}

const struct policy_set *policy_ctx_policies(const struct policy_ctx *ctx)
{
	return ctx->set;
}

int policy_ctx_load(struct policy_ctx *ctx, const char *path, struct ks_err *err)
{
	struct policy_set *s;
	int rc = policy_load(path, &s, err);
	if (!rc)
		policy_ctx_set(ctx, s);
	return rc;
}

int policy_ctx_load_mem(struct policy_ctx *ctx, const char *name, const char *data,
			size_t len, struct ks_err *err)
{
	struct policy_set *s;
	int rc = policy_parse_mem(name, data, len, &s, err);
	if (!rc)
		policy_ctx_set(ctx, s);
	return rc;
}

/* Drop what has left the hour before the newest record (and the oldest beyond the cap). */
static void prune(struct policy_ctx *ctx)
{
	size_t keep = 0;
	for (size_t i = 0; i < ctx->napplied; i++) {
		if (ctx->applied[i].at <= ctx->newest - POLICY_RATE_WINDOW_S)
			applied_release(&ctx->applied[i]);
		else
			ctx->applied[keep++] = ctx->applied[i];
	}
	ctx->napplied = keep;
}

static void remember(struct policy_ctx *ctx, int64_t at, const char *cluster,
		     const char *namespace, const char *nodepool)
{
	if (ctx->napplied == POLICY_MAX_APPLIED) {
		applied_release(&ctx->applied[0]);
		memmove(ctx->applied, ctx->applied + 1, --ctx->napplied * sizeof *ctx->applied);
	}
	if (ctx->napplied == ctx->cap) {
		ctx->cap = ctx->cap ? 2 * ctx->cap : 16;
		ctx->applied = ks_realloc(ctx->applied, ctx->cap * sizeof *ctx->applied);
	}
	ctx->applied[ctx->napplied++] = (struct applied){
		.at = at,
		.cluster = ks_strdup(or_empty(cluster)),
		.namespace = ks_strdup(or_empty(namespace)),
		.nodepool = ks_strdup(or_empty(nodepool)),
	};
	if (at > ctx->newest)
		ctx->newest = at;
}

void policy_note_applied(struct policy_ctx *ctx, const struct policy_change *change,
			 int64_t at)
{
	remember(ctx, at, change->cluster, change->namespace, change->nodepool);
	prune(ctx);
}

int policy_restore_applied(struct policy_ctx *ctx, const struct policy_applied *list,
			   size_t n, struct ks_err *err)
{
	if (n > POLICY_MAX_APPLIED)
		return ks_err_set(err, KS_ETOOBIG,
				  "policy: %zu applied changes to restore, more than %d", n,
				  POLICY_MAX_APPLIED);
	for (size_t i = 0; i < ctx->napplied; i++)
		applied_release(&ctx->applied[i]);
	ctx->napplied = 0;
	ctx->newest = 0;
	for (size_t i = 0; i < n; i++)
		remember(ctx, list[i].at, list[i].cluster, list[i].namespace, list[i].nodepool);
	prune(ctx);
	return 0;
}

size_t policy_applied_count(const struct policy_ctx *ctx)
{
	return ctx->napplied;
}
