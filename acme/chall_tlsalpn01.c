/*
 * chall_tlsalpn01.c - the tls-alpn-01 challenge, RFC 8737 (see
 * acme/challenge.h).
 *
 * acme_tlsalpn01_add() makes, for each name, a self-signed certificate
 * with a fresh P-256 key, the name as its only SAN and the critical
 * id-pe-acmeIdentifier extension holding the DER OCTET STRING of
 * SHA-256(key authorization). For an IP address (RFC 8738 section 6) the
 * SAN is the iPAddress and the certificate is chosen by the reverse-DNS
 * name of the address in SNI ("1.2.0.192.in-addr.arpa", "...ip6.arpa"). One
 * thread, started by acme_tlsalpn01_start(), accepts connections and drives
 * their non-blocking handshakes, each with a total deadline of
 * ACME_GUARD_DEADLINE_MS; who may hold a connection is decided by the
 * guard shared with the http-01 responder (chall_guard.c: per-address
 * limits, the greediest address evicted first), so idle connections from
 * one address cannot keep a validator out. The ClientHello callback
 * refuses a hello without ALPN "acme-tls/1" (no_application_protocol) or
 * with an SNI name
 * we do not hold (unrecognized_name) before any certificate is sent; the
 * ALPN callback then selects "acme-tls/1". After the handshake the
 * connection is closed. The thread blocks all signals (SIGPIPE from a
 * reset peer stays pending on it); stop wakes it through a pipe and
 * joins it.
 */
#define _GNU_SOURCE 1 /* accept4, pipe2 */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "acme/acme_int.h"
#include "acme/chall_int.h"
#include "acme/challenge.h"
#include "mailcert/config.h"
#include "mailcert/log.h"
#include "mailcert/time.h"

#define ALPN_WHAT "tls-alpn-01 responder"
#define ALPN_PROTO "acme-tls/1"
#define ALPN_OID "1.3.6.1.5.5.7.1.31" /* id-pe-acmeIdentifier */
#define ALPN_NAME_MAX 253
#define ALPN_REVERSE_MAX 73 /* 32 nibbles with dots, "ip6.arpa", NUL */

struct alpn_name {
	char *name;
	X509 *cert;
	EVP_PKEY *key;
};

struct acme_tlsalpn01 {
	int fd;       /* listening socket */
	int wake[2];  /* stop pipe */
	bool running; /* thread started */
	pthread_t thread;
	SSL_CTX *ctx;
	pthread_mutex_t lock; /* guards names and n_names */
	struct alpn_name *names;
	size_t n_names;
	struct acme_guard guard; /* the thread's only */
};

struct alpn_conn {
	int fd;
	SSL *ssl;
	long long deadline; /* ms, monotonic */
	short events;
};

/* alpn_offers - whether a protocol list (1-byte length prefixed entries)
 * contains "acme-tls/1"; the entry's offset, or -1. */
static long
alpn_offers(const unsigned char *list, size_t len)
{
	size_t i = 0, n;

	while (i < len) {
		n = list[i];
		if (n == 0 || n > len - i - 1)
			return -1;
		if (n == strlen(ALPN_PROTO) &&
		    memcmp(list + i + 1, ALPN_PROTO, n) == 0)
			return (long)i;
		i += n + 1;
	}
	return -1;
}

/* alpn_sni - the host name of a server_name extension into buf, without
 * a trailing dot. */
static int
alpn_sni(const unsigned char *p, size_t len, char *buf, size_t size)
{
	size_t n;

	if (len < 5 || (size_t)(p[0] << 8 | p[1]) != len - 2 || p[2] != 0)
		return -1;
	n = (size_t)(p[3] << 8 | p[4]);
	if (n == 0 || n > len - 5 || n >= size || memchr(p + 5, 0, n) != NULL)
		return -1;
	memcpy(buf, p + 5, n);
	if (n > 1 && buf[n - 1] == '.')
		n--;
	buf[n] = '\0';
	return 0;
}

/* acme_tlsalpn01_sni - the SNI name the CA sends for ident. */
int
acme_tlsalpn01_sni(const char *ident, char *buf, size_t size)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char a[16];
	size_t n = mc_name_ip(ident, a), o = 0, i;

	if (n == 0)
		return snprintf(buf, size, "%s", ident) < (int)size ? 0 : -1;
	if (size < ALPN_REVERSE_MAX)
		return -1;
	if (n == 4) {
		snprintf(buf, size, "%u.%u.%u.%u.in-addr.arpa", a[3], a[2],
		         a[1], a[0]);
		return 0;
	}
	for (i = n; i-- > 0;) {
		buf[o++] = hex[a[i] & 0x0f];
		buf[o++] = '.';
		buf[o++] = hex[a[i] >> 4];
		buf[o++] = '.';
	}
	snprintf(buf + o, size - o, "ip6.arpa");
	return 0;
}

