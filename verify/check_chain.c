/*
 * check_chain.c - judge the chain an endpoint served (mc_check_chain).
 *
 * Dates, expires-soon, self-signed, name-mismatch (RFC 9525: SANs only),
 * weak-signature, weak-key and inactive are decided here from the
 * certificates alone; trust and chain completeness come from
 * check_trust.c, the served order from check_order.c, revocation of the
 * whole path from check_revoke.c. A clean chain adds no finding at all
 * (a private CA without revocation URLs adds one ok remark).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509v3.h>

#include "chain_int.h"
#include "mailcert/config.h"
#include "mailcert/crypto.h"

#define DAY 86400L

/* chain_date - "YYYY-MM-DD" of t into buf. */
static void
chain_date(time_t t, char *buf, size_t size)
{
	mc_time_format(t, MC_TIME_DAY, buf, size);
}

/* chain_cn - the CN of cert's subject, else its one-line name, into buf. */
void
chain_cn(X509 *cert, char *buf, size_t size)
{
	X509_NAME *name = X509_get_subject_name(cert);

	buf[0] = '\0';
	if (X509_NAME_get_text_by_NID(name, NID_commonName, buf, (int)size) > 0)
		return;
	X509_NAME_oneline(name, buf, (int)size);
}

/* chain_key_name - "RSA 2048", "EC P-256", "Ed25519" ... into buf. */
void
chain_key_name(EVP_PKEY *key, char *buf, size_t size)
{
	char group[64] = "";
	int id = EVP_PKEY_get_base_id(key);

	if (id == EVP_PKEY_RSA || id == EVP_PKEY_RSA_PSS)
		snprintf(buf, size, "RSA %d", EVP_PKEY_get_bits(key));
	else if (id == EVP_PKEY_DSA)
		snprintf(buf, size, "DSA %d", EVP_PKEY_get_bits(key));
	else if (id == EVP_PKEY_EC) {
		EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME,
		                               group, sizeof(group), NULL);
		snprintf(buf, size, "EC %s",
		         strcmp(group, "prime256v1") == 0  ? "P-256"
		         : strcmp(group, "secp384r1") == 0 ? "P-384"
		         : strcmp(group, "secp521r1") == 0 ? "P-521"
		         : group[0]                        ? group
		                                           : "unknown-curve");
	} else
		snprintf(buf, size, "%s", OBJ_nid2sn(id));
}

/* check_dates - expired / not-yet-valid for one served certificate. */
static int
check_dates(X509 *cert, int depth, time_t now, struct mc_findings *out,
            struct mc_err *err)
{
	const char *what = depth == 0 ? "certificate" : "intermediate";
	char cn[256], day[32];
	time_t nb = 0, na = 0;

	chain_cn(cert, cn, sizeof(cn));
	if (mc_time_asn1(X509_get0_notBefore(cert), &nb) == -1 ||
	    mc_time_asn1(X509_get0_notAfter(cert), &na) == -1)
		return mc_findings_add(out, "expired", MC_SEV_CRITICAL, false,
		                       err,
		                       "The %s \"%s\" has unreadable "
		                       "validity dates: replace it.",
		                       what, cn);
	if (na < now) {
		chain_date(na, day, sizeof(day));
		return mc_findings_add(out, "expired", MC_SEV_CRITICAL, false,
		                       err,
		                       "The %s \"%s\" expired on %s "
		                       "(%ld days ago): install a renewed one "
		                       "and reload the server.",
		                       what, cn, day, (long)((now - na) / DAY));
	}
	if (nb > now) {
		chain_date(nb, day, sizeof(day));
		return mc_findings_add(out, "not-yet-valid", MC_SEV_CRITICAL,
		                       false, err,
		                       "The %s \"%s\" is not valid "
		                       "before %s: check the clock of the "
		                       "issuing system or serve the previous "
		                       "certificate until then.",
		                       what, cn, day);
	}
	return 0;
}

/* mc_check_thresholds - the expires-soon thresholds for leaf under opts. */
void
mc_check_thresholds(X509 *leaf, const struct mc_check_opts *opts, long *warn_s,
                    long *crit_s)
{
	time_t nb = 0, na = 0;
	long life;

	mc_time_asn1(X509_get0_notBefore(leaf), &nb);
	mc_time_asn1(X509_get0_notAfter(leaf), &na);
	life = na > nb ? (long)(na - nb) : 0;
	*warn_s = opts->warn_days >= 0 ? opts->warn_days * DAY : life / 3;
	*crit_s = opts->crit_days >= 0 ? opts->crit_days * DAY : life / 10;
}

/* check_soon - expires-soon for the leaf (not run when it already expired). */
static int
check_soon(X509 *leaf, const struct mc_check_opts *opts, time_t now,
           struct mc_findings *out, struct mc_err *err)
{
	long warn_s, crit_s, left;
	time_t na = 0;
	char day[32];

