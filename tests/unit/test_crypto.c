/*
 * test_crypto.c - base64url, keys and the checks on an issued chain.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include <openssl/pem.h>
#include <openssl/sha.h>

#include "mailcert/crypto.h"
#include "tests/unit/certgen.h"

static const struct {
	const char *label;
	const char *plain;
	const char *encoded;
} b64_cases[] = {
	{"empty", "", ""},
	{"one byte", "f", "Zg"},
	{"two bytes", "fo", "Zm8"},
	{"three bytes", "foo", "Zm9v"},
	{"four bytes", "foob", "Zm9vYg"},
	{"six bytes", "foobar", "Zm9vYmFy"},
	{"url alphabet", "\xfb\xff\xbf", "-_-_"},
};

/* test_b64url_roundtrip - encode and decode the RFC 4648 vectors. */
static void
test_b64url_roundtrip(void **state)
{
	size_t i, len;
	unsigned char *dec;
	char *enc;

	(void)state;
	for (i = 0; i < sizeof(b64_cases) / sizeof(b64_cases[0]); i++) {
		enc = mc_b64url((const unsigned char *)b64_cases[i].plain,
				strlen(b64_cases[i].plain), NULL);
		assert_non_null(enc);
		assert_string_equal(enc, b64_cases[i].encoded);
		assert_int_equal(mc_b64url_decode(enc, &dec, &len, NULL), 0);
		assert_int_equal(len, strlen(b64_cases[i].plain));
		assert_memory_equal(dec, b64_cases[i].plain, len);
		free(dec);
		free(enc);
	}
}

static const struct {
	const char *label;
	const char *input;
	const char *fragment;
} b64_bad[] = {
	{"bad character", "Zm9v!A", "bad character"},
	{"space", "Zm 9vA", "bad character"},
	{"length 4n+1", "Zm9vY", "wrong length"},
	{"dot", "a.b", "bad character"},
};

/* test_b64url_bad - malformed input is refused with a reason. */
static void
test_b64url_bad(void **state)
{
	struct mc_err err;
	unsigned char *dec = NULL;
	size_t i, len;

	(void)state;
	for (i = 0; i < sizeof(b64_bad) / sizeof(b64_bad[0]); i++) {
		mc_err_clear(&err);
		assert_int_equal(mc_b64url_decode(b64_bad[i].input, &dec, &len,
						  &err),
				 -1);
		assert_int_equal(err.cat, MC_ERR_INPUT);
		assert_non_null(strstr(err.msg, b64_bad[i].fragment));
	}
}

/* test_key_types - every key type generates and is recognized. */
static void
test_key_types(void **state)
{
	static const enum mc_key_type types[] = {
		MC_KEY_RSA2048, MC_KEY_RSA3072, MC_KEY_EC_P256, MC_KEY_EC_P384};
	struct mc_buf pem;
	EVP_PKEY *key, *back;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		key = mc_key_generate(types[i], NULL);
		assert_non_null(key);
		assert_int_equal(mc_key_type_of(key), (int)types[i]);
		mc_buf_init(&pem, 0);
		assert_int_equal(mc_key_to_pem(key, &pem, NULL), 0);
		back = mc_key_from_pem(pem.data, pem.len, NULL);
		assert_non_null(back);
		assert_int_equal(EVP_PKEY_eq(key, back), 1);
		mc_buf_clear_free(&pem);
		EVP_PKEY_free(back);
		EVP_PKEY_free(key);
	}
}

/* bio_text - what memory BIO bio holds, as a new string; bio freed. */
static char *
bio_text(BIO *bio)
{
	char *p, *out;
	long n = BIO_get_mem_data(bio, &p);

	/* not strndup: the BIO's data has no NUL after it to stop at */
	out = malloc((size_t)n + 1);
	assert_non_null(out);
	memcpy(out, p, (size_t)n);
	out[n] = '\0';
	BIO_free(bio);
	return out;
}

/* key_pem_traditional - key as SEC1 / PKCS#1 PEM (new string). */
static char *
key_pem_traditional(EVP_PKEY *key)
{
	BIO *bio = BIO_new(BIO_s_mem());

	assert_int_equal(PEM_write_bio_PrivateKey_traditional(
				 bio, key, NULL, NULL, 0, NULL, NULL),
			 1);
	return bio_text(bio);
}

