/*
 * verify.h - connect to a live mail endpoint and fetch what it serves.
 *
 * The connection layer shared by `mailcert verify` and `mailcert check`:
 * given an endpoint (parsed by mc_addr_endpoint_parse, mailcert/addr.h),
 * connect with timeouts, speak the STARTTLS dialog of the protocol (SMTP,
 * IMAP, POP3, ManageSieve) or go straight to TLS, run one TLS handshake with verification OFF, and report
 * the served chain, protocol, cipher, stapled OCSP and ALPN. Judging what
 * was served (trust, names, dates, weak settings) is the caller's job.
 *
 * Ownership: struct mc_endpoint holds fixed-size copies, nothing to free.
 * struct mc_probe_opts only borrows its strings for the duration of the
 * call. struct mc_probe_result owns `chain` and `ocsp_der`; release them
 * with mc_probe_result_clear(). X509 arguments are borrowed.
 *
 * Errors: the -1 / struct mc_err path is for problems on OUR side only:
 * MC_ERR_USAGE for bad probe options (e.g. an unknown cipher name),
 * MC_ERR_SYS / MC_ERR_CRYPTO for local failures. Whatever the peer
 * does (refused, silent, garbage, 454, TLS alert) is not an error: the
 * probe returns 0 and says so in result->outcome and result->reason.
 *
 * Limits: connect, per-read/write and total timeouts (opts); server lines
 * are capped at MC_VERIFY_LINE_MAX bytes and replies at MC_VERIFY_LINES_MAX
 * lines. Name resolution is bounded only by the system resolver's own
 * timeouts (resolv.conf); its time counts against the total deadline.
 */
#ifndef MAILCERT_VERIFY_H
#define MAILCERT_VERIFY_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/x509.h>

#include "mailcert/addr.h"
#include "mailcert/err.h"

#define MC_VERIFY_LINE_MAX 4096 /* bytes per server line, CRLF included */
#define MC_VERIFY_LINES_MAX 100 /* lines per server reply */
#define MC_VERIFY_HOST_MAX MC_ADDR_HOST_MAX

/* Which server key a probe asks for (mc_probe_opts.key_alg). An endpoint
 * with an RSA and an ECDSA certificate serves the one the ClientHello
 * allows: ECDSA-only offers only ECDSA signature algorithms (TLS 1.3 and
 * 1.2) and only ECDSA-authenticated TLS 1.2 suites; RSA-only offers only
 * RSA (PKCS#1 and PSS) signature algorithms and RSA-authenticated or
 * RSA key exchange suites. A server without such a certificate fails the
 * handshake (MC_PROBE_TLS_FAILED). */
enum mc_key_alg {
	MC_KEY_ALG_ANY = 0, /* OpenSSL's default ClientHello */
	MC_KEY_ALG_ECDSA,
	MC_KEY_ALG_RSA,
};

/* The daemon behind an endpoint, as its greeting names it (Postfix's
 * default smtpd_banner, Exim's smtp_banner, Dovecot's login_greeting and
 * Pigeonhole's IMPLEMENTATION); UNKNOWN when the greeting does not say. */
enum mc_server_kind {
	MC_SERVER_UNKNOWN = 0,
	MC_SERVER_POSTFIX,
	MC_SERVER_EXIM,
	MC_SERVER_DOVECOT,
};

/* The client TLS contexts (SSL_CTX) of a run, one per distinct set of the
 * options that shape it (versions, cipher lists, security level, ALPN, key
 * restriction), shared by every probe that sets opts.cache, from any
 * thread: building one costs as much CPU as the rest of a loopback probe.
 * Per-probe settings (SNI, OCSP request) go on each probe's own SSL, and
 * no session is ever kept or resumed: every probe makes a full handshake
 * and sees the certificate served now. */
struct mc_probe_cache;
struct mc_limit;

/* mc_probe_cache_new - an empty cache (NULL with MC_ERR_SYS). */
struct mc_probe_cache *mc_probe_cache_new(struct mc_err *err);

/* mc_probe_cache_free - free the cache and its contexts (NULL: no-op);
 * after every probe that uses it has returned. */
void mc_probe_cache_free(struct mc_probe_cache *cache);

/* Start from mc_probe_opts_init(); `check` may then ask for e.g.
 * max_version = TLS1_VERSION, cipher_list = "ALL:@SECLEVEL=0". The
 * security level is applied after cipher_list, so it wins over any
 * @SECLEVEL in the list. */
struct mc_probe_opts {
	const char *servername;   /* SNI; NULL or an IP literal: none sent */
	const char *ehlo_name;    /* NULL: this host's FQDN, else [local IP] */
	int connect_timeout_ms;   /* per address tried */
	int io_timeout_ms;        /* per read/write, TLS handshake included */
	int total_timeout_ms;     /* whole probe; caps the two above */
	int greeting_timeout_ms;  /* first byte of a STARTTLS greeting; 0:
	                             io_timeout_ms (at most 3 s on 465, 993
	                             and 995, where implicit TLS waits); and
	                             the wait of await_greeting */
	bool await_greeting;      /* smtps, imaps, pop3s: after the handshake
	                             read the greeting (every line of it)
	                             before the goodbye, as a client does,
	                             waiting up to greeting_timeout_ms (0:
	                             io_timeout_ms); false: it is heard only
	                             if it comes within the goodbye's 100 ms
	                             (a login process started late, or one
	                             waiting for its auth process, greets
	                             later) */
	int min_version;          /* TLS1_VERSION...; 0 = OpenSSL default */
	int max_version;          /* 0 = OpenSSL default */
	const char *cipher_list;  /* TLS <= 1.2 cipher list; NULL default */
	const char *ciphersuites; /* TLS 1.3 suites; NULL default */
	int security_level;       /* 0..5; -1 = OpenSSL default */
	bool want_ocsp;           /* ask for a stapled OCSP response */
	const char *alpn;         /* "a,b" protocols to offer; NULL none */
	enum mc_key_alg key_alg;  /* restrict the server key; see above */
	struct mc_probe_cache *cache; /* borrowed: TLS contexts shared by the
	                                 probes of a run; NULL: one of its
	                                 own per probe */
	struct mc_limit *limit;   /* borrowed: connections at once per server
	                             address across the run (mailcert/pool.h),
	                             a slot held from before connect() to
	                             after close(); the wait for a slot does
	                             not count against the timeouts. NULL: no
	                             bound */
};

