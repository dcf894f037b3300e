/* report.c — a diagnosis as JSON (docs/findings.schema.json) or as text for a terminal.
 *
 * Text is grouped by root cause: one block per finding, the cause and the object it is
 * about first, then the symptom, the root cause, the evidence (the first few items; -o json
 * has them all), the fix (the patch as the kubectl command that would apply it, or what a
 * person should check) and the other objects showing the problem. Colour only when asked
 * (a terminal, no NO_COLOR). */
#include "base/common.h"
#include "diag/report.h"

#include <stdio.h>
#include <string.h>

#include "base/json.h"

#define TEXT_EVIDENCE 6
#define TEXT_AFFECTED 4

cJSON *diag_report_json(const struct diag_report *rep, const struct world *w,
			const struct diag_report_meta *m)
{
	cJSON *j = cJSON_CreateObject();
	cJSON *cl = cJSON_AddObjectToObject(j, "cluster");
	cJSON_AddStringToObject(cl, "name", world_cluster_name(w));
	cJSON_AddStringToObject(cl, "server_version", world_server_version(w));
	cJSON_AddStringToObject(cl, "source", m && m->snapshot ? "snapshot" : "live");
	if (m && m->snapshot)
		cJSON_AddStringToObject(cl, "snapshot", m->snapshot);
	if (m && m->ns)
		cJSON_AddStringToObject(cl, "namespace", m->ns);
	cJSON *fs = cJSON_AddArrayToObject(j, "findings");
	for (size_t i = 0; i < rep->n; i++)
		cJSON_AddItemToArray(fs, diag_finding_json(rep->findings[i]));
	struct world_stats ws;
	world_get_stats(w, &ws);
	cJSON *st = cJSON_AddObjectToObject(j, "stats");
	cJSON_AddNumberToObject(st, "objects", (double)ws.objects);
	cJSON_AddNumberToObject(st, "objects_scanned", (double)rep->stats.objects_scanned);
	cJSON_AddNumberToObject(st, "api_calls", (double)ws.api_calls);
	cJSON_AddNumberToObject(st, "list_calls", (double)ws.list_calls);
	cJSON_AddNumberToObject(st, "log_calls", (double)ws.log_calls);
	cJSON_AddNumberToObject(st, "load_ms", (double)ws.load_ms);
	cJSON_AddNumberToObject(st, "logs_ms", (double)ws.logs_ms);
	cJSON_AddNumberToObject(st, "analysis_ms", rep->stats.analysis_ms);
	cJSON_AddNumberToObject(st, "analyzers_run", (double)rep->stats.analyzers_run);
	cJSON_AddNumberToObject(st, "raw_findings", (double)rep->stats.raw_findings);
	cJSON_AddNumberToObject(st, "findings", (double)rep->n);
	return j;
}

struct style {
	const char *bold, *dim, *reset, *sev[5];
};

static const struct style colour = {
	"\033[1m", "\033[2m", "\033[0m",
	{"\033[2m", "\033[36m", "\033[33m", "\033[31m", "\033[1;31m"},
};
static const struct style plain = {"", "", "", {"", "", "", "", ""}};

static void ref_text(struct ks_buf *b, const cJSON *ref)
{
	const char *ns = ks_json_str(ref, "namespace");
	ks_buf_appendf(b, "%s %s%s%s", ks_json_str_or(ref, "kind", "?"), ns ? ns : "",
		       ns ? "/" : "", ks_json_str_or(ref, "name", "?"));
}

