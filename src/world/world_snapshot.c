/* world_snapshot.c — a world to a file and back (docs/SNAPSHOT.md).
 *
 * The file `kswarm snapshot` writes is JSON Lines: a kswarm.dev/v1 Snapshot header (cluster,
 * server version, time taken, the resources the server served), then one object a line, each
 * with its apiVersion and kind, then kswarm.dev/v1 ContainerLog and ContainerMetric lines.
 * It is read a line at a time (each line at most WORLD_SNAPSHOT_MAX_LINE bytes) and fed to
 * the informers page by page, so a 150,000-pod file never exists as one tree.
 *
 * Also read: one JSON or YAML document of kind List (kubectl get -o json|yaml, the test
 * fixtures), whose items may include the same kswarm.dev/v1 items. Without a header, every
 * built-in kind counts as served and an extension kind (Gateway API, Karpenter) when an
 * object of it appears.
 *
 * Secrets pass through the world's Secret transform on the way in (values never stored) and
 * are written with empty values. */
#include "base/common.h"
#include "world/world_internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/json.h"
#include "base/timeutil.h"
#include "kube/informer.h"
#include "kube/kcyaml.h"
#include "kube/listscan.h"

#define KSWARM_API "kswarm.dev/v1"
#define PAGE_ITEMS 512
/* A whole-document (List) snapshot is parsed as one tree: a lower ceiling. */
#define WHOLE_DOC_MAX ((size_t)1 << 30)

struct pending_log {
	char *ns, *pod, *container, *text, *error;
	bool previous, truncated;
};

static char *dup_or_null(const char *s) { return s ? ks_strdup(s) : NULL; }

struct loader {
	struct world *w;
	cJSON *pending[WK_COUNT];
	bool begun[WK_COUNT];
	bool header;
	struct pending_log *logs; /* added once every Secret is in, for redaction */
	size_t n_logs, cap_logs;
	struct ks_json_arena arena; /* items are parsed into it, one at a time */
	size_t objects, skipped;
	const char *source;
};

static void set_version(struct world *w, enum world_kind k, const char *api_version)
{
	const char *slash = strchr(api_version, '/');
	const char *v = slash ? slash + 1 : api_version;
	snprintf(w->res[k].version, sizeof w->res[k].version, "%s", v);
}

static void flush_kind(struct loader *L, enum world_kind k)
{
	if (!L->pending[k])
		return;
	struct kube_informer *inf = world_informer(L->w, k);
	if (!L->begun[k]) {
		kube_informer_list_begin(inf);
		L->begun[k] = true;
	}
	kube_informer_list_page(inf, L->pending[k]);
	cJSON_Delete(L->pending[k]);
	L->pending[k] = NULL;
}

static int take_header(struct loader *L, const cJSON *h, struct ks_err *err)
{
	struct world *w = L->w;
	/* Without a resources list, what is served is decided as without a header. */
	L->header = cJSON_IsArray(ks_json_get(h, "resources"));
	world_set_cluster(w, ks_json_str(h, "cluster"), ks_json_str(h, "serverVersion"));
	const char *t = ks_json_str(h, "takenAt");
	if (t) {
		int64_t ns;
		if (ks_time_parse_rfc3339(t, strlen(t), &ns, err))
			return ks_err_wrap(err, "%s: Snapshot takenAt", L->source);
		w->now = ns / 1000000000;
	}
	double win = ks_json_get(h, "metricsWindowSeconds") ?
			     ks_json_get(h, "metricsWindowSeconds")->valuedouble : 0;
	if (win > 0)
		w->metrics_window = win;
	const cJSON *r;
	cJSON_ArrayForEach(r, ks_json_get(h, "resources")) {
		const char *group = ks_json_str_or(r, "group", "");
		const char *version = ks_json_str(r, "version");
		const char *kind = ks_json_str(r, "kind");
		if (!version || !kind)
			return ks_err_set(err, KS_EINVAL,
					  "%s: Snapshot resources: an entry without version or kind",
					  L->source);
		char av[128];
		snprintf(av, sizeof av, "%s%s%s", group, *group ? "/" : "", version);
		int k = world_kind_of(av, kind);
		if (k < 0)
			continue;
		w->served[k] = true;
		set_version(w, (enum world_kind)k, av);
	}
	return 0;
}

