/* kubeconfig.c — kubeconfig loading (clientcmd's rules), decoding, merging and resolving.
 * See kubeconfig.h for the rules; kcyaml.c gives the YAML tree with positions, auth.c the
 * credentials. Nothing here prints a token, password, key or *-data value. */
#include "base/common.h"
#include "base/strutil.h"
#include "kube/kubeconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/base64.h"
#include "base/hashmap.h"
#include "kube/auth.h"
#include "kube/kcyaml.h"

/* Work allowed when walking one file's tree (aliases can make a small file a big tree). */
#define KC_WALK_BUDGET 1000000L
#define KC_EXEC_EXT_NAME "client.authentication.k8s.io/exec"
#define KC_EXEC_V1 "client.authentication.k8s.io/v1"
#define KC_EXEC_V1BETA1 "client.authentication.k8s.io/v1beta1"

struct pos {
	int line, col;
};

struct kc_file;

struct kc_cluster {
	char *name;
	struct pos pos;
	struct kc_file *file;
	char *server;
	char *tls_server_name;
	bool insecure;
	bool disable_compression;
	char *ca_file; /* absolute */
	struct pos ca_file_pos;
	struct kube_pem ca_data;
	char *proxy_url;
	struct pos proxy_pos;
	char *exec_ext_json;
};

struct kc_exec {
	bool present;
	struct pos pos;
	char *command;
	char **args;
	size_t nargs, capargs;
	char **env;
	size_t nenv, capenv;
	struct pos env_noname_pos; /* line 0: every env entry has a name */
	char *api_version;
	struct pos api_pos;
	char *install_hint;
	bool provide_cluster_info;
	char *interactive_mode;
	struct pos im_pos;
};

struct kc_user {
	char *name;
	struct pos pos;
	struct kc_file *file;
	char *cert_file, *key_file, *token_file; /* absolute */
	struct pos cert_file_pos, key_file_pos, token_file_pos;
	struct kube_pem cert_data, key_data;
	char *token;
	char *username, *password;
	char *auth_provider; /* its name ("" when unnamed); NULL: none */
	struct pos auth_provider_pos;
	struct pos impersonate_pos; /* line 0: no impersonation */
	struct kc_exec exec;
};

struct kc_context {
	char *name;
	struct pos pos;
	struct kc_file *file;
	char *cluster, *user, *namespace;
	struct pos cluster_pos, user_pos;
};

struct kc_file {
	char *path;
	char *dir; /* absolute directory, for relative paths */
	char *current_context;
	struct pos cc_pos;
	struct kc_cluster *clusters;
	size_t nclusters, capclusters;
	struct kc_user *users;
	size_t nusers, capusers;
	struct kc_context *contexts;
	size_t ncontexts, capcontexts;
	struct ks_map cluster_idx, user_idx, context_idx; /* name -> index + 1 */
};

/* ---- small helpers ---------------------------------------------------------------------- */

void kube_secret_free(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

void kube_pem_free(struct kube_pem *p)
{
	if (p->data) {
		explicit_bzero(p->data, p->len);
		free(p->data);
	}
	p->data = NULL;
	p->len = 0;
}

void kube_pem_copy(struct kube_pem *dst, const struct kube_pem *src)
{
	dst->data = NULL;
	dst->len = 0;
	if (src->data) {
		dst->data = ks_malloc(src->len + 1);
		memcpy(dst->data, src->data, src->len);
		dst->data[src->len] = '\0';
		dst->len = src->len;
	}
}

static char *dup_or_null(const char *s)
{
	return s ? ks_strdup(s) : NULL;
}

static bool has_pem_block(const char *p, size_t len)
{
	static const char begin[] = "-----BEGIN ";
	return p && memmem(p, len, begin, sizeof begin - 1) != NULL;
}

/* Read a whole small file. Returns 0, or an errno value (EFBIG past max). */
static int read_small_file(const char *path, size_t max, struct ks_buf *b)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno;
	struct stat st;
	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		close(fd);
		return EISDIR;
	}
	ks_buf_init(b, max);
	char chunk[16384];
	int rc = 0;
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof chunk);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = errno;
			break;
		}
		if (n == 0)
			break;
		if (ks_buf_append(b, chunk, (size_t)n)) {
			rc = EFBIG;
			break;
		}
	}
	explicit_bzero(chunk, sizeof chunk);
	close(fd);
	if (rc) {
		if (b->data)
			explicit_bzero(b->data, b->len);
		ks_buf_release(b);
	} else if (!b->data) {
		ks_buf_append(b, "", 0);
	}
	return rc;
}

static const char *read_errstr(int e, size_t max, char *buf, size_t n)
{
	if (e == EFBIG)
		snprintf(buf, n, "larger than the %zu-byte limit", max);
	else
		snprintf(buf, n, "%s", strerror(e));
	return buf;
}


