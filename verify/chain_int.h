/*
 * chain_int.h - internals of mc_check_chain() (not a public contract).
 *
 * check_chain.c judges dates, names, signatures, keys and the expected
 * leaf; check_trust.c builds the path to a trusted root (fetching missing
 * intermediates by AIA caIssuers); check_revoke.c asks CRLs and OCSP for
 * every certificate of the path; check_order.c judges the served order.
 * Each appends findings to the list it is given and returns -1 only for
 * local failures (memory, OpenSSL internals), with err set.
 */
#ifndef MAILCERT_CHAIN_INT_H
#define MAILCERT_CHAIN_INT_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/x509.h>

#include "mailcert/check.h"

#define CHAIN_SERVED_MAX 32 /* certificates of a served chain we look at */

/* chain_store_new - the trust store: opts->trust_bundle or the system's. */
X509_STORE *chain_store_new(const struct mc_check_opts *opts,
                            struct mc_err *err);

/* chain_trust - untrusted / incomplete-chain findings; *verified gets the
 * verified path (leaf first, new stack) or NULL when there is none. */
int chain_trust(STACK_OF(X509) * served, X509_STORE *st,
                const struct mc_check_opts *opts, bool self_signed,
                STACK_OF(X509) * *verified, struct mc_findings *out,
                struct mc_err *err);

/* chain_revocation - revocation of every certificate of path (leaf first,
 * each followed by its issuer; the last one, a root or the last issuer
 * known, is not checked): revoked (critical, naming the certificate), one
 * not-tested warning for what could not be checked, or one ok remark
 * "revocation not published" when nothing names a CRL or OCSP URL. */
int chain_revocation(STACK_OF(X509) * path, X509_STORE *st,
                     const struct mc_probe_result *probe,
                     const struct mc_check_opts *opts, struct mc_findings *out,
                     struct mc_err *err);

/* chain_served_path - the leaf and its issuers among the served
 * certificates, in issuance order (new stack, up-referenced). */
STACK_OF(X509) * chain_served_path(STACK_OF(X509) * served, struct mc_err *err);

/* chain_order - chain-order findings: served out of order, or with
 * certificates that belong to no path from the leaf (warnings). */
int chain_order(STACK_OF(X509) * served, struct mc_findings *out,
                struct mc_err *err);

/* chain_cn - the CN of cert's subject, else its one-line name, into buf. */
void chain_cn(X509 *cert, char *buf, size_t size);

/* chain_key_name - "RSA 2048", "EC P-256", "Ed25519" ... into buf. */
void chain_key_name(EVP_PKEY *key, char *buf, size_t size);

/* chain_uri_http - copy a certificate's URI into buf when it is an
 * http(s) URL of printable ASCII without spaces (a server's bytes: no
 * control character reaches a fetch or a message); false otherwise. */
bool chain_uri_http(const ASN1_IA5STRING *uri, char *buf, size_t size);

/* chain_aia_url - the first http(s) URL of access method nid (NID_ad_OCSP,
 * NID_ad_ca_issuers) in cert's AIA into buf; false if none. */
bool chain_aia_url(X509 *cert, int nid, char *buf, size_t size);

#endif
