/*
 * conn.c - TCP connections with deadlines, and capped line I/O.
 *
 * Sockets are non-blocking from the start; every wait is a poll() bounded
 * by min(per-operation timeout, time left until the total deadline).
 * Failures to reach or hear the peer become MC_PROBE_UNREACHABLE, lines
 * that are too long or too many become MC_PROBE_PROTOCOL_ERROR.
 *
 * Nagle is off (TCP_NODELAY): a probe writes small messages that each
 * wait for an answer, and the goodbye follows the TLS Finished at once;
 * with Nagle on, it waited for the ACK of the Finished, which a server
 * that sends nothing after the handshake (Exim with GnuTLS) delays by
 * the 40 ms of a delayed ACK.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "mailcert/log.h"
#include "mailcert/pool.h"
#include "mailcert/text.h"
#include "verify/verify_int.h"
#include "mailcert/time.h"

/* verify_fail - set res outcome and reason; returns -1. */
int
verify_fail(struct mc_probe_result *res, enum mc_probe_outcome outcome,
            const char *fmt, ...)
{
	va_list ap;

	res->outcome = outcome;
	va_start(ap, fmt);
	vsnprintf(res->reason, sizeof(res->reason), fmt, ap);
	va_end(ap);
	return -1;
}

/* conn_timeout - ms to wait now: min(limit, time left), 0 if past. */
static int
conn_timeout(const struct verify_conn *c, int limit)
{
	long left = c->deadline - mc_now_ms();

	if (left <= 0)
		return 0;
	return left < limit ? (int)left : limit;
}

/* verify_conn_quickack - ACK at once (TCP_QUICKACK; the kernel leaves
 * quick-ACK mode by itself, so it is set before each wait). */
void
verify_conn_quickack(struct verify_conn *c)
{
#ifdef TCP_QUICKACK
	(void)setsockopt(c->fd, IPPROTO_TCP, TCP_QUICKACK, &(int){1},
	                 sizeof(int));
#else
	(void)c;
#endif
}

/* verify_conn_wait - poll fd for events; 1 ready, 0 timed out, -1 error. */
int
verify_conn_wait(struct verify_conn *c, short events)
{
	struct pollfd pfd = {.fd = c->fd, .events = events};
	long until = mc_now_ms() + conn_timeout(c, c->io_timeout_ms);
	int rc;

	for (;;) {
		long left = until - mc_now_ms();

		rc = poll(&pfd, 1, left > 0 ? (int)left : 0);
		if (rc >= 0 || errno != EINTR)
			break;
	}
	if (rc < 0)
		return -1;
	return rc > 0 ? 1 : 0;
}

/* conn_addr_text - "1.2.3.4:25" or "[::1]:25" of a socket address. */
static void
conn_addr_text(const struct sockaddr *sa, socklen_t len, char *out, size_t size)
{
	char host[INET6_ADDRSTRLEN], port[8];

	if (getnameinfo(sa, len, host, sizeof(host), port, sizeof(port),
	                NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
		snprintf(out, size, "?");
		return;
	}
	snprintf(out, size, sa->sa_family == AF_INET6 ? "[%s]:%s" : "%s:%s",
	         host, port);
}

/* conn_try - connect to one address; fd or -1 with *why set. */
static int
conn_try(struct verify_conn *c, const struct addrinfo *ai, int limit_ms,
         int *why)
{
	struct verify_conn tmp = *c;
	socklen_t len = sizeof(*why);
	int fd, rc;

	fd = socket(ai->ai_family,
	            ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
	            ai->ai_protocol);
	if (fd == -1) {
		*why = errno;
		return -1;
	}
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){1}, sizeof(int));
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
		return fd;
	*why = errno;
	if (errno != EINPROGRESS)
		goto fail;
	tmp.fd = fd;
	tmp.io_timeout_ms = limit_ms;
	rc = verify_conn_wait(&tmp, POLLOUT);
	*why = rc == 0 ? ETIMEDOUT : errno;
	if (rc == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, why, &len) == 0 &&
	    *why == 0)
		return fd;
fail:
	close(fd);
	return -1;
}

