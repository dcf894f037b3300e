/* anonymize.c — see anonymize.h.
 *
 * Word boundaries: a real string is replaced in free text only where the bytes around it
 * are not letters, digits or '_' ('-', '.', '/', ':' and spaces are boundaries, so the
 * "api" of "payments/api" and of "api-7d9f8" is found), and only when it is 3 bytes or
 * longer (a container named "c" must not eat every lone "c"). The text is scanned once,
 * left to right, so a placeholder just written is never scanned again. */
#include "base/common.h"
#include "diag/anonymize.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define MIN_TEXT_MATCH 3
#define MAX_PLACEHOLDER 32

static const char *const cat_word[DIAG_ANON_NCAT] = {
	[DIAG_ANON_NAME] = "name",   [DIAG_ANON_NAMESPACE] = "namespace",
	[DIAG_ANON_UID] = "uid",     [DIAG_ANON_LABEL] = "label",
	[DIAG_ANON_IMAGE] = "image", [DIAG_ANON_HOST] = "host",
	[DIAG_ANON_LOG] = "log",     [DIAG_ANON_EVENT] = "event",
	[DIAG_ANON_VALUE] = "value",
};

void diag_anon_init(struct diag_anon *a)
{
	*a = (struct diag_anon){0};
	ks_map_init(&a->by_real);
	ks_map_init(&a->by_placeholder);
}

void diag_anon_release(struct diag_anon *a)
{
	for (size_t i = 0; i < a->n; i++) {
		free(a->pairs[i]->real);
		free(a->pairs[i]->placeholder);
		free(a->pairs[i]);
	}
	free(a->pairs);
	ks_map_release(&a->by_real);
	ks_map_release(&a->by_placeholder);
	*a = (struct diag_anon){0};
}

const char *diag_anon_mask(struct diag_anon *a, enum diag_anon_cat c, const char *real)
{
	if (!real || !*real)
		return "";
	struct diag_anon_pair *p = ks_map_get(&a->by_real, real);
	if (p)
		return p->placeholder;
	/* A string that already is a placeholder of ours stays as it is. */
	if (ks_map_get(&a->by_placeholder, real))
		return real;
	p = ks_malloc(sizeof *p);
	p->real = ks_strdup(real);
	p->placeholder = ks_asprintf("%s-%u", cat_word[c], ++a->next[c]);
	ks_map_put(&a->by_real, p->real, p);
	ks_map_put(&a->by_placeholder, p->placeholder, p);
	a->pairs = ks_grow(a->pairs, sizeof *a->pairs, a->n + 1, &a->cap);
	a->pairs[a->n++] = p;
	return p->placeholder;
}

void diag_anon_learn(struct diag_anon *a, enum diag_anon_cat c, const char *real)
{
	diag_anon_mask(a, c, real);
}

static bool is_word_byte(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_';
}

static int by_length_desc(const void *x, const void *y)
{
	const struct diag_anon_pair *a = *(const struct diag_anon_pair *const *)x;
	const struct diag_anon_pair *b = *(const struct diag_anon_pair *const *)y;
	size_t la = strlen(a->real), lb = strlen(b->real);
	return la < lb ? 1 : la > lb ? -1 : strcmp(a->real, b->real);
}

static bool is_host_byte(char c)
{
	return is_word_byte(c) || c == '.' || c == '-';
}

/* A DNS name or an IPv4 address in free text: "pg-main.payments.svc.cluster.local",
 * "10.0.3.7", "api.example.com". Tokens starting with '.' are field paths. */
