/* infra.c — readers shared by the infrastructure analyzers (see infra.h).
 *
 * Selectors are decoded from the store only for the object asked about (a Service, a PDB):
 * a small subtree, never the whole object. Label look-ups during matching walk the store
 * directly, so matching a selector against ten thousand pods decodes none of them. */
#include "base/common.h"

#include <string.h>

#include "base/json.h"
#include "base/timeutil.h"
#include "diag/infra.h"

static bool selector_from_id(const struct kube_objstore *st, uint32_t id,
			     struct kube_selector *sel, bool as_map)
{
	*sel = (struct kube_selector){0};
	if (id == KUBE_OBJ_NONE)
		return false;
	cJSON *j = kube_objstore_to_cjson(st, id);
	if (!j)
		return false;
	struct ks_err err = {0};
	int rc;
	if (as_map) {
		if (!cJSON_IsObject(j) || !j->child) {
			cJSON_Delete(j);
			return false;
		}
		cJSON *ls = cJSON_CreateObject();
		cJSON_AddItemToObject(ls, "matchLabels", j);
		rc = kube_selector_from_json(ls, sel, &err);
		cJSON_Delete(ls);
	} else {
		rc = kube_selector_from_json(j, sel, &err);
		cJSON_Delete(j);
	}
	if (rc) {
		kube_selector_free(sel);
		return false;
	}
	return true;
}

bool infra_selector_at(struct wobj o, const char *path, struct kube_selector *sel)
{
	return selector_from_id(o.st, wobj_get(o, path), sel, false);
}

bool infra_map_selector_at(struct wobj o, const char *path, struct kube_selector *sel)
{
	return selector_from_id(o.st, wobj_get(o, path), sel, true);
}

const char *infra_map_value(struct wobj o, const char *map_path, const char *key, char *buf,
			    size_t n)
{
	uint32_t map = wobj_get(o, map_path);
	uint32_t v = kube_objstore_child(o.st, map, key, strlen(key));
	if (v == KUBE_OBJ_NONE || n == 0)
		return NULL;
	char tmp[KUBE_OBJSTORE_STRTMP];
	const char *s = kube_objstore_str(o.st, v, tmp, NULL);
	if (!s)
		return NULL;
	snprintf(buf, n, "%s", s);
	return buf;
}

const char *infra_label(struct wobj o, const char *key, char *buf, size_t n)
{
	return infra_map_value(o, "metadata.labels", key, buf, n);
}

const char *infra_map_text(struct wobj o, const char *path, char *buf, size_t n)
{
	uint32_t m = wobj_get(o, path);
	size_t len = kube_objstore_len(o.st, m), off = 0;
	if (n)
		buf[0] = '\0';
	for (size_t i = 0; i < len && off < n; i++) {
		char tk[KUBE_OBJSTORE_STRTMP], tv[KUBE_OBJSTORE_STRTMP];
		const char *k = kube_objstore_str(o.st, kube_objstore_key(o.st, m, i), tk, NULL);
		const char *v = kube_objstore_str(o.st, kube_objstore_val(o.st, m, i), tv, NULL);
		int r = snprintf(buf + off, n - off, "%s%s=%s", i ? ", " : "", k ? k : "",
				 v ? v : "");
		if (r < 0)
			break;
		off += (size_t)r;
	}
	return buf;
}

static void copy_member(const struct kube_objstore *st, uint32_t obj, const char *key,
			char *out, size_t n)
{
	if (!out || !n)
		return;
	out[0] = '\0';
	char tmp[KUBE_OBJSTORE_STRTMP];
	const char *s = kube_objstore_str(st, kube_objstore_child(st, obj, key, strlen(key)), tmp,
					  NULL);
	if (s)
		snprintf(out, n, "%s", s);
}

bool infra_condition(struct wobj o, const char *path, const char *type, char *status,
		     size_t ns, char *reason, size_t nr, char *message, size_t nm)
{
	uint32_t arr = wobj_get(o, path);
	size_t len = kube_objstore_len(o.st, arr);
	for (size_t i = 0; i < len; i++) {
		uint32_t c = kube_objstore_at(o.st, arr, i);
		uint32_t t = kube_objstore_child(o.st, c, "type", 4);
		if (!kube_objstore_str_eq(o.st, t, type, strlen(type)))
			continue;
		copy_member(o.st, c, "status", status, ns);
		copy_member(o.st, c, "reason", reason, nr);
		copy_member(o.st, c, "message", message, nm);
		return true;
	}
	return false;
}

bool infra_pod_ready(struct wobj pod)
{
	char st[16];
	return infra_condition(pod, "status.conditions", "Ready", st, sizeof st, NULL, 0, NULL,
			       0) &&
	       !strcmp(st, "True");
}

