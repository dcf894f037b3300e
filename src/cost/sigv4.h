/* sigv4.h — AWS Signature Version 4 (HMAC-SHA256) for the AWS Pricing GetProducts and EC2
 * DescribeSpotPriceHistory calls kswarm may make. It computes, as AWS documents it:
 *   canonical request = METHOD \n CanonicalURI \n CanonicalQuery \n CanonicalHeaders \n
 *                       SignedHeaders \n hex(SHA256(payload))
 *   string to sign    = "AWS4-HMAC-SHA256" \n AMZDATE \n DATE/REGION/SERVICE/aws4_request \n
 *                       hex(SHA256(canonical request))
 *   signing key       = HMAC(HMAC(HMAC(HMAC("AWS4" secret, DATE), REGION), SERVICE),
 *                       "aws4_request")
 *   Authorization     = "AWS4-HMAC-SHA256 Credential=AKID/SCOPE, SignedHeaders=..., Signature=..."
 * and is tested against AWS's published SigV4 test suite (tests/unit/test_sigv4.c).
 *
 * Rules (those of the test suite, for services other than S3):
 *  - path is the decoded path ("/", "/ሴ"); each segment is percent-encoded once (everything
 *    but A-Za-z0-9-._~ as %XX, upper-case hex), '/' kept. It is not normalised: no "." or
 *    ".." segments and no "//" are accepted (KS_EINVAL), so what is signed is what is sent;
 *  - query parameters are given decoded; each name and value is percent-encoded the same way
 *    and the pairs are sorted by encoded name, then value (byte order). The encoded query is
 *    returned too, so that the URL sent is exactly the one signed;
 *  - header names are lower-cased, values trimmed with inner runs of spaces collapsed to
 *    one; a name given several times has its values joined with ',' in the order given;
 *    headers are sorted by name. host and x-amz-date (and x-amz-security-token with a session
 *    token) are added by the signer and must not be passed in headers. Names must be tokens
 *    and values must not hold CR, LF or NUL.
 *
 * Secrets: the secret key and the signing key are never logged and never copied into the
 * result; the derived keys are wiped from the stack after use. The session token is a
 * header value and so does appear in canonical_request.
 *
 * Ownership: the request and credentials are borrowed for the call; struct cost_sigv4_signed
 * owns its strings, freed by cost_sigv4_signed_release. Crypto is gnutls's. */
#ifndef KS_COST_SIGV4_H
#define KS_COST_SIGV4_H

#include <stddef.h>
#include <stdint.h>

struct ks_err;

#define COST_SIGV4_MAX_HEADERS 64
#define COST_SIGV4_MAX_PARAMS 256

struct cost_sigv4_pair {
	const char *name;
	const char *value;
};

struct cost_sigv4_request {
	const char *method;                      /* "GET", "POST" */
	const char *host;                        /* "pricing.us-east-1.amazonaws.com" */
	const char *path;                        /* decoded; "/" when NULL */
	const struct cost_sigv4_pair *params;    /* decoded query parameters */
	size_t n_params;
	const struct cost_sigv4_pair *headers;   /* extra headers to sign (Content-Type...) */
	size_t n_headers;
	const void *payload;                     /* the body; NULL with payload_len 0 */
	size_t payload_len;
};

struct cost_sigv4_credentials {
	const char *access_key_id;
	const char *secret_access_key; /* never logged */
	const char *session_token;     /* NULL or "" for long-term keys */
};

struct cost_sigv4_scope {
	const char *region;  /* "us-east-1" */
	const char *service; /* "pricing", "ec2" */
	int64_t unix_s;      /* the signing time */
};

struct cost_sigv4_signed {
	char amz_date[17];       /* "20150830T123600Z": send as X-Amz-Date */
	char signature[65];      /* lower-case hex */
	char *canonical_request; /* for debugging and tests; holds no secret key */
	char *string_to_sign;
	char *signed_headers;    /* "host;x-amz-date" */
	char *authorization;     /* the Authorization header's value */
	char *query;             /* the canonical (encoded, sorted) query, "" when none */
};

/* Sign req. On success out is filled (release it); on error it is left empty. */
int cost_sigv4_sign(const struct cost_sigv4_request *req,
		    const struct cost_sigv4_credentials *creds,
		    const struct cost_sigv4_scope *scope, struct cost_sigv4_signed *out,
		    struct ks_err *err);
void cost_sigv4_signed_release(struct cost_sigv4_signed *s);

/* The signing key for secret, date ("20150830"), region and service (32 bytes). */
int cost_sigv4_signing_key(const char *secret, const char *date8, const char *region,
			   const char *service, unsigned char key[32], struct ks_err *err);

/* hex(SHA256(data)) into out (65 bytes with the NUL). */
void cost_sigv4_sha256_hex(const void *data, size_t len, char out[65]);

#endif
