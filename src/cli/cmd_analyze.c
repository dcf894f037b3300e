/* cmd_analyze.c — `kswarm analyze`: find what is broken and why (Layer 2), from the live
 * cluster or a snapshot; and `kswarm snapshot`: write the state analyze reads. */
#include "base/common.h"
#include "base/json.h"
#include "cli/cli.h"
#include "cli/clikube.h"
#include "diag/diag.h"
#include "diag/explain.h"
#include "diag/report.h"
#include "llm/llm.h"
#include "kube/selector.h"
#include "base/timeutil.h"
#include "world/promfetch.h"
#include "world/world.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

const char cmd_analyze_usage[] =
	"Usage: kswarm analyze [flags]\n\n"
	"Find what is broken in a cluster and prove why: every analyzer K8sGPT has and more,\n"
	"one finding per root cause (the object at the root, the evidence, a remediation the\n"
	"reconciler can apply), from one LIST per kind and the logs of failing containers only.\n\n"
	"Flags:\n"
	"  -n, --namespace NS       only this namespace (cluster-scoped objects are then left out)\n"
	"  -A, --all-namespaces     every namespace (the default)\n"
	"      --filter NAMES       only these analyzers, comma-separated (see --list);\n"
	"                           Security runs only when named\n"
	"  -l, --selector SEL       only objects with these labels\n"
	"      --severity S         hide findings below S: info, low, medium, high, critical\n"
	"                           (default: low)\n"
	"  -o, --output text|json   text (default; colour on a terminal unless NO_COLOR) or JSON\n"
	"                           (docs/findings.schema.json)\n"
	"      --snapshot FILE      analyze a snapshot (kswarm snapshot -o FILE; or a kubectl\n"
	"                           get -o json|yaml List) instead of the cluster; - for stdin\n"
	"      --no-logs            do not read container logs\n"
	"      --prometheus URL     read container usage (CPU, memory, throttling, OOM kills)\n"
	"                           from this Prometheus (or $KSWARM_PROM_URL): the Usage\n"
	"                           analyzer and memory limits sized from the real peak\n"
	"      --metrics-window D   the usage window (default 1h; 30m, 6h, 7d)\n"
	"      --list               list the analyzers and exit\n"
	"      --kubeconfig FILE, --context NAME\n\n"
	"Explanations by an LLM (docs/LLM.md; without one, the built-in explanations stand):\n"
	"      --explain            have the LLM reword the first 10 findings' explanations\n"
	"                           (streamed under each finding); root causes, evidence and\n"
	"                           remediations never come from it\n"
	"      --llm-backend ollama|openai, --llm-url URL, --llm-model NAME,\n"
	"      --llm-api-key-env VAR   (or KSWARM_LLM_BACKEND, _URL, _MODEL, _API_KEY_ENV)\n"
	"      --anonymize, --no-anonymize   mask names, namespaces, labels, images, logs and\n"
	"                           events before they leave (default: on unless the LLM is on\n"
	"                           a loopback address)\n\n"
	"Exit status: 0 when the analysis ran (whatever it found), 1 when it could not, 2 for a\n"
	"bad flag.\n";

const char cmd_snapshot_usage[] =
	"Usage: kswarm snapshot -o FILE [flags]\n\n"
	"Write what kswarm analyze reads (every object of the kinds it analyzes, and the logs of\n"
	"failing containers) to FILE as JSON Lines (docs/SNAPSHOT.md), for analysis elsewhere:\n"
	"kswarm analyze --snapshot FILE. Secret values are never written (only key names).\n\n"
	"Flags:\n"
	"  -o, --output FILE        where to write (- for stdout)\n"
	"  -n, --namespace NS       only this namespace's objects (and no cluster-scoped ones)\n"
	"      --no-logs            no container logs\n"
	"      --prometheus URL     container usage from this Prometheus too (or $KSWARM_PROM_URL)\n"
	"      --metrics-window D   the usage window (default 1h)\n"
	"      --kubeconfig FILE, --context NAME\n";

struct analyze_flags {
	struct cli_kube_flags k;
	const char *filter, *selector, *snapshot, *output, *prometheus;
	double metrics_window_s;
	enum diag_severity min_severity;
	bool json, no_logs, list, explain;
	enum diag_anonymize anonymize;
	struct llm_flags llm;
};

