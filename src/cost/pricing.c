/* pricing.c — the price table (see pricing.h) and the offer-file importer.
 *
 * The table is a map instance type -> struct price_entry. Each entry holds the list
 * on-demand price and a pointer to its source string, the catalog's spot savings figure and
 * interruption bucket, and an observed spot price when there is one. Source strings are
 * owned by the table (one per import, in p->sources) and shared by the entries.
 * Overrides are applied at lookup time, so importing after installing them is fine.
 *
 * The offer file (AWS price list, AmazonEC2 offer) is one JSON object of several GB:
 *   {"formatVersion":"v1.0","offerCode":"AmazonEC2","version":..,"publicationDate":..,
 *    "products":{SKU:{"sku","productFamily","attributes":{...}}, ...},
 *    "terms":{"OnDemand":{SKU:{TERM:{"priceDimensions":{RATE:{"unit":"Hrs",
 *             "pricePerUnit":{"USD":"0.0960000000"}}}}}}, "Reserved":{...}}}
 * It is never held whole. struct offer_scan walks the text byte by byte (resumable across
 * reads), keeping a stack of containers and the member names of the first three levels; a
 * member of "products" (depth 2) or of "terms"."OnDemand" (depth 3) is captured as a span,
 * parsed alone with cJSON and dropped. Everything else (Reserved terms, ...) is checked for
 * structure (strings, brackets, colons, commas) and skipped. The reader keeps a window of the
 * file from the start of the value being captured, so memory is one member plus one read.
 * Products usually precede terms; when terms come first their prices wait in a map until
 * the products are known. */
#include "base/common.h"

#include "cost/pricing.h"

#include "base/hashmap.h"
#include "base/json.h"
#include "cost/catalog.h"
#include "cost/pricing_internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

struct price_entry {
	double od_usd_hr;          /* list on-demand price; valid when od_source */
	const char *od_source;     /* into p->sources; NULL: no on-demand price */
	int spot_savings_pct;      /* catalog Spot Advisor figure, -1 none */
	int interruption_bucket;   /* -1 none */
	double spot_usd_hr;        /* observed; valid when spot_source */
	char *spot_source;         /* owned; NULL: none observed */
};

struct cost_prices {
	char region[32];
	struct ks_map types; /* name -> struct price_entry * */
	char **sources;
	size_t nsources, capsources;
	struct cost_overrides *overrides;
};

bool cost__parse_decimal(const char *s, size_t len, double *out)
{
	size_t digits = 0, dots = 0;
	char tmp[64];
	if (len == 0 || len >= sizeof tmp || s[0] == '.' || s[len - 1] == '.')
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '.')
			dots++;
		else if (s[i] >= '0' && s[i] <= '9')
			digits++;
		else
			return false;
	}
	if (dots > 1 || digits == 0)
		return false;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	*out = strtod(tmp, NULL);
	return true;
}

static const char *add_source(struct cost_prices *p, char *owned)
{
	p->sources = ks_grow(p->sources, sizeof *p->sources, p->nsources + 1, &p->capsources);
	p->sources[p->nsources++] = owned;
	return owned;
}

static struct price_entry *entry_get_or_add(struct cost_prices *p, const char *type)
{
	struct price_entry *e = ks_map_get(&p->types, type);
	if (!e) {
		e = ks_calloc(1, sizeof *e);
		e->spot_savings_pct = -1;
		e->interruption_bucket = -1;
		ks_map_put(&p->types, type, e);
	}
	return e;
}

struct cost_prices *cost_prices_from_catalog(const struct cost_catalog *cat)
{
	struct cost_prices *p = ks_calloc(1, sizeof *p);
	snprintf(p->region, sizeof p->region, "%s", COST_SNAPSHOT_REGION);
	ks_map_init(&p->types);
	const char *src = add_source(p, ks_strdup("catalog snapshot"));
	for (size_t i = 0; cat && i < cost_catalog_count(cat); i++) {
		const struct cost_instance_type *t = cost_catalog_at(cat, i);
		struct price_entry *e = entry_get_or_add(p, t->name);
		e->od_usd_hr = t->od_price_usd_hr;
		e->od_source = src;
		e->spot_savings_pct = t->spot_savings_pct;
		e->interruption_bucket = t->spot_interruption_bucket;
	}
	return p;
}

static void entry_free(struct price_entry *e)
{
	if (e) {
		free(e->spot_source);
		free(e);
	}
}

