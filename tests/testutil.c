/* testutil.c — see testutil.h. */
#include "testutil.h"

#include "base/json.h"
#include "diag/diag.h"
#include "world/world.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

const char *tu_fixture(const char *rel)
{
	static char path[4096];
	const char *root = getenv("KSWARM_SRCDIR");
	snprintf(path, sizeof path, "%s/tests/fixtures/%s", root ? root : ".", rel);
	return path;
}

char *tu_read_fixture(const char *rel)
{
	struct ks_buf b;
	struct ks_err err = {0};
	ks_buf_init(&b, 64 << 20);
	if (ks_buf_read_file(&b, tu_fixture(rel), &err))
		fail_msg("fixture: %s", err.msg);
	return ks_buf_detach(&b);
}

char *tu_mkdtemp(void)
{
	const char *tmp = getenv("TMPDIR");
	char *tmpl = ks_asprintf("%s/kswarm-test-XXXXXX", tmp ? tmp : "/tmp");
	if (!mkdtemp(tmpl))
		fail_msg("mkdtemp: %s", strerror(errno));
	return tmpl;
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	return remove(path);
}

void tu_rmtree(const char *dir)
{
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

void tu_write_file(const char *path, const char *content)
{
	FILE *f = fopen(path, "w");
	if (!f)
		fail_msg("open %s: %s", path, strerror(errno));
	fputs(content, f);
	fclose(f);
}

const char *tu_kubeconfig(void)
{
	const char *k = getenv("KSWARM_TEST_KUBECONFIG");
	if (!k || !*k)
		fail_msg("KSWARM_TEST_KUBECONFIG is not set: integration tests need the local "
			 "control plane (scripts/localcp.sh start; see scripts/check.sh)");
	return k;
}

struct world *tu_world(const char *rel)
{
	struct world *w = world_new();
	struct ks_err err = {0};
	if (world_load_snapshot(w, tu_fixture(rel), &err))
		fail_msg("fixture %s: %s", rel, err.msg);
	return w;
}

struct world *tu_world_edited(const char *rel, const char *from, const char *to)
{
	char *text = tu_read_fixture(rel);
	char *at = strstr(text, from);
	if (!at)
		fail_msg("fixture %s: no '%s' to replace", rel, from);
	char *edited = ks_asprintf("%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
	char *dir = tu_mkdtemp();
	char *path = ks_asprintf("%s/edited.yaml", dir);
	tu_write_file(path, edited);
	struct world *w = world_new();
	struct ks_err err = {0};
	if (world_load_snapshot(w, path, &err))
		fail_msg("fixture %s, edited: %s", rel, err.msg);
	tu_rmtree(dir);
	free(path);
	free(dir);
	free(edited);
	free(text);
	return w;
}

void tu_analyze(struct world *w, const char *filter, struct diag_report *rep)
{
	struct diag_opts o = {.filter = filter};
	struct ks_err err = {0};
	*rep = (struct diag_report){0};
	if (diag_run(w, &o, rep, &err))
		fail_msg("diag_run: %s", err.msg);
}

const struct diag_finding *tu_finding(const struct diag_report *rep, const char *cause)
{
	for (size_t i = 0; i < rep->n; i++)
		if (!strcmp(rep->findings[i]->cause, cause))
			return rep->findings[i];
	return NULL;
}

size_t tu_count_cause(const struct diag_report *rep, const char *cause)
{
	size_t n = 0;
	for (size_t i = 0; i < rep->n; i++)
		n += !strcmp(rep->findings[i]->cause, cause);
	return n;
}

char *tu_json(const cJSON *j)
{
	return j ? ks_json_print(j) : ks_strdup("");
}

void tu_set_data_dir(void)
{
	const char *src = getenv("KSWARM_SRCDIR");
	char dir[4096];
	snprintf(dir, sizeof dir, "%s/data", src && *src ? src : ".");
	setenv("KSWARM_DATA_DIR", dir, 1);
}

void tu_expect_no_findings(const char *rel, const char *filter)
{
	struct world *w = tu_world(rel);
	struct diag_report rep;
	tu_analyze(w, filter, &rep);
	if (rep.n)
		fail_msg("%s with %s: expected no finding, got %zu (first: %s on %s %s/%s)", rel,
			 filter ? filter : "the default analyzers", rep.n, rep.findings[0]->cause,
			 rep.findings[0]->object.kind, rep.findings[0]->object.ns,
			 rep.findings[0]->object.name);
	diag_report_free(&rep);
	world_free(w);
}
