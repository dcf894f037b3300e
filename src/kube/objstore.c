/* objstore.c — a hash-consed JSON store; see objstore.h.
 *
 * Nodes live in one arena of uint32 words; a node's id is its word offset (31 bits, so the
 * arena can reach 8 GiB). Word 0 of a node is its header:
 *   bits 31..28 type, 27..20 aux (a short length or count; 255 = "in the next word"),
 *   19..0 reference count. The count saturates at 2^20-1 and the node is then immortal: a
 *   node's references come from distinct parents, so only a constant such as "True" or a
 *   common shape in a store of millions of objects gets there.
 * Layouts after the header:
 *   STR   [length if aux==255] bytes, NUL, zero padding to the word
 *   PFX   the same; a prefix of CAT/HEX strings (never a value itself)
 *   CAT   prefix-id, suffix bytes (aux = length), NUL, padding: "web-7d9f8b6c5d-x7k2p" is
 *         "web-7d9f8b6c5d-" (one node for all the ReplicaSet's pods) + "x7k2p"
 *   HEX   prefix-id, hex digits as nibbles (aux = digits): "containerd://" + 64 digits in
 *         32 bytes
 *   UUID  16 bytes; IPV4 1 word; DEC a decimal without leading zero in 1 or 2 words (aux)
 *   NUM   a double's 8 bytes (numbers that are not 28-bit integers)
 *   ARR   [count if aux==255] element ids
 *   SHAPE [count if aux==255] key ids: the member names of an object, in order, so all
 *         objects with the same keys share them
 *   OBJ   shape-id, value ids
 *   OBJD  an object as another (full) object plus the members that differ: base-id, the
 *         d differing value ids, their d member indexes as bytes (aux = d). The base is
 *         the last full object of the same shape interned at the same path (a small cache,
 *         RECENT_N entries, keyed by a hash of the path of member names and array indexes):
 *         in a list, the same part of the previous replica. A pod's spec differs from its
 *         sibling's in volumes, containers and nodeName only; each condition in its time.
 *         Used when it saves two words or more.
 * A string's encoding is a function of its bytes alone, so equal strings have equal ids.
 * The table is keyed by a node's full contents whatever its representation (an OBJD is
 * hashed and compared as the OBJ it stands for), so equal values have one node and one id.
 *
 * Interning is bottom-up: children first, then the candidate node is built on a scratch
 * stack, hashed and looked up in an open-addressing table: linear probing over 4-byte slots
 * holding node ids, with a parallel array of 1-byte tags (8 bits of the hash; 0 empty,
 * 1 tombstone) so that probing reads the arena only on a tag match. Maximum load 0.85,
 * growth 1.5x; a rebuild walks the arena in address order. A hit bumps the node's count and
 * drops the candidate's references to its children; a miss copies the candidate into the
 * arena.
 *
 * Removal: unref is iterative (deep trees do not recurse); a node whose count reaches 0
 * leaves the table (a tombstone, purged at the next rebuild) and its block goes on a free
 * list: exact-size lists up to 64 words, power-of-two classes above. There is no
 * compaction: ids are offsets held by callers, so nodes cannot move; and an informer's churn
 * replaces an object by one of nearly the same shape, whose nodes reuse the freed sizes.
 *
 * The arena and the table are mmap'ed and grown with mremap, not malloc'ed: growth does not
 * copy, and freed tables go back to the system (glibc's dynamic mmap threshold would keep
 * retired tables of tens of MB on the brk heap). */
#include "base/common.h"
#include "base/buf.h"
#include "kube/objstore.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

enum {
	T_FREE,
	T_STR,
	T_PFX,
	T_CAT,
	T_HEX,
	T_UUID,
	T_IPV4,
	T_DEC,
	T_NUM,
	T_ARR,
	T_SHAPE,
	T_OBJ,
	T_OBJD,
	T_NTYPES
};

#define RC_BITS 20
#define RC_MASK ((1u << RC_BITS) - 1)
#define RC_MAX RC_MASK
#define AUX_EXT 255u
#define HDR(t, aux) (((uint32_t)(t) << 28) | ((uint32_t)(aux) << 20))
#define H_TYPE(h) ((h) >> 28)
#define H_AUX(h) (((h) >> 20) & 0xffu)
#define FREE_SIZE(h) ((h) & 0x0fffffffu)
#define MAX_NODE_WORDS 0x0fffffffu
#define MAX_ARENA_WORDS 0x80000000u

/* Immediates have bit 31 set; with bit 30 too they are timestamps. */
#define IMM 0x80000000u
#define IMM_TS 0x40000000u
#define IMM_SUB(r) (((r) >> 28) & 3u)
#define IMM_PAYLOAD(r) ((r) & 0x0fffffffu)
enum { SUB_CONST, SUB_INT, SUB_SSTR };
#define IMM_MK(sub, p) (IMM | ((uint32_t)(sub) << 28) | (uint32_t)(p))
#define R_NULL IMM_MK(SUB_CONST, 0)
#define R_FALSE IMM_MK(SUB_CONST, 1)
#define R_TRUE IMM_MK(SUB_CONST, 2)
#define R_EOBJ IMM_MK(SUB_CONST, 3)
#define R_EARR IMM_MK(SUB_CONST, 4)
#define TS_BASE 1388534400LL /* 2014-01-01T00:00:00Z */
#define TS_SPAN (1LL << 30)  /* 34 years */
#define INT_LIM (1 << 27)

#define TAG_EMPTY 0
#define TAG_TOMB 1
#define NCLASS 64 /* exact-size free lists for 2..NCLASS words */
#define NBIG 28   /* power-of-two classes above */
#define PAGE 4096u
#define RECENT_N 4096 /* the last full object per (path, shape): delta bases */
#define DELTA_MAX_MEMBERS 256

struct kube_objstore {
	uint32_t *w; /* arena */
	size_t used, cap; /* words */
	uint32_t freel[NCLASS + 1];
	uint32_t bigl[NBIG];
	size_t free_words, live_words;
	size_t ntype[T_NTYPES];

	uint32_t *slot; /* table: node ids */
	uint8_t *tag;
	size_t tcap, tused, ttomb, tbytes;

	uint32_t *stk; /* scratch: candidates, and the unref work list */
	size_t sp, scap;

	uint64_t seed;
	uint64_t lookups, hits;
	uint32_t recent[RECENT_N]; /* not references: checked against the table on use */
	uint64_t frees; /* nodes freed so far: find_str's cache trusts ids of the same count */
	uint64_t serial; /* unique to this store for the process's life (find_str's cache) */
};

static inline bool is_node(uint32_t r)
{
	return r != 0 && !(r & IMM);
}

/* ---- memory ------------------------------------------------------------------------ */

static void fatal(const char *what, size_t n)
{
	fprintf(stderr, "kswarm: objstore: %s (%zu bytes)\n", what, n);
	abort();
}

static size_t page_round(size_t n)
{
	return (n + PAGE - 1) & ~(size_t)(PAGE - 1);
}

