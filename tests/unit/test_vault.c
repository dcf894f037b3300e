/* test_vault.c — the simulated Vault (sim/vault.h) and the KV v2 client (secrets/vault.h):
 * the client against the server on 127.0.0.1:0, raw HTTP for the exact bytes Vault sends, and
 * a planted secret value and token that must never show up in an error message. */
#include "testutil.h"

#include "base/json.h"
#include "secrets/vault.h"
#include "sim/vault.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define TOKEN "hvs.root-PLANTED-token-7f3a"
#define SECRET "db-pass-PLANTED-s3cr3t-91c2"

struct fx {
	struct sim_vault *v;
	struct vault_client *c;
	char addr[64];
};

static int setup(void **state)
{
	struct fx *f = ks_calloc(1, sizeof(*f));
	struct ks_err e = {0};
	static const char *const mounts[] = {"secret", "kv"};
	struct sim_vault_opts o = {.port = 0, .root_token = TOKEN, .mounts = mounts, .n_mounts = 2};
	assert_int_equal(sim_vault_start(&o, &f->v, &e), 0);
	assert_true(sim_vault_port(f->v) > 0);
	snprintf(f->addr, sizeof(f->addr), "http://127.0.0.1:%u", sim_vault_port(f->v));
	struct vault_opts co = {.addr = f->addr, .token = TOKEN, .timeout_ms = 5000};
	assert_int_equal(vault_client_new(&co, &f->c, &e), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	vault_client_free(f->c);
	sim_vault_stop(f->v);
	free(f);
	return 0;
}

static cJSON *obj1(const char *k, const char *val)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, k, val);
	return o;
}

/* ---- raw HTTP ---- */

struct raw {
	long status;
	struct ks_buf body;
	char ctype[128];
	char cache[64];
};

static size_t raw_write(char *p, size_t s, size_t n, void *ctx)
{
	ks_buf_append(ctx, p, s * n);
	return s * n;
}

static size_t raw_header(char *p, size_t s, size_t n, void *ctx)
{
	struct raw *r = ctx;
	size_t len = s * n;
	char line[256];
	snprintf(line, sizeof(line), "%.*s", (int)(len < 255 ? len : 255), p);
	line[strcspn(line, "\r\n")] = 0;
	if (strncasecmp(line, "Content-Type: ", 14) == 0)
		snprintf(r->ctype, sizeof(r->ctype), "%s", line + 14);
	if (strncasecmp(line, "Cache-Control: ", 15) == 0)
		snprintf(r->cache, sizeof(r->cache), "%s", line + 15);
	return len;
}

static void raw(struct fx *f, const char *method, const char *path, const char *token,
		const char *body, size_t body_len, struct raw *r)
{
	memset(r, 0, sizeof(*r));
	ks_buf_init(&r->body, KS_BUF_UNLIMITED);
	char url[2048];
	snprintf(url, sizeof(url), "%s%s", f->addr, path);
	CURL *e = curl_easy_init();
	struct curl_slist *h = NULL;
	char th[128];
	if (token) {
		snprintf(th, sizeof(th), "X-Vault-Token: %s", token);
		h = curl_slist_append(h, th);
	}
	h = curl_slist_append(h, "Expect:");
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
	if (body) {
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
	}
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, raw_write);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, &r->body);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, raw_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 5000L);
	assert_int_equal(curl_easy_perform(e), CURLE_OK);
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &r->status);
	curl_slist_free_all(h);
	curl_easy_cleanup(e);
}

/* The member names of a JSON object in document order, comma-joined. */
static void key_order(const cJSON *o, char *out, size_t n)
{
	out[0] = 0;
	size_t len = 0;
	for (const cJSON *c = o ? o->child : NULL; c; c = c->next)
		len += (size_t)snprintf(out + len, len < n ? n - len : 0, "%s%s", len ? "," : "",
					c->string);
}

/* ---- the client against the server ---- */

