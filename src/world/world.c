/* world.c — the world's kinds, its objects and indexes, Secret hashing, logs and metrics.
 * Loading lives in world_load.c (live) and world_snapshot.c (files); see world.h. */
#include "base/common.h"
#include "world/world_internal.h"

#include <stdio.h>
#include <string.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "base/base64.h"
#include "base/json.h"
#include "base/timeutil.h"
#include "kube/client.h"
#include "kube/informer.h"
#include "kube/selector.h"

const struct world_kind_info world_kinds[WK_COUNT] = {
	[WK_POD] = {"Pod", "", "pods", {"v1"}, true, false},
	[WK_NODE] = {"Node", "", "nodes", {"v1"}, false, false},
	[WK_NAMESPACE] = {"Namespace", "", "namespaces", {"v1"}, false, false},
	[WK_EVENT] = {"Event", "", "events", {"v1"}, true, false},
	[WK_SERVICE] = {"Service", "", "services", {"v1"}, true, false},
	[WK_ENDPOINTS] = {"Endpoints", "", "endpoints", {"v1"}, true, false},
	[WK_CONFIGMAP] = {"ConfigMap", "", "configmaps", {"v1"}, true, false},
	[WK_SECRET] = {"Secret", "", "secrets", {"v1"}, true, false},
	[WK_SERVICEACCOUNT] = {"ServiceAccount", "", "serviceaccounts", {"v1"}, true, false},
	[WK_LIMITRANGE] = {"LimitRange", "", "limitranges", {"v1"}, true, false},
	[WK_DEPLOYMENT] = {"Deployment", "apps", "deployments", {"v1"}, true, false},
	[WK_REPLICASET] = {"ReplicaSet", "apps", "replicasets", {"v1"}, true, false},
	[WK_STATEFULSET] = {"StatefulSet", "apps", "statefulsets", {"v1"}, true, false},
	[WK_DAEMONSET] = {"DaemonSet", "apps", "daemonsets", {"v1"}, true, false},
	[WK_CONTROLLERREVISION] = {"ControllerRevision", "apps", "controllerrevisions", {"v1"},
				   true, false},
	[WK_JOB] = {"Job", "batch", "jobs", {"v1"}, true, false},
	[WK_CRONJOB] = {"CronJob", "batch", "cronjobs", {"v1", "v1beta1"}, true, false},
	[WK_INGRESS] = {"Ingress", "networking.k8s.io", "ingresses", {"v1", "v1beta1"}, true,
			false},
	[WK_INGRESSCLASS] = {"IngressClass", "networking.k8s.io", "ingressclasses",
			     {"v1", "v1beta1"}, false, false},
	[WK_NETWORKPOLICY] = {"NetworkPolicy", "networking.k8s.io", "networkpolicies", {"v1"},
			      true, false},
	[WK_PVC] = {"PersistentVolumeClaim", "", "persistentvolumeclaims", {"v1"}, true, false},
	[WK_PV] = {"PersistentVolume", "", "persistentvolumes", {"v1"}, false, false},
	[WK_STORAGECLASS] = {"StorageClass", "storage.k8s.io", "storageclasses", {"v1"}, false,
			     false},
	[WK_HPA] = {"HorizontalPodAutoscaler", "autoscaling", "horizontalpodautoscalers",
		    {"v2", "v2beta2", "v1"}, true, false},
	[WK_PDB] = {"PodDisruptionBudget", "policy", "poddisruptionbudgets", {"v1", "v1beta1"},
		    true, false},
	[WK_VALIDATINGWEBHOOK] = {"ValidatingWebhookConfiguration", "admissionregistration.k8s.io",
				  "validatingwebhookconfigurations", {"v1", "v1beta1"}, false,
				  false},
	[WK_MUTATINGWEBHOOK] = {"MutatingWebhookConfiguration", "admissionregistration.k8s.io",
				"mutatingwebhookconfigurations", {"v1", "v1beta1"}, false, false},
	[WK_ROLE] = {"Role", "rbac.authorization.k8s.io", "roles", {"v1"}, true, false},
	[WK_CLUSTERROLE] = {"ClusterRole", "rbac.authorization.k8s.io", "clusterroles", {"v1"},
			    false, false},
	[WK_ROLEBINDING] = {"RoleBinding", "rbac.authorization.k8s.io", "rolebindings", {"v1"},
			    true, false},
	[WK_CLUSTERROLEBINDING] = {"ClusterRoleBinding", "rbac.authorization.k8s.io",
				   "clusterrolebindings", {"v1"}, false, false},
	[WK_GATEWAYCLASS] = {"GatewayClass", "gateway.networking.k8s.io", "gatewayclasses",
			     {"v1", "v1beta1"}, false, true},
	[WK_GATEWAY] = {"Gateway", "gateway.networking.k8s.io", "gateways", {"v1", "v1beta1"},
			true, true},
	[WK_HTTPROUTE] = {"HTTPRoute", "gateway.networking.k8s.io", "httproutes",
			  {"v1", "v1beta1"}, true, true},
	[WK_NODEPOOL] = {"NodePool", "karpenter.sh", "nodepools", {"v1", "v1beta1"}, false, true},
	[WK_NODECLAIM] = {"NodeClaim", "karpenter.sh", "nodeclaims", {"v1", "v1beta1"}, false,
			  true},
};

