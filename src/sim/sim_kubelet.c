/* sim_kubelet.c — the kubelet of every simulated node.
 *
 * The pod informer (every pod; those bound to our nodes matter here) only queues keys;
 * sim_kubelet_work reads the cached pod and acts, so handlers never write. Each pod we run has
 * a runtime record (struct pod_rt) with one state machine per container. Transitions are
 * timed in real milliseconds; the simulated durations (back-off, time to crash) are divided
 * by the time scale, with a floor of MIN_STEP_MS so that each state is visible.
 *
 *   CONFIG_ERR ──(Secret/ConfigMap and keys present)──┐
 *   (CreateContainerConfigError, retried every 10 s)   │
 *   PULL_ERR → PULL_BACKOFF ──(registry has image)─────┤  start: config, then image, then
 *   (ErrImagePull, ImagePullBackOff, 10 s .. 300 s)    │  run; each start re-reads the
 *                                                      ▼  objects, so a fix heals
 *                         RUNNING ──(fate: exit N / memory over limit)──► exit
 *                           ▲                                                │
 *                           └──── CRASH_BACKOFF ◄── restartPolicy Always, or OnFailure
 *                                 (CrashLoopBackOff,   with N != 0; else DONE (Completed /
 *                                  10 s doubling to    Error), phase Succeeded or Failed
 *                                  300 s)
 * Init containers go through the same machine one after the other and end in DONE; the
 * main containers wait (PodInitializing) until every one has. A container's fate (exit code,
 * readiness, log lines) comes from the scenario (sim_fate_for); memory over the limit is
 * OOMKilled (exit 137), checked every OOM_CHECK_MS against the container's usage curve.
 *
 * Status writes: the whole status is rendered from the runtime record and sent as a merge
 * patch (lists replace wholesale). One write per pod is in flight at a time; a change made
 * meanwhile is sent when it completes, so writes for a pod never overtake each other.
 * Deletion: once deletionTimestamp is set, the pod is deleted with gracePeriodSeconds=0 and
 * a UID precondition after its grace period (compressed), as a kubelet does once its
 * containers stopped. A pod of ours found already running (the simulator restarted) is
 * adopted from its status. Containers' log lines go to s->logs (logstore.h): the first ones
 * from sim_kubelet_log_start, then the scenario's; a restart moves the current instance to
 * "previous"; sim_serve_kubelet serves them over HTTPS for `kubectl logs`. */
#include "base/base64.h"
#include "base/common.h"
#include "base/json.h"
#include "base/timeutil.h"
#include "kube/quantity.h"
#include "sim/sim_internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* Real seconds at most that a deleted pod stays Terminating, whatever its grace period. */
#define MAX_FINISH_WAIT_MS 30000
/* In s->finishing: the final delete was sent; wait for the pod to disappear. */
#define FINISH_SENT ((uintptr_t)-1)
#define MIN_STEP_MS 1000
#define BACKOFF_START_S 10
#define BACKOFF_MAX_S 300
#define CONFIG_RETRY_S 10
#define OOM_CHECK_MS 2000
/* Memory grows to the curve's value over the first simulated minute after a start. */
#define WARMUP_S 60.0
#define MAX_CONTAINERS 64

enum ctr_state { C_NEW, C_CONFIG_ERR, C_PULL_ERR, C_PULL_BACKOFF, C_RUNNING, C_CRASH_BACKOFF,
		 C_DONE };

struct term {
	int exit_code;
	char reason[16];
	char started[40], finished[40], cid[80];
};

struct ctr_rt {
	char name[64];
	char image[256];
	bool init, has_probe, pulled;
	enum ctr_state state;
	int restarts;
	int backoff_s;          /* the next back-off (simulated s) */
	int64_t due_ms;         /* next transition (monotonic real ms); 0: none */
	int64_t exit_ms;        /* running: when the fate's exit comes (monotonic); 0: never */
	int64_t run_real_ms;    /* wall clock ms of the current start */
	int64_t mem_limit;      /* bytes; 0: none */
	struct sim_fate fate;   /* of the current run */
	char msg[512];          /* waiting message */
	char cid[80], started[40];
	bool has_last;
	struct term last;       /* lastState.terminated, or the final state in C_DONE */
	bool ready;
};

struct pod_rt {
	char key[320];
	char uid[64], node[96], ns[128], name[192];
	char restart_policy[12];
	char ip[24], host_ip[20], start_time[40], qos[12];
	struct ctr_rt *c; /* n of them: the init containers first, in order */
	int n, n_init;
	bool inflight, dirty;
	bool failed_ready_event;
};

static void rt_free(struct pod_rt *rt)
{
	if (rt)
		free(rt->c);
	free(rt);
}

static struct pod_rt *rt_get(struct sim *s, const char *key)
{
	return ks_map_get(&s->pod_rt, key);
}

static void queue_key(struct sim *s, const cJSON *pod)
{
	char *key = ks_asprintf("%s/%s", ks_json_str_or(pod, "metadata.namespace", ""),
				ks_json_str_or(pod, "metadata.name", ""));
	ks_map_put(&s->work, key, (void *)1);
	free(key);
}

