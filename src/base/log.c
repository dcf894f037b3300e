/* log.c — see log.h. */
#include "base/common.h"
#include "base/timeutil.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static enum ks_log_level current = KS_LOG_WARN;
static bool initialised;

static void init_from_env(void)
{
	initialised = true;
	const char *env = getenv("KSWARM_LOG");
	int l = env ? ks_log_level_parse(env) : -1;
	if (l >= 0)
		current = (enum ks_log_level)l;
}

void ks_log_set_level(enum ks_log_level level)
{
	initialised = true;
	current = level;
}

enum ks_log_level ks_log_get_level(void)
{
	if (!initialised)
		init_from_env();
	return current;
}

int ks_log_level_parse(const char *s)
{
	static const char *names[] = {"error", "warn", "info", "debug", "trace"};
	for (size_t i = 0; i < KS_ARRAY_LEN(names); i++)
		if (!strcmp(s, names[i]))
			return (int)i;
	return -1;
}

void ks_log(enum ks_log_level level, const char *module, const char *fmt, ...)
{
	static const char *names[] = {"error", "warn", "info", "debug", "trace"};
	if (level > ks_log_get_level())
		return;
	char ts[40];
	ks_time_format_rfc3339_ms(ks_time_now_ms(), ts, sizeof ts);
	char line[4096];
	int n = snprintf(line, sizeof line, "%s %s %s: ", ts, names[level], module);
	va_list ap;
	va_start(ap, fmt);
	if (n > 0 && (size_t)n < sizeof line)
		vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s\n", line);
}
