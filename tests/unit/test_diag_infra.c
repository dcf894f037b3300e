/* test_diag_infra.c — the infrastructure analyzers (Service, Ingress, NetworkPolicy,
 * Gateway, storage, Node, HPA, PDB, webhooks, ConfigMap, Security) on recorded objects.
 *
 * Fixtures: tests/fixtures/diag/service-*.yaml, pdb-*.yaml and infra-baseline.yaml were
 * recorded from the shared v1.20 control plane playing the scenarios (kubectl get -o yaml,
 * managedFields stripped); the other infra-*.yaml are hand-written in the same shapes for
 * what the simulator does not play (Ingress, Gateway API, storage, webhooks, HPA…). */
#include "testutil.h"

#include <string.h>

#include "base/json.h"
#include "diag/diag.h"
#include "world/world.h"

/* The finding as JSON text, for assert_contains on evidence and remediation. */
static char *finding_text(const struct diag_finding *f)
{
	cJSON *j = diag_finding_json(f);
	char *s = ks_json_print(j);
	cJSON_Delete(j);
	return s;
}

static const struct diag_finding *must_find(const struct diag_report *rep, const char *cause)
{
	const struct diag_finding *f = tu_finding(rep, cause);
	if (!f) {
		for (size_t i = 0; i < rep->n; i++)
			print_message("  have: %s %s/%s\n", rep->findings[i]->cause,
				      rep->findings[i]->object.ns, rep->findings[i]->object.name);
		fail_msg("no finding %s", cause);
	}
	return f;
}

/* No finding above info from the analyzers in filter. */
static void assert_quiet(const struct diag_report *rep)
{
	for (size_t i = 0; i < rep->n; i++)
		if (rep->findings[i]->severity > DIAG_INFO)
			fail_msg("unexpected %s %s %s/%s: %s", diag_severity_name(rep->findings[i]->severity),
				 rep->findings[i]->cause, rep->findings[i]->object.ns,
				 rep->findings[i]->object.name, rep->findings[i]->root_cause);
}

#define INFRA_FILTER                                                                          \
	"Service,Ingress,NetworkPolicy,Gateway,PersistentVolumeClaim,PersistentVolume,"       \
	"StorageClass,Node,HorizontalPodAutoscaler,PodDisruptionBudget,"                    \
	"ValidatingWebhookConfiguration,MutatingWebhookConfiguration,ConfigMap"

static void test_service_selector_mismatch(void **state)
{
	struct world *w = tu_world("diag/service-selector-mismatch.yaml");
	struct diag_report rep;
	tu_analyze(w, "Service", &rep);
	const struct diag_finding *f = must_find(&rep, "ServiceSelectorMismatch");
	assert_string_equal(f->object.kind, "Service");
	assert_string_equal(f->object.ns, "search");
	assert_string_equal(f->object.name, "search");
	assert_int_equal(f->severity, DIAG_HIGH);
	assert_contains(f->root_cause, "app=search,");
	assert_contains(f->root_cause, "Deployment search-api");
	assert_contains(f->root_cause, "app=search-api");
	assert_contains(f->root_cause, "version=v2");
	char *s = finding_text(f);
	assert_contains(s, "\"path\":\".spec.selector\",\"value\":\"app=search\"");
	assert_contains(s, "\"kind\":\"Endpoints\"");
	assert_contains(s, "no addresses");
	assert_contains(s, "\"patch_type\":\"merge\"");
	assert_contains(s, "\"patch\":{\"spec\":{\"selector\":{\"app\":\"search-api\"}}}");
	free(s);
	assert_int_equal(rep.n, 1);
	diag_report_free(&rep);
	world_free(w);
}

static void test_infra_baseline_quiet(void **state)
{
	struct world *w = tu_world("diag/infra-baseline.yaml");
	struct diag_report rep;
	tu_analyze(w, INFRA_FILTER, &rep);
	assert_quiet(&rep);
	/* kube-root-ca.crt is a use by every pod's projected token volume: not unused. */
	assert_null(tu_finding(&rep, "ConfigMapUnused"));
	diag_report_free(&rep);
	world_free(w);
}

static void test_pdb_blocks_drain(void **state)
{
	struct world *w = tu_world("diag/pdb-blocks-drain.yaml");
	struct diag_report rep;
	tu_analyze(w, "PodDisruptionBudget,Node", &rep);
	const struct diag_finding *f = must_find(&rep, "PDBBlocksDrain");
	assert_string_equal(f->object.kind, "PodDisruptionBudget");
	assert_string_equal(f->object.ns, "ledger");
	assert_string_equal(f->object.name, "ledger");
	assert_int_equal(f->severity, DIAG_HIGH);
	char *s = finding_text(f);
	assert_contains(s, "\".spec.minAvailable\",\"value\":\"2\"");
	assert_contains(s, "desiredHealthy 2, currentHealthy 2");
	assert_contains(s, "\".status.disruptionsAllowed\",\"value\":\"0\"");
	assert_contains(s, "ip-10-0-137-230.ec2.internal");
	assert_contains(s, "cordoned (spec.unschedulable), still runs pod ledger/ledger-");
	assert_contains(s, "DrainBlocked");
	assert_contains(s, "\"patch\":{\"spec\":{\"minAvailable\":1}}");
	assert_contains(s, "risk");
	free(s);
	/* The cordoned node joined the PDB's finding instead of standing alone. */
	assert_null(tu_finding(&rep, "NodeCordoned"));
	assert_int_equal(f->n_affected, 2);
	diag_report_free(&rep);
	world_free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_service_selector_mismatch),
		cmocka_unit_test(test_infra_baseline_quiet),
		cmocka_unit_test(test_pdb_blocks_drain),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