void cost_prices_free(struct cost_prices *p)
{
	if (!p)
		return;
	const char *k;
	void *v;
	for (size_t i = 0; ks_map_next(&p->types, &i, &k, &v);)
		entry_free(v);
	ks_map_release(&p->types);
	for (size_t i = 0; i < p->nsources; i++)
		free(p->sources[i]);
	free(p->sources);
	cost_overrides_free(p->overrides);
	free(p);
}

const char *cost_prices_region(const struct cost_prices *p)
{
	return p->region;
}

const char *cost_capacity_name(enum cost_capacity c)
{
	return c == COST_CAPACITY_SPOT ? "spot" : "on-demand";
}

void cost_prices_set_overrides(struct cost_prices *p, struct cost_overrides *ov)
{
	if (p->overrides != ov)
		cost_overrides_free(p->overrides);
	p->overrides = ov;
}

int cost_prices_set_spot(struct cost_prices *p, const char *type, double usd_hr,
			 const char *source, struct ks_err *err)
{
	if (!type || !type[0] || !(usd_hr > 0) || usd_hr > 1e6)
		return ks_err_set(err, KS_EINVAL, "spot price %g for '%s' is not a valid price",
				  usd_hr, type ? type : "");
	struct price_entry *e = entry_get_or_add(p, type);
	free(e->spot_source);
	e->spot_source = ks_strdup(source ? source : "spot price history");
	e->spot_usd_hr = usd_hr;
	return 0;
}

/* The family of an EC2 instance type: what precedes the first '.' ("m5" of "m5.large"). */
static bool family_matches(const struct cost_savings_plan *sp, const char *type)
{
	if (sp->nfamilies == 0)
		return true;
	const char *dot = strchr(type, '.');
	size_t n = dot ? (size_t)(dot - type) : strlen(type);
	for (size_t i = 0; i < sp->nfamilies; i++)
		if (!strcmp(sp->families[i], "*") ||
		    (strlen(sp->families[i]) == n && !memcmp(sp->families[i], type, n)))
			return true;
	return false;
}

static bool region_matches(const struct cost_savings_plan *sp, const char *region)
{
	if (sp->nregions == 0)
		return true;
	for (size_t i = 0; i < sp->nregions; i++)
		if (!strcmp(sp->regions[i], region))
			return true;
	return false;
}

/* The best Savings Plan for an on-demand node of type, or NULL. */
static const struct cost_savings_plan *best_plan(const struct cost_prices *p, const char *type)
{
	const struct cost_savings_plan *best = NULL;
	for (size_t i = 0; p->overrides && i < p->overrides->nplans; i++) {
		const struct cost_savings_plan *sp = &p->overrides->plans[i];
		if (family_matches(sp, type) && region_matches(sp, p->region) &&
		    (!best || sp->pct > best->pct))
			best = sp;
	}
	return best;
}

/* Apply the percentage overrides to out->list_usd_hr, appending to out->source. */
static void apply_overrides(const struct cost_prices *p, const char *type, enum cost_capacity c,
			    struct cost_price *out)
{
	size_t n = strlen(out->source);
	double v = out->list_usd_hr;
	const struct cost_savings_plan *sp =
		c == COST_CAPACITY_ON_DEMAND ? best_plan(p, type) : NULL;
	if (sp) {
		v *= 1 - sp->pct / 100;
		n += (size_t)snprintf(out->source + n, sizeof out->source - n,
				      "; savings plan '%s' %g%%", sp->name, sp->pct);
		n = n < sizeof out->source ? n : sizeof out->source - 1;
	}
	if (p->overrides && p->overrides->has_discount) {
		v *= 1 - p->overrides->discount_pct / 100;
		snprintf(out->source + n, sizeof out->source - n, "; override %s: discount %g%%",
			 p->overrides->name, p->overrides->discount_pct);
	}
	out->usd_hr = v;
}

int cost_prices_get(const struct cost_prices *p, const char *type, enum cost_capacity c,
		    struct cost_price *out, struct ks_err *err)
{
	*out = (struct cost_price){.interruption_bucket = -1};
	const struct price_entry *e = type ? ks_map_get(&p->types, type) : NULL;
	if (!e)
		return ks_err_set(err, KS_ENOTFOUND, "no price for instance type '%s' in %s",
				  type ? type : "", p->region);
	if (c == COST_CAPACITY_ON_DEMAND) {
		if (!e->od_source)
			return ks_err_set(err, KS_ENOTFOUND,
					  "no on-demand price for '%s' in %s", type, p->region);
		out->list_usd_hr = e->od_usd_hr;
		snprintf(out->source, sizeof out->source, "%s", e->od_source);
	} else {
		out->interruption_bucket = e->interruption_bucket;
		if (e->spot_source) {
			out->list_usd_hr = e->spot_usd_hr;
			snprintf(out->source, sizeof out->source, "spot: price history (%s)",
				 e->spot_source);
		} else if (e->od_source && e->spot_savings_pct > 0) {
			out->list_usd_hr = e->od_usd_hr * (1 - e->spot_savings_pct / 100.0);
			snprintf(out->source, sizeof out->source,
				 "spot: catalog savings figure %d%% off on-demand (%s)",
				 e->spot_savings_pct, e->od_source);
		} else {
			return ks_err_set(err, KS_ENOTFOUND,
					  "no spot price for '%s' in %s (no price history and no "
					  "savings figure)", type, p->region);
		}
	}
	apply_overrides(p, type, c, out);
	return 0;
}

