/*
 * jws.c - flattened JWS, JWK, thumbprints and EAB for ACME (RFC
 * 7515/7638/8555).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include "acme/jws.h"
#include "mailcert/crypto.h"

/* jws_ec_size - the field size in bytes of an EC key (32, 48) or 0. */
static size_t
jws_ec_size(EVP_PKEY *key)
{
	char group[64];

	if (!EVP_PKEY_is_a(key, "EC") ||
	    !EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME,
	                                    group, sizeof(group), NULL))
		return 0;
	if (strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0)
		return 32;
	if (strcmp(group, "secp384r1") == 0 || strcmp(group, "P-384") == 0)
		return 48;
	return 0;
}

/* acme_jws_alg - the JWS algorithm for key. */
const char *
acme_jws_alg(EVP_PKEY *key)
{
	if (key == NULL)
		return NULL;
	if (EVP_PKEY_is_a(key, "RSA"))
		return "RS256";
	switch (jws_ec_size(key)) {
	case 32:
		return "ES256";
	case 48:
		return "ES384";
	default:
		return NULL;
	}
}

/* jws_b64_json - base64url of the compact JSON text of v (new string). */
static char *
jws_b64_json(const json_t *v, size_t flags, struct mc_err *err)
{
	char *text = json_dumps(v, JSON_COMPACT | flags);
	char *b64;

	if (text == NULL) {
		mc_err_set(err, MC_ERR_SYS, "cannot serialize JSON");
		return NULL;
	}
	b64 = mc_b64url((const unsigned char *)text, strlen(text), err);
	free(text);
	return b64;
}

/* jws_bn_param - base64url of a BIGNUM parameter of key, left-padded to pad
 * bytes. */
static char *
jws_bn_param(EVP_PKEY *key, const char *name, int pad, struct mc_err *err)
{
	BIGNUM *bn = NULL;
	unsigned char *bin = NULL;
	char *out = NULL;
	int len;

	if (!EVP_PKEY_get_bn_param(key, name, &bn)) {
		mc_err_openssl(err, "cannot read key parameter %s", name);
		goto out;
	}
	len = pad > 0 ? pad : BN_num_bytes(bn);
	bin = malloc((size_t)len + 1);
	if (bin == NULL) {
		mc_err_errno(err, MC_ERR_SYS, "out of memory");
		goto out;
	}
	if (BN_bn2binpad(bn, bin, len) != len) {
		mc_err_openssl(err, "key parameter %s does not fit", name);
		goto out;
	}
	out = mc_b64url(bin, (size_t)len, err);
out:
	free(bin);
	BN_free(bn);
	return out;
}

/* jws_set_b64 - set obj[name] to the string s (taken), failing if NULL. */
static int
jws_set_b64(json_t *obj, const char *name, char *s)
{
	int rc;

	if (s == NULL)
		return -1;
	rc = json_object_set_new(obj, name, json_string(s));
	free(s);
	return rc;
}

/* acme_jwk - the public JWK of key. */
json_t *
acme_jwk(EVP_PKEY *key, struct mc_err *err)
{
	json_t *jwk = json_object();
	size_t ec = jws_ec_size(key);
	int rc;

	if (jwk == NULL) {
		mc_err_set(err, MC_ERR_SYS, "out of memory");
		return NULL;
	}
	if (EVP_PKEY_is_a(key, "RSA")) {
		rc = json_object_set_new(jwk, "kty", json_string("RSA"));
		if (rc == 0)
			rc = jws_set_b64(
			    jwk, "n",
			    jws_bn_param(key, OSSL_PKEY_PARAM_RSA_N, 0, err));
		if (rc == 0)
			rc = jws_set_b64(
			    jwk, "e",
			    jws_bn_param(key, OSSL_PKEY_PARAM_RSA_E, 0, err));
	} else if (ec != 0) {
		rc = json_object_set_new(jwk, "kty", json_string("EC"));
		if (rc == 0)
			rc = json_object_set_new(
			    jwk, "crv",
			    json_string(ec == 32 ? "P-256" : "P-384"));
		if (rc == 0)
			rc = jws_set_b64(jwk, "x",
			                 jws_bn_param(key,
			                              OSSL_PKEY_PARAM_EC_PUB_X,
			                              (int)ec, err));
		if (rc == 0)
			rc = jws_set_b64(jwk, "y",
			                 jws_bn_param(key,
			                              OSSL_PKEY_PARAM_EC_PUB_Y,
			                              (int)ec, err));
	} else {
		json_decref(jwk);
		mc_err_set(
		    err, MC_ERR_INPUT,
		    "unsupported account key type (need RSA, P-256 or P-384)");
		return NULL;
	}
	if (rc != 0) {
		json_decref(jwk);
		if (err != NULL && err->cat == MC_ERR_NONE)
			mc_err_set(err, MC_ERR_SYS, "cannot build the JWK");
		return NULL;
	}
	return jwk;
}

