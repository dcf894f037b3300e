/* buf.c — see buf.h. */
#include "base/common.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

void ks_buf_init(struct ks_buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
}

void ks_buf_release(struct ks_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

void ks_buf_reset(struct ks_buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

static int reserve(struct ks_buf *b, size_t n)
{
	if (n > b->max || b->len > b->max - n)
		return KS_ETOOBIG;
	size_t need = b->len + n + 1;
	if (need > b->cap) {
		size_t cap = b->cap ? b->cap : 64;
		while (cap < need)
			cap *= 2;
		b->data = ks_realloc(b->data, cap);
		b->cap = cap;
	}
	return 0;
}

int ks_buf_append(struct ks_buf *b, const void *p, size_t n)
{
	if (reserve(b, n))
		return KS_ETOOBIG;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int ks_buf_appendstr(struct ks_buf *b, const char *s)
{
	return ks_buf_append(b, s, strlen(s));
}

int ks_buf_appendc(struct ks_buf *b, char c)
{
	return ks_buf_append(b, &c, 1);
}

int ks_buf_vappendf(struct ks_buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	va_copy(ap2, ap);
	int n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		return KS_EINVAL;
	if (reserve(b, (size_t)n))
		return KS_ETOOBIG;
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return 0;
}

int ks_buf_appendf(struct ks_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = ks_buf_vappendf(b, fmt, ap);
	va_end(ap);
	return rc;
}

void ks_buf_consume(struct ks_buf *b, size_t n)
{
	if (n >= b->len) {
		ks_buf_reset(b);
		return;
	}
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
	b->data[b->len] = '\0';
}

char *ks_buf_detach(struct ks_buf *b)
{
	char *p = b->data ? b->data : ks_strdup("");
	b->data = NULL;
	b->len = b->cap = 0;
	return p;
}

int ks_buf_append_json_string_go(struct ks_buf *b, const char *s, bool html_safe)
{
	int rc = ks_buf_appendc(b, '"');
	for (const unsigned char *p = (const unsigned char *)s; *p && !rc; p++) {
		switch (*p) {
		case '"': rc = ks_buf_append(b, "\\\"", 2); break;
		case '\\': rc = ks_buf_append(b, "\\\\", 2); break;
		case '\n': rc = ks_buf_append(b, "\\n", 2); break;
		case '\r': rc = ks_buf_append(b, "\\r", 2); break;
		case '\t': rc = ks_buf_append(b, "\\t", 2); break;
		default:
			if (*p < 0x20 || *p == 0x7f ||
			    (html_safe && (*p == '<' || *p == '>' || *p == '&'))) {
				rc = ks_buf_appendf(b, "\\u%04x", *p);
			} else if (html_safe && *p == 0xe2 && p[1] == 0x80 &&
				   (p[2] == 0xa8 || p[2] == 0xa9)) {
				rc = ks_buf_appendstr(b, p[2] == 0xa8 ? "\\u2028" : "\\u2029");
				p += 2;
			} else {
				rc = ks_buf_appendc(b, (char)*p);
			}
		}
	}
	return rc ? rc : ks_buf_appendc(b, '"');
}

int ks_buf_append_json_string(struct ks_buf *b, const char *s)
{
	return ks_buf_append_json_string_go(b, s, false);
}

int ks_buf_append_urlenc(struct ks_buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	int rc = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p && !rc; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		    *p == '-' || *p == '_' || *p == '.' || *p == '~') {
			rc = ks_buf_appendc(b, (char)*p);
		} else {
			char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};
			rc = ks_buf_append(b, e, 3);
		}
	}
	return rc;
}

int ks_buf_read_file(struct ks_buf *b, const char *path, struct ks_err *err)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return ks_err_set(err, errno == ENOENT ? KS_ENOTFOUND : KS_EIO, "%s: %s", path,
				  strerror(errno));
	char chunk[65536];
	size_t n;
	int rc = 0;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
		if (ks_buf_append(b, chunk, n)) {
			rc = ks_err_set(err, KS_ETOOBIG, "%s: larger than the %zu-byte limit", path,
					b->max);
			break;
		}
	}
	if (!rc && ferror(f))
		rc = ks_err_set(err, KS_EIO, "%s: read error", path);
	fclose(f);
	if (!rc && !b->data)
		ks_buf_append(b, "", 0);
	return rc;
}
