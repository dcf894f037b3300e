/* fuzz_rfc3339.c — RFC 3339 times: what parses, formatted again (UTC, seconds), parses to
 * the same second. */
#include "base/common.h"
#include "base/timeutil.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int64_t ns;
	if (size > 64 || ks_time_parse_rfc3339((const char *)data, size, &ns, NULL))
		return 0;
	int64_t s = ns >= 0 ? ns / 1000000000 : -((-ns + 999999999) / 1000000000);
	char out[64];
	if (ks_time_format_rfc3339(s, out, sizeof out))
		abort();
	int64_t back;
	if (ks_time_parse_rfc3339(out, strlen(out), &back, NULL) || back != s * 1000000000)
		abort();
	return 0;
}
