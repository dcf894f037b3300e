/* test_objstore.c — the hash-consed object store: exact round trips of every kind of value
 * and string encoding, sharing between near-identical pods, reference counting back to an
 * empty store, path access, and a randomised insert/remove stress compared with cJSON. */
#include "testutil.h"

#include "base/json.h"
#include "kube/informer.h"
#include "kube/objstore.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static size_t live_nodes(struct kube_objstore *st)
{
	struct kube_objstore_stats s;
	kube_objstore_stats(st, &s);
	assert_int_equal(s.table_used, s.nodes);
	return s.nodes;
}

/* Intern v, check both ways back, return the id (owned). */
static uint32_t check_roundtrip(struct kube_objstore *st, const cJSON *v)
{
	uint32_t id = kube_objstore_intern(st, v);
	assert_int_not_equal(id, KUBE_OBJ_NONE);
	cJSON *back = kube_objstore_to_cjson(st, id);
	assert_non_null(back);
	if (!ks_json_identical(v, back) ||
	    (ks_json_compare_reliable(v) && !cJSON_Compare(v, back, true))) {
		char *a = ks_json_print(v), *b = ks_json_print(back);
		fail_msg("round trip differs:\n  in:  %.300s\n  out: %.300s", a, b);
	}
	cJSON_Delete(back);
	struct ks_buf out;
	ks_buf_init(&out, KS_BUF_UNLIMITED);
	assert_int_equal(kube_objstore_to_json(st, id, &out, NULL), 0);
	char *want = ks_json_print(v);
	if (strcmp(want, out.data) != 0)
		fail_msg("serialisation differs:\n  cJSON: %.300s\n  store: %.300s", want,
			 out.data);
	free(want);
	ks_buf_release(&out);
	/* Interning the same tree again finds the same id. */
	uint32_t again = kube_objstore_intern(st, v);
	assert_int_equal(again, id);
	kube_objstore_unref(st, again);
	return id;
}

