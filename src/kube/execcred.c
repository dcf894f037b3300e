/* execcred.c — client-go exec credential plugins: run one (fork/execve, no shell, with a
 * timeout and output ceilings) and parse the ExecCredential it prints. See auth.h.
 * Never put the plugin's stdout, its args or its env into a message: they carry secrets. */
#include "base/common.h"
#include "kube/auth.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/base64.h"
#include "base/json.h"
#include "base/timeutil.h"

extern char **environ;

#define EXEC_INFO_ENV "KUBERNETES_EXEC_INFO"
#define STDERR_IN_MESSAGE 400

/* ---- ExecCredential ---------------------------------------------------------------------- */

static bool has_pem_block(const char *p, size_t len)
{
	static const char begin[] = "-----BEGIN ";
	return p && memmem(p, len, begin, sizeof begin - 1) != NULL;
}

/* A string field of status, or NULL; an error when present but not a string. */
static int status_str(const cJSON *status, const char *key, const char **out, struct ks_err *err)
{
	const cJSON *v = ks_json_child(status, key);
	*out = NULL;
	if (!v || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsString(v))
		return ks_err_set(err, KS_EAUTH, "status.%s must be a string", key);
	*out = v->valuestring;
	return 0;
}

/* What the plugin sent as apiVersion is named only when it is a known one: anything else
 * could be a secret printed into the wrong field. */
static const char *known_api_version(const char *s)
{
	static const char *known[] = {"client.authentication.k8s.io/v1",
				      "client.authentication.k8s.io/v1beta1",
				      "client.authentication.k8s.io/v1alpha1"};
	for (size_t i = 0; i < KS_ARRAY_LEN(known); i++)
		if (!strcmp(s, known[i]))
			return known[i];
	return "(not a client.authentication.k8s.io version)";
}

/* Expiry in Unix ns. ks_time_parse_rfc3339 works in int64 ns, which holds 1677-09-21 to
 * 2262-04-11; a plugin saying "year 2999" means "does not expire soon". */
static int parse_expiry(const char *s, int64_t *out, struct ks_err *err)
{
	size_t len = strlen(s);
	char tmp[64];
	int year = 0;
	for (int i = 0; i < 4 && i < (int)len; i++) {
		if (s[i] < '0' || s[i] > '9')
			year = -1;
		else if (year >= 0)
			year = year * 10 + (s[i] - '0');
	}
	if (len < 4 || len >= sizeof tmp || year < 0)
		goto bad;
	memcpy(tmp, s, len + 1);
	memcpy(tmp, "2000", 4); /* validate the rest without overflowing */
	if (ks_time_parse_rfc3339(tmp, len, out, NULL))
		goto bad;
	if (year >= 2262) {
		*out = INT64_MAX;
		return 0;
	}
	if (year <= 1677) {
		*out = 1; /* long past */
		return 0;
	}
	if (ks_time_parse_rfc3339(s, len, out, NULL))
		goto bad;
	if (*out == 0)
		*out = 1; /* 0 means "no expiry" in struct kube_credential */
	return 0;
bad:
	return ks_err_set(err, KS_EAUTH, "status.expirationTimestamp is not an RFC 3339 time");
}

