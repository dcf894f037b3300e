/* informer_ingest.c — ingest into the informer cache, from a snapshot file and from a live
 * API server, for docs/BENCHMARKS.md.
 *
 *   informer_ingest --snapshot FILE [--kind Pod]
 *       Streams the snapshot (bench/snapshot_gen) item by item into an informer (parse,
 *       strip, intern, index) and reports JSON MB/s, objects/s, and resident bytes per
 *       cached object (RSS growth while the cache fills, the parse buffers included).
 *   informer_ingest --snapshot FILE --kubeconfig K [--load]
 *       --load first creates the snapshot's Namespaces and Pods in the API server (once).
 *       Then it LISTs every pod from the API server in pages of 500, as an informer does,
 *       timing the transfers alone, and ingests the very same bytes into an informer,
 *       timing that alone: the ratio says whether ingest could ever be the bottleneck.
 * Output: a human summary on stderr and one JSON line on stdout. */
#include "base/common.h"
#include "base/json.h"
#include "base/timeutil.h"
#include "kube/connect.h"
#include "kube/informer.h"
#include "kube/listscan.h"

#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static long rss_kb(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	long pages = 0, res = 0;
	if (f) {
		if (fscanf(f, "%ld %ld", &pages, &res) != 2)
			res = 0;
		fclose(f);
	}
	return res * (sysconf(_SC_PAGESIZE) / 1024);
}

static long peak_kb(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

/* Stream the snapshot's items; fn gets each parsed item of the wanted kind. */
static int each_item(const char *path, const char *kind, void (*fn)(void *, cJSON *), void *ctx,
		     size_t *bytes_out)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		perror(path);
		return -1;
	}
	struct kube_listscan ls;
	kube_listscan_init(&ls, 64 << 20);
	struct ks_buf buf;
	ks_buf_init(&buf, (size_t)256 << 20);
	char chunk[1 << 16];
	bool eof = false;
	size_t bytes = 0;
	int rc = 0;
	struct ks_json_arena arena = {0};
	while (rc == 0) {
		struct kube_ls_span sp;
		struct ks_err err = {0};
		int ev = kube_listscan_next(&ls, buf.data, buf.len, eof, &sp, &err);
		if (ev < 0) {
			fprintf(stderr, "%s: %s\n", path, err.msg);
			rc = -1;
			break;
		}
		if (ev == KUBE_LS_END)
			break;
		if (ev == KUBE_LS_ITEM) {
			/* As the watch parses events: in an arena, one item at a time. */
			ks_json_arena_begin(&arena);
			cJSON *it = ks_json_parse(buf.data + sp.off, sp.len, 64 << 20, &err);
			if (!it) {
				ks_json_arena_end(&arena);
				fprintf(stderr, "%s: %s\n", path, err.msg);
				rc = -1;
				break;
			}
			if (!kind || !strcmp(ks_json_str_or(it, "kind", ""), kind)) {
				bytes += sp.len;
				fn(ctx, it);
			}
			cJSON_Delete(it);
			ks_json_arena_end(&arena);
			continue;
		}
		if (ev == KUBE_LS_MORE) {
			if (eof) {
				fprintf(stderr, "%s: truncated\n", path);
				rc = -1;
				break;
			}
			size_t drop = kube_listscan_droppable(&ls);
			ks_buf_consume(&buf, drop);
			kube_listscan_shift(&ls, drop);
			size_t n = fread(chunk, 1, sizeof chunk, f);
			if (n == 0)
				eof = true;
			else if (ks_buf_append(&buf, chunk, n)) {
				fprintf(stderr, "%s: an item is larger than the buffer\n", path);
				rc = -1;
			}
		}
	}
	fclose(f);
	ks_buf_release(&buf);
	ks_json_arena_release(&arena);
	if (bytes_out)
		*bytes_out = bytes;
	return rc;
}

static void add_to_informer(void *ctx, cJSON *it)
{
	kube_informer_apply(ctx, KUBE_EV_ADDED, it);
}

