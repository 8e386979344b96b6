/*
 * tls.c - one TLS client handshake over a connected socket (OpenSSL 3).
 *
 * Verification is off: we capture what the server serves and judge it
 * later. Options choose SNI (or none at all), protocol range, cipher
 * lists, security level, OCSP stapling request and ALPN. A failed
 * handshake is MC_PROBE_TLS_FAILED with OpenSSL's reason texts
 * ("tlsv1 alert protocol version"), never just "handshake failed".
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "mailcert/text.h"
#include "verify/verify_int.h"
#include "mailcert/time.h"

/* Wait at most this long, in all, for the reply to QUIT / LOGOUT and the
 * server's close: the certificate is already read, and a server that
 * never answers must not cost the probe seconds. */
#define GOODBYE_MS 100
#define GOODBYE_MAX_BYTES 16384 /* and read at most this much */
#define PEEK_MAX 512            /* first bytes kept from the handshake */
#define PEEK_WAIT_MS 500        /* for the rest of a plain-text line */

/* Signature algorithms of a key-restricted probe (TLS 1.3 and 1.2); SHA-1
 * and SHA-224 only go out at security level 0. */
#define SIGALGS_ECDSA                                                        \
	"ECDSA+SHA256:ECDSA+SHA384:ECDSA+SHA512:ECDSA+SHA224:ECDSA+SHA1"
#define SIGALGS_RSA                                                          \
	"rsa_pss_rsae_sha256:rsa_pss_rsae_sha384:rsa_pss_rsae_sha512:"      \
	"rsa_pss_pss_sha256:rsa_pss_pss_sha384:rsa_pss_pss_sha512:"         \
	"RSA+SHA256:RSA+SHA384:RSA+SHA512:RSA+SHA224:RSA+SHA1"
/* TLS <= 1.2 suites: drop every other authentication. */
#define SUITES_NOT_ECDSA ":!aRSA:!aDSS:!aNULL:!PSK:!SRP"
#define SUITES_NOT_RSA ":!aECDSA:!aDSS:!aNULL:!PSK:!SRP"

/* The first bytes the server sent during the handshake (BIO callback). */
struct tls_peek {
	unsigned char buf[PEEK_MAX];
	size_t len;
};

/* tls_bad_option - MC_ERR_USAGE for a rejected probe option. */
static SSL_CTX *
tls_bad_option(SSL_CTX *ctx, struct mc_err *err, const char *what)
{
	mc_err_openssl(err, "probe options: %s", what);
	if (err != NULL)
		err->cat = MC_ERR_USAGE;
	SSL_CTX_free(ctx);
	return NULL;
}

/* tls_alpn_wire - comma list to ALPN wire format; -1 if a name is bad. */
static int
tls_alpn_wire(const char *list, unsigned char *out, size_t size,
              unsigned int *len)
{
	const char *p = list;
	size_t o = 0;

	while (*p != '\0') {
		size_t n = strcspn(p, ",");

		if (n == 0 || n > 255 || o + 1 + n > size)
			return -1;
		out[o++] = (unsigned char)n;
		memcpy(out + o, p, n);
		o += n;
		p += n;
		if (*p == ',')
			p++;
	}
	*len = (unsigned int)o;
	return o > 0 ? 0 : -1;
}

/* tls_key_alg - restrict ctx to one kind of server key (see verify.h). */
static SSL_CTX *
tls_key_alg(SSL_CTX *ctx, const struct mc_probe_opts *opts, struct mc_err *err)
{
	bool ec = opts->key_alg == MC_KEY_ALG_ECDSA;
	char list[1024];
	int n;

	if (opts->key_alg == MC_KEY_ALG_ANY)
		return ctx;
	if (opts->key_alg != MC_KEY_ALG_ECDSA && opts->key_alg != MC_KEY_ALG_RSA)
		return tls_bad_option(ctx, err, "unknown key algorithm");
	if (!SSL_CTX_set1_sigalgs_list(ctx, ec ? SIGALGS_ECDSA : SIGALGS_RSA))
		return tls_bad_option(ctx, err, "signature algorithms");
	n = snprintf(list, sizeof(list), "%s%s",
	             opts->cipher_list ? opts->cipher_list : "DEFAULT",
	             ec ? SUITES_NOT_ECDSA : SUITES_NOT_RSA);
	if (n < 0 || (size_t)n >= sizeof(list) ||
	    !SSL_CTX_set_cipher_list(ctx, list))
		return tls_bad_option(ctx, err, "no usable cipher in the list");
	return ctx;
}

