/*
 * test_import.c - certbot's account key (JWK -> EVP_PKEY) and renewal
 * configuration reader (configobj through inih).
 */
#include "tests/unit/tmpdir.h"
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/core_names.h>

#include "mailcert/crypto.h"
#include "import/import_int.h"

/* b64_bn - base64url of a key's big number parameter (new string). */
static char *
b64_bn(EVP_PKEY *key, const char *param)
{
	BIGNUM *bn = NULL;
	unsigned char buf[1024];
	int n;
	char *s;

	assert_true(EVP_PKEY_get_bn_param(key, param, &bn));
	n = BN_bn2bin(bn, buf);
	BN_clear_free(bn);
	s = mc_b64url(buf, (size_t)n, NULL);
	assert_non_null(s);
	return s;
}

/* jwk_rsa - certbot's private_key.json for an RSA key (new string). */
static char *
jwk_rsa(EVP_PKEY *key, bool drop_q)
{
	static const char *const names[][2] = {
		{"n", OSSL_PKEY_PARAM_RSA_N}, {"e", OSSL_PKEY_PARAM_RSA_E},
		{"d", OSSL_PKEY_PARAM_RSA_D}, {"p", OSSL_PKEY_PARAM_RSA_FACTOR1},
		{"q", OSSL_PKEY_PARAM_RSA_FACTOR2}, {"dp", OSSL_PKEY_PARAM_RSA_EXPONENT1},
		{"dq", OSSL_PKEY_PARAM_RSA_EXPONENT2},
		{"qi", OSSL_PKEY_PARAM_RSA_COEFFICIENT1}};
	char *out = calloc(1, 8192), *v;
	size_t i, len;

	len = (size_t)snprintf(out, 8192, "{\"kty\": \"RSA\"");
	for (i = 0; i < 8; i++) {
		if (drop_q && strcmp(names[i][0], "q") == 0)
			continue;
		v = b64_bn(key, names[i][1]);
		len += (size_t)snprintf(out + len, 8192 - len, ", \"%s\": \"%s\"",
					names[i][0], v);
		free(v);
	}
	snprintf(out + len, 8192 - len, "}");
	return out;
}

/* jwk_ec - an EC JWK (crv P-256/P-384) for key (new string). */
static char *
jwk_ec(EVP_PKEY *key, const char *crv, bool wrong_d)
{
	unsigned char pub[200];
	size_t publen = 0, half;
	char *x, *y, *d, *out = calloc(1, 4096);

	assert_true(EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, pub,
						    sizeof(pub), &publen));
	half = (publen - 1) / 2;
	x = mc_b64url(pub + 1, half, NULL);
	y = mc_b64url(pub + 1 + half, half, NULL);
	d = wrong_d ? strdup("AQ") : b64_bn(key, OSSL_PKEY_PARAM_PRIV_KEY);
	snprintf(out, 4096, "{\"kty\":\"EC\",\"crv\":\"%s\",\"x\":\"%s\",\"y\":\"%s\","
		 "\"d\":\"%s\"}", crv, x, y, d);
	free(x);
	free(y);
	free(d);
	return out;
}

/* same_spki - whether two keys have the same public key. */
static bool
same_spki(EVP_PKEY *a, EVP_PKEY *b)
{
	char ha[65], hb[65];

	assert_int_equal(mc_key_spki_sha256(a, ha, NULL), 0);
	assert_int_equal(mc_key_spki_sha256(b, hb, NULL), 0);
	return strcmp(ha, hb) == 0;
}

/* test_jwk - RSA and EC JWKs become the same key; broken ones fail. */
static void
test_jwk(void **state)
{
	static const struct {
		const char *label;
		enum mc_key_type type;
		int variant; /* 0 good, 1 broken */
		const char *fragment;
	} rows[] = {
		{"rsa-2048", MC_KEY_RSA2048, 0, NULL},
		{"ecdsa-p256", MC_KEY_EC_P256, 0, NULL},
		{"ecdsa-p384", MC_KEY_EC_P384, 0, NULL},
		{"rsa without q", MC_KEY_RSA2048, 1, "JWK: no \"q\""},
		{"ec with a d of another key", MC_KEY_EC_P256, 1, "not consistent"},
	};
	struct mc_err err;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		EVP_PKEY *key = mc_key_generate(rows[i].type, NULL), *back;
		bool rsa = rows[i].type <= MC_KEY_RSA4096;
		char *json = rsa ? jwk_rsa(key, rows[i].variant == 1)
				 : jwk_ec(key, rows[i].type == MC_KEY_EC_P256 ? "P-256" : "P-384",
					  rows[i].variant == 1);

		print_message("jwk: %s\n", rows[i].label);
		back = mc_key_from_jwk(json, strlen(json), &err);
		if (rows[i].variant == 0) {
			assert_non_null(back);
			assert_true(same_spki(key, back));
			assert_int_equal(mc_key_type_of(back), (int)rows[i].type);
		} else {
			assert_null(back);
			assert_non_null(strstr(err.msg, rows[i].fragment));
		}
		EVP_PKEY_free(back);
		EVP_PKEY_free(key);
		free(json);
	}
}