/* spki_sha256_slow - the hex SHA-256 of i2d_PUBKEY (OpenSSL's own DER). */
static void
spki_sha256_slow(EVP_PKEY *key, char hex[65])
{
	unsigned char *der = NULL, md[32];
	int len = i2d_PUBKEY(key, &der), i;

	assert_true(len > 0);
	SHA256(der, (size_t)len, md);
	OPENSSL_free(der);
	for (i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
}

static const struct {
	const char *label;
	enum mc_key_type type;
	const char *point_format; /* EC: set before hashing, or NULL */
} spki_cases[] = {
	{"RSA 2048 (OpenSSL's encoder)", MC_KEY_RSA2048, NULL},
	{"P-256", MC_KEY_EC_P256, NULL},
	{"P-384", MC_KEY_EC_P384, NULL},
	{"P-256, compressed point", MC_KEY_EC_P256, "compressed"},
};

/* test_key_spki_and_forms - the SPKI hash is the SHA-256 of OpenSSL's
 * DER (the EC shortcut included); PKCS#8 and the traditional SEC1 /
 * PKCS#1 PEM forms read back as the same key. */
static void
test_key_spki_and_forms(void **state)
{
	char fast[65], slow[65], *trad;
	struct mc_buf pem;
	EVP_PKEY *key, *back;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(spki_cases) / sizeof(spki_cases[0]); i++) {
		print_message("spki: %s\n", spki_cases[i].label);
		key = mc_key_generate(spki_cases[i].type, NULL);
		assert_non_null(key);
		if (spki_cases[i].point_format != NULL)
			assert_int_equal(EVP_PKEY_set_utf8_string_param(
						 key, "point-format",
						 spki_cases[i].point_format),
					 1);
		assert_int_equal(mc_key_spki_sha256(key, fast, NULL), 0);
		spki_sha256_slow(key, slow);
		assert_string_equal(fast, slow);
		mc_buf_init(&pem, 0);
		assert_int_equal(mc_key_to_pem(key, &pem, NULL), 0);
		assert_non_null(strstr(pem.data, "BEGIN PRIVATE KEY"));
		back = mc_key_from_pem(pem.data, pem.len, NULL);
		assert_non_null(back);
		assert_int_equal(EVP_PKEY_eq(key, back), 1);
		EVP_PKEY_free(back);
		trad = key_pem_traditional(key);
		assert_null(strstr(trad, "BEGIN PRIVATE KEY"));
		back = mc_key_from_pem(trad, strlen(trad), NULL);
		assert_non_null(back);
		assert_int_equal(EVP_PKEY_eq(key, back), 1);
		EVP_PKEY_free(back);
		free(trad);
		mc_buf_clear_free(&pem);
		EVP_PKEY_free(key);
	}
}

static const struct {
	const char *label;
	enum mc_key_type type;
	const char *point_format; /* set before writing, or NULL */
} pkcs8_cases[] = {
	{"P-256", MC_KEY_EC_P256, NULL},
	{"P-384", MC_KEY_EC_P384, NULL},
	{"P-256, compressed point", MC_KEY_EC_P256, "compressed"},
	{"P-384, compressed point", MC_KEY_EC_P384, "compressed"},
	{"RSA 2048 (OpenSSL's encoder)", MC_KEY_RSA2048, NULL},
};

/* key_pem_openssl - OpenSSL's own PKCS#8 PEM of key (new string). */
static char *
key_pem_openssl(EVP_PKEY *key)
{
	BIO *bio = BIO_new(BIO_s_mem());

	assert_int_equal(PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0,
						  NULL, NULL),
			 1);
	return bio_text(bio);
}

/* test_key_pkcs8_ec - mc_key_to_pem writes exactly OpenSSL's PKCS#8 PEM
 * (an EC key's put together without the encoder: 16 keys of each case,
 * so scalars with leading zero bytes are met too). */
static void
test_key_pkcs8_ec(void **state)
{
	struct mc_buf pem;
	EVP_PKEY *key;
	size_t i, k;
	char *want;

	(void)state;
	for (i = 0; i < sizeof(pkcs8_cases) / sizeof(pkcs8_cases[0]); i++) {
		print_message("pkcs8: %s\n", pkcs8_cases[i].label);
		for (k = 0; k < (pkcs8_cases[i].type == MC_KEY_RSA2048 ? 1 : 16);
		     k++) {
			key = mc_key_generate(pkcs8_cases[i].type, NULL);
			assert_non_null(key);
			if (pkcs8_cases[i].point_format != NULL)
				assert_int_equal(
				    EVP_PKEY_set_utf8_string_param(
					key, "point-format",
					pkcs8_cases[i].point_format),
				    1);
			mc_buf_init(&pem, 0);
			assert_int_equal(mc_key_to_pem(key, &pem, NULL), 0);
			want = key_pem_openssl(key);
			assert_int_equal(pem.len, strlen(want));
			assert_memory_equal(pem.data, want, pem.len);
			free(want);
			mc_buf_clear_free(&pem);
			EVP_PKEY_free(key);
		}
	}
}

