/* ask.c — answers "why?", "what else?", "what's the risk?" and "how sure?" from the recorded
 * decisions, without an LLM.
 * 1. What the question is about: a plan id ("p3"), a message id ("m42": a decision, a plan
 *    message, or a proposal), or an object ("shop/web", "NodePool general", a bare name)
 *    matched against the plans' subjects, newest first.
 * 2. The decision behind it and the chosen proposal, with the critiques, vetoes and votes
 *    that answered the proposal (read back from the transcript).
 * 3. The answer by the question's words: "why" -> the decision's reason and scores;
 *    "what else"/"alternative"/"instead" -> the alternatives and why they lost;
 *    "risk" -> the risk, critiques, vetoes and rollback; "sure"/"confiden"/"certain" -> the
 *    confidence, the learning agent's adjustment and the evidence; otherwise all four.
 * refs lists the ids of every message the answer rests on.
 * Ownership: *answer (free()) and *refs (cJSON_Delete) are the caller's. */
#include "base/common.h"
#include "base/json.h"
#include "base/strutil.h"
#include "store/plans.h"
#include "store/store.h"
#include "swarm/swarm_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#define ASK_MAX 4096

struct about {
	char decision[SWARM_MSG_ID_MAX];
	char plan_id[32];
};

static void add_ref(cJSON *refs, const char *id)
{
	const cJSON *r;
	if (!id || !id[0])
		return;
	cJSON_ArrayForEach(r, refs)
		if (!strcmp(r->valuestring, id))
			return;
	cJSON_AddItemToArray(refs, cJSON_CreateString(id));
}

static bool get_msg(struct swarm *s, const char *id, struct swarm_msg *m)
{
	return swarm_msg_id_valid(id) && store_msg_get(s->o.store, id, m, NULL) == 0;
}

struct find_decision {
	const char *proposal;
	char found[SWARM_MSG_ID_MAX];
};

static int decision_of(const struct swarm_msg *m, void *ctx)
{
	struct find_decision *fd = ctx;
	if (m->type != SWARM_MSG_DECISION)
		return 0;
	const cJSON *c;
	cJSON_ArrayForEach(c, cJSON_GetObjectItem(m->body, "considered"))
	{
		if (cJSON_IsString(c) && !strcmp(c->valuestring, fd->proposal)) {
			snprintf(fd->found, sizeof fd->found, "%s", m->id);
			return 1;
		}
	}
	return 0;
}

static int64_t seq_of(const char *id)
{
	int64_t v = 0;
	if (id[0] == 'm')
		ks_parse_int64(id + 1, &v);
	return v;
}

struct match_ctx {
	const char *word;
	struct about *a;
};

static int match_plan(const struct plan_row *r, void *ctx)
{
	struct match_ctx *mc = ctx;
	cJSON *subj = ks_json_parse(r->subject, strlen(r->subject), 4096, NULL);
	char full[400], kind_name[400];
	snprintf(full, sizeof full, "%s/%s", ks_json_str_or(subj, "namespace", ""),
		 ks_json_str_or(subj, "name", ""));
	snprintf(kind_name, sizeof kind_name, "%s/%s", ks_json_str_or(subj, "kind", ""),
		 ks_json_str_or(subj, "name", ""));
	bool hit = !strcasecmp(mc->word, ks_json_str_or(subj, "name", "")) ||
		   !strcasecmp(mc->word, full) || !strcasecmp(mc->word, kind_name);
	cJSON_Delete(subj);
	if (!hit)
		return 0;
	snprintf(mc->a->decision, sizeof mc->a->decision, "%s", r->decision_id);
	snprintf(mc->a->plan_id, sizeof mc->a->plan_id, "%s", r->plan_id);
	return 1;
}

