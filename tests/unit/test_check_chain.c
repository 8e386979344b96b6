/*
 * test_check_chain.c - mc_check_chain() on chains built in memory: every
 * finding code it can decide without the network (dates, expires-soon
 * relative and absolute, self-signed, name-mismatch with wildcards and IP
 * addresses, untrusted, revoked by a stapled OCSP answer, not-tested
 * revocation, weak-signature, weak-key, inactive) and clean chains that
 * yield no finding at all. The trust anchor is a bundle file written
 * here; the system store (no bundle) is pointed at such a file or at a
 * hashed directory with SSL_CERT_FILE / SSL_CERT_DIR, and a store loaded
 * once (mc_check_store_new, shared through opts.store) must judge alike. incomplete-chain and the CRL/OCSP fetches need HTTP: they are in
 * tests/integration/t_check.sh. Also mc_findings_* and mc_severity_name.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/ec.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "mailcert/check.h"
#include "tests/unit/certgen.h"

#define DAY 86400L
#define SANS "DNS:mail.example.com,DNS:*.wild.example.com,IP:192.0.2.7"
#define SANS_IDN "DNS:xn--bcher-kva.example,DNS:f*.part.example.com"

enum leaf_kind {
	L_CLEAN = 0,
	L_OTHER,
	L_EXPIRED,
	L_FUTURE,
	L_SOON_CRIT,
	L_SOON_WARN,
	L_SELF,
	L_FOREIGN,
	L_SHA1,
	L_MD5,
	L_INT_SHA1,
	L_RSA1024,
	L_RSA2048,
	L_K256,
	L_P384,
	L_ED25519,
	L_CNONLY,
	L_IDN,
	L_COUNT
};
enum served_kind {
	S_FULL = 0,
	S_LEAF_ONLY,
	S_WITH_ROOT,
	S_NONE,
	S_MISORDER,
	S_EXTRA
};
enum staple_kind { ST_NONE = 0, ST_GOOD, ST_REVOKED, ST_FOREIGN };
enum expect_kind { E_NONE = 0, E_SAME, E_OTHER };

static const struct chain_case {
	const char *label;
	enum leaf_kind leaf;
	enum served_kind served;
	enum staple_kind staple;
	const char *servername;
	long warn, crit;
	enum expect_kind expect;
	const char *want; /* sorted "code[:nt]" list, "" for none */
	enum mc_severity worst;
} cases[] = {
    {"clean", L_CLEAN, S_FULL, ST_GOOD, "mail.example.com", -1, -1, E_NONE, "",
     MC_SEV_OK},
    {"clean, root served too", L_CLEAN, S_WITH_ROOT, ST_GOOD,
     "mail.example.com", -1, -1, E_NONE, "", MC_SEV_OK},
    {"clean, wildcard", L_CLEAN, S_FULL, ST_GOOD, "imap.wild.example.com", -1,
     -1, E_NONE, "", MC_SEV_OK},
    {"clean, IP SAN", L_CLEAN, S_FULL, ST_GOOD, "192.0.2.7", -1, -1, E_NONE, "",
     MC_SEV_OK},
    {"clean, P-384", L_P384, S_FULL, ST_GOOD, "mail.example.com", -1, -1,
     E_NONE, "", MC_SEV_OK},
    {"clean, Ed25519", L_ED25519, S_FULL, ST_GOOD, "mail.example.com", -1, -1,
     E_NONE, "", MC_SEV_OK},
    {"clean, RSA 2048", L_RSA2048, S_FULL, ST_GOOD, "mail.example.com", -1, -1,
     E_NONE, "", MC_SEV_OK},
    {"clean, expected leaf", L_CLEAN, S_FULL, ST_GOOD, "mail.example.com", -1,
     -1, E_SAME, "", MC_SEV_OK},
    {"clean, --warn 30 on 90 days", L_CLEAN, S_FULL, ST_GOOD,
     "mail.example.com", 30, 7, E_NONE, "", MC_SEV_OK},
    {"expired", L_EXPIRED, S_FULL, ST_GOOD, "mail.example.com", -1, -1, E_NONE,
     "expired", MC_SEV_CRITICAL},
    {"not yet valid", L_FUTURE, S_FULL, ST_GOOD, "mail.example.com", -1, -1,
     E_NONE, "not-yet-valid", MC_SEV_CRITICAL},
    {"under 1/10 of the lifetime", L_SOON_CRIT, S_FULL, ST_GOOD,
     "mail.example.com", -1, -1, E_NONE, "expires-soon", MC_SEV_CRITICAL},
    {"under 1/3 of the lifetime", L_SOON_WARN, S_FULL, ST_GOOD,
     "mail.example.com", -1, -1, E_NONE, "expires-soon", MC_SEV_WARNING},
    {"--warn 100", L_CLEAN, S_FULL, ST_GOOD, "mail.example.com", 100, 1, E_NONE,
     "expires-soon", MC_SEV_WARNING},
    {"--crit 100", L_CLEAN, S_FULL, ST_GOOD, "mail.example.com", 200, 100,
     E_NONE, "expires-soon", MC_SEV_CRITICAL},
    {"self-signed", L_SELF, S_FULL, ST_NONE, "mail.example.com", -1, -1, E_NONE,
     "self-signed", MC_SEV_CRITICAL},
    {"name mismatch", L_CLEAN, S_FULL, ST_GOOD, "other.example.com", -1, -1,
     E_NONE, "name-mismatch", MC_SEV_CRITICAL},
    {"wildcard covers one label only", L_CLEAN, S_FULL, ST_GOOD,
     "a.b.wild.example.com", -1, -1, E_NONE, "name-mismatch", MC_SEV_CRITICAL},
    {"wrong IP", L_CLEAN, S_FULL, ST_GOOD, "192.0.2.8", -1, -1, E_NONE,
     "name-mismatch", MC_SEV_CRITICAL},
    {"untrusted root", L_FOREIGN, S_FULL, ST_GOOD, "mail.example.com", -1, -1,
     E_NONE, "untrusted", MC_SEV_CRITICAL},
    {"intermediate missing, no fetch", L_CLEAN, S_LEAF_ONLY, ST_NONE,
     "mail.example.com", -1, -1, E_NONE, "untrusted", MC_SEV_CRITICAL},
    {"no certificate served", L_CLEAN, S_NONE, ST_NONE, "mail.example.com", -1,
     -1, E_NONE, "untrusted", MC_SEV_CRITICAL},
    {"revoked (stapled OCSP)", L_CLEAN, S_FULL, ST_REVOKED, "mail.example.com",
     -1, -1, E_NONE, "revoked", MC_SEV_CRITICAL},
    {"revocation not published: a remark", L_CLEAN, S_FULL, ST_NONE,
     "mail.example.com", -1, -1, E_NONE, "", MC_SEV_OK},
    {"revocation unknown: foreign signer", L_CLEAN, S_FULL, ST_FOREIGN,
     "mail.example.com", -1, -1, E_NONE, "revoked:nt", MC_SEV_WARNING},
    {"SHA-1 leaf", L_SHA1, S_FULL, ST_GOOD, "mail.example.com", -1, -1, E_NONE,
     "weak-signature", MC_SEV_CRITICAL},
    {"MD5 leaf", L_MD5, S_FULL, ST_GOOD, "mail.example.com", -1, -1, E_NONE,
     "weak-signature", MC_SEV_CRITICAL},
    {"SHA-1 intermediate", L_INT_SHA1, S_FULL, ST_GOOD, "mail.example.com", -1,
     -1, E_NONE, "weak-signature", MC_SEV_CRITICAL},
    {"RSA 1024", L_RSA1024, S_FULL, ST_GOOD, "mail.example.com", -1, -1, E_NONE,
     "weak-key", MC_SEV_CRITICAL},
    {"secp256k1", L_K256, S_FULL, ST_GOOD, "mail.example.com", -1, -1, E_NONE,
     "weak-key", MC_SEV_CRITICAL},
    {"inactive", L_CLEAN, S_FULL, ST_GOOD, "mail.example.com", -1, -1, E_OTHER,
     "inactive", MC_SEV_CRITICAL},
    {"expired and wrong name", L_EXPIRED, S_FULL, ST_GOOD, "x.example.org", -1,
     -1, E_NONE, "expired name-mismatch", MC_SEV_CRITICAL},
    {"CN-only leaf (RFC 9525: no CN-ID)", L_CNONLY, S_FULL, ST_GOOD,
     "mail.example.com", -1, -1, E_NONE, "name-mismatch", MC_SEV_CRITICAL},
    {"IDN A-label", L_IDN, S_FULL, ST_GOOD, "xn--bcher-kva.example", -1, -1,
     E_NONE, "", MC_SEV_OK},
    {"IDN A-label, other name", L_IDN, S_FULL, ST_GOOD,
     "xn--bcher-kva.other", -1, -1, E_NONE, "name-mismatch",
     MC_SEV_CRITICAL},
    {"partial wildcard f*.part (RFC 9525)", L_IDN, S_FULL, ST_GOOD,
     "foo.part.example.com", -1, -1, E_NONE, "name-mismatch",
     MC_SEV_CRITICAL},
    {"misordered chain", L_CLEAN, S_MISORDER, ST_GOOD, "mail.example.com", -1,
     -1, E_NONE, "chain-order", MC_SEV_WARNING},
    {"unrelated extra certificate", L_CLEAN, S_EXTRA, ST_GOOD,
     "mail.example.com", -1, -1, E_NONE, "chain-order", MC_SEV_WARNING},
};

