/* rootcause.c — the reusable chains of the diagnostics (see rootcause.h).
 *
 * Owners are read without decoding (objstore look-ups of metadata.ownerReferences); logs
 * are matched line by line against a table of POSIX extended regular expressions compiled
 * once per process; rollouts decode only the two ReplicaSets / ControllerRevisions they
 * compare. Everything returned points into the world, except the patches (new trees). */
#include "base/common.h"

#include "diag/rootcause.h"
#include "diag/infra.h"

#include <ctype.h>
#include <pthread.h>
#include <regex.h>
#include <stdio.h>
#include <string.h>

#include "base/json.h"
#include "base/strutil.h"
#include "kube/quantity.h"

/* ---- owners ---- */

/* The uid of the controller ownerReference of o, or NULL. tmp holds short strings. */
static const char *controller_ref_uid(struct wobj o, char *buf, size_t n)
{
	uint32_t refs = kube_objstore_get(o.st, o.id, "metadata.ownerReferences");
	size_t len = kube_objstore_len(o.st, refs);
	for (size_t i = 0; i < len; i++) {
		uint32_t r = kube_objstore_at(o.st, refs, i);
		if (!kube_objstore_bool(o.st, kube_objstore_get(o.st, r, "controller"), false))
			continue;
		char tmp[KUBE_OBJSTORE_STRTMP];
		const char *uid = kube_objstore_str(o.st, kube_objstore_get(o.st, r, "uid"), tmp,
						    NULL);
		if (!uid || !*uid)
			return NULL;
		snprintf(buf, n, "%s", uid);
		return buf;
	}
	return NULL;
}

const char *rc_controller_uid(struct world *w, struct wobj o)
{
	char buf[64];
	const char *uid = wobj_ok(o) ? controller_ref_uid(o, buf, sizeof buf) : NULL;
	return uid ? world_strdup(w, uid) : "";
}

void rc_owners(struct world *w, struct wobj o, struct rc_owners *out)
{
	*out = (struct rc_owners){.controller = {.id = KUBE_OBJ_NONE}, .top = o};
	struct wobj cur = o;
	for (int depth = 0; depth < 3 && wobj_ok(cur); depth++) {
		char buf[64];
		const char *uid = controller_ref_uid(cur, buf, sizeof buf);
		if (!uid)
			break;
		struct wobj up = world_by_uid(w, uid);
		if (!wobj_ok(up))
			break;
		if (depth == 0)
			out->controller = up;
		out->top = up;
		cur = up;
	}
}

struct wobj rc_top_owner(struct world *w, struct wobj o)
{
	struct rc_owners ow;
	rc_owners(w, o, &ow);
	return ow.top;
}

/* ---- events ---- */

struct latest_ev {
	const char *reason, *prefix;
	struct wobj found;
};

static int latest_ev_visit(void *ctx, struct wobj e)
{
	struct latest_ev *l = ctx;
	if (l->reason && !wobj_str_eq(e, "reason", l->reason))
		return 0;
	if (l->prefix) {
		char msg[512];
		const char *m = wobj_str(e, "message", msg, sizeof msg);
		if (!m || strncmp(m, l->prefix, strlen(l->prefix)) != 0)
			return 0;
	}
	l->found = e; /* oldest first: the last one kept is the latest */
	return 0;
}

struct wobj rc_latest_event(struct world *w, struct wobj o, const char *reason,
			    const char *prefix)
{
	struct latest_ev l = {.reason = reason, .prefix = prefix, .found = {.id = KUBE_OBJ_NONE}};
	const char *kind = world_kinds[o.kind].kind;
	world_events_for(w, kind, wobj_ns(w, o), wobj_name(w, o), wobj_uid(w, o), latest_ev_visit,
			 &l);
	return l.found;
}

/* ---- containers ---- */

const cJSON *rc_pod_spec(const cJSON *obj)
{
	const char *kind = ks_json_str(obj, "kind");
	if (kind && !strcmp(kind, "Pod"))
		return ks_json_get(obj, "spec");
	if (kind && !strcmp(kind, "CronJob"))
		return ks_json_get(obj, "spec.jobTemplate.spec.template.spec");
	const cJSON *s = ks_json_get(obj, "spec.template.spec");
	return s ? s : ks_json_get(obj, "spec");
}

const cJSON *rc_container(const cJSON *pod_spec, const char *name)
{
	static const char *const lists[] = {"containers", "initContainers", "ephemeralContainers"};
	for (size_t l = 0; l < KS_ARRAY_LEN(lists); l++) {
		const cJSON *c;
		cJSON_ArrayForEach(c, ks_json_get(pod_spec, lists[l]))
		{
			const char *n = ks_json_str(c, "name");
			if (n && !strcmp(n, name))
				return c;
		}
	}
	return NULL;
}

/* ---- log patterns ---- */

struct log_pattern {
	enum rc_log_cat cat;
	enum rc_subject subj;
	int group; /* the capture group holding the subject, 0 none */
	const char *re;
};

