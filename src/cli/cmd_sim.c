/* cmd_sim.c — `kswarm sim`: bring simulated nodes to a real control plane and play their
 * kubelets (see src/sim/sim.h). Runs until Ctrl-C (or --duration), then removes its nodes. */
#include "base/common.h"
#include "base/timeutil.h"
#include "cli/cli.h"
#include "cli/clikube.h"
#include "cost/catalog.h"
#include "sim/karpenter.h"
#include "sim/sim.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

const char cmd_sim_usage[] =
	"Usage: kswarm sim [flags]\n\n"
	"Install the Karpenter CRDs (karpenter.sh/v1 NodePool, karpenter.k8s.aws/v1 EC2NodeClass),\n"
	"register simulated EKS + Karpenter nodes with the cluster and act as their kubelets:\n"
	"pods the real scheduler binds to them run (status, conditions, container states, the\n"
	"kubelet's events), and deleted, evicted or drained pods terminate after their grace\n"
	"period. Nodes renew their Leases and post their status, so the node controller sees\n"
	"them alive. On exit (Ctrl-C or --duration) the nodes are removed.\n\n"
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
	"      --interrupt-spot-every D  a spot interruption notice for a random spot node every D\n"
	"                             of simulated time (90s, 10m, 1h; default: never)\n"
	"      --kubeconfig FILE, --context NAME\n";

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
	long interrupt_every_s; /* simulated seconds, 0: never */
	bool keep_nodes, no_crds;
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
		if (strncmp(f, "--", 2) != 0) {
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
		} else if (!strcmp(f, "--interrupt-spot-every")) {
			a->interrupt_every_s = strtol(v, &end, 10);
			long unit = !*end ? 1 : !strcmp(end, "s") ? 1 : !strcmp(end, "m") ? 60
				  : !strcmp(end, "h") ? 3600 : 0;
			if (end == v || !unit || a->interrupt_every_s <= 0)
				goto bad;
			a->interrupt_every_s *= unit;
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
	return 0;
}

int cmd_sim(int argc, char **argv)
{
	struct sim_args a = {.nodes = 3, .instance_type = "m5.large", .nodepool = "default",
			     .capacity_type = "on-demand",
			     .zones = "us-east-1a,us-east-1b,us-east-1c", .time_scale = 1};
	if (parse(argc, argv, &a))
		return CLI_USAGE;
	struct ks_err err = {0};
	char *catalog_path = a.catalog ? ks_strdup(a.catalog) : cost_catalog_default_path();
	struct cost_catalog *cat = NULL;
	if (cost_catalog_load(catalog_path, &cat, &err)) {
		fprintf(stderr, "kswarm sim: %s\n", err.msg);
		free(catalog_path);
		return CLI_FAIL;
	}
	free(catalog_path);
	/* One process plays every kubelet; each real kubelet may send 5/s (burst 10). */
	a.k.qps = a.nodes * 5.0 < 50 ? 50 : a.nodes * 5.0;
	a.k.burst = (int)a.k.qps * 2;
	struct kube_client c;
	if (cli_kube_connect(&a.k, &c)) {
		cost_catalog_free(cat);
		return CLI_FAIL;
	}
	int status = CLI_FAIL;
	struct sim *s = NULL;
	struct sim_opts so = {.time_scale = a.time_scale, .seed = a.seed};
	if (sim_new(&c, cat, &so, &s, &err))
		goto out;
	struct sigaction sa = {.sa_handler = on_signal};
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

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
	sim_start(s, &err);
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
	kube_client_close(&c);
	cost_catalog_free(cat);
	return status;
}
