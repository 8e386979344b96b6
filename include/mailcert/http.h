/*
 * http.h - the one HTTP transport of mailcert (core owns libcurl).
 *
 * A struct mc_http is one libcurl handle with its connection cache (HTTP
 * keep-alive), its TLS session cache, one trust store and optionally one
 * client certificate, fixed when the transport is made: ca_bundle, or the
 * system store (mc_http_new); or a CA file, client certificate and key
 * (mc_http_new_tls, e.g. fleet/'s etcd client). The store is read once
 * per process and shared by every transport and thread (core/http_ca.c
 * indexes the file and parses a certificate only when a handshake asks
 * for its subject), so neither a new connection nor a new transport
 * re-reads the CA file; the client certificate and key are read once
 * when the transport is made.
 *
 * Each request says what it may do (struct mc_http_req): https only with
 * no redirects (the ACME CA), or http and https with at most 3 redirects
 * within them (AIA, CRL, OCSP) or none (etcd); connect and total
 * timeouts; a hard cap on the body (a larger answer is an error, never a
 * truncated body) and on the headers; request headers. The response keeps the status, the body
 * and the headers the ACME code reads: Location, Replay-Nonce,
 * Retry-After, Content-Type and every Link.
 *
 * Threads: a struct mc_http is used by one thread at a time (give each
 * worker its own); libcurl is initialized once per process, and the trust
 * store cache is locked. mc_http_thread() is the calling thread's own
 * transport with the system store, freed when the thread exits.
 *
 * Ownership: responses own their strings (mc_http_resp_clear); request
 * strings are borrowed for the call; the file names of struct mc_http_tls
 * are copied.
 *
 * Errors: MC_ERR_INTERRUPTED (an interruptible request after SIGTERM or
 * SIGINT, nothing sent), MC_ERR_NET (connect, TLS, timeout, size cap, an https-only
 * request for another scheme; the message is "METHOD URL: reason"),
 * MC_ERR_USAGE (a URL of another scheme than http/https where http is
 * allowed), MC_ERR_CONFIG (the CA file cannot be read or holds no
 * certificate; the client certificate or key cannot be read or do not
 * match, naming the file), MC_ERR_SYS (memory). Any HTTP status is a success here:
 * the caller judges resp->status.
 */
#ifndef MAILCERT_HTTP_H
#define MAILCERT_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/x509.h>

#include "mailcert/err.h"

#define MC_HTTP_MAX_REDIRS 3

struct mc_http;

struct mc_http_req {
	const char *method; /* "GET", "HEAD" or "POST" */
	const char *url;
	const void *body; /* POST body; NULL: empty */
	size_t body_len;
	const char *const *headers; /* "Name: value" lines, NULL-terminated */
	bool allow_http;  /* false: https:// only, no redirects; true: http://
	                     and https://, at most MC_HTTP_MAX_REDIRS redirects */
	bool no_redirects; /* with allow_http: a redirect is the answer */
	long connect_timeout_ms; /* <= 0: 10 s */
	long timeout_ms;         /* whole request; <= 0: 30 s */
	size_t max_body;         /* body cap in bytes; 0: 1 MiB */
	bool interruptible; /* a pending SIGTERM/SIGINT (mailcert/interrupt.h)
	                       is MC_ERR_INTERRUPTED before anything is sent
	                       (the ACME client; not etcd, whose lock must
	                       still be released) */
};

struct mc_http_link {
	char *rel; /* lower-case, e.g. "up", "alternate", "index" */
	char *url;
};

struct mc_http_resp {
	long status; /* of the final response */
	char *body;  /* NUL-terminated (not counted); never NULL after success */
	size_t body_len;
	char *location;     /* NULL if absent */
	char *nonce;        /* Replay-Nonce, NULL if absent */
	char *content_type; /* lower-case media type without parameters */
	long retry_after;   /* seconds from now, -1 if absent or unparsable */
	struct mc_http_link *links;
	size_t n_links;
};

struct mc_http_tls {
	const char *ca_file;     /* trust only this PEM file; NULL or "": the
	                            system store */
	const char *client_cert; /* PEM certificate (and chain) shown to
	                            servers that ask; NULL: none */
	const char *client_key;  /* its PEM private key (with client_cert) */
};

/* mc_http_new - a transport trusting ca_bundle (NULL or "": the system
 * store); new, free with mc_http_free. */
struct mc_http *mc_http_new(const char *ca_bundle, struct mc_err *err);

/* mc_http_new_tls - a transport with tls's trust and client certificate
 * (read now; MC_ERR_CONFIG naming the file when unusable); new, free with
 * mc_http_free. */
struct mc_http *mc_http_new_tls(const struct mc_http_tls *tls,
                                struct mc_err *err);

/* mc_http_free - close the connections and free; NULL is a no-op. */
void mc_http_free(struct mc_http *http);

/* mc_http_thread - the calling thread's transport with the system store
 * (made on first use, freed at thread exit); NULL with err on failure.
 * Borrowed. */
struct mc_http *mc_http_thread(struct mc_err *err);

/* mc_http_request - one request; fills *out, which must be zeroed or a
 * previous response (cleared first). On failure *out is cleared. */
int mc_http_request(struct mc_http *http, const struct mc_http_req *req,
                    struct mc_http_resp *out, struct mc_err *err);

/* mc_http_resp_clear - free the members of a response; zeroes it. */
void mc_http_resp_clear(struct mc_http_resp *resp);

/* mc_http_link - the first Link URL with rel (borrowed from resp), or NULL. */
const char *mc_http_link(const struct mc_http_resp *resp, const char *rel);

/* mc_http_parse_link - add the links of one Link header value to resp;
 * MC_ERR_INPUT for a malformed value. */
int mc_http_parse_link(struct mc_http_resp *resp, const char *value,
                       struct mc_err *err);

/* mc_http_parse_retry_after - seconds from now for a Retry-After value
 * (delta-seconds or HTTP-date; a past date is 0), or -1 when malformed or
 * more than 7 days away. */
long mc_http_parse_retry_after(const char *value);

/* mc_http_ca_lookup - add to st a lookup in the CA file at path, read and
 * indexed once per process like the transport's own (a certificate is
 * parsed when a verification first asks for its subject, then kept in
 * st): the trust of X509_STORE_load_file for the cost of the roots used.
 * st keeps its own flags. MC_ERR_CONFIG when the file cannot be read or
 * holds no certificate; MC_ERR_SYS. */
int mc_http_ca_lookup(X509_STORE *st, const char *path, struct mc_err *err);

#endif
