/* demo.c — the demo's scenarios and its summary from the transcript (demo.h). Pure: no
 * I/O; the command (src/cli/cmd_demo.c) fetches the transcript and prints. */
#include "base/common.h"
#include "base/alloc.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/json.h"
#include "base/timeutil.h"
#include "daemon/demo.h"

#include <string.h>

static const struct demo_scenario scenarios[] = {
	{"payment-db-secret", "09:02 the database password was rotated in Vault, not in the "
			      "cluster: payment-service crash-loops"},
	{"oom-limit", "09:10 report-builder's data grew past its 256Mi memory limit: OOMKilled"},
	{"bad-rollout", "09:15 orders-api 2.0.0 ships before its schema migration: the rollout "
			"stalls and must be rolled back"},
	{"service-selector-mismatch", "09:20 a refactor renamed search's pod labels: the Service "
				      "selects nothing"},
	{"image-typo", "09:25 a typo in catalog-api's image tag (4.2.O): ImagePullBackOff"},
	{"overprovisioned-nodepool", "09:30 NodePool internal-tools only allows 8xlarge nodes, "
				     "idle at under 10% CPU"},
	{"missing-config-key", "09:35 checkout's ConfigMap lost the FEATURE_FLAGS key: only a "
			       "person knows its value"},
	{"capacity-exhaustion", "09:40 the coming capacity exhaustion: pending pods need room"},
};

const char *const demo_default_scenarios[] = {
	"payment-db-secret", "oom-limit", "bad-rollout", "service-selector-mismatch",
	"image-typo", "overprovisioned-nodepool",
};
const size_t demo_default_scenarios_n =
	sizeof demo_default_scenarios / sizeof demo_default_scenarios[0];

const struct demo_scenario *demo_scenarios(size_t *n)
{
	*n = sizeof scenarios / sizeof scenarios[0];
	return scenarios;
}

const char *demo_story(const char *scenario)
{
	for (size_t i = 0; i < sizeof scenarios / sizeof scenarios[0]; i++)
		if (!strcmp(scenarios[i].name, scenario))
			return scenarios[i].story;
	return NULL;
}

/* "Kind namespace/name" (or "Kind name" when cluster-scoped); caller frees. */
static char *subject_key(const cJSON *msg)
{
	const cJSON *s = ks_json_child(msg, "subject");
	const char *kind = ks_json_str_or(s, "kind", ""), *ns = ks_json_str_or(s, "namespace", "");
	const char *name = ks_json_str_or(s, "name", "");
	return *ns ? ks_asprintf("%s %s/%s", kind, ns, name) : ks_asprintf("%s %s", kind, name);
}

/* The message's time in seconds (fractional), or -1 when it has none. */
static double msg_time(const cJSON *msg)
{
	const char *ts = ks_json_str(msg, "ts");
	int64_t ns;
	struct ks_err err = {0};
	if (!ts || ks_time_parse_rfc3339(ts, strlen(ts), &ns, &err))
		return -1;
	return (double)ns / 1e9;
}

static bool array_has_str(const cJSON *arr, const char *field, const char *v)
{
	const cJSON *it;
	cJSON_ArrayForEach(it, arr)
		if (!strcmp(ks_json_str_or(it, field, ""), v))
			return true;
	return false;
}

/* The first message of type `type` whose `key_field` (a body field, or the subject key
 * when key_field is NULL) equals key. */
static const cJSON *first_of(const cJSON *messages, const char *type, const char *body_field,
			     const char *key)
{
	const cJSON *m;
	cJSON_ArrayForEach(m, messages) {
		if (strcmp(ks_json_str_or(m, "type", ""), type))
			continue;
		if (body_field) {
			if (!strcmp(ks_json_str_or(ks_json_child(m, "body"), body_field, ""), key))
				return m;
			continue;
		}
		char *k = subject_key(m);
		bool eq = !strcmp(k, key);
		free(k);
		if (eq)
			return m;
	}
	return NULL;
}

static void add_refusal(cJSON *refused, const cJSON *veto)
{
	const cJSON *body = ks_json_child(veto, "body");
	char *subject = subject_key(veto);
	const char *rule = ks_json_str_or(body, "rule", "");
	const cJSON *it;
	cJSON_ArrayForEach(it, refused)
		if (!strcmp(ks_json_str_or(it, "subject", ""), subject) &&
		    !strcmp(ks_json_str_or(it, "rule", ""), rule)) {
			free(subject);
			return;
		}
	cJSON *r = cJSON_CreateObject();
	cJSON_AddStringToObject(r, "subject", subject);
	cJSON_AddStringToObject(r, "by", ks_json_str_or(veto, "from", ""));
	cJSON_AddStringToObject(r, "rule", rule);
	cJSON_AddStringToObject(r, "reason", ks_json_str_or(body, "reason", ""));
	cJSON_AddItemToArray(refused, r);
	free(subject);
}

