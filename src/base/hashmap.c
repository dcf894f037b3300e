/* hashmap.c — see hashmap.h. Hash: 64-bit FNV-1a folded with a final avalanche (splitmix). */
#include "base/common.h"
#include "base/hashmap.h"

#include <string.h>

uint64_t ks_hash(const void *p, size_t n)
{
	const unsigned char *s = p;
	uint64_t h = 1469598103934665603ULL;
	for (size_t i = 0; i < n; i++) {
		h ^= s[i];
		h *= 1099511628211ULL;
	}
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebULL;
	h ^= h >> 31;
	return h;
}

void ks_map_init(struct ks_map *m)
{
	m->slots = NULL;
	m->cap = m->len = 0;
}

void ks_map_release(struct ks_map *m)
{
	for (size_t i = 0; i < m->cap; i++)
		free(m->slots[i].key);
	free(m->slots);
	ks_map_init(m);
}

static size_t find_slot(const struct ks_map *m, const char *key, size_t len, uint64_t h)
{
	size_t mask = m->cap - 1, i = h & mask;
	while (m->slots[i].key) {
		if (m->slots[i].hash == h && !strncmp(m->slots[i].key, key, len) &&
		    m->slots[i].key[len] == '\0')
			return i;
		i = (i + 1) & mask;
	}
	return i;
}

static void grow(struct ks_map *m)
{
	struct ks_map old = *m;
	m->cap = old.cap ? old.cap * 2 : 16;
	m->slots = ks_calloc(m->cap, sizeof *m->slots);
	for (size_t i = 0; i < old.cap; i++) {
		if (!old.slots[i].key)
			continue;
		size_t j = old.slots[i].hash & (m->cap - 1);
		while (m->slots[j].key)
			j = (j + 1) & (m->cap - 1);
		m->slots[j] = old.slots[i];
	}
	free(old.slots);
}

void *ks_map_getn(const struct ks_map *m, const char *key, size_t len)
{
	if (!m->len)
		return NULL;
	size_t i = find_slot(m, key, len, ks_hash(key, len));
	return m->slots[i].key ? m->slots[i].value : NULL;
}

void *ks_map_get(const struct ks_map *m, const char *key)
{
	return ks_map_getn(m, key, strlen(key));
}

void *ks_map_put(struct ks_map *m, const char *key, void *value)
{
	if ((m->len + 1) * 10 > m->cap * 7)
		grow(m);
	size_t len = strlen(key);
	uint64_t h = ks_hash(key, len);
	size_t i = find_slot(m, key, len, h);
	if (m->slots[i].key) {
		void *old = m->slots[i].value;
		m->slots[i].value = value;
		return old;
	}
	m->slots[i].key = ks_strndup(key, len);
	m->slots[i].hash = h;
	m->slots[i].value = value;
	m->len++;
	return NULL;
}

void *ks_map_del(struct ks_map *m, const char *key)
{
	if (!m->len)
		return NULL;
	size_t len = strlen(key), mask = m->cap - 1;
	size_t i = find_slot(m, key, len, ks_hash(key, len));
	if (!m->slots[i].key)
		return NULL;
	void *value = m->slots[i].value;
	free(m->slots[i].key);
	m->slots[i].key = NULL;
	m->len--;
	/* Backward-shift the run after i so probes stay unbroken. */
	for (size_t j = (i + 1) & mask; m->slots[j].key; j = (j + 1) & mask) {
		size_t home = m->slots[j].hash & mask;
		if ((j > i && (home <= i || home > j)) || (j < i && home <= i && home > j)) {
			m->slots[i] = m->slots[j];
			m->slots[j].key = NULL;
			i = j;
		}
	}
	return value;
}

int ks_map_next(const struct ks_map *m, size_t *i, const char **key, void **value)
{
	while (*i < m->cap) {
		struct ks_map_slot *s = &m->slots[(*i)++];
		if (s->key) {
			if (key)
				*key = s->key;
			if (value)
				*value = s->value;
			return 1;
		}
	}
	return 0;
}

static uint64_t u32_hash(uint32_t v)
{
	uint64_t h = v;
	h ^= h >> 16;
	h *= 0x45d9f3bULL;
	h ^= h >> 16;
	return h;
}

void ks_u32set_init(struct ks_u32set *s)
{
	s->slots = NULL;
	s->cap = s->len = 0;
}

void ks_u32set_release(struct ks_u32set *s)
{
	free(s->slots);
	ks_u32set_init(s);
}

static size_t ufind(const struct ks_u32set *s, uint32_t v)
{
	size_t mask = s->cap - 1, i = u32_hash(v) & mask;
	while (s->slots[i] && s->slots[i] != v)
		i = (i + 1) & mask;
	return i;
}

int ks_u32set_add(struct ks_u32set *s, uint32_t v)
{
	if ((s->len + 1) * 10 > s->cap * 7) {
		struct ks_u32set old = *s;
		s->cap = old.cap ? old.cap * 2 : 4;
		s->slots = ks_calloc(s->cap, sizeof *s->slots);
		s->len = 0;
		for (size_t i = 0; i < old.cap; i++)
			if (old.slots[i]) {
				s->slots[ufind(s, old.slots[i])] = old.slots[i];
				s->len++;
			}
		free(old.slots);
	}
	size_t i = ufind(s, v);
	if (s->slots[i])
		return 0;
	s->slots[i] = v;
	s->len++;
	return 1;
}

int ks_u32set_has(const struct ks_u32set *s, uint32_t v)
{
	return s->len && s->slots[ufind(s, v)] == v;
}

int ks_u32set_del(struct ks_u32set *s, uint32_t v)
{
	if (!s->len)
		return 0;
	size_t mask = s->cap - 1, i = ufind(s, v);
	if (!s->slots[i])
		return 0;
	s->slots[i] = 0;
	s->len--;
	for (size_t j = (i + 1) & mask; s->slots[j]; j = (j + 1) & mask) {
		size_t home = u32_hash(s->slots[j]) & mask;
		if ((j > i && (home <= i || home > j)) || (j < i && home <= i && home > j)) {
			s->slots[i] = s->slots[j];
			s->slots[j] = 0;
			i = j;
		}
	}
	return 1;
}

int ks_u32set_next(const struct ks_u32set *s, size_t *i, uint32_t *v)
{
	while (*i < s->cap) {
		uint32_t x = s->slots[(*i)++];
		if (x) {
			*v = x;
			return 1;
		}
	}
	return 0;
}
