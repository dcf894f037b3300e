/* cmd_demo.c — `kswarm demo`: the whole system at work on a real control plane, with no
 * cluster of one's own.
 *
 * What it starts (and stops on exit or Ctrl-C, each by its PID; the simulator and the
 * daemon run in process groups of their own, signalled as groups):
 *   1. the local control plane "demo" (scripts/localcp.sh start; its progress is shown; it
 *      is stopped at the end only when the demo started it) — or, with --kubeconfig, the
 *      cluster that file names (the tests use their control plane);
 *   2. the simulator: a child `kswarm sim ... --vault-env` playing the demo's scenarios;
 *   3. Prometheus scraping the simulator, when /usr/bin/prometheus is installed
 *      (scripts/prometheus.sh; --no-prometheus skips it);
 *   4. the daemon: a child `kswarm run` (not daemon_run in this process: a crash or a leak
 *      of the daemon stays its own, its conversation stream goes straight to the terminal,
 *      and the demo only talks to it over the HTTP API as any client would), configured by
 *      a kswarm.yaml the demo writes in its state directory, with deploy/demo-policy.yaml.
 *
 * The timeline: each scenario's story line when its fault shows (`kswarm sim --check
 * broken`), the plans as they wait for approval, each scenario's end (`--check healthy`).
 * Approvals: without --interactive the demo approves, as "demo", every plan that the policy
 * leaves to a person (and says so); with --interactive it asks on the terminal ("approve p3?
 * [y/N/reason]") while the web UI and `kswarm plans approve` can decide too.
 * At the end: the summary from the transcript (src/daemon/demo.h), --summary-json; exit 0
 * when every scenario played ended healthy.
 * Ownership: everything lives in struct demo; demo_stop releases it. */
#include "base/common.h"
#include "base/alloc.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/json.h"
#include "base/strutil.h"
#include "base/timeutil.h"
#include "cli/cli.h"
#include "daemon/demo.h"
#include "server/apiclient.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

const char cmd_demo_usage[] =
	"Usage: kswarm demo [--interactive] [--scenario NAME]... [--list] [--speed X] [--no-ui]\n"
	"                   [--summary-json FILE] [--kubeconfig FILE] [--timeout DURATION]\n\n"
	"The whole system at work: starts the local control plane (building it the first time),\n"
	"the simulator playing the demo's scenarios, Prometheus when installed, and the daemon\n"
	"(`kswarm run`); problems appear, the agents talk, plans are approved, the cluster\n"
	"heals. Ends with a summary: problems found and fixed, time to fix, money saved per\n"
	"month, changes refused and why. Stops everything it started on exit or Ctrl-C.\n"
	"Exit status 0 when every scenario played ended healthy.\n\n"
	"Flags:\n"
	"      --interactive        approvals wait for a person (the terminal prompt, the web\n"
	"                           UI or `kswarm plans approve`); otherwise the demo approves\n"
	"                           what the policy leaves to a person, as \"demo\"\n"
	"      --scenario NAME      play this scenario (repeatable; default: the demo's set)\n"
	"      --list               the demo's scenarios and their story, then exit\n"
	"      --speed X            play X times faster (default 1; 0.1-20)\n"
	"      --no-ui              do not announce the web UI (the API listens on a free port)\n"
	"      --listen ADDR        the daemon's address (default 127.0.0.1:8080; --no-ui: :0)\n"
	"      --summary-json FILE  write {\"found\",\"fixed\",\"time_to_fix_s\",\n"
	"                           \"monthly_savings_usd\",\"refused\":[...]} there\n"
	"      --transcript-json FILE  write there the transcript the summary was computed from\n"
	"      --kubeconfig FILE    use this cluster instead of starting the local control plane\n"
	"                           (others may share it: nothing is automatic, and only plans\n"
	"                           about the scenarios' namespaces and NodePools are approved)\n"
	"      --no-prometheus      do not start Prometheus\n"
	"      --clean              delete the scenarios' namespaces and NodePools first (always\n"
	"                           on the demo's own control plane; with --kubeconfig only\n"
	"                           when asked)\n"
	"      --timeout DURATION   give up on the scenarios after this long (default 15m)\n"
	"      --llm-url URL        an LLM (Ollama, or OpenAI-compatible with --llm-backend\n"
	"                           openai) explains the agents' messages, its words streamed\n"
	"                           as they come; --llm-model M names the model\n";

#define DEMO_ENV "demo"
#define DEMO_MAX_SCENARIOS 16
#define DEMO_MAX_PLANS 64
#define DEMO_MEASURE_WAIT_S 120 /* at --speed 1 */

static volatile sig_atomic_t demo_interrupted;

static void on_signal(int sig)
{
	(void)sig;
	demo_interrupted = 1;
}

enum scenario_state { SC_WAITING, SC_BROKEN, SC_HEALTHY };

struct demo {
	/* flags */
	bool interactive, no_ui, no_prometheus, clean;
	double speed, timeout_s;
	const char *summary_json, *transcript_json, *kubeconfig, *listen;
	const char *llm_backend, *llm_url, *llm_model;
	const char *scenario[DEMO_MAX_SCENARIOS];
	enum scenario_state state[DEMO_MAX_SCENARIOS];
	size_t n_scenarios;
	/* what it started */
	char *srcdir, *self, *statedir, *kubeconfig_owned, *prom_url;
	bool started_cp, started_prom;
	pid_t sim_pid, run_pid;
	struct apiclient *api;
	int64_t t0_ms;
	/* the namespaces and NodePools of the scenarios (what the demo approves and counts) */
	char *scope[4 * DEMO_MAX_SCENARIOS];
	bool scope_is_pool[4 * DEMO_MAX_SCENARIOS];
	size_t nscope;
	/* each scenario's own namespaces and NodePools (pointers into scope) */
	const char *own_scope[DEMO_MAX_SCENARIOS][4];
	size_t n_own_scope[DEMO_MAX_SCENARIOS];
	bool shared_cluster; /* --kubeconfig: others may use it; nothing is automatic */
	/* plans already announced / decided */
	char *plans_seen[DEMO_MAX_PLANS];
	size_t n_plans_seen;
	char *prompt_plan; /* the plan the terminal prompt is about (--interactive) */
	bool stdin_closed; /* --interactive with no terminal input left: the web UI decides */
	struct ks_buf line;
};

/* "[+12s] " before each line of the demo's own narration. */
static void say(struct demo *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct demo *d, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	printf("demo [+%3llds] ", (long long)((ks_mono_ms() - d->t0_ms) / 1000));
	vprintf(fmt, ap);
	printf("\n");
	fflush(stdout);
	va_end(ap);
}

