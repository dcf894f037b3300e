/* test_catalog.c — the instance-type catalog: facts from the real data/instance-types.csv,
 * node labels, the spot price rule, the default path, and the parser's handling of valid
 * variants (quotes, CRLF, column order) and of broken inputs, with their exact messages. */
#include "testutil.h"

#include "cost/catalog.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define HDR COST_CATALOG_COLUMNS "\n"
#define M5 "m5.large,m5,m,5,large,amd64,2,8192,intel,0,29,1930,6903,0.096,59,4\n"

static struct cost_catalog *load_real(void)
{
	const char *src = getenv("KSWARM_SRCDIR");
	char path[4096];
	snprintf(path, sizeof path, "%s/data/instance-types.csv", src ? src : ".");
	struct cost_catalog *cat = NULL;
	struct ks_err e = {0};
	int rc = cost_catalog_load(path, &cat, &e);
	if (rc)
		fail_msg("%s", e.msg);
	return cat;
}

static void real_file_facts(void **state)
{
	(void)state;
	struct cost_catalog *cat = load_real();
	assert_int_equal(cost_catalog_count(cat), 1345);

	const struct cost_instance_type *m5 = cost_catalog_find(cat, "m5.large");
	assert_non_null(m5);
	assert_string_equal(m5->name, "m5.large");
	assert_string_equal(m5->family, "m5");
	assert_string_equal(m5->category, "m");
	assert_int_equal(m5->generation, 5);
	assert_string_equal(m5->size, "large");
	assert_int_equal(m5->arch, COST_ARCH_AMD64);
	assert_int_equal(m5->vcpu, 2);
	assert_int_equal(m5->memory_mib, 8192);
	assert_string_equal(m5->cpu_manufacturer, "intel");
	assert_int_equal(m5->gpu_count, 0);
	assert_string_equal(m5->gpu_name, "");
	assert_int_equal(m5->max_pods, 29);
	assert_int_equal(m5->alloc_cpu_millis, 1930);
	assert_int_equal(m5->alloc_memory_mib, 6903);
	assert_true(m5->od_price_usd_hr == 0.096);
	assert_int_equal(m5->spot_savings_pct, 59);
	assert_int_equal(m5->spot_interruption_bucket, 4);

	const struct cost_instance_type *g = cost_catalog_find(cat, "m6g.large");
	assert_non_null(g);
	assert_int_equal(g->arch, COST_ARCH_ARM64);
	assert_string_equal(g->cpu_manufacturer, "aws");
	assert_int_equal(g->alloc_memory_mib, 6844);
	assert_true(g->od_price_usd_hr == 0.077);

	const struct cost_instance_type *p5 = cost_catalog_find(cat, "p5.48xlarge");
	assert_non_null(p5);
	assert_int_equal(p5->gpu_count, 8);
	assert_string_equal(p5->gpu_name, "h100");
	assert_int_equal(p5->memory_mib, 2097152);
	assert_true(p5->od_price_usd_hr == 55.04);

	const struct cost_instance_type *t3 = cost_catalog_find(cat, "t3.micro");
	assert_non_null(t3);
	assert_true(t3->od_price_usd_hr == 0.0104);

	assert_null(cost_catalog_find(cat, "m5.huge"));
	assert_null(cost_catalog_find(cat, ""));
	assert_null(cost_catalog_at(cat, 1345));

	/* every row is findable, in file order, and within the documented ranges */
	size_t arm = 0, gpu = 0, nospot = 0;
	for (size_t i = 0; i < cost_catalog_count(cat); i++) {
		const struct cost_instance_type *t = cost_catalog_at(cat, i);
		assert_ptr_equal(cost_catalog_find(cat, t->name), t);
		assert_true(t->alloc_cpu_millis > 0 && t->alloc_cpu_millis < 1000 * t->vcpu);
		assert_true(t->alloc_memory_mib > 0 && t->alloc_memory_mib < t->memory_mib);
		assert_true(t->od_price_usd_hr > 0);
		arm += t->arch == COST_ARCH_ARM64;
		gpu += t->gpu_count > 0;
		nospot += t->spot_savings_pct < 0;
		assert_true((t->spot_savings_pct < 0) == (t->spot_interruption_bucket < 0));
	}
	assert_string_equal(cost_catalog_at(cat, 0)->name, "a1.medium");
	assert_int_equal(arm, 396);
	assert_int_equal(gpu, 64);
	assert_int_equal(nospot, 207);
	cost_catalog_free(cat);
}

