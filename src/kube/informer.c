/* informer.c — see informer.h.
 *
 * Store layout: objects (cJSON, stripped) in a map keyed "ns/name"; each index is a map
 * from index value to a ks_ptrset of entries, so adds and deletes are O(1) whatever the
 * size of a namespace or node. An entry remembers the index values it was filed under so
 * it can be unfiled exactly, even after the object changed. */
#include "base/common.h"
#include "base/hashmap.h"
#include "base/json.h"
#include "base/timeutil.h"
#include "kube/informer.h"

#include <stdio.h>
#include <string.h>

struct entry {
	cJSON *obj;
	char *key;
	char **vals[KUBE_IDX_COUNT]; /* index values this entry is filed under */
	int nvals[KUBE_IDX_COUNT];
	bool seen; /* relist diff mark */
};

struct kube_informer {
	struct kube_client *c;
	struct kube_resource r;
	struct kube_watch *watch;
	struct ks_map objects; /* "ns/name" -> struct entry */
	struct ks_map index[KUBE_IDX_COUNT]; /* value -> struct ks_ptrset of entries */
	struct kube_informer_handlers *handlers;
	size_t n_handlers, cap_handlers;
	bool synced;
};

void kube_obj_strip(cJSON *obj)
{
	cJSON *meta = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
	if (!meta)
		return;
	cJSON_DeleteItemFromObjectCaseSensitive(meta, "managedFields");
	cJSON *ann = cJSON_GetObjectItemCaseSensitive(meta, "annotations");
	if (ann) {
		cJSON_DeleteItemFromObjectCaseSensitive(
			ann, "kubectl.kubernetes.io/last-applied-configuration");
		if (!ann->child)
			cJSON_DeleteItemFromObjectCaseSensitive(meta, "annotations");
	}
}

static char *obj_key(const cJSON *obj)
{
	const char *ns = ks_json_str_or(obj, "metadata.namespace", "");
	const char *name = ks_json_str_or(obj, "metadata.name", "");
	return ks_asprintf("%s/%s", ns, name);
}

static void file_under(struct kube_informer *inf, struct entry *e, enum kube_index idx,
		       const char *value)
{
	struct ks_ptrset *set = ks_map_get(&inf->index[idx], value);
	if (!set) {
		set = ks_calloc(1, sizeof *set);
		ks_map_put(&inf->index[idx], value, set);
	}
	ks_ptrset_add(set, e);
	e->vals[idx] = ks_realloc(e->vals[idx], sizeof(char *) * (size_t)(e->nvals[idx] + 1));
	e->vals[idx][e->nvals[idx]++] = ks_strdup(value);
}

static void index_entry(struct kube_informer *inf, struct entry *e)
{
	const cJSON *o = e->obj;
	const char *ns = ks_json_str(o, "metadata.namespace");
	if (ns)
		file_under(inf, e, KUBE_IDX_NAMESPACE, ns);
	const cJSON *ref;
	cJSON_ArrayForEach(ref, ks_json_get(o, "metadata.ownerReferences"))
	{
		const char *uid = ks_json_str(ref, "uid");
		if (uid)
			file_under(inf, e, KUBE_IDX_OWNER, uid);
	}
	const char *node = ks_json_str(o, "spec.nodeName");
	if (node && *node)
		file_under(inf, e, KUBE_IDX_NODE, node);
	const cJSON *label;
	cJSON_ArrayForEach(label, ks_json_get(o, "metadata.labels"))
	{
		if (!cJSON_IsString(label))
			continue;
		char *kv = ks_asprintf("%s=%s", label->string, label->valuestring);
		file_under(inf, e, KUBE_IDX_LABEL, kv);
		free(kv);
	}
}

