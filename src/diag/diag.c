/* diag.c — running the analyzers, then grouping their findings by cause (diag.h, finding.h).
 *
 * Grouping, after every analyzer ran:
 *  1. keys resolve through the alias map ("workload:UID" -> "secret:ns/name"), hop by hop;
 *  2. a derived finding (follows set) joins the group its follows key resolves to when some
 *     finding has that group; otherwise it stands in its own group;
 *  3. in each group the primary is the best root-cause finding (not derived), by severity
 *     then confidence; the group takes the highest severity of its members; the others
 *     become `affected` entries of the primary, and their evidence is added to its own
 *     (without repeats, up to DIAG_MAX_EVIDENCE items).
 * Then findings below the severity floor are dropped, and the rest sorted: severity,
 * confidence, objects affected, then kind/namespace/name for a stable order. */
#include "base/common.h"
#include "diag/diag.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <gnutls/crypto.h>

#include "base/hashmap.h"
#include "base/json.h"
#include "kube/selector.h"

#define DIAG_MAX_EVIDENCE 40
#define DIAG_MAX_AFFECTED 200

struct diag_finding *diag_new(struct diag_ctx *cx, const char *analyzer, const char *cause,
			      enum diag_severity sev, struct wobj o)
{
	struct diag_finding *f = ks_calloc(1, sizeof *f);
	f->analyzer = ks_strdup(analyzer);
	f->cause = ks_strdup(cause);
	f->severity = sev;
	f->confidence = 0.5;
	f->n_affected = 1;
	f->object = diag_ref_of(cx->w, o);
	struct diag_report *rep = cx->rep;
	rep->findings = ks_grow(rep->findings, sizeof *rep->findings, rep->n + 1, &rep->cap);
	rep->findings[rep->n++] = f;
	return f;
}

void diag_alias(struct diag_ctx *cx, const char *from, const char *to)
{
	if (!from || !to || !strcmp(from, to))
		return;
	free(ks_map_put(cx->aliases, from, ks_strdup(to)));
}

bool diag_in_scope(struct diag_ctx *cx, struct wobj o)
{
	const struct diag_opts *opt = cx->o;
	if (opt->ns) {
		if (!world_kinds[o.kind].namespaced)
			return false;
		if (!wobj_str_eq(o, "metadata.namespace", opt->ns))
			return false;
	}
	if (opt->sel && !wobj_labels_match(o, "metadata.labels", opt->sel))
		return false;
	return true;
}

struct scoped {
	struct diag_ctx *cx;
	world_visit_fn fn;
	void *arg;
};

static int visit_scoped(void *ctx, struct wobj o)
{
	struct scoped *s = ctx;
	if (s->cx->o->sel && !wobj_labels_match(o, "metadata.labels", s->cx->o->sel))
		return 0;
	s->cx->scanned++;
	return s->fn(s->arg, o);
}

size_t diag_each(struct diag_ctx *cx, enum world_kind k, world_visit_fn fn, void *arg)
{
	struct scoped s = {cx, fn, arg};
	if (cx->o->ns) {
		if (!world_kinds[k].namespaced)
			return 0;
		return world_in_namespace(cx->w, k, cx->o->ns, visit_scoped, &s);
	}
	return world_each(cx->w, k, visit_scoped, &s);
}

/* ---- selecting analyzers ---- */

static int select_analyzers(const char *filter, bool *run, struct ks_err *err)
{
	size_t n;
	const struct diag_analyzer *an = diag_analyzers(&n);
	if (!filter || !*filter) {
		for (size_t i = 0; i < n; i++)
			run[i] = !an[i].opt_in;
		return 0;
	}
	for (size_t i = 0; i < n; i++)
		run[i] = false;
	const char *p = filter;
	while (*p) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		bool found = false;
		for (size_t i = 0; i < n; i++)
			if (strlen(an[i].name) == len && !strncasecmp(an[i].name, p, len))
				run[i] = found = true;
		if (!found && len) {
			struct ks_buf names;
			ks_buf_init(&names, KS_BUF_UNLIMITED);
			for (size_t i = 0; i < n; i++)
				ks_buf_appendf(&names, "%s%s", i ? ", " : "", an[i].name);
			ks_err_set(err, KS_EINVAL, "no analyzer '%.*s' (there are: %s)", (int)len, p,
				   names.data ? names.data : "");
			ks_buf_release(&names);
			return KS_EINVAL;
		}
		p += len;
		if (*p == ',')
			p++;
	}
	return 0;
}

