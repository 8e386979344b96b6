/*
 * http.c - the transport: one libcurl easy handle per struct mc_http (see
 * http.h). The only file of mailcert that includes curl.h.
 *
 * Reusing the handle keeps its connection cache (keep-alive: one TLS
 * handshake per server and run) and its TLS session cache; each request
 * starts from curl_easy_reset(), which keeps both, and sets every option
 * it depends on. Trust comes from http_ca_store(): libcurl is told to load
 * no CA file (CAINFO and CAPATH unset) and the SSL_CTX callback installs
 * the shared store (and the client certificate, chain and key that
 * mc_http_new_tls read once) before each new connection's handshake. One
 * transport has one store and one client identity for its whole life, so
 * a kept-alive connection is only ever reused under the trust it was
 * verified with and the identity it showed.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "core/http_int.h"
#include "mailcert/buf.h"
#include "mailcert/crypto.h"
#include "mailcert/dl.h"
#include "mailcert/http.h"
#include "mailcert/interrupt.h"

#define HEADERS_MAX (64 * 1024)
#define HEADER_VALUE_MAX 4096
#define DEFAULT_CONNECT_MS 10000L
#define DEFAULT_TIMEOUT_MS 30000L
#define DEFAULT_MAX_BODY ((size_t)1024 * 1024)

struct mc_http {
	CURL *curl;
	char *ca_path;      /* the CA file (ca_bundle or libcurl's default) */
	X509_STORE *store;  /* loaded at the first https request */
	STACK_OF(X509) *client_chain; /* leaf first; NULL: no client cert */
	EVP_PKEY *client_key;         /* with client_chain */
};

struct http_ctx {
	struct mc_http_resp *resp;
	struct mc_buf body;
	size_t header_bytes;
	bool too_big;
	bool oom;
};

static pthread_once_t http_once = PTHREAD_ONCE_INIT;
static CURLcode http_init_rc = CURLE_FAILED_INIT;

/* libcurl is loaded on first use (dlopen), not at start: a command that
 * makes no request (a renew with nothing due, status) does not load it
 * and the ~30 shared objects it pulls in. The package libcurl4 stays a
 * dependency; its headers give the types. */
#define HTTP_CURL_SONAME "libcurl.so.4"
static struct {
	CURLcode (*global_init)(long);
	CURL *(*easy_init)(void);
	void (*easy_cleanup)(CURL *);
	void (*easy_reset)(CURL *);
	CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
	CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
	CURLcode (*easy_perform)(CURL *);
	const char *(*easy_strerror)(CURLcode);
	struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
	void (*slist_free_all)(struct curl_slist *);
} cf;
static pthread_key_t http_key;
static int http_key_rc = -1;

/* http_thread_free - pthread key destructor of mc_http_thread(). */
static void
http_thread_free(void *p)
{
	mc_http_free(p);
}

static const char *const http_curl_names[] = {
	"curl_global_init",   "curl_easy_init",	    "curl_easy_cleanup",
	"curl_easy_reset",    "curl_easy_setopt",   "curl_easy_getinfo",
	"curl_easy_perform",  "curl_easy_strerror", "curl_slist_append",
	"curl_slist_free_all",
};
static void *const http_curl_slots[] = {
	&cf.global_init,  &cf.easy_init,     &cf.easy_cleanup,
	&cf.easy_reset,	  &cf.easy_setopt,   &cf.easy_getinfo,
	&cf.easy_perform, &cf.easy_strerror, &cf.slist_append,
	&cf.slist_free_all,
};
static struct mc_dl http_curl_dl = MC_DL_INIT(
    HTTP_CURL_SONAME, "libcurl4", http_curl_names, http_curl_slots);

/* http_global_init - libcurl and the per-thread key, once per process. */
static void
http_global_init(void)
{
	http_key_rc = pthread_key_create(&http_key, http_thread_free);
	if (mc_dl_load(&http_curl_dl, NULL) == 0)
		http_init_rc = cf.global_init(CURL_GLOBAL_DEFAULT);
}

