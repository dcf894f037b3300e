/* sse_fanout.c — the live stream's fan-out: N SSE clients on loopback, M messages published
 * on the bus, delivery latency (publish -> the client has parsed the frame) and CPU.
 *   sse_fanout [--clients N] [--messages M] [--rate R] [--text BYTES] [--threads T]
 * Defaults: 1000 clients, 1000 messages, 200 messages/s (0: as fast as the bus takes them),
 * a 200-byte text, 2 server threads. The server runs in this process with an in-memory store
 * (":memory:", so SQLite's fsync is not what is measured; bench/bus measures that). The
 * clients are plain sockets read by one epoll thread. CPU: the process's, and the server's
 * alone (the process's minus the client thread's). Prints one JSON line. */
#include "base/common.h"
#include "benchclock.h"
#include "server/server.h"
#include "server/sse.h"
#include "store/store.h"
#include "swarm/bus.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct client {
	int fd;
	struct ks_buf in;
	bool headers_done;
	int seen;
};

static int nclients = 1000, nmessages = 1000, rate = 200, text_len = 200, threads = 2;
static double *pub_ms;    /* [seq]: publish time */
static double *latencies; /* clients * messages */
static atomic_long nlat;
static atomic_int done_clients;
static double reader_cpu_ms;

static double thread_cpu_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void client_frames(struct client *c, double now)
{
	if (!c->headers_done) {
		char *end = strstr(c->in.data, "\r\n\r\n");
		if (!end)
			return;
		c->headers_done = true;
		ks_buf_consume(&c->in, (size_t)(end + 4 - c->in.data));
	}
	char *end;
	while (c->in.len && (end = strstr(c->in.data, "\n\n"))) {
		if (!strncmp(c->in.data, "id: ", 4)) {
			long seq = strtol(c->in.data + 4, NULL, 10);
			if (seq >= 1 && seq <= nmessages) {
				latencies[atomic_fetch_add(&nlat, 1)] = now - pub_ms[seq];
				if (++c->seen == nmessages)
					atomic_fetch_add(&done_clients, 1);
			}
		}
		ks_buf_consume(&c->in, (size_t)(end + 2 - c->in.data));
	}
}

