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
#include <fcntl.h>

#include "mailcert/crypto.h"
#include "mailcert/fsio.h"
#include "mailcert/deploy.h"
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

/* fsio_write_case - write_cases[i] under prefix, through mc_fsio_write or
 * (transient) mc_fsio_write_transient (owner kept, symlinks refused). */
static void
fsio_write_case(const char *dir, size_t i, bool transient)
{
	const char *pre = transient ? "t-" : "";
	char path[512], other[512], *back;
	struct mc_err err;
	struct stat st;
	size_t len;

	print_message("case: %s%s\n", write_cases[i].label,
		      transient ? " (transient)" : "");
	snprintf(path, sizeof(path), "%s/%s%s", dir, pre, write_cases[i].name);
	snprintf(other, sizeof(other), "%s/%starget-%zu", dir, pre, i);
	if (write_cases[i].pre == 1)
		assert_int_equal(mc_fsio_write(path, "old", 3, 0600,
					       MC_FSIO_KEEP_OWNER, false, NULL),
				 0);
	if (write_cases[i].pre == 2) {
		assert_int_equal(mc_fsio_write(other, "old", 3, 0600,
					       MC_FSIO_KEEP_OWNER, false, NULL),
				 0);
		assert_int_equal(symlink(other, path), 0);
	}
	if (write_cases[i].pre == 3)
		assert_int_equal(mkdir(path, 0700), 0);
	mc_err_clear(&err);
	assert_int_equal(
	    transient ? mc_fsio_write_transient(path, "new\n", 4,
						write_cases[i].mode, &err)
		      : mc_fsio_write(path, "new\n", 4, write_cases[i].mode,
				      MC_FSIO_KEEP_OWNER,
				      write_cases[i].allow_symlink, &err),
	    write_cases[i].rc);
	if (write_cases[i].rc == -1) {
		assert_non_null(strstr(err.msg, write_cases[i].fragment));
		return;
	}
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode)); /* a link is replaced */
	assert_int_equal(st.st_mode & 07777, write_cases[i].mode);
	assert_int_equal(mc_fsio_read(path, 100, &back, &len, NULL), 0);
	assert_string_equal(back, "new\n");
	free(back);
}

/* dir_has_temp - whether dir holds one of our temp files. */
static bool
dir_has_temp(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	bool found = false;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		found |= mc_fsio_is_temp(e->d_name, NULL);
	closedir(d);
	return found;
}

/* test_fsio_write - modes, replacement, refusals; no temp file left; the
 * transient writer (http-01 tokens) alike, except that it never replaces
 * a symlink. */
static void
test_fsio_write(void **state)
{
	const char *dir = *state;
	size_t i;

	for (i = 0; i < sizeof(write_cases) / sizeof(write_cases[0]); i++) {
		fsio_write_case(dir, i, false);
		if (!write_cases[i].allow_symlink)
			fsio_write_case(dir, i, true);
	}
	assert_false(dir_has_temp(dir));
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

/* store_version - store one version of cert "mail"; current with make_current. */
static unsigned
store_version(const char *dir, EVP_PKEY *key, long serial, const char *status,
	      bool make_current)
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
	struct mc_pairs pairs = {{{MC_KEY_EC_P256, key, chain}}, 1};

	assert_int_equal(mc_store_add_version(dir, "mail", &pairs, &meta, &n,
					      NULL), 0);
	if (make_current)
		assert_int_equal(mc_store_set_current(dir, "mail", n, NULL), 0);
	free(meta.ari_cert_id);
	sk_X509_pop_free(chain, X509_free);
	return n;
}