/* The fixture: root -> int (-> int_sha1), a foreign root, the leaves. */
static struct {
	EVP_PKEY *root_key, *int_key, *foreign_key, *rsa_int_key;
	X509 *root, *inter, *inter_sha1, *foreign, *rsa_inter;
	X509 *leaf[L_COUNT];
	X509 *issuer[L_COUNT];
	EVP_PKEY *issuer_key[L_COUNT];
	char bundle[64];
} fx;

/* ec_key - a new EC key on curve (NID). */
static EVP_PKEY *
ec_key(const char *curve)
{
	return EVP_PKEY_Q_keygen(NULL, NULL, "EC", curve);
}

/* resign - replace cert's signature with one made with md. */
static void
resign(X509 *cert, EVP_PKEY *key, const EVP_MD *md)
{
	assert_true(X509_sign(cert, key, md) > 0);
}

/* leaf_key - the key for a leaf kind (new). */
static EVP_PKEY *
leaf_key(enum leaf_kind k)
{
	switch (k) {
	case L_RSA1024:
		return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	case L_RSA2048:
		return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	case L_K256:
		return ec_key("secp256k1");
	case L_P384:
		return ec_key("P-384");
	case L_ED25519:
		return EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	default:
		return ec_key("P-256");
	}
}

/* leaf_window - validity of a leaf kind in seconds from now. */
static void
leaf_window(enum leaf_kind k, long *from, long *to)
{
	*from = -3600;
	*to = 90 * DAY;
	if (k == L_EXPIRED) {
		*from = -100 * DAY;
		*to = -10 * DAY;
	} else if (k == L_FUTURE) {
		*from = 10 * DAY;
		*to = 100 * DAY;
	} else if (k == L_SOON_CRIT) {
		*from = -80 * DAY;
		*to = 2 * DAY;
	} else if (k == L_SOON_WARN) {
		*from = -60 * DAY;
		*to = 20 * DAY;
	}
}

