/* events.c — the outside-forecast feed: JSON and CSV parsers with one set of field rules,
 * and applying the events to a forecast (see events.h for the formats and the rules).
 * Both parsers fill a growing array and, on any error, free it and leave out empty: a feed
 * is taken whole or not at all. */
#include "base/common.h"
#include "base/json.h"
#include "base/timeutil.h"
#include "forecast/events.h"
#include "forecast/hw.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

enum { F_NAME, F_START, F_END, F_SCALE, F_NAMESPACE, F_COUNT };
static const char *const field_names[F_COUNT] = {"name", "start", "end", "scale", "namespace"};

/* Where an event came from, for messages: a JSON array index or a CSV line. */
struct origin {
	bool csv;
	size_t at; /* events[at] or line at */
};

static void where(const struct origin *o, int field, char *buf, size_t len)
{
	if (o->csv)
		snprintf(buf, len, "line %zu, field %d (%s)", o->at, field + 1, field_names[field]);
	else if (field == F_NAMESPACE)
		snprintf(buf, len, "events[%zu].match.namespace", o->at);
	else
		snprintf(buf, len, "events[%zu].%s", o->at, field_names[field]);
}

static int field_err(const struct origin *o, int field, struct ks_err *err, const char *what)
{
	char w[64];
	where(o, field, w, sizeof w);
	return ks_err_set(err, KS_EINVAL, "%s: %s", w, what);
}

static bool dns_label(const char *s, size_t len)
{
	if (len == 0 || len > 63 || !isalnum((unsigned char)s[0]) ||
	    !isalnum((unsigned char)s[len - 1]))
		return false;
	for (size_t i = 0; i < len; i++)
		if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) || s[i] == '-'))
			return false;
	return true;
}

static int set_name(struct fc_event *e, const struct origin *o, const char *s, size_t len,
		    struct ks_err *err)
{
	if (len == 0)
		return field_err(o, F_NAME, err, "is empty");
	if (len > FC_EVENT_NAME_MAX)
		return field_err(o, F_NAME, err, "is longer than 127 bytes");
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return field_err(o, F_NAME, err, "holds a control character");
	memcpy(e->name, s, len);
	e->name[len] = '\0';
	return 0;
}

static int set_time(int64_t *t, const struct origin *o, int field, const char *s, size_t len,
		    struct ks_err *err)
{
	struct ks_err e2 = {0};
	if (ks_time_parse_rfc3339(s, len, t, &e2) != 0) {
		char w[64];
		where(o, field, w, sizeof w);
		return ks_err_set(err, KS_EINVAL, "%s: %s", w, e2.msg);
	}
	return 0;
}

static int set_scale(struct fc_event *e, const struct origin *o, double v, struct ks_err *err)
{
	if (!isfinite(v) || !(v > 0) || v > FC_EVENT_SCALE_MAX)
		return field_err(o, F_SCALE, err, "must be a number in (0, 1000]");
	e->scale = v;
	return 0;
}

static int set_namespace(struct fc_event *e, const struct origin *o, const char *s, size_t len,
			 bool may_be_empty, struct ks_err *err)
{
	if (len == 0 && may_be_empty) {
		e->ns[0] = '\0';
		return 0;
	}
	if (!dns_label(s, len))
		return field_err(o, F_NAMESPACE, err,
				 "is not a namespace name (1-63 of a-z, 0-9, '-')");
	memcpy(e->ns, s, len);
	e->ns[len] = '\0';
	return 0;
}

static int check_window(const struct fc_event *e, const struct origin *o, struct ks_err *err)
{
	if (e->end_ns <= e->start_ns)
		return field_err(o, F_END, err, "is not after start");
	return 0;
}

static struct fc_event *push(struct fc_events *ev, size_t *cap)
{
	if (ev->n == *cap) {
		*cap = *cap ? 2 * *cap : 16;
		ev->items = ks_realloc(ev->items, *cap * sizeof *ev->items);
	}
	struct fc_event *e = &ev->items[ev->n++];
	memset(e, 0, sizeof *e);
	return e;
}

static int check_size(size_t len, struct ks_err *err)
{
	if (len > FC_EVENTS_MAX_BYTES)
		return ks_err_set(err, KS_ETOOBIG, "event feed of %zu bytes exceeds the %zu limit",
				  len, FC_EVENTS_MAX_BYTES);
	return 0;
}

