/*
 * test_store.c - atomic files, the lock, and the versioned store.
 */
#include "tests/unit/tmpdir.h"
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "mailcert/crypto.h"
#include "mailcert/fsio.h"
#include "mailcert/lock.h"
#include "mailcert/store.h"
#include "tests/unit/certgen.h"

/* tmpdir_setup - a fresh temporary directory as the state. */
static int
tmpdir_setup(void **state)
{
	char *dir = strdup("/tmp/mc-test-store-XXXXXX");

	if (mkdtemp(dir) == NULL)
		return -1;
	*state = dir;
	return 0;
}

/* tmpdir_teardown - remove the directory tree. */
static int
tmpdir_teardown(void **state)
{
	int rc = td_remove(*state);

	free(*state);
	return rc;
}

static const struct {
	const char *label;
	const char *name;
	mode_t mode;
	int pre; /* 0 none, 1 regular file, 2 symlink, 3 directory */
	bool allow_symlink;
	int rc;
	const char *fragment;
} write_cases[] = {
	{"new file 0600", "a.key", 0600, 0, false, 0, NULL},
	{"new file 0644", "a.crt", 0644, 0, false, 0, NULL},
	{"replace file", "b.crt", 0640, 1, false, 0, NULL},
	{"symlink refused", "c.crt", 0644, 2, false, -1, "symbolic link"},
	{"symlink allowed", "d.crt", 0644, 2, true, 0, NULL},
	{"directory in the way", "e.crt", 0644, 3, false, -1, "not a regular file"},
	{"missing directory", "nodir/f.crt", 0644, 0, false, -1, "cannot open directory"},
};

/* test_fsio_write - modes, replacement, refusals; no temp file left. */
static void
test_fsio_write(void **state)
{
	const char *dir = *state;
	char path[512], other[512], *back;
	struct mc_err err;
	struct stat st;
	size_t i, len;

	for (i = 0; i < sizeof(write_cases) / sizeof(write_cases[0]); i++) {
		print_message("case: %s\n", write_cases[i].label);
		snprintf(path, sizeof(path), "%s/%s", dir, write_cases[i].name);
		snprintf(other, sizeof(other), "%s/target-%zu", dir, i);
		if (write_cases[i].pre == 1)
			assert_int_equal(mc_fsio_write(path, "old", 3, 0600,
						       MC_FSIO_KEEP_OWNER,
						       false, NULL), 0);
		if (write_cases[i].pre == 2) {
			assert_int_equal(mc_fsio_write(other, "old", 3, 0600,
						       MC_FSIO_KEEP_OWNER,
						       false, NULL), 0);
			assert_int_equal(symlink(other, path), 0);
		}
		if (write_cases[i].pre == 3)
			assert_int_equal(mkdir(path, 0700), 0);
		mc_err_clear(&err);
		assert_int_equal(mc_fsio_write(path, "new\n", 4,
					       write_cases[i].mode,
					       MC_FSIO_KEEP_OWNER,
					       write_cases[i].allow_symlink,
					       &err),
				 write_cases[i].rc);
		if (write_cases[i].rc == -1) {
			assert_non_null(strstr(err.msg, write_cases[i].fragment));
			continue;
		}
		assert_int_equal(lstat(path, &st), 0);
		assert_true(S_ISREG(st.st_mode)); /* a link is replaced */
		assert_int_equal(st.st_mode & 07777, write_cases[i].mode);
		assert_int_equal(mc_fsio_read(path, 100, &back, &len, NULL), 0);
		assert_string_equal(back, "new\n");
		free(back);
	}
}

/* test_fsio_read_limit - files over the cap are refused. */
static void
test_fsio_read_limit(void **state)
{
	char path[512], *back = NULL;
	struct mc_err err;
	size_t len;

	snprintf(path, sizeof(path), "%s/big", (char *)*state);
	assert_int_equal(mc_fsio_write(path, "0123456789", 10, 0600,
				       MC_FSIO_KEEP_OWNER, false, NULL), 0);
	assert_int_equal(mc_fsio_read(path, 9, &back, &len, &err), -1);
	assert_non_null(strstr(err.msg, "larger than 9 bytes"));
	assert_int_equal(mc_fsio_read("/nonexistent/x", 9, &back, &len, &err),
			 -1);
	assert_int_equal(err.cat, MC_ERR_SYS);
}

/* test_lock - a second lock on the same state dir fails with LOCKED. */
static void
test_lock(void **state)
{
	struct mc_err err;
	int a, b;

	a = mc_lock_take(*state, NULL);
	assert_true(a >= 0);
	b = mc_lock_take(*state, &err);
	assert_int_equal(b, -1);
	assert_int_equal(err.cat, MC_ERR_LOCKED);
	assert_int_equal(mc_err_exit_code(err.cat), 4);
	mc_lock_release(a);
	b = mc_lock_take(*state, NULL);
	assert_true(b >= 0);
	mc_lock_release(b);
}

