/* test_kubelet_server.c — the simulated kubelets' HTTPS endpoint: the request parser as a
 * table (routes, percent-decoding, the kubelet's 400/404/405/422 answers, PodLogOptions
 * decoding as apimachinery does), then the real server on a loopback port through libcurl,
 * verifying its certificate (pinned: CN, SAN IP 127.0.0.1) and the answers' bodies. */
#include "testutil.h"

#include "sim/kubelet_server.h"

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

#define NOW_MS 1795255200000LL /* 2026-11-21T10:00:00Z */

struct parse_case {
	const char *method, *uri;
	int status; /* 0: parses */
	const char *body;
	/* when it parses */
	const char *ns, *pod, *container;
	int route;
	bool previous, timestamps, follow;
	int64_t tail, limit, since_ms;
};

#define UNDECODABLE "{\"message\": \"Unable to decode query.\"}"
#define INVALID "{\"message\": \"Invalid request.\"}"
#define ERR(m, u, st, b) {m, u, st, b, NULL, NULL, NULL, 0, false, false, false, 0, 0, 0}

static const struct parse_case cases[] = {
	{"GET", "/healthz", 0, NULL, .route = SIM_KUBELET_HEALTHZ, .tail = -1},
	{"POST", "/healthz", 0, NULL, .route = SIM_KUBELET_HEALTHZ, .tail = -1},
	{"GET", "/containerLogs/ns/web-1/app", 0, NULL, "ns", "web-1", "app", .tail = -1},
	{"GET", "/containerLogs/ns/web-1/app?previous=true&timestamps=1&tailLines=5&limitBytes=100",
	 0, NULL, "ns", "web-1", "app", .previous = true, .timestamps = true, .tail = 5,
	 .limit = 100},
	/* Booleans: only "0" and "false" (any case) are false; even an empty value is true. */
	{"GET", "/containerLogs/a/b/c?previous=FALSE&timestamps=0&follow=", 0, NULL, "a", "b", "c",
	 .follow = true, .tail = -1},
	/* The first value of a repeated key counts. */
	{"GET", "/containerLogs/a/b/c?tailLines=2&tailLines=x", 0, NULL, "a", "b", "c", .tail = 2},
	/* The old tail parameter: it wins, and "all" means every line. */
	{"GET", "/containerLogs/a/b/c?tailLines=2&tail=7", 0, NULL, "a", "b", "c", .tail = 7},
	{"GET", "/containerLogs/a/b/c?tailLines=2&tail=all", 0, NULL, "a", "b", "c", .tail = -1},
	{"GET", "/containerLogs/a/b/c?tail=", 0, NULL, "a", "b", "c", .tail = -1},
	{"GET", "/containerLogs/a/b/c?sinceSeconds=60", 0, NULL, "a", "b", "c", .tail = -1,
	 .since_ms = NOW_MS - 60000},
	{"GET", "/containerLogs/a/b/c?sinceTime=2026-11-21T09%3A59%3A30Z", 0, NULL, "a", "b", "c",
	 .tail = -1, .since_ms = NOW_MS - 30000},
	{"GET", "/containerLogs/a/b/c?sinceTime=2026-11-21T09:59:30.0001Z", 0, NULL, "a", "b", "c",
	 .tail = -1, .since_ms = NOW_MS - 29999},
	{"GET", "/containerLogs/a/b/c?sinceSeconds=99999999999", 0, NULL, "a", "b", "c",
	 .tail = -1},
	/* Percent-decoding: names, keys and values; '+' is a space only in the query. */
	{"GET", "/containerLogs/n%73/p%2Bq/c?tail%4Cines=%2B3", 0, NULL, "ns", "p+q", "c",
	 .tail = 3},
	/* Unknown parameters are ignored; a pair that does not decode is dropped (URL.Query). */
	{"GET", "/containerLogs/a/b/c?insecureSkipTLSVerifyBackend=true&x=%zz&tailLines=%zz", 0,
	 NULL, "a", "b", "c", .tail = -1},
	/* The kubelet's 400s and 422s. */
	ERR("GET", "/containerLogs/a/b/c?tailLines=x", 400, UNDECODABLE),
	ERR("GET", "/containerLogs/a/b/c?tailLines=", 400, UNDECODABLE),
	ERR("GET", "/containerLogs/a/b/c?limitBytes=1e3", 400,
	 UNDECODABLE),
	ERR("GET", "/containerLogs/a/b/c?tailLines=99999999999999999999", 400,
	 UNDECODABLE),
	ERR("GET", "/containerLogs/a/b/c?sinceTime=yesterday", 400,
	 UNDECODABLE),
	ERR("GET", "/containerLogs/a/b/c?tailLines=-1", 422, INVALID),
	ERR("GET", "/containerLogs/a/b/c?limitBytes=0", 422, INVALID),
	ERR("GET", "/containerLogs/a/b/c?sinceSeconds=0", 422, INVALID),
	ERR("GET", "/containerLogs/a/b/c?sinceSeconds=5&sinceTime=2026-11-21T09:59:30Z", 422,
	 INVALID),
	ERR("GET", "/containerLogs/a//c", 400, "{\"message\": \"Missing podID.\"}"),
	ERR("GET", "/containerLogs/a/b/", 400, "{\"message\": \"Missing container name.\"}"),
	ERR("GET", "/containerLogs//b/c", 400, "{\"message\": \"Missing podNamespace.\"}"),
	/* Routing. */
	ERR("POST", "/containerLogs/a/b/c", 405, "405: Method Not Allowed"),
	ERR("GET", "/containerLogs/a/b", 404, "404: Page Not Found"),
	ERR("GET", "/containerLogs/a/b/c/d", 404, "404: Page Not Found"),
	ERR("GET", "/containerLogs/a/b%2Fc/d", 404, "404: Page Not Found"),
	ERR("GET", "/", 404, "404 page not found\n"),
	ERR("GET", "/pods", 404, "404 page not found\n"),
	ERR("GET", "/containerLogs", 404, "404 page not found\n"),
	ERR("GET", "/containerLogs/a/b/c%zz", 400, "400 Bad Request"),
	ERR("GET", "/containerLogs/a/b/c%4", 400, "400 Bad Request"),
	ERR("GET", "/containerLogs/a/b%00/c", 400, "400 Bad Request"),
	ERR("GET", "/containerLogs/a/b%20b/c", 400, "400 Bad Request"),
};

