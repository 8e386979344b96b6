/*
 * check_dane.h - DANE for `check` (RFC 6698, 7671, 7672): match the TLSA
 * records of an endpoint against the chain it served, and turn the result
 * into the findings dane-mismatch and dane-insecure.
 *
 * Usable records for SMTP are usages 2 (DANE-TA) and 3 (DANE-EE) with
 * selectors 0 (certificate) and 1 (SubjectPublicKeyInfo) and matching types
 * 0 (exact), 1 (SHA-256), 2 (SHA-512); usages 0 and 1 (PKIX) are unusable
 * for SMTP (RFC 7672 3.1.3) and so are unknown values. DANE-EE matches the
 * leaf; DANE-TA matches an issuer in the served chain to which the leaf
 * chains by signature, or (2 1 0) the key that signed the topmost served
 * certificate. Name checks belong to the chain findings (name-mismatch).
 *
 * Errors: MC_ERR_CRYPTO for local OpenSSL failures only; what DNS or the
 * server did is a finding.
 */
#ifndef MAILCERT_CHECK_DANE_H
#define MAILCERT_CHECK_DANE_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/x509.h>

#include "mailcert/check.h"
#include "mailcert/dns.h"
#include "mailcert/err.h"

struct mc_dane_match {
	size_t usable;      /* records of usage 2/3, selector 0/1, mtype 0/1/2 */
	long matched;       /* index in the RRset of the first match; -1 none */
	char leaf_spki[65]; /* SHA-256 of the served leaf's SPKI (hex) */
};

/* mc_check_dane_match - match every record of set against chain (leaf first). */
int mc_check_dane_match(STACK_OF(X509) *chain, const struct mc_tlsa_rrset *set,
			struct mc_dane_match *out, struct mc_err *err);

/* mc_check_dane_findings - the findings for a looked-up RRset (set) or a
 * failed lookup (lookup_err non-NULL) against chain. Appends to out. */
int mc_check_dane_findings(STACK_OF(X509) *chain, const struct mc_tlsa_rrset *set,
			   const struct mc_err *lookup_err, struct mc_findings *out,
			   struct mc_err *err);

/* mc_check_dane - look up _PORT._tcp.HOST with a resolver made from conf,
 * validate, and add the DANE findings for chain. */
int mc_check_dane(const char *host, int port, STACK_OF(X509) *chain,
		  const struct mc_dns_conf *conf, struct mc_findings *out,
		  struct mc_err *err);

#endif