/* Fork and exec argv. out_path: stdout and stderr there (NULL: ours); own_group: a process
 * group of its own (signalled as a group; not reached by the terminal's Ctrl-C). */
static pid_t spawn(char *const argv[], const char *out_path, bool own_group)
{
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	if (own_group)
		setpgid(0, 0);
	int devnull = open("/dev/null", O_RDONLY);
	if (devnull >= 0)
		dup2(devnull, STDIN_FILENO);
	if (out_path) {
		int fd = open(out_path, O_WRONLY | O_CREAT | O_APPEND, 0600);
		if (fd >= 0) {
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
		}
	}
	execv(argv[0], argv);
	_exit(127);
}

/* Wait for pid; its exit status, or -1 when it did not exit normally. */
static int wait_exit(pid_t pid)
{
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int run_wait(char *const argv[], const char *out_path)
{
	pid_t pid = spawn(argv, out_path, false);
	return pid < 0 ? -1 : wait_exit(pid);
}

/* Run argv and collect its stdout (stderr goes to ours). */
static int run_capture(char *const argv[], struct ks_buf *out)
{
	int fds[2];
	if (pipe(fds))
		return -1;
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		dup2(fds[1], STDOUT_FILENO);
		close(fds[0]);
		close(fds[1]);
		execv(argv[0], argv);
		_exit(127);
	}
	close(fds[1]);
	char chunk[4096];
	ssize_t n;
	while ((n = read(fds[0], chunk, sizeof chunk)) > 0 || (n < 0 && errno == EINTR))
		if (n > 0)
			ks_buf_append(out, chunk, (size_t)n);
	close(fds[0]);
	return pid < 0 ? -1 : wait_exit(pid);
}

