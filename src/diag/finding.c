/* finding.c — building findings and their evidence (finding.h). */
#include "base/common.h"
#include "diag/finding.h"

#include <stdio.h>
#include <string.h>

#include "base/json.h"

static const char *const severity_names[] = {"info", "low", "medium", "high", "critical"};

const char *diag_severity_name(enum diag_severity s)
{
	return (unsigned)s < KS_ARRAY_LEN(severity_names) ? severity_names[s] : "unknown";
}

int diag_severity_parse(const char *s, enum diag_severity *out)
{
	for (size_t i = 0; i < KS_ARRAY_LEN(severity_names); i++)
		if (s && !strcasecmp(s, severity_names[i])) {
			*out = (enum diag_severity)i;
			return 0;
		}
	return KS_EINVAL;
}

struct diag_ref diag_ref_make(const char *kind, const char *ns, const char *name,
			      const char *uid)
{
	struct diag_ref r;
	snprintf(r.kind, sizeof r.kind, "%s", kind ? kind : "");
	snprintf(r.ns, sizeof r.ns, "%s", ns ? ns : "");
	snprintf(r.name, sizeof r.name, "%s", name ? name : "");
	snprintf(r.uid, sizeof r.uid, "%s", uid ? uid : "");
	return r;
}

struct diag_ref diag_ref_of(struct world *w, struct wobj o)
{
	if (!wobj_ok(o))
		return diag_ref_make("", "", "", "");
	return diag_ref_make(world_kinds[o.kind].kind, wobj_ns(w, o), wobj_name(w, o),
			     wobj_uid(w, o));
}

cJSON *diag_ref_json(const struct diag_ref *r)
{
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "kind", r->kind);
	if (*r->ns)
		cJSON_AddStringToObject(j, "namespace", r->ns);
	cJSON_AddStringToObject(j, "name", r->name);
	if (*r->uid)
		cJSON_AddStringToObject(j, "uid", r->uid);
	return j;
}

static char *vfmt(const char *fmt, va_list ap)
{
	struct ks_buf b;
	ks_buf_init(&b, KS_BUF_UNLIMITED);
	ks_buf_vappendf(&b, fmt, ap);
	return ks_buf_detach(&b);
}

/* obj[key] = the formatted text. */
static void add_vfmt(cJSON *obj, const char *key, const char *fmt, va_list ap)
{
	char *v = vfmt(fmt, ap);
	cJSON_AddStringToObject(obj, key, v);
	free(v);
}

#define ADD_FMT(obj, key)                                                                     \
	do {                                                                                  \
		va_list ap;                                                                   \
		va_start(ap, fmt);                                                            \
		add_vfmt(obj, key, fmt, ap);                                                  \
		va_end(ap);                                                                   \
	} while (0)

#define SET_FROM_FMT(field)                                                                   \
	do {                                                                                  \
		va_list ap;                                                                   \
		va_start(ap, fmt);                                                            \
		free(f->field);                                                               \
		f->field = vfmt(fmt, ap);                                                     \
		va_end(ap);                                                                   \
	} while (0)

void diag_set_symptom(struct diag_finding *f, const char *fmt, ...) { SET_FROM_FMT(symptom); }
void diag_set_root_cause(struct diag_finding *f, const char *fmt, ...)
{
	SET_FROM_FMT(root_cause);
}
void diag_set_explanation(struct diag_finding *f, const char *fmt, ...)
{
	SET_FROM_FMT(explanation);
}
void diag_set_group(struct diag_finding *f, const char *fmt, ...) { SET_FROM_FMT(group); }
void diag_set_follows(struct diag_finding *f, const char *fmt, ...) { SET_FROM_FMT(follows); }

void diag_set_object(struct diag_finding *f, const struct diag_ref *r) { f->object = *r; }

static cJSON *new_item(struct diag_finding *f, const char *type, const struct diag_ref *src)
{
	cJSON *it = cJSON_CreateObject();
	cJSON_AddStringToObject(it, "type", type);
	if (src)
		cJSON_AddItemToObject(it, "source", diag_ref_json(src));
	if (!f->evidence)
		f->evidence = cJSON_CreateArray();
	cJSON_AddItemToArray(f->evidence, it);
	return it;
}

