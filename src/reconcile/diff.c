/* diff.c — what a step would change, from the API server's own dry run (dryRun=All: the
 * server runs admission, defaulting and the patch, and stores nothing), shown as a list of
 * changed leaves and a unified-style text. Secrets: every value under data/stringData of a
 * Secret is replaced by its fingerprint (of the decoded bytes) before anything is compared
 * or printed, so no diff, event or audit record can hold one.
 * Ownership: results are the caller's (cJSON_Delete / free). */
#include "base/common.h"
#include "base/base64.h"
#include "base/json.h"
#include "base/timeutil.h"
#include "kube/apply.h"
#include "reconcile/internal.h"

#include <stdio.h>
#include <string.h>

static const char *const SERVER_FIELDS[] = {"resourceVersion", "uid", "generation",
					    "managedFields", "creationTimestamp", "selfLink"};

cJSON *rc_content(const cJSON *obj)
{
	cJSON *c = cJSON_Duplicate(obj, true);
	if (!c)
		return cJSON_CreateObject();
	cJSON_DeleteItemFromObjectCaseSensitive(c, "status");
	cJSON *m = cJSON_GetObjectItemCaseSensitive(c, "metadata");
	for (size_t i = 0; m && i < KS_ARRAY_LEN(SERVER_FIELDS); i++)
		cJSON_DeleteItemFromObjectCaseSensitive(m, SERVER_FIELDS[i]);
	return c;
}

static void redact_map(cJSON *map, bool b64)
{
	cJSON *v;
	cJSON_ArrayForEach(v, map) {
		if (!cJSON_IsString(v))
			continue;
		char fp[24];
		unsigned char *raw = NULL;
		size_t n = 0;
		if (b64 && !ks_base64_decode(v->valuestring, strlen(v->valuestring), &raw, &n,
					     NULL)) {
			reconcile_fingerprint(raw, n, fp);
			explicit_bzero(raw, n);
			free(raw);
		} else {
			reconcile_fingerprint(v->valuestring, strlen(v->valuestring), fp);
		}
		explicit_bzero(v->valuestring, strlen(v->valuestring));
		cJSON_SetValuestring(v, fp);
	}
}

void rc_redact_secret(cJSON *obj)
{
	if (!obj)
		return;
	redact_map(cJSON_GetObjectItemCaseSensitive(obj, "data"), true);
	redact_map(cJSON_GetObjectItemCaseSensitive(obj, "stringData"), false);
	/* kubectl's last-applied annotation would hold the whole Secret. */
	cJSON *ann = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(obj, "metadata"), "annotations");
	cJSON *la = cJSON_GetObjectItemCaseSensitive(
		ann, "kubectl.kubernetes.io/last-applied-configuration");
	if (cJSON_IsString(la))
		cJSON_SetValuestring(la, "(redacted)");
}

static void path_push(struct ks_buf *p, const char *key)
{
	if (strchr(key, '.') || strchr(key, '/'))
		ks_buf_appendf(p, "[\"%s\"]", key);
	else
		ks_buf_appendf(p, "%s%s", p->len ? "." : "", key);
}

static void add_change(cJSON *out, const char *path, const cJSON *b, const cJSON *a)
{
	cJSON *c = cJSON_CreateObject();
	cJSON_AddStringToObject(c, "path", path);
	cJSON_AddItemToObject(c, "before", b ? cJSON_Duplicate(b, true) : cJSON_CreateNull());
	cJSON_AddItemToObject(c, "after", a ? cJSON_Duplicate(a, true) : cJSON_CreateNull());
	cJSON_AddItemToArray(out, c);
}

static void walk(cJSON *out, struct ks_buf *p, const cJSON *b, const cJSON *a)
{
	if (b && a && ks_json_identical(b, a))
		return;
	size_t mark = p->len;
	/* An object added or removed whole is shown leaf by leaf, like any other. */
	static const cJSON empty = {.type = cJSON_Object};
	if (cJSON_IsObject(a) && !b)
		b = &empty;
	if (cJSON_IsObject(b) && !a)
		a = &empty;
	if (cJSON_IsObject(b) && cJSON_IsObject(a)) {
		const cJSON *x;
		cJSON_ArrayForEach(x, b) {
			path_push(p, x->string);
			walk(out, p, x, ks_json_child(a, x->string));
			p->len = mark;
			p->data[mark] = '\0';
		}
		cJSON_ArrayForEach(x, a) {
			if (ks_json_child(b, x->string))
				continue;
			path_push(p, x->string);
			walk(out, p, NULL, x);
			p->len = mark;
			p->data[mark] = '\0';
		}
		return;
	}
	if (cJSON_IsArray(b) && cJSON_IsArray(a) && ks_json_len(a) == ks_json_len(b)) {
		for (int i = 0; i < ks_json_len(a); i++) {
			ks_buf_appendf(p, "[%d]", i);
			walk(out, p, cJSON_GetArrayItem(b, i), cJSON_GetArrayItem(a, i));
			p->len = mark;
			p->data[mark] = '\0';
		}
		return;
	}
	add_change(out, p->len ? p->data : "", b, a);
}