bool demo_in_scope(const cJSON *subject, const char *const *scope, size_t n)
{
	if (!n)
		return true;
	const char *ns = ks_json_str_or(subject, "namespace", "");
	const char *key = *ns ? ns : ks_json_str_or(subject, "name", "");
	for (size_t i = 0; i < n; i++)
		if (!strcmp(scope[i], key))
			return true;
	return false;
}

/* The measured saving of a plan (the learning agent's "Plan pN measured" observation), or
 * NULL when it was not measured (yet). */
static const cJSON *measured_saving(const cJSON *messages, const char *plan_id)
{
	const cJSON *m;
	cJSON_ArrayForEach(m, messages) {
		const cJSON *body = ks_json_child(m, "body");
		if (strcmp(ks_json_str_or(m, "type", ""), "observation") ||
		    strcmp(ks_json_str_or(m, "from", ""), "learning") ||
		    strcmp(ks_json_str_or(body, "plan_id", ""), plan_id))
			continue;
		const cJSON *v = ks_json_child(ks_json_child(body, "measured"), "savings_per_month");
		if (cJSON_IsNumber(v))
			return v;
	}
	return NULL;
}

/* The savings of the fixes, counting each subject once with its largest saving: a second
 * plan on the same NodePool is priced from the cost the optimizer saw, which may still be
 * the cost from before the first plan's nodes were replaced, so adding both would count one
 * saving twice. */
static double savings_once_per_subject(const cJSON *fixes)
{
	double total = 0;
	const cJSON *a, *b;
	cJSON_ArrayForEach(a, fixes) {
		const char *subject = ks_json_str_or(a, "subject", "");
		const cJSON *first = NULL;
		double best = 0;
		cJSON_ArrayForEach(b, fixes) {
			if (strcmp(ks_json_str_or(b, "subject", ""), subject))
				continue;
			if (!first)
				first = b;
			const cJSON *v = cJSON_GetObjectItemCaseSensitive(b, "savings_per_month");
			if (cJSON_IsNumber(v) && v->valuedouble > best)
				best = v->valuedouble;
		}
		if (first == a) /* each subject once, at its first fix */
			total += best;
	}
	return total;
}

void demo_summary_compute(const cJSON *messages, const char *const *scope, size_t nscope,
			  struct demo_summary *s)
{
	*s = (struct demo_summary){.refused = cJSON_CreateArray(), .fixes = cJSON_CreateArray()};
	cJSON *diagnosed = cJSON_CreateArray(); /* [{"k": subject key}] */
	double total_fix_s = 0;
	const cJSON *m;
	cJSON_ArrayForEach(m, messages) {
		const char *type = ks_json_str_or(m, "type", "");
		/* an outcome is about its plan's subject (its own may name none) */
		const cJSON *about = m;
		if (!strcmp(type, "outcome"))
			about = first_of(messages, "plan", "plan_id",
					 ks_json_str_or(ks_json_child(m, "body"), "plan_id", ""));
		if (!demo_in_scope(ks_json_child(about ? about : m, "subject"), scope, nscope))
			continue;
		if (!strcmp(type, "diagnosis")) {
			char *k = subject_key(m);
			if (!array_has_str(diagnosed, "k", k)) {
				cJSON *o = cJSON_CreateObject();
				cJSON_AddStringToObject(o, "k", k);
				cJSON_AddItemToArray(diagnosed, o);
			}
			free(k);
		} else if (!strcmp(type, "veto")) {
			add_refusal(s->refused, m);
		} else if (!strcmp(type, "outcome")) {
			const cJSON *body = ks_json_child(m, "body");
			const char *plan_id = ks_json_str_or(body, "plan_id", "");
			if (strcmp(ks_json_str_or(body, "result", ""), "succeeded") || !*plan_id ||
			    array_has_str(s->fixes, "plan_id", plan_id))
				continue;
			const cJSON *plan = first_of(messages, "plan", "plan_id", plan_id);
			char *subject = subject_key(plan ? plan : m);
			const cJSON *diag = first_of(messages, "diagnosis", NULL, subject);
			const cJSON *start = diag ? diag : plan ? plan : m;
			double t0 = msg_time(start), t1 = msg_time(m);
			double fix_s = t0 >= 0 && t1 >= t0 ? t1 - t0 : 0;
			const cJSON *sv = ks_json_child(body, "savings_per_month");
			if (!cJSON_IsNumber(sv) && plan)
				sv = ks_json_child(ks_json_child(plan, "body"),
						   "savings_per_month");
			double savings = cJSON_IsNumber(sv) && sv->valuedouble > 0 ? sv->valuedouble
										     : 0;
			cJSON *fx = cJSON_CreateObject();
			cJSON_AddStringToObject(fx, "plan_id", plan_id);
			cJSON_AddStringToObject(fx, "subject", subject);
			cJSON_AddNumberToObject(fx, "time_to_fix_s", fix_s);
			cJSON_AddNumberToObject(fx, "savings_per_month", savings);
			const cJSON *ms = measured_saving(messages, plan_id);
			if (ms) {
				cJSON_AddNumberToObject(fx, "measured_savings_per_month",
							ms->valuedouble);
				s->measured_monthly_savings_usd += ms->valuedouble;
				s->measured_plans++;
			}
			cJSON_AddItemToArray(s->fixes, fx);
			s->fixed++;
			total_fix_s += fix_s;
			free(subject);
		}
	}
	s->monthly_savings_usd = savings_once_per_subject(s->fixes);
	s->found = ks_json_len(diagnosed);
	s->time_to_fix_s = s->fixed ? total_fix_s / s->fixed : 0;
	cJSON_Delete(diagnosed);
}

