/* termsafe.h — text from outside (an LLM's tokens) made safe to print on a terminal and to
 * keep on one line, fed in pieces as it arrives.
 *
 * Dropped: escape sequences (CSI "ESC [ … final byte", OSC "ESC ] … BEL or ESC \", and
 * two-byte "ESC x"), the C1 controls U+0080..U+009F (0xC2 0x80..0x9F in UTF-8: some
 * terminals obey them), DEL. Every run of white space and other C0 controls becomes one
 * space; spaces at the start are dropped. A sequence split across pieces is still dropped:
 * the filter keeps its state between calls. */
#ifndef KS_BASE_TERMSAFE_H
#define KS_BASE_TERMSAFE_H

#include <stdbool.h>
#include <stddef.h>

struct ks_buf;

struct ks_termsafe {
	int state;       /* inside an escape sequence, or after a 0xC2 */
	bool last_space; /* the last byte written was a space, or nothing was written */
	unsigned char last; /* the last byte written (0: none) */
};

/* A fresh filter: nothing written yet. */
void ks_termsafe_init(struct ks_termsafe *t);
/* Append the safe form of s[0..n) to out. */
void ks_termsafe_feed(struct ks_termsafe *t, const char *s, size_t n, struct ks_buf *out);

#endif
