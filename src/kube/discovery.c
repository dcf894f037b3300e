/* discovery.c — see discovery.h. */
#include "base/common.h"
#include "base/json.h"
#include "kube/discovery.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static inline const char *or_empty(const char *s)
{
	return s ? s : "";
}
#define COPY(dst, src) snprintf((dst), sizeof(dst), "%s", or_empty(src))

void kube_discovery_free(struct kube_discovery *d)
{
	if (!d)
		return;
	free(d->groups);
	free(d->resources);
	free(d);
}

static struct kube_api_group *find_group(struct kube_discovery *d, const char *name)
{
	for (int i = 0; i < d->n_groups; i++)
		if (!strcmp(d->groups[i].name, name))
			return &d->groups[i];
	return NULL;
}

static int version_rank(const struct kube_api_group *g, const char *v)
{
	if (!strcmp(g->preferred, v))
		return -1;
	for (int i = 0; i < g->n_versions; i++)
		if (!strcmp(g->versions[i], v))
			return i;
	return 1000;
}

static struct kube_api_resource *find_res(struct kube_discovery *d, const char *group,
					  const char *resource)
{
	for (int i = 0; i < d->n_resources; i++)
		if (!strcmp(d->resources[i].r.group, group) &&
		    !strcmp(d->resources[i].r.resource, resource))
			return &d->resources[i];
	return NULL;
}

/* Add the resources of one APIResourceList (group version `gv`). */
static void add_list(struct kube_discovery *d, size_t *cap, const cJSON *list)
{
	const char *gv = ks_json_str_or(list, "groupVersion", "");
	char group[64] = "", version[32];
	const char *slash = strchr(gv, '/');
	if (slash) {
		snprintf(group, sizeof group, "%.*s", (int)(slash - gv), gv);
		COPY(version, slash + 1);
	} else {
		COPY(version, gv);
	}
	struct kube_api_group *g = find_group(d, group);
	const cJSON *it;
	cJSON_ArrayForEach(it, ks_json_get(list, "resources"))
	{
		const char *name = ks_json_str(it, "name");
		if (!name || strchr(name, '/'))
			continue; /* subresources ("pods/log") are not listable kinds */
		struct kube_api_resource *r = find_res(d, group, name);
		if (r) {
			if (r->n_versions < (int)KS_ARRAY_LEN(r->versions))
				COPY(r->versions[r->n_versions++], version);
			/* Take this version when it ranks before the one we hold. */
			if (!g || version_rank(g, version) >= version_rank(g, r->r.version))
				continue;
		} else {
			d->resources = ks_grow(d->resources, sizeof *d->resources,
					       (size_t)d->n_resources + 1, cap);
			r = &d->resources[d->n_resources++];
			memset(r, 0, sizeof *r);
			COPY(r->versions[r->n_versions++], version);
		}
		COPY(r->r.group, group);
		COPY(r->r.version, version);
		COPY(r->r.resource, name);
		COPY(r->r.kind, ks_json_str(it, "kind"));
		const char *singular = ks_json_str(it, "singularName");
		if (singular && *singular) {
			COPY(r->r.singular, singular);
		} else {
			/* Old servers leave singularName empty: kubectl lower-cases the kind. */
			COPY(r->r.singular, r->r.kind);
			for (char *p = r->r.singular; *p; p++)
				*p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
		}
		r->r.namespaced = ks_json_bool_or(it, "namespaced", false);
		r->n_short = r->n_verbs = r->n_categories = 0;
		const cJSON *s;
		cJSON_ArrayForEach(s, ks_json_get(it, "shortNames"))
			if (cJSON_IsString(s) && r->n_short < (int)KS_ARRAY_LEN(r->short_names))
				COPY(r->short_names[r->n_short++], s->valuestring);
		cJSON_ArrayForEach(s, ks_json_get(it, "verbs"))
			if (cJSON_IsString(s) && r->n_verbs < (int)KS_ARRAY_LEN(r->verbs))
				COPY(r->verbs[r->n_verbs++], s->valuestring);
		cJSON_ArrayForEach(s, ks_json_get(it, "categories"))
			if (cJSON_IsString(s) &&
			    r->n_categories < (int)KS_ARRAY_LEN(r->categories))
				COPY(r->categories[r->n_categories++], s->valuestring);
	}
}

