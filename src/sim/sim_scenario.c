/* sim_scenario.c — playing scenarios (scenario.h) in the simulator: the stage at start
 * (nodes, objects, vault secrets), the timeline's actions when their simulated time comes,
 * and the hooks the kubelet asks at each container start (fate, registry, usage curve).
 *
 * A timeline action runs at start + at, then every `every` when set. A drain cordons one of
 * our nodes of the NodePool and evicts its pods (not DaemonSet pods) through the Eviction
 * API every DRAIN_RETRY_MS until none is left; a PodDisruptionBudget that refuses (429) holds
 * it, as it holds `kubectl drain`, and a Warning event on the Node says so. */
#include "base/base64.h"
#include "base/common.h"
#include "base/json.h"
#include "base/timeutil.h"
#include "kube/apply.h"
#include "sim/karpenter.h"
#include "sim/scenario.h"
#include "sim/sim_internal.h"
#include "sim/vault.h"

#include <stdio.h>
#include <string.h>

#define FIELD_MANAGER "kswarm-sim"
/* Timeline changes apply partial objects: under their own manager, so that they change what
 * they name and leave the stage's fields (owned by FIELD_MANAGER) alone. */
#define TIMELINE_MANAGER "kswarm-sim-timeline"
#define DRAIN_RETRY_MS 5000

struct sim_scenario_set {
	struct sim_scenario **list;
	size_t n;
	struct sim_vault *vault;
	int64_t start_s;      /* simulated time the stage was set */
	double *next_s;       /* per action (flattened over the scenarios): next simulated run */
	size_t n_actions;
	char drain_node[96];  /* the node being drained, or "" */
	int64_t next_drain_ms;
};

void sim_use_scenarios(struct sim *s, struct sim_scenario **list, size_t n,
		       struct sim_vault *vault)
{
	struct sim_scenario_set *set = ks_calloc(1, sizeof *set);
	set->list = list;
	set->n = n;
	set->vault = vault;
	for (size_t i = 0; i < n; i++)
		set->n_actions += list[i]->n_actions;
	set->next_s = ks_calloc(set->n_actions + 1, sizeof *set->next_s);
	s->scenarios = set;
}

void sim_scenarios_release(struct sim *s)
{
	if (!s->scenarios)
		return;
	free(s->scenarios->next_s);
	free(s->scenarios);
	s->scenarios = NULL;
}

static bool is_namespace(const cJSON *o)
{
	return !strcmp(ks_json_str_or(o, "kind", ""), "Namespace");
}

static int apply_all(struct sim *s, const cJSON *objects, bool namespaces, struct ks_err *err)
{
	const cJSON *o;
	cJSON_ArrayForEach(o, objects)
	{
		if (is_namespace(o) != namespaces)
			continue;
		int rc = kube_apply(s->c, o, FIELD_MANAGER, true, NULL, err);
		if (rc)
			return rc;
	}
	return 0;
}

int sim_scenarios_stage(struct sim *s, struct ks_err *err)
{
	struct sim_scenario_set *set = s->scenarios;
	if (!set)
		return 0;
	for (size_t i = 0; i < set->n; i++) {
		const struct sim_scenario *sc = set->list[i];
		const cJSON *v;
		cJSON_ArrayForEach(v, sc->vault)
		{
			if (!set->vault)
				return ks_err_set(err, KS_EINVAL, "%s: needs the simulated vault",
						  sc->source);
			const char *mount = ks_json_str_or(v, "mount", "secret");
			const char *path = ks_json_str_or(v, "path", "");
			int rc = sim_vault_put(set->vault, mount, path, ks_json_get(v, "data"), NULL,
					       err);
			if (rc)
				return ks_err_wrap(err, "%s: vault %s/%s", sc->source, mount, path);
		}
	}
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < set->n; i++) {
			int rc = apply_all(s, set->list[i]->objects, pass == 0, err);
			if (rc)
				return ks_err_wrap(err, "%s", set->list[i]->source);
		}
	set->start_s = sim_time_now(s);
	size_t k = 0;
	for (size_t i = 0; i < set->n; i++)
		for (size_t j = 0; j < set->list[i]->n_actions; j++)
			set->next_s[k++] = (double)set->start_s + set->list[i]->actions[j].at_s;
	return 0;
}

/* ---- timeline ---- */

