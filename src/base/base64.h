/* base64.h — standard base64 (RFC 4648 alphabet, '=' padding), as Go's base64.StdEncoding.
 * Kubernetes writes []byte fields (certificate-authority-data, client-key-data, Secret data)
 * in this encoding; decoding follows Go's rules, so the same inputs are accepted:
 * padding is required, '\r' and '\n' anywhere are ignored, nothing may follow the padding,
 * and a bad input fails with the byte offset of the first offending character. The
 * decoded bytes themselves never appear in an error message (they are often keys).
 * Ownership: the strings and buffers these return belong to the caller (free()). */
#ifndef KS_BASE64_H
#define KS_BASE64_H

#include <stddef.h>

struct ks_err;

/* Length of the encoding of n bytes, without the terminating NUL. */
size_t ks_base64_encoded_len(size_t n);
/* Encode len bytes; returns a NUL-terminated string (its length is in *outlen when not NULL). */
char *ks_base64_encode(const void *data, size_t len, size_t *outlen);
/* Decode len characters of s into a fresh buffer *out (NUL-terminated for convenience, the
 * NUL not counted in *outlen). On error *out is NULL and err says
 * "illegal base64 data at input byte N". */
int ks_base64_decode(const char *s, size_t len, unsigned char **out, size_t *outlen,
		     struct ks_err *err);

#endif
