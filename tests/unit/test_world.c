/* test_world.c — the world model: loading snapshots (List documents and JSON Lines), the
 * indexes, Secret values never kept, redaction of logs, and the snapshot round trip. */
#include "testutil.h"

#include <stdio.h>
#include <string.h>

#include "base/json.h"
#include "kube/client.h"
#include "kube/selector.h"
#include "world/world.h"

#define PLANTED "planted-s3cr3t-value"
#define PLANTED_B64 "cGxhbnRlZC1zM2NyM3QtdmFsdWU="

static void loads_a_list(void **state)
{
	(void)state;
	struct world *w = tu_world("diag/world-basic.yaml");
	assert_int_equal(world_count(w, WK_POD), 1);
	assert_int_equal(world_count(w, WK_EVENT), 3);
	assert_int_equal(world_count(w, WK_SECRET), 1);
	assert_true(world_has(w, WK_POD) && world_has(w, WK_HPA)); /* built-ins: served */
	assert_false(world_has(w, WK_NODEPOOL));                     /* no object, no header */
	struct wobj pod = world_get(w, WK_POD, "payments", "payment-service-7d9c-x2x9z");
	assert_true(wobj_ok(pod));
	char buf[64];
	assert_string_equal(wobj_str(pod, "status.phase", buf, sizeof buf), "Running");
	assert_true(wobj_str_eq(pod, "spec.nodeName", "ip-10-0-1-1.ec2.internal"));
	assert_int_equal(wobj_int(pod, "metadata.missing", -7), -7);
	assert_string_equal(wobj_uid(w, pod), "33333333-0000-0000-0000-000000000003");
	struct wobj d = world_by_uid(w, "22222222-0000-0000-0000-000000000002");
	assert_int_equal(d.kind, WK_DEPLOYMENT);
	assert_string_equal(wobj_name(w, d), "payment-service");
	assert_false(wobj_ok(world_by_uid(w, "nope")));
	const cJSON *j = world_json(w, pod);
	assert_string_equal(ks_json_str(j, "metadata.labels.app"), "payment-service");
	assert_ptr_equal(j, world_json(w, pod)); /* cached */
	struct kube_selector sel;
	assert_int_equal(kube_selector_parse("app=payment-service", 19, &sel, NULL), 0);
	assert_true(wobj_labels_match(pod, "metadata.labels", &sel));
	assert_true(wobj_labels_match(d, "spec.template.metadata.labels", &sel));
	kube_selector_free(&sel);
	double v = 0;
	assert_true(world_metric(w, WM_MEM_MAX_BYTES, "payments", "payment-service-7d9c-x2x9z",
				 "app", &v));
	assert_true(v == 220200960);
	world_free(w);
}

struct collect {
	struct world *w;
	char reasons[8][32];
	int n;
};

static int collect_reason(void *ctx, struct wobj e)
{
	struct collect *c = ctx;
	if (c->n < 8)
		wobj_str(e, "reason", c->reasons[c->n++], sizeof c->reasons[0]);
	return 0;
}

static void events_by_object_oldest_first(void **state)
{
	(void)state;
	struct world *w = tu_world("diag/world-basic.yaml");
	struct collect c = {.w = w};
	world_events_for(w, "Pod", "payments", "payment-service-7d9c-x2x9z",
			 "33333333-0000-0000-0000-000000000003", collect_reason, &c);
	assert_int_equal(c.n, 2);
	assert_string_equal(c.reasons[0], "Started");
	assert_string_equal(c.reasons[1], "BackOff");
	/* An event without a uid is found by kind/namespace/name. */
	c.n = 0;
	world_events_for(w, "Node", "", "ip-10-0-1-1.ec2.internal", NULL, collect_reason, &c);
	assert_int_equal(c.n, 1);
	assert_string_equal(c.reasons[0], "NodeReady");
	world_free(w);
}

static char *write_snapshot(struct world *w, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);
	struct ks_err err = {0};
	assert_non_null(f);
	assert_int_equal(world_write_snapshot(w, f, &err), 0);
	fclose(f);
	return buf;
}

static void secret_values_never_kept(void **state)
{
	(void)state;
	struct world *w = tu_world("diag/world-basic.yaml");
	assert_true(world_secret_has_key(w, "payments", "db-secret", "password"));
	assert_false(world_secret_has_key(w, "payments", "db-secret", "token"));
	assert_true(world_secret_matches(w, "payments", "db-secret", "password", PLANTED,
					 strlen(PLANTED)));
	assert_false(world_secret_matches(w, "payments", "db-secret", "password", "other", 5));
	struct wobj s = world_get(w, WK_SECRET, "payments", "db-secret");
	char buf[64];
	assert_string_equal(wobj_str(s, "data.password", buf, sizeof buf), "");
	/* The log printed the value: it is redacted as it enters the world. */
	const struct world_log *l = world_log(w, "payments", "payment-service-7d9c-x2x9z", "app",
					      true);
	assert_non_null(l);
	assert_null(strstr(l->text, PLANTED));
	assert_contains(l->text, "password=[redacted]");
	assert_contains(l->text, "authentication failed for user \"[redacted]\""); /* a value too */
	assert_true(world_text_has_secret(w, "x \"" PLANTED "\" y", strlen(PLANTED) + 6));
	assert_false(world_text_has_secret(w, "nothing here", 12));
	char *r = world_redact(w, "auth: '" PLANTED "'");
	assert_string_equal(r, "auth: '[redacted]'");
	free(r);
	size_t len;
	char *snap = write_snapshot(w, &len);
	assert_null(strstr(snap, PLANTED));
	assert_null(strstr(snap, PLANTED_B64));
	free(snap);
	world_free(w);
}

