/* test_prom.c — the Prometheus API client and world_fetch_metrics.
 *
 * The parser is fed responses recorded with curl from a real Prometheus 2.42 scraping the
 * simulator at --time-scale 1440 (tests/fixtures/prom/: vector, matrix, scalar "+Inf",
 * "NaN", a bad_data error). The client and world_fetch_metrics talk to an in-process
 * libmicrohttpd server on loopback that answers each query with the recorded response for it
 * (chosen by the metric the form-encoded query names), and can also answer with an HTML 502,
 * a body over the ceiling, or too late. prom_time_scale is checked against the recorded
 * deriv of the simulator's clock, an empty vector (no simulator) and NaN. */
#include "testutil.h"
#include "fake_prom.h"

#include "metrics/prom.h"
#include "world/promfetch.h"
#include "world/world.h"

#include <math.h>
#include <string.h>

/* ---- the replaying server (tests/fake_prom.h) ---- */

static const char *fixture_for(void *ctx, const char *form)
{
	if (strstr(form, "sim_time_seconds"))
		return "prom/sim-time-scale.json";
	if (strstr(form, "quantile_over_time"))
		return "prom/cpu-p95.json";
	if (strstr(form, "container_memory_working_set_bytes"))
		return "prom/mem-max.json";
	if (strstr(form, "cfs_throttled"))
		return "prom/throttled.json";
	if (strstr(form, "container_oom_events_total"))
		return "prom/oom.json";
	if (strstr(form, "container_cpu_usage_seconds_total"))
		return "prom/cpu-avg.json";
	if (strstr(form, "huge"))
		return "prom/cpu-avg.json"; /* over the client's small ceiling in the test */
	return "prom/error-bad-data.json";
}

static int srv_setup(void **state)
{
	struct fake_prom *s = ks_calloc(1, sizeof(*s));
	s->route = fixture_for;
	fake_prom_start(s);
	*state = s;
	return 0;
}

static int srv_teardown(void **state)
{
	struct fake_prom *s = *state;
	fake_prom_stop(s);
	free(s);
	return 0;
}

/* ---- the parser ---- */

static int parse_fixture(const char *rel, struct prom_result *r, struct ks_err *err)
{
	char *body = tu_read_fixture(rel);
	int rc = prom_parse_response(body, strlen(body), 0, r, err);
	free(body);
	return rc;
}

static void test_parse_vector(void **state)
{
	struct prom_result r;
	struct ks_err err = {0};
	assert_int_equal(parse_fixture("prom/cpu-avg.json", &r, &err), 0);
	assert_int_equal(r.type, PROM_VECTOR);
	assert_true(r.nseries > 20);
	bool seen = false;
	for (size_t i = 0; i < r.nseries; i++) {
		const struct prom_series *s = &r.series[i];
		assert_int_equal(s->nsamples, 1);
		assert_non_null(prom_series_label(s, "namespace"));
		assert_null(prom_series_label(s, "__name__"));
		assert_true(s->samples[0].t > 1.7e9);
		if (strcmp(prom_series_label(s, "namespace"), "media") == 0 &&
		    strcmp(prom_series_label(s, "container"), "resizer") == 0) {
			/* ~60m a replica, at 1440 simulated seconds a real one */
			assert_true(s->samples[0].v > 40 && s->samples[0].v < 200);
			seen = true;
		}
	}
	assert_true(seen);
	prom_result_free(&r);
	assert_int_equal(r.nseries, 0);
}

