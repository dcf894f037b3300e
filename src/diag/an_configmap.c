/* an_configmap.c — the ConfigMap analyzer: unused, empty, and oversized ConfigMaps.
 *
 * Uses (all count, unlike K8sGPT's, which missed several): volumes[].configMap, projected
 * volumes (sources[].configMap), env[].valueFrom.configMapKeyRef and envFrom[].configMapRef of
 * containers, init containers and ephemeral containers — in running pods and in the pod
 * templates of Deployments, StatefulSets, DaemonSets, ReplicaSets, Jobs and CronJobs (a
 * Deployment scaled to 0 still uses its ConfigMap).
 *
 * Speed: only namespaces holding a ConfigMap that could be unused are walked; pods of one
 * workload share their interned volumes and containers arrays, so each distinct array id (a
 * set per store and namespace) is walked once, whatever the number of pods.
 *
 * Not judged unused: kube-root-ca.crt; the system namespaces (kube-system, kube-public,
 * kube-node-lease: read through the API by their components); ConfigMaps with an owner
 * (an operator manages them); leader-election records; the sidecar-loaded kinds K8sGPT
 * learnt to skip (labels grafana_dashboard, grafana_datasource, prometheus_rule,
 * fluentd_config, k8sgpt.ai/dynamically-loaded=true) and Helm's release records (owner=helm);
 * annotation k8sgpt.ai/skip-usage-check=true or kswarm.dev/skip-usage-check=true.
 *
 * Severity: unused info, empty low, over 1 MiB low (the API server refuses objects over
 * about 1.5 MiB, and big ConfigMaps slow every watch). */
#include "base/common.h"

#include <string.h>

#include "base/hashmap.h"
#include "diag/analyzers.h"
#include "diag/diag.h"
#include "diag/infra.h"

#define CM_BIG_BYTES ((int64_t)1 << 20)

struct cm_uses {
	struct world *w;
	struct ks_map used;      /* "ns/name" -> (void *)1 */
	struct ks_map seen;      /* "<kind>/<ns>" -> struct ks_u32set of array ids walked */
	struct ks_map namespaces; /* namespaces with a ConfigMap whose uses are needed */
	enum world_kind kind;
	const char *ns;
	/* The set of the previous look-up (world_ns strings are interned: same pointer). */
	struct ks_u32set *last_set;
	const char *last_ns;
	enum world_kind last_kind;
};

static void mark(struct cm_uses *u, const struct kube_objstore *st, uint32_t name_id)
{
	char tmp[KUBE_OBJSTORE_STRTMP], key[400];
	const char *name = kube_objstore_str(st, name_id, tmp, NULL);
	if (!name)
		return;
	snprintf(key, sizeof key, "%s/%s", u->ns, name);
	ks_map_put(&u->used, key, (void *)1);
}

static uint32_t at_path(const struct kube_objstore *st, uint32_t id, const char *path)
{
	return kube_objstore_get(st, id, path);
}

static void walk_volumes(struct cm_uses *u, const struct kube_objstore *st, uint32_t vols)
{
	size_t n = kube_objstore_len(st, vols);
	for (size_t i = 0; i < n; i++) {
		uint32_t v = kube_objstore_at(st, vols, i);
		mark(u, st, at_path(st, v, "configMap.name"));
		uint32_t srcs = at_path(st, v, "projected.sources");
		size_t m = kube_objstore_len(st, srcs);
		for (size_t j = 0; j < m; j++)
			mark(u, st, at_path(st, kube_objstore_at(st, srcs, j), "configMap.name"));
	}
}

static void walk_containers(struct cm_uses *u, const struct kube_objstore *st, uint32_t cs)
{
	size_t n = kube_objstore_len(st, cs);
	for (size_t i = 0; i < n; i++) {
		uint32_t c = kube_objstore_at(st, cs, i);
		uint32_t env = kube_objstore_child(st, c, "env", 3);
		size_t m = kube_objstore_len(st, env);
		for (size_t j = 0; j < m; j++)
			mark(u, st, at_path(st, kube_objstore_at(st, env, j),
					    "valueFrom.configMapKeyRef.name"));
		uint32_t ef = kube_objstore_child(st, c, "envFrom", 7);
		m = kube_objstore_len(st, ef);
		for (size_t j = 0; j < m; j++)
			mark(u, st, at_path(st, kube_objstore_at(st, ef, j), "configMapRef.name"));
	}
}

