/* test_rightsize.c — the VPA-style right-sizing (src/cost/rightsize.c).
 *
 * The histogram math against values computed by hand from the VPA's formulas (bucket
 * starts first * (1.05^b - 1) / 0.05, decay 2^(age / 24 h), percentile = end of the bucket
 * reaching p * total weight, +15%, confidence multipliers, OOM bump, floors), then the
 * Prometheus path against an in-process libmicrohttpd server replaying the responses a real
 * Prometheus gave to the very queries rs_fetch_prometheus sends (tests/fixtures/rightsize/,
 * README there says how they were recorded), among them the same usage seen from kswarm's
 * simulator at --time-scale 1440 and from a cluster at scale 1, which must give the same
 * recommendations. */
#include "testutil.h"
#include "fake_prom.h"

#include "cost/rightsize.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define MIB (1024.0 * 1024.0)
#define REF 1795132800.0 /* 2026-11-20T00:00:00Z */

static void assert_near(double got, double want, double tol)
{
	if (!(fabs(got - want) <= tol))
		fail_msg("got %.9g, want %.9g (± %g)", got, want, tol);
}

/* ---- buckets, decay, percentiles ---- */

static void test_buckets(void **state)
{
	/* ceil(log_1.05(1000 * 0.05 / 0.01 + 1)) + 1 = ceil(174.57) + 1; the same for memory
	 * (1e12 * 0.05 / 1e7 = 5000 too). */
	assert_int_equal(rs_bucket_count(RS_CPU), 176);
	assert_int_equal(rs_bucket_count(RS_MEMORY), 176);
	assert_near(rs_bucket_start(RS_CPU, 0), 0, 0);
	assert_near(rs_bucket_start(RS_CPU, 1), 0.01, 1e-12);
	assert_near(rs_bucket_start(RS_CPU, 2), 0.0205, 1e-12);
	assert_near(rs_bucket_start(RS_CPU, 3), 0.031525, 1e-12);
	assert_near(rs_bucket_start(RS_CPU, 5), 0.0552563125, 1e-12);
	assert_near(rs_bucket_start(RS_MEMORY, 10), 125778925.355488, 1e-3);
	assert_true(rs_bucket_start(RS_CPU, 175) >= 1000);
	assert_true(rs_bucket_start(RS_CPU, 174) < 1000);

	assert_int_equal(rs_find_bucket(RS_CPU, 0), 0);
	assert_int_equal(rs_find_bucket(RS_CPU, 0.00999), 0);
	assert_int_equal(rs_find_bucket(RS_CPU, 0.01), 1);
	assert_int_equal(rs_find_bucket(RS_CPU, 0.0204999), 1);
	assert_int_equal(rs_find_bucket(RS_CPU, rs_bucket_start(RS_CPU, 2)), 2);
	assert_int_equal(rs_find_bucket(RS_CPU, 0.5), 25);
	assert_int_equal(rs_find_bucket(RS_CPU, 5000), 175);
	assert_int_equal(rs_find_bucket(RS_CPU, -3), 0);
	assert_int_equal(rs_find_bucket(RS_CPU, NAN), 0);
	assert_int_equal(rs_find_bucket(RS_MEMORY, 300 * MIB), 19);
	/* The fast look-up agrees with a linear search over log-uniform values. */
	uint64_t x = 0x9e3779b97f4a7c15ull;
	for (int i = 0; i < 200000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		enum rs_resource r = i & 1 ? RS_MEMORY : RS_CPU;
		double lo = r == RS_CPU ? 1e-4 : 1e5, span = 1e8;
		double v = lo * pow(span, (double)(x >> 11) / 9007199254740992.0);
		int want = 0;
		while (want + 1 < rs_bucket_count(r) && v >= rs_bucket_start(r, want + 1))
			want++;
		if (rs_find_bucket(r, v) != want)
			fail_msg("%s %.17g: bucket %d, want %d", r == RS_CPU ? "cpu" : "memory", v,
				 rs_find_bucket(r, v), want);
	}
	/* Every boundary lands in its own bucket. */
	for (int b = 1; b < rs_bucket_count(RS_MEMORY); b++) {
		assert_int_equal(rs_find_bucket(RS_MEMORY, rs_bucket_start(RS_MEMORY, b)), b);
		assert_int_equal(
			rs_find_bucket(RS_MEMORY, nextafter(rs_bucket_start(RS_MEMORY, b), 0)),
			b - 1);
	}
}

