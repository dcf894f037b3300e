/* hw.c — additive Holt-Winters: initialisation, the filter, the parameter search, forecasts.
 * The filter runs in error-correction form (docs/FORECAST.md gives both forms):
 *   ŷ[t] = l + b + s[t mod m];  e = y[t] − ŷ[t]  (e = 0 at a gap: the states coast)
 *   l ← l + b + α·e;  b ← b + α·β*·e;  s[t mod m] ← s[t mod m] + γ·e
 * The season is a ring of m values indexed by the time's phase, so s[t mod m] read before
 * the update is s[t−m]. The parameter search works in the unit cube u ∈ [0,1]^3 with
 * α = 0.001 + 0.998·u0, β* = u1, γ = u2·(1 − α) (the usual admissible region), so every
 * point Nelder-Mead tries is admissible after clamping u. Ownership: see hw.h. */
#include "base/common.h"
#include "forecast/hw.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define ALPHA_MIN 0.001
#define ALPHA_SPAN 0.998
#define NM_MAX_EVALS 400
#define NM_TOL_F 1e-10
#define NM_TOL_X 1e-5

/* Starting states: level and trend as of the time just before y[0], and the season ring. */
struct hw_init {
	double level, trend;
};

static double *dup_doubles(const double *v, size_t n)
{
	double *d = ks_malloc(n * sizeof *d);
	memcpy(d, v, n * sizeof *d);
	return d;
}

static int check_input(const double *y, size_t n, size_t *n_finite, struct ks_err *err)
{
	if (n > FC_HW_MAX_POINTS)
		return ks_err_set(err, KS_ETOOBIG, "series of %zu samples exceeds the %zu limit", n,
				  FC_HW_MAX_POINTS);
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (isinf(y[i]))
			return ks_err_set(err, KS_EINVAL, "sample %zu is infinite", i);
		if (!isnan(y[i]))
			k++;
	}
	if (k < 3)
		return ks_err_set(err, KS_EINVAL,
				  "series has %zu samples that are not gaps; at least 3 are needed",
				  k);
	*n_finite = k;
	return 0;
}

/* Holt: the line through the first two samples. */
static void init_holt(const double *y, size_t n, struct hw_init *in)
{
	size_t i0 = 0, i1;
	while (isnan(y[i0]))
		i0++;
	i1 = i0 + 1;
	while (i1 < n && isnan(y[i1]))
		i1++;
	in->trend = (y[i1] - y[i0]) / (double)(i1 - i0);
	in->level = y[i0] - in->trend * (double)(i0 + 1);
}

/* Mean of the samples of season k and the mean of their times; false when all are gaps. */
static bool season_mean(const double *y, size_t m, size_t k, double *mean, double *center)
{
	double sum = 0, tsum = 0;
	size_t c = 0;
	for (size_t j = 0; j < m; j++) {
		double v = y[k * m + j];
		if (isnan(v))
			continue;
		sum += v;
		tsum += (double)(k * m + j);
		c++;
	}
	if (c == 0)
		return false;
	*mean = sum / (double)c;
	*center = tsum / (double)c;
	return true;
}

/* Seasonal: a least-squares line through the means of the first `seasons` seasons (those
 * not all gaps) gives level and trend; the season is the average deviation from that line
 * in each phase, centred to sum to zero. More seasons than two make the starting season
 * less noisy, so the fit does not need a large γ to repair it. */