/* Whether the array id (in the store of the current kind) was walked already for this
 * namespace: names resolve in the object's namespace, so the same interned array in two
 * namespaces names two different ConfigMaps. */
static bool first_time(struct cm_uses *u, uint32_t id)
{
	if (id == KUBE_OBJ_NONE)
		return false;
	struct ks_u32set *set = u->last_set;
	if (set && u->last_ns == u->ns && u->last_kind == u->kind)
		return ks_u32set_add(set, id) == 1;
	char key[300];
	snprintf(key, sizeof key, "%d/%s", (int)u->kind, u->ns);
	set = ks_map_get(&u->seen, key);
	u->last_set = NULL; /* set below */
	if (!set) {
		set = ks_malloc(sizeof *set);
		ks_u32set_init(set);
		ks_map_put(&u->seen, key, set);
	}
	u->last_set = set, u->last_ns = u->ns, u->last_kind = u->kind;
	return ks_u32set_add(set, id) == 1;
}

static int spec_visit(void *p, struct wobj o)
{
	struct cm_uses *u = p;
	uint32_t spec = wobj_get(o, infra_podspec_path(o.kind));
	if (spec == KUBE_OBJ_NONE)
		return 0;
	u->kind = o.kind; /* u->ns: the namespace being walked (set by the caller) */
	uint32_t vols = kube_objstore_child(o.st, spec, "volumes", 7);
	if (first_time(u, vols))
		walk_volumes(u, o.st, vols);
	static const char *const arrays[] = {"containers", "initContainers",
					     "ephemeralContainers"};
	for (size_t i = 0; i < KS_ARRAY_LEN(arrays); i++) {
		uint32_t cs = kube_objstore_child(o.st, spec, arrays[i], strlen(arrays[i]));
		if (first_time(u, cs))
			walk_containers(u, o.st, cs);
	}
	return 0;
}

static bool system_namespace(const char *ns)
{
	return !strcmp(ns, "kube-system") || !strcmp(ns, "kube-public") ||
	       !strcmp(ns, "kube-node-lease");
}

static bool usage_check_skipped(struct wobj cm)
{
	static const char *const skip_labels[] = {"grafana_dashboard", "grafana_datasource",
						  "prometheus_rule", "fluentd_config"};
	char v[64];
	for (size_t i = 0; i < KS_ARRAY_LEN(skip_labels); i++)
		if (infra_label(cm, skip_labels[i], v, sizeof v))
			return true;
	if (infra_label(cm, "k8sgpt.ai/dynamically-loaded", v, sizeof v) && !strcmp(v, "true"))
		return true;
	if (infra_label(cm, "owner", v, sizeof v) && !strcmp(v, "helm"))
		return true;
	uint32_t ann = wobj_get(cm, "metadata.annotations");
	static const char *const skip_ann[] = {"k8sgpt.ai/skip-usage-check",
					       "kswarm.dev/skip-usage-check"};
	for (size_t i = 0; i < KS_ARRAY_LEN(skip_ann); i++)
		if (kube_objstore_str_eq(cm.st,
					 kube_objstore_child(cm.st, ann, skip_ann[i],
							     strlen(skip_ann[i])),
					 "true", 4))
			return true;
	if (kube_objstore_child(cm.st, ann, "control-plane.alpha.kubernetes.io/leader", 40) !=
	    KUBE_OBJ_NONE)
		return true;
	return wobj_get(cm, "metadata.ownerReferences") != KUBE_OBJ_NONE;
}

/* Bytes of data and binaryData values (binaryData as its base64 text, as stored). */
static int64_t cm_bytes(struct wobj cm, size_t *keys)
{
	int64_t total = 0;
	*keys = 0;
	static const char *const maps[] = {"data", "binaryData"};
	for (size_t m = 0; m < 2; m++) {
		uint32_t d = wobj_get(cm, maps[m]);
		size_t n = kube_objstore_len(cm.st, d);
		*keys += n;
		for (size_t i = 0; i < n; i++) {
			size_t len = 0;
			char tmp[KUBE_OBJSTORE_STRTMP];
			kube_objstore_str(cm.st, kube_objstore_val(cm.st, d, i), tmp, &len);
			total += (int64_t)len;
		}
	}
	return total;
}

struct cm_check {
	struct diag_ctx *cx;
	struct cm_uses *uses;
};

