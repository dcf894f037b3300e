/* scenario.c — parsing, validating and checking scenarios (the format is in scenario.h).
 * The YAML goes through kcyaml (line:column on syntax errors) into cJSON; every field is
 * validated once here so that the simulator's hot paths read plain structs. */
#include "base/common.h"
#include "base/buf.h"
#include "base/embed.h"
#include "base/json.h"
#include "base/timeutil.h"
#include "kube/apply.h"
#include "kube/kcyaml.h"
#include "sim/scenario.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SCENARIO_DIR "scenarios/"
#define MAX_ITEMS 4096

struct ctx {
	const char *source;
	struct ks_err *err;
};

static int bad(struct ctx *x, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int bad(struct ctx *x, const char *field, const char *fmt, ...)
{
	char what[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	return ks_err_set(x->err, KS_EINVAL, "%s: %s: %s", x->source, field, what);
}

static const char *opt_str(struct ctx *x, const cJSON *o, const char *key, const char *field,
			   int *rc)
{
	const cJSON *v = ks_json_child(o, key);
	if (!v || cJSON_IsNull(v))
		return NULL;
	if (!cJSON_IsString(v)) {
		char f[256];
		snprintf(f, sizeof f, "%s.%s", field, key);
		*rc = bad(x, f, "must be a string");
		return NULL;
	}
	return v->valuestring;
}

static const char *req_str(struct ctx *x, const cJSON *o, const char *key, const char *field,
			   int *rc)
{
	const char *s = opt_str(x, o, key, field, rc);
	if (!s && !*rc) {
		char f[256];
		snprintf(f, sizeof f, "%s.%s", field, key);
		*rc = bad(x, f, "is required");
	}
	return s;
}

static double opt_num(struct ctx *x, const cJSON *o, const char *key, const char *field,
		      double def, int *rc)
{
	const cJSON *v = ks_json_child(o, key);
	if (!v || cJSON_IsNull(v))
		return def;
	if (!cJSON_IsNumber(v)) {
		char f[256];
		snprintf(f, sizeof f, "%s.%s", field, key);
		*rc = bad(x, f, "must be a number");
		return def;
	}
	return v->valuedouble;
}

static double opt_duration(struct ctx *x, const cJSON *o, const char *key, const char *field,
			   double def, int *rc)
{
	const char *s = opt_str(x, o, key, field, rc);
	if (!s)
		return def;
	double d;
	struct ks_err e = {0};
	if (ks_parse_duration(s, &d, &e)) {
		char f[256];
		snprintf(f, sizeof f, "%s.%s", field, key);
		*rc = bad(x, f, "%s", e.msg);
		return def;
	}
	return d;
}

static const cJSON *opt_array(struct ctx *x, const cJSON *o, const char *key, const char *field,
			      int *rc)
{
	const cJSON *v = ks_json_child(o, key);
	if (!v || cJSON_IsNull(v))
		return NULL;
	if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) > MAX_ITEMS) {
		char f[256];
		snprintf(f, sizeof f, "%s%s%s", field, *field ? "." : "", key);
		*rc = bad(x, f, "must be a list (at most 4096 items)");
		return NULL;
	}
	return v;
}

static bool valid_name(const char *s)
{
	if (!*s || strlen(s) > 63)
		return false;
	for (const char *p = s; *p; p++)
		if (!(islower((unsigned char)*p) || isdigit((unsigned char)*p) || *p == '-'))
			return false;
	return true;
}