bool infra_owner(struct wobj o, char *kind, size_t nk, char *name, size_t nn)
{
	uint32_t refs = wobj_get(o, "metadata.ownerReferences");
	size_t len = kube_objstore_len(o.st, refs);
	uint32_t pick = KUBE_OBJ_NONE;
	for (size_t i = 0; i < len; i++) {
		uint32_t r = kube_objstore_at(o.st, refs, i);
		if (pick == KUBE_OBJ_NONE ||
		    kube_objstore_bool(o.st, kube_objstore_child(o.st, r, "controller", 10), false))
			pick = r;
	}
	if (pick == KUBE_OBJ_NONE)
		return false;
	copy_member(o.st, pick, "kind", kind, nk);
	copy_member(o.st, pick, "name", name, nn);
	return true;
}

struct wobj infra_pod_workload(struct world *w, struct wobj pod)
{
	char kind[64], name[254];
	const char *ns = wobj_ns(w, pod);
	if (!infra_owner(pod, kind, sizeof kind, name, sizeof name))
		return (struct wobj){0};
	if (!strcmp(kind, "ReplicaSet")) {
		struct wobj rs = world_get(w, WK_REPLICASET, ns, name);
		if (!wobj_ok(rs))
			return rs;
		if (infra_owner(rs, kind, sizeof kind, name, sizeof name) &&
		    !strcmp(kind, "Deployment")) {
			struct wobj d = world_get(w, WK_DEPLOYMENT, ns, name);
			if (wobj_ok(d))
				return d;
		}
		return rs;
	}
	static const struct {
		const char *kind;
		enum world_kind k;
	} direct[] = {
		{"StatefulSet", WK_STATEFULSET},
		{"DaemonSet", WK_DAEMONSET},
		{"Job", WK_JOB},
	};
	for (size_t i = 0; i < KS_ARRAY_LEN(direct); i++)
		if (!strcmp(kind, direct[i].kind))
			return world_get(w, direct[i].k, ns, name);
	return (struct wobj){0};
}

size_t infra_pods_matching(struct world *w, const char *ns, const struct kube_selector *sel,
			   world_visit_fn fn, void *ctx)
{
	return world_matching(w, WK_POD, ns, sel, fn, ctx);
}

void infra_endpoint_counts(struct wobj ep, size_t *ready, size_t *not_ready)
{
	*ready = *not_ready = 0;
	uint32_t subsets = wobj_get(ep, "subsets");
	size_t n = kube_objstore_len(ep.st, subsets);
	for (size_t i = 0; i < n; i++) {
		uint32_t s = kube_objstore_at(ep.st, subsets, i);
		*ready += kube_objstore_len(ep.st, kube_objstore_child(ep.st, s, "addresses", 9));
		*not_ready += kube_objstore_len(
			ep.st, kube_objstore_child(ep.st, s, "notReadyAddresses", 17));
	}
}

bool infra_service_has_port(struct wobj svc, int64_t number, const char *pname)
{
	uint32_t ports = wobj_get(svc, "spec.ports");
	size_t n = kube_objstore_len(svc.st, ports);
	for (size_t i = 0; i < n; i++) {
		uint32_t p = kube_objstore_at(svc.st, ports, i);
		if (pname && *pname) {
			if (kube_objstore_str_eq(svc.st, kube_objstore_child(svc.st, p, "name", 4), pname,
						 strlen(pname)))
				return true;
		} else if ((int64_t)kube_objstore_num(svc.st, kube_objstore_child(svc.st, p, "port", 4),
						      -1) == number) {
			return true;
		}
	}
	return false;
}

int64_t infra_age_of(struct world *w, const char *ts)
{
	int64_t ns = 0;
	struct ks_err err = {0};
	if (!ts || ks_time_parse_rfc3339(ts, strlen(ts), &ns, &err))
		return -1;
	return world_now(w) - ns / 1000000000;
}

int64_t infra_age_at(struct world *w, struct wobj o, const char *path)
{
	char ts[64];
	return infra_age_of(w, wobj_str(o, path, ts, sizeof ts));
}

const cJSON *infra_json_condition(const cJSON *conds, const char *type)
{
	const cJSON *c;
	cJSON_ArrayForEach(c, conds)
		if (!strcmp(ks_json_str_or(c, "type", ""), type))
			return c;
	return NULL;
}

const enum world_kind infra_workload_kinds[] = {
	WK_DEPLOYMENT, WK_STATEFULSET, WK_DAEMONSET, WK_JOB, WK_CRONJOB, WK_REPLICASET,
};
const size_t infra_n_workload_kinds = KS_ARRAY_LEN(infra_workload_kinds);

const char *infra_podspec_path(enum world_kind k)
{
	switch (k) {
	case WK_POD:
		return "spec";
	case WK_CRONJOB:
		return "spec.jobTemplate.spec.template.spec";
	default:
		return "spec.template.spec";
	}
}
