/* strutil.c — see strutil.h. */
#include "base/common.h"
#include "base/strutil.h"

#include <string.h>

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