static void roundtrip_shapes(void **state)
{
	(void)state;
	static const char *docs[] = {
		"{}",
		"[]",
		"null",
		"true",
		"false",
		"0",
		"-0",
		"1",
		"-1",
		"42",
		"134217727",
		"134217728",
		"-134217728",
		"-134217729",
		"2147483647",
		"2147483648",
		"-2147483649",
		"9007199254740992",
		"-9007199254740992",
		"9007199254740993",
		"1e300",
		"-2.5e-300",
		"1.5",
		"0.1",
		"3.141592653589793",
		"123456789.123",
		"1e400",
		"-1e400",
		"\"\"",
		"\"a\"",
		"\"ab\"",
		"\"abc\"",
		"\"abcd\"",
		"\"Running\"",
		"\"h\\u00e9llo w\\u00f6rld \\u2603 \\ud83d\\ude00\"",
		"\"日本語のテキスト\"",
		"\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\\u0001\\u001f\\u007f\"",
		"\"\\u00ff\\u0080\"",
		"\"2024-05-01T12:34:56Z\"",
		"\"2014-01-01T00:00:00Z\"",
		"\"2013-12-31T23:59:59Z\"",
		"\"2048-01-10T13:37:04Z\"",
		"\"2047-12-31T23:59:59Z\"",
		"\"2024-02-29T00:00:00Z\"",
		"\"2023-02-29T00:00:00Z\"",
		"\"2024-04-31T00:00:00Z\"",
		"\"2024-05-01T24:00:00Z\"",
		"\"2024-05-01T12:34:60Z\"",
		"\"2024-05-01t12:34:56Z\"",
		"\"2024-05-01T12:34:56.5Z\"",
		"\"1970-01-01T00:00:00Z\"",
		"\"0a1b2c3d-4e5f-6789-abcd-ef0123456789\"",
		"\"0A1B2C3D-4E5F-6789-ABCD-EF0123456789\"",
		"\"0a1b2c3d-4e5f-6789-abcd-ef012345678\"",
		"\"0a1b2c3d-4e5f-6789-abcd_ef0123456789\"",
		"\"10.0.0.1\"",
		"\"255.255.255.255\"",
		"\"0.0.0.0\"",
		"\"010.0.0.1\"",
		"\"256.0.0.1\"",
		"\"10.0.0\"",
		"\"10.0.0.1.2\"",
		"\"1.2.3.4567\"",
		"\"fd00::1\"",
		"\"1234\"",
		"\"01234\"",
		"\"9999999999999999999\"",
		"\"18446744073709551615\"",
		"\"4294967295\"",
		"\"4294967296\"",
		"\"12345678901\"",
		"\"containerd://0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\"",
		"\"sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde\"",
		"\"0123456789abcdef0123\"",
		"\"0123456789ABCDEF0123\"",
		"\"web-frontend-7d9f8b6c5d-x7k2p\"",
		"\"kube-api-access-x7k2p\"",
		"\"app.kubernetes.io/name\"",
		"\"ip-10-0-1-23.us-west-2.compute.internal\"",
		"\"abcdefgh-\"",
		"\"abcdefgh--\"",
		"\"-\"",
		"\"----------------------\"",
		"[1,2,3]",
		"[[],[[]],{}]",
		"[null,true,false,0,\"\",{}]",
		"{\"a\":1,\"b\":{\"c\":[1,{\"d\":null}]}}",
		"{\"a\":1,\"a\":2,\"a\":{\"a\":\"a\"}}",
		"{\"\":\"\",\"x\":{\"\":[]}}",
		"{\"b\":1,\"a\":2}",
		"{\"a\":2,\"b\":1}",
		"{\"metadata\":{\"name\":\"x\",\"labels\":{\"app.kubernetes.io/name\":\"web\"}},"
		"\"spec\":{\"replicas\":3,\"paused\":false,\"ratio\":0.25}}",
	};
	struct kube_objstore *st = kube_objstore_new();
	uint32_t ids[KS_ARRAY_LEN(docs)];
	for (size_t i = 0; i < KS_ARRAY_LEN(docs); i++) {
		cJSON *v = cJSON_Parse(docs[i]);
		if (!v)
			fail_msg("bad test JSON %s", docs[i]);
		ids[i] = check_roundtrip(st, v);
		cJSON_Delete(v);
	}
	/* Distinct documents have distinct ids, except {"b":1,"a":2} vs {"a":2,"b":1}
	 * which differ too (key order is kept). */
	for (size_t i = 0; i < KS_ARRAY_LEN(docs); i++) {
		for (size_t j = i + 1; j < KS_ARRAY_LEN(docs); j++) {
			cJSON *a = cJSON_Parse(docs[i]), *b = cJSON_Parse(docs[j]);
			bool same = ks_json_identical(a, b);
			if (same != (ids[i] == ids[j]))
				fail_msg("%s vs %s: ids %u %u", docs[i], docs[j], ids[i], ids[j]);
			cJSON_Delete(a);
			cJSON_Delete(b);
		}
	}
	for (size_t i = 0; i < KS_ARRAY_LEN(docs); i++)
		kube_objstore_unref(st, ids[i]);
	assert_int_equal(live_nodes(st), 0);
	kube_objstore_free(st);
}