static const struct cost_reservation *find_reservation(const struct cost_prices *p,
							const char *type)
{
	for (size_t i = 0; p->overrides && i < p->overrides->nreserved; i++)
		if (!strcmp(p->overrides->reserved[i].instance_type, type))
			return &p->overrides->reserved[i];
	return NULL;
}

int cost_prices_fleet_hourly(const struct cost_prices *p, const char *type,
			     enum cost_capacity c, int64_t count, struct cost_price *out,
			     struct ks_err *err)
{
	if (count < 0)
		return ks_err_set(err, KS_EINVAL, "negative node count %lld", (long long)count);
	const struct cost_reservation *r =
		c == COST_CAPACITY_ON_DEMAND && type ? find_reservation(p, type) : NULL;
	if (!r) {
		int rc = cost_prices_get(p, type, c, out, err);
		if (rc)
			return rc;
		out->usd_hr *= (double)count;
		out->list_usd_hr *= (double)count;
		return 0;
	}
	struct cost_price unit = {.interruption_bucket = -1};
	int64_t extra = count > r->count ? count - r->count : 0;
	if (extra > 0) {
		int rc = cost_prices_get(p, type, c, &unit, err);
		if (rc)
			return rc;
	}
	*out = (struct cost_price){.interruption_bucket = -1};
	out->usd_hr = (double)r->count * r->usd_hr + (double)extra * unit.usd_hr;
	out->list_usd_hr = (double)r->count * r->usd_hr + (double)extra * unit.list_usd_hr;
	snprintf(out->source, sizeof out->source,
		 "reserved capacity %s: %lld x $%g/h paid whether used or not%s%s",
		 p->overrides->name, (long long)r->count, r->usd_hr, extra ? "; beyond it: " : "",
		 extra ? unit.source : "");
	return 0;
}

/* ---- the offer file ---- */

#define OFFER_MAX_DEPTH 64
#define OFFER_KEY_MAX 64
#define OFFER_READ_CHUNK ((size_t)1 << 20)

enum scan_state {
	ST_KEY,   /* object: a key or '}' (after '{'); after ',': a key */
	ST_COLON, /* object: ':' */
	ST_VALUE, /* a value (top level, after ':' in an object, after ',' in an array) */
	ST_FIRST, /* array: a value or ']' */
	ST_AFTER, /* after a value: ',' or the closing bracket; top level: only whitespace */
};

enum capture { CAP_NONE, CAP_PRODUCT, CAP_TERM };

struct offer_scan {
	uint64_t pos; /* absolute offset of the next byte */
	unsigned depth;
	unsigned char kind[OFFER_MAX_DEPTH + 1]; /* '{' or '[' of each open container, 1-based */
	enum scan_state state;
	bool in_str, esc, str_is_key, in_scalar, after_key_comma;
	/* the member name being read at each of the first levels, and the string value of a
	 * top-level member (formatVersion, publicationDate...) */
	char key[4][OFFER_KEY_MAX];
	size_t keylen[4];
	char sval[OFFER_KEY_MAX];
	size_t svallen;
	bool products_seen, products_done;
	enum capture cap;
	uint64_t cap_start;
	unsigned cap_depth; /* depth at which the captured value lies (before it opened) */
};

struct offer_import {
	const char *name;
	const char *want_region; /* NULL: any, but one */
	bool documents;          /* fed GetProducts documents (cost__offer_add_document), not a
				  * file: errors name the document, the source the name alone */
	struct offer_scan sc;
	struct ks_map sku_type;  /* sku -> char * instance type (owned) */
	struct ks_map pending;   /* sku -> double * price, for terms before products */
	struct ks_map prices;    /* instance type -> double * price */
	struct cost_offer_stats st;
};

