/* test_reconcile_plan.c — the reconciler without a cluster: plan shape checks, secret
 * fingerprints, diffs (Secret values never shown), owner detection, the intent log and
 * audit in an in-memory store, GitOps patch files in a temporary git repository, and the
 * mapping of a live field to a Helm release's value (a fake helm prints the values). */
#include "testutil.h"

#include "base/json.h"
#include "reconcile/internal.h"
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static cJSON *fixture(const char *name)
{
	char rel[128];
	snprintf(rel, sizeof rel, "reconcile/%s", name);
	char *s = tu_read_fixture(rel);
	cJSON *j = cJSON_Parse(s);
	if (!j)
		fail_msg("bad JSON in fixture %s", rel);
	free(s);
	return j;
}

static void good_plan(void **state)
{
	(void)state;
	cJSON *p = fixture("plan_good.json");
	struct ks_err err = {0};
	assert_int_equal(reconcile_plan_check(p, &err), 0);
	struct rc_step st;
	assert_int_equal(rc_step_parse(cJSON_GetArrayItem(ks_json_child(p, "steps"), 0), &st,
				       &err), 0);
	assert_string_equal(st.action, "patch");
	assert_string_equal(st.kind, "Deployment");
	assert_string_equal(st.uid, "u-1");
	assert_int_equal(st.patch_type, KUBE_PATCH_STRATEGIC);
	assert_int_equal(st.timeout_s, 180);
	assert_int_equal(rc_step_parse(cJSON_GetArrayItem(ks_json_child(p, "steps"), 1), &st,
				       &err), 0);
	assert_string_equal(st.secret_key, "password");
	assert_string_equal(st.vault_mount, "secret");
	assert_string_equal(st.vault_path, "payments/db");
	assert_string_equal(st.vault_field, "password");
	/* A restart's patch is kubectl rollout restart's annotation. */
	assert_int_equal(rc_step_parse(cJSON_GetArrayItem(ks_json_child(p, "steps"), 2), &st,
				       &err), 0);
	enum kube_patch_type t;
	char *doc = rc_step_patch_doc(&st, "2026-11-21T10:00:00Z", &t);
	assert_int_equal(t, KUBE_PATCH_STRATEGIC);
	assert_string_equal(doc, "{\"spec\":{\"template\":{\"metadata\":{\"annotations\":{"
			    "\"kubectl.kubernetes.io/restartedAt\":\"2026-11-21T10:00:00Z\"}}}}}");
	free(doc);
	cJSON_Delete(p);
}

static void bad_plans(void **state)
{
	(void)state;
	cJSON *cases = fixture("plans_bad.json"), *c;
	int n = 0;
	cJSON_ArrayForEach(c, cases) {
		struct ks_err err = {0};
		int rc = reconcile_plan_check(ks_json_child(c, "plan"), &err);
		if (rc != KS_EINVAL)
			fail_msg("case %d: rc %d, want KS_EINVAL (%s)", n, rc, err.msg);
		if (!strstr(err.msg, ks_json_str(c, "error")))
			fail_msg("case %d: error \"%s\" lacks \"%s\"", n, err.msg,
				 ks_json_str(c, "error"));
		n++;
	}
	assert_true(n >= 20);
	cJSON_Delete(cases);
	/* Ceilings: 65 steps. */
	cJSON *p = cJSON_CreateObject(), *steps = cJSON_AddArrayToObject(p, "steps");
	cJSON_AddStringToObject(p, "plan_id", "big");
	for (int i = 0; i < RC_MAX_STEPS + 1; i++) {
		char s[200];
		snprintf(s, sizeof s, "{\"id\":\"s%d\",\"action\":\"restart\",\"target\":{"
			 "\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"name\":\"x\"}}", i);
		cJSON_AddItemToArray(steps, cJSON_Parse(s));
	}
	struct ks_err err = {0};
	assert_int_equal(reconcile_plan_check(p, &err), KS_EINVAL);
	assert_contains(err.msg, "1 to 64 steps");
	cJSON_Delete(p);
}

