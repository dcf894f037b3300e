/* test_kubecore.c — the pure parts of the client: URL paths, API error mapping, the watch
 * stream framing, discovery resolution, and the plain-HTTP credential guard. */
#include "testutil.h"

#include "base/json.h"
#include "kube/client.h"
#include "kube/discovery.h"
#include "kube/watch.h"

#include <stdio.h>
#include <string.h>

static void paths(void **state)
{
	(void)state;
	struct ks_buf b;
	ks_buf_init(&b, 4096);
	struct kube_resource deploy = {"apps", "v1", "deployments", "Deployment", "deployment", true, ""};
	kube_path(&b, &deploy, "shop", "web");
	assert_string_equal(b.data, "/apis/apps/v1/namespaces/shop/deployments/web");
	ks_buf_reset(&b);
	kube_path(&b, &deploy, NULL, NULL);
	assert_string_equal(b.data, "/apis/apps/v1/deployments");
	ks_buf_reset(&b);
	struct kube_resource st = KUBE_RES_PODS;
	snprintf(st.subresource, sizeof st.subresource, "status");
	kube_path(&b, &st, "a b", "p/1");
	assert_string_equal(b.data, "/api/v1/namespaces/a%20b/pods/p%2F1/status");
	ks_buf_reset(&b);
	kube_path(&b, &KUBE_RES_NODES, "ignored", "n1");
	assert_string_equal(b.data, "/api/v1/nodes/n1");
	ks_buf_release(&b);
}

static void status_errors(void **state)
{
	(void)state;
	struct ks_err e = {0};
	const char *conflict = "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":"
			       "\"Failure\",\"message\":\"Operation cannot be fulfilled on configmaps "
			       "\\\"x\\\": the object has been modified\",\"reason\":\"Conflict\","
			       "\"details\":{\"name\":\"x\",\"kind\":\"configmaps\"},\"code\":409}";
	assert_int_equal(kube_http_status_error(409, conflict, strlen(conflict), "PUT /x", &e),
			 KS_ECONFLICT);
	assert_int_equal(e.http_status, 409);
	assert_string_equal(e.reason, "Conflict");
	assert_string_equal(e.msg, "PUT /x: Operation cannot be fulfilled on configmaps \"x\": the "
				   "object has been modified (HTTP 409, Conflict)");
	struct {
		long status;
		int code;
	} map[] = {{401, KS_EFORBIDDEN}, {403, KS_EFORBIDDEN}, {404, KS_ENOTFOUND},
		   {410, KS_EGONE}, {400, KS_EINVAL}, {422, KS_EINVAL}, {429, KS_EHTTP},
		   {500, KS_EHTTP}, {504, KS_ETIMEOUT}, {413, KS_ETOOBIG}};
	for (size_t i = 0; i < KS_ARRAY_LEN(map); i++)
		assert_int_equal(kube_http_status_error(map[i].status, "", 0, "GET /", &e), map[i].code);
	/* Not a Status: the start of the body, on one line. */
	const char *html = "<html>\n<body>bad gateway</body>\n</html>";
	kube_http_status_error(502, html, strlen(html), "GET /api", &e);
	assert_string_equal(e.msg, "GET /api: HTTP 502: <html> <body>bad gateway</body> </html>");
	assert_string_equal(e.reason, "");
}

struct events {
	int n;
	char types[16][12];
	char names[16][32];
};

static int record(void *ctx, enum kube_event_type t, cJSON *obj)
{
	struct events *ev = ctx;
	if (ev->n < 16) {
		snprintf(ev->types[ev->n], sizeof ev->types[0], "%s", kube_event_type_name(t));
		snprintf(ev->names[ev->n], sizeof ev->names[0], "%s",
			 ks_json_str_or(obj, "metadata.name", ""));
	}
	ev->n++;
	return 0;
}

