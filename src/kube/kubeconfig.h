/* kubeconfig.h — find, parse, merge and resolve kubeconfig files as kubectl does.
 *
 * Loading rules (client-go's clientcmd):
 *   - opts.kubeconfig (--kubeconfig): that file only; it must exist.
 *   - else $KUBECONFIG: a ':'-separated list; empty entries and repeats are skipped, files
 *     that do not exist are skipped, any other read or parse error fails the load. Merging:
 *     for clusters, users and contexts the FIRST file that defines a name wins (the whole
 *     entry; nothing of a later entry with the same name is used); current-context comes
 *     from the first file that sets one.
 *   - else $HOME/.kube/config.
 *   - No kubeconfig found (or only empty ones), or no context chosen: when the in-cluster
 *     environment is present (KUBERNETES_SERVICE_HOST, KUBERNETES_SERVICE_PORT and a token
 *     file in the service-account directory) the in-cluster config is used.
 * opts.context (--context) overrides current-context; opts.namespace overrides the
 * context's namespace. Relative paths inside a file (certificate-authority,
 * client-certificate, client-key, tokenFile, and an exec command holding a '/') are
 * relative to that file's directory.
 *
 * Every stanza of every file is decoded (types, base64, duplicate names: an error, as
 * kubectl's); only the chosen context, its cluster and its user are checked further and
 * their files read. Errors name the file, line and column, and what is missing:
 * "kubeconfig /root/.kube/config:14:3: context 'prod' names cluster 'eks-prod', which is
 * not defined". No error message or log line ever holds a token, password or key.
 *
 * Ownership: kube_config_load fills a caller-provided struct kube_config whose strings and
 * buffers it owns; kube_config_release frees them (and the credential cache of kube/auth.h),
 * wiping secrets first. The opts strings are borrowed for the call. */
#ifndef KS_KUBE_KUBECONFIG_H
#define KS_KUBE_KUBECONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ks_err;
struct kube_auth_state;

/* Ceilings. A kubeconfig larger than KUBE_CONFIG_MAX_BYTES, or a referenced file (CA,
 * certificate, key, token) larger than KUBE_CONFIG_FILE_MAX_BYTES, is an error. */
#define KUBE_CONFIG_MAX_BYTES ((size_t)4 << 20)
#define KUBE_CONFIG_FILE_MAX_BYTES ((size_t)1 << 20)
#define KUBE_SA_DIR_DEFAULT "/var/run/secrets/kubernetes.io/serviceaccount"
#define KUBE_EXEC_TIMEOUT_MS_DEFAULT 60000

struct kube_config_opts {
	const char *kubeconfig; /* --kubeconfig; NULL: $KUBECONFIG, then $HOME/.kube/config */
	const char *context;	/* --context; NULL: current-context */
	const char *namespace;	/* --namespace; NULL: the context's (or "default") */
	/* In-cluster service-account directory; NULL: $KSWARM_SA_DIR, else KUBE_SA_DIR_DEFAULT. */
	const char *sa_dir;
	bool no_in_cluster;  /* never fall back to the in-cluster config */
	int exec_timeout_ms; /* exec credential plugin timeout; 0: 60 s */
};

/* PEM bytes, as libcurl's *_BLOB options take them. data is NULL when absent; when
 * present it is also NUL-terminated (the NUL not counted in len). */
struct kube_pem {
	char *data;
	size_t len;
};

enum kube_exec_interactive {
	KUBE_EXEC_INTERACTIVE_NEVER,
	KUBE_EXEC_INTERACTIVE_IF_AVAILABLE,
	KUBE_EXEC_INTERACTIVE_ALWAYS,
};

/* users[].user.exec: a client-go credential plugin. */
struct kube_exec_config {
	char *command; /* absolute when it held a '/' (resolved like the other paths) */
	char **args;   /* nargs strings */
	size_t nargs;
	char **env; /* nenv "NAME=value" strings, added to kswarm's environment */
	size_t nenv;
	char *api_version;  /* "client.authentication.k8s.io/v1" or ".../v1beta1" */
	char *install_hint; /* or NULL */
	bool provide_cluster_info;
	enum kube_exec_interactive interactive_mode;
	/* The cluster's extension "client.authentication.k8s.io/exec" as JSON (handed to the
	 * plugin in spec.cluster.config when provide_cluster_info), or NULL. */
	char *cluster_config_json;
};

enum kube_config_source {
	KUBE_CONFIG_FROM_FILE,
	KUBE_CONFIG_IN_CLUSTER,
};

struct kube_config {
	enum kube_config_source source;
	char *path;	    /* the file that defined the context; NULL in-cluster */
	char *context_name; /* NULL in-cluster */
	char *cluster_name; /* NULL in-cluster */
	char *user_name;    /* NULL in-cluster or when the context names no user */
	char *namespace;    /* never NULL: opts.namespace, the context's, or "default" */

	/* Server identity. */
	char *server;	       /* as written ("https://host:6443") */
	char *tls_server_name; /* or NULL */
	bool insecure_skip_tls_verify;
	bool disable_compression;
	char *proxy_url;    /* or NULL */
	struct kube_pem ca; /* CA bundle; data NULL: the system's roots */

	/* User identity as configured. Requests should take theirs from kube_auth_get(), which
	 * follows tokenFile rotation and runs the exec plugin. */
	char *token;	  /* inline token, or the token file's content at load; or NULL */
	char *token_file; /* absolute; re-read when it changes; or NULL */
	struct kube_pem client_cert, client_key;
	char *username, *password; /* basic auth: both set (password may be ""), or NULL */
	bool has_exec;
	struct kube_exec_config exec;

	int exec_timeout_ms;
	struct kube_auth_state *auth; /* private to kube/auth.c */
};

/* Find, merge and resolve the kubeconfig (see the top of this file). out is initialised
 * here; release it with kube_config_release, also after a failure. */
int kube_config_load(const struct kube_config_opts *opts, struct kube_config *out,
		     struct ks_err *err);
/* Free everything in cfg (secrets are wiped first); cfg may then be reused. */
void kube_config_release(struct kube_config *cfg);

/* Secrets: wipe, then free (NULL is fine). A PEM copy is NUL-terminated like the original. */
void kube_secret_free(char *s);
void kube_pem_free(struct kube_pem *p);
void kube_pem_copy(struct kube_pem *dst, const struct kube_pem *src);

/* Internal, for the fuzzer and tests: parse one kubeconfig held in memory (`path` names it
 * in messages and anchors its relative paths) with all of kube_config_load's decoding and,
 * when it sets a current-context, its checks of that context, cluster and user — without
 * reading any other file or running anything. */
int kube_config_parse_mem(const char *path, const char *data, size_t len, struct ks_err *err);

#endif
