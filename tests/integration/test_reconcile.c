/* test_reconcile.c — the reconciler against the real control plane (namespaces rc-*-PID):
 * patch + verify + succeed, an idempotent re-run, a regression rolled back to the exact
 * previous object, refused preconditions, kill -9 mid-plan then reconcile_resume, a
 * Helm-owned Deployment changed through `helm upgrade` (and rolled back with `helm
 * rollback`), a GitOps-owned object changed by a commit only, and a Secret set from the
 * simulator's Vault with a planted password that must appear nowhere. */
#include "itest.h"

#include "base/base64.h"
#include "kube/apply.h"
#include "reconcile/internal.h"
#include "sim/vault.h"
#include "store/store.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char ns[64];
static struct kube_client c;
static const struct kube_resource DEPLOY = {"apps", "v1", "deployments", "Deployment",
					    "deployment", true, ""};
static const struct kube_resource CM = {"", "v1", "configmaps", "ConfigMap", "configmap",
					true, ""};

/* Every event's kind, text and body, for sequence and secrecy checks. */
struct events {
	struct ks_buf kinds, all;
	void (*hook)(const struct reconcile_event *ev); /* called after recording, or NULL */
};

static void on_event(void *ctx, const struct reconcile_event *ev)
{
	struct events *e = ctx;
	static const char *const names[] = {"started", "done", "verification", "rollback",
					    "outcome"};
	ks_buf_appendf(&e->kinds, "%s%s%s", e->kinds.len ? " " : "", names[ev->kind],
		       ev->kind == RECONCILE_VERIFICATION || ev->kind == RECONCILE_ROLLBACK
			       ? (ev->ok ? "+" : "-") : "");
	char *body = ev->body ? cJSON_PrintUnformatted(ev->body) : NULL;
	ks_buf_appendf(&e->all, "%s %s %s\n", ev->text ? ev->text : "", body ? body : "",
		       ev->result ? ev->result : "");
	cJSON_free(body);
	if (e->hook)
		e->hook(ev);
}

struct fixture {
	struct store *store;
	struct reconciler *r;
	struct events ev;
	char *dir;
};

/* A reconciler (with extra options) on the store s in the temporary directory dir; both
 * become the fixture's (fx_close). */
static void fx_adopt(struct fixture *f, struct store *s, char *dir,
		     const struct reconcile_opts *extra)
{
	f->dir = dir;
	f->store = s;
	struct ks_err err = {0};
	ks_buf_init(&f->ev.kinds, KS_BUF_UNLIMITED);
	ks_buf_init(&f->ev.all, KS_BUF_UNLIMITED);
	struct reconcile_opts o = extra ? *extra : (struct reconcile_opts){0};
	o.kube = &c;
	o.store = f->store;
	o.kubeconfig = tu_kubeconfig();
	o.poll_ms = 250;
	o.on_event = on_event;
	o.ctx = &f->ev;
	assert_rc(reconcile_new(&o, &f->r, &err), 0, &err);
}

static void fx_open(struct fixture *f, const struct reconcile_opts *extra)
{
	char *dir = tu_mkdtemp();
	char *path = ks_asprintf("%s/kswarm.db", dir);
	struct store *s = NULL;
	struct ks_err err = {0};
	assert_rc(store_open(path, &s, &err), 0, &err);
	free(path);
	fx_adopt(f, s, dir, extra);
}

static void fx_reset_events(struct fixture *f)
{
	ks_buf_reset(&f->ev.kinds);
	ks_buf_reset(&f->ev.all);
	ks_buf_appendstr(&f->ev.kinds, "");
	ks_buf_appendstr(&f->ev.all, "");
}

static void fx_close(struct fixture *f)
{
	reconcile_free(f->r);
	store_close(f->store);
	ks_buf_release(&f->ev.kinds);
	ks_buf_release(&f->ev.all);
	tu_rmtree(f->dir);
	free(f->dir);
}

static cJSON *get(const struct kube_resource *res, const char *name)
{
	cJSON *o = NULL;
	struct ks_err err = {0};
	assert_rc(kube_get(&c, res, ns, name, &o, &err), 0, &err);
	return o;
}

static void create(const struct kube_resource *res, const char *json)
{
	cJSON *o = it_parse(json);
	struct ks_err err = {0};
	assert_rc(kube_create(&c, res, ns, o, NULL, &err), 0, &err);
	cJSON_Delete(o);
}

static void create_deploy(const char *name, int replicas)
{
	char *s = ks_asprintf(
		"{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"%s\","
		"\"labels\":{\"app\":\"%s\"},\"annotations\":{\"team\":\"shop\"}},\"spec\":"
		"{\"replicas\":%d,\"selector\":{\"matchLabels\":{\"app\":\"%s\"}},\"template\":"
		"{\"metadata\":{\"labels\":{\"app\":\"%s\"}},\"spec\":{\"containers\":[{\"name\":"
		"\"app\",\"image\":\"registry.k8s.io/pause:3.9\",\"resources\":{\"limits\":"
		"{\"memory\":\"64Mi\"}}}]}}}}", name, name, replicas, name, name);
	create(&DEPLOY, s);
	free(s);
}