/* Ordered by category (the enum's order), then from the most to the least telling. */
static const struct log_pattern patterns[] = {
	{RC_LOG_AUTH, RC_SUBJ_USER, 2,
	 "(authentication failed|password authentication failed|login failed) for user "
	 "[\"']([^\"']+)[\"']"},
	{RC_LOG_AUTH, RC_SUBJ_USER, 1, "access denied for user '([^']+)'"},
	{RC_LOG_AUTH, RC_SUBJ_NONE, 0,
	 "(authentication failed|auth failed|invalid password|wrong password|bad credentials|"
	 "invalid credentials|invalid username or password|sasl authentication|"
	 "401 unauthorized|NOAUTH|WRONGPASS|login failed)"},
	{RC_LOG_SCHEMA, RC_SUBJ_MIGRATION, 1, "run migration ([A-Za-z0-9_.-]+)"},
	{RC_LOG_SCHEMA, RC_SUBJ_MIGRATION, 2,
	 "(pending|missing|unapplied) migrations?:? ([A-Za-z0-9_.-]+)"},
	{RC_LOG_SCHEMA, RC_SUBJ_TABLE, 1, "relation \"([^\"]+)\" does not exist"},
	{RC_LOG_SCHEMA, RC_SUBJ_TABLE, 1, "no such table: ([A-Za-z0-9_.]+)"},
	{RC_LOG_SCHEMA, RC_SUBJ_TABLE, 1, "table '([^']+)' doesn't exist"},
	{RC_LOG_SCHEMA, RC_SUBJ_NONE, 0,
	 "(schema version [0-9]+ is (older|newer) than|column \"[^\"]+\" does not exist|"
	 "database schema (is )?(out of date|not ready|mismatch)|migration[s]? (failed|required))"},
	{RC_LOG_DNS, RC_SUBJ_HOST, 1, "lookup ([A-Za-z0-9_.-]+)( on [^ ]+)?: no such host"},
	{RC_LOG_DNS, RC_SUBJ_HOST, 1, "could not translate host name \"([^\"]+)\""},
	{RC_LOG_DNS, RC_SUBJ_HOST, 2, "getaddrinfo (ENOTFOUND|EAI_AGAIN) ([A-Za-z0-9_.-]+)"},
	{RC_LOG_DNS, RC_SUBJ_HOST, 1, "unknown host:? ([A-Za-z0-9_.-]+)"},
	{RC_LOG_DNS, RC_SUBJ_NONE, 0,
	 "(name or service not known|temporary failure in name resolution|no such host)"},
	{RC_LOG_CONN_REFUSED, RC_SUBJ_HOST, 1,
	 "dial tcp ([][A-Za-z0-9_.:-]+): connect: connection refused"},
	{RC_LOG_CONN_REFUSED, RC_SUBJ_HOST, 1,
	 "ECONNREFUSED ([A-Za-z0-9_.-]+:[0-9]+)"},
	{RC_LOG_CONN_REFUSED, RC_SUBJ_HOST, 2,
	 "(connect(ing)? to|connection to) ([A-Za-z0-9_.-]+:[0-9]+).*refused"},
	{RC_LOG_CONN_REFUSED, RC_SUBJ_NONE, 0, "connection refused"},
	{RC_LOG_TIMEOUT, RC_SUBJ_HOST, 1,
	 "dial tcp ([][A-Za-z0-9_.:-]+): (i/o timeout|connect: connection timed out)"},
	{RC_LOG_TIMEOUT, RC_SUBJ_HOST, 3,
	 "(connect(ing)? to|connection to) ([A-Za-z0-9_.-]+:[0-9]+).*(timed out|timeout)"},
	{RC_LOG_TIMEOUT, RC_SUBJ_NONE, 0,
	 "(connection timed out|connect timeout|context deadline exceeded|ETIMEDOUT)"},
	{RC_LOG_TLS, RC_SUBJ_NONE, 0,
	 "(x509: certificate|certificate (has expired|verify failed)|SSL routines|"
	 "tls: (bad certificate|handshake failure))"},
	{RC_LOG_MISSING_ENV, RC_SUBJ_ENV, 2,
	 "(environment variable|env var|env) \"?([A-Z_][A-Z0-9_]*)\"? (is )?(not set|missing|"
	 "required|undefined|must be set|is empty)"},
	{RC_LOG_MISSING_ENV, RC_SUBJ_ENV, 3,
	 "(missing|required) (environment variable|env var|env)s?:? \"?([A-Z_][A-Z0-9_]*)"},
	{RC_LOG_MISSING_ENV, RC_SUBJ_ENV, 1, "KeyError: '([A-Z_][A-Z0-9_]*)'"},
	{RC_LOG_MISSING_CONFIG, RC_SUBJ_KEY, 2,
	 "(config|configuration|setting|property) (key )?[\"']?([A-Za-z0-9_.-]+)[\"']? "
	 "(is )?(not found|missing|required|not set)"},
	{RC_LOG_MISSING_CONFIG, RC_SUBJ_KEY, 3,
	 "missing (required )?(config|configuration|setting|key)s?:? [\"']?([A-Za-z0-9_.-]+)"},
	{RC_LOG_MISSING_FILE, RC_SUBJ_FILE, 1,
	 "open ([^ :]+): no such file or directory"},
	{RC_LOG_MISSING_FILE, RC_SUBJ_FILE, 1,
	 "no such file or directory:? '?(/[^ ']+)"},
	{RC_LOG_MISSING_FILE, RC_SUBJ_FILE, 2,
	 "(FileNotFoundError|ENOENT|NoSuchFileException|FileNotFoundException)[^/]*(/[^ '\"]+)"},
	{RC_LOG_PERMISSION, RC_SUBJ_FILE, 1, "open ([^ :]+): permission denied"},
	{RC_LOG_PERMISSION, RC_SUBJ_NONE, 0,
	 "(permission denied|EACCES|operation not permitted|read-only file system)"},
	{RC_LOG_OOM, RC_SUBJ_NONE, 0,
	 "(out of memory|OutOfMemoryError|cannot allocate memory|heap out of memory|"
	 "MemoryError|std::bad_alloc)"},
	{RC_LOG_BAD_FLAG, RC_SUBJ_FLAG, 1, "flag provided but not defined: (-?-?[A-Za-z0-9_.-]+)"},
	{RC_LOG_BAD_FLAG, RC_SUBJ_FLAG, 2,
	 "unknown (flag|option|shorthand flag|argument):? '?(-?-?[A-Za-z0-9_.-]+)"},
	{RC_LOG_BAD_FLAG, RC_SUBJ_FLAG, 2,
	 "unrecognized (option|arguments?):? '?(-?-?[A-Za-z0-9_.-]+)"},
	{RC_LOG_PANIC, RC_SUBJ_NONE, 0,
	 "(^panic: |goroutine [0-9]+ \\[running\\]|uncaught exception|unhandled exception|"
	 "Traceback \\(most recent call last\\)|Exception in thread|segmentation fault|"
	 "SIGSEGV|fatal error:)"},
};