int kube_execcred_parse(const char *data, size_t len, const char *api_version,
			struct kube_credential *out, struct ks_err *err)
{
	memset(out, 0, sizeof *out);
	if (len > KUBE_EXEC_STDOUT_MAX)
		return ks_err_set(err, KS_ETOOBIG, "output of %zu bytes exceeds the %zu-byte limit",
				  len, KUBE_EXEC_STDOUT_MAX);
	struct ks_err je = {0};
	cJSON *root = ks_json_parse(data, len, KUBE_EXEC_STDOUT_MAX, &je);
	if (!root) /* je holds offsets only, never the text */
		return ks_err_set(err, KS_EAUTH, "output is not an ExecCredential: %s", je.msg);
	int rc = 0;
	const char *av = ks_json_str(root, "apiVersion"), *kind = ks_json_str(root, "kind");
	const cJSON *status = ks_json_child(root, "status");
	const char *token = NULL, *cert = NULL, *key = NULL, *exp = NULL;
	if (!cJSON_IsObject(root)) {
		rc = ks_err_set(err, KS_EAUTH,
				"output is not an ExecCredential (not a JSON object)");
	} else if (!av || !*av) {
		rc = ks_err_set(err, KS_EAUTH, "output has no apiVersion (want %s)",
				api_version ? api_version : "client.authentication.k8s.io/v1");
	} else if (api_version && strcmp(av, api_version)) {
		rc = ks_err_set(err, KS_EAUTH,
				"plugin is configured to use API version %s, plugin returned "
				"version %s",
				api_version, known_api_version(av));
	} else if (strcmp(av, "client.authentication.k8s.io/v1") &&
		   strcmp(av, "client.authentication.k8s.io/v1beta1")) {
		rc = ks_err_set(err, KS_EAUTH, "API version %s is not supported",
				known_api_version(av));
	} else if (!kind || strcmp(kind, "ExecCredential")) {
		rc = ks_err_set(err, KS_EAUTH, "output's kind is %s ExecCredential",
				kind ? "not" : "missing, not");
	} else if (!cJSON_IsObject(status)) {
		rc = ks_err_set(err, KS_EAUTH, "plugin didn't return a status field");
	}
	if (!rc)
		rc = status_str(status, "token", &token, err);
	if (!rc)
		rc = status_str(status, "clientCertificateData", &cert, err);
	if (!rc)
		rc = status_str(status, "clientKeyData", &key, err);
	if (!rc)
		rc = status_str(status, "expirationTimestamp", &exp, err);
	if (token && !*token)
		token = NULL;
	if (cert && !*cert)
		cert = NULL;
	if (key && !*key)
		key = NULL;
	if (!rc && !token && !cert && !key)
		rc = ks_err_set(err, KS_EAUTH, "plugin didn't return a token or cert/key pair");
	if (!rc && !cert != !key)
		rc = ks_err_set(err, KS_EAUTH,
				"plugin returned only a client certificate or a key, not both");
	if (!rc && cert && (!has_pem_block(cert, strlen(cert)) || !has_pem_block(key, strlen(key))))
		rc = ks_err_set(err, KS_EAUTH,
				"status.clientCertificateData and clientKeyData must be PEM "
				"(-----BEGIN ...), not base64");
	if (!rc && exp && *exp)
		rc = parse_expiry(exp, &out->expiry_ns, err);
	if (!rc) {
		out->token = token ? ks_strdup(token) : NULL;
		if (cert) {
			out->cert.len = strlen(cert);
			out->cert.data = ks_strdup(cert);
			out->key.len = strlen(key);
			out->key.data = ks_strdup(key);
		}
		out->from_exec = true;
	}
	/* The tree holds the token: wipe its strings before freeing. */
	if (cJSON_IsObject(status)) {
		for (const cJSON *c = status->child; c; c = c->next)
			if (cJSON_IsString(c) && c->valuestring)
				explicit_bzero(c->valuestring, strlen(c->valuestring));
	}
	cJSON_Delete(root);
	if (rc)
		kube_credential_release(out);
	return rc;
}

/* ---- KUBERNETES_EXEC_INFO ---------------------------------------------------------------- */

char *kube_exec_info_json(const struct kube_config *cfg)
{
	const struct kube_exec_config *x = &cfg->exec;
	struct ks_buf b;
	ks_buf_init(&b, KS_BUF_UNLIMITED);
	ks_buf_appendstr(&b, "{\"kind\":\"ExecCredential\",\"apiVersion\":");
	ks_buf_append_json_string(&b, x->api_version ? x->api_version : "");
	ks_buf_appendstr(&b, ",\"spec\":{");
	if (x->provide_cluster_info) {
		/* client.authentication.k8s.io Cluster: the CA is always passed as data. */
		ks_buf_appendstr(&b, "\"cluster\":{\"server\":");
		ks_buf_append_json_string(&b, cfg->server ? cfg->server : "");
		if (cfg->tls_server_name) {
			ks_buf_appendstr(&b, ",\"tls-server-name\":");
			ks_buf_append_json_string(&b, cfg->tls_server_name);
		}
		if (cfg->insecure_skip_tls_verify)
			ks_buf_appendstr(&b, ",\"insecure-skip-tls-verify\":true");
		if (cfg->ca.data) {
			char *ca = ks_base64_encode(cfg->ca.data, cfg->ca.len, NULL);
			ks_buf_appendstr(&b, ",\"certificate-authority-data\":\"");
			ks_buf_appendstr(&b, ca);
			ks_buf_appendc(&b, '"');
			free(ca);
		}
		if (cfg->proxy_url) {
			ks_buf_appendstr(&b, ",\"proxy-url\":");
			ks_buf_append_json_string(&b, cfg->proxy_url);
		}
		if (cfg->disable_compression)
			ks_buf_appendstr(&b, ",\"disable-compression\":true");
		if (x->cluster_config_json) {
			ks_buf_appendstr(&b, ",\"config\":");
			ks_buf_appendstr(&b, x->cluster_config_json);
		}
		ks_buf_appendstr(&b, "},");
	}
	ks_buf_appendstr(&b, "\"interactive\":false}}");
	return ks_buf_detach(&b);
}