static void *map_zeroed(size_t bytes)
{
	void *p = mmap(NULL, page_round(bytes), PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		fatal("out of memory mapping", bytes);
	return p;
}

static void unmap(void *p, size_t bytes)
{
	if (p)
		munmap(p, page_round(bytes));
}

static void arena_reserve(struct kube_objstore *st, size_t need)
{
	if (need <= st->cap)
		return;
	if (need > MAX_ARENA_WORDS)
		fatal("arena full", need * 4);
	size_t ncap = st->cap * 2;
	while (ncap < need)
		ncap *= 2;
	if (ncap > MAX_ARENA_WORDS)
		ncap = MAX_ARENA_WORDS;
	void *p = mremap(st->w, page_round(st->cap * 4), page_round(ncap * 4), MREMAP_MAYMOVE);
	if (p == MAP_FAILED)
		fatal("out of memory growing the arena", ncap * 4);
	st->w = p;
	st->cap = ncap;
}

static inline unsigned log2z(size_t n)
{
	return 63u - (unsigned)__builtin_clzll((unsigned long long)n);
}

static void block_free(struct kube_objstore *st, uint32_t off, size_t nw)
{
	st->w[off] = HDR(T_FREE, 0) | (uint32_t)nw;
	st->free_words += nw;
	if (nw == 1)
		return; /* a pad word; walked over, never reused */
	uint32_t *head = nw <= NCLASS ? &st->freel[nw] : &st->bigl[log2z(nw)];
	st->w[off + 1] = *head;
	*head = off;
}

static uint32_t block_alloc(struct kube_objstore *st, size_t nw)
{
	uint32_t off;
	if (nw <= NCLASS) {
		off = st->freel[nw];
		if (off) {
			st->freel[nw] = st->w[off + 1];
			st->free_words -= nw;
			return off;
		}
	} else {
		/* First fit in nw's own class, else the head of any higher class. */
		for (unsigned k = log2z(nw); k < NBIG; k++) {
			uint32_t *link = &st->bigl[k];
			while (*link) {
				uint32_t b = *link;
				size_t bsz = FREE_SIZE(st->w[b]);
				if (bsz >= nw) {
					*link = st->w[b + 1];
					st->free_words -= bsz;
					if (bsz > nw)
						block_free(st, b + (uint32_t)nw, bsz - nw);
					return b;
				}
				link = &st->w[b + 1];
			}
		}
	}
	arena_reserve(st, st->used + nw);
	off = (uint32_t)st->used;
	st->used += nw;
	return off;
}

static void push(struct kube_objstore *st, uint32_t v)
{
	if (st->sp == st->scap)
		st->stk = ks_grow(st->stk, sizeof *st->stk, st->sp + 1, &st->scap);
	st->stk[st->sp++] = v;
}

static uint32_t *stack_reserve(struct kube_objstore *st, size_t n)
{
	if (st->sp + n > st->scap)
		st->stk = ks_grow(st->stk, sizeof *st->stk, st->sp + n, &st->scap);
	return st->stk + st->sp;
}

/* ---- nodes ------------------------------------------------------------------------- */

static size_t shape_count(const struct kube_objstore *st, uint32_t shape)
{
	uint32_t h = st->w[shape];
	return H_AUX(h) == AUX_EXT ? st->w[shape + 1] : H_AUX(h);
}

static size_t node_words(const struct kube_objstore *st, uint32_t off)
{
	const uint32_t *n = st->w + off;
	uint32_t h = n[0], aux = H_AUX(h);
	switch (H_TYPE(h)) {
	case T_STR:
	case T_PFX: {
		size_t len = aux == AUX_EXT ? n[1] : aux;
		return 1 + (aux == AUX_EXT) + (len + 4) / 4;
	}
	case T_CAT:
		return 2 + (aux + 4) / 4;
	case T_HEX:
		return 2 + (aux + 7) / 8;
	case T_UUID:
		return 5;
	case T_IPV4:
		return 2;
	case T_DEC:
		return 1 + aux;
	case T_NUM:
		return 3;
	case T_ARR:
	case T_SHAPE: {
		size_t cnt = aux == AUX_EXT ? n[1] : aux;
		return 1 + (aux == AUX_EXT) + cnt;
	}
	case T_OBJ:
		return 2 + shape_count(st, n[1]);
	case T_OBJD:
		return 2 + aux + (aux + 3) / 4;
	default:
		return FREE_SIZE(h);
	}
}

/* The child ids of node words n (nw of them). */
static const uint32_t *node_children(const uint32_t *n, size_t nw, size_t *count)
{
	switch (H_TYPE(n[0])) {
	case T_CAT:
	case T_HEX:
		*count = 1;
		return n + 1;
	case T_ARR:
	case T_SHAPE: {
		size_t skip = 1 + (H_AUX(n[0]) == AUX_EXT);
		*count = nw - skip;
		return n + skip;
	}
	case T_OBJ:
		*count = nw - 1;
		return n + 1;
	case T_OBJD: /* base, then the values that differ from it */
		*count = 1 + H_AUX(n[0]);
		return n + 1;
	default:
		*count = 0;
		return NULL;
	}
}

/* ---- hashing and the table ---------------------------------------------------------- */

static inline uint64_t fmix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

static uint64_t hash_node(uint64_t seed, const uint32_t *n, size_t nw)
{
	uint64_t h = seed ^ ((uint64_t)(n[0] & ~RC_MASK) << 32) ^ nw;
	size_t i = 1;
	for (; i + 2 <= nw; i += 2) {
		uint64_t v = (uint64_t)n[i] | ((uint64_t)n[i + 1] << 32);
		h = (h ^ v) * 0x9e3779b97f4a7c15ULL;
		h ^= h >> 29;
	}
	if (i < nw) {
		h = (h ^ n[i]) * 0x9e3779b97f4a7c15ULL;
		h ^= h >> 29;
	}
	return fmix64(h);
}

static inline size_t home_of(uint64_t h, size_t cap)
{
	return (size_t)(((h >> 32) * (uint64_t)cap) >> 32);
}

static inline uint8_t tag_of(uint64_t h)
{
	uint8_t t = (uint8_t)h;
	return t < 2 ? (uint8_t)(t + 2) : t;
}

/* Value i of the delta object n (see intern_cand). */
static inline uint32_t objd_value(const struct kube_objstore *st, const uint32_t *n, size_t i)
{
	size_t nd = H_AUX(n[0]);
	const uint8_t *di = (const uint8_t *)(n + 2 + nd);
	for (size_t d = 0; d < nd && di[d] <= i; d++) {
		if (di[d] == i)
			return n[2 + d];
	}
	return st->w[n[1] + 2 + i];
}

/* A delta object is equal to a full candidate with the same members. */
static bool objd_eq(const struct kube_objstore *st, const uint32_t *n, const uint32_t *c,
		    size_t nw)
{
	const uint32_t *b = st->w + n[1];
	if (H_TYPE(c[0]) != T_OBJ || c[1] != b[1])
		return false;
	size_t nd = H_AUX(n[0]), d = 0;
	const uint8_t *di = (const uint8_t *)(n + 2 + nd);
	for (size_t i = 0; i + 2 < nw; i++) {
		uint32_t v = d < nd && di[d] == i ? n[2 + d++] : b[2 + i];
		if (v != c[2 + i])
			return false;
	}
	return true;
}

/* The full (T_OBJ) words of a delta object, into out; returns their number. */
static size_t objd_expand(const struct kube_objstore *st, const uint32_t *n, uint32_t *out)
{
	const uint32_t *b = st->w + n[1];
	size_t cnt = shape_count(st, b[1]), nd = H_AUX(n[0]), d = 0;
	const uint8_t *di = (const uint8_t *)(n + 2 + nd);
	out[0] = HDR(T_OBJ, 0);
	out[1] = b[1];
	for (size_t i = 0; i < cnt; i++)
		out[2 + i] = d < nd && di[d] == i ? n[2 + d++] : b[2 + i];
	return 2 + cnt;
}

/* The hash of a stored node: that of its full form. */
static uint64_t hash_stored(const struct kube_objstore *st, uint32_t off, size_t nw)
{
	const uint32_t *n = st->w + off;
	if (H_TYPE(n[0]) != T_OBJD)
		return hash_node(st->seed, n, nw);
	uint32_t full[2 + DELTA_MAX_MEMBERS];
	size_t fw = objd_expand(st, n, full);
	return hash_node(st->seed, full, fw);
}

/* Node n (stored) equals candidate c (nw words, full form), ignoring the count. Header and
 * word 1 fix a node's size, so comparing them first keeps the rest within both nodes. */
static inline bool node_eq(const struct kube_objstore *st, const uint32_t *n, const uint32_t *c,
			   size_t nw)
{
	if ((n[0] ^ c[0]) & ~RC_MASK)
		return H_TYPE(n[0]) == T_OBJD && objd_eq(st, n, c, nw);
	if (nw > 1 && n[1] != c[1])
		return false;
	return nw <= 2 || memcmp(n + 2, c + 2, (nw - 2) * 4) == 0;
}

/* The node equal to candidate c, or 0; *ins gets the slot to insert into. */
static uint32_t probe(const struct kube_objstore *st, const uint32_t *c, size_t nw, uint64_t h,
		      size_t *ins)
{
	size_t cap = st->tcap, i = home_of(h, cap), tomb = SIZE_MAX;
	uint8_t tg = tag_of(h);
	for (;;) {
		uint8_t t = st->tag[i];
		if (t == TAG_EMPTY)
			break;
		if (t == tg) {
			uint32_t off = st->slot[i];
			if (node_eq(st, st->w + off, c, nw))
				return off;
		} else if (t == TAG_TOMB && tomb == SIZE_MAX) {
			tomb = i;
		}
		if (++i == cap)
			i = 0;
	}
	if (ins)
		*ins = tomb != SIZE_MAX ? tomb : i;
	return 0;
}

static void table_alloc(struct kube_objstore *st, size_t cap)
{
	st->tcap = cap;
	st->tbytes = cap * 5;
	st->slot = map_zeroed(st->tbytes);
	st->tag = (uint8_t *)(st->slot + cap);
	st->tused = st->ttomb = 0;
}

/* Rebuild the table at cap slots from the arena, in address order. */
static void table_rebuild(struct kube_objstore *st, size_t cap)
{
	unmap(st->slot, st->tbytes);
	table_alloc(st, cap);
	size_t off = 1;
	while (off < st->used) {
		uint32_t h = st->w[off];
		if (H_TYPE(h) == T_FREE) {
			off += FREE_SIZE(h);
			continue;
		}
		size_t nw = node_words(st, (uint32_t)off);
		uint64_t hv = hash_stored(st, (uint32_t)off, nw);
		size_t i = home_of(hv, cap);
		while (st->tag[i] != TAG_EMPTY)
			if (++i == cap)
				i = 0;
		st->tag[i] = tag_of(hv);
		st->slot[i] = (uint32_t)off;
		st->tused++;
		off += nw;
	}
}

/* Room for one more entry within the maximum load of 0.85. */
static void table_reserve(struct kube_objstore *st)
{
	size_t cap = st->tcap;
	if ((st->tused + st->ttomb + 1) * 100 <= cap * 85)
		return;
	if ((st->tused + 1) * 100 > cap * 60)
		cap = cap + cap / 2;
	table_rebuild(st, cap);
}

static void table_remove(struct kube_objstore *st, uint32_t off, size_t nw)
{
	uint64_t h = hash_stored(st, off, nw);
	size_t i = home_of(h, st->tcap);
	uint8_t tg = tag_of(h);
	for (;;) {
		if (st->tag[i] == tg && st->slot[i] == off)
			break;
		if (st->tag[i] == TAG_EMPTY)
			fatal("node missing from the table", off);
		if (++i == st->tcap)
			i = 0;
	}
	st->tag[i] = TAG_TOMB;
	st->slot[i] = 0;
	st->tused--;
	st->ttomb++;
}

static inline void rc_inc(struct kube_objstore *st, uint32_t off)
{
	if ((st->w[off] & RC_MASK) != RC_MAX)
		st->w[off]++;
}

/* Drop references that are known not to be the last (the node that a hit found holds the
 * same children). */
static void release_nofree(struct kube_objstore *st, const uint32_t *c, size_t nw)
{
	size_t n;
	const uint32_t *ch = node_children(c, nw, &n);
	for (size_t i = 0; i < n; i++) {
		uint32_t r = ch[i];
		if (is_node(r) && (st->w[r] & RC_MASK) != RC_MAX)
			st->w[r]--;
	}
}

static inline uint64_t ctx_mix(uint64_t ctx, uint64_t x)
{
	ctx = (ctx ^ x) * 0x9e3779b97f4a7c15ULL;
	return ctx ^ (ctx >> 29);
}

static inline size_t recent_slot(uint64_t ctx, uint32_t shape)
{
	return (size_t)(fmix64(ctx ^ ((uint64_t)shape << 32)) & (RECENT_N - 1));
}

/* Whether b is a live full object of this shape (the recent cache holds no references:
 * b may have been freed and its block reused, even split, since). */
static bool live_full_object(const struct kube_objstore *st, uint32_t b, uint32_t shape,
			     size_t nw)
{
	if (!b || b + nw > st->used || H_TYPE(st->w[b]) != T_OBJ || st->w[b + 1] != shape)
		return false;
	uint64_t h = hash_node(st->seed, st->w + b, nw);
	size_t i = home_of(h, st->tcap);
	uint8_t tg = tag_of(h);
	for (; st->tag[i] != TAG_EMPTY; i = i + 1 == st->tcap ? 0 : i + 1) {
		if (st->tag[i] == tg && st->slot[i] == b)
			return true;
	}
	return false;
}

/* Store the full object candidate c as a delta against base b when that saves two words
 * or more: [hdr aux=d][b][d differing values][d member indexes, a byte each]. The
 * candidate's references to the shape and to the values equal to b's are dropped (b holds
 * them). Returns the node, or 0 to store c in full. */
static uint32_t store_delta(struct kube_objstore *st, size_t cbase, size_t nw, uint32_t b)
{
	const uint32_t *c = st->stk + cbase, *bv = st->w + b + 2;
	size_t n = nw - 2, d = 0;
	for (size_t i = 0; i < n; i++)
		d += c[2 + i] != bv[i];
	size_t dw = 2 + d + (d + 3) / 4;
	if (d == 0 || dw + 2 > nw)
		return 0;
	uint32_t off = block_alloc(st, dw);
	uint32_t *o = st->w + off;
	c = st->stk + cbase;
	bv = st->w + b + 2;
	o[0] = HDR(T_OBJD, d) | 1u;
	o[1] = b;
	memset(o + 2 + d, 0, (dw - 2 - d) * 4);
	uint8_t *di = (uint8_t *)(o + 2 + d);
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		uint32_t v = c[2 + i];
		if (v != bv[i]) {
			o[2 + k] = v;
			di[k++] = (uint8_t)i;
		} else if (is_node(v) && (st->w[v] & RC_MASK) != RC_MAX) {
			st->w[v]--;
		}
	}
	if ((st->w[c[1]] & RC_MASK) != RC_MAX)
		st->w[c[1]]--;
	rc_inc(st, b);
	st->live_words += dw;
	return off;
}

