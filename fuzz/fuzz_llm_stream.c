/* fuzz_llm_stream.c — the LLM answer stream parsers (src/llm/llm.c): NDJSON lines and
 * server-sent events. The first byte picks the parser and the chunk size; the rest is cut
 * into chunks as a network would deliver it, and must yield the same items as when fed
 * whole (or fail the same way, at a small ceiling so the fuzzer reaches it). */
#include "base/common.h"
#include "llm/llm.h"

#include <string.h>

struct tally {
	unsigned n;
	uint64_t hash;
};

static void mix(struct tally *t, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		t->hash = t->hash * 31 + (unsigned char)p[i];
	t->hash = t->hash * 31 + n;
	t->n++;
}

static int on_line(void *ctx, const char *line, size_t len)
{
	if (!len || memchr(line, '\n', len))
		abort(); /* lines are non-empty and hold no LF */
	mix(ctx, line, len);
	return 0;
}

static int on_event(void *ctx, const char *type, const char *data, size_t len)
{
	if (!*type || data[len] != '\0')
		abort(); /* a type always, and NUL-terminated data */
	mix(ctx, type, strlen(type));
	mix(ctx, data, len);
	return 0;
}

static int feed(bool sse, const uint8_t *p, size_t n, size_t chunk, struct tally *t)
{
	int rc = 0;
	if (sse) {
		struct llm_sse s;
		llm_sse_init(&s, 256);
		for (size_t off = 0; off < n && !rc; off += chunk) {
			size_t len = n - off < chunk ? n - off : chunk;
			rc = llm_sse_feed(&s, (const char *)p + off, len, on_event, t, NULL);
		}
		llm_sse_release(&s);
	} else {
		struct llm_ndjson j;
		llm_ndjson_init(&j, 256);
		for (size_t off = 0; off < n && !rc; off += chunk) {
			size_t len = n - off < chunk ? n - off : chunk;
			rc = llm_ndjson_feed(&j, (const char *)p + off, len, on_line, t, NULL);
		}
		if (!rc)
			rc = llm_ndjson_finish(&j, on_line, t, NULL);
		llm_ndjson_release(&j);
	}
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	bool sse = data[0] & 1;
	size_t chunk = (size_t)(data[0] >> 1) % 32 + 1;
	struct tally a = {0}, b = {0};
	int rca = feed(sse, data + 1, size - 1, chunk, &a);
	int rcb = feed(sse, data + 1, size - 1, size, &b);
	if (rca != rcb || (rca == 0 && (a.n != b.n || a.hash != b.hash)))
		abort(); /* chunking changed the items */
	return 0;
}
