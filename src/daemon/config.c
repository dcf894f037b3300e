/* config.c — reading kswarm.yaml (see config.h and docs/CONFIG.md). The file is parsed into
 * a kcyaml tree and checked field by field with kube/yschema, so every error points at a
 * line and column; the result is filled only when the whole file is valid. */
#include "base/common.h"
#include "daemon/config.h"

#include "base/alloc.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/json.h"
#include "base/strutil.h"
#include "base/timeutil.h"
#include "kube/yschema.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void daemon_config_defaults(struct daemon_config *c)
{
	*c = (struct daemon_config){
		.listen = ks_strdup("127.0.0.1:8080"),
		.interval_s = 30,
		.uptime_target = 0.9999,
		.cut_cost = true,
		.llm_narrate = true,
		.min_savings_usd = 5,
		.spot = ks_strdup("keep"),
		.verify_timeout_s = 300,
	};
	const char *home = getenv("HOME");
	c->store = ks_asprintf("%s/.local/state/kswarm/kswarm.db", home && *home ? home : ".");
}

void daemon_config_release(struct daemon_config *c)
{
	char **strs[] = {&c->path,	  &c->cluster,	      &c->kubeconfig,	   &c->context,
			 &c->store,	  &c->listen,	      &c->token_file,	   &c->policies,
			 &c->prometheus,  &c->spot,	      &c->llm_backend,	   &c->llm_url,
			 &c->llm_model,	  &c->llm_api_key_env, &c->vault_addr,	   &c->vault_token_file,
			 &c->vault_namespace, &c->secret_sources, &c->helm_bin,    &c->gitops_repo,
			 &c->gitops_dir,  &c->events};
	for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
		free(*strs[i]);
	for (size_t i = 0; i < c->nnotify; i++)
		notify_sink_release(&c->notify[i]);
	*c = (struct daemon_config){0};
}

/* ---- field checks ---- */

/* A string field: a path, URL or name (no control characters, 1..4096 bytes). */
static int take_text(const struct kube_ysrc *x, const struct kube_ynode *n, const char *field,
		     char **out)
{
	int rc = kube_ys_string(x, n, field, false, false, 4096);
	if (rc)
		return rc;
	free(*out);
	*out = ks_strdup(n->str);
	return 0;
}

/* A name: printable ASCII without spaces, 1..253 bytes. */
static int take_token(const struct kube_ysrc *x, const struct kube_ynode *n, const char *field,
		      char **out)
{
	int rc = kube_ys_string(x, n, field, true, false, 253);
	if (rc)
		return rc;
	free(*out);
	*out = ks_strdup(n->str);
	return 0;
}

static int take_duration(const struct kube_ysrc *x, const struct kube_ynode *n,
			 const char *field, double lo, double hi, double *out)
{
	int rc = kube_ys_type(x, n, field, KUBE_Y_SCALAR);
	if (rc)
		return rc;
	struct ks_err derr = {0};
	double s;
	if (ks_parse_duration(n->str, &s, &derr))
		return kube_ys_bad(x, n, field, "'%s' is not a duration (like 30s, 5m, 1h)",
				   n->str);
	if (!(s >= lo && s <= hi))
		return kube_ys_bad(x, n, field, "%s is not between %gs and %gs", n->str, lo, hi);
	*out = s;
	return 0;
}

static int parse_cluster(const struct kube_ysrc *x, const struct kube_ynode *n,
			 struct daemon_config *c)
{
	static const char *const keys[] = {"name", "kubeconfig", "context", NULL};
	int rc = kube_ys_map(x, n, "cluster", keys);
	const struct kube_ynode *v;
	if (!rc && (v = kube_ys_member(n, "name")))
		rc = take_token(x, v, "cluster.name", &c->cluster);
	if (!rc && (v = kube_ys_member(n, "kubeconfig")))
		rc = take_text(x, v, "cluster.kubeconfig", &c->kubeconfig);
	if (!rc && (v = kube_ys_member(n, "context")))
		rc = take_token(x, v, "cluster.context", &c->context);
	if (!rc && c->cluster && strlen(c->cluster) > 63)
		rc = kube_ys_bad(x, kube_ys_member(n, "name"), "cluster.name",
				 "must be at most 63 bytes (it names the cluster in messages)");
	return rc;
}