struct labels {
	char text[2048];
	int n, stop_after;
};

static int collect(const char *key, const char *value, void *ctx)
{
	struct labels *l = ctx;
	size_t o = strlen(l->text);
	snprintf(l->text + o, sizeof l->text - o, "%s=%s\n", key, value);
	return ++l->n == l->stop_after ? 7 : 0;
}

static void labels(void **state)
{
	(void)state;
	struct cost_catalog *cat = load_real();
	struct labels l = {0};
	assert_int_equal(cost_instance_labels(cost_catalog_find(cat, "m6g.large"), collect, &l), 0);
	assert_string_equal(l.text, "node.kubernetes.io/instance-type=m6g.large\n"
				    "kubernetes.io/arch=arm64\n"
				    "karpenter.k8s.aws/instance-family=m6g\n"
				    "karpenter.k8s.aws/instance-category=m\n"
				    "karpenter.k8s.aws/instance-generation=6\n"
				    "karpenter.k8s.aws/instance-size=large\n"
				    "karpenter.k8s.aws/instance-cpu=2\n"
				    "karpenter.k8s.aws/instance-memory=8192\n"
				    "karpenter.k8s.aws/instance-cpu-manufacturer=aws\n");

	memset(&l, 0, sizeof l);
	cost_instance_labels(cost_catalog_find(cat, "p5.48xlarge"), collect, &l);
	assert_contains(l.text, "karpenter.k8s.aws/instance-cpu=192\n");
	assert_contains(l.text, "karpenter.k8s.aws/instance-memory=2097152\n");
	assert_contains(l.text, "karpenter.k8s.aws/instance-cpu-manufacturer=amd\n");
	assert_contains(l.text, "karpenter.k8s.aws/instance-gpu-name=h100\n"
				"karpenter.k8s.aws/instance-gpu-count=8\n");

	/* fractional L4: Karpenter labels gpu-count 0 */
	memset(&l, 0, sizeof l);
	cost_instance_labels(cost_catalog_find(cat, "g6f.large"), collect, &l);
	assert_contains(l.text, "karpenter.k8s.aws/instance-gpu-name=l4\n"
				"karpenter.k8s.aws/instance-gpu-count=0\n");

	/* a non-zero return stops the walk and is passed on */
	memset(&l, 0, sizeof l);
	l.stop_after = 2;
	assert_int_equal(cost_instance_labels(cost_catalog_find(cat, "m5.large"), collect, &l), 7);
	assert_int_equal(l.n, 2);
	cost_catalog_free(cat);
}

static void spot_price(void **state)
{
	(void)state;
	struct cost_catalog *cat = load_real();
	/* m5.large: 0.096 * (1 - 0.59) */
	assert_true(fabs(cost_instance_spot_price(cost_catalog_find(cat, "m5.large")) - 0.03936) <
		    1e-12);
	/* no Spot Advisor data */
	const struct cost_instance_type *t2 = cost_catalog_find(cat, "t2.nano");
	assert_int_equal(t2->spot_savings_pct, -1);
	assert_true(cost_instance_spot_price(t2) == COST_NO_SPOT_PRICE);
	/* the advisor's 0 for a1.*: no estimate either, not the on-demand price */
	const struct cost_instance_type *a1 = cost_catalog_find(cat, "a1.large");
	assert_int_equal(a1->spot_savings_pct, 0);
	assert_int_equal(a1->spot_interruption_bucket, 4);
	assert_true(cost_instance_spot_price(a1) < 0);
	cost_catalog_free(cat);
}

static void default_path(void **state)
{
	(void)state;
	setenv("KSWARM_DATA_DIR", "/opt/ks", 1);
	char *p = cost_catalog_default_path();
	assert_string_equal(p, "/opt/ks/instance-types.csv");
	free(p);
	setenv("KSWARM_DATA_DIR", "", 1);
	p = cost_catalog_default_path();
	/* build/tests/test_catalog -> build/data, which does not exist */
	assert_string_equal(p, "/usr/share/kswarm/data/instance-types.csv");
	free(p);
	unsetenv("KSWARM_DATA_DIR");
}

static struct cost_catalog *parse_ok(const char *csv)
{
	struct cost_catalog *cat = NULL;
	struct ks_err e = {0};
	if (cost_catalog_parse_mem("t.csv", csv, strlen(csv), &cat, &e))
		fail_msg("%s", e.msg);
	return cat;
}

