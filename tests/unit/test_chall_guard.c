/*
 * test_chall_guard.c - who may hold a connection to the challenge
 * responders (acme/chall_guard.c), first as a table of admit / done /
 * expire steps, then with real slow clients on loopback (127.0.0.x are all
 * loopback addresses, so each stands for another host): idle floods from
 * one address against tls-alpn-01, four addresses holding connections
 * open against http-01, and a client that sends a byte now and then
 * (which an idle timeout never catches) is closed at the header deadline.
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
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "acme/chall_int.h"
#include "acme/challenge.h"
#include "tests/unit/testnet.h"

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))
#define KA "tokG.thumbprintGGGG"

/* ---- the admission table ---- */

struct guard_step {
	char op;          /* 'a' admit, 'd' done, 'x' drop, 'e' expired */
	int fd;           /* 'a' 'd' 'x'; for 'e' the number expected */
	const char *addr; /* 'a': peer address */
	long long t;      /* ms */
	int want;         /* 'a': victims (-1 refused); 'e': count */
	int v1, v2;       /* 'a': the victims' fds, in order */
};

struct guard_case {
	const char *label;
	const struct guard_step *steps;
	size_t n;
};

#define STEPS(...) (const struct guard_step[]){__VA_ARGS__}
#define NSTEPS(...) (sizeof((const struct guard_step[]){__VA_ARGS__}) / \
	             sizeof(struct guard_step))
#define CASE(label, ...) {label, STEPS(__VA_ARGS__), NSTEPS(__VA_ARGS__)}
#define A(fd, addr, t) {'a', fd, addr, t, 0, 0, 0}
#define AV(fd, addr, t, v) {'a', fd, addr, t, 1, v, 0}

static const struct guard_case guard_cases[] = {
	CASE("a burst from one address is left alone (grace)",
	     A(1, "127.0.0.1", 0), A(2, "127.0.0.1", 1), A(3, "127.0.0.1", 2),
	     A(4, "127.0.0.1", 3), A(5, "127.0.0.1", 4), A(6, "127.0.0.1", 5),
	     A(7, "127.0.0.1", 6), A(8, "127.0.0.1", 7), A(9, "127.0.0.1", 8),
	     A(10, "127.0.0.1", 9), A(11, "127.0.0.1", 10)),
	CASE("past the grace, an address keeps 8: its oldest goes",
	     A(1, "127.0.0.2", 0), A(2, "127.0.0.2", 0), A(3, "127.0.0.2", 0),
	     A(4, "127.0.0.2", 0), A(5, "127.0.0.2", 0), A(6, "127.0.0.2", 0),
	     A(7, "127.0.0.2", 0), A(8, "127.0.0.2", 10),
	     AV(9, "127.0.0.2", 1000, 1), A(10, "127.0.0.2", 1001),
	     A(11, "127.0.0.3", 1002), AV(12, "127.0.0.2", 1300, 2)),
	CASE("finished connections do not count",
	     A(1, "10.0.0.1", 0), {'d', 1, NULL, 0, 0, 0, 0}, A(2, "10.0.0.1", 0),
	     {'d', 2, NULL, 0, 0, 0, 0}, A(3, "10.0.0.1", 0), A(4, "10.0.0.1", 0),
	     A(5, "10.0.0.1", 0), A(6, "10.0.0.1", 0), A(7, "10.0.0.1", 0),
	     A(8, "10.0.0.1", 0), A(9, "10.0.0.1", 0), A(10, "10.0.0.1", 0),
	     AV(11, "10.0.0.1", 500, 3)),
	CASE("an IPv6 /64 is one address",
	     A(1, "2001:db8::1", 0), A(2, "2001:db8::2", 0), A(3, "2001:db8::3", 0),
	     A(4, "2001:db8::4", 0), A(5, "2001:db8::5", 0), A(6, "2001:db8::6", 0),
	     A(7, "2001:db8::7", 0), A(8, "2001:db8::8", 0),
	     A(9, "2001:db8:0:1::1", 300), AV(10, "2001:db8::ff", 300, 1)),
	CASE("v4-mapped IPv6 is the IPv4 address",
	     A(1, "::ffff:192.0.2.7", 0), A(2, "192.0.2.7", 0), A(3, "192.0.2.7", 0),
	     A(4, "192.0.2.7", 0), A(5, "192.0.2.7", 0), A(6, "192.0.2.7", 0),
	     A(7, "192.0.2.7", 0), A(8, "192.0.2.7", 0),
	     AV(9, "::ffff:192.0.2.7", 300, 1)),
	CASE("expired: only unfinished ones, once",
	     A(1, "127.0.0.1", 0), A(2, "127.0.0.2", 0), {'d', 2, NULL, 0, 0, 0, 0},
	     A(3, "127.0.0.3", 2000), {'e', 0, NULL, 2999, 0, 0, 0},
	     {'e', 0, NULL, 3000, 1, 0, 0}, {'e', 0, NULL, 3001, 0, 0, 0},
	     {'e', 0, NULL, 5000, 1, 0, 0}, {'x', 1, NULL, 0, 0, 0, 0},
	     {'x', 3, NULL, 0, 0, 0, 0}, {'x', 99, NULL, 0, 0, 0, 0}),
};

