/* sim_internal.h — what sim_node.c and sim_kubelet.c share. Not for other modules. */
#ifndef KS_SIM_INTERNAL_H
#define KS_SIM_INTERNAL_H

#include "base/hashmap.h"
#include "kube/informer.h"
#include "sim/kubelet_server.h"
#include "sim/logstore.h"
#include "sim/sim.h"
#include "sim/usage.h"

struct sim_metrics;

struct sim_node {
	char name[96];
	char uid[64];
	char ip[20];          /* the node's (simulated) private address */
	unsigned pod_ip_next; /* pod addresses: 10.<a>.<b>.<next> */
	unsigned subnet_a, subnet_b;
	const struct cost_instance_type *type;
	char nodepool[64], capacity_type[16], zone[32];
};

struct sim {
	struct kube_client *c;
	const struct cost_catalog *cat;
	struct sim_opts o;
	struct sim_node *nodes;
	size_t n_nodes, cap_nodes;
	struct ks_map node_by_name; /* name -> struct sim_node * (index + 1) */
	struct kube_informer *pods; /* every pod in the cluster (bound or not) */
	struct kube_informer *services;      /* every Service (for the metrics) */
	struct kube_informer *cluster_nodes; /* every Node, ours or not (for the metrics) */
	struct sim_metrics *metrics;         /* NULL unless sim_metrics_listen was called */
	struct ks_map work;      /* "ns/name" -> (void *)1: pods to look at */
	struct ks_map finishing; /* "ns/name" -> due time (real ms) as uintptr_t */
	int64_t next_lease_ms, next_status_ms;
	uint64_t rng;
	struct sim_clock clock;  /* simulated time (real ms is ks_time_now_ms) */
	int kubelet_port;        /* status.daemonEndpoints.kubeletEndpoint.Port of our nodes */
	struct sim_logs *logs;   /* every container's log lines (the kubelet server reads them) */
	struct sim_kubelet_server *kubelet_srv; /* NULL until sim_serve_kubelet */
	struct sim_stats st;
};

uint64_t sim_rand(struct sim *s);
/* "2026-11-21T10:00:02Z" and the MicroTime form, of the current (real) time. */
void sim_now(char *out, size_t len);
void sim_now_micro(char *out, size_t len);
struct sim_node *sim_node_find(struct sim *s, const char *name);
/* Fire-and-forget write: errors are counted and logged. body is copied. */
void sim_send(struct sim *s, const char *method, const char *path, const char *content_type,
	      const char *body);
/* Leases every 10 s, node status every 60 s (real time: the node lifecycle controller
 * judges liveness on real time whatever the simulation's time scale). */
void sim_nodes_heartbeat(struct sim *s);
/* The kubelet: handle pods queued by the informer handlers. */
void sim_kubelet_work(struct sim *s);
int sim_kubelet_start(struct sim *s, struct ks_err *err);
/* A container of pod starts (init: an init container): write its first log lines. The one
 * place that says what a starting container prints; scenarios add their lines here (and call
 * sim_logs_restart when a container restarts). */
void sim_kubelet_log_start(struct sim *s, const cJSON *pod, const cJSON *container, bool init);
/* The current simulated time, in Unix seconds. */
int64_t sim_time_now(const struct sim *s);
/* The usage curve of one container of a pod (sim_workload.c): the scenario's curve for its
 * workload when one is set, else a default derived from the container's requests. Replicas
 * of one workload share the curve's shape and differ in their noise (the seed). */
void sim_usage_for(const struct sim *s, const cJSON *pod, const char *container,
		   struct sim_usage_curve *out);
/* The workload a pod belongs to: "Deployment/web" (ReplicaSet owner with the
 * pod-template-hash stripped), "StatefulSet/db", ..., or "Pod/NAME" when it has no owner. */
void sim_pod_workload(const cJSON *pod, char *out, size_t len);

#endif
