/* explain.c — see explain.h.
 *
 * Steps of diag_explain:
 *   1. prepare: for each finding (at most max_findings) build the screened, masked prompt
 *      (diag_explain_prompt) and its cache key; a cache hit is unmasked at once and waits
 *      for its turn in `pending`;
 *   2. ask: one llm_run for all misses, max_concurrency at once; tokens are unmasked as they
 *      stream (struct diag_anon_stream) and shown in turn (show/advance below);
 *   3. store: answers into the findings and the results, misses into the cache, one error
 *      for all failures.
 *
 * Turns: `turn` is the finding whose text goes to on_text live. Text of a later finding is
 * appended to its `pending` buffer; when the finding in turn ends, the next one's pending
 * text is shown, and so on past every finding that already ended. */
#include "base/common.h"
#include "base/fileutil.h"
#include "base/json.h"
#include "diag/anonymize.h"
#include "diag/explain.h"
#include "world/world.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#define MAX_EVIDENCE_ITEMS 20
#define SECRET_DROPPED "[dropped: held a Secret value]"

const char diag_explain_system_prompt[] =
	"You explain Kubernetes problems to a site reliability engineer. You are given one "
	"finding of kswarm, a diagnostics tool, as JSON: its symptom, root cause, evidence, "
	"built-in explanation and remediation. Rewrite the explanation for an SRE in at most "
	"five sentences of plain text. Use only facts present in the JSON: do not invent names, "
	"values, causes or commands. Do not change the root cause or the remediation and do not "
	"propose another fix. Do not mention prices or costs. Words like name-1, namespace-1, "
	"image-1, log-1 or event-1 are placeholders for real values: keep them exactly as "
	"written.";

struct item {
	struct diag_finding *f;
	struct diag_anon anon;
	bool masked;
	struct diag_anon_stream unmask;
	char *user;          /* the user message */
	char key[65];        /* cache key, hex SHA-256 */
	char *cached;        /* the cached raw answer */
	struct ks_buf shown; /* the unmasked answer, as shown */
	struct ks_buf pending;
	bool ended;
	int rc;
};

struct explain {
	const struct diag_explain_opts *o;
	struct item *items;
	size_t n, turn;
};

/* ---- the prompt ---- */

/* Redact Secret values in every string of the tree. */
static void screen_secrets(struct world *w, cJSON *node)
{
	cJSON *it;
	cJSON_ArrayForEach(it, node) {
		if (!cJSON_IsString(it)) {
			screen_secrets(w, it);
			continue;
		}
		const char *s = it->valuestring;
		if (!world_text_has_secret(w, s, strlen(s)))
			continue;
		char *r = world_redact(w, s);
		bool still = world_text_has_secret(w, r, strlen(r));
		cJSON_SetValuestring(it, still ? SECRET_DROPPED : r);
		free(r);
	}
}

static void copy_member(cJSON *dst, const cJSON *src, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(src, key);
	if (v)
		cJSON_AddItemToObject(dst, key, cJSON_Duplicate(v, true));
}

/* What the LLM may see of a finding: no patch, no ids, no grouping keys. */
static cJSON *prompt_subset(const struct diag_finding *f)
{
	cJSON *fj = diag_finding_json(f);
	cJSON *p = cJSON_CreateObject();
	static const char *const keys[] = {"cause", "severity", "object", "symptom", "root_cause",
					   "explanation", "related", "affected_count"};
	for (size_t i = 0; i < KS_ARRAY_LEN(keys); i++)
		copy_member(p, fj, keys[i]);
	cJSON *ev = cJSON_AddArrayToObject(p, "evidence");
	const cJSON *it;
	int k = 0;
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(fj, "evidence")) {
		if (k++ >= MAX_EVIDENCE_ITEMS)
			break;
		cJSON_AddItemToArray(ev, cJSON_Duplicate(it, true));
	}
	const cJSON *rem = cJSON_GetObjectItemCaseSensitive(fj, "remediation");
	if (rem) {
		cJSON *r = cJSON_AddObjectToObject(p, "remediation");
		copy_member(r, rem, "type");
		copy_member(r, rem, "summary");
		copy_member(r, rem, "checks");
	}
	cJSON_Delete(fj);
	return p;
}

