/* test_rootcause.c — the reusable chains: log error patterns and what they name, owners,
 * rollout diffs and the undo patch, memory quantities; and the cron parser. */
#include "testutil.h"

#include <string.h>

#include "base/json.h"
#include "base/timeutil.h"
#include "diag/cron.h"
#include "diag/rootcause.h"
#include "world/world.h"

static void expect_log(const char *text, enum rc_log_cat cat, const char *subject)
{
	struct rc_log_match m;
	if (cat == RC_LOG_NONE) {
		if (rc_log_scan(text, &m))
			fail_msg("\"%s\" matched %s", text, rc_log_cat_name(m.cat));
		return;
	}
	if (!rc_log_scan(text, &m))
		fail_msg("\"%s\" matched nothing", text);
	if (m.cat != cat)
		fail_msg("\"%s\": %s, expected %s", text, rc_log_cat_name(m.cat),
			 rc_log_cat_name(cat));
	assert_string_equal(m.subject, subject);
}

static void test_log_patterns(void **state)
{
	(void)state;
	expect_log("2026-11-21T09:14:02.431Z INFO  connecting to postgres at db:5432 as payments\n"
		   "2026-11-21T09:14:03.502Z ERROR Failed to connect to database: authentication "
		   "failed for user \"payments\" (SQLSTATE 28P01)\n",
		   RC_LOG_AUTH, "payments");
	expect_log("ERROR 1045 (28000): Access denied for user 'shop'@'10.1.2.3'", RC_LOG_AUTH,
		   "shop");
	expect_log("{\"level\":\"error\",\"msg\":\"schema version 41 is older than required 42: "
		   "run migration 42_add_order_channel\"}",
		   RC_LOG_SCHEMA, "42_add_order_channel");
	expect_log("dial tcp: lookup redis.misc on 10.96.0.10:53: no such host", RC_LOG_DNS,
		   "redis.misc");
	expect_log("dial tcp 10.0.0.5:5432: connect: connection refused", RC_LOG_CONN_REFUSED,
		   "10.0.0.5:5432");
	expect_log("dial tcp 10.0.0.5:5432: i/o timeout", RC_LOG_TIMEOUT, "10.0.0.5:5432");
	expect_log("FATAL: environment variable DATABASE_URL is not set", RC_LOG_MISSING_ENV,
		   "DATABASE_URL");
	expect_log("open /etc/app/config.yaml: no such file or directory", RC_LOG_MISSING_FILE,
		   "/etc/app/config.yaml");
	expect_log("open /data/db.lock: permission denied", RC_LOG_PERMISSION, "/data/db.lock");
	expect_log("fatal error: runtime: out of memory", RC_LOG_OOM, "");
	expect_log("flag provided but not defined: -listen-addr", RC_LOG_BAD_FLAG, "-listen-addr");
	expect_log("panic: runtime error: index out of range [3] with length 3\n\ngoroutine 1 "
		   "[running]:", RC_LOG_PANIC, "");
	/* no false alarm on ordinary lines */
	expect_log("level=info msg=\"0 errors, failover not needed\"\nlistening on :8080",
		   RC_LOG_NONE, "");
	expect_log("", RC_LOG_NONE, "");

	char *tail = rc_log_tail("a\n\nb\nc\n", 2);
	assert_string_equal(tail, "b\nc");
	free(tail);
}

