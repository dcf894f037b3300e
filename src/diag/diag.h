/* diag.h — Layer 2: run the analyzers over a world and report root causes.
 *
 * An analyzer is a function over the world (src/diag/an_*.c, one concern each) that adds
 * findings to the context with diag_new. The registry (analyzers.c) lists them with the
 * kind names --filter accepts. diag_run runs the selected ones, resolves and merges groups
 * (finding.h), drops what is below the severity floor and sorts: severity, then confidence,
 * then the number of objects affected.
 *
 * Scope: with a namespace or a label selector, analyzers look only at objects in scope
 * (diag_each and diag_in_scope do the filtering); cluster-scoped objects (nodes, NodePools,
 * PVs, StorageClasses, webhooks) are analyzed when no namespace is given, or when a
 * namespaced finding leads to them.
 *
 * Ownership: the report owns its findings; the world is borrowed and must outlive it. */
#ifndef KS_DIAG_DIAG_H
#define KS_DIAG_DIAG_H

#include <stdbool.h>
#include <stddef.h>

#include "diag/finding.h"
#include "world/world.h"

struct ks_err;
struct kube_selector;
struct cost_catalog;

struct diag_opts {
	const char *ns;                  /* NULL: all namespaces */
	const struct kube_selector *sel; /* NULL: every object */
	const char *filter;              /* "Pod,Service": analyzers by name; NULL: the default set */
	enum diag_severity min_severity;
	const struct cost_catalog *catalog; /* Karpenter analyzers; NULL: the built-in catalog */
};

struct diag_ctx;
typedef void (*diag_analyzer_fn)(struct diag_ctx *cx);

struct diag_analyzer {
	const char *name;      /* "Pod": what --filter names (case-insensitive) */
	const char *describe;  /* one line for `kswarm analyze --list` */
	bool opt_in;           /* run only when --filter names it (Security) */
	diag_analyzer_fn run;
};
const struct diag_analyzer *diag_analyzers(size_t *n);

struct diag_report {
	struct diag_finding **findings; /* after diag_run: merged, filtered, sorted */
	size_t n, cap;
	struct {
		size_t objects_scanned; /* objects the analyzers looked at */
		size_t raw_findings;    /* before grouping */
		size_t analyzers_run;
		double analysis_ms;
	} stats;
};

/* Run the analyzers; err only for a bad filter (unknown analyzer name). */
int diag_run(struct world *w, const struct diag_opts *o, struct diag_report *rep,
	     struct ks_err *err);
void diag_report_free(struct diag_report *rep);

/* For analyzers. */
struct diag_ctx {
	struct world *w;
	const struct diag_opts *o;
	struct diag_report *rep;
	struct ks_map *aliases; /* group key -> group key */
	size_t scanned;
};
/* A new finding about object o (kind/ns/name/uid from it; o may be a zero wobj when ref is
 * set with diag_set_object). analyzer and cause are static strings. */
struct diag_finding *diag_new(struct diag_ctx *cx, const char *analyzer, const char *cause,
			      enum diag_severity sev, struct wobj o);
/* Problems grouped under key `from` are explained by group `to` (see finding.h). */
void diag_alias(struct diag_ctx *cx, const char *from, const char *to);
bool diag_in_scope(struct diag_ctx *cx, struct wobj o);
/* world_each over the objects in scope (namespace and selector). */
size_t diag_each(struct diag_ctx *cx, enum world_kind k, world_visit_fn fn, void *arg);

#endif