static int from_snapshot(const char *path, const char *kind)
{
	struct kube_resource r = {"", "v1", "pods", "Pod", "pod", true, ""};
	struct kube_informer *inf = kube_informer_new(NULL, &r, NULL);
	long rss0 = rss_kb();
	int64_t t0 = ks_mono_ms();
	size_t bytes = 0;
	if (each_item(path, kind, add_to_informer, inf, &bytes))
		return 1;
	int64_t ms = ks_mono_ms() - t0;
	long rss1 = rss_kb();
	struct kube_informer_stats is;
	kube_informer_get_stats(inf, &is);
	struct kube_objstore_stats os;
	kube_objstore_stats(kube_informer_store(inf), &os);
	size_t n = is.objects;
	double mbs = ms ? (double)bytes / 1e6 / ((double)ms / 1000.0) : 0;
	double per = n ? (double)(rss1 - rss0) * 1024.0 / (double)n : 0;
	fprintf(stderr,
		"informer ingest from %s: %zu %s objects, %.1f MB of JSON in %lld ms = %.1f MB/s, "
		"%.0f objects/s\n  resident growth %.0f bytes per object (store %zu B, maps %zu B, "
		"%zu index entries); peak RSS %ld MB\n",
		path, n, kind, (double)bytes / 1e6, (long long)ms, mbs,
		ms ? (double)n * 1000.0 / (double)ms : 0, per, os.bytes, is.map_bytes,
		is.index_entries, peak_kb() / 1024);
	printf("{\"mode\":\"snapshot\",\"objects\":%zu,\"json_bytes\":%zu,\"ms\":%lld,\"mb_per_s\":%.1f,"
	       "\"rss_bytes_per_object\":%.0f,\"store_bytes\":%zu,\"map_bytes\":%zu,"
	       "\"peak_rss_kb\":%ld}\n",
	       n, bytes, (long long)ms, mbs, per, os.bytes, is.map_bytes, peak_kb());
	kube_informer_free(inf);
	return 0;
}

/* ---- the live API server ---- */

struct loader {
	struct kube_client *c;
	int inflight, done, failed, conflicts;
	struct ks_err err;
	const char *kind;
};

static void loaded(void *ctx, struct kube_http_resp *resp, int rc, const struct ks_err *err)
{
	struct loader *l = ctx;
	(void)resp;
	l->inflight--;
	l->done++;
	if (rc == KS_ECONFLICT)
		l->conflicts++;
	else if (rc) {
		l->failed++;
		if (err)
			l->err = *err;
	}
}

/* Make an object creatable: no server-owned fields, no owners (the garbage collector would
 * delete pods whose owners do not exist), no status, the default service account. */
static void for_create(cJSON *o)
{
	cJSON *m = cJSON_GetObjectItemCaseSensitive(o, "metadata");
	static const char *drop[] = {"uid", "resourceVersion", "creationTimestamp", "managedFields",
				     "ownerReferences", "generation", "selfLink"};
	for (size_t i = 0; i < KS_ARRAY_LEN(drop); i++)
		cJSON_DeleteItemFromObjectCaseSensitive(m, drop[i]);
	cJSON_DeleteItemFromObjectCaseSensitive(o, "status");
	/* The snapshot's service accounts do not exist here; the default one does. */
	cJSON *spec = cJSON_GetObjectItemCaseSensitive(o, "spec");
	cJSON_DeleteItemFromObjectCaseSensitive(spec, "serviceAccountName");
	cJSON_DeleteItemFromObjectCaseSensitive(spec, "serviceAccount");
	/* Pods bound to nodes that do not exist are deleted by the pod garbage collector. */
	cJSON_DeleteItemFromObjectCaseSensitive(spec, "nodeName");
}