/* ---- running the plugin ------------------------------------------------------------------ */

/* Where execve should go: the command itself when it holds a '/', else the first executable
 * regular file of that name in $PATH (exec.LookPath). NULL: not found. */
static char *look_path(const char *cmd)
{
	struct stat st;
	if (strchr(cmd, '/'))
		return stat(cmd, &st) == 0 ? ks_strdup(cmd) : NULL;
	const char *path = getenv("PATH");
	if (!path || !*path)
		path = "/usr/local/bin:/usr/bin:/bin";
	const char *p = path;
	for (;;) {
		const char *colon = strchr(p, ':');
		size_t n = colon ? (size_t)(colon - p) : strlen(p);
		char *cand = n ? ks_asprintf("%.*s/%s", (int)n, p, cmd) : ks_asprintf("./%s", cmd);
		if (stat(cand, &st) == 0 && S_ISREG(st.st_mode) && access(cand, X_OK) == 0)
			return cand;
		free(cand);
		if (!colon)
			return NULL;
		p = colon + 1;
	}
}

static bool env_name_eq(const char *entry, const char *name, size_t nlen)
{
	return !strncmp(entry, name, nlen) && entry[nlen] == '=';
}

/* environ, minus the names the plugin config sets, plus those, plus KUBERNETES_EXEC_INFO
 * (the later value of a name wins, as Go's exec dedups). */
static char **build_env(const struct kube_exec_config *x, const char *info, size_t *count)
{
	size_t n = 0, cap = 0;
	char **env = NULL;
	for (char **e = environ; e && *e; e++) {
		bool drop = env_name_eq(*e, EXEC_INFO_ENV, strlen(EXEC_INFO_ENV));
		for (size_t i = 0; i < x->nenv && !drop; i++) {
			const char *eq = strchr(x->env[i], '=');
			size_t nl = eq ? (size_t)(eq - x->env[i]) : strlen(x->env[i]);
			drop = env_name_eq(*e, x->env[i], nl);
		}
		if (!drop) {
			env = ks_grow(env, sizeof *env, n + 1, &cap);
			env[n++] = ks_strdup(*e);
		}
	}
	for (size_t i = 0; i < x->nenv; i++) {
		bool later = false; /* a later entry of the same name wins */
		const char *eq = strchr(x->env[i], '=');
		size_t nl = eq ? (size_t)(eq - x->env[i]) : strlen(x->env[i]);
		for (size_t j = i + 1; j < x->nenv && !later; j++)
			later = env_name_eq(x->env[j], x->env[i], nl);
		if (later)
			continue;
		env = ks_grow(env, sizeof *env, n + 1, &cap);
		env[n++] = ks_strdup(x->env[i]);
	}
	env = ks_grow(env, sizeof *env, n + 2, &cap);
	env[n++] = ks_asprintf("%s=%s", EXEC_INFO_ENV, info);
	env[n] = NULL;
	*count = n;
	return env;
}

static void free_strv(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		explicit_bzero(v[i], strlen(v[i]));
		free(v[i]);
	}
	free(v);
}

/* Keep our pipe ends off 0, 1 and 2, so the child's dup2 cannot clobber them. */
static int fd_above_stdio(int fd)
{
	if (fd > 2)
		return fd;
	int nfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	close(fd);
	return nfd;
}

