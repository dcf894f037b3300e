/* connect.c — glue between kube/kubeconfig + kube/auth and kube/http. */
#include "base/common.h"
#include "kube/auth.h"
#include "kube/connect.h"

#include <string.h>

/* The credential of the request being started; curl copies the blobs, so the previous one
 * can be released at the next call. */
struct cred_holder {
	struct kube_config *cfg;
	struct kube_credential cred;
};

static int get_cred(void *ctx, struct kube_http_cred *out, struct ks_err *err)
{
	struct cred_holder *h = ctx;
	kube_credential_release(&h->cred);
	int rc = kube_auth_get(h->cfg, &h->cred, err);
	if (rc)
		return rc;
	out->token = h->cred.token;
	out->basic_user = h->cred.username;
	out->basic_pass = h->cred.password;
	out->cert_pem = h->cred.cert.data;
	out->cert_len = h->cred.cert.len;
	out->key_pem = h->cred.key.data;
	out->key_len = h->cred.key.len;
	return 0;
}

static void invalidate_cred(void *ctx)
{
	struct cred_holder *h = ctx;
	kube_auth_invalidate(h->cfg);
}

struct connected {
	struct kube_config cfg;
	struct cred_holder holder;
};

int kube_client_connect(const struct kube_connect_opts *o, struct kube_client *c,
			struct ks_err *err)
{
	memset(c, 0, sizeof *c);
	struct connected *k = ks_calloc(1, sizeof *k);
	int rc = kube_config_load(&o->config, &k->cfg, err);
	if (rc) {
		kube_config_release(&k->cfg);
		free(k);
		return rc;
	}
	k->holder.cfg = &k->cfg;
	struct kube_http_opts ho = {
		.server = k->cfg.server,
		.tls_server_name = k->cfg.tls_server_name,
		.ca_pem = k->cfg.ca.data,
		.ca_len = k->cfg.ca.len,
		.insecure = k->cfg.insecure_skip_tls_verify,
		.proxy_url = k->cfg.proxy_url,
		.no_compression = k->cfg.disable_compression,
		.qps = o->qps,
		.burst = o->burst,
		.timeout_ms = o->timeout_ms,
		.get_cred = get_cred,
		.invalidate_cred = invalidate_cred,
		.cred_ctx = &k->holder,
	};
	rc = kube_http_new(&ho, &c->http, err);
	if (rc) {
		ks_err_wrap(err, "context '%s'", k->cfg.context_name ? k->cfg.context_name : "in-cluster");
		kube_config_release(&k->cfg);
		free(k);
		return rc;
	}
	c->namespace = ks_strdup(k->cfg.namespace);
	c->context = ks_strdup(k->cfg.context_name ? k->cfg.context_name : "in-cluster");
	c->config = k;
	return 0;
}

void kube_client_close(struct kube_client *c)
{
	struct connected *k = c->config;
	kube_client_release(c);
	if (k) {
		kube_credential_release(&k->holder.cred);
		kube_config_release(&k->cfg);
		free(k);
	}
	c->config = NULL;
}