static void *reader(void *arg)
{
	struct client *cs = arg;
	int ep = epoll_create1(0);
	for (int i = 0; i < nclients; i++) {
		struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
		epoll_ctl(ep, EPOLL_CTL_ADD, cs[i].fd, &ev);
	}
	struct epoll_event evs[256];
	char buf[65536];
	double idle_since = bench_wall_ms();
	while (atomic_load(&done_clients) < nclients && bench_wall_ms() - idle_since < 10000) {
		int n = epoll_wait(ep, evs, 256, 100);
		if (n > 0)
			idle_since = bench_wall_ms();
		for (int k = 0; k < n; k++) {
			struct client *c = &cs[evs[k].data.u32];
			ssize_t r = recv(c->fd, buf, sizeof buf, 0);
			if (r <= 0) {
				epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
				continue;
			}
			ks_buf_append(&c->in, buf, (size_t)r);
			client_frames(c, bench_wall_ms());
		}
	}
	close(ep);
	reader_cpu_ms = thread_cpu_ms();
	return NULL;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double pct(const double *v, long n, double p)
{
	if (n == 0)
		return 0;
	long i = (long)(p * (double)(n - 1) + 0.5);
	return v[i];
}

int main(int argc, char **argv)
{
	for (int i = 1; i + 1 < argc; i += 2) {
		int v = (int)strtol(argv[i + 1], NULL, 10);
		if (!strcmp(argv[i], "--clients"))
			nclients = v;
		else if (!strcmp(argv[i], "--messages"))
			nmessages = v;
		else if (!strcmp(argv[i], "--rate"))
			rate = v;
		else if (!strcmp(argv[i], "--text"))
			text_len = v;
		else if (!strcmp(argv[i], "--threads"))
			threads = v;
		else {
			fprintf(stderr, "usage: sse_fanout [--clients N] [--messages M] [--rate R] "
					"[--text BYTES] [--threads T]\n");
			return 2;
		}
	}
	ks_log_set_level(KS_LOG_WARN);
	struct ks_err err = {0};
	struct store *st;
	struct bus *bus;
	struct server *srv;
	if (store_open(":memory:", &st, &err) || bus_new(st, &bus, &err)) {
		fprintf(stderr, "sse_fanout: %s\n", err.msg);
		return 1;
	}
	struct server_opts o = {.listen = "127.0.0.1:0", .threads = threads,
				.max_stream_clients = nclients + 10, .bus = bus, .store = st};
	if (server_start(&o, &srv, &err)) {
		fprintf(stderr, "sse_fanout: %s\n", err.msg);
		return 1;
	}
	int port = (int)strtol(strrchr(server_address(srv), ':') + 1, NULL, 10);
	pub_ms = ks_calloc((size_t)nmessages + 1, sizeof *pub_ms);
	latencies = ks_calloc((size_t)nclients * (size_t)nmessages, sizeof *latencies);
	struct client *cs = ks_calloc((size_t)nclients, sizeof *cs);
	static const char req[] = "GET /api/v1/stream HTTP/1.0\r\nHost: x\r\n\r\n";
	for (int i = 0; i < nclients; i++) {
		ks_buf_init(&cs[i].in, KS_BUF_UNLIMITED);
		cs[i].fd = socket(AF_INET, SOCK_STREAM, 0);
		struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if (connect(cs[i].fd, (struct sockaddr *)&a, sizeof a) ||
		    send(cs[i].fd, req, sizeof req - 1, 0) != (ssize_t)(sizeof req - 1)) {
			perror("sse_fanout: connect");
			return 1;
		}
	}
	/* Wait until every client is attached. */
	struct sse_hub_stats hs;
	double t0 = bench_wall_ms();
	do {
		usleep(10000);
		sse_hub_get_stats(server_sse_hub(srv), &hs);
	} while (hs.clients < nclients && bench_wall_ms() - t0 < 30000);
	if (hs.clients < nclients) {
		fprintf(stderr, "sse_fanout: only %d of %d clients attached\n", hs.clients,
			nclients);
		return 1;
	}
	pthread_t rt;
	pthread_create(&rt, NULL, reader, cs);
	char *text = ks_malloc((size_t)text_len + 1);
	memset(text, 'x', (size_t)text_len);
	text[text_len] = '\0';
	double cpu0 = bench_cpu_ms(), wall0 = bench_wall_ms();
	for (int i = 1; i <= nmessages; i++) {
		if (rate > 0) {
			double due = wall0 + (i - 1) * 1000.0 / rate;
			double now = bench_wall_ms();
			if (due > now)
				usleep((useconds_t)((due - now) * 1000));
		}
		struct swarm_msg m = {.type = SWARM_MSG_OBSERVATION, .cluster = "local",
				      .from = "cost",
				      .subject = {.kind = "Deployment", .namespace = "shop",
						  .name = "web"}};
		swarm_msg_set_text(&m, "%s", text);
		pub_ms[i] = bench_wall_ms();
		if (bus_publish(bus, &m, &err)) {
			fprintf(stderr, "sse_fanout: publish: %s\n", err.msg);
			return 1;
		}
		swarm_msg_release(&m);
	}
	double pub_wall = bench_wall_ms() - wall0;
	pthread_join(rt, NULL);
	double wall = bench_wall_ms() - wall0;
	double cpu = bench_cpu_ms() - cpu0;
	long n = atomic_load(&nlat);
	qsort(latencies, (size_t)n, sizeof *latencies, cmp_double);
	sse_hub_get_stats(server_sse_hub(srv), &hs);
	printf("{\"bench\":\"sse_fanout\",\"clients\":%d,\"messages\":%d,\"rate\":%d,"
	       "\"text_bytes\":%d,\"server_threads\":%d,\"delivered\":%ld,\"expected\":%ld,"
	       "\"dropped_clients\":%llu,\"latency_ms\":{\"p50\":%.2f,\"p90\":%.2f,\"p99\":%.2f,"
	       "\"max\":%.2f},\"publish_s\":%.2f,\"wall_s\":%.2f,\"cpu_s\":%.2f,"
	       "\"server_cpu_s\":%.2f,\"frames_per_s\":%.0f}\n",
	       nclients, nmessages, rate, text_len, threads, n, (long)nclients * nmessages,
	       (unsigned long long)hs.dropped, pct(latencies, n, 0.5), pct(latencies, n, 0.9),
	       pct(latencies, n, 0.99), n ? latencies[n - 1] : 0, pub_wall / 1e3, wall / 1e3,
	       cpu / 1e3, (cpu - reader_cpu_ms) / 1e3, (double)n / (wall / 1e3));
	for (int i = 0; i < nclients; i++) {
		close(cs[i].fd);
		ks_buf_release(&cs[i].in);
	}
	server_stop(srv);
	bus_free(bus);
	store_close(st);
	free(cs);
	free(text);
	free(latencies);
	free(pub_ms);
	return n == (long)nclients * nmessages ? 0 : 1;
}
