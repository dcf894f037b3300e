/* cliapi.h — what the commands that talk to the daemon share (`kswarm plans`, `kswarm
 * ask`): the flags --server URL (default $KSWARM_SERVER, then http://127.0.0.1:8080),
 * --token-file FILE (default $KSWARM_TOKEN) and -o text|json; connecting; JSON output. */
#ifndef KS_CLI_CLIAPI_H
#define KS_CLI_CLIAPI_H

#include <stdbool.h>

#include <cjson/cJSON.h>

struct apiclient;

struct cli_api_flags {
	const char *server;
	const char *token_file;
	const char *output; /* "text" or "json" */
};

/* If argv[*i] is one of the flags above, consume it (and its value) and return 1; -1 on a
 * missing or bad value (message printed), else 0. */
int cli_api_flag(struct cli_api_flags *f, int argc, char **argv, int *i, const char *cmd);
/* A client for the flags; prints the error and returns non-zero on failure. */
int cli_api_connect(const struct cli_api_flags *f, const char *cmd, struct apiclient **out);
/* One call; on failure prints "kswarm CMD: <error>" and returns non-zero. */
int cli_api_call(struct apiclient *c, const char *cmd, const char *method, const char *path,
		 const cJSON *body, cJSON **out);
/* Print j as kubectl prints JSON (4-space indent, a final newline). */
void cli_api_print_json(const cJSON *j);
/* Whether -o json was asked for. */
bool cli_api_json(const struct cli_api_flags *f);

#endif