/* The object once its controller has caught up (so its resourceVersion holds still). */
static cJSON *get_settled(const struct kube_resource *res, const char *name)
{
	for (int i = 0; i < 100; i++) {
		cJSON *o = get(res, name);
		if (ks_json_int_or(o, "status.observedGeneration", -1) ==
		    ks_json_int_or(o, "metadata.generation", 0)) {
			cJSON_Delete(o);
			usleep(500000);
			return get(res, name);
		}
		cJSON_Delete(o);
		usleep(100000);
	}
	fail_msg("%s did not settle", name);
	return NULL;
}

static cJSON *plan_of(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static cJSON *plan_of(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = ks_vasprintf(fmt, ap);
	va_end(ap);
	cJSON *p = it_parse(s);
	free(s);
	return p;
}

static const char *execute(struct fixture *f, const cJSON *plan)
{
	const char *result = NULL;
	struct ks_err err = {0};
	assert_rc(reconcile_execute(f->r, plan, "alice", &result, &err), 0, &err);
	return result;
}

static const char *step_state(struct fixture *f, const char *plan, const char *step,
			      char *buf, size_t n)
{
	struct rc_intent in;
	struct ks_err err = {0};
	assert_rc(rc_log_step_get(f->r, plan, step, &in, &err), 0, &err);
	snprintf(buf, n, "%s", in.state);
	rc_intent_release(&in);
	return buf;
}

/* ---- live patches ---- */

static void patch_verify_succeed_and_rerun(void **state)
{
	(void)state;
	struct fixture f = {0};
	fx_open(&f, NULL);
	create_deploy("web", 0);
	cJSON *before = get_settled(&DEPLOY, "web");
	cJSON *plan = plan_of(
		"{\"plan_id\":\"p-ok\",\"risk\":\"low\",\"steps\":[{\"id\":\"s1\",\"action\":"
		"\"patch\",\"target\":{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\","
		"\"namespace\":\"%s\",\"name\":\"web\",\"uid\":\"%s\"},\"patch\":{\"spec\":"
		"{\"template\":{\"spec\":{\"containers\":[{\"name\":\"app\",\"resources\":"
		"{\"limits\":{\"memory\":\"128Mi\"}}}]}}}},\"preconditions\":{\"resourceVersion\":"
		"\"%s\",\"fields\":[{\"path\":\"spec.replicas\",\"equals\":0}]},\"verify\":"
		"{\"checks\":[\"rollout\",\"pods-ready\"],\"timeout_s\":60}}]}",
		ns, ks_json_str(before, "metadata.uid"),
		ks_json_str(before, "metadata.resourceVersion"));
	/* The dry run shows the change and changes nothing. */
	cJSON *dry = NULL;
	struct ks_err err = {0};
	assert_rc(reconcile_dry_run(f.r, plan, &dry, &err), 0, &err);
	const cJSON *ds = cJSON_GetArrayItem(ks_json_child(dry, "steps"), 0);
	assert_string_equal(ks_json_str(ds, "via"), "live");
	assert_contains(ks_json_str(ds, "diff"), "+ spec.template.spec.containers[0].resources."
						 "limits.memory: \"128Mi\"");
	assert_int_equal(ks_json_len(ks_json_child(ds, "changes")), 1);
	cJSON_Delete(dry);
	cJSON *still = get(&DEPLOY, "web");
	assert_int_equal(ks_json_int_or(still, "metadata.generation", 0),
			 ks_json_int_or(before, "metadata.generation", 0));
	cJSON_Delete(still);

	int64_t t0 = ks_mono_ms();
	assert_string_equal(execute(&f, plan), "succeeded");
	print_message("plan p-ok (1 step, apply + rollout verified): %lld ms\n",
		      (long long)(ks_mono_ms() - t0));
	assert_string_equal(f.ev.kinds.data, "started done verification+ outcome");
	/* The step_done event says what changed. */
	assert_contains(f.ev.all.data, "\"changes\":[{\"path\":\"spec.template.spec.containers[0]"
				       ".resources.limits.memory\",\"before\":\"64Mi\",\"after\":"
				       "\"128Mi\"}]");
	cJSON *after = get(&DEPLOY, "web");
	const cJSON *ctr = cJSON_GetArrayItem(ks_json_get(after, "spec.template.spec.containers"),
					      0);
	assert_string_equal(ks_json_str(ctr, "resources.limits.memory"), "128Mi");
	int64_t gen = ks_json_int_or(after, "metadata.generation", 0);
	assert_int_equal(gen, ks_json_int_or(before, "metadata.generation", 0) + 1);
	char st[32];
	assert_string_equal(step_state(&f, "p-ok", "s1", st, sizeof st), "verified");

	/* Re-run: a no-op recorded as already applied (the resourceVersion precondition is
	 * stale now, but the object already has the change). */
	fx_reset_events(&f);
	t0 = ks_mono_ms();
	assert_string_equal(execute(&f, plan), "succeeded");
	print_message("re-run of p-ok (already applied): %lld ms\n",
		      (long long)(ks_mono_ms() - t0));
	assert_contains(f.ev.all.data, "already applied");
	cJSON *again = get(&DEPLOY, "web");
	assert_int_equal(ks_json_int_or(again, "metadata.generation", 0), gen);
	assert_string_equal(step_state(&f, "p-ok", "s1", st, sizeof st), "already_applied");

	/* The audit: the approval, the change, the re-run. */
	cJSON *audit = NULL;
	assert_rc(reconcile_audit(f.r, "p-ok", 50, &audit, &err), 0, &err);
	char *as = tu_json(audit);
	assert_contains(as, "\"approved_by\":\"alice\"");
	assert_contains(as, "\"result\":\"applied\"");
	assert_contains(as, "\"result\":\"already applied\"");
	assert_contains(as, "\"result\":\"succeeded\"");
	free(as);
	cJSON_Delete(audit);
	cJSON_Delete(again);
	cJSON_Delete(after);
	cJSON_Delete(before);
	cJSON_Delete(plan);
	fx_close(&f);
}

/* The content a rollback must restore: spec, labels, annotations (but the controller's
 * revision counter). */
static void assert_same_object(const cJSON *a, const cJSON *b)
{
	assert_true(cJSON_Compare(ks_json_get(a, "spec"), ks_json_get(b, "spec"), true));
	assert_true(cJSON_Compare(ks_json_get(a, "metadata.labels"),
				  ks_json_get(b, "metadata.labels"), true));
	cJSON *aa = cJSON_Duplicate(ks_json_get(a, "metadata.annotations"), true);
	cJSON *ba = cJSON_Duplicate(ks_json_get(b, "metadata.annotations"), true);
	cJSON_DeleteItemFromObjectCaseSensitive(aa, "deployment.kubernetes.io/revision");
	cJSON_DeleteItemFromObjectCaseSensitive(ba, "deployment.kubernetes.io/revision");
	assert_true(cJSON_Compare(aa, ba, true));
	cJSON_Delete(aa);
	cJSON_Delete(ba);
}

static void regression_rolls_back(void **state)
{
	(void)state;
	struct fixture f = {0};
	fx_open(&f, NULL);
	create_deploy("bad", 1);
	create(&CM, "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":"
		    "\"bad-cfg\"},\"data\":{\"mode\":\"safe\"}}");
	cJSON *before = get(&DEPLOY, "bad"), *cm_before = get(&CM, "bad-cfg");
	/* Step 1 changes a ConfigMap (fine), step 2 gives the pods a node selector no node
	 * has: the rollout cannot complete, the deadline passes, both are undone. */
	cJSON *plan = plan_of(
		"{\"plan_id\":\"p-bad\",\"risk\":\"medium\",\"steps\":[{\"id\":\"s1\",\"action\":"
		"\"patch\",\"patch_type\":\"merge\",\"target\":{\"apiVersion\":\"v1\",\"kind\":"
		"\"ConfigMap\",\"namespace\":\"%s\",\"name\":\"bad-cfg\"},\"patch\":{\"data\":"
		"{\"mode\":\"fast\",\"extra\":\"1\"}}},{\"id\":\"s2\",\"action\":\"patch\","
		"\"target\":{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"namespace\":"
		"\"%s\",\"name\":\"bad\"},\"patch\":{\"spec\":{\"template\":{\"spec\":"
		"{\"nodeSelector\":{\"kswarm.test/none\":\"true\"}}}}},\"verify\":{\"checks\":"
		"[\"rollout\"],\"timeout_s\":4}}]}", ns, ns);
	assert_string_equal(execute(&f, plan), "rolled_back");
	assert_string_equal(f.ev.kinds.data, "started done verification+ started done "
					     "verification- rollback+ rollback+ rollback+ outcome");
	assert_contains(f.ev.all.data, "not healthy within 4 s");
	cJSON *after = get(&DEPLOY, "bad"), *cm_after = get(&CM, "bad-cfg");
	assert_same_object(before, after);
	assert_null(ks_json_get(after, "spec.template.spec.nodeSelector"));
	assert_true(cJSON_Compare(ks_json_get(cm_before, "data"), ks_json_get(cm_after, "data"),
				  true));
	char st[32];
	assert_string_equal(step_state(&f, "p-bad", "s1", st, sizeof st), "rolled_back");
	assert_string_equal(step_state(&f, "p-bad", "s2", st, sizeof st), "rolled_back");
	cJSON_Delete(after);
	cJSON_Delete(cm_after);
	cJSON_Delete(before);
	cJSON_Delete(cm_before);
	cJSON_Delete(plan);
	fx_close(&f);
}

static void preconditions_refuse(void **state)
{
	(void)state;
	struct fixture f = {0};
	fx_open(&f, NULL);
	create_deploy("pre", 0);
	cJSON *before = get(&DEPLOY, "pre");
#define PRE_PLAN                                                                              \
	"{\"plan_id\":\"%s\",\"steps\":[{\"id\":\"s1\",\"action\":\"restart\",\"target\":"     \
	"{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"namespace\":\"%s\","            \
	"\"name\":\"pre\"},\"preconditions\":%s}]}"
	static const char *const cases[][3] = {
		{"p-rv", "{\"resourceVersion\":\"1\"}", "is at resourceVersion"},
		{"p-uid", "{\"uid\":\"00000000-0000-0000-0000-000000000000\"}", "has uid"},
		{"p-field", "{\"fields\":[{\"path\":\"spec.replicas\",\"equals\":5}]}",
		 "field spec.replicas is 0, the plan expects 5"},
	};
	for (size_t i = 0; i < KS_ARRAY_LEN(cases); i++) {
		fx_reset_events(&f);
		cJSON *plan = plan_of(PRE_PLAN, cases[i][0], ns, cases[i][1]);
		assert_string_equal(execute(&f, plan), "failed");
		assert_contains(f.ev.all.data, cases[i][2]);
		assert_string_equal(f.ev.kinds.data, "started done outcome");
		cJSON_Delete(plan);
	}
	cJSON *after = get(&DEPLOY, "pre");
	assert_int_equal(ks_json_int_or(after, "metadata.generation", 0),
			 ks_json_int_or(before, "metadata.generation", 0));
	assert_same_object(before, after);
	cJSON_Delete(after);
	cJSON_Delete(before);
	fx_close(&f);
}

/* Someone else writes the ConfigMap right after step s1 is done. */
static const char *other_write;

static void write_after_s1(const struct reconcile_event *ev)
{
	if (ev->kind != RECONCILE_STEP_DONE || strcmp(ev->step_id, "s1") != 0)
		return;
	struct ks_err err = {0};
	struct kube_patch_opts po = {.type = KUBE_PATCH_MERGE, .field_manager = "someone"};
	assert_rc(kube_patch(&c, &CM, ns, "shared-cfg", other_write, strlen(other_write), &po,
			     NULL, &err), 0, &err);
}

static void rollback_respects_others(void **state)
{
	(void)state;
	struct fixture f = {0};
	fx_open(&f, NULL);
	f.ev.hook = write_after_s1;
	create(&CM, "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":"
		    "\"shared-cfg\"},\"data\":{\"mode\":\"safe\",\"other\":\"x\"}}");
	/* s2's precondition fails: s1 is rolled back. */
	cJSON *plan = plan_of(
		"{\"plan_id\":\"p-shared\",\"steps\":[{\"id\":\"s1\",\"action\":\"patch\","
		"\"patch_type\":\"merge\",\"target\":{\"apiVersion\":\"v1\",\"kind\":"
		"\"ConfigMap\",\"namespace\":\"%s\",\"name\":\"shared-cfg\"},\"patch\":"
		"{\"data\":{\"mode\":\"fast\",\"added\":\"1\"}}},{\"id\":\"s2\",\"action\":"
		"\"patch\",\"patch_type\":\"merge\",\"target\":{\"apiVersion\":\"v1\","
		"\"kind\":\"ConfigMap\",\"namespace\":\"%s\",\"name\":\"shared-cfg\"},"
		"\"patch\":{\"data\":{\"z\":\"1\"}},\"preconditions\":{\"fields\":[{\"path\":"
		"\"data.mode\",\"equals\":\"never\"}]}}]}", ns, ns);
	/* Their change elsewhere is kept; ours is undone. */
	other_write = "{\"data\":{\"other\":\"theirs\"}}";
	assert_string_equal(execute(&f, plan), "rolled_back");
	cJSON *cm = get(&CM, "shared-cfg");
	char *data = tu_json(ks_json_get(cm, "data"));
	assert_string_equal(data, "{\"mode\":\"safe\",\"other\":\"theirs\"}");
	free(data);
	cJSON_Delete(cm);
	/* Their change to what we changed: not rolled over, the plan fails and says why. */
	fx_reset_events(&f);
	other_write = "{\"data\":{\"mode\":\"manual\"}}";
	assert_string_equal(execute(&f, plan), "failed");
	assert_contains(f.ev.all.data, "was changed again by someone else");
	cm = get(&CM, "shared-cfg");
	assert_string_equal(ks_json_str(cm, "data.mode"), "manual");
	assert_string_equal(ks_json_str(cm, "data.added"), "1");
	cJSON_Delete(cm);
	cJSON_Delete(plan);
	fx_close(&f);
}

/* ---- kill -9 mid-plan ---- */

/* Fork a child that executes plan_json against the store at path, stalling 2 s after each
 * intent and after deciding to roll back; kill -9 it once until(store) says so. Returns
 * the parent's store on that file. */
static struct store *run_and_kill(const char *path, const char *plan_json,
				  bool (*until)(struct reconciler *r))
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		setenv("KSWARM_RECONCILE_STALL_MS", "2000", 1);
		struct kube_client cc;
		it_connect(&cc, NULL, 100);
		struct store *s = NULL;
		struct reconciler *r = NULL;
		struct ks_err err = {0};
		if (store_open(path, &s, &err))
			_exit(2);
		struct reconcile_opts o = {.kube = &cc, .store = s, .poll_ms = 200};
		if (reconcile_new(&o, &r, &err))
			_exit(3);
		cJSON *plan = cJSON_Parse(plan_json);
		const char *result;
		reconcile_execute(r, plan, "alice", &result, &err);
		_exit(0); /* not reached in time: killed while stalled */
	}
	struct store *s = NULL;
	struct ks_err err = {0};
	int64_t deadline = ks_mono_ms() + 60000;
	bool seen = false;
	while (!seen && ks_mono_ms() < deadline) {
		usleep(50000);
		if (!s && access(path, F_OK) == 0 && store_open(path, &s, &err))
			s = NULL;
		if (!s)
			continue;
		struct reconcile_opts o = {.kube = &c, .store = s};
		struct reconciler *r = NULL;
		assert_rc(reconcile_new(&o, &r, &err), 0, &err);
		seen = until(r);
		reconcile_free(r);
	}
	assert_true(seen);
	kill(pid, SIGKILL);
	int wst;
	waitpid(pid, &wst, 0);
	assert_true(WIFSIGNALED(wst) && WTERMSIG(wst) == SIGKILL);
	return s;
}