/* Find what the question is about. */
static bool resolve(struct swarm *s, const char *q, struct about *a)
{
	char buf[ASK_MAX];
	snprintf(buf, sizeof buf, "%s", q);
	for (char *save = NULL, *w = strtok_r(buf, " \t\n?,;:!\"'()", &save); w;
	     w = strtok_r(NULL, " \t\n?,;:!\"'()", &save)) {
		size_t n = strlen(w);
		while (n && w[n - 1] == '.')
			w[--n] = '\0';
		if (!n)
			continue;
		if ((w[0] == 'p' || w[0] == 'P') && n > 1 && strspn(w + 1, "0123456789") == n - 1) {
			struct plan_row r;
			w[0] = 'p';
			if (plans_get(s->o.store, w, &r, NULL) == 0) {
				snprintf(a->decision, sizeof a->decision, "%s", r.decision_id);
				snprintf(a->plan_id, sizeof a->plan_id, "%s", r.plan_id);
				plan_row_release(&r);
				return true;
			}
		}
		struct swarm_msg m;
		if (swarm_msg_id_valid(w) && get_msg(s, w, &m)) {
			bool ok = true;
			if (m.type == SWARM_MSG_DECISION) {
				snprintf(a->decision, sizeof a->decision, "%s", m.id);
			} else if (m.type == SWARM_MSG_PROPOSAL) {
				struct find_decision fd = {.proposal = m.id};
				store_msgs_since(s->o.store, m.seq, 0, decision_of, &fd, NULL);
				snprintf(a->decision, sizeof a->decision, "%s", fd.found);
				ok = fd.found[0] != '\0';
			} else if (ks_json_str(m.body, "plan_id")) {
				struct plan_row r;
				const char *pid = ks_json_str(m.body, "plan_id");
				ok = plans_get(s->o.store, pid, &r, NULL) == 0;
				if (ok) {
					snprintf(a->decision, sizeof a->decision, "%s",
						 r.decision_id);
					snprintf(a->plan_id, sizeof a->plan_id, "%s", r.plan_id);
					plan_row_release(&r);
				}
			} else {
				ok = false;
			}
			swarm_msg_release(&m);
			if (ok)
				return true;
		}
		struct match_ctx mc = {.word = w, .a = a};
		plans_list(s->o.store, NULL, 0, match_plan, &mc, NULL);
		if (a->decision[0])
			return true;
	}
	return false;
}

struct answers {
	const char *proposal;
	struct ks_buf *risk, *sure;
	cJSON *refs;
};

static int answers_of(const struct swarm_msg *m, void *ctx)
{
	struct answers *an = ctx;
	if (!m->nre || strcmp(m->re[0], an->proposal))
		return 0;
	if (m->type == SWARM_MSG_CRITIQUE || m->type == SWARM_MSG_VETO) {
		ks_buf_appendf(an->risk, " %s %s: %s.", m->from,
			       m->type == SWARM_MSG_VETO ? "vetoed it" : "raised a concern",
			       ks_json_str_or(m->body, m->type == SWARM_MSG_VETO ? "reason"
										   : "concern",
					      ""));
		add_ref(an->refs, m->id);
	} else if (m->type == SWARM_MSG_VOTE && !strcmp(m->from, "learning")) {
		ks_buf_appendf(an->sure, " %s", m->text);
		add_ref(an->refs, m->id);
	}
	return 0;
}

