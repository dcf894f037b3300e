/* agent_diagnostics.c — turns Layer 2's findings into diagnoses and repair proposals.
 *
 * State machine, per finding id (s->diagnosed remembers the fingerprint said last):
 *   NEW --(question of a round)--> one of
 *     PATCH:  diagnosis + proposal whose one step applies the finding's patch remediation,
 *             verified by rollout, pods-ready and the cause no longer found;
 *     SECRET: CredentialsRejected on a Secret whose key has a configured source
 *             (swarm_opts.secret_sources): diagnosis + proposal with two steps,
 *             secret-from-source (the reconciler reads the value; no value is ever in a
 *             message) then a restart of the workload that reads it;
 *     HUMAN:  observation + diagnosis listing what a person should check; no proposal.
 *   -> SAID: silent until the finding's remediation changes, or its key has no open or
 *      recent plan any more (swarm__handled);
 *   -> (finding absent from a round) NEW again: a problem that resolved and came back is
 *      diagnosed again.
 * Ownership: nothing beyond s->diagnosed (keys: finding ids, values: malloc'd fingerprints). */
#include "base/common.h"
#include "base/json.h"
#include "diag/diag.h"
#include "swarm/swarm_internal.h"

#include <stdio.h>
#include <string.h>

static const char *policy_kind_for(const char *cause, const char *target_kind)
{
	if (!strcmp(target_kind, "NodePool"))
		return "nodepool";
	if (!strcmp(cause, "MemoryLimitTooLow"))
		return "limits";
	if (!strcmp(cause, "CredentialsRejected"))
		return "secret";
	return "rollback"; /* the other patches undo a bad change (image, selector, rollout) */
}

/* The configured source of Secret ns/name, or NULL. */
static const cJSON *secret_source(struct swarm *s, const struct diag_ref *secret)
{
	char want[320];
	snprintf(want, sizeof want, "%s/%s", secret->ns, secret->name);
	const cJSON *src;
	cJSON_ArrayForEach(src, s->secret_sources)
	{
		if (!strcmp(ks_json_str_or(src, "secret", ""), want))
			return src;
	}
	return NULL;
}

/* The workload that reads the finding's Secret (related or affected), or NULL. */
static const cJSON *reader_of(const struct diag_finding *f)
{
	const cJSON *lists[2] = {f->related, f->affected}, *r;
	for (int i = 0; i < 2; i++) {
		cJSON_ArrayForEach(r, lists[i])
		{
			const char *k = ks_json_str_or(r, "kind", "");
			if (!strcmp(k, "Deployment") || !strcmp(k, "StatefulSet") ||
			    !strcmp(k, "DaemonSet"))
				return r;
		}
	}
	return NULL;
}

static cJSON *base_body(const struct diag_finding *f, const char *action, const char *risk,
			const char *fingerprint)
{
	char key[64];
	snprintf(key, sizeof key, "finding:%s", f->id);
	cJSON *b = swarm__proposal(action, risk, f->confidence > 0 ? f->confidence : 0.5, key,
				   fingerprint);
	cJSON_AddStringToObject(b, "finding", f->id);
	cJSON_AddStringToObject(b, "cause", f->cause);
	cJSON_AddStringToObject(b, "severity", diag_severity_name(f->severity));
	cJSON_AddStringToObject(b, "benefit", f->symptom ? f->symptom : f->cause);
	return b;
}

static cJSON *causes_of(const struct diag_finding *f)
{
	cJSON *a = cJSON_CreateArray();
	cJSON_AddItemToArray(a, cJSON_CreateString(f->cause));
	return a;
}

