/* fuzz_execcred.c — arbitrary bytes as an exec plugin's stdout: the ExecCredential parser
 * (JSON, apiVersion/kind checks, token or PEM pair, RFC 3339 expiry), for both apiVersions. */
#include "base/common.h"
#include "kube/auth.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *versions[] = {"client.authentication.k8s.io/v1",
					 "client.authentication.k8s.io/v1beta1"};
	for (size_t i = 0; i < KS_ARRAY_LEN(versions); i++) {
		struct kube_credential c;
		struct ks_err err = {0};
		int rc = kube_execcred_parse((const char *)data, size, versions[i], &c, &err);
		if (rc == 0) {
			/* A success always yields a token or a full PEM pair. */
			if (!c.token && !(c.cert.data && c.key.data))
				abort();
			if (c.cert.data && c.cert.len != strlen(c.cert.data))
				abort();
		} else if (c.token || c.cert.data || c.key.data || err.code != rc || !err.msg[0]) {
			abort();
		}
		kube_credential_release(&c);
	}
	return 0;
}
