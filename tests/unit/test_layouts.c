/*
 * test_layouts.c - the configuration blocks of README.md's "Mail layouts"
 * (each after a "<!-- layout: NAME -->" line) are what the code says:
 * each daemon block is exactly what `mailcert doctor` advises for the
 * built-in targets' default paths (mc_daemon_lines; Dovecot 2.4 too,
 * which Debian 12 lacks, so no running 2.4 checks it), the SNI blocks
 * name the same settings for the SNI cert, the mailcert blocks load with
 * the key types and verify_without_sni they show, and mailcert.conf(5)
 * carries every block line for line. The integration tests t_layouts_dual
 * and t_layouts_sni run the same blocks in real Postfix, Dovecot 2.3 and
 * Exim.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "mailcert/config.h"
#include "mailcert/daemon.h"
#include "mailcert/fsio.h"

#define DOC_MAX (1024 * 1024)
#define BLOCK_MAX 4096

static char *readme, *manpage;

/* doc_path - the path of file (relative to the source tree) into buf. */
static void
doc_path(const char *file, char *buf, size_t size)
{
	const char *data = getenv("MC_TEST_DATA"); /* SRC/tests/data */
	const char *slash = strrchr(__FILE__, '/'), *up;

	up = data != NULL ? strrchr(data, '/') : NULL;
	if (up != NULL) /* need not exist: go up by name */
		snprintf(buf, size, "%.*s/../%s", (int)(up - data), data, file);
	else if (slash != NULL)
		snprintf(buf, size, "%.*s/../../%s", (int)(slash - __FILE__),
			 __FILE__, file);
	else
		snprintf(buf, size, "%s", file);
}

/* doc_read - the text of file (new). */
static char *
doc_read(const char *file)
{
	char path[4096], *text = NULL;
	size_t len = 0;

	doc_path(file, path, sizeof(path));
	if (mc_fsio_read(path, DOC_MAX, &text, &len, NULL) == -1)
		return NULL;
	return text;
}

/* block - the lines of README block name (without the fences) into buf;
 * false when there is none. */
static bool
block(const char *name, char *buf, size_t size)
{
	char marker[128];
	const char *p, *start, *end;

	snprintf(marker, sizeof(marker), "<!-- layout: %s -->\n```", name);
	p = strstr(readme, marker);
	if (p == NULL)
		return false;
	start = strchr(p + strlen(marker), '\n');
	end = start ? strstr(start + 1, "\n```") : NULL;
	if (end == NULL || (size_t)(end - start) >= size)
		return false;
	snprintf(buf, size, "%.*s", (int)(end - start - 1), start + 1);
	return true;
}

/* unroff - text of a man page with \- \e \& undone, into out. */
static void
unroff(const char *in, char *out, size_t size)
{
	size_t o = 0;

	for (; *in != '\0' && o + 1 < size; in++) {
		if (in[0] == '\\' && in[1] == '-') {
			out[o++] = '-';
			in++;
		} else if (in[0] == '\\' && in[1] == 'e') {
			out[o++] = '\\';
			in++;
		} else if (in[0] == '\\' && in[1] == '&') {
			in++;
		} else {
			out[o++] = *in;
		}
	}
	out[o] = '\0';
}

static const char *const names[] = {
	"postfix-single", "dovecot-single", "dovecot-single-24", "exim-single",
	"mailcert-dual", "postfix-dual", "dovecot-dual", "dovecot-dual-24",
	"exim-dual", "mailcert-sni", "postfix-sni", "postfix-sni-map",
	"dovecot-sni", "dovecot-sni-24", "exim-sni",
};

/* test_man_has_blocks - every README block, line for line, in the man
 * page (in the same order). */
static void
test_man_has_blocks(void **state)
{
	char text[BLOCK_MAX], *man = malloc(DOC_MAX), *from, *line, *nl;
	size_t i;

	(void)state;
	assert_non_null(man);
	unroff(manpage, man, DOC_MAX);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		print_message("block: %s\n", names[i]);
		assert_true(block(names[i], text, sizeof(text)));
		from = man;
		for (line = text; line != NULL; line = nl ? nl + 1 : NULL) {
			nl = strchr(line, '\n');
			if (nl != NULL)
				*nl = '\0';
			from = strstr(from, line);
			if (from == NULL)
				fail_msg("mailcert.conf(5) lacks \"%s\" of %s", line,
					 names[i]);
		}
	}
	free(man);
}

/* The daemon blocks and how doctor's advice for them is made. */
static const struct {
	const char *name;
	enum mc_target_type type;
	int version;       /* Dovecot */
	const char *cert;  /* the cert's name */
	bool dual;
	const char *prefix; /* the README lines carry it (SNI blocks) */
} daemon_blocks[] = {
	{"postfix-single", MC_TARGET_POSTFIX, 0, "mail", false, ""},
	{"dovecot-single", MC_TARGET_DOVECOT, 23, "mail", false, ""},
	{"dovecot-single-24", MC_TARGET_DOVECOT, 24, "mail", false, ""},
	{"exim-single", MC_TARGET_EXIM, 0, "mail", false, ""},
	{"postfix-dual", MC_TARGET_POSTFIX, 0, "mail", true, ""},
	{"dovecot-dual", MC_TARGET_DOVECOT, 23, "mail", true, ""},
	{"dovecot-dual-24", MC_TARGET_DOVECOT, 24, "mail", true, ""},
	{"exim-dual", MC_TARGET_EXIM, 0, "mail", true, ""},
	{"dovecot-sni", MC_TARGET_DOVECOT, 23, "other", false, "  "},
	{"dovecot-sni-24", MC_TARGET_DOVECOT, 24, "other", false, "  "},
};