static void evidence_text(struct ks_buf *b, const cJSON *it)
{
	const char *type = ks_json_str_or(it, "type", "");
	const cJSON *src = ks_json_get(it, "source");
	ks_buf_appendf(b, "%-7s ", type);
	if (!strcmp(type, "field")) {
		ref_text(b, src);
		const char *path = ks_json_str_or(it, "path", "");
		if (*path)
			ks_buf_appendf(b, " %s = %s", path, ks_json_str_or(it, "value", ""));
		else
			ks_buf_appendf(b, " %s", ks_json_str_or(it, "value", ""));
	} else if (!strcmp(type, "event")) {
		ref_text(b, src);
		ks_buf_appendf(b, ": %s", ks_json_str_or(it, "reason", ""));
		int64_t count = ks_json_int_or(it, "count", 1);
		if (count > 1)
			ks_buf_appendf(b, " (x%lld)", (long long)count);
		ks_buf_appendf(b, ": %s", ks_json_str_or(it, "message", ""));
	} else if (!strcmp(type, "log")) {
		ks_buf_appendf(b, "%s/%s%s: %s", ks_json_str_or(src, "name", "?"),
			       ks_json_str_or(it, "container", "?"),
			       ks_json_bool_or(it, "previous", false) ? " (previous)" : "",
			       ks_json_str_or(it, "line", ""));
	} else if (!strcmp(type, "object")) {
		ref_text(b, src);
		ks_buf_appendf(b, ": %s", ks_json_str_or(it, "note", ""));
	} else if (!strcmp(type, "diff")) {
		ref_text(b, src);
		const char *from = ks_json_str(it, "from"), *to = ks_json_str(it, "to");
		ks_buf_appendf(b, " %s: %s -> %s", ks_json_str_or(it, "path", ""),
			       ks_json_str_or(it, "before", "(none)"),
			       ks_json_str_or(it, "after", "(none)"));
		if (from || to)
			ks_buf_appendf(b, " (revision %s -> %s)", from ? from : "?", to ? to : "?");
	} else if (!strcmp(type, "metric")) {
		ks_buf_appendf(b, "%s", ks_json_str_or(it, "name", ""));
		const cJSON *l;
		bool first = true;
		cJSON_ArrayForEach(l, ks_json_get(it, "labels")) {
			if (!cJSON_IsString(l))
				continue;
			ks_buf_appendf(b, "%s%s=\"%s\"", first ? "{" : ",", l->string, l->valuestring);
			first = false;
		}
		if (!first)
			ks_buf_appendc(b, '}');
		const cJSON *v = ks_json_get(it, "value");
		ks_buf_appendf(b, " = %g %s", v ? v->valuedouble : 0, ks_json_str_or(it, "unit", ""));
	}
}

static void lower_kind(const char *kind, char *out, size_t n)
{
	size_t i = 0;
	for (; kind[i] && i + 1 < n; i++)
		out[i] = (char)(kind[i] >= 'A' && kind[i] <= 'Z' ? kind[i] + 32 : kind[i]);
	out[i] = 0;
}

/* The kubectl command that applies a patch remediation. */
void diag_patch_command(struct ks_buf *b, const cJSON *rem)
{
	const cJSON *t = ks_json_get(rem, "target");
	char kind[64];
	lower_kind(ks_json_str_or(t, "kind", ""), kind, sizeof kind);
	char *patch = ks_json_print(ks_json_get(rem, "patch"));
	ks_buf_appendf(b, "kubectl patch %s %s", kind, ks_json_str_or(t, "name", ""));
	const char *ns = ks_json_str(t, "namespace");
	if (ns)
		ks_buf_appendf(b, " -n %s", ns);
	ks_buf_appendf(b, " --type %s -p '", ks_json_str_or(rem, "patch_type", "merge"));
	for (const char *p = patch ? patch : "{}"; *p; p++)
		if (*p == '\'')
			ks_buf_appendstr(b, "'\\''");
		else
			ks_buf_appendc(b, *p);
	ks_buf_appendc(b, '\'');
	free(patch);
}

