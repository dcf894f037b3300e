/* apiclient.h — a small HTTP JSON client of the daemon's API (docs/API.md), for the CLI
 * (`kswarm plans`, `kswarm ask`) and the tests: one request, a JSON answer, and errors a
 * person can act on:
 *   daemon not running  KS_ENET        "cannot reach the kswarm daemon at URL: … (is
 *                                       `kswarm run` running? --server / $KSWARM_SERVER)"
 *   401                 KS_EFORBIDDEN  "…: the daemon wants a bearer token (--token-file or
 *                                       $KSWARM_TOKEN)" / "… rejected the token"
 *   404                 KS_ENOTFOUND   the daemon's {"error"} text
 *   400/409/403/413     KS_EINVAL / KS_ECONFLICT / KS_EFORBIDDEN / KS_ETOOBIG
 *   other statuses      KS_EHTTP
 * err->http_status carries the status. Answers are capped at APICLIENT_MAX_RESPONSE.
 * Plus the text renderings the CLI prints (pure functions, unit-tested).
 * Ownership: the client copies the URL and token; apiclient_call returns a tree the caller
 * deletes (cJSON_Delete). A client is used by one thread at a time. */
#ifndef KS_SERVER_APICLIENT_H
#define KS_SERVER_APICLIENT_H

#include <cjson/cJSON.h>

struct ks_buf;
struct ks_err;
struct apiclient;

#define APICLIENT_DEFAULT_SERVER "http://127.0.0.1:8080"
#define APICLIENT_MAX_RESPONSE ((size_t)32 << 20)
#define APICLIENT_TIMEOUT_MS 30000

struct apiclient_opts {
	const char *server;  /* base URL; NULL: $KSWARM_SERVER or APICLIENT_DEFAULT_SERVER */
	const char *token;   /* bearer token or NULL */
	long timeout_ms;     /* 0: APICLIENT_TIMEOUT_MS */
};

int apiclient_new(const struct apiclient_opts *o, struct apiclient **out, struct ks_err *err);
void apiclient_free(struct apiclient *c);
/* The base URL in use. */
const char *apiclient_server(const struct apiclient *c);

/* method "GET" or "POST"; path "/api/v1/plans" (query included, already encoded); body
 * NULL or a tree sent as JSON. On 2xx *out is the parsed answer (JSON null for an empty
 * one). */
int apiclient_call(struct apiclient *c, const char *method, const char *path,
		   const cJSON *body, cJSON **out, struct ks_err *err);

/* A token from a file (the first line, trimmed; at most 4 KiB) or, when path is NULL, from
 * $KSWARM_TOKEN; *out NULL when neither is given. Caller frees. */
int apiclient_load_token(const char *path, char **out, struct ks_err *err);

/* Text for people. plans_list: an array of {"plan_id","status","risk","title","created",…}
 * as a table; plan: one plan object (its fields, its steps); answer: {"answer","refs"}. */
void apiclient_format_plans(const cJSON *plans, struct ks_buf *out);
void apiclient_format_plan(const cJSON *plan, struct ks_buf *out);
void apiclient_format_answer(const cJSON *answer, struct ks_buf *out);

#endif