static int too_many(struct ks_err *err)
{
	return ks_err_set(err, KS_ETOOBIG, "event feed holds more than %d events",
			  FC_EVENTS_MAX);
}

/* ---- JSON ---- */

static void line_col(const char *s, size_t off, size_t *line, size_t *col)
{
	*line = 1;
	*col = 1;
	for (size_t i = 0; i < off; i++) {
		if (s[i] == '\n') {
			(*line)++;
			*col = 1;
		} else {
			(*col)++;
		}
	}
}

/* Members of obj must be among allowed and appear once each. */
static int check_members(const cJSON *obj, const char *const *allowed, size_t n_allowed,
			 const char *path, struct ks_err *err)
{
	for (const cJSON *c = obj->child; c; c = c->next) {
		bool known = false;
		for (size_t i = 0; i < n_allowed; i++)
			known |= strcmp(c->string, allowed[i]) == 0;
		if (!known)
			return ks_err_set(err, KS_EINVAL, "%s: unknown member \"%s\"", path,
					  c->string);
		for (const cJSON *d = obj->child; d != c; d = d->next)
			if (strcmp(d->string, c->string) == 0)
				return ks_err_set(err, KS_EINVAL, "%s: member \"%s\" repeated",
						  path, c->string);
	}
	return 0;
}

static int json_string(const cJSON *obj, const char *key, const struct origin *o, int field,
		       const char **s, struct ks_err *err)
{
	const cJSON *v = ks_json_child(obj, key);
	if (!v)
		return field_err(o, field, err, "is missing");
	if (!cJSON_IsString(v))
		return field_err(o, field, err, "must be a string");
	*s = v->valuestring;
	return 0;
}

static int json_event(const cJSON *item, const struct origin *o, struct fc_event *e,
		      struct ks_err *err)
{
	static const char *const members[] = {"name", "start", "end", "scale", "match"};
	static const char *const match_members[] = {"namespace"};
	char path[64];
	snprintf(path, sizeof path, "events[%zu]", o->at);
	if (!cJSON_IsObject(item))
		return ks_err_set(err, KS_EINVAL, "%s: must be an object", path);
	int rc = check_members(item, members, KS_ARRAY_LEN(members), path, err);
	const char *s;
	if (rc)
		return rc;
	if ((rc = json_string(item, "name", o, F_NAME, &s, err)) ||
	    (rc = set_name(e, o, s, strlen(s), err)) ||
	    (rc = json_string(item, "start", o, F_START, &s, err)) ||
	    (rc = set_time(&e->start_ns, o, F_START, s, strlen(s), err)) ||
	    (rc = json_string(item, "end", o, F_END, &s, err)) ||
	    (rc = set_time(&e->end_ns, o, F_END, s, strlen(s), err)))
		return rc;
	const cJSON *scale = ks_json_child(item, "scale");
	if (!scale)
		return field_err(o, F_SCALE, err, "is missing");
	if (!cJSON_IsNumber(scale))
		return field_err(o, F_SCALE, err, "must be a number");
	if ((rc = set_scale(e, o, scale->valuedouble, err)))
		return rc;
	const cJSON *match = ks_json_child(item, "match");
	if (match) {
		snprintf(path, sizeof path, "events[%zu].match", o->at);
		if (!cJSON_IsObject(match))
			return ks_err_set(err, KS_EINVAL, "%s: must be an object", path);
		if ((rc = check_members(match, match_members, 1, path, err)))
			return rc;
		if (ks_json_child(match, "namespace")) {
			if ((rc = json_string(match, "namespace", o, F_NAMESPACE, &s, err)) ||
			    (rc = set_namespace(e, o, s, strlen(s), false, err)))
				return rc;
		}
	}
	return check_window(e, o, err);
}

