/*
 * crypto.h - keys, certificates and encodings (OpenSSL 3).
 *
 * Keys live as EVP_PKEY; PEM of a private key is only ever produced into
 * a struct mc_buf that the caller releases with mc_buf_clear_free().
 * Returned EVP_PKEY / X509 / STACK_OF(X509) are new references the caller
 * frees. Errors: MC_ERR_CRYPTO with the OpenSSL queue, MC_ERR_INPUT for
 * data that is not what it should be (with what and why).
 */
#ifndef MAILCERT_CRYPTO_H
#define MAILCERT_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "mailcert/buf.h"
#include "mailcert/config.h"
#include "mailcert/err.h"

/* mc_crypto_init - set OpenSSL up for a process that ends when its work
 * is done: no cleanup at exit (OPENSSL_INIT_NO_ATEXIT). Call it first in
 * main, before any other OpenSSL call; later calls do nothing. */
void mc_crypto_init(void);

/* mc_key_generate - a new private key of type. */
EVP_PKEY *mc_key_generate(enum mc_key_type type, struct mc_err *err);

/* mc_key_from_pem - parse a PEM private key (the caller cleanses pem). */
EVP_PKEY *mc_key_from_pem(const char *pem, size_t len, struct mc_err *err);

/* mc_key_load - read a PEM private key file; the file buffer is cleansed. */
EVP_PKEY *mc_key_load(const char *path, struct mc_err *err);

/* mc_key_from_jwk - a private key from a JSON Web Key (RSA with its CRT
 * values, or EC P-256/384/521), as certbot stores its account key;
 * checked pairwise. The caller cleanses json. */
EVP_PKEY *mc_key_from_jwk(const char *json, size_t len, struct mc_err *err);

/* mc_key_to_pem - append the PKCS#8 PEM of key to out (a secret buffer). */
int mc_key_to_pem(EVP_PKEY *key, struct mc_buf *out, struct mc_err *err);

/* mc_key_type_of - the enum mc_key_type of key; -1 if none fits. */
int mc_key_type_of(EVP_PKEY *key);

/* mc_key_spki_ec - set pk (a new X509_PUBKEY, or a request's) to the
 * SubjectPublicKeyInfo of key when it is an EC key on a named curve: 1
 * done, 0 not such a key (use X509_PUBKEY_set), -1 out of memory. The
 * same DER as i2d_PUBKEY, without OpenSSL 3.0's encoder and decoder round
 * trip of X509_PUBKEY_set (~0.35 ms). */
int mc_key_spki_ec(X509_PUBKEY *pk, EVP_PKEY *key);

/* mc_key_spki_sha256 - lower-case hex SHA-256 of the DER SubjectPublicKeyInfo. */
int mc_key_spki_sha256(EVP_PKEY *key, char hex[65], struct mc_err *err);

/* mc_x509_chain_parse - all certificates of a PEM text, in order (>= 1). */
STACK_OF(X509) *mc_x509_chain_parse(const char *pem, size_t len, struct mc_err *err);

/* mc_x509_chain_load - every certificate of a PEM file (at most 256 KiB),
 * in order (>= 1); errors name the file. */
STACK_OF(X509) *mc_x509_chain_load(const char *path, struct mc_err *err);

/* mc_x509_chain_pem - append the PEM of certificates [from, end) of chain to out. */
int mc_x509_chain_pem(STACK_OF(X509) *chain, int from, struct mc_buf *out,
		      struct mc_err *err);

/* How far ahead of this host's clock a notBefore may lie (seconds). */
#define MC_X509_CLOCK_SKEW 300

/* mc_x509_check_usable - the leaf can be served at now with key: key is
 * the leaf's key, notBefore at most MC_X509_CLOCK_SKEW ahead, notAfter not
 * passed. MC_ERR_INPUT saying which. */
int mc_x509_check_usable(X509 *leaf, EVP_PKEY *key, time_t now,
			 struct mc_err *err);

/* mc_x509_check_issued - validate a freshly issued chain before storing it:
 * mc_x509_check_usable, SANs (DNS and IP) are exactly names, each
 * certificate is issued and signed by the next. MC_ERR_INPUT on mismatch. */
int mc_x509_check_issued(STACK_OF(X509) *chain, EVP_PKEY *key,
			 const char *const *names, size_t n_names, time_t now,
			 struct mc_err *err);

struct mc_x509_info {
	char serial[128];    /* lower-case hex */
	char sha256[65];     /* lower-case hex of the DER */
	char issuer_cn[256]; /* CN of the issuer, else its one-line name */
	char subject[256];   /* one-line subject */
	time_t not_before;
	time_t not_after;
};

/* mc_x509_info - the facts status and meta.json need. */
int mc_x509_info(X509 *cert, struct mc_x509_info *out, struct mc_err *err);

/* mc_x509_sans - the DNS SANs of cert and its IP address SANs in canonical
 * text form; a dNSName that holds an address literal is left out (new array
 * of new strings; free with mc_strv_free). */
int mc_x509_sans(X509 *cert, char ***out, size_t *n, struct mc_err *err);

/* mc_x509_ari_cert_id - RFC 9773 certID: b64url(AKI keyIdentifier) "." b64url(serial DER). */
char *mc_x509_ari_cert_id(X509 *cert, struct mc_err *err);

/* mc_b64url - unpadded base64url of data (new string). */
char *mc_b64url(const unsigned char *data, size_t len, struct mc_err *err);

/* mc_b64url_decode - decode unpadded/padded base64url (new buffer in *out). */
int mc_b64url_decode(const char *text, unsigned char **out, size_t *len,
		     struct mc_err *err);

/* mc_time_asn1 - ASN1_TIME to time_t. */
int mc_time_asn1(const ASN1_TIME *t, time_t *out);

enum mc_time_style {
	MC_TIME_DAY,   /* 2026-11-28 */
	MC_TIME_ISO,   /* 2026-11-28T08:36:12Z (RFC 3339) */
	MC_TIME_HUMAN, /* 2026-11-28 08:36:12 UTC */
};

/* mc_time_format - t in UTC in style into buf ("?" if it cannot be
 * formatted); returns buf. */
char *mc_time_format(time_t t, enum mc_time_style style, char *buf,
		     size_t size);

/* mc_strv_free - free an array of n strings and the array. */
void mc_strv_free(char **v, size_t n);

#endif