/* http_init - run http_global_init once; -1 with err if it failed. */
static int
http_init(struct mc_err *err)
{
	pthread_once(&http_once, http_global_init);
	if (mc_dl_load(&http_curl_dl, err) == -1)
		return -1;
	if (http_init_rc != CURLE_OK)
		return mc_err_set(err, MC_ERR_NET, "curl_global_init: %s",
		                  cf.easy_strerror(http_init_rc));
	return 0;
}

/* http_default_ca - libcurl's built-in CA file, else OpenSSL's (new). */
static char *
http_default_ca(CURL *curl)
{
	char *path = NULL;

	if (cf.easy_getinfo(curl, CURLINFO_CAINFO, &path) != CURLE_OK ||
	    path == NULL || path[0] == '\0')
		path = (char *)X509_get_default_cert_file();
	return strdup(path);
}

/* http_client_load - the client certificate, its chain and key of tls
 * into h (nothing when tls names none). */
static int
http_client_load(struct mc_http *h, const struct mc_http_tls *tls,
                 struct mc_err *err)
{
	if (tls->client_cert == NULL)
		return 0;
	if (tls->client_key == NULL)
		return mc_err_set(err, MC_ERR_CONFIG,
		                  "%s: a client certificate needs its key",
		                  tls->client_cert);
	h->client_chain = mc_x509_chain_load(tls->client_cert, err);
	if (h->client_chain == NULL ||
	    (h->client_key = mc_key_load(tls->client_key, err)) == NULL) {
		if (err != NULL)
			err->cat = MC_ERR_CONFIG;
		return mc_err_prefix(err, "client certificate");
	}
	if (X509_check_private_key(sk_X509_value(h->client_chain, 0),
	                           h->client_key) != 1) {
		ERR_clear_error();
		return mc_err_set(err, MC_ERR_CONFIG,
		                  "%s: not the key of the client certificate %s",
		                  tls->client_key, tls->client_cert);
	}
	return 0;
}

/* mc_http_new_tls - a transport with tls's trust and client identity. */
struct mc_http *
mc_http_new_tls(const struct mc_http_tls *tls, struct mc_err *err)
{
	struct mc_http *h;

	if (http_init(err) == -1)
		return NULL;
	h = calloc(1, sizeof(*h));
	if (h == NULL || (h->curl = cf.easy_init()) == NULL) {
		free(h);
		mc_err_set(err, MC_ERR_SYS, "cannot set up curl");
		return NULL;
	}
	h->ca_path = tls->ca_file != NULL && tls->ca_file[0] != '\0'
	                 ? strdup(tls->ca_file)
	                 : http_default_ca(h->curl);
	if (h->ca_path == NULL) {
		mc_http_free(h);
		mc_err_set(err, MC_ERR_SYS, "out of memory");
		return NULL;
	}
	if (http_client_load(h, tls, err) == -1) {
		mc_http_free(h);
		return NULL;
	}
	return h;
}

/* mc_http_new - a transport trusting ca_bundle or the system store. */
struct mc_http *
mc_http_new(const char *ca_bundle, struct mc_err *err)
{
	struct mc_http_tls tls = {ca_bundle, NULL, NULL};

	return mc_http_new_tls(&tls, err);
}

/* mc_http_free - close the connections and free. */
void
mc_http_free(struct mc_http *http)
{
	if (http == NULL)
		return;
	if (http->curl != NULL)
		cf.easy_cleanup(http->curl);
	X509_STORE_free(http->store);
	sk_X509_pop_free(http->client_chain, X509_free);
	EVP_PKEY_free(http->client_key);
	free(http->ca_path);
	free(http);
}