static int parse_flags(const char *cmd, int argc, char **argv, struct analyze_flags *f,
		       bool snapshot_cmd)
{
	for (int i = 1; i < argc; i++) {
		int r = cli_kube_flag(&f->k, argc, argv, &i, cmd);
		if (r < 0)
			return -1;
		if (r > 0)
			continue;
		const char *s = argv[i];
		bool has_val = i + 1 < argc;
		if (!snapshot_cmd && !strcmp(s, "--filter") && has_val) {
			f->filter = argv[++i];
		} else if (!snapshot_cmd && (!strcmp(s, "-l") || !strcmp(s, "--selector")) &&
			   has_val) {
			f->selector = argv[++i];
		} else if (!snapshot_cmd && !strcmp(s, "--severity") && has_val) {
			if (diag_severity_parse(argv[++i], &f->min_severity)) {
				fprintf(stderr, "kswarm %s: --severity takes info, low, medium, high "
						"or critical, not '%s'\n", cmd, argv[i]);
				return -1;
			}
		} else if ((!strcmp(s, "-o") || !strcmp(s, "--output")) && has_val) {
			f->output = argv[++i];
		} else if (!snapshot_cmd && !strncmp(s, "-o", 2) && s[2]) {
			f->output = s + 2 + (s[2] == '=');
		} else if (!snapshot_cmd && !strcmp(s, "--snapshot") && has_val) {
			f->snapshot = argv[++i];
		} else if (!strcmp(s, "--no-logs")) {
			f->no_logs = true;
		} else if (!strcmp(s, "--prometheus") && has_val) {
			f->prometheus = argv[++i];
		} else if (!strcmp(s, "--metrics-window") && has_val) {
			struct ks_err derr = {0};
			if (ks_parse_duration(argv[++i], &f->metrics_window_s, &derr) ||
			    f->metrics_window_s <= 0) {
				fprintf(stderr, "kswarm %s: --metrics-window: %s\n", cmd,
					derr.msg[0] ? derr.msg : "must be more than 0");
				return -1;
			}
		} else if (!snapshot_cmd && !strcmp(s, "--list")) {
			f->list = true;
		} else if (!snapshot_cmd && !strcmp(s, "--explain")) {
			f->explain = true;
		} else if (!snapshot_cmd && !strcmp(s, "--anonymize")) {
			f->anonymize = DIAG_ANONYMIZE_ON;
		} else if (!snapshot_cmd && !strcmp(s, "--no-anonymize")) {
			f->anonymize = DIAG_ANONYMIZE_OFF;
		} else if (!snapshot_cmd && !strcmp(s, "--llm-backend") && has_val) {
			f->llm.backend = argv[++i];
		} else if (!snapshot_cmd && !strcmp(s, "--llm-url") && has_val) {
			f->llm.url = argv[++i];
		} else if (!snapshot_cmd && !strcmp(s, "--llm-model") && has_val) {
			f->llm.model = argv[++i];
		} else if (!snapshot_cmd && !strcmp(s, "--llm-api-key-env") && has_val) {
			f->llm.api_key_env = argv[++i];
		} else {
			fprintf(stderr, "kswarm %s: %s '%s' (see 'kswarm help %s')\n", cmd,
				s[0] == '-' ? (has_val || strncmp(s, "--", 2) ? "unknown flag"
									    : "a value is missing after")
					    : "unexpected argument",
				s, cmd);
			return -1;
		}
	}
	if (!f->prometheus && getenv("KSWARM_PROM_URL") && *getenv("KSWARM_PROM_URL"))
		f->prometheus = getenv("KSWARM_PROM_URL");
	if (!snapshot_cmd && f->output) {
		if (!strcmp(f->output, "json"))
			f->json = true;
		else if (strcmp(f->output, "text")) {
			fprintf(stderr, "kswarm %s: -o takes text or json, not '%s'\n", cmd, f->output);
			return -1;
		}
	}
	return 0;
}

static void list_analyzers(void)
{
	size_t n;
	const struct diag_analyzer *an = diag_analyzers(&n);
	for (size_t i = 0; i < n; i++)
		printf("%-32s %s%s\n", an[i].name, an[i].describe, an[i].opt_in ? " (opt-in)" : "");
}

