/* test_client.c — the REST verbs against a real kube-apiserver v1.20.2. */
#include "itest.h"

#include "kube/auth.h"
#include "kube/watch.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char ns[64];
static struct kube_client c;
static const struct kube_resource CM = {"", "v1", "configmaps", "ConfigMap", "configmap", true, ""};

static int setup(void **state)
{
	(void)state;
	snprintf(ns, sizeof ns, "kst-client-%d", (int)getpid());
	it_connect(&c, NULL, 500);
	it_create_ns(&c, ns);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	it_delete_ns(&c, ns);
	kube_client_close(&c);
	return 0;
}

static cJSON *cm(const char *name, const char *value)
{
	char *s = ks_asprintf("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":"
			      "\"%s\",\"labels\":{\"suite\":\"client\"}},\"data\":{\"k\":\"%s\"}}",
			      name, value);
	cJSON *o = it_parse(s);
	free(s);
	return o;
}

static void crud(void **state)
{
	(void)state;
	struct ks_err err = {0};
	cJSON *o = cm("crud", "v1"), *out = NULL;
	assert_int_equal(kube_create(&c, &CM, ns, o, &out, &err), 0);
	assert_string_equal(ks_json_str(out, "data.k"), "v1");
	const char *uid = ks_json_str(out, "metadata.uid");
	assert_non_null(uid);
	char *uid_copy = ks_strdup(uid);
	cJSON_Delete(out);
	/* Create again: 409 AlreadyExists. */
	assert_int_equal(kube_create(&c, &CM, ns, o, NULL, &err), KS_ECONFLICT);
	assert_string_equal(err.reason, "AlreadyExists");
	assert_contains(err.msg, "already exists");
	cJSON_Delete(o);

	cJSON *got = NULL;
	assert_int_equal(kube_get(&c, &CM, ns, "crud", &got, &err), 0);
	cJSON_ReplaceItemInObjectCaseSensitive(cJSON_GetObjectItem(got, "data"), "k",
					       cJSON_CreateString("v2"));
	cJSON *updated = NULL;
	assert_int_equal(kube_update(&c, &CM, ns, got, &updated, &err), 0);
	assert_string_equal(ks_json_str(updated, "data.k"), "v2");
	/* The same update again carries a stale resourceVersion: 409 Conflict. */
	assert_int_equal(kube_update(&c, &CM, ns, got, NULL, &err), KS_ECONFLICT);
	assert_int_equal(err.http_status, 409);
	assert_string_equal(err.reason, "Conflict");
	assert_contains(err.msg, "the object has been modified");
	cJSON_Delete(got);

	/* Delete with a wrong UID precondition: 409; with the right one: gone. */
	struct kube_delete_opts d = {.precondition_uid = "00000000-0000-0000-0000-000000000000",
				     .grace_period_s = -1};
	assert_int_equal(kube_delete(&c, &CM, ns, "crud", &d, NULL, &err), KS_ECONFLICT);
	assert_contains(err.msg, "does not match the UID in record");
	d.precondition_uid = uid_copy;
	d.precondition_rv = ks_json_str(updated, "metadata.resourceVersion");
	d.propagation = KUBE_PROPAGATE_FOREGROUND;
	assert_rc(kube_delete(&c, &CM, ns, "crud", &d, NULL, &err), 0, &err);
	/* Foreground deletion: the garbage collector removes the object shortly after. */
	int rc = 0;
	for (int i = 0; i < 100; i++) {
		rc = kube_get(&c, &CM, ns, "crud", &got, &err);
		if (rc)
			break;
		assert_non_null(ks_json_str(got, "metadata.deletionTimestamp"));
		cJSON_Delete(got);
		usleep(100000);
	}
	assert_int_equal(rc, KS_ENOTFOUND);
	assert_int_equal(err.http_status, 404);
	assert_contains(err.msg, "configmaps \"crud\" not found");
	cJSON_Delete(updated);
	free(uid_copy);
}

