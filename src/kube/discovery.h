/* discovery.h — which API groups, versions and resources a cluster serves.
 *
 * kube_discover reads /api, /api/v1, /apis and then every group version of every group,
 * all at once over the shared connection. A resource resolves to the group's preferred
 * version when that version serves it, else to the first version (in the server's priority
 * order) that does — so on a 1.20 server "cronjobs" resolves to batch/v1beta1 and
 * "poddisruptionbudgets" to policy/v1beta1, and on a newer one to batch/v1 and policy/v1.
 * CRDs (karpenter.sh/v1 NodePool, karpenter.k8s.aws/v1 EC2NodeClass) appear like any group.
 *
 * Ownership: the discovery belongs to the client (kube_client.discovery); lookups return
 * borrowed pointers valid until kube_discovery_free or the next kube_discover. */
#ifndef KS_KUBE_DISCOVERY_H
#define KS_KUBE_DISCOVERY_H

#include <stdbool.h>

#include "kube/client.h"

struct ks_err;

struct kube_api_resource {
	struct kube_resource r; /* at its resolved version */
	char short_names[8][16];
	int n_short;
	char verbs[12][20];
	int n_verbs;
	char categories[4][16];
	int n_categories;
	char versions[8][32]; /* every version of the group that serves it, in priority order */
	int n_versions;
};

struct kube_api_group {
	char name[64]; /* "" for core */
	char preferred[32];
	char versions[8][32];
	int n_versions;
};

struct kube_discovery {
	struct kube_api_group *groups;
	int n_groups;
	struct kube_api_resource *resources;
	int n_resources;
	char server_version[64]; /* from /version: "v1.20.2" */
};

/* (Re)discover; replaces c->discovery. */
int kube_discover(struct kube_client *c, struct ks_err *err);
/* Discover when not done yet. */
int kube_discovery_ensure(struct kube_client *c, struct ks_err *err);
void kube_discovery_free(struct kube_discovery *d);

/* Resolve what a user typed, as kubectl does: plural, singular, short name or kind
 * (case-insensitive), optionally qualified: "deploy.apps", "deployments.v1.apps",
 * "nodepools.karpenter.sh". Core group first, then groups in the server's order. */
const struct kube_api_resource *kube_discovery_find(const struct kube_discovery *d,
						    const char *name, struct ks_err *err);
/* The resource for a kind in a group (any served version), e.g. ("policy", "PodDisruptionBudget"). */
const struct kube_api_resource *kube_discovery_by_kind(const struct kube_discovery *d,
						       const char *group, const char *kind);
/* Whether group/version serves the resource (e.g. "policy", "v1", "poddisruptionbudgets"). */
bool kube_discovery_serves(const struct kube_discovery *d, const char *group,
			   const char *version, const char *resource);
bool kube_api_resource_has_verb(const struct kube_api_resource *r, const char *verb);

/* Build a discovery from documents (for tests and fuzzing): core = /api/v1 resource list,
 * groups = /apis group list, lists[i] = the resource list of one group version. */
int kube_discovery_build(const cJSON *core, const cJSON *groups, const cJSON *const *lists,
			 int n_lists, struct kube_discovery **out, struct ks_err *err);

#endif
