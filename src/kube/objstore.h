/* objstore.h — a hash-consed, reference-counted, lossless store of JSON trees.
 * An informer cache keeps every object it watches; most of their bytes repeat from object
 * to object (replicas of one Deployment share labels, owner references, container specs,
 * tolerations; keys and values like "Running" recur everywhere). The store interns every
 * JSON value: identical subtrees, across objects and within one, are stored once, and an
 * object is held as the 32-bit id of its root.
 *
 * Ids ("refs") are uint32_t. 0 (KUBE_OBJ_NONE) is no value. Small values (null, booleans,
 * {}, [], integers of 28 bits, strings of up to 3 bytes, and second-precision RFC 3339
 * timestamps between 2014 and 2048) are immediates encoded in the id itself; every other id
 * names a node in the store.
 *
 * Round trip: kube_objstore_to_cjson gives back a tree cJSON_Compare-equal to what was
 * interned, with the same key order (duplicate keys included), the same strings byte for
 * byte, and numbers as the same doubles; kube_objstore_to_json prints exactly what
 * cJSON_PrintUnformatted prints for the original.
 *
 * Ownership: kube_objstore_intern returns a reference the caller owns and gives back with
 * kube_objstore_unref; kube_objstore_ref takes another. Every other function returning an
 * id (get, at, key, val, find_str) returns a borrowed id, valid while the caller holds a
 * reference to the tree it came from. kube_objstore_to_cjson returns a tree the caller
 * frees with cJSON_Delete. Strings returned by kube_objstore_str point into the store
 * (valid until the next intern or unref) or into the caller's tmp buffer.
 *
 * Threads: one writer (intern, ref, unref) at a time, and no reader while it writes;
 * functions taking a const store may run concurrently with each other. */
#ifndef KUBE_OBJSTORE_H
#define KUBE_OBJSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

struct ks_buf;
struct ks_err;
struct kube_objstore;

#define KUBE_OBJ_NONE 0u
/* Deepest nesting interned (cJSON's parser stops at CJSON_NESTING_LIMIT = 1000). */
#define KUBE_OBJSTORE_MAX_DEPTH 1024
/* Size of the buffer kube_objstore_str decodes packed strings into. Packed encodings are
 * used only for strings shorter than this; longer strings are stored as plain bytes. */
#define KUBE_OBJSTORE_STRTMP 256

enum kube_objtype {
	KUBE_OBJ_INVALID = 0, /* KUBE_OBJ_NONE, or not an id of this store */
	KUBE_OBJ_NULL,
	KUBE_OBJ_BOOL,
	KUBE_OBJ_NUMBER,
	KUBE_OBJ_STRING,
	KUBE_OBJ_ARRAY,
	KUBE_OBJ_OBJECT,
};

struct kube_objstore *kube_objstore_new(void);
/* Frees the store and everything in it, whatever references are still held. */
void kube_objstore_free(struct kube_objstore *st);

/* Intern a cJSON tree; returns an owned reference, or KUBE_OBJ_NONE when the tree cannot
 * be stored (a cJSON_Raw or invalid item, an object member without a name, nesting deeper
 * than KUBE_OBJSTORE_MAX_DEPTH, a string of 1 GiB or more). */
uint32_t kube_objstore_intern(struct kube_objstore *st, const cJSON *v);
/* Intern one string (the id a string value with these bytes has). */
uint32_t kube_objstore_intern_str(struct kube_objstore *st, const char *s, size_t len);
/* Take one more reference (returns id); give one back. No-ops on immediates and NONE. */
uint32_t kube_objstore_ref(struct kube_objstore *st, uint32_t id);
void kube_objstore_unref(struct kube_objstore *st, uint32_t id);

/* Decode back to cJSON (NULL for NONE). */
cJSON *kube_objstore_to_cjson(const struct kube_objstore *st, uint32_t id);
/* Append the compact JSON text of id to out, as cJSON_PrintUnformatted would print it.
 * KS_ETOOBIG when out's ceiling is reached, KS_EINVAL for NONE. */
int kube_objstore_to_json(const struct kube_objstore *st, uint32_t id, struct ks_buf *out,
			  struct ks_err *err);

/* Reading without decoding. */
enum kube_objtype kube_objstore_type(const struct kube_objstore *st, uint32_t id);
/* A dotted path of object members, "metadata.name", "status.phase" (no array indexing; a
 * member whose name holds a dot is reached with kube_objstore_child). The empty path is id
 * itself. NONE when a member is missing or a step is not an object. */
uint32_t kube_objstore_get(const struct kube_objstore *st, uint32_t id, const char *path);
/* The member named exactly key (the first one when the object repeats it). */
uint32_t kube_objstore_child(const struct kube_objstore *st, uint32_t id, const char *key,
			     size_t keylen);
/* Elements of an array or members of an object; 0 for anything else. */
size_t kube_objstore_len(const struct kube_objstore *st, uint32_t id);
/* Array element i (NONE when out of range or not an array). */
uint32_t kube_objstore_at(const struct kube_objstore *st, uint32_t id, size_t i);
/* Member i of an object: its name (a string id) and its value. */
uint32_t kube_objstore_key(const struct kube_objstore *st, uint32_t id, size_t i);
uint32_t kube_objstore_val(const struct kube_objstore *st, uint32_t id, size_t i);
/* The bytes of a string (NUL-terminated; *len set when len is not NULL), or NULL when id is
 * not a string. Points into the store for plain strings, else into tmp. */
const char *kube_objstore_str(const struct kube_objstore *st, uint32_t id,
			      char tmp[KUBE_OBJSTORE_STRTMP], size_t *len);
bool kube_objstore_str_eq(const struct kube_objstore *st, uint32_t id, const char *s,
			  size_t len);
/* The id the string s has if it is in the store (immediates always are), else NONE.
 * Two string ids are equal exactly when their strings are, so comparing a value against a
 * constant is one look-up and then integer compares. */
uint32_t kube_objstore_find_str(const struct kube_objstore *st, const char *s, size_t len);
double kube_objstore_num(const struct kube_objstore *st, uint32_t id, double def);
bool kube_objstore_bool(const struct kube_objstore *st, uint32_t id, bool def);

struct kube_objstore_stats {
	size_t bytes;           /* what the store holds in memory: arena_cap + table */
	size_t arena_cap_bytes; /* arena reserved (untouched tail pages are not resident) */
	size_t arena_bytes;     /* arena handed out: live nodes + free blocks */
	size_t node_bytes;      /* live nodes */
	size_t free_bytes;      /* freed blocks waiting for reuse */
	size_t table_bytes;     /* hash table: 4-byte slot + 1-byte tag per entry */
	size_t table_slots, table_used, table_tombstones;
	size_t nodes;           /* live nodes, and by kind: */
	size_t strings, numbers, arrays, objects, shapes;
	size_t delta_objects;   /* objects stored as another object + the members that differ */
	uint64_t lookups, hits; /* node look-ups by intern and how many found a node */
};
void kube_objstore_stats(const struct kube_objstore *st, struct kube_objstore_stats *out);

/* The informer transform (metadata.managedFields and the last-applied annotation removed
 * before interning) is kube_obj_strip in kube/informer.h. */

#endif
