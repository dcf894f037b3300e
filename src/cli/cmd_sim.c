/* cmd_sim.c — `kswarm sim`: bring simulated nodes to a real control plane and play their
 * kubelets (see src/sim/sim.h). Runs until Ctrl-C (or --duration), then removes its nodes. */
#include "base/common.h"
#include "base/strutil.h"
#include "base/timeutil.h"
#include "cli/cli.h"
#include "cli/clikube.h"
#include "base/buf.h"
#include "base/jsonout.h"
#include "cost/catalog.h"
#include "sim/scenario.h"
#include "sim/karpenter.h"
#include "sim/sim.h"
#include "sim/sim_metrics.h"
#include "sim/vault.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

const char cmd_sim_usage[] =
	"Usage: kswarm sim [flags]\n\n"
	"Install the Karpenter CRDs (karpenter.sh/v1 NodePool, karpenter.k8s.aws/v1 EC2NodeClass),\n"
	"register simulated EKS + Karpenter nodes with the cluster and act as their kubelets:\n"
	"pods the real scheduler binds to them run (status, conditions, container states, the\n"
	"kubelet's events), and deleted, evicted or drained pods terminate after their grace\n"
	"period. Nodes renew their Leases and post their status, so the node controller sees\n"
	"them alive. The kubelets' HTTPS endpoint on 127.0.0.1 serves container logs, so\n"
	"`kubectl logs` (-c, --previous, --tail, --timestamps, --since, --limit-bytes) works\n"
	"through the API server. On exit (Ctrl-C or --duration) the nodes are removed.\n\n"
	"With the NodePool CRD served, it also plays Karpenter: pods the scheduler cannot place get\n"
	"nodes launched from the NodePools (cheapest fitting instance type, spot when allowed),\n"
	"empty nodes are consolidated, drifted nodes replaced within the disruption budgets, and\n"
	"NodePool status.resources kept up to date (see src/sim/karpenter.c).\n\n"
	"Flags:\n"
	"      --nodes N              nodes to register (default 3)\n"
	"      --instance-type T      EC2 instance type from the catalog (default m5.large)\n"
	"      --nodepool NAME        karpenter.sh/nodepool label (default \"default\")\n"
	"      --capacity-type T      on-demand | spot (default on-demand)\n"
	"      --zones Z1,Z2,...      zones, round robin (default us-east-1a,us-east-1b,us-east-1c)\n"
	"      --time-scale X         simulated seconds per real second (default 1)\n"
	"      --catalog FILE         instance catalog (default data/instance-types.csv)\n"
	"      --seed N               node names and IDs derive from it (default: time)\n"
	"      --duration SECONDS     stop after this long (default: until Ctrl-C)\n"
	"      --keep-nodes           leave the nodes registered on exit\n"
	"      --no-crds              do not install the Karpenter CRDs (NodePool, EC2NodeClass)\n"
	"      --kubelet-port N       kubelets' HTTPS port on 127.0.0.1 (default 0: a free one)\n"
	"      --metrics-listen ADDR  serve Prometheus metrics (cAdvisor, kube-state-metrics and\n"
	"                             per-Service HTTP series) at http://ADDR/metrics; loopback\n"
	"                             only, e.g. 127.0.0.1:9100 (port 0: a free port, printed)\n"
	"      --backfill DURATION    write DURATION (14d, 36h, 90m) of history of the cluster's\n"
	"                             current pods and Services, ending now, for\n"
	"                             `promtool tsdb create-blocks-from openmetrics`; then exit,\n"
	"                             unless --metrics-listen or --duration keeps the sim going\n"
	"      --backfill-out FILE    where the backfill goes (OpenMetrics text)\n"
	"      --backfill-step STEP   time between backfilled samples (default 60s)\n"
	"      --scenario NAME|FILE   play a scenario (repeatable; see --list): its nodes, objects,\n"
	"                             vault secrets, usage curves, faults and timeline\n"
	"      --vault-env FILE       write VAULT_ADDR and VAULT_TOKEN of the simulated Vault there\n"
	"                             (mode 0600) when a scenario uses it\n"
	"      --interrupt-spot-every D  a spot interruption notice for a random spot node every D\n"
	"                             of simulated time (90s, 10m, 1h; default: never)\n"
	"      --local                start the local control plane first (scripts/localcp.sh, env\n"
	"                             \"sim\"; built once and cached) and use it\n"
	"      --kubeconfig FILE, --context NAME\n\n"
	"Scenarios:\n"
	"      --list                 list the scenarios, one line each\n"
	"      --describe NAME        the scenario's story, ground truth and fix (-o json: all of it)\n"
	"      --check broken|healthy --scenario NAME [--wait DURATION]\n"
	"                             evaluate the scenario's ground-truth checks on the cluster\n"
	"                             (waiting up to DURATION for them to hold); exit 0 when they do\n"
	"\n"
	"Metrics are computed at the simulated time: with --time-scale X the gauge\n"
	"sim_time_seconds advances X seconds per real second and rates per real second are X times\n"
	"the simulated ones. The backfill is at scale 1 (simulated time = real time).\n";

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

