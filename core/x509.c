/*
 * x509.c - parsing and checking certificate chains.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "mailcert/crypto.h"
#include "mailcert/fsio.h"

#define CHAIN_MAX_CERTS 10
#define CHAIN_FILE_MAX (256 * 1024)

/* mc_x509_chain_parse - every certificate of a PEM text, in order. */
STACK_OF(X509) *
mc_x509_chain_parse(const char *pem, size_t len, struct mc_err *err)
{
	STACK_OF(X509) *chain = sk_X509_new_null();
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	X509 *cert;

	if (chain == NULL || bio == NULL || len > INT32_MAX) {
		mc_err_openssl(err, "cannot parse certificates");
		goto fail;
	}
	while ((cert = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		if (sk_X509_num(chain) >= CHAIN_MAX_CERTS ||
		    !sk_X509_push(chain, cert)) {
			X509_free(cert);
			mc_err_set(err, MC_ERR_INPUT,
				   "more than %d certificates in a chain",
				   CHAIN_MAX_CERTS);
			goto fail;
		}
	}
	ERR_clear_error(); /* the read that ended the loop */
	if (sk_X509_num(chain) == 0) {
		mc_err_set(err, MC_ERR_INPUT, "no PEM certificate found");
		goto fail;
	}
	BIO_free(bio);
	return chain;
fail:
	BIO_free(bio);
	sk_X509_pop_free(chain, X509_free);
	return NULL;
}

/* mc_x509_chain_load - every certificate of a PEM file, in order. */
STACK_OF(X509) *
mc_x509_chain_load(const char *path, struct mc_err *err)
{
	STACK_OF(X509) *chain;
	char *pem = NULL;
	size_t len = 0;

	if (mc_fsio_read(path, CHAIN_FILE_MAX, &pem, &len, err) == -1)
		return NULL;
	chain = mc_x509_chain_parse(pem, len, err);
	free(pem);
	if (chain == NULL)
		mc_err_prefix(err, "%s", path);
	return chain;
}

/* mc_x509_chain_pem - append PEM of chain[from..] to out. */
int
mc_x509_chain_pem(STACK_OF(X509) *chain, int from, struct mc_buf *out,
		  struct mc_err *err)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *p = NULL;
	long n;
	int i, rc = -1;

	if (bio == NULL)
		return mc_err_openssl(err, "cannot encode certificates");
	for (i = from; i < sk_X509_num(chain); i++) {
		if (!PEM_write_bio_X509(bio, sk_X509_value(chain, i))) {
			mc_err_openssl(err, "cannot encode a certificate");
			goto out;
		}
	}
	n = BIO_get_mem_data(bio, &p);
	if (n > 0 && mc_buf_append(out, p, (size_t)n, err) == -1)
		goto out;
	rc = 0;
out:
	BIO_free(bio);
	return rc;
}

/* x509_san_text - a dNSName as is, an iPAddress in canonical text (new
 * string), or NULL for any other SAN, one with an embedded NUL, or a
 * dNSName holding an address (which proves nothing about that address). */
static char *
x509_san_text(const GENERAL_NAME *g)
{
	char text[INET6_ADDRSTRLEN];
	const unsigned char *s;
	int len;
	char *v;

	if (g->type == GEN_IPADD) {
		s = ASN1_STRING_get0_data(g->d.iPAddress);
		len = ASN1_STRING_length(g->d.iPAddress);
		if ((len != 4 && len != 16) ||
		    inet_ntop(len == 4 ? AF_INET : AF_INET6, s, text,
			      sizeof(text)) == NULL)
			return NULL;
		return strdup(text);
	}
	if (g->type != GEN_DNS)
		return NULL;
	s = ASN1_STRING_get0_data(g->d.dNSName);
	len = ASN1_STRING_length(g->d.dNSName);
	v = strndup((const char *)s, (size_t)len);
	if (v != NULL && (strlen(v) != (size_t)len || mc_name_is_ip(v))) {
		free(v);
		return NULL;
	}
	return v;
}

