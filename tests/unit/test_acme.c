/*
 * test_acme.c - the offline parts of the ACME client: problem documents,
 * JWS (ES256/ES384/RS256, verified with OpenSSL), RFC 7638 thumbprints,
 * EAB, CSRs, Link and Retry-After headers, refused URLs, the transport's
 * client certificate files.
 */
#include "tmpdir.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "acme/acme_int.h"
#include "core/http_int.h"
#include "mailcert/http.h"
#include "acme/jws.h"
#include "mailcert/crypto.h"
#include "certgen.h"

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))
#define URL "https://ca.test/acme/x"

/* ---- problem documents ---- */

static const struct {
	const char *label;
	long status;
	const char *ctype;
	const char *body;
	enum mc_err_cat cat;
	const char *frag1;
	const char *frag2;
} problem_cases[] = {
    {"good problem", 403, "application/problem+json",
     "{\"type\":\"urn:ietf:params:acme:error:unauthorized\",\"detail\":\"no "
     "way\"}",
     MC_ERR_CA, "HTTP 403: urn:ietf:params:acme:error:unauthorized: no way",
     NULL},
    {"plain json type", 400, "application/json",
     "{\"type\":\"urn:ietf:params:acme:error:malformed\",\"detail\":\"bad\"}",
     MC_ERR_CA, "HTTP 400: urn:ietf:params:acme:error:malformed: bad", NULL},
    {"subproblems", 400, "application/problem+json",
     "{\"type\":\"urn:ietf:params:acme:error:rejectedIdentifier\","
     "\"detail\":\"2 names refused\",\"subproblems\":["
     "{\"type\":\"urn:ietf:params:acme:error:rejectedIdentifier\",\"detail\":"
     "\"policy\","
     "\"identifier\":{\"type\":\"dns\",\"value\":\"a.example\"}},"
     "{\"type\":\"urn:ietf:params:acme:error:caa\",\"detail\":\"CAA forbids\","
     "\"identifier\":{\"type\":\"dns\",\"value\":\"b.example\"}}]}",
     MC_ERR_CA,
     "2 names refused; subproblems: a.example: urn:ietf:params:acme:error:"
     "rejectedIdentifier: policy, b.example: urn:ietf:params:acme:error:caa: "
     "CAA forbids",
     NULL},
    {"no detail", 500, "application/problem+json",
     "{\"type\":\"urn:ietf:params:acme:error:serverInternal\"}", MC_ERR_CA,
     "HTTP 500: urn:ietf:params:acme:error:serverInternal: (no detail)", NULL},
    {"control characters (one sanitizer: BEL is ?)", 400, "application/problem+json",
     "{\"type\":\"t\",\"detail\":\"line one\\nline\\u0007two\"}", MC_ERR_CA,
     "t: line one line?two", NULL},
    {"HTML error page", 502, "text/html",
     "<html><head><title>502 Bad "
     "Gateway</title></head>\n<body>nginx</body></html>",
     MC_ERR_CA, "HTTP 502 from " URL " (text/html): 502 Bad Gateway nginx",
     NULL},
    {"truncated JSON", 500, "application/problem+json",
     "{\"type\":\"urn:ietf:params:acme:error:serverInt", MC_ERR_INPUT,
     "HTTP 500 from " URL ": malformed problem document (JSON parse error)",
     NULL},
    {"empty body", 503, "application/problem+json", "", MC_ERR_CA,
     "HTTP 503 from " URL ": empty body", NULL},
    {"wrong content type", 400, "text/plain",
     "{\"type\":\"urn:ietf:params:acme:error:malformed\"}", MC_ERR_CA,
     "HTTP 400 from " URL " (text/plain): {\"type\"", NULL},
    {"no content type", 404, NULL, "not found", MC_ERR_CA,
     "(no content type): not found", NULL},
    {"JSON without type", 400, "application/problem+json", "{\"detail\":\"x\"}",
     MC_ERR_INPUT, "malformed problem document (no type)", URL},
    {"JSON array", 400, "application/problem+json", "[1,2]", MC_ERR_INPUT,
     "malformed problem document (no type)", "HTTP 400"},
};

/* test_problem - every row becomes the expected error line. */
static void
test_problem(void **state)
{
	struct mc_err err;
	size_t i;

	(void)state;
	for (i = 0; i < N_OF(problem_cases); i++) {
		mc_err_clear(&err);
		print_message("problem: %s\n", problem_cases[i].label);
		assert_int_equal(
		    acme_problem_error(URL, problem_cases[i].status,
		                       problem_cases[i].ctype,
		                       problem_cases[i].body,
		                       strlen(problem_cases[i].body), &err),
		    -1);
		assert_int_equal(err.cat, problem_cases[i].cat);
		if (strstr(err.msg, problem_cases[i].frag1) == NULL)
			fail_msg("%s: \"%s\" lacks \"%s\"",
			         problem_cases[i].label, err.msg,
			         problem_cases[i].frag1);
		if (problem_cases[i].frag2 != NULL)
			assert_non_null(
			    strstr(err.msg, problem_cases[i].frag2));
		assert_null(strchr(err.msg, '\n'));
	}
}

