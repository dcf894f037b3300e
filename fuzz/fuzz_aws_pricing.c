/* fuzz_aws_pricing.c — libFuzzer target for a Pricing GetProducts response body
 * (cost_prices_import_getproducts_page: the JSON page, then each PriceList string as an
 * offer product with its terms). Beyond "no crash, no UB, no leak" it checks, aborting on a
 * violation: errors are KS_EINVAL or KS_ETOOBIG naming the page and leave the table alone
 * (the seeded spot price and the region); a success prices at least one type, each with a
 * positive on-demand price from "g (...)"; a next token is only returned on success.
 * Inputs over 1 MiB are skipped (the client's ceiling, AWS_MAX_RESPONSE, is tested in
 * test_awsprice). */
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
	struct cost_offer_stats st;
	struct cost_price pr;
	char *next = (char *)"unset";
	if (cost_prices_set_spot(p, "zz.seed", 1.0, "seed", &err))
		abort();
	int rc = cost_prices_import_getproducts_page(p, "g", "us-east-1", (const char *)data,
						     size, &next, &st, &err);
	if (rc) {
		if ((rc != KS_EINVAL && rc != KS_ETOOBIG) || err.code != rc || next ||
		    strncmp(err.msg, "g: ", 3) != 0)
			abort();
		if (cost_prices_get(p, "zz.seed", COST_CAPACITY_SPOT, &pr, NULL) ||
		    pr.usd_hr != 1.0 || strcmp(cost_prices_region(p), "us-east-1"))
			abort();
	} else {
		if (st.priced == 0 || strcmp(st.region, "us-east-1"))
			abort();
		if (next && !next[0])
			abort();
		free(next);
	}
	cost_prices_free(p);
	return 0;
}
