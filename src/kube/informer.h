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
 * (as client-go users' transforms do), in a kube_objstore: hash-consed, so what replicas
 * share is stored once (see objstore.h and docs/BENCHMARKS.md for bytes per cached pod).
 * An object in the cache is a 32-bit objstore id; read it with the objstore accessors or
 * decode it with kube_informer_get_json.
 *
 * Ownership: handlers get borrowed objects valid during the call; ids from get/by_index
 * are borrowed until the next poll; kube_informer_get_json returns a tree to cJSON_Delete. */
#ifndef KS_KUBE_INFORMER_H
#define KS_KUBE_INFORMER_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "kube/objstore.h"
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
/* A transform applied to every object before it is stored (after kube_obj_strip), e.g. to
 * drop Secret values; it may modify obj but not its namespace or name. */
typedef void (*kube_informer_transform_fn)(void *ctx, cJSON *obj);
void kube_informer_set_transform(struct kube_informer *inf, kube_informer_transform_fn fn,
				 void *ctx);
void kube_informer_start(struct kube_informer *inf);
void kube_informer_stop(struct kube_informer *inf);
void kube_informer_free(struct kube_informer *inf);
bool kube_informer_synced(const struct kube_informer *inf);
/* Poll until synced or timeout; returns true when synced. */
bool kube_informer_wait_synced(struct kube_informer *inf, long timeout_ms);
void kube_informer_poll(struct kube_informer *inf, long timeout_ms);
/* kube_watch_tick of its watch (NULL is fine): for several informers on one client, tick
 * each and poll the client's HTTP once (kube_http_poll). */
long kube_informer_tick(struct kube_informer *inf, long timeout_ms);

size_t kube_informer_count(const struct kube_informer *inf);
/* The cached object's id (KUBE_OBJ_NONE when absent); ns NULL or "" for cluster-scoped. */
uint32_t kube_informer_get(const struct kube_informer *inf, const char *ns, const char *name);
/* The cached object decoded (caller frees), or NULL. */
cJSON *kube_informer_get_json(const struct kube_informer *inf, const char *ns, const char *name);
const struct kube_objstore *kube_informer_store(const struct kube_informer *inf);

typedef int (*kube_informer_visit_fn)(void *ctx, const struct kube_objstore *st, uint32_t id);
/* Objects whose index value equals value ("default"; an owner UID; a node name;
 * "app=web" for labels). fn returns non-zero to stop. Returns the number visited. */
size_t kube_informer_by_index(const struct kube_informer *inf, enum kube_index idx,
			      const char *value, kube_informer_visit_fn fn, void *ctx);
size_t kube_informer_each(const struct kube_informer *inf, kube_informer_visit_fn fn, void *ctx);
/* How many objects have that index value (what kube_informer_by_index would visit). */
size_t kube_informer_index_size(const struct kube_informer *inf, enum kube_index idx,
				const char *value);
struct kube_watch *kube_informer_watch(struct kube_informer *inf);

/* Apply one change as a watch event would (ADDED/MODIFIED/DELETED; obj is borrowed and may be
 * modified). Used by the watch, to replay recorded streams, and by the benchmarks. */
void kube_informer_apply(struct kube_informer *inf, enum kube_event_type type, cJSON *obj);
/* Replace the cache's contents with a full snapshot (what a LIST does), calling the handlers
 * for what changed: at once, or page by page (begin, pages, end), as the watch does. Items
 * are borrowed (and may be modified). */
void kube_informer_replace(struct kube_informer *inf, cJSON *items);
void kube_informer_list_begin(struct kube_informer *inf);
void kube_informer_list_page(struct kube_informer *inf, cJSON *items);
void kube_informer_list_end(struct kube_informer *inf);

struct kube_informer_stats {
	size_t objects;
	size_t index_entries; /* memberships across the four indexes */
	size_t map_bytes;     /* the key map and the index sets (slots and keys) */
};
void kube_informer_get_stats(const struct kube_informer *inf, struct kube_informer_stats *out);

/* Remove what informers never need: metadata.managedFields and the kubectl
 * last-applied-configuration annotation. */
void kube_obj_strip(cJSON *obj);

#endif
