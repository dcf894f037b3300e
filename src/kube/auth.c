/* auth.c — the credential cache behind kube_auth_get: token-file rotation and the exec
 * plugin's cached credential (see auth.h; the plugin itself runs in execcred.c). */
#include "base/common.h"
#include "base/strutil.h"
#include "kube/auth.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/timeutil.h"

/* client-go re-reads a token file every minute (a cached file token source with a 1-minute
 * period); we also re-read as soon as the file's identity or mtime changes. */
#define TOKEN_FILE_RECHECK_MS 60000

struct kube_auth_state {
	pthread_mutex_t mu;
	uint64_t generation;

	/* tokenFile */
	char *file_token; /* the last good content, trimmed; NULL before the first read */
	bool have_stat, force_reread;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	int64_t last_read_ms; /* monotonic */

	/* exec plugin */
	bool exec_valid;
	struct kube_credential exec_cred;
};


void kube_credential_release(struct kube_credential *c)
{
	if (!c)
		return;
	kube_secret_free(c->token);
	kube_pem_free(&c->cert);
	kube_pem_free(&c->key);
	kube_secret_free(c->username);
	kube_secret_free(c->password);
	memset(c, 0, sizeof *c);
}

static void cred_copy(struct kube_credential *dst, const struct kube_credential *src)
{
	memset(dst, 0, sizeof *dst);
	dst->token = src->token ? ks_strdup(src->token) : NULL;
	kube_pem_copy(&dst->cert, &src->cert);
	kube_pem_copy(&dst->key, &src->key);
	dst->username = src->username ? ks_strdup(src->username) : NULL;
	dst->password = src->password ? ks_strdup(src->password) : NULL;
	dst->expiry_ns = src->expiry_ns;
	dst->from_exec = src->from_exec;
	dst->generation = src->generation;
}

void kube_auth_state_init(struct kube_config *cfg)
{
	struct kube_auth_state *st = ks_calloc(1, sizeof *st);
	pthread_mutex_init(&st->mu, NULL);
	st->generation = 1;
	cfg->auth = st;
}

void kube_auth_state_free(struct kube_config *cfg)
{
	struct kube_auth_state *st = cfg ? cfg->auth : NULL;
	if (!st)
		return;
	kube_secret_free(st->file_token);
	kube_credential_release(&st->exec_cred);
	pthread_mutex_destroy(&st->mu);
	free(st);
	cfg->auth = NULL;
}

/* Is the exec plugin the source? Not when anything else identifies the user (client-go's
 * exec authenticator steps aside for a token, basic auth or a client certificate). */
static bool uses_exec(const struct kube_config *cfg)
{
	return cfg->has_exec && !cfg->token && !cfg->token_file && !cfg->client_cert.data &&
	       !cfg->username;
}

static int read_token(const char *path, char **out)
{
	*out = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno;
	struct ks_buf b;
	ks_buf_init(&b, KUBE_CONFIG_FILE_MAX_BYTES);
	char chunk[4096];
	int rc = 0;
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof chunk);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = errno;
			break;
		}
		if (n == 0)
			break;
		if (ks_buf_append(&b, chunk, (size_t)n)) {
			rc = EFBIG;
			break;
		}
	}
	explicit_bzero(chunk, sizeof chunk);
	close(fd);
	if (rc) {
		if (b.data)
			explicit_bzero(b.data, b.len);
		ks_buf_release(&b);
		return rc;
	}
	char *s = ks_buf_detach(&b);
	ks_trim_space(s);
	if (!*s) {
		free(s);
		return ENODATA;
	}
	*out = s;
	return 0;
}

/* Re-read the token file when it changed (or a minute passed, or after a 401). A failed
 * re-read keeps the last good token, as client-go's cached token source. */
static void refresh_token_file(const struct kube_config *cfg, struct kube_auth_state *st)
{
	int64_t now = ks_mono_ms();
	struct stat sb;
	bool statted = stat(cfg->token_file, &sb) == 0;
	bool changed =
		statted && (!st->have_stat || sb.st_dev != st->dev || sb.st_ino != st->ino ||
			    sb.st_size != st->size || sb.st_mtim.tv_sec != st->mtime.tv_sec ||
			    sb.st_mtim.tv_nsec != st->mtime.tv_nsec);
	bool due = st->force_reread || !st->last_read_ms || changed ||
		   now - st->last_read_ms >= TOKEN_FILE_RECHECK_MS;
	if (!due)
		return;
	st->force_reread = false;
	st->last_read_ms = now ? now : 1;
	if (statted) {
		st->have_stat = true;
		st->dev = sb.st_dev;
		st->ino = sb.st_ino;
		st->size = sb.st_size;
		st->mtime = sb.st_mtim;
	}
	char *tok = NULL;
	int e = read_token(cfg->token_file, &tok);
	if (e) {
		KS_WARN("auth", "cannot read token file %s: %s; keeping the previous token",
			cfg->token_file, e == ENODATA ? "it is empty" : strerror(e));
		return;
	}
	const char *prev = st->file_token ? st->file_token : cfg->token;
	if (!prev || strcmp(prev, tok)) {
		st->generation++;
		KS_DEBUG("auth", "token file %s holds a new token", cfg->token_file);
	}
	kube_secret_free(st->file_token);
	st->file_token = tok;
}

int kube_auth_get(struct kube_config *cfg, struct kube_credential *out, struct ks_err *err)
{
	memset(out, 0, sizeof *out);
	if (!cfg || !cfg->auth)
		return ks_err_set(err, KS_EINVAL, "kube_auth_get: the kubeconfig is not loaded");
	struct kube_auth_state *st = cfg->auth;
	int rc = 0;
	pthread_mutex_lock(&st->mu);
	if (uses_exec(cfg)) {
		int64_t now_ns = ks_time_now_ms() * 1000000;
		/* As client-go: the credential is good until its expiry, with no early refresh. */
		if (st->exec_valid && st->exec_cred.expiry_ns && now_ns >= st->exec_cred.expiry_ns)
			st->exec_valid = false;
		if (!st->exec_valid) {
			struct kube_credential fresh;
			rc = kube_exec_run(cfg, &fresh, err);
			if (!rc) {
				kube_credential_release(&st->exec_cred);
				st->exec_cred = fresh;
				st->exec_cred.generation = ++st->generation;
				st->exec_valid = true;
			}
		}
		if (!rc)
			cred_copy(out, &st->exec_cred);
	} else {
		if (cfg->token_file)
			refresh_token_file(cfg, st);
		const char *tok = st->file_token ? st->file_token : cfg->token;
		out->token = tok ? ks_strdup(tok) : NULL;
		kube_pem_copy(&out->cert, &cfg->client_cert);
		kube_pem_copy(&out->key, &cfg->client_key);
		out->username = cfg->username ? ks_strdup(cfg->username) : NULL;
		out->password = cfg->password ? ks_strdup(cfg->password) : NULL;
		out->generation = st->generation;
	}
	pthread_mutex_unlock(&st->mu);
	return rc;
}

void kube_auth_invalidate(struct kube_config *cfg)
{
	struct kube_auth_state *st = cfg ? cfg->auth : NULL;
	if (!st)
		return;
	pthread_mutex_lock(&st->mu);
	if (st->exec_valid)
		KS_DEBUG("auth", "exec credential refused by the server; the plugin runs again");
	st->exec_valid = false;
	kube_credential_release(&st->exec_cred);
	st->force_reread = true;
	pthread_mutex_unlock(&st->mu);
}