/* Intern the candidate st->stk[base .. base+nw), whose child references pass to the store.
 * Returns a node with one reference for the caller and pops the candidate. ctx identifies
 * the candidate's path in the tree (objects only): a new object is stored as a delta
 * against the last full object of the same shape interned at the same path — in a list,
 * the same part of the previous replica — and the table still finds it by its full
 * contents, so equal objects keep one id whatever their representation. */
static uint32_t intern_cand(struct kube_objstore *st, size_t base, size_t nw, uint64_t ctx)
{
	table_reserve(st);
	const uint32_t *c = st->stk + base;
	uint64_t h = hash_node(st->seed, c, nw);
	size_t ins = 0;
	st->lookups++;
	uint32_t off = probe(st, c, nw, h, &ins);
	if (off) {
		st->hits++;
		release_nofree(st, c, nw);
		rc_inc(st, off);
		st->sp = base;
		return off;
	}
	unsigned type = H_TYPE(c[0]);
	size_t rslot = 0;
	if (type == T_OBJ && nw - 2 <= DELTA_MAX_MEMBERS) {
		rslot = recent_slot(ctx, c[1]);
		uint32_t b = st->recent[rslot];
		if (live_full_object(st, b, c[1], nw) && (off = store_delta(st, base, nw, b)) != 0)
			type = T_OBJD;
	}
	if (!off) {
		off = block_alloc(st, nw);
		c = st->stk + base;
		memcpy(st->w + off, c, nw * 4);
		st->w[off] = (c[0] & ~RC_MASK) | 1u;
		st->live_words += nw;
		if (type == T_OBJ && nw - 2 <= DELTA_MAX_MEMBERS)
			st->recent[rslot] = off;
	}
	if (st->tag[ins] == TAG_TOMB)
		st->ttomb--;
	st->tag[ins] = tag_of(h);
	st->slot[ins] = off;
	st->tused++;
	st->ntype[type]++;
	st->sp = base;
	return off;
}