/* conn_resolve - getaddrinfo for ep; -1 with res set. */
static int
conn_resolve(const struct mc_endpoint *ep, struct addrinfo **list,
             struct mc_probe_result *res)
{
	struct addrinfo hints;
	char port[8];
	int rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV | (ep->host_is_ip ? AI_NUMERICHOST : 0);
	snprintf(port, sizeof(port), "%u", (unsigned)ep->port);
	rc = getaddrinfo(ep->host, port, &hints, list);
	if (rc != 0)
		return verify_fail(res, MC_PROBE_UNREACHABLE,
		                   "cannot resolve %s: %s", ep->host,
		                   rc == EAI_SYSTEM ? strerror(errno)
		                                    : gai_strerror(rc));
	return 0;
}

/* conn_ip_text - the numeric address of sa (no port) into out. */
static void
conn_ip_text(const struct sockaddr *sa, char *out, size_t size)
{
	const void *a = sa->sa_family == AF_INET6
	                    ? (const void *)&((const struct sockaddr_in6 *)
	                                          (const void *)sa)->sin6_addr
	                    : (const void *)&((const struct sockaddr_in *)
	                                          (const void *)sa)->sin_addr;

	if (inet_ntop(sa->sa_family, a, out, (socklen_t)size) == NULL)
		snprintf(out, size, "?");
}

/* conn_take - before a connection to ai: the slot of its address under
 * opts->limit (the wait moves the deadline: it is no time of the peer's),
 * then the "opening" log line; -1 with res set (no memory). */
static int
conn_take(struct verify_conn *c, const struct addrinfo *ai,
          const struct mc_probe_opts *opts, unsigned port)
{
	struct mc_err err;
	long t;

	c->addr[0] = '\0';
	if (opts->limit == NULL && !mc_log_enabled(MC_LOG_DEBUG))
		return 0;
	conn_ip_text(ai->ai_addr, c->addr, sizeof(c->addr));
	c->port = port;
	if (opts->limit != NULL) {
		t = mc_now_ms();
		c->slot = mc_limit_take(opts->limit, c->addr, &err);
		if (c->slot == NULL) {
			c->addr[0] = '\0';
			return verify_fail(c->res, MC_PROBE_UNREACHABLE,
			                   "connect: %s", err.msg);
		}
		c->deadline += mc_now_ms() - t;
	}
	mc_log_debug("probe connection to %s port %u: opening", c->addr,
	             port);
	return 0;
}

/* conn_give - after the connection's socket is closed: the "closed" log
 * line, then its slot back. */
static void
conn_give(struct verify_conn *c)
{
	if (c->addr[0] != '\0')
		mc_log_debug("probe connection to %s port %u: closed",
		             c->addr, c->port);
	c->addr[0] = '\0';
	mc_limit_give(c->slot);
	c->slot = NULL;
}

/* verify_conn_open - resolve and connect to ep within the timeouts; one
 * address after the other, each with its own slot (never two at once). */
int
verify_conn_open(struct verify_conn *c, const struct mc_endpoint *ep,
                 const struct mc_probe_opts *opts, struct mc_probe_result *res)
{
	struct addrinfo *list = NULL, *ai;
	int why = 0, tried = 0;

	c->fd = -1;
	c->res = res;
	c->len = 0;
	c->stage = "connect";
	if (conn_resolve(ep, &list, res) == -1)
		return -1;
	for (ai = list; ai != NULL && c->fd == -1; ai = ai->ai_next) {
		if (conn_take(c, ai, opts, ep->port) == -1) {
			freeaddrinfo(list);
			return -1;
		}
		if (conn_timeout(c, opts->connect_timeout_ms) == 0) {
			why = ETIMEDOUT;
			conn_give(c);
			break;
		}
		tried++;
		c->fd = conn_try(
		    c, ai, conn_timeout(c, opts->connect_timeout_ms), &why);
		if (c->fd != -1)
			conn_addr_text(ai->ai_addr, ai->ai_addrlen, res->peer,
			               sizeof(res->peer));
		else
			conn_give(c); /* conn_try closed its socket */
	}
	freeaddrinfo(list);
	if (c->fd == -1 && why == ETIMEDOUT)
		res->timed_out = true;
	if (c->fd == -1)
		return verify_fail(
		    res, MC_PROBE_UNREACHABLE,
		    "cannot connect to %s port %u (%d address%s "
		    "tried): %s",
		    ep->host, (unsigned)ep->port, tried, tried == 1 ? "" : "es",
		    why == ETIMEDOUT ? "timed out" : strerror(why));
	return 0;
}