__attribute__((format(printf, 4, 5))) static int ferr(struct ks_err *err, int code,
						      const char *where, const char *fmt, ...)
{
	char msg[KS_ERR_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return ks_err_set(err, code, "kubeconfig %s: %s", where, msg);
}

/* "kubeconfig FILE:LINE:COL: message" */
__attribute__((format(printf, 5, 6))) static int
perr(struct ks_err *err, int code, const struct kc_file *f, struct pos at, const char *fmt, ...)
{
	char msg[KS_ERR_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (at.line > 0)
		return ks_err_set(err, code, "kubeconfig %s:%d:%d: %s", f->path, at.line, at.col,
				  msg);
	return ks_err_set(err, code, "kubeconfig %s: %s", f->path, msg);
}

static struct pos npos(const struct kube_ynode *n)
{
	struct pos p = {n ? n->line : 0, n ? n->col : 0};
	return p;
}

/* ---- decoding one file ------------------------------------------------------------------ */

struct pctx {
	struct kc_file *f;
	struct ks_err *err;
	long budget;
};

struct fld {
	const char *key;
	const struct kube_ynode *k, *v;
};

static int spend(struct pctx *p, const struct kube_ynode *at)
{
	if (--p->budget >= 0)
		return 0;
	return perr(p->err, KS_ETOOBIG, p->f, npos(at),
		    "too many nodes to walk (aliases expand to more than %ld)", KC_WALK_BUDGET);
}

/* Pick the known keys of a mapping (others are ignored, as kubectl's decoder does). A key
 * given twice is an error naming both lines. */
static int fields(struct pctx *p, const struct kube_ynode *map, const char *what, struct fld *f,
		  size_t nf)
{
	if (kube_ynode_is_null(map))
		return 0;
	if (map->type != KUBE_Y_MAP)
		return perr(p->err, KS_EINVAL, p->f, npos(map), "%s must be a mapping", what);
	for (size_t i = 0; i + 1 < map->n; i += 2) {
		const struct kube_ynode *k = map->kids[i];
		if (spend(p, k))
			return KS_ETOOBIG;
		if (k->type != KUBE_Y_SCALAR)
			continue;
		if (k->plain && !strcmp(k->str, "<<"))
			return perr(p->err, KS_EUNSUPPORTED, p->f, npos(k),
				    "YAML merge keys (<<) are not supported in %s", what);
		for (size_t j = 0; j < nf; j++) {
			if (strcmp(k->str, f[j].key) || strlen(k->str) != k->len)
				continue;
			if (f[j].k)
				return perr(p->err, KS_EINVAL, p->f, npos(k),
					    "duplicate key '%s' in %s (first at line %d)", f[j].key,
					    what, f[j].k->line);
			f[j].k = k;
			f[j].v = map->kids[i + 1];
		}
	}
	return 0;
}

static int get_str(struct pctx *p, const struct fld *f, const char *what, char **out)
{
	const struct kube_ynode *v = f->v;
	if (kube_ynode_is_null(v))
		return 0;
	if (v->type != KUBE_Y_SCALAR)
		return perr(p->err, KS_EINVAL, p->f, npos(v), "%s: %s must be a string", what,
			    f->key);
	if (strlen(v->str) != v->len)
		return perr(p->err, KS_EINVAL, p->f, npos(v), "%s: %s holds a NUL character", what,
			    f->key);
	kube_secret_free(*out);
	*out = ks_strdup(v->str);
	return 0;
}

static int get_bool(struct pctx *p, const struct fld *f, const char *what, bool *out)
{
	static const char *yes[] = {"true", "True", "TRUE", "yes", "Yes", "YES",
				    "on",   "On",   "ON",   "y",   "Y"};
	static const char *no[] = {"false", "False", "FALSE", "no", "No", "NO",
				   "off",   "Off",   "OFF",   "n",  "N"};
	const struct kube_ynode *v = f->v;
	*out = false;
	if (kube_ynode_is_null(v))
		return 0;
	if (v->type == KUBE_Y_SCALAR && v->plain) {
		for (size_t i = 0; i < KS_ARRAY_LEN(yes); i++)
			if (!strcmp(v->str, yes[i])) {
				*out = true;
				return 0;
			}
		for (size_t i = 0; i < KS_ARRAY_LEN(no); i++)
			if (!strcmp(v->str, no[i]))
				return 0;
	}
	return perr(p->err, KS_EINVAL, p->f, npos(v), "%s: %s must be true or false", what, f->key);
}

/* A *-data field: base64 of PEM. The bytes are never quoted back in a message. */
static int get_b64(struct pctx *p, const struct fld *f, const char *what, struct kube_pem *out)
{
	const struct kube_ynode *v = f->v;
	if (kube_ynode_is_null(v))
		return 0;
	if (v->type != KUBE_Y_SCALAR)
		return perr(p->err, KS_EINVAL, p->f, npos(v), "%s: %s must be a base64 string",
			    what, f->key);
	unsigned char *bytes = NULL;
	size_t n = 0;
	struct ks_err e = {0};
	if (ks_base64_decode(v->str, v->len, &bytes, &n, &e))
		return perr(p->err, KS_EINVAL, p->f, npos(v), "%s: %s is not valid base64: %s",
			    what, f->key, e.msg);
	kube_pem_free(out);
	out->data = (char *)bytes;
	out->len = n;
	return 0;
}

static int get_str_list(struct pctx *p, const struct fld *f, const char *what, char ***out,
			size_t *n, size_t *cap)
{
	const struct kube_ynode *v = f->v;
	if (kube_ynode_is_null(v))
		return 0;
	if (v->type != KUBE_Y_SEQ)
		return perr(p->err, KS_EINVAL, p->f, npos(v), "%s: %s must be a list of strings",
			    what, f->key);
	for (size_t i = 0; i < v->n; i++) {
		const struct kube_ynode *it = v->kids[i];
		if (spend(p, it))
			return KS_ETOOBIG;
		if (it->type != KUBE_Y_SCALAR || strlen(it->str) != it->len)
			return perr(p->err, KS_EINVAL, p->f, npos(it),
				    "%s: %s must be a list of strings", what, f->key);
		*out = ks_grow(*out, sizeof **out, *n + 1, cap);
		(*out)[(*n)++] = ks_strdup(kube_ynode_is_null(it) ? "" : it->str);
	}
	return 0;
}

/* A path relative to the file's directory, as clientcmd's ResolvePaths. */
static char *resolve_path(const struct kc_file *f, const char *s)
{
	if (!s || !*s || s[0] == '/')
		return dup_or_null(s);
	while (s[0] == '.' && s[1] == '/')
		s += 2;
	return ks_asprintf("%s/%s", f->dir, s);
}

static int get_path(struct pctx *p, const struct fld *f, const char *what, char **out,
		    struct pos *at)
{
	char *s = NULL;
	int rc = get_str(p, f, what, &s);
	if (rc || !s)
		return rc;
	free(*out);
	*out = s[0] ? resolve_path(p->f, s) : NULL;
	free(s);
	*at = npos(f->v);
	return 0;
}

/* One entry of clusters/users/contexts: {name: ..., <inner>: {...}}. */
static int named_entry(struct pctx *p, const struct kube_ynode *item, const char *list,
		       const char *inner, size_t idx, char **name, const struct kube_ynode **body)
{
	char what[64];
	snprintf(what, sizeof what, "%s[%zu]", list, idx);
	struct fld f[] = {{.key = "name"}, {.key = inner}};
	if (kube_ynode_is_null(item) || item->type != KUBE_Y_MAP)
		return perr(p->err, KS_EINVAL, p->f, npos(item),
			    "%s must be a mapping with name and %s", what, inner);
	int rc = fields(p, item, what, f, KS_ARRAY_LEN(f));
	if (!rc)
		rc = get_str(p, &f[0], what, name);
	if (!*name)
		*name = ks_strdup(""); /* kubectl accepts it; nothing can refer to it */
	*body = f[1].v;
	return rc;
}

/* Register a name in this file; a second definition is an error (as kubectl's decoder). */
static int register_name(struct pctx *p, struct ks_map *idx, const char *kind, const char *name,
			 size_t i, struct pos at)
{
	void *prev = ks_map_get(idx, name);
	if (prev) {
		size_t j = (size_t)(uintptr_t)prev - 1;
		int first_line = 0;
		if (!strcmp(kind, "cluster"))
			first_line = p->f->clusters[j].pos.line;
		else if (!strcmp(kind, "user"))
			first_line = p->f->users[j].pos.line;
		else
			first_line = p->f->contexts[j].pos.line;
		return perr(p->err, KS_EINVAL, p->f, at,
			    "%s '%s' is defined twice in this file (first at line %d)", kind, name,
			    first_line);
	}
	ks_map_put(idx, name, (void *)(uintptr_t)(i + 1));
	return 0;
}

static int decode_extensions_exec(struct pctx *p, const struct fld *f, const char *what,
				  char **json)
{
	const struct kube_ynode *v = f->v;
	if (kube_ynode_is_null(v))
		return 0;
	if (v->type != KUBE_Y_SEQ)
		return perr(p->err, KS_EINVAL, p->f, npos(v), "%s: extensions must be a list",
			    what);
	for (size_t i = 0; i < v->n; i++) {
		const struct kube_ynode *it = v->kids[i];
		struct fld ef[] = {{.key = "name"}, {.key = "extension"}};
		char *name = NULL;
		int rc = spend(p, it);
		if (!rc)
			rc = fields(p, it, what, ef, KS_ARRAY_LEN(ef));
		if (!rc)
			rc = get_str(p, &ef[0], what, &name);
		if (!rc && name && !strcmp(name, KC_EXEC_EXT_NAME) &&
		    !kube_ynode_is_null(ef[1].v)) {
			struct ks_buf b;
			struct ks_err e = {0};
			ks_buf_init(&b, KUBE_CONFIG_FILE_MAX_BYTES);
			rc = kube_yaml_to_json(ef[1].v, &b, &p->budget, &e);
			if (rc) {
				ks_buf_release(&b);
				rc = ks_err_set(p->err, rc, "kubeconfig %s:%s", p->f->path, e.msg);
			} else {
				free(*json);
				*json = ks_buf_detach(&b);
			}
		}
		free(name);
		if (rc)
			return rc;
	}
	return 0;
}

static int decode_cluster(struct pctx *p, struct kc_cluster *c, const struct kube_ynode *body)
{
	char what[300];
	snprintf(what, sizeof what, "cluster '%.200s'", c->name);
	struct fld f[] = {
		{.key = "server"},
		{.key = "tls-server-name"},
		{.key = "insecure-skip-tls-verify"},
		{.key = "certificate-authority"},
		{.key = "certificate-authority-data"},
		{.key = "proxy-url"},
		{.key = "disable-compression"},
		{.key = "extensions"},
	};
	int rc = fields(p, body, what, f, KS_ARRAY_LEN(f));
	if (!rc)
		rc = get_str(p, &f[0], what, &c->server);
	if (!rc)
		rc = get_str(p, &f[1], what, &c->tls_server_name);
	if (!rc)
		rc = get_bool(p, &f[2], what, &c->insecure);
	if (!rc)
		rc = get_path(p, &f[3], what, &c->ca_file, &c->ca_file_pos);
	if (!rc)
		rc = get_b64(p, &f[4], what, &c->ca_data);
	if (!rc)
		rc = get_str(p, &f[5], what, &c->proxy_url);
	c->proxy_pos = npos(f[5].v);
	if (!rc)
		rc = get_bool(p, &f[6], what, &c->disable_compression);
	if (!rc)
		rc = decode_extensions_exec(p, &f[7], what, &c->exec_ext_json);
	return rc;
}

static int decode_exec(struct pctx *p, struct kc_exec *x, const struct kube_ynode *body,
		       const char *what)
{
	struct fld f[] = {
		{.key = "command"},	    {.key = "args"},	    {.key = "env"},
		{.key = "apiVersion"},	    {.key = "installHint"}, {.key = "provideClusterInfo"},
		{.key = "interactiveMode"},
	};
	x->present = true;
	x->pos = npos(body);
	int rc = fields(p, body, what, f, KS_ARRAY_LEN(f));
	if (!rc)
		rc = get_str(p, &f[0], what, &x->command);
	if (!rc && x->command && strchr(x->command, '/')) {
		char *abs = resolve_path(p->f, x->command);
		free(x->command);
		x->command = abs;
	}
	if (!rc)
		rc = get_str_list(p, &f[1], what, &x->args, &x->nargs, &x->capargs);
	if (!rc && !kube_ynode_is_null(f[2].v)) {
		const struct kube_ynode *env = f[2].v;
		if (env->type != KUBE_Y_SEQ)
			return perr(p->err, KS_EINVAL, p->f, npos(env),
				    "%s: exec env must be a list of {name, value}", what);
		for (size_t i = 0; i < env->n && !rc; i++) {
			struct fld ef[] = {{.key = "name"}, {.key = "value"}};
			char *name = NULL, *value = NULL;
			rc = spend(p, env->kids[i]);
			if (!rc)
				rc = fields(p, env->kids[i], what, ef, KS_ARRAY_LEN(ef));
			if (!rc)
				rc = get_str(p, &ef[0], what, &name);
			if (!rc)
				rc = get_str(p, &ef[1], what, &value);
			if (!rc) {
				if ((!name || !*name) && x->env_noname_pos.line == 0)
					x->env_noname_pos = npos(env->kids[i]);
				x->env = ks_grow(x->env, sizeof *x->env, x->nenv + 1, &x->capenv);
				x->env[x->nenv++] =
					ks_asprintf("%s=%s", name ? name : "", value ? value : "");
			}
			free(name);
			kube_secret_free(value);
		}
	}
	if (!rc)
		rc = get_str(p, &f[3], what, &x->api_version);
	x->api_pos = f[3].v ? npos(f[3].v) : x->pos;
	if (!rc)
		rc = get_str(p, &f[4], what, &x->install_hint);
	if (!rc)
		rc = get_bool(p, &f[5], what, &x->provide_cluster_info);
	if (!rc)
		rc = get_str(p, &f[6], what, &x->interactive_mode);
	x->im_pos = f[6].v ? npos(f[6].v) : x->pos;
	return rc;
}

static int decode_user(struct pctx *p, struct kc_user *u, const struct kube_ynode *body)
{
	char what[300];
	snprintf(what, sizeof what, "user '%.200s'", u->name);
	struct fld f[] = {
		{.key = "client-certificate"},
		{.key = "client-certificate-data"},
		{.key = "client-key"},
		{.key = "client-key-data"},
		{.key = "token"},
		{.key = "tokenFile"},
		{.key = "username"},
		{.key = "password"},
		{.key = "auth-provider"},
		{.key = "exec"},
		{.key = "as"},
		{.key = "as-uid"},
		{.key = "as-groups"},
		{.key = "as-user-extra"},
	};
	int rc = fields(p, body, what, f, KS_ARRAY_LEN(f));
	if (!rc)
		rc = get_path(p, &f[0], what, &u->cert_file, &u->cert_file_pos);
	if (!rc)
		rc = get_b64(p, &f[1], what, &u->cert_data);
	if (!rc)
		rc = get_path(p, &f[2], what, &u->key_file, &u->key_file_pos);
	if (!rc)
		rc = get_b64(p, &f[3], what, &u->key_data);
	if (!rc)
		rc = get_str(p, &f[4], what, &u->token);
	if (!rc)
		rc = get_path(p, &f[5], what, &u->token_file, &u->token_file_pos);
	if (!rc)
		rc = get_str(p, &f[6], what, &u->username);
	if (!rc)
		rc = get_str(p, &f[7], what, &u->password);
	if (!rc && !kube_ynode_is_null(f[8].v)) {
		struct fld af[] = {{.key = "name"}};
		rc = fields(p, f[8].v, what, af, KS_ARRAY_LEN(af));
		if (!rc)
			rc = get_str(p, &af[0], what, &u->auth_provider);
		if (!u->auth_provider)
			u->auth_provider = ks_strdup("");
		u->auth_provider_pos = npos(f[8].v);
	}
	if (!rc && !kube_ynode_is_null(f[9].v))
		rc = decode_exec(p, &u->exec, f[9].v, what);
	for (size_t i = 10; i < 14 && !rc; i++) {
		const struct kube_ynode *v = f[i].v;
		bool empty = kube_ynode_is_null(v) || (v->type == KUBE_Y_SCALAR && v->len == 0) ||
			     (v->type != KUBE_Y_SCALAR && v->n == 0);
		if (!empty && u->impersonate_pos.line == 0)
			u->impersonate_pos = npos(f[i].k);
	}
	/* Empty strings mean unset, as in kubectl (len(x) > 0 checks). */
	if (u->token && !*u->token) {
		free(u->token);
		u->token = NULL;
	}
	return rc;
}

static int decode_context(struct pctx *p, struct kc_context *c, const struct kube_ynode *body)
{
	char what[300];
	snprintf(what, sizeof what, "context '%.200s'", c->name);
	struct fld f[] = {
		{.key = "cluster"}, {.key = "user"}, {.key = "namespace"}, {.key = "extensions"}};
	int rc = fields(p, body, what, f, KS_ARRAY_LEN(f));
	if (!rc)
		rc = get_str(p, &f[0], what, &c->cluster);
	c->cluster_pos = f[0].v ? npos(f[0].v) : c->pos;
	if (!rc)
		rc = get_str(p, &f[1], what, &c->user);
	c->user_pos = f[1].v ? npos(f[1].v) : c->pos;
	if (!rc)
		rc = get_str(p, &f[2], what, &c->namespace);
	return rc;
}

static int decode_list(struct pctx *p, const struct fld *f, int kind)
{
	static const char *lists[] = {"clusters", "users", "contexts"};
	static const char *inner[] = {"cluster", "user", "context"};
	const struct kube_ynode *v = f->v;
	struct kc_file *kf = p->f;
	if (kube_ynode_is_null(v))
		return 0;
	if (v->type != KUBE_Y_SEQ)
		return perr(p->err, KS_EINVAL, kf, npos(v), "%s must be a list", lists[kind]);
	for (size_t i = 0; i < v->n; i++) {
		const struct kube_ynode *item = v->kids[i], *body = NULL;
		char *name = NULL;
		int rc = spend(p, item);
		if (!rc)
			rc = named_entry(p, item, lists[kind], inner[kind], i, &name, &body);
		if (rc) {
			free(name);
			return rc;
		}
		struct pos at = npos(item);
		if (kind == 0) {
			kf->clusters = ks_grow(kf->clusters, sizeof *kf->clusters,
					       kf->nclusters + 1, &kf->capclusters);
			struct kc_cluster *c = &kf->clusters[kf->nclusters++];
			memset(c, 0, sizeof *c);
			c->name = name;
			c->pos = at;
			c->file = kf;
			rc = register_name(p, &kf->cluster_idx, "cluster", name, kf->nclusters - 1,
					   at);
			if (!rc)
				rc = decode_cluster(p, c, body);
		} else if (kind == 1) {
			kf->users = ks_grow(kf->users, sizeof *kf->users, kf->nusers + 1,
					    &kf->capusers);
			struct kc_user *u = &kf->users[kf->nusers++];
			memset(u, 0, sizeof *u);
			u->name = name;
			u->pos = at;
			u->file = kf;
			rc = register_name(p, &kf->user_idx, "user", name, kf->nusers - 1, at);
			if (!rc)
				rc = decode_user(p, u, body);
		} else {
			kf->contexts = ks_grow(kf->contexts, sizeof *kf->contexts,
					       kf->ncontexts + 1, &kf->capcontexts);
			struct kc_context *c = &kf->contexts[kf->ncontexts++];
			memset(c, 0, sizeof *c);
			c->name = name;
			c->pos = at;
			c->file = kf;
			rc = register_name(p, &kf->context_idx, "context", name, kf->ncontexts - 1,
					   at);
			if (!rc)
				rc = decode_context(p, c, body);
		}
		if (rc)
			return rc;
	}
	return 0;
}

static void exec_free(struct kc_exec *x)
{
	free(x->command);
	for (size_t i = 0; i < x->nargs; i++)
		kube_secret_free(x->args[i]);
	free(x->args);
	for (size_t i = 0; i < x->nenv; i++)
		kube_secret_free(x->env[i]);
	free(x->env);
	free(x->api_version);
	free(x->install_hint);
	free(x->interactive_mode);
}

static void kc_file_free(struct kc_file *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->nclusters; i++) {
		struct kc_cluster *c = &f->clusters[i];
		free(c->name);
		free(c->server);
		free(c->tls_server_name);
		free(c->ca_file);
		kube_pem_free(&c->ca_data);
		kube_secret_free(c->proxy_url);
		free(c->exec_ext_json);
	}
	for (size_t i = 0; i < f->nusers; i++) {
		struct kc_user *u = &f->users[i];
		free(u->name);
		free(u->cert_file);
		free(u->key_file);
		free(u->token_file);
		kube_pem_free(&u->cert_data);
		kube_pem_free(&u->key_data);
		kube_secret_free(u->token);
		free(u->username);
		kube_secret_free(u->password);
		free(u->auth_provider);
		exec_free(&u->exec);
	}
	for (size_t i = 0; i < f->ncontexts; i++) {
		struct kc_context *c = &f->contexts[i];
		free(c->name);
		free(c->cluster);
		free(c->user);
		free(c->namespace);
	}
	free(f->clusters);
	free(f->users);
	free(f->contexts);
	ks_map_release(&f->cluster_idx);
	ks_map_release(&f->user_idx);
	ks_map_release(&f->context_idx);
	free(f->current_context);
	free(f->path);
	free(f->dir);
	free(f);
}

static char *abs_dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir;
	if (!slash)
		dir = ks_strdup(".");
	else if (slash == path)
		dir = ks_strdup("/");
	else
		dir = ks_strndup(path, (size_t)(slash - path));
	if (dir[0] == '/')
		return dir;
	char cwd[PATH_MAX];
	if (!getcwd(cwd, sizeof cwd))
		return dir;
	char *abs = strcmp(dir, ".") ? ks_asprintf("%s/%s", cwd, dir) : ks_strdup(cwd);
	free(dir);
	return abs;
}