static void node_event(struct sim *s, const char *node, const char *type, const char *reason,
		       const char *message)
{
	char now[40];
	sim_now(now, sizeof now);
	char *body = ks_asprintf(
		"{\"metadata\":{\"generateName\":\"%s.\",\"namespace\":\"default\"},"
		"\"involvedObject\":{\"kind\":\"Node\",\"name\":\"%s\",\"uid\":\"%s\","
		"\"apiVersion\":\"v1\"},\"reason\":\"%s\",\"message\":\"%s\",\"source\":"
		"{\"component\":\"kswarm-sim\"},\"firstTimestamp\":\"%s\",\"lastTimestamp\":\"%s\","
		"\"count\":1,\"type\":\"%s\"}",
		node, node, node, reason, message, now, now, type);
	sim_send(s, "POST", "/api/v1/namespaces/default/events", NULL, body);
	free(body);
}

static void run_scale(struct sim *s, const struct sim_action *a)
{
	cJSON *probe = cJSON_CreateObject();
	cJSON_AddStringToObject(probe, "apiVersion",
				!strcmp(a->target_kind, "Deployment") ||
						!strcmp(a->target_kind, "StatefulSet") ||
						!strcmp(a->target_kind, "ReplicaSet")
					? "apps/v1"
					: "v1");
	cJSON_AddStringToObject(probe, "kind", a->target_kind);
	struct ks_err err = {0};
	const struct kube_resource *r = kube_resource_of(s->c, probe, &err);
	cJSON_Delete(probe);
	if (!r) {
		KS_WARN("sim", "scale %s: %s", a->name, err.msg);
		return;
	}
	int replicas = a->replicas;
	if (a->relative) {
		cJSON *obj = NULL;
		if (kube_get(s->c, r, a->ns, a->name, &obj, &err)) {
			KS_WARN("sim", "scale %s/%s: %s", a->ns, a->name, err.msg);
			return;
		}
		replicas = (int)ks_json_int_or(obj, "spec.replicas", 1) + a->replicas;
		cJSON_Delete(obj);
		if (replicas < 0)
			replicas = 0;
	}
	char *patch = ks_asprintf("{\"spec\":{\"replicas\":%d}}", replicas);
	struct kube_patch_opts po = {.type = KUBE_PATCH_MERGE};
	if (kube_patch(s->c, r, a->ns, a->name, patch, strlen(patch), &po, NULL, &err))
		KS_WARN("sim", "scale %s/%s: %s", a->ns, a->name, err.msg);
	else
		printf("sim: scenario: %s %s/%s scaled to %d replicas\n", a->target_kind, a->ns,
		       a->name, replicas);
	free(patch);
}

static void start_drain(struct sim *s, const struct sim_action *a)
{
	for (size_t i = 0; i < s->n_nodes; i++) {
		if (strcmp(s->nodes[i].nodepool, a->nodepool))
			continue;
		snprintf(s->scenarios->drain_node, sizeof s->scenarios->drain_node, "%s",
			 s->nodes[i].name);
		char *path = ks_asprintf("/api/v1/nodes/%s", s->nodes[i].name);
		sim_send(s, "PATCH", path, "application/merge-patch+json",
			 "{\"spec\":{\"unschedulable\":true}}");
		free(path);
		printf("sim: scenario: draining node %s (nodepool %s)\n", s->nodes[i].name,
		       a->nodepool);
		s->scenarios->next_drain_ms = ks_mono_ms();
		return;
	}
	KS_WARN("sim", "drain: no node of nodepool %s", a->nodepool);
}

static void eviction_done(void *ctx, struct kube_http_resp *resp, int rc, const struct ks_err *err)
{
	struct sim *s = ctx;
	(void)resp;
	if (rc == 0 || rc == KS_ENOTFOUND)
		return;
	if (err && err->http_status == 429) {
		node_event(s, s->scenarios ? s->scenarios->drain_node : "", "Warning",
			   "DrainBlocked",
			   "Cannot evict pod as it would violate the pod's disruption budget.");
		return;
	}
	s->st.api_errors++;
	KS_WARN("sim", "eviction: %s", err ? err->msg : "failed");
}

