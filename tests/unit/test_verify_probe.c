/*
 * test_verify_probe.c - probes against servers on 127.0.0.1.
 *
 * Real TLS: `openssl s_server` bound to 127.0.0.1 only, serving one
 * certificate without SNI and another for the name "sni.test", with a
 * stapled OCSP response and ALPN "smtp". The STARTTLS dialogs and the
 * misbehaving peers are HAND-WRITTEN STAND-INS: a thread in this test
 * that plays a fixed script (send lines, pause, read lines, then a TLS
 * accept with OpenSSL). They check our side of each dialog; the dialogs
 * against real Postfix, Dovecot and Exim are the integration tests' job.
 * Shared TLS contexts (struct mc_probe_cache): against an in-process
 * OpenSSL server that keeps sessions and issues tickets (s_server cannot
 * change its certificate between connections or say whether it resumed),
 * every probe must make a full handshake and see the certificate served
 * now; and from several threads at once against s_server. A run's bound
 * on connections per address (opts.limit): a probe waits while the slot
 * of 127.0.0.1 is held, that wait is not counted against its timeouts,
 * and its slot comes back whether it connected or not.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include "mailcert/pool.h"
#include "mailcert/verify.h"
#include "tests/unit/certgen.h"

extern char **environ;

/* Shared fixture: two certificates, their files, one s_server. */
static struct {
	char dir[64];
	char cert1[128], key1[128], cert2[128], key2[128], ocsp[128];
	X509 *leaf1, *leaf2;
	EVP_PKEY *pkey1;
	unsigned char *ocsp_der;
	int ocsp_len;
	pid_t server;
	unsigned short port;
} fx;

/* loopback_listener - a socket listening on 127.0.0.1:0; its port in *port. */
static int
loopback_listener(unsigned short *port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 4), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	*port = ntohs(sa.sin_port);
	return fd;
}

/* write_pem - write a certificate or a key to path. */
static void
write_pem(const char *path, X509 *cert, EVP_PKEY *key)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	if (cert != NULL)
		assert_true(PEM_write_X509(f, cert));
	else
		assert_true(
		    PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL));
	fclose(f);
}

/* write_ocsp - a minimal valid OCSP response ("tryLater") as DER. */
static void
write_ocsp(const char *path)
{
	OCSP_RESPONSE *resp =
	    OCSP_response_create(OCSP_RESPONSE_STATUS_TRYLATER, NULL);
	FILE *f = fopen(path, "wb");

	assert_non_null(resp);
	assert_non_null(f);
	fx.ocsp_len = i2d_OCSP_RESPONSE(resp, &fx.ocsp_der);
	assert_true(fx.ocsp_len > 0);
	assert_int_equal(fwrite(fx.ocsp_der, 1, (size_t)fx.ocsp_len, f),
	                 (size_t)fx.ocsp_len);
	fclose(f);
	OCSP_RESPONSE_free(resp);
}

/* make_certs - two self-signed ECDSA leaves and their files. */
static void
make_certs(void)
{
	EVP_PKEY *k2 = EVP_EC_gen("P-256");

	fx.pkey1 = EVP_EC_gen("P-256");
	assert_non_null(fx.pkey1);
	assert_non_null(k2);
	fx.leaf1 = cg_make("default.test", fx.pkey1, NULL, NULL,
	                   "DNS:default.test", -60, 86400, 1001);
	fx.leaf2 = cg_make("sni.test", k2, NULL, NULL, "DNS:sni.test", -60,
	                   86400, 2002);
	snprintf(fx.cert1, sizeof(fx.cert1), "%s/c1.pem", fx.dir);
	snprintf(fx.key1, sizeof(fx.key1), "%s/k1.pem", fx.dir);
	snprintf(fx.cert2, sizeof(fx.cert2), "%s/c2.pem", fx.dir);
	snprintf(fx.key2, sizeof(fx.key2), "%s/k2.pem", fx.dir);
	snprintf(fx.ocsp, sizeof(fx.ocsp), "%s/ocsp.der", fx.dir);
	write_pem(fx.cert1, fx.leaf1, NULL);
	write_pem(fx.key1, NULL, fx.pkey1);
	write_pem(fx.cert2, fx.leaf2, NULL);
	write_pem(fx.key2, NULL, k2);
	write_ocsp(fx.ocsp);
	EVP_PKEY_free(k2);
}

/* wait_listening - until 127.0.0.1:port accepts a connection (5 s). */
static int
wait_listening(unsigned short port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	int i, fd, rc;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = htons(port);
	for (i = 0; i < 100; i++) {
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
		close(fd);
		if (rc == 0)
			return 0;
		usleep(50000);
	}
	return -1;
}

/* start_s_server - openssl s_server on 127.0.0.1 only, TLS <= 1.2. */
static int
start_s_server(void)
{
	char accept[32];
	/* timeout(1) ends the server even if this test dies early. */
	char *argv[] = {"timeout",  "120",          "openssl", "s_server",
	                "-quiet",   "-accept",      accept,    "-cert",
	                fx.cert1,   "-key",         fx.key1,   "-servername",
	                "sni.test", "-cert2",       fx.cert2,  "-key2",
	                fx.key2,    "-status_file", fx.ocsp,   "-alpn",
	                "smtp",     "-no_tls1_3",   NULL};
	posix_spawn_file_actions_t fa;
	unsigned short port;
	int fd, tries, rc = -1;

	posix_spawn_file_actions_init(
	    &fa); /* its alert chatter is noise here */
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	for (tries = 0; tries < 5; tries++) {
		fd = loopback_listener(&port); /* a free port, then let go */
		close(fd);
		snprintf(accept, sizeof(accept), "127.0.0.1:%u", port);
		if (posix_spawnp(&fx.server, "timeout", &fa, NULL, argv,
		                 environ) != 0)
			break;
		if (wait_listening(port) == 0) {
			fx.port = port;
			rc = 0;
			break;
		}
		kill(fx.server, SIGTERM);
		waitpid(fx.server, NULL, 0);
		fx.server = 0;
	}
	posix_spawn_file_actions_destroy(&fa);
	return rc;
}

/* setup - certificates and the s_server. */
static int
setup(void **state)
{
	(void)state;
	snprintf(fx.dir, sizeof(fx.dir), "/tmp/mc-verify-XXXXXX");
	if (mkdtemp(fx.dir) == NULL)
		return -1;
	make_certs();
	return start_s_server();
}

/* teardown - stop the server, remove the files. */
static int
teardown(void **state)
{
	const char *files[] = {fx.cert1, fx.key1, fx.cert2, fx.key2, fx.ocsp};
	size_t i;

	(void)state;
	if (fx.server > 0) {
		kill(fx.server, SIGTERM);
		waitpid(fx.server, NULL, 0);
	}
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		unlink(files[i]);
	rmdir(fx.dir);
	X509_free(fx.leaf1);
	X509_free(fx.leaf2);
	EVP_PKEY_free(fx.pkey1);
	OPENSSL_free(fx.ocsp_der);
	return 0;
}

/* probe_url - parse "scheme://127.0.0.1:port" and probe it. */
static int
probe_url(const char *scheme, unsigned short port,
          const struct mc_probe_opts *opts, struct mc_probe_result *res,
          struct mc_err *err)
{
	struct mc_endpoint ep;
	char url[64];

	snprintf(url, sizeof(url), "%s://127.0.0.1:%u", scheme, port);
	assert_int_equal(mc_addr_endpoint_parse(url, &ep, err), 0);
	return mc_verify_probe(&ep, opts, res, err);
}