/* tls_no_verify - the certificate verification of a handshake: none. The
 * probe only captures what is served (check judges the chain later), so
 * OpenSSL need not build a path it would ignore. */
static int
tls_no_verify(X509_STORE_CTX *ctx, void *arg)
{
	(void)ctx;
	(void)arg;
	return 1;
}

/* verify_tls_ctx - a client SSL_CTX for opts. */
SSL_CTX *
verify_tls_ctx(const struct mc_probe_opts *opts, struct mc_err *err)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	unsigned char alpn[512];
	unsigned int alen;

	if (ctx == NULL) {
		mc_err_openssl(err, "cannot create a TLS context");
		return NULL;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	SSL_CTX_set_cert_verify_callback(ctx, tls_no_verify, NULL);
	/* never keep a session: a resumed one would not show the served
	 * certificate (a client never resumes unless asked; say so) */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	if (opts->min_version != 0 &&
	    !SSL_CTX_set_min_proto_version(ctx, opts->min_version))
		return tls_bad_option(ctx, err, "bad minimum TLS version");
	if (opts->max_version != 0 &&
	    !SSL_CTX_set_max_proto_version(ctx, opts->max_version))
		return tls_bad_option(ctx, err, "bad maximum TLS version");
	if (opts->cipher_list != NULL &&
	    !SSL_CTX_set_cipher_list(ctx, opts->cipher_list))
		return tls_bad_option(ctx, err, "no usable cipher in the list");
	if (opts->ciphersuites != NULL &&
	    !SSL_CTX_set_ciphersuites(ctx, opts->ciphersuites))
		return tls_bad_option(ctx, err, "bad TLS 1.3 ciphersuites");
	if (opts->security_level >= 0)
		SSL_CTX_set_security_level(ctx, opts->security_level);
	if (opts->alpn != NULL &&
	    (tls_alpn_wire(opts->alpn, alpn, sizeof(alpn), &alen) == -1 ||
	     SSL_CTX_set_alpn_protos(ctx, alpn, alen) != 0))
		return tls_bad_option(ctx, err, "bad ALPN protocol list");
	return tls_key_alg(ctx, opts, err);
}

/* tls_sni_name - whether name may go into SNI (not an IP literal). */
static bool
tls_sni_name(const char *name)
{
	return name != NULL && name[0] != '\0' &&
	       strspn(name, "0123456789.") != strlen(name) &&
	       strchr(name, ':') == NULL;
}

/* verify_tls_new - an SSL for one probe: SNI, OCSP request. */
SSL *
verify_tls_new(SSL_CTX *ctx, const struct mc_probe_opts *opts,
               struct mc_err *err)
{
	SSL *ssl = SSL_new(ctx);

	if (ssl == NULL) {
		mc_err_openssl(err, "cannot create a TLS session");
		return NULL;
	}
	if (tls_sni_name(opts->servername) &&
	    !SSL_set_tlsext_host_name(ssl, opts->servername)) {
		mc_err_openssl(err, "bad server name for SNI");
		if (err != NULL)
			err->cat = MC_ERR_USAGE;
		SSL_free(ssl);
		return NULL;
	}
	if (opts->want_ocsp &&
	    !SSL_set_tlsext_status_type(ssl, TLSEXT_STATUSTYPE_ocsp)) {
		mc_err_openssl(err, "cannot request OCSP stapling");
		SSL_free(ssl);
		return NULL;
	}
	return ssl;
}