static int evict_visit(void *ctx, const struct kube_objstore *st, uint32_t id)
{
	struct sim *s = ctx;
	cJSON *pod = kube_objstore_to_cjson(st, id);
	bool daemon = false;
	const cJSON *ref;
	cJSON_ArrayForEach(ref, ks_json_get(pod, "metadata.ownerReferences"))
		daemon |= !strcmp(ks_json_str_or(ref, "kind", ""), "DaemonSet");
	if (!daemon && !ks_json_str(pod, "metadata.deletionTimestamp") &&
	    !strcmp(ks_json_str_or(pod, "spec.nodeName", ""), s->scenarios->drain_node)) {
		const char *ns = ks_json_str_or(pod, "metadata.namespace", "");
		const char *name = ks_json_str_or(pod, "metadata.name", "");
		char *path = ks_asprintf("/api/v1/namespaces/%s/pods/%s/eviction", ns, name);
		char *body = ks_asprintf("{\"apiVersion\":\"policy/v1beta1\",\"kind\":\"Eviction\","
					 "\"metadata\":{\"name\":\"%s\",\"namespace\":\"%s\"}}",
					 name, ns);
		struct kube_http_req req = {.method = "POST", .path = path, .body = body,
					    .body_len = strlen(body), .no_retry = true};
		kube_http_start(s->c->http, &req, eviction_done, s);
		free(path);
		free(body);
	}
	cJSON_Delete(pod);
	return 0;
}

void sim_scenarios_tick(struct sim *s)
{
	struct sim_scenario_set *set = s->scenarios;
	if (!set || !set->start_s)
		return;
	int64_t now = sim_time_now(s);
	size_t k = 0;
	for (size_t i = 0; i < set->n; i++) {
		const struct sim_scenario *sc = set->list[i];
		for (size_t j = 0; j < sc->n_actions; j++, k++) {
			const struct sim_action *a = &sc->actions[j];
			if (set->next_s[k] < 0 || (double)now < set->next_s[k])
				continue;
			set->next_s[k] = a->every_s > 0 ? set->next_s[k] + a->every_s : -1;
			struct ks_err err = {0};
			const cJSON *o;
			switch (a->kind) {
			case SIM_ACT_APPLY:
				cJSON_ArrayForEach(o, a->objects)
				{
					if (kube_apply(s->c, o, TIMELINE_MANAGER, true, NULL, &err))
						KS_WARN("sim", "%s: %s", sc->name, err.msg);
					else
						printf("sim: scenario %s: applied %s %s\n", sc->name,
						       ks_json_str_or(o, "kind", ""),
						       ks_json_str_or(o, "metadata.name", ""));
				}
				break;
			case SIM_ACT_DELETE:
				cJSON_ArrayForEach(o, a->objects)
				{
					if (kube_delete_object(s->c, o, &err))
						KS_WARN("sim", "%s: %s", sc->name, err.msg);
					else
						printf("sim: scenario %s: deleted %s %s\n", sc->name,
						       ks_json_str_or(o, "kind", ""),
						       ks_json_str_or(o, "metadata.name", ""));
				}
				break;
			case SIM_ACT_SCALE:
				run_scale(s, a);
				break;
			case SIM_ACT_DRAIN:
				start_drain(s, a);
				break;
			case SIM_ACT_INTERRUPT:
				if (sim_karpenter_interrupt(s, a->name, &err))
					KS_WARN("sim", "%s: %s", sc->name, err.msg);
				else
					printf("sim: scenario %s: spot interruption notice for %s\n",
					       sc->name, a->name ? a->name : "a spot node");
				break;
			}
			fflush(stdout);
		}
	}
	if (set->drain_node[0] && ks_mono_ms() >= set->next_drain_ms) {
		set->next_drain_ms = ks_mono_ms() + DRAIN_RETRY_MS;
		kube_informer_each(s->pods, evict_visit, s);
	}
}

/* ---- the kubelet's questions ---- */

static bool workload_matches(const char *want_ns, const char *want_wl, const char *want_ctr,
			     const cJSON *pod, const char *container)
{
	if (want_ns && strcmp(want_ns, ks_json_str_or(pod, "metadata.namespace", "")))
		return false;
	if (want_ctr && container && strcmp(want_ctr, container))
		return false;
	if (want_wl) {
		char wl[256];
		sim_pod_workload(pod, wl, sizeof wl);
		if (!sim_glob_match(want_wl, wl))
			return false;
	}
	return true;
}

static const char *container_image(const cJSON *pod, const char *container)
{
	static const char *const lists[] = {"spec.containers", "spec.initContainers"};
	for (size_t i = 0; i < KS_ARRAY_LEN(lists); i++) {
		const cJSON *c;
		cJSON_ArrayForEach(c, ks_json_get(pod, lists[i]))
			if (!strcmp(ks_json_str_or(c, "name", ""), container))
				return ks_json_str_or(c, "image", "");
	}
	return "";
}

/* Whether the Secret's key differs from the vault's field (missing on either side counts as
 * different: the application could not authenticate). Values are compared, never logged. */