char *diag_explain_prompt(struct world *w, const struct diag_finding *f, struct diag_anon *anon)
{
	cJSON *p = prompt_subset(f);
	screen_secrets(w, p);
	if (anon) {
		cJSON *m = diag_anon_mask_json(anon, p);
		cJSON_Delete(p);
		p = m;
	}
	char *s = ks_json_print(p);
	cJSON_Delete(p);
	return s;
}

/* ---- the cache ---- */

static char *default_cache_dir(void)
{
	const char *xdg = getenv("XDG_CACHE_HOME");
	if (xdg && *xdg == '/')
		return ks_asprintf("%s/kswarm/explain", xdg);
	const char *home = getenv("HOME");
	if (home && *home == '/')
		return ks_asprintf("%s/.cache/kswarm/explain", home);
	return NULL;
}

static void cache_key(const char *model, const char *user, char out[65])
{
	struct ks_buf b;
	ks_buf_init(&b, KS_BUF_UNLIMITED);
	ks_buf_appendf(&b, "%s\n%s\n%s", model, diag_explain_system_prompt, user);
	unsigned char d[32];
	gnutls_hash_fast(GNUTLS_DIG_SHA256, b.data, b.len, d);
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
	ks_buf_release(&b);
}

static char *cache_read(const char *dir, const char *key)
{
	char *path = ks_asprintf("%s/%s", dir, key);
	struct ks_buf b;
	ks_buf_init(&b, LLM_MAX_ANSWER);
	char *s = ks_buf_read_file(&b, path, NULL) == 0 ? ks_buf_detach(&b) : NULL;
	ks_buf_release(&b);
	free(path);
	return s;
}

