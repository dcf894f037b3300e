/* fuzz_json.c — JSON from outside (ks_json_parse with its ceiling), and kubectl-style
 * output: what ks_json_write_go prints must parse back to the same document. */
#include "base/common.h"
#include "base/json.h"
#include "base/jsonout.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cJSON *j = ks_json_parse((const char *)data, size, 1 << 20, NULL);
	if (!j)
		return 0;
	struct ks_buf out;
	ks_buf_init(&out, 64 << 20);
	if (ks_json_write_go(j, &out) == 0) {
		cJSON *back = ks_json_parse(out.data, out.len, 64 << 20, NULL);
		/* What we print must be JSON again (key order and duplicate keys aside, which
		 * cJSON_Compare cannot see past, the structure is checked by fuzz_objstore). */
		if (!back)
			abort();
		cJSON_Delete(back);
	}
	ks_buf_reset(&out);
	ks_yaml_write(j, &out, NULL);
	ks_buf_release(&out);
	cJSON_Delete(j);
	return 0;
}
