/* sim_metrics.c — the simulator's metrics (see sim_metrics.h for names, labels and time).
 *
 * Design: a world (sim_metrics_world) is a compact copy of what the exporters read from the
 * objects: per pod its identity, owner, phase, readiness and per container its resources,
 * state and usage curve; per node its info, labels, resources and conditions; per Service its
 * selector. Rendering is a pure function of (world, t, counter state): a first pass advances
 * the counters of every running container and Service to t, then each family is written in
 * one go, as the text format wants. The same per-series functions write the backfill, series
 * by series over time with counters starting at 0, so live and backfilled values agree.
 *
 * Models (all deterministic functions of the usage curves of usage.h):
 *   CPU: usage is the curve capped at the CPU limit; a container with a limit has
 *     10 CFS periods per second, and in a 10 s step whose demand d exceeds the limit L a
 *     fraction min(1, 0.5 + (d - L) / L) of them is throttled (a bursty demand above its
 *     quota hits it in most periods).
 *   Memory: the working set is the curve capped at the limit; usage_bytes adds 10% of page
 *     cache (capped too); an OOM event is counted each time the curve crosses above the limit
 *     between two evaluations.
 *   HTTP: a Service's request rate is a usage curve seeded by "namespace/name" with a mean of
 *     SIM_METRICS_BASE_RPS, daily amplitude 0.5 peaking at 15:00 UTC, 10% noise; requests in
 *     [a, b) are its integral (sim_usage_cpu_seconds_total of a curve in "milli-requests").
 *     Backends are the pods its selector matches in its namespace (not terminating): with no
 *     ready one every request is a 503 answered in 1 ms; else a fraction 0.001 + 0.5 * bad /
 *     backends is 500, bad being those not ready or crash-looping. Latency is log-normal,
 *     sigma 0.5, median 25 ms / (1 - min(p, 0.95)), times p when p > 1, p being the mean CPU
 *     pressure of the ready backends' containers (usage / limit, else usage / request, else
 *     0.3). Histogram and counters hold fractional requests internally and show their floor,
 *     which stays monotone.
 *
 * Threads: sim_metrics_tick renders in the simulator's loop into a fresh buffer and swaps it
 * in under the mutex; libmicrohttpd's thread only copies the latest snapshot out. */
#include "base/common.h"
#include "sim/sim_metrics.h"

#include "base/hashmap.h"
#include "base/json.h"
#include "base/promtext.h"
#include "base/timeutil.h"
#include "kube/quantity.h"
#include "sim/sim_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define MIB (1024.0 * 1024.0)
#define CFS_PERIOD_US 100000
#define PERIODS_PER_S 10.0
#define PAGE_CACHE 0.10
#define LAT_MEDIAN_S 0.025
#define LAT_SIGMA 0.5
#define FAST_503_S 0.001

