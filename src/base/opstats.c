/* opstats.c — process-wide call counters and latency histograms (opstats.h). */
#include "base/common.h"
#include "base/opstats.h"

#include <pthread.h>
#include <string.h>

const double ks_opstats_bounds[KS_OPSTATS_NBOUNDS] = {0.005, 0.01, 0.05, 0.1, 0.25, 0.5,
						      1,     2.5,  5,    15,  60,   300};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static uint64_t ops[KS_OP_COUNT];
static struct {
	uint64_t counts[KS_OPSTATS_NBOUNDS + 1];
	double sum;
} hists[KS_HIST_COUNT];

const char *ks_op_kube_verb(enum ks_op op)
{
	static const char *const names[] = {"get",    "list",  "watch",  "create",
					    "update", "patch", "delete", "other"};
	return op <= KS_OP_KUBE_OTHER ? names[op] : "?";
}

void ks_op_count(enum ks_op op)
{
	if (op >= KS_OP_COUNT)
		return;
	pthread_mutex_lock(&mu);
	ops[op]++;
	pthread_mutex_unlock(&mu);
}

uint64_t ks_op_get(enum ks_op op)
{
	pthread_mutex_lock(&mu);
	uint64_t v = op < KS_OP_COUNT ? ops[op] : 0;
	pthread_mutex_unlock(&mu);
	return v;
}

void ks_hist_observe(enum ks_hist_id h, double seconds)
{
	if (h >= KS_HIST_COUNT)
		return;
	size_t b = 0;
	while (b < KS_OPSTATS_NBOUNDS && seconds > ks_opstats_bounds[b])
		b++;
	pthread_mutex_lock(&mu);
	hists[h].counts[b]++;
	hists[h].sum += seconds;
	pthread_mutex_unlock(&mu);
}

void ks_hist_get(enum ks_hist_id h, uint64_t *counts, double *sum)
{
	pthread_mutex_lock(&mu);
	memcpy(counts, hists[h < KS_HIST_COUNT ? h : 0].counts, sizeof hists[0].counts);
	*sum = h < KS_HIST_COUNT ? hists[h].sum : 0;
	pthread_mutex_unlock(&mu);
}

void ks_opstats_reset(void)
{
	pthread_mutex_lock(&mu);
	memset(ops, 0, sizeof ops);
	memset(hists, 0, sizeof hists);
	pthread_mutex_unlock(&mu);
}