static bool s2_intent(struct reconciler *r)
{
	struct rc_intent in;
	bool yes = false;
	if (!rc_log_step_get(r, "p-crash", "s2", &in, NULL)) {
		yes = strcmp(in.state, "intent") == 0;
		rc_intent_release(&in);
	}
	return yes;
}

static bool rolling_back(struct reconciler *r)
{
	cJSON *open = NULL;
	bool yes = false;
	if (!rc_log_unfinished(r, &open, NULL) && ks_json_len(open) == 1)
		yes = strcmp(ks_json_str_or(cJSON_GetArrayItem(open, 0), "state", ""),
			     "rolling_back") == 0;
	cJSON_Delete(open);
	return yes;
}

static void kill_and_resume(void **state)
{
	(void)state;
	create_deploy("crash", 0);
	create(&CM, "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":"
		    "\"crash-cfg\"},\"data\":{\"n\":\"0\"}}");
	cJSON *d0 = get(&DEPLOY, "crash");
	int64_t gen0 = ks_json_int_or(d0, "metadata.generation", 0);
	char *dir = tu_mkdtemp();
	char *path = ks_asprintf("%s/kswarm.db", dir);
	char *plan_s = ks_asprintf(
		"{\"plan_id\":\"p-crash\",\"steps\":[{\"id\":\"s1\",\"action\":\"restart\","
		"\"target\":{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"namespace\":"
		"\"%s\",\"name\":\"crash\"},\"verify\":{\"checks\":[\"rollout\"],\"timeout_s\":"
		"30}},{\"id\":\"s2\",\"action\":\"patch\",\"patch_type\":\"merge\",\"target\":"
		"{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"namespace\":\"%s\",\"name\":"
		"\"crash-cfg\"},\"patch\":{\"data\":{\"n\":\"1\"}}}]}", ns, ns);
	/* Killed while s2's intent stalls (s1 applied and verified). */
	struct store *s = run_and_kill(path, plan_s, s2_intent);
	struct ks_err err = {0};
	cJSON *cm_mid = get(&CM, "crash-cfg");
	assert_string_equal(ks_json_str(cm_mid, "data.n"), "0"); /* s2 never reached the cluster */
	cJSON_Delete(cm_mid);

	/* Restart: resume finishes the plan, applying s2 once and s1 not again. */
	struct fixture f = {0};
	fx_adopt(&f, s, dir, NULL);
	int resumed = 0;
	assert_rc(reconcile_resume(f.r, &resumed, &err), 0, &err);
	assert_int_equal(resumed, 1);
	assert_string_equal(f.ev.kinds.data, "started done verification+ outcome");
	assert_contains(f.ev.all.data, "Plan p-crash succeeded");
	cJSON *d1 = get(&DEPLOY, "crash"), *cm1 = get(&CM, "crash-cfg");
	assert_int_equal(ks_json_int_or(d1, "metadata.generation", 0), gen0 + 1);
	assert_string_equal(ks_json_str(cm1, "data.n"), "1");
	struct rc_intent in;
	assert_rc(rc_log_step_get(f.r, "p-crash", "s1", &in, &err), 0, &err);
	const cJSON *ann = ks_json_get(d1, "spec.template.metadata.annotations");
	const cJSON *at = ks_json_child(ann, "kubectl.kubernetes.io/restartedAt");
	assert_true(cJSON_IsString(at));
	assert_string_equal(ks_json_str(in.change, "restarted_at"), at->valuestring);
	rc_intent_release(&in);
	/* Nothing more to resume. */
	assert_rc(reconcile_resume(f.r, &resumed, &err), 0, &err);
	assert_int_equal(resumed, 0);
	cJSON_Delete(d0);
	cJSON_Delete(d1);
	cJSON_Delete(cm1);
	fx_close(&f);
	free(plan_s);
	free(path);
}