static int parse_auth(const struct kube_ysrc *x, const struct kube_ynode *n,
		      struct daemon_config *c)
{
	static const char *const keys[] = {"token_file", "auth_reads", NULL};
	int rc = kube_ys_map(x, n, "auth", keys);
	const struct kube_ynode *v;
	if (!rc && (v = kube_ys_member(n, "token_file")))
		rc = take_text(x, v, "auth.token_file", &c->token_file);
	if (!rc && (v = kube_ys_member(n, "auth_reads")))
		rc = kube_ys_bool(x, v, "auth.auth_reads", &c->auth_reads);
	return rc;
}

static int parse_goals(const struct kube_ysrc *x, const struct kube_ynode *n,
		       struct daemon_config *c)
{
	static const char *const keys[] = {"uptime", "cut_cost", "min_savings_usd", NULL};
	int rc = kube_ys_map(x, n, "goals", keys);
	const struct kube_ynode *v;
	if (!rc && (v = kube_ys_member(n, "uptime"))) {
		double pct;
		rc = kube_ys_decimal(x, v, "goals.uptime", true, 50, 100, &pct);
		c->uptime_target = pct / 100;
	}
	if (!rc && (v = kube_ys_member(n, "cut_cost")))
		rc = kube_ys_bool(x, v, "goals.cut_cost", &c->cut_cost);
	if (!rc && (v = kube_ys_member(n, "min_savings_usd")))
		rc = kube_ys_decimal(x, v, "goals.min_savings_usd", false, 0, 1e9,
				     &c->min_savings_usd);
	return rc;
}

static int parse_llm(const struct kube_ysrc *x, const struct kube_ynode *n,
		     struct daemon_config *c)
{
	static const char *const keys[] = {"backend", "url", "model", "api_key_env", "narrate",
					   NULL};
	int rc = kube_ys_map(x, n, "llm", keys);
	const struct kube_ynode *v;
	if (!rc && (v = kube_ys_member(n, "backend"))) {
		rc = take_token(x, v, "llm.backend", &c->llm_backend);
		if (!rc && strcmp(c->llm_backend, "ollama") && strcmp(c->llm_backend, "openai"))
			rc = kube_ys_bad(x, v, "llm.backend", "'%s' is not ollama or openai",
					 c->llm_backend);
	}
	if (!rc && (v = kube_ys_member(n, "url")))
		rc = take_text(x, v, "llm.url", &c->llm_url);
	if (!rc && (v = kube_ys_member(n, "model")))
		rc = take_token(x, v, "llm.model", &c->llm_model);
	if (!rc && (v = kube_ys_member(n, "api_key_env")))
		rc = take_token(x, v, "llm.api_key_env", &c->llm_api_key_env);
	if (!rc && (v = kube_ys_member(n, "narrate")))
		rc = kube_ys_bool(x, v, "llm.narrate", &c->llm_narrate);
	return rc;
}

static int parse_vault(const struct kube_ysrc *x, const struct kube_ynode *n,
		       struct daemon_config *c)
{
	static const char *const keys[] = {"addr", "token_file", "namespace", NULL};
	int rc = kube_ys_map(x, n, "vault", keys);
	const struct kube_ynode *v;
	if (!rc && !kube_ys_member(n, "addr"))
		rc = kube_ys_bad(x, n, "vault", "'addr' is required");
	if (!rc && (v = kube_ys_member(n, "addr")))
		rc = take_text(x, v, "vault.addr", &c->vault_addr);
	if (!rc && (v = kube_ys_member(n, "token_file")))
		rc = take_text(x, v, "vault.token_file", &c->vault_token_file);
	if (!rc && (v = kube_ys_member(n, "namespace")))
		rc = take_token(x, v, "vault.namespace", &c->vault_namespace);
	return rc;
}

