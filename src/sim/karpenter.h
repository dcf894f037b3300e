/* karpenter.h — Karpenter's provisioning and disruption, played by the simulator against the
 * real API server and the real kube-scheduler, as Karpenter's kwok provider does.
 * The design (batching, bin-packing, pool order, spot preference, limits, consolidation,
 * drift, interruption, what is left out) is at the top of karpenter.c.
 *
 * Ownership: the provisioner's state hangs off struct sim (s->karp) and is freed by sim_free. */
#ifndef KS_SIM_KARPENTER_H
#define KS_SIM_KARPENTER_H

struct sim;
struct ks_err;

/* Start the NodePool informer when the cluster serves karpenter.sh/v1 NodePools (else the
 * provisioner stays off and this returns 0), and add the provisioner's handlers to the pod
 * informer, which must not be started yet. Called by sim_start. */
int sim_karpenter_start(struct sim *s, struct ks_err *err);
/* One turn: close a batch of pending pods and launch nodes for it, disrupt empty and drifted
 * nodes within their pool's budgets, drain, remove, patch NodePool status. Called by sim_step. */
void sim_karpenter_work(struct sim *s);
/* A spot interruption notice for node (NULL: a random spot node of this simulator): taint and
 * cordon it, evict its pods (PDBs honoured) until the 2-minute notice, compressed by the time
 * scale, runs out; then its remaining pods are deleted and the node removed. Replacement
 * capacity comes from the normal provisioning of the pods that become pending.
 * KS_ENOTFOUND: no such (or no) spot node; KS_EINVAL: not a spot node; KS_EUNSUPPORTED: the
 * provisioner is off. */
int sim_karpenter_interrupt(struct sim *s, const char *node, struct ks_err *err);
void sim_karpenter_free(struct sim *s);
/* Its NodePool informer (NULL when off), for sim_step's one poll of the connection. */
struct kube_informer *sim_karpenter_informer(struct sim *s);

#endif