static void unindex_entry(struct kube_informer *inf, struct entry *e)
{
	for (int idx = 0; idx < KUBE_IDX_COUNT; idx++) {
		for (int i = 0; i < e->nvals[idx]; i++) {
			struct ks_ptrset *set = ks_map_get(&inf->index[idx], e->vals[idx][i]);
			if (set) {
				ks_ptrset_del(set, e);
				if (!set->len) {
					ks_map_del(&inf->index[idx], e->vals[idx][i]);
					ks_ptrset_release(set);
					free(set);
				}
			}
			free(e->vals[idx][i]);
		}
		free(e->vals[idx]);
		e->vals[idx] = NULL;
		e->nvals[idx] = 0;
	}
}

static void entry_free(struct entry *e)
{
	cJSON_Delete(e->obj);
	free(e->key);
	free(e);
}

/* Take ownership of obj; returns the entry. Calls the handlers. */
static void upsert(struct kube_informer *inf, cJSON *obj)
{
	kube_obj_strip(obj);
	char *key = obj_key(obj);
	struct entry *e = ks_map_get(&inf->objects, key);
	if (!e) {
		e = ks_calloc(1, sizeof *e);
		e->obj = obj;
		e->key = key;
		e->seen = true;
		ks_map_put(&inf->objects, key, e);
		index_entry(inf, e);
		for (size_t i = 0; i < inf->n_handlers; i++)
			if (inf->handlers[i].on_add)
				inf->handlers[i].on_add(inf->handlers[i].ctx, obj);
		return;
	}
	free(key);
	e->seen = true;
	const char *old_rv = ks_json_str_or(e->obj, "metadata.resourceVersion", "");
	const char *new_rv = ks_json_str_or(obj, "metadata.resourceVersion", "");
	if (!strcmp(old_rv, new_rv) && *new_rv) {
		cJSON_Delete(obj); /* a relist brought the same version: nothing changed */
		return;
	}
	cJSON *old = e->obj;
	unindex_entry(inf, e);
	e->obj = obj;
	index_entry(inf, e);
	for (size_t i = 0; i < inf->n_handlers; i++)
		if (inf->handlers[i].on_update)
			inf->handlers[i].on_update(inf->handlers[i].ctx, old, obj);
	cJSON_Delete(old);
}

static void remove_entry(struct kube_informer *inf, struct entry *e, const cJSON *final)
{
	ks_map_del(&inf->objects, e->key);
	unindex_entry(inf, e);
	for (size_t i = 0; i < inf->n_handlers; i++)
		if (inf->handlers[i].on_delete)
			inf->handlers[i].on_delete(inf->handlers[i].ctx, final ? final : e->obj);
	entry_free(e);
}

static void on_list(void *ctx, cJSON *items, const char *rv)
{
	struct kube_informer *inf = ctx;
	(void)rv;
	const char *k;
	void *v;
	for (size_t i = 0; ks_map_next(&inf->objects, &i, &k, &v);)
		((struct entry *)v)->seen = false;
	cJSON *it;
	while ((it = cJSON_DetachItemFromArray(items, 0)))
		upsert(inf, it);
	/* What the snapshot no longer holds was deleted while we were not watching. */
	size_t n = 0, cap = 0;
	struct entry **gone = NULL;
	for (size_t i = 0; ks_map_next(&inf->objects, &i, &k, &v);)
		if (!((struct entry *)v)->seen) {
			gone = ks_grow(gone, sizeof *gone, n + 1, &cap);
			gone[n++] = v;
		}
	for (size_t i = 0; i < n; i++)
		remove_entry(inf, gone[i], NULL);
	free(gone);
	if (!inf->synced) {
		inf->synced = true;
		for (size_t i = 0; i < inf->n_handlers; i++)
			if (inf->handlers[i].on_synced)
				inf->handlers[i].on_synced(inf->handlers[i].ctx);
	}
}

static void on_event(void *ctx, enum kube_event_type type, cJSON *obj)
{
	struct kube_informer *inf = ctx;
	if (type == KUBE_EV_ADDED || type == KUBE_EV_MODIFIED) {
		upsert(inf, cJSON_Duplicate(obj, true));
	} else if (type == KUBE_EV_DELETED) {
		char *key = obj_key(obj);
		struct entry *e = ks_map_get(&inf->objects, key);
		free(key);
		if (e) {
			kube_obj_strip(obj);
			remove_entry(inf, e, obj);
		}
	}
}

