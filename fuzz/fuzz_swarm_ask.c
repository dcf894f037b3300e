/* fuzz_swarm_ask.c — questions from outside (the HTTP API's /ask): swarm_ask over a small
 * recorded deliberation (a proposal, a critique, a decision and plan p1) answers any text up
 * to its ceiling with a NUL-terminated answer and a refs array, and refuses longer text. */
#include "base/common.h"
#include "base/json.h"
#include "store/plans.h"
#include "store/store.h"
#include "swarm/bus.h"
#include "swarm/policy.h"
#include "swarm/swarm.h"

#include <stdio.h>
#include <string.h>

static struct swarm *sw;

static void publish(struct bus *b, enum swarm_msg_type type, const char *from, const char *re,
		    const char *body)
{
	struct swarm_msg m = {.type = type, .body = cJSON_Parse(body)};
	snprintf(m.from, sizeof m.from, "%s", from);
	snprintf(m.subject.kind, sizeof m.subject.kind, "Deployment");
	snprintf(m.subject.namespace, sizeof m.subject.namespace, "shop");
	snprintf(m.subject.name, sizeof m.subject.name, "web");
	if (re)
		swarm_msg_add_re(&m, re, NULL);
	swarm_msg_set_text(&m, "a %s", swarm_msg_type_name(type));
	if (bus_publish(b, &m, NULL))
		abort();
	swarm_msg_release(&m);
}

static void init(void)
{
	struct store *st;
	struct bus *b;
	if (store_open(":memory:", &st, NULL) || bus_new(st, &b, NULL))
		abort();
	struct swarm_opts o = {.bus = b, .store = st, .policy = policy_ctx_new()};
	if (swarm_new(&o, &sw, NULL))
		abort();
	publish(b, SWARM_MSG_PROPOSAL, "diagnostics", NULL,
		"{\"action\":\"repair\",\"risk\":\"low\",\"confidence\":0.8,\"rollback\":\"undo\","
		"\"alternatives\":[{\"name\":\"x\",\"why_lost\":\"y\"}],\"finding\":\"f1\"}");
	publish(b, SWARM_MSG_CRITIQUE, "reliability", "m1",
		"{\"concern\":\"c\",\"severity\":\"low\"}");
	publish(b, SWARM_MSG_DECISION, "orchestrator", "m1",
		"{\"chosen\":\"m1\",\"considered\":[\"m1\"],\"reason\":\"r\",\"confidence\":0.8,"
		"\"alternatives\":[{\"proposal\":\"m1\",\"why_lost\":\"z\"}]}");
	struct plan_row r = {.plan_id = "p1", .status = "pending", .risk = "low",
			     .action = "repair", .key = "k", .fingerprint = "f",
			     .proposal_id = "m1", .decision_id = "m3", .title = (char *)"t",
			     .subject = (char *)"{\"kind\":\"Deployment\",\"namespace\":\"shop\","
						"\"name\":\"web\"}",
			     .plan = (char *)"{}"};
	if (plans_insert(st, &r, NULL))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!sw)
		init();
	if (size > 8192)
		return 0;
	char *q = ks_malloc(size + 1);
	memcpy(q, data, size);
	q[size] = '\0';
	char *answer = NULL;
	cJSON *refs = NULL;
	int rc = swarm_ask(sw, q, &answer, &refs, NULL);
	if (rc == 0 && (!answer || !cJSON_IsArray(refs)))
		abort();
	if (rc && (answer || refs))
		abort();
	free(answer);
	cJSON_Delete(refs);
	free(q);
	return 0;
}