/* Signal a process group, wait up to grace_s for its leader, then SIGKILL the group. */
static void stop_group(pid_t pid, int sig, double grace_s)
{
	if (pid <= 0)
		return;
	kill(-pid, sig);
	for (int64_t until = ks_mono_ms() + (int64_t)(grace_s * 1000); ks_mono_ms() < until;) {
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return;
		usleep(100 * 1000);
	}
	kill(-pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static char *script(const struct demo *d, const char *name)
{
	return ks_asprintf("%s/scripts/%s", d->srcdir, name);
}

/* The value of `KEY='...'` or `KEY=...` in the text (an env file, a script's env output). */
static char *env_value(const char *text, const char *key)
{
	size_t klen = strlen(key);
	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (!strncmp(p, "export ", 7))
			p += 7;
		if (strncmp(p, key, klen) || p[klen] != '=')
			continue;
		const char *v = p + klen + 1;
		if (*v == '\'' || *v == '"') {
			char q = *v++;
			return ks_strndup(v, strcspn(v, (char[]){q, '\n', 0}));
		}
		return ks_strndup(v, strcspn(v, "\n"));
	}
	return NULL;
}

static int start_control_plane(struct demo *d)
{
	char *sh = script(d, "localcp.sh");
	char *status[] = {sh, "status", "--name", DEMO_ENV, NULL};
	d->started_cp = run_wait(status, "/dev/null") != 0;
	say(d, "starting the local control plane \"%s\" (etcd, kube-apiserver, "
	       "controller-manager, scheduler; built once, the first time)", DEMO_ENV);
	char *start[] = {sh, "start", "--name", DEMO_ENV, NULL};
	struct ks_buf env;
	ks_buf_init(&env, 1 << 16);
	int rc = run_wait(start, NULL);
	char *envcmd[] = {sh, "env", "--name", DEMO_ENV, NULL};
	if (rc == 0)
		rc = run_capture(envcmd, &env);
	d->kubeconfig_owned = rc == 0 && env.data ? env_value(env.data, "KUBECONFIG") : NULL;
	ks_buf_release(&env);
	free(sh);
	if (!d->kubeconfig_owned) {
		fprintf(stderr, "kswarm demo: the local control plane did not start (see above)\n");
		return -1;
	}
	d->kubeconfig = d->kubeconfig_owned;
	return 0;
}

/* Poll a file until it contains needle (or is non-empty when needle is NULL); false at the
 * timeout, on Ctrl-C or when *child exits (then set to 0). */
static bool wait_file(const char *path, const char *needle, double timeout_s, pid_t *child,
		      struct ks_buf *b)
{
	for (int64_t until = ks_mono_ms() + (int64_t)(timeout_s * 1000);
	     ks_mono_ms() < until && !demo_interrupted;) {
		if (*child > 0 && waitpid(*child, NULL, WNOHANG) == *child) {
			*child = 0; /* it exited: nothing to wait for, nothing to stop */
			struct ks_err err = {0};
			ks_buf_reset(b); /* what it said last, for the message */
			ks_buf_read_file(b, path, &err);
			return false;
		}
		struct ks_err err = {0};
		ks_buf_reset(b);
		if (!ks_buf_read_file(b, path, &err) && b->len &&
		    (!needle || memmem(b->data, b->len, needle, strlen(needle))))
			return true;
		usleep(200 * 1000);
	}
	return false;
}

/* The namespaces and NodePools each scenario creates (`kswarm sim --describe -o json`). */
static int collect_scope(struct demo *d)
{
	for (size_t i = 0; i < d->n_scenarios; i++) {
		char *argv[] = {d->self, "sim", "--describe", (char *)d->scenario[i], "-o", "json",
				NULL};
		struct ks_buf out;
		ks_buf_init(&out, 4 << 20);
		struct ks_err err = {0};
		cJSON *j = run_capture(argv, &out) == 0 && out.data
				   ? ks_json_parse(out.data, out.len, 4 << 20, &err)
				   : NULL;
		ks_buf_release(&out);
		if (!j) {
			fprintf(stderr, "kswarm demo: no scenario '%s' (kswarm demo --list, kswarm "
					"sim --list)\n", d->scenario[i]);
			return -1;
		}
		const cJSON *o;
		cJSON_ArrayForEach(o, ks_json_child(j, "objects")) {
			const char *kind = ks_json_str_or(o, "kind", "");
			const char *name = ks_json_str_or(ks_json_child(o, "metadata"), "name", "");
			if ((strcmp(kind, "Namespace") && strcmp(kind, "NodePool")) || !*name ||
			    d->nscope == sizeof d->scope / sizeof d->scope[0])
				continue;
			size_t at = d->nscope;
			for (size_t k = 0; k < d->nscope; k++)
				if (!strcmp(d->scope[k], name))
					at = k;
			if (at == d->nscope) {
				d->scope_is_pool[d->nscope] = !strcmp(kind, "NodePool");
				d->scope[d->nscope++] = ks_strdup(name);
			}
			if (d->n_own_scope[i] < KS_ARRAY_LEN(d->own_scope[i]))
				d->own_scope[i][d->n_own_scope[i]++] = d->scope[at];
		}
		cJSON_Delete(j);
	}
	return 0;
}

#define KUBECTL_ARGV_MAX (4 * DEMO_MAX_SCENARIOS + 8)

/* argv = kubectl, the fixed words, then the names of the scope that are NodePools (pools)
 * or namespaces (!pools); NULL-terminated. The number of names. */
static size_t kubectl_argv(const struct demo *d, char *kubectl, const char *const *words,
			   bool pools, char **argv)
{
	size_t n = 0, names = 0;
	argv[n++] = kubectl;
	for (; *words; words++)
		argv[n++] = (char *)*words;
	for (size_t i = 0; i < d->nscope && n + 1 < KUBECTL_ARGV_MAX; i++)
		if (d->scope_is_pool[i] == pools) {
			argv[n++] = d->scope[i];
			names++;
		}
	argv[n] = NULL;
	return names;
}

/* On the demo's own control plane: a previous demo left its scenarios' namespaces (fixed)
 * and NodePools behind in etcd; they go first, so every scenario starts broken. kubectl comes
 * from scripts/helm.sh ensure. On a cluster named by --kubeconfig only with --clean. */
static void clean_previous(struct demo *d)
{
	char *helm = script(d, "helm.sh");
	char *argv_ensure[] = {helm, "ensure", NULL};
	struct ks_buf out;
	ks_buf_init(&out, 1 << 20);
	char *kubectl = NULL;
	if (run_capture(argv_ensure, &out) == 0 && out.data)
		kubectl = ks_asprintf("%.*s/kubectl", (int)strcspn(out.data, "\n"), out.data);
	free(helm);
	if (!kubectl || access(kubectl, X_OK)) {
		say(d, "no kubectl (scripts/helm.sh ensure): a previous demo's namespaces stay");
		ks_buf_release(&out);
		free(kubectl);
		return;
	}
	static const char *const get_ns[] = {"get", "ns", "--ignore-not-found", "--no-headers",
					     NULL};
	static const char *const del_ns[] = {"delete", "ns", "--ignore-not-found",
					     "--wait=false", NULL};
	static const char *const del_pools[] = {"delete", "nodepools.karpenter.sh",
						"--ignore-not-found", NULL};
	char *get[KUBECTL_ARGV_MAX], *del[KUBECTL_ARGV_MAX];
	size_t nns = kubectl_argv(d, kubectl, get_ns, false, get);
	ks_buf_reset(&out);
	if (nns && run_capture(get, &out) == 0 && out.len) {
		say(d, "removing the previous demo's namespaces and NodePools first");
		kubectl_argv(d, kubectl, del_ns, false, del);
		run_wait(del, "/dev/null");
		if (kubectl_argv(d, kubectl, del_pools, true, del))
			run_wait(del, "/dev/null");
		for (int i = 0; i < 90 && !demo_interrupted; i++) {
			ks_buf_reset(&out);
			if (run_capture(get, &out) == 0 && !out.len)
				break;
			/* pods on the nodes of a simulator that is gone never finish terminating */
			for (size_t k = 0; i == 15 && k < d->nscope; k++) {
				char *force[] = {kubectl,     "delete",	 "pods",
						 "--all",     "-n",	 d->scope[k],
						 "--force",   "--grace-period=0", NULL};
				if (!d->scope_is_pool[k])
					run_wait(force, "/dev/null");
			}
			sleep(2);
		}
	}
	ks_buf_release(&out);
	free(kubectl);
}

static int start_simulator(struct demo *d)
{
	char *log = ks_asprintf("%s/sim.log", d->statedir);
	char *venv = ks_asprintf("%s/vault.env", d->statedir);
	char *scale = ks_asprintf("%g", 60 * d->speed);
	char *argv[16 + 2 * DEMO_MAX_SCENARIOS] = {
		d->self, "sim", "--nodes", "4", "--instance-type", "m5.2xlarge", "--time-scale",
		scale, "--metrics-listen", "127.0.0.1:0", "--vault-env", venv,
	};
	size_t n = 12;
	for (size_t i = 0; i < d->n_scenarios; i++) {
		argv[n++] = "--scenario";
		argv[n++] = (char *)d->scenario[i];
	}
	say(d, "starting the simulator: 4 simulated EKS nodes (m5.2xlarge) with kubelets, "
	       "Karpenter, a Vault; its log: %s", log);
	d->sim_pid = spawn(argv, log, true);
	struct ks_buf b;
	ks_buf_init(&b, KS_BUF_UNLIMITED);
	bool up = d->sim_pid > 0 && wait_file(log, "acting as kubelet", 120, &d->sim_pid, &b);
	if (!up)
		fprintf(stderr, "kswarm demo: the simulator did not start; its log:\n%.*s\n",
			(int)b.len, b.data ? b.data : "");
	else
		say(d, "the simulator runs (pid %d)", (int)d->sim_pid);
	/* Prometheus scraping the simulator's metrics */
	const char *m = up && b.data ? strstr(b.data, "sim: metrics at http://") : NULL;
	if (up && m && !d->no_prometheus && access("/usr/bin/prometheus", X_OK) == 0) {
		m += strlen("sim: metrics at http://");
		char *target = ks_strndup(m, strcspn(m, "/ \n"));
		char *sh = script(d, "prometheus.sh");
		char *start[] = {sh, "start", "--name", DEMO_ENV, "--target", target, NULL};
		char *envcmd[] = {sh, "env", "--name", DEMO_ENV, NULL};
		struct ks_buf env;
		ks_buf_init(&env, 1 << 16);
		if (run_wait(start, NULL) == 0) {
			d->started_prom = true;
			if (run_capture(envcmd, &env) == 0 && env.data)
				d->prom_url = env_value(env.data, "KSWARM_PROM_URL");
			say(d, "Prometheus scrapes the simulator at %s (%s)", target,
			    d->prom_url ? d->prom_url : "?");
		}
		ks_buf_release(&env);
		free(sh);
		free(target);
	}
	ks_buf_release(&b);
	free(log);
	free(venv);
	free(scale);
	return up ? 0 : -1;
}

/* A random token of 32 hex digits in path (mode 0600). */
static int write_token(const char *path, const char *value)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return -1;
	size_t len = strlen(value);
	bool ok = write(fd, value, len) == (ssize_t)len && write(fd, "\n", 1) == 1;
	return close(fd) == 0 && ok ? 0 : -1;
}