static int parse_usage(struct ctx *x, struct sim_scenario *sc)
{
	int rc = 0;
	const cJSON *arr = opt_array(x, sc->doc, "usage", "", &rc), *u;
	if (rc || !arr)
		return rc;
	sc->usage = ks_calloc((size_t)cJSON_GetArraySize(arr), sizeof *sc->usage);
	int i = 0;
	cJSON_ArrayForEach(u, arr)
	{
		char f[64];
		snprintf(f, sizeof f, "usage[%d]", i++);
		struct sim_usage_rule *r = &sc->usage[sc->n_usage++];
		r->ns = req_str(x, u, "namespace", f, &rc);
		if (!rc)
			r->workload = req_str(x, u, "workload", f, &rc);
		if (!rc)
			r->container = opt_str(x, u, "container", f, &rc);
		struct sim_usage_curve *c = &r->curve;
		c->base_cpu_m = opt_num(x, u, "cpu_m", f, 100, &rc);
		c->base_mem_mib = opt_num(x, u, "mem_mib", f, 128, &rc);
		c->daily_amp = opt_num(x, u, "daily_amp", f, 0.3, &rc);
		c->peak_hour = (int)opt_num(x, u, "peak_hour", f, 14, &rc);
		c->noise = opt_num(x, u, "noise", f, 0.1, &rc);
		c->growth_per_day = opt_num(x, u, "growth_per_day", f, 0, &rc);
		c->spike_prob_per_hour = opt_num(x, u, "spike_prob_per_hour", f, 0, &rc);
		c->spike_mult = opt_num(x, u, "spike_mult", f, 1, &rc);
		c->spike_minutes = opt_num(x, u, "spike_minutes", f, 10, &rc);
		if (rc)
			return rc;
		struct ks_err e = {0};
		if (sim_usage_check(c, &e))
			return bad(x, f, "%s", e.msg);
	}
	return 0;
}

static int parse_behaviors(struct ctx *x, struct sim_scenario *sc)
{
	int rc = 0;
	const cJSON *arr = opt_array(x, sc->doc, "behaviors", "", &rc), *b;
	if (rc || !arr)
		return rc;
	sc->behaviors = ks_calloc((size_t)cJSON_GetArraySize(arr), sizeof *sc->behaviors);
	int i = 0;
	cJSON_ArrayForEach(b, arr)
	{
		char f[64];
		snprintf(f, sizeof f, "behaviors[%d]", i++);
		struct sim_behavior *r = &sc->behaviors[sc->n_behaviors++];
		r->ns = opt_str(x, b, "namespace", f, &rc);
		if (!rc)
			r->workload = opt_str(x, b, "workload", f, &rc);
		if (!rc)
			r->container = opt_str(x, b, "container", f, &rc);
		if (!rc)
			r->image_glob = opt_str(x, b, "image", f, &rc);
		if (rc)
			return rc;
		const cJSON *when = ks_json_child(b, "when");
		if (!when || (cJSON_IsString(when) && !strcmp(when->valuestring, "always"))) {
			r->when = SIM_WHEN_ALWAYS;
		} else if (ks_json_child(when, "secret_differs_from_vault")) {
			const cJSON *w = ks_json_child(when, "secret_differs_from_vault");
			char wf[96];
			snprintf(wf, sizeof wf, "%s.when.secret_differs_from_vault", f);
			r->when = SIM_WHEN_SECRET_DIFFERS_FROM_VAULT;
			r->secret = req_str(x, w, "secret", wf, &rc);
			if (!rc)
				r->key = req_str(x, w, "key", wf, &rc);
			if (!rc)
				r->mount = req_str(x, w, "mount", wf, &rc);
			if (!rc)
				r->path = req_str(x, w, "path", wf, &rc);
			if (!rc)
				r->field = req_str(x, w, "field", wf, &rc);
			if (rc)
				return rc;
		} else {
			char wf[96];
			snprintf(wf, sizeof wf, "%s.when", f);
			return bad(x, wf, "must be \"always\" or {secret_differs_from_vault: ...}");
		}
		r->exit_code = -1;
		const cJSON *ex = ks_json_child(b, "exit");
		if (ex) {
			char ef[96];
			snprintf(ef, sizeof ef, "%s.exit", f);
			double code = opt_num(x, ex, "code", ef, 1, &rc);
			if (!rc && (code < 0 || code > 255 || code != (int)code))
				return bad(x, ef, "code must be an integer from 0 to 255");
			r->exit_code = (int)code;
			r->exit_after_s = opt_duration(x, ex, "after", ef, 5, &rc);
		}
		const cJSON *nr = ks_json_child(b, "not_ready");
		if (nr) {
			char nf[96];
			snprintf(nf, sizeof nf, "%s.not_ready", f);
			r->not_ready = true;
			r->probe_message = opt_str(x, nr, "message", nf, &rc);
			if (!r->probe_message)
				r->probe_message = "HTTP probe failed with statuscode: 503";
		}
		const cJSON *log = opt_array(x, b, "log", f, &rc), *l;
		if (rc)
			return rc;
		if (log) {
			r->log = ks_calloc((size_t)cJSON_GetArraySize(log), sizeof *r->log);
			cJSON_ArrayForEach(l, log)
			{
				if (!cJSON_IsString(l))
					return bad(x, f, "log lines must be strings");
				r->log[r->n_log++] = l->valuestring;
			}
		}
		if (rc)
			return rc;
	}
	return 0;
}

