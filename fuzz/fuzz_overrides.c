/* fuzz_overrides.c — libFuzzer target for the price overrides parser
 * (cost_overrides_parse_mem). Beyond "no crash, no UB, no leak" it checks, aborting on a
 * violation: errors are KS_EINVAL, KS_ETOOBIG or KS_EUNSUPPORTED (YAML features kcyaml does
 * not read) with a "NAME..." message and no result;
 * accepted overrides, installed on a one-type price table, never raise a price and never
 * make one negative (discounts and plans are below 100%). */
#include "base/common.h"
#include "cost/pricing.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cost_overrides *ov = (struct cost_overrides *)&ov;
	struct ks_err err = {0};
	int rc = cost_overrides_parse_mem("o.yaml", (const char *)data, size, &ov, &err);
	if (rc) {
		if ((rc != KS_EINVAL && rc != KS_ETOOBIG && rc != KS_EUNSUPPORTED) ||
		    err.code != rc || ov != NULL || strncmp(err.msg, "o.yaml", 6) != 0)
			abort();
		return 0;
	}
	struct cost_prices *p = cost_prices_from_catalog(NULL);
	if (cost_prices_set_spot(p, "m5.large", 0.04, "seed", NULL))
		abort();
	cost_prices_set_overrides(p, ov);
	struct cost_price pr;
	if (cost_prices_get(p, "m5.large", COST_CAPACITY_SPOT, &pr, NULL) || !(pr.usd_hr > 0) ||
	    pr.usd_hr > pr.list_usd_hr)
		abort();
	if (cost_prices_fleet_hourly(p, "m5.large", COST_CAPACITY_SPOT, 3, &pr, NULL) ||
	    !(pr.usd_hr > 0))
		abort();
	cost_prices_free(p);
	return 0;
}