static void parse_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < KS_ARRAY_LEN(cases); i++) {
		const struct parse_case *c = &cases[i];
		struct sim_kubelet_req r;
		struct ks_err err = {0};
		int rc = sim_kubelet_parse(c->method, c->uri, NOW_MS, &r, &err);
		if (c->status) {
			if (rc == 0)
				fail_msg("%s %s: parsed, want %d", c->method, c->uri, c->status);
			if (err.http_status != c->status || strcmp(err.msg, c->body) != 0)
				fail_msg("%s %s: %d '%s', want %d '%s'", c->method, c->uri,
					 err.http_status, err.msg, c->status, c->body);
			continue;
		}
		if (rc)
			fail_msg("%s %s: %d %s", c->method, c->uri, err.http_status, err.msg);
		assert_int_equal(r.route, c->route);
		if (c->route != SIM_KUBELET_LOGS)
			continue;
		if (strcmp(r.ns, c->ns) || strcmp(r.pod, c->pod) ||
		    strcmp(r.container, c->container))
			fail_msg("%s: %s/%s/%s", c->uri, r.ns, r.pod, r.container);
		if (r.q.previous != c->previous || r.q.timestamps != c->timestamps ||
		    r.follow != c->follow || r.q.tail_lines != c->tail ||
		    r.q.limit_bytes != c->limit || r.q.since_ms != c->since_ms)
			fail_msg("%s: previous %d timestamps %d follow %d tail %lld limit %lld "
				 "since %lld", c->uri, r.q.previous, r.q.timestamps, r.follow,
				 (long long)r.q.tail_lines, (long long)r.q.limit_bytes,
				 (long long)r.q.since_ms);
	}
}