static int parse_actions(struct ctx *x, struct sim_scenario *sc)
{
	int rc = 0;
	const cJSON *arr = opt_array(x, sc->doc, "timeline", "", &rc), *a;
	if (rc || !arr)
		return rc;
	sc->actions = ks_calloc((size_t)cJSON_GetArraySize(arr), sizeof *sc->actions);
	int i = 0;
	cJSON_ArrayForEach(a, arr)
	{
		char f[64];
		snprintf(f, sizeof f, "timeline[%d]", i++);
		struct sim_action *r = &sc->actions[sc->n_actions++];
		r->at_s = opt_duration(x, a, "at", f, 0, &rc);
		r->every_s = opt_duration(x, a, "every", f, 0, &rc);
		if (rc)
			return rc;
		if (r->every_s != 0 && r->every_s < 1)
			return bad(x, f, "every must be at least 1s");
		int kinds = 0;
		if ((r->objects = opt_array(x, a, "apply", f, &rc))) {
			r->kind = SIM_ACT_APPLY;
			kinds++;
		}
		const cJSON *del = opt_array(x, a, "delete", f, &rc);
		if (del) {
			r->kind = SIM_ACT_DELETE;
			r->objects = del;
			kinds++;
		}
		const cJSON *sc_ = ks_json_child(a, "scale");
		if (sc_) {
			char sf[96];
			snprintf(sf, sizeof sf, "%s.scale", f);
			r->kind = SIM_ACT_SCALE;
			kinds++;
			r->ns = req_str(x, sc_, "namespace", sf, &rc);
			if (!rc)
				r->target_kind = opt_str(x, sc_, "kind", sf, &rc);
			if (!rc)
				r->name = req_str(x, sc_, "name", sf, &rc);
			if (rc)
				return rc;
			if (!r->target_kind)
				r->target_kind = "Deployment";
			const cJSON *rep = ks_json_child(sc_, "replicas");
			if (cJSON_IsNumber(rep) && rep->valuedouble >= 0) {
				r->replicas = (int)rep->valuedouble;
			} else if (cJSON_IsString(rep) && (rep->valuestring[0] == '+' ||
							   rep->valuestring[0] == '-')) {
				char *end;
				r->replicas = (int)strtol(rep->valuestring, &end, 10);
				if (*end)
					return bad(x, sf, "replicas: bad value \"%s\"",
						   rep->valuestring);
				r->relative = true;
			} else {
				return bad(x, sf, "replicas must be a count or \"+N\"/\"-N\"");
			}
		}
		const cJSON *dr = ks_json_child(a, "drain");
		if (dr) {
			char df[96];
			snprintf(df, sizeof df, "%s.drain", f);
			r->kind = SIM_ACT_DRAIN;
			kinds++;
			r->nodepool = req_str(x, dr, "nodepool", df, &rc);
		}
		const cJSON *in = ks_json_child(a, "interrupt");
		if (in) {
			char inf[96];
			snprintf(inf, sizeof inf, "%s.interrupt", f);
			r->kind = SIM_ACT_INTERRUPT;
			kinds++;
			if (!cJSON_IsObject(in))
				return bad(x, inf, "must be {node: NAME} or {} (a random spot node)");
			r->name = opt_str(x, in, "node", inf, &rc);
		}
		if (rc)
			return rc;
		if (kinds != 1)
			return bad(x, f, "needs exactly one of apply, delete, scale, drain, interrupt");
	}
	return 0;
}

