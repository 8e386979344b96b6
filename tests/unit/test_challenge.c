/*
 * test_challenge.c - the challenge responders on 127.0.0.1: bad listen
 * addresses and busy ports at start (the address syntax: test_addr), the
 * http-01 responder (fetched through core's
 * transport) and webroot files, the
 * tls-alpn-01 responder (OpenSSL client: SAN, critical
 * acmeIdentifier, ALPN; refused hellos), the dns-01 value and hook.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "acme/chall_int.h"
#include "acme/challenge.h"
#include "mailcert/config.h"
#include "mailcert/http.h"
#include "mailcert/proc.h"
#include "tests/unit/testnet.h"

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))
#define KA_A "tokA_-1.thumbprintAAAA"
#define KA_B "tokB.thumbprintBBBB"
#define KA_C "tokC.thumbprintCCCC"
#define KA_D "tokD.thumbprintDDDD"
#define V6_REV                                                                 \
	"5.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa"

/* check_err - err has cat and contains frag. */
static void
check_err(const char *label, const struct mc_err *err, enum mc_err_cat cat,
	  const char *frag)
{
	if (err->cat != cat)
		fail_msg("%s: category %d, want %d (%s)", label, err->cat, cat,
			 err->msg);
	if (strstr(err->msg, frag) == NULL)
		fail_msg("%s: \"%s\" lacks \"%s\"", label, err->msg, frag);
}

/* sh_run - run a shell command line of the test itself; its exit code. */
static int
sh_run(const char *cmd)
{
	const char *argv[] = {"/bin/sh", "-c", cmd, NULL};
	struct mc_proc_result res;
	struct mc_err err;
	int rc;

	memset(&res, 0, sizeof(res));
	if (mc_proc_run(argv, NULL, 30, &res, &err) == -1)
		fail_msg("%s: %s", cmd, err.msg);
	rc = res.signaled || res.timed_out ? -1 : res.exit_code;
	mc_proc_result_clear(&res);
	return rc;
}

/* test_start_errors - bad addresses and busy ports reach both starts. */
static void
test_start_errors(void **state)
{
	static const char *const bad[] = {"garbage", "example.com:80",
					  "127.0.0.1:99999", ""};
	char busy[64];
	struct acme_http01 *h;
	struct mc_err err;
	size_t i;

	(void)state;
	for (i = 0; i < N_OF(bad); i++) {
		assert_null(acme_http01_start(bad[i], NULL, &err));
		check_err(bad[i], &err, MC_ERR_CONFIG, "http-01 responder: ");
		assert_null(acme_http01_start(bad[i], "", &err));
		check_err(bad[i], &err, MC_ERR_CONFIG, "http-01 responder: ");
		assert_null(acme_tlsalpn01_start(bad[i], &err));
		check_err(bad[i], &err, MC_ERR_CONFIG, "tls-alpn-01 responder: ");
	}
	snprintf(busy, sizeof(busy), "127.0.0.1:%d", tn_free_port());
	h = acme_http01_start(busy, NULL, &err);
	assert_non_null(h);
	assert_null(acme_http01_start(busy, NULL, &err));
	check_err("busy http", &err, MC_ERR_SYS, "Address already in use");
	assert_non_null(strstr(err.msg, busy));
	assert_null(acme_tlsalpn01_start(busy, &err));
	check_err("busy alpn", &err, MC_ERR_SYS, "cannot bind");
	acme_http01_stop(h);
	h = acme_http01_start(busy, NULL, &err); /* stop released the port */
	assert_non_null(h);
	acme_http01_stop(h);
	acme_http01_stop(NULL);
	acme_tlsalpn01_stop(NULL);
}

/* ---- http-01 responder ---- */

struct fetch {
	long status;
	char body[512];
	size_t len;
	char ctype[64];
};

/* fetch - request path from the responder on port (through the one
 * transport, plain http); 0, or -1 when the request failed. */