static void roundtrip_big(void **state)
{
	(void)state;
	struct kube_objstore *st = kube_objstore_new();
	/* Long strings (plain, with the length in a word of its own), wide arrays and objects
	 * (count in a word of its own), deep nesting. */
	cJSON *root = cJSON_CreateObject();
	char *big = ks_malloc(100001);
	for (size_t i = 0; i < 100000; i++)
		big[i] = (char)(' ' + i % 90);
	big[100000] = '\0';
	cJSON_AddStringToObject(root, "big", big);
	big[254] = '\0';
	cJSON_AddStringToObject(root, "s254", big);
	big[254] = 'x';
	big[255] = '\0';
	cJSON_AddStringToObject(root, "s255", big);
	free(big);
	cJSON *arr = cJSON_AddArrayToObject(root, "wide");
	for (int i = 0; i < 300; i++)
		cJSON_AddItemToArray(arr, cJSON_CreateNumber(i * 1.5));
	cJSON *obj = cJSON_AddObjectToObject(root, "many");
	for (int i = 0; i < 300; i++) {
		char k[16];
		snprintf(k, sizeof k, "k%d", i);
		cJSON_AddNumberToObject(obj, k, i);
	}
	cJSON *deep = cJSON_CreateArray();
	cJSON *cur = deep;
	for (int i = 0; i < KUBE_OBJSTORE_MAX_DEPTH / 2 - 1; i++) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddItemToArray(cur, o);
		cur = cJSON_AddArrayToObject(o, "n");
	}
	cJSON_AddItemToObject(root, "deep", deep);
	uint32_t id = check_roundtrip(st, root);
	assert_int_equal(kube_objstore_len(st, kube_objstore_get(st, id, "wide")), 300);
	assert_int_equal(kube_objstore_len(st, kube_objstore_get(st, id, "many")), 300);
	assert_true(kube_objstore_num(st, kube_objstore_get(st, id, "many.k299"), -1) == 299);
	kube_objstore_unref(st, id);
	assert_int_equal(live_nodes(st), 0);

	/* Too deep, raw items and unnamed members are refused, leaving nothing behind. */
	cur = deep = cJSON_CreateArray();
	for (int i = 0; i < KUBE_OBJSTORE_MAX_DEPTH + 10; i++) {
		cJSON *a = cJSON_CreateArray();
		cJSON_AddItemToArray(a, cJSON_CreateString("leaf-string-unique"));
		cJSON_AddItemToArray(cur, a);
		cur = a;
	}
	assert_int_equal(kube_objstore_intern(st, deep), KUBE_OBJ_NONE);
	cJSON_Delete(deep);
	cJSON *raw = cJSON_CreateObject();
	cJSON_AddStringToObject(raw, "first-member-string", "some value here");
	cJSON_AddRawToObject(raw, "r", "{\"x\":1}");
	assert_int_equal(kube_objstore_intern(st, raw), KUBE_OBJ_NONE);
	cJSON_Delete(raw);
	assert_int_equal(live_nodes(st), 0);
	assert_int_equal(kube_objstore_intern_str(st, "a\0b", 3), KUBE_OBJ_NONE);
	cJSON_Delete(root);
	kube_objstore_free(st);
}

static const char *pod_json(const char *name, const char *uid)
{
	static char buf[8192];
	snprintf(buf, sizeof buf,
		 "{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"%s\","
		 "\"generateName\":\"web-frontend-7d9f8b6c5d-\",\"namespace\":\"shop\",\"uid\":\"%"
		 "s\","
		 "\"resourceVersion\":\"123456\",\"creationTimestamp\":\"2024-05-01T12:00:00Z\","
		 "\"labels\":{\"app.kubernetes.io/name\":\"web-frontend\",\"app.kubernetes.io/"
		 "instance\":\"shop\",\"pod-template-hash\":\"7d9f8b6c5d\"},\"ownerReferences\":[{"
		 "\"apiVersion\":\"apps/"
		 "v1\",\"kind\":\"ReplicaSet\",\"name\":\"web-frontend-7d9f8b6c5d\","
		 "\"uid\":\"11111111-2222-3333-4444-555555555555\",\"controller\":true,"
		 "\"blockOwnerDeletion\":true}]},\"spec\":{\"containers\":[{\"name\":\"web\","
		 "\"image\":"
		 "\"registry.example.com/shop/web:1.4.2\",\"ports\":[{\"containerPort\":8080,"
		 "\"protocol\":\"TCP\"}],\"resources\":{\"requests\":{\"cpu\":\"250m\",\"memory\":"
		 "\"256Mi\"},\"limits\":{\"memory\":\"512Mi\"}},\"readinessProbe\":{\"httpGet\":{"
		 "\"path\":\"/healthz\",\"port\":8080,\"scheme\":\"HTTP\"},\"periodSeconds\":10}}],"
		 "\"restartPolicy\":\"Always\",\"terminationGracePeriodSeconds\":30,\"dnsPolicy\":"
		 "\"ClusterFirst\",\"tolerations\":[{\"key\":\"node.kubernetes.io/not-ready\","
		 "\"operator\":\"Exists\",\"effect\":\"NoExecute\",\"tolerationSeconds\":300}]},"
		 "\"status\":{\"phase\":\"Running\",\"qosClass\":\"Burstable\"}}",
		 name, uid);
	return buf;
}

