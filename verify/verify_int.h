/*
 * verify_int.h - internals of the verify module (not a public contract).
 *
 * A struct verify_conn is one TCP connection with a total deadline and a
 * per-operation timeout. Functions that talk to the peer return 0, or -1
 * after writing outcome and reason into the probe result they were given:
 * the peer's behaviour is a result, not an mc_err.
 */
#ifndef MAILCERT_VERIFY_INT_H
#define MAILCERT_VERIFY_INT_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/ssl.h>

#include "mailcert/verify.h"
#include "mailcert/time.h"

struct mc_limit_slot;

/* One probe connection. Its life, as the debug log tells it (one line
 * each, so a test can count the connections open at once per address):
 * "probe connection to ADDR port N: opening" after the slot of ADDR is
 * taken and before socket(), "...: closed" after close() and before the
 * slot is given back. */
struct verify_conn {
	int fd;        /* -1 when closed */
	long deadline; /* mc_now_ms() value of the total deadline */
	int budget_ms; /* the whole probe's time (for messages) */
	int io_timeout_ms;
	int greet_timeout_ms; /* > 0: the wait for the first byte */
	bool got_data;        /* something was received */
	const char *stage; /* "SMTP greeting": names the step in reasons */
	struct mc_probe_result *res;
	struct mc_limit_slot *slot; /* of opts->limit while fd is open */
	char addr[48];              /* numeric address connected to, or "" */
	unsigned port;
	char buf[MC_VERIFY_LINE_MAX]; /* received, not yet consumed bytes */
	size_t len;
};


/* verify_fail - set res outcome and reason (printf); returns -1. */
int verify_fail(struct mc_probe_result *res, enum mc_probe_outcome outcome,
                const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* verify_silence - the peer did not answer: outcome with "no answer
 * within N ms" or, when the deadline passed, the budget; returns -1. */
int verify_silence(struct verify_conn *c, enum mc_probe_outcome outcome,
                   int waited_ms);

/* verify_conn_open - resolve and connect to ep within the timeouts. */
int verify_conn_open(struct verify_conn *c, const struct mc_endpoint *ep,
                     const struct mc_probe_opts *opts,
                     struct mc_probe_result *res);

/* verify_conn_wait - poll fd for events; 1 ready, 0 timed out, -1 error. */
int verify_conn_wait(struct verify_conn *c, short events);

/* verify_conn_readline - one line without CR LF into line (size >= LINE_MAX).
 */
int verify_conn_readline(struct verify_conn *c, char *line, size_t size);

/* verify_conn_writeline - send text followed by CR LF. */
int verify_conn_writeline(struct verify_conn *c, const char *text);

/* verify_conn_quickack - acknowledge at once what arrives next (and what
 * arrived unacknowledged): a client that waits in silence for a greeting
 * must not delay its ACK, or a server with Nagle on holds its small
 * greeting behind its unacknowledged session tickets for the 40 ms of a
 * delayed ACK (Postfix's smtps greeting did). Linux; elsewhere a no-op. */
void verify_conn_quickack(struct verify_conn *c);

/* verify_conn_close - close the socket (no-op when closed) and give its
 * connection slot back. */
void verify_conn_close(struct verify_conn *c);

/* verify_greeting - remember the greeting line and the daemon it names. */
void verify_greeting(struct mc_probe_result *res, const char *line);

/* verify_implicit_hint - after a STARTTLS scheme got no greeting: whether
 * the port speaks TLS at once (one raw ClientHello, within limit_ms, at
 * most 2 s); if so, append the implicit-TLS URL to res->reason. */
void verify_implicit_hint(const struct mc_endpoint *ep,
                          const struct mc_probe_opts *opts, int limit_ms,
                          struct mc_probe_result *res);

/* verify_starttls - run the scheme's STARTTLS dialog up to the TLS go-ahead. */
int verify_starttls(struct verify_conn *c, const struct mc_endpoint *ep,
                    const struct mc_probe_opts *opts);

/* verify_goodbye - the plain-text logout command of a scheme, or NULL. */
const char *verify_goodbye(enum mc_scheme scheme);

/* verify_plain_reply - whether bytes a TLS client received are plain text
 * (a protocol reply line), not a TLS record. */
bool verify_plain_reply(const unsigned char *buf, size_t len);

/* verify_tls_ctx - a client SSL_CTX for opts (MC_ERR_USAGE for bad options). */
SSL_CTX *verify_tls_ctx(const struct mc_probe_opts *opts, struct mc_err *err);

/* verify_tls_ctx_get - the SSL_CTX for opts: from opts->cache (shared)
 * or a new one; a new reference either way (SSL_CTX_free it). */
SSL_CTX *verify_tls_ctx_get(const struct mc_probe_opts *opts,
                            struct mc_err *err);

/* verify_tls_new - an SSL for one probe: SNI, OCSP request (MC_ERR_CRYPTO). */
SSL *verify_tls_new(SSL_CTX *ctx, const struct mc_probe_opts *opts,
                    struct mc_err *err);

/* verify_tls_handshake - TLS client handshake over c; -1 with res set (a
 * plain-text answer after a STARTTLS go-ahead is STARTTLS_REFUSED with
 * the server's text). */
int verify_tls_handshake(struct verify_conn *c, SSL *ssl,
                         const struct mc_endpoint *ep);

/* verify_tls_capture - copy chain, version, cipher, ALPN, OCSP into res. */
int verify_tls_capture(SSL *ssl, struct mc_probe_result *res,
                       struct mc_err *err);

/* verify_tls_greeting - smtps, imaps, pop3s (no-op for other schemes):
 * read the greeting after the handshake, every line of it, waiting at
 * most limit_ms in all (never past c's deadline), before anything is
 * sent; when none came, res->no_greeting says why. */
void verify_tls_greeting(struct verify_conn *c, SSL *ssl,
                         enum mc_scheme scheme, int limit_ms);

/* verify_tls_goodbye - best effort: logout, drain to close, close_notify;
 * for implicit TLS the first line drained is the greeting when
 * verify_tls_greeting did not read one (and then clears no_greeting). */
void verify_tls_goodbye(struct verify_conn *c, SSL *ssl, enum mc_scheme scheme);

#endif
