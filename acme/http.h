/*
 * http.h - the HTTPS transport of the ACME client (acme-internal).
 *
 * The only code that talks to libcurl. Every request goes to an https://
 * URL (other schemes are refused before anything is sent), verifies the
 * server against ca_bundle (or the system store), has a connect and a
 * total timeout, and caps the body and the headers it will accept.
 * Redirects are not followed. The response keeps what the ACME code
 * needs: status, body, Location, Replay-Nonce, Retry-After, Content-Type
 * and every Link header.
 *
 * Errors: MC_ERR_NET (scheme, connect, TLS, timeout, size cap; the
 * message names the URL and curl's reason). An HTTP error status is not
 * an error here: the caller looks at resp->status.
 */
#ifndef MAILCERT_ACME_HTTP_H
#define MAILCERT_ACME_HTTP_H

#include <stddef.h>

#include "mailcert/err.h"

struct acme_http_opts {
	const char *ca_bundle; /* NULL or "": system store */
	long connect_timeout;  /* seconds, > 0 */
	long request_timeout;  /* seconds, > 0 */
	long max_response;     /* bytes of body, > 0 */
};

struct acme_link {
	char *rel; /* lower-case, e.g. "up", "alternate", "index" */
	char *url;
};

struct acme_http_resp {
	long status;
	char *body; /* NUL-terminated (not counted in body_len); never NULL
	               after success */
	size_t body_len;
	char *location;     /* NULL if absent */
	char *nonce;        /* Replay-Nonce, NULL if absent */
	char *content_type; /* lower-case media type without parameters, NULL if
	                       absent */
	long retry_after;   /* seconds from now, -1 if absent or unparsable */
	struct acme_link *links;
	size_t n_links;
};

/* acme_http_request - method "GET", "HEAD" or "POST" (body as JOSE JSON)
 * of url; fills *out, which must be zeroed or a previous response (it is
 * cleared first; free with acme_http_resp_clear). */
int acme_http_request(const struct acme_http_opts *opts, const char *method,
                      const char *url, const char *body, const char *accept,
                      struct acme_http_resp *out, struct mc_err *err);

/* acme_http_resp_clear - free the members of a response; zeroes it. */
void acme_http_resp_clear(struct acme_http_resp *resp);

/* acme_http_link - the first Link URL with rel (borrowed from resp), or NULL.
 */
const char *acme_http_link(const struct acme_http_resp *resp, const char *rel);

/* acme_http_parse_link - add the links of one Link header value to resp. */
int acme_http_parse_link(struct acme_http_resp *resp, const char *value,
                         struct mc_err *err);

/* acme_http_parse_retry_after - seconds from now for a Retry-After value
 * (delta-seconds or HTTP-date), or -1. */
long acme_http_parse_retry_after(const char *value);

#endif
