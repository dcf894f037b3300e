/* webui.h — the embedded web UI's static assets (the files of web/, compiled in by
 * scripts/embed.sh): which embedded file a URL names, its content type and its ETag. Pure
 * look-up, no I/O: server.c answers with it (GET/HEAD / and /ui/NAME, no auth; docs/API.md).
 *
 * URLs: "/" and "/ui/" are web/index.html; "/ui/NAME" is web/NAME when NAME is one path
 * segment of [A-Za-z0-9._-] not starting with '.' (so no "..", no '/', no hidden files) and
 * such a file is embedded. Anything else under /ui/ is not found.
 * Ownership: the asset points into the embedded table (lives for the whole run). */
#ifndef KS_SERVER_WEBUI_H
#define KS_SERVER_WEBUI_H

#include <stdbool.h>
#include <stddef.h>

/* One Content-Security-Policy for every asset: everything from this origin only. */
#define WEBUI_CSP                                                                             \
	"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "     \
	"connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "        \
	"frame-ancestors 'none'"
#define WEBUI_NAME_MAX 64

struct webui_asset {
	const unsigned char *data;
	size_t len;
	const char *content_type; /* "text/html; charset=utf-8" ... */
	char etag[24];            /* "\"<16 hex digits>\"": FNV-1a 64 of the content, quoted */
};

/* Whether url is one of the UI's (the root or under /ui/): the server routes it here. */
bool webui_is_ui_url(const char *url);
/* The asset url names: true and *out filled, or false (not found). */
bool webui_find(const char *url, struct webui_asset *out);
/* Whether an If-None-Match header value matches etag ("*" or a list holding it, weak
 * validators compared weakly as RFC 9110 says for GET). */
bool webui_etag_matches(const char *if_none_match, const char *etag);

#endif
