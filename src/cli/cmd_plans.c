/* cmd_plans.c — `kswarm plans list|show|approve|reject`: the daemon's plans through its API
 * (docs/API.md), with the text renderings of server/apiclient.h. */
#include "base/common.h"
#include "base/buf.h"
#include "cli/cli.h"
#include "cli/cliapi.h"
#include "server/apiclient.h"
#include "server/apireq.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char cmd_plans_usage[] =
	"Usage: kswarm plans list [--status S]\n"
	"       kswarm plans show ID\n"
	"       kswarm plans approve ID [--comment TEXT] [--by NAME]\n"
	"       kswarm plans reject ID --reason TEXT [--by NAME]\n\n"
	"The plans of a running daemon (`kswarm run`): list them (newest first; --status keeps\n"
	"one status: pending, approved, executing, rejected, denied, dry-run, ... as in\n"
	"docs/SWARM.md), show one with its steps and history, approve or reject one.\n"
	"Approving and rejecting need the daemon's bearer token; --by names who decides\n"
	"(default $USER).\n\n"
	"Flags:\n"
	"      --server URL         the daemon (default $KSWARM_SERVER, else "
	APICLIENT_DEFAULT_SERVER ")\n"
	"      --token-file FILE    the bearer token (default $KSWARM_TOKEN)\n"
	"  -o, --output text|json\n\n"
	"Exit status: 0 on success, 1 when the daemon refused or could not be reached, 2 for a\n"
	"bad flag.\n";

struct plans_args {
	struct cli_api_flags api;
	const char *verb, *id, *status, *comment, *reason, *by;
};

static int parse_args(int argc, char **argv, struct plans_args *a)
{
	for (int i = 1; i < argc; i++) {
		int r = cli_api_flag(&a->api, argc, argv, &i, "plans");
		if (r < 0)
			return -1;
		if (r)
			continue;
		const char *s = argv[i];
		const char **dst = !strcmp(s, "--status")    ? &a->status
				   : !strcmp(s, "--comment") ? &a->comment
				   : !strcmp(s, "--reason")  ? &a->reason
				   : !strcmp(s, "--by")	     ? &a->by
							     : NULL;
		if (dst) {
			if (i + 1 >= argc) {
				fprintf(stderr, "kswarm plans: a value is missing after %s\n", s);
				return -1;
			}
			*dst = argv[++i];
		} else if (s[0] == '-' && s[1]) {
			fprintf(stderr,
				"kswarm plans: unknown flag '%s' (see 'kswarm help plans')\n", s);
			return -1;
		} else if (!a->verb) {
			a->verb = s;
		} else if (!a->id) {
			a->id = s;
		} else {
			fprintf(stderr, "kswarm plans: unexpected argument '%s'\n", s);
			return -1;
		}
	}
	if (!a->verb) {
		fprintf(stderr, "%s", cmd_plans_usage);
		return -1;
	}
	bool list = !strcmp(a->verb, "list");
	if (!list && strcmp(a->verb, "show") && strcmp(a->verb, "approve") &&
	    strcmp(a->verb, "reject")) {
		fprintf(stderr, "kswarm plans: '%s' is not list, show, approve or reject\n",
			a->verb);
		return -1;
	}
	if (list ? a->id != NULL : a->id == NULL) {
		fprintf(stderr, list ? "kswarm plans list: takes no plan id\n"
				     : "kswarm plans %s: a plan id is needed\n",
			a->verb);
		return -1;
	}
	if (a->id && !api_plan_id_valid(a->id)) {
		fprintf(stderr, "kswarm plans: '%s' is not a plan id (p3, ...)\n", a->id);
		return -1;
	}
	if (!strcmp(a->verb, "reject") && (!a->reason || !*a->reason)) {
		fprintf(stderr, "kswarm plans reject: --reason is required\n");
		return -1;
	}
	if ((a->status && !list) || (a->comment && strcmp(a->verb, "approve")) ||
	    (a->reason && strcmp(a->verb, "reject"))) {
		fprintf(stderr, "kswarm plans %s: --status goes with list, --comment with approve, "
				"--reason with reject\n", a->verb);
		return -1;
	}
	return 0;
}

static void print_text(void (*fmt)(const cJSON *, struct ks_buf *), const cJSON *j)
{
	struct ks_buf out;
	ks_buf_init(&out, KS_BUF_UNLIMITED);
	fmt(j, &out);
	fputs(out.data ? out.data : "", stdout);
	ks_buf_release(&out);
}

/* approve / reject: POST the decision. */
static int decide(struct apiclient *c, const struct plans_args *a, cJSON **out)
{
	bool approve = !strcmp(a->verb, "approve");
	const char *by = a->by ? a->by : getenv("USER");
	cJSON *body = cJSON_CreateObject();
	if (by && *by)
		cJSON_AddStringToObject(body, "by", by);
	if (approve && a->comment)
		cJSON_AddStringToObject(body, "comment", a->comment);
	if (!approve)
		cJSON_AddStringToObject(body, "reason", a->reason);
	char *path = ks_asprintf("/api/v1/plans/%s/%s", a->id, a->verb);
	int rc = cli_api_call(c, "plans", "POST", path, body, out);
	free(path);
	cJSON_Delete(body);
	return rc;
}

int cmd_plans(int argc, char **argv)
{
	struct plans_args a = {0};
	if (parse_args(argc, argv, &a))
		return CLI_USAGE;
	struct apiclient *c;
	if (cli_api_connect(&a.api, "plans", &c))
		return CLI_FAIL;
	cJSON *out = NULL;
	int rc;
	if (!strcmp(a.verb, "list")) {
		struct ks_buf path;
		ks_buf_init(&path, KS_BUF_UNLIMITED);
		ks_buf_appendstr(&path, "/api/v1/plans");
		if (a.status) {
			ks_buf_appendstr(&path, "?status=");
			ks_buf_append_urlenc(&path, a.status);
		}
		rc = cli_api_call(c, "plans", "GET", path.data, NULL, &out);
		ks_buf_release(&path);
		if (!rc && !cli_api_json(&a.api))
			print_text(apiclient_format_plans, out);
	} else if (!strcmp(a.verb, "show")) {
		char *path = ks_asprintf("/api/v1/plans/%s", a.id);
		rc = cli_api_call(c, "plans", "GET", path, NULL, &out);
		free(path);
		if (!rc && !cli_api_json(&a.api))
			print_text(apiclient_format_plan, out);
	} else {
		rc = decide(c, &a, &out);
		if (!rc && !cli_api_json(&a.api))
			printf("Plan %s %s.\n", a.id,
			       !strcmp(a.verb, "approve") ? "approved" : "rejected");
	}
	if (!rc && cli_api_json(&a.api))
		cli_api_print_json(out);
	cJSON_Delete(out);
	apiclient_free(c);
	return rc ? CLI_FAIL : CLI_OK;
}
