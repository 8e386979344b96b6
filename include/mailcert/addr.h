/*
 * addr.h - the syntaxes of network addresses: one parser each, used by
 * the config loader and at run time alike, so a config that loads can run.
 *
 * Endpoint URLs (INTERFACE.md): SCHEME://HOST[:PORT][/] with SCHEME one of
 * smtp submission smtps imap imaps pop3 pop3s sieve tls (any case). HOST
 * is a DNS name (letters, digits, '-', '_', labels of 1 to 63, at most 253
 * characters, one trailing dot allowed; U-labels become A-labels,
 * mc_name_to_alabel), an IPv4 literal or a bracketed
 * IPv6 literal; PORT (1 to 65535) defaults per scheme, except tls:// where
 * it is required. Nothing else: no user info, no path, no query.
 *
 * Listen addresses (http_listen, tls_alpn_listen): HOST:PORT with HOST an
 * IPv4 literal, a bracketed IPv6 literal or "localhost" (127.0.0.1). No
 * host names: a responder binds before anything is resolved, and a name
 * that resolves differently later would silently move it.
 *
 * Server addresses (resolver, nsupdate_server, the etcd store): HOST[:PORT]
 * with HOST a DNS name, an IPv4 or a [bracketed IPv6] address
 * (mc_hostport_parse; the callers decide whether a name is allowed).
 *
 * Errors: mc_addr_endpoint_parse sets MC_ERR_USAGE (a URL may come from the
 * command line), mc_addr_listen_parse MC_ERR_CONFIG, mc_hostport_parse
 * MC_ERR_INPUT; all quote the text
 * (shortened), say what is wrong and what to write. The config loader
 * turns either into "FILE:LINE: KEY: ..." (exit 2).
 *
 * Ownership: the structs hold fixed-size copies; nothing to free.
 */
#ifndef MAILCERT_ADDR_H
#define MAILCERT_ADDR_H

#include <stdbool.h>
#include <sys/socket.h>

#include "mailcert/err.h"

#define MC_ADDR_HOST_MAX 256

enum mc_scheme {
	MC_SCHEME_SMTP = 0,   /* 25, STARTTLS */
	MC_SCHEME_SUBMISSION, /* 587, STARTTLS */
	MC_SCHEME_SMTPS,      /* 465, implicit TLS */
	MC_SCHEME_IMAP,       /* 143, STARTTLS */
	MC_SCHEME_IMAPS,      /* 993 */
	MC_SCHEME_POP3,       /* 110, STLS */
	MC_SCHEME_POP3S,      /* 995 */
	MC_SCHEME_SIEVE,      /* 4190, STARTTLS */
	MC_SCHEME_TLS,        /* any port (required), implicit TLS */
};

struct mc_endpoint {
	enum mc_scheme scheme;
	char host[MC_ADDR_HOST_MAX];     /* DNS name or IP literal, no [] */
	unsigned short port;             /* explicit or the scheme's default */
	bool host_is_ip;                 /* IPv4 or IPv6 literal */
	char url[MC_ADDR_HOST_MAX + 32]; /* canonical scheme://host:port */
};

struct mc_listen_addr {
	struct sockaddr_storage ss; /* AF_INET or AF_INET6, port set */
	socklen_t len;
};

/* mc_addr_endpoint_parse - parse an endpoint URL into *out (written only
 * on success); MC_ERR_USAGE naming the URL and the problem. */
int mc_addr_endpoint_parse(const char *url, struct mc_endpoint *out,
                           struct mc_err *err);

/* mc_addr_scheme_name - "smtp", "imaps", ... (static string; "unknown"). */
const char *mc_addr_scheme_name(enum mc_scheme scheme);

/* mc_addr_scheme_starttls - whether the scheme upgrades a plain session. */
bool mc_addr_scheme_starttls(enum mc_scheme scheme);

/* mc_addr_listen_parse - parse a listen address into *out (written only
 * on success); MC_ERR_CONFIG naming the text and the problem. */
int mc_addr_listen_parse(const char *spec, struct mc_listen_addr *out,
                         struct mc_err *err);

/* mc_hostport_parse - split "HOST[:PORT]" (HOST a DNS name, an IPv4
 * address or a [bracketed] IPv6 address; port 1-65535) into host (without
 * brackets, at most size-1 bytes) and *port (0 when absent): the server
 * addresses resolver, nsupdate_server and the etcd store URL. 0 or -1
 * (MC_ERR_INPUT naming the text). */
int mc_hostport_parse(const char *text, char *host, size_t size, int *port,
                      struct mc_err *err);

#endif