static void patches(void **state)
{
	(void)state;
	struct ks_err err = {0};
	cJSON *o = cm("patched", "a"), *out = NULL;
	assert_int_equal(kube_create(&c, &CM, ns, o, NULL, &err), 0);
	cJSON_Delete(o);
	struct kube_patch_opts po = {.type = KUBE_PATCH_MERGE};
	const char *merge = "{\"data\":{\"m\":\"1\"}}";
	assert_int_equal(kube_patch(&c, &CM, ns, "patched", merge, strlen(merge), &po, &out, &err), 0);
	assert_string_equal(ks_json_str(out, "data.m"), "1");
	assert_string_equal(ks_json_str(out, "data.k"), "a");
	cJSON_Delete(out);
	po.type = KUBE_PATCH_JSON;
	const char *jp = "[{\"op\":\"replace\",\"path\":\"/data/k\",\"value\":\"b\"},"
			 "{\"op\":\"test\",\"path\":\"/data/m\",\"value\":\"1\"}]";
	assert_int_equal(kube_patch(&c, &CM, ns, "patched", jp, strlen(jp), &po, &out, &err), 0);
	assert_string_equal(ks_json_str(out, "data.k"), "b");
	cJSON_Delete(out);
	const char *bad = "[{\"op\":\"test\",\"path\":\"/data/m\",\"value\":\"nope\"}]";
	assert_int_not_equal(kube_patch(&c, &CM, ns, "patched", bad, strlen(bad), &po, NULL, &err), 0);
	assert_int_equal(err.http_status, 422);
	po.type = KUBE_PATCH_STRATEGIC;
	const char *sm = "{\"metadata\":{\"labels\":{\"s\":\"yes\"}}}";
	assert_int_equal(kube_patch(&c, &CM, ns, "patched", sm, strlen(sm), &po, &out, &err), 0);
	assert_string_equal(ks_json_str(out, "metadata.labels.s"), "yes");
	cJSON_Delete(out);

	/* Server-side apply: first manager owns data.k; a second conflicts unless forced. */
	po = (struct kube_patch_opts){.type = KUBE_PATCH_APPLY, .field_manager = "kswarm-a"};
	const char *apply = "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":"
			    "\"applied\"},\"data\":{\"k\":\"one\"}}";
	assert_int_equal(kube_patch(&c, &CM, ns, "applied", apply, strlen(apply), &po, &out, &err), 0);
	assert_string_equal(ks_json_str(out, "data.k"), "one");
	cJSON_Delete(out);
	const char *apply2 = "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":"
			     "\"applied\"},\"data\":{\"k\":\"two\"}}";
	po.field_manager = "kswarm-b";
	assert_int_equal(kube_patch(&c, &CM, ns, "applied", apply2, strlen(apply2), &po, NULL, &err),
			 KS_ECONFLICT);
	assert_contains(err.msg, "conflict");
	po.force = true;
	assert_int_equal(kube_patch(&c, &CM, ns, "applied", apply2, strlen(apply2), &po, &out, &err), 0);
	assert_string_equal(ks_json_str(out, "data.k"), "two");
	/* Dry run changes nothing. */
	cJSON_Delete(out);
	po = (struct kube_patch_opts){.type = KUBE_PATCH_MERGE, .dry_run = true};
	const char *dry = "{\"data\":{\"k\":\"dry\"}}";
	assert_int_equal(kube_patch(&c, &CM, ns, "applied", dry, strlen(dry), &po, &out, &err), 0);
	assert_string_equal(ks_json_str(out, "data.k"), "dry");
	cJSON_Delete(out);
	assert_int_equal(kube_get(&c, &CM, ns, "applied", &out, &err), 0);
	assert_string_equal(ks_json_str(out, "data.k"), "two");
	cJSON_Delete(out);
}

struct counter {
	int pages, items;
};

static int count_page(void *ctx, cJSON *page)
{
	struct counter *k = ctx;
	k->pages++;
	k->items += ks_json_len(ks_json_get(page, "items"));
	return 0;
}

struct create_batch {
	int done, failed;
	struct ks_err err;
};

static void created(void *ctx, struct kube_http_resp *resp, int rc, const struct ks_err *err)
{
	struct create_batch *b = ctx;
	(void)resp;
	b->done++;
	if (rc) {
		b->failed++;
		if (err)
			b->err = *err;
	}
}