static void snapshot_round_trip(void **state)
{
	(void)state;
	struct world *w = tu_world("diag/world-basic.yaml");
	world_set_now(w, 1795000000);
	size_t len;
	char *snap = write_snapshot(w, &len);
	assert_contains(snap, "\"kind\":\"Snapshot\"");
	struct world *again = world_new();
	struct ks_err err = {0};
	assert_int_equal(world_load_snapshot_mem(again, snap, len, &err), 0);
	for (int k = 0; k < WK_COUNT; k++) {
		assert_int_equal(world_count(w, (enum world_kind)k),
				 world_count(again, (enum world_kind)k));
		assert_int_equal(world_has(w, (enum world_kind)k),
				 world_has(again, (enum world_kind)k));
	}
	assert_int_equal(world_now(again), 1795000000);
	const struct world_log *l = world_log(again, "payments", "payment-service-7d9c-x2x9z",
					      "app", true);
	assert_non_null(l);
	assert_contains(l->text, "authentication failed");
	assert_true(world_metric(again, WM_MEM_MAX_BYTES, "payments",
				 "payment-service-7d9c-x2x9z", "app", NULL));
	/* The objects come back identical (the Secret's values were emptied on the way in). */
	struct wobj a = world_get(w, WK_DEPLOYMENT, "payments", "payment-service");
	struct wobj b = world_get(again, WK_DEPLOYMENT, "payments", "payment-service");
	const cJSON *ja = world_json(w, a), *jb = world_json(again, b);
	assert_true(cJSON_Compare(ks_json_get(ja, "spec"), ks_json_get(jb, "spec"), true));
	free(snap);
	world_free(again);
	world_free(w);
}

static void header_says_what_is_served(void **state)
{
	(void)state;
	static const char snap[] =
		"{\"apiVersion\":\"kswarm.dev/v1\",\"kind\":\"Snapshot\",\"cluster\":\"c1\","
		"\"serverVersion\":\"v1.20.2\",\"takenAt\":\"2026-11-21T10:00:00Z\",\"resources\":["
		"{\"group\":\"\",\"version\":\"v1\",\"kind\":\"Pod\"},"
		"{\"group\":\"policy\",\"version\":\"v1beta1\",\"kind\":\"PodDisruptionBudget\"},"
		"{\"group\":\"karpenter.sh\",\"version\":\"v1\",\"kind\":\"NodePool\"}]}\n"
		"\n"
		"{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\",\"namespace\":\"n\"}}\n";
	struct world *w = world_new();
	struct ks_err err = {0};
	assert_int_equal(world_load_snapshot_mem(w, snap, sizeof snap - 1, &err), 0);
	assert_string_equal(world_cluster_name(w), "c1");
	assert_string_equal(world_server_version(w), "v1.20.2");
	assert_true(world_has(w, WK_NODEPOOL));
	assert_int_equal(world_count(w, WK_NODEPOOL), 0);
	assert_false(world_has(w, WK_SERVICE));
	assert_string_equal(world_resource(w, WK_PDB)->version, "v1beta1");
	assert_int_equal(world_count(w, WK_POD), 1);
	world_free(w);
}

static void refuse(const char *snap, const char *want)
{
	struct world *w = world_new();
	struct ks_err err = {0};
	assert_int_not_equal(world_load_snapshot_mem(w, snap, strlen(snap), &err), 0);
	assert_contains(err.msg, want);
	world_free(w);
}

static void bad_snapshots(void **state)
{
	(void)state;
	refuse("{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\"}}\n{oops\n",
	       "snapshot:2");
	refuse("{\"kind\":\"Pod\"}\n", "without apiVersion and kind");
	refuse("{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{}}\n", "without metadata.name");
	refuse("apiVersion: v1\nkind: List\nitems: [{apiVersion: kswarm.dev/v1, kind: ContainerLog}]\n",
	       "ContainerLog needs namespace, pod and container");
	refuse("{\"apiVersion\":\"kswarm.dev/v1\",\"kind\":\"Snapshot\",\"takenAt\":\"yesterday\"}\n",
	       "takenAt");
	refuse("apiVersion: v1\nkind: ConfigMapList\nitems: []\n", "no Kubernetes objects");
	refuse("key: [unclosed\n", "snapshot");
	struct world *w = world_new();
	struct ks_err err = {0};
	assert_int_not_equal(world_load_snapshot(w, "/nonexistent/snap.jsonl", &err), 0);
	assert_contains(err.msg, "/nonexistent/snap.jsonl");
	world_free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(loads_a_list),
		cmocka_unit_test(events_by_object_oldest_first),
		cmocka_unit_test(secret_values_never_kept),
		cmocka_unit_test(snapshot_round_trip),
		cmocka_unit_test(header_says_what_is_served),
		cmocka_unit_test(bad_snapshots),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
