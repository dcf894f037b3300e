/* test_kubeconfig.c — kubeconfig loading as kubectl (single file, KUBECONFIG merging,
 * --context, relative paths, -data, tokenFile, in-cluster), broken files with file:line:col
 * messages, exec credential plugins (shell scripts written at test time) and the proof that
 * no planted secret reaches an error message or a log line. */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/base64.h"
#include "base/json.h"
#include "base/timeutil.h"
#include "kube/auth.h"
#include "kube/kubeconfig.h"

#define SECRET "SECRET-TOKEN-xyz"
#define FAKE_CA "-----BEGIN CERTIFICATE-----\nRkFLRS1DQS1mb3ItdGVzdHM=\n-----END CERTIFICATE-----\n"
#define FAKE_CERT                                                                                  \
	"-----BEGIN CERTIFICATE-----\nRkFLRS1DTElFTlQtQ0VSVA==\n-----END CERTIFICATE-----\n"
#define FAKE_KEY "-----BEGIN PRIVATE KEY-----\nRkFLRS1LRVktU0VDUkVU\n-----END PRIVATE KEY-----\n"

/* ---- helpers ----------------------------------------------------------------------------- */

static void clean_env(void)
{
	unsetenv("KUBECONFIG");
	unsetenv("KUBERNETES_SERVICE_HOST");
	unsetenv("KUBERNETES_SERVICE_PORT");
	unsetenv("POD_NAMESPACE");
	unsetenv("KSWARM_SA_DIR");
	setenv("HOME", "/nonexistent-home-for-tests", 1);
}

static int setup(void **state)
{
	(void)state;
	clean_env();
	return 0;
}

static char *fx(const char *rel)
{
	char buf[256];
	snprintf(buf, sizeof buf, "kubeconfig/%s", rel);
	return ks_strdup(tu_fixture(buf));
}

/* Load with --kubeconfig path (NULL: the environment), optional --context. */
static int load(const char *path, const char *context, struct kube_config *cfg, struct ks_err *err)
{
	struct kube_config_opts o = {.kubeconfig = path, .context = context, .no_in_cluster = true};
	ks_err_clear(err);
	return kube_config_load(&o, cfg, err);
}

static void expect_error(const char *rel, int code, const char *needle)
{
	char *p = fx(rel);
	struct kube_config cfg;
	struct ks_err err = {0};
	int rc = load(p, NULL, &cfg, &err);
	if (rc != code)
		fail_msg("%s: rc %d (%s), want %d", rel, rc, err.msg, code);
	assert_contains(err.msg, needle);
	assert_contains(err.msg, p);
	if (strstr(err.msg, SECRET))
		fail_msg("secret in \"%s\"", err.msg);
	kube_config_release(&cfg);
	free(p);
}

static char *path_in(const char *dir, const char *name)
{
	return ks_asprintf("%s/%s", dir, name);
}

static void write_in(const char *dir, const char *name, const char *content)
{
	char *p = path_in(dir, name);
	tu_write_file(p, content);
	free(p);
}

static void write_script(const char *dir, const char *name, const char *body)
{
	char *p = path_in(dir, name);
	char *s = ks_asprintf("#!/bin/sh\n%s", body);
	tu_write_file(p, s);
	chmod(p, 0755);
	free(s);
	free(p);
}

static char *slurp(const char *path)
{
	struct ks_buf b;
	struct ks_err err = {0};
	ks_buf_init(&b, 1 << 20);
	if (ks_buf_read_file(&b, path, &err)) {
		ks_buf_release(&b);
		return NULL;
	}
	return ks_buf_detach(&b);
}

static int count_of(const char *dir)
{
	char *p = path_in(dir, "count");
	char *s = slurp(p);
	int n = s ? atoi(s) : 0;
	free(s);
	free(p);
	return n;
}

/* A kubeconfig in dir whose user runs `command` (relative to dir when it holds a '/').
 * extra_exec: more lines under exec (8 spaces); extra_user: more lines under user. */
static char *exec_kubeconfig(const char *dir, const char *command, const char *api,
			     const char *extra_exec, const char *extra_user)
{
	char *ca = ks_base64_encode(FAKE_CA, strlen(FAKE_CA), NULL);
	char *yaml = ks_asprintf("apiVersion: v1\n"
				 "kind: Config\n"
				 "clusters:\n"
				 "- name: c\n"
				 "  cluster:\n"
				 "    server: https://exec.example.com:6443\n"
				 "    certificate-authority-data: %s\n"
				 "    tls-server-name: exec.internal\n"
				 "    extensions:\n"
				 "    - name: client.authentication.k8s.io/exec\n"
				 "      extension:\n"
				 "        audience: kswarm\n"
				 "        retries: 3\n"
				 "        nested: {on: yes, list: [1, two, null]}\n"
				 "users:\n"
				 "- name: u\n"
				 "  user:\n"
				 "    exec:\n"
				 "      apiVersion: %s\n"
				 "      command: %s\n"
				 "      args: [\"--out\", \"%s/args\", \"" SECRET "-in-args\"]\n"
				 "      env:\n"
				 "      - name: PLUGIN_DIR\n"
				 "        value: %s\n"
				 "      - name: PLUGIN_SECRET\n"
				 "        value: " SECRET "-in-env\n"
				 "%s"
				 "      provideClusterInfo: true\n"
				 "      installHint: |\n"
				 "        Install the plugin with: apt install example-plugin\n"
				 "%s"
				 "%s"
				 "contexts:\n"
				 "- name: ctx\n"
				 "  context: {cluster: c, user: u}\n"
				 "current-context: ctx\n",
				 ca, api, command, dir, dir,
				 extra_exec && strstr(extra_exec, "interactiveMode")
					 ? ""
					 : "      interactiveMode: Never\n",
				 extra_exec ? extra_exec : "", extra_user ? extra_user : "");
	char *p = path_in(dir, "config");
	tu_write_file(p, yaml);
	free(yaml);
	free(ca);
	return p;
}

static int load_exec(const char *kc, int timeout_ms, struct kube_config *cfg, struct ks_err *err)
{
	struct kube_config_opts o = {
		.kubeconfig = kc, .exec_timeout_ms = timeout_ms, .no_in_cluster = true};
	return kube_config_load(&o, cfg, err);
}

#define PLUGIN_COUNT                                                                               \
	"n=$(cat \"$PLUGIN_DIR/count\" 2>/dev/null || echo 0); n=$((n+1)); echo $n > "             \
	"\"$PLUGIN_DIR/count\"\n"

/* ---- loading ----------------------------------------------------------------------------- */

static void single_file(void **state)
{
	(void)state;
	char *p = fx("basic.yaml");
	struct kube_config cfg;
	struct ks_err err = {0};
	if (load(p, NULL, &cfg, &err))
		fail_msg("%s", err.msg);
	assert_int_equal(cfg.source, KUBE_CONFIG_FROM_FILE);
	assert_string_equal(cfg.path, p);
	assert_string_equal(cfg.context_name, "prod");
	assert_string_equal(cfg.cluster_name, "prod");
	assert_string_equal(cfg.user_name, "alice");
	assert_string_equal(cfg.namespace, "team-a");
	assert_string_equal(cfg.server, "https://prod.example.com:6443");
	assert_string_equal(cfg.tls_server_name, "api.prod.internal");
	assert_string_equal(cfg.proxy_url, "http://proxy.example.com:3128");
	assert_false(cfg.insecure_skip_tls_verify);
	assert_non_null(cfg.ca.data);
	assert_int_equal(cfg.ca.len, strlen(FAKE_CA));
	assert_string_equal(cfg.ca.data, FAKE_CA);
	assert_string_equal(cfg.token, "alice-token-123");
	assert_null(cfg.client_cert.data);
	assert_false(cfg.has_exec);

	struct kube_credential cred;
	assert_int_equal(kube_auth_get(&cfg, &cred, &err), 0);
	assert_string_equal(cred.token, "alice-token-123");
	assert_null(cred.cert.data);
	assert_null(cred.username);
	assert_false(cred.from_exec);
	kube_credential_release(&cred);
	kube_credential_release(&cred); /* twice is harmless */
	kube_config_release(&cfg);
	free(p);
}

