/* cmd_ask.c — `kswarm ask "question"`: a free-form question to the running daemon, answered
 * from the swarm's recorded decisions (POST /api/v1/ask, docs/API.md). */
#include "base/common.h"
#include "base/buf.h"
#include "cli/cli.h"
#include "cli/cliapi.h"
#include "server/apiclient.h"

#include <stdio.h>
#include <string.h>

const char cmd_ask_usage[] =
	"Usage: kswarm ask [flags] \"QUESTION\"\n\n"
	"Ask the running daemon (`kswarm run`) about what the swarm decided and why: \"why was\n"
	"p3 approved?\", \"what else was considered for shop/web?\", \"what's the risk of p4?\".\n"
	"The answer names the messages it rests on. Needs the daemon's bearer token.\n\n"
	"Flags:\n"
	"      --server URL         the daemon (default $KSWARM_SERVER, else "
	APICLIENT_DEFAULT_SERVER ")\n"
	"      --token-file FILE    the bearer token (default $KSWARM_TOKEN)\n"
	"  -o, --output text|json\n\n"
	"Exit status: 0 when answered, 1 when the daemon refused or could not be reached, 2 for a\n"
	"bad flag.\n";

int cmd_ask(int argc, char **argv)
{
	struct cli_api_flags f = {0};
	const char *question = NULL;
	for (int i = 1; i < argc; i++) {
		int r = cli_api_flag(&f, argc, argv, &i, "ask");
		if (r < 0)
			return CLI_USAGE;
		if (r)
			continue;
		if (argv[i][0] == '-' && argv[i][1]) {
			fprintf(stderr, "kswarm ask: unknown flag '%s' (see 'kswarm help ask')\n",
				argv[i]);
			return CLI_USAGE;
		}
		if (question) {
			fprintf(stderr, "kswarm ask: one question, in quotes\n");
			return CLI_USAGE;
		}
		question = argv[i];
	}
	if (!question || !*question) {
		fprintf(stderr, "%s", cmd_ask_usage);
		return CLI_USAGE;
	}
	struct apiclient *c;
	if (cli_api_connect(&f, "ask", &c))
		return CLI_FAIL;
	cJSON *body = cJSON_CreateObject();
	cJSON_AddStringToObject(body, "question", question);
	cJSON *out = NULL;
	int rc = cli_api_call(c, "ask", "POST", "/api/v1/ask", body, &out);
	cJSON_Delete(body);
	if (!rc && cli_api_json(&f)) {
		cli_api_print_json(out);
	} else if (!rc) {
		struct ks_buf text;
		ks_buf_init(&text, KS_BUF_UNLIMITED);
		apiclient_format_answer(out, &text);
		fputs(text.data ? text.data : "", stdout);
		ks_buf_release(&text);
	}
	cJSON_Delete(out);
	apiclient_free(c);
	return rc ? CLI_FAIL : CLI_OK;
}