/* test_key_pem_bad - a damaged PKCS#8 block is refused, not mistaken. */
static void
test_key_pem_bad(void **state)
{
	static const char bad[] = "-----BEGIN PRIVATE KEY-----\n"
				  "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n"
				  "-----END PRIVATE KEY-----\n";
	struct mc_err err;

	(void)state;
	mc_err_clear(&err);
	assert_null(mc_key_from_pem(bad, sizeof(bad) - 1, &err));
	assert_non_null(strstr(err.msg, "cannot parse the private key"));
}

struct chain_fixture {
	EVP_PKEY *root_key, *int_key, *leaf_key, *other_key;
	X509 *root, *inter;
};

/* chain_setup - a root and an intermediate to issue from. */
static int
chain_setup(void **state)
{
	struct chain_fixture *f = calloc(1, sizeof(*f));

	f->root_key = mc_key_generate(MC_KEY_EC_P256, NULL);
	f->int_key = mc_key_generate(MC_KEY_EC_P256, NULL);
	f->leaf_key = mc_key_generate(MC_KEY_EC_P256, NULL);
	f->other_key = mc_key_generate(MC_KEY_EC_P256, NULL);
	f->root = cg_make("Test Root", f->root_key, NULL, NULL, NULL, -60,
			  86400 * 365, 1);
	f->inter = cg_make("Test Intermediate", f->int_key, f->root,
			   f->root_key, NULL, -60, 86400 * 365, 2);
	*state = f;
	return 0;
}

/* chain_teardown - free the fixture. */
static int
chain_teardown(void **state)
{
	struct chain_fixture *f = *state;

	X509_free(f->root);
	X509_free(f->inter);
	EVP_PKEY_free(f->root_key);
	EVP_PKEY_free(f->int_key);
	EVP_PKEY_free(f->leaf_key);
	EVP_PKEY_free(f->other_key);
	free(f);
	return 0;
}

enum leaf_variant {
	LEAF_GOOD, LEAF_OTHER_KEY, LEAF_EXPIRED, LEAF_WRONG_SIGNER,
	LEAF_FUTURE,  /* notBefore an hour ahead */
	LEAF_SKEWED,  /* notBefore two minutes ahead: within the tolerance */
};

static const struct {
	const char *label;
	enum leaf_variant variant;
	const char *sans;
	int with_intermediate;
	int reversed;
	int rc;
	const char *fragment;
} chain_cases[] = {
	{"good", LEAF_GOOD, "DNS:a.example.test,DNS:b.example.test", 1, 0, 0, NULL},
	{"good, SAN order differs", LEAF_GOOD, "DNS:b.example.test,DNS:a.example.test", 1, 0, 0, NULL},
	{"not our key", LEAF_OTHER_KEY, "DNS:a.example.test,DNS:b.example.test", 1, 0, -1, "does not match the certificate"},
	{"missing name", LEAF_GOOD, "DNS:a.example.test", 1, 0, -1, "does not cover b.example.test"},
	{"extra name", LEAF_GOOD, "DNS:a.example.test,DNS:b.example.test,DNS:c.example.test", 1, 0, -1, "c.example.test, which was not requested"},
	{"no intermediate", LEAF_GOOD, "DNS:a.example.test,DNS:b.example.test", 0, 0, -1, "no intermediate"},
	{"wrong order", LEAF_GOOD, "DNS:a.example.test,DNS:b.example.test", 1, 1, -1, "does not match the certificate"},
	{"signed by another key", LEAF_WRONG_SIGNER, "DNS:a.example.test,DNS:b.example.test", 1, 0, -1, "does not verify"},
	{"expired", LEAF_EXPIRED, "DNS:a.example.test,DNS:b.example.test", 1, 0, -1, "expired"},
	{"notBefore an hour ahead", LEAF_FUTURE, "DNS:a.example.test,DNS:b.example.test", 1, 0, -1, "is not valid before"},
	{"notBefore 2 minutes ahead", LEAF_SKEWED, "DNS:a.example.test,DNS:b.example.test", 1, 0, 0, NULL},
};

/* leaf_not_before - the notBefore offset (seconds from now) of a variant. */
static long
leaf_not_before(enum leaf_variant v)
{
	switch (v) {
	case LEAF_EXPIRED:
		return -7200;
	case LEAF_FUTURE:
		return 3600;
	case LEAF_SKEWED:
		return 120;
	default:
		return -60;
	}
}

