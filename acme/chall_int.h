/*
 * chall_int.h - helpers shared by the challenge responders (acme-internal).
 *
 * acme_listen_open() parses "HOST:PORT" with mc_addr_listen_parse (the
 * parser the config loader uses: mailcert/addr.h) and returns a bound,
 * listening, close-on-exec TCP socket. A malformed address is
 * MC_ERR_CONFIG; socket, bind and listen failures are
 * MC_ERR_SYS naming the address and the errno text. `what` ("http-01
 * responder") starts every message.
 */
#ifndef MAILCERT_ACME_CHALL_INT_H
#define MAILCERT_ACME_CHALL_INT_H

#include <stdbool.h>
#include <sys/socket.h>

#include "mailcert/err.h"

/* acme_listen_open - a listening socket on listen (see above), or -1. */
int acme_listen_open(const char *spec, const char *what, struct mc_err *err);

/* --- chall_guard.c: who may hold a connection (both responders) ---
 * Every connection must finish its request headers or TLS handshake
 * within ACME_GUARD_DEADLINE_MS. One address (IPv4, or an IPv6 /64) keeps
 * at most ACME_GUARD_PER_ADDR unfinished connections older than
 * ACME_GUARD_GRACE_MS (a newcomer closes its oldest), and above
 * ACME_GUARD_SLOTS the oldest unfinished connection of the address that
 * holds the most is closed, so a validator always gets in. The table is
 * not locked: the caller serialises (one thread, or a mutex). */

#define ACME_GUARD_DEADLINE_MS 3000 /* request headers / handshake */
#define ACME_GUARD_GRACE_MS 250     /* a fresh burst is not evicted */
#define ACME_GUARD_PER_ADDR 8       /* unfinished, past the grace */
/* A CA validates every name of an order at once, from each of its
 * perspectives (Pebble: 3 requests per name from 127.0.0.1): a 100-name
 * order brings ~300 fresh connections together, which must all get in. */
#define ACME_GUARD_SLOTS 512        /* above this, evict */
#define ACME_GUARD_MAX 640          /* hard cap: refuse beyond */
#define ACME_GUARD_KEY 16

struct acme_guard_entry {
	int fd;
	unsigned char key[ACME_GUARD_KEY]; /* see acme_guard_key */
	long long since;                   /* ms, monotonic: accepted */
	bool done;                         /* headers / handshake complete */
	bool evicted;                      /* handed out to be closed */
};

struct acme_guard {
	struct acme_guard_entry e[ACME_GUARD_MAX];
	size_t n;
};

/* acme_guard_key - the admission key of a peer address: an IPv4 address
 * (also v4-mapped) or the /64 of an IPv6 address. */
void acme_guard_key(const struct sockaddr *sa, socklen_t len,
                    unsigned char key[ACME_GUARD_KEY]);

/* acme_guard_admit - record fd (peer key, accepted at now ms); writes the
 * fds the caller must close at once (they stay in the table, marked, until
 * acme_guard_drop) into victims; returns their number (0-2), or -1 when
 * the table is full and fd must be refused. */
int acme_guard_admit(struct acme_guard *g, int fd,
                     const unsigned char key[ACME_GUARD_KEY], long long now,
                     int victims[2]);

/* acme_guard_done - fd finished its request headers / handshake. */
void acme_guard_done(struct acme_guard *g, int fd);

/* acme_guard_drop - fd was closed: forget it. */
void acme_guard_drop(struct acme_guard *g, int fd);

/* acme_guard_expired - the unfinished fds past ACME_GUARD_DEADLINE_MS (at
 * most max, marked as handed out); the caller closes them. */
size_t acme_guard_expired(struct acme_guard *g, long long now, int *fds,
                          size_t max);

/* acme_token_ok - whether token is a plausible ACME token: 1-256
 * base64url characters (safe as a file name and in a URL path). */
bool acme_token_ok(const char *token);

#endif