static regex_t compiled[KS_ARRAY_LEN(patterns)];
static bool compiled_ok[KS_ARRAY_LEN(patterns)];
static pthread_once_t compile_once = PTHREAD_ONCE_INIT;

static void compile_patterns(void)
{
	for (size_t i = 0; i < KS_ARRAY_LEN(patterns); i++)
		compiled_ok[i] = regcomp(&compiled[i], patterns[i].re, REG_EXTENDED | REG_ICASE) == 0;
}

const char *rc_log_cat_name(enum rc_log_cat c)
{
	static const char *const names[RC_LOG_CAT_COUNT] = {
		"none", "auth", "schema", "dns", "connection-refused", "timeout", "tls",
		"missing-env", "missing-config", "missing-file", "permission", "out-of-memory",
		"bad-flag", "panic"};
	return c < RC_LOG_CAT_COUNT ? names[c] : "none";
}

const char *rc_subject_name(enum rc_subject s)
{
	static const char *const names[] = {"", "user", "host", "file", "env", "key",
					    "flag", "migration", "table"};
	return (size_t)s < KS_ARRAY_LEN(names) ? names[s] : "";
}

/* Split the last RC_LOG_SCAN_MAX bytes of text (the error is usually last) into at most
 * max non-empty lines, pointers into a copy the caller frees. */
static char *split_lines(const char *text, const char **lines, size_t max, size_t *n)
{
	size_t total = strlen(text);
	const char *start = total > RC_LOG_SCAN_MAX ? text + total - RC_LOG_SCAN_MAX : text;
	size_t len = total - (size_t)(start - text);
	char *copy = ks_malloc(len + 1);
	memcpy(copy, start, len);
	copy[len] = '\0';
	*n = 0;
	for (char *p = copy; *p && *n < max;) {
		char *e = strchr(p, '\n');
		if (e)
			*e = '\0';
		size_t l = strlen(p);
		while (l && (p[l - 1] == '\r' || p[l - 1] == ' ' || p[l - 1] == '\t'))
			p[--l] = '\0';
		if (l)
			lines[(*n)++] = p;
		if (!e)
			break;
		p = e + 1;
	}
	return copy;
}

#define RC_LOG_LINES_MAX 2000

bool rc_log_scan(const char *text, struct rc_log_match *m)
{
	*m = (struct rc_log_match){.cat = RC_LOG_NONE};
	if (!text || !*text)
		return false;
	pthread_once(&compile_once, compile_patterns);
	const char **lines = ks_calloc(RC_LOG_LINES_MAX, sizeof *lines);
	size_t n;
	char *copy = split_lines(text, lines, RC_LOG_LINES_MAX, &n);
	bool found = false;
	for (size_t pi = 0; pi < KS_ARRAY_LEN(patterns) && !found; pi++) {
		if (!compiled_ok[pi])
			continue;
		for (size_t li = 0; li < n; li++) {
			regmatch_t g[6];
			if (regexec(&compiled[pi], lines[li], KS_ARRAY_LEN(g), g, 0) != 0)
				continue;
			const struct log_pattern *p = &patterns[pi];
			m->cat = p->cat;
			m->subject_kind = RC_SUBJ_NONE;
			int gi = p->group;
			if (gi > 0 && gi < (int)KS_ARRAY_LEN(g) && g[gi].rm_so >= 0) {
				int gl = (int)(g[gi].rm_eo - g[gi].rm_so);
				snprintf(m->subject, sizeof m->subject, "%.*s", gl,
					 lines[li] + g[gi].rm_so);
				m->subject_kind = p->subj;
			}
			snprintf(m->line, sizeof m->line, "%s", lines[li]);
			found = true;
			break;
		}
	}
	free(copy);
	free(lines);
	return found;
}