/* Cases against s_server. leaf: 1 or 2 = which leaf must be served. */
static const struct {
	const char *label;
	const char *sni;
	int min_version;
	const char *cipher_list;
	bool want_ocsp;
	const char *alpn;
	enum mc_probe_outcome outcome;
	int leaf;
	const char *fragment; /* in reason (failures) or cipher (success) */
} tls_cases[] = {
    {"no SNI gets the default leaf", NULL, 0, NULL, false, NULL, MC_PROBE_OK, 1,
     ""},
    {"SNI sni.test gets the second leaf", "sni.test", 0, NULL, false, NULL,
     MC_PROBE_OK, 2, ""},
    {"other SNI gets the default leaf", "other.test", 0, NULL, false, NULL,
     MC_PROBE_OK, 1, ""},
    {"IP literal is not sent as SNI", "127.0.0.1", 0, NULL, false, NULL,
     MC_PROBE_OK, 1, ""},
    {"OCSP staple captured", "sni.test", 0, NULL, true, NULL, MC_PROBE_OK, 2,
     ""},
    {"ALPN negotiated", NULL, 0, NULL, false, "smtp", MC_PROBE_OK, 1, ""},
    {"chosen cipher", NULL, 0, "ECDHE-ECDSA-AES128-GCM-SHA256", false, NULL,
     MC_PROBE_OK, 1, "ECDHE-ECDSA-AES128-GCM-SHA256"},
    {"TLS 1.3 only against a TLS 1.2 server", NULL, TLS1_3_VERSION, NULL, false,
     NULL, MC_PROBE_TLS_FAILED, 0, "alert protocol version"},
    {"no shared cipher", NULL, TLS1_2_VERSION, "AES128-SHA", false, NULL,
     MC_PROBE_TLS_FAILED, 0, "handshake failure"},
};

/* check_tls_ok - the captured facts of a successful tls_cases row. */
static void
check_tls_ok(size_t i, const struct mc_probe_result *res)
{
	X509 *want = tls_cases[i].leaf == 2 ? fx.leaf2 : fx.leaf1;
	X509 *other = tls_cases[i].leaf == 2 ? fx.leaf1 : fx.leaf2;

	assert_non_null(res->chain);
	assert_int_equal(sk_X509_num(res->chain), 1);
	assert_true(mc_verify_leaf_matches(sk_X509_value(res->chain, 0), want));
	assert_false(
	    mc_verify_leaf_matches(sk_X509_value(res->chain, 0), other));
	assert_string_equal(res->protocol, "TLSv1.2");
	assert_non_null(strstr(res->cipher, tls_cases[i].fragment));
	assert_int_equal(strncmp(res->peer, "127.0.0.1:", 10), 0);
	assert_int_equal(res->sni_sent, tls_cases[i].sni != NULL &&
	                                    tls_cases[i].sni[0] != '1');
	assert_string_equal(res->alpn,
	                    tls_cases[i].alpn ? tls_cases[i].alpn : "");
	if (tls_cases[i].want_ocsp) {
		assert_int_equal(res->ocsp_len, (size_t)fx.ocsp_len);
		assert_memory_equal(res->ocsp_der, fx.ocsp_der, res->ocsp_len);
	} else {
		assert_null(res->ocsp_der);
	}
}

/* test_tls_s_server - implicit TLS against openssl s_server. */
static void
test_tls_s_server(void **state)
{
	struct mc_probe_opts opts;
	struct mc_probe_result res;
	struct mc_err err;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(tls_cases) / sizeof(tls_cases[0]); i++) {
		mc_probe_opts_init(&opts);
		opts.servername = tls_cases[i].sni;
		opts.min_version = tls_cases[i].min_version;
		opts.cipher_list = tls_cases[i].cipher_list;
		opts.want_ocsp = tls_cases[i].want_ocsp;
		opts.alpn = tls_cases[i].alpn;
		mc_err_clear(&err);
		if (probe_url("tls", fx.port, &opts, &res, &err) != 0)
			fail_msg("%s: %s", tls_cases[i].label, err.msg);
		if (res.outcome != tls_cases[i].outcome)
			fail_msg("%s: outcome %s (%s)", tls_cases[i].label,
			         mc_verify_outcome_name(res.outcome),
			         res.reason);
		if (res.outcome == MC_PROBE_OK)
			check_tls_ok(i, &res);
		else if (strstr(res.reason, tls_cases[i].fragment) == NULL)
			fail_msg("%s: reason \"%s\"", tls_cases[i].label,
			         res.reason);
		mc_probe_result_clear(&res);
		assert_null(res.chain);
	}
}

/*
 * The hand-written stand-in server. Steps: "S<text>" send text, "R<prefix>"
 * read a line that must start with prefix, "P<ms>" pause, "X<n>" send n
 * bytes without a newline, "L<n>" send n lines "220-x", "Q" fail if the
 * client has already sent something (postscreen's pregreet test), "T" TLS
 * accept (then read the goodbye line), "G<ms> <text>" TLS accept, pause,
 * fail if the client has spoken, send text inside TLS (an implicit-TLS
 * greeting), then read the goodbye line, "A" TLS accept and close at
 * once, "H" read whatever the client sends next (its ClientHello)
 * without answering it, "C" close at once. After the last step it reads
 * until the client closes (at most 5 s).
 */
struct stand_in {
	int listen_fd;
	const char *const *steps;
	char mismatch[256]; /* a step the client did not satisfy */
};

/* si_readline - one line from fd (or ssl) without CR LF; -1 on EOF. */
static int
si_readline(int fd, SSL *ssl, char *line, size_t size)
{
	size_t n = 0;
	char ch;

	while (n + 1 < size) {
		int r = ssl ? SSL_read(ssl, &ch, 1) : (int)read(fd, &ch, 1);

		if (r <= 0)
			return -1;
		if (ch == '\n')
			break;
		if (ch != '\r')
			line[n++] = ch;
	}
	line[n] = '\0';
	return 0;
}

/* si_greet - "G<ms> <text>": after ms, the client must not have spoken
 * yet; then text inside TLS, each '|' in it a pause of 200 ms after
 * which the client must still be silent. 0, or -1 with si->mismatch. */
static int
si_greet(struct stand_in *si, int fd, SSL *ssl, const char *step)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	const char *text = strchr(step, ' ');
	long pause = strtol(step + 1, NULL, 10);
	size_t n;

	text = text != NULL ? text + 1 : "";
	for (;;) {
		usleep((useconds_t)pause * 1000);
		if (poll(&pfd, 1, 0) == 1) {
			snprintf(si->mismatch, sizeof(si->mismatch),
			         "the client spoke (or closed) before the "
			         "greeting was whole");
			return -1;
		}
		n = strcspn(text, "|");
		if (SSL_write(ssl, text, (int)n) != (int)n) {
			snprintf(si->mismatch, sizeof(si->mismatch),
			         "cannot send the greeting");
			return -1;
		}
		if (text[n] == '\0')
			return 0;
		text += n + 1;
		pause = 200;
	}
}

/* si_tls - accept TLS on fd with the default leaf; step "T": read one
 * line, "G...": greet first (si_greet), "A": close at once. */
static void
si_tls(struct stand_in *si, int fd, const char *step)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	SSL *ssl = NULL;
	char line[256];

	SSL_CTX_use_certificate(ctx, fx.leaf1);
	SSL_CTX_use_PrivateKey(ctx, fx.pkey1);
	ssl = SSL_new(ctx);
	SSL_set_fd(ssl, fd);
	if (SSL_accept(ssl) != 1)
		snprintf(si->mismatch, sizeof(si->mismatch),
		         "TLS accept failed");
	else if (step[0] == 'A' ||
	         (step[0] == 'G' && si_greet(si, fd, ssl, step) == -1))
		; /* closed at once, or the greeting failed */
	else if (si_readline(fd, ssl, line, sizeof(line)) == 0 &&
	         strcmp(line, "QUIT") != 0 && strcmp(line, "z LOGOUT") != 0 &&
	         strcmp(line, "LOGOUT") != 0)
		snprintf(si->mismatch, sizeof(si->mismatch),
		         "goodbye inside TLS was \"%.100s\"", line);
	SSL_free(ssl);
	SSL_CTX_free(ctx);
}