static void fingerprints(void **state)
{
	(void)state;
	char fp[24];
	/* SHA-256 test vectors (FIPS 180-2): "" and "abc". */
	reconcile_fingerprint("", 0, fp);
	assert_string_equal(fp, "sha256:e3b0c44298fc1c14");
	reconcile_fingerprint("abc", 3, fp);
	assert_string_equal(fp, "sha256:ba7816bf8f01cfea");
	assert_int_equal(strlen(fp), 23);
}

static void diffs(void **state)
{
	(void)state;
	cJSON *live = fixture("deploy_live.json"), *dry = fixture("deploy_dry.json");
	cJSON *ch = rc_changes(live, dry, false);
	/* managedFields, generation and status are not changes of the step. */
	assert_int_equal(ks_json_len(ch), 2);
	char *text = rc_diff_text(live, dry, false);
	assert_contains(text, "--- live\n+++ after\n");
	assert_contains(text, "- spec.template.spec.containers[0].resources.limits.memory: "
			      "\"128Mi\"\n+ spec.template.spec.containers[0].resources.limits."
			      "memory: \"256Mi\"\n");
	assert_contains(text, "+ spec.template.metadata.annotations[\"kubectl.kubernetes.io/"
			      "restartedAt\"]: \"2026-11-21T10:00:00Z\"\n");
	assert_null(strstr(text, "managedFields"));
	free(text);
	cJSON_Delete(ch);
	/* The content of an object keeps what a rollback restores, nothing the server owns. */
	cJSON *c = rc_content(live);
	assert_null(ks_json_get(c, "status"));
	assert_null(ks_json_get(c, "metadata.resourceVersion"));
	assert_null(ks_json_get(c, "metadata.managedFields"));
	assert_non_null(ks_json_get(c, "metadata.annotations"));
	assert_non_null(ks_json_get(c, "spec.template"));
	cJSON_Delete(c);
	cJSON_Delete(live);
	cJSON_Delete(dry);
}

static void secret_diffs(void **state)
{
	(void)state;
	cJSON *live = fixture("secret_live.json"), *dry = fixture("secret_dry.json");
	char *text = rc_diff_text(live, dry, true);
	cJSON *ch = rc_changes(live, dry, true);
	char *chs = tu_json(ch);
	char fp_new[24], fp_old[24];
	reconcile_fingerprint("hunter2-planted", 15, fp_new);
	reconcile_fingerprint("old-password", 12, fp_old);
	for (int i = 0; i < 2; i++) {
		const char *s = i ? chs : text;
		assert_null(strstr(s, "hunter2"));
		assert_null(strstr(s, "aHVudGVy"));
		assert_null(strstr(s, "old-password"));
		assert_null(strstr(s, "b2xkLXBhc3N3b3Jk"));
		assert_contains(s, fp_new);
		assert_contains(s, fp_old);
	}
	assert_int_equal(ks_json_len(ch), 1); /* "user" did not change */
	free(text);
	free(chs);
	cJSON_Delete(ch);
	cJSON_Delete(live);
	cJSON_Delete(dry);
}

