/*
 * rawconn.c - a plain socket that is ready for a hand-built ClientHello.
 *
 * Connect and run the scheme's STARTTLS dialog with the shared internals
 * of conn.c and starttls.c, then hand over the file descriptor instead of
 * starting OpenSSL. Bytes the server sent after its go-ahead would be
 * read as TLS by a real client (the STARTTLS injection bug), so they are
 * a protocol error here too.
 */
#include <stdlib.h>
#include <string.h>

#include "verify/hello.h"
#include "verify/verify_int.h"
#include "mailcert/time.h"

/* verify_rawconn_open - connect, STARTTLS up to the go-ahead, give the fd. */
int
verify_rawconn_open(const struct mc_endpoint *ep,
                    const struct mc_probe_opts *opts,
                    struct mc_probe_result *res, int *fd)
{
	struct verify_conn *c;
	int rc = -1;

	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return verify_fail(res, MC_PROBE_UNREACHABLE,
		                   "connect: out of memory");
	c->fd = -1;
	c->deadline = mc_now_ms() + opts->total_timeout_ms;
	c->io_timeout_ms = opts->io_timeout_ms;
	c->res = res;
	if (verify_conn_open(c, ep, opts, res) == -1)
		goto out;
	if (mc_verify_scheme_starttls(ep->scheme) &&
	    verify_starttls(c, ep->scheme, opts->ehlo_name) == -1)
		goto out;
	if (c->len > 0) {
		verify_fail(res, MC_PROBE_PROTOCOL_ERROR,
		            "%s: %zu unexpected bytes after the go-ahead",
		            c->stage, c->len);
		goto out;
	}
	*fd = c->fd;
	c->fd = -1;
	rc = 0;
out:
	verify_conn_close(c);
	free(c);
	return rc;
}