/* acme_jwk_thumbprint - RFC 7638: SHA-256 over the sorted compact JWK. */
char *
acme_jwk_thumbprint(EVP_PKEY *key, struct mc_err *err)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	json_t *jwk = acme_jwk(key, err);
	char *text = NULL, *out = NULL;

	if (jwk == NULL)
		return NULL;
	text = json_dumps(jwk, JSON_COMPACT | JSON_SORT_KEYS);
	if (text == NULL) {
		mc_err_set(err, MC_ERR_SYS, "cannot serialize the JWK");
		goto out;
	}
	if (!EVP_Digest(text, strlen(text), md, &mdlen, EVP_sha256(), NULL)) {
		mc_err_openssl(err, "SHA-256 of the JWK");
		goto out;
	}
	out = mc_b64url(md, mdlen, err);
out:
	free(text);
	json_decref(jwk);
	return out;
}

/* acme_key_authz - token "." thumbprint. */
char *
acme_key_authz(EVP_PKEY *key, const char *token, struct mc_err *err)
{
	char *tp = acme_jwk_thumbprint(key, err);
	char *out;
	size_t n;

	if (tp == NULL)
		return NULL;
	n = strlen(token) + strlen(tp) + 2;
	out = malloc(n);
	if (out == NULL)
		mc_err_errno(err, MC_ERR_SYS, "out of memory");
	else
		snprintf(out, n, "%s.%s", token, tp);
	free(tp);
	return out;
}

/* jws_ec_raw - convert a DER ECDSA signature to r||s of 2*size bytes in place.
 */
static int
jws_ec_raw(unsigned char *sig, size_t *siglen, size_t size, struct mc_err *err)
{
	const unsigned char *p = sig;
	const BIGNUM *r, *s;
	ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)*siglen);
	int rc = -1;

	if (es == NULL)
		return mc_err_openssl(err, "cannot decode the ECDSA signature");
	ECDSA_SIG_get0(es, &r, &s);
	if (BN_bn2binpad(r, sig, (int)size) != (int)size ||
	    BN_bn2binpad(s, sig + size, (int)size) != (int)size) {
		mc_err_openssl(err, "ECDSA signature does not fit");
		goto out;
	}
	*siglen = 2 * size;
	rc = 0;
out:
	ECDSA_SIG_free(es);
	return rc;
}

/* jws_signature - base64url signature of input with key (new string). */
static char *
jws_signature(EVP_PKEY *key, const char *input, struct mc_err *err)
{
	size_t ec = jws_ec_size(key), siglen = 0;
	const EVP_MD *md = ec == 48 ? EVP_sha384() : EVP_sha256();
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char *sig = NULL;
	char *out = NULL;

	if (ctx == NULL || EVP_DigestSignInit(ctx, NULL, md, NULL, key) != 1 ||
	    EVP_DigestSign(ctx, NULL, &siglen, (const unsigned char *)input,
	                   strlen(input)) != 1) {
		mc_err_openssl(err, "cannot sign the JWS");
		goto out;
	}
	sig = malloc(siglen);
	if (sig == NULL) {
		mc_err_errno(err, MC_ERR_SYS, "out of memory");
		goto out;
	}
	if (EVP_DigestSign(ctx, sig, &siglen, (const unsigned char *)input,
	                   strlen(input)) != 1) {
		mc_err_openssl(err, "cannot sign the JWS");
		goto out;
	}
	if (ec != 0 && jws_ec_raw(sig, &siglen, ec, err) == -1)
		goto out;
	out = mc_b64url(sig, siglen, err);
out:
	free(sig);
	EVP_MD_CTX_free(ctx);
	return out;
}

/* jws_join - "a.b" (new string). */
static char *
jws_join(const char *a, const char *b, struct mc_err *err)
{
	size_t n = strlen(a) + strlen(b) + 2;
	char *s = malloc(n);

	if (s == NULL)
		mc_err_errno(err, MC_ERR_SYS, "out of memory");
	else
		snprintf(s, n, "%s.%s", a, b);
	return s;
}

/* jws_flatten - the flattened JWS object of its three parts (new). */
static json_t *
jws_flatten(const char *prot, const char *payload, const char *sig,
            struct mc_err *err)
{
	json_t *o = json_pack("{s:s, s:s, s:s}", "protected", prot, "payload",
	                      payload, "signature", sig);

	if (o == NULL)
		mc_err_set(err, MC_ERR_SYS, "cannot build the JWS");
	return o;
}

/* jws_header - the protected header object for alg/nonce/url and jwk or kid. */
static json_t *
jws_header(EVP_PKEY *key, const char *kid, const char *nonce, const char *url,
           struct mc_err *err)
{
	json_t *h = json_pack("{s:s, s:s*, s:s}", "alg", acme_jws_alg(key),
	                      "nonce", nonce, "url", url);
	json_t *jwk;