/* builtin - the built-in target of type with its default files. */
static void
builtin(struct mc_target *t, enum mc_target_type type)
{
	static char pf[] = "/etc/postfix/tls/%n.pem", dc[] = "/etc/dovecot/tls/%n.crt",
		    dk[] = "/etc/dovecot/tls/%n.key", ec[] = "/etc/exim4/tls/%n.crt",
		    ek[] = "/etc/exim4/tls/%n.key";

	memset(t, 0, sizeof(*t));
	t->name = (char *)"t";
	t->type = type;
	t->default_files = true;
	t->chain_file = type == MC_TARGET_POSTFIX ? pf : NULL;
	t->cert_file = type == MC_TARGET_DOVECOT ? dc : type == MC_TARGET_EXIM ? ec : NULL;
	t->key_file = type == MC_TARGET_DOVECOT ? dk : type == MC_TARGET_EXIM ? ek : NULL;
}

/* test_daemon_blocks - each daemon block is doctor's advice. */
static void
test_daemon_blocks(void **state)
{
	struct mc_cert_conf cc;
	struct mc_daemon_verdict v;
	struct mc_target t;
	char text[BLOCK_MAX], want[BLOCK_MAX];
	size_t i, j, len;

	(void)state;
	for (i = 0; i < sizeof(daemon_blocks) / sizeof(daemon_blocks[0]); i++) {
		print_message("block: %s\n", daemon_blocks[i].name);
		memset(&cc, 0, sizeof(cc));
		cc.name = (char *)daemon_blocks[i].cert;
		cc.key_type = cc.key_types[0] = MC_KEY_EC_P256;
		cc.key_types[1] = MC_KEY_RSA2048;
		cc.n_key_types = daemon_blocks[i].dual ? 2 : 1;
		builtin(&t, daemon_blocks[i].type);
		memset(&v, 0, sizeof(v));
		assert_int_equal(mc_daemon_lines(&t, &cc, daemon_blocks[i].version,
						 &v, NULL), 0);
		for (j = 0, len = 0; j < v.n_lines; j++)
			len += (size_t)snprintf(want + len, sizeof(want) - len,
						"%s%s%s", j ? "\n" : "",
						daemon_blocks[i].prefix, v.lines[j]);
		assert_true(block(daemon_blocks[i].name, text, sizeof(text)));
		if (daemon_blocks[i].prefix[0] != '\0') {
			/* local_name NAME { the lines } */
			assert_non_null(strstr(text, want));
			assert_int_equal(strncmp(text, "local_name other.example.com {\n",
						 31), 0);
			continue;
		}
		assert_string_equal(text, want);
	}
}

/* load - the config of [global] with a state_dir plus text (new). */
static struct mc_config *
load(const char *text)
{
	char path[] = "/tmp/mc-layouts-XXXXXX";
	struct mc_config *cfg = NULL;
	struct mc_err err;
	int fd = mkstemp(path);
	FILE *f = fd == -1 ? NULL : fdopen(fd, "w");

	assert_non_null(f);
	fprintf(f, "[global]\nstate_dir = /tmp/mc-layouts-state\n\n%s\n", text);
	fclose(f);
	if (mc_config_load(path, &cfg, &err) == -1)
		fail_msg("%s", err.msg);
	unlink(path);
	return cfg;
}

/* test_mailcert_blocks - the [cert] blocks load as shown: the dual one
 * with two key types (default paths with %k), the SNI one without the
 * no-SNI probe; the SNI map line names the SNI cert's default file. */
static void
test_mailcert_blocks(void **state)
{
	char text[BLOCK_MAX];
	struct mc_config *cfg;
	const struct mc_cert_conf *cc;

	(void)state;
	assert_true(block("mailcert-dual", text, sizeof(text)));
	cfg = load(text);
	cc = mc_config_cert(cfg, "mail");
	assert_non_null(cc);
	assert_int_equal(cc->n_key_types, 2);
	assert_true(cc->timing.verify_without_sni);
	mc_config_free(cfg);
	assert_true(block("mailcert-sni", text, sizeof(text)));
	cfg = load(text);
	cc = mc_config_cert(cfg, "other");
	assert_non_null(cc);
	assert_int_equal(cc->n_key_types, 1);
	assert_false(cc->timing.verify_without_sni);
	mc_config_free(cfg);
	assert_true(block("postfix-sni-map", text, sizeof(text)));
	assert_string_equal(text, "other.example.com /etc/postfix/tls/other.pem");
	assert_true(block("postfix-sni", text, sizeof(text)));
	assert_string_equal(text, "tls_server_sni_maps = hash:/etc/postfix/sni");
}

/* setup - read README.md and mailcert.conf(5). */
static int
setup(void **state)
{
	(void)state;
	readme = doc_read("README.md");
	manpage = doc_read("man/mailcert.conf.5");
	return readme != NULL && manpage != NULL ? 0 : -1;
}

/* teardown - free them. */
static int
teardown(void **state)
{
	(void)state;
	free(readme);
	free(manpage);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_man_has_blocks),
		cmocka_unit_test(test_daemon_blocks),
		cmocka_unit_test(test_mailcert_blocks),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