/* ---- grouping ---- */

static const char *resolve(struct ks_map *aliases, const char *key)
{
	for (int hops = 0; hops < 16; hops++) {
		const char *next = ks_map_get(aliases, key);
		if (!next || !strcmp(next, key))
			break;
		key = next;
	}
	return key;
}

static char *default_group(const struct diag_finding *f)
{
	return ks_asprintf("%s:%s/%s/%s", f->cause, f->object.kind, f->object.ns, f->object.name);
}

/* Better primary first: root cause before derived, then severity, then confidence. */
static int rank(const struct diag_finding *a, const struct diag_finding *b)
{
	if (!a->follows != !b->follows)
		return a->follows ? 1 : -1;
	if (a->severity != b->severity)
		return a->severity > b->severity ? -1 : 1;
	if (a->confidence != b->confidence)
		return a->confidence > b->confidence ? -1 : 1;
	return 0;
}

static bool has_item(const cJSON *arr, const cJSON *item)
{
	const cJSON *it;
	cJSON_ArrayForEach(it, arr)
		if (cJSON_Compare(it, item, true))
			return true;
	return false;
}

static void merge_into(struct diag_finding *p, struct diag_finding *f)
{
	if (!p->affected)
		p->affected = cJSON_CreateArray();
	if (cJSON_GetArraySize(p->affected) < DIAG_MAX_AFFECTED) {
		cJSON *a = diag_ref_json(&f->object);
		cJSON_AddStringToObject(a, "cause", f->cause);
		if (f->symptom)
			cJSON_AddStringToObject(a, "symptom", f->symptom);
		cJSON_AddItemToArray(p->affected, a);
	}
	p->n_affected += f->n_affected ? f->n_affected : 1;
	if (f->severity > p->severity)
		p->severity = f->severity;
	const cJSON *it;
	cJSON_ArrayForEach(it, f->evidence) {
		if (cJSON_GetArraySize(p->evidence) >= DIAG_MAX_EVIDENCE)
			break;
		if (!has_item(p->evidence, it)) {
			if (!p->evidence)
				p->evidence = cJSON_CreateArray();
			cJSON_AddItemToArray(p->evidence, cJSON_Duplicate(it, true));
		}
	}
	cJSON_ArrayForEach(it, f->related) {
		struct diag_ref r = diag_ref_make(ks_json_str(it, "kind"), ks_json_str(it, "namespace"),
						  ks_json_str(it, "name"), ks_json_str(it, "uid"));
		diag_related(p, &r, ks_json_str(it, "role"));
	}
	if (!p->remediation && f->remediation) {
		p->remediation = f->remediation;
		f->remediation = NULL;
	}
}

static void set_id(struct diag_finding *f)
{
	char *key = ks_asprintf("%s|%s|%s|%s", f->cause, f->object.kind, f->object.ns,
				f->object.name);
	unsigned char h[32];
	gnutls_hash_fast(GNUTLS_DIG_SHA256, key, strlen(key), h);
	free(key);
	for (int i = 0; i < 8; i++)
		snprintf(f->id + 2 * i, 3, "%02x", h[i]);
}

static void group_findings(struct diag_ctx *cx)
{
	struct diag_report *rep = cx->rep;
	size_t n = rep->n;
	/* Every finding's own group key, resolved. */
	for (size_t i = 0; i < n; i++) {
		struct diag_finding *f = rep->findings[i];
		if (!f->group)
			f->group = default_group(f);
	}
	struct ks_map groups; /* resolved key -> primary (struct diag_finding *) */
	ks_map_init(&groups);
	char **keys = ks_calloc(n ? n : 1, sizeof *keys);
	for (size_t i = 0; i < n; i++) {
		struct diag_finding *f = rep->findings[i];
		keys[i] = ks_strdup(resolve(cx->aliases, f->group));
	}
	/* The groups root-cause findings define; derived findings join them. */
	struct ks_map roots;
	ks_map_init(&roots);
	for (size_t i = 0; i < n; i++)
		if (!rep->findings[i]->follows)
			ks_map_put(&roots, keys[i], rep->findings[i]);
	for (size_t i = 0; i < n; i++) {
		struct diag_finding *f = rep->findings[i];
		if (!f->follows)
			continue;
		const char *target = resolve(cx->aliases, f->follows);
		if (ks_map_get(&roots, target)) {
			free(keys[i]);
			keys[i] = ks_strdup(target);
		}
	}
	ks_map_release(&roots);
	for (size_t i = 0; i < n; i++) {
		struct diag_finding *f = rep->findings[i];
		struct diag_finding *p = ks_map_get(&groups, keys[i]);
		if (!p || rank(f, p) < 0)
			ks_map_put(&groups, keys[i], f);
	}
	size_t out = 0;
	for (size_t i = 0; i < n; i++) {
		struct diag_finding *f = rep->findings[i];
		struct diag_finding *p = ks_map_get(&groups, keys[i]);
		if (p == f) {
			rep->findings[out++] = f;
			continue;
		}
		merge_into(p, f);
		diag_finding_free(f);
	}
	rep->n = out;
	for (size_t i = 0; i < n; i++)
		free(keys[i]);
	free(keys);
	ks_map_release(&groups);
	for (size_t i = 0; i < rep->n; i++) {
		struct diag_finding *f = rep->findings[i];
		set_id(f);
		if (!f->remediation)
			diag_fix_human(f, "look at %s %s%s%s", f->object.kind, f->object.ns,
				       *f->object.ns ? "/" : "", f->object.name);
	}
}