/* guard_addr - the sockaddr of text into ss; its length. */
static socklen_t
guard_addr(const char *text, struct sockaddr_storage *ss)
{
	struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, text, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		return sizeof(*in4);
	}
	assert_int_equal(inet_pton(AF_INET6, text, &in6->sin6_addr), 1);
	in6->sin6_family = AF_INET6;
	return sizeof(*in6);
}

/* guard_run - one case's steps against a fresh table. */
static void
guard_run(const struct guard_case *c)
{
	static struct acme_guard g;
	unsigned char key[ACME_GUARD_KEY];
	struct sockaddr_storage ss;
	int victims[2], fds[ACME_GUARD_MAX], got;
	size_t i;

	memset(&g, 0, sizeof(g));
	for (i = 0; i < c->n; i++) {
		const struct guard_step *s = &c->steps[i];

		if (s->op == 'a') {
			acme_guard_key((struct sockaddr *)&ss,
				       guard_addr(s->addr, &ss), key);
			got = acme_guard_admit(&g, s->fd, key, s->t, victims);
			if (got != s->want ||
			    (got >= 1 && victims[0] != s->v1) ||
			    (got == 2 && victims[1] != s->v2))
				fail_msg("%s: step %zu (fd %d): %d victim(s), "
					 "first %d", c->label, i, s->fd, got,
					 got > 0 ? victims[0] : -1);
		} else if (s->op == 'd') {
			acme_guard_done(&g, s->fd);
		} else if (s->op == 'x') {
			acme_guard_drop(&g, s->fd);
		} else {
			got = (int)acme_guard_expired(&g, s->t, fds, N_OF(fds));
			if (got != s->want)
				fail_msg("%s: step %zu: %d expired, want %d",
					 c->label, i, got, s->want);
		}
	}
}

/* test_guard_table - every row of guard_cases. */
static void
test_guard_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < N_OF(guard_cases); i++)
		guard_run(&guard_cases[i]);
}

/* test_guard_capacity - above ACME_GUARD_SLOTS the busiest address loses
 * its oldest; at ACME_GUARD_MAX newcomers are refused. */