static int take_kswarm_item(struct loader *L, const cJSON *it, const char *kind,
			    struct ks_err *err)
{
	struct world *w = L->w;
	if (!strcmp(kind, "Snapshot"))
		return take_header(L, it, err);
	if (!strcmp(kind, "ContainerLog")) {
		const char *ns = ks_json_str(it, "namespace"), *pod = ks_json_str(it, "pod");
		const char *c = ks_json_str(it, "container");
		if (!ns || !pod || !c)
			return ks_err_set(err, KS_EINVAL,
					  "%s: ContainerLog needs namespace, pod and container",
					  L->source);
		L->logs = ks_grow(L->logs, sizeof *L->logs, L->n_logs + 1, &L->cap_logs);
		L->logs[L->n_logs++] = (struct pending_log){
			.ns = ks_strdup(ns), .pod = ks_strdup(pod), .container = ks_strdup(c),
			.text = dup_or_null(ks_json_str(it, "text")),
			.error = dup_or_null(ks_json_str(it, "error")),
			.previous = ks_json_bool_or(it, "previous", false),
			.truncated = ks_json_bool_or(it, "truncated", false)};
		return 0;
	}
	if (!strcmp(kind, "ContainerMetric")) {
		const char *name = ks_json_str(it, "name");
		const cJSON *v = ks_json_get(it, "value");
		if (!name || !cJSON_IsNumber(v))
			return ks_err_set(err, KS_EINVAL,
					  "%s: ContainerMetric needs a name and a numeric value",
					  L->source);
		world_add_metric(w, name, ks_json_str_or(it, "namespace", ""),
				 ks_json_str_or(it, "pod", ""), ks_json_str_or(it, "container", ""),
				 v->valuedouble);
		return 0;
	}
	L->skipped++;
	return 0;
}

/* Take one item (owned by the caller until it is detached into a page). */
static int take_item(struct loader *L, cJSON *it, bool *taken, struct ks_err *err)
{
	*taken = false;
	if (!cJSON_IsObject(it))
		return ks_err_set(err, KS_EINVAL, "%s: an item that is not an object", L->source);
	const char *av = ks_json_str(it, "apiVersion"), *kind = ks_json_str(it, "kind");
	if (!av || !kind)
		return ks_err_set(err, KS_EINVAL, "%s: an item without apiVersion and kind",
				  L->source);
	if (!strcmp(av, KSWARM_API))
		return take_kswarm_item(L, it, kind, err);
	int k = world_kind_of(av, kind);
	if (k < 0) {
		L->skipped++;
		return 0;
	}
	if (!ks_json_str(it, "metadata.name"))
		return ks_err_set(err, KS_EINVAL, "%s: a %s without metadata.name", L->source,
				  kind);
	if (!L->header) {
		L->w->served[k] = true;
		set_version(L->w, (enum world_kind)k, av);
	}
	if (!L->pending[k])
		L->pending[k] = cJSON_CreateArray();
	cJSON_AddItemToArray(L->pending[k], it);
	*taken = true;
	L->objects++;
	if (cJSON_GetArraySize(L->pending[k]) >= PAGE_ITEMS)
		flush_kind(L, (enum world_kind)k);
	return 0;
}

static void finish(struct loader *L)
{
	for (int k = 0; k < WK_COUNT; k++) {
		flush_kind(L, (enum world_kind)k);
		if (L->begun[k])
			kube_informer_list_end(world_informer(L->w, (enum world_kind)k));
		if (!L->header && !world_kinds[k].extension)
			L->w->served[k] = true;
	}
	L->w->stats.objects += L->objects;
	world_index_invalidate(L->w);
	for (size_t i = 0; i < L->n_logs; i++) {
		struct pending_log *l = &L->logs[i];
		world_add_log(L->w, l->ns, l->pod, l->container, l->previous, l->text,
			      l->truncated, l->error);
	}
}

