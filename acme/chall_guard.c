/*
 * chall_guard.c - who may hold a connection to a challenge responder (see
 * acme/chall_int.h).
 *
 * A validator connects, sends its request or ClientHello at once and is
 * gone within milliseconds; an attacker who wants the challenge to fail
 * connects and then says nothing, or a byte every few seconds. So every
 * connection has to finish its request headers (http-01) or handshake
 * (tls-alpn-01) within ACME_GUARD_DEADLINE_MS, and connections that have
 * not are what gets closed when room is needed:
 *  - one address (an IPv4 address, or the /64 of an IPv6 address, which
 *    one host usually holds whole) keeps at most ACME_GUARD_PER_ADDR such
 *    connections older than ACME_GUARD_GRACE_MS: a newcomer from it closes
 *    its oldest one (a burst of fresh connections - a validator checking
 *    many names at once - is left alone);
 *  - above ACME_GUARD_SLOTS connections, the oldest unfinished connection
 *    of the address holding the most unfinished ones is closed.
 * So no set of addresses can keep a validator out: its connection always
 * gets a slot, and only connections of the greediest address are closed.
 */
#include <netinet/in.h>
#include <string.h>

#include "acme/chall_int.h"

/* acme_guard_key - the admission key of a peer: IPv4 (also v4-mapped)
 * as ::ffff:a.b.c.d, IPv6 cut to its /64. */
void
acme_guard_key(const struct sockaddr *sa, socklen_t len,
               unsigned char key[ACME_GUARD_KEY])
{
	const struct sockaddr_in *in4 = (const struct sockaddr_in *)sa;
	const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;

	memset(key, 0, ACME_GUARD_KEY);
	if (sa == NULL)
		return;
	if (sa->sa_family == AF_INET && len >= sizeof(*in4)) {
		key[10] = key[11] = 0xff;
		memcpy(key + 12, &in4->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6 && len >= sizeof(*in6)) {
		memcpy(key, &in6->sin6_addr, 16);
		if (!IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr))
			memset(key + 8, 0, 8); /* the /64 */
	}
}

/* guard_find - index of fd in g, or -1. */
static long
guard_find(const struct acme_guard *g, int fd)
{
	size_t i;

	for (i = 0; i < g->n; i++)
		if (g->e[i].fd == fd)
			return (long)i;
	return -1;
}

/* guard_open - whether entry e still counts: not finished, not closed. */
static bool
guard_open(const struct acme_guard_entry *e)
{
	return !e->done && !e->evicted;
}

/* guard_oldest - the oldest unfinished entry with key (any key if NULL)
 * started before `before`; its index or -1. */
static long
guard_oldest(const struct acme_guard *g, const unsigned char *key,
             long long before)
{
	long best = -1;
	size_t i;

	for (i = 0; i < g->n; i++) {
		const struct acme_guard_entry *e = &g->e[i];

		if (!guard_open(e) || e->since >= before ||
		    (key != NULL && memcmp(e->key, key, ACME_GUARD_KEY) != 0))
			continue;
		if (best == -1 || e->since < g->e[best].since)
			best = (long)i;
	}
	return best;
}

/* guard_count - unfinished entries with key started before `before`. */
static size_t
guard_count(const struct acme_guard *g, const unsigned char *key,
            long long before)
{
	size_t i, n = 0;

	for (i = 0; i < g->n; i++)
		if (guard_open(&g->e[i]) && g->e[i].since < before &&
		    memcmp(g->e[i].key, key, ACME_GUARD_KEY) == 0)
			n++;
	return n;
}

/* guard_busiest - the oldest unfinished entry of the key holding the most
 * unfinished entries; its index or -1. */
static long
guard_busiest(const struct acme_guard *g, long long now)
{
	size_t i, n, most = 0;
	long pick = -1;

	for (i = 0; i < g->n; i++) {
		if (!guard_open(&g->e[i]))
			continue;
		n = guard_count(g, g->e[i].key, now + 1);
		if (n > most) {
			most = n;
			pick = guard_oldest(g, g->e[i].key, now + 1);
		}
	}
	return pick;
}

/* guard_evict - mark entry i closed and hand its fd out. */
static void
guard_evict(struct acme_guard *g, long i, int *victims, int *nv)
{
	g->e[i].evicted = true;
	victims[(*nv)++] = g->e[i].fd;
}

/* guard_live - entries not yet closed by us. */
static size_t
guard_live(const struct acme_guard *g)
{
	size_t i, n = 0;

	for (i = 0; i < g->n; i++)
		n += !g->e[i].evicted;
	return n;
}

/* acme_guard_admit - record fd from key; the fds to close now. */
int
acme_guard_admit(struct acme_guard *g, int fd,
                 const unsigned char key[ACME_GUARD_KEY], long long now,
                 int victims[2])
{
	struct acme_guard_entry *e;
	int nv = 0;
	long i;

	if (g->n >= ACME_GUARD_MAX)
		return -1;
	if (guard_count(g, key, now - ACME_GUARD_GRACE_MS) >=
	    ACME_GUARD_PER_ADDR) {
		i = guard_oldest(g, key, now - ACME_GUARD_GRACE_MS);
		if (i != -1)
			guard_evict(g, i, victims, &nv);
	}
	e = &g->e[g->n++];
	memset(e, 0, sizeof(*e));
	e->fd = fd;
	memcpy(e->key, key, ACME_GUARD_KEY);
	e->since = now;
	if (guard_live(g) > ACME_GUARD_SLOTS) {
		i = guard_busiest(g, now);
		if (i != -1)
			guard_evict(g, i, victims, &nv);
	}
	return nv;
}

/* acme_guard_done - fd finished its request or handshake in time. */
void
acme_guard_done(struct acme_guard *g, int fd)
{
	long i = guard_find(g, fd);

	if (i != -1)
		g->e[i].done = true;
}

/* acme_guard_drop - fd is closed: forget it. */
void
acme_guard_drop(struct acme_guard *g, int fd)
{
	long i = guard_find(g, fd);

	if (i == -1)
		return;
	g->e[i] = g->e[--g->n];
}

/* acme_guard_expired - unfinished fds past the deadline (marked closed). */
size_t
acme_guard_expired(struct acme_guard *g, long long now, int *fds, size_t max)
{
	size_t i, n = 0;

	for (i = 0; i < g->n && n < max; i++) {
		if (!guard_open(&g->e[i]) ||
		    now - g->e[i].since < ACME_GUARD_DEADLINE_MS)
			continue;
		g->e[i].evicted = true;
		fds[n++] = g->e[i].fd;
	}
	return n;
}
