/*
 * rollover.c - account key rollover (RFC 8555 section 7.3.5) and account
 * deactivation (section 7.3.6).
 *
 * The key change request is a JWS inside a JWS: the inner one is signed
 * by the NEW key, carries its jwk and the keyChange URL but no nonce (the
 * RFC forbids one), and says {"account": kid, "oldKey": old jwk}; the
 * outer one is an ordinary kid-signed POST with the old key. jws.c signs
 * only nonce-carrying JWS, so the inner signature is made here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include "acme/acme_int.h"
#include "acme/jws.h"
#include "mailcert/crypto.h"
#include "mailcert/log.h"

/* rollover_raw_ecdsa - DER ECDSA signature to JWS r||s of 2*n bytes. */
static int
rollover_raw_ecdsa(const unsigned char *der, size_t len, int n,
		   unsigned char *out, struct mc_err *err)
{
	const unsigned char *p = der;
	ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)len);
	const BIGNUM *r, *s;
	int ok;

	if (sig == NULL)
		return mc_err_openssl(err, "key change: bad ECDSA signature");
	ECDSA_SIG_get0(sig, &r, &s);
	ok = BN_bn2binpad(r, out, n) == n && BN_bn2binpad(s, out + n, n) == n;
	ECDSA_SIG_free(sig);
	if (!ok)
		return mc_err_openssl(err, "key change: ECDSA value too long");
	return 0;
}

/* rollover_sig - base64url JWS signature of input by key (new string). */
static char *
rollover_sig(EVP_PKEY *key, const char *alg, const char *input,
	     struct mc_err *err)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	const EVP_MD *md = strcmp(alg, "ES384") == 0 ? EVP_sha384()
						      : EVP_sha256();
	unsigned char *sig = NULL, raw[96];
	size_t len = 0;
	int n = strcmp(alg, "ES384") == 0 ? 48 : 32;
	char *out = NULL;

	if (ctx == NULL || EVP_DigestSignInit(ctx, NULL, md, NULL, key) != 1 ||
	    EVP_DigestSign(ctx, NULL, &len, (const unsigned char *)input,
			   strlen(input)) != 1 ||
	    (sig = OPENSSL_malloc(len)) == NULL ||
	    EVP_DigestSign(ctx, sig, &len, (const unsigned char *)input,
			   strlen(input)) != 1) {
		mc_err_openssl(err, "key change: cannot sign the inner JWS");
		goto out;
	}
	if (alg[0] == 'R')
		out = mc_b64url(sig, len, err);
	else if (rollover_raw_ecdsa(sig, len, n, raw, err) == 0)
		out = mc_b64url(raw, 2 * (size_t)n, err);
out:
	OPENSSL_free(sig);
	EVP_MD_CTX_free(ctx);
	return out;
}

/* rollover_b64_json - base64url of the compact JSON of v (new string). */
static char *
rollover_b64_json(const json_t *v, struct mc_err *err)
{
	char *text = v != NULL ? json_dumps(v, JSON_COMPACT) : NULL;
	char *b64;

	if (text == NULL) {
		mc_err_set(err, MC_ERR_SYS, "key change: cannot build JSON");
		return NULL;
	}
	b64 = mc_b64url((const unsigned char *)text, strlen(text), err);
	free(text);
	return b64;
}

