/* nodereq.c — node selector requirements (see nodereq.h for the semantics and limits).
 * Parsing copies each requirement out of the JSON, checking it as the API server's validation
 * does; matching is a walk over the requirements; compatibility builds, per key constrained on
 * both sides, Karpenter's value set (finite or complement, with integer bounds) of each side
 * and intersects them. */
#include "base/common.h"
#include "base/strutil.h"
#include "base/json.h"
#include "kube/nodereq.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const op_names[] = {"In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"};

const char *kube_nodereq_op_name(enum kube_nodereq_op op)
{
	return (size_t)op < KS_ARRAY_LEN(op_names) ? op_names[op] : "?";
}

static void req_free(struct kube_nodereq *r)
{
	free(r->key);
	for (size_t i = 0; i < r->nvalues; i++)
		free(r->values[i]);
	free(r->values);
	memset(r, 0, sizeof *r);
}

void kube_nodereq_term_free(struct kube_nodereq_term *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->nreqs; i++)
		req_free(&t->reqs[i]);
	free(t->reqs);
	memset(t, 0, sizeof *t);
}

void kube_nodereq_sel_free(struct kube_nodereq_sel *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nterms; i++)
		kube_nodereq_term_free(&s->terms[i]);
	free(s->terms);
	memset(s, 0, sizeof *s);
}

static struct kube_nodereq *term_add(struct kube_nodereq_term *t, struct ks_err *err)
{
	if (t->nreqs >= NODEREQ_MAX_REQS) {
		ks_err_set(err, KS_ETOOBIG, "more than %d node selector requirements in a term",
			   NODEREQ_MAX_REQS);
		return NULL;
	}
	t->reqs = ks_realloc(t->reqs, (t->nreqs + 1) * sizeof *t->reqs);
	struct kube_nodereq *r = &t->reqs[t->nreqs++];
	memset(r, 0, sizeof *r);
	return r;
}

static void req_copy(struct kube_nodereq *dst, const struct kube_nodereq *src)
{
	*dst = *src;
	dst->key = ks_strdup(src->key);
	dst->values = src->nvalues ? ks_calloc(src->nvalues, sizeof *dst->values) : NULL;
	for (size_t i = 0; i < src->nvalues; i++)
		dst->values[i] = ks_strdup(src->values[i]);
}

/* One {key, operator, values, minValues} object into r; where names it in messages. */
static int parse_req(const cJSON *j, struct kube_nodereq *r, const char *where, bool fields,
		     bool allow_min, struct ks_err *err)
{
	if (!cJSON_IsObject(j))
		return ks_err_set(err, KS_EINVAL, "%s: a requirement must be an object", where);
	const cJSON *k = ks_json_child(j, "key");
	const char *key = cJSON_IsString(k) ? k->valuestring : NULL;
	if (!key || !*key)
		return ks_err_set(err, KS_EINVAL, "%s.key: a non-empty string is required", where);
	if (fields && strcmp(key, "metadata.name") != 0)
		return ks_err_set(err, KS_EINVAL, "%s.key: '%s' is not a supported field selector "
				  "(only metadata.name)", where, key);
	const cJSON *o = ks_json_child(j, "operator");
	const char *op = cJSON_IsString(o) ? o->valuestring : "";
	size_t i;
	for (i = 0; i < KS_ARRAY_LEN(op_names); i++)
		if (!strcmp(op, op_names[i]))
			break;
	if (i == KS_ARRAY_LEN(op_names) || (fields && i != KUBE_NR_IN && i != KUBE_NR_NOTIN))
		return ks_err_set(err, KS_EINVAL, "%s.operator: '%s' is not a supported operator",
				  where, op);
	r->key = ks_strdup(key);
	r->op = (enum kube_nodereq_op)i;
	const cJSON *vals = ks_json_child(j, "values");
	if (vals && !cJSON_IsNull(vals) && !cJSON_IsArray(vals))
		return ks_err_set(err, KS_EINVAL, "%s.values: must be an array of strings", where);
	int n = ks_json_len(vals);
	if (n > NODEREQ_MAX_VALUES)
		return ks_err_set(err, KS_ETOOBIG, "%s.values: more than %d values", where,
				  NODEREQ_MAX_VALUES);
	r->values = n ? ks_calloc((size_t)n, sizeof *r->values) : NULL;
	const cJSON *v;
	cJSON_ArrayForEach(v, vals)
	{
		if (!cJSON_IsString(v))
			return ks_err_set(err, KS_EINVAL, "%s.values[%zu]: must be a string", where,
					  r->nvalues);
		r->values[r->nvalues++] = ks_strdup(v->valuestring);
	}
	switch (r->op) {
	case KUBE_NR_IN:
	case KUBE_NR_NOTIN:
		if (!r->nvalues)
			return ks_err_set(err, KS_EINVAL, "%s.values: must be non-empty when "
					  "operator is %s", where, op);
		if (fields && r->nvalues != 1)
			return ks_err_set(err, KS_EINVAL, "%s.values: must have one element for a "
					  "field selector", where);
		break;
	case KUBE_NR_EXISTS:
	case KUBE_NR_DOES_NOT_EXIST:
		if (r->nvalues)
			return ks_err_set(err, KS_EINVAL, "%s.values: may not be specified when "
					  "operator is %s", where, op);
		break;
	case KUBE_NR_GT:
	case KUBE_NR_LT:
		if (r->nvalues != 1)
			return ks_err_set(err, KS_EINVAL, "%s.values: must have one element when "
					  "operator is %s", where, op);
		if (!ks_parse_int64(r->values[0], &r->num))
			return ks_err_set(err, KS_EINVAL, "%s.values[0]: '%s' is not an integer",
					  where, r->values[0]);
		break;
	}
	const cJSON *mv = ks_json_child(j, "minValues");
	if (mv && !cJSON_IsNull(mv)) {
		if (!allow_min)
			return ks_err_set(err, KS_EINVAL, "%s.minValues: not allowed here", where);
		double d = cJSON_IsNumber(mv) ? mv->valuedouble : 0;
		if (d < 1 || d > 50 || d != (double)(int)d)
			return ks_err_set(err, KS_EINVAL, "%s.minValues: must be an integer from 1 "
					  "to 50", where);
		r->min_values = (int)d;
	}
	return 0;
}