static int parse_nodes(struct ctx *x, struct sim_scenario *sc)
{
	int rc = 0;
	const cJSON *arr = opt_array(x, sc->doc, "nodes", "", &rc), *n;
	if (rc || !arr)
		return rc;
	sc->nodes = ks_calloc((size_t)cJSON_GetArraySize(arr), sizeof *sc->nodes);
	int i = 0;
	cJSON_ArrayForEach(n, arr)
	{
		char f[64];
		snprintf(f, sizeof f, "nodes[%d]", i++);
		struct sim_scenario_nodes *r = &sc->nodes[sc->n_nodes++];
		double count = opt_num(x, n, "count", f, 1, &rc);
		r->instance_type = req_str(x, n, "instance_type", f, &rc);
		if (!rc)
			r->nodepool = opt_str(x, n, "nodepool", f, &rc);
		if (!rc)
			r->capacity_type = opt_str(x, n, "capacity_type", f, &rc);
		if (!rc)
			r->zone = opt_str(x, n, "zone", f, &rc);
		if (rc)
			return rc;
		if (count < 0 || count > 1000 || count != (int)count)
			return bad(x, f, "count must be an integer from 0 to 1000");
		r->count = (int)count;
		if (r->capacity_type && strcmp(r->capacity_type, "on-demand") &&
		    strcmp(r->capacity_type, "spot"))
			return bad(x, f, "capacity_type must be on-demand or spot");
	}
	return 0;
}

static int check_objects(struct ctx *x, const cJSON *arr, const char *field)
{
	const cJSON *o;
	int i = 0;
	cJSON_ArrayForEach(o, arr)
	{
		char f[128];
		snprintf(f, sizeof f, "%s[%d]", field, i++);
		if (!cJSON_IsObject(o) || !ks_json_str(o, "apiVersion") || !ks_json_str(o, "kind") ||
		    !ks_json_str(o, "metadata.name"))
			return bad(x, f, "needs apiVersion, kind and metadata.name");
	}
	return 0;
}

static int parse_checks(struct ctx *x, const cJSON *truth, const char *which)
{
	int rc = 0;
	char f[64];
	snprintf(f, sizeof f, "ground_truth.%s", which);
	const cJSON *arr = opt_array(x, truth, which, "ground_truth", &rc), *c;
	if (rc)
		return rc;
	if (!arr || !cJSON_GetArraySize(arr))
		return bad(x, f, "at least one check is required");
	int i = 0;
	cJSON_ArrayForEach(c, arr)
	{
		char cf[96];
		snprintf(cf, sizeof cf, "%s[%d]", f, i++);
		req_str(x, c, "what", cf, &rc);
		if (!rc)
			req_str(x, c, "kind", cf, &rc);
		if (!rc)
			req_str(x, c, "path", cf, &rc);
		if (!rc)
			opt_str(x, c, "selector", cf, &rc);
		if (rc)
			return rc;
		int ops = !!ks_json_child(c, "equals") + !!ks_json_child(c, "not_equals") +
			  !!ks_json_child(c, "equals_path") + !!ks_json_child(c, "exists");
		if (ops != 1)
			return bad(x, cf, "needs one of equals, not_equals, equals_path, exists");
		const char *q = opt_str(x, c, "quantifier", cf, &rc);
		if (q && strcmp(q, "all") && strcmp(q, "any"))
			return bad(x, cf, "quantifier must be all or any");
	}
	return rc;
}

