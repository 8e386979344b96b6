/*
 * rawconn.c - a plain socket that is ready for a hand-built ClientHello.
 *
 * Connect and run the scheme's STARTTLS dialog with the shared internals
 * of conn.c and starttls.c, then hand over the file descriptor instead of
 * starting OpenSSL. Bytes the server sent after its go-ahead would be
 * read as TLS by a real client (the STARTTLS injection bug), so they are
 * a protocol error here too.
 *
 * verify_implicit_hint() uses the same raw socket the other way round:
 * when a STARTTLS URL heard no greeting, one ClientHello tells whether the
 * port speaks TLS at once.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "verify/hello.h"
#include "verify/verify_int.h"
#include "mailcert/time.h"

#define HINT_TIMEOUT_MS 2000 /* at most, and never past the probe's budget */
#define HINT_MIN_MS 200

/* Common TLS 1.2 suites (ECDHE/RSA with AES-GCM, ChaCha20, AES-CBC). */
static const uint16_t hint_suites[] = {
    0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0x009e,
    0x009c, 0xc009, 0xc013, 0xc00a, 0xc014, 0x002f, 0x0035,
};

/* verify_rawconn_open - connect, STARTTLS up to the go-ahead, give the
 * connection. */
int
verify_rawconn_open(const struct mc_endpoint *ep,
                    const struct mc_probe_opts *opts,
                    struct mc_probe_result *res, struct verify_conn **out)
{
	struct verify_conn *c;
	int rc = -1;

	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return verify_fail(res, MC_PROBE_UNREACHABLE,
		                   "connect: out of memory");
	c->fd = -1;
	c->deadline = mc_now_ms() + opts->total_timeout_ms;
	c->budget_ms = opts->total_timeout_ms;
	c->io_timeout_ms = opts->io_timeout_ms;
	c->res = res;
	if (verify_conn_open(c, ep, opts, res) == -1)
		goto out;
	if (mc_addr_scheme_starttls(ep->scheme) &&
	    verify_starttls(c, ep, opts) == -1)
		goto out;
	if (c->len > 0) {
		verify_fail(res, MC_PROBE_PROTOCOL_ERROR,
		            "%s: %zu unexpected bytes after the go-ahead",
		            c->stage, c->len);
		goto out;
	}
	*out = c;
	c = NULL;
	rc = 0;
out:
	verify_rawconn_close(c);
	return rc;
}

/* verify_rawconn_close - close and free c. */
void
verify_rawconn_close(struct verify_conn *c)
{
	if (c == NULL)
		return;
	verify_conn_close(c);
	free(c);
}

/* hint_implicit_scheme - the implicit-TLS scheme beside a STARTTLS one. */
static const char *
hint_implicit_scheme(enum mc_scheme scheme)
{
	switch (scheme) {
	case MC_SCHEME_SMTP:
	case MC_SCHEME_SUBMISSION:
		return "smtps";
	case MC_SCHEME_IMAP:
		return "imaps";
	case MC_SCHEME_POP3:
		return "pop3s";
	default:
		return "tls";
	}
}

/* verify_implicit_hint - does the silent port speak TLS at once? */
void
verify_implicit_hint(const struct mc_endpoint *ep,
                     const struct mc_probe_opts *opts, int limit_ms,
                     struct mc_probe_result *res)
{
	struct verify_hello h = {.record_version = VERIFY_TLS10,
	                         .client_version = VERIFY_TLS12,
	                         .suites = hint_suites,
	                         .nsuites = sizeof(hint_suites) /
	                                    sizeof(hint_suites[0]),
	                         .sni = opts->servername,
	                         .extensions = true};
	struct mc_endpoint plain = *ep;
	struct mc_probe_opts o = *opts;
	struct mc_probe_result scratch;
	struct verify_hello_reply rep;
	unsigned char msg[VERIFY_HELLO_MAX];
	struct verify_conn *c = NULL;
	size_t len = 0, rlen;

	if (limit_ms > HINT_TIMEOUT_MS)
		limit_ms = HINT_TIMEOUT_MS;
	if (limit_ms < HINT_MIN_MS)
		return;
	plain.scheme = MC_SCHEME_TLS; /* no dialog: straight to the hello */
	o.total_timeout_ms = limit_ms;
	o.io_timeout_ms = limit_ms;
	if (o.connect_timeout_ms > limit_ms)
		o.connect_timeout_ms = limit_ms;
	memset(&scratch, 0, sizeof(scratch));
	memset(&rep, 0, sizeof(rep));
	if (verify_hello_build(&h, msg, sizeof(msg), &len) == -1 ||
	    verify_rawconn_open(&plain, &o, &scratch, &c) == -1)
		return;
	verify_hello_exchange(c->fd, msg, len, limit_ms, &rep);
	verify_rawconn_close(c);
	if (rep.kind != VERIFY_REPLY_SERVER_HELLO &&
	    rep.kind != VERIFY_REPLY_ALERT)
		return;
	res->implicit_tls = true;
	rlen = strlen(res->reason);
	snprintf(res->reason + rlen, sizeof(res->reason) - rlen,
	         "; port %u answers TLS at once (implicit TLS): use "
	         "%s://%s%s%s:%u",
	         (unsigned)ep->port, hint_implicit_scheme(ep->scheme),
	         strchr(ep->host, ':') ? "[" : "", ep->host,
	         strchr(ep->host, ':') ? "]" : "", (unsigned)ep->port);
}