static void test_links_and_owners(void **state)
{
	(void)state;
	struct world *w = tu_world("diag/pod-payment-db-secret.yaml");
	struct wobj pod = world_get(w, WK_POD, "payments", "payment-service-57c854df86-g2gqp");
	if (!wobj_ok(pod)) { /* the fixture's pod names are the recording's */
		struct wobj dep = world_get(w, WK_DEPLOYMENT, "payments", "payment-service");
		assert_true(wobj_ok(dep));
	}
	struct wobj dep = world_get(w, WK_DEPLOYMENT, "payments", "payment-service");
	struct rc_rollout r;
	assert_true(rc_rollout_find(w, dep, &r));
	assert_string_equal(r.cur_rev, "1");
	assert_false(wobj_ok(r.prev));
	assert_int_equal(rc_rollout_diff(&r, NULL, 0), 0);
	assert_null(rc_patch_undo(&r, "Deployment"));

	const cJSON *spec = rc_pod_spec(world_json(w, dep));
	const cJSON *c = rc_container(spec, "app");
	assert_non_null(c);
	struct rc_log_match m;
	assert_true(rc_log_scan("authentication failed for user \"payments\"", &m));
	struct rc_link lk;
	assert_true(rc_log_link(w, "payments", spec, c, &m, &lk));
	assert_int_equal(lk.kind, RC_LINK_SECRET_KEY);
	assert_string_equal(lk.obj.name, "db-secret");
	assert_string_equal(lk.key, "password");
	assert_string_equal(lk.env, "DB_PASSWORD");
	assert_true(lk.exists);
	world_free(w);

	w = tu_world("diag/pod-bad-rollout.yaml");
	dep = world_get(w, WK_DEPLOYMENT, "orders", "orders-api");
	assert_true(rc_rollout_find(w, dep, &r));
	assert_string_equal(r.cur_rev, "2");
	assert_string_equal(r.prev_rev, "1");
	assert_int_equal(r.prev_ready, 3);
	struct rc_change ch[4];
	assert_int_equal(rc_rollout_diff(&r, ch, 4), 1);
	assert_string_equal(ch[0].field, "image");
	assert_string_equal(ch[0].path, "spec.template.spec.containers[api].image");
	assert_string_equal(ch[0].before, "ghcr.io/acme/orders-api:1.9.0");
	assert_string_equal(ch[0].after, "ghcr.io/acme/orders-api:2.0.0");
	cJSON *undo = rc_patch_undo(&r, "Deployment");
	char *s = ks_json_print(undo);
	assert_string_equal(s, "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"api\","
			       "\"image\":\"ghcr.io/acme/orders-api:1.9.0\"}]}}}}");
	free(s);
	cJSON_Delete(undo);
	/* a pod of the new ReplicaSet is current; its owner chain ends at the Deployment */
	struct rc_owners ow;
	rc_owners(w, r.cur, &ow);
	assert_int_equal(ow.top.kind, WK_DEPLOYMENT);
	world_free(w);
}

static void test_patches_and_memory(void **state)
{
	(void)state;
	cJSON *p = rc_patch_memory("CronJob", false, "job", "512Mi", NULL);
	char *s = ks_json_print(p);
	assert_string_equal(s, "{\"spec\":{\"jobTemplate\":{\"spec\":{\"template\":{\"spec\":{"
			       "\"containers\":[{\"name\":\"job\",\"resources\":{\"limits\":{"
			       "\"memory\":\"512Mi\"}}}]}}}}}}");
	free(s);
	cJSON_Delete(p);
	assert_int_equal(rc_mem_bytes("256Mi"), 256 << 20);
	assert_int_equal(rc_mem_bytes("1G"), 1000000000);
	assert_int_equal(rc_mem_bytes("bogus"), -1);
	char b[32];
	rc_mem_format((int64_t)404 << 20, b, sizeof b);
	assert_string_equal(b, "404Mi");
	rc_mem_format((int64_t)2 << 30, b, sizeof b);
	assert_string_equal(b, "2Gi");
	rc_mem_format(1000, b, sizeof b);
	assert_string_equal(b, "1000");
}

static int64_t at(const char *rfc3339)
{
	int64_t ns;
	assert_int_equal(ks_time_parse_rfc3339(rfc3339, strlen(rfc3339), &ns, NULL), 0);
	return ns / 1000000000;
}

static void expect_next(const char *sched, const char *from, const char *want)
{
	struct cron_schedule c;
	struct ks_err err = {0};
	if (cron_parse(sched, strlen(sched), &c, &err))
		fail_msg("%s: %s", sched, err.msg);
	int64_t n = cron_next(&c, at(from));
	char got[32] = "never";
	if (n >= 0)
		ks_time_format_rfc3339(n, got, sizeof got);
	if (strcmp(got, want) != 0)
		fail_msg("%s after %s: %s, expected %s", sched, from, got, want);
}

static void expect_invalid(const char *sched, const char *msg)
{
	struct cron_schedule c;
	struct ks_err err = {0};
	if (!cron_parse(sched, strlen(sched), &c, &err))
		fail_msg("\"%s\" parsed", sched);
	assert_contains(err.msg, msg);
}

