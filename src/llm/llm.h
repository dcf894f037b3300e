/* llm.h — a small streaming chat client for two LLM backends, used by `kswarm analyze
 * --explain` (src/diag/explain.c) to rewrite explanations for a person.
 *
 * Backends and the exact wire formats followed:
 *   LLM_OLLAMA  POST {base}/api/chat {"model","messages","stream":true,"options":{
 *               "temperature","num_predict"}} -> application/x-ndjson, one JSON object a line:
 *               {"model","created_at","message":{"role":"assistant","content":"…"},"done":false}
 *               … and a last {"done":true,"done_reason":"stop",…}. Errors: a non-2xx status
 *               with {"error":"…"}, or, once streaming began, a line {"error":"…"} under the
 *               200 already sent (docs.ollama.com/api/chat, /api/streaming, /api/errors).
 *   LLM_OPENAI  POST {base}/v1/chat/completions {"model","messages","stream":true,
 *               "temperature","max_tokens"} -> text/event-stream of data-only events
 *               "data: {chunk}\n\n", chunk.choices[0].delta.content holding the tokens, the
 *               stream ending with "data: [DONE]" (platform.openai.com/docs/api-reference/
 *               chat/create, "stream"). Non-2xx bodies are {"error":{"message","type",
 *               "code"}}; a mid-stream error is a data event holding {"error":{…}}.
 *   The event-stream framing follows the WHATWG HTML "Server-sent events" interpretation:
 *   lines end in CRLF, LF or CR; a line starting with ':' is a comment; "field: value" with
 *   one optional space after the colon; several data lines join with "\n"; an empty line
 *   dispatches the event; an unfinished event at the end of the stream is dropped.
 *
 * Configuration precedence (llm_config_load), lowest first:
 *   1. built-in defaults: ollama at http://127.0.0.1:11434, model "llama3.2" (openai:
 *      https://api.openai.com, "gpt-4o-mini"), timeout 120 s, connect timeout 10 s,
 *      2 retries, 4 requests at once, temperature 0.2, 512 tokens;
 *   2. the environment: KSWARM_LLM_BACKEND (ollama|openai), KSWARM_LLM_URL,
 *      KSWARM_LLM_MODEL, KSWARM_LLM_API_KEY_ENV (the NAME of the variable holding the key);
 *   3. flags (struct llm_flags, from the command line), which win.
 *   The API key is read from the variable named by api_key_env (default OPENAI_API_KEY for
 *   the openai backend, none for ollama). It is sent only as "Authorization: Bearer", never
 *   logged, never put in an error message, and never sent over plain http to a host other
 *   than loopback.
 *
 * Requests run in parallel over one curl multi handle, at most max_concurrency at once.
 * Retries: connect failures, 429 and 5xx are retried up to `retries` times with exponential
 * back-off (0.5 s, 1 s, 2 s… capped at 30 s) or after the server's Retry-After (seconds or
 * a date, capped at 60 s); never once a token was delivered (the reader has seen it).
 * Timeouts are not retried.
 *
 * Ownership: struct llm_config owns its strings (llm_config_release). A request's messages
 * are borrowed for the call; its result text belongs to the request (llm_request_release). */
#ifndef KS_LLM_LLM_H
#define KS_LLM_LLM_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"
#include "base/err.h"

enum llm_backend { LLM_OLLAMA, LLM_OPENAI };
const char *llm_backend_name(enum llm_backend b); /* "ollama" | "openai" */
int llm_backend_parse(const char *s, enum llm_backend *out);

struct llm_config {
	enum llm_backend backend;
	char *base_url;        /* "http://127.0.0.1:11434", no trailing path */
	char *model;
	char *api_key_env;     /* name of the environment variable holding the key, or NULL */
	char *api_key;         /* its value, or NULL; never logged */
	long timeout_ms;       /* whole request, streaming included */
	long connect_timeout_ms;
	int retries;           /* extra attempts on connect errors, 429 and 5xx */
	int max_concurrency;   /* requests in flight at once */
	double temperature;
	int max_tokens;        /* 0: the server's default */
};

