/* an_security.c — the Security analyzer (opt-in: runs only when --filter names it).
 *
 * Pods (outside kube-system, whose node agents need host access), judged once per owning
 * workload and grouped per namespace and cause, so a namespace of fifty pods of three
 * Deployments is one finding listing three workloads:
 *   - SecurityDefaultServiceAccount (low): the pod runs as ServiceAccount "default" with its
 *     token mounted (neither the pod nor the ServiceAccount sets
 *     automountServiceAccountToken: false);
 *   - SecurityPrivilegedContainer (high): a container (init and ephemeral included) with
 *     securityContext.privileged true;
 *   - SecurityPrivilegeEscalation (medium): allowPrivilegeEscalation set true explicitly;
 *   - SecurityHostNamespace (medium): hostNetwork, hostPID or hostIPC.
 * RBAC: SecurityWildcardRBAC (high when bound to a subject outside system:, low when not
 * bound): a Role or ClusterRole with "*" among the verbs or resources of a rule, with the
 * bindings that grant it and their subjects. Built-in system: roles, and cluster-admin
 * bound only to system: subjects, are not reported. */
#include "base/common.h"

#include <string.h>

#include "base/hashmap.h"
#include "base/json.h"
#include "diag/analyzers.h"
#include "diag/diag.h"
#include "diag/infra.h"

struct sec_ctx {
	struct diag_ctx *cx;
	struct ks_map seen; /* "cause/workload-or-pod uid" already reported */
};

static bool first_report(struct sec_ctx *sc, const char *cause, const char *uid)
{
	char key[256];
	snprintf(key, sizeof key, "%s/%s", cause, uid);
	if (ks_map_get(&sc->seen, key))
		return false;
	ks_map_put(&sc->seen, key, (void *)1);
	return true;
}

/* Container name with the flag set at path in any container list of the pod spec. */
static const char *container_with(struct wobj pod, const char *path, char *name, size_t n)
{
	static const char *const lists[] = {"spec.containers", "spec.initContainers",
					    "spec.ephemeralContainers"};
	for (size_t l = 0; l < KS_ARRAY_LEN(lists); l++) {
		uint32_t cs = wobj_get(pod, lists[l]);
		for (size_t i = 0; i < kube_objstore_len(pod.st, cs); i++) {
			uint32_t c = kube_objstore_at(pod.st, cs, i);
			if (!kube_objstore_bool(pod.st, kube_objstore_get(pod.st, c, path), false))
				continue;
			char tmp[KUBE_OBJSTORE_STRTMP];
			const char *s = kube_objstore_str(pod.st, kube_objstore_child(pod.st, c, "name", 4),
							  tmp, NULL);
			snprintf(name, n, "%s", s ? s : "?");
			return name;
		}
	}
	return NULL;
}

static struct diag_finding *pod_finding(struct sec_ctx *sc, struct wobj pod, struct wobj subject,
			const char *cause, enum diag_severity sev, const char *what,
			const char *detail)
{
	struct world *w = sc->cx->w;
	struct wobj o = wobj_ok(subject) ? subject : pod;
	if (!first_report(sc, cause, wobj_uid(w, o)))
		return NULL;
	struct diag_ref ref = diag_ref_of(w, o), pref = diag_ref_of(w, pod);
	struct diag_finding *f = diag_new(sc->cx, "Security", cause, sev, o);
	bool lone = o.kind == WK_POD;
	diag_set_symptom(f, "%s%s %s/%s: %s", lone ? "" : "pods of ", ref.kind, ref.ns, ref.name,
			 what);
	diag_set_root_cause(f, "%s%s %s/%s: %s (%s).", lone ? "" : "Pods of ", ref.kind, ref.ns,
			    ref.name, what, detail);
	diag_ev_field(f, &pref, ".spec", "%s", detail);
	diag_set_group(f, "%s:%s", cause, ref.ns);
	diag_fix_human(f, "review whether %s %s/%s needs this; remove it from the pod template "
		       "otherwise", ref.kind, ref.ns, ref.name);
	f->confidence = 0.9;
	return f;
}

static int pod_visit(void *p, struct wobj pod)
{
	struct sec_ctx *sc = p;
	struct world *w = sc->cx->w;
	const char *ns = wobj_ns(w, pod);
	if (!strcmp(ns, "kube-system"))
		return 0;
	struct wobj wl = infra_pod_workload(w, pod);
	char name[256];
	if (container_with(pod, "securityContext.privileged", name, sizeof name)) {
		char d[300];
		snprintf(d, sizeof d, "container %s has securityContext.privileged: true", name);
		pod_finding(sc, pod, wl, "SecurityPrivilegedContainer", DIAG_HIGH,
			    "privileged containers", d);
	}
	if (container_with(pod, "securityContext.allowPrivilegeEscalation", name, sizeof name)) {
		char d[300];
		snprintf(d, sizeof d, "container %s has allowPrivilegeEscalation: true", name);
		pod_finding(sc, pod, wl, "SecurityPrivilegeEscalation", DIAG_MEDIUM,
			    "privilege escalation allowed", d);
	}
	static const char *const host[] = {"hostNetwork", "hostPID", "hostIPC"};
	for (size_t i = 0; i < KS_ARRAY_LEN(host); i++) {
		char path[32];
		snprintf(path, sizeof path, "spec.%s", host[i]);
		if (wobj_bool(pod, path, false)) {
			char d[64];
			snprintf(d, sizeof d, "%s: true", host[i]);
			pod_finding(sc, pod, wl, "SecurityHostNamespace", DIAG_MEDIUM,
				    "a host namespace shared", d);
			break;
		}
	}
	char sa[254] = "";
	wobj_str(pod, "spec.serviceAccountName", sa, sizeof sa);
	if (sa[0] && strcmp(sa, "default"))
		return 0;
	if (!wobj_bool(pod, "spec.automountServiceAccountToken", true))
		return 0;
	struct wobj sao = world_get(w, WK_SERVICEACCOUNT, ns, "default");
	if (wobj_ok(sao) && !wobj_bool(sao, "automountServiceAccountToken", true))
		return 0;
	struct diag_finding *f = pod_finding(sc, pod, wl, "SecurityDefaultServiceAccount", DIAG_LOW,
					     "the default ServiceAccount's token mounted",
					     "serviceAccountName default, "
					     "automountServiceAccountToken not false");
	if (f) {
		struct diag_ref saref = wobj_ok(sao) ? diag_ref_of(w, sao)
						     : diag_ref_make("ServiceAccount", ns, "default", "");
		cJSON *patch = cJSON_CreateObject();
		cJSON_AddFalseToObject(patch, "automountServiceAccountToken");
		diag_fix_patch(f, &saref, "merge", patch, "medium",
			       "stop mounting the token of ServiceAccount %s/default; risk: pods of "
			       "the namespace that call the API without their own ServiceAccount "
			       "lose access (give those a dedicated ServiceAccount)", ns);
	}
	return 0;
}

