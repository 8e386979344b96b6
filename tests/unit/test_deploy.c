/*
 * test_deploy.c - deploy targets: checks before writing, file contents,
 * modes, groups, directories, refusals; reload command selection.
 */
#include "tests/unit/tmpdir.h"
#include <grp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "mailcert/crypto.h"
#include "mailcert/deploy.h"
#include "mailcert/fsio.h"
#include "mailcert/proc.h"
#include "tests/unit/certgen.h"

struct fx {
	char dir[64];
	EVP_PKEY *key;
	STACK_OF(X509) *chain;
};

/* The cert the targets are for: "mail", one ECDSA key. */
static struct mc_cert_conf mail_cc = {
	.name = (char *)"mail",
	.key_type = MC_KEY_EC_P256,
	.key_types = {MC_KEY_EC_P256},
	.n_key_types = 1,
};

/* fx_pairs - f's key and chain as the one pair of a version (borrowed). */
static struct mc_pairs
fx_pairs(const struct fx *f)
{
	struct mc_pairs p;

	memset(&p, 0, sizeof(p));
	p.p[0].type = MC_KEY_EC_P256;
	p.p[0].key = f->key;
	p.p[0].chain = f->chain;
	p.n = 1;
	return p;
}

/* fx_setup - a temp dir, a key and a two-certificate chain. */
static int
fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	EVP_PKEY *ik = mc_key_generate(MC_KEY_EC_P256, NULL);
	X509 *inter;

	snprintf(f->dir, sizeof(f->dir), "/tmp/mc-test-deploy-XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	f->key = mc_key_generate(MC_KEY_EC_P256, NULL);
	inter = cg_make("Inter", ik, NULL, NULL, NULL, -60, 86400, 2);
	f->chain = sk_X509_new_null();
	sk_X509_push(f->chain, cg_make("leaf", f->key, inter, ik,
				       "DNS:a.example.test", -60, 86400, 3));
	sk_X509_push(f->chain, inter);
	EVP_PKEY_free(ik);
	*state = f;
	return 0;
}

/* fx_teardown - remove everything. */
static int
fx_teardown(void **state)
{
	struct fx *f = *state;

	td_remove(f->dir);
	EVP_PKEY_free(f->key);
	sk_X509_pop_free(f->chain, X509_free);
	free(f);
	return 0;
}

/* count_blocks - how many PEM blocks of kind ("CERTIFICATE", "PRIVATE KEY") a file has, and where the first is. */
static int
count_blocks(const char *path, const char *kind, long *first)
{
	char *text = NULL, marker[64], *p;
	size_t len;
	int n = 0;

	snprintf(marker, sizeof(marker), "-----BEGIN %s-----", kind);
	if (mc_fsio_read(path, 1 << 20, &text, &len, NULL) == -1)
		return -1;
	*first = -1;
	for (p = strstr(text, marker); p; p = strstr(p + 1, marker)) {
		if (n++ == 0)
			*first = p - text;
	}
	free(text);
	return n;
}

static const struct {
	const char *label;
	enum mc_target_type type;
	const char *file;   /* relative to the temp dir, %n allowed */
	int which;          /* 0 chain_file, 1 cert_file, 2 key_file, 3 fullchain, 4 combined */
	mode_t mode;
	const char *group;
	int keys, certs;    /* PEM blocks expected */
	mode_t want_mode;
} write_cases[] = {
	{"postfix chain file", MC_TARGET_POSTFIX, "postfix/%n.pem", 0, 0600, NULL, 1, 2, 0600},
	{"dovecot cert file", MC_TARGET_DOVECOT, "dovecot/%n.crt", 1, 0600, NULL, 0, 2, 0644},
	{"dovecot key file", MC_TARGET_DOVECOT, "dovecot/%n.key", 2, 0600, NULL, 1, 0, 0600},
	{"files fullchain", MC_TARGET_FILES, "files/full.pem", 3, 0600, NULL, 0, 2, 0644},
	{"files combined", MC_TARGET_FILES, "files/comb.pem", 4, 0600, NULL, 1, 2, 0600},
	{"exim key with group", MC_TARGET_EXIM, "exim/deep/dir/%n.key", 2, 0640, "daemon", 1, 0, 0640},
};

/* set_file - point field `which` of t at path. */
static void
set_file(struct mc_target *t, int which, char *path)
{
	char **fields[] = {&t->chain_file, &t->cert_file, &t->key_file,
			   &t->fullchain_file, &t->combined_file};

	*fields[which] = path;
}

/* expand_into - tmpl with %n = "mail" into buf. */
static void
expand_into(const char *tmpl, char *buf, size_t size)
{
	char *p = mc_config_expand(tmpl, "mail", NULL);

	assert_non_null(p);
	snprintf(buf, size, "%s", p);
	free(p);
}

