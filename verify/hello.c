/*
 * hello.c - build a ClientHello by hand, read the server's first answer.
 *
 * The builder writes RFC 5246 / RFC 6101 structures with a bounded writer
 * (overflow is remembered, never written past). The parser walks records
 * of the bytes received so far, collects the first bytes of the handshake
 * stream and decides as soon as it can: ServerHello (version and suite),
 * alert, or garbage with the reason. See hello.h for the limits.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <openssl/rand.h>

#include "verify/hello.h"
#include "mailcert/time.h"

#define REC_HANDSHAKE 22
#define REC_ALERT 21
#define REC_CCS 20
#define REC_APPDATA 23
#define REC_LEN_MAX 16384     /* plaintext record cap (RFC 5246 6.2.1) */
#define HS_LEN_MAX 65536      /* a ServerHello is far smaller */
#define HS_NEED 80            /* bytes of the ServerHello we look at */

struct wbuf {
	unsigned char *p;
	size_t size;
	size_t len;
	bool overflow;
};

/* wb_put - append n bytes (or remember the overflow). */
static void
wb_put(struct wbuf *w, const void *data, size_t n)
{
	if (w->overflow || n > w->size - w->len) {
		w->overflow = true;
		return;
	}
	memcpy(w->p + w->len, data, n);
	w->len += n;
}

/* wb_u8 - append one byte. */
static void
wb_u8(struct wbuf *w, unsigned v)
{
	unsigned char b = (unsigned char)(v & 0xff);

	wb_put(w, &b, 1);
}

/* wb_u16 - append a big-endian 16-bit value. */
static void
wb_u16(struct wbuf *w, unsigned v)
{
	wb_u8(w, v >> 8);
	wb_u8(w, v);
}

/* wb_patch - write the length of what follows at (at + width) into at. */
static void
wb_patch(struct wbuf *w, size_t at, size_t width)
{
	size_t n = w->len - at - width, i;

	if (w->overflow)
		return;
	for (i = 0; i < width; i++)
		w->p[at + i] = (unsigned char)(n >> (8 * (width - 1 - i)));
}

/* hello_sni_ok - whether name may be sent as SNI (a DNS name). */
static bool
hello_sni_ok(const char *name)
{
	size_t n;

	if (name == NULL || name[0] == '\0')
		return false;
	n = strlen(name);
	return n < 256 && strspn(name, "0123456789.") != n &&
	       strchr(name, ':') == NULL;
}

/* hello_extensions - SNI, groups, point formats, signature algorithms,
 * renegotiation_info: what real servers expect before they answer. */
