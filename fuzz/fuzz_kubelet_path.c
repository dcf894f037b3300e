/* fuzz_kubelet_path.c — libFuzzer target for the simulated kubelet's request parser
 * (sim_kubelet_parse: percent-decoding, path segments, PodLogOptions from the query) and
 * the log rendering it drives. The first byte picks the method ('P' POST, 'D' DELETE, else
 * GET); the rest is the raw URI, inputs past SIM_KUBELET_MAX_URI + 16 bytes are skipped.
 * Beyond "no crash, no UB, no leak" it checks, aborting on a violation:
 *  - an error carries one of the kubelet's statuses (400, 404, 405, 414, 422) and a body;
 *  - a parsed log request names three non-empty printable-ASCII segments within
 *    SIM_KUBELET_MAX_NAME, and its options are in range (tail >= -1, limit >= 0, since >= 0);
 *  - rendering from a small store answers 0 or the kubelet's not-found / no-previous codes,
 *    and never more bytes than limitBytes. */
#include "base/common.h"
#include "sim/kubelet_server.h"

#include <string.h>

#define NOW_MS 1795255200000LL

static struct sim_logs *store(void)
{
	static struct sim_logs *l;
	if (!l) {
		l = sim_logs_new();
		for (int i = 0; i < 20; i++)
			sim_logs_append(l, "ns", "p", "c", NOW_MS - 60000 + i * 5000,
					"a line\nand another");
		sim_logs_restart(l, "ns", "p", "c");
		sim_logs_append(l, "ns", "p", "c", NOW_MS, "current");
		sim_logs_append(l, "ns", "p", "side", NOW_MS, "side car");
	}
	return l;
}

static bool printable(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > SIM_KUBELET_MAX_NAME)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x21 || s[i] > 0x7e)
			return false;
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > SIM_KUBELET_MAX_URI + 16)
		return 0;
	const char *method = data[0] == 'P' ? "POST" : data[0] == 'D' ? "DELETE" : "GET";
	char *uri = ks_strndup((const char *)data + 1, size - 1);
	struct sim_kubelet_req r;
	struct ks_err err = {0};
	int rc = sim_kubelet_parse(method, uri, NOW_MS, &r, &err);
	free(uri);
	if (rc) {
		int st = err.http_status;
		if ((st != 400 && st != 404 && st != 405 && st != 414 && st != 422) || !err.msg[0])
			abort();
		return 0;
	}
	if (r.route != SIM_KUBELET_LOGS)
		return 0;
	if (!printable(r.ns) || !printable(r.pod) || !printable(r.container))
		abort();
	if (r.q.tail_lines < -1 || r.q.limit_bytes < 0 || r.q.since_ms < 0)
		abort();
	struct ks_buf out;
	ks_buf_init(&out, 1u << 20);
	rc = sim_logs_render(store(), r.ns, r.pod, r.container, &r.q, &out, &err);
	if (rc && rc != KS_ENOTFOUND && rc != KS_EINVAL)
		abort();
	if (r.q.limit_bytes > 0 && out.len > (size_t)r.q.limit_bytes)
		abort();
	ks_buf_release(&out);
	return 0;
}