/* "namespace/name" of a Secret: two DNS names. */
static bool secret_ref_valid(const char *s)
{
	const char *slash = strchr(s, '/');
	if (!slash || slash == s || !slash[1] || strchr(slash + 1, '/'))
		return false;
	for (const char *p = s; *p; p++)
		if (p != slash && !((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
				    *p == '-' || *p == '.'))
			return false;
	return true;
}

static int parse_source(const struct kube_ysrc *x, const struct kube_ynode *n, size_t i,
			cJSON *out)
{
	char field[96];
	snprintf(field, sizeof field, "secret_sources[%zu]", i);
	static const char *const keys[] = {"secret", "key", "vault", NULL};
	static const char *const vkeys[] = {"mount", "path", "field", NULL};
	int rc = kube_ys_map(x, n, field, keys);
	const char *need[] = {"secret", "key", "vault"};
	for (size_t k = 0; !rc && k < 3; k++)
		if (!kube_ys_member(n, need[k]))
			rc = kube_ys_bad(x, n, field, "'%s' is required", need[k]);
	if (rc)
		return rc;
	const struct kube_ynode *secret = kube_ys_member(n, "secret"),
				*key = kube_ys_member(n, "key"), *vault = kube_ys_member(n, "vault");
	char sub[128];
	snprintf(sub, sizeof sub, "%s.secret", field);
	if ((rc = kube_ys_string(x, secret, sub, true, false, 253)))
		return rc;
	if (!secret_ref_valid(secret->str))
		return kube_ys_bad(x, secret, sub, "'%s' is not NAMESPACE/NAME of a Secret",
				   secret->str);
	snprintf(sub, sizeof sub, "%s.key", field);
	if ((rc = kube_ys_string(x, key, sub, true, false, 253)))
		return rc;
	snprintf(sub, sizeof sub, "%s.vault", field);
	if ((rc = kube_ys_map(x, vault, sub, vkeys)))
		return rc;
	cJSON *src = cJSON_CreateObject();
	for (size_t k = 0; k < 3; k++) {
		const struct kube_ynode *v = kube_ys_member(vault, vkeys[k]);
		snprintf(sub, sizeof sub, "%s.vault.%s", field, vkeys[k]);
		if (!v)
			rc = kube_ys_bad(x, vault, sub, "is required");
		if (!rc)
			rc = kube_ys_string(x, v, sub, true, false, 512);
		if (rc) {
			cJSON_Delete(src);
			return rc;
		}
		cJSON_AddStringToObject(src, vkeys[k], v->str);
	}
	cJSON *item = cJSON_CreateObject();
	cJSON_AddStringToObject(item, "secret", secret->str);
	cJSON_AddStringToObject(item, "key", key->str);
	cJSON_AddItemToObject(item, "vault", src);
	cJSON_AddItemToArray(out, item);
	return 0;
}

static int parse_sources(const struct kube_ysrc *x, const struct kube_ynode *n,
			 struct daemon_config *c)
{
	int rc = kube_ys_type(x, n, "secret_sources", KUBE_Y_SEQ);
	if (rc)
		return rc;
	if (n->n > DAEMON_CONFIG_MAX_SOURCES)
		return kube_ys_bad(x, n, "secret_sources", "more than %d sources",
				   DAEMON_CONFIG_MAX_SOURCES);
	cJSON *arr = cJSON_CreateArray();
	for (size_t i = 0; !rc && i < n->n; i++)
		rc = parse_source(x, n->kids[i], i, arr);
	if (!rc) {
		free(c->secret_sources);
		c->secret_sources = ks_json_print(arr);
		c->nsecret_sources = n->n;
	}
	cJSON_Delete(arr);
	return rc;
}

/* An HTTP header name (RFC 9110 token) and a value without control characters. */
static bool header_name_valid(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || strchr("!#$%&'*+-.^_`|~", *s)))
			return false;
	return true;
}