/* make_leaf - one leaf of kind k and who issued it. */
static void
make_leaf(enum leaf_kind k)
{
	EVP_PKEY *key = leaf_key(k);
	X509 *iss = fx.inter;
	EVP_PKEY *ikey = fx.int_key;
	long from, to;

	assert_non_null(key);
	leaf_window(k, &from, &to);
	if (k == L_SELF) {
		iss = NULL;
		ikey = NULL;
	} else if (k == L_FOREIGN) {
		iss = fx.foreign;
		ikey = fx.foreign_key;
	} else if (k == L_INT_SHA1)
		iss = fx.inter_sha1;
	else if (k == L_MD5) {
		iss = fx.rsa_inter; /* MD5 exists only with RSA */
		ikey = fx.rsa_int_key;
	}
	fx.leaf[k] = cg_make("mail.example.com", key, iss, ikey,
	                     k == L_IDN      ? SANS_IDN
	                     : k == L_CNONLY ? NULL
	                                     : SANS,
	                     from, to, 100 + k);
	if (k == L_CNONLY) { /* cg_make made a CA of it: a plain leaf again */
		X509_EXTENSION *bc = X509_delete_ext(
		    fx.leaf[k],
		    X509_get_ext_by_NID(fx.leaf[k], NID_basic_constraints, -1));

		X509_EXTENSION_free(bc);
		resign(fx.leaf[k], ikey, EVP_sha256());
	}
	if (k == L_SHA1)
		resign(fx.leaf[k], ikey, EVP_sha1());
	if (k == L_MD5)
		resign(fx.leaf[k], ikey, EVP_md5());
	fx.issuer[k] = iss;
	fx.issuer_key[k] = ikey;
	EVP_PKEY_free(key);
}

