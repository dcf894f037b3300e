/* logstore.c — container logs in memory (see logstore.h for the model and the ceilings).
 * Layout: a map "ns/pod" -> struct pod_logs, an array of containers, each with two
 * instances (current, previous). An instance is a ring of lines that grows (doubling) up to
 * SIM_LOGS_MAX_LINES slots, then overwrites its oldest line; the byte ceiling evicts from
 * the same end. Rendering walks the ring from the first line the tail asks for, as the
 * kubelet seeks back N lines in the file and then filters by time and cuts at the byte
 * limit. */
#include "base/common.h"
#include "base/hashmap.h"
#include "base/timeutil.h"
#include "sim/logstore.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

struct log_line {
	int64_t ms;
	char *text; /* without the newline */
	size_t len;
};

struct instance {
	struct log_line *ring;
	size_t cap, head, n; /* the oldest line is ring[head] */
	size_t bytes;        /* text bytes held */
};

struct container_logs {
	char *name;
	struct instance cur, prev;
	bool has_prev;
};

struct pod_logs {
	struct container_logs *c;
	size_t n, cap;
};

struct sim_logs {
	pthread_mutex_t mu;
	struct ks_map pods; /* "ns/pod" -> struct pod_logs * */
};

static void instance_release(struct instance *in)
{
	for (size_t i = 0; i < in->n; i++)
		free(in->ring[(in->head + i) % in->cap].text);
	free(in->ring);
	memset(in, 0, sizeof *in);
}

static void drop_oldest(struct instance *in)
{
	struct log_line *l = &in->ring[in->head];
	in->bytes -= l->len;
	free(l->text);
	l->text = NULL;
	in->head = (in->head + 1) % in->cap;
	in->n--;
}

static void instance_push(struct instance *in, int64_t ms, const char *text, size_t len)
{
	if (len > SIM_LOGS_MAX_LINE)
		len = SIM_LOGS_MAX_LINE;
	while (in->n && in->bytes + len > SIM_LOGS_MAX_BYTES)
		drop_oldest(in);
	if (in->n == in->cap) {
		if (in->cap < SIM_LOGS_MAX_LINES) {
			/* Grow, putting the lines in order from slot 0. */
			size_t cap = in->cap ? in->cap * 2 : 16;
			if (cap > SIM_LOGS_MAX_LINES)
				cap = SIM_LOGS_MAX_LINES;
			struct log_line *r = ks_calloc(cap, sizeof *r);
			for (size_t i = 0; i < in->n; i++)
				r[i] = in->ring[(in->head + i) % in->cap];
			free(in->ring);
			in->ring = r;
			in->cap = cap;
			in->head = 0;
		} else {
			drop_oldest(in);
		}
	}
	struct log_line *l = &in->ring[(in->head + in->n) % in->cap];
	l->ms = ms;
	l->text = ks_strndup(text, len);
	l->len = len;
	in->n++;
	in->bytes += len;
}

static char *pod_key(const char *ns, const char *pod)
{
	return ks_asprintf("%s/%s", ns, pod);
}

static void pod_free(struct pod_logs *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++) {
		instance_release(&p->c[i].cur);
		instance_release(&p->c[i].prev);
		free(p->c[i].name);
	}
	free(p->c);
	free(p);
}

static struct container_logs *find_container(struct pod_logs *p, const char *name)
{
	for (size_t i = 0; p && i < p->n; i++)
		if (strcmp(p->c[i].name, name) == 0)
			return &p->c[i];
	return NULL;
}

/* The container's logs, created when missing. Called with the mutex held. */
static struct container_logs *get_container(struct sim_logs *l, const char *ns, const char *pod,
					    const char *container)
{
	char *key = pod_key(ns, pod);
	struct pod_logs *p = ks_map_get(&l->pods, key);
	if (!p) {
		p = ks_calloc(1, sizeof *p);
		ks_map_put(&l->pods, key, p);
	}
	free(key);
	struct container_logs *c = find_container(p, container);
	if (!c) {
		p->c = ks_grow(p->c, sizeof *p->c, p->n + 1, &p->cap);
		c = &p->c[p->n++];
		memset(c, 0, sizeof *c);
		c->name = ks_strdup(container);
	}
	return c;
}

struct sim_logs *sim_logs_new(void)
{
	struct sim_logs *l = ks_calloc(1, sizeof *l);
	pthread_mutex_init(&l->mu, NULL);
	ks_map_init(&l->pods);
	return l;
}

void sim_logs_free(struct sim_logs *l)
{
	if (!l)
		return;
	const char *k;
	void *v;
	for (size_t i = 0; ks_map_next(&l->pods, &i, &k, &v);)
		pod_free(v);
	ks_map_release(&l->pods);
	pthread_mutex_destroy(&l->mu);
	free(l);
}

