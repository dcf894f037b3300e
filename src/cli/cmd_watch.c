/* cmd_watch.c — `kswarm watch KIND`: stream changes as they happen (LIST, then WATCH,
 * resuming and relisting as kube/watch does). One line per change. */
#include "base/common.h"
#include "base/json.h"
#include "base/timeutil.h"
#include "cli/cli.h"
#include "cli/clikube.h"
#include "kube/watch.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

const char cmd_watch_usage[] =
	"Usage: kswarm watch KIND [flags]\n\n"
	"List the objects of one kind, then print every change as it happens: one line per\n"
	"event (EVENT NAMESPACE NAME RESOURCE-VERSION STATUS), or one JSON object per line with\n"
	"-o json ({\"type\":\"MODIFIED\",\"object\":{...}}). Survives API server restarts and\n"
	"expired resource versions (it relists). Stops on Ctrl-C.\n\n"
	"Flags:\n"
	"  -n, --namespace NS     the namespace (default: the context's)\n"
	"  -A, --all-namespaces   every namespace\n"
	"  -l, --selector SEL     label selector\n"
	"  -o, --output json      JSON lines\n"
	"      --no-initial       do not print the objects that exist at the start\n"
	"      --timeout SECONDS  stop after this long (default: never)\n"
	"      --kubeconfig FILE, --context NAME\n";

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

struct watch_cli {
	bool json;
	bool initial;
	bool header_done;
};

/* A short status word per kind: a pod's phase (or its deletion), a node's readiness,
 * else the replica counts. */
static void status_of(const cJSON *o, char *out, size_t n)
{
	const char *kind = ks_json_str_or(o, "kind", "");
	if (ks_json_str(o, "metadata.deletionTimestamp")) {
		snprintf(out, n, "Terminating");
	} else if (!strcmp(kind, "Pod")) {
		snprintf(out, n, "%s", ks_json_str_or(o, "status.phase", "Pending"));
	} else if (!strcmp(kind, "Node")) {
		const cJSON *c;
		snprintf(out, n, "Unknown");
		cJSON_ArrayForEach(c, ks_json_get(o, "status.conditions"))
			if (!strcmp(ks_json_str_or(c, "type", ""), "Ready"))
				snprintf(out, n, "%s", !strcmp(ks_json_str_or(c, "status", ""), "True")
							       ? "Ready" : "NotReady");
	} else if (ks_json_get(o, "spec.replicas")) {
		snprintf(out, n, "%lld/%lld", (long long)ks_json_int_or(o, "status.readyReplicas", 0),
			 (long long)ks_json_int_or(o, "spec.replicas", 0));
	} else {
		snprintf(out, n, "-");
	}
}

static void print_event(struct watch_cli *w, const char *type, const cJSON *o)
{
	if (w->json) {
		struct ks_buf b;
		ks_buf_init(&b, KS_BUF_UNLIMITED);
		ks_buf_appendstr(&b, "{\"type\":");
		ks_buf_append_json_string(&b, type);
		ks_buf_appendstr(&b, ",\"object\":");
		char *s = ks_json_print(o);
		ks_buf_appendstr(&b, s);
		free(s);
		ks_buf_appendstr(&b, "}\n");
		fwrite(b.data, 1, b.len, stdout);
		ks_buf_release(&b);
	} else {
		if (!w->header_done) {
			printf("%-9s %-20s %-50s %-12s %s\n", "EVENT", "NAMESPACE", "NAME", "RV",
			       "STATUS");
			w->header_done = true;
		}
		char st[64];
		status_of(o, st, sizeof st);
		printf("%-9s %-20s %-50s %-12s %s\n", type,
		       ks_json_str_or(o, "metadata.namespace", "-"),
		       ks_json_str_or(o, "metadata.name", ""),
		       ks_json_str_or(o, "metadata.resourceVersion", ""), st);
	}
	fflush(stdout);
}