/* 1,200 ConfigMaps, created concurrently over the multiplexed connection. */
static void create_many(int n, const char *prefix)
{
	struct create_batch b = {0};
	char path[256];
	snprintf(path, sizeof path, "/api/v1/namespaces/%s/configmaps", ns);
	for (int i = 0; i < n; i++) {
		char body[256];
		int len = snprintf(body, sizeof body,
				   "{\"metadata\":{\"name\":\"%s-%04d\",\"labels\":{\"suite\":\"page\","
				   "\"parity\":\"%s\"}},\"data\":{\"i\":\"%d\"}}",
				   prefix, i, i % 2 ? "odd" : "even", i);
		struct kube_http_req req = {.method = "POST", .path = path, .body = body,
					    .body_len = (size_t)len};
		kube_http_start(c.http, &req, created, &b);
	}
	while (b.done < n)
		kube_http_poll(c.http, 1000);
	if (b.failed)
		fail_msg("%d of %d creates failed: %s", b.failed, n, b.err.msg);
}


static void paging(void **state)
{
	(void)state;
	struct ks_err err = {0};
	create_many(1200, "page");
	struct counter k = {0};
	struct kube_list_opts lo = {.limit = 100, .label_selector = "suite=page"};
	char rv[64];
	assert_int_equal(kube_list_pages(&c, &CM, ns, &lo, count_page, &k, rv, sizeof rv, &err), 0);
	assert_int_equal(k.items, 1200);
	/* The server may hand out a continue token with the last full page: 12 or 13. */
	assert_in_range(k.pages, 12, 13);
	assert_true(rv[0] != '\0');
	/* Set-based selector and a field selector. */
	cJSON *list = NULL;
	struct kube_list_opts lo2 = {.limit = 250, .label_selector = "suite in (page),parity!=odd"};
	assert_int_equal(kube_list(&c, &CM, ns, &lo2, &list, &err), 0);
	assert_int_equal(ks_json_len(ks_json_get(list, "items")), 600);
	assert_null(ks_json_str(list, "metadata.continue"));
	cJSON_Delete(list);
	struct kube_list_opts lo3 = {.field_selector = "metadata.name=page-0007"};
	assert_int_equal(kube_list(&c, &CM, ns, &lo3, &list, &err), 0);
	assert_int_equal(ks_json_len(ks_json_get(list, "items")), 1);
	cJSON_Delete(list);
	/* A bad selector is the server's 400 with its message. */
	struct kube_list_opts lo4 = {.label_selector = "a in (b"};
	assert_int_equal(kube_list(&c, &CM, ns, &lo4, &list, &err), KS_EINVAL);
	assert_int_equal(err.http_status, 400);
}

struct seen {
	int added, modified, deleted, lists;
	char last_name[128];
	struct kube_watch_stats st;
};

static void w_list(void *ctx, const char *rv)
{
	struct seen *s = ctx;
	(void)rv;
	s->lists++;
}

static void w_event(void *ctx, enum kube_event_type t, cJSON *obj)
{
	struct seen *s = ctx;
	if (t == KUBE_EV_ADDED)
		s->added++;
	else if (t == KUBE_EV_MODIFIED)
		s->modified++;
	else if (t == KUBE_EV_DELETED)
		s->deleted++;
	snprintf(s->last_name, sizeof s->last_name, "%s", ks_json_str_or(obj, "metadata.name", ""));
}

static void wait_for(struct kube_watch *w, int *counter, int want, long ms)
{
	int64_t end = ks_mono_ms() + ms;
	while (*counter < want && ks_mono_ms() < end)
		kube_watch_poll(w, 100);
}

static void watch_resume(void **state)
{
	(void)state;
	struct seen s = {0};
	/* A 2-second server timeout: the stream ends and must resume from the last RV. */
	struct kube_watch_opts o = {.ns = ns, .label_selector = "suite=watch", .timeout_s = 2};
	struct kube_watch_handlers h = {.on_list_end = w_list, .on_event = w_event, .ctx = &s};
	struct kube_watch *w = kube_watch_new(&c, &CM, &o, &h);
	kube_watch_start(w);
	assert_int_equal(s.lists, 1);
	struct ks_err err = {0};
	cJSON *o1 = it_parse("{\"metadata\":{\"name\":\"w1\",\"labels\":{\"suite\":\"watch\"}}}");
	assert_int_equal(kube_create(&c, &CM, ns, o1, NULL, &err), 0);
	wait_for(w, &s.added, 1, 10000);
	assert_int_equal(s.added, 1);
	/* Let the server end the stream (timeoutSeconds=2) and create while reconnecting. */
	int64_t end = ks_mono_ms() + 3500;
	while (ks_mono_ms() < end)
		kube_watch_poll(w, 100);
	cJSON *o2 = it_parse("{\"metadata\":{\"name\":\"w2\",\"labels\":{\"suite\":\"watch\"}}}");
	assert_int_equal(kube_create(&c, &CM, ns, o2, NULL, &err), 0);
	wait_for(w, &s.added, 2, 10000);
	struct kube_delete_opts d = {.grace_period_s = -1};
	assert_int_equal(kube_delete(&c, &CM, ns, "w1", &d, NULL, &err), 0);
	wait_for(w, &s.deleted, 1, 10000);
	kube_watch_get_stats(w, &s.st);
	assert_int_equal(s.added, 2); /* nothing repeated after the resume */
	assert_int_equal(s.deleted, 1);
	assert_true(s.st.watches >= 2);
	assert_int_equal(s.st.lists, 1); /* resumed, not relisted */
	kube_watch_free(w);
	cJSON_Delete(o1);
	cJSON_Delete(o2);
}