int world_kind_of(const char *api_version, const char *kind)
{
	if (!api_version || !kind)
		return -1;
	const char *slash = strchr(api_version, '/');
	size_t glen = slash ? (size_t)(slash - api_version) : 0;
	for (int k = 0; k < WK_COUNT; k++) {
		const struct world_kind_info *ki = &world_kinds[k];
		if (strcmp(ki->kind, kind) || strlen(ki->group) != glen ||
		    strncmp(ki->group, api_version, glen))
			continue;
		/* extensions/v1beta1 Ingress and the like are other groups: not matched. */
		return k;
	}
	return -1;
}

/* ---- life ---- */

static void fatal(const char *what)
{
	fprintf(stderr, "kswarm: world: %s\n", what);
	abort();
}

struct world *world_new(void)
{
	struct world *w = ks_calloc(1, sizeof *w);
	for (int k = 0; k < WK_COUNT; k++) {
		struct kube_resource r = {.namespaced = world_kinds[k].namespaced};
		snprintf(r.group, sizeof r.group, "%s", world_kinds[k].group);
		snprintf(r.version, sizeof r.version, "%s", world_kinds[k].versions[0]);
		snprintf(r.resource, sizeof r.resource, "%s", world_kinds[k].resource);
		snprintf(r.kind, sizeof r.kind, "%s", world_kinds[k].kind);
		w->res[k] = r;
	}
	ks_map_init(&w->strings);
	ks_map_init(&w->json_cache);
	ks_map_init(&w->uids);
	ks_map_init(&w->events);
	ks_map_init(&w->secret_hashes);
	ks_map_init(&w->logs);
	ks_map_init(&w->metrics);
	ks_map_init(&w->memo);
	if (gnutls_rnd(GNUTLS_RND_KEY, w->hmac_key, sizeof w->hmac_key))
		fatal("no random bytes for the Secret hash key");
	w->now = ks_time_now_ms() / 1000;
	return w;
}

static void free_values(struct ks_map *m, void (*fn)(void *))
{
	const char *k;
	void *v;
	for (size_t i = 0; ks_map_next(m, &i, &k, &v);)
		fn(v);
	ks_map_release(m);
}

static void free_json(void *v) { cJSON_Delete(v); }

static void free_idlist(void *v)
{
	struct world_idlist *l = v;
	free(l->ids);
	free(l);
}

static void free_log(void *v)
{
	struct world_log *l = v;
	free((char *)l->text);
	free((char *)l->error);
	free(l);
}

void world_free(struct world *w)
{
	if (!w)
		return;
	for (int k = 0; k < WK_COUNT; k++)
		kube_informer_free(w->inf[k]);
	free_values(&w->strings, free);
	free_values(&w->json_cache, free_json);
	free_values(&w->uids, free);
	free_values(&w->events, free_idlist);
	free_values(&w->secret_hashes, free);
	free_values(&w->logs, free_log);
	free_values(&w->metrics, free);
	free_values(&w->memo, free);
	free(w->log_order);
	free(w->cluster);
	free(w->server_version);
	memset(w->hmac_key, 0, sizeof w->hmac_key);
	free(w);
}

