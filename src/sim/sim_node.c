/* sim_node.c — registering simulated nodes and keeping them alive.
 * A node is created as a kubelet registers one (status included: Nodes accept status on
 * create), with the labels Karpenter and the kubelet put on an EKS node, capacity from the
 * instance type (EC2 memory less the ~7.5% the hypervisor keeps) and allocatable from the
 * catalog (Karpenter's published figures). Liveness: its Lease in kube-node-lease renewed
 * every 10 s, its Ready condition re-posted every 60 s. */
#include "base/common.h"
#include "base/json.h"
#include "base/timeutil.h"
#include "sim/karpenter.h"
#include "sim/sim_internal.h"
#include "sim/sim_metrics.h"

#include <stdio.h>
#include <string.h>

#define LEASE_DURATION_S 40
#define LEASE_RENEW_MS 10000
#define STATUS_EVERY_MS 60000

uint64_t sim_rand(struct sim *s)
{
	/* splitmix64: reproducible names and IDs for a given seed. */
	uint64_t z = (s->rng += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void sim_now(char *out, size_t len)
{
	ks_time_format_rfc3339(ks_time_now_ms() / 1000, out, len);
}

void sim_now_micro(char *out, size_t len)
{
	ks_time_format_rfc3339_micro(ks_time_now_ms() * 1000, out, len);
}

struct sim_node *sim_node_find(struct sim *s, const char *name)
{
	uintptr_t i = (uintptr_t)ks_map_get(&s->node_by_name, name);
	return i ? &s->nodes[i - 1] : NULL;
}

static void sent(void *ctx, struct kube_http_resp *resp, int rc, const struct ks_err *err)
{
	struct sim *s = ctx;
	(void)resp;
	if (rc && rc != KS_ENOTFOUND && rc != KS_ECONFLICT) {
		s->st.api_errors++;
		KS_WARN("sim", "%s", err ? err->msg : "request failed");
	}
}

void sim_send(struct sim *s, const char *method, const char *path, const char *content_type,
	      const char *body)
{
	struct kube_http_req req = {.method = method, .path = path, .content_type = content_type,
				    .body = body, .body_len = body ? strlen(body) : 0};
	kube_http_start(s->c->http, &req, sent, s);
}

int sim_new(struct kube_client *c, const struct cost_catalog *cat, const struct sim_opts *o,
	    struct sim **out, struct ks_err *err)
{
	if (!c || !cat)
		return ks_err_set(err, KS_EINVAL, "simulator: a client and a catalog are required");
	struct sim *s = ks_calloc(1, sizeof *s);
	s->c = c;
	s->cat = cat;
	if (o)
		s->o = *o;
	if (s->o.time_scale <= 0)
		s->o.time_scale = 1;
	s->rng = s->o.seed ? s->o.seed : (uint64_t)ks_time_now_ms();
	s->clock.scale = s->o.time_scale;
	s->clock.real_start_ms = ks_time_now_ms();
	s->clock.sim_start_s = s->clock.real_start_ms / 1000;
	s->kubelet_port = 10250;
	ks_map_init(&s->node_by_name);
	ks_map_init(&s->work);
	ks_map_init(&s->finishing);
	ks_map_init(&s->pod_rt);
	ks_map_init(&s->timed);
	ks_map_init(&s->event_series);
	s->logs = sim_logs_new();
	*out = s;
	return 0;
}

void sim_free(struct sim *s)
{
	if (!s)
		return;
	sim_metrics_free(s->metrics); /* first: its HTTP thread stops */
	sim_karpenter_free(s);
	sim_kubelet_server_stop(s->kubelet_srv); /* before the logs it reads */
	sim_kubelet_stop(s);
	sim_scenarios_release(s);
	sim_logs_free(s->logs);
	sim_events_release(s);
	ks_map_release(&s->event_series);
	kube_informer_free(s->services);
	kube_informer_free(s->cluster_nodes);
	ks_map_release(&s->node_by_name);
	ks_map_release(&s->work);
	ks_map_release(&s->finishing);
	free(s->nodes);
	free(s);
}

struct labels_ctx {
	cJSON *labels;
};

static int add_label(const char *key, const char *value, void *ctx)
{
	cJSON_AddStringToObject(((struct labels_ctx *)ctx)->labels, key, value);
	return 0;
}

static void add_conditions(cJSON *status, const char *now)
{
	static const struct {
		const char *type, *status, *reason, *message;
	} conds[] = {
		{"MemoryPressure", "False", "KubeletHasSufficientMemory",
		 "kubelet has sufficient memory available"},
		{"DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"},
		{"PIDPressure", "False", "KubeletHasSufficientPID",
		 "kubelet has sufficient PID available"},
		{"Ready", "True", "KubeletReady", "kubelet is posting ready status"},
	};
	cJSON *arr = cJSON_AddArrayToObject(status, "conditions");
	for (size_t i = 0; i < KS_ARRAY_LEN(conds); i++) {
		cJSON *c = cJSON_CreateObject();
		cJSON_AddStringToObject(c, "type", conds[i].type);
		cJSON_AddStringToObject(c, "status", conds[i].status);
		cJSON_AddStringToObject(c, "lastHeartbeatTime", now);
		cJSON_AddStringToObject(c, "lastTransitionTime", now);
		cJSON_AddStringToObject(c, "reason", conds[i].reason);
		cJSON_AddStringToObject(c, "message", conds[i].message);
		cJSON_AddItemToArray(arr, c);
	}
}

/* Copy the members of src (an object) into dst, replacing those of the same name. */
static void merge_members(cJSON *dst, const cJSON *src)
{
	const cJSON *m;
	if (!cJSON_IsObject(src))
		return;
	cJSON_ArrayForEach(m, src)
	{
		cJSON *copy = cJSON_Duplicate(m, true);
		if (cJSON_GetObjectItemCaseSensitive(dst, m->string))
			cJSON_ReplaceItemInObjectCaseSensitive(dst, m->string, copy);
		else
			cJSON_AddItemToObject(dst, m->string, copy);
	}
}

static cJSON *node_object(struct sim *s, const struct sim_node *n,
			  const struct sim_node_spec *spec)
{
	const struct cost_instance_type *t = n->type;
	char now[40], buf[64];
	sim_now(now, sizeof now);
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "apiVersion", "v1");
	cJSON_AddStringToObject(o, "kind", "Node");
	cJSON *meta = cJSON_AddObjectToObject(o, "metadata");
	cJSON_AddStringToObject(meta, "name", n->name);
	struct labels_ctx lc = {cJSON_AddObjectToObject(meta, "labels")};
	cost_instance_labels(t, add_label, &lc);
	const char *arch = cost_arch_name(t->arch);
	cJSON_AddStringToObject(lc.labels, "beta.kubernetes.io/arch", arch);
	cJSON_AddStringToObject(lc.labels, "beta.kubernetes.io/instance-type", t->name);
	cJSON_AddStringToObject(lc.labels, "beta.kubernetes.io/os", "linux");
	cJSON_AddStringToObject(lc.labels, "failure-domain.beta.kubernetes.io/region", "us-east-1");
	cJSON_AddStringToObject(lc.labels, "failure-domain.beta.kubernetes.io/zone", n->zone);
	cJSON_AddStringToObject(lc.labels, "karpenter.k8s.aws/ec2nodeclass", "default");
	cJSON_AddStringToObject(lc.labels, "karpenter.sh/capacity-type", n->capacity_type);
	cJSON_AddStringToObject(lc.labels, "karpenter.sh/initialized", "true");
	cJSON_AddStringToObject(lc.labels, "karpenter.sh/nodepool", n->nodepool);
	cJSON_AddStringToObject(lc.labels, "karpenter.sh/registered", "true");
	cJSON_AddStringToObject(lc.labels, "kubernetes.io/hostname", n->name);
	cJSON_AddStringToObject(lc.labels, "kubernetes.io/os", "linux");
	cJSON_AddStringToObject(lc.labels, "topology.kubernetes.io/region", "us-east-1");
	cJSON_AddStringToObject(lc.labels, "topology.kubernetes.io/zone", n->zone);
	merge_members(lc.labels, spec->labels);
	cJSON *ann = cJSON_AddObjectToObject(meta, "annotations");
	cJSON_AddStringToObject(ann, "node.alpha.kubernetes.io/ttl", "0");
	cJSON_AddStringToObject(ann, "kswarm.io/simulated", "true");
	merge_members(ann, spec->annotations);
	cJSON *nspec = cJSON_AddObjectToObject(o, "spec");
	if (cJSON_IsArray(spec->taints) && ks_json_len(spec->taints))
		cJSON_AddItemToObject(nspec, "taints", cJSON_Duplicate(spec->taints, true));
	snprintf(buf, sizeof buf, "aws:///%s/i-%017llx", n->zone,
		 (unsigned long long)(sim_rand(s) & 0xfffffffffffffffULL));
	cJSON_AddStringToObject(nspec, "providerID", buf);

	cJSON *st = cJSON_AddObjectToObject(o, "status");
	cJSON *cap = cJSON_AddObjectToObject(st, "capacity");
	snprintf(buf, sizeof buf, "%d", t->vcpu);
	cJSON_AddStringToObject(cap, "cpu", buf);
	/* The hypervisor keeps ~7.5% of the advertised memory (Karpenter's VM overhead). */
	snprintf(buf, sizeof buf, "%lldKi", (long long)(t->memory_mib * 1024 * 925 / 1000));
	cJSON_AddStringToObject(cap, "memory", buf);
	snprintf(buf, sizeof buf, "%d", t->max_pods);
	cJSON_AddStringToObject(cap, "pods", buf);
	cJSON_AddStringToObject(cap, "ephemeral-storage", "20959212Ki");
	cJSON_AddStringToObject(cap, "hugepages-2Mi", "0");
	cJSON *alloc = cJSON_AddObjectToObject(st, "allocatable");
	snprintf(buf, sizeof buf, "%lldm", (long long)t->alloc_cpu_millis);
	cJSON_AddStringToObject(alloc, "cpu", buf);
	snprintf(buf, sizeof buf, "%lldMi", (long long)t->alloc_memory_mib);
	cJSON_AddStringToObject(alloc, "memory", buf);
	snprintf(buf, sizeof buf, "%d", t->max_pods);
	cJSON_AddStringToObject(alloc, "pods", buf);
	cJSON_AddStringToObject(alloc, "ephemeral-storage", "18242267924");
	cJSON_AddStringToObject(alloc, "hugepages-2Mi", "0");
	add_conditions(st, now);
	cJSON *addrs = cJSON_AddArrayToObject(st, "addresses");
	/* The API server reaches a node's kubelet (logs) at its InternalIP: loopback, where the
	 * simulator serves; the node's simulated private address is in its name. */
	const char *types[] = {"InternalIP", "Hostname", "InternalDNS"};
	const char *vals[] = {"127.0.0.1", n->name, n->name};
	for (int i = 0; i < 3; i++) {
		cJSON *a = cJSON_CreateObject();
		cJSON_AddStringToObject(a, "type", types[i]);
		cJSON_AddStringToObject(a, "address", vals[i]);
		cJSON_AddItemToArray(addrs, a);
	}
	cJSON *de = cJSON_AddObjectToObject(st, "daemonEndpoints");
	cJSON_AddNumberToObject(cJSON_AddObjectToObject(de, "kubeletEndpoint"), "Port", s->kubelet_port);
	cJSON *ni = cJSON_AddObjectToObject(st, "nodeInfo");
	snprintf(buf, sizeof buf, "ec2%029llx", (unsigned long long)(sim_rand(s) >> 4));
	cJSON_AddStringToObject(ni, "machineID", buf);
	cJSON_AddStringToObject(ni, "systemUUID", buf);
	snprintf(buf, sizeof buf, "%08llx-0000-4000-8000-%012llx",
		 (unsigned long long)(sim_rand(s) & 0xffffffffULL),
		 (unsigned long long)(sim_rand(s) & 0xffffffffffffULL));
	cJSON_AddStringToObject(ni, "bootID", buf);
	cJSON_AddStringToObject(ni, "kernelVersion",
				t->arch == COST_ARCH_ARM64 ? "6.1.102-111.182.amzn2023.aarch64"
							   : "6.1.102-111.182.amzn2023.x86_64");
	cJSON_AddStringToObject(ni, "osImage", "Amazon Linux 2023.5.20240819");
	cJSON_AddStringToObject(ni, "containerRuntimeVersion", "containerd://1.7.20");
	cJSON_AddStringToObject(ni, "kubeletVersion", "v1.20.2");
	cJSON_AddStringToObject(ni, "kubeProxyVersion", "v1.20.2");
	cJSON_AddStringToObject(ni, "operatingSystem", "linux");
	cJSON_AddStringToObject(ni, "architecture", arch);
	return o;
}

static void renew_lease(struct sim *s, const struct sim_node *n, bool create)
{
	char now[40];
	sim_now_micro(now, sizeof now);
	char *path, *body;
	if (create) {
		path = ks_asprintf("/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases");
		body = ks_asprintf("{\"apiVersion\":\"coordination.k8s.io/v1\",\"kind\":\"Lease\","
				   "\"metadata\":{\"name\":\"%s\",\"namespace\":\"kube-node-lease\","
				   "\"ownerReferences\":[{\"apiVersion\":\"v1\",\"kind\":\"Node\","
				   "\"name\":\"%s\",\"uid\":\"%s\"}]},\"spec\":{\"holderIdentity\":"
				   "\"%s\",\"leaseDurationSeconds\":%d,\"renewTime\":\"%s\"}}",
				   n->name, n->name, n->uid, n->name, LEASE_DURATION_S, now);
		sim_send(s, "POST", path, NULL, body);
	} else {
		path = ks_asprintf("/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/%s",
				   n->name);
		body = ks_asprintf("{\"spec\":{\"renewTime\":\"%s\"}}", now);
		sim_send(s, "PATCH", path, "application/merge-patch+json", body);
	}
	s->st.lease_renewals++;
	free(path);
	free(body);
}

int sim_add_node(struct sim *s, const struct sim_node_spec *spec, char *name_out,
		 size_t name_len, struct ks_err *err)
{
	const struct cost_instance_type *t = cost_catalog_find(s->cat, spec->instance_type);
	if (!t)
		return ks_err_set(err, KS_ENOTFOUND, "instance type '%s' is not in the catalog",
				  spec->instance_type);
	s->nodes = ks_grow(s->nodes, sizeof *s->nodes, s->n_nodes + 1, &s->cap_nodes);
	struct sim_node *n = &s->nodes[s->n_nodes];
	memset(n, 0, sizeof *n);
	n->type = t;
	snprintf(n->nodepool, sizeof n->nodepool, "%s", spec->nodepool ? spec->nodepool : "default");
	snprintf(n->capacity_type, sizeof n->capacity_type, "%s",
		 spec->capacity_type ? spec->capacity_type : "on-demand");
	snprintf(n->zone, sizeof n->zone, "%s", spec->zone ? spec->zone : "us-east-1a");
	/* A private address as EKS names nodes after it: ip-10-0-37-201.ec2.internal. Each node
	 * also gets a /24 for its pods from 10.1.0.0/16 onwards. */
	for (int tries = 0; tries < 100; tries++) {
		uint64_t r = sim_rand(s);
		unsigned b = (unsigned)(r % 254) + 1, c = (unsigned)((r >> 8) % 254) + 1;
		snprintf(n->ip, sizeof n->ip, "10.0.%u.%u", b, c);
		snprintf(n->name, sizeof n->name, "%sip-10-0-%u-%u.ec2.internal",
			 s->o.name_prefix ? s->o.name_prefix : "", b, c);
		if (!sim_node_find(s, n->name))
			break;
	}
	n->subnet_a = 1 + (unsigned)(s->nodes_registered / 250 % 250);
	n->subnet_b = (unsigned)(s->nodes_registered % 250);
	n->pod_ip_next = 2;
	cJSON *o = node_object(s, n, spec), *created = NULL;
	int rc = kube_create(s->c, &KUBE_RES_NODES, NULL, o, &created, err);
	cJSON_Delete(o);
	if (rc)
		return ks_err_wrap(err, "registering node %s", n->name);
	snprintf(n->uid, sizeof n->uid, "%s", ks_json_str_or(created, "metadata.uid", ""));
	cJSON_Delete(created);
	s->n_nodes++;
	s->nodes_registered++;
	ks_map_put(&s->node_by_name, n->name, (void *)(uintptr_t)s->n_nodes);
	renew_lease(s, n, true);
	if (name_out)
		snprintf(name_out, name_len, "%s", n->name);
	KS_INFO("sim", "node %s (%s, %s, %s, %s) registered", n->name, t->name, n->nodepool,
		n->capacity_type, n->zone);
	s->st.nodes = (int)s->n_nodes;
	return 0;
}

void sim_nodes_heartbeat(struct sim *s)
{
	int64_t now = ks_mono_ms();
	if (now >= s->next_lease_ms) {
		for (size_t i = 0; i < s->n_nodes; i++)
			renew_lease(s, &s->nodes[i], false);
		s->next_lease_ms = now + LEASE_RENEW_MS;
	}
	if (now >= s->next_status_ms) {
		if (s->next_status_ms) {
			char ts[40];
			sim_now(ts, sizeof ts);
			for (size_t i = 0; i < s->n_nodes; i++) {
				/* The conditions again, with a new heartbeat (merge patch: whole list). */
				cJSON *st = cJSON_CreateObject();
				cJSON *inner = cJSON_AddObjectToObject(st, "status");
				add_conditions(inner, ts);
				/* Transition times must not move: take them from the first post. */
				cJSON *c;
				cJSON_ArrayForEach(c, cJSON_GetObjectItem(inner, "conditions"))
					cJSON_DeleteItemFromObject(c, "lastTransitionTime");
				char *body = ks_json_print(st);
				char *path = ks_asprintf("/api/v1/nodes/%s/status", s->nodes[i].name);
				sim_send(s, "PATCH", path, "application/strategic-merge-patch+json", body);
				free(body);
				free(path);
				cJSON_Delete(st);
				s->st.status_updates++;
			}
		}
		s->next_status_ms = now + STATUS_EVERY_MS;
	}
}

static int delete_node(struct sim *s, const char *name, struct ks_err *err)
{
	static const struct kube_resource leases = {"coordination.k8s.io", "v1", "leases", "Lease",
						    "lease", true, ""};
	struct kube_delete_opts d = {.grace_period_s = -1};
	int rc = kube_delete(s->c, &KUBE_RES_NODES, NULL, name, &d, NULL, err);
	kube_delete(s->c, &leases, "kube-node-lease", name, &d, NULL, NULL);
	return rc == KS_ENOTFOUND ? 0 : rc;
}

int sim_remove_nodes(struct sim *s, struct ks_err *err)
{
	int rc = 0;
	for (size_t i = 0; i < s->n_nodes; i++) {
		int r = delete_node(s, s->nodes[i].name, err);
		if (r)
			rc = r;
	}
	return rc;
}

int sim_remove_node(struct sim *s, const char *name, struct ks_err *err)
{
	uintptr_t idx = (uintptr_t)ks_map_get(&s->node_by_name, name);
	if (!idx)
		return ks_err_set(err, KS_ENOTFOUND, "node %s was not registered by this simulator",
				  name);
	char copy[sizeof s->nodes[0].name];
	snprintf(copy, sizeof copy, "%s", name);
	int rc = delete_node(s, copy, err);
	if (rc)
		return ks_err_wrap(err, "removing node %s", copy);
	/* The last node takes the freed slot. */
	ks_map_del(&s->node_by_name, copy);
	size_t i = idx - 1, last = s->n_nodes - 1;
	if (i != last) {
		s->nodes[i] = s->nodes[last];
		ks_map_put(&s->node_by_name, s->nodes[i].name, (void *)(uintptr_t)(i + 1));
	}
	s->n_nodes--;
	s->st.nodes = (int)s->n_nodes;
	KS_INFO("sim", "node %s removed", copy);
	return 0;
}

int64_t sim_time_now(const struct sim *s)
{
	return sim_clock_now(&s->clock, ks_time_now_ms());
}

void sim_get_stats(const struct sim *s, struct sim_stats *out)
{
	*out = s->st;
}

static const struct kube_resource services_res = {"", "v1", "services", "Service", "service",
						  true, ""};

int sim_start(struct sim *s, struct ks_err *err)
{
	/* Services and Nodes for the metrics (kube-state-metrics' view, HTTP backends). */
	struct kube_watch_opts o = {0};
	s->services = kube_informer_new(s->c, &services_res, &o);
	kube_informer_start(s->services);
	s->cluster_nodes = kube_informer_new(s->c, &KUBE_RES_NODES, &o);
	kube_informer_start(s->cluster_nodes);
	int rc = sim_kubelet_start(s, err);
	rc = rc ? rc : sim_karpenter_start(s, err);
	/* The pod informer starts last: its first LIST runs at once and calls on_add only for
	 * the handlers added by then, so the provisioner's must be there already. Started
	 * before them (as it was), every pod already Unschedulable when the simulator started
	 * was never provisioned: the scheduler does not update such a pod again while its
	 * condition stays the same, so no later event brought it back. */
	if (!rc)
		kube_informer_start(s->pods);
	return rc;
}

void sim_step(struct sim *s, long timeout_ms)
{
	/* One HTTP pool serves every watch: tick each watch's back-off timer, poll once. */
	struct kube_informer *const infs[] = {s->pods, s->services, s->cluster_nodes, s->secrets,
					      s->configmaps, sim_karpenter_informer(s)};
	for (size_t i = 0; i < KS_ARRAY_LEN(infs); i++)
		timeout_ms = kube_informer_tick(infs[i], timeout_ms);
	kube_http_poll(s->c->http, timeout_ms);
	sim_kubelet_work(s);
	sim_scenarios_tick(s);
	sim_karpenter_work(s);
	sim_nodes_heartbeat(s);
	sim_metrics_tick(s);
}
