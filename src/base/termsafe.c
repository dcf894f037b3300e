/* termsafe.c — see termsafe.h. States of the filter:
 *
 *   TEXT --ESC--> ESC --'['--> CSI --final byte 0x40..0x7E--> TEXT
 *                     --']'--> OSC --BEL--> TEXT;  OSC --ESC--> OSC_ESC --any--> TEXT
 *                     --other--> TEXT (that byte dropped too)
 *   TEXT --0xC2--> C2 --0x80..0x9F (C1 control)--> TEXT (both dropped)
 *                     --other--> TEXT (0xC2 and that byte kept)
 * A byte 0x80..0x9F is never written right after a 0xC2 (stray bytes could otherwise make
 * one: "0xC2 0xC2 0x9B 0x9B"). */
#include "base/common.h"
#include "base/termsafe.h"

#include "base/buf.h"

enum { TEXT, ESC, CSI, OSC, OSC_ESC, C2 };

void ks_termsafe_init(struct ks_termsafe *t)
{
	*t = (struct ks_termsafe){.state = TEXT, .last_space = true};
}

static void put(struct ks_termsafe *t, unsigned char c, struct ks_buf *out)
{
	bool space = c <= ' ' || c == 0x7f;
	if ((space && t->last_space) || (t->last == 0xc2 && c >= 0x80 && c <= 0x9f))
		return;
	ks_buf_appendc(out, space ? ' ' : (char)c);
	t->last_space = space;
	t->last = space ? ' ' : c;
}

void ks_termsafe_feed(struct ks_termsafe *t, const char *s, size_t n, struct ks_buf *out)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		switch (t->state) {
		case ESC:
			t->state = c == '[' ? CSI : c == ']' ? OSC : TEXT;
			continue;
		case CSI:
			if (c >= 0x40 && c <= 0x7e)
				t->state = TEXT;
			continue;
		case OSC:
			if (c == 0x07)
				t->state = TEXT;
			else if (c == 0x1b)
				t->state = OSC_ESC;
			continue;
		case OSC_ESC:
			t->state = TEXT;
			continue;
		case C2:
			t->state = TEXT;
			if (c >= 0x80 && c <= 0x9f)
				continue;
			put(t, 0xc2, out);
			break;
		default:
			break;
		}
		if (c == 0x1b)
			t->state = ESC;
		else if (c == 0xc2)
			t->state = C2;
		else
			put(t, c, out);
	}
}
