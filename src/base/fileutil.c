/* fileutil.c — see fileutil.h. */
#include "base/common.h"
#include "base/fileutil.h"

#include "base/alloc.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/strutil.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

int ks_mkdir_p(const char *dir, mode_t mode, struct ks_err *err)
{
	char *p = ks_strdup(dir);
	int rc = 0;
	for (char *s = p + 1; !rc; s++) {
		if (*s != '/' && *s)
			continue;
		char c = *s;
		*s = '\0';
		if (mkdir(p, mode) && errno != EEXIST)
			rc = ks_err_set(err, KS_EIO, "creating %s: %s", p, strerror(errno));
		*s = c;
		if (!c)
			break;
	}
	free(p);
	return rc;
}

int ks_read_secret_line(const char *path, const char *what, size_t max, char **out,
			struct ks_err *err)
{
	*out = NULL;
	struct ks_buf b;
	ks_buf_init(&b, max);
	int rc = ks_buf_read_file(&b, path, err);
	if (rc) {
		ks_buf_release(&b);
		return ks_err_wrap(err, "%s", what);
	}
	char *text = ks_buf_detach(&b);
	if (!text)
		text = ks_strdup("");
	size_t len = strlen(text);
	text[strcspn(text, "\r\n")] = '\0';
	char *s = ks_trim_space(text);
	if (*s)
		*out = ks_strdup(s);
	else
		rc = ks_err_set(err, KS_EINVAL, "%s %s is empty", what, path);
	explicit_bzero(text, len);
	free(text);
	return rc;
}
