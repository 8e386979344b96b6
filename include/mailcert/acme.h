/*
 * acme.h - RFC 8555 ACME client.
 *
 * One struct mc_acme talks to one directory URL over https only (the CA's
 * certificate is verified against ca_bundle, or the system store). It
 * keeps the directory, a nonce, the account key (borrowed) and account URL
 * (kid). Every HTTP call has connect/total timeouts and a response size
 * cap; badNonce is retried, 429/503 with Retry-After are retried within
 * the deadline. JSON stays inside acme/: callers see only C structs.
 *
 * Errors: MC_ERR_NET (connect, TLS, timeout, size), MC_ERR_CA (HTTP
 * status and the RFC 7807 problem as one line: "HTTP 403:
 * urn:ietf:params:acme:error:unauthorized: detail; subproblems: ..."),
 * MC_ERR_CHALLENGE (an authorization failed: names the identifier, the
 * challenge type and the CA's detail), MC_ERR_INPUT (malformed response:
 * names the URL and what was wrong). No key, HMAC key or token is ever put
 * in an error message or log line.
 */
#ifndef MAILCERT_ACME_H
#define MAILCERT_ACME_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "mailcert/config.h"
#include "mailcert/err.h"

struct mc_acme;

struct mc_acme_opts {
	const char *directory;    /* https URL of the directory */
	const char *ca_bundle;    /* NULL or "": system store */
	long connect_timeout;     /* seconds; 0: 10 */
	long request_timeout;     /* seconds per request; 0: 30 */
	long max_response;        /* bytes; 0: 1 MiB */
};

struct mc_acme_account {
	char *url;    /* the kid */
	char *status; /* "valid", "deactivated", "revoked" */
	char **contact;
	size_t n_contact;
	char *orders; /* may be NULL */
};

struct mc_acme_new_account {
	const char *contact;      /* NULL or space separated URIs ("mailto:...") */
	const char *eab_kid;      /* NULL: no external account binding */
	const char *eab_hmac_key; /* base64url HMAC key (secret) */
	bool only_return_existing;
};

/* Fleet mode: where http-01 answers go besides this host's responder, so
 * every host can answer the CA (publish before the CA is told, withdraw
 * when the authorization is done). */
struct mc_acme_token_sink {
	int (*publish)(void *arg, const char *token, const char *keyauth,
		       struct mc_err *err);
	void (*withdraw)(void *arg, const char *token);
	void *arg;
};

struct mc_acme_challenge_conf {
	enum mc_challenge_type type;
	const char *http_listen;     /* "HOST:PORT" for the built-in responder */
	const char *webroot;         /* NULL/"": built-in responder */
	const char *tls_alpn_listen; /* "HOST:PORT" */
	const char *dns_hook;        /* executable: HOOK add|del FQDN VALUE */
	long dns_propagation_wait;   /* seconds to wait after adding TXT records */
	long hook_timeout;           /* seconds for each dns_hook call */
	const char *nsupdate_server; /* without dns_hook: RFC 2136 server (ADDR[:PORT]) */
	const char *nsupdate_key;    /* its TSIG key file, or NULL */
};

struct mc_acme_order_req {
	const char *const *names; /* validated, lower-case */
	size_t n_names;
	EVP_PKEY *cert_key;       /* borrowed: the CSR is signed with it */
	const struct mc_acme_challenge_conf *challenge;
	const char *preferred_chain; /* issuer CN, or NULL */
	const char *replaces;        /* ARI certID, or NULL */
	long deadline;               /* seconds the order may take, not counting
	                                the dns-01 propagation wait; 0: 300 */
	const char *profile;         /* ACME profile, or NULL: the CA's default */
};

struct mc_acme_cert {
	char *order_url;
	char *cert_url;   /* URL of the chain that was chosen */
	char *chain_pem;  /* leaf, then intermediates */
	size_t chain_len;
	STACK_OF(X509) *chain; /* chain_pem parsed (parsed once: each X509
	                          costs ~0.15 ms of OpenSSL 3.0 decoding) */
};

/* The automatic re-registration of mc_acme_set_recovery: when the CA
 * answers accountDoesNotExist to a request signed with the kid (a CA reset,
 * a lost database), the client drops the kid, registers the same key again
 * with req (newAccount), calls registered (to save the new account) and
 * sends the request once more. At most once per client, and logged. */
