/* fuzz_cron.c — libFuzzer target for cron_parse and cron_next (src/diag/cron.c).
 * Beyond "no crash, no UB, no leak" it checks, aborting on a violation:
 *  - errors are KS_EINVAL or KS_ETOOBIG with a message; inputs past CRON_MAX_LEN fail;
 *  - a parsed schedule sets bits only within each field's range, and at least one per field;
 *  - the next activation after a fixed time is later than it, falls on a whole minute, and
 *    the one after it is later still. */
#include "base/common.h"
#include "diag/cron.h"

#include <string.h>

static void check_bits(uint64_t bits, unsigned min, unsigned max)
{
	if (bits == 0)
		abort();
	for (unsigned b = 0; b < 64; b++)
		if ((bits >> b & 1) && (b < min || b > max))
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cron_schedule c;
	struct ks_err err = {0};
	int rc = cron_parse((const char *)data, size, &c, &err);
	if (rc) {
		if ((rc != KS_EINVAL && rc != KS_ETOOBIG) || err.msg[0] == '\0')
			abort();
		if (size > CRON_MAX_LEN && rc != KS_ETOOBIG)
			abort();
		return 0;
	}
	if (size > CRON_MAX_LEN)
		abort();
	if (c.every_s == 0) {
		check_bits(c.minute, 0, 59);
		check_bits(c.hour, 0, 23);
		check_bits(c.dom, 1, 31);
		check_bits(c.month, 1, 12);
		check_bits(c.dow, 0, 6);
	}
	const int64_t t0 = 1795000000; /* 2026-11-19 */
	int64_t n1 = cron_next(&c, t0);
	if (n1 == -1)
		return 0; /* e.g. 30 February: never */
	if (n1 <= t0 || (c.every_s == 0 && n1 % 60 != 0))
		abort();
	int64_t n2 = cron_next(&c, n1);
	if (n2 != -1 && n2 <= n1)
		abort();
	return 0;
}
