/* kcyaml.c — see kcyaml.h: libfyaml events into a small tree with positions. */
#include "base/common.h"
#include "kube/kcyaml.h"

#include <libfyaml.h>
#include <stdio.h>
#include <string.h>

/* The first error libfyaml reports, as "file:LINE:COL: error: message". */
struct diag_capture {
	bool have;
	int line, col;
	char msg[256];
};

static void diag_out(struct fy_diag *diag, void *user, const char *buf, size_t len)
{
	(void)diag;
	struct diag_capture *c = user;
	static const char tag[] = ": error: ";
	if (c->have || !buf)
		return;
	const char *t = memmem(buf, len, tag, sizeof tag - 1);
	if (!t)
		return;
	/* Message: up to the end of the line (the source excerpt comes in later calls). */
	const char *m = t + sizeof tag - 1, *end = buf + len;
	const char *nl = memchr(m, '\n', (size_t)(end - m));
	size_t mlen = (size_t)((nl ? nl : end) - m);
	if (mlen >= sizeof c->msg)
		mlen = sizeof c->msg - 1;
	memcpy(c->msg, m, mlen);
	c->msg[mlen] = '\0';
	/* Position: the ":LINE:COL" just before the tag. */
	int nums[2] = {0, 0};
	const char *p = t;
	for (int k = 1; k >= 0; k--) {
		int v = 0, mul = 1, digits = 0;
		while (p > buf && p[-1] >= '0' && p[-1] <= '9' && digits < 9) {
			v += (p[-1] - '0') * mul;
			mul *= 10;
			digits++;
			p--;
		}
		if (!digits || p == buf || p[-1] != ':')
			break;
		nums[k] = v;
		p--;
	}
	c->line = nums[0];
	c->col = nums[1];
	c->have = true;
}

bool kube_ynode_is_null(const struct kube_ynode *n)
{
	if (!n)
		return true;
	if (n->type != KUBE_Y_SCALAR || !n->plain)
		return false;
	return n->len == 0 || !strcmp(n->str, "~") || !strcmp(n->str, "null") ||
	       !strcmp(n->str, "Null") || !strcmp(n->str, "NULL");
}

static struct kube_ynode *new_node(struct kube_yaml *y, enum kube_ynode_type type,
				   const struct fy_mark *m)
{
	struct kube_ynode *n = ks_calloc(1, sizeof *n);
	n->type = type;
	n->line = m ? m->line + 1 : 0;
	n->col = m ? m->column + 1 : 0;
	y->all = ks_grow(y->all, sizeof *y->all, y->nall + 1, &y->capall);
	y->all[y->nall++] = n;
	return n;
}

static void add_kid(struct kube_ynode *parent, struct kube_ynode *kid)
{
	parent->kids = ks_grow(parent->kids, sizeof *parent->kids, parent->n + 1, &parent->cap);
	parent->kids[parent->n++] = kid;
}

struct frame {
	struct kube_ynode *node;
	char *anchor; /* registered when the container ends */
};

/* A token's text, assembled from the token iterator's chunks: in libfyaml 0.7.12
 * fy_token_get_text() leaks on long scalars with escapes ('' in single quotes), and
 * fy_token_iter_read() garbles block scalars. */
static char *token_text(struct fy_token *t, size_t *lenp)
{
	if (lenp)
		*lenp = 0;
	if (!t)
		return NULL;
	struct fy_token_iter *it = fy_token_iter_create(t);
	if (!it) {
		fprintf(stderr, "kswarm: out of memory reading a YAML token\n");
		abort();
	}
	struct ks_buf b;
	ks_buf_init(&b, KS_BUF_UNLIMITED);
	const struct fy_iter_chunk *c = NULL;
	int ierr = 0;
	while ((c = fy_token_iter_chunk_next(it, c, &ierr)) != NULL)
		ks_buf_append(&b, c->str, c->len);
	fy_token_iter_destroy(it);
	if (lenp)
		*lenp = b.len;
	return ks_buf_detach(&b);
}

static void put_anchor(struct kube_yaml *y, char *name, struct kube_ynode *n)
{
	if (!name)
		return;
	ks_map_put(&y->anchors, name, n); /* a later anchor of the same name replaces it */
	free(name);
}

