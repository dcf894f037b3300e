/* fake_prom.h — an in-process Prometheus HTTP API on a loopback port for test_prom and
 * test_rightsize (static functions: each test binary includes it once).
 *
 * Every POST is answered with a recorded response from tests/fixtures/: the test's route
 * function picks the fixture from the form-encoded query; a fixture whose name holds "error"
 * is answered with status 400, as Prometheus answers bad_data. The mode can also make it
 * answer an HTML 502 (a proxy in the way) or answer 400 ms late. It counts the requests and
 * keeps the last path and form, and "PATH FORM" of the first FAKE_PROM_KEPT requests. */
#ifndef KS_TEST_FAKE_PROM_H
#define KS_TEST_FAKE_PROM_H

#include <microhttpd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"

#include "metrics/prom.h"

#define FAKE_PROM_KEPT 8

enum fake_prom_mode { FAKE_PROM_REPLAY, FAKE_PROM_HTML_502, FAKE_PROM_SLOW };

struct fake_prom {
	/* set by the test */
	const char *(*route)(void *ctx, const char *form); /* the fixture answering form */
	void *route_ctx;
	enum fake_prom_mode mode;
	/* set by the server */
	struct MHD_Daemon *d;
	int port;
	int requests;
	char last_path[64];
	char last_form[4096];
	char forms[FAKE_PROM_KEPT][1024];
};

struct fake_prom_upload {
	struct ks_buf body;
};

static enum MHD_Result fake_prom_on_req(void *cls, struct MHD_Connection *conn,
					const char *url, const char *method, const char *version,
					const char *data, size_t *data_size, void **con_cls)
{
	struct fake_prom *fp = cls;
	struct fake_prom_upload *u = *con_cls;
	if (!u) {
		u = ks_calloc(1, sizeof(*u));
		ks_buf_init(&u->body, 1 << 20);
		*con_cls = u;
		return MHD_YES;
	}
	if (*data_size) {
		ks_buf_append(&u->body, data, *data_size);
		*data_size = 0;
		return MHD_YES;
	}
	const char *form = u->body.data ? u->body.data : "";
	if (fp->requests < FAKE_PROM_KEPT)
		snprintf(fp->forms[fp->requests], sizeof(fp->forms[0]), "%s %s", url, form);
	fp->requests++;
	snprintf(fp->last_path, sizeof(fp->last_path), "%s", url);
	snprintf(fp->last_form, sizeof(fp->last_form), "%s", form);
	char *text;
	unsigned status = 200;
	if (fp->mode == FAKE_PROM_HTML_502) {
		text = ks_strdup("<html><body>502 Bad Gateway</body></html>\n");
		status = 502;
	} else {
		if (fp->mode == FAKE_PROM_SLOW)
			usleep(400 * 1000);
		const char *fx = fp->route(fp->route_ctx, form);
		text = tu_read_fixture(fx);
		if (strstr(fx, "error"))
			status = 400;
	}
	struct MHD_Response *r =
		MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
	MHD_add_response_header(r, "Content-Type", "application/json");
	enum MHD_Result ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

static void fake_prom_on_done(void *cls, struct MHD_Connection *conn, void **con_cls,
			      enum MHD_RequestTerminationCode toe)
{
	struct fake_prom_upload *u = *con_cls;
	if (u) {
		ks_buf_release(&u->body);
		free(u);
		*con_cls = NULL;
	}
}

/* Start the server on an ephemeral loopback port (fp->route set); fails the test if not. */
static void fake_prom_start(struct fake_prom *fp)
{
	fp->d = MHD_start_daemon(MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL,
				 fake_prom_on_req, fp, MHD_OPTION_NOTIFY_COMPLETED,
				 fake_prom_on_done, fp, MHD_OPTION_END);
	assert_non_null(fp->d);
	fp->port = MHD_get_daemon_info(fp->d, MHD_DAEMON_INFO_BIND_PORT)->port;
}

static void fake_prom_stop(struct fake_prom *fp)
{
	MHD_stop_daemon(fp->d);
	fp->d = NULL;
}

/* Its base URL (caller frees). */
static char *fake_prom_url(const struct fake_prom *fp)
{
	return ks_asprintf("http://127.0.0.1:%d/", fp->port);
}

/* A client of it with the default options (caller frees with prom_client_free). */
static struct prom_client *fake_prom_client(const struct fake_prom *fp)
{
	char *url = fake_prom_url(fp);
	struct prom_client_opts po = {.url = url};
	struct prom_client *c = NULL;
	struct ks_err err = {0};
	if (prom_client_new(&po, &c, &err))
		fail_msg("%s", err.msg);
	free(url);
	return c;
}

#endif
