/* vault.c — the simulated Vault KV v2 server (see vault.h).
 *
 * Design: sim_vault_handle is a pure function of (store, request) → (status, body), so the
 * fuzzer and tests drive it without sockets; the libmicrohttpd callback only gathers the body
 * (up to SIM_VAULT_MAX_BODY, then drops it and answers 413) and the two query arguments.
 * The store is a ks_map "mount/path" → struct vkey; a key keeps every version it ever had in an
 * array indexed by version - 1 (pruned ones lose their data and leave the metadata, as Vault's
 * max_versions cleanup). Times are RFC 3339 with nanoseconds, trailing zeros trimmed, as Go's
 * time.RFC3339Nano; maps are printed with sorted keys (the last of duplicate keys wins, as
 * Go's decoder), Go's HTML-safe escaping and a final "\n" as json.Encoder writes.
 *
 * Where the behaviour comes from: hashicorp/vault-plugin-secrets-kv path_data.go (read,
 * write, cas errors "check-and-set parameter did not match the current version", "error
 * parsing check-and-set parameter", "no data provided", 404 with the metadata for deleted or
 * destroyed versions), path_metadata.go (metadata fields), Vault's API docs (kv-v2, sys/health).
 *
 * Deviations (none touch what a client parses on the success paths):
 *   - request_id is a random UUID-shaped string; mount_type is "kv" for mounts (Vault >= 1.13).
 *   - errors for malformed input use our own short messages where Vault's come from its
 *     field-decoding library ("invalid version", "data must be a JSON object", "error parsing
 *     JSON", "invalid path"); the ceiling on the path (SIM_VAULT_MAX_PATH) is ours.
 *   - unknown routes answer 404 "unsupported path" (Vault: the same text inside a multierror
 *     or "no handler for route" for unknown mounts, which we also use); 405 {"errors":[]}
 *     for methods a path does not take.
 *   - no config, destroy, undelete, subkeys, patch, custom_metadata writes, delete_version_after;
 *     cas_required is always false. Numbers in secret data print as C's shortest %.17g form,
 *     Go's exponent style only for |x| < 1e-6 or >= 1e21 differs in exponent digits. */
#include "base/common.h"
#include "sim/vault.h"

#include "base/hashmap.h"
#include "base/json.h"

#include <arpa/inet.h>
#include <math.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

struct vver {
	cJSON *data;     /* NULL once pruned or destroyed */
	int64_t created_ns;
	int64_t deleted_ns; /* 0: not deleted */
	bool destroyed;
	bool pruned;
};

struct vkey {
	struct vver *v;
	size_t n, cap; /* v[i] is version i + 1 */
	int64_t created_ns, updated_ns;
	size_t oldest; /* oldest version still kept (1-based), 0 when none */
};

struct sim_vault {
	struct MHD_Daemon *d;
	uint16_t port;
	char *token;
	char *mounts[SIM_VAULT_MAX_MOUNTS];
	size_t n_mounts;
	pthread_mutex_t mu;
	struct ks_map keys; /* "mount/path" → struct vkey * */
	uint64_t rng;
	int64_t last_ns;
};

/* ---- small helpers ---- */

static int64_t now_ns(struct sim_vault *v)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	int64_t ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
	if (ns <= v->last_ns) /* strictly increasing, so versions order by time */
		ns = v->last_ns + 1;
	v->last_ns = ns;
	return ns;
}

