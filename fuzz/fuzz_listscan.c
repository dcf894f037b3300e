/* fuzz_listscan.c — libFuzzer target for kube/listscan.
 * The input is a list document. It is scanned twice: in one piece, and fed in pieces whose
 * sizes come from the input's hash, dropping consumed bytes between pieces as a streaming
 * reader does. Both must give the same events with the same bytes (or both fail). When the
 * whole document parses with cJSON as an object, the events must be exactly its members in
 * order — one ITEM per element of an array member named "items", a FIELD for every other
 * member — and each span must parse to the same value. Any difference aborts. */
#include "base/common.h"
#include "base/json.h"
#include "kube/listscan.h"

#include <stdio.h>
#include <string.h>

struct ev {
	int kind;
	char *key, *val;
	size_t klen, vlen;
};

struct evs {
	struct ev *v;
	size_t n, cap;
	int rc;
};

static void die(const char *what)
{
	fprintf(stderr, "fuzz_listscan: %s\n", what);
	abort();
}

static void add(struct evs *e, int kind, const char *buf, const struct kube_ls_span *sp)
{
	e->v = ks_grow(e->v, sizeof *e->v, e->n + 1, &e->cap);
	struct ev *x = &e->v[e->n++];
	x->kind = kind;
	x->key = kind == KUBE_LS_FIELD ? ks_strndup(buf + sp->key_off, sp->key_len) : NULL;
	x->klen = kind == KUBE_LS_FIELD ? sp->key_len : 0;
	x->val = ks_strndup(buf + sp->off, sp->len);
	x->vlen = sp->len;
}

static void release(struct evs *e)
{
	for (size_t i = 0; i < e->n; i++) {
		free(e->v[i].key);
		free(e->v[i].val);
	}
	free(e->v);
}

/* Scan data feeding pieces of the sizes the generator g gives (0: all at once). */
static void scan(const uint8_t *data, size_t size, uint64_t g, struct evs *out)
{
	struct kube_listscan ls;
	kube_listscan_init(&ls, 1 << 20);
	char *buf = ks_malloc(size + 1);
	size_t len = 0, fed = 0;
	memset(out, 0, sizeof *out);
	for (;;) {
		struct kube_ls_span sp;
		int r = kube_listscan_next(&ls, buf, len, fed == size, &sp, NULL);
		if (r < 0) {
			out->rc = r;
			break;
		}
		if (r == KUBE_LS_END)
			break;
		if (r == KUBE_LS_ITEM || r == KUBE_LS_FIELD) {
			add(out, r, buf, &sp);
			continue;
		}
		if (fed == size)
			die("MORE at eof");
		size_t drop = kube_listscan_droppable(&ls);
		if (drop > len)
			die("droppable beyond the buffer");
		memmove(buf, buf + drop, len - drop);
		len -= drop;
		kube_listscan_shift(&ls, drop);
		size_t piece = size - fed;
		if (g) {
			g = g * 6364136223846793005ULL + 1442695040888963407ULL;
			piece = 1 + (size_t)((g >> 33) % 7);
			if ((g >> 40) % 5 == 0)
				piece = 1 + (size_t)((g >> 20) % 300);
			if (piece > size - fed)
				piece = size - fed;
		}
		memcpy(buf + len, data + fed, piece);
		len += piece;
		fed += piece;
	}
	free(buf);
}

static bool same(const struct evs *a, const struct evs *b)
{
	if ((a->rc < 0) != (b->rc < 0) || a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++) {
		const struct ev *x = &a->v[i], *y = &b->v[i];
		if (x->kind != y->kind || x->vlen != y->vlen || memcmp(x->val, y->val, x->vlen) ||
		    x->klen != y->klen || (x->klen && memcmp(x->key, y->key, x->klen)))
			return false;
	}
	return true;
}

static bool value_is(const char *text, size_t len, const cJSON *want)
{
	cJSON *v = ks_json_parse(text, len, 1 << 20, NULL);
	if (!v)
		return false;
	char *a = cJSON_PrintUnformatted(v), *b = cJSON_PrintUnformatted(want);
	bool eq = a && b && strcmp(a, b) == 0;
	cJSON_free(a);
	cJSON_free(b);
	cJSON_Delete(v);
	return eq;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 200000)
		return 0;
	uint64_t g = 1469598103934665603ULL;
	for (size_t i = 0; i < size; i++)
		g = (g ^ data[i]) * 1099511628211ULL;
	struct evs whole, parts;
	scan(data, size, 0, &whole);
	scan(data, size, g | 1, &parts);
	if (!same(&whole, &parts))
		die("piecewise scan differs from the one-piece scan");

	cJSON *doc = ks_json_parse((const char *)data, size, 1 << 20, NULL);
	if (cJSON_IsObject(doc)) {
		if (whole.rc < 0)
			die("scanner failed on a document cJSON parses");
		size_t k = 0;
		for (const cJSON *m = doc->child; m; m = m->next) {
			if (strcmp(m->string, "items") == 0 && cJSON_IsArray(m)) {
				for (const cJSON *it = m->child; it; it = it->next, k++) {
					if (k >= whole.n || whole.v[k].kind != KUBE_LS_ITEM)
						die("expected an ITEM");
					if (!value_is(whole.v[k].val, whole.v[k].vlen, it))
						die("ITEM differs from cJSON's element");
				}
				continue;
			}
			if (k >= whole.n || whole.v[k].kind != KUBE_LS_FIELD)
				die("expected a FIELD");
			/* the name, as written, parses to the member's name */
			char *q = ks_malloc(whole.v[k].klen + 3);
			q[0] = '"';
			memcpy(q + 1, whole.v[k].key, whole.v[k].klen);
			q[whole.v[k].klen + 1] = '"';
			q[whole.v[k].klen + 2] = '\0';
			cJSON *name = ks_json_parse(q, whole.v[k].klen + 2, 1 << 20, NULL);
			if (!cJSON_IsString(name) || strcmp(name->valuestring, m->string) != 0)
				die("FIELD name differs");
			cJSON_Delete(name);
			free(q);
			if (!value_is(whole.v[k].val, whole.v[k].vlen, m))
				die("FIELD value differs");
			k++;
		}
		if (k != whole.n)
			die("extra events");
	}
	cJSON_Delete(doc);
	release(&whole);
	release(&parts);
	return 0;
}
