/* client.c — REST verbs: URL building, JSON in and out, paging. See client.h. */
#include "base/common.h"
#include "base/json.h"
#include "kube/client.h"
#include "kube/discovery.h"

#include <stdio.h>
#include <string.h>

#define MAX_OBJECT_BODY ((size_t)64 << 20)

const struct kube_resource KUBE_RES_PODS = {"", "v1", "pods", "Pod", "pod", true, ""};
const struct kube_resource KUBE_RES_EVENTS = {"", "v1", "events", "Event", "event", true, ""};
const struct kube_resource KUBE_RES_NAMESPACES = {"", "v1", "namespaces", "Namespace",
						  "namespace", false, ""};
const struct kube_resource KUBE_RES_NODES = {"", "v1", "nodes", "Node", "node", false, ""};
const struct kube_resource KUBE_RES_SECRETS = {"", "v1", "secrets", "Secret", "secret", true, ""};
const struct kube_resource KUBE_RES_CONFIGMAPS = {"", "v1", "configmaps", "ConfigMap",
						  "configmap", true, ""};

int kube_path(struct ks_buf *out, const struct kube_resource *r, const char *ns,
	      const char *name)
{
	int rc;
	if (r->group[0])
		rc = ks_buf_appendf(out, "/apis/%s/%s", r->group, r->version);
	else
		rc = ks_buf_appendf(out, "/api/%s", r->version);
	if (!rc && r->namespaced && ns && *ns) {
		rc = ks_buf_appendstr(out, "/namespaces/");
		rc = rc ? rc : ks_buf_append_urlenc(out, ns);
	}
	rc = rc ? rc : ks_buf_appendf(out, "/%s", r->resource);
	if (!rc && name && *name) {
		rc = ks_buf_appendc(out, '/');
		rc = rc ? rc : ks_buf_append_urlenc(out, name);
		if (!rc && r->subresource[0])
			rc = ks_buf_appendf(out, "/%s", r->subresource);
	}
	return rc;
}

static int check_name(const struct kube_resource *r, const char *ns, const char *name,
		      bool need_name, struct ks_err *err)
{
	if (need_name && (!name || !*name))
		return ks_err_set(err, KS_EINVAL, "%s: a name is required", r->resource);
	if (r->namespaced && need_name && (!ns || !*ns))
		return ks_err_set(err, KS_EINVAL, "%s/%s: a namespace is required", r->resource,
				  name ? name : "");
	return 0;
}

/* Send one request; on 2xx parse the body as JSON into *out (when out is not NULL). */
static int request_json(struct kube_client *c, const char *method, const char *path,
			const char *content_type, const char *body, size_t body_len,
			const char *accept, cJSON **out, struct ks_err *err)
{
	struct kube_http_req req = {
		.method = method,
		.path = path,
		.content_type = content_type,
		.body = body,
		.body_len = body_len,
		.accept = accept,
	};
	struct kube_http_resp resp;
	int rc = kube_http_do(c->http, &req, &resp, err);
	if (rc == 0 && out) {
		*out = ks_json_parse(resp.body.data ? resp.body.data : "", resp.body.len,
				     resp.body.max, err);
		if (!*out) {
			ks_err_wrap(err, "%s %s", method, path);
			rc = err ? err->code : KS_EINVAL;
		}
	}
	kube_http_resp_release(&resp);
	return rc;
}

int kube_get_path(struct kube_client *c, const char *path, cJSON **out, struct ks_err *err)
{
	return request_json(c, "GET", path, NULL, NULL, 0, NULL, out, err);
}

int kube_get(struct kube_client *c, const struct kube_resource *r, const char *ns,
	     const char *name, cJSON **out, struct ks_err *err)
{
	int rc = check_name(r, ns, name, true, err);
	if (rc)
		return rc;
	struct ks_buf path;
	ks_buf_init(&path, 8192);
	kube_path(&path, r, ns, name);
	rc = request_json(c, "GET", path.data, NULL, NULL, 0, NULL, out, err);
	ks_buf_release(&path);
	return rc;
}

static void append_query(struct ks_buf *b, bool *first, const char *key, const char *value)
{
	ks_buf_appendc(b, *first ? '?' : '&');
	*first = false;
	ks_buf_appendstr(b, key);
	ks_buf_appendc(b, '=');
	ks_buf_append_urlenc(b, value);
}

