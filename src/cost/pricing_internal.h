/* pricing_internal.h — what pricing.c (prices, offer files), pricing_overrides.c (the
 * overrides file), pricing_spot.c (spot price history) and awsprice.c (the live AWS APIs)
 * share. Not for other modules: they use pricing.h and awsprice.h. */
#ifndef KS_COST_PRICING_INTERNAL_H
#define KS_COST_PRICING_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cost_savings_plan {
	char *name;
	double pct;
	char **families; /* NULL (nfamilies 0): every family; "*" also means every family */
	size_t nfamilies;
	char **regions;  /* NULL: every region */
	size_t nregions;
};

struct cost_reservation {
	char *instance_type;
	int64_t count;
	double usd_hr;
};

struct cost_overrides {
	char *name; /* the file, for sources and messages */
	bool has_discount;
	double discount_pct;
	struct cost_savings_plan *plans;
	size_t nplans;
	struct cost_reservation *reserved;
	size_t nreserved;
};

/* A decimal as price files write it: digits with at most one '.' between digits ("0.096",
 * "12", "0.0960000000"); no sign, no exponent, no spaces. */
bool cost__parse_decimal(const char *s, size_t len, double *out);

/* On-demand prices from GetProducts documents (each PriceList item: one product with its
 * terms, {"product":{"sku",...},"terms":{"OnDemand":{...}},"publicationDate",...}), filtered
 * and priced by the offer-file importer's own code. name is borrowed for the import's life
 * and names the source ("GetProducts us-east-1"); region as cost_prices_import_offer's.
 * Errors read "NAME: PriceList[INDEX]: ...". Nothing reaches p before cost__offer_commit,
 * which is all or nothing. cost__offer_free frees the import (committed or not). */
struct offer_import;
struct cost_prices;
struct cost_offer_stats;
struct ks_err;
struct ks_map;
struct offer_import *cost__offer_new(const char *name, const char *region);
int cost__offer_add_document(struct offer_import *im, const char *text, size_t len,
			     uint64_t index, struct ks_err *err);
int cost__offer_commit(struct cost_prices *p, struct offer_import *im,
		       struct cost_offer_stats *st, struct ks_err *err);
void cost__offer_free(struct offer_import *im);

/* Spot price history, whatever the wire format: cost__spot_take folds one entry into types
 * (a map initialised by the caller, "type" -> latest price per zone): 1 kept, 0 skipped (not
 * Linux/UNIX), <0 error "WHERE: ...". cost__spot_commit sets the mean of each type's latest
 * zone prices on p with the source "NAME: mean of the latest prices in N zones, newest T"
 * (KS_EINVAL, p unchanged, when types is empty); cost__spot_release frees the map's values
 * and the map. */
int cost__spot_take(const struct cost_prices *p, const char *where, const char *zone,
		    const char *type, const char *desc, const char *price, const char *ts,
		    struct ks_map *types, struct ks_err *err);
int cost__spot_commit(struct cost_prices *p, const char *name, struct ks_map *types,
		      size_t *nset, struct ks_err *err);
void cost__spot_release(struct ks_map *types);

#endif
