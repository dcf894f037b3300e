/* kubelet_server.h — the HTTPS endpoint of the simulated kubelets, for `kubectl logs`.
 *
 * The API server reaches a node's kubelet at status.addresses (InternalIP 127.0.0.1 for our
 * nodes) and status.daemonEndpoints.kubeletEndpoint.Port, over TLS without verifying the
 * kubelet's certificate (scripts/localcp.sh gives it no --kubelet-certificate-authority).
 * Every simulated node lives in one process, so one listener serves them all (pod names are
 * unique in a namespace). It answers as the v1.20 kubelet's server (pkg/kubelet/server):
 *
 *   GET /containerLogs/NS/POD/CONTAINER?previous=&timestamps=&tailLines=&limitBytes=
 *       &sinceSeconds=&sinceTime=&follow=&tail=
 *       200 text/plain, the lines (logstore.h renders them)
 *       400 {"message": "Missing podID."} (also container name, podNamespace) for an empty
 *           segment; {"message": "Unable to decode query."} for a value that does not parse
 *       422 {"message": "Invalid request."} when PodLogOptions validation fails (tailLines
 *           < 0, limitBytes < 1, sinceSeconds < 1, both sinceSeconds and sinceTime)
 *       404 pod "P" does not exist / container "C" not found in pod "P"
 *       400 previous terminated container "C" in pod "P" not found
 *   GET /healthz                      200 "ok"
 *   other methods on /containerLogs/  405 "405: Method Not Allowed"
 *   other paths                       404 "404 page not found" (Go's ServeMux), or
 *                                     "404: Page Not Found" under /containerLogs/ (go-restful)
 *
 * follow=true sends what the store holds and ends the response: the simulator writes its
 * lines when a container starts, so a stream would have nothing more to say (deviation: a
 * real kubelet keeps the connection open). Like Go's server, the path is percent-decoded
 * before it is split, so "%2F" inside a name makes another segment. Deviations: names must
 * be printable ASCII (else 400 "400 Bad Request"); the URI is at most SIM_KUBELET_MAX_URI
 * bytes (414), a query at most SIM_KUBELET_MAX_PARAMS parameters (400 as undecodable).
 *
 * TLS: a self-signed ECDSA P-256 certificate made in memory at start (GnuTLS), CN
 * "kswarm-sim-kubelet", SAN IP 127.0.0.1, valid one year.
 * Ownership: the server borrows the log store, which must outlive it. */
#ifndef KS_SIM_KUBELET_SERVER_H
#define KS_SIM_KUBELET_SERVER_H

#include <stdint.h>

#include "sim/logstore.h"

struct ks_err;

#define SIM_KUBELET_MAX_URI 8192
#define SIM_KUBELET_MAX_NAME 253
#define SIM_KUBELET_MAX_PARAMS 64

struct sim_kubelet_server;

/* Listen on addr ("127.0.0.1:0": an ephemeral port; only IPv4 literals) and serve logs from
 * logs. *port_out gets the port. */
int sim_kubelet_server_start(struct sim_logs *logs, const char *addr,
			     struct sim_kubelet_server **out, int *port_out, struct ks_err *err);
/* Stop serving (waits for requests in flight) and free. NULL is fine. */
void sim_kubelet_server_stop(struct sim_kubelet_server *ks);
/* The serving certificate (PEM), e.g. for a client that pins it. */
const char *sim_kubelet_server_cert_pem(const struct sim_kubelet_server *ks);

enum sim_kubelet_route { SIM_KUBELET_LOGS, SIM_KUBELET_HEALTHZ };

struct sim_kubelet_req {
	enum sim_kubelet_route route;
	char ns[SIM_KUBELET_MAX_NAME + 1], pod[SIM_KUBELET_MAX_NAME + 1],
		container[SIM_KUBELET_MAX_NAME + 1];
	struct sim_logs_query q;
	bool follow;
};

/* Parse a request line's method and raw URI (path and query, still percent-encoded) at real
 * time now_ms (sinceSeconds is relative to it). 0 with *out filled, or a negative code with
 * err->http_status and err->msg the status and body to answer with. Pure: no I/O, no state. */
int sim_kubelet_parse(const char *method, const char *uri, int64_t now_ms,
		      struct sim_kubelet_req *out, struct ks_err *err);

#endif