/* si_step - run one step on fd; 1 to stop, 0 to go on. */
static int
si_step(struct stand_in *si, int fd, const char *step)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	char line[8192];
	long i, n = strtol(step + 1, NULL, 10);

	switch (step[0]) {
	case 'S':
		return send(fd, step + 1, strlen(step + 1), MSG_NOSIGNAL) < 0;
	case 'P':
		usleep((useconds_t)n * 1000);
		return 0;
	case 'X':
		memset(line, 'A', sizeof(line));
		return send(fd, line, (size_t)n, MSG_NOSIGNAL) < 0;
	case 'L':
		for (i = 0; i < n; i++)
			if (send(fd, "220-x\r\n", 7, MSG_NOSIGNAL) < 0)
				return 1;
		return 0;
	case 'T':
	case 'G':
	case 'A':
		si_tls(si, fd, step);
		return 1;
	case 'C':
		return 1;
	case 'H':
		return read(fd, line, sizeof(line)) <= 0;
	case 'Q':
		if (poll(&pfd, 1, 0) == 1) {
			snprintf(si->mismatch, sizeof(si->mismatch),
			         "the client spoke before the greeting ended");
			return 1;
		}
		return 0;
	}
	if (si_readline(fd, NULL, line, sizeof(line)) == -1)
		snprintf(line, sizeof(line), "<end of connection>");
	if (strncmp(line, step + 1, strlen(step + 1)) != 0) {
		snprintf(si->mismatch, sizeof(si->mismatch),
		         "expected \"%s\", got \"%.100s\"", step + 1, line);
		return 1;
	}
	return 0;
}

/* si_main - accept one client and play the script. */
static void *
si_main(void *arg)
{
	struct stand_in *si = arg;
	struct timeval tv = {.tv_sec = 5};
	char buf[256];
	sigset_t pipe;
	size_t i;
	int fd;

	/* Only this thread ignores SIGPIPE (its TLS 1.3 tickets may hit a
	 * closed socket); the probe must protect itself. */
	sigemptyset(&pipe);
	sigaddset(&pipe, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe, NULL);
	fd = accept(si->listen_fd, NULL, NULL);
	if (fd == -1)
		return NULL;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	for (i = 0; si->steps[i] != NULL; i++)
		if (si_step(si, fd, si->steps[i]) == 1)
			break;
	if (si->steps[i] == NULL)
		while (read(fd, buf, sizeof(buf)) > 0)
			;
	close(fd);
	return NULL;
}

#define EHLO_OK                                                                \
	"S250-mail.test\r\n250-PIPELINING\r\n250-STARTTLS\r\n250 8BITMIME\r\n"
#define EHLO_NO_TLS "S250-mail.test\r\n250-PIPELINING\r\n250 8BITMIME\r\n"

