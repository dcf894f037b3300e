/* pricing_internal.h — what pricing.c (prices, offer files) and pricing_overrides.c (the
 * overrides file) share. Not for other modules: they use pricing.h. */
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

#endif