static void append_time(struct ks_buf *b, int64_t ns)
{
	if (!ns) {
		ks_buf_appendstr(b, "\"\"");
		return;
	}
	time_t s = (time_t)(ns / 1000000000);
	long frac = (long)(ns % 1000000000);
	struct tm tm;
	gmtime_r(&s, &tm);
	ks_buf_appendf(b, "\"%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1,
		       tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
	if (frac) {
		char f[16];
		snprintf(f, sizeof(f), "%09ld", frac);
		size_t n = 9;
		while (n > 0 && f[n - 1] == '0')
			n--;
		f[n] = 0;
		ks_buf_appendf(b, ".%s", f);
	}
	ks_buf_appendstr(b, "Z\"");
}

static uint64_t next_rand(struct sim_vault *v)
{
	uint64_t x = v->rng;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	v->rng = x;
	return x;
}

static void append_gostr(struct ks_buf *b, const char *s)
{
	ks_buf_append_json_string_go(b, s, true);
}

static void append_value(struct ks_buf *b, const cJSON *j);

struct kid {
	const cJSON *item;
	size_t idx;
};

static const char *kname(const cJSON *c)
{
	return c->string ? c->string : "";
}

static int kid_cmp(const void *pa, const void *pb)
{
	const struct kid *a = pa, *b = pb;
	int c = strcmp(kname(a->item), kname(b->item));
	if (c)
		return c;
	return a->idx < b->idx ? -1 : a->idx > b->idx;
}

/* An object as Go re-encodes a decoded map: sorted keys, last duplicate wins. */
static void append_object(struct ks_buf *b, const cJSON *o)
{
	size_t n = 0;
	for (const cJSON *c = o->child; c; c = c->next)
		n++;
	struct kid *k = ks_calloc(n ? n : 1, sizeof(*k));
	n = 0;
	for (const cJSON *c = o->child; c; c = c->next, n++) {
		k[n].item = c;
		k[n].idx = n;
	}
	qsort(k, n, sizeof(*k), kid_cmp);
	bool first = true;
	ks_buf_appendc(b, '{');
	for (size_t i = 0; i < n; i++) {
		const char *name = kname(k[i].item);
		if (i + 1 < n && strcmp(name, kname(k[i + 1].item)) == 0)
			continue;
		if (!first)
			ks_buf_appendc(b, ',');
		first = false;
		append_gostr(b, name);
		ks_buf_appendc(b, ':');
		append_value(b, k[i].item);
	}
	ks_buf_appendc(b, '}');
	free(k);
}

static void append_number(struct ks_buf *b, double d)
{
	if (!isfinite(d)) {
		ks_buf_appendstr(b, "null");
		return;
	}
	if (d == floor(d) && fabs(d) < 1e21) {
		ks_buf_appendf(b, "%.0f", d);
		return;
	}
	char tmp[40];
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*g", prec, d);
		if (strtod(tmp, NULL) == d)
			break;
	}
	ks_buf_appendstr(b, tmp);
}

static void append_value(struct ks_buf *b, const cJSON *j)
{
	if (cJSON_IsObject(j)) {
		append_object(b, j);
	} else if (cJSON_IsArray(j)) {
		ks_buf_appendc(b, '[');
		for (const cJSON *c = j->child; c; c = c->next) {
			append_value(b, c);
			if (c->next)
				ks_buf_appendc(b, ',');
		}
		ks_buf_appendc(b, ']');
	} else if (cJSON_IsString(j)) {
		append_gostr(b, j->valuestring ? j->valuestring : "");
	} else if (cJSON_IsNumber(j)) {
		append_number(b, j->valuedouble);
	} else if (cJSON_IsTrue(j)) {
		ks_buf_appendstr(b, "true");
	} else if (cJSON_IsFalse(j)) {
		ks_buf_appendstr(b, "false");
	} else {
		ks_buf_appendstr(b, "null");
	}
}

/* ---- responses ---- */

static void resp_error(struct sim_vault_resp *r, int status, const char *msg)
{
	r->status = status;
	ks_buf_reset(&r->body);
	ks_buf_appendstr(&r->body, "{\"errors\":[");
	if (msg)
		append_gostr(&r->body, msg);
	ks_buf_appendstr(&r->body, "]}\n");
}

/* The logical.HTTPResponse envelope up to "data": the caller appends data, then calls
 * envelope_end. */
static void envelope_begin(struct sim_vault *v, struct sim_vault_resp *r, int status)
{
	uint64_t a = next_rand(v), c = next_rand(v);
	r->status = status;
	ks_buf_reset(&r->body);
	ks_buf_appendf(&r->body,
		       "{\"request_id\":\"%08x-%04x-%04x-%04x-%012llx\",\"lease_id\":\"\","
		       "\"renewable\":false,\"lease_duration\":0,\"data\":",
		       (unsigned)(a >> 32), (unsigned)(a >> 16) & 0xffff,
		       0x4000 | ((unsigned)a & 0x0fff), 0x8000 | ((unsigned)(c >> 48) & 0x3fff),
		       (unsigned long long)(c & 0xffffffffffffULL));
}