static const struct {
	const char *label;
	const char *scheme;
	const char *steps[12];
	enum mc_probe_outcome outcome;
	const char *fragment;    /* in reason */
	const char *server_text; /* in server_text, or NULL */
} dialog_cases[] = {
    {"smtp: postscreen-style greeting with pauses",
     "smtp",
     {"S220-mail.test ESMTP\r\n", "P300", "S220-please wait\r\n", "P300", "Q",
      "S220 mail.test ESMTP\r\n", "REHLO ", EHLO_OK, "RSTARTTLS",
      "S220 2.0.0 Ready to start TLS\r\n", "T"},
     MC_PROBE_OK,
     "",
     NULL},
    {"submission: bare 220 and lower-case starttls",
     "submission",
     {"S220\r\n", "REHLO ", "S250-mail.test\r\n250 starttls\r\n", "RSTARTTLS",
      "S220 go ahead\r\n", "T"},
     MC_PROBE_OK,
     "",
     NULL},
    {"smtp: no STARTTLS in EHLO, then QUIT",
     "smtp",
     {"S220 mail.test ESMTP\r\n", "REHLO ", EHLO_NO_TLS, "RQUIT",
      "S221 bye\r\n"},
     MC_PROBE_STARTTLS_MISSING,
     "SMTP EHLO: the server does not offer "
     "STARTTLS",
     NULL},
    {"smtp: EHLO rejected",
     "smtp",
     {"S220 mail.test\r\n", "REHLO ", "S502 5.5.2 EHLO not supported\r\n",
      "RQUIT", "S221 bye\r\n"},
     MC_PROBE_STARTTLS_MISSING,
     "rejected EHLO",
     "502 5.5.2 EHLO not supported"},
    {"smtp: 454 TLS not available",
     "smtp",
     {"S220 mail.test ESMTP\r\n", "REHLO ", EHLO_OK, "RSTARTTLS",
      "S454 4.7.0 TLS not available due to local problem\r\n", "RQUIT",
      "S221 bye\r\n"},
     MC_PROBE_STARTTLS_REFUSED,
     "SMTP STARTTLS: the server refused",
     "454 4.7.0 TLS not available due to local problem"},
    {"smtp: 421 greeting",
     "smtp",
     {"S421 4.3.2 Service shutting down\r\n", "C"},
     MC_PROBE_STARTTLS_REFUSED,
     "SMTP greeting",
     "421 4.3.2 Service "
     "shutting down"},
    {"smtp: garbage greeting",
     "smtp",
     {"SHTTP/1.1 400 Bad Request\r\n"},
     MC_PROBE_PROTOCOL_ERROR,
     "unexpected reply \"HTTP/1.1 400 Bad "
     "Request\"",
     NULL},
    {"smtp: binary garbage is sanitized",
     "smtp",
     {"S\x16\x03\x01\x02\x05\x01\r\n"},
     MC_PROBE_PROTOCOL_ERROR,
     "unexpected reply \"??????\"",
     NULL},
    {"smtp: codes change within a reply",
     "smtp",
     {"S220-mail.test\r\n250 oops\r\n"},
     MC_PROBE_PROTOCOL_ERROR,
     "unexpected reply \"250 oops\"",
     NULL},
    {"smtp: endless line",
     "smtp",
     {"X5000"},
     MC_PROBE_PROTOCOL_ERROR,
     "line longer than 4096 bytes",
     NULL},
    {"smtp: endless reply",
     "smtp",
     {"L150"},
     MC_PROBE_PROTOCOL_ERROR,
     "more than 100 reply lines",
     NULL},
    {"smtp: data after the go-ahead",
     "smtp",
     {"S220 mail.test\r\n", "REHLO ", EHLO_OK, "RSTARTTLS",
      "S220 go ahead\r\n250 injected\r\n"},
     MC_PROBE_PROTOCOL_ERROR,
     "sent data after the TLS go-ahead (\"250 injected\"; command injection?)",
     NULL},
    {"smtp: 454 right after the go-ahead",
     "smtp",
     {"S220 mail.test\r\n", "REHLO ", EHLO_OK, "RSTARTTLS",
      "S220 go ahead\r\n454 4.7.0 TLS not available\r\n"},
     MC_PROBE_STARTTLS_REFUSED,
     "gave its go-ahead and then said \"454 4.7.0 TLS not available\"",
     "454 4.7.0 TLS not available"},
    {"imap: BYE in the packet of the go-ahead (Dovecot without its key)",
     "imap",
     {"S* OK [CAPABILITY IMAP4rev1 STARTTLS] Dovecot ready.\r\n",
      "Rb STARTTLS",
      "Sb OK Begin TLS negotiation now.\r\n* BYE [UNAVAILABLE] TLS "
      "initialization failed.\r\n",
      "C"},
     MC_PROBE_STARTTLS_REFUSED,
     "instead of starting TLS",
     "* BYE [UNAVAILABLE] TLS initialization failed."},
    {"imap: BYE as the answer to the ClientHello",
     "imap",
     {"S* OK [CAPABILITY IMAP4rev1 STARTTLS] Dovecot ready.\r\n",
      "Rb STARTTLS", "Sb OK Begin TLS negotiation now.\r\n", "H",
      "S* BYE [UNAVAILABLE] TLS initialization failed.\r\n", "C"},
     MC_PROBE_STARTTLS_REFUSED,
     "answered in plain text instead of TLS: \"* BYE [UNAVAILABLE]",
     "* BYE [UNAVAILABLE] TLS initialization failed."},
    {"pop3: -ERR as the answer to the ClientHello",
     "pop3",
     {"S+OK POP3 ready\r\n", "RCAPA", "S+OK\r\nSTLS\r\n.\r\n", "RSTLS",
      "S+OK Begin TLS\r\n", "H", "S-ERR [SYS/TEMP] TLS failed\r\n"},
     MC_PROBE_STARTTLS_REFUSED,
     "answered in plain text",
     "-ERR [SYS/TEMP] TLS failed"},
    {"smtp: closed after the go-ahead",
     "smtp",
     {"S220 mail.test\r\n", "REHLO ", EHLO_OK, "RSTARTTLS", "S220 go\r\n", "C"},
     MC_PROBE_TLS_FAILED,
     "TLS handshake: ",
     NULL},
    {"smtp: closed at once",
     "smtp",
     {"C"},
     MC_PROBE_UNREACHABLE,
     "SMTP greeting: connection closed",
     NULL},
    {"imap: capabilities in the greeting",
     "imap",
     {"S* OK [CAPABILITY IMAP4rev1 STARTTLS AUTH=PLAIN] ready\r\n",
      "Rb STARTTLS", "Sb OK Begin TLS negotiation now\r\n", "T"},
     MC_PROBE_OK,
     "",
     NULL},
    {"imap: CAPABILITY command",
     "imap",
     {"S* OK ready\r\n", "Ra CAPABILITY",
      "S* CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED\r\n", "Sa OK done\r\n",
      "Rb STARTTLS", "Sb OK go\r\n", "T"},
     MC_PROBE_OK,
     "",
     NULL},
    {"imap: no STARTTLS, then LOGOUT",
     "imap",
     {"S* OK ready\r\n", "Ra CAPABILITY", "S* CAPABILITY IMAP4rev1\r\n",
      "Sa OK done\r\n", "Rz LOGOUT", "S* BYE\r\nz OK\r\n"},
     MC_PROBE_STARTTLS_MISSING,
     "IMAP CAPABILITY",
     NULL},
    {"imap: STARTTLS answered NO",
     "imap",
     {"S* OK [CAPABILITY IMAP4rev1 STARTTLS] ready\r\n", "Rb STARTTLS",
      "Sb NO [UNAVAILABLE] TLS not configured\r\n", "Rz LOGOUT",
      "S* BYE\r\nz OK\r\n"},
     MC_PROBE_STARTTLS_REFUSED,
     "IMAP STARTTLS",
     "b NO [UNAVAILABLE] TLS not configured"},
    {"imap: PREAUTH greeting",
     "imap",
     {"S* PREAUTH welcome\r\n"},
     MC_PROBE_STARTTLS_MISSING,
     "PREAUTH",
     NULL},
    {"imap: SMTP server on the IMAP port",
     "imap",
     {"S220 mail.test ESMTP\r\n"},
     MC_PROBE_PROTOCOL_ERROR,
     "IMAP greeting: unexpected reply \"220 "
     "mail.test ESMTP\"",
     NULL},
    {"pop3: STLS",
     "pop3",
     {"S+OK POP3 ready\r\n", "RCAPA", "S+OK\r\nTOP\r\nSTLS\r\nUSER\r\n.\r\n",
      "RSTLS", "S+OK Begin TLS\r\n", "T"},
     MC_PROBE_OK,
     "",
     NULL},
    {"pop3: no STLS, then QUIT",
     "pop3",
     {"S+OK POP3 ready\r\n", "RCAPA", "S+OK\r\nTOP\r\nUSER\r\n.\r\n", "RQUIT",
      "S+OK bye\r\n"},
     MC_PROBE_STARTTLS_MISSING,
     "does not offer STLS",
     NULL},
    {"pop3: STLS answered -ERR",
     "pop3",
     {"S+OK POP3 ready\r\n", "RCAPA", "S+OK\r\nSTLS\r\n.\r\n", "RSTLS",
      "S-ERR TLS unavailable\r\n", "RQUIT", "S+OK bye\r\n"},
     MC_PROBE_STARTTLS_REFUSED,
     "POP3 STLS",
     "-ERR TLS unavailable"},
    {"pop3: garbage greeting",
     "pop3",
     {"Shello there\r\n"},
     MC_PROBE_PROTOCOL_ERROR,
     "POP3 greeting: unexpected reply",
     NULL},
    {"sieve: STARTTLS",
     "sieve",
     {"S\"IMPLEMENTATION\" \"Stand-in\"\r\n\"SIEVE\" \"fileinto\"\r\n"
      "\"STARTTLS\"\r\nOK \"ready\"\r\n",
      "RSTARTTLS", "SOK \"Begin TLS\"\r\n", "T"},
     MC_PROBE_OK,
     "",
     NULL},
    {"sieve: no STARTTLS, then LOGOUT",
     "sieve",
     {"S\"IMPLEMENTATION\" \"Stand-in\"\r\nOK \"ready\"\r\n", "RLOGOUT",
      "SOK\r\n"},
     MC_PROBE_STARTTLS_MISSING,
     "ManageSieve greeting",
     NULL},
    {"sieve: STARTTLS answered NO",
     "sieve",
     {"S\"STARTTLS\"\r\nOK\r\n", "RSTARTTLS", "SNO \"no TLS today\"\r\n"},
     MC_PROBE_STARTTLS_REFUSED,
     "ManageSieve STARTTLS",
     "NO 'no TLS today'"},
    {"smtps: plain-text server on an implicit-TLS URL",
     "smtps",
     {"S220 mail.test ESMTP\r\n"},
     MC_PROBE_TLS_FAILED,
     "plain text (\"220 mail.test ESMTP\"): does it need STARTTLS?",
     NULL},
};

/* run_script_opts - probe a stand-in playing steps with opts (a copy);
 * checks its script too. */
static void
run_script_opts(const char *label, const char *scheme,
                const char *const *steps, struct mc_probe_opts opts,
                struct mc_probe_result *res)
{
	struct stand_in si = {.steps = steps};
	struct mc_err err;
	unsigned short port;
	pthread_t th;

	si.listen_fd = loopback_listener(&port);
	assert_int_equal(pthread_create(&th, NULL, si_main, &si), 0);
	mc_err_clear(&err);
	if (probe_url(scheme, port, &opts, res, &err) != 0)
		fail_msg("%s: %s", label, err.msg);
	pthread_join(th, NULL);
	close(si.listen_fd);
	if (si.mismatch[0] != '\0')
		fail_msg("%s: stand-in: %s (reason: %s)", label, si.mismatch,
		         res->reason);
}

/* run_script - probe a stand-in playing steps; checks its script too. */
static void
run_script(const char *label, const char *scheme, const char *const *steps,
           struct mc_probe_result *res)
{
	struct mc_probe_opts opts;

	mc_probe_opts_init(&opts);
	opts.io_timeout_ms = 2000;
	opts.total_timeout_ms = 5000;
	opts.ehlo_name = "client.test";
	run_script_opts(label, scheme, steps, opts, res);
}

/* run_dialog - probe a stand-in playing dialog row i. */
static void
run_dialog(size_t i, struct mc_probe_result *res)
{
	run_script(dialog_cases[i].label, dialog_cases[i].scheme,
	           dialog_cases[i].steps, res);
}

