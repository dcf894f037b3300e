/* jsonout.c — see jsonout.h. */
#include "base/common.h"
#include "base/jsonout.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>


static int write_string(struct ks_buf *b, const char *s)
{
	return ks_buf_append_json_string_go(b, s, true);
}

static int write_number(struct ks_buf *b, double d)
{
	if (!isfinite(d))
		return ks_buf_appendstr(b, "null");
	if (d == floor(d) && fabs(d) < 1e18)
		return ks_buf_appendf(b, "%lld", (long long)d);
	char tmp[40];
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(tmp, sizeof tmp, "%.*g", prec, d);
		if (strtod(tmp, NULL) == d)
			break;
	}
	return ks_buf_appendstr(b, tmp);
}

static int cmp_keys(const void *a, const void *b)
{
	return strcmp((*(const cJSON *const *)a)->string, (*(const cJSON *const *)b)->string);
}

static int indent(struct ks_buf *b, int depth)
{
	int rc = ks_buf_appendc(b, '\n');
	for (int i = 0; i < depth && !rc; i++)
		rc = ks_buf_append(b, "    ", 4);
	return rc;
}

static int write_value(const cJSON *v, struct ks_buf *b, int depth)
{
	if (cJSON_IsObject(v)) {
		int n = cJSON_GetArraySize(v);
		if (n == 0)
			return ks_buf_appendstr(b, "{}");
		const cJSON **kids = ks_malloc(sizeof *kids * (size_t)n);
		int i = 0;
		for (const cJSON *c = v->child; c; c = c->next)
			kids[i++] = c;
		qsort(kids, (size_t)n, sizeof *kids, cmp_keys);
		int rc = ks_buf_appendc(b, '{');
		for (i = 0; i < n && !rc; i++) {
			rc = indent(b, depth + 1);
			rc = rc ? rc : write_string(b, kids[i]->string);
			rc = rc ? rc : ks_buf_append(b, ": ", 2);
			rc = rc ? rc : write_value(kids[i], b, depth + 1);
			if (!rc && i + 1 < n)
				rc = ks_buf_appendc(b, ',');
		}
		free(kids);
		rc = rc ? rc : indent(b, depth);
		return rc ? rc : ks_buf_appendc(b, '}');
	}
	if (cJSON_IsArray(v)) {
		if (!v->child)
			return ks_buf_appendstr(b, "[]");
		int rc = ks_buf_appendc(b, '[');
		for (const cJSON *c = v->child; c && !rc; c = c->next) {
			rc = indent(b, depth + 1);
			rc = rc ? rc : write_value(c, b, depth + 1);
			if (!rc && c->next)
				rc = ks_buf_appendc(b, ',');
		}
		rc = rc ? rc : indent(b, depth);
		return rc ? rc : ks_buf_appendc(b, ']');
	}
	if (cJSON_IsString(v))
		return write_string(b, v->valuestring);
	if (cJSON_IsNumber(v))
		return write_number(b, v->valuedouble);
	if (cJSON_IsTrue(v))
		return ks_buf_appendstr(b, "true");
	if (cJSON_IsFalse(v))
		return ks_buf_appendstr(b, "false");
	return ks_buf_appendstr(b, "null");
}

int ks_json_write_go(const cJSON *v, struct ks_buf *out)
{
	return write_value(v, out, 0);
}

/* ---- YAML in the shape kubectl prints (sigs.k8s.io/yaml over go-yaml) ---- */

static bool resolves_to_non_string(const char *s)
{
	static const char *words[] = {"y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO",
				      "true", "True", "TRUE", "false", "False", "FALSE", "on", "On",
				      "ON", "off", "Off", "OFF", "null", "Null", "NULL", "~",
				      ".inf", ".Inf", ".INF", "-.inf", "-.Inf", "-.INF", "+.inf",
				      ".nan", ".NaN", ".NAN"};
	for (size_t i = 0; i < KS_ARRAY_LEN(words); i++)
		if (!strcmp(s, words[i]))
			return true;
	/* Numbers of YAML 1.1: ints (0x, 0o, 0b, underscores, sexagesimal) and floats. */
	const char *p = s;
	if (*p == '+' || *p == '-')
		p++;
	if (!*p)
		return false;
	bool digit = false;
	for (const char *q = p; *q; q++) {
		if ((*q >= '0' && *q <= '9'))
			digit = true;
		else if (!strchr("._:xXoObBeEaAcCdDfF+-", *q))
			return false;
	}
	if (!digit)
		return false;
	char *end;
	strtod(s, &end);
	if (*end == '\0')
		return true;
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'o' || p[1] == 'b'))
		return true;
	/* Underscored or sexagesimal numbers ("1_000", "1:30"). */
	for (const char *q = p; *q; q++)
		if (!((*q >= '0' && *q <= '9') || *q == '_' || *q == ':' || *q == '.'))
			return false;
	return true;
}

static bool plain_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || s[0] == ' ' || s[n - 1] == ' ' || s[n - 1] == ':')
		return false;
	if (strchr("!&*{}[],#|>'\"%@`", s[0]))
		return false;
	if ((s[0] == '-' || s[0] == '?' || s[0] == ':') && (s[1] == ' ' || s[1] == '\0'))
		return false;
	if (!strcmp(s, "-") || !strncmp(s, "---", 3) || !strncmp(s, "...", 3))
		return false;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p < 0x20 || *p == 0x7f)
			return false;
		if (*p == ':' && p[1] == ' ')
			return false;
		if (*p == ' ' && p[1] == '#')
			return false;
	}
	return true;
}

/* A JSON string literal is a YAML double-quoted scalar. */
static int yaml_double_quoted(struct ks_buf *b, const char *s)
{
	return ks_buf_append_json_string(b, s);
}

