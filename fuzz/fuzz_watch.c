/* fuzz_watch.c — the watch stream framing and event parser. The input is split into
 * chunks at arbitrary points (the first byte picks the chunk size), as a network would
 * deliver it; the same input fed whole must yield the same events. */
#include "base/common.h"
#include "base/json.h"
#include "kube/watch.h"

#include <string.h>

struct tally {
	unsigned n;
	uint64_t hash;
};

static int count(void *ctx, enum kube_event_type t, cJSON *obj)
{
	struct tally *k = ctx;
	if (!cJSON_IsObject(obj))
		abort(); /* the parser promised an object */
	k->n++;
	k->hash = k->hash * 31 + (uint64_t)t + 1;
	return 0;
}

static void feed(const uint8_t *p, size_t n, size_t chunk, struct tally *k, int *rc)
{
	struct kube_watch_framer f;
	kube_watch_framer_init(&f, 4096); /* small ceiling so the fuzzer reaches it */
	*rc = 0;
	for (size_t off = 0; off < n && !*rc; off += chunk) {
		size_t len = n - off < chunk ? n - off : chunk;
		*rc = kube_watch_framer_feed(&f, (const char *)p + off, len, count, k, NULL);
	}
	kube_watch_framer_release(&f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t chunk = (size_t)data[0] % 64 + 1;
	struct tally a = {0}, b = {0};
	int rca, rcb;
	feed(data + 1, size - 1, chunk, &a, &rca);
	feed(data + 1, size - 1, size, &b, &rcb);
	if (rca == 0 && rcb == 0 && (a.n != b.n || a.hash != b.hash))
		abort(); /* chunking changed the events */
	return 0;
}
