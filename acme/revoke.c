/*
 * revoke.c - certificate revocation (RFC 8555 section 7.6), signed with
 * the account key (kid), or with the certificate's own key (jwk): the way
 * when the account is lost, and one the CA accepts from anyone who holds
 * the key.
 */
#include <stdlib.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "acme/acme_int.h"
#include "mailcert/crypto.h"

#define REASON_MAX 10     /* aACompromise (RFC 5280 CRLReason) */
#define REASON_UNUSED 7   /* not assigned in RFC 5280 */

/* revoke_payload - {"certificate": b64url(DER), "reason": reason} (new). */
static json_t *
revoke_payload(X509 *cert, int reason, struct mc_err *err)
{
	unsigned char *der = NULL;
	char *b64 = NULL;
	json_t *p = NULL;
	int len;

	len = i2d_X509(cert, &der);
	if (len <= 0) {
		mc_err_openssl(err, "revoke: cannot encode the certificate");
		return NULL;
	}
	b64 = mc_b64url(der, (size_t)len, err);
	if (b64 != NULL) {
		p = json_pack("{s:s, s:i}", "certificate", b64, "reason",
			      reason);
		if (p == NULL)
			mc_err_set(err, MC_ERR_SYS,
				   "cannot build the revokeCert request");
	}
	OPENSSL_free(der);
	free(b64);
	return p;
}

/* revoke_check - refuse what cannot be sent: no certificate, a reason
 * that is no CRLReason, a key that is not the certificate's. */
static int
revoke_check(const struct mc_acme *acme, X509 *cert, EVP_PKEY *cert_key,
	     int reason, struct mc_err *err)
{
	if (cert == NULL || reason < 0 || reason > REASON_MAX ||
	    reason == REASON_UNUSED)
		return mc_err_set(err, MC_ERR_INPUT,
				  "revoke: no certificate or reason code %d "
				  "is not an RFC 5280 CRLReason",
				  reason);
	if (cert_key != NULL &&
	    EVP_PKEY_eq(X509_get0_pubkey(cert), cert_key) != 1) {
		ERR_clear_error();
		return mc_err_set(err, MC_ERR_INPUT,
				  "revoke: the private key does not belong to "
				  "the certificate");
	}
	if (acme->dir.revoke_cert == NULL)
		return mc_err_set(err, MC_ERR_CA,
				  "%s: the directory offers no revokeCert",
				  acme->directory);
	return 0;
}

/* mc_acme_revoke - revokeCert for cert with an RFC 5280 reason code. */
int
mc_acme_revoke(struct mc_acme *acme, X509 *cert, EVP_PKEY *cert_key,
	       int reason, struct mc_err *err)
{
	struct mc_http_resp r = {0};
	EVP_PKEY *account_key = acme->key;
	json_t *payload = NULL;
	int ret = -1;

	mc_err_clear(err);
	if (revoke_check(acme, cert, cert_key, reason, err) == -1)
		return -1;
	payload = revoke_payload(cert, reason, err);
	if (payload == NULL)
		goto out;
	if (cert_key != NULL)
		acme->key = cert_key; /* jwk of the certificate's key */
	ret = acme_post(acme, acme->dir.revoke_cert, payload, cert_key != NULL,
			NULL, &r, err);
	acme->key = account_key;
out:
	if (ret == -1)
		mc_err_prefix(err, "revokeCert");
	json_decref(payload);
	mc_http_resp_clear(&r);
	return ret;
}