/* test_check_issued - the table of issued chains. */
static void
test_check_issued(void **state)
{
	static const char *const names[] = {"a.example.test", "b.example.test"};
	struct chain_fixture *f = *state;
	struct mc_err err;
	size_t i;

	for (i = 0; i < sizeof(chain_cases) / sizeof(chain_cases[0]); i++) {
		STACK_OF(X509) *chain = sk_X509_new_null();
		enum leaf_variant v = chain_cases[i].variant;
		X509 *leaf = cg_make(
			"leaf", v == LEAF_OTHER_KEY ? f->other_key : f->leaf_key,
			f->inter, v == LEAF_WRONG_SIGNER ? f->other_key : f->int_key,
			chain_cases[i].sans, leaf_not_before(v),
			v == LEAF_EXPIRED ? -3600 : 86400, 3);

		if (chain_cases[i].reversed)
			sk_X509_push(chain, f->inter);
		sk_X509_push(chain, leaf);
		if (chain_cases[i].with_intermediate && !chain_cases[i].reversed)
			sk_X509_push(chain, f->inter);
		mc_err_clear(&err);
		print_message("case: %s\n", chain_cases[i].label);
		assert_int_equal(mc_x509_check_issued(chain, f->leaf_key, names,
						      2, time(NULL), &err),
				 chain_cases[i].rc);
		if (chain_cases[i].fragment != NULL) {
			assert_int_equal(err.cat, MC_ERR_INPUT);
			assert_non_null(strstr(err.msg, chain_cases[i].fragment));
		}
		sk_X509_free(chain);
		X509_free(leaf);
	}
}

/* test_check_issued_ip - IP address SANs (RFC 8738) beside a DNS name. */
static void
test_check_issued_ip(void **state)
{
	static const char *const names[] = {"a.example.test", "2001:db8::25",
					    "192.0.2.25"};
	static const struct {
		const char *label;
		const char *sans;
		const char *fragment; /* NULL: accepted */
	} rows[] = {
		{"exact", "DNS:a.example.test,IP:2001:DB8:0::25,IP:192.0.2.25",
		 NULL},
		{"other order", "IP:192.0.2.25,DNS:a.example.test,IP:2001:db8::25",
		 NULL},
		{"address missing", "DNS:a.example.test,IP:2001:db8::25",
		 "does not cover 192.0.2.25"},
		{"extra address",
		 "DNS:a.example.test,IP:2001:db8::25,IP:192.0.2.25,IP:192.0.2.26",
		 "192.0.2.26, which was not requested"},
		{"address as a dNSName",
		 "DNS:a.example.test,IP:2001:db8::25,DNS:192.0.2.25",
		 "does not cover 192.0.2.25"},
	};
	struct chain_fixture *f = *state;
	struct mc_err err;
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		STACK_OF(X509) *chain = sk_X509_new_null();
		X509 *leaf = cg_make("leaf", f->leaf_key, f->inter, f->int_key,
				     rows[i].sans, -60, 86400, 4);

		sk_X509_push(chain, leaf);
		sk_X509_push(chain, f->inter);
		mc_err_clear(&err);
		print_message("case: %s\n", rows[i].label);
		assert_int_equal(mc_x509_check_issued(chain, f->leaf_key, names,
						      3, time(NULL), &err),
				 rows[i].fragment == NULL ? 0 : -1);
		if (rows[i].fragment != NULL)
			assert_non_null(strstr(err.msg, rows[i].fragment));
		sk_X509_free(chain);
		X509_free(leaf);
	}
}

/* test_info_and_cert_id - serial, fingerprint and the ARI certID. */
static void
test_info_and_cert_id(void **state)
{
	struct chain_fixture *f = *state;
	X509 *leaf = cg_make("leaf", f->leaf_key, f->inter, f->int_key,
			     "DNS:a.example.test", -60, 86400, 0x87654321L);
	struct mc_x509_info info;
	char *id, *dot;

	assert_int_equal(mc_x509_info(leaf, &info, NULL), 0);
	assert_string_equal(info.serial, "87654321");
	assert_string_equal(info.issuer_cn, "Test Intermediate");
	assert_int_equal(strlen(info.sha256), 64);
	id = mc_x509_ari_cert_id(leaf, NULL);
	assert_non_null(id);
	dot = strchr(id, '.');
	assert_non_null(dot);
	/* serial 0x87654321 has its top bit set: DER prepends 0x00 */
	assert_string_equal(dot + 1, "AIdlQyE");
	free(id);
	X509_free(leaf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_b64url_roundtrip),
		cmocka_unit_test(test_b64url_bad),
		cmocka_unit_test(test_key_types),
		cmocka_unit_test(test_key_spki_and_forms),
		cmocka_unit_test(test_key_pkcs8_ec),
		cmocka_unit_test(test_key_pem_bad),
		cmocka_unit_test_setup_teardown(test_check_issued, chain_setup,
						chain_teardown),
		cmocka_unit_test_setup_teardown(test_check_issued_ip, chain_setup,
						chain_teardown),
		cmocka_unit_test_setup_teardown(test_info_and_cert_id,
						chain_setup, chain_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
