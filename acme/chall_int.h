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

/* acme_token_ok - whether token is a plausible ACME token: 1-256
 * base64url characters (safe as a file name and in a URL path). */
bool acme_token_ok(const char *token);

#endif