static void framing(void **state)
{
	(void)state;
	const char *stream =
		"{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"a\",\"resourceVersion\":\"1\"}}}\n"
		"\n"
		"{\"type\":\"MODIFIED\",\"object\":{\"metadata\":{\"name\":\"b\"}}}\r\n"
		"{\"type\":\"BOOKMARK\",\"object\":{\"metadata\":{\"resourceVersion\":\"9\"}}}\n"
		"{\"type\":\"DELETED\",\"object\":{\"metadata\":{\"name\":\"c\"}}}\n";
	/* Every split point gives the same events. */
	for (size_t chunk = 1; chunk <= strlen(stream); chunk += 7) {
		struct kube_watch_framer f;
		kube_watch_framer_init(&f, 0);
		struct events ev = {0};
		for (size_t off = 0; off < strlen(stream); off += chunk) {
			size_t n = strlen(stream) - off < chunk ? strlen(stream) - off : chunk;
			assert_int_equal(kube_watch_framer_feed(&f, stream + off, n, record, &ev, NULL), 0);
		}
		assert_int_equal(ev.n, 4);
		assert_string_equal(ev.types[0], "ADDED");
		assert_string_equal(ev.names[0], "a");
		assert_string_equal(ev.types[1], "MODIFIED");
		assert_string_equal(ev.types[2], "BOOKMARK");
		assert_string_equal(ev.types[3], "DELETED");
		assert_string_equal(ev.names[3], "c");
		kube_watch_framer_release(&f);
	}
	/* The ceiling, a bad type, a missing object, broken JSON. */
	struct kube_watch_framer f;
	kube_watch_framer_init(&f, 32);
	struct events ev = {0};
	struct ks_err e = {0};
	const char *big = "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"way-too-long\"}}}\n";
	assert_int_equal(kube_watch_framer_feed(&f, big, 20, record, &ev, &e), 0);
	assert_int_equal(kube_watch_framer_feed(&f, big + 20, strlen(big) - 20, record, &ev, &e),
			 KS_ETOOBIG);
	assert_contains(e.msg, "larger than the 32-byte limit");
	kube_watch_framer_release(&f);
	kube_watch_framer_init(&f, 0);
	const char *bad[] = {"{\"type\":\"SOMETHING\",\"object\":{}}\n", "{\"type\":\"ADDED\"}\n",
			     "{\"type\":\"ADDED\",\"object\":{\n"};
	const char *want[] = {"unknown type 'SOMETHING'", "no object", "invalid JSON"};
	for (size_t i = 0; i < KS_ARRAY_LEN(bad); i++) {
		ks_buf_reset(&f.line);
		assert_int_not_equal(kube_watch_framer_feed(&f, bad[i], strlen(bad[i]), record, &ev, &e), 0);
		assert_contains(e.msg, want[i]);
	}
	kube_watch_framer_release(&f);
}

static void discovery_resolution(void **state)
{
	(void)state;
	char *core = tu_read_fixture("discovery/api-v1.json");
	char *groups = tu_read_fixture("discovery/apis.json");
	char *batch1 = tu_read_fixture("discovery/batch-v1.json");
	char *batch2 = tu_read_fixture("discovery/batch-v1beta1.json");
	cJSON *c = cJSON_Parse(core), *g = cJSON_Parse(groups);
	const cJSON *lists[2] = {cJSON_Parse(batch1), cJSON_Parse(batch2)};
	struct kube_discovery *d = NULL;
	struct ks_err e = {0};
	assert_int_equal(kube_discovery_build(c, g, lists, 2, &d, &e), 0);
	const struct kube_api_resource *r = kube_discovery_find(d, "cj", &e);
	assert_non_null(r);
	assert_string_equal(r->r.version, "v1beta1"); /* only batch/v1beta1 serves it */
	r = kube_discovery_find(d, "jobs", &e);
	assert_string_equal(r->r.version, "v1"); /* the preferred version */
	assert_true(kube_discovery_serves(d, "batch", "v1", "jobs"));
	r = kube_discovery_find(d, "Pod", &e);
	assert_string_equal(r->r.resource, "pods");
	assert_string_equal(r->r.singular, "pod"); /* filled from the kind on old servers */
	assert_non_null(kube_discovery_find(d, "jobs.batch", &e));
	assert_non_null(kube_discovery_find(d, "job.v1.batch", &e));
	assert_null(kube_discovery_find(d, "job.v2.batch", &e));
	assert_null(kube_discovery_find(d, "pods/log", &e));
	kube_discovery_free(d);
	cJSON_Delete(c);
	cJSON_Delete(g);
	cJSON_Delete((cJSON *)lists[0]);
	cJSON_Delete((cJSON *)lists[1]);
	free(core);
	free(groups);
	free(batch1);
	free(batch2);
}

static int token_cred(void *ctx, struct kube_http_cred *out, struct ks_err *err)
{
	(void)ctx, (void)err;
	out->token = "SECRET-TOKEN-plain";
	return 0;
}

static void no_credentials_over_plain_http(void **state)
{
	(void)state;
	/* 0.0.0.0 is not a loopback name: the guard refuses before any connection is made. */
	struct kube_http_opts o = {.server = "http://0.0.0.0:1", .get_cred = token_cred};
	struct kube_http *h = NULL;
	struct ks_err e = {0};
	assert_int_equal(kube_http_new(&o, &h, &e), 0);
	struct kube_http_req req = {.method = "GET", .path = "/api"};
	struct kube_http_resp resp;
	assert_int_equal(kube_http_do(h, &req, &resp, &e), KS_EAUTH);
	assert_contains(e.msg, "refusing to send credentials over plain HTTP");
	assert_null(strstr(e.msg, "SECRET-TOKEN"));
	kube_http_resp_release(&resp);
	kube_http_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(paths),
		cmocka_unit_test(status_errors),
		cmocka_unit_test(framing),
		cmocka_unit_test(discovery_resolution),
		cmocka_unit_test(no_credentials_over_plain_http),
	};
	return cmocka_run_group_tests_name("kubecore", tests, NULL, NULL);
}
