/* nodereq.h — node selector requirements, as the scheduler and Karpenter read them, and
 * tolerations against taints.
 *
 * Three shapes of outside JSON become one structure:
 *  - a pod's spec.nodeSelector (key: value, each an In requirement),
 *  - a pod's required node affinity (spec.affinity.nodeAffinity.
 *    requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms: terms ORed, the
 *    matchExpressions and matchFields of a term ANDed), combined with the nodeSelector as the
 *    scheduler does (nodeSelector AND (term1 OR term2 ...)),
 *  - a requirement list [{key, operator, values, minValues}] (NodePool
 *    spec.template.spec.requirements, a term's matchExpressions).
 *
 * Matching is k8s.io/apimachinery labels.Requirement.Matches: In (label present, value in the
 * set), NotIn (absent, or value not in the set), Exists, DoesNotExist, Gt/Lt (label present,
 * both the label and the single value parse as base-10 int64, strict comparison). An empty
 * term (no expressions, no fields) matches nothing, as in the scheduler; a selector with no
 * terms at all (no nodeSelector, no required affinity) matches everything.
 * matchFields (only metadata.name exists) become requirements on the key "metadata.name", so
 * a look-up function answers it with the node's name.
 *
 * Compatibility is Karpenter's Requirements.Intersects: for every key constrained on both
 * sides, the intersection of the allowed value sets must be non-empty, except that two
 * requirements that both allow the label to be absent (NotIn, DoesNotExist) are compatible.
 * Value sets are Karpenter's: a finite set or the complement of one, with Gt/Lt bounds.
 *
 * Tolerations are v1.Toleration.ToleratesTaint: an empty effect matches every effect, an empty
 * key with operator Exists matches every taint, operator "" means Equal.
 *
 * Validation (KS_EINVAL, message naming the field): key a non-empty string; operator one of
 * the six; In/NotIn need values, Exists/DoesNotExist take none, Gt/Lt exactly one integer;
 * values strings; minValues an integer 1..50 (only in requirement lists). Ceilings (KS_ETOOBIG):
 * NODEREQ_MAX_TERMS terms, NODEREQ_MAX_REQS requirements a term, NODEREQ_MAX_VALUES values
 * a requirement.
 *
 * Ownership: parse functions fill a caller's struct that *_free releases (also after a failed
 * parse); every string is copied; JSON arguments are borrowed for the call. */
#ifndef KS_KUBE_NODEREQ_H
#define KS_KUBE_NODEREQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "kube/selector.h"

struct ks_err;

#define NODEREQ_MAX_TERMS 100
#define NODEREQ_MAX_REQS 1000
#define NODEREQ_MAX_VALUES 1000

enum kube_nodereq_op {
	KUBE_NR_IN,
	KUBE_NR_NOTIN,
	KUBE_NR_EXISTS,
	KUBE_NR_DOES_NOT_EXIST,
	KUBE_NR_GT,
	KUBE_NR_LT,
};

struct kube_nodereq {
	char *key;
	enum kube_nodereq_op op;
	char **values;
	size_t nvalues;
	int64_t num;    /* Gt/Lt: values[0] parsed */
	int min_values; /* 0: unset */
};

/* Requirements ANDed. nothing: the term matches no node (an empty affinity term). */
struct kube_nodereq_term {
	struct kube_nodereq *reqs;
	size_t nreqs;
	bool nothing;
};

/* Terms ORed; no terms: matches every node. */
struct kube_nodereq_sel {
	struct kube_nodereq_term *terms;
	size_t nterms;
};

/* "In", "NotIn", ... */
const char *kube_nodereq_op_name(enum kube_nodereq_op op);

/* A JSON array of requirements (NULL or absent: an empty term). */
int kube_nodereq_parse_list(const cJSON *arr, struct kube_nodereq_term *out, struct ks_err *err);
/* A pod's nodeSelector and required node affinity (pod is the Pod object). */
int kube_nodereq_from_pod(const cJSON *pod, struct kube_nodereq_sel *out, struct ks_err *err);
void kube_nodereq_term_free(struct kube_nodereq_term *t);
void kube_nodereq_sel_free(struct kube_nodereq_sel *s);

/* One requirement against a label's value (NULL: the label is absent). */
bool kube_nodereq_matches_value(const struct kube_nodereq *r, const char *value);
bool kube_nodereq_term_matches(const struct kube_nodereq_term *t, kube_label_lookup_fn lookup,
			       void *ctx);
bool kube_nodereq_sel_matches(const struct kube_nodereq_sel *s, kube_label_lookup_fn lookup,
			      void *ctx);
/* Labels as a JSON object of strings (NULL: none). */
bool kube_nodereq_sel_matches_json(const struct kube_nodereq_sel *s, const cJSON *labels);

/* Whether two terms can hold on one node (Karpenter's Intersects). On false, why (when not
 * NULL) gets "key K, In [a b] not in In [c]"-shaped text. */
bool kube_nodereq_compatible(const struct kube_nodereq_term *a, const struct kube_nodereq_term *b,
			     char *why, size_t why_len);

/* v1.Toleration.ToleratesTaint, on JSON objects. */
bool kube_toleration_tolerates(const cJSON *toleration, const cJSON *taint);
/* Whether the tolerations (a JSON array, may be NULL) tolerate every taint of the array
 * taints; hard_only skips PreferNoSchedule taints (the scheduler's filter). On false,
 * *untolerated (when not NULL) points at the first taint not tolerated. */
bool kube_tolerates_taints(const cJSON *tolerations, const cJSON *taints, bool hard_only,
			   const cJSON **untolerated);

#endif
