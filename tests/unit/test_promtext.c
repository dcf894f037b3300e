/* test_promtext.c — the Prometheus text format writer: byte-exact output for a set of families,
 * number and le formatting, escaping, the guard rules, and (when promtool is installed)
 * `promtool check metrics` over the same output. */
#include "testutil.h"

#include "base/promtext.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const char expected_families[] =
	"# HELP container_cpu_usage_seconds_total Cumulative cpu time consumed in seconds.\n"
	"# TYPE container_cpu_usage_seconds_total counter\n"
	"container_cpu_usage_seconds_total{container=\"web\",namespace=\"shop\",pod=\"web-0\"} "
	"1234.5 1795255202000\n"
	"container_cpu_usage_seconds_total{container=\"db\",namespace=\"shop\",pod=\"db-0\"} 0 "
	"1795255202000\n"
	"# HELP container_memory_working_set_bytes Current working set in bytes.\n"
	"# TYPE container_memory_working_set_bytes gauge\n"
	"container_memory_working_set_bytes{container=\"web\",namespace=\"shop\",pod=\"web-0\"} "
	"268435456\n"
	"container_memory_working_set_bytes{container=\"db\",namespace=\"shop\",pod=\"db-0\"} "
	"1.5e+15\n"
	"# HELP kswarm_sim_note A help text with a backslash \\\\ and\\nnewline, \"quotes\" kept.\n"
	"# TYPE kswarm_sim_note gauge\n"
	"kswarm_sim_note{text=\"a\\\\b \\\"q\\\" c\\nd\",utf8=\"größe ✓\"} 0.1\n"
	"kswarm_sim_note{text=\"\"} -3.25e-07\n"
	"# HELP kswarm_sim_special Special values.\n"
	"# TYPE kswarm_sim_special gauge\n"
	"kswarm_sim_special{v=\"pinf\"} +Inf\n"
	"kswarm_sim_special{v=\"ninf\"} -Inf\n"
	"kswarm_sim_special{v=\"nan\"} NaN\n"
	"kswarm_sim_special{v=\"negzero\"} 0\n"
	"# HELP kswarm_untyped_thing An untyped sample without labels.\n"
	"# TYPE kswarm_untyped_thing untyped\n"
	"kswarm_untyped_thing 42\n"
	"# HELP kswarm_scrape_duration_seconds Time to render the metrics.\n"
	"# TYPE kswarm_scrape_duration_seconds histogram\n"
	"kswarm_scrape_duration_seconds_bucket{handler=\"metrics\",le=\"0.005\"} 3\n"
	"kswarm_scrape_duration_seconds_bucket{handler=\"metrics\",le=\"0.01\"} 3\n"
	"kswarm_scrape_duration_seconds_bucket{handler=\"metrics\",le=\"0.25\"} 10\n"
	"kswarm_scrape_duration_seconds_bucket{handler=\"metrics\",le=\"1\"} 12\n"
	"kswarm_scrape_duration_seconds_bucket{handler=\"metrics\",le=\"1e+06\"} 12\n"
	"kswarm_scrape_duration_seconds_bucket{handler=\"metrics\",le=\"+Inf\"} 13\n"
	"kswarm_scrape_duration_seconds_sum{handler=\"metrics\"} 2.000003125e+06\n"
	"kswarm_scrape_duration_seconds_count{handler=\"metrics\"} 13\n"
	"kswarm_scrape_duration_seconds_bucket{le=\"+Inf\"} 0 1795255202000\n"
	"kswarm_scrape_duration_seconds_sum 0 1795255202000\n"
	"kswarm_scrape_duration_seconds_count 0 1795255202000\n";

