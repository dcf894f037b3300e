/* vault.c — the Vault KV v2 client (see vault.h).
 *
 * Design: one CURL easy handle per client, reused so that keep-alive connections and TLS
 * sessions carry over; each call builds "<addr>/v1/<mount>/<data|metadata>/<path>" with the
 * mount and path percent-encoded segment by segment, sends the token in a header list that is
 * wiped after the request, buffers the reply under the ceiling and parses it with ks_json_parse.
 * Error messages name the method and the Vault path ("vault GET secret/data/app/db: 403
 * permission denied"), never the URL's host credentials or the token; Vault's own error text
 * is scrubbed of the token before it is copied, in case a proxy echoes headers. */
#include "base/common.h"
#include "secrets/vault.h"

#include "base/json.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define VAULT_DEFAULT_TIMEOUT_MS 30000L
#define VAULT_DEFAULT_CONNECT_MS 10000L
#define VAULT_DEFAULT_MAX_RESPONSE ((size_t)4 << 20)

struct vault_client {
	CURL *curl;
	char *addr;
	char *token;
	char *ns;
	char *ca_file;
	void *ca_pem;
	size_t ca_len;
	bool insecure;
	long timeout_ms, connect_ms;
	size_t max_response;
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;

static void global_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void wipe_free(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

int vault_client_new(const struct vault_opts *o, struct vault_client **out, struct ks_err *err)
{
	*out = NULL;
	if (!o || !o->addr || !o->addr[0])
		return ks_err_set(err, KS_EINVAL, "vault: no address");
	if (strncmp(o->addr, "http://", 7) != 0 && strncmp(o->addr, "https://", 8) != 0)
		return ks_err_set(err, KS_EINVAL, "vault: address '%s' is not http:// or https://",
				  o->addr);
	if (!o->token || !o->token[0])
		return ks_err_set(err, KS_EINVAL, "vault: no token");
	if (strpbrk(o->token, "\r\n") || (o->namespace_name && strpbrk(o->namespace_name, "\r\n")))
		return ks_err_set(err, KS_EINVAL, "vault: token or namespace holds a line break");
	pthread_once(&global_once, global_init);
	struct vault_client *c = ks_calloc(1, sizeof(*c));
	c->curl = curl_easy_init();
	if (!c->curl) {
		free(c);
		return ks_err_set(err, KS_EIO, "vault: cannot create a libcurl handle");
	}
	c->addr = ks_strdup(o->addr);
	size_t n = strlen(c->addr);
	while (n > 0 && c->addr[n - 1] == '/')
		c->addr[--n] = 0;
	c->token = ks_strdup(o->token);
	c->ns = o->namespace_name && o->namespace_name[0] ? ks_strdup(o->namespace_name) : NULL;
	c->ca_file = o->ca_file ? ks_strdup(o->ca_file) : NULL;
	if (o->ca_pem && o->ca_len) {
		c->ca_pem = ks_malloc(o->ca_len);
		memcpy(c->ca_pem, o->ca_pem, o->ca_len);
		c->ca_len = o->ca_len;
	}
	c->insecure = o->insecure;
	c->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : VAULT_DEFAULT_TIMEOUT_MS;
	c->connect_ms =
		o->connect_timeout_ms > 0 ? o->connect_timeout_ms : VAULT_DEFAULT_CONNECT_MS;
	c->max_response = o->max_response ? o->max_response : VAULT_DEFAULT_MAX_RESPONSE;
	*out = c;
	return 0;
}

void vault_client_free(struct vault_client *c)
{
	if (!c)
		return;
	curl_easy_cleanup(c->curl);
	free(c->addr);
	wipe_free(c->token);
	free(c->ns);
	free(c->ca_file);
	free(c->ca_pem);
	free(c);
}

/* Percent-encode s for a URL path, keeping '/' between segments. */
static void append_path(struct ks_buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		unsigned char ch = *p;
		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || strchr("-_.~/", ch)) {
			ks_buf_appendc(b, (char)ch);
		} else {
			char e[3] = {'%', hex[ch >> 4], hex[ch & 15]};
			ks_buf_append(b, e, 3);
		}
	}
}

static size_t on_write(char *p, size_t size, size_t nmemb, void *ctx)
{
	struct ks_buf *b = ctx;
	size_t n = size * nmemb;
	return ks_buf_append(b, p, n) == 0 ? n : 0;
}

/* Copy Vault's error text into out, with every occurrence of the token replaced. */
static void scrub(const char *s, const char *token, struct ks_buf *out)
{
	size_t tl = strlen(token);
	while (*s) {
		const char *hit = tl ? strstr(s, token) : NULL;
		if (!hit) {
			ks_buf_appendstr(out, s);
			return;
		}
		ks_buf_append(out, s, (size_t)(hit - s));
		ks_buf_appendstr(out, "[redacted]");
		s = hit + tl;
	}
}

static int status_code(long status, const char *errtext)
{
	switch (status) {
	case 400:
		return strstr(errtext, "check-and-set parameter did not match") ? KS_ECONFLICT
										 : KS_EINVAL;
	case 401:
	case 403:
		return KS_EFORBIDDEN;
	case 404:
		return KS_ENOTFOUND;
	case 413:
		return KS_ETOOBIG;
	default:
		return KS_EHTTP;
	}
}