struct kube_informer *world_informer(struct world *w, enum world_kind k)
{
	if (!w->inf[k]) {
		w->inf[k] = kube_informer_new(NULL, &w->res[k], NULL);
		if (k == WK_SECRET)
			kube_informer_set_transform(w->inf[k], world_secret_transform, w);
	}
	return w->inf[k];
}

void world_index_invalidate(struct world *w)
{
	free_values(&w->uids, free);
	free_values(&w->events, free_idlist);
	ks_map_init(&w->uids);
	ks_map_init(&w->events);
	w->indexed = false;
}

/* ---- facts about the world ---- */

const char *world_cluster_name(const struct world *w) { return w->cluster ? w->cluster : ""; }
const char *world_server_version(const struct world *w)
{
	return w->server_version ? w->server_version : "";
}
int64_t world_now(const struct world *w) { return w->now; }

void world_set_cluster(struct world *w, const char *name, const char *server_version)
{
	if (name) {
		free(w->cluster);
		w->cluster = ks_strdup(name);
	}
	if (server_version) {
		free(w->server_version);
		w->server_version = ks_strdup(server_version);
	}
}

void world_set_now(struct world *w, int64_t unix_s) { w->now = unix_s; }

bool world_has(const struct world *w, enum world_kind k) { return w->served[k]; }

const struct kube_resource *world_resource(const struct world *w, enum world_kind k)
{
	return w->served[k] ? &w->res[k] : NULL;
}

size_t world_count(const struct world *w, enum world_kind k)
{
	return w->inf[k] ? kube_informer_count(w->inf[k]) : 0;
}

void world_get_stats(const struct world *w, struct world_stats *out) { *out = w->stats; }

void world_count_api_call(struct world *w, bool is_log)
{
	w->stats.api_calls++;
	if (is_log)
		w->stats.log_calls++;
}

/* ---- visiting ---- */

struct visit {
	world_visit_fn fn;
	void *ctx;
	enum world_kind kind;
};

static int visit_one(void *ctx, const struct kube_objstore *st, uint32_t id)
{
	struct visit *v = ctx;
	return v->fn(v->ctx, (struct wobj){.st = st, .id = id, .kind = v->kind});
}

size_t world_each(const struct world *w, enum world_kind k, world_visit_fn fn, void *ctx)
{
	if (!w->inf[k])
		return 0;
	struct visit v = {fn, ctx, k};
	return kube_informer_each(w->inf[k], visit_one, &v);
}

static size_t by_index(const struct world *w, enum world_kind k, enum kube_index idx,
		       const char *value, world_visit_fn fn, void *ctx)
{
	if (!w->inf[k] || !value)
		return 0;
	struct visit v = {fn, ctx, k};
	return kube_informer_by_index(w->inf[k], idx, value, visit_one, &v);
}

size_t world_in_namespace(const struct world *w, enum world_kind k, const char *ns,
			  world_visit_fn fn, void *ctx)
{
	return by_index(w, k, KUBE_IDX_NAMESPACE, ns, fn, ctx);
}

size_t world_owned_by(const struct world *w, enum world_kind k, const char *owner_uid,
		      world_visit_fn fn, void *ctx)
{
	return by_index(w, k, KUBE_IDX_OWNER, owner_uid, fn, ctx);
}

size_t world_with_label(const struct world *w, enum world_kind k, const char *kv,
			world_visit_fn fn, void *ctx)
{
	return by_index(w, k, KUBE_IDX_LABEL, kv, fn, ctx);
}

size_t world_pods_on_node(const struct world *w, const char *node, world_visit_fn fn, void *ctx)
{
	return by_index(w, WK_POD, KUBE_IDX_NODE, node, fn, ctx);
}

struct wobj world_get(const struct world *w, enum world_kind k, const char *ns,
		      const char *name)
{
	struct wobj o = {.kind = k};
	if (!w->inf[k])
		return o;
	o.st = kube_informer_store(w->inf[k]);
	o.id = kube_informer_get(w->inf[k], world_kinds[k].namespaced ? ns : NULL, name);
	return o;
}

/* ---- the derived indexes: uids and events, built on first use ---- */

