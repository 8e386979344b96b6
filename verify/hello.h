/*
 * hello.h - hand-built TLS ClientHellos and a ServerHello/alert reader
 * (internal to verify/; used by check_proto.c).
 *
 * OpenSSL 3 cannot offer SSLv3, RC4, DES, 3DES or export suites at all, so
 * `mailcert check` asks for them itself: it writes one ClientHello record,
 * reads the first record(s) of the reply and stops there. It never
 * finishes a handshake with such a suite; the ServerHello alone proves
 * that the server would use it.
 *
 * The reader trusts no length from the peer: record lengths are capped at
 * 2^14 bytes, only the first VERIFY_HELLO_REPLY_MAX bytes are ever read,
 * and it decides on the prefix it has (so a one-byte-per-record reply
 * works). Errors: verify_hello_build fails (-1) only when the message does
 * not fit the caller's buffer or the RNG fails; everything the peer sends
 * is a verify_hello_reply kind.
 */
#ifndef MAILCERT_VERIFY_HELLO_H
#define MAILCERT_VERIFY_HELLO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mailcert/verify.h"

#define VERIFY_HELLO_MAX 2048       /* bytes of one built ClientHello */
#define VERIFY_HELLO_REPLY_MAX 4096 /* bytes read while looking for a reply */
#define VERIFY_HELLO_SUITES_MAX 256

#define VERIFY_SSL3 0x0300
#define VERIFY_TLS10 0x0301
#define VERIFY_TLS11 0x0302
#define VERIFY_TLS12 0x0303

struct verify_hello {
	unsigned record_version; /* record layer version, e.g. 0x0301 */
	unsigned client_version; /* ClientHello.client_version */
	const uint16_t *suites;  /* cipher suite ids to offer, in order */
	size_t nsuites;
	const char *sni;  /* host name for SNI; NULL or an IP literal: none */
	bool extensions;  /* false: none at all, renegotiation SCSV instead */
};

enum verify_reply_kind {
	VERIFY_REPLY_MORE = 0,     /* parser: need more bytes */
	VERIFY_REPLY_SERVER_HELLO, /* version and suite are set */
	VERIFY_REPLY_ALERT,        /* alert_level and alert_desc are set */
	VERIFY_REPLY_GARBAGE,      /* not TLS, or broken TLS: why says how */
	VERIFY_REPLY_CLOSED,       /* the server closed before a decision */
	VERIFY_REPLY_TIMEOUT,      /* no decision within the timeout */
	VERIFY_REPLY_IOERR,        /* send/recv failed locally: why */
};

struct verify_hello_reply {
	enum verify_reply_kind kind;
	unsigned version; /* ServerHello.server_version */
	unsigned suite;   /* ServerHello.cipher_suite */
	unsigned alert_level;
	unsigned alert_desc;
	char why[128];
};

/* verify_hello_build - write one ClientHello record into out. */
int verify_hello_build(const struct verify_hello *h, unsigned char *out,
                       size_t size, size_t *len);

/* verify_hello_parse - judge the first len bytes the server sent. */
enum verify_reply_kind verify_hello_parse(const unsigned char *buf,
                                          size_t len,
                                          struct verify_hello_reply *out);

/* verify_hello_exchange - send msg on fd, read until a decision. */
void verify_hello_exchange(int fd, const unsigned char *msg, size_t len,
                           int timeout_ms, struct verify_hello_reply *out);

struct verify_conn;

/* verify_rawconn_open - connect to ep and run its STARTTLS dialog up to
 * the go-ahead; *out is then the connection (its fd a plain socket), the
 * caller's to end with verify_rawconn_close (which gives its connection
 * slot back). -1 with res->outcome and res->reason set when the peer did
 * not get there. */
int verify_rawconn_open(const struct mc_endpoint *ep,
                        const struct mc_probe_opts *opts,
                        struct mc_probe_result *res, struct verify_conn **out);

/* verify_rawconn_close - close and free a connection of
 * verify_rawconn_open (NULL: no-op). */
void verify_rawconn_close(struct verify_conn *c);

#endif
