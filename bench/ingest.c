/* ingest.c — how fast, and in how little memory, a list snapshot goes into the object store.
 *   ingest FILE [--kind KIND] [--malloc] [--verify-every N] [--json-only]
 * Streams FILE (a List as snapshot_gen writes it, or any list response) through
 * kube_listscan: each item is parsed with cJSON, stripped (kube_obj_strip: managedFields,
 * last-applied annotation), interned, and its cJSON tree freed — so the whole list is never
 * held as a tree. Each phase is timed separately: read, scan, parse, strip, intern, free.
 * With --kind only objects of that kind are cached (a one-kind informer); the others are
 * still read, scanned and parsed.
 *
 * cJSON allocates every node and string with malloc, and freeing a pod's tree is as many
 * frees. By default each item is parsed, stripped and interned inside a ks_json_arena scope
 * (base/json.h: a bump allocator behind cJSON's hooks), and its tree goes at once when the
 * scope ends. --malloc parses outside any scope and frees with cJSON_Delete, for
 * comparison.
 *
 * Memory: resident set (VmRSS) before the store exists and after the ingest, with every
 * cJSON tree and the read buffer freed and malloc_trim(0) run; their difference over the
 * number of pods cached is the "resident bytes per cached pod". The root ids are kept in an
 * array (4 bytes each; an informer's name index is not part of this). Peak RSS is
 * getrusage's ru_maxrss.
 *
 * Checks: every Nth item (default 50) is serialised back from the store and compared with
 * cJSON_PrintUnformatted of the stripped tree; then all cached objects are serialised once
 * more to measure serialisation speed and the bytes the store stands for (the sharing ratio
 * is stripped JSON bytes / store bytes). Exit status 1 on any mismatch.
 * Output: one line of JSON results, then a human summary (unless --json-only). */
#include "base/common.h"
#include "base/json.h"
#include "kube/informer.h"
#include "kube/listscan.h"
#include "kube/objstore.h"

#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* Current resident set in bytes, from /proc/self/status. */
static size_t rss_now(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	size_t kb = 0;
	while (f && fgets(line, sizeof line, f)) {
		if (strncmp(line, "VmRSS:", 6) == 0) {
			kb = strtoull(line + 6, NULL, 10);
			break;
		}
	}
	if (f)
		fclose(f);
	return kb * 1024;
}

static double cpu_now(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec * 1e-6;
}

static size_t count_values(const cJSON *v)
{
	size_t n = 1;
	for (const cJSON *c = v->child; c; c = c->next)
		n += count_values(c);
	return n;
}

struct phase {
	double read, scan, parse, strip, intern, del;
};