static void parse_ceilings(void **state)
{
	(void)state;
	struct sim_kubelet_req r;
	struct ks_err err = {0};
	char *uri = ks_malloc(SIM_KUBELET_MAX_URI + 64);
	/* A name longer than any Kubernetes name. */
	int n = snprintf(uri, SIM_KUBELET_MAX_URI, "/containerLogs/ns/");
	memset(uri + n, 'p', SIM_KUBELET_MAX_NAME + 1);
	snprintf(uri + n + SIM_KUBELET_MAX_NAME + 1, 8, "/c");
	assert_int_not_equal(sim_kubelet_parse("GET", uri, NOW_MS, &r, &err), 0);
	assert_int_equal(err.http_status, 400);
	memset(uri + n, 'p', SIM_KUBELET_MAX_NAME);
	snprintf(uri + n + SIM_KUBELET_MAX_NAME, 8, "/c");
	assert_int_equal(sim_kubelet_parse("GET", uri, NOW_MS, &r, &err), 0);
	assert_int_equal(strlen(r.pod), SIM_KUBELET_MAX_NAME);
	/* Too many parameters. */
	struct ks_buf b;
	ks_buf_init(&b, KS_BUF_UNLIMITED);
	ks_buf_appendstr(&b, "/containerLogs/a/b/c?");
	for (int i = 0; i <= SIM_KUBELET_MAX_PARAMS; i++)
		ks_buf_appendstr(&b, "x=1&");
	assert_int_not_equal(sim_kubelet_parse("GET", b.data, NOW_MS, &r, &err), 0);
	assert_int_equal(err.http_status, 400);
	/* A URI over the ceiling. */
	while (b.len <= SIM_KUBELET_MAX_URI)
		ks_buf_appendstr(&b, "y");
	assert_int_not_equal(sim_kubelet_parse("GET", b.data, NOW_MS, &r, &err), 0);
	assert_int_equal(err.http_status, 414);
	ks_buf_release(&b);
	free(uri);
}

/* ---- over HTTPS ---- */

struct fixture {
	struct sim_logs *logs;
	struct sim_kubelet_server *srv;
	int port;
};

static int setup(void **state)
{
	struct fixture *f = ks_calloc(1, sizeof *f);
	f->logs = sim_logs_new();
	struct ks_err err = {0};
	if (sim_kubelet_server_start(f->logs, "127.0.0.1:0", &f->srv, &f->port, &err)) {
		fprintf(stderr, "# %s\n", err.msg);
		return -1;
	}
	sim_logs_append(f->logs, "shop", "web-7d9f-x2x", "app", NOW_MS, "starting app");
	sim_logs_append(f->logs, "shop", "web-7d9f-x2x", "app", NOW_MS + 5, "listening on :8080");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	sim_kubelet_server_stop(f->srv);
	sim_logs_free(f->logs);
	free(f);
	return 0;
}

static size_t collect(char *p, size_t sz, size_t n, void *ud)
{
	ks_buf_append(ud, p, sz * n);
	return sz * n;
}

/* GET path over TLS, verifying the server's certificate against itself (pinned), with the
 * host 127.0.0.1 checked against its SAN. */
static long get(struct fixture *f, const char *method, const char *path, struct ks_buf *body,
		char *subject, size_t subject_len)
{
	char url[512];
	snprintf(url, sizeof url, "https://127.0.0.1:%d%s", f->port, path);
	const char *pem = sim_kubelet_server_cert_pem(f->srv);
	struct curl_blob ca = {(void *)pem, strlen(pem), CURL_BLOB_COPY};
	CURL *e = curl_easy_init();
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &ca);
	curl_easy_setopt(e, CURLOPT_CAPATH, NULL);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(e, CURLOPT_CERTINFO, 1L);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, body);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 10000L);
	CURLcode rc = curl_easy_perform(e);
	if (rc != CURLE_OK)
		fail_msg("%s: %s", url, curl_easy_strerror(rc));
	long status = 0;
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
	if (subject) {
		struct curl_certinfo *ci = NULL;
		subject[0] = '\0';
		curl_easy_getinfo(e, CURLINFO_CERTINFO, &ci);
		for (int i = 0; ci && i < ci->num_of_certs; i++)
			for (struct curl_slist *s = ci->certinfo[i]; s; s = s->next)
				if (strncmp(s->data, "Subject:", 8) == 0)
					snprintf(subject, subject_len, "%s", s->data + 8);
	}
	curl_easy_cleanup(e);
	return status;
}

