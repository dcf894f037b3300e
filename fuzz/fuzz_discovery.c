/* fuzz_discovery.c — discovery documents from a server: the input is split at NUL bytes
 * into the core resource list, the group list and group-version resource lists. */
#include "base/common.h"
#include "base/json.h"
#include "kube/discovery.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cJSON *docs[8] = {0};
	int n = 0;
	size_t start = 0;
	for (size_t i = 0; i <= size && n < 8; i++) {
		if (i == size || data[i] == 0) {
			docs[n++] = ks_json_parse((const char *)data + start, i - start, 1 << 20, NULL);
			start = i + 1;
		}
	}
	struct kube_discovery *d = NULL;
	if (kube_discovery_build(docs[0], n > 1 ? docs[1] : NULL, (const cJSON *const *)docs + 2,
				 n > 2 ? n - 2 : 0, &d, NULL) == 0) {
		for (int i = 0; i < d->n_resources; i++) {
			const struct kube_api_resource *r = &d->resources[i];
			/* Every resource is found again by its own plural name. */
			if (!strchr(r->r.resource, '.') && r->r.resource[0] &&
			    !kube_discovery_find(d, r->r.resource, NULL))
				abort();
		}
		kube_discovery_find(d, "deployments.v1.apps", NULL);
		kube_discovery_free(d);
	}
	for (int i = 0; i < n; i++)
		cJSON_Delete(docs[i]);
	return 0;
}