int main(int argc, char **argv)
{
	const char *path = NULL, *only = NULL;
	long verify_every = 50;
	bool json_only = false, use_malloc = false;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--kind") == 0 && i + 1 < argc)
			only = argv[++i];
		else if (strcmp(argv[i], "--verify-every") == 0 && i + 1 < argc)
			verify_every = strtol(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--json-only") == 0)
			json_only = true;
		else if (strcmp(argv[i], "--malloc") == 0)
			use_malloc = true;
		else if (!path && argv[i][0] != '-')
			path = argv[i];
		else {
			fprintf(stderr, "usage: ingest FILE [--kind KIND] [--malloc] "
					"[--verify-every N] "
					"[--json-only]\n");
			return 2;
		}
	}
	if (!path) {
		fprintf(stderr, "usage: ingest FILE [--kind KIND] [--malloc] [--verify-every N] "
				"[--json-only]\n");
		return 2;
	}
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "ingest: %s: %s\n", path, strerror(errno));
		return 1;
	}

	struct ks_json_arena arena = {0};
	malloc_trim(0);
	size_t rss0 = rss_now();
	struct kube_objstore *st = kube_objstore_new();
	uint32_t *roots = NULL;
	size_t nroots = 0, caproots = 0;

	size_t cap = 8 << 20, len = 0, total = 0, items = 0, pods = 0, cached = 0, bad = 0;
	size_t values = 0, verified = 0, mismatches = 0;
	char *buf = ks_malloc(cap);
	struct kube_listscan ls;
	kube_listscan_init(&ls, (size_t)256 << 20);
	struct phase ph = {0};
	struct ks_buf out;
	ks_buf_init(&out, KS_BUF_UNLIMITED);
	bool eof = false;
	double t_start = now(), cpu_start = cpu_now();
	for (;;) {
		struct kube_ls_span sp;
		struct ks_err err = {0};
		double t0 = now();
		int ev = kube_listscan_next(&ls, buf, len, eof, &sp, &err);
		double t1 = now();
		ph.scan += t1 - t0;
		if (ev < 0) {
			fprintf(stderr, "ingest: %s: %s\n", path, err.msg);
			return 1;
		}
		if (ev == KUBE_LS_END)
			break;
		if (ev == KUBE_LS_MORE) {
			size_t drop = kube_listscan_droppable(&ls);
			memmove(buf, buf + drop, len - drop);
			len -= drop;
			kube_listscan_shift(&ls, drop);
			if (len == cap) {
				cap *= 2;
				buf = ks_realloc(buf, cap);
			}
			size_t n = fread(buf + len, 1, cap - len, f);
			if (n == 0) {
				if (ferror(f)) {
					fprintf(stderr, "ingest: %s: %s\n", path, strerror(errno));
					return 1;
				}
				eof = true;
			}
			len += n;
			total += n;
			ph.read += now() - t1;
			continue;
		}
		if (ev != KUBE_LS_ITEM)
			continue;
		items++;
		if (!use_malloc)
			ks_json_arena_begin(&arena);
		cJSON *obj = cJSON_ParseWithLength(buf + sp.off, sp.len);
		double t2 = now();
		ph.parse += t2 - t1;
		if (!obj) {
			if (!use_malloc)
				ks_json_arena_end(&arena);
			bad++;
			continue;
		}
		const char *kind = ks_json_str(obj, "kind");
		bool is_pod = kind && strcmp(kind, "Pod") == 0;
		pods += is_pod;
		if (only && !(kind && strcmp(kind, only) == 0)) {
			if (use_malloc)
				cJSON_Delete(obj);
			else
				ks_json_arena_end(&arena);
			ph.del += now() - t2;
			continue;
		}
		kube_obj_strip(obj);
		double t3 = now();
		ph.strip += t3 - t2;
		uint32_t id = kube_objstore_intern(st, obj);
		double t4 = now();
		ph.intern += t4 - t3;
		if (!id) {
			bad++;
		} else {
			if (nroots == caproots)
				roots = ks_grow(roots, sizeof *roots, nroots + 1, &caproots);
			roots[nroots++] = id;
			cached++;
		}
		/* checks, untimed */
		values += count_values(obj);
		if (id && verify_every > 0 && cached % (size_t)verify_every == 1) {
			char *want = ks_json_print(obj);
			ks_buf_reset(&out);
			kube_objstore_to_json(st, id, &out, NULL);
			if (strcmp(want, out.data) != 0) {
				mismatches++;
				fprintf(stderr, "ingest: item %zu does not round-trip\n", items);
			}
			free(want);
			verified++;
		}
		double t5 = now();
		if (use_malloc)
			cJSON_Delete(obj);
		else
			ks_json_arena_end(&arena);
		ph.del += now() - t5;
	}
	double elapsed = now() - t_start, cpu = cpu_now() - cpu_start;
	fclose(f);
	free(buf);
	ks_buf_release(&out);
	ks_json_arena_release(&arena);
	malloc_trim(0);
	size_t rss1 = rss_now();
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	struct kube_objstore_stats s;
	kube_objstore_stats(st, &s);

	/* serialise everything once: speed, and the bytes the store stands for */
	struct ks_buf ser;
	ks_buf_init(&ser, KS_BUF_UNLIMITED);
	size_t json_bytes = 0;
	double ts0 = now();
	for (size_t i = 0; i < nroots; i++) {
		ks_buf_reset(&ser);
		kube_objstore_to_json(st, roots[i], &ser, NULL);
		json_bytes += ser.len;
	}
	double ser_s = now() - ts0;
	ks_buf_release(&ser);

	size_t per = only && strcmp(only, "Pod") != 0 ? cached : pods;
	double work = ph.read + ph.scan + ph.parse + ph.strip + ph.intern + ph.del;
	double mb = (double)total / 1e6;
	double rss_pod = per ? ((double)rss1 - (double)rss0) / (double)per : 0;
	double store_pod = per ? (double)(s.node_bytes + s.table_bytes) / (double)per : 0;
	printf("{\"file\":\"%s\",\"kind\":\"%s\",\"cjson_alloc\":\"%s\",\"bytes\":%zu,\"items\":%"
	       "zu,\"pods\":%zu,"
	       "\"cached\":%zu,\"bad\":%zu,\"elapsed_s\":%.3f,\"cpu_s\":%.3f,\"mb_per_cpu_s\":%.1f,"
	       "\"read_s\":%.3f,\"scan_s\":%.3f,"
	       "\"parse_s\":%.3f,\"strip_s\":%.3f,\"intern_s\":%.3f,\"free_s\":%.3f,"
	       "\"mb_per_s\":%.1f,\"objects_per_s\":%.0f,\"parse_mb_per_s\":%.1f,"
	       "\"intern_mb_per_s\":%.1f,\"peak_rss_bytes\":%ld,\"rss_before_bytes\":%zu,"
	       "\"rss_after_bytes\":%zu,\"rss_bytes_per_pod\":%.0f,\"store_bytes\":%zu,"
	       "\"store_node_bytes\":%zu,\"store_table_bytes\":%zu,\"store_bytes_per_pod\":%.0f,"
	       "\"nodes\":%zu,\"values\":%zu,\"values_per_node\":%.2f,\"hit_rate\":%.4f,"
	       "\"stripped_json_bytes\":%zu,\"sharing_ratio\":%.2f,\"serialize_mb_per_s\":%.1f,"
	       "\"verified\":%zu,\"mismatches\":%zu}\n",
	       path, only ? only : "all", use_malloc ? "malloc" : "arena", total, items, pods,
	       cached, bad, elapsed, cpu, mb / cpu, ph.read, ph.scan, ph.parse, ph.strip, ph.intern,
	       ph.del, mb / elapsed, (double)items / elapsed, mb / ph.parse, mb / ph.intern,
	       ru.ru_maxrss * 1024L, rss0, rss1, rss_pod, s.bytes, s.node_bytes, s.table_bytes,
	       store_pod, s.nodes, values, (double)values / (double)(s.nodes ? s.nodes : 1),
	       (double)s.hits / (double)(s.lookups ? s.lookups : 1), json_bytes,
	       (double)json_bytes / (double)(s.node_bytes + s.table_bytes),
	       (double)json_bytes / 1e6 / ser_s, verified, mismatches);
	if (!json_only) {
		fprintf(stderr,
			"ingest %s (cJSON on %s): %zu items (%zu pods), %.1f MB in %.2f s = %.1f "
			"MB/s, "
			"%.0f objects/s (%.2f s CPU = %.1f MB/s per CPU second)\n"
			"  phases: read %.2f s, scan %.2f s, parse %.2f s (%.0f MB/s), strip %.2f "
			"s, "
			"intern %.2f s (%.0f MB/s of raw JSON), free %.2f s; other %.2f s\n"
			"  cached %zu%s%s: store %.1f MB (nodes %.1f MB, table %.1f MB) = %.0f "
			"B/pod; "
			"RSS %+.1f MB = %.0f B/pod; peak RSS %.1f MB\n"
			"  %zu nodes for %zu values (%.1f values/node), hit rate %.1f%%; stripped "
			"JSON "
			"%.1f MB / store = %.1fx; serialise %.0f MB/s; %zu round trips checked, "
			"%zu mismatches\n",
			path, use_malloc ? "malloc" : "a per-item arena", items, pods, mb, elapsed,
			mb / elapsed, (double)items / elapsed, cpu, mb / cpu, ph.read, ph.scan,
			ph.parse, mb / ph.parse, ph.strip, ph.intern, mb / ph.intern, ph.del,
			elapsed - work, cached, only ? " of kind " : "", only ? only : "",
			(double)s.bytes / 1e6, (double)s.node_bytes / 1e6,
			(double)s.table_bytes / 1e6, store_pod, ((double)rss1 - (double)rss0) / 1e6,
			rss_pod, (double)ru.ru_maxrss / 1024.0, s.nodes, values,
			(double)values / (double)(s.nodes ? s.nodes : 1),
			100.0 * (double)s.hits / (double)(s.lookups ? s.lookups : 1),
			(double)json_bytes / 1e6,
			(double)json_bytes / (double)(s.node_bytes + s.table_bytes),
			(double)json_bytes / 1e6 / ser_s, verified, mismatches);
	}
	for (size_t i = 0; i < nroots; i++)
		kube_objstore_unref(st, roots[i]);
	kube_objstore_stats(st, &s);
	if (s.nodes) {
		fprintf(stderr, "ingest: %zu nodes left after releasing every object\n", s.nodes);
		mismatches++;
	}
	free(roots);
	kube_objstore_free(st);
	return mismatches || bad ? 1 : 0;
}