/* YAML's character set (c-printable) in strict UTF-8, as go-yaml checks it. This also keeps
 * libfyaml 0.7.12 away from invalid UTF-8 in a directive, on which it loops forever. */
static int check_chars(const char *data, size_t len, struct ks_err *err)
{
	const unsigned char *s = (const unsigned char *)data;
	int line = 1, col = 1;
	if (len >= 2 && ((s[0] == 0xff && s[1] == 0xfe) || (s[0] == 0xfe && s[1] == 0xff)))
		return ks_err_set(err, KS_EINVAL,
				  "1:1: the file is UTF-16; only UTF-8 is supported");
	for (size_t i = 0; i < len;) {
		uint32_t c = s[i];
		size_t n = 1;
		if (c >= 0x80) {
			uint32_t min;
			if ((c & 0xe0) == 0xc0)
				n = 2, c &= 0x1f, min = 0x80;
			else if ((c & 0xf0) == 0xe0)
				n = 3, c &= 0x0f, min = 0x800;
			else if ((c & 0xf8) == 0xf0)
				n = 4, c &= 0x07, min = 0x10000;
			else
				goto bad_utf8;
			if (i + n > len)
				goto bad_utf8;
			for (size_t k = 1; k < n; k++) {
				if ((s[i + k] & 0xc0) != 0x80)
					goto bad_utf8;
				c = c << 6 | (s[i + k] & 0x3f);
			}
			if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
				goto bad_utf8;
		}
		bool printable = c == 0x9 || c == 0xa || c == 0xd || (c >= 0x20 && c <= 0x7e) ||
				 c == 0x85 || (c >= 0xa0 && c <= 0xd7ff) ||
				 (c >= 0xe000 && c <= 0xfffd) || c >= 0x10000;
		if (!printable)
			return ks_err_set(err, KS_EINVAL,
					  "%d:%d: control character U+%04X is not allowed in YAML",
					  line, col, (unsigned)c);
		if (c == '\n') {
			line++;
			col = 1;
		} else {
			col++;
		}
		i += n;
		continue;
	bad_utf8:
		return ks_err_set(err, KS_EINVAL, "%d:%d: invalid UTF-8 (byte %zu)", line, col, i);
	}
	return 0;
}

/* Inputs that crash libfyaml 0.7.12, refused before it sees them. Both come from a double
 * free in its scanner's error path for a tab after ':' inside an explicit key ("? c:\t:",
 * ": ? c:\t-", "?\n  c:\t|"):
 *   - block-context explicit keys: "?" + blank at the start of a line (after indentation and
 *     "- " entries). No kubeconfig has them;
 *   - a ':' followed by blanks that hold a tab, then one of - ? : | >. "key:\tvalue" stays.
 * The checks see lines, not YAML, so a multi-line string holding such a line is refused too. */
static int check_libfyaml_traps(const char *s, size_t len, struct ks_err *err)
{
	int line = 1;
	size_t bol = 0;
	for (size_t i = 0; i < len; i++) {
		if (i == bol) {
			size_t j = i;
			while (j < len && s[j] == ' ')
				j++;
			while (j + 1 < len && s[j] == '-' &&
			       (s[j + 1] == ' ' || s[j + 1] == '\t')) {
				j += 2;
				while (j < len && (s[j] == ' ' || s[j] == '\t'))
					j++;
			}
			if (j < len && s[j] == '?' &&
			    (j + 1 == len || s[j + 1] == ' ' || s[j + 1] == '\t' ||
			     s[j + 1] == '\n' || s[j + 1] == '\r'))
				return ks_err_set(
					err, KS_EUNSUPPORTED,
					"%d:%zu: explicit mapping keys ('? ') are not supported",
					line, j - bol + 1);
		}
		if (s[i] == '\n') {
			line++;
			bol = i + 1;
			continue;
		}
		if (s[i] != ':')
			continue;
		size_t j = i + 1;
		bool tab = false;
		while (j < len && (s[j] == ' ' || s[j] == '\t'))
			tab |= s[j++] == '\t';
		if (tab && j < len && strchr("-?:|>", s[j]))
			return ks_err_set(
				err, KS_EUNSUPPORTED,
				"%d:%zu: a tab between ':' and '%c' is not supported; use spaces",
				line, i - bol + 2, s[j]);
	}
	return 0;
}

