/* clikube.h — what the commands that talk to a cluster share: the connection flags
 * (--kubeconfig, --context, -n/--namespace, -A), connecting, and kubectl-style output. */
#ifndef KS_CLI_CLIKUBE_H
#define KS_CLI_CLIKUBE_H

#include <stdbool.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "kube/connect.h"
#include "kube/discovery.h"

struct cli_kube_flags {
	const char *kubeconfig;
	const char *context;
	const char *namespace;
	bool all_namespaces;
	int verbose;
	double qps; /* client-side rate limit; 0: the HTTP layer's default (50/s, burst 100) */
	int burst;
};

/* If argv[*i] is one of the connection flags, consume it (and its value) and return 1;
 * return -1 on a missing value (message printed), else 0. */
int cli_kube_flag(struct cli_kube_flags *f, int argc, char **argv, int *i, const char *cmd);
/* Connect; prints the error and returns non-zero on failure. */
int cli_kube_connect(const struct cli_kube_flags *f, struct kube_client *c);
/* The namespace to use: -n, else the context's. */
const char *cli_kube_namespace(const struct cli_kube_flags *f, const struct kube_client *c);

struct world;
/* Load w from snapshot when it is not NULL, else from the cluster (one LIST+WATCH per kind,
 * namespace ns or all; progress on a terminal), connecting c (*connected: close it after).
 * Errors are printed as "kswarm CMD: ...". 0, or -1. */
int cli_load_world(const struct cli_kube_flags *f, const char *snapshot, const char *ns,
		   const char *cmd, struct world *w, struct kube_client *c, bool *connected);

/* Print a meta.k8s.io Table as kubectl's tabwriter does (padding 3, minimum width 6),
 * with a NAMESPACE column first when with_namespace, the priority>0 columns when wide,
 * the header unless no_headers, and name_prefix ("deployment.apps/") before the first
 * column's cells when not NULL. Returns the number of rows printed. */
int cli_print_table(FILE *out, const cJSON *table, bool with_namespace, bool wide,
		    bool no_headers, const char *name_prefix);

#endif
