/* fuzz_termsafe.c — an LLM's tokens (outside input) through ks_termsafe, the filter that
 * makes them safe for a terminal: the first byte of the input chooses where the rest is split
 * in two pieces; whatever the bytes, the output holds no ESC, no C0 control, no DEL, no C1
 * control (0xC2 0x80..0x9F), no two spaces in a row and no leading space, and splitting the
 * input gives the same output as feeding it whole. Ceiling: 64 KiB. */
#include "base/common.h"
#include "base/buf.h"
#include "base/termsafe.h"

#include <stdlib.h>
#include <string.h>

#define MAX_INPUT (64 << 10)

static void filter(const char *const *pieces, const size_t *lens, size_t n, struct ks_buf *out)
{
	struct ks_termsafe t;
	ks_termsafe_init(&t);
	ks_buf_init(out, KS_BUF_UNLIMITED);
	for (size_t i = 0; i < n; i++)
		ks_termsafe_feed(&t, pieces[i], lens[i], out);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	if (size < 1 || size > MAX_INPUT)
		return 0;
	const char *text = (const char *)data + 1;
	size_t len = size - 1, cut = len ? data[0] % (len + 1) : 0;
	struct ks_buf whole, split;
	filter(&text, &len, 1, &whole);
	const char *pieces[] = {text, text + cut};
	size_t lens[] = {cut, len - cut};
	filter(pieces, lens, 2, &split);
	if (whole.len != split.len || (whole.len && memcmp(whole.data, split.data, whole.len)))
		abort();
	for (size_t i = 0; i < whole.len; i++) {
		unsigned char c = (unsigned char)whole.data[i];
		if (c < 0x20 || c == 0x7f)
			abort();
		if (c == ' ' && (i == 0 || whole.data[i - 1] == ' '))
			abort();
		if (c == 0xc2 && i + 1 < whole.len && (unsigned char)whole.data[i + 1] >= 0x80 &&
		    (unsigned char)whole.data[i + 1] <= 0x9f)
			abort();
	}
	ks_buf_release(&whole);
	ks_buf_release(&split);
	return 0;
}