/* alpn_use_cert - give ssl the certificate of name; -1 if we hold none. */
static int
alpn_use_cert(struct acme_tlsalpn01 *t, SSL *ssl, const char *name)
{
	size_t i;
	int rc = -1;

	pthread_mutex_lock(&t->lock);
	for (i = 0; i < t->n_names; i++)
		if (strcasecmp(t->names[i].name, name) == 0) {
			if (SSL_use_certificate(ssl, t->names[i].cert) == 1 &&
			    SSL_use_PrivateKey(ssl, t->names[i].key) == 1)
				rc = 0;
			break;
		}
	pthread_mutex_unlock(&t->lock);
	return rc;
}

/* alpn_hello - ClientHello callback: demand acme-tls/1 and a known SNI. */
static int
alpn_hello(SSL *ssl, int *al, void *arg)
{
	const unsigned char *p;
	char name[ALPN_NAME_MAX + 1];
	size_t len;

	if (SSL_client_hello_get0_ext(
	        ssl, TLSEXT_TYPE_application_layer_protocol_negotiation, &p,
	        &len) != 1 ||
	    len < 2 || (size_t)(p[0] << 8 | p[1]) != len - 2 ||
	    alpn_offers(p + 2, len - 2) < 0) {
		*al = SSL_AD_NO_APPLICATION_PROTOCOL;
		return SSL_CLIENT_HELLO_ERROR;
	}
	if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_server_name, &p, &len) !=
	        1 ||
	    alpn_sni(p, len, name, sizeof(name)) == -1 ||
	    alpn_use_cert(arg, ssl, name) == -1) {
		*al = SSL_AD_UNRECOGNIZED_NAME;
		return SSL_CLIENT_HELLO_ERROR;
	}
	return SSL_CLIENT_HELLO_SUCCESS;
}

/* alpn_select - ALPN callback: select acme-tls/1 (nothing else). */
static int
alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
            const unsigned char *in, unsigned int inlen, void *arg)
{
	long i = alpn_offers(in, inlen);

	(void)ssl;
	(void)arg;
	if (i < 0)
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	*out = in + i + 1;
	*outlen = in[i];
	return SSL_TLSEXT_ERR_OK;
}

/* alpn_conn_close - free one connection and forget it in the guard. */
static void
alpn_conn_close(struct acme_tlsalpn01 *t, struct alpn_conn *c)
{
	acme_guard_drop(&t->guard, c->fd);
	SSL_free(c->ssl);
	close(c->fd);
	c->ssl = NULL;
	c->fd = -1;
}

/* alpn_evict - close the connection on fd that the guard gave up. */
static void
alpn_evict(struct acme_tlsalpn01 *t, struct alpn_conn *c, size_t *n, int fd)
{
	size_t i;

	for (i = 0; i < *n; i++)
		if (c[i].fd == fd) {
			mc_log_debug("%s: closing an unfinished connection to "
			             "make room",
			             ALPN_WHAT);
			alpn_conn_close(t, &c[i]);
			c[i] = c[--*n];
			return;
		}
}

/* alpn_step - advance one handshake; true when the connection is done. */
static bool
alpn_step(struct alpn_conn *c)
{
	int r, e;

	if (mc_now_ms() >= c->deadline) {
		mc_log_debug("%s: handshake timed out", ALPN_WHAT);
		return true;
	}
	ERR_clear_error();
	r = SSL_do_handshake(c->ssl);
	if (r == 1) {
		mc_log_debug(
		    "%s: answered for %s", ALPN_WHAT,
		    SSL_get_servername(c->ssl, TLSEXT_NAMETYPE_host_name));
		SSL_shutdown(c->ssl);
		return true;
	}
	e = SSL_get_error(c->ssl, r);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
		c->events = e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT;
		return false;
	}
	mc_log_debug("%s: handshake refused or failed", ALPN_WHAT);
	ERR_clear_error();
	return true;
}

/* alpn_admit - let the guard decide on fd: close its victims; false when
 * fd itself is refused (closed). */
