/*
 * test_target_set.c - targets with several files switched as one set:
 * links and versions, the conversion of regular files, stage/abort
 * changing nothing, drift states, cleanup of leftovers.
 */
#include "tests/unit/tmpdir.h"
#include <dirent.h>
#include <fcntl.h>
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
#include "tests/unit/certgen.h"

struct fx {
	char dir[64];
	char crt[128], key[128]; /* the configured paths (%n = mail) */
	char crt_t[128], key_t[128];
	EVP_PKEY *k[2];          /* two ECDSA versions */
	STACK_OF(X509) *chain[2];
	EVP_PKEY *rk[2];         /* and the RSA pairs of two dual versions */
	STACK_OF(X509) *rchain[2];
	struct mc_target t;
};

/* The cert: "mail" with one ECDSA key, or dual (ECDSA + RSA). */
static struct mc_cert_conf mail_cc = {
	.name = (char *)"mail",
	.key_type = MC_KEY_EC_P256,
	.key_types = {MC_KEY_EC_P256},
	.n_key_types = 1,
};
static struct mc_cert_conf dual_cc = {
	.name = (char *)"mail",
	.key_type = MC_KEY_EC_P256,
	.key_types = {MC_KEY_EC_P256, MC_KEY_RSA2048},
	.n_key_types = 2,
};

/* pairs_of - version v as its pairs (borrowed): the ECDSA pair, and with
 * dual the RSA pair rv (-1: none). */
static struct mc_pairs
pairs_of(const struct fx *f, int v, int rv)
{
	struct mc_pairs p;

	memset(&p, 0, sizeof(p));
	p.p[0].type = MC_KEY_EC_P256;
	p.p[0].key = f->k[v];
	p.p[0].chain = f->chain[v];
	p.n = 1;
	if (rv >= 0) {
		p.p[1].type = MC_KEY_RSA2048;
		p.p[1].key = f->rk[rv];
		p.p[1].chain = f->rchain[rv];
		p.n = 2;
	}
	return p;
}

/* write_v - deploy version v (single) to f's target. */
static int
write_v(struct fx *f, int v)
{
	struct mc_pairs p = pairs_of(f, v, -1);

	return mc_deploy_write(&f->t, &mail_cc, &p, NULL);
}

/* fx_setup - a temp dir, two versions (key + chain) and a files target. */
static int
fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	EVP_PKEY *ik = mc_key_generate(MC_KEY_EC_P256, NULL);
	X509 *inter = cg_make("Inter", ik, NULL, NULL, NULL, -60, 86400, 2);
	int i;

	snprintf(f->dir, sizeof(f->dir), "/tmp/mc-test-set-XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	for (i = 0; i < 2; i++) {
		f->k[i] = mc_key_generate(MC_KEY_EC_P256, NULL);
		f->chain[i] = sk_X509_new_null();
		sk_X509_push(f->chain[i],
			     cg_make("leaf", f->k[i], inter, ik,
				     "DNS:a.example.test", -60, 86400, 10 + i));
		X509_up_ref(inter);
		sk_X509_push(f->chain[i], inter);
		f->rk[i] = mc_key_generate(MC_KEY_RSA2048, NULL);
		f->rchain[i] = sk_X509_new_null();
		sk_X509_push(f->rchain[i],
			     cg_make("rsa leaf", f->rk[i], inter, ik,
				     "DNS:a.example.test", -60, 86400, 20 + i));
		X509_up_ref(inter);
		sk_X509_push(f->rchain[i], inter);
	}
	X509_free(inter);
	EVP_PKEY_free(ik);
	snprintf(f->crt_t, sizeof(f->crt_t), "%s/tls/%%n.crt", f->dir);
	snprintf(f->key_t, sizeof(f->key_t), "%s/tls/%%n.key", f->dir);
	snprintf(f->crt, sizeof(f->crt), "%s/tls/mail.crt", f->dir);
	snprintf(f->key, sizeof(f->key), "%s/tls/mail.key", f->dir);
	f->t.name = "t";
	f->t.type = MC_TARGET_FILES;
	f->t.mode = 0640;
	f->t.group = "daemon";
	f->t.cert_file = f->crt_t;
	f->t.key_file = f->key_t;
	*state = f;
	return 0;
}

/* fx_teardown - remove everything. */
static int
fx_teardown(void **state)
{
	struct fx *f = *state;
	int i;

	td_remove(f->dir);
	for (i = 0; i < 2; i++) {
		EVP_PKEY_free(f->k[i]);
		sk_X509_pop_free(f->chain[i], X509_free);
		EVP_PKEY_free(f->rk[i]);
		sk_X509_pop_free(f->rchain[i], X509_free);
	}
	free(f);
	return 0;
}

