/* sigv4.c — AWS Signature Version 4 (see sigv4.h for the rules and the ownership).
 * The canonical request is built in one ks_buf: method, encoded path, the sorted encoded
 * query, the sorted canonical headers, the signed-header list and the payload hash. Headers
 * and parameters are copied into small arrays so that sorting never touches the caller's.
 * Key material lives in fixed stack arrays that are wiped (explicit_bzero) on every exit. */
#include "base/common.h"

#include "cost/sigv4.h"

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define SIGV4_ALGORITHM "AWS4-HMAC-SHA256"

static const char hexdig[] = "0123456789abcdef";

static void hex_encode(const unsigned char *p, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hexdig[p[i] >> 4];
		out[2 * i + 1] = hexdig[p[i] & 15];
	}
	out[2 * n] = '\0';
}

void cost_sigv4_sha256_hex(const void *data, size_t len, char out[65])
{
	unsigned char d[32];
	gnutls_hash_fast(GNUTLS_DIG_SHA256, len ? data : "", len, d);
	hex_encode(d, sizeof d, out);
}

static int hmac(const void *key, size_t klen, const char *msg, unsigned char out[32])
{
	return gnutls_hmac_fast(GNUTLS_MAC_SHA256, key, klen, msg, strlen(msg), out);
}

int cost_sigv4_signing_key(const char *secret, const char *date8, const char *region,
			   const char *service, unsigned char key[32], struct ks_err *err)
{
	char k0[256];
	unsigned char a[32], b[32];
	int n = snprintf(k0, sizeof k0, "AWS4%s", secret);
	int rc = 0;
	if (n < 0 || (size_t)n >= sizeof k0) {
		rc = ks_err_set(err, KS_EINVAL, "sigv4: the secret access key is too long");
		goto out;
	}
	if (hmac(k0, (size_t)n, date8, a) || hmac(a, 32, region, b) || hmac(b, 32, service, a) ||
	    hmac(a, 32, "aws4_request", key))
		rc = ks_err_set(err, KS_EINVAL, "sigv4: HMAC-SHA256 failed");
out:
	explicit_bzero(k0, sizeof k0);
	explicit_bzero(a, sizeof a);
	explicit_bzero(b, sizeof b);
	return rc;
}

static bool unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_' || c == '~';
}

/* Percent-encode s (upper-case hex, as SigV4 requires); keep_slash for paths. */
static int uri_encode(struct ks_buf *b, const char *s, bool keep_slash)
{
	static const char up[] = "0123456789ABCDEF";
	int rc = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p && !rc; p++) {
		if (unreserved(*p) || (keep_slash && *p == '/')) {
			rc = ks_buf_appendc(b, (char)*p);
		} else {
			char e[3] = {'%', up[*p >> 4], up[*p & 15]};
			rc = ks_buf_append(b, e, 3);
		}
	}
	return rc;
}

static int check_path(const char *path, struct ks_err *err)
{
	if (path[0] != '/')
		return ks_err_set(err, KS_EINVAL, "sigv4: path '%s' does not start with '/'", path);
	for (const char *seg = path + 1;;) {
		const char *end = strchr(seg, '/');
		size_t n = end ? (size_t)(end - seg) : strlen(seg);
		if ((n == 0 && end) || (n == 1 && seg[0] == '.') ||
		    (n == 2 && seg[0] == '.' && seg[1] == '.'))
			return ks_err_set(err, KS_EINVAL,
					  "sigv4: path '%s' is not normalised ('//', '.' or '..')",
					  path);
		if (!end)
			return 0;
		seg = end + 1;
	}
}

struct enc_param {
	char *name, *value;
};

static int cmp_param(const void *a, const void *b)
{
	const struct enc_param *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	return c ? c : strcmp(x->value, y->value);
}

struct canon_header {
	char *name;  /* lower-cased */
	char *value; /* trimmed, spaces collapsed */
	size_t order;
};

static int cmp_header(const void *a, const void *b)
{
	const struct canon_header *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	if (c)
		return c;
	return x->order < y->order ? -1 : x->order > y->order;
}

static bool token_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f && !strchr("\"(),/:;<=>?@[\\]{}", c);
}

