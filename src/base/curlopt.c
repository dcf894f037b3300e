/* curlopt.c — see curlopt.h. */
#include "base/common.h"
#include "base/curlopt.h"

void ks_curl_defaults(CURL *e, const char *url, long timeout_ms, char *errbuf)
{
	curl_easy_setopt(e, CURLOPT_URL, url);
	if (timeout_ms > 0)
		curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(e, CURLOPT_USERAGENT, "kswarm/" KSWARM_VERSION);
	errbuf[0] = 0;
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
}
