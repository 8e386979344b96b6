/*
 * crypto.c - keys, PEM, base64url and small helpers (OpenSSL 3).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/decoder.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "mailcert/crypto.h"
#include "mailcert/fsio.h"

#define KEY_FILE_MAX (64 * 1024)

static const char b64url_chars[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* mc_b64url - unpadded base64url of data. */
char *
mc_b64url(const unsigned char *data, size_t len, struct mc_err *err)
{
	size_t i, o = 0;
	char *out = malloc(len / 3 * 4 + 5);

	if (out == NULL) {
		mc_err_errno(err, MC_ERR_SYS, "out of memory");
		return NULL;
	}
	for (i = 0; i + 2 < len; i += 3) {
		unsigned long v = (unsigned long)data[i] << 16 |
				  (unsigned long)data[i + 1] << 8 | data[i + 2];
		out[o++] = b64url_chars[(v >> 18) & 63];
		out[o++] = b64url_chars[(v >> 12) & 63];
		out[o++] = b64url_chars[(v >> 6) & 63];
		out[o++] = b64url_chars[v & 63];
	}
	if (len - i == 1) {
		out[o++] = b64url_chars[data[i] >> 2];
		out[o++] = b64url_chars[(data[i] & 3) << 4];
	} else if (len - i == 2) {
		unsigned long v = (unsigned long)data[i] << 8 | data[i + 1];
		out[o++] = b64url_chars[(v >> 10) & 63];
		out[o++] = b64url_chars[(v >> 4) & 63];
		out[o++] = b64url_chars[(v << 2) & 63];
	}
	out[o] = '\0';
	return out;
}

/* b64url_value - the 6-bit value of c, or -1. */
static int
b64url_value(char c)
{
	const char *p;

	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	p = strchr(b64url_chars, c);
	return (p == NULL || c == '\0') ? -1 : (int)(p - b64url_chars);
}

/* mc_b64url_decode - decode base64url (padding and standard alphabet accepted). */
int
mc_b64url_decode(const char *text, unsigned char **out, size_t *len,
		 struct mc_err *err)
{
	size_t n = strlen(text), i, o = 0;
	unsigned long acc = 0;
	int bits = 0, v;
	unsigned char *buf;

	while (n > 0 && text[n - 1] == '=')
		n--;
	if (n % 4 == 1)
		return mc_err_set(err, MC_ERR_INPUT,
				  "invalid base64url: wrong length");
	buf = malloc(n * 3 / 4 + 1);
	if (buf == NULL)
		return mc_err_errno(err, MC_ERR_SYS, "out of memory");
	for (i = 0; i < n; i++) {
		v = b64url_value(text[i]);
		if (v < 0) {
			free(buf);
			return mc_err_set(err, MC_ERR_INPUT,
					  "invalid base64url: bad character at "
					  "offset %zu",
					  i);
		}
		acc = (acc << 6 | (unsigned long)v) & 0xffffff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf[o++] = (unsigned char)(acc >> bits);
		}
	}
	*out = buf;
	*len = o;
	return 0;
}

/* mc_crypto_init - OpenSSL without its exit-time cleanup (see crypto.h).
 * OPENSSL_cleanup() at exit frees every table OpenSSL 3 built (providers,
 * method stores, names, the DRBGs): 1.5M of the 50M user-space
 * instructions of an issuance (callgrind), all of it memory the exit
 * hands back anyway. Nothing secret is left by skipping it: keys are
 * freed (and cleansed) by mailcert as it goes, and the kernel never hands
 * a dead process's pages to another unzeroed. The system openssl.cnf is
 * still loaded, on first use, as before. */
void
mc_crypto_init(void)
{
	OPENSSL_init_crypto(OPENSSL_INIT_NO_ATEXIT, NULL);
}