static uint64_t event_time_key(struct wobj e)
{
	char buf[64];
	const char *t = wobj_str(e, "lastTimestamp", buf, sizeof buf);
	if (!t)
		t = wobj_str(e, "eventTime", buf, sizeof buf);
	if (!t)
		t = wobj_str(e, "metadata.creationTimestamp", buf, sizeof buf);
	int64_t ns = 0;
	if (!t || ks_time_parse_rfc3339(t, strlen(t), &ns, NULL))
		return 0;
	return (uint64_t)ns;
}

static void idlist_add(struct ks_map *m, const char *key, uint32_t id)
{
	struct world_idlist *l = ks_map_get(m, key);
	if (!l) {
		l = ks_calloc(1, sizeof *l);
		ks_map_put(m, key, l);
	}
	l->ids = ks_grow(l->ids, sizeof *l->ids, l->n + 1, &l->cap);
	l->ids[l->n++] = id;
}

struct index_ctx {
	struct world *w;
	enum world_kind k;
};

static int index_uid(void *ctx, struct wobj o)
{
	struct index_ctx *ic = ctx;
	char buf[64];
	const char *uid = wobj_str(o, "metadata.uid", buf, sizeof buf);
	if (uid && *uid) {
		uint64_t *v = ks_malloc(sizeof *v);
		*v = ((uint64_t)ic->k << 32) | o.id;
		free(ks_map_put(&ic->w->uids, uid, v));
	}
	return 0;
}

static void event_key(struct wobj e, char *key, size_t n)
{
	char uid[64], kind[64], ns[256], name[256];
	const char *u = wobj_str(e, "involvedObject.uid", uid, sizeof uid);
	if (u && *u) {
		snprintf(key, n, "%s", u);
		return;
	}
	snprintf(key, n, "%s/%s/%s",
		 wobj_str(e, "involvedObject.kind", kind, sizeof kind) ? kind : "",
		 wobj_str(e, "involvedObject.namespace", ns, sizeof ns) ? ns : "",
		 wobj_str(e, "involvedObject.name", name, sizeof name) ? name : "");
}

static int index_event(void *ctx, struct wobj e)
{
	struct index_ctx *ic = ctx;
	char key[600];
	event_key(e, key, sizeof key);
	idlist_add(&ic->w->events, key, e.id);
	return 0;
}

static const struct kube_objstore *sort_store;
static int cmp_event_ids(const void *a, const void *b)
{
	uint32_t ia = *(const uint32_t *)a, ib = *(const uint32_t *)b;
	uint64_t ta = event_time_key((struct wobj){.st = sort_store, .id = ia});
	uint64_t tb = event_time_key((struct wobj){.st = sort_store, .id = ib});
	return ta < tb ? -1 : ta > tb ? 1 : (ia > ib) - (ia < ib);
}

void world_build_indexes(struct world *w)
{
	if (w->indexed)
		return;
	w->indexed = true;
	for (int k = 0; k < WK_COUNT; k++) {
		if (k == WK_EVENT)
			continue;
		struct index_ctx ic = {w, (enum world_kind)k};
		world_each(w, (enum world_kind)k, index_uid, &ic);
	}
	struct index_ctx ic = {w, WK_EVENT};
	world_each(w, WK_EVENT, index_event, &ic);
	if (!w->inf[WK_EVENT])
		return;
	sort_store = kube_informer_store(w->inf[WK_EVENT]);
	const char *k;
	void *v;
	for (size_t i = 0; ks_map_next(&w->events, &i, &k, &v);) {
		struct world_idlist *l = v;
		if (l->n > 1)
			qsort(l->ids, l->n, sizeof *l->ids, cmp_event_ids);
	}
	sort_store = NULL;
}

struct wobj world_by_uid(struct world *w, const char *uid)
{
	world_build_indexes(w);
	const uint64_t *v = uid ? ks_map_get(&w->uids, uid) : NULL;
	if (!v)
		return (struct wobj){0};
	enum world_kind k = (enum world_kind)(*v >> 32);
	return (struct wobj){.st = kube_informer_store(w->inf[k]), .id = (uint32_t)*v, .kind = k};
}

