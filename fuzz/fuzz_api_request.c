/* fuzz_api_request.c — libFuzzer target for what the API server parses from outside
 * (server/apireq.h): Last-Event-ID / ?since= sequence numbers, ?limit=, plan ids, stream
 * filters (a query-like "key=value&key=value" split here, as libmicrohttpd hands the server
 * decoded pairs), the approve / reject / ask JSON bodies, and the bearer token check.
 * The first byte picks the parser; the rest is its input (at most SERVER_MAX_BODY bytes).
 * Beyond "no crash, no UB, no leak" it checks, aborting on a violation:
 *  - a parsed seq is what its digits say (printed back equal, leading zeros aside);
 *  - a parsed limit is within 1..max; a valid plan id has no '/' and fits API_PLAN_ID_MAX;
 *  - a parsed decision's "by" fits and its text is within API_TEXT_MAX (reject: non-empty);
 *  - the token check accepts exactly "Bearer " + the token. */
#include "base/common.h"
#include "server/apireq.h"
#include "server/server.h"

#include <stdio.h>
#include <string.h>

static void check_seq(const char *s)
{
	int64_t v;
	if (api_parse_seq(s, &v, NULL))
		return;
	const char *d = s[0] == 'm' ? s + 1 : s;
	while (d[0] == '0' && d[1])
		d++;
	char back[32];
	snprintf(back, sizeof back, "%lld", (long long)v);
	if (v < 0 || strcmp(back, d))
		abort();
}

static void check_filter(char *q)
{
	struct api_stream_filter f = {0};
	struct swarm_msg m = {.type = SWARM_MSG_PROPOSAL, .cluster = "local", .from = "cost",
			      .subject = {.kind = "Deployment", .namespace = "shop",
					  .name = "web"}};
	for (char *pair = strtok_r(q, "&", &q); pair; pair = strtok_r(NULL, "&", &q)) {
		char *eq = strchr(pair, '=');
		if (eq)
			*eq = '\0';
		if (api_stream_filter_set(&f, pair, eq ? eq + 1 : "", NULL))
			return;
	}
	bool match = api_stream_filter_match(&f, &m);
	/* A filter naming other values cannot match. */
	if (match && ((f.from[0] && strcmp(f.from, "cost")) ||
		      (f.types && !(f.types & (1u << SWARM_MSG_PROPOSAL)))))
		abort();
}

static void check_decision(const char *body, size_t len, bool reject)
{
	struct api_decision d;
	int rc = reject ? api_parse_reject(body, len, &d, NULL)
			: api_parse_approve(body, len, &d, NULL);
	if (rc)
		return;
	if (strlen(d.by) >= API_BY_MAX || (d.text && strlen(d.text) > API_TEXT_MAX) ||
	    (reject && (!d.text || !*d.text)))
		abort();
	api_decision_release(&d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > SERVER_MAX_BODY + 1)
		return 0;
	char *s = ks_malloc(size);
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	switch (data[0] % 8) {
	case 0:
		check_seq(s);
		break;
	case 1: {
		int v;
		if (!api_parse_limit(s, 100, 1000, &v, NULL) && (v < 1 || v > 1000))
			abort();
		break;
	}
	case 2:
		if (api_plan_id_valid(s) && (strchr(s, '/') || strlen(s) >= API_PLAN_ID_MAX))
			abort();
		break;
	case 3:
		check_filter(s);
		break;
	case 4:
		check_decision((const char *)data + 1, size - 1, false);
		break;
	case 5:
		check_decision((const char *)data + 1, size - 1, true);
		break;
	case 6: {
		char *q;
		if (!api_parse_ask((const char *)data + 1, size - 1, &q, NULL)) {
			if (!*q || strlen(q) > API_TEXT_MAX)
				abort();
			free(q);
		}
		break;
	}
	default: {
		static const char token[] = "s3cret-token";
		bool ok = api_bearer_ok(s, token);
		if (ok != (strncmp(s, "Bearer ", 7) == 0 && strcmp(s + 7, token) == 0))
			abort();
		break;
	}
	}
	free(s);
	return 0;
}