static void envelope_end(struct sim_vault_resp *r)
{
	ks_buf_appendstr(&r->body, ",\"wrap_info\":null,\"warnings\":null,\"auth\":null,"
				   "\"mount_type\":\"kv\"}\n");
}

/* {"created_time":…,"custom_metadata":null,"deletion_time":…,"destroyed":…,"version":N} */
static void append_vermeta(struct ks_buf *b, const struct vver *vv, size_t version)
{
	ks_buf_appendstr(b, "{\"created_time\":");
	append_time(b, vv->created_ns);
	ks_buf_appendstr(b, ",\"custom_metadata\":null,\"deletion_time\":");
	append_time(b, vv->deleted_ns);
	ks_buf_appendf(b, ",\"destroyed\":%s,\"version\":%zu}", vv->destroyed ? "true" : "false",
		       version);
}

/* ---- the store (callers hold v->mu) ---- */

static char *store_key(const char *mount, const char *path)
{
	return ks_asprintf("%s/%s", mount, path);
}

static void vkey_free(struct vkey *k)
{
	if (!k)
		return;
	for (size_t i = 0; i < k->n; i++)
		cJSON_Delete(k->v[i].data);
	free(k->v);
	free(k);
}

/* Write a new version; data is taken over. Returns the version number. */
static size_t store_write(struct sim_vault *v, const char *mount, const char *path, cJSON *data)
{
	char *key = store_key(mount, path);
	struct vkey *k = ks_map_get(&v->keys, key);
	int64_t now = now_ns(v);
	if (!k) {
		k = ks_calloc(1, sizeof(*k));
		k->created_ns = now;
		ks_map_put(&v->keys, key, k);
	}
	free(key);
	k->v = ks_grow(k->v, sizeof(*k->v), k->n + 1, &k->cap);
	k->v[k->n] = (struct vver){.data = data, .created_ns = now};
	k->n++;
	k->updated_ns = now;
	if (!k->oldest)
		k->oldest = k->n;
	/* Vault's default max_versions: the oldest beyond 10 are removed. */
	while (k->n - k->oldest + 1 > SIM_VAULT_MAX_VERSIONS) {
		struct vver *old = &k->v[k->oldest - 1];
		cJSON_Delete(old->data);
		old->data = NULL;
		old->pruned = true;
		k->oldest++;
	}
	return k->n;
}

static struct vkey *store_find(struct sim_vault *v, const char *mount, const char *path)
{
	char *key = store_key(mount, path);
	struct vkey *k = ks_map_get(&v->keys, key);
	free(key);
	return k;
}

static bool have_mount(const struct sim_vault *v, const char *m, size_t len)
{
	for (size_t i = 0; i < v->n_mounts; i++)
		if (strlen(v->mounts[i]) == len && memcmp(v->mounts[i], m, len) == 0)
			return true;
	return false;
}

/* ---- request handlers ---- */

/* Parse a non-negative decimal version ("" is 0, as Vault's TypeInt of an empty value). */
static int parse_version(const char *s, size_t *out)
{
	size_t n = 0;
	if (!s) {
		*out = 0;
		return 0;
	}
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9' || n > 100000000)
			return -1;
		n = n * 10 + (size_t)(*p - '0');
	}
	*out = n;
	return 0;
}

static void do_read(struct sim_vault *v, const char *mount, const char *path,
		    const struct sim_vault_req *rq, struct sim_vault_resp *r)
{
	size_t ver;
	if (parse_version(rq->version, &ver) < 0) {
		resp_error(r, 400, "invalid version");
		return;
	}
	struct vkey *k = store_find(v, mount, path);
	if (!k || k->n == 0) {
		resp_error(r, 404, NULL);
		return;
	}
	if (ver == 0)
		ver = k->n;
	if (ver > k->n || k->v[ver - 1].pruned) {
		resp_error(r, 404, NULL);
		return;
	}
	const struct vver *vv = &k->v[ver - 1];
	bool gone = vv->deleted_ns || vv->destroyed;
	envelope_begin(v, r, gone ? 404 : 200);
	ks_buf_appendstr(&r->body, "{\"data\":");
	if (gone)
		ks_buf_appendstr(&r->body, "null");
	else
		append_value(&r->body, vv->data);
	ks_buf_appendstr(&r->body, ",\"metadata\":");
	append_vermeta(&r->body, vv, ver);
	ks_buf_appendc(&r->body, '}');
	envelope_end(r);
}