static void sharing(void **state)
{
	(void)state;
	struct kube_objstore *st = kube_objstore_new();
	struct kube_objstore_stats s0, s1, s2;
	cJSON *a = cJSON_Parse(pod_json("web-frontend-7d9f8b6c5d-x7k2p",
					"0a1b2c3d-4e5f-6789-abcd-ef0123456789"));
	cJSON *b = cJSON_Parse(pod_json("web-frontend-7d9f8b6c5d-q9zzm",
					"0a1b2c3d-4e5f-6789-abcd-ef0123456789"));
	cJSON *c = cJSON_Parse(pod_json("web-frontend-7d9f8b6c5d-abcde",
					"99999999-4e5f-6789-abcd-ef0123456789"));
	kube_objstore_stats(st, &s0);
	uint32_t ia = check_roundtrip(st, a);
	kube_objstore_stats(st, &s1);
	uint32_t ib = check_roundtrip(st, b);
	kube_objstore_stats(st, &s2);
	size_t first = s1.node_bytes - s0.node_bytes, second = s2.node_bytes - s1.node_bytes;
	print_message("first pod %zu bytes, second (other name) %zu bytes, %zu nodes\n", first,
		      second, s2.nodes - s1.nodes);
	/* A new root (2+5 words), metadata (2+8 words), and the name (a header, the shared
	 * prefix's id, and "q9zzm": 4 words): 84 bytes. */
	assert_true(second <= 96);
	assert_true(second * 8 < first);
	assert_int_equal(s2.nodes - s1.nodes, 3);
	assert_int_equal(kube_objstore_get(st, ia, "spec"), kube_objstore_get(st, ib, "spec"));
	assert_int_equal(kube_objstore_get(st, ia, "metadata.labels"),
			 kube_objstore_get(st, ib, "metadata.labels"));
	assert_int_not_equal(kube_objstore_get(st, ia, "metadata"),
			     kube_objstore_get(st, ib, "metadata"));
	uint32_t ic = check_roundtrip(st, c);
	struct kube_objstore_stats s3;
	kube_objstore_stats(st, &s3);
	assert_true(s3.node_bytes - s2.node_bytes <= 96 + 20); /* + the new uid */
	assert_true(s3.hits > 0 && s3.lookups >= s3.hits);

	kube_objstore_unref(st, ia);
	kube_objstore_unref(st, ic);
	/* b still whole after the others left */
	cJSON *back = kube_objstore_to_cjson(st, ib);
	assert_true(ks_json_identical(back, b));
	cJSON_Delete(back);
	kube_objstore_unref(st, ib);
	assert_int_equal(live_nodes(st), 0);
	/* Freed blocks are reused: interning a again does not grow the arena. */
	struct kube_objstore_stats s4, s5;
	kube_objstore_stats(st, &s4);
	ia = kube_objstore_intern(st, a);
	kube_objstore_stats(st, &s5);
	assert_int_equal(s5.arena_bytes, s4.arena_bytes);
	assert_int_equal(s5.node_bytes, first);
	kube_objstore_unref(st, ia);
	cJSON_Delete(a);
	cJSON_Delete(b);
	cJSON_Delete(c);
	kube_objstore_free(st);
}