static void context_override(void **state)
{
	(void)state;
	char *p = fx("basic.yaml");
	struct kube_config cfg;
	struct ks_err err = {0};
	if (load(p, "dev", &cfg, &err))
		fail_msg("%s", err.msg);
	assert_string_equal(cfg.context_name, "dev");
	assert_string_equal(cfg.namespace, "default");
	assert_true(cfg.insecure_skip_tls_verify);
	assert_null(cfg.ca.data);
	assert_string_equal(cfg.client_cert.data, FAKE_CERT);
	assert_int_equal(cfg.client_key.len, strlen(FAKE_KEY));
	struct kube_credential cred;
	assert_int_equal(kube_auth_get(&cfg, &cred, &err), 0);
	assert_null(cred.token);
	assert_string_equal(cred.cert.data, FAKE_CERT);
	assert_string_equal(cred.key.data, FAKE_KEY);
	kube_credential_release(&cred);
	kube_config_release(&cfg);

	/* Basic auth, and a namespace override. */
	struct kube_config_opts o = {.kubeconfig = p, .context = "dev-basic", .namespace = "ops"};
	if (kube_config_load(&o, &cfg, &err))
		fail_msg("%s", err.msg);
	assert_string_equal(cfg.namespace, "ops");
	assert_int_equal(kube_auth_get(&cfg, &cred, &err), 0);
	assert_string_equal(cred.username, "carol");
	assert_string_equal(cred.password, "carol-password");
	kube_credential_release(&cred);
	kube_config_release(&cfg);

	/* An unknown --context names the file it looked in. */
	assert_int_equal(load(p, "nope", &cfg, &err), KS_ENOTFOUND);
	assert_contains(err.msg, "context 'nope' is not defined");
	assert_contains(err.msg, p);
	kube_config_release(&cfg);
	free(p);
}

static void kubeconfig_env_merge(void **state)
{
	(void)state;
	char *a = fx("merge-a.yaml"), *b = fx("merge-b.yaml"), *c = fx("merge-c.yaml");
	/* Missing files and empty entries are skipped; a repeated file counts once. */
	char *list = ks_asprintf("/nonexistent/one.yaml::%s:%s:%s:%s:", a, b, c, a);
	setenv("KUBECONFIG", list, 1);
	struct kube_config cfg;
	struct ks_err err = {0};
	if (load(NULL, NULL, &cfg, &err))
		fail_msg("%s", err.msg);
	/* current-context from the first file that sets it (b, not c). */
	assert_string_equal(cfg.context_name, "ctx-b");
	assert_string_equal(cfg.path, b);
	assert_string_equal(cfg.cluster_name, "only-b");
	assert_string_equal(cfg.server, "https://only-b.example.com");
	/* user 'u' is a's: the whole entry, nothing from b's 'u' (no certificate). */
	assert_string_equal(cfg.token, "token-from-a");
	assert_null(cfg.client_cert.data);
	kube_config_release(&cfg);

	/* ctx-a exists in a and b: a's wins, with a's cluster 'shared'. */
	if (load(NULL, "ctx-a", &cfg, &err))
		fail_msg("%s", err.msg);
	assert_string_equal(cfg.path, a);
	assert_string_equal(cfg.server, "https://from-a.example.com");
	assert_false(cfg.insecure_skip_tls_verify);
	assert_string_equal(cfg.namespace, "ns-a");
	kube_config_release(&cfg);

	/* --kubeconfig: that file only, KUBECONFIG ignored (a has no current-context). */
	assert_int_equal(load(a, NULL, &cfg, &err), KS_EINVAL);
	assert_contains(err.msg, "no current-context is set and no context was given");
	assert_contains(err.msg, a);
	kube_config_release(&cfg);

	/* --kubeconfig must exist. */
	assert_int_equal(load("/nonexistent/explicit.yaml", NULL, &cfg, &err), KS_ENOTFOUND);
	assert_contains(err.msg, "kubeconfig /nonexistent/explicit.yaml: cannot read");
	kube_config_release(&cfg);

	/* KUBECONFIG with only missing files, not in a cluster. */
	setenv("KUBECONFIG", "/nonexistent/a:/nonexistent/b", 1);
	assert_int_equal(load(NULL, NULL, &cfg, &err), KS_ENOTFOUND);
	assert_contains(err.msg, "no kubeconfig found");
	assert_contains(err.msg, "/nonexistent/a:/nonexistent/b");
	kube_config_release(&cfg);

	/* A broken file anywhere in the list fails the load, as kubectl. */
	char *broken = fx("broken/duplicate.yaml");
	char *list2 = ks_asprintf("%s:%s", a, broken);
	setenv("KUBECONFIG", list2, 1);
	assert_int_equal(load(NULL, "ctx-a", &cfg, &err), KS_EINVAL);
	assert_contains(err.msg, "defined twice");
	kube_config_release(&cfg);
	free(list2);
	free(broken);
	free(list);
	free(a);
	free(b);
	free(c);
}

static void home_default(void **state)
{
	(void)state;
	char *dir = tu_mkdtemp();
	char *kube = path_in(dir, ".kube");
	mkdir(kube, 0700);
	char *src = tu_read_fixture("kubeconfig/basic.yaml");
	write_in(kube, "config", src);
	setenv("HOME", dir, 1);
	struct kube_config cfg;
	struct ks_err err = {0};
	if (load(NULL, NULL, &cfg, &err))
		fail_msg("%s", err.msg);
	char *want = ks_asprintf("%s/.kube/config", dir);
	assert_string_equal(cfg.path, want);
	assert_string_equal(cfg.context_name, "prod");
	kube_config_release(&cfg);
	free(want);
	free(src);
	free(kube);
	tu_rmtree(dir);
	free(dir);
}

static void relative_paths(void **state)
{
	(void)state;
	char *p = fx("relative/config");
	struct kube_config cfg;
	struct ks_err err = {0};
	if (load(p, NULL, &cfg, &err))
		fail_msg("%s", err.msg);
	assert_string_equal(cfg.ca.data, FAKE_CA);
	assert_string_equal(cfg.client_cert.data, FAKE_CERT);
	assert_string_equal(cfg.client_key.data, FAKE_KEY);
	kube_config_release(&cfg);

	/* The same file from another working directory: still relative to the file. */
	char cwd[4096];
	assert_non_null(getcwd(cwd, sizeof cwd));
	char *abs = p[0] == '/' ? ks_strdup(p) : ks_asprintf("%s/%s", cwd, p);
	assert_int_equal(chdir("/"), 0);
	int rc = load(abs, NULL, &cfg, &err);
	assert_int_equal(chdir(cwd), 0);
	if (rc)
		fail_msg("%s", err.msg);
	assert_string_equal(cfg.client_key.data, FAKE_KEY);
	kube_config_release(&cfg);
	free(abs);
	free(p);
}

static void insecure_json(void **state)
{
	(void)state;
	char *p = fx("insecure.json");
	struct kube_config cfg;
	struct ks_err err = {0};
	if (load(p, NULL, &cfg, &err))
		fail_msg("%s", err.msg);
	assert_true(cfg.insecure_skip_tls_verify);
	assert_null(cfg.ca.data);
	assert_string_equal(cfg.namespace, "kube-system");
	assert_string_equal(cfg.server, "https://10.0.0.1");
	struct kube_credential cred;
	assert_int_equal(kube_auth_get(&cfg, &cred, &err), 0);
	assert_null(cred.token);
	assert_null(cred.cert.data);
	assert_null(cred.username);
	kube_credential_release(&cred);
	kube_config_release(&cfg);
	free(p);
}

static void scalar_styles(void **state)
{
	(void)state;
	/* Every YAML scalar style decodes as go-yaml would. */
	char *dir = tu_mkdtemp();
	write_in(dir, "config",
		 "clusters: [{name: c, cluster: {server: \"https://\\u0073.example.com\"}}]\n"
		 "users:\n"
		 "- name: u\n"
		 "  user:\n"
		 "    username: 'it''s me'\n"
		 "    password: |\n"
		 "      line one\n"
		 "      line two\n"
		 "- name: t\n"
		 "  user:\n"
		 "    token: >-\n"
		 "      folded\n"
		 "      token\n"
		 "contexts:\n"
		 "- {name: x, context: {cluster: c, user: u, namespace: \"tab\\there\"}}\n"
		 "- {name: y, context: {cluster: c, user: t}}\n"
		 "current-context: x\n");
	char *kc = path_in(dir, "config");
	struct kube_config cfg;
	struct ks_err err = {0};
	if (load(kc, NULL, &cfg, &err))
		fail_msg("%s", err.msg);
	assert_string_equal(cfg.server, "https://s.example.com");
	assert_string_equal(cfg.username, "it's me");
	assert_string_equal(cfg.password, "line one\nline two\n");
	assert_string_equal(cfg.namespace, "tab\there");
	kube_config_release(&cfg);
	if (load(kc, "y", &cfg, &err))
		fail_msg("%s", err.msg);
	assert_string_equal(cfg.token, "folded token");
	kube_config_release(&cfg);
	free(kc);
	tu_rmtree(dir);
	free(dir);
}

