/* buf.h — a growable byte buffer with a ceiling (after curl's dynbuf).
 * Every buffer filled from outside (an API response, a watch event, a file) is created
 * with a maximum; appends past it fail with KS_ETOOBIG and leave the buffer as it was.
 * data is always NUL-terminated (the NUL is not counted in len).
 * Ownership: the buffer owns data; ks_buf_release frees it, ks_buf_detach hands it over. */
#ifndef KS_BUF_H
#define KS_BUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

struct ks_err;

struct ks_buf {
	char *data;
	size_t len;
	size_t cap;
	size_t max; /* ceiling on len */
};

#define KS_BUF_UNLIMITED ((size_t)-1 / 2)

void ks_buf_init(struct ks_buf *b, size_t max);
void ks_buf_release(struct ks_buf *b);
void ks_buf_reset(struct ks_buf *b); /* len = 0, keep memory */
int ks_buf_append(struct ks_buf *b, const void *p, size_t n);
int ks_buf_appendstr(struct ks_buf *b, const char *s);
int ks_buf_appendc(struct ks_buf *b, char c);
int ks_buf_appendf(struct ks_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int ks_buf_vappendf(struct ks_buf *b, const char *fmt, va_list ap);
/* Remove the first n bytes. */
void ks_buf_consume(struct ks_buf *b, size_t n);
/* Return data (never NULL) and leave b empty; the caller frees it. */
char *ks_buf_detach(struct ks_buf *b);
/* Append s as a JSON string literal with quotes (control characters and DEL as \u00XX, so
 * the literal is also a valid YAML double-quoted scalar). */
int ks_buf_append_json_string(struct ks_buf *b, const char *s);
/* The same; html_safe also escapes <, >, &, U+2028 and U+2029 as Go's encoding/json does. */
int ks_buf_append_json_string_go(struct ks_buf *b, const char *s, bool html_safe);
/* Append s percent-encoded for a URL query value. */
int ks_buf_append_urlenc(struct ks_buf *b, const char *s);

/* Read a whole file into b (respecting its ceiling). */
int ks_buf_read_file(struct ks_buf *b, const char *path, struct ks_err *err);

#endif