static void queue_pod(struct sim *s, const cJSON *pod)
{
	const char *node = ks_json_str(pod, "spec.nodeName");
	if (node && sim_node_find(s, node))
		queue_key(s, pod);
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

static void on_delete(void *ctx, const cJSON *pod)
{
	struct sim *s = ctx;
	char *key = ks_asprintf("%s/%s", ks_json_str_or(pod, "metadata.namespace", ""),
				ks_json_str_or(pod, "metadata.name", ""));
	struct pod_rt *rt = ks_map_del(&s->pod_rt, key);
	if (rt) {
		sim_logs_drop_pod(s->logs, rt->ns, rt->name);
		rt_free(rt);
	}
	free(key);
}

static void requeue_all(void *ctx, const cJSON *obj)
{
	/* A Secret or ConfigMap changed: pods waiting on config retry at once. */
	struct sim *s = ctx;
	(void)obj;
	const char *k;
	void *v;
	for (size_t i = 0; ks_map_next(&s->pod_rt, &i, &k, &v);) {
		struct pod_rt *rt = v;
		for (int j = 0; j < rt->n; j++)
			if (rt->c[j].state == C_CONFIG_ERR) {
				rt->c[j].due_ms = 1;
				ks_map_put(&s->timed, k, (void *)1);
			}
	}
}

static void requeue_update(void *ctx, const cJSON *old, const cJSON *obj)
{
	(void)old;
	requeue_all(ctx, obj);
}

int sim_serve_kubelet(struct sim *s, struct ks_err *err)
{
	if (s->kubelet_srv)
		return 0;
	if (s->n_nodes)
		return ks_err_set(err, KS_EINVAL, "kubelet server: start it before registering "
				  "nodes (they advertise its port)");
	char addr[32];
	snprintf(addr, sizeof addr, "127.0.0.1:%d", s->o.kubelet_port);
	int port = 0;
	int rc = sim_kubelet_server_start(s->logs, addr, &s->kubelet_srv, &port, err);
	if (rc)
		return rc;
	s->kubelet_port = port;
	KS_INFO("sim", "kubelet endpoint https://127.0.0.1:%d (container logs)", port);
	return 0;
}

void sim_kubelet_log_start(struct sim *s, const cJSON *pod, const cJSON *container, bool init)
{
	const char *ns = ks_json_str_or(pod, "metadata.namespace", "default");
	const char *name = ks_json_str_or(pod, "metadata.name", "");
	const char *cname = ks_json_str_or(container, "name", "");
	int64_t now = ks_time_now_ms();
	char *line = ks_asprintf("starting %s (image %s) in pod %s/%s", cname,
				 ks_json_str_or(container, "image", ""), ns, name);
	sim_logs_append(s->logs, ns, name, cname, now, line);
	free(line);
	const cJSON *p;
	cJSON_ArrayForEach(p, ks_json_get(container, "ports"))
	{
		const char *proto = ks_json_str_or(p, "protocol", "TCP");
		bool tcp = strcmp(proto, "TCP") == 0;
		line = ks_asprintf("listening on :%lld%s%s",
				   (long long)ks_json_int_or(p, "containerPort", 0), tcp ? "" : "/",
				   tcp ? "" : proto);
		sim_logs_append(s->logs, ns, name, cname, now, line);
		free(line);
	}
	if (init)
		sim_logs_append(s->logs, ns, name, cname, now, "done");
}

int sim_kubelet_start(struct sim *s, struct ks_err *err)
{
	(void)err;
	/* Every pod: the kubelet acts on those bound to our nodes, the provisioner on the
	 * unschedulable ones, the metrics on all. */
	struct kube_watch_opts o = {0};
	s->pods = kube_informer_new(s->c, &KUBE_RES_PODS, &o);
	struct kube_informer_handlers h = {.on_add = on_add, .on_update = on_update,
					   .on_delete = on_delete, .ctx = s};
	kube_informer_add_handlers(s->pods, &h);
	/* What containers read at start: env and envFrom from Secrets and ConfigMaps. */
	struct kube_informer_handlers cfg = {.on_add = requeue_all, .on_update = requeue_update,
					     .ctx = s};
	s->secrets = kube_informer_new(s->c, &KUBE_RES_SECRETS, &o);
	kube_informer_add_handlers(s->secrets, &cfg);
	s->configmaps = kube_informer_new(s->c, &KUBE_RES_CONFIGMAPS, &o);
	kube_informer_add_handlers(s->configmaps, &cfg);
	kube_informer_start(s->secrets);
	kube_informer_start(s->configmaps);
	/* s->pods is started by sim_start, once the provisioner has added its handlers too. */
	return 0;
}

void sim_kubelet_stop(struct sim *s)
{
	const char *k;
	void *v;
	for (size_t i = 0; ks_map_next(&s->pod_rt, &i, &k, &v);)
		rt_free(v);
	ks_map_release(&s->pod_rt);
	ks_map_release(&s->timed);
	kube_informer_free(s->pods);
	kube_informer_free(s->secrets);
	kube_informer_free(s->configmaps);
	s->pods = s->secrets = s->configmaps = NULL;
}

static void post_event(struct sim *s, const struct pod_rt *rt, const char *container,
		       const char *type, const char *reason, const char *message)
{
	char *fp = NULL;
	if (container) {
		bool init = false;
		for (int i = 0; i < rt->n; i++)
			init |= rt->c[i].init && !strcmp(rt->c[i].name, container);
		fp = ks_asprintf("spec.%s{%s}", init ? "initContainers" : "containers", container);
	}
	struct sim_event ev = {
		.kind = "Pod",
		.ns = rt->ns,
		.name = rt->name,
		.uid = rt->uid,
		.field_path = fp,
		.reason = reason,
		.message = message,
		.component = "kubelet",
		.host = rt->node,
		.warning = !strcmp(type, "Warning"),
	};
	sim_post_event(s, &ev);
	free(fp);
}

/* The image ID a registry would give: the repository with a digest. */
static char *image_id(struct sim *s, const char *image)
{
	char digest[65];
	sim_rand_hex(s, digest, sizeof digest);
	char ref[512];
	sim_image_reference(image, ref, sizeof ref);
	size_t n = strcspn(ref, "@");
	const char *colon = NULL, *slash = strrchr(ref, '/');
	for (const char *p = ref; p < ref + n; p++)
		if (*p == ':' && (!slash || p > slash))
			colon = p;
	size_t repo = colon ? (size_t)(colon - ref) : n;
	return ks_asprintf("%.*s@sha256:%s", (int)repo, ref, digest);
}

void sim_image_reference(const char *image, char *out, size_t len)
{
	size_t n = strcspn(image, "/");
	bool has_host = image[n] == '/' && (memchr(image, '.', n) || memchr(image, ':', n) ||
					    (n == 9 && !strncmp(image, "localhost", 9)));
	bool has_tag = strchr(image + (image[n] == '/' ? n : 0), ':') || strchr(image, '@');
	snprintf(out, len, "%s%s%s%s", has_host ? "" : "docker.io/",
		 has_host || image[n] == '/' ? "" : "library/", image, has_tag ? "" : ":latest");
}

/* ---- config: what a container needs before it can be created ---- */

static bool has_key(const cJSON *obj, const char *key)
{
	const cJSON *d = ks_json_get(obj, "data"), *b = ks_json_get(obj, "binaryData");
	return (d && cJSON_GetObjectItemCaseSensitive(d, key)) ||
	       (b && cJSON_GetObjectItemCaseSensitive(b, key));
}

/* The kubelet's message for a missing Secret/ConfigMap or key, or "" when all is there. */
static bool check_ref(struct sim *s, const char *ns, bool secret, const char *name,
		      const char *key, bool optional, char *msg, size_t len)
{
	cJSON *obj = kube_informer_get_json(secret ? s->secrets : s->configmaps, ns, name);
	bool ok = true;
	if (!obj) {
		if (!optional) {
			snprintf(msg, len, "%s \"%s\" not found", secret ? "secret" : "configmap",
				 name);
			ok = false;
		}
	} else if (key && !has_key(obj, key) && !optional) {
		snprintf(msg, len, "couldn't find key %s in %s %s/%s", key,
			 secret ? "Secret" : "ConfigMap", ns, name);
		ok = false;
	}
	cJSON_Delete(obj);
	return ok;
}

static bool config_ok(struct sim *s, const char *ns, const cJSON *spec, char *msg, size_t len)
{
	const cJSON *e;
	cJSON_ArrayForEach(e, ks_json_get(spec, "env"))
	{
		const cJSON *sk = ks_json_get(e, "valueFrom.secretKeyRef");
		const cJSON *ck = ks_json_get(e, "valueFrom.configMapKeyRef");
		const cJSON *ref = sk ? sk : ck;
		if (ref && !check_ref(s, ns, sk != NULL, ks_json_str_or(ref, "name", ""),
				      ks_json_str_or(ref, "key", ""),
				      ks_json_bool_or(ref, "optional", false), msg, len))
			return false;
	}
	cJSON_ArrayForEach(e, ks_json_get(spec, "envFrom"))
	{
		const cJSON *sr = ks_json_get(e, "secretRef"), *cr = ks_json_get(e, "configMapRef");
		const cJSON *ref = sr ? sr : cr;
		if (ref && !check_ref(s, ns, sr != NULL, ks_json_str_or(ref, "name", ""), NULL,
				      ks_json_bool_or(ref, "optional", false), msg, len))
			return false;
	}
	return true;
}

/* ---- the container state machine ---- */

static int64_t real_delay_ms(const struct sim *s, double sim_seconds)
{
	double ms = sim_seconds * 1000.0 / s->o.time_scale;
	return ms < MIN_STEP_MS ? MIN_STEP_MS : (int64_t)ms;
}

static const cJSON *ctr_spec(const cJSON *pod, const struct ctr_rt *c)
{
	const cJSON *x;
	cJSON_ArrayForEach(x, ks_json_get(pod, c->init ? "spec.initContainers" : "spec.containers"))
		if (!strcmp(ks_json_str_or(x, "name", ""), c->name))
			return x;
	return NULL;
}

static void ctr_log(struct sim *s, const struct pod_rt *rt, const struct ctr_rt *c,
		    const char *line)
{
	sim_logs_append(s->logs, rt->ns, rt->name, c->name, ks_time_now_ms(), line);
}

/* A running container's next look: its exit, or the next memory check when it has a limit. */
static int64_t running_due(const struct ctr_rt *c, int64_t now)
{
	int64_t oom = c->mem_limit > 0 ? now + OOM_CHECK_MS : 0;
	if (!c->exit_ms)
		return oom;
	return oom && oom < c->exit_ms ? oom : c->exit_ms;
}

/* Try to (re)start a container: config, then image, then run. */
static void ctr_start(struct sim *s, struct pod_rt *rt, struct ctr_rt *c, const cJSON *pod)
{
	const cJSON *spec = ctr_spec(pod, c);
	if (!spec)
		return;
	char msg[512];
	int64_t now = ks_mono_ms();
	if (!config_ok(s, rt->ns, spec, msg, sizeof msg)) {
		if (c->state != C_CONFIG_ERR || strcmp(c->msg, msg)) {
			char *ev = ks_asprintf("Error: %s", msg);
			post_event(s, rt, c->name, "Warning", "Failed", ev);
			free(ev);
		}
		c->state = C_CONFIG_ERR;
		snprintf(c->msg, sizeof c->msg, "%s", msg);
		c->due_ms = now + real_delay_ms(s, CONFIG_RETRY_S);
		rt->dirty = true;
		return;
	}
	char ref[512];
	sim_image_reference(c->image, ref, sizeof ref);
	if (!c->pulled) {
		char *ev = ks_asprintf("Pulling image \"%s\"", c->image);
		post_event(s, rt, c->name, "Normal", "Pulling", ev);
		free(ev);
		if (!sim_image_available(s, c->image)) {
			snprintf(c->msg, sizeof c->msg,
				 "rpc error: code = NotFound desc = failed to pull and unpack image "
				 "\"%s\": failed to resolve reference \"%s\": %s: not found",
				 ref, ref, ref);
			ev = ks_asprintf("Failed to pull image \"%s\": %s", c->image, c->msg);
			post_event(s, rt, c->name, "Warning", "Failed", ev);
			free(ev);
			post_event(s, rt, c->name, "Warning", "Failed", "Error: ErrImagePull");
			c->state = C_PULL_ERR;
			c->due_ms = now + MIN_STEP_MS;
			rt->dirty = true;
			return;
		}
		ev = ks_asprintf("Successfully pulled image \"%s\" in %d.%03ds", c->image,
				 1 + (int)(sim_rand(s) % 3), (int)(sim_rand(s) % 1000));
		post_event(s, rt, c->name, "Normal", "Pulled", ev);
		free(ev);
		c->pulled = true;
	} else {
		char *ev = ks_asprintf("Container image \"%s\" already present on machine",
				       c->image);
		post_event(s, rt, c->name, "Normal", "Pulled", ev);
		free(ev);
	}
	char *ev = ks_asprintf("Created container %s", c->name);
	post_event(s, rt, c->name, "Normal", "Created", ev);
	free(ev);
	ev = ks_asprintf("Started container %s", c->name);
	post_event(s, rt, c->name, "Normal", "Started", ev);
	free(ev);

	if (c->state == C_CRASH_BACKOFF)
		sim_logs_restart(s->logs, rt->ns, rt->name, c->name);
	char hx[65];
	sim_rand_hex(s, hx, sizeof hx);
	snprintf(c->cid, sizeof c->cid, "containerd://%s", hx);
	sim_now(c->started, sizeof c->started);
	c->run_real_ms = ks_time_now_ms();
	c->state = C_RUNNING;
	c->msg[0] = '\0';
	sim_fate_for(s, pod, c->name, &c->fate);
	sim_kubelet_log_start(s, pod, spec, c->init);
	for (size_t i = 0; i < c->fate.n_log; i++)
		ctr_log(s, rt, c, c->fate.log[i]);
	/* with a readiness probe, a container that is going to fail (its scenario has it exit
	 * non-zero: it cannot reach what it needs) never answers the probe: never ready, as a
	 * real app whose health check waits for its database */
	c->ready = !c->init && !((c->fate.not_ready || c->fate.exit_code > 0) && c->has_probe);
	if (c->fate.not_ready && c->has_probe && !c->init) {
		ev = ks_asprintf("Readiness probe failed: %s", c->fate.probe_message);
		post_event(s, rt, c->name, "Warning", "Unhealthy", ev);
		free(ev);
	}
	if (c->init && c->fate.exit_code < 0) {
		c->fate.exit_code = 0; /* an init container runs to completion */
		c->fate.exit_after_s = 0;
	}
	c->exit_ms = c->fate.exit_code >= 0 ? now + real_delay_ms(s, c->fate.exit_after_s) : 0;
	c->due_ms = running_due(c, now);
	rt->dirty = true;
}

/* Seconds as Go's time.Duration prints them: "10s", "1m20s", "5m0s". */
static void go_duration(int s, char *out, size_t len)
{
	if (s < 60)
		snprintf(out, len, "%ds", s);
	else
		snprintf(out, len, "%dm%ds", s / 60, s % 60);
}

static void ctr_exit(struct sim *s, struct pod_rt *rt, struct ctr_rt *c, int code,
		     const char *reason)
{
	c->exit_ms = 0;
	c->has_last = true;
	c->last.exit_code = code;
	snprintf(c->last.reason, sizeof c->last.reason, "%s", reason);
	snprintf(c->last.started, sizeof c->last.started, "%s", c->started);
	sim_now(c->last.finished, sizeof c->last.finished);
	snprintf(c->last.cid, sizeof c->last.cid, "%s", c->cid);
	c->ready = false;
	rt->dirty = true;
	bool restart = !strcmp(rt->restart_policy, "Always") ? !c->init || code != 0
		       : !strcmp(rt->restart_policy, "OnFailure") ? code != 0
								  : false;
	if (!restart) {
		c->state = C_DONE;
		c->due_ms = 0;
		return;
	}
	c->restarts++;
	if (c->backoff_s == 0)
		c->backoff_s = BACKOFF_START_S;
	char d[16];
	go_duration(c->backoff_s, d, sizeof d);
	snprintf(c->msg, sizeof c->msg, "back-off %s restarting failed container=%s pod=%s_%s(%s)",
		 d, c->name, rt->name, rt->ns, rt->uid);
	post_event(s, rt, c->name, "Warning", "BackOff", "Back-off restarting failed container");
	c->state = C_CRASH_BACKOFF;
	c->due_ms = ks_mono_ms() + real_delay_ms(s, c->backoff_s);
	c->backoff_s = c->backoff_s * 2 > BACKOFF_MAX_S ? BACKOFF_MAX_S : c->backoff_s * 2;
}

/* Memory in use now (MiB), warming up over the first simulated minute after start. */
static double mem_now_mib(struct sim *s, const cJSON *pod, const struct ctr_rt *c)
{
	struct sim_usage_curve curve;
	sim_usage_for(s, pod, c->name, &curve);
	double up = (double)(ks_time_now_ms() - c->run_real_ms) / 1000.0 * s->o.time_scale;
	double f = up >= WARMUP_S ? 1.0 : up / WARMUP_S;
	return sim_usage_mem_mib(&curve, sim_time_now(s)) * f;
}

static void ctr_tick(struct sim *s, struct pod_rt *rt, struct ctr_rt *c, const cJSON *pod)
{
	int64_t now = ks_mono_ms();
	switch (c->state) {
	case C_NEW:
	case C_CONFIG_ERR:
	case C_PULL_BACKOFF:
	case C_CRASH_BACKOFF:
		ctr_start(s, rt, c, pod);
		break;
	case C_PULL_ERR: {
		char *ev = ks_asprintf("Back-off pulling image \"%s\"", c->image);
		post_event(s, rt, c->name, "Normal", "BackOff", ev);
		snprintf(c->msg, sizeof c->msg, "%s", ev);
		free(ev);
		post_event(s, rt, c->name, "Warning", "Failed", "Error: ImagePullBackOff");
		if (c->backoff_s == 0)
			c->backoff_s = BACKOFF_START_S;
		c->state = C_PULL_BACKOFF;
		c->due_ms = now + real_delay_ms(s, c->backoff_s);
		c->backoff_s = c->backoff_s * 2 > BACKOFF_MAX_S ? BACKOFF_MAX_S : c->backoff_s * 2;
		rt->dirty = true;
		break;
	}
	case C_RUNNING:
		if (c->mem_limit > 0 &&
		    mem_now_mib(s, pod, c) * 1024.0 * 1024.0 > (double)c->mem_limit) {
			ctr_log(s, rt, c, "fatal error: runtime: out of memory");
			ctr_exit(s, rt, c, 137, "OOMKilled");
		} else if (c->exit_ms && now >= c->exit_ms) {
			ctr_exit(s, rt, c, c->fate.exit_code,
				 c->fate.exit_code == 0 ? "Completed" : "Error");
		} else {
			c->due_ms = running_due(c, now);
		}
		break;
	case C_DONE:
		c->due_ms = 0;
		break;
	}
}

/* ---- pod status ---- */

static cJSON *condition(const char *type, bool ok, const char *reason, const char *message,
			const char *now)
{
	cJSON *c = cJSON_CreateObject();
	cJSON_AddStringToObject(c, "type", type);
	cJSON_AddStringToObject(c, "status", ok ? "True" : "False");
	cJSON_AddNullToObject(c, "lastProbeTime");
	cJSON_AddStringToObject(c, "lastTransitionTime", now);
	if (!ok && reason) {
		cJSON_AddStringToObject(c, "reason", reason);
		cJSON_AddStringToObject(c, "message", message);
	}
	return c;
}

static void add_term(cJSON *parent, const char *key, const struct term *t)
{
	cJSON *o = cJSON_AddObjectToObject(parent, key);
	cJSON_AddNumberToObject(o, "exitCode", t->exit_code);
	cJSON_AddStringToObject(o, "reason", t->reason);
	cJSON_AddStringToObject(o, "startedAt", t->started);
	cJSON_AddStringToObject(o, "finishedAt", t->finished);
	cJSON_AddStringToObject(o, "containerID", t->cid);
}

static bool inits_done(const struct pod_rt *rt)
{
	for (int i = 0; i < rt->n_init; i++)
		if (rt->c[i].state != C_DONE || rt->c[i].last.exit_code != 0)
			return false;
	return true;
}

static cJSON *ctr_status(struct sim *s, const struct pod_rt *rt, const struct ctr_rt *c)
{
	cJSON *st = cJSON_CreateObject();
	cJSON_AddStringToObject(st, "name", c->name);
	cJSON *state = cJSON_AddObjectToObject(st, "state");
	const char *waiting = NULL;
	switch (c->state) {
	case C_NEW:
		waiting = c->init ? "PodInitializing" : inits_done(rt) ? "ContainerCreating"
									: "PodInitializing";
		break;
	case C_CONFIG_ERR:
		waiting = "CreateContainerConfigError";
		break;
	case C_PULL_ERR:
		waiting = "ErrImagePull";
		break;
	case C_PULL_BACKOFF:
		waiting = "ImagePullBackOff";
		break;
	case C_CRASH_BACKOFF:
		waiting = "CrashLoopBackOff";
		break;
	case C_RUNNING:
		cJSON_AddStringToObject(cJSON_AddObjectToObject(state, "running"), "startedAt",
					c->started);
		break;
	case C_DONE:
		add_term(state, "terminated", &c->last);
		break;
	}
	if (waiting) {
		cJSON *w = cJSON_AddObjectToObject(state, "waiting");
		cJSON_AddStringToObject(w, "reason", waiting);
		if (c->msg[0])
			cJSON_AddStringToObject(w, "message", c->msg);
	}
	cJSON *last = cJSON_AddObjectToObject(st, "lastState");
	if (c->has_last && c->state != C_DONE)
		add_term(last, "terminated", &c->last);
	cJSON_AddBoolToObject(st, "ready", c->ready);
	cJSON_AddNumberToObject(st, "restartCount", c->restarts);
	cJSON_AddStringToObject(st, "image", c->image);
	char *iid = c->pulled ? image_id(s, c->image) : ks_strdup("");
	cJSON_AddStringToObject(st, "imageID", iid);
	free(iid);
	if (c->cid[0])
		cJSON_AddStringToObject(st, "containerID", c->cid);
	if (!c->init)
		cJSON_AddBoolToObject(st, "started", c->state == C_RUNNING);
	return st;
}

static void names_where(const struct pod_rt *rt, bool init, bool want_ready, struct ks_buf *b)
{
	ks_buf_append(b, "[", 1);
	bool first = true;
	for (int i = 0; i < rt->n; i++) {
		const struct ctr_rt *c = &rt->c[i];
		if (c->init != init)
			continue;
		bool incomplete = init ? !(c->state == C_DONE && c->last.exit_code == 0)
				       : !c->ready;
		if (!incomplete || !want_ready)
			continue;
		if (!first)
			ks_buf_append(b, " ", 1);
		ks_buf_append(b, c->name, strlen(c->name));
		first = false;
	}
	ks_buf_append(b, "]", 1);
}

static void send_status(struct sim *s, struct pod_rt *rt);

static void status_sent(void *ctx, struct kube_http_resp *resp, int rc, const struct ks_err *err)
{
	char *key = ctx;
	struct sim *s = *(struct sim **)key;
	(void)resp;
	if (rc && rc != KS_ENOTFOUND && rc != KS_ECONFLICT) {
		s->st.api_errors++;
		KS_WARN("sim", "%s", err ? err->msg : "pod status update failed");
	}
	struct pod_rt *rt = rt_get(s, key + sizeof s);
	if (rt) {
		rt->inflight = false;
		if (rt->dirty)
			send_status(s, rt);
	}
	free(key);
}

static void send_status(struct sim *s, struct pod_rt *rt)
{
	if (rt->inflight)
		return; /* sent when the write in flight completes */
	rt->dirty = false;
	char now[40];
	sim_now(now, sizeof now);
	cJSON *patch = cJSON_CreateObject();
	cJSON *st = cJSON_AddObjectToObject(patch, "status");
	bool any_running = false, all_ready = rt->n > rt->n_init, all_done = true, any_failed = false;
	for (int i = rt->n_init; i < rt->n; i++) {
		const struct ctr_rt *c = &rt->c[i];
		any_running |= c->state == C_RUNNING || c->state == C_CRASH_BACKOFF ||
			       (c->has_last && c->state != C_DONE);
		all_ready &= c->ready;
		all_done &= c->state == C_DONE;
		any_failed |= c->state == C_DONE && c->last.exit_code != 0;
	}
	const char *phase = all_done && rt->n > rt->n_init ? (any_failed ? "Failed" : "Succeeded")
			    : any_running			  ? "Running"
								  : "Pending";
	cJSON_AddStringToObject(st, "phase", phase);
	bool initialized = inits_done(rt);
	struct ks_buf b;
	ks_buf_init(&b, KS_BUF_UNLIMITED);
	cJSON *conds = cJSON_AddArrayToObject(st, "conditions");
	names_where(rt, true, true, &b);
	char *m = ks_asprintf("containers with incomplete status: %.*s", (int)b.len, b.data);
	cJSON_AddItemToArray(conds, condition("Initialized", initialized,
					      "ContainersNotInitialized", m, now));
	free(m);
	ks_buf_reset(&b);
	names_where(rt, false, true, &b);
	m = ks_asprintf("containers with unready status: %.*s", (int)b.len, b.data);
	cJSON_AddItemToArray(conds, condition("Ready", all_ready, "ContainersNotReady", m, now));
	cJSON_AddItemToArray(conds,
			     condition("ContainersReady", all_ready, "ContainersNotReady", m, now));
	free(m);
	ks_buf_release(&b);
	cJSON_AddItemToArray(conds, condition("PodScheduled", true, NULL, NULL, now));
	cJSON_AddStringToObject(st, "hostIP", rt->host_ip);
	cJSON_AddStringToObject(st, "podIP", rt->ip);
	cJSON *ips = cJSON_AddArrayToObject(st, "podIPs");
	cJSON *ipo = cJSON_CreateObject();
	cJSON_AddStringToObject(ipo, "ip", rt->ip);
	cJSON_AddItemToArray(ips, ipo);
	cJSON_AddStringToObject(st, "startTime", rt->start_time);
	if (rt->n_init) {
		cJSON *a = cJSON_AddArrayToObject(st, "initContainerStatuses");
		for (int i = 0; i < rt->n_init; i++)
			cJSON_AddItemToArray(a, ctr_status(s, rt, &rt->c[i]));
	}
	cJSON *a = cJSON_AddArrayToObject(st, "containerStatuses");
	for (int i = rt->n_init; i < rt->n; i++)
		cJSON_AddItemToArray(a, ctr_status(s, rt, &rt->c[i]));
	cJSON_AddStringToObject(st, "qosClass", rt->qos);
	char *body = ks_json_print(patch);
	char *path = ks_asprintf("/api/v1/namespaces/%s/pods/%s/status", rt->ns, rt->name);
	struct kube_http_req req = {.method = "PATCH", .path = path,
				    .content_type = "application/merge-patch+json", .body = body,
				    .body_len = strlen(body)};
	/* The callback finds the pod again by key: it may be gone by then. */
	size_t kl = strlen(rt->key);
	char *ctx = ks_malloc(sizeof s + kl + 1);
	memcpy(ctx, &s, sizeof s);
	memcpy(ctx + sizeof s, rt->key, kl + 1);
	rt->inflight = true;
	kube_http_start(s->c->http, &req, status_sent, ctx);
	s->st.status_updates++;
	free(path);
	free(body);
	cJSON_Delete(patch);
}

/* ---- pods ---- */

static int64_t mem_limit_of(const cJSON *spec)
{
	const char *v = ks_json_str(spec, "resources.limits.memory");
	struct kube_quantity q;
	if (!v || kube_quantity_parse(v, strlen(v), &q, NULL))
		return 0;
	return kube_quantity_value(&q);
}

static const char *qos_class(const cJSON *pod)
{
	bool any = false, guaranteed = true;
	const cJSON *c;
	cJSON_ArrayForEach(c, ks_json_get(pod, "spec.containers"))
	{
		static const char *const res[] = {"cpu", "memory"};
		for (size_t i = 0; i < KS_ARRAY_LEN(res); i++) {
			const cJSON *req = ks_json_get(ks_json_get(c, "resources.requests"), res[i]);
			const cJSON *lim = ks_json_get(ks_json_get(c, "resources.limits"), res[i]);
			any |= req || lim;
			if (!lim || (req && cJSON_IsString(req) && cJSON_IsString(lim) &&
				     strcmp(req->valuestring, lim->valuestring)))
				guaranteed = false;
		}
	}
	return !any ? "BestEffort" : guaranteed ? "Guaranteed" : "Burstable";
}

static void add_containers(struct pod_rt *rt, const cJSON *pod, bool init, int cap)
{
	const cJSON *x;
	cJSON_ArrayForEach(x, ks_json_get(pod, init ? "spec.initContainers" : "spec.containers"))
	{
		if (rt->n >= cap)
			return;
		struct ctr_rt *c = &rt->c[rt->n++];
		snprintf(c->name, sizeof c->name, "%s", ks_json_str_or(x, "name", ""));
		snprintf(c->image, sizeof c->image, "%s", ks_json_str_or(x, "image", ""));
		c->init = init;
		c->has_probe = ks_json_get(x, "readinessProbe") != NULL;
		c->mem_limit = mem_limit_of(x);
		c->fate.exit_code = -1;
		if (init)
			rt->n_init++;
	}
}

static struct pod_rt *new_rt(struct sim *s, const char *key, const cJSON *pod, struct sim_node *n)
{
	struct pod_rt *rt = ks_calloc(1, sizeof *rt);
	snprintf(rt->key, sizeof rt->key, "%s", key);
	snprintf(rt->ns, sizeof rt->ns, "%s", ks_json_str_or(pod, "metadata.namespace", ""));
	snprintf(rt->name, sizeof rt->name, "%s", ks_json_str_or(pod, "metadata.name", ""));
	snprintf(rt->uid, sizeof rt->uid, "%s", ks_json_str_or(pod, "metadata.uid", ""));
	snprintf(rt->node, sizeof rt->node, "%s", n->name);
	snprintf(rt->restart_policy, sizeof rt->restart_policy, "%s",
		 ks_json_str_or(pod, "spec.restartPolicy", "Always"));
	snprintf(rt->host_ip, sizeof rt->host_ip, "%s", n->ip);
	snprintf(rt->qos, sizeof rt->qos, "%s", qos_class(pod));
	const char *ip = ks_json_str(pod, "status.podIP");
	if (ip) {
		snprintf(rt->ip, sizeof rt->ip, "%s", ip);
	} else if (ks_json_bool_or(pod, "spec.hostNetwork", false)) {
		snprintf(rt->ip, sizeof rt->ip, "%s", n->ip);
	} else {
		snprintf(rt->ip, sizeof rt->ip, "10.%u.%u.%u", n->subnet_a, n->subnet_b,
			 n->pod_ip_next);
		n->pod_ip_next = n->pod_ip_next >= 254 ? 2 : n->pod_ip_next + 1;
	}
	const char *started = ks_json_str(pod, "status.startTime");
	if (started)
		snprintf(rt->start_time, sizeof rt->start_time, "%s", started);
	else
		sim_now(rt->start_time, sizeof rt->start_time);
	int cap = ks_json_len(ks_json_get(pod, "spec.initContainers")) +
		  ks_json_len(ks_json_get(pod, "spec.containers"));
	if (cap > MAX_CONTAINERS)
		cap = MAX_CONTAINERS;
	rt->c = ks_calloc(cap ? (size_t)cap : 1, sizeof *rt->c);
	add_containers(rt, pod, true, cap);
	add_containers(rt, pod, false, cap);
	ks_map_put(&s->pod_rt, key, rt);
	return rt;
}

/* A pod of ours that already has container statuses: a previous simulator ran it. Running
 * containers keep running (with their fate re-read); the others retry now. */
static void adopt(struct sim *s, struct pod_rt *rt, const cJSON *pod)
{
	for (int i = 0; i < rt->n; i++) {
		struct ctr_rt *c = &rt->c[i];
		const cJSON *st;
		const cJSON *list = ks_json_get(pod, c->init ? "status.initContainerStatuses"
							     : "status.containerStatuses");
		cJSON_ArrayForEach(st, list)
		{
			if (strcmp(ks_json_str_or(st, "name", ""), c->name))
				continue;
			c->restarts = (int)ks_json_int_or(st, "restartCount", 0);
			c->pulled = ks_json_str(st, "imageID") && *ks_json_str(st, "imageID");
			snprintf(c->cid, sizeof c->cid, "%s", ks_json_str_or(st, "containerID", ""));
			const char *started = ks_json_str(st, "state.running.startedAt");
			if (started) {
				snprintf(c->started, sizeof c->started, "%s", started);
				c->state = C_RUNNING;
				c->run_real_ms = ks_time_now_ms();
				sim_fate_for(s, pod, c->name, &c->fate);
				c->ready = ks_json_bool_or(st, "ready", false);
				int64_t now = ks_mono_ms();
				c->exit_ms = c->fate.exit_code >= 0
						     ? now + real_delay_ms(s, c->fate.exit_after_s)
						     : 0;
				c->due_ms = running_due(c, now);
			} else if (ks_json_get(st, "state.terminated") && c->init) {
				c->state = C_DONE;
				c->last.exit_code =
					(int)ks_json_int_or(st, "state.terminated.exitCode", 0);
			} else {
				c->due_ms = 1;
			}
		}
		if (c->state == C_NEW)
			c->due_ms = 1;
	}
}

/* Advance the pod's containers whose time has come; returns the next due time (0: none).
 * Init containers run one at a time, in order; the main containers once all completed. */
static int64_t pod_tick(struct sim *s, struct pod_rt *rt, const cJSON *pod)
{
	int64_t now = ks_mono_ms(), next = 0;
	int first = 0;
	while (first < rt->n_init && rt->c[first].state == C_DONE &&
	       rt->c[first].last.exit_code == 0)
		first++;
	int last = first < rt->n_init ? first + 1 : rt->n;
	for (int i = first; i < last; i++) {
		struct ctr_rt *c = &rt->c[i];
		if (c->state == C_NEW && !c->due_ms)
			c->due_ms = now;
		if (c->due_ms && c->due_ms <= now)
			ctr_tick(s, rt, c, pod);
		if (c->due_ms && (!next || c->due_ms < next))
			next = c->due_ms;
	}
	if (first < rt->n_init && rt->c[first].state == C_DONE && rt->c[first].last.exit_code == 0)
		next = now; /* the next init container, or the main ones, start at the next turn */
	if (rt->dirty)
		send_status(s, rt);
	return next;
}

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

static char **take_keys(struct ks_map *m, size_t *n_out, bool clear)
{
	size_t n = 0, cap = 0;
	char **keys = NULL;
	const char *k;
	void *v;
	for (size_t i = 0; ks_map_next(m, &i, &k, &v);) {
		keys = ks_grow(keys, sizeof *keys, n + 1, &cap);
		keys[n++] = ks_strdup(k);
	}
	if (clear) {
		ks_map_release(m);
		ks_map_init(m);
	}
	*n_out = n;
	return keys;
}

static cJSON *get_pod(struct sim *s, char *key)
{
	char *slash = strchr(key, '/');
	*slash = '\0';
	cJSON *pod = kube_informer_get_json(s->pods, key, slash + 1);
	*slash = '/';
	return pod;
}

static void sync_pod(struct sim *s, const char *key, const cJSON *pod)
{
	struct sim_node *node = sim_node_find(s, ks_json_str_or(pod, "spec.nodeName", ""));
	if (!node)
		return;
	struct pod_rt *rt = rt_get(s, key);
	if (rt && strcmp(rt->uid, ks_json_str_or(pod, "metadata.uid", ""))) {
		/* Same name, new pod (a StatefulSet replica): start over. */
		ks_map_del(&s->pod_rt, key);
		sim_logs_drop_pod(s->logs, rt->ns, rt->name);
		rt_free(rt);
		rt = NULL;
	}
	if (ks_json_str(pod, "metadata.deletionTimestamp")) {
		if (!ks_map_get(&s->finishing, key))
			ks_map_put(&s->finishing, key, (void *)(uintptr_t)finish_due(s, pod));
		return;
	}
	const char *phase = ks_json_str_or(pod, "status.phase", "Pending");
	if (!rt) {
		if (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed"))
			return;
		rt = new_rt(s, key, pod, node);
		if (ks_json_get(pod, "status.containerStatuses")) {
			adopt(s, rt, pod);
		} else {
			s->st.pods_started++;
			KS_DEBUG("sim", "kubelet %s: starting %s", node->name, key);
		}
		ks_map_put(&s->timed, key, (void *)1);
		pod_tick(s, rt, pod);
	}
}

void sim_kubelet_work(struct sim *s)
{
	size_t n;
	char **keys = take_keys(&s->work, &n, true);
	for (size_t i = 0; i < n; i++) {
		cJSON *pod = get_pod(s, keys[i]);
		if (pod)
			sync_pod(s, keys[i], pod);
		cJSON_Delete(pod);
		free(keys[i]);
	}
	free(keys);

	/* Containers whose next transition is due. */
	int64_t now = ks_mono_ms();
	if (now >= s->next_timed_ms) {
		s->next_timed_ms = now + 200;
		keys = take_keys(&s->timed, &n, false);
		for (size_t i = 0; i < n; i++) {
			struct pod_rt *rt = rt_get(s, keys[i]);
			cJSON *pod = rt ? get_pod(s, keys[i]) : NULL;
			int64_t next = 0;
			if (pod && !ks_json_str(pod, "metadata.deletionTimestamp"))
				next = pod_tick(s, rt, pod);
			if (!next)
				ks_map_del(&s->timed, keys[i]);
			cJSON_Delete(pod);
			free(keys[i]);
		}
		free(keys);
	}

	/* Deletions whose grace period is over. */
	keys = NULL;
	size_t cap = 0;
	n = 0;
	const char *k;
	void *v;
	for (size_t i = 0; ks_map_next(&s->finishing, &i, &k, &v);)
		if ((uintptr_t)v == FINISH_SENT || (int64_t)(uintptr_t)v <= now) {
			keys = ks_grow(keys, sizeof *keys, n + 1, &cap);
			keys[n++] = ks_strdup(k);
		}
	for (size_t i = 0; i < n; i++) {
		uintptr_t state = (uintptr_t)ks_map_get(&s->finishing, keys[i]);
		cJSON *pod = get_pod(s, keys[i]);
		if (!pod) {
			ks_map_del(&s->finishing, keys[i]); /* gone: done */
		} else if (state != FINISH_SENT) {
			char *slash = strchr(keys[i], '/');
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

/* Wake the containers waiting on something that just changed in the simulated world (the
 * registry, the vault): they retry now. */
void sim_kubelet_retry_all(struct sim *s)
{
	const char *k;
	void *v;
	for (size_t i = 0; ks_map_next(&s->pod_rt, &i, &k, &v);) {
		struct pod_rt *rt = v;
		for (int j = 0; j < rt->n; j++)
			if (rt->c[j].state == C_CONFIG_ERR || rt->c[j].state == C_PULL_BACKOFF)
				rt->c[j].due_ms = 1;
		ks_map_put(&s->timed, k, (void *)1);
	}
}
