/* listscan.c — a resumable scanner for the items of a list; see listscan.h.
 * A state machine over the top-level object: member names, colons, commas, and values.
 * A value is skipped structurally: for objects and arrays by counting brackets outside
 * strings, for strings by finding the closing quote (memchr, then counting the backslashes
 * before it: an odd count escapes it), for scalars by reading to the next delimiter. The
 * state (position, nesting depth, inside-a-string) is kept between calls, so text may
 * arrive in pieces of any size, and a value is never scanned twice. */
#include "base/common.h"
#include "kube/listscan.h"

#include <string.h>

enum {
	S_START,
	S_OBJ_OPEN,  /* after '{': a name or '}' */
	S_KEY,       /* after ',': a name */
	S_KEYSTR,    /* inside a name */
	S_COLON,
	S_VALUE,
	S_SCAN,      /* inside a value */
	S_AFTER_MEMBER,
	S_ITEMS_OPEN, /* after "items":[ : an item or ']' */
	S_ITEM_REQ,   /* after ',' in items: an item */
	S_AFTER_ITEM,
	S_DONE,
};

enum { V_CONT, V_STR, V_SCALAR };

#define MAX_DEPTH 100000u

void kube_listscan_init(struct kube_listscan *ls, size_t max_item)
{
	memset(ls, 0, sizeof *ls);
	ls->state = S_START;
	ls->max_item = max_item;
}

static int bad(struct kube_listscan *ls, struct ks_err *err, const char *what)
{
	return ks_err_set(err, KS_EINVAL, "list JSON at byte %zu: %s", ls->base + ls->pos, what);
}

static inline bool is_ws(unsigned char c)
{
	return c <= 0x20;
}

static inline bool is_delim(unsigned char c)
{
	return c <= 0x20 || c == ',' || c == '}' || c == ']';
}

/* The closing quote of a string whose content starts at or before p; SIZE_MAX if not in
 * buf[0..len). */
static size_t str_close(const char *buf, size_t p, size_t len)
{
	while (p < len) {
		const char *q = memchr(buf + p, '"', len - p);
		if (!q)
			return SIZE_MAX;
		size_t i = (size_t)(q - buf), bs = 0;
		while (bs < i && buf[i - 1 - bs] == '\\')
			bs++;
		if (!(bs & 1))
			return i;
		p = i + 1;
	}
	return SIZE_MAX;
}

static int hex4(const char *s)
{
	int v = 0;
	for (int i = 0; i < 4; i++) {
		char c = s[i];
		int d = c >= '0' && c <= '9' ? c - '0'
		      : c >= 'a' && c <= 'f' ? c - 'a' + 10
		      : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
		if (d < 0)
			return -1;
		v = v << 4 | d;
	}
	return v;
}

/* Whether a member name, as written, is "items" once unescaped as cJSON does it (an
 * escaped NUL ends the name; so does \u with bad hex digits, which cJSON reads as 0). */
static bool key_is_items(const char *k, size_t n)
{
	char out[6];
	size_t o = 0;
	for (size_t i = 0; i < n;) {
		char c = k[i];
		if (c != '\\') {
			i++;
		} else {
			if (i + 1 >= n)
				return false;
			switch (k[i + 1]) {
			case '"': c = '"'; break;
			case '\\': c = '\\'; break;
			case '/': c = '/'; break;
			case 'b': c = '\b'; break;
			case 'f': c = '\f'; break;
			case 'n': c = '\n'; break;
			case 'r': c = '\r'; break;
			case 't': c = '\t'; break;
			case 'u': {
				if (i + 6 > n)
					return false;
				/* cJSON reads bad hex digits as 0, and a NUL ends the name */
				int v = hex4(k + i + 2);
				if (v >= 0x80)
					return false;
				if (v < 0)
					v = 0;
				c = (char)v;
				i += 4;
				break;
			}
			default:
				return false;
			}
			i += 2;
		}
		if (c == '\0')
			break;
		if (o == 5)
			return false;
		out[o++] = c;
	}
	return o == 5 && memcmp(out, "items", 5) == 0;
}