static int make_pipe(int p[2])
{
	if (pipe2(p, O_CLOEXEC) != 0)
		return -1;
	p[0] = fd_above_stdio(p[0]);
	p[1] = fd_above_stdio(p[1]);
	return p[0] < 0 || p[1] < 0 ? -1 : 0;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* The plugin's stderr, flattened to one line and cut, for an error message. */
static void stderr_excerpt(const struct ks_buf *e, char *out, size_t n)
{
	size_t o = 0;
	bool space = false;
	out[0] = '\0';
	for (size_t i = 0; i < e->len && o + 4 < n && o < STDERR_IN_MESSAGE; i++) {
		unsigned char c = (unsigned char)e->data[i];
		if (c == '\n' || c == '\r' || c == '\t' || c == ' ' || c < 0x20 || c == 0x7f) {
			space = o > 0;
			continue;
		}
		if (space) {
			out[o++] = ' ';
			space = false;
		}
		out[o++] = (char)c;
	}
	bool cut = o >= STDERR_IN_MESSAGE || e->len >= e->max;
	if (cut && o + 4 < n) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
}

static void kill_group(pid_t pid)
{
	kill(-pid, SIGKILL); /* the plugin and anything it started */
	kill(pid, SIGKILL);
}

/* Wait for the child until deadline (monotonic ms); -1: gone without a status (ECHILD). */
static int wait_child(pid_t pid, int64_t deadline, int *status, bool *timed_out)
{
	*timed_out = false;
	for (;;) {
		pid_t r = waitpid(pid, status, WNOHANG);
		if (r == pid)
			return 0;
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (ks_mono_ms() >= deadline) {
			*timed_out = true;
			kill_group(pid);
			while (waitpid(pid, status, 0) < 0 && errno == EINTR)
				;
			return 0;
		}
		struct timespec ts = {0, 5 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
}

int kube_exec_run(const struct kube_config *cfg, struct kube_credential *out, struct ks_err *err)
{
	const struct kube_exec_config *x = &cfg->exec;
	memset(out, 0, sizeof *out);
	if (!cfg->has_exec || !x->command)
		return ks_err_set(err, KS_EINVAL, "no exec plugin is configured");
	if (x->interactive_mode == KUBE_EXEC_INTERACTIVE_ALWAYS)
		return ks_err_set(err, KS_EAUTH,
				  "exec plugin %s: interactiveMode Always needs a terminal on "
				  "standard input, and kswarm never gives plugins one",
				  x->command);
	char *path = look_path(x->command);
	struct stat pst;
	int run_errno = 0;
	if (path && stat(path, &pst) != 0)
		run_errno = errno;
	else if (path && !S_ISREG(pst.st_mode))
		run_errno = S_ISDIR(pst.st_mode) ? EISDIR : EACCES;
	else if (path && access(path, X_OK) != 0)
		run_errno = errno;
	if (run_errno) {
		/* Checked here rather than by a failing execve in the child. */
		int rc = ks_err_set(err, KS_EAUTH, "exec plugin %s: cannot run %s: %s", x->command,
				    path, strerror(run_errno));
		free(path);
		return rc;
	}
	if (!path) {
		if (x->install_hint)
			return ks_err_set(err, KS_EAUTH,
					  "exec plugin: executable %s not found\n\n%s", x->command,
					  x->install_hint);
		return ks_err_set(err, KS_EAUTH,
				  "exec plugin: executable %s not found (it is looked up in $PATH "
				  "unless it holds a '/')",
				  x->command);
	}
	int timeout_ms =
		cfg->exec_timeout_ms > 0 ? cfg->exec_timeout_ms : KUBE_EXEC_TIMEOUT_MS_DEFAULT;
	char *info = kube_exec_info_json(cfg);
	size_t nenv = 0;
	char **envp = build_env(x, info, &nenv);
	free(info);
	char **argv = ks_calloc(x->nargs + 2, sizeof *argv);
	argv[0] = x->command;
	for (size_t i = 0; i < x->nargs; i++)
		argv[i + 1] = x->args[i];

	int outp[2] = {-1, -1}, errp[2] = {-1, -1}, failp[2] = {-1, -1};
	int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	devnull = devnull < 0 ? -1 : fd_above_stdio(devnull);
	struct ks_buf so, se;
	ks_buf_init(&so, KUBE_EXEC_STDOUT_MAX);
	ks_buf_init(&se, KUBE_EXEC_STDERR_MAX);
	int rc = 0;
	pid_t pid = -1;
	if (devnull < 0 || make_pipe(outp) || make_pipe(errp) || make_pipe(failp)) {
		rc = ks_err_set(err, KS_EAUTH, "exec plugin %s: cannot set up pipes: %s",
				x->command, strerror(errno));
		goto out;
	}
	int64_t deadline = ks_mono_ms() + timeout_ms;
	KS_DEBUG("auth", "running exec plugin %s", x->command);
	pid = fork();
	if (pid < 0) {
		rc = ks_err_set(err, KS_EAUTH, "exec plugin %s: fork: %s", x->command,
				strerror(errno));
		goto out;
	}
	if (pid == 0) {
		/* Child: only async-signal-safe calls until execve. */
		setpgid(0, 0);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		struct sigaction dfl;
		memset(&dfl, 0, sizeof dfl);
		dfl.sa_handler = SIG_DFL;
		sigaction(SIGPIPE, &dfl, NULL);
		if (dup2(devnull, 0) < 0 || dup2(outp[1], 1) < 0 || dup2(errp[1], 2) < 0)
			goto child_fail;
		close_range(3, ~0U, CLOSE_RANGE_CLOEXEC); /* no other fd of ours leaks */
		execve(path, argv, envp);
	child_fail:;
		int exec_errno = errno;
		ssize_t w = write(failp[1], &exec_errno, sizeof exec_errno);
		(void)w;
		_exit(127);
	}
	close_fd(&outp[1]);
	close_fd(&errp[1]);
	close_fd(&failp[1]);
	close_fd(&devnull);
	int child_errno = 0;
	ssize_t got;
	while ((got = read(failp[0], &child_errno, sizeof child_errno)) < 0 && errno == EINTR)
		;
	if (got == (ssize_t)sizeof child_errno) {
		int st;
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
		pid = -1;
		rc = ks_err_set(err, KS_EAUTH, "exec plugin %s: cannot run %s: %s", x->command,
				path, strerror(child_errno));
		goto out;
	}
	fcntl(outp[0], F_SETFL, O_NONBLOCK);
	fcntl(errp[0], F_SETFL, O_NONBLOCK);
	bool timed_out = false, too_big = false;
	char chunk[16384];
	while ((outp[0] >= 0 || errp[0] >= 0) && !timed_out && !too_big) {
		struct pollfd pf[2] = {{.fd = outp[0], .events = POLLIN},
				       {.fd = errp[0], .events = POLLIN}};
		int64_t left = deadline - ks_mono_ms();
		if (left <= 0) {
			timed_out = true;
			break;
		}
		int pr = poll(pf, 2, left > 1000 ? 1000 : (int)left);
		if (pr < 0 && errno != EINTR) {
			rc = ks_err_set(err, KS_EAUTH, "exec plugin %s: poll: %s", x->command,
					strerror(errno));
			break;
		}
		for (int i = 0; i < 2 && pr > 0; i++) {
			int *fd = i == 0 ? &outp[0] : &errp[0];
			if (*fd < 0 || !(pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			ssize_t n = read(*fd, chunk, sizeof chunk);
			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				continue;
			if (n <= 0) {
				close_fd(fd);
				continue;
			}
			if (i == 0) {
				if (ks_buf_append(&so, chunk, (size_t)n))
					too_big = true;
			} else {
				size_t room = se.max - se.len;
				ks_buf_append(&se, chunk, (size_t)n < room ? (size_t)n : room);
			}
		}
	}
	explicit_bzero(chunk, sizeof chunk);
	if (rc || too_big || timed_out)
		kill_group(pid);
	int status = 0;
	bool wait_timeout = false;
	int wr = wait_child(pid, timed_out || too_big || rc ? ks_mono_ms() : deadline, &status,
			    &wait_timeout);
	pid = -1;
	timed_out = timed_out || wait_timeout;
	char ex[STDERR_IN_MESSAGE + 8];
	stderr_excerpt(&se, ex, sizeof ex);
	if (rc)
		goto out;
	if (timed_out) {
		rc = ks_err_set(err, KS_ETIMEOUT, "exec plugin %s did not finish within %d ms%s%s",
				x->command, timeout_ms, ex[0] ? "; stderr: " : "", ex);
		goto out;
	}
	if (too_big) {
		rc = ks_err_set(err, KS_ETOOBIG, "exec plugin %s wrote more than %zu bytes",
				x->command, KUBE_EXEC_STDOUT_MAX);
		goto out;
	}
	if (wr == 0 && WIFEXITED(status) && WEXITSTATUS(status) != 0) {
		rc = ks_err_set(err, KS_EAUTH, "exec plugin %s failed with exit code %d%s%s",
				x->command, WEXITSTATUS(status), ex[0] ? ": " : "", ex);
		goto out;
	}
	if (wr == 0 && WIFSIGNALED(status)) {
		rc = ks_err_set(err, KS_EAUTH, "exec plugin %s was killed by signal %d%s%s",
				x->command, WTERMSIG(status), ex[0] ? ": " : "", ex);
		goto out;
	}
	struct ks_err pe = {0};
	rc = kube_execcred_parse(so.data ? so.data : "", so.len, x->api_version, out, &pe);
	if (rc)
		rc = ks_err_set(err, rc, "exec plugin %s: %s", x->command, pe.msg);
out:
	if (pid > 0) {
		kill_group(pid);
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	close_fd(&outp[0]);
	close_fd(&outp[1]);
	close_fd(&errp[0]);
	close_fd(&errp[1]);
	close_fd(&failp[0]);
	close_fd(&failp[1]);
	close_fd(&devnull);
	if (so.data)
		explicit_bzero(so.data, so.len);
	ks_buf_release(&so);
	ks_buf_release(&se);
	free(argv);
	free_strv(envp, nenv);
	free(path);
	return rc;
}
