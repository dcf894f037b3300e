/* gitops.c — objects owned by Argo CD or Flux are changed in their git repository, not in
 * the cluster (a live change would be reverted by the next sync, or would make the app
 * "OutOfSync"). The step becomes a kustomize strategic-merge patch file
 *     <gitops_repo>/<gitops_dir>/<cluster>/<namespace>-<kind>-<name>.yaml
 * (apiVersion, kind, metadata.name/namespace and the patch's fields, YAML), added and
 * committed with a message naming the plan and the step. Several steps on one object merge
 * into one file (RFC 7386 merge of the patches). Nothing is pushed: the repository's own
 * automation (or a person) pushes and the GitOps tool syncs. Rollback: `git revert` of the
 * step's commit. The YAML is kubectl's style (ks_yaml_write). JSON Patch steps are refused
 * here (a strategic-merge file cannot hold one). Re-running a step whose file already holds
 * the same content commits nothing. */
#include "base/common.h"
#include "base/fileutil.h"
#include "base/json.h"
#include "base/jsonout.h"
#include "kube/kcyaml.h"
#include "reconcile/internal.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/* ---- the file ---- */

static char *lower(const char *s)
{
	char *d = ks_strdup(s);
	for (char *p = d; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return d;
}

/* The existing file's content as JSON, or NULL when there is none. */
static cJSON *read_existing(const char *path, struct ks_err *err, int *rc)
{
	struct ks_buf b;
	ks_buf_init(&b, (size_t)4 << 20);
	*rc = 0;
	if (ks_buf_read_file(&b, path, NULL)) {
		ks_buf_release(&b);
		return NULL;
	}
	struct kube_yaml y = {0};
	cJSON *out = NULL;
	if (!(*rc = kube_yaml_parse(b.data ? b.data : "", b.len, &y, err)) && y.root) {
		struct ks_buf j;
		ks_buf_init(&j, (size_t)8 << 20);
		long budget = 1000000;
		if (!(*rc = kube_yaml_to_json(y.root, &j, &budget, err)))
			out = ks_json_parse(j.data, j.len, j.max, err);
		if (!out && !*rc)
			*rc = KS_EINVAL;
		ks_buf_release(&j);
	}
	kube_yaml_free(&y);
	ks_buf_release(&b);
	if (*rc)
		ks_err_wrap(err, "reading %s", path);
	return out;
}

static const char *identity_args[] = {"-c", "user.name=kswarm", "-c",
				      "user.email=kswarm@localhost"};

/* git with the repository as working directory; an identity when the repository has none. */
static int git(struct reconciler *r, const char *const *args, struct ks_buf *out,
	       struct ks_err *err)
{
	const char *argv[24];
	int n = 0;
	argv[n++] = r->git_bin;
	const char *probe[] = {r->git_bin, "config", "user.email", NULL};
	if (rc_run(probe, NULL, r->gitops_repo, NULL, NULL, NULL))
		for (size_t i = 0; i < KS_ARRAY_LEN(identity_args); i++)
			argv[n++] = identity_args[i];
	for (int i = 0; args[i] && n < 23; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	return rc_run(argv, NULL, r->gitops_repo, NULL, out, err);
}

static void trim(struct ks_buf *b)
{
	while (b->len && (b->data[b->len - 1] == '\n' || b->data[b->len - 1] == ' '))
		b->data[--b->len] = '\0';
}

int rc_gitops_apply(struct reconciler *r, const char *plan_id, const struct rc_step *st,
		    const struct rc_owner *ow, bool dry_run, cJSON **change, struct ks_err *err)
{
	*change = NULL;
	if (!r->gitops_repo)
		return ks_err_set(err, KS_EUNSUPPORTED, "%s %s/%s is managed by %s (%s) and no "
				  "GitOps repository is configured: not changed live, refused",
				  st->kind, st->ns ? st->ns : "", st->name, ow->tool, ow->app);
	if (st->patch_type == KUBE_PATCH_JSON)
		return ks_err_set(err, KS_EUNSUPPORTED, "step %s: a JSON Patch cannot be written "
				  "as a strategic-merge patch file for %s", st->id, ow->tool);
	char *kind = lower(st->kind);
	char *rel = ks_asprintf("%s/%s/%s-%s-%s.yaml", r->gitops_dir, r->cluster,
				st->ns ? st->ns : "_cluster", kind, st->name);
	char *path = ks_asprintf("%s/%s", r->gitops_repo, rel);
	char *dir = ks_strdup(path);
	*strrchr(dir, '/') = '\0';
	free(kind);
	int rc = 0;
	struct ks_buf y, out;
	ks_buf_init(&y, KS_BUF_UNLIMITED);
	ks_buf_init(&out, RC_RUN_OUT_MAX);
	cJSON *doc = read_existing(path, err, &rc);
	if (rc)
		goto done;
	if (!doc) {
		doc = cJSON_CreateObject();
		cJSON_AddStringToObject(doc, "apiVersion", st->api_version);
		cJSON_AddStringToObject(doc, "kind", st->kind);
		cJSON *m = cJSON_AddObjectToObject(doc, "metadata");
		cJSON_AddStringToObject(m, "name", st->name);
		if (st->ns)
			cJSON_AddStringToObject(m, "namespace", st->ns);
	}
	ks_json_merge_patch(doc, st->patch);
	ks_buf_appendf(&y, "# kswarm plan %s, step %s%s%s\n", plan_id, st->id,
		       ks_json_str(st->json, "summary") ? ": " : "",
		       ks_json_str_or(st->json, "summary", ""));
	if ((rc = ks_yaml_write(doc, &y, err)))
		goto done;
	*change = cJSON_CreateObject();
	cJSON_AddStringToObject(*change, "file", rel);
	if (dry_run) {
		cJSON_AddStringToObject(*change, "content", y.data);
		goto done;
	}
	if ((rc = ks_mkdir_p(dir, 0755, err)))
		goto done;
	FILE *f = fopen(path, "w");
	if (!f || fwrite(y.data, 1, y.len, f) != y.len || fclose(f)) {
		rc = ks_err_set(err, KS_EIO, "writing %s: %s", path, strerror(errno));
		goto done;
	}
	const char *add[] = {"add", "--", rel, NULL};
	const char *status[] = {"status", "--porcelain", "--", rel, NULL};
	if ((rc = git(r, add, NULL, err)) || (rc = git(r, status, &out, err)))
		goto done;
	if (out.len == 0) {
		cJSON_AddBoolToObject(*change, "unchanged", true);
		goto done;
	}
	char *msg = ks_asprintf("kswarm: plan %s step %s: %s %s/%s\n\n%s\n", plan_id, st->id,
				st->kind, st->ns ? st->ns : "", st->name,
				ks_json_str_or(st->json, "summary", "(no summary)"));
	const char *commit[] = {"commit", "-q", "-m", msg, "--", rel, NULL};
	rc = git(r, commit, NULL, err);
	free(msg);
	ks_buf_reset(&out);
	const char *head[] = {"rev-parse", "HEAD", NULL};
	if (!rc && !(rc = git(r, head, &out, err))) {
		trim(&out);
		cJSON_AddStringToObject(*change, "commit", out.data ? out.data : "");
	}
done:
	if (rc) {
		cJSON_Delete(*change);
		*change = NULL;
	}
	cJSON_Delete(doc);
	ks_buf_release(&y);
	ks_buf_release(&out);
	free(rel);
	free(path);
	free(dir);
	return rc;
}

int rc_gitops_undo(struct reconciler *r, const char *plan_id, const cJSON *change,
		   struct ks_err *err)
{
	const char *commit = ks_json_str(change, "commit");
	if (!commit)
		return 0; /* nothing was committed by this step */
	const char *revert[] = {"revert", "--no-edit", commit, NULL};
	int rc = git(r, revert, NULL, err);
	if (rc)
		ks_err_wrap(err, "plan %s: reverting %s", plan_id, commit);
	return rc;
}