/* Decode one kubeconfig from memory. */
static int parse_file(const char *path, const char *data, size_t len, struct kc_file **out,
		      struct ks_err *err)
{
	*out = NULL;
	struct kc_file *f = ks_calloc(1, sizeof *f);
	f->path = ks_strdup(path);
	f->dir = abs_dir_of(path);
	ks_map_init(&f->cluster_idx);
	ks_map_init(&f->user_idx);
	ks_map_init(&f->context_idx);
	if (len > KUBE_CONFIG_MAX_BYTES) {
		int rc = ferr(err, KS_ETOOBIG, path, "%zu bytes is larger than the %zu-byte limit",
			      len, KUBE_CONFIG_MAX_BYTES);
		kc_file_free(f);
		return rc;
	}
	struct kube_yaml y;
	struct ks_err e = {0};
	if (kube_yaml_parse(data, len, &y, &e)) {
		int rc = ks_err_set(err, e.code ? e.code : KS_EINVAL,
				    "kubeconfig %s:%s (YAML syntax)", path, e.msg);
		kc_file_free(f);
		return rc;
	}
	struct pctx p = {.f = f, .err = err, .budget = KC_WALK_BUDGET};
	struct fld top[] = {
		{.key = "apiVersion"}, {.key = "kind"},	    {.key = "clusters"},
		{.key = "users"},      {.key = "contexts"}, {.key = "current-context"},
	};
	int rc = 0;
	if (y.root && !kube_ynode_is_null(y.root) && y.root->type != KUBE_Y_MAP)
		rc = perr(err, KS_EINVAL, f, npos(y.root),
			  "not a kubeconfig: the document must be a mapping");
	if (!rc)
		rc = fields(&p, y.root, "the kubeconfig", top, KS_ARRAY_LEN(top));
	char *s = NULL;
	if (!rc)
		rc = get_str(&p, &top[0], "the kubeconfig", &s);
	if (!rc && s && *s && strcmp(s, "v1"))
		rc = perr(err, KS_EINVAL, f, npos(top[0].v),
			  "apiVersion '%.100s' is not supported (only v1)", s);
	free(s);
	s = NULL;
	if (!rc)
		rc = get_str(&p, &top[1], "the kubeconfig", &s);
	if (!rc && s && *s && strcmp(s, "Config"))
		rc = perr(err, KS_EINVAL, f, npos(top[1].v),
			  "kind '%.100s' is not a kubeconfig (kind: Config)", s);
	free(s);
	for (int k = 0; k < 3 && !rc; k++)
		rc = decode_list(&p, &top[2 + k], k);
	if (!rc)
		rc = get_str(&p, &top[5], "the kubeconfig", &f->current_context);
	f->cc_pos = npos(top[5].v);
	if (f->current_context && !*f->current_context) {
		free(f->current_context);
		f->current_context = NULL;
	}
	kube_yaml_free(&y);
	if (rc) {
		kc_file_free(f);
		return rc;
	}
	*out = f;
	return 0;
}