/* After a live load: the failing containers' logs and the usage, when asked for. */
static void load_extras(struct analyze_flags *f, struct world *w, struct kube_client *c,
			const char *ns, const char *cmd)
{
	struct ks_err err = {0};
	if (!f->no_logs) {
		struct world_log_opts gl = {.ns = ns};
		if (world_fetch_logs(w, c, &gl, &err))
			fprintf(stderr, "kswarm %s: reading logs: %s (going on without them)\n", cmd,
				err.msg);
	}
	if (f->prometheus && world_fetch_metrics(w, f->prometheus, f->metrics_window_s, &err))
		fprintf(stderr, "kswarm %s: reading usage from Prometheus: %s (going on without "
				"it)\n", cmd, err.msg);
}

static int llm_config_of(const struct analyze_flags *f, struct llm_config *cfg)
{
	struct ks_err err = {0};
	if (llm_config_load(cfg, &f->llm, &err)) {
		fprintf(stderr, "kswarm analyze: --explain: %s\n", err.msg);
		return -1;
	}
	return 0;
}

/* --explain -o json: the answers go into the findings' explanations. */
static void explain_quietly(const struct analyze_flags *f, struct diag_report *rep,
			    struct world *w)
{
	struct llm_config cfg;
	if (llm_config_of(f, &cfg))
		return;
	struct ks_err err = {0};
	struct diag_explain_opts eo = {.world = w, .anonymize = f->anonymize};
	if (diag_explain(rep, &cfg, &eo, &err))
		fprintf(stderr, "kswarm analyze: %s (the built-in explanations stand)\n", err.msg);
	llm_config_release(&cfg);
}

/* --explain as text: each finding's block, then its LLM explanation as it streams. */
struct stream_out {
	const struct diag_report *rep;
	bool colour;
	size_t printed; /* findings whose block is out */
};

static void print_blocks_through(struct stream_out *so, size_t last)
{
	while (so->printed <= last && so->printed < so->rep->n) {
		struct ks_buf b;
		ks_buf_init(&b, KS_BUF_UNLIMITED);
		ks_buf_appendc(&b, '\n');
		diag_finding_text(&b, so->rep->findings[so->printed], so->colour);
		fwrite(b.data, 1, b.len, stdout);
		ks_buf_release(&b);
		so->printed++;
	}
}

static bool started[DIAG_EXPLAIN_MAX_FINDINGS + 1];

static void on_text(void *ctx, size_t i, const char *text, size_t len)
{
	struct stream_out *so = ctx;
	print_blocks_through(so, i);
	if (i <= DIAG_EXPLAIN_MAX_FINDINGS && !started[i]) {
		started[i] = true;
		fputs("  explained:  ", stdout);
	}
	fwrite(text, 1, len, stdout);
	fflush(stdout);
}

static void on_end(void *ctx, size_t i, int rc)
{
	struct stream_out *so = ctx;
	print_blocks_through(so, i);
	if (i <= DIAG_EXPLAIN_MAX_FINDINGS && started[i])
		fputc('\n', stdout);
	else if (rc)
		fputs("  explained:  (no answer from the LLM: the explanation above stands)\n",
		      stdout);
	fflush(stdout);
}

static int explain_text(const struct analyze_flags *f, struct diag_report *rep,
			struct world *w, const struct diag_report_meta *meta)
{
	bool colour = isatty(1) && !getenv("NO_COLOR");
	struct ks_buf b;
	ks_buf_init(&b, KS_BUF_UNLIMITED);
	diag_report_header(&b, rep, w, meta, colour);
	fwrite(b.data, 1, b.len, stdout);
	ks_buf_release(&b);
	fflush(stdout);
	struct llm_config cfg;
	struct stream_out so = {.rep = rep, .colour = colour};
	if (!llm_config_of(f, &cfg)) {
		struct ks_err err = {0};
		struct diag_explain_opts eo = {.world = w, .anonymize = f->anonymize,
					       .on_text = on_text, .on_end = on_end, .ctx = &so};
		if (diag_explain(rep, &cfg, &eo, &err))
			fprintf(stderr, "kswarm analyze: %s (the built-in explanations stand)\n",
				err.msg);
		llm_config_release(&cfg);
	}
	print_blocks_through(&so, rep->n);
	return fflush(stdout) ? CLI_FAIL : CLI_OK;
}

