/* explain.h — `kswarm analyze --explain`: an LLM rewrites each finding's explanation for a
 * person, streamed under the finding as it arrives.
 *
 * What the LLM gets, per finding (at most max_findings, in report order): a system message
 * (rewrite the given explanation for an SRE in at most five sentences, invent nothing, keep
 * the root cause and the remediation) and a user message holding, as JSON, the finding's
 * cause code, severity, object, symptom, root cause, built-in explanation, evidence (the
 * first 20 items), related objects, number of objects affected and the remediation's type,
 * summary and checks — never the patch itself. Before it leaves:
 *   1. every string is screened with world_text_has_secret: a string holding a Secret value
 *      is redacted (world_redact), and dropped whole if a value still shows;
 *   2. with anonymization (o->anonymize; by default on unless the endpoint is loopback),
 *      names, namespaces, uids, label values, images, hosts, log lines and event messages
 *      become placeholders (diag/anonymize.h), put back in the answer as it streams.
 * What comes back is only ever text for the explanation: the root cause, the remediation,
 * the evidence and any price stay what the analyzers found.
 *
 * Cache: one file per answer under cache_dir, named by the SHA-256 of the model and the
 * prompt (so a masked prompt gives a masked answer, unmasked again on the way out); a hit
 * sends no request. Files are written 0600 in a 0700 directory, atomically (rename).
 *
 * Output: the answers are stored into each finding's explanation (diag_set_explanation);
 * the built-in text and the answer are also kept in o->out->results[i] for the caller.
 * Streaming: on_text(ctx, i, text, len) receives finding i's unmasked answer in order —
 * finding 0 live as its tokens arrive, finding 1 (requested at the same time) buffered
 * until finding 0 ended, and so on; on_end(ctx, i, rc) follows the last text of finding i
 * (rc != 0: the built-in explanation stands; text may have been shown before the failure).
 *
 * Errors: when any request fails, the built-in explanations of those findings stand and
 * diag_explain returns the first failure's code with one message for all of them
 * ("explain: 3 of 5 findings kept their built-in explanation: LLM …: connection refused").
 *
 * Ownership: the report's findings are modified in place; results belong to out and are
 * freed with diag_explain_out_release. */
#ifndef KS_DIAG_EXPLAIN_H
#define KS_DIAG_EXPLAIN_H

#include <stdbool.h>
#include <stddef.h>

#include "diag/diag.h"
#include "llm/llm.h"

struct diag_anon;
struct ks_err;
struct world;

enum diag_anonymize { DIAG_ANONYMIZE_DEFAULT = -1, DIAG_ANONYMIZE_OFF = 0, DIAG_ANONYMIZE_ON = 1 };

struct diag_explain_result {
	char *builtin; /* the finding's explanation before (NULL: it had none) */
	char *answer;  /* the LLM's, unmasked (NULL: none; the built-in stands) */
	bool cached;
	int rc;        /* 0, or why there is no answer */
};

struct diag_explain_out {
	struct diag_explain_result *results; /* one per finding explained, in report order */
	size_t n;
	size_t requests;   /* sent to the LLM (retries not counted) */
	size_t cache_hits;
	bool anonymized;   /* what the tri-state resolved to */
};
void diag_explain_out_release(struct diag_explain_out *out);

#define DIAG_EXPLAIN_MAX_FINDINGS 10

struct diag_explain_opts {
	struct world *world;          /* required: Secret values are screened against it */
	enum diag_anonymize anonymize;
	const char *cache_dir;        /* NULL: $XDG_CACHE_HOME/kswarm/explain or
				       * ~/.cache/kswarm/explain; "": no cache */
	size_t max_findings;          /* 0: DIAG_EXPLAIN_MAX_FINDINGS */
	void (*on_text)(void *ctx, size_t finding, const char *text, size_t len);
	void (*on_end)(void *ctx, size_t finding, int rc);
	void *ctx;
	struct diag_explain_out *out; /* may be NULL */
};

int diag_explain(struct diag_report *rep, const struct llm_config *cfg,
		 const struct diag_explain_opts *o, struct ks_err *err);

/* The prompt's user message for one finding, screened and (with anon) masked; exposed for
 * tests and `--explain --dry-run` style previews. Caller frees. */
char *diag_explain_prompt(struct world *w, const struct diag_finding *f, struct diag_anon *anon);
extern const char diag_explain_system_prompt[];

#endif