int fc_events_parse_json(const char *s, size_t len, struct fc_events *out, struct ks_err *err)
{
	memset(out, 0, sizeof *out);
	int rc = check_size(len, err);
	if (rc)
		return rc;
	const char *end = NULL;
	size_t line, col;
	cJSON *root = cJSON_ParseWithLengthOpts(s, len, &end, false);
	if (!root) {
		line_col(s, end && end >= s && end <= s + len ? (size_t)(end - s) : 0, &line, &col);
		return ks_err_set(err, KS_EINVAL, "event feed %zu:%zu: invalid JSON", line, col);
	}
	for (const char *p = end; p && p < s + len; p++) {
		if (!isspace((unsigned char)*p)) {
			line_col(s, (size_t)(p - s), &line, &col);
			rc = ks_err_set(err, KS_EINVAL,
					"event feed %zu:%zu: data after the JSON document", line,
					col);
			goto out;
		}
	}
	static const char *const top[] = {"events"};
	if (!cJSON_IsObject(root)) {
		rc = ks_err_set(err, KS_EINVAL, "event feed: must be a JSON object");
		goto out;
	}
	if ((rc = check_members(root, top, 1, "event feed", err)))
		goto out;
	const cJSON *events = ks_json_child(root, "events");
	if (!cJSON_IsArray(events)) {
		rc = ks_err_set(err, KS_EINVAL, "event feed: \"events\" must be an array");
		goto out;
	}
	size_t cap = 0, i = 0;
	for (const cJSON *item = events->child; item; item = item->next, i++) {
		if (out->n >= FC_EVENTS_MAX) {
			rc = too_many(err);
			goto out;
		}
		struct origin o = {.csv = false, .at = i};
		if ((rc = json_event(item, &o, push(out, &cap), err)))
			goto out;
	}
out:
	cJSON_Delete(root);
	if (rc)
		fc_events_release(out);
	return rc;
}

/* ---- CSV ---- */

/* One field of a line (unquoted, or quoted with "" for a quote) into buf. *p advances past
 * the field and its comma; *last says it was the line's last field. */
static int csv_field(const char **p, const char *eol, size_t line, int field, char *buf,
		     size_t cap, size_t *len, bool *last, struct ks_err *err)
{
	const char *q = *p;
	size_t n = 0;
	if (q < eol && *q == '"') {
		q++;
		for (;;) {
			if (q >= eol)
				return ks_err_set(err, KS_EINVAL,
						  "line %zu, field %d: unterminated quoted field",
						  line, field + 1);
			if (*q == '"') {
				if (q + 1 < eol && q[1] == '"') {
					q++;
				} else {
					q++;
					break;
				}
			}
			if (n + 1 >= cap)
				return ks_err_set(err, KS_EINVAL, "line %zu, field %d: too long",
						  line, field + 1);
			buf[n++] = *q++;
		}
		if (q < eol && *q != ',')
			return ks_err_set(err, KS_EINVAL,
					  "line %zu, field %d: text after the closing quote", line,
					  field + 1);
	} else {
		while (q < eol && *q != ',') {
			if (*q == '"')
				return ks_err_set(err, KS_EINVAL,
						  "line %zu, field %d: a quote inside an unquoted "
						  "field",
						  line, field + 1);
			if (n + 1 >= cap)
				return ks_err_set(err, KS_EINVAL, "line %zu, field %d: too long",
						  line, field + 1);
			buf[n++] = *q++;
		}
	}
	buf[n] = '\0';
	*len = n;
	*last = q >= eol;
	*p = q < eol ? q + 1 : q;
	return 0;
}

/* A decimal number as people write one: [-+]digits[.digits][(e|E)[-+]digits]. */
static bool decimal(const char *s, double *v)
{
	const char *p = s;
	bool digits = false;
	if (*p == '+' || *p == '-')
		p++;
	while (isdigit((unsigned char)*p))
		p++, digits = true;
	if (*p == '.')
		for (p++; isdigit((unsigned char)*p); p++)
			digits = true;
	if (!digits)
		return false;
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '+' || *p == '-')
			p++;
		if (!isdigit((unsigned char)*p))
			return false;
		while (isdigit((unsigned char)*p))
			p++;
	}
	if (*p)
		return false;
	*v = strtod(s, NULL);
	return true;
}

