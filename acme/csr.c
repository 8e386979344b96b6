/*
 * csr.c - the PKCS#10 request sent to finalize (RFC 8555 section 7.4):
 * every name as a dNSName SAN, CN = the first name when it fits, SHA-256.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "acme/acme_int.h"
#include "mailcert/crypto.h"

#define CN_MAX 64

/* csr_sans - the subjectAltName extension for names (new, or NULL). */
static X509_EXTENSION *
csr_sans(const char *const *names, size_t n_names, struct mc_err *err)
{
	GENERAL_NAMES *gens = GENERAL_NAMES_new();
	GENERAL_NAME *gen;
	ASN1_IA5STRING *ia5;
	X509_EXTENSION *ext = NULL;
	size_t i;

	if (gens == NULL)
		goto fail;
	for (i = 0; i < n_names; i++) {
		gen = GENERAL_NAME_new();
		ia5 = ASN1_IA5STRING_new();
		if (gen == NULL || ia5 == NULL ||
		    !ASN1_STRING_set(ia5, names[i], (int)strlen(names[i]))) {
			GENERAL_NAME_free(gen);
			ASN1_IA5STRING_free(ia5);
			goto fail;
		}
		GENERAL_NAME_set0_value(gen, GEN_DNS, ia5);
		if (!sk_GENERAL_NAME_push(gens, gen)) {
			GENERAL_NAME_free(gen);
			goto fail;
		}
	}
	ext = X509V3_EXT_i2d(NID_subject_alt_name, 0, gens);
	if (ext == NULL)
		goto fail;
	GENERAL_NAMES_free(gens);
	return ext;
fail:
	GENERAL_NAMES_free(gens);
	mc_err_openssl(err, "cannot build the subjectAltName of the CSR");
	return NULL;
}

/* csr_build - a signed X509_REQ for names (new, or NULL). */
static X509_REQ *
csr_build(EVP_PKEY *key, const char *const *names, size_t n_names,
          struct mc_err *err)
{
	X509_REQ *req = X509_REQ_new();
	X509_NAME *subj = NULL;
	X509_EXTENSION *san = NULL;
	STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
	int ok = 0;

	if (req == NULL || exts == NULL || !X509_REQ_set_version(req, 0) ||
	    !X509_REQ_set_pubkey(req, key))
		goto out;
	if (strlen(names[0]) <= CN_MAX) {
		subj = X509_NAME_new();
		if (subj == NULL ||
		    !X509_NAME_add_entry_by_txt(subj, "CN", MBSTRING_ASC,
		                                (const unsigned char *)names[0],
		                                -1, -1, 0) ||
		    !X509_REQ_set_subject_name(req, subj))
			goto out;
	}
	san = csr_sans(names, n_names, err);
	if (san == NULL)
		goto out;
	if (!sk_X509_EXTENSION_push(exts, san))
		goto out;
	san = NULL;
	if (!X509_REQ_add_extensions(req, exts) ||
	    X509_REQ_sign(req, key, EVP_sha256()) <= 0)
		goto out;
	ok = 1;
out:
	if (!ok && (err == NULL || err->cat == MC_ERR_NONE))
		mc_err_openssl(err, "cannot build the CSR");
	X509_NAME_free(subj);
	X509_EXTENSION_free(san);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	if (!ok) {
		X509_REQ_free(req);
		return NULL;
	}
	return req;
}

/* acme_csr_der - the DER CSR for names. */
int
acme_csr_der(EVP_PKEY *key, const char *const *names, size_t n_names,
             unsigned char **der, size_t *len, struct mc_err *err)
{
	X509_REQ *req;
	unsigned char *buf = NULL;
	int n;

	if (key == NULL || names == NULL || n_names == 0)
		return mc_err_set(err, MC_ERR_INPUT, "CSR: no key or no names");
	mc_err_clear(err);
	req = csr_build(key, names, n_names, err);
	if (req == NULL)
		return -1;
	n = i2d_X509_REQ(req, &buf);
	X509_REQ_free(req);
	if (n <= 0)
		return mc_err_openssl(err, "cannot encode the CSR");
	*der = buf;
	*len = (size_t)n;
	return 0;
}

/* acme_csr_b64url - base64url of the DER CSR. */
char *
acme_csr_b64url(EVP_PKEY *key, const char *const *names, size_t n_names,
                struct mc_err *err)
{
	unsigned char *der = NULL;
	size_t len = 0;
	char *out;

	if (acme_csr_der(key, names, n_names, &der, &len, err) == -1)
		return NULL;
	out = mc_b64url(der, len, err);
	OPENSSL_free(der);
	return out;
}
