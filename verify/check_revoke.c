/*
 * check_revoke.c - is any certificate of the path revoked? (CRL first,
 * then OCSP)
 *
 * RFC 5280 section 6.1.3: every certificate of the path must be
 * unrevoked, so the leaf and each intermediate are asked about, each
 * against its own issuer (the trust anchor itself is not). CRL: the first
 * http(s) URL of the CRL Distribution Points is fetched (at most
 * MC_FETCH_MAX_CRL bytes, DER or PEM), its signature checked with the
 * issuer's key and its dates with the clock; good CRLs are cached in
 * memory per URL for the life of the process (thread-safe). OCSP: a
 * stapled response (the leaf only), then the AIA OCSP URL (POST); a
 * response is accepted only when signed by the issuer or by a responder
 * the issuer delegated. A good answer adds nothing; revoked is critical
 * and names the certificate; what could not be answered becomes one
 * not-tested warning ("revocation not tested"), and a path that names no
 * CRL or OCSP URL at all (a private CA) one ok remark ("revocation not
 * published").
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "chain_int.h"
#include "mailcert/crypto.h"
#include "mailcert/fetch.h"

#define REV_CACHE_MAX 64
#define REV_OCSP_SKEW 300L

enum rev_status { REV_UNKNOWN = 0, REV_GOOD, REV_REVOKED };

struct rev_state {
	enum rev_status status;
	bool published;   /* a CRL DP, an OCSP URL or a staple exists */
	char source[300]; /* "the CRL at http://...": what answered */
	char when[32];    /* revocation date */
	char why[900];    /* what failed, for the not-tested finding */
};

struct rev_cache_entry {
	char *url;
	X509_CRL *crl;
};

static pthread_mutex_t rev_cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct rev_cache_entry rev_cache[REV_CACHE_MAX];
static size_t rev_cache_n;

/* rev_note - append one reason to st->why. */
static void __attribute__((format(printf, 2, 3)))
rev_note(struct rev_state *st, const char *fmt, ...)
{
	size_t len = strlen(st->why);
	char part[600];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(part, sizeof(part), fmt, ap);
	va_end(ap);
	snprintf(st->why + len, sizeof(st->why) - len, "%s%s", len ? "; " : "",
	         part);
}

/* rev_cache_get - a new reference to the cached CRL of url, or NULL. */
static X509_CRL *
rev_cache_get(const char *url)
{
	X509_CRL *crl = NULL;
	size_t i;

	pthread_mutex_lock(&rev_cache_lock);
	for (i = 0; i < rev_cache_n; i++)
		if (strcmp(rev_cache[i].url, url) == 0) {
			crl = rev_cache[i].crl;
			X509_CRL_up_ref(crl);
			break;
		}
	pthread_mutex_unlock(&rev_cache_lock);
	return crl;
}

/* rev_cache_put - remember crl for url (best effort; full cache: skip). */
static void
rev_cache_put(const char *url, X509_CRL *crl)
{
	char *copy;

	pthread_mutex_lock(&rev_cache_lock);
	if (rev_cache_n < REV_CACHE_MAX && (copy = strdup(url)) != NULL) {
		X509_CRL_up_ref(crl);
		rev_cache[rev_cache_n].url = copy;
		rev_cache[rev_cache_n].crl = crl;
		rev_cache_n++;
	}
	pthread_mutex_unlock(&rev_cache_lock);
}

/* rev_crl_url - the first http(s) full-name URL of the CRL DPs. */
static bool
rev_crl_url(X509 *cert, char *buf, size_t size)
{
	STACK_OF(DIST_POINT) * dps;
	bool found = false;
	int i, j;

	dps = X509_get_ext_d2i(cert, NID_crl_distribution_points, NULL, NULL);
	for (i = 0; dps != NULL && !found && i < sk_DIST_POINT_num(dps); i++) {
		DIST_POINT *dp = sk_DIST_POINT_value(dps, i);
		GENERAL_NAMES *gns;

		if (dp->distpoint == NULL || dp->distpoint->type != 0)
			continue;
		gns = dp->distpoint->name.fullname;
		for (j = 0; !found && j < sk_GENERAL_NAME_num(gns); j++) {
			GENERAL_NAME *gn = sk_GENERAL_NAME_value(gns, j);
			const ASN1_IA5STRING *u;

			if (gn->type != GEN_URI)
				continue;
			u = gn->d.uniformResourceIdentifier;
			found = chain_uri_http(u, buf, size);
		}
	}
	sk_DIST_POINT_pop_free(dps, DIST_POINT_free);
	return found;
}