static size_t visit_list(struct world *w, const struct world_idlist *l, world_visit_fn fn,
			 void *ctx)
{
	if (!l)
		return 0;
	const struct kube_objstore *st = kube_informer_store(w->inf[WK_EVENT]);
	size_t n = 0;
	for (size_t i = 0; i < l->n; i++) {
		n++;
		if (fn(ctx, (struct wobj){.st = st, .id = l->ids[i], .kind = WK_EVENT}))
			break;
	}
	return n;
}

size_t world_events_for(struct world *w, const char *kind, const char *ns, const char *name,
			const char *uid, world_visit_fn fn, void *ctx)
{
	world_build_indexes(w);
	size_t n = 0;
	if (uid && *uid)
		n += visit_list(w, ks_map_get(&w->events, uid), fn, ctx);
	char key[600];
	snprintf(key, sizeof key, "%s/%s/%s", kind ? kind : "", ns ? ns : "", name ? name : "");
	n += visit_list(w, ks_map_get(&w->events, key), fn, ctx);
	return n;
}

/* ---- reading fields ---- */

uint32_t wobj_get(struct wobj o, const char *path)
{
	if (!o.st || !o.id)
		return KUBE_OBJ_NONE;
	return kube_objstore_get(o.st, o.id, path);
}

const char *wobj_str(struct wobj o, const char *path, char *buf, size_t n)
{
	uint32_t v = wobj_get(o, path);
	if (kube_objstore_type(o.st, v) != KUBE_OBJ_STRING)
		return NULL;
	char tmp[KUBE_OBJSTORE_STRTMP];
	size_t len;
	const char *s = kube_objstore_str(o.st, v, tmp, &len);
	if (!s || !n)
		return NULL;
	if (len >= n)
		len = n - 1;
	memcpy(buf, s, len);
	buf[len] = 0;
	return buf;
}

bool wobj_str_eq(struct wobj o, const char *path, const char *s)
{
	uint32_t v = wobj_get(o, path);
	return v && kube_objstore_str_eq(o.st, v, s, strlen(s));
}

int64_t wobj_int(struct wobj o, const char *path, int64_t def)
{
	uint32_t v = wobj_get(o, path);
	if (kube_objstore_type(o.st, v) != KUBE_OBJ_NUMBER)
		return def;
	return (int64_t)kube_objstore_num(o.st, v, (double)def);
}

bool wobj_bool(struct wobj o, const char *path, bool def)
{
	uint32_t v = wobj_get(o, path);
	return kube_objstore_bool(o.st, v, def);
}

void wobj_labels_at(struct wobj_labels *l, struct wobj o, const char *path)
{
	l->labels = (struct wobj){.st = o.st, .id = wobj_get(o, path), .kind = o.kind};
	l->buf[0] = 0;
}

const char *wobj_label_lookup(void *ctx, const char *key)
{
	struct wobj_labels *l = ctx;
	uint32_t v = kube_objstore_child(l->labels.st, l->labels.id, key, strlen(key));
	if (kube_objstore_type(l->labels.st, v) != KUBE_OBJ_STRING)
		return NULL;
	char tmp[KUBE_OBJSTORE_STRTMP];
	size_t len;
	const char *s = kube_objstore_str(l->labels.st, v, tmp, &len);
	if (!s || len >= sizeof l->buf)
		return NULL;
	memcpy(l->buf, s, len);
	l->buf[len] = 0;
	return l->buf;
}

bool wobj_labels_match(struct wobj o, const char *path, const struct kube_selector *sel)
{
	struct wobj_labels l;
	wobj_labels_at(&l, o, path);
	return kube_selector_matches(sel, wobj_label_lookup, &l);
}

struct matching {
	const struct kube_selector *sel;
	const char *ns;
	world_visit_fn fn;
	void *ctx;
	size_t n;
};

static int matching_visit(void *p, struct wobj o)
{
	struct matching *m = p;
	if (m->ns && !wobj_str_eq(o, "metadata.namespace", m->ns))
		return 0;
	if (!wobj_labels_match(o, "metadata.labels", m->sel))
		return 0;
	m->n++;
	return m->fn ? m->fn(m->ctx, o) : 0;
}

