/* cliapi.c — see cliapi.h. */
#include "base/common.h"
#include "base/buf.h"
#include "base/json.h"
#include "base/jsonout.h"
#include "cli/cli.h"
#include "cli/cliapi.h"
#include "server/apiclient.h"

#include <stdio.h>
#include <string.h>

int cli_api_flag(struct cli_api_flags *f, int argc, char **argv, int *i, const char *cmd)
{
	const char *s = argv[*i];
	const char **dst = !strcmp(s, "--server")			? &f->server
			   : !strcmp(s, "--token-file")			? &f->token_file
			   : !strcmp(s, "-o") || !strcmp(s, "--output") ? &f->output
									: NULL;
	const char *val = NULL;
	if (dst) {
		if (*i + 1 >= argc) {
			fprintf(stderr, "kswarm %s: a value is missing after %s\n", cmd, s);
			return -1;
		}
		val = argv[++*i];
	} else if (!strncmp(s, "--server=", 9)) {
		dst = &f->server;
		val = s + 9;
	} else if (!strncmp(s, "--token-file=", 13)) {
		dst = &f->token_file;
		val = s + 13;
	} else if (!strncmp(s, "-o", 2) && s[2]) {
		dst = &f->output;
		val = s + 2 + (s[2] == '=');
	} else if (!strncmp(s, "--output=", 9)) {
		dst = &f->output;
		val = s + 9;
	} else {
		return 0;
	}
	if (dst == &f->output && strcmp(val, "text") && strcmp(val, "json")) {
		fprintf(stderr, "kswarm %s: -o takes text or json, not '%s'\n", cmd, val);
		return -1;
	}
	*dst = val;
	return 1;
}

bool cli_api_json(const struct cli_api_flags *f)
{
	return f->output && !strcmp(f->output, "json");
}

int cli_api_connect(const struct cli_api_flags *f, const char *cmd, struct apiclient **out)
{
	struct ks_err err = {0};
	char *token = NULL;
	if (apiclient_load_token(f->token_file, &token, &err)) {
		fprintf(stderr, "kswarm %s: %s\n", cmd, err.msg);
		return -1;
	}
	int rc = apiclient_new(&(struct apiclient_opts){.server = f->server, .token = token}, out,
			       &err);
	if (token) {
		memset(token, 0, strlen(token));
		free(token);
	}
	if (rc)
		fprintf(stderr, "kswarm %s: %s\n", cmd, err.msg);
	return rc;
}

int cli_api_call(struct apiclient *c, const char *cmd, const char *method, const char *path,
		 const cJSON *body, cJSON **out)
{
	struct ks_err err = {0};
	int rc = apiclient_call(c, method, path, body, out, &err);
	if (rc)
		fprintf(stderr, "kswarm %s: %s\n", cmd, err.msg);
	return rc;
}

void cli_api_print_json(const cJSON *j)
{
	struct ks_buf out;
	ks_buf_init(&out, KS_BUF_UNLIMITED);
	ks_json_write_go(j, &out);
	printf("%s\n", out.data ? out.data : "null");
	ks_buf_release(&out);
}