/* rollover_inner - the inner JWS object: new key's jwk, url, no nonce. */
static json_t *
rollover_inner(struct mc_acme *acme, EVP_PKEY *new_key, struct mc_err *err)
{
	const char *alg = acme_jws_alg(new_key);
	json_t *hdr = NULL, *pay = NULL, *jws = NULL;
	char *prot = NULL, *body = NULL, *input = NULL, *sig = NULL;
	size_t n;

	if (alg == NULL) {
		mc_err_set(err, MC_ERR_INPUT, "key change: unsupported new "
					      "key type (need RSA, P-256 or "
					      "P-384)");
		return NULL;
	}
	hdr = json_pack("{s:s, s:o*, s:s}", "alg", alg, "jwk",
			acme_jwk(new_key, err), "url", acme->dir.key_change);
	pay = json_pack("{s:s, s:o*}", "account", acme->kid, "oldKey",
			acme_jwk(acme->key, err));
	if (hdr == NULL || pay == NULL || !json_is_object(json_object_get(
					      hdr, "jwk")) ||
	    !json_is_object(json_object_get(pay, "oldKey")) ||
	    (prot = rollover_b64_json(hdr, err)) == NULL ||
	    (body = rollover_b64_json(pay, err)) == NULL)
		goto out;
	n = strlen(prot) + strlen(body) + 2;
	if ((input = malloc(n)) == NULL) {
		mc_err_errno(err, MC_ERR_SYS, "out of memory");
		goto out;
	}
	snprintf(input, n, "%s.%s", prot, body);
	if ((sig = rollover_sig(new_key, alg, input, err)) == NULL)
		goto out;
	jws = json_pack("{s:s, s:s, s:s}", "protected", prot, "payload", body,
			"signature", sig);
out:
	if (jws == NULL && err != NULL && err->cat == MC_ERR_NONE)
		mc_err_set(err, MC_ERR_SYS, "key change: cannot build the "
					    "inner JWS");
	json_decref(hdr);
	json_decref(pay);
	free(prot);
	free(body);
	free(input);
	free(sig);
	return jws;
}

/* mc_acme_key_change - roll the account over to new_key. */
int
mc_acme_key_change(struct mc_acme *acme, EVP_PKEY *new_key,
		   struct mc_err *err)
{
	struct acme_http_resp r = {0};
	json_t *inner = NULL;
	int ret = -1;

	mc_err_clear(err);
	if (new_key == NULL || acme->key == NULL || acme->kid == NULL)
		return mc_err_set(err, MC_ERR_INPUT,
				  "key change: needs the account URL, the old "
				  "and the new key");
	if (acme->dir.key_change == NULL)
		return mc_err_set(err, MC_ERR_CA,
				  "%s: the directory offers no keyChange",
				  acme->directory);
	inner = rollover_inner(acme, new_key, err);
	if (inner == NULL ||
	    acme_post(acme, acme->dir.key_change, inner, false, NULL, &r,
		      err) == -1)
		goto out;
	acme->key = new_key;
	ret = 0;
out:
	if (ret == -1)
		mc_err_prefix(err, "keyChange");
	json_decref(inner);
	acme_http_resp_clear(&r);
	return ret;
}

/* mc_acme_account_deactivate - POST {"status":"deactivated"} to the kid. */
int
mc_acme_account_deactivate(struct mc_acme *acme, struct mc_err *err)
{
	struct acme_http_resp r = {0};
	json_t *payload = NULL, *obj = NULL;
	const char *status;
	int ret = -1;

	mc_err_clear(err);
	if (acme->kid == NULL)
		return mc_err_set(err, MC_ERR_INPUT,
				  "deactivate: no account URL known");
	payload = json_pack("{s:s}", "status", "deactivated");
	if (payload == NULL) {
		mc_err_set(err, MC_ERR_SYS, "out of memory");
		goto out;
	}
	if (acme_post_json(acme, acme->kid, payload, &r, &obj, err) == -1 ||
	    acme_json_str(obj, "status", acme->kid, true, false, &status,
			  err) == -1)
		goto out;
	if (strcmp(status, "deactivated") != 0) {
		mc_err_set(err, MC_ERR_CA,
			   "%s: the account is still \"%.32s\" after the "
			   "deactivation request",
			   acme->kid, status);
		goto out;
	}
	ret = 0;
out:
	if (ret == -1)
		mc_err_prefix(err, "account deactivation");
	json_decref(payload);
	json_decref(obj);
	acme_http_resp_clear(&r);
	return ret;
}