struct sim_args {
	struct cli_kube_flags k;
	long nodes;
	const char *instance_type, *nodepool, *capacity_type, *zones, *catalog;
	double time_scale;
	unsigned long long seed;
	long duration;
	long kubelet_port;
	const char *metrics_listen, *backfill_out;
	int64_t backfill, backfill_step;
	bool keep_nodes, no_crds, list, local;
	const char *scenarios[32];
	int n_scenarios;
	const char *describe, *output, *check, *vault_env;
	double wait_s;
	long interrupt_every_s; /* simulated seconds, 0: never */
};

static int parse(int argc, char **argv, struct sim_args *a)
{
	for (int i = 1; i < argc; i++) {
		int r = cli_kube_flag(&a->k, argc, argv, &i, "sim");
		if (r < 0)
			return -1;
		if (r > 0)
			continue;
		const char *f = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		char *end = NULL;
		if (!strcmp(f, "--keep-nodes")) {
			a->keep_nodes = true;
			continue;
		}
		if (!strcmp(f, "--no-crds")) {
			a->no_crds = true;
			continue;
		}
		if (!strcmp(f, "--local")) {
			a->local = true;
			continue;
		}
		if (!strcmp(f, "--list")) {
			a->list = true;
			continue;
		}
		if (f[0] != '-' || (f[1] != '-' && strcmp(f, "-o"))) {
			fprintf(stderr, "kswarm sim: unexpected argument '%s' (see 'kswarm help sim')\n",
				f);
			return -1;
		}
		if (!v) {
			fprintf(stderr, "kswarm sim: %s needs a value\n", f);
			return -1;
		}
		i++;
		if (!strcmp(f, "--nodes")) {
			a->nodes = strtol(v, &end, 10);
			if (*end || a->nodes < 0 || a->nodes > 5000)
				goto bad;
		} else if (!strcmp(f, "--instance-type")) {
			a->instance_type = v;
		} else if (!strcmp(f, "--nodepool")) {
			a->nodepool = v;
		} else if (!strcmp(f, "--capacity-type")) {
			if (strcmp(v, "on-demand") && strcmp(v, "spot"))
				goto bad;
			a->capacity_type = v;
		} else if (!strcmp(f, "--zones")) {
			a->zones = v;
		} else if (!strcmp(f, "--catalog")) {
			a->catalog = v;
		} else if (!strcmp(f, "--time-scale")) {
			a->time_scale = strtod(v, &end);
			if (*end || a->time_scale <= 0)
				goto bad;
		} else if (!strcmp(f, "--seed")) {
			a->seed = strtoull(v, &end, 10);
			if (*end)
				goto bad;
		} else if (!strcmp(f, "--kubelet-port")) {
			a->kubelet_port = strtol(v, &end, 10);
			if (*end || a->kubelet_port < 0 || a->kubelet_port > 65535)
				goto bad;
		} else if (!strcmp(f, "--metrics-listen")) {
			a->metrics_listen = v;
		} else if (!strcmp(f, "--backfill") || !strcmp(f, "--backfill-step")) {
			struct ks_err e = {0};
			if (sim_metrics_parse_duration(v, !strcmp(f, "--backfill") ? &a->backfill
										    : &a->backfill_step,
						       &e)) {
				fprintf(stderr, "kswarm sim: %s: %s\n", f, e.msg);
				return -1;
			}
		} else if (!strcmp(f, "--backfill-out")) {
			a->backfill_out = v;
		} else if (!strcmp(f, "--scenario")) {
			if (a->n_scenarios >= (int)KS_ARRAY_LEN(a->scenarios)) {
				fprintf(stderr, "kswarm sim: at most %zu scenarios\n",
					KS_ARRAY_LEN(a->scenarios));
				return -1;
			}
			a->scenarios[a->n_scenarios++] = v;
		} else if (!strcmp(f, "--describe")) {
			a->describe = v;
		} else if (!strcmp(f, "-o") || !strcmp(f, "--output")) {
			if (strcmp(v, "json") && strcmp(v, "yaml") && strcmp(v, "text"))
				goto bad;
			a->output = v;
		} else if (!strcmp(f, "--check")) {
			if (strcmp(v, "broken") && strcmp(v, "healthy"))
				goto bad;
			a->check = v;
		} else if (!strcmp(f, "--wait")) {
			struct ks_err e = {0};
			if (ks_parse_duration(v, &a->wait_s, &e)) {
				fprintf(stderr, "kswarm sim: --wait: %s\n", e.msg);
				return -1;
			}
		} else if (!strcmp(f, "--vault-env")) {
			a->vault_env = v;
		} else if (!strcmp(f, "--interrupt-spot-every")) {
			double d;
			struct ks_err e = {0};
			if (ks_parse_duration(v, &d, &e) || d < 1) {
				fprintf(stderr, "kswarm sim: --interrupt-spot-every: %s\n",
					e.msg[0] ? e.msg : "at least 1s");
				return -1;
			}
			a->interrupt_every_s = (long)d;
		} else if (!strcmp(f, "--duration")) {
			a->duration = strtol(v, &end, 10);
			if (*end || a->duration <= 0)
				goto bad;
		} else {
			fprintf(stderr, "kswarm sim: unknown flag '%s' (see 'kswarm help sim')\n", f);
			return -1;
		}
		continue;
bad:
		fprintf(stderr, "kswarm sim: bad value '%s' for %s\n", v, f);
		return -1;
	}
	if (!a->backfill != !a->backfill_out) {
		fprintf(stderr, "kswarm sim: --backfill and --backfill-out go together\n");
		return -1;
	}
	if (a->metrics_listen) {
		uint32_t ip;
		uint16_t port;
		struct ks_err e = {0};
		if (sim_metrics_parse_listen(a->metrics_listen, &ip, &port, &e)) {
			fprintf(stderr, "kswarm sim: --metrics-listen: %s\n", e.msg);
			return -1;
		}
	}
	return 0;
}

