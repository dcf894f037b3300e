/* fuzz_catalog.c — libFuzzer target for cost_catalog_parse_mem.
 * Beyond "no crash, no UB, no leak" it checks, aborting on a violation:
 *  - errors are KS_EINVAL or KS_ETOOBIG with a "NAME:..." message, and no catalog is returned;
 *  - a successful parse has at least one row, every row's name is findable with
 *    cost_catalog_find and finds that very row, names are distinct, values are in their
 *    documented ranges, and the label walk yields label-safe, non-empty values. */
#include "base/common.h"
#include "cost/catalog.h"

#include <string.h>

static int check_label(const char *key, const char *value, void *ctx)
{
	(void)ctx;
	size_t n = strlen(value);
	if (!key[0] || n == 0 || n > 63)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cost_catalog *cat = (struct cost_catalog *)&cat;
	struct ks_err err = {0};
	int rc = cost_catalog_parse_mem("f.csv", (const char *)data, size, &cat, &err);
	if (rc) {
		if (rc != KS_EINVAL && rc != KS_ETOOBIG)
			abort();
		if (err.code != rc || strncmp(err.msg, "f.csv:", 6) != 0 || cat != NULL)
			abort();
		return 0;
	}
	size_t n = cost_catalog_count(cat);
	if (n == 0 || cost_catalog_at(cat, n) != NULL)
		abort();
	for (size_t i = 0; i < n; i++) {
		const struct cost_instance_type *t = cost_catalog_at(cat, i);
		if (!t || cost_catalog_find(cat, t->name) != t)
			abort();
		if (t->vcpu < 0 || t->memory_mib < 0 || t->gpu_count < 0 || t->max_pods < 0 ||
		    t->alloc_cpu_millis < 0 || t->alloc_memory_mib < 0 || t->generation < 0)
			abort();
		if (!(t->od_price_usd_hr > 0) || t->spot_savings_pct < -1 ||
		    t->spot_savings_pct > 100 || t->spot_interruption_bucket < -1 ||
		    t->spot_interruption_bucket > 4 ||
		    (t->spot_savings_pct < 0) != (t->spot_interruption_bucket < 0))
			abort();
		double sp = cost_instance_spot_price(t);
		if (t->spot_savings_pct > 0 ? !(sp >= 0 && sp < t->od_price_usd_hr)
					    : sp != COST_NO_SPOT_PRICE)
			abort();
		if (i > 0 && t->line <= cost_catalog_at(cat, i - 1)->line)
			abort();
		if (cost_instance_labels(t, check_label, NULL) != 0)
			abort();
	}
	cost_catalog_free(cat);
	return 0;
}