static int yaml_indent(struct ks_buf *b, int n)
{
	int rc = 0;
	for (int i = 0; i < n && !rc; i++)
		rc = ks_buf_appendc(b, ' ');
	return rc;
}

static int yaml_string(struct ks_buf *b, const char *s, int indent)
{
	if (strchr(s, '\n')) {
		/* A literal block, unless its lines would not read back the same. */
		bool literal = s[0] != ' ' && s[0] != '\t';
		for (const unsigned char *p = (const unsigned char *)s; *p && literal; p++)
			if ((*p < 0x20 && *p != '\n') || (*p == ' ' && p[1] == '\n'))
				literal = false;
		if (literal) {
			size_t n = strlen(s);
			int rc = ks_buf_appendstr(b, s[n - 1] == '\n' ? "|" : "|-");
			if (n >= 2 && s[n - 1] == '\n' && s[n - 2] == '\n')
				rc = rc ? rc : ks_buf_appendc(b, '+');
			const char *line = s;
			while (!rc && *line) {
				const char *nl = strchr(line, '\n');
				size_t len = nl ? (size_t)(nl - line) : strlen(line);
				rc = ks_buf_appendc(b, '\n');
				if (len)
					rc = rc ? rc : yaml_indent(b, indent);
				rc = rc ? rc : ks_buf_append(b, line, len);
				line += len + (nl ? 1 : 0);
				if (!nl)
					break;
			}
			return rc;
		}
		return yaml_double_quoted(b, s);
	}
	if (!*s || resolves_to_non_string(s))
		return yaml_double_quoted(b, s);
	if (plain_ok(s))
		return ks_buf_appendstr(b, s);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return yaml_double_quoted(b, s);
	int rc = ks_buf_appendc(b, '\'');
	for (const char *p = s; *p && !rc; p++)
		rc = *p == '\'' ? ks_buf_append(b, "''", 2) : ks_buf_appendc(b, *p);
	return rc ? rc : ks_buf_appendc(b, '\'');
}

static int yaml_scalar(struct ks_buf *b, const cJSON *v, int indent)
{
	if (cJSON_IsString(v))
		return yaml_string(b, v->valuestring, indent);
	if (cJSON_IsNumber(v))
		return write_number(b, v->valuedouble);
	if (cJSON_IsTrue(v))
		return ks_buf_appendstr(b, "true");
	if (cJSON_IsFalse(v))
		return ks_buf_appendstr(b, "false");
	if (cJSON_IsObject(v))
		return ks_buf_appendstr(b, "{}");
	if (cJSON_IsArray(v))
		return ks_buf_appendstr(b, "[]");
	return ks_buf_appendstr(b, "null");
}

static bool is_block(const cJSON *v)
{
	return (cJSON_IsObject(v) || cJSON_IsArray(v)) && v->child;
}

static int yaml_value(struct ks_buf *b, const cJSON *v, int indent);

/* A mapping whose first line continues the current one (after "- "), at indent. */
static int yaml_map(struct ks_buf *b, const cJSON *v, int indent, bool first_inline)
{
	int n = cJSON_GetArraySize(v);
	const cJSON **kids = ks_malloc(sizeof *kids * (size_t)n);
	int i = 0;
	for (const cJSON *c = v->child; c; c = c->next)
		kids[i++] = c;
	qsort(kids, (size_t)n, sizeof *kids, cmp_keys);
	int rc = 0;
	for (i = 0; i < n && !rc; i++) {
		if (!(first_inline && i == 0))
			rc = yaml_indent(b, indent);
		rc = rc ? rc : yaml_string(b, kids[i]->string, indent + 2);
		rc = rc ? rc : ks_buf_appendc(b, ':');
		if (is_block(kids[i])) {
			rc = rc ? rc : ks_buf_appendc(b, '\n');
			/* go-yaml puts a sequence's dashes at its key's indentation. */
			rc = rc ? rc : yaml_value(b, kids[i], cJSON_IsArray(kids[i]) ? indent : indent + 2);
		} else {
			rc = rc ? rc : ks_buf_appendc(b, ' ');
			rc = rc ? rc : yaml_scalar(b, kids[i], indent + 2);
			rc = rc ? rc : ks_buf_appendc(b, '\n');
		}
	}
	free(kids);
	return rc;
}

static int yaml_value(struct ks_buf *b, const cJSON *v, int indent)
{
	int rc = 0;
	if (cJSON_IsObject(v) && v->child)
		return yaml_map(b, v, indent, false);
	if (cJSON_IsArray(v) && v->child) {
		for (const cJSON *c = v->child; c && !rc; c = c->next) {
			rc = yaml_indent(b, indent);
			rc = rc ? rc : ks_buf_append(b, "- ", 2);
			if (cJSON_IsObject(c) && c->child) {
				rc = rc ? rc : yaml_map(b, c, indent + 2, true);
			} else if (cJSON_IsArray(c) && c->child) {
				rc = rc ? rc : ks_buf_appendc(b, '\n');
				rc = rc ? rc : yaml_value(b, c, indent + 2);
			} else {
				rc = rc ? rc : yaml_scalar(b, c, indent + 2);
				rc = rc ? rc : ks_buf_appendc(b, '\n');
			}
		}
		return rc;
	}
	rc = yaml_scalar(b, v, indent);
	return rc ? rc : ks_buf_appendc(b, '\n');
}

int ks_yaml_write(const cJSON *v, struct ks_buf *out, struct ks_err *err)
{
	int rc = yaml_value(out, v, 0);
	if (rc)
		return ks_err_set(err, rc, "YAML output: %s", ks_errcode_name(rc));
	return 0;
}
