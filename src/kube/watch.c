/* watch.c — the LIST/WATCH state machine and the watch stream framing. See watch.h for the
 * diagram; the arrows are: start_list (LIST, RELIST), start_watch (WATCH), watch_done (end of
 * a stream: -> WATCH again, BACKOFF or RELIST), schedule_backoff (BACKOFF). */
#include "base/common.h"
#include "base/json.h"
#include "base/timeutil.h"
#include "kube/watch.h"

#include "base/opstats.h"

#include <stdio.h>
#include <string.h>

/* ---- framing ---- */

void kube_watch_framer_init(struct kube_watch_framer *f, size_t max_event)
{
	f->max_event = max_event ? max_event : KUBE_WATCH_MAX_EVENT;
	ks_buf_init(&f->line, f->max_event);
}

void kube_watch_framer_release(struct kube_watch_framer *f)
{
	ks_buf_release(&f->line);
}

static const char *const event_names[] = {"ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR"};

const char *kube_event_type_name(enum kube_event_type t)
{
	return (unsigned)t < KS_ARRAY_LEN(event_names) ? event_names[t] : "?";
}

int kube_watch_parse_event(const char *line, size_t len, enum kube_event_type *type,
			   cJSON **object, struct ks_err *err)
{
	cJSON *ev = ks_json_parse(line, len, KUBE_WATCH_MAX_EVENT, err);
	if (!ev)
		return ks_err_wrap(err, "watch event");
	const char *t = ks_json_str(ev, "type");
	int rc = 0;
	int found = -1;
	for (size_t i = 0; t && i < KS_ARRAY_LEN(event_names); i++)
		if (!strcmp(t, event_names[i]))
			found = (int)i;
	cJSON *obj = cJSON_DetachItemFromObjectCaseSensitive(ev, "object");
	if (found < 0)
		rc = ks_err_set(err, KS_EINVAL, "watch event: unknown type '%.40s'", t ? t : "(none)");
	else if (!cJSON_IsObject(obj))
		rc = ks_err_set(err, KS_EINVAL, "watch event %s: no object", t);
	cJSON_Delete(ev);
	if (rc) {
		cJSON_Delete(obj);
		return rc;
	}
	*type = (enum kube_event_type)found;
	*object = obj;
	return 0;
}