/* ground_truth.diagnosis: what `kswarm analyze` must report first — {cause, kind,
 * namespace, name, needs_metrics} — or {none: true} for a healthy stage. */
static int parse_diagnosis(struct ctx *x, const cJSON *truth)
{
	const cJSON *d = ks_json_child(truth, "diagnosis");
	if (!cJSON_IsObject(d))
		return bad(x, "ground_truth.diagnosis", "is required ({cause, kind, namespace, "
							 "name} or {none: true})");
	if (cJSON_IsTrue(ks_json_child(d, "none")))
		return 0;
	int rc = 0;
	req_str(x, d, "cause", "ground_truth.diagnosis", &rc);
	if (!rc)
		req_str(x, d, "kind", "ground_truth.diagnosis", &rc);
	if (!rc)
		req_str(x, d, "name", "ground_truth.diagnosis", &rc);
	return rc;
}

/* ground_truth.optimize (optional): what `kswarm optimize` must find for one NodePool —
 * {nodepool, current_monthly_usd, recommended_monthly_usd, monthly_savings_usd}. */
static int parse_optimize(struct ctx *x, const cJSON *truth)
{
	const cJSON *o = ks_json_child(truth, "optimize");
	if (!o)
		return 0;
	const char *f = "ground_truth.optimize";
	if (!cJSON_IsObject(o))
		return bad(x, f, "must be {nodepool, current_monthly_usd, recommended_monthly_usd, "
				 "monthly_savings_usd}");
	int rc = 0;
	req_str(x, o, "nodepool", f, &rc);
	static const char *const nums[] = {"current_monthly_usd", "recommended_monthly_usd",
					   "monthly_savings_usd"};
	for (size_t i = 0; !rc && i < KS_ARRAY_LEN(nums); i++) {
		const cJSON *v = ks_json_child(o, nums[i]);
		if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0)) {
			char field[96];
			snprintf(field, sizeof field, "%s.%s", f, nums[i]);
			rc = bad(x, field, "must be a number of dollars, 0 or more");
		}
	}
	return rc;
}