void diag_ev_field(struct diag_finding *f, const struct diag_ref *src, const char *path,
		   const char *fmt, ...)
{
	cJSON *it = new_item(f, "field", src);
	cJSON_AddStringToObject(it, "path", path);
	ADD_FMT(it, "value");
}

void diag_ev_event(struct diag_finding *f, struct world *w, struct wobj e)
{
	const cJSON *ev = world_json(w, e);
	if (!ev)
		return;
	struct diag_ref src = diag_ref_make(ks_json_str_or(ev, "involvedObject.kind", ""),
					    ks_json_str_or(ev, "involvedObject.namespace", ""),
					    ks_json_str_or(ev, "involvedObject.name", ""),
					    ks_json_str_or(ev, "involvedObject.uid", ""));
	cJSON *it = new_item(f, "event", &src);
	cJSON_AddStringToObject(it, "reason", ks_json_str_or(ev, "reason", ""));
	char *msg = world_redact(w, ks_json_str_or(ev, "message", ""));
	cJSON_AddStringToObject(it, "message", msg);
	free(msg);
	cJSON_AddStringToObject(it, "event_type", ks_json_str_or(ev, "type", "Normal"));
	int64_t count = ks_json_int_or(ev, "count", 0);
	if (count <= 0)
		count = ks_json_int_or(ev, "series.count", 1);
	cJSON_AddNumberToObject(it, "count", (double)count);
	const char *last = ks_json_str(ev, "lastTimestamp");
	if (!last)
		last = ks_json_str(ev, "eventTime");
	if (last)
		cJSON_AddStringToObject(it, "last_seen", last);
	const char *comp = ks_json_str(ev, "source.component");
	if (!comp)
		comp = ks_json_str(ev, "reportingComponent");
	if (comp)
		cJSON_AddStringToObject(it, "component", comp);
}

void diag_ev_log(struct diag_finding *f, const struct diag_ref *pod, const char *container,
		 bool previous, const char *line)
{
	cJSON *it = new_item(f, "log", pod);
	cJSON_AddStringToObject(it, "container", container);
	cJSON_AddBoolToObject(it, "previous", previous);
	cJSON_AddStringToObject(it, "line", line);
}

void diag_ev_object(struct diag_finding *f, const struct diag_ref *obj, const char *fmt, ...)
{
	cJSON *it = new_item(f, "object", obj);
	ADD_FMT(it, "note");
}

void diag_ev_diff(struct diag_finding *f, const struct diag_ref *src, const char *path,
		  const char *before, const char *after, const char *from_rev, const char *to_rev)
{
	cJSON *it = new_item(f, "diff", src);
	cJSON_AddStringToObject(it, "path", path);
	if (before)
		cJSON_AddStringToObject(it, "before", before);
	else
		cJSON_AddNullToObject(it, "before");
	if (after)
		cJSON_AddStringToObject(it, "after", after);
	else
		cJSON_AddNullToObject(it, "after");
	if (from_rev)
		cJSON_AddStringToObject(it, "from", from_rev);
	if (to_rev)
		cJSON_AddStringToObject(it, "to", to_rev);
}

void diag_ev_metric(struct diag_finding *f, const char *name, cJSON *labels, double value,
		    const char *unit, const char *query)
{
	cJSON *it = new_item(f, "metric", NULL);
	cJSON_AddStringToObject(it, "name", name);
	cJSON_AddItemToObject(it, "labels", labels ? labels : cJSON_CreateObject());
	cJSON_AddNumberToObject(it, "value", value);
	if (unit)
		cJSON_AddStringToObject(it, "unit", unit);
	if (query)
		cJSON_AddStringToObject(it, "query", query);
}

