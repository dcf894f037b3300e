/* fuzz_ec2_spot_xml.c — libFuzzer target for an EC2 DescribeSpotPriceHistory XML response
 * body (cost_prices_import_spot_xml_page, expat underneath), EC2 error documents included.
 * Beyond "no crash, no UB, no leak" it checks, aborting on a violation: errors are
 * KS_EINVAL, KS_ETOOBIG or (an EC2 error document) KS_EHTTP naming the page, return no next
 * token and leave the seeded spot price alone; a success prices at least one type.
 * Inputs over 1 MiB are skipped (the ceiling, AWS_MAX_RESPONSE, is the client's). */
#include "base/common.h"
#include "cost/awsprice.h"
#include "cost/pricing.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > ((size_t)1 << 20))
		return 0;
	struct cost_prices *p = cost_prices_from_catalog(NULL);
	struct ks_err err = {0};
	struct cost_price pr;
	size_t n = 99;
	char *next = (char *)"unset";
	if (cost_prices_set_spot(p, "zz.seed", 1.0, "seed", &err))
		abort();
	int rc = cost_prices_import_spot_xml_page(p, "s", (const char *)data, size, &next, &n,
						  &err);
	if (rc) {
		if ((rc != KS_EINVAL && rc != KS_ETOOBIG && rc != KS_EHTTP) || err.code != rc ||
		    n != 0 || next || strncmp(err.msg, "s: ", 3) != 0)
			abort();
		if (cost_prices_get(p, "zz.seed", COST_CAPACITY_SPOT, &pr, NULL) ||
		    pr.usd_hr != 1.0 || strcmp(pr.source, "spot: price history (seed)"))
			abort();
	} else {
		if (n == 0 || (next && !next[0]))
			abort();
		free(next);
	}
	cost_prices_free(p);
	return 0;
}