int kube_discovery_build(const cJSON *core, const cJSON *groups, const cJSON *const *lists,
			 int n_lists, struct kube_discovery **out, struct ks_err *err)
{
	struct kube_discovery *d = ks_calloc(1, sizeof *d);
	size_t gcap = 0, rcap = 0;
	d->groups = ks_grow(NULL, sizeof *d->groups, 1, &gcap);
	memset(&d->groups[0], 0, sizeof d->groups[0]);
	COPY(d->groups[0].preferred, "v1");
	COPY(d->groups[0].versions[0], "v1");
	d->groups[0].n_versions = 1;
	d->n_groups = 1;
	const cJSON *g;
	cJSON_ArrayForEach(g, ks_json_get(groups, "groups"))
	{
		const char *name = ks_json_str(g, "name");
		if (!name || !*name || find_group(d, name))
			continue;
		d->groups = ks_grow(d->groups, sizeof *d->groups, (size_t)d->n_groups + 1, &gcap);
		struct kube_api_group *ng = &d->groups[d->n_groups++];
		memset(ng, 0, sizeof *ng);
		COPY(ng->name, name);
		COPY(ng->preferred, ks_json_str(g, "preferredVersion.version"));
		const cJSON *v;
		cJSON_ArrayForEach(v, ks_json_get(g, "versions"))
			if (ng->n_versions < (int)KS_ARRAY_LEN(ng->versions))
				COPY(ng->versions[ng->n_versions++], ks_json_str(v, "version"));
	}
	if (core)
		add_list(d, &rcap, core);
	/* Groups in the server's order, so lookups prefer earlier groups as kubectl does. */
	for (int gi = 1; gi < d->n_groups; gi++)
		for (int i = 0; i < n_lists; i++) {
			const char *gv = ks_json_str_or(lists[i], "groupVersion", "");
			size_t gl = strlen(d->groups[gi].name);
			if (!strncmp(gv, d->groups[gi].name, gl) && gv[gl] == '/')
				add_list(d, &rcap, lists[i]);
		}
	if (d->n_resources == 0) {
		kube_discovery_free(d);
		return ks_err_set(err, KS_EINVAL, "discovery found no resources");
	}
	*out = d;
	return 0;
}

struct gv_fetch {
	char path[160];
	cJSON *doc;
	int rc;
	struct ks_err err;
	bool done;
};

static void gv_done(void *ctx, struct kube_http_resp *resp, int rc, const struct ks_err *err)
{
	struct gv_fetch *f = ctx;
	f->done = true;
	f->rc = rc;
	if (rc) {
		if (err)
			f->err = *err;
		return;
	}
	f->doc = ks_json_parse(resp->body.data ? resp->body.data : "", resp->body.len,
			       resp->body.max, &f->err);
	if (!f->doc)
		f->rc = f->err.code;
}

int kube_discover(struct kube_client *c, struct ks_err *err)
{
	cJSON *core = NULL, *groups = NULL;
	struct gv_fetch *f = NULL;
	int n = 0, rc;
	if ((rc = kube_get_path(c, "/api/v1", &core, err)) ||
	    (rc = kube_get_path(c, "/apis", &groups, err)))
		goto out;
	const cJSON *g, *v;
	cJSON_ArrayForEach(g, ks_json_get(groups, "groups"))
		n += ks_json_len(ks_json_get(g, "versions"));
	f = ks_calloc((size_t)n + 1, sizeof *f);
	int i = 0;
	cJSON_ArrayForEach(g, ks_json_get(groups, "groups"))
		cJSON_ArrayForEach(v, ks_json_get(g, "versions"))
		{
			const char *gv = ks_json_str(v, "groupVersion");
			if (!gv || i >= n)
				continue;
			snprintf(f[i].path, sizeof f[i].path, "/apis/%s", gv);
			struct kube_http_req req = {.method = "GET", .path = f[i].path};
			kube_http_start(c->http, &req, gv_done, &f[i]);
			i++;
		}
	n = i;
	/* /version rides along with the group versions. */
	snprintf(f[n].path, sizeof f[n].path, "/version");
	struct kube_http_req vreq = {.method = "GET", .path = f[n].path};
	kube_http_start(c->http, &vreq, gv_done, &f[n]);
	for (;;) {
		bool all = true;
		for (int k = 0; k <= n; k++)
			all = all && f[k].done;
		if (all)
			break;
		kube_http_poll(c->http, 1000);
	}
	const cJSON **lists = ks_calloc((size_t)n + 1, sizeof *lists);
	int nl = 0;
	for (int k = 0; k < n; k++) {
		if (f[k].rc == 0) {
			lists[nl++] = f[k].doc;
		} else if (f[k].rc != KS_ENOTFOUND) {
			/* kubectl warns and goes on when an aggregated API is unavailable. */
			KS_WARN("discovery", "skipping %s: %s", f[k].path, f[k].err.msg);
		}
	}
	struct kube_discovery *d = NULL;
	rc = kube_discovery_build(core, groups, lists, nl, &d, err);
	free(lists);
	if (!rc) {
		if (f[n].rc == 0)
			COPY(d->server_version, ks_json_str(f[n].doc, "gitVersion"));
		kube_discovery_free(c->discovery);
		c->discovery = d;
	}
out:
	for (int k = 0; f && k <= n; k++)
		cJSON_Delete(f[k].doc);
	free(f);
	cJSON_Delete(core);
	cJSON_Delete(groups);
	return rc;
}

