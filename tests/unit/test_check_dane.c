/*
 * test_check_dane.c - DANE matching (mc_check_dane_match) of TLSA records
 * against chains built in memory, every usage/selector/matching-type
 * combination RFC 7671/7672 defines, unusable and wrong records, a chain
 * whose issuer does not sign the leaf; and the findings
 * (mc_check_dane_findings): match, mismatch, only unusable records,
 * insecure, bogus lookup, failed lookup, no records.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/evp.h>

#include "mailcert/check_dane.h"
#include "tests/unit/certgen.h"

enum which { W_LEAF = 0, W_INT, W_ROOT_KEY, W_OTHER, W_OTHER_INT };
enum served { SV_GOOD = 0, SV_WRONG_INT };
enum want { M_MATCH = 0, M_NOMATCH, M_UNUSABLE };

static const struct match_case {
	const char *label;
	unsigned usage, selector, mtype;
	enum which which;
	enum served served;
	size_t truncate; /* bytes cut off the data */
	enum want want;
} match_cases[] = {
	{ "3 1 1 leaf", 3, 1, 1, W_LEAF, SV_GOOD, 0, M_MATCH },
	{ "3 0 1 leaf", 3, 0, 1, W_LEAF, SV_GOOD, 0, M_MATCH },
	{ "3 1 2 leaf", 3, 1, 2, W_LEAF, SV_GOOD, 0, M_MATCH },
	{ "3 0 2 leaf", 3, 0, 2, W_LEAF, SV_GOOD, 0, M_MATCH },
	{ "3 1 0 leaf", 3, 1, 0, W_LEAF, SV_GOOD, 0, M_MATCH },
	{ "3 0 0 leaf", 3, 0, 0, W_LEAF, SV_GOOD, 0, M_MATCH },
	{ "2 1 1 issuer", 2, 1, 1, W_INT, SV_GOOD, 0, M_MATCH },
	{ "2 0 1 issuer", 2, 0, 1, W_INT, SV_GOOD, 0, M_MATCH },
	{ "2 0 2 issuer", 2, 0, 2, W_INT, SV_GOOD, 0, M_MATCH },
	{ "2 1 0 key of the unserved root", 2, 1, 0, W_ROOT_KEY, SV_GOOD, 0, M_MATCH },
	{ "2 1 1 leaf is no trust anchor", 2, 1, 1, W_LEAF, SV_GOOD, 0, M_NOMATCH },
	{ "3 1 1 issuer is not the leaf", 3, 1, 1, W_INT, SV_GOOD, 0, M_NOMATCH },
	{ "3 1 1 another key", 3, 1, 1, W_OTHER, SV_GOOD, 0, M_NOMATCH },
	{ "2 1 0 another key", 2, 1, 0, W_OTHER, SV_GOOD, 0, M_NOMATCH },
	{ "3 1 1 truncated", 3, 1, 1, W_LEAF, SV_GOOD, 1, M_NOMATCH },
	{ "2 1 1 issuer that did not sign the leaf", 2, 1, 1, W_OTHER_INT, SV_WRONG_INT, 0, M_NOMATCH },
	{ "1 1 1 PKIX-EE unusable", 1, 1, 1, W_LEAF, SV_GOOD, 0, M_UNUSABLE },
	{ "0 0 1 PKIX-TA unusable", 0, 0, 1, W_INT, SV_GOOD, 0, M_UNUSABLE },
	{ "3 2 1 unknown selector", 3, 2, 1, W_LEAF, SV_GOOD, 0, M_UNUSABLE },
	{ "3 1 3 unknown matching type", 3, 1, 3, W_LEAF, SV_GOOD, 0, M_UNUSABLE },
	{ "4 1 1 unknown usage", 4, 1, 1, W_LEAF, SV_GOOD, 0, M_UNUSABLE },
};

struct pki {
	EVP_PKEY *root_key, *int_key, *leaf_key, *other_key;
	X509 *root, *inter, *leaf, *other_int;
};