/* tls_reasons - the drained OpenSSL queue as "reason; reason". */
static void
tls_reasons(int sslerr, char *out, size_t size)
{
	unsigned long code;
	size_t len = 0;
	int saved = errno;

	out[0] = '\0';
	while ((code = ERR_get_error()) != 0) {
		const char *r = ERR_reason_error_string(code);

		if (len + 3 >= size)
			continue;
		len += (size_t)snprintf(out + len, size - len, "%s%s",
		                        len > 0 ? "; " : "",
		                        r != NULL ? r : "unknown error");
		if (len >= size)
			len = size - 1;
	}
	if (out[0] != '\0')
		return;
	if (sslerr == SSL_ERROR_SYSCALL && saved != 0)
		snprintf(out, size, "%s", strerror(saved));
	else if (sslerr == SSL_ERROR_SYSCALL || sslerr == SSL_ERROR_ZERO_RETURN)
		snprintf(out, size, "the server closed the connection");
	else
		snprintf(out, size, "handshake failed (SSL error %d)", sslerr);
}

/* tls_peek_cb - keep the first bytes read from the socket (BIO callback). */
static long
tls_peek_cb(BIO *b, int oper, const char *argp, size_t len, int argi,
            long argl, int ret, size_t *processed)
{
	struct tls_peek *pk = (struct tls_peek *)BIO_get_callback_arg(b);
	size_t n;

	(void)len;
	(void)argi;
	(void)argl;
	if (oper != (BIO_CB_READ | BIO_CB_RETURN) || ret <= 0 || pk == NULL ||
	    processed == NULL || argp == NULL)
		return ret;
	n = *processed;
	if (n > sizeof(pk->buf) - pk->len)
		n = sizeof(pk->buf) - pk->len;
	memcpy(pk->buf + pk->len, argp, n);
	pk->len += n;
	return ret;
}

/* verify_plain_reply - whether the first bytes are a text line, not TLS. */
bool
verify_plain_reply(const unsigned char *buf, size_t len)
{
	size_t i, n = len < 8 ? len : 8;

	if (len == 0)
		return false;
	for (i = 0; i < n; i++)
		if ((buf[i] < 0x20 || buf[i] >= 0x7f) && buf[i] != '\r' &&
		    buf[i] != '\n' && buf[i] != '\t')
			return false;
	return true;
}

/* tls_peek_line - OpenSSL stopped after a record header's worth of text:
 * read the rest of the line from the socket (briefly; leaves room for the
 * terminating NUL). */
static void
tls_peek_line(struct verify_conn *c, struct tls_peek *pk)
{
	int io = c->io_timeout_ms;
	ssize_t n;

	c->io_timeout_ms = io < PEEK_WAIT_MS ? io : PEEK_WAIT_MS;
	while (pk->len + 1 < sizeof(pk->buf) &&
	       memchr(pk->buf, '\n', pk->len) == NULL &&
	       verify_conn_wait(c, POLLIN) == 1) {
		n = recv(c->fd, pk->buf + pk->len,
		         sizeof(pk->buf) - 1 - pk->len, 0);
		if (n <= 0)
			break;
		pk->len += (size_t)n;
	}
	c->io_timeout_ms = io;
	if (pk->len >= sizeof(pk->buf))
		pk->len = sizeof(pk->buf) - 1;
}

/* tls_plain_text - the server answered the ClientHello in plain text: for
 * STARTTLS that is a refusal (Dovecot: "* BYE [UNAVAILABLE] TLS
 * initialization failed"), for implicit TLS a plain-text port. */
static int
tls_plain_text(struct verify_conn *c, const struct tls_peek *pk,
               const struct mc_endpoint *ep)
{
	struct mc_probe_result *res = c->res;
	size_t n = strcspn((const char *)pk->buf, "\r\n");

	if (n > pk->len)
		n = pk->len;
	mc_text_excerpt((const char *)pk->buf, n, res->server_text,
	                sizeof(res->server_text), MC_TEXT_QUOTE);
	if (mc_addr_scheme_starttls(ep->scheme))
		return verify_fail(res, MC_PROBE_STARTTLS_REFUSED,
		                   "TLS handshake: after its STARTTLS go-ahead "
		                   "the server answered in plain text instead "
		                   "of TLS: \"%s\"",
		                   res->server_text);
	return verify_fail(res, MC_PROBE_TLS_FAILED,
	                   "TLS handshake: the port speaks plain text (\"%s\"): "
	                   "does it need STARTTLS?",
	                   res->server_text);
}

