/*
 * check_dane.c - DANE matching and findings for `check` (see
 * mailcert/check_dane.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "mailcert/check_dane.h"

#define DANE_TEXT_RECORDS 6 /* records quoted in a finding's text */

/* dane_usable - whether a record can authenticate an SMTP server. */
static bool
dane_usable(const struct mc_tlsa_rec *r)
{
	return (r->usage == 2 || r->usage == 3) && r->selector <= 1 && r->mtype <= 2;
}

/* dane_selected - the DER the selector picks from cert (new buffer). */
static unsigned char *
dane_selected(X509 *cert, unsigned selector, int *len)
{
	unsigned char *der = NULL;

	*len = selector == 0 ? i2d_X509(cert, &der)
			     : i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der);
	return *len > 0 ? der : NULL;
}

/* dane_data_matches - whether der matches r's data under r's matching type. */
static bool
dane_data_matches(const struct mc_tlsa_rec *r, const unsigned char *der, size_t len)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	if (r->mtype == 0)
		return r->len == len && memcmp(r->data, der, len) == 0;
	if (EVP_Digest(der, len, md, &n, r->mtype == 1 ? EVP_sha256() : EVP_sha512(),
		       NULL) != 1)
		return false;
	return r->len == n && memcmp(r->data, md, n) == 0;
}

/* dane_cert_matches - whether cert matches r (selector + matching type). */
static bool
dane_cert_matches(const struct mc_tlsa_rec *r, X509 *cert)
{
	unsigned char *der;
	int len;
	bool ok;

	der = dane_selected(cert, r->selector, &len);
	if (der == NULL)
		return false;
	ok = dane_data_matches(r, der, (size_t)len);
	OPENSSL_free(der);
	return ok;
}

/* dane_chains_to - whether chain[0] is signed, link by link, up to chain[k]. */
static bool
dane_chains_to(STACK_OF(X509) *chain, int k)
{
	int i;

	for (i = 0; i < k; i++) {
		X509 *c = sk_X509_value(chain, i), *up = sk_X509_value(chain, i + 1);

		if (X509_check_issued(up, c) != X509_V_OK ||
		    X509_verify(c, X509_get0_pubkey(up)) != 1)
			return false;
	}
	return true;
}

/* dane_ta_key - 2 1 0: the record is the key that signed the top certificate. */
static bool
dane_ta_key(const struct mc_tlsa_rec *r, STACK_OF(X509) *chain)
{
	const unsigned char *p = r->data;
	EVP_PKEY *key;
	int top = sk_X509_num(chain) - 1;
	bool ok;

	if (r->selector != 1 || r->mtype != 0)
		return false;
	key = d2i_PUBKEY(NULL, &p, (long)r->len);
	if (key == NULL)
		return false;
	ok = X509_verify(sk_X509_value(chain, top), key) == 1 &&
	     dane_chains_to(chain, top);
	EVP_PKEY_free(key);
	return ok;
}

/* dane_rec_matches - whether one usable record matches the chain. */
static bool
dane_rec_matches(const struct mc_tlsa_rec *r, STACK_OF(X509) *chain)
{
	int k;

	if (r->usage == 3)
		return dane_cert_matches(r, sk_X509_value(chain, 0));
	for (k = 1; k < sk_X509_num(chain); k++)
		if (dane_cert_matches(r, sk_X509_value(chain, k)))
			return dane_chains_to(chain, k);
	return dane_ta_key(r, chain);
}