static bool
alpn_admit(struct acme_tlsalpn01 *t, struct alpn_conn *c, size_t *n, int fd,
           const struct sockaddr_storage *ss, socklen_t len)
{
	unsigned char key[ACME_GUARD_KEY];
	int victims[2], nv, i;

	acme_guard_key((const struct sockaddr *)ss, len, key);
	nv = acme_guard_admit(&t->guard, fd, key, mc_now_ms(), victims);
	if (nv == -1) {
		close(fd);
		return false;
	}
	for (i = 0; i < nv; i++)
		alpn_evict(t, c, n, victims[i]);
	return true;
}

/* alpn_accept - take one new connection into c[*n] and start it. */
static void
alpn_accept(struct acme_tlsalpn01 *t, struct alpn_conn *c, size_t *n)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	struct alpn_conn *nc;
	int fd;

	fd = accept4(t->fd, (struct sockaddr *)&ss, &len,
	             SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd == -1 || !alpn_admit(t, c, n, fd, &ss, len))
		return;
	nc = &c[*n];
	nc->fd = fd;
	nc->ssl = SSL_new(t->ctx);
	if (nc->ssl == NULL || SSL_set_fd(nc->ssl, nc->fd) != 1) {
		ERR_clear_error();
		alpn_conn_close(t, nc);
		return;
	}
	SSL_set_accept_state(nc->ssl);
	nc->deadline = mc_now_ms() + ACME_GUARD_DEADLINE_MS;
	if (alpn_step(nc))
		alpn_conn_close(t, nc);
	else
		(*n)++;
}

/* alpn_poll_set - fill pfd (wake pipe, listener, connections); the poll
 * timeout in ms. */
static int
alpn_poll_set(struct acme_tlsalpn01 *t, const struct alpn_conn *c, size_t n,
              struct pollfd *pfd)
{
	long long next = -1, now = mc_now_ms();
	size_t i;

	pfd[0] = (struct pollfd){.fd = t->wake[0], .events = POLLIN};
	pfd[1] = (struct pollfd){.fd = n < ACME_GUARD_MAX ? t->fd : -1,
	                         .events = POLLIN};
	for (i = 0; i < n; i++) {
		pfd[i + 2] =
		    (struct pollfd){.fd = c[i].fd, .events = c[i].events};
		if (next == -1 || c[i].deadline - now < next)
			next = c[i].deadline - now;
	}
	if (next < 0 && n > 0)
		next = 0;
	return (int)next;
}

/* alpn_thread - accept and handshake until the wake pipe is written. */
static void *
alpn_thread(void *arg)
{
	struct acme_tlsalpn01 *t = arg;
	struct alpn_conn c[ACME_GUARD_MAX];
	struct pollfd pfd[ACME_GUARD_MAX + 2];
	size_t n = 0, i, kept;
	int ms;

	for (;;) {
		ms = alpn_poll_set(t, c, n, pfd);
		if (poll(pfd, n + 2, ms) == -1 && errno != EINTR) {
			mc_log_error("%s: poll: %s; no longer answering",
			             ALPN_WHAT, strerror(errno));
			break;
		}
		if (pfd[0].revents != 0)
			break;
		for (i = 0, kept = 0; i < n; i++) {
			if ((pfd[i + 2].revents == 0 &&
			     mc_now_ms() < c[i].deadline) ||
			    !alpn_step(&c[i]))
				c[kept++] = c[i];
			else
				alpn_conn_close(t, &c[i]);
		}
		n = kept;
		if (pfd[1].revents != 0)
			alpn_accept(t, c, &n);
	}
	for (i = 0; i < n; i++)
		alpn_conn_close(t, &c[i]);
	return NULL;
}

/* alpn_ctx - the server SSL_CTX: TLS 1.2+, no tickets, our callbacks. */
static SSL_CTX *
alpn_ctx(struct acme_tlsalpn01 *t, struct mc_err *err)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (ctx == NULL) {
		mc_err_openssl(err, "%s: SSL_CTX_new", ALPN_WHAT);
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION);
	SSL_CTX_set_num_tickets(ctx, 0);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_client_hello_cb(ctx, alpn_hello, t);
	SSL_CTX_set_alpn_select_cb(ctx, alpn_select, NULL);
	return ctx;
}

/* alpn_spawn - start the thread with every signal blocked in it. */
static int
alpn_spawn(struct acme_tlsalpn01 *t, struct mc_err *err)
{
	sigset_t all, old;
	int rc;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = pthread_create(&t->thread, NULL, alpn_thread, t);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		errno = rc;
		return mc_err_errno(err, MC_ERR_SYS,
		                    "%s: cannot start a thread", ALPN_WHAT);
	}
	t->running = true;
	return 0;
}

