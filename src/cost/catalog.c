/* catalog.c — the instance-type catalog: a strict RFC 4180 CSV reader and the typed rows.
 * One pass over the bytes: a small lexer yields records (fields unescaped into one buffer,
 * each with the line and column where it starts), the header record maps required columns to
 * field positions, and every data record is validated column by column into a
 * struct cost_instance_type appended to an array. The name index (ks_map) stores index + 1,
 * not pointers, because the array moves while it grows. Prices are parsed by hand (at most 15
 * digits, so mantissa / 10^k is exact and correctly rounded) to stay independent of the locale.
 * Nothing is kept of a failed parse. */
#include "base/common.h"
#include "base/strutil.h"
#include "cost/catalog.h"

#include "base/hashmap.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define MAX_FIELDS 1024

enum col {
	C_NAME,
	C_FAMILY,
	C_CATEGORY,
	C_GENERATION,
	C_SIZE,
	C_ARCH,
	C_VCPU,
	C_MEMORY,
	C_CPU_MANUFACTURER,
	C_GPU_COUNT,
	C_MAX_PODS,
	C_ALLOC_CPU,
	C_ALLOC_MEMORY,
	C_OD_PRICE,
	C_SPOT_SAVINGS,
	C_SPOT_BUCKET,
	C_NREQUIRED,
	C_GPU_NAME = C_NREQUIRED, /* optional */
	C_NCOLS,
};

static const char *const col_names[C_NCOLS] = {
	"instance_type", "family", "category", "generation", "size", "arch", "vcpu", "memory_mib",
	"cpu_manufacturer", "gpu_count", "max_pods", "alloc_cpu_millis", "alloc_memory_mib",
	"od_price_usd_hr", "spot_savings_pct", "spot_interruption_bucket", "gpu_name",
};

struct cost_catalog {
	struct cost_instance_type *types;
	size_t len, cap;
	struct ks_map index; /* name -> (void *)(index + 1) */
};

struct field {
	size_t off; /* into lex.fbuf */
	int line, col;
};

struct lex {
	const char *name;
	const char *p, *end, *line_start;
	int line;
	struct ks_buf fbuf; /* the record's fields, each NUL-terminated */
	struct field f[MAX_FIELDS];
	size_t nf;
	int rec_line;
};

/* A value for a message: at most 40 bytes, non-printable bytes, quote and backslash escaped. */
static const char *show(const char *s, char out[200])
{
	size_t o = 0, i;
	for (i = 0; s[i] && i < 40; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c >= 0x7f || c == '\'' || c == '\\')
			o += (size_t)snprintf(out + o, 200 - o, "\\x%02x", c);
		else
			out[o++] = (char)c;
	}
	out[o] = '\0';
	if (s[i])
		snprintf(out + o, 200 - o, "...");
	return out;
}

static int lex_err(struct lex *lx, int line, int col, const char *what, struct ks_err *err)
{
	return ks_err_set(err, KS_EINVAL, "%s:%d:%d: %s", lx->name, line, col, what);
}

/* At p == end or at '\n', the physical line that started at line_start ends. */
static int end_line(struct lex *lx, struct ks_err *err)
{
	size_t n = (size_t)(lx->p - lx->line_start);
	if (n > 0 && lx->p[-1] == '\r' && lx->p < lx->end)
		n--; /* CRLF */
	if (n > COST_CATALOG_MAX_LINE)
		return ks_err_set(err, KS_ETOOBIG, "%s:%d:%d: line is longer than %d bytes",
				  lx->name, lx->line, COST_CATALOG_MAX_LINE + 1,
				  COST_CATALOG_MAX_LINE);
	return 0;
}

static bool at_eol(const struct lex *lx)
{
	const char *p = lx->p;
	return p == lx->end || *p == '\n' || (*p == '\r' && (p + 1 == lx->end || p[1] == '\n'));
}

static int col_of(const struct lex *lx)
{
	return (int)(lx->p - lx->line_start) + 1;
}

