/* embed.c — look-ups in the table scripts/embed.sh generates (build/gen/embedded.c). */
#include "base/common.h"
#include "base/embed.h"

#include <string.h>

const struct ks_embedded *ks_embedded_find(const char *path)
{
	for (const struct ks_embedded *e = ks_embedded_files; e->path; e++)
		if (!strcmp(e->path, path))
			return e;
	return NULL;
}