static void test_cron(void **state)
{
	(void)state;
	expect_next("*/5 * * * *", "2026-11-21T10:02:30Z", "2026-11-21T10:05:00Z");
	expect_next("0 3 * * *", "2026-11-21T03:00:00Z", "2026-11-22T03:00:00Z");
	expect_next("@hourly", "2026-11-21T23:10:00Z", "2026-11-22T00:00:00Z");
	expect_next("@monthly", "2026-12-15T00:00:00Z", "2027-01-01T00:00:00Z");
	expect_next("@weekly", "2026-11-21T12:00:00Z", "2026-11-22T00:00:00Z"); /* a Sunday */
	expect_next("0 9 * * MON-FRI", "2026-11-21T12:00:00Z", "2026-11-23T09:00:00Z");
	expect_next("0 0 29 2 *", "2026-03-01T00:00:00Z", "2028-02-29T00:00:00Z");
	expect_next("0 0 30 2 *", "2026-03-01T00:00:00Z", "never");
	/* both day fields restricted: either matches (1st of the month or a Friday) */
	expect_next("0 0 1 * FRI", "2026-11-21T00:00:00Z", "2026-11-27T00:00:00Z");
	expect_next("30 */6 * jan-mar ?", "2026-11-21T00:00:00Z", "2027-01-01T00:30:00Z");
	expect_next("5/20 * * * *", "2026-11-21T10:46:00Z", "2026-11-21T11:05:00Z");
	expect_next("@every 90s", "2026-11-21T10:00:00Z", "2026-11-21T10:01:30Z");
	expect_next("CRON_TZ=UTC 0 12 * * *", "2026-11-21T00:00:00Z", "2026-11-21T12:00:00Z");

	expect_invalid("* * * *", "expected exactly 5 fields, found 4");
	expect_invalid("* * * * * *", "found more");
	expect_invalid("61 * * * *", "field minute: end of range (61) above maximum (59)");
	expect_invalid("* * * * 7", "field day-of-week: end of range (7) above maximum (6)");
	expect_invalid("* * 0 * *", "field day-of-month: beginning of range (0) below minimum (1)");
	expect_invalid("* 5-3 * * *", "beyond end of range");
	expect_invalid("*/0 * * * *", "step must be positive");
	expect_invalid("* * * FOO *", "not a number or a name");
	expect_invalid("@sometimes", "unrecognized descriptor");
	expect_invalid("", "empty schedule");
	char big[CRON_MAX_LEN + 2];
	memset(big, '*', sizeof big);
	struct cron_schedule c;
	assert_int_equal(cron_parse(big, sizeof big, &c, NULL), KS_ETOOBIG);
}

/* StatefulSets keep their revisions in ControllerRevisions: the two newest are found, the
 * pod's controller-revision-hash says it runs the current one, and the diff names the image
 * and the args that changed. */
static void test_controller_revisions(void **state)
{
	(void)state;
	struct world *w = tu_world("diag/wl-statefulset-revisions.yaml");
	struct wobj sts = world_get(w, WK_STATEFULSET, "ledger", "ledger-db");
	struct rc_rollout r;
	assert_true(rc_rollout_find(w, sts, &r));
	assert_int_equal(r.cur.kind, WK_CONTROLLERREVISION);
	assert_string_equal(r.cur_rev, "2");
	assert_string_equal(r.prev_rev, "1");
	assert_true(rc_rollout_pod_is_current(w, &r, world_get(w, WK_POD, "ledger", "ledger-db-0")));
	struct diag_finding *f = ks_calloc(1, sizeof *f);
	struct diag_ref ref = diag_ref_of(w, sts);
	assert_true(rc_ev_rollout_diff(f, &ref, &r) >= 2);
	char *ev = tu_json(f->evidence);
	assert_contains(ev, "\"before\":\"postgres:15.8\",\"after\":\"postgres:16.4\"");
	assert_contains(ev, "max_connections=100");
	assert_contains(ev, "\"from\":\"1\",\"to\":\"2\"");
	free(ev);
	diag_finding_free(f);
	world_free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_controller_revisions),
		cmocka_unit_test(test_log_patterns),
		cmocka_unit_test(test_links_and_owners),
		cmocka_unit_test(test_patches_and_memory),
		cmocka_unit_test(test_cron),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