static void test_decay(void **state)
{
	assert_near(rs_decay_weight(REF, REF), 1, 0);
	assert_near(rs_decay_weight(REF - 86400, REF), 0.5, 1e-15);
	assert_near(rs_decay_weight(REF - 2 * 86400, REF), 0.25, 1e-15);
	assert_near(rs_decay_weight(REF - 8 * 86400, REF), 1.0 / 256, 1e-15);
	assert_near(rs_decay_weight(REF + 43200, REF), sqrt(2), 1e-12);
}

static void test_percentiles(void **state)
{
	/* 5 samples in bucket 1, 4 in bucket 2, 1 in bucket 4 (0.05 is in [0.0431, 0.0553)). */
	struct rs_hist h = {0};
	assert_near(rs_hist_percentile(&h, RS_CPU, 0.9), 0, 0);
	assert_true(rs_hist_empty(&h));
	for (int i = 0; i < 5; i++)
		rs_hist_add(&h, RS_CPU, 0.015, 1);
	for (int i = 0; i < 4; i++)
		rs_hist_add(&h, RS_CPU, 0.025, 1);
	rs_hist_add(&h, RS_CPU, 0.05, 1);
	assert_near(h.total, 10, 0);
	assert_int_equal(h.lo, 1);
	assert_int_equal(h.n, 4);
	/* p50: 5 >= 5 at bucket 1 -> its end 0.0205; p90: 9 at bucket 2 -> 0.031525;
	 * p95: 9.5 first reached at bucket 4 -> 0.0552563125; p0 -> the first bucket's end. */
	assert_near(rs_hist_percentile(&h, RS_CPU, 0.5), 0.0205, 1e-12);
	assert_near(rs_hist_percentile(&h, RS_CPU, 0.9), 0.031525, 1e-12);
	assert_near(rs_hist_percentile(&h, RS_CPU, 0.95), 0.0552563125, 1e-12);
	assert_near(rs_hist_percentile(&h, RS_CPU, 0), 0.0205, 1e-12);
	rs_hist_release(&h);

	/* Decay changes the answer: 0.015 now (1), 0.05 a day ago (0.5), 0.025 two days ago
	 * (0.25). Total 1.75; p50 = 0.875 is reached in bucket 1 -> 0.0205 (unweighted, the
	 * median would be bucket 2's end); p90 = 1.575 only in bucket 4. */
	rs_hist_add(&h, RS_CPU, 0.025, rs_decay_weight(REF - 2 * 86400, REF));
	rs_hist_add(&h, RS_CPU, 0.015, rs_decay_weight(REF, REF));
	rs_hist_add(&h, RS_CPU, 0.05, rs_decay_weight(REF - 86400, REF));
	assert_near(h.total, 1.75, 1e-15);
	assert_near(rs_hist_percentile(&h, RS_CPU, 0.5), 0.0205, 1e-12);
	assert_near(rs_hist_percentile(&h, RS_CPU, 0.9), 0.0552563125, 1e-12);
	rs_hist_release(&h);

	/* The last bucket has no end: its start is the answer. */
	rs_hist_add(&h, RS_CPU, 5000, 1);
	assert_near(rs_hist_percentile(&h, RS_CPU, 0.9), rs_bucket_start(RS_CPU, 175), 0);
	rs_hist_release(&h);

	/* Under epsilon (0.001) a bucket is empty, as the VPA's. */
	rs_hist_add(&h, RS_CPU, 0.5, 0.0005);
	assert_true(rs_hist_empty(&h));
	assert_near(rs_hist_percentile(&h, RS_CPU, 0.9), 0, 0);
	rs_hist_release(&h);
}

/* ---- recommendations from samples given directly ---- */

/* n samples of value v every step seconds, the last at end. */
static struct prom_sample *series(size_t n, double end, double step, double v)
{
	struct prom_sample *s = ks_calloc(n, sizeof(*s));
	for (size_t i = 0; i < n; i++)
		s[i] = (struct prom_sample){.t = end - (double)(n - 1 - i) * step, .v = v};
	return s;
}