static int emit_line(struct kube_watch_framer *f, const char *p, size_t n, kube_event_fn fn,
		     void *ctx, struct ks_err *err)
{
	while (n && (p[n - 1] == '\r' || p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	size_t skip = 0;
	while (skip < n && (p[skip] == ' ' || p[skip] == '\t'))
		skip++;
	if (skip == n)
		return 0; /* blank line: keep-alive */
	enum kube_event_type type;
	cJSON *obj = NULL;
	int rc = kube_watch_parse_event(p + skip, n - skip, &type, &obj, err);
	if (rc)
		return rc;
	rc = fn(ctx, type, obj);
	cJSON_Delete(obj);
	(void)f;
	return rc;
}

int kube_watch_framer_feed(struct kube_watch_framer *f, const char *p, size_t n,
			   kube_event_fn fn, void *ctx, struct ks_err *err)
{
	while (n) {
		const char *nl = memchr(p, '\n', n);
		size_t take = nl ? (size_t)(nl - p) : n;
		if (f->line.len == 0 && nl) {
			/* The whole event is in this chunk: no copy. */
			int rc = emit_line(f, p, take, fn, ctx, err);
			if (rc)
				return rc;
		} else {
			if (ks_buf_append(&f->line, p, take)) {
				ks_buf_reset(&f->line);
				return ks_err_set(err, KS_ETOOBIG,
						  "watch event larger than the %zu-byte limit",
						  f->max_event);
			}
			if (nl) {
				int rc = emit_line(f, f->line.data, f->line.len, fn, ctx, err);
				ks_buf_reset(&f->line);
				if (rc)
					return rc;
			}
		}
		if (!nl)
			break;
		p += take + 1;
		n -= take + 1;
	}
	return 0;
}

/* ---- the watch loop ---- */

struct kube_watch {
	struct kube_client *c;
	struct kube_resource r;
	struct kube_watch_opts o;
	char *ns, *label_selector, *field_selector;
	struct kube_watch_handlers h;
	enum kube_watch_state state;
	char rv[64];
	bool need_list;
	bool gone;          /* the stream said 410: relist */
	int64_t due_ms;     /* BACKOFF until then */
	long backoff_ms;
	struct kube_http_xfer *xfer;
	struct kube_watch_framer framer;
	struct ks_err stream_err; /* a framing error that stopped the stream */
	struct kube_watch_stats stats;
	struct ks_json_arena arena; /* events live during their callback only */
	uint64_t rng;
};

static uint64_t rnd(struct kube_watch *w)
{
	/* xorshift64*: jitter only, not for anything secret. */
	w->rng ^= w->rng >> 12;
	w->rng ^= w->rng << 25;
	w->rng ^= w->rng >> 27;
	return w->rng * 2685821657736338717ULL;
}

static void set_state(struct kube_watch *w, enum kube_watch_state s, const struct ks_err *err)
{
	w->state = s;
	if (w->h.on_state)
		w->h.on_state(w->h.ctx, s, err);
}

struct kube_watch *kube_watch_new(struct kube_client *c, const struct kube_resource *r,
				  const struct kube_watch_opts *o,
				  const struct kube_watch_handlers *h)
{
	struct kube_watch *w = ks_calloc(1, sizeof *w);
	w->c = c;
	w->r = *r;
	w->r.subresource[0] = '\0';
	if (o)
		w->o = *o;
	w->ns = w->o.ns ? ks_strdup(w->o.ns) : NULL;
	w->label_selector = w->o.label_selector ? ks_strdup(w->o.label_selector) : NULL;
	w->field_selector = w->o.field_selector ? ks_strdup(w->o.field_selector) : NULL;
	w->o.ns = w->ns;
	w->o.label_selector = w->label_selector;
	w->o.field_selector = w->field_selector;
	if (w->o.resource_version)
		snprintf(w->rv, sizeof w->rv, "%s", w->o.resource_version);
	w->o.resource_version = NULL;
	if (!w->o.backoff_initial_ms)
		w->o.backoff_initial_ms = 800;
	if (!w->o.backoff_max_ms)
		w->o.backoff_max_ms = 30000;
	w->h = *h;
	w->need_list = w->rv[0] == '\0';
	w->rng = (uint64_t)ks_time_now_ms() ^ (uint64_t)(uintptr_t)w;
	if (!w->rng)
		w->rng = 1;
	kube_watch_framer_init(&w->framer, 0);
	return w;
}

static void schedule_backoff(struct kube_watch *w, const struct ks_err *err)
{
	/* Full jitter in [backoff/2, backoff], then double, capped. */
	long b = w->backoff_ms ? w->backoff_ms : w->o.backoff_initial_ms;
	long wait = b / 2 + (long)(rnd(w) % (uint64_t)(b / 2 + 1));
	w->backoff_ms = b * 2 > w->o.backoff_max_ms ? w->o.backoff_max_ms : b * 2;
	w->due_ms = ks_mono_ms() + wait;
	w->stats.restarts++;
	ks_op_count(KS_OP_WATCH_RESTART);
	KS_INFO("watch", "%s: %s; retrying in %ld ms", w->r.resource,
		err ? err->msg : "stream ended", wait);
	set_state(w, KW_BACKOFF, err);
}

static int list_page(void *ctx, cJSON *page)
{
	struct kube_watch *w = ctx;
	if (w->h.on_list_page) {
		cJSON *items = cJSON_GetObjectItemCaseSensitive(page, "items");
		w->h.on_list_page(w->h.ctx, items ? items : page);
	}
	return w->state == KW_STOPPED ? KS_ECANCELED : 0;
}

static void start_watch(struct kube_watch *w);

static void start_list(struct kube_watch *w)
{
	set_state(w, KW_LIST, NULL);
	struct kube_list_opts lo = {
		.label_selector = w->o.label_selector,
		.field_selector = w->o.field_selector,
		.limit = w->o.page_size,
		.transient_pages = true,
	};
	struct ks_err err = {0};
	char rv[64] = "";
	if (w->h.on_list_begin)
		w->h.on_list_begin(w->h.ctx);
	int rc = kube_list_pages(w->c, &w->r, w->o.ns, &lo, list_page, w, rv, sizeof rv, &err);
	if (w->state == KW_STOPPED)
		return;
	if (rc) {
		schedule_backoff(w, &err);
		return;
	}
	w->stats.lists++;
	if (w->gone) {
		w->stats.relists++;
		ks_op_count(KS_OP_WATCH_RESTART);
	}
	w->gone = false;
	w->need_list = false;
	snprintf(w->rv, sizeof w->rv, "%s", rv);
	if (w->h.on_list_end)
		w->h.on_list_end(w->h.ctx, w->rv);
	if (w->state != KW_STOPPED)
		start_watch(w);
}

static int on_stream_event(void *ctx, enum kube_event_type type, cJSON *obj)
{
	struct kube_watch *w = ctx;
	if (type == KUBE_EV_ERROR) {
		int code = (int)ks_json_int_or(obj, "code", 0);
		if (code == 410) {
			w->gone = true;
			w->stats.gone++;
			return KS_EGONE;
		}
		ks_err_set(&w->stream_err, KS_EHTTP, "watch %s: %s (code %d)", w->r.resource,
			   ks_json_str_or(obj, "message", "error event"), code);
		return KS_EHTTP;
	}
	const char *rv = ks_json_str(obj, "metadata.resourceVersion");
	if (rv)
		snprintf(w->rv, sizeof w->rv, "%s", rv);
	w->backoff_ms = 0; /* a healthy stream resets the back-off */
	if (type == KUBE_EV_BOOKMARK) {
		w->stats.bookmarks++;
		return 0;
	}
	w->stats.events++;
	if (w->h.on_event)
		w->h.on_event(w->h.ctx, type, obj);
	return w->state == KW_STOPPED ? KS_ECANCELED : 0;
}

static int on_stream_data(void *ctx, const char *p, size_t n)
{
	struct kube_watch *w = ctx;
	/* Events live during their callback only: parse them in an arena. */
	ks_json_arena_begin(&w->arena);
	int rc = kube_watch_framer_feed(&w->framer, p, n, on_stream_event, w, &w->stream_err);
	ks_json_arena_end(&w->arena);
	return rc;
}

static void watch_done(void *ctx, struct kube_http_resp *resp, int rc, const struct ks_err *err)
{
	struct kube_watch *w = ctx;
	w->xfer = NULL;
	ks_buf_reset(&w->framer.line);
	if (w->state == KW_STOPPED)
		return;
	if (rc == KS_EGONE || w->gone) {
		/* 410 Gone: our resourceVersion is older than etcd keeps. Relist. */
		w->gone = true;
		w->need_list = true;
		KS_INFO("watch", "%s: resourceVersion %s is gone; relisting", w->r.resource, w->rv);
		w->due_ms = 0;
		set_state(w, KW_BACKOFF, NULL);
		return;
	}
	if (rc == 0) {
		/* The server closed the stream (timeoutSeconds): resume at once. */
		start_watch(w);
		return;
	}
	schedule_backoff(w, w->stream_err.code ? &w->stream_err : err);
	ks_err_clear(&w->stream_err);
	(void)resp;
}

static void start_watch(struct kube_watch *w)
{
	struct ks_buf path;
	ks_buf_init(&path, 16384);
	kube_path(&path, &w->r, w->o.ns, NULL);
	int timeout = w->o.timeout_s > 0 ? w->o.timeout_s : 300 + (int)(rnd(w) % 300);
	ks_buf_appendf(&path, "?watch=1&timeoutSeconds=%d", timeout);
	if (!w->o.no_bookmarks)
		ks_buf_appendstr(&path, "&allowWatchBookmarks=true");
	if (w->rv[0]) {
		ks_buf_appendstr(&path, "&resourceVersion=");
		ks_buf_append_urlenc(&path, w->rv);
	}
	if (w->o.label_selector && *w->o.label_selector) {
		ks_buf_appendstr(&path, "&labelSelector=");
		ks_buf_append_urlenc(&path, w->o.label_selector);
	}
	if (w->o.field_selector && *w->o.field_selector) {
		ks_buf_appendstr(&path, "&fieldSelector=");
		ks_buf_append_urlenc(&path, w->o.field_selector);
	}
	struct kube_http_req req = {
		.method = "GET",
		.path = path.data,
		.timeout_ms = (long)(timeout + 30) * 1000,
		.on_data = on_stream_data,
		.data_ctx = w,
	};
	ks_err_clear(&w->stream_err);
	w->stats.watches++;
	set_state(w, KW_WATCH, NULL);
	w->xfer = kube_http_start(w->c->http, &req, watch_done, w);
	ks_buf_release(&path);
}

void kube_watch_start(struct kube_watch *w)
{
	if (w->need_list)
		start_list(w);
	else
		start_watch(w);
}

long kube_watch_tick(struct kube_watch *w, long timeout_ms)
{
	if (w->state == KW_BACKOFF) {
		int64_t now = ks_mono_ms();
		if (now >= w->due_ms) {
			kube_watch_start(w);
		} else if (timeout_ms < 0 || w->due_ms - now < timeout_ms) {
			timeout_ms = (long)(w->due_ms - now);
		}
	}
	return timeout_ms;
}

void kube_watch_poll(struct kube_watch *w, long timeout_ms)
{
	kube_http_poll(w->c->http, kube_watch_tick(w, timeout_ms));
}

void kube_watch_stop(struct kube_watch *w)
{
	if (w->xfer)
		kube_http_cancel(w->c->http, w->xfer);
	w->xfer = NULL;
	set_state(w, KW_STOPPED, NULL);
}

void kube_watch_resume(struct kube_watch *w, const char *rv)
{
	if (w->xfer)
		kube_http_cancel(w->c->http, w->xfer);
	w->xfer = NULL;
	snprintf(w->rv, sizeof w->rv, "%s", rv);
	w->need_list = false;
	start_watch(w);
}

void kube_watch_free(struct kube_watch *w)
{
	if (!w)
		return;
	if (w->xfer)
		kube_http_cancel(w->c->http, w->xfer);
	kube_watch_framer_release(&w->framer);
	ks_json_arena_release(&w->arena);
	free(w->ns);
	free(w->label_selector);
	free(w->field_selector);
	free(w);
}

enum kube_watch_state kube_watch_state(const struct kube_watch *w)
{
	return w->state;
}

const char *kube_watch_rv(const struct kube_watch *w)
{
	return w->rv;
}

void kube_watch_get_stats(const struct kube_watch *w, struct kube_watch_stats *out)
{
	*out = w->stats;
}
