/*
 * fetch.c - bounded HTTP GET/POST for AIA, CRL and OCSP (see fetch.h),
 * through the calling thread's transport (http.h): its connections stay
 * open for the next fetch of the same thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mailcert/fetch.h"
#include "mailcert/http.h"

#define FETCH_DEFAULT_TIMEOUT_MS 10000

/* mc_fetch - GET (or POST opts->body) url into out. */
int
mc_fetch(const char *url, const struct mc_fetch_opts *opts,
         struct mc_fetch_result *out, struct mc_err *err)
{
	struct mc_http *http = mc_http_thread(err);
	struct mc_http_resp r = {0};
	struct mc_http_req req = {0};
	char ctype[160];
	const char *hdrs[2] = {NULL, NULL};
	long ms =
	    opts->timeout_ms > 0 ? opts->timeout_ms : FETCH_DEFAULT_TIMEOUT_MS;

	memset(out, 0, sizeof(*out));
	if (http == NULL)
		return -1;
	req.method = opts->body != NULL ? "POST" : "GET";
	req.url = url;
	req.body = opts->body;
	req.body_len = opts->body_len;
	if (opts->body != NULL && opts->content_type != NULL) {
		snprintf(ctype, sizeof(ctype), "Content-Type: %s",
		         opts->content_type);
		hdrs[0] = ctype;
		req.headers = hdrs;
	}
	req.allow_http = true;
	req.connect_timeout_ms = ms;
	req.timeout_ms = ms;
	req.max_body = opts->max_size ? opts->max_size : MC_FETCH_MAX_CERT;
	if (mc_http_request(http, &req, &r, err) == -1)
		return -1;
	out->status = r.status;
	out->body = (unsigned char *)r.body;
	out->len = r.body_len;
	r.body = NULL;
	if (r.content_type != NULL)
		snprintf(out->content_type, sizeof(out->content_type), "%s",
		         r.content_type);
	mc_http_resp_clear(&r);
	return 0;
}

/* mc_fetch_result_clear - free the body and zero out (safe twice). */
void
mc_fetch_result_clear(struct mc_fetch_result *out)
{
	if (out == NULL)
		return;
	free(out->body);
	memset(out, 0, sizeof(*out));
}
