/* cmd_run.c — `kswarm run`: the daemon (src/daemon/daemon.h). Flags override the config
 * file; SIGINT/SIGTERM stop it after the work in hand. */
#include "base/common.h"
#include "base/alloc.h"
#include "base/err.h"
#include "base/log.h"
#include "base/strutil.h"
#include "base/timeutil.h"
#include "cli/cli.h"
#include "daemon/config.h"
#include "daemon/daemon.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char cmd_run_usage[] =
	"Usage: kswarm run [--config kswarm.yaml] [flags]\n\n"
	"Run the swarm against a cluster: watch it, diagnose, propose, decide under the\n"
	"policies, ask for approval, execute approved plans through the reconciler (verified,\n"
	"rolled back on regression), and serve the HTTP API and the live stream\n"
	"(docs/API.md). The conversation is printed as it happens, one line per message.\n"
	"A new install runs in dry-run mode: nothing is changed until a policy file says so\n"
	"(docs/POLICY.md). The configuration file is described in docs/CONFIG.md.\n\n"
	"Flags (each overrides the config file):\n"
	"      --config FILE        the configuration (default: none, built-in defaults)\n"
	"      --kubeconfig FILE, --context NAME\n"
	"      --cluster NAME       the cluster's name in messages\n"
	"      --listen ADDR        HTTP address (default 127.0.0.1:8080; port 0: any free)\n"
	"      --store FILE         the SQLite database (transcript, plans, intent log)\n"
	"      --policies FILE      the policy file\n"
	"      --interval DURATION  time between rounds (default 30s)\n"
	"      --prometheus URL     usage and SLO metrics (or $KSWARM_PROM_URL)\n"
	"      --rounds N           stop after N rounds (default: run until stopped)\n"
	"      --ready-file FILE    write the API's address there once it listens\n"
	"      --no-stream          do not print the conversation\n"
	"  -v, --verbose            more logging (-vv: debug)\n";

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static void write_ready(void *ctx, const char *address)
{
	const char *path = ctx;
	if (!path)
		return;
	char tmp[4096];
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	FILE *f = fopen(tmp, "w");
	if (!f || fprintf(f, "%s\n", address) < 0 || fclose(f) || rename(tmp, path))
		fprintf(stderr, "kswarm run: --ready-file %s: cannot write it\n", path);
}

static void set_str(char **slot, const char *v)
{
	free(*slot);
	*slot = ks_strdup(v);
}

int cmd_run(int argc, char **argv)
{
	const char *config = NULL, *ready = NULL;
	bool stream = true;
	int rounds = 0, verbose = 0;
	/* First pass: the config file, so that flags override it whatever their order. */
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--config") && i + 1 < argc)
			config = argv[++i];
	struct daemon_config cfg;
	daemon_config_defaults(&cfg);
	struct ks_err err = {0};
	if (config && daemon_config_load(config, &cfg, &err)) {
		fprintf(stderr, "kswarm run: %s\n", err.msg);
		daemon_config_release(&cfg);
		return CLI_FAIL;
	}
	if (getenv("KSWARM_PROM_URL") && *getenv("KSWARM_PROM_URL") && !cfg.prometheus)
		set_str(&cfg.prometheus, getenv("KSWARM_PROM_URL"));
	static const struct {
		const char *flag;
		size_t off;
	} strs[] = {
		{"--kubeconfig", offsetof(struct daemon_config, kubeconfig)},
		{"--context", offsetof(struct daemon_config, context)},
		{"--cluster", offsetof(struct daemon_config, cluster)},
		{"--listen", offsetof(struct daemon_config, listen)},
		{"--store", offsetof(struct daemon_config, store)},
		{"--policies", offsetof(struct daemon_config, policies)},
		{"--prometheus", offsetof(struct daemon_config, prometheus)},
	};
	int rc = CLI_OK;
	for (int i = 1; i < argc && rc == CLI_OK; i++) {
		const char *s = argv[i];
		bool has_val = i + 1 < argc, done = false;
		for (size_t k = 0; k < sizeof strs / sizeof strs[0] && !done; k++)
			if (!strcmp(s, strs[k].flag) && has_val) {
				set_str((char **)((char *)&cfg + strs[k].off), argv[++i]);
				done = true;
			}
		if (done)
			continue;
		if (!strcmp(s, "--config") && has_val) {
			i++;
		} else if (!strcmp(s, "--interval") && has_val) {
			if (ks_parse_duration(argv[++i], &cfg.interval_s, &err) ||
			    cfg.interval_s < 0.1) {
				fprintf(stderr, "kswarm run: --interval: %s\n",
					err.msg[0] ? err.msg : "must be at least 100ms");
				rc = CLI_USAGE;
			}
		} else if (!strcmp(s, "--rounds") && has_val) {
			int64_t n;
			if (!ks_parse_int64(argv[++i], &n) || n < 1 || n > 1000000) {
				fprintf(stderr, "kswarm run: --rounds takes a number from 1, not '%s'\n",
					argv[i]);
				rc = CLI_USAGE;
			}
			rounds = (int)n;
		} else if (!strcmp(s, "--ready-file") && has_val) {
			ready = argv[++i];
		} else if (!strcmp(s, "--no-stream")) {
			stream = false;
		} else if (!strcmp(s, "-v") || !strcmp(s, "--verbose")) {
			verbose++;
		} else if (!strcmp(s, "-vv")) {
			verbose += 2;
		} else {
			fprintf(stderr, "kswarm run: %s '%s' (see 'kswarm help run')\n",
				s[0] == '-' ? (has_val || strncmp(s, "--", 2) ? "unknown flag"
								   : "a value is missing after")
					    : "unexpected argument",
				s);
			rc = CLI_USAGE;
		}
	}
	if (rc != CLI_OK) {
		daemon_config_release(&cfg);
		return rc;
	}
	if (!getenv("KSWARM_LOG"))
		ks_log_set_level(verbose >= 2 ? KS_LOG_DEBUG : KS_LOG_INFO);
	struct sigaction sa = {.sa_handler = on_signal};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	bool colour = isatty(1) && !(getenv("NO_COLOR") && *getenv("NO_COLOR"));
	struct daemon_opts o = {.config = &cfg,
				.stream = stream ? stdout : NULL,
				.colour = colour,
				.max_rounds = rounds,
				.stop = &stop_requested,
				.on_ready = write_ready,
				.ready_ctx = (void *)ready};
	if (daemon_run(&o, &err)) {
		fprintf(stderr, "kswarm run: %s\n", err.msg);
		rc = CLI_FAIL;
	}
	daemon_config_release(&cfg);
	return rc;
}