static void inverses(void **state)
{
	(void)state;
	cJSON *cases = fixture("inverse.json"), *c;
	cJSON_ArrayForEach(c, cases) {
		const char *why = ks_json_str(c, "why");
		const cJSON *after = ks_json_child(c, "after");
		cJSON *inv = rc_inverse_merge(ks_json_child(c, "before"), after);
		cJSON *exp = rc_expected(inv, after);
		if (!cJSON_Compare(inv, ks_json_child(c, "inverse"), true)) {
			char *got = tu_json(inv);
			fail_msg("%s: inverse %s", why, got);
		}
		if (!cJSON_Compare(exp, ks_json_child(c, "expect"), true)) {
			char *got = tu_json(exp);
			fail_msg("%s: expect %s", why, got);
		}
		const cJSON *cur;
		cJSON_ArrayForEach(cur, ks_json_child(c, "ours"))
			if (!rc_still_ours(inv, exp, cur))
				fail_msg("%s: a current object taken as changed by someone", why);
		cJSON_ArrayForEach(cur, ks_json_child(c, "not_ours"))
			if (rc_still_ours(inv, exp, cur))
				fail_msg("%s: someone's change not seen", why);
		/* The inverse applied to after (RFC 7386) gives before back. */
		cJSON *back = cJSON_Duplicate(ks_json_child(c, "after"), true);
		ks_json_merge_patch(back, inv);
		cJSON *want = cJSON_Duplicate(ks_json_child(c, "before"), true);
		cJSON_DeleteItemFromObjectCaseSensitive(want, "_resourceVersion");
		if (!cJSON_Compare(back, want, true))
			fail_msg("%s: the inverse does not restore before", why);
		cJSON_Delete(back);
		cJSON_Delete(want);
		cJSON_Delete(inv);
		cJSON_Delete(exp);
	}
	cJSON_Delete(cases);
}

static void owners(void **state)
{
	(void)state;
	cJSON *cases = fixture("owners.json"), *c;
	int i = 0;
	cJSON_ArrayForEach(c, cases) {
		struct rc_owner o;
		rc_owner_detect(ks_json_child(c, "object"), &o);
		const char *want = ks_json_str(c, "via");
		if (strcmp(rc_via_name(o.via), want) != 0)
			fail_msg("case %d: via %s, want %s", i, rc_via_name(o.via), want);
		if (o.via == RC_VIA_HELM) {
			assert_string_equal(o.release, ks_json_str(c, "release"));
			assert_string_equal(o.release_ns, ks_json_str(c, "release_ns"));
		}
		if (o.via == RC_VIA_GITOPS) {
			assert_string_equal(o.tool, ks_json_str(c, "tool"));
			assert_string_equal(o.app, ks_json_str(c, "app"));
		}
		i++;
	}
	cJSON_Delete(cases);
}

/* A reconciler over an in-memory store; the kube client is never used by these tests. */
static struct kube_client no_kube;

static struct reconciler *new_reconciler(struct store **s, const struct reconcile_opts *extra)
{
	assert_int_equal(store_open(":memory:", s, NULL), 0);
	struct reconcile_opts o = extra ? *extra : (struct reconcile_opts){0};
	o.kube = &no_kube;
	o.store = *s;
	struct reconciler *r = NULL;
	struct ks_err err = {0};
	assert_int_equal(reconcile_new(&o, &r, &err), 0);
	return r;
}

