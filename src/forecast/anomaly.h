/* anomaly.h — cost anomalies: runs of samples far from what the seasonal model expected.
 * Method (docs/FORECAST.md): fit Holt-Winters (forecast/hw.h) to the series; take the robust
 * σ of its one-step residuals (1.4826·MAD); re-run the filter with the fitted parameters,
 * treating every sample whose residual exceeds k·σ as a gap (flagged, and kept out of the
 * states, so a spike does not drag the level and the next samples are judged against the
 * seasonal expectation, not the spike); refit once on the series with the flagged samples as
 * gaps and flag again. Consecutive flagged samples of the same sign form one anomaly.
 * A step change that persists is reported as one anomaly running to the end of the series
 * (ongoing = true): for costs that is what one wants to hear about.
 * Ownership: fc_anomaly_detect allocates the array; the caller frees it with free(). */
#ifndef KS_FORECAST_ANOMALY_H
#define KS_FORECAST_ANOMALY_H

#include <stdbool.h>
#include <stddef.h>

struct ks_err;

/* σ is at least this fraction of the series' mean absolute value: with k = 4, a deviation of
 * under 0.4% of the level is never an anomaly. Without it a near-noiseless series (σ of
 * 0.004% of the level) flagged the model's own 0.2% misfits, and once flagged, a run never
 * ends (flagged samples do not feed the states). */
#define FC_ANOMALY_SIGMA_FLOOR 1e-3

struct fc_anomaly {
	size_t start, end;    /* sample indices, inclusive */
	bool ongoing;         /* runs to the last sample */
	int sign;             /* +1 above the expectation, -1 below */
	double observed_sum;  /* sum of the samples of the run */
	double expected_sum;  /* sum of the model's expectations for them */
	double size;          /* observed_sum − expected_sum */
	double peak_observed, peak_expected; /* at the sample of the largest |residual| */
	double peak_sigmas;   /* largest |residual| / σ */
};

struct fc_anomaly_result {
	struct fc_anomaly *items;
	size_t n;
	double sigma;   /* the robust σ the threshold used */
	double k;
	bool seasonal;  /* false: the series was too short for a season (Holt linear) */
};

/* k: the threshold in σ; 0 means 4 (on Gaussian noise, 3.5 σ would flag about one sample
 * in 2,150: one false alarm every week at 5-minute steps). period: samples per season. */
int fc_anomaly_detect(const double *y, size_t n, size_t period, double k,
		      struct fc_anomaly_result *out, struct ks_err *err);
void fc_anomaly_result_release(struct fc_anomaly_result *r);

#endif