/* key_params - algorithm name and parameter for a key type. */
static void
key_params(enum mc_key_type type, const char **alg, unsigned *bits,
	   const char **curve)
{
	*bits = 0;
	*curve = NULL;
	switch (type) {
	case MC_KEY_RSA2048:
		*alg = "RSA", *bits = 2048;
		break;
	case MC_KEY_RSA3072:
		*alg = "RSA", *bits = 3072;
		break;
	case MC_KEY_RSA4096:
		*alg = "RSA", *bits = 4096;
		break;
	case MC_KEY_EC_P256:
		*alg = "EC", *curve = "P-256";
		break;
	case MC_KEY_EC_P384:
	default:
		*alg = "EC", *curve = "P-384";
		break;
	}
}

/* mc_key_generate - a new private key of type. */
EVP_PKEY *
mc_key_generate(enum mc_key_type type, struct mc_err *err)
{
	const char *alg, *curve;
	unsigned bits;
	EVP_PKEY *key = NULL;

	key_params(type, &alg, &bits, &curve);
	if (bits != 0)
		key = EVP_PKEY_Q_keygen(NULL, NULL, alg, (size_t)bits);
	else
		key = EVP_PKEY_Q_keygen(NULL, NULL, alg, curve);
	if (key == NULL)
		mc_err_openssl(err, "cannot generate a %s key",
			       mc_key_type_name(type));
	return key;
}

/* key_from_pkcs8 - a "PRIVATE KEY" (PKCS#8) PEM through the decoder of
 * its own algorithm (new), or NULL: not such a block, or not decoded.
 * Why: OpenSSL 3.0's PEM_read_bio_PrivateKey tries every decoder it has
 * (~0.5 ms per key); told the structure and the algorithm (the OID of the
 * block) it costs about a third of that. */
static EVP_PKEY *
key_from_pkcs8(const char *pem, size_t len)
{
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	char *name = NULL, *header = NULL, oid[80];
	unsigned char *der = NULL;
	const unsigned char *p;
	long dlen = 0;
	size_t left;
	PKCS8_PRIV_KEY_INFO *p8 = NULL;
	const ASN1_OBJECT *alg;
	OSSL_DECODER_CTX *dctx = NULL;
	EVP_PKEY *key = NULL;

	if (bio == NULL ||
	    PEM_read_bio(bio, &name, &header, &der, &dlen) != 1 ||
	    strcmp(name, PEM_STRING_PKCS8INF) != 0)
		goto out;
	p = der;
	p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, dlen);
	if (p8 == NULL || !PKCS8_pkey_get0(&alg, NULL, NULL, NULL, p8) ||
	    OBJ_obj2txt(oid, sizeof(oid), alg, 1) <= 0)
		goto out;
	dctx = OSSL_DECODER_CTX_new_for_pkey(&key, "DER", "PrivateKeyInfo",
					     oid, EVP_PKEY_KEYPAIR, NULL, NULL);
	p = der;
	left = (size_t)dlen;
	if (dctx == NULL || !OSSL_DECODER_from_data(dctx, &p, &left) ||
	    left != 0) {
		EVP_PKEY_free(key);
		key = NULL;
	}
out:
	OSSL_DECODER_CTX_free(dctx);
	PKCS8_PRIV_KEY_INFO_free(p8); /* cleanses the key octets */
	OPENSSL_clear_free(der, der != NULL ? (size_t)dlen : 0);
	OPENSSL_free(name);
	OPENSSL_free(header);
	BIO_free(bio);
	ERR_clear_error();
	return key;
}

/* mc_key_from_pem - parse a PEM private key: PKCS#8 directly, any other
 * form (SEC1, PKCS#1) through OpenSSL's search of every decoder. */