/* mc_x509_sans - the DNS and IP address SANs of cert. */
int
mc_x509_sans(X509 *cert, char ***out, size_t *n, struct mc_err *err)
{
	GENERAL_NAMES *gens = X509_get_ext_d2i(cert, NID_subject_alt_name,
					       NULL, NULL);
	char **v = NULL;
	size_t count = 0;
	int i, num = gens ? sk_GENERAL_NAME_num(gens) : 0;

	v = calloc((size_t)num + 1, sizeof(*v));
	if (v == NULL) {
		GENERAL_NAMES_free(gens);
		return mc_err_errno(err, MC_ERR_SYS, "out of memory");
	}
	for (i = 0; i < num; i++) {
		v[count] = x509_san_text(sk_GENERAL_NAME_value(gens, i));
		if (v[count] != NULL)
			count++;
	}
	GENERAL_NAMES_free(gens);
	*out = v;
	*n = count;
	return 0;
}

/* check_names - the leaf's DNS and IP SANs are exactly names. */
static int
check_names(X509 *leaf, const char *const *names, size_t n_names,
	    struct mc_err *err)
{
	char **sans = NULL;
	size_t n = 0, i, j;
	int rc = -1;

	if (mc_x509_sans(leaf, &sans, &n, err) == -1)
		return -1;
	for (i = 0; i < n_names; i++) {
		for (j = 0; j < n && strcasecmp(sans[j], names[i]) != 0; j++)
			;
		if (j == n) {
			mc_err_set(err, MC_ERR_INPUT,
				   "the certificate does not cover %s",
				   names[i]);
			goto out;
		}
	}
	for (j = 0; j < n; j++) {
		for (i = 0; i < n_names && strcasecmp(sans[j], names[i]) != 0;
		     i++)
			;
		if (i == n_names) {
			mc_err_set(err, MC_ERR_INPUT,
				   "the certificate names %s, which was not "
				   "requested",
				   sans[j]);
			goto out;
		}
	}
	rc = 0;
out:
	mc_strv_free(sans, n);
	return rc;
}

/* check_links - each certificate is issued and signed by the next one. */
static int
check_links(STACK_OF(X509) *chain, struct mc_err *err)
{
	int i;

	for (i = 0; i + 1 < sk_X509_num(chain); i++) {
		X509 *cert = sk_X509_value(chain, i);
		X509 *issuer = sk_X509_value(chain, i + 1);
		EVP_PKEY *pub = X509_get0_pubkey(issuer);

		if (X509_check_issued(issuer, cert) != X509_V_OK)
			return mc_err_set(err, MC_ERR_INPUT,
					  "certificate %d of the chain is not "
					  "issued by certificate %d",
					  i + 1, i + 2);
		if (pub == NULL || X509_verify(cert, pub) != 1) {
			ERR_clear_error();
			return mc_err_set(err, MC_ERR_INPUT,
					  "the signature of certificate %d of "
					  "the chain does not verify with "
					  "certificate %d",
					  i + 1, i + 2);
		}
	}
	return 0;
}

/* mc_x509_check_usable - key matches leaf, and leaf is valid at now. */
int
mc_x509_check_usable(X509 *leaf, EVP_PKEY *key, time_t now, struct mc_err *err)
{
	char when[64];
	time_t not_before, not_after;

	if (leaf == NULL)
		return mc_err_set(err, MC_ERR_INPUT, "the chain is empty");
	if (key == NULL || EVP_PKEY_eq(X509_get0_pubkey(leaf), key) != 1) {
		ERR_clear_error();
		return mc_err_set(err, MC_ERR_INPUT,
				  "the private key does not match the "
				  "certificate's public key");
	}
	if (mc_time_asn1(X509_get0_notBefore(leaf), &not_before) == -1 ||
	    mc_time_asn1(X509_get0_notAfter(leaf), &not_after) == -1)
		return mc_err_set(err, MC_ERR_INPUT,
				  "the certificate's validity dates are unreadable");
	if (not_before > now + MC_X509_CLOCK_SKEW)
		return mc_err_set(err, MC_ERR_INPUT,
				  "the certificate is not valid before %s, more "
				  "than %d minutes from now (check this host's "
				  "clock, and the CA's)",
				  mc_time_format(not_before, MC_TIME_HUMAN, when,
						 sizeof(when)),
				  MC_X509_CLOCK_SKEW / 60);
	if (not_after <= now)
		return mc_err_set(err, MC_ERR_INPUT,
				  "the certificate expired at %s",
				  mc_time_format(not_after, MC_TIME_HUMAN, when,
						 sizeof(when)));
	return 0;
}

/* mc_x509_check_issued - validate a freshly issued chain. */
int
mc_x509_check_issued(STACK_OF(X509) *chain, EVP_PKEY *key,
		     const char *const *names, size_t n_names, time_t now,
		     struct mc_err *err)
{
	X509 *leaf = sk_X509_value(chain, 0);