/* test_dialogs - every STARTTLS dialog and misbehaviour against stand-ins. */
static void
test_dialogs(void **state)
{
	struct mc_probe_result res;
	const char *want;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(dialog_cases) / sizeof(dialog_cases[0]); i++) {
		run_dialog(i, &res);
		if (res.outcome != dialog_cases[i].outcome ||
		    strstr(res.reason, dialog_cases[i].fragment) == NULL)
			fail_msg("%s: got %s \"%s\"", dialog_cases[i].label,
			         mc_verify_outcome_name(res.outcome),
			         res.reason);
		want = dialog_cases[i].server_text;
		if (want != NULL && strstr(res.server_text, want) == NULL)
			fail_msg("%s: server text \"%s\"",
			         dialog_cases[i].label, res.server_text);
		if (res.outcome == MC_PROBE_OK &&
		    !mc_verify_leaf_matches(sk_X509_value(res.chain, 0),
		                            fx.leaf1))
			fail_msg("%s: wrong leaf", dialog_cases[i].label);
		mc_probe_result_clear(&res);
	}
}

/* Implicit-TLS greetings read with await_greeting (check's default
 * probe), against stand-ins: a hand-written server is the only one that
 * can greet after an exact pause, send a two-line banner slowly, or
 * close right after its handshake (the real late Dovecot is
 * tests/integration/t_check_greeting.sh). The stand-in fails the case
 * when the client speaks before the greeting is whole. */
static const struct {
	const char *label;
	const char *scheme;
	const char *steps[4];
	enum mc_server_kind server;
	const char *greeting;    /* the greeting kept, or NULL: none */
	const char *no_greeting; /* in no_greeting, or NULL: "" */
} await_cases[] = {
    {"smtps: a greeting 300 ms after the handshake",
     "smtps",
     {"G300 220 mail.test ESMTP Postfix (Debian/GNU)\r\n"},
     MC_SERVER_POSTFIX,
     "220 mail.test ESMTP Postfix (Debian/GNU)",
     NULL},
    {"smtps: a two-line banner, its last line 200 ms later",
     "smtps",
     {"G0 220-mail.test ESMTP\r\n|220 Exim 4.96 ready\r\n"},
     MC_SERVER_EXIM,
     "220-mail.test ESMTP",
     NULL},
    {"imaps: a Dovecot greeting 300 ms late",
     "imaps",
     {"G300 * OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] Dovecot (Debian) "
      "ready.\r\n"},
     MC_SERVER_DOVECOT,
     "* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] Dovecot (Debian) ready.",
     NULL},
    {"pop3s: a greeting that names no daemon",
     "pop3s",
     {"G0 +OK ready\r\n"},
     MC_SERVER_UNKNOWN,
     "+OK ready",
     NULL},
    {"imaps: a greeting without its line end, then silence",
     "imaps",
     {"G0 * OK Dovecot ready."},
     MC_SERVER_DOVECOT,
     "* OK Dovecot ready.",
     NULL},
    {"pop3s: an empty line is still the server speaking",
     "pop3s",
     {"G0 \r\n"},
     MC_SERVER_UNKNOWN,
     NULL,
     NULL},
    {"pop3s: never greets",
     "pop3s",
     {"T"},
     MC_SERVER_UNKNOWN,
     NULL,
     "no greeting within 400 ms after the TLS handshake"},
    {"imaps: closes right after the handshake",
     "imaps",
     {"A"},
     MC_SERVER_UNKNOWN,
     NULL,
     "the server closed the connection after the TLS handshake without a "
     "greeting"},
};

/* test_greetings - await_greeting reads the greeting before the goodbye. */
static void
test_greetings(void **state)
{
	struct mc_probe_result res;
	struct mc_probe_opts opts;
	const char *want;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(await_cases) / sizeof(await_cases[0]);
	     i++) {
		mc_probe_opts_init(&opts);
		opts.io_timeout_ms = 2000;
		opts.total_timeout_ms = 5000;
		opts.greeting_timeout_ms = 400;
		opts.await_greeting = true;
		run_script_opts(await_cases[i].label,
		                await_cases[i].scheme,
		                await_cases[i].steps, opts, &res);
		if (res.outcome != MC_PROBE_OK ||
		    !mc_verify_leaf_matches(sk_X509_value(res.chain, 0),
		                            fx.leaf1))
			fail_msg("%s: %s \"%s\"", await_cases[i].label,
			         mc_verify_outcome_name(res.outcome), res.reason);
		want = await_cases[i].greeting;
		if (res.server != await_cases[i].server ||
		    strcmp(res.greeting, want != NULL ? want : "") != 0)
			fail_msg("%s: server \"%s\", greeting \"%s\"",
			         await_cases[i].label,
			         mc_verify_server_name(res.server), res.greeting);
		want = await_cases[i].no_greeting;
		if (want != NULL ? strstr(res.no_greeting, want) == NULL
		                 : res.no_greeting[0] != '\0')
			fail_msg("%s: no_greeting \"%s\"",
			         await_cases[i].label, res.no_greeting);
		mc_probe_result_clear(&res);
	}
}

enum peer { CLOSED_PORT, SILENT };

static const struct {
	const char *label;
	const char *scheme;
	enum peer peer;
	int io_ms, total_ms;
	enum mc_probe_outcome outcome;
	const char *fragment;
	long min_ms, max_ms; /* bounds of the probe's total time */
} timeout_cases[] = {
    {"nothing listens", "smtp", CLOSED_PORT, 2000, 5000, MC_PROBE_UNREACHABLE,
     "Connection refused", 0, 1000},
    {"nothing listens, implicit TLS", "imaps", CLOSED_PORT, 2000, 5000,
     MC_PROBE_UNREACHABLE, "cannot connect to 127.0.0.1", 0, 1000},
    {"silent SMTP server: read timeout", "smtp", SILENT, 400, 5000,
     MC_PROBE_UNREACHABLE, "SMTP greeting: no answer within", 350, 1500},
    {"silent POP3 server: total deadline", "pop3", SILENT, 5000, 300,
     MC_PROBE_UNREACHABLE,
     "POP3 greeting: no answer before the probe's time budget (300 ms in "
     "all) ran out",
     250, 1200},
    {"silent TLS server: handshake timeout", "tls", SILENT, 400, 5000,
     MC_PROBE_TLS_FAILED, "TLS handshake: no answer within", 350, 1500},
};

/* test_timeouts - refused and silent peers end within the limits. */
static void
test_timeouts(void **state)
{
	struct mc_probe_opts opts;
	struct mc_probe_result res;
	struct mc_err err;
	unsigned short port;
	size_t i;
	int fd;

	(void)state;
	for (i = 0; i < sizeof(timeout_cases) / sizeof(timeout_cases[0]); i++) {
		/* SILENT: listen() but never accept or speak (the kernel
		 * completes the TCP handshake from the backlog). */
		fd = loopback_listener(&port);
		if (timeout_cases[i].peer == CLOSED_PORT)
			close(fd);
		mc_probe_opts_init(&opts);
		opts.io_timeout_ms = timeout_cases[i].io_ms;
		opts.total_timeout_ms = timeout_cases[i].total_ms;
		mc_err_clear(&err);
		assert_int_equal(
		    probe_url(timeout_cases[i].scheme, port, &opts, &res, &err),
		    0);
		if (timeout_cases[i].peer == SILENT)
			close(fd);
		if (res.outcome != timeout_cases[i].outcome ||
		    strstr(res.reason, timeout_cases[i].fragment) == NULL ||
		    res.total_ms < timeout_cases[i].min_ms ||
		    res.total_ms > timeout_cases[i].max_ms)
			fail_msg("%s: %s \"%s\" after %ld ms",
			         timeout_cases[i].label,
			         mc_verify_outcome_name(res.outcome),
			         res.reason, res.total_ms);
		assert_null(res.chain);
		assert_int_equal(res.timed_out,
		                 timeout_cases[i].peer == SILENT);
		mc_probe_result_clear(&res);
	}
}