static void kill_during_rollback(void **state)
{
	(void)state;
	create(&CM, "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":"
		    "\"rb-a\"},\"data\":{\"v\":\"a0\"}}");
	create(&CM, "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":"
		    "\"rb-b\"},\"data\":{\"v\":\"b0\"}}");
	char *dir = tu_mkdtemp();
	char *path = ks_asprintf("%s/kswarm.db", dir);
	/* s2 asks for no-findings with no findings source: it cannot verify, both roll back. */
	char *plan_s = ks_asprintf(
		"{\"plan_id\":\"p-rb\",\"steps\":[{\"id\":\"s1\",\"action\":\"patch\","
		"\"patch_type\":\"merge\",\"target\":{\"apiVersion\":\"v1\",\"kind\":"
		"\"ConfigMap\",\"namespace\":\"%s\",\"name\":\"rb-a\"},\"patch\":{\"data\":"
		"{\"v\":\"a1\"}}},{\"id\":\"s2\",\"action\":\"patch\",\"patch_type\":"
		"\"merge\",\"target\":{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\","
		"\"namespace\":\"%s\",\"name\":\"rb-b\"},\"patch\":{\"data\":{\"v\":"
		"\"b1\"}},\"verify\":{\"checks\":[\"no-findings\"]}}]}", ns, ns);
	struct store *s = run_and_kill(path, plan_s, rolling_back);
	cJSON *a = get(&CM, "rb-a"), *b = get(&CM, "rb-b");
	assert_string_equal(ks_json_str(a, "data.v"), "a1"); /* killed before any undo */
	assert_string_equal(ks_json_str(b, "data.v"), "b1");
	cJSON_Delete(a);
	cJSON_Delete(b);
	struct fixture f = {0};
	struct ks_err err = {0};
	fx_adopt(&f, s, dir, NULL);
	int resumed = 0;
	assert_rc(reconcile_resume(f.r, &resumed, &err), 0, &err);
	assert_int_equal(resumed, 1);
	assert_string_equal(f.ev.kinds.data, "rollback+ rollback+ rollback+ outcome");
	a = get(&CM, "rb-a");
	b = get(&CM, "rb-b");
	assert_string_equal(ks_json_str(a, "data.v"), "a0");
	assert_string_equal(ks_json_str(b, "data.v"), "b0");
	cJSON_Delete(a);
	cJSON_Delete(b);
	cJSON *open = NULL;
	assert_rc(rc_log_unfinished(f.r, &open, &err), 0, &err);
	assert_int_equal(ks_json_len(open), 0);
	cJSON_Delete(open);
	cJSON *audit = NULL;
	assert_rc(reconcile_audit(f.r, "p-rb", 1, &audit, &err), 0, &err);
	assert_string_equal(ks_json_str(cJSON_GetArrayItem(audit, 0), "result"), "rolled_back");
	cJSON_Delete(audit);
	fx_close(&f);
	free(plan_s);
	free(path);
}