static void read_write_versions(void **state)
{
	struct fx *f = *state;
	struct ks_err e = {0};
	int ver = 0;
	cJSON *d = obj1("password", "one");
	assert_int_equal(vault_kv2_write(f->c, "secret", "app/db", d, -1, &ver, &e), 0);
	assert_int_equal(ver, 1);
	cJSON_Delete(d);
	d = obj1("password", "two");
	cJSON_AddNumberToObject(d, "port", 5432);
	assert_int_equal(vault_kv2_write(f->c, "secret", "app/db", d, -1, &ver, &e), 0);
	assert_int_equal(ver, 2);
	cJSON_Delete(d);

	cJSON *got = NULL;
	assert_int_equal(vault_kv2_read(f->c, "secret", "app/db", 0, &got, &ver, &e), 0);
	assert_int_equal(ver, 2);
	assert_string_equal(ks_json_str(got, "password"), "two");
	assert_int_equal(ks_json_int_or(got, "port", 0), 5432);
	cJSON_Delete(got);
	assert_int_equal(vault_kv2_read(f->c, "secret", "app/db", 1, &got, &ver, &e), 0);
	assert_int_equal(ver, 1);
	assert_string_equal(ks_json_str(got, "password"), "one");
	cJSON_Delete(got);
	assert_int_equal(vault_kv2_read(f->c, "secret", "app/db", 3, &got, &ver, &e), KS_ENOTFOUND);
	assert_int_equal(e.http_status, 404);
	assert_null(got);

	/* The simulator's direct access sees the same store, and its writes are new versions. */
	assert_int_equal(sim_vault_get(f->v, "secret", "app/db", 0, &got, &e), 0);
	assert_string_equal(ks_json_str(got, "password"), "two");
	cJSON_Delete(got);
	d = obj1("password", "three");
	assert_int_equal(sim_vault_put(f->v, "secret", "app/db", d, &ver, &e), 0);
	assert_int_equal(ver, 3);
	cJSON_Delete(d);
	assert_int_equal(vault_kv2_read(f->c, "secret", "app/db", 0, &got, &ver, &e), 0);
	assert_int_equal(ver, 3);
	assert_string_equal(ks_json_str(got, "password"), "three");
	cJSON_Delete(got);

	cJSON *meta = NULL;
	assert_int_equal(vault_kv2_metadata(f->c, "secret", "app/db", &meta, &e), 0);
	assert_int_equal(ks_json_int_or(meta, "current_version", 0), 3);
	assert_int_equal(ks_json_int_or(meta, "oldest_version", 0), 1);
	assert_int_equal(ks_json_len(ks_json_get(meta, "versions")) , 0); /* an object */
	assert_non_null(ks_json_child(ks_json_get(meta, "versions"), "3"));
	cJSON_Delete(meta);

	/* Another mount is another namespace of keys. */
	assert_int_equal(vault_kv2_read(f->c, "kv", "app/db", 0, &got, &ver, &e), KS_ENOTFOUND);
}

static void max_versions(void **state)
{
	struct fx *f = *state;
	struct ks_err e = {0};
	int ver = 0;
	for (int i = 1; i <= 12; i++) {
		char val[16];
		snprintf(val, sizeof(val), "v%d", i);
		cJSON *d = obj1("k", val);
		assert_int_equal(sim_vault_put(f->v, "secret", "many", d, &ver, &e), 0);
		cJSON_Delete(d);
	}
	assert_int_equal(ver, 12);
	cJSON *got = NULL;
	assert_int_equal(vault_kv2_read(f->c, "secret", "many", 2, &got, NULL, &e), KS_ENOTFOUND);
	assert_int_equal(vault_kv2_read(f->c, "secret", "many", 3, &got, NULL, &e), 0);
	assert_string_equal(ks_json_str(got, "k"), "v3");
	cJSON_Delete(got);
	cJSON *meta = NULL;
	assert_int_equal(vault_kv2_metadata(f->c, "secret", "many", &meta, &e), 0);
	assert_int_equal(ks_json_int_or(meta, "oldest_version", 0), 3);
	assert_null(ks_json_child(ks_json_get(meta, "versions"), "2"));
	assert_non_null(ks_json_child(ks_json_get(meta, "versions"), "12"));
	cJSON_Delete(meta);
}

static void check_and_set(void **state)
{
	struct fx *f = *state;
	struct ks_err e = {0};
	int ver = 0;
	cJSON *d = obj1("user", "app");
	assert_int_equal(vault_kv2_write(f->c, "secret", "cas", d, 0, &ver, &e), 0);
	assert_int_equal(ver, 1);
	assert_int_equal(vault_kv2_write(f->c, "secret", "cas", d, 0, &ver, &e), KS_ECONFLICT);
	assert_int_equal(e.http_status, 400);
	assert_contains(e.msg, "check-and-set parameter did not match the current version");
	assert_contains(e.msg, "POST secret/data/cas");
	assert_int_equal(vault_kv2_write(f->c, "secret", "cas", d, 5, &ver, &e), KS_ECONFLICT);
	assert_int_equal(vault_kv2_write(f->c, "secret", "cas", d, 1, &ver, &e), 0);
	assert_int_equal(ver, 2);
	cJSON_Delete(d);
}

