/* karpenter.c — the Karpenter provisioner and disruption controller of the simulator.
 *
 * Provisioning (Karpenter's provisioner and scheduler, v1 semantics):
 *  - A pod is pending when it is unbound, not being deleted, its PodScheduled condition is
 *    False with reason Unschedulable (the real scheduler found no node), it is not a
 *    DaemonSet's, its schedulerName is the default one, and its node selector does not pin
 *    kubernetes.io/hostname or metadata.name (such a pod waits for one existing node).
 *  - Pending pods are batched: the batch closes 1 s after the last new pod, or 10 s after the
 *    first (real time: Karpenter's batch windows; not compressed by the time scale). The pods
 *    the pod informer's first LIST finds pending are batched too (sim_start starts it after
 *    this file's handlers are added). Pods no pool took are asked again every 30 s and when a
 *    NodePool is added or changed — with no NodePool at all, silently (Karpenter only logs).
 *  - The batch is bin-packed first-fit decreasing (CPU, then memory) onto new nodes. Each new
 *    node ("claim") starts with every offering of one NodePool — instance type x zone
 *    (us-east-1a/b/c) x capacity type (on-demand; spot when the type has a spot price) whose
 *    labels satisfy the pool's requirements — and each pod added narrows the offerings to those
 *    whose labels satisfy the pod's node selector and required node affinity and whose
 *    allocatable, less the pool's DaemonSet overhead (the requests of the pod templates of the
 *    DaemonSets that tolerate the pool's taints and whose selector is compatible with it,
 *    listed at each batch, as Karpenter computes it), holds the claim's pods. A pod that fits
 *    no open claim opens one in the first pool, by weight (highest first, then name), whose
 *    taints it tolerates and that has an offering for it.
 *  - Closing a claim: when any offering left is spot, only spot ones remain (Karpenter
 *    launches spot whenever the requirements allow it and prices with the spot price); those
 *    that would take the pool past spec.limits (capacity of its nodes plus this one, for cpu,
 *    memory, pods, nodes, ephemeral-storage, nvidia.com/gpu) are dropped; each minValues
 *    requirement must still see that many distinct values among the offerings; the cheapest
 *    offering wins (price, then fewer vCPUs), and the zone is round robin among the zones left
 *    for that type. The node is registered with the pool's template labels, taints
 *    (startupTaints are left out: nothing would remove them), karpenter.sh/nodepool, the
 *    capacity type, and the karpenter.sh/nodepool-hash annotation.
 *  - Events, as Karpenter words them: Nominated on each pod ("Pod should schedule on:
 *    node/NAME"; Karpenter names its NodeClaim — we create none, there is no NodeClaim CRD),
 *    FailedScheduling on a pod no pool can take ("Failed to schedule pod, incompatible with
 *    nodepool \"X\", daemonset overhead={...}, <reason>; incompatible with nodepool ..."),
 *    deduplicated per pod until the message changes.
 *
 * Disruption (every second, real time; nodes this provisioner launched or interrupted):
 *  - Drift: the node's karpenter.sh/nodepool-hash differs from its pool's (the hash of
 *    spec.template without the requirements, as Karpenter's), or its labels no longer satisfy
 *    the pool's requirements.
 *  - Consolidation needs a pool with a consolidationPolicy and consolidateAfter other than
 *    "Never", a node whose last pod event (or launch) is consolidateAfter of simulated time
 *    old, no pod nominated to it still unbound (nominations last 20 s), and no node it
 *    replaces still there.
 *    Emptiness: no reschedulable pods (not DaemonSet, not terminal, not terminating): the node
 *    is deleted. Underutilized (WhenEmptyOrUnderutilized; one node a turn, as Karpenter's
 *    single-node consolidation; multi-node consolidation is not simulated): when its pods
 *    fit (requests, node selector, taints; first fit) on the other live nodes launched here,
 *    it is deleted; else, for an on-demand node (spot-to-spot consolidation is off by default
 *    in Karpenter), when the bin-packing of its pods gives one node that is cheaper, that
 *    node is launched and this one replaced.
 *  - Nodes registered with a NodePool's label but not launched here (a scenario's nodes,
 *    --nodepool) are Karpenter's too once their labels no longer satisfy their pool's
 *    requirements: they are adopted then and replaced for RequirementsDrifted (until then
 *    nothing here touches them).
 *  - A launched node whose NodePool is deleted is drained and removed (Karpenter's NodeClaims
 *    are owned by their NodePool).
 *  - Expiration: a launched node older than the pool's expireAfter (simulated time) is
 *    drained and removed, without budgets or replacement first (Karpenter v1: forceful).
 *  - Draining waits for PDBs until the pool's terminationGracePeriod (simulated) is over,
 *    then deletes the pods left, as it does at the end of a spot interruption notice.
 *  - Budgets: spec.disruption.budgets (default nodes "10%"), the most restrictive budget
 *    that applies to the reason (Drifted, Empty; "reasons" unset: all) wins; "P%" is rounded
 *    up against the pool's node count; nodes already disrupting count against it. Budgets
 *    with a schedule are taken as inactive (their windows are not evaluated).
 *
 * A disrupted node's states (node_state):
 *
 *   LIVE ──drift or underutilized replace (replacement launched first for its pods) / empty /
 *          underutilized delete / NodePool deleted / spot interruption──>
 *   DRAINING: karpenter.sh/disrupted:NoSchedule taint + cordon (start_disruption); every
 *     second each reschedulable pod is evicted (policy/v1beta1 Eviction: PDBs honoured; a
 *     429 posts DisruptionBlocked on the node and the pod is retried) — drain_step;
 *     the pods left are deleted once its deadline passes (the 2-minute notice of an
 *     interruption, the pool's terminationGracePeriod)
 *   ──no pod left but DaemonSet or terminal ones──> removed (sim_remove_node: Node + Lease)
 *
 * NodePool status.resources (cpu, memory, pods, ephemeral-storage, nodes: the capacity of the
 * pool's nodes) is patched through the status subresource when it changes. */
#include "base/common.h"
#include "base/json.h"
#include "base/timeutil.h"
#include "kube/nodereq.h"
#include "kube/quantity.h"
#include "sim/karpenter.h"
#include "sim/sim_internal.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#define BATCH_IDLE_MS 1000
#define BATCH_MAX_MS 10000
#define NOMINATION_MS 20000
#define TICK_MS 1000
#define RETRY_FAILED_MS 30000
/* A pod whose eviction a PDB refused is asked again after this long (real time). */
#define EVICT_RETRY_MS 5000
#define EVICT_IN_FLIGHT ((uintptr_t)1)
/* In kp->failed: no FailedScheduling event posted yet (message hashes there are odd). */
#define FAILED_NO_EVENT ((void *)(uintptr_t)2)
#define INTERRUPT_NOTICE_S 120
#define EPHEMERAL_KI 20959212LL /* per node, as sim_node.c registers it */
#define DISRUPTED_TAINT "karpenter.sh/disrupted"

static const char *const zones[] = {"us-east-1a", "us-east-1b", "us-east-1c"};
#define NZONES ((int)KS_ARRAY_LEN(zones))

static const struct kube_resource NODEPOOLS = {"karpenter.sh", "v1", "nodepools", "NodePool",
					       "nodepool", false, ""};
static const struct kube_resource DAEMONSETS = {"apps", "v1", "daemonsets", "DaemonSet",
						"daemonset", true, ""};

/* What Karpenter keeps per instance type: its well-known labels. */
struct type_labels {
	char *k[16], *v[16];
	int n;
};

struct offering {
	const struct cost_instance_type *t;
	size_t ti;   /* index in the catalog */
	int zone;    /* index in zones */
	bool spot;
	double price;
};

struct kp_pool {
	char name[64];
	cJSON *obj; /* the NodePool (a copy) */
	struct kube_nodereq_term reqs;
	/* reqs and what the template implies (karpenter.sh/nodepool, its labels): for telling
	 * whether a pod or DaemonSet could ever land on the pool's nodes */
	struct kube_nodereq_term compat;
	bool valid; /* requirements parsed */
	int weight;
	char hash[24];
	char status[256]; /* status.resources last patched */
	struct offering *offs;
	size_t noffs;
};

enum node_state { NODE_LIVE, NODE_DRAINING };

struct kp_node {
	char pool[64], hash[24], reason[24];
	cJSON *labels; /* the node's labels at launch; NULL when not launched here */
	cJSON *taints; /* spec.taints at launch */
	int64_t last_pod_event_s; /* simulated */
	char replaces[96]; /* launched for the pods of this (drifted) node: not consolidated
			    * while that node is there */
	enum node_state state;
	int64_t launched_s;  /* simulated; 0 when not launched here */
	int64_t deadline_ms; /* when draining stops waiting (interruption notice, the pool's
			      * terminationGracePeriod); 0: never */
};

/* A pod waits for the node launched for it until `until` (real ms), unless that node goes or
 * starts draining first; then it is provisioned again. */
struct nomination {
	int64_t until;
	char node[96];
};

struct eviction {
	struct sim *s;
	char ns[64], pod[256], node[96];
	bool done;
};

struct sim_karpenter {
	struct kube_informer *pools_inf;
	struct ks_map pools;     /* name -> struct kp_pool * */
	struct ks_map pools_dirty; /* names of NodePools added, changed or deleted */
	struct ks_map nodes;     /* node name -> struct kp_node * */
	struct ks_map pending;   /* "ns/name" -> 1: the open batch */
	struct ks_map failed;    /* "ns/name" -> hash of the last FailedScheduling message, or
				  * FAILED_NO_EVENT: pods no pool took, asked again */
	struct ks_map nominated; /* "ns/name" -> struct nomination * */
	struct ks_map evicting;  /* "ns/name" -> EVICT_IN_FLIGHT, or when to ask again (mono ms) */
	struct eviction **ev;
	size_t nev, cap_ev;
	int64_t batch_first_ms, batch_last_ms, next_tick_ms, next_retry_ms;
	unsigned rr;
	struct type_labels *tl; /* per catalog type */
	size_t ntl;
};

