/* main.c — kswarm's entry point: global flags, then dispatch to one command. */
#include "base/common.h"
#include "cli/cli.h"

#include <stdio.h>
#include <string.h>

static const struct cli_command commands[] = {
	{"get", cmd_get, "List or show Kubernetes objects, as kubectl get does", cmd_get_usage},
	{"watch", cmd_watch, "Stream changes to Kubernetes objects as they happen", cmd_watch_usage},
	{"analyze", cmd_analyze, "Find what is broken and why: root causes with evidence",
	 cmd_analyze_usage},
	{"snapshot", cmd_snapshot, "Write the cluster state analyze reads to a file",
	 cmd_snapshot_usage},
	{"optimize", cmd_optimize, "The cheapest node mix per Karpenter NodePool, with proof",
	 cmd_optimize_usage},
	{"plans", cmd_plans, "List, show, approve or reject the running daemon's plans",
	 cmd_plans_usage},
	{"ask", cmd_ask, "Ask the running daemon why it decided what it did", cmd_ask_usage},
	{"demo", cmd_demo, "The whole system at work on a local control plane, with a summary",
	 cmd_demo_usage},
	{"run", cmd_run, "Run the swarm: diagnose, decide under policy, fix, serve the API",
	 cmd_run_usage},
	{"sim", cmd_sim, "Simulated nodes and kubelets for a real control plane", cmd_sim_usage},
	{"version", cmd_version, "Print kswarm's version and build", cmd_version_usage},
	{"help", cmd_help, "Show help for kswarm or one of its commands", cmd_help_usage},
};

const struct cli_command *cli_commands(int *count)
{
	*count = (int)KS_ARRAY_LEN(commands);
	return commands;
}

const struct cli_command *cli_find(const char *name)
{
	for (size_t i = 0; i < KS_ARRAY_LEN(commands); i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

static void usage(FILE *out)
{
	fprintf(out, "kswarm — a swarm of agents that keeps Kubernetes clusters healthy and cheap\n\n"
		     "Usage: kswarm COMMAND [ARGS...]\n\nCommands:\n");
	for (size_t i = 0; i < KS_ARRAY_LEN(commands); i++)
		fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(out, "\nGlobal flags (before or after the command):\n"
		     "  --kubeconfig FILE   kubeconfig to use (default: $KUBECONFIG, then ~/.kube/config)\n"
		     "  --context NAME      kubeconfig context to use\n"
		     "  -v, --verbose       more logging (repeat for more); or KSWARM_LOG=debug\n"
		     "  -h, --help          this help\n\n"
		     "Run 'kswarm help COMMAND' for a command's flags.\n");
}

const char cmd_help_usage[] = "Usage: kswarm help [COMMAND]\n\n"
			      "Without COMMAND, list the commands; with it, show its flags.\n";

int cmd_help(int argc, char **argv)
{
	if (argc < 2) {
		usage(stdout);
		return CLI_OK;
	}
	const struct cli_command *c = cli_find(argv[1]);
	if (!c) {
		fprintf(stderr, "kswarm: no command '%s'; run 'kswarm --help' for the list\n", argv[1]);
		return CLI_USAGE;
	}
	fputs(c->usage, stdout);
	return CLI_OK;
}

const char cmd_version_usage[] = "Usage: kswarm version\n\nPrint kswarm's version, git "
				 "revision and the versions of the libraries it was built with.\n";

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return CLI_USAGE;
	}
	const char *name = argv[1];
	if (!strcmp(name, "-h") || !strcmp(name, "--help"))
		name = "help";
	if (!strcmp(name, "--version"))
		name = "version";
	const struct cli_command *c = cli_find(name);
	if (!c) {
		fprintf(stderr, "kswarm: unknown command '%s'; run 'kswarm --help' for the list\n",
			argv[1]);
		return CLI_USAGE;
	}
	/* `kswarm get --help` is the same as `kswarm help get`. */
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			break;
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			fputs(c->usage, stdout);
			return CLI_OK;
		}
	}
	return c->run(argc - 1, argv + 1);
}