/* make_chain - a leaf for key under a fresh root and intermediate. */
static STACK_OF(X509) *
make_chain(EVP_PKEY *key, long serial)
{
	EVP_PKEY *rk = mc_key_generate(MC_KEY_EC_P256, NULL);
	EVP_PKEY *ik = mc_key_generate(MC_KEY_EC_P256, NULL);
	X509 *root = cg_make("Root", rk, NULL, NULL, NULL, -60, 86400, 1);
	X509 *inter = cg_make("Inter", ik, root, rk, NULL, -60, 86400, 2);
	STACK_OF(X509) *chain = sk_X509_new_null();

	sk_X509_push(chain, cg_make("leaf", key, inter, ik, "DNS:a.example.test",
				    -60, 86400, serial));
	sk_X509_push(chain, inter);
	X509_free(root);
	EVP_PKEY_free(rk);
	EVP_PKEY_free(ik);
	return chain;
}

/* add_version - store one version of cert "mail" and make it current. */
static unsigned
add_version(const char *dir, EVP_PKEY *key, long serial, const char *status)
{
	static char *names[] = {"a.example.test"};
	STACK_OF(X509) *chain = make_chain(key, serial);
	struct mc_cert_meta meta;
	unsigned n = 0;

	memset(&meta, 0, sizeof(meta));
	meta.names = names;
	meta.n_names = 1;
	meta.key_type = MC_KEY_EC_P256;
	snprintf(meta.status, sizeof(meta.status), "%s", status);
	assert_int_equal(mc_store_meta_fill(&meta, chain, NULL), 0);
	assert_int_equal(mc_store_add_version(dir, "mail", key, chain, &meta,
					      &n, NULL), 0);
	assert_int_equal(mc_store_set_current(dir, "mail", n, NULL), 0);
	free(meta.ari_cert_id);
	sk_X509_pop_free(chain, X509_free);
	return n;
}

/* test_store_versions - numbering, files, modes, current, previous. */
static void
test_store_versions(void **state)
{
	const char *dir = *state;
	EVP_PKEY *key = mc_key_generate(MC_KEY_EC_P256, NULL), *back;
	struct mc_cert_meta meta;
	char path[600];
	struct stat st;
	unsigned cur = 0, prev = 0;

	assert_int_equal(mc_store_current(dir, "mail", &cur, NULL), 0);
	assert_int_equal(add_version(dir, key, 10, "deployed"), 1);
	assert_int_equal(add_version(dir, key, 11, "failed"), 2);
	assert_int_equal(add_version(dir, key, 12, "issued"), 3);
	assert_int_equal(mc_store_current(dir, "mail", &cur, NULL), 1);
	assert_int_equal(cur, 3);
	assert_int_equal(mc_store_previous(dir, "mail", 3, &prev, NULL), 1);
	assert_int_equal(prev, 1); /* 2 is marked failed */
	mc_store_path(dir, "mail", 3, "privkey.pem", path, sizeof(path), NULL);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	back = mc_store_load_key(dir, "mail", 3, NULL);
	assert_int_equal(EVP_PKEY_eq(back, key), 1);
	assert_int_equal(mc_store_load_meta(dir, "mail", 3, &meta, NULL), 0);
	assert_string_equal(meta.serial, "0c");
	assert_string_equal(meta.names[0], "a.example.test");
	assert_string_equal(meta.status, "issued");
	assert_non_null(meta.ari_cert_id);
	mc_store_meta_clear(&meta);
	EVP_PKEY_free(back);
	EVP_PKEY_free(key);
}

/* test_store_damaged_meta - a broken meta.json is named in the error. */
static void
test_store_damaged_meta(void **state)
{
	const char *dir = *state;
	EVP_PKEY *key = mc_key_generate(MC_KEY_EC_P256, NULL);
	struct mc_cert_meta meta;
	struct mc_err err;
	char path[600];
	unsigned n = add_version(dir, key, 5, "issued");

	mc_store_path(dir, "mail", n, "meta.json", path, sizeof(path), NULL);
	assert_int_equal(mc_fsio_write(path, "{\"names\": 3", 11, 0644,
				       MC_FSIO_KEEP_OWNER, false, NULL), 0);
	assert_int_equal(mc_store_load_meta(dir, "mail", n, &meta, &err), -1);
	assert_int_equal(err.cat, MC_ERR_INPUT);
	assert_non_null(strstr(err.msg, "meta.json"));
	EVP_PKEY_free(key);
}