static void path_access(void **state)
{
	(void)state;
	struct kube_objstore *st = kube_objstore_new();
	cJSON *p = cJSON_Parse(pod_json("web-frontend-7d9f8b6c5d-x7k2p",
					"0a1b2c3d-4e5f-6789-abcd-ef0123456789"));
	uint32_t id = kube_objstore_intern(st, p);
	char tmp[KUBE_OBJSTORE_STRTMP];
	size_t len = 0;
	assert_int_equal(kube_objstore_type(st, id), KUBE_OBJ_OBJECT);
	assert_string_equal(kube_objstore_str(st, kube_objstore_get(st, id, "metadata.name"), tmp,
					      &len),
			    "web-frontend-7d9f8b6c5d-x7k2p");
	assert_int_equal(len, 29);
	assert_string_equal(kube_objstore_str(st, kube_objstore_get(st, id, "metadata.uid"), tmp,
					      NULL),
			    "0a1b2c3d-4e5f-6789-abcd-ef0123456789");
	assert_string_equal(kube_objstore_str(st, kube_objstore_get(st, id, "status.phase"), tmp,
					      NULL),
			    "Running");
	assert_string_equal(
		kube_objstore_str(st, kube_objstore_get(st, id, "metadata.creationTimestamp"), tmp,
				  NULL),
		"2024-05-01T12:00:00Z");
	assert_string_equal(kube_objstore_str(st, kube_objstore_get(st, id, "kind"), tmp, NULL),
			    "Pod");
	assert_true(kube_objstore_num(st, kube_objstore_get(st, id,
							    "spec.terminationGracePeriodSeconds"),
				      -1) == 30);
	uint32_t labels = kube_objstore_get(st, id, "metadata.labels");
	assert_int_equal(kube_objstore_len(st, labels), 3);
	uint32_t app = kube_objstore_child(st, labels, "app.kubernetes.io/name", 22);
	assert_true(kube_objstore_str_eq(st, app, "web-frontend", 12));
	assert_int_equal(app, kube_objstore_find_str(st, "web-frontend", 12));
	assert_true(kube_objstore_str_eq(st, kube_objstore_key(st, labels, 2), "pod-template-hash",
					 17));
	assert_true(kube_objstore_str_eq(st, kube_objstore_val(st, labels, 2), "7d9f8b6c5d", 10));
	assert_int_equal(kube_objstore_key(st, labels, 3), KUBE_OBJ_NONE);
	uint32_t owners = kube_objstore_get(st, id, "metadata.ownerReferences");
	assert_int_equal(kube_objstore_type(st, owners), KUBE_OBJ_ARRAY);
	assert_int_equal(kube_objstore_len(st, owners), 1);
	uint32_t o0 = kube_objstore_at(st, owners, 0);
	assert_true(kube_objstore_bool(st, kube_objstore_get(st, o0, "controller"), false));
	assert_int_equal(kube_objstore_type(st, kube_objstore_get(st, o0, "controller")),
			 KUBE_OBJ_BOOL);
	assert_int_equal(kube_objstore_at(st, owners, 1), KUBE_OBJ_NONE);
	/* Misses: absent members, paths through non-objects, strings never interned. */
	assert_int_equal(kube_objstore_get(st, id, "metadata.nope"), KUBE_OBJ_NONE);
	assert_int_equal(kube_objstore_get(st, id, "metadata.name.x"), KUBE_OBJ_NONE);
	assert_int_equal(kube_objstore_get(st, id, "spec.containers.name"), KUBE_OBJ_NONE);
	assert_int_equal(kube_objstore_find_str(st, "never-interned-string", 21), KUBE_OBJ_NONE);
	assert_int_equal(kube_objstore_get(st, id, ""), id);
	assert_null(kube_objstore_str(st, labels, tmp, NULL));
	assert_true(kube_objstore_num(st, labels, -7) == -7);
	assert_int_equal(kube_objstore_type(st, KUBE_OBJ_NONE), KUBE_OBJ_INVALID);
	/* Borrowed ids, once ref'd, outlive the root. */
	uint32_t spec = kube_objstore_ref(st, kube_objstore_get(st, id, "spec"));
	kube_objstore_unref(st, id);
	assert_true(live_nodes(st) > 0);
	assert_string_equal(kube_objstore_str(st, kube_objstore_get(st, spec, "dnsPolicy"), tmp,
					      NULL),
			    "ClusterFirst");
	kube_objstore_unref(st, spec);
	assert_int_equal(live_nodes(st), 0);
	cJSON_Delete(p);
	kube_objstore_free(st);
}

