/* kubelet_server.c — the simulated kubelets' HTTPS endpoint (routes and answers in
 * kubelet_server.h).
 * Three parts: sim_kubelet_parse, a pure function from (method, raw URI) to a request or an
 * answer, decoding as Go's net/url and the apimachinery parameter codec do (booleans: only
 * "0" and "false" are false; integers: strconv.ParseInt; sinceTime: RFC 3339); the
 * certificate, made once per start with GnuTLS; and libmicrohttpd glue. libmicrohttpd hands
 * the access handler an already-unescaped path without its query, so the raw URI is taken
 * from the URI log callback (called once per request, before the headers) and kept as the
 * request's context until the completion callback frees it. */
#include "base/common.h"
#include "base/strutil.h"
#include "base/timeutil.h"
#include "sim/kubelet_server.h"

#include <arpa/inet.h>
#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>
#include <gnutls/x509.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define CERT_CN "kswarm-sim-kubelet"
/* The largest answer: every line of a full instance with its timestamp. */
#define MAX_RESPONSE (SIM_LOGS_MAX_BYTES + (size_t)SIM_LOGS_MAX_LINES * 64)

struct sim_kubelet_server {
	struct sim_logs *logs;
	struct MHD_Daemon *d;
	char *key_pem, *cert_pem;
};

/* ---- parsing ---- */

static int fail(struct ks_err *err, int status, const char *body)
{
	int rc = ks_err_set(err, status == 404 ? KS_ENOTFOUND : KS_EINVAL, "%s", body);
	if (err)
		err->http_status = status;
	return rc;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decode s[0..n) into out (cap bytes with the NUL); plus_space for query strings.
 * -1 on a bad escape or when it does not fit. */
static int pct_decode(const char *s, size_t n, bool plus_space, char *out, size_t cap)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '%') {
			if (n - i < 3)
				return -1;
			int h = hexval(s[i + 1]);
			int l = hexval(s[i + 2]);
			if (h < 0 || l < 0)
				return -1;
			c = (char)(h * 16 + l);
			i += 2;
		} else if (c == '+' && plus_space) {
			c = ' ';
		}
		if (o + 1 >= cap)
			return -1;
		out[o++] = c;
	}
	out[o] = '\0';
	return (int)o;
}

static bool parse_bool(const char *s)
{
	return !(strcmp(s, "0") == 0 || strcasecmp(s, "false") == 0);
}

enum param { P_PREVIOUS, P_FOLLOW, P_TIMESTAMPS, P_TAIL_LINES, P_TAIL, P_LIMIT_BYTES,
	     P_SINCE_SECONDS, P_SINCE_TIME, P_COUNT };
static const char *const param_names[P_COUNT] = {
	"previous", "follow", "timestamps", "tailLines", "tail", "limitBytes", "sinceSeconds",
	"sinceTime",
};

struct query_params {
	bool set[P_COUNT];
	char *val[P_COUNT]; /* heap copies, decoded */
};

static void params_release(struct query_params *p)
{
	for (int i = 0; i < P_COUNT; i++)
		free(p->val[i]);
}

/* url.ParseQuery, keeping the first value of the keys PodLogOptions has; pairs that do not
 * decode are dropped, as URL.Query() does. */
static int split_query(const char *q, struct query_params *p)
{
	char key[32], val[SIM_KUBELET_MAX_URI + 1];
	int pairs = 0;
	while (*q) {
		size_t n = strcspn(q, "&");
		if (n && ++pairs > SIM_KUBELET_MAX_PARAMS)
			return -1;
		const char *eq = memchr(q, '=', n);
		size_t kl = eq ? (size_t)(eq - q) : n;
		if (n && pct_decode(q, kl, true, key, sizeof key) >= 0) {
			for (int i = 0; i < P_COUNT; i++) {
				if (p->set[i] || strcmp(key, param_names[i]) != 0)
					continue;
				const char *v = eq ? eq + 1 : q + n;
				size_t vl = (size_t)(q + n - v);
				if (pct_decode(v, vl, true, val, sizeof val) >= 0) {
					p->set[i] = true;
					p->val[i] = ks_strdup(val);
				}
			}
		}
		q += n;
		if (*q == '&')
			q++;
	}
	return 0;
}