/* test_jwk_bad - input that is no JWK at all. */
static void
test_jwk_bad(void **state)
{
	static const struct {
		const char *json, *fragment;
	} rows[] = {
		{"not json", "no \"kty\""},
		{"{\"kty\":\"oct\",\"k\":\"AAAA\"}", "is not RSA or EC"},
		{"{\"kty\":\"EC\",\"crv\":\"P-192\",\"x\":\"AA\",\"y\":\"AA\",\"d\":\"AA\"}",
		 "unsupported curve"},
		{"{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"AA\",\"y\":\"AAAA\",\"d\":\"AA\"}",
		 "do not fit"},
		{"{\"kty\":\"RSA\",\"n\":\"!!\"}", "\"n\""},
	};
	struct mc_err err;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		assert_null(mc_key_from_jwk(rows[i].json, strlen(rows[i].json), &err));
		assert_non_null(strstr(err.msg, rows[i].fragment));
	}
}

/* conf_write - write text to dir/name and return the path (new). */
static char *
conf_write(const char *dir, const char *name, const char *text)
{
	char *path = malloc(4096);
	FILE *f;

	snprintf(path, 4096, "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return path;
}

/* test_conf - certbot's renewal configuration, with a line longer than inih's buffer. */
static void
test_conf(void **state)
{
	char dir[] = "/tmp/mc-test-import-XXXXXX", text[4096], hook[400], buf[512];
	struct certbot_conf c;
	struct mc_err err;
	char *path;

	(void)state;
	assert_non_null(mkdtemp(dir));
	memset(hook, 'x', sizeof(hook) - 1);
	hook[sizeof(hook) - 1] = '\0';
	memcpy(hook, "/usr/local/bin/", 15);
	snprintf(text, sizeof(text),
		 "# renew_before_expiry = 30 days\nversion = 2.1.0\n"
		 "privkey = /etc/letsencrypt/live/mail/privkey.pem\n\n"
		 "# Options used in the renewal process\n[renewalparams]\n"
		 "account = 6bdeab67ee22e7a14eda7f0631fa5d66\nreuse_key = True\n"
		 "renew_hook = %s\n"
		 "pre_hook = \"systemctl stop nginx\"\n"
		 "webroot_path = /var/www/html, /srv/www,\n"
		 "[[webroot_map]]\nmail.example.com = /var/www/html\n", hook);
	path = conf_write(dir, "mail.conf", text);
	assert_int_equal(certbot_conf_read(path, &c, &err), 0);
	assert_string_equal(certbot_conf_get(&c, "", "privkey"),
			    "/etc/letsencrypt/live/mail/privkey.pem");
	assert_string_equal(certbot_conf_get(&c, "renewalparams", "reuse_key"), "True");
	assert_string_equal(certbot_conf_get(&c, "renewalparams", "renew_hook"), hook);
	assert_string_equal(certbot_conf_get(&c, "renewalparams", "pre_hook"),
			    "systemctl stop nginx");
	assert_string_equal(certbot_conf_first(&c, "renewalparams", "webroot_path", buf,
					       sizeof(buf)), "/var/www/html");
	assert_string_equal(certbot_conf_get(&c, "webroot_map", "mail.example.com"),
			    "/var/www/html");
	assert_null(certbot_conf_get(&c, "renewalparams", "server"));
	certbot_conf_free(&c);
	free(path);

	path = conf_write(dir, "bad.conf", "version = 2.1.0\nthis is not ini\n");
	assert_int_equal(certbot_conf_read(path, &c, &err), -1);
	assert_int_equal(err.cat, MC_ERR_INPUT);
	assert_non_null(strstr(err.msg, "bad.conf:2: not a certbot renewal"));
	free(path);
	assert_int_equal(certbot_conf_read("/nonexistent/x.conf", &c, &err), -1);
	assert_int_equal(td_remove(dir), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_jwk),
		cmocka_unit_test(test_jwk_bad),
		cmocka_unit_test(test_conf),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