/* ---- small helpers ---------------------------------------------------------------------- */

/* Requests come from outside: sums saturate instead of overflowing. */
static int64_t sat_add(int64_t a, int64_t b)
{
	return b > 0 && a > INT64_MAX - b ? INT64_MAX : a + b;
}

/* A quantity (a string, or a number as int-or-string fields allow) in milli-units, >= 0. */
static int64_t qty_milli(const cJSON *v)
{
	struct kube_quantity q;
	if (cJSON_IsNumber(v))
		return v->valuedouble > 0 && v->valuedouble < 9e15 ? (int64_t)(v->valuedouble * 1000)
		       : v->valuedouble > 0 ? INT64_MAX : 0;
	if (!cJSON_IsString(v) || kube_quantity_parse(v->valuestring, strlen(v->valuestring), &q,
						      NULL))
		return 0;
	int64_t m = kube_quantity_milli(&q);
	return m > 0 ? m : 0;
}

/* The pod's effective requests (max of the sum of containers and each init container, plus
 * overhead), in millicores and bytes. */
static void pod_requests(const cJSON *pod, int64_t *cpu_m, int64_t *mem_b)
{
	int64_t cpu = 0, mem = 0, icpu = 0, imem = 0;
	const cJSON *c;
	cJSON_ArrayForEach(c, ks_json_get(pod, "spec.containers"))
	{
		cpu = sat_add(cpu, qty_milli(ks_json_get(c, "resources.requests.cpu")));
		mem = sat_add(mem, qty_milli(ks_json_get(c, "resources.requests.memory")) / 1000);
	}
	cJSON_ArrayForEach(c, ks_json_get(pod, "spec.initContainers"))
	{
		int64_t a = qty_milli(ks_json_get(c, "resources.requests.cpu"));
		int64_t b = qty_milli(ks_json_get(c, "resources.requests.memory")) / 1000;
		icpu = a > icpu ? a : icpu;
		imem = b > imem ? b : imem;
	}
	*cpu_m = sat_add(cpu > icpu ? cpu : icpu, qty_milli(ks_json_get(pod, "spec.overhead.cpu")));
	*mem_b = sat_add(mem > imem ? mem : imem,
			 qty_milli(ks_json_get(pod, "spec.overhead.memory")) / 1000);
}

static const char *controller_kind(const cJSON *pod)
{
	const cJSON *ref;
	cJSON_ArrayForEach(ref, ks_json_get(pod, "metadata.ownerReferences"))
	{
		if (ks_json_bool_or(ref, "controller", false))
			return ks_json_str_or(ref, "kind", "");
	}
	return "";
}

static bool is_daemonset_pod(const cJSON *pod)
{
	return !strcmp(controller_kind(pod), "DaemonSet");
}

/* Counts against a node's emptiness and must be evicted before it goes. */
static bool reschedulable(const cJSON *pod)
{
	const char *phase = ks_json_str_or(pod, "status.phase", "");
	return strcmp(phase, "Succeeded") && strcmp(phase, "Failed") && !is_daemonset_pod(pod) &&
	       !ks_json_child(ks_json_get(pod, "metadata.annotations"), "kubernetes.io/config.mirror");
}

static bool unschedulable(const cJSON *pod)
{
	const cJSON *c;
	cJSON_ArrayForEach(c, ks_json_get(pod, "status.conditions"))
	{
		if (!strcmp(ks_json_str_or(c, "type", ""), "PodScheduled"))
			return !strcmp(ks_json_str_or(c, "status", ""), "False") &&
			       !strcmp(ks_json_str_or(c, "reason", ""), "Unschedulable");
	}
	return false;
}

static char *pod_key(const cJSON *pod)
{
	return ks_asprintf("%s/%s", ks_json_str_or(pod, "metadata.namespace", ""),
			   ks_json_str_or(pod, "metadata.name", ""));
}

static cJSON *get_pod(struct sim *s, const char *key)
{
	const char *slash = strchr(key, '/');
	if (!slash)
		return NULL;
	char ns[256];
	snprintf(ns, sizeof ns, "%.*s", (int)(slash - key), key);
	return kube_informer_get_json(s->pods, ns, slash + 1);
}

/* "5s", "1h30m", "720h"; -1 for "Never" or anything else. */
static int64_t duration_s(const char *d)
{
	if (!d || !*d || !strcmp(d, "Never"))
		return -1;
	int64_t total = 0, n = 0;
	bool digits = false;
	for (const char *p = d; *p; p++) {
		if (*p >= '0' && *p <= '9') {
			if (n > INT64_MAX / 10 - 10)
				return -1;
			n = n * 10 + (*p - '0');
			digits = true;
			continue;
		}
		if (!digits)
			return -1;
		int64_t unit = *p == 's' ? 1 : *p == 'm' ? 60 : *p == 'h' ? 3600 : 0;
		if (!unit)
			return -1;
		total += n * unit;
		n = 0;
		digits = false;
	}
	return digits ? -1 : total;
}

static void event(struct sim *s, const char *kind, const char *ns, const char *name,
		  const char *uid, bool warning, const char *reason, const char *message)
{
	struct sim_event ev = {.kind = kind, .ns = ns, .name = name, .uid = uid, .reason = reason,
			       .message = message, .component = "karpenter", .warning = warning};
	sim_post_event(s, &ev);
}

static void pod_event(struct sim *s, const cJSON *pod, bool warning, const char *reason,
		      const char *message)
{
	event(s, "Pod", ks_json_str_or(pod, "metadata.namespace", "default"),
	      ks_json_str_or(pod, "metadata.name", ""), ks_json_str_or(pod, "metadata.uid", ""),
	      warning, reason, message);
}

static void node_event(struct sim *s, const char *node, bool warning, const char *reason,
		       const char *message)
{
	struct sim_node *n = sim_node_find(s, node);
	event(s, "Node", NULL, node, n ? n->uid : NULL, warning, reason, message);
}

/* ---- labels of an offering ---------------------------------------------------------------- */

struct lctx {
	const struct sim_karpenter *kp;
	const struct kp_pool *pool;
	const struct offering *o;
};

static const char *offer_label(void *ctx, const char *key)
{
	const struct lctx *c = ctx;
	const cJSON *v = ks_json_child(ks_json_get(c->pool->obj, "spec.template.metadata.labels"),
				       key);
	if (cJSON_IsString(v))
		return v->valuestring;
	if (!strcmp(key, "topology.kubernetes.io/zone"))
		return zones[c->o->zone];
	if (!strcmp(key, "karpenter.sh/capacity-type"))
		return c->o->spot ? "spot" : "on-demand";
	if (!strcmp(key, "karpenter.sh/nodepool"))
		return c->pool->name;
	if (!strcmp(key, "kubernetes.io/os"))
		return "linux";
	if (!strcmp(key, "topology.kubernetes.io/region"))
		return "us-east-1";
	if (!strcmp(key, "karpenter.k8s.aws/ec2nodeclass"))
		return ks_json_str_or(c->pool->obj, "spec.template.spec.nodeClassRef.name", "default");
	const struct type_labels *tl = &c->kp->tl[c->o->ti];
	for (int i = 0; i < tl->n; i++)
		if (!strcmp(tl->k[i], key))
			return tl->v[i];
	return NULL;
}

static int add_type_label(const char *key, const char *value, void *ctx)
{
	struct type_labels *tl = ctx;
	if (tl->n < (int)KS_ARRAY_LEN(tl->k)) {
		tl->k[tl->n] = ks_strdup(key);
		tl->v[tl->n++] = ks_strdup(value);
	}
	return 0;
}

/* ---- NodePools ---------------------------------------------------------------------------- */

static void pool_free(struct kp_pool *p)
{
	if (!p)
		return;
	cJSON_Delete(p->obj);
	kube_nodereq_term_free(&p->reqs);
	kube_nodereq_term_free(&p->compat);
	free(p->offs);
	free(p);
}

/* Karpenter's drift hash covers spec.template but its requirements. */
static void template_hash(const cJSON *pool, char *out, size_t len)
{
	cJSON *t = cJSON_Duplicate(ks_json_get(pool, "spec.template"), true);
	cJSON_DeleteItemFromObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(t, "spec"),
						"requirements");
	char *txt = t ? ks_json_print(t) : ks_strdup("");
	snprintf(out, len, "%llu", (unsigned long long)ks_hash(txt, strlen(txt)));
	free(txt);
	cJSON_Delete(t);
}

