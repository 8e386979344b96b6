/*
 * test_daemon.c - parsing postconf / doveconf / exim -bP output and judging
 * whether a daemon reads a target's files.
 *
 * The Postfix, Dovecot 2.3 and Exim samples are what Postfix 3.7, Dovecot
 * 2.3.19 and Exim 4.96 (Debian 12) print for the queries of daemon_conf.c.
 * Dovecot 2.4 is not in Debian 12, so its samples are written after the
 * 2.4 documentation's setting names (ssl_server_cert_file = /path, no "<")
 * and doveconf's "name = value" output format; the integration tests run
 * the real 2.3 only.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mailcert/daemon.h"

static const char pf_debian[] =
	"smtpd_tls_chain_files = \n"
	"smtpd_tls_cert_file = /etc/ssl/certs/ssl-cert-snakeoil.pem\n"
	"smtpd_tls_key_file = /etc/ssl/private/ssl-cert-snakeoil.key\n"
	"smtpd_tls_eccert_file = \n"
	"smtpd_tls_eckey_file = \n"
	"smtpd_tls_security_level = may\n"
	"smtpd_use_tls = no\n"
	"tls_server_sni_maps = \n"
	"queue_directory = /var/spool/postfix\n";

static const char pf_chain[] =
	"smtpd_tls_chain_files = /etc/postfix/tls/mail.pem, /etc/postfix/tls/rsa.pem\n"
	"smtpd_tls_cert_file = \n"
	"smtpd_tls_key_file = \n"
	"smtpd_tls_security_level = may\n"
	"queue_directory = /srv/pf/queue\n";

static const char pf_pairs[] =
	"smtpd_tls_chain_files =\n"
	"smtpd_tls_cert_file = /etc/postfix/tls/mail.crt\n"
	"smtpd_tls_key_file = /etc/postfix/tls/mail.key\n"
	"smtpd_tls_eccert_file = /etc/postfix/tls/ec.crt\n"
	"smtpd_tls_eckey_file = /etc/postfix/tls/ec.crt\n"
	"smtpd_tls_security_level =\n"
	"smtpd_use_tls = yes\n";

static const char pf_off[] =
	"smtpd_tls_chain_files = /etc/postfix/tls/mail.pem\n"
	"smtpd_tls_security_level = none\n";

static const char dc23[] =
	"base_dir = /run/dovecot\n"
	"ssl = yes\n"
	"ssl_cert = </etc/dovecot/private/dovecot.pem\n"
	"ssl_key = </etc/dovecot/private/dovecot.key\n"
	"ssl_alt_cert = \n"
	"ssl_alt_key = \n";

static const char dc23_alt[] =
	"base_dir = /srv/dc/run\n"
	"ssl = required\n"
	"ssl_cert = </etc/dovecot/tls/mail.crt\n"
	"ssl_key = </etc/dovecot/tls/mail.key\n"
	"ssl_alt_cert = </etc/dovecot/tls/rsa.crt\n"
	"ssl_alt_key = </etc/dovecot/tls/rsa.key\n";

static const char dc23_inline[] =
	"base_dir = /run/dovecot\n"
	"ssl = yes\n"
	"ssl_cert = -----BEGIN CERTIFICATE-----\n"
	"MIIB\n"
	"-----END CERTIFICATE-----\n"
	"ssl_key = </etc/dovecot/private/dovecot.key\n";

static const char dc23_off[] =
	"base_dir = /run/dovecot\n"
	"ssl = no\n"
	"ssl_cert = </etc/dovecot/tls/mail.crt\n"
	"ssl_key = </etc/dovecot/tls/mail.key\n";

/* Dovecot 2.4 (see the header comment). */
static const char dc24[] =
	"base_dir = /run/dovecot\n"
	"ssl = yes\n"
	"ssl_server_cert_file = /etc/dovecot/tls/mail.crt\n"
	"ssl_server_key_file = /etc/dovecot/tls/mail.key\n"
	"ssl_server_alt_cert_file = \n"
	"ssl_server_alt_key_file = \n";

static const char dc24_default[] =
	"base_dir = /run/dovecot\n"
	"ssl = yes\n"
	"ssl_server_cert_file = /etc/dovecot/private/dovecot.pem\n"
	"ssl_server_key_file = /etc/dovecot/private/dovecot.key\n";

