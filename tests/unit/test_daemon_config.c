/* test_daemon_config.c — the daemon's configuration file (src/daemon/config.c): defaults,
 * every section read from the example in deploy/, and bad files refused with FILE:LINE:COL
 * and the field, leaving the previous configuration untouched. */
#include "testutil.h"

#include <string.h>

#include <cjson/cJSON.h>

#include "daemon/config.h"

static void test_defaults(void **state)
{
	(void)state;
	struct daemon_config c;
	daemon_config_defaults(&c);
	assert_string_equal(c.listen, "127.0.0.1:8080");
	assert_true(c.interval_s == 30 && c.uptime_target == 0.9999 && c.cut_cost);
	assert_true(c.min_savings_usd == 5 && c.verify_timeout_s == 300);
	assert_string_equal(c.spot, "keep");
	assert_non_null(strstr(c.store, "/.local/state/kswarm/kswarm.db"));
	assert_null(c.policies);
	assert_null(c.token_file);
	daemon_config_release(&c);
}

static void test_example(void **state)
{
	(void)state;
	struct daemon_config c;
	daemon_config_defaults(&c);
	struct ks_err err = {0};
	if (daemon_config_load(tu_fixture("daemon/full.yaml"), &c, &err))
		fail_msg("%s", err.msg);
	assert_string_equal(c.cluster, "local");
	assert_string_equal(c.store, "/var/lib/kswarm/kswarm.db");
	assert_string_equal(c.token_file, "/etc/kswarm/token");
	assert_string_equal(c.policies, "/etc/kswarm/policy.yaml");
	assert_string_equal(c.prometheus, "http://127.0.0.1:9090");
	assert_true(c.uptime_target > 0.99989 && c.uptime_target < 0.99991);
	assert_true(c.verify_timeout_s == 300 && c.interval_s == 30);
	assert_string_equal(c.vault_addr, "http://127.0.0.1:8200");
	assert_int_equal(c.nsecret_sources, 1);
	cJSON *src = cJSON_Parse(c.secret_sources);
	assert_non_null(src);
	const cJSON *s0 = cJSON_GetArrayItem(src, 0);
	assert_string_equal(cJSON_GetObjectItem(s0, "secret")->valuestring, "payments/db-secret");
	assert_string_equal(cJSON_GetObjectItem(s0, "key")->valuestring, "password");
	const cJSON *v = cJSON_GetObjectItem(s0, "vault");
	assert_string_equal(cJSON_GetObjectItem(v, "mount")->valuestring, "secret");
	assert_string_equal(cJSON_GetObjectItem(v, "path")->valuestring, "payments/db");
	assert_string_equal(cJSON_GetObjectItem(v, "field")->valuestring, "password");
	cJSON_Delete(src);
	daemon_config_release(&c);
}

