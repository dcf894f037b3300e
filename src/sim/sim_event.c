/* sim_event.c — core/v1 Events written by the simulator's actors (the kubelet, the Karpenter
 * provisioner), as their real counterparts record them: a name "<object>.<16 hex>", the
 * involved object's reference, the source component (and host for a kubelet), count 1,
 * first and last timestamps now. Cluster-scoped objects (Nodes) get their Events in
 * "default", as client-go's recorder does. Fire-and-forget, and best effort as client-go's
 * recorder: an Event refused because its namespace is being deleted (403) or gone since (404)
 * is dropped, not counted as an API error.
 * Repeats are aggregated as client-go's event correlator does: the same object, reason,
 * message and source again patches the first Event's count and lastTimestamp (so kubectl
 * describe shows "x12 over 3m") instead of writing a new one. The series are remembered in a
 * map of at most MAX_SERIES entries, forgotten all at once when it is full (client-go keeps an
 * LRU of 4096). */
#include "base/common.h"
#include "base/json.h"
#include "sim/sim_internal.h"

#include <stdio.h>
#include <string.h>

#define MAX_SERIES 8192

struct series {
	char name[320]; /* the Event's name */
	int count;
};

void sim_events_release(struct sim *s)
{
	const char *k;
	void *v;
	for (size_t i = 0; ks_map_next(&s->event_series, &i, &k, &v);)
		free(v);
	ks_map_release(&s->event_series);
	ks_map_init(&s->event_series);
}

void sim_rand_hex(struct sim *s, char *out, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	uint64_t r = 0;
	for (size_t i = 0; i + 1 < n; i++) {
		if (i % 16 == 0)
			r = sim_rand(s);
		out[i] = digits[r & 15];
		r >>= 4;
	}
	out[n - 1] = '\0';
}

static void posted(void *ctx, struct kube_http_resp *resp, int rc, const struct ks_err *err)
{
	struct sim *s = ctx;
	(void)resp;
	if (!rc)
		return;
	if (rc == KS_EFORBIDDEN || rc == KS_ENOTFOUND) {
		KS_DEBUG("sim", "event dropped: %s", err ? err->msg : "forbidden");
		return;
	}
	s->st.api_errors++;
	KS_WARN("sim", "%s", err ? err->msg : "request failed");
}

/* The same event again: count + 1 on the first one. True when it was a repeat. */
static bool repeat(struct sim *s, const struct sim_event *ev, const char *ns, const char *now,
		   const char *name_if_new)
{
	char *key = ks_asprintf("%s\x1f%s\x1f%s\x1f%s\x1f%s\x1f%s\x1f%s\x1f%s\x1f%s", ns,
				ev->kind, ev->name, ev->uid ? ev->uid : "",
				ev->field_path ? ev->field_path : "", ev->reason, ev->message,
				ev->component, ev->host ? ev->host : "");
	struct series *se = ks_map_get(&s->event_series, key);
	if (!se) {
		if (s->event_series.len >= MAX_SERIES)
			sim_events_release(s);
		se = ks_calloc(1, sizeof *se);
		snprintf(se->name, sizeof se->name, "%s", name_if_new);
		se->count = 1;
		ks_map_put(&s->event_series, key, se);
		free(key);
		return false;
	}
	free(key);
	se->count++;
	char *path = ks_asprintf("/api/v1/namespaces/%s/events/%s", ns, se->name);
	char *body = ks_asprintf("{\"count\":%d,\"lastTimestamp\":\"%s\"}", se->count, now);
	struct kube_http_req req = {.method = "PATCH", .path = path,
				    .content_type = "application/merge-patch+json", .body = body,
				    .body_len = strlen(body)};
	kube_http_start(s->c->http, &req, posted, s);
	free(path);
	free(body);
	return true;
}

void sim_post_event(struct sim *s, const struct sim_event *ev)
{
	const char *ns = ev->ns && *ev->ns ? ev->ns : "default";
	char now[40], suffix[17];
	sim_now(now, sizeof now);
	sim_rand_hex(s, suffix, sizeof suffix);
	char first_name[320];
	snprintf(first_name, sizeof first_name, "%s.%s", ev->name, suffix);
	if (repeat(s, ev, ns, now, first_name))
		return;
	cJSON *e = cJSON_CreateObject();
	cJSON *m = cJSON_AddObjectToObject(e, "metadata");
	char *ename = ks_asprintf("%s.%s", ev->name, suffix);
	cJSON_AddStringToObject(m, "name", ename);
	cJSON_AddStringToObject(m, "namespace", ns);
	cJSON *io = cJSON_AddObjectToObject(e, "involvedObject");
	cJSON_AddStringToObject(io, "kind", ev->kind);
	if (ev->ns && *ev->ns)
		cJSON_AddStringToObject(io, "namespace", ev->ns);
	cJSON_AddStringToObject(io, "name", ev->name);
	if (ev->uid && *ev->uid)
		cJSON_AddStringToObject(io, "uid", ev->uid);
	cJSON_AddStringToObject(io, "apiVersion", "v1");
	if (ev->resource_version && *ev->resource_version)
		cJSON_AddStringToObject(io, "resourceVersion", ev->resource_version);
	if (ev->field_path)
		cJSON_AddStringToObject(io, "fieldPath", ev->field_path);
	cJSON_AddStringToObject(e, "reason", ev->reason);
	cJSON_AddStringToObject(e, "message", ev->message);
	cJSON *src = cJSON_AddObjectToObject(e, "source");
	cJSON_AddStringToObject(src, "component", ev->component);
	if (ev->host)
		cJSON_AddStringToObject(src, "host", ev->host);
	cJSON_AddStringToObject(e, "firstTimestamp", now);
	cJSON_AddStringToObject(e, "lastTimestamp", now);
	cJSON_AddNumberToObject(e, "count", 1);
	cJSON_AddStringToObject(e, "type", ev->warning ? "Warning" : "Normal");
	char *body = ks_json_print(e);
	char *path = ks_asprintf("/api/v1/namespaces/%s/events", ns);
	struct kube_http_req req = {.method = "POST", .path = path, .body = body,
				    .body_len = strlen(body)};
	kube_http_start(s->c->http, &req, posted, s);
	free(path);
	free(body);
	free(ename);
	cJSON_Delete(e);
}