static const char ex_list[] =
	"tls_certificate = /etc/exim4/tls/mail.crt : /etc/exim4/tls/rsa.crt\n"
	"tls_privatekey = /etc/exim4/tls/mail.key : /etc/exim4/tls/rsa.key\n"
	"tls_advertise_hosts = *\n"
	"pid_file_path = /run/exim4/exim.pid\n";

static const char ex_none[] =
	"tls_certificate = \n"
	"tls_privatekey = \n"
	"tls_advertise_hosts = \n"
	"pid_file_path = /run/exim4/exim.pid\n";

static const char ex_expand[] =
	"tls_certificate = ${if exists{/etc/exim4/${tls_sni}.crt}{/etc/exim4/${tls_sni}.crt}{/etc/exim4/exim.crt}}\n"
	"tls_privatekey = /etc/exim4/exim.key\n"
	"tls_advertise_hosts = *\n";

static const char ex_semicolon[] =
	"tls_certificate = <; /etc/exim4/tls/mail.crt ; /etc/exim4/tls/rsa.crt\n"
	"tls_privatekey = <; /etc/exim4/tls/mail.key ; /etc/exim4/tls/rsa.key\n"
	"tls_advertise_hosts = *\n";

static const struct parse_case {
	const char *label;
	enum mc_target_type type;
	const char *text;
	int version;
	size_t n_chain;
	const char *chain0;
	size_t n_pairs;
	const char *cert0, *key0, *cert1, *key1;
	bool tls_off;
	const char *pid_file;
	bool unjudgeable;
} parse_cases[] = {
	{"postfix as Debian leaves it", MC_TARGET_POSTFIX, pf_debian, 0, 0, NULL, 1,
	 "/etc/ssl/certs/ssl-cert-snakeoil.pem", "/etc/ssl/private/ssl-cert-snakeoil.key",
	 NULL, NULL, false, "/var/spool/postfix/pid/master.pid", false},
	{"postfix chain files", MC_TARGET_POSTFIX, pf_chain, 0, 2,
	 "/etc/postfix/tls/mail.pem", 0, NULL, NULL, NULL, NULL, false,
	 "/srv/pf/queue/pid/master.pid", false},
	{"postfix legacy pairs, smtpd_use_tls", MC_TARGET_POSTFIX, pf_pairs, 0, 0, NULL,
	 2, "/etc/postfix/tls/mail.crt", "/etc/postfix/tls/mail.key",
	 "/etc/postfix/tls/ec.crt", "/etc/postfix/tls/ec.crt", false, NULL, false},
	{"postfix TLS off", MC_TARGET_POSTFIX, pf_off, 0, 1, "/etc/postfix/tls/mail.pem",
	 0, NULL, NULL, NULL, NULL, true, NULL, false},
	{"dovecot 2.3 defaults", MC_TARGET_DOVECOT, dc23, 23, 0, NULL, 1,
	 "/etc/dovecot/private/dovecot.pem", "/etc/dovecot/private/dovecot.key",
	 NULL, NULL, false, "/run/dovecot/master.pid", false},
	{"dovecot 2.3 alt cert", MC_TARGET_DOVECOT, dc23_alt, 23, 0, NULL, 2,
	 "/etc/dovecot/tls/mail.crt", "/etc/dovecot/tls/mail.key",
	 "/etc/dovecot/tls/rsa.crt", "/etc/dovecot/tls/rsa.key", false,
	 "/srv/dc/run/master.pid", false},
	{"dovecot 2.3 inline PEM", MC_TARGET_DOVECOT, dc23_inline, 23, 0, NULL, 0,
	 NULL, NULL, NULL, NULL, false, "/run/dovecot/master.pid", true},
	{"dovecot 2.3 ssl = no", MC_TARGET_DOVECOT, dc23_off, 23, 0, NULL, 1,
	 "/etc/dovecot/tls/mail.crt", "/etc/dovecot/tls/mail.key", NULL, NULL, true,
	 "/run/dovecot/master.pid", false},
	{"dovecot 2.4", MC_TARGET_DOVECOT, dc24, 24, 0, NULL, 1,
	 "/etc/dovecot/tls/mail.crt", "/etc/dovecot/tls/mail.key", NULL, NULL, false,
	 "/run/dovecot/master.pid", false},
	{"dovecot 2.4 defaults", MC_TARGET_DOVECOT, dc24_default, 24, 0, NULL, 1,
	 "/etc/dovecot/private/dovecot.pem", "/etc/dovecot/private/dovecot.key",
	 NULL, NULL, false, "/run/dovecot/master.pid", false},
	{"exim lists", MC_TARGET_EXIM, ex_list, 0, 0, NULL, 2,
	 "/etc/exim4/tls/mail.crt", "/etc/exim4/tls/mail.key",
	 "/etc/exim4/tls/rsa.crt", "/etc/exim4/tls/rsa.key", false,
	 "/run/exim4/exim.pid", false},
	{"exim without TLS", MC_TARGET_EXIM, ex_none, 0, 0, NULL, 0, NULL, NULL, NULL,
	 NULL, true, "/run/exim4/exim.pid", false},
	{"exim expansion", MC_TARGET_EXIM, ex_expand, 0, 0, NULL, 0, NULL, NULL, NULL,
	 NULL, false, NULL, true},
	{"exim list separator <;", MC_TARGET_EXIM, ex_semicolon, 0, 0, NULL, 2,
	 "/etc/exim4/tls/mail.crt", "/etc/exim4/tls/mail.key",
	 "/etc/exim4/tls/rsa.crt", "/etc/exim4/tls/rsa.key", false, NULL, false},
};