/* ---- choosing and checking the context -------------------------------------------------- */

struct kc_set {
	struct kc_file **files;
	size_t n, cap;
};

static void set_free(struct kc_set *s)
{
	for (size_t i = 0; i < s->n; i++)
		kc_file_free(s->files[i]);
	free(s->files);
	s->files = NULL;
	s->n = s->cap = 0;
}

static bool file_empty(const struct kc_file *f)
{
	return !f->nclusters && !f->nusers && !f->ncontexts && !f->current_context;
}

/* First file that defines the name wins. map_off is the offset of the name index in
 * struct kc_file; *idx is set to the position in that file's array. */
static struct kc_file *find_entry(const struct kc_set *s, size_t map_off, const char *name,
				  size_t *idx)
{
	for (size_t i = 0; i < s->n; i++) {
		const struct ks_map *m = (const struct ks_map *)((const char *)s->files[i] + map_off);
		void *v = ks_map_get(m, name);
		if (v) {
			*idx = (uintptr_t)v - 1;
			return s->files[i];
		}
	}
	return NULL;
}

static struct kc_cluster *find_cluster(const struct kc_set *s, const char *name)
{
	size_t i;
	struct kc_file *f = find_entry(s, offsetof(struct kc_file, cluster_idx), name, &i);
	return f ? &f->clusters[i] : NULL;
}