/* ---- the renew index -------------------------------------------------- */

/* write_index - text as state_dir/renew-index. */
static void
write_index(const char *dir, const char *text)
{
	char path[600];

	snprintf(path, sizeof(path), "%s/renew-index", dir);
	assert_int_equal(mc_fsio_write(path, text, strlen(text), 0600,
				       MC_FSIO_KEEP_OWNER, false, NULL), 0);
}

/* index_exists - whether state_dir/renew-index exists. */
static bool
index_exists(const char *dir)
{
	char path[600];

	snprintf(path, sizeof(path), "%s/renew-index", dir);
	return access(path, F_OK) == 0;
}

#define IX_HEAD "mailcert-renew-index 1\n"

static const struct {
	const char *label;
	const char *text;
	bool loads;
	const char *name;
	int get; /* mc_store_index_get for name */
} index_cases[] = {
	{ "entry with ARI", IX_HEAD "a 3 ecdsa-p384 100 200 150 120 deployed "
	  "aYhba4dZ.AQ x.example.test y.example.test\n"
	  "b 1 rsa-2048 1 2 0 0 - - b.example.test\n", true, "a", 1 },
	{ "second entry", IX_HEAD "a 3 ecdsa-p384 100 200 150 120 deployed - a.test\n"
	  "b 1 rsa-2048 1 2 0 0 - - b.example.test\n", true, "b", 1 },
	{ "no entry", IX_HEAD "a 3 ecdsa-p384 1 2 0 0 - - a.test\n", true, "c", 0 },
	{ "empty index", IX_HEAD, true, "a", 0 },
	{ "no names", IX_HEAD "a 3 ecdsa-p256 1 2 0 0 - -\n", true, "a", -1 },
	{ "bad key type", IX_HEAD "a 3 dsa-1024 1 2 0 0 - - a.test\n", true, "a", -1 },
	{ "version 0", IX_HEAD "a 0 ecdsa-p256 1 2 0 0 - - a.test\n", true, "a", -1 },
	{ "negative time", IX_HEAD "a 1 ecdsa-p256 -1 2 0 0 - - a.test\n", true, "a", -1 },
	{ "number with junk", IX_HEAD "a 1 ecdsa-p256 1 2x 0 0 - - a.test\n", true, "a", -1 },
	{ "cut short", IX_HEAD "a 1 ecdsa-p256 1 2\n", true, "a", -1 },
	{ "other header", "mailcert-renew-index 2\na 1 ecdsa-p256 1 2 0 0 - - a.test\n",
	  false, "a", 0 },
	{ "no header", "a 1 ecdsa-p256 1 2 0 0 - - a.test\n", false, "a", 0 },
	{ "unsorted", IX_HEAD "b 1 ecdsa-p256 1 2 0 0 - - b.test\n"
	  "a 1 ecdsa-p256 1 2 0 0 - - a.test\n", false, "a", 0 },
	{ "twice", IX_HEAD "a 1 ecdsa-p256 1 2 0 0 - - a.test\n"
	  "a 2 ecdsa-p256 1 2 0 0 - - a.test\n", false, "a", 0 },
	{ "last line cut", IX_HEAD "a 1 ecdsa-p256 1 2 0 0 - - a.test", false, "a", 0 },
	{ "empty file", "", false, "a", 0 },
};

/* test_index_read - the index format: good entries, refused files, bad
 * entries (the caller then reads meta.json). */
static void
test_index_read(void **state)
{
	const char *dir = *state;
	struct mc_store_index *ix;
	struct mc_cert_meta m;
	const char *line;
	size_t i;

	for (i = 0; i < sizeof(index_cases) / sizeof(index_cases[0]); i++) {
		print_message("index: %s\n", index_cases[i].label);
		write_index(dir, index_cases[i].text);
		ix = mc_store_index_load(dir);
		assert_int_equal(ix != NULL, index_cases[i].loads);
		memset(&m, 0, sizeof(m));
		assert_int_equal(mc_store_index_get(ix, index_cases[i].name, &m,
						    &line),
				 index_cases[i].get);
		mc_store_meta_clear(&m);
		mc_store_index_free(ix);
	}
	write_index(dir, index_cases[0].text);
	ix = mc_store_index_load(dir);
	assert_int_equal(mc_store_index_get(ix, "a", &m, &line), 1);
	assert_int_equal(m.version, 3);
	assert_int_equal(m.key_type, MC_KEY_EC_P384);
	assert_int_equal(m.not_before, 100);
	assert_int_equal(m.not_after, 200);
	assert_int_equal(m.ari_renew_at, 150);
	assert_int_equal(m.ari_next_poll, 120);
	assert_string_equal(m.status, "deployed");
	assert_string_equal(m.ari_cert_id, "aYhba4dZ.AQ");
	assert_int_equal(m.n_names, 2);
	assert_string_equal(m.names[1], "y.example.test");
	assert_int_equal(strncmp(line, "a 3 ", 4), 0);
	mc_store_meta_clear(&m);
	mc_store_index_free(ix);
}

