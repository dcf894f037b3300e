/* plan.c — the shape of a plan (docs/PLANS.md) checked before anything touches the cluster,
 * the step view the other files work from, and the secret fingerprint.
 * Every rule here is a ceiling or a required field; the messages name the step and the
 * field ("plan p3: step s2: target.kind: missing"). Nothing is allocated: a struct rc_step
 * points into the plan's JSON. */
#include "base/common.h"
#include "base/json.h"
#include "reconcile/internal.h"

#include <gnutls/crypto.h>
#include <stdio.h>
#include <string.h>

static const char *const CHECKS[] = {"rollout", "pods-ready", "no-findings"};

void reconcile_fingerprint(const void *value, size_t len, char out[24])
{
	unsigned char h[32];
	gnutls_hash_fast(GNUTLS_DIG_SHA256, value, len, h);
	int n = snprintf(out, 24, "sha256:");
	for (int i = 0; i < 8; i++)
		n += snprintf(out + n, 24 - (size_t)n, "%02x", h[i]);
}

const char *rc_via_name(enum rc_via v)
{
	return v == RC_VIA_HELM ? "helm" : v == RC_VIA_GITOPS ? "gitops" : "live";
}

const char *rc_patch_type_name(enum kube_patch_type t)
{
	return t == KUBE_PATCH_MERGE ? "merge" : t == KUBE_PATCH_JSON ? "json" : "strategic";
}

/* A short identifier: letters, digits, '-', '_', '.', ':' and at most RC_MAX_ID long. */
static bool good_id(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n > RC_MAX_ID)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c == '.' || c == ':'))
			return false;
	}
	return true;
}

/* A Kubernetes name or a Vault path piece: 1..RC_MAX_NAME printable characters. */
static bool good_name(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n > RC_MAX_NAME)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= ' ' || s[i] == 0x7f)
			return false;
	return true;
}

static int bad(struct ks_err *err, const char *step_id, const char *field, const char *why)
{
	return ks_err_set(err, KS_EINVAL, "step %s: %s: %s", step_id ? step_id : "?", field, why);
}

static int parse_target(const cJSON *step, struct rc_step *o, struct ks_err *err)
{
	o->target = ks_json_child(step, "target");
	if (!cJSON_IsObject(o->target))
		return bad(err, o->id, "target", "missing (an object)");
	o->api_version = ks_json_str(o->target, "apiVersion");
	o->kind = ks_json_str(o->target, "kind");
	o->ns = ks_json_str(o->target, "namespace");
	o->name = ks_json_str(o->target, "name");
	o->uid = ks_json_str(o->target, "uid");
	if (!good_name(o->api_version))
		return bad(err, o->id, "target.apiVersion", "missing or not a name");
	if (!good_id(o->kind))
		return bad(err, o->id, "target.kind", "missing or not a kind");
	if (!good_name(o->name))
		return bad(err, o->id, "target.name", "missing or not a name");
	if (o->ns && !good_name(o->ns))
		return bad(err, o->id, "target.namespace", "not a name");
	if (o->uid && !good_name(o->uid))
		return bad(err, o->id, "target.uid", "not a uid");
	return 0;
}

static int parse_patch(const cJSON *step, struct rc_step *o, struct ks_err *err)
{
	const char *pt = ks_json_str_or(step, "patch_type", "strategic");
	if (strcmp(pt, "strategic") == 0)
		o->patch_type = KUBE_PATCH_STRATEGIC;
	else if (strcmp(pt, "merge") == 0)
		o->patch_type = KUBE_PATCH_MERGE;
	else if (strcmp(pt, "json") == 0)
		o->patch_type = KUBE_PATCH_JSON;
	else
		return bad(err, o->id, "patch_type", "must be strategic, merge or json");
	o->patch = ks_json_child(step, "patch");
	bool want_array = o->patch_type == KUBE_PATCH_JSON;
	if (!o->patch || (want_array ? !cJSON_IsArray(o->patch) : !cJSON_IsObject(o->patch)) ||
	    cJSON_GetArraySize(o->patch) == 0)
		return bad(err, o->id, "patch",
			   want_array ? "missing (a non-empty JSON Patch array)"
				      : "missing (a non-empty object)");
	char *s = cJSON_PrintUnformatted(o->patch);
	size_t n = s ? strlen(s) : 0;
	cJSON_free(s);
	if (n > RC_MAX_PATCH)
		return bad(err, o->id, "patch", "larger than 256 KiB");
	return 0;
}