	if (mc_time_asn1(X509_get0_notAfter(leaf), &na) == -1 || na < now)
		return 0;
	mc_check_thresholds(leaf, opts, &warn_s, &crit_s);
	left = (long)(na - now);
	if (left >= warn_s && left >= crit_s)
		return 0;
	chain_date(na, day, sizeof(day));
	return mc_findings_add(out, "expires-soon",
	                       left < crit_s ? MC_SEV_CRITICAL : MC_SEV_WARNING,
	                       false, err,
	                       "The certificate expires on %s (%ld "
	                       "days left): renew it now and check that "
	                       "automatic renewal works.",
	                       day, left / DAY);
}

/* chain_is_ip - whether name is an IPv4 or IPv6 literal. */
static bool
chain_is_ip(const char *name)
{
	unsigned char ip[16];

	return inet_pton(AF_INET, name, ip) == 1 ||
	       inet_pton(AF_INET6, name, ip) == 1;
}

/* chain_has_san - whether cert has a DNS or IP subjectAltName. */
static bool
chain_has_san(X509 *cert)
{
	GENERAL_NAMES *gns;
	bool found = false;
	int i;

	gns = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	for (i = 0; gns != NULL && i < sk_GENERAL_NAME_num(gns); i++) {
		int type = sk_GENERAL_NAME_value(gns, i)->type;

		found = found || type == GEN_DNS || type == GEN_IPADD;
	}
	GENERAL_NAMES_free(gns);
	return found;
}

/* chain_show_name - name, and its Unicode form when it has xn-- labels. */
static void
chain_show_name(const char *name, char *buf, size_t size)
{
	char *u = strstr(name, "xn--") ? mc_name_to_ulabel(name, NULL) : NULL;

	if (u != NULL && strcmp(u, name) != 0)
		snprintf(buf, size, "%s\" (%s)", name, u);
	else
		snprintf(buf, size, "%s\"", name);
	free(u);
}

/* check_name - name-mismatch when no SAN (or wildcard, or IP) covers name:
 * RFC 9525 matching, so the subject CN is never a name, and a wildcard
 * is only ever a whole left-most label. */
static int
check_name(X509 *leaf, const char *name, struct mc_findings *out,
           struct mc_err *err)
{
	char shown[600], cn[256];
	int ok;

	if (name == NULL || name[0] == '\0')
		return 0;
	if (chain_is_ip(name))
		ok = X509_check_ip_asc(leaf, name, 0);
	else
		ok = X509_check_host(leaf, name, 0,
		                     X509_CHECK_FLAG_NEVER_CHECK_SUBJECT |
		                         X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS,
		                     NULL);
	if (ok == 1)
		return 0;
	chain_show_name(name, shown, sizeof(shown));
	if (!chain_has_san(leaf)) {
		chain_cn(leaf, cn, sizeof(cn));
		return mc_findings_add(
		    out, "name-mismatch", MC_SEV_CRITICAL, false, err,
		    "The certificate has no subjectAltName, only the subject "
		    "CN \"%s\", and clients (RFC 9525, the CA/Browser Forum "
		    "rules) never match the CN, so it covers no name at all: "
		    "issue one with \"%s as a DNS subjectAltName.",
		    cn, shown);
	}
	return mc_findings_add(out, "name-mismatch", MC_SEV_CRITICAL, false,
	                       err,
	                       "The certificate does not cover \"%s (no "
	                       "matching subjectAltName): issue one that "
	                       "includes this name.",
	                       shown);
}

/* check_sig - weak-signature for a certificate signed with SHA-1 or MD5. */
static int
check_sig(X509 *cert, int depth, struct mc_findings *out, struct mc_err *err)
{
	int mdnid = NID_undef;
	char cn[256];

	if (!X509_get_signature_info(cert, &mdnid, NULL, NULL, NULL))
		return 0;
	if (mdnid != NID_sha1 && mdnid != NID_md5 && mdnid != NID_md5_sha1 &&
	    mdnid != NID_md4 && mdnid != NID_md2)
		return 0;
	chain_cn(cert, cn, sizeof(cn));
	return mc_findings_add(
	    out, "weak-signature", MC_SEV_CRITICAL, false, err,
	    "The %s \"%s\" is signed with %s, which "
	    "clients reject: reissue it with a SHA-256 "
	    "(or stronger) signature.",
	    depth == 0 ? "certificate" : "intermediate", cn, OBJ_nid2sn(mdnid));
}

/* key_verdict - MC_SEV_OK for a safe key, else the severity of weak-key. */
static enum mc_severity
key_verdict(EVP_PKEY *key)
{
	char group[64] = "";
	int id = EVP_PKEY_get_base_id(key);

	if (id == EVP_PKEY_RSA || id == EVP_PKEY_RSA_PSS)
		return EVP_PKEY_get_bits(key) < 2048 ? MC_SEV_CRITICAL
		                                     : MC_SEV_OK;
	if (id == EVP_PKEY_DSA)
		return MC_SEV_CRITICAL;
	if (id == EVP_PKEY_ED25519 || id == EVP_PKEY_X25519 ||
	    id == EVP_PKEY_ED448)
		return MC_SEV_OK;
	if (id != EVP_PKEY_EC)
		return MC_SEV_WARNING;
	EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group,
	                               sizeof(group), NULL);
	if (strcmp(group, "prime256v1") == 0 ||
	    strcmp(group, "secp384r1") == 0 || strcmp(group, "secp521r1") == 0)
		return MC_SEV_OK;
	return MC_SEV_CRITICAL;
}

