/* logstore.h — the container logs of every simulated pod, as the kubelet serves them.
 *
 * A real kubelet reads a container's CRI log file (/var/log/pods/NS_POD_UID/C/N.log: one
 * "TIMESTAMP STREAM TAG TEXT" record a line) and keeps the file of the previous instance after
 * a restart, which is what `kubectl logs --previous` shows. This store keeps the same two
 * instances in memory, keyed by namespace/pod/container, each line with the real time it was
 * written (RFC 3339 with nanoseconds, fixed width, on output, as the kubelet's
 * RFC3339NanoFixed).
 *
 * Ceilings (a chatty crash loop cannot eat memory): each instance is a ring of at most
 * SIM_LOGS_MAX_LINES lines and SIM_LOGS_MAX_BYTES bytes of text; appending past either drops
 * the oldest lines, as log rotation would. One line longer than SIM_LOGS_MAX_LINE bytes keeps
 * its first SIM_LOGS_MAX_LINE bytes (the runtime would split it into partial records). The
 * number of pods is the cluster's; a pod's logs go when the pod does (sim_logs_drop_pod).
 *
 * Thread safety: every function takes the store's mutex; libmicrohttpd's thread renders while
 * the simulator's loop appends.
 * Ownership: the store copies every string it is given; sim_logs_render appends to the
 * caller's buffer. */
#ifndef KS_SIM_LOGSTORE_H
#define KS_SIM_LOGSTORE_H

#include <stdbool.h>
#include <stdint.h>

struct ks_buf;
struct ks_err;

#define SIM_LOGS_MAX_LINES 10000
#define SIM_LOGS_MAX_BYTES ((size_t)1 << 20)
#define SIM_LOGS_MAX_LINE 16384

struct sim_logs;

/* What the kubelet's PodLogOptions ask for (fields named after the query parameters). */
struct sim_logs_query {
	bool previous;       /* the instance before the last restart */
	bool timestamps;     /* prefix each line with "2026-11-21T10:00:02.123000000Z " */
	int64_t tail_lines;  /* the last N lines (0: none); -1: every line */
	int64_t limit_bytes; /* stop after this many bytes of output (mid-line); 0: no limit */
	int64_t since_ms;    /* skip lines written before this real time (Unix ms); 0: none */
};

struct sim_logs *sim_logs_new(void);
void sim_logs_free(struct sim_logs *l);
/* One line (or several: text is split at '\n'; a trailing newline adds no empty line) of the
 * container's current instance, written at real time real_ms (Unix ms). */
void sim_logs_append(struct sim_logs *l, const char *ns, const char *pod, const char *container,
		     int64_t real_ms, const char *line);
/* The container restarted: its current lines become the previous instance (the older
 * previous instance is gone) and the current one starts empty. */
void sim_logs_restart(struct sim_logs *l, const char *ns, const char *pod, const char *container);
/* Forget every container of the pod (the pod is gone, or a new pod takes its name). */
void sim_logs_drop_pod(struct sim_logs *l, const char *ns, const char *pod);
/* Append the lines q selects to out, as the kubelet writes them. Errors carry the kubelet's
 * own messages: KS_ENOTFOUND `pod "P" does not exist` and `container "C" not found in pod
 * "P"` (the kubelet answers 404), KS_EINVAL `previous terminated container "C" in pod "P" not
 * found` (400), KS_ETOOBIG when out's ceiling is reached (out keeps what fit). */
int sim_logs_render(struct sim_logs *l, const char *ns, const char *pod, const char *container,
		    const struct sim_logs_query *q, struct ks_buf *out, struct ks_err *err);

#endif