static void intent_log(void **state)
{
	(void)state;
	struct store *s;
	struct reconciler *r = new_reconciler(&s, NULL);
	struct ks_err err = {0};
	cJSON *plan = fixture("plan_good.json");
	assert_int_equal(rc_log_plan_begin(r, "p3", plan, "alice", &err), 0);
	struct rc_intent in = {.plan_id = "p3", .step_id = "s2", .state = "intent",
			       .via = "live", .action = "secret-from-source",
			       .target = cJSON_Parse("{\"kind\":\"Secret\",\"name\":\"db\"}"),
			       .secret_before = cJSON_Parse("{\"key\":\"password\",\"had\":true,"
							    "\"b64\":\"b2xk\"}"),
			       .after_rv = "12", .after_generation = 0};
	assert_int_equal(rc_log_step(r, &in, &err), 0);
	cJSON_Delete(in.target);
	cJSON_Delete(in.secret_before);
	struct rc_intent got;
	assert_int_equal(rc_log_step_get(r, "p3", "s2", &got, &err), 0);
	assert_string_equal(got.state, "intent");
	assert_string_equal(got.after_rv, "12");
	assert_string_equal(ks_json_str(got.secret_before, "b64"), "b2xk");
	rc_intent_release(&got);
	assert_int_equal(rc_log_step_get(r, "p3", "nope", &got, &err), KS_ENOTFOUND);

	cJSON *open = NULL;
	assert_int_equal(rc_log_unfinished(r, &open, &err), 0);
	assert_int_equal(ks_json_len(open), 1);
	assert_string_equal(ks_json_str(cJSON_GetArrayItem(open, 0), "approved_by"), "alice");
	assert_string_equal(ks_json_str(ks_json_child(cJSON_GetArrayItem(open, 0), "plan"),
					"plan_id"), "p3");
	cJSON_Delete(open);
	/* The plan ends: it is not unfinished any more and the kept secret value is gone. */
	assert_int_equal(rc_log_plan_state(r, "p3", "succeeded", "", &err), 0);
	assert_int_equal(rc_log_unfinished(r, &open, &err), 0);
	assert_int_equal(ks_json_len(open), 0);
	cJSON_Delete(open);
	assert_int_equal(rc_log_step_get(r, "p3", "s2", &got, &err), 0);
	assert_null(got.secret_before);
	rc_intent_release(&got);

	cJSON *tgt = cJSON_Parse("{\"kind\":\"Deployment\",\"name\":\"web\"}");
	assert_int_equal(rc_audit_add(r, "p3", "s1", "alice", "patch", "live", tgt, NULL, NULL,
				      "applied", "", &err), 0);
	assert_int_equal(rc_audit_add(r, "p4", NULL, "bob", "plan", "-", NULL, NULL, NULL,
				      "failed", "precondition", &err), 0);
	cJSON *audit = NULL;
	assert_int_equal(reconcile_audit(r, NULL, 10, &audit, &err), 0);
	assert_int_equal(ks_json_len(audit), 2);
	assert_string_equal(ks_json_str(cJSON_GetArrayItem(audit, 0), "plan_id"), "p4");
	cJSON_Delete(audit);
	assert_int_equal(reconcile_audit(r, "p3", 10, &audit, &err), 0);
	assert_int_equal(ks_json_len(audit), 1);
	const cJSON *a = cJSON_GetArrayItem(audit, 0);
	assert_string_equal(ks_json_str(a, "actor"), "kswarm");
	assert_string_equal(ks_json_str(a, "approved_by"), "alice");
	assert_string_equal(ks_json_str(a, "target.name"), "web");
	assert_true(cJSON_IsNull(ks_json_child(a, "before")));
	cJSON_Delete(audit);
	cJSON_Delete(tgt);
	cJSON_Delete(plan);
	reconcile_free(r);
	store_close(s);
}

static void sh(const char *cmd)
{
	if (system(cmd) != 0)
		fail_msg("command failed: %s", cmd);
}

