/* helm.c — an object owned by a Helm release is changed through the release, so the next
 * `helm upgrade` keeps the fix instead of undoing it.
 *
 *  1. Each leaf the step's patch changes (spec.replicas, a container's
 *     resources.limits.memory — list items matched by "name" as a strategic merge does) is
 *     read on the live object: its current value.
 *  2. The release's values (`helm get values RELEASE -a -o json`: chart defaults merged with
 *     the user's) are searched for leaves holding that same value. Several matches are
 *     ranked by how many of the live path's names appear in the values key
 *     ("replicas" ~ "replicaCount", "memory" ~ "resources.limits.memory"); the one best
 *     match is the mapping. No match, or a tie, fails the step with the candidates named:
 *     never a live change the next upgrade would undo.
 *  3. `helm upgrade RELEASE CHART --reuse-values --set-json KEY=VALUE… --version V` with the
 *     release's own chart: Helm keeps the chart of every revision in the release Secret
 *     (sh.helm.release.v1.NAME.vN: base64 of gzip of the release JSON), so the chart is
 *     rebuilt from it into a temporary directory (Chart.yaml, values.yaml, templates/,
 *     files). Charts with subcharts are refused (the release JSON does not carry them).
 *  4. The inverse is `helm rollback RELEASE PREVIOUS` (a rollout undo of a Helm-owned
 *     workload is a release rollback).
 * helm runs with KUBECONFIG (and --kube-context) from the reconciler's options. */
#include "base/common.h"
#include "base/base64.h"
#include "base/json.h"
#include "reconcile/internal.h"

#include <ctype.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_LEAVES 32
#define MAX_CANDIDATES 64

struct leaf {
	char path[512];      /* live path, for messages: spec.template.spec.containers[app]… */
	char words[512];     /* the path's names, lower case, space separated */
	const cJSON *live;   /* its current value on the live object */
	const cJSON *want;   /* the value the patch sets */
};

struct leaves {
	struct leaf l[MAX_LEAVES];
	int n;
	char problem[256];
};

static void add_word(char *words, size_t n, const char *w)
{
	size_t len = strlen(words);
	snprintf(words + len, n - len, "%s%s", len ? " " : "", w);
	for (char *p = words + len; *p; p++)
		*p = (char)tolower((unsigned char)*p);
}

/* Walk the patch alongside the live object. */
static void flatten(const cJSON *patch, const cJSON *live, const char *path, const char *words,
		    bool list_item, struct leaves *out)
{
	const cJSON *c;
	cJSON_ArrayForEach(c, patch) {
		if (out->n >= MAX_LEAVES || out->problem[0])
			return;
		if (list_item && strcmp(c->string, "name") == 0)
			continue; /* the merge key of a list item, not a change */
		char p[512], w[512];
		snprintf(w, sizeof w, "%s", words);
		add_word(w, sizeof w, c->string);
		snprintf(p, sizeof p, "%s%s%s", path, *path ? "." : "", c->string);
		const cJSON *lv = ks_json_child(live, c->string);
		if (cJSON_IsObject(c) && c->child) {
			flatten(c, lv, p, w, false, out);
		} else if (cJSON_IsArray(c) && c->child && cJSON_IsObject(c->child) &&
			   ks_json_str(c->child, "name")) {
			const cJSON *item;
			cJSON_ArrayForEach(item, c) {
				const char *name = ks_json_str_or(item, "name", "");
				const cJSON *li = NULL, *x;
				cJSON_ArrayForEach(x, lv)
					if (strcmp(ks_json_str_or(x, "name", ""), name) == 0)
						li = x;
				if (!li) {
					snprintf(out->problem, sizeof out->problem,
						 "%s has no item named %s", p, name);
					return;
				}
				char ip[512];
				snprintf(ip, sizeof ip, "%s[%s]", p, name);
				flatten(item, li, ip, w, true, out);
			}
		} else {
			struct leaf *l = &out->l[out->n++];
			snprintf(l->path, sizeof l->path, "%s", p);
			snprintf(l->words, sizeof l->words, "%s", w);
			l->live = lv;
			l->want = c;
		}
	}
}

