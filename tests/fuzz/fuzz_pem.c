/*
 * fuzz_pem.c - PEM certificate chains and private keys as mailcert loads
 * them from the CA and from the state directory (core/x509.c,
 * core/crypto.c): parse, then read every certificate's facts.
 */
#include <openssl/err.h>

#include "mailcert/crypto.h"
#include "tests/fuzz/fuzz.h"

/* fuzz_facts - what status, meta.json and ARI read from a certificate. */
static void
fuzz_facts(X509 *cert)
{
	struct mc_x509_info info;
	struct mc_err err;
	char **sans = NULL, *id;
	size_t n = 0;

	(void)mc_x509_info(cert, &info, &err);
	if (mc_x509_sans(cert, &sans, &n, &err) == 0)
		mc_strv_free(sans, n);
	id = mc_x509_ari_cert_id(cert, &err);
	free(id);
}

/* LLVMFuzzerTestOneInput - the first byte: odd reads the rest as a
 * private key, even as a chain (key decoding is slow; the split keeps
 * the chain path fast). */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	STACK_OF(X509) *chain;
	struct mc_err err;
	EVP_PKEY *key;
	int i;

	if (size < 1)
		return 0;
	if (data[0] & 1) {
		key = mc_key_from_pem((const char *)data + 1, size - 1, &err);
		if (key != NULL)
			(void)mc_key_type_of(key);
		EVP_PKEY_free(key);
		ERR_clear_error();
		return 0;
	}
	chain = mc_x509_chain_parse((const char *)data + 1, size - 1, &err);
	if (chain != NULL) {
		for (i = 0; i < sk_X509_num(chain); i++)
			fuzz_facts(sk_X509_value(chain, i));
		sk_X509_pop_free(chain, X509_free);
	}
	ERR_clear_error();
	return 0;
}
