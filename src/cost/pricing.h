/* pricing.h — what an EC2 node costs per hour, by instance type and capacity type, and where
 * each figure came from (docs/PRICING.md has the full semantics).
 *
 * A struct cost_prices starts from the catalog (the built-in snapshot: us-east-1 Linux
 * on-demand prices and Spot Advisor savings figures). Then, in any order:
 *  - cost_prices_import_offer replaces on-demand prices with those of an AWS price-list offer
 *    file (AmazonEC2/current/REGION/index.json), read as a stream, filtered as Karpenter
 *    filters GetProducts: productFamily "Compute Instance", operatingSystem Linux, tenancy
 *    Shared, preInstalledSw NA, capacitystatus Used, licenseModel "No License required"
 *    (and marketoption OnDemand and operation RunInstances when the file has those);
 *  - cost_prices_import_spot_history (DescribeSpotPriceHistory output) and
 *    cost_prices_set_spot record spot prices observed in the spot price history;
 *  - cost_prices_set_overrides installs a cluster's overrides (discount, Savings Plans,
 *    reserved capacity).
 * Lookups (cost_prices_get) apply the overrides and describe the price's source:
 *   "catalog snapshot", "offer file F (2026-11-01T00:00:00Z)", "spot: catalog savings
 *   figure 59% off on-demand", "spot: price history (DescribeSpotPriceHistory ...)", each
 *   followed by what the overrides did ("; savings plan 'sp' 27%; override F: discount 12%").
 *
 * Spot is priced from price history when there is some, else from the catalog's savings
 * figure applied to the current on-demand price (so an offer file moves spot estimates too);
 * a type with neither has no spot price (KS_ENOTFOUND), never a guessed one.
 *
 * Ownership: a struct cost_prices owns everything it holds (it copies the catalog figures it
 * needs, so the catalog may be freed) and takes ownership of the overrides given to it;
 * cost_prices_free frees it all. A struct cost_price is filled by value. Not thread-safe for
 * writes; lookups on an unchanging struct may run concurrently. */
#ifndef KS_COST_PRICING_H
#define KS_COST_PRICING_H

#include <stddef.h>
#include <stdint.h>

struct ks_err;
struct cost_catalog;

/* Ceilings: a whole offer file (us-east-1's is a few GB), one product or term in it, and
 * an overrides file. */
#define COST_OFFER_MAX_BYTES ((uint64_t)32 << 30)
#define COST_OFFER_MAX_MEMBER ((size_t)1 << 20)
#define COST_OVERRIDES_MAX_BYTES ((size_t)1 << 20)
#define COST_OVERRIDES_MAX_ITEMS 1000
#define COST_PRICE_SOURCE_MAX 512

/* The region of the catalog's snapshot prices. */
#define COST_SNAPSHOT_REGION "us-east-1"

enum cost_capacity {
	COST_CAPACITY_ON_DEMAND, /* karpenter.sh/capacity-type: on-demand */
	COST_CAPACITY_SPOT,      /* spot */
};

struct cost_price {
	double usd_hr;            /* what a node-hour costs after the overrides */
	double list_usd_hr;       /* before the overrides */
	int interruption_bucket;  /* spot: Spot Advisor bucket 0-4 (<5% ... >20%), -1 unknown;
				   * on-demand: -1 */
	char source[COST_PRICE_SOURCE_MAX];
};

struct cost_prices;
struct cost_overrides;

/* The snapshot: every catalog type's on-demand price, and its spot savings figure and
 * interruption bucket, for COST_SNAPSHOT_REGION. */
struct cost_prices *cost_prices_from_catalog(const struct cost_catalog *cat);
void cost_prices_free(struct cost_prices *p); /* NULL is fine */

const char *cost_prices_region(const struct cost_prices *p);
const char *cost_capacity_name(enum cost_capacity c); /* "on-demand", "spot" */

/* The price of one node of type for capacity type c: 0, or KS_ENOTFOUND when there is none
 * (an unknown type, or spot without data). */
int cost_prices_get(const struct cost_prices *p, const char *type, enum cost_capacity c,
		    struct cost_price *out, struct ks_err *err);

/* The hourly cost of running count nodes of type, reserved capacity included: for
 * on-demand with a reservation of N nodes at R USD/h the bill is N*R (paid whether used or
 * not) + max(0, count-N) * the on-demand price; otherwise count * the price. out->usd_hr is
 * that total, out->list_usd_hr the total at list prices; out->source says how. */