static void pool_upsert(struct sim *s, const cJSON *obj)
{
	struct sim_karpenter *kp = s->karp;
	const char *name = ks_json_str_or(obj, "metadata.name", "");
	struct kp_pool *p = ks_calloc(1, sizeof *p);
	snprintf(p->name, sizeof p->name, "%s", name);
	p->obj = cJSON_Duplicate(obj, true);
	p->weight = (int)ks_json_int_or(obj, "spec.weight", 0);
	template_hash(obj, p->hash, sizeof p->hash);
	struct ks_err err = {0};
	p->valid = kube_nodereq_parse_list(ks_json_get(obj, "spec.template.spec.requirements"),
					   &p->reqs, &err) == 0;
	if (!p->valid)
		KS_WARN("karpenter", "nodepool %s: %s", name, err.msg);
	cJSON *all = p->valid ? cJSON_Duplicate(ks_json_get(obj, "spec.template.spec.requirements"),
						true) : NULL;
	if (!cJSON_IsArray(all)) {
		cJSON_Delete(all);
		all = cJSON_CreateArray();
	}
	cJSON *implied = cJSON_CreateObject();
	cJSON_AddStringToObject(implied, "karpenter.sh/nodepool", name);
	const cJSON *l;
	cJSON_ArrayForEach(l, ks_json_get(obj, "spec.template.metadata.labels"))
		if (cJSON_IsString(l))
			cJSON_AddStringToObject(implied, l->string, l->valuestring);
	cJSON_ArrayForEach(l, implied)
	{
		cJSON *r = cJSON_CreateObject();
		cJSON_AddStringToObject(r, "key", l->string);
		cJSON_AddStringToObject(r, "operator", "In");
		const char *v[1] = {l->valuestring};
		cJSON_AddItemToObject(r, "values", cJSON_CreateStringArray(v, 1));
		cJSON_AddItemToArray(all, r);
	}
	if (kube_nodereq_parse_list(all, &p->compat, NULL))
		kube_nodereq_term_free(&p->compat);
	cJSON_Delete(implied);
	cJSON_Delete(all);
	struct kp_pool *old = ks_map_put(&kp->pools, name, p);
	if (old)
		snprintf(p->status, sizeof p->status, "%s", old->status);
	pool_free(old);
	size_t cap = 0;
	for (size_t i = 0; p->valid && i < cost_catalog_count(s->cat); i++) {
		const struct cost_instance_type *t = cost_catalog_at(s->cat, i);
		double spot = cost_instance_spot_price(t);
		for (int z = 0; z < NZONES; z++) {
			for (int sp = 0; sp < 2; sp++) {
				if (sp && spot < 0)
					continue;
				struct offering o = {t, i, z, sp == 1, sp ? spot : t->od_price_usd_hr};
				struct lctx c = {kp, p, &o};
				if (!kube_nodereq_term_matches(&p->reqs, offer_label, &c))
					continue;
				p->offs = ks_grow(p->offs, sizeof *p->offs, p->noffs + 1, &cap);
				p->offs[p->noffs++] = o;
			}
		}
	}
	/* A changed pool may take pods it refused before. */
	kp->next_retry_ms = 0;
}

/* Handlers run inside the watch's JSON arena: they only note the name; pools_sync reads the
 * cached object afterwards. */
static void pool_dirty(void *ctx, const cJSON *obj)
{
	struct sim *s = ctx;
	ks_map_put(&s->karp->pools_dirty, ks_json_str_or(obj, "metadata.name", ""), (void *)1);
}

static void on_pool_update(void *ctx, const cJSON *old, const cJSON *obj)
{
	(void)old;
	pool_dirty(ctx, obj);
}

static void pools_sync(struct sim *s)
{
	struct sim_karpenter *kp = s->karp;
	const char *k;
	void *v;
	for (size_t i = 0; ks_map_next(&kp->pools_dirty, &i, &k, &v);) {
		cJSON *obj = kube_informer_get_json(kp->pools_inf, NULL, k);
		if (obj)
			pool_upsert(s, obj);
		else
			pool_free(ks_map_del(&kp->pools, k));
		cJSON_Delete(obj);
	}
	ks_map_release(&kp->pools_dirty);
	ks_map_init(&kp->pools_dirty);
}