EVP_PKEY *
mc_key_from_pem(const char *pem, size_t len, struct mc_err *err)
{
	BIO *bio = NULL;
	EVP_PKEY *key = NULL;

	if (len > KEY_FILE_MAX) {
		mc_err_set(err, MC_ERR_INPUT, "private key PEM is too large");
		goto out;
	}
	key = key_from_pkcs8(pem, len);
	if (key != NULL)
		goto out;
	bio = BIO_new_mem_buf(pem, (int)len);
	if (bio == NULL) {
		mc_err_openssl(err, "cannot parse the private key");
		goto out;
	}
	key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	if (key == NULL)
		mc_err_openssl(err, "cannot parse the private key");
out:
	BIO_free(bio);
	return key;
}

/* mc_key_load - read a PEM private key file. */
EVP_PKEY *
mc_key_load(const char *path, struct mc_err *err)
{
	char *pem = NULL;
	size_t len = 0;
	EVP_PKEY *key;

	if (mc_fsio_read(path, KEY_FILE_MAX, &pem, &len, err) == -1)
		return NULL;
	key = mc_key_from_pem(pem, len, err);
	OPENSSL_clear_free(pem, len + 1);
	if (key == NULL)
		mc_err_prefix(err, "%s", path);
	return key;
}

/* key_ec_curve - the NID of the named curve of an EC key, or NID_undef
 * for any other key (not EC, explicit parameters, an unknown curve). */
static int
key_ec_curve(EVP_PKEY *key)
{
	char curve[64], form[32];
	int nid;

	if (!EVP_PKEY_is_a(key, "EC") ||
	    !EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_EC_ENCODING,
					    form, sizeof(form), NULL) ||
	    strcmp(form, OSSL_PKEY_EC_ENCODING_GROUP) != 0 ||
	    !EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME,
					    curve, sizeof(curve), NULL) ||
	    (nid = OBJ_txt2nid(curve)) == NID_undef) {
		ERR_clear_error();
		return NID_undef;
	}
	return nid;
}

/* key_ec_sec1 - the DER ECPrivateKey (RFC 5915) of an EC key as OpenSSL
 * writes it inside PKCS#8: version 1, the private scalar padded to the
 * order's length, no parameters (they are in the PKCS#8 algorithm), the
 * public point in the key's own format. New secret buffer (*der, *len:
 * OPENSSL_clear_free it), or -1. */
static int
key_ec_sec1(EVP_PKEY *key, unsigned char **der, int *len)
{
	unsigned char priv[66], point[133], *p;
	size_t plen = 0;
	int klen = (EVP_PKEY_get_bits(key) + 7) / 8, bits, inner, total;
	BIGNUM *d = NULL;

	*der = NULL;
	if (klen <= 0 || klen > (int)sizeof(priv) ||
	    !EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_PRIV_KEY, &d) ||
	    BN_bn2binpad(d, priv, klen) != klen ||
	    !EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY,
					     point, sizeof(point), &plen) ||
	    plen == 0) {
		BN_clear_free(d);
		OPENSSL_cleanse(priv, sizeof(priv));
		return -1;
	}
	BN_clear_free(d);
	bits = ASN1_object_size(0, (int)plen + 1, V_ASN1_BIT_STRING);
	inner = 3 + ASN1_object_size(0, klen, V_ASN1_OCTET_STRING) +
		ASN1_object_size(1, bits, 1);
	total = ASN1_object_size(1, inner, V_ASN1_SEQUENCE);
	if ((*der = OPENSSL_malloc((size_t)total)) != NULL) {
		p = *der;
		ASN1_put_object(&p, 1, inner, V_ASN1_SEQUENCE,
				V_ASN1_UNIVERSAL);
		*p++ = V_ASN1_INTEGER;
		*p++ = 1;
		*p++ = 1; /* ecPrivkeyVer1 */
		ASN1_put_object(&p, 0, klen, V_ASN1_OCTET_STRING,
				V_ASN1_UNIVERSAL);
		memcpy(p, priv, (size_t)klen);
		p += klen;
		ASN1_put_object(&p, 1, bits, 1, V_ASN1_CONTEXT_SPECIFIC);
		ASN1_put_object(&p, 0, (int)plen + 1, V_ASN1_BIT_STRING,
				V_ASN1_UNIVERSAL);
		*p++ = 0; /* no unused bits */
		memcpy(p, point, plen);
		*len = total;
	}
	OPENSSL_cleanse(priv, sizeof(priv));
	return *der != NULL ? 0 : -1;
}