/* acme_tlsalpn01_start - start the tls-alpn-01 responder on listen. */
struct acme_tlsalpn01 *
acme_tlsalpn01_start(const char *listen, struct mc_err *err)
{
	struct acme_tlsalpn01 *t = calloc(1, sizeof(*t));

	if (t == NULL) {
		mc_err_errno(err, MC_ERR_SYS, "out of memory");
		return NULL;
	}
	t->wake[0] = t->wake[1] = -1;
	pthread_mutex_init(&t->lock, NULL);
	t->fd = acme_listen_open(listen, ALPN_WHAT, err);
	if (t->fd == -1)
		goto fail;
	if (fcntl(t->fd, F_SETFL, O_NONBLOCK) == -1 ||
	    pipe2(t->wake, O_CLOEXEC | O_NONBLOCK) == -1) {
		mc_err_errno(err, MC_ERR_SYS, "%s on %s", ALPN_WHAT, listen);
		goto fail;
	}
	t->ctx = alpn_ctx(t, err);
	if (t->ctx == NULL || alpn_spawn(t, err) == -1)
		goto fail;
	mc_log_debug("%s listening on %s", ALPN_WHAT, listen);
	return t;
fail:
	acme_tlsalpn01_stop(t);
	return NULL;
}

/* alpn_cert_base - version, random serial, validity, subject = issuer. */
static int
alpn_cert_base(X509 *x, const char *name)
{
	X509_NAME *subj = X509_get_subject_name(x);
	BIGNUM *bn = BN_new();
	int ok;

	ok = bn != NULL && X509_set_version(x, X509_VERSION_3) == 1 &&
	     BN_rand(bn, 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) == 1 &&
	     BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL &&
	     X509_gmtime_adj(X509_getm_notBefore(x), -3600) != NULL &&
	     X509_gmtime_adj(X509_getm_notAfter(x), 7L * 86400) != NULL &&
	     X509_NAME_add_entry_by_txt(subj, "CN", MBSTRING_ASC,
	                                (const unsigned char *)name, -1, -1,
	                                0) == 1 &&
	     X509_set_issuer_name(x, subj) == 1;
	BN_free(bn);
	return ok ? 0 : -1;
}

/* alpn_cert_san - the single SAN: dNSName, or iPAddress for an address. */
static int
alpn_cert_san(X509 *x, const char *name)
{
	GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
	GENERAL_NAME *gen = acme_san_name(name);
	int ok = 0;

	if (gens == NULL || gen == NULL)
		goto out;
	if (sk_GENERAL_NAME_push(gens, gen) == 0)
		goto out;
	gen = NULL;
	ok = X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0,
	                       X509V3_ADD_DEFAULT) == 1;
out:
	GENERAL_NAME_free(gen);
	GENERAL_NAMES_free(gens);
	return ok ? 0 : -1;
}

/* alpn_cert_acmeid - the critical acmeIdentifier extension for keyauth. */
static int
alpn_cert_acmeid(X509 *x, const char *keyauth)
{
	unsigned char der[2 + EVP_MAX_MD_SIZE];
	unsigned int dlen = 0;
	ASN1_OBJECT *obj = OBJ_txt2obj(ALPN_OID, 1);
	ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
	X509_EXTENSION *ext = NULL;
	int ok = 0;

	if (obj == NULL || os == NULL ||
	    EVP_Digest(keyauth, strlen(keyauth), der + 2, &dlen, EVP_sha256(),
	               NULL) != 1 ||
	    dlen != 32)
		goto out;
	der[0] = 0x04; /* the extension value is itself a DER OCTET STRING */
	der[1] = (unsigned char)dlen;
	if (ASN1_OCTET_STRING_set(os, der, (int)dlen + 2) != 1)
		goto out;
	ext = X509_EXTENSION_create_by_OBJ(NULL, obj, 1, os);
	ok = ext != NULL && X509_add_ext(x, ext, -1) == 1;
out:
	OPENSSL_cleanse(der, sizeof(der));
	X509_EXTENSION_free(ext);
	ASN1_OCTET_STRING_free(os);
	ASN1_OBJECT_free(obj);
	return ok ? 0 : -1;
}