/* check_key - weak-key for RSA under 2048 bits, DSA or an unsafe curve. */
static int
check_key(X509 *cert, int depth, struct mc_findings *out, struct mc_err *err)
{
	EVP_PKEY *key = X509_get0_pubkey(cert);
	enum mc_severity sev;
	char cn[256], kn[64];

	if (key == NULL)
		return mc_err_openssl(err, "certificate public key");
	sev = key_verdict(key);
	if (sev == MC_SEV_OK)
		return 0;
	chain_cn(cert, cn, sizeof(cn));
	chain_key_name(key, kn, sizeof(kn));
	return mc_findings_add(out, "weak-key", sev, false, err,
	                       "The %s \"%s\" has a weak %s key: reissue it "
	                       "with RSA 2048+ or ECDSA P-256/P-384.",
	                       depth == 0 ? "certificate" : "intermediate", cn,
	                       kn);
}

/* check_expected - inactive when the served leaf is not the expected one. */
static int
check_expected(X509 *leaf, X509 *expected, struct mc_findings *out,
               struct mc_err *err)
{
	char served[256], want[256];

	if (expected == NULL || mc_verify_leaf_matches(leaf, expected))
		return 0;
	if (mc_verify_leaf_describe(leaf, served, sizeof(served), err) == -1 ||
	    mc_verify_leaf_describe(expected, want, sizeof(want), err) == -1)
		return -1;
	return mc_findings_add(out, "inactive", MC_SEV_CRITICAL, false, err,
	                       "The server serves %s, not the expected %s: "
	                       "deploy the expected certificate and reload the "
	                       "server.",
	                       served, want);
}

/* is_anchor - a self-signed certificate served after the leaf (a root). */
static bool
is_anchor(X509 *cert, int depth)
{
	return depth > 0 && X509_self_signed(cert, 0) == 1;
}

/* check_each - per-certificate checks over the served chain. */
static int
check_each(STACK_OF(X509) * served, time_t now, struct mc_findings *out,
           struct mc_err *err)
{
	int i;

	for (i = 0; i < sk_X509_num(served); i++) {
		X509 *c = sk_X509_value(served, i);

		if (is_anchor(c, i))
			continue;
		if (check_dates(c, i, now, out, err) == -1 ||
		    check_sig(c, i, out, err) == -1 ||
		    check_key(c, i, out, err) == -1)
			return -1;
	}
	return 0;
}

/* no_chain - the finding for a handshake that sent no certificate. */
static int
no_chain(struct mc_findings *out, struct mc_err *err)
{
	return mc_findings_add(out, "untrusted", MC_SEV_CRITICAL, false, err,
	                       "The server sent no certificate (anonymous "
	                       "cipher suite): configure a certificate and "
	                       "disable anonymous suites.");
}

/* mc_check_chain - judge a probe's served chain; appends findings. */
int
mc_check_chain(const struct mc_probe_result *probe,
               const struct mc_check_opts *opts, struct mc_findings *out,
               struct mc_err *err)
{
	STACK_OF(X509) *served = probe->chain, *verified = NULL, *path = NULL;
	time_t now = opts->now ? opts->now : time(NULL);
	X509_STORE *st = NULL;
	X509 *leaf;
	bool self;
	int rc = -1;

	if (served == NULL || sk_X509_num(served) == 0)
		return no_chain(out, err);
	leaf = sk_X509_value(served, 0);
	self = X509_self_signed(leaf, 1) == 1;
	if (check_each(served, now, out, err) == -1 ||
	    check_soon(leaf, opts, now, out, err) == -1 ||
	    check_name(leaf, opts->servername, out, err) == -1 ||
	    check_expected(leaf, opts->expected, out, err) == -1 ||
	    chain_order(served, out, err) == -1)
		goto out;
	if (self &&
	    mc_findings_add(out, "self-signed", MC_SEV_CRITICAL, false, err,
	                    "The certificate is self-signed, so "
	                    "no client can verify it: install one "
	                    "issued by a public CA.") == -1)
		goto out;
	if (opts->store != NULL && X509_STORE_up_ref(opts->store) == 1)
		st = opts->store; /* the run's, loaded once */
	else
		st = chain_store_new(opts, err);
	if (st == NULL ||
	    chain_trust(served, st, opts, self, &verified, out, err) == -1)
		goto out;
	path = verified != NULL ? X509_chain_up_ref(verified)
	                        : chain_served_path(served, err);
	if (path == NULL)
		goto out;
	if (!self &&
	    chain_revocation(path, st, probe, opts, out, err) == -1)
		goto out;
	rc = 0;
out:
	sk_X509_pop_free(path, X509_free);
	sk_X509_pop_free(verified, X509_free);
	X509_STORE_free(st);
	return rc;
}
