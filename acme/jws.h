/*
 * jws.h - JSON Web Signatures for ACME requests (acme-internal).
 *
 * Flattened JWS (RFC 7515) with ES256 / ES384 (raw r||s of fixed length)
 * or RS256, chosen by the key. The protected header carries alg, nonce,
 * url and either the account's jwk (newAccount, revocation by cert key) or
 * its kid. Also: the RFC 7638 JWK thumbprint, key authorizations and the
 * External Account Binding inner JWS (HS256 over the account JWK).
 *
 * Returned strings and json_t are new (caller frees / json_decref). Key
 * authorizations and HMAC keys are secrets: never logged. Errors:
 * MC_ERR_CRYPTO (OpenSSL, with its queue), MC_ERR_INPUT (unsupported key
 * type, malformed EAB key), MC_ERR_SYS (memory).
 */
#ifndef MAILCERT_ACME_JWS_H
#define MAILCERT_ACME_JWS_H

#include <stddef.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "mailcert/err.h"

/* acme_jws_alg - "ES256", "ES384" or "RS256" for key, or NULL if unsupported.
 */
const char *acme_jws_alg(EVP_PKEY *key);

/* acme_jwk - the public JWK of key (new object with only the required members).
 */
json_t *acme_jwk(EVP_PKEY *key, struct mc_err *err);

/* acme_jwk_thumbprint - base64url SHA-256 of the canonical JWK (new string). */
char *acme_jwk_thumbprint(EVP_PKEY *key, struct mc_err *err);

/* acme_key_authz - "token.thumbprint" (new string; a secret). */
char *acme_key_authz(EVP_PKEY *key, const char *token, struct mc_err *err);

/* acme_jws_sign - the flattened JWS JSON text for payload (NULL: POST-as-GET,
 * an empty payload) signed with key; kid NULL embeds the jwk; nonce NULL
 * leaves the nonce out (the inner JWS of a key change, RFC 8555 7.3.5). */
char *acme_jws_sign(EVP_PKEY *key, const char *kid, const char *nonce,
                    const char *url, const char *payload, struct mc_err *err);

/* acme_jws_eab - the externalAccountBinding object: HS256 JWS over the
 * account key's JWK with kid eab_kid and url (newAccount URL); hmac_b64url
 * is the CA-given base64url HMAC key. */
json_t *acme_jws_eab(EVP_PKEY *account_key, const char *eab_kid,
                     const char *hmac_b64url, const char *url,
                     struct mc_err *err);

#endif