static void watch_gone_relists(void **state)
{
	(void)state;
	/* Resource version 1 is older than anything the API server's watch cache holds: it
	 * answers with an ERROR event, code 410 (Gone), and the watch must relist. */
	struct seen s = {0};
	struct kube_watch_opts o = {.ns = ns, .label_selector = "suite=page",
				    .resource_version = "1"};
	struct kube_watch_handlers h = {.on_list_end = w_list, .on_event = w_event, .ctx = &s};
	struct kube_watch *w = kube_watch_new(&c, &CM, &o, &h);
	kube_watch_start(w);
	wait_for(w, &s.lists, 1, 20000);
	kube_watch_get_stats(w, &s.st);
	assert_int_equal(s.lists, 1);
	assert_int_equal(s.st.gone, 1);
	assert_int_equal(s.st.relists, 1);
	assert_int_equal(s.st.lists, 1);
	/* After the relist it watches from the list's version: a new object arrives. */
	struct ks_err err = {0};
	cJSON *o1 = it_parse("{\"metadata\":{\"name\":\"after-gone\",\"labels\":{\"suite\":\"page\"}}}");
	assert_int_equal(kube_create(&c, &CM, ns, o1, NULL, &err), 0);
	cJSON_Delete(o1);
	wait_for(w, &s.added, 1, 10000);
	assert_int_equal(s.added, 1);
	assert_string_equal(s.last_name, "after-gone");
	kube_watch_free(w);
}

static void forbidden(void **state)
{
	(void)state;
	struct kube_client u;
	it_connect(&u, "unprivileged", 0);
	struct ks_err err = {0};
	cJSON *out = NULL;
	assert_int_equal(kube_list(&u, &KUBE_RES_PODS, ns, NULL, &out, &err), KS_EFORBIDDEN);
	assert_int_equal(err.http_status, 403);
	assert_string_equal(err.reason, "Forbidden");
	assert_contains(err.msg, "pods is forbidden");
	kube_client_close(&u);
}

static void pod_logs_error(void **state)
{
	(void)state;
	struct ks_err err = {0};
	/* A node selector no node matches: it stays unbound even when simulated nodes exist. */
	cJSON *pod = it_parse("{\"metadata\":{\"name\":\"nolog\"},\"spec\":{\"nodeSelector\":"
			      "{\"kswarm.io/test\":\"no-such-node\"},\"containers\":"
			      "[{\"name\":\"app\",\"image\":\"example/app:1\"}]}}");
	assert_int_equal(kube_create(&c, &KUBE_RES_PODS, ns, pod, NULL, &err), 0);
	cJSON_Delete(pod);
	struct ks_buf logs;
	ks_buf_init(&logs, 1 << 20);
	/* A pod no node runs: the API server answers 200 with no log lines (v1.20's
	 * LogLocation returns an empty location when spec.nodeName is empty). */
	struct kube_log_opts lo = {.container = "app", .tail_lines = 10, .previous = true};
	assert_int_equal(kube_pod_logs(&c, ns, "nolog", &lo, &logs, &err), 0);
	assert_int_equal(logs.len, 0);
	/* A container the pod does not have: 400 with the server's words. */
	lo.container = "nope";
	assert_int_equal(kube_pod_logs(&c, ns, "nolog", &lo, &logs, &err), KS_EINVAL);
	assert_int_equal(err.http_status, 400);
	assert_contains(err.msg, "container nope is not valid for pod nolog");
	/* No such pod: 404. */
	assert_int_equal(kube_pod_logs(&c, ns, "missing-pod", &lo, &logs, &err), KS_ENOTFOUND);
	assert_contains(err.msg, "pods \"missing-pod\" not found");
	ks_buf_release(&logs);
	/* Events: the scheduler has no node for it — or none yet; the call itself works. */
	cJSON *events = NULL;
	assert_int_equal(kube_events_for(&c, ns, "Pod", "nolog", NULL, &events, &err), 0);
	assert_true(cJSON_IsArray(ks_json_get(events, "items")));
	cJSON_Delete(events);
}