static void propose_patch(struct swarm *s, const struct diag_finding *f, const char *re,
			  const struct swarm_subject *subj, const char *fp)
{
	const cJSON *rem = f->remediation;
	const cJSON *t = cJSON_GetObjectItem(rem, "target");
	const char *kind = ks_json_str_or(t, "kind", f->object.kind);
	const char *ns = ks_json_str_or(t, "namespace", "");
	const char *name = ks_json_str_or(t, "name", f->object.name);
	const char *summary = ks_json_str_or(rem, "summary", f->cause);
	const char *risk = ks_json_str_or(rem, "risk", "medium");
	cJSON *b = base_body(f, "repair", risk, fp);
	char title[512];
	snprintf(title, sizeof title, "%s on %s %s%s%s: %s", f->cause, kind, ns, ns[0] ? "/" : "",
		 name, summary);
	cJSON_AddStringToObject(b, "title", title);
	cJSON *causes = causes_of(f);
	swarm__patch_plan(s, b, kind, ns, name, ks_json_str_or(rem, "patch_type", "strategic"),
			  cJSON_Duplicate(cJSON_GetObjectItem(rem, "patch"), 1), causes, summary,
			  "the reconciler restores the object it recorded before the patch (a "
			  "rollout back to the previous spec)");
	cJSON_Delete(causes);
	cJSON *pc = cJSON_AddObjectToObject(b, "policy");
	cJSON_AddStringToObject(pc, "kind", policy_kind_for(f->cause, kind));
	if (!strcmp(kind, "NodePool"))
		cJSON_AddStringToObject(pc, "nodepool", name);
	swarm__publish(s, SWARM_MSG_PROPOSAL, "diagnostics", re, subj, b, NULL,
		       "Fix %s on %s %s%s%s: %s.", f->cause, kind, ns, ns[0] ? "/" : "", name,
		       summary);
}

static void propose_secret(struct swarm *s, const struct diag_finding *f, const cJSON *src,
			   const cJSON *reader, const char *re, const struct swarm_subject *subj,
			   const char *fp)
{
	const char *key = ks_json_str_or(src, "key", "");
	const cJSON *vault = cJSON_GetObjectItem(src, "vault");
	cJSON *b = base_body(f, "secret-from-source", "medium", fp);
	const char *wkind = ks_json_str_or(reader, "kind", ""),
		   *wns = ks_json_str_or(reader, "namespace", f->object.ns),
		   *wname = ks_json_str_or(reader, "name", "");
	char title[512];
	snprintf(title, sizeof title, "Reset Secret %s/%s key %s from its source, then restart "
		 "%s %s/%s", f->object.ns, f->object.name, key, wkind, wns, wname);
	cJSON_AddStringToObject(b, "title", title);
	cJSON *steps = cJSON_AddArrayToObject(b, "steps");
	char summary[512];
	snprintf(summary, sizeof summary, "set key %s of Secret %s/%s from vault %s/%s field %s",
		 key, f->object.ns, f->object.name, ks_json_str_or(vault, "mount", ""),
		 ks_json_str_or(vault, "path", ""), ks_json_str_or(vault, "field", ""));
	cJSON *s1 = swarm__step(s, 1, "secret-from-source",
				swarm__target(s, "Secret", f->object.ns, f->object.name), NULL,
				summary);
	cJSON *secret = cJSON_AddObjectToObject(s1, "secret");
	cJSON_AddStringToObject(secret, "key", key);
	cJSON *source = cJSON_AddObjectToObject(secret, "source");
	cJSON_AddStringToObject(source, "type", "vault");
	const char *fields[] = {"mount", "path", "field"};
	for (int i = 0; i < 3; i++)
		cJSON_AddStringToObject(source, fields[i], ks_json_str_or(vault, fields[i], ""));
	cJSON_AddItemToArray(steps, s1);
	snprintf(summary, sizeof summary, "restart %s %s/%s so it reads the new value", wkind,
		 wns, wname);
	cJSON *causes = causes_of(f);
	cJSON_AddItemToArray(steps, swarm__step(s, 2, "restart",
						swarm__target(s, wkind, wns, wname), causes,
						summary));
	cJSON_Delete(causes);
	cJSON_AddStringToObject(b, "rollback", "the Secret's previous data is restored by the "
					       "reconciler (kept as a fingerprint in messages) and "
					       "the workload restarted again");
	cJSON *pc = cJSON_AddObjectToObject(b, "policy");
	cJSON_AddStringToObject(pc, "kind", "secret");
	swarm__publish(s, SWARM_MSG_PROPOSAL, "diagnostics", re, subj, b, NULL, "%s.", title);
}