static void write_families(struct ks_buf *b)
{
	struct ks_prom_writer w;
	struct ks_err e = {0};
	ks_prom_writer_init(&w, b);
	const int64_t ts = 1795255202000LL;

	assert_int_equal(ks_prom_family(&w, "container_cpu_usage_seconds_total", KS_PROM_COUNTER,
					"Cumulative cpu time consumed in seconds.", &e),
			 0);
	struct ks_prom_label web[] = {
		{"container", "web"}, {"namespace", "shop"}, {"pod", "web-0"}};
	struct ks_prom_label db[] = {{"container", "db"}, {"namespace", "shop"}, {"pod", "db-0"}};
	assert_int_equal(ks_prom_sample(&w, web, 3, 1234.5, ts, &e), 0);
	assert_int_equal(ks_prom_sample(&w, db, 3, 0, ts, &e), 0);

	assert_int_equal(ks_prom_family(&w, "container_memory_working_set_bytes", KS_PROM_GAUGE,
					"Current working set in bytes.", &e),
			 0);
	assert_int_equal(ks_prom_sample(&w, web, 3, 268435456.0, KS_PROM_NO_TIMESTAMP, &e), 0);
	assert_int_equal(ks_prom_sample(&w, db, 3, 1.5e15, KS_PROM_NO_TIMESTAMP, &e), 0);

	const char *help = "A help text with a backslash \\ and\nnewline, \"quotes\" kept.";
	assert_int_equal(ks_prom_family(&w, "kswarm_sim_note", KS_PROM_GAUGE, help, &e), 0);
	struct ks_prom_label note[] = {{"text", "a\\b \"q\" c\nd"}, {"utf8", "größe ✓"}};
	assert_int_equal(ks_prom_sample(&w, note, 2, 0.1, KS_PROM_NO_TIMESTAMP, &e), 0);
	struct ks_prom_label empty[] = {{"text", ""}};
	assert_int_equal(ks_prom_sample(&w, empty, 1, -3.25e-7, KS_PROM_NO_TIMESTAMP, &e), 0);

	assert_int_equal(
		ks_prom_family(&w, "kswarm_sim_special", KS_PROM_GAUGE, "Special values.", &e), 0);
	const char *names[] = {"pinf", "ninf", "nan", "negzero"};
	double vals[] = {INFINITY, -INFINITY, NAN, -0.0};
	for (size_t i = 0; i < 4; i++) {
		struct ks_prom_label l = {"v", names[i]};
		assert_int_equal(ks_prom_sample(&w, &l, 1, vals[i], KS_PROM_NO_TIMESTAMP, &e), 0);
	}

	assert_int_equal(ks_prom_family(&w, "kswarm_untyped_thing", KS_PROM_UNTYPED,
					"An untyped sample without labels.", &e),
			 0);
	assert_int_equal(ks_prom_sample(&w, NULL, 0, 42, KS_PROM_NO_TIMESTAMP, &e), 0);

	assert_int_equal(ks_prom_family(&w, "kswarm_scrape_duration_seconds", KS_PROM_HISTOGRAM,
					"Time to render the metrics.", &e),
			 0);
	const double bounds[] = {0.005, 0.01, 0.25, 1, 1e6};
	const uint64_t counts[] = {3, 0, 7, 2, 0, 1};
	struct ks_prom_histogram h = {bounds, 5, counts, 2000003.125};
	struct ks_prom_label hl = {"handler", "metrics"};
	assert_int_equal(ks_prom_histogram(&w, &hl, 1, &h, KS_PROM_NO_TIMESTAMP, &e), 0);
	const uint64_t zero[] = {0};
	struct ks_prom_histogram h0 = {NULL, 0, zero, 0};
	assert_int_equal(ks_prom_histogram(&w, NULL, 0, &h0, ts, &e), 0);
	ks_prom_writer_release(&w);
}

static void families_exact(void **state)
{
	(void)state;
	struct ks_buf b;
	ks_buf_init(&b, KS_BUF_UNLIMITED);
	write_families(&b);
	assert_string_equal(b.data, expected_families);
	ks_buf_release(&b);
}

static void values(void **state)
{
	(void)state;
	struct {
		double v;
		const char *value, *le;
	} cases[] = {
		{0, "0", "0"},
		{1, "1", "1"},
		{-1, "-1", "-1"},
		{42, "42", "42"},
		{100000, "100000", "100000"},
		{1e6, "1000000", "1e+06"},
		{123456789012345.0, "123456789012345", "1.23456789012345e+14"},
		{1e15, "1e+15", "1e+15"},
		{2.5, "2.5", "2.5"},
		{0.1, "0.1", "0.1"},
		{0.005, "0.005", "0.005"},
		{0.0001, "0.0001", "0.0001"},
		{0.00001, "1e-05", "1e-05"},
		{1.0 / 3, "0.3333333333333333", "0.3333333333333333"},
		{123456.5, "123456.5", "123456.5"},
		{1234567.5, "1.2345675e+06", "1.2345675e+06"},
		{-2.5e-300, "-2.5e-300", "-2.5e-300"},
		{1.7976931348623157e308, "1.7976931348623157e+308", "1.7976931348623157e+308"},
		{5e-324, "5e-324", "5e-324"},
	};
	for (size_t i = 0; i < KS_ARRAY_LEN(cases); i++) {
		char out[KS_PROM_NUM_MAX];
		ks_prom_format_value(cases[i].v, out, sizeof out);
		assert_string_equal(out, cases[i].value);
		ks_prom_format_le(cases[i].v, out, sizeof out);
		assert_string_equal(out, cases[i].le);
		if (cases[i].v != 0)
			assert_true(strtod(out, NULL) == cases[i].v);
	}
}

