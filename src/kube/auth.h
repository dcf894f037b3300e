/* auth.h — the credential for the next request, from a resolved kube_config.
 *
 * Where it comes from, as client-go decides:
 *   - a token: tokenFile when set and readable (re-read when the file changes and at least
 *     every minute, for projected service-account tokens; a failed re-read keeps the last
 *     good token), else the inline token. With both set, client-go also prefers the file;
 *   - a client certificate and key (static PEM);
 *   - basic auth (username/password);
 *   - the exec plugin, only when none of the above is configured (client-go skips the plugin
 *     then, too). Its credential is cached until its expirationTimestamp (no expiry: until
 *     kube_auth_invalidate); a 401 from the server should call kube_auth_invalidate so the
 *     next kube_auth_get runs the plugin again.
 *
 * Exec plugin: run without a shell (fork/execve; a command without '/' is searched in
 * $PATH), with the configured args, its env added to kswarm's environment, and
 * KUBERNETES_EXEC_INFO holding the ExecCredential request ({"kind":"ExecCredential",
 * "apiVersion":..., "spec":{"interactive":false[,"cluster":{...}]}}). stdin is /dev/null,
 * so it is never interactive (interactiveMode Always is an error). stdout is read up to
 * KUBE_EXEC_STDOUT_MAX, stderr kept (truncated) for the error message; after the timeout
 * (kube_config.exec_timeout_ms) the plugin's process group is killed. The output must be
 * an ExecCredential of the configured apiVersion with status.token, or
 * status.clientCertificateData and status.clientKeyData (PEM text, not base64), and an
 * optional status.expirationTimestamp (RFC 3339).
 *
 * Errors never hold the token, key or password, nor the plugin's stdout or its args.
 * kube_auth_get and kube_auth_invalidate may be called from several threads; a plugin run
 * happens under the config's lock, so concurrent callers wait for one run.
 *
 * Ownership: a struct kube_credential owns its strings; kube_credential_release wipes and
 * frees them. */
#ifndef KS_KUBE_AUTH_H
#define KS_KUBE_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kube/kubeconfig.h"

struct ks_err;

#define KUBE_EXEC_STDOUT_MAX ((size_t)1 << 20)
#define KUBE_EXEC_STDERR_MAX ((size_t)4096)

struct kube_credential {
	char *token;		   /* bearer token (NUL-terminated), or NULL */
	struct kube_pem cert, key; /* client certificate and key, data NULL when none */
	char *username, *password; /* basic auth: both set (password may be ""), or NULL */
	int64_t expiry_ns;	   /* when an exec credential expires (Unix ns); 0: unknown */
	bool from_exec;		   /* obtained from the exec plugin */
	uint64_t generation;	   /* changes whenever the credential changes */
};

/* The credential to use now (copied into out; release it). out is zeroed first. */
int kube_auth_get(struct kube_config *cfg, struct kube_credential *out, struct ks_err *err);
/* The server refused the credential (401): drop the cached exec credential and re-read the
 * token file on the next kube_auth_get. */
void kube_auth_invalidate(struct kube_config *cfg);
void kube_credential_release(struct kube_credential *c);

/* Internal, used by kubeconfig.c: create and free the cache behind cfg->auth. */
void kube_auth_state_init(struct kube_config *cfg);
void kube_auth_state_free(struct kube_config *cfg);

/* Internal, for the fuzzer and tests: parse an ExecCredential (the plugin's stdout) that
 * must be of api_version, into out (zeroed first; release it). At most KUBE_EXEC_STDOUT_MAX
 * bytes. */
int kube_execcred_parse(const char *data, size_t len, const char *api_version,
			struct kube_credential *out, struct ks_err *err);
/* Internal: the KUBERNETES_EXEC_INFO value for cfg's exec plugin (caller frees). */
char *kube_exec_info_json(const struct kube_config *cfg);
/* Internal: run cfg's exec plugin once and parse its credential into out. */
int kube_exec_run(const struct kube_config *cfg, struct kube_credential *out, struct ks_err *err);

#endif
