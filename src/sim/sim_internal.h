/* sim_internal.h — what the simulator's files (sim_node.c, sim_kubelet.c, sim_event.c,
 * karpenter.c, ...) share. Not for other modules. */
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
	struct kube_informer *secrets, *configmaps; /* what containers read at start */
	struct ks_map pod_rt;    /* "ns/name" -> struct pod_rt *: pods our kubelets run */
	struct ks_map timed;     /* "ns/name" -> 1: pods with a container transition due */
	struct ks_map event_series; /* an event's identity -> its first Event (sim_event.c) */
	int64_t next_timed_ms;
	struct sim_scenario_set *scenarios; /* NULL: none (every image exists, no faults) */
	struct ks_map work;      /* "ns/name" -> (void *)1: pods to look at */
	struct ks_map finishing; /* "ns/name" -> due time (real ms) as uintptr_t */
	int64_t next_lease_ms, next_status_ms;
	uint64_t rng;
	struct sim_clock clock;  /* simulated time (real ms is ks_time_now_ms) */
	int kubelet_port;        /* status.daemonEndpoints.kubeletEndpoint.Port of our nodes */
	struct sim_logs *logs;   /* every container's log lines (the kubelet server reads them) */
	struct sim_kubelet_server *kubelet_srv; /* NULL until sim_serve_kubelet */
	struct sim_stats st;
	unsigned long nodes_registered; /* ever: pod subnets are not reused */
	struct sim_karpenter *karp;     /* the provisioner (karpenter.c); NULL when off */
};

/* An Event about one object (sim_event.c). ns NULL or "" for cluster-scoped objects. */
struct sim_event {
	const char *kind, *ns, *name, *uid, *resource_version, *field_path;
	const char *reason, *message;
	const char *component, *host; /* source: "kubelet" and its node, "karpenter" */
	bool warning;
};
void sim_post_event(struct sim *s, const struct sim_event *ev);
/* Forget the event series (repeats aggregated into one Event's count). */
void sim_events_release(struct sim *s);
/* n-1 random hex digits and a NUL. */
void sim_rand_hex(struct sim *s, char *out, size_t n);

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
/* Create the pod informer with the kubelet's handlers (sim_start starts it, after the
 * provisioner added its own) and start the Secret and ConfigMap informers. */
int sim_kubelet_start(struct sim *s, struct ks_err *err);
/* A container of pod starts (init: an init container): write its first log lines. The one
 * place that says what a starting container prints; scenarios add their lines here (and call
 * sim_logs_restart when a container restarts). */
void sim_kubelet_log_start(struct sim *s, const cJSON *pod, const cJSON *container, bool init);
void sim_kubelet_stop(struct sim *s);
/* Containers waiting on config or an image retry now (the world changed). */
void sim_kubelet_retry_all(struct sim *s);
/* An image as containerd names it: "nginx" -> "docker.io/library/nginx:latest". */
void sim_image_reference(const char *image, char *out, size_t len);

/* What becomes of a container started now (sim_scenario.c): the scenario's rules evaluated
 * on the real objects (Secrets, the vault...) at each start, so a fix heals at the next one. */
struct sim_fate {
	int exit_code;          /* >= 0: exits with it exit_after_s after start; -1: keeps running */
	double exit_after_s;    /* simulated seconds */
	bool not_ready;         /* its readiness probe fails (when it has one) */
	char probe_message[256];/* "HTTP probe failed with statuscode: 503" */
	const char *const *log; /* lines it logs when it starts (borrowed from the scenario) */
	size_t n_log;
};
void sim_fate_for(struct sim *s, const cJSON *pod, const char *container, struct sim_fate *out);
/* Whether the scenarios' registry serves the image (true when no scenario names one). */
bool sim_image_available(struct sim *s, const char *image);

/* The scenario's curve for this container, when one sets it (keeps out->seed). */
bool sim_usage_override(const struct sim *s, const cJSON *pod, const char *container,
			struct sim_usage_curve *out);
/* Timeline actions whose time has come (sim_scenario.c). */
void sim_scenarios_tick(struct sim *s);
void sim_scenarios_release(struct sim *s);

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
