/* test_pricing.c — prices: the catalog facts through the pricing API (m5.large, m6g.large,
 * c7g.xlarge in us-east-1), spot from the savings figure and from price history, the
 * offer-file import on a real-format sample (filtering, streaming from a file, terms before
 * products, another region, broken files), DescribeSpotPriceHistory output, and the
 * overrides (discount, Savings Plans, reserved capacity): their math, their sources, and bad
 * files with line:column. */
#include "testutil.h"

#include "cost/catalog.h"
#include "cost/pricing.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define OFFER "cost/offer-us-east-1-sample.json"

static struct cost_catalog *catalog(void)
{
	tu_set_data_dir();
	char *path = cost_catalog_default_path();
	struct cost_catalog *cat = NULL;
	struct ks_err e = {0};
	if (cost_catalog_load(path, &cat, &e))
		fail_msg("%s", e.msg);
	free(path);
	return cat;
}

static struct cost_prices *snapshot(void)
{
	struct cost_catalog *cat = catalog();
	struct cost_prices *p = cost_prices_from_catalog(cat);
	cost_catalog_free(cat); /* the prices keep what they need */
	return p;
}

static void near(double got, double want)
{
	if (fabs(got - want) > 1e-9)
		fail_msg("got %.10f, want %.10f", got, want);
}

static void get(const struct cost_prices *p, const char *type, enum cost_capacity c,
		struct cost_price *out)
{
	struct ks_err e = {0};
	if (cost_prices_get(p, type, c, out, &e))
		fail_msg("%s %s: %s", type, cost_capacity_name(c), e.msg);
}

static void catalog_facts(void **state)
{
	(void)state;
	struct cost_catalog *cat = catalog();
	const struct cost_instance_type *m5 = cost_catalog_find(cat, "m5.large");
	const struct cost_instance_type *c7g = cost_catalog_find(cat, "c7g.xlarge");
	assert_int_equal(m5->vcpu, 2);
	assert_int_equal(m5->memory_mib, 8 * 1024);
	assert_int_equal(c7g->vcpu, 4);
	assert_int_equal(c7g->memory_mib, 8 * 1024);
	struct cost_prices *p = cost_prices_from_catalog(cat);
	cost_catalog_free(cat);
	assert_string_equal(cost_prices_region(p), "us-east-1");

	struct cost_price pr;
	get(p, "m5.large", COST_CAPACITY_ON_DEMAND, &pr);
	assert_true(pr.usd_hr == 0.096 && pr.list_usd_hr == 0.096);
	assert_string_equal(pr.source, "catalog snapshot");
	assert_int_equal(pr.interruption_bucket, -1);
	get(p, "m6g.large", COST_CAPACITY_ON_DEMAND, &pr);
	assert_true(pr.usd_hr == 0.077);
	get(p, "c7g.xlarge", COST_CAPACITY_ON_DEMAND, &pr);
	assert_true(pr.usd_hr == 0.145);

	/* spot from the savings figure (m5.large: 59% off, bucket 4 = >20%) */
	get(p, "m5.large", COST_CAPACITY_SPOT, &pr);
	near(pr.usd_hr, 0.096 * 0.41);
	assert_int_equal(pr.interruption_bucket, 4);
	assert_string_equal(pr.source,
			    "spot: catalog savings figure 59% off on-demand (catalog snapshot)");
	/* a1.* has a saving of 0 in the advisor: no spot estimate, not the on-demand price */
	struct ks_err e = {0};
	assert_int_equal(cost_prices_get(p, "a1.large", COST_CAPACITY_SPOT, &pr, &e),
			 KS_ENOTFOUND);
	assert_string_equal(e.msg, "no spot price for 'a1.large' in us-east-1 (no price history "
				   "and no savings figure)");
	assert_int_equal(cost_prices_get(p, "m5.huge", COST_CAPACITY_ON_DEMAND, &pr, &e),
			 KS_ENOTFOUND);
	assert_string_equal(e.msg, "no price for instance type 'm5.huge' in us-east-1");

	/* price history wins over the savings figure, and keeps the bucket */
	assert_int_equal(cost_prices_set_spot(p, "m5.large", 0.0351,
					      "DescribeSpotPriceHistory us-east-1a "
					      "2026-11-21T10:00:00Z", &e), 0);
	get(p, "m5.large", COST_CAPACITY_SPOT, &pr);
	assert_true(pr.usd_hr == 0.0351);
	assert_int_equal(pr.interruption_bucket, 4);
	assert_string_equal(pr.source, "spot: price history (DescribeSpotPriceHistory us-east-1a "
				       "2026-11-21T10:00:00Z)");
	assert_int_equal(cost_prices_set_spot(p, "m5.large", -1, NULL, &e), KS_EINVAL);
	cost_prices_free(p);
	cost_prices_free(NULL);
}