/* What the command line gives; NULL fields are not set. */
struct llm_flags {
	const char *backend, *url, *model, *api_key_env;
};

void llm_config_defaults(struct llm_config *c, enum llm_backend b);
/* Defaults, then the environment, then flags (see the precedence above). */
int llm_config_load(struct llm_config *c, const struct llm_flags *flags, struct ks_err *err);
void llm_config_release(struct llm_config *c);
/* Whether the URL's host is loopback (localhost, 127.0.0.0/8, ::1). */
bool llm_url_is_loopback(const char *url);

struct llm_message {
	const char *role; /* "system", "user", "assistant" */
	const char *content;
};

/* Ceilings on what a server sends. */
#define LLM_MAX_ANSWER ((size_t)256 << 10)   /* the assembled answer */
#define LLM_MAX_LINE ((size_t)1 << 20)       /* one NDJSON line / one SSE event's data */
#define LLM_MAX_ERROR_BODY ((size_t)64 << 10)
#define LLM_CANCEL_POLL_MS 100

/* One chat request. Fill the inputs; llm_run fills the outputs. */
struct llm_request {
	const struct llm_message *messages;
	size_t n_messages;
	/* Each token as it arrives (from inside the transfer loop), and the end of the
	 * request (rc 0, or the KS_E* code with err filled). Both may be NULL. */
	void (*on_token)(void *ctx, size_t index, const char *text, size_t len);
	void (*on_done)(void *ctx, size_t index, int rc, const struct ks_err *err);
	void *ctx;
	size_t index;       /* passed back to the callbacks */
	/* Set from another thread to give up: the request ends with KS_ECANCELED within about
	 * LLM_CANCEL_POLL_MS (NULL: never). */
	const atomic_bool *cancel;
	/* out */
	struct ks_buf text; /* the whole answer (NUL-terminated) */
	int rc;
	struct ks_err err;
	int attempts;
	char done_reason[32]; /* "stop", "length", … when the server said */
};
void llm_request_release(struct llm_request *r);

/* Run n requests to completion, at most cfg->max_concurrency at once. Returns 0 when all
 * succeeded, else the code of the first failure (with its message in err). After a transport
 * failure that survived its retries (the server is not there), requests not yet started are
 * not sent: they fail with the same code. */
int llm_run(const struct llm_config *cfg, struct llm_request *reqs, size_t n,
	    struct ks_err *err);

/* ---- The stream parsers (exposed for the fuzz target and the tests) ----
 * Both are incremental: feed any split of the byte stream, the same items come out. */

/* NDJSON: on_line gets each non-empty line, without its "\n" or "\r\n". */
typedef int (*llm_line_fn)(void *ctx, const char *line, size_t len);
struct llm_ndjson {
	struct ks_buf line;
};
void llm_ndjson_init(struct llm_ndjson *p, size_t max_line);
int llm_ndjson_feed(struct llm_ndjson *p, const char *data, size_t n, llm_line_fn fn,
		    void *ctx, struct ks_err *err);
/* End of stream: a last line without "\n" still counts. */
int llm_ndjson_finish(struct llm_ndjson *p, llm_line_fn fn, void *ctx, struct ks_err *err);
void llm_ndjson_release(struct llm_ndjson *p);

/* Server-sent events: on_event gets the event type ("message" when none was named) and the
 * data (data lines joined by "\n"). Events without data are not dispatched. */
typedef int (*llm_event_fn)(void *ctx, const char *type, const char *data, size_t len);
struct llm_sse {
	struct ks_buf line, data;
	char type[64];
	bool after_cr;  /* the last byte was CR: an LF right after it ends nothing */
	bool started;   /* past a leading byte-order mark */
	bool has_data;
};
void llm_sse_init(struct llm_sse *p, size_t max);
int llm_sse_feed(struct llm_sse *p, const char *data, size_t n, llm_event_fn fn, void *ctx,
		 struct ks_err *err);
void llm_sse_release(struct llm_sse *p);

#endif