static int pool_cmp(const void *a, const void *b)
{
	const struct kp_pool *x = *(struct kp_pool *const *)a, *y = *(struct kp_pool *const *)b;
	if (x->weight != y->weight)
		return x->weight > y->weight ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* The pools by weight, then name; caller frees the array. */
static struct kp_pool **sorted_pools(struct sim_karpenter *kp, size_t *n)
{
	struct kp_pool **ps = ks_calloc(kp->pools.len + 1, sizeof *ps);
	const char *k;
	void *v;
	*n = 0;
	for (size_t i = 0; ks_map_next(&kp->pools, &i, &k, &v);)
		ps[(*n)++] = v;
	qsort(ps, *n, sizeof *ps, pool_cmp);
	return ps;
}

/* ---- capacity, usage and limits ----------------------------------------------------------- */

enum { R_CPU, R_MEM, R_PODS, R_NODES, R_EPH, R_GPU, R_COUNT };
static const char *const res_names[R_COUNT] = {"cpu", "memory", "pods", "nodes",
					       "ephemeral-storage", "nvidia.com/gpu"};

/* Capacity of one node of type t, in milli-units. */
static void capacity(const struct cost_instance_type *t, int64_t out[R_COUNT])
{
	out[R_CPU] = (int64_t)t->vcpu * 1000;
	out[R_MEM] = t->memory_mib * 1024 * 925 / 1000 * 1024 * 1000;
	out[R_PODS] = (int64_t)t->max_pods * 1000;
	out[R_NODES] = 1000;
	out[R_EPH] = EPHEMERAL_KI * 1024 * 1000;
	out[R_GPU] = (int64_t)t->gpu_count * 1000;
}

static void pool_usage(struct sim *s, const char *pool, int64_t out[R_COUNT])
{
	memset(out, 0, sizeof(int64_t) * R_COUNT);
	for (size_t i = 0; i < s->n_nodes; i++) {
		if (strcmp(s->nodes[i].nodepool, pool))
			continue;
		int64_t c[R_COUNT];
		capacity(s->nodes[i].type, c);
		for (int r = 0; r < R_COUNT; r++)
			out[r] += c[r];
	}
}

/* Whether a node of type t keeps the pool within spec.limits given usage. */
static bool within_limits(const struct kp_pool *p, const struct cost_instance_type *t,
			  const int64_t usage[R_COUNT])
{
	const cJSON *limits = ks_json_get(p->obj, "spec.limits"), *l;
	int64_t c[R_COUNT];
	capacity(t, c);
	cJSON_ArrayForEach(l, limits)
	{
		int r;
		for (r = 0; r < R_COUNT; r++)
			if (!strcmp(l->string, res_names[r]))
				break;
		if (r < R_COUNT && usage[r] + c[r] > qty_milli(l))
			return false; /* other resources: our nodes have none */
	}
	return true;
}

/* ---- DaemonSet overhead ------------------------------------------------------------------- */

struct overhead {
	int64_t cpu, mem;
	int pods;
};

/* The requests of the pod template of each DaemonSet that would run on the pool's nodes (as
 * Karpenter computes it): it tolerates the pool's taints and its node selector is compatible
 * with the pool. daemonsets is a DaemonSetList (may be NULL). */
static void ds_overhead(const cJSON *daemonsets, const struct kp_pool *p, struct overhead *out)
{
	memset(out, 0, sizeof *out);
	const cJSON *ds;
	cJSON_ArrayForEach(ds, ks_json_get(daemonsets, "items"))
	{
		const cJSON *pod = ks_json_get(ds, "spec.template");
		bool fits = kube_tolerates_taints(ks_json_get(pod, "spec.tolerations"),
						  ks_json_get(p->obj, "spec.template.spec.taints"),
						  true, NULL);
		struct kube_nodereq_sel sel;
		if (fits && kube_nodereq_from_pod(pod, &sel, NULL) == 0) {
			bool any = sel.nterms == 0;
			for (size_t t = 0; t < sel.nterms && !any; t++)
				any = kube_nodereq_compatible(&p->compat, &sel.terms[t], NULL, 0);
			fits = any;
		} else {
			fits = false;
		}
		kube_nodereq_sel_free(&sel);
		if (fits) {
			int64_t c, m;
			pod_requests(pod, &c, &m);
			out->cpu = sat_add(out->cpu, c);
			out->mem = sat_add(out->mem, m);
			out->pods++;
		}
	}
}

/* ---- the batch: bin-packing onto new nodes ------------------------------------------------ */

struct kp_pod {
	char *key;
	cJSON *pod;
	struct kube_nodereq_sel sel;
	int64_t cpu, mem;
	struct ks_buf why; /* reasons no pool took it */
};

struct claim {
	struct kp_pool *pool;
	struct overhead oh;
	bool *ok; /* per pool offering */
	int64_t cpu, mem;
	int pods;
	size_t *members;
	size_t nmembers;
};

static bool offering_fits(const struct offering *o, const struct overhead *oh, int64_t cpu,
			  int64_t mem, int pods)
{
	const struct cost_instance_type *t = o->t;
	return t->alloc_cpu_millis - oh->cpu >= cpu &&
	       t->alloc_memory_mib * 1024 * 1024 - oh->mem >= mem && t->max_pods - oh->pods >= pods;
}

/* Offerings of the claim (or, with ok NULL, of the pool) that also take pod; the count. */
static size_t narrow(struct sim_karpenter *kp, struct kp_pool *p, const struct overhead *oh,
		     const bool *ok, const struct kp_pod *pod, int64_t cpu, int64_t mem, int pods,
		     bool *out)
{
	size_t n = 0;
	for (size_t j = 0; j < p->noffs; j++) {
		out[j] = false;
		if (ok && !ok[j])
			continue;
		struct lctx c = {kp, p, &p->offs[j]};
		if (!offering_fits(&p->offs[j], oh, cpu, mem, pods) ||
		    !kube_nodereq_sel_matches(&pod->sel, offer_label, &c))
			continue;
		out[j] = true;
		n++;
	}
	return n;
}

static void overhead_json(const struct overhead *oh, char *out, size_t len)
{
	snprintf(out, len, "{\"cpu\":\"%lldm\",\"memory\":\"%lldKi\",\"pods\":\"%d\"}",
		 (long long)oh->cpu, (long long)(oh->mem / 1024), oh->pods);
}

/* Why pool p cannot take pod alone (appended to pod->why, Karpenter's wording). */
static void explain(const struct kp_pool *p, const struct overhead *oh, struct kp_pod *pod)
{
	char ohs[128], why[512] = "";
	overhead_json(oh, ohs, sizeof ohs);
	const cJSON *untol = NULL;
	if (pod->why.len)
		ks_buf_appendstr(&pod->why, "; ");
	ks_buf_appendf(&pod->why, "incompatible with nodepool \"%s\", daemonset overhead=%s, ",
		       p->name, ohs);
	if (!kube_tolerates_taints(ks_json_get(pod->pod, "spec.tolerations"),
				   ks_json_get(p->obj, "spec.template.spec.taints"), true, &untol)) {
		ks_buf_appendf(&pod->why, "did not tolerate %s=%s:%s", ks_json_str_or(untol, "key", ""),
			       ks_json_str_or(untol, "value", ""),
			       ks_json_str_or(untol, "effect", ""));
		return;
	}
	bool compat = pod->sel.nterms == 0;
	for (size_t t = 0; t < pod->sel.nterms && !compat; t++)
		compat = kube_nodereq_compatible(&p->compat, &pod->sel.terms[t], why, sizeof why);
	if (!compat) {
		ks_buf_appendf(&pod->why, "incompatible requirements, %s", why);
		return;
	}
	ks_buf_appendf(&pod->why, "no instance type satisfied resources {\"cpu\":\"%lldm\","
		       "\"memory\":\"%lldKi\",\"pods\":\"1\"} and requirements of the nodepool",
		       (long long)pod->cpu, (long long)(pod->mem / 1024));
}

static void failed_event(struct sim *s, struct kp_pod *pod, const char *msg)
{
	struct sim_karpenter *kp = s->karp;
	char *full = ks_asprintf("Failed to schedule pod, %s", msg);
	uintptr_t h = (uintptr_t)ks_hash(full, strlen(full)) | 1;
	if ((uintptr_t)ks_map_get(&kp->failed, pod->key) != h) {
		pod_event(s, pod->pod, true, "FailedScheduling", full);
		KS_INFO("karpenter", "pod %s: %s", pod->key, full);
	}
	ks_map_put(&kp->failed, pod->key, (void *)h);
	free(full);
}

static int pod_cmp(const void *a, const void *b)
{
	const struct kp_pod *x = a, *y = b;
	if (x->cpu != y->cpu)
		return x->cpu > y->cpu ? -1 : 1;
	if (x->mem != y->mem)
		return x->mem > y->mem ? -1 : 1;
	return strcmp(x->key, y->key);
}

static void node_labels(struct sim_karpenter *kp, const struct kp_pool *p,
			const struct offering *o, cJSON *out)
{
	const cJSON *m;
	const struct type_labels *tl = &kp->tl[o->ti];
	for (int i = 0; i < tl->n; i++)
		cJSON_AddStringToObject(out, tl->k[i], tl->v[i]);
	static const char *const keys[] = {"topology.kubernetes.io/zone", "karpenter.sh/capacity-type",
					   "karpenter.sh/nodepool", "kubernetes.io/os",
					   "topology.kubernetes.io/region",
					   "karpenter.k8s.aws/ec2nodeclass"};
	struct lctx c = {kp, p, o};
	for (size_t i = 0; i < KS_ARRAY_LEN(keys); i++)
		cJSON_AddStringToObject(out, keys[i], offer_label(&c, keys[i]));
	cJSON_ArrayForEach(m, ks_json_get(p->obj, "spec.template.metadata.labels"))
	{
		if (cJSON_IsString(m) && !cJSON_GetObjectItemCaseSensitive(out, m->string))
			cJSON_AddStringToObject(out, m->string, m->valuestring);
	}
}

static struct kp_node *kp_node_get(struct sim *s, const char *name, bool create)
{
	struct kp_node *kn = ks_map_get(&s->karp->nodes, name);
	if (!kn && create) {
		kn = ks_calloc(1, sizeof *kn);
		struct sim_node *n = sim_node_find(s, name);
		snprintf(kn->pool, sizeof kn->pool, "%s", n ? n->nodepool : "");
		kn->last_pod_event_s = sim_time_now(s);
		ks_map_put(&s->karp->nodes, name, kn);
	}
	return kn;
}

static void kp_node_free(struct kp_node *kn)
{
	if (!kn)
		return;
	cJSON_Delete(kn->labels);
	cJSON_Delete(kn->taints);
	free(kn);
}

/* Close a claim: pick the offering, launch the node, nominate the pods. */
/* The offering a claim launches (NULL, with why, when limits or minValues forbid it). */
static const struct offering *choose(struct sim *s, struct claim *c, char *msg, size_t len)
{
	struct sim_karpenter *kp = s->karp;
	struct kp_pool *p = c->pool;
	int64_t usage[R_COUNT];
	pool_usage(s, p->name, usage);
	bool any_spot = false;
	for (size_t j = 0; j < p->noffs; j++)
		any_spot = any_spot || (c->ok[j] && p->offs[j].spot);
	size_t n = 0;
	for (size_t j = 0; j < p->noffs; j++) {
		if (c->ok[j] && any_spot && !p->offs[j].spot)
			c->ok[j] = false;
		if (c->ok[j] && !within_limits(p, p->offs[j].t, usage))
			c->ok[j] = false;
		n += c->ok[j];
	}
	msg[0] = '\0';
	if (!n)
		snprintf(msg, len, "all available instance types exceed limits for nodepool "
			 "\"%s\"", p->name);
	for (size_t r = 0; n && !msg[0] && r < p->reqs.nreqs; r++) {
		const struct kube_nodereq *req = &p->reqs.reqs[r];
		if (!req->min_values)
			continue;
		struct ks_map seen;
		ks_map_init(&seen);
		for (size_t j = 0; j < p->noffs; j++) {
			struct lctx lc = {kp, p, &p->offs[j]};
			const char *v = c->ok[j] ? offer_label(&lc, req->key) : NULL;
			if (v)
				ks_map_put(&seen, v, (void *)1);
		}
		if ((int)seen.len < req->min_values)
			snprintf(msg, len, "incompatible with nodepool \"%s\", minValues "
				 "requirement is not met for label(s) (label(s)=[%s], %zu of %d values)",
				 p->name, req->key, seen.len, req->min_values);
		ks_map_release(&seen);
	}
	if (msg[0])
		return NULL;
	/* The cheapest offering; its zone round robin among the zones offering it. */
	const struct offering *best = NULL;
	for (size_t j = 0; j < p->noffs; j++) {
		const struct offering *o = &p->offs[j];
		if (c->ok[j] && (!best || o->price < best->price ||
				 (o->price == best->price && o->t->vcpu < best->t->vcpu)))
			best = o;
	}
	const struct offering *pick[NZONES];
	int nz = 0;
	for (size_t j = 0; j < p->noffs; j++)
		if (c->ok[j] && p->offs[j].t == best->t && p->offs[j].spot == best->spot)
			pick[nz++] = &p->offs[j];
	return pick[kp->rr++ % (unsigned)nz];
}

static void launch(struct sim *s, struct claim *c, const struct offering *o, struct kp_pod *pods,
		   const char *replaces)
{
	struct sim_karpenter *kp = s->karp;
	struct kp_pool *p = c->pool;
	cJSON *ann = cJSON_CreateObject();
	cJSON_AddStringToObject(ann, "karpenter.sh/nodepool-hash", p->hash);
	cJSON_AddStringToObject(ann, "karpenter.sh/nodepool-hash-version", "v3");
	const cJSON *taints = ks_json_get(p->obj, "spec.template.spec.taints");
	struct sim_node_spec spec = {
		.instance_type = o->t->name, .nodepool = p->name,
		.capacity_type = o->spot ? "spot" : "on-demand", .zone = zones[o->zone],
		.labels = ks_json_get(p->obj, "spec.template.metadata.labels"),
		.annotations = ann, .taints = taints,
	};
	char name[128];
	struct ks_err err = {0};
	int rc = sim_add_node(s, &spec, name, sizeof name, &err);
	cJSON_Delete(ann);
	if (rc) {
		KS_WARN("karpenter", "nodepool %s: launching %s: %s", p->name, o->t->name, err.msg);
		return;
	}
	struct kp_node *kn = kp_node_get(s, name, true);
	kn->launched_s = sim_time_now(s);
	snprintf(kn->hash, sizeof kn->hash, "%s", p->hash);
	kn->labels = cJSON_CreateObject();
	node_labels(kp, p, o, kn->labels);
	kn->taints = cJSON_IsArray(taints) ? cJSON_Duplicate(taints, true) : NULL;
	int64_t until = ks_mono_ms() + NOMINATION_MS;
	snprintf(kn->replaces, sizeof kn->replaces, "%s", replaces ? replaces : "");
	KS_INFO("karpenter", "nodepool %s: launched %s (%s, %s, %s, $%.4f/h) for %zu pod(s)",
		p->name, name, o->t->name, spec.capacity_type, spec.zone, o->price, c->nmembers);
	char *should = ks_asprintf("Pod should schedule on: node/%s", name);
	for (size_t m = 0; m < c->nmembers; m++) {
		struct kp_pod *pod = &pods[c->members[m]];
		pod_event(s, pod->pod, false, "Nominated", should);
		struct nomination *nom = ks_calloc(1, sizeof *nom);
		nom->until = until;
		snprintf(nom->node, sizeof nom->node, "%s", name);
		free(ks_map_put(&kp->nominated, pod->key, nom));
		ks_map_del(&kp->failed, pod->key);
	}
	free(should);
}

/* Claims of a bin-packing. */
struct plan {
	struct claim *claims;
	size_t nclaims;
};

static void plan_release(struct plan *pl)
{
	for (size_t c = 0; c < pl->nclaims; c++) {
		free(pl->claims[c].ok);
		free(pl->claims[c].members);
	}
	free(pl->claims);
	memset(pl, 0, sizeof *pl);
}

/* Bin-pack pods (first-fit decreasing; pods is sorted) onto new nodes. Pods no pool takes get
 * a FailedScheduling event when events is set. */
static void pack(struct sim *s, struct kp_pod *pods, size_t n, bool events, struct plan *pl)
{
	struct sim_karpenter *kp = s->karp;
	size_t npools;
	struct kp_pool **ps = sorted_pools(kp, &npools);
	struct overhead *oh = ks_calloc(npools + 1, sizeof *oh);
	cJSON *daemonsets = NULL;
	struct ks_err err = {0};
	if (npools && kube_list(s->c, &DAEMONSETS, NULL, NULL, &daemonsets, &err))
		KS_WARN("karpenter", "listing DaemonSets (their overhead is left out): %s", err.msg);
	for (size_t i = 0; i < npools; i++)
		ds_overhead(daemonsets, ps[i], &oh[i]);
	cJSON_Delete(daemonsets);
	qsort(pods, n, sizeof *pods, pod_cmp);
	size_t cap = 0;
	memset(pl, 0, sizeof *pl);
	for (size_t i = 0; i < n; i++) {
		struct kp_pod *pod = &pods[i];
		bool placed = false;
		for (size_t c = 0; c < pl->nclaims && !placed; c++) {
			struct claim *cl = &pl->claims[c];
			if (!kube_tolerates_taints(ks_json_get(pod->pod, "spec.tolerations"),
						   ks_json_get(cl->pool->obj, "spec.template.spec.taints"),
						   true, NULL))
				continue;
			bool *ok = ks_calloc(cl->pool->noffs + 1, sizeof *ok);
			int64_t cpu = sat_add(cl->cpu, pod->cpu), mem = sat_add(cl->mem, pod->mem);
			if (narrow(kp, cl->pool, &cl->oh, cl->ok, pod, cpu, mem, cl->pods + 1, ok)) {
				free(cl->ok);
				cl->ok = ok;
				cl->cpu = cpu;
				cl->mem = mem;
				cl->pods++;
				cl->members = ks_realloc(cl->members, (cl->nmembers + 1) * sizeof(size_t));
				cl->members[cl->nmembers++] = i;
				placed = true;
			} else {
				free(ok);
			}
		}
		for (size_t pi = 0; pi < npools && !placed; pi++) {
			struct kp_pool *p = ps[pi];
			bool *ok = ks_calloc(p->noffs + 1, sizeof *ok);
			if (p->valid &&
			    kube_tolerates_taints(ks_json_get(pod->pod, "spec.tolerations"),
						  ks_json_get(p->obj, "spec.template.spec.taints"), true,
						  NULL) &&
			    narrow(kp, p, &oh[pi], NULL, pod, pod->cpu, pod->mem, 1, ok)) {
				pl->claims = ks_grow(pl->claims, sizeof *pl->claims, pl->nclaims + 1, &cap);
				struct claim *cl = &pl->claims[pl->nclaims++];
				*cl = (struct claim){.pool = p, .oh = oh[pi], .ok = ok, .cpu = pod->cpu,
						     .mem = pod->mem, .pods = 1};
				cl->members = ks_calloc(1, sizeof(size_t));
				cl->members[cl->nmembers++] = i;
				placed = true;
			} else {
				free(ok);
				if (events)
					explain(p, &oh[pi], pod);
			}
		}
		if (!placed && npools && events)
			failed_event(s, pod, pod->why.data ? pod->why.data : "no nodepool took it");
		else if (!placed && events && !ks_map_get(&kp->failed, pod->key))
			/* No NodePool yet: no event (Karpenter only logs it), but the pod is
			 * remembered, so the first pool to come (pool_upsert) provisions it. */
			ks_map_put(&kp->failed, pod->key, FAILED_NO_EVENT);
	}
	free(oh);
	free(ps);
}

/* Bin-pack pods onto new nodes and launch them (as replacements of node replaces when not
 * NULL). */
static void provision(struct sim *s, struct kp_pod *pods, size_t n, const char *replaces)
{
	struct plan pl;
	pack(s, pods, n, true, &pl);
	for (size_t c = 0; c < pl.nclaims; c++) {
		struct claim *cl = &pl.claims[c];
		char msg[512];
		const struct offering *o = choose(s, cl, msg, sizeof msg);
		if (o) {
			launch(s, cl, o, pods, replaces);
		} else {
			for (size_t m = 0; m < cl->nmembers; m++)
				failed_event(s, &pods[cl->members[m]], msg);
		}
	}
	plan_release(&pl);
}

/* A pod Karpenter would provision for: see the top of the file. */
static bool provisionable(struct sim_karpenter *kp, const cJSON *pod, const char *key)
{
	if (ks_json_str(pod, "spec.nodeName") || ks_json_get(pod, "metadata.deletionTimestamp") ||
	    !unschedulable(pod) || is_daemonset_pod(pod))
		return false;
	const char *sched = ks_json_str_or(pod, "spec.schedulerName", "default-scheduler");
	if (strcmp(sched, "default-scheduler"))
		return false;
	return !ks_map_get(&kp->nominated, key);
}



static bool pins_a_node(const struct kube_nodereq_sel *sel)
{
	for (size_t t = 0; t < sel->nterms; t++)
		for (size_t r = 0; r < sel->terms[t].nreqs; r++) {
			const char *k = sel->terms[t].reqs[r].key;
			if (!strcmp(k, "kubernetes.io/hostname") || !strcmp(k, "metadata.name"))
				return true;
		}
	return false;
}

/* Turn keys into kp_pods (force: take the pods whatever their state, for a replacement). */
static size_t collect(struct sim *s, char **keys, size_t nkeys, bool force, struct kp_pod **out)
{
	struct kp_pod *pods = ks_calloc(nkeys + 1, sizeof *pods);
	size_t n = 0;
	for (size_t i = 0; i < nkeys; i++) {
		cJSON *pod = get_pod(s, keys[i]);
		if (!pod || (!force && !provisionable(s->karp, pod, keys[i]))) {
			if (!pod || !unschedulable(pod))
				ks_map_del(&s->karp->failed, keys[i]);
			cJSON_Delete(pod);
			continue;
		}
		struct kp_pod *p = &pods[n];
		struct ks_err err = {0};
		ks_buf_init(&p->why, 64 << 10);
		p->key = ks_strdup(keys[i]);
		p->pod = pod;
		if (kube_nodereq_from_pod(pod, &p->sel, &err)) {
			failed_event(s, p, err.msg);
		} else if (!pins_a_node(&p->sel)) {
			pod_requests(pod, &p->cpu, &p->mem);
			n++;
			continue;
		}
		kube_nodereq_sel_free(&p->sel);
		ks_buf_release(&p->why);
		free(p->key);
		cJSON_Delete(pod);
		memset(p, 0, sizeof *p);
	}
	*out = pods;
	return n;
}

static void release_pods(struct kp_pod *pods, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		kube_nodereq_sel_free(&pods[i].sel);
		ks_buf_release(&pods[i].why);
		free(pods[i].key);
		cJSON_Delete(pods[i].pod);
	}
	free(pods);
}