/* tls_fail - TLS_FAILED with the reasons and a hint for a plain-text port. */
static int
tls_fail(struct verify_conn *c, int sslerr, const struct mc_endpoint *ep,
         const struct tls_peek *pk)
{
	char why[400];
	const char *hint = "";

	if (pk != NULL && verify_plain_reply(pk->buf, pk->len)) {
		struct tls_peek z = *pk; /* completed, NUL-terminated */

		tls_peek_line(c, &z);
		z.buf[z.len] = '\0';
		ERR_clear_error();
		return tls_plain_text(c, &z, ep);
	}
	tls_reasons(sslerr, why, sizeof(why));
	if (!mc_addr_scheme_starttls(ep->scheme) &&
	    (strstr(why, "wrong version number") != NULL ||
	     strstr(why, "packet length too long") != NULL))
		hint = " (the port speaks plain text: does it need STARTTLS?)";
	return verify_fail(c->res, MC_PROBE_TLS_FAILED, "TLS handshake: %s%s",
	                   why, hint);
}

/* tls_connect - SSL_connect until done; -1 with res set. */
static int
tls_connect(struct verify_conn *c, SSL *ssl, const struct mc_endpoint *ep,
            const struct tls_peek *pk)
{
	int rc, e, ready;

	for (;;) {
		errno = 0;
		rc = SSL_connect(ssl);
		if (rc == 1)
			return 0;
		e = SSL_get_error(ssl, rc);
		if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
			return tls_fail(c, e, ep, pk);
		ready = verify_conn_wait(c, e == SSL_ERROR_WANT_READ ? POLLIN
		                                                     : POLLOUT);
		if (ready == 0 && pk->len > 0 &&
		    verify_plain_reply(pk->buf, pk->len))
			return tls_fail(c, SSL_ERROR_SSL, ep, pk);
		if (ready == 0)
			return verify_silence(c, MC_PROBE_TLS_FAILED,
			                      c->io_timeout_ms);
		if (ready == -1)
			return tls_fail(c, SSL_ERROR_SYSCALL, ep, pk);
	}
}

/* verify_tls_handshake - TLS client handshake over c; -1 with res set. */
int
verify_tls_handshake(struct verify_conn *c, SSL *ssl,
                     const struct mc_endpoint *ep)
{
	struct tls_peek pk;
	BIO *rbio;
	int rc;

	memset(&pk, 0, sizeof(pk));
	c->stage = "TLS handshake";
	ERR_clear_error();
	if (!SSL_set_fd(ssl, c->fd))
		return tls_fail(c, SSL_ERROR_SSL, ep, NULL);
	rbio = SSL_get_rbio(ssl);
	BIO_set_callback_arg(rbio, (char *)&pk);
	BIO_set_callback_ex(rbio, tls_peek_cb);
	rc = tls_connect(c, ssl, ep, &pk);
	BIO_set_callback_ex(rbio, NULL);
	BIO_set_callback_arg(rbio, NULL);
	return rc;
}