static int list_scenarios(void)
{
	size_t n;
	const char **names = sim_scenario_names(&n);
	int status = CLI_OK;
	for (size_t i = 0; i < n; i++) {
		struct sim_scenario *sc = NULL;
		struct ks_err err = {0};
		const char *base = strrchr(names[i], '/') + 1;
		char name[128];
		snprintf(name, sizeof name, "%.*s", (int)(strlen(base) - 5), base);
		if (sim_scenario_load(name, &sc, &err)) {
			fprintf(stderr, "kswarm sim: %s\n", err.msg);
			status = CLI_FAIL;
			continue;
		}
		printf("%-28s %s\n", sc->name, sc->summary);
		sim_scenario_free(sc);
	}
	free(names);
	return status;
}

static void print_checks(const struct sim_scenario *sc, const char *which)
{
	const cJSON *c;
	cJSON_ArrayForEach(c, ks_json_get(sc->truth, which))
		printf("  - %s\n", ks_json_str_or(c, "what", ""));
}

static void redact_values(cJSON *parent, const char *key)
{
	cJSON *map = cJSON_GetObjectItemCaseSensitive(parent, key);
	if (!cJSON_IsObject(map))
		return;
	cJSON *red = cJSON_CreateObject(), *v;
	cJSON_ArrayForEach(v, map)
		cJSON_AddStringToObject(red, v->string, "(redacted)");
	cJSON_ReplaceItemInObjectCaseSensitive(parent, key, red);
}

static void redact_secrets(cJSON *objects)
{
	cJSON *o;
	cJSON_ArrayForEach(o, objects)
	{
		if (strcmp(ks_json_str_or(o, "kind", ""), "Secret"))
			continue;
		redact_values(o, "data");
		redact_values(o, "stringData");
	}
}