struct kube_informer *kube_informer_new(struct kube_client *c, const struct kube_resource *r,
					const struct kube_watch_opts *o)
{
	struct kube_informer *inf = ks_calloc(1, sizeof *inf);
	inf->c = c;
	inf->r = *r;
	ks_map_init(&inf->objects);
	for (int i = 0; i < KUBE_IDX_COUNT; i++)
		ks_map_init(&inf->index[i]);
	struct kube_watch_handlers wh = {.on_list = on_list, .on_event = on_event, .ctx = inf};
	inf->watch = kube_watch_new(c, r, o, &wh);
	return inf;
}

void kube_informer_add_handlers(struct kube_informer *inf, const struct kube_informer_handlers *h)
{
	inf->handlers = ks_grow(inf->handlers, sizeof *inf->handlers, inf->n_handlers + 1,
				&inf->cap_handlers);
	inf->handlers[inf->n_handlers++] = *h;
}

void kube_informer_start(struct kube_informer *inf)
{
	kube_watch_start(inf->watch);
}

void kube_informer_stop(struct kube_informer *inf)
{
	kube_watch_stop(inf->watch);
}

void kube_informer_free(struct kube_informer *inf)
{
	if (!inf)
		return;
	kube_watch_free(inf->watch);
	const char *k;
	void *v;
	for (size_t i = 0; ks_map_next(&inf->objects, &i, &k, &v);) {
		struct entry *e = v;
		for (int idx = 0; idx < KUBE_IDX_COUNT; idx++) {
			for (int j = 0; j < e->nvals[idx]; j++)
				free(e->vals[idx][j]);
			free(e->vals[idx]);
		}
		entry_free(e);
	}
	ks_map_release(&inf->objects);
	for (int idx = 0; idx < KUBE_IDX_COUNT; idx++) {
		for (size_t i = 0; ks_map_next(&inf->index[idx], &i, &k, &v);) {
			ks_ptrset_release(v);
			free(v);
		}
		ks_map_release(&inf->index[idx]);
	}
	free(inf->handlers);
	free(inf);
}

bool kube_informer_synced(const struct kube_informer *inf)
{
	return inf->synced;
}

void kube_informer_poll(struct kube_informer *inf, long timeout_ms)
{
	kube_watch_poll(inf->watch, timeout_ms);
}

bool kube_informer_wait_synced(struct kube_informer *inf, long timeout_ms)
{
	int64_t end = ks_mono_ms() + timeout_ms;
	while (!inf->synced && ks_mono_ms() < end)
		kube_informer_poll(inf, 200);
	return inf->synced;
}

size_t kube_informer_count(const struct kube_informer *inf)
{
	return inf->objects.len;
}

const cJSON *kube_informer_get(const struct kube_informer *inf, const char *ns,
			       const char *name)
{
	char *key = ks_asprintf("%s/%s", ns ? ns : "", name);
	struct entry *e = ks_map_get(&inf->objects, key);
	free(key);
	return e ? e->obj : NULL;
}

size_t kube_informer_by_index(const struct kube_informer *inf, enum kube_index idx,
			      const char *value, int (*fn)(void *ctx, const cJSON *obj), void *ctx)
{
	const struct ks_ptrset *set = ks_map_get(&inf->index[idx], value);
	size_t n = 0;
	void *p;
	for (size_t i = 0; set && ks_ptrset_next(set, &i, &p);) {
		n++;
		if (fn(ctx, ((struct entry *)p)->obj))
			break;
	}
	return n;
}

size_t kube_informer_each(const struct kube_informer *inf, int (*fn)(void *ctx, const cJSON *obj),
			  void *ctx)
{
	size_t n = 0;
	const char *k;
	void *v;
	for (size_t i = 0; ks_map_next(&inf->objects, &i, &k, &v);) {
		n++;
		if (fn(ctx, ((struct entry *)v)->obj))
			break;
	}
	return n;
}

struct kube_watch *kube_informer_watch(struct kube_informer *inf)
{
	return inf->watch;
}
