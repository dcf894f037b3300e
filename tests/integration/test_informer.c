/* test_informer.c — the informer cache against a real API server: initial sync, add /
 * update / delete handlers, the four indexes, and the relist diff after 410 Gone. */
#include "itest.h"

#include "kube/informer.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static char ns[64];
static struct kube_client c;
static const struct kube_resource CM = {"", "v1", "configmaps", "ConfigMap", "configmap", true, ""};

struct log {
	int adds, updates, deletes, synced;
	char last[128];
};

static void on_add(void *ctx, const cJSON *o)
{
	struct log *l = ctx;
	l->adds++;
	snprintf(l->last, sizeof l->last, "add %s", ks_json_str_or(o, "metadata.name", ""));
}

static void on_update(void *ctx, const cJSON *old, const cJSON *nw)
{
	struct log *l = ctx;
	l->updates++;
	snprintf(l->last, sizeof l->last, "update %s %s->%s", ks_json_str_or(nw, "metadata.name", ""),
		 ks_json_str_or(old, "data.v", ""), ks_json_str_or(nw, "data.v", ""));
}

static void on_delete(void *ctx, const cJSON *o)
{
	struct log *l = ctx;
	l->deletes++;
	snprintf(l->last, sizeof l->last, "delete %s", ks_json_str_or(o, "metadata.name", ""));
}

static void on_synced(void *ctx)
{
	((struct log *)ctx)->synced++;
}

/* The owner must exist, or the garbage collector deletes the dependents at once. */
static char root_uid[64];

static void make_root(void)
{
	cJSON *o = it_parse("{\"metadata\":{\"name\":\"root\"}}"), *out = NULL;
	struct ks_err err = {0};
	if (kube_create(&c, &CM, ns, o, &out, &err))
		fail_msg("create root: %s", err.msg);
	snprintf(root_uid, sizeof root_uid, "%s", ks_json_str_or(out, "metadata.uid", ""));
	cJSON_Delete(o);
	cJSON_Delete(out);
}

static void make_cm(const char *name, const char *tier, const char *v)
{
	char *s = ks_asprintf("{\"metadata\":{\"name\":\"%s\",\"labels\":{\"tier\":\"%s\"},"
			      "\"ownerReferences\":[{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\","
			      "\"name\":\"root\",\"uid\":\"%s\"}]},"
			      "\"data\":{\"v\":\"%s\"}}", name, tier, root_uid, v);
	cJSON *o = it_parse(s);
	struct ks_err err = {0};
	if (kube_create(&c, &CM, ns, o, NULL, &err))
		fail_msg("create %s: %s", name, err.msg);
	cJSON_Delete(o);
	free(s);
}

static int count_cb(void *ctx, const struct kube_objstore *st, uint32_t id)
{
	(void)st, (void)id;
	(*(int *)ctx)++;
	return 0;
}

static void poll_until(struct kube_informer *inf, int *v, int want)
{
	int64_t end = ks_mono_ms() + 15000;
	while (*v < want && ks_mono_ms() < end)
		kube_informer_poll(inf, 100);
}