/* dane_leaf_spki - hex SHA-256 of the leaf's SPKI. */
static int
dane_leaf_spki(X509 *leaf, char hex[65], struct mc_err *err)
{
	unsigned char *der, md[EVP_MAX_MD_SIZE];
	unsigned int n = 0, i;
	int len;

	der = dane_selected(leaf, 1, &len);
	if (der == NULL || EVP_Digest(der, (size_t)len, md, &n, EVP_sha256(), NULL) != 1) {
		OPENSSL_free(der);
		return mc_err_openssl(err, "DANE: the served leaf's public key");
	}
	OPENSSL_free(der);
	for (i = 0; i < n; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	return 0;
}

/* mc_check_dane_match - match every record of set against chain. */
int
mc_check_dane_match(STACK_OF(X509) *chain, const struct mc_tlsa_rrset *set,
		    struct mc_dane_match *out, struct mc_err *err)
{
	size_t i;

	memset(out, 0, sizeof(*out));
	out->matched = -1;
	if (chain == NULL || sk_X509_num(chain) < 1)
		return 0;
	if (dane_leaf_spki(sk_X509_value(chain, 0), out->leaf_spki, err) == -1)
		return -1;
	for (i = 0; i < set->n; i++) {
		if (!dane_usable(&set->recs[i]))
			continue;
		out->usable++;
		if (out->matched == -1 && dane_rec_matches(&set->recs[i], chain))
			out->matched = (long)i;
	}
	return 0;
}

/* dane_records_text - "RECORD; RECORD; ..." (at most DANE_TEXT_RECORDS). */
static void
dane_records_text(const struct mc_tlsa_rrset *set, char *buf, size_t size)
{
	char one[96];
	size_t i, off = 0;

	buf[0] = '\0';
	for (i = 0; i < set->n && i < DANE_TEXT_RECORDS && off < size; i++) {
		mc_tlsa_rec_text(&set->recs[i], one, sizeof(one));
		off += (size_t)snprintf(buf + off, size - off, "%s\"%s\"", i ? ", " : "", one);
	}
	if (i < set->n && off < size)
		snprintf(buf + off, size - off, " and %zu more", set->n - i);
}

/* mc_check_dane_findings - the DANE findings of one endpoint. */
int
mc_check_dane_findings(STACK_OF(X509) *chain, const struct mc_tlsa_rrset *set,
		       const struct mc_err *lookup_err, struct mc_findings *out,
		       struct mc_err *err)
{
	struct mc_dane_match m;
	char recs[400];

	if (lookup_err != NULL)
		return mc_findings_add(out, "dane-mismatch",
				       strstr(lookup_err->msg, "bogus") ? MC_SEV_CRITICAL : MC_SEV_OK,
				       strstr(lookup_err->msg, "bogus") == NULL, err,
				       "TLSA lookup: %s%s", lookup_err->msg,
				       strstr(lookup_err->msg, "bogus")
					   ? "; DANE senders defer mail to this host: fix the "
					     "zone's DNSSEC"
					   : "");
	if (set->n == 0 || chain == NULL)
		return 0;
	if (mc_check_dane_match(chain, set, &m, err) == -1)
		return -1;
	dane_records_text(set, recs, sizeof(recs));
	if (!set->secure)
		return mc_findings_add(out, "dane-insecure", MC_SEV_WARNING, false, err,
				       "%s has TLSA %s but they are not DNSSEC-secure, so no "
				       "sender uses them; sign the zone (served SPKI SHA-256 %s)",
				       set->name, recs, m.leaf_spki);
	if (m.matched >= 0)
		return 0;
	return mc_findings_add(out, "dane-mismatch",
			       m.usable ? MC_SEV_CRITICAL : MC_SEV_WARNING, false, err,
			       "%s: %s TLSA %s matches the served chain (leaf SPKI "
			       "SHA-256 %s); %s", set->name, m.usable ? "no" : "no usable",
			       recs, m.leaf_spki,
			       m.usable ? "DANE senders will not deliver: publish \"3 1 1 "
					  "<that hash>\" or deploy the pinned key"
					: "usages 0 and 1 are not used for SMTP; publish 3 1 1 "
					  "or 2 1 1 records");
}

/* mc_check_dane - look up, validate, judge. */
int
mc_check_dane(const char *host, int port, STACK_OF(X509) *chain,
	      const struct mc_dns_conf *conf, struct mc_findings *out,
	      struct mc_err *err)
{
	struct mc_tlsa_rrset set = { 0 };
	struct mc_dns *dns;
	struct mc_err lookup;
	char name[300];
	int rc;

	snprintf(name, sizeof(name), "_%d._tcp.%s", port, host);
	mc_err_clear(&lookup);
	dns = mc_dns_new(conf, &lookup);
	if (dns == NULL || mc_dns_tlsa(dns, name, &set, &lookup) == -1)
		rc = mc_check_dane_findings(chain, &set, &lookup, out, err);
	else
		rc = mc_check_dane_findings(chain, &set, NULL, out, err);
	mc_tlsa_rrset_clear(&set);
	mc_dns_free(dns);
	return rc;
}