	if (h == NULL) {
		mc_err_set(err, MC_ERR_SYS, "cannot build the JWS header");
		return NULL;
	}
	if (kid != NULL) {
		if (json_object_set_new(h, "kid", json_string(kid)) == 0)
			return h;
		mc_err_set(err, MC_ERR_SYS, "cannot build the JWS header");
	} else {
		jwk = acme_jwk(key, err);
		if (jwk != NULL && json_object_set_new(h, "jwk", jwk) == 0)
			return h;
	}
	json_decref(h);
	return NULL;
}

/* acme_jws_sign - the flattened JWS JSON text. */
char *
acme_jws_sign(EVP_PKEY *key, const char *kid, const char *nonce,
              const char *url, const char *payload, struct mc_err *err)
{
	json_t *hdr = NULL, *jws = NULL;
	char *prot = NULL, *pay = NULL, *input = NULL, *sig = NULL, *out = NULL;

	if (acme_jws_alg(key) == NULL) {
		mc_err_set(
		    err, MC_ERR_INPUT,
		    "unsupported account key type (need RSA, P-256 or P-384)");
		return NULL;
	}
	if (url == NULL) {
		mc_err_set(err, MC_ERR_INPUT, "JWS needs a URL");
		return NULL;
	}
	hdr = jws_header(key, kid, nonce, url, err);
	if (hdr == NULL || (prot = jws_b64_json(hdr, 0, err)) == NULL)
		goto out;
	pay = payload != NULL ? mc_b64url((const unsigned char *)payload,
	                                  strlen(payload), err)
	                      : strdup("");
	if (pay == NULL || (input = jws_join(prot, pay, err)) == NULL ||
	    (sig = jws_signature(key, input, err)) == NULL ||
	    (jws = jws_flatten(prot, pay, sig, err)) == NULL)
		goto out;
	out = json_dumps(jws, JSON_COMPACT);
	if (out == NULL)
		mc_err_set(err, MC_ERR_SYS, "cannot serialize the JWS");
out:
	json_decref(hdr);
	json_decref(jws);
	free(prot);
	free(pay);
	free(input);
	free(sig);
	return out;
}

/* jws_hs256 - base64url HMAC-SHA256 of input under the base64url key. */
static char *
jws_hs256(const char *hmac_b64url, const char *input, struct mc_err *err)
{
	unsigned char *key = NULL, mac[EVP_MAX_MD_SIZE];
	size_t keylen = 0, maclen = 0;
	char *out = NULL;

	if (mc_b64url_decode(hmac_b64url, &key, &keylen, NULL) == -1 ||
	    keylen == 0) {
		/* the decoder's message could quote the key: say only what
		 * failed */
		mc_err_set(err, MC_ERR_INPUT,
		           "eab_hmac_key is not valid base64url");
		goto out;
	}
	if (EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key, keylen,
	              (const unsigned char *)input, strlen(input), mac,
	              sizeof(mac), &maclen) == NULL) {
		mc_err_openssl(err,
		               "HMAC-SHA256 for the external account binding");
		goto out;
	}
	out = mc_b64url(mac, maclen, err);
out:
	OPENSSL_cleanse(mac, sizeof(mac));
	if (key != NULL)
		OPENSSL_clear_free(key, keylen);
	return out;
}

/* acme_jws_eab - the externalAccountBinding inner JWS (RFC 8555 7.3.4). */
json_t *
acme_jws_eab(EVP_PKEY *account_key, const char *eab_kid,
             const char *hmac_b64url, const char *url, struct mc_err *err)
{
	json_t *hdr = NULL, *jwk = NULL, *out = NULL;
	char *prot = NULL, *pay = NULL, *input = NULL, *sig = NULL;

	if (eab_kid == NULL || eab_kid[0] == '\0' || hmac_b64url == NULL ||
	    hmac_b64url[0] == '\0') {
		mc_err_set(
		    err, MC_ERR_INPUT,
		    "external account binding needs eab_kid and eab_hmac_key");
		return NULL;
	}
	hdr = json_pack("{s:s, s:s, s:s}", "alg", "HS256", "kid", eab_kid,
	                "url", url);
	if (hdr == NULL) {
		mc_err_set(err, MC_ERR_SYS, "cannot build the EAB header");
		goto out;
	}
	jwk = acme_jwk(account_key, err);
	if (jwk == NULL || (prot = jws_b64_json(hdr, 0, err)) == NULL ||
	    (pay = jws_b64_json(jwk, 0, err)) == NULL ||
	    (input = jws_join(prot, pay, err)) == NULL ||
	    (sig = jws_hs256(hmac_b64url, input, err)) == NULL)
		goto out;
	out = jws_flatten(prot, pay, sig, err);
out:
	json_decref(hdr);
	json_decref(jwk);
	free(prot);
	free(pay);
	free(input);
	free(sig);
	return out;
}