static void expect_get(struct fixture *f, const char *method, const char *path, long status,
		       const char *body)
{
	struct ks_buf b;
	ks_buf_init(&b, 1u << 20);
	long got = get(f, method, path, &b, NULL, 0);
	if (got != status || strcmp(b.data, body) != 0)
		fail_msg("%s %s: %ld '%s', want %ld '%s'", method, path, got, b.data, status, body);
	ks_buf_release(&b);
}

static void https_serves_logs(void **state)
{
	struct fixture *f = *state;
	assert_true(f->port > 0);
	struct ks_buf b;
	ks_buf_init(&b, 1u << 20);
	char subject[256];
	assert_int_equal(get(f, "GET", "/healthz", &b, subject, sizeof subject), 200);
	assert_string_equal(b.data, "ok");
	assert_contains(subject, "CN"); /* "CN = …" with OpenSSL */
	assert_contains(subject, "kswarm-sim-kubelet");
	ks_buf_release(&b);
	expect_get(f, "GET", "/containerLogs/shop/web-7d9f-x2x/app", 200,
		   "starting app\nlistening on :8080\n");
	expect_get(f, "GET", "/containerLogs/shop/web-7d9f-x2x/app?tailLines=1&timestamps=true",
		   200, "2026-11-21T10:00:00.005000000Z listening on :8080\n");
	expect_get(f, "GET", "/containerLogs/shop/web-7d9f-x2x/app?follow=true&limitBytes=8", 200,
		   "starting");
	expect_get(f, "GET", "/containerLogs/shop/web-7d9f-x2x/app?previous=true", 400,
		   "previous terminated container \"app\" in pod \"web-7d9f-x2x\" not found");
	expect_get(f, "GET", "/containerLogs/shop/web-7d9f-x2x/db", 404,
		   "container \"db\" not found in pod \"web-7d9f-x2x\"");
	expect_get(f, "GET", "/containerLogs/shop/nope/app", 404, "pod \"nope\" does not exist");
	expect_get(f, "GET", "/containerLogs/shop/web-7d9f-x2x/app?tailLines=-3", 422,
		   INVALID);
	expect_get(f, "DELETE", "/containerLogs/shop/web-7d9f-x2x/app", 405,
		   "405: Method Not Allowed");
	expect_get(f, "GET", "/stats/summary", 404, "404 page not found\n");
	/* After a restart the previous instance is there. */
	sim_logs_restart(f->logs, "shop", "web-7d9f-x2x", "app");
	sim_logs_append(f->logs, "shop", "web-7d9f-x2x", "app", NOW_MS + 9, "again");
	expect_get(f, "GET", "/containerLogs/shop/web-7d9f-x2x/app?previous=1", 200,
		   "starting app\nlistening on :8080\n");
	expect_get(f, "GET", "/containerLogs/shop/web-7d9f-x2x/app", 200, "again\n");
}

static void start_errors(void **state)
{
	(void)state;
	struct sim_logs *l = sim_logs_new();
	struct sim_kubelet_server *s = NULL;
	struct ks_err err = {0};
	int port = -1;
	static const char *const bad[] = {"127.0.0.1", "localhost:0", "127.0.0.1:70000",
					  "127.0.0.1:", "127.0.0.1:x", ":0"};
	for (size_t i = 0; i < KS_ARRAY_LEN(bad); i++) {
		assert_int_equal(sim_kubelet_server_start(l, bad[i], &s, &port, &err), KS_EINVAL);
		assert_null(s);
		assert_contains(err.msg, bad[i]);
	}
	/* A port already taken. */
	struct sim_kubelet_server *a = NULL;
	assert_int_equal(sim_kubelet_server_start(l, "127.0.0.1:0", &a, &port, &err), 0);
	char addr[32];
	snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
	assert_int_equal(sim_kubelet_server_start(l, addr, &s, &port, &err), KS_EIO);
	assert_null(s);
	assert_contains(err.msg, "cannot listen");
	sim_kubelet_server_stop(a);
	sim_kubelet_server_stop(NULL);
	sim_logs_free(l);
}

int main(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse_table),
		cmocka_unit_test(parse_ceilings),
		cmocka_unit_test_setup_teardown(https_serves_logs, setup, teardown),
		cmocka_unit_test(start_errors),
	};
	int rc = cmocka_run_group_tests_name("kubelet_server", tests, NULL, NULL);
	curl_global_cleanup();
	return rc;
}
