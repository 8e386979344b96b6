/*
 * test_fleet.c - fleet mode without etcd: the store URL parser (and the
 * config keys that use it), sealing of keys (AES-256-GCM with the role,
 * name and version as AAD), and the rules for store_key_file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/crypto.h>

#include "mailcert/config.h"
#include "mailcert/fleet.h"
#include "mailcert/storeurl.h"

struct url_case {
	const char *label;
	const char *text;
	int rc;
	size_t n;             /* endpoints */
	const char *first;    /* first endpoint */
	const char *last;     /* last endpoint */
	const char *prefix;
	const char *err_part; /* in the message when rc == -1 */
};

static const struct url_case url_cases[] = {
	{"one member", "etcd://10.0.0.1:2379/mailcert", 0, 1, "10.0.0.1:2379",
	 "10.0.0.1:2379", "/mailcert", NULL},
	{"three members", "etcd://a.example:1,b.example:2,c.example:3/f", 0, 3,
	 "a.example:1", "c.example:3", "/f", NULL},
	{"default port", "etcd://etcd1/p", 0, 1, "etcd1:2379", "etcd1:2379", "/p",
	 NULL},
	{"IPv6 member", "etcd://[::1]:2379,[2001:db8::1]/x", 0, 2, "[::1]:2379",
	 "[2001:db8::1]:2379", "/x", NULL},
	{"default prefix", "etcd://127.0.0.1:2379", 0, 1, "127.0.0.1:2379",
	 "127.0.0.1:2379", "/mailcert", NULL},
	{"empty prefix after slash", "ETCD://h:1/", 0, 1, "h:1", "h:1",
	 "/mailcert", NULL},
	{"nested prefix", "etcd://h:1/mail/prod-1", 0, 1, "h:1", "h:1",
	 "/mail/prod-1", NULL},
	{"http scheme", "http://h:2379/p", -1, 0, NULL, NULL, NULL,
	 "not an etcd:// URL"},
	{"no member", "etcd:///p", -1, 0, NULL, NULL, NULL, "no etcd member"},
	{"empty member", "etcd://a:1,,b:2/p", -1, 0, NULL, NULL, NULL,
	 "empty member"},
	{"trailing comma", "etcd://a:1,/p", -1, 0, NULL, NULL, NULL,
	 "trailing ','"},
	{"bad port", "etcd://a:99999/p", -1, 0, NULL, NULL, NULL, "HOST[:PORT]"},
	{"bad host", "etcd://a b:1/p", -1, 0, NULL, NULL, NULL, "HOST[:PORT]"},
	{"double slash", "etcd://a:1/p//q", -1, 0, NULL, NULL, NULL,
	 "empty segment"},
	{"trailing slash", "etcd://a:1/p/", -1, 0, NULL, NULL, NULL,
	 "ends with '/'"},
	{"dot dot", "etcd://a:1/p/../q", -1, 0, NULL, NULL, NULL, "'..'"},
	{"bad character", "etcd://a:1/p?x", -1, 0, NULL, NULL, NULL,
	 "letters, digits"},
	{"seventeen members",
	 "etcd://a:1,a:2,a:3,a:4,a:5,a:6,a:7,a:8,a:9,a:10,a:11,a:12,a:13,a:14,"
	 "a:15,a:16,a:17/p",
	 -1, 0, NULL, NULL, NULL, "more than 16"},
};

/* test_store_url - the table above. */
static void
test_store_url(void **state)
{
	struct mc_store_url u;
	struct mc_err err;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(url_cases) / sizeof(url_cases[0]); i++) {
		const struct url_case *c = &url_cases[i];
		int rc;

		mc_err_clear(&err);
		memset(&u, 0, sizeof(u));
		rc = mc_store_url_parse(c->text, &u, &err);
		if (rc != c->rc)
			fail_msg("%s: rc %d, expected %d (%s)", c->label, rc, c->rc,
			         err.msg);
		if (rc == -1) {
			assert_int_equal(err.cat, MC_ERR_CONFIG);
			if (strstr(err.msg, c->err_part) == NULL)
				fail_msg("%s: \"%s\" lacks \"%s\"", c->label, err.msg,
				         c->err_part);
			continue;
		}
		assert_int_equal(u.n_endpoints, c->n);
		assert_string_equal(u.endpoints[0], c->first);
		assert_string_equal(u.endpoints[u.n_endpoints - 1], c->last);
		assert_string_equal(u.prefix, c->prefix);
	}
}

struct conf_case {
	const char *label;
	const char *global; /* [global] lines after state_dir */
	int rc;
	const char *err_part;
};