/* PodLogOptions from the query, as DecodeParameters + ValidatePodLogOptions. */
static int parse_log_options(const char *query, int64_t now_ms, struct sim_kubelet_req *r,
			     struct ks_err *err)
{
	struct query_params p = {0};
	int rc = 0;
	if (split_query(query, &p)) {
		rc = fail(err, 400, "{\"message\": \"Unable to decode query.\"}");
		goto out;
	}
	/* The old "tail" parameter wins over tailLines; "all" means no tail. */
	if (p.set[P_TAIL] && p.val[P_TAIL][0]) {
		free(p.val[P_TAIL_LINES]);
		p.val[P_TAIL_LINES] = NULL;
		p.set[P_TAIL_LINES] = strcmp(p.val[P_TAIL], "all") != 0;
		if (p.set[P_TAIL_LINES])
			p.val[P_TAIL_LINES] = ks_strdup(p.val[P_TAIL]);
	}
	r->q.previous = p.set[P_PREVIOUS] && parse_bool(p.val[P_PREVIOUS]);
	r->q.timestamps = p.set[P_TIMESTAMPS] && parse_bool(p.val[P_TIMESTAMPS]);
	r->follow = p.set[P_FOLLOW] && parse_bool(p.val[P_FOLLOW]);
	int64_t tail = -1, limit = 0, since_s = 0, since_ns = 0;
	bool bad = (p.set[P_TAIL_LINES] && !ks_parse_int64(p.val[P_TAIL_LINES], &tail)) ||
		   (p.set[P_LIMIT_BYTES] && !ks_parse_int64(p.val[P_LIMIT_BYTES], &limit)) ||
		   (p.set[P_SINCE_SECONDS] && !ks_parse_int64(p.val[P_SINCE_SECONDS], &since_s));
	bool has_time = p.set[P_SINCE_TIME] && p.val[P_SINCE_TIME][0] &&
			strcmp(p.val[P_SINCE_TIME], "null") != 0;
	if (has_time && ks_time_parse_rfc3339(p.val[P_SINCE_TIME], strlen(p.val[P_SINCE_TIME]),
					      &since_ns, NULL))
		bad = true;
	if (bad) {
		rc = fail(err, 400, "{\"message\": \"Unable to decode query.\"}");
		goto out;
	}
	if ((p.set[P_TAIL_LINES] && tail < 0) || (p.set[P_LIMIT_BYTES] && limit < 1) ||
	    (p.set[P_SINCE_SECONDS] && has_time) || (p.set[P_SINCE_SECONDS] && since_s < 1)) {
		rc = fail(err, 422, "{\"message\": \"Invalid request.\"}");
		goto out;
	}
	r->q.tail_lines = tail;
	r->q.limit_bytes = limit;
	r->q.since_ms = 0;
	if (p.set[P_SINCE_SECONDS] && since_s < now_ms / 1000)
		r->q.since_ms = now_ms - since_s * 1000;
	if (has_time && since_ns > 0)
		r->q.since_ms = since_ns / 1000000 + (since_ns % 1000000 != 0);
out:
	params_release(&p);
	return rc;
}

/* A decoded path segment that can name a namespace, a pod or a container. */
static bool name_ok(const char *s, size_t n)
{
	if (n > SIM_KUBELET_MAX_NAME)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x21 || s[i] > 0x7e)
			return false;
	return true;
}

int sim_kubelet_parse(const char *method, const char *uri, int64_t now_ms,
		      struct sim_kubelet_req *out, struct ks_err *err)
{
	static const char prefix[] = "/containerLogs/";
	memset(out, 0, sizeof *out);
	out->q.tail_lines = -1;
	size_t ulen = strnlen(uri, SIM_KUBELET_MAX_URI + 1);
	if (ulen > SIM_KUBELET_MAX_URI)
		return fail(err, 414, "414 URI Too Long");
	size_t plen = strcspn(uri, "?");
	const char *query = uri[plen] == '?' ? uri + plen + 1 : "";
	char path[SIM_KUBELET_MAX_URI + 1];
	int n = pct_decode(uri, plen, false, path, sizeof path);
	if (n < 0 || memchr(path, '\0', (size_t)n))
		return fail(err, 400, "400 Bad Request");
	if (strcmp(path, "/healthz") == 0) {
		out->route = SIM_KUBELET_HEALTHZ;
		return 0;
	}
	if (strncmp(path, prefix, sizeof prefix - 1) != 0)
		return fail(err, 404, "404 page not found\n");
	if (strcmp(method, "GET") != 0)
		return fail(err, 405, "405: Method Not Allowed");
	/* Exactly NS/POD/CONTAINER. */
	const char *seg[3];
	size_t len[3];
	const char *p = path + sizeof prefix - 1;
	for (int i = 0; i < 3; i++) {
		seg[i] = p;
		len[i] = strcspn(p, "/");
		p += len[i];
		if (i < 2) {
			if (*p != '/')
				return fail(err, 404, "404: Page Not Found");
			p++;
		}
	}
	if (*p)
		return fail(err, 404, "404: Page Not Found");
	if (!len[1])
		return fail(err, 400, "{\"message\": \"Missing podID.\"}");
	if (!len[2])
		return fail(err, 400, "{\"message\": \"Missing container name.\"}");
	if (!len[0])
		return fail(err, 400, "{\"message\": \"Missing podNamespace.\"}");
	for (int i = 0; i < 3; i++)
		if (!name_ok(seg[i], len[i]))
			return fail(err, 400, "400 Bad Request");
	snprintf(out->ns, sizeof out->ns, "%.*s", (int)len[0], seg[0]);
	snprintf(out->pod, sizeof out->pod, "%.*s", (int)len[1], seg[1]);
	snprintf(out->container, sizeof out->container, "%.*s", (int)len[2], seg[2]);
	out->route = SIM_KUBELET_LOGS;
	return parse_log_options(query, now_ms, out, err);
}