static void free_logs(struct loader *L)
{
	for (size_t i = 0; i < L->n_logs; i++) {
		struct pending_log *l = &L->logs[i];
		free(l->ns);
		free(l->pod);
		free(l->container);
		free(l->text);
		free(l->error);
	}
	free(L->logs);
	L->logs = NULL;
	L->n_logs = 0;
}

static void discard(struct loader *L)
{
	for (int k = 0; k < WK_COUNT; k++) {
		cJSON_Delete(L->pending[k]);
		L->pending[k] = NULL;
	}
}

static int load_document(struct loader *L, const char *data, size_t len, struct ks_err *err)
{
	cJSON *doc = NULL;
	size_t i = 0;
	while (i < len && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r'))
		i++;
	if (i < len && data[i] == '{') {
		doc = ks_json_parse(data, len, len + 1, err);
		if (!doc)
			return ks_err_wrap(err, "%s", L->source);
	} else {
		struct kube_yaml y;
		if (kube_yaml_parse(data, len, &y, err))
			return ks_err_wrap(err, "%s", L->source);
		struct ks_buf b;
		ks_buf_init(&b, WHOLE_DOC_MAX);
		long budget = 100000000;
		int rc = y.root ? kube_yaml_to_json(y.root, &b, &budget, err)
				: ks_err_set(err, KS_EINVAL, "an empty document");
		kube_yaml_free(&y);
		if (!rc)
			doc = ks_json_parse(b.data, b.len, b.len + 1, err);
		ks_buf_release(&b);
		if (!doc)
			return ks_err_wrap(err, "%s", L->source);
	}
	int rc = 0;
	cJSON *items = cJSON_GetObjectItemCaseSensitive(doc, "items");
	const char *kind = ks_json_str(doc, "kind");
	if (cJSON_IsArray(items) && kind && strlen(kind) >= 4 &&
	    !strcmp(kind + strlen(kind) - 4, "List")) {
		while (!rc && items->child) {
			cJSON *it = cJSON_DetachItemViaPointer(items, items->child);
			bool taken;
			rc = take_item(L, it, &taken, err);
			if (!taken)
				cJSON_Delete(it);
		}
	} else {
		bool taken;
		rc = take_item(L, doc, &taken, err);
		if (taken)
			doc = NULL;
	}
	cJSON_Delete(doc);
	return rc;
}

/* One item's JSON text: parsed into the arena, given to its informer at once (so nothing
 * outlives the arena's scope), the arena rewound. */
static int take_text(struct loader *L, const char *p, size_t n, struct ks_err *err)
{
	ks_json_arena_begin(&L->arena);
	cJSON *it = ks_json_parse(p, n, WORLD_SNAPSHOT_MAX_LINE, err);
	int rc = it ? 0 : KS_EINVAL;
	if (it) {
		bool taken;
		rc = take_item(L, it, &taken, err);
		if (!rc && taken) {
			for (int k = 0; k < WK_COUNT; k++)
				flush_kind(L, (enum world_kind)k);
		} else if (!taken) {
			cJSON_Delete(it);
		}
	}
	ks_json_arena_end(&L->arena);
	return rc;
}

static int load_line(struct loader *L, const char *line, size_t len, size_t lineno,
		     struct ks_err *err)
{
	if (take_text(L, line, len, err))
		return ks_err_wrap(err, "%s:%zu", L->source, lineno);
	return 0;
}

static bool blank(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
			return false;
	return true;
}

enum doc_mode { MODE_UNDECIDED, MODE_LINES, MODE_JSON_LIST, MODE_YAML };

/* The format, from the start of the text: JSON Lines when the first non-blank line is a
 * complete JSON object by itself; a JSON document (a List, scanned item by item with
 * kube/listscan, never held whole) when it starts with '{' otherwise; else YAML (parsed
 * whole, up to WHOLE_DOC_MAX). */
static enum doc_mode decide(const char *p, size_t n, bool eof)
{
	size_t i = 0;
	while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r'))
		i++;
	if (i == n)
		return eof ? MODE_YAML : MODE_UNDECIDED;
	if (p[i] != '{')
		return MODE_YAML;
	const char *nl = memchr(p + i, '\n', n - i);
	if (!nl)
		return eof ? MODE_LINES : (n - i > 65536 ? MODE_JSON_LIST : MODE_UNDECIDED);
	cJSON *probe = ks_json_parse(p + i, (size_t)(nl - p) - i, WORLD_SNAPSHOT_MAX_LINE, NULL);
	enum doc_mode m = cJSON_IsObject(probe) ? MODE_LINES : MODE_JSON_LIST;
	cJSON_Delete(probe);
	return m;
}

/* Complete lines of buf from *start on (the last one only at eof). */
static int take_lines(struct loader *L, struct ks_buf *b, size_t *start, size_t *lineno,
		      bool eof, struct ks_err *err)
{
	for (;;) {
		char *nl = memchr(b->data + *start, '\n', b->len - *start);
		size_t end = nl ? (size_t)(nl - b->data) : b->len;
		if (!nl && (!eof || end == *start))
			return 0;
		++*lineno;
		if (!blank(b->data + *start, end - *start)) {
			int rc = load_line(L, b->data + *start, end - *start, *lineno, err);
			if (rc)
				return rc;
		}
		*start = nl ? end + 1 : end;
	}
}

/* Items of a JSON List as the scanner finds them. */
static int take_list_items(struct loader *L, struct kube_listscan *ls, struct ks_buf *b,
			   bool eof, struct ks_err *err)
{
	for (;;) {
		struct kube_ls_span sp;
		int ev = kube_listscan_next(ls, b->data, b->len, eof, &sp, err);
		if (ev < 0)
			return ks_err_wrap(err, "%s", L->source);
		if (ev == KUBE_LS_MORE || ev == KUBE_LS_END)
			break;
		if (ev != KUBE_LS_ITEM)
			continue;
		if (take_text(L, b->data + sp.off, sp.len, err))
			return ks_err_wrap(err, "%s: an item", L->source);
	}
	size_t drop = kube_listscan_droppable(ls);
	ks_buf_consume(b, drop);
	kube_listscan_shift(ls, drop);
	return 0;
}

static int load_stream(struct loader *L, FILE *f, struct ks_err *err)
{
	struct ks_buf b;
	ks_buf_init(&b, WORLD_SNAPSHOT_MAX_LINE + 65536);
	struct kube_listscan ls;
	kube_listscan_init(&ls, WORLD_SNAPSHOT_MAX_LINE);
	size_t total = 0, lineno = 0, start = 0;
	enum doc_mode mode = MODE_UNDECIDED;
	int rc = 0;
	char chunk[65536];
	bool eof = false;
	while (!rc && !eof) {
		size_t n = fread(chunk, 1, sizeof chunk, f);
		if (n < sizeof chunk) {
			if (ferror(f)) {
				rc = ks_err_set(err, KS_EIO, "%s: %s", L->source, strerror(errno));
				break;
			}
			eof = true;
		}
		total += n;
		if (total > WORLD_SNAPSHOT_MAX_BYTES) {
			rc = ks_err_set(err, KS_ETOOBIG, "%s: larger than %zu GiB", L->source,
					WORLD_SNAPSHOT_MAX_BYTES >> 30);
			break;
		}
		if (ks_buf_append(&b, chunk, n)) {
			rc = mode == MODE_YAML
				     ? ks_err_set(err, KS_ETOOBIG,
						  "%s: a YAML document larger than %zu MiB (write "
						  "snapshots as JSON Lines with kswarm snapshot)",
						  L->source, WHOLE_DOC_MAX >> 20)
				     : ks_err_set(err, KS_ETOOBIG,
						  "%s:%zu: a line or item larger than %zu MiB",
						  L->source, lineno + 1, WORLD_SNAPSHOT_MAX_LINE >> 20);
			break;
		}
		if (mode == MODE_UNDECIDED) {
			mode = decide(b.data, b.len, eof);
			if (mode == MODE_YAML)
				b.max = WHOLE_DOC_MAX;
		}
		if (mode == MODE_LINES) {
			rc = take_lines(L, &b, &start, &lineno, eof, err);
			ks_buf_consume(&b, start);
			start = 0;
		} else if (mode == MODE_JSON_LIST) {
			rc = take_list_items(L, &ls, &b, eof, err);
		}
	}
	if (!rc && mode == MODE_YAML)
		rc = load_document(L, b.data, b.len, err);
	ks_buf_release(&b);
	return rc;
}

static int load_file(struct world *w, FILE *f, const char *source, struct ks_err *err)
{
	int64_t t0 = ks_mono_ms();
	struct loader L = {.w = w, .source = source};
	int rc = load_stream(&L, f, err);
	if (rc)
		discard(&L);
	else
		finish(&L);
	free_logs(&L);
	ks_json_arena_release(&L.arena);
	if (rc)
		return rc;
	if (!L.objects && !L.header)
		return ks_err_set(err, KS_EINVAL, "%s: no Kubernetes objects in it", source);
	if (!w->cluster)
		world_set_cluster(w, "snapshot", NULL);
	world_build_indexes(w);
	w->stats.load_ms += (uint64_t)(ks_mono_ms() - t0);
	return 0;
}

int world_load_snapshot(struct world *w, const char *path, struct ks_err *err)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
	if (!f)
		return ks_err_set(err, KS_EIO, "%s: %s", path, strerror(errno));
	int rc = load_file(w, f, path, err);
	if (f != stdin)
		fclose(f);
	return rc;
}

