/*
 * fetch.c - bounded HTTP GET/POST for AIA, CRL and OCSP (see fetch.h).
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "mailcert/buf.h"
#include "mailcert/fetch.h"

#define FETCH_MAX_REDIRS 3L
#define FETCH_DEFAULT_TIMEOUT_MS 10000

struct fetch_ctx {
	struct mc_buf body;
	bool too_big;
	bool oom;
};

static pthread_once_t fetch_once = PTHREAD_ONCE_INIT;
static CURLcode fetch_init_rc = CURLE_FAILED_INIT;

/* fetch_global_init - initialize libcurl once per process. */
static void
fetch_global_init(void)
{
	fetch_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* fetch_write_cb - append received bytes, refusing past the cap. */
static size_t
fetch_write_cb(char *p, size_t size, size_t n, void *arg)
{
	struct fetch_ctx *ctx = arg;
	struct mc_err err;

	if (mc_buf_append(&ctx->body, p, size * n, &err) == -1) {
		if (err.cat == MC_ERR_INPUT)
			ctx->too_big = true;
		else
			ctx->oom = true;
		return 0;
	}
	return size * n;
}

/* fetch_setup_tls - trust and client certificate of a transfer. */
static int
fetch_setup_tls(CURL *curl, const struct mc_fetch_peer *opts)
{
	int rc = 0;

	if (opts == NULL)
		return 0;
	if (opts->ca_file != NULL)
		rc |= (int)curl_easy_setopt(curl, CURLOPT_CAINFO, opts->ca_file);
	if (opts->client_cert != NULL) {
		rc |= (int)curl_easy_setopt(curl, CURLOPT_SSLCERT,
		                            opts->client_cert);
		rc |= (int)curl_easy_setopt(curl, CURLOPT_SSLKEY,
		                            opts->client_key);
	}
	return rc;
}

/* fetch_setup - the options of one transfer. */
static int
fetch_setup(CURL *curl, const char *url, const struct mc_fetch_opts *opts,
            const struct mc_fetch_peer *peer, struct curl_slist *hdrs,
            struct fetch_ctx *ctx)
{
	long ms =
	    opts->timeout_ms > 0 ? opts->timeout_ms : FETCH_DEFAULT_TIMEOUT_MS;
	long cms = peer != NULL && peer->connect_timeout_ms > 0
	               ? peer->connect_timeout_ms
	               : ms;
	int rc = fetch_setup_tls(curl, peer);

	rc |= (int)curl_easy_setopt(curl, CURLOPT_URL, url);
	rc |= (int)curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	rc |= (int)curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR,
	                            "http,https");
	rc |= (int)curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION,
	                            peer != NULL && peer->no_redirects ? 0L : 1L);
	rc |= (int)curl_easy_setopt(curl, CURLOPT_MAXREDIRS, FETCH_MAX_REDIRS);
	rc |= (int)curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	rc |= (int)curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, cms);
	rc |= (int)curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, ms);
	rc |= (int)curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE,
	                            (curl_off_t)ctx->body.max);
	rc |= (int)curl_easy_setopt(curl, CURLOPT_USERAGENT,
	                            "mailcert/" MAILCERT_VERSION);
	rc |=
	    (int)curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, fetch_write_cb);
	rc |= (int)curl_easy_setopt(curl, CURLOPT_WRITEDATA, ctx);
	if (hdrs != NULL)
		rc |= (int)curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
	if (opts->body != NULL) {
		rc |= (int)curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
		                            (curl_off_t)opts->body_len);
		rc |=
		    (int)curl_easy_setopt(curl, CURLOPT_POSTFIELDS, opts->body);
	}
	return rc == 0 ? 0 : -1;
}

/* fetch_headers - Content-Type for a POST, else none. */
static int
fetch_headers(const struct mc_fetch_opts *opts, struct curl_slist **out)
{
	char line[160];
	int n;

	*out = NULL;
	if (opts->body == NULL || opts->content_type == NULL)
		return 0;
	n = snprintf(line, sizeof(line), "Content-Type: %s",
	             opts->content_type);
	if (n < 0 || (size_t)n >= sizeof(line))
		return -1;
	*out = curl_slist_append(NULL, line);
	return *out == NULL ? -1 : 0;
}