static void offer_sample(void **state)
{
	(void)state;
	struct cost_prices *p = cost_prices_from_catalog(NULL);
	struct cost_offer_stats st;
	struct ks_err e = {0};
	if (cost_prices_import_offer(p, tu_fixture(OFFER), NULL, &st, &e))
		fail_msg("%s", e.msg);
	assert_int_equal(st.products, 11);
	assert_int_equal(st.matched, 3); /* Windows, dedicated, RHEL, SQL, reservations: out */
	assert_int_equal(st.priced, 3);
	assert_int_equal(st.duplicates, 0);
	assert_string_equal(st.region, "us-east-1");
	assert_string_equal(st.publication_date, "2026-11-01T00:00:00Z");
	assert_string_equal(st.version, "20261101000000");

	struct cost_price pr;
	get(p, "m5.large", COST_CAPACITY_ON_DEMAND, &pr);
	assert_true(pr.usd_hr == 0.096);
	char want[1024];
	snprintf(want, sizeof want, "offer file %s (2026-11-01T00:00:00Z)", tu_fixture(OFFER));
	assert_string_equal(pr.source, want);
	get(p, "m6g.large", COST_CAPACITY_ON_DEMAND, &pr);
	assert_true(pr.usd_hr == 0.077);
	get(p, "c7g.xlarge", COST_CAPACITY_ON_DEMAND, &pr);
	assert_true(pr.usd_hr == 0.145);
	/* no catalog: no savings figure, so no spot estimate */
	assert_int_equal(cost_prices_get(p, "m5.large", COST_CAPACITY_SPOT, &pr, &e),
			 KS_ENOTFOUND);
	/* asking for another region finds nothing, and leaves the prices alone */
	assert_int_equal(cost_prices_import_offer(p, tu_fixture(OFFER), "eu-west-1", &st, &e),
			 KS_EINVAL);
	assert_contains(e.msg, "no Linux, shared-tenancy on-demand instance price for region "
			       "eu-west-1");
	get(p, "m5.large", COST_CAPACITY_ON_DEMAND, &pr);
	assert_string_equal(pr.source, want);
	cost_prices_free(p);

	/* the same bytes from memory, read in one piece, give the same */
	char *text = tu_read_fixture(OFFER);
	p = cost_prices_from_catalog(NULL);
	assert_int_equal(cost_prices_import_offer_mem(p, "mem.json", text, strlen(text),
						      "us-east-1", &st, &e), 0);
	assert_int_equal(st.priced, 3);
	assert_int_equal(st.bytes, strlen(text));
	cost_prices_free(p);
	free(text);
}

#define PRODUCT(sku, type, region)                                                            \
	"\"" sku "\":{\"sku\":\"" sku "\",\"productFamily\":\"Compute Instance\",\"attributes\":" \
	"{\"instanceType\":\"" type "\",\"operatingSystem\":\"Linux\",\"tenancy\":\"Shared\","     \
	"\"preInstalledSw\":\"NA\",\"capacitystatus\":\"Used\",\"regionCode\":\"" region "\"}}"
#define TERM(sku, usd)                                                                        \
	"\"" sku "\":{\"" sku ".T\":{\"priceDimensions\":{\"" sku ".T.R\":{\"unit\":\"Hrs\","    \
	"\"pricePerUnit\":{\"USD\":\"" usd "\"}}}}}"