/* An error from a non-2xx reply: Vault's {"errors":[…]} joined, or for a 404 of a read that
 * carries metadata, the version's state. */
static int reply_error(struct vault_client *c, const char *what, long status, const cJSON *j,
		       struct ks_err *err)
{
	struct ks_buf text, clean;
	ks_buf_init(&text, 2048);
	ks_buf_init(&clean, 4096);
	const cJSON *errs = j ? ks_json_child(j, "errors") : NULL;
	if (cJSON_IsArray(errs)) {
		for (const cJSON *e = errs->child; e; e = e->next) {
			if (!cJSON_IsString(e))
				continue;
			if (text.len)
				ks_buf_appendstr(&text, "; ");
			ks_buf_appendstr(&text, e->valuestring);
		}
	}
	const cJSON *md = j ? ks_json_get(j, "data.metadata") : NULL;
	if (status == 404 && cJSON_IsObject(md)) {
		if (ks_json_bool_or(md, "destroyed", false))
			ks_buf_appendf(&text, "version %lld is destroyed",
				       (long long)ks_json_int_or(md, "version", 0));
		else
			ks_buf_appendf(&text, "version %lld was deleted at %s",
				       (long long)ks_json_int_or(md, "version", 0),
				       ks_json_str_or(md, "deletion_time", "?"));
	}
	if (!text.len)
		ks_buf_appendstr(&text, status == 404 ? "not found" : "no error text");
	scrub(text.data, c->token, &clean);
	int code = status_code(status, clean.data);
	ks_err_set(err, code, "vault %s: %ld %s", what, status, clean.data);
	if (err)
		err->http_status = (int)status;
	ks_buf_release(&text);
	ks_buf_release(&clean);
	return code;
}

/* One request. kind is "data" or "metadata"; query ("" or "?version=2"). On 2xx *json gets the
 * parsed body (NULL for an empty one, e.g. 204). */
static int request(struct vault_client *c, const char *method, const char *mount,
		   const char *kind, const char *path, const char *query, const char *body,
		   cJSON **json, struct ks_err *err)
{
	*json = NULL;
	if (!mount || !mount[0] || !path)
		return ks_err_set(err, KS_EINVAL, "vault: empty mount or path");
	struct ks_buf url, what, resp;
	ks_buf_init(&url, KS_BUF_UNLIMITED);
	ks_buf_init(&what, KS_BUF_UNLIMITED);
	ks_buf_init(&resp, c->max_response);
	ks_buf_appendf(&url, "%s/v1/", c->addr);
	append_path(&url, mount);
	ks_buf_appendf(&url, "/%s/", kind);
	append_path(&url, path);
	ks_buf_appendstr(&url, query);
	ks_buf_appendf(&what, "%s %s/%s/%s", method, mount, kind, path);

	char *tokhdr = ks_asprintf("X-Vault-Token: %s", c->token);
	struct curl_slist *h = curl_slist_append(NULL, tokhdr);
	char *nshdr = NULL;
	if (c->ns) {
		nshdr = ks_asprintf("X-Vault-Namespace: %s", c->ns);
		h = curl_slist_append(h, nshdr);
	}
	h = curl_slist_append(h, "Accept: application/json");
	if (body)
		h = curl_slist_append(h, "Content-Type: application/json");
	h = curl_slist_append(h, "Expect:");

	CURL *e = c->curl;
	curl_easy_reset(e);
	curl_easy_setopt(e, CURLOPT_URL, url.data);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
	if (strcmp(method, "GET") == 0)
		curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
	if (body) {
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
	}
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, &resp);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, c->timeout_ms);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, c->connect_ms);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_USERAGENT, "kswarm/" KSWARM_VERSION);
	if (c->ca_file)
		curl_easy_setopt(e, CURLOPT_CAINFO, c->ca_file);
	if (c->ca_pem) {
		struct curl_blob blob = {.data = c->ca_pem, .len = c->ca_len,
					 .flags = CURL_BLOB_COPY};
		curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &blob);
	}
	if (c->insecure) {
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	char ebuf[CURL_ERROR_SIZE] = "";
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, ebuf);

	CURLcode cc = curl_easy_perform(e);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(h);
	wipe_free(tokhdr);
	free(nshdr);

	int rc = 0;
	long status = 0;
	if (cc != CURLE_OK) {
		if (cc == CURLE_WRITE_ERROR)
			rc = ks_err_set(err, KS_ETOOBIG, "vault %s: response larger than %zu bytes",
					what.data, c->max_response);
		else if (cc == CURLE_OPERATION_TIMEDOUT)
			rc = ks_err_set(err, KS_ETIMEOUT, "vault %s: timed out after %ld ms",
					what.data, c->timeout_ms);
		else
			rc = ks_err_set(err, KS_ENET, "vault %s: %s", what.data,
					ebuf[0] ? ebuf : curl_easy_strerror(cc));
		goto out;
	}
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
	cJSON *j = NULL;
	if (resp.len) {
		struct ks_err perr = {0};
		j = ks_json_parse(resp.data, resp.len, c->max_response, &perr);
		if (!j && status >= 200 && status < 300) {
			rc = ks_err_set(err, KS_EINVAL, "vault %s: %ld reply is not JSON: %s",
					what.data, status, perr.msg);
			goto out;
		}
	}
	if (status < 200 || status >= 300) {
		rc = reply_error(c, what.data, status, j, err);
		cJSON_Delete(j);
		goto out;
	}
	*json = j;
