/* selector.c — label selectors (labels.Parse, LabelSelectorAsSelector, Matches, String) and
 * field selectors (fields.ParseSelector, Matches, String); see selector.h. The label parser
 * mirrors the lexer/parser structure of k8s.io/apimachinery/pkg/labels so that odd inputs
 * fail or pass exactly as there, with the same messages. */
#include "base/common.h"
#include "base/json.h"
#include "kube/selector.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* How much of an input or literal a message shows. */
#define SHOW_MAX 200

/* ---- messages ---- */

static void show_bytes(struct ks_buf *b, const char *s, size_t n)
{
	size_t lim = n > SHOW_MAX ? SHOW_MAX : n;
	for (size_t i = 0; i < lim; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c < 0x7f && c != '\\')
			ks_buf_appendc(b, (char)c);
		else
			ks_buf_appendf(b, "\\x%02x", c);
	}
	if (lim < n)
		ks_buf_appendstr(b, "...");
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t need;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		need = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		need = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		need = 4;
	else
		return 0;
	if (need > n)
		return 0;
	for (size_t i = 1; i < need; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return need;
}

/* Go's %q, closely enough for messages. */
static void go_quote(struct ks_buf *b, const char *s)
{
	size_t n = strlen(s);
	ks_buf_appendc(b, '"');
	for (size_t i = 0; i < n && i < SHOW_MAX; i++) {
		unsigned char c = (unsigned char)s[i];
		size_t u;
		switch (c) {
		case '"': ks_buf_appendstr(b, "\\\""); continue;
		case '\\': ks_buf_appendstr(b, "\\\\"); continue;
		case '\a': ks_buf_appendstr(b, "\\a"); continue;
		case '\b': ks_buf_appendstr(b, "\\b"); continue;
		case '\f': ks_buf_appendstr(b, "\\f"); continue;
		case '\n': ks_buf_appendstr(b, "\\n"); continue;
		case '\r': ks_buf_appendstr(b, "\\r"); continue;
		case '\t': ks_buf_appendstr(b, "\\t"); continue;
		case '\v': ks_buf_appendstr(b, "\\v"); continue;
		}
		if (c >= 0x20 && c < 0x7f) {
			ks_buf_appendc(b, (char)c);
		} else if (c >= 0x80 && (u = utf8_len((const unsigned char *)s + i, n - i)) > 0) {
			ks_buf_append(b, s + i, u);
			i += u - 1;
		} else {
			ks_buf_appendf(b, "\\x%02x", c);
		}
	}
	if (n > SHOW_MAX)
		ks_buf_appendstr(b, "...");
	ks_buf_appendc(b, '"');
}

/* A field.ErrorList: messages, aggregated as utilerrors.NewAggregate prints them. Only the
 * first ERRLIST_MAX are kept: more would not fit a ks_err message anyway, and de-duplicating
 * thousands (one per bad value of a long "in" list) would take quadratic time. */
#define ERRLIST_MAX 16

struct errlist {
	char **v;
	size_t n, cap;
};