static int init_seasonal(const double *y, size_t m, size_t seasons, struct hw_init *in,
			 double *season, struct ks_err *err)
{
	double sx = 0, sy = 0, sxx = 0, sxy = 0;
	size_t k_used = 0;
	for (size_t k = 0; k < seasons; k++) {
		double mean, center;
		if (!season_mean(y, m, k, &mean, &center)) {
			if (k < 2)
				return ks_err_set(err, KS_EINVAL,
						  "one of the first two seasons (%zu samples each) "
						  "is all gaps",
						  m);
			continue;
		}
		sx += center;
		sy += mean;
		sxx += center * center;
		sxy += center * mean;
		k_used++;
	}
	double kd = (double)k_used, b = (kd * sxy - sx * sy) / (kd * sxx - sx * sx);
	double a = (sy - b * sx) / kd; /* the line a + b·t */
	/* Twice: the season from the line, then (since a gap at a peak biases its season's
	 * mean) the line again by least squares over the deseasonalised samples, and the
	 * season from that line. */
	for (int pass = 0; pass < 2; pass++) {
		double total = 0;
		for (size_t j = 0; j < m; j++) {
			double sum = 0;
			int c = 0;
			for (size_t k = 0; k < seasons; k++) {
				double v = y[k * m + j];
				if (isnan(v))
					continue;
				sum += v - (a + b * (double)(k * m + j));
				c++;
			}
			season[j] = c ? sum / c : 0;
			total += season[j];
		}
		for (size_t j = 0; j < m; j++)
			season[j] -= total / (double)m;
		if (pass == 1)
			break;
		double n_pts = 0;
		sx = sy = sxx = sxy = 0;
		for (size_t t = 0; t < seasons * m; t++) {
			if (isnan(y[t]))
				continue;
			double x = (double)t, v = y[t] - season[t % m];
			sx += x;
			sy += v;
			sxx += x * x;
			sxy += x * v;
			n_pts++;
		}
		b = (n_pts * sxy - sx * sy) / (n_pts * sxx - sx * sx);
		a = (sy - b * sx) / n_pts;
	}
	in->trend = b;
	in->level = a - b;
	return 0;
}

/* Run the filter; returns the SSE. season (m entries, or none when m == 0) is updated in
 * place; fitted, when not NULL, receives the one-step predictions. A residual larger than
 * reject (INFINITY: none) is kept out of the states and the SSE, and marked in rejected. */
static double filter(const double *y, size_t n, size_t m, double alpha, double beta,
		     double gamma, const struct hw_init *in, double *season, double *fitted,
		     double *level_out, double *trend_out, double reject, bool *rejected)
{
	double l = in->level, b = in->trend, sse = 0;
	size_t phase = 0;
	for (size_t t = 0; t < n; t++) {
		double s = m ? season[phase] : 0;
		double pred = l + b + s;
		if (fitted)
			fitted[t] = pred;
		double e = isnan(y[t]) ? 0 : y[t] - pred;
		if (rejected) {
			rejected[t] = fabs(e) > reject;
			if (rejected[t])
				e = 0;
		}
		sse += e * e;
		l = l + b + alpha * e;
		b = b + beta * e;
		if (m) {
			season[phase] = s + gamma * e;
			if (++phase == m)
				phase = 0;
		}
	}
	*level_out = l;
	*trend_out = b;
	return sse;
}

struct fit_ctx {
	const double *y;
	size_t n, m;
	struct hw_init init;
	const double *season0;
	double *season; /* scratch */
	int evals;
};

static double clamp01(double v)
{
	return v < 0 ? 0 : v > 1 ? 1 : v;
}

static void params_of(const double *u, bool seasonal, struct fc_hw_params *p)
{
	p->alpha = ALPHA_MIN + ALPHA_SPAN * clamp01(u[0]);
	p->beta_star = clamp01(u[1]);
	p->gamma = seasonal ? clamp01(u[2]) * (1 - p->alpha) : 0;
}

static double objective(struct fit_ctx *c, const double *u)
{
	struct fc_hw_params p;
	double l, b;
	params_of(u, c->m > 0, &p);
	if (c->m)
		memcpy(c->season, c->season0, c->m * sizeof *c->season);
	c->evals++;
	return filter(c->y, c->n, c->m, p.alpha, p.alpha * p.beta_star, p.gamma, &c->init,
		      c->season, NULL, &l, &b, INFINITY, NULL);
}

