/* test_anonymize.c — masking a finding before it leaves for an LLM, and unmasking the answer:
 * placeholders by category and stable, free text rewritten on word boundaries, facts kept,
 * the round trip, placeholders split across streamed tokens at every position, and nothing
 * identifying (names, namespaces, uids, images, hosts, labels, log and event text) left in
 * the prompt built from the fixture world. */
#include "testutil.h"

#include "base/json.h"
#include "diag/anonymize.h"
#include "diag/explain.h"

#include "llm_finding.h"

#include <string.h>

static void test_placeholders(void **state)
{
	struct diag_anon a;
	diag_anon_init(&a);
	assert_string_equal(diag_anon_mask(&a, DIAG_ANON_NAMESPACE, "payments"), "namespace-1");
	assert_string_equal(diag_anon_mask(&a, DIAG_ANON_NAME, "payment-service"), "name-1");
	assert_string_equal(diag_anon_mask(&a, DIAG_ANON_NAME, "api"), "name-2");
	/* One real string, one placeholder, whichever category sees it again. */
	assert_string_equal(diag_anon_mask(&a, DIAG_ANON_LABEL, "payments"), "namespace-1");
	assert_string_equal(diag_anon_mask(&a, DIAG_ANON_IMAGE, IMAGE), "image-1");
	assert_string_equal(diag_anon_mask(&a, DIAG_ANON_NAME, ""), "");
	/* A placeholder given back stays itself. */
	assert_string_equal(diag_anon_mask(&a, DIAG_ANON_NAME, "name-2"), "name-2");

	char *t = diag_anon_mask_text(&a, "pods of payments/payment-service (api-7d9f8, apis, "
					  "rapid) pull " IMAGE ".");
	assert_string_equal(t, "pods of namespace-1/name-1 (name-2-7d9f8, apis, rapid) pull "
			       "image-1.");
	free(t);
	diag_anon_release(&a);
}

static void test_mask_json_keeps_facts(void **state)
{
	const char *in = "{\"cause\":\"ImagePullBackOff\",\"severity\":\"high\",\"object\":{"
			 "\"kind\":\"Deployment\",\"namespace\":\"shop\",\"name\":\"cart\","
			 "\"uid\":\"u-1234\"},\"symptom\":\"cart in shop cannot pull\","
			 "\"evidence\":[{\"type\":\"field\",\"path\":\".status.phase\","
			 "\"value\":\"Pending\"},{\"type\":\"field\",\"path\":\".spec.memory\","
			 "\"value\":\"512Mi\"},{\"type\":\"field\",\"path\":\".spec.arg\","
			 "\"value\":\"--db=shop-db:5432\"},{\"type\":\"diff\",\"path\":"
			 "\".spec.template.spec.containers[cart].image\",\"before\":\"cart:v1\","
			 "\"after\":\"cart:v2\"},{\"type\":\"event\",\"reason\":\"Failed\","
			 "\"message\":\"Failed to pull image cart:v2\"},{\"type\":\"metric\","
			 "\"name\":\"kube_pod_status_phase\",\"labels\":{\"pod\":\"cart-1\"},"
			 "\"value\":1}]}";
	cJSON *j = ks_json_parse(in, strlen(in), 1 << 20, NULL);
	struct diag_anon a;
	diag_anon_init(&a);
	cJSON *m = diag_anon_mask_json(&a, j);
	char *s = ks_json_print(m);
	assert_string_equal(s,
		"{\"cause\":\"ImagePullBackOff\",\"severity\":\"high\",\"object\":{"
		"\"kind\":\"Deployment\",\"namespace\":\"namespace-1\",\"name\":\"name-1\","
		"\"uid\":\"uid-1\"},\"symptom\":\"name-1 in namespace-1 cannot pull\","
		"\"evidence\":[{\"type\":\"field\",\"path\":\".status.phase\","
		"\"value\":\"Pending\"},{\"type\":\"field\",\"path\":\".spec.memory\","
		"\"value\":\"512Mi\"},{\"type\":\"field\",\"path\":\".spec.arg\","
		"\"value\":\"value-1\"},{\"type\":\"diff\",\"path\":"
		"\".spec.template.spec.containers[name-1].image\",\"before\":\"image-1\","
		"\"after\":\"image-2\"},{\"type\":\"event\",\"reason\":\"Failed\","
		"\"message\":\"event-1\"},{\"type\":\"metric\","
		"\"name\":\"kube_pod_status_phase\",\"labels\":{\"pod\":\"label-1\"},"
		"\"value\":1}]}");
	/* Masking again gives the same text (the cache depends on it). */
	struct diag_anon b;
	diag_anon_init(&b);
	cJSON *m2 = diag_anon_mask_json(&b, j);
	char *s2 = ks_json_print(m2);
	assert_string_equal(s, s2);
	free(s);
	free(s2);
	cJSON_Delete(m);
	cJSON_Delete(m2);
	cJSON_Delete(j);
	diag_anon_release(&a);
	diag_anon_release(&b);
}

static struct diag_anon *sample_anon(struct diag_anon *a)
{
	diag_anon_init(a);
	for (int i = 1; i <= 12; i++) {
		char real[32];
		snprintf(real, sizeof real, "real-name-%d", i);
		diag_anon_mask(a, DIAG_ANON_NAME, real);
	}
	diag_anon_mask(a, DIAG_ANON_NAMESPACE, "payments");
	diag_anon_mask(a, DIAG_ANON_LOG, "FATAL: boom");
	return a;
}