static void test_parse_matrix_scalar_special(void **state)
{
	struct prom_result r;
	struct ks_err err = {0};
	assert_int_equal(parse_fixture("prom/range-matrix.json", &r, &err), 0);
	assert_int_equal(r.type, PROM_MATRIX);
	assert_int_equal(r.nseries, 2);
	assert_string_equal(prom_series_label(&r.series[0], "namespace"), "media");
	assert_true(r.series[0].nsamples >= 3);
	assert_true(r.series[0].samples[1].t - r.series[0].samples[0].t == 30);
	assert_true(r.series[0].samples[0].v > 1e9);
	prom_result_free(&r);

	assert_int_equal(parse_fixture("prom/scalar-inf.json", &r, &err), 0);
	assert_int_equal(r.type, PROM_SCALAR);
	assert_int_equal(r.nseries, 1);
	assert_int_equal(r.series[0].nlabels, 0);
	assert_true(isinf(r.series[0].samples[0].v) && r.series[0].samples[0].v > 0);
	prom_result_free(&r);

	assert_int_equal(parse_fixture("prom/nan.json", &r, &err), 0);
	assert_int_equal(r.nseries, 1);
	assert_true(isnan(r.series[0].samples[0].v));
	prom_result_free(&r);

	assert_int_equal(parse_fixture("prom/throttled.json", &r, &err), 0);
	assert_int_equal(r.type, PROM_VECTOR);
	assert_int_equal(r.nseries, 0);
	prom_result_free(&r);
}

static void test_parse_errors(void **state)
{
	struct prom_result r;
	struct ks_err err = {0};
	assert_int_equal(parse_fixture("prom/error-bad-data.json", &r, &err), KS_EINVAL);
	assert_contains(err.msg, "bad_data: invalid parameter \"query\"");
	assert_contains(err.msg, "unclosed left parenthesis");
	assert_null(r.series);

	static const char *bad[] = {
		"",
		"<html>",
		"[]",
		"{\"status\":\"success\"}",
		"{\"status\":\"success\",\"data\":{\"resultType\":\"string\",\"result\":[1,\"a\"]}"
		"}",
		"{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":{}}}",
		"{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":"
		"[{\"metric\":{},\"value\":[1,1.5]}]}}",
		"{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":"
		"[{\"metric\":{\"a\":\"b\"},\"value\":[1,\"1.5x\"]}]}}",
		"{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":"
		"[{\"metric\":{\"a\":1},\"values\":[[1,\"1\"]]}]}}",
		"{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":"
		"[{\"metric\":{},\"values\":[[1,\"1\"],[2]]}]}}",
		"{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\",\"result\":[\"x\","
		"\"1\"]}}",
	};
	for (size_t i = 0; i < KS_ARRAY_LEN(bad); i++) {
		err = (struct ks_err){0};
		assert_int_equal(prom_parse_response(bad[i], strlen(bad[i]), 0, &r, &err),
				 KS_EINVAL);
		assert_contains(err.msg, "prometheus: ");
		assert_null(r.series);
	}
	const char *ok = "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":"
			 "[{\"metric\":{},\"value\":[1,\"-Inf\"]}]}}";
	assert_int_equal(prom_parse_response(ok, strlen(ok), 10, &r, &err), KS_ETOOBIG);
	assert_int_equal(prom_parse_response(ok, strlen(ok), 0, &r, &err), 0);
	assert_true(isinf(r.series[0].samples[0].v) && r.series[0].samples[0].v < 0);
	prom_result_free(&r);
}

/* ---- the client ---- */

