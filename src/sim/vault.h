/* vault.h — a simulated HashiCorp Vault speaking the KV version 2 HTTP API.
 *
 * The simulator's "the database password in the Secret differs from the vault" scenarios need
 * a Vault that kswarm's real Vault client (secrets/vault.h) can talk to unchanged, so this
 * server answers as Vault 1.15's kv-v2 backend does (hashicorp/vault-plugin-secrets-kv,
 * path_data.go and path_metadata.go; http/ of hashicorp/vault for the envelope and errors):
 *
 *   GET    /v1/sys/health                       200 health JSON (no token needed)
 *   GET    /v1/<mount>/data/<path>[?version=N]  200 {"data":{"data":{…},"metadata":{…}},…}
 *                                               404 {"errors":[]} when there is no such secret
 *                                               or version; 404 with the envelope and
 *                                               "data":null when the version is deleted or
 *                                               destroyed (as Vault)
 *   POST   /v1/<mount>/data/<path>  (or PUT)    {"data":{…},"options":{"cas":N}} → 200 with
 *                                               data = the new version's metadata; cas
 *                                               mismatch → 400 "check-and-set parameter did
 *                                               not match the current version"
 *   DELETE /v1/<mount>/data/<path>              204, soft-deletes the latest version
 *   GET    /v1/<mount>/metadata/<path>          200 key metadata (versions, current_version…)
 *   DELETE /v1/<mount>/metadata/<path>          204, removes the key and all its versions
 *   LIST   /v1/<mount>/metadata/<dir>           (or GET ?list=true) 200 {"data":{"keys":[…]}},
 *                                               folders with a trailing "/"; 404 when empty
 *
 * Every request but sys/health needs X-Vault-Token equal to the root token, else 403
 * {"errors":["permission denied"]}. Bodies end in "\n" as Go's json.Encoder writes them, maps
 * are printed with sorted keys and Go's escaping. Versions: max_versions 10 as Vault's default
 * (older versions are pruned from metadata). Ceilings: request body SIM_VAULT_MAX_BODY (413
 * "http: request body too large"), path after /v1/ SIM_VAULT_MAX_PATH (400).
 * Deviations from Vault are listed in vault.c's opening comment.
 *
 * Thread safety: one mutex guards the store; libmicrohttpd's threads and the simulator's
 * sim_vault_put/get may run at once.
 * Ownership: sim_vault copies everything it is given (token, mounts, data); sim_vault_get
 * returns a fresh tree the caller frees with cJSON_Delete; sim_vault_resp's body is the
 * caller's (release it with ks_buf_release). */
#ifndef KS_SIM_VAULT_H
#define KS_SIM_VAULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "base/buf.h"

struct ks_err;

#define SIM_VAULT_MAX_BODY ((size_t)1 << 20)
#define SIM_VAULT_MAX_PATH 1024
#define SIM_VAULT_MAX_VERSIONS 10
#define SIM_VAULT_MAX_MOUNTS 16

struct sim_vault_opts {
	uint16_t port;            /* on 127.0.0.1; 0: any free port (see sim_vault_port) */
	const char *root_token;   /* required */
	const char *const *mounts;/* kv-v2 mount names without slashes; NULL: {"secret"} */
	size_t n_mounts;
	bool no_listen;           /* no socket: requests only through sim_vault_handle (fuzzing) */
};

struct sim_vault;

int sim_vault_start(const struct sim_vault_opts *o, struct sim_vault **out, struct ks_err *err);
/* The port it listens on (0 with no_listen). */
uint16_t sim_vault_port(const struct sim_vault *v);
/* Stop serving and free everything. NULL is fine. */
void sim_vault_stop(struct sim_vault *v);

/* In-process access for the simulator (no token). put writes a new version of data (a JSON
 * object) as a write without cas does; version_out (may be NULL) gets its number. */
int sim_vault_put(struct sim_vault *v, const char *mount, const char *path, const cJSON *data,
		  int *version_out, struct ks_err *err);
/* The data of a version (0: the current one): KS_ENOTFOUND when the key, the version or its
 * data (deleted, destroyed, pruned) is missing. */
int sim_vault_get(struct sim_vault *v, const char *mount, const char *path, int version,
		  cJSON **data, struct ks_err *err);

/* One HTTP request as the server sees it, already split by libmicrohttpd: path without the
 * query string and percent-decoded, the two query arguments the API uses, the token header. */
struct sim_vault_req {
	const char *method;  /* "GET", "POST", "PUT", "DELETE", "LIST", "HEAD", … */
	const char *path;    /* "/v1/secret/data/app/db" */
	const char *version; /* ?version=, or NULL */
	const char *list;    /* ?list=, or NULL */
	const char *token;   /* X-Vault-Token, or NULL */
	const char *body;
	size_t body_len;
	bool body_too_large; /* the body passed SIM_VAULT_MAX_BODY and was dropped */
};

struct sim_vault_resp {
	int status;
	struct ks_buf body; /* JSON, empty for 204 */
};

/* Handle one request (the socket server calls this; so can tests and the fuzzer). resp is
 * initialised here. */
void sim_vault_handle(struct sim_vault *v, const struct sim_vault_req *req,
		      struct sim_vault_resp *resp);

#endif