int kube_yaml_parse(const char *data, size_t len, struct kube_yaml *y, struct ks_err *err)
{
	memset(y, 0, sizeof *y);
	ks_map_init(&y->anchors);
	int crc = check_chars(data, len, err);
	if (!crc)
		crc = check_libfyaml_traps(data, len, err);
	if (crc)
		return crc;

	struct diag_capture cap = {0};
	struct fy_diag_cfg dc;
	fy_diag_cfg_default(&dc);
	dc.fp = NULL;
	dc.output_fn = diag_out;
	dc.user = &cap;
	dc.level = FYET_ERROR;
	dc.colorize = false;
	struct fy_diag *diag = fy_diag_create(&dc);
	if (!diag) {
		fprintf(stderr, "kswarm: out of memory creating a YAML parser\n");
		abort();
	}
	/* Errors are collected, not displayed: libfyaml 0.7.12's display of the source excerpt
	 * (fy_diag_error_atom_display) reads out of bounds on some inputs (long runs of tabs in
	 * a plain scalar; found by fuzz/fuzz_snapshot.c). */
	fy_diag_set_collect_errors(diag, true);
	struct fy_parse_cfg cfg = {.flags = FYPCF_DEFAULT_PARSE, .diag = diag};
	struct fy_parser *fyp = fy_parser_create(&cfg);
	if (!fyp) {
		fprintf(stderr, "kswarm: out of memory creating a YAML parser\n");
		abort();
	}
	int rc = 0;
	struct frame *stack = NULL;
	size_t depth = 0, stack_cap = 0;
	int docs = 0, last_line = 0, last_col = 0;
	/* libfyaml wants a non-NULL pointer even for an empty input. */
	if (fy_parser_set_string(fyp, len ? data : "", len) != 0) {
		rc = ks_err_set(err, KS_EINVAL, "cannot set up the YAML parser");
		goto out;
	}
	struct fy_event *e;
	while ((e = fy_parser_parse(fyp)) != NULL) {
		const struct fy_mark *m = fy_event_start_mark(e);
		if (m) {
			last_line = m->line + 1;
			last_col = m->column + 1;
		}
		struct kube_ynode *n = NULL;
		char *anchor = NULL;
		bool open = false, done = false;
		switch (e->type) {
		case FYET_DOCUMENT_START:
			if (++docs > 1)
				done = true; /* only the first document, as go-yaml's Unmarshal */
			break;
		case FYET_DOCUMENT_END: done = true; break;
		case FYET_SCALAR: {
			n = new_node(y, KUBE_Y_SCALAR, m);
			n->str = token_text(e->scalar.value, &n->len);
			if (!n->str)
				n->str = ks_strdup("");
			n->plain = fy_token_scalar_style(e->scalar.value) == FYSS_PLAIN &&
				   !e->scalar.tag;
			anchor = token_text(e->scalar.anchor, NULL);
			break;
		}
		case FYET_MAPPING_START:
			n = new_node(y, KUBE_Y_MAP, m);
			anchor = token_text(e->mapping_start.anchor, NULL);
			open = true;
			break;
		case FYET_SEQUENCE_START:
			n = new_node(y, KUBE_Y_SEQ, m);
			anchor = token_text(e->sequence_start.anchor, NULL);
			open = true;
			break;
		case FYET_MAPPING_END:
		case FYET_SEQUENCE_END:
			if (depth > 0) {
				depth--;
				put_anchor(y, stack[depth].anchor, stack[depth].node);
				stack[depth].anchor = NULL;
			}
			break;
		case FYET_ALIAS: {
			size_t nl = 0;
			char *name = token_text(e->alias.anchor, &nl);
			n = name ? ks_map_getn(&y->anchors, name, nl) : NULL;
			free(name);
			if (!n)
				rc = ks_err_set(
					err, KS_EINVAL,
					"%d:%d: alias to an anchor that is not defined (before "
					"this point)",
					last_line, last_col);
			break;
		}
		default: break;
		}
		fy_parser_event_free(fyp, e);
		if (rc) {
			free(anchor);
			goto out;
		}
		if (y->nall > KUBE_YAML_MAX_NODES) {
			free(anchor);
			rc = ks_err_set(err, KS_ETOOBIG, "%d:%d: more than %d YAML nodes",
					last_line, last_col, KUBE_YAML_MAX_NODES);
			goto out;
		}
		if (n) {
			if (depth == 0) {
				if (!y->root)
					y->root = n;
			} else {
				struct kube_ynode *parent = stack[depth - 1].node;
				/* An empty value ("key:") has no mark: use its key's. */
				if (n->line == 0 && parent->type == KUBE_Y_MAP &&
				    parent->n % 2 == 1) {
					n->line = parent->kids[parent->n - 1]->line;
					n->col = parent->kids[parent->n - 1]->col;
				}
				add_kid(parent, n);
			}
			if (open) {
				if (depth >= KUBE_YAML_MAX_DEPTH) {
					free(anchor);
					rc = ks_err_set(err, KS_ETOOBIG,
							"%d:%d: nested more than %d levels deep",
							n->line, n->col, KUBE_YAML_MAX_DEPTH);
					goto out;
				}
				stack = ks_grow(stack, sizeof *stack, depth + 1, &stack_cap);
				stack[depth].node = n;
				stack[depth].anchor = anchor;
				depth++;
			} else {
				put_anchor(y, anchor, n);
			}
		} else {
			free(anchor);
		}
		if (done)
			break;
	}
	if (fy_parser_get_stream_error(fyp)) {
		void *iter = NULL;
		struct fy_diag_error *de = fy_diag_errors_iterate(diag, &iter);
		if (de && de->msg && !cap.have) {
			snprintf(cap.msg, sizeof cap.msg, "%s", de->msg);
			cap.line = de->line;
			cap.col = de->column;
			cap.have = true;
		}
		if (cap.have && cap.line > 0)
			rc = ks_err_set(err, KS_EINVAL, "%d:%d: %s", cap.line, cap.col, cap.msg);
		else
			rc = ks_err_set(err, KS_EINVAL, "%d:%d: %s", last_line, last_col,
					cap.have ? cap.msg : "invalid YAML");
	}
out:
	for (size_t i = 0; i < depth; i++)
		free(stack[i].anchor);
	free(stack);
	fy_parser_destroy(fyp);
	fy_diag_destroy(diag);
	if (rc)
		kube_yaml_free(y);
	return rc;
}