static int cmp_findings(const void *a, const void *b)
{
	const struct diag_finding *fa = *(const struct diag_finding *const *)a;
	const struct diag_finding *fb = *(const struct diag_finding *const *)b;
	if (fa->severity != fb->severity)
		return fa->severity > fb->severity ? -1 : 1;
	if (fa->confidence != fb->confidence)
		return fa->confidence > fb->confidence ? -1 : 1;
	if (fa->n_affected != fb->n_affected)
		return fa->n_affected > fb->n_affected ? -1 : 1;
	int c = strcmp(fa->object.kind, fb->object.kind);
	if (!c)
		c = strcmp(fa->object.ns, fb->object.ns);
	if (!c)
		c = strcmp(fa->object.name, fb->object.name);
	return c ? c : strcmp(fa->cause, fb->cause);
}

int diag_run(struct world *w, const struct diag_opts *o, struct diag_report *rep,
	     struct ks_err *err)
{
	size_t n;
	const struct diag_analyzer *an = diag_analyzers(&n);
	bool *run = ks_calloc(n ? n : 1, sizeof *run);
	if (select_analyzers(o->filter, run, err)) {
		free(run);
		return KS_EINVAL;
	}
	struct ks_map aliases;
	ks_map_init(&aliases);
	struct diag_ctx cx = {.w = w, .o = o, .rep = rep, .aliases = &aliases};
	struct timespec ts0;
	clock_gettime(CLOCK_MONOTONIC, &ts0);
	for (size_t i = 0; i < n; i++) {
		if (!run[i])
			continue;
		struct timespec a0, a1;
		clock_gettime(CLOCK_MONOTONIC, &a0);
		size_t before = rep->n;
		an[i].run(&cx);
		clock_gettime(CLOCK_MONOTONIC, &a1);
		KS_DEBUG("diag", "%s: %zu findings in %.2f ms", an[i].name, rep->n - before,
			 (double)(a1.tv_sec - a0.tv_sec) * 1e3 +
				 (double)(a1.tv_nsec - a0.tv_nsec) / 1e6);
		rep->stats.analyzers_run++;
	}
	rep->stats.raw_findings = rep->n;
	group_findings(&cx);
	size_t out = 0;
	for (size_t i = 0; i < rep->n; i++) {
		if (rep->findings[i]->severity >= o->min_severity)
			rep->findings[out++] = rep->findings[i];
		else
			diag_finding_free(rep->findings[i]);
	}
	rep->n = out;
	if (rep->n > 1)
		qsort(rep->findings, rep->n, sizeof *rep->findings, cmp_findings);
	struct timespec ts1;
	clock_gettime(CLOCK_MONOTONIC, &ts1);
	rep->stats.analysis_ms = (double)(ts1.tv_sec - ts0.tv_sec) * 1e3 +
				 (double)(ts1.tv_nsec - ts0.tv_nsec) / 1e6;
	rep->stats.objects_scanned = cx.scanned;
	const char *k;
	void *v;
	for (size_t i = 0; ks_map_next(&aliases, &i, &k, &v);)
		free(v);
	ks_map_release(&aliases);
	free(run);
	return 0;
}

void diag_report_free(struct diag_report *rep)
{
	for (size_t i = 0; i < rep->n; i++)
		diag_finding_free(rep->findings[i]);
	free(rep->findings);
	*rep = (struct diag_report){0};
}