static struct rs_set *new_set(rs_workload_fn fn)
{
	struct rs_set_opts o = {.ref_time = REF, .cpu_step_s = 300, .workload_of = fn};
	return rs_set_new(&o);
}

static void test_margin_and_confidence(void **state)
{
	struct rs_set *s = new_set(NULL);
	/* 2 days at 5 min: 577 samples of 0.5 cores; memory 300 MiB all along. */
	struct prom_sample *cpu = series(577, REF, 300, 0.5);
	struct prom_sample *mem = series(577, REF, 300, 300 * MIB);
	rs_set_add_cpu(s, "shop", "api-0", "app", cpu, 577);
	rs_set_add_memory(s, "shop", "api-0", "app", mem, 577);
	struct rs_spec spec = {.ns = "shop", .workload = "api-0", .container = "app",
			       .pod_containers = 1, .cpu_request = 1, .mem_request = 1024 * MIB};
	struct rs_rec *rec = NULL;
	struct ks_err err = {0};
	assert_int_equal(rs_recommend(s, &spec, 1, &rec, &err), 0);
	assert_int_equal(rec->status, RS_OK);
	assert_int_equal(rec->cpu_samples, 577);
	assert_int_equal(rec->mem_peaks, 2); /* intervals 0 and 1 (the first sample ends 1) */
	assert_near(rec->history_hours, 48, 1e-9);
	/* confidence = min(2 days of span, 577 * 300 s = 2.0035 days) */
	assert_near(rec->confidence, 2, 1e-12);
	/* 0.5 is in bucket 25, which ends at 0.511134538: +15% = 0.587804718; the upper bound
	 * times (1 + 1/2), the lower one times (1 + 0.001/2)^-2. */
	assert_near(rec->cpu.target, 0.5878047182, 1e-9);
	assert_near(rec->cpu.upper, 0.8817070773, 1e-9);
	assert_near(rec->cpu.lower, 0.5872173541, 1e-9);
	/* 300 MiB is in bucket 19, ending at 330659541.03: +15% = 380258472.18. */
	assert_near(rec->mem.target, 380258472.18, 0.01);
	assert_near(rec->mem.upper, 380258472.18 * 1.5, 0.01);
	assert_int_equal(rec->cpu.reason, RS_REASON_OVER_REQUESTED);
	assert_int_equal(rec->mem.reason, RS_REASON_OVER_REQUESTED);
	assert_false(rec->mem.oom_bumped);
	assert_contains(rec->text, "cpu: over-requested: requests 1000m, recommended 588m");
	assert_contains(rec->text, "memory: over-requested: requests 1024Mi, recommended 363Mi");
	free(rec);

	/* Under-requested when the request is below the lower bound; no request said so. */
	spec.cpu_request = 0.1;
	spec.mem_request = 0;
	assert_int_equal(rs_recommend(s, &spec, 1, &rec, &err), 0);
	assert_int_equal(rec->cpu.reason, RS_REASON_UNDER_REQUESTED);
	assert_int_equal(rec->mem.reason, RS_REASON_NO_REQUEST);
	assert_contains(rec->text, "memory: no-request: requests none");
	free(rec);
	free(cpu);
	free(mem);
	rs_set_free(s);
}

static void test_oom_bump(void **state)
{
	struct rs_set *s = new_set(NULL);
	struct prom_sample peak = {.t = REF - 7200, .v = 200 * MIB};
	rs_set_add_memory(s, "ns", "a", "c", &peak, 1);
	rs_set_add_oom(s, "ns", "a", "c", REF - 3600);
	peak.v = 600 * MIB;
	rs_set_add_memory(s, "ns", "b", "c", &peak, 1);
	rs_set_add_oom(s, "ns", "b", "c", REF - 3600);
	rs_set_add_oom(s, "ns", "b", "c", REF - 30 * 86400); /* out of the window: ignored */
	struct rs_spec specs[] = {
		{.ns = "ns", .workload = "a", .container = "c", .mem_request = 256 * MIB},
		{.ns = "ns", .workload = "b", .container = "c", .mem_request = 1024 * MIB},
	};
	struct rs_rec *rec = NULL;
	assert_int_equal(rs_recommend(s, specs, 2, &rec, NULL), 0);
	/* a: used = max(256Mi request, 200Mi peak); max(256Mi + 100Mi, 256Mi * 1.2) = 356Mi,
	 * in bucket 21, whose end +15% is 442809965.58. */
	assert_true(rec[0].mem.oom_bumped);
	assert_int_equal(rs_find_bucket(RS_MEMORY, 356 * MIB), 21);
	assert_near(rec[0].mem.target, 442809965.58, 0.01);
	assert_contains(rec[0].text, "OOM bump");
	/* b: used = 1Gi; 1.2 * 1Gi = 1288490188.8 > 1Gi + 100Mi. */
	double want = rs_bucket_start(RS_MEMORY, rs_find_bucket(RS_MEMORY, 1288490188.8) + 1);
	assert_near(rec[1].mem.target, want * 1.15, 0.01);
	assert_true(rec[1].mem.target > 1288490188.8);
	/* Only memory: no CPU samples, so a short history and no CPU recommendation. */
	assert_int_equal(rec[1].status, RS_SHORT_HISTORY);
	assert_int_equal(rec[1].cpu.reason, RS_REASON_NO_DATA);
	free(rec);
	rs_set_free(s);
}