static int start_daemon(struct demo *d)
{
	struct ks_buf b;
	ks_buf_init(&b, KS_BUF_UNLIMITED);
	char *venv = ks_asprintf("%s/vault.env", d->statedir);
	struct ks_err err = {0};
	char *vault_addr = NULL, *vault_token = NULL;
	if (!ks_buf_read_file(&b, venv, &err) && b.data) {
		vault_addr = env_value(b.data, "VAULT_ADDR");
		vault_token = env_value(b.data, "VAULT_TOKEN");
	}
	unsigned char raw[16];
	char token[33] = "";
	int ur = open("/dev/urandom", O_RDONLY);
	if (ur < 0 || read(ur, raw, sizeof raw) != (ssize_t)sizeof raw) {
		fprintf(stderr, "kswarm demo: cannot read /dev/urandom\n");
		if (ur >= 0)
			close(ur);
		free(venv);
		ks_buf_release(&b);
		return -1;
	}
	close(ur);
	for (size_t i = 0; i < sizeof raw; i++)
		snprintf(token + 2 * i, 3, "%02x", raw[i]);
	char *token_file = ks_asprintf("%s/token", d->statedir);
	char *vtoken_file = ks_asprintf("%s/vault-token", d->statedir);
	char *cfg_path = ks_asprintf("%s/kswarm.yaml", d->statedir);
	char *addr_file = ks_asprintf("%s/addr", d->statedir);
	char *log = ks_asprintf("%s/run.log", d->statedir);
	int rc = write_token(token_file, token);
	if (!rc && vault_token)
		rc = write_token(vtoken_file, vault_token);
	double interval = 3 / d->speed < 1 ? 1 : 3 / d->speed; /* config: at least 1s */
	char *policies = ks_asprintf("%s/deploy/demo-policy.yaml", d->srcdir);
	if (!rc && d->shared_cluster) {
		/* a cluster the demo does not own: every change waits for a person, and the
		 * demo approves only those about its own scenarios */
		char *copy = ks_asprintf("%s/policy.yaml", d->statedir);
		struct ks_buf p;
		ks_buf_init(&p, 1 << 20);
		rc = ks_buf_read_file(&p, policies, &err);
		const char *at = rc ? NULL : strstr(p.data, "\npolicies:\n");
		FILE *f = at ? fopen(copy, "w") : NULL;
		static const char extra[] =
			"\npolicies:\n  - name: demo-on-a-shared-cluster\n"
			"    description: kswarm demo runs on a cluster it does not own\n"
			"    rule: {require-human: true}\n";
		if (!f || fprintf(f, "%.*s%s%s", (int)(at - p.data), p.data, extra,
				  at + strlen("\npolicies:\n")) < 0 ||
		    fclose(f)) {
			fprintf(stderr, "kswarm demo: cannot write %s\n", copy);
			rc = -1;
		}
		ks_buf_release(&p);
		free(policies);
		policies = copy;
	}
	struct ks_buf cfg;
	ks_buf_init(&cfg, KS_BUF_UNLIMITED);
	ks_buf_appendf(&cfg,
		       "# written by kswarm demo\n"
		       "cluster: {name: demo, kubeconfig: \"%s\"}\n"
		       "store: %s/kswarm.db\n"
		       "listen: %s\n"
		       "auth: {token_file: %s}\n"
		       "policies: %s\n"
		       "interval: %.1fs\n"
		       "goals: {cut_cost: true}\n"
		       "verify_timeout: 3m\n",
		       d->kubeconfig, d->statedir, d->listen, token_file, policies, interval);
	if (d->prom_url)
		ks_buf_appendf(&cfg, "prometheus: %s\n", d->prom_url);
	if (vault_addr && vault_token)
		ks_buf_appendf(&cfg,
			       "vault: {addr: \"%s\", token_file: %s}\n"
			       "secret_sources:\n"
			       "  - {secret: payments/db-secret, key: password,\n"
			       "     vault: {mount: secret, path: payments/db, field: password}}\n",
			       vault_addr, vtoken_file);
	if (d->llm_url)
		ks_buf_appendf(&cfg, "llm: {backend: %s, url: \"%s\"%s%s}\n",
			       d->llm_backend ? d->llm_backend : "ollama", d->llm_url,
			       d->llm_model ? ", model: " : "", d->llm_model ? d->llm_model : "");
	FILE *f = rc ? NULL : fopen(cfg_path, "w");
	if (!f || fwrite(cfg.data, 1, cfg.len, f) != cfg.len || fclose(f)) {
		fprintf(stderr, "kswarm demo: cannot write %s\n", cfg_path);
		rc = -1;
	}
	if (!rc) {
		say(d, "starting the daemon: kswarm run --config %s (policies: %s; its log: %s)",
		    cfg_path, policies, log);
		char *argv[] = {d->self, "run", "--config", cfg_path, "--ready-file", addr_file,
				NULL};
		/* the daemon's stream (one line per message) goes to our stdout; its log to
		 * run.log: spawn sends both to out_path, so redirect stderr only */
		fflush(stdout);
		d->run_pid = fork();
		if (d->run_pid == 0) {
			setpgid(0, 0);
			int devnull = open("/dev/null", O_RDONLY);
			int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
			if (devnull >= 0)
				dup2(devnull, STDIN_FILENO);
			if (fd >= 0)
				dup2(fd, STDERR_FILENO);
			execv(argv[0], argv);
			_exit(127);
		}
		struct ks_buf a;
		ks_buf_init(&a, 4096);
		if (d->run_pid < 0 || !wait_file(addr_file, "\n", 60, &d->run_pid, &a)) {
			struct ks_buf l;
			ks_buf_init(&l, 1 << 16);
			ks_buf_read_file(&l, log, &err);
			fprintf(stderr, "kswarm demo: the daemon did not start; its log:\n%.*s\n",
				(int)l.len, l.data ? l.data : "");
			ks_buf_release(&l);
			rc = -1;
		} else {
			char *server = ks_asprintf("http://%.*s", (int)strcspn(a.data, "\n"),
						   a.data);
			struct apiclient_opts o = {.server = server, .token = token,
						   .timeout_ms = 10000};
			rc = apiclient_new(&o, &d->api, &err);
			if (rc)
				fprintf(stderr, "kswarm demo: %s\n", err.msg);
			else if (!d->no_ui)
				say(d, "the web UI and the API: %s/   (KSWARM_SERVER=%s "
				       "KSWARM_TOKEN=$(cat %s) kswarm plans list)", server,
				    server, token_file);
			else
				say(d, "the daemon's API listens at %s", server);
			free(server);
		}
		ks_buf_release(&a);
	}
	memset(token, 0, sizeof token);
	ks_buf_release(&cfg);
	ks_buf_release(&b);
	free(policies);
	free(vault_addr);
	free(vault_token);
	free(venv);
	free(token_file);
	free(vtoken_file);
	free(cfg_path);
	free(addr_file);
	free(log);
	return rc;
}

