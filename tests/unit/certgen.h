/*
 * certgen.h - build small test certificate chains in memory (tests only).
 *
 * cg_make() issues a certificate for key, signed by issuer_key under
 * issuer's name (issuer NULL: self-signed), with the given DNS SANs and a
 * validity of [now + from, now + to] seconds.
 */
#ifndef MAILCERT_TESTS_CERTGEN_H
#define MAILCERT_TESTS_CERTGEN_H

#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

/* cg_ext - add one extension by its config text. */
static void
cg_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;

	X509V3_set_ctx(&ctx, issuer ? issuer : cert, cert, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (ext != NULL) {
		X509_add_ext(cert, ext, -1);
		X509_EXTENSION_free(ext);
	}
}

/* cg_make - a new certificate (see above). */
static X509 *
cg_make(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key,
	const char *sans, long from, long to, long serial)
{
	X509 *cert = X509_new();
	X509_NAME *name = X509_NAME_new();

	X509_set_version(cert, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(cert), serial);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
				   (const unsigned char *)cn, -1, -1, 0);
	X509_set_subject_name(cert, name);
	X509_set_issuer_name(cert, issuer ? X509_get_subject_name(issuer)
					  : name);
	X509_NAME_free(name);
	X509_gmtime_adj(X509_getm_notBefore(cert), from);
	X509_gmtime_adj(X509_getm_notAfter(cert), to);
	X509_set_pubkey(cert, key);
	cg_ext(cert, issuer, NID_subject_key_identifier, "hash");
	cg_ext(cert, issuer, NID_authority_key_identifier, "keyid:always");
	if (sans != NULL && sans[0] != '\0')
		cg_ext(cert, issuer, NID_subject_alt_name, sans);
	else
		cg_ext(cert, issuer, NID_basic_constraints, "critical,CA:TRUE");
	X509_sign(cert, issuer_key ? issuer_key : key, EVP_sha256());
	return cert;
}

#endif
