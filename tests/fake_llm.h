/* fake_llm.h — an in-process LLM server on a loopback port for test_llm and test_explain
 * (static functions: each test binary includes it once).
 *
 * It speaks both wire formats exactly as llm.h documents them: POST /api/chat answers
 * application/x-ndjson lines {"model","created_at","message":{"role":"assistant",
 * "content"},"done":false} and a final {"done":true,"done_reason":"stop",…}; POST
 * /v1/chat/completions answers text/event-stream "data: {chat.completion.chunk}\n\n" events
 * and "data: [DONE]\n\n". Answers are chunked and cut every `piece` bytes, so tokens and
 * even JSON documents arrive split across writes. It can also answer 429 (Retry-After) a
 * number of times first, answer an error status with a backend-shaped body, or wait before
 * the first byte (timeouts). Every request body is recorded, and the number of requests in
 * flight at once is counted. */
#ifndef KS_TEST_FAKE_LLM_H
#define KS_TEST_FAKE_LLM_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "base/buf.h"

struct fake_llm {
	struct MHD_Daemon *d;
	int port;
	char url[64];
	/* behaviour */
	const char *const *tokens; /* NULL-terminated; the answer */
	const char *raw;           /* when set: sent as the whole 200 body, as is */
	size_t piece;              /* bytes per write; 0: 7 */
	int delay_ms;              /* before the first byte */
	int fail_429;              /* answer 429 this many times first */
	int error_status;          /* answer this status with a backend error body */
	/* observed */
	pthread_mutex_t mu;
	int requests, active, max_active;
	struct ks_buf bodies;      /* every request body, each followed by "\n----\n" */
	char authorization[256];   /* the last request's Authorization header */
	volatile int stopping;
};

/* The fixed parts of each backend's stream and error bodies. */
#define OPENAI_CHUNK                                                                          \
	"data: {\"id\":\"chatcmpl-7\",\"object\":\"chat.completion.chunk\","                   \
	"\"created\":1795255200,\"model\":\"gpt-4o-mini\","                                     \
	"\"system_fingerprint\":\"fp_44709d6fcb\",\"choices\":[{\"index\":0,"
#define OPENAI_LAST                                                                           \
	OPENAI_CHUNK "\"delta\":{},\"logprobs\":null,\"finish_reason\":\"stop\"}]}\n\n"          \
		     "data: [DONE]\n\n"
#define OLLAMA_LINE                                                                           \
	"{\"model\":\"llama3.2\",\"created_at\":\"2026-11-21T10:00:00.000000Z\","                \
	"\"message\":{\"role\":\"assistant\","
#define OLLAMA_LAST                                                                           \
	OLLAMA_LINE "\"content\":\"\"},\"done\":true,\"done_reason\":\"stop\","                 \
		    "\"total_duration\":4883583458,\"load_duration\":1334875,"                     \
		    "\"prompt_eval_count\":26,\"prompt_eval_duration\":342546000,"                 \
		    "\"eval_count\":282,\"eval_duration\":4535599000}\n"
#define OPENAI_429                                                                            \
	"{\"error\":{\"message\":\"Rate limit reached\",\"type\":\"requests\","                 \
	"\"code\":\"rate_limit_exceeded\"}}"
#define OPENAI_401                                                                            \
	"{\"error\":{\"message\":\"Incorrect API key provided\",\"type\":"                      \
	"\"invalid_request_error\",\"param\":null,\"code\":\"invalid_api_key\"}}"

struct fake_conn {
	struct ks_buf body;
	bool counted;
};

struct fake_stream {
	struct fake_llm *s;
	char *data;
	size_t len, pos;
	bool waited;
};

static void fake_sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static ssize_t fake_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct fake_stream *st = cls;
	if (!st->waited) {
		st->waited = true;
		for (int t = 0; t < st->s->delay_ms && !st->s->stopping; t += 10)
			fake_sleep_ms(10);
	}
	if (st->pos >= st->len)
		return MHD_CONTENT_READER_END_OF_STREAM;
	size_t piece = st->s->piece ? st->s->piece : 7;
	size_t n = st->len - st->pos;
	n = n < piece ? n : piece;
	n = n < max ? n : max;
	memcpy(buf, st->data + st->pos, n);
	st->pos += n;
	fake_sleep_ms(1);
	return (ssize_t)n;
}

static void fake_free_stream(void *cls)
{
	struct fake_stream *st = cls;
	free(st->data);
	free(st);
}

