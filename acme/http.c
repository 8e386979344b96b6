/*
 * http.c - HTTPS requests for the ACME client (the only user of libcurl).
 */
#include <ctype.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "acme/http.h"
#include "mailcert/buf.h"

#define HEADERS_MAX (64 * 1024)
#define HEADER_VALUE_MAX 4096
#define LINKS_MAX 64

struct http_ctx {
	struct acme_http_resp *resp;
	struct mc_buf body;
	size_t header_bytes;
	bool too_big;
	bool oom;
};

static pthread_once_t http_once = PTHREAD_ONCE_INIT;
static CURLcode http_init_rc = CURLE_FAILED_INIT;

/* http_global_init - initialize libcurl once per process. */
static void
http_global_init(void)
{
	http_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* acme_http_resp_clear - free the members of a response. */
void
acme_http_resp_clear(struct acme_http_resp *resp)
{
	size_t i;

	if (resp == NULL)
		return;
	free(resp->body);
	free(resp->location);
	free(resp->nonce);
	free(resp->content_type);
	for (i = 0; i < resp->n_links; i++) {
		free(resp->links[i].rel);
		free(resp->links[i].url);
	}
	free(resp->links);
	memset(resp, 0, sizeof(*resp));
	resp->retry_after = -1;
}

/* acme_http_link - the first link with rel. */
const char *
acme_http_link(const struct acme_http_resp *resp, const char *rel)
{
	size_t i;

	for (i = 0; i < resp->n_links; i++)
		if (strcmp(resp->links[i].rel, rel) == 0)
			return resp->links[i].url;
	return NULL;
}

/* http_strndup - a trimmed copy of [p, p+n) (new string or NULL). */
static char *
http_strndup(const char *p, size_t n)
{
	while (n > 0 && isspace((unsigned char)*p)) {
		p++;
		n--;
	}
	while (n > 0 && isspace((unsigned char)p[n - 1]))
		n--;
	return strndup(p, n);
}

/* link_rel - the rel parameter in [p, end) as a new lower-case string, or NULL.
 */
static char *
link_rel(const char *p, const char *end)
{
	const char *v, *ve;
	char *rel;
	size_t i;

	while (p < end) {
		while (p < end && (*p == ';' || isspace((unsigned char)*p)))
			p++;
		if (end - p > 4 && strncasecmp(p, "rel", 3) == 0 &&
		    (p[3] == '=' || isspace((unsigned char)p[3]))) {
			v = memchr(p, '=', (size_t)(end - p));
			if (v == NULL)
				return NULL;
			v++;
			while (v < end && isspace((unsigned char)*v))
				v++;
			if (v < end && *v == '"') {
				v++;
				ve = memchr(v, '"', (size_t)(end - v));
				if (ve == NULL)
					ve = end;
			} else {
				for (ve = v; ve < end && *ve != ';' &&
				             !isspace((unsigned char)*ve);
				     ve++)
					;
			}
			rel = strndup(v, (size_t)(ve - v));
			for (i = 0; rel != NULL && rel[i] != '\0'; i++)
				rel[i] = (char)tolower((unsigned char)rel[i]);
			return rel;
		}
		p = memchr(p, ';', (size_t)(end - p));
		if (p == NULL)
			return NULL;
	}
	return NULL;
}

/* link_add - append one (rel, url) pair; takes both strings. */
static int
link_add(struct acme_http_resp *resp, char *rel, char *url, struct mc_err *err)
{
	struct acme_link *n;

	if (resp->n_links >= LINKS_MAX) {
		free(rel);
		free(url);
		return mc_err_set(err, MC_ERR_INPUT,
		                  "more than %d Link headers", LINKS_MAX);
	}
	n = realloc(resp->links, (resp->n_links + 1) * sizeof(*n));
	if (n == NULL) {
		free(rel);
		free(url);
		return mc_err_errno(err, MC_ERR_SYS, "out of memory");
	}
	resp->links = n;
	resp->links[resp->n_links].rel = rel;
	resp->links[resp->n_links].url = url;
	resp->n_links++;
	return 0;
}

/* acme_http_parse_link - parse `<url>; rel="x", <url2>; rel=y` into resp. */
int
acme_http_parse_link(struct acme_http_resp *resp, const char *value,
                     struct mc_err *err)
{
	const char *p = value, *u, *ue, *end;
	char *rel, *url;

	for (;;) {
		while (*p == ',' || isspace((unsigned char)*p))
			p++;
		if (*p == '\0')
			return 0;
		if (*p != '<')
			return mc_err_set(err, MC_ERR_INPUT,
			                  "malformed Link header (no <URL>)");
		u = p + 1;
		ue = strchr(u, '>');
		if (ue == NULL)
			return mc_err_set(err, MC_ERR_INPUT,
			                  "malformed Link header (no '>')");
		end = strchr(ue, ',');
		if (end == NULL)
			end = ue + strlen(ue);
		rel = link_rel(ue + 1, end);
		if (rel != NULL) {
			url = strndup(u, (size_t)(ue - u));
			if (url == NULL || link_add(resp, rel, url, err) == -1)
				return url == NULL
				           ? mc_err_errno(err, MC_ERR_SYS,
				                          "out of memory")
				           : -1;
		}
		p = end;
	}
}

/* acme_http_parse_retry_after - delta-seconds or an HTTP-date. */
long
acme_http_parse_retry_after(const char *value)
{
	char *end;
	long v;
	time_t when;

	while (isspace((unsigned char)*value))
		value++;
	if (isdigit((unsigned char)*value)) {
		v = strtol(value, &end, 10);
		while (isspace((unsigned char)*end))
			end++;
		if (*end != '\0' || v < 0 || v > 86400 * 7)
			return -1;
		return v;
	}
	when = curl_getdate(value, NULL);
	if (when == -1)
		return -1;
	v = (long)(when - time(NULL));
	return v < 0 ? 0 : (v > 86400 * 7 ? -1 : v);
}

/* http_media_type - the lower-case media type of a Content-Type value. */
static char *
http_media_type(const char *value)
{
	size_t n = strcspn(value, ";");
	char *t = http_strndup(value, n);
	size_t i;

	for (i = 0; t != NULL && t[i] != '\0'; i++)
		t[i] = (char)tolower((unsigned char)t[i]);
	return t;
}

/* http_header_set - replace *slot with a copy of value. */
static void
http_header_set(struct http_ctx *ctx, char **slot, char *copy)
{
	if (copy == NULL) {
		ctx->oom = true;
		return;
	}
	free(*slot);
	*slot = copy;
}

/* http_header_line - store one header we care about. */
static void
http_header_line(struct http_ctx *ctx, const char *name, size_t nlen,
                 const char *value)
{
	struct acme_http_resp *r = ctx->resp;

	if (nlen == 8 && strncasecmp(name, "location", 8) == 0)
		http_header_set(ctx, &r->location, strdup(value));
	else if (nlen == 12 && strncasecmp(name, "replay-nonce", 12) == 0)
		http_header_set(ctx, &r->nonce, strdup(value));
	else if (nlen == 12 && strncasecmp(name, "content-type", 12) == 0)
		http_header_set(ctx, &r->content_type, http_media_type(value));
	else if (nlen == 11 && strncasecmp(name, "retry-after", 11) == 0)
		r->retry_after = acme_http_parse_retry_after(value);
	else if (nlen == 4 && strncasecmp(name, "link", 4) == 0)
		(void)acme_http_parse_link(r, value,
		                           NULL); /* bad links are ignored */
}

/* http_header_cb - curl header callback: one header line per call. */
static size_t
http_header_cb(char *data, size_t size, size_t nmemb, void *userp)
{
	struct http_ctx *ctx = userp;
	size_t n = size * nmemb;
	const char *colon;
	char *value;

	ctx->header_bytes += n;
	if (ctx->header_bytes > HEADERS_MAX) {
		ctx->too_big = true;
		return 0;
	}
	if (n >= 5 && strncmp(data, "HTTP/", 5) == 0) {
		/* a new response (after 1xx): forget earlier headers */
		acme_http_resp_clear(ctx->resp);
		return n;
	}
	colon = memchr(data, ':', n);
	if (colon == NULL || n > HEADER_VALUE_MAX)
		return n;
	value = http_strndup(colon + 1, n - (size_t)(colon + 1 - data));
	if (value == NULL) {
		ctx->oom = true;
		return 0;
	}
	http_header_line(ctx, data, (size_t)(colon - data), value);
	free(value);
	return ctx->oom ? 0 : n;
}

/* http_write_cb - curl body callback: append under the size cap. */
static size_t
http_write_cb(char *data, size_t size, size_t nmemb, void *userp)
{
	struct http_ctx *ctx = userp;
	size_t n = size * nmemb;

	if (mc_buf_append(&ctx->body, data, n, NULL) == -1) {
		ctx->too_big = true;
		return 0;
	}
	return n;
}

/* http_setup - set the options of one request on curl. */
static int
http_setup(CURL *curl, const struct acme_http_opts *opts, const char *method,
           const char *url, const char *body, struct curl_slist *hdrs,
           struct http_ctx *ctx)
{
	int rc = 0;

	rc |= (int)curl_easy_setopt(curl, CURLOPT_URL, url);
	rc |= (int)curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "https");
	rc |= (int)curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "https");
	rc |= (int)curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
	rc |= (int)curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	rc |= (int)curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT,
	                            opts->connect_timeout);
	rc |=
	    (int)curl_easy_setopt(curl, CURLOPT_TIMEOUT, opts->request_timeout);
	rc |= (int)curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE,
	                            (curl_off_t)opts->max_response);
	rc |= (int)curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
	rc |= (int)curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
	if (opts->ca_bundle != NULL && opts->ca_bundle[0] != '\0')
		rc |= (int)curl_easy_setopt(curl, CURLOPT_CAINFO,
		                            opts->ca_bundle);
	rc |= (int)curl_easy_setopt(curl, CURLOPT_USERAGENT,
	                            "mailcert/" MAILCERT_VERSION);
	rc |= (int)curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
	rc |=
	    (int)curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, http_header_cb);
	rc |= (int)curl_easy_setopt(curl, CURLOPT_HEADERDATA, ctx);
	rc |= (int)curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, http_write_cb);
	rc |= (int)curl_easy_setopt(curl, CURLOPT_WRITEDATA, ctx);
	if (strcmp(method, "HEAD") == 0)
		rc |= (int)curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
	else if (strcmp(method, "POST") == 0)
		rc |= (int)curl_easy_setopt(curl, CURLOPT_POSTFIELDS,
		                            body != NULL ? body : "");
	return rc == 0 ? 0 : -1;
}