static bool secret_differs(struct sim *s, const struct sim_behavior *b, const char *ns)
{
	if (!s->scenarios->vault)
		return true;
	cJSON *secret = kube_informer_get_json(s->secrets, ns, b->secret);
	const cJSON *data = ks_json_get(secret, "data");
	const cJSON *item = data ? cJSON_GetObjectItemCaseSensitive(data, b->key) : NULL;
	const char *enc = cJSON_IsString(item) ? item->valuestring : NULL;
	unsigned char *dec = NULL;
	size_t dlen = 0;
	bool differs = true;
	if (enc && ks_base64_decode(enc, strlen(enc), &dec, &dlen, NULL) == 0) {
		cJSON *vdata = NULL;
		if (sim_vault_get(s->scenarios->vault, b->mount, b->path, 0, &vdata, NULL) == 0) {
			const cJSON *f = cJSON_GetObjectItemCaseSensitive(vdata, b->field);
			if (cJSON_IsString(f) && strlen(f->valuestring) == dlen &&
			    !memcmp(f->valuestring, dec, dlen))
				differs = false;
			cJSON_Delete(vdata);
		}
		if (dec)
			memset(dec, 0, dlen);
		free(dec);
	}
	cJSON_Delete(secret);
	return differs;
}

void sim_fate_for(struct sim *s, const cJSON *pod, const char *container, struct sim_fate *out)
{
	memset(out, 0, sizeof *out);
	out->exit_code = -1;
	if (!s->scenarios)
		return;
	const char *image = container_image(pod, container);
	const char *ns = ks_json_str_or(pod, "metadata.namespace", "");
	for (size_t i = 0; i < s->scenarios->n; i++) {
		const struct sim_scenario *sc = s->scenarios->list[i];
		for (size_t j = 0; j < sc->n_behaviors; j++) {
			const struct sim_behavior *b = &sc->behaviors[j];
			if (!workload_matches(b->ns, b->workload, b->container, pod, container))
				continue;
			if (b->image_glob && !sim_glob_match(b->image_glob, image))
				continue;
			if (b->when == SIM_WHEN_SECRET_DIFFERS_FROM_VAULT && !secret_differs(s, b, ns))
				continue;
			if (b->exit_code >= 0) {
				out->exit_code = b->exit_code;
				out->exit_after_s = b->exit_after_s;
			}
			if (b->not_ready) {
				out->not_ready = true;
				snprintf(out->probe_message, sizeof out->probe_message, "%s",
					 b->probe_message);
			}
			if (b->n_log) {
				out->log = b->log;
				out->n_log = b->n_log;
			}
			return; /* the first matching rule decides */
		}
	}
}

bool sim_image_available(struct sim *s, const char *image)
{
	if (!s->scenarios)
		return true;
	char ref[512];
	sim_image_reference(image, ref, sizeof ref);
	/* repository and tag: "docker.io/library/nginx" and "1.25.3" */
	char *at = strchr(ref, '@');
	if (at)
		*at = '\0';
	char *slash = strrchr(ref, '/'), *colon = strrchr(ref, ':');
	const char *tag = "latest";
	if (colon && (!slash || colon > slash)) {
		*colon = '\0';
		tag = colon + 1;
	}
	for (size_t i = 0; i < s->scenarios->n; i++) {
		const cJSON *tags = s->scenarios->list[i]->registry
					    ? cJSON_GetObjectItemCaseSensitive(
						      s->scenarios->list[i]->registry, ref)
					    : NULL;
		if (!tags)
			continue;
		const cJSON *t;
		cJSON_ArrayForEach(t, tags)
			if (cJSON_IsString(t) && !strcmp(t->valuestring, tag))
				return true;
		return false;
	}
	return true;
}

bool sim_usage_override(const struct sim *s, const cJSON *pod, const char *container,
			struct sim_usage_curve *out)
{
	if (!s->scenarios)
		return false;
	for (size_t i = 0; i < s->scenarios->n; i++) {
		const struct sim_scenario *sc = s->scenarios->list[i];
		for (size_t j = 0; j < sc->n_usage; j++) {
			const struct sim_usage_rule *u = &sc->usage[j];
			if (!workload_matches(u->ns, u->workload, u->container, pod, container))
				continue;
			uint64_t seed = out->seed;
			*out = u->curve;
			out->seed = seed;
			/* Growth counts from when the stage was set (base_* are the values then). */
			out->growth_origin_s = s->scenarios->start_s;
			return true;
		}
	}
	return false;
}