/* `kswarm sim --check WHAT --scenario NAME` (no wait): whether it holds. */
static bool sim_check(struct demo *d, const char *what, const char *scenario)
{
	char *argv[] = {d->self, "sim", "--check", (char *)what, "--scenario", (char *)scenario,
			NULL};
	return run_wait(argv, "/dev/null") == 0;
}

static bool plan_seen(struct demo *d, const char *id)
{
	for (size_t i = 0; i < d->n_plans_seen; i++)
		if (!strcmp(d->plans_seen[i], id))
			return true;
	return false;
}

static void decide(struct demo *d, const char *plan_id, bool approve, const char *by,
		   const char *text)
{
	cJSON *body = cJSON_CreateObject();
	cJSON_AddStringToObject(body, "by", by);
	cJSON_AddStringToObject(body, approve ? "comment" : "reason", text);
	char *path = ks_asprintf("/api/v1/plans/%s/%s", plan_id, approve ? "approve" : "reject");
	cJSON *ans = NULL;
	struct ks_err err = {0};
	if (apiclient_call(d->api, "POST", path, body, &ans, &err))
		say(d, "%s %s: %s", approve ? "approving" : "rejecting", plan_id, err.msg);
	cJSON_Delete(ans);
	cJSON_Delete(body);
	free(path);
}

static void show_prompt(struct demo *d)
{
	printf("approve %s? [y/N/reason] ", d->prompt_plan);
	fflush(stdout);
}

/* New plans waiting for approval: announced; decided by the demo or put to the person. */
static void handle_pending(struct demo *d)
{
	cJSON *plans = NULL;
	struct ks_err err = {0};
	if (apiclient_call(d->api, "GET", "/api/v1/plans?status=pending", NULL, &plans, &err))
		return;
	if (d->prompt_plan) { /* decided elsewhere (the web UI, kswarm plans)? */
		bool still = false;
		const cJSON *p;
		cJSON_ArrayForEach(p, plans)
			still |= !strcmp(ks_json_str_or(p, "plan_id", ""), d->prompt_plan);
		if (!still) {
			printf("\n");
			say(d, "%s was decided elsewhere (web UI or kswarm plans)", d->prompt_plan);
			free(d->prompt_plan);
			d->prompt_plan = NULL;
		}
	}
	const cJSON *p;
	cJSON_ArrayForEach(p, plans) {
		const char *id = ks_json_str_or(p, "plan_id", "");
		if (!*id || plan_seen(d, id) || d->n_plans_seen == DEMO_MAX_PLANS)
			continue;
		if (d->interactive && d->prompt_plan)
			break; /* one question at a time */
		d->plans_seen[d->n_plans_seen++] = ks_strdup(id);
		const cJSON *subject = ks_json_child(p, "subject");
		if (!demo_in_scope(subject, (const char *const *)d->scope, d->nscope)) {
			say(d, "plan %s is about %s %s/%s, none of the demo's scenarios: left to "
			       "whoever owns it", id, ks_json_str_or(subject, "kind", ""),
			    ks_json_str_or(subject, "namespace", ""),
			    ks_json_str_or(subject, "name", ""));
			continue;
		}
		const cJSON *sv = ks_json_child(p, "savings_per_month");
		char saves[64] = "";
		if (cJSON_IsNumber(sv) && sv->valuedouble > 0)
			snprintf(saves, sizeof saves, ", saves $%.2f/month", sv->valuedouble);
		say(d, "plan %s waits for a person: %s (risk %s%s)", id,
		    ks_json_str_or(p, "title", ""), ks_json_str_or(p, "risk", "?"), saves);
		if (d->interactive && d->stdin_closed) {
			say(d, "%s waits for you: the web UI, or kswarm plans approve|reject %s", id,
			    id);
		} else if (d->interactive) {
			d->prompt_plan = ks_strdup(id);
			show_prompt(d);
		} else {
			say(d, "the demo approves %s itself, as \"demo\" (the policy wants a "
			       "person; --interactive lets you decide)", id);
			decide(d, id, true, "demo", "approved by kswarm demo (unattended)");
		}
	}
	cJSON_Delete(plans);
}

/* --interactive: a line typed at the prompt. */
static void read_answer(struct demo *d)
{
	char chunk[512];
	ssize_t n = read(STDIN_FILENO, chunk, sizeof chunk);
	if (n <= 0) {
		if (n == 0) { /* end of input: nobody to ask here any more */
			d->stdin_closed = true;
			printf("\n");
			say(d, "no more terminal input: %s waits for you in the web UI (or kswarm "
			       "plans approve|reject %s)", d->prompt_plan, d->prompt_plan);
			free(d->prompt_plan);
			d->prompt_plan = NULL;
		}
		return;
	}
	ks_buf_append(&d->line, chunk, (size_t)n);
	char *nl = d->line.data ? memchr(d->line.data, '\n', d->line.len) : NULL;
	if (!nl || !d->prompt_plan)
		return;
	char *answer = ks_trim_space(ks_strndup(d->line.data, (size_t)(nl - d->line.data)));
	char *copy = answer;
	ks_buf_consume(&d->line, (size_t)(nl - d->line.data) + 1);
	const struct passwd *pw = getpwuid(getuid());
	const char *user = getenv("USER") && *getenv("USER") ? getenv("USER")
			   : pw && pw->pw_name			 ? pw->pw_name
								 : "demo-user";
	if (!strcasecmp(answer, "y") || !strcasecmp(answer, "yes")) {
		decide(d, d->prompt_plan, true, user, "approved at the kswarm demo prompt");
		say(d, "%s approved by %s", d->prompt_plan, user);
	} else {
		const char *reason = !*answer || !strcasecmp(answer, "n") ||
					     !strcasecmp(answer, "no")
					     ? "rejected at the kswarm demo prompt"
					     : answer;
		decide(d, d->prompt_plan, false, user, reason);
		say(d, "%s rejected by %s: %s", d->prompt_plan, user, reason);
	}
	free(copy);
	free(d->prompt_plan);
	d->prompt_plan = NULL;
}

