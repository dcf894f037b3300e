/* webui.c — see webui.h. Assets are few and small: the ETag is hashed on each request
 * (a few microseconds) rather than kept in a table that would need building. */
#include "base/common.h"
#include "base/embed.h"
#include "server/webui.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define UI_PREFIX "/ui/"

bool webui_is_ui_url(const char *url)
{
	return !strcmp(url, "/") || !strcmp(url, "/ui") ||
	       !strncmp(url, UI_PREFIX, sizeof UI_PREFIX - 1);
}

static bool name_ok(const char *name)
{
	size_t n = strlen(name);
	if (!n || n >= WEBUI_NAME_MAX || name[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

static const char *content_type_of(const char *name)
{
	static const struct {
		const char *ext, *type;
	} types[] = {
		{".html", "text/html; charset=utf-8"},
		{".js", "text/javascript; charset=utf-8"},
		{".css", "text/css; charset=utf-8"},
		{".svg", "image/svg+xml"},
		{".json", "application/json"},
		{".png", "image/png"},
		{".ico", "image/x-icon"},
	};
	const char *dot = strrchr(name, '.');
	for (size_t i = 0; dot && i < KS_ARRAY_LEN(types); i++)
		if (!strcmp(dot, types[i].ext))
			return types[i].type;
	return "application/octet-stream";
}

bool webui_find(const char *url, struct webui_asset *out)
{
	const char *name;
	if (!strcmp(url, "/") || !strcmp(url, UI_PREFIX))
		name = "index.html";
	else if (!strncmp(url, UI_PREFIX, sizeof UI_PREFIX - 1))
		name = url + sizeof UI_PREFIX - 1;
	else
		return false;
	if (!name_ok(name))
		return false;
	char path[WEBUI_NAME_MAX + 8];
	snprintf(path, sizeof path, "web/%s", name);
	const struct ks_embedded *e = ks_embedded_find(path);
	if (!e)
		return false;
	uint64_t h = 0xcbf29ce484222325ULL;
	for (size_t i = 0; i < e->len; i++)
		h = (h ^ e->data[i]) * 0x100000001b3ULL;
	*out = (struct webui_asset){.data = e->data, .len = e->len,
				    .content_type = content_type_of(name)};
	snprintf(out->etag, sizeof out->etag, "\"%016llx\"", (unsigned long long)h);
	return true;
}

bool webui_etag_matches(const char *if_none_match, const char *etag)
{
	if (!if_none_match)
		return false;
	size_t el = strlen(etag);
	const char *p = if_none_match;
	while (*p) {
		p += strspn(p, " \t,");
		if (*p == '*')
			return true;
		if (!strncmp(p, "W/", 2))
			p += 2;
		size_t n = strcspn(p, " \t,");
		if (n == el && !memcmp(p, etag, el))
			return true;
		p += n;
	}
	return false;
}
