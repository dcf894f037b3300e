/* embed.h — files compiled into the binary (scripts/embed.sh writes the table at build time):
 * the Karpenter CRDs the simulator installs, later the web UI. Data is NUL-terminated (the
 * NUL is not counted in len) and lives for the whole run. */
#ifndef KS_EMBED_H
#define KS_EMBED_H

#include <stddef.h>

struct ks_embedded {
	const char *path; /* relative to the repository: "deploy/crds/karpenter.sh_nodepools.yaml" */
	const unsigned char *data;
	size_t len;
};

/* The table, ended by an entry whose path is NULL. */
extern const struct ks_embedded ks_embedded_files[];

/* The file at path, or NULL. */
const struct ks_embedded *ks_embedded_find(const char *path);

#endif