static const struct conf_case conf_cases[] = {
	{"fleet keys", "store = etcd://127.0.0.1:2379/f\nnode = mx1\n"
	               "store_key_file = /etc/mailcert/store.key\n"
	               "store_ca = /etc/mailcert/etcd-ca.pem\n"
	               "store_cert = /etc/mailcert/etcd.pem\n"
	               "store_key = /etc/mailcert/etcd.key\n"
	               "store_lease = 15s\nstore_wait = 10m\n",
	 0, NULL},
	{"store without key file", "store = etcd://127.0.0.1:2379/f\n", -1,
	 "store_key_file"},
	{"bad store URL", "store = etcd://a:1//\nstore_key_file = /k\n", -1,
	 ":2: store: "},
	{"cert without key", "store = etcd://h/f\nstore_key_file = /k\n"
	                     "store_cert = /c\n",
	 -1, "store_cert and store_key together"},
	{"key file without store", "store_key_file = /k\n", -1,
	 "set without store"},
	{"bad node", "store = etcd://h/f\nstore_key_file = /k\nnode = a/b\n",
	 -1, "not a node name"},
	{"relative key file", "store = etcd://h/f\nstore_key_file = k\n", -1,
	 "absolute path"},
	{"zero lease", "store = etcd://h/f\nstore_key_file = /k\n"
	               "store_lease = 0\n",
	 -1, "longer than 0"},
};

/* test_config_keys - the fleet keys at config load (file:line errors). */
static void
test_config_keys(void **state)
{
	char path[] = "/tmp/mc-fleet-conf.XXXXXX";
	struct mc_config *cfg = NULL;
	struct mc_err err;
	size_t i;
	int fd, rc;

	(void)state;
	for (i = 0; i < sizeof(conf_cases) / sizeof(conf_cases[0]); i++) {
		const struct conf_case *c = &conf_cases[i];
		FILE *f;

		memcpy(path, "/tmp/mc-fleet-conf.XXXXXX", sizeof(path));
		fd = mkstemp(path);
		assert_true(fd >= 0);
		f = fdopen(fd, "w");
		fprintf(f, "[global]\n%s\n[cert mail]\nnames = mail.example.com\n",
		        c->global);
		fclose(f);
		mc_err_clear(&err);
		rc = mc_config_load(path, &cfg, &err);
		unlink(path);
		if (rc != c->rc)
			fail_msg("%s: rc %d, expected %d (%s)", c->label, rc, c->rc,
			         err.msg);
		if (rc == 0) {
			assert_string_equal(cfg->node, "mx1");
			assert_int_equal(cfg->store_lease, 15);
			assert_int_equal(cfg->store_wait, 600);
			mc_config_free(cfg);
			cfg = NULL;
		} else if (strstr(err.msg, c->err_part) == NULL) {
			fail_msg("%s: \"%s\" lacks \"%s\"", c->label, err.msg,
			         c->err_part);
		}
	}
}

static const unsigned char key1[MC_FLEET_KEY_LEN] = {1, 2, 3, 4, 5};
static const unsigned char key2[MC_FLEET_KEY_LEN] = {9, 9, 9};

struct open_case {
	const char *label;
	const unsigned char *key;
	const char *role;
	const char *name;
	unsigned version;
	int flip; /* byte to flip in the sealed value; -1 none */
	int rc;
};

static const struct open_case open_cases[] = {
	{"same key, role, name, version", key1, "privkey", "mail", 7, -1, 0},
	{"another version", key1, "privkey", "mail", 8, -1, -1},
	{"another name", key1, "privkey", "mail2", 7, -1, -1},
	{"another role", key1, "account", "mail", 7, -1, -1},
	{"another key", key2, "privkey", "mail", 7, -1, -1},
	{"flipped nonce", key1, "privkey", "mail", 7, 5, -1},
	{"flipped ciphertext", key1, "privkey", "mail", 7, 20, -1},
	{"flipped tag", key1, "privkey", "mail", 7, 1000, -1},
	{"bad magic", key1, "privkey", "mail", 7, 0, -1},
};