int kube_discovery_ensure(struct kube_client *c, struct ks_err *err)
{
	return c->discovery ? 0 : kube_discover(c, err);
}

static bool name_matches(const struct kube_api_resource *r, const char *name)
{
	if (!strcasecmp(r->r.resource, name) || !strcasecmp(r->r.singular, name) ||
	    !strcasecmp(r->r.kind, name))
		return true;
	for (int i = 0; i < r->n_short; i++)
		if (!strcasecmp(r->short_names[i], name))
			return true;
	return false;
}

static bool serves_version(const struct kube_api_resource *r, const char *version)
{
	for (int i = 0; i < r->n_versions; i++)
		if (!strcmp(r->versions[i], version))
			return true;
	return false;
}

const struct kube_api_resource *kube_discovery_find(const struct kube_discovery *d,
						    const char *name, struct ks_err *err)
{
	static __thread struct kube_api_resource pinned;
	/* Try "resource", then "resource.group", then "resource.version.group". */
	char head[128];
	const char *dot = strchr(name, '.');
	for (int i = 0; !dot && i < d->n_resources; i++)
		if (name_matches(&d->resources[i], name))
			return &d->resources[i];
	if (dot) {
		snprintf(head, sizeof head, "%.*s", (int)(dot - name), name);
		const char *rest = dot + 1;
		/* resource.group */
		for (int i = 0; i < d->n_resources; i++)
			if (!strcmp(d->resources[i].r.group, rest) &&
			    name_matches(&d->resources[i], head))
				return &d->resources[i];
		/* resource.version.group */
		const char *dot2 = strchr(rest, '.');
		if (dot2) {
			char version[32];
			snprintf(version, sizeof version, "%.*s", (int)(dot2 - rest), rest);
			for (int i = 0; i < d->n_resources; i++) {
				const struct kube_api_resource *r = &d->resources[i];
				if (!strcmp(r->r.group, dot2 + 1) && name_matches(r, head) &&
				    serves_version(r, version)) {
					pinned = *r;
					COPY(pinned.r.version, version);
					return &pinned;
				}
			}
		}
		/* A core resource with a dotted name does not exist; fall through. */
	}
	ks_err_set(err, KS_ENOTFOUND, "the server doesn't have a resource type \"%s\"", name);
	return NULL;
}

const struct kube_api_resource *kube_discovery_by_kind(const struct kube_discovery *d,
						       const char *group, const char *kind)
{
	for (int i = 0; i < d->n_resources; i++)
		if (!strcmp(d->resources[i].r.group, group) && !strcmp(d->resources[i].r.kind, kind))
			return &d->resources[i];
	return NULL;
}

bool kube_discovery_serves(const struct kube_discovery *d, const char *group,
			   const char *version, const char *resource)
{
	for (int i = 0; i < d->n_resources; i++) {
		const struct kube_api_resource *r = &d->resources[i];
		if (!strcmp(r->r.group, group) && !strcmp(r->r.resource, resource))
			return serves_version(r, version);
	}
	return false;
}

bool kube_api_resource_has_verb(const struct kube_api_resource *r, const char *verb)
{
	for (int i = 0; i < r->n_verbs; i++)
		if (!strcmp(r->verbs[i], verb))
			return true;
	return false;
}