void sim_logs_append(struct sim_logs *l, const char *ns, const char *pod, const char *container,
		     int64_t real_ms, const char *line)
{
	pthread_mutex_lock(&l->mu);
	struct container_logs *c = get_container(l, ns, pod, container);
	const char *p = line;
	for (;;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		if (!nl && len == 0 && p != line)
			break; /* the trailing newline ended the last line */
		instance_push(&c->cur, real_ms, p, len);
		if (!nl)
			break;
		p = nl + 1;
	}
	pthread_mutex_unlock(&l->mu);
}

void sim_logs_restart(struct sim_logs *l, const char *ns, const char *pod, const char *container)
{
	pthread_mutex_lock(&l->mu);
	struct container_logs *c = get_container(l, ns, pod, container);
	instance_release(&c->prev);
	c->prev = c->cur;
	memset(&c->cur, 0, sizeof c->cur);
	c->has_prev = true;
	pthread_mutex_unlock(&l->mu);
}

void sim_logs_drop_pod(struct sim_logs *l, const char *ns, const char *pod)
{
	char *key = pod_key(ns, pod);
	pthread_mutex_lock(&l->mu);
	pod_free(ks_map_del(&l->pods, key));
	pthread_mutex_unlock(&l->mu);
	free(key);
}

/* A name as the kubelet's messages quote it (Go's %q; JSON's escaping agrees with it on
 * every printable name). Names longer than the buffer are cut. */
static void quote(char *out, size_t n, const char *s)
{
	struct ks_buf b;
	ks_buf_init(&b, KS_BUF_UNLIMITED);
	ks_buf_append_json_string_go(&b, s, false);
	snprintf(out, n, "%s", b.data);
	ks_buf_release(&b);
}

static int append_line(struct ks_buf *out, const struct log_line *ln, bool timestamps,
		       int64_t *remain)
{
	char ts[48] = "";
	size_t tslen = 0;
	if (timestamps) {
		/* RFC3339NanoFixed: nine fraction digits (ours are milliseconds). */
		int64_t s = ln->ms >= 0 ? ln->ms / 1000 : -((-ln->ms + 999) / 1000);
		char base[32];
		ks_time_format_rfc3339(s, base, sizeof base);
		size_t bl = strlen(base);
		if (bl && base[bl - 1] == 'Z')
			base[bl - 1] = '\0';
		snprintf(ts, sizeof ts, "%s.%03d000000Z ", base, (int)(ln->ms - s * 1000));
		tslen = strlen(ts);
	}
	const char *parts[3] = {ts, ln->text, "\n"};
	size_t lens[3] = {tslen, ln->len, 1};
	for (int i = 0; i < 3; i++) {
		size_t n = lens[i];
		if (*remain >= 0 && (int64_t)n > *remain)
			n = (size_t)*remain;
		if (n && ks_buf_append(out, parts[i], n))
			return KS_ETOOBIG;
		if (*remain >= 0)
			*remain -= (int64_t)n;
	}
	return 0;
}

int sim_logs_render(struct sim_logs *l, const char *ns, const char *pod, const char *container,
		    const struct sim_logs_query *q, struct ks_buf *out, struct ks_err *err)
{
	int rc = 0;
	char *key = pod_key(ns, pod);
	pthread_mutex_lock(&l->mu);
	struct pod_logs *p = ks_map_get(&l->pods, key);
	struct container_logs *c = find_container(p, container);
	char qc[600], qp[600];
	quote(qc, sizeof qc, container);
	quote(qp, sizeof qp, pod);
	if (!p) {
		rc = ks_err_set(err, KS_ENOTFOUND, "pod %s does not exist", qp);
		goto out;
	}
	if (!c) {
		rc = ks_err_set(err, KS_ENOTFOUND, "container %s not found in pod %s", qc, qp);
		goto out;
	}
	if (q->previous && !c->has_prev) {
		rc = ks_err_set(err, KS_EINVAL,
				"previous terminated container %s in pod %s not found", qc, qp);
		goto out;
	}
	const struct instance *in = q->previous ? &c->prev : &c->cur;
	size_t first = 0;
	if (q->tail_lines >= 0 && (uint64_t)q->tail_lines < in->n)
		first = in->n - (size_t)q->tail_lines;
	int64_t remain = q->limit_bytes > 0 ? q->limit_bytes : -1;
	for (size_t i = first; i < in->n && remain != 0; i++) {
		const struct log_line *ln = &in->ring[(in->head + i) % in->cap];
		if (q->since_ms && ln->ms < q->since_ms)
			continue;
		if (append_line(out, ln, q->timestamps, &remain)) {
			rc = ks_err_set(err, KS_ETOOBIG, "logs of container %s in pod %s/%s: more "
					"than %zu bytes", container, ns, pod, out->max);
			break;
		}
	}
out:
	pthread_mutex_unlock(&l->mu);
	free(key);
	return rc;
}
