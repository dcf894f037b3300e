/* fileutil.h — small file-system helpers several modules share: creating a directory with
 * its parents, and reading a secret (a token, a URL with a key in it) from a one-line file.
 * Ownership: *out strings are the caller's (free; wipe secrets before, as callers do). */
#ifndef KS_BASE_FILEUTIL_H
#define KS_BASE_FILEUTIL_H

#include <stddef.h>
#include <sys/types.h>

struct ks_err;

/* mkdir -p: dir and its missing parents, new ones with mode. KS_EIO naming the directory
 * that could not be created. */
int ks_mkdir_p(const char *dir, mode_t mode, struct ks_err *err);

/* The first line of the file at path (at most max bytes read), without surrounding space;
 * KS_EINVAL "WHAT PATH is empty" when there is nothing, else the read error wrapped with
 * what. The read buffer is wiped: the value exists only in *out. */
int ks_read_secret_line(const char *path, const char *what, size_t max, char **out,
			struct ks_err *err);

#endif
