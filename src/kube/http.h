/* http.h — HTTP to the Kubernetes API server through libcurl's multi interface.
 *
 * One `struct kube_http` owns one CURLM: every request, the short ones and the long watch
 * streams, shares its connections (HTTP/2 multiplexed when the server offers it). Nothing
 * blocks in libcurl: kube_http_poll() drives all transfers, and every callback of ours runs
 * from kube_http_poll *after* curl_multi_perform has returned, never inside libcurl, so a
 * callback may start new requests or even call kube_http_do.
 *
 * What the layer does for every request:
 *   - client-side rate limit (token bucket: qps, burst), as client-go's default 5/10 — ours
 *     defaults to 50/100, enough for a daemon and still gentle on a shared API server;
 *   - 429 Too Many Requests and 5xx with Retry-After: waits as told, retries (max_retries);
 *   - 401 with an exec-plugin credential: asks for a fresh credential and retries once;
 *   - a response-size ceiling (max_response) for buffered bodies, a per-chunk path for streams;
 *   - errors carry the HTTP status and the API server's Status message and reason.
 *
 * Ownership: kube_http owns its transfers; a request's strings are copied at start. The
 * response body of kube_http_do belongs to the caller's struct kube_http_resp (release it). */
#ifndef KS_KUBE_HTTP_H
#define KS_KUBE_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

struct ks_err;

/* A credential for one request. Pointers are borrowed until the next get_cred call. */
struct kube_http_cred {
	const char *token;                   /* bearer token, or NULL */
	const char *basic_user, *basic_pass; /* basic auth, or NULL */
	const void *cert_pem;                /* client certificate (PEM), or NULL */
	size_t cert_len;
	const void *key_pem; /* client key (PEM) */
	size_t key_len;
};

struct kube_http_opts {
	const char *server;          /* "https://host:port[/prefix]" */
	const char *tls_server_name; /* verify the server's certificate for this name */
	const void *ca_pem;          /* CA bundle (PEM); NULL: the system's */
	size_t ca_len;
	bool insecure;          /* insecure-skip-tls-verify */
	const char *proxy_url;  /* NULL: libcurl's environment rules */
	const char *user_agent; /* NULL: "kswarm/VERSION" */
	double qps;             /* 0: 50 */
	int burst;              /* 0: 100 */
	long timeout_ms;        /* per request, 0: 60 s */
	size_t max_response;    /* 0: 512 MiB */
	int max_retries;        /* 0: 10 (429 / Retry-After), -1: none */
	bool no_compression;    /* do not ask for gzip */
	/* Credentials: called before each attempt (exec plugins cache their token). */
	int (*get_cred)(void *ctx, struct kube_http_cred *out, struct ks_err *err);
	/* Called on 401 so the next get_cred fetches a new credential. */
	void (*invalidate_cred)(void *ctx);
	void *cred_ctx;
};

struct kube_http_req {
	const char *method;       /* "GET", "POST", "PUT", "PATCH", "DELETE" */
	const char *path;         /* "/api/v1/namespaces/default/pods?limit=500" */
	const char *accept;       /* NULL: application/json */
	const char *content_type; /* for a body; NULL: application/json */
	const char *body;
	size_t body_len;
	long timeout_ms; /* 0: the client's default; -1: none (streams) */
	/* Streaming: when set and the status is 2xx, the body goes to on_data chunk by chunk
	 * (return non-zero to abort the transfer) instead of being buffered. */
	int (*on_data)(void *ctx, const char *p, size_t n);
	void *data_ctx;
	/* Stream idle limit: abort when fewer than 1 byte/s arrive for this many seconds. */
	long idle_timeout_s;
	/* Return 429 and 5xx at once instead of retrying them (an eviction's 429 means a
	 * PodDisruptionBudget refuses it: the caller decides when to try again). */
	bool no_retry;
};

struct kube_http_resp {
	long status;         /* HTTP status, 0 when the transport failed */
	struct ks_buf body;  /* the buffered body (error bodies even for streams) */
	char content_type[128];
	int attempts;        /* how many times it was sent */
};

struct kube_http;
struct kube_http_xfer;

/* done(ctx, resp, rc, err): rc is 0 for 2xx, else a KS_E* code with err filled. resp and err
 * are valid only during the call. */
typedef void (*kube_http_done_fn)(void *ctx, struct kube_http_resp *resp, int rc,
				  const struct ks_err *err);

int kube_http_new(const struct kube_http_opts *opts, struct kube_http **out, struct ks_err *err);
void kube_http_free(struct kube_http *h);

/* Start a request; done is called from a later kube_http_poll. Never NULL. */
struct kube_http_xfer *kube_http_start(struct kube_http *h, const struct kube_http_req *req,
				       kube_http_done_fn done, void *ctx);

/* The Kubernetes verb of a request (base/opstats.h KS_OP_KUBE_*), counted as each request
 * starts: GET with watch=1|true in the query is a watch; a GET of a collection
 * (/api/v1/pods, /apis/G/V/namespaces/NS/R) a list, of an object (or its subresource) a get;
 * POST create, PUT update, PATCH patch, DELETE delete. */
int kube_http_verb(const char *method, const char *path);
/* Cancel a transfer that has not completed; its done is not called. */
void kube_http_cancel(struct kube_http *h, struct kube_http_xfer *x);
/* Drive transfers for up to timeout_ms (0: do what is ready, -1: until one completes or
 * a stream delivers). Returns the number of transfers still active. */
int kube_http_poll(struct kube_http *h, long timeout_ms);
/* Wake a kube_http_poll blocked in another thread. */
void kube_http_wakeup(struct kube_http *h);
/* Run one request to completion (other transfers progress meanwhile). resp is initialised
 * here; release it with kube_http_resp_release. Returns 0 for 2xx, else the KS_E* code. */
int kube_http_do(struct kube_http *h, const struct kube_http_req *req,
		 struct kube_http_resp *resp, struct ks_err *err);
void kube_http_resp_release(struct kube_http_resp *resp);

/* Map a non-2xx response to a KS_E* code and a message from its Status body. */
int kube_http_status_error(long status, const char *body, size_t len, const char *what,
			   struct ks_err *err);

struct kube_http_stats {
	uint64_t requests, retries, bytes_in;
};
void kube_http_get_stats(const struct kube_http *h, struct kube_http_stats *out);
/* The server URL (as given). */
const char *kube_http_server(const struct kube_http *h);

#endif
