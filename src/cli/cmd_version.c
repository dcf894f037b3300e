/* cmd_version.c — `kswarm version`. */
#include "base/common.h"
#include "cli/cli.h"

#include <stdio.h>

#include <curl/curl.h>
#include <cjson/cJSON.h>
#include <libfyaml.h>

int cmd_version(int argc, char **argv)
{
	KS_UNUSED(argv);
	if (argc > 1) {
		fprintf(stderr, "kswarm version: takes no arguments\n");
		return CLI_USAGE;
	}
	curl_version_info_data *cv = curl_version_info(CURLVERSION_NOW);
	printf("kswarm %s (git %s)\n", KSWARM_VERSION, KSWARM_GIT_REV);
	printf("  libcurl %s (%s%s), cJSON %s, libfyaml %s\n", cv->version,
	       cv->ssl_version ? cv->ssl_version : "no TLS",
	       (cv->features & CURL_VERSION_HTTP2) ? ", HTTP/2" : "", cJSON_Version(),
	       fy_library_version());
	return CLI_OK;
}