int world_load_snapshot_mem(struct world *w, const char *data, size_t len, struct ks_err *err)
{
	if (!len)
		return ks_err_set(err, KS_EINVAL, "an empty snapshot");
	FILE *f = fmemopen((void *)data, len, "rb");
	if (!f)
		return ks_err_set(err, KS_EIO, "fmemopen: %s", strerror(errno));
	int rc = load_file(w, f, "snapshot", err);
	fclose(f);
	return rc;
}

/* ---- writing ---- */

static int put_line(FILE *out, const cJSON *v, struct ks_err *err)
{
	char *s = cJSON_PrintUnformatted(v);
	if (!s)
		return ks_err_set(err, KS_EINVAL, "an object that cannot be printed");
	int bad = fputs(s, out) < 0 || fputc('\n', out) == EOF;
	cJSON_free(s);
	return bad ? ks_err_set(err, KS_EIO, "writing the snapshot: %s", strerror(errno)) : 0;
}

struct write_ctx {
	struct world *w;
	FILE *out;
	enum world_kind k;
	char api_version[128];
	struct ks_err *err;
	int rc;
};

static int write_obj(void *ctx, struct wobj o)
{
	struct write_ctx *wc = ctx;
	cJSON *obj = kube_objstore_to_cjson(o.st, o.id);
	if (!obj)
		return 0;
	cJSON *line = cJSON_CreateObject();
	cJSON_AddStringToObject(line, "apiVersion", wc->api_version);
	cJSON_AddStringToObject(line, "kind", world_kinds[wc->k].kind);
	while (obj->child) {
		cJSON *c = cJSON_DetachItemViaPointer(obj, obj->child);
		if (!strcmp(c->string, "apiVersion") || !strcmp(c->string, "kind"))
			cJSON_Delete(c);
		else
			cJSON_AddItemToObject(line, c->string, c);
	}
	cJSON_Delete(obj);
	wc->rc = put_line(wc->out, line, wc->err);
	cJSON_Delete(line);
	return wc->rc;
}