/* ---- Helm ---- */

static const char *helm_bin(void)
{
	const char *h = getenv("KSWARM_TEST_HELM");
	return h && *h ? h : "helm";
}

static void run_helm(const char *args)
{
	char *cmd = ks_asprintf("KUBECONFIG='%s' '%s' %s >/dev/null", tu_kubeconfig(), helm_bin(),
				args);
	if (system(cmd) != 0)
		fail_msg("failed: %s", cmd);
	free(cmd);
}

static cJSON *helm_json(const char *what, const char *release)
{
	char *cmd = ks_asprintf("KUBECONFIG='%s' '%s' %s %s -n %s -o json", tu_kubeconfig(),
				helm_bin(), what, release, ns);
	FILE *p = popen(cmd, "r");
	char buf[65536];
	size_t n = fread(buf, 1, sizeof buf - 1, p);
	buf[n] = '\0';
	pclose(p);
	free(cmd);
	return it_parse(buf);
}

static void helm_owned(void **state)
{
	(void)state;
	struct fixture f = {0};
	struct reconcile_opts ho = {.helm_bin = helm_bin()};
	fx_open(&f, &ho);
	char *args = ks_asprintf("install tiny %s -n %s --set replicaCount=0",
				 tu_fixture("reconcile/chart"), ns);
	run_helm(args);
	free(args);
	cJSON *plan = plan_of(
		"{\"plan_id\":\"p-helm\",\"steps\":[{\"id\":\"s1\",\"action\":\"patch\",\"target\":"
		"{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"namespace\":\"%s\",\"name\":"
		"\"tiny\"},\"patch\":{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":"
		"\"app\",\"resources\":{\"limits\":{\"memory\":\"128Mi\"}}}]}}}},\"verify\":"
		"{\"checks\":[\"rollout\"],\"timeout_s\":60}}]}", ns);
	assert_string_equal(execute(&f, plan), "succeeded");
	assert_contains(f.ev.all.data, "applied (helm)");
	cJSON *d = get(&DEPLOY, "tiny");
	const cJSON *ctr = cJSON_GetArrayItem(ks_json_get(d, "spec.template.spec.containers"), 0);
	assert_string_equal(ks_json_str(ctr, "resources.limits.memory"), "128Mi");
	cJSON_Delete(d);
	/* In the release: the next upgrade keeps it. */
	cJSON *v = helm_json("get values", "tiny");
	assert_string_equal(ks_json_str(v, "resources.limits.memory"), "128Mi");
	assert_int_equal(ks_json_int_or(v, "replicaCount", -1), 0);
	cJSON_Delete(v);
	/* Re-run: already in the release, no new revision. */
	cJSON *hs = helm_json("status", "tiny");
	int64_t rev = ks_json_int_or(hs, "version", 0);
	assert_int_equal(rev, 2);
	cJSON_Delete(hs);
	fx_reset_events(&f);
	assert_string_equal(execute(&f, plan), "succeeded");
	assert_contains(f.ev.all.data, "already applied");
	hs = helm_json("status", "tiny");
	assert_int_equal(ks_json_int_or(hs, "version", 0), rev);
	cJSON_Delete(hs);
	cJSON_Delete(plan);

	/* A regression through the release: helm rollback to the revision before. */
	fx_reset_events(&f);
	plan = plan_of("{\"plan_id\":\"p-helm2\",\"steps\":[{\"id\":\"s1\",\"action\":\"patch\","
		       "\"target\":{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\","
		       "\"namespace\":\"%s\",\"name\":\"tiny\"},\"patch\":{\"spec\":{\"replicas\":"
		       "2}},\"verify\":{\"checks\":[\"rollout\"],\"timeout_s\":3}}]}", ns);
	assert_string_equal(execute(&f, plan), "rolled_back");
	v = helm_json("get values", "tiny");
	assert_int_equal(ks_json_int_or(v, "replicaCount", -1), 0);
	assert_string_equal(ks_json_str(v, "resources.limits.memory"), "128Mi");
	cJSON_Delete(v);
	d = get(&DEPLOY, "tiny");
	assert_int_equal(ks_json_int_or(d, "spec.replicas", -1), 0);
	cJSON_Delete(d);
	cJSON_Delete(plan);

	/* No mapping: refused with the reason, nothing changed live. */
	fx_reset_events(&f);
	plan = plan_of("{\"plan_id\":\"p-helm3\",\"steps\":[{\"id\":\"s1\",\"action\":\"patch\","
		       "\"target\":{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\","
		       "\"namespace\":\"%s\",\"name\":\"tiny\"},\"patch\":{\"spec\":"
		       "{\"minReadySeconds\":7}}}]}", ns);
	assert_string_equal(execute(&f, plan), "failed");
	assert_contains(f.ev.all.data, "the next upgrade would undo it");
	d = get(&DEPLOY, "tiny");
	assert_int_equal(ks_json_int_or(d, "spec.minReadySeconds", 0), 0);
	cJSON_Delete(d);
	cJSON_Delete(plan);
	args = ks_asprintf("uninstall tiny -n %s", ns);
	run_helm(args);
	free(args);
	fx_close(&f);
}