static void load_one(void *ctx, cJSON *it)
{
	struct loader *l = ctx;
	for_create(it);
	const char *kind = ks_json_str_or(it, "kind", "");
	char path[512];
	if (!strcmp(kind, "Namespace"))
		snprintf(path, sizeof path, "/api/v1/namespaces");
	else
		snprintf(path, sizeof path, "/api/v1/namespaces/%s/pods",
			 ks_json_str_or(it, "metadata.namespace", "default"));
	char *body = ks_json_print(it);
	struct kube_http_req req = {.method = "POST", .path = path, .body = body,
				    .body_len = strlen(body)};
	kube_http_start(l->c->http, &req, loaded, l);
	free(body);
	l->inflight++;
	while (l->inflight >= 64)
		kube_http_poll(l->c->http, 1000);
	if (l->done && l->done % 5000 == 0)
		fprintf(stderr, "  loaded %d objects\n", l->done);
}

static int count_page(void *ctx, cJSON *page)
{
	*(size_t *)ctx += (size_t)ks_json_len(ks_json_get(page, "items"));
	return 0;
}

static void count_item(void *ctx, cJSON *it)
{
	(void)it;
	(*(size_t *)ctx)++;
}

static int load(struct kube_client *c, const char *path)
{
	/* Loaded already (an earlier run)? Then leave the server alone. */
	size_t want = 0, have = 0;
	struct kube_list_opts lo = {.limit = 500, .transient_pages = true};
	if (each_item(path, "Pod", count_item, &want, NULL) ||
	    kube_list_pages(c, &KUBE_RES_PODS, NULL, &lo, count_page, &have, NULL, 0, NULL))
		return -1;
	if (have * 100 >= want * 99) {
		fprintf(stderr, "the API server holds %zu pods already (snapshot: %zu)\n", have, want);
		return 0;
	}
	struct loader l = {.c = c};
	int64_t t0 = ks_mono_ms();
	if (each_item(path, "Namespace", load_one, &l, NULL))
		return -1;
	while (l.inflight > 0)
		kube_http_poll(c->http, 1000);
	if (each_item(path, "Pod", load_one, &l, NULL))
		return -1;
	while (l.inflight > 0)
		kube_http_poll(c->http, 1000);
	fprintf(stderr, "loaded %d objects (%d already there, %d failed) in %lld s%s%s\n", l.done,
		l.conflicts, l.failed, (long long)(ks_mono_ms() - t0) / 1000,
		l.failed ? "; last error: " : "", l.failed ? l.err.msg : "");
	/* A few creates refused under load (ServerTimeout) do not change the measurement. */
	return l.failed * 100 > l.done ? -1 : 0;
}