static int cm_visit(void *p, struct wobj cm)
{
	struct cm_check *ck = p;
	struct world *w = ck->cx->w;
	const char *ns = wobj_ns(w, cm), *name = wobj_name(w, cm);
	struct diag_ref ref = diag_ref_of(w, cm);
	size_t keys;
	int64_t bytes = cm_bytes(cm, &keys);
	if (keys == 0) {
		struct diag_finding *f = diag_new(ck->cx, "ConfigMap", "ConfigMapEmpty", DIAG_LOW, cm);
		diag_set_symptom(f, "ConfigMap %s/%s is empty", ns, name);
		diag_set_root_cause(f, "ConfigMap %s/%s has no data and no binaryData keys.", ns,
				    name);
		diag_ev_field(f, &ref, ".data", "{} (no keys)");
		diag_fix_human(f, "fill ConfigMap %s/%s or delete it", ns, name);
		f->confidence = 0.9;
		return 0; /* an empty ConfigMap is reported as such, not also as unused */
	} else if (bytes > CM_BIG_BYTES) {
		struct diag_finding *f = diag_new(ck->cx, "ConfigMap", "ConfigMapTooLarge", DIAG_LOW,
						  cm);
		diag_set_symptom(f, "ConfigMap %s/%s holds %lld bytes", ns, name, (long long)bytes);
		diag_set_root_cause(f, "ConfigMap %s/%s is larger than 1 MiB (%lld bytes in %zu "
				    "keys).", ns, name, (long long)bytes, keys);
		diag_ev_field(f, &ref, ".data", "%lld bytes in %zu keys", (long long)bytes, keys);
		diag_fix_human(f, "move the content of ConfigMap %s/%s to a volume or an image; "
			       "objects near 1.5 MiB are refused by the API server", ns, name);
		f->confidence = 0.9;
	}
	if (!strcmp(name, "kube-root-ca.crt") || system_namespace(ns) || usage_check_skipped(cm))
		return 0;
	char key[400];
	snprintf(key, sizeof key, "%s/%s", ns, name);
	if (ks_map_get(&ck->uses->used, key))
		return 0;
	struct diag_finding *f = diag_new(ck->cx, "ConfigMap", "ConfigMapUnused", DIAG_INFO, cm);
	diag_set_symptom(f, "ConfigMap %s/%s is not used", ns, name);
	diag_set_root_cause(f,
			    "No pod and no workload template in namespace %s mounts ConfigMap %s or "
			    "reads it through env or envFrom.",
			    ns, name);
	diag_ev_object(f, &ref, "not referenced by any volume, projected volume, env, envFrom, "
		       "init or ephemeral container of a pod or pod template");
	diag_fix_human(f, "delete ConfigMap %s/%s if nothing reads it through the API", ns, name);
	diag_fix_check(f, "applications or operators that read it through the API");
	f->confidence = 0.6;
	return 0;
}

/* The namespaces holding a ConfigMap whose uses must be known. */
static int candidate_ns(void *p, struct wobj cm)
{
	struct cm_uses *u = p;
	struct world *w = u->w;
	const char *ns = wobj_ns(w, cm);
	if (!strcmp(wobj_name(w, cm), "kube-root-ca.crt") || system_namespace(ns) ||
	    usage_check_skipped(cm))
		return 0;
	ks_map_put(&u->namespaces, ns, (void *)1);
	return 0;
}

void diag_an_configmap(struct diag_ctx *cx)
{
	struct cm_uses u = {.w = cx->w};
	ks_map_init(&u.used);
	ks_map_init(&u.seen);
	ks_map_init(&u.namespaces);
	diag_each(cx, WK_CONFIGMAP, candidate_ns, &u);
	const char *ns;
	void *unused;
	for (size_t j = 0; ks_map_next(&u.namespaces, &j, &ns, &unused);) {
		u.ns = world_strdup(cx->w, ns);
		world_in_namespace(cx->w, WK_POD, ns, spec_visit, &u);
		for (size_t i = 0; i < infra_n_workload_kinds; i++)
			world_in_namespace(cx->w, infra_workload_kinds[i], ns, spec_visit, &u);
	}
	ks_map_release(&u.namespaces);
	struct cm_check ck = {.cx = cx, .uses = &u};
	diag_each(cx, WK_CONFIGMAP, cm_visit, &ck);
	ks_map_release(&u.used);
	const char *k;
	void *v;
	for (size_t i = 0; ks_map_next(&u.seen, &i, &k, &v);) {
		ks_u32set_release(v);
		free(v);
	}
	ks_map_release(&u.seen);
}