/* fetch_finish - status, content type and body of a completed transfer. */
static void
fetch_finish(CURL *curl, struct fetch_ctx *ctx, struct mc_fetch_result *out)
{
	char *ct = NULL;
	size_t len = ctx->body.len;

	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &out->status);
	if (curl_easy_getinfo(curl, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK &&
	    ct != NULL)
		snprintf(out->content_type, sizeof(out->content_type), "%s",
		         ct);
	out->body = (unsigned char *)mc_buf_take(&ctx->body);
	out->len = len;
}

/* fetch_perform_error - an mc_err for a failed transfer. */
static int
fetch_perform_error(const char *url, CURLcode rc, const struct fetch_ctx *ctx,
                    const char *errbuf, struct mc_err *err)
{
	if (ctx->oom)
		return mc_err_set(err, MC_ERR_SYS, "GET %s: out of memory",
		                  url);
	if (ctx->too_big || rc == CURLE_FILESIZE_EXCEEDED)
		return mc_err_set(err, MC_ERR_NET,
		                  "%s: response larger than %zu bytes", url,
		                  ctx->body.max);
	return mc_err_set(err, MC_ERR_NET, "%s: %s", url,
	                  errbuf[0] ? errbuf : curl_easy_strerror(rc));
}

/* mc_fetch - GET (or POST opts->body) url into out. */
int
mc_fetch(const char *url, const struct mc_fetch_opts *opts,
         struct mc_fetch_result *out, struct mc_err *err)
{
	return mc_fetch_peer(url, opts, NULL, out, err);
}

/* mc_fetch_peer - mc_fetch with the options of peer (NULL: as mc_fetch). */
int
mc_fetch_peer(const char *url, const struct mc_fetch_opts *opts,
              const struct mc_fetch_peer *peer, struct mc_fetch_result *out,
              struct mc_err *err)
{
	struct fetch_ctx ctx = {0};
	struct curl_slist *hdrs = NULL;
	char errbuf[CURL_ERROR_SIZE] = "";
	CURL *curl = NULL;
	CURLcode rc;
	int ret = -1;

	memset(out, 0, sizeof(*out));
	mc_buf_init(&ctx.body,
	            opts->max_size ? opts->max_size : MC_FETCH_MAX_CERT);
	if (strncasecmp(url, "http://", 7) != 0 &&
	    strncasecmp(url, "https://", 8) != 0) {
		mc_err_set(err, MC_ERR_USAGE,
		           "%s: only http:// and https:// "
		           "URLs are fetched",
		           url);
		goto out;
	}
	pthread_once(&fetch_once, fetch_global_init);
	if (fetch_init_rc != CURLE_OK) {
		mc_err_set(err, MC_ERR_NET, "curl_global_init: %s",
		           curl_easy_strerror(fetch_init_rc));
		goto out;
	}
	curl = curl_easy_init();
	if (curl == NULL || fetch_headers(opts, &hdrs) == -1 ||
	    fetch_setup(curl, url, opts, peer, hdrs, &ctx) == -1 ||
	    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf) != CURLE_OK) {
		mc_err_set(err, MC_ERR_SYS, "%s: cannot set up curl", url);
		goto out;
	}
	rc = curl_easy_perform(curl);
	if (rc != CURLE_OK || ctx.oom || ctx.too_big) {
		fetch_perform_error(url, rc, &ctx, errbuf, err);
		goto out;
	}
	if (mc_buf_append(&ctx.body, "", 0, err) == -1)
		goto out;
	fetch_finish(curl, &ctx, out);
	ret = 0;
out:
	mc_buf_free(&ctx.body);
	curl_slist_free_all(hdrs);
	if (curl != NULL)
		curl_easy_cleanup(curl);
	return ret;
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