char *rc_log_tail(const char *text, int n)
{
	struct ks_buf b;
	ks_buf_init(&b, KS_BUF_UNLIMITED);
	if (text && n > 0) {
		const char **lines = ks_calloc(RC_LOG_LINES_MAX, sizeof *lines);
		size_t cnt;
		char *copy = split_lines(text, lines, RC_LOG_LINES_MAX, &cnt);
		size_t from = cnt > (size_t)n ? cnt - (size_t)n : 0;
		for (size_t i = from; i < cnt; i++) {
			ks_buf_appendstr(&b, lines[i]);
			if (i + 1 < cnt)
				ks_buf_appendc(&b, '\n');
		}
		free(copy);
		free(lines);
	}
	return ks_buf_detach(&b);
}

/* ---- linking a log error to an object ---- */

static bool ci_contains(const char *hay, const char *needle)
{
	return hay && strcasestr(hay, needle) != NULL;
}

/* How much an env var looks like it carries a credential (0: not at all). */
static int credential_score(const char *env, const char *key)
{
	static const char *const strong[] = {"PASSWORD", "PASSWD", "PWD", "PASS", "TOKEN",
					     "SECRET", "CREDENTIAL", "APIKEY", "API_KEY"};
	int s = 0;
	for (size_t i = 0; i < KS_ARRAY_LEN(strong); i++) {
		if (ci_contains(env, strong[i]))
			s += 3;
		if (ci_contains(key, strong[i]))
			s += 3;
	}
	if (ci_contains(env, "USER") || ci_contains(key, "user"))
		s += 1;
	return s;
}

static void link_object(struct world *w, struct rc_link *out, enum rc_link_kind kind,
			enum world_kind wk, const char *ns, const char *name, const char *key,
			const char *env)
{
	struct wobj o = world_get(w, wk, ns, name);
	out->kind = kind;
	out->exists = wobj_ok(o);
	out->obj = out->exists ? diag_ref_of(w, o)
			       : diag_ref_make(world_kinds[wk].kind, ns, name, "");
	snprintf(out->key, sizeof out->key, "%s", key ? key : "");
	snprintf(out->env, sizeof out->env, "%s", env ? env : "");
}

static bool link_credentials(struct world *w, const char *ns, const cJSON *container,
			     struct rc_link *out)
{
	const cJSON *e, *best = NULL;
	int best_score = -1;
	cJSON_ArrayForEach(e, ks_json_get(container, "env"))
	{
		const char *name = ks_json_str(e, "name");
		const char *sname = ks_json_str(e, "valueFrom.secretKeyRef.name");
		const char *key = ks_json_str(e, "valueFrom.secretKeyRef.key");
		if (!name || !sname || !key)
			continue;
		int s = credential_score(name, key);
		if (s > best_score) {
			best_score = s;
			best = e;
		}
	}
	if (best) {
		link_object(w, out, RC_LINK_SECRET_KEY, WK_SECRET, ns,
			    ks_json_str(best, "valueFrom.secretKeyRef.name"),
			    ks_json_str(best, "valueFrom.secretKeyRef.key"), ks_json_str(best, "name"));
		return true;
	}
	cJSON_ArrayForEach(e, ks_json_get(container, "envFrom"))
	{
		const char *sname = ks_json_str(e, "secretRef.name");
		if (sname) {
			link_object(w, out, RC_LINK_SECRET, WK_SECRET, ns, sname, NULL, NULL);
			return true;
		}
	}
	cJSON_ArrayForEach(e, ks_json_get(container, "env"))
	{
		const char *name = ks_json_str(e, "name");
		if (name && ks_json_str(e, "value") && credential_score(name, "") >= 3) {
			out->kind = RC_LINK_ENV_LITERAL;
			snprintf(out->env, sizeof out->env, "%s", name);
			return true;
		}
	}
	return false;
}

/* The env entry named name: linked to what it reads. */
static bool link_env(struct world *w, const char *ns, const cJSON *container, const char *name,
		     struct rc_link *out)
{
	const cJSON *e;
	cJSON_ArrayForEach(e, ks_json_get(container, "env"))
	{
		const char *n = ks_json_str(e, "name");
		if (!n || strcmp(n, name) != 0)
			continue;
		const char *s = ks_json_str(e, "valueFrom.secretKeyRef.name");
		const char *c = ks_json_str(e, "valueFrom.configMapKeyRef.name");
		if (s)
			link_object(w, out, RC_LINK_SECRET_KEY, WK_SECRET, ns, s,
				    ks_json_str(e, "valueFrom.secretKeyRef.key"), name);
		else if (c)
			link_object(w, out, RC_LINK_CONFIGMAP_KEY, WK_CONFIGMAP, ns, c,
				    ks_json_str(e, "valueFrom.configMapKeyRef.key"), name);
		else {
			out->kind = RC_LINK_ENV_LITERAL;
			snprintf(out->env, sizeof out->env, "%s", name);
		}
		return true;
	}
	out->kind = RC_LINK_ENV_ABSENT;
	snprintf(out->env, sizeof out->env, "%s", name);
	return true;
}

/* A config key: the configMapKeyRef/secretKeyRef with that key, else the envFrom source. */
static bool link_config_key(struct world *w, const char *ns, const cJSON *container,
			    const char *key, struct rc_link *out)
{
	const cJSON *e;
	cJSON_ArrayForEach(e, ks_json_get(container, "env"))
	{
		const char *ck = ks_json_str(e, "valueFrom.configMapKeyRef.key");
		if (ck && !strcmp(ck, key)) {
			link_object(w, out, RC_LINK_CONFIGMAP_KEY, WK_CONFIGMAP, ns,
				    ks_json_str(e, "valueFrom.configMapKeyRef.name"), key,
				    ks_json_str(e, "name"));
			return true;
		}
	}
	cJSON_ArrayForEach(e, ks_json_get(container, "envFrom"))
	{
		const char *c = ks_json_str(e, "configMapRef.name");
		if (c) {
			link_object(w, out, RC_LINK_CONFIGMAP, WK_CONFIGMAP, ns, c, key, NULL);
			return true;
		}
	}
	return false;
}