static char **map_keys(const struct ks_map *m, size_t *n)
{
	char **keys = ks_calloc(m->len + 1, sizeof *keys);
	const char *k;
	void *v;
	*n = 0;
	for (size_t i = 0; ks_map_next(m, &i, &k, &v);)
		keys[(*n)++] = ks_strdup(k);
	return keys;
}

static void free_keys(char **keys, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(keys[i]);
	free(keys);
}

static void run_batch(struct sim *s)
{
	struct sim_karpenter *kp = s->karp;
	size_t nkeys;
	char **keys = map_keys(&kp->pending, &nkeys);
	ks_map_release(&kp->pending);
	ks_map_init(&kp->pending);
	kp->batch_first_ms = kp->batch_last_ms = 0;
	struct kp_pod *pods;
	size_t n = collect(s, keys, nkeys, false, &pods);
	if (n) {
		KS_INFO("karpenter", "batch of %zu pending pod(s)", n);
		provision(s, pods, n, NULL);
	}
	release_pods(pods, n);
	free_keys(keys, nkeys);
}

/* ---- pod events --------------------------------------------------------------------------- */

static void queue_pending(struct sim *s, const char *key)
{
	struct sim_karpenter *kp = s->karp;
	if (ks_map_get(&kp->pending, key))
		return;
	ks_map_put(&kp->pending, key, (void *)1);
	int64_t now = ks_mono_ms();
	if (!kp->batch_first_ms)
		kp->batch_first_ms = now;
	kp->batch_last_ms = now;
}

/* Nominations that ran out, or whose node went or is draining: provision those pods again. */
static void expire_nominations(struct sim *s)
{
	struct sim_karpenter *kp = s->karp;
	size_t n;
	char **keys = map_keys(&kp->nominated, &n);
	int64_t now = ks_mono_ms();
	for (size_t i = 0; i < n; i++) {
		struct nomination *nom = ks_map_get(&kp->nominated, keys[i]);
		struct kp_node *kn = kp_node_get(s, nom->node, false);
		if (nom->until > now && sim_node_find(s, nom->node) &&
		    (!kn || kn->state == NODE_LIVE))
			continue;
		free(ks_map_del(&kp->nominated, keys[i]));
		queue_pending(s, keys[i]);
	}
	free_keys(keys, n);
}

static void on_pod(void *ctx, const cJSON *pod, bool deleted)
{
	struct sim *s = ctx;
	struct sim_karpenter *kp = s->karp;
	char *key = pod_key(pod);
	const char *node = ks_json_str(pod, "spec.nodeName");
	if (deleted || node) {
		ks_map_del(&kp->failed, key);
		free(ks_map_del(&kp->nominated, key));
	}
	if (node) {
		struct kp_node *kn = kp_node_get(s, node, false);
		if (kn)
			kn->last_pod_event_s = sim_time_now(s);
	} else if (!deleted && !ks_json_get(pod, "metadata.deletionTimestamp") &&
		   unschedulable(pod) && !is_daemonset_pod(pod)) {
		queue_pending(s, key);
	}
	free(key);
}