/* alpn_make - key and self-signed certificate for name and keyauth. */
static int
alpn_make(const char *name, const char *keyauth, struct alpn_name *out,
          struct mc_err *err)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *x = X509_new();

	if (key == NULL || x == NULL || alpn_cert_base(x, name) == -1 ||
	    X509_set_pubkey(x, key) != 1 || alpn_cert_san(x, name) == -1 ||
	    alpn_cert_acmeid(x, keyauth) == -1 ||
	    X509_sign(x, key, EVP_sha256()) <= 0) {
		X509_free(x);
		EVP_PKEY_free(key);
		return mc_err_openssl(err,
		                      "tls-alpn-01: cannot make the "
		                      "certificate for %s",
		                      name);
	}
	out->cert = x;
	out->key = key;
	return 0;
}

/* alpn_name_ok - whether name is a plain DNS name (no wildcard) or an IP. */
static bool
alpn_name_ok(const char *name)
{
	size_t n;

	if (name == NULL)
		return false;
	if (mc_name_is_ip(name))
		return true;
	n = strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	                 "0123456789-.");
	return n > 0 && n <= ALPN_NAME_MAX && name[n] == '\0' &&
	       name[0] != '.' && name[0] != '-';
}

/* alpn_store - put made (taken) into the table, replacing name's entry. */
static int
alpn_store(struct acme_tlsalpn01 *t, struct alpn_name *made, struct mc_err *err)
{
	struct alpn_name *v;
	size_t i;
	int rc = 0;

	pthread_mutex_lock(&t->lock);
	for (i = 0; i < t->n_names; i++)
		if (strcasecmp(t->names[i].name, made->name) == 0)
			break;
	if (i == t->n_names) {
		v = realloc(t->names, (t->n_names + 1) * sizeof(*v));
		if (v == NULL) {
			rc = mc_err_errno(err, MC_ERR_SYS, "out of memory");
			goto out;
		}
		t->names = v;
		t->n_names++;
	} else {
		free(t->names[i].name);
		X509_free(t->names[i].cert);
		EVP_PKEY_free(t->names[i].key);
	}
	t->names[i] = *made;
	memset(made, 0, sizeof(*made));
out:
	pthread_mutex_unlock(&t->lock);
	return rc;
}

/* acme_tlsalpn01_add - answer for name with the SHA-256 of keyauth. */
int
acme_tlsalpn01_add(struct acme_tlsalpn01 *t, const char *name,
                   const char *keyauth, struct mc_err *err)
{
	struct alpn_name made = {NULL, NULL, NULL};
	char sni[ALPN_NAME_MAX + 1];
	int rc = -1;

	if (!alpn_name_ok(name))
		return mc_err_set(err, MC_ERR_INPUT,
		                  "tls-alpn-01: \"%.100s\" is "
		                  "not a DNS name this challenge can prove",
		                  name ? name : "");
	if (keyauth == NULL || keyauth[0] == '\0')
		return mc_err_set(err, MC_ERR_INPUT,
		                  "tls-alpn-01: empty key "
		                  "authorization for %s",
		                  name);
	if (acme_tlsalpn01_sni(name, sni, sizeof(sni)) == -1)
		return mc_err_set(err, MC_ERR_INPUT,
		                  "tls-alpn-01: no SNI name for %s", name);
	made.name = strdup(sni);
	if (made.name == NULL) {
		mc_err_errno(err, MC_ERR_SYS, "out of memory");
		goto out;
	}
	if (alpn_make(name, keyauth, &made, err) == -1 ||
	    alpn_store(t, &made, err) == -1)
		goto out;
	rc = 0;
out:
	free(made.name);
	X509_free(made.cert);
	EVP_PKEY_free(made.key);
	return rc;
}

/* acme_tlsalpn01_stop - stop the responder; frees t. */
void
acme_tlsalpn01_stop(struct acme_tlsalpn01 *t)
{
	size_t i;
	ssize_t w;

	if (t == NULL)
		return;
	if (t->running) {
		do
			w = write(t->wake[1], "x", 1);
		while (w == -1 && errno == EINTR);
		pthread_join(t->thread, NULL);
	}
	if (t->fd != -1)
		close(t->fd);
	for (i = 0; i < 2; i++)
		if (t->wake[i] != -1)
			close(t->wake[i]);
	SSL_CTX_free(t->ctx);
	for (i = 0; i < t->n_names; i++) {
		free(t->names[i].name);
		X509_free(t->names[i].cert);
		EVP_PKEY_free(t->names[i].key);
	}
	free(t->names);
	pthread_mutex_destroy(&t->lock);
	free(t);
}