static void test_floors_short_history_no_data(void **state)
{
	struct rs_set *s = new_set(NULL);
	/* 6 h of a container using 1m and 1 MiB, in a pod of two containers. */
	struct prom_sample *cpu = series(73, REF, 300, 0.001);
	struct prom_sample *mem = series(73, REF, 300, 1 * MIB);
	rs_set_add_cpu(s, "ns", "p", "main", cpu, 73);
	rs_set_add_memory(s, "ns", "p", "main", mem, 73);
	struct rs_spec specs[] = {
		{.ns = "ns", .workload = "p", .container = "main", .pod_containers = 2,
		 .cpu_request = 0.5, .mem_request = 512 * MIB},
		{.ns = "ns", .workload = "p", .container = "sidecar", .pod_containers = 2},
	};
	struct rs_rec *rec = NULL;
	assert_int_equal(rs_recommend(s, specs, 2, &rec, NULL), 0);
	/* Bucket 0 ends at 10m (+15% = 11.5m) and 10 MB (11.5 MB): under the floors of 25m
	 * and 250 MiB a pod, split in two. The upper bound too (0.25 days: * 5). */
	assert_near(rec[0].cpu.target, 0.0125, 1e-12);
	assert_near(rec[0].cpu.lower, 0.0125, 1e-12);
	assert_near(rec[0].cpu.upper, 0.0115 * 5, 1e-12);
	assert_near(rec[0].mem.target, 125 * MIB, 1e-6);
	assert_int_equal(rec[0].status, RS_SHORT_HISTORY);
	assert_near(rec[0].history_hours, 6, 1e-9);
	assert_near(rec[0].confidence, 0.25, 1e-12);
	assert_contains(rec[0].text, "short-history: 6.0 h");
	assert_string_equal(rs_status_name(rec[0].status), "short-history");

	assert_int_equal(rec[1].status, RS_NO_DATA);
	assert_int_equal(rec[1].cpu.reason, RS_REASON_NO_DATA);
	assert_near(rec[1].cpu.target, 0, 0);
	assert_string_equal(rec[1].text, "no-data: no usage history");
	free(rec);

	/* A spec without names is refused. */
	struct rs_spec bad = {.ns = "ns", .container = "main"};
	struct ks_err err = {0};
	assert_int_equal(rs_recommend(s, &bad, 1, &rec, &err), KS_EINVAL);
	assert_contains(err.msg, "spec 0 lacks");
	free(cpu);
	free(mem);
	rs_set_free(s);
}

static const char *deployment_of(void *ctx, const char *ns, const char *pod)
{
	if (strncmp(pod, "web-", 4) == 0)
		return "Deployment/web";
	if (strncmp(pod, "db-", 3) == 0)
		return "StatefulSet/db";
	return NULL;
}