static const struct {
	const char *label;
	int min_version;
	const char *cipher_list, *ciphersuites, *alpn;
	int io_ms;
	const char *fragment;
} bad_opts[] = {
    {"unknown cipher", 0, "NO-SUCH-CIPHER", NULL, NULL, 1000,
     "no usable cipher"},
    {"unknown TLS 1.3 suite", 0, NULL, "TLS_NOPE", NULL, 1000, "ciphersuites"},
    {"empty ALPN name", 0, NULL, NULL, "smtp,,imap", 1000, "ALPN"},
    {"bogus version", 0x7777, NULL, NULL, NULL, 1000, "minimum TLS"},
    {"zero timeout", 0, NULL, NULL, NULL, 0, "timeouts must be positive"},
};

/* test_bad_opts - our own bad options are MC_ERR_USAGE, out untouched. */
static void
test_bad_opts(void **state)
{
	struct mc_probe_opts opts;
	struct mc_probe_result res;
	struct mc_err err;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad_opts) / sizeof(bad_opts[0]); i++) {
		mc_probe_opts_init(&opts);
		opts.min_version = bad_opts[i].min_version;
		opts.cipher_list = bad_opts[i].cipher_list;
		opts.ciphersuites = bad_opts[i].ciphersuites;
		opts.alpn = bad_opts[i].alpn;
		opts.io_timeout_ms = bad_opts[i].io_ms;
		memset(&res, 0x33, sizeof(res));
		mc_err_clear(&err);
		if (probe_url("tls", fx.port, &opts, &res, &err) != -1)
			fail_msg("%s: accepted", bad_opts[i].label);
		assert_int_equal(err.cat, MC_ERR_USAGE);
		if (strstr(err.msg, bad_opts[i].fragment) == NULL)
			fail_msg("%s: \"%s\"", bad_opts[i].label, err.msg);
		assert_int_equal(res.outcome, 0x33333333);
	}
}

/* test_leaf_helpers - DER comparison and the serial / SHA-256 line. */
static void
test_leaf_helpers(void **state)
{
	unsigned char md[32];
	unsigned int mdlen = 0;
	char want[128], got[128], small[20];
	struct mc_err err;
	size_t i;

	(void)state;
	assert_true(mc_verify_leaf_matches(fx.leaf1, fx.leaf1));
	assert_false(mc_verify_leaf_matches(fx.leaf1, fx.leaf2));
	assert_false(mc_verify_leaf_matches(NULL, fx.leaf1));
	assert_false(mc_verify_leaf_matches(fx.leaf1, NULL));
	assert_true(X509_digest(fx.leaf1, EVP_sha256(), md, &mdlen));
	snprintf(want, sizeof(want), "serial 03e9 sha256 ");
	for (i = 0; i < mdlen; i++)
		snprintf(want + strlen(want), sizeof(want) - strlen(want),
		         "%02x", md[i]);
	assert_int_equal(
	    mc_verify_leaf_describe(fx.leaf1, got, sizeof(got), &err), 0);
	assert_string_equal(got, want);
	assert_int_equal(
	    mc_verify_leaf_describe(fx.leaf1, small, sizeof(small), &err), -1);
	assert_non_null(strstr(err.msg, "does not fit"));
}

/* test_outcome_names - stable names of the outcomes. */
static void
test_outcome_names(void **state)
{
	(void)state;
	assert_string_equal(mc_verify_outcome_name(MC_PROBE_OK), "ok");
	assert_string_equal(mc_verify_outcome_name(MC_PROBE_STARTTLS_MISSING),
	                    "starttls-missing");
	assert_string_equal(mc_verify_outcome_name(MC_PROBE_PROTOCOL_ERROR),
	                    "protocol-error");
	assert_string_equal(mc_verify_outcome_name((enum mc_probe_outcome)42),
	                    "unknown");
	assert_true(mc_verify_outcome_transient(MC_PROBE_UNREACHABLE));
	assert_false(mc_verify_outcome_transient(MC_PROBE_STARTTLS_MISSING));
}

/* test_implicit_hint - imap:// pointed at a port that speaks TLS at once:
 * no greeting, then the hint names the implicit-TLS URL. */
static void
test_implicit_hint(void **state)
{
	struct mc_probe_opts opts;
	struct mc_probe_result res;
	struct mc_err err;
	char want[64];

	(void)state;
	mc_probe_opts_init(&opts);
	opts.io_timeout_ms = 500;
	opts.total_timeout_ms = 5000;
	mc_err_clear(&err);
	assert_int_equal(probe_url("imap", fx.port, &opts, &res, &err), 0);
	snprintf(want, sizeof(want), "use imaps://127.0.0.1:%u", fx.port);
	if (res.outcome != MC_PROBE_UNREACHABLE ||
	    strstr(res.reason, "IMAP greeting: no answer within 500 ms") ==
	        NULL ||
	    strstr(res.reason, want) == NULL || res.total_ms > 2500 ||
	    !res.implicit_tls)
		fail_msg("%s after %ld ms", res.reason, res.total_ms);
	mc_probe_result_clear(&res);
}

static const struct {
	const char *line;
	enum mc_server_kind kind;
} greeting_cases[] = {
    {"220 mx.example.com ESMTP Postfix (Debian/GNU)", MC_SERVER_POSTFIX},
    {"220-mx.example.com ESMTP Postfix", MC_SERVER_POSTFIX},
    {"220 mx.example.com ESMTP Exim 4.96 Mon, 01 Jan 2026 10:00:00 +0000",
     MC_SERVER_EXIM},
    {"* OK [CAPABILITY IMAP4rev1 STARTTLS] Dovecot (Debian) ready.",
     MC_SERVER_DOVECOT},
    {"+OK Dovecot (Debian) ready.", MC_SERVER_DOVECOT},
    {"\"IMPLEMENTATION\" \"Dovecot (Debian) Pigeonhole\"",
     MC_SERVER_DOVECOT},
    {"220 mail.test ESMTP mailcert-test", MC_SERVER_UNKNOWN},
    {"220 postfixed.example.com ESMTP", MC_SERVER_UNKNOWN},
    {"", MC_SERVER_UNKNOWN},
};

/* test_server_kind - the daemon from its greeting, and from a dialog. */
static void
test_server_kind(void **state)
{
	const char *const steps[] = {
	    "S220-mx.test ESMTP\r\n", "S220 mx.test ESMTP Exim 4.96\r\n",
	    "REHLO ", EHLO_OK, "RSTARTTLS", "S220 go\r\n", "T", NULL};
	struct mc_probe_result res;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(greeting_cases) / sizeof(greeting_cases[0]);
	     i++)
		if (mc_verify_server_kind(greeting_cases[i].line) !=
		    greeting_cases[i].kind)
			fail_msg("\"%s\"", greeting_cases[i].line);
	assert_string_equal(mc_verify_server_name(MC_SERVER_EXIM), "exim");
	assert_string_equal(mc_verify_server_name(MC_SERVER_UNKNOWN), "");
	run_script("greeting", "smtp", steps, &res);
	assert_int_equal(res.outcome, MC_PROBE_OK);
	assert_int_equal(res.server, MC_SERVER_EXIM);
	assert_string_equal(res.greeting, "220-mx.test ESMTP");
	mc_probe_result_clear(&res);
}

/* dual_server - s_server with an RSA and an ECDSA certificate (TLS 1.3
 * allowed, or TLS 1.2 only); its pid, port in *port. */
