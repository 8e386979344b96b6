/*
 * test_hooks.c - hook directories: order, selection, environment,
 * failures and timeouts, with real shell scripts as hooks.
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

#include "mailcert/fsio.h"
#include "mailcert/hooks.h"

/* dir_setup - a temp hooks_dir with deploy.d/. */
static int
dir_setup(void **state)
{
	char *dir = strdup("/tmp/mc-test-hooks-XXXXXX"), sub[128];

	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(sub, sizeof(sub), "%s/deploy.d", dir);
	mkdir(sub, 0755);
	*state = dir;
	return 0;
}

/* dir_teardown - remove it. */
static int
dir_teardown(void **state)
{
	td_remove(*state);
	free(*state);
	return 0;
}

/* put_hook - write deploy.d/name with body and mode. */
static void
put_hook(const char *dir, const char *name, const char *body, mode_t mode)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/deploy.d/%s", dir, name);
	assert_int_equal(mc_fsio_write(path, body, strlen(body), mode,
				       MC_FSIO_KEEP_OWNER, false, NULL), 0);
}

/* slurp - a file's text (caller frees). */
static char *
slurp(const char *dir, const char *name)
{
	char path[256], *text = NULL;
	size_t len;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (mc_fsio_read(path, 1 << 16, &text, &len, NULL) == -1)
		return NULL;
	return text;
}

static const struct mc_hook_env deploy_env = {
	.event = "deploy",
	.cert_name = "mail",
	.names = "a.example.test b.example.test",
	.lineage = "/var/lib/mailcert/certs/mail/current",
};

/* test_order_and_selection - lexical order; non-executables and backups skipped. */
static void
test_order_and_selection(void **state)
{
	const char *dir = *state;
	char body[512], *log;
	struct mc_err err;

	snprintf(body, sizeof(body), "#!/bin/sh\necho b >> %s/log\n", dir);
	put_hook(dir, "20-b", body, 0755);
	snprintf(body, sizeof(body), "#!/bin/sh\necho a >> %s/log\n", dir);
	put_hook(dir, "10-a", body, 0755);
	snprintf(body, sizeof(body), "#!/bin/sh\necho x >> %s/log\n", dir);
	put_hook(dir, "15-not-executable", body, 0644);
	put_hook(dir, "16-backup~", body, 0755);
	put_hook(dir, ".hidden", body, 0755);
	put_hook(dir, "17.dpkg-old", body, 0755);
	assert_int_equal(mc_hooks_run_event(dir, &deploy_env, 10, &err), 0);
	log = slurp(dir, "log");
	assert_non_null(log);
	assert_string_equal(log, "a\nb\n");
	free(log);
}

/* test_environment - exactly PATH plus the documented variables. */
static void
test_environment(void **state)
{
	static const char *const want[] = {
		"MAILCERT_CERT_NAME=mail",
		"MAILCERT_NAMES=a.example.test b.example.test",
		"MAILCERT_EVENT=deploy",
		"MAILCERT_CERT_FILE=/var/lib/mailcert/certs/mail/current/cert.pem",
		"MAILCERT_KEY_FILE=/var/lib/mailcert/certs/mail/current/privkey.pem",
		"MAILCERT_CHAIN_FILE=/var/lib/mailcert/certs/mail/current/chain.pem",
		"MAILCERT_FULLCHAIN_FILE=/var/lib/mailcert/certs/mail/current/fullchain.pem",
		"RENEWED_LINEAGE=/var/lib/mailcert/certs/mail/current",
		"RENEWED_DOMAINS=a.example.test b.example.test",
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
	};
	const char *dir = *state;
	char body[512], *env;
	size_t i, lines = 0;

	setenv("MC_TEST_LEAK", "must-not-pass", 1);
	snprintf(body, sizeof(body), "#!/bin/sh\n/usr/bin/env > %s/env\n", dir);
	put_hook(dir, "10-env", body, 0755);
	assert_int_equal(mc_hooks_run_event(dir, &deploy_env, 10, NULL), 0);
	env = slurp(dir, "env");
	assert_non_null(env);
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		assert_non_null(strstr(env, want[i]));
	assert_non_null(strstr(env, "MAILCERT_RUN_ID="));
	assert_null(strstr(env, "MC_TEST_LEAK"));
	assert_null(strstr(env, "MAILCERT_ERROR"));
	for (i = 0; env[i]; i++)
		lines += env[i] == '\n';
	/* the listed ones, the run id, and what sh itself sets (PWD, SHLVL, _) */
	assert_true(lines >= 11 && lines <= 14);
	free(env);
}

#define L "/var/lib/mailcert/certs/mail/current/"

/* The per-key-type variables: the first key type's files are the plain
 * ones (as MAILCERT_CERT_FILE), the second's carry -ALG. */
