/* strutil.c — see strutil.h. */
#include "base/common.h"
#include "base/strutil.h"

#include <string.h>
#include <unistd.h>

static int is_space(char c)
{
	return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

char *ks_trim_space(char *s)
{
	size_t n = strlen(s), i = 0;
	while (n > 0 && is_space(s[n - 1]))
		s[--n] = '\0';
	while (is_space(s[i]))
		i++;
	if (i)
		memmove(s, s + i, n - i + 1);
	return s;
}

char *ks_exe_relative(const char *rel)
{
	char exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n <= 0)
		return NULL;
	exe[n] = '\0';
	for (int up = 0; up < 2; up++) { /* .../build/kswarm -> .../build -> ... */
		char *slash = strrchr(exe, '/');
		if (!slash)
			return NULL;
		*slash = '\0';
	}
	char *p = ks_asprintf("%s/%s", exe, rel);
	if (access(p, R_OK) == 0)
		return p;
	free(p);
	return NULL;
}

bool ks_parse_int64(const char *s, int64_t *out)
{
	const char *p = s;
	bool neg = false;
	if (*p == '+' || *p == '-')
		neg = *p++ == '-';
	if (!*p)
		return false;
	uint64_t v = 0, limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; *p; p++) {
		if (*p < '0' || *p > '9')
			return false;
		unsigned d = (unsigned)(*p - '0');
		if (v > (limit - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = neg ? (int64_t)(0 - v) : (int64_t)v;
	return true;
}
