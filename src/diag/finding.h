/* finding.h — the finding model: one problem, its root cause and the evidence for it.
 *
 * A finding names the object at the root of the problem (a Secret, a Deployment, a Service,
 * a NodePool — not the fifty pods that show it), a severity, a stable cause code, the
 * symptom as a person sees it, the root cause as a plain sentence, typed evidence (each
 * item with its source), the related objects, a confidence in [0,1], and a remediation the
 * reconciler can execute: a patch of a named object, or "needs a human" with what to check.
 *
 * Grouping: every finding has a group key naming its cause ("secret:payments/db-secret").
 * After the analyzers ran, findings with one key become one: the primary (a root-cause
 * finding before a derived one, then by severity, then by confidence) keeps its fields and
 * the others are listed as affected objects with their symptoms. A derived finding (a
 * Service without ready endpoints because its pods crash) points at the key of the cause it
 * follows from with diag_follows; keys resolve through diag_alias ("workload:UID" is
 * explained by "secret:…"), so symptoms join their cause whatever the order analyzers ran in.
 *
 * Ownership: findings belong to their report (diag_report_free); strings passed in are
 * copied, cJSON trees passed in are taken over. */
#ifndef KS_DIAG_FINDING_H
#define KS_DIAG_FINDING_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "world/world.h"

enum diag_severity { DIAG_INFO, DIAG_LOW, DIAG_MEDIUM, DIAG_HIGH, DIAG_CRITICAL };
const char *diag_severity_name(enum diag_severity s); /* "info" … "critical" */
int diag_severity_parse(const char *s, enum diag_severity *out); /* 0 or KS_EINVAL */

/* An object reference as findings carry it. */
struct diag_ref {
	char kind[64];
	char ns[64];
	char name[254];
	char uid[48];
};
struct diag_ref diag_ref_of(struct world *w, struct wobj o);
struct diag_ref diag_ref_make(const char *kind, const char *ns, const char *name,
			      const char *uid);
cJSON *diag_ref_json(const struct diag_ref *r);

struct diag_finding {
	char *analyzer;          /* "Pod", "Service", "Karpenter" */
	char *cause;             /* stable code: "ImageNotFound", "SecretKeyMissing" (docs/FINDINGS.md) */
	struct diag_ref object;  /* the root-cause object */
	enum diag_severity severity;
	char *symptom;           /* what is seen: "2 pods of Deployment shop/web crash-loop" */
	char *root_cause;        /* why, a plain sentence */
	char *explanation;       /* the built-in explanation for a person (NULL: none) */
	cJSON *evidence;         /* array of typed items, see the diag_ev_* constructors */
	cJSON *related;          /* array of {kind,namespace,name,uid,role} */
	cJSON *remediation;      /* {"type":"patch",...} | {"type":"human",...}; set by the end */
	double confidence;
	char *group;             /* cause key; default "<cause>:<kind>/<ns>/<name>" */
	char *follows;           /* derived: the key of the cause this symptom follows from */
	cJSON *affected;         /* array of {kind,namespace,name,uid,symptom} merged in */
	size_t n_affected;       /* objects showing the problem (the object itself included) */
	char id[17];             /* hex of a hash of cause + object: stable across runs */
};

/* Constructors of evidence items. src is the object the item was read from. Each item is
 * {"type":…, "source":{ref}, …}: */
/* {"type":"field","path":".status.phase","value":"Pending"} */
void diag_ev_field(struct diag_finding *f, const struct diag_ref *src, const char *path,
		   const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* {"type":"event","reason","message","count","last_seen","component"} from an Event object */
void diag_ev_event(struct diag_finding *f, struct world *w, struct wobj event);
/* {"type":"log","container","previous","line"} */
void diag_ev_log(struct diag_finding *f, const struct diag_ref *pod, const char *container,
		 bool previous, const char *line);
/* {"type":"object","note"}: a related object and what it says ("has no key FEATURE_FLAGS") */
void diag_ev_object(struct diag_finding *f, const struct diag_ref *obj, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* {"type":"diff","path","before","after","from","to"}: what changed between two revisions */
void diag_ev_diff(struct diag_finding *f, const struct diag_ref *src, const char *path,
		  const char *before, const char *after, const char *from_rev,
		  const char *to_rev);
/* {"type":"metric","name","labels":{…},"value","unit","query"} */
void diag_ev_metric(struct diag_finding *f, const char *name, cJSON *labels, double value,
		    const char *unit, const char *query);

void diag_related(struct diag_finding *f, const struct diag_ref *r, const char *role);

/* Remediations (one per finding; a later call replaces the earlier).
 * patch: {"type":"patch","target":{ref},"patch_type":"strategic|merge|json","patch":…,
 *         "summary":…,"risk":"low|medium|high"}. patch is taken over.
 * human: {"type":"human","summary":…,"checks":[…]} */
void diag_fix_patch(struct diag_finding *f, const struct diag_ref *target,
		    const char *patch_type, cJSON *patch, const char *risk, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));
void diag_fix_human(struct diag_finding *f, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void diag_fix_check(struct diag_finding *f, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

void diag_set_symptom(struct diag_finding *f, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void diag_set_root_cause(struct diag_finding *f, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void diag_set_explanation(struct diag_finding *f, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void diag_set_group(struct diag_finding *f, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void diag_set_follows(struct diag_finding *f, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void diag_set_object(struct diag_finding *f, const struct diag_ref *r);

void diag_finding_free(struct diag_finding *f);

/* The finding as JSON (the schema in docs/findings.schema.json). */
cJSON *diag_finding_json(const struct diag_finding *f);

#endif