/* rev_parse_crl - a DER or PEM CRL. */
static X509_CRL *
rev_parse_crl(const unsigned char *body, size_t len)
{
	const unsigned char *p = body;
	X509_CRL *crl = d2i_X509_CRL(NULL, &p, (long)len);
	BIO *bio;

	if (crl == NULL && (bio = BIO_new_mem_buf(body, (int)len)) != NULL) {
		crl = PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL);
		BIO_free(bio);
	}
	ERR_clear_error();
	return crl;
}

/* rev_crl_fetch - fetch and parse the CRL at url (note on failure). */
static X509_CRL *
rev_crl_fetch(const char *url, const struct mc_check_opts *opts,
              struct rev_state *st)
{
	struct mc_fetch_opts fo = {opts->timeout_ms, MC_FETCH_MAX_CRL, NULL,
	                           NULL, 0};
	struct mc_fetch_result res = {0};
	struct mc_err ferr;
	X509_CRL *crl = NULL;
	char code[32];

	if (mc_fetch(url, &fo, &res, &ferr) == -1) {
		rev_note(st, "CRL: %.500s", ferr.msg);
		return NULL;
	}
	snprintf(code, sizeof(code), "HTTP %ld", res.status);
	if (res.status != 200)
		rev_note(st, "CRL %s: %s", url, code);
	else if ((crl = rev_parse_crl(res.body, res.len)) == NULL)
		rev_note(st, "CRL %s: %s", url, "not a CRL");
	mc_fetch_result_clear(&res);
	return crl;
}

/* rev_asn1_date - "YYYY-MM-DD" of an ASN1_TIME into buf. */
static void
rev_asn1_date(const ASN1_TIME *t, char *buf, size_t size)
{
	time_t tt = 0;

	if (t == NULL || mc_time_asn1(t, &tt) == -1)
		snprintf(buf, size, "an unknown date");
	else
		mc_time_format(tt, MC_TIME_DAY, buf, size);
}

/* rev_crl_judge - cert's status in a fetched crl of issuer. */
static void
rev_crl_judge(X509_CRL *crl, X509 *cert, X509 *issuer, const char *url,
              time_t now, struct rev_state *st)
{
	const ASN1_TIME *next = X509_CRL_get0_nextUpdate(crl);
	X509_REVOKED *entry = NULL;
	time_t t = 0;

	if (X509_NAME_cmp(X509_CRL_get_issuer(crl),
	                  X509_get_subject_name(issuer)) != 0 ||
	    X509_CRL_verify(crl, X509_get0_pubkey(issuer)) != 1) {
		ERR_clear_error();
		rev_note(st, "CRL %s: %s", url, "not signed by the issuer");
		return;
	}
	if (next != NULL && mc_time_asn1(next, &t) == 0 && t < now) {
		rev_note(st, "CRL %s: %s", url,
		         "out of date (nextUpdate passed)");
		return;
	}
	snprintf(st->source, sizeof(st->source), "the CRL at %.250s", url);
	if (X509_CRL_get0_by_cert(crl, &entry, cert) == 1) {
		st->status = REV_REVOKED;
		rev_asn1_date(X509_REVOKED_get0_revocationDate(entry), st->when,
		              sizeof(st->when));
	} else
		st->status = REV_GOOD;
}

/* rev_by_crl - ask cert's CRL (cached per URL). */
static void
rev_by_crl(X509 *cert, X509 *issuer, const struct mc_check_opts *opts,
           struct rev_state *st)
{
	time_t now = opts->now ? opts->now : time(NULL);
	X509_CRL *crl;
	char url[1024];
	bool fresh = false;

	if (!rev_crl_url(cert, url, sizeof(url)))
		return;
	st->published = true;
	if (!opts->fetch) {
		rev_note(st, "CRL %s: %s", url, "fetching is disabled");
		return;
	}
	crl = rev_cache_get(url);
	if (crl == NULL) {
		crl = rev_crl_fetch(url, opts, st);
		fresh = true;
	}
	if (crl == NULL)
		return;
	rev_crl_judge(crl, cert, issuer, url, now, st);
	if (fresh && st->status != REV_UNKNOWN)
		rev_cache_put(url, crl);
	X509_CRL_free(crl);
}