/* key_ec_pkcs8 - the PKCS#8 PrivateKeyInfo of an EC key on a named curve
 * (new), put together from its parameters: 1 done (*out), 0 not such a
 * key, -1 failed. The same DER as OpenSSL 3's encoder writes
 * (test_key_pkcs8_ec compares them byte for byte), without building
 * every encoder OpenSSL 3.0 has first: 3.5M of an issuance's ~48M
 * user-space instructions went there (callgrind). */
static int
key_ec_pkcs8(EVP_PKEY *key, PKCS8_PRIV_KEY_INFO **out)
{
	PKCS8_PRIV_KEY_INFO *p8;
	unsigned char *der = NULL;
	int nid, len = 0;

	if ((nid = key_ec_curve(key)) == NID_undef)
		return 0; /* not such a key: OpenSSL's encoder */
	if ((p8 = PKCS8_PRIV_KEY_INFO_new()) == NULL ||
	    key_ec_sec1(key, &der, &len) == -1 ||
	    !PKCS8_pkey_set0(p8, OBJ_nid2obj(NID_X9_62_id_ecPublicKey), 0,
			     V_ASN1_OBJECT, OBJ_nid2obj(nid), der, len)) {
		OPENSSL_clear_free(der, (size_t)len);
		PKCS8_PRIV_KEY_INFO_free(p8);
		return -1;
	}
	*out = p8; /* der is p8's now (cleansed when p8 is freed) */
	return 1;
}

/* key_write_pem - the PKCS#8 PEM of key into bio: an EC key's put
 * together directly, any other through OpenSSL's encoder. */
static int
key_write_pem(BIO *bio, EVP_PKEY *key)
{
	PKCS8_PRIV_KEY_INFO *p8 = NULL;
	int rc = key_ec_pkcs8(key, &p8);

	if (rc == 1)
		rc = PEM_write_bio_PKCS8_PRIV_KEY_INFO(bio, p8);
	else if (rc == 0)
		rc = PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL,
					      NULL);
	else
		rc = 0;
	PKCS8_PRIV_KEY_INFO_free(p8);
	return rc;
}

/* mc_key_to_pem - append the PKCS#8 PEM of key to out. */
int
mc_key_to_pem(EVP_PKEY *key, struct mc_buf *out, struct mc_err *err)
{
	BIO *bio = BIO_new(BIO_s_secmem());
	char *p = NULL;
	long n;
	int rc = -1;

	if (bio == NULL || !key_write_pem(bio, key)) {
		mc_err_openssl(err, "cannot encode the private key");
		goto out;
	}
	n = BIO_get_mem_data(bio, &p);
	if (n <= 0 || mc_buf_append(out, p, (size_t)n, err) == -1)
		goto out;
	rc = 0;
out:
	BIO_free(bio); /* secure heap memory is cleansed on free */
	return rc;
}

/* mc_key_type_of - the key type enum of key, or -1. */
int
mc_key_type_of(EVP_PKEY *key)
{
	char curve[64];
	size_t len = 0;

	if (EVP_PKEY_is_a(key, "RSA")) {
		switch (EVP_PKEY_get_bits(key)) {
		case 2048:
			return MC_KEY_RSA2048;
		case 3072:
			return MC_KEY_RSA3072;
		case 4096:
			return MC_KEY_RSA4096;
		default:
			return -1;
		}
	}
	if (!EVP_PKEY_is_a(key, "EC") ||
	    !EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME,
					    curve, sizeof(curve), &len))
		return -1;
	if (strcmp(curve, "prime256v1") == 0 || strcmp(curve, "P-256") == 0)
		return MC_KEY_EC_P256;
	if (strcmp(curve, "secp384r1") == 0 || strcmp(curve, "P-384") == 0)
		return MC_KEY_EC_P384;
	return -1;
}

