/* client.h — the Kubernetes REST verbs over kube/http.
 *
 * A resource is named by a `struct kube_resource` (group, version, plural, kind,
 * namespaced), normally found by discovery (kube/discovery.h) from what a user types
 * ("po", "deploy", "nodepools.karpenter.sh"). The verbs build the URL, send JSON, and
 * return parsed JSON; every error carries the API server's Status message, the HTTP status
 * and a KS_E* code (KS_ECONFLICT for 409, KS_ENOTFOUND for 404, KS_EGONE for 410…).
 *
 * Ownership: cJSON results belong to the caller (cJSON_Delete). Strings passed in are
 * borrowed for the call. */
#ifndef KS_KUBE_CLIENT_H
#define KS_KUBE_CLIENT_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "base/json.h"
#include "kube/http.h"

struct ks_err;

struct kube_resource {
	char group[64];    /* "" for the core group */
	char version[32];  /* "v1", "v1beta1" */
	char resource[64]; /* plural: "pods", "nodepools" */
	char kind[64];     /* "Pod" */
	char singular[64]; /* "pod" */
	bool namespaced;
	char subresource[32]; /* "status", "log", "scale", or "" */
};

struct kube_client {
	struct kube_http *http;
	char *namespace; /* the context's namespace ("default" when unset) */
	char *context;   /* the kubeconfig context name, for messages */
	struct kube_discovery *discovery; /* filled lazily by kube_discover */
	void *config;    /* struct kube_config when built from a kubeconfig */
	struct ks_json_arena list_arena; /* for transient LIST pages */
};

/* Append "/api/v1/namespaces/NS/pods/NAME/SUB" (ns may be NULL for all / cluster-scoped). */
int kube_path(struct ks_buf *out, const struct kube_resource *r, const char *ns,
	      const char *name);

struct kube_list_opts {
	const char *label_selector;
	const char *field_selector;
	int64_t limit;            /* page size; 0: 500 (kubectl's chunk size) */
	const char *resource_version;
	const char *resource_version_match; /* "NotOlderThan", "Exact" */
	bool single_page;         /* stop after one page (continue token in the result) */
	const char *continue_token;
	const char *accept;       /* e.g. the Table media type; NULL: JSON */
	int timeout_s;            /* server-side timeoutSeconds, 0: none */
	/* Pages live only during the page callback: they are parsed into a JSON arena that is
	 * freed at once afterwards (much less malloc work for big lists). */
	bool transient_pages;
};

/* One page at a time: called with each page (a *List object; the callee may steal items by
 * detaching them). Return non-zero to stop. */
typedef int (*kube_page_fn)(void *ctx, cJSON *page);

int kube_get(struct kube_client *c, const struct kube_resource *r, const char *ns,
	     const char *name, cJSON **out, struct ks_err *err);
/* List every page (limit/continue), calling fn per page. The list's resourceVersion (of
 * the last page, the one a watch should start from) goes to rv_out when not NULL. */
int kube_list_pages(struct kube_client *c, const struct kube_resource *r, const char *ns,
		    const struct kube_list_opts *o, kube_page_fn fn, void *ctx, char *rv_out,
		    size_t rv_len, struct ks_err *err);
/* List every page and merge them into one List object ({"kind":"PodList","items":[...]}). */
int kube_list(struct kube_client *c, const struct kube_resource *r, const char *ns,
	      const struct kube_list_opts *o, cJSON **out, struct ks_err *err);
int kube_create(struct kube_client *c, const struct kube_resource *r, const char *ns,
		const cJSON *obj, cJSON **out, struct ks_err *err);
/* PUT: the object carries metadata.resourceVersion; a stale one gives KS_ECONFLICT. */
int kube_update(struct kube_client *c, const struct kube_resource *r, const char *ns,
		const cJSON *obj, cJSON **out, struct ks_err *err);

enum kube_propagation { KUBE_PROPAGATE_DEFAULT, KUBE_PROPAGATE_ORPHAN,
			KUBE_PROPAGATE_BACKGROUND, KUBE_PROPAGATE_FOREGROUND };
struct kube_delete_opts {
	const char *precondition_uid;
	const char *precondition_rv;
	enum kube_propagation propagation;
	int64_t grace_period_s; /* -1: the object's default */
	bool dry_run;
};
int kube_delete(struct kube_client *c, const struct kube_resource *r, const char *ns,
		const char *name, const struct kube_delete_opts *o, cJSON **out,
		struct ks_err *err);

enum kube_patch_type {
	KUBE_PATCH_MERGE,     /* application/merge-patch+json (RFC 7386) */
	KUBE_PATCH_JSON,      /* application/json-patch+json (RFC 6902) */
	KUBE_PATCH_STRATEGIC, /* application/strategic-merge-patch+json (built-in kinds only) */
	KUBE_PATCH_APPLY,     /* application/apply-patch+yaml: server-side apply */
};
struct kube_patch_opts {
	enum kube_patch_type type;
	const char *field_manager; /* required for apply; default "kswarm" */
	bool force;                /* apply: take over conflicting fields */
	bool dry_run;
};
int kube_patch(struct kube_client *c, const struct kube_resource *r, const char *ns,
	       const char *name, const char *patch, size_t patch_len,
	       const struct kube_patch_opts *o, cJSON **out, struct ks_err *err);

struct kube_log_opts {
	const char *container;
	int64_t tail_lines; /* -1: all */
	bool previous;
	int64_t limit_bytes; /* 0: 4 MiB */
	bool timestamps;
};
/* The request path of a pod's log (for callers that start the request themselves). */
void kube_pod_log_path(struct ks_buf *path, const char *ns, const char *pod,
		       const struct kube_log_opts *o);
/* Pod logs into out (text, bounded by limit_bytes). */
int kube_pod_logs(struct kube_client *c, const char *ns, const char *pod,
		  const struct kube_log_opts *o, struct ks_buf *out, struct ks_err *err);
/* Events about one object (by involvedObject uid when given, else kind+name), oldest first. */
int kube_events_for(struct kube_client *c, const char *ns, const char *kind, const char *name,
		    const char *uid, cJSON **out, struct ks_err *err);

/* A raw request on the client (for discovery and tests): GET path, parsed JSON. */
int kube_get_path(struct kube_client *c, const char *path, cJSON **out, struct ks_err *err);

/* Built-in resources for the core kinds, usable without discovery. */
extern const struct kube_resource KUBE_RES_PODS, KUBE_RES_EVENTS, KUBE_RES_NAMESPACES,
	KUBE_RES_NODES, KUBE_RES_SECRETS, KUBE_RES_CONFIGMAPS;

void kube_client_release(struct kube_client *c);

#endif
