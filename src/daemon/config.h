/* config.h — the daemon's configuration file (`kswarm run --config kswarm.yaml`).
 * Every field, its default and an example: docs/CONFIG.md. A bad file is refused whole
 * with FILE:LINE:COL: field: what (nothing is started).
 *
 *   cluster: {name: prod-eu, kubeconfig: /etc/kswarm/kubeconfig, context: prod}
 *   store: /var/lib/kswarm/kswarm.db
 *   listen: 127.0.0.1:8080
 *   auth: {token_file: /etc/kswarm/token, auth_reads: false}
 *   policies: /etc/kswarm/policy.yaml
 *   interval: 30s
 *   prometheus: http://127.0.0.1:9090
 *   goals: {uptime: 99.99%, cut_cost: true, min_savings_usd: 5}
 *   spot: keep
 *   llm: {backend: ollama, url: http://127.0.0.1:11434, model: llama3.1, narrate: true}
 *   vault: {addr: http://127.0.0.1:8200, token_file: /etc/kswarm/vault-token}
 *   secret_sources:
 *     - {secret: payments/db-secret, key: password,
 *        vault: {mount: secret, path: payments/db, field: password}}
 *   helm: {bin: /usr/local/bin/helm}
 *   gitops: {repo: /srv/gitops, dir: kswarm}
 *   events: /etc/kswarm/events.json
 *   verify_timeout: 5m
 *   notify:
 *     - {type: slack, url_file: /etc/kswarm/slack-url, per_minute: 10}
 *     - {type: webhook, url: https://hooks.example/kswarm, token_file: /etc/kswarm/hook-token,
 *        headers: {X-Team: sre}}
 * Secrets (the bearer token, the Vault token, a Slack webhook URL) are named by file, never
 * written in the file.
 *
 * Ownership: a struct daemon_config owns its strings (daemon_config_release). */
#ifndef KS_DAEMON_CONFIG_H
#define KS_DAEMON_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "daemon/notify.h"

struct ks_err;

#define DAEMON_CONFIG_MAX_BYTES (1024 * 1024)
#define DAEMON_CONFIG_MAX_SOURCES 256

struct daemon_config {
	char *path;            /* the file read, or NULL for defaults only */
	char *cluster;         /* NULL: the kubeconfig context's name */
	char *kubeconfig, *context;
	char *store;           /* default ~/.local/state/kswarm/kswarm.db */
	char *listen;          /* default 127.0.0.1:8080 */
	char *token_file;      /* NULL: no auth (only allowed on a loopback listen address) */
	bool auth_reads;
	char *policies;        /* NULL: built-in default set (dry-run, nothing automatic) */
	double interval_s;     /* default 30 */
	char *prometheus;
	double uptime_target;  /* default 0.9999 */
	bool cut_cost;         /* default true */
	double min_savings_usd;/* default 5 */
	char *spot;            /* keep | prefer | never; default keep */
	char *llm_backend, *llm_url, *llm_model, *llm_api_key_env;
	bool llm_narrate;      /* the LLM explains key messages as they come; default true */
	char *vault_addr, *vault_token_file, *vault_namespace;
	char *secret_sources;  /* JSON array text as swarm_opts wants it, or NULL */
	size_t nsecret_sources;
	char *helm_bin;
	char *gitops_repo, *gitops_dir;
	char *events;
	double verify_timeout_s; /* default 300 */
	struct notify_sink notify[NOTIFY_MAX_SINKS]; /* notification sinks (notify.h) */
	size_t nnotify;
};

/* The defaults (no file). */
void daemon_config_defaults(struct daemon_config *c);
/* Parse a config held in memory (name for messages); all or nothing. */
int daemon_config_parse(const char *name, const char *data, size_t len, struct daemon_config *c,
			struct ks_err *err);
/* Read and parse path (at most DAEMON_CONFIG_MAX_BYTES). */
int daemon_config_load(const char *path, struct daemon_config *c, struct ks_err *err);
void daemon_config_release(struct daemon_config *c);
/* Whether a listen address ("127.0.0.1:8080", "[::1]:80", "localhost:8080") is loopback. */
bool daemon_listen_is_loopback(const char *listen);

#endif