static void gitops_files(void **state)
{
	(void)state;
	char *dir = tu_mkdtemp();
	char *cmd = ks_asprintf("cd %s && git init -q && git -c user.name=t -c user.email=t@t "
				"commit -q --allow-empty -m init", dir);
	sh(cmd);
	free(cmd);
	struct store *s;
	struct reconcile_opts o = {.gitops_repo = dir, .cluster = "prod"};
	struct reconciler *r = new_reconciler(&s, &o);
	cJSON *plan = fixture("plan_good.json");
	struct rc_step st;
	assert_int_equal(rc_step_parse(cJSON_GetArrayItem(ks_json_child(plan, "steps"), 0), &st,
				       NULL), 0);
	struct rc_owner ow = {.via = RC_VIA_GITOPS, .tool = "argocd", .app = "shop"};
	cJSON *change = NULL;
	struct ks_err err = {0};
	assert_int_equal(rc_gitops_apply(r, "p3", &st, &ow, false, &change, &err), 0);
	assert_string_equal(ks_json_str(change, "file"), "kswarm/prod/shop-deployment-web.yaml");
	const char *commit = ks_json_str(change, "commit");
	assert_non_null(commit);
	assert_int_equal(strlen(commit), 40);
	char *path = ks_asprintf("%s/kswarm/prod/shop-deployment-web.yaml", dir);
	struct ks_buf b;
	ks_buf_init(&b, KS_BUF_UNLIMITED);
	assert_int_equal(ks_buf_read_file(&b, path, NULL), 0);
	assert_string_equal(b.data,
			    "# kswarm plan p3, step s1: raise web's memory limit to 256Mi\n"
			    "apiVersion: apps/v1\n"
			    "kind: Deployment\n"
			    "metadata:\n"
			    "  name: web\n"
			    "  namespace: shop\n"
			    "spec:\n"
			    "  template:\n"
			    "    spec:\n"
			    "      containers:\n"
			    "      - name: web\n"
			    "        resources:\n"
			    "          limits:\n"
			    "            memory: 256Mi\n");
	ks_buf_release(&b);
	/* The commit names the plan. */
	char *log = ks_asprintf("cd %s && git log -1 --format=%%s | grep -q '^kswarm: plan p3 "
				"step s1: Deployment shop/web$'", dir);
	sh(log);
	free(log);
	/* Again: the file holds it already, nothing is committed. */
	cJSON *again = NULL;
	assert_int_equal(rc_gitops_apply(r, "p3", &st, &ow, false, &again, &err), 0);
	assert_true(ks_json_bool_or(again, "unchanged", false));
	assert_null(ks_json_str(again, "commit"));
	cJSON_Delete(again);
	/* Rollback reverts the commit: the file is gone. */
	assert_int_equal(rc_gitops_undo(r, "p3", change, &err), 0);
	assert_int_not_equal(access(path, F_OK), 0);
	/* Without a repository: refused, nothing written. */
	free(r->gitops_repo);
	r->gitops_repo = NULL;
	assert_int_equal(rc_gitops_apply(r, "p3", &st, &ow, false, &again, &err),
			 KS_EUNSUPPORTED);
	assert_contains(err.msg, "no GitOps repository is configured");
	free(path);
	cJSON_Delete(change);
	cJSON_Delete(plan);
	reconcile_free(r);
	store_close(s);
	tu_rmtree(dir);
	free(dir);
}

static const char *LIVE_HELM =
	"{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"web\","
	"\"namespace\":\"shop\"},\"spec\":{\"replicas\":1,\"template\":{\"spec\":{\"containers\":"
	"[{\"name\":\"app\",\"image\":\"registry.k8s.io/pause:3.9\",\"resources\":{\"limits\":"
	"{\"memory\":\"64Mi\"},\"requests\":{\"memory\":\"32Mi\"}}}]}}}}";

static int helm_map(struct reconciler *r, const char *patch, cJSON **change, struct ks_err *err)
{
	char *step = ks_asprintf("{\"id\":\"s1\",\"action\":\"patch\",\"target\":{\"apiVersion\":"
				 "\"apps/v1\",\"kind\":\"Deployment\",\"namespace\":\"shop\","
				 "\"name\":\"web\"},\"patch\":%s}", patch);
	cJSON *sj = cJSON_Parse(step), *live = cJSON_Parse(LIVE_HELM), *inverse = NULL;
	struct rc_step st;
	assert_int_equal(rc_step_parse(sj, &st, NULL), 0);
	struct rc_owner ow = {.via = RC_VIA_HELM, .release = "web", .release_ns = "shop"};
	int rc = rc_helm_apply(r, &st, live, &ow, true, change, &inverse, err);
	if (!rc) {
		assert_int_equal(ks_json_int_or(inverse, "revision", 0), 3);
		assert_string_equal(ks_json_str(inverse, "release"), "web");
	}
	cJSON_Delete(inverse);
	cJSON_Delete(sj);
	cJSON_Delete(live);
	free(step);
	return rc;
}