int kube_list_pages(struct kube_client *c, const struct kube_resource *r, const char *ns,
		    const struct kube_list_opts *o, kube_page_fn fn, void *ctx, char *rv_out,
		    size_t rv_len, struct ks_err *err)
{
	static const struct kube_list_opts none;
	if (!o)
		o = &none;
	char *cont = o->continue_token ? ks_strdup(o->continue_token) : NULL;
	int rc = 0;
	struct ks_buf path;
	ks_buf_init(&path, 16384);
	for (;;) {
		ks_buf_reset(&path);
		kube_path(&path, r, ns, NULL);
		bool first = true;
		char num[32];
		snprintf(num, sizeof num, "%lld", (long long)(o->limit > 0 ? o->limit : 500));
		append_query(&path, &first, "limit", num);
		if (o->label_selector && *o->label_selector)
			append_query(&path, &first, "labelSelector", o->label_selector);
		if (o->field_selector && *o->field_selector)
			append_query(&path, &first, "fieldSelector", o->field_selector);
		if (cont)
			append_query(&path, &first, "continue", cont);
		else if (o->resource_version) {
			append_query(&path, &first, "resourceVersion", o->resource_version);
			if (o->resource_version_match)
				append_query(&path, &first, "resourceVersionMatch",
					     o->resource_version_match);
		}
		if (o->timeout_s > 0) {
			snprintf(num, sizeof num, "%d", o->timeout_s);
			append_query(&path, &first, "timeoutSeconds", num);
		}
		struct kube_http_req req = {.method = "GET", .path = path.data, .accept = o->accept};
		struct kube_http_resp resp;
		rc = kube_http_do(c->http, &req, &resp, err);
		if (rc) {
			kube_http_resp_release(&resp);
			break;
		}
		struct ks_json_arena *arena = &c->list_arena;
		if (o->transient_pages)
			ks_json_arena_begin(arena);
		cJSON *page = ks_json_parse(resp.body.data ? resp.body.data : "", resp.body.len,
					    resp.body.max, err);
		kube_http_resp_release(&resp);
		if (!page) {
			if (o->transient_pages)
				ks_json_arena_end(arena);
			rc = ks_err_wrap(err, "GET %s", path.data);
			break;
		}
		free(cont);
		cont = NULL;
		const char *next = ks_json_str(page, "metadata.continue");
		if (next && *next)
			cont = ks_strdup(next);
		if (rv_out && rv_len)
			snprintf(rv_out, rv_len, "%s",
				 ks_json_str_or(page, "metadata.resourceVersion", ""));
		rc = fn(ctx, page);
		cJSON_Delete(page);
		if (o->transient_pages)
			ks_json_arena_end(arena);
		if (rc || !cont || o->single_page)
			break;
	}
	free(cont);
	ks_buf_release(&path);
	return rc;
}

struct merge_ctx {
	cJSON *list;
	cJSON *items;
};

static int merge_page(void *ctx, cJSON *page)
{
	struct merge_ctx *m = ctx;
	/* A List keeps its objects in "items", a meta.k8s.io Table in "rows". */
	const char *key = !strcmp(ks_json_str_or(page, "kind", ""), "Table") ? "rows" : "items";
	cJSON *items = cJSON_DetachItemFromObjectCaseSensitive(page, key);
	if (!m->list) {
		/* The first page becomes the result; later pages' items join its array. */
		m->list = cJSON_Duplicate(page, true);
		m->items = items ? items : cJSON_CreateArray();
		cJSON_AddItemToObject(m->list, key, m->items);
		return 0;
	}
	cJSON *meta = cJSON_GetObjectItemCaseSensitive(m->list, "metadata");
	const cJSON *pmeta = ks_json_get(page, "metadata");
	if (meta && pmeta)
		cJSON_ReplaceItemInObjectCaseSensitive(m->list, "metadata",
						       cJSON_Duplicate(pmeta, true));
	cJSON *it;
	while (items && (it = cJSON_DetachItemFromArray(items, 0)))
		cJSON_AddItemToArray(m->items, it);
	cJSON_Delete(items);
	return 0;
}

int kube_list(struct kube_client *c, const struct kube_resource *r, const char *ns,
	      const struct kube_list_opts *o, cJSON **out, struct ks_err *err)
{
	struct merge_ctx m = {0};
	int rc = kube_list_pages(c, r, ns, o, merge_page, &m, NULL, 0, err);
	if (rc) {
		cJSON_Delete(m.list);
		return rc;
	}
	if (m.list) {
		/* A merged list has no continue token (unless one page was asked for). */
		cJSON *meta = cJSON_GetObjectItemCaseSensitive(m.list, "metadata");
		if (meta && !(o && o->single_page))
			cJSON_DeleteItemFromObjectCaseSensitive(meta, "continue");
	}
	*out = m.list;
	return 0;
}