/* http_headers - the request headers (new list, or NULL on failure). */
static struct curl_slist *
http_headers(const char *method, const char *accept)
{
	struct curl_slist *h = NULL, *t;
	char line[256];

	snprintf(line, sizeof(line), "Accept: %s",
	         accept != NULL ? accept : "application/json");
	h = curl_slist_append(NULL, line);
	if (h == NULL)
		return NULL;
	if (strcmp(method, "POST") == 0) {
		t = curl_slist_append(h, "Content-Type: application/jose+json");
		if (t == NULL) {
			curl_slist_free_all(h);
			return NULL;
		}
		h = t;
	}
	t = curl_slist_append(h, "Expect:");
	if (t == NULL)
		curl_slist_free_all(h);
	return t;
}

/* http_perform_error - the error for a failed transfer. */
static int
http_perform_error(const struct acme_http_opts *opts, const char *method,
                   const char *url, CURLcode rc, const struct http_ctx *ctx,
                   const char *errbuf, struct mc_err *err)
{
	if (ctx->oom)
		return mc_err_set(err, MC_ERR_SYS, "%s %s: out of memory",
		                  method, url);
	if (ctx->too_big || rc == CURLE_FILESIZE_EXCEEDED)
		return mc_err_set(
		    err, MC_ERR_NET, "%s %s: response larger than %ld bytes",
		    method, url,
		    ctx->header_bytes > HEADERS_MAX ? (long)HEADERS_MAX
		                                    : opts->max_response);
	if (rc == CURLE_OPERATION_TIMEDOUT)
		return mc_err_set(err, MC_ERR_NET, "%s %s: timed out (%s)",
		                  method, url,
		                  errbuf[0] ? errbuf : curl_easy_strerror(rc));
	return mc_err_set(err, MC_ERR_NET, "%s %s: %s", method, url,
	                  errbuf[0] ? errbuf : curl_easy_strerror(rc));
}