/* A plan about scenario i's own namespaces or NodePools that succeeded: its id in id. The
 * swarm can fix a fault before all of it shows (the scenario's "broken" check may want a
 * CrashLoopBackOff that the fix came before). */
static bool fixed_by_a_plan(struct demo *d, size_t i, char *id, size_t n)
{
	cJSON *plans = NULL;
	struct ks_err err = {0};
	if (!d->api || apiclient_call(d->api, "GET", "/api/v1/plans?status=succeeded", NULL,
				      &plans, &err))
		return false;
	bool fixed = false;
	const cJSON *p;
	cJSON_ArrayForEach(p, plans) {
		if (demo_in_scope(ks_json_child(p, "subject"), d->own_scope[i],
				  d->n_own_scope[i])) {
			snprintf(id, n, "%s", ks_json_str_or(p, "plan_id", "?"));
			fixed = true;
			break;
		}
	}
	cJSON_Delete(plans);
	return fixed;
}

/* Scenario i healed: a plan about it succeeded (its id in plan) and its healthy checks
 * pass. Both: a check is a snapshot, which a crash-looping container can pass between two
 * crashes, and a fix proves nothing until the scenario says it is healthy. */
static bool healed(struct demo *d, size_t i, char *plan, size_t n)
{
	return d->n_own_scope[i] && fixed_by_a_plan(d, i, plan, n) &&
	       sim_check(d, "healthy", d->scenario[i]);
}

/* The timeline: faults as they show, plans as they wait, scenarios as they heal. Returns
 * when every scenario is healthy, at the timeout or on Ctrl-C. */
static void play(struct demo *d)
{
	say(d, "the story begins: %zu scenario(s); the agents' conversation follows, one line "
	       "per message", d->n_scenarios);
	int64_t until = ks_mono_ms() + (int64_t)(d->timeout_s * 1000), next_check = 0;
	for (;;) {
		if (demo_interrupted)
			return;
		if (ks_mono_ms() >= until) {
			say(d, "the timeout (%.0fs) has passed", d->timeout_s);
			return;
		}
		if (ks_mono_ms() >= next_check) {
			size_t healthy = 0;
			for (size_t i = 0; i < d->n_scenarios && !demo_interrupted; i++) {
				const char *sc = d->scenario[i];
				const char *story = demo_story(sc);
				char plan[32];
				if (d->state[i] == SC_WAITING && sim_check(d, "broken", sc)) {
					d->state[i] = SC_BROKEN;
					say(d, "%s: %s", sc, story ? story : "its fault shows");
				} else if (d->state[i] == SC_WAITING && healed(d, i, plan, sizeof plan)) {
					d->state[i] = SC_HEALTHY;
					say(d, "%s: %s", sc, story ? story : "its fault shows");
					say(d, "%s: healthy again (plan %s fixed it before all of the "
					       "fault showed)", sc, plan);
				} else if (d->state[i] == SC_BROKEN && healed(d, i, plan, sizeof plan)) {
					d->state[i] = SC_HEALTHY;
					say(d, "%s: healthy again (plan %s)", sc, plan);
				}
				healthy += d->state[i] == SC_HEALTHY;
			}
			if (healthy == d->n_scenarios) {
				say(d, "every scenario is healthy");
				return;
			}
			next_check = ks_mono_ms() + (int64_t)(5000 / (d->speed < 1 ? 1 : d->speed));
		}
		handle_pending(d);
		struct pollfd pfd = {.fd = STDIN_FILENO, .events = POLLIN};
		if (d->interactive && d->prompt_plan && poll(&pfd, 1, 1000) > 0)
			read_answer(d);
		else
			usleep(1000 * 1000);
		if (d->run_pid > 0 && waitpid(d->run_pid, NULL, WNOHANG) == d->run_pid) {
			say(d, "the daemon exited (see its log)");
			d->run_pid = 0;
			return;
		}
	}
}

/* Every recorded message, paged (docs/API.md). */
static cJSON *fetch_transcript(struct demo *d)
{
	cJSON *all = cJSON_CreateArray();
	for (int64_t since = 0;;) {
		char path[96];
		snprintf(path, sizeof path, "/api/v1/transcript?since=%lld&limit=1000",
			 (long long)since);
		cJSON *page = NULL;
		struct ks_err err = {0};
		if (apiclient_call(d->api, "GET", path, NULL, &page, &err)) {
			fprintf(stderr, "kswarm demo: the transcript: %s\n", err.msg);
			break;
		}
		cJSON *msgs = cJSON_DetachItemFromObject(page, "messages");
		cJSON *m;
		while (msgs && (m = cJSON_DetachItemFromArray(msgs, 0)))
			cJSON_AddItemToArray(all, m);
		cJSON_Delete(msgs);
		bool more = ks_json_bool_or(page, "more", false);
		int64_t next = ks_json_int_or(page, "next_since", since);
		cJSON_Delete(page);
		if (!more || next <= since)
			break;
		since = next;
	}
	return all;
}

static int write_json(const char *path, const cJSON *j)
{
	char *text = ks_json_print(j);
	FILE *f = fopen(path, "w");
	int rc = f && fprintf(f, "%s\n", text) >= 0 ? 0 : -1;
	if (f && fclose(f))
		rc = -1;
	if (rc)
		fprintf(stderr, "kswarm demo: %s: cannot write it\n", path);
	free(text);
	return rc;
}

/* The first plan about the demo's scenarios still at work, copied into id (NULL id: only
 * asked whether there is one): approved or executing (its outcome is yet to come), or, with
 * measuring, succeeded and its saving still being measured (docs/SWARM.md). */
static bool plan_at_work(struct demo *d, bool measuring, char *id, size_t n)
{
	cJSON *plans = NULL;
	struct ks_err err = {0};
	if (apiclient_call(d->api, "GET", "/api/v1/plans", NULL, &plans, &err))
		return false;
	bool busy = false;
	const cJSON *p;
	cJSON_ArrayForEach(p, plans) {
		const char *st = ks_json_str_or(p, "status", "");
		const cJSON *sv = ks_json_child(p, "savings_per_month");
		bool at_work = measuring ? !strcmp(st, "succeeded") && cJSON_IsNumber(sv) &&
						   sv->valuedouble > 0 &&
						   ks_json_bool_or(ks_json_child(p, "measured"),
								   "measuring", false)
					 : !strcmp(st, "approved") || !strcmp(st, "executing");
		if (at_work && demo_in_scope(ks_json_child(p, "subject"),
					     (const char *const *)d->scope, d->nscope)) {
			if (id)
				snprintf(id, n, "%s", ks_json_str_or(p, "plan_id", "?"));
			busy = true;
			break;
		}
	}
	cJSON_Delete(plans);
	return busy;
}