/* write_bundle - the root as the trust bundle file. */
static void
write_bundle(void)
{
	FILE *f;
	int fd;

	snprintf(fx.bundle, sizeof(fx.bundle), "/tmp/mc-test-trust.XXXXXX");
	fd = mkstemp(fx.bundle);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	assert_true(PEM_write_X509(f, fx.root) == 1);
	fclose(f);
}

/* setup - build the whole fixture once. */
static int
setup(void **state)
{
	int k;

	(void)state;
	fx.root_key = ec_key("P-256");
	fx.int_key = ec_key("P-256");
	fx.foreign_key = ec_key("P-256");
	fx.root = cg_make("Test Root", fx.root_key, NULL, NULL, NULL, -DAY,
	                  3650 * DAY, 1);
	fx.inter = cg_make("Test Intermediate", fx.int_key, fx.root,
	                   fx.root_key, NULL, -DAY, 1000 * DAY, 2);
	fx.inter_sha1 = cg_make("Test Intermediate", fx.int_key, fx.root,
	                        fx.root_key, NULL, -DAY, 1000 * DAY, 3);
	X509_sign(fx.inter_sha1, fx.root_key, EVP_sha1());
	fx.rsa_int_key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	fx.rsa_inter = cg_make("Test RSA Intermediate", fx.rsa_int_key, fx.root,
	                       fx.root_key, NULL, -DAY, 1000 * DAY, 5);
	fx.foreign = cg_make("Foreign Root", fx.foreign_key, NULL, NULL, NULL,
	                     -DAY, 3650 * DAY, 4);
	for (k = 0; k < L_COUNT; k++)
		make_leaf((enum leaf_kind)k);
	write_bundle();
	return 0;
}

/* teardown - free the fixture. */
static int
teardown(void **state)
{
	int k;

	(void)state;
	for (k = 0; k < L_COUNT; k++)
		X509_free(fx.leaf[k]);
	X509_free(fx.root);
	X509_free(fx.inter);
	X509_free(fx.inter_sha1);
	X509_free(fx.foreign);
	X509_free(fx.rsa_inter);
	EVP_PKEY_free(fx.rsa_int_key);
	EVP_PKEY_free(fx.root_key);
	EVP_PKEY_free(fx.int_key);
	EVP_PKEY_free(fx.foreign_key);
	unlink(fx.bundle);
	return 0;
}

/* make_staple - a DER OCSP response for leaf, signed by signer. */
static unsigned char *
make_staple(X509 *leaf, X509 *issuer, X509 *signer, EVP_PKEY *skey, int status,
            size_t *len)
{
	OCSP_BASICRESP *bs = OCSP_BASICRESP_new();
	OCSP_CERTID *id = OCSP_cert_to_id(NULL, leaf, issuer);
	ASN1_TIME *thisupd = X509_gmtime_adj(NULL, -60);
	ASN1_TIME *nextupd = X509_gmtime_adj(NULL, DAY);
	ASN1_TIME *rev = X509_gmtime_adj(NULL, -DAY);
	OCSP_RESPONSE *resp;
	unsigned char *der = NULL;
	int n;

	assert_non_null(OCSP_basic_add1_status(
	    bs, id, status,
	    status == V_OCSP_CERTSTATUS_REVOKED
	        ? OCSP_REVOKED_STATUS_KEYCOMPROMISE
	        : -1,
	    status == V_OCSP_CERTSTATUS_REVOKED ? rev : NULL, thisupd,
	    nextupd));
	assert_true(OCSP_basic_sign(bs, signer, skey, EVP_sha256(), NULL, 0));
	resp = OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, bs);
	n = i2d_OCSP_RESPONSE(resp, &der);
	assert_true(n > 0);
	*len = (size_t)n;
	OCSP_RESPONSE_free(resp);
	OCSP_BASICRESP_free(bs);
	OCSP_CERTID_free(id);
	ASN1_TIME_free(thisupd);
	ASN1_TIME_free(nextupd);
	ASN1_TIME_free(rev);
	return der;
}

