/* json.c — see json.h. */
#include "base/common.h"
#include "base/json.h"

#include <stdio.h>
#include <string.h>

cJSON *ks_json_parse(const char *s, size_t len, size_t max, struct ks_err *err)
{
	if (len > max) {
		ks_err_set(err, KS_ETOOBIG, "JSON document of %zu bytes exceeds the %zu-byte limit",
			   len, max);
		return NULL;
	}
	const char *end = NULL;
	cJSON *root = cJSON_ParseWithLengthOpts(s, len, &end, false);
	if (!root) {
		size_t off = end && end >= s ? (size_t)(end - s) : 0;
		ks_err_set(err, KS_EINVAL, "invalid JSON at byte %zu of %zu", off, len);
		return NULL;
	}
	/* Only whitespace may follow the value. */
	if (end) {
		for (const char *p = end; p < s + len; p++) {
			if (*p != ' ' && *p != '\n' && *p != '\r' && *p != '\t' && *p != '\0') {
				cJSON_Delete(root);
				ks_err_set(err, KS_EINVAL, "trailing data after JSON value at byte %zu",
					   (size_t)(p - s));
				return NULL;
			}
		}
	}
	return root;
}

const cJSON *ks_json_child(const cJSON *obj, const char *key)
{
	if (!cJSON_IsObject(obj))
		return NULL;
	return cJSON_GetObjectItemCaseSensitive(obj, key);
}

const cJSON *ks_json_get(const cJSON *obj, const char *path)
{
	const cJSON *cur = obj;
	const char *p = path;
	char key[256];
	while (cur && *p) {
		const char *dot = strchr(p, '.');
		size_t n = dot ? (size_t)(dot - p) : strlen(p);
		if (n >= sizeof key)
			return NULL;
		memcpy(key, p, n);
		key[n] = '\0';
		cur = ks_json_child(cur, key);
		p += n + (dot ? 1 : 0);
	}
	return cur;
}

const char *ks_json_str(const cJSON *obj, const char *path)
{
	const cJSON *v = ks_json_get(obj, path);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

const char *ks_json_str_or(const cJSON *obj, const char *path, const char *def)
{
	const char *s = ks_json_str(obj, path);
	return s ? s : def;
}

int64_t ks_json_int_or(const cJSON *obj, const char *path, int64_t def)
{
	const cJSON *v = ks_json_get(obj, path);
	return cJSON_IsNumber(v) ? (int64_t)v->valuedouble : def;
}

bool ks_json_bool_or(const cJSON *obj, const char *path, bool def)
{
	const cJSON *v = ks_json_get(obj, path);
	return cJSON_IsBool(v) ? cJSON_IsTrue(v) : def;
}

int ks_json_len(const cJSON *arr)
{
	return cJSON_IsArray(arr) ? cJSON_GetArraySize(arr) : 0;
}

char *ks_json_print(const cJSON *obj)
{
	char *s = cJSON_PrintUnformatted(obj);
	if (!s) {
		fprintf(stderr, "kswarm: out of memory printing JSON\n");
		abort();
	}
	return s;
}