static void on_list_page(void *ctx, cJSON *items)
{
	struct watch_cli *w = ctx;
	if (!w->initial)
		return;
	const cJSON *it;
	cJSON_ArrayForEach(it, items)
		print_event(w, "EXISTING", it);
}

static void on_list_end(void *ctx, const char *rv)
{
	struct watch_cli *w = ctx;
	(void)rv;
	w->initial = false; /* a relist after 410 is not news: only the first list is shown */
}

static void on_event(void *ctx, enum kube_event_type type, cJSON *obj)
{
	print_event(ctx, kube_event_type_name(type), obj);
}

static void on_state(void *ctx, enum kube_watch_state s, const struct ks_err *err)
{
	(void)ctx;
	if (s == KW_BACKOFF && err)
		fprintf(stderr, "kswarm watch: %s (reconnecting)\n", err->msg);
}

int cmd_watch(int argc, char **argv)
{
	struct cli_kube_flags k = {0};
	const char *kind = NULL, *selector = NULL;
	struct watch_cli w = {.initial = true};
	long timeout_s = 0;
	for (int i = 1; i < argc; i++) {
		int r = cli_kube_flag(&k, argc, argv, &i, "watch");
		if (r < 0)
			return CLI_USAGE;
		if (r > 0)
			continue;
		const char *s = argv[i];
		if ((!strcmp(s, "-l") || !strcmp(s, "--selector")) && i + 1 < argc)
			selector = argv[++i];
		else if ((!strcmp(s, "-o") || !strcmp(s, "--output")) && i + 1 < argc) {
			if (strcmp(argv[++i], "json")) {
				fprintf(stderr, "kswarm watch: -o takes only 'json'\n");
				return CLI_USAGE;
			}
			w.json = true;
		} else if (!strcmp(s, "-ojson") || !strcmp(s, "-o=json"))
			w.json = true;
		else if (!strcmp(s, "--no-initial"))
			w.initial = false;
		else if (!strcmp(s, "--timeout") && i + 1 < argc)
			timeout_s = strtol(argv[++i], NULL, 10);
		else if (s[0] == '-') {
			fprintf(stderr, "kswarm watch: unknown flag '%s' (see 'kswarm help watch')\n", s);
			return CLI_USAGE;
		} else if (!kind)
			kind = s;
		else {
			fprintf(stderr, "kswarm watch: one kind at a time ('%s' is extra)\n", s);
			return CLI_USAGE;
		}
	}
	if (!kind) {
		fprintf(stderr, "kswarm watch: which kind? e.g. 'kswarm watch pods'\n");
		return CLI_USAGE;
	}
	struct kube_client c;
	if (cli_kube_connect(&k, &c))
		return CLI_FAIL;
	struct ks_err err = {0};
	int status = CLI_FAIL;
	const struct kube_api_resource *ar = NULL;
	if (kube_discovery_ensure(&c, &err) || !(ar = kube_discovery_find(c.discovery, kind, &err))) {
		fprintf(stderr, "kswarm watch: %s\n", err.msg);
		goto out;
	}
	struct sigaction sa = {.sa_handler = on_signal};
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	struct kube_watch_opts o = {
		.ns = k.all_namespaces ? NULL : cli_kube_namespace(&k, &c),
		.label_selector = selector,
	};
	struct kube_watch_handlers h = {.on_list_page = on_list_page, .on_list_end = on_list_end,
					.on_event = on_event, .on_state = on_state, .ctx = &w};
	struct kube_watch *wt = kube_watch_new(&c, &ar->r, &o, &h);
	kube_watch_start(wt);
	int64_t end = timeout_s > 0 ? ks_mono_ms() + timeout_s * 1000 : 0;
	while (!stop_requested && (!end || ks_mono_ms() < end))
		kube_watch_poll(wt, 200);
	kube_watch_free(wt);
	status = CLI_OK;
out:
	kube_client_close(&c);
	return status;
}
