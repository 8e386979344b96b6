/*
 * crypto.c - keys, PEM, base64url and small helpers (OpenSSL 3).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
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

/* mc_key_from_pem - parse a PEM private key. */
EVP_PKEY *
mc_key_from_pem(const char *pem, size_t len, struct mc_err *err)
{
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	EVP_PKEY *key = NULL;

	if (bio == NULL || len > KEY_FILE_MAX) {
		mc_err_set(err, MC_ERR_INPUT, "private key PEM is too large");
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

/* mc_key_to_pem - append the PKCS#8 PEM of key to out. */
int
mc_key_to_pem(EVP_PKEY *key, struct mc_buf *out, struct mc_err *err)
{
	BIO *bio = BIO_new(BIO_s_secmem());
	char *p = NULL;
	long n;
	int rc = -1;

	if (bio == NULL ||
	    !PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL)) {
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

/* mc_key_spki_sha256 - hex SHA-256 of the SubjectPublicKeyInfo DER. */
int
mc_key_spki_sha256(EVP_PKEY *key, char hex[65], struct mc_err *err)
{
	unsigned char *der = NULL, md[32];
	unsigned int mdlen = 0;
	int len, i;

	len = i2d_PUBKEY(key, &der);
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