void diag_finding_text(struct ks_buf *b, const struct diag_finding *f, bool use_colour)
{
	const struct style *s = use_colour ? &colour : &plain;
	cJSON *j = diag_finding_json(f);
	char sev[16];
	snprintf(sev, sizeof sev, "%s", diag_severity_name(f->severity));
	for (char *p = sev; *p; p++)
		*p = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
	ks_buf_appendf(b, "%s%-8s%s %s%s%s  ", s->sev[f->severity], sev, s->reset, s->bold,
		       f->cause, s->reset);
	ref_text(b, ks_json_get(j, "object"));
	ks_buf_appendf(b, "  %s(", s->dim);
	if (f->n_affected > 1)
		ks_buf_appendf(b, "%zu objects, ", f->n_affected);
	ks_buf_appendf(b, "confidence %.2f, %s)%s\n", f->confidence, f->analyzer, s->reset);
	if (f->symptom)
		ks_buf_appendf(b, "  symptom:    %s\n", f->symptom);
	if (f->root_cause)
		ks_buf_appendf(b, "  root cause: %s\n", f->root_cause);
	if (f->explanation)
		ks_buf_appendf(b, "  why:        %s\n", f->explanation);
	int n = cJSON_GetArraySize(f->evidence), shown = 0;
	if (n)
		ks_buf_appendstr(b, "  evidence:\n");
	const cJSON *it;
	cJSON_ArrayForEach(it, f->evidence) {
		if (shown == TEXT_EVIDENCE)
			break;
		ks_buf_appendstr(b, "    - ");
		evidence_text(b, it);
		ks_buf_appendc(b, '\n');
		shown++;
	}
	if (n > shown)
		ks_buf_appendf(b, "    %s(%d more: -o json shows all)%s\n", s->dim, n - shown, s->reset);
	const cJSON *rem = f->remediation;
	if (rem) {
		const char *type = ks_json_str_or(rem, "type", "");
		ks_buf_appendf(b, "  fix:        %s", ks_json_str_or(rem, "summary", ""));
		if (!strcmp(type, "patch")) {
			ks_buf_appendf(b, " %s(risk %s)%s\n              ", s->dim,
				       ks_json_str_or(rem, "risk", "?"), s->reset);
			diag_patch_command(b, rem);
			ks_buf_appendc(b, '\n');
		} else {
			ks_buf_appendf(b, " %s(needs a person)%s\n", s->dim, s->reset);
			const cJSON *c;
			cJSON_ArrayForEach(c, ks_json_get(rem, "checks"))
				if (cJSON_IsString(c))
					ks_buf_appendf(b, "              - %s\n", c->valuestring);
		}
	}
	int na = cJSON_GetArraySize(f->affected);
	if (na) {
		ks_buf_appendstr(b, "  also:       ");
		int k = 0;
		cJSON_ArrayForEach(it, f->affected) {
			if (k == TEXT_AFFECTED)
				break;
			if (k)
				ks_buf_appendstr(b, ", ");
			ref_text(b, it);
			k++;
		}
		if (na > k)
			ks_buf_appendf(b, " and %d more", na - k);
		ks_buf_appendc(b, '\n');
	}
	cJSON_Delete(j);
}

void diag_report_header(struct ks_buf *b, const struct diag_report *rep, const struct world *w,
			const struct diag_report_meta *m, bool use_colour)
{
	const struct style *s = use_colour ? &colour : &plain;
	struct world_stats ws;
	world_get_stats(w, &ws);
	ks_buf_appendf(b, "%s%s%s", s->bold, world_cluster_name(w), s->reset);
	if (*world_server_version(w))
		ks_buf_appendf(b, " (%s)", world_server_version(w));
	if (m && m->ns)
		ks_buf_appendf(b, ", namespace %s", m->ns);
	ks_buf_appendf(b, ": %llu objects", (unsigned long long)ws.objects);
	if (m && m->snapshot)
		ks_buf_appendf(b, " from %s", m->snapshot);
	else
		ks_buf_appendf(b, ", %llu API calls", (unsigned long long)ws.api_calls);
	ks_buf_appendf(b, ", analysed in %.0f ms\n", rep->stats.analysis_ms);
	if (!rep->n) {
		ks_buf_appendstr(b, "\nNo problems found.\n");
		return;
	}
	size_t by_sev[5] = {0};
	for (size_t i = 0; i < rep->n; i++)
		by_sev[rep->findings[i]->severity]++;
	ks_buf_appendf(b, "%zu problem%s:", rep->n, rep->n == 1 ? "" : "s");
	for (int i = 4; i >= 0; i--)
		if (by_sev[i])
			ks_buf_appendf(b, " %s%zu %s%s", s->sev[i], by_sev[i],
				       diag_severity_name((enum diag_severity)i), s->reset);
	ks_buf_appendc(b, '\n');
}

void diag_report_text(struct ks_buf *b, const struct diag_report *rep, const struct world *w,
		      const struct diag_report_meta *m, bool use_colour)
{
	diag_report_header(b, rep, w, m, use_colour);
	for (size_t i = 0; i < rep->n; i++) {
		ks_buf_appendc(b, '\n');
		diag_finding_text(b, rep->findings[i], use_colour);
	}
}