static void test_workload_hpa_limitrange(void **state)
{
	struct rs_set *s = new_set(deployment_of);
	struct prom_sample *cpu = series(289, REF, 300, 0.5);
	struct prom_sample *cpu2 = series(289, REF, 300, 0.015);
	rs_set_add_cpu(s, "shop", "web-1", "app", cpu, 289);
	rs_set_add_cpu(s, "shop", "web-2", "app", cpu, 289);
	rs_set_add_cpu(s, "shop", "db-0", "pg", cpu2, 289);
	assert_int_equal(rs_set_size(s), 2);
	struct rs_spec specs[] = {
		{.ns = "shop", .workload = "Deployment/web", .container = "app",
		 .pod_containers = 1, .cpu_request = 2, .hpa_on_cpu = true},
		{.ns = "shop", .workload = "StatefulSet/db", .container = "pg",
		 .pod_containers = 1, .cpu_request = 1, .lr_min_cpu = 0.1, .lr_max_cpu = 0.5},
	};
	struct rs_rec *rec = NULL;
	assert_int_equal(rs_recommend(s, specs, 2, &rec, NULL), 0);
	/* Both replicas feed one aggregate: 578 samples over one day. */
	assert_int_equal(rec[0].cpu_samples, 578);
	assert_near(rec[0].confidence, 1, 1e-12);
	assert_int_equal(rec[0].status, RS_OK);
	/* The HPA scales on CPU: the request stays. */
	assert_int_equal(rec[0].cpu.reason, RS_REASON_HPA_CPU);
	assert_near(rec[0].cpu.target, 2, 0);
	assert_contains(rec[0].text, "cpu: hpa-scales-on-cpu");
	/* db: 0.015 ends at 0.0205 (+15% = 0.023575), under the floor 25m, under the
	 * LimitRange min 100m: 100m. */
	assert_near(rec[1].cpu.target, 0.1, 1e-12);
	assert_true(rec[1].cpu.clamped);
	assert_near(rec[1].cpu.upper, 0.1, 1e-12);
	assert_contains(rec[1].text, "LimitRange");
	free(rec);
	free(cpu);
	free(cpu2);
	rs_set_free(s);
}

/* ---- Prometheus ---- */

struct rs_route {
	bool fail; /* the memory query is answered with a bad_data error */
};

static const char *fixture_for(void *ctx, const char *form)
{
	const struct rs_route *rt = ctx;
	if (rt->fail && strstr(form, "max_over_time"))
		return "prom/error-bad-data.json";
	if (strstr(form, "sim_time_seconds"))
		return "rightsize/real-scale.json"; /* no simulator: an empty vector */
	if (strncmp(form, "query=count", 11) == 0)
		return "rightsize/count.json";
	if (strstr(form, "container_cpu_usage_seconds_total"))
		return strstr(form, "start=1794960900.000") ? "rightsize/cpu-1.json"
							     : "rightsize/cpu-2.json";
	if (strstr(form, "max_over_time"))
		return "rightsize/mem.json";
	if (strstr(form, "container_oom_events_total"))
		return "rightsize/oom.json";
	return "prom/error-bad-data.json";
}

static void find_rec(struct rs_rec *recs, size_t n, const char *ctr, struct rs_rec **out)
{
	*out = NULL;
	for (size_t i = 0; i < n; i++)
		if (strcmp(recs[i].spec->container, ctr) == 0)
			*out = &recs[i];
	assert_non_null(*out);
}

