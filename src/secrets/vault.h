/* vault.h — kswarm's client for HashiCorp Vault's KV version 2 secrets engine.
 *
 * Used against real Vaults and the simulator's (sim/vault.h) alike. Blocking libcurl easy
 * requests, one at a time (a client is not thread-safe; use one per thread).
 *   - the token goes only into the X-Vault-Token header, never into a log line or an error
 *     message (error text from the server is also scrubbed of it);
 *   - X-Vault-Namespace when a namespace is set (Vault Enterprise / HCP);
 *   - TLS: the system CAs, a CA file, a CA bundle in memory, or insecure (no verification);
 *   - redirects are not followed (a standby's 307 would carry the token elsewhere);
 *   - responses are capped at max_response bytes (KS_ETOOBIG past it).
 * Errors carry the HTTP status (err->http_status) and Vault's "errors" array joined by "; ":
 *   403 → KS_EFORBIDDEN, 404 → KS_ENOTFOUND (also a deleted or destroyed version),
 *   400 "check-and-set parameter did not match the current version" → KS_ECONFLICT,
 *   other 400 → KS_EINVAL, 413 → KS_ETOOBIG, other statuses → KS_EHTTP;
 *   transport failures → KS_ENET, KS_ETIMEOUT.
 * Ownership: the client copies its options; cJSON trees handed out are the caller's
 * (cJSON_Delete). */
#ifndef KS_SECRETS_VAULT_H
#define KS_SECRETS_VAULT_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

struct ks_err;

struct vault_opts {
	const char *addr;      /* "https://vault.example:8200" (VAULT_ADDR), no trailing /v1 */
	const char *token;     /* required */
	const char *namespace_name; /* X-Vault-Namespace, or NULL */
	const char *ca_file;   /* PEM file, or NULL */
	const void *ca_pem;    /* PEM bundle in memory, or NULL */
	size_t ca_len;
	bool insecure;         /* skip TLS verification */
	long timeout_ms;       /* whole request; 0: 30 s */
	long connect_timeout_ms; /* 0: 10 s */
	size_t max_response;   /* 0: 4 MiB */
};

struct vault_client;

int vault_client_new(const struct vault_opts *o, struct vault_client **out, struct ks_err *err);
void vault_client_free(struct vault_client *c);

/* Read a version (0: the current one) of mount/path: *data gets the secret's key/value
 * object, *version_out (may be NULL) its version number. */
int vault_kv2_read(struct vault_client *c, const char *mount, const char *path, int version,
		   cJSON **data, int *version_out, struct ks_err *err);
/* Write data (a JSON object) as a new version. cas < 0: unconditional; cas = 0: only when the
 * key does not exist; cas = N: only when the current version is N. *version_out (may be
 * NULL) gets the new version. */
int vault_kv2_write(struct vault_client *c, const char *mount, const char *path,
		    const cJSON *data, int cas, int *version_out, struct ks_err *err);
/* Soft-delete the current version (it can still be undeleted in Vault). */
int vault_kv2_delete(struct vault_client *c, const char *mount, const char *path,
		     struct ks_err *err);
/* The key names under dir ("" for the mount's root), folders ending in "/": *keys is a
 * JSON array of strings. An empty or missing folder is KS_ENOTFOUND, as Vault answers 404. */
int vault_kv2_list(struct vault_client *c, const char *mount, const char *dir, cJSON **keys,
		   struct ks_err *err);
/* The key's metadata object (current_version, versions, …). */
int vault_kv2_metadata(struct vault_client *c, const char *mount, const char *path,
		       cJSON **meta, struct ks_err *err);

#endif
