/* informer.c — see informer.h.
 *
 * Store layout, chosen for memory (150,000 pods in well under 1 KB each):
 *   - objects: an open-addressing table of (id, hash of namespace and name) pairs, 8 bytes
 *     a slot; a look-up confirms a hash match by reading the namespace and name from the
 *     stored tree, so no key string is kept anywhere;
 *   - indexes: for each of the four, a map from index value to a ks_u32set of object ids.
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

struct objslot {
	uint32_t id; /* 0: empty */
	uint32_t hash;
};

struct kube_informer {
	struct kube_client *c;
	struct kube_resource r;
	struct kube_watch *watch;
	struct kube_objstore *st;
	struct objslot *slots; /* the objects, see above */
	size_t cap, len;
	struct ks_map index[KUBE_IDX_COUNT]; /* value -> struct ks_u32set of ids */
	struct ks_u32set seen;               /* during a LIST: ids confirmed by the snapshot */
	bool listing;
	struct kube_informer_handlers *handlers;
	size_t n_handlers, cap_handlers;
	size_t index_entries;
	bool synced;
	kube_informer_transform_fn transform;
	void *transform_ctx;
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

/* ---- the object table ---- */

static uint32_t key_hash(const char *ns, const char *name)
{
	size_t nl = strlen(ns), ml = strlen(name);
	uint64_t h = ks_hash(ns, nl) ^ (ks_hash(name, ml) * 0x9e3779b97f4a7c15ULL);
	return (uint32_t)(h ^ (h >> 32));
}

static bool same_key(const struct kube_informer *inf, uint32_t id, const char *ns,
		     const char *name)
{
	uint32_t n = kube_objstore_get(inf->st, id, "metadata.name");
	if (!kube_objstore_str_eq(inf->st, n, name, strlen(name)))
		return false;
	uint32_t s = kube_objstore_get(inf->st, id, "metadata.namespace");
	if (s == KUBE_OBJ_NONE)
		return *ns == '\0';
	return kube_objstore_str_eq(inf->st, s, ns, strlen(ns));
}

/* The slot holding ns/name, or the empty slot where it would go. */
static size_t slot_find(const struct kube_informer *inf, const char *ns, const char *name,
			uint32_t h)
{
	size_t mask = inf->cap - 1, i = h & mask;
	while (inf->slots[i].id &&
	       !(inf->slots[i].hash == h && same_key(inf, inf->slots[i].id, ns, name)))
		i = (i + 1) & mask;
	return i;
}

static void table_grow(struct kube_informer *inf)
{
	struct objslot *old = inf->slots;
	size_t old_cap = inf->cap;
	inf->cap = old_cap ? old_cap * 2 : 64;
	inf->slots = ks_calloc(inf->cap, sizeof *inf->slots);
	for (size_t i = 0; i < old_cap; i++) {
		if (!old[i].id)
			continue;
		size_t j = old[i].hash & (inf->cap - 1);
		while (inf->slots[j].id)
			j = (j + 1) & (inf->cap - 1);
		inf->slots[j] = old[i];
	}
	free(old);
}

static uint32_t table_get(const struct kube_informer *inf, const char *ns, const char *name)
{
	if (!inf->len)
		return KUBE_OBJ_NONE;
	return inf->slots[slot_find(inf, ns, name, key_hash(ns, name))].id;
}

/* Put id under ns/name; returns the id it replaces (or NONE). */
static uint32_t table_put(struct kube_informer *inf, const char *ns, const char *name, uint32_t id)
{
	if ((inf->len + 1) * 10 > inf->cap * 7)
		table_grow(inf);
	uint32_t h = key_hash(ns, name);
	size_t i = slot_find(inf, ns, name, h);
	uint32_t old = inf->slots[i].id;
	inf->slots[i].id = id;
	inf->slots[i].hash = h;
	inf->len += old == KUBE_OBJ_NONE;
	return old;
}

/* Remove ns/name; returns its id (or NONE). */
static uint32_t table_del(struct kube_informer *inf, const char *ns, const char *name)
{
	if (!inf->len)
		return KUBE_OBJ_NONE;
	size_t mask = inf->cap - 1;
	size_t i = slot_find(inf, ns, name, key_hash(ns, name));
	uint32_t id = inf->slots[i].id;
	if (!id)
		return KUBE_OBJ_NONE;
	inf->slots[i].id = 0;
	inf->len--;
	for (size_t j = (i + 1) & mask; inf->slots[j].id; j = (j + 1) & mask) {
		size_t home = inf->slots[j].hash & mask;
		if ((j > i && (home <= i || home > j)) || (j < i && home <= i && home > j)) {
			inf->slots[i] = inf->slots[j];
			inf->slots[j].id = 0;
			i = j;
		}
	}
	return id;
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
	struct ks_u32set *set = ks_map_get(&inf->index[idx], value);
	if (!set) {
		set = ks_calloc(1, sizeof *set);
		ks_map_put(&inf->index[idx], value, set);
	}
	inf->index_entries += (size_t)ks_u32set_add(set, id);
}

static void unfile_one(struct kube_informer *inf, enum kube_index idx, const char *value,
		       uint32_t id)
{
	struct ks_u32set *set = ks_map_get(&inf->index[idx], value);
	if (!set)
		return;
	inf->index_entries -= (size_t)ks_u32set_del(set, id);
	if (!set->len) {
		ks_map_del(&inf->index[idx], value);
		ks_u32set_release(set);
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

/* Store obj (stripped here; borrowed) under its namespace/name; calls the handlers. */
static void upsert(struct kube_informer *inf, cJSON *obj)
{
	kube_obj_strip(obj);
	if (inf->transform)
		inf->transform(inf->transform_ctx, obj);
	const char *ns = ks_json_str_or(obj, "metadata.namespace", "");
	const char *name = ks_json_str_or(obj, "metadata.name", "");
	uint32_t id = kube_objstore_intern(inf->st, obj);
	if (id == KUBE_OBJ_NONE) {
		KS_WARN("informer", "%s %s/%s: not cached (too deep or too large)", inf->r.resource,
			ns, name);
		return;
	}
	uint32_t old_id = table_get(inf, ns, name);
	if (old_id == id) {
		/* Unchanged (a relist brought the same object): nothing to say. */
		kube_objstore_unref(inf->st, id);
		if (inf->listing)
			ks_u32set_add(&inf->seen, id);
		return;
	}
	table_put(inf, ns, name, id);
	each_index_value(inf, id, file_one, id);
	if (inf->listing)
		ks_u32set_add(&inf->seen, id);
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

/* Remove ns/name; final is what the DELETED event carried (or NULL). */
static void remove_key(struct kube_informer *inf, const char *ns, const char *name,
		       const cJSON *final)
{
	uint32_t id = table_del(inf, ns, name);
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
	ks_u32set_release(&inf->seen);
	ks_u32set_init(&inf->seen);
	inf->listing = true;
}

static void list_page(void *ctx, cJSON *items)
{
	struct kube_informer *inf = ctx;
	cJSON *it;
	cJSON_ArrayForEach(it, items)
		upsert(inf, it);
}

static void list_end(void *ctx, const char *rv)
{
	struct kube_informer *inf = ctx;
	(void)rv;
	/* What the snapshot no longer holds was deleted while we were not watching. */
	size_t n = 0, cap = 0;
	uint32_t *gone = NULL;
	for (size_t i = 0; i < inf->cap; i++)
		if (inf->slots[i].id && !ks_u32set_has(&inf->seen, inf->slots[i].id)) {
			gone = ks_grow(gone, sizeof *gone, n + 1, &cap);
			gone[n++] = kube_objstore_ref(inf->st, inf->slots[i].id);
		}
	char tmp[KUBE_OBJSTORE_STRTMP], tmp2[KUBE_OBJSTORE_STRTMP];
	for (size_t i = 0; i < n; i++) {
		const char *ns = kube_objstore_str(
			inf->st, kube_objstore_get(inf->st, gone[i], "metadata.namespace"), tmp, NULL);
		const char *name = kube_objstore_str(
			inf->st, kube_objstore_get(inf->st, gone[i], "metadata.name"), tmp2, NULL);
		char *nsc = ks_strdup(ns ? ns : ""), *namec = ks_strdup(name ? name : "");
		remove_key(inf, nsc, namec, NULL);
		free(nsc);
		free(namec);
		kube_objstore_unref(inf->st, gone[i]);
	}
	free(gone);
	ks_u32set_release(&inf->seen);
	ks_u32set_init(&inf->seen);
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
	if (type == KUBE_EV_ADDED || type == KUBE_EV_MODIFIED) {
		upsert(inf, obj);
	} else if (type == KUBE_EV_DELETED) {
		kube_obj_strip(obj);
		remove_key(inf, ks_json_str_or(obj, "metadata.namespace", ""),
			   ks_json_str_or(obj, "metadata.name", ""), obj);
	}
}

struct kube_informer *kube_informer_new(struct kube_client *c, const struct kube_resource *r,
					const struct kube_watch_opts *o)
{
	struct kube_informer *inf = ks_calloc(1, sizeof *inf);
	inf->c = c;
	inf->r = *r;
	inf->st = kube_objstore_new();
	ks_u32set_init(&inf->seen);
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

void kube_informer_set_transform(struct kube_informer *inf, kube_informer_transform_fn fn,
				 void *ctx)
{
	inf->transform = fn;
	inf->transform_ctx = ctx;
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
	free(inf->slots);
	const char *k;
	void *v;
	for (int idx = 0; idx < KUBE_IDX_COUNT; idx++) {
		for (size_t i = 0; ks_map_next(&inf->index[idx], &i, &k, &v);) {
			ks_u32set_release(v);
			free(v);
		}
		ks_map_release(&inf->index[idx]);
	}
	ks_u32set_release(&inf->seen);
	kube_objstore_free(inf->st); /* drops every object at once */
	free(inf->handlers);
	free(inf);
}

bool kube_informer_synced(const struct kube_informer *inf)
{
	return inf->synced;
}

long kube_informer_tick(struct kube_informer *inf, long timeout_ms)
{
	return inf && inf->watch ? kube_watch_tick(inf->watch, timeout_ms) : timeout_ms;
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
	return inf->len;
}

uint32_t kube_informer_get(const struct kube_informer *inf, const char *ns, const char *name)
{
	return table_get(inf, ns ? ns : "", name);
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

size_t kube_informer_index_size(const struct kube_informer *inf, enum kube_index idx,
				const char *value)
{
	const struct ks_u32set *set = ks_map_get(&inf->index[idx], value);
	return set ? set->len : 0;
}

size_t kube_informer_by_index(const struct kube_informer *inf, enum kube_index idx,
			      const char *value, kube_informer_visit_fn fn, void *ctx)
{
	const struct ks_u32set *set = ks_map_get(&inf->index[idx], value);
	size_t n = 0;
	uint32_t id;
	for (size_t i = 0; set && ks_u32set_next(set, &i, &id);) {
		n++;
		if (fn(ctx, inf->st, id))
			break;
	}
	return n;
}

size_t kube_informer_each(const struct kube_informer *inf, kube_informer_visit_fn fn, void *ctx)
{
	size_t n = 0;
	for (size_t i = 0; i < inf->cap; i++) {
		if (!inf->slots[i].id)
			continue;
		n++;
		if (fn(ctx, inf->st, inf->slots[i].id))
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
	out->objects = inf->len;
	out->index_entries = inf->index_entries;
	const char *k;
	void *v;
	out->map_bytes = inf->cap * sizeof(struct objslot);
	for (int idx = 0; idx < KUBE_IDX_COUNT; idx++) {
		out->map_bytes += inf->index[idx].cap * sizeof(struct ks_map_slot);
		for (size_t i = 0; ks_map_next(&inf->index[idx], &i, &k, &v);)
			out->map_bytes += strlen(k) + 1 + sizeof(struct ks_u32set) +
					  ((struct ks_u32set *)v)->cap * sizeof(uint32_t);
	}
}