/* pki_make - root -> intermediate -> leaf, plus an unrelated intermediate. */
static void
pki_make(struct pki *p)
{
	p->root_key = EVP_EC_gen("P-256");
	p->int_key = EVP_EC_gen("P-256");
	p->leaf_key = EVP_EC_gen("P-256");
	p->other_key = EVP_EC_gen("P-256");
	p->root = cg_make("Root", p->root_key, NULL, NULL, NULL, -3600, 86400, 1);
	p->inter = cg_make("Int", p->int_key, p->root, p->root_key, NULL, -3600, 86400, 2);
	p->leaf = cg_make("mx.example.com", p->leaf_key, p->inter, p->int_key,
			  "DNS:mx.example.com", -3600, 86400, 3);
	p->other_int = cg_make("Int", p->other_key, p->root, p->root_key, NULL, -3600,
			       86400, 4);
	assert_non_null(p->leaf);
}

/* pki_free - release the test PKI. */
static void
pki_free(struct pki *p)
{
	EVP_PKEY_free(p->root_key);
	EVP_PKEY_free(p->int_key);
	EVP_PKEY_free(p->leaf_key);
	EVP_PKEY_free(p->other_key);
	X509_free(p->root);
	X509_free(p->inter);
	X509_free(p->leaf);
	X509_free(p->other_int);
}

/* rec_data - the selected DER of the case's object, hashed per mtype. */
static void
rec_data(const struct pki *p, const struct match_case *c, struct mc_tlsa_rec *r)
{
	X509 *cert = c->which == W_LEAF ? p->leaf : c->which == W_INT ? p->inter
		   : c->which == W_OTHER_INT ? p->other_int : NULL;
	EVP_PKEY *key = c->which == W_ROOT_KEY ? p->root_key : p->other_key;
	unsigned char *der = NULL, md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	int len;

	if (cert != NULL)
		len = c->selector == 0 ? i2d_X509(cert, &der)
				       : i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der);
	else
		len = i2d_PUBKEY(key, &der);
	assert_true(len > 0);
	r->usage = c->usage;
	r->selector = c->selector;
	r->mtype = c->mtype;
	if (c->mtype == 1 || c->mtype == 2) {
		EVP_Digest(der, (size_t)len, md, &n,
			   c->mtype == 1 ? EVP_sha256() : EVP_sha512(), NULL);
		r->data = malloc(n);
		memcpy(r->data, md, n);
		r->len = n;
	} else {
		r->data = malloc((size_t)len);
		memcpy(r->data, der, (size_t)len);
		r->len = (size_t)len;
	}
	r->len -= c->truncate;
	OPENSSL_free(der);
}

/* test_match - every row of match_cases. */
static void
test_match(void **state)
{
	struct pki p;
	size_t i;

	(void)state;
	pki_make(&p);
	for (i = 0; i < sizeof(match_cases) / sizeof(match_cases[0]); i++) {
		const struct match_case *c = &match_cases[i];
		struct mc_tlsa_rec rec = { 0 };
		struct mc_tlsa_rrset set = { NULL, true, 60, &rec, 1 };
		struct mc_dane_match m;
		struct mc_err err;
		STACK_OF(X509) *chain = sk_X509_new_null();

		sk_X509_push(chain, p.leaf);
		sk_X509_push(chain, c->served == SV_GOOD ? p.inter : p.other_int);
		rec_data(&p, c, &rec);
		mc_err_clear(&err);
		assert_int_equal(mc_check_dane_match(chain, &set, &m, &err), 0);
		if ((c->want == M_MATCH) != (m.matched == 0) ||
		    (c->want == M_UNUSABLE) != (m.usable == 0))
			fail_msg("%s: matched %ld, usable %zu", c->label, m.matched, m.usable);
		assert_int_equal(strlen(m.leaf_spki), 64);
		free(rec.data);
		sk_X509_free(chain);
	}
	pki_free(&p);
}