/* add_version - store one version of cert "mail" and make it current. */
static unsigned
add_version(const char *dir, EVP_PKEY *key, long serial, const char *status)
{
	return store_version(dir, key, serial, status, true);
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
	assert_int_equal(mc_store_prior(dir, "mail", 0, &prev, NULL), 0);
	assert_int_equal(add_version(dir, key, 10, "deployed"), 1);
	assert_int_equal(store_version(dir, key, 11, "failed", false), 2);
	assert_int_equal(add_version(dir, key, 12, "issued"), 3);
	assert_int_equal(mc_store_current(dir, "mail", &cur, NULL), 1);
	assert_int_equal(cur, 3);
	/* 2 was stored but never current: rollback must not pick it */
	assert_int_equal(mc_store_prior(dir, "mail", 3, &prev, NULL), 1);
	assert_int_equal(prev, 1);
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

/* test_store_prior - each switch records what it replaced; rollbacks walk
 * back along that and keep it; a state from before priors were recorded
 * falls back to the newest version verified live. */
static void
test_store_prior(void **state)
{
	const char *dir = *state;
	EVP_PKEY *key = mc_key_generate(MC_KEY_EC_P256, NULL);
	struct mc_cert_meta meta;
	unsigned prev = 0;

	add_version(dir, key, 1, "deployed");              /* 1 current */
	store_version(dir, key, 2, "issued", false);       /* 2 never live */
	add_version(dir, key, 3, "deployed");              /* 3 current */
	add_version(dir, key, 4, "deployed");              /* 4 current */
	assert_int_equal(mc_store_prior(dir, "mail", 4, &prev, NULL), 1);
	assert_int_equal(prev, 3);
	/* rollback 4 -> 3, then further back 3 -> 1 (2 was never live) */
	assert_int_equal(mc_store_set_current_back(dir, "mail", 3, NULL), 0);
	assert_int_equal(mc_store_prior(dir, "mail", 3, &prev, NULL), 1);
	assert_int_equal(prev, 1);
	assert_int_equal(mc_store_set_current_back(dir, "mail", 1, NULL), 0);
	assert_int_equal(mc_store_prior(dir, "mail", 1, &prev, NULL), 0);
	/* a deployment of 4 again records 1 as what it replaced */
	assert_int_equal(mc_store_set_current(dir, "mail", 4, NULL), 0);
	assert_int_equal(mc_store_prior(dir, "mail", 4, &prev, NULL), 1);
	assert_int_equal(prev, 1);
	/* the same version again changes nothing */
	assert_int_equal(mc_store_set_current(dir, "mail", 4, NULL), 0);
	assert_int_equal(mc_store_prior(dir, "mail", 4, &prev, NULL), 1);
	assert_int_equal(prev, 1);
	/* an old state without priors: the newest deployed version below */
	assert_int_equal(mc_store_load_meta(dir, "mail", 4, &meta, NULL), 0);
	meta.prior = 0;
	assert_int_equal(mc_store_save_meta(dir, "mail", &meta, NULL), 0);
	mc_store_meta_clear(&meta);
	assert_int_equal(mc_store_prior(dir, "mail", 4, &prev, NULL), 1);
	assert_int_equal(prev, 3);
	EVP_PKEY_free(key);
}

/* meta_ino - the inode of version n's meta.json (a rewrite renames a new
 * file over it). */
static ino_t
meta_ino(const char *dir, unsigned n)
{
	char path[600];
	struct stat st;

	mc_store_path(dir, "mail", n, "meta.json", path, sizeof(path), NULL);
	assert_int_equal(stat(path, &st), 0);
	return st.st_ino;
}

/* test_store_prior_once - a new version records the version current when
 * it is made; making it current then leaves meta.json alone, unless
 * another version has become current meanwhile. */
static void
test_store_prior_once(void **state)
{
	const char *dir = *state;
	EVP_PKEY *key = mc_key_generate(MC_KEY_EC_P256, NULL);
	unsigned prev = 0;
	ino_t ino;

	assert_int_equal(add_version(dir, key, 1, "deployed"), 1);
	assert_int_equal(store_version(dir, key, 2, "issued", false), 2);
	ino = meta_ino(dir, 2);
	assert_int_equal(mc_store_set_current(dir, "mail", 2, NULL), 0);
	assert_true(meta_ino(dir, 2) == ino); /* not written again */
	assert_int_equal(mc_store_prior(dir, "mail", 2, &prev, NULL), 1);
	assert_int_equal(prev, 1);
	/* 3 is made while 2 is current; 1 is current again when 3 goes live */
	assert_int_equal(store_version(dir, key, 3, "issued", false), 3);
	assert_int_equal(mc_store_set_current_back(dir, "mail", 1, NULL), 0);
	ino = meta_ino(dir, 3);
	assert_int_equal(mc_store_set_current(dir, "mail", 3, NULL), 0);
	assert_true(meta_ino(dir, 3) != ino);
	assert_int_equal(mc_store_prior(dir, "mail", 3, &prev, NULL), 1);
	assert_int_equal(prev, 1);
	EVP_PKEY_free(key);
}

/* test_store_current_copied - `current` as a directory (cp -r) is an error
 * that names the path and the fix. */
static void
test_store_current_copied(void **state)
{
	const char *dir = *state;
	EVP_PKEY *key = mc_key_generate(MC_KEY_EC_P256, NULL);
	char link[600], src[700], dst[700], *text = NULL;
	struct mc_err err;
	unsigned cur = 0;
	size_t len = 0;

	add_version(dir, key, 1, "deployed");
	add_version(dir, key, 2, "deployed");
	/* what `cp -r` of the state makes of the link: a copy of version 1 */
	snprintf(link, sizeof(link), "%s/certs/mail/current", dir);
	assert_int_equal(unlink(link), 0);
	assert_int_equal(mkdir(link, 0700), 0);
	mc_store_path(dir, "mail", 1, "meta.json", src, sizeof(src), NULL);
	snprintf(dst, sizeof(dst), "%s/meta.json", link);
	assert_int_equal(mc_fsio_read(src, 1 << 20, &text, &len, NULL), 0);
	assert_int_equal(mc_fsio_write(dst, text, len, 0644, MC_FSIO_KEEP_OWNER,
				       false, NULL), 0);
	free(text);
	assert_int_equal(mc_store_current(dir, "mail", &cur, &err), -1);
	assert_int_equal(err.cat, MC_ERR_INPUT);
	assert_non_null(strstr(err.msg, link));
	assert_non_null(strstr(err.msg, "not a symbolic link"));
	assert_non_null(strstr(err.msg, "ln -s versions/0001"));
	assert_int_equal(mc_store_set_current(dir, "mail", 2, &err), -1);
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

/* index_path - state_dir/renew-index into buf. */
static void
index_path(const char *dir, char *buf, size_t size)
{
	snprintf(buf, size, "%s/renew-index", dir);
}

/* age_meta - set the current meta.json of "mail", certs/mail and its
 * versions/ 10 s into the past (an index leaves out a cert changed in the
 * last 2 s); the stamp of meta.json. */
static void
age_meta(const char *dir, unsigned n, char *stamp, size_t size)
{
	struct timespec ts[2];
	char path[600], dirs[600];
	struct stat st;

	mc_store_path(dir, "mail", n, "meta.json", path, sizeof(path), NULL);
	clock_gettime(CLOCK_REALTIME, &ts[0]);
	ts[0].tv_sec -= 10;
	ts[1] = ts[0];
	assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
	snprintf(dirs, sizeof(dirs), "%s/certs/mail/versions", dir);
	assert_int_equal(utimensat(AT_FDCWD, dirs, ts, 0), 0);
	*strrchr(dirs, '/') = '\0';
	assert_int_equal(utimensat(AT_FDCWD, dirs, ts, 0), 0);
	assert_int_equal(stat(path, &st), 0);
	snprintf(stamp, size, "%llu %lld %lld", (unsigned long long)st.st_ino,
		 (long long)st.st_size,
		 (long long)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec);
}

#define IX_HEAD "mailcert-renew-index 3\n"
/* "%S": the stamp of mail's meta.json; entries say not_after 12345 */
#define IX_MAIL "mail %S 0 0 0 1 ecdsa-p256 100 12345 0 0 issued - - - a.example.test\n"
#define IX_AAA "aaa 1 2 3 0 0 0 1 rsa-2048 1 2 0 0 - - - - x.test\n"

static const struct {
	const char *label;
	const char *text;
	bool from_index;
	const char *reason;    /* revocation_reason from the index */
	const char *directory; /* NULL: none */
} index_cases[] = {
	{ "matching entry", IX_HEAD IX_AAA IX_MAIL, true, "", NULL },
	{ "only entry", IX_HEAD IX_MAIL, true, "", NULL },
	{ "revoked, with reason and directory",
	  IX_HEAD "mail %S 0 0 0 1 ecdsa-p256 100 12345 0 0 revoked - keyCompromise "
		  "https://ca.test/dir a.example.test\n",
	  true, "keyCompromise", "https://ca.test/dir" },
	{ "other inode", IX_HEAD "mail 1 %s 0 0 0 1 ecdsa-p256 100 12345 0 0 - - - - a.example.test\n",
	  false, "", NULL },
	{ "no entry", IX_HEAD IX_AAA, false, "", NULL },
	{ "no names", IX_HEAD "mail %S 0 0 0 1 ecdsa-p256 100 12345 0 0 - - - -\n", false, "", NULL },
	{ "bad key type", IX_HEAD "mail %S 0 0 0 1 dsa-1024 100 12345 0 0 - - - - a.test\n", false,
	  "", NULL },
	{ "version 0", IX_HEAD "mail %S 0 0 0 0 ecdsa-p256 100 12345 0 0 - - - - a.test\n", false,
	  "", NULL },
	{ "negative time", IX_HEAD "mail %S 0 0 0 1 ecdsa-p256 -1 12345 0 0 - - - - a.test\n", false,
	  "", NULL },
	{ "number with junk", IX_HEAD "mail %S 0 0 0 1 ecdsa-p256 1 12345x 0 0 - - - - a.test\n",
	  false, "", NULL },
	{ "reason too long",
	  IX_HEAD "mail %S 0 0 0 1 ecdsa-p256 100 12345 0 0 revoked - "
		  "aReasonNameLongerThanAnyThatRfc5280Has - a.test\n",
	  false, "", NULL },
	{ "a line of version 1 (no reason, no directory)",
	  IX_HEAD "mail %S 0 0 0 1 ecdsa-p256 100 12345 0 0 issued - a.example.test\n", false, "",
	  NULL },
	{ "other header", "mailcert-renew-index 1\n" IX_MAIL, false, "", NULL },
	{ "no header", IX_MAIL, false, "", NULL },
	{ "unsorted", IX_HEAD IX_MAIL IX_AAA, false, "", NULL },
	{ "twice", IX_HEAD IX_MAIL IX_MAIL, false, "", NULL },
	{ "last line cut", IX_HEAD "mail %S 0 0 0 1 ecdsa-p256 100 12345 0 0 - - - - a.test", false,
	  "", NULL },
	{ "empty file", "", false, "", NULL },
};

/* index_fill - case text with %S replaced by stamp and %s by the stamp's
 * size and mtime (an inode that is not meta.json's). */
static void
index_fill(const char *text, const char *stamp, char *out, size_t size)
{
	const char *rest = strchr(stamp, ' ') + 1;
	size_t o = 0;

	for (; *text != '\0' && o + 1 < size; text++) {
		if (text[0] == '%' && (text[1] == 'S' || text[1] == 's')) {
			o += (size_t)snprintf(out + o, size - o, "%s",
					      text[1] == 'S' ? stamp : rest);
			text++;
		} else {
			out[o++] = *text;
		}
	}
	out[o] = '\0';
}

/* test_index_read - entries are used only while they match meta.json;
 * any refused file or entry means reading meta.json. */
static void
test_index_read(void **state)
{
	const char *dir = *state;
	EVP_PKEY *key = mc_key_generate(MC_KEY_EC_P256, NULL);
	unsigned n = add_version(dir, key, 9, "issued");
	char stamp[128], text[1024], path[600];
	struct mc_store_index *ix;
	struct mc_cert_meta m;
	size_t i;

	age_meta(dir, n, stamp, sizeof(stamp));
	index_path(dir, path, sizeof(path));
	for (i = 0; i < sizeof(index_cases) / sizeof(index_cases[0]); i++) {
		print_message("index: %s\n", index_cases[i].label);
		index_fill(index_cases[i].text, stamp, text, sizeof(text));
		assert_int_equal(mc_fsio_write(path, text, strlen(text), 0600,
					       MC_FSIO_KEEP_OWNER, false, NULL), 0);
		ix = mc_store_index_open(dir, NULL);
		assert_non_null(ix);
		assert_int_equal(mc_store_index_current(ix, "mail", &m, NULL), 1);
		assert_int_equal(m.not_after == 12345, index_cases[i].from_index);
		assert_int_equal(m.version, n);
		assert_string_equal(m.names[0], "a.example.test");
		if (index_cases[i].from_index) {
			assert_string_equal(m.revocation_reason,
					    index_cases[i].reason);
			if (index_cases[i].directory == NULL)
				assert_null(m.directory);
			else
				assert_string_equal(m.directory,
						    index_cases[i].directory);
		}
		mc_store_meta_clear(&m);
		assert_int_equal(mc_store_index_current(ix, "none", &m, NULL), 0);
		mc_store_index_close(ix);
	}
	EVP_PKEY_free(key);
}

/* file_text - the whole of path (static buffer; "" if missing). */
static const char *
file_text(const char *path)
{
	static char buf[4096];
	FILE *f = fopen(path, "r");
	size_t n = 0;

	if (f != NULL) {
		n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
	}
	buf[n] = '\0';
	return buf;
}

/* test_index_cycle - built from meta.json, used while it matches, not
 * written when nothing changed or not every cert was asked for; a
 * rewritten meta.json is read again. */
static void
test_index_cycle(void **state)
{
	const char *dir = *state;
	EVP_PKEY *key = mc_key_generate(MC_KEY_EC_P256, NULL);
	unsigned n = add_version(dir, key, 7, "issued");
	struct mc_store_index *ix;
	struct mc_cert_meta m;
	char stamp[128], path[600], tmp[600], before[4096];

	index_path(dir, path, sizeof(path));
	/* a meta.json of this very second is not indexed yet */
	ix = mc_store_index_open(dir, NULL);
	assert_int_equal(mc_store_index_current(ix, "mail", &m, NULL), 1);
	mc_store_meta_clear(&m);
	assert_int_equal(mc_store_index_save(ix, true, NULL), 0);
	mc_store_index_close(ix);
	assert_string_equal(file_text(path), "mailcert-renew-index 3\n");
	/* an older one is; a partial run writes nothing */
	age_meta(dir, n, stamp, sizeof(stamp));
	ix = mc_store_index_open(dir, NULL);
	assert_int_equal(mc_store_index_current(ix, "mail", &m, NULL), 1);
	mc_store_meta_clear(&m);
	assert_int_equal(mc_store_index_save(ix, false, NULL), 0);
	assert_string_equal(file_text(path), "mailcert-renew-index 3\n");
	assert_int_equal(mc_store_index_save(ix, true, NULL), 0);
	mc_store_index_close(ix);
	assert_non_null(strstr(file_text(path), stamp));
	assert_non_null(strstr(file_text(path), " issued "));
	assert_non_null(strstr(file_text(path), " a.example.test\n"));
	/* nothing changed: used, not rewritten */
	snprintf(before, sizeof(before), "%s", file_text(path));
	ix = mc_store_index_open(dir, NULL);
	assert_int_equal(mc_store_index_current(ix, "mail", &m, NULL), 1);
	assert_string_equal(m.status, "issued");
	mc_store_meta_clear(&m);
	/* meta.json rewritten (as by `revoke`): read again */
	assert_int_equal(mc_store_load_meta(dir, "mail", n, &m, NULL), 0);
	snprintf(m.status, sizeof(m.status), "revoked");
	snprintf(m.revocation_reason, sizeof(m.revocation_reason),
		 "keyCompromise");
	free(m.directory);
	m.directory = strdup("https://ca.test/dir");
	assert_int_equal(mc_store_save_meta(dir, "mail", &m, NULL), 0);
	mc_store_meta_clear(&m);
	assert_int_equal(mc_store_index_current(ix, "mail", &m, NULL), 1);
	assert_string_equal(m.status, "revoked");
	assert_string_equal(m.revocation_reason, "keyCompromise");
	mc_store_meta_clear(&m);
	mc_store_index_close(ix);
	ix = mc_store_index_open(dir, NULL);
	assert_int_equal(mc_store_index_current(ix, "mail", &m, NULL), 1);
	assert_string_equal(m.status, "revoked");
	mc_store_meta_clear(&m);
	mc_store_index_close(ix);
	/* indexed again once old enough: the reason and the directory too
	 * (renew decides "revoked" and "directory changed" from them) */
	age_meta(dir, n, stamp, sizeof(stamp));
	ix = mc_store_index_open(dir, NULL);
	assert_int_equal(mc_store_index_current(ix, "mail", &m, NULL), 1);
	mc_store_meta_clear(&m);
	assert_int_equal(mc_store_index_save(ix, true, NULL), 0);
	mc_store_index_close(ix);
	assert_non_null(strstr(file_text(path), " revoked "));
	assert_non_null(strstr(file_text(path),
			       " keyCompromise https://ca.test/dir "
			       "a.example.test\n"));
	ix = mc_store_index_open(dir, NULL);
	assert_int_equal(mc_store_index_current(ix, "mail", &m, NULL), 1);
	assert_string_equal(m.revocation_reason, "keyCompromise");
	assert_string_equal(m.directory, "https://ca.test/dir");
	mc_store_meta_clear(&m);
	mc_store_index_close(ix);
	/* a new current version: its own entry; the temporary file of an
	 * index write that was killed is removed by the next write */
	n = add_version(dir, key, 8, "deployed");
	snprintf(tmp, sizeof(tmp), "%s/.renew-index.0123456789ab", dir);
	assert_int_equal(mc_fsio_write(tmp, "half", 4, 0600,
				       MC_FSIO_KEEP_OWNER, false, NULL), 0);
	ix = mc_store_index_open(dir, NULL);
	assert_int_equal(mc_store_index_current(ix, "mail", &m, NULL), 1);
	assert_int_equal(m.version, n);
	assert_string_equal(m.status, "deployed");
	mc_store_meta_clear(&m);
	assert_int_equal(mc_store_index_save(ix, true, NULL), 0);
	mc_store_index_close(ix);
	assert_string_not_equal(file_text(path), before);
	assert_int_equal(access(tmp, F_OK), -1);
	EVP_PKEY_free(key);
}

/* test_store_dual - a dual version: the first key type's files as a
 * single version has them, the second's with -ALG; meta.json records
 * both; pairs load back in order; the earlier expiry counts. A second
 * pair of the same algorithm is refused on read. */
static void
test_store_dual(void **state)
{
	static const char *const files[][2] = {
		{"privkey.pem", "600"}, {"cert.pem", "644"}, {"chain.pem", "644"},
		{"fullchain.pem", "644"}, {"privkey-rsa.pem", "600"},
		{"cert-rsa.pem", "644"}, {"chain-rsa.pem", "644"},
		{"fullchain-rsa.pem", "644"}, {"meta.json", "644"},
	};
	static char *names[] = {"a.example.test"};
	const char *dir = *state;
	struct mc_cert_meta meta, second, back;
	struct mc_pairs pairs, got;
	enum mc_key_type types[MC_KEY_TYPES_MAX];
	struct mc_err err;
	char path[600], mode[8], stamp[128], *text = NULL, *bad;
	struct mc_store_index *ix;
	struct stat st;
	unsigned n = 0;
	size_t i, nt = 0, len = 0;

	memset(&pairs, 0, sizeof(pairs));
	pairs.n = 2;
	pairs.p[0].type = MC_KEY_EC_P256;
	pairs.p[0].key = mc_key_generate(MC_KEY_EC_P256, NULL);
	pairs.p[0].chain = make_chain(pairs.p[0].key, 30);
	pairs.p[1].type = MC_KEY_RSA2048;
	pairs.p[1].key = mc_key_generate(MC_KEY_RSA2048, NULL);
	pairs.p[1].chain = make_chain(pairs.p[1].key, 31);
	memset(&meta, 0, sizeof(meta));
	memset(&second, 0, sizeof(second));
	meta.names = names;
	meta.n_names = 1;
	meta.key_type = MC_KEY_EC_P256;
	second.key_type = MC_KEY_RSA2048;
	meta.second = &second;
	snprintf(meta.status, sizeof(meta.status), "issued");
	assert_int_equal(mc_store_meta_fill(&meta, pairs.p[0].chain, NULL), 0);
	assert_int_equal(mc_store_meta_fill(&second, pairs.p[1].chain, NULL), 0);
	second.not_after -= 3600; /* the RSA one expires first */
	assert_int_equal(mc_store_add_version(dir, "mail", &pairs, &meta, &n,
					      NULL), 0);
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		print_message("file: %s\n", files[i][0]);
		mc_store_path(dir, "mail", n, files[i][0], path, sizeof(path), NULL);
		assert_int_equal(stat(path, &st), 0);
		snprintf(mode, sizeof(mode), "%o", st.st_mode & 0777);
		assert_string_equal(mode, files[i][1]);
	}
	assert_int_equal(mc_store_load_meta(dir, "mail", n, &back, NULL), 0);
	assert_non_null(back.second);
	assert_int_equal(mc_store_meta_pairs(&back), 2);
	assert_int_equal(back.second->key_type, MC_KEY_RSA2048);
	assert_string_equal(back.second->serial, "1f");
	assert_string_equal(back.serial, "1e");
	assert_string_equal(mc_store_meta_earliest(&back)->serial, "1f");
	mc_store_meta_clear(&back);
	assert_int_equal(mc_store_key_types(dir, "mail", n, types, &nt, NULL), 0);
	assert_int_equal(nt, 2);
	assert_int_equal(types[1], MC_KEY_RSA2048);
	assert_int_equal(mc_store_load_pairs(dir, "mail", n, &got, NULL), 0);
	assert_int_equal(got.n, 2);
	assert_int_equal(EVP_PKEY_eq(got.p[1].key, pairs.p[1].key), 1);
	assert_int_equal(X509_cmp(sk_X509_value(got.p[1].chain, 0),
				  sk_X509_value(pairs.p[1].chain, 0)), 0);
	mc_pairs_clear(&got);
	/* a "second" of the first one's algorithm: damaged */
	mc_store_path(dir, "mail", n, "meta.json", path, sizeof(path), NULL);
	assert_int_equal(mc_fsio_read(path, 1 << 16, &text, &len, NULL), 0);
	bad = strstr(text, "\"rsa-2048\"");
	assert_non_null(bad);
	*bad = '\0';
	len = strlen(text) + strlen(bad + 10) + 16;
	bad = malloc(len);
	snprintf(bad, len, "%s\"ecdsa-p384\"%s", text, text + strlen(text) + 10);
	assert_int_equal(mc_store_meta_parse(bad, strlen(bad), "x", &back, &err),
			 -1);
	assert_int_equal(err.cat, MC_ERR_INPUT);
	free(bad);
	free(text);
	/* no renew index entry for a dual version: renew reads meta.json,
	 * which holds both certificates */
	assert_int_equal(mc_store_set_current(dir, "mail", n, NULL), 0);
	age_meta(dir, n, stamp, sizeof(stamp));
	ix = mc_store_index_open(dir, NULL);
	assert_non_null(ix);
	assert_int_equal(mc_store_index_current(ix, "mail", &back, NULL), 1);
	assert_non_null(back.second);
	assert_int_equal(back.second->key_type, MC_KEY_RSA2048);
	mc_store_meta_clear(&back);
	assert_int_equal(mc_store_index_save(ix, true, NULL), 0);
	mc_store_index_close(ix);
	index_path(dir, path, sizeof(path));
	assert_string_equal(file_text(path), "mailcert-renew-index 3\n");
	free(meta.ari_cert_id);
	free(second.ari_cert_id);
	mc_pairs_clear(&pairs);
}

/* test_store_pending - pending.json round trip, absence, damage, clear. */
static void
test_store_pending(void **state)
{
	const char *dir = *state;
	struct mc_store_pending_target t[2] = {
		{"postfix", "down", "Postfix is not running\nstart it"},
		{"dovecot", "unconfigured", "add to /etc/dovecot/dovecot.conf:\n"
					    "    ssl_cert = </x"},
	};
	struct mc_store_pending p = {7, 1700000000, t, 2}, back;
	struct mc_err err;
	char path[600];

	assert_int_equal(mc_store_pending_read(dir, "mail", &back, NULL), 0);
	snprintf(path, sizeof(path), "%s/certs", dir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/certs/mail", dir);
	mkdir(path, 0700);
	assert_int_equal(mc_store_pending_write(dir, "mail", &p, NULL), 0);
	assert_int_equal(mc_store_pending_read(dir, "mail", &back, NULL), 1);
	assert_int_equal(back.version, 7);
	assert_int_equal(back.since, 1700000000);
	assert_int_equal(back.n, 2);
	assert_string_equal(back.targets[1].target, "dovecot");
	assert_string_equal(back.targets[1].reason, "unconfigured");
	assert_string_equal(back.targets[1].detail, t[1].detail);
	mc_store_pending_free(&back);
	snprintf(path, sizeof(path), "%s/certs/mail/pending.json", dir);
	assert_int_equal(mc_fsio_write(path, "{\"version\": 0}", 14, 0600,
				       MC_FSIO_KEEP_OWNER, false, NULL), 0);
	assert_int_equal(mc_store_pending_read(dir, "mail", &back, &err), -1);
	assert_int_equal(err.cat, MC_ERR_INPUT);
	assert_non_null(strstr(err.msg, "pending.json is damaged"));
	assert_int_equal(mc_store_pending_clear(dir, "mail", NULL), 0);
	assert_int_equal(mc_store_pending_clear(dir, "mail", NULL), 0);
	assert_int_equal(mc_store_pending_read(dir, "mail", &back, NULL), 0);
}

/* set_status - rewrite the status (and revocation) of version n. */
static void
set_status(const char *dir, unsigned n, const char *status, const char *reason)
{
	struct mc_cert_meta meta;

	assert_int_equal(mc_store_load_meta(dir, "mail", n, &meta, NULL), 0);
	snprintf(meta.status, sizeof(meta.status), "%s", status);
	snprintf(meta.revocation_reason, sizeof(meta.revocation_reason), "%s",
		 reason);
	assert_int_equal(mc_store_save_meta(dir, "mail", &meta, NULL), 0);
	mc_store_meta_clear(&meta);
}

/* test_unfinished - which stored version renew deploys instead of an
 * order, and deploy when there is no current version. */
static void
test_unfinished(void **state)
{
	static char *names[] = {"a.example.test"}, *other[] = {"b.example.test"};
	const char *dir = *state;
	EVP_PKEY *key = mc_key_generate(MC_KEY_EC_P256, NULL);
	struct mc_config cfg = {.state_dir = (char *)dir};
	struct mc_cert_conf cc = {.name = "mail", .names = names, .n_names = 1,
				  .key_type = MC_KEY_EC_P256,
				  .key_types = {MC_KEY_EC_P256}, .n_key_types = 1};
	static const struct {
		const char *label;
		unsigned cur;
		bool strict, other_names;
		enum mc_key_type type;
		long renew_before;
		int found;
		unsigned want;
	} cases[] = {
		{"failed 0003 above current 0001 (0004 is revoked)", 1, true,
		 false, MC_KEY_EC_P256, -1, 1, 3},
		{"nothing above 0004", 4, true, false, MC_KEY_EC_P256, -1, 0, 0},
		{"above 0003: only the revoked 0004", 3, true, false,
		 MC_KEY_EC_P256, -1, 0, 0},
		{"names changed", 1, true, true, MC_KEY_EC_P256, -1, 0, 0},
		{"key type changed", 1, true, false, MC_KEY_RSA2048, -1, 0, 0},
		{"due itself (renew_before beyond its lifetime)", 1, true, false,
		 MC_KEY_EC_P256, 7 * 86400, 0, 0},
		{"no current: the newest that can be served", 0, false, false,
		 MC_KEY_EC_P256, -1, 1, 3},
		{"no current, strict: 0002 was live", 0, true, false,
		 MC_KEY_EC_P256, -1, 1, 3},
	};
	unsigned v;
	size_t i;

	(void)state;
	assert_int_equal(add_version(dir, key, 20, "deployed"), 1);
	assert_int_equal(store_version(dir, key, 21, "deployed", false), 2);
	assert_int_equal(store_version(dir, key, 22, "failed", false), 3);
	assert_int_equal(store_version(dir, key, 23, "issued", false), 4);
	set_status(dir, 4, "revoked", "keyCompromise");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		print_message("case: %s\n", cases[i].label);
		cc.names = cases[i].other_names ? other : names;
		cc.key_type = cc.key_types[0] = cases[i].type;
		cc.timing.renew_before = cases[i].renew_before;
		v = 0;
		assert_int_equal(mc_deploy_unfinished(&cfg, &cc, cases[i].cur,
						      cases[i].strict, &v, NULL),
				 cases[i].found);
		assert_int_equal(v, cases[i].want);
	}
	EVP_PKEY_free(key);
}

/* test_account_store - key, URL and status round trip. */
static void
test_account_store(void **state)
{
	const char *dir = *state;
	const char *url = "https://127.0.0.1:14000/dir";
	EVP_PKEY *key = mc_key_generate(MC_KEY_EC_P256, NULL), *back = NULL;
	char *kid = NULL, *status = NULL, *adir, path[600];
	struct stat st;

	assert_int_equal(mc_store_account_load(dir, url, &back, &kid, &status,
					       NULL), 0);
	assert_int_equal(mc_store_account_save_key(dir, url, key, NULL), 0);
	adir = mc_store_account_dir(dir, url, NULL);
	snprintf(path, sizeof(path), "%s/account.key", adir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(mc_store_account_load(dir, url, &back, &kid, &status,
					       NULL), 1);
	assert_null(kid);
	assert_null(status);
	EVP_PKEY_free(back);
	assert_int_equal(mc_store_account_save(dir, url, "https://ca/acct/1",
					       "deactivated", NULL, 0, NULL), 0);
	assert_int_equal(mc_store_account_load(dir, url, &back, &kid, &status,
					       NULL), 1);
	assert_string_equal(kid, "https://ca/acct/1");
	assert_string_equal(status, "deactivated");
	assert_int_equal(EVP_PKEY_eq(back, key), 1);
	free(adir);
	free(kid);
	free(status);
	EVP_PKEY_free(back);
	EVP_PKEY_free(key);
}

/* test_account_dir - one folder per directory URL (host + path). */
static void
test_account_dir(void **state)
{
	static const struct {
		const char *url;
		const char *want; /* after state_dir; NULL: error */
	} rows[] = {
		{"https://127.0.0.1:14000/dir", "/accounts/127.0.0.1_14000/dir"},
		{"https://acme-v02.api.letsencrypt.org/directory",
		 "/accounts/acme-v02.api.letsencrypt.org/directory"},
		{"https://CA.Example:8443/acme/directory/",
		 "/accounts/ca.example_8443/acme/directory"},
		{"https://ca.example/", "/accounts/ca.example"},
		{"https://ca.example", "/accounts/ca.example"},
		{"https://ca.example/a//b", "/accounts/ca.example/a/b"},
		{"https://ca.example/../x", "/accounts/ca.example/%2E%2E/x"},
		{"https://ca.example/./x", "/accounts/ca.example/%2E/x"},
		{"https://ca.example/a b/%41", "/accounts/ca.example/a%20b/%2541"},
		{"https://[::1]:14000/dir", "/accounts/___1__14000/dir"},
		{"https://ca.example/dir?tenant=a",
		 "/accounts/ca.example/dir/%3Ftenant%3Da"},
		{"https://ca.example/dir#frag", "/accounts/ca.example/dir"},
		{"https://.ca.example/dir", "/accounts/_ca.example/dir"},
		{"https:///dir", NULL},
		{"not a url", NULL},
	};
	struct mc_err err;
	char *got;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		print_message("account dir: %s\n", rows[i].url);
		mc_err_clear(&err);
		got = mc_store_account_dir("/s", rows[i].url, &err);
		if (rows[i].want == NULL) {
			assert_null(got);
			assert_int_equal(err.cat, MC_ERR_CONFIG);
			continue;
		}
		assert_non_null(got);
		assert_string_equal(got + 2, rows[i].want);
		free(got);
	}
}

/* old_account - an account in the host-only layout: accounts/<host>. */
static void
old_account(const char *dir, const char *host, const char *json_dir,
	    EVP_PKEY *key)
{
	char path[600], text[600];
	struct mc_buf pem;

	snprintf(path, sizeof(path), "%s/accounts/%s", dir, host);
	assert_int_equal(mc_fsio_mkdirs(path, 0700, NULL), 0);
	snprintf(path, sizeof(path), "%s/accounts/%s/account.key", dir, host);
	mc_buf_init(&pem, 0);
	assert_int_equal(mc_key_to_pem(key, &pem, NULL), 0);
	assert_int_equal(mc_fsio_write(path, pem.data, pem.len, 0600,
				       MC_FSIO_KEEP_OWNER, false, NULL), 0);
	mc_buf_clear_free(&pem);
	if (json_dir == NULL)
		return;
	snprintf(path, sizeof(path), "%s/accounts/%s/account.json", dir, host);
	if (json_dir[0] == '\0')
		snprintf(text, sizeof(text), "{\"url\": \"https://ca/acct/7\"}");
	else
		snprintf(text, sizeof(text),
			 "{\"url\": \"https://ca/acct/7\", \"directory\": "
			 "\"%s\"}", json_dir);
	assert_int_equal(mc_fsio_write(path, text, strlen(text), 0600,
				       MC_FSIO_KEEP_OWNER, false, NULL), 0);
}

/* test_account_migrate - the host-only layout moves to the URL layout when
 * the account is this directory's (or says nothing), and only then. */
static void
test_account_migrate(void **state)
{
	static const struct {
		const char *label;
		const char *host;     /* old folder */
		const char *json_dir; /* NULL: no account.json; "": no directory */
		const char *url;      /* the directory used now */
		int found;            /* mc_store_account_load */
		bool kid;             /* the URL comes along */
		bool stays;           /* the old key is still in the old folder */
	} rows[] = {
		{"names this directory", "ca1_14000", "https://ca1:14000/dir",
		 "https://ca1:14000/dir", 1, true, false},
		{"names no directory", "ca2", "", "https://ca2/acme/dir", 1,
		 true, false},
		{"no account.json", "ca3", NULL, "https://ca3/dir", 1, false,
		 false},
		{"names another path", "ca4", "https://ca4/other",
		 "https://ca4/dir", 0, false, true},
		{"old case kept", "CA5", "https://CA5/dir", "https://CA5/dir", 1,
		 true, false},
		{"root directory: same folder", "ca6", "https://ca6/",
		 "https://ca6/", 1, true, true},
	};
	const char *dir = *state;
	EVP_PKEY *key = mc_key_generate(MC_KEY_EC_P256, NULL), *back;
	char *kid, *status, old[600];
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		print_message("migrate: %s\n", rows[i].label);
		old_account(dir, rows[i].host, rows[i].json_dir, key);
		back = NULL;
		kid = status = NULL;
		assert_int_equal(mc_store_account_load(dir, rows[i].url, &back,
						       &kid, &status, NULL),
				 rows[i].found);
		snprintf(old, sizeof(old), "%s/accounts/%s/account.key", dir,
			 rows[i].host);
		if (rows[i].found == 1) {
			assert_int_equal(EVP_PKEY_eq(back, key), 1);
			assert_true(rows[i].kid ? kid != NULL : kid == NULL);
		}
		assert_true(mc_fsio_exists(old) == rows[i].stays);
		free(kid);
		free(status);
		EVP_PKEY_free(back);
	}
	EVP_PKEY_free(key);
}

