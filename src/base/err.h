/* err.h — the one error convention.
 * Functions that can fail return 0 on success or a negative KS_E* code, and put a
 * sentence naming the thing and the cause into a caller-provided `struct ks_err`
 * ("kubeconfig /root/.kube/config:14:3: context 'prod' names cluster 'eks-prod', which
 * is not defined"). The err argument may be NULL when the caller does not want the text.
 * Errors from the API server also carry the HTTP status and the Status reason. */
#ifndef KS_ERR_H
#define KS_ERR_H

enum ks_errcode {
	KS_OK = 0,
	KS_EINVAL = -1,    /* bad input: syntax, missing field, out of range */
	KS_ENOMEM = -2,    /* not used for malloc (that aborts); for explicit caps */
	KS_ETOOBIG = -3,   /* a size ceiling was reached */
	KS_EIO = -4,       /* file or socket I/O */
	KS_ENOTFOUND = -5, /* 404, or a named thing does not exist */
	KS_ECONFLICT = -6, /* 409 */
	KS_EFORBIDDEN = -7,/* 401/403 */
	KS_ETIMEOUT = -8,
	KS_EGONE = -9,     /* 410 Gone: resourceVersion too old */
	KS_EHTTP = -10,    /* any other HTTP error status */
	KS_ENET = -11,     /* transport failure (connect, TLS, DNS) */
	KS_EAUTH = -12,    /* credentials could not be obtained (exec plugin, files) */
	KS_ECANCELED = -13,
	KS_EUNSUPPORTED = -14,
};

#define KS_ERR_MSG_MAX 1024

struct ks_err {
	int code;           /* a KS_E* value, 0 when no error */
	int http_status;    /* HTTP status when the error came from a server, else 0 */
	char reason[64];    /* Kubernetes Status.reason ("NotFound", "Conflict", ...) */
	char msg[KS_ERR_MSG_MAX];
};

/* Set err (when not NULL) and return code, so callers can write `return ks_err_set(...)`. */
int ks_err_set(struct ks_err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Prefix the existing message with more context: "reading X: <old message>". */
int ks_err_wrap(struct ks_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ks_err_clear(struct ks_err *err);
/* A short name for a code ("conflict", "not found"). */
const char *ks_errcode_name(int code);

#endif