static void test_prometheus(void **state)
{
	struct rs_route rt = {.fail = false};
	struct fake_prom s = {.route = fixture_for, .route_ctx = &rt};
	fake_prom_start(&s);
	struct prom_client *c = fake_prom_client(&s);
	struct ks_err err = {0};

	struct rs_set_opts so = {.workload_of = deployment_of};
	struct rs_set *set = rs_set_new(&so);
	struct rs_fetch_opts fo = {.ns = "shop", .end = REF, .window_s = 172800,
				   .cpu_step_s = 900, .max_points = 400};
	if (rs_fetch_prometheus(set, c, &fo, &err))
		fail_msg("%s", err.msg);
	/* the time scale, count, two CPU chunks (4 series * 192 points > 400), memory, OOM */
	assert_int_equal(s.requests, 6);
	assert_contains(s.forms[0], "/api/v1/query query=max%28deriv%28sim_time_seconds%5B2m%5D");
	assert_contains(s.forms[0], "time=1795132800.000");
	assert_contains(s.forms[1], "/api/v1/query query=count");
	assert_contains(s.forms[2], "/api/v1/query_range ");
	assert_contains(s.forms[2], "%5B900s%5D");
	assert_contains(s.forms[2], "start=1794960900.000&end=1795046400.000&step=900.000");
	assert_contains(s.forms[3], "start=1795047300.000&end=1795132800.000&step=900.000");
	assert_contains(s.forms[4], "max_over_time");
	assert_contains(s.forms[4], "%5B86400s%5D");
	assert_contains(s.forms[4], "start=1794528000.000&end=1795132800.000&step=86400.000");
	assert_contains(s.forms[5], "container_oom_events_total");
	assert_contains(s.forms[5], "%5B86400s%5D");
	assert_contains(s.forms[2], "namespace%3D%22shop%22");
	assert_int_equal(rs_set_size(set), 3); /* web (2 pods), db/postgres, db/exporter */
	assert_near(rs_set_time_scale(set), 1, 0);

	struct rs_spec specs[] = {
		{.ns = "shop", .workload = "Deployment/web", .container = "app",
		 .pod_containers = 1, .cpu_request = 1, .mem_request = 512 * MIB},
		{.ns = "shop", .workload = "StatefulSet/db", .container = "postgres",
		 .pod_containers = 2, .cpu_request = 0.5, .mem_request = 1024 * MIB},
		{.ns = "shop", .workload = "StatefulSet/db", .container = "exporter",
		 .pod_containers = 2, .cpu_request = 0.1, .mem_request = 64 * MIB},
	};
	struct rs_rec *recs = NULL, *r;
	assert_int_equal(rs_recommend(set, specs, 3, &recs, &err), 0);

	/* web: rates 0.1-0.33 cores (0.2 * (1 + 0.5 sin)); 2 x 192 samples over 47.75 h. */
	find_rec(recs, 3, "app", &r);
	assert_int_equal(r->cpu_samples, 384);
	assert_near(r->history_hours, 47.75, 1e-9);
	assert_near(r->confidence, 171900.0 / 86400, 1e-12);
	assert_int_equal(r->status, RS_OK);
	assert_true(r->cpu.target > 0.3 * 1.15 && r->cpu.target < 0.35 * 1.15);
	assert_true(r->cpu.lower < r->cpu.target && r->cpu.target < r->cpu.upper);
	assert_int_equal(r->cpu.reason, RS_REASON_OVER_REQUESTED);
	/* 3 daily peaks a pod (200-257 MiB); p90 is in the highest's bucket. */
	assert_int_equal(r->mem_peaks, 6);
	double want = rs_bucket_start(RS_MEMORY, rs_find_bucket(RS_MEMORY, 257439266) + 1);
	assert_near(r->mem.target, want * 1.15, 0.01);

	/* postgres: OOM kill in the last interval, whose peak 1103311140 > the 1Gi request:
	 * max(+100 MiB, * 1.2) = 1323973368. */
	find_rec(recs, 3, "postgres", &r);
	assert_true(r->mem.oom_bumped);
	want = rs_bucket_start(RS_MEMORY, rs_find_bucket(RS_MEMORY, 1103311140.0 * 1.2) + 1);
	assert_near(r->mem.target, want * 1.15, 0.01);
	assert_int_equal(r->mem.reason, RS_REASON_UNDER_REQUESTED);

	/* exporter: 3m of CPU -> the floor, 25m / 2 containers; memory floor 125 MiB. */
	find_rec(recs, 3, "exporter", &r);
	assert_near(r->cpu.target, 0.0125, 1e-12);
	assert_near(r->mem.target, 125 * MIB, 1e-6);
	assert_int_equal(r->cpu.reason, RS_REASON_OVER_REQUESTED);
	free(recs);
	rs_set_free(set);

	/* A failing query is named. */
	rt.fail = true;
	set = rs_set_new(&so);
	assert_int_equal(rs_fetch_prometheus(set, c, &fo, &err), KS_EINVAL);
	assert_contains(err.msg, "right-sizing query max by (namespace, pod, container)");
	assert_contains(err.msg, "bad_data");
	rs_set_free(set);

	/* A namespace that is not one never reaches PromQL. */
	fo.ns = "a\"}or vector(1)";
	set = rs_set_new(&so);
	assert_int_equal(rs_fetch_prometheus(set, c, &fo, &err), KS_EINVAL);
	assert_contains(err.msg, "is not a namespace name");
	rs_set_free(set);

	prom_client_free(c);
	fake_prom_stop(&s);
}

/* ---- a simulated cluster (tests/fixtures/rightsize/gen-scaled.py) ---- */