/* acme_http_request - one HTTPS request (see http.h). */
int
acme_http_request(const struct acme_http_opts *opts, const char *method,
                  const char *url, const char *body, const char *accept,
                  struct acme_http_resp *out, struct mc_err *err)
{
	struct http_ctx ctx = {0};
	struct curl_slist *hdrs = NULL;
	char errbuf[CURL_ERROR_SIZE] = "";
	CURL *curl = NULL;
	CURLcode rc;
	int ret = -1;

	acme_http_resp_clear(out);
	ctx.resp = out;
	mc_buf_init(&ctx.body, (size_t)opts->max_response);
	if (strncasecmp(url, "https://", 8) != 0) {
		mc_err_set(err, MC_ERR_NET,
		           "%s %s: refusing a URL that is not https://", method,
		           url);
		goto out;
	}
	pthread_once(&http_once, http_global_init);
	if (http_init_rc != CURLE_OK) {
		mc_err_set(err, MC_ERR_NET, "curl_global_init: %s",
		           curl_easy_strerror(http_init_rc));
		goto out;
	}
	curl = curl_easy_init();
	hdrs = http_headers(method, accept);
	if (curl == NULL || hdrs == NULL ||
	    http_setup(curl, opts, method, url, body, hdrs, &ctx) == -1 ||
	    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf) != CURLE_OK) {
		mc_err_set(err, MC_ERR_NET, "%s %s: cannot set up curl", method,
		           url);
		goto out;
	}
	rc = curl_easy_perform(curl);
	if (rc != CURLE_OK || ctx.oom) {
		http_perform_error(opts, method, url, rc, &ctx, errbuf, err);
		goto out;
	}
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &out->status);
	if (mc_buf_append(&ctx.body, "", 0, err) == -1)
		goto out;
	out->body_len = ctx.body.len;
	out->body = mc_buf_take(&ctx.body);
	ret = 0;
out:
	if (ret == -1)
		acme_http_resp_clear(out);
	mc_buf_free(&ctx.body);
	curl_slist_free_all(hdrs);
	if (curl != NULL)
		curl_easy_cleanup(curl);
	return ret;
}