static void errlist_addf(struct errlist *l, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void errlist_addf(struct errlist *l, const char *fmt, ...)
{
	if (l->n >= ERRLIST_MAX)
		return;
	struct ks_buf b;
	ks_buf_init(&b, KS_BUF_UNLIMITED);
	va_list ap;
	va_start(ap, fmt);
	ks_buf_vappendf(&b, fmt, ap);
	va_end(ap);
	l->v = ks_grow(l->v, sizeof *l->v, l->n + 1, &l->cap);
	l->v[l->n++] = ks_buf_detach(&b);
}

/* field.Invalid(path, value, detail).Error(). */
static void errlist_invalid(struct errlist *l, const char *path, const char *value,
			    const char *detail)
{
	struct ks_buf q;
	ks_buf_init(&q, KS_BUF_UNLIMITED);
	go_quote(&q, value);
	errlist_addf(l, "%s: Invalid value: %s: %s", path, q.data, detail);
	ks_buf_release(&q);
}

/* Aggregate.Error(): one message as is, several de-duplicated in "[a, b]". */
static void errlist_aggregate(const struct errlist *l, struct ks_buf *out)
{
	size_t shown = 0;
	struct ks_buf b;
	ks_buf_init(&b, KS_BUF_UNLIMITED);
	for (size_t i = 0; i < l->n; i++) {
		bool seen = false;
		for (size_t j = 0; j < i && !seen; j++)
			seen = strcmp(l->v[i], l->v[j]) == 0;
		if (seen)
			continue;
		if (shown++)
			ks_buf_appendstr(&b, ", ");
		ks_buf_appendstr(&b, l->v[i]);
	}
	if (shown > 1)
		ks_buf_appendf(out, "[%s]", b.data);
	else if (shown == 1)
		ks_buf_appendstr(out, b.data);
	ks_buf_release(&b);
}

static void errlist_free(struct errlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}

/* ---- key and value validation (k8s.io/apimachinery/pkg/api/validate/content) ---- */

#define LABEL_KEY_FMT "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
#define LABEL_KEY_MSG \
	"must consist of alphanumeric characters, '-', '_' or '.', and must start and end " \
	"with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', " \
	"regex used for validation is '" LABEL_KEY_FMT "')"
#define LABEL_VALUE_MSG \
	"a valid label must be an empty string or consist of alphanumeric characters, " \
	"'-', '_' or '.', and must start and end with an alphanumeric character (e.g. " \
	"'MyValue',  or 'my_value',  or '12345', regex used for validation is '(" \
	LABEL_KEY_FMT ")?')"
#define DNS1123_LABEL_FMT "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
#define DNS1123_SUBDOMAIN_MSG \
	"a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, " \
	"'-' or '.', and must start and end with an alphanumeric character (e.g. " \
	"'example.com', regex used for validation is '" DNS1123_LABEL_FMT "(\\." \
	DNS1123_LABEL_FMT ")*')"

static bool is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* ^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$ */
static bool name_ok(const char *s, size_t n)
{
	if (n == 0 || !is_alnum(s[0]) || !is_alnum(s[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!is_alnum(s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
			return false;
	return true;
}

/* ^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$ */
static bool dns_subdomain_ok(const char *s, size_t n)
{
	size_t start = 0;
	for (size_t i = 0; i <= n; i++) {
		if (i < n && s[i] != '.') {
			char c = s[i];
			if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
				return false;
			continue;
		}
		if (i == start || s[start] == '-' || s[i - 1] == '-')
			return false;
		start = i + 1;
	}
	return true;
}

/* IsLabelKey: the messages, joined with "; " into detail; false when there are any. */
static bool label_key_valid(const char *k, struct ks_buf *detail)
{
	size_t n = strlen(k), nslash = 0;
	const char *slash = NULL;
	for (size_t i = 0; i < n; i++)
		if (k[i] == '/') {
			nslash++;
			if (!slash)
				slash = k + i;
		}
	size_t before = detail->len;
#define ADD(...)                                                                                  \
	do {                                                                                      \
		if (detail->len > before)                                                         \
			ks_buf_appendstr(detail, "; ");                                           \
		ks_buf_appendf(detail, __VA_ARGS__);                                              \
	} while (0)
	if (nslash > 1) {
		ADD("a valid label key " LABEL_KEY_MSG " with an optional DNS subdomain prefix and "
		    "'/' (e.g. 'example.com/MyName')");
		return false;
	}
	const char *name = k;
	size_t nlen = n;
	if (slash) {
		size_t plen = (size_t)(slash - k);
		name = slash + 1;
		nlen = n - plen - 1;
		if (plen == 0) {
			ADD("prefix part must be non-empty");
		} else {
			if (plen > 253)
				ADD("prefix part must be no more than 253 bytes");
			if (!dns_subdomain_ok(k, plen))
				ADD("prefix part " DNS1123_SUBDOMAIN_MSG);
		}
	}
	if (nlen == 0)
		ADD("name part must be non-empty");
	else if (nlen > 63)
		ADD("name part must be no more than 63 bytes");
	if (!name_ok(name, nlen))
		ADD("name part " LABEL_KEY_MSG);
	return detail->len == before;
}

/* IsLabelValue. */
static bool label_value_valid(const char *v, struct ks_buf *detail)
{
	size_t n = strlen(v), before = detail->len;
	if (n > 63)
		ADD("must be no more than 63 bytes");
	if (n > 0 && !name_ok(v, n))
		ADD(LABEL_VALUE_MSG);
	return detail->len == before;
#undef ADD
}

/* strconv.ParseInt(s, 10, 64). */
static bool parse_int64(const char *s, int64_t *out)
{
	size_t i = 0;
	bool neg = false;
	if (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-';
		i++;
	}
	if (!s[i])
		return false;
	uint64_t v = 0, lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; s[i]; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		unsigned d = (unsigned)(s[i] - '0');
		if (v > (lim - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = neg ? (int64_t)(0 - v) : (int64_t)v;
	return true;
}

/* %#v of a []string, for the count errors of NewRequirement. */
static void go_slice(struct ks_buf *b, char *const *vals, size_t n)
{
	if (n == 0) {
		ks_buf_appendstr(b, "[]string(nil)");
		return;
	}
	ks_buf_appendstr(b, "[]string{");
	for (size_t i = 0; i < n; i++) {
		if (i)
			ks_buf_appendstr(b, ", ");
		go_quote(b, vals[i]);
	}
	ks_buf_appendc(b, '}');
}

static void errlist_invalid_slice(struct errlist *l, char *const *vals, size_t n,
				  const char *detail)
{
	struct ks_buf q;
	ks_buf_init(&q, KS_BUF_UNLIMITED);
	go_slice(&q, vals, n);
	errlist_addf(l, "values: Invalid value: %s: %s", q.data, detail);
	ks_buf_release(&q);
}

#define GTLT_INT_MSG "for 'Gt', 'Lt' operators, the value must be an integer"
#define BAD_ESCAPE_MSG "invalid field selector: invalid escape sequence: \\"
#define UNESCAPED_MSG "invalid field selector: unescaped character in value: %d ('%c')"

/* labels.NewRequirement's checks; the aggregated message goes to msg. */
static bool requirement_valid(const char *key, enum kube_selop op, char *const *vals, size_t n,
			      struct ks_buf *msg)
{
	struct errlist l = {0};
	struct ks_buf detail;
	ks_buf_init(&detail, KS_BUF_UNLIMITED);
	if (!label_key_valid(key, &detail))
		errlist_invalid(&l, "key", key, detail.data);
	const char *count_err = NULL; /* the operator wants another number of values */
	switch (op) {
	case KUBE_SEL_IN:
	case KUBE_SEL_NOTIN:
		if (n == 0)
			count_err = "for 'in', 'notin' operators, values set can't be empty";
		break;
	case KUBE_SEL_EQ:
	case KUBE_SEL_DEQ:
	case KUBE_SEL_NEQ:
		if (n != 1)
			count_err = "exact-match compatibility requires one single value";
		break;
	case KUBE_SEL_EXISTS:
	case KUBE_SEL_NOT_EXISTS:
		if (n != 0)
			count_err = "values set must be empty for exists and does not exist";
		break;
	case KUBE_SEL_GT:
	case KUBE_SEL_LT:
		if (n != 1)
			count_err = "for 'Gt', 'Lt' operators, exactly one value is required";
		break;
	}
	if (count_err)
		errlist_invalid_slice(&l, vals, n, count_err);
	for (size_t i = 0; (op == KUBE_SEL_GT || op == KUBE_SEL_LT) && i < n; i++) {
		int64_t v;
		if (!parse_int64(vals[i], &v)) {
			char path[32];
			snprintf(path, sizeof path, "values[%zu]", i);
			errlist_invalid(&l, path, vals[i], GTLT_INT_MSG);
		}
	}
	for (size_t i = 0; i < n; i++) {
		ks_buf_reset(&detail);
		if (!label_value_valid(vals[i], &detail)) {
			struct ks_buf path;
			ks_buf_init(&path, KS_BUF_UNLIMITED);
			ks_buf_appendf(&path, "values[%zu][%s]", i, key);
			errlist_invalid(&l, path.data, vals[i], detail.data);
			ks_buf_release(&path);
		}
	}
	ks_buf_release(&detail);
	bool ok = l.n == 0;
	if (!ok)
		errlist_aggregate(&l, msg);
	errlist_free(&l);
	return ok;
}

/* ---- selector storage ---- */

static void req_free(struct kube_selreq *r)
{
	free(r->key);
	for (size_t i = 0; i < r->nvalues; i++)
		free(r->values[i]);
	free(r->values);
}

void kube_selector_free(struct kube_selector *sel)
{
	if (!sel)
		return;
	for (size_t i = 0; i < sel->nreqs; i++)
		req_free(&sel->reqs[i]);
	free(sel->reqs);
	sel->reqs = NULL;
	sel->nreqs = 0;
	sel->nothing = false;
}

struct reqvec {
	struct kube_selreq *v;
	size_t n, cap;
};

static void reqvec_push(struct reqvec *rv, struct kube_selreq *r)
{
	rv->v = ks_grow(rv->v, sizeof *rv->v, rv->n + 1, &rv->cap);
	rv->v[rv->n++] = *r;
	memset(r, 0, sizeof *r);
}

static void reqvec_free(struct reqvec *rv)
{
	for (size_t i = 0; i < rv->n; i++)
		req_free(&rv->v[i]);
	free(rv->v);
	memset(rv, 0, sizeof *rv);
}

/* Stable sort by key: ties keep their order through the index. */
struct keyed {
	const char *key;
	size_t idx;
};

static int keyed_cmp(const void *a, const void *b)
{
	const struct keyed *x = a, *y = b;
	int c = strcmp(x->key, y->key);
	if (c)
		return c;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static void reqvec_into_selector(struct reqvec *rv, struct kube_selector *sel)
{
	struct keyed *k = ks_calloc(rv->n ? rv->n : 1, sizeof *k);
	for (size_t i = 0; i < rv->n; i++) {
		k[i].key = rv->v[i].key;
		k[i].idx = i;
	}
	if (rv->n > 1)
		qsort(k, rv->n, sizeof *k, keyed_cmp);
	sel->reqs = ks_calloc(rv->n ? rv->n : 1, sizeof *sel->reqs);
	for (size_t i = 0; i < rv->n; i++)
		sel->reqs[i] = rv->v[k[i].idx];
	sel->nreqs = rv->n;
	sel->nothing = false;
	free(k);
	free(rv->v);
	memset(rv, 0, sizeof *rv);
}

/* ---- label selector lexer (labels.Lexer) ---- */

enum tok {
	T_ERROR,
	T_EOS,
	T_CPAR,
	T_COMMA,
	T_NOT,
	T_DEQ,
	T_EQ,
	T_GT,
	T_ID,
	T_IN,
	T_LT,
	T_NEQ,
	T_NOTIN,
	T_OPAR,
};

struct token {
	enum tok t;
	const char *lit;
	size_t n;
};

struct lexer {
	const char *s;
	size_t len, pos;
};

/* A NUL byte reads like the end of the input, as in labels.Lexer.read. */
static char lex_read(struct lexer *l)
{
	if (l->pos < l->len)
		return l->s[l->pos++];
	return '\0';
}

static bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool is_special(char c)
{
	return c == '=' || c == '!' || c == '(' || c == ')' || c == ',' || c == '>' || c == '<';
}

static enum tok special_token(const char *s, size_t n)
{
	if (n == 1) {
		switch (s[0]) {
		case ')': return T_CPAR;
		case ',': return T_COMMA;
		case '!': return T_NOT;
		case '=': return T_EQ;
		case '>': return T_GT;
		case '<': return T_LT;
		case '(': return T_OPAR;
		}
	} else if (n == 2) {
		if (s[0] == '=' && s[1] == '=')
			return T_DEQ;
		if (s[0] == '!' && s[1] == '=')
			return T_NEQ;
	}
	return T_ERROR;
}

static struct token lex(struct lexer *l)
{
	struct token t = {T_EOS, l->s + l->pos, 0};
	char ch = lex_read(l);
	while (is_ws(ch))
		ch = lex_read(l);
	if (ch == '\0') {
		t.lit = l->s + l->pos;
		return t;
	}
	l->pos--;
	size_t start = l->pos;
	t.lit = l->s + start;
	if (is_special(ch)) {
		/* the longest operator: read specials while they still form one */
		size_t n = 0, last = 0;
		enum tok lt = T_ERROR;
		for (;;) {
			ch = lex_read(l);
			if (ch == '\0')
				break;
			if (!is_special(ch)) {
				l->pos--;
				break;
			}
			n++;
			enum tok k = n <= 2 ? special_token(l->s + start, n) : T_ERROR;
			if (k != T_ERROR) {
				lt = k;
				last = n;
			} else if (lt != T_ERROR) {
				l->pos--;
				break;
			}
		}
		t.t = lt;
		t.n = last;
		return t;
	}
	for (;;) {
		size_t at = l->pos;
		ch = lex_read(l);
		if (ch == '\0') {
			t.n = at - start;
			break;
		}
		if (is_special(ch) || is_ws(ch)) {
			l->pos--;
			t.n = at - start;
			break;
		}
	}
	t.t = T_ID;
	if (t.n == 2 && memcmp(t.lit, "in", 2) == 0)
		t.t = T_IN;
	else if (t.n == 5 && memcmp(t.lit, "notin", 5) == 0)
		t.t = T_NOTIN;
	return t;
}

/* ---- label selector parser (labels.Parser) ---- */

struct parser {
	struct token *toks;
	size_t ntoks, pos;
	struct ks_buf msg; /* the error */
};

enum ctx { KEY_AND_OPERATOR, VALUES };

static struct token tok_at(const struct parser *p, size_t i, enum ctx c)
{
	struct token t = p->toks[i < p->ntoks ? i : p->ntoks - 1];
	if (c == VALUES && (t.t == T_IN || t.t == T_NOTIN))
		t.t = T_ID;
	return t;
}

static struct token lookahead(const struct parser *p, enum ctx c)
{
	return tok_at(p, p->pos, c);
}

static struct token consume(struct parser *p, enum ctx c)
{
	struct token t = tok_at(p, p->pos, c);
	if (p->pos < p->ntoks)
		p->pos++;
	return t;
}

/* "found '<literal>', <rest>" */
static bool found(struct parser *p, const struct token *t, const char *rest)
{
	ks_buf_appendstr(&p->msg, "found '");
	show_bytes(&p->msg, t->lit, t->n);
	ks_buf_appendf(&p->msg, "'%s", rest);
	return false;
}

/* A growing list of values (borrowed literals) that becomes a sorted set. */
struct strset {
	struct token *v;
	size_t n, cap;
};

static void strset_add(struct strset *s, const char *lit, size_t n)
{
	s->v = ks_grow(s->v, sizeof *s->v, s->n + 1, &s->cap);
	s->v[s->n].lit = lit;
	s->v[s->n].n = n;
	s->n++;
}

static int lit_cmp(const void *a, const void *b)
{
	const struct token *x = a, *y = b;
	size_t n = x->n < y->n ? x->n : y->n;
	int c = memcmp(x->lit, y->lit, n);
	if (c)
		return c;
	return x->n < y->n ? -1 : x->n > y->n;
}

/* sets.String.List(): sorted, without duplicates, as fresh strings. */
static char **strset_list(struct strset *s, size_t *count)
{
	if (s->n > 1)
		qsort(s->v, s->n, sizeof *s->v, lit_cmp);
	char **out = ks_calloc(s->n ? s->n : 1, sizeof *out);
	size_t k = 0;
	for (size_t i = 0; i < s->n; i++) {
		if (k > 0 && lit_cmp(&s->v[i], &s->v[i - 1]) == 0)
			continue;
		out[k++] = ks_strndup(s->v[i].lit, s->v[i].n);
	}
	*count = k;
	return out;
}

static bool parse_identifiers_list(struct parser *p, struct strset *s)
{
	for (;;) {
		struct token t = consume(p, VALUES), t2;
		switch (t.t) {
		case T_ID:
			strset_add(s, t.lit, t.n);
			t2 = lookahead(p, VALUES);
			if (t2.t == T_COMMA)
				continue;
			if (t2.t == T_CPAR)
				return true;
			return found(p, &t2, ", expected: ',' or ')'");
		case T_COMMA:
			if (s->n == 0)
				strset_add(s, "", 0); /* "(," */
			t2 = lookahead(p, VALUES);
			if (t2.t == T_CPAR) {
				strset_add(s, "", 0); /* ",)" */
				return true;
			}
			if (t2.t == T_COMMA)
				strset_add(s, "", 0); /* ",," */
			continue;
		default:
			return found(p, &t, ", expected: ',', or identifier");
		}
	}
}

static bool parse_values(struct parser *p, struct strset *s)
{
	struct token t = consume(p, VALUES);
	if (t.t != T_OPAR)
		return found(p, &t, " expected: '('");
	t = lookahead(p, VALUES);
	switch (t.t) {
	case T_ID:
	case T_COMMA:
		if (!parse_identifiers_list(p, s))
			return false;
		if (consume(p, VALUES).t != T_CPAR)
			return found(p, &t, ", expected: ')'");
		return true;
	case T_CPAR:
		consume(p, VALUES);
		strset_add(s, "", 0);
		return true;
	default:
		return found(p, &t, ", expected: ',', ')' or identifier");
	}
}

static bool parse_exact_value(struct parser *p, struct strset *s)
{
	struct token t = lookahead(p, VALUES);
	if (t.t == T_EOS || t.t == T_COMMA) {
		strset_add(s, "", 0);
		return true;
	}
	t = consume(p, VALUES);
	if (t.t == T_ID) {
		strset_add(s, t.lit, t.n);
		return true;
	}
	return found(p, &t, ", expected: identifier");
}

static bool parse_requirement(struct parser *p, struct kube_selreq *r)
{
	/* parseKeyAndInferOperator */
	bool not_exists = false, exists = false;
	struct token t = consume(p, VALUES);
	if (t.t == T_NOT) {
		not_exists = true;
		t = consume(p, VALUES);
	}
	if (t.t != T_ID)
		return found(p, &t, ", expected: identifier");
	r->key = ks_strndup(t.lit, t.n);
	struct ks_buf detail;
	ks_buf_init(&detail, KS_BUF_UNLIMITED);
	if (!label_key_valid(r->key, &detail)) {
		struct errlist l = {0};
		errlist_invalid(&l, "<nil>", r->key, detail.data);
		errlist_aggregate(&l, &p->msg);
		errlist_free(&l);
		ks_buf_release(&detail);
		return false;
	}
	ks_buf_release(&detail);
	struct token la = lookahead(p, VALUES);
	if ((la.t == T_EOS || la.t == T_COMMA) && !not_exists)
		exists = true;
	if (exists || not_exists) {
		r->op = exists ? KUBE_SEL_EXISTS : KUBE_SEL_NOT_EXISTS;
		return true;
	}

	/* parseOperator */
	t = consume(p, KEY_AND_OPERATOR);
	switch (t.t) {
	case T_IN: r->op = KUBE_SEL_IN; break;
	case T_EQ: r->op = KUBE_SEL_EQ; break;
	case T_DEQ: r->op = KUBE_SEL_DEQ; break;
	case T_GT: r->op = KUBE_SEL_GT; break;
	case T_LT: r->op = KUBE_SEL_LT; break;
	case T_NOTIN: r->op = KUBE_SEL_NOTIN; break;
	case T_NEQ: r->op = KUBE_SEL_NEQ; break;
	default: return found(p, &t, ", expected: in, notin, =, ==, !=, gt, lt");
	}

	struct strset s = {0};
	bool ok = (r->op == KUBE_SEL_IN || r->op == KUBE_SEL_NOTIN) ? parse_values(p, &s)
								     : parse_exact_value(p, &s);
	if (ok)
		r->values = strset_list(&s, &r->nvalues);
	free(s.v);
	if (!ok)
		return false;
	return requirement_valid(r->key, r->op, r->values, r->nvalues, &p->msg);
}

static bool parse_selector(struct parser *p, struct reqvec *rv)
{
	for (;;) {
		struct token t = lookahead(p, VALUES);
		switch (t.t) {
		case T_ID:
		case T_NOT: {
			struct kube_selreq r = {0};
			if (!parse_requirement(p, &r)) {
				/* prefix what parse_requirement wrote, the only message */
				char *inner = ks_buf_detach(&p->msg);
				ks_buf_appendf(&p->msg, "unable to parse requirement: %s", inner);
				free(inner);
				req_free(&r);
				return false;
			}
			reqvec_push(rv, &r);
			t = consume(p, VALUES);
			if (t.t == T_EOS)
				return true;
			if (t.t != T_COMMA)
				return found(p, &t, ", expected: ',' or 'end of string'");
			struct token t2 = lookahead(p, VALUES);
			if (t2.t != T_ID && t2.t != T_NOT)
				return found(p, &t2, ", expected: identifier after ','");
			break;
		}
		case T_EOS:
			return true;
		default:
			return found(p, &t, ", expected: !, identifier, or 'end of string'");
		}
	}
}

int kube_selector_parse(const char *s, size_t len, struct kube_selector *sel, struct ks_err *err)
{
	memset(sel, 0, sizeof *sel);
	if (!s)
		len = 0;
	if (len > KUBE_SELECTOR_MAX_LEN)
		return ks_err_set(err, KS_ETOOBIG,
				  "label selector of %zu bytes exceeds the %d-byte limit", len,
				  KUBE_SELECTOR_MAX_LEN);
	struct parser p = {0};
	struct lexer l = {s ? s : "", len, 0};
	p.toks = ks_calloc(len + 2, sizeof *p.toks); /* every token but the last eats a byte */
	for (;;) {
		struct token t = lex(&l);
		p.toks[p.ntoks++] = t;
		if (t.t == T_EOS || p.ntoks == len + 2)
			break;
	}
	ks_buf_init(&p.msg, KS_BUF_UNLIMITED);
	struct reqvec rv = {0};
	int rc = 0;
	if (parse_selector(&p, &rv)) {
		reqvec_into_selector(&rv, sel);
	} else {
		struct ks_buf m;
		ks_buf_init(&m, KS_BUF_UNLIMITED);
		show_bytes(&m, s, len);
		rc = ks_err_set(err, KS_EINVAL, "label selector '%s': %s", m.data, p.msg.data);
		ks_buf_release(&m);
		reqvec_free(&rv);
	}
	ks_buf_release(&p.msg);
	free(p.toks);
	return rc;
}

/* ---- LabelSelector objects ---- */

int kube_selector_from_json(const cJSON *ls, struct kube_selector *sel, struct ks_err *err)
{
	memset(sel, 0, sizeof *sel);
	if (!ls || cJSON_IsNull(ls)) {
		sel->nothing = true;
		return 0;
	}
	if (!cJSON_IsObject(ls))
		return ks_err_set(err, KS_EINVAL, "label selector: not a JSON object");
	const cJSON *ml = ks_json_child(ls, "matchLabels");
	const cJSON *me = ks_json_child(ls, "matchExpressions");
	if (ml && !cJSON_IsNull(ml) && !cJSON_IsObject(ml))
		return ks_err_set(err, KS_EINVAL, "label selector: matchLabels is not an object");
	if (me && !cJSON_IsNull(me) && !cJSON_IsArray(me))
		return ks_err_set(err, KS_EINVAL,
				  "label selector: matchExpressions is not an array");

	struct reqvec rv = {0};
	struct ks_buf msg;
	ks_buf_init(&msg, KS_BUF_UNLIMITED);
	int rc = 0;
	const cJSON *it;
	if (cJSON_IsObject(ml)) {
		cJSON_ArrayForEach(it, ml) {
			if (!cJSON_IsString(it)) {
				ks_buf_appendstr(&msg, "label selector: matchLabels ");
				go_quote(&msg, it->string ? it->string : "");
				ks_buf_appendstr(&msg, " is not a string");
				rc = KS_EINVAL;
				goto out;
			}
			struct kube_selreq r = {0};
			r.key = ks_strdup(it->string ? it->string : "");
			r.op = KUBE_SEL_EQ;
			r.values = ks_calloc(1, sizeof *r.values);
			r.values[0] = ks_strdup(it->valuestring);
			r.nvalues = 1;
			ks_buf_appendstr(&msg, "label selector matchLabels: ");
			if (!requirement_valid(r.key, r.op, r.values, r.nvalues, &msg)) {
				req_free(&r);
				rc = KS_EINVAL;
				goto out;
			}
			ks_buf_reset(&msg);
			reqvec_push(&rv, &r);
		}
	}
	if (cJSON_IsArray(me)) {
		int idx = 0;
		cJSON_ArrayForEach(it, me) {
			char where[64];
			snprintf(where, sizeof where, "label selector matchExpressions[%d]", idx++);
			if (!cJSON_IsObject(it)) {
				ks_buf_appendf(&msg, "%s: not an object", where);
				rc = KS_EINVAL;
				goto out;
			}
			const cJSON *k = ks_json_child(it, "key"),
				    *o = ks_json_child(it, "operator");
			const cJSON *v = ks_json_child(it, "values");
			if ((k && !cJSON_IsString(k) && !cJSON_IsNull(k)) ||
			    (o && !cJSON_IsString(o) && !cJSON_IsNull(o)) ||
			    (v && !cJSON_IsArray(v) && !cJSON_IsNull(v))) {
				ks_buf_appendf(&msg,
					       "%s: key and operator must be strings, values an "
					       "array",
					       where);
				rc = KS_EINVAL;
				goto out;
			}
			const char *opname = cJSON_IsString(o) ? o->valuestring : "";
			struct kube_selreq r = {0};
			if (strcmp(opname, "In") == 0) {
				r.op = KUBE_SEL_IN;
			} else if (strcmp(opname, "NotIn") == 0) {
				r.op = KUBE_SEL_NOTIN;
			} else if (strcmp(opname, "Exists") == 0) {
				r.op = KUBE_SEL_EXISTS;
			} else if (strcmp(opname, "DoesNotExist") == 0) {
				r.op = KUBE_SEL_NOT_EXISTS;
			} else {
				ks_buf_appendf(&msg, "%s: ", where);
				go_quote(&msg, opname);
				ks_buf_appendstr(&msg, " is not a valid label selector operator");
				rc = KS_EINVAL;
				goto out;
			}
			r.key = ks_strdup(cJSON_IsString(k) ? k->valuestring : "");
			int nv = cJSON_IsArray(v) ? cJSON_GetArraySize(v) : 0;
			r.values = ks_calloc(nv > 0 ? (size_t)nv : 1, sizeof *r.values);
			const cJSON *vi;
			bool strings = true;
			if (cJSON_IsArray(v)) {
				cJSON_ArrayForEach(vi, v) {
					if (!cJSON_IsString(vi)) {
						strings = false;
						break;
					}
					r.values[r.nvalues++] = ks_strdup(vi->valuestring);
				}
			}
			if (!strings) {
				ks_buf_appendf(&msg, "%s: values must be strings", where);
				req_free(&r);
				rc = KS_EINVAL;
				goto out;
			}
			ks_buf_appendf(&msg, "%s: ", where);
			if (!requirement_valid(r.key, r.op, r.values, r.nvalues, &msg)) {
				req_free(&r);
				rc = KS_EINVAL;
				goto out;
			}
			ks_buf_reset(&msg);
			reqvec_push(&rv, &r);
		}
	}
out:
	if (rc) {
		ks_err_set(err, rc, "%s", msg.data);
		reqvec_free(&rv);
	} else {
		reqvec_into_selector(&rv, sel);
	}
	ks_buf_release(&msg);
	return rc;
}

/* ---- matching and printing ---- */

bool kube_selector_empty(const struct kube_selector *sel)
{
	return !sel->nothing && sel->nreqs == 0;
}

static bool has_value(const struct kube_selreq *r, const char *v)
{
	for (size_t i = 0; i < r->nvalues; i++)
		if (strcmp(r->values[i], v) == 0)
			return true;
	return false;
}

static bool req_matches(const struct kube_selreq *r, kube_label_lookup_fn lookup, void *ctx)
{
	const char *v = lookup(ctx, r->key);
	int64_t have, want;
	switch (r->op) {
	case KUBE_SEL_IN:
	case KUBE_SEL_EQ:
	case KUBE_SEL_DEQ:
		return v && has_value(r, v);
	case KUBE_SEL_NOTIN:
	case KUBE_SEL_NEQ:
		return !v || !has_value(r, v);
	case KUBE_SEL_EXISTS:
		return v != NULL;
	case KUBE_SEL_NOT_EXISTS:
		return v == NULL;
	case KUBE_SEL_GT:
	case KUBE_SEL_LT:
		if (!v || r->nvalues != 1 || !parse_int64(v, &have) ||
		    !parse_int64(r->values[0], &want))
			return false;
		return r->op == KUBE_SEL_GT ? have > want : have < want;
	}
	return false;
}

bool kube_selector_matches(const struct kube_selector *sel, kube_label_lookup_fn lookup, void *ctx)
{
	if (sel->nothing)
		return false;
	for (size_t i = 0; i < sel->nreqs; i++)
		if (!req_matches(&sel->reqs[i], lookup, ctx))
			return false;
	return true;
}

static const char *json_label(void *ctx, const char *key)
{
	const cJSON *v = ks_json_child(ctx, key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

bool kube_selector_matches_json(const struct kube_selector *sel, const cJSON *labels)
{
	return kube_selector_matches(sel, json_label, (void *)labels);
}

struct kv {
	const char *const *keys, *const *values;
	size_t n;
};

static const char *kv_label(void *ctx, const char *key)
{
	const struct kv *kv = ctx;
	for (size_t i = 0; i < kv->n; i++)
		if (strcmp(kv->keys[i], key) == 0)
			return kv->values[i];
	return NULL;
}

bool kube_selector_matches_kv(const struct kube_selector *sel, const char *const *keys,
			      const char *const *values, size_t n)
{
	struct kv kv = {keys, values, n};
	return kube_selector_matches(sel, kv_label, &kv);
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int kube_selector_format(const struct kube_selector *sel, struct ks_buf *out)
{
	int rc = 0;
	for (size_t i = 0; i < sel->nreqs && rc == 0; i++) {
		const struct kube_selreq *r = &sel->reqs[i];
		if (i)
			rc |= ks_buf_appendc(out, ',');
		if (r->op == KUBE_SEL_NOT_EXISTS)
			rc |= ks_buf_appendc(out, '!');
		rc |= ks_buf_appendstr(out, r->key);
		if (r->op == KUBE_SEL_EXISTS || r->op == KUBE_SEL_NOT_EXISTS)
			continue;
		bool set = r->op == KUBE_SEL_IN || r->op == KUBE_SEL_NOTIN;
		static const char *const ops[] = {
			[KUBE_SEL_IN] = " in (", [KUBE_SEL_NOTIN] = " notin (", [KUBE_SEL_EQ] = "=",
			[KUBE_SEL_DEQ] = "==",   [KUBE_SEL_NEQ] = "!=",         [KUBE_SEL_GT] = ">",
			[KUBE_SEL_LT] = "<",
		};
		rc |= ks_buf_appendstr(out, ops[r->op]);
		if (r->nvalues == 1) {
			rc |= ks_buf_appendstr(out, r->values[0]);
		} else if (r->nvalues > 1) {
			char **sorted = ks_malloc(r->nvalues * sizeof *sorted);
			memcpy(sorted, r->values, r->nvalues * sizeof *sorted);
			qsort(sorted, r->nvalues, sizeof *sorted, str_cmp);
			for (size_t j = 0; j < r->nvalues; j++) {
				if (j)
					rc |= ks_buf_appendc(out, ',');
				rc |= ks_buf_appendstr(out, sorted[j]);
			}
			free(sorted);
		}
		if (set)
			rc |= ks_buf_appendc(out, ')');
	}
	return rc ? KS_ETOOBIG : 0;
}

/* ---- field selectors ---- */

void kube_fieldsel_free(struct kube_fieldsel *fs)
{
	if (!fs)
		return;
	for (size_t i = 0; i < fs->nreqs; i++) {
		free(fs->reqs[i].field);
		free(fs->reqs[i].value);
	}
	free(fs->reqs);
	fs->reqs = NULL;
	fs->nreqs = 0;
}

static int term_cmp(const void *a, const void *b)
{
	const struct token *x = a, *y = b;
	return lit_cmp(x, y);
}

/* fields.UnescapeValue; the message goes to msg. */
static char *unescape_value(const char *s, size_t n, struct ks_buf *msg)
{
	char *out = ks_malloc(n + 1);
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\\') {
			if (i + 1 >= n) {
				ks_buf_appendstr(msg, BAD_ESCAPE_MSG);
				free(out);
				return NULL;
			}
			char c = s[i + 1];
			if (c != '\\' && c != ',' && c != '=') {
				size_t u = utf8_len((const unsigned char *)s + i + 1, n - i - 1);
				ks_buf_appendstr(msg, BAD_ESCAPE_MSG);
				show_bytes(msg, s + i + 1, u ? u : 1);
				free(out);
				return NULL;
			}
			out[o++] = c;
			i++;
		} else if (s[i] == ',' || s[i] == '=') {
			ks_buf_appendf(msg, UNESCAPED_MSG, s[i], s[i]);
			free(out);
			return NULL;
		} else {
			out[o++] = s[i];
		}
	}
	out[o] = '\0';
	return out;
}

int kube_fieldsel_parse(const char *s, size_t len, struct kube_fieldsel *fs, struct ks_err *err)
{
	memset(fs, 0, sizeof *fs);
	if (!s)
		len = 0;
	if (len > KUBE_SELECTOR_MAX_LEN)
		return ks_err_set(err, KS_ETOOBIG,
				  "field selector of %zu bytes exceeds the %d-byte limit", len,
				  KUBE_SELECTOR_MAX_LEN);
	struct ks_buf shown;
	ks_buf_init(&shown, KS_BUF_UNLIMITED);
	show_bytes(&shown, s, len);
	const char *nul = len ? memchr(s, '\0', len) : NULL;
	if (nul) {
		int rc = ks_err_set(err, KS_EINVAL, "field selector '%s': NUL byte at offset %zu",
				    shown.data, (size_t)(nul - s));
		ks_buf_release(&shown);
		return rc;
	}

	/* splitTerms: ',' not escaped by a backslash ends a term */
	struct strset terms = {0};
	if (len > 0) {
		size_t start = 0;
		bool slash = false;
		for (size_t i = 0; i < len; i++) {
			if (slash)
				slash = false;
			else if (s[i] == '\\')
				slash = true;
			else if (s[i] == ',') {
				strset_add(&terms, s + start, i - start);
				start = i + 1;
			}
		}
		strset_add(&terms, s + start, len - start);
	}
	if (terms.n > 1)
		qsort(terms.v, terms.n, sizeof *terms.v, term_cmp);

	struct ks_buf msg;
	ks_buf_init(&msg, KS_BUF_UNLIMITED);
	size_t cap = 0;
	int rc = 0;
	for (size_t t = 0; t < terms.n && rc == 0; t++) {
		const char *p = terms.v[t].lit;
		size_t n = terms.v[t].n;
		if (n == 0)
			continue;
		/* splitTerm: the first "!=", "==" or "=" */
		size_t at = n, oplen = 0;
		enum kube_fieldop op = KUBE_FIELD_EQ;
		for (size_t i = 0; i < n && at == n; i++) {
			if (i + 1 < n && p[i] == '!' && p[i + 1] == '=') {
				at = i, oplen = 2, op = KUBE_FIELD_NEQ;
			} else if (i + 1 < n && p[i] == '=' && p[i + 1] == '=') {
				at = i, oplen = 2;
			} else if (p[i] == '=') {
				at = i, oplen = 1;
			}
		}
		if (at == n) {
			ks_buf_appendf(&msg, "invalid selector: '%s'; can't understand '",
				       shown.data);
			show_bytes(&msg, p, n);
			ks_buf_appendc(&msg, '\'');
			rc = ks_err_set(err, KS_EINVAL, "%s", msg.data);
			break;
		}
		char *value = unescape_value(p + at + oplen, n - at - oplen, &msg);
		if (!value) {
			rc = ks_err_set(err, KS_EINVAL, "field selector '%s': %s", shown.data,
					msg.data);
			break;
		}
		if (at == 0 && value[0] == '\0') { /* Transform drops "=" and "!=" */
			free(value);
			continue;
		}
		fs->reqs = ks_grow(fs->reqs, sizeof *fs->reqs, fs->nreqs + 1, &cap);
		struct kube_fieldreq *r = &fs->reqs[fs->nreqs++];
		r->field = ks_strndup(p, at);
		r->op = op;
		r->value = value;
	}
	if (rc)
		kube_fieldsel_free(fs);
	free(terms.v);
	ks_buf_release(&msg);
	ks_buf_release(&shown);
	return rc;
}

bool kube_fieldsel_matches(const struct kube_fieldsel *fs, kube_field_lookup_fn lookup, void *ctx)
{
	for (size_t i = 0; i < fs->nreqs; i++) {
		const struct kube_fieldreq *r = &fs->reqs[i];
		const char *v = lookup(ctx, r->field);
		bool eq = v && strcmp(v, r->value) == 0;
		if (eq != (r->op == KUBE_FIELD_EQ))
			return false;
	}
	return true;
}

struct json_fields {
	const cJSON *obj;
	char num[40];
};

static const char *json_field(void *ctx, const char *field)
{
	struct json_fields *jf = ctx;
	const cJSON *v = field[0] ? ks_json_get(jf->obj, field) : NULL;
	if (!v || cJSON_IsNull(v))
		return "";
	if (cJSON_IsString(v))
		return v->valuestring;
	if (cJSON_IsBool(v))
		return cJSON_IsTrue(v) ? "true" : "false";
	if (cJSON_IsNumber(v)) {
		double d = v->valuedouble;
		if (d >= -9.2e18 && d <= 9.2e18 && d == (double)(long long)d)
			snprintf(jf->num, sizeof jf->num, "%lld", (long long)d);
		else
			snprintf(jf->num, sizeof jf->num, "%.17g", d);
		return jf->num;
	}
	return NULL; /* an object or an array equals no value */
}

bool kube_fieldsel_matches_json(const struct kube_fieldsel *fs, const cJSON *obj)
{
	struct json_fields jf = {.obj = obj};
	return kube_fieldsel_matches(fs, json_field, &jf);
}

int kube_fieldsel_format(const struct kube_fieldsel *fs, struct ks_buf *out)
{
	int rc = 0;
	for (size_t i = 0; i < fs->nreqs; i++) {
		const struct kube_fieldreq *r = &fs->reqs[i];
		if (i)
			rc |= ks_buf_appendc(out, ',');
		rc |= ks_buf_appendstr(out, r->field);
		rc |= ks_buf_appendstr(out, r->op == KUBE_FIELD_EQ ? "=" : "!=");
		for (const char *p = r->value; *p; p++) {
			if (*p == '\\' || *p == ',' || *p == '=')
				rc |= ks_buf_appendc(out, '\\');
			rc |= ks_buf_appendc(out, *p);
		}
	}
	return rc ? KS_ETOOBIG : 0;
}