static int parse_into(const cJSON *arr, struct kube_nodereq_term *t, const char *what,
		      bool fields, bool allow_min, struct ks_err *err)
{
	if (!arr || cJSON_IsNull(arr))
		return 0;
	if (!cJSON_IsArray(arr))
		return ks_err_set(err, KS_EINVAL, "%s: must be an array", what);
	size_t i = 0;
	const cJSON *j;
	cJSON_ArrayForEach(j, arr)
	{
		struct kube_nodereq *r = term_add(t, err);
		if (!r)
			return KS_ETOOBIG;
		char where[128];
		snprintf(where, sizeof where, "%s[%zu]", what, i++);
		int rc = parse_req(j, r, where, fields, allow_min, err);
		if (rc)
			return rc;
	}
	return 0;
}

int kube_nodereq_parse_list(const cJSON *arr, struct kube_nodereq_term *out, struct ks_err *err)
{
	memset(out, 0, sizeof *out);
	return parse_into(arr, out, "requirements", false, true, err);
}

static struct kube_nodereq_term *sel_add(struct kube_nodereq_sel *s, struct ks_err *err)
{
	if (s->nterms >= NODEREQ_MAX_TERMS) {
		ks_err_set(err, KS_ETOOBIG, "more than %d node selector terms", NODEREQ_MAX_TERMS);
		return NULL;
	}
	s->terms = ks_realloc(s->terms, (s->nterms + 1) * sizeof *s->terms);
	struct kube_nodereq_term *t = &s->terms[s->nterms++];
	memset(t, 0, sizeof *t);
	return t;
}