static void diagnose(struct swarm *s, const struct diag_finding *f, const char *question)
{
	const cJSON *rem = f->remediation;
	char fp[24];
	swarm__fingerprint(rem, fp);
	char *said = ks_map_get(&s->diagnosed, f->id);
	char key[64];
	snprintf(key, sizeof key, "finding:%s", f->id);
	if ((said && !strcmp(said, fp)) || swarm__handled(s, key, fp))
		return;
	free(ks_map_put(&s->diagnosed, f->id, ks_strdup(fp)));
	struct swarm_subject subj = swarm__subject(f->object.kind, f->object.ns, f->object.name);
	bool patch = !strcmp(ks_json_str_or(rem, "type", ""), "patch");
	const cJSON *src = NULL, *reader = NULL;
	if (!patch && !strcmp(f->cause, "CredentialsRejected") &&
	    !strcmp(f->object.kind, "Secret")) {
		src = secret_source(s, &f->object);
		reader = src ? reader_of(f) : NULL;
	}
	cJSON *d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "finding", f->id);
	cJSON_AddStringToObject(d, "cause", f->cause);
	cJSON_AddStringToObject(d, "severity", diag_severity_name(f->severity));
	cJSON_AddNumberToObject(d, "confidence", f->confidence);
	cJSON_AddStringToObject(d, "root_cause", f->root_cause ? f->root_cause : "");
	cJSON_AddNumberToObject(d, "evidence", ks_json_len(f->evidence));
	cJSON_AddItemToObject(d, "remediation", cJSON_Duplicate(rem, 1));
	char diag_id[SWARM_MSG_ID_MAX] = "";
	if (!patch && !(src && reader)) {
		cJSON *checks = cJSON_Duplicate(cJSON_GetObjectItem(rem, "checks"), 1);
		cJSON *ob = cJSON_CreateObject();
		cJSON_AddStringToObject(ob, "finding", f->id);
		cJSON_AddStringToObject(ob, "cause", f->cause);
		cJSON_AddStringToObject(ob, "symptom", f->symptom ? f->symptom : "");
		char obs_id[SWARM_MSG_ID_MAX] = "";
		swarm__publish(s, SWARM_MSG_OBSERVATION, "diagnostics", question, &subj, ob, obs_id,
			       "%s", f->symptom ? f->symptom : f->cause);
		cJSON_AddItemToObject(d, "checks", checks ? checks : cJSON_CreateArray());
		cJSON_AddBoolToObject(d, "needs_human", true);
		swarm__publish(s, SWARM_MSG_DIAGNOSIS, "diagnostics", obs_id, &subj, d, NULL,
			       "%s Needs a person: %s", f->root_cause ? f->root_cause : f->cause,
			       ks_json_str_or(rem, "summary", "see the checks"));
		return;
	}
	swarm__publish(s, SWARM_MSG_DIAGNOSIS, "diagnostics", question, &subj, d, diag_id, "%s",
		       f->root_cause ? f->root_cause : f->cause);
	if (patch)
		propose_patch(s, f, diag_id, &subj, fp);
	else
		propose_secret(s, f, src, reader, diag_id, &subj, fp);
}

/* Forget the findings this round does not have (they resolved). */
static void forget_resolved(struct swarm *s)
{
	struct ks_map present;
	ks_map_init(&present);
	for (size_t i = 0; i < s->in->findings->n; i++)
		ks_map_put(&present, s->in->findings->findings[i]->id, s);
	cJSON *gone = cJSON_CreateArray();
	size_t it = 0;
	const char *id;
	void *v;
	while (ks_map_next(&s->diagnosed, &it, &id, &v))
		if (!ks_map_get(&present, id))
			cJSON_AddItemToArray(gone, cJSON_CreateString(id));
	const cJSON *g;
	cJSON_ArrayForEach(g, gone)
		free(ks_map_del(&s->diagnosed, g->valuestring));
	cJSON_Delete(gone);
	ks_map_release(&present);
}

static void on_question(const struct swarm_msg *m, void *ctx)
{
	struct swarm *s = ctx;
	if (!swarm__round_question(s, m))
		return;
	forget_resolved(s);
	for (size_t i = 0; i < s->in->findings->n; i++)
		diagnose(s, s->in->findings->findings[i], m->id);
}

void agent_diagnostics_init(struct swarm *s)
{
	swarm__subscribe(s, BUS_TYPE_BIT(SWARM_MSG_QUESTION), on_question);
}