/* Each bad file, and the exact message it gets. */
static void test_errors(void **state)
{
	(void)state;
	static const struct {
		const char *yaml, *msg;
	} cases[] = {
		{"lisen: 1.2.3.4:80\n", "k.yaml:1:1: unknown key 'lisen'"},
		{"interval: soon\n", "k.yaml:1:11: interval: 'soon' is not a duration"},
		{"interval: 0s\n", "k.yaml:1:11: interval: 0s is not between 1s and 86400s"},
		{"goals:\n  uptime: 101%\n", "k.yaml:2:11: goals.uptime: 101% is not between"},
		{"spot: sometimes\n", "k.yaml:1:7: spot: 'sometimes' is not keep, prefer or never"},
		{"llm: {backend: gpt}\n", "k.yaml:1:16: llm.backend: 'gpt' is not ollama or openai"},
		{"secret_sources:\n  - {secret: db-secret, key: password, vault: {mount: s, path: "
		 "p, field: f}}\n",
		 "k.yaml:2:14: secret_sources[0].secret: 'db-secret' is not NAMESPACE/NAME"},
		{"secret_sources:\n  - {secret: a/b, key: k}\n",
		 "k.yaml:2:5: secret_sources[0]: 'vault' is required"},
		{"secret_sources:\n  - {secret: a/b, key: k, vault: {mount: s, path: p, field: f}}\n",
		 "k.yaml:2:3: secret_sources: needs a 'vault' section"},
		{"auth: {auth_reads: yes}\n", "k.yaml:1:20: auth.auth_reads: 'yes' is not true or "
					      "false"},
		{"gitops: {dir: x}\n", "k.yaml:1:9: gitops: 'repo' is required"},
		{"cluster: [a]\n", "k.yaml:1:10: cluster: must be a mapping"},
		{"listen: \"127.0.0.1:80 \"\n", "k.yaml:1:10: listen: holds a space"},
		{"a: [\n", "k.yaml:"},
		{"notify: {type: slack}\n", "k.yaml:1:9: notify: must be a list"},
		{"notify:\n  - {url: http://x}\n", "k.yaml:2:5: notify[0]: 'type' is required"},
		{"notify:\n  - {type: teams, url: http://x}\n",
		 "k.yaml:2:12: notify[0].type: 'teams' is not slack or webhook"},
		{"notify:\n  - {type: slack}\n",
		 "k.yaml:2:5: notify[0]: exactly one of 'url' and 'url_file' is needed"},
		{"notify:\n  - {type: webhook, url: ftp://x}\n",
		 "k.yaml:2:26: notify[0].url: must start with http:// or https://"},
		{"notify:\n  - {type: webhook, url: http://x, per_minute: 0}\n",
		 "k.yaml:2:48: notify[0].per_minute:"},
		{"notify:\n  - {type: webhook, url: http://x, headers: {Authorization: x}}\n",
		 "k.yaml:2:46: notify[0].headers.Authorization: set by kswarm"},
		{"notify:\n  - {type: webhook, url: http://x, headers: {\"a b\": x}}\n",
		 "k.yaml:2:47: notify[0].headers: holds a space"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct daemon_config c;
		daemon_config_defaults(&c);
		struct ks_err err = {0};
		int rc = daemon_config_parse("k.yaml", cases[i].yaml, strlen(cases[i].yaml), &c,
					     &err);
		if (rc != KS_EINVAL || strncmp(err.msg, cases[i].msg, strlen(cases[i].msg)))
			fail_msg("case %zu: rc %d, message '%s', wanted '%s...'", i, rc, err.msg,
				 cases[i].msg);
		/* Nothing of a bad file is applied. */
		assert_string_equal(c.listen, "127.0.0.1:8080");
		assert_null(c.path);
		daemon_config_release(&c);
	}
}

static void test_notify(void **state)
{
	(void)state;
	static const char yaml[] =
		"notify:\n"
		"  - {type: slack, url_file: /etc/kswarm/slack-url, per_minute: 10}\n"
		"  - type: webhook\n"
		"    url: https://hooks.example/kswarm\n"
		"    token_file: /etc/kswarm/hook-token\n"
		"    headers: {X-Team: sre, X-Env: \"prod eu\"}\n";
	struct daemon_config c;
	daemon_config_defaults(&c);
	struct ks_err err = {0};
	assert_int_equal(daemon_config_parse("k.yaml", yaml, strlen(yaml), &c, &err), 0);
	assert_int_equal(c.nnotify, 2);
	assert_int_equal(c.notify[0].kind, NOTIFY_SLACK);
	assert_string_equal(c.notify[0].url_file, "/etc/kswarm/slack-url");
	assert_null(c.notify[0].url);
	assert_int_equal(c.notify[0].per_minute, 10);
	assert_int_equal(c.notify[1].kind, NOTIFY_WEBHOOK);
	assert_string_equal(c.notify[1].url, "https://hooks.example/kswarm");
	assert_string_equal(c.notify[1].token_file, "/etc/kswarm/hook-token");
	assert_int_equal(c.notify[1].per_minute, NOTIFY_DEFAULT_PER_MINUTE);
	assert_int_equal(c.notify[1].nheaders, 2);
	assert_string_equal(c.notify[1].headers[0], "X-Team: sre");
	assert_string_equal(c.notify[1].headers[1], "X-Env: prod eu");
	daemon_config_release(&c);
}

static void test_empty_and_loopback(void **state)
{
	(void)state;
	struct daemon_config c;
	daemon_config_defaults(&c);
	struct ks_err err = {0};
	assert_int_equal(daemon_config_parse("e.yaml", "", 0, &c, &err), 0);
	assert_string_equal(c.path, "e.yaml");
	assert_string_equal(c.listen, "127.0.0.1:8080");
	daemon_config_release(&c);
	assert_true(daemon_listen_is_loopback("127.0.0.1:8080"));
	assert_true(daemon_listen_is_loopback("[::1]:8080"));
	assert_true(daemon_listen_is_loopback("localhost:1"));
	assert_false(daemon_listen_is_loopback("0.0.0.0:8080"));
	assert_false(daemon_listen_is_loopback("10.0.0.1:8080"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_example),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_notify),
		cmocka_unit_test(test_empty_and_loopback),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
