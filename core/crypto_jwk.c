/*
 * crypto_jwk.c - a private key from a JSON Web Key (RFC 7517/7518), as
 * certbot stores its ACME account key (accounts/.../private_key.json).
 *
 * RSA keys need n, e, d and the CRT values p, q, dp, dq, qi (certbot writes
 * all of them); EC keys crv (P-256, P-384, P-521), x, y, d. The key is
 * built with EVP_PKEY_fromdata() and checked (EVP_PKEY_pairwise_check).
 * Decoded secret numbers are cleansed before they are freed.
 */
#include <string.h>

#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>

#include "mailcert/crypto.h"

#define JWK_MAX_FIELD 1024 /* decoded bytes: RSA 8192 bits fits */

/* jwk_bytes - decode member name of o (base64url) into out and len. */
static int
jwk_bytes(json_t *o, const char *name, unsigned char **out, size_t *len,
	  struct mc_err *err)
{
	const char *text = json_string_value(json_object_get(o, name));

	if (text == NULL)
		return mc_err_set(err, MC_ERR_INPUT, "JWK: no \"%s\"", name);
	if (mc_b64url_decode(text, out, len, err) == -1)
		return mc_err_prefix(err, "JWK: \"%s\"", name);
	if (*len == 0 || *len > JWK_MAX_FIELD) {
		OPENSSL_clear_free(*out, *len);
		*out = NULL;
		return mc_err_set(err, MC_ERR_INPUT, "JWK: \"%s\" has %zu bytes",
				  name, *len);
	}
	return 0;
}

/* jwk_push_bn - add member name of o as a big number parameter. */
static int
jwk_push_bn(OSSL_PARAM_BLD *bld, json_t *o, const char *name,
	    const char *param, BIGNUM **keep, struct mc_err *err)
{
	unsigned char *raw = NULL;
	size_t len = 0;

	if (jwk_bytes(o, name, &raw, &len, err) == -1)
		return -1;
	*keep = BN_secure_new();
	if (*keep == NULL || BN_bin2bn(raw, (int)len, *keep) == NULL ||
	    !OSSL_PARAM_BLD_push_BN(bld, param, *keep)) {
		OPENSSL_clear_free(raw, len);
		return mc_err_openssl(err, "JWK: \"%s\"", name);
	}
	OPENSSL_clear_free(raw, len);
	return 0;
}

/* jwk_rsa_params - the RSA members into bld (numbers kept in bn[]). */
static int
jwk_rsa_params(OSSL_PARAM_BLD *bld, json_t *o, BIGNUM **bn, struct mc_err *err)
{
	static const char *const names[][2] = {
		{"n", OSSL_PKEY_PARAM_RSA_N},
		{"e", OSSL_PKEY_PARAM_RSA_E},
		{"d", OSSL_PKEY_PARAM_RSA_D},
		{"p", OSSL_PKEY_PARAM_RSA_FACTOR1},
		{"q", OSSL_PKEY_PARAM_RSA_FACTOR2},
		{"dp", OSSL_PKEY_PARAM_RSA_EXPONENT1},
		{"dq", OSSL_PKEY_PARAM_RSA_EXPONENT2},
		{"qi", OSSL_PKEY_PARAM_RSA_COEFFICIENT1},
	};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (jwk_push_bn(bld, o, names[i][0], names[i][1], &bn[i], err) == -1)
			return -1;
	return 0;
}

/* jwk_ec_params - the EC members into bld (public point 04||x||y). */
static int
jwk_ec_params(OSSL_PARAM_BLD *bld, json_t *o, BIGNUM **bn, unsigned char *pub,
	      size_t pub_size, struct mc_err *err)
{
	static const char *const curves[][2] = {
		{"P-256", "prime256v1"}, {"P-384", "secp384r1"}, {"P-521", "secp521r1"}};
	const char *crv = json_string_value(json_object_get(o, "crv"));
	unsigned char *x = NULL, *y = NULL;
	size_t i, xl = 0, yl = 0;
	int rc = -1;

	for (i = 0; crv != NULL && i < 3; i++)
		if (strcmp(crv, curves[i][0]) == 0)
			break;
	if (crv == NULL || i == 3)
		return mc_err_set(err, MC_ERR_INPUT, "JWK: unsupported curve %.40s",
				  crv ? crv : "(none)");
	if (!OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
					     curves[i][1], 0))
		return mc_err_openssl(err, "JWK: curve");
	if (jwk_bytes(o, "x", &x, &xl, err) == -1 || jwk_bytes(o, "y", &y, &yl, err) == -1)
		goto out;
	if (xl != yl || 1 + xl + yl > pub_size) {
		mc_err_set(err, MC_ERR_INPUT, "JWK: x and y do not fit %s", crv);
		goto out;
	}
	pub[0] = 0x04;
	memcpy(pub + 1, x, xl);
	memcpy(pub + 1 + xl, y, yl);
	if (!OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub,
					      1 + xl + yl)) {
		mc_err_openssl(err, "JWK: public point");
		goto out;
	}
	rc = jwk_push_bn(bld, o, "d", OSSL_PKEY_PARAM_PRIV_KEY, &bn[0], err);
out:
	free(x);
	free(y);
	return rc;
}

/* jwk_build - EVP_PKEY of type from the parameters in bld. */
static EVP_PKEY *
jwk_build(const char *type, OSSL_PARAM_BLD *bld, struct mc_err *err)
{
	OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
	EVP_PKEY_CTX *check = NULL;
	EVP_PKEY *key = NULL;

	if (params == NULL || ctx == NULL || EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_KEYPAIR, params) <= 0) {
		mc_err_openssl(err, "JWK: cannot build the %s key", type);
		goto out;
	}
	check = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
	if (check == NULL || EVP_PKEY_pairwise_check(check) <= 0) {
		mc_err_openssl(err, "JWK: the %s key is not consistent", type);
		EVP_PKEY_free(key);
		key = NULL;
	}
out:
	EVP_PKEY_CTX_free(check);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	return key;
}

/* mc_key_from_jwk - a private key from the JWK text (RSA or EC). */
EVP_PKEY *
mc_key_from_jwk(const char *json, size_t len, struct mc_err *err)
{
	json_t *o = json_loadb(json, len, 0, NULL);
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	BIGNUM *bn[8] = {NULL};
	unsigned char pub[1 + 2 * 66];
	const char *kty = json_string_value(json_object_get(o, "kty"));
	EVP_PKEY *key = NULL;
	size_t i;

	if (!json_is_object(o) || kty == NULL) {
		mc_err_set(err, MC_ERR_INPUT, "not a JSON Web Key (no \"kty\")");
		goto out;
	}
	if (bld == NULL) {
		mc_err_openssl(err, "JWK");
		goto out;
	}
	if (strcmp(kty, "RSA") == 0) {
		if (jwk_rsa_params(bld, o, bn, err) == 0)
			key = jwk_build("RSA", bld, err);
	} else if (strcmp(kty, "EC") == 0) {
		if (jwk_ec_params(bld, o, bn, pub, sizeof(pub), err) == 0)
			key = jwk_build("EC", bld, err);
	} else {
		mc_err_set(err, MC_ERR_INPUT, "JWK: key type %.20s is not RSA or EC",
			   kty);
	}
out:
	for (i = 0; i < 8; i++)
		BN_clear_free(bn[i]);
	OSSL_PARAM_BLD_free(bld);
	json_decref(o);
	return key;
}