/* The transform that runs before interning (kube/informer.c) leaves the rest alone. */
static void strip(void **state)
{
	(void)state;
	cJSON *p = cJSON_Parse("{\"metadata\":{\"name\":\"x\",\"annotations\":{\"kubectl."
			       "kubernetes.io/"
			       "last-applied-configuration\":\"{}\"},\"managedFields\":[{"
			       "\"manager\":\"kubectl\"}]},"
			       "\"spec\":{}}");
	kube_obj_strip(p);
	char *s = ks_json_print(p);
	assert_string_equal(s, "{\"metadata\":{\"name\":\"x\"},\"spec\":{}}");
	free(s);
	cJSON_Delete(p);
	p = cJSON_Parse("{\"metadata\":{\"annotations\":{\"a\":\"b\",\"kubectl.kubernetes.io/"
			"last-applied-configuration\":\"{}\"}}}");
	kube_obj_strip(p);
	s = ks_json_print(p);
	assert_string_equal(s, "{\"metadata\":{\"annotations\":{\"a\":\"b\"}}}");
	free(s);
	cJSON_Delete(p);
}

/* ---- randomised stress ---- */

static uint64_t rng_state;

static uint64_t rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static cJSON *rand_string(void)
{
	static const char *pool[] = {
		"", "a", "ab", "abc", "Running", "True", "web-frontend-7d9f8b6c5d-", "10.0.0.1",
		"2024-05-01T12:34:56Z", "0a1b2c3d-4e5f-6789-abcd-ef0123456789", "12345",
		"containerd://", "sha256:", "\xc3\xa9t\xc3\xa9", "tab\there", "kube-api-access-"};
	char buf[300];
	size_t n = 0;
	int parts = 1 + (int)(rnd() % 3);
	for (int i = 0; i < parts; i++) {
		const char *p = pool[rnd() % KS_ARRAY_LEN(pool)];
		size_t l = strlen(p);
		memcpy(buf + n, p, l);
		n += l;
	}
	int extra = (int)(rnd() % 4) == 0 ? (int)(rnd() % 70) : (int)(rnd() % 6);
	static const char alpha[] = "0123456789abcdef-./:xyz";
	for (int i = 0; i < extra; i++)
		buf[n++] = alpha[rnd() % (sizeof alpha - 1)];
	buf[n] = '\0';
	return cJSON_CreateString(buf);
}

static cJSON *rand_tree(int depth)
{
	unsigned k = (unsigned)(rnd() % (depth > 4 ? 6 : 9));
	switch (k) {
	case 0: return cJSON_CreateNull();
	case 1: return cJSON_CreateBool(rnd() & 1);
	case 2: {
		double d;
		switch (rnd() % 5) {
		case 0: d = (double)(int64_t)(rnd() % 200) - 100; break;
		case 1: d = (double)(int64_t)(rnd() >> 11) * ((rnd() & 1) ? 1 : -1); break;
		case 2: d = (double)(rnd() % 1000) / 7.0; break;
		case 3: d = -0.0; break;
		default: d = (double)(rnd() % 300000000); break;
		}
		return cJSON_CreateNumber(d);
	}
	case 3:
	case 4:
	case 5: return rand_string();
	case 6:
	case 7: {
		static const char *keys[] = {"name", "kind", "app.kubernetes.io/name", "a", "",
					     "metadata", "x", "status"};
		cJSON *o = cJSON_CreateObject();
		int n = (int)(rnd() % 6);
		for (int i = 0; i < n; i++)
			cJSON_AddItemToObject(o, keys[rnd() % KS_ARRAY_LEN(keys)],
					      rand_tree(depth + 1));
		return o;
	}
	default: {
		cJSON *a = cJSON_CreateArray();
		int n = (int)(rnd() % 6);
		for (int i = 0; i < n; i++)
			cJSON_AddItemToArray(a, rand_tree(depth + 1));
		return a;
	}
	}
}