static void guards(void **state)
{
	(void)state;
	struct ks_buf b;
	ks_buf_init(&b, KS_BUF_UNLIMITED);
	struct ks_prom_writer w;
	struct ks_err e = {0};
	ks_prom_writer_init(&w, &b);

	assert_int_equal(ks_prom_sample(&w, NULL, 0, 1, KS_PROM_NO_TIMESTAMP, &e), KS_EINVAL);
	assert_contains(e.msg, "before any family");
	assert_int_equal(ks_prom_family(&w, "9lives", KS_PROM_GAUGE, NULL, &e), KS_EINVAL);
	assert_contains(e.msg, "metric name '9lives' is not valid");
	assert_int_equal(ks_prom_family(&w, "a-b", KS_PROM_GAUGE, NULL, &e), KS_EINVAL);
	assert_int_equal(ks_prom_family(&w, "", KS_PROM_GAUGE, NULL, &e), KS_EINVAL);
	assert_int_equal(ks_prom_family(&w, "x", KS_PROM_GAUGE, "bad \xff", &e), KS_EINVAL);
	assert_contains(e.msg, "not valid UTF-8 at byte 4");
	assert_int_equal(b.len, 0);

	assert_int_equal(ks_prom_family(&w, "job:req_rate:5m", KS_PROM_GAUGE, NULL, &e), 0);
	struct ks_prom_label bad[] = {{"a:b", "x"}};
	assert_int_equal(ks_prom_sample(&w, bad, 1, 1, KS_PROM_NO_TIMESTAMP, &e), KS_EINVAL);
	assert_contains(e.msg, "label name 'a:b' is not valid");
	struct ks_prom_label dup[] = {{"a", "x"}, {"a", "y"}};
	assert_int_equal(ks_prom_sample(&w, dup, 2, 1, KS_PROM_NO_TIMESTAMP, &e), KS_EINVAL);
	assert_contains(e.msg, "label a given twice");
	struct ks_prom_label badutf[] = {{"a", "\xc0\x80"}};
	assert_int_equal(ks_prom_sample(&w, badutf, 1, 1, KS_PROM_NO_TIMESTAMP, &e), KS_EINVAL);
	struct ks_prom_label surrogate[] = {{"a", "\xed\xa0\x80"}};
	assert_int_equal(ks_prom_sample(&w, surrogate, 1, 1, KS_PROM_NO_TIMESTAMP, &e), KS_EINVAL);
	const uint64_t c[] = {1};
	struct ks_prom_histogram h = {NULL, 0, c, 1};
	assert_int_equal(ks_prom_histogram(&w, NULL, 0, &h, KS_PROM_NO_TIMESTAMP, &e), KS_EINVAL);
	assert_contains(e.msg, "use ks_prom_sample");
	assert_int_equal(ks_prom_sample(&w, NULL, 0, 7, KS_PROM_NO_TIMESTAMP, &e), 0);

	assert_int_equal(ks_prom_family(&w, "h", KS_PROM_HISTOGRAM, NULL, &e), 0);
	assert_int_equal(ks_prom_sample(&w, NULL, 0, 1, KS_PROM_NO_TIMESTAMP, &e), KS_EINVAL);
	assert_contains(e.msg, "use ks_prom_histogram");
	struct ks_prom_label le[] = {{"le", "1"}};
	assert_int_equal(ks_prom_histogram(&w, le, 1, &h, KS_PROM_NO_TIMESTAMP, &e), KS_EINVAL);
	assert_contains(e.msg, "label named le");
	const double down[] = {1, 1};
	const uint64_t c3[] = {0, 0, 0};
	struct ks_prom_histogram hd = {down, 2, c3, 0};
	assert_int_equal(ks_prom_histogram(&w, NULL, 0, &hd, KS_PROM_NO_TIMESTAMP, &e), KS_EINVAL);
	assert_contains(e.msg, "not strictly increasing");
	const double inf[] = {1, INFINITY};
	struct ks_prom_histogram hi = {inf, 2, c3, 0};
	assert_int_equal(ks_prom_histogram(&w, NULL, 0, &hi, KS_PROM_NO_TIMESTAMP, &e), KS_EINVAL);
	assert_contains(e.msg, "+Inf is implied");

	/* A family cannot come back once another one started. */
	assert_int_equal(ks_prom_family(&w, "job:req_rate:5m", KS_PROM_GAUGE, NULL, &e), KS_EINVAL);
	assert_contains(e.msg, "must be written together");
	assert_string_equal(b.data, "# TYPE job:req_rate:5m gauge\n"
				    "job:req_rate:5m 7\n"
				    "# TYPE h histogram\n");
	ks_prom_writer_release(&w);
	ks_buf_release(&b);
}

