/* world_load.c — filling a world from a live cluster: one LIST+WATCH per kind, then the logs
 * of failing containers, bounded and in parallel.
 *
 * Kinds: discovery says which the server serves and at which versions; each kind is read at
 * the newest version both the server and kswarm know (world_kinds[].versions), so a v1.20
 * server gives batch/v1beta1 CronJobs and policy/v1beta1 PDBs, a newer one batch/v1 and
 * policy/v1. Every informer starts at once on the client's one connection pool; loading is
 * done when all have synced (their first LIST is in), and the watches keep running until
 * world_free, for callers that analyze again later.
 *
 * Logs: for each container that is crash-looping, restarted after a non-zero exit,
 * terminated non-zero, or running but not ready, the tail of its log (the previous instance
 * for the restarted ones), at most three containers per workload and container name and
 * world_log_opts.max_logs in all, `parallel` requests at a time. */
#include "base/common.h"
#include "world/world_internal.h"

#include <stdio.h>
#include <string.h>

#include "base/json.h"
#include "base/timeutil.h"
#include "kube/discovery.h"
#include "kube/http.h"
#include "kube/informer.h"

static const char *pick_version(const struct kube_api_resource *ar,
				const struct world_kind_info *ki)
{
	for (int i = 0; i < 4 && ki->versions[i]; i++)
		for (int j = 0; j < ar->n_versions; j++)
			if (!strcmp(ar->versions[j], ki->versions[i]))
				return ki->versions[i];
	return ar->r.version;
}

static void progress(const struct world *w, int synced, int total, bool final)
{
	size_t objects = 0;
	for (int k = 0; k < WK_COUNT; k++)
		objects += world_count(w, (enum world_kind)k);
	fprintf(stderr, "\rreading the cluster: %d/%d kinds, %zu objects%s", synced, total,
		objects, final ? "\n" : "");
	fflush(stderr);
}

int world_load_live(struct world *w, struct kube_client *c, const struct world_load_opts *o,
		    struct ks_err *err)
{
	int64_t t0 = ks_mono_ms();
	struct kube_http_stats hs0;
	kube_http_get_stats(c->http, &hs0);
	if (kube_discovery_ensure(c, err))
		return ks_err_wrap(err, "discovery");
	const struct kube_discovery *d = c->discovery;
	world_set_cluster(w, c->context ? c->context : kube_http_server(c->http),
			  d->server_version);
	w->now = ks_time_now_ms() / 1000;
	int total = 0;
	for (int k = 0; k < WK_COUNT; k++) {
		const struct world_kind_info *ki = &world_kinds[k];
		const struct kube_api_resource *ar = kube_discovery_by_kind(d, ki->group, ki->kind);
		if (!ar)
			continue;
		w->served[k] = true;
		w->res[k] = ar->r;
		snprintf(w->res[k].version, sizeof w->res[k].version, "%s", pick_version(ar, ki));
		w->res[k].subresource[0] = 0;
		struct kube_watch_opts wo = {.ns = ki->namespaced ? o->ns : NULL};
		kube_informer_free(w->inf[k]);
		w->inf[k] = kube_informer_new(c, &w->res[k], &wo);
		if (k == WK_SECRET)
			kube_informer_set_transform(w->inf[k], world_secret_transform, w);
		kube_informer_start(w->inf[k]);
		total++;
	}
	long budget = o->timeout_ms > 0 ? o->timeout_ms : 60000;
	int64_t deadline = ks_mono_ms() + budget, last_progress = 0;
	int synced = 0;
	bool was_synced[WK_COUNT] = {false};
	for (;;) {
		synced = 0;
		long timeout = 100;
		for (int k = 0; k < WK_COUNT; k++) {
			if (!w->inf[k] || !kube_informer_watch(w->inf[k]))
				continue;
			if (kube_informer_synced(w->inf[k])) {
				synced++;
				if (!was_synced[k])
					KS_DEBUG("world", "%s: %zu listed in %lld ms", w->res[k].resource,
						 kube_informer_count(w->inf[k]),
						 (long long)(ks_mono_ms() - t0));
				was_synced[k] = true;
			}
			timeout = kube_informer_tick(w->inf[k], timeout);
		}
		if (o->progress && ks_mono_ms() - last_progress >= 250) {
			progress(w, synced, total, false);
			last_progress = ks_mono_ms();
		}
		if (synced == total)
			break;
		if (ks_mono_ms() > deadline) {
			if (o->progress)
				progress(w, synced, total, true);
			for (int k = 0; k < WK_COUNT; k++)
				if (w->inf[k] && kube_informer_watch(w->inf[k]) &&
				    !kube_informer_synced(w->inf[k]))
					return ks_err_set(err, KS_ETIMEOUT,
							  "listing %s did not finish within %ld ms",
							  w->res[k].resource, budget);
		}
		kube_http_poll(c->http, timeout);
	}
	if (o->progress)
		progress(w, synced, total, true);
	struct kube_http_stats hs1;
	kube_http_get_stats(c->http, &hs1);
	w->stats.api_calls += hs1.requests - hs0.requests;
	for (int k = 0; k < WK_COUNT; k++) {
		w->stats.objects += world_count(w, (enum world_kind)k);
		struct kube_watch *wt = w->inf[k] ? kube_informer_watch(w->inf[k]) : NULL;
		if (wt) {
			struct kube_watch_stats st;
			kube_watch_get_stats(wt, &st);
			w->stats.list_calls += st.lists;
		}
	}
	world_index_invalidate(w);
	world_build_indexes(w);
	w->stats.load_ms += (uint64_t)(ks_mono_ms() - t0);
	return 0;
}

