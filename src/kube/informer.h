/* informer.h — a watched, indexed, in-memory cache of one kind of object.
 *
 * An informer runs a kube_watch (LIST then WATCH, relist on 410) and keeps the current
 * objects keyed by "namespace/name". It maintains four indexes — namespace, owner UID,
 * node name (spec.nodeName, for pods) and labels ("key=value") — calls add/update/delete
 * handlers as objects change, and says when it is synced (the first LIST is in).
 *
 * On a relist it diffs the new snapshot against the cache: objects that vanished while
 * the watch was down get a delete, changed ones an update, so handlers see every change.
 *
 * Objects are stored stripped of metadata.managedFields and the last-applied annotation
 * (as client-go users' transforms do). Ownership: handlers get borrowed objects valid during
 * the call; kube_informer_get returns a borrowed pointer valid until the next poll. */
#ifndef KS_KUBE_INFORMER_H
#define KS_KUBE_INFORMER_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "kube/watch.h"

struct kube_informer;

struct kube_informer_handlers {
	void (*on_add)(void *ctx, const cJSON *obj);
	void (*on_update)(void *ctx, const cJSON *old_obj, const cJSON *new_obj);
	void (*on_delete)(void *ctx, const cJSON *obj);
	void (*on_synced)(void *ctx);
	void *ctx;
};

enum kube_index { KUBE_IDX_NAMESPACE, KUBE_IDX_OWNER, KUBE_IDX_NODE, KUBE_IDX_LABEL,
		  KUBE_IDX_COUNT };

struct kube_informer *kube_informer_new(struct kube_client *c, const struct kube_resource *r,
					const struct kube_watch_opts *o);
/* Several handler sets may be registered; all are called in order. */
void kube_informer_add_handlers(struct kube_informer *inf, const struct kube_informer_handlers *h);
void kube_informer_start(struct kube_informer *inf);
void kube_informer_stop(struct kube_informer *inf);
void kube_informer_free(struct kube_informer *inf);
bool kube_informer_synced(const struct kube_informer *inf);
/* Poll until synced or timeout; returns true when synced. */
bool kube_informer_wait_synced(struct kube_informer *inf, long timeout_ms);
void kube_informer_poll(struct kube_informer *inf, long timeout_ms);

size_t kube_informer_count(const struct kube_informer *inf);
const cJSON *kube_informer_get(const struct kube_informer *inf, const char *ns,
			       const char *name);
/* Objects whose index value equals value ("default"; an owner UID; a node name;
 * "app=web" for labels). fn returns non-zero to stop. Returns the number visited. */
size_t kube_informer_by_index(const struct kube_informer *inf, enum kube_index idx,
			      const char *value, int (*fn)(void *ctx, const cJSON *obj),
			      void *ctx);
size_t kube_informer_each(const struct kube_informer *inf, int (*fn)(void *ctx, const cJSON *obj),
			  void *ctx);
struct kube_watch *kube_informer_watch(struct kube_informer *inf);

/* Remove what informers never need: metadata.managedFields and the kubectl
 * last-applied-configuration annotation. */
void kube_obj_strip(cJSON *obj);

#endif