int kube_nodereq_from_pod(const cJSON *pod, struct kube_nodereq_sel *out, struct ks_err *err)
{
	memset(out, 0, sizeof *out);
	struct kube_nodereq_term ns = {0};
	int rc = 0;
	const cJSON *sel = ks_json_get(pod, "spec.nodeSelector");
	if (sel && !cJSON_IsNull(sel) && !cJSON_IsObject(sel)) {
		rc = ks_err_set(err, KS_EINVAL, "spec.nodeSelector: must be an object");
		goto out;
	}
	const cJSON *kv;
	cJSON_ArrayForEach(kv, sel)
	{
		if (!cJSON_IsString(kv)) {
			rc = ks_err_set(err, KS_EINVAL, "spec.nodeSelector.%s: must be a string",
					kv->string);
			goto out;
		}
		struct kube_nodereq *r = term_add(&ns, err);
		if (!r) {
			rc = KS_ETOOBIG;
			goto out;
		}
		r->key = ks_strdup(kv->string);
		r->op = KUBE_NR_IN;
		r->values = ks_calloc(1, sizeof *r->values);
		r->values[0] = ks_strdup(kv->valuestring);
		r->nvalues = 1;
	}
	const cJSON *req = ks_json_get(pod, "spec.affinity.nodeAffinity."
					    "requiredDuringSchedulingIgnoredDuringExecution");
	if (!req || cJSON_IsNull(req)) {
		if (ns.nreqs) {
			*sel_add(out, err) = ns;
			ns = (struct kube_nodereq_term){0};
		}
		goto out;
	}
	const cJSON *terms = ks_json_child(req, "nodeSelectorTerms");
	if (!cJSON_IsArray(terms)) {
		rc = ks_err_set(err, KS_EINVAL, "nodeAffinity.requiredDuringScheduling"
				"IgnoredDuringExecution.nodeSelectorTerms: must be an array");
		goto out;
	}
	if (ks_json_len(terms) == 0) { /* no term can match */
		sel_add(out, err)->nothing = true;
		goto out;
	}
	size_t i = 0;
	const cJSON *tj;
	cJSON_ArrayForEach(tj, terms)
	{
		struct kube_nodereq_term *t = sel_add(out, err);
		if (!t) {
			rc = KS_ETOOBIG;
			goto out;
		}
		char what[96];
		snprintf(what, sizeof what, "nodeSelectorTerms[%zu].matchExpressions", i);
		const cJSON *me = ks_json_child(tj, "matchExpressions"),
			    *mf = ks_json_child(tj, "matchFields");
		if (!cJSON_IsObject(tj)) {
			rc = ks_err_set(err, KS_EINVAL, "nodeSelectorTerms[%zu]: must be an object", i);
			goto out;
		}
		t->nothing = ks_json_len(me) == 0 && ks_json_len(mf) == 0;
		for (size_t k = 0; k < ns.nreqs; k++) {
			struct kube_nodereq *r = term_add(t, err);
			if (!r) {
				rc = KS_ETOOBIG;
				goto out;
			}
			req_copy(r, &ns.reqs[k]);
		}
		rc = parse_into(me, t, what, false, false, err);
		if (rc)
			goto out;
		snprintf(what, sizeof what, "nodeSelectorTerms[%zu].matchFields", i);
		rc = parse_into(mf, t, what, true, false, err);
		if (rc)
			goto out;
		i++;
	}
out:
	kube_nodereq_term_free(&ns);
	return rc;
}

bool kube_nodereq_matches_value(const struct kube_nodereq *r, const char *value)
{
	int64_t v;
	switch (r->op) {
	case KUBE_NR_IN:
	case KUBE_NR_NOTIN: {
		bool in = false;
		for (size_t i = 0; value && i < r->nvalues && !in; i++)
			in = strcmp(r->values[i], value) == 0;
		return r->op == KUBE_NR_IN ? in : !in;
	}
	case KUBE_NR_EXISTS:
		return value != NULL;
	case KUBE_NR_DOES_NOT_EXIST:
		return value == NULL;
	case KUBE_NR_GT:
	case KUBE_NR_LT:
		if (!value || !ks_parse_int64(value, &v))
			return false;
		return r->op == KUBE_NR_GT ? v > r->num : v < r->num;
	}
	return false;
}

bool kube_nodereq_term_matches(const struct kube_nodereq_term *t, kube_label_lookup_fn lookup,
			       void *ctx)
{
	if (t->nothing)
		return false;
	for (size_t i = 0; i < t->nreqs; i++)
		if (!kube_nodereq_matches_value(&t->reqs[i], lookup(ctx, t->reqs[i].key)))
			return false;
	return true;
}

bool kube_nodereq_sel_matches(const struct kube_nodereq_sel *s, kube_label_lookup_fn lookup,
			      void *ctx)
{
	if (!s->nterms)
		return true;
	for (size_t i = 0; i < s->nterms; i++)
		if (kube_nodereq_term_matches(&s->terms[i], lookup, ctx))
			return true;
	return false;
}