static struct kc_user *find_user(const struct kc_set *s, const char *name)
{
	size_t i;
	struct kc_file *f = find_entry(s, offsetof(struct kc_file, user_idx), name, &i);
	return f ? &f->users[i] : NULL;
}

static struct kc_context *find_context(const struct kc_set *s, const char *name)
{
	size_t i;
	struct kc_file *f = find_entry(s, offsetof(struct kc_file, context_idx), name, &i);
	return f ? &f->contexts[i] : NULL;
}

static int check_cluster(const struct kc_cluster *c, struct ks_err *err)
{
	if (!c->server || !*c->server)
		return perr(err, KS_EINVAL, c->file, c->pos, "cluster '%s' has no server", c->name);
	if (c->ca_file && c->ca_data.data)
		return perr(err, KS_EINVAL, c->file, c->ca_file_pos,
			    "cluster '%s' sets both certificate-authority and "
			    "certificate-authority-data (kubectl refuses this too)",
			    c->name);
	if (c->insecure && (c->ca_file || c->ca_data.data))
		return perr(err, KS_EINVAL, c->file, c->pos,
			    "cluster '%s' sets insecure-skip-tls-verify together with a "
			    "certificate authority (kubectl refuses this too)",
			    c->name);
	if (c->proxy_url && *c->proxy_url) {
		/* Name only the scheme: a proxy URL may carry a password. */
		const char *colon = strstr(c->proxy_url, "://");
		size_t n = colon ? (size_t)(colon - c->proxy_url) : 0;
		if (!((n == 4 && !strncmp(c->proxy_url, "http", 4)) ||
		      (n == 5 && !strncmp(c->proxy_url, "https", 5)) ||
		      (n == 6 && !strncmp(c->proxy_url, "socks5", 6))))
			return perr(err, KS_EINVAL, c->file, c->proxy_pos,
				    "cluster '%s': proxy-url must start with http://, https:// or "
				    "socks5://",
				    c->name);
	}
	return 0;
}

static int check_exec(const struct kc_user *u, struct ks_err *err)
{
	const struct kc_exec *x = &u->exec;
	if (!x->command || !*x->command)
		return perr(err, KS_EINVAL, u->file, x->pos, "user '%s': exec has no command",
			    u->name);
	if (!x->api_version || !*x->api_version)
		return perr(err, KS_EINVAL, u->file, x->pos,
			    "user '%s': exec has no apiVersion (%s or %s)", u->name, KC_EXEC_V1,
			    KC_EXEC_V1BETA1);
	if (strcmp(x->api_version, KC_EXEC_V1) && strcmp(x->api_version, KC_EXEC_V1BETA1))
		return perr(err, KS_EUNSUPPORTED, u->file, x->api_pos,
			    "user '%s': exec apiVersion '%.100s' is not supported (%s or %s)",
			    u->name, x->api_version, KC_EXEC_V1, KC_EXEC_V1BETA1);
	if (x->env_noname_pos.line)
		return perr(err, KS_EINVAL, u->file, x->env_noname_pos,
			    "user '%s': an exec env entry has no name", u->name);
	const char *im = x->interactive_mode;
	if (!im || !*im) {
		if (!strcmp(x->api_version, KC_EXEC_V1))
			return perr(err, KS_EINVAL, u->file, x->pos,
				    "user '%s': exec with apiVersion %s needs interactiveMode "
				    "(Never, IfAvailable or Always)",
				    u->name, KC_EXEC_V1);
	} else if (strcmp(im, "Never") && strcmp(im, "IfAvailable") && strcmp(im, "Always")) {
		return perr(err, KS_EINVAL, u->file, x->im_pos,
			    "user '%s': exec interactiveMode '%.50s' is not Never, IfAvailable or "
			    "Always",
			    u->name, im);
	}
	return 0;
}