/* holds_pem - whether path holds exactly the PEM of key (is_key) or chain. */
static bool
holds_pem(const char *path, EVP_PKEY *key, STACK_OF(X509) *chain, bool is_key)
{
	struct mc_buf want;
	char *text = NULL;
	size_t len = 0;
	bool same;

	mc_buf_init(&want, 0);
	if (is_key)
		mc_key_to_pem(key, &want, NULL);
	else
		mc_x509_chain_pem(chain, 0, &want, NULL);
	if (mc_fsio_read(path, 1 << 20, &text, &len, NULL) == -1) {
		mc_buf_clear_free(&want);
		return false;
	}
	same = len == want.len && memcmp(text, want.data, len) == 0;
	free(text);
	mc_buf_clear_free(&want);
	return same;
}

/* holds - whether path holds exactly the PEM of ECDSA version v's key
 * (is_key) or chain. */
static bool
holds(struct fx *f, const char *path, int v, bool is_key)
{
	return holds_pem(path, f->k[v], f->chain[v], is_key);
}

/* count_versions - version directories in the set (v* names). */
static int
count_versions(struct fx *f)
{
	char path[256];
	struct dirent *e;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof(path), "%s/tls/.mailcert.mail.t", f->dir);
	d = opendir(path);
	while (d != NULL && (e = readdir(d)) != NULL)
		n += e->d_name[0] == 'v';
	if (d != NULL)
		closedir(d);
	return n;
}