/* mc_http_thread - the calling thread's own transport (system store). */
struct mc_http *
mc_http_thread(struct mc_err *err)
{
	struct mc_http *h;

	if (http_init(err) == -1)
		return NULL;
	if (http_key_rc != 0) {
		mc_err_set(err, MC_ERR_SYS, "pthread_key_create failed");
		return NULL;
	}
	h = pthread_getspecific(http_key);
	if (h != NULL)
		return h;
	h = mc_http_new(NULL, err);
	if (h != NULL && pthread_setspecific(http_key, h) != 0) {
		mc_http_free(h);
		mc_err_set(err, MC_ERR_SYS, "pthread_setspecific failed");
		return NULL;
	}
	return h;
}

/* http_header_set - replace *slot with copy (NULL copy: out of memory). */
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

/* http_header_line - store one header the callers read. */
static void
http_header_line(struct http_ctx *ctx, const char *name, size_t nlen,
                 const char *value)
{
	struct mc_http_resp *r = ctx->resp;

	if (nlen == 8 && strncasecmp(name, "location", 8) == 0)
		http_header_set(ctx, &r->location, strdup(value));
	else if (nlen == 12 && strncasecmp(name, "replay-nonce", 12) == 0)
		http_header_set(ctx, &r->nonce, strdup(value));
	else if (nlen == 12 && strncasecmp(name, "content-type", 12) == 0)
		http_header_set(ctx, &r->content_type, http_media_type(value));
	else if (nlen == 11 && strncasecmp(name, "retry-after", 11) == 0)
		r->retry_after = mc_http_parse_retry_after(value);
	else if (nlen == 4 && strncasecmp(name, "link", 4) == 0)
		(void)mc_http_parse_link(r, value, NULL); /* bad ones ignored */
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
		/* a new response (after 1xx or a redirect): forget the last */
		mc_http_resp_clear(ctx->resp);
		return n;
	}
	colon = memchr(data, ':', n);
	if (colon == NULL || n > HEADER_VALUE_MAX)
		return n;
	value = http_trim_dup(colon + 1, n - (size_t)(colon + 1 - data));
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
	struct mc_err err;
	size_t n = size * nmemb;

	if (mc_buf_append(&ctx->body, data, n, &err) == -1) {
		if (err.cat == MC_ERR_INPUT)
			ctx->too_big = true;
		else
			ctx->oom = true;
		return 0;
	}
	return n;
}

/* http_ssl_client - install the client certificate, chain and key. */
static int
http_ssl_client(SSL_CTX *ctx, const struct mc_http *h)
{
	int i;

	if (SSL_CTX_use_certificate(ctx, sk_X509_value(h->client_chain, 0)) !=
	        1 ||
	    SSL_CTX_use_PrivateKey(ctx, h->client_key) != 1)
		return -1;
	for (i = 1; i < sk_X509_num(h->client_chain); i++)
		if (SSL_CTX_add1_chain_cert(ctx,
		                            sk_X509_value(h->client_chain, i)) !=
		    1)
			return -1;
	return 0;
}

/* http_ssl_ctx - install the transport's trust store (and client
 * identity) in a new SSL_CTX. */
static CURLcode
http_ssl_ctx(CURL *curl, void *ssl_ctx, void *userp)
{
	struct mc_http *h = userp;

	(void)curl;
	if (h->store == NULL)
		return CURLE_SSL_CERTPROBLEM;
	SSL_CTX_set1_cert_store(ssl_ctx, h->store); /* up-refs the store */
	if (h->client_chain != NULL && http_ssl_client(ssl_ctx, h) == -1) {
		ERR_clear_error();
		return CURLE_SSL_CERTPROBLEM;
	}
	return CURLE_OK;
}

