/* apireq.c — see apireq.h. Pure functions of their inputs; the bodies are parsed with cJSON
 * under the SERVER_MAX_BODY ceiling (base/json.h), and the token compare touches every byte
 * of the configured token whatever the presented one holds. */
#include "base/common.h"
#include "base/json.h"
#include "server/apireq.h"
#include "server/server.h"

#include <stdio.h>
#include <string.h>

int api_parse_seq(const char *s, int64_t *out, struct ks_err *err)
{
	const char *digits = s && s[0] == 'm' ? s + 1 : s;
	size_t n = digits ? strlen(digits) : 0;
	if (n == 0 || n > 19 || strspn(digits, "0123456789") != n)
		return ks_err_set(err, KS_EINVAL, "'%.32s' is not a sequence number",
				  s ? s : "");
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++)
		v = v * 10 + (uint64_t)(digits[i] - '0');
	if (v > (uint64_t)INT64_MAX)
		return ks_err_set(err, KS_EINVAL, "sequence number %.32s is too large", s);
	*out = (int64_t)v;
	return 0;
}

int api_parse_limit(const char *s, int def, int max, int *out, struct ks_err *err)
{
	if (!s || !*s) {
		*out = def;
		return 0;
	}
	size_t n = strlen(s);
	if (n > 9 || strspn(s, "0123456789") != n)
		return ks_err_set(err, KS_EINVAL, "limit '%.32s' is not a number", s);
	int v = 0;
	for (size_t i = 0; i < n; i++)
		v = v * 10 + (s[i] - '0');
	if (v < 1 || v > max)
		return ks_err_set(err, KS_EINVAL, "limit %d is out of range (1..%d)", v, max);
	*out = v;
	return 0;
}

