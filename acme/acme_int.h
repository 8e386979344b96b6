/*
 * acme_int.h - what the files of acme/ share (acme-internal).
 *
 * client.c owns struct mc_acme: directory, nonce, account key and kid,
 * the signed-POST helper with its badNonce and Retry-After retries.
 * problem.c turns error responses into one error line; csr.c builds the
 * CSR; authz.c satisfies authorizations; order.c drives an order.
 * json_t never leaves acme/. Strings returned are new unless "borrowed".
 */
#ifndef MAILCERT_ACME_INT_H
#define MAILCERT_ACME_INT_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "mailcert/http.h"
#include "mailcert/acme.h"
#include "mailcert/buf.h"
#include "mailcert/err.h"

#define ACME_PROBLEM "urn:ietf:params:acme:error:"

struct acme_dir {
	char *new_nonce;
	char *new_account;
	char *new_order;
	char *revoke_cert;  /* NULL if absent */
	char *key_change;   /* NULL if absent */
	char *renewal_info; /* NULL if absent */
	char *terms;        /* meta.termsOfService, NULL if absent */
	bool eab_required;  /* meta.externalAccountRequired */
	char **profiles;    /* names of meta.profiles (draft-ietf-acme-profiles) */
	size_t n_profiles;
};

struct mc_acme {
	char *directory;
	struct mc_http *http; /* one transport: kept-alive connection to the CA */
	long connect_ms;
	long request_ms;
	size_t max_response;
	struct acme_dir dir;
	char *nonce;
	EVP_PKEY *key; /* borrowed */
	char *kid;
	long long deadline; /* mc_now_ms() until which retries and polls may
	                       go on (the order's); 0: per call */
	struct mc_acme_recovery recovery; /* .registered NULL: none */
	bool recovered;                   /* the one re-registration is spent */
	char last_problem[64]; /* type of the last error answer, no prefix */
	const struct mc_acme_token_sink *http01_sink; /* fleet; borrowed */
};

/* --- client.c --- */

/* acme_http - one request to the CA (https only, no redirects, the
 * client's timeouts and size cap); accept NULL: application/json. */
int acme_http(struct mc_acme *acme, const char *method, const char *url,
              const char *jws, const char *accept, struct mc_http_resp *out,
              struct mc_err *err);

/* acme_post - signed POST of payload (NULL: POST-as-GET) to url with the
 * kid (or the jwk when use_jwk); retries badNonce (with the nonce of the
 * error answer) and 429/503 with Retry-After while the deadline allows; a
 * non-2xx answer becomes the problem error; a pending SIGTERM/SIGINT is
 * MC_ERR_INTERRUPTED before anything is sent (mailcert/interrupt.h). out
 * must be zeroed; the caller clears it. */
int acme_post(struct mc_acme *acme, const char *url, const json_t *payload,
              bool use_jwk, const char *accept, struct mc_http_resp *out,
              struct mc_err *err);

/* acme_post_json - acme_post, then parse the body as a JSON object (*json new).
 */
int acme_post_json(struct mc_acme *acme, const char *url, const json_t *payload,
                   struct mc_http_resp *resp, json_t **json,
                   struct mc_err *err);

/* acme_parse_object - parse body from url as a JSON object (new) or
 * MC_ERR_INPUT. */
json_t *acme_parse_object(const char *url, const char *body, size_t len,
                          struct mc_err *err);

/* acme_json_str - obj[name] as a borrowed string; NULL when absent and
 * optional; -1 with MC_ERR_INPUT naming url and field when wrong (not a
 * string, over 4096 bytes, a control character). https demands an
 * https:// URL. */
int acme_json_str(const json_t *obj, const char *name, const char *url,
                  bool required, bool https, const char **out,
                  struct mc_err *err);

/* acme_strdup_opt - strdup that keeps NULL; -1 on memory failure. */
int acme_strdup_opt(const char *s, char **out, struct mc_err *err);

/* --- account.c --- */

/* acme_account_answer - the final error answer r to a request to url: set
 * err from it (the problem, plus the command that fixes an account
 * problem of a kid-signed request) and return -1; or, once per client,
 * when r is accountDoesNotExist for a kid-signed request and recovery is
 * set, register the account key again and return 1 (send it again). */
int acme_account_answer(struct mc_acme *acme, const char *url, bool use_jwk,
                        const struct mc_http_resp *r, struct mc_err *err);

/* --- meta.c --- */

/* acme_meta_parse - the directory's "meta" object (may be NULL) from url
 * into dir: termsOfService, externalAccountRequired, profiles. */
int acme_meta_parse(struct acme_dir *dir, const json_t *meta, const char *url,
                    struct mc_err *err);

/* acme_meta_clear - free what acme_meta_parse stored in dir. */
void acme_meta_clear(struct acme_dir *dir);

/* --- problem.c --- */

/* acme_problem_error - set err from an error response (MC_ERR_CA, or
 * MC_ERR_INPUT for a malformed problem document); always returns -1. */
int acme_problem_error(const char *url, long status, const char *ctype,
                       const char *body, size_t len, struct mc_err *err);

/* acme_problem_type - the "type" of a problem document (new string) or NULL. */
char *acme_problem_type(const char *ctype, const char *body, size_t len);

/* acme_problem_append - append "type: detail; subproblems: id: type: detail,
 * ...". */
int acme_problem_append(struct mc_buf *out, const json_t *prob,
                        struct mc_err *err);

/* acme_excerpt - a short printable excerpt of body (HTML tags dropped). */
void acme_excerpt(const char *body, size_t len, char *out, size_t size);

/* --- csr.c --- */

/* acme_csr_der - DER CSR for names signed by key (*der new, OPENSSL_free). */
int acme_csr_der(EVP_PKEY *key, const char *const *names, size_t n_names,
                 unsigned char **der, size_t *len, struct mc_err *err);

/* acme_san_name - one subjectAltName entry for name: iPAddress when it is an
 * IP literal (mc_name_ip), else dNSName (new; NULL when out of memory). */
GENERAL_NAME *acme_san_name(const char *name);

/* acme_csr_b64url - base64url of the DER CSR (new string). */
char *acme_csr_b64url(EVP_PKEY *key, const char *const *names, size_t n_names,
                      struct mc_err *err);

/* --- authz.c --- */

/* acme_authorize - satisfy every authorization URL of an order with the
 * configured challenge; responders and DNS records are always cleaned up. */
int acme_authorize(struct mc_acme *acme, const struct mc_acme_order_req *req,
                   char *const *authz_urls, size_t n_authz, struct mc_err *err);

/* acme_poll_wait - sleep before the next poll: exactly Retry-After (if
 * > 0), else the backoff *step_ms (then doubled, up to a cap), cut short
 * at the deadline; -1 when the deadline has passed. */
int acme_poll_wait(struct mc_acme *acme, long retry_after, long *step_ms);

/* The first backoff step of a poll loop: the CA is asked again soon. */
#define ACME_POLL_FIRST_MS 10L

#endif