/* ---- GitOps ---- */

static void gitops_owned(void **state)
{
	(void)state;
	char *repo = tu_mkdtemp();
	char *cmd = ks_asprintf("cd %s && git init -q && git -c user.name=t -c user.email=t@t "
				"commit -q --allow-empty -m init", repo);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	struct fixture f = {0};
	struct reconcile_opts go = {.gitops_repo = repo, .cluster = "local"};
	fx_open(&f, &go);
	create(&CM, "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":"
		    "\"argo-cfg\",\"annotations\":{\"argocd.argoproj.io/tracking-id\":"
		    "\"shop:/ConfigMap:x/argo-cfg\"}},\"data\":{\"mode\":\"safe\"}}");
	cJSON *before = get(&CM, "argo-cfg");
	cJSON *plan = plan_of("{\"plan_id\":\"p-git\",\"steps\":[{\"id\":\"s1\",\"action\":"
			      "\"patch\",\"patch_type\":\"merge\",\"target\":{\"apiVersion\":"
			      "\"v1\",\"kind\":\"ConfigMap\",\"namespace\":\"%s\",\"name\":"
			      "\"argo-cfg\"},\"patch\":{\"data\":{\"mode\":\"fast\"}},"
			      "\"summary\":\"faster mode\"}]}", ns);
	assert_string_equal(execute(&f, plan), "succeeded");
	cJSON *after = get(&CM, "argo-cfg");
	assert_string_equal(ks_json_str(after, "metadata.resourceVersion"),
			    ks_json_str(before, "metadata.resourceVersion"));
	char *file = ks_asprintf("%s/kswarm/local/%s-configmap-argo-cfg.yaml", repo, ns);
	struct ks_buf b;
	ks_buf_init(&b, KS_BUF_UNLIMITED);
	assert_int_equal(ks_buf_read_file(&b, file, NULL), 0);
	assert_contains(b.data, "data:\n  mode: fast\n");
	ks_buf_release(&b);
	cmd = ks_asprintf("cd %s && git log -1 --format=%%s | grep -q 'plan p-git step s1'", repo);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	free(file);
	cJSON_Delete(before);
	cJSON_Delete(after);
	cJSON_Delete(plan);
	fx_close(&f);
	tu_rmtree(repo);
	free(repo);
}