static void on_pod_add(void *ctx, const cJSON *pod)
{
	on_pod(ctx, pod, false);
}

static void on_pod_update(void *ctx, const cJSON *old, const cJSON *pod)
{
	(void)old;
	on_pod(ctx, pod, false);
}

static void on_pod_delete(void *ctx, const cJSON *pod)
{
	on_pod(ctx, pod, true);
}

/* ---- disruption ---------------------------------------------------------------------------- */

struct node_pods {
	const struct kube_objstore *st;
	cJSON **pods;
	size_t n, cap;
};

static int visit_pod(void *ctx, const struct kube_objstore *st, uint32_t id)
{
	struct node_pods *np = ctx;
	np->pods = ks_grow(np->pods, sizeof *np->pods, np->n + 1, &np->cap);
	np->pods[np->n++] = kube_objstore_to_cjson(st, id);
	return 0;
}

/* The reschedulable pods bound to node (terminating ones too when with_terminating). */
static size_t node_pods(struct sim *s, const char *node, bool with_terminating, cJSON ***out)
{
	struct node_pods np = {0};
	kube_informer_by_index(s->pods, KUBE_IDX_NODE, node, visit_pod, &np);
	size_t k = 0;
	for (size_t i = 0; i < np.n; i++) {
		cJSON *p = np.pods[i];
		if (p && reschedulable(p) &&
		    (with_terminating || !ks_json_get(p, "metadata.deletionTimestamp")))
			np.pods[k++] = p;
		else
			cJSON_Delete(p);
	}
	*out = np.pods;
	return k;
}

static void free_pods(cJSON **pods, size_t n)
{
	for (size_t i = 0; i < n; i++)
		cJSON_Delete(pods[i]);
	free(pods);
}

/* Nodes allowed to start disrupting now in pool p for reason, by its budgets. */
static int budget_left(struct sim *s, const struct kp_pool *p, const char *reason)
{
	int total = 0, disrupting = 0;
	for (size_t i = 0; i < s->n_nodes; i++) {
		if (strcmp(s->nodes[i].nodepool, p->name))
			continue;
		total++;
		struct kp_node *kn = kp_node_get(s, s->nodes[i].name, false);
		disrupting += kn && kn->state == NODE_DRAINING;
	}
	const cJSON *budgets = ks_json_get(p->obj, "spec.disruption.budgets"), *b;
	int allowed = INT_MAX;
	if (!budgets)
		allowed = (total + 9) / 10; /* nodes: 10% */
	cJSON_ArrayForEach(b, budgets)
	{
		if (ks_json_str(b, "schedule"))
			continue;
		const cJSON *reasons = ks_json_child(b, "reasons"), *r;
		bool applies = !ks_json_len(reasons);
		cJSON_ArrayForEach(r, reasons)
			applies = applies || (cJSON_IsString(r) && !strcmp(r->valuestring, reason));
		if (!applies)
			continue;
		const char *nodes = ks_json_str_or(b, "nodes", "10%");
		long v = strtol(nodes, NULL, 10);
		int a = strchr(nodes, '%') ? (int)((v * total + 99) / 100) : (int)v;
		allowed = a < allowed ? a : allowed;
	}
	return allowed == INT_MAX ? INT_MAX : allowed - disrupting;
}

/* Real ms at which sim_s simulated seconds from now will have passed. */
static int64_t real_deadline(const struct sim *s, int64_t sim_s)
{
	return ks_mono_ms() + (int64_t)((double)sim_s * 1000.0 / s->o.time_scale);
}

static void start_disruption(struct sim *s, const char *node, struct kp_node *kn,
			     const char *reason, const char *how)
{
	kn->state = NODE_DRAINING;
	snprintf(kn->reason, sizeof kn->reason, "%s", reason);
	const struct kp_pool *p = ks_map_get(&s->karp->pools, kn->pool);
	int64_t tgp = p ? duration_s(ks_json_str(p->obj, "spec.template.spec.terminationGracePeriod"))
			: -1;
	if (tgp >= 0)
		kn->deadline_ms = real_deadline(s, tgp);
	cJSON *patch = cJSON_CreateObject();
	cJSON *spec = cJSON_AddObjectToObject(patch, "spec");
	cJSON_AddBoolToObject(spec, "unschedulable", true);
	cJSON *taints = kn->taints ? cJSON_Duplicate(kn->taints, true) : cJSON_CreateArray();
	cJSON *t = cJSON_CreateObject();
	cJSON_AddStringToObject(t, "key", DISRUPTED_TAINT);
	cJSON_AddStringToObject(t, "effect", "NoSchedule");
	cJSON_AddItemToArray(taints, t);
	cJSON_AddItemToObject(spec, "taints", taints);
	char *body = ks_json_print(patch);
	char *path = ks_asprintf("/api/v1/nodes/%s", node);
	sim_send(s, "PATCH", path, "application/merge-patch+json", body);
	free(path);
	free(body);
	cJSON_Delete(patch);
	char *msg = ks_asprintf("Disrupting Node: %s/%s", reason, how);
	node_event(s, node, false, "DisruptionTerminating", msg);
	KS_INFO("karpenter", "node %s: %s", node, msg);
	free(msg);
}

static void evicted(void *ctx, struct kube_http_resp *resp, int rc, const struct ks_err *err)
{
	struct eviction *e = ctx;
	struct sim *s = e->s;
	e->done = true;
	char *key = ks_asprintf("%s/%s", e->ns, e->pod);
	long status = resp ? resp->status : 0;
	if (status == 429 || (err && err->http_status == 429))
		/* Refused by a PodDisruptionBudget: not asked again before EVICT_RETRY_MS. */
		ks_map_put(&s->karp->evicting, key,
			   (void *)(uintptr_t)(ks_mono_ms() + EVICT_RETRY_MS));
	else
		ks_map_del(&s->karp->evicting, key);
	free(key);
	if (!rc || rc == KS_ENOTFOUND)
		return;
	if (rc == KS_EFORBIDDEN) {
		/* On this server a terminating namespace refuses evictions; its deletion removes
		 * the pod anyway. Retried on a later turn. */
		KS_DEBUG("karpenter", "evicting %s/%s: %s", e->ns, e->pod, err ? err->msg : "403");
		return;
	}
	if (status == 429 || (err && err->http_status == 429)) {
		/* A PodDisruptionBudget says no: retried on a later turn. */
		char *msg = ks_asprintf("Cannot disrupt Node: pdb prevents pod evictions "
					"(pod %s/%s: %s)", e->ns, e->pod,
					err ? err->msg : "429 Too Many Requests");
		node_event(s, e->node, false, "DisruptionBlocked", msg);
		KS_INFO("karpenter", "node %s: %s", e->node, msg);
		free(msg);
		return;
	}
	s->st.api_errors++;
	KS_WARN("karpenter", "evicting %s/%s: %s", e->ns, e->pod, err ? err->msg : "failed");
}

static void evict(struct sim *s, const char *node, const cJSON *pod)
{
	struct sim_karpenter *kp = s->karp;
	char *key = pod_key(pod);
	uintptr_t state = (uintptr_t)ks_map_get(&kp->evicting, key);
	if (state == EVICT_IN_FLIGHT || (state && (int64_t)state > ks_mono_ms())) {
		free(key);
		return;
	}
	ks_map_put(&kp->evicting, key, (void *)EVICT_IN_FLIGHT);
	free(key);
	struct eviction *e = ks_calloc(1, sizeof *e);
	e->s = s;
	snprintf(e->ns, sizeof e->ns, "%s", ks_json_str_or(pod, "metadata.namespace", ""));
	snprintf(e->pod, sizeof e->pod, "%s", ks_json_str_or(pod, "metadata.name", ""));
	snprintf(e->node, sizeof e->node, "%s", node);
	kp->ev = ks_grow(kp->ev, sizeof *kp->ev, kp->nev + 1, &kp->cap_ev);
	kp->ev[kp->nev++] = e;
	char *path = ks_asprintf("/api/v1/namespaces/%s/pods/%s/eviction", e->ns, e->pod);
	char *body = ks_asprintf("{\"apiVersion\":\"policy/v1beta1\",\"kind\":\"Eviction\","
				 "\"metadata\":{\"name\":\"%s\",\"namespace\":\"%s\"}}",
				 e->pod, e->ns);
	/* A 429 is a PDB's refusal: reported at once, tried again at the next pass. */
	struct kube_http_req req = {.method = "POST", .path = path, .body = body,
				    .body_len = strlen(body), .no_retry = true};
	kube_http_start(s->c->http, &req, evicted, e);
	free(path);
	free(body);
}

/* Evictions whose answer is in are freed. */
static void reap_evictions(struct sim_karpenter *kp)
{
	size_t k = 0;
	for (size_t i = 0; i < kp->nev; i++) {
		if (kp->ev[i]->done)
			free(kp->ev[i]);
		else
			kp->ev[k++] = kp->ev[i];
	}
	kp->nev = k;
}

/* One turn for a DRAINING node; true when it was removed. */
static bool drain_step(struct sim *s, const char *node, struct kp_node *kn)
{
	cJSON **pods;
	size_t n = node_pods(s, node, true, &pods);
	if (!n) {
		free_pods(pods, n);
		struct ks_err err = {0};
		char name[96];
		snprintf(name, sizeof name, "%s", node);
		if (sim_remove_node(s, name, &err)) {
			KS_WARN("karpenter", "%s", err.msg);
			return false;
		}
		kp_node_free(ks_map_del(&s->karp->nodes, name));
		return true;
	}
	bool overdue = kn->deadline_ms && ks_mono_ms() >= kn->deadline_ms;
	for (size_t i = 0; i < n; i++) {
		if (overdue) {
			/* The instance is gone: nothing waits for PDBs or grace periods. */
			char *path = ks_asprintf("/api/v1/namespaces/%s/pods/%s",
						 ks_json_str_or(pods[i], "metadata.namespace", ""),
						 ks_json_str_or(pods[i], "metadata.name", ""));
			sim_send(s, "DELETE", path, NULL, "{\"gracePeriodSeconds\":0}");
			free(path);
		} else if (!ks_json_get(pods[i], "metadata.deletionTimestamp")) {
			evict(s, node, pods[i]);
		}
	}
	free_pods(pods, n);
	return false;
}

