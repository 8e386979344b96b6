/*
 * fetch.h - bounded HTTP fetches of certificate material (over http.h).
 *
 * Used by `check` to fetch what certificates point at: AIA caIssuers
 * certificates, CRLs (CRL Distribution Points) and OCSP answers (POST of
 * a DER request). http:// and https:// only, at most 3 redirects (within
 * those schemes), a connect and a total timeout, and a hard cap on the
 * body: a larger answer is an error, never a truncated body. (fleet/'s
 * etcd client, with its own CA file and client certificate, uses a
 * transport of its own: http.h.)
 *
 * Ownership: mc_fetch_result owns `body` (NUL-terminated, the NUL not
 * counted); release it with mc_fetch_result_clear(). Strings in
 * mc_fetch_opts are borrowed for the call.
 *
 * Errors: MC_ERR_USAGE for a URL of another scheme, MC_ERR_NET for
 * transport failures, timeouts and size-cap overruns (with the URL),
 * MC_ERR_SYS for local failures. Any HTTP status is a success: the caller
 * judges `status`. Thread-safe: each thread fetches through its own
 * transport (mc_http_thread), which keeps its connections open.
 */
#ifndef MAILCERT_FETCH_H
#define MAILCERT_FETCH_H

#include <stddef.h>

#include "mailcert/err.h"

#define MC_FETCH_MAX_CERT ((size_t)64 * 1024)       /* AIA certificates */
#define MC_FETCH_MAX_OCSP ((size_t)64 * 1024)       /* OCSP responses */
#define MC_FETCH_MAX_CRL ((size_t)10 * 1024 * 1024) /* CRLs */

struct mc_fetch_opts {
	int timeout_ms;  /* total; connect gets the same cap; <= 0: 10 s */
	size_t max_size; /* body cap in bytes; 0: MC_FETCH_MAX_CERT */
	const char *content_type; /* POST: Content-Type of the body */
	const void *body;         /* POST body; NULL: GET */
	size_t body_len;
};

struct mc_fetch_result {
	long status;         /* HTTP status of the final response */
	unsigned char *body; /* owned, NUL-terminated */
	size_t len;
	char content_type[128]; /* "" when the server sent none */
};

/* mc_fetch - GET (or POST opts->body) url into out. */
int mc_fetch(const char *url, const struct mc_fetch_opts *opts,
             struct mc_fetch_result *out, struct mc_err *err);

/* mc_fetch_result_clear - free the body and zero out (safe twice). */
void mc_fetch_result_clear(struct mc_fetch_result *out);

#endif