/* http_setup_limits - scheme, redirect, timeout and size options. */
static int
http_setup_limits(CURL *c, const struct mc_http_req *req, size_t max_body)
{
	const char *schemes = req->allow_http ? "http,https" : "https";
	int rc = 0;

	rc |= (int)cf.easy_setopt(c, CURLOPT_PROTOCOLS_STR, schemes);
	rc |= (int)cf.easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, schemes);
	rc |= (int)cf.easy_setopt(c, CURLOPT_FOLLOWLOCATION,
	                            req->allow_http && !req->no_redirects ? 1L
	                                                                  : 0L);
	rc |= (int)cf.easy_setopt(c, CURLOPT_MAXREDIRS,
	                            (long)MC_HTTP_MAX_REDIRS);
	rc |= (int)cf.easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	rc |= (int)cf.easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
	                            req->connect_timeout_ms > 0
	                                ? req->connect_timeout_ms
	                                : DEFAULT_CONNECT_MS);
	rc |= (int)cf.easy_setopt(
	    c, CURLOPT_TIMEOUT_MS,
	    req->timeout_ms > 0 ? req->timeout_ms : DEFAULT_TIMEOUT_MS);
	rc |= (int)cf.easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE,
	                            (curl_off_t)max_body);
	rc |= (int)cf.easy_setopt(c, CURLOPT_HTTP_VERSION,
	                            (long)CURL_HTTP_VERSION_1_1);
	return rc;
}

/* http_setup_tls - peer and host verification against the store only. */
static int
http_setup_tls(CURL *c, struct mc_http *h)
{
	int rc = 0;

	rc |= (int)cf.easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	rc |= (int)cf.easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	rc |= (int)cf.easy_setopt(c, CURLOPT_CAINFO, NULL);
	rc |= (int)cf.easy_setopt(c, CURLOPT_CAPATH, NULL);
	rc |= (int)cf.easy_setopt(c, CURLOPT_SSL_CTX_FUNCTION, http_ssl_ctx);
	rc |= (int)cf.easy_setopt(c, CURLOPT_SSL_CTX_DATA, h);
	return rc;
}

/* http_setup - every option of one request. */
static int
http_setup(struct mc_http *h, const struct mc_http_req *req,
           struct curl_slist *hdrs, struct http_ctx *ctx, char *errbuf)
{
	CURL *c = h->curl;
	int rc = 0;

	cf.easy_reset(c); /* keeps connections and TLS sessions */
	rc |= (int)cf.easy_setopt(c, CURLOPT_URL, req->url);
	rc |= http_setup_limits(c, req, ctx->body.max);
	rc |= http_setup_tls(c, h);
	rc |= (int)cf.easy_setopt(c, CURLOPT_USERAGENT,
	                            "mailcert/" MAILCERT_VERSION);
	rc |= (int)cf.easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	rc |= (int)cf.easy_setopt(c, CURLOPT_HEADERFUNCTION, http_header_cb);
	rc |= (int)cf.easy_setopt(c, CURLOPT_HEADERDATA, ctx);
	rc |= (int)cf.easy_setopt(c, CURLOPT_WRITEFUNCTION, http_write_cb);
	rc |= (int)cf.easy_setopt(c, CURLOPT_WRITEDATA, ctx);
	rc |= (int)cf.easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	if (strcmp(req->method, "HEAD") == 0) {
		rc |= (int)cf.easy_setopt(c, CURLOPT_NOBODY, 1L);
	} else if (strcmp(req->method, "POST") == 0) {
		rc |= (int)cf.easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
		                            (curl_off_t)req->body_len);
		rc |= (int)cf.easy_setopt(
		    c, CURLOPT_POSTFIELDS, req->body != NULL ? req->body : "");
	}
	return rc == 0 ? 0 : -1;
}

/* http_headers - the caller's request headers plus "Expect:" (new list,
 * NULL when out of memory). */
static struct curl_slist *
http_headers(const struct mc_http_req *req)
{
	struct curl_slist *h = NULL, *t;
	size_t i;

	for (i = 0; req->headers != NULL && req->headers[i] != NULL; i++) {
		t = cf.slist_append(h, req->headers[i]);
		if (t == NULL) {
			cf.slist_free_all(h);
			return NULL;
		}
		h = t;
	}
	t = cf.slist_append(h, "Expect:"); /* no 100-continue round trip */
	if (t == NULL)
		cf.slist_free_all(h);
	return t;
}