static int import_text(struct cost_prices *p, const char *text, const char *region,
		       struct cost_offer_stats *st, struct ks_err *e)
{
	return cost_prices_import_offer_mem(p, "t.json", text, strlen(text), region, st, e);
}

static void offer_variants(void **state)
{
	(void)state;
	struct cost_prices *p = snapshot();
	struct cost_offer_stats st;
	struct ks_err e = {0};
	struct cost_price pr;

	assert_int_equal(cost_prices_set_spot(p, "m5.large", 0.03, "us-east-1a", &e), 0);
	/* terms before products; another region replaces the snapshot wholesale */
	const char *eu = "{\"terms\":{\"OnDemand\":{" TERM("A", "0.107") "," TERM("B", "0.2")
			 "}},\"publicationDate\":\"2026-11-02T00:00:00Z\",\"products\":{"
			 PRODUCT("A", "m5.large", "eu-west-1") "}}";
	assert_int_equal(import_text(p, eu, NULL, &st, &e), 0);
	assert_int_equal(st.priced, 1);
	assert_string_equal(cost_prices_region(p), "eu-west-1");
	get(p, "m5.large", COST_CAPACITY_ON_DEMAND, &pr);
	assert_true(pr.usd_hr == 0.107);
	/* spot follows the new on-demand price through the savings figure */
	get(p, "m5.large", COST_CAPACITY_SPOT, &pr);
	near(pr.usd_hr, 0.107 * 0.41);
	assert_string_equal(pr.source, "spot: catalog savings figure 59% off on-demand "
				       "(offer file t.json (2026-11-02T00:00:00Z))");
	assert_int_equal(cost_prices_get(p, "c7g.xlarge", COST_CAPACITY_ON_DEMAND, &pr, &e),
			 KS_ENOTFOUND);
	assert_string_equal(e.msg, "no on-demand price for 'c7g.xlarge' in eu-west-1");
	cost_prices_free(p);

	/* the same region keeps the types the file does not name; duplicates keep the first */
	p = snapshot();
	const char *dup = "{\"products\":{" PRODUCT("A", "m5.large", "us-east-1") ","
			  PRODUCT("B", "m5.large", "us-east-1") "},\"terms\":{\"OnDemand\":{"
			  TERM("A", "0.1") "," TERM("B", "0.2") "}}}";
	assert_int_equal(import_text(p, dup, NULL, &st, &e), 0);
	assert_int_equal(st.duplicates, 1);
	get(p, "m5.large", COST_CAPACITY_ON_DEMAND, &pr);
	assert_true(pr.usd_hr == 0.1);
	assert_string_equal(pr.source, "offer file t.json (no publicationDate)");
	get(p, "c7g.xlarge", COST_CAPACITY_ON_DEMAND, &pr);
	assert_string_equal(pr.source, "catalog snapshot");

	/* two regions and no choice */
	const char *two = "{\"products\":{" PRODUCT("A", "m5.large", "us-east-1") ","
			  PRODUCT("B", "m5.large", "us-west-2") "}}";
	assert_int_equal(import_text(p, two, NULL, &st, &e), KS_EINVAL);
	assert_contains(e.msg, "the file holds several regions (us-east-1, us-west-2)");
	assert_int_equal(import_text(p, two, "us-west-2", &st, &e), KS_EINVAL);
	assert_contains(e.msg, "no Linux, shared-tenancy on-demand instance price");

	/* broken files, each with its message; the prices stay as they were */
	static const struct {
		const char *text, *msg;
	} bad[] = {
		{"", "t.json: byte 0: the document is truncated"},
		{"[]", "t.json: byte 0: not a JSON object"},
		{"{\"a\":1}", "t.json: no \"products\" object: not an AWS price-list offer file"},
		{"{\"products\":{}", "t.json: byte 14: the document is truncated"},
		{"{\"products\":{}}}", "t.json: byte 15: text after the end of the document"},
		{"{\"products\" {}}", "t.json: byte 12: expected ':'"},
		{"{\"products\":{},}", "t.json: byte 15: expected a member name"},
		{"{\"products\":{\"X\":{\"sku\":1 2}}}", "t.json: byte 26: expected ',' or a "
						       "closing bracket"},
		{"{\"products\":{\"X\":{\"sku\":\"X\"}}}",
		 "t.json: byte 17: product without \"sku\" or \"productFamily\""},
		{"{\"products\":{\"X\":[1,]}}", "t.json: byte 20: expected a value"},
		{"{\"products\":{" PRODUCT("A", "m5.large", "us-east-1")
		 "},\"terms\":{\"OnDemand\":{" TERM("A", "1e3") "}}}",
		 "pricePerUnit.USD is not a decimal"},
		{"{\"a\":\"x\ny\"}", "t.json: byte 7: control character in a string"},
	};
	for (size_t i = 0; i < KS_ARRAY_LEN(bad); i++) {
		e = (struct ks_err){0};
		if (import_text(p, bad[i].text, NULL, &st, &e) != KS_EINVAL)
			fail_msg("case %zu: accepted", i);
		if (!strstr(e.msg, bad[i].msg))
			fail_msg("case %zu: '%s', want '%s'", i, e.msg, bad[i].msg);
	}
	get(p, "m5.large", COST_CAPACITY_ON_DEMAND, &pr);
	assert_true(pr.usd_hr == 0.1);
	assert_int_equal(cost_prices_import_offer(p, "/nonexistent/index.json", NULL, &st, &e),
			 KS_ENOTFOUND);
	cost_prices_free(p);
}