struct mc_acme_recovery {
	struct mc_acme_new_account req; /* strings borrowed for the client's life */
	int (*registered)(void *arg, const struct mc_acme_account *acct,
			  struct mc_err *err);
	void *arg;
};

/* mc_acme_new - fetch the directory (new client, free with mc_acme_free). */
struct mc_acme *mc_acme_new(const struct mc_acme_opts *opts, struct mc_err *err);

/* mc_acme_free - free a client; NULL is a no-op. */
void mc_acme_free(struct mc_acme *acme);

/* mc_acme_set_key - the account key used to sign (borrowed until free or the next call). */
void mc_acme_set_key(struct mc_acme *acme, EVP_PKEY *account_key);

/* mc_acme_set_http01_sink - also publish http-01 answers through sink
 * (borrowed until free or the next call; NULL: this host only). */
void mc_acme_set_http01_sink(struct mc_acme *acme,
			     const struct mc_acme_token_sink *sink);

/* mc_acme_set_kid - the account URL, when known from the state directory (copied). */
int mc_acme_set_kid(struct mc_acme *acme, const char *kid, struct mc_err *err);

/* mc_acme_set_recovery - allow the one re-registration described above
 * (rec copied; NULL: none). */
void mc_acme_set_recovery(struct mc_acme *acme,
			  const struct mc_acme_recovery *rec);

/* mc_acme_last_problem - the ACME problem type of the last error answer
 * without "urn:ietf:params:acme:error:" ("unauthorized",
 * "accountDoesNotExist", ...), "" if none or not an ACME problem. */
const char *mc_acme_last_problem(const struct mc_acme *acme);

/* mc_acme_kid - the account URL, or NULL before register/lookup. Borrowed. */
const char *mc_acme_kid(const struct mc_acme *acme);

/* mc_acme_terms - the directory's termsOfService URL or NULL. Borrowed. */
const char *mc_acme_terms(const struct mc_acme *acme);

/* mc_acme_has_renewal_info - whether the directory offers renewalInfo (ARI). */
bool mc_acme_has_renewal_info(const struct mc_acme *acme);

/* mc_acme_eab_required - the directory's meta.externalAccountRequired. */
bool mc_acme_eab_required(const struct mc_acme *acme);

/* mc_acme_profile_check - 0 when profile (NULL/"": none) may be requested:
 * the directory's meta.profiles lists it. Else MC_ERR_CONFIG naming the
 * profiles the CA offers (or that it offers none). No request is made. */
int mc_acme_profile_check(const struct mc_acme *acme, const char *profile,
			  struct mc_err *err);

/* mc_acme_account_new - newAccount (agreeing to the ToS), or look it up
 * with only_return_existing; sets the kid; fills *out. */
int mc_acme_account_new(struct mc_acme *acme, const struct mc_acme_new_account *req,
			struct mc_acme_account *out, struct mc_err *err);

/* mc_acme_account_get - POST-as-GET the account (needs the kid). */
int mc_acme_account_get(struct mc_acme *acme, struct mc_acme_account *out,
			struct mc_err *err);

/* mc_acme_account_clear - free the members of an account struct. */
void mc_acme_account_clear(struct mc_acme_account *acct);

/* mc_acme_order - newOrder, satisfy every authorization with the
 * configured challenge, finalize with a CSR for cert_key, download the
 * chain (choosing preferred_chain among Link rel="alternate"). Fills *out. */
int mc_acme_order(struct mc_acme *acme, const struct mc_acme_order_req *req,
		  struct mc_acme_cert *out, struct mc_err *err);

/* mc_acme_cert_clear - free the members of a result. */
void mc_acme_cert_clear(struct mc_acme_cert *cert);

/* --- ARI (RFC 9773), revocation, key rollover, deactivation --- */

#define MC_ACME_ARI_RETRY_DEFAULT (6L * 3600L) /* no Retry-After: 6 h */
#define MC_ACME_ARI_RETRY_MIN 60L              /* clamp: 1 min ... */
#define MC_ACME_ARI_RETRY_MAX (24L * 3600L)    /* ... to 1 day */