/* A file: the volume mounted over its directory, when a ConfigMap or a Secret. */
static bool link_file(struct world *w, const char *ns, const cJSON *pod_spec,
		      const cJSON *container, const char *path, struct rc_link *out)
{
	const cJSON *vm, *best = NULL;
	size_t best_len = 0;
	cJSON_ArrayForEach(vm, ks_json_get(container, "volumeMounts"))
	{
		const char *mp = ks_json_str(vm, "mountPath");
		size_t l = mp ? strlen(mp) : 0;
		if (l && !strncmp(path, mp, l) && (path[l] == '/' || path[l] == '\0') &&
		    l > best_len) {
			best = vm;
			best_len = l;
		}
	}
	if (!best)
		return false;
	const char *vname = ks_json_str(best, "name");
	const char *sub = path + best_len;
	while (*sub == '/')
		sub++;
	const cJSON *v;
	cJSON_ArrayForEach(v, ks_json_get(pod_spec, "volumes"))
	{
		const char *n = ks_json_str(v, "name");
		if (!n || !vname || strcmp(n, vname) != 0)
			continue;
		const char *cm = ks_json_str(v, "configMap.name");
		const char *sec = ks_json_str(v, "secret.secretName");
		if (cm)
			link_object(w, out, RC_LINK_CONFIGMAP, WK_CONFIGMAP, ns, cm, sub, NULL);
		else if (sec)
			link_object(w, out, RC_LINK_SECRET, WK_SECRET, ns, sec, sub, NULL);
		else
			return false;
		return true;
	}
	return false;
}

/* A host: the Service it names ("svc", "svc.ns", "svc.ns.svc[.cluster.local]"). */
static bool link_host(struct world *w, const char *ns, const char *host, struct rc_link *out)
{
	char h[160];
	snprintf(h, sizeof h, "%s", host);
	char *colon = strrchr(h, ':');
	if (colon)
		*colon = '\0';
	if (!h[0] || isdigit((unsigned char)h[0]))
		return false; /* an address, not a name */
	char *parts[5] = {NULL};
	size_t np = 0;
	for (char *p = h; p && np < KS_ARRAY_LEN(parts);) {
		parts[np++] = p;
		p = strchr(p, '.');
		if (p)
			*p++ = '\0';
	}
	const char *sns = ns;
	if (np >= 2)
		sns = parts[1];
	if (np >= 3 && strcmp(parts[2], "svc") != 0)
		return false; /* an outside name */
	link_object(w, out, RC_LINK_SERVICE, WK_SERVICE, sns, parts[0], NULL, NULL);
	return out->exists || np >= 3;
}

bool rc_log_link(struct world *w, const char *ns, const cJSON *pod_spec, const cJSON *container,
		 const struct rc_log_match *m, struct rc_link *out)
{
	*out = (struct rc_link){.kind = RC_LINK_NONE};
	if (!container)
		return false;
	switch (m->cat) {
	case RC_LOG_AUTH:
		return link_credentials(w, ns, container, out);
	case RC_LOG_MISSING_ENV:
		return m->subject[0] && link_env(w, ns, container, m->subject, out);
	case RC_LOG_MISSING_CONFIG:
		return m->subject[0] && link_config_key(w, ns, container, m->subject, out);
	case RC_LOG_MISSING_FILE:
	case RC_LOG_PERMISSION:
		return m->subject_kind == RC_SUBJ_FILE &&
		       link_file(w, ns, pod_spec, container, m->subject, out);
	case RC_LOG_DNS:
	case RC_LOG_CONN_REFUSED:
	case RC_LOG_TIMEOUT:
		return m->subject_kind == RC_SUBJ_HOST && link_host(w, ns, m->subject, out);
	default:
		return false;
	}
}

/* ---- rollouts ---- */

/* An annotation's value (keys hold dots, so no dotted path). */
static const char *annotation(struct wobj o, const char *key, char *buf, size_t n)
{
	return infra_map_value(o, "metadata.annotations", key, buf, n);
}

static const char *label(struct wobj o, const char *key, char *buf, size_t n)
{
	return infra_label(o, key, buf, n);
}

struct rev_scan {
	struct world *w;
	bool replicasets;
	struct wobj best[2];
	int64_t rev[2];
};

static int rev_visit(void *ctx, struct wobj o)
{
	struct rev_scan *s = ctx;
	int64_t r = -1;
	if (s->replicasets) {
		char b[32];
		const char *a = annotation(o, "deployment.kubernetes.io/revision", b, sizeof b);
		if (!a || !ks_parse_int64(a, &r))
			return 0;
	} else {
		r = wobj_int(o, "revision", -1);
	}
	if (r < 0)
		return 0;
	if (r > s->rev[0]) {
		s->rev[1] = s->rev[0];
		s->best[1] = s->best[0];
		s->rev[0] = r;
		s->best[0] = o;
	} else if (r > s->rev[1]) {
		s->rev[1] = r;
		s->best[1] = o;
	}
	return 0;
}