/* The scenario as written, with the values of Secrets and vault entries replaced: a
 * description is shown and logged; secret values stay in the cluster and the vault. */
static cJSON *redacted(const cJSON *doc)
{
	cJSON *d = cJSON_Duplicate(doc, true);
	cJSON *v;
	cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(d, "vault"))
		redact_values(v, "data");
	redact_secrets(cJSON_GetObjectItemCaseSensitive(d, "objects"));
	cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(d, "timeline"))
		redact_secrets(cJSON_GetObjectItemCaseSensitive(v, "apply"));
	return d;
}

static int describe_scenario(const char *name, const char *output)
{
	struct sim_scenario *sc = NULL;
	struct ks_err err = {0};
	if (sim_scenario_load(name, &sc, &err)) {
		fprintf(stderr, "kswarm sim: %s\n", err.msg);
		return CLI_FAIL;
	}
	int rc = 0;
	if (output && strcmp(output, "text")) {
		struct ks_buf b;
		ks_buf_init(&b, KS_BUF_UNLIMITED);
		cJSON *doc = redacted(sc->doc);
		rc = !strcmp(output, "json") ? ks_json_write_go(doc, &b)
					     : ks_yaml_write(doc, &b, &err);
		cJSON_Delete(doc);
		if (!rc)
			fwrite(b.data, 1, b.len, stdout);
		ks_buf_release(&b);
	} else {
		printf("%s: %s\n\n", sc->name, sc->summary);
		if (sc->description)
			printf("%s\n", sc->description);
		printf("Root cause: %s\n\n", ks_json_str_or(sc->truth, "root_cause", ""));
		printf("Broken when:\n");
		print_checks(sc, "broken");
		printf("\nFix: %s\n", ks_json_str_or(sc->truth, "fix.description", ""));
		const cJSON *st;
		cJSON_ArrayForEach(st, ks_json_get(sc->truth, "fix.steps"))
		{
			printf("  kubectl");
			const cJSON *arg;
			cJSON_ArrayForEach(arg, ks_json_get(st, "kubectl"))
				printf(" %s", cJSON_IsString(arg) ? arg->valuestring : "?");
			printf("\n");
		}
		printf("\nHealthy when:\n");
		print_checks(sc, "healthy");
	}
	sim_scenario_free(sc);
	if (rc) {
		fprintf(stderr, "kswarm sim: %s\n", err.msg);
		return CLI_FAIL;
	}
	return CLI_OK;
}

static int check_scenarios(struct sim_args *a)
{
	if (a->n_scenarios == 0) {
		fprintf(stderr, "kswarm sim: --check needs --scenario NAME\n");
		return CLI_USAGE;
	}
	struct kube_client c;
	if (cli_kube_connect(&a->k, &c))
		return CLI_FAIL;
	int status = CLI_OK;
	for (int i = 0; i < a->n_scenarios; i++) {
		struct sim_scenario *sc = NULL;
		struct ks_err err = {0};
		if (sim_scenario_load(a->scenarios[i], &sc, &err)) {
			fprintf(stderr, "kswarm sim: %s\n", err.msg);
			status = CLI_FAIL;
			continue;
		}
		int64_t end = ks_mono_ms() + (int64_t)(a->wait_s * 1000);
		struct ks_buf report;
		ks_buf_init(&report, KS_BUF_UNLIMITED);
		bool holds = false;
		for (;;) {
			ks_buf_reset(&report);
			if (sim_scenario_check(&c, sc, a->check, &report, &holds, &err)) {
				fprintf(stderr, "kswarm sim: %s\n", err.msg);
				break;
			}
			if (holds || ks_mono_ms() >= end || stop_requested)
				break;
			usleep(1000000);
		}
		printf("%s: %s %s\n%.*s", sc->name, a->check, holds ? "holds" : "does not hold",
		       (int)report.len, report.data ? report.data : "");
		if (!holds)
			status = CLI_FAIL;
		ks_buf_release(&report);
		sim_scenario_free(sc);
	}
	kube_client_close(&c);
	return status;
}

#define LOCAL_ENV "sim"

