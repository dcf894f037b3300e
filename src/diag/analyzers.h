/* analyzers.h — the analyzer functions the registry (analyzers.c) lists; each is defined in
 * its src/diag/an_*.c file, which includes this header so the two cannot disagree. */
#ifndef KS_DIAG_ANALYZERS_H
#define KS_DIAG_ANALYZERS_H

#include "diag/diag.h"

void diag_an_pods(struct diag_ctx *cx);
void diag_an_deployments(struct diag_ctx *cx);
void diag_an_replicasets(struct diag_ctx *cx);
void diag_an_statefulsets(struct diag_ctx *cx);
void diag_an_daemonsets(struct diag_ctx *cx);
void diag_an_jobs(struct diag_ctx *cx);
void diag_an_cronjobs(struct diag_ctx *cx);
void diag_an_service(struct diag_ctx *cx);
void diag_an_ingress(struct diag_ctx *cx);
void diag_an_netpol(struct diag_ctx *cx);
void diag_an_gateway(struct diag_ctx *cx);
void diag_an_pvc(struct diag_ctx *cx);
void diag_an_pv(struct diag_ctx *cx);
void diag_an_storageclass(struct diag_ctx *cx);
void diag_an_node(struct diag_ctx *cx);
void diag_an_hpa(struct diag_ctx *cx);
void diag_an_pdb(struct diag_ctx *cx);
void diag_an_validating_webhook(struct diag_ctx *cx);
void diag_an_mutating_webhook(struct diag_ctx *cx);
void diag_an_configmap(struct diag_ctx *cx);
void diag_an_security(struct diag_ctx *cx);
void diag_an_schedule(struct diag_ctx *cx);
void diag_an_karpenter(struct diag_ctx *cx);
void diag_an_usage(struct diag_ctx *cx);

#endif
