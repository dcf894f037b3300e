/* curlopt.h — the libcurl options every kswarm HTTP client shares: the URL, a total timeout
 * (0: none), no signals (the clients run in threads), no redirects, http and https only,
 * any content encoding libcurl decodes, kswarm's User-Agent, and an error buffer. */
#ifndef KS_BASE_CURLOPT_H
#define KS_BASE_CURLOPT_H

#include <curl/curl.h>

/* errbuf must hold CURL_ERROR_SIZE bytes and outlive the transfer. */
void ks_curl_defaults(CURL *e, const char *url, long timeout_ms, char *errbuf);

#endif