/* The certs judged: "mail" with one key type, or dual. */
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

/* opt_str - assert a possibly-NULL string. */
static void
opt_str(const char *got, const char *want)
{
	if (want == NULL)
		assert_null(got);
	else
		assert_string_equal(got, want);
}

/* test_parse - every parse case. */
static void
test_parse(void **state)
{
	struct mc_daemon_conf c;
	struct mc_err err;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++) {
		const struct parse_case *pc = &parse_cases[i];

		print_message("parse: %s\n", pc->label);
		assert_int_equal(mc_daemon_parse(pc->type, pc->text, "/x", &c, &err), 0);
		assert_int_equal(c.dovecot_version, pc->version);
		assert_int_equal(c.n_chain_files, pc->n_chain);
		if (pc->n_chain > 0)
			assert_string_equal(c.chain_files[0], pc->chain0);
		assert_int_equal(c.n_pairs, pc->n_pairs);
		if (pc->n_pairs > 0) {
			assert_string_equal(c.pairs[0].cert, pc->cert0);
			assert_string_equal(c.pairs[0].key, pc->key0);
		}
		if (pc->n_pairs > 1) {
			assert_string_equal(c.pairs[1].cert, pc->cert1);
			assert_string_equal(c.pairs[1].key, pc->key1);
		}
		assert_int_equal(c.tls_off, pc->tls_off);
		if (pc->pid_file != NULL)
			opt_str(c.pid_file, pc->pid_file);
		assert_int_equal(c.unjudgeable != NULL, pc->unjudgeable);
		mc_daemon_conf_clear(&c);
	}
}