/* An offer file far larger than the reader's window, with a long Reserved section: the
 * import streams it, and a product over the member limit is refused. */
static void offer_streaming(void **state)
{
	(void)state;
	char *dir = tu_mkdtemp();
	char path[4096];
	snprintf(path, sizeof path, "%s/big.json", dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("{\"products\":{", f);
	for (int i = 0; i < 20000; i++)
		fprintf(f, "%s\"S%d\":{\"sku\":\"S%d\",\"productFamily\":\"Compute Instance\","
			   "\"attributes\":{\"instanceType\":\"x%d.large\",\"operatingSystem\":"
			   "\"Linux\",\"tenancy\":\"Shared\",\"preInstalledSw\":\"NA\","
			   "\"capacitystatus\":\"Used\",\"regionCode\":\"us-east-1\","
			   "\"pad\":\"%0200d\"}}",
			i ? "," : "", i, i, i, 0);
	fputs("},\"terms\":{\"Reserved\":{\"R\":[", f);
	for (int i = 0; i < 200000; i++)
		fprintf(f, "%s{\"x\":\"%d\"}", i ? "," : "", i);
	fputs("]},\"OnDemand\":{", f);
	for (int i = 0; i < 20000; i++)
		fprintf(f, "%s\"S%d\":{\"T\":{\"priceDimensions\":{\"R\":{\"unit\":\"Hrs\","
			   "\"pricePerUnit\":{\"USD\":\"0.%04d\"}}}}}",
			i ? "," : "", i, i + 1);
	fputs("}}}", f);
	fclose(f);

	struct cost_prices *p = cost_prices_from_catalog(NULL);
	struct cost_offer_stats st;
	struct ks_err e = {0};
	if (cost_prices_import_offer(p, path, "us-east-1", &st, &e))
		fail_msg("%s", e.msg);
	assert_int_equal(st.priced, 20000);
	assert_true(st.bytes > 8u << 20);
	struct cost_price pr;
	get(p, "x19999.large", COST_CAPACITY_ON_DEMAND, &pr);
	near(pr.usd_hr, 0.2);
	cost_prices_free(p);

	/* one product bigger than the member limit */
	f = fopen(path, "w");
	fputs("{\"products\":{\"S\":{\"sku\":\"", f);
	for (size_t i = 0; i < COST_OFFER_MAX_MEMBER + 10; i++)
		fputc('a', f);
	fputs("\"}}}", f);
	fclose(f);
	p = cost_prices_from_catalog(NULL);
	assert_int_equal(cost_prices_import_offer(p, path, NULL, &st, &e), KS_ETOOBIG);
	assert_contains(e.msg, "byte 17: a product or term larger than the 1048576-byte limit");
	cost_prices_free(p);
	tu_rmtree(dir);
	free(dir);
}

static void spot_history(void **state)
{
	(void)state;
	struct cost_prices *p = snapshot();
	struct ks_err e = {0};
	size_t n = 0;
	const char *file = tu_fixture("cost/spot-history-us-east-1.json");
	if (cost_prices_import_spot_history(p, file, &n, &e))
		fail_msg("%s", e.msg);
	assert_int_equal(n, 2);
	/* m5.large: the latest of each zone (1a at 10:00, not 06:00), Windows left out */
	struct cost_price pr;
	get(p, "m5.large", COST_CAPACITY_SPOT, &pr);
	near(pr.usd_hr, (0.036 + 0.038 + 0.040) / 3);
	assert_int_equal(pr.interruption_bucket, 4);
	char want[1024];
	snprintf(want, sizeof want, "spot: price history (%s: mean of the latest prices in 3 "
				    "zones, newest 2026-11-21T10:00:00Z)", file);
	assert_string_equal(pr.source, want);
	get(p, "c7g.xlarge", COST_CAPACITY_SPOT, &pr);
	near(pr.usd_hr, 0.0551);
	assert_contains(pr.source, "in 1 zone, newest 2026-11-21T11:15:00Z)");
	/* on-demand is untouched */
	get(p, "m5.large", COST_CAPACITY_ON_DEMAND, &pr);
	assert_string_equal(pr.source, "catalog snapshot");

	static const struct {
		const char *text, *msg;
	} bad[] = {
		{"[]", "h.json: no \"SpotPriceHistory\" array"},
		{"{\"SpotPriceHistory\":[]}", "h.json: no Linux/UNIX spot price"},
		{"{\"SpotPriceHistory\":[{\"InstanceType\":\"m5.large\"}]}",
		 "h.json: SpotPriceHistory[0]: AvailabilityZone, InstanceType"},
		{"{\"SpotPriceHistory\":[{\"AvailabilityZone\":\"eu-west-1a\",\"InstanceType\":"
		 "\"m5.large\",\"ProductDescription\":\"Linux/UNIX\",\"SpotPrice\":\"0.1\","
		 "\"Timestamp\":\"2026-11-21T10:00:00Z\"}]}",
		 "h.json: SpotPriceHistory[0]: zone 'eu-west-1a' is not in region us-east-1"},
		{"{\"SpotPriceHistory\":[{\"AvailabilityZone\":\"us-east-1a\",\"InstanceType\":"
		 "\"m5.large\",\"ProductDescription\":\"Linux/UNIX\",\"SpotPrice\":\"-1\","
		 "\"Timestamp\":\"2026-11-21T10:00:00Z\"}]}",
		 "h.json: SpotPriceHistory[0]: SpotPrice '-1' is not a positive decimal"},
		{"{\"SpotPriceHistory\":[{\"AvailabilityZone\":\"us-east-1a\",\"InstanceType\":"
		 "\"m5.large\",\"ProductDescription\":\"Linux/UNIX\",\"SpotPrice\":\"1\","
		 "\"Timestamp\":\"yesterday\"}]}",
		 "h.json: SpotPriceHistory[0]: Timestamp: "},
		{"{", "h.json: invalid JSON"},
	};
	for (size_t i = 0; i < KS_ARRAY_LEN(bad); i++) {
		if (cost_prices_import_spot_history_mem(p, "h.json", bad[i].text,
							strlen(bad[i].text), &n, &e) != KS_EINVAL)
			fail_msg("case %zu: accepted", i);
		if (strncmp(e.msg, bad[i].msg, strlen(bad[i].msg)))
			fail_msg("case %zu: '%s', want '%s'", i, e.msg, bad[i].msg);
	}
	get(p, "m5.large", COST_CAPACITY_SPOT, &pr);
	near(pr.usd_hr, (0.036 + 0.038 + 0.040) / 3);
	cost_prices_free(p);
}

static struct cost_overrides *overrides(const char *rel)
{
	struct cost_overrides *ov = NULL;
	struct ks_err e = {0};
	if (cost_overrides_load(tu_fixture(rel), &ov, &e))
		fail_msg("%s", e.msg);
	return ov;
}

static void overrides_math(void **state)
{
	(void)state;
	struct cost_prices *p = snapshot();
	cost_prices_set_overrides(p, overrides("cost/overrides.yaml"));
	struct cost_price pr;
	char want[1024];

	/* m5: the best matching plan (40%, not 20% nor the eu-only 60%), then the 12% EDP */
	get(p, "m5.large", COST_CAPACITY_ON_DEMAND, &pr);
	assert_true(pr.list_usd_hr == 0.096);
	near(pr.usd_hr, 0.096 * 0.60 * 0.88);
	snprintf(want, sizeof want,
		 "catalog snapshot; savings plan 'm5-ec2-instance-3y' 40%%; override %s: "
		 "discount 12%%", tu_fixture("cost/overrides.yaml"));
	assert_string_equal(pr.source, want);
	/* m6g: the compute plan only */
	get(p, "m6g.large", COST_CAPACITY_ON_DEMAND, &pr);
	near(pr.usd_hr, 0.077 * 0.80 * 0.88);
	/* spot: no Savings Plan, the discount only */
	get(p, "m5.large", COST_CAPACITY_SPOT, &pr);
	near(pr.list_usd_hr, 0.096 * 0.41);
	near(pr.usd_hr, 0.096 * 0.41 * 0.88);
	assert_contains(pr.source, "spot: catalog savings figure 59% off on-demand (catalog "
				   "snapshot); override ");

	/* reserved c7g.xlarge: 3 at $0.09, paid even when unused; beyond, the on-demand price */
	struct ks_err e = {0};
	assert_int_equal(cost_prices_fleet_hourly(p, "c7g.xlarge", COST_CAPACITY_ON_DEMAND, 0,
						  &pr, &e), 0);
	near(pr.usd_hr, 3 * 0.09);
	assert_int_equal(cost_prices_fleet_hourly(p, "c7g.xlarge", COST_CAPACITY_ON_DEMAND, 2,
						  &pr, &e), 0);
	near(pr.usd_hr, 3 * 0.09);
	assert_int_equal(cost_prices_fleet_hourly(p, "c7g.xlarge", COST_CAPACITY_ON_DEMAND, 5,
						  &pr, &e), 0);
	near(pr.usd_hr, 3 * 0.09 + 2 * 0.145 * 0.80 * 0.88);
	near(pr.list_usd_hr, 3 * 0.09 + 2 * 0.145);
	assert_contains(pr.source, "reserved capacity ");
	assert_contains(pr.source, ": 3 x $0.09/h paid whether used or not; beyond it: catalog "
				   "snapshot; savings plan 'compute-1y' 20%");
	/* spot and unreserved types: count x the price */
	assert_int_equal(cost_prices_fleet_hourly(p, "c7g.xlarge", COST_CAPACITY_SPOT, 2, &pr,
						  &e), 0);
	near(pr.usd_hr, 2 * 0.145 * 0.38 * 0.88);
	assert_int_equal(cost_prices_fleet_hourly(p, "m5.large", COST_CAPACITY_ON_DEMAND, 10, &pr,
						  &e), 0);
	near(pr.usd_hr, 10 * 0.096 * 0.60 * 0.88);
	assert_int_equal(cost_prices_fleet_hourly(p, "m5.large", COST_CAPACITY_ON_DEMAND, -1, &pr,
						  &e), KS_EINVAL);

	/* the JSON file; replacing the overrides; removing them */
	cost_prices_set_overrides(p, overrides("cost/overrides.json"));
	get(p, "m5.large", COST_CAPACITY_ON_DEMAND, &pr);
	near(pr.usd_hr, 0.096 * 0.95);
	assert_int_equal(cost_prices_fleet_hourly(p, "m6g.large", COST_CAPACITY_ON_DEMAND, 3, &pr,
						  &e), 0);
	near(pr.usd_hr, 2 * 0.05 + 0.077 * 0.95);
	cost_prices_set_overrides(p, NULL);
	get(p, "m5.large", COST_CAPACITY_ON_DEMAND, &pr);
	assert_true(pr.usd_hr == 0.096);
	assert_string_equal(pr.source, "catalog snapshot");
	cost_prices_free(p);
}

static void overrides_errors(void **state)
{
	(void)state;
	static const struct {
		const char *text, *msg;
	} bad[] = {
		{"discountPct: 100\n", "o.yaml:1:14: discountPct: '100' is not between 0 and 100 "
				       "(exclusive)"},
		{"discountPct: -5\n", "o.yaml:1:14: discountPct: '-5' is not a number"},
		{"discountPct: 1e2\n", "o.yaml:1:14: discountPct: '1e2' is not a number"},
		{"discount: 5\n", "o.yaml:1:1: unknown key 'discount'"},
		{"discountPct: 5\ndiscountPct: 6\n",
		 "o.yaml:2:1: key 'discountPct' is given twice"},
		{"- 1\n", "o.yaml:1:1: must be a mapping"},
		{"savingsPlans:\n  - name: a\n    pct: 120\n",
		 "o.yaml:3:10: savingsPlans[0]: '120' is not between 0 and 100 (exclusive)"},
		{"savingsPlans:\n  - pct: 10\n", "o.yaml:2:5: savingsPlans[0]: 'name' is required"},
		{"savingsPlans:\n  - name: a\n    pct: 10\n    families: m5\n",
		 "o.yaml:4:15: savingsPlans[0]: must be a list"},
		{"savingsPlans:\n  - name: a\n    pct: 10\n    families: []\n",
		 "o.yaml:4:15: savingsPlans[0]: must hold 1 to 1000 items"},
		{"savingsPlans:\n  - name: a\n    pct: 10\n    regions: [\"us east\"]\n",
		 "o.yaml:4:16: savingsPlans[0]: 'us east' holds a character other than"},
		{"reserved:\n  - instanceType: m5\n    count: 1\n    usdPerHour: 0.1\n",
		 "o.yaml:2:19: reserved[0]: 'm5' is not an instance type (family.size)"},
		{"reserved:\n  - instanceType: m5.large\n    count: 1.5\n    usdPerHour: 0.1\n",
		 "o.yaml:3:12: reserved[0]: count '1.5' is not a whole number"},
		{"reserved:\n  - instanceType: m5.large\n    count: 0\n    usdPerHour: 0.1\n",
		 "o.yaml:3:12: reserved[0]: '0' is not between 1 and 1e+06"},
		{"reserved:\n  - {instanceType: m5.large, count: 1, usdPerHour: 1}\n"
		 "  - {instanceType: m5.large, count: 2, usdPerHour: 1}\n",
		 "o.yaml:3:20: reserved[1]: 'm5.large' is reserved twice"},
		{"reserved:\n  - instanceType: m5.large\n    count: 1\n",
		 "o.yaml:2:5: reserved[0]: 'usdPerHour' is required"},
		{"{\"discountPct\": \"x\"}", "o.yaml:1:18: discountPct: 'x' is not a number"},
		{"", "o.yaml: empty document"},
		{"a: [\n", "o.yaml: "},
	};
	for (size_t i = 0; i < KS_ARRAY_LEN(bad); i++) {
		struct cost_overrides *ov = (struct cost_overrides *)&ov;
		struct ks_err e = {0};
		if (cost_overrides_parse_mem("o.yaml", bad[i].text, strlen(bad[i].text), &ov, &e) !=
		    KS_EINVAL)
			fail_msg("case %zu: accepted", i);
		assert_null(ov);
		if (strncmp(e.msg, bad[i].msg, strlen(bad[i].msg)))
			fail_msg("case %zu: '%s', want '%s'", i, e.msg, bad[i].msg);
	}
	struct cost_overrides *ov;
	struct ks_err e = {0};
	assert_int_equal(cost_overrides_load("/nonexistent/o.yaml", &ov, &e), KS_ENOTFOUND);
	assert_int_equal(cost_overrides_parse_mem("o", "", COST_OVERRIDES_MAX_BYTES + 1, &ov, &e),
			 KS_ETOOBIG);
	cost_overrides_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(catalog_facts),   cmocka_unit_test(offer_sample),
		cmocka_unit_test(offer_variants),  cmocka_unit_test(offer_streaming),
		cmocka_unit_test(spot_history),    cmocka_unit_test(overrides_math),
		cmocka_unit_test(overrides_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
