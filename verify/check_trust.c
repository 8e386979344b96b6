/*
 * check_trust.c - is there a path from the served leaf to a trusted root?
 *
 * First with exactly what the server sent. When that fails for want of an
 * issuer, the missing intermediates are fetched from the AIA caIssuers
 * URL (at most CHAIN_MAX_FETCH of them, opts->fetch permitting): a path
 * found that way is `incomplete-chain` (naming what the server omits),
 * no path at all is `untrusted`. Dates, key sizes and signature hashes
 * are judged elsewhere, so the verify callback lets those errors pass.
 *
 * The system store is what X509_STORE_set_default_paths gives (OpenSSL's
 * CA file or SSL_CERT_FILE, and its hashed directory or SSL_CERT_DIR),
 * but the file goes through core's index (mc_http_ca_lookup): parsing a
 * whole system bundle costs 20-40 ms of CPU under OpenSSL 3, and a
 * verification needs one or two of its roots.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "chain_int.h"
#include "mailcert/fetch.h"
#include "mailcert/http.h"

#define CHAIN_MAX_FETCH 3

/* trust_path_error - whether a verify error is about the path itself. */
static bool
trust_path_error(int e)
{
	switch (e) {
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
	case X509_V_ERR_CERT_SIGNATURE_FAILURE:
	case X509_V_ERR_CERT_UNTRUSTED:
	case X509_V_ERR_CERT_REJECTED:
	case X509_V_ERR_INVALID_CA:
	case X509_V_ERR_PATH_LENGTH_EXCEEDED:
	case X509_V_ERR_UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY:
		return true;
	default:
		return false;
	}
}

/* trust_cb - fail only on path errors (see the file comment). */
static int
trust_cb(int ok, X509_STORE_CTX *ctx)
{
	if (!ok && !trust_path_error(X509_STORE_CTX_get_error(ctx)))
		return 1;
	return ok;
}

/* trust_system - the system's CA file (indexed) and hashed directory. */
static int
trust_system(X509_STORE *st, struct mc_err *err)
{
	const char *file = getenv(X509_get_default_cert_file_env());
	X509_LOOKUP *dir;

	if (file == NULL || file[0] == '\0')
		file = X509_get_default_cert_file();
	/* as for OpenSSL, a missing or empty file is no error: the
	 * directory may hold the roots */
	(void)mc_http_ca_lookup(st, file, NULL);
	dir = X509_STORE_add_lookup(st, X509_LOOKUP_hash_dir());
	if (dir == NULL ||
	    X509_LOOKUP_add_dir(dir, NULL, X509_FILETYPE_DEFAULT) != 1)
		return mc_err_openssl(err, "system trust store");
	ERR_clear_error();
	return 0;
}

/* chain_store_new - the trust store: opts->trust_bundle or the system's. */
X509_STORE *
chain_store_new(const struct mc_check_opts *opts, struct mc_err *err)
{
	X509_STORE *st = X509_STORE_new();

	if (st == NULL) {
		mc_err_openssl(err, "trust store");
		return NULL;
	}
	if (opts->trust_bundle != NULL && opts->trust_bundle[0] != '\0') {
		if (X509_STORE_load_file(st, opts->trust_bundle) != 1) {
			mc_err_openssl(err, "trust bundle %s",
			               opts->trust_bundle);
			X509_STORE_free(st);
			return NULL;
		}
	} else if (trust_system(st, err) == -1) {
		X509_STORE_free(st);
		return NULL;
	}
	return st;
}

/* mc_check_store_new - the trust store of a run (see check.h). */
X509_STORE *
mc_check_store_new(const struct mc_check_opts *opts, struct mc_err *err)
{
	return chain_store_new(opts, err);
}

/* trust_try - one verification; 1 trusted (path in *path), 0 not (the last
 * certificate reached in *stuck, new reference; the error in *verr). */