/* The same usage (10 cluster days, 5 s real scrapes) recorded twice: "sim", kswarm's
 * simulator at --time-scale 1440 (sim_time_seconds' deriv 1440, counters 1440x faster
 * than Prometheus' clock, 10 real minutes); "real", those samples at scale 1 (one scrape
 * every 2 h). scale_fixture, if set, answers the time-scale query instead. */
struct scale_route {
	const char *cluster; /* "sim" or "real" */
	const char *scale_fixture;
	char path[64];
};

static const char *scaled_fixture_for(void *ctx, const char *form)
{
	struct scale_route *rt = ctx;
	const char *what = strstr(form, "sim_time_seconds")                    ? "scale"
			   : strncmp(form, "query=count", 11) == 0              ? "count"
			   : strstr(form, "container_cpu_usage_seconds_total") ? "cpu"
			   : strstr(form, "max_over_time")                      ? "mem"
			   : strstr(form, "container_oom_events_total")         ? "oom"
									       : NULL;
	if (!what)
		return "prom/error-bad-data.json";
	if (strcmp(what, "scale") == 0 && rt->scale_fixture)
		return rt->scale_fixture;
	snprintf(rt->path, sizeof(rt->path), "rightsize/%s-%s.json", rt->cluster, what);
	return rt->path;
}

static const struct rs_spec scaled_specs[] = {
	{.ns = "shop", .workload = "Deployment/web", .container = "app", .pod_containers = 1,
	 .cpu_request = 1, .mem_request = 512 * MIB},
	{.ns = "shop", .workload = "StatefulSet/db", .container = "postgres",
	 .pod_containers = 2, .cpu_request = 0.5, .mem_request = 1024 * MIB},
	{.ns = "shop", .workload = "StatefulSet/db", .container = "exporter",
	 .pod_containers = 2, .cpu_request = 0.1, .mem_request = 64 * MIB},
};
#define NSCALED KS_ARRAY_LEN(scaled_specs)

/* Fetch from the fake Prometheus answering as rt says (the default 8-day window, the
 * given CPU step), check the request count and recommend; *fp keeps the request log. */
static struct rs_rec *fetch_scaled(struct scale_route *rt, double cpu_step, int requests,
				   struct fake_prom *fp, double *scale)
{
	*fp = (struct fake_prom){.route = scaled_fixture_for, .route_ctx = rt};
	fake_prom_start(fp);
	struct prom_client *c = fake_prom_client(fp);
	struct ks_err err = {0};
	struct rs_set_opts so = {.workload_of = deployment_of};
	struct rs_set *set = rs_set_new(&so);
	struct rs_fetch_opts fo = {.ns = "shop", .end = REF, .cpu_step_s = cpu_step};
	if (rs_fetch_prometheus(set, c, &fo, &err))
		fail_msg("%s", err.msg);
	assert_int_equal(fp->requests, requests);
	*scale = rs_set_time_scale(set);
	struct rs_rec *recs = NULL;
	assert_int_equal(rs_recommend(set, scaled_specs, NSCALED, &recs, &err), 0);
	rs_set_free(set);
	prom_client_free(c);
	fake_prom_stop(fp);
	return recs;
}

static void assert_same_amounts(const struct rs_amounts *got, const struct rs_amounts *want)
{
	assert_near(got->target, want->target, want->target * 1e-9);
	assert_near(got->lower, want->lower, want->lower * 1e-9);
	assert_near(got->upper, want->upper, want->upper * 1e-9);
	assert_int_equal(got->reason, want->reason);
	assert_int_equal(got->oom_bumped, want->oom_bumped);
}

