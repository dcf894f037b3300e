/* itest.h — helpers for tests against the local control plane (scripts/localcp.sh).
 * Each test binary works in namespaces of its own, named "kst-<test>-<pid>", deleted at
 * the end, so several runs (release and ASan) can share one control plane. */
#ifndef KS_ITEST_H
#define KS_ITEST_H

#include "testutil.h"

#include "base/json.h"
#include "base/timeutil.h"
#include "kube/connect.h"
#include "kube/discovery.h"

/* Connect with the test kubeconfig and a context ("admin", "unprivileged") or NULL. */
static inline void it_connect(struct kube_client *c, const char *context, double qps)
{
	struct kube_connect_opts o = {
		.config = {.kubeconfig = tu_kubeconfig(), .context = context, .no_in_cluster = true},
		.qps = qps,
		.burst = qps > 0 ? (int)qps * 2 : 0,
	};
	struct ks_err err = {0};
	if (kube_client_connect(&o, c, &err))
		fail_msg("connect: %s", err.msg);
}

/* Assert that a call returned want, printing the error message when it did not. */
#define assert_rc(call, want, errp)                                                           \
	do {                                                                                  \
		int rc_ = (call);                                                             \
		if (rc_ != (want))                                                            \
			fail_msg("%s returned %d (%s), want %d: %s", #call, rc_,             \
				 ks_errcode_name(rc_), (want), (errp)->msg);                  \
	} while (0)

static inline cJSON *it_parse(const char *json)
{
	cJSON *j = cJSON_Parse(json);
	if (!j)
		fail_msg("bad JSON in test: %s", json);
	return j;
}

static inline void it_create_ns(struct kube_client *c, const char *ns)
{
	char *body = ks_asprintf("{\"apiVersion\":\"v1\",\"kind\":\"Namespace\","
				 "\"metadata\":{\"name\":\"%s\"}}", ns);
	cJSON *o = it_parse(body);
	struct ks_err err = {0};
	if (kube_create(c, &KUBE_RES_NAMESPACES, NULL, o, NULL, &err) && err.code != KS_ECONFLICT)
		fail_msg("create namespace %s: %s", ns, err.msg);
	cJSON_Delete(o);
	free(body);
}

static inline void it_delete_ns(struct kube_client *c, const char *ns)
{
	struct kube_delete_opts d = {.grace_period_s = -1, .propagation = KUBE_PROPAGATE_BACKGROUND};
	kube_delete(c, &KUBE_RES_NAMESPACES, NULL, ns, &d, NULL, NULL);
}

#endif