struct mc_acme_ari {
	time_t start;          /* suggestedWindow.start */
	time_t end;            /* suggestedWindow.end, > start */
	char *explanation_url; /* explanationURL, or NULL */
	long retry_after;      /* seconds until the next poll (clamped) */
};

/* mc_acme_renewal_info - unauthenticated GET renewalInfo/<cert_id>; fills
 * *out (free with mc_acme_ari_clear). MC_ERR_CA when the directory has no
 * renewalInfo or the CA answers an error; MC_ERR_INPUT for a malformed
 * window (bad timestamps, start >= end). */
int mc_acme_renewal_info(struct mc_acme *acme, const char *cert_id,
			 struct mc_acme_ari *out, struct mc_err *err);

/* mc_acme_ari_clear - free the members of an ARI result. */
void mc_acme_ari_clear(struct mc_acme_ari *ari);

/* mc_acme_ari_pick - a uniformly random moment in [start, end) using
 * rand_bytes (NULL: OpenSSL RAND_bytes; returns 1 on success). MC_ERR_INPUT
 * when end <= start, MC_ERR_CRYPTO when the random source fails. */
int mc_acme_ari_pick(time_t start, time_t end,
		     int (*rand_bytes)(unsigned char *buf, int num),
		     time_t *out, struct mc_err *err);

/* mc_acme_parse_time - an RFC 3339 date-time ("2025-01-02T03:04:05Z",
 * fractions and +hh:mm offsets allowed) as UTC time_t; -1 if malformed. */
int mc_acme_parse_time(const char *text, time_t *out);

/* mc_acme_ari_retry_clamp - a Retry-After in seconds (-1: absent) clamped
 * to [MC_ACME_ARI_RETRY_MIN, MC_ACME_ARI_RETRY_MAX], default when absent. */
long mc_acme_ari_retry_clamp(long retry_after);

/* mc_acme_revoke - revokeCert for cert (RFC 8555 7.6), signed with the
 * account key (kid) when cert_key is NULL, else with cert_key (borrowed;
 * jwk in the header, no account needed: it must be the certificate's key,
 * MC_ERR_INPUT otherwise); reason is an RFC 5280 CRLReason code (0..10,
 * not 7). The CA's alreadyRevoked is an MC_ERR_CA error like any other
 * (mc_acme_last_problem tells it apart). */
int mc_acme_revoke(struct mc_acme *acme, X509 *cert, EVP_PKEY *cert_key,
		   int reason, struct mc_err *err);

/* mc_acme_key_change - roll the account over to new_key (RFC 8555 7.3.5).
 * On success the client signs with new_key (borrowed, like
 * mc_acme_set_key); on failure it keeps the old key. */
int mc_acme_key_change(struct mc_acme *acme, EVP_PKEY *new_key,
		       struct mc_err *err);

/* mc_acme_account_deactivate - POST {"status":"deactivated"} to the account
 * URL (RFC 8555 7.3.6); MC_ERR_CA unless the CA answers "deactivated". */
int mc_acme_account_deactivate(struct mc_acme *acme, struct mc_err *err);

/* mc_acme_listen_probe - whether a challenge responder could listen on
 * spec ("HOST:PORT") now: bind, listen, close. MC_ERR_CONFIG for a bad
 * address, MC_ERR_SYS (with the errno text, e.g. "Address already in
 * use") when it cannot be bound. For `mailcert doctor`. */
int mc_acme_listen_probe(const char *spec, const char *what, struct mc_err *err);

/* --- an http-01 responder for answers another host published --- */

struct mc_acme_responder;

/* mc_acme_http01_serve - the built-in http-01 responder on listen
 * ("HOST:PORT"), answering each token with lookup(arg, token) (a new
 * string, or NULL: 404); lookup runs in the responder's thread. */
struct mc_acme_responder *mc_acme_http01_serve(const char *listen,
					       char *(*lookup)(void *arg,
							       const char *token),
					       void *arg, struct mc_err *err);

/* mc_acme_http01_serve_stop - stop it and free; NULL is a no-op. */
void mc_acme_http01_serve_stop(struct mc_acme_responder *r);

#endif