static void do_write(struct sim_vault *v, const char *mount, const char *path,
		     const struct sim_vault_req *rq, struct sim_vault_resp *r)
{
	if (rq->body_len == 0) {
		resp_error(r, 400, "no data provided");
		return;
	}
	cJSON *j = ks_json_parse(rq->body, rq->body_len, SIM_VAULT_MAX_BODY, NULL);
	if (!j || !cJSON_IsObject(j)) {
		cJSON_Delete(j);
		resp_error(r, 400, "error parsing JSON");
		return;
	}
	/* The last of duplicate fields wins, as Go's decoder. */
	const cJSON *data = NULL, *options = NULL;
	for (const cJSON *c = j->child; c; c = c->next) {
		if (c->string && strcmp(c->string, "data") == 0)
			data = c;
		else if (c->string && strcmp(c->string, "options") == 0)
			options = c;
	}
	if (!data || cJSON_IsNull(data)) {
		cJSON_Delete(j);
		resp_error(r, 400, "no data provided");
		return;
	}
	if (!cJSON_IsObject(data)) {
		cJSON_Delete(j);
		resp_error(r, 400, "data must be a JSON object");
		return;
	}
	const cJSON *cas = NULL;
	if (options && !cJSON_IsNull(options)) {
		if (!cJSON_IsObject(options)) {
			cJSON_Delete(j);
			resp_error(r, 400, "options must be a JSON object");
			return;
		}
		for (const cJSON *c = options->child; c; c = c->next)
			if (c->string && strcmp(c->string, "cas") == 0)
				cas = c;
	}
	struct vkey *k = store_find(v, mount, path);
	size_t current = k ? k->n : 0;
	if (cas) {
		/* mapstructure.WeakDecode into an int: numbers, numeric strings, booleans. */
		double want;
		char *end = NULL;
		if (cJSON_IsNumber(cas))
			want = cas->valuedouble;
		else if (cJSON_IsString(cas) && cas->valuestring[0])
			want = strtod(cas->valuestring, &end);
		else if (cJSON_IsBool(cas))
			want = cJSON_IsTrue(cas);
		else
			want = NAN;
		if (isnan(want) || (end && *end) || want < -1e15 || want > 1e15) {
			cJSON_Delete(j);
			resp_error(r, 400, "error parsing check-and-set parameter");
			return;
		}
		if (want < 0 || (size_t)want != current) {
			cJSON_Delete(j);
			resp_error(r, 400,
				   "check-and-set parameter did not match the current version");
			return;
		}
	}
	cJSON *copy = cJSON_Duplicate(data, 1);
	cJSON_Delete(j);
	size_t ver = store_write(v, mount, path, copy);
	k = store_find(v, mount, path);
	envelope_begin(v, r, 200);
	append_vermeta(&r->body, &k->v[ver - 1], ver);
	envelope_end(r);
}

static void do_delete(struct sim_vault *v, const char *mount, const char *path,
		      struct sim_vault_resp *r)
{
	struct vkey *k = store_find(v, mount, path);
	if (k && k->n) {
		struct vver *vv = &k->v[k->n - 1];
		if (!vv->deleted_ns && !vv->destroyed && !vv->pruned)
			vv->deleted_ns = now_ns(v);
		k->updated_ns = now_ns(v);
	}
	r->status = 204;
	ks_buf_reset(&r->body);
}