/* rev_ocsp_status - apply one verified single response to st. */
static void
rev_ocsp_status(int status, ASN1_GENERALIZEDTIME *rev,
                ASN1_GENERALIZEDTIME *thisupd, ASN1_GENERALIZEDTIME *nextupd,
                const char *source, struct rev_state *st)
{
	if (!OCSP_check_validity(thisupd, nextupd, REV_OCSP_SKEW, -1)) {
		ERR_clear_error();
		rev_note(st, "%s: %s", source, "response out of date");
		return;
	}
	if (status == V_OCSP_CERTSTATUS_UNKNOWN) {
		rev_note(st, "%s: %s", source,
		         "the responder does not know "
		         "the certificate");
		return;
	}
	snprintf(st->source, sizeof(st->source), "%.290s", source);
	st->status =
	    status == V_OCSP_CERTSTATUS_REVOKED ? REV_REVOKED : REV_GOOD;
	if (st->status == REV_REVOKED)
		rev_asn1_date(rev, st->when, sizeof(st->when));
}

/* rev_ocsp_judge - verify an OCSP response (DER) and apply it to st. */
static void
rev_ocsp_judge(const unsigned char *der, size_t len, X509 *cert, X509 *issuer,
               X509_STORE *store, const char *source, struct rev_state *st)
{
	ASN1_GENERALIZEDTIME *rev = NULL, *thisupd = NULL, *nextupd = NULL;
	const unsigned char *p = der;
	OCSP_RESPONSE *resp = d2i_OCSP_RESPONSE(NULL, &p, (long)len);
	OCSP_BASICRESP *bs = NULL;
	STACK_OF(X509) *certs = sk_X509_new_null();
	OCSP_CERTID *id = OCSP_cert_to_id(NULL, cert, issuer);
	int status = -1, reason = -1;

	if (resp == NULL ||
	    OCSP_response_status(resp) != OCSP_RESPONSE_STATUS_SUCCESSFUL ||
	    (bs = OCSP_response_get1_basic(resp)) == NULL)
		rev_note(st, "%s: %s", source, "no successful OCSP response");
	else if (certs == NULL || id == NULL || !sk_X509_push(certs, issuer) ||
	         OCSP_basic_verify(bs, certs, store, OCSP_TRUSTOTHER) <= 0)
		rev_note(st, "%s: %s", source,
		         "response signature does not "
		         "verify");
	else if (!OCSP_resp_find_status(bs, id, &status, &reason, &rev,
	                                &thisupd, &nextupd))
		rev_note(st, "%s: %s", source,
		         "no answer for this certificate");
	else
		rev_ocsp_status(status, rev, thisupd, nextupd, source, st);
	ERR_clear_error();
	OCSP_CERTID_free(id);
	sk_X509_free(certs);
	OCSP_BASICRESP_free(bs);
	OCSP_RESPONSE_free(resp);
}

/* rev_ocsp_request - the DER of an OCSP request for cert (new buffer). */
static int
rev_ocsp_request(X509 *cert, X509 *issuer, unsigned char **der)
{
	OCSP_REQUEST *req = OCSP_REQUEST_new();
	OCSP_CERTID *id = OCSP_cert_to_id(NULL, cert, issuer);
	int len = -1;

	*der = NULL;
	if (req != NULL && id != NULL &&
	    OCSP_request_add0_id(req, id) != NULL) {
		id = NULL;
		len = i2d_OCSP_REQUEST(req, der);
	}
	OCSP_CERTID_free(id);
	OCSP_REQUEST_free(req);
	return len;
}

/* rev_by_ocsp_url - POST an OCSP request to cert's AIA OCSP responder. */
static void
rev_by_ocsp_url(X509 *cert, X509 *issuer, X509_STORE *store,
                const struct mc_check_opts *opts, struct rev_state *st)
{
	struct mc_fetch_opts fo = {opts->timeout_ms, MC_FETCH_MAX_OCSP,
	                           "application/ocsp-request", NULL, 0};
	struct mc_fetch_result res = {0};
	unsigned char *der = NULL;
	struct mc_err ferr;
	char url[1024], code[32], source[1100];
	int len;

	if (!chain_aia_url(cert, NID_ad_OCSP, url, sizeof(url)))
		return;
	st->published = true;
	if (!opts->fetch) {
		rev_note(st, "OCSP %s: %s", url, "fetching is disabled");
		return;
	}
	len = rev_ocsp_request(cert, issuer, &der);
	if (len <= 0) {
		rev_note(st, "OCSP %s: %s", url, "cannot build the request");
		return;
	}
	fo.body = der;
	fo.body_len = (size_t)len;
	if (mc_fetch(url, &fo, &res, &ferr) == -1)
		rev_note(st, "OCSP: %.500s", ferr.msg);
	else if (res.status != 200) {
		snprintf(code, sizeof(code), "HTTP %ld", res.status);
		rev_note(st, "OCSP %s: %s", url, code);
	} else {
		snprintf(source, sizeof(source), "the OCSP responder at %s",
		         url);
		rev_ocsp_judge(res.body, res.len, cert, issuer, store, source,
		               st);
	}
	mc_fetch_result_clear(&res);
	OPENSSL_free(der);
}