int swarm_ask(struct swarm *s, const char *question, char **answer, cJSON **refs,
	      struct ks_err *err)
{
	*answer = NULL;
	*refs = NULL;
	if (!question || !question[0] || strlen(question) >= ASK_MAX)
		return ks_err_set(err, KS_EINVAL, "ask: a question of 1 to %d bytes is required",
				  ASK_MAX - 1);
	char q[ASK_MAX];
	size_t i;
	for (i = 0; question[i]; i++)
		q[i] = (char)tolower((unsigned char)question[i]);
	q[i] = '\0';
	bool why = strstr(q, "why") != NULL;
	bool alt = strstr(q, "what else") || strstr(q, "alternative") || strstr(q, "instead");
	bool risk = strstr(q, "risk") != NULL;
	bool sure = strstr(q, "sure") || strstr(q, "confiden") || strstr(q, "certain");
	if (!why && !alt && !risk && !sure)
		why = alt = risk = sure = true;
	swarm__enter(s);
	struct about a = {.decision = ""};
	struct ks_buf out;
	ks_buf_init(&out, KS_BUF_UNLIMITED);
	cJSON *r = cJSON_CreateArray();
	struct swarm_msg dec = {0}, prop = {0};
	if (!resolve(s, question, &a) || !get_msg(s, a.decision, &dec)) {
		ks_buf_appendstr(&out, "I found no decision about that: name a plan (p3), a "
				       "message (m42) or an object (namespace/name).");
		goto done;
	}
	add_ref(r, dec.id);
	const char *chosen = ks_json_str_or(dec.body, "chosen", "");
	bool have_prop = chosen[0] && get_msg(s, chosen, &prop);
	if (have_prop)
		add_ref(r, prop.id);
	if (a.plan_id[0])
		ks_buf_appendf(&out, "Plan %s. ", a.plan_id);
	if (why) {
		ks_buf_appendf(&out, "Why: %s", ks_json_str_or(dec.body, "reason", ""));
		if (have_prop)
			ks_buf_appendf(&out, " The proposal (%s, from %s): %s", prop.id, prop.from,
				       prop.text);
		ks_buf_appendstr(&out, "\n");
	}
	if (alt) {
		const cJSON *x;
		int n = 0;
		ks_buf_appendstr(&out, "What else:");
		cJSON_ArrayForEach(x, cJSON_GetObjectItem(dec.body, "alternatives"))
		{
			ks_buf_appendf(&out, " %s (%s) lost: %s.",
				       ks_json_str_or(x, "proposal", ""),
				       ks_json_str_or(x, "action", ""),
				       ks_json_str_or(x, "why_lost", ""));
			add_ref(r, ks_json_str_or(x, "proposal", ""));
			n++;
		}
		cJSON_ArrayForEach(x, ks_json_get(prop.body, "alternatives"))
		{
			ks_buf_appendf(&out, " %s lost: %s.", ks_json_str_or(x, "name", ""),
				       ks_json_str_or(x, "why_lost", ""));
			n++;
		}
		ks_buf_appendf(&out, "%s Doing nothing was the default.\n",
			       n ? "" : " no other proposal was made.");
	}
	struct ks_buf rb, sb;
	ks_buf_init(&rb, KS_BUF_UNLIMITED);
	ks_buf_init(&sb, KS_BUF_UNLIMITED);
	if (have_prop) {
		struct answers an = {.proposal = prop.id, .risk = &rb, .sure = &sb, .refs = r};
		store_msgs_since(s->o.store, seq_of(prop.id), 0, answers_of, &an, NULL);
	}
	if (risk) {
		ks_buf_appendf(&out, "Risk: %s.", have_prop ? ks_json_str_or(prop.body, "risk", "?")
							    : "none: nothing changes");
		if (rb.len)
			ks_buf_appendstr(&out, rb.data);
		const cJSON *x;
		cJSON_ArrayForEach(x, ks_json_get(prop.body, "risks"))
			if (cJSON_IsString(x))
				ks_buf_appendf(&out, " %s.", x->valuestring);
		if (have_prop && ks_json_str(prop.body, "rollback"))
			ks_buf_appendf(&out, " Rollback: %s.", ks_json_str(prop.body, "rollback"));
		ks_buf_appendstr(&out, "\n");
	}
	if (sure) {
		const cJSON *c = cJSON_GetObjectItem(dec.body, "confidence");
		if (cJSON_IsNumber(c))
			ks_buf_appendf(&out, "How sure: confidence %.2f", c->valuedouble);
		else
			ks_buf_appendstr(&out, "How sure: nothing was chosen");
		if (have_prop && cJSON_IsNumber(ks_json_get(prop.body, "confidence")))
			ks_buf_appendf(&out, " (the proposer said %.2f)",
				       ks_json_get(prop.body, "confidence")->valuedouble);
		ks_buf_appendstr(&out, ".");
		if (sb.len)
			ks_buf_appendstr(&out, sb.data);
		const char *ev = ks_json_str(prop.body, "finding");
		if (ev)
			ks_buf_appendf(&out, " It rests on finding %s (%s).", ev,
				       ks_json_str_or(prop.body, "cause", ""));
		ks_buf_appendstr(&out, "\n");
	}
	ks_buf_release(&rb);
	ks_buf_release(&sb);
done:
	swarm_msg_release(&dec);
	swarm_msg_release(&prop);
	swarm__leave(s);
	*answer = ks_buf_detach(&out);
	*refs = r;
	return 0;
}
