/*
 * owner.c - which deploy target's daemon serves a verify endpoint (see
 * deploy/owner_int.h): the master that holds the listening socket, else
 * the daemons that speak the endpoint's protocol.
 */
#include <dirent.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "deploy/owner_int.h"
#include "mailcert/time.h"

#define OWNER_ADDRS 8

/* Listening sockets: of one endpoint, or every one of this host. */
struct listeners {
	unsigned long *inode; /* malloc'd */
	size_t n;
};

/* owner_hex - addr as /proc/net/tcp{,6} prints it: each 32-bit word in
 * host order, %08X. */
void
owner_hex(const unsigned char *addr, size_t len, char *buf, size_t size)
{
	size_t i, off = 0;
	uint32_t w;

	buf[0] = '\0';
	for (i = 0; i + 4 <= len && off < size; i += 4) {
		memcpy(&w, addr + i, 4);
		off += (size_t)snprintf(buf + off, size - off, "%08X",
					(unsigned)w);
	}
}

/* owner_zero - whether hex is all zeros (the wildcard address). */
static bool
owner_zero(const char *hex)
{
	return hex[strspn(hex, "0")] == '\0';
}

/* owner_listen_line - one line of /proc/net/tcp{,6}: a LISTEN socket?
 * Its local address (hex as printed), port and inode then. */
static bool
owner_listen_line(const char *line, char addr[40], unsigned *port,
		  unsigned long *inode)
{
	unsigned st;

	return sscanf(line, " %*s %39[0-9A-Fa-f]:%X %*s %X %*s %*s %*s %*s %*s %lu",
		      addr, port, &st, inode) == 4 &&
	       st == 0x0A && *inode != 0;
}

/* owner_match - whether a listener at addr:p (hex as printed) serves the
 * address want (hex as printed) on port: that address or the wildcard. */
static bool
owner_match(const char *addr, unsigned p, const char *want, unsigned port)
{
	return p == port && (strcasecmp(addr, want) == 0 || owner_zero(addr));
}

/* owner_parse_line - one line of /proc/net/tcp{,6}: a LISTEN socket on
 * port at want or the wildcard (*inode set)? */
bool
owner_parse_line(const char *line, const char *want, unsigned port,
		 unsigned long *inode)
{
	char addr[40];
	unsigned p;
	unsigned long ino;

	if (!owner_listen_line(line, addr, &p, &ino) ||
	    !owner_match(addr, p, want, port))
		return false;
	*inode = ino;
	return true;
}

/* owner_read - the one reader of /proc/net/tcp{,6}: add to l the LISTEN
 * sockets of file on port at the address hex (hex as printed) or the
 * wildcard, or every one when hex is NULL; read line by line (its size is
 * unknown). 0 when read, 1 when file cannot be opened (tcp6 without
 * IPv6), -1 when memory runs out. */
static int
owner_read(const char *file, const char *hex, unsigned port,
	   struct listeners *l)
{
	FILE *f = fopen(file, "re");
	char *line = NULL, addr[40];
	unsigned long inode, *nv;
	size_t cap = 0;
	unsigned p;
	int r = 0;

	if (f == NULL)
		return 1;
	while (getline(&line, &cap, f) != -1) {
		if (hex != NULL ? !owner_parse_line(line, hex, port, &inode)
				: !owner_listen_line(line, addr, &p, &inode))
			continue;
		if (l->n % 64 == 0) {
			nv = realloc(l->inode, (l->n + 64) * sizeof(*nv));
			if (nv == NULL) {
				r = -1;
				break;
			}
			l->inode = nv;
		}
		l->inode[l->n++] = inode;
	}
	free(line);
	fclose(f);
	return r;
}

/* owner_local - whether addr is an address of this host (binding to it
 * works). */