static const struct judge_case {
	const char *label;
	enum mc_target_type type;
	const char *chain_file, *cert_file, *key_file;
	const char *text;
	enum mc_daemon_state state;
	const char *line0, *line1, *line2;
} judge_cases[] = {
	{"postfix snakeoil -> chain line", MC_TARGET_POSTFIX, "/etc/postfix/tls/%n.pem",
	 NULL, NULL, pf_debian, MC_DAEMON_READS_OTHER,
	 "smtpd_tls_chain_files = /etc/postfix/tls/mail.pem", NULL, NULL},
	{"postfix reads the chain file", MC_TARGET_POSTFIX, "/etc/postfix/tls/%n.pem",
	 NULL, NULL, pf_chain, MC_DAEMON_READS, NULL, NULL, NULL},
	{"postfix other chain file", MC_TARGET_POSTFIX, "/etc/postfix/tls/%n-ec.pem",
	 NULL, NULL, pf_chain, MC_DAEMON_READS_OTHER,
	 "smtpd_tls_chain_files = /etc/postfix/tls/mail-ec.pem", NULL, NULL},
	{"postfix legacy pair read", MC_TARGET_POSTFIX, NULL, "/etc/postfix/tls/%n.crt",
	 "/etc/postfix/tls/%n.key", pf_pairs, MC_DAEMON_READS, NULL, NULL, NULL},
	{"postfix key+cert target -> key, cert line", MC_TARGET_POSTFIX, NULL,
	 "/srv/%n.crt", "/srv/%n.key", pf_debian, MC_DAEMON_READS_OTHER,
	 "smtpd_tls_chain_files = /srv/mail.key, /srv/mail.crt", NULL, NULL},
	{"postfix TLS off", MC_TARGET_POSTFIX, "/etc/postfix/tls/%n.pem", NULL, NULL,
	 pf_off, MC_DAEMON_READS_OTHER, "smtpd_tls_security_level = may", NULL, NULL},
	{"dovecot 2.3 defaults -> 2.3 lines", MC_TARGET_DOVECOT, NULL,
	 "/etc/dovecot/tls/%n.crt", "/etc/dovecot/tls/%n.key", dc23,
	 MC_DAEMON_READS_OTHER, "ssl_cert = </etc/dovecot/tls/mail.crt",
	 "ssl_key = </etc/dovecot/tls/mail.key", NULL},
	{"dovecot 2.3 reads it", MC_TARGET_DOVECOT, NULL, "/etc/dovecot/tls/%n.crt",
	 "/etc/dovecot/tls/%n.key", dc23_alt, MC_DAEMON_READS, NULL, NULL, NULL},
	{"dovecot 2.3 alt pair read", MC_TARGET_DOVECOT, NULL, "/etc/dovecot/tls/rsa.crt",
	 "/etc/dovecot/tls/rsa.key", dc23_alt, MC_DAEMON_READS, NULL, NULL, NULL},
	{"dovecot 2.3 inline PEM", MC_TARGET_DOVECOT, NULL, "/etc/dovecot/tls/%n.crt",
	 "/etc/dovecot/tls/%n.key", dc23_inline, MC_DAEMON_UNKNOWN, NULL, NULL, NULL},
	{"dovecot ssl = no", MC_TARGET_DOVECOT, NULL, "/etc/dovecot/tls/%n.crt",
	 "/etc/dovecot/tls/%n.key", dc23_off, MC_DAEMON_READS_OTHER, "ssl = yes", NULL,
	 NULL},
	{"dovecot 2.4 reads it", MC_TARGET_DOVECOT, NULL, "/etc/dovecot/tls/%n.crt",
	 "/etc/dovecot/tls/%n.key", dc24, MC_DAEMON_READS, NULL, NULL, NULL},
	{"dovecot 2.4 defaults -> 2.4 lines", MC_TARGET_DOVECOT, NULL,
	 "/etc/dovecot/tls/%n.crt", "/etc/dovecot/tls/%n.key", dc24_default,
	 MC_DAEMON_READS_OTHER, "ssl_server_cert_file = /etc/dovecot/tls/mail.crt",
	 "ssl_server_key_file = /etc/dovecot/tls/mail.key", NULL},
	{"exim second of a list", MC_TARGET_EXIM, NULL, "/etc/exim4/tls/rsa.crt",
	 "/etc/exim4/tls/rsa.key", ex_list, MC_DAEMON_READS, NULL, NULL, NULL},
	{"exim without TLS", MC_TARGET_EXIM, NULL, "/etc/exim4/tls/%n.crt",
	 "/etc/exim4/tls/%n.key", ex_none, MC_DAEMON_READS_OTHER,
	 "tls_certificate = /etc/exim4/tls/mail.crt",
	 "tls_privatekey = /etc/exim4/tls/mail.key", "tls_advertise_hosts = *"},
	{"exim expansion cannot be told", MC_TARGET_EXIM, NULL, "/etc/exim4/tls/%n.crt",
	 "/etc/exim4/tls/%n.key", ex_expand, MC_DAEMON_UNKNOWN, NULL, NULL, NULL},
	{"exim key pair mismatch", MC_TARGET_EXIM, NULL, "/etc/exim4/tls/mail.crt",
	 "/etc/exim4/tls/rsa.key", ex_list, MC_DAEMON_READS_OTHER,
	 "tls_certificate = /etc/exim4/tls/mail.crt",
	 "tls_privatekey = /etc/exim4/tls/rsa.key", NULL},
};