static pid_t
dual_server(const char *dir, bool tls12, unsigned short *port)
{
	char accept[32], rc[128], rk[128], ec[128], ek[128];
	char *argv[] = {"timeout", "60", "openssl", "s_server", "-quiet",
	                "-accept", accept, "-cert", rc, "-key", rk, "-dcert",
	                ec, "-dkey", ek, tls12 ? "-no_tls1_3" : NULL, NULL};
	posix_spawn_file_actions_t fa;
	pid_t pid = 0;
	int fd;

	snprintf(rc, sizeof(rc), "%s/rsa.pem", dir);
	snprintf(rk, sizeof(rk), "%s/rsa.key", dir);
	snprintf(ec, sizeof(ec), "%s/c1.pem", dir);
	snprintf(ek, sizeof(ek), "%s/k1.pem", dir);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	fd = loopback_listener(port);
	close(fd);
	snprintf(accept, sizeof(accept), "127.0.0.1:%u", *port);
	assert_int_equal(posix_spawnp(&pid, "timeout", &fa, NULL, argv,
	                              environ),
	                 0);
	posix_spawn_file_actions_destroy(&fa);
	assert_int_equal(wait_listening(*port), 0);
	return pid;
}

/* test_key_alg - ECDSA-only and RSA-only probes get the two certificates
 * of a dual endpoint (TLS 1.3 and TLS 1.2); a server without an RSA
 * certificate fails the RSA-only handshake. */
static void
test_key_alg(void **state)
{
	EVP_PKEY *rsa = EVP_RSA_gen(2048);
	X509 *rsa_leaf = cg_make("rsa.test", rsa, NULL, NULL, "DNS:rsa.test",
	                         -60, 86400, 3003);
	char path[128];
	struct mc_probe_opts opts;
	struct mc_probe_result res;
	struct mc_err err;
	unsigned short port;
	int tls12, alg;
	pid_t pid;

	(void)state;
	snprintf(path, sizeof(path), "%s/rsa.pem", fx.dir);
	write_pem(path, rsa_leaf, NULL);
	snprintf(path, sizeof(path), "%s/rsa.key", fx.dir);
	write_pem(path, NULL, rsa);
	for (tls12 = 0; tls12 <= 1; tls12++) {
		pid = dual_server(fx.dir, tls12, &port);
		for (alg = MC_KEY_ALG_ECDSA; alg <= MC_KEY_ALG_RSA; alg++) {
			mc_probe_opts_init(&opts);
			opts.key_alg = (enum mc_key_alg)alg;
			assert_int_equal(
			    probe_url("tls", port, &opts, &res, &err), 0);
			if (res.outcome != MC_PROBE_OK)
				fail_msg("%s, TLS 1.%d: %s",
				         mc_verify_key_alg_name(opts.key_alg),
				         tls12 ? 2 : 3, res.reason);
			assert_true(mc_verify_leaf_matches(
			    sk_X509_value(res.chain, 0),
			    alg == MC_KEY_ALG_RSA ? rsa_leaf : fx.leaf1));
			assert_string_equal(res.protocol,
			                    tls12 ? "TLSv1.2" : "TLSv1.3");
			mc_probe_result_clear(&res);
		}
		kill(pid, SIGTERM);
		waitpid(pid, NULL, 0);
	}
	mc_probe_opts_init(&opts);
	opts.key_alg = MC_KEY_ALG_RSA;
	assert_int_equal(probe_url("tls", fx.port, &opts, &res, &err), 0);
	assert_int_equal(res.outcome, MC_PROBE_TLS_FAILED);
	mc_probe_result_clear(&res);
	snprintf(path, sizeof(path), "%s/rsa.pem", fx.dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/rsa.key", fx.dir);
	unlink(path);
	X509_free(rsa_leaf);
	EVP_PKEY_free(rsa);
}

/* The resuming server: one SSL_CTX (session cache and tickets on), the
 * certificate of each connection chosen per SSL. */
#define RS_CONNS 4
struct resumer {
	int listen_fd;
	X509 *leaf[RS_CONNS];
	EVP_PKEY *key[RS_CONNS];
	int reused; /* connections the server resumed */
	int done;   /* handshakes completed */
};

/* rs_main - serve RS_CONNS connections one after the other (thread). */
static void *
rs_main(void *arg)
{
	struct resumer *rs = arg;
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	struct timeval tv = {.tv_sec = 5};
	sigset_t pipe;
	char buf[256];
	SSL *ssl;
	int i, fd;

	sigemptyset(&pipe);
	sigaddset(&pipe, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe, NULL);
	SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"rs", 2);
	for (i = 0; ctx != NULL && i < RS_CONNS; i++) {
		fd = accept(rs->listen_fd, NULL, NULL);
		if (fd == -1)
			break;
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		ssl = SSL_new(ctx);
		SSL_use_certificate(ssl, rs->leaf[i]);
		SSL_use_PrivateKey(ssl, rs->key[i]);
		SSL_set_fd(ssl, fd);
		if (SSL_accept(ssl) == 1) {
			rs->done++;
			rs->reused += SSL_session_reused(ssl);
			while (SSL_read(ssl, buf, sizeof(buf)) > 0)
				;
			SSL_shutdown(ssl);
		}
		SSL_free(ssl);
		close(fd);
	}
	SSL_CTX_free(ctx);
	return NULL;
}

/* test_cache_never_resumes - probes sharing their TLS contexts (two with
 * TLS 1.3, two with TLS 1.2; the server's certificate changes at each
 * connection) each see the certificate served at that moment, and the
 * server never resumes a session. */
static void
test_cache_never_resumes(void **state)
{
	struct resumer rs = {.listen_fd = -1};
	struct mc_probe_cache *cache;
	struct mc_probe_result res;
	struct mc_probe_opts opts;
	struct mc_err err;
	EVP_PKEY *k2 = EVP_EC_gen("P-256");
	X509 *leaf2 = cg_make("other.test", k2, NULL, NULL, "DNS:other.test",
	                      -60, 86400, 3003);
	unsigned short port;
	pthread_t th;
	int i;

	(void)state;
	cache = mc_probe_cache_new(&err);
	assert_non_null(cache);
	for (i = 0; i < RS_CONNS; i++) {
		rs.leaf[i] = i % 2 ? leaf2 : fx.leaf1;
		rs.key[i] = i % 2 ? k2 : fx.pkey1;
	}
	rs.listen_fd = loopback_listener(&port);
	assert_int_equal(pthread_create(&th, NULL, rs_main, &rs), 0);
	for (i = 0; i < RS_CONNS; i++) {
		mc_probe_opts_init(&opts);
		opts.cache = cache;
		opts.max_version = i < RS_CONNS / 2 ? 0 : TLS1_2_VERSION;
		assert_int_equal(probe_url("tls", port, &opts, &res, &err), 0);
		if (res.outcome != MC_PROBE_OK)
			fail_msg("probe %d: %s", i, res.reason);
		assert_string_equal(res.protocol,
		                    i < RS_CONNS / 2 ? "TLSv1.3" : "TLSv1.2");
		if (res.chain == NULL ||
		    !mc_verify_leaf_matches(sk_X509_value(res.chain, 0),
		                            rs.leaf[i]))
			fail_msg("probe %d: not the certificate served now", i);
		mc_probe_result_clear(&res);
	}
	pthread_join(th, NULL);
	close(rs.listen_fd);
	mc_probe_cache_free(cache);
	X509_free(leaf2);
	EVP_PKEY_free(k2);
	assert_int_equal(rs.done, RS_CONNS);
	assert_int_equal(rs.reused, 0);
}

/* What the threads of test_cache_threads share. */
struct cache_run {
	struct mc_probe_cache *cache;
	int ok[8];
};

/* cache_item - probe s_server with SNI "sni.test" (even items) or without
 * (odd), TLS 1.2 or any version: four option sets (pool item). */
static int
cache_item(void *arg, size_t i, struct mc_err *err)
{
	struct cache_run *cr = arg;
	struct mc_probe_result res;
	struct mc_probe_opts opts;
	X509 *want = i % 2 ? fx.leaf1 : fx.leaf2;

	mc_probe_opts_init(&opts);
	opts.cache = cr->cache;
	opts.servername = i % 2 ? NULL : "sni.test";
	opts.max_version = i % 4 < 2 ? TLS1_2_VERSION : 0;
	opts.want_ocsp = i % 3 == 0;
	if (probe_url("tls", fx.port, &opts, &res, err) == -1)
		return -1;
	cr->ok[i] = res.outcome == MC_PROBE_OK && res.chain != NULL &&
	            mc_verify_leaf_matches(sk_X509_value(res.chain, 0), want);
	mc_probe_result_clear(&res);
	return 0;
}