/* Nelder-Mead (reflection 1, expansion 2, contraction 0.5, shrink 0.5) in dim ≤ 3, from u. */
static void nelder_mead(struct fit_ctx *c, int dim, double *u, double *fu)
{
	double x[4][3], f[4];
	for (int i = 0; i <= dim; i++) {
		memcpy(x[i], u, sizeof x[i]);
		if (i > 0)
			x[i][i - 1] += u[i - 1] > 0.5 ? -0.1 : 0.1;
		f[i] = i == 0 ? *fu : objective(c, x[i]);
	}
	while (c->evals < NM_MAX_EVALS) {
		/* order: best first (insertion sort; dim + 1 ≤ 4 points) */
		for (int i = 1; i <= dim; i++)
			for (int j = i; j > 0 && f[j] < f[j - 1]; j--) {
				double tf = f[j], tx[3];
				memcpy(tx, x[j], sizeof tx);
				f[j] = f[j - 1];
				memcpy(x[j], x[j - 1], sizeof tx);
				f[j - 1] = tf;
				memcpy(x[j - 1], tx, sizeof tx);
			}
		double size = 0;
		for (int i = 1; i <= dim; i++)
			for (int d = 0; d < dim; d++)
				size = fmax(size, fabs(x[i][d] - x[0][d]));
		if (f[dim] - f[0] <= NM_TOL_F * (fabs(f[0]) + 1e-300) || size < NM_TOL_X)
			break;
		double cen[3] = {0}, xr[3], xe[3], xc[3];
		for (int i = 0; i < dim; i++)
			for (int d = 0; d < dim; d++)
				cen[d] += x[i][d] / dim;
		for (int d = 0; d < dim; d++)
			xr[d] = cen[d] + (cen[d] - x[dim][d]);
		double fr = objective(c, xr);
		if (fr < f[0]) {
			for (int d = 0; d < dim; d++)
				xe[d] = cen[d] + 2 * (cen[d] - x[dim][d]);
			double fe = objective(c, xe);
			memcpy(x[dim], fe < fr ? xe : xr, sizeof xr);
			f[dim] = fe < fr ? fe : fr;
		} else if (fr < f[dim - 1]) {
			memcpy(x[dim], xr, sizeof xr);
			f[dim] = fr;
		} else {
			bool outside = fr < f[dim];
			for (int d = 0; d < dim; d++)
				xc[d] = outside ? cen[d] + 0.5 * (xr[d] - cen[d])
						: cen[d] + 0.5 * (x[dim][d] - cen[d]);
			double fc = objective(c, xc);
			if (fc < (outside ? fr : f[dim])) {
				memcpy(x[dim], xc, sizeof xc);
				f[dim] = fc;
			} else {
				for (int i = 1; i <= dim; i++) {
					for (int d = 0; d < dim; d++)
						x[i][d] = x[0][d] + 0.5 * (x[i][d] - x[0][d]);
					f[i] = objective(c, x[i]);
				}
			}
		}
	}
	int best = 0;
	for (int i = 1; i <= dim; i++)
		if (f[i] < f[best])
			best = i;
	for (int d = 0; d < dim; d++)
		u[d] = clamp01(x[best][d]);
	*fu = f[best];
}

/* Set up the model's shape and the starting states; model->season holds the initial ring. */
static int prepare(const double *y, size_t n, size_t period, struct fc_hw_model *model,
		   struct hw_init *in, struct ks_err *err)
{
	size_t n_finite = 0;
	memset(model, 0, sizeof *model);
	int rc = check_input(y, n, &n_finite, err);
	if (rc)
		return rc;
	if (period > FC_HW_MAX_PERIOD)
		return ks_err_set(err, KS_ETOOBIG, "season of %zu samples exceeds the %zu limit",
				  period, FC_HW_MAX_PERIOD);
	model->n = n;
	model->n_obs = n_finite;
	if (period >= 2 && n >= 2 * period) {
		model->seasonal = true;
		model->period = period;
		model->season = ks_calloc(period, sizeof *model->season);
		size_t seasons = n / period < FC_HW_INIT_SEASONS ? n / period : FC_HW_INIT_SEASONS;
		rc = init_seasonal(y, period, seasons, in, model->season, err);
		if (rc) {
			fc_hw_release(model);
			return rc;
		}
		snprintf(model->note, sizeof model->note, "Holt-Winters additive, period %zu",
			 period);
	} else {
		init_holt(y, n, in);
		if (period >= 2)
			snprintf(model->note, sizeof model->note,
				 "Holt linear (no season): %zu samples is less than two seasons of "
				 "%zu", n, period);
		else
			snprintf(model->note, sizeof model->note, "Holt linear (no season)");
	}
	model->fitted = ks_calloc(n, sizeof *model->fitted);
	return 0;
}