static void test_client_query_and_errors(void **state)
{
	struct fake_prom *s = *state;
	char *url = fake_prom_url(s);
	struct prom_client *c = NULL;
	struct ks_err err = {0};
	struct prom_client_opts o = {.url = url, .timeout_ms = 2000, .max_response = 0};
	assert_int_equal(prom_client_new(&o, &c, &err), 0);
	assert_int_equal(strlen(prom_client_url(c)), strlen(url) - 1); /* no trailing '/' */

	struct prom_result r;
	s->mode = FAKE_PROM_REPLAY;
	assert_int_equal(prom_query(c, "container_oom_events_total", 1795281420.5, &r, &err), 0);
	assert_string_equal(s->last_path, "/api/v1/query");
	assert_contains(s->last_form, "query=container_oom_events_total");
	assert_contains(s->last_form, "time=1795281420.500");
	assert_true(r.nseries > 0);
	prom_result_free(&r);

	/* Prometheus' 400 with its error JSON: the text is kept. */
	err = (struct ks_err){0};
	assert_int_equal(prom_query(c, "sum(rate(foo[5m]", 0, &r, &err), KS_EINVAL);
	assert_int_equal(err.http_status, 400);
	assert_contains(err.msg, "HTTP 400: bad_data: invalid parameter");
	assert_contains(s->last_form, "query=sum%28rate%28foo%5B5m%5D");

	/* A range query's parameters. */
	assert_int_equal(prom_query_range(c, "container_memory_working_set_bytes", 100, 200, 15,
					  &r, &err), 0);
	assert_string_equal(s->last_path, "/api/v1/query_range");
	assert_contains(s->last_form, "start=100.000&end=200.000&step=15.000");
	prom_result_free(&r);
	assert_int_equal(prom_query_range(c, "x", 200, 100, 15, &r, &err), KS_EINVAL);
	assert_int_equal(prom_query_range(c, "x", 100, 200, 0, &r, &err), KS_EINVAL);

	/* A proxy's HTML page. */
	s->mode = FAKE_PROM_HTML_502;
	err = (struct ks_err){0};
	assert_int_equal(prom_query(c, "up", 0, &r, &err), KS_EHTTP);
	assert_contains(err.msg, "HTTP 502: not a Prometheus API response");
	assert_contains(err.msg, "502 Bad Gateway");
	prom_client_free(c);

	/* The response ceiling and the timeout. */
	s->mode = FAKE_PROM_REPLAY;
	o.max_response = 1000;
	assert_int_equal(prom_client_new(&o, &c, &err), 0);
	assert_int_equal(prom_query(c, "huge", 0, &r, &err), KS_ETOOBIG);
	assert_contains(err.msg, "larger than 1000 bytes");
	prom_client_free(c);
	s->mode = FAKE_PROM_SLOW;
	o.max_response = 0;
	o.timeout_ms = 100;
	assert_int_equal(prom_client_new(&o, &c, &err), 0);
	assert_int_equal(prom_query(c, "up", 0, &r, &err), KS_ETIMEOUT);
	prom_client_free(c);
	s->mode = FAKE_PROM_REPLAY;

	assert_int_equal(prom_client_new(&(struct prom_client_opts){.url = "ftp://x"}, &c, &err),
			 KS_EINVAL);
	assert_null(c);
	/* Nothing listens on port 1. */
	assert_int_equal(prom_client_new(&(struct prom_client_opts){.url = "http://127.0.0.1:1"},
					 &c, &err), 0);
	assert_int_equal(prom_query(c, "up", 0, &r, &err), KS_ENET);
	prom_client_free(c);
	free(url);
}

/* ---- the time scale ---- */

/* The time-scale query answered with fixture *ctx. */
static const char *scale_fixture_for(void *ctx, const char *form)
{
	return strstr(form, "sim_time_seconds") ? *(const char **)ctx : "prom/error-bad-data.json";
}

static void test_time_scale(void **state)
{
	struct fake_prom *s = *state;
	s->mode = FAKE_PROM_REPLAY;
	struct prom_client *c = fake_prom_client(s);
	struct ks_err err = {0};
	double scale = 0;
	/* The simulator at --time-scale 1440, as its real Prometheus measured it. */
	assert_int_equal(prom_time_scale(c, 1795281420, &scale, &err), 0);
	assert_true(fabs(scale - 1440.5970164702956) < 1e-9);
	assert_string_equal(s->last_path, "/api/v1/query");
	assert_contains(s->last_form, "query=max%28deriv%28sim_time_seconds%5B2m%5D%29%29");
	assert_contains(s->last_form, "time=1795281420.000");

	/* No simulator (an empty vector), a NaN deriv: a real cluster, scale 1. */
	const char *fixture = "rightsize/real-scale.json";
	s->route = scale_fixture_for;
	s->route_ctx = &fixture;
	assert_int_equal(prom_time_scale(c, 0, &scale, &err), 0);
	assert_true(scale == 1);
	assert_null(strstr(s->last_form, "time="));
	fixture = "prom/nan.json";
	scale = 0;
	assert_int_equal(prom_time_scale(c, 0, &scale, &err), 0);
	assert_true(scale == 1);
	/* A failing query fails. */
	fixture = "prom/error-bad-data.json";
	assert_int_equal(prom_time_scale(c, 0, &scale, &err), KS_EINVAL);
	assert_contains(err.msg, "bad_data");
	s->route = fixture_for;
	s->route_ctx = NULL;
	prom_client_free(c);
}