static void soft_delete(void **state)
{
	struct fx *f = *state;
	struct ks_err e = {0};
	cJSON *d = obj1("a", "1");
	assert_int_equal(vault_kv2_write(f->c, "secret", "del/me", d, -1, NULL, &e), 0);
	assert_int_equal(vault_kv2_write(f->c, "secret", "del/me", d, -1, NULL, &e), 0);
	cJSON_Delete(d);
	assert_int_equal(vault_kv2_delete(f->c, "secret", "del/me", &e), 0);
	cJSON *got = NULL;
	int ver = 0;
	assert_int_equal(vault_kv2_read(f->c, "secret", "del/me", 0, &got, &ver, &e), KS_ENOTFOUND);
	assert_int_equal(e.http_status, 404);
	assert_contains(e.msg, "version 2 was deleted at 20");
	/* The earlier version is still there, and a write makes a fresh current version. */
	assert_int_equal(vault_kv2_read(f->c, "secret", "del/me", 1, &got, &ver, &e), 0);
	cJSON_Delete(got);
	assert_int_equal(sim_vault_get(f->v, "secret", "del/me", 0, &got, &e), KS_ENOTFOUND);
	cJSON *meta = NULL;
	assert_int_equal(vault_kv2_metadata(f->c, "secret", "del/me", &meta, &e), 0);
	assert_int_equal(ks_json_int_or(meta, "current_version", 0), 2);
	assert_true(strlen(ks_json_str_or(ks_json_child(ks_json_get(meta, "versions"), "2"),
					  "deletion_time", "")) > 0);
	cJSON_Delete(meta);
	/* cas counts the deleted version: the current version is still 2. */
	d = obj1("a", "3");
	assert_int_equal(vault_kv2_write(f->c, "secret", "del/me", d, 2, &ver, &e), 0);
	assert_int_equal(ver, 3);
	cJSON_Delete(d);
}

static void list_keys(void **state)
{
	struct fx *f = *state;
	struct ks_err e = {0};
	cJSON *d = obj1("x", "y");
	const char *paths[] = {"l/a", "l/c/d", "l/c/e", "l/b"};
	for (size_t i = 0; i < KS_ARRAY_LEN(paths); i++)
		assert_int_equal(sim_vault_put(f->v, "kv", paths[i], d, NULL, &e), 0);
	cJSON_Delete(d);
	cJSON *keys = NULL;
	assert_int_equal(vault_kv2_list(f->c, "kv", "l", &keys, &e), 0);
	char *s = ks_json_print(keys);
	assert_string_equal(s, "[\"a\",\"b\",\"c/\"]");
	free(s);
	cJSON_Delete(keys);
	assert_int_equal(vault_kv2_list(f->c, "kv", "", &keys, &e), 0);
	s = ks_json_print(keys);
	assert_string_equal(s, "[\"l/\"]");
	free(s);
	cJSON_Delete(keys);
	assert_int_equal(vault_kv2_list(f->c, "kv", "l/c/", &keys, &e), 0);
	assert_int_equal(ks_json_len(keys), 2);
	cJSON_Delete(keys);
	assert_int_equal(vault_kv2_list(f->c, "kv", "nothing/", &keys, &e), KS_ENOTFOUND);
	assert_null(keys);
}

