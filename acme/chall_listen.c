/*
 * chall_listen.c - listen addresses and tokens for the challenge responders
 * (see acme/chall_int.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mailcert/acme.h"

#include "acme/chall_int.h"

#define LISTEN_WANT                                                            \
	"want HOST:PORT with an IPv4 address, [IPv6 address] or localhost"
#define LISTEN_BACKLOG 512 /* a CA validates all names of an order at once */
#define TOKEN_MAX 256

/* listen_port - parse a decimal port 1-65535; -1 if it is not one. */
static int
listen_port(const char *s)
{
	long v = 0;

	if (*s == '\0' || strlen(s) > 5)
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (*s - '0');
	}
	return v >= 1 && v <= 65535 ? (int)v : -1;
}

/* listen_split - split spec into host (without brackets) and port text. */
static int
listen_split(const char *spec, char *host, size_t size, const char **port)
{
	const char *colon, *end;

	if (spec[0] == '[') {
		end = strchr(spec, ']');
		if (end == NULL || end[1] != ':')
			return -1;
		spec++;
		colon = end + 1;
	} else {
		colon = strrchr(spec, ':');
		if (colon == NULL || memchr(spec, ':', (size_t)(colon - spec)))
			return -1;
		end = colon;
	}
	if (end == spec || (size_t)(end - spec) >= size)
		return -1;
	memcpy(host, spec, (size_t)(end - spec));
	host[end - spec] = '\0';
	*port = colon + 1;
	return 0;
}

/* listen_host - fill ss with host (bracketed: IPv6) and port. */
static int
listen_host(const char *host, bool bracketed, int port,
            struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (!bracketed && strcmp(host, "localhost") == 0)
		host = "127.0.0.1";
	if (!bracketed && inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons((unsigned short)port);
		*len = sizeof(*in4);
		return 0;
	}
	if (bracketed && inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((unsigned short)port);
		*len = sizeof(*in6);
		return 0;
	}
	return -1;
}

/* acme_listen_parse - parse spec into *ss / *len. */
int
acme_listen_parse(const char *spec, const char *what,
                  struct sockaddr_storage *ss, socklen_t *len,
                  struct mc_err *err)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *port_s;
	int port;

	if (spec == NULL || spec[0] == '\0')
		return mc_err_set(err, MC_ERR_CONFIG,
		                  "%s: no listen address (%s)", what,
		                  LISTEN_WANT);
	if (listen_split(spec, host, sizeof(host), &port_s) == -1)
		return mc_err_set(err, MC_ERR_CONFIG,
		                  "%s: invalid listen "
		                  "address \"%.100s\" (%s)",
		                  what, spec, LISTEN_WANT);
	port = listen_port(port_s);
	if (port == -1)
		return mc_err_set(err, MC_ERR_CONFIG,
		                  "%s: invalid port in listen "
		                  "address \"%.100s\" (want 1-65535)",
		                  what, spec);
	if (listen_host(host, spec[0] == '[', port, ss, len) == -1)
		return mc_err_set(err, MC_ERR_CONFIG,
		                  "%s: invalid host in listen "
		                  "address \"%.100s\" (%s)",
		                  what, spec, LISTEN_WANT);
	return 0;
}

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
	struct sockaddr_storage ss;
	socklen_t len;
	int fd;

	if (acme_listen_parse(spec, what, &ss, &len, err) == -1)
		return -1;
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return mc_err_errno(err, MC_ERR_SYS,
		                    "%s: cannot create a socket "
		                    "for %s",
		                    what, spec);
	if (listen_bind(fd, &ss, len, spec, what, err) == -1) {
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