/* Launch replacement capacity for the pods of a node about to be drained. */
static void replace(struct sim *s, const char *node)
{
	cJSON **pods;
	size_t n = node_pods(s, node, false, &pods);
	char **keys = ks_calloc(n + 1, sizeof *keys);
	for (size_t i = 0; i < n; i++)
		keys[i] = pod_key(pods[i]);
	struct kp_pod *kps;
	size_t k = collect(s, keys, n, true, &kps);
	if (k)
		provision(s, kps, k, node);
	release_pods(kps, k);
	free_keys(keys, n);
	free_pods(pods, n);
}

/* Requests of the pods (not terminal) bound to node. */
static void node_used(struct sim *s, const char *node, struct overhead *used)
{
	struct node_pods np = {0};
	kube_informer_by_index(s->pods, KUBE_IDX_NODE, node, visit_pod, &np);
	memset(used, 0, sizeof *used);
	for (size_t i = 0; i < np.n; i++) {
		const char *phase = ks_json_str_or(np.pods[i], "status.phase", "");
		if (np.pods[i] && strcmp(phase, "Succeeded") && strcmp(phase, "Failed")) {
			int64_t c, m;
			pod_requests(np.pods[i], &c, &m);
			used->cpu = sat_add(used->cpu, c);
			used->mem = sat_add(used->mem, m);
			used->pods++;
		}
	}
	free_pods(np.pods, np.n);
}

struct dest {
	const struct kp_node *kn;
	int64_t cpu, mem; /* free */
	int pods;
};

static int json_pod_cmp(const void *a, const void *b)
{
	int64_t ca, cb, ma, mb;
	pod_requests(*(cJSON *const *)a, &ca, &ma);
	pod_requests(*(cJSON *const *)b, &cb, &mb);
	return ca != cb ? (ca > cb ? -1 : 1) : ma != mb ? (ma > mb ? -1 : 1) : 0;
}

/* Whether every pod fits on the other live nodes launched here (first fit, biggest first),
 * by requests, node selector and taints. Sorts pods. */
static bool fits_elsewhere(struct sim *s, const char *node, cJSON **pods, size_t n)
{
	struct dest *d = ks_calloc(s->n_nodes + 1, sizeof *d);
	size_t nd = 0;
	for (size_t i = 0; i < s->n_nodes; i++) {
		const struct sim_node *sn = &s->nodes[i];
		const struct kp_node *kn = kp_node_get(s, sn->name, false);
		if (!strcmp(sn->name, node) || !kn || !kn->labels || kn->state != NODE_LIVE)
			continue;
		struct overhead used;
		node_used(s, sn->name, &used);
		d[nd++] = (struct dest){kn, sn->type->alloc_cpu_millis - used.cpu,
					sn->type->alloc_memory_mib * 1024 * 1024 - used.mem,
					sn->type->max_pods - used.pods};
	}
	qsort(pods, n, sizeof *pods, json_pod_cmp);
	bool all = true;
	for (size_t i = 0; i < n && all; i++) {
		int64_t cpu, mem;
		pod_requests(pods[i], &cpu, &mem);
		struct kube_nodereq_sel sel;
		if (kube_nodereq_from_pod(pods[i], &sel, NULL)) {
			kube_nodereq_sel_free(&sel);
			all = false;
			break;
		}
		bool placed = false;
		for (size_t j = 0; j < nd && !placed; j++) {
			if (d[j].cpu < cpu || d[j].mem < mem || d[j].pods < 1 ||
			    !kube_nodereq_sel_matches_json(&sel, d[j].kn->labels) ||
			    !kube_tolerates_taints(ks_json_get(pods[i], "spec.tolerations"),
						   d[j].kn->taints, true, NULL))
				continue;
			d[j].cpu -= cpu;
			d[j].mem -= mem;
			d[j].pods--;
			placed = true;
		}
		kube_nodereq_sel_free(&sel);
		all = placed;
	}
	free(d);
	return all;
}

static double node_price(const struct sim_node *n)
{
	double spot = cost_instance_spot_price(n->type);
	return !strcmp(n->capacity_type, "spot") && spot >= 0 ? spot : n->type->od_price_usd_hr;
}

/* Single-node consolidation of an underutilized node: delete it when its pods fit on the
 * other nodes, else replace it with one cheaper node (on-demand nodes only: Karpenter's
 * spot-to-spot consolidation is off by default). True when it acted. */
static bool consolidate(struct sim *s, const char *node, struct kp_node *kn, cJSON **pods,
			size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (ks_json_get(pods[i], "metadata.deletionTimestamp"))
			return false; /* still settling */
	if (fits_elsewhere(s, node, pods, n)) {
		start_disruption(s, node, kn, "Underutilized", "Delete");
		return true;
	}
	const struct sim_node *sn = sim_node_find(s, node);
	if (!sn || !strcmp(sn->capacity_type, "spot"))
		return false;
	double price = node_price(sn);
	char **keys = ks_calloc(n + 1, sizeof *keys);
	for (size_t i = 0; i < n; i++)
		keys[i] = pod_key(pods[i]);
	struct kp_pod *kps;
	size_t k = collect(s, keys, n, true, &kps);
	struct plan pl = {0};
	bool acted = false;
	if (k == n)
		pack(s, kps, k, false, &pl);
	if (pl.nclaims == 1 && pl.claims[0].nmembers == k) {
		char msg[512];
		const struct offering *o = choose(s, &pl.claims[0], msg, sizeof msg);
		if (o && o->price < price) {
			launch(s, &pl.claims[0], o, kps, node);
			start_disruption(s, node, kn, "Underutilized", "Replace");
			acted = true;
		}
	}
	plan_release(&pl);
	release_pods(kps, k);
	free_keys(keys, n);
	return acted;
}

static const char *drift_reason(const struct kp_pool *p, const struct kp_node *kn)
{
	if (!kn->labels)
		return NULL;
	if (strcmp(kn->hash, p->hash))
		return "NodePoolDrifted";
	struct kube_nodereq_sel sel = {(struct kube_nodereq_term *)&p->reqs, 1};
	if (p->valid && !kube_nodereq_sel_matches_json(&sel, kn->labels))
		return "RequirementsDrifted";
	return NULL;
}

/* Whether pods nominated to node have yet to bind (Karpenter does not disrupt a node that
 * pods are on their way to). */
static bool awaited(const struct sim_karpenter *kp, const char *node)
{
	const char *k;
	void *v;
	for (size_t i = 0; ks_map_next(&kp->nominated, &i, &k, &v);)
		if (!strcmp(((const struct nomination *)v)->node, node))
			return true;
	return false;
}

/* A node registered with pool's label (not launched here) whose labels no longer satisfy
 * the pool's requirements: adopted as a launched node, so that drift replaces it. */
static struct kp_node *adopt_drifted(struct sim *s, const struct sim_node *sn)
{
	struct kp_pool *p = sn->nodepool[0] ? ks_map_get(&s->karp->pools, sn->nodepool) : NULL;
	if (!p || !p->valid || !sn->type)
		return NULL;
	struct offering o = {.t = sn->type, .ti = SIZE_MAX, .spot = !strcmp(sn->capacity_type, "spot")};
	for (size_t i = 0; i < cost_catalog_count(s->cat) && o.ti == SIZE_MAX; i++)
		if (cost_catalog_at(s->cat, i) == sn->type)
			o.ti = i;
	for (int z = 0; z < NZONES; z++)
		if (!strcmp(zones[z], sn->zone))
			o.zone = z;
	if (o.ti == SIZE_MAX)
		return NULL;
	cJSON *labels = cJSON_CreateObject();
	node_labels(s->karp, p, &o, labels);
	struct kube_nodereq_sel sel = {&p->reqs, 1};
	if (kube_nodereq_sel_matches_json(&sel, labels)) {
		cJSON_Delete(labels);
		return NULL;
	}
	struct kp_node *kn = kp_node_get(s, sn->name, true);
	kn->labels = labels;
	kn->launched_s = sim_time_now(s);
	snprintf(kn->hash, sizeof kn->hash, "%s", p->hash);
	const cJSON *taints = ks_json_get(p->obj, "spec.template.spec.taints");
	kn->taints = cJSON_IsArray(taints) ? cJSON_Duplicate(taints, true) : NULL;
	return kn;
}

