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

/* Load a fixture and run the analyzers in filter over it. */
static struct world *run(const char *fixture, const char *filter, struct diag_report *rep)
{
	struct world *w = tu_world(fixture);
	tu_analyze(w, filter, rep);
	return w;
}

#define INFRA_FILTER                                                                          \
	"Service,Ingress,NetworkPolicy,Gateway,PersistentVolumeClaim,PersistentVolume,"       \
	"StorageClass,Node,HorizontalPodAutoscaler,PodDisruptionBudget,"                    \
	"ValidatingWebhookConfiguration,MutatingWebhookConfiguration,ConfigMap"

static void test_service_selector_mismatch(void **state)
{
	struct diag_report rep;
	struct world *w = run("diag/service-selector-mismatch.yaml", "Service", &rep);
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
	struct diag_report rep;
	struct world *w = run("diag/infra-baseline.yaml", INFRA_FILTER, &rep);
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
	assert_contains(f->root_cause, "requires minAvailable 2 while Deployment ledger has 2 "
				       "replicas");
	char *s = finding_text(f);
	assert_contains(s, "\".spec.minAvailable\",\"value\":\"2\"");
	assert_contains(s, "desiredHealthy 2, currentHealthy 2");
	assert_contains(s, "\".status.disruptionsAllowed\",\"value\":\"0\"");
	assert_contains(s, "ip-10-0-137-230.ec2.internal");
	assert_contains(s, "cordoned (spec.unschedulable), still runs pod ledger/ledger-");
	assert_contains(f->root_cause, "from node ip-10-0-137-230.ec2.internal, cordoned");
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

static void test_pdb_karpenter(void **state)
{
	struct diag_report rep;
	struct world *w = run("diag/pdb-karpenter.yaml", "PodDisruptionBudget", &rep);
	/* Karpenter's disruption taint counts as a drain; its DisruptionBlocked event names
	 * the budget. */
	const struct diag_finding *f = must_find(&rep, "PDBBlocksDrain");
	assert_string_equal(f->object.name, "api");
	assert_contains(f->root_cause, "being disrupted by Karpenter");
	char *s = finding_text(f);
	assert_contains(s, "PodDisruptionBudget=[web/api]");
	assert_contains(s, "\"patch\":{\"spec\":{\"maxUnavailable\":1}}");
	free(s);
	/* A budget at 0 with no drain waiting is lower severity. */
	f = must_find(&rep, "PDBAllowsNoDisruption");
	assert_string_equal(f->object.name, "db");
	assert_int_equal(f->severity, DIAG_LOW);
	f = must_find(&rep, "PDBSelectsNoPods");
	assert_string_equal(f->object.name, "old");
	assert_int_equal(rep.n, 3);
	diag_report_free(&rep);
	world_free(w);
}

static void test_network(void **state)
{
	struct world *w = tu_world("diag/infra-network.yaml");
	struct diag_report rep;
	tu_analyze(w, "Service,Ingress,NetworkPolicy,Gateway", &rep);
	/* Pods selected but crashing: derived from the workload's problem. */
	const struct diag_finding *f = must_find(&rep, "ServiceNoReadyEndpoints");
	assert_string_equal(f->object.name, "backend");
	assert_non_null(f->follows);
	assert_string_equal(f->follows, "workload:dep-backend");
	/* ExternalName and selector-less Services are not findings; healthy frontend neither. */
	for (size_t i = 0; i < rep.n; i++)
		if (!strcmp(rep.findings[i]->object.kind, "Service"))
			assert_string_equal(rep.findings[i]->object.name, "backend");
	f = must_find(&rep, "IngressClassNotFound");
	assert_string_equal(f->object.name, "wrong-class");
	f = must_find(&rep, "IngressBackendMissing");
	assert_string_equal(f->object.name, "broken");
	assert_contains(f->root_cause, "Service web/admin");
	f = must_find(&rep, "IngressBackendPortMissing");
	assert_contains(f->root_cause, "port 8080 of Service web/frontend");
	f = must_find(&rep, "IngressTLSSecretMissing");
	assert_contains(f->root_cause, "web/admin-tls");
	f = must_find(&rep, "IngressNoClass");
	assert_string_equal(f->object.name, "broken");
	/* The same missing Service named by two paths is one finding. */
	size_t n_missing = 0;
	for (size_t i = 0; i < rep.n; i++)
		n_missing += !strcmp(rep.findings[i]->cause, "IngressBackendMissing");
	assert_int_equal(n_missing, 1);
	for (size_t i = 0; i < rep.n; i++)
		assert_string_not_equal(rep.findings[i]->object.name, "good");
	/* matchExpressions are matched (K8sGPT ignores them). */
	f = must_find(&rep, "NetworkPolicySelectsNoPods");
	assert_string_equal(f->object.name, "ghost");
	/* A default-deny next to a policy that opens traffic is the recommended pattern: info. */
	f = must_find(&rep, "NetworkPolicyAllPods");
	assert_string_equal(f->object.name, "default-deny");
	assert_int_equal(f->severity, DIAG_INFO);
	f = must_find(&rep, "NetworkPolicyDeniesAllIngress");
	assert_string_equal(f->object.ns, "locked");
	/* Gateway API: every condition read, not only the first. */
	f = must_find(&rep, "GatewayNotProgrammed");
	assert_string_equal(f->object.name, "public");
	assert_contains(f->root_cause, "AddressNotAssigned");
	assert_null(tu_finding(&rep, "GatewayNotAccepted"));
	f = must_find(&rep, "GatewayClassNotFound");
	assert_string_equal(f->object.name, "internal");
	assert_contains(must_find(&rep, "HTTPRouteGatewayMissing")->root_cause, "Gateway web/edge");
	assert_contains(must_find(&rep, "HTTPRouteBackendMissing")->root_cause, "Service web/search");
	assert_contains(must_find(&rep, "HTTPRouteBackendPortMissing")->root_cause, "no port 9090");
	diag_report_free(&rep);
	world_free(w);
}

static void test_cluster(void **state)
{
	struct diag_report rep;
	struct world *w = run("diag/infra-cluster.yaml", INFRA_FILTER, &rep);
	/* Three nodes lost at once for one reason: one finding. */
	const struct diag_finding *f = must_find(&rep, "NodeNotReady");
	assert_int_equal(f->severity, DIAG_CRITICAL);
	assert_int_equal(f->n_affected, 3);
	assert_contains(f->root_cause, "Kubelet stopped posting node status.");
	assert_contains(f->root_cause, "last heartbeat 9m");
	f = must_find(&rep, "NodeDiskPressure");
	assert_string_equal(f->object.name, "ip-10-0-2-1.ec2.internal");
	/* EKS' KernelReady=True and k3s' EtcdIsVoter=True are healthy. */
	for (size_t i = 0; i < rep.n; i++)
		assert_string_not_equal(rep.findings[i]->object.name, "ip-10-0-2-2.ec2.internal");
	/* Storage. */
	f = must_find(&rep, "PVCStorageClassMissing");
	assert_int_equal(f->n_affected, 2);
	assert_contains(f->root_cause, "fast-ssd");
	f = must_find(&rep, "PVCProvisioningFailed");
	assert_string_equal(f->object.name, "uploads");
	char *s = finding_text(f);
	assert_contains(s, "ProvisioningFailed");
	assert_contains(s, "only AccessModes [ReadWriteOnce] are supported");
	free(s);
	for (size_t i = 0; i < rep.n; i++) {
		assert_string_not_equal(rep.findings[i]->object.name, "cache"); /* WaitForFirstConsumer */
		assert_string_not_equal(rep.findings[i]->object.name, "logs");  /* no class, bound */
	}
	assert_string_equal(must_find(&rep, "PVReleased")->object.name, "pv-old-reports");
	assert_string_equal(must_find(&rep, "PVFailed")->object.name, "pv-scratch");
	assert_contains(must_find(&rep, "StorageClassMultipleDefaults")->root_cause, "gp2, gp3");
	/* HPAs. */
	f = must_find(&rep, "HPATargetMissing");
	assert_string_equal(f->object.name, "reports");
	assert_null(tu_finding(&rep, "HPAUnableToScale")); /* the missing target says it */
	f = must_find(&rep, "HPAMissingRequests");
	assert_string_equal(f->object.name, "api");
	assert_contains(f->root_cause, "container(s) envoy");
	assert_null(tu_finding(&rep, "HPAMetricsUnavailable")); /* same cause as above */
	f = must_find(&rep, "HPAAtMaxReplicas");
	assert_string_equal(f->object.name, "worker");
	s = finding_text(f);
	assert_contains(s, "\"patch\":{\"spec\":{\"maxReplicas\":15}}");
	free(s);
	for (size_t i = 0; i < rep.n; i++) /* v1 HPA resting at minReplicas (TooFewReplicas) */
		if (!strcmp(rep.findings[i]->object.kind, "HorizontalPodAutoscaler"))
			assert_string_not_equal(rep.findings[i]->object.name, "web");
	/* Webhooks: Fail is critical, Ignore medium and derived from the crashing backend. */
	f = must_find(&rep, "WebhookServiceMissing");
	assert_int_equal(f->severity, DIAG_CRITICAL);
	assert_contains(f->root_cause, "policy/policy-webhook");
	f = must_find(&rep, "WebhookNoReadyEndpoints");
	assert_int_equal(f->severity, DIAG_MEDIUM);
	assert_string_equal(f->follows, "workload:dep-injector");
	diag_report_free(&rep);
	world_free(w);
}

static void test_configmap_uses(void **state)
{
	struct diag_report rep;
	struct world *w = run("diag/infra-config.yaml", "ConfigMap", &rep);
	/* Only cfg-c/shared is unused: projected, init, ephemeral, envFrom, env, volume, a
	 * Deployment at 0 replicas, a CronJob template, kube-root-ca.crt, a Grafana dashboard
	 * and kube-system are all uses or exempt; the same interned container array in cfg-a
	 * and cfg-b counts in both namespaces. */
	size_t unused = 0;
	for (size_t i = 0; i < rep.n; i++)
		if (!strcmp(rep.findings[i]->cause, "ConfigMapUnused")) {
			unused++;
			assert_string_equal(rep.findings[i]->object.ns, "cfg-c");
			assert_int_equal(rep.findings[i]->severity, DIAG_INFO);
		}
	assert_int_equal(unused, 1);
	const struct diag_finding *f = must_find(&rep, "ConfigMapEmpty");
	assert_string_equal(f->object.name, "blank");
	assert_int_equal(f->severity, DIAG_LOW);
	diag_report_free(&rep);
	world_free(w);
}

static void test_configmap_too_large(void **state)
{
	struct ks_buf b;
	ks_buf_init(&b, KS_BUF_UNLIMITED);
	ks_buf_appendstr(&b, "apiVersion: v1\nkind: List\nitems:\n"
			     "- {apiVersion: v1, kind: ConfigMap, metadata: {name: small, namespace: big}, "
			     "data: {a: b}}\n"
			     "- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: huge, namespace: big}\n"
			     "  data: {blob: \"");
	for (int i = 0; i < 1100 * 1024 / 64; i++)
		ks_buf_appendstr(&b, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
	ks_buf_appendstr(&b, "\"}\n");
	struct world *w = world_new();
	struct ks_err err = {0};
	assert_int_equal(world_load_snapshot_mem(w, b.data, b.len, &err), 0);
	ks_buf_release(&b);
	struct diag_report rep;
	tu_analyze(w, "ConfigMap", &rep);
	const struct diag_finding *f = must_find(&rep, "ConfigMapTooLarge");
	assert_string_equal(f->object.name, "huge");
	assert_contains(f->root_cause, "1126400 bytes");
	for (size_t i = 0; i < rep.n; i++)
		if (!strcmp(rep.findings[i]->cause, "ConfigMapTooLarge"))
			assert_string_equal(rep.findings[i]->object.name, "huge");
	diag_report_free(&rep);
	world_free(w);
}

static void test_security_opt_in(void **state)
{
	struct world *w = tu_world("diag/infra-config.yaml");
	struct diag_report rep;
	tu_analyze(w, NULL, &rep); /* the default set: Security does not run */
	for (size_t i = 0; i < rep.n; i++)
		assert_string_not_equal(rep.findings[i]->analyzer, "Security");
	diag_report_free(&rep);
	tu_analyze(w, "Security", &rep);
	const struct diag_finding *f = must_find(&rep, "SecurityPrivilegedContainer");
	assert_int_equal(f->severity, DIAG_HIGH);
	must_find(&rep, "SecurityHostNamespace");
	f = must_find(&rep, "SecurityDefaultServiceAccount");
	assert_string_equal(f->object.ns, "cfg-a"); /* cfg-b's pod runs as ServiceAccount app */
	char *t = finding_text(f);
	assert_contains(t, "\"patch\":{\"automountServiceAccountToken\":false}");
	assert_contains(t, "\"kind\":\"ServiceAccount\",\"namespace\":\"cfg-a\",\"name\":\"default\"");
	free(t);
	f = must_find(&rep, "SecurityWildcardRBAC");
	assert_string_equal(f->object.name, "ops-all");
	assert_int_equal(f->severity, DIAG_HIGH);
	char *s = finding_text(f);
	assert_contains(s, "grants it to User alice");
	free(s);
	for (size_t i = 0; i < rep.n; i++) /* cluster-admin for system:masters is expected */
		assert_string_not_equal(rep.findings[i]->object.name, "cluster-admin");
	diag_report_free(&rep);
	world_free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_service_selector_mismatch),
		cmocka_unit_test(test_infra_baseline_quiet),
		cmocka_unit_test(test_pdb_blocks_drain),
		cmocka_unit_test(test_pdb_karpenter),
		cmocka_unit_test(test_network),
		cmocka_unit_test(test_cluster),
		cmocka_unit_test(test_configmap_uses),
		cmocka_unit_test(test_configmap_too_large),
		cmocka_unit_test(test_security_opt_in),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