/* Run scripts/localcp.sh with args; its stdout goes to out (when not NULL) or to ours. */
static int run_localcp(const char *script, const char *verb, struct ks_buf *out)
{
	int fds[2] = {-1, -1};
	if (out && pipe(fds))
		return -1;
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		if (out) {
			dup2(fds[1], STDOUT_FILENO);
			close(fds[0]);
			close(fds[1]);
		}
		execl(script, script, verb, "--name", LOCAL_ENV, (char *)NULL);
		_exit(127);
	}
	if (out) {
		close(fds[1]);
		char chunk[4096];
		ssize_t n;
		while ((n = read(fds[0], chunk, sizeof chunk)) > 0)
			ks_buf_append(out, chunk, (size_t)n);
		close(fds[0]);
	}
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

/* --local: start (or find running) the local control plane and use its kubeconfig. */
static int start_local(struct sim_args *a, char **kubeconfig)
{
	const char *src = getenv("KSWARM_SRCDIR");
	char *script = src && *src ? ks_asprintf("%s/scripts/localcp.sh", src)
				   : ks_exe_relative("scripts/localcp.sh");
	if (!script || access(script, X_OK)) {
		fprintf(stderr, "kswarm sim: --local needs scripts/localcp.sh from a kswarm source "
				"tree (run build/kswarm from it, or set KSWARM_SRCDIR)\n");
		free(script);
		return -1;
	}
	printf("sim: starting the local control plane \"%s\" (%s)\n", LOCAL_ENV, script);
	fflush(stdout);
	struct ks_buf env;
	ks_buf_init(&env, 1 << 16);
	int rc = run_localcp(script, "start", NULL);
	if (rc == 0)
		rc = run_localcp(script, "env", &env);
	const char *k = env.data ? strstr(env.data, "KUBECONFIG='") : NULL;
	if (rc || !k) {
		fprintf(stderr, "kswarm sim: the local control plane did not start (see above)\n");
		rc = -1;
	} else {
		k += strlen("KUBECONFIG='");
		*kubeconfig = ks_strndup(k, strcspn(k, "'"));
		a->k.kubeconfig = *kubeconfig;
	}
	ks_buf_release(&env);
	free(script);
	return rc;
}

