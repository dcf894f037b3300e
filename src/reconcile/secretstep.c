/* secretstep.c — secret-from-source: the value of a Secret's key comes from Vault KV v2
 * (secrets/vault.h), read when the step runs, never stored in the plan, transcript, audit
 * or events: they get reconcile_fingerprint of it. The value lives in memory only as long
 * as the patch that writes it, and is wiped (explicit_bzero) after.
 * The previous value of the key is kept in the intent log's recon_steps.secret_before (so
 * a rollback can restore it) until the plan ends (docs/RECONCILER.md "Secrets").
 * Errors name the mount, path and field, never a value or the token. */
#include "base/common.h"
#include "base/base64.h"
#include "base/json.h"
#include "reconcile/internal.h"
#include "secrets/vault.h"

#include <string.h>

int rc_secret_fetch(struct reconciler *r, const struct rc_step *st, char **value, size_t *len,
		    struct ks_err *err)
{
	*value = NULL;
	*len = 0;
	if (!r->vault_addr || !r->vault_token)
		return ks_err_set(err, KS_EUNSUPPORTED,
				  "step %s: no Vault is configured (vault_addr, vault_token) for a "
				  "secret-from-source step", st->id);
	struct vault_opts vo = {.addr = r->vault_addr, .token = r->vault_token,
				.namespace_name = r->vault_namespace};
	struct vault_client *vc = NULL;
	cJSON *data = NULL;
	int rc = vault_client_new(&vo, &vc, err);
	if (!rc)
		rc = vault_kv2_read(vc, st->vault_mount, st->vault_path, 0, &data, NULL, err);
	if (rc) {
		ks_err_wrap(err, "step %s: reading Vault %s/%s", st->id, st->vault_mount,
			    st->vault_path);
		goto out;
	}
	const cJSON *f = ks_json_child(data, st->vault_field);
	if (!cJSON_IsString(f)) {
		rc = ks_err_set(err, KS_ENOTFOUND, "step %s: Vault %s/%s has no string field %s",
				st->id, st->vault_mount, st->vault_path, st->vault_field);
		goto out;
	}
	*len = strlen(f->valuestring);
	*value = ks_strdup(f->valuestring);
out:
	if (data) {
		/* Wipe every value of the secret before freeing the tree. */
		cJSON *v;
		cJSON_ArrayForEach(v, data)
			if (cJSON_IsString(v))
				explicit_bzero(v->valuestring, strlen(v->valuestring));
		cJSON_Delete(data);
	}
	vault_client_free(vc);
	return rc;
}

char *rc_secret_patch(const char *key, const char *value, size_t len)
{
	size_t blen = 0;
	char *b64 = ks_base64_encode(value, len, &blen);
	struct ks_buf b;
	ks_buf_init(&b, KS_BUF_UNLIMITED);
	ks_buf_appendstr(&b, "{\"data\":{");
	ks_buf_append_json_string(&b, key);
	ks_buf_appendstr(&b, ":\"");
	ks_buf_append(&b, b64, blen);
	ks_buf_appendstr(&b, "\"}}");
	explicit_bzero(b64, blen);
	free(b64);
	return ks_buf_detach(&b);
}