static int from_apiserver(const char *kubeconfig, const char *snapshot, bool do_load)
{
	struct kube_connect_opts o = {.config = {.kubeconfig = kubeconfig, .no_in_cluster = true},
				      .qps = 5000, .burst = 10000, .timeout_ms = 300000};
	struct kube_client c;
	struct ks_err err = {0};
	if (kube_client_connect(&o, &c, &err)) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	if (do_load && load(&c, snapshot)) {
		kube_client_close(&c);
		return 1;
	}
	/* LIST as an informer does, timing the transfers only. */
	size_t cap = 0, n = 0, bytes = 0;
	char **pages = NULL;
	size_t *lens = NULL;
	size_t lcap = 0;
	char *cont = NULL;
	int64_t http_ms = 0;
	for (;;) {
		struct ks_buf p;
		ks_buf_init(&p, 4096);
		ks_buf_appendstr(&p, "/api/v1/pods?limit=500");
		if (cont) {
			ks_buf_appendstr(&p, "&continue=");
			ks_buf_append_urlenc(&p, cont);
		}
		struct kube_http_req req = {.method = "GET", .path = p.data};
		struct kube_http_resp resp;
		int64_t t0 = ks_mono_ms();
		int rc = kube_http_do(c.http, &req, &resp, &err);
		http_ms += ks_mono_ms() - t0;
		ks_buf_release(&p);
		if (rc) {
			fprintf(stderr, "list: %s\n", err.msg);
			kube_client_close(&c);
			return 1;
		}
		/* The continue token, outside the timed part. */
		cJSON *j = ks_json_parse(resp.body.data, resp.body.len, resp.body.max, NULL);
		free(cont);
		const char *next = ks_json_str(j, "metadata.continue");
		cont = next && *next ? ks_strdup(next) : NULL;
		cJSON_Delete(j);
		pages = ks_grow(pages, sizeof *pages, n + 1, &cap);
		lens = ks_grow(lens, sizeof *lens, n + 1, &lcap);
		bytes += resp.body.len;
		lens[n] = resp.body.len;
		pages[n++] = ks_buf_detach(&resp.body);
		kube_http_resp_release(&resp);
		if (!cont)
			break;
	}
	/* Ingest the same bytes as the watch does: each page parsed in the client's arena and
	 * handed to the informer, then dropped. */
	struct kube_resource r = {"", "v1", "pods", "Pod", "pod", true, ""};
	struct kube_informer *inf = kube_informer_new(NULL, &r, NULL);
	int64_t t0 = ks_mono_ms();
	kube_informer_list_begin(inf);
	for (size_t i = 0; i < n; i++) {
		ks_json_arena_begin(&c.list_arena);
		cJSON *page = ks_json_parse(pages[i], lens[i], (size_t)1 << 30, NULL);
		kube_informer_list_page(inf, cJSON_GetObjectItemCaseSensitive(page, "items"));
		cJSON_Delete(page);
		ks_json_arena_end(&c.list_arena);
	}
	kube_informer_list_end(inf);
	int64_t ingest_ms = ks_mono_ms() - t0;
	size_t objects = kube_informer_count(inf);
	double api_mbs = http_ms ? (double)bytes / 1e6 / ((double)http_ms / 1000.0) : 0;
	double ing_mbs = ingest_ms ? (double)bytes / 1e6 / ((double)ingest_ms / 1000.0) : 0;
	fprintf(stderr,
		"API server LIST: %zu pods, %.1f MB of JSON in %zu pages, %lld ms = %.1f MB/s\n"
		"informer ingest of the same bytes: %lld ms = %.1f MB/s — %.1fx the server's rate\n",
		objects, (double)bytes / 1e6, n, (long long)http_ms, api_mbs, (long long)ingest_ms,
		ing_mbs, api_mbs > 0 ? ing_mbs / api_mbs : 0);
	printf("{\"mode\":\"apiserver\",\"objects\":%zu,\"json_bytes\":%zu,\"pages\":%zu,"
	       "\"list_ms\":%lld,\"list_mb_per_s\":%.1f,\"ingest_ms\":%lld,\"ingest_mb_per_s\":%.1f,"
	       "\"ratio\":%.2f}\n",
	       objects, bytes, n, (long long)http_ms, api_mbs, (long long)ingest_ms, ing_mbs,
	       api_mbs > 0 ? ing_mbs / api_mbs : 0);
	kube_informer_free(inf);
	for (size_t i = 0; i < n; i++)
		free(pages[i]);
	free(pages);
	free(lens);
	free(cont);
	kube_client_close(&c);
	return 0;
}

int main(int argc, char **argv)
{
	const char *snapshot = NULL, *kubeconfig = NULL, *kind = "Pod";
	bool do_load = false;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--snapshot") && i + 1 < argc)
			snapshot = argv[++i];
		else if (!strcmp(argv[i], "--kubeconfig") && i + 1 < argc)
			kubeconfig = argv[++i];
		else if (!strcmp(argv[i], "--kind") && i + 1 < argc)
			kind = argv[++i];
		else if (!strcmp(argv[i], "--load"))
			do_load = true;
		else {
			fprintf(stderr, "usage: informer_ingest --snapshot FILE [--kind KIND] "
					"[--kubeconfig K [--load]]\n");
			return 2;
		}
	}
	if (!snapshot) {
		fprintf(stderr, "informer_ingest: --snapshot FILE is required\n");
		return 2;
	}
	return kubeconfig ? from_apiserver(kubeconfig, snapshot, do_load)
			  : from_snapshot(snapshot, kind);
}