static void forbidden_and_not_found(void **state)
{
	struct fx *f = *state;
	struct ks_err e = {0};
	struct vault_client *bad = NULL;
	struct vault_opts co = {.addr = f->addr, .token = "hvs.wrong-token",
				.namespace_name = "team-a"};
	assert_int_equal(vault_client_new(&co, &bad, &e), 0);
	cJSON *got = NULL;
	assert_int_equal(vault_kv2_read(bad, "secret", "app/db", 0, &got, NULL, &e), KS_EFORBIDDEN);
	assert_int_equal(e.http_status, 403);
	assert_string_equal(e.msg, "vault GET secret/data/app/db: 403 permission denied");
	vault_client_free(bad);

	assert_int_equal(vault_kv2_read(f->c, "secret", "no/such", 0, &got, NULL, &e),
			 KS_ENOTFOUND);
	assert_string_equal(e.msg, "vault GET secret/data/no/such: 404 not found");
	assert_int_equal(vault_kv2_read(f->c, "nomount", "x", 0, &got, NULL, &e), KS_ENOTFOUND);
	assert_contains(e.msg, "404 no handler for route \"nomount/data/x\". route entry");
	assert_int_equal(vault_kv2_read(f->c, "secret", "dir/", 0, &got, NULL, &e), KS_EINVAL);
}

/* Every error message a caller can see: neither the token nor a secret value is in it. */
static void secrets_never_in_errors(void **state)
{
	struct fx *f = *state;
	struct ks_err e = {0};
	cJSON *d = obj1("password", SECRET);
	assert_int_equal(sim_vault_put(f->v, "secret", "planted", d, NULL, &e), 0);
	char msgs[12][KS_ERR_MSG_MAX];
	int n = 0;
	cJSON *got = NULL;

	/* cas conflict with the secret in the request body */
	assert_int_equal(vault_kv2_write(f->c, "secret", "planted", d, 0, NULL, &e), KS_ECONFLICT);
	memcpy(msgs[n++], e.msg, sizeof(e.msg));
	/* deleted version, pruned version, missing key, bad mount */
	assert_int_equal(vault_kv2_delete(f->c, "secret", "planted", &e), 0);
	assert_int_equal(vault_kv2_read(f->c, "secret", "planted", 0, &got, NULL, &e),
			 KS_ENOTFOUND);
	memcpy(msgs[n++], e.msg, sizeof(e.msg));
	assert_int_equal(vault_kv2_read(f->c, "secret", "planted", 9, &got, NULL, &e),
			 KS_ENOTFOUND);
	memcpy(msgs[n++], e.msg, sizeof(e.msg));
	assert_int_equal(vault_kv2_read(f->c, "nope", "planted", 0, &got, NULL, &e), KS_ENOTFOUND);
	memcpy(msgs[n++], e.msg, sizeof(e.msg));
	/* a response over the ceiling */
	struct vault_client *small = NULL;
	struct vault_opts co = {.addr = f->addr, .token = TOKEN, .max_response = 16};
	assert_int_equal(vault_client_new(&co, &small, &e), 0);
	assert_int_equal(vault_kv2_read(small, "secret", "planted", 1, &got, NULL, &e), KS_ETOOBIG);
	memcpy(msgs[n++], e.msg, sizeof(e.msg));
	vault_client_free(small);
	/* a wrong token (its own text planted too) */
	struct vault_client *bad = NULL;
	co = (struct vault_opts){.addr = f->addr, .token = "hvs.wrong-PLANTED-token"};
	assert_int_equal(vault_client_new(&co, &bad, &e), 0);
	assert_int_equal(vault_kv2_write(bad, "secret", "planted", d, -1, NULL, &e), KS_EFORBIDDEN);
	memcpy(msgs[n++], e.msg, sizeof(e.msg));
	vault_client_free(bad);
	/* a transport failure: nothing listens on port 1 */
	struct vault_client *down = NULL;
	co = (struct vault_opts){.addr = "http://127.0.0.1:1", .token = TOKEN};
	assert_int_equal(vault_client_new(&co, &down, &e), 0);
	assert_int_equal(vault_kv2_write(down, "secret", "planted", d, -1, NULL, &e), KS_ENET);
	memcpy(msgs[n++], e.msg, sizeof(e.msg));
	vault_client_free(down);
	/* bad options */
	co = (struct vault_opts){.addr = "ftp://x", .token = TOKEN};
	assert_int_equal(vault_client_new(&co, &down, &e), KS_EINVAL);
	memcpy(msgs[n++], e.msg, sizeof(e.msg));
	cJSON_Delete(d);

	for (int i = 0; i < n; i++) {
		assert_true(strlen(msgs[i]) > 0);
		if (strstr(msgs[i], "PLANTED") || strstr(msgs[i], "s3cr3t") ||
		    strstr(msgs[i], "7f3a"))
			fail_msg("secret in error message %d: %s", i, msgs[i]);
	}
}

/* ---- raw HTTP: the bytes Vault sends ---- */