static void
hello_extensions(struct wbuf *w, const char *sni)
{
	static const uint16_t groups[] = {0x001d, 0x0017, 0x0018, 0x0019,
	                                  0x0100, 0x0101};
	static const uint16_t sigalgs[] = {0x0403, 0x0503, 0x0603, 0x0804,
	                                   0x0805, 0x0806, 0x0401, 0x0501,
	                                   0x0601, 0x0203, 0x0201, 0x0202};
	size_t at = w->len, i, n;

	wb_u16(w, 0);
	if (hello_sni_ok(sni)) {
		n = strlen(sni);
		wb_u16(w, 0x0000);
		wb_u16(w, n + 5);
		wb_u16(w, n + 3);
		wb_u8(w, 0); /* host_name */
		wb_u16(w, n);
		wb_put(w, sni, n);
	}
	wb_u16(w, 0x000a);
	wb_u16(w, 2 + 2 * (sizeof(groups) / sizeof(groups[0])));
	wb_u16(w, 2 * (sizeof(groups) / sizeof(groups[0])));
	for (i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
		wb_u16(w, groups[i]);
	wb_u16(w, 0x000b);
	wb_u16(w, 2);
	wb_u8(w, 1);
	wb_u8(w, 0); /* uncompressed points */
	wb_u16(w, 0x000d);
	wb_u16(w, 2 + 2 * (sizeof(sigalgs) / sizeof(sigalgs[0])));
	wb_u16(w, 2 * (sizeof(sigalgs) / sizeof(sigalgs[0])));
	for (i = 0; i < sizeof(sigalgs) / sizeof(sigalgs[0]); i++)
		wb_u16(w, sigalgs[i]);
	wb_u16(w, 0xff01);
	wb_u16(w, 1);
	wb_u8(w, 0); /* empty renegotiated_connection */
	wb_patch(w, at, 2);
}

/* verify_hello_build - write one ClientHello record into out. */
int
verify_hello_build(const struct verify_hello *h, unsigned char *out,
                   size_t size, size_t *len)
{
	struct wbuf w = {.p = out, .size = size};
	unsigned char random[32];
	size_t rec, hs, i;

	if (h->nsuites == 0 || h->nsuites > VERIFY_HELLO_SUITES_MAX ||
	    RAND_bytes(random, sizeof(random)) != 1)
		return -1;
	wb_u8(&w, REC_HANDSHAKE);
	wb_u16(&w, h->record_version);
	rec = w.len;
	wb_u16(&w, 0);
	wb_u8(&w, 1); /* client_hello */
	hs = w.len;
	wb_put(&w, "\0\0\0", 3);
	wb_u16(&w, h->client_version);
	wb_put(&w, random, sizeof(random));
	wb_u8(&w, 0); /* no session id */
	wb_u16(&w, 2 * (h->nsuites + (h->extensions ? 0 : 1)));
	for (i = 0; i < h->nsuites; i++)
		wb_u16(&w, h->suites[i]);
	if (!h->extensions)
		wb_u16(&w, 0x00ff); /* TLS_EMPTY_RENEGOTIATION_INFO_SCSV */
	wb_u8(&w, 1);
	wb_u8(&w, 0); /* null compression */
	if (h->extensions)
		hello_extensions(&w, h->sni);
	wb_patch(&w, hs, 3);
	wb_patch(&w, rec, 2);
	if (w.overflow)
		return -1;
	*len = w.len;
	return 0;
}

static enum verify_reply_kind
reply_garbage(struct verify_hello_reply *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* reply_garbage - GARBAGE with a reason. */
static enum verify_reply_kind
reply_garbage(struct verify_hello_reply *out, const char *fmt, ...)
{
	va_list ap;

	out->kind = VERIFY_REPLY_GARBAGE;
	va_start(ap, fmt);
	vsnprintf(out->why, sizeof(out->why), fmt, ap);
	va_end(ap);
	return out->kind;
}

/* parse_handshake - decide from the first hlen handshake bytes. */
static enum verify_reply_kind
parse_handshake(const unsigned char *hs, size_t hlen,
                struct verify_hello_reply *out)
{
	size_t mlen, sid;

	if (hlen < 4)
		return VERIFY_REPLY_MORE;
	mlen = (size_t)hs[1] << 16 | (size_t)hs[2] << 8 | hs[3];
	if (hs[0] != 2)
		return reply_garbage(out, "handshake message type %u instead "
		                     "of ServerHello", hs[0]);
	if (mlen > HS_LEN_MAX)
		return reply_garbage(out, "ServerHello length %u over %u",
		                     (unsigned)mlen, HS_LEN_MAX);
	if (mlen < 38)
		return reply_garbage(out, "ServerHello length %u under %u",
		                     (unsigned)mlen, 38);
	if (hlen < 4 + 35)
		return VERIFY_REPLY_MORE;
	sid = hs[4 + 34];
	if (sid > 32 || mlen < 35 + sid + 3)
		return reply_garbage(out, "ServerHello session id length %u "
		                     "in a message of %u bytes", (unsigned)sid,
		                     (unsigned)mlen);
	if (hlen < 4 + 35 + sid + 3)
		return VERIFY_REPLY_MORE;
	out->version = (unsigned)hs[4] << 8 | hs[5];
	out->suite = (unsigned)hs[4 + 35 + sid] << 8 | hs[4 + 35 + sid + 1];
	if (hs[4] != 3)
		return reply_garbage(out, "ServerHello version 0x%04x",
		                     out->version);
	out->kind = VERIFY_REPLY_SERVER_HELLO;
	return out->kind;
}

/* parse_header - check one record header; GARBAGE or MORE (= fine). */
static enum verify_reply_kind
parse_header(const unsigned char *r, struct verify_hello_reply *out)
{
	unsigned type = r[0], ver = (unsigned)r[1] << 8 | r[2];
	unsigned rlen = (unsigned)r[3] << 8 | r[4];

	if (type != REC_HANDSHAKE && type != REC_ALERT)
		return reply_garbage(out, "record type %u before the "
		                     "ServerHello (version 0x%04x)", type, ver);
	if (r[1] != 3)
		return reply_garbage(out, "record version 0x%04x (type %u)",
		                     ver, type);
	if (rlen > REC_LEN_MAX)
		return reply_garbage(out, "record length %u over %u", rlen,
		                     REC_LEN_MAX);
	if (rlen == 0 || (type == REC_ALERT && rlen < 2))
		return reply_garbage(out, "record of type %u with length %u",
		                     type, rlen);
	return VERIFY_REPLY_MORE;
}

/* parse_first_byte - refuse early what cannot start a TLS reply. */
static enum verify_reply_kind
parse_first_byte(unsigned char b, struct verify_hello_reply *out)
{
	if (b & 0x80)
		return reply_garbage(out, "an SSLv2 record (first byte "
		                     "0x%02x)", b);
	if (b == REC_CCS || b == REC_APPDATA)
		return reply_garbage(out, "record type %u before the "
		                     "ServerHello", b);
	if (b != REC_HANDSHAKE && b != REC_ALERT)
		return reply_garbage(out, "not TLS (first byte 0x%02x)", b);
	return VERIFY_REPLY_MORE;
}

/* verify_hello_parse - judge the first len bytes the server sent. */
enum verify_reply_kind
verify_hello_parse(const unsigned char *buf, size_t len,
                   struct verify_hello_reply *out)
{
	unsigned char hs[HS_NEED];
	size_t off = 0, hlen = 0, rlen, avail, take;

	memset(out, 0, sizeof(*out));
	if (len > 0 && parse_first_byte(buf[0], out) != VERIFY_REPLY_MORE)
		return out->kind;
	while (len - off >= 5) {
		if (parse_header(buf + off, out) != VERIFY_REPLY_MORE)
			return out->kind;
		rlen = (size_t)buf[off + 3] << 8 | buf[off + 4];
		avail = len - off - 5 < rlen ? len - off - 5 : rlen;
		if (buf[off] == REC_ALERT) {
			if (avail < 2)
				return VERIFY_REPLY_MORE;
			out->alert_level = buf[off + 5];
			out->alert_desc = buf[off + 6];
			out->kind = VERIFY_REPLY_ALERT;
			return out->kind;
		}
		take = sizeof(hs) - hlen < avail ? sizeof(hs) - hlen : avail;
		memcpy(hs + hlen, buf + off + 5, take);
		hlen += take;
		if (parse_handshake(hs, hlen, out) != VERIFY_REPLY_MORE)
			return out->kind;
		if (avail < rlen)
			return VERIFY_REPLY_MORE;
		off += 5 + rlen;
		if (off < len && parse_first_byte(buf[off], out) !=
		                     VERIFY_REPLY_MORE)
			return out->kind;
	}
	return VERIFY_REPLY_MORE;
}

/* hello_wait - poll fd until deadline; 1 ready, 0 timeout, -1 error. */
static int
hello_wait(int fd, short events, long deadline)
{
	struct pollfd pfd = {.fd = fd, .events = events};
	long left;
	int rc;

	for (;;) {
		left = deadline - mc_now_ms();
		rc = poll(&pfd, 1, left > 0 ? (int)left : 0);
		if (rc >= 0 || errno != EINTR)
			return rc > 0 ? 1 : rc;
	}
}

/* hello_send - write all of msg before deadline; 0 or -1 with out set. */
static int
hello_send(int fd, const unsigned char *msg, size_t len, long deadline,
           struct verify_hello_reply *out)
{
	size_t off = 0;
	ssize_t n;

	while (off < len) {
		if (hello_wait(fd, POLLOUT, deadline) != 1) {
			out->kind = VERIFY_REPLY_TIMEOUT;
			snprintf(out->why, sizeof(out->why),
			         "cannot send the ClientHello");
			return -1;
		}
		n = send(fd, msg + off, len - off, MSG_NOSIGNAL);
		if (n > 0)
			off += (size_t)n;
		else if (n < 0 && errno != EAGAIN && errno != EINTR) {
			out->kind = errno == EPIPE || errno == ECONNRESET
			                ? VERIFY_REPLY_CLOSED
			                : VERIFY_REPLY_IOERR;
			snprintf(out->why, sizeof(out->why), "send: %s",
			         strerror(errno));
			return -1;
		}
	}
	return 0;
}

/* hello_recv_end - kind for a read that ended without a decision. */
static void
hello_recv_end(struct verify_hello_reply *out, enum verify_reply_kind kind,
               size_t got, const char *what)
{
	out->kind = kind;
	snprintf(out->why, sizeof(out->why), "%s after %zu byte%s", what, got,
	         got == 1 ? "" : "s");
}

/* verify_hello_exchange - send msg on fd, read until a decision. */
void
verify_hello_exchange(int fd, const unsigned char *msg, size_t len,
                      int timeout_ms, struct verify_hello_reply *out)
{
	unsigned char buf[VERIFY_HELLO_REPLY_MAX];
	long deadline = mc_now_ms() + timeout_ms;
	size_t got = 0;
	ssize_t n;
	int rc;

	memset(out, 0, sizeof(*out));
	if (hello_send(fd, msg, len, deadline, out) == -1)
		return;
	while (got < sizeof(buf)) {
		rc = hello_wait(fd, POLLIN, deadline);
		n = rc == 1 ? recv(fd, buf + got, sizeof(buf) - got, 0) : -1;
		if (rc == 0) {
			hello_recv_end(out, VERIFY_REPLY_TIMEOUT, got,
			               "no answer within the timeout");
			return;
		}
		if (n == 0 || (n < 0 && errno == ECONNRESET)) {
			hello_recv_end(out, VERIFY_REPLY_CLOSED, got,
			               "connection closed");
			return;
		}
		if (n < 0 && errno != EAGAIN && errno != EINTR) {
			hello_recv_end(out, VERIFY_REPLY_IOERR, got,
			               strerror(errno));
			return;
		}
		if (n > 0)
			got += (size_t)n;
		if (verify_hello_parse(buf, got, out) != VERIFY_REPLY_MORE)
			return;
	}
	hello_recv_end(out, VERIFY_REPLY_GARBAGE, got, "no ServerHello");
}
