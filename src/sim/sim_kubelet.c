/* sim_kubelet.c — the kubelet of every simulated node (the pod life cycle is drawn in
 * sim.h). The pod informer (every pod; those bound to our nodes matter here) only
 * queues keys; sim_kubelet_work reads the cached pod and acts, so handlers never write.
 * Writes are asynchronous (sim_send) and idempotent: a pod already started is left alone,
 * and a finished pod is deleted with a UID precondition. */
#include "base/common.h"
#include "base/json.h"
#include "base/timeutil.h"
#include "sim/sim_internal.h"

#include <stdio.h>
#include <string.h>

/* Real seconds at most that a deleted pod stays Terminating, whatever its grace period. */
#define MAX_FINISH_WAIT_MS 30000
/* In s->finishing: the final delete was sent; wait for the pod to disappear. */
#define FINISH_SENT ((uintptr_t)-1)

static void queue_pod(struct sim *s, const cJSON *pod)
{
	const char *node = ks_json_str(pod, "spec.nodeName");
	if (!node || !sim_node_find(s, node))
		return;
	char *key = ks_asprintf("%s/%s", ks_json_str_or(pod, "metadata.namespace", ""),
				ks_json_str_or(pod, "metadata.name", ""));
	ks_map_put(&s->work, key, (void *)1);
	free(key);
}

static void on_add(void *ctx, const cJSON *pod)
{
	queue_pod(ctx, pod);
}

static void on_update(void *ctx, const cJSON *old, const cJSON *pod)
{
	(void)old;
	queue_pod(ctx, pod);
}

int sim_kubelet_start(struct sim *s, struct ks_err *err)
{
	(void)err;
	/* Every pod: the kubelet acts on those bound to our nodes, the provisioner on the
	 * unschedulable ones, the metrics on all. */
	struct kube_watch_opts o = {0};
	s->pods = kube_informer_new(s->c, &KUBE_RES_PODS, &o);
	struct kube_informer_handlers h = {.on_add = on_add, .on_update = on_update, .ctx = s};
	kube_informer_add_handlers(s->pods, &h);
	kube_informer_start(s->pods);
	return 0;
}

static void post_event(struct sim *s, const cJSON *pod, const char *node, const char *container,
		       const char *reason, const char *message)
{
	char *fp = ks_asprintf("spec.containers{%s}", container);
	struct sim_event ev = {
		.kind = "Pod",
		.ns = ks_json_str_or(pod, "metadata.namespace", "default"),
		.name = ks_json_str_or(pod, "metadata.name", ""),
		.uid = ks_json_str_or(pod, "metadata.uid", ""),
		.resource_version = ks_json_str_or(pod, "metadata.resourceVersion", ""),
		.field_path = fp,
		.reason = reason,
		.message = message,
		.component = "kubelet",
		.host = node,
	};
	sim_post_event(s, &ev);
	free(fp);
}

static cJSON *condition(const char *type, const char *now)
{
	cJSON *c = cJSON_CreateObject();
	cJSON_AddStringToObject(c, "type", type);
	cJSON_AddStringToObject(c, "status", "True");
	cJSON_AddNullToObject(c, "lastProbeTime");
	cJSON_AddStringToObject(c, "lastTransitionTime", now);
	return c;
}

/* The image ID a registry would give: the repository with a digest. */
static char *image_id(struct sim *s, const char *image)
{
	char digest[65];
	sim_rand_hex(s, digest, sizeof digest);
	size_t n = strcspn(image, "@");
	const char *colon = NULL;
	for (const char *p = image; p < image + n; p++)
		if (*p == ':')
			colon = p;
	const char *slash = strrchr(image, '/');
	if (colon && slash && colon < slash)
		colon = NULL; /* a registry port, not a tag */
	size_t repo = colon ? (size_t)(colon - image) : n;
	bool qualified = memchr(image, '/', repo) && (memchr(image, '.', repo) != NULL);
	return ks_asprintf("%s%.*s@sha256:%s", qualified ? "" : "docker.io/library/", (int)repo,
			   image, digest);
}

