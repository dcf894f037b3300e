/* testutil.h — what every test includes: cmocka, plus helpers for fixtures and for the
 * local control plane. Tests run with CMOCKA_MESSAGE_OUTPUT=TAP under scripts/run-tests.sh,
 * which adds up the results of every test binary. */
#ifndef KS_TESTUTIL_H
#define KS_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/common.h"

/* Path of a file under tests/fixtures/ (static buffer, valid until the next call). */
const char *tu_fixture(const char *rel);
/* Read a fixture into a fresh string; fails the test when missing. */
char *tu_read_fixture(const char *rel);
/* A fresh empty directory under $TMPDIR, removed by tu_rmtree. */
char *tu_mkdtemp(void);
void tu_rmtree(const char *dir);
/* Write a file (creating it); fails the test on error. */
void tu_write_file(const char *path, const char *content);
/* The integration kubeconfig: $KSWARM_TEST_KUBECONFIG; the test fails when unset. */
const char *tu_kubeconfig(void);

struct world;
struct diag_report;
struct diag_finding;
/* A world loaded from a snapshot fixture (tests/fixtures/REL, e.g. "diag/pod-crash.yaml");
 * fails the test when it does not load. Free with world_free. */
struct world *tu_world(const char *rel);
/* The fixture with its one occurrence of `from` replaced by `to`, loaded as a world (fails the
 * test when `from` is not there). */
struct world *tu_world_edited(const char *rel, const char *from, const char *to);
/* Run the analyzers named in filter ("Pod,Service"; NULL: the default set) over the whole
 * world; fails the test on error. Free with diag_report_free. */
void tu_analyze(struct world *w, const char *filter, struct diag_report *rep);
/* Analyze the fixture with filter and fail unless nothing is found. */
void tu_expect_no_findings(const char *rel, const char *filter);
/* The first finding with this cause code, or NULL; how many there are. */
const struct diag_finding *tu_finding(const struct diag_report *rep, const char *cause);
size_t tu_count_cause(const struct diag_report *rep, const char *cause);
/* Compact JSON of j ("" for NULL); the caller frees. */
struct cJSON;
char *tu_json(const struct cJSON *j);
/* KSWARM_DATA_DIR = $KSWARM_SRCDIR/data (the instance-type catalog of the repository). */
void tu_set_data_dir(void);

/* assert that a string contains a needle, printing both when it does not. */
#define assert_contains(hay, needle)                                                          \
	do {                                                                                  \
		const char *h_ = (hay), *n_ = (needle);                                       \
		if (!h_ || !strstr(h_, n_))                                                   \
			fail_msg("expected \"%s\" in \"%s\"", n_, h_ ? h_ : "(null)");       \
	} while (0)

#endif