static void status_subresource(void **state)
{
	(void)state;
	struct ks_err err = {0};
	struct kube_resource st = KUBE_RES_PODS;
	snprintf(st.subresource, sizeof st.subresource, "status");
	const char *p = "{\"status\":{\"conditions\":[{\"type\":\"PodScheduled\",\"status\":\"False\","
			"\"reason\":\"Unschedulable\",\"message\":\"set by test\"}]}}";
	struct kube_patch_opts po = {.type = KUBE_PATCH_MERGE};
	cJSON *out = NULL;
	assert_int_equal(kube_patch(&c, &st, ns, "nolog", p, strlen(p), &po, &out, &err), 0);
	const cJSON *cond = cJSON_GetArrayItem(ks_json_get(out, "status.conditions"), 0);
	assert_string_equal(ks_json_str(cond, "message"), "set by test");
	cJSON_Delete(out);
	/* A status patch cannot change the spec. */
	const char *spec = "{\"spec\":{\"activeDeadlineSeconds\":5}}";
	assert_int_equal(kube_patch(&c, &st, ns, "nolog", spec, strlen(spec), &po, &out, &err), 0);
	assert_null(ks_json_get(out, "spec.activeDeadlineSeconds"));
	cJSON_Delete(out);
}

static void discovery_old_versions(void **state)
{
	(void)state;
	struct ks_err err = {0};
	assert_int_equal(kube_discover(&c, &err), 0);
	const struct kube_discovery *d = c.discovery;
	assert_string_equal(d->server_version, "v1.20.2");
	const struct kube_api_resource *r = kube_discovery_find(d, "cronjobs", &err);
	assert_non_null(r);
	assert_string_equal(r->r.group, "batch");
	assert_string_equal(r->r.version, "v1beta1"); /* 1.20 serves CronJob only there */
	r = kube_discovery_find(d, "pdb", &err);
	assert_non_null(r);
	assert_string_equal(r->r.version, "v1beta1");
	assert_false(kube_discovery_serves(d, "policy", "v1", "poddisruptionbudgets"));
	r = kube_discovery_find(d, "hpa", &err);
	assert_non_null(r);
	assert_true(kube_discovery_serves(d, "autoscaling", "v2beta2", "horizontalpodautoscalers"));
	r = kube_discovery_find(d, "deploy", &err);
	assert_string_equal(r->r.kind, "Deployment");
	assert_string_equal(r->r.group, "apps");
	r = kube_discovery_find(d, "deployments.v1.apps", &err);
	assert_non_null(r);
	r = kube_discovery_find(d, "po", &err);
	assert_string_equal(r->r.resource, "pods");
	assert_null(kube_discovery_find(d, "nosuchthings", &err));
	assert_contains(err.msg, "doesn't have a resource type \"nosuchthings\"");
}