static int check_user(const struct kc_user *u, struct ks_err *err)
{
	bool cert = u->cert_file || u->cert_data.data, key = u->key_file || u->key_data.data;
	if (u->cert_file && u->cert_data.data)
		return perr(err, KS_EINVAL, u->file, u->cert_file_pos,
			    "user '%s' sets both client-certificate and client-certificate-data "
			    "(kubectl refuses this too)",
			    u->name);
	if (u->key_file && u->key_data.data)
		return perr(err, KS_EINVAL, u->file, u->key_file_pos,
			    "user '%s' sets both client-key and client-key-data (kubectl refuses "
			    "this too)",
			    u->name);
	if (cert && !key)
		return perr(err, KS_EINVAL, u->file, u->pos,
			    "user '%s' has a client certificate but no client-key or "
			    "client-key-data",
			    u->name);
	if (key && !cert)
		return perr(err, KS_EINVAL, u->file, u->pos,
			    "user '%s' has a client key but no client-certificate or "
			    "client-certificate-data",
			    u->name);
	if (u->token && ((u->username && *u->username) || (u->password && *u->password)))
		return perr(err, KS_EINVAL, u->file, u->pos,
			    "user '%s' has both a token and username/password: only one "
			    "authentication method is allowed",
			    u->name);
	if (u->auth_provider)
		return perr(err, KS_EUNSUPPORTED, u->file, u->auth_provider_pos,
			    "user '%s': auth-provider '%.50s' is not supported; use an exec "
			    "credential plugin instead",
			    u->name, u->auth_provider);
	if (u->impersonate_pos.line)
		return perr(
			err, KS_EUNSUPPORTED, u->file, u->impersonate_pos,
			"user '%s': impersonation (as, as-groups, as-uid, as-user-extra) is not "
			"supported",
			u->name);
	if (u->exec.present)
		return check_exec(u, err);
	return 0;
}

struct selection {
	const struct kc_context *ctx;
	const struct kc_cluster *cluster;
	const struct kc_user *user; /* NULL: anonymous */
};

static int select_context(const struct kc_set *s, const struct kc_context *ctx,
			  struct selection *sel, struct ks_err *err)
{
	memset(sel, 0, sizeof *sel);
	sel->ctx = ctx;
	if (!ctx->cluster || !*ctx->cluster)
		return perr(err, KS_EINVAL, ctx->file, ctx->pos, "context '%s' names no cluster",
			    ctx->name);
	sel->cluster = find_cluster(s, ctx->cluster);
	if (!sel->cluster)
		return perr(err, KS_ENOTFOUND, ctx->file, ctx->cluster_pos,
			    "context '%s' names cluster '%s', which is not defined", ctx->name,
			    ctx->cluster);
	if (ctx->user && *ctx->user) {
		sel->user = find_user(s, ctx->user);
		if (!sel->user)
			return perr(err, KS_ENOTFOUND, ctx->file, ctx->user_pos,
				    "context '%s' names user '%s', which is not defined", ctx->name,
				    ctx->user);
	}
	int rc = check_cluster(sel->cluster, err);
	if (!rc && sel->user)
		rc = check_user(sel->user, err);
	return rc;
}

/* ---- building the result ---------------------------------------------------------------- */

/* Read a PEM file named at `at` of file f, for `what` ("cluster 'x': certificate-authority"). */
static int read_pem(const struct kc_file *f, struct pos at, const char *what, const char *path,
		    struct kube_pem *out, struct ks_err *err)
{
	struct ks_buf b;
	int e = read_small_file(path, KUBE_CONFIG_FILE_MAX_BYTES, &b);
	if (e) {
		char es[128];
		return perr(err, KS_EIO, f, at, "%s: cannot read %s: %s", what, path,
			    read_errstr(e, KUBE_CONFIG_FILE_MAX_BYTES, es, sizeof es));
	}
	out->len = b.len;
	out->data = ks_buf_detach(&b);
	if (!has_pem_block(out->data, out->len)) {
		kube_pem_free(out);
		return perr(err, KS_EINVAL, f, at, "%s: %s holds no PEM data (-----BEGIN ...)",
			    what, path);
	}
	return 0;
}

static int check_pem_data(const struct kc_file *f, struct pos at, const char *what,
			  const struct kube_pem *p, struct ks_err *err)
{
	if (!has_pem_block(p->data, p->len))
		return perr(err, KS_EINVAL, f, at,
			    "%s decodes to something that is not PEM (-----BEGIN ...)", what);
	return 0;
}

static void release_fields(struct kube_config *cfg)
{
	free(cfg->path);
	free(cfg->context_name);
	free(cfg->cluster_name);
	free(cfg->user_name);
	free(cfg->namespace);
	free(cfg->server);
	free(cfg->tls_server_name);
	kube_secret_free(cfg->proxy_url);
	kube_pem_free(&cfg->ca);
	kube_secret_free(cfg->token);
	free(cfg->token_file);
	kube_pem_free(&cfg->client_cert);
	kube_pem_free(&cfg->client_key);
	free(cfg->username);
	kube_secret_free(cfg->password);
	struct kube_exec_config *x = &cfg->exec;
	free(x->command);
	for (size_t i = 0; i < x->nargs; i++)
		kube_secret_free(x->args[i]);
	free(x->args);
	for (size_t i = 0; i < x->nenv; i++)
		kube_secret_free(x->env[i]);
	free(x->env);
	free(x->api_version);
	free(x->install_hint);
	free(x->cluster_config_json);
}

void kube_config_release(struct kube_config *cfg)
{
	if (!cfg)
		return;
	kube_auth_state_free(cfg);
	release_fields(cfg);
	memset(cfg, 0, sizeof *cfg);
}

static char *read_token_file(const char *path, int *eno)
{
	struct ks_buf b;
	*eno = read_small_file(path, KUBE_CONFIG_FILE_MAX_BYTES, &b);
	if (*eno)
		return NULL;
	char *s = ks_buf_detach(&b);
	ks_trim_space(s);
	return s;
}

static int build_from_selection(const struct selection *sel, const struct kube_config_opts *o,
				struct kube_config *cfg, struct ks_err *err)
{
	const struct kc_context *ctx = sel->ctx;
	const struct kc_cluster *c = sel->cluster;
	const struct kc_user *u = sel->user;
	cfg->source = KUBE_CONFIG_FROM_FILE;
	cfg->path = ks_strdup(ctx->file->path);
	cfg->context_name = ks_strdup(ctx->name);
	cfg->cluster_name = ks_strdup(c->name);
	cfg->user_name = u ? ks_strdup(u->name) : NULL;
	if (o->namespace && *o->namespace)
		cfg->namespace = ks_strdup(o->namespace);
	else if (ctx->namespace && *ctx->namespace)
		cfg->namespace = ks_strdup(ctx->namespace);
	else
		cfg->namespace = ks_strdup("default");