static void valid_variants(void **state)
{
	(void)state;
	/* CRLF, quoted fields with escapes and a newline in an ignored column, columns in
	 * another order, an unknown column, no final newline, empty spot columns */
	struct cost_catalog *cat = parse_ok(
		"note,spot_interruption_bucket,spot_savings_pct,od_price_usd_hr,alloc_memory_mib,"
		"alloc_cpu_millis,max_pods,gpu_count,cpu_manufacturer,memory_mib,vcpu,arch,size,"
		"generation,category,family,instance_type\r\n"
		"\"say \"\"hi\"\",\nok\",,,\"1.5\",6903,1930,29,0,intel,8192,2,amd64,large,5,m,m5,"
		"\"m5.large\"\r\n"
		"x,1,20,0.0042,100,200,4,1,amd,1024,1,arm64,nano,4,t,t4g,t4g.nano");
	assert_int_equal(cost_catalog_count(cat), 2);
	const struct cost_instance_type *m5 = cost_catalog_find(cat, "m5.large");
	assert_true(m5->od_price_usd_hr == 1.5);
	assert_int_equal(m5->spot_savings_pct, -1);
	assert_int_equal(m5->line, 2);
	assert_true(cost_instance_spot_price(m5) < 0);
	const struct cost_instance_type *t = cost_catalog_find(cat, "t4g.nano");
	assert_int_equal(t->line, 4);
	assert_true(t->od_price_usd_hr == 0.0042);
	assert_int_equal(t->gpu_count, 1);
	assert_string_equal(t->gpu_name, "");
	assert_true(cost_instance_spot_price(t) == 0.0042 * 0.8);
	cost_catalog_free(cat);
}

