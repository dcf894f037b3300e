/* awsprice.h — live EC2 prices from AWS: on-demand from the Pricing API's GetProducts, spot
 * from EC2's DescribeSpotPriceHistory, each request signed with SigV4 (cost/sigv4.h). What is
 * sent and read is described in docs/PRICING.md ("Live AWS prices").
 *
 *  - cost_prices_fetch_ondemand: POST {pricing endpoint}/ (JSON 1.1, X-Amz-Target
 *    AWSPriceListService.GetProducts, signing service "pricing") with Karpenter's filters
 *    (regionCode, serviceCode AmazonEC2, preInstalledSw NA, operatingSystem Linux,
 *    capacitystatus Used, marketoption OnDemand, tenancy Shared, productFamily "Compute
 *    Instance"); every PriceList document is filtered and priced by the offer-file importer's
 *    code, so a GetProducts price and an offer-file price of the same product are the same.
 *    Source: "GetProducts REGION (publicationDate)".
 *  - cost_prices_fetch_spot: POST https://ec2.REGION.amazonaws.com/ (EC2 Query API,
 *    Action=DescribeSpotPriceHistory, Version 2016-11-15, Linux/UNIX product descriptions,
 *    StartTime now, so each type and zone answers with the price in effect now); the XML
 *    entries are grouped as the CLI-JSON import groups them (latest price per zone, mean over
 *    zones). Source: "DescribeSpotPriceHistory REGION: mean of the latest prices in N zones,
 *    newest T".
 * Both follow NextToken/nextToken until it is empty (at most max_pages pages), retry a
 * throttled request (ThrottlingException, RequestLimitExceeded, HTTP 503...) with doubling
 * back-off, and are all or nothing: on error p is unchanged. Errors name the call, the HTTP
 * status and AWS's error code and message ("GetProducts us-east-1: HTTP 400
 * AccessDeniedException: User ... is not authorized"); err->reason holds the code.
 *
 * Secrets: the secret access key is only handed to the signer; it never appears in a log
 * line or an error message (a message that would hold it is redacted). The session token is
 * a request header (X-Amz-Security-Token) and is not logged either.
 *
 * Ownership: options and credentials are borrowed for the call. The page importers
 * (cost_prices_import_getproducts_page, cost_prices_import_spot_xml_page) parse one response
 * body as if it were the only page: the fuzzers and the tests use them; *next_token, when
 * set, is the caller's to free. Blocking, one request at a time; not thread-safe on one p. */
#ifndef KS_COST_AWSPRICE_H
#define KS_COST_AWSPRICE_H

#include <stddef.h>
#include <stdint.h>

#include "cost/sigv4.h"

struct ks_err;
struct cost_prices;
struct cost_offer_stats;

#define AWS_DEFAULT_TIMEOUT_MS 30000L
#define AWS_MAX_RESPONSE ((size_t)64 << 20)  /* one response body */
#define AWS_MAX_PAGES 1000                   /* per fetch */
#define AWS_DEFAULT_RETRIES 4                /* throttled attempts retried, per request */
#define AWS_DEFAULT_RETRY_BASE_MS 500L       /* first back-off; doubles each retry */
#define AWS_PRICING_PAGE_SIZE 100            /* GetProducts MaxResults (its maximum) */
#define AWS_SPOT_PAGE_SIZE 1000              /* DescribeSpotPriceHistory MaxResults */
#define AWS_EC2_API_VERSION "2016-11-15"

struct aws_opts {
	const char *region;         /* the region priced ("us-east-1"); required */
	const char *pricing_region; /* the Pricing endpoint's region: us-east-1 (NULL),
				     * eu-central-1 or ap-south-1; NULL with a pricing_url
				     * https://api.pricing.R.amazonaws.com/: R */
	const char *pricing_url;    /* NULL: https://api.pricing.PRICING_REGION.amazonaws.com/ */
	const char *ec2_url;        /* NULL: https://ec2.REGION.amazonaws.com/ */
	struct cost_sigv4_credentials creds;
	long timeout_ms;            /* per request; 0: AWS_DEFAULT_TIMEOUT_MS */
	int max_pages;              /* 0: AWS_MAX_PAGES */
	int max_retries;            /* 0: AWS_DEFAULT_RETRIES; < 0: none */
	long retry_base_ms;         /* 0: AWS_DEFAULT_RETRY_BASE_MS */
	int64_t now_s;              /* signing time and spot StartTime; 0: the clock */
};

/* Credentials from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN (optional).
 * The strings are the environment's (borrowed). KS_EAUTH, naming the missing variables,
 * when a key is unset or empty. */
int aws_credentials_from_env(struct cost_sigv4_credentials *c, struct ks_err *err);

/* On-demand prices of o->region from GetProducts (see above). st: as for an offer file, its
 * bytes counting the PriceList documents. */
int cost_prices_fetch_ondemand(struct cost_prices *p, const struct aws_opts *o,
			       struct cost_offer_stats *st, struct ks_err *err);

/* Spot prices of o->region (which must be p's region) from DescribeSpotPriceHistory. *nset
 * (may be NULL): the types priced. */
int cost_prices_fetch_spot(struct cost_prices *p, const struct aws_opts *o, size_t *nset,
			   struct ks_err *err);

/* One GetProducts response body ({"FormatVersion":"aws_v1","PriceList":["...",...],
 * "NextToken":...}) imported as a whole (name as the source's, region as
 * cost_prices_import_offer's). At most AWS_MAX_RESPONSE bytes. */
int cost_prices_import_getproducts_page(struct cost_prices *p, const char *name,
					const char *region, const char *body, size_t len,
					char **next_token, struct cost_offer_stats *st,
					struct ks_err *err);

/* One DescribeSpotPriceHistory XML response body imported as a whole; an EC2 error document
 * (<Response><Errors>...) is an error naming its code. At most AWS_MAX_RESPONSE bytes. */
int cost_prices_import_spot_xml_page(struct cost_prices *p, const char *name, const char *body,
				     size_t len, char **next_token, size_t *nset,
				     struct ks_err *err);

#endif