/* test_index_cycle - written from meta, read back equal; every change of
 * meta.json or current through the store removes it first. */
static void
test_index_cycle(void **state)
{
	const char *dir = *state;
	EVP_PKEY *key = mc_key_generate(MC_KEY_EC_P256, NULL);
	struct mc_cert_meta meta, back;
	struct mc_store_index *ix;
	char *lines[2];
	unsigned n = add_version(dir, key, 7, "issued");

	assert_int_equal(mc_store_load_meta(dir, "mail", n, &meta, NULL), 0);
	lines[0] = mc_store_index_line("mail", &meta);
	lines[1] = mc_store_index_line("aaa", &meta);
	assert_non_null(lines[0]);
	assert_int_equal(mc_store_index_save(dir, lines, 2, NULL), 0);
	ix = mc_store_index_load(dir);
	assert_non_null(ix);
	assert_int_equal(mc_store_index_get(ix, "mail", &back, NULL), 1);
	assert_int_equal(back.version, n);
	assert_int_equal(back.not_after, meta.not_after);
	assert_int_equal(back.not_before, meta.not_before);
	assert_string_equal(back.ari_cert_id, meta.ari_cert_id);
	assert_string_equal(back.names[0], "a.example.test");
	assert_string_equal(back.status, "issued");
	mc_store_meta_clear(&back);
	mc_store_index_free(ix);
	/* a name with a blank cannot be an entry; two entries for one name
	 * are refused */
	assert_null(mc_store_index_line("a b", &meta));
	free(lines[0]); /* save sorted them: "aaa" came first */
	free(lines[1]);
	lines[0] = mc_store_index_line("mail", &meta);
	lines[1] = mc_store_index_line("mail", &meta);
	assert_int_equal(mc_store_index_save(dir, lines, 2, NULL), -1);
	assert_int_equal(mc_store_index_save(dir, lines, 1, NULL), 0);
	snprintf(meta.status, sizeof(meta.status), "revoked");
	assert_int_equal(mc_store_save_meta(dir, "mail", &meta, NULL), 0);
	assert_false(index_exists(dir));
	assert_int_equal(mc_store_index_save(dir, lines, 1, NULL), 0);
	assert_int_equal(mc_store_set_current(dir, "mail", n, NULL), 0);
	assert_false(index_exists(dir));
	assert_int_equal(mc_store_index_drop(dir, NULL), 0); /* none: fine */
	free(lines[0]);
	free(lines[1]);
	mc_store_meta_clear(&meta);
	EVP_PKEY_free(key);
}

/* test_account_store - key and URL round trip; host from the URL. */
static void
test_account_store(void **state)
{
	const char *dir = *state;
	const char *url = "https://127.0.0.1:14000/dir";
	EVP_PKEY *key = mc_key_generate(MC_KEY_EC_P256, NULL), *back = NULL;
	char *kid = NULL, *adir, path[600];
	struct stat st;

	assert_int_equal(mc_store_account_load(dir, url, &back, &kid, NULL), 0);
	assert_int_equal(mc_store_account_save_key(dir, url, key, NULL), 0);
	adir = mc_store_account_dir(dir, url, NULL);
	assert_non_null(strstr(adir, "/accounts/127.0.0.1_14000"));
	snprintf(path, sizeof(path), "%s/account.key", adir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(mc_store_account_save(dir, url, "https://ca/acct/1",
					       "valid", NULL, 0, NULL), 0);
	assert_int_equal(mc_store_account_load(dir, url, &back, &kid, NULL), 1);
	assert_string_equal(kid, "https://ca/acct/1");
	assert_int_equal(EVP_PKEY_eq(back, key), 1);
	free(adir);
	free(kid);
	EVP_PKEY_free(back);
	EVP_PKEY_free(key);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_fsio_write, tmpdir_setup,
						tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_fsio_read_limit,
						tmpdir_setup, tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_lock, tmpdir_setup,
						tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_store_versions,
						tmpdir_setup, tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_store_damaged_meta,
						tmpdir_setup, tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_index_read, tmpdir_setup,
						tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_index_cycle, tmpdir_setup,
						tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_account_store,
						tmpdir_setup, tmpdir_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