void demo_summary_release(struct demo_summary *s)
{
	cJSON_Delete(s->refused);
	cJSON_Delete(s->fixes);
	*s = (struct demo_summary){0};
}

/* Rounded to 0.1 (seconds) or 0.01 (dollars) so that the JSON reads well. */
static double round_to(double v, double unit)
{
	return (double)(int64_t)(v / unit + 0.5) * unit;
}

cJSON *demo_summary_json(const struct demo_summary *s)
{
	cJSON *j = cJSON_CreateObject();
	cJSON_AddNumberToObject(j, "found", s->found);
	cJSON_AddNumberToObject(j, "fixed", s->fixed);
	cJSON_AddNumberToObject(j, "time_to_fix_s", round_to(s->time_to_fix_s, 0.1));
	cJSON_AddNumberToObject(j, "monthly_savings_usd", round_to(s->monthly_savings_usd, 0.01));
	cJSON_AddNumberToObject(j, "measured_monthly_savings_usd",
				round_to(s->measured_monthly_savings_usd, 0.01));
	cJSON_AddNumberToObject(j, "measured_plans", s->measured_plans);
	cJSON_AddItemToObject(j, "refused", cJSON_Duplicate(s->refused, true));
	cJSON *fixes = cJSON_Duplicate(s->fixes, true);
	cJSON *fx;
	cJSON_ArrayForEach(fx, fixes) {
		cJSON *t = cJSON_GetObjectItem(fx, "time_to_fix_s");
		cJSON *sv = cJSON_GetObjectItem(fx, "savings_per_month");
		cJSON *ms = cJSON_GetObjectItem(fx, "measured_savings_per_month");
		if (t)
			cJSON_SetNumberValue(t, round_to(t->valuedouble, 0.1));
		if (sv)
			cJSON_SetNumberValue(sv, round_to(sv->valuedouble, 0.01));
		if (ms)
			cJSON_SetNumberValue(ms, round_to(ms->valuedouble, 0.01));
	}
	cJSON_AddItemToObject(j, "fixes", fixes);
	return j;
}

void demo_summary_format(const struct demo_summary *s, struct ks_buf *out)
{
	ks_buf_appendf(out, "problems found:     %d\n", s->found);
	ks_buf_appendf(out, "problems fixed:     %d", s->fixed);
	if (s->fixed)
		ks_buf_appendf(out, " (mean time to fix %.0fs)", s->time_to_fix_s);
	ks_buf_appendstr(out, "\n");
	const cJSON *it;
	cJSON_ArrayForEach(it, s->fixes) {
		const cJSON *sv = ks_json_child(it, "savings_per_month");
		const cJSON *t = ks_json_child(it, "time_to_fix_s");
		ks_buf_appendf(out, "  %-6s %-40s fixed in %4.0fs",
			       ks_json_str_or(it, "plan_id", ""), ks_json_str_or(it, "subject", ""),
			       t ? t->valuedouble : 0);
		const cJSON *ms = ks_json_child(it, "measured_savings_per_month");
		if (sv && sv->valuedouble > 0)
			ks_buf_appendf(out, "  saves $%.2f/month", sv->valuedouble);
		if (ms)
			ks_buf_appendf(out, " (measured: $%.2f)", ms->valuedouble);
		ks_buf_appendstr(out, "\n");
	}
	ks_buf_appendf(out, "money saved:        $%.2f/month predicted", s->monthly_savings_usd);
	if (s->measured_plans)
		ks_buf_appendf(out, "; $%.2f/month measured (%d plan%s)",
			       s->measured_monthly_savings_usd, s->measured_plans,
			       s->measured_plans == 1 ? "" : "s");
	ks_buf_appendstr(out, "\n");
	ks_buf_appendf(out, "changes refused:    %d\n", ks_json_len(s->refused));
	cJSON_ArrayForEach(it, s->refused)
		ks_buf_appendf(out, "  %s: refused by %s (%s): %s\n",
			       ks_json_str_or(it, "subject", ""), ks_json_str_or(it, "by", ""),
			       ks_json_str_or(it, "rule", ""), ks_json_str_or(it, "reason", ""));
}
