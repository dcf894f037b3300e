/* sim.h — the world simulator's core: nodes and the kubelets that run pods on them.
 *
 * The API server, scheduler and controllers are real (scripts/localcp.sh). The simulator
 * plays what a laptop lacks: machines. It registers Nodes shaped as EKS + Karpenter nodes
 * (labels, capacity and allocatable from the instance catalog), keeps them alive (Leases in
 * kube-node-lease, node status heartbeats), and acts as the kubelet of every pod the real
 * scheduler binds to them.
 *
 * Pod life cycle played by the kubelet (sim_kubelet.c):
 *
 *   bound (spec.nodeName is ours, no containerStatuses)
 *      └─ start_pod: status Running, conditions Initialized/ContainersReady/Ready/PodScheduled
 *         True, each container running (containerd ID, startedAt), pod IP from the node's
 *         range; Events Pulled, Created, Started as a kubelet writes them
 *         and the containers' first log lines (sim_kubelet_log_start, served by
 *         sim_serve_kubelet)
 *   deletionTimestamp set (delete, eviction, drain, scale down, GC)
 *      └─ finish_pod: after the grace period (compressed by the time scale) the pod is
 *         deleted with gracePeriodSeconds=0 and a UID precondition, as a kubelet does once
 *         its containers have stopped; when the pod is gone its logs are dropped
 *
 * Ownership: struct sim borrows the client and the catalog; sim_free deletes nothing in the
 * cluster (sim_remove_nodes does that, on request). */
#ifndef KS_SIM_SIM_H
#define KS_SIM_SIM_H

#include <stdbool.h>
#include <stdint.h>

#include "cost/catalog.h"
#include "kube/client.h"

struct ks_err;

struct sim_opts {
	double time_scale;         /* simulated seconds per real second; 0: 1 */
	const char *name_prefix;   /* node names "ip-10-…" get no prefix; tests use one */
	uint64_t seed;             /* node names, IDs and IPs derive from it */
	int kubelet_port;          /* sim_serve_kubelet's port on 127.0.0.1; 0: an ephemeral one */
};

struct sim_node_spec {
	const char *instance_type; /* in the catalog */
	const char *nodepool;      /* karpenter.sh/nodepool */
	const char *capacity_type; /* "on-demand" or "spot" */
	const char *zone;          /* "us-east-1a" */
	/* Optional (NULL: none), borrowed for the call: labels added to the well-known ones (a
	 * NodePool's template labels), annotations, and spec.taints (an array of Taints). */
	const cJSON *labels;
	const cJSON *annotations;
	const cJSON *taints;
};

struct sim;

int sim_new(struct kube_client *c, const struct cost_catalog *cat, const struct sim_opts *o,
	    struct sim **out, struct ks_err *err);
void sim_free(struct sim *s);
/* Register one node; its name goes to name_out when not NULL. */
int sim_add_node(struct sim *s, const struct sim_node_spec *spec, char *name_out,
		 size_t name_len, struct ks_err *err);
/* Serve the kubelets' HTTPS endpoint (kubelet_server.h: `kubectl logs` through the API
 * server) on 127.0.0.1 and advertise its port in the nodes' daemonEndpoints: call it before
 * sim_add_node. Without it nodes advertise 10250 and logs are not served. */
int sim_serve_kubelet(struct sim *s, struct ks_err *err);
/* Start the pod informer (call after adding nodes, or before: new nodes are picked up), and
 * the Karpenter provisioner when the cluster serves karpenter.sh/v1 NodePools. */
int sim_start(struct sim *s, struct ks_err *err);
/* One turn of the loop: watch events, pods to start or finish, leases and heartbeats, and the
 * Karpenter provisioner (sim/karpenter.h) when the NodePool CRD is served. */
void sim_step(struct sim *s, long timeout_ms);
/* Install (server-side apply) the Karpenter CRDs embedded from deploy/crds/ and wait until
 * they are Established; *installed (when not NULL) counts them. */
int sim_install_crds(struct sim *s, int *installed, struct ks_err *err);
/* Delete every node this simulator registered (and their Leases). */
int sim_remove_nodes(struct sim *s, struct ks_err *err);
/* Delete one of them (Node and Lease) and stop playing its kubelet; KS_ENOTFOUND when the
 * simulator did not register it. */
int sim_remove_node(struct sim *s, const char *name, struct ks_err *err);

/* Scenarios (scenario.h): play these (borrowed; they must outlive the simulator). vault may
 * be NULL when none of them writes to it. Call before sim_scenarios_stage. */
struct sim_scenario;
struct sim_vault;
void sim_use_scenarios(struct sim *s, struct sim_scenario **list, size_t n,
		       struct sim_vault *vault);
/* Set the stage: vault secrets, then Namespaces, then every other object (server-side apply,
 * field manager kswarm-sim). The timeline starts now. */
int sim_scenarios_stage(struct sim *s, struct ks_err *err);

struct sim_stats {
	int nodes;
	uint64_t pods_started, pods_finished, lease_renewals, status_updates, api_errors;
};
void sim_get_stats(const struct sim *s, struct sim_stats *out);

#endif