/* Read one record into lx->f / lx->fbuf. Returns 1, 0 at the end of the data, or an error. */
static int lex_record(struct lex *lx, struct ks_err *err)
{
	if (lx->p == lx->end)
		return 0;
	ks_buf_reset(&lx->fbuf);
	lx->nf = 0;
	lx->rec_line = lx->line;
	for (;;) {
		if (lx->nf == MAX_FIELDS)
			return lex_err(lx, lx->line, col_of(lx), "more than 1024 fields", err);
		struct field *f = &lx->f[lx->nf++];
		f->off = lx->fbuf.len;
		f->line = lx->line;
		f->col = col_of(lx);
		if (lx->p < lx->end && *lx->p == '"') {
			lx->p++;
			for (;;) {
				if (lx->p == lx->end)
					return lex_err(lx, f->line, f->col,
						       "unterminated quoted field", err);
				char c = *lx->p;
				if (c == '"') {
					if (lx->p + 1 < lx->end && lx->p[1] == '"') {
						ks_buf_appendc(&lx->fbuf, '"');
						lx->p += 2;
						continue;
					}
					lx->p++;
					break;
				}
				if (c == '\0')
					return lex_err(lx, lx->line, col_of(lx), "NUL byte", err);
				if (c == '\n') {
					int rc = end_line(lx, err);
					if (rc)
						return rc;
					lx->line++;
					lx->line_start = lx->p + 1;
				}
				ks_buf_appendc(&lx->fbuf, c);
				lx->p++;
			}
			if (!at_eol(lx) && *lx->p != ',')
				return lex_err(lx, lx->line, col_of(lx),
					       "unexpected character after a closing quote", err);
		} else {
			while (!at_eol(lx) && *lx->p != ',') {
				if (*lx->p == '"')
					return lex_err(lx, lx->line, col_of(lx),
						       "quote in an unquoted field", err);
				if (*lx->p == '\0')
					return lex_err(lx, lx->line, col_of(lx), "NUL byte", err);
				ks_buf_appendc(&lx->fbuf, *lx->p);
				lx->p++;
			}
		}
		ks_buf_appendc(&lx->fbuf, '\0');
		if (lx->p < lx->end && *lx->p == ',') {
			lx->p++;
			continue;
		}
		break;
	}
	if (lx->p < lx->end && *lx->p == '\r')
		lx->p++;
	int rc = end_line(lx, err);
	if (rc)
		return rc;
	if (lx->p < lx->end) { /* at '\n' */
		lx->p++;
		lx->line++;
		lx->line_start = lx->p;
	}
	return 1;
}

static const char *fval(const struct lex *lx, size_t i)
{
	return lx->fbuf.data + lx->f[i].off;
}

struct rowctx {
	struct lex *lx;
	size_t fi; /* field index being parsed */
	enum col c;
	struct ks_err *err;
};

/* "NAME:LINE:COL: column: PRE'V'POST" (no quotes when v is NULL). */
static int bad(struct rowctx *r, const char *pre, const char *v, const char *post)
{
	char s[200];
	const struct field *f = &r->lx->f[r->fi];
	return ks_err_set(r->err, KS_EINVAL, "%s:%d:%d: %s: %s%s%s%s%s", r->lx->name, f->line,
			  f->col, col_names[r->c], pre, v ? "'" : "", v ? show(v, s) : "",
			  v ? "'" : "", post);
}

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

/* Digits, optionally with one '.' between digits. */
static bool is_decimal(const char *s)
{
	const char *dot = strchr(s, '.');
	if (!dot)
		return all_digits(s);
	if (dot == s || !dot[1] || strchr(dot + 1, '.'))
		return false;
	for (const char *p = s; *p; p++)
		if (p != dot && (*p < '0' || *p > '9'))
			return false;
	return true;
}

static int not_integer(struct rowctx *r, const char *v)
{
	if (!*v)
		return bad(r, "empty value", NULL, "");
	if (v[0] == '-' && is_decimal(v + 1))
		return bad(r, "", v, " is negative");
	if (is_decimal(v))
		return bad(r, "", v, " is not an integer");
	return bad(r, "", v, " is not a number");
}

static int parse_int(struct rowctx *r, const char *v, int64_t max, int64_t *out)
{
	if (!all_digits(v))
		return not_integer(r, v);
	int64_t n = 0;
	for (const char *p = v; *p; p++) {
		n = n * 10 + (*p - '0');
		if (n > max) {
			char m[64];
			snprintf(m, sizeof m, " is out of range (at most %lld)", (long long)max);
			return bad(r, "", v, m);
		}
	}
	*out = n;
	return 0;
}

static int parse_int_field(struct rowctx *r, int64_t max, int64_t *out)
{
	return parse_int(r, fval(r->lx, r->fi), max, out);
}