struct candidate {
	char key[512];
	int score;
};

static int score(const char *key, const char *words)
{
	char k[512];
	snprintf(k, sizeof k, "%s", key);
	for (char *p = k; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	int s = 0;
	char w[512];
	snprintf(w, sizeof w, "%s", words);
	for (char *save = NULL, *t = strtok_r(w, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
		/* "replicas" ~ "replicacount": compare the stem without a plural 's'. */
		size_t n = strlen(t);
		if (n > 3 && t[n - 1] == 's')
			t[--n] = '\0';
		if (n >= 3 && strstr(k, t))
			s++;
	}
	return s;
}

static void key_push(char *key, size_t n, const char *name, int index)
{
	size_t len = strlen(key);
	if (index >= 0) {
		snprintf(key + len, n - len, "[%d]", index);
		return;
	}
	/* --set syntax: a dot inside a name is escaped. */
	if (len)
		key[len++] = '.', key[len] = '\0';
	for (const char *p = name; *p && len + 2 < n; p++) {
		if (*p == '.' || *p == ',' || *p == '=' || *p == '[')
			key[len++] = '\\';
		key[len++] = *p;
	}
	key[len] = '\0';
}

static bool same_value(const cJSON *a, const cJSON *b)
{
	if (cJSON_Compare(a, b, true))
		return true;
	/* "3" in values rendered into an int field (and the reverse). */
	char x[64], y[64];
	if (cJSON_IsNumber(a) && cJSON_IsString(b)) {
		snprintf(x, sizeof x, "%g", a->valuedouble);
		return strcmp(x, b->valuestring) == 0;
	}
	if (cJSON_IsString(a) && cJSON_IsNumber(b)) {
		snprintf(y, sizeof y, "%g", b->valuedouble);
		return strcmp(a->valuestring, y) == 0;
	}
	return false;
}

static void search(const cJSON *v, const cJSON *want, char *key, size_t n,
		   const char *words, struct candidate *c, int *nc)
{
	const cJSON *x;
	int i = 0;
	cJSON_ArrayForEach(x, v) {
		size_t mark = strlen(key);
		key_push(key, n, x->string ? x->string : "", cJSON_IsArray(v) ? i : -1);
		if (cJSON_IsObject(x) || cJSON_IsArray(x)) {
			if (cJSON_Compare(x, want, true) && *nc < MAX_CANDIDATES) {
				snprintf(c[*nc].key, sizeof c[*nc].key, "%s", key);
				c[*nc].score = score(key, words);
				(*nc)++;
			}
			search(x, want, key, n, words, c, nc);
		} else if (same_value(x, want) && *nc < MAX_CANDIDATES) {
			snprintf(c[*nc].key, sizeof c[*nc].key, "%s", key);
			c[*nc].score = score(key, words);
			(*nc)++;
		}
		key[mark] = '\0';
		i++;
	}
}

/* The values key for one leaf, or an error naming the candidates. */
static int map_leaf(const struct leaf *l, const cJSON *values, const char *release,
		    char *key, size_t n, struct ks_err *err)
{
	if (!l->live)
		return ks_err_set(err, KS_EUNSUPPORTED, "Helm release %s: the live field %s has no "
				  "value to find in the release's values; not changed live (the "
				  "next upgrade would undo it)", release, l->path);
	struct candidate *c = ks_calloc(MAX_CANDIDATES, sizeof *c);
	int nc = 0;
	char k[512] = "";
	search(values, l->live, k, sizeof k, l->words, c, &nc);
	int best = -1, ties = 0;
	for (int i = 0; i < nc; i++) {
		if (best < 0 || c[i].score > c[best].score)
			best = i, ties = 0;
		else if (c[i].score == c[best].score)
			ties++;
	}
	int rc = 0;
	if (best < 0) {
		char *v = cJSON_PrintUnformatted(l->live);
		rc = ks_err_set(err, KS_EUNSUPPORTED,
				"Helm release %s: no value of the release holds %s (the live %s), "
				"so the chart does not expose it; not changed live (the next "
				"upgrade would undo it)", release, v ? v : "?", l->path);
		cJSON_free(v);
	} else if (ties || (nc > 1 && c[best].score == 0)) {
		struct ks_buf b;
		ks_buf_init(&b, KS_BUF_UNLIMITED);
		for (int i = 0; i < nc && i < 6; i++)
			ks_buf_appendf(&b, "%s%s", i ? ", " : "", c[i].key);
		rc = ks_err_set(err, KS_EUNSUPPORTED,
				"Helm release %s: the live %s matches several values (%s); which "
				"one renders it is ambiguous, not changed", release, l->path,
				b.data);
		ks_buf_release(&b);
	} else {
		snprintf(key, n, "%s", c[best].key);
	}
	free(c);
	return rc;
}

static int helm(struct reconciler *r, const char *const *args, const char *ns,
		struct ks_buf *out, struct ks_err *err)
{
	const char *argv[64];
	int n = 0;
	argv[n++] = r->helm_bin;
	for (int i = 0; args[i] && n < 58; i++)
		argv[n++] = args[i];
	argv[n++] = "-n";
	argv[n++] = ns;
	if (r->kube_context) {
		argv[n++] = "--kube-context";
		argv[n++] = r->kube_context;
	}
	argv[n] = NULL;
	return rc_run(argv, r->kubeconfig, NULL, NULL, out, err);
}

static cJSON *helm_json(struct reconciler *r, const char *const *args, const char *ns,
			struct ks_err *err, int *rc)
{
	struct ks_buf b;
	ks_buf_init(&b, RC_RUN_OUT_MAX);
	cJSON *j = NULL;
	if (!(*rc = helm(r, args, ns, &b, err))) {
		j = ks_json_parse(b.data ? b.data : "", b.len, b.max, err);
		if (!j)
			*rc = err && err->code ? err->code : KS_EINVAL;
	}
	ks_buf_release(&b);
	return j;
}

/* ---- the release's chart, rebuilt from its Secret ---- */

static int write_file(const char *dir, const char *name, const void *data, size_t len,
		      struct ks_err *err)
{
	if (strstr(name, "..") || name[0] == '/')
		return ks_err_set(err, KS_EINVAL, "chart file name %s escapes the chart", name);
	char *path = ks_asprintf("%s/%s", dir, name);
	for (char *s = path + strlen(dir) + 1; (s = strchr(s, '/')); s++) {
		*s = '\0';
		mkdir(path, 0700);
		*s = '/';
	}
	FILE *f = fopen(path, "wb");
	int rc = 0;
	if (!f || fwrite(data, 1, len, f) != len || fclose(f))
		rc = ks_err_set(err, KS_EIO, "writing %s: %s", path, strerror(errno));
	free(path);
	return rc;
}

static int write_b64_files(const char *dir, const cJSON *arr, struct ks_err *err)
{
	const cJSON *f;
	cJSON_ArrayForEach(f, arr) {
		const char *name = ks_json_str(f, "name"), *data = ks_json_str_or(f, "data", "");
		unsigned char *raw = NULL;
		size_t n = 0;
		if (!name || ks_base64_decode(data, strlen(data), &raw, &n, err))
			return ks_err_set(err, KS_EINVAL, "release chart: a bad file entry");
		int rc = write_file(dir, name, raw, n, err);
		free(raw);
		if (rc)
			return rc;
	}
	return 0;
}

/* The release JSON of a revision (from sh.helm.release.v1.NAME.vREV). */
static cJSON *release_json(struct reconciler *r, const char *rel, const char *ns, int rev,
			   const char *tmp, struct ks_err *err, int *rc)
{
	char *name = ks_asprintf("sh.helm.release.v1.%s.v%d", rel, rev);
	cJSON *sec = NULL, *out = NULL;
	unsigned char *gz = NULL;
	size_t gzn = 0;
	struct ks_buf js;
	ks_buf_init(&js, (size_t)64 << 20);
	char *gzpath = ks_asprintf("%s/release.gz", tmp);
	if ((*rc = kube_get(r->o.kube, &KUBE_RES_SECRETS, ns, name, &sec, err)))
		goto out;
	/* data.release: the API's base64 of Helm's base64 of gzip. */
	const char *d = ks_json_str_or(sec, "data.release", "");
	unsigned char *inner = NULL;
	size_t innern = 0;
	if ((*rc = ks_base64_decode(d, strlen(d), &inner, &innern, err)))
		goto out;
	*rc = ks_base64_decode((const char *)inner, innern, &gz, &gzn, err);
	free(inner);
	if (*rc || (*rc = write_file(tmp, "release.gz", gz, gzn, err)))
		goto out;
	const char *gunzip[] = {"gzip", "-dc", NULL};
	if ((*rc = rc_run(gunzip, NULL, NULL, gzpath, &js, err)))
		goto out;
	out = ks_json_parse(js.data ? js.data : "", js.len, js.max, err);
	if (!out)
		*rc = KS_EINVAL;
out:
	if (*rc)
		ks_err_wrap(err, "reading Helm release %s revision %d", rel, rev);
	unlink(gzpath);
	free(gzpath);
	free(gz);
	free(name);
	cJSON_Delete(sec);
	ks_buf_release(&js);
	return out;
}

static int build_chart(const cJSON *release, const char *dir, struct ks_err *err)
{
	const cJSON *chart = ks_json_child(release, "chart");
	const cJSON *meta = ks_json_child(chart, "metadata");
	if (!cJSON_IsObject(meta))
		return ks_err_set(err, KS_EINVAL, "the release holds no chart");
	if (ks_json_len(ks_json_child(meta, "dependencies")) > 0)
		return ks_err_set(err, KS_EUNSUPPORTED, "chart %s has subcharts, which the release "
				  "record does not carry; it cannot be upgraded from the cluster",
				  ks_json_str_or(meta, "name", "?"));
	mkdir(dir, 0700);
	/* JSON is YAML: Chart.yaml and values.yaml are written as JSON. */
	char *m = ks_json_print(meta);
	const cJSON *values = ks_json_child(chart, "values");
	char *v = values ? ks_json_print(values) : ks_strdup("{}");
	int rc = write_file(dir, "Chart.yaml", m, strlen(m), err);
	if (!rc)
		rc = write_file(dir, "values.yaml", v, strlen(v), err);
	free(m);
	free(v);
	if (!rc)
		rc = write_b64_files(dir, ks_json_child(chart, "templates"), err);
	if (!rc)
		rc = write_b64_files(dir, ks_json_child(chart, "files"), err);
	return rc;
}

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
	(void)sb, (void)flag, (void)f;
	return remove(p);
}

int rc_helm_apply(struct reconciler *r, const struct rc_step *st, const cJSON *live,
		  const struct rc_owner *ow, bool dry_run, cJSON **change, cJSON **inverse,
		  struct ks_err *err)
{
	*change = *inverse = NULL;
	if (st->patch_type == KUBE_PATCH_JSON)
		return ks_err_set(err, KS_EUNSUPPORTED, "Helm release %s: a JSON Patch step cannot "
				  "be mapped to the release's values", ow->release);
	struct leaves *lv = ks_calloc(1, sizeof *lv);
	flatten(st->patch, live, "", "", false, lv);
	int rc = 0;
	cJSON *values = NULL, *status = NULL, *release = NULL;
	char tmp[] = "/tmp/kswarm-helm-XXXXXX";
	bool have_tmp = false;
	if (lv->problem[0]) {
		rc = ks_err_set(err, KS_EUNSUPPORTED, "Helm release %s: %s", ow->release,
				lv->problem);
		goto out;
	}
	const char *get_values[] = {"get", "values", ow->release, "-a", "-o", "json", NULL};
	if (!(values = helm_json(r, get_values, ow->release_ns, err, &rc)))
		goto out;
	cJSON *sets = cJSON_CreateArray();
	*change = cJSON_CreateObject();
	cJSON_AddStringToObject(*change, "release", ow->release);
	cJSON_AddStringToObject(*change, "namespace", ow->release_ns);
	cJSON_AddItemToObject(*change, "set", sets);
	for (int i = 0; i < lv->n; i++) {
		char key[512];
		if ((rc = map_leaf(&lv->l[i], values, ow->release, key, sizeof key, err)))
			goto out;
		char *val = cJSON_PrintUnformatted(lv->l[i].want);
		char *kv = ks_asprintf("%s=%s", key, val ? val : "null");
		cJSON_free(val);
		cJSON_AddItemToArray(sets, cJSON_CreateString(kv));
		free(kv);
	}
	const char *st_args[] = {"status", ow->release, "-o", "json", NULL};
	if (!(status = helm_json(r, st_args, ow->release_ns, err, &rc)))
		goto out;
	int prev = (int)ks_json_int_or(status, "version", 0);
	*inverse = cJSON_CreateObject();
	cJSON_AddStringToObject(*inverse, "restore", "helm");
	cJSON_AddStringToObject(*inverse, "release", ow->release);
	cJSON_AddStringToObject(*inverse, "namespace", ow->release_ns);
	cJSON_AddNumberToObject(*inverse, "revision", prev);
	if (dry_run)
		goto out;
	if (!mkdtemp(tmp)) {
		rc = ks_err_set(err, KS_EIO, "mkdtemp: %s", strerror(errno));
		goto out;
	}
	have_tmp = true;
	if (!(release = release_json(r, ow->release, ow->release_ns, prev, tmp, err, &rc)))
		goto out;
	char *chart_dir = ks_asprintf("%s/chart", tmp);
	if (!(rc = build_chart(release, chart_dir, err))) {
		const char *argv[MAX_LEAVES * 2 + 12];
		int n = 0;
		argv[n++] = "upgrade";
		argv[n++] = ow->release;
		argv[n++] = chart_dir;
		argv[n++] = "--reuse-values";
		const cJSON *s;
		cJSON_ArrayForEach(s, sets) {
			argv[n++] = "--set-json";
			argv[n++] = s->valuestring;
		}
		argv[n] = NULL;
		rc = helm(r, argv, ow->release_ns, NULL, err);
	}
	free(chart_dir);
	cJSON_Delete(status);
	status = NULL;
	if (!rc && (status = helm_json(r, st_args, ow->release_ns, err, &rc)))
		cJSON_AddNumberToObject(*change, "revision",
					(double)ks_json_int_or(status, "version", 0));
out:
	if (have_tmp)
		nftw(tmp, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	if (rc) {
		cJSON_Delete(*change);
		cJSON_Delete(*inverse);
		*change = *inverse = NULL;
	}
	cJSON_Delete(values);
	cJSON_Delete(status);
	cJSON_Delete(release);
	free(lv);
	return rc;
}

int rc_helm_undo(struct reconciler *r, const cJSON *inverse, struct ks_err *err)
{
	const char *rel = ks_json_str(inverse, "release"), *ns = ks_json_str(inverse, "namespace");
	int64_t rev = ks_json_int_or(inverse, "revision", 0);
	if (!rel || !ns || rev <= 0)
		return ks_err_set(err, KS_EINVAL, "the intent log has no Helm revision to roll "
				  "back to");
	char revs[24];
	snprintf(revs, sizeof revs, "%lld", (long long)rev);
	const char *args[] = {"rollback", rel, revs, NULL};
	return helm(r, args, ns, NULL, err);
}