/* The contents to compare, redacted for Secrets. */
static cJSON *comparable(const cJSON *obj, bool secret)
{
	cJSON *c = obj ? rc_content(obj) : cJSON_CreateObject();
	if (secret)
		rc_redact_secret(c);
	return c;
}

cJSON *rc_changes(const cJSON *before, const cJSON *after, bool secret)
{
	cJSON *b = comparable(before, secret), *a = comparable(after, secret);
	cJSON *out = cJSON_CreateArray();
	struct ks_buf p;
	ks_buf_init(&p, KS_BUF_UNLIMITED);
	ks_buf_appendstr(&p, "");
	walk(out, &p, b, a);
	ks_buf_release(&p);
	cJSON_Delete(b);
	cJSON_Delete(a);
	return out;
}

char *rc_diff_text(const cJSON *before, const cJSON *after, bool secret)
{
	cJSON *ch = rc_changes(before, after, secret), *c;
	struct ks_buf t;
	ks_buf_init(&t, KS_BUF_UNLIMITED);
	ks_buf_appendstr(&t, "--- live\n+++ after\n");
	cJSON_ArrayForEach(c, ch) {
		const char *path = ks_json_str_or(c, "path", "");
		const cJSON *sides[2] = {ks_json_child(c, "before"), ks_json_child(c, "after")};
		for (int i = 0; i < 2; i++) {
			if (cJSON_IsNull(sides[i]))
				continue;
			char *v = cJSON_PrintUnformatted(sides[i]);
			ks_buf_appendf(&t, "%c %s: %s\n", i ? '+' : '-', path, v ? v : "?");
			cJSON_free(v);
		}
	}
	cJSON_Delete(ch);
	return ks_buf_detach(&t);
}

/* The merge patch (RFC 7386) that turns after back into before (both rc_content): only
 * the paths that differ. Keys starting with '_' are the log's own annotations. */
cJSON *rc_inverse_merge(const cJSON *before, const cJSON *after)
{
	cJSON *p = cJSON_CreateObject();
	const cJSON *a, *b;
	cJSON_ArrayForEach(a, after) {
		if (ks_json_child(after, a->string) != a)
			continue; /* a repeated key: the first one counts, as for look-ups */
		b = ks_json_child(before, a->string);
		if (!b)
			cJSON_AddNullToObject(p, a->string);
		else if (cJSON_Compare(a, b, true))
			continue;
		else if (cJSON_IsObject(a) && cJSON_IsObject(b))
			cJSON_AddItemToObject(p, a->string, rc_inverse_merge(b, a));
		else
			cJSON_AddItemToObject(p, a->string, cJSON_Duplicate(b, true));
	}
	cJSON_ArrayForEach(b, before)
		if (b->string[0] != '_' && ks_json_child(before, b->string) == b &&
		    !ks_json_child(after, b->string))
			cJSON_AddItemToObject(p, b->string, cJSON_Duplicate(b, true));
	return p;
}

/* Equal as JSON (members by name); byte-identical trees count too (with a repeated key,
 * cJSON_Compare can find a tree different from its own copy). */
static bool same_json(const cJSON *a, const cJSON *b)
{
	return ks_json_identical(a, b) || cJSON_Compare(a, b, true);
}

/* What the step left at each path the inverse restores (null: absent), same shape. */
cJSON *rc_expected(const cJSON *inv, const cJSON *after)
{
	cJSON *e = cJSON_CreateObject();
	const cJSON *i;
	cJSON_ArrayForEach(i, inv) {
		const cJSON *a = ks_json_child(after, i->string);
		if (cJSON_IsObject(i) && cJSON_IsObject(a))
			cJSON_AddItemToObject(e, i->string, rc_expected(i, a));
		else
			cJSON_AddItemToObject(e, i->string,
					      a ? cJSON_Duplicate(a, true) : cJSON_CreateNull());
	}
	return e;
}

/* Whether cur still holds, at every path the inverse restores, what the step left there:
 * else someone changed what we changed, and a rollback would overwrite their change. */