/* test_problem_huge - a megabyte of HTML gives a short, bounded message. */
static void
test_problem_huge(void **state)
{
	size_t n = 1024 * 1024;
	char *body = malloc(n);
	struct mc_err err;

	(void)state;
	assert_non_null(body);
	memset(body, 'A', n);
	memcpy(body, "<html>", 6);
	mc_err_clear(&err);
	acme_problem_error(URL, 500, "text/html", body, n, &err);
	assert_int_equal(err.cat, MC_ERR_CA);
	assert_true(strlen(err.msg) < 300);
	assert_non_null(strstr(err.msg, "AAA..."));
	free(body);
}

static const struct {
	const char *label;
	const char *ctype;
	const char *body;
	const char *type; /* NULL: none */
} ptype_cases[] = {
    {"badNonce", "application/problem+json",
     "{\"type\":\"urn:ietf:params:acme:error:badNonce\"}",
     "urn:ietf:params:acme:error:badNonce"},
    {"html", "text/html", "<html>badNonce</html>", NULL},
    {"garbage", "application/problem+json", "{\"type\":", NULL},
    {"type not string", "application/problem+json", "{\"type\":5}", NULL},
};

/* test_problem_type - the type is found only in real problem documents. */
static void
test_problem_type(void **state)
{
	size_t i;
	char *t;

	(void)state;
	for (i = 0; i < N_OF(ptype_cases); i++) {
		t = acme_problem_type(ptype_cases[i].ctype, ptype_cases[i].body,
		                      strlen(ptype_cases[i].body));
		if (ptype_cases[i].type == NULL)
			assert_null(t);
		else
			assert_string_equal(t, ptype_cases[i].type);
		free(t);
	}
}

/* ---- JWS ---- */

/* b64_json - decode a base64url JSON object (new). */
static json_t *
b64_json(const char *b64)
{
	unsigned char *raw;
	size_t len;
	json_t *o;

	assert_int_equal(mc_b64url_decode(b64, &raw, &len, NULL), 0);
	o = json_loadb((const char *)raw, len, 0, NULL);
	free(raw);
	assert_non_null(o);
	return o;
}

/* raw_to_der - a DER ECDSA signature from r||s (new, OPENSSL_free). */
static int
raw_to_der(const unsigned char *raw, size_t len, unsigned char **der)
{
	ECDSA_SIG *s = ECDSA_SIG_new();
	int n;

	ECDSA_SIG_set0(s, BN_bin2bn(raw, (int)len / 2, NULL),
	               BN_bin2bn(raw + len / 2, (int)len / 2, NULL));
	*der = NULL;
	n = i2d_ECDSA_SIG(s, der);
	ECDSA_SIG_free(s);
	return n;
}

/* verify_jws - check the signature of a flattened JWS with key. */
static void
verify_jws(json_t *jws, EVP_PKEY *key, const EVP_MD *md, size_t raw_len)
{
	const char *prot = json_string_value(json_object_get(jws, "protected"));
	const char *pay = json_string_value(json_object_get(jws, "payload"));
	const char *sig = json_string_value(json_object_get(jws, "signature"));
	unsigned char *raw, *der = NULL;
	size_t len, n = strlen(prot) + strlen(pay) + 2;
	char *input = malloc(n);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int dlen;

	snprintf(input, n, "%s.%s", prot, pay);
	assert_int_equal(mc_b64url_decode(sig, &raw, &len, NULL), 0);
	assert_int_equal(EVP_DigestVerifyInit(ctx, NULL, md, NULL, key), 1);
	if (raw_len != 0) {
		assert_int_equal(len, raw_len);
		dlen = raw_to_der(raw, len, &der);
		assert_int_equal(EVP_DigestVerify(ctx, der, (size_t)dlen,
		                                  (unsigned char *)input,
		                                  strlen(input)),
		                 1);
		/* a flipped bit must not verify */
		raw[0] ^= 1;
		OPENSSL_free(der);
		dlen = raw_to_der(raw, len, &der);
		EVP_MD_CTX_reset(ctx);
		EVP_DigestVerifyInit(ctx, NULL, md, NULL, key);
		assert_int_not_equal(EVP_DigestVerify(ctx, der, (size_t)dlen,
		                                      (unsigned char *)input,
		                                      strlen(input)),
		                     1);
		OPENSSL_free(der);
	} else {
		assert_int_equal(EVP_DigestVerify(ctx, raw, len,
		                                  (unsigned char *)input,
		                                  strlen(input)),
		                 1);
	}
	EVP_MD_CTX_free(ctx);
	free(raw);
	free(input);
}

static const struct {
	const char *label;
	enum mc_key_type type;
	const char *alg;
	size_t raw_len; /* 0: RSA */
	const char *kid;
	const char *payload;
} jws_cases[] = {
    {"ES256 kid", MC_KEY_EC_P256, "ES256", 64, "https://ca.test/acct/1",
     "{\"a\":1}"},
    {"ES256 jwk", MC_KEY_EC_P256, "ES256", 64, NULL, "{}"},
    {"ES384 kid", MC_KEY_EC_P384, "ES384", 96, "https://ca.test/acct/2", "{}"},
    {"ES384 post-as-get", MC_KEY_EC_P384, "ES384", 96, "https://ca.test/acct/2",
     NULL},
    {"RS256 jwk", MC_KEY_RSA2048, "RS256", 0, NULL,
     "{\"termsOfServiceAgreed\":true}"},
    {"RS256 post-as-get", MC_KEY_RSA2048, "RS256", 0, "https://ca.test/acct/3",
     NULL},
};