/* ---- the certificate ---- */

static int make_cert(struct sim_kubelet_server *ks, struct ks_err *err)
{
	gnutls_x509_privkey_t key = NULL;
	gnutls_x509_crt_t crt = NULL;
	gnutls_datum_t kd = {NULL, 0}, cd = {NULL, 0};
	unsigned char serial[16], ip[4] = {127, 0, 0, 1};
	time_t now = time(NULL);
	const char *step = "init";
	int r;
#define TRY(what, call)                     \
	do {                                \
		step = what;                \
		if ((r = (call)) < 0)       \
			goto out;           \
	} while (0)
	TRY("key", gnutls_x509_privkey_init(&key));
	TRY("key generation",
	    gnutls_x509_privkey_generate(key, GNUTLS_PK_ECDSA,
					 GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0));
	TRY("certificate", gnutls_x509_crt_init(&crt));
	TRY("version", gnutls_x509_crt_set_version(crt, 3));
	TRY("serial", gnutls_rnd(GNUTLS_RND_NONCE, serial, sizeof serial));
	serial[0] &= 0x7f; /* positive */
	serial[0] |= 0x01; /* and without a leading zero byte */
	TRY("serial", gnutls_x509_crt_set_serial(crt, serial, sizeof serial));
	TRY("validity", gnutls_x509_crt_set_activation_time(crt, now - 60));
	TRY("validity", gnutls_x509_crt_set_expiration_time(crt, now + 365 * 86400));
	TRY("subject", gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, CERT_CN,
						     sizeof CERT_CN - 1));
	TRY("public key", gnutls_x509_crt_set_key(crt, key));
	TRY("subject alternative name",
	    gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS, ip, sizeof ip,
						 GNUTLS_FSAN_SET));
	TRY("basic constraints", gnutls_x509_crt_set_basic_constraints(crt, 0, -1));
	TRY("key usage", gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_DIGITAL_SIGNATURE));
	TRY("key purpose", gnutls_x509_crt_set_key_purpose_oid(crt, GNUTLS_KP_TLS_WWW_SERVER, 0));
	TRY("signature", gnutls_x509_crt_sign2(crt, crt, key, GNUTLS_DIG_SHA256, 0));
	TRY("certificate export", gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &cd));
	TRY("key export", gnutls_x509_privkey_export2(key, GNUTLS_X509_FMT_PEM, &kd));
#undef TRY
	ks->cert_pem = ks_strndup((const char *)cd.data, cd.size);
	ks->key_pem = ks_strndup((const char *)kd.data, kd.size);
	r = 0;
out:
	if (kd.data) {
		explicit_bzero(kd.data, kd.size);
		gnutls_free(kd.data);
	}
	gnutls_free(cd.data);
	if (crt)
		gnutls_x509_crt_deinit(crt);
	if (key)
		gnutls_x509_privkey_deinit(key);
	if (r < 0)
		return ks_err_set(err, KS_EIO, "kubelet server: certificate (%s): %s", step,
				  gnutls_strerror(r));
	return 0;
}

/* ---- libmicrohttpd ---- */

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
	/* One byte past the ceiling is enough for the parser to answer 414. */
	return ks_strndup(uri, SIM_KUBELET_MAX_URI + 1);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	free(*con_cls);
	*con_cls = NULL;
}