enum fset { FS_MATCH = 0, FS_MISMATCH, FS_UNUSABLE, FS_NONE };
enum flookup { FL_OK = 0, FL_BOGUS, FL_TIMEOUT };

static const struct finding_case {
	const char *label;
	enum fset set;
	bool secure;
	enum flookup lookup;
	const char *code; /* NULL: no finding */
	enum mc_severity sev;
	bool not_tested;
	const char *text;
} finding_cases[] = {
	{ "secure match", FS_MATCH, true, FL_OK, NULL, MC_SEV_OK, false, NULL },
	{ "secure mismatch", FS_MISMATCH, true, FL_OK, "dane-mismatch", MC_SEV_CRITICAL, false, "3 1 1 " },
	{ "secure, only unusable", FS_UNUSABLE, true, FL_OK, "dane-mismatch", MC_SEV_WARNING, false, "no usable" },
	{ "insecure match", FS_MATCH, false, FL_OK, "dane-insecure", MC_SEV_WARNING, false, "not DNSSEC-secure" },
	{ "insecure mismatch", FS_MISMATCH, false, FL_OK, "dane-insecure", MC_SEV_WARNING, false, "served SPKI" },
	{ "no records", FS_NONE, true, FL_OK, NULL, MC_SEV_OK, false, NULL },
	{ "bogus", FS_NONE, false, FL_BOGUS, "dane-mismatch", MC_SEV_CRITICAL, false, "bogus" },
	{ "timeout", FS_NONE, false, FL_TIMEOUT, "dane-mismatch", MC_SEV_OK, true, "no answer" },
};

/* test_findings - every row of finding_cases. */
static void
test_findings(void **state)
{
	struct pki p;
	size_t i;

	(void)state;
	pki_make(&p);
	for (i = 0; i < sizeof(finding_cases) / sizeof(finding_cases[0]); i++) {
		const struct finding_case *c = &finding_cases[i];
		struct match_case mc = { "", c->set == FS_UNUSABLE ? 1 : 3, 1, 1,
					 c->set == FS_MISMATCH ? W_OTHER : W_LEAF,
					 SV_GOOD, 0, M_MATCH };
		struct mc_tlsa_rec rec = { 0 };
		struct mc_tlsa_rrset set = { "_25._tcp.mx.example.com", c->secure, 60,
					     &rec, c->set == FS_NONE ? 0 : 1 };
		struct mc_findings f = { 0 };
		struct mc_err err, lookup;
		STACK_OF(X509) *chain = sk_X509_new_null();

		sk_X509_push(chain, p.leaf);
		sk_X509_push(chain, p.inter);
		rec_data(&p, &mc, &rec);
		mc_err_clear(&err);
		mc_err_set(&lookup, MC_ERR_NET, c->lookup == FL_BOGUS
			   ? "x TLSA: DNSSEC validation failed (bogus): no DS"
			   : "x: no answer within 10 s from the resolver");
		assert_int_equal(mc_check_dane_findings(chain, &set,
			c->lookup == FL_OK ? NULL : &lookup, &f, &err), 0);
		if (c->code == NULL) {
			if (f.n != 0)
				fail_msg("%s: unexpected finding %s", c->label, f.v[0].code);
		} else {
			if (f.n != 1)
				fail_msg("%s: %zu findings", c->label, f.n);
			assert_string_equal(f.v[0].code, c->code);
			if (f.v[0].severity != c->sev || f.v[0].not_tested != c->not_tested ||
			    strstr(f.v[0].text, c->text) == NULL)
				fail_msg("%s: %s %d %d %s", c->label, f.v[0].code,
					 f.v[0].severity, f.v[0].not_tested, f.v[0].text);
		}
		mc_findings_clear(&f);
		free(rec.data);
		sk_X509_free(chain);
	}
	pki_free(&p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_match),
		cmocka_unit_test(test_findings),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
