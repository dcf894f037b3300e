/* owners.c — who manages an object, from the marks the tools leave on it:
 *   Argo CD  annotation argocd.argoproj.io/tracking-id (annotation tracking, the default
 *            since Argo CD 3.0) or label argocd.argoproj.io/instance (the label key most
 *            installations configure for label tracking). The legacy default label
 *            app.kubernetes.io/instance alone is NOT taken as Argo CD: Helm charts set it on
 *            everything they render.
 *   Flux     labels kustomize.toolkit.fluxcd.io/name (+ /namespace) from the
 *            kustomize-controller, helm.toolkit.fluxcd.io/name (+ /namespace) from the
 *            helm-controller (a Flux HelmRelease: a direct `helm upgrade` would be reverted
 *            by Flux, so it is GitOps, not Helm).
 *   Helm     label app.kubernetes.io/managed-by=Helm with annotations
 *            meta.helm.sh/release-name and meta.helm.sh/release-namespace (what Helm 3
 *            writes on every object it creates).
 * GitOps marks win over Helm marks: the repository is the source of truth then. */
#include "base/common.h"
#include "base/json.h"
#include "reconcile/internal.h"

#include <stdio.h>
#include <string.h>

static const char *meta(const cJSON *obj, const char *map, const char *key)
{
	const cJSON *m = ks_json_get(obj, map);
	const cJSON *v = ks_json_child(m, key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void gitops(struct rc_owner *o, const char *tool, const char *name, const char *ns)
{
	o->via = RC_VIA_GITOPS;
	snprintf(o->tool, sizeof o->tool, "%s", tool);
	if (ns)
		snprintf(o->app, sizeof o->app, "%s/%s", ns, name);
	else
		snprintf(o->app, sizeof o->app, "%s", name);
}

void rc_owner_detect(const cJSON *obj, struct rc_owner *o)
{
	*o = (struct rc_owner){.via = RC_VIA_LIVE};
	const char *v;
	if ((v = meta(obj, "metadata.annotations", "argocd.argoproj.io/tracking-id")) ||
	    (v = meta(obj, "metadata.labels", "argocd.argoproj.io/instance"))) {
		/* tracking-id is "app:group/Kind:namespace/name": the app is before the ':'. */
		size_t n = strcspn(v, ":");
		char app[128];
		snprintf(app, sizeof app, "%.*s", (int)(n < sizeof app ? n : sizeof app - 1), v);
		gitops(o, "argocd", app, NULL);
		return;
	}
	if ((v = meta(obj, "metadata.labels", "kustomize.toolkit.fluxcd.io/name"))) {
		gitops(o, "flux", v, meta(obj, "metadata.labels",
					  "kustomize.toolkit.fluxcd.io/namespace"));
		return;
	}
	if ((v = meta(obj, "metadata.labels", "helm.toolkit.fluxcd.io/name"))) {
		gitops(o, "flux", v,
		       meta(obj, "metadata.labels", "helm.toolkit.fluxcd.io/namespace"));
		return;
	}
	const char *by = meta(obj, "metadata.labels", "app.kubernetes.io/managed-by");
	const char *rel = meta(obj, "metadata.annotations", "meta.helm.sh/release-name");
	const char *rel_ns = meta(obj, "metadata.annotations", "meta.helm.sh/release-namespace");
	if (by && strcmp(by, "Helm") == 0 && rel) {
		o->via = RC_VIA_HELM;
		snprintf(o->release, sizeof o->release, "%s", rel);
		snprintf(o->release_ns, sizeof o->release_ns, "%s",
			 rel_ns ? rel_ns : ks_json_str_or(obj, "metadata.namespace", "default"));
	}
}