/* Lower-case the name and canonicalise the value; KS_EINVAL for what cannot be sent. */
static int canon_header(const char *name, const char *value, size_t order,
			struct canon_header *h, struct ks_err *err)
{
	if (!name[0])
		return ks_err_set(err, KS_EINVAL, "sigv4: a header has an empty name");
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		if (!token_char(*p))
			return ks_err_set(err, KS_EINVAL, "sigv4: header name '%s' is not a token",
					  name);
	if (strpbrk(value, "\r\n"))
		return ks_err_set(err, KS_EINVAL, "sigv4: header '%s' holds a line break", name);
	h->name = ks_strdup(name);
	for (char *p = h->name; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	h->value = ks_malloc(strlen(value) + 1);
	size_t n = 0;
	for (const char *p = value; *p; p++) {
		bool space = *p == ' ' || *p == '\t';
		if (space && (n == 0 || h->value[n - 1] == ' '))
			continue;
		h->value[n++] = space ? ' ' : *p;
	}
	while (n > 0 && h->value[n - 1] == ' ')
		n--;
	h->value[n] = '\0';
	h->order = order;
	return 0;
}

static bool reserved_header(const char *lname)
{
	return !strcmp(lname, "host") || !strcmp(lname, "x-amz-date") ||
	       !strcmp(lname, "x-amz-security-token") || !strcmp(lname, "authorization");
}

void cost_sigv4_signed_release(struct cost_sigv4_signed *s)
{
	if (!s)
		return;
	free(s->canonical_request);
	free(s->string_to_sign);
	free(s->signed_headers);
	free(s->authorization);
	free(s->query);
	*s = (struct cost_sigv4_signed){0};
}

static int format_amz_date(int64_t unix_s, char amz[17], struct ks_err *err)
{
	time_t t = (time_t)unix_s;
	struct tm tm;
	if (unix_s < 0 || !gmtime_r(&t, &tm) || tm.tm_year + 1900 > 9999)
		return ks_err_set(err, KS_EINVAL, "sigv4: signing time %lld is out of range",
				  (long long)unix_s);
	strftime(amz, 17, "%Y%m%dT%H%M%SZ", &tm);
	return 0;
}

static bool scope_part_ok(const char *s)
{
	if (!s || !s[0] || strlen(s) > 64)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-'))
			return false;
	return true;
}

int cost_sigv4_sign(const struct cost_sigv4_request *req,
		    const struct cost_sigv4_credentials *creds,
		    const struct cost_sigv4_scope *scope, struct cost_sigv4_signed *out,
		    struct ks_err *err)
{
	*out = (struct cost_sigv4_signed){0};
	const char *path = req->path ? req->path : "/";
	bool token = creds->session_token && creds->session_token[0];
	size_t nh = req->n_headers + 3, np = req->n_params;
	struct canon_header *hs = NULL;
	struct enc_param *ps = NULL;
	struct ks_buf cr, q, sh;
	ks_buf_init(&cr, KS_BUF_UNLIMITED);
	ks_buf_init(&q, KS_BUF_UNLIMITED);
	ks_buf_init(&sh, KS_BUF_UNLIMITED);
	unsigned char key[32], sig[32];
	int rc = 0;

	if (!req->method || !req->method[0] || !req->host || !req->host[0])
		return ks_err_set(err, KS_EINVAL, "sigv4: the request has no method or no host");
	if (!scope_part_ok(scope->region) || !scope_part_ok(scope->service))
		return ks_err_set(err, KS_EINVAL, "sigv4: region '%s' or service '%s' is not valid",
				  scope->region ? scope->region : "",
				  scope->service ? scope->service : "");
	if (!creds->access_key_id || !creds->access_key_id[0] || !creds->secret_access_key ||
	    !creds->secret_access_key[0])
		return ks_err_set(err, KS_EAUTH, "sigv4: no access key id or secret access key");
	if (strpbrk(creds->access_key_id, "/, \r\n"))
		return ks_err_set(err, KS_EINVAL,
				  "sigv4: the access key id holds '/', ',' or a space");
	if (req->n_headers > COST_SIGV4_MAX_HEADERS || np > COST_SIGV4_MAX_PARAMS)
		return ks_err_set(err, KS_ETOOBIG, "sigv4: more than %d headers or %d parameters",
				  COST_SIGV4_MAX_HEADERS, COST_SIGV4_MAX_PARAMS);
	if ((rc = check_path(path, err)) || (rc = format_amz_date(scope->unix_s, out->amz_date,
								   err)))
		return rc;