static void test_round_trip(void **state)
{
	struct diag_anon a;
	sample_anon(&a);
	const char *answer = "Pods of name-1 and name-12 in namespace-1 crash; log-1 says so. "
			     "name-13 is unknown, rename-1 and name-1x are words, (name-2).";
	struct ks_buf out;
	ks_buf_init(&out, KS_BUF_UNLIMITED);
	assert_int_equal(diag_anon_unmask(&a, answer, strlen(answer), &out), 0);
	assert_string_equal(out.data, "Pods of real-name-1 and real-name-12 in payments crash; "
				      "FATAL: boom says so. name-13 is unknown, rename-1 and "
				      "name-1x are words, (real-name-2).");
	ks_buf_release(&out);

	/* mask_text then unmask gives the text back. */
	const char *text = "real-name-12 of payments/real-name-3 logged FATAL: boom";
	char *m = diag_anon_mask_text(&a, text);
	assert_null(strstr(m, "real"));
	ks_buf_init(&out, KS_BUF_UNLIMITED);
	diag_anon_unmask(&a, m, strlen(m), &out);
	assert_string_equal(out.data, text);
	ks_buf_release(&out);
	free(m);
	diag_anon_release(&a);
}

/* Every way of cutting the answer in two (and byte by byte) unmasks as the whole does. */
static void test_split_placeholders(void **state)
{
	struct diag_anon a;
	sample_anon(&a);
	const char *answer = "name-1 then name-12, namespace-1/name-3: log-1.name-2 name-";
	struct ks_buf whole;
	ks_buf_init(&whole, KS_BUF_UNLIMITED);
	diag_anon_unmask(&a, answer, strlen(answer), &whole);
	assert_string_equal(whole.data, "real-name-1 then real-name-12, payments/real-name-3: "
					"FATAL: boom.real-name-2 name-");
	size_t n = strlen(answer);
	for (size_t cut = 0; cut <= n + 1; cut++) {
		struct diag_anon_stream st;
		struct ks_buf out;
		ks_buf_init(&out, KS_BUF_UNLIMITED);
		diag_anon_stream_init(&st, &a);
		if (cut <= n) {
			diag_anon_stream_feed(&st, answer, cut, &out);
			diag_anon_stream_feed(&st, answer + cut, n - cut, &out);
		} else {
			for (size_t i = 0; i < n; i++)
				diag_anon_stream_feed(&st, answer + i, 1, &out);
		}
		diag_anon_stream_finish(&st, &out);
		if (strcmp(out.data, whole.data))
			fail_msg("cut %zu: \"%s\"", cut, out.data);
		diag_anon_stream_release(&st);
		ks_buf_release(&out);
	}
	/* "name-1" at the end of a chunk waits: "2" may follow. */
	struct diag_anon_stream st;
	struct ks_buf out;
	ks_buf_init(&out, KS_BUF_UNLIMITED);
	diag_anon_stream_init(&st, &a);
	diag_anon_stream_feed(&st, "see name-1", 10, &out);
	assert_string_equal(out.data, "see ");
	diag_anon_stream_feed(&st, "2 now", 5, &out);
	assert_string_equal(out.data, "see real-name-12 now");
	diag_anon_stream_finish(&st, &out);
	diag_anon_stream_release(&st);
	ks_buf_release(&out);
	ks_buf_release(&whole);
	diag_anon_release(&a);
}

static void test_prompt_has_nothing_identifying(void **state)
{
	struct world *w = tu_world("diag/llm-payments.yaml");
	struct diag_report rep = {0};
	struct diag_finding *f = llm_finding(w, &rep);
	struct diag_anon a;
	diag_anon_init(&a);
	char *p = diag_explain_prompt(w, f, &a);
	for (size_t i = 0; identifying[i]; i++)
		if (strstr(p, identifying[i]))
			fail_msg("\"%s\" is in the masked prompt: %s", identifying[i], p);
	/* The facts are still there. */
	assert_contains(p, "\"cause\":\"CrashLoopBackOff\"");
	assert_contains(p, "\"kind\":\"Deployment\"");
	assert_contains(p, "\"reason\":\"BackOff\"");
	assert_contains(p, "\"value\":\"CrashLoopBackOff\"");
	assert_contains(p, "\"line\":\"log-1\"");
	assert_contains(p, "\"message\":\"event-1\"");
	assert_contains(p, "kube_pod_container_status_restarts_total");
	assert_null(strstr(p, "\"patch\""));

	/* The answer's placeholders come back as the real names. */
	const char *ph = diag_anon_mask(&a, DIAG_ANON_NAME, "payment-service");
	const char *ns = diag_anon_mask(&a, DIAG_ANON_NAME, "payments");
	char *answer = ks_asprintf("%s in %s restarts.", ph, ns);
	struct ks_buf out;
	ks_buf_init(&out, KS_BUF_UNLIMITED);
	diag_anon_unmask(&a, answer, strlen(answer), &out);
	assert_string_equal(out.data, "payment-service in payments restarts.");
	ks_buf_release(&out);
	free(answer);

	/* Without anonymization the names stay but the Secret value is still gone. */
	char *plain = diag_explain_prompt(w, f, NULL);
	assert_contains(plain, "payment-service");
	assert_contains(plain, "password authentication failed");
	assert_null(strstr(plain, PLANTED_SECRET));
	free(plain);
	free(p);
	diag_anon_release(&a);
	diag_report_free(&rep);
	world_free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_placeholders),
		cmocka_unit_test(test_mask_json_keeps_facts),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_split_placeholders),
		cmocka_unit_test(test_prompt_has_nothing_identifying),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