/* rev_one - the status of cert (depth 0: the leaf) against issuer. */
static void
rev_one(X509 *cert, X509 *issuer, int depth, X509_STORE *store,
        const struct mc_probe_result *probe, const struct mc_check_opts *opts,
        struct rev_state *st)
{
	memset(st, 0, sizeof(*st));
	rev_by_crl(cert, issuer, opts, st);
	if (depth == 0 && probe != NULL && probe->ocsp_der != NULL)
		st->published = true;
	if (st->status == REV_UNKNOWN && depth == 0 && probe != NULL &&
	    probe->ocsp_der != NULL)
		rev_ocsp_judge(probe->ocsp_der, probe->ocsp_len, cert, issuer,
		               store, "the stapled OCSP response", st);
	if (st->status == REV_UNKNOWN)
		rev_by_ocsp_url(cert, issuer, store, opts, st);
}

/* rev_revoked - the critical finding for one revoked certificate. */
static int
rev_revoked(X509 *cert, int depth, const struct rev_state *st,
            struct mc_findings *out, struct mc_err *err)
{
	char cn[256];

	chain_cn(cert, cn, sizeof(cn));
	if (depth == 0)
		return mc_findings_add(out, "revoked", MC_SEV_CRITICAL, false,
		                       err,
		                       "The certificate \"%s\" was revoked on "
		                       "%s (according to %s): replace it with a "
		                       "new certificate now.",
		                       cn, st->when, st->source);
	return mc_findings_add(out, "revoked", MC_SEV_CRITICAL, false, err,
	                       "The intermediate \"%s\" was revoked on %s "
	                       "(according to %s), so every certificate it "
	                       "issued is invalid: get a new certificate and "
	                       "chain from the CA and serve those.",
	                       cn, st->when, st->source);
}

/* rev_note_cert - append "\"CN\": text" for one certificate to buf. */
static void
rev_note_cert(X509 *cert, const char *text, char *buf, size_t size)
{
	size_t len = strlen(buf);
	char cn[128];

	chain_cn(cert, cn, sizeof(cn));
	snprintf(buf + len, size - len, "%s\"%s\"%s%.700s", len ? "; " : "",
	         cn, text[0] ? ": " : "", text);
}

/* rev_summary - the not-tested warning or the not-published remark. */
static int
rev_summary(const char *unknown, const char *unpublished,
            struct mc_findings *out, struct mc_err *err)
{
	if (unknown[0] != '\0')
		return mc_findings_add(out, "revoked", MC_SEV_WARNING, true, err,
		                       "Revocation could not be checked for %s. "
		                       "Make sure the CRL or OCSP URLs answer "
		                       "from here.",
		                       unknown);
	if (unpublished[0] == '\0')
		return 0;
	if (mc_findings_add(out, "revoked", MC_SEV_OK, true, err,
	                    "No CRL or OCSP URL is published for %s (usual "
	                    "for a private CA): there is no revocation status "
	                    "to check.",
	                    unpublished) == -1)
		return -1;
	mc_findings_relabel(out, "revocation not published");
	return 0;
}

/* chain_revocation - revocation of every certificate of path. */
int
chain_revocation(STACK_OF(X509) * path, X509_STORE *store,
                 const struct mc_probe_result *probe,
                 const struct mc_check_opts *opts, struct mc_findings *out,
                 struct mc_err *err)
{
	char unknown[1600] = "", unpublished[600] = "";
	struct rev_state st;
	int i, revoked = 0;

	for (i = 0; i + 1 < sk_X509_num(path); i++) {
		X509 *cert = sk_X509_value(path, i);

		if (X509_self_signed(cert, 0) == 1)
			break;
		rev_one(cert, sk_X509_value(path, i + 1), i, store, probe,
		        opts, &st);
		if (st.status == REV_REVOKED) {
			revoked++;
			if (rev_revoked(cert, i, &st, out, err) == -1)
				return -1;
		}
		if (st.status == REV_UNKNOWN && st.published)
			rev_note_cert(cert, st.why, unknown, sizeof(unknown));
		else if (st.status == REV_UNKNOWN)
			rev_note_cert(cert, "", unpublished,
			              sizeof(unpublished));
	}
	return rev_summary(unknown, revoked ? "" : unpublished, out, err);
}
