/* anomaly.c — robust residual flagging against the Holt-Winters model (see anomaly.h).
 * The flagging is fc_hw_filter_robust: the model's recursion, with a sample whose one-step
 * residual exceeds the threshold kept out of the states. The σ floor (see
 * FC_ANOMALY_SIGMA_FLOOR) keeps a near-noiseless series from flagging the model's own small
 * systematic errors. */
#include "base/common.h"
#include "forecast/anomaly.h"
#include "forecast/hw.h"

#include <math.h>
#include <string.h>

int fc_anomaly_detect(const double *y, size_t n, size_t period, double k,
		      struct fc_anomaly_result *out, struct ks_err *err)
{
	memset(out, 0, sizeof *out);
	if (!(k >= 0) || !isfinite(k))
		return ks_err_set(err, KS_EINVAL, "threshold %g is not a non-negative number", k);
	out->k = k > 0 ? k : 4.0;
	struct fc_hw_model fit;
	int rc = fc_hw_fit(y, n, period, &fit, err);
	if (rc)
		return rc;
	double *resid = ks_calloc(n, sizeof(double));
	double *expected = ks_calloc(n, sizeof(double));
	double *clean = ks_calloc(n, sizeof(double));
	bool *flagged = ks_calloc(n, sizeof(bool));
	double scale = 0;
	size_t finite = 0;
	for (size_t t = 0; t < n; t++) {
		resid[t] = isnan(y[t]) ? NAN : y[t] - fit.fitted[t];
		if (!isnan(y[t])) {
			scale += fabs(y[t]);
			finite++;
		}
	}
	double mean_abs = finite ? scale / (double)finite : 0;
	double floor_sigma = FC_ANOMALY_SIGMA_FLOOR * mean_abs + 1e-300;
	out->sigma = fmax(fc_robust_sigma(resid, n), floor_sigma);
	size_t nflag = fc_hw_filter_robust(&fit, y, n, out->k * out->sigma, expected, flagged);
	if (nflag > 0) {
		/* Refit without the flagged samples, then flag again with the new model. */
		for (size_t t = 0; t < n; t++)
			clean[t] = flagged[t] ? NAN : y[t];
		struct fc_hw_model refit;
		if (fc_hw_fit(clean, n, period, &refit, NULL) == 0) {
			for (size_t t = 0; t < n; t++)
				resid[t] = isnan(clean[t]) ? NAN : clean[t] - refit.fitted[t];
			out->sigma = fmax(fc_robust_sigma(resid, n), floor_sigma);
			fc_hw_filter_robust(&refit, y, n, out->k * out->sigma, expected, flagged);
			fc_hw_release(&fit);
			fit = refit;
		}
	}
	out->seasonal = fit.seasonal;
	size_t cap = 0;
	for (size_t t = 0; t < n; t++) {
		if (!flagged[t])
			continue;
		int sign = y[t] > expected[t] ? 1 : -1;
		struct fc_anomaly *a = out->n ? &out->items[out->n - 1] : NULL;
		if (!a || a->end + 1 != t || a->sign != sign) {
			if (out->n == cap) {
				cap = cap ? 2 * cap : 8;
				out->items = ks_realloc(out->items, cap * sizeof *out->items);
			}
			a = &out->items[out->n++];
			*a = (struct fc_anomaly){.start = t, .sign = sign};
		}
		double r = fabs(y[t] - expected[t]) / out->sigma;
		a->end = t;
		a->observed_sum += y[t];
		a->expected_sum += expected[t];
		a->size = a->observed_sum - a->expected_sum;
		if (r > a->peak_sigmas) {
			a->peak_sigmas = r;
			a->peak_observed = y[t];
			a->peak_expected = expected[t];
		}
		a->ongoing = t == n - 1;
	}
	free(resid);
	free(expected);
	free(clean);
	free(flagged);
	fc_hw_release(&fit);
	return 0;
}

void fc_anomaly_result_release(struct fc_anomaly_result *r)
{
	if (!r)
		return;
	free(r->items);
	memset(r, 0, sizeof *r);
}