static void token_file_rotation(void **state)
{
	(void)state;
	char *dir = tu_mkdtemp();
	write_in(dir, "token", "first-token\n");
	write_in(dir, "config",
		 "apiVersion: v1\nkind: Config\n"
		 "clusters: [{name: c, cluster: {server: https://t.example.com}}]\n"
		 "users:\n"
		 "- name: f\n  user: {tokenFile: token}\n"
		 "- name: both\n  user: {token: inline-token, tokenFile: ./token}\n"
		 "- name: gone\n  user: {tokenFile: no-such-token}\n"
		 "contexts:\n"
		 "- {name: f, context: {cluster: c, user: f}}\n"
		 "- {name: both, context: {cluster: c, user: both}}\n"
		 "- {name: gone, context: {cluster: c, user: gone}}\n"
		 "current-context: f\n");
	char *kc = path_in(dir, "config");
	struct kube_config cfg;
	struct ks_err err = {0};
	enum ks_log_level old_level = ks_log_get_level();
	ks_log_set_level(KS_LOG_ERROR); /* the vanished-file warning is expected */
	if (load(kc, NULL, &cfg, &err))
		fail_msg("%s", err.msg);
	char *want_file = path_in(dir, "token");
	assert_string_equal(cfg.token_file, want_file);
	assert_string_equal(cfg.token, "first-token"); /* read at load, trimmed */
	struct kube_credential c1, c2, c3;
	assert_int_equal(kube_auth_get(&cfg, &c1, &err), 0);
	assert_string_equal(c1.token, "first-token");
	/* A projected token is replaced: the next request uses the new one. */
	write_in(dir, "token", "  second-token-longer\n");
	assert_int_equal(kube_auth_get(&cfg, &c2, &err), 0);
	assert_string_equal(c2.token, "second-token-longer");
	assert_true(c2.generation != c1.generation);
	/* It disappears: the last good token stays. */
	unlink(want_file);
	assert_int_equal(kube_auth_get(&cfg, &c3, &err), 0);
	assert_string_equal(c3.token, "second-token-longer");
	kube_credential_release(&c1);
	kube_credential_release(&c2);
	kube_credential_release(&c3);
	kube_config_release(&cfg);

	/* token and tokenFile: client-go uses the file when it can read it... */
	write_in(dir, "token", "file-token\n");
	if (load(kc, "both", &cfg, &err))
		fail_msg("%s", err.msg);
	assert_int_equal(kube_auth_get(&cfg, &c1, &err), 0);
	assert_string_equal(c1.token, "file-token");
	kube_credential_release(&c1);
	kube_config_release(&cfg);
	/* ...and the inline token when it cannot. */
	unlink(want_file);
	if (load(kc, "both", &cfg, &err))
		fail_msg("%s", err.msg);
	assert_int_equal(kube_auth_get(&cfg, &c1, &err), 0);
	assert_string_equal(c1.token, "inline-token");
	kube_credential_release(&c1);
	kube_config_release(&cfg);

	/* tokenFile alone must be readable at load. */
	assert_int_equal(load(kc, "gone", &cfg, &err), KS_EIO);
	assert_contains(err.msg, "cannot read tokenFile");
	assert_contains(err.msg, "no-such-token");
	assert_contains(err.msg, ":10:21:");
	kube_config_release(&cfg);
	ks_log_set_level(old_level);
	free(want_file);
	free(kc);
	tu_rmtree(dir);
	free(dir);
}

static void in_cluster(void **state)
{
	(void)state;
	char *dir = tu_mkdtemp();
	write_in(dir, "token", "sa-token\n");
	write_in(dir, "ca.crt", FAKE_CA);
	write_in(dir, "namespace", "kswarm-system\n");
	setenv("KUBECONFIG", "/nonexistent/kubeconfig", 1);
	setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
	setenv("KUBERNETES_SERVICE_PORT", "443", 1);
	struct kube_config_opts o = {.sa_dir = dir};
	struct kube_config cfg;
	struct ks_err err = {0};
	if (kube_config_load(&o, &cfg, &err))
		fail_msg("%s", err.msg);
	assert_int_equal(cfg.source, KUBE_CONFIG_IN_CLUSTER);
	assert_string_equal(cfg.server, "https://10.96.0.1:443");
	assert_string_equal(cfg.token, "sa-token");
	assert_string_equal(cfg.ca.data, FAKE_CA);
	assert_string_equal(cfg.namespace, "kswarm-system");
	assert_null(cfg.context_name);
	struct kube_credential cred;
	assert_int_equal(kube_auth_get(&cfg, &cred, &err), 0);
	assert_string_equal(cred.token, "sa-token");
	kube_credential_release(&cred);
	kube_config_release(&cfg);

	/* POD_NAMESPACE first; IPv6 service host; the directory from KSWARM_SA_DIR. */
	setenv("POD_NAMESPACE", "from-downward-api", 1);
	setenv("KUBERNETES_SERVICE_HOST", "fd00::1", 1);
	setenv("KSWARM_SA_DIR", dir, 1);
	struct kube_config_opts o2 = {0};
	if (kube_config_load(&o2, &cfg, &err))
		fail_msg("%s", err.msg);
	assert_string_equal(cfg.server, "https://[fd00::1]:443");
	assert_string_equal(cfg.namespace, "from-downward-api");
	kube_config_release(&cfg);

	/* kubectl: a kubeconfig with no current-context also falls back to in-cluster. */
	char *nc = fx("broken/no-current.yaml");
	setenv("KUBECONFIG", nc, 1);
	if (kube_config_load(&o2, &cfg, &err))
		fail_msg("%s", err.msg);
	assert_int_equal(cfg.source, KUBE_CONFIG_IN_CLUSTER);
	kube_config_release(&cfg);
	/* But a kubeconfig with a context wins over in-cluster. */
	char *basic = fx("basic.yaml");
	setenv("KUBECONFIG", basic, 1);
	if (kube_config_load(&o2, &cfg, &err))
		fail_msg("%s", err.msg);
	assert_int_equal(cfg.source, KUBE_CONFIG_FROM_FILE);
	kube_config_release(&cfg);

	/* No token file: not in a cluster. */
	setenv("KUBECONFIG", "/nonexistent/kubeconfig", 1);
	char *tok = path_in(dir, "token");
	unlink(tok);
	assert_int_equal(kube_config_load(&o2, &cfg, &err), KS_ENOTFOUND);
	assert_contains(err.msg, "not running in a cluster");
	kube_config_release(&cfg);
	free(tok);
	free(basic);
	free(nc);
	tu_rmtree(dir);
	free(dir);
}

/* ---- broken files ------------------------------------------------------------------------ */

static void broken_files(void **state)
{
	(void)state;
	expect_error("broken/syntax.yaml", KS_EINVAL, "syntax.yaml:8:1: wrongly indented");
	expect_error("broken/syntax.yaml", KS_EINVAL, "(YAML syntax)");
	expect_error("broken/missing-cluster.yaml", KS_ENOTFOUND,
		     "missing-cluster.yaml:14:14: context 'prod' names cluster 'eks-prod', which "
		     "is not defined");
	expect_error("broken/missing-user.yaml", KS_ENOTFOUND,
		     "missing-user.yaml:15:11: context 'ctx' names user 'bob', which is not "
		     "defined");
	expect_error("broken/no-current.yaml", KS_EINVAL,
		     "no current-context is set and no context was given (--context)");
	expect_error("broken/bad-base64.yaml", KS_EINVAL,
		     "bad-base64.yaml:7:33: cluster 'c': certificate-authority-data is not valid "
		     "base64: illegal base64 data at input byte 12");
	expect_error("broken/missing-key.yaml", KS_EINVAL,
		     "missing-key.yaml:8:3: user 'certonly' has a client certificate but no "
		     "client-key or client-key-data");
	expect_error("broken/duplicate.yaml", KS_EINVAL,
		     "duplicate.yaml:7:3: cluster 'c' is defined twice in this file (first at line "
		     "4)");
	expect_error("broken/unreadable-ca.yaml", KS_EIO,
		     "unreadable-ca.yaml:7:28: cluster 'c': certificate-authority: cannot read ");
	expect_error("broken/unreadable-ca.yaml", KS_EIO,
		     "does-not-exist/ca.crt: No such file or directory");
	expect_error("broken/v1-exec-no-interactive.yaml", KS_EINVAL,
		     "v1-exec-no-interactive.yaml:11:7: user 'u': exec with apiVersion "
		     "client.authentication.k8s.io/v1 needs interactiveMode");
	expect_error("broken/exec-alpha.yaml", KS_EUNSUPPORTED,
		     "exec-alpha.yaml:11:19: user 'u': exec apiVersion "
		     "'client.authentication.k8s.io/v1alpha1' is not supported");
}