static void container_statuses(struct sim *s, const cJSON *pod, const char *list,
				const char *now, bool init, cJSON *status, const char *node)
{
	const cJSON *cs = ks_json_get(pod, list);
	if (!ks_json_len(cs))
		return;
	cJSON *arr = cJSON_AddArrayToObject(status, init ? "initContainerStatuses"
							 : "containerStatuses");
	const cJSON *c;
	cJSON_ArrayForEach(c, cs)
	{
		const char *name = ks_json_str_or(c, "name", "");
		const char *image = ks_json_str_or(c, "image", "");
		char cid[65];
		sim_rand_hex(s, cid, sizeof cid);
		cJSON *st = cJSON_CreateObject();
		cJSON_AddStringToObject(st, "name", name);
		cJSON *state = cJSON_AddObjectToObject(st, "state");
		if (init) {
			cJSON *t = cJSON_AddObjectToObject(state, "terminated");
			cJSON_AddNumberToObject(t, "exitCode", 0);
			cJSON_AddStringToObject(t, "reason", "Completed");
			cJSON_AddStringToObject(t, "startedAt", now);
			cJSON_AddStringToObject(t, "finishedAt", now);
			char *id = ks_asprintf("containerd://%s", cid);
			cJSON_AddStringToObject(t, "containerID", id);
			free(id);
		} else {
			cJSON_AddStringToObject(cJSON_AddObjectToObject(state, "running"), "startedAt",
						now);
		}
		cJSON_AddItemToObject(st, "lastState", cJSON_CreateObject());
		cJSON_AddBoolToObject(st, "ready", !init);
		cJSON_AddNumberToObject(st, "restartCount", 0);
		cJSON_AddStringToObject(st, "image", image);
		char *iid = image_id(s, image);
		cJSON_AddStringToObject(st, "imageID", iid);
		free(iid);
		char *id = ks_asprintf("containerd://%s", cid);
		cJSON_AddStringToObject(st, "containerID", id);
		free(id);
		if (!init)
			cJSON_AddBoolToObject(st, "started", true);
		cJSON_AddItemToArray(arr, st);

		char *msg = ks_asprintf("Pulling image \"%s\"", image);
		post_event(s, pod, node, name, "Pulling", msg);
		free(msg);
		msg = ks_asprintf("Successfully pulled image \"%s\" in %d.%03ds", image,
				  1 + (int)(sim_rand(s) % 3), (int)(sim_rand(s) % 1000));
		post_event(s, pod, node, name, "Pulled", msg);
		free(msg);
		msg = ks_asprintf("Created container %s", name);
		post_event(s, pod, node, name, "Created", msg);
		free(msg);
		msg = ks_asprintf("Started container %s", name);
		post_event(s, pod, node, name, "Started", msg);
		free(msg);
	}
}

static void start_pod(struct sim *s, const cJSON *pod, struct sim_node *n)
{
	char now[40];
	sim_now(now, sizeof now);
	const char *ns = ks_json_str_or(pod, "metadata.namespace", "default");
	const char *name = ks_json_str_or(pod, "metadata.name", "");
	cJSON *patch = cJSON_CreateObject();
	cJSON *st = cJSON_AddObjectToObject(patch, "status");
	cJSON_AddStringToObject(st, "phase", "Running");
	cJSON *conds = cJSON_AddArrayToObject(st, "conditions");
	cJSON_AddItemToArray(conds, condition("Initialized", now));
	cJSON_AddItemToArray(conds, condition("Ready", now));
	cJSON_AddItemToArray(conds, condition("ContainersReady", now));
	cJSON_AddItemToArray(conds, condition("PodScheduled", now));
	cJSON_AddStringToObject(st, "hostIP", n->ip);
	char ip[24];
	if (ks_json_bool_or(pod, "spec.hostNetwork", false)) {
		snprintf(ip, sizeof ip, "%s", n->ip);
	} else {
		snprintf(ip, sizeof ip, "10.%u.%u.%u", n->subnet_a, n->subnet_b, n->pod_ip_next);
		n->pod_ip_next = n->pod_ip_next >= 254 ? 2 : n->pod_ip_next + 1;
	}
	cJSON_AddStringToObject(st, "podIP", ip);
	cJSON *ips = cJSON_AddArrayToObject(st, "podIPs");
	cJSON *ipo = cJSON_CreateObject();
	cJSON_AddStringToObject(ipo, "ip", ip);
	cJSON_AddItemToArray(ips, ipo);
	cJSON_AddStringToObject(st, "startTime", now);
	container_statuses(s, pod, "spec.initContainers", now, true, st, n->name);
	container_statuses(s, pod, "spec.containers", now, false, st, n->name);
	char *body = ks_json_print(patch);
	char *path = ks_asprintf("/api/v1/namespaces/%s/pods/%s/status", ns, name);
	sim_send(s, "PATCH", path, "application/merge-patch+json", body);
	free(path);
	free(body);
	cJSON_Delete(patch);
	s->st.pods_started++;
	KS_DEBUG("sim", "kubelet %s: started %s/%s", n->name, ns, name);
}