/* ---- strings ----------------------------------------------------------------------- */

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int *y, unsigned *m, unsigned *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t yy = (int64_t)yoe + era * 400;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int)(yy + (*m <= 2));
}

static inline bool dig(char c)
{
	return c >= '0' && c <= '9';
}

static unsigned num2(const char *s)
{
	return (unsigned)(s[0] - '0') * 10 + (unsigned)(s[1] - '0');
}

/* "YYYY-MM-DDTHH:MM:SSZ" in [2014, 2048) exactly as it would be printed back. */
static bool ts_encode(const char *s, uint32_t *out)
{
	static const char pat[] = "dddd-dd-ddTdd:dd:ddZ";
	for (int i = 0; i < 20; i++) {
		if (pat[i] == 'd' ? !dig(s[i]) : s[i] != pat[i])
			return false;
	}
	int y = (int)(num2(s) * 100 + num2(s + 2));
	unsigned mo = num2(s + 5), d = num2(s + 8), hh = num2(s + 11), mi = num2(s + 14),
		 se = num2(s + 17);
	static const unsigned char mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || hh > 23 || mi > 59 || se > 59)
		return false;
	if (mo == 2 && d == 29 && !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)))
		return false;
	int64_t t = days_from_civil(y, mo, d) * 86400 + hh * 3600 + mi * 60 + se - TS_BASE;
	if (t < 0 || t >= TS_SPAN)
		return false;
	*out = (uint32_t)t;
	return true;
}

static void put2(char *o, unsigned v)
{
	o[0] = (char)('0' + v / 10);
	o[1] = (char)('0' + v % 10);
}

static void ts_decode(uint32_t rel, char *o)
{
	int64_t t = TS_BASE + rel;
	int64_t days = t / 86400;
	unsigned sod = (unsigned)(t % 86400);
	int y;
	unsigned m, d;
	civil_from_days(days, &y, &m, &d);
	put2(o, (unsigned)y / 100);
	put2(o + 2, (unsigned)y % 100);
	o[4] = '-';
	put2(o + 5, m);
	o[7] = '-';
	put2(o + 8, d);
	o[10] = 'T';
	put2(o + 11, sod / 3600);
	o[13] = ':';
	put2(o + 14, sod / 60 % 60);
	o[16] = ':';
	put2(o + 17, sod % 60);
	o[19] = 'Z';
	o[20] = '\0';
}

static bool ipv4_encode(const char *s, size_t len, uint32_t *out)
{
	uint32_t v = 0;
	size_t i = 0;
	for (int part = 0; part < 4; part++) {
		if (part) {
			if (i >= len || s[i] != '.')
				return false;
			i++;
		}
		size_t st = i;
		unsigned o = 0;
		while (i < len && dig(s[i]) && i - st < 3)
			o = o * 10 + (unsigned)(s[i++] - '0');
		if (i == st || o > 255 || (s[st] == '0' && i - st > 1))
			return false;
		v = v << 8 | o;
	}
	if (i != len)
		return false;
	*out = v;
	return true;
}