/* The simulated Vault, with a random root token written only to --vault-env's file. */
static int start_vault(struct sim_args *a, struct sim_vault **out)
{
	unsigned char raw[16];
	FILE *r = fopen("/dev/urandom", "rb");
	if (!r || fread(raw, 1, sizeof raw, r) != sizeof raw) {
		if (r)
			fclose(r);
		fprintf(stderr, "kswarm sim: cannot read /dev/urandom for the vault token\n");
		return -1;
	}
	fclose(r);
	char token[40] = "hvs.";
	for (size_t i = 0; i < sizeof raw; i++)
		snprintf(token + 4 + 2 * i, sizeof token - 4 - 2 * i, "%02x", raw[i]);
	struct sim_vault_opts vo = {.root_token = token};
	struct ks_err err = {0};
	if (sim_vault_start(&vo, out, &err)) {
		fprintf(stderr, "kswarm sim: vault: %s\n", err.msg);
		return -1;
	}
	printf("sim: simulated Vault (KV v2, mount \"secret\") at http://127.0.0.1:%u\n",
	       (unsigned)sim_vault_port(*out));
	if (a->vault_env) {
		int fd = open(a->vault_env, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
		if (!f) {
			fprintf(stderr, "kswarm sim: %s: %s\n", a->vault_env, strerror(errno));
			if (fd >= 0)
				close(fd);
			return -1;
		}
		fprintf(f, "VAULT_ADDR=http://127.0.0.1:%u\nVAULT_TOKEN=%s\n",
			(unsigned)sim_vault_port(*out), token);
		fclose(f);
		printf("sim: vault address and token written to %s\n", a->vault_env);
	}
	memset(token, 0, sizeof token);
	return 0;
}

int cmd_sim(int argc, char **argv)
{
	struct sim_args a = {.nodes = 3, .instance_type = "m5.large", .nodepool = "default",
			     .capacity_type = "on-demand",
			     .zones = "us-east-1a,us-east-1b,us-east-1c", .time_scale = 1,
			     .backfill_step = 60};
	if (parse(argc, argv, &a))
		return CLI_USAGE;
	if (a.list)
		return list_scenarios();
	if (a.describe)
		return describe_scenario(a.describe, a.output);
	struct ks_err err = {0};
	struct sim_scenario *scenarios[KS_ARRAY_LEN(a.scenarios)] = {0};
	struct sim_vault *vault = NULL;
	struct cost_catalog *cat = NULL;
	char *local_kubeconfig = NULL;
	bool needs_vault = false, connected = false;
	struct kube_client c;
	int status = CLI_FAIL;
	struct sim *s = NULL;
	for (int i = 0; i < a.n_scenarios; i++) {
		if (sim_scenario_load(a.scenarios[i], &scenarios[i], &err))
			goto out;
		needs_vault |= cJSON_GetArraySize(scenarios[i]->vault) > 0;
	}
	if (a.local && start_local(&a, &local_kubeconfig))
		goto out;
	if (a.check) {
		status = check_scenarios(&a);
		goto out;
	}
	char *catalog_path = a.catalog ? ks_strdup(a.catalog) : cost_catalog_default_path();
	int crc = cost_catalog_load(catalog_path, &cat, &err);
	free(catalog_path);
	if (crc)
		goto out;
	/* One process plays every kubelet; each real kubelet may send 5/s (burst 10). */
	a.k.qps = a.nodes * 5.0 < 50 ? 50 : a.nodes * 5.0;
	a.k.burst = (int)a.k.qps * 2;
	if (cli_kube_connect(&a.k, &c))
		goto out;
	connected = true;
	struct sim_opts so = {.time_scale = a.time_scale, .seed = a.seed,
			      .kubelet_port = (int)a.kubelet_port};
	if (sim_new(&c, cat, &so, &s, &err))
		goto out;
	struct sigaction sa = {.sa_handler = on_signal};
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (needs_vault && start_vault(&a, &vault))
		goto out;
	if (a.n_scenarios)
		sim_use_scenarios(s, scenarios, (size_t)a.n_scenarios, vault);

	if (!a.no_crds) {
		int n = 0;
		if (sim_install_crds(s, &n, &err)) {
			fprintf(stderr, "kswarm sim: %s\n", err.msg);
			goto out;
		}
		if (n)
			printf("sim: %d Karpenter CRD%s installed (NodePool, EC2NodeClass)\n", n,
			       n == 1 ? "" : "s");
	}
	char zones[256];
	snprintf(zones, sizeof zones, "%s", a.zones);
	const char *zone_list[16];
	int nz = 0;
	for (char *save = NULL, *z = strtok_r(zones, ",", &save); z && nz < 16;
	     z = strtok_r(NULL, ",", &save))
		zone_list[nz++] = z;
	if (nz == 0) {
		fprintf(stderr, "kswarm sim: --zones names no zone\n");
		goto out;
	}
	if (sim_serve_kubelet(s, &err)) {
		fprintf(stderr, "kswarm sim: %s\n", err.msg);
		goto out;
	}
	printf("sim: registering %ld %s node%s (%s, nodepool %s) in %s\n", a.nodes, a.instance_type,
	       a.nodes == 1 ? "" : "s", a.capacity_type, a.nodepool, a.zones);
	fflush(stdout);
	for (long i = 0; i < a.nodes && !stop_requested; i++) {
		struct sim_node_spec spec = {.instance_type = a.instance_type,
					     .nodepool = a.nodepool,
					     .capacity_type = a.capacity_type,
					     .zone = zone_list[i % nz]};
		char name[128];
		if (sim_add_node(s, &spec, name, sizeof name, &err)) {
			fprintf(stderr, "kswarm sim: %s\n", err.msg);
			goto cleanup;
		}
		printf("sim: node %s ready (%s)\n", name, spec.zone);
		fflush(stdout);
	}
	for (int i = 0; i < a.n_scenarios && !stop_requested; i++) {
		for (size_t j = 0; j < scenarios[i]->n_nodes; j++) {
			const struct sim_scenario_nodes *sn = &scenarios[i]->nodes[j];
			for (int k = 0; k < sn->count; k++) {
				struct sim_node_spec spec = {
					.instance_type = sn->instance_type,
					.nodepool = sn->nodepool ? sn->nodepool : a.nodepool,
					.capacity_type = sn->capacity_type ? sn->capacity_type
									   : "on-demand",
					.zone = sn->zone ? sn->zone : zone_list[k % nz]};
				char name[128];
				if (sim_add_node(s, &spec, name, sizeof name, &err)) {
					fprintf(stderr, "kswarm sim: %s: %s\n", scenarios[i]->name,
						err.msg);
					goto cleanup;
				}
				printf("sim: node %s ready (%s, %s, nodepool %s) for scenario %s\n",
				       name, spec.instance_type, spec.zone, spec.nodepool,
				       scenarios[i]->name);
			}
		}
	}
	if (a.n_scenarios) {
		if (sim_scenarios_stage(s, &err)) {
			fprintf(stderr, "kswarm sim: %s\n", err.msg);
			goto cleanup;
		}
		for (int i = 0; i < a.n_scenarios; i++)
			printf("sim: scenario %s: %s\n", scenarios[i]->name, scenarios[i]->summary);
	}
	fflush(stdout);
	if (sim_start(s, &err)) {
		fprintf(stderr, "kswarm sim: %s\n", err.msg);
		goto cleanup;
	}
	if (a.metrics_listen) {
		int port = 0;
		if (sim_metrics_listen(s, a.metrics_listen, &port, &err)) {
			fprintf(stderr, "kswarm sim: %s\n", err.msg);
			goto cleanup;
		}
		char host[64];
		snprintf(host, sizeof host, "%.*s", (int)strcspn(a.metrics_listen, ":"),
			 a.metrics_listen);
		printf("sim: metrics at http://%s:%d/metrics\n", host, port);
		fflush(stdout);
	}
	if (a.backfill) {
		if (sim_metrics_backfill(s, a.backfill, a.backfill_step, a.backfill_out, &err)) {
			fprintf(stderr, "kswarm sim: %s\n", err.msg);
			goto cleanup;
		}
		printf("sim: backfill of %llds in steps of %llds written to %s\n",
		       (long long)a.backfill, (long long)a.backfill_step, a.backfill_out);
		fflush(stdout);
		if (!a.metrics_listen && !a.duration) {
			status = CLI_OK;
			goto cleanup;
		}
	}
	printf("sim: acting as kubelet for pods bound to these nodes (Ctrl-C to stop)\n");
	fflush(stdout);
	int64_t start = ks_mono_ms(), next_report = start + 10000;
	int64_t interrupt_ms = (int64_t)((double)a.interrupt_every_s * 1000.0 / a.time_scale);
	int64_t next_interrupt = start + interrupt_ms;
	struct sim_stats st;
	while (!stop_requested && (!a.duration || ks_mono_ms() - start < a.duration * 1000)) {
		sim_step(s, 200);
		if (a.interrupt_every_s && ks_mono_ms() >= next_interrupt) {
			if (sim_karpenter_interrupt(s, NULL, &err))
				printf("sim: no spot interruption: %s\n", err.msg);
			else
				printf("sim: spot interruption notice sent\n");
			fflush(stdout);
			next_interrupt += interrupt_ms;
		}
		if (ks_mono_ms() >= next_report) {
			sim_get_stats(s, &st);
			printf("sim: %d nodes, %llu pods started, %llu finished, %llu API errors\n",
			       st.nodes, (unsigned long long)st.pods_started,
			       (unsigned long long)st.pods_finished, (unsigned long long)st.api_errors);
			fflush(stdout);
			next_report += 10000;
		}
	}
	/* Let queued writes go out. */
	for (int i = 0; i < 10; i++)
		sim_step(s, 50);
	status = CLI_OK;
cleanup:
	if (!a.keep_nodes) {
		printf("sim: removing the simulated nodes\n");
		if (sim_remove_nodes(s, &err)) {
			fprintf(stderr, "kswarm sim: %s\n", err.msg);
			status = CLI_FAIL;
		}
	}
	sim_get_stats(s, &st);
	printf("sim: done: %d nodes, %llu pods started, %llu finished, %llu API errors\n", st.nodes,
	       (unsigned long long)st.pods_started, (unsigned long long)st.pods_finished,
	       (unsigned long long)st.api_errors);
out:
	if (status == CLI_FAIL && err.msg[0] && !s)
		fprintf(stderr, "kswarm sim: %s\n", err.msg);
	sim_free(s);
	sim_vault_stop(vault);
	for (int i = 0; i < a.n_scenarios; i++)
		sim_scenario_free(scenarios[i]);
	if (connected)
		kube_client_close(&c);
	cost_catalog_free(cat);
	free(local_kubeconfig);
	return status;
}