bool api_plan_id_valid(const char *s)
{
	size_t n = strlen(s);
	return n > 0 && n < API_PLAN_ID_MAX &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

static int copy_field(char *dst, size_t cap, const char *key, const char *value,
		      struct ks_err *err)
{
	if (strlen(value) >= cap)
		return ks_err_set(err, KS_EINVAL, "filter %s: longer than %zu bytes", key, cap - 1);
	snprintf(dst, cap, "%s", value);
	return 0;
}

static int parse_types(const char *list, uint32_t *types, struct ks_err *err)
{
	*types = 0;
	while (*list) {
		char name[32];
		size_t n = strcspn(list, ",");
		if (n >= sizeof name)
			return ks_err_set(err, KS_EINVAL, "filter type: '%.32s' is not a type",
					  list);
		memcpy(name, list, n);
		name[n] = '\0';
		if (n) {
			enum swarm_msg_type t;
			int rc = swarm_msg_type_parse(name, &t, err);
			if (rc)
				return ks_err_wrap(err, "filter type");
			*types |= 1u << t;
		}
		list += n;
		if (*list == ',')
			list++;
	}
	return 0;
}

int api_stream_filter_set(struct api_stream_filter *f, const char *key, const char *value,
			  struct ks_err *err)
{
	if (!strcmp(key, "from"))
		return copy_field(f->from, sizeof f->from, key, value, err);
	if (!strcmp(key, "cluster"))
		return copy_field(f->cluster, sizeof f->cluster, key, value, err);
	if (!strcmp(key, "kind"))
		return copy_field(f->kind, sizeof f->kind, key, value, err);
	if (!strcmp(key, "namespace"))
		return copy_field(f->namespace, sizeof f->namespace, key, value, err);
	if (!strcmp(key, "name"))
		return copy_field(f->name, sizeof f->name, key, value, err);
	if (!strcmp(key, "type"))
		return parse_types(value, &f->types, err);
	return 0;
}

static bool field_match(const char *want, const char *have)
{
	return !want[0] || !strcmp(want, have);
}

bool api_stream_filter_match(const struct api_stream_filter *f, const struct swarm_msg *m)
{
	if (f->types && !(f->types & (1u << m->type)))
		return false;
	return field_match(f->from, m->from) && field_match(f->cluster, m->cluster) &&
	       field_match(f->kind, m->subject.kind) &&
	       field_match(f->namespace, m->subject.namespace) &&
	       field_match(f->name, m->subject.name);
}

/* The body as an object whose members are all strings named in allowed (NULL-terminated). */
static int parse_object(const char *body, size_t len, const char *const *allowed,
			cJSON **out, struct ks_err *err)
{
	cJSON *root = ks_json_parse(body, len, SERVER_MAX_BODY, err);
	if (!root)
		return ks_err_wrap(err, "request body");
	if (!cJSON_IsObject(root)) {
		cJSON_Delete(root);
		return ks_err_set(err, KS_EINVAL, "request body: not a JSON object");
	}
	const cJSON *it;
	cJSON_ArrayForEach(it, root) {
		bool known = false;
		for (size_t i = 0; allowed[i] && !known; i++)
			known = !strcmp(it->string, allowed[i]);
		if (!known || !cJSON_IsString(it) ||
		    cJSON_GetObjectItemCaseSensitive(root, it->string) != it) {
			int rc = ks_err_set(err, KS_EINVAL, "request body: field '%.64s' is %s",
					    it->string,
					    !known		  ? "not allowed"
					    : !cJSON_IsString(it) ? "not a string"
								  : "repeated");
			cJSON_Delete(root);
			return rc;
		}
	}
	*out = root;
	return 0;
}

static int text_field(const cJSON *root, const char *key, bool required, char **out,
		      struct ks_err *err)
{
	const char *v = ks_json_str(root, key);
	*out = NULL;
	if (!v || !*v)
		return required ? ks_err_set(err, KS_EINVAL, "request body: '%s' is required",
					     key)
				: 0;
	if (strlen(v) > API_TEXT_MAX)
		return ks_err_set(err, KS_EINVAL, "request body: '%s' is longer than %d bytes",
				  key, API_TEXT_MAX);
	*out = ks_strdup(v);
	return 0;
}

static int parse_decision(const char *body, size_t len, const char *text_key, bool required,
			  struct api_decision *out, struct ks_err *err)
{
	const char *const allowed[] = {"by", text_key, NULL};
	*out = (struct api_decision){0};
	cJSON *root;
	/* An empty body is an empty object when nothing is required. */
	if (len == 0 && !required)
		return 0;
	int rc = parse_object(body, len, allowed, &root, err);
	if (rc)
		return rc;
	const char *by = ks_json_str_or(root, "by", "");
	if (strlen(by) >= sizeof out->by)
		rc = ks_err_set(err, KS_EINVAL, "request body: 'by' is longer than %zu bytes",
				sizeof out->by - 1);
	else
		snprintf(out->by, sizeof out->by, "%s", by);
	if (!rc)
		rc = text_field(root, text_key, required, &out->text, err);
	cJSON_Delete(root);
	return rc;
}

int api_parse_approve(const char *body, size_t len, struct api_decision *out,
		      struct ks_err *err)
{
	return parse_decision(body, len, "comment", false, out, err);
}

int api_parse_reject(const char *body, size_t len, struct api_decision *out,
		     struct ks_err *err)
{
	return parse_decision(body, len, "reason", true, out, err);
}

void api_decision_release(struct api_decision *d)
{
	free(d->text);
	d->text = NULL;
}

int api_parse_ask(const char *body, size_t len, char **question, struct ks_err *err)
{
	const char *const allowed[] = {"question", NULL};
	cJSON *root;
	*question = NULL;
	int rc = parse_object(body, len, allowed, &root, err);
	if (rc)
		return rc;
	rc = text_field(root, "question", true, question, err);
	cJSON_Delete(root);
	return rc;
}

bool api_bearer_ok(const char *authorization, const char *token)
{
	static const char prefix[] = "Bearer ";
	if (!authorization || strncmp(authorization, prefix, sizeof prefix - 1) != 0)
		return false;
	const volatile unsigned char *given =
		(const unsigned char *)authorization + sizeof prefix - 1;
	size_t want_len = strlen(token), given_len = strlen((const char *)given);
	/* Every byte of the token is compared; a shorter presented token is read as NULs past
	 * its end (never out of bounds), a longer one differs by length. */
	unsigned diff = want_len != given_len;
	for (size_t i = 0; i < want_len; i++) {
		unsigned char g = i < given_len ? given[i] : 0;
		diff |= (unsigned)(g ^ (unsigned char)token[i]);
	}
	return diff == 0;
}