static int parse_price(struct rowctx *r, const char *v, double *out)
{
	if (!is_decimal(v)) {
		if (!*v)
			return bad(r, "empty value", NULL, "");
		if (v[0] == '-' && is_decimal(v + 1))
			return bad(r, "", v, " is negative");
		return bad(r, "", v, " is not a decimal number");
	}
	uint64_t mant = 0;
	int digits = 0, k = 0;
	bool in_frac = false;
	for (const char *p = v; *p; p++) {
		if (*p == '.') {
			in_frac = true;
			continue;
		}
		if (!in_frac && mant == 0 && *p == '0')
			continue; /* leading zeros */
		if (++digits > 15) /* so mant < 10^15 < 2^53 and 10^k is exact */
			return bad(r, "", v, " has more than 15 digits");
		mant = mant * 10 + (uint64_t)(*p - '0');
		k += in_frac;
	}
	if (mant == 0)
		return bad(r, "", v, " must be greater than 0");
	double pow10 = 1;
	for (int i = 0; i < k; i++)
		pow10 *= 10;
	*out = (double)mant / pow10;
	return 0;
}

static bool label_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '-' || c == '_';
}

static bool alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static int parse_label(struct rowctx *r, bool may_be_empty, const char **out)
{
	const char *v = fval(r->lx, r->fi);
	size_t n = strlen(v);
	if (n == 0 && may_be_empty) {
		*out = v;
		return 0;
	}
	if (n == 0)
		return bad(r, "empty value", NULL, "");
	if (n > 63)
		return bad(r, "", v, " is longer than 63 characters");
	for (size_t i = 0; i < n; i++)
		if (!label_char(v[i]))
			return bad(r, "", v, " is not a valid label value");
	if (!alnum(v[0]) || !alnum(v[n - 1]))
		return bad(r, "", v, " is not a valid label value");
	*out = v;
	return 0;
}

static void free_type(struct cost_instance_type *t)
{
	free((char *)t->name);
	free((char *)t->family);
	free((char *)t->category);
	free((char *)t->size);
	free((char *)t->cpu_manufacturer);
	free((char *)t->gpu_name);
}

static int parse_row(struct lex *lx, const int *pos, struct cost_catalog *cat, struct ks_err *err)
{
	struct rowctx r = {.lx = lx, .err = err};
	struct cost_instance_type t = {.line = lx->rec_line};
	const char *s[C_NCOLS] = {0};
	int64_t n[C_NCOLS] = {0};
	static const int64_t maxv = COST_CATALOG_INT_MAX;
	int rc;

	for (int c = 0; c < C_NCOLS; c++) {
		if (pos[c] < 0)
			continue;
		r.c = (enum col)c;
		r.fi = (size_t)pos[c];
		const char *v = fval(lx, r.fi);
		switch (r.c) {
		case C_NAME:
		case C_FAMILY:
		case C_CATEGORY:
		case C_SIZE:
		case C_CPU_MANUFACTURER:
			rc = parse_label(&r, false, &s[c]);
			break;
		case C_GPU_NAME:
			rc = parse_label(&r, true, &s[c]);
			break;
		case C_ARCH:
			rc = 0;
			if (strcmp(v, "amd64") == 0)
				t.arch = COST_ARCH_AMD64;
			else if (strcmp(v, "arm64") == 0)
				t.arch = COST_ARCH_ARM64;
			else
				rc = bad(&r, "", v, " is not amd64 or arm64");
			break;
		case C_OD_PRICE:
			rc = parse_price(&r, v, &t.od_price_usd_hr);
			break;
		case C_SPOT_SAVINGS:
		case C_SPOT_BUCKET:
			n[c] = -1;
			rc = *v ? parse_int_field(&r, c == C_SPOT_SAVINGS ? 100 : 4, &n[c]) : 0;
			break;
		default:
			rc = parse_int_field(&r, maxv, &n[c]);
			break;
		}
		if (rc)
			return rc;
	}
	if ((n[C_SPOT_SAVINGS] < 0) != (n[C_SPOT_BUCKET] < 0)) {
		bool sav = n[C_SPOT_SAVINGS] < 0;
		r.c = sav ? C_SPOT_SAVINGS : C_SPOT_BUCKET;
		r.fi = (size_t)pos[r.c];
		return bad(&r, "empty while ", NULL,
			   sav ? "spot_interruption_bucket is set" : "spot_savings_pct is set");
	}
	void *prev = ks_map_get(&cat->index, s[C_NAME]);
	if (prev) {
		r.c = C_NAME;
		r.fi = (size_t)pos[C_NAME];
		char m[48];
		snprintf(m, sizeof m, " (first on line %d)", cat->types[(uintptr_t)prev - 1].line);
		return bad(&r, "duplicate ", s[C_NAME], m);
	}

	t.name = ks_strdup(s[C_NAME]);
	t.family = ks_strdup(s[C_FAMILY]);
	t.category = ks_strdup(s[C_CATEGORY]);
	t.size = ks_strdup(s[C_SIZE]);
	t.cpu_manufacturer = ks_strdup(s[C_CPU_MANUFACTURER]);
	t.gpu_name = ks_strdup(s[C_GPU_NAME] ? s[C_GPU_NAME] : "");
	t.generation = (int)n[C_GENERATION];
	t.vcpu = (int)n[C_VCPU];
	t.memory_mib = n[C_MEMORY];
	t.gpu_count = (int)n[C_GPU_COUNT];
	t.max_pods = (int)n[C_MAX_PODS];
	t.alloc_cpu_millis = n[C_ALLOC_CPU];
	t.alloc_memory_mib = n[C_ALLOC_MEMORY];
	t.spot_savings_pct = (int)n[C_SPOT_SAVINGS];
	t.spot_interruption_bucket = (int)n[C_SPOT_BUCKET];
	snprintf(t.generation_label, sizeof t.generation_label, "%d", t.generation);
	snprintf(t.vcpu_label, sizeof t.vcpu_label, "%d", t.vcpu);
	snprintf(t.memory_label, sizeof t.memory_label, "%lld", (long long)t.memory_mib);
	snprintf(t.gpu_count_label, sizeof t.gpu_count_label, "%d", t.gpu_count);
	cat->types = ks_grow(cat->types, sizeof *cat->types, cat->len + 1, &cat->cap);
	cat->types[cat->len++] = t;
	ks_map_put(&cat->index, t.name, (void *)(uintptr_t)cat->len);
	return 0;
}