static bool looks_like_host(const char *s, size_t n)
{
	while (n && (s[n - 1] == '.' || s[n - 1] == '-'))
		n--; /* the end of a sentence */
	if (n < 4 || s[0] == '.' || s[0] == '-')
		return false;
	size_t dots = 0;
	bool letter = false;
	for (size_t i = 0; i < n; i++) {
		dots += s[i] == '.';
		letter = letter || (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z');
		if (s[i] == '.' && (i + 1 == n || s[i + 1] == '.'))
			return false;
	}
	static const char *const suffixes[] = {".svc", ".local", ".internal", ".com", ".io",
					       ".net", ".org", NULL};
	for (size_t i = 0; suffixes[i]; i++) {
		size_t k = strlen(suffixes[i]);
		if (dots && n > k && !strncasecmp(s + n - k, suffixes[i], k))
			return true;
	}
	return dots >= 2 && (letter || dots == 3);
}

/* Learn the host names free text mentions, so they are replaced like the known names. */
static void learn_hosts(struct diag_anon *a, const char *s)
{
	for (size_t i = 0; s[i];) {
		if (!is_host_byte(s[i]) || (i && is_word_byte(s[i - 1]))) {
			i++;
			continue;
		}
		size_t j = i;
		while (s[j] && is_host_byte(s[j]))
			j++;
		size_t n = j - i;
		while (n && (s[i + n - 1] == '.' || s[i + n - 1] == '-'))
			n--;
		if (looks_like_host(s + i, n) && !ks_map_getn(&a->by_real, s + i, n)) {
			char *h = ks_strndup(s + i, n);
			diag_anon_mask(a, DIAG_ANON_HOST, h);
			free(h);
		}
		i = j;
	}
}

char *diag_anon_mask_text(struct diag_anon *a, const char *s)
{
	learn_hosts(a, s);
	struct diag_anon_pair **sorted = ks_calloc(a->n ? a->n : 1, sizeof *sorted);
	size_t k = 0;
	for (size_t i = 0; i < a->n; i++)
		if (strlen(a->pairs[i]->real) >= MIN_TEXT_MATCH)
			sorted[k++] = a->pairs[i];
	qsort(sorted, k, sizeof *sorted, by_length_desc);
	struct ks_buf out;
	ks_buf_init(&out, KS_BUF_UNLIMITED);
	size_t n = strlen(s);
	for (size_t i = 0; i < n;) {
		const struct diag_anon_pair *hit = NULL;
		if (i == 0 || !is_word_byte(s[i - 1])) {
			for (size_t j = 0; j < k && !hit; j++) {
				size_t len = strlen(sorted[j]->real);
				if (len <= n - i && !memcmp(s + i, sorted[j]->real, len) &&
				    (i + len == n || !is_word_byte(s[i + len])))
					hit = sorted[j];
			}
		}
		if (hit) {
			ks_buf_appendstr(&out, hit->placeholder);
			i += strlen(hit->real);
		} else {
			ks_buf_appendc(&out, s[i++]);
		}
	}
	free(sorted);
	return ks_buf_detach(&out);
}

/* Values that state a fact, not an identity: a word of letters (Pending, OOMKilled), a
 * number or quantity (137, 0.5, 512Mi), true/false. Such values still go through pass 2. */
static bool looks_like_fact(const char *s)
{
	size_t n = strlen(s);
	if (!n || n > 40)
		return false;
	bool letters = true;
	for (size_t i = 0; i < n; i++)
		letters = letters && ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z'));
	if (letters)
		return true;
	size_t i = 0;
	if (s[i] == '-')
		i++;
	size_t digits = 0;
	while (i < n && ((s[i] >= '0' && s[i] <= '9') || s[i] == '.'))
		i++, digits++;
	size_t unit = n - i;
	if (!digits || unit > 3)
		return false;
	for (; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')))
			return false;
	return true;
}

static bool key_is(const cJSON *it, const char *k)
{
	return it->string && !strcmp(it->string, k);
}

static bool key_in(const cJSON *it, const char *const *keys)
{
	for (size_t i = 0; keys[i]; i++)
		if (key_is(it, keys[i]))
			return true;
	return false;
}

/* Fields that are the model of kswarm, not of the cluster: never masked. */
static const char *const structural_keys[] = {
	"kind", "type", "cause", "severity", "analyzer", "patch_type", "risk", "unit",
	"event_type", "reason", "id", "role", "confidence", NULL,
};
static const char *const host_keys[] = {"node", "nodeName", "host", "hostname", NULL};
static const char *const label_keys[] = {"labels", "selector", "matchLabels", NULL};

static void set_string(cJSON *it, const char *s)
{
	cJSON_SetValuestring(it, s);
}

/* Pass 1 over one object's members; the item's "type" and "path" decide for some keys. */
static void mask_structured(struct diag_anon *a, cJSON *node, bool labels)
{
	if (cJSON_IsString(node)) {
		if (labels)
			set_string(node, diag_anon_mask(a, DIAG_ANON_LABEL, node->valuestring));
		return;
	}
	const char *type = NULL, *path = NULL;
	if (cJSON_IsObject(node)) {
		type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(node, "type"));
		path = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(node, "path"));
	}
	bool metric = type && !strcmp(type, "metric");
	bool image_path = path && strstr(path, "image");
	bool host_path = path && (strstr(path, "nodeName") || strstr(path, "host"));
	cJSON *it;
	cJSON_ArrayForEach(it, node) {
		if (!cJSON_IsString(it)) {
			mask_structured(a, it, labels || key_in(it, label_keys));
			continue;
		}
		const char *v = it->valuestring;
		if (labels || key_in(it, label_keys))
			set_string(it, diag_anon_mask(a, DIAG_ANON_LABEL, v));
		else if ((key_is(it, "name") && !metric) || key_is(it, "container"))
			set_string(it, diag_anon_mask(a, DIAG_ANON_NAME, v));
		else if (key_is(it, "namespace"))
			set_string(it, diag_anon_mask(a, DIAG_ANON_NAMESPACE, v));
		else if (key_is(it, "uid"))
			set_string(it, diag_anon_mask(a, DIAG_ANON_UID, v));
		else if (key_is(it, "image"))
			set_string(it, diag_anon_mask(a, DIAG_ANON_IMAGE, v));
		else if (key_in(it, host_keys))
			set_string(it, diag_anon_mask(a, DIAG_ANON_HOST, v));
		else if (key_is(it, "line"))
			set_string(it, diag_anon_mask(a, DIAG_ANON_LOG, v));
		else if (key_is(it, "message"))
			set_string(it, diag_anon_mask(a, DIAG_ANON_EVENT, v));
		else if ((key_is(it, "value") || key_is(it, "before") || key_is(it, "after")) &&
			 (image_path || host_path || !looks_like_fact(v)))
			set_string(it, diag_anon_mask(a, image_path  ? DIAG_ANON_IMAGE
							 : host_path ? DIAG_ANON_HOST
								     : DIAG_ANON_VALUE,
						      v));
	}
}