static void finish(const double *y, struct fc_hw_model *model, const struct hw_init *in,
		   const struct fc_hw_params *p)
{
	model->alpha = p->alpha;
	model->beta_star = p->beta_star;
	model->beta = p->alpha * p->beta_star;
	model->gamma = model->seasonal ? p->gamma : 0;
	model->level0 = in->level;
	model->trend0 = in->trend;
	if (model->seasonal)
		model->season0 = dup_doubles(model->season, model->period);
	model->sse = filter(y, model->n, model->period, model->alpha, model->beta, model->gamma,
			    in, model->season, model->fitted, &model->level, &model->trend,
			    INFINITY, NULL);
	size_t params = model->seasonal ? 3 : 2;
	size_t dof = model->n_obs > params ? model->n_obs - params : 1;
	model->sigma = sqrt(model->sse / (double)dof);
}

int fc_hw_run(const double *y, size_t n, size_t period, const struct fc_hw_params *p,
	      struct fc_hw_model *model, struct ks_err *err)
{
	struct hw_init in;
	int rc = prepare(y, n, period, model, &in, err);
	if (rc)
		return rc;
	struct fc_hw_params q = {
		.alpha = clamp01(p->alpha),
		.beta_star = clamp01(p->beta_star),
		.gamma = clamp01(p->gamma),
	};
	finish(y, model, &in, &q);
	model->evaluations = 1;
	return 0;
}

int fc_hw_fit(const double *y, size_t n, size_t period, struct fc_hw_model *model,
	      struct ks_err *err)
{
	struct hw_init in;
	int rc = prepare(y, n, period, model, &in, err);
	if (rc)
		return rc;
	struct fit_ctx c = {
		.y = y,
		.n = n,
		.m = model->period,
		.init = in,
		.season0 = model->season,
		.season = model->period ? ks_calloc(model->period, sizeof(double)) : NULL,
	};
	/* A coarse grid first: SSE surfaces of short noisy series have local minima. */
	static const double grid[] = {0.05, 0.3, 0.6, 0.9};
	const int dim = model->seasonal ? 3 : 2;
	const size_t g = KS_ARRAY_LEN(grid);
	double best[3] = {0}, fbest = INFINITY;
	for (size_t i = 0; i < g; i++)
		for (size_t j = 0; j < g; j++)
			for (size_t k = 0; k < (dim == 3 ? g : 1); k++) {
				double u[3] = {grid[i], grid[j], dim == 3 ? grid[k] : 0};
				double f = objective(&c, u);
				if (f < fbest) {
					fbest = f;
					memcpy(best, u, sizeof best);
				}
			}
	nelder_mead(&c, dim, best, &fbest);
	struct fc_hw_params p;
	params_of(best, model->seasonal, &p);
	model->evaluations = c.evals;
	free(c.season);
	finish(y, model, &in, &p);
	return 0;
}

void fc_hw_release(struct fc_hw_model *model)
{
	if (!model)
		return;
	free(model->season);
	free(model->season0);
	free(model->fitted);
	model->season = NULL;
	model->season0 = NULL;
	model->fitted = NULL;
}