static int begin_value(struct kube_listscan *ls, const char *buf, struct ks_err *err)
{
	char c = buf[ls->pos];
	ls->vstart = ls->pos;
	switch (c) {
	case '{':
	case '[':
		ls->vkind = V_CONT;
		ls->depth = 1;
		ls->in_str = false;
		ls->pos++;
		break;
	case '"':
		ls->vkind = V_STR;
		ls->pos++;
		break;
	case ',':
	case '}':
	case ']':
	case ':':
		return bad(ls, err, "expected a value");
	default:
		ls->vkind = V_SCALAR;
	}
	ls->state = S_SCAN;
	return 0;
}

/* 1 when the value is complete, 0 when more text is needed, else an error. */
static int scan_value(struct kube_listscan *ls, const char *buf, size_t len, bool eof,
		      struct ks_err *err)
{
	size_t p = ls->pos;
	int done = 0;
	switch (ls->vkind) {
	case V_STR: {
		size_t q = str_close(buf, p, len);
		if (q == SIZE_MAX) {
			p = len;
		} else {
			p = q + 1;
			done = 1;
		}
		break;
	}
	case V_SCALAR:
		while (p < len && !is_delim((unsigned char)buf[p]))
			p++;
		done = p < len || eof;
		break;
	default:
		while (p < len) {
			if (ls->in_str) {
				size_t q = str_close(buf, p, len);
				if (q == SIZE_MAX) {
					p = len;
					break;
				}
				ls->in_str = false;
				p = q + 1;
				continue;
			}
			char c = buf[p++];
			if (c == '"') {
				ls->in_str = true;
			} else if (c == '{' || c == '[') {
				if (++ls->depth > MAX_DEPTH) {
					ls->pos = p;
					return bad(ls, err, "nested too deeply");
				}
			} else if (c == '}' || c == ']') {
				if (--ls->depth == 0) {
					done = 1;
					break;
				}
			}
		}
	}
	ls->pos = p;
	if (p - ls->vstart > ls->max_item)
		return ks_err_set(err, KS_ETOOBIG,
				  "list JSON at byte %zu: a value exceeds the %zu-byte limit",
				  ls->base + ls->vstart, ls->max_item);
	if (!done && eof)
		return bad(ls, err, "truncated inside a value");
	return done;
}

/* Skip whitespace; true when a byte follows. */
static bool skip_ws(struct kube_listscan *ls, const char *buf, size_t len)
{
	while (ls->pos < len && is_ws((unsigned char)buf[ls->pos]))
		ls->pos++;
	return ls->pos < len;
}