static int parse_header(struct lex *lx, int *pos, struct ks_err *err)
{
	for (int c = 0; c < C_NCOLS; c++)
		pos[c] = -1;
	for (size_t i = 0; i < lx->nf; i++) {
		const char *v = fval(lx, i);
		for (int c = 0; c < C_NCOLS; c++) {
			if (strcmp(v, col_names[c]) != 0)
				continue;
			if (pos[c] >= 0)
				return ks_err_set(err, KS_EINVAL,
						  "%s:%d:%d: column '%s' appears twice (first at "
						  "column %d)",
						  lx->name, lx->f[i].line, lx->f[i].col, v,
						  lx->f[pos[c]].col);
			pos[c] = (int)i;
		}
	}
	for (int c = 0; c < C_NREQUIRED; c++)
		if (pos[c] < 0)
			return ks_err_set(err, KS_EINVAL, "%s:%d:1: the header has no '%s' column",
					  lx->name, lx->rec_line, col_names[c]);
	return 0;
}

static int parse(struct lex *lx, struct cost_catalog *cat, struct ks_err *err)
{
	int pos[C_NCOLS];
	int rc = lex_record(lx, err);
	if (rc < 0)
		return rc;
	if (rc == 0)
		return ks_err_set(err, KS_EINVAL, "%s:1:1: empty file", lx->name);
	if ((rc = parse_header(lx, pos, err)))
		return rc;
	size_t hdr_nf = lx->nf;
	while ((rc = lex_record(lx, err)) == 1) {
		if (lx->nf == 1 && fval(lx, 0)[0] == '\0' && lx->f[0].col == 1)
			return lex_err(lx, lx->rec_line, 1, "empty line", err);
		if (lx->nf != hdr_nf)
			return ks_err_set(err, KS_EINVAL, "%s:%d:1: %zu fields, the header has %zu",
					  lx->name, lx->rec_line, lx->nf, hdr_nf);
		if ((rc = parse_row(lx, pos, cat, err)))
			return rc;
	}
	if (rc < 0)
		return rc;
	if (cat->len == 0)
		return ks_err_set(err, KS_EINVAL, "%s:%d:1: no instance types after the header",
				  lx->name, lx->line);
	return 0;
}

int cost_catalog_parse_mem(const char *name, const char *data, size_t len,
			   struct cost_catalog **out, struct ks_err *err)
{
	*out = NULL;
	if (len > COST_CATALOG_MAX_BYTES)
		return ks_err_set(err, KS_ETOOBIG, "%s: larger than the %u-byte limit", name,
				  COST_CATALOG_MAX_BYTES);
	struct cost_catalog *cat = ks_calloc(1, sizeof *cat);
	ks_map_init(&cat->index);
	struct lex *lx = ks_calloc(1, sizeof *lx);
	lx->name = name;
	lx->p = lx->line_start = data;
	lx->end = data + len;
	lx->line = 1;
	ks_buf_init(&lx->fbuf, KS_BUF_UNLIMITED);
	int rc = parse(lx, cat, err);
	ks_buf_release(&lx->fbuf);
	free(lx);
	if (rc) {
		cost_catalog_free(cat);
		return rc;
	}
	*out = cat;
	return 0;
}