size_t world_matching(const struct world *w, enum world_kind k, const char *ns,
		      const struct kube_selector *sel, world_visit_fn fn, void *ctx)
{
	if (sel->nothing || !w->inf[k])
		return 0;
	struct matching m = {.sel = sel, .fn = fn, .ctx = ctx};
	/* The smallest of the sets the index holds: the namespace's objects, or those carrying
	 * one of the selector's key=value labels. */
	size_t best = ns ? kube_informer_index_size(w->inf[k], KUBE_IDX_NAMESPACE, ns)
			 : kube_informer_count(w->inf[k]);
	char *best_kv = NULL;
	for (size_t i = 0; i < sel->nreqs; i++) {
		const struct kube_selreq *r = &sel->reqs[i];
		bool eq = r->op == KUBE_SEL_EQ || r->op == KUBE_SEL_DEQ ||
			  (r->op == KUBE_SEL_IN && r->nvalues == 1);
		if (!eq)
			continue;
		char *kv = ks_asprintf("%s=%s", r->key, r->values[0]);
		size_t n = kube_informer_index_size(w->inf[k], KUBE_IDX_LABEL, kv);
		if (n < best) {
			best = n;
			free(best_kv);
			best_kv = kv;
		} else {
			free(kv);
		}
	}
	if (best_kv) {
		m.ns = ns;
		world_with_label(w, k, best_kv, matching_visit, &m);
		free(best_kv);
	} else if (ns) {
		world_in_namespace(w, k, ns, matching_visit, &m);
	} else {
		world_each(w, k, matching_visit, &m);
	}
	return m.n;
}

void *world_memo_get(const struct world *w, const char *key)
{
	return ks_map_get(&w->memo, key);
}

void world_memo_put(struct world *w, const char *key, void *value)
{
	free(ks_map_put(&w->memo, key, value));
}

const char *world_strdup(struct world *w, const char *s)
{
	if (!s)
		return "";
	const char *k;
	void *v = ks_map_get(&w->strings, s);
	if (v)
		return v;
	char *copy = ks_strdup(s);
	ks_map_put(&w->strings, s, copy);
	(void)k;
	return copy;
}

static const char *meta_str(struct world *w, struct wobj o, const char *path)
{
	char buf[512];
	const char *s = wobj_str(o, path, buf, sizeof buf);
	return world_strdup(w, s ? s : "");
}

const char *wobj_name(struct world *w, struct wobj o) { return meta_str(w, o, "metadata.name"); }
const char *wobj_ns(struct world *w, struct wobj o)
{
	return meta_str(w, o, "metadata.namespace");
}
const char *wobj_uid(struct world *w, struct wobj o) { return meta_str(w, o, "metadata.uid"); }

const cJSON *world_json(struct world *w, struct wobj o)
{
	if (!o.st || !o.id)
		return NULL;
	char key[32];
	snprintf(key, sizeof key, "%d:%u", (int)o.kind, o.id);
	cJSON *j = ks_map_get(&w->json_cache, key);
	if (!j) {
		j = kube_objstore_to_cjson(o.st, o.id);
		if (!j)
			return NULL;
		ks_map_put(&w->json_cache, key, j);
	}
	return j;
}

/* ---- Secrets: keyed hashes instead of values ---- */

static void secret_hash(const struct world *w, const void *data, size_t len,
			unsigned char out[WORLD_HASH_LEN])
{
	if (gnutls_hmac_fast(GNUTLS_MAC_SHA256, w->hmac_key, sizeof w->hmac_key, data, len, out))
		fatal("HMAC-SHA-256 failed");
}

static void secret_key(char *out, size_t n, const char *ns, const char *name, const char *key)
{
	snprintf(out, n, "%s/%s/%s", ns ? ns : "", name ? name : "", key ? key : "");
}

