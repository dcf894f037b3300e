/* log.c — see log.h. */
#include "base/common.h"
#include "base/timeutil.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static enum ks_log_level current = KS_LOG_WARN;
static bool initialised;
static bool json_format; /* KSWARM_LOG_FORMAT=json */

static void init_from_env(void)
{
	initialised = true;
	const char *env = getenv("KSWARM_LOG");
	int l = env ? ks_log_level_parse(env) : -1;
	if (l >= 0)
		current = (enum ks_log_level)l;
	const char *fmt = getenv("KSWARM_LOG_FORMAT");
	json_format = fmt && !strcmp(fmt, "json");
}

void ks_log_set_level(enum ks_log_level level)
{
	if (!initialised)
		init_from_env();
	current = level;
}

/* s as the inside of a JSON string, appended at line[*n] (truncated to fit). */
static void json_escape_into(char *line, size_t cap, int *n, const char *s)
{
	for (; *s && (size_t)*n + 8 < cap; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			*n += snprintf(line + *n, cap - (size_t)*n, "\\%c", c);
		else if (c < 0x20)
			*n += snprintf(line + *n, cap - (size_t)*n, "\\u%04x", c);
		else
			line[(*n)++] = (char)c;
	}
	line[*n] = 0;
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
	char msg[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (!json_format) {
		fprintf(stderr, "%s %s %s: %s\n", ts, names[level], module, msg);
		return;
	}
	char line[8192];
	int n = snprintf(line, sizeof line, "{\"ts\":\"%s\",\"level\":\"%s\",\"module\":\"", ts,
			 names[level]);
	json_escape_into(line, sizeof line, &n, module);
	n += snprintf(line + n, sizeof line - (size_t)n, "\",\"msg\":\"");
	json_escape_into(line, sizeof line - 2, &n, msg);
	fprintf(stderr, "%s\"}\n", line);
}
