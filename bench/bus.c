/* bus.c — the cost of publishing on the bus (each message appended to SQLite in its own
 * transaction, then delivered), and of replaying the transcript.
 *   bus DB_PATH [--messages N] [--threads T]
 * DB_PATH is created (use a fresh path; ":memory:" measures without the disk). T threads
 * publish N messages in all (a proposal with a small body each) to 3 subscribers; prints one
 * JSON line: publish rate and per-message wall time, replay rate. */
#include "base/common.h"
#include "base/json.h"
#include "benchclock.h"
#include "store/store.h"
#include "swarm/bus.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

struct worker {
	struct bus *bus;
	int count;
};

static void count_cb(const struct swarm_msg *m, void *ctx)
{
	(*(long *)ctx)++;
}

static int replay_count_cb(const struct swarm_msg *m, void *ctx)
{
	(*(long *)ctx)++;
	return 0;
}

static void *publish(void *arg)
{
	struct worker *w = arg;
	for (int i = 0; i < w->count; i++) {
		struct swarm_msg m = {
			.type = SWARM_MSG_PROPOSAL,
			.cluster = "local",
			.from = "efficiency",
			.to = "orchestrator",
			.subject = {.kind = "Deployment", .namespace = "shop", .name = "cart"},
		};
		swarm_msg_set_text(&m, "Lower cart's CPU request from 2 to 500m: saves $%d/month.",
				   i % 97);
		m.body = cJSON_CreateObject();
		cJSON_AddStringToObject(m.body, "action", "rightsize");
		cJSON_AddStringToObject(m.body, "risk", "low");
		cJSON_AddNumberToObject(m.body, "confidence", 0.9);
		cJSON_AddNumberToObject(m.body, "savings_per_month", i % 97);
		struct ks_err err = {0};
		if (bus_publish(w->bus, &m, &err)) {
			fprintf(stderr, "publish: %s\n", err.msg);
			exit(1);
		}
		swarm_msg_release(&m);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: bus DB_PATH [--messages N] [--threads T]\n");
		return 2;
	}
	int n = 20000, threads = 1;
	for (int i = 2; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--messages") == 0)
			n = (int)strtol(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "--threads") == 0)
			threads = (int)strtol(argv[i + 1], NULL, 10);
	}
	if (n <= 0 || threads <= 0 || threads > 64) {
		fprintf(stderr, "bus: bad --messages or --threads\n");
		return 2;
	}
	struct ks_err err = {0};
	struct store *s;
	struct bus *b;
	if (store_open(argv[1], &s, &err) || bus_new(s, &b, &err)) {
		fprintf(stderr, "bus: %s\n", err.msg);
		return 1;
	}
	long delivered[3] = {0};
	for (int i = 0; i < 3; i++)
		bus_subscribe(b, NULL, count_cb, &delivered[i]);
	struct worker w[64];
	pthread_t tid[64];
	double t0 = bench_wall_ms();
	for (int i = 0; i < threads; i++) {
		w[i] = (struct worker){.bus = b, .count = n / threads + (i < n % threads)};
		pthread_create(&tid[i], NULL, publish, &w[i]);
	}
	for (int i = 0; i < threads; i++)
		pthread_join(tid[i], NULL);
	double publish_ms = bench_wall_ms() - t0;
	long replayed = 0;
	t0 = bench_wall_ms();
	if (bus_replay(b, 0, replay_count_cb, &replayed, &err)) {
		fprintf(stderr, "bus: replay: %s\n", err.msg);
		return 1;
	}
	double replay_ms = bench_wall_ms() - t0;
	printf("{\"bench\":\"bus\",\"db\":\"%s\",\"messages\":%d,\"threads\":%d,"
	       "\"delivered\":%ld,\"publish_ms\":%.1f,\"publish_per_s\":%.0f,"
	       "\"us_per_publish\":%.1f,"
	       "\"replayed\":%ld,\"replay_ms\":%.1f,\"replay_per_s\":%.0f,\"rss_kb\":%ld}\n",
	       argv[1], n, threads, delivered[0] + delivered[1] + delivered[2], publish_ms,
	       n / (publish_ms / 1e3), publish_ms * 1e3 / n, replayed, replay_ms,
	       replayed / (replay_ms / 1e3), bench_status_kb("VmHWM"));
	bus_free(b);
	store_close(s);
	return 0;
}
