/* connect.h — a kube_client from a kubeconfig (or the in-cluster config).
 * Ownership: the client owns the loaded kube_config; kube_client_close frees both. */
#ifndef KS_KUBE_CONNECT_H
#define KS_KUBE_CONNECT_H

#include "kube/client.h"
#include "kube/kubeconfig.h"

struct kube_connect_opts {
	struct kube_config_opts config;
	double qps;    /* 0: the http layer's default */
	int burst;
	long timeout_ms;
};

int kube_client_connect(const struct kube_connect_opts *o, struct kube_client *c,
			struct ks_err *err);
void kube_client_close(struct kube_client *c);

#endif