/* check_header - the protected header holds what the row says. */
static void
check_header(json_t *hdr, size_t i)
{
	assert_string_equal(json_string_value(json_object_get(hdr, "alg")),
	                    jws_cases[i].alg);
	assert_string_equal(json_string_value(json_object_get(hdr, "nonce")),
	                    "n0nce");
	assert_string_equal(json_string_value(json_object_get(hdr, "url")),
	                    URL);
	if (jws_cases[i].kid != NULL) {
		assert_string_equal(
		    json_string_value(json_object_get(hdr, "kid")),
		    jws_cases[i].kid);
		assert_null(json_object_get(hdr, "jwk"));
	} else {
		assert_null(json_object_get(hdr, "kid"));
		assert_true(json_is_object(json_object_get(hdr, "jwk")));
	}
}

/* test_jws_sign - sign, decode our own output, verify with OpenSSL. */
static void
test_jws_sign(void **state)
{
	EVP_PKEY *key;
	json_t *jws, *hdr;
	unsigned char *pay;
	size_t i, len;
	char *text;

	(void)state;
	for (i = 0; i < N_OF(jws_cases); i++) {
		print_message("jws: %s\n", jws_cases[i].label);
		key = mc_key_generate(jws_cases[i].type, NULL);
		assert_non_null(key);
		assert_string_equal(acme_jws_alg(key), jws_cases[i].alg);
		text = acme_jws_sign(key, jws_cases[i].kid, "n0nce", URL,
		                     jws_cases[i].payload, NULL);
		assert_non_null(text);
		jws = json_loads(text, 0, NULL);
		assert_non_null(jws);
		hdr = b64_json(
		    json_string_value(json_object_get(jws, "protected")));
		check_header(hdr, i);
		assert_int_equal(
		    mc_b64url_decode(
		        json_string_value(json_object_get(jws, "payload")),
		        &pay, &len, NULL),
		    0);
		assert_int_equal(len, jws_cases[i].payload
		                          ? strlen(jws_cases[i].payload)
		                          : 0);
		assert_memory_equal(
		    pay, jws_cases[i].payload ? jws_cases[i].payload : "", len);
		verify_jws(jws, key,
		           jws_cases[i].raw_len == 96 ? EVP_sha384()
		                                      : EVP_sha256(),
		           jws_cases[i].raw_len);
		free(pay);
		json_decref(hdr);
		json_decref(jws);
		free(text);
		EVP_PKEY_free(key);
	}
}

static const struct {
	const char *label;
	const char *keyalg; /* EVP_PKEY_Q_keygen type */
	const char *nonce;
	enum mc_err_cat cat;
	const char *frag;
} jws_bad[] = {
    {"Ed25519 key", "ED25519", "n", MC_ERR_INPUT, "unsupported account key"},
    {"X25519 key", "X25519", "n", MC_ERR_INPUT, "unsupported account key"},
};

/* test_jws_bad - keys we cannot sign with, missing nonce. */
static void
test_jws_bad(void **state)
{
	struct mc_err err;
	EVP_PKEY *key;
	size_t i;

	(void)state;
	for (i = 0; i < N_OF(jws_bad); i++) {
		if (strcmp(jws_bad[i].keyalg, "EC") == 0)
			key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		else
			key = EVP_PKEY_Q_keygen(NULL, NULL, jws_bad[i].keyalg);
		assert_non_null(key);
		mc_err_clear(&err);
		assert_null(acme_jws_sign(key, NULL, jws_bad[i].nonce, URL,
		                          "{}", &err));
		assert_int_equal(err.cat, jws_bad[i].cat);
		assert_non_null(strstr(err.msg, jws_bad[i].frag));
		EVP_PKEY_free(key);
	}
}

/* test_jws_no_nonce - a NULL nonce (the inner JWS of a key change) leaves
 * "nonce" out of the protected header and keeps url and jwk. */
static void
test_jws_no_nonce(void **state)
{
	EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	char *text = acme_jws_sign(key, NULL, NULL, URL, "{}", NULL);
	json_t *jws = text ? json_loads(text, 0, NULL) : NULL, *hdr;
	const char *prot;
	unsigned char *raw = NULL;
	size_t len = 0;

	(void)state;
	assert_non_null(jws);
	prot = json_string_value(json_object_get(jws, "protected"));
	assert_non_null(prot);
	assert_int_equal(mc_b64url_decode(prot, &raw, &len, NULL), 0);
	hdr = json_loadb((const char *)raw, len, 0, NULL);
	assert_non_null(hdr);
	assert_null(json_object_get(hdr, "nonce"));
	assert_string_equal(json_string_value(json_object_get(hdr, "url")), URL);
	assert_non_null(json_object_get(hdr, "jwk"));
	json_decref(hdr);
	json_decref(jws);
	free(raw);
	free(text);
	EVP_PKEY_free(key);
}

/* ---- RFC 7638 thumbprint ---- */

#define RFC7638_N                                                              \
	"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1R" \
	"K7aPFFxuhDR1L6tSoc_BJECP"                                             \
	"ebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_"           \
	"RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY"                                   \
	"368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyr" \
	"dkt-bFTWhAI4vMQFh6WeZu0f"                                             \
	"M4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"