/* verify_tls_capture - copy chain, version, cipher, ALPN, OCSP into res. */
int
verify_tls_capture(SSL *ssl, struct mc_probe_result *res, struct mc_err *err)
{
	STACK_OF(X509) *chain = SSL_get_peer_cert_chain(ssl);
	const unsigned char *p = NULL;
	unsigned int plen = 0;
	long olen;

	if (chain != NULL) {
		res->chain = X509_chain_up_ref(chain);
		if (res->chain == NULL)
			return mc_err_openssl(err, "cannot copy the chain");
	}
	snprintf(res->protocol, sizeof(res->protocol), "%s",
	         SSL_get_version(ssl));
	snprintf(res->cipher, sizeof(res->cipher), "%s",
	         SSL_get_cipher_name(ssl));
	SSL_get0_alpn_selected(ssl, &p, &plen);
	if (p != NULL && plen < sizeof(res->alpn)) {
		memcpy(res->alpn, p, plen);
		res->alpn[plen] = '\0';
	}
	p = NULL;
	olen = SSL_get_tlsext_status_ocsp_resp(ssl, &p);
	if (olen > 0 && p != NULL) {
		res->ocsp_der = malloc((size_t)olen);
		if (res->ocsp_der == NULL)
			return mc_err_set(err, MC_ERR_SYS, "out of memory");
		memcpy(res->ocsp_der, p, (size_t)olen);
		res->ocsp_len = (size_t)olen;
	}
	return 0;
}

/* tls_drain - read and drop what the server sends until it closes or
 * GOODBYE_MS have passed; the first line goes to first (size >= 2). */
static void
tls_drain(struct verify_conn *c, SSL *ssl, char *first, size_t size)
{
	char buf[1024];
	size_t total = 0, keep;
	int n, e;

	long long until = mc_now_ms() + GOODBYE_MS;
	long long left;

	first[0] = '\0';
	while (total < GOODBYE_MAX_BYTES) {
		n = SSL_read(ssl, buf, sizeof(buf));
		if (n > 0) {
			keep = total < size - 1 ? size - 1 - total : 0;
			if (keep > (size_t)n)
				keep = (size_t)n;
			memcpy(first + total, buf, keep);
			first[total + keep] = '\0';
			total += (size_t)n;
			continue;
		}
		e = SSL_get_error(ssl, n);
		left = until - mc_now_ms();
		if (left <= 0)
			return;
		c->io_timeout_ms = left < c->io_timeout_ms ? (int)left
							   : c->io_timeout_ms;
		if (e == SSL_ERROR_WANT_READ &&
		    verify_conn_wait(c, POLLIN) == 1)
			continue;
		if (e == SSL_ERROR_WANT_WRITE &&
		    verify_conn_wait(c, POLLOUT) == 1)
			continue;
		return;
	}
}

/* tls_greets - whether a server of scheme greets after the handshake:
 * implicit TLS of a mail protocol (tls:// says nothing first). */
static bool
tls_greets(enum mc_scheme scheme)
{
	return scheme == MC_SCHEME_SMTPS || scheme == MC_SCHEME_IMAPS ||
	       scheme == MC_SCHEME_POP3S;
}

/* tls_greeting_lines - hand the complete lines at the start of buf to
 * verify_greeting, drop them from buf, count them in *lines; false once
 * the greeting is whole (an SMTP reply ends with the line whose code is
 * not followed by '-'). */
static bool
tls_greeting_lines(struct mc_probe_result *res, enum mc_scheme scheme,
                   char *buf, size_t *len, size_t *lines)
{
	char *nl;

	while ((nl = memchr(buf, '\n', *len)) != NULL) {
		size_t used = (size_t)(nl - buf) + 1;
		bool more;

		*nl = '\0';
		buf[strcspn(buf, "\r")] = '\0';
		more = scheme == MC_SCHEME_SMTPS && strlen(buf) > 3 &&
		       buf[3] == '-';
		verify_greeting(res, buf);
		memmove(buf, buf + used, *len - used);
		*len -= used;
		++*lines;
		if (!more || *lines >= MC_VERIFY_LINES_MAX)
			return false;
	}
	return true;
}

/* tls_no_greeting - why no greeting came, into res->no_greeting: ready 0
 * (silence until limit_ms or the deadline), -1 (poll failed), else the
 * SSL error e of the read that failed (the queue and errno still its). */
