/*
 * probe.c - one probe of one endpoint, and helpers on its result.
 *
 * mc_verify_probe() is one attempt: connect, the scheme's STARTTLS dialog,
 * TLS handshake, capture, polite goodbye. Everything the peer does ends in
 * result->outcome; only local failures return -1. Retrying with backoff is
 * the caller's (mc_verify_outcome_transient tells when it may help).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/ssl.h>

#include "mailcert/crypto.h"
#include "verify/verify_int.h"
#include "mailcert/time.h"

#define DEFAULT_CONNECT_MS 5000
#define DEFAULT_IO_MS 10000 /* > postscreen's 6 s greet wait */
#define DEFAULT_TOTAL_MS 20000

/* mc_probe_opts_init - defaults: no SNI, 5 s connect, 10 s io, 20 s total,
 * any server key. */
void
mc_probe_opts_init(struct mc_probe_opts *opts)
{
	memset(opts, 0, sizeof(*opts));
	opts->connect_timeout_ms = DEFAULT_CONNECT_MS;
	opts->io_timeout_ms = DEFAULT_IO_MS;
	opts->total_timeout_ms = DEFAULT_TOTAL_MS;
	opts->security_level = -1;
}

/* probe_check_opts - the timeouts must be positive (MC_ERR_USAGE). */
static int
probe_check_opts(const struct mc_probe_opts *opts, struct mc_err *err)
{
	if (opts->connect_timeout_ms <= 0 || opts->io_timeout_ms <= 0 ||
	    opts->total_timeout_ms <= 0)
		return mc_err_set(err, MC_ERR_USAGE,
		                  "probe options: timeouts must be positive "
		                  "(connect %d, io %d, total %d ms)",
		                  opts->connect_timeout_ms, opts->io_timeout_ms,
		                  opts->total_timeout_ms);
	return 0;
}

struct probe_sigpipe {
	sigset_t old;
	bool was_pending;
};

/* probe_sigpipe_block - block SIGPIPE here: OpenSSL writes with write(). */
static void
probe_sigpipe_block(struct probe_sigpipe *sp)
{
	sigset_t set, pending;

	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &set, &sp->old);
	sigemptyset(&pending);
	sigpending(&pending);
	sp->was_pending = sigismember(&pending, SIGPIPE) == 1;
}

/* probe_sigpipe_restore - discard a SIGPIPE we raised, restore the mask. */
static void
probe_sigpipe_restore(const struct probe_sigpipe *sp)
{
	struct timespec zero = {0, 0};
	sigset_t set, pending;

	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	sigemptyset(&pending);
	sigpending(&pending);
	if (!sp->was_pending && sigismember(&pending, SIGPIPE) == 1)
		while (sigtimedwait(&set, NULL, &zero) == -1 && errno == EINTR)
			;
	pthread_sigmask(SIG_SETMASK, &sp->old, NULL);
}

/* probe_ssl - the SSL of the handshake: made once the connection is
 * open, so building it (and the context, the first time) overlaps the
 * server's start of the session rather than delaying the connection. */
static SSL *
probe_ssl(const struct mc_probe_opts *opts, struct mc_err *err)
{
	SSL_CTX *ctx = verify_tls_ctx_get(opts, err);
	SSL *ssl = ctx != NULL ? verify_tls_new(ctx, opts, err) : NULL;

	SSL_CTX_free(ctx); /* the SSL holds its own reference */
	return ssl;
}

/* probe_run - connect, STARTTLS, handshake, capture into res; *sslp:
 * the SSL made for the handshake (the caller frees it). */
static int
probe_run(struct verify_conn *c, SSL **sslp, const struct mc_endpoint *ep,
          const struct mc_probe_opts *opts, struct mc_err *err)
{
	struct mc_probe_result *res = c->res;
	long t = mc_now_ms();
	SSL *ssl;

	if (verify_conn_open(c, ep, opts, res) == -1)
		return 0;
	res->connect_ms = mc_now_ms() - t;
	if (mc_addr_scheme_starttls(ep->scheme)) {
		t = mc_now_ms();
		if (verify_starttls(c, ep, opts) == -1)
			return 0;
		res->starttls_ms = mc_now_ms() - t;
	}
	ssl = *sslp = probe_ssl(opts, err);
	if (ssl == NULL)
		return -1;
	t = mc_now_ms();
	if (verify_tls_handshake(c, ssl, ep) == -1)
		return 0;
	res->handshake_ms = mc_now_ms() - t;
	res->sni_sent =
	    SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name) != NULL;
	if (verify_tls_capture(ssl, res, err) == -1)
		return -1;
	if (opts->await_greeting)
		verify_tls_greeting(c, ssl, ep->scheme,
		                    opts->greeting_timeout_ms > 0
		                        ? opts->greeting_timeout_ms
		                        : opts->io_timeout_ms);
	verify_tls_goodbye(c, ssl, ep->scheme);
	res->outcome = MC_PROBE_OK;
	return 0;
}

/* probe_no_greeting - a STARTTLS scheme heard nothing at all: perhaps the
 * port speaks implicit TLS. */
static bool
probe_no_greeting(const struct verify_conn *c, const struct mc_endpoint *ep)
{
	return mc_addr_scheme_starttls(ep->scheme) && c->res->timed_out &&
	       !c->got_data && c->fd != -1 &&
	       c->res->outcome == MC_PROBE_UNREACHABLE &&
	       strstr(c->stage, "greeting") != NULL;
}

