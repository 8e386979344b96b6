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

#define OWNER_INODES 16
#define OWNER_ADDRS 8

/* The listening sockets of one endpoint on this host. */
struct listeners {
	unsigned long inode[OWNER_INODES];
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

/* owner_parse_line - one line of /proc/net/tcp{,6}: a LISTEN socket on
 * port at want or the wildcard (*inode set)? */
bool
owner_parse_line(const char *line, const char *want, unsigned port,
		 unsigned long *inode)
{
	char addr[40];
	unsigned p;
	unsigned long ino;

	if (!owner_listen_line(line, addr, &p, &ino) || p != port ||
	    (strcasecmp(addr, want) != 0 && !owner_zero(addr)))
		return false;
	*inode = ino;
	return true;
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

/* owner_scan - add the listeners of file (/proc/net/tcp or tcp6) on port
 * at the address hex to l; read line by line (its size is unknown). */
static void
owner_scan(const char *file, const char *hex, unsigned port,
	   struct listeners *l)
{
	FILE *f = fopen(file, "re");
	char *line = NULL;
	size_t cap = 0;

	if (f == NULL)
		return;
	while (l->n < OWNER_INODES && getline(&line, &cap, f) != -1)
		if (owner_parse_line(line, hex, port, &l->inode[l->n]))
			l->n++;
	free(line);
	fclose(f);
}

/* owner_addr - the listeners of one local address of the endpoint. */
static void
owner_addr(const struct sockaddr *sa, unsigned port, struct listeners *l)
{
	unsigned char mapped[16] = {[10] = 0xff, [11] = 0xff};
	char hex[40];

	if (sa->sa_family == AF_INET6) {
		owner_hex(((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr,
			  16, hex, sizeof(hex));
		owner_scan("/proc/net/tcp6", hex, port, l);
		return;
	}
	memcpy(mapped + 12, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	owner_hex(mapped + 12, 4, hex, sizeof(hex));
	owner_scan("/proc/net/tcp", hex, port, l);
	owner_hex(mapped, 16, hex, sizeof(hex)); /* a dual-stack listener */
	owner_scan("/proc/net/tcp6", hex, port, l);
}

/* owner_listeners - the listening sockets on this host that serve ep. */
static void
owner_listeners(const struct mc_endpoint *ep, struct listeners *l)
{
	struct addrinfo hints, *res = NULL, *ai;
	char port[8];
	size_t k = 0;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	snprintf(port, sizeof(port), "%u", ep->port);
	l->n = 0;
	if (getaddrinfo(ep->host, port, &hints, &res) != 0)
		return;
	for (ai = res; ai != NULL && k < OWNER_ADDRS && l->n < OWNER_INODES;
	     ai = ai->ai_next, k++)
		if ((ai->ai_family == AF_INET || ai->ai_family == AF_INET6) &&
		    owner_local(ai->ai_addr, ai->ai_addrlen))
			owner_addr(ai->ai_addr, ep->port, l);
	freeaddrinfo(res);
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

/* owner_skip - the left-out daemon that owns ep, or NULL. */
const struct owner_daemon *
owner_skip(const struct mc_endpoint *ep, const struct owner_daemon *d,
	   size_t n)
{
	struct listeners l;
	bool unknown = false;
	size_t i;
	int r;

	owner_listeners(ep, &l);
	if (l.n == 0)
		return owner_by_scheme(ep, d, n, false);
	for (i = 0; i < n; i++) {
		unknown |= d[i].pid < 0;
		if (d[i].pid <= 0)
			continue;
		r = owner_holds(d[i].pid, &l);
		if (r == 1)
			return d[i].skip ? &d[i] : NULL;
		unknown |= r == -1;
	}
	/* a process we know nothing of listens there: it must serve it */
	return unknown ? owner_by_scheme(ep, d, n, true) : NULL;
}

/* owner_all_listeners - the inodes of every listening TCP socket of this
 * host into *out (*n of them, malloc'd); -1 when /proc/net cannot be read
 * or memory runs out. */
static int
owner_all_listeners(unsigned long **out, size_t *n)
{
	static const char *const files[] = {"/proc/net/tcp", "/proc/net/tcp6"};
	unsigned long *v = NULL, ino, *nv;
	size_t cap = 0, k;
	char *line = NULL, addr[40];
	unsigned port;
	int opened = 0;
	FILE *f;

	*n = 0;
	for (k = 0; k < 2; k++) {
		if ((f = fopen(files[k], "re")) == NULL)
			continue; /* no IPv6 */
		opened++;
		while (getline(&line, &cap, f) != -1) {
			if (!owner_listen_line(line, addr, &port, &ino))
				continue;
			if (*n % 64 == 0) {
				nv = realloc(v, (*n + 64) * sizeof(*v));
				if (nv == NULL) {
					fclose(f);
					free(line);
					free(v);
					return -1;
				}
				v = nv;
			}
			v[(*n)++] = ino;
		}
		fclose(f);
	}
	free(line);
	*out = v;
	return opened > 0 ? 0 : -1;
}

/* owner_listen_count - see owner_int.h. */
int
owner_listen_count(long pid)
{
	unsigned long *all = NULL;
	size_t n;
	int count;

	if (owner_all_listeners(&all, &n) == -1)
		return -1;
	count = owner_pid_sockets(pid, all, n, false);
	free(all);
	return count;
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
