/*
 * rollover.c - account key rollover (RFC 8555 section 7.3.5) and account
 * deactivation (section 7.3.6).
 *
 * The key change request is a JWS inside a JWS: the inner one is signed
 * by the NEW key, carries its jwk and the keyChange URL but no nonce (the
 * RFC forbids one), and says {"account": kid, "oldKey": old jwk}; the
 * outer one is an ordinary kid-signed POST with the old key.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "acme/acme_int.h"
#include "acme/jws.h"
#include "mailcert/crypto.h"
#include "mailcert/log.h"

/* rollover_inner - the inner JWS object: signed by the new key, with its
 * jwk and the keyChange URL, no nonce. */
static json_t *
rollover_inner(struct mc_acme *acme, EVP_PKEY *new_key, struct mc_err *err)
{
	json_t *pay, *jws = NULL;
	char *payload = NULL, *text = NULL;

	pay = json_pack("{s:s, s:o*}", "account", acme->kid, "oldKey",
			acme_jwk(acme->key, err));
	if (pay == NULL || !json_is_object(json_object_get(pay, "oldKey")) ||
	    (payload = json_dumps(pay, JSON_COMPACT)) == NULL) {
		if (err != NULL && err->cat == MC_ERR_NONE)
			mc_err_set(err, MC_ERR_SYS,
				   "key change: cannot build the payload");
		goto out;
	}
	text = acme_jws_sign(new_key, NULL, NULL, acme->dir.key_change, payload,
			     err);
	if (text == NULL) {
		mc_err_prefix(err, "key change: new key");
		goto out;
	}
	jws = json_loads(text, 0, NULL);
	if (jws == NULL)
		mc_err_set(err, MC_ERR_SYS, "key change: cannot parse the "
					    "inner JWS");
out:
	json_decref(pay);
	free(payload);
	free(text);
	return jws;
}

/* mc_acme_key_change - roll the account over to new_key. */
int
mc_acme_key_change(struct mc_acme *acme, EVP_PKEY *new_key,
		   struct mc_err *err)
{
	struct mc_http_resp r = {0};
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
	mc_http_resp_clear(&r);
	return ret;
}

/* mc_acme_account_deactivate - POST {"status":"deactivated"} to the kid. */
int
mc_acme_account_deactivate(struct mc_acme *acme, struct mc_err *err)
{
	struct mc_http_resp r = {0};
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
	mc_http_resp_clear(&r);
	return ret;
}