static void raw_shapes(void **state)
{
	struct fx *f = *state;
	struct raw r;
	const char *w = "{\"data\":{\"password\":\"p<&>\",\"a\":1.5,\"n\":null},\"options\":{}}";
	raw(f, "POST", "/v1/secret/data/raw/db", TOKEN, w, strlen(w), &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.ctype, "application/json");
	assert_string_equal(r.cache, "no-store");
	assert_true(r.body.len > 0 && r.body.data[r.body.len - 1] == '\n');
	cJSON *j = ks_json_parse(r.body.data, r.body.len, 1 << 20, NULL);
	assert_non_null(j);
	char order[512];
	key_order(j, order, sizeof(order));
	assert_string_equal(order, "request_id,lease_id,renewable,lease_duration,data,wrap_info,"
				   "warnings,auth,mount_type");
	key_order(ks_json_child(j, "data"), order, sizeof(order));
	assert_string_equal(order, "created_time,custom_metadata,deletion_time,destroyed,version");
	assert_int_equal(strlen(ks_json_str(j, "request_id")), 36);
	assert_int_equal(ks_json_int_or(j, "data.version", 0), 1);
	cJSON_Delete(j);
	ks_buf_release(&r.body);

	raw(f, "GET", "/v1/secret/data/raw/db?version=1", TOKEN, NULL, 0, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.ctype, "application/json");
	/* Sorted keys, Go's HTML-safe escaping, numbers as Go prints them. */
	assert_contains(r.body.data, ",\"lease_id\":\"\",\"renewable\":false,\"lease_duration\":0,"
				     "\"data\":{\"data\":{\"a\":1.5,\"n\":null,"
				     "\"password\":\"p\\u003c\\u0026\\u003e\"},\"metadata\":{"
				     "\"created_time\":\"20");
	assert_contains(r.body.data, "Z\",\"custom_metadata\":null,\"deletion_time\":\"\","
				     "\"destroyed\":false,\"version\":1}},\"wrap_info\":null,"
				     "\"warnings\":null,\"auth\":null,\"mount_type\":\"kv\"}\n");
	ks_buf_release(&r.body);

	raw(f, "GET", "/v1/secret/data/raw/db", "wrong", NULL, 0, &r);
	assert_int_equal(r.status, 403);
	assert_string_equal(r.ctype, "application/json");
	assert_string_equal(r.body.data, "{\"errors\":[\"permission denied\"]}\n");
	ks_buf_release(&r.body);
	raw(f, "GET", "/v1/secret/data/raw/db", NULL, NULL, 0, &r);
	assert_int_equal(r.status, 403);
	ks_buf_release(&r.body);

	raw(f, "GET", "/v1/secret/data/raw/none", TOKEN, NULL, 0, &r);
	assert_int_equal(r.status, 404);
	assert_string_equal(r.body.data, "{\"errors\":[]}\n");
	ks_buf_release(&r.body);

	const char *cas = "{\"data\":{\"x\":\"y\"},\"options\":{\"cas\":7}}";
	raw(f, "PUT", "/v1/secret/data/raw/db", TOKEN, cas, strlen(cas), &r);
	assert_int_equal(r.status, 400);
	assert_string_equal(r.body.data, "{\"errors\":[\"check-and-set parameter did not match the "
					 "current version\"]}\n");
	ks_buf_release(&r.body);
	raw(f, "POST", "/v1/secret/data/raw/db", TOKEN, "{\"options\":{}}", 14, &r);
	assert_int_equal(r.status, 400);
	assert_string_equal(r.body.data, "{\"errors\":[\"no data provided\"]}\n");
	ks_buf_release(&r.body);
	raw(f, "POST", "/v1/secret/data/raw/db", TOKEN, "{\"data\":", 8, &r);
	assert_int_equal(r.status, 400);
	ks_buf_release(&r.body);

	/* LIST method and GET ?list=true answer the same keys. */
	raw(f, "LIST", "/v1/secret/metadata/raw", TOKEN, NULL, 0, &r);
	assert_int_equal(r.status, 200);
	assert_contains(r.body.data, "\"data\":{\"keys\":[\"db\"]},\"wrap_info\":null");
	ks_buf_release(&r.body);
	raw(f, "GET", "/v1/secret/metadata/raw/?list=true", TOKEN, NULL, 0, &r);
	assert_int_equal(r.status, 200);
	assert_contains(r.body.data, "\"data\":{\"keys\":[\"db\"]}");
	ks_buf_release(&r.body);

	raw(f, "GET", "/v1/secret/metadata/raw/db", TOKEN, NULL, 0, &r);
	assert_int_equal(r.status, 200);
	j = ks_json_parse(r.body.data, r.body.len, 1 << 20, NULL);
	key_order(ks_json_child(j, "data"), order, sizeof(order));
	assert_string_equal(order, "cas_required,created_time,current_version,custom_metadata,"
				   "delete_version_after,max_versions,oldest_version,updated_time,"
				   "versions");
	key_order(ks_json_get(j, "data.versions.1"), order, sizeof(order));
	assert_string_equal(order, "created_time,deletion_time,destroyed");
	cJSON_Delete(j);
	ks_buf_release(&r.body);

	/* Soft delete: 204 with no body; then the read is a 404 carrying the metadata. */
	raw(f, "DELETE", "/v1/secret/data/raw/db", TOKEN, NULL, 0, &r);
	assert_int_equal(r.status, 204);
	assert_int_equal(r.body.len, 0);
	ks_buf_release(&r.body);
	raw(f, "GET", "/v1/secret/data/raw/db", TOKEN, NULL, 0, &r);
	assert_int_equal(r.status, 404);
	assert_contains(r.body.data, "\"data\":{\"data\":null,\"metadata\":{\"created_time\":");
	assert_contains(r.body.data, ",\"destroyed\":false,\"version\":1}}");
	ks_buf_release(&r.body);

	raw(f, "GET", "/v1/sys/health", NULL, NULL, 0, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.ctype, "application/json");
	j = ks_json_parse(r.body.data, r.body.len, 1 << 20, NULL);
	assert_true(ks_json_bool_or(j, "initialized", false));
	assert_false(ks_json_bool_or(j, "sealed", true));
	assert_true(ks_json_int_or(j, "server_time_utc", 0) > 1700000000);
	cJSON_Delete(j);
	ks_buf_release(&r.body);

	raw(f, "GET", "/v1/other/data/x", TOKEN, NULL, 0, &r);
	assert_int_equal(r.status, 404);
	assert_string_equal(r.body.data,
			    "{\"errors\":[\"no handler for route \\\"other/data/x\\\". "
			    "route entry not found.\"]}\n");
	ks_buf_release(&r.body);
	raw(f, "PATCH", "/v1/secret/data/raw/db", TOKEN, NULL, 0, &r);
	assert_int_equal(r.status, 405);
	assert_string_equal(r.body.data, "{\"errors\":[]}\n");
	ks_buf_release(&r.body);
}