int cmd_analyze(int argc, char **argv)
{
	struct analyze_flags f = {.min_severity = DIAG_LOW, .anonymize = DIAG_ANONYMIZE_DEFAULT};
	if (parse_flags("analyze", argc, argv, &f, false))
		return CLI_USAGE;
	if (f.list) {
		list_analyzers();
		return CLI_OK;
	}
	struct ks_err err = {0};
	struct kube_selector sel = {0};
	bool have_sel = false;
	if (f.selector) {
		if (kube_selector_parse(f.selector, strlen(f.selector), &sel, &err)) {
			fprintf(stderr, "kswarm analyze: -l: %s\n", err.msg);
			return CLI_USAGE;
		}
		have_sel = true;
	}
	const char *ns = f.k.all_namespaces ? NULL : f.k.namespace;
	struct world *w = world_new();
	struct kube_client c;
	bool connected = false;
	int status = CLI_FAIL;
	if (cli_load_world(&f.k, f.snapshot, ns, "analyze", w, &c, &connected))
		goto out;
	if (!f.snapshot)
		load_extras(&f, w, &c, ns, "analyze");
	struct diag_opts o = {.ns = ns, .sel = have_sel ? &sel : NULL, .filter = f.filter,
			      .min_severity = f.min_severity};
	struct diag_report rep = {0};
	if (diag_run(w, &o, &rep, &err)) {
		fprintf(stderr, "kswarm analyze: --filter: %s\n", err.msg);
		status = CLI_USAGE;
		goto out;
	}
	struct diag_report_meta meta = {.snapshot = f.snapshot, .ns = ns};
	if (f.explain && !f.json) {
		status = explain_text(&f, &rep, w, &meta);
		diag_report_free(&rep);
		goto out;
	}
	if (f.explain)
		explain_quietly(&f, &rep, w);
	if (f.json) {
		cJSON *j = diag_report_json(&rep, w, &meta);
		char *s = cJSON_Print(j);
		puts(s);
		cJSON_free(s);
		cJSON_Delete(j);
	} else {
		struct ks_buf b;
		ks_buf_init(&b, KS_BUF_UNLIMITED);
		bool colour = isatty(1) && !getenv("NO_COLOR");
		diag_report_text(&b, &rep, w, &meta, colour);
		fwrite(b.data, 1, b.len, stdout);
		ks_buf_release(&b);
	}
	status = fflush(stdout) ? CLI_FAIL : CLI_OK;
	diag_report_free(&rep);
out:
	world_free(w);
	if (connected)
		kube_client_close(&c);
	if (have_sel)
		kube_selector_free(&sel);
	return status;
}

int cmd_snapshot(int argc, char **argv)
{
	struct analyze_flags f = {0};
	if (parse_flags("snapshot", argc, argv, &f, true))
		return CLI_USAGE;
	if (!f.output) {
		fprintf(stderr, "kswarm snapshot: where to? -o FILE (or -o - for stdout)\n");
		return CLI_USAGE;
	}
	const char *ns = f.k.all_namespaces ? NULL : f.k.namespace;
	struct world *w = world_new();
	struct kube_client c;
	bool connected = false;
	int status = CLI_FAIL;
	char *tmp = NULL;
	FILE *out = stdout;
	if (cli_load_world(&f.k, NULL, ns, "snapshot", w, &c, &connected))
		goto out;
	load_extras(&f, w, &c, ns, "snapshot");
	if (strcmp(f.output, "-")) {
		tmp = ks_asprintf("%s.tmp.%d", f.output, (int)getpid());
		out = fopen(tmp, "w");
		if (!out) {
			fprintf(stderr, "kswarm snapshot: %s: %s\n", tmp, strerror(errno));
			goto out;
		}
	}
	struct ks_err err = {0};
	int rc = world_write_snapshot(w, out, &err);
	if (out != stdout && fclose(out) && !rc)
		rc = ks_err_set(&err, KS_EIO, "%s: %s", tmp, strerror(errno));
	if (!rc && tmp && rename(tmp, f.output))
		rc = ks_err_set(&err, KS_EIO, "%s: %s", f.output, strerror(errno));
	if (rc) {
		fprintf(stderr, "kswarm snapshot: %s\n", err.msg);
		if (tmp)
			unlink(tmp);
		goto out;
	}
	struct world_stats ws;
	world_get_stats(w, &ws);
	if (out != stdout)
		fprintf(stderr, "kswarm snapshot: %llu objects and %llu logs written to %s\n",
			(unsigned long long)ws.objects, (unsigned long long)ws.log_calls,
			f.output);
	status = CLI_OK;
out:
	free(tmp);
	world_free(w);
	if (connected)
		kube_client_close(&c);
	return status;
}