static void broken_inputs(void **state)
{
	(void)state;
	char longline[6000];
	memset(longline, 'a', sizeof longline);
	memcpy(longline, HDR, strlen(HDR));
	longline[sizeof longline - 1] = '\0';
	struct {
		const char *in;
		int code;
		const char *msg;
	} cases[] = {
		{"", KS_EINVAL, "t.csv:1:1: empty file"},
		{HDR, KS_EINVAL, "t.csv:2:1: no instance types after the header"},
		{"instance_type,family,category,generation,size,arch,memory_mib,cpu_manufacturer,"
		 "gpu_count,max_pods,alloc_cpu_millis,alloc_memory_mib,od_price_usd_hr,"
		 "spot_savings_pct,spot_interruption_bucket\n" M5,
		 KS_EINVAL, "t.csv:1:1: the header has no 'vcpu' column"},
		{"vcpu," HDR, KS_EINVAL,
		 "t.csv:1:57: column 'vcpu' appears twice (first at column 1)"},
		{HDR M5 "m5.xlarge,m5,m,5,xlarge,amd64,x,8192,intel,0,29,1930,6903,0.096,59,4\n",
		 KS_EINVAL, "t.csv:3:31: vcpu: 'x' is not a number"},
		{HDR "m5.large,m5,m,5,large,amd64,-2,8192,intel,0,29,1930,6903,0.096,59,4\n",
		 KS_EINVAL, "t.csv:2:29: vcpu: '-2' is negative"},
		{HDR "m5.large,m5,m,5,large,amd64,2.5,8192,intel,0,29,1930,6903,0.096,59,4\n",
		 KS_EINVAL, "t.csv:2:29: vcpu: '2.5' is not an integer"},
		{HDR "m5.large,m5,m,5,large,amd64,2,,intel,0,29,1930,6903,0.096,59,4\n",
		 KS_EINVAL, "t.csv:2:31: memory_mib: empty value"},
		{HDR "m5.large,m5,m,5,large,amd64,2,8192,intel,0,2147483648,1930,6903,0.096,59,4\n",
		 KS_EINVAL,
		 "t.csv:2:44: max_pods: '2147483648' is out of range (at most 2147483647)"},
		{HDR "m5.large,m5,m,5,large,amd64,2,8192,intel,0,29,1930,6903,1e-3,59,4\n",
		 KS_EINVAL, "t.csv:2:57: od_price_usd_hr: '1e-3' is not a decimal number"},
		{HDR "m5.large,m5,m,5,large,amd64,2,8192,intel,0,29,1930,6903,0.000,59,4\n",
		 KS_EINVAL, "t.csv:2:57: od_price_usd_hr: '0.000' must be greater than 0"},
		{HDR "m5.large,m5,m,5,large,amd64,2,8192,intel,0,29,1930,6903,.5,59,4\n",
		 KS_EINVAL, "t.csv:2:57: od_price_usd_hr: '.5' is not a decimal number"},
		{HDR "m5.large,m5,m,5,large,amd64,2,8192,intel,0,29,1930,6903,0.096,101,4\n",
		 KS_EINVAL, "t.csv:2:63: spot_savings_pct: '101' is out of range (at most 100)"},
		{HDR "m5.large,m5,m,5,large,amd64,2,8192,intel,0,29,1930,6903,0.096,59,\n",
		 KS_EINVAL,
		 "t.csv:2:66: spot_interruption_bucket: empty while spot_savings_pct is set"},
		{HDR "m5.large,m5,m,5,large,x86_64,2,8192,intel,0,29,1930,6903,0.096,59,4\n",
		 KS_EINVAL, "t.csv:2:23: arch: 'x86_64' is not amd64 or arm64"},
		{HDR "m5 large,m5,m,5,large,amd64,2,8192,intel,0,29,1930,6903,0.096,59,4\n",
		 KS_EINVAL, "t.csv:2:1: instance_type: 'm5 large' is not a valid label value"},
		{HDR "m5.large,\"m\x01'5\",m,5,large,amd64,2,8192,intel,0,29,1930,6903,0.096,59,"
		     "4\n",
		 KS_EINVAL, "t.csv:2:10: family: 'm\\x01\\x275' is not a valid label value"},
		{HDR "\"m5.large,m5,m,5,large,amd64,2,8192,intel,0,29,1930,6903,0.096,59,4\n",
		 KS_EINVAL, "t.csv:2:1: unterminated quoted field"},
		{HDR "m5.large,m\"5,m,5,large,amd64,2,8192,intel,0,29,1930,6903,0.096,59,4\n",
		 KS_EINVAL, "t.csv:2:11: quote in an unquoted field"},
		{HDR "\"m5.large\"x,m5,m,5,large,amd64,2,8192,intel,0,29,1930,6903,0.096,59,4\n",
		 KS_EINVAL, "t.csv:2:11: unexpected character after a closing quote"},
		{HDR M5 M5, KS_EINVAL,
		 "t.csv:3:1: instance_type: duplicate 'm5.large' (first on line 2)"},
		{HDR M5 "m5.large,m5\n", KS_EINVAL, "t.csv:3:1: 2 fields, the header has 16"},
		{HDR "\n" M5, KS_EINVAL, "t.csv:2:1: empty line"},
		{longline, KS_ETOOBIG, "t.csv:2:4097: line is longer than 4096 bytes"},
	};
	int failed = 0;
	for (size_t i = 0; i < KS_ARRAY_LEN(cases); i++) {
		struct cost_catalog *cat = (void *)1;
		struct ks_err e = {0};
		int rc = cost_catalog_parse_mem("t.csv", cases[i].in, strlen(cases[i].in), &cat,
						&e);
		if (rc != cases[i].code || strcmp(e.msg, cases[i].msg) != 0) {
			print_error("case %zu: got %d \"%s\", want %d \"%s\"\n", i, rc, e.msg,
				    cases[i].code, cases[i].msg);
			failed++;
		}
		assert_null(cat);
	}
	assert_int_equal(failed, 0);

	/* a NUL byte; and the size ceiling, checked before anything is read */
	struct cost_catalog *cat;
	struct ks_err e = {0};
	const char nul[] = HDR "m5.large\0";
	assert_int_equal(cost_catalog_parse_mem("t.csv", nul, sizeof nul - 1, &cat, &e), KS_EINVAL);
	assert_string_equal(e.msg, "t.csv:2:9: NUL byte");
	assert_int_equal(cost_catalog_parse_mem("t.csv", "", COST_CATALOG_MAX_BYTES + 1, &cat, &e),
			 KS_ETOOBIG);
	assert_string_equal(e.msg, "t.csv: larger than the 16777216-byte limit");

	/* a missing file */
	assert_int_equal(cost_catalog_load("/nonexistent/instance-types.csv", &cat, &e),
			 KS_ENOTFOUND);
	assert_null(cat);
	assert_string_equal(e.msg, "/nonexistent/instance-types.csv: No such file or directory");
	cost_catalog_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(real_file_facts), cmocka_unit_test(labels),
		cmocka_unit_test(spot_price),      cmocka_unit_test(default_path),
		cmocka_unit_test(valid_variants),  cmocka_unit_test(broken_inputs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