/* When may the pod's deletion be finished (real monotonic ms)? Its grace period runs from
 * the delete request, compressed by the time scale. */
static int64_t finish_due(struct sim *s, const cJSON *pod)
{
	int64_t grace = ks_json_int_or(pod, "metadata.deletionGracePeriodSeconds", 30);
	int64_t wait = (int64_t)((double)grace * 1000.0 / s->o.time_scale);
	if (wait > MAX_FINISH_WAIT_MS)
		wait = MAX_FINISH_WAIT_MS;
	return ks_mono_ms() + wait;
}

static void finish_pod(struct sim *s, const char *ns, const char *name, const char *uid)
{
	char *path = ks_asprintf("/api/v1/namespaces/%s/pods/%s", ns, name);
	char *body = ks_asprintf("{\"kind\":\"DeleteOptions\",\"apiVersion\":\"v1\","
				 "\"gracePeriodSeconds\":0,\"preconditions\":{\"uid\":\"%s\"}}",
				 uid);
	sim_send(s, "DELETE", path, NULL, body);
	free(path);
	free(body);
	s->st.pods_finished++;
}

void sim_kubelet_work(struct sim *s)
{
	/* Take the queued keys first: handlers may queue more while we write. */
	size_t n = 0, cap = 0;
	char **keys = NULL;
	const char *k;
	void *v;
	for (size_t i = 0; ks_map_next(&s->work, &i, &k, &v);) {
		keys = ks_grow(keys, sizeof *keys, n + 1, &cap);
		keys[n++] = ks_strdup(k);
	}
	ks_map_release(&s->work);
	ks_map_init(&s->work);
	for (size_t i = 0; i < n; i++) {
		char *slash = strchr(keys[i], '/');
		*slash = '\0';
		cJSON *pod = kube_informer_get_json(s->pods, keys[i], slash + 1);
		*slash = '/';
		if (!pod)
			continue;
		struct sim_node *node = sim_node_find(s, ks_json_str_or(pod, "spec.nodeName", ""));
		if (!node) {
			cJSON_Delete(pod);
			continue;
		}
		if (ks_json_str(pod, "metadata.deletionTimestamp")) {
			if (!ks_map_get(&s->finishing, keys[i]))
				ks_map_put(&s->finishing, keys[i],
					   (void *)(uintptr_t)finish_due(s, pod));
		} else if (!ks_json_get(pod, "status.containerStatuses") &&
			   strcmp(ks_json_str_or(pod, "status.phase", "Pending"), "Pending") == 0) {
			start_pod(s, pod, node);
		}
		cJSON_Delete(pod);
	}
	for (size_t i = 0; i < n; i++)
		free(keys[i]);
	free(keys);

	/* Deletions whose grace period is over. */
	int64_t now = ks_mono_ms();
	keys = NULL;
	n = cap = 0;
	for (size_t i = 0; ks_map_next(&s->finishing, &i, &k, &v);)
		if ((uintptr_t)v == FINISH_SENT || (int64_t)(uintptr_t)v <= now) {
			keys = ks_grow(keys, sizeof *keys, n + 1, &cap);
			keys[n++] = ks_strdup(k);
		}
	for (size_t i = 0; i < n; i++) {
		uintptr_t state = (uintptr_t)ks_map_get(&s->finishing, keys[i]);
		char *slash = strchr(keys[i], '/');
		*slash = '\0';
		cJSON *pod = kube_informer_get_json(s->pods, keys[i], slash + 1);
		*slash = '/';
		if (!pod) {
			ks_map_del(&s->finishing, keys[i]); /* gone: done */
		} else if (state != FINISH_SENT) {
			*slash = '\0';
			finish_pod(s, keys[i], slash + 1, ks_json_str_or(pod, "metadata.uid", ""));
			*slash = '/';
			ks_map_put(&s->finishing, keys[i], (void *)FINISH_SENT);
		}
		cJSON_Delete(pod);
		free(keys[i]);
	}
	free(keys);
}