/* test_judge - every judge case, for cert "mail". */
static void
test_judge(void **state)
{
	const char *want[3];
	struct mc_daemon_verdict v;
	struct mc_daemon_conf c;
	struct mc_target t;
	struct mc_err err;
	size_t i, j, n;

	(void)state;
	for (i = 0; i < sizeof(judge_cases) / sizeof(judge_cases[0]); i++) {
		const struct judge_case *jc = &judge_cases[i];

		print_message("judge: %s\n", jc->label);
		memset(&t, 0, sizeof(t));
		t.name = (char *)"t";
		t.type = jc->type;
		t.chain_file = (char *)jc->chain_file;
		t.cert_file = (char *)jc->cert_file;
		t.key_file = (char *)jc->key_file;
		assert_int_equal(mc_daemon_parse(jc->type, jc->text, "/x", &c, &err), 0);
		assert_int_equal(mc_daemon_judge(&t, &mail_cc, &c, &v, &err), 0);
		assert_int_equal(v.state, jc->state);
		want[0] = jc->line0;
		want[1] = jc->line1;
		want[2] = jc->line2;
		for (n = 0; n < 3 && want[n] != NULL; n++)
			;
		assert_int_equal(v.n_lines, n);
		for (j = 0; j < n; j++)
			assert_string_equal(v.lines[j], want[j]);
		assert_true(v.reads[0] != '\0');
		mc_daemon_conf_clear(&c);
	}
}

static const char pf_dual[] =
	"smtpd_tls_chain_files = /etc/postfix/tls/mail.ecdsa.pem, "
	"/etc/postfix/tls/mail.rsa.pem\n"
	"smtpd_tls_security_level = may\n";

static const char pf_dual_half[] =
	"smtpd_tls_chain_files = /etc/postfix/tls/mail.ecdsa.pem\n"
	"smtpd_tls_security_level = may\n";

static const char dc23_dual[] =
	"ssl = yes\n"
	"ssl_cert = </etc/dovecot/tls/mail.ecdsa.crt\n"
	"ssl_key = </etc/dovecot/tls/mail.ecdsa.key\n"
	"ssl_alt_cert = </etc/dovecot/tls/mail.rsa.crt\n"
	"ssl_alt_key = </etc/dovecot/tls/mail.rsa.key\n";

static const char ex_dual[] =
	"tls_certificate = /etc/exim4/tls/mail.ecdsa.crt : /etc/exim4/tls/mail.rsa.crt\n"
	"tls_privatekey = /etc/exim4/tls/mail.ecdsa.key : /etc/exim4/tls/mail.rsa.key\n"
	"tls_advertise_hosts = *\n";

/* Dual certificates on the built-in targets' default paths: the daemon
 * must read both pairs; the lines give both. */
static const struct {
	const char *label;
	enum mc_target_type type;
	const char *text;
	enum mc_daemon_state state;
	const char *lines[4];
} dual_cases[] = {
	{"postfix reads both chain files", MC_TARGET_POSTFIX, pf_dual,
	 MC_DAEMON_READS, {NULL}},
	{"postfix reads the ECDSA one only", MC_TARGET_POSTFIX, pf_dual_half,
	 MC_DAEMON_READS_OTHER,
	 {"smtpd_tls_chain_files = /etc/postfix/tls/mail.ecdsa.pem, "
	  "/etc/postfix/tls/mail.rsa.pem", NULL}},
	{"dovecot 2.3 reads ssl_cert and ssl_alt_cert", MC_TARGET_DOVECOT,
	 dc23_dual, MC_DAEMON_READS, {NULL}},
	{"dovecot 2.3 single -> main and alt lines", MC_TARGET_DOVECOT, dc23,
	 MC_DAEMON_READS_OTHER,
	 {"ssl_cert = </etc/dovecot/tls/mail.ecdsa.crt",
	  "ssl_key = </etc/dovecot/tls/mail.ecdsa.key",
	  "ssl_alt_cert = </etc/dovecot/tls/mail.rsa.crt",
	  "ssl_alt_key = </etc/dovecot/tls/mail.rsa.key"}},
	{"dovecot 2.4 -> 2.4 main and alt lines", MC_TARGET_DOVECOT, dc24_default,
	 MC_DAEMON_READS_OTHER,
	 {"ssl_server_cert_file = /etc/dovecot/tls/mail.ecdsa.crt",
	  "ssl_server_key_file = /etc/dovecot/tls/mail.ecdsa.key",
	  "ssl_server_alt_cert_file = /etc/dovecot/tls/mail.rsa.crt",
	  "ssl_server_alt_key_file = /etc/dovecot/tls/mail.rsa.key"}},
	{"exim reads both of its lists", MC_TARGET_EXIM, ex_dual, MC_DAEMON_READS,
	 {NULL}},
	{"exim other files -> lists", MC_TARGET_EXIM, ex_list,
	 MC_DAEMON_READS_OTHER,
	 {"tls_certificate = /etc/exim4/tls/mail.ecdsa.crt : "
	  "/etc/exim4/tls/mail.rsa.crt",
	  "tls_privatekey = /etc/exim4/tls/mail.ecdsa.key : "
	  "/etc/exim4/tls/mail.rsa.key", NULL}},
};

