/* cli.h — the command table. One command, one file (as git's builtin/): cmd_NAME.c
 * defines `int cmd_NAME(int argc, char **argv)` returning the process exit code, and its
 * help text. main.c dispatches. */
#ifndef KS_CLI_H
#define KS_CLI_H

struct cli_command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary; /* one line for `kswarm --help` */
	const char *usage;   /* the full text for `kswarm help NAME` */
};

const struct cli_command *cli_find(const char *name);
const struct cli_command *cli_commands(int *count);

int cmd_version(int argc, char **argv);
int cmd_help(int argc, char **argv);
int cmd_get(int argc, char **argv);
int cmd_watch(int argc, char **argv);
int cmd_sim(int argc, char **argv);
int cmd_analyze(int argc, char **argv);
int cmd_snapshot(int argc, char **argv);
int cmd_optimize(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_plans(int argc, char **argv);
int cmd_ask(int argc, char **argv);
int cmd_demo(int argc, char **argv);

extern const char cmd_version_usage[];
extern const char cmd_help_usage[];
extern const char cmd_get_usage[];
extern const char cmd_watch_usage[];
extern const char cmd_sim_usage[];
extern const char cmd_analyze_usage[];
extern const char cmd_snapshot_usage[];
extern const char cmd_optimize_usage[];
extern const char cmd_run_usage[];
extern const char cmd_plans_usage[];
extern const char cmd_ask_usage[];
extern const char cmd_demo_usage[];

/* Exit codes shared by commands. */
enum { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2 };

#endif