size_t fc_hw_filter_robust(const struct fc_hw_model *model, const double *y, size_t n,
			   double threshold, double *expected, bool *rejected)
{
	const struct hw_init in = {.level = model->level0, .trend = model->trend0};
	double *season = model->seasonal
				 ? dup_doubles(model->season0, model->period)
				 : NULL;
	double l, b;
	filter(y, n, model->period, model->alpha, model->beta, model->gamma, &in, season,
	       expected, &l, &b, threshold, rejected);
	free(season);
	size_t count = 0;
	for (size_t t = 0; t < n; t++)
		count += rejected[t];
	return count;
}

int fc_hw_forecast(const struct fc_hw_model *model, size_t h, double level,
		   struct fc_forecast *out, struct ks_err *err)
{
	memset(out, 0, sizeof *out);
	if (h == 0 || h > FC_HW_MAX_HORIZON)
		return ks_err_set(err, KS_EINVAL, "horizon of %zu steps is outside 1..%zu", h,
				  FC_HW_MAX_HORIZON);
	if (!(level >= 0.5 && level < 1))
		return ks_err_set(err, KS_EINVAL, "interval level %g is outside [0.5, 1)", level);
	out->h = h;
	out->level = level;
	out->mean = ks_calloc(h, sizeof(double));
	out->lo = ks_calloc(h, sizeof(double));
	out->hi = ks_calloc(h, sizeof(double));
	out->sd = ks_calloc(h, sizeof(double));
	const double z = fc_normal_quantile_two_sided(level);
	const size_t m = model->period;
	/* σ_h² = σ²(1 + Σ_{j=1}^{h-1} c_j²), c_j = α + jβ + γ·[m divides j] (Hyndman et al.
	 * 2008, linear ETS); summed as h grows, so the whole forecast is O(h). */
	double csum = 0;
	for (size_t j = 1; j <= h; j++) {
		if (j >= 2) {
			size_t i = j - 1;
			double cj = model->alpha + (double)i * model->beta +
				    (m && i % m == 0 ? model->gamma : 0);
			csum += cj * cj;
		}
		double s = m ? model->season[(model->n - 1 + j) % m] : 0;
		double mean = model->level + (double)j * model->trend + s;
		double sd = model->sigma * sqrt(1 + csum);
		out->mean[j - 1] = mean;
		out->sd[j - 1] = sd;
		out->lo[j - 1] = mean - z * sd;
		out->hi[j - 1] = mean + z * sd;
	}
	return 0;
}

void fc_forecast_release(struct fc_forecast *f)
{
	if (!f)
		return;
	free(f->mean);
	free(f->lo);
	free(f->hi);
	free(f->sd);
	memset(f, 0, sizeof *f);
}

double fc_normal_quantile_two_sided(double level)
{
	/* P(|Z| <= z) = erf(z / √2), increasing in z: bisection to 1e-12 (deterministic). */
	if (!(level > 0))
		return 0;
	if (!(level < 1))
		return INFINITY;
	double lo = 0, hi = 40;
	for (int i = 0; i < 200 && hi - lo > 1e-12; i++) {
		double mid = (lo + hi) / 2;
		if (erf(mid / M_SQRT2) < level)
			lo = mid;
		else
			hi = mid;
	}
	return (lo + hi) / 2;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double median_sorted(const double *v, size_t k)
{
	return k % 2 ? v[k / 2] : (v[k / 2 - 1] + v[k / 2]) / 2;
}

double fc_robust_sigma(const double *x, size_t n)
{
	double *v = ks_calloc(n ? n : 1, sizeof(double));
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (isfinite(x[i]))
			v[k++] = x[i];
	double sigma = 0;
	if (k > 0) {
		qsort(v, k, sizeof *v, cmp_double);
		double med = median_sorted(v, k), mad_sum = 0;
		for (size_t i = 0; i < k; i++) {
			v[i] = fabs(v[i] - med);
			mad_sum += v[i];
		}
		qsort(v, k, sizeof *v, cmp_double);
		sigma = 1.4826 * median_sorted(v, k);
		if (sigma == 0)
			sigma = 1.2533 * mad_sum / (double)k;
	}
	free(v);
	return sigma;
}