static int offer_err(struct offer_import *im, struct ks_err *err, uint64_t at, int code,
		     const char *what)
{
	if (im->documents)
		return ks_err_set(err, code, "%s: PriceList[%llu]: %s", im->name,
				  (unsigned long long)at, what);
	return ks_err_set(err, code, "%s: byte %llu: %s", im->name, (unsigned long long)at, what);
}

static int member_too_big(struct offer_import *im, struct ks_err *err, uint64_t at)
{
	char m[128];
	snprintf(m, sizeof m, "a product or term larger than the %zu-byte limit",
		 COST_OFFER_MAX_MEMBER);
	return offer_err(im, err, at, KS_ETOOBIG, m);
}

static bool key_is(const struct offer_scan *sc, int level, const char *s)
{
	size_t n = strlen(s);
	return sc->keylen[level] == n && !memcmp(sc->key[level], s, n);
}

static const char *attr(const cJSON *attrs, const char *name)
{
	const cJSON *v = ks_json_child(attrs, name);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static bool attr_is(const cJSON *attrs, const char *name, const char *want, bool required)
{
	const char *v = attr(attrs, name);
	return v ? !strcmp(v, want) : !required;
}

/* A parsed product: keep it when it passes Karpenter's filter, remembering sku -> type. */
static int take_product_json(struct offer_import *im, const cJSON *j, uint64_t at,
			     struct ks_err *err)
{
	im->st.products++;
	int rc = 0;
	const cJSON *attrs = ks_json_child(j, "attributes");
	const char *sku = ks_json_str(j, "sku"), *family = ks_json_str(j, "productFamily");
	const char *type = attr(attrs, "instanceType"), *region = attr(attrs, "regionCode");
	if (!sku || !family)
		rc = offer_err(im, err, at, KS_EINVAL,
			       "product without \"sku\" or \"productFamily\"");
	if (rc || strcmp(family, "Compute Instance") || !type || !type[0] || strlen(type) > 63 ||
	    !attr_is(attrs, "operatingSystem", "Linux", true) ||
	    !attr_is(attrs, "tenancy", "Shared", true) ||
	    !attr_is(attrs, "preInstalledSw", "NA", true) ||
	    !attr_is(attrs, "capacitystatus", "Used", true) ||
	    !attr_is(attrs, "licenseModel", "No License required", false) ||
	    !attr_is(attrs, "marketoption", "OnDemand", false) ||
	    !attr_is(attrs, "operation", "RunInstances", false))
		goto out;
	if (!region || !region[0] || strlen(region) >= sizeof im->st.region) {
		rc = offer_err(im, err, at, KS_EINVAL, "a matching product has no regionCode");
		goto out;
	}
	if (im->want_region && strcmp(region, im->want_region))
		goto out;
	if (!im->st.region[0]) {
		snprintf(im->st.region, sizeof im->st.region, "%s", region);
	} else if (strcmp(im->st.region, region)) {
		char m[256];
		snprintf(m, sizeof m, "the file holds several regions (%s, %s); name the one to "
				      "import", im->st.region, region);
		rc = offer_err(im, err, at, KS_EINVAL, m);
		goto out;
	}
	im->st.matched++;
	char *old = ks_map_put(&im->sku_type, sku, ks_strdup(type));
	free(old);
out:
	return rc;
}

static int take_product(struct offer_import *im, const char *text, size_t len, uint64_t at,
			struct ks_err *err)
{
	struct ks_err perr = {0};
	cJSON *j = ks_json_parse(text, len, COST_OFFER_MAX_MEMBER, &perr);
	if (!j) {
		im->st.products++;
		char m[KS_ERR_MSG_MAX];
		snprintf(m, sizeof m, "product: %s", perr.msg);
		return offer_err(im, err, at, KS_EINVAL, m);
	}
	int rc = take_product_json(im, j, at, err);
	cJSON_Delete(j);
	return rc;
}

/* The hourly USD price of an OnDemand term object {TERM:{"priceDimensions":{...}}}:
 * 1 found, 0 none, <0 error. */
static int term_price(const cJSON *terms, double *out)
{
	const cJSON *t, *d;
	cJSON_ArrayForEach(t, terms) {
		const cJSON *dims = ks_json_child(t, "priceDimensions");
		cJSON_ArrayForEach(d, dims) {
			const char *unit = ks_json_str(d, "unit");
			const char *usd = ks_json_str(d, "pricePerUnit.USD");
			if (!unit || !usd || (strcmp(unit, "Hrs") && strcmp(unit, "Hours")))
				continue;
			if (!cost__parse_decimal(usd, strlen(usd), out))
				return KS_EINVAL;
			return *out > 0;
		}
	}
	return 0;
}

static void record_price(struct offer_import *im, const char *type, double price)
{
	if (ks_map_get(&im->prices, type)) {
		im->st.duplicates++;
		return;
	}
	double *v = ks_malloc(sizeof *v);
	*v = price;
	ks_map_put(&im->prices, type, v);
}

/* The parsed OnDemand terms of sku ({TERM:{"priceDimensions":...}}). */
static int take_term_json(struct offer_import *im, const char *sku, const cJSON *j, uint64_t at,
			  struct ks_err *err)
{
	const char *type = ks_map_get(&im->sku_type, sku);
	if (!type && im->sc.products_done)
		return 0; /* a product the filter dropped */
	double price = 0;
	int found = term_price(j, &price);
	if (found < 0) {
		char m[256];
		snprintf(m, sizeof m, "OnDemand term of %s: pricePerUnit.USD is not a decimal",
			 sku);
		return offer_err(im, err, at, KS_EINVAL, m);
	}
	if (!found)
		return 0;
	if (type) {
		record_price(im, type, price);
	} else {
		double *v = ks_malloc(sizeof *v);
		*v = price;
		free(ks_map_put(&im->pending, sku, v));
	}
	return 0;
}

static int take_term(struct offer_import *im, const char *sku, const char *text, size_t len,
		     uint64_t at, struct ks_err *err)
{
	if (!ks_map_get(&im->sku_type, sku) && im->sc.products_done)
		return 0; /* a product the filter dropped: not even parsed */
	struct ks_err perr = {0};
	cJSON *j = ks_json_parse(text, len, COST_OFFER_MAX_MEMBER, &perr);
	if (!j) {
		char m[KS_ERR_MSG_MAX];
		snprintf(m, sizeof m, "OnDemand term of %s: %s", sku, perr.msg);
		return offer_err(im, err, at, KS_EINVAL, m);
	}
	int rc = take_term_json(im, sku, j, at, err);
	cJSON_Delete(j);
	return rc;
}

/* A captured value ended at sc->pos (exclusive): hand it over. */
static int emit(struct offer_import *im, const char *win, uint64_t win_base, struct ks_err *err)
{
	struct offer_scan *sc = &im->sc;
	const char *text = win + (sc->cap_start - win_base);
	size_t len = (size_t)(sc->pos - sc->cap_start);
	enum capture cap = sc->cap;
	sc->cap = CAP_NONE;
	if (len > COST_OFFER_MAX_MEMBER)
		return member_too_big(im, err, sc->cap_start);
	if (cap == CAP_PRODUCT)
		return take_product(im, text, len, sc->cap_start, err);
	char sku[OFFER_KEY_MAX];
	snprintf(sku, sizeof sku, "%.*s", (int)sc->keylen[3], sc->key[3]);
	return take_term(im, sku, text, len, sc->cap_start, err);
}

static void top_level_string(struct offer_import *im)
{
	struct offer_scan *sc = &im->sc;
	char *dst = NULL;
	size_t cap = 0;
	if (key_is(sc, 1, "publicationDate")) {
		dst = im->st.publication_date;
		cap = sizeof im->st.publication_date;
	} else if (key_is(sc, 1, "version")) {
		dst = im->st.version;
		cap = sizeof im->st.version;
	}
	if (dst)
		snprintf(dst, cap, "%.*s", (int)sc->svallen, sc->sval);
}

/* A value starts at sc->pos (its first byte is c): start capturing when it is one. */
static void value_start(struct offer_scan *sc)
{
	if (sc->cap != CAP_NONE)
		return;
	if (sc->depth == 2 && sc->kind[1] == '{' && sc->kind[2] == '{' && key_is(sc, 1, "products"))
		sc->cap = CAP_PRODUCT;
	else if (sc->depth == 3 && sc->kind[2] == '{' && sc->kind[3] == '{' &&
		 key_is(sc, 1, "terms") && key_is(sc, 2, "OnDemand"))
		sc->cap = CAP_TERM;
	if (sc->cap != CAP_NONE) {
		sc->cap_start = sc->pos;
		sc->cap_depth = sc->depth;
	}
}

/* A value ended; pos is just past it. */
static int value_end(struct offer_import *im, const char *win, uint64_t win_base,
		     struct ks_err *err)
{
	struct offer_scan *sc = &im->sc;
	sc->state = ST_AFTER;
	if (sc->cap != CAP_NONE && sc->depth == sc->cap_depth)
		return emit(im, win, win_base, err);
	return 0;
}

static bool scalar_char(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       c == '-' || c == '+' || c == '.';
}

/* The container at the top of the stack closed; pos is just past its bracket. */
static int close_container(struct offer_import *im, const char *win, uint64_t win_base,
			   struct ks_err *err)
{
	struct offer_scan *sc = &im->sc;
	if (sc->depth == 2 && key_is(sc, 1, "products"))
		sc->products_done = true;
	sc->depth--;
	return value_end(im, win, win_base, err);
}

/* Scan win[sc->pos - win_base, len): win holds the file from win_base on. */
static int scan(struct offer_import *im, const char *win, size_t len, uint64_t win_base,
		struct ks_err *err)
{
	struct offer_scan *sc = &im->sc;
	int rc = 0;
	while (!rc && sc->pos < win_base + len) {
		unsigned char c = (unsigned char)win[sc->pos - win_base];
		if (sc->in_str) {
			sc->pos++;
			if (sc->esc) {
				sc->esc = false;
			} else if (c == '\\') {
				sc->esc = true;
			} else if (c == '"') {
				sc->in_str = false;
				if (sc->str_is_key) {
					sc->state = ST_COLON;
				} else {
					if (sc->depth == 1)
						top_level_string(im);
					rc = value_end(im, win, win_base, err);
				}
				continue;
			} else if (c < 0x20) {
				return offer_err(im, err, sc->pos - 1, KS_EINVAL,
						 "control character in a string");
			}
			/* keep the first bytes of names (levels 1-3) and top-level values */
			if (sc->str_is_key && sc->depth <= 3 &&
			    sc->keylen[sc->depth] < OFFER_KEY_MAX - 1)
				sc->key[sc->depth][sc->keylen[sc->depth]++] = (char)c;
			else if (sc->str_is_key && sc->depth <= 3)
				sc->keylen[sc->depth] = OFFER_KEY_MAX; /* too long: no match */
			else if (!sc->str_is_key && sc->depth == 1 &&
				 sc->svallen < OFFER_KEY_MAX - 1)
				sc->sval[sc->svallen++] = (char)c;
			continue;
		}
		if (sc->in_scalar) {
			if (scalar_char(c)) {
				sc->pos++;
				continue;
			}
			sc->in_scalar = false;
			if ((rc = value_end(im, win, win_base, err)))
				break;
			continue; /* look at c again */
		}
		if (c <= 0x20) {
			sc->pos++;
			continue;
		}
		uint64_t at = sc->pos;
		sc->pos++;
		switch (sc->state) {
		case ST_KEY:
			if (c == '}' && !sc->after_key_comma) {
				rc = close_container(im, win, win_base, err);
				break;
			}
			if (c != '"')
				return offer_err(im, err, at, KS_EINVAL, "expected a member name");
			sc->in_str = true;
			sc->str_is_key = true;
			if (sc->depth <= 3)
				sc->keylen[sc->depth] = 0;
			break;
		case ST_COLON:
			if (c != ':')
				return offer_err(im, err, at, KS_EINVAL, "expected ':'");
			sc->state = ST_VALUE;
			break;
		case ST_FIRST:
			if (c == ']') {
				rc = close_container(im, win, win_base, err);
				break;
			}
			/* fall through */
		case ST_VALUE:
			sc->pos = at;
			value_start(sc);
			sc->pos = at + 1;
			if (c == '{' || c == '[') {
				if (sc->depth >= OFFER_MAX_DEPTH)
					return offer_err(im, err, at, KS_EINVAL,
							 "nested too deeply");
				sc->kind[++sc->depth] = c;
				sc->state = c == '{' ? ST_KEY : ST_FIRST;
				sc->after_key_comma = false;
				if (c == '{' && sc->depth == 2 && key_is(sc, 1, "products"))
					sc->products_seen = true;
			} else if (c == '"') {
				sc->in_str = true;
				sc->str_is_key = false;
				sc->svallen = 0;
			} else if (scalar_char(c)) {
				sc->in_scalar = true;
			} else {
				return offer_err(im, err, at, KS_EINVAL, "expected a value");
			}
			break;
		case ST_AFTER:
			if (sc->depth == 0)
				return offer_err(im, err, at, KS_EINVAL,
						 "text after the end of the document");
			if (c == ',') {
				sc->state = sc->kind[sc->depth] == '{' ? ST_KEY : ST_VALUE;
				sc->after_key_comma = true;
			} else if (c == (sc->kind[sc->depth] == '{' ? '}' : ']')) {
				rc = close_container(im, win, win_base, err);
			} else {
				return offer_err(im, err, at, KS_EINVAL,
						 "expected ',' or a closing bracket");
			}
			break;
		}
		if (sc->depth == 0 && sc->state != ST_AFTER && sc->state != ST_VALUE)
			return offer_err(im, err, at, KS_EINVAL, "unbalanced brackets");
	}
	if (!rc && sc->cap != CAP_NONE && sc->pos - sc->cap_start > COST_OFFER_MAX_MEMBER)
		return member_too_big(im, err, sc->cap_start);
	return rc;
}

static int scan_finish(struct offer_import *im, const char *win, uint64_t win_base,
		       struct ks_err *err)
{
	struct offer_scan *sc = &im->sc;
	if (sc->in_scalar) {
		sc->in_scalar = false;
		int rc = value_end(im, win, win_base, err);
		if (rc)
			return rc;
	}
	if (sc->in_str || sc->depth > 0 || sc->state != ST_AFTER)
		return offer_err(im, err, sc->pos, KS_EINVAL, "the document is truncated");
	if (sc->kind[1] != '{')
		return offer_err(im, err, 0, KS_EINVAL, "not a JSON object");
	if (!sc->products_seen)
		return ks_err_set(err, KS_EINVAL,
				  "%s: no \"products\" object: not an AWS price-list offer file",
				  im->name);
	return 0;
}

static void import_init(struct offer_import *im, const char *name, const char *region)
{
	*im = (struct offer_import){.name = name, .want_region = region};
	im->sc.state = ST_VALUE;
	ks_map_init(&im->sku_type);
	ks_map_init(&im->pending);
	ks_map_init(&im->prices);
}

static void free_values(struct ks_map *m)
{
	const char *k;
	void *v;
	for (size_t i = 0; ks_map_next(m, &i, &k, &v);)
		free(v);
	ks_map_release(m);
}

static void import_release(struct offer_import *im)
{
	free_values(&im->sku_type);
	free_values(&im->pending);
	free_values(&im->prices);
}

/* Join pending prices, then replace p's on-demand prices (all or nothing by now). */
static int import_commit(struct cost_prices *p, struct offer_import *im, struct ks_err *err)
{
	const char *k;
	void *v;
	for (size_t i = 0; ks_map_next(&im->pending, &i, &k, &v);) {
		const char *type = ks_map_get(&im->sku_type, k);
		if (type)
			record_price(im, type, *(double *)v);
	}
	if (im->prices.len == 0)
		return ks_err_set(err, KS_EINVAL,
				  "%s: no Linux, shared-tenancy on-demand instance price%s%s",
				  im->name, im->want_region ? " for region " : "",
				  im->want_region ? im->want_region : "");
	bool same_region = !strcmp(p->region, im->st.region);
	const char *src = add_source(p, ks_asprintf("%s%s (%s)",
						     im->documents ? "" : "offer file ", im->name,
						     im->st.publication_date[0]
							     ? im->st.publication_date
							     : "no publicationDate"));
	if (!same_region) { /* another region's prices, listed or observed, say nothing here */
		for (size_t i = 0; ks_map_next(&p->types, &i, &k, &v);) {
			struct price_entry *e = v;
			e->od_source = NULL;
			free(e->spot_source);
			e->spot_source = NULL;
		}
		snprintf(p->region, sizeof p->region, "%s", im->st.region);
	}
	for (size_t i = 0; ks_map_next(&im->prices, &i, &k, &v);) {
		struct price_entry *e = entry_get_or_add(p, k);
		e->od_usd_hr = *(double *)v;
		e->od_source = src;
		im->st.priced++;
	}
	return 0;
}

static int import_done(struct cost_prices *p, struct offer_import *im, const char *win,
		       uint64_t win_base, struct cost_offer_stats *st, struct ks_err *err)
{
	int rc = scan_finish(im, win, win_base, err);
	if (!rc)
		rc = import_commit(p, im, err);
	im->st.bytes = im->sc.pos;
	if (st)
		*st = im->st;
	import_release(im);
	return rc;
}

int cost_prices_import_offer_mem(struct cost_prices *p, const char *name, const char *data,
				 size_t len, const char *region, struct cost_offer_stats *st,
				 struct ks_err *err)
{
	struct offer_import im;
	if ((uint64_t)len > COST_OFFER_MAX_BYTES)
		return ks_err_set(err, KS_ETOOBIG, "%s: larger than the %llu-byte limit", name,
				  (unsigned long long)COST_OFFER_MAX_BYTES);
	import_init(&im, name, region);
	if (len >= 3 && !memcmp(data, "\xef\xbb\xbf", 3))
		im.sc.pos = 3;
	int rc = scan(&im, data, len, 0, err);
	if (rc) {
		import_release(&im);
		return rc;
	}
	return import_done(p, &im, data, 0, st, err);
}

int cost_prices_import_offer(struct cost_prices *p, const char *path, const char *region,
			     struct cost_offer_stats *st, struct ks_err *err)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return ks_err_set(err, errno == ENOENT ? KS_ENOTFOUND : KS_EIO, "%s: %s", path,
				  strerror(errno));
	struct offer_import im;
	import_init(&im, path, region);
	struct ks_buf win;
	ks_buf_init(&win, COST_OFFER_MAX_MEMBER + 2 * OFFER_READ_CHUNK);
	char *chunk = ks_malloc(OFFER_READ_CHUNK);
	uint64_t win_base = 0, total = 0;
	size_t n;
	int rc = 0;
	while (!rc && (n = fread(chunk, 1, OFFER_READ_CHUNK, f)) > 0) {
		if (total == 0 && n >= 3 && !memcmp(chunk, "\xef\xbb\xbf", 3))
			im.sc.pos = 3;
		total += n;
		if (total > COST_OFFER_MAX_BYTES) {
			rc = ks_err_set(err, KS_ETOOBIG, "%s: larger than the %llu-byte limit",
					path, (unsigned long long)COST_OFFER_MAX_BYTES);
			break;
		}
		if (ks_buf_append(&win, chunk, n)) {
			rc = member_too_big(&im, err, win_base);
			break;
		}
		rc = scan(&im, win.data, win.len, win_base, err);
		/* keep what a capture in progress needs, drop the rest */
		uint64_t keep_from = im.sc.cap != CAP_NONE ? im.sc.cap_start : im.sc.pos;
		ks_buf_consume(&win, (size_t)(keep_from - win_base));
		win_base = keep_from;
	}
	if (!rc && ferror(f))
		rc = ks_err_set(err, KS_EIO, "%s: read error", path);
	fclose(f);
	free(chunk);
	if (!rc)
		rc = import_done(p, &im, win.data ? win.data : "", win_base, st, err);
	else
		import_release(&im);
	ks_buf_release(&win);
	return rc;
}