bool rc_rollout_find(struct world *w, struct wobj workload, struct rc_rollout *out)
{
	*out = (struct rc_rollout){.cur = {.id = KUBE_OBJ_NONE}, .prev = {.id = KUBE_OBJ_NONE},
				   .prev_ready = -1};
	if (!wobj_ok(workload))
		return false;
	struct rev_scan s = {.w = w, .replicasets = workload.kind == WK_DEPLOYMENT,
			     .best = {{.id = KUBE_OBJ_NONE}, {.id = KUBE_OBJ_NONE}},
			     .rev = {-1, -1}};
	if (workload.kind != WK_DEPLOYMENT && workload.kind != WK_STATEFULSET &&
	    workload.kind != WK_DAEMONSET)
		return false;
	world_owned_by(w, s.replicasets ? WK_REPLICASET : WK_CONTROLLERREVISION,
		       wobj_uid(w, workload), rev_visit, &s);
	if (!wobj_ok(s.best[0]))
		return false;
	out->cur = s.best[0];
	out->prev = s.best[1];
	snprintf(out->cur_rev, sizeof out->cur_rev, "%lld", (long long)s.rev[0]);
	const char *tpl_path = s.replicasets ? "spec.template" : "data.spec.template";
	out->cur_tpl = ks_json_get(world_json(w, out->cur), tpl_path);
	if (wobj_ok(out->prev)) {
		snprintf(out->prev_rev, sizeof out->prev_rev, "%lld", (long long)s.rev[1]);
		out->prev_tpl = ks_json_get(world_json(w, out->prev), tpl_path);
		if (s.replicasets)
			out->prev_ready = (int32_t)wobj_int(out->prev, "status.readyReplicas", 0);
	}
	return true;
}

bool rc_rollout_pod_is_current(struct world *w, const struct rc_rollout *r, struct wobj pod)
{
	if (!wobj_ok(r->cur))
		return false;
	if (r->cur.kind == WK_REPLICASET)
		return !strcmp(rc_controller_uid(w, pod), wobj_uid(w, r->cur));
	char hash[96];
	if (!label(pod, "controller-revision-hash", hash, sizeof hash))
		return false;
	const char *name = wobj_name(w, r->cur);
	size_t nl = strlen(name), hl = strlen(hash);
	return !strcmp(name, hash) ||
	       (nl > hl && name[nl - hl - 1] == '-' && !strcmp(name + nl - hl, hash));
}

static void value_text(const cJSON *v, char *out, size_t n)
{
	if (!v) {
		out[0] = '\0';
		return;
	}
	if (cJSON_IsString(v)) {
		snprintf(out, n, "%s", v->valuestring);
		return;
	}
	char *p = ks_json_print(v);
	snprintf(out, n, "%s", p ? p : "");
	free(p);
}

static bool same(const cJSON *a, const cJSON *b)
{
	if (!a || !b)
		return a == b;
	return cJSON_Compare(a, b, true);
}

static const char *const diff_fields[] = {"image", "command", "args", "envFrom", "resources",
					  "readinessProbe", "livenessProbe", "startupProbe",
					  "volumeMounts"};

static void add_change(struct rc_change *out, size_t max, size_t *n, const char *list,
		       const char *container, const char *field, const char *sub,
		       const cJSON *before, const cJSON *after)
{
	if (*n < max) {
		struct rc_change *c = &out[*n];
		snprintf(c->container, sizeof c->container, "%s", container);
		snprintf(c->field, sizeof c->field, "%s", field);
		if (sub)
			snprintf(c->path, sizeof c->path, "spec.template.spec.%s[%s].%s[%s]", list,
				 container, field, sub);
		else
			snprintf(c->path, sizeof c->path, "spec.template.spec.%s[%s].%s", list,
				 container, field);
		value_text(before, c->before, sizeof c->before);
		value_text(after, c->after, sizeof c->after);
	}
	(*n)++;
}

static const cJSON *by_name(const cJSON *arr, const char *name)
{
	const cJSON *e;
	cJSON_ArrayForEach(e, arr)
	{
		const char *n = ks_json_str(e, "name");
		if (n && !strcmp(n, name))
			return e;
	}
	return NULL;
}

static void diff_env(const cJSON *pe, const cJSON *ce, const char *list, const char *cname,
		     struct rc_change *out, size_t max, size_t *n)
{
	const cJSON *e;
	cJSON_ArrayForEach(e, ce)
	{
		const char *en = ks_json_str(e, "name");
		if (!en)
			continue;
		const cJSON *p = by_name(pe, en);
		if (!same(p, e))
			add_change(out, max, n, list, cname, "env", en, p, e);
	}
	cJSON_ArrayForEach(e, pe)
	{
		const char *en = ks_json_str(e, "name");
		if (en && !by_name(ce, en))
			add_change(out, max, n, list, cname, "env", en, e, NULL);
	}
}