	cfg->server = ks_strdup(c->server);
	cfg->tls_server_name =
		c->tls_server_name && *c->tls_server_name ? ks_strdup(c->tls_server_name) : NULL;
	cfg->insecure_skip_tls_verify = c->insecure;
	cfg->disable_compression = c->disable_compression;
	cfg->proxy_url = c->proxy_url && *c->proxy_url ? ks_strdup(c->proxy_url) : NULL;
	char what[300];
	snprintf(what, sizeof what, "cluster '%.200s'", c->name);
	int rc = 0;
	if (c->ca_data.data) {
		kube_pem_copy(&cfg->ca, &c->ca_data);
		snprintf(what, sizeof what, "cluster '%.200s': certificate-authority-data",
			 c->name);
		rc = check_pem_data(c->file, c->pos, what, &cfg->ca, err);
	} else if (c->ca_file) {
		snprintf(what, sizeof what, "cluster '%.200s': certificate-authority", c->name);
		rc = read_pem(c->file, c->ca_file_pos, what, c->ca_file, &cfg->ca, err);
	}
	if (rc || !u)
		return rc;

	snprintf(what, sizeof what, "user '%.200s'", u->name);
	if (u->cert_data.data) {
		kube_pem_copy(&cfg->client_cert, &u->cert_data);
		char w[340];
		snprintf(w, sizeof w, "%s: client-certificate-data", what);
		rc = check_pem_data(u->file, u->pos, w, &cfg->client_cert, err);
	} else if (u->cert_file) {
		char w[340];
		snprintf(w, sizeof w, "%s: client-certificate", what);
		rc = read_pem(u->file, u->cert_file_pos, w, u->cert_file, &cfg->client_cert, err);
	}
	if (!rc && u->key_data.data) {
		kube_pem_copy(&cfg->client_key, &u->key_data);
		char w[340];
		snprintf(w, sizeof w, "%s: client-key-data", what);
		rc = check_pem_data(u->file, u->pos, w, &cfg->client_key, err);
	} else if (!rc && u->key_file) {
		char w[340];
		snprintf(w, sizeof w, "%s: client-key", what);
		rc = read_pem(u->file, u->key_file_pos, w, u->key_file, &cfg->client_key, err);
	}
	if (rc)
		return rc;

	cfg->token = dup_or_null(u->token);
	cfg->token_file = dup_or_null(u->token_file);
	if (!cfg->token && cfg->token_file) {
		/* As client-go: with no inline token the file must be readable now. */
		int e = 0;
		cfg->token = read_token_file(cfg->token_file, &e);
		if (e) {
			char es[128];
			return perr(err, KS_EIO, u->file, u->token_file_pos,
				    "%s: cannot read tokenFile %s: %s", what, cfg->token_file,
				    read_errstr(e, KUBE_CONFIG_FILE_MAX_BYTES, es, sizeof es));
		}
		if (!*cfg->token)
			return perr(err, KS_EINVAL, u->file, u->token_file_pos,
				    "%s: tokenFile %s is empty", what, cfg->token_file);
	}
	/* Basic auth needs a username (client-go's HasBasicAuth); a lone password is unused. */
	if (u->username && *u->username) {
		cfg->username = ks_strdup(u->username);
		cfg->password = ks_strdup(u->password ? u->password : "");
	}

	const struct kc_exec *x = &u->exec;
	if (x->present) {
		struct kube_exec_config *ex = &cfg->exec;
		cfg->has_exec = true;
		ex->command = ks_strdup(x->command);
		ex->nargs = x->nargs;
		ex->args = ks_calloc(x->nargs + 1, sizeof *ex->args);
		for (size_t i = 0; i < x->nargs; i++)
			ex->args[i] = ks_strdup(x->args[i]);
		ex->nenv = x->nenv;
		ex->env = ks_calloc(x->nenv + 1, sizeof *ex->env);
		for (size_t i = 0; i < x->nenv; i++)
			ex->env[i] = ks_strdup(x->env[i]);
		ex->api_version = ks_strdup(x->api_version);
		ex->install_hint =
			x->install_hint && *x->install_hint ? ks_strdup(x->install_hint) : NULL;
		ex->provide_cluster_info = x->provide_cluster_info;
		const char *im = x->interactive_mode;
		ex->interactive_mode = !im || !*im || !strcmp(im, "IfAvailable")
					       ? KUBE_EXEC_INTERACTIVE_IF_AVAILABLE
				       : !strcmp(im, "Never") ? KUBE_EXEC_INTERACTIVE_NEVER
							      : KUBE_EXEC_INTERACTIVE_ALWAYS;
		ex->cluster_config_json = dup_or_null(c->exec_ext_json);
		if (cfg->token || cfg->token_file || cfg->client_cert.data || cfg->username)
			KS_DEBUG("kubeconfig",
				 "user '%s' also has a token, certificate or basic auth: its exec "
				 "plugin is not used (as client-go)",
				 u->name);
	}
	return 0;
}

/* ---- in-cluster ------------------------------------------------------------------------- */

static const char *sa_dir_of(const struct kube_config_opts *o)
{
	if (o->sa_dir && *o->sa_dir)
		return o->sa_dir;
	const char *env = getenv("KSWARM_SA_DIR");
	return env && *env ? env : KUBE_SA_DIR_DEFAULT;
}

static bool in_cluster_possible(const struct kube_config_opts *o)
{
	if (o->no_in_cluster)
		return false;
	const char *host = getenv("KUBERNETES_SERVICE_HOST");
	const char *port = getenv("KUBERNETES_SERVICE_PORT");
	if (!host || !*host || !port || !*port)
		return false;
	char *tok = ks_asprintf("%s/token", sa_dir_of(o));
	struct stat st;
	bool ok = stat(tok, &st) == 0 && !S_ISDIR(st.st_mode);
	free(tok);
	return ok;
}

static int build_in_cluster(const struct kube_config_opts *o, struct kube_config *cfg,
			    struct ks_err *err)
{
	const char *dir = sa_dir_of(o);
	const char *host = getenv("KUBERNETES_SERVICE_HOST");
	const char *port = getenv("KUBERNETES_SERVICE_PORT");
	cfg->source = KUBE_CONFIG_IN_CLUSTER;
	if (strchr(host, ':')) /* IPv6, as net.JoinHostPort */
		cfg->server = ks_asprintf("https://[%s]:%s", host, port);
	else
		cfg->server = ks_asprintf("https://%s:%s", host, port);
	cfg->token_file = ks_asprintf("%s/token", dir);
	int e = 0;
	cfg->token = read_token_file(cfg->token_file, &e);
	if (e) {
		char es[128];
		return ks_err_set(err, KS_EIO, "in-cluster config: cannot read %s: %s",
				  cfg->token_file,
				  read_errstr(e, KUBE_CONFIG_FILE_MAX_BYTES, es, sizeof es));
	}
	if (!*cfg->token)
		return ks_err_set(err, KS_EINVAL, "in-cluster config: %s is empty",
				  cfg->token_file);
	/* As client-go: a CA that cannot be read is logged, not fatal. */
	char *ca = ks_asprintf("%s/ca.crt", dir);
	struct ks_buf b;
	e = read_small_file(ca, KUBE_CONFIG_FILE_MAX_BYTES, &b);
	if (e) {
		char es[128];
		KS_WARN("kubeconfig", "in-cluster config: cannot read %s: %s", ca,
			read_errstr(e, KUBE_CONFIG_FILE_MAX_BYTES, es, sizeof es));
	} else if (!has_pem_block(b.data, b.len)) {
		KS_WARN("kubeconfig", "in-cluster config: %s holds no PEM data", ca);
		ks_buf_release(&b);
	} else {
		cfg->ca.len = b.len;
		cfg->ca.data = ks_buf_detach(&b);
	}
	free(ca);
	/* Namespace: the override, POD_NAMESPACE, the service account's, "default". */
	const char *pod_ns = getenv("POD_NAMESPACE");
	if (o->namespace && *o->namespace) {
		cfg->namespace = ks_strdup(o->namespace);
	} else if (pod_ns && *pod_ns) {
		cfg->namespace = ks_strdup(pod_ns);
	} else {
		char *nsf = ks_asprintf("%s/namespace", dir);
		char *ns = read_token_file(nsf, &e);
		free(nsf);
		if (ns && *ns)
			cfg->namespace = ns;
		else {
			free(ns);
			cfg->namespace = ks_strdup("default");
		}
	}
	return 0;
}