static void
test_guard_capacity(void **state)
{
	static struct acme_guard g;
	unsigned char busy[ACME_GUARD_KEY], other[ACME_GUARD_KEY];
	struct sockaddr_storage ss;
	int victims[2], fd, rc;

	(void)state;
	memset(&g, 0, sizeof(g));
	acme_guard_key((struct sockaddr *)&ss, guard_addr("127.0.0.9", &ss), busy);
	acme_guard_key((struct sockaddr *)&ss, guard_addr("127.0.0.1", &ss), other);
	for (fd = 1; fd <= ACME_GUARD_SLOTS; fd++) /* one burst: no grace */
		assert_int_equal(acme_guard_admit(&g, fd, busy, 0, victims), 0);
	rc = acme_guard_admit(&g, 1000, other, 100, victims);
	assert_int_equal(rc, 1); /* the validator gets in ... */
	assert_int_equal(victims[0], 1); /* ... the flood's oldest goes */
	for (fd = ACME_GUARD_SLOTS + 1; (size_t)fd < ACME_GUARD_MAX; fd++)
		assert_int_equal(acme_guard_admit(&g, fd, busy, 100, victims), 1);
	assert_int_equal(g.n, ACME_GUARD_MAX); /* victims stay until dropped */
	assert_int_equal(acme_guard_admit(&g, 2000, other, 100, victims), -1);
	acme_guard_drop(&g, 1);
	assert_int_equal(acme_guard_admit(&g, 2000, other, 100, victims), 1);
}

/* ---- real slow clients on loopback ---- */

/* connect_from - a TCP connection from src (127.0.0.x) to 127.0.0.1:port,
 * with 5 s send/receive timeouts; -1 if refused. */
static int
connect_from(const char *src, int port)
{
	struct timeval tv = {5, 0};
	struct sockaddr_in a;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	assert_int_equal(inet_pton(AF_INET, src, &a.sin_addr), 1);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	a.sin_port = htons((unsigned short)port);
	assert_int_equal(inet_pton(AF_INET, "127.0.0.1", &a.sin_addr), 1);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/* closed_within - whether the server closes fd within ms (sending one
 * byte every 500 ms when trickle is set); how long it took in *took. */
static bool
closed_within(int fd, long ms, bool trickle, long *took)
{
	long t0 = tn_now_ms(), next = t0;
	struct pollfd p = {.fd = fd, .events = POLLIN};
	char b;

	while (tn_now_ms() - t0 < ms) {
		if (trickle && tn_now_ms() >= next) {
			if (send(fd, "G", 1, MSG_NOSIGNAL) == -1)
				break;
			next += 500;
		}
		if (poll(&p, 1, 50) == 1 && recv(fd, &b, 1, 0) <= 0)
			break;
	}
	*took = tn_now_ms() - t0;
	return *took < ms;
}

/* alpn_ok - a full tls-alpn-01 handshake from 127.0.0.1 for name. */
static bool
alpn_ok(int port, const char *name)
{
	static const unsigned char proto[] = "\x0a" "acme-tls/1";
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	int fd = connect_from("127.0.0.1", port);
	bool ok = false;
	SSL *ssl;

	if (fd == -1) {
		SSL_CTX_free(ctx);
		return false;
	}
	ssl = SSL_new(ctx);
	SSL_set_fd(ssl, fd);
	SSL_set_tlsext_host_name(ssl, name);
	SSL_set_alpn_protos(ssl, proto, sizeof(proto) - 1);
	ok = SSL_connect(ssl) == 1;
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	close(fd);
	return ok;
}

/* test_alpn_idle_flood - 100 idle connections from one address, then a
 * validator from another: its handshake completes at once. */
static void
test_alpn_idle_flood(void **state)
{
	struct acme_tlsalpn01 *t;
	struct mc_err err;
	char listen[64];
	int port = tn_free_port(), fds[100], n = 0, i;
	long t0, took;

	(void)state;
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
	t = acme_tlsalpn01_start(listen, &err);
	assert_non_null(t);
	assert_int_equal(acme_tlsalpn01_add(t, "mail.example.test", KA, &err), 0);
	for (i = 0; i < 100; i++)
		if ((fds[n] = connect_from("127.0.0.2", port)) != -1)
			n++;
	assert_true(n >= 90);
	usleep(400 * 1000); /* past the grace: the flood is old now */
	t0 = tn_now_ms();
	assert_true(alpn_ok(port, "mail.example.test"));
	took = tn_now_ms() - t0;
	print_message("tls-alpn-01 handshake behind 100 idle connections: %ld ms\n",
		      took);
	assert_true(took < 1500);
	/* the flood's connections end at the handshake deadline */
	assert_true(closed_within(fds[n - 1], ACME_GUARD_DEADLINE_MS + 1500,
				  false, &took));
	assert_true(took >= ACME_GUARD_DEADLINE_MS - 600);
	for (i = 0; i < n; i++)
		close(fds[i]);
	acme_tlsalpn01_stop(t);
}

/* http_get_ok - GET the token from 127.0.0.1 within 2 s: status 200 and
 * the key authorization. */
static bool
http_get_ok(int port)
{
	static const char req[] = "GET /.well-known/acme-challenge/tokG HTTP/1.1\r\n"
				  "Host: mail.example.test\r\n\r\n";
	struct timeval tv = {2, 0};
	char buf[1024];
	size_t len = 0;
	ssize_t r;
	int fd = connect_from("127.0.0.1", port);

	if (fd == -1)
		return false;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL) != sizeof(req) - 1) {
		close(fd);
		return false;
	}
	while (len < sizeof(buf) - 1 &&
	       (r = recv(fd, buf + len, sizeof(buf) - 1 - len, 0)) > 0)
		len += (size_t)r;
	buf[len] = '\0';
	close(fd);
	return strncmp(buf, "HTTP/1.1 200", 12) == 0 && strstr(buf, KA) != NULL;
}