int kube_listscan_next(struct kube_listscan *ls, const char *buf, size_t len, bool eof,
		       struct kube_ls_span *span, struct ks_err *err)
{
	for (;;) {
		if (ls->state == S_DONE) {
			if (skip_ws(ls, buf, len))
				return bad(ls, err, "trailing data after the list");
			return eof ? KUBE_LS_END : KUBE_LS_MORE;
		}
		if (ls->state == S_SCAN) {
			int r = scan_value(ls, buf, len, eof, err);
			if (r < 0)
				return r;
			if (r == 0)
				return KUBE_LS_MORE;
			span->off = ls->vstart;
			span->len = ls->pos - ls->vstart;
			if (ls->in_items) {
				span->key_off = span->key_len = 0;
				ls->state = S_AFTER_ITEM;
				return KUBE_LS_ITEM;
			}
			span->key_off = ls->kstart;
			span->key_len = ls->klen;
			ls->state = S_AFTER_MEMBER;
			return KUBE_LS_FIELD;
		}
		if (ls->state == S_KEYSTR) {
			size_t q = str_close(buf, ls->pos, len);
			if (q == SIZE_MAX) {
				ls->pos = len;
				if (len - ls->kstart > ls->max_item)
					return ks_err_set(err, KS_ETOOBIG,
							  "list JSON: a member name "
							  "exceeds the %zu-byte limit",
							  ls->max_item);
				if (eof)
					return bad(ls, err, "truncated inside a member name");
				return KUBE_LS_MORE;
			}
			ls->klen = q - ls->kstart;
			ls->pos = q + 1;
			ls->state = S_COLON;
			continue;
		}
		if (ls->state == S_START && ls->pos == 0 && ls->base == 0) {
			static const char bom[] = "\xef\xbb\xbf";
			size_t n = len < 3 ? len : 3;
			if (memcmp(buf, bom, n) == 0) {
				if (n < 3 && !eof)
					return KUBE_LS_MORE;
				if (n == 3)
					ls->pos = 3;
			}
		}
		if (!skip_ws(ls, buf, len)) {
			if (eof)
				return bad(ls, err, ls->state == S_START ? "empty document"
									 : "truncated list");
			return KUBE_LS_MORE;
		}
		char c = buf[ls->pos];
		switch (ls->state) {
		case S_START:
			if (c != '{')
				return bad(ls, err, "a list is a JSON object");
			ls->pos++;
			ls->state = S_OBJ_OPEN;
			break;
		case S_OBJ_OPEN:
		case S_KEY:
			if (c == '}' && ls->state == S_OBJ_OPEN) {
				ls->pos++;
				ls->state = S_DONE;
			} else if (c == '"') {
				ls->pos++;
				ls->kstart = ls->pos;
				ls->state = S_KEYSTR;
			} else {
				return bad(ls, err, "expected a member name");
			}
			break;
		case S_COLON:
			if (c != ':')
				return bad(ls, err, "expected ':'");
			ls->pos++;
			ls->state = S_VALUE;
			break;
		case S_VALUE: {
			if (c == '[' && key_is_items(buf + ls->kstart, ls->klen)) {
				ls->pos++;
				ls->in_items = true;
				ls->state = S_ITEMS_OPEN;
				break;
			}
			ls->in_items = false;
			int r = begin_value(ls, buf, err);
			if (r)
				return r;
			break;
		}
		case S_AFTER_MEMBER:
			if (c == ',')
				ls->state = S_KEY;
			else if (c == '}')
				ls->state = S_DONE;
			else
				return bad(ls, err, "expected ',' or '}'");
			ls->pos++;
			break;
		case S_ITEMS_OPEN:
		case S_ITEM_REQ: {
			if (c == ']' && ls->state == S_ITEMS_OPEN) {
				ls->pos++;
				ls->in_items = false;
				ls->state = S_AFTER_MEMBER;
				break;
			}
			int r = begin_value(ls, buf, err);
			if (r)
				return r;
			break;
		}
		case S_AFTER_ITEM:
			if (c == ',') {
				ls->state = S_ITEM_REQ;
			} else if (c == ']') {
				ls->in_items = false;
				ls->state = S_AFTER_MEMBER;
			} else {
				return bad(ls, err, "expected ',' or ']' in items");
			}
			ls->pos++;
			break;
		default:
			return bad(ls, err, "internal state");
		}
	}
}

size_t kube_listscan_droppable(const struct kube_listscan *ls)
{
	switch (ls->state) {
	case S_KEYSTR:
	case S_COLON:
	case S_VALUE:
		return ls->kstart;
	case S_SCAN:
		return ls->in_items ? ls->vstart : ls->kstart;
	default:
		return ls->pos;
	}
}

void kube_listscan_shift(struct kube_listscan *ls, size_t n)
{
	ls->pos -= n;
	ls->vstart = ls->vstart >= n ? ls->vstart - n : 0;
	ls->kstart = ls->kstart >= n ? ls->kstart - n : 0;
	ls->base += n;
}