/* rsa_from_b64 - a public RSA key from base64url n and e. */
static EVP_PKEY *
rsa_from_b64(const char *n64, const char *e64)
{
	unsigned char *n, *e;
	size_t nl, el;
	BIGNUM *bn = NULL, *be = NULL;
	OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	EVP_PKEY *key = NULL;

	assert_int_equal(mc_b64url_decode(n64, &n, &nl, NULL), 0);
	assert_int_equal(mc_b64url_decode(e64, &e, &el, NULL), 0);
	bn = BN_bin2bn(n, (int)nl, NULL);
	be = BN_bin2bn(e, (int)el, NULL);
	OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_N, bn);
	OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_E, be);
	params = OSSL_PARAM_BLD_to_param(b);
	assert_int_equal(EVP_PKEY_fromdata_init(ctx), 1);
	assert_int_equal(
	    EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params), 1);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(b);
	EVP_PKEY_CTX_free(ctx);
	BN_free(bn);
	BN_free(be);
	free(n);
	free(e);
	return key;
}

/* test_thumbprint - the RFC 7638 section 3.1 example, and the key
 * authorization. */
static void
test_thumbprint(void **state)
{
	EVP_PKEY *key = rsa_from_b64(RFC7638_N, "AQAB");
	struct mc_err err;
	json_t *jwk;
	char *tp, *ka;

	(void)state;
	jwk = acme_jwk(key, NULL);
	assert_string_equal(json_string_value(json_object_get(jwk, "n")),
	                    RFC7638_N);
	assert_string_equal(json_string_value(json_object_get(jwk, "e")),
	                    "AQAB");
	assert_int_equal(json_object_size(jwk), 3);
	tp = acme_jwk_thumbprint(key, NULL);
	assert_string_equal(tp, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
	ka = acme_key_authz(key, "tok-EN_1", NULL);
	assert_string_equal(
	    ka, "tok-EN_1.NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
	free(ka);
	free(tp);
	json_decref(jwk);
	EVP_PKEY_free(key);

	/* an EC JWK has fixed-length coordinates; Ed25519 has no JWK here */
	key = mc_key_generate(MC_KEY_EC_P384, NULL);
	jwk = acme_jwk(key, NULL);
	assert_string_equal(json_string_value(json_object_get(jwk, "crv")),
	                    "P-384");
	assert_int_equal(strlen(json_string_value(json_object_get(jwk, "x"))),
	                 64);
	assert_int_equal(strlen(json_string_value(json_object_get(jwk, "y"))),
	                 64);
	json_decref(jwk);
	EVP_PKEY_free(key);
	key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	mc_err_clear(&err);
	assert_null(acme_jwk_thumbprint(key, &err));
	assert_int_equal(err.cat, MC_ERR_INPUT);
	EVP_PKEY_free(key);
}

/* ---- EAB ---- */

#define EAB_KEY                                                                \
	"c2VjcmV0LWhtYWMta2V5LWZvci10ZXN0cw" /* "secret-hmac-key-for-tests" */

static const struct {
	const char *label;
	const char *kid;
	const char *hmac;
	int ok;
	const char *frag;
} eab_cases[] = {
    {"good", "kid-1", EAB_KEY, 1, NULL},
    {"padded std alphabet", "kid-2", "c2VjcmV0LWhtYWMta2V5LWZvci10ZXN0cw==", 1,
     NULL},
    {"bad base64", "kid-3", "!!not*base64!!", 0,
     "eab_hmac_key is not valid base64url"},
    {"empty key", "kid-4", "", 0, "needs eab_kid and eab_hmac_key"},
    {"no kid", "", EAB_KEY, 0, "needs eab_kid and eab_hmac_key"},
    {"length 4n+1", "kid-5", "abcde", 0, "eab_hmac_key is not valid base64url"},
};

/* check_eab - structure and HMAC of a good EAB object. */
static void
check_eab(json_t *eab, EVP_PKEY *key, const char *kid)
{
	const char *prot = json_string_value(json_object_get(eab, "protected"));
	const char *pay = json_string_value(json_object_get(eab, "payload"));
	json_t *hdr = b64_json(prot), *inner = b64_json(pay),
	       *jwk = acme_jwk(key, NULL);
	unsigned char mac[64];
	size_t maclen, n = strlen(prot) + strlen(pay) + 2;
	char *input = malloc(n), *sig;

	assert_string_equal(json_string_value(json_object_get(hdr, "alg")),
	                    "HS256");
	assert_string_equal(json_string_value(json_object_get(hdr, "kid")),
	                    kid);
	assert_string_equal(json_string_value(json_object_get(hdr, "url")),
	                    "https://ca.test/new-acct");
	assert_null(json_object_get(hdr, "nonce"));
	assert_true(json_equal(inner, jwk));
	snprintf(input, n, "%s.%s", prot, pay);
	assert_non_null(EVP_Q_mac(
	    NULL, "HMAC", NULL, "SHA256", NULL, "secret-hmac-key-for-tests", 25,
	    (unsigned char *)input, strlen(input), mac, sizeof(mac), &maclen));
	sig = mc_b64url(mac, maclen, NULL);
	assert_string_equal(
	    json_string_value(json_object_get(eab, "signature")), sig);
	free(sig);
	free(input);
	json_decref(hdr);
	json_decref(inner);
	json_decref(jwk);
}

/* test_eab - the inner JWS, and refused keys never quoted in the error. */
static void
test_eab(void **state)
{
	EVP_PKEY *key = mc_key_generate(MC_KEY_EC_P256, NULL);
	struct mc_err err;
	json_t *eab;
	size_t i;

	(void)state;
	for (i = 0; i < N_OF(eab_cases); i++) {
		print_message("eab: %s\n", eab_cases[i].label);
		mc_err_clear(&err);
		eab = acme_jws_eab(key, eab_cases[i].kid, eab_cases[i].hmac,
		                   "https://ca.test/new-acct", &err);
		if (eab_cases[i].ok) {
			assert_non_null(eab);
			check_eab(eab, key, eab_cases[i].kid);
			json_decref(eab);
			continue;
		}
		assert_null(eab);
		assert_int_equal(err.cat, MC_ERR_INPUT);
		assert_non_null(strstr(err.msg, eab_cases[i].frag));
		if (eab_cases[i].hmac[0] != '\0')
			assert_null(strstr(err.msg, eab_cases[i].hmac));
	}
	EVP_PKEY_free(key);
}

/* ---- CSR ---- */

#define NAME64                                                                 \
	"a123456789b123456789c123456789d123456789e123456789f12345.example"
#define NAME65                                                                 \
	"a123456789b123456789c123456789d123456789e123456789f123456.example"

static const struct {
	const char *label;
	enum mc_key_type type;
	const char *names[4];
	size_t n;
	const char *cn; /* NULL: no subject CN */
} csr_cases[] = {
    {"one name", MC_KEY_EC_P256, {"mail.example.test"}, 1, "mail.example.test"},
    {"three names",
     MC_KEY_RSA2048,
     {"mail.example.test", "smtp.example.test", "imap.example.test"},
     3,
     "mail.example.test"},
    {"wildcard",
     MC_KEY_EC_P384,
     {"*.example.test", "example.test"},
     2,
     "*.example.test"},
    {"first name of 64 chars is the CN", MC_KEY_EC_P256, {NAME64}, 1, NAME64},
    {"first name too long for CN",
     MC_KEY_EC_P256,
     {NAME65, "b.example.test"},
     2,
     NULL},
    {"IPv4 only: iPAddress, no CN", MC_KEY_EC_P256, {"192.0.2.25"}, 1, NULL},
    {"IPv6 first, then a DNS name (the CN)",
     MC_KEY_RSA2048,
     {"2001:db8::25", "mail.example.test", "192.0.2.25"},
     3,
     "mail.example.test"},
};

/* csr_check_sans - the request has one extension: SANs equal to names. */
static void
csr_check_sans(X509_REQ *req, const char *const *names, size_t n)
{
	STACK_OF(X509_EXTENSION) *exts = X509_REQ_get_extensions(req);
	GENERAL_NAMES *gens;
	const GENERAL_NAME *g;
	size_t i;

	assert_int_equal(sk_X509_EXTENSION_num(exts), 1);
	assert_int_equal(OBJ_obj2nid(X509_EXTENSION_get_object(
	                     sk_X509_EXTENSION_value(exts, 0))),
	                 NID_subject_alt_name);
	gens = X509V3_get_d2i(exts, NID_subject_alt_name, NULL, NULL);
	assert_int_equal(sk_GENERAL_NAME_num(gens), (int)n);
	for (i = 0; i < n; i++) {
		unsigned char addr[16];
		size_t alen = mc_name_ip(names[i], addr);

		g = sk_GENERAL_NAME_value(gens, (int)i);
		if (alen != 0) {
			assert_int_equal(g->type, GEN_IPADD);
			assert_int_equal(ASN1_STRING_length(g->d.iPAddress),
			                 (int)alen);
			assert_memory_equal(
			    ASN1_STRING_get0_data(g->d.iPAddress), addr, alen);
			continue;
		}
		assert_int_equal(g->type, GEN_DNS);
		assert_string_equal(
		    (const char *)ASN1_STRING_get0_data(g->d.dNSName),
		    names[i]);
	}
	GENERAL_NAMES_free(gens);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
}

/* test_csr - SANs are exactly the names, CN rule, the signature verifies. */
static void
test_csr(void **state)
{
	unsigned char *der;
	const unsigned char *p;
	char cn[256];
	size_t i, len;
	X509_REQ *req;
	EVP_PKEY *key;
	int cnlen;

	(void)state;
	for (i = 0; i < N_OF(csr_cases); i++) {
		print_message("csr: %s\n", csr_cases[i].label);
		key = mc_key_generate(csr_cases[i].type, NULL);
		assert_int_equal(acme_csr_der(key, csr_cases[i].names,
		                              csr_cases[i].n, &der, &len, NULL),
		                 0);
		p = der;
		req = d2i_X509_REQ(NULL, &p, (long)len);
		assert_non_null(req);
		assert_int_equal(X509_REQ_verify(req, key), 1);
		assert_int_equal(EVP_PKEY_eq(X509_REQ_get0_pubkey(req), key),
		                 1);
		cnlen =
		    X509_NAME_get_text_by_NID(X509_REQ_get_subject_name(req),
		                              NID_commonName, cn, sizeof(cn));
		if (csr_cases[i].cn == NULL)
			assert_int_equal(cnlen, -1);
		else
			assert_string_equal(cn, csr_cases[i].cn);
		csr_check_sans(req, csr_cases[i].names, csr_cases[i].n);
		X509_REQ_free(req);
		OPENSSL_free(der);
		EVP_PKEY_free(key);
	}
}

/* test_csr_bad - no names, no key, a key of another kind. */
static void
test_csr_bad(void **state)
{
	static const char *const one[] = {"a.example.test"};
	EVP_PKEY *key = mc_key_generate(MC_KEY_EC_P256, NULL);
	EVP_PKEY *x25519 = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
	static const struct {
		const char *label;
		int which_key; /* 0 none, 1 EC, 2 X25519 */
		size_t n;
		enum mc_err_cat cat;
		const char *frag;
	} rows[] = {
	    {"no names", 1, 0, MC_ERR_INPUT, "no key or no names"},
	    {"no key", 0, 1, MC_ERR_INPUT, "no key or no names"},
	    {"key cannot sign", 2, 1, MC_ERR_CRYPTO, "CSR"},
	};
	struct mc_err err;
	unsigned char *der = NULL;
	size_t i, len;

	(void)state;
	for (i = 0; i < N_OF(rows); i++) {
		mc_err_clear(&err);
		assert_int_equal(acme_csr_der(rows[i].which_key == 0   ? NULL
		                              : rows[i].which_key == 1 ? key
		                                                       : x25519,
		                              one, rows[i].n, &der, &len, &err),
		                 -1);
		assert_int_equal(err.cat, rows[i].cat);
		assert_non_null(strstr(err.msg, rows[i].frag));
	}
	EVP_PKEY_free(key);
	EVP_PKEY_free(x25519);
}

/* ---- headers ---- */

static const struct {
	const char *label;
	const char *value;
	int rc;
	size_t n;
	const char *rel0, *url0, *rel1, *url1;
} link_cases[] = {
    {"quoted rel", "<https://ca.test/dir>;rel=\"index\"", 0, 1, "index",
     "https://ca.test/dir", NULL, NULL},
    {"two in one",
     "<https://ca.test/c/1/alt/1>; rel=\"alternate\", "
     "<https://ca.test/c/1/alt/2>;rel=alternate",
     0, 2, "alternate", "https://ca.test/c/1/alt/1", "alternate",
     "https://ca.test/c/1/alt/2"},
    {"upper case rel", "<https://ca.test/a>; title=\"x\"; REL=\"UP\"", 0, 1,
     "up", "https://ca.test/a", NULL, NULL},
    {"no rel", "<https://ca.test/a>; title=x", 0, 0, NULL, NULL, NULL, NULL},
    {"no brackets", "https://ca.test/a; rel=up", -1, 0, NULL, NULL, NULL, NULL},
    {"unterminated", "<https://ca.test/a; rel=up", -1, 0, NULL, NULL, NULL,
     NULL},
};

/* test_link - Link header values into (rel, url) pairs. */
static void
test_link(void **state)
{
	struct mc_http_resp r;
	struct mc_err err;
	size_t i;

	(void)state;
	for (i = 0; i < N_OF(link_cases); i++) {
		memset(&r, 0, sizeof(r));
		mc_err_clear(&err);
		print_message("link: %s\n", link_cases[i].label);
		assert_int_equal(
		    mc_http_parse_link(&r, link_cases[i].value, &err),
		    link_cases[i].rc);
		assert_int_equal(r.n_links, link_cases[i].n);
		if (link_cases[i].rc == -1)
			assert_int_equal(err.cat, MC_ERR_INPUT);
		if (link_cases[i].n > 0) {
			assert_string_equal(r.links[0].rel, link_cases[i].rel0);
			assert_string_equal(r.links[0].url, link_cases[i].url0);
			assert_string_equal(
			    mc_http_link(&r, link_cases[i].rel0),
			    link_cases[i].url0);
		}
		if (link_cases[i].n > 1) {
			assert_string_equal(r.links[1].rel, link_cases[i].rel1);
			assert_string_equal(r.links[1].url, link_cases[i].url1);
		}
		mc_http_resp_clear(&r);
	}
}

static const struct {
	const char *value;
	long want;
} retry_cases[] = {
    {"5", 5},   {" 120 ", 120},
    {"0", 0},   {"Wed, 21 Oct 2015 07:28:00 GMT", 0}, /* in the past: now */
    {"-3", -1}, {"soon", -1},
    {"5s", -1}, {"99999999", -1},
};

/* test_retry_after - delta-seconds and HTTP-dates. */
static void
test_retry_after(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < N_OF(retry_cases); i++) {
		print_message("retry-after: '%s'\n", retry_cases[i].value);
		assert_int_equal(
		    mc_http_parse_retry_after(retry_cases[i].value),
		    retry_cases[i].want);
	}
}

/* ---- transport refusals (no network needed beyond loopback) ---- */

static const struct {
	const char *label;
	const char *url;
	const char *frag;
} url_cases[] = {
    {"plain http", "http://127.0.0.1:1/dir", "not https://"},
    {"file scheme", "file:///etc/passwd", "not https://"},
    {"nobody listening", "https://127.0.0.1:1/dir", "127.0.0.1"},
};

/* test_http_refuse - wrong schemes and dead ports are MC_ERR_NET naming the
 * URL. */
static void
test_http_refuse(void **state)
{
	struct mc_http_req req = {0};
	struct mc_http_resp r = {0};
	struct mc_http *http;
	struct mc_err err;
	size_t i;

	(void)state;
	mc_err_clear(&err);
	http = mc_http_new(NULL, &err);
	assert_non_null(http);
	req.method = "GET";
	req.connect_timeout_ms = 2000;
	req.timeout_ms = 5000;
	req.max_body = 1024;
	for (i = 0; i < N_OF(url_cases); i++) {
		mc_err_clear(&err);
		req.url = url_cases[i].url;
		assert_int_equal(mc_http_request(http, &req, &r, &err), -1);
		assert_int_equal(err.cat, MC_ERR_NET);
		assert_non_null(strstr(err.msg, url_cases[i].url));
		assert_non_null(strstr(err.msg, url_cases[i].frag));
		assert_null(r.body);
	}
	mc_http_free(http);
}

/* ---- the transport's client certificate (fleet/'s etcd client) ---- */

static const struct {
	const char *label;
	const char *cert; /* in the temp dir; NULL: none */
	const char *key;
	const char *frag; /* NULL: the transport is made */
} client_cases[] = {
    {"no client certificate", NULL, NULL, NULL},
    {"matching pair", "a.crt", "a.key", NULL},
    {"leaf and issuer in one file", "chain.crt", "a.key", NULL},
    {"certificate without its key", "a.crt", NULL, "needs its key"},
    {"missing certificate file", "none.crt", "a.key", "none.crt"},
    {"certificate file holding a key", "a.key", "a.key", "a.key"},
    {"key file that is not PEM", "a.crt", "junk.key", "junk.key"},
    {"key of another certificate", "a.crt", "b.key",
     "not the key of the client certificate"},
};

/* client_write - write one PEM object into dir/name. */
static void
client_write(const char *dir, const char *name, X509 *cert, X509 *cert2,
             EVP_PKEY *key, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	if (cert != NULL)
		assert_int_equal(PEM_write_X509(f, cert), 1);
	if (cert2 != NULL)
		assert_int_equal(PEM_write_X509(f, cert2), 1);
	if (key != NULL)
		assert_int_equal(PEM_write_PrivateKey(f, key, NULL, NULL, 0,
		                                      NULL, NULL),
		                 1);
	if (text != NULL)
		fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

/* test_http_client_files - the client certificate and key are read when
 * the transport is made; unusable files are MC_ERR_CONFIG naming them. */
static void
test_http_client_files(void **state)
{
	char dir[] = "/tmp/mc-acme-XXXXXX", cert[600], key[600];
	EVP_PKEY *ka = mc_key_generate(MC_KEY_EC_P256, NULL);
	EVP_PKEY *kb = mc_key_generate(MC_KEY_EC_P256, NULL);
	X509 *ca = cg_make("client CA", kb, NULL, NULL, NULL, -60, 3600, 1);
	X509 *a = cg_make("client", ka, ca, kb, "DNS:client.test", -60, 3600, 2);
	struct mc_http_tls tls = {0};
	struct mc_http *http;
	struct mc_err err;
	size_t i;

	(void)state;
	assert_non_null(mkdtemp(dir));
	client_write(dir, "a.crt", a, NULL, NULL, NULL);
	client_write(dir, "chain.crt", a, ca, NULL, NULL);
	client_write(dir, "a.key", NULL, NULL, ka, NULL);
	client_write(dir, "b.key", NULL, NULL, kb, NULL);
	client_write(dir, "junk.key", NULL, NULL, NULL, "not a key\n");
	for (i = 0; i < N_OF(client_cases); i++) {
		print_message("client files: %s\n", client_cases[i].label);
		snprintf(cert, sizeof(cert), "%s/%s", dir,
		         client_cases[i].cert ? client_cases[i].cert : "");
		snprintf(key, sizeof(key), "%s/%s", dir,
		         client_cases[i].key ? client_cases[i].key : "");
		tls.client_cert = client_cases[i].cert ? cert : NULL;
		tls.client_key = client_cases[i].key ? key : NULL;
		mc_err_clear(&err);
		http = mc_http_new_tls(&tls, &err);
		if (client_cases[i].frag == NULL) {
			if (http == NULL)
				fail_msg("%s: %s", client_cases[i].label,
				         err.msg);
		} else {
			assert_null(http);
			assert_int_equal(err.cat, MC_ERR_CONFIG);
			if (strstr(err.msg, client_cases[i].frag) == NULL)
				fail_msg("%s: '%s' lacks '%s'",
				         client_cases[i].label, err.msg,
				         client_cases[i].frag);
		}
		mc_http_free(http);
	}
	X509_free(a);
	X509_free(ca);
	EVP_PKEY_free(ka);
	EVP_PKEY_free(kb);
	assert_int_equal(td_remove(dir), 0);
}

/* ca_verify - whether leaf verifies against the store of the CA file. */
static int
ca_verify(X509_STORE *store, X509 *leaf)
{
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	int ok;

	assert_int_equal(X509_STORE_CTX_init(ctx, store, leaf, NULL), 1);
	ok = X509_verify_cert(ctx);
	X509_STORE_CTX_free(ctx);
	return ok;
}

/* ca_reissuer - leaf re-signed by key under an issuer name of other
 * bytes (a UTF8String, upper case) that X509_NAME_cmp finds equal to cn. */
static void
ca_reissuer(X509 *leaf, const char *cn_upper, EVP_PKEY *key)
{
	X509_NAME *n = X509_NAME_new();

	assert_int_equal(X509_NAME_add_entry_by_txt(
	                     n, "CN", MBSTRING_UTF8,
	                     (const unsigned char *)cn_upper, -1, -1, 0),
	                 1);
	assert_int_equal(X509_set_issuer_name(leaf, n), 1);
	X509_NAME_free(n);
	assert_true(X509_sign(leaf, key, EVP_sha256()) > 0);
}

/* test_ca_index - a CA file is indexed in one pass: CERTIFICATE and
 * TRUSTED CERTIFICATE blocks among other blocks and text; a leaf under an
 * indexed root verifies (also when its issuer name differs from the
 * root's subject in bytes but not for X509_NAME_cmp), one under a root
 * not in the file does not; a file without certificates is MC_ERR_CONFIG
 * naming it. */
static void
test_ca_index(void **state)
{
	char dir[] = "/tmp/mc-ca-XXXXXX", path[600];
	EVP_PKEY *k[4];
	X509 *root[3], *leaf[3], *folded;
	X509_STORE *store;
	struct mc_err err;
	FILE *f;
	int i;

	(void)state;
	assert_non_null(mkdtemp(dir));
	for (i = 0; i < 4; i++)
		k[i] = mc_key_generate(MC_KEY_EC_P256, NULL);
	for (i = 0; i < 3; i++) {
		char cn[32];

		snprintf(cn, sizeof(cn), "index root %d", i);
		root[i] = cg_make(cn, k[i], NULL, NULL, NULL, -60, 3600, i + 1);
		leaf[i] = cg_make("leaf", k[3], root[i], k[i], "DNS:a.test",
		                  -60, 3600, i + 10);
	}
	folded = cg_make("leaf", k[3], root[1], k[1], "DNS:a.test", -60, 3600,
	                 20);
	ca_reissuer(folded, "INDEX  ROOT 1", k[1]);
	snprintf(path, sizeof(path), "%s/bundle.pem", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("# a bundle\n", f);
	assert_int_equal(PEM_write_PUBKEY(f, k[3]), 1);
	assert_int_equal(PEM_write_X509(f, root[0]), 1);
	fputs("text between blocks\n", f);
	assert_int_equal(PEM_write_X509_AUX(f, root[1]), 1);
	assert_int_equal(fclose(f), 0);
	mc_err_clear(&err);
	store = http_ca_store(path, &err);
	if (store == NULL)
		fail_msg("%s", err.msg);
	assert_int_equal(ca_verify(store, leaf[0]), 1);
	assert_int_equal(ca_verify(store, leaf[2]), 0);
	assert_int_equal(ca_verify(store, folded), 1);
	assert_int_equal(ca_verify(store, leaf[1]), 1);
	X509_STORE_free(store);
	X509_free(folded);
	snprintf(path, sizeof(path), "%s/none.pem", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(PEM_write_PUBKEY(f, k[3]), 1);
	assert_int_equal(fclose(f), 0);
	mc_err_clear(&err);
	assert_null(http_ca_store(path, &err));
	assert_int_equal(err.cat, MC_ERR_CONFIG);
	assert_non_null(strstr(err.msg, "none.pem: no PEM certificate"));
	for (i = 0; i < 3; i++) {
		X509_free(root[i]);
		X509_free(leaf[i]);
	}
	for (i = 0; i < 4; i++)
		EVP_PKEY_free(k[i]);
	assert_int_equal(td_remove(dir), 0);
}

/* test_json_str - string members the CA sends: control characters,
 * wrong types, long values and non-https URLs are refused by name. */
static void
test_json_str(void **state)
{
	static const struct {
		const char *label;
		const char *json;
		bool https;
		const char *frag; /* NULL: accepted */
	} rows[] = {
		{"plain", "{\"v\":\"valid\"}", false, NULL},
		{"https URL", "{\"v\":\"https://ca.example/a\"}", true, NULL},
		{"UTF-8", "{\"v\":\"caf\\u00e9\"}", false, NULL},
		{"newline", "{\"v\":\"valid\\nstatus\"}", false,
		 "field \"v\" holds a control character"},
		{"escape", "{\"v\":\"https://x/\\u001b[2J\"}", true,
		 "holds a control character"},
		{"DEL", "{\"v\":\"a\\u007f\"}", false, "holds a control"},
		{"not a string", "{\"v\":5}", false, "is not a string"},
		{"http URL", "{\"v\":\"http://ca.example/a\"}", true,
		 "is not an https:// URL"},
	};
	struct mc_err err;
	const char *out;
	json_t *o;
	size_t i;

	(void)state;
	for (i = 0; i < N_OF(rows); i++) {
		o = json_loads(rows[i].json, 0, NULL);
		assert_non_null(o);
		mc_err_clear(&err);
		out = NULL;
		if (rows[i].frag == NULL) {
			if (acme_json_str(o, "v", "https://ca.example/u", true,
					  rows[i].https, &out, &err) != 0)
				fail_msg("%s: %s", rows[i].label, err.msg);
			assert_non_null(out);
		} else {
			assert_int_equal(acme_json_str(o, "v",
						       "https://ca.example/u",
						       true, rows[i].https, &out,
						       &err),
					 -1);
			assert_int_equal(err.cat, MC_ERR_INPUT);
			if (strstr(err.msg, rows[i].frag) == NULL)
				fail_msg("%s: %s", rows[i].label, err.msg);
		}
		json_decref(o);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_problem),
	    cmocka_unit_test(test_json_str),
	    cmocka_unit_test(test_problem_huge),
	    cmocka_unit_test(test_problem_type),
	    cmocka_unit_test(test_jws_sign),
	    cmocka_unit_test(test_jws_bad),
	    cmocka_unit_test(test_jws_no_nonce),
	    cmocka_unit_test(test_thumbprint),
	    cmocka_unit_test(test_eab),
	    cmocka_unit_test(test_csr),
	    cmocka_unit_test(test_csr_bad),
	    cmocka_unit_test(test_link),
	    cmocka_unit_test(test_retry_after),
	    cmocka_unit_test(test_http_refuse),
	    cmocka_unit_test(test_http_client_files),
	    cmocka_unit_test(test_ca_index),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