/* test_judge_dual - every dual case, built-in targets with defaults. */
static void
test_judge_dual(void **state)
{
	static char pf[] = "/etc/postfix/tls/%n.pem", dcc[] = "/etc/dovecot/tls/%n.crt",
		    dck[] = "/etc/dovecot/tls/%n.key", exc[] = "/etc/exim4/tls/%n.crt",
		    exk[] = "/etc/exim4/tls/%n.key";
	struct mc_daemon_verdict v;
	struct mc_daemon_conf c;
	struct mc_target t;
	size_t i, j, n;

	(void)state;
	for (i = 0; i < sizeof(dual_cases) / sizeof(dual_cases[0]); i++) {
		print_message("judge dual: %s\n", dual_cases[i].label);
		memset(&t, 0, sizeof(t));
		t.name = (char *)"t";
		t.type = dual_cases[i].type;
		t.default_files = true;
		t.chain_file = t.type == MC_TARGET_POSTFIX ? pf : NULL;
		t.cert_file = t.type == MC_TARGET_DOVECOT ? dcc
			      : t.type == MC_TARGET_EXIM  ? exc : NULL;
		t.key_file = t.type == MC_TARGET_DOVECOT ? dck
			     : t.type == MC_TARGET_EXIM  ? exk : NULL;
		assert_int_equal(mc_daemon_parse(t.type, dual_cases[i].text, "/x",
						 &c, NULL), 0);
		assert_int_equal(mc_daemon_judge(&t, &dual_cc, &c, &v, NULL), 0);
		assert_int_equal(v.state, dual_cases[i].state);
		for (n = 0; n < 4 && dual_cases[i].lines[n] != NULL; n++)
			;
		assert_int_equal(v.n_lines, n);
		for (j = 0; j < n; j++)
			assert_string_equal(v.lines[j], dual_cases[i].lines[j]);
		mc_daemon_conf_clear(&c);
	}
}

/* test_describe - what a daemon reads, in its own setting names. */
static void
test_describe(void **state)
{
	static const struct {
		enum mc_target_type type;
		const char *text, *reads;
	} rows[] = {
		{MC_TARGET_POSTFIX, pf_debian,
		 "smtpd_tls_cert_file = /etc/ssl/certs/ssl-cert-snakeoil.pem, "
		 "smtpd_tls_key_file = /etc/ssl/private/ssl-cert-snakeoil.key"},
		{MC_TARGET_POSTFIX, pf_chain,
		 "smtpd_tls_chain_files = /etc/postfix/tls/mail.pem, /etc/postfix/tls/rsa.pem"},
		{MC_TARGET_DOVECOT, dc23,
		 "ssl_cert = </etc/dovecot/private/dovecot.pem, "
		 "ssl_key = </etc/dovecot/private/dovecot.key"},
		{MC_TARGET_DOVECOT, dc24_default,
		 "ssl_server_cert_file = /etc/dovecot/private/dovecot.pem, "
		 "ssl_server_key_file = /etc/dovecot/private/dovecot.key"},
		{MC_TARGET_EXIM, ex_none, "no certificate file"},
	};
	struct mc_daemon_verdict v;
	struct mc_daemon_conf c;
	struct mc_target t;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		memset(&t, 0, sizeof(t));
		t.name = (char *)"t";
		t.type = rows[i].type;
		t.cert_file = (char *)"/a.crt";
		t.key_file = (char *)"/a.key";
		assert_int_equal(mc_daemon_parse(rows[i].type, rows[i].text, "/x", &c, NULL), 0);
		assert_int_equal(mc_daemon_judge(&t, &mail_cc, &c, &v, NULL), 0);
		assert_string_equal(v.reads, rows[i].reads);
		mc_daemon_conf_clear(&c);
	}
}

/* test_files_type - a files target has no daemon to ask. */
static void
test_files_type(void **state)
{
	struct mc_daemon_conf c;
	struct mc_err err;

	(void)state;
	assert_int_equal(mc_daemon_parse(MC_TARGET_FILES, "", "/x", &c, &err), -1);
	assert_int_equal(err.cat, MC_ERR_INPUT);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_judge),
		cmocka_unit_test(test_judge_dual),
		cmocka_unit_test(test_describe),
		cmocka_unit_test(test_files_type),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