static int parse_sink(const struct kube_ysrc *x, const struct kube_ynode *n, size_t i,
		      struct notify_sink *out)
{
	char field[64], sub[128];
	snprintf(field, sizeof field, "notify[%zu]", i);
	static const char *const keys[] = {"type",	 "url",	    "url_file", "token_file",
					   "headers", "per_minute", NULL};
	int rc = kube_ys_map(x, n, field, keys);
	const struct kube_ynode *v;
	if (rc)
		return rc;
	if (!(v = kube_ys_member(n, "type")))
		return kube_ys_bad(x, n, field, "'type' is required (slack or webhook)");
	snprintf(sub, sizeof sub, "%s.type", field);
	if ((rc = kube_ys_string(x, v, sub, true, false, 32)))
		return rc;
	if (!strcmp(v->str, "slack"))
		out->kind = NOTIFY_SLACK;
	else if (!strcmp(v->str, "webhook"))
		out->kind = NOTIFY_WEBHOOK;
	else
		return kube_ys_bad(x, v, sub, "'%s' is not slack or webhook", v->str);
	const struct kube_ynode *url = kube_ys_member(n, "url"),
				*url_file = kube_ys_member(n, "url_file");
	if (!url == !url_file)
		return kube_ys_bad(x, n, field, "exactly one of 'url' and 'url_file' is needed");
	if (url) {
		snprintf(sub, sizeof sub, "%s.url", field);
		if ((rc = take_token(x, url, sub, &out->url)))
			return rc;
		if (strncmp(out->url, "http://", 7) && strncmp(out->url, "https://", 8))
			return kube_ys_bad(x, url, sub, "must start with http:// or https://");
	} else {
		snprintf(sub, sizeof sub, "%s.url_file", field);
		if ((rc = take_text(x, url_file, sub, &out->url_file)))
			return rc;
	}
	if ((v = kube_ys_member(n, "token_file"))) {
		snprintf(sub, sizeof sub, "%s.token_file", field);
		if ((rc = take_text(x, v, sub, &out->token_file)))
			return rc;
	}
	out->per_minute = NOTIFY_DEFAULT_PER_MINUTE;
	if ((v = kube_ys_member(n, "per_minute"))) {
		int64_t pm;
		snprintf(sub, sizeof sub, "%s.per_minute", field);
		if ((rc = kube_ys_int(x, v, sub, 1, 6000, &pm)))
			return rc;
		out->per_minute = (int)pm;
	}
	if ((v = kube_ys_member(n, "headers"))) {
		snprintf(sub, sizeof sub, "%s.headers", field);
		if ((rc = kube_ys_type(x, v, sub, KUBE_Y_MAP)))
			return rc;
		if (v->n / 2 > NOTIFY_MAX_HEADERS)
			return kube_ys_bad(x, v, sub, "more than %d headers", NOTIFY_MAX_HEADERS);
		for (size_t k = 0; k + 1 < v->n; k += 2) {
			const struct kube_ynode *name = v->kids[k], *val = v->kids[k + 1];
			if ((rc = kube_ys_string(x, name, sub, true, false, 128)))
				return rc;
			snprintf(sub, sizeof sub, "%s.headers.%s", field, name->str);
			if (!header_name_valid(name->str))
				return kube_ys_bad(x, name, sub, "not an HTTP header name");
			if (!strcasecmp(name->str, "Authorization") ||
			    !strcasecmp(name->str, "Content-Type"))
				return kube_ys_bad(x, name, sub,
						   "set by kswarm (use token_file for a bearer "
						   "token)");
			if ((rc = kube_ys_string(x, val, sub, false, true, 1024)))
				return rc;
			out->headers[out->nheaders++] = ks_asprintf("%s: %s", name->str, val->str);
			snprintf(sub, sizeof sub, "%s.headers", field);
		}
	}
	return 0;
}

static int parse_notify(const struct kube_ysrc *x, const struct kube_ynode *n,
			struct daemon_config *c)
{
	int rc = kube_ys_type(x, n, "notify", KUBE_Y_SEQ);
	if (rc)
		return rc;
	if (n->n > NOTIFY_MAX_SINKS)
		return kube_ys_bad(x, n, "notify", "more than %d sinks", NOTIFY_MAX_SINKS);
	struct notify_sink sinks[NOTIFY_MAX_SINKS] = {0};
	for (size_t i = 0; !rc && i < n->n; i++)
		rc = parse_sink(x, n->kids[i], i, &sinks[i]);
	if (rc) {
		for (size_t i = 0; i < n->n; i++)
			notify_sink_release(&sinks[i]);
		return rc;
	}
	for (size_t i = 0; i < c->nnotify; i++)
		notify_sink_release(&c->notify[i]);
	memcpy(c->notify, sinks, sizeof sinks);
	c->nnotify = n->n;
	return 0;
}

static int parse_pair(const struct kube_ysrc *x, const struct kube_ynode *n, const char *field,
		      const char *k1, char **v1, const char *k2, char **v2)
{
	const char *keys[] = {k1, k2, NULL};
	int rc = kube_ys_map(x, n, field, keys);
	const struct kube_ynode *v;
	char sub[64];
	snprintf(sub, sizeof sub, "%s.%s", field, k1);
	if (!rc && (v = kube_ys_member(n, k1)))
		rc = take_text(x, v, sub, v1);
	snprintf(sub, sizeof sub, "%s.%s", field, k2);
	if (!rc && k2 && (v = kube_ys_member(n, k2)))
		rc = take_text(x, v, sub, v2);
	return rc;
}

