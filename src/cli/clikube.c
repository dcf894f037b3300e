/* clikube.c — see clikube.h. */
#include "base/common.h"
#include "base/json.h"
#include "cli/cli.h"
#include "cli/clikube.h"
#include "world/world.h"

#include <string.h>
#include <unistd.h>

static const char *flag_value(const char *arg, const char *name, int argc, char **argv, int *i,
			      const char *cmd, int *rc)
{
	size_t n = strlen(name);
	if (!strncmp(arg, name, n) && arg[n] == '=')
		return arg + n + 1;
	if (strcmp(arg, name))
		return NULL;
	if (*i + 1 >= argc) {
		fprintf(stderr, "kswarm %s: %s needs a value\n", cmd, name);
		*rc = -1;
		return NULL;
	}
	return argv[++*i];
}

int cli_kube_flag(struct cli_kube_flags *f, int argc, char **argv, int *i, const char *cmd)
{
	const char *a = argv[*i], *v;
	int rc = 0;
	if ((v = flag_value(a, "--kubeconfig", argc, argv, i, cmd, &rc)))
		f->kubeconfig = v;
	else if (!rc && (v = flag_value(a, "--context", argc, argv, i, cmd, &rc)))
		f->context = v;
	else if (!rc && (v = flag_value(a, "--namespace", argc, argv, i, cmd, &rc)))
		f->namespace = v;
	else if (!rc && (v = flag_value(a, "-n", argc, argv, i, cmd, &rc)))
		f->namespace = v;
	else if (!rc && (!strcmp(a, "-A") || !strcmp(a, "--all-namespaces")))
		f->all_namespaces = true;
	else if (!rc && (!strcmp(a, "-v") || !strcmp(a, "--verbose")))
		f->verbose++;
	else if (!rc && !strncmp(a, "-n", 2) && a[2])
		f->namespace = a + 2;
	else
		return rc;
	return rc ? rc : 1;
}

int cli_kube_connect(const struct cli_kube_flags *f, struct kube_client *c)
{
	if (f->verbose)
		ks_log_set_level(f->verbose >= 2 ? KS_LOG_TRACE : KS_LOG_DEBUG);
	struct kube_connect_opts o = {
		.config = {.kubeconfig = f->kubeconfig, .context = f->context,
			   .namespace = f->namespace},
		.qps = f->qps,
		.burst = f->burst,
	};
	struct ks_err err = {0};
	if (kube_client_connect(&o, c, &err)) {
		fprintf(stderr, "kswarm: %s\n", err.msg);
		return -1;
	}
	return 0;
}

const char *cli_kube_namespace(const struct cli_kube_flags *f, const struct kube_client *c)
{
	return f->namespace ? f->namespace : c->namespace;
}

/* Go's tabwriter counts runes, not bytes. */
static size_t text_width(const char *s)
{
	size_t n = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		n += (*p & 0xc0) != 0x80;
	return n;
}

/* A cell as kubectl prints it: strings cut at the first line break with "...", numbers as
 * Go's fmt.Sprint, null as "<nil>"? kubectl prints "<none>" for missing CRD columns. */
static char *cell_text(const cJSON *cell)
{
	if (cJSON_IsString(cell)) {
		size_t cut = strcspn(cell->valuestring, "\f\n\r");
		if (cell->valuestring[cut])
			return ks_asprintf("%.*s...", (int)cut, cell->valuestring);
		return ks_strdup(cell->valuestring);
	}
	if (cJSON_IsNumber(cell)) {
		double d = cell->valuedouble;
		if (d == (double)(long long)d)
			return ks_asprintf("%lld", (long long)d);
		return ks_asprintf("%g", d);
	}
	if (cJSON_IsBool(cell))
		return ks_strdup(cJSON_IsTrue(cell) ? "true" : "false");
	if (!cell || cJSON_IsNull(cell))
		return ks_strdup("<none>");
	return ks_json_print(cell);
}

int cli_print_table(FILE *out, const cJSON *table, bool with_namespace, bool wide,
		    bool no_headers, const char *name_prefix)
{
	const cJSON *cols = ks_json_get(table, "columnDefinitions");
	const cJSON *rows = ks_json_get(table, "rows");
	int ncols = ks_json_len(cols), nrows = ks_json_len(rows);
	int *pick = ks_calloc((size_t)ncols + 1, sizeof *pick);
	int np = 0;
	for (int i = 0; i < ncols; i++) {
		const cJSON *c = cJSON_GetArrayItem(cols, i);
		if (wide || ks_json_int_or(c, "priority", 0) == 0)
			pick[np++] = i;
	}
	int nout = np + (with_namespace ? 1 : 0);
	int lines = nrows + (no_headers ? 0 : 1);
	char **cells = ks_calloc((size_t)(lines * nout) + 1, sizeof *cells);
	size_t *width = ks_calloc((size_t)nout + 1, sizeof *width);
	int l = 0;
	if (!no_headers) {
		int k = 0;
		if (with_namespace)
			cells[k++] = ks_strdup("NAMESPACE");
		for (int j = 0; j < np; j++) {
			const char *name = ks_json_str_or(cJSON_GetArrayItem(cols, pick[j]), "name", "");
			char *up = ks_strdup(name);
			for (char *p = up; *p; p++)
				*p = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
			cells[k++] = up;
		}
		l = 1;
	}
	for (int r = 0; r < nrows; r++, l++) {
		const cJSON *row = cJSON_GetArrayItem(rows, r);
		const cJSON *rc = ks_json_get(row, "cells");
		int k = l * nout;
		if (with_namespace)
			cells[k++] = ks_strdup(ks_json_str_or(row, "object.metadata.namespace", ""));
		for (int j = 0; j < np; j++) {
			char *t = cell_text(cJSON_GetArrayItem(rc, pick[j]));
			if (j == 0 && name_prefix) {
				char *p = ks_asprintf("%s%s", name_prefix, t);
				free(t);
				t = p;
			}
			cells[k++] = t;
		}
	}
	for (int i = 0; i < lines * nout; i++) {
		size_t w = text_width(cells[i]);
		if (w > width[i % nout])
			width[i % nout] = w;
	}
	for (int li = 0; li < lines; li++) {
		for (int j = 0; j < nout; j++) {
			const char *s = cells[li * nout + j];
			fputs(s, out);
			/* kubectl's tabwriter: padding 3, minimum cell width 6. */
			size_t cell = width[j] + 3 < 6 ? 6 : width[j] + 3;
			if (j + 1 < nout)
				fprintf(out, "%*s", (int)(cell - text_width(s)), "");
		}
		fputc('\n', out);
	}
	for (int i = 0; i < lines * nout; i++)
		free(cells[i]);
	free(cells);
	free(width);
	free(pick);
	return nrows;
}

int cli_load_world(const struct cli_kube_flags *f, const char *snapshot, const char *ns,
		   const char *cmd, struct world *w, struct kube_client *c, bool *connected)
{
	struct ks_err err = {0};
	*connected = false;
	if (snapshot) {
		if (world_load_snapshot(w, snapshot, &err)) {
			fprintf(stderr, "kswarm %s: %s\n", cmd, err.msg);
			return -1;
		}
		return 0;
	}
	if (cli_kube_connect(f, c))
		return -1;
	*connected = true;
	struct world_load_opts lo = {.ns = ns, .progress = isatty(2) != 0};
	if (world_load_live(w, c, &lo, &err)) {
		fprintf(stderr, "kswarm %s: %s\n", cmd, err.msg);
		return -1;
	}
	return 0;
}