static void
tls_no_greeting(struct verify_conn *c, int e, int ready, int limit_ms)
{
	struct mc_probe_result *res = c->res;
	unsigned long top = ERR_peek_error();
	char why[200];

	if (ready == 0 && mc_now_ms() >= c->deadline)
		snprintf(res->no_greeting, sizeof(res->no_greeting),
		         "no greeting after the TLS handshake before the "
		         "probe's time budget (%d ms in all) ran out",
		         c->budget_ms);
	else if (ready == 0)
		snprintf(res->no_greeting, sizeof(res->no_greeting),
		         "no greeting within %d ms after the TLS handshake",
		         limit_ms);
	else if (ready == 1 &&
	         (e == SSL_ERROR_ZERO_RETURN ||
	          (e == SSL_ERROR_SYSCALL && top == 0 && errno == 0) ||
	          (e == SSL_ERROR_SSL &&
	           ERR_GET_REASON(top) == SSL_R_UNEXPECTED_EOF_WHILE_READING)))
		snprintf(res->no_greeting, sizeof(res->no_greeting),
		         "the server closed the connection after the TLS "
		         "handshake without a greeting");
	else {
		tls_reasons(ready == -1 ? SSL_ERROR_SYSCALL : e, why,
		            sizeof(why));
		snprintf(res->no_greeting, sizeof(res->no_greeting),
		         "no greeting after the TLS handshake: %s", why);
	}
}

/* verify_tls_greeting - implicit TLS: read the greeting the server sends
 * after the handshake before saying anything, as a client does: each
 * line to verify_greeting, at most limit_ms in all (never past the
 * deadline); when none came, why in res->no_greeting. */
void
verify_tls_greeting(struct verify_conn *c, SSL *ssl, enum mc_scheme scheme,
                    int limit_ms)
{
	char buf[MC_VERIFY_LINE_MAX];
	size_t len = 0, lines = 0;
	long long until = mc_now_ms() + limit_ms, left;
	int io = c->io_timeout_ms, n, e = SSL_ERROR_NONE, ready = 1;

	if (!tls_greets(scheme))
		return;
	while (tls_greeting_lines(c->res, scheme, buf, &len, &lines) &&
	       len < sizeof(buf) - 1) {
		errno = 0;
		n = SSL_read(ssl, buf + len, (int)(sizeof(buf) - 1 - len));
		if (n > 0) {
			len += (size_t)n;
			continue;
		}
		e = SSL_get_error(ssl, n);
		if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
			break; /* closed, or a TLS error */
		left = until - mc_now_ms();
		c->io_timeout_ms = left > 0 ? (int)left : 0;
		verify_conn_quickack(c);
		ready = left > 0 ? verify_conn_wait(
		                       c, e == SSL_ERROR_WANT_READ ? POLLIN
		                                                   : POLLOUT)
		                 : 0;
		c->io_timeout_ms = io;
		if (ready != 1)
			break;
	}
	if (lines == 0 && len > 0) {
		buf[len] = '\0'; /* a greeting without its line end */
		verify_greeting(c->res, buf);
	} else if (lines == 0) {
		tls_no_greeting(c, e, ready, limit_ms);
	}
	ERR_clear_error();
}

/* verify_tls_goodbye - best effort: logout, wait for the server to close
 * (so it does not log a lost connection), close_notify. */
void
verify_tls_goodbye(struct verify_conn *c, SSL *ssl, enum mc_scheme scheme)
{
	const char *cmd = verify_goodbye(scheme);
	int io = c->io_timeout_ms;
	char line[32], first[MC_VERIFY_LINE_MAX];
	int n;

	if (cmd != NULL) {
		n = snprintf(line, sizeof(line), "%s\r\n", cmd);
		c->io_timeout_ms = io < GOODBYE_MS ? io : GOODBYE_MS;
		if (SSL_write(ssl, line, n) == n) {
			tls_drain(c, ssl, first, sizeof(first));
			first[strcspn(first, "\r\n")] = '\0';
			/* implicit TLS: the first line is the greeting,
			 * unless verify_tls_greeting read it already */
			if (!mc_addr_scheme_starttls(scheme) && first[0] &&
			    c->res->greeting[0] == '\0') {
				verify_greeting(c->res, first);
				c->res->no_greeting[0] = '\0';
			}
		}
		c->io_timeout_ms = io;
	}
	(void)SSL_shutdown(ssl);
	ERR_clear_error();
}