static void stress(void **state)
{
	(void)state;
	rng_state = 12345;
	struct kube_objstore *st = kube_objstore_new();
	enum { SLOTS = 200, ROUNDS = 6000 };
	cJSON *orig[SLOTS] = {0};
	uint32_t ids[SLOTS] = {0};
	struct ks_buf out;
	ks_buf_init(&out, KS_BUF_UNLIMITED);
	size_t peak_arena = 0;
	for (int r = 0; r < ROUNDS; r++) {
		size_t i = rnd() % SLOTS;
		if (orig[i] && (rnd() & 1)) {
			kube_objstore_unref(st, ids[i]);
			cJSON_Delete(orig[i]);
			orig[i] = NULL;
			ids[i] = 0;
		} else if (!orig[i]) {
			orig[i] = rand_tree(0);
			ids[i] = kube_objstore_intern(st, orig[i]);
			assert_int_not_equal(ids[i], KUBE_OBJ_NONE);
		}
		if (r % 50 == 0) {
			for (size_t j = 0; j < SLOTS; j++) {
				if (!orig[j])
					continue;
				cJSON *back = kube_objstore_to_cjson(st, ids[j]);
				assert_true(ks_json_identical(orig[j], back));
				cJSON_Delete(back);
				ks_buf_reset(&out);
				assert_int_equal(kube_objstore_to_json(st, ids[j], &out, NULL), 0);
				char *want = ks_json_print(orig[j]);
				assert_string_equal(want, out.data);
				free(want);
			}
			struct kube_objstore_stats s;
			kube_objstore_stats(st, &s);
			assert_int_equal(s.table_used, s.nodes);
			assert_int_equal(s.node_bytes + s.free_bytes + 4, s.arena_bytes);
			if (s.arena_bytes > peak_arena)
				peak_arena = s.arena_bytes;
		}
	}
	struct kube_objstore_stats s;
	kube_objstore_stats(st, &s);
	print_message("stress: %zu live nodes, arena %zu bytes (%zu free), peak %zu, %.1f%% hits\n",
		      s.nodes, s.arena_bytes, s.free_bytes, peak_arena,
		      100.0 * (double)s.hits / (double)(s.lookups ? s.lookups : 1));
	for (size_t i = 0; i < SLOTS; i++) {
		if (orig[i]) {
			kube_objstore_unref(st, ids[i]);
			cJSON_Delete(orig[i]);
		}
	}
	assert_int_equal(live_nodes(st), 0);
	kube_objstore_stats(st, &s);
	assert_int_equal(s.node_bytes, 0);
	ks_buf_release(&out);
	kube_objstore_free(st);
}

/* Objects stored as deltas against the same part of an earlier object: they read back
 * whole, compare equal to (and share the id of) the same object met in full, and survive
 * their base's owner leaving, in any order. */