static size_t put_uint(char *o, uint64_t v)
{
	char t[24];
	size_t n = 0;
	do {
		t[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (size_t i = 0; i < n; i++)
		o[i] = t[n - 1 - i];
	return n;
}

static size_t ipv4_decode(uint32_t v, char *o)
{
	size_t n = 0;
	for (int i = 3; i >= 0; i--) {
		n += put_uint(o + n, (v >> (i * 8)) & 0xff);
		if (i)
			o[n++] = '.';
	}
	return n;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static const char hexdig[] = "0123456789abcdef";

static bool uuid_encode(const char *s, uint8_t out[16])
{
	size_t k = 0;
	for (size_t i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return false;
			continue;
		}
		int a = hexval(s[i]), b = hexval(s[i + 1]);
		if (a < 0 || b < 0)
			return false;
		out[k++] = (uint8_t)(a << 4 | b);
		i++;
	}
	return true;
}

static void uuid_decode(const uint8_t in[16], char *o)
{
	size_t n = 0;
	for (size_t k = 0; k < 16; k++) {
		if (k == 4 || k == 6 || k == 8 || k == 10)
			o[n++] = '-';
		o[n++] = hexdig[in[k] >> 4];
		o[n++] = hexdig[in[k] & 15];
	}
}

static inline bool is_sep(char c)
{
	return c == '-' || c == '/' || c == ':' || c == '.' || c == '@' || c == '_';
}

enum { SE_RAW, SE_CAT, SE_HEX, SE_UUID, SE_IPV4, SE_DEC };

struct sclass {
	int enc;
	size_t plen; /* CAT, HEX: prefix length */
	uint64_t v;  /* IPV4, DEC */
	uint8_t uuid[16];
};

/* The encoding of a string of more than 3 bytes that is not an immediate timestamp. */
static void str_classify(const char *s, size_t len, struct sclass *c)
{
	c->enc = SE_RAW;
	if (len >= KUBE_OBJSTORE_STRTMP)
		return;
	uint32_t ip;
	if (len >= 7 && len <= 15 && dig(s[0]) && ipv4_encode(s, len, &ip)) {
		c->enc = SE_IPV4;
		c->v = ip;
		return;
	}
	if (len == 36 && uuid_encode(s, c->uuid)) {
		c->enc = SE_UUID;
		return;
	}
	if (len <= 19 && s[0] >= '1' && s[0] <= '9') {
		uint64_t v = 0;
		size_t i = 0;
		while (i < len && dig(s[i]))
			v = v * 10 + (uint64_t)(s[i++] - '0');
		if (i == len) {
			c->enc = SE_DEC;
			c->v = v;
			return;
		}
	}
	/* Split after the last separator that leaves a non-empty suffix. */
	size_t p = len - 1;
	while (p > 0 && !is_sep(s[p - 1]))
		p--;
	size_t slen = len - p;
	bool hex = slen >= 16;
	for (size_t i = p; hex && i < len; i++)
		hex = hexval(s[i]) >= 0;
	if (hex) {
		c->enc = SE_HEX;
		c->plen = p;
	} else if (p >= 8 && slen <= 12) {
		c->enc = SE_CAT;
		c->plen = p;
	}
}

static size_t str_words(const struct sclass *c, size_t len)
{
	switch (c->enc) {
	case SE_CAT:
		return 2 + (len - c->plen + 4) / 4;
	case SE_HEX:
		return 2 + (len - c->plen + 7) / 8;
	case SE_UUID:
		return 5;
	case SE_IPV4:
		return 2;
	case SE_DEC:
		return c->v > UINT32_MAX ? 3 : 2;
	default:
		return 1 + (len >= AUX_EXT) + (len + 4) / 4;
	}
}

/* Write the node words of a string (and of a PFX when type is T_PFX) into o. */
static void str_fill(uint32_t *o, size_t nw, const char *s, size_t len, const struct sclass *c,
		     uint32_t prefix, int raw_type)
{
	o[nw - 1] = 0; /* padding */
	switch (c->enc) {
	case SE_CAT: {
		size_t sl = len - c->plen;
		o[0] = HDR(T_CAT, sl);
		o[1] = prefix;
		memcpy(o + 2, s + c->plen, sl);
		((char *)(o + 2))[sl] = '\0';
		break;
	}
	case SE_HEX: {
		size_t nd = len - c->plen;
		o[0] = HDR(T_HEX, nd);
		o[1] = prefix;
		uint8_t *b = (uint8_t *)(o + 2);
		memset(b, 0, (nw - 2) * 4);
		for (size_t i = 0; i < nd; i++)
			b[i / 2] |= (uint8_t)(hexval(s[c->plen + i]) << ((i & 1) ? 0 : 4));
		break;
	}
	case SE_UUID:
		o[0] = HDR(T_UUID, 0);
		memcpy(o + 1, c->uuid, 16);
		break;
	case SE_IPV4:
		o[0] = HDR(T_IPV4, 0);
		o[1] = (uint32_t)c->v;
		break;
	case SE_DEC:
		o[0] = HDR(T_DEC, nw - 1);
		o[1] = (uint32_t)c->v;
		if (nw == 3)
			o[2] = (uint32_t)(c->v >> 32);
		break;
	default: {
		uint32_t *b = o + 1;
		if (len >= AUX_EXT) {
			o[0] = HDR(raw_type, AUX_EXT);
			o[1] = (uint32_t)len;
			b++;
		} else {
			o[0] = HDR(raw_type, len);
		}
		memcpy(b, s, len);
		((char *)b)[len] = '\0';
		break;
	}
	}
}

static uint32_t sstr_imm(const char *s, size_t len)
{
	uint32_t p = (uint32_t)len << 24;
	for (size_t i = 0; i < len; i++)
		p |= (uint32_t)(uint8_t)s[i] << (16 - 8 * i);
	return IMM_MK(SUB_SSTR, p);
}

static uint32_t intern_pfx(struct kube_objstore *st, const char *s, size_t len)
{
	if (len <= 3)
		return len ? sstr_imm(s, len) : 0;
	struct sclass raw = {.enc = SE_RAW};
	size_t nw = str_words(&raw, len);
	size_t base = st->sp;
	str_fill(stack_reserve(st, nw), nw, s, len, &raw, 0, T_PFX);
	st->sp += nw;
	return intern_cand(st, base, nw, 0);
}

static uint32_t intern_str(struct kube_objstore *st, const char *s, size_t len)
{
	if (len <= 3)
		return sstr_imm(s, len);
	uint32_t ts;
	if (len == 20 && ts_encode(s, &ts))
		return IMM | IMM_TS | ts;
	if (len > UINT32_MAX - 8)
		return 0;
	struct sclass c;
	str_classify(s, len, &c);
	uint32_t prefix = 0;
	if (c.enc == SE_CAT || c.enc == SE_HEX)
		prefix = intern_pfx(st, s, c.plen);
	size_t nw = str_words(&c, len);
	if (nw > MAX_NODE_WORDS)
		return 0;
	size_t base = st->sp;
	str_fill(stack_reserve(st, nw), nw, s, len, &c, prefix, T_STR);
	st->sp += nw;
	return intern_cand(st, base, nw, 0);
}

/* Look up the node of candidate c without changing anything. */
static uint32_t find_cand(const struct kube_objstore *st, const uint32_t *c, size_t nw)
{
	return probe(st, c, nw, hash_node(st->seed, c, nw), NULL);
}

static uint32_t find_strx(const struct kube_objstore *st, const char *s, size_t len, bool pfx)
{
	if (len <= 3)
		return len || !pfx ? sstr_imm(s, len) : 0;
	struct sclass c = {.enc = SE_RAW};
	if (!pfx) {
		uint32_t ts;
		if (len == 20 && ts_encode(s, &ts))
			return IMM | IMM_TS | ts;
		if (len > UINT32_MAX - 8)
			return 0;
		str_classify(s, len, &c);
	}
	uint32_t prefix = 0;
	if (c.enc == SE_CAT || c.enc == SE_HEX) {
		prefix = find_strx(st, s, c.plen, true);
		if (!prefix && c.plen)
			return 0;
	}
	size_t nw = str_words(&c, len);
	uint32_t local[80];
	uint32_t *o = nw <= KS_ARRAY_LEN(local) ? local : ks_malloc(nw * 4);
	str_fill(o, nw, s, len, &c, prefix, pfx ? T_PFX : T_STR);
	uint32_t r = find_cand(st, o, nw);
	if (o != local)
		free(o);
	return r;
}

/* Readers look up the same few member names ("metadata", "status", "phase"…) millions of
 * times: a small per-thread cache maps (store, bytes) to the id found, so a repeated look-up
 * is one compare of the key against the cached string instead of a hash and a probe of the
 * store's table. Entries hold only ids found (a string interned later is simply not cached
 * yet) and are trusted only while no node of the store was freed since (frees). Per
 * thread, so concurrent readers of a const store stay independent. */
#define FIND_CACHE_N 64
struct find_cache_ent {
	uint64_t serial;
	uint64_t frees;
	uint32_t id;
	uint32_t len;
	char key[24];
};
static _Thread_local struct find_cache_ent find_cache[FIND_CACHE_N];

uint32_t kube_objstore_find_str(const struct kube_objstore *st, const char *s, size_t len)
{
	if (memchr(s, 0, len))
		return KUBE_OBJ_NONE;
	if (len > sizeof find_cache[0].key)
		return find_strx(st, s, len, false);
	uint32_t h = len ? ((uint32_t)(unsigned char)s[0] * 31u + (uint32_t)(unsigned char)s[len - 1]) *
				   2654435761u + (uint32_t)len
			 : 0;
	struct find_cache_ent *e = &find_cache[(h >> 16) % FIND_CACHE_N];
	if (e->serial == st->serial && e->frees == st->frees && e->len == len && !memcmp(e->key, s, len))
		return e->id;
	uint32_t id = find_strx(st, s, len, false);
	if (id != KUBE_OBJ_NONE) {
		e->serial = st->serial;
		e->frees = st->frees;
		e->id = id;
		e->len = (uint32_t)len;
		memcpy(e->key, s, len);
	}
	return id;
}

uint32_t kube_objstore_intern_str(struct kube_objstore *st, const char *s, size_t len)
{
	if (memchr(s, 0, len))
		return KUBE_OBJ_NONE;
	return intern_str(st, s, len);
}

/* Decode a string id into o (room for KUBE_OBJSTORE_STRTMP bytes, or for the whole string
 * when it is plain); returns the length, or SIZE_MAX when id is not a string. */
static size_t str_decode(const struct kube_objstore *st, uint32_t id, char *o)
{
	if (!id)
		return 0; /* the empty prefix */
	if (id & IMM) {
		if (id & IMM_TS) {
			ts_decode(id & ~(IMM | IMM_TS), o);
			return 20;
		}
		if (IMM_SUB(id) != SUB_SSTR)
			return SIZE_MAX;
		size_t len = IMM_PAYLOAD(id) >> 24;
		for (size_t i = 0; i < len; i++)
			o[i] = (char)(id >> (16 - 8 * i));
		o[len] = '\0';
		return len;
	}
	const uint32_t *n = st->w + id;
	uint32_t aux = H_AUX(n[0]);
	switch (H_TYPE(n[0])) {
	case T_STR:
	case T_PFX: {
		size_t len = aux == AUX_EXT ? n[1] : aux;
		memcpy(o, n + 1 + (aux == AUX_EXT), len + 1);
		return len;
	}
	case T_CAT: {
		size_t p = str_decode(st, n[1], o);
		memcpy(o + p, n + 2, aux + 1);
		return p + aux;
	}
	case T_HEX: {
		size_t p = str_decode(st, n[1], o);
		const uint8_t *b = (const uint8_t *)(n + 2);
		for (size_t i = 0; i < aux; i++)
			o[p + i] = hexdig[(b[i / 2] >> ((i & 1) ? 0 : 4)) & 15];
		o[p + aux] = '\0';
		return p + aux;
	}
	case T_UUID:
		uuid_decode((const uint8_t *)(n + 1), o);
		o[36] = '\0';
		return 36;
	case T_IPV4: {
		size_t len = ipv4_decode(n[1], o);
		o[len] = '\0';
		return len;
	}
	case T_DEC: {
		uint64_t v = n[1] | (aux == 2 ? (uint64_t)n[2] << 32 : 0);
		size_t len = put_uint(o, v);
		o[len] = '\0';
		return len;
	}
	default:
		return SIZE_MAX;
	}
}

const char *kube_objstore_str(const struct kube_objstore *st, uint32_t id,
			      char tmp[KUBE_OBJSTORE_STRTMP], size_t *len)
{
	if (is_node(id) && H_TYPE(st->w[id]) == T_STR) {
		const uint32_t *n = st->w + id;
		uint32_t aux = H_AUX(n[0]);
		if (len)
			*len = aux == AUX_EXT ? n[1] : aux;
		return (const char *)(n + 1 + (aux == AUX_EXT));
	}
	if (!id || (is_node(id) && H_TYPE(st->w[id]) == T_PFX))
		return NULL;
	size_t n = str_decode(st, id, tmp);
	if (n == SIZE_MAX)
		return NULL;
	if (len)
		*len = n;
	return tmp;
}

bool kube_objstore_str_eq(const struct kube_objstore *st, uint32_t id, const char *s,
			  size_t len)
{
	char tmp[KUBE_OBJSTORE_STRTMP];
	size_t n;
	const char *p = kube_objstore_str(st, id, tmp, &n);
	return p && n == len && memcmp(p, s, len) == 0;
}

/* ---- interning trees ----------------------------------------------------------------- */

static uint32_t intern_num(struct kube_objstore *st, double d)
{
	if (d >= -INT_LIM && d < INT_LIM) {
		int32_t i = (int32_t)d;
		if ((double)i == d && !(i == 0 && signbit(d)))
			return IMM_MK(SUB_INT, (uint32_t)i & 0x0fffffffu);
	}
	size_t base = st->sp;
	uint32_t *o = stack_reserve(st, 3);
	uint64_t bits;
	memcpy(&bits, &d, 8);
	o[0] = HDR(T_NUM, 0);
	o[1] = (uint32_t)bits;
	o[2] = (uint32_t)(bits >> 32);
	st->sp += 3;
	return intern_cand(st, base, 3, 0);
}

/* Give back the references pushed since first, and pop to base. */
static uint32_t unwind(struct kube_objstore *st, size_t base, size_t first)
{
	while (st->sp > first) {
		uint32_t r = st->stk[--st->sp];
		kube_objstore_unref(st, r);
	}
	st->sp = base;
	return KUBE_OBJ_NONE;
}

static uint32_t intern_cj(struct kube_objstore *st, const cJSON *v, int depth, uint64_t ctx);

static uint32_t intern_arr(struct kube_objstore *st, const cJSON *v, int depth, uint64_t ctx)
{
	size_t n = 0;
	for (const cJSON *c = v->child; c; c = c->next)
		n++;
	if (!n)
		return R_EARR;
	if (depth >= KUBE_OBJSTORE_MAX_DEPTH || n > MAX_NODE_WORDS - 2)
		return KUBE_OBJ_NONE;
	size_t base = st->sp;
	push(st, HDR(T_ARR, n < AUX_EXT ? n : AUX_EXT));
	if (n >= AUX_EXT)
		push(st, (uint32_t)n);
	size_t first = st->sp;
	uint64_t i = 0;
	for (const cJSON *c = v->child; c; c = c->next) {
		uint32_t r = intern_cj(st, c, depth + 1, ctx_mix(ctx, (1ULL << 32) | i++));
		if (!r)
			return unwind(st, base, first);
		push(st, r);
	}
	return intern_cand(st, base, st->sp - base, 0);
}

static uint32_t intern_obj(struct kube_objstore *st, const cJSON *v, int depth, uint64_t ctx)
{
	size_t n = 0;
	for (const cJSON *c = v->child; c; c = c->next)
		n++;
	if (!n)
		return R_EOBJ;
	if (depth >= KUBE_OBJSTORE_MAX_DEPTH || n > MAX_NODE_WORDS - 2)
		return KUBE_OBJ_NONE;
	size_t base = st->sp;
	push(st, HDR(T_SHAPE, n < AUX_EXT ? n : AUX_EXT));
	if (n >= AUX_EXT)
		push(st, (uint32_t)n);
	size_t first = st->sp;
	for (const cJSON *c = v->child; c; c = c->next) {
		uint32_t r = c->string ? intern_str(st, c->string, strlen(c->string)) : 0;
		if (!r)
			return unwind(st, base, first);
		push(st, r);
	}
	uint32_t shape = intern_cand(st, base, st->sp - base, 0);
	push(st, HDR(T_OBJ, 0));
	push(st, shape);
	size_t i = 0, kskip = 1 + (n >= AUX_EXT);
	for (const cJSON *c = v->child; c; c = c->next, i++) {
		/* the arena may move while children are interned: index it afresh */
		uint32_t key = st->w[shape + kskip + i];
		uint32_t r = intern_cj(st, c, depth + 1, ctx_mix(ctx, key));
		if (!r)
			return unwind(st, base, base + 1);
		push(st, r);
	}
	return intern_cand(st, base, st->sp - base, ctx);
}

static uint32_t intern_cj(struct kube_objstore *st, const cJSON *v, int depth, uint64_t ctx)
{
	switch (v->type & 0xff) {
	case cJSON_NULL:
		return R_NULL;
	case cJSON_False:
		return R_FALSE;
	case cJSON_True:
		return R_TRUE;
	case cJSON_Number:
		return intern_num(st, v->valuedouble);
	case cJSON_String:
		return v->valuestring ? intern_str(st, v->valuestring, strlen(v->valuestring))
				      : KUBE_OBJ_NONE;
	case cJSON_Array:
		return intern_arr(st, v, depth, ctx);
	case cJSON_Object:
		return intern_obj(st, v, depth, ctx);
	default:
		return KUBE_OBJ_NONE;
	}
}

uint32_t kube_objstore_intern(struct kube_objstore *st, const cJSON *v)
{
	return v ? intern_cj(st, v, 0, 1) : KUBE_OBJ_NONE;
}

uint32_t kube_objstore_ref(struct kube_objstore *st, uint32_t id)
{
	if (is_node(id)) {
		if (H_TYPE(st->w[id]) == T_FREE)
			fatal("ref of a freed node", id);
		rc_inc(st, id);
	}
	return id;
}

void kube_objstore_unref(struct kube_objstore *st, uint32_t id)
{
	if (!is_node(id))
		return;
	size_t base = st->sp;
	push(st, id);
	while (st->sp > base) {
		uint32_t off = st->stk[--st->sp];
		uint32_t h = st->w[off];
		if (H_TYPE(h) == T_FREE)
			fatal("unref of a freed node", off);
		uint32_t rc = h & RC_MASK;
		if (rc == RC_MAX)
			continue;
		if (rc > 1) {
			st->w[off] = h - 1;
			continue;
		}
		size_t nw = node_words(st, off);
		table_remove(st, off, nw);
		size_t nch;
		const uint32_t *ch = node_children(st->w + off, nw, &nch);
		for (size_t i = 0; i < nch; i++) {
			if (is_node(ch[i]))
				push(st, ch[i]);
		}
		st->ntype[H_TYPE(h)]--;
		st->live_words -= nw;
		st->frees++;
		block_free(st, off, nw);
	}
}

/* ---- reading ------------------------------------------------------------------------- */

enum kube_objtype kube_objstore_type(const struct kube_objstore *st, uint32_t id)
{
	if (!id)
		return KUBE_OBJ_INVALID;
	if (id & IMM) {
		if (id & IMM_TS)
			return KUBE_OBJ_STRING;
		switch (IMM_SUB(id)) {
		case SUB_CONST:
			switch (IMM_PAYLOAD(id)) {
			case 0: return KUBE_OBJ_NULL;
			case 1:
			case 2: return KUBE_OBJ_BOOL;
			case 3: return KUBE_OBJ_OBJECT;
			case 4: return KUBE_OBJ_ARRAY;
			default: return KUBE_OBJ_INVALID;
			}
		case SUB_INT:
			return KUBE_OBJ_NUMBER;
		case SUB_SSTR:
			return KUBE_OBJ_STRING;
		default:
			return KUBE_OBJ_INVALID;
		}
	}
	if (id >= st->used)
		return KUBE_OBJ_INVALID;
	switch (H_TYPE(st->w[id])) {
	case T_STR:
	case T_CAT:
	case T_HEX:
	case T_UUID:
	case T_IPV4:
	case T_DEC:
		return KUBE_OBJ_STRING;
	case T_NUM:
		return KUBE_OBJ_NUMBER;
	case T_ARR:
		return KUBE_OBJ_ARRAY;
	case T_OBJ:
	case T_OBJD:
		return KUBE_OBJ_OBJECT;
	default:
		return KUBE_OBJ_INVALID;
	}
}

static inline bool is_type(const struct kube_objstore *st, uint32_t id, unsigned t)
{
	return is_node(id) && id < st->used && H_TYPE(st->w[id]) == t;
}

static inline bool is_obj(const struct kube_objstore *st, uint32_t id)
{
	if (!is_node(id) || id >= st->used)
		return false;
	unsigned t = H_TYPE(st->w[id]);
	return t == T_OBJ || t == T_OBJD;
}

static inline uint32_t obj_shape(const struct kube_objstore *st, uint32_t id)
{
	const uint32_t *n = st->w + id;
	return H_TYPE(n[0]) == T_OBJ ? n[1] : st->w[n[1] + 1];
}

static inline uint32_t obj_value(const struct kube_objstore *st, uint32_t id, size_t i)
{
	const uint32_t *n = st->w + id;
	return H_TYPE(n[0]) == T_OBJ ? n[2 + i] : objd_value(st, n, i);
}

/* Elements of an ARR or SHAPE node. */
static const uint32_t *vec(const struct kube_objstore *st, uint32_t id, size_t *n)
{
	const uint32_t *p = st->w + id;
	uint32_t aux = H_AUX(p[0]);
	*n = aux == AUX_EXT ? p[1] : aux;
	return p + 1 + (aux == AUX_EXT);
}

size_t kube_objstore_len(const struct kube_objstore *st, uint32_t id)
{
	size_t n = 0;
	if (is_type(st, id, T_ARR))
		vec(st, id, &n);
	else if (is_obj(st, id))
		n = shape_count(st, obj_shape(st, id));
	return n;
}

uint32_t kube_objstore_at(const struct kube_objstore *st, uint32_t id, size_t i)
{
	if (!is_type(st, id, T_ARR))
		return KUBE_OBJ_NONE;
	size_t n;
	const uint32_t *e = vec(st, id, &n);
	return i < n ? e[i] : KUBE_OBJ_NONE;
}

uint32_t kube_objstore_key(const struct kube_objstore *st, uint32_t id, size_t i)
{
	if (!is_obj(st, id))
		return KUBE_OBJ_NONE;
	size_t n;
	const uint32_t *k = vec(st, obj_shape(st, id), &n);
	return i < n ? k[i] : KUBE_OBJ_NONE;
}

uint32_t kube_objstore_val(const struct kube_objstore *st, uint32_t id, size_t i)
{
	if (!is_obj(st, id))
		return KUBE_OBJ_NONE;
	return i < shape_count(st, obj_shape(st, id)) ? obj_value(st, id, i) : KUBE_OBJ_NONE;
}

static uint32_t member(const struct kube_objstore *st, uint32_t id, uint32_t key)
{
	if (!key || !is_obj(st, id))
		return KUBE_OBJ_NONE;
	size_t n;
	const uint32_t *k = vec(st, obj_shape(st, id), &n);
	for (size_t i = 0; i < n; i++) {
		if (k[i] == key)
			return obj_value(st, id, i);
	}
	return KUBE_OBJ_NONE;
}

uint32_t kube_objstore_child(const struct kube_objstore *st, uint32_t id, const char *key,
			     size_t keylen)
{
	if (!is_obj(st, id))
		return KUBE_OBJ_NONE;
	return member(st, id, kube_objstore_find_str(st, key, keylen));
}

uint32_t kube_objstore_get(const struct kube_objstore *st, uint32_t id, const char *path)
{
	const char *p = path;
	while (id && *p) {
		const char *dot = strchr(p, '.');
		size_t n = dot ? (size_t)(dot - p) : strlen(p);
		id = kube_objstore_child(st, id, p, n);
		p += n + (dot ? 1 : 0);
	}
	return id;
}

static double num_of(const struct kube_objstore *st, uint32_t id, bool *ok)
{
	*ok = true;
	if ((id & (IMM | IMM_TS)) == IMM && IMM_SUB(id) == SUB_INT)
		return (double)((int32_t)(IMM_PAYLOAD(id) << 4) >> 4);
	if (is_type(st, id, T_NUM)) {
		uint64_t bits = st->w[id + 1] | (uint64_t)st->w[id + 2] << 32;
		double d;
		memcpy(&d, &bits, 8);
		return d;
	}
	*ok = false;
	return 0;
}

double kube_objstore_num(const struct kube_objstore *st, uint32_t id, double def)
{
	bool ok;
	double d = num_of(st, id, &ok);
	return ok ? d : def;
}

bool kube_objstore_bool(const struct kube_objstore *st, uint32_t id, bool def)
{
	return id == R_TRUE ? true : id == R_FALSE ? false : def;
}

/* ---- decoding ------------------------------------------------------------------------ */

static cJSON *must(cJSON *j)
{
	if (!j)
		fatal("out of memory building cJSON", 0);
	return j;
}

static cJSON *dec(const struct kube_objstore *st, uint32_t id)
{
	switch (kube_objstore_type(st, id)) {
	case KUBE_OBJ_NULL:
		return must(cJSON_CreateNull());
	case KUBE_OBJ_BOOL:
		return must(cJSON_CreateBool(id == R_TRUE));
	case KUBE_OBJ_NUMBER:
		return must(cJSON_CreateNumber(kube_objstore_num(st, id, 0)));
	case KUBE_OBJ_STRING: {
		char tmp[KUBE_OBJSTORE_STRTMP];
		return must(cJSON_CreateString(kube_objstore_str(st, id, tmp, NULL)));
	}
	case KUBE_OBJ_ARRAY: {
		cJSON *a = must(cJSON_CreateArray());
		size_t n = kube_objstore_len(st, id);
		for (size_t i = 0; i < n; i++)
			cJSON_AddItemToArray(a, dec(st, kube_objstore_at(st, id, i)));
		return a;
	}
	case KUBE_OBJ_OBJECT: {
		cJSON *o = must(cJSON_CreateObject());
		size_t n = kube_objstore_len(st, id);
		for (size_t i = 0; i < n; i++) {
			char tmp[KUBE_OBJSTORE_STRTMP];
			const char *k =
				kube_objstore_str(st, kube_objstore_key(st, id, i), tmp, NULL);
			cJSON *v = dec(st, kube_objstore_val(st, id, i));
			if (!cJSON_AddItemToObject(o, k, v))
				fatal("out of memory building cJSON", 0);
		}
		return o;
	}
	default:
		return NULL;
	}
}

cJSON *kube_objstore_to_cjson(const struct kube_objstore *st, uint32_t id)
{
	return dec(st, id);
}

static int emit_str(struct ks_buf *out, const char *s, size_t len)
{
	int rc = ks_buf_appendc(out, '"');
	size_t run = 0;
	for (size_t i = 0; i < len && !rc; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch >= 0x20 && ch != '"' && ch != '\\')
			continue;
		rc = ks_buf_append(out, s + run, i - run);
		run = i + 1;
		char e[8] = {'\\', 0};
		size_t en = 2;
		switch (ch) {
		case '"': e[1] = '"'; break;
		case '\\': e[1] = '\\'; break;
		case '\b': e[1] = 'b'; break;
		case '\f': e[1] = 'f'; break;
		case '\n': e[1] = 'n'; break;
		case '\r': e[1] = 'r'; break;
		case '\t': e[1] = 't'; break;
		default:
			e[1] = 'u';
			e[2] = '0';
			e[3] = '0';
			e[4] = hexdig[ch >> 4];
			e[5] = hexdig[ch & 15];
			en = 6;
		}
		if (!rc)
			rc = ks_buf_append(out, e, en);
	}
	if (!rc)
		rc = ks_buf_append(out, s + run, len - run);
	return rc ? rc : ks_buf_appendc(out, '"');
}

static int emit(const struct kube_objstore *st, uint32_t id, struct ks_buf *out)
{
	switch (kube_objstore_type(st, id)) {
	case KUBE_OBJ_NULL:
		return ks_buf_append(out, "null", 4);
	case KUBE_OBJ_BOOL:
		return id == R_TRUE ? ks_buf_append(out, "true", 4)
				    : ks_buf_append(out, "false", 5);
	case KUBE_OBJ_NUMBER: {
		char nb[64];
		if (id & IMM) {
			int32_t i = (int32_t)(IMM_PAYLOAD(id) << 4) >> 4;
			size_t n = 0;
			if (i < 0)
				nb[n++] = '-';
			n += put_uint(nb + n, i < 0 ? (uint64_t)(-(int64_t)i) : (uint64_t)i);
			return ks_buf_append(out, nb, n);
		}
		/* Print as cJSON does (it has changed between versions: let it decide). */
		cJSON item = {0};
		item.type = cJSON_Number;
		cJSON_SetNumberValue(&item, kube_objstore_num(st, id, 0));
		if (!cJSON_PrintPreallocated(&item, nb, (int)sizeof nb, 0))
			return KS_EINVAL;
		return ks_buf_appendstr(out, nb);
	}
	case KUBE_OBJ_STRING: {
		char tmp[KUBE_OBJSTORE_STRTMP];
		size_t n;
		const char *s = kube_objstore_str(st, id, tmp, &n);
		return emit_str(out, s, n);
	}
	case KUBE_OBJ_ARRAY: {
		int rc = ks_buf_appendc(out, '[');
		size_t n = kube_objstore_len(st, id);
		for (size_t i = 0; i < n && !rc; i++) {
			if (i)
				rc = ks_buf_appendc(out, ',');
			if (!rc)
				rc = emit(st, kube_objstore_at(st, id, i), out);
		}
		return rc ? rc : ks_buf_appendc(out, ']');
	}
	case KUBE_OBJ_OBJECT: {
		int rc = ks_buf_appendc(out, '{');
		size_t n = kube_objstore_len(st, id);
		for (size_t i = 0; i < n && !rc; i++) {
			char tmp[KUBE_OBJSTORE_STRTMP];
			size_t kl;
			const char *k =
				kube_objstore_str(st, kube_objstore_key(st, id, i), tmp, &kl);
			if (i)
				rc = ks_buf_appendc(out, ',');
			if (!rc)
				rc = emit_str(out, k, kl);
			if (!rc)
				rc = ks_buf_appendc(out, ':');
			if (!rc)
				rc = emit(st, kube_objstore_val(st, id, i), out);
		}
		return rc ? rc : ks_buf_appendc(out, '}');
	}
	default:
		return KS_EINVAL;
	}
}

int kube_objstore_to_json(const struct kube_objstore *st, uint32_t id, struct ks_buf *out,
			  struct ks_err *err)
{
	size_t len0 = out->len;
	int rc = emit(st, id, out);
	if (rc) {
		out->len = len0;
		if (out->data)
			out->data[len0] = '\0';
		if (rc == KS_ETOOBIG)
			return ks_err_set(err, rc,
					  "serialising stored object %u: exceeds the %zu-byte "
					  "buffer limit",
					  id, out->max);
		return ks_err_set(err, rc, "serialising stored object %u: not a value", id);
	}
	return 0;
}

/* ---- lifetime and statistics --------------------------------------------------------- */

struct kube_objstore *kube_objstore_new(void)
{
	struct kube_objstore *st = ks_calloc(1, sizeof *st);
	st->cap = PAGE / 4;
	st->w = map_zeroed(st->cap * 4);
	st->used = 1; /* word 0: id 0 is NONE */
	table_alloc(st, 1024);
	st->seed = fmix64((uint64_t)(uintptr_t)st ^ 0x6a09e667f3bcc908ULL);
	static uint64_t serials;
	st->serial = __atomic_add_fetch(&serials, 1, __ATOMIC_RELAXED); /* never 0 */
	return st;
}

void kube_objstore_free(struct kube_objstore *st)
{
	if (!st)
		return;
	unmap(st->w, st->cap * 4);
	unmap(st->slot, st->tbytes);
	free(st->stk);
	free(st);
}

void kube_objstore_stats(const struct kube_objstore *st, struct kube_objstore_stats *out)
{
	memset(out, 0, sizeof *out);
	out->arena_cap_bytes = page_round(st->cap * 4);
	out->arena_bytes = st->used * 4;
	out->node_bytes = st->live_words * 4;
	out->free_bytes = st->free_words * 4;
	out->table_bytes = page_round(st->tbytes);
	out->bytes = out->arena_cap_bytes + out->table_bytes + st->scap * 4 + sizeof *st;
	out->table_slots = st->tcap;
	out->table_used = st->tused;
	out->table_tombstones = st->ttomb;
	out->strings = st->ntype[T_STR] + st->ntype[T_PFX] + st->ntype[T_CAT] +
		       st->ntype[T_HEX] + st->ntype[T_UUID] + st->ntype[T_IPV4] +
		       st->ntype[T_DEC];
	out->numbers = st->ntype[T_NUM];
	out->arrays = st->ntype[T_ARR];
	out->objects = st->ntype[T_OBJ] + st->ntype[T_OBJD];
	out->delta_objects = st->ntype[T_OBJD];
	out->shapes = st->ntype[T_SHAPE];
	out->nodes = out->strings + out->numbers + out->arrays + out->objects + out->shapes;
	out->lookups = st->lookups;
	out->hits = st->hits;
}