static void do_metadata(struct sim_vault *v, const char *mount, const char *path,
			struct sim_vault_resp *r)
{
	struct vkey *k = store_find(v, mount, path);
	if (!k) {
		resp_error(r, 404, NULL);
		return;
	}
	struct ks_buf *b = &r->body;
	envelope_begin(v, r, 200);
	ks_buf_appendstr(b, "{\"cas_required\":false,\"created_time\":");
	append_time(b, k->created_ns);
	ks_buf_appendf(b, ",\"current_version\":%zu,\"custom_metadata\":null,"
			  "\"delete_version_after\":\"0s\",\"max_versions\":0,"
			  "\"oldest_version\":%zu,\"updated_time\":",
		       k->n, k->oldest);
	append_time(b, k->updated_ns);
	ks_buf_appendstr(b, ",\"versions\":{");
	/* Go prints map keys sorted as strings: "1","10","11","2",… */
	char **names = ks_calloc(k->n ? k->n : 1, sizeof(*names));
	size_t nn = 0;
	for (size_t i = 0; i < k->n; i++)
		if (!k->v[i].pruned)
			names[nn++] = ks_asprintf("%zu", i + 1);
	for (size_t i = 1; i < nn; i++) /* insertion sort: at most SIM_VAULT_MAX_VERSIONS */
		for (size_t j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
			char *t = names[j];
			names[j] = names[j - 1];
			names[j - 1] = t;
		}
	for (size_t i = 0; i < nn; i++) {
		const struct vver *vv = &k->v[strtoul(names[i], NULL, 10) - 1];
		ks_buf_appendf(b, "%s\"%s\":{\"created_time\":", i ? "," : "", names[i]);
		append_time(b, vv->created_ns);
		ks_buf_appendstr(b, ",\"deletion_time\":");
		append_time(b, vv->deleted_ns);
		ks_buf_appendf(b, ",\"destroyed\":%s}", vv->destroyed ? "true" : "false");
		free(names[i]);
	}
	free(names);
	ks_buf_appendstr(b, "}}");
	envelope_end(r);
}

static void do_metadata_delete(struct sim_vault *v, const char *mount, const char *path,
			       struct sim_vault_resp *r)
{
	char *key = store_key(mount, path);
	vkey_free(ks_map_del(&v->keys, key));
	free(key);
	r->status = 204;
	ks_buf_reset(&r->body);
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void do_list(struct sim_vault *v, const char *mount, const char *dir,
		    struct sim_vault_resp *r)
{
	bool ends_slash = !dir[0] || dir[strlen(dir) - 1] == '/';
	char *prefix = ks_asprintf("%s/%s%s", mount, dir, ends_slash ? "" : "/");
	size_t plen = strlen(prefix);
	char **keys = NULL;
	size_t n = 0, cap = 0;
	const char *name;
	void *val;
	for (size_t i = 0; ks_map_next(&v->keys, &i, &name, &val);) {
		if (strncmp(name, prefix, plen) != 0)
			continue;
		const char *rest = name + plen;
		const char *slash = strchr(rest, '/');
		keys = ks_grow(keys, sizeof(*keys), n + 1, &cap);
		keys[n++] = slash ? ks_strndup(rest, (size_t)(slash - rest) + 1) : ks_strdup(rest);
	}
	free(prefix);
	if (n == 0) {
		free(keys);
		resp_error(r, 404, NULL);
		return;
	}
	qsort(keys, n, sizeof(*keys), str_cmp);
	envelope_begin(v, r, 200);
	ks_buf_appendstr(&r->body, "{\"keys\":[");
	bool first = true;
	for (size_t i = 0; i < n; i++) {
		if (i == 0 || strcmp(keys[i], keys[i - 1]) != 0) {
			if (!first)
				ks_buf_appendc(&r->body, ',');
			first = false;
			append_gostr(&r->body, keys[i]);
		}
	}
	for (size_t i = 0; i < n; i++)
		free(keys[i]);
	free(keys);
	ks_buf_appendstr(&r->body, "]}");
	envelope_end(r);
}

static void do_health(struct sim_vault *v, struct sim_vault_resp *r)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	r->status = 200;
	ks_buf_reset(&r->body);
	ks_buf_appendf(&r->body,
		       "{\"initialized\":true,\"sealed\":false,\"standby\":false,"
		       "\"performance_standby\":false,"
		       "\"replication_performance_mode\":\"disabled\","
		       "\"replication_dr_mode\":\"disabled\",\"server_time_utc\":%lld,"
		       "\"version\":\"1.15.6\",\"enterprise\":false,"
		       "\"cluster_name\":\"vault-cluster-kswarm-sim\","
		       "\"cluster_id\":\"6d2b2a1e-0c4e-4f4b-9b8e-6b1f4b0a5c11\"}\n",
		       (long long)ts.tv_sec);
}