static int
trust_try(X509_STORE *st, STACK_OF(X509) * untrusted, X509 *leaf, time_t now,
          STACK_OF(X509) * *path, X509 **stuck, int *verr, struct mc_err *err)
{
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	STACK_OF(X509) * got;
	int rc = -1;

	if (ctx == NULL || X509_STORE_CTX_init(ctx, st, leaf, untrusted) != 1) {
		mc_err_openssl(err, "verify context");
		goto out;
	}
	X509_STORE_CTX_set_time(ctx, 0, now);
	X509_STORE_CTX_set_verify_cb(ctx, trust_cb);
	rc = X509_verify_cert(ctx) == 1 ? 1 : 0;
	*verr = X509_STORE_CTX_get_error(ctx);
	if (rc == 1) {
		*path = X509_STORE_CTX_get1_chain(ctx);
		goto out;
	}
	got = X509_STORE_CTX_get0_chain(ctx);
	*stuck = sk_X509_num(got) > 0 ? sk_X509_value(got, sk_X509_num(got) - 1)
	                              : leaf;
	X509_up_ref(*stuck);
out:
	X509_STORE_CTX_free(ctx);
	return rc;
}

/* chain_uri_http - uri as a clean http(s) URL in buf, or false. */
bool
chain_uri_http(const ASN1_IA5STRING *uri, char *buf, size_t size)
{
	int i;

	if (uri == NULL || uri->length <= 0 || (size_t)uri->length >= size)
		return false;
	for (i = 0; i < uri->length; i++)
		if (uri->data[i] <= 0x20 || uri->data[i] >= 0x7f)
			return false;
	memcpy(buf, uri->data, (size_t)uri->length);
	buf[uri->length] = '\0';
	return strncmp(buf, "http://", 7) == 0 ||
	       strncmp(buf, "https://", 8) == 0;
}

/* chain_aia_url - the first http(s) URL of access method nid in AIA. */
bool
chain_aia_url(X509 *cert, int nid, char *buf, size_t size)
{
	AUTHORITY_INFO_ACCESS *aia;
	bool found = false;
	int i;

	aia = X509_get_ext_d2i(cert, NID_info_access, NULL, NULL);
	for (i = 0; aia != NULL && i < sk_ACCESS_DESCRIPTION_num(aia); i++) {
		ACCESS_DESCRIPTION *ad = sk_ACCESS_DESCRIPTION_value(aia, i);
		const ASN1_IA5STRING *uri;

		if (OBJ_obj2nid(ad->method) != nid ||
		    ad->location->type != GEN_URI)
			continue;
		uri = ad->location->d.uniformResourceIdentifier;
		if (chain_uri_http(uri, buf, size)) {
			found = true;
			break;
		}
	}
	AUTHORITY_INFO_ACCESS_free(aia);
	return found;
}

/* trust_parse_cert - a DER or PEM certificate from a fetched body. */
static X509 *
trust_parse_cert(const unsigned char *body, size_t len)
{
	const unsigned char *p = body;
	X509 *cert = d2i_X509(NULL, &p, (long)len);
	BIO *bio;

	if (cert != NULL)
		return cert;
	bio = BIO_new_mem_buf(body, (int)len);
	if (bio != NULL)
		cert = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	BIO_free(bio);
	ERR_clear_error();
	return cert;
}

/* trust_fetch_issuer - fetch the issuer of stuck by AIA; NULL (with why in
 * note) when there is none or it is not stuck's issuer. */
static X509 *
trust_fetch_issuer(X509 *stuck, const struct mc_check_opts *opts, char *note,
                   size_t size)
{
	struct mc_fetch_opts fo = {opts->timeout_ms, MC_FETCH_MAX_CERT, NULL,
	                           NULL, 0};
	struct mc_fetch_result res = {0};
	struct mc_err ferr;
	char url[1024];
	X509 *cert = NULL;

	if (!chain_aia_url(stuck, NID_ad_ca_issuers, url, sizeof(url)))
		return NULL;
	if (!opts->fetch) {
		snprintf(note, size,
		         " (AIA fetching is disabled; %s was not "
		         "fetched)",
		         url);
		return NULL;
	}
	if (mc_fetch(url, &fo, &res, &ferr) == -1)
		snprintf(note, size, " (fetching the issuer failed: %.900s)",
		         ferr.msg);
	else if (res.status != 200)
		snprintf(note, size, " (fetching the issuer from %s: HTTP %ld)",
		         url, res.status);
	else if ((cert = trust_parse_cert(res.body, res.len)) == NULL)
		snprintf(note, size, " (%s did not return a certificate)", url);
	else if (X509_check_issued(cert, stuck) != X509_V_OK) {
		snprintf(note, size,
		         " (%s returned a certificate that did not "
		         "issue the chain)",
		         url);
		X509_free(cert);
		cert = NULL;
	}
	mc_fetch_result_clear(&res);
	return cert;
}

