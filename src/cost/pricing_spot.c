/* pricing_spot.c — spot prices from DescribeSpotPriceHistory output (format and rule in
 * pricing.h). The whole document is parsed with cJSON (the CLI's output for a region is
 * megabytes, not gigabytes; the ceiling is COST_SPOT_HISTORY_MAX_BYTES). Entries are grouped
 * in a map "type" -> struct spot_type holding the latest price per zone; nothing is written
 * to the price table until the whole file has been checked. The grouping (cost__spot_take,
 * cost__spot_commit) is shared with the live DescribeSpotPriceHistory client (awsprice.c). */
#include "base/common.h"

#include "cost/pricing.h"

#include "base/hashmap.h"
#include "base/json.h"
#include "base/timeutil.h"
#include "cost/pricing_internal.h"

#include <stdio.h>
#include <string.h>

#define SPOT_MAX_ZONES 32

struct spot_zone {
	char name[32];
	int64_t at_ns;
	double usd_hr;
};

struct spot_type {
	struct spot_zone zones[SPOT_MAX_ZONES];
	size_t nzones;
	int64_t newest_ns;
};

static bool linux_description(const char *d)
{
	return !strcmp(d, "Linux/UNIX") || !strcmp(d, "Linux/UNIX (Amazon VPC)");
}

int cost__spot_take(const struct cost_prices *p, const char *where, const char *zone,
		    const char *type, const char *desc, const char *price, const char *ts,
		    struct ks_map *types, struct ks_err *err)
{
	if (!linux_description(desc))
		return 0;
	const char *region = cost_prices_region(p);
	size_t rlen = strlen(region), zlen = strlen(zone);
	if (zlen >= sizeof ((struct spot_zone *)0)->name || zlen <= rlen ||
	    strncmp(zone, region, rlen))
		return ks_err_set(err, KS_EINVAL, "%s: zone '%s' is not in region %s", where, zone,
				  region);
	if (!type[0] || strlen(type) > 63)
		return ks_err_set(err, KS_EINVAL, "%s: bad InstanceType", where);
	double usd;
	if (!cost__parse_decimal(price, strlen(price), &usd) || !(usd > 0) || usd > 1e6)
		return ks_err_set(err, KS_EINVAL, "%s: SpotPrice '%s' is not a positive decimal",
				  where, price);
	int64_t at;
	struct ks_err terr = {0};
	if (ks_time_parse_rfc3339(ts, strlen(ts), &at, &terr))
		return ks_err_set(err, KS_EINVAL, "%s: Timestamp: %s", where, terr.msg);
	struct spot_type *st = ks_map_get(types, type);
	if (!st) {
		st = ks_calloc(1, sizeof *st);
		st->newest_ns = INT64_MIN;
		ks_map_put(types, type, st);
	}
	size_t z = 0;
	while (z < st->nzones && strcmp(st->zones[z].name, zone))
		z++;
	if (z == st->nzones) {
		if (z == SPOT_MAX_ZONES)
			return ks_err_set(err, KS_EINVAL, "%s: more than %d zones for '%s'", where,
					  SPOT_MAX_ZONES, type);
		snprintf(st->zones[z].name, sizeof st->zones[z].name, "%s", zone);
		st->zones[z].at_ns = INT64_MIN;
		st->nzones++;
	}
	if (at > st->zones[z].at_ns) {
		st->zones[z].at_ns = at;
		st->zones[z].usd_hr = usd;
	}
	if (at > st->newest_ns)
		st->newest_ns = at;
	return 1;
}

/* Check one entry of the CLI's JSON and fold it into types (as cost__spot_take). */
static int take_entry(const struct cost_prices *p, const char *name, int i, const cJSON *it,
		      struct ks_map *types, struct ks_err *err)
{
	const char *zone = ks_json_str(it, "AvailabilityZone");
	const char *type = ks_json_str(it, "InstanceType");
	const char *desc = ks_json_str(it, "ProductDescription");
	const char *price = ks_json_str(it, "SpotPrice");
	const char *ts = ks_json_str(it, "Timestamp");
	if (!zone || !type || !desc || !price || !ts)
		return ks_err_set(err, KS_EINVAL, "%s: SpotPriceHistory[%d]: AvailabilityZone, "
				  "InstanceType, ProductDescription, SpotPrice and Timestamp must "
				  "be strings", name, i);
	char where[KS_ERR_MSG_MAX / 2];
	snprintf(where, sizeof where, "%s: SpotPriceHistory[%d]", name, i);
	return cost__spot_take(p, where, zone, type, desc, price, ts, types, err);
}

int cost__spot_commit(struct cost_prices *p, const char *name, struct ks_map *types,
		      size_t *nset, struct ks_err *err)
{
	if (types->len == 0)
		return ks_err_set(err, KS_EINVAL, "%s: no Linux/UNIX spot price", name);
	const char *k;
	void *v;
	for (size_t i = 0; ks_map_next(types, &i, &k, &v);) {
		const struct spot_type *st = v;
		double sum = 0;
		for (size_t z = 0; z < st->nzones; z++)
			sum += st->zones[z].usd_hr;
		char when[32], src[256];
		ks_time_format_rfc3339(st->newest_ns / 1000000000, when, sizeof when);
		snprintf(src, sizeof src, "%s: mean of the latest prices in %zu zone%s, newest %s",
			 name, st->nzones, st->nzones == 1 ? "" : "s", when);
		cost_prices_set_spot(p, k, sum / (double)st->nzones, src, NULL);
	}
	if (nset)
		*nset = types->len;
	return 0;
}

void cost__spot_release(struct ks_map *types)
{
	const char *k;
	void *v;
	for (size_t j = 0; ks_map_next(types, &j, &k, &v);)
		free(v);
	ks_map_release(types);
}

int cost_prices_import_spot_history_mem(struct cost_prices *p, const char *name,
					const char *data, size_t len, size_t *nset,
					struct ks_err *err)
{
	if (nset)
		*nset = 0;
	struct ks_err jerr = {0};
	cJSON *doc = ks_json_parse(data, len, COST_SPOT_HISTORY_MAX_BYTES, &jerr);
	if (!doc)
		return ks_err_set(err, jerr.code, "%s: %s", name, jerr.msg);
	const cJSON *arr = ks_json_child(doc, "SpotPriceHistory"), *it;
	int rc = 0;
	if (!cJSON_IsArray(arr))
		rc = ks_err_set(err, KS_EINVAL, "%s: no \"SpotPriceHistory\" array", name);
	struct ks_map types;
	ks_map_init(&types);
	int i = 0;
	cJSON_ArrayForEach(it, arr) {
		if (rc)
			break;
		int r = take_entry(p, name, i++, it, &types, err);
		rc = r < 0 ? r : 0;
	}
	if (!rc)
		rc = cost__spot_commit(p, name, &types, nset, err);
	cost__spot_release(&types);
	cJSON_Delete(doc);
	return rc;
}

int cost_prices_import_spot_history(struct cost_prices *p, const char *path, size_t *nset,
				    struct ks_err *err)
{
	struct ks_buf b;
	ks_buf_init(&b, COST_SPOT_HISTORY_MAX_BYTES);
	int rc = ks_buf_read_file(&b, path, err);
	if (!rc)
		rc = cost_prices_import_spot_history_mem(p, path, b.data, b.len, nset, err);
	ks_buf_release(&b);
	return rc;
}