/* A secret path as Vault's pattern .*?[^/]$ takes it, with no empty, "." or ".." segment. */
static bool valid_secret_path(const char *p, bool dir_ok)
{
	size_t len = strlen(p);
	if (len == 0)
		return dir_ok;
	if (p[len - 1] == '/' && !dir_ok)
		return false;
	const char *seg = p;
	for (;;) {
		const char *end = strchr(seg, '/');
		size_t sl = end ? (size_t)(end - seg) : strlen(seg);
		if (sl == 0 && (end || seg == p))
			return false;
		if ((sl == 1 && seg[0] == '.') || (sl == 2 && seg[0] == '.' && seg[1] == '.'))
			return false;
		if (!end)
			return true;
		seg = end + 1;
		if (!*seg)
			return dir_ok;
	}
}

static bool token_ok(const struct sim_vault *v, const char *t)
{
	if (!t)
		return false;
	size_t a = strlen(t), b = strlen(v->token);
	unsigned diff = a != b;
	for (size_t i = 0; i < a && i < b; i++)
		diff |= (unsigned char)(t[i] ^ v->token[i]);
	return diff == 0;
}

static void route(struct sim_vault *v, const struct sim_vault_req *rq, struct sim_vault_resp *r)
{
	const char *m = rq->method ? rq->method : "";
	const char *p = rq->path ? rq->path : "";
	if (rq->body_too_large) {
		resp_error(r, 413, "http: request body too large");
		return;
	}
	if (strncmp(p, "/v1/", 4) != 0) {
		resp_error(r, 404, NULL);
		return;
	}
	p += 4;
	if (strlen(p) > SIM_VAULT_MAX_PATH) {
		resp_error(r, 400, "path too long");
		return;
	}
	if (strcmp(p, "sys/health") == 0) {
		if (strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0)
			do_health(v, r);
		else
			resp_error(r, 405, NULL);
		return;
	}
	if (!token_ok(v, rq->token)) {
		resp_error(r, 403, "permission denied");
		return;
	}
	const char *slash = strchr(p, '/');
	size_t mlen = slash ? (size_t)(slash - p) : strlen(p);
	if (!have_mount(v, p, mlen)) {
		struct ks_buf msg;
		ks_buf_init(&msg, 4 * SIM_VAULT_MAX_PATH);
		ks_buf_appendf(&msg, "no handler for route \"%s\". route entry not found.", p);
		resp_error(r, 404, msg.data);
		ks_buf_release(&msg);
		return;
	}
	char *mount = ks_strndup(p, mlen);
	const char *rest = slash ? slash + 1 : "";
	bool is_list = strcmp(m, "LIST") == 0 ||
		       (strcmp(m, "GET") == 0 && rq->list && strcmp(rq->list, "true") == 0);
	if (strncmp(rest, "data/", 5) == 0) {
		const char *path = rest + 5;
		if (!valid_secret_path(path, false))
			resp_error(r, 404, "1 error occurred:\n\t* unsupported path\n\n");
		else if (strcmp(m, "GET") == 0 && !is_list)
			do_read(v, mount, path, rq, r);
		else if (strcmp(m, "POST") == 0 || strcmp(m, "PUT") == 0)
			do_write(v, mount, path, rq, r);
		else if (strcmp(m, "DELETE") == 0)
			do_delete(v, mount, path, r);
		else
			resp_error(r, 405, NULL);
	} else if (strncmp(rest, "metadata/", 9) == 0 || strcmp(rest, "metadata") == 0) {
		const char *path = rest[8] ? rest + 9 : "";
		if (is_list) {
			if (!valid_secret_path(path, true))
				resp_error(r, 404, "1 error occurred:\n\t* unsupported path\n\n");
			else
				do_list(v, mount, path, r);
		} else if (!valid_secret_path(path, false)) {
			resp_error(r, 404, "1 error occurred:\n\t* unsupported path\n\n");
		} else if (strcmp(m, "GET") == 0) {
			do_metadata(v, mount, path, r);
		} else if (strcmp(m, "DELETE") == 0) {
			do_metadata_delete(v, mount, path, r);
		} else {
			resp_error(r, 405, NULL);
		}
	} else {
		resp_error(r, 404, "1 error occurred:\n\t* unsupported path\n\n");
	}
	free(mount);
}

