/*
 * check_describe.c - the facts `check` shows for each served certificate.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <openssl/objects.h>
#include <openssl/x509v3.h>

#include "chain_int.h"
#include "mailcert/crypto.h"
#include "mailcert/text.h"

/* describe_gn - "DNS:name" / "IP:addr" of one general name, or "" (a
 * name with control characters or bad UTF-8 shows them as '?'). */
static void
describe_gn(const GENERAL_NAME *gn, char *buf, size_t size)
{
	const unsigned char *p;
	char ip[INET6_ADDRSTRLEN];
	int len;

	buf[0] = '\0';
	if (gn->type == GEN_DNS) {
		p = ASN1_STRING_get0_data(gn->d.dNSName);
		len = ASN1_STRING_length(gn->d.dNSName);
		/* the server's bytes: the one sanitizer (JSON-safe UTF-8) */
		snprintf(buf, size, "DNS:");
		if (size > 4 && len > 0)
			mc_text_excerpt((const char *)p, (size_t)len, buf + 4,
			                size - 4, 0);
	} else if (gn->type == GEN_IPADD) {
		p = ASN1_STRING_get0_data(gn->d.iPAddress);
		len = ASN1_STRING_length(gn->d.iPAddress);
		if ((len == 4 && inet_ntop(AF_INET, p, ip, sizeof(ip))) ||
		    (len == 16 && inet_ntop(AF_INET6, p, ip, sizeof(ip))))
			snprintf(buf, size, "IP:%s", ip);
	}
}

/* describe_sans - the DNS and IP SANs, comma separated, into buf. */
static void
describe_sans(X509 *cert, char *buf, size_t size)
{
	GENERAL_NAMES *gns;
	char one[300];
	size_t len;
	int i;

	buf[0] = '\0';
	gns = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	for (i = 0; gns != NULL && i < sk_GENERAL_NAME_num(gns); i++) {
		describe_gn(sk_GENERAL_NAME_value(gns, i), one, sizeof(one));
		if (one[0] == '\0')
			continue;
		len = strlen(buf);
		snprintf(buf + len, size - len, "%s%s", len ? ", " : "", one);
	}
	GENERAL_NAMES_free(gns);
}

/* mc_check_cert_describe - fill out for cert (MC_ERR_CRYPTO on failure). */
int
mc_check_cert_describe(X509 *cert, struct mc_cert_desc *out, struct mc_err *err)
{
	struct mc_x509_info info;
	EVP_PKEY *key = X509_get0_pubkey(cert);
	int nid = X509_get_signature_nid(cert);

	if (key == NULL)
		return mc_err_openssl(err, "certificate public key");
	if (mc_x509_info(cert, &info, err) == -1)
		return -1;
	memset(out, 0, sizeof(*out));
	X509_NAME_oneline(X509_get_subject_name(cert), out->subject,
	                  sizeof(out->subject));
	X509_NAME_oneline(X509_get_issuer_name(cert), out->issuer,
	                  sizeof(out->issuer));
	describe_sans(cert, out->sans, sizeof(out->sans));
	chain_key_name(key, out->key, sizeof(out->key));
	snprintf(out->sig, sizeof(out->sig), "%s",
	         nid != NID_undef ? OBJ_nid2ln(nid) : "unknown");
	snprintf(out->serial, sizeof(out->serial), "%s", info.serial);
	snprintf(out->sha256, sizeof(out->sha256), "%s", info.sha256);
	out->not_before = info.not_before;
	out->not_after = info.not_after;
	return 0;
}
