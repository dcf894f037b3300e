/* fuzz_objstore.c — libFuzzer target for kube/objstore.
 * The input is parsed as JSON with cJSON; when it parses, the tree is interned into a store
 * that lives across inputs (so freed blocks and tombstones are reused), decoded back and
 * compared exactly (types, key order, string bytes, number bits) and with cJSON_Compare,
 * serialised and compared with cJSON_PrintUnformatted, interned again (same id), and every
 * string in it is looked up with find_str. The input's bytes are also interned as one
 * string, which reaches the packed string encodings directly. A variant of the tree, with
 * the first member of every object of three or more members changed, is interned next to
 * it (so those objects are stored as deltas against the original's) and checked the same
 * way, and the two are released in an order the input picks. After the references are
 * dropped the store must be empty. Any difference aborts. */
#include "base/common.h"
#include "base/json.h"
#include "base/buf.h"
#include "kube/objstore.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static struct kube_objstore *st;

static void die(const char *what)
{
	fprintf(stderr, "fuzz_objstore: %s\n", what);
	abort();
}

/* Every string and key of v is found, and reads back; object members are reachable. */
static void check_strings(const cJSON *v, uint32_t id)
{
	char tmp[KUBE_OBJSTORE_STRTMP];
	if (cJSON_IsString(v)) {
		size_t n = strlen(v->valuestring);
		if (kube_objstore_find_str(st, v->valuestring, n) != id)
			die("find_str differs from the interned id");
		if (!kube_objstore_str_eq(st, id, v->valuestring, n))
			die("str_eq false on its own string");
		return;
	}
	size_t i = 0;
	for (const cJSON *c = v->child; c; c = c->next, i++) {
		uint32_t cid = cJSON_IsArray(v) ? kube_objstore_at(st, id, i)
						: kube_objstore_val(st, id, i);
		if (cJSON_IsObject(v)) {
			uint32_t k = kube_objstore_key(st, id, i);
			size_t kl = strlen(c->string);
			if (kube_objstore_find_str(st, c->string, kl) != k)
				die("key id differs from find_str");
			size_t len;
			const char *ks = kube_objstore_str(st, k, tmp, &len);
			if (!ks || len != kl || memcmp(ks, c->string, kl) != 0)
				die("key reads back differently");
			const cJSON *first = cJSON_GetObjectItemCaseSensitive(v, c->string);
			uint32_t want = kube_objstore_child(st, id, c->string, kl);
			if (first == c && want != cid)
				die("child() is not the first member of that name");
		}
		check_strings(c, cid);
	}
	if (kube_objstore_len(st, id) != i)
		die("length differs");
}

/* Change the first member of every object of 3+ members. */
static void vary(cJSON *v)
{
	int n = 0;
	for (cJSON *c = v->child; c; c = c->next) {
		vary(c);
		n++;
	}
	if (cJSON_IsObject(v) && n >= 3)
		cJSON_ReplaceItemInObjectCaseSensitive(v, v->child->string,
						       cJSON_CreateString("~variant~"));
}

static void check_tree(const cJSON *v, uint32_t id)
{
	cJSON *back = kube_objstore_to_cjson(st, id);
	if (!back || !ks_json_identical(v, back))
		die("decoded tree differs");
	if (ks_json_compare_reliable(v) && !cJSON_Compare(v, back, true))
		die("cJSON_Compare differs");
	cJSON_Delete(back);
	struct ks_buf out;
	ks_buf_init(&out, KS_BUF_UNLIMITED);
	if (kube_objstore_to_json(st, id, &out, NULL))
		die("serialise failed");
	char *want = cJSON_PrintUnformatted(v);
	if (!want || strcmp(want, out.data) != 0)
		die("serialisation differs from cJSON_PrintUnformatted");
	cJSON_free(want);
	ks_buf_release(&out);
	check_strings(v, id);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!st)
		st = kube_objstore_new();

	/* The bytes as one string. */
	if (size < 4096 && !memchr(data, 0, size)) {
		uint32_t s = kube_objstore_intern_str(st, (const char *)data, size);
		char tmp[KUBE_OBJSTORE_STRTMP];
		size_t len;
		const char *p = kube_objstore_str(st, s, tmp, &len);
		if (!p || len != size || memcmp(p, data, size) != 0 || p[len] != '\0')
			die("string does not read back");
		if (kube_objstore_find_str(st, (const char *)data, size) != s)
			die("find_str of an interned string");
		kube_objstore_unref(st, s);
	}

	cJSON *v = cJSON_ParseWithLength((const char *)data, size);
	if (v) {
		uint32_t id = kube_objstore_intern(st, v);
		if (!id)
			die("intern refused a parsed tree");
		check_tree(v, id);
		cJSON *w = cJSON_Duplicate(v, true);
		vary(w);
		uint32_t wid = kube_objstore_intern(st, w);
		if (!wid)
			die("intern refused the variant");
		check_tree(w, wid);
		check_tree(v, id);
		uint32_t again = kube_objstore_intern(st, v);
		if (again != id)
			die("re-interning gave another id");
		if (kube_objstore_intern(st, w) != wid)
			die("re-interning the variant gave another id");
		kube_objstore_unref(st, wid);
		kube_objstore_unref(st, again);
		if (size && (data[0] & 1)) {
			kube_objstore_unref(st, id);
			check_tree(w, wid);
			kube_objstore_unref(st, wid);
		} else {
			kube_objstore_unref(st, wid);
			check_tree(v, id);
			kube_objstore_unref(st, id);
		}
		cJSON_Delete(w);
		cJSON_Delete(v);
	}

	struct kube_objstore_stats s;
	kube_objstore_stats(st, &s);
	if (s.nodes != 0 || s.table_used != 0 || s.node_bytes != 0)
		die("store not empty after the last unref");
	if (s.node_bytes + s.free_bytes + 4 != s.arena_bytes)
		die("arena accounting");
	return 0;
}