/* ---- logs ---- */

struct log_job {
	char *ns, *pod, *container;
	bool previous;
};

struct log_run {
	struct world *w;
	struct kube_client *c;
	const struct world_log_opts *o;
	struct log_job *jobs;
	size_t n, cap, next, done, in_flight;
	struct ks_map per_owner; /* "owner uid/container" -> count */
};

struct log_xfer {
	struct log_run *run;
	struct log_job *job;
};

static void add_job(struct log_run *r, const char *ns, const char *pod, const char *owner,
		    const char *container, bool previous)
{
	size_t max = r->o->max_logs ? r->o->max_logs : 200;
	if (r->n >= max)
		return;
	if (owner && *owner) {
		char key[600];
		snprintf(key, sizeof key, "%s/%s", owner, container);
		uintptr_t seen = (uintptr_t)ks_map_get(&r->per_owner, key);
		if (seen >= 3)
			return;
		ks_map_put(&r->per_owner, key, (void *)(seen + 1));
	}
	r->jobs = ks_grow(r->jobs, sizeof *r->jobs, r->n + 1, &r->cap);
	r->jobs[r->n++] = (struct log_job){ks_strdup(ns), ks_strdup(pod), ks_strdup(container),
					   previous};
}

/* The containers of one status list worth reading. */
static void pick_containers(struct log_run *r, struct wobj pod, const char *ns, const char *name,
			    const char *owner, const char *list)
{
	uint32_t arr = wobj_get(pod, list);
	size_t n = kube_objstore_len(pod.st, arr);
	for (size_t i = 0; i < n; i++) {
		struct wobj cs = {.st = pod.st, .id = kube_objstore_at(pod.st, arr, i)};
		char cname[256], reason[64];
		if (!wobj_str(cs, "name", cname, sizeof cname))
			continue;
		const char *waiting = wobj_str(cs, "state.waiting.reason", reason, sizeof reason);
		int64_t restarts = wobj_int(cs, "restartCount", 0);
		int64_t last_exit = wobj_int(cs, "lastState.terminated.exitCode", 0);
		int64_t exit_now = wobj_int(cs, "state.terminated.exitCode", 0);
		bool running = wobj_get(cs, "state.running") != KUBE_OBJ_NONE;
		bool ready = wobj_bool(cs, "ready", false);
		if ((waiting && !strcmp(waiting, "CrashLoopBackOff")) ||
		    (restarts > 0 && last_exit != 0))
			add_job(r, ns, name, owner, cname, true);
		else if (exit_now != 0 || (running && !ready))
			add_job(r, ns, name, owner, cname, false);
	}
}