static void disruption_tick(struct sim *s)
{
	bool consolidated = false;
	int64_t now_s = sim_time_now(s);
	for (size_t i = 0; i < s->n_nodes; i++) {
		char name[96];
		snprintf(name, sizeof name, "%s", s->nodes[i].name);
		struct kp_node *kn = kp_node_get(s, name, false);
		if (!kn)
			kn = adopt_drifted(s, &s->nodes[i]);
		if (!kn)
			continue;
		if (kn->state == NODE_DRAINING) {
			if (drain_step(s, name, kn))
				i--; /* the last node took its slot */
			continue;
		}
		struct kp_pool *p = ks_map_get(&s->karp->pools, kn->pool);
		if (!p) {
			/* Its NodePool was deleted: Karpenter's NodeClaims go with it. */
			if (kn->labels)
				start_disruption(s, name, kn, "NodePoolDeleted", "Delete");
			continue;
		}
		/* Expiration is forceful in Karpenter v1: no budget, no replacement first. */
		int64_t expire = duration_s(ks_json_str(p->obj, "spec.template.spec.expireAfter"));
		if (kn->launched_s && expire >= 0 && now_s - kn->launched_s >= expire) {
			start_disruption(s, name, kn, "Expired", "Delete");
			continue;
		}
		const char *drift = drift_reason(p, kn);
		if (drift && budget_left(s, p, "Drifted") > 0) {
			char *msg = ks_asprintf("Drifted (%s)", drift);
			node_event(s, name, false, "Drifted", msg);
			free(msg);
			replace(s, name);
			start_disruption(s, name, kn, "Drifted", "Replace");
			continue;
		}
		const char *policy = ks_json_str(p->obj, "spec.disruption.consolidationPolicy");
		int64_t after = duration_s(ks_json_str(p->obj, "spec.disruption.consolidateAfter"));
		if (!policy || after < 0 || awaited(s->karp, name) ||
		    now_s - kn->last_pod_event_s < after ||
		    (kn->replaces[0] && sim_node_find(s, kn->replaces)))
			continue;
		cJSON **pods;
		size_t n = node_pods(s, name, true, &pods);
		if (!n) {
			if (budget_left(s, p, "Empty") > 0)
				start_disruption(s, name, kn, "Empty", "Delete");
		} else if (!consolidated && !strcmp(policy, "WhenEmptyOrUnderutilized") &&
			   budget_left(s, p, "Underutilized") > 0) {
			/* one underutilized node a turn, as Karpenter's single-node consolidation */
			consolidated = consolidate(s, name, kn, pods, n);
		}
		free_pods(pods, n);
	}
}

/* ---- NodePool status ---------------------------------------------------------------------- */

static void status_tick(struct sim *s)
{
	struct sim_karpenter *kp = s->karp;
	const char *k;
	void *v;
	for (size_t i = 0; ks_map_next(&kp->pools, &i, &k, &v);) {
		struct kp_pool *p = v;
		int64_t u[R_COUNT];
		pool_usage(s, p->name, u);
		char res[256];
		snprintf(res, sizeof res, "{\"cpu\":\"%lld\",\"memory\":\"%lldKi\",\"pods\":\"%lld\","
			 "\"ephemeral-storage\":\"%lldKi\",\"nodes\":\"%lld\"}",
			 (long long)(u[R_CPU] / 1000), (long long)(u[R_MEM] / 1000 / 1024),
			 (long long)(u[R_PODS] / 1000), (long long)(u[R_EPH] / 1000 / 1024),
			 (long long)(u[R_NODES] / 1000));
		if (!strcmp(res, p->status))
			continue;
		snprintf(p->status, sizeof p->status, "%s", res);
		char *body = ks_asprintf("{\"status\":{\"resources\":%s}}", res);
		char *path = ks_asprintf("/apis/karpenter.sh/v1/nodepools/%s/status", p->name);
		sim_send(s, "PATCH", path, "application/merge-patch+json", body);
		free(path);
		free(body);
	}
}

/* ---- the API ------------------------------------------------------------------------------ */

int sim_karpenter_start(struct sim *s, struct ks_err *err)
{
	(void)err;
	if (s->karp)
		return 0;
	cJSON *g = NULL;
	struct ks_err e = {0};
	if (kube_get_path(s->c, "/apis/karpenter.sh/v1", &g, &e)) {
		KS_INFO("karpenter", "karpenter.sh/v1 is not served (%s): the provisioner is off",
			e.msg);
		return 0;
	}
	cJSON_Delete(g);
	struct sim_karpenter *kp = ks_calloc(1, sizeof *kp);
	s->karp = kp;
	ks_map_init(&kp->pools);
	ks_map_init(&kp->pools_dirty);
	ks_map_init(&kp->nodes);
	ks_map_init(&kp->pending);
	ks_map_init(&kp->failed);
	ks_map_init(&kp->nominated);
	ks_map_init(&kp->evicting);
	kp->ntl = cost_catalog_count(s->cat);
	kp->tl = ks_calloc(kp->ntl + 1, sizeof *kp->tl);
	for (size_t i = 0; i < kp->ntl; i++)
		cost_instance_labels(cost_catalog_at(s->cat, i), add_type_label, &kp->tl[i]);
	struct kube_watch_opts o = {0};
	kp->pools_inf = kube_informer_new(s->c, &NODEPOOLS, &o);
	struct kube_informer_handlers ph = {.on_add = pool_dirty, .on_update = on_pool_update,
					    .on_delete = pool_dirty, .ctx = s};
	kube_informer_add_handlers(kp->pools_inf, &ph);
	kube_informer_start(kp->pools_inf);
	struct kube_informer_handlers h = {.on_add = on_pod_add, .on_update = on_pod_update,
					   .on_delete = on_pod_delete, .ctx = s};
	kube_informer_add_handlers(s->pods, &h);
	KS_INFO("karpenter", "provisioner on: watching NodePools and pending pods");
	return 0;
}

void sim_karpenter_work(struct sim *s)
{
	struct sim_karpenter *kp = s->karp;
	if (!kp)
		return;
	pools_sync(s);
	int64_t now = ks_mono_ms();
	bool ready = kube_informer_synced(kp->pools_inf) && kube_informer_synced(s->pods);
	if (ready && now >= kp->next_retry_ms) {
		/* Pods that no pool could take, again (pools may have changed). */
		size_t n;
		char **keys = map_keys(&kp->failed, &n);
		for (size_t i = 0; i < n; i++)
			queue_pending(s, keys[i]);
		free_keys(keys, n);
		kp->next_retry_ms = now + RETRY_FAILED_MS;
	}
	if (ready && kp->pending.len &&
	    (now - kp->batch_last_ms >= BATCH_IDLE_MS || now - kp->batch_first_ms >= BATCH_MAX_MS))
		run_batch(s);
	if (ready && now >= kp->next_tick_ms) {
		expire_nominations(s);
		disruption_tick(s);
		status_tick(s);
		reap_evictions(kp);
		kp->next_tick_ms = now + TICK_MS;
	}
}

struct kube_informer *sim_karpenter_informer(struct sim *s)
{
	return s->karp ? s->karp->pools_inf : NULL;
}

int sim_karpenter_interrupt(struct sim *s, const char *node, struct ks_err *err)
{
	struct sim_karpenter *kp = s->karp;
	if (!kp)
		return ks_err_set(err, KS_EUNSUPPORTED, "spot interruption: the Karpenter "
				  "provisioner is off (karpenter.sh/v1 is not served)");
	const struct sim_node *target = NULL;
	if (node) {
		target = sim_node_find(s, node);
		if (!target)
			return ks_err_set(err, KS_ENOTFOUND, "spot interruption: node %s was not "
					  "registered by this simulator", node);
		if (strcmp(target->capacity_type, "spot"))
			return ks_err_set(err, KS_EINVAL, "spot interruption: node %s is %s, not spot",
					  node, target->capacity_type);
	} else {
		size_t n = 0;
		for (size_t i = 0; i < s->n_nodes; i++) {
			struct kp_node *kn = kp_node_get(s, s->nodes[i].name, false);
			n += !strcmp(s->nodes[i].capacity_type, "spot") &&
			     (!kn || kn->state == NODE_LIVE);
		}
		if (!n)
			return ks_err_set(err, KS_ENOTFOUND, "spot interruption: no spot node to "
					  "interrupt");
		size_t pick = (size_t)(sim_rand(s) % n);
		for (size_t i = 0; i < s->n_nodes && !target; i++) {
			struct kp_node *kn = kp_node_get(s, s->nodes[i].name, false);
			if (!strcmp(s->nodes[i].capacity_type, "spot") &&
			    (!kn || kn->state == NODE_LIVE) && pick-- == 0)
				target = &s->nodes[i];
		}
	}
	char name[96];
	snprintf(name, sizeof name, "%s", target->name);
	struct kp_node *kn = kp_node_get(s, name, true);
	if (kn->state == NODE_DRAINING)
		return 0;
	KS_INFO("karpenter", "node %s: spot interruption notice", name);
	node_event(s, name, true, "SpotInterrupted", "Spot interruption warning was triggered");
	start_disruption(s, name, kn, "Interrupted", "Delete");
	int64_t notice = real_deadline(s, INTERRUPT_NOTICE_S);
	if (!kn->deadline_ms || notice < kn->deadline_ms)
		kn->deadline_ms = notice;
	return 0;
}

void sim_karpenter_free(struct sim *s)
{
	struct sim_karpenter *kp = s ? s->karp : NULL;
	if (!kp)
		return;
	kube_informer_free(kp->pools_inf);
	const char *k;
	void *v;
	for (size_t i = 0; ks_map_next(&kp->pools, &i, &k, &v);)
		pool_free(v);
	for (size_t i = 0; ks_map_next(&kp->nodes, &i, &k, &v);)
		kp_node_free(v);
	for (size_t i = 0; ks_map_next(&kp->nominated, &i, &k, &v);)
		free(v);
	ks_map_release(&kp->pools);
	ks_map_release(&kp->pools_dirty);
	ks_map_release(&kp->nodes);
	ks_map_release(&kp->pending);
	ks_map_release(&kp->failed);
	ks_map_release(&kp->nominated);
	ks_map_release(&kp->evicting);
	for (size_t i = 0; i < kp->nev; i++)
		free(kp->ev[i]);
	free(kp->ev);
	for (size_t i = 0; i < kp->ntl; i++)
		for (int j = 0; j < kp->tl[i].n; j++) {
			free(kp->tl[i].k[j]);
			free(kp->tl[i].v[j]);
		}
	free(kp->tl);
	free(kp);
	s->karp = NULL;
}