/* ---- loading ---------------------------------------------------------------------------- */

/* Load one file into the set. Missing files are skipped when skip_missing. */
static int load_file(struct kc_set *s, const char *path, bool skip_missing, struct ks_err *err)
{
	struct ks_buf b;
	int e = read_small_file(path, KUBE_CONFIG_MAX_BYTES, &b);
	if (e == ENOENT && skip_missing)
		return 0;
	if (e) {
		char es[128];
		return ferr(err, e == ENOENT ? KS_ENOTFOUND : KS_EIO, path, "cannot read: %s",
			    read_errstr(e, KUBE_CONFIG_MAX_BYTES, es, sizeof es));
	}
	struct kc_file *f = NULL;
	int rc = parse_file(path, b.data, b.len, &f, err);
	explicit_bzero(b.data, b.len);
	ks_buf_release(&b);
	if (rc)
		return rc;
	s->files = ks_grow(s->files, sizeof *s->files, s->n + 1, &s->cap);
	s->files[s->n++] = f;
	return 0;
}

/* The files to read, in precedence order, and a description of where we looked. */
static int gather(const struct kube_config_opts *o, struct kc_set *s, struct ks_buf *looked,
		  struct ks_err *err)
{
	if (o->kubeconfig && *o->kubeconfig) {
		ks_buf_appendf(looked, "%s (--kubeconfig)", o->kubeconfig);
		return load_file(s, o->kubeconfig, false, err);
	}
	const char *env = getenv("KUBECONFIG");
	if (env && *env) {
		ks_buf_appendf(looked, "KUBECONFIG=%s", env);
		char *list = ks_strdup(env), *save = NULL;
		struct ks_map seen;
		ks_map_init(&seen);
		int rc = 0;
		for (char *p = strtok_r(list, ":", &save); p && !rc;
		     p = strtok_r(NULL, ":", &save)) {
			if (!*p || ks_map_get(&seen, p))
				continue; /* empty entries and repeats, as clientcmd */
			ks_map_put(&seen, p, (void *)1);
			rc = load_file(s, p, true, err);
		}
		ks_map_release(&seen);
		free(list);
		return rc;
	}
	const char *home = getenv("HOME");
	if (home && *home) {
		char *path = ks_asprintf("%s/.kube/config", home);
		ks_buf_appendstr(looked, path);
		int rc = load_file(s, path, true, err);
		free(path);
		return rc;
	}
	ks_buf_appendstr(looked, "nowhere: KUBECONFIG and HOME are unset");
	return 0;
}

static void file_list(const struct kc_set *s, char *out, size_t n)
{
	size_t used = 0;
	out[0] = '\0';
	for (size_t i = 0; i < s->n && used < n; i++) {
		int w = snprintf(out + used, n - used, "%s%s", i ? ", " : "", s->files[i]->path);
		if (w < 0)
			break;
		used += (size_t)w;
	}
}

int kube_config_load(const struct kube_config_opts *opts, struct kube_config *out,
		     struct ks_err *err)
{
	static const struct kube_config_opts none;
	const struct kube_config_opts *o = opts ? opts : &none;
	memset(out, 0, sizeof *out);
	out->exec_timeout_ms =
		o->exec_timeout_ms > 0 ? o->exec_timeout_ms : KUBE_EXEC_TIMEOUT_MS_DEFAULT;
	struct kc_set s = {0};
	struct ks_buf looked;
	ks_buf_init(&looked, 4096);
	int rc = gather(o, &s, &looked, err);
	if (rc)
		goto out;

	const char *ctx_name = o->context && *o->context ? o->context : NULL;
	const struct kc_file *cc_file = NULL;
	for (size_t i = 0; !ctx_name && i < s.n; i++) {
		if (s.files[i]->current_context) {
			ctx_name = s.files[i]->current_context;
			cc_file = s.files[i];
		}
	}
	bool empty = true;
	for (size_t i = 0; i < s.n; i++)
		empty = empty && file_empty(s.files[i]);
	char files[1024];
	file_list(&s, files, sizeof files);

	if (!ctx_name) {
		/* kubectl: an empty config or no context ends up in-cluster when possible. */
		if (in_cluster_possible(o)) {
			KS_DEBUG("kubeconfig", "using the in-cluster config");
			rc = build_in_cluster(o, out, err);
		} else if (empty) {
			rc = ks_err_set(
				err, KS_ENOTFOUND,
				"no kubeconfig found (looked at %s) and not running in a "
				"cluster (KUBERNETES_SERVICE_HOST/PORT and a service-account "
				"token)",
				looked.data ? looked.data : "");
		} else {
			rc = ferr(err, KS_EINVAL, files,
				  "no current-context is set and no context was given (--context)");
		}
		goto out;
	}

	const struct kc_context *ctx = find_context(&s, ctx_name);
	if (!ctx) {
		if (cc_file)
			rc = perr(err, KS_ENOTFOUND, cc_file, cc_file->cc_pos,
				  "current-context '%s' names a context that is not defined",
				  ctx_name);
		else
			rc = ferr(err, KS_ENOTFOUND, s.n ? files : (looked.data ? looked.data : ""),
				  "context '%s' is not defined", ctx_name);
		goto out;
	}
	struct selection sel;
	rc = select_context(&s, ctx, &sel, err);
	if (!rc)
		rc = build_from_selection(&sel, o, out, err);
out:
	set_free(&s);
	ks_buf_release(&looked);
	if (!rc)
		kube_auth_state_init(out);
	else {
		release_fields(out);
		memset(out, 0, sizeof *out);
	}
	return rc;
}

int kube_config_parse_mem(const char *path, const char *data, size_t len, struct ks_err *err)
{
	struct kc_file *f = NULL;
	int rc = parse_file(path ? path : "<memory>", data, len, &f, err);
	if (rc)
		return rc;
	struct kc_set s = {.files = &f, .n = 1, .cap = 1};
	if (f->current_context) {
		const struct kc_context *ctx = find_context(&s, f->current_context);
		struct selection sel;
		if (!ctx)
			rc = perr(err, KS_ENOTFOUND, f, f->cc_pos,
				  "current-context '%s' names a context that is not defined",
				  f->current_context);
		else
			rc = select_context(&s, ctx, &sel, err);
	}
	kc_file_free(f);
	return rc;
}