static int
fetch(int port, const char *method, const char *path, struct fetch *f)
{
	static const char *const form[] = {
		"Content-Type: application/x-www-form-urlencoded", NULL};
	struct mc_http_req req = {0};
	struct mc_http_resp r = {0};
	struct mc_http *http;
	struct mc_err err;
	char url[512];
	int rc;

	memset(f, 0, sizeof(*f));
	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
	req.method = method;
	req.url = url;
	req.allow_http = true;
	req.timeout_ms = 5000;
	req.max_body = sizeof(f->body) - 1;
	if (strcmp(method, "POST") == 0) {
		req.body = "x=1";
		req.body_len = 3;
		req.headers = form;
	}
	http = mc_http_new(NULL, &err);
	assert_non_null(http);
	rc = mc_http_request(http, &req, &r, &err);
	if (rc == 0) {
		f->status = r.status;
		f->len = r.body_len;
		memcpy(f->body, r.body, r.body_len + 1);
		snprintf(f->ctype, sizeof(f->ctype), "%s",
			 r.content_type ? r.content_type : "");
	}
	mc_http_resp_clear(&r);
	mc_http_free(http);
	return rc;
}

static const struct {
	const char *label;
	const char *method;
	const char *path;
	long status;
	const char *body; /* NULL: not checked */
} http_cases[] = {
	{"token A", "GET", "/.well-known/acme-challenge/tokA_-1", 200, KA_A},
	{"token B", "GET", "/.well-known/acme-challenge/tokB", 200, KA_B},
	{"query ignored", "GET", "/.well-known/acme-challenge/tokB?x=1", 200, KA_B},
	{"HEAD", "HEAD", "/.well-known/acme-challenge/tokB", 200, ""},
	{"unknown token", "GET", "/.well-known/acme-challenge/tokC", 404, NULL},
	{"token prefix", "GET", "/.well-known/acme-challenge/tok", 404, NULL},
	{"token plus suffix", "GET", "/.well-known/acme-challenge/tokB/x", 404, NULL},
	{"empty token", "GET", "/.well-known/acme-challenge/", 404, NULL},
	{"other path", "GET", "/", 404, NULL},
	{"other well-known", "GET", "/.well-known/tokB", 404, NULL},
	{"POST", "POST", "/.well-known/acme-challenge/tokB", 404, NULL},
	{"traversal", "GET", "/.well-known/acme-challenge/../tokB", 404, NULL},
};

static const struct {
	const char *label;
	const char *token;
	const char *keyauth;
	const char *frag;
} add_bad_cases[] = {
	{"empty token", "", KA_A, "malformed token"},
	{"NULL token", NULL, KA_A, "malformed token"},
	{"slash", "a/b", KA_A, "malformed token"},
	{"dot dot", "..", KA_A, "malformed token"},
	{"blank", "a b", KA_A, "malformed token"},
	{"empty keyauth", "tokZ", "", "malformed key authorization"},
	{"NULL keyauth", "tokZ", NULL, "malformed key authorization"},
	{"newline keyauth", "tokZ", "a\nb", "malformed key authorization"},
};

/* test_http01 - every row of http_cases, then bad adds, then stop. */
static void
test_http01(void **state)
{
	struct acme_http01 *h;
	struct fetch f;
	struct mc_err err;
	char listen[64];
	int port = tn_free_port();
	size_t i;

	(void)state;
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
	h = acme_http01_start(listen, NULL, &err);
	assert_non_null(h);
	assert_int_equal(acme_http01_add(h, "tokA_-1", KA_A, &err), 0);
	assert_int_equal(acme_http01_add(h, "tokB", "old", &err), 0);
	assert_int_equal(acme_http01_add(h, "tokB", KA_B, &err), 0); /* replaces */
	for (i = 0; i < N_OF(http_cases); i++) {
		print_message("http-01: %s\n", http_cases[i].label);
		assert_int_equal(fetch(port, http_cases[i].method,
				       http_cases[i].path, &f), 0);
		if (f.status != http_cases[i].status)
			fail_msg("%s: HTTP %ld, want %ld", http_cases[i].label,
				 f.status, http_cases[i].status);
		if (http_cases[i].body != NULL)
			assert_string_equal(f.body, http_cases[i].body);
		if (f.status == 200)
			assert_string_equal(f.ctype, "text/plain");
	}
	for (i = 0; i < N_OF(add_bad_cases); i++) {
		print_message("http-01 add: %s\n", add_bad_cases[i].label);
		assert_int_equal(acme_http01_add(h, add_bad_cases[i].token,
						 add_bad_cases[i].keyauth, &err), -1);
		check_err(add_bad_cases[i].label, &err, MC_ERR_INPUT,
			  add_bad_cases[i].frag);
	}
	acme_http01_stop(h);
	assert_int_equal(fetch(port, "GET", "/.well-known/acme-challenge/tokB",
			       &f), -1);
}

/* ---- http-01 webroot ---- */

