/* fuzz_webui.c — libFuzzer target for what the web UI's routes take from outside
 * (server/webui.h): the URL path (as libmicrohttpd hands it over, decoded) and the
 * If-None-Match header. The first byte picks which; the rest (at most 4 KiB) is the input.
 * Beyond "no crash, no UB, no leak" it checks, aborting on a violation:
 *  - a URL that finds an asset is "/", "/ui/" or "/ui/" + one segment of [A-Za-z0-9._-]
 *    not starting with '.', and the asset is web/<that name> (never another embedded file);
 *  - an etag always matches "*" and a header made of itself, and never an empty header. */
#include "base/common.h"
#include "base/embed.h"
#include "server/webui.h"

#include <stdio.h>
#include <string.h>

#define INPUT_MAX 4096

static void check_url(const char *url)
{
	struct webui_asset a;
	if (!webui_find(url, &a))
		return;
	if (!webui_is_ui_url(url))
		abort();
	const char *name = !strcmp(url, "/") || !strcmp(url, "/ui/") ? "index.html" : url + 4;
	if (name[0] == '.' || strchr(name, '/') || strstr(url, ".."))
		abort();
	char path[WEBUI_NAME_MAX + 8];
	snprintf(path, sizeof path, "web/%s", name);
	const struct ks_embedded *e = ks_embedded_find(path);
	if (!e || e->data != a.data || e->len != a.len)
		abort();
}

static void check_etag(const char *header)
{
	static const char etag[] = "\"0123456789abcdef\"";
	bool m = webui_etag_matches(header, etag);
	if (!header[0] && m)
		abort();
	if (!strcmp(header, etag) && !m)
		abort();
	if (!webui_etag_matches("*", etag) || !webui_etag_matches(etag, etag))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > INPUT_MAX + 1)
		return 0;
	char *s = ks_malloc(size);
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	if (data[0] % 2)
		check_etag(s);
	else
		check_url(s);
	free(s);
	return 0;
}
