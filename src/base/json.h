/* json.h — cJSON with a size ceiling and short path look-ups.
 * cJSON (Debian's libcjson) is the tree parser (see DESIGN.md for the measurements).
 * Paths are dotted field names, "metadata.name", "spec.containers" — no array indexing;
 * a field whose name holds a dot is reached with ks_json_child.
 * Ownership: ks_json_parse returns a tree the caller frees with cJSON_Delete; getters
 * return borrowed pointers into the tree. */
#ifndef KS_JSON_H
#define KS_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

struct ks_err;

/* Ceiling on one JSON document parsed from outside (a list page, a watch event). */
#define KS_JSON_MAX_DEFAULT ((size_t)256 << 20)
/* Deepest nesting accepted (cJSON itself stops at CJSON_NESTING_LIMIT = 1000). */

cJSON *ks_json_parse(const char *s, size_t len, size_t max, struct ks_err *err);

const cJSON *ks_json_get(const cJSON *obj, const char *path);
/* The string at path, or NULL when absent or not a string. */
const char *ks_json_str(const cJSON *obj, const char *path);
/* The string at path, or def. */
const char *ks_json_str_or(const cJSON *obj, const char *path, const char *def);
/* The number at path as int64, or def. */
int64_t ks_json_int_or(const cJSON *obj, const char *path, int64_t def);
/* The number at path, or def. */
double ks_json_num_or(const cJSON *obj, const char *path, double def);
bool ks_json_bool_or(const cJSON *obj, const char *path, bool def);
/* Child by exact key (no path splitting). */
const cJSON *ks_json_child(const cJSON *obj, const char *key);
/* Number of array items (0 when not an array). */
int ks_json_len(const cJSON *arr);

/* Exact equality: types, key order (repeated keys included), strings byte for byte, numbers
 * bit for bit. Unlike cJSON_Compare, which looks members up by name. */
bool ks_json_identical(const cJSON *a, const cJSON *b);
/* Apply a JSON merge patch (RFC 7386) to the object target, in place: members of patch
 * that are null delete, objects merge recursively, anything else replaces (duplicated). A
 * patch that is not an object replaces nothing here: the caller handles that case. */
void ks_json_merge_patch(cJSON *target, const cJSON *patch);
/* Whether cJSON_Compare can judge v at all: it never finds inf equal to inf, compares a
 * repeated member name's first value with the others, and takes time exponential in the
 * nesting of objects (so: finite numbers, no repeated names, at most 16 levels). */
bool ks_json_compare_reliable(const cJSON *v);

/* Print compactly; caller frees with free(). */
char *ks_json_print(const cJSON *obj);

/* Arena allocation for short-lived trees (a LIST page, a watch event): between
 * ks_json_arena_begin and ks_json_arena_end, every cJSON allocation of this thread comes
 * from the arena (a bump allocator; cJSON_Delete of its nodes costs nothing). begin rewinds
 * the arena, so its memory is reused scope after scope; end keeps at most
 * KS_JSON_ARENA_KEEP bytes for the next scope and frees the rest; release frees it all.
 * Trees made inside a scope must not outlive it. Scopes do not nest. Under AddressSanitizer
 * the arena is a pass-through, so the sanitizer still sees every allocation.
 * A zeroed struct is an empty arena. */
#define KS_JSON_ARENA_KEEP ((size_t)8 << 20)
struct ks_json_arena {
	struct ks_json_chunk *chunks; /* the chunk being filled first */
	struct ks_json_chunk *spare;  /* rewound chunks, reused before new ones */
	size_t used_bytes;
};
void ks_json_arena_begin(struct ks_json_arena *a);
void ks_json_arena_end(struct ks_json_arena *a);
void ks_json_arena_release(struct ks_json_arena *a);

#endif
