/* selector.h — label selectors (k8s.io/apimachinery/pkg/labels) and field selectors
 * (k8s.io/apimachinery/pkg/fields), parsed, matched and printed as Kubernetes does.
 *
 * Label selectors: labels.Parse's lexer and parser, token for token: "x=a", "x==a", "x!=a",
 * "x in (a,b)", "x notin (a)", "x" (exists), "!x" (does not exist), "x>1", "x<1"; blanks are
 * ' ', '\t', '\r', '\n'; "in"/"notin" are keywords only where an operator is expected;
 * "x in ()", "x in (a,)" and "x=" hold the empty value; a NUL byte ends the token being read
 * (and the input, where a token would start), as in Go. Keys and values are validated as
 * Kubernetes does (qualified names: optional DNS-1123 subdomain prefix of at most 253 bytes,
 * name of at most 63; values of at most 63 bytes, alphanumeric at both ends, '-', '_', '.'
 * inside, or empty); gt/lt values must be decimal int64s. Error texts are Kubernetes', with
 * bad values quoted approximately as Go's %q, prefixed with the selector:
 *   label selector 'x in (a': unable to parse requirement: found '', expected: ',' or ')'
 * Parsed values are de-duplicated and sorted; requirements are sorted by key (stably, where
 * Kubernetes' sort.Sort leaves equal keys in an unspecified order).
 *
 * kube_selector_format is Selector.String(): requirements joined by ",", the operator as
 * written ("=" and "==" stay distinct), values of in/notin sorted. It is empty both for the
 * selector that matches everything and for the one that matches nothing.
 *
 * LabelSelector objects ({"matchLabels": {...}, "matchExpressions": [{"key", "operator",
 * "values"}]}) convert with metav1.LabelSelectorAsSelector semantics: a missing (NULL) or
 * JSON-null selector matches NOTHING (sel->nothing is set); an object with no matchLabels
 * and no matchExpressions (or empty ones) matches EVERYTHING; otherwise matchLabels become
 * key=value requirements, followed by the expressions (In, NotIn, Exists, DoesNotExist),
 * validated like parsed ones, and all sorted by key. Values of an In/NotIn expression keep
 * their order and duplicates (String() sorts a copy), as in Go.
 *
 * Field selectors: fields.ParseSelector: terms split at unescaped ',', each at the first
 * "!=", "==" or "=" (no escaping on the left side, which is not validated), the right side
 * unescaped ("\\", "\,", "\=" only; "\!" is an invalid escape in Kubernetes too); empty terms
 * and terms with both sides empty are dropped; the terms are sorted as strings first. A NUL
 * byte is rejected (Kubernetes would keep it). kube_fieldsel_format gives Selector.String(),
 * values escaped again; percent-encode it (ks_buf_append_urlenc) for a URL query.
 * Matching against a JSON object reads each field as a dotted path ("metadata.name",
 * "spec.nodeName", "status.phase"): a string is itself, true/false are "true"/"false", an
 * integral number prints as an integer, and a missing field or null is "" (so
 * "spec.nodeName=" selects unscheduled pods); an object or array equals no value.
 *
 * Both parsers refuse input longer than KUBE_SELECTOR_MAX_LEN bytes with KS_ETOOBIG.
 * Ownership: a parsed selector owns all its strings; free it with kube_selector_free /
 * kube_fieldsel_free (also after a failed parse, which leaves it empty). Structs are
 * zero-initialised empty selectors. */
#ifndef KS_KUBE_SELECTOR_H
#define KS_KUBE_SELECTOR_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

struct ks_buf;
struct ks_err;

#define KUBE_SELECTOR_MAX_LEN (64 * 1024)

enum kube_selop {
	KUBE_SEL_IN,         /* key in (v1,v2) */
	KUBE_SEL_NOTIN,      /* key notin (v1,v2) */
	KUBE_SEL_EQ,         /* key=v */
	KUBE_SEL_DEQ,        /* key==v */
	KUBE_SEL_NEQ,        /* key!=v */
	KUBE_SEL_EXISTS,     /* key */
	KUBE_SEL_NOT_EXISTS, /* !key */
	KUBE_SEL_GT,         /* key>n */
	KUBE_SEL_LT,         /* key<n */
};

struct kube_selreq {
	char *key;
	enum kube_selop op;
	char **values; /* 1 for = == != > <, >= 1 for in/notin, 0 for exists */
	size_t nvalues;
};

struct kube_selector {
	bool nothing; /* matches no object (a nil LabelSelector); reqs is then empty */
	struct kube_selreq *reqs;
	size_t nreqs;
};

/* labels.Parse. s need not be NUL-terminated. "" gives the selector matching everything. */
int kube_selector_parse(const char *s, size_t len, struct kube_selector *sel, struct ks_err *err);
/* metav1.LabelSelectorAsSelector on a LabelSelector JSON object (may be NULL). */
int kube_selector_from_json(const cJSON *ls, struct kube_selector *sel, struct ks_err *err);
void kube_selector_free(struct kube_selector *sel);

/* True when it restricts nothing (matches everything). */
bool kube_selector_empty(const struct kube_selector *sel);

/* Label look-up for matching: the value of key, or NULL when the object has no such label. */
typedef const char *(*kube_label_lookup_fn)(void *ctx, const char *key);
bool kube_selector_matches(const struct kube_selector *sel, kube_label_lookup_fn lookup, void *ctx);
/* Labels as a JSON object of strings (metadata.labels; NULL means no labels). */
bool kube_selector_matches_json(const struct kube_selector *sel, const cJSON *labels);
/* Labels as parallel arrays. */
bool kube_selector_matches_kv(const struct kube_selector *sel, const char *const *keys,
			      const char *const *values, size_t n);

/* Append Selector.String() to out (KS_ETOOBIG when out's ceiling is reached). */
int kube_selector_format(const struct kube_selector *sel, struct ks_buf *out);

enum kube_fieldop {
	KUBE_FIELD_EQ,  /* = or == */
	KUBE_FIELD_NEQ, /* != */
};

struct kube_fieldreq {
	char *field;
	enum kube_fieldop op;
	char *value; /* unescaped */
};

struct kube_fieldsel {
	struct kube_fieldreq *reqs;
	size_t nreqs;
};

/* fields.ParseSelector. "" gives the selector matching everything. */
int kube_fieldsel_parse(const char *s, size_t len, struct kube_fieldsel *fs, struct ks_err *err);
void kube_fieldsel_free(struct kube_fieldsel *fs);
/* Field look-up for matching: the field's value, "" when the object lacks it; NULL for a
 * value that equals nothing. */
typedef const char *(*kube_field_lookup_fn)(void *ctx, const char *field);
bool kube_fieldsel_matches(const struct kube_fieldsel *fs, kube_field_lookup_fn lookup, void *ctx);
/* Fields read from a JSON object by dotted path. */
bool kube_fieldsel_matches_json(const struct kube_fieldsel *fs, const cJSON *obj);
/* Append Selector.String() to out. */
int kube_fieldsel_format(const struct kube_fieldsel *fs, struct ks_buf *out);

#endif