size_t rc_rollout_diff(const struct rc_rollout *r, struct rc_change *out, size_t max)
{
	size_t n = 0;
	if (!r->cur_tpl || !r->prev_tpl)
		return 0;
	static const char *const lists[] = {"containers", "initContainers"};
	for (size_t l = 0; l < KS_ARRAY_LEN(lists); l++) {
		const cJSON *cl = ks_json_get(r->cur_tpl, "spec");
		const cJSON *pl = ks_json_get(r->prev_tpl, "spec");
		const cJSON *cs = ks_json_get(cl, lists[l]), *ps = ks_json_get(pl, lists[l]);
		const cJSON *c;
		cJSON_ArrayForEach(c, cs)
		{
			const char *name = ks_json_str(c, "name");
			if (!name)
				continue;
			const cJSON *p = by_name(ps, name);
			if (!p) {
				add_change(out, max, &n, lists[l], name, "container", NULL, NULL, c);
				continue;
			}
			for (size_t f = 0; f < KS_ARRAY_LEN(diff_fields); f++) {
				const cJSON *a = ks_json_child(p, diff_fields[f]);
				const cJSON *b = ks_json_child(c, diff_fields[f]);
				if (!same(a, b))
					add_change(out, max, &n, lists[l], name, diff_fields[f], NULL,
						   a, b);
			}
			diff_env(ks_json_child(p, "env"), ks_json_child(c, "env"), lists[l], name,
				 out, max, &n);
		}
		cJSON_ArrayForEach(c, ps)
		{
			const char *name = ks_json_str(c, "name");
			if (name && !by_name(cs, name))
				add_change(out, max, &n, lists[l], name, "container", NULL, c, NULL);
		}
	}
	return n;
}

#define RC_DIFF_MAX 16

size_t rc_ev_rollout_diff(struct diag_finding *f, const struct diag_ref *workload,
			  const struct rc_rollout *r)
{
	struct rc_change ch[RC_DIFF_MAX];
	size_t n = rc_rollout_diff(r, ch, RC_DIFF_MAX);
	for (size_t i = 0; i < n && i < RC_DIFF_MAX; i++)
		diag_ev_diff(f, workload, ch[i].path, ch[i].before, ch[i].after, r->prev_rev,
			     r->cur_rev);
	return n;
}

/* ---- Helm ---- */

struct helm_scan {
	struct world *w;
	const char *ns;
	struct wobj best[2];
	int64_t ver[2];
};

static int helm_visit(void *ctx, struct wobj o)
{
	struct helm_scan *s = ctx;
	char b[32];
	int64_t v;
	if (strcmp(wobj_ns(s->w, o), s->ns) != 0)
		return 0;
	if (!label(o, "owner", b, sizeof b) || strcmp(b, "helm") != 0)
		return 0;
	if (!label(o, "version", b, sizeof b) || !ks_parse_int64(b, &v))
		return 0;
	if (v > s->ver[0]) {
		s->ver[1] = s->ver[0];
		s->best[1] = s->best[0];
		s->ver[0] = v;
		s->best[0] = o;
	} else if (v > s->ver[1]) {
		s->ver[1] = v;
		s->best[1] = o;
	}
	return 0;
}

bool rc_helm_release(struct world *w, struct wobj workload, struct rc_helm *out)
{
	*out = (struct rc_helm){.revision = 0};
	char b[160];
	if (!label(workload, "app.kubernetes.io/managed-by", b, sizeof b) || strcmp(b, "Helm"))
		return false;
	if (!annotation(workload, "meta.helm.sh/release-name", out->release, sizeof out->release))
		return false;
	if (!annotation(workload, "meta.helm.sh/release-namespace", out->ns, sizeof out->ns))
		snprintf(out->ns, sizeof out->ns, "%s", wobj_ns(w, workload));
	struct helm_scan s = {.w = w, .ns = out->ns,
			      .best = {{.id = KUBE_OBJ_NONE}, {.id = KUBE_OBJ_NONE}},
			      .ver = {0, 0}};
	char kv[192];
	snprintf(kv, sizeof kv, "name=%s", out->release);
	world_with_label(w, WK_SECRET, kv, helm_visit, &s);
	if (wobj_ok(s.best[0])) {
		out->revision = s.ver[0];
		label(s.best[0], "status", out->status, sizeof out->status);
		out->secret = diag_ref_of(w, s.best[0]);
	}
	if (wobj_ok(s.best[1])) {
		out->prev_revision = s.ver[1];
		label(s.best[1], "status", out->prev_status, sizeof out->prev_status);
	}
	return true;
}

void rc_ev_helm(struct diag_finding *f, const struct diag_ref *workload, const struct rc_helm *h)
{
	if (h->revision <= 0) {
		diag_ev_object(f, workload, "managed by Helm release %s/%s (no release Secret seen)",
			       h->ns, h->release);
		return;
	}
	char prev[96] = "";
	if (h->prev_revision > 0)
		snprintf(prev, sizeof prev, "; previous revision %lld (%s)",
			 (long long)h->prev_revision, h->prev_status[0] ? h->prev_status : "?");
	diag_ev_object(f, &h->secret, "Helm release %s/%s is at revision %lld (%s)%s", h->ns,
		       h->release, (long long)h->revision, h->status[0] ? h->status : "?", prev);
	diag_related(f, &h->secret, "helm-release");
}

/* ---- patches ---- */

/* The pod spec object of a patch of a workload kind, created along the way. */
static cJSON *patch_pod_spec(cJSON *root, const char *kind)
{
	cJSON *spec = cJSON_AddObjectToObject(root, "spec");
	if (kind && !strcmp(kind, "CronJob")) {
		cJSON *jt = cJSON_AddObjectToObject(spec, "jobTemplate");
		spec = cJSON_AddObjectToObject(jt, "spec");
	}
	cJSON *tpl = cJSON_AddObjectToObject(spec, "template");
	return cJSON_AddObjectToObject(tpl, "spec");
}