/* Wait up to ms while a plan is at work (plan_at_work); said once when measuring. */
static void wait_for_plans(struct demo *d, bool measuring, int64_t ms)
{
	char id[32];
	bool told = false;
	for (int64_t until = ks_mono_ms() + ms;
	     d->api && d->run_pid > 0 && !demo_interrupted && ks_mono_ms() < until &&
	     plan_at_work(d, measuring, id, sizeof id);) {
		if (measuring && !told) {
			say(d, "waiting up to %llds for the measured saving of %s (its cost must "
			       "settle once Karpenter has replaced the nodes)",
			    (long long)(ms / 1000), id);
			told = true;
		}
		usleep(500 * 1000);
	}
}

static int summarize(struct demo *d)
{
	if (d->prompt_plan) /* the question is left open: the daemon is about to stop */
		printf("\n");
	/* the plans at work finish (their outcomes count), then the savings are measured */
	wait_for_plans(d, false, 120000);
	wait_for_plans(d, true, (int64_t)(DEMO_MEASURE_WAIT_S * 1000 / d->speed));
	int healthy = 0;
	for (size_t i = 0; i < d->n_scenarios; i++) {
		/* one last look: a scenario may have healed since the last check */
		char plan[32];
		if (d->state[i] != SC_HEALTHY && !demo_interrupted && healed(d, i, plan, sizeof plan))
			d->state[i] = SC_HEALTHY;
		healthy += d->state[i] == SC_HEALTHY;
	}
	cJSON *msgs = d->api ? fetch_transcript(d) : cJSON_CreateArray();
	struct demo_summary s;
	demo_summary_compute(msgs, (const char *const *)d->scope, d->nscope, &s);
	struct ks_buf out;
	ks_buf_init(&out, KS_BUF_UNLIMITED);
	demo_summary_format(&s, &out);
	printf("\n== kswarm demo: summary ==\n%sscenarios healthy:  %d of %zu\n",
	       out.data ? out.data : "", healthy, d->n_scenarios);
	for (size_t i = 0; i < d->n_scenarios; i++)
		printf("  %-28s %s\n", d->scenario[i],
		       d->state[i] == SC_HEALTHY ? "healthy"
		       : d->state[i] == SC_BROKEN ? "still broken"
						  : "its fault never showed");
	fflush(stdout);
	int rc = healthy == (int)d->n_scenarios ? CLI_OK : CLI_FAIL;
	if (d->transcript_json && write_json(d->transcript_json, msgs))
		rc = CLI_FAIL;
	if (d->summary_json) {
		cJSON *j = demo_summary_json(&s);
		cJSON *sc = cJSON_AddObjectToObject(j, "scenarios");
		for (size_t i = 0; i < d->n_scenarios; i++)
			cJSON_AddBoolToObject(sc, d->scenario[i], d->state[i] == SC_HEALTHY);
		cJSON_AddNumberToObject(j, "messages", ks_json_len(msgs));
		if (write_json(d->summary_json, j))
			rc = CLI_FAIL;
		cJSON_Delete(j);
	}
	ks_buf_release(&out);
	demo_summary_release(&s);
	cJSON_Delete(msgs);
	return rc;
}

/* Stop everything the demo started, in the reverse order. keep_state: leave the logs. */
static void demo_stop(struct demo *d, bool keep_state)
{
	if (d->run_pid > 0) {
		say(d, "stopping the daemon (pid %d)", (int)d->run_pid);
		stop_group(d->run_pid, SIGTERM, 30);
	}
	if (d->sim_pid > 0) {
		say(d, "stopping the simulator (pid %d)", (int)d->sim_pid);
		stop_group(d->sim_pid, SIGINT, 30);
	}
	if (d->started_prom) {
		char *sh = script(d, "prometheus.sh");
		char *argv[] = {sh, "stop", "--name", DEMO_ENV, NULL};
		say(d, "stopping Prometheus");
		run_wait(argv, "/dev/null");
		free(sh);
	}
	if (d->started_cp) {
		char *sh = script(d, "localcp.sh");
		char *argv[] = {sh, "stop", "--name", DEMO_ENV, NULL};
		say(d, "stopping the local control plane it started");
		run_wait(argv, NULL);
		free(sh);
	}
	if (d->statedir) {
		if (keep_state) {
			say(d, "the logs are kept in %s", d->statedir);
		} else {
			char *argv[] = {"/bin/rm", "-rf", "--", d->statedir, NULL};
			run_wait(argv, NULL);
		}
	}
	apiclient_free(d->api);
	for (size_t i = 0; i < d->n_plans_seen; i++)
		free(d->plans_seen[i]);
	for (size_t i = 0; i < d->nscope; i++)
		free(d->scope[i]);
	free(d->prompt_plan);
	free(d->srcdir);
	free(d->self);
	free(d->statedir);
	free(d->kubeconfig_owned);
	free(d->prom_url);
	ks_buf_release(&d->line);
}

static void list_scenarios(void)
{
	size_t n;
	const struct demo_scenario *sc = demo_scenarios(&n);
	for (size_t i = 0; i < n; i++) {
		bool dflt = false;
		for (size_t k = 0; k < demo_default_scenarios_n; k++)
			dflt |= !strcmp(demo_default_scenarios[k], sc[i].name);
		printf("%-28s %s %s\n", sc[i].name, dflt ? "*" : " ", sc[i].story);
	}
	printf("(* the default set: every scenario whose fix the swarm makes by itself)\n");
}

/* --llm-url, --llm-backend, --llm-model: written into the daemon's kswarm.yaml, so each is
 * refused when it could break out of its YAML scalar. */