/* http_perform_error - the error of a failed transfer. */
static int
http_perform_error(const struct mc_http_req *req, CURLcode rc,
                   const struct http_ctx *ctx, const char *errbuf,
                   struct mc_err *err)
{
	const char *why = errbuf[0] ? errbuf : cf.easy_strerror(rc);

	if (ctx->oom)
		return mc_err_set(err, MC_ERR_SYS, "%s %s: out of memory",
		                  req->method, req->url);
	if (ctx->too_big || rc == CURLE_FILESIZE_EXCEEDED)
		return mc_err_set(
		    err, MC_ERR_NET, "%s %s: response larger than %zu bytes",
		    req->method, req->url,
		    ctx->header_bytes > HEADERS_MAX ? (size_t)HEADERS_MAX
		                                    : ctx->body.max);
	if (rc == CURLE_OPERATION_TIMEDOUT)
		return mc_err_set(err, MC_ERR_NET, "%s %s: timed out (%s)",
		                  req->method, req->url, why);
	return mc_err_set(err, MC_ERR_NET, "%s %s: %s", req->method, req->url,
	                  why);
}

/* http_check_url - the scheme rules of req; loads the store for https. */
static int
http_check_url(struct mc_http *h, const struct mc_http_req *req,
               struct mc_err *err)
{
	bool https = strncasecmp(req->url, "https://", 8) == 0;

	if (!https && !req->allow_http)
		return mc_err_set(err, MC_ERR_NET,
		                  "%s %s: refusing a URL that is not https://",
		                  req->method, req->url);
	if (!https && strncasecmp(req->url, "http://", 7) != 0)
		return mc_err_set(err, MC_ERR_USAGE,
		                  "%s %s: only http:// and https:// URLs are "
		                  "fetched",
		                  req->method, req->url);
	/* loaded for http:// too: a redirect may lead to https:// */
	if (h->store == NULL &&
	    (h->store = http_ca_store(h->ca_path, err)) == NULL)
		return -1;
	return 0;
}

/* mc_http_request - one request (see http.h). */
int
mc_http_request(struct mc_http *http, const struct mc_http_req *req,
                struct mc_http_resp *out, struct mc_err *err)
{
	struct http_ctx ctx = {0};
	struct curl_slist *hdrs = NULL;
	char errbuf[CURL_ERROR_SIZE] = "";
	CURLcode rc;
	int ret = -1;

	mc_http_resp_clear(out);
	ctx.resp = out;
	mc_buf_init(&ctx.body, req->max_body > 0 ? req->max_body
	                                         : DEFAULT_MAX_BODY);
	if ((req->interruptible && mc_interrupt_check(err) == -1) ||
	    http_check_url(http, req, err) == -1)
		goto out;
	hdrs = http_headers(req);
	if (hdrs == NULL || http_setup(http, req, hdrs, &ctx, errbuf) == -1) {
		mc_err_set(err, MC_ERR_SYS, "%s %s: cannot set up curl",
		           req->method, req->url);
		goto out;
	}
	rc = cf.easy_perform(http->curl);
	if (rc != CURLE_OK || ctx.oom || ctx.too_big) {
		http_perform_error(req, rc, &ctx, errbuf, err);
		goto out;
	}
	cf.easy_getinfo(http->curl, CURLINFO_RESPONSE_CODE, &out->status);
	if (mc_buf_append(&ctx.body, "", 0, err) == -1)
		goto out;
	out->body_len = ctx.body.len;
	out->body = mc_buf_take(&ctx.body);
	ret = 0;
out:
	if (ret == -1)
		mc_http_resp_clear(out);
	/* the handle must not keep pointers into this frame */
	cf.easy_setopt(http->curl, CURLOPT_ERRORBUFFER, NULL);
	cf.easy_setopt(http->curl, CURLOPT_HTTPHEADER, NULL);
	mc_buf_free(&ctx.body);
	cf.slist_free_all(hdrs);
	return ret;
}