static void cache_write(const char *dir, const char *key, const char *text)
{
	struct ks_err err = {0};
	if (ks_mkdir_p(dir, 0700, &err)) {
		KS_DEBUG("explain", "cache: %s", err.msg);
		return;
	}
	char *path = ks_asprintf("%s/%s", dir, key);
	char *tmp = ks_asprintf("%s.%ld.tmp", path, (long)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	size_t n = strlen(text);
	bool ok = fd >= 0 && write(fd, text, n) == (ssize_t)n;
	if (fd >= 0 && close(fd))
		ok = false;
	if (!ok || rename(tmp, path)) {
		KS_DEBUG("explain", "cache %s: %s", path, strerror(errno));
		unlink(tmp);
	}
	free(tmp);
	free(path);
}

/* ---- streaming in turn ---- */

static void show(struct explain *x, size_t i, const char *text, size_t len)
{
	struct item *it = &x->items[i];
	if (!len)
		return;
	ks_buf_append(&it->shown, text, len);
	if (i == x->turn && x->o->on_text)
		x->o->on_text(x->o->ctx, i, text, len);
	else if (i != x->turn)
		ks_buf_append(&it->pending, text, len);
}

static void advance(struct explain *x)
{
	while (x->turn < x->n && x->items[x->turn].ended) {
		if (x->o->on_end)
			x->o->on_end(x->o->ctx, x->turn, x->items[x->turn].rc);
		x->turn++;
		if (x->turn < x->n) {
			struct item *next = &x->items[x->turn];
			struct ks_buf *p = &next->pending;
			if (p->len && x->o->on_text)
				x->o->on_text(x->o->ctx, x->turn, p->data, p->len);
			ks_buf_release(&next->pending);
		}
	}
}

static void feed_text(struct explain *x, size_t i, const char *text, size_t len, bool last)
{
	struct item *it = &x->items[i];
	if (!it->masked) {
		show(x, i, text, len);
		return;
	}
	struct ks_buf out;
	ks_buf_init(&out, KS_BUF_UNLIMITED);
	diag_anon_stream_feed(&it->unmask, text, len, &out);
	if (last)
		diag_anon_stream_finish(&it->unmask, &out);
	show(x, i, out.data, out.len);
	ks_buf_release(&out);
}

static void on_token(void *ctx, size_t i, const char *text, size_t len)
{
	feed_text(ctx, i, text, len, false);
}

static void on_done(void *ctx, size_t i, int rc, const struct ks_err *err)
{
	struct explain *x = ctx;
	feed_text(x, i, "", 0, true);
	x->items[i].ended = true;
	x->items[i].rc = rc;
	advance(x);
}

/* ---- diag_explain ---- */

void diag_explain_out_release(struct diag_explain_out *out)
{
	for (size_t i = 0; i < out->n; i++) {
		free(out->results[i].builtin);
		free(out->results[i].answer);
	}
	free(out->results);
	*out = (struct diag_explain_out){0};
}

int diag_explain(struct diag_report *rep, const struct llm_config *cfg,
		 const struct diag_explain_opts *o, struct ks_err *err)
{
	if (!o->world)
		return ks_err_set(err, KS_EINVAL,
				  "explain: no world to screen Secret values against");
	size_t max = o->max_findings ? o->max_findings : DIAG_EXPLAIN_MAX_FINDINGS;
	struct explain x = {.o = o, .n = rep->n < max ? rep->n : max};
	bool anonymize = o->anonymize == DIAG_ANONYMIZE_DEFAULT
				 ? !llm_url_is_loopback(cfg->base_url)
				 : o->anonymize == DIAG_ANONYMIZE_ON;
	char *dir = o->cache_dir ? (*o->cache_dir ? ks_strdup(o->cache_dir) : NULL)
				 : default_cache_dir();
	x.items = ks_calloc(x.n ? x.n : 1, sizeof *x.items);
	struct llm_message *msgs = ks_calloc(2 * (x.n ? x.n : 1), sizeof *msgs);
	struct llm_request *reqs = ks_calloc(x.n ? x.n : 1, sizeof *reqs);
	size_t n_req = 0, hits = 0;

	for (size_t i = 0; i < x.n; i++) {
		struct item *it = &x.items[i];
		it->f = rep->findings[i];
		it->masked = anonymize;
		diag_anon_init(&it->anon);
		diag_anon_stream_init(&it->unmask, &it->anon);
		ks_buf_init(&it->shown, LLM_MAX_ANSWER * 2);
		ks_buf_init(&it->pending, LLM_MAX_ANSWER * 2);
		it->user = diag_explain_prompt(o->world, it->f, anonymize ? &it->anon : NULL);
		cache_key(cfg->model, it->user, it->key);
		it->cached = dir ? cache_read(dir, it->key) : NULL;
	}
	/* Cache hits end at once (shown when their turn comes); misses are asked. */
	for (size_t i = 0; i < x.n; i++) {
		struct item *it = &x.items[i];
		if (it->cached) {
			hits++;
			feed_text(&x, i, it->cached, strlen(it->cached), true);
			it->ended = true;
			continue;
		}
		msgs[2 * i] = (struct llm_message){"system", diag_explain_system_prompt};
		msgs[2 * i + 1] = (struct llm_message){"user", it->user};
		reqs[n_req++] = (struct llm_request){.messages = &msgs[2 * i], .n_messages = 2,
						     .on_token = on_token, .on_done = on_done,
						     .ctx = &x, .index = i};
	}
	advance(&x);
	struct ks_err first = {0};
	if (n_req)
		llm_run(cfg, reqs, n_req, &first);

	size_t failed = 0;
	if (o->out) {
		*o->out = (struct diag_explain_out){
			.results = ks_calloc(x.n ? x.n : 1, sizeof *o->out->results),
			.n = x.n, .requests = n_req, .cache_hits = hits, .anonymized = anonymize,
		};
	}
	for (size_t r = 0; r < n_req; r++) {
		struct item *it = &x.items[reqs[r].index];
		if (reqs[r].rc)
			failed++;
		else if (dir && reqs[r].text.len)
			cache_write(dir, it->key, reqs[r].text.data);
		llm_request_release(&reqs[r]);
	}
	for (size_t i = 0; i < x.n; i++) {
		struct item *it = &x.items[i];
		bool ok = it->rc == 0 && it->shown.len;
		if (o->out) {
			struct diag_explain_result *res = &o->out->results[i];
			res->builtin = it->f->explanation ? ks_strdup(it->f->explanation) : NULL;
			res->answer = ok ? ks_strdup(it->shown.data) : NULL;
			res->cached = it->cached != NULL;
			res->rc = it->rc;
		}
		if (ok)
			diag_set_explanation(it->f, "%s", it->shown.data);
		diag_anon_stream_release(&it->unmask);
		diag_anon_release(&it->anon);
		ks_buf_release(&it->shown);
		ks_buf_release(&it->pending);
		free(it->user);
		free(it->cached);
	}
	int rc = 0;
	if (failed) {
		rc = first.code ? first.code : KS_EIO;
		ks_err_set(err, rc, "explain: %zu of %zu findings kept their built-in %s: %s",
			   failed, x.n, "explanation", first.msg);
	}
	free(x.items);
	free(msgs);
	free(reqs);
	free(dir);
	return rc;
}