static void unreadable_files(void **state)
{
	(void)state;
	char *dir = tu_mkdtemp();
	char *sub = path_in(dir, "a-directory");
	mkdir(sub, 0700);
	write_in(dir, "secret.key", FAKE_KEY);
	write_in(dir, "config",
		 "clusters: [{name: c, cluster: {server: https://x, certificate-authority: "
		 "a-directory}}]\n"
		 "users: [{name: u, user: {client-certificate: a-directory, client-key: "
		 "secret.key}}]\n"
		 "contexts:\n- {name: ctx, context: {cluster: c, user: u}}\n"
		 "- {name: ctx2, context: {cluster: c2, user: u}}\n"
		 "current-context: ctx\n");
	char *kc = path_in(dir, "config");
	struct kube_config cfg;
	struct ks_err err = {0};
	assert_int_equal(load(kc, NULL, &cfg, &err), KS_EIO);
	assert_contains(err.msg, ":1:74: cluster 'c': certificate-authority: cannot read");
	assert_contains(err.msg, "Is a directory");
	kube_config_release(&cfg);
	/* The kubeconfig itself a directory. */
	assert_int_equal(load(sub, NULL, &cfg, &err), KS_EIO);
	assert_contains(err.msg, "Is a directory");
	kube_config_release(&cfg);
	if (geteuid() != 0) { /* root reads anything */
		char *kp = path_in(dir, "secret.key");
		chmod(kp, 0);
		write_in(dir, "config2",
			 "clusters: [{name: c, cluster: {server: https://x}}]\n"
			 "users: [{name: u, user: {client-certificate-data: "
			 "LS0tLS1CRUdJTiBYLS0tLS0K, client-key: secret.key}}]\n"
			 "contexts: [{name: ctx, context: {cluster: c, user: u}}]\n"
			 "current-context: ctx\n");
		char *kc2 = path_in(dir, "config2");
		assert_int_equal(load(kc2, NULL, &cfg, &err), KS_EIO);
		assert_contains(err.msg, "Permission denied");
		kube_config_release(&cfg);
		free(kc2);
		free(kp);
	}
	free(kc);
	free(sub);
	tu_rmtree(dir);
	free(dir);
}