/* trust_missing_issuer - whether verification stopped for want of an issuer. */
static bool
trust_missing_issuer(int verr)
{
	return verr == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT ||
	       verr == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY ||
	       verr == X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE;
}

/* trust_untrusted_copy - a new stack of served[1..] (up-referenced). */
static STACK_OF(X509) *
    trust_untrusted_copy(STACK_OF(X509) * served, struct mc_err *err)
{
	STACK_OF(X509) *sk = sk_X509_new_null();
	int i;

	for (i = 1; sk != NULL && i < sk_X509_num(served); i++) {
		if (!sk_X509_push(sk, sk_X509_value(served, i))) {
			sk_X509_pop_free(sk, X509_free);
			sk = NULL;
			break;
		}
		X509_up_ref(sk_X509_value(served, i));
	}
	if (sk == NULL)
		mc_err_openssl(err, "certificate stack");
	return sk;
}

/* trust_report - the finding for the outcome of the path search. */
static int
trust_report(int trusted, int verr, bool self_signed, const char *missing,
             const char *note, struct mc_findings *out, struct mc_err *err)
{
	if (trusted == 1 && missing[0] != '\0')
		return mc_findings_add(out, "incomplete-chain", MC_SEV_CRITICAL,
		                       false, err,
		                       "The server does not send "
		                       "the intermediate %s; clients that do "
		                       "not fetch it by AIA fail: serve the "
		                       "full chain (leaf + intermediates).",
		                       missing);
	if (trusted == 1 || self_signed)
		return 0;
	return mc_findings_add(out, "untrusted", MC_SEV_CRITICAL, false, err,
	                       "No path to a trusted root: %s%s. Serve the "
	                       "full chain of a CA that clients trust.",
	                       X509_verify_cert_error_string(verr), note);
}

/* trust_add_missing - remember a fetched intermediate; stack takes cert. */
static int
trust_add_missing(STACK_OF(X509) * sk, X509 *cert, char *missing, size_t size,
                  struct mc_err *err)
{
	char name[256];
	size_t len = strlen(missing);

	X509_NAME_oneline(X509_get_subject_name(cert), name, sizeof(name));
	snprintf(missing + len, size - len, "%s\"%s\"", len ? ", " : "", name);
	if (!sk_X509_push(sk, cert)) {
		X509_free(cert);
		return mc_err_openssl(err, "certificate stack");
	}
	return 0;
}

/* chain_trust - untrusted / incomplete-chain findings; see chain_int.h. */
int
chain_trust(STACK_OF(X509) * served, X509_STORE *st,
            const struct mc_check_opts *opts, bool self_signed,
            STACK_OF(X509) * *verified, struct mc_findings *out,
            struct mc_err *err)
{
	time_t now = opts->now ? opts->now : time(NULL);
	STACK_OF(X509) * untrusted, *path = NULL;
	char missing[600] = "", note[1200] = "";
	X509 *stuck, *got;
	int i, r = 0, verr = 0, rc = -1;

	untrusted = trust_untrusted_copy(served, err);
	if (untrusted == NULL)
		return -1;
	for (i = 0; i <= CHAIN_MAX_FETCH; i++) {
		stuck = NULL;
		r = trust_try(st, untrusted, sk_X509_value(served, 0), now,
		              &path, &stuck, &verr, err);
		if (r != 0)
			break;
		got = NULL;
		if (i < CHAIN_MAX_FETCH && trust_missing_issuer(verr))
			got =
			    trust_fetch_issuer(stuck, opts, note, sizeof(note));
		X509_free(stuck);
		if (got == NULL)
			break;
		if (trust_add_missing(untrusted, got, missing, sizeof(missing),
		                      err) == -1)
			goto out;
	}
	if (r == -1 ||
	    trust_report(r, verr, self_signed, missing, note, out, err) == -1)
		goto out;
	*verified = path;
	path = NULL;
	rc = 0;
out:
	sk_X509_pop_free(path, X509_free);
	sk_X509_pop_free(untrusted, X509_free);
	return rc;
}