	/* the query: encode, sort, join */
	ps = ks_calloc(np ? np : 1, sizeof *ps);
	for (size_t i = 0; i < np; i++) {
		struct ks_buf e;
		ks_buf_init(&e, KS_BUF_UNLIMITED);
		uri_encode(&e, req->params[i].name ? req->params[i].name : "", false);
		ps[i].name = ks_buf_detach(&e);
		uri_encode(&e, req->params[i].value ? req->params[i].value : "", false);
		ps[i].value = ks_buf_detach(&e);
	}
	qsort(ps, np, sizeof *ps, cmp_param);
	for (size_t i = 0; i < np; i++)
		ks_buf_appendf(&q, "%s%s=%s", i ? "&" : "", ps[i].name, ps[i].value);

	/* the headers: the caller's, then host, x-amz-date and the token */
	hs = ks_calloc(nh, sizeof *hs);
	size_t n = 0;
	for (; n < req->n_headers; n++) {
		const struct cost_sigv4_pair *h = &req->headers[n];
		if ((rc = canon_header(h->name ? h->name : "", h->value ? h->value : "", n,
				       &hs[n], err)))
			goto out;
		if (reserved_header(hs[n].name)) {
			rc = ks_err_set(err, KS_EINVAL, "sigv4: header '%s' is set by the signer",
					hs[n].name);
			n++;
			goto out;
		}
	}
	if ((rc = canon_header("host", req->host, n, &hs[n], err)))
		goto out;
	n++;
	canon_header("x-amz-date", out->amz_date, n, &hs[n], err);
	n++;
	if (token) {
		if ((rc = canon_header("x-amz-security-token", creds->session_token, n, &hs[n],
				       err)))
			goto out;
		n++;
	}
	qsort(hs, n, sizeof *hs, cmp_header);

	ks_buf_appendf(&cr, "%s\n", req->method);
	uri_encode(&cr, path, true);
	ks_buf_appendf(&cr, "\n%s\n", q.len ? q.data : "");
	for (size_t i = 0; i < n; i++) {
		bool same = i > 0 && !strcmp(hs[i].name, hs[i - 1].name);
		if (same) {
			ks_buf_appendf(&cr, ",%s", hs[i].value);
			continue;
		}
		ks_buf_appendf(&cr, "%s%s:%s", i ? "\n" : "", hs[i].name, hs[i].value);
		ks_buf_appendf(&sh, "%s%s", sh.len ? ";" : "", hs[i].name);
	}
	char payload_hash[65], cr_hash[65];
	cost_sigv4_sha256_hex(req->payload, req->payload_len, payload_hash);
	ks_buf_appendf(&cr, "\n\n%s\n%s", sh.data, payload_hash);
	cost_sigv4_sha256_hex(cr.data, cr.len, cr_hash);

	char date8[9];
	memcpy(date8, out->amz_date, 8);
	date8[8] = '\0';
	char *cred_scope = ks_asprintf("%s/%s/%s/aws4_request", date8, scope->region,
				       scope->service);
	out->string_to_sign = ks_asprintf(SIGV4_ALGORITHM "\n%s\n%s\n%s", out->amz_date,
					  cred_scope, cr_hash);
	rc = cost_sigv4_signing_key(creds->secret_access_key, date8, scope->region,
				    scope->service, key, err);
	if (!rc && hmac(key, sizeof key, out->string_to_sign, sig))
		rc = ks_err_set(err, KS_EINVAL, "sigv4: HMAC-SHA256 failed");
	if (!rc) {
		hex_encode(sig, sizeof sig, out->signature);
		out->authorization = ks_asprintf(SIGV4_ALGORITHM " Credential=%s/%s, "
						 "SignedHeaders=%s, Signature=%s",
						 creds->access_key_id, cred_scope, sh.data,
						 out->signature);
	}
	free(cred_scope);
	out->canonical_request = ks_buf_detach(&cr);
	out->signed_headers = ks_buf_detach(&sh);
	out->query = ks_buf_detach(&q);
out:
	explicit_bzero(key, sizeof key);
	explicit_bzero(sig, sizeof sig);
	for (size_t i = 0; i < np; i++) {
		free(ps[i].name);
		free(ps[i].value);
	}
	free(ps);
	for (size_t i = 0; hs && i < n; i++) {
		free(hs[i].name);
		free(hs[i].value);
	}
	free(hs);
	ks_buf_release(&cr);
	ks_buf_release(&q);
	ks_buf_release(&sh);
	if (rc)
		cost_sigv4_signed_release(out);
	return rc;
}
