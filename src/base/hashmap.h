/* hashmap.h — open-addressing hash maps.
 *   ks_map:    string key (copied, owned by the map) -> void * (borrowed)
 *   ks_u32set: a set of non-zero uint32 values
 * Linear probing, power-of-two capacity, load kept under 0.7, tombstone-free deletion by
 * backward shift. Iteration order is the slot order (not insertion order). */
#ifndef KS_HASHMAP_H
#define KS_HASHMAP_H

#include <stddef.h>
#include <stdint.h>

struct ks_map_slot {
	char *key; /* NULL: empty */
	uint64_t hash;
	void *value;
};

struct ks_map {
	struct ks_map_slot *slots;
	size_t cap, len;
};

uint64_t ks_hash(const void *p, size_t n);

void ks_map_init(struct ks_map *m);
/* Free keys and slots; values are the caller's (free them first with ks_map_each). */
void ks_map_release(struct ks_map *m);
void *ks_map_get(const struct ks_map *m, const char *key);
void *ks_map_getn(const struct ks_map *m, const char *key, size_t len);
/* Insert or replace; returns the previous value or NULL. */
void *ks_map_put(struct ks_map *m, const char *key, void *value);
/* Remove; returns the value or NULL. */
void *ks_map_del(struct ks_map *m, const char *key);
/* Iterate: `for (size_t i = 0; ks_map_next(m, &i, &k, &v);)`. */
int ks_map_next(const struct ks_map *m, size_t *i, const char **key, void **value);

/* A set of non-zero 32-bit ids (objstore ids): 4 bytes a slot. */
struct ks_u32set {
	uint32_t *slots;
	size_t cap, len;
};
void ks_u32set_init(struct ks_u32set *s);
void ks_u32set_release(struct ks_u32set *s);
int ks_u32set_add(struct ks_u32set *s, uint32_t v); /* 1 when added, 0 when present */
int ks_u32set_del(struct ks_u32set *s, uint32_t v); /* 1 when removed */
int ks_u32set_has(const struct ks_u32set *s, uint32_t v);
int ks_u32set_next(const struct ks_u32set *s, size_t *i, uint32_t *v);

#endif
