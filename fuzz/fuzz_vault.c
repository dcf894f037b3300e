/* fuzz_vault.c — the simulated Vault's request handling (sim_vault_handle, no sockets).
 * Input: "METHOD PATH[?query]\n" then the body. The query's version= and list= go to the
 * request as libmicrohttpd would pass them; a first path byte of '!' sends no token. One
 * server lives across inputs (512 at a time), so writes, deletes and lists meet earlier
 * inputs' keys; every reply must be JSON (or empty for 204) and a status Vault uses. */
#include "base/common.h"
#include "base/json.h"
#include "sim/vault.h"

#include <string.h>

static struct sim_vault *srv;
static unsigned runs;

static char *query_arg(const char *q, const char *name)
{
	size_t nl = strlen(name);
	for (const char *p = q; p && *p;) {
		const char *amp = strchr(p, '&');
		size_t len = amp ? (size_t)(amp - p) : strlen(p);
		if (len > nl && strncmp(p, name, nl) == 0 && p[nl] == '=')
			return ks_strndup(p + nl + 1, len - nl - 1);
		p = amp ? amp + 1 : NULL;
	}
	return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A fresh store now and then, so memory stays bounded over a long run. */
	if (srv && ++runs % 512 == 0) {
		sim_vault_stop(srv);
		srv = NULL;
	}
	if (!srv) {
		static const char *const mounts[] = {"secret", "kv"};
		struct sim_vault_opts o = {.root_token = "root", .mounts = mounts, .n_mounts = 2,
					   .no_listen = true};
		if (sim_vault_start(&o, &srv, NULL))
			abort();
	}
	const char *nl = memchr(data, '\n', size);
	size_t head_len = nl ? (size_t)(nl - (const char *)data) : size;
	char *head = ks_strndup((const char *)data, head_len); /* stops at a NUL, as a server */
	const char *body = nl ? nl + 1 : "";
	size_t body_len = nl ? size - head_len - 1 : 0;

	char *sp = strchr(head, ' ');
	const char *method = head, *path = "";
	if (sp) {
		*sp = 0;
		path = sp + 1;
	}
	bool no_token = path[0] == '!';
	if (no_token)
		path++;
	char *q = strchr(path, '?');
	char *version = NULL, *list = NULL;
	if (q) {
		*q = 0;
		version = query_arg(q + 1, "version");
		list = query_arg(q + 1, "list");
	}
	struct sim_vault_req rq = {
		.method = method,
		.path = path,
		.version = version,
		.list = list,
		.token = no_token ? NULL : "root",
		.body = body,
		.body_len = body_len,
		.body_too_large = body_len > SIM_VAULT_MAX_BODY,
	};
	struct sim_vault_resp rs;
	sim_vault_handle(srv, &rq, &rs);
	switch (rs.status) {
	case 200: case 400: case 403: case 404: case 405: case 413:
		break;
	case 204:
		if (rs.body.len)
			abort();
		break;
	default:
		abort();
	}
	if (rs.status != 204) {
		if (!rs.body.len || rs.body.data[rs.body.len - 1] != '\n')
			abort();
		cJSON *j = ks_json_parse(rs.body.data, rs.body.len, (size_t)64 << 20, NULL);
		if (!j)
			abort();
		cJSON_Delete(j);
	}
	ks_buf_release(&rs.body);
	free(version);
	free(list);
	free(head);
	return 0;
}
