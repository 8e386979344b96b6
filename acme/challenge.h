/*
 * challenge.h - challenge responders used by the order code (acme-internal).
 *
 * http-01: either a built-in HTTP responder (libmicrohttpd) bound to
 * "HOST:PORT", which answers GET /.well-known/acme-challenge/<token> with
 * the key authorization and 404 for everything else; or token files
 * written atomically under WEBROOT/.well-known/acme-challenge/ (mode 0644),
 * removed again by acme_http01_stop().
 *
 * tls-alpn-01 (RFC 8737): a TLS server on "HOST:PORT" that answers a
 * ClientHello offering ALPN "acme-tls/1" for a registered name (by SNI;
 * an IP address by its reverse-DNS name, RFC 8738 section 6) with a fresh
 * self-signed certificate carrying that name (or address) as its only
 * SAN and the critical id-pe-acmeIdentifier extension (OID
 * 1.3.6.1.5.5.7.1.31) holding the SHA-256 of the key authorization as a
 * DER OCTET STRING; it negotiates "acme-tls/1" and closes.
 *
 * dns-01: acme_dns01_hook() execs the configured hook without a shell as
 * `HOOK add|del FQDN VALUE` (FQDN "_acme-challenge.<name>", VALUE the
 * base64url SHA-256 of the key authorization) with a timeout.
 *
 * Responders run in their own threads from start until stop. start
 * returns NULL with an error (MC_ERR_SYS/MC_ERR_NET naming the address,
 * e.g. "http-01 responder: cannot bind 127.0.0.1:80: Permission denied");
 * stop(NULL) is a no-op. Key authorizations are secrets-in-transit: never
 * logged.
 */
#ifndef MAILCERT_ACME_CHALLENGE_H
#define MAILCERT_ACME_CHALLENGE_H

#include <stddef.h>

#include "mailcert/acme.h"
#include "mailcert/err.h"

struct acme_http01;
struct acme_tlsalpn01;

/* acme_http01_start - start the built-in responder on listen, or (webroot
 * non-NULL and non-empty) prepare the webroot directory. */
struct acme_http01 *acme_http01_start(const char *listen, const char *webroot,
				      struct mc_err *err);

/* acme_http01_add - serve keyauth for token (both copied). */
int acme_http01_add(struct acme_http01 *h, const char *token,
		    const char *keyauth, struct mc_err *err);

/* acme_http01_stop - stop the responder / remove the token files; frees h. */
void acme_http01_stop(struct acme_http01 *h);

/* acme_tlsalpn01_start - start the tls-alpn-01 responder on listen. */
struct acme_tlsalpn01 *acme_tlsalpn01_start(const char *listen,
					    struct mc_err *err);

/* acme_tlsalpn01_sni - the SNI name the CA sends for ident into buf (at
 * least 73 bytes for an address): the name itself, or for an IP address
 * the reverse-DNS name of RFC 8738 section 6 ("4.3.2.1.in-addr.arpa",
 * 32 nibbles + "ip6.arpa"); -1 when buf is too small. */
int acme_tlsalpn01_sni(const char *ident, char *buf, size_t size);

/* acme_tlsalpn01_add - answer for name (a DNS name or an IP address) with
 * the SHA-256 of keyauth. */
int acme_tlsalpn01_add(struct acme_tlsalpn01 *t, const char *name,
		       const char *keyauth, struct mc_err *err);

/* acme_tlsalpn01_stop - stop the responder; frees t. */
void acme_tlsalpn01_stop(struct acme_tlsalpn01 *t);

/* acme_dns01_value - the TXT value for keyauth (new string). */
char *acme_dns01_value(const char *keyauth, struct mc_err *err);

/* acme_dns01_hook - run `hook op fqdn value` (op "add" or "del") with a
 * timeout in seconds; a non-zero exit, a signal or the timeout is an
 * MC_ERR_CHALLENGE error naming the hook and what happened. */
int acme_dns01_hook(const char *hook, const char *op, const char *fqdn,
		    const char *value, long timeout, struct mc_err *err);

/* acme_dns01_publish - op ("add"/"del") the TXT record through conf's
 * dns_hook, or without one through an RFC 2136 update to nsupdate_server
 * (MC_ERR_CHALLENGE naming the server and what it said). */
int acme_dns01_publish(const struct mc_acme_challenge_conf *conf, const char *op,
		       const char *fqdn, const char *value, struct mc_err *err);

#endif