void sim_vault_handle(struct sim_vault *v, const struct sim_vault_req *rq,
		      struct sim_vault_resp *r)
{
	r->status = 500;
	ks_buf_init(&r->body, KS_BUF_UNLIMITED);
	pthread_mutex_lock(&v->mu);
	route(v, rq, r);
	pthread_mutex_unlock(&v->mu);
}

/* ---- in-process access ---- */

static int check_mount_path(struct sim_vault *v, const char *mount, const char *path,
			    struct ks_err *err)
{
	if (!mount || !have_mount(v, mount, strlen(mount)))
		return ks_err_set(err, KS_ENOTFOUND, "vault sim: no kv-v2 mount '%s'",
				  mount ? mount : "(null)");
	if (!path || !valid_secret_path(path, false) || strlen(path) > SIM_VAULT_MAX_PATH)
		return ks_err_set(err, KS_EINVAL, "vault sim: invalid secret path '%s'",
				  path ? path : "(null)");
	return 0;
}

int sim_vault_put(struct sim_vault *v, const char *mount, const char *path, const cJSON *data,
		  int *version_out, struct ks_err *err)
{
	int rc = check_mount_path(v, mount, path, err);
	if (rc)
		return rc;
	if (!cJSON_IsObject(data))
		return ks_err_set(err, KS_EINVAL, "vault sim: data for %s/%s is not an object",
				  mount, path);
	cJSON *copy = cJSON_Duplicate(data, 1);
	pthread_mutex_lock(&v->mu);
	size_t ver = store_write(v, mount, path, copy);
	pthread_mutex_unlock(&v->mu);
	if (version_out)
		*version_out = (int)ver;
	return 0;
}

int sim_vault_get(struct sim_vault *v, const char *mount, const char *path, int version,
		  cJSON **data, struct ks_err *err)
{
	*data = NULL;
	int rc = check_mount_path(v, mount, path, err);
	if (rc)
		return rc;
	if (version < 0)
		return ks_err_set(err, KS_EINVAL, "vault sim: negative version %d", version);
	pthread_mutex_lock(&v->mu);
	struct vkey *k = store_find(v, mount, path);
	size_t ver = version ? (size_t)version : (k ? k->n : 0);
	if (!k || ver == 0 || ver > k->n || !k->v[ver - 1].data || k->v[ver - 1].deleted_ns) {
		pthread_mutex_unlock(&v->mu);
		return ks_err_set(err, KS_ENOTFOUND, "vault sim: %s/%s version %zu not found",
				  mount, path, ver);
	}
	*data = cJSON_Duplicate(k->v[ver - 1].data, 1);
	pthread_mutex_unlock(&v->mu);
	return 0;
}

/* ---- the HTTP server ---- */