/* file_mode - the permission bits of path, or -1. */
static int
file_mode(const char *path)
{
	struct stat st;

	if (lstat(path, &st) == -1)
		return -1;
	return (int)(st.st_mode & 07777);
}

/* path_of - root/rel into buf. */
static const char *
path_of(char *buf, size_t size, const char *root, const char *rel)
{
	snprintf(buf, size, "%s/%s", root, rel);
	return buf;
}

/* test_webroot_fresh - folders made, 0644 files, all removed at stop. */
static void
test_webroot_fresh(void **state)
{
	char root[] = "/tmp/mc-webroot-XXXXXX", p[256], buf[256];
	struct acme_http01 *h;
	struct mc_err err;
	mode_t old = umask(077);
	FILE *fp;

	(void)state;
	assert_non_null(mkdtemp(root));
	h = acme_http01_start("127.0.0.1:1", root, &err); /* listen is ignored */
	assert_non_null(h);
	assert_int_equal(file_mode(path_of(p, sizeof(p), root, ".well-known")), 0755);
	assert_int_equal(file_mode(path_of(p, sizeof(p), root,
					   ".well-known/acme-challenge")), 0755);
	assert_int_equal(acme_http01_add(h, "tokA_-1", KA_A, &err), 0);
	assert_int_equal(acme_http01_add(h, "tokB", KA_B, &err), 0);
	assert_int_equal(acme_http01_add(h, "../x", KA_B, &err), -1);
	path_of(p, sizeof(p), root, ".well-known/acme-challenge/tokA_-1");
	assert_int_equal(file_mode(p), 0644);
	fp = fopen(p, "r");
	assert_non_null(fp);
	assert_non_null(fgets(buf, sizeof(buf), fp));
	fclose(fp);
	assert_string_equal(buf, KA_A);
	assert_int_equal(file_mode(path_of(p, sizeof(p), root,
					   ".well-known/acme-challenge/tokB")), 0644);
	acme_http01_stop(h);
	umask(old);
	assert_int_equal(file_mode(path_of(p, sizeof(p), root, ".well-known")), -1);
	assert_int_equal(rmdir(root), 0); /* empty again */
}

