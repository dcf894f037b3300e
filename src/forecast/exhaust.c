/* exhaust.c — capacity exhaustion from a Holt-Winters forecast (see exhaust.h).
 * The crossing of a path p (mean, upper or lower bound) is the first step j with p[j] ≥
 * limit; its time is interpolated between step j−1 (the last sample when j = 1) and j. */
#include "base/common.h"
#include "base/timeutil.h"
#include "forecast/events.h"
#include "forecast/exhaust.h"
#include "forecast/hw.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static struct fc_crossing first_crossing(const double *path, size_t h, double start,
					 double limit, const struct fc_exhaust_input *in)
{
	struct fc_crossing c = {0};
	double prev = start;
	for (size_t j = 0; j < h; j++) {
		if (path[j] >= limit) {
			double frac = 1;
			if (prev < limit && path[j] > prev)
				frac = (limit - prev) / (path[j] - prev);
			c.found = true;
			c.in_s = ((double)j + frac) * in->step_s;
			c.t = (double)in->t_last + c.in_s;
			return c;
		}
		prev = path[j];
	}
	return c;
}

static void describe(char *out, size_t len, const char *label, const struct fc_crossing *c)
{
	char when[32], age[32];
	if (!c->found) {
		snprintf(out, len, "%s: not within the horizon", label);
		return;
	}
	ks_time_format_rfc3339((int64_t)floor(c->t), when, sizeof when);
	ks_time_format_age((int64_t)ceil(c->in_s), age, sizeof age);
	snprintf(out, len, "%s %s (in %s)", label, when, age);
}

int fc_exhaust_predict(const struct fc_exhaust_input *in, struct fc_exhaust *out,
		       struct ks_err *err)
{
	memset(out, 0, sizeof *out);
	if (!(in->step_s > 0) || !(in->horizon_s > 0) || !isfinite(in->limit))
		return ks_err_set(err, KS_EINVAL,
				  "step, horizon must be positive and the limit finite");
	double level = in->level > 0 ? in->level : 0.95;
	double steps = ceil(in->horizon_s / in->step_s);
	if (steps > (double)FC_HW_MAX_HORIZON)
		return ks_err_set(err, KS_ETOOBIG, "horizon of %.0f steps exceeds the %zu limit",
				  steps, FC_HW_MAX_HORIZON);
	struct fc_hw_model m;
	struct fc_forecast f;
	int rc = fc_hw_fit(in->y, in->n, in->period, &m, err);
	if (rc)
		return rc;
	rc = fc_hw_forecast(&m, (size_t)steps, level, &f, err);
	if (rc)
		goto out;
	if (in->events)
		out->event_steps = fc_events_apply(in->events, in->ns, in->t_last, in->step_s, &f);
	double last = NAN;
	for (size_t i = in->n; i-- > 0;)
		if (!isnan(in->y[i])) {
			last = in->y[i];
			break;
		}
	out->level = level;
	out->sigma = m.sigma;
	out->seasonal = m.seasonal;
	out->already_over = last >= in->limit;
	out->mean = first_crossing(f.mean, f.h, last, in->limit, in);
	out->upper = first_crossing(f.hi, f.h, last, in->limit, in);
	out->lower = first_crossing(f.lo, f.h, last, in->limit, in);

	const char *what = in->what ? in->what : "usage";
	char a[96], b[96], c[96], hz[32], ev[96] = "";
	if (out->event_steps)
		snprintf(ev, sizeof ev, " Outside events scaled %zu of the %zu forecast steps.",
			 out->event_steps, f.h);
	ks_time_format_age((int64_t)in->horizon_s, hz, sizeof hz);
	if (out->already_over) {
		snprintf(out->statement, sizeof out->statement,
			 "%s is already at or above its limit %g (last sample %g)", what,
			 in->limit, last);
	} else if (!out->upper.found) {
		snprintf(out->statement, sizeof out->statement,
			 "%s is not forecast to reach its limit %g within %s, even at the upper "
			 "bound of the %g%% prediction interval (%s; one-step σ %.3g).%s",
			 what, in->limit, hz, level * 100, m.note, m.sigma, ev);
	} else {
		describe(a, sizeof a, "expected", &out->mean);
		describe(b, sizeof b, "earliest plausible", &out->upper);
		describe(c, sizeof c, "likely by", &out->lower);
		snprintf(out->statement, sizeof out->statement,
			 "%s is forecast to reach its limit %g: %s; %s (upper bound of the %g%% "
			 "interval); %s (lower bound). %s, α %.3f β %.4f γ %.3f, one-step σ %.3g.%s",
			 what, in->limit, a, b, level * 100, c, m.note, m.alpha, m.beta, m.gamma,
			 m.sigma, ev);
	}
out:
	fc_forecast_release(&f);
	fc_hw_release(&m);
	return rc;
}