int cost_catalog_load(const char *path, struct cost_catalog **out, struct ks_err *err)
{
	struct ks_buf b;
	*out = NULL;
	ks_buf_init(&b, COST_CATALOG_MAX_BYTES);
	int rc = ks_buf_read_file(&b, path, err);
	if (!rc)
		rc = cost_catalog_parse_mem(path, b.data, b.len, out, err);
	ks_buf_release(&b);
	return rc;
}

void cost_catalog_free(struct cost_catalog *cat)
{
	if (!cat)
		return;
	for (size_t i = 0; i < cat->len; i++)
		free_type(&cat->types[i]);
	free(cat->types);
	ks_map_release(&cat->index);
	free(cat);
}

char *cost_catalog_default_path(void)
{
	const char *dir = getenv("KSWARM_DATA_DIR");
	if (dir && *dir)
		return ks_asprintf("%s/instance-types.csv", dir);
	char *p = ks_exe_relative("data/instance-types.csv");
	return p ? p : ks_strdup("/usr/share/kswarm/data/instance-types.csv");
}

const struct cost_instance_type *cost_catalog_find(const struct cost_catalog *cat,
						   const char *name)
{
	void *v = ks_map_get(&cat->index, name);
	return v ? &cat->types[(uintptr_t)v - 1] : NULL;
}

size_t cost_catalog_count(const struct cost_catalog *cat)
{
	return cat->len;
}

const struct cost_instance_type *cost_catalog_at(const struct cost_catalog *cat, size_t i)
{
	return i < cat->len ? &cat->types[i] : NULL;
}

const char *cost_arch_name(enum cost_arch arch)
{
	return arch == COST_ARCH_ARM64 ? "arm64" : "amd64";
}

double cost_instance_spot_price(const struct cost_instance_type *it)
{
	if (it->spot_savings_pct <= 0)
		return COST_NO_SPOT_PRICE;
	return it->od_price_usd_hr * (1.0 - it->spot_savings_pct / 100.0);
}

/* Karpenter's labels of an instance type, in the order cost_instance_labels walks them. */
static const char *const instance_label_keys[] = {
	"node.kubernetes.io/instance-type",
	"kubernetes.io/arch",
	"karpenter.k8s.aws/instance-family",
	"karpenter.k8s.aws/instance-category",
	"karpenter.k8s.aws/instance-generation",
	"karpenter.k8s.aws/instance-size",
	"karpenter.k8s.aws/instance-cpu",
	"karpenter.k8s.aws/instance-memory",
	"karpenter.k8s.aws/instance-cpu-manufacturer",
	"karpenter.k8s.aws/instance-gpu-name",
	"karpenter.k8s.aws/instance-gpu-count",
};

static const char *label_at(const struct cost_instance_type *it, size_t i)
{
	bool gpu = it->gpu_count > 0 || it->gpu_name[0];
	switch (i) {
	case 0: return it->name;
	case 1: return cost_arch_name(it->arch);
	case 2: return it->family;
	case 3: return it->category;
	case 4: return it->generation_label;
	case 5: return it->size;
	case 6: return it->vcpu_label;
	case 7: return it->memory_label;
	case 8: return it->cpu_manufacturer;
	case 9: return gpu && it->gpu_name[0] ? it->gpu_name : NULL;
	case 10: return gpu ? it->gpu_count_label : NULL;
	}
	return NULL;
}

const char *cost_instance_label(const struct cost_instance_type *it, const char *key)
{
	for (size_t i = 0; i < KS_ARRAY_LEN(instance_label_keys); i++)
		if (!strcmp(key, instance_label_keys[i]))
			return label_at(it, i);
	return NULL;
}

int cost_instance_labels(const struct cost_instance_type *it, cost_label_fn fn, void *ctx)
{
	for (size_t i = 0; i < KS_ARRAY_LEN(instance_label_keys); i++) {
		const char *v = label_at(it, i);
		int rc = v ? fn(instance_label_keys[i], v, ctx) : 0;
		if (rc)
			return rc;
	}
	return 0;
}
