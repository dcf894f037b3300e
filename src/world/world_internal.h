/* world_internal.h — the world's insides, shared by world.c, world_load.c, world_snapshot.c. */
#ifndef KS_WORLD_INTERNAL_H
#define KS_WORLD_INTERNAL_H

#include "base/hashmap.h"
#include "kube/client.h"
#include "world/world.h"

struct kube_informer;

#define WORLD_HASH_LEN 32
/* Secret values shorter than this are not looked for in text (too many false matches);
 * longer than the max neither (keys, certificates: not what logs print). */
#define WORLD_SECRET_MIN_LEN 6
#define WORLD_SECRET_MAX_LEN 256

struct world_idlist {
	uint32_t *ids;
	size_t n, cap;
};

struct world {
	struct kube_informer *inf[WK_COUNT];
	struct kube_resource res[WK_COUNT];
	bool served[WK_COUNT];
	struct ks_map strings;    /* interned strings */
	struct ks_map json_cache; /* "kind:id" -> cJSON */
	struct ks_map uids;       /* uid -> uint64 (kind << 32 | id) */
	struct ks_map events;     /* involvedObject uid or kind/ns/name -> world_idlist */
	bool indexed;
	unsigned char hmac_key[32];
	struct ks_map secret_hashes; /* "ns/name/key" -> hash; hex of a hash -> "v" */
	size_t n_secret_values;
	bool secret_lens[WORLD_SECRET_MAX_LEN + 1];
	struct ks_map logs;       /* "ns/pod/container/prev" -> world_log */
	struct world_log **log_order;
	size_t n_logs, cap_logs;
	struct ks_map metrics;    /* "name|ns|pod|container" -> double */
	struct ks_map memo;       /* world_memo_put */
	double metrics_window;
	char *cluster, *server_version;
	int64_t now;
	struct world_stats stats;
};

/* The informer of kind k (made on first use, without a watch). */
struct kube_informer *world_informer(struct world *w, enum world_kind k);
/* Objects changed: the uid and event indexes are rebuilt on next use. */
void world_index_invalidate(struct world *w);
/* Build the uid and event indexes now (loading ends with it, so analyses find them made). */
void world_build_indexes(struct world *w);
/* The informer transform for Secrets: values become "" and their hashes are kept. */
void world_secret_transform(void *ctx, cJSON *obj);

#endif