static void raw_ceilings(void **state)
{
	struct fx *f = *state;
	struct raw r;
	size_t big = SIM_VAULT_MAX_BODY + 100;
	char *body = ks_malloc(big);
	memset(body, ' ', big);
	body[0] = '{';
	body[big - 1] = '}';
	raw(f, "POST", "/v1/secret/data/big", TOKEN, body, big, &r);
	free(body);
	assert_int_equal(r.status, 413);
	assert_string_equal(r.body.data, "{\"errors\":[\"http: request body too large\"]}\n");
	ks_buf_release(&r.body);

	char path[SIM_VAULT_MAX_PATH + 64];
	int n = snprintf(path, sizeof(path), "/v1/secret/data/");
	memset(path + n, 'a', sizeof(path) - (size_t)n - 1);
	path[sizeof(path) - 1] = 0;
	raw(f, "GET", path, TOKEN, NULL, 0, &r);
	assert_int_equal(r.status, 400);
	assert_string_equal(r.body.data, "{\"errors\":[\"path too long\"]}\n");
	ks_buf_release(&r.body);

	raw(f, "GET", "/v1/secret/data/a/../b", TOKEN, NULL, 0, &r);
	assert_true(r.status == 404 || r.status == 400);
	ks_buf_release(&r.body);
}

