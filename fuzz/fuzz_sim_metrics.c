/* fuzz_sim_metrics.c — libFuzzer target for the simulator's metrics: the objects a render
 * reads from the API server (pods, nodes, Services), the --metrics-listen address and the
 * --backfill durations. The first byte picks the input: 0 an address, 1 a duration, else a
 * JSON object {"pods":[…],"nodes":[…],"services":[…]} (at most 1 MiB) rendered twice (counters
 * must not go back) and backfilled over an hour. Beyond "no crash, no UB, no leak" it aborts
 * when: an error is not KS_EINVAL with a message; an accepted address is not loopback or its
 * port is out of range; an accepted duration is not in (0, 10 years]; a successful render
 * leaves an empty buffer or one not ending in a newline; sim_time_seconds is missing. */
#include "base/common.h"
#include "base/hashmap.h"
#include "base/json.h"
#include "sim/sim_metrics.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#define MAX_INPUT ((size_t)1 << 20)

static void curve(void *ctx, const cJSON *pod, const char *container,
		  struct sim_usage_curve *out)
{
	(void)ctx;
	(void)pod;
	uint64_t h = ks_hash(container, strlen(container));
	*out = (struct sim_usage_curve){.base_cpu_m = (double)(h % 2000), .base_mem_mib =
					(double)(h % 4096), .daily_amp = 0.3, .peak_hour = 14,
					.noise = 0.1, .seed = h};
}

static void check_error(int rc, const struct ks_err *e)
{
	if (rc != KS_EINVAL || e->msg[0] == '\0')
		abort();
}

static void fuzz_world(const char *s, size_t n)
{
	cJSON *j = ks_json_parse(s, n, MAX_INPUT, NULL);
	if (!j)
		return;
	struct sim_metrics_world *w = sim_metrics_world_new(curve, NULL);
	static const char *const keys[] = {"pods", "nodes", "services"};
	void (*add[])(struct sim_metrics_world *, const cJSON *) = {
		sim_metrics_world_add_pod, sim_metrics_world_add_node,
		sim_metrics_world_add_service};
	for (size_t k = 0; k < 3; k++) {
		const cJSON *arr = cJSON_GetObjectItemCaseSensitive(j, keys[k]), *o;
		if (!cJSON_IsArray(arr))
			continue;
		cJSON_ArrayForEach(o, arr)
			add[k](w, o);
	}
	struct sim_metrics *m = sim_metrics_new();
	struct ks_buf b;
	ks_buf_init(&b, SIM_METRICS_MAX_BYTES);
	struct ks_err e = {0};
	const int64_t t0 = 1763733600;
	for (int round = 0; round < 2; round++) {
		ks_buf_reset(&b);
		int rc = sim_metrics_render(m, w, t0 + round * 600, &b, &e);
		if (rc) {
			check_error(rc, &e);
			continue;
		}
		if (b.len == 0 || b.data[b.len - 1] != '\n' || !strstr(b.data, "\nsim_time_seconds "))
			abort();
	}
	FILE *f = fopen("/dev/null", "w");
	if (f) {
		int rc = sim_metrics_backfill_write(w, t0 - 3600, t0, 600, f, NULL, NULL, &e);
		if (rc && rc != KS_EIO)
			check_error(rc, &e);
		fclose(f);
	}
	ks_buf_release(&b);
	sim_metrics_free(m);
	sim_metrics_world_free(w);
	cJSON_Delete(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0 || size > MAX_INPUT)
		return 0;
	char *s = ks_malloc(size);
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	struct ks_err e = {0};
	if (data[0] == 0) {
		uint32_t ip;
		uint16_t port;
		int rc = sim_metrics_parse_listen(s, &ip, &port, &e);
		if (rc)
			check_error(rc, &e);
		else if ((ntohl(ip) >> 24) != 127)
			abort();
	} else if (data[0] == 1) {
		int64_t d;
		int rc = sim_metrics_parse_duration(s, &d, &e);
		if (rc)
			check_error(rc, &e);
		else if (d <= 0 || d > (int64_t)3650 * 86400)
			abort();
	} else {
		fuzz_world(s, size - 1);
	}
	free(s);
	return 0;
}