/* test_write_table - each file kind gets the right blocks, mode, group. */
static void
test_write_table(void **state)
{
	struct fx *f = *state;
	struct mc_target t;
	char tmpl[256], path[256];
	struct stat st;
	long first_key, first_cert;
	size_t i;

	for (i = 0; i < sizeof(write_cases) / sizeof(write_cases[0]); i++) {
		print_message("case: %s\n", write_cases[i].label);
		memset(&t, 0, sizeof(t));
		t.name = "t";
		t.type = write_cases[i].type;
		t.mode = write_cases[i].mode;
		t.group = (char *)write_cases[i].group;
		snprintf(tmpl, sizeof(tmpl), "%s/%s", f->dir, write_cases[i].file);
		set_file(&t, write_cases[i].which, tmpl);
		struct mc_pairs pairs = fx_pairs(f);

		assert_int_equal(mc_deploy_check(&t, &mail_cc, NULL), 0);
		assert_int_equal(mc_deploy_write(&t, &mail_cc, &pairs, NULL), 0);
		expand_into(tmpl, path, sizeof(path));
		assert_int_equal(stat(path, &st), 0);
		assert_int_equal(st.st_mode & 07777, write_cases[i].want_mode);
		assert_int_equal(count_blocks(path, "PRIVATE KEY", &first_key),
				 write_cases[i].keys);
		assert_int_equal(count_blocks(path, "CERTIFICATE", &first_cert),
				 write_cases[i].certs);
		if (write_cases[i].keys && write_cases[i].certs)
			assert_true(first_key < first_cert); /* key first */
		if (write_cases[i].group != NULL)
			assert_int_equal(st.st_gid,
					 getgrnam(write_cases[i].group)->gr_gid);
	}
}

enum pre { PRE_NONE, PRE_SYMLINK, PRE_DIR, PRE_FILE_AS_DIR };

static const struct {
	const char *label;
	enum pre pre;
	bool allow_symlink;
	const char *owner, *group;
	int rc;
	const char *fragment;
} check_cases[] = {
	{"plain path", PRE_NONE, false, NULL, NULL, 0, NULL},
	{"symlinked target", PRE_SYMLINK, false, NULL, NULL, -1, "symbolic link"},
	{"symlink allowed", PRE_SYMLINK, true, NULL, NULL, 0, NULL},
	{"directory in the way", PRE_DIR, false, NULL, NULL, -1, "not a regular file"},
	{"parent is a file", PRE_FILE_AS_DIR, false, NULL, NULL, -1, "Not a directory"},
	{"unknown group", PRE_NONE, false, NULL, "no-such-group-mc", -1, "no group \"no-such-group-mc\""},
	{"unknown owner", PRE_NONE, false, "no-such-user-mc", NULL, -1, "no user \"no-such-user-mc\""},
	{"known owner and group", PRE_NONE, false, "root", "daemon", 0, NULL},
};

/* test_check_table - refusals come before any change. */
static void
test_check_table(void **state)
{
	struct fx *f = *state;
	struct mc_target t;
	struct mc_err err;
	char path[512], other[256];
	size_t i;

	for (i = 0; i < sizeof(check_cases) / sizeof(check_cases[0]); i++) {
		print_message("case: %s\n", check_cases[i].label);
		snprintf(path, sizeof(path), "%s/check-%zu.pem", f->dir, i);
		snprintf(other, sizeof(other), "%s/other-%zu", f->dir, i);
		if (check_cases[i].pre == PRE_SYMLINK) {
			mc_fsio_write(other, "x", 1, 0600, MC_FSIO_KEEP_OWNER,
				      false, NULL);
			assert_int_equal(symlink(other, path), 0);
		} else if (check_cases[i].pre == PRE_DIR) {
			assert_int_equal(mkdir(path, 0700), 0);
		} else if (check_cases[i].pre == PRE_FILE_AS_DIR) {
			mc_fsio_write(other, "x", 1, 0600, MC_FSIO_KEEP_OWNER,
				      false, NULL);
			snprintf(path, sizeof(path), "%s/child.pem", other);
		}
		memset(&t, 0, sizeof(t));
		t.name = "t";
		t.type = MC_TARGET_FILES;
		t.mode = 0600;
		t.chain_file = path;
		t.allow_symlink = check_cases[i].allow_symlink;
		t.owner = (char *)check_cases[i].owner;
		t.group = (char *)check_cases[i].group;
		mc_err_clear(&err);
		assert_int_equal(mc_deploy_check(&t, &mail_cc, &err),
				 check_cases[i].rc);
		if (check_cases[i].fragment != NULL) {
			assert_int_equal(err.cat, MC_ERR_DEPLOY);
			assert_non_null(strstr(err.msg, check_cases[i].fragment));
			assert_non_null(strstr(err.msg, "target t"));
		}
	}
}

/* test_reload - the configured command runs; failures carry stderr. */
static void
test_reload(void **state)
{
	static const struct {
		const char *label, *reload;
		int rc;
		const char *fragment;
	} cases[] = {
		{"true", "/bin/true", 0, NULL},
		{"exit 1", "/bin/false", -1, "exited with status 1"},
		{"missing program", "/nonexistent/reload", -1, "/nonexistent/reload"},
		{"stderr quoted", "/bin/ls /nonexistent-mc", -1, "nonexistent-mc"},
	};
	struct mc_target t;
	struct mc_err err;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		print_message("case: %s\n", cases[i].label);
		memset(&t, 0, sizeof(t));
		t.name = "t";
		t.type = MC_TARGET_POSTFIX;
		t.reload = (char *)cases[i].reload;
		mc_err_clear(&err);
		assert_int_equal(mc_deploy_reload(&t, 10, &err), cases[i].rc);
		if (cases[i].fragment != NULL)
			assert_non_null(strstr(err.msg, cases[i].fragment));
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_write_table, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_check_table, fx_setup,
						fx_teardown),
		cmocka_unit_test(test_reload),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