static int parse_root(const struct kube_ysrc *x, const struct kube_ynode *root,
		      struct daemon_config *c)
{
	static const char *const keys[] = {
		"cluster", "store",  "listen",	   "auth",    "policies",	"interval",
		"prometheus", "goals", "spot",	   "llm",     "vault",		"secret_sources",
		"helm",	   "gitops", "events",	   "verify_timeout", "notify", NULL};
	int rc = kube_ys_map(x, root, "", keys);
	const struct kube_ynode *v;
	if (!rc && (v = kube_ys_member(root, "cluster")))
		rc = parse_cluster(x, v, c);
	if (!rc && (v = kube_ys_member(root, "store")))
		rc = take_text(x, v, "store", &c->store);
	if (!rc && (v = kube_ys_member(root, "listen")))
		rc = take_token(x, v, "listen", &c->listen);
	if (!rc && (v = kube_ys_member(root, "auth")))
		rc = parse_auth(x, v, c);
	if (!rc && (v = kube_ys_member(root, "policies")))
		rc = take_text(x, v, "policies", &c->policies);
	if (!rc && (v = kube_ys_member(root, "interval")))
		rc = take_duration(x, v, "interval", 1, 86400, &c->interval_s);
	if (!rc && (v = kube_ys_member(root, "prometheus")))
		rc = take_text(x, v, "prometheus", &c->prometheus);
	if (!rc && (v = kube_ys_member(root, "goals")))
		rc = parse_goals(x, v, c);
	if (!rc && (v = kube_ys_member(root, "spot"))) {
		rc = take_token(x, v, "spot", &c->spot);
		if (!rc && strcmp(c->spot, "keep") && strcmp(c->spot, "prefer") &&
		    strcmp(c->spot, "never"))
			rc = kube_ys_bad(x, v, "spot", "'%s' is not keep, prefer or never", c->spot);
	}
	if (!rc && (v = kube_ys_member(root, "llm")))
		rc = parse_llm(x, v, c);
	if (!rc && (v = kube_ys_member(root, "vault")))
		rc = parse_vault(x, v, c);
	if (!rc && (v = kube_ys_member(root, "secret_sources")))
		rc = parse_sources(x, v, c);
	if (!rc && (v = kube_ys_member(root, "helm")))
		rc = parse_pair(x, v, "helm", "bin", &c->helm_bin, NULL, NULL);
	if (!rc && (v = kube_ys_member(root, "gitops"))) {
		rc = parse_pair(x, v, "gitops", "repo", &c->gitops_repo, "dir", &c->gitops_dir);
		if (!rc && !c->gitops_repo)
			rc = kube_ys_bad(x, v, "gitops", "'repo' is required");
	}
	if (!rc && (v = kube_ys_member(root, "events")))
		rc = take_text(x, v, "events", &c->events);
	if (!rc && (v = kube_ys_member(root, "verify_timeout")))
		rc = take_duration(x, v, "verify_timeout", 1, 86400, &c->verify_timeout_s);
	if (!rc && (v = kube_ys_member(root, "notify")))
		rc = parse_notify(x, v, c);
	if (!rc && c->nsecret_sources && !c->vault_addr)
		rc = kube_ys_bad(x, kube_ys_member(root, "secret_sources"), "secret_sources",
				 "needs a 'vault' section to read them from");
	return rc;
}

int daemon_config_parse(const char *name, const char *data, size_t len, struct daemon_config *c,
			struct ks_err *err)
{
	if (len > DAEMON_CONFIG_MAX_BYTES)
		return ks_err_set(err, KS_ETOOBIG, "%s: larger than %d bytes", name,
				  DAEMON_CONFIG_MAX_BYTES);
	struct kube_yaml y;
	struct ks_err yerr = {0};
	if (kube_yaml_parse(data, len, &y, &yerr))
		return ks_err_set(err, KS_EINVAL, "%s:%s", name, yerr.msg);
	struct daemon_config nc;
	daemon_config_defaults(&nc);
	struct kube_ysrc x = {.name = name, .err = err};
	int rc = y.root && !kube_ynode_is_null(y.root) ? parse_root(&x, y.root, &nc) : 0;
	kube_yaml_free(&y);
	if (rc) {
		daemon_config_release(&nc);
		return rc;
	}
	nc.path = ks_strdup(name);
	daemon_config_release(c);
	*c = nc;
	return 0;
}

int daemon_config_load(const char *path, struct daemon_config *c, struct ks_err *err)
{
	struct ks_buf b;
	ks_buf_init(&b, DAEMON_CONFIG_MAX_BYTES);
	int rc = ks_buf_read_file(&b, path, err);
	if (!rc)
		rc = daemon_config_parse(path, b.data ? b.data : "", b.len, c, err);
	ks_buf_release(&b);
	return rc;
}

bool daemon_listen_is_loopback(const char *listen)
{
	if (!strncmp(listen, "127.", 4) || !strncmp(listen, "[::1]:", 6) ||
	    !strncmp(listen, "localhost:", 10))
		return true;
	return false;
}