void kube_yaml_free(struct kube_yaml *y)
{
	for (size_t i = 0; i < y->nall; i++) {
		struct kube_ynode *n = y->all[i];
		if (n->str) {
			explicit_bzero(n->str, n->len); /* scalars may be tokens or keys */
			free(n->str);
		}
		free(n->kids);
		free(n);
	}
	free(y->all);
	ks_map_release(&y->anchors);
	memset(y, 0, sizeof *y);
	ks_map_init(&y->anchors);
}

/* A JSON number, as strict as JSON's grammar (YAML's 0x1f and .inf stay strings). */
static bool is_json_number(const char *s)
{
	const char *p = s;
	if (*p == '-')
		p++;
	if (*p == '0')
		p++;
	else if (*p >= '1' && *p <= '9')
		while (*p >= '0' && *p <= '9')
			p++;
	else
		return false;
	if (*p == '.') {
		p++;
		if (!(*p >= '0' && *p <= '9'))
			return false;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '+' || *p == '-')
			p++;
		if (!(*p >= '0' && *p <= '9'))
			return false;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	return *p == '\0';
}

static int yaml_bool(const char *s)
{
	static const char *yes[] = {"y",  "Y",	"yes",	"Yes",	"YES", "on",
				    "On", "ON", "true", "True", "TRUE"};
	static const char *no[] = {"n",	  "N",	 "no",	  "No",	   "NO",   "off",
				   "Off", "OFF", "false", "False", "FALSE"};
	for (size_t i = 0; i < KS_ARRAY_LEN(yes); i++)
		if (!strcmp(s, yes[i]))
			return 1;
	for (size_t i = 0; i < KS_ARRAY_LEN(no); i++)
		if (!strcmp(s, no[i]))
			return 0;
	return -1;
}