/* test_seal - sealed values open only for what they were sealed for. */
static void
test_seal(void **state)
{
	static const char pt[] = "-----BEGIN PRIVATE KEY-----\nsecret\n";
	unsigned char *sealed = NULL, *again = NULL, *out = NULL, *copy;
	size_t len = 0, len2 = 0, out_len = 0, i;
	struct mc_err err;

	(void)state;
	assert_int_equal(mc_fleet_seal(key1, "privkey", "mail", 7,
	                               (const unsigned char *)pt, strlen(pt),
	                               &sealed, &len, &err),
	                 0);
	assert_int_equal(len, 4 + 12 + strlen(pt) + 16);
	for (i = 0; i + 11 <= len; i++)
		assert_false(memcmp(sealed + i, "PRIVATE KEY", 11) == 0);
	assert_int_equal(mc_fleet_seal(key1, "privkey", "mail", 7,
	                               (const unsigned char *)pt, strlen(pt),
	                               &again, &len2, &err),
	                 0);
	assert_memory_not_equal(sealed + 4, again + 4, 12); /* fresh nonce */
	for (i = 0; i < sizeof(open_cases) / sizeof(open_cases[0]); i++) {
		const struct open_case *c = &open_cases[i];
		int rc;

		copy = malloc(len);
		memcpy(copy, sealed, len);
		if (c->flip >= 0)
			copy[(size_t)c->flip >= len ? len - 1 : (size_t)c->flip] ^= 1;
		mc_err_clear(&err);
		rc = mc_fleet_unseal(c->key, c->role, c->name, c->version, copy,
		                     len, &out, &out_len, &err);
		if (rc != c->rc)
			fail_msg("%s: rc %d, expected %d (%s)", c->label, rc, c->rc,
			         err.msg);
		if (rc == 0) {
			assert_int_equal(out_len, strlen(pt));
			assert_memory_equal(out, pt, out_len);
			OPENSSL_clear_free(out, out_len);
		} else {
			assert_int_equal(err.cat, MC_ERR_INPUT);
			assert_null(strstr(err.msg, "secret"));
		}
		free(copy);
	}
	assert_int_equal(mc_fleet_unseal(key1, "privkey", "mail", 7, sealed, 10,
	                                 &out, &out_len, &err),
	                 -1);
	free(sealed);
	free(again);
}

struct keyfile_case {
	const char *label;
	const char *content;
	size_t len;
	mode_t mode;
	int rc;
	const char *err_part;
};

static const struct keyfile_case keyfile_cases[] = {
	{"32 raw bytes", "\x01\x02\x03\x04\x05\x00\x00\x00\x00\x00\x00\x00\x00"
	                 "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
	                 "\x00\x00\x00\x00\x00\x00",
	 32, 0600, 0, NULL},
	{"64 hex digits", "0102030405000000000000000000000000000000000000000000"
	                  "000000000000\n",
	 65, 0400, 0, NULL},
	{"base64", "AQIDBAUAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n", 45, 0600, 0,
	 NULL},
	{"readable by group", "0102030405000000000000000000000000000000000000000"
	                      "000000000000000",
	 64, 0640, -1, "chmod 600"},
	{"readable by all", "0102030405000000000000000000000000000000000000000"
	                    "000000000000000",
	 64, 0644, -1, "chmod 600"},
	{"too short", "0102", 4, 0600, -1, "not a 32-byte key"},
	{"31 raw bytes", "abcdefghijklmnopqrstuvwxyz01234", 31, 0600, -1,
	 "not a 32-byte key"},
	{"too long", "0102030405000000000000000000000000000000000000000000000000"
	             "000000000000000000000000000000000000000000000000000000000000"
	             "0000000000000000000000000000",
	 146, 0600, -1, "too long"},
};

/* test_key_file - what store_key_file may hold and how it must be kept. */
static void
test_key_file(void **state)
{
	unsigned char key[MC_FLEET_KEY_LEN];
	char path[] = "/tmp/mc-fleet-key.XXXXXX";
	struct mc_err err;
	size_t i;
	int fd, rc;

	(void)state;
	for (i = 0; i < sizeof(keyfile_cases) / sizeof(keyfile_cases[0]); i++) {
		const struct keyfile_case *c = &keyfile_cases[i];

		memcpy(path, "/tmp/mc-fleet-key.XXXXXX", sizeof(path));
		fd = mkstemp(path);
		assert_true(fd >= 0);
		assert_int_equal(write(fd, c->content, c->len), (ssize_t)c->len);
		close(fd);
		chmod(path, c->mode);
		memset(key, 0, sizeof(key));
		mc_err_clear(&err);
		rc = mc_fleet_key_load(path, key, &err);
		unlink(path);
		if (rc != c->rc)
			fail_msg("%s: rc %d, expected %d (%s)", c->label, rc, c->rc,
			         err.msg);
		if (rc == 0) {
			assert_memory_equal(key, key1, sizeof(key));
			continue;
		}
		assert_int_equal(err.cat, MC_ERR_CONFIG);
		if (strstr(err.msg, c->err_part) == NULL)
			fail_msg("%s: \"%s\" lacks \"%s\"", c->label, err.msg,
			         c->err_part);
		assert_null(strstr(err.msg, "0102030405"));
	}
	assert_int_equal(mc_fleet_key_load("/nonexistent/k", key, &err), -1);
	assert_non_null(strstr(err.msg, "/nonexistent/k"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_store_url),
		cmocka_unit_test(test_config_keys),
		cmocka_unit_test(test_seal),
		cmocka_unit_test(test_key_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