static void deltas(void **state)
{
	(void)state;
	rng_state = 777;
	struct kube_objstore *st = kube_objstore_new();
	enum { N = 300 };
	cJSON *orig[N];
	uint32_t ids[N];
	for (int i = 0; i < N; i++) {
		char name[64], uid[40];
		snprintf(name, sizeof name, "web-frontend-7d9f8b6c5d-%05d", i % 40);
		snprintf(uid, sizeof uid, "%08x-4e5f-6789-abcd-ef0123456789", (unsigned)(i % 40));
		orig[i] = cJSON_Parse(pod_json(name, uid));
		/* vary a few members here and there */
		cJSON *spec = cJSON_GetObjectItemCaseSensitive(orig[i], "spec");
		if (rnd() % 3 == 0)
			cJSON_ReplaceItemInObjectCaseSensitive(
				spec, "dnsPolicy", cJSON_CreateNumber((double)(rnd() % 5)));
		if (rnd() % 4 == 0)
			cJSON_DeleteItemFromObjectCaseSensitive(spec, "restartPolicy");
		if (rnd() % 5 == 0)
			cJSON_AddItemToObject(spec, "extra", rand_tree(2));
		ids[i] = check_roundtrip(st, orig[i]);
	}
	struct kube_objstore_stats s;
	kube_objstore_stats(st, &s);
	print_message("deltas: %zu of %zu objects stored as deltas\n", s.delta_objects, s.objects);
	assert_true(s.delta_objects > 10);
	/* Equal trees have equal ids however they were stored. */
	for (int i = 0; i < N; i++) {
		for (int j = i + 1; j < N && j < i + 45; j++)
			assert_true((ids[i] == ids[j]) == ks_json_identical(orig[i], orig[j]));
	}
	/* Release in a scrambled order, checking the rest as bases disappear. */
	for (int k = 0; k < N; k++) {
		int i = (int)((k * 7919L) % N);
		kube_objstore_unref(st, ids[i]);
		cJSON_Delete(orig[i]);
		orig[i] = NULL;
		if (k % 37 == 0) {
			for (int j = 0; j < N; j++) {
				if (!orig[j])
					continue;
				cJSON *back = kube_objstore_to_cjson(st, ids[j]);
				assert_true(ks_json_identical(back, orig[j]));
				cJSON_Delete(back);
			}
		}
	}
	assert_int_equal(live_nodes(st), 0);
	/* Freed bases are not used again, even when their blocks are reused. */
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < 50; i++) {
			char name[64];
			snprintf(name, sizeof name, "web-frontend-7d9f8b6c5d-%05d", i + round * 50);
			orig[i] = cJSON_Parse(pod_json(name, "0a1b2c3d-4e5f-6789-abcd-"
							     "ef0123456789"));
			ids[i] = check_roundtrip(st, orig[i]);
		}
		for (int i = 0; i < 50; i++) {
			kube_objstore_unref(st, ids[i]);
			cJSON_Delete(orig[i]);
		}
		assert_int_equal(live_nodes(st), 0);
	}
	kube_objstore_free(st);
}

/* Many objects: the table grows and is rebuilt; ids stay valid. */
static void growth(void **state)
{
	(void)state;
	struct kube_objstore *st = kube_objstore_new();
	enum { N = 20000 };
	uint32_t *ids = ks_malloc(N * sizeof *ids);
	for (int i = 0; i < N; i++) {
		char name[64], uid[40];
		snprintf(name, sizeof name, "web-frontend-7d9f8b6c5d-%05d", i);
		snprintf(uid, sizeof uid, "%08x-4e5f-6789-abcd-ef0123456789", (unsigned)i);
		cJSON *p = cJSON_Parse(pod_json(name, uid));
		ids[i] = kube_objstore_intern(st, p);
		cJSON_Delete(p);
	}
	for (int i = 0; i < N; i += 997) {
		char name[64], tmp[KUBE_OBJSTORE_STRTMP];
		snprintf(name, sizeof name, "web-frontend-7d9f8b6c5d-%05d", i);
		assert_string_equal(
			kube_objstore_str(st, kube_objstore_get(st, ids[i], "metadata.name"), tmp,
					  NULL),
			name);
	}
	struct kube_objstore_stats s;
	kube_objstore_stats(st, &s);
	print_message("%d pods: %zu nodes, %.0f node bytes/pod, %.0f table bytes/pod\n", N, s.nodes,
		      (double)s.node_bytes / N, (double)s.table_bytes / N);
	for (int i = 0; i < N; i += 2)
		kube_objstore_unref(st, ids[i]);
	for (int i = 1; i < N; i += 2)
		kube_objstore_unref(st, ids[i]);
	assert_int_equal(live_nodes(st), 0);
	free(ids);
	kube_objstore_free(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(roundtrip_shapes), cmocka_unit_test(roundtrip_big),
		cmocka_unit_test(sharing),          cmocka_unit_test(path_access),
		cmocka_unit_test(strip),            cmocka_unit_test(stress),
		cmocka_unit_test(deltas),           cmocka_unit_test(growth),
	};
	return cmocka_run_group_tests_name("objstore", tests, NULL, NULL);
}
