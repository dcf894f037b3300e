/* base64.c — see base64.h. */
#include "base/common.h"
#include "base/base64.h"

#include <string.h>

static const char b64_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t ks_base64_encoded_len(size_t n)
{
	return (n + 2) / 3 * 4;
}

char *ks_base64_encode(const void *data, size_t len, size_t *outlen)
{
	const unsigned char *in = data;
	size_t n = ks_base64_encoded_len(len);
	char *out = ks_malloc(n + 1), *o = out;
	size_t i = 0;
	for (; i + 3 <= len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		*o++ = b64_alphabet[v >> 18 & 63];
		*o++ = b64_alphabet[v >> 12 & 63];
		*o++ = b64_alphabet[v >> 6 & 63];
		*o++ = b64_alphabet[v & 63];
	}
	if (len - i == 1) {
		uint32_t v = (uint32_t)in[i] << 16;
		*o++ = b64_alphabet[v >> 18 & 63];
		*o++ = b64_alphabet[v >> 12 & 63];
		*o++ = '=';
		*o++ = '=';
	} else if (len - i == 2) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		*o++ = b64_alphabet[v >> 18 & 63];
		*o++ = b64_alphabet[v >> 12 & 63];
		*o++ = b64_alphabet[v >> 6 & 63];
		*o++ = '=';
	}
	*o = '\0';
	if (outlen)
		*outlen = n;
	return out;
}

static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

static int bad_at(struct ks_err *err, size_t off)
{
	return ks_err_set(err, KS_EINVAL, "illegal base64 data at input byte %zu", off);
}

int ks_base64_decode(const char *s, size_t len, unsigned char **out, size_t *outlen,
		     struct ks_err *err)
{
	*out = NULL;
	if (outlen)
		*outlen = 0;
	unsigned char *buf = ks_malloc(len / 4 * 3 + 4), *o = buf;
	uint32_t quantum = 0;
	int j = 0; /* characters in the current quantum */
	size_t i = 0;
	bool padded = false;
	for (; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\r' || c == '\n')
			continue;
		if (c == '=') {
			/* "xx==" or "xxx=": padding ends the quantum; only newlines may follow */
			if (j < 2)
				goto bad;
			size_t need = (size_t)(4 - j), k = i;
			while (need > 0 && k < len) {
				if (s[k] == '=')
					need--;
				else if (s[k] != '\r' && s[k] != '\n')
					break;
				k++;
			}
			if (need > 0) {
				i = k;
				goto bad;
			}
			for (; k < len; k++) {
				if (s[k] != '\r' && s[k] != '\n') {
					i = k;
					goto bad;
				}
			}
			quantum <<= 6 * (4 - j);
			*o++ = (unsigned char)(quantum >> 16);
			if (j == 3)
				*o++ = (unsigned char)(quantum >> 8);
			j = 0;
			padded = true;
			break;
		}
		int v = b64_value(c);
		if (v < 0)
			goto bad;
		quantum = quantum << 6 | (uint32_t)v;
		if (++j == 4) {
			*o++ = (unsigned char)(quantum >> 16);
			*o++ = (unsigned char)(quantum >> 8);
			*o++ = (unsigned char)quantum;
			quantum = 0;
			j = 0;
		}
	}
	if (!padded && j != 0) {
		i = len;
		goto bad;
	}
	*o = '\0';
	*out = buf;
	if (outlen)
		*outlen = (size_t)(o - buf);
	return 0;
bad:
	free(buf);
	return bad_at(err, i);
}
