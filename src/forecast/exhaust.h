/* exhaust.h — when will a usage series reach its limit? (capacity exhaustion)
 * Given equally spaced samples of a usage (a NodePool's CPU in use, a node's memory) and the
 * limit it may not pass, fit the seasonal model (forecast/hw.h), forecast up to the horizon
 * and report the first time the forecast mean, the upper and the lower bound of its
 * prediction interval reach the limit (linear interpolation between steps), or that none
 * does within the horizon. The intervals are pointwise: the upper bound's crossing is "the
 * earliest time it is plausible", the mean's "the expected time", the lower bound's "by
 * then it is likely"; statement says so in a sentence with the model and its numbers.
 * Outside forecasts (a Black Friday at 3x) scale the forecast first, when given.
 * Ownership: everything is copied into the result; inputs are borrowed. */
#ifndef KS_FORECAST_EXHAUST_H
#define KS_FORECAST_EXHAUST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ks_err;
struct fc_events;

struct fc_exhaust_input {
	const double *y;   /* samples, NaN for gaps */
	size_t n;
	int64_t t_last;    /* Unix seconds of y[n-1] */
	double step_s;     /* seconds between samples (> 0) */
	size_t period;     /* samples per season (288 for a day at 5 min); 0: no season */
	double limit;      /* the capacity */
	double horizon_s;  /* how far ahead to look (> 0) */
	double level;      /* interval coverage, e.g. 0.95; 0 means 0.95 */
	const char *what;  /* for the statement: "NodePool default CPU"; NULL: "usage" */
	/* Outside forecasts (forecast/events.h) to scale the forecast by before looking for
	 * the crossings, and the namespace they are matched against; NULL: none. */
	const struct fc_events *events;
	const char *ns;
};

/* One crossing: found, when (Unix seconds, interpolated) and how far from t_last. */
struct fc_crossing {
	bool found;
	double t;
	double in_s;
};

struct fc_exhaust {
	bool already_over;         /* the last sample is at or above the limit */
	struct fc_crossing mean;   /* the expected crossing */
	struct fc_crossing upper;  /* the earliest plausible (upper bound of the interval) */
	struct fc_crossing lower;  /* the lower bound crosses: by then it is likely */
	double level;
	double sigma;              /* one-step residual σ of the model */
	bool seasonal;
	size_t event_steps;        /* forecast steps the outside events scaled */
	char statement[640];
};

int fc_exhaust_predict(const struct fc_exhaust_input *in, struct fc_exhaust *out,
		       struct ks_err *err);

#endif
