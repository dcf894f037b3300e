/* fuzz_swarm_msg.c — swarm messages from outside (the API, the transcript): what decodes
 * passes validation, encodes, decodes again to the same encoding (a fixed point), and the
 * typed-body check runs on it without crashing. */
#include "base/common.h"
#include "swarm/msg.h"

#include <stdio.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct swarm_msg m;
	if (swarm_msg_decode((const char *)data, size, &m, NULL))
		return 0;
	if (swarm_msg_validate(&m, NULL))
		abort();
	(void)swarm_msg_check_body(&m, NULL);
	struct ks_buf a, b;
	ks_buf_init(&a, KS_BUF_UNLIMITED);
	ks_buf_init(&b, KS_BUF_UNLIMITED);
	if (swarm_msg_encode(&m, &a))
		abort();
	struct swarm_msg again;
	struct ks_err err = {0};
	if (swarm_msg_decode(a.data, a.len, &again, &err)) {
		fprintf(stderr, "re-decode failed: %s\n%s\n", err.msg, a.data);
		abort();
	}
	if (swarm_msg_encode(&again, &b) || a.len != b.len || memcmp(a.data, b.data, a.len))
		abort();
	swarm_msg_release(&again);
	swarm_msg_release(&m);
	ks_buf_release(&a);
	ks_buf_release(&b);
	return 0;
}