/* The answer in the backend's exact streaming format. */
static char *fake_script(struct fake_llm *s, bool openai)
{
	struct ks_buf b;
	ks_buf_init(&b, KS_BUF_UNLIMITED);
	if (s->raw) {
		ks_buf_appendstr(&b, s->raw);
		return ks_buf_detach(&b);
	}
	for (size_t i = 0; s->tokens && s->tokens[i]; i++) {
		ks_buf_appendstr(&b, openai ? OPENAI_CHUNK "\"delta\":{" : OLLAMA_LINE);
		if (openai && i == 0)
			ks_buf_appendstr(&b, "\"role\":\"assistant\",");
		ks_buf_appendstr(&b, "\"content\":");
		ks_buf_append_json_string(&b, s->tokens[i]);
		ks_buf_appendstr(&b, openai ? "},\"logprobs\":null,\"finish_reason\":null}]}\n\n"
					    : "},\"done\":false}\n");
	}
	ks_buf_appendstr(&b, openai ? OPENAI_LAST : OLLAMA_LAST);
	return ks_buf_detach(&b);
}

static enum MHD_Result fake_queue(struct MHD_Connection *c, unsigned status, const char *ctype,
				  const char *body, const char *retry_after)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), (void *)body,
								 MHD_RESPMEM_MUST_COPY);
	MHD_add_response_header(r, "Content-Type", ctype);
	if (retry_after)
		MHD_add_response_header(r, "Retry-After", retry_after);
	enum MHD_Result ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result fake_handler(void *cls, struct MHD_Connection *c, const char *url,
				    const char *method, const char *version,
				    const char *upload, size_t *upload_size, void **con_cls)
{
	struct fake_llm *s = cls;
	struct fake_conn *fc = *con_cls;
	if (!fc) {
		fc = ks_calloc(1, sizeof *fc);
		ks_buf_init(&fc->body, KS_BUF_UNLIMITED);
		*con_cls = fc;
		pthread_mutex_lock(&s->mu);
		s->requests++;
		s->active++;
		fc->counted = true;
		if (s->active > s->max_active)
			s->max_active = s->active;
		const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
		snprintf(s->authorization, sizeof s->authorization, "%s", auth ? auth : "");
		pthread_mutex_unlock(&s->mu);
		return MHD_YES;
	}
	if (*upload_size) {
		ks_buf_append(&fc->body, upload, *upload_size);
		*upload_size = 0;
		return MHD_YES;
	}
	pthread_mutex_lock(&s->mu);
	ks_buf_append(&s->bodies, fc->body.data, fc->body.len);
	ks_buf_appendstr(&s->bodies, "\n----\n");
	bool fail = s->fail_429 > 0;
	if (fail)
		s->fail_429--;
	pthread_mutex_unlock(&s->mu);
	bool openai = !strcmp(url, "/v1/chat/completions");
	if (strcmp(method, "POST") || (!openai && strcmp(url, "/api/chat")))
		return fake_queue(c, 404, "text/plain", "404 page not found", NULL);
	if (fail)
		return fake_queue(c, 429, "application/json",
				  openai ? OPENAI_429 : "{\"error\":\"too many requests\"}", "1");
	if (s->error_status)
		return fake_queue(c, (unsigned)s->error_status, "application/json",
				  openai ? OPENAI_401 : "{\"error\":\"model 'nope' not found\"}",
				  NULL);
	struct fake_stream *st = ks_calloc(1, sizeof *st);
	st->s = s;
	st->data = fake_script(s, openai);
	st->len = strlen(st->data);
	struct MHD_Response *r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 1024,
								   fake_read, st,
								   fake_free_stream);
	MHD_add_response_header(r, "Content-Type",
				openai ? "text/event-stream" : "application/x-ndjson");
	enum MHD_Result ret = MHD_queue_response(c, 200, r);
	MHD_destroy_response(r);
	return ret;
}

static void fake_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			   enum MHD_RequestTerminationCode toe)
{
	struct fake_llm *s = cls;
	struct fake_conn *fc = *con_cls;
	if (!fc)
		return;
	pthread_mutex_lock(&s->mu);
	if (fc->counted)
		s->active--;
	pthread_mutex_unlock(&s->mu);
	ks_buf_release(&fc->body);
	free(fc);
	*con_cls = NULL;
}

static void fake_llm_start(struct fake_llm *s)
{
	pthread_mutex_init(&s->mu, NULL);
	ks_buf_init(&s->bodies, KS_BUF_UNLIMITED);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s->d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD,
				0, NULL, NULL, fake_handler, s, MHD_OPTION_SOCK_ADDR, &sa,
				MHD_OPTION_NOTIFY_COMPLETED, fake_completed, s,
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10, MHD_OPTION_END);
	assert_non_null(s->d);
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
	s->port = info->port;
	snprintf(s->url, sizeof s->url, "http://127.0.0.1:%d", s->port);
}

static void fake_llm_stop(struct fake_llm *s)
{
	s->stopping = 1;
	MHD_stop_daemon(s->d);
	ks_buf_release(&s->bodies);
	pthread_mutex_destroy(&s->mu);
}

#endif