static void test_prometheus_time_scale(void **state)
{
	struct fake_prom fp;
	double scale;

	/* Scale 1, a 12 h step: today's queries. */
	struct scale_route real = {.cluster = "real"};
	struct rs_rec *want = fetch_scaled(&real, 43200, 5, &fp, &scale);
	assert_near(scale, 1, 0);
	assert_contains(fp.forms[2], "%5B43200s%5D");
	assert_contains(fp.forms[2], "start=1794484800.000&end=1795132800.000&step=43200.000");
	assert_contains(fp.forms[3], "%5B86400s%5D");
	assert_contains(fp.forms[3], "start=1794528000.000&end=1795132800.000&step=86400.000");
	assert_contains(fp.forms[4], "%5B86400s%5D");

	/* Scale 1440, the step left to the fetch: 5 min of cluster time would be 0.2 s real,
	 * so the 30 s floor makes it 12 h; 8 cluster days are 480 real seconds, 24 h 60 s, and
	 * the OOM increase reaches 15 s into the interval before. */
	struct scale_route sim = {.cluster = "sim"};
	struct rs_rec *got = fetch_scaled(&sim, 0, 5, &fp, &scale);
	assert_near(scale, 1440, 1e-9);
	assert_contains(fp.forms[0], "time=1795132800.000");
	assert_contains(fp.forms[2], "%5B30s%5D");
	assert_contains(fp.forms[2], "start=1795132350.000&end=1795132800.000&step=30.000");
	assert_contains(fp.forms[3], "%5B60s%5D");
	assert_contains(fp.forms[3], "start=1795132380.000&end=1795132800.000&step=60.000");
	assert_contains(fp.forms[4], "%5B75s%5D");
	assert_contains(fp.forms[4], "start=1795132380.000&end=1795132800.000&step=60.000");

	/* The same recommendations, in cluster time: 16 CPU samples 12 h apart (180 h), one
	 * memory peak a day, the OOM kill 36 h before the end bumping postgres. */
	for (size_t i = 0; i < NSCALED; i++) {
		assert_int_equal(got[i].status, RS_OK);
		assert_near(got[i].history_hours, 180, 1e-6);
		assert_near(want[i].history_hours, 180, 0);
		assert_near(got[i].confidence, 7.5, 1e-6);
		assert_int_equal(got[i].cpu_samples, want[i].cpu_samples);
		assert_int_equal(got[i].mem_peaks, want[i].mem_peaks);
		assert_same_amounts(&got[i].cpu, &want[i].cpu);
		assert_same_amounts(&got[i].mem, &want[i].mem);
		assert_string_equal(got[i].text, want[i].text);
	}
	assert_int_equal(got[0].cpu_samples, 32); /* two web pods */
	assert_int_equal(got[1].mem_peaks, 8);
	assert_true(got[1].mem.oom_bumped);
	/* web: sines around 0.20 and 0.22 cores whose 12 h means alternate between
	 * base * (1 -+ 1/pi): p90 is in the bucket of web-2's higher mean, 0.290 cores (+15%),
	 * not 1440 times it. */
	double b = rs_bucket_start(RS_CPU, rs_find_bucket(RS_CPU, 0.22 * (1 + 1 / M_PI)) + 1);
	assert_near(got[0].cpu.target, b * 1.15, 1e-6);
	free(got);

	/* A measured scale (1440.597, from the simulator's real gauge): durations that are not
	 * whole seconds go in milliseconds, 15 steps of 30 real seconds fit in 8 cluster days. */
	sim.scale_fixture = "prom/sim-time-scale.json";
	got = fetch_scaled(&sim, 0, 5, &fp, &scale);
	assert_near(scale, 1440.5970164702956, 1e-9);
	assert_contains(fp.forms[2], "start=1795132380.000&end=1795132800.000&step=30.000");
	assert_contains(fp.forms[3], "%5B59976ms%5D");
	assert_contains(fp.forms[3], "start=1795132380.174&end=1795132800.000&step=59.975");
	assert_contains(fp.forms[4], "%5B74976ms%5D");
	assert_int_equal(got[1].mem_peaks, 8);
	free(got);
	free(want);
}

static void test_promql(void **state)
{
	char *q = rs_promql(RS_CPU, false, NULL, "300s");
	assert_string_equal(q, "sum by (namespace, pod, container) (rate("
			       "container_cpu_usage_seconds_total{container!=\"\","
			       "container!=\"POD\"}[300s]))");
	free(q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buckets),
		cmocka_unit_test(test_decay),
		cmocka_unit_test(test_percentiles),
		cmocka_unit_test(test_margin_and_confidence),
		cmocka_unit_test(test_oom_bump),
		cmocka_unit_test(test_floors_short_history_no_data),
		cmocka_unit_test(test_workload_hpa_limitrange),
		cmocka_unit_test(test_prometheus),
		cmocka_unit_test(test_prometheus_time_scale),
		cmocka_unit_test(test_promql),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