/* build_probe - a probe result serving the chain and staple of case c. */
static void
build_probe(const struct chain_case *c, struct mc_probe_result *p)
{
	X509 *leaf = fx.leaf[c->leaf], *iss = fx.issuer[c->leaf];

	memset(p, 0, sizeof(*p));
	if (c->served == S_NONE)
		return;
	p->chain = sk_X509_new_null();
	assert_non_null(p->chain);
	X509_up_ref(leaf);
	sk_X509_push(p->chain, leaf);
	if (c->served != S_LEAF_ONLY && iss != NULL) {
		X509_up_ref(iss);
		sk_X509_push(p->chain, iss);
	}
	if (c->served == S_WITH_ROOT || c->served == S_MISORDER) {
		X509_up_ref(fx.root);
		sk_X509_insert(p->chain, fx.root,
		               c->served == S_MISORDER ? 1 : -1);
	}
	if (c->served == S_EXTRA) {
		X509_up_ref(fx.foreign);
		sk_X509_push(p->chain, fx.foreign);
	}
	if (c->staple == ST_GOOD || c->staple == ST_REVOKED)
		p->ocsp_der = make_staple(
		    leaf, iss, iss, fx.issuer_key[c->leaf],
		    c->staple == ST_GOOD ? V_OCSP_CERTSTATUS_GOOD
		                         : V_OCSP_CERTSTATUS_REVOKED,
		    &p->ocsp_len);
	else if (c->staple == ST_FOREIGN)
		p->ocsp_der = make_staple(leaf, iss, fx.foreign, fx.foreign_key,
		                          V_OCSP_CERTSTATUS_GOOD, &p->ocsp_len);
}

/* cmp_str - qsort comparator for strings. */
static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* codes_of - the sorted "code[:nt]" list of f into buf. */
static void
codes_of(const struct mc_findings *f, char *buf, size_t size)
{
	char names[16][40];
	const char *v[16];
	size_t i, n = f->n < 16 ? f->n : 16, len;

	size_t k = 0;

	for (i = 0; i < n; i++) {
		if (f->v[i].severity == MC_SEV_OK)
			continue; /* remarks: test_remarks */
		snprintf(names[k], sizeof(names[k]), "%s%s", f->v[i].code,
		         f->v[i].not_tested ? ":nt" : "");
		v[k] = names[k];
		k++;
	}
	n = k;
	qsort(v, n, sizeof(v[0]), cmp_str);
	buf[0] = '\0';
	for (i = 0; i < n; i++) {
		len = strlen(buf);
		snprintf(buf + len, size - len, "%s%s", i ? " " : "", v[i]);
	}
}