static int pick_pod(void *ctx, struct wobj pod)
{
	struct log_run *r = ctx;
	char ns[256], name[256], owner[64];
	if (!wobj_str(pod, "metadata.namespace", ns, sizeof ns) ||
	    !wobj_str(pod, "metadata.name", name, sizeof name))
		return 0;
	if (r->o->ns && strcmp(r->o->ns, ns))
		return 0;
	if (wobj_str_eq(pod, "status.phase", "Succeeded"))
		return 0;
	uint32_t refs = wobj_get(pod, "metadata.ownerReferences");
	struct wobj ref0 = {.st = pod.st, .id = kube_objstore_at(pod.st, refs, 0)};
	const char *o = wobj_ok(ref0) ? wobj_str(ref0, "uid", owner, sizeof owner) : NULL;
	pick_containers(r, pod, ns, name, o, "status.initContainerStatuses");
	pick_containers(r, pod, ns, name, o, "status.containerStatuses");
	return 0;
}

static void start_next(struct log_run *r);

static void log_done(void *ctx, struct kube_http_resp *resp, int rc, const struct ks_err *err)
{
	struct log_xfer *x = ctx;
	struct log_run *r = x->run;
	struct log_job *j = x->job;
	int64_t limit = r->o->limit_bytes > 0 ? r->o->limit_bytes : 65536;
	if (rc == 0) {
		char *text = ks_strndup(resp->body.data ? resp->body.data : "", resp->body.len);
		world_add_log(r->w, j->ns, j->pod, j->container, j->previous, text,
			      (int64_t)resp->body.len >= limit, NULL);
		free(text);
	} else {
		world_add_log(r->w, j->ns, j->pod, j->container, j->previous, NULL, false,
			      err ? err->msg : "failed");
	}
	free(x);
	r->in_flight--;
	r->done++;
	start_next(r);
}

static void start_next(struct log_run *r)
{
	int parallel = r->o->parallel > 0 ? r->o->parallel : 8;
	while (r->next < r->n && r->in_flight < (size_t)parallel) {
		struct log_job *j = &r->jobs[r->next++];
		struct kube_log_opts lo = {
			.container = j->container,
			.tail_lines = r->o->tail_lines > 0 ? r->o->tail_lines : 50,
			.previous = j->previous,
			.limit_bytes = r->o->limit_bytes > 0 ? r->o->limit_bytes : 65536,
		};
		struct ks_buf path;
		ks_buf_init(&path, 8192);
		kube_pod_log_path(&path, j->ns, j->pod, &lo);
		struct kube_http_req req = {.method = "GET", .path = path.data, .accept = "*/*"};
		struct log_xfer *x = ks_malloc(sizeof *x);
		*x = (struct log_xfer){r, j};
		r->in_flight++;
		world_count_api_call(r->w, true);
		kube_http_start(r->c->http, &req, log_done, x);
		ks_buf_release(&path);
	}
}

int world_fetch_logs(struct world *w, struct kube_client *c, const struct world_log_opts *o,
		     struct ks_err *err)
{
	int64_t t0 = ks_mono_ms();
	struct log_run r = {.w = w, .c = c, .o = o};
	ks_map_init(&r.per_owner);
	if (o->ns)
		world_in_namespace(w, WK_POD, o->ns, pick_pod, &r);
	else
		world_each(w, WK_POD, pick_pod, &r);
	start_next(&r);
	while (r.done < r.n)
		kube_http_poll(c->http, 200);
	for (size_t i = 0; i < r.n; i++) {
		free(r.jobs[i].ns);
		free(r.jobs[i].pod);
		free(r.jobs[i].container);
	}
	free(r.jobs);
	ks_map_release(&r.per_owner);
	w->stats.logs_ms += (uint64_t)(ks_mono_ms() - t0);
	(void)err;
	return 0;
}