/* A full buffer leaves no partial line behind. */
static void ceiling_rollback(void **state)
{
	(void)state;
	struct ks_buf b;
	ks_buf_init(&b, 100);
	struct ks_prom_writer w;
	struct ks_err e = {0};
	ks_prom_writer_init(&w, &b);
	assert_int_equal(ks_prom_family(&w, "m", KS_PROM_GAUGE, NULL, &e), 0);
	struct ks_prom_label l = {"pod", "a-rather-long-pod-name-that-will-not-fit"};
	assert_int_equal(ks_prom_sample(&w, &l, 1, 1, KS_PROM_NO_TIMESTAMP, &e), 0);
	size_t len = b.len;
	assert_int_equal(ks_prom_sample(&w, &l, 1, 2, KS_PROM_NO_TIMESTAMP, &e), KS_ETOOBIG);
	assert_int_equal(b.len, len);
	assert_int_equal(strlen(b.data), len);
	ks_prom_writer_release(&w);
	ks_buf_release(&b);
}

/* `promtool check metrics` over the output of families_exact, when promtool is installed. */
static void promtool_check(void **state)
{
	(void)state;
	if (system("command -v promtool >/dev/null 2>&1") != 0)
		skip();
	char *dir = tu_mkdtemp();
	char path[512], cmd[1200], outpath[512];
	snprintf(path, sizeof path, "%s/metrics.txt", dir);
	snprintf(outpath, sizeof outpath, "%s/promtool.out", dir);
	struct ks_buf b;
	ks_buf_init(&b, KS_BUF_UNLIMITED);
	write_families(&b);
	tu_write_file(path, b.data);
	snprintf(cmd, sizeof cmd, "promtool check metrics < '%s' > '%s' 2>&1", path, outpath);
	int rc = system(cmd);
	ks_buf_reset(&b);
	struct ks_err e = {0};
	assert_int_equal(ks_buf_read_file(&b, outpath, &e), 0);
	if (rc != 0 || b.len != 0)
		fail_msg("promtool check metrics (exit %d): %s", rc, b.data);
	ks_buf_release(&b);
	tu_rmtree(dir);
	free(dir);
}

/* OpenMetrics: counter families named without _total, timestamps in seconds, "unknown" for
 * untyped, '"' escaped in help, "# EOF"; a counter without _total is refused. */
