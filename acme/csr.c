/*
 * csr.c - the PKCS#10 request sent to finalize (RFC 8555 section 7.4):
 * every DNS name as a dNSName SAN and every IP address as an iPAddress SAN
 * (RFC 8738 section 4), CN = the first DNS name when it fits, SHA-256.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "acme/acme_int.h"
#include "mailcert/crypto.h"

#define CN_MAX 64

/* acme_san_name - one SAN: iPAddress for an IP literal, else dNSName (new). */
GENERAL_NAME *
acme_san_name(const char *name)
{
	GENERAL_NAME *gen = GENERAL_NAME_new();
	ASN1_OCTET_STRING *value = ASN1_OCTET_STRING_new();
	unsigned char addr[16];
	size_t alen = mc_name_ip(name, addr);
	int ok;

	if (gen == NULL || value == NULL) {
		GENERAL_NAME_free(gen);
		ASN1_OCTET_STRING_free(value);
		return NULL;
	}
	if (alen != 0)
		ok = ASN1_OCTET_STRING_set(value, addr, (int)alen);
	else
		ok = ASN1_STRING_set(value, name, (int)strlen(name));
	if (!ok) {
		GENERAL_NAME_free(gen);
		ASN1_OCTET_STRING_free(value);
		return NULL;
	}
	/* an IA5String and an OCTET STRING are both ASN1_STRING */
	GENERAL_NAME_set0_value(gen, alen != 0 ? GEN_IPADD : GEN_DNS, value);
	return gen;
}

/* csr_sans - the subjectAltName extension for names (new, or NULL). */
static X509_EXTENSION *
csr_sans(const char *const *names, size_t n_names, struct mc_err *err)
{
	GENERAL_NAMES *gens = GENERAL_NAMES_new();
	GENERAL_NAME *gen;
	X509_EXTENSION *ext = NULL;
	size_t i;

	if (gens == NULL)
		goto fail;
	for (i = 0; i < n_names; i++) {
		gen = acme_san_name(names[i]);
		if (gen == NULL)
			goto fail;
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

/* csr_cn - the first DNS name that fits a CN, or NULL (IP addresses stay
 * out of the subject). */
static const char *
csr_cn(const char *const *names, size_t n_names)
{
	size_t i;

	for (i = 0; i < n_names; i++)
		if (!mc_name_is_ip(names[i]))
			return strlen(names[i]) <= CN_MAX ? names[i] : NULL;
	return NULL;
}

/* csr_pubkey - the request's public key: key. */
static int
csr_pubkey(X509_REQ *req, EVP_PKEY *key)
{
	int rc = mc_key_spki_ec(X509_REQ_get_X509_PUBKEY(req), key);

	return rc == 0 ? X509_REQ_set_pubkey(req, key) : rc == 1;
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
	const char *cn = csr_cn(names, n_names);
	int ok = 0;

	if (req == NULL || exts == NULL || !X509_REQ_set_version(req, 0) ||
	    !csr_pubkey(req, key))
		goto out;
	if (cn != NULL) {
		subj = X509_NAME_new();
		if (subj == NULL ||
		    !X509_NAME_add_entry_by_txt(subj, "CN", MBSTRING_ASC,
		                                (const unsigned char *)cn,
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