void diag_related(struct diag_finding *f, const struct diag_ref *r, const char *role)
{
	if (!f->related)
		f->related = cJSON_CreateArray();
	cJSON *it;
	cJSON_ArrayForEach(it, f->related) {
		if (!strcmp(ks_json_str_or(it, "kind", ""), r->kind) &&
		    !strcmp(ks_json_str_or(it, "namespace", ""), r->ns) &&
		    !strcmp(ks_json_str_or(it, "name", ""), r->name))
			return;
	}
	cJSON *j = diag_ref_json(r);
	if (role)
		cJSON_AddStringToObject(j, "role", role);
	cJSON_AddItemToArray(f->related, j);
}

void diag_fix_patch(struct diag_finding *f, const struct diag_ref *target,
		    const char *patch_type, cJSON *patch, const char *risk, const char *fmt, ...)
{
	cJSON_Delete(f->remediation);
	cJSON *r = f->remediation = cJSON_CreateObject();
	cJSON_AddStringToObject(r, "type", "patch");
	ADD_FMT(r, "summary");
	cJSON_AddItemToObject(r, "target", diag_ref_json(target));
	cJSON_AddStringToObject(r, "patch_type", patch_type);
	cJSON_AddItemToObject(r, "patch", patch);
	cJSON_AddStringToObject(r, "risk", risk ? risk : "medium");
}

void diag_fix_human(struct diag_finding *f, const char *fmt, ...)
{
	cJSON_Delete(f->remediation);
	cJSON *r = f->remediation = cJSON_CreateObject();
	cJSON_AddStringToObject(r, "type", "human");
	ADD_FMT(r, "summary");
	cJSON_AddArrayToObject(r, "checks");
}

void diag_fix_check(struct diag_finding *f, const char *fmt, ...)
{
	if (!f->remediation)
		diag_fix_human(f, "needs a person to look");
	cJSON *checks = cJSON_GetObjectItemCaseSensitive(f->remediation, "checks");
	if (!checks)
		checks = cJSON_AddArrayToObject(f->remediation, "checks");
	va_list ap;
	va_start(ap, fmt);
	char *v = vfmt(fmt, ap);
	va_end(ap);
	cJSON_AddItemToArray(checks, cJSON_CreateString(v));
	free(v);
}

static cJSON *dup_or_empty_array(const cJSON *a)
{
	return a ? cJSON_Duplicate(a, true) : cJSON_CreateArray();
}

cJSON *diag_finding_json(const struct diag_finding *f)
{
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "id", f->id);
	cJSON_AddStringToObject(j, "analyzer", f->analyzer);
	cJSON_AddStringToObject(j, "cause", f->cause);
	cJSON_AddItemToObject(j, "object", diag_ref_json(&f->object));
	cJSON_AddStringToObject(j, "severity", diag_severity_name(f->severity));
	cJSON_AddStringToObject(j, "symptom", f->symptom ? f->symptom : "");
	cJSON_AddStringToObject(j, "root_cause", f->root_cause ? f->root_cause : "");
	if (f->explanation)
		cJSON_AddStringToObject(j, "explanation", f->explanation);
	cJSON_AddItemToObject(j, "evidence", dup_or_empty_array(f->evidence));
	cJSON_AddItemToObject(j, "related", dup_or_empty_array(f->related));
	cJSON_AddNumberToObject(j, "confidence", (double)(int)(f->confidence * 100 + 0.5) / 100);
	cJSON_AddItemToObject(j, "remediation",
			      f->remediation ? cJSON_Duplicate(f->remediation, true)
					     : cJSON_CreateNull());
	cJSON_AddNumberToObject(j, "affected_count", (double)(f->n_affected ? f->n_affected : 1));
	cJSON_AddItemToObject(j, "affected", dup_or_empty_array(f->affected));
	return j;
}

void diag_finding_free(struct diag_finding *f)
{
	if (!f)
		return;
	free(f->analyzer);
	free(f->cause);
	free(f->symptom);
	free(f->root_cause);
	free(f->explanation);
	free(f->group);
	free(f->follows);
	cJSON_Delete(f->evidence);
	cJSON_Delete(f->related);
	cJSON_Delete(f->remediation);
	cJSON_Delete(f->affected);
	free(f);
}