static int llm_flag(struct demo *d, const char *flag, const char *v)
{
	for (const char *c = v; *c; c++)
		if ((unsigned char)*c < 0x21 || *c == '"' || *c == '\\' || *c == ',' ||
		    *c == '{' || *c == '}' || *c == 0x7f) {
			fprintf(stderr, "kswarm demo: %s '%s': no spaces, quotes, commas, braces "
					"or backslashes\n", flag, v);
			return -1;
		}
	if (!*v) {
		fprintf(stderr, "kswarm demo: %s: empty\n", flag);
		return -1;
	}
	if (!strcmp(flag, "--llm-backend") && strcmp(v, "ollama") && strcmp(v, "openai")) {
		fprintf(stderr, "kswarm demo: --llm-backend is ollama or openai, not '%s'\n", v);
		return -1;
	}
	*(!strcmp(flag, "--llm-url")	 ? &d->llm_url
	  : !strcmp(flag, "--llm-model") ? &d->llm_model
					 : &d->llm_backend) = v;
	return 0;
}

static int parse_flags(struct demo *d, int argc, char **argv, bool *list)
{
	for (int i = 1; i < argc; i++) {
		const char *s = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		struct ks_err err = {0};
		if (!strcmp(s, "--interactive")) {
			d->interactive = true;
		} else if (!strcmp(s, "--list")) {
			*list = true;
		} else if (!strcmp(s, "--no-ui")) {
			d->no_ui = true;
		} else if (!strcmp(s, "--no-prometheus")) {
			d->no_prometheus = true;
		} else if (!strcmp(s, "--clean")) {
			d->clean = true;
		} else if (!v) {
			fprintf(stderr, "kswarm demo: %s '%s' (see 'kswarm help demo')\n",
				s[0] == '-' ? "unknown flag or missing value"
					    : "unexpected argument",
				s);
			return -1;
		} else if (!strcmp(s, "--scenario")) {
			if (d->n_scenarios == DEMO_MAX_SCENARIOS) {
				fprintf(stderr, "kswarm demo: at most %d scenarios\n",
					DEMO_MAX_SCENARIOS);
				return -1;
			}
			d->scenario[d->n_scenarios++] = argv[++i];
		} else if (!strcmp(s, "--speed")) {
			char *end;
			d->speed = strtod(argv[++i], &end);
			if (*end || !(d->speed >= 0.1 && d->speed <= 20)) {
				fprintf(stderr, "kswarm demo: --speed takes a number from 0.1 "
						"to 20, not '%s'\n", argv[i]);
				return -1;
			}
		} else if (!strcmp(s, "--timeout")) {
			if (ks_parse_duration(argv[++i], &d->timeout_s, &err) || d->timeout_s < 1) {
				fprintf(stderr, "kswarm demo: --timeout: %s\n",
					err.msg[0] ? err.msg : "at least 1s");
				return -1;
			}
		} else if (!strcmp(s, "--summary-json")) {
			d->summary_json = argv[++i];
		} else if (!strcmp(s, "--transcript-json")) {
			d->transcript_json = argv[++i];
		} else if (!strcmp(s, "--kubeconfig")) {
			d->kubeconfig = argv[++i];
		} else if (!strcmp(s, "--listen")) {
			d->listen = argv[++i];
		} else if (!strcmp(s, "--llm-url") || !strcmp(s, "--llm-backend") ||
			   !strcmp(s, "--llm-model")) {
			if (llm_flag(d, s, argv[++i]))
				return -1;
		} else {
			fprintf(stderr, "kswarm demo: %s '%s' (see 'kswarm help demo')\n",
				s[0] == '-' ? "unknown flag" : "unexpected argument", s);
			return -1;
		}
	}
	return 0;
}

int cmd_demo(int argc, char **argv)
{
	struct demo d = {.speed = 1, .timeout_s = 15 * 60, .t0_ms = ks_mono_ms()};
	ks_buf_init(&d.line, 4096);
	bool list = false;
	if (parse_flags(&d, argc, argv, &list)) {
		ks_buf_release(&d.line);
		return CLI_USAGE;
	}
	if (list) {
		list_scenarios();
		ks_buf_release(&d.line);
		return CLI_OK;
	}
	if (!d.n_scenarios)
		for (size_t i = 0; i < demo_default_scenarios_n; i++)
			d.scenario[d.n_scenarios++] = demo_default_scenarios[i];
	if (!d.listen)
		d.listen = d.no_ui ? "127.0.0.1:0" : "127.0.0.1:8080";
	const char *src = getenv("KSWARM_SRCDIR");
	d.srcdir = src && *src ? ks_strdup(src) : ks_exe_relative("scripts/localcp.sh");
	if (d.srcdir && !(src && *src)) /* ".../scripts/localcp.sh" -> "..." */
		*strstr(d.srcdir, "/scripts/localcp.sh") = 0;
	d.self = realpath("/proc/self/exe", NULL);
	const char *tmpdir = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	char *dir_tmpl = ks_asprintf("%s/kswarm-demo.XXXXXX", tmpdir);
	if (!d.srcdir || !d.self || !mkdtemp(dir_tmpl)) {
		fprintf(stderr, "kswarm demo: needs a kswarm source tree (scripts/, deploy/: "
				"run build/kswarm from it or set KSWARM_SRCDIR) and a writable "
				"$TMPDIR\n");
		free(dir_tmpl);
		demo_stop(&d, false);
		return CLI_FAIL;
	}
	d.statedir = dir_tmpl;
	struct sigaction sa = {.sa_handler = on_signal};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	int rc = CLI_FAIL;
	d.shared_cluster = d.kubeconfig != NULL;
	if (collect_scope(&d) == 0 && (d.kubeconfig || start_control_plane(&d) == 0) &&
	    !demo_interrupted) {
		setenv("KUBECONFIG", d.kubeconfig, 1);
		say(&d, "cluster: %s; scenarios:", d.kubeconfig);
		for (size_t i = 0; i < d.n_scenarios; i++)
			printf("    %s\n", d.scenario[i]);
		if (!d.interactive)
			say(&d, "unattended: plans the policy leaves to a person are approved by "
				"the demo itself, as \"demo\" (--interactive: you decide)");
		if (d.shared_cluster)
			say(&d, "a cluster the demo does not own (--kubeconfig): every change "
				"waits for a person; the demo approves only those about its "
				"scenarios");
		if (!d.shared_cluster || d.clean)
			clean_previous(&d);
		if (start_simulator(&d) == 0 && !demo_interrupted && start_daemon(&d) == 0) {
			play(&d);
			if (demo_interrupted)
				say(&d, "interrupted");
			rc = summarize(&d);
		}
	}
	/* the logs are worth keeping only when something ran */
	demo_stop(&d, rc != CLI_OK && d.sim_pid != 0);
	return demo_interrupted ? 130 : rc;
}
