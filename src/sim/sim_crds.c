/* sim_crds.c — install the Karpenter CRDs (deploy/crds/, embedded in the binary) with
 * server-side apply, and wait until the API server serves them (condition Established).
 * A file named GROUP_PLURAL.yaml holds the CRD PLURAL.GROUP. */
#include "base/common.h"
#include "base/embed.h"
#include "base/json.h"
#include "base/timeutil.h"
#include "sim/sim_internal.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define CRD_DIR "deploy/crds/"
#define ESTABLISH_TIMEOUT_MS 20000

static const struct kube_resource CRDS = {"apiextensions.k8s.io", "v1",
					  "customresourcedefinitions",
					  "CustomResourceDefinition", "customresourcedefinition",
					  false, ""};

static bool established(const cJSON *crd)
{
	const cJSON *c;
	cJSON_ArrayForEach(c, ks_json_get(crd, "status.conditions"))
		if (!strcmp(ks_json_str_or(c, "type", ""), "Established") &&
		    !strcmp(ks_json_str_or(c, "status", ""), "True"))
			return true;
	return false;
}

int sim_install_crds(struct sim *s, int *installed, struct ks_err *err)
{
	int n = 0;
	for (const struct ks_embedded *e = ks_embedded_files; e->path; e++) {
		size_t dl = strlen(CRD_DIR), pl = strlen(e->path);
		if (strncmp(e->path, CRD_DIR, dl) || pl < dl + 6 ||
		    strcmp(e->path + pl - 5, ".yaml"))
			continue;
		/* deploy/crds/karpenter.sh_nodepools.yaml -> nodepools.karpenter.sh */
		const char *base = e->path + dl;
		const char *us = strchr(base, '_');
		if (!us)
			continue;
		char name[256];
		snprintf(name, sizeof name, "%.*s.%.*s", (int)(pl - 5 - (size_t)(us + 1 - e->path)),
			 us + 1, (int)(us - base), base);
		struct kube_patch_opts po = {.type = KUBE_PATCH_APPLY,
					     .field_manager = "kswarm-sim", .force = true};
		int rc = kube_patch(s->c, &CRDS, NULL, name, (const char *)e->data, e->len, &po, NULL,
				    err);
		if (rc)
			return ks_err_wrap(err, "installing CRD %s", name);
		int64_t end = ks_mono_ms() + ESTABLISH_TIMEOUT_MS;
		for (;;) {
			cJSON *crd = NULL;
			rc = kube_get(s->c, &CRDS, NULL, name, &crd, err);
			bool ok = rc == 0 && established(crd);
			cJSON_Delete(crd);
			if (ok)
				break;
			if (ks_mono_ms() > end)
				return ks_err_set(err, KS_ETIMEOUT,
						  "CRD %s not Established after %d s", name,
						  ESTABLISH_TIMEOUT_MS / 1000);
			usleep(100000);
		}
		KS_INFO("sim", "CRD %s installed", name);
		n++;
	}
	if (installed)
		*installed = n;
	return 0;
}