out:
	ks_buf_release(&url);
	ks_buf_release(&what);
	ks_buf_release(&resp);
	return rc;
}

static int need_path(const char *path, struct ks_err *err)
{
	if (!path || !path[0] || path[strlen(path) - 1] == '/')
		return ks_err_set(err, KS_EINVAL, "vault: secret path '%s' is empty or a folder",
				  path ? path : "");
	return 0;
}

int vault_kv2_read(struct vault_client *c, const char *mount, const char *path, int version,
		   cJSON **data, int *version_out, struct ks_err *err)
{
	*data = NULL;
	int rc = need_path(path, err);
	if (rc)
		return rc;
	if (version < 0)
		return ks_err_set(err, KS_EINVAL, "vault: negative version %d", version);
	char q[32] = "";
	if (version > 0)
		snprintf(q, sizeof(q), "?version=%d", version);
	cJSON *j;
	rc = request(c, "GET", mount, "data", path, q, NULL, &j, err);
	if (rc)
		return rc;
	const cJSON *d = ks_json_get(j, "data.data");
	if (!cJSON_IsObject(d)) {
		cJSON_Delete(j);
		return ks_err_set(err, KS_EINVAL,
				  "vault GET %s/data/%s: reply has no data.data object", mount,
				  path);
	}
	if (version_out)
		*version_out = (int)ks_json_int_or(j, "data.metadata.version", 0);
	*data = cJSON_Duplicate(d, 1);
	cJSON_Delete(j);
	return 0;
}

int vault_kv2_write(struct vault_client *c, const char *mount, const char *path,
		    const cJSON *data, int cas, int *version_out, struct ks_err *err)
{
	int rc = need_path(path, err);
	if (rc)
		return rc;
	if (!cJSON_IsObject(data))
		return ks_err_set(err, KS_EINVAL, "vault: data for %s/%s is not a JSON object",
				  mount, path);
	cJSON *req = cJSON_CreateObject();
	cJSON_AddItemToObject(req, "data", cJSON_Duplicate(data, 1));
	if (cas >= 0) {
		cJSON *opt = cJSON_AddObjectToObject(req, "options");
		cJSON_AddNumberToObject(opt, "cas", cas);
	}
	char *body = cJSON_PrintUnformatted(req);
	cJSON_Delete(req);
	cJSON *j;
	rc = request(c, "POST", mount, "data", path, "", body, &j, err);
	/* The body holds the secret values: wipe it. */
	explicit_bzero(body, strlen(body));
	cJSON_free(body);
	if (rc)
		return rc;
	if (version_out)
		*version_out = (int)ks_json_int_or(j, "data.version", 0);
	cJSON_Delete(j);
	return 0;
}

int vault_kv2_delete(struct vault_client *c, const char *mount, const char *path,
		     struct ks_err *err)
{
	int rc = need_path(path, err);
	if (rc)
		return rc;
	cJSON *j;
	rc = request(c, "DELETE", mount, "data", path, "", NULL, &j, err);
	cJSON_Delete(j);
	return rc;
}

int vault_kv2_list(struct vault_client *c, const char *mount, const char *dir, cJSON **keys,
		   struct ks_err *err)
{
	*keys = NULL;
	cJSON *j;
	int rc = request(c, "LIST", mount, "metadata", dir ? dir : "", "", NULL, &j, err);
	if (rc)
		return rc;
	const cJSON *k = ks_json_get(j, "data.keys");
	if (!cJSON_IsArray(k)) {
		cJSON_Delete(j);
		return ks_err_set(err, KS_EINVAL,
				  "vault LIST %s/metadata/%s: reply has no data.keys", mount,
				  dir ? dir : "");
	}
	*keys = cJSON_Duplicate(k, 1);
	cJSON_Delete(j);
	return 0;
}

int vault_kv2_metadata(struct vault_client *c, const char *mount, const char *path,
		       cJSON **meta, struct ks_err *err)
{
	*meta = NULL;
	int rc = need_path(path, err);
	if (rc)
		return rc;
	cJSON *j;
	rc = request(c, "GET", mount, "metadata", path, "", NULL, &j, err);
	if (rc)
		return rc;
	const cJSON *d = ks_json_child(j, "data");
	if (!cJSON_IsObject(d)) {
		cJSON_Delete(j);
		return ks_err_set(err, KS_EINVAL, "vault GET %s/metadata/%s: reply has no data",
				  mount, path);
	}
	*meta = cJSON_Duplicate(d, 1);
	cJSON_Delete(j);
	return 0;
}