static int scalar_to_json(const struct kube_ynode *n, struct ks_buf *b)
{
	if (kube_ynode_is_null(n))
		return ks_buf_appendstr(b, "null");
	if (n->plain) {
		int v = yaml_bool(n->str);
		if (v >= 0)
			return ks_buf_appendstr(b, v ? "true" : "false");
		if (strlen(n->str) == n->len && is_json_number(n->str))
			return ks_buf_append(b, n->str, n->len);
	}
	/* ks_buf_append_json_string stops at a NUL: escape those here. */
	int rc = ks_buf_appendc(b, '"');
	const char *p = n->str, *end = n->str + n->len;
	while (!rc && p < end) {
		size_t seg = strnlen(p, (size_t)(end - p));
		struct ks_buf tmp;
		ks_buf_init(&tmp, b->max);
		char *s = ks_strndup(p, seg);
		rc = ks_buf_append_json_string(&tmp, s);
		free(s);
		if (!rc) /* without the quotes */
			rc = ks_buf_append(b, tmp.data + 1, tmp.len - 2);
		ks_buf_release(&tmp);
		p += seg;
		if (!rc && p < end) {
			rc = ks_buf_appendstr(b, "\\u0000");
			p++;
		}
	}
	return rc ? rc : ks_buf_appendc(b, '"');
}

static int too_big(const struct kube_ynode *n, const struct ks_buf *b, struct ks_err *err)
{
	return ks_err_set(err, KS_ETOOBIG, "%d:%d: JSON larger than %zu bytes", n ? n->line : 0,
			  n ? n->col : 0, b->max);
}

#define APPEND_OR_FAIL(call)                                                                       \
	do {                                                                                       \
		if ((call) != 0)                                                                   \
			return too_big(n, b, err);                                                 \
	} while (0)

static int to_json(const struct kube_ynode *n, struct ks_buf *b, long *budget, int depth,
		   struct ks_err *err)
{
	if (--*budget < 0)
		return ks_err_set(err, KS_ETOOBIG,
				  "%d:%d: too many nodes (after expanding aliases)",
				  n ? n->line : 0, n ? n->col : 0);
	if (!n) {
		APPEND_OR_FAIL(ks_buf_appendstr(b, "null"));
		return 0;
	}
	if (depth > KUBE_YAML_MAX_DEPTH) /* only reachable through aliases */
		return ks_err_set(err, KS_ETOOBIG, "%d:%d: nested too deeply", n->line, n->col);
	int rc;
	switch (n->type) {
	case KUBE_Y_SCALAR: APPEND_OR_FAIL(scalar_to_json(n, b)); return 0;
	case KUBE_Y_SEQ:
		APPEND_OR_FAIL(ks_buf_appendc(b, '['));
		for (size_t i = 0; i < n->n; i++) {
			if (i)
				APPEND_OR_FAIL(ks_buf_appendc(b, ','));
			if ((rc = to_json(n->kids[i], b, budget, depth + 1, err)) != 0)
				return rc;
		}
		APPEND_OR_FAIL(ks_buf_appendc(b, ']'));
		return 0;
	case KUBE_Y_MAP:
		APPEND_OR_FAIL(ks_buf_appendc(b, '{'));
		for (size_t i = 0; i + 1 < n->n; i += 2) {
			const struct kube_ynode *k = n->kids[i];
			if (k->type != KUBE_Y_SCALAR)
				return ks_err_set(
					err, KS_EINVAL,
					"%d:%d: a mapping key that is not a scalar cannot "
					"be written as JSON",
					k->line, k->col);
			if (i)
				APPEND_OR_FAIL(ks_buf_appendc(b, ','));
			/* Keys are strings in JSON, whatever their YAML type. */
			struct kube_ynode key = *k;
			key.plain = false;
			APPEND_OR_FAIL(scalar_to_json(&key, b));
			APPEND_OR_FAIL(ks_buf_appendc(b, ':'));
			if ((rc = to_json(n->kids[i + 1], b, budget, depth + 1, err)) != 0)
				return rc;
		}
		APPEND_OR_FAIL(ks_buf_appendc(b, '}'));
		return 0;
	}
	return 0;
}

int kube_yaml_to_json(const struct kube_ynode *n, struct ks_buf *b, long *budget,
		      struct ks_err *err)
{
	return to_json(n, b, budget, 0, err);
}
