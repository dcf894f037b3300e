/* jsonout.c — see jsonout.h. */
#include "base/common.h"
#include "base/jsonout.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include <libfyaml.h>

static int write_string(struct ks_buf *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	int rc = ks_buf_appendc(b, '"');
	for (const unsigned char *p = (const unsigned char *)s; *p && !rc; p++) {
		unsigned char c = *p;
		if (c == '"' || c == '\\') {
			char e[2] = {'\\', (char)c};
			rc = ks_buf_append(b, e, 2);
		} else if (c == '\n') {
			rc = ks_buf_append(b, "\\n", 2);
		} else if (c == '\r') {
			rc = ks_buf_append(b, "\\r", 2);
		} else if (c == '\t') {
			rc = ks_buf_append(b, "\\t", 2);
		} else if (c < 0x20 || c == '<' || c == '>' || c == '&') {
			char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
			rc = ks_buf_append(b, e, 6);
		} else if (c == 0xe2 && p[1] == 0x80 && (p[2] == 0xa8 || p[2] == 0xa9)) {
			rc = ks_buf_appendstr(b, p[2] == 0xa8 ? "\\u2028" : "\\u2029");
			p += 2;
		} else {
			rc = ks_buf_appendc(b, (char)c);
		}
	}
	return rc ? rc : ks_buf_appendc(b, '"');
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

int ks_yaml_write(const cJSON *v, struct ks_buf *out, struct ks_err *err)
{
	struct ks_buf json;
	ks_buf_init(&json, KS_BUF_UNLIMITED);
	int rc = ks_json_write_go(v, &json);
	if (rc) {
		ks_buf_release(&json);
		return ks_err_set(err, rc, "YAML output: %s", ks_errcode_name(rc));
	}
	struct fy_parse_cfg cfg = {.flags = FYPCF_QUIET | FYPCF_JSON_FORCE};
	struct fy_document *fyd = fy_document_build_from_string(&cfg, json.data, json.len);
	if (!fyd) {
		ks_buf_release(&json);
		return ks_err_set(err, KS_EINVAL, "YAML output: could not convert the document");
	}
	char *s = fy_emit_document_to_string(fyd, FYECF_MODE_DEJSON | FYECF_SORT_KEYS |
							  FYECF_INDENT_2 | FYECF_WIDTH_INF |
							  FYECF_STRIP_DOC);
	fy_document_destroy(fyd);
	ks_buf_release(&json);
	if (!s)
		return ks_err_set(err, KS_EINVAL, "YAML output: emitter failed");
	rc = ks_buf_appendstr(out, s);
	free(s);
	return rc;
}