static void informer_cache(void **state)
{
	(void)state;
	snprintf(ns, sizeof ns, "kst-inf-%d", (int)getpid());
	it_connect(&c, NULL, 500);
	it_create_ns(&c, ns);
	make_root();
	for (int i = 0; i < 30; i++) {
		char name[32];
		snprintf(name, sizeof name, "pre-%02d", i);
		make_cm(name, i % 3 ? "back" : "front", "0");
	}
	struct kube_watch_opts o = {.ns = ns, .page_size = 7};
	struct kube_informer *inf = kube_informer_new(&c, &CM, &o);
	struct log l = {0};
	struct kube_informer_handlers h = {on_add, on_update, on_delete, on_synced, &l};
	kube_informer_add_handlers(inf, &h);
	kube_informer_start(inf);
	assert_true(kube_informer_wait_synced(inf, 15000));
	assert_int_equal(l.synced, 1);
	/* 30 ours, their owner, and kube-root-ca.crt, which 1.20 puts in every namespace. */
	assert_int_equal(kube_informer_count(inf), 32);
	assert_int_equal(l.adds, 32);
	int n = 0;
	kube_informer_by_index(inf, KUBE_IDX_LABEL, "tier=front", count_cb, &n);
	assert_int_equal(n, 10);
	n = 0;
	kube_informer_by_index(inf, KUBE_IDX_OWNER, root_uid, count_cb, &n);
	assert_int_equal(n, 30);
	n = 0;
	kube_informer_by_index(inf, KUBE_IDX_NAMESPACE, ns, count_cb, &n);
	assert_int_equal(n, 32);
	cJSON *got = kube_informer_get_json(inf, ns, "pre-05");
	assert_non_null(got);
	assert_null(ks_json_get(got, "metadata.managedFields")); /* stripped */
	assert_string_equal(ks_json_str(got, "data.v"), "0");
	cJSON_Delete(got);
	/* Read in place, without decoding. */
	const struct kube_objstore *st = kube_informer_store(inf);
	char tmp[KUBE_OBJSTORE_STRTMP];
	assert_string_equal(kube_objstore_str(st, kube_objstore_get(st, kube_informer_get(inf, ns,
				"pre-05"), "metadata.labels.tier"), tmp, NULL), "back");

	/* Changes flow in: add, update (label moves index), delete. */
	make_cm("live", "front", "1");
	poll_until(inf, &l.adds, 33);
	assert_string_equal(l.last, "add live");
	struct kube_patch_opts po = {.type = KUBE_PATCH_MERGE};
	const char *p = "{\"metadata\":{\"labels\":{\"tier\":\"back\"}},\"data\":{\"v\":\"2\"}}";
	struct ks_err err = {0};
	assert_int_equal(kube_patch(&c, &CM, ns, "live", p, strlen(p), &po, NULL, &err), 0);
	poll_until(inf, &l.updates, 1);
	assert_string_equal(l.last, "update live 1->2");
	n = 0;
	kube_informer_by_index(inf, KUBE_IDX_LABEL, "tier=front", count_cb, &n);
	assert_int_equal(n, 10);
	struct kube_delete_opts d = {.grace_period_s = -1};
	assert_int_equal(kube_delete(&c, &CM, ns, "live", &d, NULL, &err), 0);
	poll_until(inf, &l.deletes, 1);
	assert_string_equal(l.last, "delete live");
	assert_int_equal(kube_informer_get(inf, ns, "live"), KUBE_OBJ_NONE);

	/* Stop watching, change the world, and resume from a version the server no longer
	 * serves: the relist must produce exactly the missed changes. */
	kube_informer_stop(inf);
	l = (struct log){0};
	assert_int_equal(kube_delete(&c, &CM, ns, "pre-00", &d, NULL, &err), 0);
	make_cm("missed", "front", "9");
	const char *p2 = "{\"data\":{\"v\":\"7\"}}";
	assert_int_equal(kube_patch(&c, &CM, ns, "pre-01", p2, strlen(p2), &po, NULL, &err), 0);
	struct kube_watch *w = kube_informer_watch(inf);
	kube_watch_resume(w, "1");
	int64_t end = ks_mono_ms() + 15000;
	while ((l.adds < 1 || l.deletes < 1 || l.updates < 1) && ks_mono_ms() < end)
		kube_informer_poll(inf, 100);
	struct kube_watch_stats ws;
	kube_watch_get_stats(w, &ws);
	assert_int_equal(ws.gone, 1);
	assert_int_equal(ws.relists, 1);
	assert_int_equal(l.adds, 1);    /* missed */
	assert_int_equal(l.deletes, 1); /* pre-00 */
	assert_int_equal(l.updates, 1); /* pre-01, and nothing else: unchanged objects are quiet */
	assert_int_equal(l.synced, 0);  /* synced is said once, at the first list */
	assert_int_equal(kube_informer_get(inf, ns, "pre-00"), KUBE_OBJ_NONE);
	got = kube_informer_get_json(inf, ns, "pre-01");
	assert_string_equal(ks_json_str(got, "data.v"), "7");
	cJSON_Delete(got);
	assert_int_equal(kube_informer_count(inf), 32);
	kube_informer_free(inf);
	it_delete_ns(&c, ns);
	kube_client_close(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(informer_cache),
	};
	return cmocka_run_group_tests_name("informer", tests, NULL, NULL);
}