/* Pass 2: free text. */
static void mask_free_text(struct diag_anon *a, cJSON *node)
{
	cJSON *it;
	cJSON_ArrayForEach(it, node) {
		if (!cJSON_IsString(it)) {
			mask_free_text(a, it);
			continue;
		}
		if (key_in(it, structural_keys) || ks_map_get(&a->by_placeholder, it->valuestring))
			continue;
		char *m = diag_anon_mask_text(a, it->valuestring);
		set_string(it, m);
		free(m);
	}
}

cJSON *diag_anon_mask_json(struct diag_anon *a, const cJSON *finding)
{
	cJSON *c = cJSON_Duplicate(finding, true);
	if (!c)
		return NULL;
	mask_structured(a, c, false);
	mask_free_text(a, c);
	return c;
}

/* ---- unmasking ---- */

/* Length of the placeholder of ours at s (a category word, '-', digits), or 0. */
static size_t placeholder_at(const char *s, size_t n)
{
	for (int c = 0; c < DIAG_ANON_NCAT; c++) {
		size_t w = strlen(cat_word[c]);
		if (n < w + 2 || memcmp(s, cat_word[c], w) || s[w] != '-' ||
		    !(s[w + 1] >= '1' && s[w + 1] <= '9'))
			continue;
		size_t e = w + 1;
		while (e < n && s[e] >= '0' && s[e] <= '9')
			e++;
		return e;
	}
	return 0;
}

