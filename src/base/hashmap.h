/* hashmap.h — open-addressing hash maps.
 *   ks_map:    string key (copied, owned by the map) -> void * (borrowed)
 *   ks_ptrset: a set of pointers (borrowed)
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

struct ks_ptrset {
	void **slots;
	size_t cap, len;
};
void ks_ptrset_init(struct ks_ptrset *s);
void ks_ptrset_release(struct ks_ptrset *s);
int ks_ptrset_add(struct ks_ptrset *s, void *p); /* 1 when added, 0 when present */
int ks_ptrset_del(struct ks_ptrset *s, void *p); /* 1 when removed */
int ks_ptrset_has(const struct ks_ptrset *s, const void *p);
int ks_ptrset_next(const struct ks_ptrset *s, size_t *i, void **p);

#endif