/* test_set_switch - links into the set; one version kept; modes. */
static void
test_set_switch(void **state)
{
	struct fx *f = *state;
	char link[256];
	struct stat st;
	ssize_t n;
	int v;

	for (v = 0; v < 2; v++) {
		print_message("version %d\n", v);
		assert_int_equal(mc_deploy_check(&f->t, &mail_cc, NULL), 0);
		assert_int_equal(write_v(f, v), 0);
		n = readlink(f->key, link, sizeof(link) - 1);
		assert_true(n > 0);
		link[n] = '\0';
		assert_string_equal(link, ".mailcert.mail.t/live/key_file");
		n = readlink(f->crt, link, sizeof(link) - 1);
		assert_true(n > 0);
		link[n] = '\0';
		assert_string_equal(link, ".mailcert.mail.t/live/cert_file");
		assert_true(holds(f, f->key, v, true));
		assert_true(holds(f, f->crt, v, false));
		assert_int_equal(count_versions(f), 1);
	}
	assert_int_equal(stat(f->key, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_int_equal(st.st_gid, getgrnam("daemon")->gr_gid);
	assert_int_equal(stat(f->crt, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	snprintf(link, sizeof(link), "%s/tls", f->dir); /* made for the key */
	assert_int_equal(stat(link, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0750);
}

/* test_set_convert - regular files become links without changing what
 * they hold until the switch; an aborted stage changes nothing. */
static void
test_set_convert(void **state)
{
	struct fx *f = *state;
	struct mc_deploy_staged *s = NULL;
	struct mc_buf pem;
	char dir[256];
	struct stat st;
	bool changed = false;

	snprintf(dir, sizeof(dir), "%s/tls", f->dir);
	assert_int_equal(mkdir(dir, 0755), 0);
	mc_buf_init(&pem, 0);
	mc_key_to_pem(f->k[0], &pem, NULL);
	mc_fsio_write(f->key, pem.data, pem.len, 0600, MC_FSIO_KEEP_OWNER,
		      false, NULL);
	mc_buf_clear_free(&pem);
	mc_x509_chain_pem(f->chain[0], 0, &pem, NULL);
	mc_fsio_write(f->crt, pem.data, pem.len, 0644, MC_FSIO_KEEP_OWNER,
		      false, NULL);
	mc_buf_clear_free(&pem);

	struct mc_pairs p1 = pairs_of(f, 1, -1);

	assert_int_equal(mc_deploy_stage(&f->t, &mail_cc, 7, &p1, &s, NULL), 0);
	assert_int_equal(lstat(f->key, &st), 0);
	assert_true(S_ISREG(st.st_mode)); /* staged: nothing switched */
	assert_true(holds(f, f->key, 0, true));
	mc_deploy_abort(s);
	assert_int_equal(lstat(f->key, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_true(holds(f, f->crt, 0, false));
	assert_int_equal(count_versions(f), 0);

	assert_int_equal(mc_deploy_stage(&f->t, &mail_cc, 7, &p1, &s, NULL), 0);
	assert_int_equal(mc_deploy_commit(s, &changed, NULL), 0);
	assert_true(changed);
	assert_int_equal(lstat(f->key, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	assert_true(holds(f, f->key, 1, true));
	assert_true(holds(f, f->crt, 1, false));
	assert_int_equal(count_versions(f), 1); /* the snapshot is gone */
}

enum dsetup { D_AS_DEPLOYED, D_KEY_MISSING, D_OTHER, D_MIXED, D_FIFO, D_GARBAGE };

static const struct {
	const char *label;
	enum dsetup setup;
	enum mc_drift_state want;
} drift_cases[] = {
	{"as deployed", D_AS_DEPLOYED, MC_DRIFT_OK},
	{"key file missing", D_KEY_MISSING, MC_DRIFT_MISSING},
	{"the other version", D_OTHER, MC_DRIFT_OTHER},
	{"key of one, certificate of the other", D_MIXED, MC_DRIFT_MIXED},
	{"a FIFO as the key", D_FIFO, MC_DRIFT_UNREADABLE},
	{"no PEM in the certificate file", D_GARBAGE, MC_DRIFT_UNREADABLE},
};

/* drift_prepare - deploy version 0, then spoil it as the case says. */
static void
drift_prepare(struct fx *f, enum dsetup setup)
{
	struct mc_buf pem;

	assert_int_equal(write_v(f, setup == D_OTHER), 0);
	mc_buf_init(&pem, 0);
	if (setup == D_KEY_MISSING) {
		assert_int_equal(unlink(f->key), 0);
	} else if (setup == D_MIXED) {
		mc_key_to_pem(f->k[1], &pem, NULL);
		unlink(f->key);
		mc_fsio_write(f->key, pem.data, pem.len, 0600,
			      MC_FSIO_KEEP_OWNER, false, NULL);
	} else if (setup == D_FIFO) {
		unlink(f->key);
		assert_int_equal(mkfifo(f->key, 0600), 0);
	} else if (setup == D_GARBAGE) {
		unlink(f->crt);
		mc_fsio_write(f->crt, "hello\n", 6, 0644, MC_FSIO_KEEP_OWNER,
			      false, NULL);
	}
	mc_buf_clear_free(&pem);
}

/* test_drift_table - each spoilt target is reported as what it is. */
static void
test_drift_table(void **state)
{
	struct fx *f = *state;
	struct mc_pairs p0 = pairs_of(f, 0, -1);
	struct mc_drift_row row;
	size_t i;

	for (i = 0; i < sizeof(drift_cases) / sizeof(drift_cases[0]); i++) {
		print_message("case: %s\n", drift_cases[i].label);
		unlink(f->key);
		unlink(f->crt);
		drift_prepare(f, drift_cases[i].setup);
		alarm(10); /* a FIFO must not block */
		assert_int_equal(mc_deploy_target_drift(&f->t, &mail_cc, &p0,
							&row, NULL), 0);
		alarm(0);
		assert_string_equal(mc_drift_state_name(row.state),
				    mc_drift_state_name(drift_cases[i].want));
		assert_string_equal(row.target, "t");
		if (drift_cases[i].want != MC_DRIFT_OK)
			assert_true(row.detail[0] != '\0');
	}
}

/* test_clean - leftovers of interrupted runs go, look-alikes stay. */
static void
test_clean(void **state)
{
	static const struct {
		const char *name; /* below tls/ */
		bool dir, gone;
	} files[] = {
		{".mail.key.0123456789ab", false, true},
		{".mail.crt.0123456789ab", false, true},
		{".mailcert.mail.t/v0003.0123456789ab", true, true},
		{".mailcert.mail.t/.live.0123456789ab", false, true},
		{".mail.pem.0123456789ab", false, false}, /* not a file of t */
		{".mailcert.mail.t/vX.0123456789ab", true, false},
		{".mailcert.mail.t/notes", false, false},
	};
	struct fx *f = *state;
	char path[512];
	unsigned removed = 0;
	size_t i;

	assert_int_equal(write_v(f, 0), 0);
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/tls/%s", f->dir, files[i].name);
		if (files[i].dir)
			assert_int_equal(mkdir(path, 0700), 0);
		else
			assert_int_equal(mc_fsio_write(path, "k", 1, 0600,
						       MC_FSIO_KEEP_OWNER,
						       false, NULL), 0);
	}
	assert_int_equal(mc_deploy_clean(&f->t, &mail_cc, &removed, NULL), 0);
	assert_int_equal(removed, 4);
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		print_message("file: %s\n", files[i].name);
		snprintf(path, sizeof(path), "%s/tls/%s", f->dir, files[i].name);
		assert_int_equal(mc_fsio_exists(path), !files[i].gone);
	}
	assert_true(holds(f, f->key, 0, true)); /* the live version stays */
	assert_true(holds(f, f->crt, 0, false));
}

/* link_is - whether path is a link with text want. */
static bool
link_is(const char *path, const char *want)
{
	char link[256];
	ssize_t n = readlink(path, link, sizeof(link) - 1);

	if (n <= 0)
		return false;
	link[n] = '\0';
	return strcmp(link, want) == 0;
}

/* dual_path - "DIR/tls/mail.ALG.EXT" into buf. */
static void
dual_path(const struct fx *f, const char *alg, const char *ext, char *buf,
	  size_t size)
{
	snprintf(buf, size, "%s/tls/mail.%s.%s", f->dir, alg, ext);
}

/* test_set_dual - a target with default paths turns dual: each key type
 * gets its own files (".%k" before the extension), all four in one set
 * switched at once; the paths it had as a single-key target keep pointing
 * into the set and hold the first key type; drift judges each pair. */
static void
test_set_dual(void **state)
{
	struct fx *f = *state;
	struct mc_pairs d00 = pairs_of(f, 0, 0), d11 = pairs_of(f, 1, 1);
	struct mc_pairs d10 = pairs_of(f, 1, 0);
	struct mc_drift_row row;
	char ek[256], ec[256], rk[256], rc[256];
	struct mc_buf pem;

	f->t.default_files = true;
	dual_path(f, "ecdsa", "key", ek, sizeof(ek));
	dual_path(f, "ecdsa", "crt", ec, sizeof(ec));
	dual_path(f, "rsa", "key", rk, sizeof(rk));
	dual_path(f, "rsa", "crt", rc, sizeof(rc));
	assert_int_equal(write_v(f, 0), 0); /* single first: mail.{crt,key} */
	assert_int_equal(mc_deploy_check(&f->t, &dual_cc, NULL), 0);
	assert_int_equal(mc_deploy_write(&f->t, &dual_cc, &d11, NULL), 0);
	assert_true(link_is(ek, ".mailcert.mail.t/live/key_file"));
	assert_true(link_is(rk, ".mailcert.mail.t/live/key_file-rsa"));
	assert_true(link_is(rc, ".mailcert.mail.t/live/cert_file-rsa"));
	assert_true(holds(f, ek, 1, true));
	assert_true(holds(f, ec, 1, false));
	assert_true(holds_pem(rk, f->rk[1], f->rchain[1], true));
	assert_true(holds_pem(rc, f->rk[1], f->rchain[1], false));
	assert_true(holds(f, f->key, 1, true)); /* the old paths: ECDSA */
	assert_true(holds(f, f->crt, 1, false));
	assert_int_equal(count_versions(f), 1);
	assert_int_equal(mc_deploy_target_drift(&f->t, &dual_cc, &d11, &row,
						NULL), 0);
	assert_int_equal(row.state, MC_DRIFT_OK);
	/* against a version whose RSA pair differs (the ECDSA pair is the
	 * same): the target holds another certificate */
	assert_int_equal(mc_deploy_target_drift(&f->t, &dual_cc, &d10, &row,
						NULL), 0);
	assert_int_equal(row.state, MC_DRIFT_OTHER);
	assert_int_equal(mc_deploy_target_drift(&f->t, &dual_cc, &d00, &row,
						NULL), 0);
	assert_int_equal(row.state, MC_DRIFT_OTHER);
	/* an RSA key that is not the RSA leaf's: mixed */
	mc_buf_init(&pem, 0);
	mc_key_to_pem(f->rk[0], &pem, NULL);
	unlink(rk);
	mc_fsio_write(rk, pem.data, pem.len, 0600, MC_FSIO_KEEP_OWNER, false,
		      NULL);
	mc_buf_clear_free(&pem);
	assert_int_equal(mc_deploy_target_drift(&f->t, &dual_cc, &d11, &row,
						NULL), 0);
	assert_int_equal(row.state, MC_DRIFT_MIXED);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_set_switch, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_set_convert, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_drift_table, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_clean, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_set_dual, fx_setup,
						fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