static int parse_secret(const cJSON *step, struct rc_step *o, struct ks_err *err)
{
	const cJSON *sec = ks_json_child(step, "secret");
	if (!cJSON_IsObject(sec))
		return bad(err, o->id, "secret", "missing (an object)");
	if (strcmp(o->kind, "Secret") != 0 || strcmp(o->api_version, "v1") != 0)
		return bad(err, o->id, "target", "a secret-from-source step targets a v1 Secret");
	o->secret_key = ks_json_str(sec, "key");
	if (!good_name(o->secret_key))
		return bad(err, o->id, "secret.key", "missing or not a key name");
	const char *type = ks_json_str(sec, "source.type");
	if (!type || strcmp(type, "vault") != 0)
		return bad(err, o->id, "secret.source.type", "must be \"vault\"");
	o->vault_mount = ks_json_str_or(sec, "source.mount", "secret");
	o->vault_path = ks_json_str(sec, "source.path");
	o->vault_field = ks_json_str(sec, "source.field");
	if (!good_name(o->vault_mount) || strchr(o->vault_mount, '/'))
		return bad(err, o->id, "secret.source.mount", "not a mount name");
	if (!good_name(o->vault_path) || strstr(o->vault_path, ".."))
		return bad(err, o->id, "secret.source.path", "missing or not a path");
	if (!good_name(o->vault_field))
		return bad(err, o->id, "secret.source.field", "missing or not a field name");
	return 0;
}

static int parse_preconditions(struct rc_step *o, struct ks_err *err)
{
	const cJSON *p = o->preconditions;
	if (!p)
		return 0;
	if (!cJSON_IsObject(p))
		return bad(err, o->id, "preconditions", "not an object");
	const char *uid = ks_json_str(p, "uid"), *rv = ks_json_str(p, "resourceVersion");
	if ((ks_json_child(p, "uid") && !good_name(uid)) ||
	    (ks_json_child(p, "resourceVersion") && !good_name(rv)))
		return bad(err, o->id, "preconditions", "uid and resourceVersion are strings");
	const cJSON *fields = ks_json_child(p, "fields"), *f;
	if (fields && !cJSON_IsArray(fields))
		return bad(err, o->id, "preconditions.fields", "not an array");
	if (ks_json_len(fields) > 32)
		return bad(err, o->id, "preconditions.fields", "more than 32");
	cJSON_ArrayForEach(f, fields) {
		if (!good_name(ks_json_str(f, "path")) || !ks_json_child(f, "equals"))
			return bad(err, o->id, "preconditions.fields",
				   "each is {\"path\":\"a.b\",\"equals\":VALUE}");
	}
	return 0;
}

static int parse_verify(struct rc_step *o, struct ks_err *err)
{
	const cJSON *v = o->verify, *c;
	if (!v)
		return 0;
	if (!cJSON_IsObject(v))
		return bad(err, o->id, "verify", "not an object");
	const cJSON *checks = ks_json_child(v, "checks");
	if (checks && !cJSON_IsArray(checks))
		return bad(err, o->id, "verify.checks", "not an array");
	cJSON_ArrayForEach(c, checks) {
		bool known = false;
		for (size_t i = 0; i < KS_ARRAY_LEN(CHECKS); i++)
			known |= cJSON_IsString(c) && strcmp(c->valuestring, CHECKS[i]) == 0;
		if (!known)
			return bad(err, o->id, "verify.checks",
				   "each is \"rollout\", \"pods-ready\" or \"no-findings\"");
	}
	const cJSON *f = ks_json_child(v, "findings");
	if (f && (!cJSON_IsArray(f) || ks_json_len(f) > 32))
		return bad(err, o->id, "verify.findings", "an array of at most 32 causes");
	const cJSON *t = ks_json_child(v, "timeout_s");
	if (t) {
		if (!cJSON_IsNumber(t) || t->valuedouble < 1 || t->valuedouble > RC_MAX_TIMEOUT_S)
			return bad(err, o->id, "verify.timeout_s", "a number of seconds, 1..3600");
		o->timeout_s = (int)t->valuedouble;
	}
	return 0;
}

