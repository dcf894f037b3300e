/* run.c — run helm, git or gzip for the reconciler: posix_spawnp (the $PATH look-up, no
 * shell, so no quoting of values), KUBECONFIG set for helm, a working directory for git.
 * stdout is read into the caller's buffer (bounded), stderr goes to an anonymous memfd and
 * its first lines make the error message when the command fails. A command still running
 * after RC_RUN_TIMEOUT_MS is killed with its process group (KS_ETIMEOUT). The arguments
 * are printed in errors; callers never pass a secret value as an argument. */
#include "base/common.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/timeutil.h"
#include "reconcile/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define STDERR_KEEP 600

static char **env_with(const char *name, const char *value)
{
	size_t n = 0, nlen = strlen(name);
	for (char **e = environ; e && *e; e++)
		n++;
	char **env = ks_calloc(n + 2, sizeof *env);
	size_t k = 0;
	for (char **e = environ; e && *e; e++)
		if (!value || strncmp(*e, name, nlen) != 0 || (*e)[nlen] != '=')
			env[k++] = ks_strdup(*e);
	if (value)
		env[k++] = ks_asprintf("%s=%s", name, value);
	return env;
}

static void env_free(char **env)
{
	for (char **e = env; *e; e++)
		free(*e);
	free(env);
}

static void command_line(struct ks_buf *b, const char *const argv[])
{
	for (int i = 0; argv[i] && b->len < 300; i++)
		ks_buf_appendf(b, "%s%s", i ? " " : "", argv[i]);
}

int rc_run(const char *const argv[], const char *kubeconfig, const char *cwd,
	   const char *in_path, struct ks_buf *out, struct ks_err *err)
{
	int outp[2] = {-1, -1};
	int errfd = memfd_create("rc-stderr", MFD_CLOEXEC);
	struct ks_buf cmd;
	ks_buf_init(&cmd, KS_BUF_UNLIMITED);
	command_line(&cmd, argv);
	char **env = env_with("KUBECONFIG", kubeconfig);
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	int rc = 0;
	pid_t pid = -1;
	if (errfd < 0 || pipe2(outp, O_CLOEXEC)) {
		rc = ks_err_set(err, KS_EIO, "%s: cannot set up pipes: %s", cmd.data,
				strerror(errno));
		goto out;
	}
	posix_spawn_file_actions_addopen(&fa, 0, in_path ? in_path : "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, outp[1], 1);
	posix_spawn_file_actions_adddup2(&fa, errfd, 2);
	if (cwd)
		posix_spawn_file_actions_addchdir_np(&fa, cwd);
	posix_spawnattr_t attr;
	posix_spawnattr_init(&attr);
	posix_spawnattr_setpgroup(&attr, 0);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
	int e = posix_spawnp(&pid, argv[0], &fa, &attr, (char *const *)argv, env);
	posix_spawnattr_destroy(&attr);
	close(outp[1]);
	outp[1] = -1;
	if (e) {
		pid = -1;
		rc = ks_err_set(err, KS_EIO, "%s: cannot run %s: %s", cmd.data, argv[0],
				strerror(e));
		goto out;
	}
	char chunk[16384];
	bool too_big = false, timed_out = false;
	int64_t deadline = ks_mono_ms() + RC_RUN_TIMEOUT_MS;
	for (;;) {
		int64_t left = deadline - ks_mono_ms();
		struct pollfd pf = {.fd = outp[0], .events = POLLIN};
		int pr = left > 0 ? poll(&pf, 1, left > 1000 ? 1000 : (int)left) : 0;
		if (pr < 0 && errno == EINTR)
			continue;
		if (left <= 0) {
			timed_out = true;
			kill(-pid, SIGKILL); /* its process group: helm's own children too */
			break;
		}
		if (pr == 0)
			continue;
		ssize_t n = read(outp[0], chunk, sizeof chunk);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (out && !too_big && ks_buf_append(out, chunk, (size_t)n))
			too_big = true;
	}
	int st = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (timed_out) {
		rc = ks_err_set(err, KS_ETIMEOUT, "%s: no end after %d s; killed", cmd.data,
				RC_RUN_TIMEOUT_MS / 1000);
	} else if (too_big) {
		rc = ks_err_set(err, KS_ETOOBIG, "%s: output larger than %zu bytes", cmd.data,
				out->max);
	} else if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		char msg[STDERR_KEEP + 1] = "";
		ssize_t n = pread(errfd, msg, STDERR_KEEP, 0);
		msg[n > 0 ? n : 0] = '\0';
		size_t len = strlen(msg);
		while (len && (msg[len - 1] == '\n' || msg[len - 1] == ' '))
			msg[--len] = '\0';
		rc = ks_err_set(err, KS_EIO, "%s: %s %d: %s", cmd.data,
				WIFEXITED(st) ? "exit status" : "killed by signal",
				WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st),
				len ? msg : "(no output on stderr)");
	}
out:
	posix_spawn_file_actions_destroy(&fa);
	if (outp[0] >= 0)
		close(outp[0]);
	if (errfd >= 0)
		close(errfd);
	env_free(env);
	ks_buf_release(&cmd);
	return rc;
}