/* ---- GetProducts documents (pricing_internal.h) ---- */

struct offer_import *cost__offer_new(const char *name, const char *region)
{
	struct offer_import *im = ks_malloc(sizeof *im);
	import_init(im, name, region);
	im->documents = true;
	im->sc.products_done = true; /* a document's terms follow its product */
	return im;
}

void cost__offer_free(struct offer_import *im)
{
	if (im) {
		import_release(im);
		free(im);
	}
}

/* Keep the first document's publicationDate and version, as an offer file's top level. */
static void document_meta(struct offer_import *im, const cJSON *doc)
{
	const char *pub = ks_json_str(doc, "publicationDate"), *ver = ks_json_str(doc, "version");
	if (pub && !im->st.publication_date[0])
		snprintf(im->st.publication_date, sizeof im->st.publication_date, "%s", pub);
	if (ver && !im->st.version[0])
		snprintf(im->st.version, sizeof im->st.version, "%s", ver);
}

int cost__offer_add_document(struct offer_import *im, const char *text, size_t len,
			     uint64_t index, struct ks_err *err)
{
	if (len > COST_OFFER_MAX_MEMBER)
		return member_too_big(im, err, index);
	im->st.bytes += len;
	struct ks_err perr = {0};
	cJSON *doc = ks_json_parse(text, len, COST_OFFER_MAX_MEMBER, &perr);
	if (!doc)
		return offer_err(im, err, index, KS_EINVAL, perr.msg);
	int rc = 0;
	const cJSON *product = ks_json_child(doc, "product");
	const cJSON *ondemand = ks_json_get(doc, "terms.OnDemand");
	const char *sku = ks_json_str(product, "sku");
	if (!cJSON_IsObject(product) || !sku) {
		rc = offer_err(im, err, index, KS_EINVAL, "no \"product\" object with a \"sku\"");
		goto out;
	}
	document_meta(im, doc);
	rc = take_product_json(im, product, index, err);
	if (!rc && ondemand && !cJSON_IsObject(ondemand))
		rc = offer_err(im, err, index, KS_EINVAL,
			       "\"terms\".\"OnDemand\" is not an object");
	if (!rc && ondemand)
		rc = take_term_json(im, sku, ondemand, index, err);
out:
	cJSON_Delete(doc);
	return rc;
}

int cost__offer_commit(struct cost_prices *p, struct offer_import *im,
		       struct cost_offer_stats *st, struct ks_err *err)
{
	int rc = import_commit(p, im, err);
	if (st)
		*st = im->st;
	return rc;
}
