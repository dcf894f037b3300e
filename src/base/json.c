/* json.c — see json.h. */
#include "base/common.h"
#include "base/json.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* ---- arena hooks ----
 * Every block cJSON gets carries a 16-byte header: its tag says whether free() must give it
 * back (malloc'd) or leave it (arena). The hooks are installed once, before the first parse. */

#if defined(__SANITIZE_ADDRESS__)
#define KS_JSON_ARENA_ENABLED 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define KS_JSON_ARENA_ENABLED 0
#endif
#endif
#ifndef KS_JSON_ARENA_ENABLED
#define KS_JSON_ARENA_ENABLED 1
#endif

#define HDR 16
#define TAG_HEAP 0x4b534850u  /* "KSHP" */
#define TAG_ARENA 0x4b534152u /* "KSAR" */
#define CHUNK_SIZE ((size_t)1 << 20)

struct ks_json_chunk {
	struct ks_json_chunk *next;
	size_t used, cap;
	_Alignas(16) unsigned char data[];
};

static _Thread_local struct ks_json_arena *current_arena;
static bool hooks_installed;

static void *hook_malloc(size_t n)
{
	struct ks_json_arena *a = current_arena;
	size_t need = (n + HDR + 15) & ~(size_t)15;
	unsigned char *p;
	if (a) {
		struct ks_json_chunk *c = a->chunks;
		if (!c || c->cap - c->used < need) {
			if (a->spare && a->spare->cap >= need) {
				c = a->spare;
				a->spare = c->next;
			} else {
				size_t cap = need > CHUNK_SIZE ? need : CHUNK_SIZE;
				c = ks_malloc(sizeof *c + cap);
				c->cap = cap;
			}
			c->used = 0;
			c->next = a->chunks;
			a->chunks = c;
		}
		p = c->data + c->used;
		c->used += need;
		a->used_bytes += need;
		*(uint32_t *)p = TAG_ARENA;
	} else {
		p = ks_malloc(n + HDR);
		*(uint32_t *)p = TAG_HEAP;
	}
	return p + HDR;
}

static void hook_free(void *q)
{
	if (!q)
		return;
	unsigned char *p = (unsigned char *)q - HDR;
	if (*(uint32_t *)p == TAG_HEAP)
		free(p);
	/* TAG_ARENA: freed with its arena. */
}

static void install_hooks(void)
{
	if (hooks_installed || !KS_JSON_ARENA_ENABLED)
		return;
	cJSON_Hooks h = {.malloc_fn = hook_malloc, .free_fn = hook_free};
	cJSON_InitHooks(&h);
	hooks_installed = true;
}

/* Trees made before the hooks were installed would be freed wrongly: install them before
 * main() runs, so every cJSON allocation of the process goes through them. */
__attribute__((constructor)) static void json_hooks_init(void)
{
	install_hooks();
}

void ks_json_arena_begin(struct ks_json_arena *a)
{
	/* Rewind: every chunk becomes spare. */
	while (a->chunks) {
		struct ks_json_chunk *c = a->chunks;
		a->chunks = c->next;
		c->next = a->spare;
		a->spare = c;
	}
	a->used_bytes = 0;
	if (KS_JSON_ARENA_ENABLED)
		current_arena = a;
}

static void free_chunks(struct ks_json_chunk *c)
{
	for (struct ks_json_chunk *n; c; c = n) {
		n = c->next;
		free(c);
	}
}

void ks_json_arena_end(struct ks_json_arena *a)
{
	if (current_arena == a)
		current_arena = NULL;
	/* Keep up to KS_JSON_ARENA_KEEP bytes of chunks for the next scope. */
	size_t kept = 0;
	struct ks_json_chunk **pp = &a->chunks;
	while (*pp && kept + (*pp)->cap <= KS_JSON_ARENA_KEEP) {
		kept += (*pp)->cap;
		pp = &(*pp)->next;
	}
	free_chunks(*pp);
	*pp = NULL;
	free_chunks(a->spare);
	a->spare = NULL;
}

void ks_json_arena_release(struct ks_json_arena *a)
{
	if (current_arena == a)
		current_arena = NULL;
	free_chunks(a->chunks);
	free_chunks(a->spare);
	a->chunks = a->spare = NULL;
}

cJSON *ks_json_parse(const char *s, size_t len, size_t max, struct ks_err *err)
{
	if (len > max) {
		ks_err_set(err, KS_ETOOBIG, "JSON document of %zu bytes exceeds the %zu-byte limit",
			   len, max);
		return NULL;
	}
	const char *end = NULL;
	cJSON *root = cJSON_ParseWithLengthOpts(s, len, &end, false);
	if (!root) {
		size_t off = end && end >= s ? (size_t)(end - s) : 0;
		ks_err_set(err, KS_EINVAL, "invalid JSON at byte %zu of %zu", off, len);
		return NULL;
	}
	/* Only whitespace may follow the value. */
	if (end) {
		for (const char *p = end; p < s + len; p++) {
			if (*p != ' ' && *p != '\n' && *p != '\r' && *p != '\t' && *p != '\0') {
				cJSON_Delete(root);
				ks_err_set(err, KS_EINVAL, "trailing data after JSON value at byte %zu",
					   (size_t)(p - s));
				return NULL;
			}
		}
	}
	return root;
}

const cJSON *ks_json_child(const cJSON *obj, const char *key)
{
	if (!cJSON_IsObject(obj))
		return NULL;
	return cJSON_GetObjectItemCaseSensitive(obj, key);
}

const cJSON *ks_json_get(const cJSON *obj, const char *path)
{
	const cJSON *cur = obj;
	const char *p = path;
	char key[256];
	while (cur && *p) {
		const char *dot = strchr(p, '.');
		size_t n = dot ? (size_t)(dot - p) : strlen(p);
		if (n >= sizeof key)
			return NULL;
		memcpy(key, p, n);
		key[n] = '\0';
		cur = ks_json_child(cur, key);
		p += n + (dot ? 1 : 0);
	}
	return cur;
}

const char *ks_json_str(const cJSON *obj, const char *path)
{
	const cJSON *v = ks_json_get(obj, path);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

const char *ks_json_str_or(const cJSON *obj, const char *path, const char *def)
{
	const char *s = ks_json_str(obj, path);
	return s ? s : def;
}

int64_t ks_json_int_or(const cJSON *obj, const char *path, int64_t def)
{
	const cJSON *v = ks_json_get(obj, path);
	return cJSON_IsNumber(v) ? (int64_t)v->valuedouble : def;
}

double ks_json_num_or(const cJSON *obj, const char *path, double def)
{
	const cJSON *v = ks_json_get(obj, path);
	return cJSON_IsNumber(v) ? v->valuedouble : def;
}

bool ks_json_bool_or(const cJSON *obj, const char *path, bool def)
{
	const cJSON *v = ks_json_get(obj, path);
	return cJSON_IsBool(v) ? cJSON_IsTrue(v) : def;
}

int ks_json_len(const cJSON *arr)
{
	return cJSON_IsArray(arr) ? cJSON_GetArraySize(arr) : 0;
}

char *ks_json_print(const cJSON *obj)
{
	char *s = cJSON_PrintUnformatted(obj);
	if (!s) {
		fprintf(stderr, "kswarm: out of memory printing JSON\n");
		abort();
	}
	/* cJSON's memory goes back through cJSON_free; ours through free(). */
	char *r = ks_strdup(s);
	cJSON_free(s);
	return r;
}

bool ks_json_identical(const cJSON *a, const cJSON *b)
{
	if ((a->type & 0xff) != (b->type & 0xff))
		return false;
	if ((a->string == NULL) != (b->string == NULL) ||
	    (a->string && strcmp(a->string, b->string) != 0))
		return false;
	switch (a->type & 0xff) {
	case cJSON_Number:
		return memcmp(&a->valuedouble, &b->valuedouble, sizeof(double)) == 0 &&
		       a->valueint == b->valueint;
	case cJSON_String:
		return strcmp(a->valuestring, b->valuestring) == 0;
	case cJSON_Array:
	case cJSON_Object: {
		const cJSON *x = a->child, *y = b->child;
		for (; x && y; x = x->next, y = y->next)
			if (!ks_json_identical(x, y))
				return false;
		return !x && !y;
	}
	default:
		return true;
	}
}

static bool compare_reliable(const cJSON *v, int depth)
{
	if (depth > 16 || (cJSON_IsNumber(v) && !isfinite(v->valuedouble)))
		return false;
	for (const cJSON *c = v->child; c; c = c->next) {
		if (!compare_reliable(c, depth + 1))
			return false;
		for (const cJSON *d = c->next; cJSON_IsObject(v) && d; d = d->next)
			if (strcmp(c->string, d->string) == 0)
				return false;
	}
	return true;
}

bool ks_json_compare_reliable(const cJSON *v)
{
	return compare_reliable(v, 0);
}

void ks_json_merge_patch(cJSON *target, const cJSON *patch)
{
	if (!cJSON_IsObject(target) || !cJSON_IsObject(patch))
		return;
	const cJSON *p;
	cJSON_ArrayForEach(p, patch) {
		if (cJSON_IsNull(p)) {
			cJSON_DeleteItemFromObjectCaseSensitive(target, p->string);
			continue;
		}
		cJSON *cur = cJSON_GetObjectItemCaseSensitive(target, p->string);
		if (cJSON_IsObject(p) && cJSON_IsObject(cur)) {
			ks_json_merge_patch(cur, p);
			continue;
		}
		cJSON *v = cJSON_Duplicate(p, true);
		if (cJSON_IsObject(v)) { /* nulls inside a new object are dropped (RFC 7386) */
			cJSON *fresh = cJSON_CreateObject();
			ks_json_merge_patch(fresh, v);
			cJSON_Delete(v);
			v = fresh;
		}
		if (cur)
			cJSON_ReplaceItemInObjectCaseSensitive(target, p->string, v);
		else
			cJSON_AddItemToObject(target, p->string, v);
	}
}