/* ---- a Secret from Vault ---- */

#define PLANTED "hunter2-planted-Zq81"

static void assert_no_secret(const char *where, const char *s)
{
	char *b64 = ks_base64_encode(PLANTED, strlen(PLANTED), NULL);
	if (s && (strstr(s, PLANTED) || strstr(s, b64)))
		fail_msg("the planted password reached %s: %s", where, s);
	free(b64);
}

static void vault_secret(void **state)
{
	(void)state;
	struct sim_vault_opts vo = {.root_token = "root-token-t"};
	struct sim_vault *v = NULL;
	struct ks_err err = {0};
	assert_rc(sim_vault_start(&vo, &v, &err), 0, &err);
	cJSON *data = it_parse("{\"password\":\"" PLANTED "\",\"user\":\"app\"}");
	assert_rc(sim_vault_put(v, "secret", "payments/db", data, NULL, &err), 0, &err);
	cJSON_Delete(data);
	char addr[64];
	snprintf(addr, sizeof addr, "http://127.0.0.1:%u", (unsigned)sim_vault_port(v));
	struct fixture f = {0};
	struct reconcile_opts so = {.vault_addr = addr, .vault_token = "root-token-t"};
	fx_open(&f, &so);
	create(&KUBE_RES_SECRETS, "{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":"
				  "{\"name\":\"db-secret\"},\"data\":{\"password\":"
				  "\"b2xkLXBhc3N3b3Jk\",\"user\":\"YXBw\"}}");
	cJSON *plan = plan_of(
		"{\"plan_id\":\"p-sec\",\"steps\":[{\"id\":\"s1\",\"action\":"
		"\"secret-from-source\","
		"\"target\":{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"namespace\":\"%s\","
		"\"name\":\"db-secret\"},\"secret\":{\"key\":\"password\",\"source\":{\"type\":"
		"\"vault\",\"mount\":\"secret\",\"path\":\"payments/db\",\"field\":"
		"\"password\"}}}]}",
		ns);
	cJSON *dry = NULL;
	assert_rc(reconcile_dry_run(f.r, plan, &dry, &err), 0, &err);
	char *drys = tu_json(dry);
	assert_no_secret("the dry run", drys);
	char fp[24];
	reconcile_fingerprint(PLANTED, strlen(PLANTED), fp);
	assert_contains(drys, fp);
	free(drys);
	cJSON_Delete(dry);

	assert_string_equal(execute(&f, plan), "succeeded");
	cJSON *sec = get(&KUBE_RES_SECRETS, "db-secret");
	char *want = ks_base64_encode(PLANTED, strlen(PLANTED), NULL);
	assert_string_equal(ks_json_str(sec, "data.password"), want);
	assert_string_equal(ks_json_str(sec, "data.user"), "YXBw");
	free(want);
	cJSON_Delete(sec);
	assert_no_secret("the events", f.ev.all.data);
	cJSON *audit = NULL;
	assert_rc(reconcile_audit(f.r, NULL, 100, &audit, &err), 0, &err);
	char *as = tu_json(audit);
	assert_no_secret("the audit", as);
	assert_contains(as, fp);
	free(as);
	cJSON_Delete(audit);
	/* The intent log kept the old value only while the plan ran. */
	struct rc_intent in;
	assert_rc(rc_log_step_get(f.r, "p-sec", "s1", &in, &err), 0, &err);
	assert_null(in.secret_before);
	char *ins = tu_json(in.before);
	assert_no_secret("the intent log", ins);
	free(ins);
	rc_intent_release(&in);
	/* Not a byte of it in the database or its write-ahead log. */
	static const char *const files[] = {"kswarm.db", "kswarm.db-wal"};
	for (size_t i = 0; i < KS_ARRAY_LEN(files); i++) {
		char *p = ks_asprintf("%s/%s", f.dir, files[i]);
		struct ks_buf b;
		ks_buf_init(&b, KS_BUF_UNLIMITED);
		if (ks_buf_read_file(&b, p, NULL) == 0 && b.len) {
			char *b64 = ks_base64_encode(PLANTED, strlen(PLANTED), NULL);
			assert_null(memmem(b.data, b.len, PLANTED, strlen(PLANTED)));
			assert_null(memmem(b.data, b.len, b64, strlen(b64)));
			free(b64);
		}
		ks_buf_release(&b);
		free(p);
	}
	cJSON_Delete(plan);

	/* A field Vault does not have: the error names the path, no value. */
	fx_reset_events(&f);
	plan = plan_of("{\"plan_id\":\"p-sec2\",\"steps\":[{\"id\":\"s1\",\"action\":"
		       "\"secret-from-source\",\"target\":{\"apiVersion\":\"v1\",\"kind\":"
		       "\"Secret\",\"namespace\":\"%s\",\"name\":\"db-secret\"},\"secret\":"
		       "{\"key\":\"password\",\"source\":{\"type\":\"vault\",\"path\":"
		       "\"payments/db\",\"field\":\"pass\"}}}]}", ns);
	assert_string_equal(execute(&f, plan), "failed");
	assert_contains(f.ev.all.data, "Vault secret/payments/db has no string field pass");
	assert_no_secret("an error", f.ev.all.data);
	cJSON_Delete(plan);
	fx_close(&f);
	sim_vault_stop(v);
}

static int setup(void **state)
{
	(void)state;
	snprintf(ns, sizeof ns, "rc-test-%d", (int)getpid());
	it_connect(&c, NULL, 200);
	it_create_ns(&c, ns);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	it_delete_ns(&c, ns);
	kube_client_close(&c);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(patch_verify_succeed_and_rerun),
		cmocka_unit_test(regression_rolls_back),
		cmocka_unit_test(preconditions_refuse),
		cmocka_unit_test(rollback_respects_others),
		cmocka_unit_test(kill_and_resume),
		cmocka_unit_test(kill_during_rollback),
		cmocka_unit_test(helm_owned),
		cmocka_unit_test(gitops_owned),
		cmocka_unit_test(vault_secret),
	};
	return cmocka_run_group_tests_name("reconcile", tests, setup, teardown);
}
