/* fuzz_kubeconfig.c — arbitrary bytes as one kubeconfig: YAML parsing (kcyaml.c), decoding
 * of every stanza (types, base64, duplicates, aliases, extensions to JSON) and the checks of
 * the current context, through kube_config_parse_mem (no file is read, nothing runs). */
#include "base/common.h"
#include "kube/kubeconfig.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ks_err err = {0};
	int rc = kube_config_parse_mem("<fuzz>", (const char *)data, size, &err);
	/* Every failure explains itself, and names the file. */
	if (rc != 0 && (err.code != rc || strncmp(err.msg, "kubeconfig <fuzz>", 17) != 0))
		abort();
	return 0;
}