static enum MHD_Result answer(struct MHD_Connection *c, int status, struct ks_buf *body)
{
	size_t len = body->len;
	char *data = ks_buf_detach(body);
	struct MHD_Response *resp =
		MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(data);
		return MHD_NO;
	}
	MHD_add_response_header(resp, "Content-Type", "text/plain; charset=utf-8");
	enum MHD_Result ret = MHD_queue_response(c, (unsigned)status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	struct sim_kubelet_server *ks = cls;
	const char *uri = *con_cls ? *con_cls : url;
	struct sim_kubelet_req rq;
	struct ks_err err = {0};
	struct ks_buf body;
	ks_buf_init(&body, MAX_RESPONSE);
	int status = 200;
	if (sim_kubelet_parse(method, uri, ks_time_now_ms(), &rq, &err)) {
		status = err.http_status;
		ks_buf_appendstr(&body, err.msg);
	} else if (rq.route == SIM_KUBELET_HEALTHZ) {
		ks_buf_appendstr(&body, "ok");
	} else {
		/* follow: what there is, then the end (kubelet_server.h). */
		int rc = sim_logs_render(ks->logs, rq.ns, rq.pod, rq.container, &rq.q, &body, &err);
		if (rc) {
			status = rc == KS_ENOTFOUND ? 404 : rc == KS_EINVAL ? 400 : 500;
			ks_buf_reset(&body);
			ks_buf_appendstr(&body, err.msg);
		}
	}
	KS_DEBUG("kubelet", "%s %.200s -> %d", method, uri, status);
	enum MHD_Result ret = answer(c, status, &body);
	ks_buf_release(&body);
	return ret;
}

static int parse_addr(const char *addr, struct sockaddr_in *sa, struct ks_err *err)
{
	const char *colon = addr ? strrchr(addr, ':') : NULL;
	char host[64];
	if (!colon || (size_t)(colon - addr) >= sizeof host)
		goto bad;
	snprintf(host, sizeof host, "%.*s", (int)(colon - addr), addr);
	char *end = NULL;
	long port = strtol(colon + 1, &end, 10);
	if (!colon[1] || *end || port < 0 || port > 65535)
		goto bad;
	memset(sa, 0, sizeof *sa);
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &sa->sin_addr) != 1)
		goto bad;
	return 0;
bad:
	return ks_err_set(err, KS_EINVAL, "kubelet server: address '%s' is not IPV4:PORT",
			  addr ? addr : "(null)");
}

int sim_kubelet_server_start(struct sim_logs *logs, const char *addr,
			     struct sim_kubelet_server **out, int *port_out, struct ks_err *err)
{
	*out = NULL;
	struct sockaddr_in sa;
	if (!logs)
		return ks_err_set(err, KS_EINVAL, "kubelet server: a log store is required");
	if (parse_addr(addr, &sa, err))
		return err ? err->code : KS_EINVAL;
	struct sim_kubelet_server *ks = ks_calloc(1, sizeof *ks);
	ks->logs = logs;
	int rc = make_cert(ks, err);
	if (rc) {
		sim_kubelet_server_stop(ks);
		return rc;
	}
	/* The log level is read lazily on first use: settle it before another thread logs. */
	(void)ks_log_get_level();
	ks->d = MHD_start_daemon(MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_TLS, ntohs(sa.sin_port),
				 NULL, NULL, on_request, ks, MHD_OPTION_SOCK_ADDR, &sa,
				 MHD_OPTION_HTTPS_MEM_KEY, ks->key_pem,
				 MHD_OPTION_HTTPS_MEM_CERT, ks->cert_pem,
				 MHD_OPTION_URI_LOG_CALLBACK, on_uri, NULL,
				 MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
				 MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30, MHD_OPTION_END);
	if (!ks->d) {
		sim_kubelet_server_stop(ks);
		return ks_err_set(err, KS_EIO, "kubelet server: cannot listen on %s (HTTPS)", addr);
	}
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(ks->d, MHD_DAEMON_INFO_BIND_PORT);
	if (port_out)
		*port_out = di ? di->port : ntohs(sa.sin_port);
	*out = ks;
	return 0;
}

void sim_kubelet_server_stop(struct sim_kubelet_server *ks)
{
	if (!ks)
		return;
	if (ks->d)
		MHD_stop_daemon(ks->d);
	if (ks->key_pem) {
		explicit_bzero(ks->key_pem, strlen(ks->key_pem));
		free(ks->key_pem);
	}
	free(ks->cert_pem);
	free(ks);
}

const char *sim_kubelet_server_cert_pem(const struct sim_kubelet_server *ks)
{
	return ks ? ks->cert_pem : NULL;
}