int sim_scenario_parse(const char *source, const char *data, size_t len,
		       struct sim_scenario **out, struct ks_err *err)
{
	if (len > SIM_SCENARIO_MAX_BYTES)
		return ks_err_set(err, KS_EINVAL, "%s: larger than %d MiB", source,
				  SIM_SCENARIO_MAX_BYTES >> 20);
	struct kube_yaml y;
	if (kube_yaml_parse(data, len, &y, err))
		return ks_err_wrap(err, "%s", source);
	struct ks_buf b;
	ks_buf_init(&b, SIM_SCENARIO_MAX_BYTES * 4);
	long budget = 1000000;
	int rc = y.root ? kube_yaml_to_json(y.root, &b, &budget, err)
			: ks_err_set(err, KS_EINVAL, "empty document");
	kube_yaml_free(&y);
	cJSON *doc = NULL;
	if (!rc)
		doc = ks_json_parse(b.data, b.len, b.len + 1, err);
	ks_buf_release(&b);
	if (!doc)
		return ks_err_wrap(err, "%s", source);
	struct sim_scenario *sc = ks_calloc(1, sizeof *sc);
	sc->source = ks_strdup(source);
	sc->doc = doc;
	struct ctx x = {source, err};
	if (!cJSON_IsObject(doc)) {
		rc = bad(&x, "(top)", "a scenario is a mapping");
		goto fail;
	}
	sc->name = req_str(&x, doc, "name", "(top)", &rc);
	if (!rc && !valid_name(sc->name))
		rc = bad(&x, "name", "\"%s\" must be lower-case letters, digits and '-'", sc->name);
	if (!rc)
		sc->summary = req_str(&x, doc, "summary", "(top)", &rc);
	if (!rc)
		sc->description = opt_str(&x, doc, "description", "(top)", &rc);
	if (!rc)
		sc->objects = opt_array(&x, doc, "objects", "", &rc);
	if (!rc && sc->objects)
		rc = check_objects(&x, sc->objects, "objects");
	if (!rc)
		sc->vault = opt_array(&x, doc, "vault", "", &rc);
	if (!rc)
		sc->registry = ks_json_get(doc, "registry.repositories");
	if (!rc && sc->registry && !cJSON_IsObject(sc->registry))
		rc = bad(&x, "registry.repositories", "must map repositories to tag lists");
	if (!rc)
		rc = parse_nodes(&x, sc);
	if (!rc)
		rc = parse_usage(&x, sc);
	if (!rc)
		rc = parse_behaviors(&x, sc);
	if (!rc)
		rc = parse_actions(&x, sc);
	for (size_t i = 0; !rc && i < sc->n_actions; i++)
		if (sc->actions[i].kind == SIM_ACT_APPLY)
			rc = check_objects(&x, sc->actions[i].objects, "timeline.apply");
	if (!rc) {
		sc->truth = ks_json_child(doc, "ground_truth");
		if (!cJSON_IsObject(sc->truth))
			rc = bad(&x, "ground_truth", "is required");
	}
	if (!rc)
		req_str(&x, sc->truth, "root_cause", "ground_truth", &rc);
	if (!rc)
		rc = parse_diagnosis(&x, sc->truth);
	if (!rc)
		rc = parse_optimize(&x, sc->truth);
	if (!rc)
		rc = parse_checks(&x, sc->truth, "broken");
	if (!rc)
		rc = parse_checks(&x, sc->truth, "healthy");
	if (!rc) {
		const cJSON *fix = ks_json_child(sc->truth, "fix");
		req_str(&x, fix, "description", "ground_truth.fix", &rc);
		const cJSON *steps = rc ? NULL : opt_array(&x, fix, "steps", "ground_truth.fix", &rc);
		const cJSON *st;
		cJSON_ArrayForEach(st, steps)
		{
			const cJSON *args = ks_json_child(st, "kubectl");
			if (!cJSON_IsArray(args)) {
				rc = bad(&x, "ground_truth.fix.steps", "each step is {kubectl: [args]}");
				break;
			}
		}
	}
	if (rc)
		goto fail;
	*out = sc;
	return 0;
fail:
	sim_scenario_free(sc);
	return rc;
}

void sim_scenario_free(struct sim_scenario *sc)
{
	if (!sc)
		return;
	for (size_t i = 0; i < sc->n_behaviors; i++)
		free(sc->behaviors[i].log);
	free(sc->behaviors);
	free(sc->usage);
	free(sc->actions);
	free(sc->nodes);
	cJSON_Delete(sc->doc);
	free(sc->source);
	free(sc);
}