/* A NodePool CRD (karpenter.sh/v1, the fields kswarm reads), then discovery finds it. */
static void crd_discovery(void **state)
{
	(void)state;
	struct ks_err err = {0};
	const struct kube_resource crds = {"apiextensions.k8s.io", "v1", "customresourcedefinitions",
					   "CustomResourceDefinition", "", false, ""};
	/* The CRD kswarm sim installs (deploy/crds/), by server-side apply of its YAML. */
	char *path = ks_asprintf("%s/deploy/crds/karpenter.sh_nodepools.yaml",
				 getenv("KSWARM_SRCDIR") ? getenv("KSWARM_SRCDIR") : ".");
	struct ks_buf yaml;
	ks_buf_init(&yaml, 1 << 20);
	assert_rc(ks_buf_read_file(&yaml, path, &err), 0, &err);
	struct kube_patch_opts po = {.type = KUBE_PATCH_APPLY, .field_manager = "kswarm-test",
				     .force = true};
	assert_rc(kube_patch(&c, &crds, NULL, "nodepools.karpenter.sh", yaml.data, yaml.len, &po,
			     NULL, &err), 0, &err);
	ks_buf_release(&yaml);
	free(path);
	const struct kube_api_resource *r = NULL;
	for (int i = 0; i < 50 && !r; i++) {
		assert_int_equal(kube_discover(&c, &err), 0);
		r = kube_discovery_find(c.discovery, "nodepools", &err);
		if (!r)
			usleep(200000);
	}
	assert_non_null(r);
	assert_string_equal(r->r.group, "karpenter.sh");
	assert_string_equal(r->r.version, "v1");
	assert_string_equal(r->r.kind, "NodePool");
	assert_false(r->r.namespaced);
	assert_non_null(kube_discovery_find(c.discovery, "nodepool.karpenter.sh", &err));
	/* Create one and read it back through the discovered resource. */
	cJSON *np = it_parse("{\"apiVersion\":\"karpenter.sh/v1\",\"kind\":\"NodePool\","
			     "\"metadata\":{\"name\":\"kst-general\"},\"spec\":{\"template\":{\"spec\":"
			     "{\"requirements\":[{\"key\":\"kubernetes.io/arch\",\"operator\":\"In\","
			     "\"values\":[\"amd64\"]}],\"nodeClassRef\":{\"group\":\"karpenter.k8s.aws\","
			     "\"kind\":\"EC2NodeClass\",\"name\":\"default\"}}},\"limits\":{\"cpu\":\"1000\"}}}");
	int rc = kube_create(&c, &r->r, NULL, np, NULL, &err);
	if (rc && rc != KS_ECONFLICT)
		fail_msg("create NodePool: %s", err.msg);
	cJSON_Delete(np);
	cJSON *got = NULL;
	assert_int_equal(kube_get(&c, &r->r, NULL, "kst-general", &got, &err), 0);
	assert_string_equal(ks_json_str(got, "spec.limits.cpu"), "1000");
	cJSON_Delete(got);
	struct kube_delete_opts d = {.grace_period_s = -1};
	kube_delete(&c, &r->r, NULL, "kst-general", &d, NULL, NULL);
}

/* An exec credential plugin that hands out the admin client certificate, then one that
 * hands out the unprivileged token (the server then says 403 — proof it was used). */
