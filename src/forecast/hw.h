/* hw.h — additive Holt-Winters (level, trend, season of period m) for kswarm's forecasting.
 * A series is equally spaced samples y[0..n-1]; NaN marks a gap (no sample). fc_hw_fit
 * initialises the states from the first seasons (up to 4), fits the smoothing parameters by
 * minimising the one-step-ahead sum of squared errors (a coarse grid, then Nelder-Mead from
 * its best point: deterministic), and keeps the final states; fc_hw_forecast extends them
 * h steps with prediction intervals that widen with h (Hyndman's variance formulas for
 * ETS(A,A,A) and ETS(A,A,N)). Series shorter than two seasons (or period < 2) fall back to
 * Holt's linear method (no season) and say so in model->note. The equations are in
 * docs/FORECAST.md.
 * Ownership: a model owns its arrays (fc_hw_release frees them); a forecast owns its arrays
 * (fc_forecast_release). Inputs are borrowed, never kept. */
#ifndef KS_FORECAST_HW_H
#define KS_FORECAST_HW_H

#include <stdbool.h>
#include <stddef.h>

struct ks_err;

/* Longest series accepted (about 121 days at 10 s steps); longest season. */
#define FC_HW_MAX_POINTS ((size_t)1 << 20)
#define FC_HW_MAX_PERIOD ((size_t)1 << 16)
/* Seasons the initial states are estimated from (when the series has that many). */
#define FC_HW_INIT_SEASONS 4
/* Longest forecast horizon, in steps. */
#define FC_HW_MAX_HORIZON ((size_t)1 << 20)

struct fc_hw_model {
	bool seasonal;  /* false: Holt linear (too short a series, or period < 2) */
	size_t period;  /* m when seasonal, else 0 */
	/* Error-correction form (as Hyndman's ETS): beta = alpha * beta_star, the textbook
	 * trend smoothing parameter of the component form being beta_star. */
	double alpha, beta_star, beta, gamma;
	double level, trend; /* states after the last sample */
	double level0, trend0;/* the initial states (just before y[0]) */
	double *season0;     /* the initial season ring (period entries) */
	double *season;      /* period entries: season[t % period] is s for time t (ring) */
	size_t n;            /* samples fitted (gaps included) */
	size_t n_obs;        /* samples that were not NaN, i.e. one-step residuals summed */
	double sse;          /* one-step-ahead sum of squared errors at the fitted parameters */
	double sigma;        /* residual standard deviation: sqrt(sse / (n_obs - params)) */
	double *fitted;      /* n one-step-ahead predictions ŷ[t|t-1] */
	int evaluations;     /* SSE evaluations the fit took */
	char note[160];      /* "Holt-Winters, period 288" or why it fell back */
};

struct fc_forecast {
	size_t h;       /* steps */
	double level;   /* the interval's coverage, e.g. 0.95 */
	double *mean;   /* h entries: step 1 (the sample after the last) to h */
	double *lo, *hi;/* the prediction interval mean ± z·σ_h */
	double *sd;     /* σ_h */
};

/* Fixed parameters for fc_hw_run (values in [0, 1]). */
struct fc_hw_params {
	double alpha, beta_star, gamma;
};

/* Fit a model to y[0..n-1] (period m: samples per season; 0 or 1 for no season). Needs at
 * least 3 samples that are not NaN; the first two seasons need a sample each for the
 * seasonal model. Returns 0, KS_EINVAL (too short, all gaps, infinities) or KS_ETOOBIG. */
int fc_hw_fit(const double *y, size_t n, size_t period, struct fc_hw_model *model,
	      struct ks_err *err);
/* The same with the parameters given (no search): filter y through the model. */
int fc_hw_run(const double *y, size_t n, size_t period, const struct fc_hw_params *p,
	      struct fc_hw_model *model, struct ks_err *err);
void fc_hw_release(struct fc_hw_model *model);
/* Filter y (the series the model was fitted to, or one like it) from the model's initial
 * states with its parameters, but keep every sample whose one-step residual exceeds
 * threshold out of the states, as if it were a gap. expected[t] gets ŷ[t|t−1], rejected[t]
 * whether y[t] was kept out (both n entries). Returns how many were. */
size_t fc_hw_filter_robust(const struct fc_hw_model *model, const double *y, size_t n,
			   double threshold, double *expected, bool *rejected);

/* Forecast h steps past the last sample with a central prediction interval of coverage
 * level (0.5 <= level < 1, e.g. 0.95). */
int fc_hw_forecast(const struct fc_hw_model *model, size_t h, double level,
		   struct fc_forecast *out, struct ks_err *err);
void fc_forecast_release(struct fc_forecast *f);

/* z such that a standard normal lies in [-z, z] with probability level (0 < level < 1). */
double fc_normal_quantile_two_sided(double level);
/* Robust standard deviation of the finite values of x: 1.4826 * MAD; when the MAD is 0
 * (over half the values equal), the mean absolute deviation * 1.2533 instead. 0 when there
 * are no finite values. */
double fc_robust_sigma(const double *x, size_t n);

#endif
