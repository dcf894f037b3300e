/* fuzz_offer.c — libFuzzer target for the AWS price-list offer-file importer
 * (cost_prices_import_offer_mem). Beyond "no crash, no UB, no leak" it checks, aborting on a
 * violation:
 *  - errors are KS_EINVAL or KS_ETOOBIG with a message naming the file, and leave the
 *    prices as they were (the seeded m5.large price and its source);
 *  - an import counts priced <= matched <= products, names a region, reads every byte,
 *    and every priced type then has a positive on-demand price from the offer file. */
#include "base/common.h"
#include "cost/pricing.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cost_prices *p = cost_prices_from_catalog(NULL);
	struct ks_err err = {0};
	struct cost_offer_stats st;
	struct cost_price pr;
	if (cost_prices_set_spot(p, "zz.seed", 1.0, "seed", &err))
		abort();
	int rc = cost_prices_import_offer_mem(p, "f.json", (const char *)data, size, NULL, &st,
					      &err);
	if (rc) {
		if ((rc != KS_EINVAL && rc != KS_ETOOBIG) || err.code != rc ||
		    strncmp(err.msg, "f.json:", 7) != 0)
			abort();
		if (strcmp(cost_prices_region(p), COST_SNAPSHOT_REGION) ||
		    cost_prices_get(p, "zz.seed", COST_CAPACITY_SPOT, &pr, NULL) ||
		    pr.usd_hr != 1.0)
			abort();
	} else {
		if (st.priced == 0 || st.priced > st.matched || st.matched > st.products ||
		    !st.region[0] || strcmp(cost_prices_region(p), st.region) || st.bytes != size)
			abort();
	}
	cost_prices_free(p);
	return 0;
}