static const struct {
	const char *label;
	enum mc_key_type types[MC_KEY_TYPES_MAX];
	size_t n;
	const char *want[9];  /* must be there */
	const char *unwanted; /* must not */
} key_cases[] = {
	{"single ECDSA", {MC_KEY_EC_P256}, 1,
	 {"MAILCERT_ECDSA_CERT_FILE=" L "cert.pem",
	  "MAILCERT_ECDSA_KEY_FILE=" L "privkey.pem",
	  "MAILCERT_ECDSA_CHAIN_FILE=" L "chain.pem",
	  "MAILCERT_ECDSA_FULLCHAIN_FILE=" L "fullchain.pem",
	  "MAILCERT_CERT_FILE=" L "cert.pem", NULL},
	 "MAILCERT_RSA_"},
	{"single RSA", {MC_KEY_RSA3072}, 1,
	 {"MAILCERT_RSA_CERT_FILE=" L "cert.pem",
	  "MAILCERT_RSA_KEY_FILE=" L "privkey.pem", NULL},
	 "MAILCERT_ECDSA_"},
	{"dual, ECDSA first", {MC_KEY_EC_P256, MC_KEY_RSA2048}, 2,
	 {"MAILCERT_ECDSA_CERT_FILE=" L "cert.pem",
	  "MAILCERT_ECDSA_KEY_FILE=" L "privkey.pem",
	  "MAILCERT_RSA_CERT_FILE=" L "cert-rsa.pem",
	  "MAILCERT_RSA_KEY_FILE=" L "privkey-rsa.pem",
	  "MAILCERT_RSA_CHAIN_FILE=" L "chain-rsa.pem",
	  "MAILCERT_RSA_FULLCHAIN_FILE=" L "fullchain-rsa.pem",
	  "MAILCERT_KEY_FILE=" L "privkey.pem",
	  "RENEWED_LINEAGE=/var/lib/mailcert/certs/mail/current\n", NULL},
	 "-ecdsa.pem"},
	{"dual, RSA first", {MC_KEY_RSA4096, MC_KEY_EC_P384}, 2,
	 {"MAILCERT_RSA_CERT_FILE=" L "cert.pem",
	  "MAILCERT_ECDSA_CERT_FILE=" L "cert-ecdsa.pem",
	  "MAILCERT_ECDSA_KEY_FILE=" L "privkey-ecdsa.pem",
	  "MAILCERT_CERT_FILE=" L "cert.pem", NULL},
	 "-rsa.pem"},
};

/* test_environment_keys - MAILCERT_ECDSA_* / MAILCERT_RSA_* per key type. */
static void
test_environment_keys(void **state)
{
	const char *dir = *state;
	struct mc_hook_env env;
	char body[512], *text;
	size_t i, j;

	snprintf(body, sizeof(body), "#!/bin/sh\n/usr/bin/env > %s/env\n", dir);
	put_hook(dir, "10-env", body, 0755);
	for (i = 0; i < sizeof(key_cases) / sizeof(key_cases[0]); i++) {
		print_message("case: %s\n", key_cases[i].label);
		env = deploy_env;
		memcpy(env.key_types, key_cases[i].types, sizeof(env.key_types));
		env.n_key_types = key_cases[i].n;
		assert_int_equal(mc_hooks_run_event(dir, &env, 10, NULL), 0);
		text = slurp(dir, "env");
		assert_non_null(text);
		for (j = 0; key_cases[i].want[j] != NULL; j++)
			assert_non_null(strstr(text, key_cases[i].want[j]));
		assert_null(strstr(text, key_cases[i].unwanted));
		free(text);
	}
}

/* test_failures - failing, crashing and hanging hooks; the rest still run. */
static void
test_failures(void **state)
{
	const char *dir = *state;
	char body[512], *log;
	struct mc_err err;
	time_t start;

	put_hook(dir, "10-fails", "#!/bin/sh\necho broken >&2\nexit 3\n", 0755);
	put_hook(dir, "20-hangs", "#!/bin/sh\nexec sleep 60\n", 0755);
	snprintf(body, sizeof(body), "#!/bin/sh\necho ran >> %s/log\n", dir);
	put_hook(dir, "30-ok", body, 0755);
	mc_err_clear(&err);
	start = time(NULL);
	assert_int_equal(mc_hooks_run_event(dir, &deploy_env, 1, &err), 2);
	assert_true(time(NULL) - start < 10);
	assert_int_equal(err.cat, MC_ERR_HOOK);
	assert_non_null(strstr(err.msg, "10-fails"));
	assert_non_null(strstr(err.msg, "status 3"));
	assert_non_null(strstr(err.msg, "broken"));
	log = slurp(dir, "log");
	assert_non_null(log);
	assert_string_equal(log, "ran\n");
	free(log);
}

/* test_missing_dir - no <event>.d runs nothing. */
static void
test_missing_dir(void **state)
{
	struct mc_hook_env env = deploy_env;

	env.event = "post";
	assert_int_equal(mc_hooks_run_event(*state, &env, 10, NULL), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_order_and_selection,
						dir_setup, dir_teardown),
		cmocka_unit_test_setup_teardown(test_environment, dir_setup,
						dir_teardown),
		cmocka_unit_test_setup_teardown(test_environment_keys, dir_setup,
						dir_teardown),
		cmocka_unit_test_setup_teardown(test_failures, dir_setup,
						dir_teardown),
		cmocka_unit_test_setup_teardown(test_missing_dir, dir_setup,
						dir_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
