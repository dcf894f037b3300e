/* apply.c — server-side apply of whole objects (see apply.h). */
#include "base/common.h"
#include "base/json.h"
#include "kube/apply.h"
#include "kube/discovery.h"

#include <stdio.h>
#include <string.h>

const struct kube_resource *kube_resource_of(struct kube_client *c, const cJSON *obj,
					    struct ks_err *err)
{
	const char *api = ks_json_str(obj, "apiVersion"), *kind = ks_json_str(obj, "kind");
	if (!api || !*api || !kind || !*kind) {
		ks_err_set(err, KS_EINVAL, "object has no apiVersion or kind");
		return NULL;
	}
	if (kube_discovery_ensure(c, err))
		return NULL;
	const char *slash = strchr(api, '/');
	char group[64];
	snprintf(group, sizeof group, "%.*s", slash ? (int)(slash - api) : 0, api);
	const char *version = slash ? slash + 1 : api;
	const struct kube_api_resource *r = kube_discovery_by_kind(c->discovery, group, kind);
	if (!r || !kube_discovery_serves(c->discovery, group, version, r->r.resource)) {
		/* A CRD installed since the last discovery: look again once. */
		if (kube_discover(c, err))
			return NULL;
		r = kube_discovery_by_kind(c->discovery, group, kind);
	}
	if (!r || !kube_discovery_serves(c->discovery, group, version, r->r.resource)) {
		ks_err_set(err, KS_ENOTFOUND, "the server does not serve %s %s", api, kind);
		return NULL;
	}
	return &r->r;
}

static int resolve(struct kube_client *c, const cJSON *obj, struct kube_resource *out,
		   const char **ns, const char **name, struct ks_err *err)
{
	const struct kube_resource *r = kube_resource_of(c, obj, err);
	if (!r)
		return err->code ? err->code : KS_ENOTFOUND;
	*out = *r;
	const char *api = ks_json_str(obj, "apiVersion"), *slash = strchr(api, '/');
	snprintf(out->version, sizeof out->version, "%s", slash ? slash + 1 : api);
	*name = ks_json_str(obj, "metadata.name");
	if (!*name || !**name)
		return ks_err_set(err, KS_EINVAL, "%s has no metadata.name", out->kind);
	*ns = NULL;
	if (out->namespaced)
		*ns = ks_json_str_or(obj, "metadata.namespace", c->namespace);
	return 0;
}

int kube_apply(struct kube_client *c, const cJSON *obj, const char *field_manager, bool force,
	       cJSON **out, struct ks_err *err)
{
	struct kube_resource r;
	const char *ns, *name;
	int rc = resolve(c, obj, &r, &ns, &name, err);
	if (rc)
		return rc;
	char *body = ks_json_print(obj);
	struct kube_patch_opts po = {.type = KUBE_PATCH_APPLY, .field_manager = field_manager,
				     .force = force};
	rc = kube_patch(c, &r, ns, name, body, strlen(body), &po, out, err);
	free(body);
	if (rc)
		return ks_err_wrap(err, "applying %s %s%s%s", r.kind, ns ? ns : "", ns ? "/" : "",
				   name);
	return 0;
}

int kube_delete_object(struct kube_client *c, const cJSON *ref, struct ks_err *err)
{
	struct kube_resource r;
	const char *ns, *name;
	int rc = resolve(c, ref, &r, &ns, &name, err);
	if (rc)
		return rc;
	struct kube_delete_opts d = {.grace_period_s = -1, .propagation = KUBE_PROPAGATE_BACKGROUND};
	rc = kube_delete(c, &r, ns, name, &d, NULL, err);
	return rc == KS_ENOTFOUND ? 0 : rc;
}