int cost_prices_fleet_hourly(const struct cost_prices *p, const char *type,
			     enum cost_capacity c, int64_t count, struct cost_price *out,
			     struct ks_err *err);

/* What an offer-file import saw. */
struct cost_offer_stats {
	uint64_t bytes;
	size_t products;   /* products in the file */
	size_t matched;    /* products that passed the filter */
	size_t priced;     /* instance types priced (new or replaced) */
	size_t duplicates; /* matched products for an already-priced type (first one kept) */
	char region[32];
	char publication_date[40];
	char version[40];
};

/* Import the on-demand prices of an offer file (path, or len bytes of data named name).
 * region: keep only products of that regionCode; NULL: the file must hold one region.
 * When the file's region differs from the struct's, prices of types the file does not name
 * and spot prices from price history are dropped (a us-east-1 price is no estimate for
 * eu-west-1); the catalog's savings figures stay. All or nothing: on error p
 * is unchanged. Errors name the file and the byte offset: "F: byte 1234: ...". */
int cost_prices_import_offer(struct cost_prices *p, const char *path, const char *region,
			     struct cost_offer_stats *st, struct ks_err *err);
int cost_prices_import_offer_mem(struct cost_prices *p, const char *name, const char *data,
				 size_t len, const char *region, struct cost_offer_stats *st,
				 struct ks_err *err);

/* Record a spot price from price history for type (source: "DescribeSpotPriceHistory
 * us-east-1a 2026-11-21T10:00:00Z", copied). usd_hr must be > 0. */
int cost_prices_set_spot(struct cost_prices *p, const char *type, double usd_hr,
			 const char *source, struct ks_err *err);

/* Import spot prices from DescribeSpotPriceHistory output as the AWS CLI writes it
 * (`aws ec2 describe-spot-price-history --output json`, or the API's fields in JSON):
 *   {"SpotPriceHistory":[{"AvailabilityZone":"us-east-1a","InstanceType":"m5.large",
 *     "ProductDescription":"Linux/UNIX","SpotPrice":"0.035900",
 *     "Timestamp":"2026-11-21T10:00:00+00:00"}, ...]}
 * Only Linux/UNIX entries count ("Linux/UNIX" or "Linux/UNIX (Amazon VPC)"). For each type,
 * the latest price of each zone is kept and the type's spot price is their mean (Karpenter
 * may launch in any allowed zone); the source reads "FILE: mean of the latest prices in N
 * zones, newest TIMESTAMP". Every zone must be in the table's region (KS_EINVAL otherwise).
 * All or nothing; at most COST_SPOT_HISTORY_MAX_BYTES. *nset (may be NULL) counts the types
 * priced. */
#define COST_SPOT_HISTORY_MAX_BYTES ((size_t)256 << 20)
int cost_prices_import_spot_history(struct cost_prices *p, const char *path, size_t *nset,
				    struct ks_err *err);
int cost_prices_import_spot_history_mem(struct cost_prices *p, const char *name,
					const char *data, size_t len, size_t *nset,
					struct ks_err *err);

/* Overrides file (YAML, or JSON, which is read as YAML):
 *   discountPct: 12            # enterprise discount (EDP) on every price, 0 <= x < 100
 *   savingsPlans:              # percentage off on-demand, best matching plan wins
 *     - name: compute-1y
 *       pct: 27                # 0 <= x < 100
 *       families: ["*"]        # instance families ("m5"), "*" for all; default all
 *       regions: [us-east-1]   # default all
 *   reserved:                  # capacity paid for whether used or not
 *     - instanceType: m5.large
 *       count: 4               # 1..1000000
 *       usdPerHour: 0.061      # per instance, what is actually paid (no discount applies)
 * Unknown keys, wrong types and out-of-range values are errors (KS_EINVAL) "F:LINE:COL: what";
 * YAML that kcyaml does not read (explicit "? " keys...) is KS_EUNSUPPORTED, a file over
 * COST_OVERRIDES_MAX_BYTES KS_ETOOBIG. */
int cost_overrides_load(const char *path, struct cost_overrides **out, struct ks_err *err);
int cost_overrides_parse_mem(const char *name, const char *data, size_t len,
			     struct cost_overrides **out, struct ks_err *err);
void cost_overrides_free(struct cost_overrides *ov); /* NULL is fine */
/* Install ov (p takes it; the previous overrides are freed; NULL removes them). */
void cost_prices_set_overrides(struct cost_prices *p, struct cost_overrides *ov);

#endif