static void exec_plugin(void **state)
{
	(void)state;
	struct kube_config_opts co = {.kubeconfig = tu_kubeconfig(), .no_in_cluster = true};
	struct kube_config admin = {0}, unpriv = {0};
	struct ks_err err = {0};
	assert_int_equal(kube_config_load(&co, &admin, &err), 0);
	co.context = "unprivileged";
	assert_int_equal(kube_config_load(&co, &unpriv, &err), 0);
	assert_non_null(admin.client_cert.data);
	assert_non_null(unpriv.token);
	char *dir = tu_mkdtemp();
	char *cred = ks_asprintf("%s/cred.json", dir);
	cJSON *ec = cJSON_CreateObject();
	cJSON_AddStringToObject(ec, "apiVersion", "client.authentication.k8s.io/v1");
	cJSON_AddStringToObject(ec, "kind", "ExecCredential");
	cJSON *st = cJSON_AddObjectToObject(ec, "status");
	cJSON_AddStringToObject(st, "clientCertificateData", admin.client_cert.data);
	cJSON_AddStringToObject(st, "clientKeyData", admin.client_key.data);
	char *ecs = ks_json_print(ec);
	tu_write_file(cred, ecs);
	free(ecs);
	cJSON_Delete(ec);
	char *plugin = ks_asprintf("%s/plugin.sh", dir);
	char *script = ks_asprintf("#!/bin/sh\necho run >> %s/runs\ncat %s\n", dir, cred);
	tu_write_file(plugin, script);
	chmod(plugin, 0755);
	char *tokcred = ks_asprintf("%s/tok.sh", dir);
	char *tokscript = ks_asprintf(
		"#!/bin/sh\nprintf '{\"apiVersion\":\"client.authentication.k8s.io/v1beta1\","
		"\"kind\":\"ExecCredential\",\"status\":{\"token\":\"%s\"}}'\n", unpriv.token);
	tu_write_file(tokcred, tokscript);
	chmod(tokcred, 0755);
	char *kc = ks_asprintf("%s/kubeconfig", dir);
	FILE *f = fopen(kc, "w");
	assert_non_null(f);
	fprintf(f, "apiVersion: v1\nkind: Config\ncurrent-context: exec\nclusters:\n"
		   "- name: local\n  cluster:\n    server: %s\n    insecure-skip-tls-verify: true\n"
		   "contexts:\n- name: exec\n  context: {cluster: local, user: plugin}\n"
		   "- name: exectoken\n  context: {cluster: local, user: tokplugin}\n"
		   "users:\n- name: plugin\n  user:\n    exec:\n"
		   "      apiVersion: client.authentication.k8s.io/v1\n      command: %s\n"
		   "      interactiveMode: Never\n"
		   "- name: tokplugin\n  user:\n    exec:\n"
		   "      apiVersion: client.authentication.k8s.io/v1beta1\n      command: %s\n",
		admin.server, plugin, tokcred);
	fclose(f);
	struct kube_connect_opts o = {.config = {.kubeconfig = kc, .no_in_cluster = true}};
	struct kube_client e;
	assert_int_equal(kube_client_connect(&o, &e, &err), 0);
	cJSON *out = NULL;
	assert_int_equal(kube_list(&e, &KUBE_RES_NAMESPACES, NULL, NULL, &out, &err), 0);
	assert_true(ks_json_len(ks_json_get(out, "items")) >= 1);
	cJSON_Delete(out);
	assert_int_equal(kube_get(&e, &KUBE_RES_NAMESPACES, NULL, ns, &out, &err), 0);
	cJSON_Delete(out);
	kube_client_close(&e);
	/* No expiry: the plugin ran once for the whole client. */
	char *runs_path = ks_asprintf("%s/runs", dir);
	struct ks_buf runs;
	ks_buf_init(&runs, 4096);
	assert_int_equal(ks_buf_read_file(&runs, runs_path, &err), 0);
	assert_string_equal(runs.data, "run\n");
	ks_buf_release(&runs);
	o.config.context = "exectoken";
	assert_int_equal(kube_client_connect(&o, &e, &err), 0);
	assert_int_equal(kube_list(&e, &KUBE_RES_PODS, ns, NULL, &out, &err), KS_EFORBIDDEN);
	assert_contains(err.msg, "forbidden");
	kube_client_close(&e);
	kube_config_release(&admin);
	kube_config_release(&unpriv);
	tu_rmtree(dir);
	free(dir);
	free(cred);
	free(plugin);
	free(script);
	free(tokcred);
	free(tokscript);
	free(kc);
	free(runs_path);
}

/* Client-side rate limit: 30 requests at 20/s with a burst of 5 cannot finish before
 * (30 - 5) / 20 = 1.25 s. (A lower bound: a slow machine cannot make it fail.) */
static void rate_limit(void **state)
{
	(void)state;
	struct kube_client q;
	struct kube_connect_opts o = {
		.config = {.kubeconfig = tu_kubeconfig(), .no_in_cluster = true},
		.qps = 20,
		.burst = 5,
	};
	struct ks_err err = {0};
	assert_int_equal(kube_client_connect(&o, &q, &err), 0);
	int64_t t0 = ks_mono_ms();
	for (int i = 0; i < 30; i++) {
		cJSON *out = NULL;
		assert_rc(kube_get(&q, &KUBE_RES_NAMESPACES, NULL, ns, &out, &err), 0, &err);
		cJSON_Delete(out);
	}
	int64_t ms = ks_mono_ms() - t0;
	if (ms < 1200)
		fail_msg("30 requests at 20 qps / burst 5 took %lld ms", (long long)ms);
	struct kube_http_stats st;
	kube_http_get_stats(q.http, &st);
	assert_int_equal(st.requests, 30);
	kube_client_close(&q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(crud),
		cmocka_unit_test(patches),
		cmocka_unit_test(paging),
		cmocka_unit_test(watch_resume),
		cmocka_unit_test(watch_gone_relists),
		cmocka_unit_test(forbidden),
		cmocka_unit_test(pod_logs_error),
		cmocka_unit_test(status_subresource),
		cmocka_unit_test(discovery_old_versions),
		cmocka_unit_test(crd_discovery),
		cmocka_unit_test(exec_plugin),
		cmocka_unit_test(rate_limit),
	};
	return cmocka_run_group_tests_name("client", tests, setup, teardown);
}
