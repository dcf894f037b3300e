/* apply.h — server-side apply of whole objects, as `kubectl apply --server-side` does.
 * The resource comes from the object's apiVersion and kind through discovery (so CRD kinds
 * such as karpenter.sh/v1 NodePool work once their CRD is established). Namespaced objects
 * without metadata.namespace go to the client's namespace.
 * Ownership: obj is borrowed; *out (when not NULL) is the server's object, the caller's. */
#ifndef KS_KUBE_APPLY_H
#define KS_KUBE_APPLY_H

#include <stdbool.h>

#include "kube/client.h"

struct ks_err;

/* The resource an object's apiVersion and kind name; NULL with err set when not served. */
const struct kube_resource *kube_resource_of(struct kube_client *c, const cJSON *obj,
					    struct ks_err *err);
int kube_apply(struct kube_client *c, const cJSON *obj, const char *field_manager, bool force,
	       cJSON **out, struct ks_err *err);
/* Delete the object an apiVersion/kind/namespace/name names; absent is not an error. */
int kube_delete_object(struct kube_client *c, const cJSON *ref, struct ks_err *err);

#endif
