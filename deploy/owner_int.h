/*
 * owner_int.h - which deploy target's daemon serves a verify endpoint
 * (deploy/owner.c), so that the live check can leave out the endpoints of
 * a daemon that does not read mailcert's files yet or does not run.
 *
 * An endpoint belongs to the target whose daemon master holds the
 * listening socket of its address and port (/proc/net/tcp{,6} and
 * /proc/PID/fd; masters keep their listeners open). When nothing on this
 * host listens there, or the listener's process cannot be told (no
 * access to its /proc entries), the scheme names the candidates (for a
 * port something listens on, never a daemon known not to run): SMTP,
 * submission and SMTPS belong to Postfix and Exim targets, IMAP, POP3 and
 * ManageSieve to Dovecot targets, tls:// to none. The pure parser is
 * exported for the unit tests. Nothing here allocates what it returns.
 */
#ifndef MAILCERT_DEPLOY_OWNER_INT_H
#define MAILCERT_DEPLOY_OWNER_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "mailcert/config.h"
#include "mailcert/verify.h"

/* One daemon target of the cert being verified. */
struct owner_daemon {
	const char *target;       /* the target's name (borrowed) */
	enum mc_target_type type;
	long pid;                 /* its master; 0 it does not run, -1 unknown */
	bool skip;                /* its endpoints are left out */
	const char *why;          /* why, for the live row (borrowed) */
};

/* owner_parse_line - whether one line of /proc/net/tcp or tcp6 (the
 * address as the kernel prints it) is a LISTEN socket on port whose local
 * address is want (hex as printed) or the all-zero wildcard; *inode set
 * when it is. */
bool owner_parse_line(const char *line, const char *want, unsigned port,
		      unsigned long *inode);

/* owner_hex - addr (len 4 or 16, network order) as /proc/net prints it. */
void owner_hex(const unsigned char *addr, size_t len, char *buf, size_t size);

/* owner_skip - the daemon whose endpoints are left out and that owns ep
 * (NULL: ep must serve the certificate). */
const struct owner_daemon *owner_skip(const struct mc_endpoint *ep,
				      const struct owner_daemon *d, size_t n);

/* owner_listen_count - how many listening TCP sockets process pid holds
 * (-1: cannot be read: no access to its /proc entries, or it is gone). */
int owner_listen_count(long pid);

/* owner_listen_count_in - owner_listen_count with the socket tables read
 * from the files tcp and tcp6 (owner_listen_count: /proc/net/tcp and
 * tcp6): a file that cannot be opened has no sockets (a host without
 * IPv6 has no tcp6), -1 when neither can be. */
int owner_listen_count_in(long pid, const char *tcp, const char *tcp6);

/* owner_wait_listening - after a reload of the daemon whose master is pid
 * and that held `before` listening sockets just before it: wait until it
 * holds as many again, it is gone, a stop signal comes, or timeout_ms
 * have passed (false then). Exim re-execs itself on SIGHUP, closing its listeners and
 * binding them anew (~30 ms idle, longer under load); until then its
 * ports refuse connections, and an endpoint of it where nothing listens
 * looked like the endpoint of a stopped daemon of the same protocol
 * (owner_skip), its rows left out. Masters that keep their listeners
 * (Postfix, Dovecot) return at once. */
bool owner_wait_listening(long pid, int before, long timeout_ms);

#endif
