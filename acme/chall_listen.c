/*
 * chall_listen.c - listen addresses and tokens for the challenge responders
 * (see acme/chall_int.h).
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mailcert/acme.h"

#include "acme/chall_int.h"
#include "mailcert/addr.h"

#define LISTEN_BACKLOG 512 /* a CA validates all names of an order at once */
#define TOKEN_MAX 256

/* listen_bind - bind fd to ss and listen. */
static int
listen_bind(int fd, const struct sockaddr_storage *ss, socklen_t len,
            const char *spec, const char *what, struct mc_err *err)
{
	int one = 1;

	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)ss, len) == -1)
		return mc_err_errno(err, MC_ERR_SYS, "%s: cannot bind %s", what,
		                    spec);
	if (listen(fd, LISTEN_BACKLOG) == -1)
		return mc_err_errno(err, MC_ERR_SYS, "%s: cannot listen on %s",
		                    what, spec);
	return 0;
}

/* acme_listen_open - a listening socket on spec, or -1. */
int
acme_listen_open(const char *spec, const char *what, struct mc_err *err)
{
	struct mc_listen_addr la;
	int fd;

	if (mc_addr_listen_parse(spec, &la, err) == -1)
		return mc_err_prefix(err, "%s", what);
	fd = socket(la.ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return mc_err_errno(err, MC_ERR_SYS,
		                    "%s: cannot create a socket "
		                    "for %s",
		                    what, spec);
	if (listen_bind(fd, &la.ss, la.len, spec, what, err) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/* mc_acme_listen_probe - bind and listen on spec once, then close. */
int
mc_acme_listen_probe(const char *spec, const char *what, struct mc_err *err)
{
	int fd = acme_listen_open(spec, what, err);

	if (fd == -1)
		return -1;
	close(fd);
	return 0;
}

/* acme_token_ok - whether token is 1-256 base64url characters. */
bool
acme_token_ok(const char *token)
{
	size_t n;

	if (token == NULL)
		return false;
	n = strspn(token, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	                  "0123456789-_");
	return n > 0 && n <= TOKEN_MAX && token[n] == '\0';
}