/* test_chain_cases - every row of cases. */
static void
test_chain_cases(void **state)
{
	size_t i, j;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct chain_case *c = &cases[i];
		struct mc_check_opts o = {c->servername, fx.bundle, NULL,
		                          c->warn,       c->crit,   0,
		                          1000,          false,
		                          MC_PROFILE_SUBMISSION, MC_SERVER_UNKNOWN, NULL, NULL, NULL};
		struct mc_findings f = {0};
		struct mc_probe_result p;
		struct mc_err err;
		char got[512];

		o.now = time(NULL);
		o.expected = c->expect == E_SAME    ? fx.leaf[c->leaf]
		             : c->expect == E_OTHER ? fx.leaf[L_OTHER]
		                                    : NULL;
		build_probe(c, &p);
		mc_err_clear(&err);
		if (mc_check_chain(&p, &o, &f, &err) != 0)
			fail_msg("%s: error %s", c->label, err.msg);
		codes_of(&f, got, sizeof(got));
		if (strcmp(got, c->want) != 0 ||
		    mc_findings_worst(&f) != c->worst)
			fail_msg("%s: findings [%s] worst %s, want [%s] %s",
			         c->label, got,
			         mc_severity_name(mc_findings_worst(&f)),
			         c->want, mc_severity_name(c->worst));
		for (j = 0; j < f.n; j++)
			if (strlen(f.v[j].text) < 20 || f.v[j].text[0] == '\0')
				fail_msg("%s: %s has no sentence", c->label,
				         f.v[j].code);
		mc_findings_clear(&f);
		mc_probe_result_clear(&p);
	}
}

/* test_texts - the sentences name what is wrong. */
static void
test_texts(void **state)
{
	static const struct {
		size_t row;
		const char *fragment;
	} rows[] = {
	    {9, "expired on"},
	    {10, "not valid before"},
	    {11, "days left"},
	    {16, "\"other.example.com\""},
	    {18, "\"192.0.2.8\""},
	    {22, "revoked on"},
	    {24, "could not be checked for \"mail.example.com\": the "
	         "stapled OCSP response: response signature does not verify"},
	    {25, "SHA1"},
	    {28, "RSA 1024"},
	    {29, "secp256k1"},
	    {30, "serial"},
	    {19, "No path to a trusted root"},
	    {32, "has no subjectAltName, only the subject CN "
	         "\"mail.example.com\""},
	    {34, "\"xn--bcher-kva.other\" (b\xc3\xbc"
	         "cher.other)"},
	    {36, "the path is \"mail.example.com\" (#1), \"Test "
	         "Intermediate\" (#3), \"Test Root\" (#2)"},
	    {37, "also sends \"Foreign Root\" (#3)"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct chain_case *c = &cases[rows[i].row];
		struct mc_check_opts o = {c->servername, fx.bundle, NULL,
		                          c->warn,       c->crit,   time(NULL),
		                          1000,          false,
		                          MC_PROFILE_SUBMISSION, MC_SERVER_UNKNOWN, NULL, NULL, NULL};
		struct mc_findings f = {0};
		struct mc_probe_result p;

		o.expected = c->expect == E_OTHER ? fx.leaf[L_OTHER] : NULL;
		build_probe(c, &p);
		assert_int_equal(mc_check_chain(&p, &o, &f, NULL), 0);
		if (f.n == 0 || strstr(f.v[0].text, rows[i].fragment) == NULL)
			fail_msg("%s: text lacks \"%s\": %s", c->label,
			         rows[i].fragment,
			         f.n ? f.v[0].text : "(none)");
		mc_findings_clear(&f);
		mc_probe_result_clear(&p);
	}
}

/* test_labels - not-tested findings never carry the failure's name in
 * their label; a path without any revocation URL is an ok remark. */
static void
test_labels(void **state)
{
	static const struct {
		size_t row;
		const char *label;
		enum mc_severity sev;
	} rows[] = {
	    {23, "revocation not published", MC_SEV_OK},
	    {24, "revocation not tested", MC_SEV_WARNING},
	    {22, "revoked", MC_SEV_CRITICAL},
	};
	size_t i, j;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct chain_case *c = &cases[rows[i].row];
		struct mc_check_opts o = {c->servername, fx.bundle, NULL,
		                          -1, -1, time(NULL), 1000, false,
		                          MC_PROFILE_SUBMISSION, MC_SERVER_UNKNOWN, NULL, NULL, NULL};
		struct mc_findings f = {0};
		struct mc_probe_result p;
		bool seen = false;

		build_probe(c, &p);
		assert_int_equal(mc_check_chain(&p, &o, &f, NULL), 0);
		for (j = 0; j < f.n; j++) {
			if (strcmp(f.v[j].code, "revoked") != 0)
				continue;
			if (strcmp(f.v[j].label, rows[i].label) != 0 ||
			    f.v[j].severity != rows[i].sev)
				fail_msg("%s: label \"%s\" %s", c->label,
				         f.v[j].label,
				         mc_severity_name(f.v[j].severity));
			seen = true;
		}
		if (!seen)
			fail_msg("%s: no revocation finding", c->label);
		mc_findings_clear(&f);
		mc_probe_result_clear(&p);
	}
}