static bool has_wildcard(const cJSON *role)
{
	const cJSON *rule, *v;
	cJSON_ArrayForEach(rule, ks_json_get(role, "rules"))
	{
		cJSON_ArrayForEach(v, ks_json_get(rule, "verbs"))
			if (cJSON_IsString(v) && !strcmp(v->valuestring, "*"))
				return true;
		cJSON_ArrayForEach(v, ks_json_get(rule, "resources"))
			if (cJSON_IsString(v) && !strcmp(v->valuestring, "*"))
				return true;
	}
	return false;
}

struct binding_scan {
	struct sec_ctx *sc;
	struct diag_finding *f;
	const char *role_kind, *role_name, *role_ns;
	size_t outside; /* subjects outside system: */
};

static int binding_visit(void *p, struct wobj b)
{
	struct binding_scan *bs = p;
	struct world *w = bs->sc->cx->w;
	if (!wobj_str_eq(b, "roleRef.kind", bs->role_kind) ||
	    !wobj_str_eq(b, "roleRef.name", bs->role_name))
		return 0;
	if (bs->role_ns && strcmp(wobj_ns(w, b), bs->role_ns))
		return 0;
	const cJSON *j = world_json(w, b), *s;
	struct diag_ref bref = diag_ref_of(w, b);
	cJSON_ArrayForEach(s, ks_json_get(j, "subjects"))
	{
		const char *name = ks_json_str_or(s, "name", "");
		if (!strncmp(name, "system:", 7))
			continue;
		bs->outside++;
		if (bs->f)
			diag_ev_object(bs->f, &bref, "grants it to %s %s%s%s", ks_json_str_or(s, "kind", ""),
			       ks_json_str(s, "namespace") ? ks_json_str(s, "namespace") : "",
			       ks_json_str(s, "namespace") ? "/" : "", name);
	}
	if (bs->f)
		diag_related(bs->f, &bref, "binding");
	return 0;
}

static int role_visit(void *p, struct wobj role)
{
	struct sec_ctx *sc = p;
	struct world *w = sc->cx->w;
	const char *name = wobj_name(w, role);
	if (!strncmp(name, "system:", 7))
		return 0;
	const cJSON *j = world_json(w, role);
	if (!has_wildcard(j))
		return 0;
	bool cluster = role.kind == WK_CLUSTERROLE;
	struct diag_ref ref = diag_ref_of(w, role);
	struct binding_scan bs = {.sc = sc, .role_kind = ref.kind, .role_name = name,
				  .role_ns = cluster ? NULL : ref.ns};
	/* Count first: the built-in admin role granted only to system: subjects is expected. */
	world_each(w, WK_ROLEBINDING, binding_visit, &bs);
	if (cluster)
		world_each(w, WK_CLUSTERROLEBINDING, binding_visit, &bs);
	if (!strcmp(name, "cluster-admin") && bs.outside == 0)
		return 0;
	struct diag_finding *f = diag_new(sc->cx, "Security", "SecurityWildcardRBAC",
					  bs.outside ? DIAG_HIGH : DIAG_LOW, role);
	bs.f = f, bs.outside = 0;
	world_each(w, WK_ROLEBINDING, binding_visit, &bs);
	if (cluster)
		world_each(w, WK_CLUSTERROLEBINDING, binding_visit, &bs);
	f->confidence = bs.outside ? 0.85 : 0.6;
	diag_set_symptom(f, "%s %s grants wildcard permissions", ref.kind, name);
	diag_set_root_cause(f, "%s %s has \"*\" among the verbs or resources of a rule, granted to "
			    "%zu subject(s) outside system:.", ref.kind, name, bs.outside);
	diag_ev_field(f, &ref, ".rules", "a rule with verbs or resources \"*\"");
	diag_fix_human(f, "replace the wildcard with the verbs and resources actually needed");
	return 0;
}

void diag_an_security(struct diag_ctx *cx)
{
	struct sec_ctx sc = {.cx = cx};
	ks_map_init(&sc.seen);
	diag_each(cx, WK_POD, pod_visit, &sc);
	diag_each(cx, WK_ROLE, role_visit, &sc);
	diag_each(cx, WK_CLUSTERROLE, role_visit, &sc);
	ks_map_release(&sc.seen);
}
