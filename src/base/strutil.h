/* strutil.h — small string helpers shared by modules. */
#ifndef KS_STRUTIL_H
#define KS_STRUTIL_H

#include <stdbool.h>
#include <stdint.h>

/* Trim ASCII whitespace (space, tab, CR, LF) at both ends, in place, as Go's
 * strings.TrimSpace does for ASCII. Returns s. */
char *ks_trim_space(char *s);

/* Go's strconv.ParseInt(s, 10, 64): an optional sign, decimal digits, no overflow. */
bool ks_parse_int64(const char *s, int64_t *out);

/* A file of the installation, relative to the directory above the executable's
 * (".../build/kswarm" -> ".../REL"), when it is readable; else NULL. Caller frees. */
char *ks_exe_relative(const char *rel);

#endif