static void openmetrics(void **state)
{
	(void)state;
	struct ks_buf b;
	ks_buf_init(&b, KS_BUF_UNLIMITED);
	struct ks_prom_writer w;
	ks_prom_writer_init_om(&w, &b);
	struct ks_err e = {0};
	struct ks_prom_label l = {"code", "200"};
	assert_int_equal(ks_prom_family(&w, "requests", KS_PROM_COUNTER, NULL, &e), KS_EINVAL);
	assert_contains(e.msg, "_total");
	assert_int_equal(ks_prom_family(&w, "requests_total", KS_PROM_COUNTER, "say \"hi\"", &e), 0);
	assert_int_equal(ks_prom_sample(&w, &l, 1, 3, 1700000000000, &e), 0);
	assert_int_equal(ks_prom_sample(&w, &l, 1, 4, 1700000000250, &e), 0);
	assert_int_equal(ks_prom_family(&w, "temp", KS_PROM_UNTYPED, NULL, &e), 0);
	assert_int_equal(ks_prom_sample(&w, NULL, 0, 1.5, -1500, &e), 0);
	const double bounds[] = {0.1};
	const uint64_t counts[] = {1, 2};
	struct ks_prom_histogram h = {bounds, 1, counts, 0.75};
	assert_int_equal(ks_prom_family(&w, "lat_seconds", KS_PROM_HISTOGRAM, NULL, &e), 0);
	assert_int_equal(ks_prom_histogram(&w, NULL, 0, &h, 1700000060000, &e), 0);
	assert_int_equal(ks_prom_eof(&w, &e), 0);
	assert_string_equal(b.data, "# HELP requests say \\\"hi\\\"\n"
				    "# TYPE requests counter\n"
				    "requests_total{code=\"200\"} 3 1700000000\n"
				    "requests_total{code=\"200\"} 4 1700000000.250\n"
				    "# TYPE temp unknown\n"
				    "temp 1.5 -1.500\n"
				    "# TYPE lat_seconds histogram\n"
				    "lat_seconds_bucket{le=\"0.1\"} 1 1700000060\n"
				    "lat_seconds_bucket{le=\"+Inf\"} 3 1700000060\n"
				    "lat_seconds_sum 0.75 1700000060\n"
				    "lat_seconds_count 3 1700000060\n"
				    "# EOF\n");
	ks_prom_writer_release(&w);
	/* # EOF is not part of the 0.0.4 format */
	ks_prom_writer_init(&w, &b);
	assert_int_equal(ks_prom_eof(&w, &e), KS_EINVAL);
	ks_prom_writer_release(&w);
	ks_buf_release(&b);
}

/* A label set formatted once writes the same lines as ks_prom_sample; it is validated. */
static void preformatted_labels(void **state)
{
	(void)state;
	struct ks_prom_label l[] = {{"pod", "web-1"}, {"path", "C:\\x \"q\"\n"}};
	struct ks_buf lb, a, b;
	ks_buf_init(&lb, KS_BUF_UNLIMITED);
	ks_buf_init(&a, KS_BUF_UNLIMITED);
	ks_buf_init(&b, KS_BUF_UNLIMITED);
	struct ks_err e = {0};
	assert_int_equal(ks_prom_labels_format(l, 2, &lb, &e), 0);
	assert_string_equal(lb.data, "{pod=\"web-1\",path=\"C:\\\\x \\\"q\\\"\\n\"}");
	struct ks_prom_writer wa, wb;
	ks_prom_writer_init(&wa, &a);
	ks_prom_writer_init(&wb, &b);
	assert_int_equal(ks_prom_family(&wa, "x_total", KS_PROM_COUNTER, NULL, &e), 0);
	assert_int_equal(ks_prom_family(&wb, "x_total", KS_PROM_COUNTER, NULL, &e), 0);
	assert_int_equal(ks_prom_sample(&wa, l, 2, 0.1, 1000, &e), 0);
	assert_int_equal(ks_prom_sample_pre(&wb, lb.data, 0.1, 1000, &e), 0);
	assert_int_equal(ks_prom_sample(&wa, NULL, 0, 7, KS_PROM_NO_TIMESTAMP, &e), 0);
	assert_int_equal(ks_prom_sample_pre(&wb, NULL, 7, KS_PROM_NO_TIMESTAMP, &e), 0);
	assert_string_equal(a.data, b.data);
	assert_int_equal(ks_prom_family(&wb, "h", KS_PROM_HISTOGRAM, NULL, &e), 0);
	assert_int_equal(ks_prom_sample_pre(&wb, lb.data, 1, 0, &e), KS_EINVAL);
	ks_prom_writer_release(&wa);
	ks_prom_writer_release(&wb);
	struct ks_prom_label bad[] = {{"a", "x"}, {"a", "y"}};
	ks_buf_reset(&lb);
	assert_int_equal(ks_prom_labels_format(bad, 2, &lb, &e), KS_EINVAL);
	assert_int_equal(lb.len, 0);
	struct ks_prom_label badname[] = {{"0a", "x"}};
	assert_int_equal(ks_prom_labels_format(badname, 1, &lb, &e), KS_EINVAL);
	ks_buf_release(&lb);
	ks_buf_release(&a);
	ks_buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(families_exact), cmocka_unit_test(values),
		cmocka_unit_test(guards),         cmocka_unit_test(ceiling_rollback),
		cmocka_unit_test(promtool_check), cmocka_unit_test(openmetrics),
		cmocka_unit_test(preformatted_labels),
	};
	return cmocka_run_group_tests_name("promtext", tests, NULL, NULL);
}