/* test_cache_threads - one cache, four threads, per-probe SNI. */
static void
test_cache_threads(void **state)
{
	struct cache_run cr = {0};
	struct mc_err err;
	size_t i;

	(void)state;
	cr.cache = mc_probe_cache_new(&err);
	assert_non_null(cr.cache);
	if (mc_pool_run(8, 4, cache_item, &cr, &err) == -1)
		fail_msg("%s", err.msg);
	mc_probe_cache_free(cr.cache);
	for (i = 0; i < 8; i++)
		if (!cr.ok[i])
			fail_msg("probe %zu: wrong or no certificate", i);
}

/* test_cache_bad_opts - a rejected option set is an error every time, and
 * the cache still serves good ones after it. */
static void
test_cache_bad_opts(void **state)
{
	struct mc_probe_cache *cache = mc_probe_cache_new(NULL);
	struct mc_probe_result res;
	struct mc_probe_opts opts;
	struct mc_err err;
	int i;

	(void)state;
	assert_non_null(cache);
	mc_probe_cache_free(NULL);
	for (i = 0; i < 3; i++) {
		mc_probe_opts_init(&opts);
		opts.cache = cache;
		opts.cipher_list = i < 2 ? "NO-SUCH-CIPHER" : NULL;
		mc_err_clear(&err);
		if (i < 2) {
			assert_int_equal(probe_url("tls", fx.port, &opts, &res,
			                           &err),
			                 -1);
			assert_int_equal(err.cat, MC_ERR_USAGE);
			continue;
		}
		assert_int_equal(probe_url("tls", fx.port, &opts, &res, &err),
		                 0);
		assert_int_equal(res.outcome, MC_PROBE_OK);
		mc_probe_result_clear(&res);
	}
	mc_probe_cache_free(cache);
}

/* A probe in its own thread (test_limit_wait). */
struct limit_probe {
	struct mc_probe_opts opts;
	struct mc_probe_result res;
	unsigned short port;
	int rc;
	pthread_mutex_t lock;
	bool done;
};

/* limit_probe_main - probe tls://127.0.0.1:port, then say so. */
static void *
limit_probe_main(void *arg)
{
	struct limit_probe *lp = arg;
	struct mc_endpoint ep;
	char url[64];
	int rc = -1;

	snprintf(url, sizeof(url), "tls://127.0.0.1:%u", lp->port);
	if (mc_addr_endpoint_parse(url, &ep, NULL) == 0)
		rc = mc_verify_probe(&ep, &lp->opts, &lp->res, NULL);

	pthread_mutex_lock(&lp->lock);
	lp->rc = rc;
	lp->done = true;
	pthread_mutex_unlock(&lp->lock);
	return NULL;
}

/* limit_probe_done - whether the probe thread has returned. */
static bool
limit_probe_done(struct limit_probe *lp)
{
	bool done;

	pthread_mutex_lock(&lp->lock);
	done = lp->done;
	pthread_mutex_unlock(&lp->lock);
	return done;
}

/* limit_wait_one - with the one slot of 127.0.0.1 held for twice the
 * probe's whole budget, the probe waits, then succeeds (the wait is not
 * the peer's time). */
static void
limit_wait_one(struct mc_limit *limit)
{
	const struct timespec pause = {0, 600 * 1000 * 1000};
	struct limit_probe lp = {.lock = PTHREAD_MUTEX_INITIALIZER};
	struct mc_limit_slot *held;
	pthread_t t;

	held = mc_limit_take(limit, "127.0.0.1", NULL);
	assert_non_null(held);
	mc_probe_opts_init(&lp.opts);
	lp.opts.limit = limit;
	lp.opts.connect_timeout_ms = lp.opts.io_timeout_ms = 300;
	lp.opts.total_timeout_ms = 300;
	lp.port = fx.port;
	assert_int_equal(pthread_create(&t, NULL, limit_probe_main, &lp), 0);
	nanosleep(&pause, NULL);
	if (limit_probe_done(&lp))
		fail_msg("the probe connected while the only slot was held "
		         "(%s)", lp.res.reason);
	mc_limit_give(held);
	pthread_join(t, NULL);
	assert_int_equal(lp.rc, 0);
	if (lp.res.outcome != MC_PROBE_OK)
		fail_msg("after the wait: %s \"%s\"",
		         mc_verify_outcome_name(lp.res.outcome), lp.res.reason);
	mc_probe_result_clear(&lp.res);
}

/* test_limit_wait - a probe under the run's limit waits for its slot
 * (limit_wait_one); a probe of a closed port
 * gives its slot back too (mc_limit_free aborts on a slot never given
 * back). */
static void
test_limit_wait(void **state)
{
	struct mc_limit *limit = mc_limit_new(1, NULL);
	struct mc_probe_result res;
	struct mc_probe_opts opts;
	unsigned short closed;

	(void)state;
	assert_non_null(limit);
	limit_wait_one(limit);
	mc_probe_opts_init(&opts);
	opts.limit = limit;
	close(loopback_listener(&closed)); /* a port nobody listens on */
	assert_int_equal(probe_url("tls", closed, &opts, &res, NULL), 0);
	assert_int_equal(res.outcome, MC_PROBE_UNREACHABLE);
	assert_int_equal(probe_url("tls", fx.port, &opts, &res, NULL), 0);
	assert_int_equal(res.outcome, MC_PROBE_OK);
	mc_probe_result_clear(&res);
	mc_limit_free(limit);
}

/* test_connect_timeout - a connection that does not complete (the
 * server's accept queue is full: the kernel drops the SYN) fails after
 * the connect timeout, timed out. */
static void
test_connect_timeout(void **state)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	struct mc_probe_opts opts;
	struct mc_probe_result res;
	struct mc_err err;
	socklen_t len = sizeof(sa);
	int lfd, filler;

	(void)state;
	/* backlog 0: one connection fills the queue, the next SYN is dropped */
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(lfd >= 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(lfd, 0), 0);
	assert_int_equal(getsockname(lfd, (struct sockaddr *)&sa, &len), 0);
	filler = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(filler >= 0);
	assert_int_equal(connect(filler, (struct sockaddr *)&sa, sizeof(sa)), 0);
	mc_probe_opts_init(&opts);
	opts.connect_timeout_ms = 300;
	opts.total_timeout_ms = 5000;
	mc_err_clear(&err);
	assert_int_equal(
	    probe_url("smtp", ntohs(sa.sin_port), &opts, &res, &err), 0);
	if (res.outcome != MC_PROBE_UNREACHABLE ||
	    strstr(res.reason, "timed out") == NULL || !res.timed_out ||
	    res.total_ms < 250 || res.total_ms > 500)
		fail_msg("%s \"%s\" after %ld ms",
		         mc_verify_outcome_name(res.outcome), res.reason,
		         res.total_ms);
	mc_probe_result_clear(&res);
	close(filler);
	close(lfd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_tls_s_server),
	    cmocka_unit_test(test_dialogs),
	    cmocka_unit_test(test_greetings),
	    cmocka_unit_test(test_timeouts),
	    cmocka_unit_test(test_bad_opts),
	    cmocka_unit_test(test_leaf_helpers),
	    cmocka_unit_test(test_outcome_names),
	    cmocka_unit_test(test_implicit_hint),
	    cmocka_unit_test(test_server_kind),
	    cmocka_unit_test(test_key_alg),
	    cmocka_unit_test(test_cache_never_resumes),
	    cmocka_unit_test(test_cache_threads),
	    cmocka_unit_test(test_cache_bad_opts),
	    cmocka_unit_test(test_connect_timeout),
	    cmocka_unit_test(test_limit_wait),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