bool rc_still_ours(const cJSON *inv, const cJSON *expect, const cJSON *cur)
{
	const cJSON *i;
	cJSON_ArrayForEach(i, inv) {
		const cJSON *e = ks_json_child(expect, i->string);
		const cJSON *c = ks_json_child(cur, i->string);
		if (cJSON_IsObject(i) && cJSON_IsObject(e)) {
			if (!cJSON_IsObject(c) || !rc_still_ours(i, e, c))
				return false;
		} else if (!e || cJSON_IsNull(e) ? c && !cJSON_IsNull(c)
						 : !c || !same_json(e, c)) {
			return false;
		}
	}
	return true;
}

/* One step's dry run: the live object, then the object the change would give. */
static int dry_run_step(struct reconciler *r, const struct rc_step *st, cJSON *out_step,
			struct ks_err *err)
{
	const struct kube_resource *res = rc_resource(r, st, err);
	if (!res)
		return err->code ? err->code : KS_EINVAL;
	cJSON *live = NULL, *after = NULL, *change = NULL, *inverse = NULL;
	char *doc = NULL, *value = NULL;
	size_t vlen = 0;
	int rc = kube_get(r->o.kube, res, st->ns, st->name, &live, err);
	if (rc)
		goto out;
	struct rc_owner ow;
	rc_owner_detect(live, &ow);
	bool secret = strcmp(st->kind, "Secret") == 0;
	enum kube_patch_type type = st->patch_type;
	if (strcmp(st->action, "secret-from-source") == 0) {
		if ((rc = rc_secret_fetch(r, st, &value, &vlen, err)))
			goto out;
		doc = rc_secret_patch(st->secret_key, value, vlen);
		type = KUBE_PATCH_MERGE;
	} else {
		char now[40];
		ks_time_format_rfc3339(ks_time_now_ms() / 1000, now, sizeof now);
		doc = rc_step_patch_doc(st, now, &type);
	}
	struct kube_patch_opts po = {.type = type, .field_manager = r->field_manager,
				     .dry_run = true};
	if ((rc = kube_patch(r->o.kube, res, st->ns, st->name, doc, strlen(doc), &po, &after,
			     err)))
		goto out;
	cJSON_AddStringToObject(out_step, "via", rc_via_name(ow.via));
	char *diff = rc_diff_text(live, after, secret);
	cJSON_AddStringToObject(out_step, "diff", diff);
	free(diff);
	cJSON_AddItemToObject(out_step, "changes", rc_changes(live, after, secret));
	const char *how;
	if (ow.via == RC_VIA_HELM) {
		rc = rc_helm_apply(r, st, live, &ow, true, &change, &inverse, err);
		if (rc) {
			cJSON_AddStringToObject(out_step, "refused", err->msg);
			ks_err_clear(err);
			rc = 0;
		} else {
			cJSON_AddItemToObject(out_step, "helm", change);
			change = NULL;
		}
		how = "helm rollback of the release to the revision before the upgrade";
	} else if (ow.via == RC_VIA_GITOPS) {
		how = r->gitops_repo ? "git revert of the commit that added the patch file"
				     : "none: no GitOps repository is configured, the step is "
				       "refused";
	} else if (secret) {
		how = "restore the Secret's previous data (kept only in the intent log) with a "
		      "resourceVersion precondition";
	} else {
		how = "restore the object's previous content (recorded before the change) with a "
		      "resourceVersion precondition";
	}
	cJSON_AddStringToObject(out_step, "rollback", how);
out:
	if (value) {
		explicit_bzero(value, vlen);
		free(value);
	}
	if (doc) {
		explicit_bzero(doc, strlen(doc));
		free(doc);
	}
	cJSON_Delete(live);
	cJSON_Delete(after);
	cJSON_Delete(change);
	cJSON_Delete(inverse);
	return rc;
}

int reconcile_dry_run(struct reconciler *r, const cJSON *plan, cJSON **out, struct ks_err *err)
{
	struct ks_err local = {0};
	if (!err)
		err = &local;
	*out = NULL;
	int rc = reconcile_plan_check(plan, err);
	if (rc)
		return rc;
	pthread_mutex_lock(&r->mu);
	cJSON *res = cJSON_CreateObject(), *steps = cJSON_CreateArray(), *s;
	cJSON_AddStringToObject(res, "plan_id", ks_json_str(plan, "plan_id"));
	cJSON_AddItemToObject(res, "steps", steps);
	cJSON_ArrayForEach(s, ks_json_child(plan, "steps")) {
		struct rc_step st;
		rc_step_parse(s, &st, NULL);
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "id", st.id);
		cJSON_AddItemToObject(o, "target", cJSON_Duplicate(st.target, true));
		cJSON_AddItemToArray(steps, o);
		if ((rc = dry_run_step(r, &st, o, err))) {
			ks_err_wrap(err, "dry run of step %s", st.id);
			break;
		}
	}
	pthread_mutex_unlock(&r->mu);
	if (rc)
		cJSON_Delete(res);
	else
		*out = res;
	return rc;
}
