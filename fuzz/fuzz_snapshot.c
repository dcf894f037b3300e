/* fuzz_snapshot.c — the snapshot reader (JSON Lines, or one JSON/YAML List document): a
 * snapshot that loads is written back out and read again, and the two worlds must hold the
 * same number of objects of each kind. Refusals must say why. Inputs are bounded by the
 * reader's own ceilings (WORLD_SNAPSHOT_MAX_LINE a line). */
#include "base/common.h"
#include "world/world.h"

#include <stdio.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct world *w = world_new();
	struct ks_err err = {0};
	if (world_load_snapshot_mem(w, (const char *)data, size, &err)) {
		if (!err.msg[0])
			abort();
		world_free(w);
		return 0;
	}
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f || world_write_snapshot(w, f, &err))
		abort();
	fclose(f);
	struct world *again = world_new();
	if (world_load_snapshot_mem(again, buf, len, &err))
		abort();
	for (int k = 0; k < WK_COUNT; k++)
		if (world_count(w, (enum world_kind)k) != world_count(again, (enum world_kind)k) ||
		    world_has(w, (enum world_kind)k) != world_has(again, (enum world_kind)k))
			abort();
	free(buf);
	world_free(again);
	world_free(w);
	return 0;
}