static int write_object(struct kube_client *c, const char *method, const struct kube_resource *r,
			const char *ns, const char *name, const char *query, const cJSON *obj,
			cJSON **out, struct ks_err *err)
{
	struct ks_buf path;
	ks_buf_init(&path, 8192);
	kube_path(&path, r, ns, name);
	if (query)
		ks_buf_appendstr(&path, query);
	char *body = ks_json_print(obj);
	int rc = request_json(c, method, path.data, "application/json", body, strlen(body), NULL,
			      out, err);
	free(body);
	ks_buf_release(&path);
	return rc;
}

static const char *object_ns(const struct kube_resource *r, const char *ns, const cJSON *obj)
{
	if (!r->namespaced)
		return NULL;
	if (ns && *ns)
		return ns;
	return ks_json_str(obj, "metadata.namespace");
}

int kube_create(struct kube_client *c, const struct kube_resource *r, const char *ns,
		const cJSON *obj, cJSON **out, struct ks_err *err)
{
	ns = object_ns(r, ns, obj);
	if (r->namespaced && !ns)
		ns = c->namespace;
	return write_object(c, "POST", r, ns, NULL, NULL, obj, out, err);
}

int kube_update(struct kube_client *c, const struct kube_resource *r, const char *ns,
		const cJSON *obj, cJSON **out, struct ks_err *err)
{
	ns = object_ns(r, ns, obj);
	const char *name = ks_json_str(obj, "metadata.name");
	int rc = check_name(r, ns, name, true, err);
	if (rc)
		return rc;
	return write_object(c, "PUT", r, ns, name, NULL, obj, out, err);
}

int kube_delete(struct kube_client *c, const struct kube_resource *r, const char *ns,
		const char *name, const struct kube_delete_opts *o, cJSON **out,
		struct ks_err *err)
{
	int rc = check_name(r, ns, name, true, err);
	if (rc)
		return rc;
	static const struct kube_delete_opts none = {.grace_period_s = -1};
	if (!o)
		o = &none;
	cJSON *d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "kind", "DeleteOptions");
	cJSON_AddStringToObject(d, "apiVersion", "v1");
	if (o->precondition_uid || o->precondition_rv) {
		cJSON *pre = cJSON_AddObjectToObject(d, "preconditions");
		if (o->precondition_uid)
			cJSON_AddStringToObject(pre, "uid", o->precondition_uid);
		if (o->precondition_rv)
			cJSON_AddStringToObject(pre, "resourceVersion", o->precondition_rv);
	}
	static const char *policies[] = {NULL, "Orphan", "Background", "Foreground"};
	if (policies[o->propagation])
		cJSON_AddStringToObject(d, "propagationPolicy", policies[o->propagation]);
	if (o->grace_period_s >= 0)
		cJSON_AddNumberToObject(d, "gracePeriodSeconds", (double)o->grace_period_s);
	if (o->dry_run)
		cJSON_AddItemToObject(d, "dryRun", cJSON_CreateStringArray((const char *[]){"All"}, 1));
	rc = write_object(c, "DELETE", r, ns, name, NULL, d, out, err);
	cJSON_Delete(d);
	return rc;
}

int kube_patch(struct kube_client *c, const struct kube_resource *r, const char *ns,
	       const char *name, const char *patch, size_t patch_len,
	       const struct kube_patch_opts *o, cJSON **out, struct ks_err *err)
{
	int rc = check_name(r, ns, name, true, err);
	if (rc)
		return rc;
	static const char *types[] = {
		[KUBE_PATCH_MERGE] = "application/merge-patch+json",
		[KUBE_PATCH_JSON] = "application/json-patch+json",
		[KUBE_PATCH_STRATEGIC] = "application/strategic-merge-patch+json",
		[KUBE_PATCH_APPLY] = "application/apply-patch+yaml",
	};
	struct ks_buf path;
	ks_buf_init(&path, 8192);
	kube_path(&path, r, ns, name);
	bool first = true;
	if (o->type == KUBE_PATCH_APPLY || o->field_manager)
		append_query(&path, &first, "fieldManager",
			     o->field_manager ? o->field_manager : "kswarm");
	if (o->type == KUBE_PATCH_APPLY && o->force)
		append_query(&path, &first, "force", "true");
	if (o->dry_run)
		append_query(&path, &first, "dryRun", "All");
	rc = request_json(c, "PATCH", path.data, types[o->type], patch, patch_len, NULL, out, err);
	ks_buf_release(&path);
	return rc;
}