/* mc_key_spki_ec - pk set to the SubjectPublicKeyInfo of an EC key on a
 * named curve (see crypto.h). */
int
mc_key_spki_ec(X509_PUBKEY *pk, EVP_PKEY *key)
{
	unsigned char *point = NULL;
	size_t len = 0;
	int nid;

	if ((nid = key_ec_curve(key)) == NID_undef)
		return 0; /* not such a key: the caller's generic way */
	if (!EVP_PKEY_get_octet_string_param(
		key, OSSL_PKEY_PARAM_PUB_KEY, NULL, 0, &len) ||
	    len == 0 || len > INT32_MAX ||
	    (point = OPENSSL_malloc(len)) == NULL ||
	    !EVP_PKEY_get_octet_string_param(
		key, OSSL_PKEY_PARAM_PUB_KEY, point, len, &len) ||
	    !X509_PUBKEY_set0_param(pk, OBJ_nid2obj(NID_X9_62_id_ecPublicKey),
				    V_ASN1_OBJECT, OBJ_nid2obj(nid), point,
				    (int)len)) {
		OPENSSL_free(point);
		return -1;
	}
	return 1; /* point (in the key's own point format) is pk's now */
}

/* key_spki_der - the DER SubjectPublicKeyInfo of key (new, *der), its
 * length or -1. */
static int
key_spki_der(EVP_PKEY *key, unsigned char **der)
{
	X509_PUBKEY *pk = X509_PUBKEY_new();
	int rc = pk != NULL ? mc_key_spki_ec(pk, key) : -1;
	int len;

	if (rc == 1)
		len = i2d_X509_PUBKEY(pk, der);
	else
		len = rc == 0 ? i2d_PUBKEY(key, der) : -1;
	X509_PUBKEY_free(pk);
	return len;
}

/* mc_key_spki_sha256 - hex SHA-256 of the SubjectPublicKeyInfo DER. */
int
mc_key_spki_sha256(EVP_PKEY *key, char hex[65], struct mc_err *err)
{
	unsigned char *der = NULL, md[32];
	unsigned int mdlen = 0;
	int len, i;

	len = key_spki_der(key, &der);
	if (len <= 0 ||
	    !EVP_Digest(der, (size_t)len, md, &mdlen, EVP_sha256(), NULL)) {
		OPENSSL_free(der);
		return mc_err_openssl(err, "cannot hash the public key");
	}
	OPENSSL_free(der);
	for (i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	return 0;
}

/* mc_time_asn1 - ASN1_TIME to time_t. */
int
mc_time_asn1(const ASN1_TIME *t, time_t *out)
{
	struct tm tm;

	if (t == NULL || !ASN1_TIME_to_tm(t, &tm))
		return -1;
	*out = timegm(&tm);
	return 0;
}

/* mc_time_format - t in UTC in one of the fixed styles. */
char *
mc_time_format(time_t t, enum mc_time_style style, char *buf, size_t size)
{
	struct tm tm;
	size_t n = 0;

	if (gmtime_r(&t, &tm) != NULL && style == MC_TIME_DAY)
		n = strftime(buf, size, "%Y-%m-%d", &tm);
	else if (gmtime_r(&t, &tm) != NULL && style == MC_TIME_ISO)
		n = strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
	else if (gmtime_r(&t, &tm) != NULL)
		n = strftime(buf, size, "%Y-%m-%d %H:%M:%S UTC", &tm);
	if (n == 0)
		snprintf(buf, size, "?");
	return buf;
}

/* mc_strv_free - free an array of n strings. */
void
mc_strv_free(char **v, size_t n)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}