void world_secret_transform(void *ctx, cJSON *obj)
{
	struct world *w = ctx;
	const char *ns = ks_json_str_or(obj, "metadata.namespace", "");
	const char *name = ks_json_str_or(obj, "metadata.name", "");
	cJSON_DeleteItemFromObjectCaseSensitive(obj, "stringData");
	cJSON *data = cJSON_GetObjectItemCaseSensitive(obj, "data");
	cJSON *item;
	cJSON_ArrayForEach(item, data) {
		if (!cJSON_IsString(item) || !item->string)
			continue;
		unsigned char *raw = NULL;
		size_t rawlen = 0;
		const char *v = item->valuestring;
		if (*v && !ks_base64_decode(v, strlen(v), &raw, &rawlen, NULL)) {
			unsigned char *h = ks_malloc(WORLD_HASH_LEN);
			secret_hash(w, raw, rawlen, h);
			char key[800];
			secret_key(key, sizeof key, ns, name, item->string);
			free(ks_map_put(&w->secret_hashes, key, h));
			if (rawlen >= WORLD_SECRET_MIN_LEN)
				w->n_secret_values++;
			/* the length, for world_text_has_secret's windows */
			if (rawlen >= WORLD_SECRET_MIN_LEN && rawlen <= WORLD_SECRET_MAX_LEN)
				w->secret_lens[rawlen] = true;
			memset(raw, 0, rawlen);
		}
		free(raw);
		cJSON_SetValuestring(item, "");
	}
	/* The set of value hashes, for scanning text. */
	cJSON_ArrayForEach(item, data) {
		char key[800];
		secret_key(key, sizeof key, ns, name, item->string);
		const unsigned char *h = ks_map_get(&w->secret_hashes, key);
		if (!h)
			continue;
		char hex[WORLD_HASH_LEN * 2 + 1];
		for (int i = 0; i < WORLD_HASH_LEN; i++)
			snprintf(hex + 2 * i, 3, "%02x", h[i]);
		if (!ks_map_get(&w->secret_hashes, hex))
			ks_map_put(&w->secret_hashes, hex, ks_strdup("v"));
	}
}

bool world_secret_has_key(struct world *w, const char *ns, const char *name, const char *key)
{
	struct wobj s = world_get(w, WK_SECRET, ns, name);
	if (!wobj_ok(s))
		return false;
	uint32_t data = wobj_get(s, "data");
	return kube_objstore_child(s.st, data, key, strlen(key)) != KUBE_OBJ_NONE;
}

bool world_secret_matches(struct world *w, const char *ns, const char *name, const char *key,
			  const char *value, size_t len)
{
	char k[800];
	secret_key(k, sizeof k, ns, name, key);
	const unsigned char *h = ks_map_get(&w->secret_hashes, k);
	if (!h)
		return false;
	unsigned char got[WORLD_HASH_LEN];
	secret_hash(w, value, len, got);
	return !memcmp(h, got, WORLD_HASH_LEN);
}

static bool hash_known(struct world *w, const char *p, size_t n)
{
	unsigned char h[WORLD_HASH_LEN];
	secret_hash(w, p, n, h);
	char hex[WORLD_HASH_LEN * 2 + 1];
	for (int i = 0; i < WORLD_HASH_LEN; i++)
		snprintf(hex + 2 * i, 3, "%02x", h[i]);
	return ks_map_get(&w->secret_hashes, hex) != NULL;
}

static bool is_delim(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '"' || c == '\'' ||
	       c == '=' || c == ':' || c == ',' || c == ';' || c == '(' || c == ')' ||
	       c == '[' || c == ']' || c == '{' || c == '}' || c == '<' || c == '>' || c == '`';
}

/* Text is split at delimiters (spaces, quotes, = : , ; brackets); every token, and every run
 * of up to four adjacent tokens with what is between them, of a length some Secret value
 * has, is hashed and looked up. So "password=s3cr3t-value" and "auth 'my secret phrase'"
 * are found; a value glued to other letters ("xs3cr3t") is not. */
bool world_text_has_secret(struct world *w, const char *s, size_t len)
{
	if (!w->n_secret_values || !s)
		return false;
	size_t i = 0;
	while (i < len) {
		while (i < len && is_delim(s[i]))
			i++;
		size_t start = i;
		for (int tokens = 0; tokens < 4 && i < len; tokens++) {
			while (i < len && !is_delim(s[i]))
				i++;
			size_t n = i - start;
			if (n >= WORLD_SECRET_MIN_LEN && n <= WORLD_SECRET_MAX_LEN &&
			    w->secret_lens[n] && hash_known(w, s + start, n))
				return true;
			if (n > WORLD_SECRET_MAX_LEN)
				break;
			while (i < len && is_delim(s[i]) && s[i] != '\n')
				i++;
		}
		/* next start: just after the first token */
		i = start;
		while (i < len && !is_delim(s[i]))
			i++;
	}
	return false;
}