static cJSON *patch_container(cJSON **root, const char *kind, bool init, const char *name)
{
	*root = cJSON_CreateObject();
	cJSON *ps = patch_pod_spec(*root, kind);
	cJSON *list = cJSON_AddArrayToObject(ps, init ? "initContainers" : "containers");
	cJSON *c = cJSON_CreateObject();
	cJSON_AddStringToObject(c, "name", name);
	cJSON_AddItemToArray(list, c);
	return c;
}

cJSON *rc_patch_image(const char *workload_kind, bool init, const char *container,
		      const char *image)
{
	cJSON *root;
	cJSON *c = patch_container(&root, workload_kind, init, container);
	cJSON_AddStringToObject(c, "image", image);
	return root;
}

cJSON *rc_patch_memory(const char *workload_kind, bool init, const char *container,
		       const char *limit, const char *request)
{
	cJSON *root;
	cJSON *c = patch_container(&root, workload_kind, init, container);
	cJSON *res = cJSON_AddObjectToObject(c, "resources");
	cJSON_AddStringToObject(cJSON_AddObjectToObject(res, "limits"), "memory", limit);
	if (request)
		cJSON_AddStringToObject(cJSON_AddObjectToObject(res, "requests"), "memory",
					request);
	return root;
}

/* The previous value of a map field, replacing the current one whole. */
static cJSON *replace_value(const cJSON *prev)
{
	if (!prev)
		return cJSON_CreateNull();
	cJSON *v = cJSON_Duplicate(prev, true);
	if (cJSON_IsObject(v))
		cJSON_AddStringToObject(v, "$patch", "replace");
	return v;
}

cJSON *rc_patch_undo(const struct rc_rollout *r, const char *workload_kind)
{
	struct rc_change ch[64];
	size_t n = rc_rollout_diff(r, ch, KS_ARRAY_LEN(ch));
	if (n == 0)
		return NULL;
	cJSON *root = cJSON_CreateObject();
	cJSON *ps = patch_pod_spec(root, workload_kind);
	const cJSON *pspec = ks_json_get(r->prev_tpl, "spec");
	for (size_t i = 0; i < n && i < KS_ARRAY_LEN(ch); i++) {
		const struct rc_change *c = &ch[i];
		bool init = !strncmp(c->path, "spec.template.spec.initContainers", 33);
		const char *lname = init ? "initContainers" : "containers";
		cJSON *list = cJSON_GetObjectItemCaseSensitive(ps, lname);
		if (!list)
			list = cJSON_AddArrayToObject(ps, lname);
		const cJSON *pc = by_name(ks_json_get(pspec, lname), c->container);
		if (!strcmp(c->field, "container")) {
			if (pc) {
				cJSON_AddItemToArray(list, cJSON_Duplicate(pc, true));
			} else {
				cJSON *d = cJSON_CreateObject();
				cJSON_AddStringToObject(d, "name", c->container);
				cJSON_AddStringToObject(d, "$patch", "delete");
				cJSON_AddItemToArray(list, d);
			}
			continue;
		}
		cJSON *pcont = (cJSON *)by_name(list, c->container);
		if (!pcont) {
			pcont = cJSON_CreateObject();
			cJSON_AddStringToObject(pcont, "name", c->container);
			cJSON_AddItemToArray(list, pcont);
		}
		if (!strcmp(c->field, "env")) {
			cJSON *env = cJSON_GetObjectItemCaseSensitive(pcont, "env");
			if (!env)
				env = cJSON_AddArrayToObject(pcont, "env");
			const char *en = strrchr(c->path, '[') + 1;
			char ename[128];
			snprintf(ename, sizeof ename, "%.*s", (int)strcspn(en, "]"), en);
			const cJSON *pe = by_name(ks_json_get(pc, "env"), ename);
			if (pe) {
				cJSON_AddItemToArray(env, cJSON_Duplicate(pe, true));
			} else {
				cJSON *d = cJSON_CreateObject();
				cJSON_AddStringToObject(d, "name", ename);
				cJSON_AddStringToObject(d, "$patch", "delete");
				cJSON_AddItemToArray(env, d);
			}
			continue;
		}
		cJSON_AddItemToObject(pcont, c->field, replace_value(ks_json_child(pc, c->field)));
	}
	return root;
}

/* ---- memory ---- */

int64_t rc_mem_bytes(const char *q)
{
	struct kube_quantity v;
	if (!q || kube_quantity_parse(q, strlen(q), &v, NULL))
		return -1;
	return kube_quantity_value(&v);
}

void rc_mem_format(int64_t bytes, char *out, size_t n)
{
	static const struct {
		const char *suffix;
		int64_t unit;
	} units[] = {{"Gi", (int64_t)1 << 30}, {"Mi", (int64_t)1 << 20}, {"Ki", (int64_t)1 << 10}};
	for (size_t i = 0; i < KS_ARRAY_LEN(units); i++)
		if (bytes > 0 && bytes % units[i].unit == 0) {
			snprintf(out, n, "%lld%s", (long long)(bytes / units[i].unit), units[i].suffix);
			return;
		}
	snprintf(out, n, "%lld", (long long)bytes);
}