int sim_scenario_load(const char *name_or_path, struct sim_scenario **out, struct ks_err *err)
{
	size_t n = strlen(name_or_path);
	bool is_path = strchr(name_or_path, '/') || (n > 5 && !strcmp(name_or_path + n - 5, ".yaml"));
	if (!is_path) {
		char path[256];
		snprintf(path, sizeof path, SCENARIO_DIR "%s.yaml", name_or_path);
		const struct ks_embedded *e = ks_embedded_find(path);
		if (!e)
			return ks_err_set(err, KS_ENOTFOUND,
					  "no scenario named \"%s\" (see kswarm sim --list)",
					  name_or_path);
		return sim_scenario_parse(path, (const char *)e->data, e->len, out, err);
	}
	FILE *f = fopen(name_or_path, "rb");
	if (!f)
		return ks_err_set(err, KS_EIO, "%s: %s", name_or_path, strerror(errno));
	struct ks_buf b;
	ks_buf_init(&b, SIM_SCENARIO_MAX_BYTES + 1);
	char chunk[65536];
	size_t got;
	int rc = 0;
	while ((got = fread(chunk, 1, sizeof chunk, f)) > 0)
		if (ks_buf_append(&b, chunk, got)) {
			rc = ks_err_set(err, KS_EINVAL, "%s: larger than %d MiB", name_or_path,
					SIM_SCENARIO_MAX_BYTES >> 20);
			break;
		}
	fclose(f);
	if (!rc)
		rc = sim_scenario_parse(name_or_path, b.data ? b.data : "", b.len, out, err);
	ks_buf_release(&b);
	return rc;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

const char **sim_scenario_names(size_t *n_out)
{
	size_t n = 0, cap = 0, dl = strlen(SCENARIO_DIR);
	const char **names = NULL;
	for (const struct ks_embedded *e = ks_embedded_files; e->path; e++) {
		size_t pl = strlen(e->path);
		if (strncmp(e->path, SCENARIO_DIR, dl) || pl < dl + 6 || strcmp(e->path + pl - 5, ".yaml"))
			continue;
		names = ks_grow(names, sizeof *names, n + 2, &cap);
		names[n++] = e->path;
	}
	if (names) {
		qsort(names, n, sizeof *names, cmp_str);
		names[n] = NULL;
	}
	*n_out = n;
	return names;
}

bool sim_glob_match(const char *g, const char *s)
{
	const char *star = NULL, *ss = NULL;
	while (*s) {
		if (*g == '*') {
			star = g++;
			ss = s;
		} else if (*g == '?' || *g == *s) {
			g++;
			s++;
		} else if (star) {
			g = star + 1;
			s = ++ss;
		} else {
			return false;
		}
	}
	while (*g == '*')
		g++;
	return !*g;
}

/* ---- checks ---- */

/* Collect the values at path under node ([*] fans out) into vals. */
static void collect(const cJSON *node, const char *path, const cJSON **vals, size_t *n,
		    size_t max)
{
	if (!node || *n >= max)
		return;
	if (!*path) {
		vals[(*n)++] = node;
		return;
	}
	size_t seg = strcspn(path, ".[");
	const char *rest = path + seg;
	const cJSON *next = node;
	if (seg) {
		char key[256];
		snprintf(key, sizeof key, "%.*s", (int)seg, path);
		next = cJSON_IsObject(node) ? cJSON_GetObjectItemCaseSensitive(node, key) : NULL;
		if (!next)
			return;
	}
	if (*rest == '[') {
		const char *close = strchr(rest, ']');
		if (!close || !cJSON_IsArray(next))
			return;
		const char *after = close + 1;
		if (*after == '.')
			after++;
		if (rest[1] == '*') {
			const cJSON *it;
			cJSON_ArrayForEach(it, next)
				collect(it, after, vals, n, max);
		} else {
			collect(cJSON_GetArrayItem(next, atoi(rest + 1)), after, vals, n, max);
		}
		return;
	}
	if (*rest == '.')
		rest++;
	collect(next, rest, vals, n, max);
}

static void scalar(const cJSON *v, char *out, size_t len)
{
	if (cJSON_IsString(v))
		snprintf(out, len, "%s", v->valuestring);
	else if (cJSON_IsNumber(v))
		snprintf(out, len, "%.15g", v->valuedouble);
	else if (cJSON_IsBool(v))
		snprintf(out, len, "%s", cJSON_IsTrue(v) ? "true" : "false");
	else if (cJSON_IsNull(v))
		snprintf(out, len, "null");
	else
		snprintf(out, len, "(%s)", cJSON_IsArray(v) ? "list" : "object");
}

bool sim_scenario_check_object(const cJSON *chk, const cJSON *obj, char *found, size_t flen)
{
	const cJSON *vals[64];
	size_t n = 0;
	collect(obj, ks_json_str_or(chk, "path", ""), vals, &n, KS_ARRAY_LEN(vals));
	snprintf(found, flen, "%s", n ? "" : "nothing");
	const cJSON *ex = ks_json_child(chk, "exists");
	if (ex)
		return cJSON_IsTrue(ex) == (n > 0);
	char want[256] = "";
	const cJSON *eq = ks_json_child(chk, "equals"), *ne = ks_json_child(chk, "not_equals");
	const cJSON *ep = ks_json_child(chk, "equals_path");
	if (eq || ne) {
		scalar(eq ? eq : ne, want, sizeof want);
	} else if (ep) {
		const cJSON *o[1];
		size_t m = 0;
		collect(obj, ep->valuestring ? ep->valuestring : "", o, &m, 1);
		if (!m)
			return false;
		scalar(o[0], want, sizeof want);
	}
	bool any_equal = false;
	for (size_t i = 0; i < n; i++) {
		char got[256];
		scalar(vals[i], got, sizeof got);
		if (i < 3) {
			size_t l = strlen(found);
			snprintf(found + l, flen - l, "%s%s", i ? ", " : "", got);
		}
		any_equal |= !strcmp(got, want);
	}
	return ne ? !any_equal : any_equal;
}

int sim_scenario_check(struct kube_client *c, const struct sim_scenario *sc, const char *which,
		       struct ks_buf *report, bool *holds, struct ks_err *err)
{
	*holds = true;
	const cJSON *chk;
	cJSON_ArrayForEach(chk, ks_json_child(sc->truth, which))
	{
		cJSON *probe = cJSON_CreateObject();
		cJSON_AddStringToObject(probe, "apiVersion", ks_json_str_or(chk, "apiVersion", "v1"));
		cJSON_AddStringToObject(probe, "kind", ks_json_str_or(chk, "kind", ""));
		const struct kube_resource *r = kube_resource_of(c, probe, err);
		cJSON_Delete(probe);
		if (!r)
			return ks_err_wrap(err, "%s: check \"%s\"", sc->source,
					   ks_json_str_or(chk, "what", ""));
		struct kube_resource res = *r;
		const char *api = ks_json_str_or(chk, "apiVersion", "v1"), *sl = strchr(api, '/');
		snprintf(res.version, sizeof res.version, "%s", sl ? sl + 1 : api);
		const char *ns = res.namespaced ? ks_json_str_or(chk, "namespace", "default") : NULL;
		const char *name = ks_json_str(chk, "name");
		cJSON *items = cJSON_CreateArray();
		int rc;
		if (name) {
			cJSON *obj = NULL;
			rc = kube_get(c, &res, ns, name, &obj, err);
			if (rc == 0)
				cJSON_AddItemToArray(items, obj);
			else if (rc == KS_ENOTFOUND)
				rc = 0;
		} else {
			cJSON *list = NULL;
			struct kube_list_opts lo = {.label_selector = ks_json_str(chk, "selector")};
			rc = kube_list(c, &res, ns, &lo, &list, err);
			if (rc == 0) {
				cJSON *its = cJSON_DetachItemFromObjectCaseSensitive(list, "items");
				if (its) {
					cJSON_Delete(items);
					items = its;
				}
				cJSON_Delete(list);
			}
		}
		if (rc) {
			cJSON_Delete(items);
			return rc;
		}
		bool any = !strcmp(ks_json_str_or(chk, "quantifier", "all"), "any");
		size_t n = 0, ok = 0;
		char found[512] = "no object";
		const cJSON *obj;
		cJSON_ArrayForEach(obj, items)
		{
			char f[512];
			n++;
			if (sim_scenario_check_object(chk, obj, f, sizeof f))
				ok++;
			else
				snprintf(found, sizeof found, "%s %s has %s", res.kind,
					 ks_json_str_or(obj, "metadata.name", ""), f);
		}
		cJSON_Delete(items);
		bool pass = n > 0 && (any ? ok > 0 : ok == n);
		*holds &= pass;
		if (report) {
			char *line = pass ? ks_asprintf("ok - %s\n", ks_json_str_or(chk, "what", ""))
					  : ks_asprintf("not yet - %s: %s\n",
							ks_json_str_or(chk, "what", ""), found);
			ks_buf_append(report, line, strlen(line));
			free(line);
		}
	}
	return 0;
}