/* probe_hint_limit - time for verify_implicit_hint: the per-read timeout,
 * never past the probe's deadline. */
static int
probe_hint_limit(const struct verify_conn *c)
{
	long left = c->deadline - mc_now_ms();

	if (left <= 0)
		return 0;
	return left < c->io_timeout_ms ? (int)left : c->io_timeout_ms;
}

/* mc_verify_probe - connect, STARTTLS if the scheme says so, handshake. */
int
mc_verify_probe(const struct mc_endpoint *ep, const struct mc_probe_opts *opts,
                struct mc_probe_result *out, struct mc_err *err)
{
	struct mc_probe_result res;
	struct probe_sigpipe sp;
	struct verify_conn *c = NULL;
	SSL *ssl = NULL;
	long start = mc_now_ms();
	int rc = -1;

	memset(&res, 0, sizeof(res));
	if (probe_check_opts(opts, err) == -1)
		goto out;
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		mc_err_set(err, MC_ERR_SYS, "out of memory");
		goto out;
	}
	c->fd = -1;
	c->deadline = start + opts->total_timeout_ms;
	c->budget_ms = opts->total_timeout_ms;
	c->io_timeout_ms = opts->io_timeout_ms;
	c->res = &res;
	probe_sigpipe_block(&sp);
	rc = probe_run(c, &ssl, ep, opts, err);
	if (rc == 0 && probe_no_greeting(c, ep)) {
		verify_conn_close(c); /* a one-at-a-time server waits */
		verify_implicit_hint(ep, opts, probe_hint_limit(c), &res);
	}
	probe_sigpipe_restore(&sp);
	if (rc == -1)
		goto out;
	res.total_ms = mc_now_ms() - start;
	*out = res;
	memset(&res, 0, sizeof(res)); /* out owns chain and OCSP now */
	rc = 0;
out:
	mc_probe_result_clear(&res);
	SSL_free(ssl);
	if (c != NULL)
		verify_conn_close(c);
	free(c);
	return rc;
}

/* mc_probe_result_clear - free what out owns and zero it. */
void
mc_probe_result_clear(struct mc_probe_result *out)
{
	if (out == NULL)
		return;
	sk_X509_pop_free(out->chain, X509_free);
	free(out->ocsp_der);
	memset(out, 0, sizeof(*out));
}

/* mc_verify_outcome_name - stable short name of an outcome. */
const char *
mc_verify_outcome_name(enum mc_probe_outcome outcome)
{
	static const char *const names[] = {
	    [MC_PROBE_OK] = "ok",
	    [MC_PROBE_UNREACHABLE] = "unreachable",
	    [MC_PROBE_STARTTLS_MISSING] = "starttls-missing",
	    [MC_PROBE_STARTTLS_REFUSED] = "starttls-refused",
	    [MC_PROBE_TLS_FAILED] = "tls-failed",
	    [MC_PROBE_PROTOCOL_ERROR] = "protocol-error",
	};

	if ((size_t)outcome >= sizeof(names) / sizeof(names[0]))
		return "unknown";
	return names[outcome];
}

/* mc_verify_key_alg_name - "any", "ecdsa", "rsa". */
const char *
mc_verify_key_alg_name(enum mc_key_alg alg)
{
	switch (alg) {
	case MC_KEY_ALG_ECDSA:
		return "ecdsa";
	case MC_KEY_ALG_RSA:
		return "rsa";
	default:
		return "any";
	}
}

/* mc_verify_outcome_transient - whether retrying may help. */
bool
mc_verify_outcome_transient(enum mc_probe_outcome outcome)
{
	/* A reload may leave a port closed, a 454 while the key is swapped,
	 * or a handshake cut short; a missing capability or a foreign
	 * protocol will not change by waiting. */
	return outcome == MC_PROBE_UNREACHABLE ||
	       outcome == MC_PROBE_STARTTLS_REFUSED ||
	       outcome == MC_PROBE_TLS_FAILED;
}

/* mc_verify_leaf_matches - whether two certificates have the same DER. */
bool
mc_verify_leaf_matches(X509 *served, X509 *expected)
{
	unsigned char *a = NULL, *b = NULL;
	int alen, blen;
	bool same;

	if (served == NULL || expected == NULL)
		return false;
	alen = i2d_X509(served, &a);
	blen = i2d_X509(expected, &b);
	same = alen > 0 && alen == blen && memcmp(a, b, (size_t)alen) == 0;
	OPENSSL_free(a);
	OPENSSL_free(b);
	return same;
}

/* mc_verify_leaf_describe - "serial HEX sha256 HEX" of cert into buf. */
int
mc_verify_leaf_describe(X509 *cert, char *buf, size_t size, struct mc_err *err)
{
	struct mc_x509_info info;
	int n;

	if (mc_x509_info(cert, &info, err) == -1)
		return -1;
	n = snprintf(buf, size, "serial %s sha256 %s", info.serial,
	             info.sha256);
	if (n < 0 || (size_t)n >= size)
		return mc_err_set(err, MC_ERR_SYS,
		                  "certificate description does not fit in "
		                  "%zu bytes",
		                  size);
	return 0;
}
