/* informer.c — see informer.h.
 *
 * Store layout, chosen for memory (150,000 pods in well under 1 KB each):
 *   - objects: map "ns/name" -> objstore id of the stripped object (the id is the map's
 *     value; there is no per-object struct);
 *   - indexes: for each of the four, a map from index value to a ks_ptrset of object ids.
 *     An object's index values are derived from its stored tree whenever it is filed or
 *     unfiled, so nothing per object remembers them.
 * Invariants:
 *   1. The informer holds exactly one objstore reference per cached object.
 *   2. An id is filed under exactly the index values its tree yields (file on store, unfile
 *      with the same tree before it is unref'd).
 *   3. Handlers run after the cache reflects the change. */
#include "base/common.h"
#include "base/hashmap.h"
#include "base/json.h"
#include "base/timeutil.h"
#include "kube/informer.h"

#include <stdio.h>
#include <string.h>

#define ID2P(id) ((void *)(uintptr_t)(id))
#define P2ID(p) ((uint32_t)(uintptr_t)(p))

struct kube_informer {
	struct kube_client *c;
	struct kube_resource r;
	struct kube_watch *watch;
	struct kube_objstore *st;
	struct ks_map objects;               /* "ns/name" -> id */
	struct ks_map index[KUBE_IDX_COUNT]; /* value -> struct ks_ptrset of ids */
	struct ks_ptrset seen;               /* during a LIST: ids confirmed by the snapshot */
	bool listing;
	struct kube_informer_handlers *handlers;
	size_t n_handlers, cap_handlers;
	size_t index_entries;
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

static void obj_key(const cJSON *obj, struct ks_buf *key)
{
	ks_buf_reset(key);
	ks_buf_appendf(key, "%s/%s", ks_json_str_or(obj, "metadata.namespace", ""),
		       ks_json_str_or(obj, "metadata.name", ""));
}

/* Call fn for each index value of the tree id. */
static void each_index_value(struct kube_informer *inf, uint32_t id,
			     void (*fn)(struct kube_informer *, enum kube_index, const char *,
					uint32_t),
			     uint32_t arg)
{
	const struct kube_objstore *st = inf->st;
	char tmp[KUBE_OBJSTORE_STRTMP], tmp2[KUBE_OBJSTORE_STRTMP];
	const char *s = kube_objstore_str(st, kube_objstore_get(st, id, "metadata.namespace"), tmp,
					  NULL);
	if (s)
		fn(inf, KUBE_IDX_NAMESPACE, s, arg);
	uint32_t refs = kube_objstore_get(st, id, "metadata.ownerReferences");
	size_t n = kube_objstore_len(st, refs);
	for (size_t i = 0; i < n; i++) {
		s = kube_objstore_str(st, kube_objstore_get(st, kube_objstore_at(st, refs, i), "uid"),
				      tmp, NULL);
		if (s)
			fn(inf, KUBE_IDX_OWNER, s, arg);
	}
	s = kube_objstore_str(st, kube_objstore_get(st, id, "spec.nodeName"), tmp, NULL);
	if (s && *s)
		fn(inf, KUBE_IDX_NODE, s, arg);
	uint32_t labels = kube_objstore_get(st, id, "metadata.labels");
	n = kube_objstore_type(st, labels) == KUBE_OBJ_OBJECT ? kube_objstore_len(st, labels) : 0;
	struct ks_buf kv;
	ks_buf_init(&kv, KS_BUF_UNLIMITED);
	for (size_t i = 0; i < n; i++) {
		const char *k = kube_objstore_str(st, kube_objstore_key(st, labels, i), tmp, NULL);
		const char *v = kube_objstore_str(st, kube_objstore_val(st, labels, i), tmp2, NULL);
		if (!k || !v)
			continue;
		ks_buf_reset(&kv);
		ks_buf_appendf(&kv, "%s=%s", k, v);
		fn(inf, KUBE_IDX_LABEL, kv.data, arg);
	}
	ks_buf_release(&kv);
}

static void file_one(struct kube_informer *inf, enum kube_index idx, const char *value,
		     uint32_t id)
{
	struct ks_ptrset *set = ks_map_get(&inf->index[idx], value);
	if (!set) {
		set = ks_calloc(1, sizeof *set);
		ks_map_put(&inf->index[idx], value, set);
	}
	inf->index_entries += (size_t)ks_ptrset_add(set, ID2P(id));
}

static void unfile_one(struct kube_informer *inf, enum kube_index idx, const char *value,
		       uint32_t id)
{
	struct ks_ptrset *set = ks_map_get(&inf->index[idx], value);
	if (!set)
		return;
	inf->index_entries -= (size_t)ks_ptrset_del(set, ID2P(id));
	if (!set->len) {
		ks_map_del(&inf->index[idx], value);
		ks_ptrset_release(set);
		free(set);
	}
}

static void call_add(struct kube_informer *inf, const cJSON *obj)
{
	for (size_t i = 0; i < inf->n_handlers; i++)
		if (inf->handlers[i].on_add)
			inf->handlers[i].on_add(inf->handlers[i].ctx, obj);
}

static bool wants_old(const struct kube_informer *inf)
{
	for (size_t i = 0; i < inf->n_handlers; i++)
		if (inf->handlers[i].on_update)
			return true;
	return false;
}

/* Store obj (stripped here; borrowed) under its key; calls the handlers. */
static void upsert(struct kube_informer *inf, cJSON *obj, struct ks_buf *key)
{
	kube_obj_strip(obj);
	obj_key(obj, key);
	uint32_t id = kube_objstore_intern(inf->st, obj);
	if (id == KUBE_OBJ_NONE) {
		KS_WARN("informer", "%s %s: not cached (too deep or too large)", inf->r.resource,
			key->data);
		return;
	}
	void *old = ks_map_get(&inf->objects, key->data);
	uint32_t old_id = P2ID(old);
	if (old_id == id) {
		/* Unchanged (a relist brought the same object): nothing to say. */
		kube_objstore_unref(inf->st, id);
		if (inf->listing)
			ks_ptrset_add(&inf->seen, ID2P(id));
		return;
	}
	ks_map_put(&inf->objects, key->data, ID2P(id));
	each_index_value(inf, id, file_one, id);
	if (inf->listing)
		ks_ptrset_add(&inf->seen, ID2P(id));
	if (!old_id) {
		call_add(inf, obj);
		return;
	}
	each_index_value(inf, old_id, unfile_one, old_id);
	cJSON *old_json = wants_old(inf) ? kube_objstore_to_cjson(inf->st, old_id) : NULL;
	for (size_t i = 0; i < inf->n_handlers; i++)
		if (inf->handlers[i].on_update)
			inf->handlers[i].on_update(inf->handlers[i].ctx, old_json, obj);
	cJSON_Delete(old_json);
	kube_objstore_unref(inf->st, old_id);
}

/* Remove the object under key; final is what the DELETED event carried (or NULL). */
static void remove_key(struct kube_informer *inf, const char *key, const cJSON *final)
{
	uint32_t id = P2ID(ks_map_del(&inf->objects, key));
	if (!id)
		return;
	each_index_value(inf, id, unfile_one, id);
	cJSON *gone = final ? NULL : kube_objstore_to_cjson(inf->st, id);
	for (size_t i = 0; i < inf->n_handlers; i++)
		if (inf->handlers[i].on_delete)
			inf->handlers[i].on_delete(inf->handlers[i].ctx, final ? final : gone);
	cJSON_Delete(gone);
	kube_objstore_unref(inf->st, id);
}

/* A LIST arrives as begin, pages, end (watch.h invariant 2): the seen set collects what the
 * snapshot holds; only at the end is what it lacks deleted. */
static void list_begin(void *ctx)
{
	struct kube_informer *inf = ctx;
	ks_ptrset_release(&inf->seen);
	ks_ptrset_init(&inf->seen);
	inf->listing = true;
}

static void list_page(void *ctx, cJSON *items)
{
	struct kube_informer *inf = ctx;
	struct ks_buf key;
	ks_buf_init(&key, KS_BUF_UNLIMITED);
	cJSON *it;
	cJSON_ArrayForEach(it, items)
		upsert(inf, it, &key);
	ks_buf_release(&key);
}

static void list_end(void *ctx, const char *rv)
{
	struct kube_informer *inf = ctx;
	(void)rv;
	/* What the snapshot no longer holds was deleted while we were not watching. */
	size_t n = 0, cap = 0;
	char **gone = NULL;
	const char *k;
	void *v;
	for (size_t i = 0; ks_map_next(&inf->objects, &i, &k, &v);)
		if (!ks_ptrset_has(&inf->seen, v)) {
			gone = ks_grow(gone, sizeof *gone, n + 1, &cap);
			gone[n++] = ks_strdup(k);
		}
	for (size_t i = 0; i < n; i++) {
		remove_key(inf, gone[i], NULL);
		free(gone[i]);
	}
	free(gone);
	ks_ptrset_release(&inf->seen);
	ks_ptrset_init(&inf->seen);
	inf->listing = false;
	if (!inf->synced) {
		inf->synced = true;
		for (size_t i = 0; i < inf->n_handlers; i++)
			if (inf->handlers[i].on_synced)
				inf->handlers[i].on_synced(inf->handlers[i].ctx);
	}
}

void kube_informer_replace(struct kube_informer *inf, cJSON *items)
{
	list_begin(inf);
	list_page(inf, items);
	list_end(inf, NULL);
}

void kube_informer_list_begin(struct kube_informer *inf)
{
	list_begin(inf);
}

void kube_informer_list_page(struct kube_informer *inf, cJSON *items)
{
	list_page(inf, items);
}

void kube_informer_list_end(struct kube_informer *inf)
{
	list_end(inf, NULL);
}

static void on_event(void *ctx, enum kube_event_type type, cJSON *obj)
{
	kube_informer_apply(ctx, type, obj);
}

void kube_informer_apply(struct kube_informer *inf, enum kube_event_type type, cJSON *obj)
{
	struct ks_buf key;
	ks_buf_init(&key, KS_BUF_UNLIMITED);
	if (type == KUBE_EV_ADDED || type == KUBE_EV_MODIFIED) {
		upsert(inf, obj, &key);
	} else if (type == KUBE_EV_DELETED) {
		kube_obj_strip(obj);
		obj_key(obj, &key);
		remove_key(inf, key.data, obj);
	}
	ks_buf_release(&key);
}

struct kube_informer *kube_informer_new(struct kube_client *c, const struct kube_resource *r,
					const struct kube_watch_opts *o)
{
	struct kube_informer *inf = ks_calloc(1, sizeof *inf);
	inf->c = c;
	inf->r = *r;
	inf->st = kube_objstore_new();
	ks_map_init(&inf->objects);
	ks_ptrset_init(&inf->seen);
	for (int i = 0; i < KUBE_IDX_COUNT; i++)
		ks_map_init(&inf->index[i]);
	struct kube_watch_handlers wh = {.on_list_begin = list_begin, .on_list_page = list_page,
					 .on_list_end = list_end, .on_event = on_event, .ctx = inf};
	if (c)
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
	if (inf->watch)
		kube_watch_start(inf->watch);
}

void kube_informer_stop(struct kube_informer *inf)
{
	if (inf->watch)
		kube_watch_stop(inf->watch);
}

void kube_informer_free(struct kube_informer *inf)
{
	if (!inf)
		return;
	kube_watch_free(inf->watch);
	ks_map_release(&inf->objects);
	const char *k;
	void *v;
	for (int idx = 0; idx < KUBE_IDX_COUNT; idx++) {
		for (size_t i = 0; ks_map_next(&inf->index[idx], &i, &k, &v);) {
			ks_ptrset_release(v);
			free(v);
		}
		ks_map_release(&inf->index[idx]);
	}
	ks_ptrset_release(&inf->seen);
	kube_objstore_free(inf->st); /* drops every object at once */
	free(inf->handlers);
	free(inf);
}

bool kube_informer_synced(const struct kube_informer *inf)
{
	return inf->synced;
}

void kube_informer_poll(struct kube_informer *inf, long timeout_ms)
{
	if (inf->watch)
		kube_watch_poll(inf->watch, timeout_ms);
}

bool kube_informer_wait_synced(struct kube_informer *inf, long timeout_ms)
{
	int64_t end = ks_mono_ms() + timeout_ms;
	while (!inf->synced && inf->watch && ks_mono_ms() < end)
		kube_informer_poll(inf, 200);
	return inf->synced;
}

size_t kube_informer_count(const struct kube_informer *inf)
{
	return inf->objects.len;
}

uint32_t kube_informer_get(const struct kube_informer *inf, const char *ns, const char *name)
{
	char *key = ks_asprintf("%s/%s", ns ? ns : "", name);
	uint32_t id = P2ID(ks_map_get(&inf->objects, key));
	free(key);
	return id;
}

cJSON *kube_informer_get_json(const struct kube_informer *inf, const char *ns, const char *name)
{
	uint32_t id = kube_informer_get(inf, ns, name);
	return id ? kube_objstore_to_cjson(inf->st, id) : NULL;
}

const struct kube_objstore *kube_informer_store(const struct kube_informer *inf)
{
	return inf->st;
}

size_t kube_informer_by_index(const struct kube_informer *inf, enum kube_index idx,
			      const char *value, kube_informer_visit_fn fn, void *ctx)
{
	const struct ks_ptrset *set = ks_map_get(&inf->index[idx], value);
	size_t n = 0;
	void *p;
	for (size_t i = 0; set && ks_ptrset_next(set, &i, &p);) {
		n++;
		if (fn(ctx, inf->st, P2ID(p)))
			break;
	}
	return n;
}

size_t kube_informer_each(const struct kube_informer *inf, kube_informer_visit_fn fn, void *ctx)
{
	size_t n = 0;
	const char *k;
	void *v;
	for (size_t i = 0; ks_map_next(&inf->objects, &i, &k, &v);) {
		n++;
		if (fn(ctx, inf->st, P2ID(v)))
			break;
	}
	return n;
}

struct kube_watch *kube_informer_watch(struct kube_informer *inf)
{
	return inf->watch;
}

void kube_informer_get_stats(const struct kube_informer *inf, struct kube_informer_stats *out)
{
	memset(out, 0, sizeof *out);
	out->objects = inf->objects.len;
	out->index_entries = inf->index_entries;
	const char *k;
	void *v;
	out->map_bytes = inf->objects.cap * sizeof(struct ks_map_slot);
	for (size_t i = 0; ks_map_next(&inf->objects, &i, &k, &v);)
		out->map_bytes += strlen(k) + 1;
	for (int idx = 0; idx < KUBE_IDX_COUNT; idx++) {
		out->map_bytes += inf->index[idx].cap * sizeof(struct ks_map_slot);
		for (size_t i = 0; ks_map_next(&inf->index[idx], &i, &k, &v);)
			out->map_bytes += strlen(k) + 1 + sizeof(struct ks_ptrset) +
					  ((struct ks_ptrset *)v)->cap * sizeof(void *);
	}
}