void kube_pod_log_path(struct ks_buf *path, const char *ns, const char *pod,
		       const struct kube_log_opts *o)
{
	struct kube_resource r = KUBE_RES_PODS;
	snprintf(r.subresource, sizeof r.subresource, "log");
	kube_path(path, &r, ns, pod);
	bool first = true;
	char num[32];
	if (o->container && *o->container)
		append_query(path, &first, "container", o->container);
	if (o->tail_lines >= 0) {
		snprintf(num, sizeof num, "%lld", (long long)o->tail_lines);
		append_query(path, &first, "tailLines", num);
	}
	if (o->previous)
		append_query(path, &first, "previous", "true");
	if (o->timestamps)
		append_query(path, &first, "timestamps", "true");
	int64_t limit = o->limit_bytes > 0 ? o->limit_bytes : 4 << 20;
	snprintf(num, sizeof num, "%lld", (long long)limit);
	append_query(path, &first, "limitBytes", num);
}

int kube_pod_logs(struct kube_client *c, const char *ns, const char *pod,
		  const struct kube_log_opts *o, struct ks_buf *out, struct ks_err *err)
{
	struct ks_buf path;
	ks_buf_init(&path, 8192);
	kube_pod_log_path(&path, ns, pod, o);
	struct kube_http_req req = {.method = "GET", .path = path.data, .accept = "*/*"};
	struct kube_http_resp resp;
	int rc = kube_http_do(c->http, &req, &resp, err);
	if (rc == 0 && ks_buf_append(out, resp.body.data ? resp.body.data : "", resp.body.len))
		rc = ks_err_set(err, KS_ETOOBIG, "logs of %s/%s: larger than the buffer's limit",
				ns, pod);
	kube_http_resp_release(&resp);
	ks_buf_release(&path);
	return rc;
}

static int cmp_event_time(const void *a, const void *b)
{
	const cJSON *ea = *(const cJSON *const *)a, *eb = *(const cJSON *const *)b;
	const char *ta = ks_json_str(ea, "lastTimestamp");
	const char *tb = ks_json_str(eb, "lastTimestamp");
	if (!ta)
		ta = ks_json_str_or(ea, "eventTime", "");
	if (!tb)
		tb = ks_json_str_or(eb, "eventTime", "");
	return strcmp(ta, tb); /* RFC 3339 UTC strings sort as times */
}

int kube_events_for(struct kube_client *c, const char *ns, const char *kind, const char *name,
		    const char *uid, cJSON **out, struct ks_err *err)
{
	struct ks_buf fs;
	ks_buf_init(&fs, 4096);
	if (uid && *uid)
		ks_buf_appendf(&fs, "involvedObject.uid=%s", uid);
	else
		ks_buf_appendf(&fs, "involvedObject.kind=%s,involvedObject.name=%s", kind, name);
	struct kube_list_opts o = {.field_selector = fs.data};
	cJSON *list = NULL;
	int rc = kube_list(c, &KUBE_RES_EVENTS, ns, &o, &list, err);
	ks_buf_release(&fs);
	if (rc)
		return rc;
	cJSON *items = cJSON_GetObjectItemCaseSensitive(list, "items");
	int n = ks_json_len(items);
	if (n > 1) {
		cJSON **arr = ks_malloc(sizeof *arr * (size_t)n);
		for (int i = 0; i < n; i++)
			arr[i] = cJSON_DetachItemFromArray(items, 0);
		qsort(arr, (size_t)n, sizeof *arr, cmp_event_time);
		for (int i = 0; i < n; i++)
			cJSON_AddItemToArray(items, arr[i]);
		free(arr);
	}
	*out = list;
	return 0;
}

void kube_client_release(struct kube_client *c)
{
	kube_http_free(c->http);
	kube_discovery_free(c->discovery);
	ks_json_arena_release(&c->list_arena);
	free(c->namespace);
	free(c->context);
	c->http = NULL;
	c->discovery = NULL;
	c->namespace = c->context = NULL;
}
