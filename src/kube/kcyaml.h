/* kcyaml.h — a small YAML tree with line:column on every node, for kubeconfig.c.
 *
 * Built from libfyaml's event parser (Debian's libfyaml 0.7 has no node marks in its
 * document API). Only the first document of a stream is read. Aliases point at the anchored
 * node (shared, never copied), so "billion laughs" inputs cost nothing to build; walkers
 * bound their own work (see kube_yaml_budget). Merge keys ("<<") are kept as ordinary keys.
 * Limits: KUBE_YAML_MAX_NODES nodes, KUBE_YAML_MAX_DEPTH nesting.
 *
 * Ownership: the struct kube_yaml owns every node and string; kube_yaml_free frees them.
 * Node pointers are borrowed from it. */
#ifndef KS_KUBE_KCYAML_H
#define KS_KUBE_KCYAML_H

#include <stdbool.h>
#include <stddef.h>

#include "base/hashmap.h"

struct ks_err;
struct ks_buf;

#define KUBE_YAML_MAX_NODES 2000000
#define KUBE_YAML_MAX_DEPTH 200

enum kube_ynode_type { KUBE_Y_SCALAR, KUBE_Y_MAP, KUBE_Y_SEQ };

struct kube_ynode {
	enum kube_ynode_type type;
	int line, col; /* 1-based */
	char *str;     /* scalar text (NUL-terminated; may hold NULs before len) */
	size_t len;
	bool plain;		  /* an unquoted, non-block scalar (so "null", "true" are typed) */
	struct kube_ynode **kids; /* map: key, value, key, value...; seq: items */
	size_t n, cap;
};

struct kube_yaml {
	struct kube_ynode *root; /* NULL for an empty document */
	struct kube_ynode **all; /* arena */
	size_t nall, capall;
	struct ks_map anchors; /* name -> struct kube_ynode * */
};

/* Parse len bytes. On a syntax error the message is "LINE:COL: what libfyaml said". */
int kube_yaml_parse(const char *data, size_t len, struct kube_yaml *out, struct ks_err *err);
void kube_yaml_free(struct kube_yaml *y);

/* A plain scalar meaning null ("", "~", "null"), or a NULL node. */
bool kube_ynode_is_null(const struct kube_ynode *n);
/* Number of key/value pairs of a map. */
static inline size_t kube_ynode_pairs(const struct kube_ynode *n)
{
	return n->type == KUBE_Y_MAP ? n->n / 2 : 0;
}

/* Emit a subtree as JSON into b (YAML 1.1 plain scalars typed as go-yaml v2 would: null,
 * booleans, numbers). *budget is decremented per node; 0 left is an error, as is b's
 * ceiling. */
int kube_yaml_to_json(const struct kube_ynode *n, struct ks_buf *b, long *budget,
		      struct ks_err *err);

#endif