/* test_bad_bundle - a missing trust bundle is a local error, not a finding. */
static void
test_bad_bundle(void **state)
{
	struct mc_check_opts o = {"mail.example.com",
	                          "/nonexistent/ca.pem",
	                          NULL,
	                          -1,
	                          -1,
	                          0,
	                          1000,
	                          false,
	                          MC_PROFILE_SUBMISSION,
	                          MC_SERVER_UNKNOWN, NULL, NULL, NULL};
	struct mc_findings f = {0};
	struct mc_probe_result p;
	struct mc_err err;

	(void)state;
	build_probe(&cases[0], &p);
	mc_err_clear(&err);
	assert_int_equal(mc_check_chain(&p, &o, &f, &err), -1);
	assert_int_equal(err.cat, MC_ERR_CRYPTO);
	assert_non_null(strstr(err.msg, "/nonexistent/ca.pem"));
	mc_findings_clear(&f);
	mc_probe_result_clear(&p);
}

/* The system store as OpenSSL finds it: SSL_CERT_FILE and SSL_CERT_DIR
 * ("" = a path that does not exist; "B" = the bundle; "D" = a directory
 * holding the root under its subject hash; "E" = an empty directory). */
static const struct {
	const char *label;
	const char *file, *dir;
	bool shared; /* through opts.store (mc_check_store_new) */
	const char *want; /* finding codes of the clean chain */
} system_cases[] = {
    {"root in SSL_CERT_FILE (indexed)", "B", "E", false, ""},
    {"root in SSL_CERT_FILE, shared store", "B", "E", true, ""},
    {"root only in the hashed SSL_CERT_DIR", "", "D", false, ""},
    {"root only in SSL_CERT_DIR, shared store", "", "D", true, ""},
    {"root in neither", "", "E", false, "untrusted"},
    {"root in neither, shared store", "", "E", true, "untrusted"},
};

/* system_path - the path a letter of system_cases stands for. */
static const char *
system_path(const char *code, const char *dir, const char *empty)
{
	if (code[0] == 'B')
		return fx.bundle;
	if (code[0] == 'D')
		return dir;
	if (code[0] == 'E')
		return empty;
	return "/nonexistent/mailcert-test";
}

/* test_system_store - the clean chain against each system store. */
static void
test_system_store(void **state)
{
	char dir[] = "/tmp/mc-test-dir.XXXXXX", empty[] = "/tmp/mc-test-e.XXXXXX";
	char link[128], got[512];
	size_t i;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_non_null(mkdtemp(empty));
	snprintf(link, sizeof(link), "%s/%08lx.0", dir,
	         X509_subject_name_hash(fx.root));
	assert_int_equal(symlink(fx.bundle, link), 0);
	for (i = 0; i < sizeof(system_cases) / sizeof(system_cases[0]); i++) {
		struct mc_check_opts o = {"mail.example.com", NULL, NULL, -1, -1,
		                          time(NULL), 1000, false,
		                          MC_PROFILE_SUBMISSION,
		                          MC_SERVER_UNKNOWN, NULL, NULL, NULL};
		struct mc_findings f = {0};
		struct mc_probe_result p;
		struct mc_err err;

		setenv("SSL_CERT_FILE",
		       system_path(system_cases[i].file, dir, empty), 1);
		setenv("SSL_CERT_DIR",
		       system_path(system_cases[i].dir, dir, empty), 1);
		if (system_cases[i].shared)
			assert_non_null(o.store = mc_check_store_new(&o, &err));
		build_probe(&cases[0], &p);
		if (mc_check_chain(&p, &o, &f, &err) != 0)
			fail_msg("%s: %s", system_cases[i].label, err.msg);
		codes_of(&f, got, sizeof(got));
		if (strcmp(got, system_cases[i].want) != 0)
			fail_msg("%s: [%s], want [%s]", system_cases[i].label,
			         got, system_cases[i].want);
		X509_STORE_free(o.store);
		mc_findings_clear(&f);
		mc_probe_result_clear(&p);
	}
	unsetenv("SSL_CERT_FILE");
	unsetenv("SSL_CERT_DIR");
	unlink(link);
	rmdir(dir);
	rmdir(empty);
}