struct conn {
	struct ks_buf body;
	bool too_big;
};

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct conn *st = *con_cls;
	if (st) {
		ks_buf_release(&st->body);
		free(st);
		*con_cls = NULL;
	}
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	struct sim_vault *v = cls;
	struct conn *st = *con_cls;
	if (!st) {
		st = ks_calloc(1, sizeof(*st));
		ks_buf_init(&st->body, SIM_VAULT_MAX_BODY);
		*con_cls = st;
		return MHD_YES;
	}
	if (*upload_size) {
		if (!st->too_big && ks_buf_append(&st->body, upload, *upload_size) != 0) {
			st->too_big = true;
			ks_buf_release(&st->body);
			ks_buf_init(&st->body, SIM_VAULT_MAX_BODY);
		}
		*upload_size = 0;
		return MHD_YES;
	}
	struct sim_vault_req rq = {
		.method = method,
		.path = url,
		.version = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "version"),
		.list = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "list"),
		.token = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Vault-Token"),
		.body = st->body.data,
		.body_len = st->body.len,
		.body_too_large = st->too_big,
	};
	struct sim_vault_resp rs;
	sim_vault_handle(v, &rq, &rs);
	size_t len = rs.body.len;
	char *body = ks_buf_detach(&rs.body);
	struct MHD_Response *resp =
		MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(body);
		return MHD_NO;
	}
	if (rs.status != 204)
		MHD_add_response_header(resp, "Content-Type", "application/json");
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	enum MHD_Result ret = MHD_queue_response(c, (unsigned)rs.status, resp);
	MHD_destroy_response(resp);
	return ret;
}

int sim_vault_start(const struct sim_vault_opts *o, struct sim_vault **out, struct ks_err *err)
{
	*out = NULL;
	if (!o || !o->root_token || !o->root_token[0])
		return ks_err_set(err, KS_EINVAL, "vault sim: a root token is required");
	static const char *const def_mounts[] = {"secret"};
	const char *const *mounts = o->mounts ? o->mounts : def_mounts;
	size_t n_mounts = o->mounts ? o->n_mounts : 1;
	if (n_mounts == 0 || n_mounts > SIM_VAULT_MAX_MOUNTS)
		return ks_err_set(err, KS_EINVAL, "vault sim: %zu mounts (1 to %d)", n_mounts,
				  SIM_VAULT_MAX_MOUNTS);
	for (size_t i = 0; i < n_mounts; i++)
		if (!mounts[i] || !mounts[i][0] || strchr(mounts[i], '/') ||
		    strcmp(mounts[i], "sys") == 0)
			return ks_err_set(err, KS_EINVAL, "vault sim: invalid mount name '%s'",
					  mounts[i] ? mounts[i] : "(null)");
	struct sim_vault *v = ks_calloc(1, sizeof(*v));
	v->token = ks_strdup(o->root_token);
	for (size_t i = 0; i < n_mounts; i++)
		v->mounts[i] = ks_strdup(mounts[i]);
	v->n_mounts = n_mounts;
	pthread_mutex_init(&v->mu, NULL);
	ks_map_init(&v->keys);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	v->rng = ((uint64_t)ts.tv_sec * 1000000007ULL) ^ (uint64_t)ts.tv_nsec ^
		 (uint64_t)(uintptr_t)v;
	if (!v->rng)
		v->rng = 88172645463325252ULL;
	if (!o->no_listen) {
		struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(o->port)};
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		v->d = MHD_start_daemon(MHD_USE_AUTO_INTERNAL_THREAD, o->port, NULL, NULL,
					on_request, v, MHD_OPTION_SOCK_ADDR, &sa,
					MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
					MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
					MHD_OPTION_END);
		if (!v->d) {
			sim_vault_stop(v);
			return ks_err_set(err, KS_EIO, "vault sim: cannot listen on 127.0.0.1:%u",
					  (unsigned)o->port);
		}
		const union MHD_DaemonInfo *di =
			MHD_get_daemon_info(v->d, MHD_DAEMON_INFO_BIND_PORT);
		v->port = di ? di->port : o->port;
	}
	*out = v;
	return 0;
}

uint16_t sim_vault_port(const struct sim_vault *v)
{
	return v ? v->port : 0;
}

void sim_vault_stop(struct sim_vault *v)
{
	if (!v)
		return;
	if (v->d)
		MHD_stop_daemon(v->d);
	const char *k;
	void *val;
	for (size_t i = 0; ks_map_next(&v->keys, &i, &k, &val);)
		vkey_free(val);
	ks_map_release(&v->keys);
	for (size_t i = 0; i < v->n_mounts; i++)
		free(v->mounts[i]);
	if (v->token) {
		explicit_bzero(v->token, strlen(v->token));
		free(v->token);
	}
	pthread_mutex_destroy(&v->mu);
	free(v);
}