static void helm_mapping(void **state)
{
	(void)state;
	char *fdir = ks_strdup(tu_fixture("reconcile"));
	setenv("FAKE_HELM_DIR", fdir, 1);
	char *bin = ks_asprintf("%s/fake_helm.sh", fdir);
	struct store *s;
	struct reconcile_opts o = {.helm_bin = bin};
	struct reconciler *r = new_reconciler(&s, &o);
	struct ks_err err = {0};
	cJSON *change = NULL;
	/* Two values hold "64Mi": resources.limits.memory shares more names with the path. */
	assert_int_equal(helm_map(r, "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":"
				  "\"app\",\"resources\":{\"limits\":{\"memory\":\"128Mi\"}}}]}}}}",
				  &change, &err), 0);
	assert_string_equal(cJSON_GetArrayItem(ks_json_child(change, "set"), 0)->valuestring,
			    "resources.limits.memory=\"128Mi\"");
	cJSON_Delete(change);
	/* spec.replicas is rendered from replicaCount. */
	assert_int_equal(helm_map(r, "{\"spec\":{\"replicas\":2}}", &change, &err), 0);
	assert_string_equal(cJSON_GetArrayItem(ks_json_child(change, "set"), 0)->valuestring,
			    "replicaCount=2");
	cJSON_Delete(change);
	/* The image is not one value of the release: no mapping, a clear refusal. */
	assert_int_equal(helm_map(r, "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":"
				  "\"app\",\"image\":\"pause:4\"}]}}}}", &change, &err),
			 KS_EUNSUPPORTED);
	assert_contains(err.msg, "no value of the release holds \"registry.k8s.io/pause:3.9\"");
	assert_contains(err.msg, "the next upgrade would undo it");
	/* A field the live object does not have. */
	assert_int_equal(helm_map(r, "{\"spec\":{\"minReadySeconds\":5}}", &change, &err),
			 KS_EUNSUPPORTED);
	assert_contains(err.msg, "spec.minReadySeconds has no value");
	reconcile_free(r);
	store_close(s);
	free(bin);
	free(fdir);
}

static void run_commands(void **state)
{
	(void)state;
	struct ks_buf out;
	ks_buf_init(&out, KS_BUF_UNLIMITED);
	struct ks_err err = {0};
	const char *ok[] = {"sh", "-c", "pwd; echo \"$KUBECONFIG\"", NULL};
	assert_int_equal(rc_run(ok, "/k/config", "/", NULL, &out, &err), 0);
	assert_string_equal(out.data, "/\n/k/config\n");
	ks_buf_reset(&out);
	const char *bad[] = {"sh", "-c", "echo partial; echo 'it broke' >&2; exit 3", NULL};
	assert_int_equal(rc_run(bad, NULL, NULL, NULL, &out, &err), KS_EIO);
	assert_string_equal(err.msg, "sh -c echo partial; echo 'it broke' >&2; exit 3: exit "
				     "status 3: it broke");
	const char *none[] = {"kswarm-no-such-command", NULL};
	assert_int_equal(rc_run(none, NULL, NULL, NULL, NULL, &err), KS_EIO);
	assert_contains(err.msg, "kswarm-no-such-command");
	/* The output ceiling. */
	struct ks_buf small;
	ks_buf_init(&small, 4);
	const char *big[] = {"sh", "-c", "echo 0123456789", NULL};
	assert_int_equal(rc_run(big, NULL, NULL, NULL, &small, &err), KS_ETOOBIG);
	ks_buf_release(&small);
	ks_buf_release(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(good_plan),    cmocka_unit_test(bad_plans),
		cmocka_unit_test(fingerprints), cmocka_unit_test(diffs),
		cmocka_unit_test(secret_diffs), cmocka_unit_test(inverses),
		cmocka_unit_test(owners),
		cmocka_unit_test(intent_log),   cmocka_unit_test(gitops_files),
		cmocka_unit_test(helm_mapping), cmocka_unit_test(run_commands),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