	if (mc_x509_check_usable(leaf, key, now, err) == -1)
		return -1;
	if (check_names(leaf, names, n_names, err) == -1)
		return -1;
	if (sk_X509_num(chain) < 2)
		return mc_err_set(err, MC_ERR_INPUT,
				  "the CA sent no intermediate certificate");
	return check_links(chain, err);
}

/* hex_of - lower-case hex of data into out (size >= 2 * len + 1). */
static void
hex_of(const unsigned char *data, size_t len, char *out, size_t size)
{
	size_t i;

	out[0] = '\0';
	for (i = 0; i < len && 2 * i + 2 < size; i++)
		snprintf(out + 2 * i, 3, "%02x", data[i]);
}

/* info_issuer_cn - the issuer's CN, else its one-line name. */
static void
info_issuer_cn(X509 *cert, char *out, size_t size)
{
	X509_NAME *name = X509_get_issuer_name(cert);

	if (X509_NAME_get_text_by_NID(name, NID_commonName, out, (int)size) < 0)
		X509_NAME_oneline(name, out, (int)size);
}

/* mc_x509_info - serial, fingerprint, issuer, validity. */
int
mc_x509_info(X509 *cert, struct mc_x509_info *out, struct mc_err *err)
{
	const ASN1_INTEGER *serial = X509_get0_serialNumber(cert);
	unsigned char md[32];
	unsigned int mdlen = 0;
	BIGNUM *bn = ASN1_INTEGER_to_BN(serial, NULL);
	char *hex = bn ? BN_bn2hex(bn) : NULL;
	size_t i;

	BN_free(bn);
	if (hex == NULL || !X509_digest(cert, EVP_sha256(), md, &mdlen)) {
		OPENSSL_free(hex);
		return mc_err_openssl(err, "cannot read the certificate");
	}
	snprintf(out->serial, sizeof(out->serial), "%s", hex);
	OPENSSL_free(hex);
	for (i = 0; out->serial[i] != '\0'; i++)
		if (out->serial[i] >= 'A' && out->serial[i] <= 'F')
			out->serial[i] = (char)(out->serial[i] - 'A' + 'a');
	hex_of(md, mdlen, out->sha256, sizeof(out->sha256));
	info_issuer_cn(cert, out->issuer_cn, sizeof(out->issuer_cn));
	X509_NAME_oneline(X509_get_subject_name(cert), out->subject,
			  (int)sizeof(out->subject));
	if (mc_time_asn1(X509_get0_notBefore(cert), &out->not_before) == -1 ||
	    mc_time_asn1(X509_get0_notAfter(cert), &out->not_after) == -1)
		return mc_err_set(err, MC_ERR_INPUT,
				  "the certificate has an unreadable validity");
	return 0;
}

/* mc_x509_ari_cert_id - RFC 9773 certID of cert. */
char *
mc_x509_ari_cert_id(X509 *cert, struct mc_err *err)
{
	const ASN1_OCTET_STRING *akid = X509_get0_authority_key_id(cert);
	const ASN1_INTEGER *serial = X509_get0_serialNumber(cert);
	unsigned char *der = NULL;
	char *a = NULL, *s = NULL, *id = NULL;
	int len;

	if (akid == NULL) {
		mc_err_set(err, MC_ERR_INPUT,
			   "the certificate has no authority key identifier");
		return NULL;
	}
	len = i2d_ASN1_INTEGER((ASN1_INTEGER *)serial, &der);
	if (len < 3) {
		OPENSSL_free(der);
		mc_err_openssl(err, "cannot encode the serial number");
		return NULL;
	}
	a = mc_b64url(ASN1_STRING_get0_data(akid),
		      (size_t)ASN1_STRING_length(akid), err);
	/* skip the DER tag and length: RFC 9773 wants the value bytes */
	s = mc_b64url(der + 2, (size_t)len - 2, err);
	if (a != NULL && s != NULL && (id = malloc(strlen(a) + strlen(s) + 2)))
		snprintf(id, strlen(a) + strlen(s) + 2, "%s.%s", a, s);
	else if (a != NULL && s != NULL)
		mc_err_errno(err, MC_ERR_SYS, "out of memory");
	OPENSSL_free(der);
	free(a);
	free(s);
	return id;
}
