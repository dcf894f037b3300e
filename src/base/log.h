/* log.h — leveled logging to stderr.
 * Lines: "2026-11-21T10:00:02.123Z level module: message", or with KSWARM_LOG_FORMAT=json one
 * JSON object per line: {"ts","level","module","msg"}. The level is set once from
 * KSWARM_LOG (error|warn|info|debug|trace) or the CLI's -v flags.
 * Never log secrets: tokens, keys and Secret data are redacted by the callers that hold
 * them (kube/ never passes an Authorization header or a credential to ks_log). */
#ifndef KS_LOG_H
#define KS_LOG_H

enum ks_log_level { KS_LOG_ERROR, KS_LOG_WARN, KS_LOG_INFO, KS_LOG_DEBUG, KS_LOG_TRACE };

void ks_log_set_level(enum ks_log_level level);
enum ks_log_level ks_log_get_level(void);
/* Parse "debug" etc; returns -1 when unknown. */
int ks_log_level_parse(const char *s);
void ks_log(enum ks_log_level level, const char *module, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define ks_log_enabled(level) ((level) <= ks_log_get_level())
#define KS_ERROR(mod, ...) ks_log(KS_LOG_ERROR, mod, __VA_ARGS__)
#define KS_WARN(mod, ...) ks_log(KS_LOG_WARN, mod, __VA_ARGS__)
#define KS_INFO(mod, ...) ks_log(KS_LOG_INFO, mod, __VA_ARGS__)
#define KS_DEBUG(mod, ...)                                                                    \
	do {                                                                                  \
		if (ks_log_enabled(KS_LOG_DEBUG))                                            \
			ks_log(KS_LOG_DEBUG, mod, __VA_ARGS__);                              \
	} while (0)
#define KS_TRACE(mod, ...)                                                                    \
	do {                                                                                  \
		if (ks_log_enabled(KS_LOG_TRACE))                                            \
			ks_log(KS_LOG_TRACE, mod, __VA_ARGS__);                              \
	} while (0)

#endif