/* test_webroot_existing - existing folders and foreign files stay. */
static void
test_webroot_existing(void **state)
{
	char root[] = "/tmp/mc-webroot-XXXXXX", p[256];
	struct acme_http01 *h;
	struct mc_err err;
	int fd;

	(void)state;
	assert_non_null(mkdtemp(root));
	assert_int_equal(mkdir(path_of(p, sizeof(p), root, ".well-known"), 0700), 0);
	assert_int_equal(mkdir(path_of(p, sizeof(p), root,
				       ".well-known/acme-challenge"), 0750), 0);
	fd = open(path_of(p, sizeof(p), root, ".well-known/acme-challenge/keep"),
		  O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	close(fd);
	h = acme_http01_start(NULL, root, &err);
	assert_non_null(h);
	assert_int_equal(file_mode(path_of(p, sizeof(p), root,
					   ".well-known/acme-challenge")), 0750);
	assert_int_equal(acme_http01_add(h, "tokB", KA_B, &err), 0);
	acme_http01_stop(h);
	assert_int_equal(file_mode(path_of(p, sizeof(p), root,
					   ".well-known/acme-challenge/tokB")), -1);
	assert_int_equal(unlink(path_of(p, sizeof(p), root,
					".well-known/acme-challenge/keep")), 0);
	assert_int_equal(rmdir(path_of(p, sizeof(p), root,
				       ".well-known/acme-challenge")), 0);
	assert_int_equal(rmdir(path_of(p, sizeof(p), root, ".well-known")), 0);
	assert_int_equal(rmdir(root), 0);
}

static const struct {
	const char *label;
	const char *setup; /* shell run in the temp dir first */
	const char *webroot; /* relative to the temp dir */
	int fail_at;       /* 1: start fails, 2: add fails */
	enum mc_err_cat cat;
	const char *frag;
} webroot_bad_cases[] = {
	{"missing webroot", "true", "nope", 1, MC_ERR_SYS,
	 "No such file or directory"},
	{"webroot is a file", "touch f", "f", 1, MC_ERR_SYS, "is not a directory"},
	{".well-known is a file", "mkdir w && touch w/.well-known", "w", 1,
	 MC_ERR_SYS, ".well-known exists and is not a directory"},
	{"acme-challenge is a file",
	 "mkdir -p w/.well-known && touch w/.well-known/acme-challenge", "w", 1,
	 MC_ERR_SYS, "acme-challenge exists and is not a directory"},
	{"webroot below a file", "touch f", "f/w", 1, MC_ERR_SYS,
	 "Not a directory"},
	{"acme-challenge is a symlink",
	 "mkdir -p w/.well-known elsewhere && ln -s ../../elsewhere "
	 "w/.well-known/acme-challenge",
	 "w", 2, MC_ERR_SYS, "http-01 webroot: cannot open directory"},
	{"token file is a symlink",
	 "mkdir -p w/.well-known/acme-challenge && ln -s /etc/passwd "
	 "w/.well-known/acme-challenge/tokB",
	 "w", 2, MC_ERR_INPUT, "is a symbolic link"},
};

/* test_webroot_errors - every row of webroot_bad_cases. */
static void
test_webroot_errors(void **state)
{
	char root[] = "/tmp/mc-webroot-XXXXXX", cmd[512], wr[256];
	struct acme_http01 *h;
	struct mc_err err;
	size_t i;

	(void)state;
	for (i = 0; i < N_OF(webroot_bad_cases); i++) {
		print_message("webroot: %s\n", webroot_bad_cases[i].label);
		snprintf(root, sizeof(root), "/tmp/mc-webroot-XXXXXX");
		assert_non_null(mkdtemp(root));
		snprintf(cmd, sizeof(cmd), "cd %s && %s", root, webroot_bad_cases[i].setup);
		assert_int_equal(sh_run(cmd), 0);
		path_of(wr, sizeof(wr), root, webroot_bad_cases[i].webroot);
		h = acme_http01_start(NULL, wr, &err);
		if (webroot_bad_cases[i].fail_at == 1) {
			assert_null(h);
			check_err(webroot_bad_cases[i].label, &err,
				  webroot_bad_cases[i].cat, webroot_bad_cases[i].frag);
		} else {
			assert_non_null(h);
			assert_int_equal(acme_http01_add(h, "tokB", KA_B, &err), -1);
			check_err(webroot_bad_cases[i].label, &err,
				  webroot_bad_cases[i].cat, webroot_bad_cases[i].frag);
			acme_http01_stop(h);
		}
		snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
		assert_int_equal(sh_run(cmd), 0);
	}
}

/* ---- tls-alpn-01 ---- */

struct alpn_client {
	const char *sni;    /* NULL: none */
	const char *alpn;   /* wire format, NULL: none */
	size_t alpn_len;
	int max_version;    /* 0: any */
};

/* alpn_connect - a TCP connection to 127.0.0.1:port with timeouts. */
static int
alpn_connect(int port)
{
	struct timeval tv = {5, 0};
	struct sockaddr_in a;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((unsigned short)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/* alpn_handshake - handshake as cl; the peer certificate (new) or NULL,
 * with the negotiated protocol in proto. */
static X509 *
alpn_handshake(int port, const struct alpn_client *cl, char *proto, size_t size)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	const unsigned char *sel = NULL;
	unsigned int sel_len = 0;
	X509 *peer = NULL;
	SSL *ssl;
	int fd = alpn_connect(port);

	proto[0] = '\0';
	assert_non_null(ctx);
	if (fd == -1) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_security_level(ctx, 0); /* let old versions be offered */
	if (cl->max_version != 0)
		SSL_CTX_set_max_proto_version(ctx, cl->max_version);
	ssl = SSL_new(ctx);
	SSL_set_fd(ssl, fd);
	if (cl->sni != NULL)
		SSL_set_tlsext_host_name(ssl, cl->sni);
	if (cl->alpn != NULL)
		SSL_set_alpn_protos(ssl, (const unsigned char *)cl->alpn,
				    (unsigned int)cl->alpn_len);
	if (SSL_connect(ssl) == 1) {
		peer = SSL_get1_peer_certificate(ssl);
		SSL_get0_alpn_selected(ssl, &sel, &sel_len);
		snprintf(proto, size, "%.*s", (int)sel_len, sel ? (const char *)sel : "");
	}
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	close(fd);
	return peer;
}

/* check_alpn_cert - the certificate RFC 8737 asks for name and keyauth. */
static void
check_alpn_cert(X509 *cert, const char *name, const char *keyauth)
{
	ASN1_OBJECT *obj = OBJ_txt2obj("1.3.6.1.5.5.7.1.31", 1);
	unsigned char want[34];
	unsigned int n = 0;
	GENERAL_NAMES *gens;
	const GENERAL_NAME *g;
	X509_EXTENSION *ext;
	const ASN1_OCTET_STRING *data;
	int at;

	unsigned char addr[16];
	size_t alen = mc_name_ip(name, addr);

	gens = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	assert_non_null(gens);
	assert_int_equal(sk_GENERAL_NAME_num(gens), 1);
	g = sk_GENERAL_NAME_value(gens, 0);
	if (alen != 0) { /* RFC 8738 section 6: the address as iPAddress */
		assert_int_equal(g->type, GEN_IPADD);
		assert_int_equal(ASN1_STRING_length(g->d.iPAddress), (int)alen);
		assert_memory_equal(ASN1_STRING_get0_data(g->d.iPAddress), addr,
				    alen);
	} else {
		assert_int_equal(g->type, GEN_DNS);
		assert_string_equal(
		    (const char *)ASN1_STRING_get0_data(g->d.dNSName), name);
	}
	GENERAL_NAMES_free(gens);
	at = X509_get_ext_by_OBJ(cert, obj, -1);
	ASN1_OBJECT_free(obj);
	assert_true(at >= 0);
	ext = X509_get_ext(cert, at);
	assert_int_equal(X509_EXTENSION_get_critical(ext), 1);
	data = X509_EXTENSION_get_data(ext);
	want[0] = 0x04;
	want[1] = 0x20;
	assert_int_equal(EVP_Digest(keyauth, strlen(keyauth), want + 2, &n,
				    EVP_sha256(), NULL), 1);
	assert_int_equal(ASN1_STRING_length(data), 34);
	assert_memory_equal(ASN1_STRING_get0_data(data), want, 34);
	assert_int_equal(X509_verify(cert, X509_get0_pubkey(cert)), 1);
	assert_int_equal(EVP_PKEY_get_base_id(X509_get0_pubkey(cert)), EVP_PKEY_EC);
}

#define ACME_ALPN "\x0a" "acme-tls/1"
#define H2_ALPN "\x02" "h2"

static const struct {
	const char *label;
	struct alpn_client cl;
	const char *want_name; /* NULL: handshake must fail */
	const char *keyauth;
} alpn_cases[] = {
	{"mail by SNI", {"mail.example.test", ACME_ALPN, 11, 0},
	 "mail.example.test", KA_A},
	{"imap by SNI", {"imap.example.test", ACME_ALPN, 11, 0},
	 "imap.example.test", KA_B},
	{"SNI in capitals", {"MAIL.Example.TEST", ACME_ALPN, 11, 0},
	 "mail.example.test", KA_A},
	{"acme-tls/1 second", {"mail.example.test", H2_ALPN ACME_ALPN, 14, 0},
	 "mail.example.test", KA_A},
	{"TLS 1.2", {"imap.example.test", ACME_ALPN, 11, TLS1_2_VERSION},
	 "imap.example.test", KA_B},
	{"no ALPN", {"mail.example.test", NULL, 0, 0}, NULL, NULL},
	{"only h2", {"mail.example.test", H2_ALPN, 3, 0}, NULL, NULL},
	{"no ALPN, TLS 1.2", {"mail.example.test", NULL, 0, TLS1_2_VERSION},
	 NULL, NULL},
	{"unknown name", {"smtp.example.test", ACME_ALPN, 11, 0}, NULL, NULL},
	{"name prefix", {"mail.example", ACME_ALPN, 11, 0}, NULL, NULL},
	{"no SNI", {NULL, ACME_ALPN, 11, 0}, NULL, NULL},
	{"TLS 1.1 only", {"mail.example.test", ACME_ALPN, 11, TLS1_1_VERSION},
	 NULL, NULL},
	{"IPv4 by reverse name", {"25.2.0.192.in-addr.arpa", ACME_ALPN, 11, 0},
	 "192.0.2.25", KA_C},
	{"IPv4 reverse name, trailing dot",
	 {"25.2.0.192.in-addr.arpa.", ACME_ALPN, 11, 0}, "192.0.2.25", KA_C},
	{"IPv6 by reverse name", {V6_REV, ACME_ALPN, 11, 0}, "2001:db8::25",
	 KA_D},
	{"IPv4 literal as SNI", {"192.0.2.25", ACME_ALPN, 11, 0}, NULL, NULL},
	{"reverse name of another address",
	 {"26.2.0.192.in-addr.arpa", ACME_ALPN, 11, 0}, NULL, NULL},
};

static const struct {
	const char *label;
	const char *name;
	const char *keyauth;
	const char *frag;
} alpn_bad_cases[] = {
	{"wildcard", "*.example.test", KA_A, "not a DNS name"},
	{"empty name", "", KA_A, "not a DNS name"},
	{"NULL name", NULL, KA_A, "not a DNS name"},
	{"blank in name", "mail example", KA_A, "not a DNS name"},
	{"leading dot", ".example.test", KA_A, "not a DNS name"},
	{"bracketed IPv6", "[2001:db8::25]", KA_A, "not a DNS name"},
	{"empty keyauth", "mail.example.test", "", "empty key authorization"},
	{"NULL keyauth", "mail.example.test", NULL, "empty key authorization"},
};

/* alpn_run_cases - every row of alpn_cases against the responder on port. */
static void
alpn_run_cases(int port)
{
	char proto[32];
	X509 *cert;
	size_t i;

	for (i = 0; i < N_OF(alpn_cases); i++) {
		print_message("tls-alpn-01: %s\n", alpn_cases[i].label);
		cert = alpn_handshake(port, &alpn_cases[i].cl, proto, sizeof(proto));
		if (alpn_cases[i].want_name == NULL) {
			if (cert != NULL)
				fail_msg("%s: handshake succeeded", alpn_cases[i].label);
			continue;
		}
		if (cert == NULL)
			fail_msg("%s: handshake failed", alpn_cases[i].label);
		assert_string_equal(proto, "acme-tls/1");
		check_alpn_cert(cert, alpn_cases[i].want_name, alpn_cases[i].keyauth);
		X509_free(cert);
	}
}

/* test_tlsalpn01 - the rows, a stalled client, bad adds, stop. */
static void
test_tlsalpn01(void **state)
{
	const struct alpn_client mail = {"mail.example.test", ACME_ALPN, 11, 0};
	struct acme_tlsalpn01 *t;
	struct mc_err err;
	char listen[64], proto[32];
	int port = tn_free_port(), stall;
	X509 *cert;
	size_t i;

	(void)state;
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
	t = acme_tlsalpn01_start(listen, &err);
	assert_non_null(t);
	assert_int_equal(acme_tlsalpn01_add(t, "mail.example.test", "stale", &err), 0);
	assert_int_equal(acme_tlsalpn01_add(t, "mail.example.test", KA_A, &err), 0);
	assert_int_equal(acme_tlsalpn01_add(t, "imap.example.test", KA_B, &err), 0);
	assert_int_equal(acme_tlsalpn01_add(t, "192.0.2.25", KA_C, &err), 0);
	assert_int_equal(acme_tlsalpn01_add(t, "2001:db8::25", KA_D, &err), 0);
	stall = alpn_connect(port); /* says nothing; must not block the others */
	assert_true(stall >= 0);
	alpn_run_cases(port);
	close(stall);
	for (i = 0; i < N_OF(alpn_bad_cases); i++) {
		print_message("tls-alpn-01 add: %s\n", alpn_bad_cases[i].label);
		assert_int_equal(acme_tlsalpn01_add(t, alpn_bad_cases[i].name,
						    alpn_bad_cases[i].keyauth, &err), -1);
		check_err(alpn_bad_cases[i].label, &err, MC_ERR_INPUT,
			  alpn_bad_cases[i].frag);
	}
	acme_tlsalpn01_stop(t);
	cert = alpn_handshake(port, &mail, proto, sizeof(proto));
	assert_null(cert);
}

/* test_tlsalpn01_sni - the SNI name expected for each identifier. */
static void
test_tlsalpn01_sni(void **state)
{
	static const struct {
		const char *ident;
		size_t size;
		const char *want; /* NULL: -1 */
	} rows[] = {
		{"mail.example.test", 254, "mail.example.test"},
		{"192.0.2.25", 254, "25.2.0.192.in-addr.arpa"},
		{"10.0.0.1", 73, "1.0.0.10.in-addr.arpa"},
		{"2001:db8::25", 73, V6_REV},
		{"::1", 73, "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0."
			    "0.0.0.0.0.ip6.arpa"},
		{"2001:db8::25", 72, NULL},
		{"mail.example.test", 5, NULL},
	};
	char buf[300];
	size_t i;

	(void)state;
	for (i = 0; i < N_OF(rows); i++) {
		print_message("tls-alpn-01 SNI: %s (%zu)\n", rows[i].ident,
			      rows[i].size);
		if (rows[i].want == NULL) {
			assert_int_equal(acme_tlsalpn01_sni(rows[i].ident, buf,
							    rows[i].size), -1);
			continue;
		}
		assert_int_equal(acme_tlsalpn01_sni(rows[i].ident, buf,
						    rows[i].size), 0);
		assert_string_equal(buf, rows[i].want);
	}
}

/* ---- dns-01 ---- */

static const struct {
	const char *keyauth;
	const char *value; /* NULL: error */
} dns_value_cases[] = {
	{"token.thumbprint", "61rBZ_4knHblO0MNoxFsXZ_eTFUHum0B6IVRbhvUn5I"},
	{"LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0."
	 "9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI",
	 "LPsIwTo7o8BoG0-vjCyGQGBWSVIPxI-i_X336eUOQZo"},
	{"a", "ypeBEsobvcr6wjGzmiPcTaeG7_gUfE5yuYB3ha_uSLs"},
	{"", NULL},
	{NULL, NULL},
};

/* test_dns01_value - every row of dns_value_cases. */
static void
test_dns01_value(void **state)
{
	struct mc_err err;
	char *v;
	size_t i;

	(void)state;
	for (i = 0; i < N_OF(dns_value_cases); i++) {
		mc_err_clear(&err);
		v = acme_dns01_value(dns_value_cases[i].keyauth, &err);
		if (dns_value_cases[i].value == NULL) {
			assert_null(v);
			check_err("bad keyauth", &err, MC_ERR_INPUT, "empty key authorization");
			continue;
		}
		assert_non_null(v);
		assert_string_equal(v, dns_value_cases[i].value);
		free(v);
	}
}

#define FQDN "_acme-challenge.mail.example.test"
#define VALUE "61rBZ_4knHblO0MNoxFsXZ_eTFUHum0B6IVRbhvUn5I"

static const struct {
	const char *label;
	const char *script; /* hook body; NULL: no file is written */
	int mode;
	const char *op;
	long timeout;
	enum mc_err_cat cat; /* MC_ERR_NONE: success */
	const char *frag;
	const char *frag2;
} hook_cases[] = {
	{"add records its arguments", "printf '%s|' \"$@\" >\"$0.args\"", 0755,
	 "add", 5, MC_ERR_NONE, "add|" FQDN "|" VALUE "|", NULL},
	{"del records its arguments", "printf '%s|' \"$@\" >\"$0.args\"", 0755,
	 "del", 5, MC_ERR_NONE, "del|" FQDN "|" VALUE "|", NULL},
	{"clean environment", "env >\"$0.args\"", 0755, "add", 5, MC_ERR_NONE,
	 "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", NULL},
	{"exit 3", "echo 'hook: no DNS today' >&2\necho second line >&2\nexit 3",
	 0755, "add", 5, MC_ERR_CHALLENGE,
	 "add " FQDN " exited with status 3: hook: no DNS today | second line",
	 NULL},
	{"escapes in the output", "printf '\\033[2J\\033]0;x\\007bad\\r\\n' >&2\nexit 2",
	 0755, "add", 5, MC_ERR_CHALLENGE,
	 "exited with status 2: ?[2J?]0;x?bad", NULL},
	{"stdout when stderr is empty", "echo 'API says 403'\nexit 1", 0755, "del",
	 5, MC_ERR_CHALLENGE, "exited with status 1: API says 403", NULL},
	{"killed", "kill -9 $$", 0755, "add", 5, MC_ERR_CHALLENGE,
	 "killed by signal 9", NULL},
	{"timeout", "sleep 100", 0755, "add", 1, MC_ERR_CHALLENGE,
	 "add " FQDN " timed out after 1s", NULL},
	{"not executable", "exit 0", 0644, "add", 5, MC_ERR_SYS,
	 "Permission denied", "dns-01 hook "},
	{"missing hook", NULL, 0, "add", 5, MC_ERR_SYS,
	 "No such file or directory", "dns-01 hook "},
	{"unknown op", "exit 0", 0755, "update", 5, MC_ERR_CHALLENGE,
	 "unknown operation \"update\"", NULL},
};

/* hook_write - the hook script at path with body and mode. */
static void
hook_write(const char *path, const char *body, int mode)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	fprintf(fp, "#!/bin/sh\n%s\n", body);
	fclose(fp);
	assert_int_equal(chmod(path, (mode_t)mode), 0);
}

/* hook_check - run one row with the hook at path. */
static void
hook_check(size_t i, const char *path)
{
	char args[1024] = "", ap[320];
	struct mc_err err;
	FILE *fp;
	size_t n;
	int rc;

	mc_err_clear(&err);
	rc = acme_dns01_hook(path, hook_cases[i].op, FQDN, VALUE,
			     hook_cases[i].timeout, &err);
	if (hook_cases[i].cat != MC_ERR_NONE) {
		assert_int_equal(rc, -1);
		check_err(hook_cases[i].label, &err, hook_cases[i].cat,
			  hook_cases[i].frag);
		assert_non_null(strstr(err.msg, path));
		if (hook_cases[i].frag2 != NULL)
			assert_non_null(strstr(err.msg, hook_cases[i].frag2));
		for (n = 0; err.msg[n] != '\0'; n++) /* one clean line */
			if ((unsigned char)err.msg[n] < 0x20)
				fail_msg("%s: control byte in %s",
					 hook_cases[i].label, err.msg);
		return;
	}
	if (rc != 0)
		fail_msg("%s: %s", hook_cases[i].label, err.msg);
	snprintf(ap, sizeof(ap), "%s.args", path);
	fp = fopen(ap, "r");
	assert_non_null(fp);
	n = fread(args, 1, sizeof(args) - 1, fp);
	args[n] = '\0';
	fclose(fp);
	if (strstr(args, hook_cases[i].frag) == NULL)
		fail_msg("%s: \"%s\" lacks \"%s\"", hook_cases[i].label, args,
			 hook_cases[i].frag);
	assert_null(strstr(args, "MC_TEST_CANARY"));
}

/* test_dns01_hook - every row of hook_cases. */
static void
test_dns01_hook(void **state)
{
	char dir[] = "/tmp/mc-hook-XXXXXX", path[300], cmd[400];
	size_t i;

	(void)state;
	assert_non_null(mkdtemp(dir));
	setenv("MC_TEST_CANARY", "must-not-reach-the-hook", 1);
	for (i = 0; i < N_OF(hook_cases); i++) {
		print_message("dns-01 hook: %s\n", hook_cases[i].label);
		snprintf(path, sizeof(path), "%s/hook%zu", dir, i);
		if (hook_cases[i].script != NULL)
			hook_write(path, hook_cases[i].script, hook_cases[i].mode);
		hook_check(i, path);
	}
	unsetenv("MC_TEST_CANARY");
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(sh_run(cmd), 0);
}

/* test_dns01_hook_args - a missing hook or empty fqdn/value. */
static void
test_dns01_hook_args(void **state)
{
	struct mc_err err;

	(void)state;
	assert_int_equal(acme_dns01_hook(NULL, "add", FQDN, VALUE, 5, &err), -1);
	check_err("no hook", &err, MC_ERR_CONFIG, "dns-01 needs a dns_hook");
	assert_int_equal(acme_dns01_hook("", "add", FQDN, VALUE, 5, &err), -1);
	check_err("empty hook", &err, MC_ERR_CONFIG, "dns-01 needs a dns_hook");
	assert_int_equal(acme_dns01_hook("/bin/true", "add", "", VALUE, 5, &err), -1);
	check_err("empty fqdn", &err, MC_ERR_CHALLENGE, "empty name or value");
	assert_int_equal(acme_dns01_hook("/bin/true", "del", FQDN, NULL, 5, &err), -1);
	check_err("no value", &err, MC_ERR_CHALLENGE, "empty name or value");
	assert_int_equal(acme_dns01_hook("/bin/true", NULL, FQDN, VALUE, 5, &err), -1);
	check_err("no op", &err, MC_ERR_CHALLENGE, "unknown operation");
	assert_int_equal(acme_dns01_hook("/bin/true", "add", FQDN, VALUE, 5, &err), 0);
}

/* main - run the tests. */
int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_start_errors),
		cmocka_unit_test(test_http01),
		cmocka_unit_test(test_webroot_fresh),
		cmocka_unit_test(test_webroot_existing),
		cmocka_unit_test(test_webroot_errors),
		cmocka_unit_test(test_tlsalpn01),
		cmocka_unit_test(test_tlsalpn01_sni),
		cmocka_unit_test(test_dns01_value),
		cmocka_unit_test(test_dns01_hook),
		cmocka_unit_test(test_dns01_hook_args),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