int rc_step_parse(const cJSON *step, struct rc_step *o, struct ks_err *err)
{
	*o = (struct rc_step){.json = step};
	if (!cJSON_IsObject(step))
		return ks_err_set(err, KS_EINVAL, "a step is not an object");
	o->id = ks_json_str(step, "id");
	if (!good_id(o->id))
		return bad(err, NULL, "id",
			   "missing or not an identifier (1-63 of [A-Za-z0-9_.:-])");
	o->action = ks_json_str(step, "action");
	if (!o->action)
		return bad(err, o->id, "action", "missing");
	int rc = parse_target(step, o, err);
	if (rc)
		return rc;
	if (strcmp(o->action, "patch") == 0)
		rc = parse_patch(step, o, err);
	else if (strcmp(o->action, "secret-from-source") == 0)
		rc = parse_secret(step, o, err);
	else if (strcmp(o->action, "restart") != 0)
		return bad(err, o->id, "action", "must be patch, restart or secret-from-source");
	if (rc)
		return rc;
	o->preconditions = ks_json_child(step, "preconditions");
	o->verify = ks_json_child(step, "verify");
	if ((rc = parse_preconditions(o, err)) || (rc = parse_verify(o, err)))
		return rc;
	const cJSON *summary = ks_json_child(step, "summary");
	if (summary && (!cJSON_IsString(summary) || strlen(summary->valuestring) > 1024))
		return bad(err, o->id, "summary", "a string of at most 1024 bytes");
	return 0;
}

int reconcile_plan_check(const cJSON *plan, struct ks_err *err)
{
	if (!cJSON_IsObject(plan))
		return ks_err_set(err, KS_EINVAL, "plan: not a JSON object");
	const char *id = ks_json_str(plan, "plan_id");
	if (!good_id(id))
		return ks_err_set(err, KS_EINVAL, "plan: plan_id: missing or not an identifier");
	const char *risk = ks_json_str(plan, "risk");
	if (risk && strcmp(risk, "low") != 0 && strcmp(risk, "medium") != 0 &&
	    strcmp(risk, "high") != 0)
		return ks_err_set(err, KS_EINVAL, "plan %s: risk: must be low, medium or high", id);
	const cJSON *steps = ks_json_child(plan, "steps"), *s;
	int n = ks_json_len(steps);
	if (!cJSON_IsArray(steps) || n == 0 || n > RC_MAX_STEPS)
		return ks_err_set(err, KS_EINVAL, "plan %s: steps: 1 to %d steps are needed", id,
				  RC_MAX_STEPS);
	char *text = cJSON_PrintUnformatted(plan);
	size_t len = text ? strlen(text) : 0;
	cJSON_free(text);
	if (len > RC_MAX_PLAN)
		return ks_err_set(err, KS_ETOOBIG, "plan %s: larger than 4 MiB", id);
	int i = 0;
	cJSON_ArrayForEach(s, steps) {
		struct rc_step st;
		int rc = rc_step_parse(s, &st, err);
		if (rc) {
			ks_err_wrap(err, "plan %s", id);
			return rc;
		}
		/* Step ids are the intent log's keys: unique within the plan. */
		const cJSON *prev;
		int j = 0;
		cJSON_ArrayForEach(prev, steps) {
			if (j++ >= i)
				break;
			if (strcmp(ks_json_str_or(prev, "id", ""), st.id) == 0)
				return ks_err_set(err, KS_EINVAL, "plan %s: step id %s is repeated",
						  id, st.id);
		}
		i++;
	}
	return 0;
}