static void checks_like_kubectl(void **state)
{
	(void)state;
	struct {
		const char *yaml, *needle;
		int code;
	} cases[] = {
		{"current-context: x\n",
		 "<t>:1:18: current-context 'x' names a context that is not "
		 "defined",
		 KS_ENOTFOUND},
		{"clusters: [{name: c, cluster: {}}]\ncontexts: [{name: x, context: {cluster: "
		 "c}}]\n"
		 "current-context: x\n",
		 "<t>:1:12: cluster 'c' has no server", KS_EINVAL},
		{"contexts: [{name: x, context: {user: u}}]\ncurrent-context: x\n",
		 "<t>:1:12: context 'x' names no cluster", KS_EINVAL},
		{"clusters: [{name: c, cluster: {server: s, insecure-skip-tls-verify: true, "
		 "certificate-authority-data: QUJD}}]\n"
		 "contexts: [{name: x, context: {cluster: c}}]\ncurrent-context: x\n",
		 "insecure-skip-tls-verify together with a certificate authority", KS_EINVAL},
		{"clusters: [{name: c, cluster: {server: s, certificate-authority: /x, "
		 "certificate-authority-data: QUJD}}]\n"
		 "contexts: [{name: x, context: {cluster: c}}]\ncurrent-context: x\n",
		 "sets both certificate-authority and certificate-authority-data", KS_EINVAL},
		{"clusters: [{name: c, cluster: {server: s, proxy-url: 'ftp://u:pw@p'}}]\n"
		 "contexts: [{name: x, context: {cluster: c}}]\ncurrent-context: x\n",
		 "proxy-url must start with http://, https:// or socks5://", KS_EINVAL},
		{"clusters: [{name: c, cluster: {server: s}}]\n"
		 "users: [{name: u, user: {token: t, username: a, password: b}}]\n"
		 "contexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n",
		 "only one authentication method is allowed", KS_EINVAL},
		{"clusters: [{name: c, cluster: {server: s}}]\n"
		 "users: [{name: u, user: {auth-provider: {name: gcp}}}]\n"
		 "contexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n",
		 "auth-provider 'gcp' is not supported", KS_EUNSUPPORTED},
		{"clusters: [{name: c, cluster: {server: s}}]\n"
		 "users: [{name: u, user: {token: t, as: admin}}]\n"
		 "contexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n",
		 "impersonation", KS_EUNSUPPORTED},
		{"clusters: [{name: c, cluster: {server: s}}]\n"
		 "users: [{name: u, user: {exec: {apiVersion: "
		 "client.authentication.k8s.io/v1beta1, "
		 "command: p, interactiveMode: Sometimes}}}]\n"
		 "contexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n",
		 "interactiveMode 'Sometimes' is not Never, IfAvailable or Always", KS_EINVAL},
		{"clusters: [{name: c, cluster: {server: s}}]\n"
		 "users: [{name: u, user: {exec: {apiVersion: "
		 "client.authentication.k8s.io/v1beta1, "
		 "command: p, env: [{value: x}]}}}]\n"
		 "contexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n",
		 "an exec env entry has no name", KS_EINVAL},
		{"clusters: [{name: c, cluster: {server: s}}]\n"
		 "users: [{name: u, user: {exec: {apiVersion: client.authentication.k8s.io/v1}}}]\n"
		 "contexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n",
		 "exec has no command", KS_EINVAL},
		/* Decoding errors anywhere in the file, even in unused stanzas (as kubectl). */
		{"clusters: [{name: c, cluster: {server: s, insecure-skip-tls-verify: maybe}}]\n",
		 "<t>:1:69: cluster 'c': insecure-skip-tls-verify must be true or false",
		 KS_EINVAL},
		{"users: [{name: u, user: {client-key-data: 'not base64'}}]\n",
		 "user 'u': client-key-data is not valid base64: illegal base64 data at input byte "
		 "3",
		 KS_EINVAL},
		{"clusters: {c: {server: s}}\n", "<t>:1:11: clusters must be a list", KS_EINVAL},
		{"clusters:\n- name: c\n  cluster:\n    server: a\n    server: b\n",
		 "<t>:5:5: duplicate key 'server' in cluster 'c' (first at line 4)", KS_EINVAL},
		{"base: &b {server: s}\nclusters: [{name: c, cluster: {<<: *b}}]\n",
		 "<t>:2:32: YAML merge keys (<<) are not supported", KS_EUNSUPPORTED},
		{"apiVersion: v2\n", "<t>:1:13: apiVersion 'v2' is not supported", KS_EINVAL},
		{"kind: Pod\n", "kind 'Pod' is not a kubeconfig", KS_EINVAL},
		{"- a\n- b\n", "<t>:1:1: not a kubeconfig", KS_EINVAL},
		{"a: *nothing\n", "<t>:1:5: alias to an anchor that is not defined", KS_EINVAL},
		{"users: [{name: u, user: {token: \"a\\0b\"}}]\n", "token holds a NUL", KS_EINVAL},
		/* Not YAML's character set (libfyaml 0.7.12 loops forever on the first one). */
		{"%: e\xff\xff---\n", "<t>:1:5: invalid UTF-8 (byte 4)", KS_EINVAL},
		{"a: b\nc: \x01\n", "<t>:2:4: control character U+0001 is not allowed", KS_EINVAL},
		{"a: \xed\xa0\x80\n", "<t>:1:4: invalid UTF-8", KS_EINVAL},
		{"\xff\xfe" "a\n", "the file is UTF-16", KS_EINVAL},
		/* Inputs that crash libfyaml 0.7.12 (a double free), refused up front. */
		{"? c:\t:\n", "<t>:1:1: explicit mapping keys ('? ') are not supported",
		 KS_EUNSUPPORTED},
		{"a:\n  - - ? b\n", "<t>:2:7: explicit mapping keys", KS_EUNSUPPORTED},
		{"x:\n: ? c:\t:\n", "<t>:2:7: a tab between ':' and ':' is not supported",
		 KS_EUNSUPPORTED},
		{"a: b:\t |\n", "<t>:1:6: a tab between ':' and '|'", KS_EUNSUPPORTED},
	};
	int bad = 0;
	for (size_t i = 0; i < KS_ARRAY_LEN(cases); i++) {
		struct ks_err err = {0};
		int rc = kube_config_parse_mem("<t>", cases[i].yaml, strlen(cases[i].yaml), &err);
		if (rc != cases[i].code || !strstr(err.msg, cases[i].needle) ||
		    strncmp(err.msg, "kubeconfig <t>", 14)) {
			print_error("case %zu: rc %d, want %d: \"%s\" not in \"%s\"\n", i, rc,
				    cases[i].code, cases[i].needle, err.msg);
			bad++;
		}
	}
	assert_int_equal(bad, 0);
	/* What loads fine: empty files, unknown fields, aliases, YAML 1.1 booleans, JSON, an
	 * unused broken reference, and a context without a user (anonymous). */
	const char *ok[] = {
		"",
		"# only a comment\n",
		"---\napiVersion: v1\nkind: Config\npreferences: {colors: true}\nfuture-field: 1\n",
		"clusters: [{name: c, cluster: &c {server: s, insecure-skip-tls-verify: yes}}, "
		"{name: d, cluster: *c}]\ncontexts: [{name: x, context: {cluster: d}}]\n"
		"current-context: x\n",
		"{\"clusters\": [{\"name\": \"c\", \"cluster\": {\"server\": \"s\"}}]}",
		"contexts: [{name: broken, context: {cluster: nowhere, user: nobody}}]\n",
		"clusters: [{name: c, cluster: {server: s}}]\ncontexts: [{name: x, context: "
		"{cluster: "
		"c}}]\ncurrent-context: x\n---\nthis: [is ignored\n",
		"clusters:\n- name: c\n  cluster:\n    server:\thttps://tab.example.com\n"
		"    token:\n    extensions:\n"
		"    - name: client.authentication.k8s.io/exec\n      extension: {a: [1, {b: "
		"~}]}\n",
	};
	for (size_t i = 0; i < KS_ARRAY_LEN(ok); i++) {
		struct ks_err err = {0};
		if (kube_config_parse_mem("<ok>", ok[i], strlen(ok[i]), &err))
			fail_msg("ok case %zu: %s", i, err.msg);
	}
	/* Ceilings: the file size, and aliases that would expand to a huge tree. */
	size_t big = KUBE_CONFIG_MAX_BYTES + 1;
	char *huge = ks_malloc(big);
	memset(huge, '#', big);
	struct ks_err err = {0};
	assert_int_equal(kube_config_parse_mem("<big>", huge, big, &err), KS_ETOOBIG);
	assert_contains(err.msg, "larger than the 4194304-byte limit");
	free(huge);
	/* "Billion laughs": 10^12 nodes through aliases, built in O(size); writing it as JSON
	 * stops at the ceiling. */
	const char *tails[] = {
		"    extensions: [{name: client.authentication.k8s.io/exec, extension: *a11}]\n",
	};
	const char *want[] = {"JSON larger than 1048576 bytes"};
	for (size_t t = 0; t < KS_ARRAY_LEN(tails); t++) {
		struct ks_buf laughs;
		ks_buf_init(&laughs, KS_BUF_UNLIMITED);
		ks_buf_appendstr(&laughs, "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
		for (int i = 1; i < 12; i++)
			ks_buf_appendf(
				&laughs,
				"a%d: &a%d [*a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d]\n", i,
				i, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1);
		ks_buf_appendstr(&laughs, "clusters:\n- name: c\n  cluster:\n    server: s\n");
		ks_buf_appendstr(&laughs, tails[t]);
		int rc = kube_config_parse_mem("<laughs>", laughs.data, laughs.len, &err);
		if (rc != KS_ETOOBIG)
			fail_msg("laughs %zu: rc %d: %s", t, rc, err.msg);
		assert_contains(err.msg, want[t]);
		ks_buf_release(&laughs);
	}
}

/* ---- exec plugins ------------------------------------------------------------------------ */

static void exec_v1_cached_until_expiry(void **state)
{
	(void)state;
	char *dir = tu_mkdtemp();
	write_script(
		dir, "plugin.sh",
		PLUGIN_COUNT
		"printf '%s' \"$KUBERNETES_EXEC_INFO\" > \"$PLUGIN_DIR/info.json\"\n"
		"printf '%s\\n' \"$@\" > \"$PLUGIN_DIR/args.txt\"\n"
		"printf '%s' \"$PLUGIN_SECRET\" > \"$PLUGIN_DIR/env.txt\"\n"
		"echo \"progress on stderr\" >&2\n"
		"cat <<EOF\n"
		"{\"kind\":\"ExecCredential\",\"apiVersion\":\"client.authentication.k8s.io/v1\","
		"\"spec\":{},\"status\":{\"token\":\"exec-token-$n\","
		"\"expirationTimestamp\":\"2200-01-01T00:00:00Z\"}}\n"
		"EOF\n");
	/* A relative command with a '/' is relative to the kubeconfig's directory. */
	char *kc =
		exec_kubeconfig(dir, "./plugin.sh", "client.authentication.k8s.io/v1", NULL, NULL);
	struct kube_config cfg;
	struct ks_err err = {0};
	if (load_exec(kc, 0, &cfg, &err))
		fail_msg("%s", err.msg);
	assert_true(cfg.has_exec);
	char *abs_cmd = path_in(dir, "plugin.sh");
	assert_string_equal(cfg.exec.command, abs_cmd);
	assert_int_equal(cfg.exec.interactive_mode, KUBE_EXEC_INTERACTIVE_NEVER);
	assert_int_equal(count_of(dir), 0); /* nothing runs at load */

	struct kube_credential c1, c2, c3;
	if (kube_auth_get(&cfg, &c1, &err))
		fail_msg("%s", err.msg);
	assert_string_equal(c1.token, "exec-token-1");
	assert_true(c1.from_exec);
	int64_t want_exp = 0;
	assert_int_equal(ks_time_parse_rfc3339("2200-01-01T00:00:00Z", 20, &want_exp, NULL), 0);
	assert_true(c1.expiry_ns == want_exp);
	if (kube_auth_get(&cfg, &c2, &err))
		fail_msg("%s", err.msg);
	assert_string_equal(c2.token, "exec-token-1");
	assert_true(c2.generation == c1.generation);
	assert_int_equal(count_of(dir), 1); /* called once for two gets */

	/* A 401: the plugin runs again. */
	kube_auth_invalidate(&cfg);
	if (kube_auth_get(&cfg, &c3, &err))
		fail_msg("%s", err.msg);
	assert_string_equal(c3.token, "exec-token-2");
	assert_true(c3.generation != c1.generation);
	assert_int_equal(count_of(dir), 2);

	/* What the plugin saw: args, env, and KUBERNETES_EXEC_INFO. */
	char *p = path_in(dir, "args.txt");
	char *args = slurp(p);
	char *want_args = ks_asprintf("--out\n%s/args\n" SECRET "-in-args\n", dir);
	assert_string_equal(args, want_args);
	free(want_args);
	free(args);
	free(p);
	p = path_in(dir, "env.txt");
	char *envv = slurp(p);
	assert_string_equal(envv, SECRET "-in-env");
	free(envv);
	free(p);
	p = path_in(dir, "info.json");
	char *info = slurp(p);
	cJSON *j = ks_json_parse(info, strlen(info), 1 << 20, &err);
	if (!j)
		fail_msg("KUBERNETES_EXEC_INFO is not JSON: %s: %s", err.msg, info);
	assert_string_equal(ks_json_str(j, "kind"), "ExecCredential");
	assert_string_equal(ks_json_str(j, "apiVersion"), "client.authentication.k8s.io/v1");
	const cJSON *inter = ks_json_get(j, "spec.interactive");
	assert_true(cJSON_IsBool(inter) && cJSON_IsFalse(inter));
	assert_string_equal(ks_json_str(j, "spec.cluster.server"), "https://exec.example.com:6443");
	assert_string_equal(ks_json_str(j, "spec.cluster.tls-server-name"), "exec.internal");
	const char *cad = ks_json_str(j, "spec.cluster.certificate-authority-data");
	assert_non_null(cad);
	unsigned char *ca = NULL;
	size_t calen = 0;
	assert_int_equal(ks_base64_decode(cad, strlen(cad), &ca, &calen, NULL), 0);
	assert_string_equal((char *)ca, FAKE_CA);
	free(ca);
	assert_string_equal(ks_json_str(j, "spec.cluster.config.audience"), "kswarm");
	assert_int_equal(ks_json_int_or(j, "spec.cluster.config.retries", 0), 3);
	assert_true(ks_json_bool_or(j, "spec.cluster.config.nested.on", false));
	const cJSON *list = ks_json_get(j, "spec.cluster.config.nested.list");
	assert_int_equal(ks_json_len(list), 3);
	assert_true(cJSON_IsNull(cJSON_GetArrayItem(list, 2)));
	cJSON_Delete(j);
	free(info);
	free(p);

	kube_credential_release(&c1);
	kube_credential_release(&c2);
	kube_credential_release(&c3);
	kube_config_release(&cfg);
	free(abs_cmd);
	free(kc);
	tu_rmtree(dir);
	free(dir);
}

static void exec_expired_reruns(void **state)
{
	(void)state;
	char *dir = tu_mkdtemp();
	write_script(dir, "plugin.sh",
		     PLUGIN_COUNT
		     "echo '{\"kind\":\"ExecCredential\",\"apiVersion\":"
		     "\"client.authentication.k8s.io/v1\",\"status\":{\"token\":\"old\","
		     "\"expirationTimestamp\":\"2001-02-03T04:05:06Z\"}}'\n");
	char *cmd = path_in(dir, "plugin.sh");
	char *kc = exec_kubeconfig(dir, cmd, "client.authentication.k8s.io/v1", NULL, NULL);
	struct kube_config cfg;
	struct ks_err err = {0};
	if (load_exec(kc, 0, &cfg, &err))
		fail_msg("%s", err.msg);
	for (int i = 1; i <= 3; i++) {
		struct kube_credential c;
		if (kube_auth_get(&cfg, &c, &err))
			fail_msg("%s", err.msg);
		assert_string_equal(c.token, "old");
		assert_int_equal(count_of(dir), i);
		kube_credential_release(&c);
	}
	kube_config_release(&cfg);
	free(kc);
	free(cmd);
	tu_rmtree(dir);
	free(dir);
}

static void exec_v1beta1_aws_style(void **state)
{
	(void)state;
	char *dir = tu_mkdtemp();
	/* The shape `aws eks get-token` prints; no expiry in a second case: cached forever. */
	write_script(dir, "aws",
		     PLUGIN_COUNT
		     "cat <<'EOF'\n"
		     "{\n  \"kind\": \"ExecCredential\",\n"
		     "  \"apiVersion\": \"client.authentication.k8s.io/v1beta1\",\n"
		     "  \"spec\": {},\n  \"status\": {\n"
		     "    \"expirationTimestamp\": \"2200-05-01T12:14:00Z\",\n"
		     "    \"token\": \"k8s-aws-v1.aHR0cHM6Ly9zdHMuYW1hem9uYXdzLmNvbS8\"\n  }\n}\n"
		     "EOF\n");
	/* A command without '/' is looked up in $PATH. */
	const char *old_path = getenv("PATH");
	char *saved = ks_strdup(old_path ? old_path : "/usr/bin:/bin");
	char *path = ks_asprintf("%s:%s", dir, saved);
	setenv("PATH", path, 1);
	char *kc = path_in(dir, "config");
	tu_write_file(kc, "apiVersion: v1\nkind: Config\n"
			  "clusters: [{name: eks, cluster: {server: https://eks.example.com}}]\n"
			  "users:\n- name: eks\n  user:\n    exec:\n"
			  "      apiVersion: client.authentication.k8s.io/v1beta1\n"
			  "      command: aws\n"
			  "      args: [eks, get-token, --cluster-name, demo]\n"
			  "      env: [{name: PLUGIN_DIR, value: DIR}]\n"
			  "contexts: [{name: eks, context: {cluster: eks, user: eks}}]\n"
			  "current-context: eks\n");
	char *yaml = slurp(kc);
	char *dirpos = strstr(yaml, "DIR}");
	assert_non_null(dirpos);
	char *fixed = ks_asprintf("%.*s%s%s", (int)(dirpos - yaml), yaml, dir, dirpos + 3);
	tu_write_file(kc, fixed);
	struct kube_config cfg;
	struct ks_err err = {0};
	if (load_exec(kc, 0, &cfg, &err))
		fail_msg("%s", err.msg);
	/* v1beta1 defaults interactiveMode to IfAvailable. */
	assert_int_equal(cfg.exec.interactive_mode, KUBE_EXEC_INTERACTIVE_IF_AVAILABLE);
	struct kube_credential c;
	if (kube_auth_get(&cfg, &c, &err))
		fail_msg("%s", err.msg);
	assert_string_equal(c.token, "k8s-aws-v1.aHR0cHM6Ly9zdHMuYW1hem9uYXdzLmNvbS8");
	kube_credential_release(&c);
	if (kube_auth_get(&cfg, &c, &err))
		fail_msg("%s", err.msg);
	kube_credential_release(&c);
	assert_int_equal(count_of(dir), 1);
	kube_config_release(&cfg);
	setenv("PATH", saved, 1);
	free(fixed);
	free(yaml);
	free(kc);
	free(path);
	free(saved);
	tu_rmtree(dir);
	free(dir);
}

static void exec_client_cert(void **state)
{
	(void)state;
	char *dir = tu_mkdtemp();
	write_script(
		dir, "plugin.sh",
		"cat <<'EOF'\n"
		"{\"kind\":\"ExecCredential\",\"apiVersion\":\"client.authentication.k8s.io/v1\","
		"\"status\":{\"clientCertificateData\":\"-----BEGIN CERTIFICATE-----\\nQUJD\\n"
		"-----END CERTIFICATE-----\\n\",\"clientKeyData\":\"-----BEGIN EC PRIVATE "
		"KEY-----\\nREVG\\n-----END EC PRIVATE KEY-----\\n\"}}\n"
		"EOF\n");
	char *cmd = path_in(dir, "plugin.sh");
	char *kc = exec_kubeconfig(dir, cmd, "client.authentication.k8s.io/v1", NULL, NULL);
	struct kube_config cfg;
	struct ks_err err = {0};
	if (load_exec(kc, 0, &cfg, &err))
		fail_msg("%s", err.msg);
	struct kube_credential c;
	if (kube_auth_get(&cfg, &c, &err))
		fail_msg("%s", err.msg);
	assert_null(c.token);
	assert_string_equal(c.cert.data,
			    "-----BEGIN CERTIFICATE-----\nQUJD\n-----END CERTIFICATE-----\n");
	assert_int_equal(c.cert.len, strlen(c.cert.data));
	assert_string_equal(c.key.data,
			    "-----BEGIN EC PRIVATE KEY-----\nREVG\n-----END EC PRIVATE KEY-----\n");
	assert_int_equal(c.expiry_ns, 0);
	kube_credential_release(&c);
	kube_config_release(&cfg);
	free(kc);
	free(cmd);
	tu_rmtree(dir);
	free(dir);
}

/* Run a plugin script that must fail; the message must contain needle and no secret. */
static void exec_fails(const char *body, const char *api, int timeout_ms, int want_code,
		       const char *needle, const char *extra_exec)
{
	char *dir = tu_mkdtemp();
	write_script(dir, "plugin.sh", body);
	char *cmd = path_in(dir, "plugin.sh");
	char *kc = exec_kubeconfig(dir, cmd, api ? api : "client.authentication.k8s.io/v1",
				   extra_exec, NULL);
	struct kube_config cfg;
	struct ks_err err = {0};
	if (load_exec(kc, timeout_ms, &cfg, &err))
		fail_msg("%s", err.msg);
	struct kube_credential c;
	int rc = kube_auth_get(&cfg, &c, &err);
	if (rc != want_code)
		fail_msg("rc %d (%s), want %d", rc, err.msg, want_code);
	assert_null(c.token);
	assert_contains(err.msg, needle);
	assert_contains(err.msg, cmd);
	if (strstr(err.msg, SECRET))
		fail_msg("secret in \"%s\"", err.msg);
	kube_config_release(&cfg);
	free(kc);
	free(cmd);
	tu_rmtree(dir);
	free(dir);
}

static void exec_failures(void **state)
{
	(void)state;
	/* Exit 1: the error carries stderr (not stdout, which may hold a token). */
	exec_fails(
		"echo '{\"status\":{\"token\":\"" SECRET "\"}}'\n"
		"echo 'error: SSO session expired;' >&2\necho '  run: aws sso login' >&2\nexit 1\n",
		NULL, 0, KS_EAUTH,
		"failed with exit code 1: error: SSO session expired; run: aws sso login", NULL);
	/* Not JSON. */
	exec_fails("echo 'token=" SECRET "'\n", NULL, 0, KS_EAUTH,
		   "output is not an ExecCredential: invalid JSON at byte 0", NULL);
	/* Wrong apiVersion. */
	exec_fails(
		"echo '{\"kind\":\"ExecCredential\",\"apiVersion\":"
		"\"client.authentication.k8s.io/v1beta1\",\"status\":{\"token\":\"" SECRET
		"\"}}'\n",
		NULL, 0, KS_EAUTH,
		"plugin is configured to use API version client.authentication.k8s.io/v1, plugin "
		"returned version client.authentication.k8s.io/v1beta1",
		NULL);
	/* Wrong kind, no status, half a key pair, a bad expiry. */
	exec_fails("echo '{\"kind\":\"Secret\",\"apiVersion\":\"client.authentication.k8s.io/v1\","
		   "\"status\":{\"token\":\"" SECRET "\"}}'\n",
		   NULL, 0, KS_EAUTH, "output's kind is not ExecCredential", NULL);
	exec_fails("echo '{\"kind\":\"ExecCredential\",\"apiVersion\":"
		   "\"client.authentication.k8s.io/v1\"}'\n",
		   NULL, 0, KS_EAUTH, "plugin didn't return a status field", NULL);
	exec_fails("echo '{\"kind\":\"ExecCredential\",\"apiVersion\":"
		   "\"client.authentication.k8s.io/v1\",\"status\":{\"clientKeyData\":\"" SECRET
		   "\"}}'\n",
		   NULL, 0, KS_EAUTH, "only a client certificate or a key, not both", NULL);
	exec_fails("echo '{\"kind\":\"ExecCredential\",\"apiVersion\":"
		   "\"client.authentication.k8s.io/v1\",\"status\":{\"token\":\"" SECRET
		   "\",\"expirationTimestamp\":\"tomorrow\"}}'\n",
		   NULL, 0, KS_EAUTH, "status.expirationTimestamp is not an RFC 3339 time", NULL);
	/* Killed by a signal. */
	exec_fails("kill -TERM $$\n", NULL, 0, KS_EAUTH, "was killed by signal 15", NULL);
	/* interactiveMode Always: never possible for kswarm. */
	exec_fails("exit 0\n", "client.authentication.k8s.io/v1beta1", 0, KS_EAUTH,
		   "interactiveMode Always needs a terminal", "      interactiveMode: Always\n");
}

static bool process_gone(pid_t pid)
{
	char p[64], buf[512];
	snprintf(p, sizeof p, "/proc/%d/stat", (int)pid);
	FILE *f = fopen(p, "r");
	if (!f)
		return true;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	const char *rp = strrchr(buf, ')');
	return rp && (rp[2] == 'Z' || rp[2] == 'X');
}

static void exec_timeout_kills(void **state)
{
	(void)state;
	char *dir = tu_mkdtemp();
	write_script(dir, "plugin.sh",
		     "echo \"$$\" > \"$PLUGIN_DIR/pid\"\n"
		     "sleep 30 &\necho \"$!\" > \"$PLUGIN_DIR/child\"\n"
		     "echo 'waiting for a browser login' >&2\nwait\n");
	char *cmd = path_in(dir, "plugin.sh");
	char *kc = exec_kubeconfig(dir, cmd, "client.authentication.k8s.io/v1", NULL, NULL);
	struct kube_config cfg;
	struct ks_err err = {0};
	if (load_exec(kc, 400, &cfg, &err))
		fail_msg("%s", err.msg);
	struct kube_credential c;
	int64_t t0 = ks_mono_ms();
	assert_int_equal(kube_auth_get(&cfg, &c, &err), KS_ETIMEOUT);
	int64_t took = ks_mono_ms() - t0;
	assert_true(took >= 350 && took < 5000);
	assert_contains(err.msg, "did not finish within 400 ms");
	assert_contains(err.msg, "stderr: waiting for a browser login");
	/* The plugin and what it started are gone. */
	char *pp = path_in(dir, "pid"), *cp = path_in(dir, "child");
	char *ps = slurp(pp), *cs = slurp(cp);
	assert_non_null(ps);
	assert_non_null(cs);
	assert_true(process_gone((pid_t)atoi(ps)));
	for (int i = 0; i < 100 && !process_gone((pid_t)atoi(cs)); i++)
		usleep(10000);
	assert_true(process_gone((pid_t)atoi(cs)));
	free(ps);
	free(cs);
	free(pp);
	free(cp);
	kube_config_release(&cfg);
	free(kc);
	free(cmd);
	tu_rmtree(dir);
	free(dir);
}

static void exec_not_found_and_skipped(void **state)
{
	(void)state;
	char *dir = tu_mkdtemp();
	/* Not found: names the command and prints the installHint. */
	char *kc = exec_kubeconfig(dir, "kswarm-no-such-plugin", "client.authentication.k8s.io/v1",
				   NULL, NULL);
	struct kube_config cfg;
	struct ks_err err = {0};
	if (load_exec(kc, 0, &cfg, &err))
		fail_msg("%s", err.msg);
	struct kube_credential c;
	assert_int_equal(kube_auth_get(&cfg, &c, &err), KS_EAUTH);
	assert_contains(err.msg, "exec plugin: executable kswarm-no-such-plugin not found");
	assert_contains(err.msg, "Install the plugin with: apt install example-plugin");
	assert_null(strstr(err.msg, SECRET));
	kube_config_release(&cfg);
	free(kc);

	/* A plugin next to a token: client-go uses the token and never runs the plugin. */
	write_script(dir, "plugin.sh", PLUGIN_COUNT "exit 1\n");
	char *cmd = path_in(dir, "plugin.sh");
	kc = exec_kubeconfig(dir, cmd, "client.authentication.k8s.io/v1", NULL,
			     "    token: static-token\n");
	if (load_exec(kc, 0, &cfg, &err))
		fail_msg("%s", err.msg);
	if (kube_auth_get(&cfg, &c, &err))
		fail_msg("%s", err.msg);
	assert_string_equal(c.token, "static-token");
	assert_false(c.from_exec);
	assert_int_equal(count_of(dir), 0);
	kube_credential_release(&c);
	kube_config_release(&cfg);

	/* Not executable. */
	char *noexec = path_in(dir, "noexec.sh");
	tu_write_file(noexec, "#!/bin/sh\nexit 0\n");
	chmod(noexec, 0644);
	free(kc);
	kc = exec_kubeconfig(dir, noexec, "client.authentication.k8s.io/v1", NULL, NULL);
	if (load_exec(kc, 0, &cfg, &err))
		fail_msg("%s", err.msg);
	/* Refused before forking (root too: execve wants an x bit). */
	assert_int_equal(kube_auth_get(&cfg, &c, &err), KS_EAUTH);
	assert_contains(err.msg, "cannot run");
	assert_contains(err.msg, "Permission denied");
	kube_config_release(&cfg);
	free(noexec);
	free(cmd);
	free(kc);
	tu_rmtree(dir);
	free(dir);
}

static void execcred_parser(void **state)
{
	(void)state;
	const char *v1 = "client.authentication.k8s.io/v1";
	struct kube_credential c;
	struct ks_err err = {0};
	const char *ok = "{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":"
			 "\"ExecCredential\",\"status\":{\"token\":\"t\",\"expirationTimestamp\":"
			 "null,\"unknown\":1},\"extra\":[]}";
	assert_int_equal(kube_execcred_parse(ok, strlen(ok), v1, &c, &err), 0);
	assert_string_equal(c.token, "t");
	assert_int_equal(c.expiry_ns, 0);
	kube_credential_release(&c);
	/* Expiries beyond what int64 nanoseconds hold: far future, and long past. */
	const char *far = "{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":"
			  "\"ExecCredential\",\"status\":{\"token\":\"t\",\"expirationTimestamp\":"
			  "\"9999-12-31T23:59:59Z\"}}";
	assert_int_equal(kube_execcred_parse(far, strlen(far), v1, &c, &err), 0);
	assert_true(c.expiry_ns == INT64_MAX);
	kube_credential_release(&c);
	const char *past = "{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":"
			   "\"ExecCredential\",\"status\":{\"token\":\"t\",\"expirationTimestamp\":"
			   "\"0001-01-01T00:00:00+01:00\"}}";
	assert_int_equal(kube_execcred_parse(past, strlen(past), v1, &c, &err), 0);
	assert_true(c.expiry_ns > 0 && c.expiry_ns < ks_time_now_ms() * 1000000);
	kube_credential_release(&c);
	struct {
		const char *in, *needle;
	} bad[] = {
		{"", "invalid JSON"},
		{"[]", "not a JSON object"},
		{"{\"kind\":\"ExecCredential\"}", "no apiVersion"},
		{"{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\","
		 "\"status\":{\"token\":\"t\",\"expirationTimestamp\":\"2026-13-01T00:00:00Z\"}}",
		 "status.expirationTimestamp is not an RFC 3339 time"},
		{"{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\","
		 "\"status\":{\"token\":\"t\",\"expirationTimestamp\":\"99999-01-01T00:00:00Z\"}}",
		 "status.expirationTimestamp is not an RFC 3339 time"},
		{"{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\","
		 "\"status\":{\"token\":5}}",
		 "status.token must be a string"},
		{"{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\","
		 "\"status\":{}}",
		 "didn't return a token or cert/key pair"},
		{"{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\","
		 "\"status\":{\"clientCertificateData\":\"Q0VSVA==\",\"clientKeyData\":\"S0VZ\"}}",
		 "must be PEM"},
		{"{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\","
		 "\"status\":{\"token\":\"t\"}} trailing",
		 "trailing data"},
	};
	for (size_t i = 0; i < KS_ARRAY_LEN(bad); i++) {
		if (kube_execcred_parse(bad[i].in, strlen(bad[i].in), v1, &c, &err) == 0)
			fail_msg("accepted %s", bad[i].in);
		assert_null(c.token);
		if (!strstr(err.msg, bad[i].needle))
			fail_msg("case %zu: \"%s\" not in \"%s\"", i, bad[i].needle, err.msg);
	}
	char *big = ks_malloc(KUBE_EXEC_STDOUT_MAX + 2);
	memset(big, ' ', KUBE_EXEC_STDOUT_MAX + 1);
	assert_int_equal(kube_execcred_parse(big, KUBE_EXEC_STDOUT_MAX + 1, v1, &c, &err),
			 KS_ETOOBIG);
	free(big);
}

/* ---- secrets ----------------------------------------------------------------------------- */

static void secrets_never_leak(void **state)
{
	(void)state;
	/* Capture every log line (at trace level) while failures happen around a secret. */
	char *dir = tu_mkdtemp();
	char *logp = path_in(dir, "log.txt");
	fflush(stderr);
	int saved = dup(2);
	int fd = open(logp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	dup2(fd, 2);
	close(fd);
	enum ks_log_level old = ks_log_get_level();
	ks_log_set_level(KS_LOG_TRACE);

	struct ks_buf msgs;
	ks_buf_init(&msgs, KS_BUF_UNLIMITED);
	const char *yamls[] = {
		/* syntax errors next to the secret */
		"users:\n- name: u\n  user:\n    token: " SECRET "\n    bad: [\n",
		"users: [{name: u, user: {token: \"" SECRET "}}]\n",
		"users:\n- name: u\n  user:\n    token: " SECRET "\n\t  password: x\n",
		/* type errors on secret fields */
		"users: [{name: u, user: {token: [" SECRET "]}}]\n",
		"users: [{name: u, user: {password: {" SECRET ": 1}}}]\n",
		"users: [{name: u, user: {client-key-data: " SECRET "}}]\n",
		"users: [{name: u, user: {token: " SECRET ", token: " SECRET "}}]\n",
		/* semantic errors in a user holding the secret */
		"clusters: [{name: c, cluster: {server: s}}]\n"
		"users: [{name: u, user: {token: " SECRET ", password: " SECRET "}}]\n"
		"contexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n",
		"clusters: [{name: c, cluster: {server: s, proxy-url: 'gopher://a:" SECRET
		"@p'}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\n"
		"users: [{name: u, user: {token: " SECRET "}}]\ncurrent-context: x\n",
		"clusters: [{name: c, cluster: {server: s}}]\n"
		"users: [{name: u, user: {token: " SECRET ", client-certificate-data: QUJD}}]\n"
		"contexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n",
	};
	for (size_t i = 0; i < KS_ARRAY_LEN(yamls); i++) {
		struct ks_err err = {0};
		int rc = kube_config_parse_mem("<secret>", yamls[i], strlen(yamls[i]), &err);
		if (rc == 0)
			fail_msg("case %zu was accepted", i);
		ks_buf_appendf(&msgs, "%s\n", err.msg);
	}
	/* The file loads, then every later failure: bad PEM, a token file that vanishes. */
	char *b64 = ks_base64_encode(SECRET, strlen(SECRET), NULL);
	char *y = ks_asprintf("clusters: [{name: c, cluster: {server: s}}]\n"
			      "users: [{name: u, user: {client-certificate-data: %s, "
			      "client-key-data: %s}},\n"
			      "        {name: f, user: {tokenFile: tok}}]\n"
			      "contexts: [{name: x, context: {cluster: c, user: u}},\n"
			      "           {name: f, context: {cluster: c, user: f}}]\n"
			      "current-context: x\n",
			      b64, b64);
	write_in(dir, "config", y);
	write_in(dir, "tok", SECRET "\n");
	char *kc = path_in(dir, "config");
	struct kube_config cfg;
	struct ks_err err = {0};
	assert_int_equal(load(kc, NULL, &cfg, &err), KS_EINVAL);
	assert_contains(err.msg, "not PEM");
	ks_buf_appendf(&msgs, "%s\n", err.msg);
	kube_config_release(&cfg);
	if (load(kc, "f", &cfg, &err))
		fail_msg("%s", err.msg);
	char *tokp = path_in(dir, "tok");
	unlink(tokp);
	kube_auth_invalidate(&cfg);
	struct kube_credential c;
	assert_int_equal(kube_auth_get(&cfg, &c, &err), 0);
	assert_string_equal(c.token, SECRET); /* the last good token, logged as a warning */
	kube_credential_release(&c);
	kube_config_release(&cfg);

	/* Exec plugins that print the secret and then fail in every way. */
	const char *bodies[] = {
		"echo '" SECRET "'\necho '{\"status\":{\"token\":\"" SECRET "\"}}'\nexit 3\n",
		"echo '{\"kind\":\"ExecCredential\",\"apiVersion\":\"" SECRET "\"}'\n",
		"echo '{\"kind\":\"" SECRET
		"\",\"apiVersion\":\"client.authentication.k8s.io/v1\"}'\n",
		"echo "
		"'{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\","
		"\"status\":{\"token\":\"" SECRET "\",\"expirationTimestamp\":5}}'\n",
		"printf '{\"token\":\"" SECRET "'\n",
	};
	for (size_t i = 0; i < KS_ARRAY_LEN(bodies); i++) {
		write_script(dir, "plugin.sh", bodies[i]);
		char *cmd = path_in(dir, "plugin.sh");
		char *ekc =
			exec_kubeconfig(dir, cmd, "client.authentication.k8s.io/v1", NULL, NULL);
		if (load_exec(ekc, 0, &cfg, &err))
			fail_msg("%s", err.msg);
		if (kube_auth_get(&cfg, &c, &err) == 0)
			fail_msg("plugin %zu succeeded", i);
		ks_buf_appendf(&msgs, "%s\n", err.msg);
		kube_config_release(&cfg);
		free(ekc);
		free(cmd);
	}
	/* A successful exec run logs too (at debug): still nothing secret. */
	write_script(dir, "plugin.sh",
		     "echo '{\"kind\":\"ExecCredential\",\"apiVersion\":"
		     "\"client.authentication.k8s.io/v1\",\"status\":{\"token\":\"" SECRET
		     "\"}}'\n");
	char *cmd = path_in(dir, "plugin.sh");
	char *ekc = exec_kubeconfig(dir, cmd, "client.authentication.k8s.io/v1", NULL, NULL);
	if (load_exec(ekc, 0, &cfg, &err))
		fail_msg("%s", err.msg);
	assert_int_equal(kube_auth_get(&cfg, &c, &err), 0);
	assert_string_equal(c.token, SECRET);
	kube_credential_release(&c);
	kube_auth_invalidate(&cfg);
	kube_config_release(&cfg);

	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	ks_log_set_level(old);
	char *log = slurp(logp);
	assert_non_null(log);
	assert_contains(log, "cannot read token file"); /* the log was captured */
	assert_contains(log, "running exec plugin");
	if (strstr(log, SECRET))
		fail_msg("secret in the log:\n%s", log);
	if (strstr(msgs.data, SECRET))
		fail_msg("secret in an error message:\n%s", msgs.data);
	if (strstr(msgs.data, b64))
		fail_msg("secret (base64) in an error message:\n%s", msgs.data);
	free(log);
	ks_buf_release(&msgs);
	free(ekc);
	free(cmd);
	free(tokp);
	free(kc);
	free(y);
	free(b64);
	free(logp);
	tu_rmtree(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(single_file, setup),
		cmocka_unit_test_setup(context_override, setup),
		cmocka_unit_test_setup(kubeconfig_env_merge, setup),
		cmocka_unit_test_setup(home_default, setup),
		cmocka_unit_test_setup(relative_paths, setup),
		cmocka_unit_test_setup(insecure_json, setup),
		cmocka_unit_test_setup(scalar_styles, setup),
		cmocka_unit_test_setup(token_file_rotation, setup),
		cmocka_unit_test_setup(in_cluster, setup),
		cmocka_unit_test_setup(broken_files, setup),
		cmocka_unit_test_setup(unreadable_files, setup),
		cmocka_unit_test_setup(checks_like_kubectl, setup),
		cmocka_unit_test_setup(exec_v1_cached_until_expiry, setup),
		cmocka_unit_test_setup(exec_expired_reruns, setup),
		cmocka_unit_test_setup(exec_v1beta1_aws_style, setup),
		cmocka_unit_test_setup(exec_client_cert, setup),
		cmocka_unit_test_setup(exec_failures, setup),
		cmocka_unit_test_setup(exec_timeout_kills, setup),
		cmocka_unit_test_setup(exec_not_found_and_skipped, setup),
		cmocka_unit_test_setup(execcred_parser, setup),
		cmocka_unit_test_setup(secrets_never_leak, setup),
	};
	return cmocka_run_group_tests_name("kubeconfig", tests, NULL, NULL);
}