/* prev: the byte before s ('\0' at the start of the text). */
static int unmask_after(const struct diag_anon *a, char prev, const char *s, size_t n,
			struct ks_buf *out)
{
	for (size_t i = 0; i < n;) {
		char before = i ? s[i - 1] : prev;
		size_t len = !is_word_byte(before) ? placeholder_at(s + i, n - i) : 0;
		bool ends = len && (len == n - i || !is_word_byte(s[i + len]));
		if (ends && len < MAX_PLACEHOLDER) {
			const struct diag_anon_pair *p;
			p = ks_map_getn(&a->by_placeholder, s + i, len);
			if (p) {
				if (ks_buf_appendstr(out, p->real))
					return KS_ETOOBIG;
				i += len;
				continue;
			}
		}
		if (ks_buf_appendc(out, s[i++]))
			return KS_ETOOBIG;
	}
	return 0;
}

int diag_anon_unmask(const struct diag_anon *a, const char *s, size_t n, struct ks_buf *out)
{
	return unmask_after(a, '\0', s, n, out);
}

/* Whether s[0..n) could still grow into a placeholder: a prefix of "<word>-<digits>". */
static bool could_become_placeholder(const char *s, size_t n)
{
	for (int c = 0; c < DIAG_ANON_NCAT; c++) {
		size_t w = strlen(cat_word[c]);
		if (n <= w) {
			if (!memcmp(s, cat_word[c], n))
				return true;
			continue;
		}
		if (memcmp(s, cat_word[c], w) || s[w] != '-')
			continue;
		bool digits = true;
		for (size_t i = w + 1; i < n; i++)
			digits = digits && s[i] >= '0' && s[i] <= '9';
		if (digits && n < MAX_PLACEHOLDER)
			return true;
	}
	return false;
}

void diag_anon_stream_init(struct diag_anon_stream *st, const struct diag_anon *a)
{
	st->a = a;
	st->prev = '\0';
	ks_buf_init(&st->hold, KS_BUF_UNLIMITED);
}

void diag_anon_stream_release(struct diag_anon_stream *st)
{
	ks_buf_release(&st->hold);
}

int diag_anon_stream_feed(struct diag_anon_stream *st, const char *s, size_t n,
			  struct ks_buf *out)
{
	if (ks_buf_append(&st->hold, s, n))
		return KS_ETOOBIG;
	const char *h = st->hold.data;
	size_t len = st->hold.len;
	/* The earliest start, among the last bytes, of a tail that may still be a placeholder. */
	size_t keep_from = len;
	size_t lo = len > MAX_PLACEHOLDER ? len - MAX_PLACEHOLDER : 0;
	for (size_t k = lo; k < len; k++) {
		if (!is_word_byte(k ? h[k - 1] : st->prev) &&
		    could_become_placeholder(h + k, len - k)) {
			keep_from = k;
			break;
		}
	}
	int rc = unmask_after(st->a, st->prev, h, keep_from, out);
	if (keep_from)
		st->prev = h[keep_from - 1];
	ks_buf_consume(&st->hold, keep_from);
	return rc;
}

int diag_anon_stream_finish(struct diag_anon_stream *st, struct ks_buf *out)
{
	int rc = unmask_after(st->a, st->prev, st->hold.data ? st->hold.data : "", st->hold.len,
			      out);
	if (st->hold.len)
		st->prev = st->hold.data[st->hold.len - 1];
	ks_buf_reset(&st->hold);
	return rc;
}