static bool
owner_local(const struct sockaddr *sa, socklen_t len)
{
	struct sockaddr_storage ss;
	int fd = socket(sa->sa_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	bool ok;

	if (fd == -1 || len > sizeof(ss))
		return false;
	memcpy(&ss, sa, len);
	if (ss.ss_family == AF_INET)
		((struct sockaddr_in *)&ss)->sin_port = 0;
	else
		((struct sockaddr_in6 *)&ss)->sin6_port = 0;
	ok = bind(fd, (struct sockaddr *)&ss, len) == 0;
	close(fd);
	return ok;
}

/* owner_addr - add the listeners of one local address of the endpoint to
 * l; -1 when memory runs out. */
static int
owner_addr(const struct sockaddr *sa, unsigned port, struct listeners *l)
{
	unsigned char mapped[16] = {[10] = 0xff, [11] = 0xff};
	char hex[40];

	if (sa->sa_family == AF_INET6) {
		owner_hex(((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr,
			  16, hex, sizeof(hex));
		return owner_read("/proc/net/tcp6", hex, port, l);
	}
	memcpy(mapped + 12, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	owner_hex(mapped + 12, 4, hex, sizeof(hex));
	if (owner_read("/proc/net/tcp", hex, port, l) == -1)
		return -1;
	owner_hex(mapped, 16, hex, sizeof(hex)); /* a dual-stack listener */
	return owner_read("/proc/net/tcp6", hex, port, l);
}

/* owner_listeners - the listening sockets on this host that serve ep
 * (none when memory runs out: as when /proc/net cannot be read). */
static void
owner_listeners(const struct mc_endpoint *ep, struct listeners *l)
{
	struct addrinfo hints, *res = NULL, *ai;
	char port[8];
	size_t k = 0;
	int r = 0;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	snprintf(port, sizeof(port), "%u", ep->port);
	if (getaddrinfo(ep->host, port, &hints, &res) != 0)
		return;
	for (ai = res; ai != NULL && k < OWNER_ADDRS && r != -1;
	     ai = ai->ai_next, k++)
		if ((ai->ai_family == AF_INET || ai->ai_family == AF_INET6) &&
		    owner_local(ai->ai_addr, ai->ai_addrlen))
			r = owner_addr(ai->ai_addr, ep->port, l);
	freeaddrinfo(res);
	if (r == -1)
		l->n = 0;
}

/* owner_pid_sockets - how many of pid's descriptors are sockets among
 * the n inodes (counting stops at the first one when first_only); -1 when
 * its descriptors cannot be read. */
static int
owner_pid_sockets(long pid, const unsigned long *inodes, size_t n,
		  bool first_only)
{
	char path[64], link[64];
	struct dirent *e;
	unsigned long inode;
	DIR *d;
	ssize_t len;
	size_t i;
	int count = 0;

	snprintf(path, sizeof(path), "/proc/%ld/fd", pid);
	if ((d = opendir(path)) == NULL)
		return -1;
	while (!(first_only && count > 0) && (e = readdir(d)) != NULL) {
		len = readlinkat(dirfd(d), e->d_name, link, sizeof(link) - 1);
		if (len <= 0)
			continue;
		link[len] = '\0';
		if (sscanf(link, "socket:[%lu]", &inode) != 1)
			continue;
		for (i = 0; i < n; i++)
			if (inodes[i] == inode) {
				count++;
				break;
			}
	}
	closedir(d);
	return count;
}

/* owner_holds - 1 when process pid holds one of l's sockets, 0 when not,
 * -1 when its descriptors cannot be read. */
static int
owner_holds(long pid, const struct listeners *l)
{
	int r = owner_pid_sockets(pid, l->inode, l->n, true);

	return r > 0 ? 1 : r;
}

/* owner_speaks - whether a daemon of type serves the scheme. */
static bool
owner_speaks(enum mc_target_type type, enum mc_scheme scheme)
{
	switch (scheme) {
	case MC_SCHEME_SMTP:
	case MC_SCHEME_SUBMISSION:
	case MC_SCHEME_SMTPS:
		return type == MC_TARGET_POSTFIX || type == MC_TARGET_EXIM;
	case MC_SCHEME_TLS:
		return false;
	default:
		return type == MC_TARGET_DOVECOT;
	}
}

/* owner_by_scheme - no process of a target is seen serving ep: a left-out
 * daemon of its protocol that is not known to run (nothing listens
 * because it is down), else one when every daemon of its protocol is left
 * out. When something does listen there (listening), a daemon known not
 * to run cannot be it and is no candidate. */
static const struct owner_daemon *
owner_by_scheme(const struct mc_endpoint *ep, const struct owner_daemon *d,
		size_t n, bool listening)
{
	const struct owner_daemon *first = NULL;
	size_t i, speak = 0, left = 0;

	for (i = 0; i < n; i++) {
		if (!owner_speaks(d[i].type, ep->scheme) ||
		    (listening && d[i].pid == 0))
			continue;
		speak++;
		if (!d[i].skip)
			continue;
		left++;
		if (d[i].pid <= 0)
			return &d[i];
		if (first == NULL)
			first = &d[i];
	}
	return speak > 0 && left == speak ? first : NULL;
}

/* owner_held - the left-out daemon that owns an endpoint something
 * listens on (its listeners l), or NULL. */
static const struct owner_daemon *
owner_held(const struct mc_endpoint *ep, const struct owner_daemon *d,
	   size_t n, const struct listeners *l)
{
	bool unknown = false;
	size_t i;
	int r;

	for (i = 0; i < n; i++) {
		unknown |= d[i].pid < 0;
		if (d[i].pid <= 0)
			continue;
		r = owner_holds(d[i].pid, l);
		if (r == 1)
			return d[i].skip ? &d[i] : NULL;
		unknown |= r == -1;
	}
	/* a process we know nothing of listens there: it must serve it */
	return unknown ? owner_by_scheme(ep, d, n, true) : NULL;
}

/* owner_skip - the left-out daemon that owns ep, or NULL. */
const struct owner_daemon *
owner_skip(const struct mc_endpoint *ep, const struct owner_daemon *d,
	   size_t n)
{
	struct listeners l = {NULL, 0};
	const struct owner_daemon *o;

	owner_listeners(ep, &l);
	if (l.n == 0)
		o = owner_by_scheme(ep, d, n, false);
	else
		o = owner_held(ep, d, n, &l);
	free(l.inode);
	return o;
}

/* owner_listen_count_in - see owner_int.h. */
int
owner_listen_count_in(long pid, const char *tcp, const char *tcp6)
{
	struct listeners all = {NULL, 0};
	int v4 = owner_read(tcp, NULL, 0, &all), v6 = -1;
	int count = -1;

	if (v4 != -1)
		v6 = owner_read(tcp6, NULL, 0, &all);
	if (v6 != -1 && (v4 == 0 || v6 == 0)) /* read, no IPv6 at most */
		count = owner_pid_sockets(pid, all.inode, all.n, false);
	free(all.inode);
	return count;
}

/* owner_listen_count - see owner_int.h. */
int
owner_listen_count(long pid)
{
	return owner_listen_count_in(pid, "/proc/net/tcp", "/proc/net/tcp6");
}

/* owner_wait_listening - see owner_int.h. */
bool
owner_wait_listening(long pid, int before, long timeout_ms)
{
	long long until = mc_now_ms() + timeout_ms;
	int now;

	for (;;) {
		now = owner_listen_count(pid);
		if (now == -1 || now >= before)
			return true;
		if (mc_now_ms() >= until)
			return false;
		if (mc_sleep_ms(10) == -1)
			return true; /* a stop signal: on to the live check */
	}
}
