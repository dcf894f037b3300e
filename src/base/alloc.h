/* alloc.h — allocation that never returns NULL.
 * Out of memory is not recoverable for a daemon like kswarm: these wrappers print a
 * message and abort(), so no caller writes allocation-failure branches (as redis, jq).
 * Ownership: the caller owns what these return and frees it with free(). */
#ifndef KS_ALLOC_H
#define KS_ALLOC_H

#include <stdarg.h>
#include <stddef.h>

void *ks_malloc(size_t n);
void *ks_calloc(size_t count, size_t size);
void *ks_realloc(void *p, size_t n);
/* Grow an array to hold at least `need` elements of `elem` bytes; capacity doubles. */
void *ks_grow(void *p, size_t elem, size_t need, size_t *cap);
char *ks_strdup(const char *s);
char *ks_strndup(const char *s, size_t n);
/* printf into a fresh heap string. */
char *ks_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *ks_vasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

#endif