/* verify_silence - "no answer within N ms", or the budget that ran out. */
int
verify_silence(struct verify_conn *c, enum mc_probe_outcome outcome,
               int waited_ms)
{
	c->res->timed_out = true;
	if (mc_now_ms() >= c->deadline)
		return verify_fail(c->res, outcome,
		                   "%s: no answer before the probe's time "
		                   "budget (%d ms in all) ran out",
		                   c->stage, c->budget_ms);
	return verify_fail(c->res, outcome, "%s: no answer within %d ms",
	                   c->stage, waited_ms);
}

/* conn_fill - receive more bytes into the buffer; -1 with res set. */
static int
conn_fill(struct verify_conn *c)
{
	int io = c->io_timeout_ms, limit = io;
	ssize_t n;
	int rc;

	if (!c->got_data && c->greet_timeout_ms > 0 &&
	    c->greet_timeout_ms < io)
		limit = c->greet_timeout_ms;
	for (;;) {
		c->io_timeout_ms = limit;
		rc = verify_conn_wait(c, POLLIN);
		c->io_timeout_ms = io;
		if (rc == 0)
			return verify_silence(c, MC_PROBE_UNREACHABLE, limit);
		if (rc == -1)
			break;
		n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
		if (n > 0) {
			c->len += (size_t)n;
			c->got_data = true;
			return 0;
		}
		if (n == 0)
			return verify_fail(
			    c->res, MC_PROBE_UNREACHABLE,
			    "%s: connection closed by the server", c->stage);
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			break;
	}
	return verify_fail(c->res, MC_PROBE_UNREACHABLE, "%s: %s", c->stage,
	                   strerror(errno));
}

/* verify_conn_readline - one line without CR LF into line. */
int
verify_conn_readline(struct verify_conn *c, char *line, size_t size)
{
	char excerpt[80];
	char *nl;
	size_t n;

	while ((nl = memchr(c->buf, '\n', c->len)) == NULL) {
		if (c->len == sizeof(c->buf)) {
			mc_text_excerpt(c->buf, c->len, excerpt,
			                sizeof(excerpt), MC_TEXT_QUOTE);
			return verify_fail(c->res, MC_PROBE_PROTOCOL_ERROR,
			                   "%s: line longer than %d bytes: "
			                   "\"%s\"",
			                   c->stage, MC_VERIFY_LINE_MAX,
			                   excerpt);
		}
		if (conn_fill(c) == -1)
			return -1;
	}
	n = (size_t)(nl - c->buf);
	if (n >= size)
		abort(); /* callers pass MC_VERIFY_LINE_MAX */
	memcpy(line, c->buf, n);
	line[n > 0 && line[n - 1] == '\r' ? n - 1 : n] = '\0';
	c->len -= n + 1;
	memmove(c->buf, nl + 1, c->len);
	return 0;
}

/* verify_conn_writeline - send text followed by CR LF. */
int
verify_conn_writeline(struct verify_conn *c, const char *text)
{
	char out[512];
	size_t len, off = 0;
	ssize_t n;

	len = (size_t)snprintf(out, sizeof(out), "%s\r\n", text);
	if (len >= sizeof(out))
		abort(); /* our own commands are short */
	while (off < len) {
		if (verify_conn_wait(c, POLLOUT) != 1) {
			c->res->timed_out = true;
			return verify_fail(c->res, MC_PROBE_UNREACHABLE,
			                   "%s: cannot send within %d ms",
			                   c->stage, c->io_timeout_ms);
		}
		n = send(c->fd, out + off, len - off, MSG_NOSIGNAL);
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return verify_fail(c->res, MC_PROBE_UNREACHABLE,
			                   "%s: %s", c->stage, strerror(errno));
		if (n > 0)
			off += (size_t)n;
	}
	return 0;
}

/* verify_conn_close - close the socket (no-op when closed) and give its
 * slot back. */
void
verify_conn_close(struct verify_conn *c)
{
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
	conn_give(c);
}