/* test_http01_four_addresses - four addresses hold 20 connections each,
 * every one with a first byte sent; the validator still gets its answer. */
static void
test_http01_four_addresses(void **state)
{
	static const char *const src[] = {"127.0.0.2", "127.0.0.3", "127.0.0.4",
					  "127.0.0.5"};
	struct acme_http01 *h;
	struct mc_err err;
	char listen[64];
	int port = tn_free_port(), fds[80], n = 0, i, j;
	long t0, took;

	(void)state;
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
	h = acme_http01_start(listen, NULL, &err);
	assert_non_null(h);
	assert_int_equal(acme_http01_add(h, "tokG", KA, &err), 0);
	for (i = 0; i < 4; i++)
		for (j = 0; j < 20; j++)
			if ((fds[n] = connect_from(src[i], port)) != -1 &&
			    send(fds[n], "G", 1, MSG_NOSIGNAL) == 1)
				n++;
	assert_true(n >= 60);
	usleep(400 * 1000);
	t0 = tn_now_ms();
	assert_true(http_get_ok(port));
	took = tn_now_ms() - t0;
	print_message("http-01 answer behind %d slow connections from 4 "
		      "addresses: %ld ms\n", n, took);
	assert_true(took < 1500);
	for (i = 0; i < n; i++)
		close(fds[i]);
	acme_http01_stop(h);
}

/* test_http01_trickle - a byte every 500 ms keeps an idle timeout away,
 * but not the header deadline. */
static void
test_http01_trickle(void **state)
{
	struct acme_http01 *h;
	struct mc_err err;
	char listen[64];
	int port = tn_free_port(), fd;
	long took;

	(void)state;
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
	h = acme_http01_start(listen, NULL, &err);
	assert_non_null(h);
	fd = connect_from("127.0.0.6", port);
	assert_true(fd >= 0);
	assert_true(closed_within(fd, ACME_GUARD_DEADLINE_MS + 2000, true, &took));
	print_message("http-01 trickling client closed after %ld ms\n", took);
	assert_true(took >= ACME_GUARD_DEADLINE_MS - 600);
	close(fd);
	assert_int_equal(acme_http01_add(h, "tokG", KA, &err), 0);
	assert_true(http_get_ok(port)); /* still serving */
	acme_http01_stop(h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_guard_table),
	    cmocka_unit_test(test_guard_capacity),
	    cmocka_unit_test(test_alpn_idle_flood),
	    cmocka_unit_test(test_http01_four_addresses),
	    cmocka_unit_test(test_http01_trickle),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