static const char *json_label(void *ctx, const char *key)
{
	const cJSON *v = ks_json_child(ctx, key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

bool kube_nodereq_sel_matches_json(const struct kube_nodereq_sel *s, const cJSON *labels)
{
	return kube_nodereq_sel_matches(s, json_label, (void *)labels);
}

/* Karpenter's Requirement as a value set: values (sorted, unique, borrowed strings), or
 * their complement, narrowed by exclusive integer bounds. */
struct vset {
	bool complement;
	const char **v;
	size_t n;
	bool has_gt, has_lt;
	int64_t gt, lt;
};

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void vset_of(const struct kube_nodereq *r, struct vset *s)
{
	memset(s, 0, sizeof *s);
	s->complement = r->op != KUBE_NR_IN && r->op != KUBE_NR_DOES_NOT_EXIST;
	if (r->op == KUBE_NR_IN || r->op == KUBE_NR_NOTIN) {
		s->v = ks_calloc(r->nvalues, sizeof *s->v);
		for (size_t i = 0; i < r->nvalues; i++)
			s->v[i] = r->values[i];
		qsort(s->v, r->nvalues, sizeof *s->v, str_cmp);
		for (size_t i = 0; i < r->nvalues; i++)
			if (!s->n || strcmp(s->v[s->n - 1], s->v[i]))
				s->v[s->n++] = s->v[i];
	}
	s->has_gt = r->op == KUBE_NR_GT;
	s->has_lt = r->op == KUBE_NR_LT;
	s->gt = s->lt = r->num;
}

static bool has(const struct vset *s, const char *v)
{
	return s->n && bsearch(&v, s->v, s->n, sizeof *s->v, str_cmp) != NULL;
}

static bool within(const char *v, const struct vset *s)
{
	int64_t x;
	if (!s->has_gt && !s->has_lt)
		return true;
	if (!ks_parse_int64(v, &x))
		return false;
	return (!s->has_gt || x > s->gt) && (!s->has_lt || x < s->lt);
}

/* a ∩ b into out (a and b are released). */
static void vset_intersect(struct vset *a, struct vset *b, struct vset *out)
{
	struct vset r = {.complement = a->complement && b->complement};
	r.has_gt = a->has_gt || b->has_gt;
	r.gt = a->has_gt && b->has_gt ? (a->gt > b->gt ? a->gt : b->gt) : a->has_gt ? a->gt : b->gt;
	r.has_lt = a->has_lt || b->has_lt;
	r.lt = a->has_lt && b->has_lt ? (a->lt < b->lt ? a->lt : b->lt) : a->has_lt ? a->lt : b->lt;
	if (r.has_gt && r.has_lt && r.gt >= r.lt) { /* DoesNotExist */
		memset(&r, 0, sizeof r);
		goto done;
	}
	r.v = ks_calloc(a->n + b->n + 1, sizeof *r.v);
	/* union when both are complements, else the finite side less (or within) the other */
	if (r.complement) {
		for (size_t i = 0; i < a->n; i++)
			r.v[r.n++] = a->v[i];
		for (size_t i = 0; i < b->n; i++)
			if (!has(a, b->v[i]))
				r.v[r.n++] = b->v[i];
		qsort(r.v, r.n, sizeof *r.v, str_cmp);
	} else {
		const struct vset *fin = a->complement ? b : a, *other = a->complement ? a : b;
		for (size_t i = 0; i < fin->n; i++) {
			bool keep = other->complement ? !has(other, fin->v[i]) : has(other, fin->v[i]);
			if (keep)
				r.v[r.n++] = fin->v[i];
		}
	}
	size_t k = 0;
	for (size_t i = 0; i < r.n; i++)
		if (within(r.v[i], &r))
			r.v[k++] = r.v[i];
	r.n = k;
	if (!r.complement)
		r.has_gt = r.has_lt = false;
done:
	free(a->v);
	free(b->v);
	*out = r;
}

static enum kube_nodereq_op vset_op(const struct vset *s)
{
	if (s->complement)
		return s->n ? KUBE_NR_NOTIN : KUBE_NR_EXISTS;
	return s->n ? KUBE_NR_IN : KUBE_NR_DOES_NOT_EXIST;
}

static bool vset_empty(const struct vset *s)
{
	return !s->complement && s->n == 0;
}

/* All requirements of t on key, intersected. */
static void term_vset(const struct kube_nodereq_term *t, const char *key, struct vset *out)
{
	bool first = true;
	for (size_t i = 0; i < t->nreqs; i++) {
		if (strcmp(t->reqs[i].key, key))
			continue;
		struct vset one;
		vset_of(&t->reqs[i], &one);
		if (first) {
			*out = one;
			first = false;
		} else {
			struct vset prev = *out;
			vset_intersect(&prev, &one, out);
		}
	}
}

static void vset_format(const struct vset *s, char *out, size_t len)
{
	size_t o = (size_t)snprintf(out, len, "%s", kube_nodereq_op_name(vset_op(s)));
	if (s->n && o < len)
		o += (size_t)snprintf(out + o, len - o, " [");
	for (size_t i = 0; i < s->n && o < len; i++)
		o += (size_t)snprintf(out + o, len - o, "%s%s", i ? " " : "", s->v[i]);
	if (s->n && o < len)
		o += (size_t)snprintf(out + o, len - o, "]");
	if (s->has_gt && o < len)
		o += (size_t)snprintf(out + o, len - o, " >%lld", (long long)s->gt);
	if (s->has_lt && o < len)
		snprintf(out + o, len - o, " <%lld", (long long)s->lt);
}

static bool absent_ok(enum kube_nodereq_op op)
{
	return op == KUBE_NR_NOTIN || op == KUBE_NR_DOES_NOT_EXIST;
}

bool kube_nodereq_compatible(const struct kube_nodereq_term *a, const struct kube_nodereq_term *b,
			     char *why, size_t why_len)
{
	if (a->nothing || b->nothing) {
		if (why)
			snprintf(why, why_len, "an empty node selector term matches no node");
		return false;
	}
	for (size_t i = 0; i < b->nreqs; i++) {
		const char *key = b->reqs[i].key;
		bool seen = false, in_a = false;
		for (size_t j = 0; j < i && !seen; j++)
			seen = strcmp(b->reqs[j].key, key) == 0;
		for (size_t j = 0; j < a->nreqs && !in_a; j++)
			in_a = strcmp(a->reqs[j].key, key) == 0;
		if (seen || !in_a)
			continue;
		struct vset ea, eb, x;
		term_vset(a, key, &ea);
		term_vset(b, key, &eb);
		enum kube_nodereq_op opa = vset_op(&ea), opb = vset_op(&eb);
		char sa[256] = "", sb[256] = "";
		if (why) {
			vset_format(&ea, sa, sizeof sa);
			vset_format(&eb, sb, sizeof sb);
		}
		vset_intersect(&ea, &eb, &x);
		bool empty = vset_empty(&x);
		free(x.v);
		if (empty && !(absent_ok(opa) && absent_ok(opb))) {
			if (why)
				snprintf(why, why_len, "key %s, %s not in %s", key, sb, sa);
			return false;
		}
	}
	return true;
}

static const char *field(const cJSON *o, const char *key)
{
	const cJSON *v = ks_json_child(o, key);
	return cJSON_IsString(v) ? v->valuestring : "";
}

bool kube_toleration_tolerates(const cJSON *tol, const cJSON *taint)
{
	const char *eff = field(tol, "effect"), *key = field(tol, "key"), *op = field(tol, "operator");
	if (*eff && strcmp(eff, field(taint, "effect")))
		return false;
	if (*key && strcmp(key, field(taint, "key")))
		return false;
	if (!*op || !strcmp(op, "Equal"))
		return strcmp(field(tol, "value"), field(taint, "value")) == 0;
	return strcmp(op, "Exists") == 0;
}

bool kube_tolerates_taints(const cJSON *tolerations, const cJSON *taints, bool hard_only,
			   const cJSON **untolerated)
{
	const cJSON *taint;
	if (!cJSON_IsArray(tolerations))
		tolerations = NULL;
	if (!cJSON_IsArray(taints))
		taints = NULL;
	cJSON_ArrayForEach(taint, taints)
	{
		if (hard_only && !strcmp(field(taint, "effect"), "PreferNoSchedule"))
			continue;
		bool ok = false;
		const cJSON *t;
		cJSON_ArrayForEach(t, tolerations)
		{
			if (kube_toleration_tolerates(t, taint)) {
				ok = true;
				break;
			}
		}
		if (!ok) {
			if (untolerated)
				*untolerated = taint;
			return false;
		}
	}
	return true;
}