/* The request handler without sockets (what the fuzzer drives). */
static void handle_direct(void **state)
{
	(void)state;
	struct sim_vault *v = NULL;
	struct ks_err e = {0};
	struct sim_vault_opts o = {.root_token = "t", .no_listen = true};
	assert_int_equal(sim_vault_start(&o, &v, &e), 0);
	assert_int_equal(sim_vault_port(v), 0);
	const char *w = "{\"data\":{\"b\":1,\"a\":\"x\",\"a\":\"last\",\"e\":1e300},"
			"\"options\":{\"cas\":\"0\"}}";
	struct sim_vault_req rq = {.method = "POST", .path = "/v1/secret/data/d", .token = "t",
				   .body = w, .body_len = strlen(w)};
	struct sim_vault_resp rs;
	sim_vault_handle(v, &rq, &rs);
	assert_int_equal(rs.status, 200);
	ks_buf_release(&rs.body);
	rq = (struct sim_vault_req){.method = "GET", .path = "/v1/secret/data/d", .token = "t",
				    .version = "1"};
	sim_vault_handle(v, &rq, &rs);
	assert_int_equal(rs.status, 200);
	assert_contains(rs.body.data, "\"data\":{\"data\":{\"a\":\"last\",\"b\":1,\"e\":1e+300}");
	ks_buf_release(&rs.body);
	rq.version = "x1";
	sim_vault_handle(v, &rq, &rs);
	assert_int_equal(rs.status, 400);
	ks_buf_release(&rs.body);
	rq = (struct sim_vault_req){.method = "POST", .path = "/v1/secret/data/d", .token = "t",
				    .body = "{\"data\":{},\"options\":{\"cas\":\"z\"}}"};
	rq.body_len = strlen(rq.body);
	sim_vault_handle(v, &rq, &rs);
	assert_int_equal(rs.status, 400);
	assert_string_equal(rs.body.data,
			    "{\"errors\":[\"error parsing check-and-set parameter\"]}\n");
	ks_buf_release(&rs.body);
	/* metadata delete removes every version and the key */
	rq = (struct sim_vault_req){.method = "DELETE", .path = "/v1/secret/metadata/d",
				    .token = "t"};
	sim_vault_handle(v, &rq, &rs);
	assert_int_equal(rs.status, 204);
	ks_buf_release(&rs.body);
	cJSON *got = NULL;
	assert_int_equal(sim_vault_get(v, "secret", "d", 1, &got, &e), KS_ENOTFOUND);
	assert_int_equal(sim_vault_put(v, "nomount", "d", NULL, NULL, &e), KS_ENOTFOUND);
	sim_vault_stop(v);

	o = (struct sim_vault_opts){.root_token = ""};
	assert_int_equal(sim_vault_start(&o, &v, &e), KS_EINVAL);
}

struct writer {
	const char *addr;
	int rc;
};

static void *write_loop(void *p)
{
	struct writer *w = p;
	struct vault_client *c = NULL;
	struct vault_opts co = {.addr = w->addr, .token = TOKEN};
	w->rc = vault_client_new(&co, &c, NULL);
	cJSON *d = obj1("k", "v");
	for (int i = 0; i < 25 && !w->rc; i++)
		w->rc = vault_kv2_write(c, "secret", "concurrent", d, -1, NULL, NULL);
	cJSON_Delete(d);
	vault_client_free(c);
	return NULL;
}

static void concurrent_writes(void **state)
{
	struct fx *f = *state;
	pthread_t t[4];
	struct writer w[4];
	for (int i = 0; i < 4; i++) {
		w[i] = (struct writer){.addr = f->addr};
		assert_int_equal(pthread_create(&t[i], NULL, write_loop, &w[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(w[i].rc, 0);
	}
	cJSON *meta = NULL;
	assert_int_equal(vault_kv2_metadata(f->c, "secret", "concurrent", &meta, NULL), 0);
	assert_int_equal(ks_json_int_or(meta, "current_version", 0), 100);
	cJSON_Delete(meta);
}

int main(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(read_write_versions, setup, teardown),
		cmocka_unit_test_setup_teardown(max_versions, setup, teardown),
		cmocka_unit_test_setup_teardown(check_and_set, setup, teardown),
		cmocka_unit_test_setup_teardown(soft_delete, setup, teardown),
		cmocka_unit_test_setup_teardown(list_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(forbidden_and_not_found, setup, teardown),
		cmocka_unit_test_setup_teardown(secrets_never_in_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(raw_shapes, setup, teardown),
		cmocka_unit_test_setup_teardown(raw_ceilings, setup, teardown),
		cmocka_unit_test(handle_direct),
		cmocka_unit_test_setup_teardown(concurrent_writes, setup, teardown),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return rc;
}
