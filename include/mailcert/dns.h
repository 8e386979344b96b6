/*
 * dns.h - DNSSEC-validated lookups (libunbound) and RFC 2136 dynamic
 * updates with TSIG (ldns), for DANE and for dns-01 without a hook.
 *
 * Lookups: struct mc_dns is a libunbound context that forwards to the
 * configured resolver (ADDR[:PORT]), to the servers of /etc/resolv.conf
 * (resolver unset), or resolves from the root itself ("recursive"), and
 * validates DNSSEC with the trust anchor file (DS or DNSKEY lines in zone
 * file syntax). It validates itself: the upstream resolver's AD bit is
 * never trusted. An answer is SECURE (validated), INSECURE (no anchor
 * covers it, or an unsigned delegation proven by the parent) or an error:
 * a BOGUS answer is an MC_ERR_NET error "... DNSSEC validation failed:
 * <unbound's reason>", as are SERVFAIL, REFUSED and the timeout. Callers
 * use records for DANE only when secure.
 *
 * Updates: mc_dns_update() sends one RFC 2136 UPDATE over TCP to
 * nsupdate_server, signed with the TSIG key of nsupdate_key (BIND key-file
 * syntax: key "NAME" { algorithm hmac-sha256; secret "BASE64"; };) and
 * checks the TSIG of the reply. The zone is found by asking the server for
 * the SOA of the name. Errors: MC_ERR_CONFIG for a bad key file (naming
 * file and line), MC_ERR_NET for transport, MC_ERR_INPUT for a refused
 * update (naming the server's RCODE) or a reply whose TSIG does not verify.
 *
 * The TSIG secret is cleansed after use and never logged.
 */
#ifndef MAILCERT_DNS_H
#define MAILCERT_DNS_H

#include <stdbool.h>
#include <stddef.h>

#include "mailcert/err.h"

#define MC_DNS_DEFAULT_ANCHOR "/usr/share/dns/root.key"
#define MC_DNS_TIMEOUT 10 /* seconds per lookup or update */

struct mc_dns;

struct mc_dns_conf {
	const char *resolver; /* NULL/"": resolv.conf; "recursive"; ADDR[:PORT] */
	const char *anchor;   /* NULL: MC_DNS_DEFAULT_ANCHOR */
	long timeout;         /* seconds; 0: MC_DNS_TIMEOUT */
};

/* One TLSA record (RFC 6698). */
struct mc_tlsa_rec {
	unsigned usage, selector, mtype;
	unsigned char *data;
	size_t len;
};

/* The TLSA RRset at a name. */
struct mc_tlsa_rrset {
	char *name;
	bool secure;  /* DNSSEC-validated; else insecure */
	long ttl;     /* the RRset's TTL (the signer's original TTL when signed) */
	struct mc_tlsa_rec *recs; /* n == 0: no TLSA records (NXDOMAIN/NODATA) */
	size_t n;
};

/* mc_dns_new - a validating resolver for conf (free with mc_dns_free). The
 * anchor file is read and checked here. */
struct mc_dns *mc_dns_new(const struct mc_dns_conf *conf, struct mc_err *err);

/* mc_dns_free - free a resolver; NULL is a no-op. */
void mc_dns_free(struct mc_dns *dns);

/* mc_dns_tlsa - look up and validate the TLSA RRset at name (fills *out,
 * clear it with mc_tlsa_rrset_clear). Bogus, SERVFAIL and timeouts are errors. */
int mc_dns_tlsa(struct mc_dns *dns, const char *name, struct mc_tlsa_rrset *out,
		struct mc_err *err);

/* mc_tlsa_rrset_clear - free the members of set. */
void mc_tlsa_rrset_clear(struct mc_tlsa_rrset *set);

/* mc_tlsa_rec_text - "U S M HEX" of a record into buf (lower-case hex;
 * truncated with "..." past size). Returns buf. */
char *mc_tlsa_rec_text(const struct mc_tlsa_rec *rec, char *buf, size_t size);

/* mc_tlsa_rrset_has - whether set holds a record with usage, selector,
 * mtype and data. */
bool mc_tlsa_rrset_has(const struct mc_tlsa_rrset *set, unsigned usage,
		       unsigned selector, unsigned mtype,
		       const unsigned char *data, size_t len);

enum mc_dns_op {
	MC_DNS_ADD = 0, /* add the record (an existing equal one is kept) */
	MC_DNS_DEL,     /* delete exactly this record */
};

struct mc_dns_update_conf {
	const char *server;  /* ADDR[:PORT] */
	const char *keyfile; /* BIND key file; NULL: unsigned update */
	long timeout;        /* seconds; 0: MC_DNS_TIMEOUT */
};

/* mc_dns_update - add or delete one record: name, type "TLSA" or "TXT",
 * rdata in presentation form ("3 1 1 HEX", or the TXT text without quotes).
 * The TTL of an added record is that of the zone's SOA (at most 3600 s). */
int mc_dns_update(const struct mc_dns_update_conf *conf, enum mc_dns_op op,
		  const char *name, const char *type, const char *rdata,
		  struct mc_err *err);

#endif