/* ---- world_fetch_metrics ---- */

static void test_fetch_metrics(void **state)
{
	struct fake_prom *s = *state;
	s->mode = FAKE_PROM_REPLAY;
	char *url = fake_prom_url(s);
	struct world *w = world_new();
	struct ks_err err = {0};
	int before = s->requests;
	assert_int_equal(world_fetch_metrics(w, url, 3600, &err), 0);
	/* the scale, then one query per metric: never one per pod */
	assert_int_equal(s->requests - before, 6);
	assert_true(world_has_metrics(w));
	/* The recorded Prometheus scrapes a simulator at ~1440x: an hour of cluster time is
	 * under the 60 s real floor, so the window is 60 real seconds ~ one simulated day. */
	double wnd = world_metrics_window(w);
	assert_true(wnd > 60 * 1000 && wnd < 60 * 2000);

	/* image-resizer uses ~60m a replica: the recorded rate ~75 over the scale ~1450. */
	char *cpu = tu_read_fixture("prom/cpu-avg.json");
	const char *p = strstr(cpu, "\"container\":\"resizer\",\"namespace\":\"media\",\"pod\":\"");
	assert_non_null(p);
	p += strlen("\"container\":\"resizer\",\"namespace\":\"media\",\"pod\":\"");
	char pod[128];
	size_t n = strcspn(p, "\"");
	assert_true(n < sizeof(pod));
	memcpy(pod, p, n);
	pod[n] = 0;
	free(cpu);
	double v = -1;
	assert_true(world_metric(w, WM_CPU_AVG_CORES, "media", pod, "resizer", &v));
	assert_true(v > 0.02 && v < 0.15);
	assert_true(world_metric(w, WM_CPU_P95_CORES, "media", pod, "resizer", &v));
	assert_true(v > 0.02 && v < 0.3);
	assert_true(world_metric(w, WM_MEM_MAX_BYTES, "media", pod, "resizer", &v));
	assert_true(v > 50.0 * 1024 * 1024 && v < 1024.0 * 1024 * 1024);
	assert_true(world_metric(w, WM_OOM_EVENTS, "media", pod, "resizer", &v));
	assert_true(v == 0);
	assert_false(world_metric(w, WM_CPU_THROTTLED_RATIO, "media", pod, "resizer", &v));
	assert_contains(s->last_form, "container%21%3D%22POD%22");
	world_free(w);

	/* A Prometheus error leaves the world without metrics. */
	s->mode = FAKE_PROM_HTML_502;
	w = world_new();
	assert_int_equal(world_fetch_metrics(w, url, 3600, &err), KS_EHTTP);
	assert_contains(err.msg, "metrics from http://127.0.0.1:");
	assert_false(world_has_metrics(w));
	world_free(w);
	s->mode = FAKE_PROM_REPLAY;
	free(url);

	assert_non_null(world_metric_promql(WM_CPU_P95_CORES));
	assert_contains(world_metric_promql(WM_CPU_P95_CORES), "quantile_over_time(0.95");
	assert_null(world_metric_promql("nope"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_vector),
		cmocka_unit_test(test_parse_matrix_scalar_special),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_client_query_and_errors),
		cmocka_unit_test(test_time_scale),
		cmocka_unit_test(test_fetch_metrics),
	};
	return cmocka_run_group_tests(tests, srv_setup, srv_teardown);
}