/* Replace every token (as above) that is a Secret value by "[redacted]". */
char *world_redact(struct world *w, const char *s)
{
	size_t len = strlen(s);
	if (!world_text_has_secret(w, s, len))
		return ks_strdup(s);
	struct ks_buf b;
	ks_buf_init(&b, KS_BUF_UNLIMITED);
	size_t i = 0;
	while (i < len) {
		if (is_delim(s[i])) {
			ks_buf_appendc(&b, s[i++]);
			continue;
		}
		size_t best = 0, end = i;
		for (int tokens = 0; tokens < 4 && end < len; tokens++) {
			while (end < len && !is_delim(s[end]))
				end++;
			size_t n = end - i;
			if (n > WORLD_SECRET_MAX_LEN)
				break;
			if (n >= WORLD_SECRET_MIN_LEN && w->secret_lens[n] &&
			    hash_known(w, s + i, n))
				best = n;
			while (end < len && is_delim(s[end]) && s[end] != '\n')
				end++;
		}
		if (best) {
			ks_buf_appendstr(&b, "[redacted]");
			i += best;
		} else {
			while (i < len && !is_delim(s[i]))
				ks_buf_appendc(&b, s[i++]);
		}
	}
	return ks_buf_detach(&b);
}

/* ---- logs ---- */

static void log_key(char *out, size_t n, const char *ns, const char *pod, const char *container,
		    bool previous)
{
	snprintf(out, n, "%s/%s/%s/%d", ns, pod, container, previous ? 1 : 0);
}

void world_add_log(struct world *w, const char *ns, const char *pod, const char *container,
		   bool previous, const char *text, bool truncated, const char *error)
{
	char key[800];
	log_key(key, sizeof key, ns, pod, container, previous);
	struct world_log *l = ks_calloc(1, sizeof *l);
	l->ns = world_strdup(w, ns);
	l->pod = world_strdup(w, pod);
	l->container = world_strdup(w, container);
	l->previous = previous;
	l->text = text ? world_redact(w, text) : NULL;
	l->truncated = truncated;
	l->error = error ? ks_strdup(error) : NULL;
	struct world_log *old = ks_map_put(&w->logs, key, l);
	if (old) {
		free_log(old);
		for (size_t i = 0; i < w->n_logs; i++)
			if (w->log_order[i] == old)
				w->log_order[i] = l;
		return;
	}
	w->log_order = ks_grow(w->log_order, sizeof *w->log_order, w->n_logs + 1, &w->cap_logs);
	w->log_order[w->n_logs++] = l;
}

const struct world_log *world_log(const struct world *w, const char *ns, const char *pod,
				  const char *container, bool previous)
{
	char key[800];
	log_key(key, sizeof key, ns, pod, container, previous);
	return ks_map_get(&w->logs, key);
}

/* ---- metrics ---- */

static void metric_key(char *out, size_t n, const char *name, const char *ns, const char *pod,
		       const char *container)
{
	snprintf(out, n, "%s|%s|%s|%s", name, ns ? ns : "", pod ? pod : "",
		 container ? container : "");
}

void world_add_metric(struct world *w, const char *name, const char *ns, const char *pod,
		      const char *container, double value)
{
	char key[900];
	metric_key(key, sizeof key, name, ns, pod, container);
	double *v = ks_malloc(sizeof *v);
	*v = value;
	free(ks_map_put(&w->metrics, key, v));
}

bool world_metric(const struct world *w, const char *name, const char *ns, const char *pod,
		  const char *container, double *out)
{
	char key[900];
	metric_key(key, sizeof key, name, ns, pod, container);
	const double *v = ks_map_get(&w->metrics, key);
	if (v && out)
		*out = *v;
	return v != NULL;
}

void world_set_metrics_window(struct world *w, double seconds) { w->metrics_window = seconds; }
double world_metrics_window(const struct world *w) { return w->metrics_window; }
bool world_has_metrics(const struct world *w) { return w->metrics.len > 0; }
