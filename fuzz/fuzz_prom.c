/* fuzz_prom.c — libFuzzer target for prom_parse_response (the Prometheus API's JSON).
 * Beyond "no crash, no UB, no leak" it checks, aborting on a violation:
 *  - errors are KS_EINVAL or KS_ETOOBIG with a "prometheus: " message, and leave the result
 *    zeroed;
 *  - a success has a known result type, a scalar has exactly one series of one sample
 *    without labels, a vector one sample per series, sample times are finite, and every
 *    label is found by prom_series_label (the first of a repeated name). */
#include "base/common.h"
#include "metrics/prom.h"

#include <math.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct prom_result r;
	struct ks_err err = {0};
	int rc = prom_parse_response((const char *)data, size, 1 << 20, &r, &err);
	if (rc) {
		if ((rc != KS_EINVAL && rc != KS_ETOOBIG) || err.code != rc ||
		    strncmp(err.msg, "prometheus: ", 12) != 0 || r.series || r.nseries)
			abort();
		return 0;
	}
	if (r.type != PROM_VECTOR && r.type != PROM_MATRIX && r.type != PROM_SCALAR)
		abort();
	if (r.type == PROM_SCALAR &&
	    (r.nseries != 1 || r.series[0].nsamples != 1 || r.series[0].nlabels != 0))
		abort();
	for (size_t i = 0; i < r.nseries; i++) {
		const struct prom_series *s = &r.series[i];
		if (r.type == PROM_VECTOR && s->nsamples != 1)
			abort();
		for (size_t j = 0; j < s->nsamples; j++)
			if (!isfinite(s->samples[j].t))
				abort();
		for (size_t j = 0; j < s->nlabels; j++)
			if (!prom_series_label(s, s->labels[j].name))
				abort();
	}
	prom_result_free(&r);
	return 0;
}