enum mc_probe_outcome {
	MC_PROBE_OK = 0,           /* handshake done, chain captured */
	MC_PROBE_UNREACHABLE,      /* DNS, refused, timeout, closed */
	MC_PROBE_STARTTLS_MISSING, /* no STARTTLS/STLS offered (or PREAUTH) */
	MC_PROBE_STARTTLS_REFUSED, /* 454, 421/554 greeting, NO, -ERR, BYE;
	                              or plain text (e.g. "* BYE") instead of
	                              TLS after the go-ahead */
	MC_PROBE_TLS_FAILED,       /* handshake failed: OpenSSL reason */
	MC_PROBE_PROTOCOL_ERROR,   /* the server spoke something else */
};

/* reason names the step ("SMTP STARTTLS: ...") but not the endpoint: the
 * caller prefixes the URL. */
struct mc_probe_result {
	enum mc_probe_outcome outcome;
	char reason[768];        /* one sentence: step and why; "" when OK */
	char server_text[256];   /* sanitized reply behind a refusal, or
	                            the plain text a server sent instead
	                            of TLS after its STARTTLS go-ahead */
	char greeting[256];      /* sanitized first greeting line ("" if
	                            none was read) */
	char no_greeting[256];   /* await_greeting: why no greeting came
	                            after the handshake ("no greeting within
	                            5000 ms after the TLS handshake"); "" when
	                            one came or none was awaited */
	enum mc_server_kind server; /* from the greeting */
	bool implicit_tls;       /* a STARTTLS URL got no greeting, and its
	                            port answered TLS at once */
	bool timed_out;          /* the peer did not answer in time (the
	                            reason says whether the per-read timeout
	                            or the whole probe's budget ran out) */
	char peer[64];           /* address connected to ("[::1]:25") */
	STACK_OF(X509) * chain;  /* served chain, leaf first; owned; NULL
	                            if none was sent (anonymous suites) */
	char protocol[16];       /* "TLSv1.3" */
	char cipher[64];         /* OpenSSL name of the cipher */
	char alpn[64];           /* negotiated ALPN protocol, "" if none */
	unsigned char *ocsp_der; /* stapled OCSP response, owned; or NULL */
	size_t ocsp_len;
	bool sni_sent;
	long connect_ms;   /* TCP connect */
	long starttls_ms;  /* greeting to STARTTLS go-ahead; 0 if none */
	long handshake_ms; /* TLS handshake */
	long total_ms;
};

/* mc_probe_opts_init - defaults: no SNI, 5 s connect, 10 s io, 20 s total,
 * any server key. */
void mc_probe_opts_init(struct mc_probe_opts *opts);

/* mc_verify_probe - connect, STARTTLS if the scheme says so, handshake.
 * Returns 0 with out filled for every outcome (out owns its chain; clear
 * it); -1 only for local failures, with out untouched. One attempt: the
 * caller retries with backoff (see mc_verify_outcome_transient). When a
 * STARTTLS scheme gets no greeting (at most 3 s on the implicit-TLS ports
 * 465, 993 and 995), one more short connection asks whether the port
 * speaks TLS at once, and the reason then names the implicit-TLS URL. */
int mc_verify_probe(const struct mc_endpoint *ep,
                    const struct mc_probe_opts *opts,
                    struct mc_probe_result *out, struct mc_err *err);

/* mc_probe_result_clear - free what out owns and zero it (safe twice). */
void mc_probe_result_clear(struct mc_probe_result *out);

/* mc_verify_server_kind - the daemon a greeting line names. */
enum mc_server_kind mc_verify_server_kind(const char *greeting);

/* mc_verify_server_name - "postfix", "exim", "dovecot" or "" (static). */
const char *mc_verify_server_name(enum mc_server_kind kind);

/* mc_verify_key_alg_name - "any", "ecdsa", "rsa" (static). */
const char *mc_verify_key_alg_name(enum mc_key_alg alg);

/* mc_verify_outcome_name - stable name ("ok", "starttls-missing", ...). */
const char *mc_verify_outcome_name(enum mc_probe_outcome outcome);

/* mc_verify_outcome_transient - whether a retry may help (reloads). */
bool mc_verify_outcome_transient(enum mc_probe_outcome outcome);

/* mc_verify_leaf_matches - whether two certificates have the same DER. */
bool mc_verify_leaf_matches(X509 *served, X509 *expected);

/* mc_verify_leaf_describe - "serial HEX sha256 HEX" of cert into buf. */
int mc_verify_leaf_describe(X509 *cert, char *buf, size_t size,
                            struct mc_err *err);

#endif