/* test_thresholds - relative and absolute expires-soon thresholds. */
static void
test_thresholds(void **state)
{
	static const struct {
		enum leaf_kind leaf;
		long warn, crit, want_warn, want_crit;
	} rows[] = {
	    {L_CLEAN, -1, -1, (90 * DAY + 3600) / 3, (90 * DAY + 3600) / 10},
	    {L_CLEAN, 30, 7, 30 * DAY, 7 * DAY},
	    {L_CLEAN, 30, -1, 30 * DAY, (90 * DAY + 3600) / 10},
	    {L_SOON_CRIT, -1, -1, 82 * DAY / 3, 82 * DAY / 10},
	    {L_SOON_CRIT, 0, 0, 0, 0},
	};
	struct mc_check_opts o = {NULL, NULL, NULL, -1, -1, 0, 1000, false,
	                          MC_PROFILE_SUBMISSION, MC_SERVER_UNKNOWN, NULL, NULL, NULL};
	long w, c;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		o.warn_days = rows[i].warn;
		o.crit_days = rows[i].crit;
		mc_check_thresholds(fx.leaf[rows[i].leaf], &o, &w, &c);
		assert_int_equal(w, rows[i].want_warn);
		assert_int_equal(c, rows[i].want_crit);
	}
}

/* test_findings - add, worst, clear, names. */
static void
test_findings(void **state)
{
	static const struct {
		enum mc_severity sev;
		const char *name;
		enum mc_severity worst_after;
	} rows[] = {
	    {MC_SEV_OK, "ok", MC_SEV_OK},
	    {MC_SEV_WARNING, "warning", MC_SEV_WARNING},
	    {MC_SEV_OK, "ok", MC_SEV_WARNING},
	    {MC_SEV_CRITICAL, "critical", MC_SEV_CRITICAL},
	    {MC_SEV_WARNING, "warning", MC_SEV_CRITICAL},
	};
	struct mc_findings f = {0};
	char longtext[1000];
	size_t i;

	(void)state;
	assert_int_equal(mc_findings_worst(&f), MC_SEV_OK);
	assert_int_equal(mc_findings_worst(NULL), MC_SEV_OK);
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		assert_string_equal(mc_severity_name(rows[i].sev),
		                    rows[i].name);
		assert_int_equal(mc_findings_add(&f,
		                                 "code-that-is-far-too-long-"
		                                 "for-the-field",
		                                 rows[i].sev, i == 2, NULL,
		                                 "row %zu", i),
		                 0);
		assert_int_equal(mc_findings_worst(&f), rows[i].worst_after);
	}
	assert_int_equal(f.n, 5);
	assert_string_equal(f.v[3].text, "row 3");
	assert_true(f.v[2].not_tested && !f.v[1].not_tested);
	assert_int_equal(strlen(f.v[0].code), sizeof(f.v[0].code) - 1);
	memset(longtext, 'x', sizeof(longtext) - 1);
	longtext[sizeof(longtext) - 1] = '\0';
	assert_int_equal(
	    mc_findings_add(&f, "x", MC_SEV_OK, false, NULL, "%s", longtext),
	    0);
	assert_int_equal(strlen(f.v[5].text), sizeof(f.v[5].text) - 1);
	mc_findings_clear(&f);
	assert_int_equal(f.n, 0);
	assert_null(f.v);
	mc_findings_clear(&f);
	assert_string_equal(mc_severity_name((enum mc_severity)7), "unknown");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_chain_cases),
	    cmocka_unit_test(test_texts),
	    cmocka_unit_test(test_labels),
	    cmocka_unit_test(test_bad_bundle),
	    cmocka_unit_test(test_system_store),
	    cmocka_unit_test(test_thresholds),
	    cmocka_unit_test(test_findings),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