static const double http_buckets[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
#define NB KS_ARRAY_LEN(http_buckets)

/* ---- the world ---- */

#define NODE_INFO_LABELS 9

struct cview {
	char *name, *image;
	char *cid;       /* containerd ID (no scheme) when running, else NULL */
	char *waiting;   /* state.waiting.reason or NULL */
	char *last_term; /* lastState.terminated.reason or NULL */
	double req_cpu, lim_cpu, req_mem, lim_mem; /* cores, bytes; < 0 when unset */
	int64_t restarts;
	int64_t started_s; /* state.running.startedAt (real Unix s) */
	struct sim_usage_curve curve;
	char *lbl[2]; /* cAdvisor's label set, formatted once: [1] with cpu="total" */
};

struct oref {
	char *kind, *name;
	bool controller;
};

struct pview {
	char *ns, *name, *uid, *node, *phase, *host_ip, *pod_ip, *priority_class;
	char *cgroup; /* the pod's cgroup (cAdvisor's id) */
	bool host_network, ready, deleting, crashloop;
	struct oref *owners;
	size_t nowners;
	cJSON *labels;
	struct cview *c;
	size_t nc;
	char *lbl[2]; /* the pod cgroup's cAdvisor labels, [1] with cpu="total" */
};

struct nres {
	char *resource;
	const char *unit;
	double v;
};

struct nview {
	char *name;
	char *info[NODE_INFO_LABELS]; /* kube_node_info's values, in node_info_labels order */
	struct ks_prom_label *labels; /* kube_node_labels: owned names and values */
	size_t nlabels;
	struct nres *cap, *alloc;
	size_t ncap, nalloc;
	char **cond_type, **cond_status;
	size_t nconds;
};

struct sview {
	char *ns, *name;
	char **keys, **vals;
	size_t nsel;
	struct sim_usage_curve rate;
};

struct sim_metrics_world {
	sim_metrics_curve_fn curve;
	void *ctx;
	struct sim_clock clock;
	bool has_clock;
	struct pview *pods;
	size_t npods, cappods;
	struct nview *nodes;
	size_t nnodes, capnodes;
	struct sview *svcs;
	size_t nsvcs, capsvcs;
};

static char *dup_str(const cJSON *o, const char *path, const char *def)
{
	const char *s = ks_json_str(o, path);
	return s ? ks_strdup(s) : def ? ks_strdup(def) : NULL;
}

static double quantity(const cJSON *o, const char *path, bool cores)
{
	const char *v = ks_json_str(o, path);
	struct kube_quantity q;
	if (!v || kube_quantity_parse(v, strlen(v), &q, NULL))
		return -1;
	return cores ? (double)kube_quantity_milli(&q) / 1000.0 : (double)kube_quantity_value(&q);
}

struct sim_metrics_world *sim_metrics_world_new(sim_metrics_curve_fn curve, void *ctx)
{
	struct sim_metrics_world *w = ks_calloc(1, sizeof *w);
	w->curve = curve;
	w->ctx = ctx;
	return w;
}

/* The simulated clock, to place containers' real start times in simulated time. Without
 * one, simulated time is real time. */
static void world_set_clock(struct sim_metrics_world *w, const struct sim_clock *c)
{
	w->clock = *c;
	w->has_clock = true;
}

static void pview_release(struct pview *p)
{
	free(p->ns);
	free(p->name);
	free(p->uid);
	free(p->node);
	free(p->phase);
	free(p->host_ip);
	free(p->pod_ip);
	free(p->priority_class);
	free(p->cgroup);
	for (size_t i = 0; i < p->nowners; i++) {
		free(p->owners[i].kind);
		free(p->owners[i].name);
	}
	free(p->owners);
	cJSON_Delete(p->labels);
	free(p->lbl[0]);
	free(p->lbl[1]);
	for (size_t i = 0; i < p->nc; i++) {
		struct cview *c = &p->c[i];
		free(c->lbl[0]);
		free(c->lbl[1]);
		free(c->name);
		free(c->image);
		free(c->cid);
		free(c->waiting);
		free(c->last_term);
	}
	free(p->c);
}

static void nview_release(struct nview *n)
{
	free(n->name);
	for (size_t i = 0; i < KS_ARRAY_LEN(n->info); i++)
		free(n->info[i]);
	for (size_t i = 0; i < n->nlabels; i++) {
		free((char *)n->labels[i].name);
		free((char *)n->labels[i].value);
	}
	free(n->labels);
	for (size_t i = 0; i < n->ncap; i++)
		free(n->cap[i].resource);
	for (size_t i = 0; i < n->nalloc; i++)
		free(n->alloc[i].resource);
	free(n->cap);
	free(n->alloc);
	for (size_t i = 0; i < n->nconds; i++) {
		free(n->cond_type[i]);
		free(n->cond_status[i]);
	}
	free(n->cond_type);
	free(n->cond_status);
}

void sim_metrics_world_free(struct sim_metrics_world *w)
{
	if (!w)
		return;
	for (size_t i = 0; i < w->npods; i++)
		pview_release(&w->pods[i]);
	for (size_t i = 0; i < w->nnodes; i++)
		nview_release(&w->nodes[i]);
	for (size_t i = 0; i < w->nsvcs; i++) {
		struct sview *s = &w->svcs[i];
		for (size_t k = 0; k < s->nsel; k++) {
			free(s->keys[k]);
			free(s->vals[k]);
		}
		free(s->keys);
		free(s->vals);
		free(s->ns);
		free(s->name);
	}
	free(w->pods);
	free(w->nodes);
	free(w->svcs);
	free(w);
}

static const cJSON *status_of(const cJSON *pod, const char *name)
{
	const cJSON *st;
	cJSON_ArrayForEach(st, ks_json_get(pod, "status.containerStatuses"))
	{
		if (!strcmp(ks_json_str_or(st, "name", ""), name))
			return st;
	}
	return NULL;
}

/* The cgroup path of a pod under the systemd driver (cgroup v2, containerd: EKS AL2023). */
static char *pod_cgroup(const char *qos, const char *uid)
{
	char u[80];
	snprintf(u, sizeof u, "%s", uid);
	for (char *p = u; *p; p++)
		if (*p == '-')
			*p = '_';
	if (!strcmp(qos, "Guaranteed"))
		return ks_asprintf("/kubepods.slice/kubepods-pod%s.slice", u);
	const char *cls = !strcmp(qos, "BestEffort") ? "besteffort" : "burstable";
	return ks_asprintf("/kubepods.slice/kubepods-%s.slice/kubepods-%s-pod%s.slice", cls, cls,
			   u);
}

/* The container's start in simulated time, at most SIM_METRICS_MAX_LOOKBACK_S before t.
 * Before the simulator started, time ran at real speed. */
static int64_t sim_start_of(const struct sim_metrics_world *w, const struct cview *c, int64_t t)
{
	int64_t s = c->started_s;
	if (w->has_clock) {
		int64_t real_start_s = w->clock.real_start_ms / 1000;
		if (c->started_s >= real_start_s)
			s = sim_clock_now(&w->clock, c->started_s * 1000);
		else
			s = w->clock.sim_start_s - (real_start_s - c->started_s);
	}
	if (s < t - SIM_METRICS_MAX_LOOKBACK_S)
		s = t - SIM_METRICS_MAX_LOOKBACK_S;
	return s > t ? t : s;
}

static size_t clabels(struct ks_prom_label *l, const struct pview *p, const struct cview *c,
		      bool cpu, char *id, size_t idlen);

/* The label sets a render and a backfill write for every sample: validated once. NULL when a
 * value is not valid UTF-8 (the API server sends none); the sample is then written with
 * ks_prom_sample, whose error names the label. */
static void format_labels(const struct pview *p, const struct cview *c, char *out[2])
{
	char id[512];
	struct ks_prom_label l[8];
	for (int cpu = 0; cpu < 2; cpu++) {
		size_t n = clabels(l, p, c, cpu, id, sizeof id);
		struct ks_buf b;
		ks_buf_init(&b, KS_BUF_UNLIMITED);
		out[cpu] = ks_prom_labels_format(l, n, &b, NULL) ? NULL : ks_buf_detach(&b);
		ks_buf_release(&b);
	}
}

void sim_metrics_world_add_pod(struct sim_metrics_world *w, const cJSON *pod)
{
	w->pods = ks_grow(w->pods, sizeof *w->pods, w->npods + 1, &w->cappods);
	struct pview *p = &w->pods[w->npods++];
	memset(p, 0, sizeof *p);
	p->ns = dup_str(pod, "metadata.namespace", "");
	p->name = dup_str(pod, "metadata.name", "");
	p->uid = dup_str(pod, "metadata.uid", "");
	p->node = dup_str(pod, "spec.nodeName", "");
	p->phase = dup_str(pod, "status.phase", "Pending");
	p->host_ip = dup_str(pod, "status.hostIP", "");
	p->pod_ip = dup_str(pod, "status.podIP", "");
	p->priority_class = dup_str(pod, "spec.priorityClassName", "");
	p->cgroup = pod_cgroup(ks_json_str_or(pod, "status.qosClass", "Burstable"), p->uid);
	p->host_network = ks_json_bool_or(pod, "spec.hostNetwork", false);
	p->deleting = ks_json_str(pod, "metadata.deletionTimestamp") != NULL;
	const cJSON *cond;
	cJSON_ArrayForEach(cond, ks_json_get(pod, "status.conditions"))
	{
		if (!strcmp(ks_json_str_or(cond, "type", ""), "Ready"))
			p->ready = !strcmp(ks_json_str_or(cond, "status", ""), "True");
	}
	const cJSON *labels = ks_json_get(pod, "metadata.labels");
	p->labels = cJSON_IsObject(labels) ? cJSON_Duplicate(labels, true) : cJSON_CreateObject();
	const cJSON *refs = ks_json_get(pod, "metadata.ownerReferences");
	size_t cap = 0;
	const cJSON *ref;
	cJSON_ArrayForEach(ref, refs)
	{
		p->owners = ks_grow(p->owners, sizeof *p->owners, p->nowners + 1, &cap);
		struct oref *o = &p->owners[p->nowners++];
		o->kind = dup_str(ref, "kind", "");
		o->name = dup_str(ref, "name", "");
		o->controller = ks_json_bool_or(ref, "controller", false);
	}
	const cJSON *ctrs = ks_json_get(pod, "spec.containers");
	size_t n = (size_t)ks_json_len(ctrs);
	p->c = ks_calloc(n ? n : 1, sizeof *p->c);
	const cJSON *c;
	cJSON_ArrayForEach(c, ctrs)
	{
		if (p->nc >= n)
			break;
		struct cview *v = &p->c[p->nc++];
		const char *name = ks_json_str_or(c, "name", "");
		v->name = ks_strdup(name);
		v->image = dup_str(c, "image", "");
		v->req_cpu = quantity(c, "resources.requests.cpu", true);
		v->lim_cpu = quantity(c, "resources.limits.cpu", true);
		v->req_mem = quantity(c, "resources.requests.memory", false);
		v->lim_mem = quantity(c, "resources.limits.memory", false);
		/* The API server defaults requests to limits when only limits are set. */
		if (v->req_cpu < 0 && v->lim_cpu >= 0)
			v->req_cpu = v->lim_cpu;
		if (v->req_mem < 0 && v->lim_mem >= 0)
			v->req_mem = v->lim_mem;
		const cJSON *st = status_of(pod, name);
		v->restarts = ks_json_int_or(st, "restartCount", 0);
		v->waiting = dup_str(st, "state.waiting.reason", NULL);
		v->last_term = dup_str(st, "lastState.terminated.reason", NULL);
		if (v->waiting && !strcmp(v->waiting, "CrashLoopBackOff"))
			p->crashloop = true;
		const char *cid = ks_json_str(st, "containerID");
		const char *started = ks_json_str(st, "state.running.startedAt");
		int64_t ns;
		if (cid && started && !ks_time_parse_rfc3339(started, strlen(started), &ns, NULL)) {
			const char *sep = strstr(cid, "://");
			v->cid = ks_strdup(sep ? sep + 3 : cid);
			v->started_s = ns / 1000000000;
		}
		w->curve(w->ctx, pod, name, &v->curve);
		if (v->cid)
			format_labels(p, v, v->lbl);
	}
	format_labels(p, NULL, p->lbl);
}

/* kube_node_info's labels and where they come from. */
static const char *const node_info_labels[NODE_INFO_LABELS] = {
	"container_runtime_version", "internal_ip",  "kernel_version", "kube_proxy_version",
	"kubelet_version",           "os_image",     "pod_cidr",       "provider_id",
	"system_uuid",
};

/* kube-state-metrics's label sanitizing: anything but [a-zA-Z0-9_] becomes '_'. */
static char *sanitize(const char *prefix, const char *s)
{
	char *out = ks_asprintf("%s%s", prefix, s);
	for (char *p = out + strlen(prefix); *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_'))
			*p = '_';
	return out;
}

static bool label_allowed(const char *key)
{
	return !strncmp(key, "karpenter.sh/", 13) || !strncmp(key, "karpenter.k8s.aws/", 18) ||
	       !strcmp(key, "node.kubernetes.io/instance-type") ||
	       !strcmp(key, "topology.kubernetes.io/zone");
}

static void node_resources(const cJSON *list, struct nres **out, size_t *n)
{
	size_t cap = 0;
	const cJSON *r;
	cJSON_ArrayForEach(r, list)
	{
		if (!cJSON_IsString(r) || !r->string)
			continue;
		bool cpu = !strcmp(r->string, "cpu");
		bool bytes = !strcmp(r->string, "memory") ||
			     !strcmp(r->string, "ephemeral-storage") ||
			     !strncmp(r->string, "hugepages-", 10);
		struct kube_quantity q;
		if (kube_quantity_parse(r->valuestring, strlen(r->valuestring), &q, NULL))
			continue;
		*out = ks_grow(*out, sizeof **out, *n + 1, &cap);
		struct nres *x = &(*out)[(*n)++];
		x->resource = sanitize("", r->string);
		x->unit = cpu ? "core" : bytes ? "byte" : "integer";
		x->v = cpu ? (double)kube_quantity_milli(&q) / 1000.0 : (double)kube_quantity_value(&q);
	}
}

void sim_metrics_world_add_node(struct sim_metrics_world *w, const cJSON *node)
{
	w->nodes = ks_grow(w->nodes, sizeof *w->nodes, w->nnodes + 1, &w->capnodes);
	struct nview *n = &w->nodes[w->nnodes++];
	memset(n, 0, sizeof *n);
	n->name = dup_str(node, "metadata.name", "");
	const char *ip = "";
	const cJSON *a;
	cJSON_ArrayForEach(a, ks_json_get(node, "status.addresses"))
	{
		if (!strcmp(ks_json_str_or(a, "type", ""), "InternalIP"))
			ip = ks_json_str_or(a, "address", "");
	}
	const char *src[NODE_INFO_LABELS] = {
		ks_json_str_or(node, "status.nodeInfo.containerRuntimeVersion", ""),
		ip,
		ks_json_str_or(node, "status.nodeInfo.kernelVersion", ""),
		ks_json_str_or(node, "status.nodeInfo.kubeProxyVersion", ""),
		ks_json_str_or(node, "status.nodeInfo.kubeletVersion", ""),
		ks_json_str_or(node, "status.nodeInfo.osImage", ""),
		ks_json_str_or(node, "spec.podCIDR", ""),
		ks_json_str_or(node, "spec.providerID", ""),
		ks_json_str_or(node, "status.nodeInfo.systemUUID", ""),
	};
	for (size_t i = 0; i < KS_ARRAY_LEN(src); i++)
		n->info[i] = ks_strdup(src[i]);
	size_t cap = 0;
	const cJSON *l;
	cJSON_ArrayForEach(l, ks_json_get(node, "metadata.labels"))
	{
		if (!cJSON_IsString(l) || !l->string || !label_allowed(l->string))
			continue;
		/* Two keys may sanitize to one name ("a.b", "a_b"): the first wins. */
		char *name = sanitize("label_", l->string);
		bool dup = false;
		for (size_t k = 0; k < n->nlabels && !dup; k++)
			dup = !strcmp(n->labels[k].name, name);
		if (dup) {
			free(name);
			continue;
		}
		n->labels = ks_grow(n->labels, sizeof *n->labels, n->nlabels + 2, &cap);
		n->labels[n->nlabels].name = name;
		n->labels[n->nlabels].value = ks_strdup(l->valuestring);
		n->nlabels++;
	}
	node_resources(ks_json_get(node, "status.capacity"), &n->cap, &n->ncap);
	node_resources(ks_json_get(node, "status.allocatable"), &n->alloc, &n->nalloc);
	size_t nc = (size_t)ks_json_len(ks_json_get(node, "status.conditions"));
	n->cond_type = ks_calloc(nc + 1, sizeof *n->cond_type);
	n->cond_status = ks_calloc(nc + 1, sizeof *n->cond_status);
	const cJSON *c;
	cJSON_ArrayForEach(c, ks_json_get(node, "status.conditions"))
	{
		if (n->nconds >= nc)
			break;
		n->cond_type[n->nconds] = dup_str(c, "type", "");
		n->cond_status[n->nconds] = dup_str(c, "status", "Unknown");
		n->nconds++;
	}
}

void sim_metrics_world_add_service(struct sim_metrics_world *w, const cJSON *svc)
{
	const cJSON *sel = ks_json_get(svc, "spec.selector");
	/* Without a selector (or ExternalName) the Service has no backends we can judge. */
	if (!cJSON_IsObject(sel) || !sel->child ||
	    !strcmp(ks_json_str_or(svc, "spec.type", ""), "ExternalName"))
		return;
	w->svcs = ks_grow(w->svcs, sizeof *w->svcs, w->nsvcs + 1, &w->capsvcs);
	struct sview *s = &w->svcs[w->nsvcs++];
	memset(s, 0, sizeof *s);
	s->ns = dup_str(svc, "metadata.namespace", "");
	s->name = dup_str(svc, "metadata.name", "");
	size_t n = (size_t)cJSON_GetArraySize(sel);
	s->keys = ks_calloc(n, sizeof *s->keys);
	s->vals = ks_calloc(n, sizeof *s->vals);
	const cJSON *kv;
	cJSON_ArrayForEach(kv, sel)
	{
		if (!kv->string || s->nsel >= n)
			continue;
		s->keys[s->nsel] = ks_strdup(kv->string);
		s->vals[s->nsel] = ks_strdup(cJSON_IsString(kv) ? kv->valuestring : "");
		s->nsel++;
	}
	char *key = ks_asprintf("%s/%s", s->ns, s->name);
	s->rate = (struct sim_usage_curve){
		.base_cpu_m = SIM_METRICS_BASE_RPS * 1000.0,
		.daily_amp = 0.5,
		.peak_hour = 15,
		.noise = 0.1,
		.seed = ks_hash(key, strlen(key)),
	};
	free(key);
}

/* ---- counters ---- */

struct cstate {
	double cpu_s, periods, throttled, oom;
	bool over;
	int64_t t;
	unsigned gen;
};

struct sstate {
	double req[3]; /* 200, 500, 503 */
	double bucket[NB + 1]; /* per bucket, not cumulative; the last one above 10 s */
	double sum;
	int64_t t;
	unsigned gen;
};

struct pstate {
	double cpu_s;
	unsigned gen;
};

struct sim_metrics {
	struct ks_map cstates, pstates, sstates;
	unsigned gen;
	pthread_mutex_t mu;
	char *snap; /* latest exposition, NULL before the first */
	size_t snap_len;
	struct MHD_Daemon *d;
	int64_t next_ms;
};

struct sim_metrics *sim_metrics_new(void)
{
	struct sim_metrics *m = ks_calloc(1, sizeof *m);
	ks_map_init(&m->cstates);
	ks_map_init(&m->pstates);
	ks_map_init(&m->sstates);
	pthread_mutex_init(&m->mu, NULL);
	return m;
}

static void free_values(struct ks_map *map)
{
	const char *k;
	void *v;
	for (size_t i = 0; ks_map_next(map, &i, &k, &v);)
		free(v);
	ks_map_release(map);
}

void sim_metrics_free(struct sim_metrics *m)
{
	if (!m)
		return;
	if (m->d)
		MHD_stop_daemon(m->d);
	free_values(&m->cstates);
	free_values(&m->pstates);
	free_values(&m->sstates);
	pthread_mutex_destroy(&m->mu);
	free(m->snap);
	free(m);
}

static int64_t floordiv(int64_t a, int64_t b)
{
	int64_t q = a / b;
	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static double throttle_frac(double ratio)
{
	double f = 0.5 + (ratio - 1.0);
	return f > 1 ? 1 : f;
}

static double mem_demand(const struct cview *c, int64_t t)
{
	return sim_usage_mem_mib(&c->curve, t) * MIB;
}

/* Advance a container's counters to t; returns the CPU seconds added. */
static double advance_container(const struct cview *c, struct cstate *st, int64_t t)
{
	if (t <= st->t)
		return 0;
	double before = st->cpu_s;
	if (c->lim_cpu > 0) {
		double lim_m = c->lim_cpu * 1000.0;
		for (int64_t s = st->t; s < t;) {
			int64_t k = floordiv(s, SIM_USAGE_CPU_STEP_S);
			int64_t end = (k + 1) * SIM_USAGE_CPU_STEP_S;
			if (end > t)
				end = t;
			double v = sim_usage_cpu_m(&c->curve, k * SIM_USAGE_CPU_STEP_S);
			double dt = (double)(end - s);
			st->cpu_s += (v < lim_m ? v : lim_m) * dt / 1000.0;
			st->periods += dt * PERIODS_PER_S;
			if (v > lim_m)
				st->throttled += dt * PERIODS_PER_S * throttle_frac(v / lim_m);
			s = end;
		}
	} else {
		st->cpu_s += sim_usage_cpu_seconds_total(&c->curve, st->t, t);
	}
	bool over = c->lim_mem > 0 && mem_demand(c, t) > c->lim_mem;
	if (over && !st->over)
		st->oom += 1;
	st->over = over;
	st->t = t;
	return st->cpu_s - before;
}

/* The cAdvisor families, in the order they are written. */
enum cfam {
	CF_CPU,
	CF_WS,
	CF_USAGE,
	CF_PERIODS,
	CF_THROTTLED,
	CF_OOM,
	CF_MEMLIM,
	CF_QUOTA,
	CF_PERIOD,
	CF_COUNT
};

static const struct {
	const char *name;
	enum ks_prom_type type;
	const char *help;
	bool pod_level;  /* also written for the pod's cgroup */
	bool need_limit; /* only for containers with a CPU limit */
} cfams[CF_COUNT] = {
	[CF_CPU] = {"container_cpu_usage_seconds_total", KS_PROM_COUNTER,
		    "Cumulative cpu time consumed in seconds.", true, false},
	[CF_WS] = {"container_memory_working_set_bytes", KS_PROM_GAUGE,
		   "Current working set in bytes.", true, false},
	[CF_USAGE] = {"container_memory_usage_bytes", KS_PROM_GAUGE,
		      "Current memory usage in bytes, including all memory regardless of when it "
		      "was accessed",
		      true, false},
	[CF_PERIODS] = {"container_cpu_cfs_periods_total", KS_PROM_COUNTER,
			"Number of elapsed enforcement period intervals.", false, true},
	[CF_THROTTLED] = {"container_cpu_cfs_throttled_periods_total", KS_PROM_COUNTER,
			  "Number of throttled period intervals.", false, true},
	[CF_OOM] = {"container_oom_events_total", KS_PROM_COUNTER,
		    "Count of out of memory events observed for the container", false, false},
	[CF_MEMLIM] = {"container_spec_memory_limit_bytes", KS_PROM_GAUGE,
		       "Memory limit for the container.", false, false},
	[CF_QUOTA] = {"container_spec_cpu_quota", KS_PROM_GAUGE, "CPU quota of the container.",
		      false, true},
	[CF_PERIOD] = {"container_spec_cpu_period", KS_PROM_GAUGE, "CPU period of the container.",
		       false, false},
};

static double working_set(const struct cview *c, int64_t t)
{
	double d = mem_demand(c, t);
	return c->lim_mem > 0 && d > c->lim_mem ? c->lim_mem : d;
}

static double cvalue(enum cfam f, const struct cview *c, const struct cstate *st, int64_t t)
{
	double ws;
	switch (f) {
	case CF_CPU:
		return st->cpu_s;
	case CF_WS:
		return floor(working_set(c, t));
	case CF_USAGE:
		ws = working_set(c, t) * (1 + PAGE_CACHE);
		return floor(c->lim_mem > 0 && ws > c->lim_mem ? c->lim_mem : ws);
	case CF_PERIODS:
		return floor(st->periods);
	case CF_THROTTLED:
		return floor(st->throttled);
	case CF_OOM:
		return st->oom;
	case CF_MEMLIM:
		return c->lim_mem > 0 ? c->lim_mem : 0;
	case CF_QUOTA:
		return floor(c->lim_cpu * CFS_PERIOD_US);
	case CF_PERIOD:
		return CFS_PERIOD_US;
	case CF_COUNT:
		break;
	}
	return 0;
}

/* cAdvisor's labels for a container (c) or for the pod's cgroup (c NULL). id needs room. */
static size_t clabels(struct ks_prom_label *l, const struct pview *p, const struct cview *c,
		      bool cpu, char *id, size_t idlen)
{
	size_t n = 0;
	if (c)
		snprintf(id, idlen, "%s/cri-containerd-%s.scope", p->cgroup, c->cid);
	else
		snprintf(id, idlen, "%s", p->cgroup);
	l[n++] = (struct ks_prom_label){"container", c ? c->name : ""};
	if (cpu)
		l[n++] = (struct ks_prom_label){"cpu", "total"};
	l[n++] = (struct ks_prom_label){"id", id};
	l[n++] = (struct ks_prom_label){"image", c ? c->image : ""};
	l[n++] = (struct ks_prom_label){"name", c ? c->cid : ""};
	l[n++] = (struct ks_prom_label){"namespace", p->ns};
	l[n++] = (struct ks_prom_label){"node", p->node};
	l[n++] = (struct ks_prom_label){"pod", p->name};
	return n;
}

/* One cAdvisor sample of a container (c) or of the pod's cgroup (c NULL). */
static int csample(struct ks_prom_writer *pw, const struct pview *p, const struct cview *c,
		   bool cpu, double v, int64_t ts_ms, struct ks_err *err)
{
	const char *pre = c ? c->lbl[cpu] : p->lbl[cpu];
	if (pre)
		return ks_prom_sample_pre(pw, pre, v, ts_ms, err);
	char id[512];
	struct ks_prom_label l[8];
	size_t n = clabels(l, p, c, cpu, id, sizeof id);
	return ks_prom_sample(pw, l, n, v, ts_ms, err);
}

static bool has_running(const struct pview *p)
{
	for (size_t i = 0; i < p->nc; i++)
		if (p->c[i].cid)
			return true;
	return false;
}

/* ---- HTTP ---- */

struct backends {
	const struct pview **ready;
	size_t nready, total, bad;
};

static bool selects(const struct sview *s, const struct pview *p)
{
	if (strcmp(s->ns, p->ns) || p->deleting)
		return false;
	for (size_t i = 0; i < s->nsel; i++) {
		const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p->labels,
										      s->keys[i]));
		if (!v || strcmp(v, s->vals[i]))
			return false;
	}
	return true;
}

struct podlist {
	size_t *v;
	size_t n, cap;
};

static char *label_key(const char *ns, const char *k, const char *v)
{
	return ks_asprintf("%s\n%s\n%s", ns, k, v);
}

/* Every Service's backends. Candidates come from an index of the pods by
 * (namespace, label, value) on the selector's first pair, so the cost is the number of pod
 * labels plus the candidates, not services x pods. The caller frees with free_backends. */
static struct backends *all_backends(const struct sim_metrics_world *w)
{
	struct backends *out = ks_calloc(w->nsvcs + 1, sizeof *out);
	struct ks_map idx;
	ks_map_init(&idx);
	for (size_t i = 0; i < w->npods; i++) {
		const struct pview *p = &w->pods[i];
		const cJSON *l;
		cJSON_ArrayForEach(l, p->labels)
		{
			if (!cJSON_IsString(l) || !l->string)
				continue;
			char *key = label_key(p->ns, l->string, l->valuestring);
			struct podlist *pl = ks_map_get(&idx, key);
			if (!pl) {
				pl = ks_calloc(1, sizeof *pl);
				ks_map_put(&idx, key, pl);
			}
			free(key);
			if (!pl->n || pl->v[pl->n - 1] != i) { /* a key given twice */
				pl->v = ks_grow(pl->v, sizeof *pl->v, pl->n + 1, &pl->cap);
				pl->v[pl->n++] = i;
			}
		}
	}
	for (size_t s = 0; s < w->nsvcs; s++) {
		const struct sview *sv = &w->svcs[s];
		struct backends *b = &out[s];
		if (!sv->nsel)
			continue;
		char *key = label_key(sv->ns, sv->keys[0], sv->vals[0]);
		const struct podlist *pl = ks_map_get(&idx, key);
		free(key);
		size_t cap = 0;
		for (size_t j = 0; pl && j < pl->n; j++) {
			const struct pview *p = &w->pods[pl->v[j]];
			if (!selects(sv, p))
				continue;
			b->total++;
			if (!p->ready || p->crashloop) {
				b->bad++;
				continue;
			}
			b->ready = ks_grow(b->ready, sizeof *b->ready, b->nready + 1, &cap);
			b->ready[b->nready++] = p;
		}
	}
	const char *k;
	void *v;
	for (size_t i = 0; ks_map_next(&idx, &i, &k, &v);) {
		free(((struct podlist *)v)->v);
		free(v);
	}
	ks_map_release(&idx);
	return out;
}

static void free_backends(struct backends *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(b[i].ready);
	free(b);
}

/* Mean CPU pressure of the ready backends' running containers at t. */
static double pressure(const struct backends *b, int64_t t)
{
	double sum = 0;
	size_t n = 0;
	for (size_t i = 0; i < b->nready; i++) {
		const struct pview *p = b->ready[i];
		for (size_t k = 0; k < p->nc; k++) {
			const struct cview *c = &p->c[k];
			double ref = c->lim_cpu > 0 ? c->lim_cpu : c->req_cpu;
			if (!c->cid || ref <= 0)
				continue;
			sum += sim_usage_cpu_m(&c->curve, t) / 1000.0 / ref;
			n++;
		}
	}
	return n ? sum / (double)n : 0.3;
}

static double norm_cdf(double x)
{
	return 0.5 * erfc(-x / sqrt(2.0));
}

static void advance_service(const struct sview *s, const struct backends *b, struct sstate *st,
			    int64_t t)
{
	if (t <= st->t)
		return;
	double n = sim_usage_cpu_seconds_total(&s->rate, st->t, t);
	st->t = t;
	if (n <= 0)
		return;
	if (!b->nready) {
		st->req[2] += n;
		st->bucket[0] += n;
		st->sum += n * FAST_503_S;
		return;
	}
	double f500 = 0.001 + 0.5 * (double)b->bad / (double)b->total;
	st->req[1] += n * f500;
	st->req[0] += n * (1 - f500);
	double p = pressure(b, t), q = p < 0.95 ? p : 0.95;
	double median = LAT_MEDIAN_S / (1 - q) * (p > 1 ? p : 1);
	double prev = 0;
	for (size_t i = 0; i < NB; i++) {
		double cdf = norm_cdf(log(http_buckets[i] / median) / LAT_SIGMA);
		st->bucket[i] += n * (cdf - prev);
		prev = cdf;
	}
	st->bucket[NB] += n * (1 - prev);
	st->sum += n * median * exp(LAT_SIGMA * LAT_SIGMA / 2);
}

static const char *const http_codes[] = {"200", "500", "503"};

static int write_requests(struct ks_prom_writer *pw, const struct sview *s,
			  const struct sstate *st, int64_t ts_ms, struct ks_err *err)
{
	for (size_t k = 0; k < 3; k++) {
		struct ks_prom_label l[] = {
			{"code", http_codes[k]}, {"namespace", s->ns}, {"service", s->name}};
		int rc = ks_prom_sample(pw, l, 3, floor(st->req[k]), ts_ms, err);
		if (rc)
			return rc;
	}
	return 0;
}

static int write_duration(struct ks_prom_writer *pw, const struct sview *s,
			  const struct sstate *st, int64_t ts_ms, struct ks_err *err)
{
	uint64_t counts[NB + 1];
	double cum = 0, shown = 0;
	for (size_t i = 0; i <= NB; i++) {
		cum += st->bucket[i];
		double f = floor(cum + 1e-9);
		counts[i] = (uint64_t)(f - shown);
		shown = f;
	}
	struct ks_prom_histogram h = {http_buckets, NB, counts, st->sum};
	struct ks_prom_label l[] = {{"namespace", s->ns}, {"service", s->name}};
	return ks_prom_histogram(pw, l, 2, &h, ts_ms, err);
}

#define HELP_REQUESTS "Requests served by the Service's pods, by HTTP status code."
#define HELP_DURATION "Time to answer a request, seconds."

/* ---- live exposition ---- */

struct seen {
	struct cstate **c; /* per pod, per container: state when running, else NULL */
	struct pstate **p;
	struct sstate **s;
	struct backends *b;
};

/* The counter state under key, created zeroed (*fresh) when missing. */
static void *state(struct ks_map *map, const char *key, size_t size, bool *fresh)
{
	void *v = ks_map_get(map, key);
	*fresh = !v;
	if (!v) {
		v = ks_calloc(1, size);
		ks_map_put(map, key, v);
	}
	return v;
}

static void sweep(struct ks_map *map, size_t gen_offset, unsigned gen)
{
	const char *k;
	void *v;
	size_t n = 0, cap = 0;
	char **dead = NULL;
	for (size_t i = 0; ks_map_next(map, &i, &k, &v);)
		if (*(unsigned *)((char *)v + gen_offset) != gen) {
			dead = ks_grow(dead, sizeof *dead, n + 1, &cap);
			dead[n++] = ks_strdup(k);
		}
	for (size_t i = 0; i < n; i++) {
		free(ks_map_del(map, dead[i]));
		free(dead[i]);
	}
	free(dead);
}

/* Advance every counter to t; fills sn. */
static void advance_all(struct sim_metrics *m, const struct sim_metrics_world *w, int64_t t,
			struct seen *sn)
{
	unsigned gen = ++m->gen;
	size_t total = 0;
	for (size_t i = 0; i < w->npods; i++)
		total += w->pods[i].nc;
	sn->c = ks_calloc(total + 1, sizeof *sn->c);
	sn->p = ks_calloc(w->npods + 1, sizeof *sn->p);
	sn->s = ks_calloc(w->nsvcs + 1, sizeof *sn->s);
	sn->b = all_backends(w);
	size_t ci = 0;
	for (size_t i = 0; i < w->npods; i++) {
		const struct pview *p = &w->pods[i];
		struct pstate *ps = NULL;
		if (has_running(p)) {
			bool fresh;
			ps = state(&m->pstates, p->uid, sizeof *ps, &fresh);
			ps->gen = gen;
		}
		sn->p[i] = ps;
		for (size_t k = 0; k < p->nc; k++, ci++) {
			const struct cview *c = &p->c[k];
			if (!c->cid)
				continue;
			bool fresh;
			struct cstate *cs = state(&m->cstates, c->cid, sizeof *cs, &fresh);
			if (fresh)
				cs->t = sim_start_of(w, c, t);
			cs->gen = gen;
			ps->cpu_s += advance_container(c, cs, t);
			sn->c[ci] = cs;
		}
	}
	for (size_t i = 0; i < w->nsvcs; i++) {
		const struct sview *s = &w->svcs[i];
		char *key = ks_asprintf("%s/%s", s->ns, s->name);
		bool fresh;
		struct sstate *ss = state(&m->sstates, key, sizeof *ss, &fresh);
		free(key);
		if (fresh)
			ss->t = t;
		ss->gen = gen;
		advance_service(s, &sn->b[i], ss, t);
		sn->s[i] = ss;
	}
	sweep(&m->cstates, offsetof(struct cstate, gen), gen);
	sweep(&m->pstates, offsetof(struct pstate, gen), gen);
	sweep(&m->sstates, offsetof(struct sstate, gen), gen);
}

static void seen_release(const struct sim_metrics_world *w, struct seen *sn)
{
	free_backends(sn->b, w->nsvcs);
	free(sn->c);
	free(sn->p);
	free(sn->s);
}

#define TRY(x)                                                                                \
	do {                                                                                  \
		if ((rc = (x)) != 0)                                                          \
			goto out;                                                             \
	} while (0)

static int render_cadvisor(struct ks_prom_writer *pw, const struct sim_metrics_world *w,
			   const struct seen *sn, int64_t t, struct ks_err *err)
{
	int rc = 0;
	for (int f = 0; f < CF_COUNT; f++) {
		TRY(ks_prom_family(pw, cfams[f].name, cfams[f].type, cfams[f].help, err));
		size_t ci = 0;
		for (size_t i = 0; i < w->npods; i++) {
			const struct pview *p = &w->pods[i];
			double sum = 0;
			for (size_t k = 0; k < p->nc; k++, ci++) {
				const struct cview *c = &p->c[k];
				if (!sn->c[ci] || (cfams[f].need_limit && c->lim_cpu <= 0))
					continue;
				double v = cvalue(f, c, sn->c[ci], t);
				sum += v;
				TRY(csample(pw, p, c, f == CF_CPU, v, KS_PROM_NO_TIMESTAMP, err));
			}
			if (cfams[f].pod_level && sn->p[i]) {
				double v = f == CF_CPU ? sn->p[i]->cpu_s : sum;
				TRY(csample(pw, p, NULL, f == CF_CPU, v, KS_PROM_NO_TIMESTAMP, err));
			}
		}
	}
out:
	return rc;
}

static const char *const phases[] = {"Pending", "Succeeded", "Failed", "Unknown", "Running"};

static int render_pods(struct ks_prom_writer *pw, const struct sim_metrics_world *w,
		       struct ks_err *err)
{
	int rc = 0;
	TRY(ks_prom_family(pw, "kube_pod_info", KS_PROM_GAUGE, "[STABLE] Information about pod.",
			   err));
	for (size_t i = 0; i < w->npods; i++) {
		const struct pview *p = &w->pods[i];
		const char *ck = "<none>", *cn = "<none>";
		for (size_t k = 0; k < p->nowners; k++)
			if (p->owners[k].controller) {
				ck = p->owners[k].kind;
				cn = p->owners[k].name;
			}
		struct ks_prom_label l[] = {
			{"namespace", p->ns},       {"pod", p->name},
			{"uid", p->uid},            {"host_ip", p->host_ip},
			{"pod_ip", p->pod_ip},      {"node", p->node},
			{"created_by_kind", ck},    {"created_by_name", cn},
			{"priority_class", p->priority_class},
			{"host_network", p->host_network ? "true" : "false"},
		};
		TRY(ks_prom_sample(pw, l, KS_ARRAY_LEN(l), 1, KS_PROM_NO_TIMESTAMP, err));
	}
	TRY(ks_prom_family(pw, "kube_pod_owner", KS_PROM_GAUGE,
			   "[STABLE] Information about the Pod's owner.", err));
	for (size_t i = 0; i < w->npods; i++) {
		const struct pview *p = &w->pods[i];
		struct ks_prom_label l[] = {{"namespace", p->ns}, {"pod", p->name}, {"uid", p->uid},
					    {"owner_kind", "<none>"}, {"owner_name", "<none>"},
					    {"owner_is_controller", "<none>"}};
		if (!p->nowners)
			TRY(ks_prom_sample(pw, l, KS_ARRAY_LEN(l), 1, KS_PROM_NO_TIMESTAMP, err));
		for (size_t k = 0; k < p->nowners; k++) {
			l[3].value = p->owners[k].kind;
			l[4].value = p->owners[k].name;
			l[5].value = p->owners[k].controller ? "true" : "false";
			TRY(ks_prom_sample(pw, l, KS_ARRAY_LEN(l), 1, KS_PROM_NO_TIMESTAMP, err));
		}
	}
	TRY(ks_prom_family(pw, "kube_pod_status_phase", KS_PROM_GAUGE,
			   "[STABLE] The pods current phase.", err));
	for (size_t i = 0; i < w->npods; i++) {
		const struct pview *p = &w->pods[i];
		for (size_t k = 0; k < KS_ARRAY_LEN(phases); k++) {
			struct ks_prom_label l[] = {{"namespace", p->ns}, {"pod", p->name},
						    {"uid", p->uid}, {"phase", phases[k]}};
			TRY(ks_prom_sample(pw, l, 4, !strcmp(p->phase, phases[k]),
					   KS_PROM_NO_TIMESTAMP, err));
		}
	}
	static const char *const res_help[] = {
		"The number of requested request resource by a container. It is recommended to use "
		"the kube_pod_resource_requests metric exposed by kube-scheduler instead, as it is "
		"more precise.",
		"The number of requested limit resource by a container. It is recommended to use the "
		"kube_pod_resource_limits metric exposed by kube-scheduler instead, as it is more "
		"precise."};
	for (int lim = 0; lim < 2; lim++) {
		TRY(ks_prom_family(pw, lim ? "kube_pod_container_resource_limits"
					   : "kube_pod_container_resource_requests",
				   KS_PROM_GAUGE, res_help[lim], err));
		for (size_t i = 0; i < w->npods; i++) {
			const struct pview *p = &w->pods[i];
			for (size_t k = 0; k < p->nc; k++) {
				const struct cview *c = &p->c[k];
				double cpu = lim ? c->lim_cpu : c->req_cpu;
				double mem = lim ? c->lim_mem : c->req_mem;
				struct ks_prom_label l[] = {
					{"namespace", p->ns}, {"pod", p->name},  {"uid", p->uid},
					{"container", c->name}, {"node", p->node},
					{"resource", "cpu"},  {"unit", "core"}};
				if (cpu >= 0)
					TRY(ks_prom_sample(pw, l, 7, cpu, KS_PROM_NO_TIMESTAMP, err));
				l[5].value = "memory";
				l[6].value = "byte";
				if (mem >= 0)
					TRY(ks_prom_sample(pw, l, 7, mem, KS_PROM_NO_TIMESTAMP, err));
			}
		}
	}
	TRY(ks_prom_family(pw, "kube_pod_container_status_restarts_total", KS_PROM_COUNTER,
			   "[STABLE] The number of container restarts per container.", err));
	for (size_t i = 0; i < w->npods; i++) {
		const struct pview *p = &w->pods[i];
		for (size_t k = 0; k < p->nc; k++) {
			struct ks_prom_label l[] = {{"namespace", p->ns}, {"pod", p->name},
						    {"uid", p->uid}, {"container", p->c[k].name}};
			TRY(ks_prom_sample(pw, l, 4, (double)p->c[k].restarts, KS_PROM_NO_TIMESTAMP,
					   err));
		}
	}
	for (int term = 0; term < 2; term++) {
		TRY(ks_prom_family(pw, term ? "kube_pod_container_status_last_terminated_reason"
					    : "kube_pod_container_status_waiting_reason",
				   KS_PROM_GAUGE,
				   term ? "Describes the last reason the container was in terminated "
					  "state."
					: "[STABLE] Describes the reason the container is currently "
					  "in waiting state.",
				   err));
		for (size_t i = 0; i < w->npods; i++) {
			const struct pview *p = &w->pods[i];
			for (size_t k = 0; k < p->nc; k++) {
				const char *r = term ? p->c[k].last_term : p->c[k].waiting;
				if (!r)
					continue;
				struct ks_prom_label l[] = {{"namespace", p->ns}, {"pod", p->name},
							    {"uid", p->uid},
							    {"container", p->c[k].name},
							    {"reason", r}};
				TRY(ks_prom_sample(pw, l, 5, 1, KS_PROM_NO_TIMESTAMP, err));
			}
		}
	}
out:
	return rc;
}

static int render_nodes(struct ks_prom_writer *pw, const struct sim_metrics_world *w,
			struct ks_err *err)
{
	int rc = 0;
	TRY(ks_prom_family(pw, "kube_node_info", KS_PROM_GAUGE,
			   "[STABLE] Information about a cluster node.", err));
	for (size_t i = 0; i < w->nnodes; i++) {
		const struct nview *n = &w->nodes[i];
		struct ks_prom_label l[KS_ARRAY_LEN(node_info_labels) + 1];
		l[0] = (struct ks_prom_label){"node", n->name};
		for (size_t k = 0; k < KS_ARRAY_LEN(node_info_labels); k++)
			l[k + 1] = (struct ks_prom_label){node_info_labels[k], n->info[k]};
		TRY(ks_prom_sample(pw, l, KS_ARRAY_LEN(l), 1, KS_PROM_NO_TIMESTAMP, err));
	}
	TRY(ks_prom_family(pw, "kube_node_labels", KS_PROM_GAUGE,
			   "[STABLE] Kubernetes labels converted to Prometheus labels.", err));
	for (size_t i = 0; i < w->nnodes; i++) {
		const struct nview *n = &w->nodes[i];
		struct ks_prom_label *l = ks_calloc(n->nlabels + 1, sizeof *l);
		l[0] = (struct ks_prom_label){"node", n->name};
		if (n->nlabels)
			memcpy(l + 1, n->labels, n->nlabels * sizeof *l);
		rc = ks_prom_sample(pw, l, n->nlabels + 1, 1, KS_PROM_NO_TIMESTAMP, err);
		free(l);
		if (rc)
			goto out;
	}
	for (int alloc = 0; alloc < 2; alloc++) {
		TRY(ks_prom_family(pw, alloc ? "kube_node_status_allocatable"
					     : "kube_node_status_capacity",
				   KS_PROM_GAUGE,
				   alloc ? "The allocatable for different resources of a node that "
					   "are available for scheduling."
					 : "The capacity for different resources of a node.",
				   err));
		for (size_t i = 0; i < w->nnodes; i++) {
			const struct nview *n = &w->nodes[i];
			const struct nres *r = alloc ? n->alloc : n->cap;
			size_t nr = alloc ? n->nalloc : n->ncap;
			for (size_t k = 0; k < nr; k++) {
				struct ks_prom_label l[] = {{"node", n->name},
							    {"resource", r[k].resource},
							    {"unit", r[k].unit}};
				TRY(ks_prom_sample(pw, l, 3, r[k].v, KS_PROM_NO_TIMESTAMP, err));
			}
		}
	}
	TRY(ks_prom_family(pw, "kube_node_status_condition", KS_PROM_GAUGE,
			   "[STABLE] The condition of a cluster node.", err));
	static const char *const st[] = {"true", "false", "unknown"};
	static const char *const st_api[] = {"True", "False", "Unknown"};
	for (size_t i = 0; i < w->nnodes; i++) {
		const struct nview *n = &w->nodes[i];
		for (size_t k = 0; k < n->nconds; k++)
			for (size_t j = 0; j < 3; j++) {
				struct ks_prom_label l[] = {{"node", n->name},
							    {"condition", n->cond_type[k]},
							    {"status", st[j]}};
				TRY(ks_prom_sample(pw, l, 3, !strcmp(n->cond_status[k], st_api[j]),
						   KS_PROM_NO_TIMESTAMP, err));
			}
	}
out:
	return rc;
}

int sim_metrics_render(struct sim_metrics *m, const struct sim_metrics_world *w, int64_t t,
		       struct ks_buf *out, struct ks_err *err)
{
	struct seen sn;
	advance_all(m, w, t, &sn);
	struct ks_prom_writer pw;
	ks_prom_writer_init(&pw, out);
	size_t len0 = out->len;
	int rc = 0;
	TRY(ks_prom_family(&pw, "sim_time_seconds", KS_PROM_GAUGE,
			   "Simulated time (Unix seconds) this exposition describes.", err));
	TRY(ks_prom_sample(&pw, NULL, 0, (double)t, KS_PROM_NO_TIMESTAMP, err));
	TRY(ks_prom_family(&pw, "sim_time_scale", KS_PROM_GAUGE,
			   "Simulated seconds per real second.", err));
	TRY(ks_prom_sample(&pw, NULL, 0, w->has_clock ? w->clock.scale : 1, KS_PROM_NO_TIMESTAMP,
			   err));
	TRY(render_cadvisor(&pw, w, &sn, t, err));
	TRY(render_pods(&pw, w, err));
	TRY(render_nodes(&pw, w, err));
	TRY(ks_prom_family(&pw, "http_requests_total", KS_PROM_COUNTER, HELP_REQUESTS, err));
	for (size_t i = 0; i < w->nsvcs; i++)
		TRY(write_requests(&pw, &w->svcs[i], sn.s[i], KS_PROM_NO_TIMESTAMP, err));
	TRY(ks_prom_family(&pw, "http_request_duration_seconds", KS_PROM_HISTOGRAM, HELP_DURATION,
			   err));
	for (size_t i = 0; i < w->nsvcs; i++)
		TRY(write_duration(&pw, &w->svcs[i], sn.s[i], KS_PROM_NO_TIMESTAMP, err));
out:
	if (rc) {
		out->len = len0;
		if (out->data)
			out->data[len0] = '\0';
	}
	ks_prom_writer_release(&pw);
	seen_release(w, &sn);
	return rc;
}

/* ---- backfill ---- */

struct bf {
	FILE *out;
	struct ks_buf *b;
	void (*progress)(void *ctx, double done);
	void *ctx;
	int64_t last_report_ms;
};

static int flush(struct bf *bf, struct ks_err *err)
{
	if (bf->b->len && fwrite(bf->b->data, 1, bf->b->len, bf->out) != bf->b->len)
		return ks_err_set(err, KS_EIO, "backfill: write failed: %s", strerror(errno));
	ks_buf_reset(bf->b);
	return 0;
}

static void report(struct bf *bf, double done)
{
	int64_t now = ks_mono_ms();
	if (bf->progress && now - bf->last_report_ms >= 1000) {
		bf->last_report_ms = now;
		bf->progress(bf->ctx, done);
	}
}

/* One pod's series of family f over the window: each container, then the pod's cgroup. */
static int backfill_pod(struct bf *bf, struct ks_prom_writer *pw, enum cfam f,
			const struct pview *p, int64_t from, int64_t to, int64_t step,
			struct ks_err *err)
{
	int rc = 0;
	struct cstate *st = ks_calloc(p->nc + 1, sizeof *st);
	for (size_t k = 0; k < p->nc; k++) {
		const struct cview *c = &p->c[k];
		if (!c->cid || (cfams[f].need_limit && c->lim_cpu <= 0))
			continue;
		memset(&st[k], 0, sizeof st[k]);
		st[k].t = from;
		for (int64_t t = from; t <= to; t += step) {
			advance_container(c, &st[k], t);
			TRY(csample(pw, p, c, f == CF_CPU, cvalue(f, c, &st[k], t), t * 1000, err));
		}
		TRY(flush(bf, err));
	}
	if (cfams[f].pod_level) {
		for (size_t k = 0; k < p->nc; k++) {
			memset(&st[k], 0, sizeof st[k]);
			st[k].t = from;
		}
		for (int64_t t = from; t <= to; t += step) {
			double sum = 0;
			for (size_t k = 0; k < p->nc; k++) {
				if (!p->c[k].cid)
					continue;
				advance_container(&p->c[k], &st[k], t);
				sum += cvalue(f, &p->c[k], &st[k], t);
			}
			TRY(csample(pw, p, NULL, f == CF_CPU, sum, t * 1000, err));
		}
		TRY(flush(bf, err));
	}
out:
	free(st);
	return rc;
}

int sim_metrics_backfill_write(const struct sim_metrics_world *w, int64_t from, int64_t to,
			       int64_t step, FILE *out, void (*progress)(void *ctx, double done),
			       void *ctx, struct ks_err *err)
{
	if (step <= 0 || to < from)
		return ks_err_set(err, KS_EINVAL, "backfill: empty window or step %lld s",
				  (long long)step);
	if (to - from > SIM_METRICS_BACKFILL_MAX_S || (to - from) / step + 1 >
							     SIM_METRICS_BACKFILL_MAX_POINTS)
		return ks_err_set(err, KS_EINVAL,
				  "backfill: %lld s in steps of %lld s is past the ceiling (%d days, "
				  "%d points a series)",
				  (long long)(to - from), (long long)step,
				  SIM_METRICS_BACKFILL_MAX_S / 86400, SIM_METRICS_BACKFILL_MAX_POINTS);
	struct ks_buf b;
	ks_buf_init(&b, SIM_METRICS_MAX_BYTES);
	struct bf bf = {out, &b, progress, ctx, ks_mono_ms()};
	struct ks_prom_writer pw;
	ks_prom_writer_init_om(&pw, &b);
	struct backends *bk = all_backends(w);
	double nfam = CF_COUNT + 2;
	int rc = 0;
	for (int f = 0; f < CF_COUNT; f++) {
		TRY(ks_prom_family(&pw, cfams[f].name, cfams[f].type, cfams[f].help, err));
		for (size_t i = 0; i < w->npods; i++) {
			report(&bf, (f + (double)i / (double)(w->npods + 1)) / nfam);
			TRY(backfill_pod(&bf, &pw, f, &w->pods[i], from, to, step, err));
		}
	}
	for (int h = 0; h < 2; h++) {
		TRY(ks_prom_family(&pw, h ? "http_request_duration_seconds" : "http_requests_total",
				   h ? KS_PROM_HISTOGRAM : KS_PROM_COUNTER,
				   h ? HELP_DURATION : HELP_REQUESTS, err));
		for (size_t i = 0; i < w->nsvcs; i++) {
			report(&bf, (CF_COUNT + h + (double)i / (double)(w->nsvcs + 1)) / nfam);
			struct sstate st = {.t = from};
			for (int64_t t = from; t <= to; t += step) {
				advance_service(&w->svcs[i], &bk[i], &st, t);
				TRY(h ? write_duration(&pw, &w->svcs[i], &st, t * 1000, err)
				      : write_requests(&pw, &w->svcs[i], &st, t * 1000, err));
			}
			TRY(flush(&bf, err));
		}
	}
	TRY(ks_prom_eof(&pw, err));
	TRY(flush(&bf, err));
	if (progress)
		progress(ctx, 1.0);
out:
	free_backends(bk, w->nsvcs);
	ks_prom_writer_release(&pw);
	ks_buf_release(&b);
	return rc;
}

/* ---- parsing ---- */

int sim_metrics_parse_listen(const char *addr, uint32_t *ip_be, uint16_t *port,
			     struct ks_err *err)
{
	const char *colon = addr ? strrchr(addr, ':') : NULL;
	if (!colon || colon == addr)
		return ks_err_set(err, KS_EINVAL,
				  "metrics address '%s': want HOST:PORT with a loopback host, e.g. "
				  "127.0.0.1:9100 (port 0: any free port)",
				  addr ? addr : "(null)");
	size_t hl = (size_t)(colon - addr);
	char host[64];
	if (hl >= sizeof host)
		return ks_err_set(err, KS_EINVAL, "metrics address '%.80s': host too long", addr);
	memcpy(host, addr, hl);
	host[hl] = '\0';
	const char *p = colon + 1;
	long v = 0;
	if (!*p || strlen(p) > 5)
		return ks_err_set(err, KS_EINVAL, "metrics address '%s': bad port '%s'", addr, p);
	for (const char *q = p; *q; q++) {
		if (*q < '0' || *q > '9')
			return ks_err_set(err, KS_EINVAL, "metrics address '%s': bad port '%s'",
					  addr, p);
		v = v * 10 + (*q - '0');
	}
	if (v > 65535)
		return ks_err_set(err, KS_EINVAL, "metrics address '%s': port %ld is past 65535",
				  addr, v);
	struct in_addr in;
	if (!strcmp(host, "localhost")) {
		in.s_addr = htonl(INADDR_LOOPBACK);
	} else if (inet_pton(AF_INET, host, &in) != 1) {
		return ks_err_set(err, KS_EINVAL,
				  "metrics address '%s': '%s' is not an IPv4 address or localhost",
				  addr, host);
	}
	if ((ntohl(in.s_addr) >> 24) != 127)
		return ks_err_set(err, KS_EINVAL,
				  "metrics address '%s': the metrics endpoint binds loopback only "
				  "(127.0.0.0/8 or localhost), not %s",
				  addr, host);
	*ip_be = in.s_addr;
	*port = (uint16_t)v;
	return 0;
}

int sim_metrics_parse_duration(const char *s, int64_t *out, struct ks_err *err)
{
	/* A bare number is seconds; anything else is a duration (ks_parse_duration). */
	const char *p = s ? s : "";
	size_t digits = strspn(p, "0123456789");
	double d = 0;
	struct ks_err e = {0};
	int rc = 0;
	if (digits && !p[digits] && digits <= 12)
		d = strtod(p, NULL);
	else
		rc = ks_parse_duration(p, &d, &e);
	if (rc || d < 1 || d != (double)(int64_t)d || d > 3650.0 * 86400)
		return ks_err_set(err, KS_EINVAL,
				  "duration '%.40s': want a positive number of seconds or a duration "
				  "such as 14d, 36h, 5m, at most 10 years",
				  s ? s : "(null)");
	*out = (int64_t)d;
	return 0;
}

/* ---- in the simulator ---- */

static void sim_curve(void *ctx, const cJSON *pod, const char *container,
		      struct sim_usage_curve *out)
{
	sim_usage_for(ctx, pod, container, out);
}

struct gather {
	struct sim_metrics_world *w;
	void (*add)(struct sim_metrics_world *w, const cJSON *obj);
};

static int gather_one(void *ctx, const struct kube_objstore *st, uint32_t id)
{
	struct gather *g = ctx;
	cJSON *o = kube_objstore_to_cjson(st, id);
	if (o)
		g->add(g->w, o);
	cJSON_Delete(o);
	return 0;
}

static struct sim_metrics_world *gather_world(struct sim *s)
{
	struct sim_metrics_world *w = sim_metrics_world_new(sim_curve, s);
	world_set_clock(w, &s->clock);
	struct gather g = {w, sim_metrics_world_add_pod};
	kube_informer_each(s->pods, gather_one, &g);
	g.add = sim_metrics_world_add_node;
	kube_informer_each(s->cluster_nodes, gather_one, &g);
	g.add = sim_metrics_world_add_service;
	kube_informer_each(s->services, gather_one, &g);
	return w;
}

static bool synced(struct sim *s)
{
	return s->pods && s->services && s->cluster_nodes && kube_informer_synced(s->pods) &&
	       kube_informer_synced(s->services) && kube_informer_synced(s->cluster_nodes);
}

int sim_metrics_wait_synced(struct sim *s, long timeout_ms, struct ks_err *err)
{
	if (!s->pods || !s->services || !s->cluster_nodes)
		return ks_err_set(err, KS_EINVAL, "metrics: the simulator is not started");
	int64_t end = ks_mono_ms() + timeout_ms;
	while (!synced(s) && ks_mono_ms() < end)
		sim_step(s, 100);
	if (!synced(s))
		return ks_err_set(err, KS_ETIMEOUT,
				  "metrics: pods, nodes and services not listed after %ld ms",
				  timeout_ms);
	return 0;
}

void sim_metrics_tick(struct sim *s)
{
	struct sim_metrics *m = s->metrics;
	if (!m || !synced(s))
		return;
	int64_t now = ks_mono_ms();
	if (now < m->next_ms)
		return;
	struct sim_metrics_world *w = gather_world(s);
	struct ks_buf b;
	ks_buf_init(&b, SIM_METRICS_MAX_BYTES);
	struct ks_err err = {0};
	if (sim_metrics_render(m, w, sim_time_now(s), &b, &err)) {
		KS_WARN("sim", "metrics: %s", err.msg);
	} else {
		size_t len = b.len;
		char *snap = ks_buf_detach(&b);
		pthread_mutex_lock(&m->mu);
		char *old = m->snap;
		m->snap = snap;
		m->snap_len = len;
		pthread_mutex_unlock(&m->mu);
		free(old);
	}
	ks_buf_release(&b);
	sim_metrics_world_free(w);
	/* A big cluster takes a while (docs/BENCHMARKS.md): keep the loop's share at a quarter. */
	int64_t spent = ks_mono_ms() - now;
	m->next_ms = now + (spent * 4 > SIM_METRICS_RENDER_EVERY_MS ? spent * 4
								 : SIM_METRICS_RENDER_EVERY_MS);
}

static enum MHD_Result respond(struct MHD_Connection *c, unsigned status, const char *type,
			       const char *body, size_t len)
{
	struct MHD_Response *r =
		MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", type);
	enum MHD_Result ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	struct sim_metrics *m = cls;
	if (!*con_cls) { /* first call: headers only */
		*con_cls = m;
		return MHD_YES;
	}
	if (*upload_size) { /* a body we do not want */
		*upload_size = 0;
		return MHD_YES;
	}
	static const char plain[] = "text/plain; charset=utf-8";
	if (strcmp(url, "/metrics") != 0)
		return respond(c, 404, plain, "404 page not found\n", 19);
	if (strcmp(method, "GET") && strcmp(method, "HEAD"))
		return respond(c, 405, plain, "method not allowed\n", 19);
	pthread_mutex_lock(&m->mu);
	enum MHD_Result ret;
	if (!m->snap)
		ret = respond(c, 503, plain, "metrics: waiting for the first listing\n", 39);
	else
		ret = respond(c, 200, KS_PROM_CONTENT_TYPE, m->snap, m->snap_len);
	pthread_mutex_unlock(&m->mu);
	return ret;
}

int sim_metrics_listen(struct sim *s, const char *addr, int *port_out, struct ks_err *err)
{
	uint32_t ip;
	uint16_t port;
	int rc = sim_metrics_parse_listen(addr, &ip, &port, err);
	if (rc)
		return rc;
	if (!s->metrics)
		s->metrics = sim_metrics_new();
	struct sim_metrics *m = s->metrics;
	if (m->d)
		return ks_err_set(err, KS_EINVAL, "metrics: already listening");
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
	sa.sin_addr.s_addr = ip;
	m->d = MHD_start_daemon(MHD_USE_AUTO_INTERNAL_THREAD, port, NULL, NULL, on_request, m,
				MHD_OPTION_SOCK_ADDR, &sa, MHD_OPTION_CONNECTION_TIMEOUT,
				(unsigned)30, MHD_OPTION_END);
	if (!m->d)
		return ks_err_set(err, KS_EIO, "metrics: cannot listen on %s", addr);
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(m->d, MHD_DAEMON_INFO_BIND_PORT);
	if (port_out)
		*port_out = di ? di->port : port;
	return 0;
}

static void progress_stderr(void *ctx, double done)
{
	fprintf(stderr, "backfill %s: %.0f%%\n", (const char *)ctx, done * 100);
}

int sim_metrics_backfill(struct sim *s, int64_t duration_s, int64_t step_s, const char *path,
			 struct ks_err *err)
{
	int rc = sim_metrics_wait_synced(s, 60000, err);
	if (rc)
		return rc;
	if (step_s <= 0)
		return ks_err_set(err, KS_EINVAL, "backfill: step must be positive");
	int64_t to = floordiv(ks_time_now_ms() / 1000, step_s) * step_s;
	struct sim_metrics_world *w = sim_metrics_world_new(sim_curve, s);
	struct gather g = {w, sim_metrics_world_add_pod};
	kube_informer_each(s->pods, gather_one, &g);
	g.add = sim_metrics_world_add_service;
	kube_informer_each(s->services, gather_one, &g);
	FILE *f = fopen(path, "w");
	if (!f) {
		sim_metrics_world_free(w);
		return ks_err_set(err, KS_EIO, "backfill: %s: %s", path, strerror(errno));
	}
	rc = sim_metrics_backfill_write(w, to - duration_s, to, step_s, f, progress_stderr,
					(void *)path, err);
	if (fclose(f) && !rc)
		rc = ks_err_set(err, KS_EIO, "backfill: %s: %s", path, strerror(errno));
	sim_metrics_world_free(w);
	return rc;
}