/* One CSV line into e; *header is set (and e left alone) when the line is the header. */
static int csv_line(const char *p, const char *eol, size_t line, bool may_be_header,
		    struct fc_event *e, bool *header, struct ks_err *err)
{
	char f[F_COUNT][160];
	size_t len[F_COUNT];
	bool last = false;
	int nf = 0, rc;
	while (!last) {
		if (nf == F_COUNT)
			return ks_err_set(err, KS_EINVAL, "line %zu: more than %d fields", line,
					  F_COUNT);
		if ((rc = csv_field(&p, eol, line, nf, f[nf], sizeof f[nf], &len[nf], &last, err)))
			return rc;
		nf++;
	}
	if (nf != F_COUNT)
		return ks_err_set(err, KS_EINVAL,
				  "line %zu: %d fields; expected name,start,end,scale,namespace",
				  line, nf);
	*header = may_be_header;
	for (int i = 0; i < F_COUNT && *header; i++)
		*header = strcmp(f[i], field_names[i]) == 0;
	if (*header)
		return 0;
	struct origin o = {.csv = true, .at = line};
	double scale;
	if ((rc = set_name(e, &o, f[F_NAME], len[F_NAME], err)) ||
	    (rc = set_time(&e->start_ns, &o, F_START, f[F_START], len[F_START], err)) ||
	    (rc = set_time(&e->end_ns, &o, F_END, f[F_END], len[F_END], err)))
		return rc;
	if (!decimal(f[F_SCALE], &scale))
		return field_err(&o, F_SCALE, err, "is not a decimal number");
	if ((rc = set_scale(e, &o, scale, err)) ||
	    (rc = set_namespace(e, &o, f[F_NAMESPACE], len[F_NAMESPACE], true, err)))
		return rc;
	return check_window(e, &o, err);
}

static bool blank(const char *p, const char *eol)
{
	for (; p < eol; p++)
		if (*p != ' ' && *p != '\t')
			return false;
	return true;
}

int fc_events_parse_csv(const char *s, size_t len, struct fc_events *out, struct ks_err *err)
{
	memset(out, 0, sizeof *out);
	int rc = check_size(len, err);
	if (rc)
		return rc;
	size_t cap = 0, line = 0;
	bool seen_line = false;
	const char *p = s, *end = s + len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl ? nl : end;
		line++;
		if (eol > p && eol[-1] == '\r')
			eol--;
		if (memchr(p, '\0', (size_t)(eol - p)) ||
		    memchr(p, '\r', (size_t)(eol - p))) {
			rc = ks_err_set(err, KS_EINVAL, "line %zu: a NUL or a stray CR", line);
			goto out;
		}
		if (!blank(p, eol)) {
			bool header;
			if (out->n >= FC_EVENTS_MAX) {
				rc = too_many(err);
				goto out;
			}
			struct fc_event *e = push(out, &cap);
			rc = csv_line(p, eol, line, !seen_line, e, &header, err);
			if (rc)
				goto out;
			if (header)
				out->n--;
			seen_line = true;
		}
		p = nl ? nl + 1 : end;
	}
out:
	if (rc)
		fc_events_release(out);
	return rc;
}

int fc_events_parse(const char *s, size_t len, struct fc_events *out, struct ks_err *err)
{
	size_t i = 0;
	while (i < len && isspace((unsigned char)s[i]))
		i++;
	if (i < len && s[i] == '{')
		return fc_events_parse_json(s, len, out, err);
	return fc_events_parse_csv(s, len, out, err);
}

void fc_events_release(struct fc_events *ev)
{
	if (!ev)
		return;
	free(ev->items);
	ev->items = NULL;
	ev->n = 0;
}

size_t fc_events_apply(const struct fc_events *ev, const char *ns, int64_t t_last,
		       double step_s, struct fc_forecast *f)
{
	size_t changed = 0;
	for (size_t j = 1; j <= f->h; j++) {
		double t = (double)t_last + (double)j * step_s, factor = 1;
		for (size_t i = 0; i < ev->n; i++) {
			const struct fc_event *e = &ev->items[i];
			if (e->ns[0] && (!ns || strcmp(ns, e->ns) != 0))
				continue;
			if (t >= (double)e->start_ns / 1e9 && t < (double)e->end_ns / 1e9)
				factor *= e->scale;
		}
		if (factor != 1) {
			f->mean[j - 1] *= factor;
			f->lo[j - 1] *= factor;
			f->hi[j - 1] *= factor;
			f->sd[j - 1] *= factor;
			changed++;
		}
	}
	return changed;
}