/* index_settle_run - open the index, ask whether "mail" is settled, then
 * read it as renew does and save; the answer. */
static bool
index_settle_run(const char *dir)
{
	struct mc_store_index *ix = mc_store_index_open(dir, NULL);
	struct mc_cert_meta m;
	bool settled;

	assert_non_null(ix);
	settled = mc_store_index_settled(ix, "mail");
	assert_int_equal(mc_store_index_current(ix, "mail", &m, NULL), 1);
	mc_store_meta_clear(&m);
	assert_int_equal(mc_store_index_save(ix, true, NULL), 0);
	mc_store_index_close(ix);
	return settled;
}

/* test_index_settled - settled only while no journal and no version above
 * current, and nothing changed since the entry: a journal or a stored
 * version made since is never hidden; the entry is made again after. */
static void
test_index_settled(void **state)
{
	const char *dir = *state;
	EVP_PKEY *key = mc_key_generate(MC_KEY_EC_P256, NULL);
	unsigned n = add_version(dir, key, 7, "deployed");
	char stamp[128], path[600];

	/* no index yet, then a cert changed < 2 s ago: not settled */
	assert_false(index_settle_run(dir));
	assert_false(index_settle_run(dir));
	age_meta(dir, n, stamp, sizeof(stamp));
	assert_false(index_settle_run(dir)); /* the entry is made now */
	assert_true(index_settle_run(dir));
	assert_true(index_settle_run(dir));
	/* a journal appears: noticed at once */
	snprintf(path, sizeof(path), "%s/certs/mail/journal.json", dir);
	assert_int_equal(mc_fsio_write(path, "{}", 2, 0600, MC_FSIO_KEEP_OWNER,
				       false, NULL), 0);
	assert_false(index_settle_run(dir));
	age_meta(dir, n, stamp, sizeof(stamp));
	assert_false(index_settle_run(dir)); /* made again: journal there */
	assert_false(index_settle_run(dir));
	assert_int_equal(unlink(path), 0);
	age_meta(dir, n, stamp, sizeof(stamp));
	assert_false(index_settle_run(dir)); /* made again: settled */
	assert_true(index_settle_run(dir));
	/* a version stored above current (never made live): noticed */
	assert_int_equal(store_version(dir, key, 8, "issued", false), n + 1);
	assert_false(index_settle_run(dir));
	age_meta(dir, n, stamp, sizeof(stamp));
	assert_false(index_settle_run(dir));
	assert_false(index_settle_run(dir));
	/* current replaced: noticed */
	n = add_version(dir, key, 9, "deployed");
	assert_false(index_settle_run(dir));
	age_meta(dir, n, stamp, sizeof(stamp));
	assert_false(index_settle_run(dir));
	assert_true(index_settle_run(dir));
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
		cmocka_unit_test_setup_teardown(test_store_prior, tmpdir_setup,
						tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_store_prior_once,
						tmpdir_setup, tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_store_current_copied,
						tmpdir_setup, tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_store_dual, tmpdir_setup,
						tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_store_damaged_meta,
						tmpdir_setup, tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_store_pending, tmpdir_setup,
						tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_unfinished, tmpdir_setup,
						tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_index_read, tmpdir_setup,
						tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_index_settled, tmpdir_setup,
						tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_index_cycle, tmpdir_setup,
						tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_account_store,
						tmpdir_setup, tmpdir_teardown),
		cmocka_unit_test(test_account_dir),
		cmocka_unit_test_setup_teardown(test_account_migrate,
						tmpdir_setup, tmpdir_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