static void api_version_of(const struct world *w, enum world_kind k, char *out, size_t n)
{
	const struct kube_resource *r = &w->res[k];
	snprintf(out, n, "%s%s%s", r->group, *r->group ? "/" : "", r->version);
}

int world_write_snapshot(struct world *w, FILE *out, struct ks_err *err)
{
	cJSON *h = cJSON_CreateObject();
	cJSON_AddStringToObject(h, "apiVersion", KSWARM_API);
	cJSON_AddStringToObject(h, "kind", "Snapshot");
	cJSON_AddStringToObject(h, "cluster", world_cluster_name(w));
	cJSON_AddStringToObject(h, "serverVersion", world_server_version(w));
	char t[32];
	ks_time_format_rfc3339(w->now, t, sizeof t);
	cJSON_AddStringToObject(h, "takenAt", t);
	if (w->metrics_window > 0)
		cJSON_AddNumberToObject(h, "metricsWindowSeconds", w->metrics_window);
	cJSON *res = cJSON_AddArrayToObject(h, "resources");
	for (int k = 0; k < WK_COUNT; k++) {
		if (!w->served[k])
			continue;
		cJSON *r = cJSON_CreateObject();
		cJSON_AddStringToObject(r, "group", w->res[k].group);
		cJSON_AddStringToObject(r, "version", w->res[k].version);
		cJSON_AddStringToObject(r, "resource", w->res[k].resource);
		cJSON_AddStringToObject(r, "kind", world_kinds[k].kind);
		cJSON_AddBoolToObject(r, "namespaced", world_kinds[k].namespaced);
		cJSON_AddItemToArray(res, r);
	}
	int rc = put_line(out, h, err);
	cJSON_Delete(h);
	for (int k = 0; !rc && k < WK_COUNT; k++) {
		if (!w->served[k])
			continue;
		struct write_ctx wc = {.w = w, .out = out, .k = (enum world_kind)k, .err = err};
		api_version_of(w, (enum world_kind)k, wc.api_version, sizeof wc.api_version);
		world_each(w, (enum world_kind)k, write_obj, &wc);
		rc = wc.rc;
	}
	for (size_t i = 0; !rc && i < w->n_logs; i++) {
		const struct world_log *l = w->log_order[i];
		cJSON *j = cJSON_CreateObject();
		cJSON_AddStringToObject(j, "apiVersion", KSWARM_API);
		cJSON_AddStringToObject(j, "kind", "ContainerLog");
		cJSON_AddStringToObject(j, "namespace", l->ns);
		cJSON_AddStringToObject(j, "pod", l->pod);
		cJSON_AddStringToObject(j, "container", l->container);
		cJSON_AddBoolToObject(j, "previous", l->previous);
		if (l->text)
			cJSON_AddStringToObject(j, "text", l->text);
		if (l->truncated)
			cJSON_AddBoolToObject(j, "truncated", true);
		if (l->error)
			cJSON_AddStringToObject(j, "error", l->error);
		rc = put_line(out, j, err);
		cJSON_Delete(j);
	}
	const char *key;
	void *val;
	for (size_t i = 0; !rc && ks_map_next(&w->metrics, &i, &key, &val);) {
		const char *parts[4] = {0};
		char copy[900];
		snprintf(copy, sizeof copy, "%s", key);
		char *p = copy;
		for (int j = 0; j < 4; j++) {
			parts[j] = p;
			char *bar = strchr(p, '|');
			if (bar) {
				*bar = 0;
				p = bar + 1;
			} else {
				p += strlen(p);
			}
		}
		cJSON *j = cJSON_CreateObject();
		cJSON_AddStringToObject(j, "apiVersion", KSWARM_API);
		cJSON_AddStringToObject(j, "kind", "ContainerMetric");
		cJSON_AddStringToObject(j, "name", parts[0]);
		cJSON_AddStringToObject(j, "namespace", parts[1]);
		cJSON_AddStringToObject(j, "pod", parts[2]);
		cJSON_AddStringToObject(j, "container", parts[3]);
		cJSON_AddNumberToObject(j, "value", *(const double *)val);
		rc = put_line(out, j, err);
		cJSON_Delete(j);
	}
	if (!rc && fflush(out))
		rc = ks_err_set(err, KS_EIO, "writing the snapshot: %s", strerror(errno));
	return rc;
}
