/*
 * test_config.c - the configuration module: good files with their parsed
 * values and defaults, broken files with the exact "FILE:LINE: KEY: ..."
 * message each must produce, and the small parsers (durations, DNS
 * names, cert names, %n expansion) on their own.
 *
 * Each config text is written to a fresh temporary file; "@" in an
 * expected message fragment stands for that file's path.
 */
#include <fcntl.h>
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

#include "mailcert/config.h"

#include "core/config_int.h"

static char tmp_dir[64];
static char conf_path[128];

/* write_conf - write text to conf_path (replacing it). */
static void
write_conf(const char *text)
{
	FILE *f = fopen(conf_path, "w");

	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
	assert_int_equal(fclose(f), 0);
}

/* expand_at - replace a leading '@' in frag by conf_path into out. */
static void
expand_at(const char *frag, char *out, size_t size)
{
	size_t o = 0, plen = strlen(conf_path);
	const char *start = frag;

	for (; *frag != '\0'; frag++) {
		if (*frag == '@' && frag == start) {
			assert_true(o + plen < size);
			memcpy(out + o, conf_path, plen);
			o += plen;
		} else {
			assert_true(o + 1 < size);
			out[o++] = *frag;
		}
	}
	out[o] = '\0';
}

/* load_text - write text and load it; returns the config or NULL with err. */
static struct mc_config *
load_text(const char *text, struct mc_err *err)
{
	struct mc_config *cfg = NULL;

	write_conf(text);
	mc_err_clear(err);
	if (mc_config_load(conf_path, &cfg, err) == -1) {
		assert_null(cfg);
		return NULL;
	}
	assert_non_null(cfg);
	return cfg;
}

#define LONG62 "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghij12"
#define LONG63 "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghij123"
#define LONG64 LONG63 "4"
#define LONG65 LONG64 "5"
#define LONG61 "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghi1"
#define NAME253 LONG63 "." LONG63 "." LONG63 "." LONG61 /* the longest DNS name */
#define PATH260 "/" LONG64 "/" LONG64 "/" LONG64 "/" LONG64

/* ---- good configurations ---------------------------------------------- */

struct good_case {
	const char *label;
	const char *text;
	void (*check)(const struct mc_config *cfg);
};

/* cert_of - the cert named name, which must exist. */
static const struct mc_cert_conf *
cert_of(const struct mc_config *cfg, const char *name)
{
	const struct mc_cert_conf *cc = mc_config_cert(cfg, name);

	assert_non_null(cc);
	return cc;
}

/* target_of - the target named name, which must exist. */
static const struct mc_target *
target_of(const struct mc_config *cfg, const char *name)
{
	const struct mc_target *t = mc_config_target(cfg, name);

	assert_non_null(t);
	return t;
}

/* check_minimal - every default of [global], [cert] and the built-in targets. */
static void
check_minimal(const struct mc_config *cfg)
{
	const struct mc_cert_conf *cc = cert_of(cfg, "mail");
	const struct mc_target *t;

	assert_string_equal(cfg->path, conf_path);
	assert_string_equal(cfg->state_dir, "/var/lib/mailcert");
	assert_string_equal(cfg->directory, "https://acme-v02.api.letsencrypt.org/directory");
	assert_null(cfg->contact);
	assert_null(cfg->ca_bundle);
	assert_null(cfg->trust_bundle);
	assert_null(cfg->eab_kid);
	assert_null(cfg->eab_hmac_key);
	assert_string_equal(cfg->hooks_dir, "/etc/mailcert/hooks");
	assert_int_equal(cfg->log, MC_LOG_AUTO);
	assert_int_equal(cfg->timing.renew_before, -1);
	assert_int_equal(cfg->timing.hook_timeout, 300);
	assert_int_equal(cfg->timing.verify_timeout, 30);
	assert_int_equal(cfg->n_certs, 1);
	assert_int_equal(cc->n_names, 1);
	assert_string_equal(cc->names[0], "mail.example.com");
	assert_int_equal(cc->key_type, MC_KEY_EC_P256);
	assert_false(cc->reuse_key);
	assert_int_equal(cc->challenge, MC_CHALLENGE_HTTP01);
	assert_string_equal(cc->http_listen, "0.0.0.0:80");
	assert_string_equal(cc->tls_alpn_listen, "0.0.0.0:443");
	assert_null(cc->webroot);
	assert_null(cc->dns_hook);
	assert_null(cc->preferred_chain);
	assert_null(cc->deploy_hook);
	assert_int_equal(cc->n_targets, 0);
	assert_int_equal(cc->n_verify, 0);
	assert_int_equal(cc->timing.renew_before, -1);
	assert_int_equal(cc->timing.hook_timeout, 300);
	assert_int_equal(cc->timing.verify_timeout, 30);
	assert_int_equal(cc->line, 1);
	assert_int_equal(cfg->n_targets, 3);
	t = target_of(cfg, "postfix");
	assert_false(t->declared);
	assert_int_equal(t->line, 0);
	assert_int_equal(t->type, MC_TARGET_POSTFIX);
	assert_string_equal(t->chain_file, "/etc/postfix/tls/%n.pem");
	assert_null(t->cert_file);
	assert_null(t->key_file);
	assert_null(t->owner);
	assert_null(t->group);
	assert_null(t->reload);
	assert_false(t->allow_symlink);
	assert_int_equal(t->mode, 0600);
	t = target_of(cfg, "dovecot");
	assert_int_equal(t->type, MC_TARGET_DOVECOT);
	assert_string_equal(t->cert_file, "/etc/dovecot/tls/%n.crt");
	assert_string_equal(t->key_file, "/etc/dovecot/tls/%n.key");
	assert_null(t->chain_file);
	assert_int_equal(t->mode, 0600);
	t = target_of(cfg, "exim");
	assert_int_equal(t->type, MC_TARGET_EXIM);
	assert_string_equal(t->cert_file, "/etc/exim4/tls/%n.crt");
	assert_string_equal(t->key_file, "/etc/exim4/tls/%n.key");
	assert_string_equal(t->group, "Debian-exim");
	assert_int_equal(t->mode, 0640);
	assert_null(mc_config_target(cfg, "files"));
	assert_null(mc_config_target(cfg, "nginx"));
	assert_null(mc_config_cert(cfg, "other"));
}

static const char example_conf[] =
	"[global]\n"
	"state_dir    = /srv/mailcert\n"
	"directory    = https://localhost:14000/dir\n"
	"contact      = mailto:postmaster@example.com\n"
	"ca_bundle    =                 ; CA file for the ACME server\n"
	"trust_bundle = /etc/ssl/trust.pem\n"
	"eab_kid      =\n"
	"eab_hmac_key =\n"
	"renew_before = auto            ; auto or e.g. 30d\n"
	"hooks_dir    = /etc/mailcert/hooks.d\n"
	"hook_timeout = 2m\n"
	"verify_timeout = 45s\n"
	"log          = syslog\n"
	"\n"
	"[cert mail]\n"
	"names     = mail.example.com smtp.example.com imap.example.com\n"
	"key_type  = rsa-3072\n"
	"reuse_key = yes\n"
	"challenge = tls-alpn-01\n"
	"http_listen = 127.0.0.1:5002\n"
	"webroot   = /var/www/acme\n"
	"tls_alpn_listen = 127.0.0.1:5001\n"
	"dns_hook  =\n"
	"preferred_chain = ISRG Root X1\n"
	"deploy_hook = /usr/local/bin/after-deploy\n"
	"targets   = postfix dovecot exim\n"
	"verify    = smtp://127.0.0.1:25 smtps://127.0.0.1:465 imaps://127.0.0.1:993 "
	"pop3s://127.0.0.1:995\n"
	"\n"
	"[target postfix]\n"
	"type       = postfix\n"
	"chain_file = /etc/postfix/tls/%n.pem\n"
	"reload     = postfix reload\n"
	"\n"
	"[target dovecot]\n"
	"type      = dovecot\n"
	"cert_file = /etc/dovecot/tls/%n.crt\n"
	"key_file  = /etc/dovecot/tls/%n.key\n"
	"\n"
	"[target exim]\n"
	"type      = exim\n"
	"cert_file = /etc/exim4/tls/%n.crt\n"
	"key_file  = /etc/exim4/tls/%n.key\n"
	"group     = Debian-exim\n"
	"mode      = 0640\n";

/* check_example - the INTERFACE.md example, with a few values changed. */
static void
check_example(const struct mc_config *cfg)
{
	const struct mc_cert_conf *cc = cert_of(cfg, "mail");
	const struct mc_target *t;

	assert_string_equal(cfg->state_dir, "/srv/mailcert");
	assert_string_equal(cfg->directory, "https://localhost:14000/dir");
	assert_string_equal(cfg->contact, "mailto:postmaster@example.com");
	assert_null(cfg->ca_bundle);
	assert_string_equal(cfg->trust_bundle, "/etc/ssl/trust.pem");
	assert_null(cfg->eab_kid);
	assert_string_equal(cfg->hooks_dir, "/etc/mailcert/hooks.d");
	assert_int_equal(cfg->timing.renew_before, -1);
	assert_int_equal(cfg->timing.hook_timeout, 120);
	assert_int_equal(cfg->timing.verify_timeout, 45);
	assert_int_equal(cfg->log, MC_LOG_SYSLOG);
	assert_int_equal(cc->n_names, 3);
	assert_string_equal(cc->names[2], "imap.example.com");
	assert_int_equal(cc->key_type, MC_KEY_RSA3072);
	assert_true(cc->reuse_key);
	assert_int_equal(cc->challenge, MC_CHALLENGE_TLSALPN01);
	assert_string_equal(cc->http_listen, "127.0.0.1:5002");
	assert_string_equal(cc->webroot, "/var/www/acme");
	assert_string_equal(cc->tls_alpn_listen, "127.0.0.1:5001");
	assert_null(cc->dns_hook);
	assert_string_equal(cc->preferred_chain, "ISRG Root X1");
	assert_string_equal(cc->deploy_hook, "/usr/local/bin/after-deploy");
	assert_int_equal(cc->n_targets, 3);
	assert_string_equal(cc->targets[1], "dovecot");
	assert_int_equal(cc->n_verify, 4);
	assert_string_equal(cc->verify[3], "pop3s://127.0.0.1:995");
	assert_int_equal(cc->timing.hook_timeout, 120);
	assert_int_equal(cc->line, 15);
	assert_int_equal(cfg->n_targets, 3);
	t = target_of(cfg, "postfix");
	assert_true(t->declared);
	assert_int_equal(t->line, 29);
	assert_string_equal(t->reload, "postfix reload");
	t = target_of(cfg, "exim");
	assert_int_equal(t->mode, 0640);
	assert_string_equal(t->group, "Debian-exim");
}

/* check_global_after_cert - [global] below [cert] still sets the cert's timing. */
static void
check_global_after_cert(const struct mc_config *cfg)
{
	const struct mc_cert_conf *cc = cert_of(cfg, "mail");

	assert_int_equal(cc->timing.renew_before, 10 * 86400);
	assert_int_equal(cc->timing.hook_timeout, 60);
	assert_int_equal(cc->timing.verify_timeout, 30);
	assert_int_equal(cfg->timing.renew_before, 10 * 86400);
}

/* check_overrides - [cert] timing keys override [global] for that cert only. */
static void
check_overrides(const struct mc_config *cfg)
{
	const struct mc_cert_conf *a = cert_of(cfg, "a"), *b = cert_of(cfg, "b");

	assert_int_equal(a->timing.renew_before, 20 * 86400);
	assert_int_equal(a->timing.verify_timeout, 120);
	assert_int_equal(a->timing.hook_timeout, 3 * 3600);
	assert_int_equal(b->timing.renew_before, 10 * 86400);
	assert_int_equal(b->timing.verify_timeout, 30);
	assert_int_equal(b->timing.hook_timeout, 90);
	assert_int_equal(cfg->n_certs, 2);
}

/* check_wildcard - a wildcard with dns-01 and its hook. */
static void
check_wildcard(const struct mc_config *cfg)
{
	const struct mc_cert_conf *cc = cert_of(cfg, "wild");

	assert_int_equal(cc->challenge, MC_CHALLENGE_DNS01);
	assert_string_equal(cc->names[0], "*.example.com");
	assert_string_equal(cc->names[1], "example.com");
	assert_string_equal(cc->dns_hook, "/usr/local/bin/dns-hook");
}

/* check_normalized - upper case and a trailing dot are normalized away. */
static void
check_normalized(const struct mc_config *cfg)
{
	const struct mc_cert_conf *cc = cert_of(cfg, "mail");

	assert_int_equal(cc->n_names, 2);
	assert_string_equal(cc->names[0], "mail.example.com");
	assert_string_equal(cc->names[1], "xn--bcher-kva.example");
}

/* check_continuation - indented lines continue a list. */
static void
check_continuation(const struct mc_config *cfg)
{
	const struct mc_cert_conf *cc = cert_of(cfg, "mail");

	assert_int_equal(cc->n_names, 4);
	assert_string_equal(cc->names[0], "a.example.com");
	assert_string_equal(cc->names[3], "d.example.com");
	assert_int_equal(cc->key_type, MC_KEY_RSA4096);
	assert_int_equal(cc->n_verify, 2);
}

/* check_hundred - 100 names on one (long) line. */
static void
check_hundred(const struct mc_config *cfg)
{
	const struct mc_cert_conf *cc = cert_of(cfg, "big");

	assert_int_equal(cc->n_names, 100);
	assert_string_equal(cc->names[0], "host000.example.com");
	assert_string_equal(cc->names[99], "host099.example.com");
	assert_int_equal(cc->key_type, MC_KEY_RSA2048);
}

/* check_files_target - a files target with every key set. */
static void
check_files_target(const struct mc_config *cfg)
{
	const struct mc_target *t = target_of(cfg, "haproxy");

	assert_true(t->declared);
	assert_int_equal(t->type, MC_TARGET_FILES);
	assert_string_equal(t->combined_file, "/etc/haproxy/certs/%n.pem");
	assert_string_equal(t->fullchain_file, "/etc/haproxy/%n.full");
	assert_null(t->chain_file);
	assert_string_equal(t->owner, "haproxy");
	assert_string_equal(t->group, "ssl-cert");
	assert_int_equal(t->mode, 0640);
	assert_true(t->allow_symlink);
	assert_string_equal(t->reload, "systemctl reload haproxy");
	assert_int_equal(cfg->n_targets, 4);
	assert_string_equal(cert_of(cfg, "mail")->targets[0], "haproxy");
}

/* check_target_config - `config` is kept per target; NULL means the system one. */
static void
check_target_config(const struct mc_config *cfg)
{
	assert_string_equal(target_of(cfg, "postfix")->config, "/srv/postfix-out");
	assert_string_equal(target_of(cfg, "exim")->config, "/etc/exim4/exim4.conf");
	assert_null(target_of(cfg, "dovecot")->config);
}

/* check_postfix_own_files - naming files replaces the type's default file set. */
static void
check_postfix_own_files(const struct mc_config *cfg)
{
	const struct mc_target *t = target_of(cfg, "postfix");

	assert_null(t->chain_file);
	assert_string_equal(t->cert_file, "/etc/postfix/%n.crt");
	assert_string_equal(t->key_file, "/etc/postfix/%n.key");
	assert_int_equal(t->mode, 0600);
	t = target_of(cfg, "exim");
	assert_int_equal(t->mode, 0600);
	assert_string_equal(t->group, "Debian-exim");
	assert_string_equal(t->owner, "Debian-exim");
}

/* check_bools - every spelling of yes and no. */
static void
check_bools(const struct mc_config *cfg)
{
	assert_true(cert_of(cfg, "a")->reuse_key);
	assert_true(cert_of(cfg, "b")->reuse_key);
	assert_true(cert_of(cfg, "c")->reuse_key);
	assert_false(cert_of(cfg, "d")->reuse_key);
	assert_false(cert_of(cfg, "e")->reuse_key);
	assert_false(target_of(cfg, "postfix")->allow_symlink);
	assert_true(target_of(cfg, "dovecot")->allow_symlink);
}

/* check_eab - EAB key id and HMAC key together. */
static void
check_eab(const struct mc_config *cfg)
{
	assert_string_equal(cfg->eab_kid, "kid-1");
	assert_string_equal(cfg->eab_hmac_key,
	    "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W");
	assert_string_equal(cfg->contact, "mailto:a@example.com mailto:b@example.com");
	assert_int_equal(cfg->log, MC_LOG_STDERR);
}

/* check_endpoints - verify URLs and IPv6 listen addresses. */
static void
check_endpoints(const struct mc_config *cfg)
{
	const struct mc_cert_conf *cc = cert_of(cfg, "mail");

	assert_int_equal(cc->n_verify, 5);
	assert_string_equal(cc->verify[0], "smtp://mail.example.com");
	assert_string_equal(cc->verify[1], "imaps://[::1]:993");
	assert_string_equal(cc->verify[2], "tls://127.0.0.1:8443");
	assert_string_equal(cc->verify[3], "sieve://127.0.0.1/");
	/* parsed at load, by the parser verify uses */
	assert_non_null(cc->endpoints);
	assert_string_equal(cc->endpoints[0].url, "smtp://mail.example.com:25");
	assert_int_equal(cc->endpoints[1].scheme, MC_SCHEME_IMAPS);
	assert_string_equal(cc->endpoints[1].host, "::1");
	assert_int_equal(cc->endpoints[2].port, 8443);
	assert_string_equal(cc->endpoints[3].url, "sieve://127.0.0.1:4190");
	assert_string_equal(cc->http_listen, "[::]:8080");
	assert_string_equal(cc->tls_alpn_listen, "[::1]:5001");
}

/* check_durations - plain seconds, renew_before in hours. */
static void
check_durations(const struct mc_config *cfg)
{
	assert_int_equal(cfg->timing.renew_before, 36 * 3600);
	assert_int_equal(cfg->timing.hook_timeout, 90);
	assert_int_equal(cfg->timing.verify_timeout, 1);
	assert_int_equal(cert_of(cfg, "mail")->timing.renew_before, -1);
}

/* check_empty - an empty file is a valid config without certs. */
static void
check_empty(const struct mc_config *cfg)
{
	assert_int_equal(cfg->n_certs, 0);
	assert_int_equal(cfg->n_targets, 3);
	assert_string_equal(cfg->state_dir, "/var/lib/mailcert");
}

/* check_two_certs - the same targets serve two certs (their %n differ). */
static void
check_two_certs(const struct mc_config *cfg)
{
	assert_int_equal(cfg->n_certs, 2);
	assert_int_equal(cert_of(cfg, "one")->n_targets, 3);
	assert_int_equal(cert_of(cfg, "two")->n_targets, 3);
	assert_int_equal(cert_of(cfg, "two")->line, 4);
}

/* check_crlf - CRLF line ends, a BOM, comments of both kinds. */
static void
check_crlf(const struct mc_config *cfg)
{
	const struct mc_cert_conf *cc = cert_of(cfg, "mail");

	assert_string_equal(cfg->state_dir, "/srv/state");
	assert_string_equal(cc->names[0], "mail.example.com");
	assert_int_equal(cc->key_type, MC_KEY_EC_P384);
	assert_string_equal(cc->preferred_chain, "Root #2");
}

/* check_long_words - words longer than inih's 200-byte line survive intact. */
static void
check_long_words(const struct mc_config *cfg)
{
	const struct mc_cert_conf *cc = cert_of(cfg, "mail");

	assert_string_equal(cc->webroot, PATH260);
	assert_int_equal(cc->n_names, 3);
	assert_string_equal(cc->names[0], "a.example.com");
	assert_string_equal(cc->names[1], NAME253);
	assert_string_equal(cc->names[2], "b.example.com");
	assert_string_equal(cc->deploy_hook, "/x;y#z");
}

/* check_ip_profile - IP addresses beside DNS names (canonical form), a profile. */
static void
check_ip_profile(const struct mc_config *cfg)
{
	const struct mc_cert_conf *cc = cert_of(cfg, "mail");

	assert_int_equal(cc->n_names, 3);
	assert_string_equal(cc->names[0], "mail.example.com");
	assert_string_equal(cc->names[1], "192.0.2.25");
	assert_string_equal(cc->names[2], "2001:db8::25");
	assert_string_equal(cc->profile, "tlsserver");
	assert_null(cert_of(cfg, "other")->profile);
}

/* check_dane - the DNS and DANE keys (issue 12). */
static void
check_dane(const struct mc_config *cfg)
{
	const struct mc_cert_conf *cc = cert_of(cfg, "mail");

	assert_string_equal(cfg->resolver, "127.0.0.1:5353");
	assert_string_equal(cfg->dnssec_anchor, "/etc/mailcert/anchor.ds");
	assert_string_equal(cfg->nsupdate_server, "[::1]:53");
	assert_string_equal(cfg->nsupdate_key, "/etc/mailcert/tsig.key");
	assert_int_equal(cc->n_tlsa, 2);
	assert_string_equal(cc->tlsa[0], "_25._tcp.mx1.example.com");
	assert_string_equal(cc->tlsa[1], "_465._tcp.mx1.example.com");
	assert_string_equal(cc->tlsa_hook, "/usr/local/bin/tlsa-hook");
	assert_int_equal(cc->challenge, MC_CHALLENGE_DNS01);
	assert_null(cc->dns_hook);
}

/* check_recursive - resolver = recursive; no DNS keys elsewhere. */
static void
check_recursive(const struct mc_config *cfg)
{
	assert_string_equal(cfg->resolver, "recursive");
	assert_null(cfg->dnssec_anchor);
	assert_int_equal(cert_of(cfg, "mail")->n_tlsa, 0);
}

static char hundred_names[4096];

static const struct good_case good_cases[] = {
	{ "DNS and DANE keys; dns-01 through nsupdate_server",
	  "[global]\nresolver = 127.0.0.1:5353\ndnssec_anchor = /etc/mailcert/anchor.ds\n"
	  "nsupdate_server = [::1]:53\nnsupdate_key = /etc/mailcert/tsig.key\n"
	  "[cert mail]\nnames = mail.example.com\nchallenge = dns-01\n"
	  "tlsa = _25._TCP.MX1.example.com. _465._tcp.mx1.example.com\n"
	  "tlsa_hook = /usr/local/bin/tlsa-hook\n", check_dane },
	{ "resolver = recursive", "[global]\nresolver = recursive\n" "[cert mail]\nnames = mail.example.com\n", check_recursive },
	{ "minimal cert and all defaults", "[cert mail]\nnames = mail.example.com\n",
	  check_minimal },
	{ "the INTERFACE.md example", example_conf, check_example },
	{ "[global] after [cert]",
	  "[cert mail]\nnames = mail.example.com\n[global]\nrenew_before = 10d\n"
	  "hook_timeout = 1m\n", check_global_after_cert },
	{ "timing overrides in [cert]",
	  "[global]\nrenew_before = 10d\nhook_timeout = 90\n"
	  "[cert a]\nnames = a.example.com\nrenew_before = 20d\nverify_timeout = 2m\n"
	  "hook_timeout = 3h\n[cert b]\nnames = b.example.com\n", check_overrides },
	{ "wildcard with dns-01",
	  "[cert wild]\nnames = *.example.com example.com\nchallenge = dns-01\n"
	  "dns_hook = /usr/local/bin/dns-hook\n", check_wildcard },
	{ "upper case and trailing dot",
	  "[cert mail]\nnames = Mail.Example.COM. XN--BCHER-KVA.example\n",
	  check_normalized },
	{ "continuation lines",
	  "[cert mail]\nnames = a.example.com\n    b.example.com ; two\n"
	  "\tc.example.com d.example.com\nkey_type = RSA-4096\nverify =\n"
	  "  smtp://127.0.0.1\n  imap://127.0.0.1:143\n", check_continuation },
	{ "100 names on one line", hundred_names, check_hundred },
	{ "files target",
	  "[target haproxy]\ntype = files\ncombined_file = /etc/haproxy/certs/%n.pem\n"
	  "fullchain_file = /etc/haproxy/%n.full\nowner = haproxy\ngroup = ssl-cert\n"
	  "allow_symlink = yes\nreload = systemctl reload haproxy\n"
	  "[cert mail]\nnames = mail.example.com\ntargets = haproxy postfix\n",
	  check_files_target },
	{ "own files replace the type defaults",
	  "[target postfix]\ncert_file = /etc/postfix/%n.crt\nkey_file = /etc/postfix/%n.key\n"
	  "[target exim]\nmode = 0600\nowner = Debian-exim\n"
	  "[cert mail]\nnames = mail.example.com\ntargets = postfix exim\n",
	  check_postfix_own_files },
	{ "daemon configuration of a target",
	  "[target postfix]\nconfig = /srv/postfix-out\n"
	  "[target exim]\nconfig = /etc/exim4/exim4.conf\n", check_target_config },
	{ "boolean spellings",
	  "[cert a]\nnames = a.example.com\nreuse_key = true\n"
	  "[cert b]\nnames = b.example.com\nreuse_key = 1\n"
	  "[cert c]\nnames = c.example.com\nreuse_key = On\n"
	  "[cert d]\nnames = d.example.com\nreuse_key = false\n"
	  "[cert e]\nnames = e.example.com\nreuse_key = 0\n"
	  "[target postfix]\nallow_symlink = no\n[target dovecot]\nallow_symlink = YES\n",
	  check_bools },
	{ "external account binding",
	  "[global]\neab_kid = kid-1\n"
	  "eab_hmac_key = zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W\n"
	  "contact = mailto:a@example.com mailto:b@example.com\nlog = stderr\n",
	  check_eab },
	{ "endpoints and IPv6 listeners",
	  "[cert mail]\nnames = mail.example.com\nverify = smtp://mail.example.com "
	  "imaps://[::1]:993 tls://127.0.0.1:8443 sieve://127.0.0.1/ "
	  "SUBMISSION://127.0.0.1:587\nhttp_listen = [::]:8080\n"
	  "tls_alpn_listen = [::1]:5001\n", check_endpoints },
	{ "durations",
	  "[global]\nrenew_before = 36h\nhook_timeout = 90\nverify_timeout = 1s\n"
	  "[cert mail]\nnames = mail.example.com\nrenew_before = auto\n",
	  check_durations },
	{ "empty file", "", check_empty },
	{ "IP addresses and a profile",
	  "[cert mail]\nnames = mail.example.com 192.0.2.25 2001:DB8:0::25\n"
	  "challenge = tls-alpn-01\nprofile = tlsserver\n"
	  "[cert other]\nnames = other.example.com\nprofile =\n", check_ip_profile },
	{ "words longer than a line of inih",
	  "[cert mail]\nwebroot = " PATH260 "\nnames = a.example.com " NAME253
	  " b.example.com\ndeploy_hook = /x;y#z\n", check_long_words },
	{ "two certs, same targets",
	  "[cert one]\nnames = one.example.com\ntargets = postfix dovecot exim\n"
	  "[cert two]\nnames = two.example.com\ntargets = postfix dovecot exim\n",
	  check_two_certs },
	{ "CRLF, BOM and comments",
	  "\xEF\xBB\xBF; comment\r\n# another\r\n[global] ; here\r\nstate_dir = /srv/state\r\n"
	  "[cert mail]\r\nnames = mail.example.com\r\nkey_type = ecdsa-p384 ; P-384\r\n"
	  "preferred_chain = Root #2\r\n", check_crlf },
};

/* fill_hundred - a config with 100 names on one line (far over inih's 200 bytes). */
static void
fill_hundred(void)
{
	size_t o;
	int i;

	o = (size_t)snprintf(hundred_names, sizeof(hundred_names), "[cert big]\nnames =");
	for (i = 0; i < 100; i++)
		o += (size_t)snprintf(hundred_names + o, sizeof(hundred_names) - o,
		    " host%03d.example.com", i);
	snprintf(hundred_names + o, sizeof(hundred_names) - o, "\nkey_type = rsa-2048\n");
}

/* test_good - every good config loads and has the expected values. */
static void
test_good(void **state)
{
	struct mc_config *cfg;
	struct mc_err err;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good_cases) / sizeof(good_cases[0]); i++) {
		cfg = load_text(good_cases[i].text, &err);
		if (cfg == NULL)
			fail_msg("%s: %s", good_cases[i].label, err.msg);
		good_cases[i].check(cfg);
		mc_config_free(cfg);
	}
}

/* ---- broken configurations -------------------------------------------- */

struct bad_case {
	const char *label;
	const char *text;
	enum mc_err_cat cat;
	const char *frag; /* '@' = the config file's path */
};

#define CERT "[cert mail]\nnames = mail.example.com\n"

static const struct bad_case bad_cases[] = {
	/* DNS and DANE keys */
	{ "resolver a host name", "[global]\nresolver = ns.example.com\n", MC_ERR_CONFIG,
	  "@:2: resolver: \"ns.example.com\" is not an IP address; write the server's "
	  "address, e.g. 127.0.0.1 or [2001:db8::53]:53, or recursive" },
	{ "resolver bad port", "[global]\nresolver = 127.0.0.1:99999\n", MC_ERR_CONFIG,
	  "@:2: resolver: \"127.0.0.1:99999\" is not HOST[:PORT]" },
	{ "nsupdate_server recursive", "[global]\nnsupdate_server = recursive\n",
	  MC_ERR_CONFIG, "@:2: nsupdate_server: \"recursive\" is not an IP address" },
	{ "nsupdate_server two words", "[global]\nnsupdate_server = 127.0.0.1 ::1\n",
	  MC_ERR_CONFIG, "@:2: nsupdate_server: \"127.0.0.1 ::1\" is not HOST[:PORT]" },
	{ "dnssec_anchor relative", "[global]\ndnssec_anchor = root.key\n", MC_ERR_CONFIG,
	  "@:2: dnssec_anchor: \"root.key\" is not an absolute path" },
	{ "nsupdate_key relative", "[global]\nnsupdate_key = k\n", MC_ERR_CONFIG,
	  "@:2: nsupdate_key: \"k\" is not an absolute path" },
	{ "tlsa without port", CERT "tlsa = mx.example.com\n", MC_ERR_CONFIG,
	  "@:3: tlsa: \"mx.example.com\" is not a TLSA name; write _PORT._tcp.HOST" },
	{ "tlsa port 0", CERT "tlsa = _0._tcp.mx.example.com\n", MC_ERR_CONFIG,
	  "@:3: tlsa: \"_0._tcp.mx.example.com\" is not a TLSA name" },
	{ "tlsa port too big", CERT "tlsa = _65536._tcp.mx.example.com\n", MC_ERR_CONFIG,
	  "is not a TLSA name" },
	{ "tlsa bad protocol", CERT "tlsa = _25._icmp.mx.example.com\n", MC_ERR_CONFIG,
	  "is not a TLSA name" },
	{ "tlsa bad host", CERT "tlsa = _25._tcp.mx..example.com\n", MC_ERR_CONFIG,
	  "@:3: tlsa: TLSA name \"_25._tcp.mx..example.com\": " },
	{ "tlsa wildcard host", CERT "tlsa = _25._tcp.*.example.com\n", MC_ERR_CONFIG,
	  "wildcard" },
	{ "tlsa twice", CERT "tlsa = _25._tcp.mx.example.com _25._TCP.mx.example.com\n",
	  MC_ERR_CONFIG, "is listed twice" },
	{ "tlsa_hook relative", CERT "tlsa_hook = hook\n", MC_ERR_CONFIG,
	  "@:3: tlsa_hook: \"hook\" is not an absolute path" },
	/* structure */
	{ "unknown section", "[global]\n[foo]\n", MC_ERR_CONFIG,
	  "@:2: [foo]: unknown section; use [global], [cert NAME] or [target NAME]" },
	{ "global with a name", "[global extra]\n", MC_ERR_CONFIG,
	  "@:1: [global extra]: unknown section" },
	{ "header without ]", "[cert mail\nnames = a.example.com\n", MC_ERR_CONFIG,
	  "@:1: section: header without ']'" },
	{ "text after ]", "[cert mail] names = x\n", MC_ERR_CONFIG,
	  "@:1: section: text after ']'" },
	{ "cert without name", "[cert]\n", MC_ERR_CONFIG,
	  "@:1: [cert]: missing name; write [cert NAME]" },
	{ "key outside a section", "state_dir = /srv\n[global]\n", MC_ERR_CONFIG,
	  "@:1: state_dir: outside any section; put it under [global]" },
	{ "line without =", "[global]\nstate_dir /srv\n", MC_ERR_CONFIG,
	  "@:2: not a section, a comment or KEY = VALUE" },
	{ "= without key", "[global]\n= /srv\n", MC_ERR_CONFIG,
	  "@:2: '=' without a key in front" },
	{ "indented line without key", "[cert mail]\n  mail.example.com\n", MC_ERR_CONFIG,
	  "@:2: indented line but no key above it" },
	{ "control character", "[global]\nstate_dir = /srv\x01x\n", MC_ERR_CONFIG,
	  "@:2: control character in the line" },
	{ "NUL byte", "[global]\n\n\nstate_dir = /srv\0x\n", MC_ERR_CONFIG, "@:4: NUL byte" },
	{ "unknown key with hint", "[global]\nstat_dir = /srv\n", MC_ERR_CONFIG,
	  "@:2: stat_dir: unknown key in [global]; did you mean state_dir?" },
	{ "unknown key without hint", CERT "colour = blue\n", MC_ERR_CONFIG,
	  "@:3: colour: unknown key in [cert mail]; see mailcert.conf(5)" },
	{ "target key in a cert", CERT "type = postfix\n", MC_ERR_CONFIG,
	  "@:3: type: unknown key in [cert mail]; it belongs in a [target NAME] section" },
	{ "global key in a cert", CERT "state_dir = /srv\n", MC_ERR_CONFIG,
	  "@:3: state_dir: unknown key in [cert mail]; it belongs in a [global] section" },
	{ "order_timeout too short", CERT "order_timeout = 9s\n", MC_ERR_CONFIG,
	  "@:3: order_timeout: must be between 10s and 24h" },
	{ "order_timeout too long", CERT "order_timeout = 25h\n", MC_ERR_CONFIG,
	  "@:3: order_timeout: must be between 10s and 24h" },
	{ "order_timeout not a duration", CERT "order_timeout = long\n", MC_ERR_CONFIG,
	  "@:3: order_timeout: \"long\" is not a duration" },
	{ "dns_wait over an hour", CERT "dns_wait = 61m\n", MC_ERR_CONFIG,
	  "@:3: dns_wait: longer than 1h" },
	{ "include relative", "[global]\ninclude = conf.d/*.conf\n", MC_ERR_CONFIG,
	  "@:2: include: \"conf.d/*.conf\" is not an absolute path" },
	{ "include in a cert", CERT "include = /etc/x/*.conf\n", MC_ERR_CONFIG,
	  "@:3: include: unknown key in [cert mail]; it belongs in a [global] section" },
	{ "include of a missing directory", "[global]\ninclude = /nonexistent-mc/*.conf\n",
	  MC_ERR_CONFIG, "@:2: include: the directory /nonexistent-mc/ of" },
	{ "include of a missing file", "[global]\ninclude = /nonexistent-mc.conf\n",
	  MC_ERR_CONFIG, "@:2: include: /nonexistent-mc.conf does not exist" },
	{ "duplicate key", CERT "key_type = rsa-2048\nkey_type = rsa-4096\n", MC_ERR_CONFIG,
	  "@:4: key_type: set twice in this section (first at line 3); keep one" },
	{ "duplicate empty key", "[global]\nca_bundle =\nca_bundle = /x\n", MC_ERR_CONFIG,
	  "@:3: ca_bundle: set twice" },
	{ "duplicate cert", CERT "\n" CERT, MC_ERR_CONFIG,
	  "@:4: [cert mail]: appears twice (first at line 1); merge the two sections" },
	{ "duplicate global", "[global]\n[global]\n", MC_ERR_CONFIG,
	  "@:2: [global]: appears twice (first at line 1)" },
	{ "duplicate target", "[target postfix]\n[target postfix]\n", MC_ERR_CONFIG,
	  "@:2: [target postfix]: appears twice (first at line 1)" },
	{ "line numbers after a long line",
	  "[cert mail]\nnames = a000.example.com a001.example.com a002.example.com "
	  "a003.example.com a004.example.com a005.example.com a006.example.com "
	  "a007.example.com a008.example.com a009.example.com a010.example.com "
	  "a011.example.com a012.example.com a013.example.com\n\nkey_typ = rsa-2048\n",
	  MC_ERR_CONFIG, "@:4: key_typ: unknown key in [cert mail]; did you mean key_type?" },
	/* cert names */
	{ "cert name ../x", "[cert ../x]\n", MC_ERR_CONFIG,
	  "@:1: [cert ../x]: not a safe cert name; use 1 to 64 letters" },
	{ "cert name a/b", "[global]\n[cert a/b]\n", MC_ERR_CONFIG,
	  "@:2: [cert a/b]: not a safe cert name" },
	{ "cert name .", "[cert .]\n", MC_ERR_CONFIG, "@:1: [cert .]: not a safe cert name" },
	{ "cert name .hidden", "[cert .hidden]\n", MC_ERR_CONFIG,
	  "@:1: [cert .hidden]: not a safe cert name" },
	{ "cert name -x", "[cert -x]\n", MC_ERR_CONFIG, "@:1: [cert -x]: not a safe" },
	{ "cert name 65 chars", "[cert " LONG65 "]\n", MC_ERR_CONFIG, "not a safe cert name" },
	{ "cert name with space", "[cert a b]\n", MC_ERR_CONFIG,
	  "@:1: [cert a b]: not a safe cert name" },
	{ "target name a/b", "[target a/b]\ntype = files\n", MC_ERR_CONFIG,
	  "@:1: [target a/b]: not a safe target name" },
	/* DNS names */
	{ "names missing", "[cert mail]\nkey_type = rsa-2048\n", MC_ERR_CONFIG,
	  "@:1: [cert mail]: names: missing; list the DNS names of this certificate" },
	{ "names empty", "\n[cert mail]\nnames =\n", MC_ERR_CONFIG,
	  "@:2: [cert mail]: names: missing" },
	{ "64-char label", "[cert mail]\nnames = " LONG64 ".example.com\n", MC_ERR_CONFIG,
	  "@:2: names: \"" LONG64 ".example.com\": label of 64 characters; a DNS label has "
	  "at most 63" },
	{ "254-char name", "[cert mail]\nnames = " LONG63 "." LONG63 "." LONG63 "." LONG62
	  "\n", MC_ERR_CONFIG, "\": name of 254 characters; a DNS name has at most 253" },
	{ "underscore", "[cert mail]\nnames = mail_1.example.com\n", MC_ERR_CONFIG,
	  "@:2: names: \"mail_1.example.com\": label \"mail_1\" has a character other" },
	{ "leading hyphen", "[cert mail]\nnames = -mail.example.com\n", MC_ERR_CONFIG,
	  "@:2: names: \"-mail.example.com\": label \"-mail\" starts or ends with '-'" },
	{ "trailing hyphen", "[cert mail]\nnames = mail-.example.com\n", MC_ERR_CONFIG,
	  "label \"mail-\" starts or ends with '-'" },
	{ "empty label", "[cert mail]\nnames = mail..example.com\n", MC_ERR_CONFIG,
	  "@:2: names: \"mail..example.com\": empty label" },
	{ "bad IPv4 literal", "[cert mail]\nnames = 192.0.2.300\n", MC_ERR_CONFIG,
	  "@:2: names: \"192.0.2.300\": neither a DNS name nor an IPv4 address" },
	{ "bracketed IPv6", "[cert mail]\nnames = [::1]\n", MC_ERR_CONFIG,
	  "@:2: names: \"[::1]\": neither a DNS name nor an IPv6 address" },
	{ "IPv4 with dns-01", "[cert mail]\nnames = mail.example.com 192.0.2.1\n"
	  "challenge = dns-01\ndns_hook = /bin/h\n", MC_ERR_CONFIG,
	  "@:2: names: \"192.0.2.1\" is an IP address, which dns-01 cannot prove" },
	{ "IPv6 with dns-01", "[cert mail]\nchallenge = dns-01\ndns_hook = /bin/h\n"
	  "names = 2001:DB8::25\n", MC_ERR_CONFIG,
	  "@:4: names: \"2001:db8::25\" is an IP address, which dns-01 cannot prove" },
	{ "same address twice", "[cert mail]\nnames = 2001:db8::1 2001:DB8:0::1\n",
	  MC_ERR_CONFIG, "@:2: names: \"2001:db8::1\" is listed twice" },
	{ "bad U-label", "[cert mail]\nnames = \xe2\x98\x83.example\n", MC_ERR_CONFIG,
	  "@:2: names: \"\xe2\x98\x83.example\": not a valid international name" },
	{ "U-label twice", "[cert mail]\nnames = xn--bcher-kva.example "
	  "b\xc3\xbc" "cher.example\n", MC_ERR_CONFIG,
	  "@:2: names: \"xn--bcher-kva.example\" is listed twice" },
	{ "single label", "[cert mail]\nnames = localhost\n", MC_ERR_CONFIG,
	  "@:2: names: \"localhost\": single-label name" },
	{ "duplicate name after lower-casing",
	  "[cert mail]\nnames = mail.example.com Mail.Example.Com.\n", MC_ERR_CONFIG,
	  "@:2: names: \"mail.example.com\" is listed twice; list it once" },
	{ "wildcard with http-01", "[cert mail]\nnames = *.example.com\n", MC_ERR_CONFIG,
	  "@:2: names: \"*.example.com\" is a wildcard; wildcards need challenge = dns-01" },
	{ "wildcard with tls-alpn-01",
	  "[cert mail]\nchallenge = tls-alpn-01\nnames = a.example.com *.example.com\n",
	  MC_ERR_CONFIG, "@:3: names: \"*.example.com\" is a wildcard" },
	{ "wildcard not first", "[cert mail]\nnames = a.*.example.com\nchallenge = dns-01\n"
	  "dns_hook = /bin/h\n", MC_ERR_CONFIG,
	  "@:2: names: \"a.*.example.com\": '*' is allowed only as the whole first label" },
	{ "partial wildcard", "[cert mail]\nnames = w*.example.com\nchallenge = dns-01\n"
	  "dns_hook = /bin/h\n", MC_ERR_CONFIG, "'*' is allowed only" },
	/* cert keys */
	{ "bad key type", CERT "key_type = ecdsa-p521\n", MC_ERR_CONFIG,
	  "@:3: key_type: \"ecdsa-p521\" is not a key type or a pair of them; use "
	  "one of rsa-2048 rsa-3072 rsa-4096 ecdsa-p256 ecdsa-p384, or one ECDSA and "
	  "one RSA type" },
	{ "two RSA key types", CERT "key_type = rsa-2048 rsa-4096\n", MC_ERR_CONFIG,
	  "@:3: key_type: \"rsa-2048 rsa-4096\": two key types must be one ECDSA and "
	  "one RSA type" },
	{ "two ECDSA key types", CERT "key_type = ecdsa-p256, ecdsa-p384\n",
	  MC_ERR_CONFIG, "@:3: key_type: \"ecdsa-p256, ecdsa-p384\": two key types" },
	{ "three key types", CERT "key_type = ecdsa-p256 rsa-2048 rsa-4096\n",
	  MC_ERR_CONFIG, "@:3: key_type: \"ecdsa-p256 rsa-2048 rsa-4096\" is not a key "
	  "type or a pair of them" },
	{ "dual with a path without %k",
	  "[target pf]\ntype = postfix\nchain_file = /etc/pf/%n.pem\n\n"
	  "[cert mail]\nnames = a.example.com\nkey_type = ecdsa-p256 rsa-2048\n"
	  "targets = pf\n", MC_ERR_CONFIG,
	  "@:7: key_type: two key types need their own files, but target pf has "
	  "chain_file = /etc/pf/%n.pem without %k" },
	{ "dual, %k in one path only",
	  "[target dc]\ntype = dovecot\ncert_file = /d/%n.%k.crt\nkey_file = /d/%n.key\n\n"
	  "[cert mail]\nnames = a.example.com\nkey_type = rsa-2048 ecdsa-p256\n"
	  "targets = dc\n", MC_ERR_CONFIG, "target dc has key_file = /d/%n.key without %k" },
	{ "bad %-escape", "[target f]\ntype = files\ncert_file = /d/%n.%x.pem\n",
	  MC_ERR_CONFIG, "only %n (the cert name), %k (the key algorithm: ecdsa or rsa)" },
	{ "bad verify_without_sni", CERT "verify_without_sni = sometimes\n",
	  MC_ERR_CONFIG, "@:3: verify_without_sni: \"sometimes\" is not yes or no" },
	{ "bad challenge", CERT "challenge = http-02\n", MC_ERR_CONFIG,
	  "@:3: challenge: \"http-02\" is not a challenge type; use one of http-01" },
	{ "bad boolean", CERT "reuse_key = maybe\n", MC_ERR_CONFIG,
	  "@:3: reuse_key: \"maybe\" is not yes or no" },
	{ "dns-01 without hook", CERT "challenge = dns-01\n", MC_ERR_CONFIG,
	  "@:1: [cert mail]: dns_hook: missing; challenge = dns-01 needs a hook" },
	{ "relative dns_hook", CERT "challenge = dns-01\ndns_hook = hooks/dns\n",
	  MC_ERR_CONFIG, "@:4: dns_hook: \"hooks/dns\" is not an absolute path" },
	{ "profile of two words", CERT "profile = tls server\n", MC_ERR_CONFIG,
	  "@:3: profile: must be one word" },
	{ "relative webroot", CERT "webroot = var/www\n", MC_ERR_CONFIG,
	  "@:3: webroot: \"var/www\" is not an absolute path; write it from /" },
	{ "relative deploy_hook", CERT "deploy_hook = ./x\n", MC_ERR_CONFIG,
	  "@:3: deploy_hook: \"./x\" is not an absolute path" },
	{ "listen without port", CERT "http_listen = 0.0.0.0\n", MC_ERR_CONFIG,
	  "@:3: http_listen: listen address \"0.0.0.0\": no :PORT; write HOST:PORT" },
	{ "listen port 0", CERT "http_listen = 0.0.0.0:0\n", MC_ERR_CONFIG,
	  "@:3: http_listen: listen address \"0.0.0.0:0\": the port must be 1 to 65535" },
	{ "listen port 65536", CERT "tls_alpn_listen = 127.0.0.1:65536\n", MC_ERR_CONFIG,
	  "@:3: tls_alpn_listen: listen address \"127.0.0.1:65536\": the port must be" },
	{ "listen IPv6 without brackets", CERT "http_listen = ::1:80\n", MC_ERR_CONFIG,
	  "@:3: http_listen: listen address \"::1:80\": an IPv6 address needs brackets" },
	{ "listen bad IPv6", CERT "http_listen = [fe80::zz]:80\n", MC_ERR_CONFIG,
	  "@:3: http_listen: listen address \"[fe80::zz]:80\": the bracketed host is not an "
	  "IPv6 address" },
	{ "listen on a host name", CERT "http_listen = host.name:80\n", MC_ERR_CONFIG,
	  "@:3: http_listen: listen address \"host.name:80\": the host is not an IPv4 "
	  "address or localhost (host names are not resolved for listening)" },
	{ "tls-alpn listen on a host name", CERT "tls_alpn_listen = mail.example.com:443\n",
	  MC_ERR_CONFIG, "@:3: tls_alpn_listen: listen address \"mail.example.com:443\": "
	  "the host is not an IPv4 address" },
	{ "verify bad scheme", CERT "verify = https://127.0.0.1\n", MC_ERR_CONFIG,
	  "@:3: verify: endpoint URL \"https://127.0.0.1\": unknown or missing scheme; use "
	  "SCHEME://HOST[:PORT]" },
	{ "verify without scheme", CERT "verify = 127.0.0.1:25\n", MC_ERR_CONFIG,
	  "@:3: verify: endpoint URL \"127.0.0.1:25\": unknown or missing scheme" },
	{ "verify tls without port", CERT "verify = tls://127.0.0.1\n", MC_ERR_CONFIG,
	  "@:3: verify: endpoint URL \"tls://127.0.0.1\": tls:// needs a port" },
	{ "verify without host", CERT "verify = smtp://\n", MC_ERR_CONFIG,
	  "@:3: verify: endpoint URL \"smtp://\": missing or bad host" },
	/* dry runs, pruning, metrics */
	{ "keep_versions 1", "[global]\nkeep_versions = 1\n", MC_ERR_CONFIG,
	  "@:2: keep_versions: \"1\" is not a number from 2 to 10000; the current "
	  "version and the one before it are always kept" },
	{ "keep_versions not a number", "[global]\nkeep_versions = five\n", MC_ERR_CONFIG,
	  "@:2: keep_versions: \"five\" is not a number from 2 to 10000" },
	{ "keep_versions huge", "[global]\nkeep_versions = 99999999\n", MC_ERR_CONFIG,
	  "@:2: keep_versions: \"99999999\" is not a number" },
	{ "staging_directory not https", "[global]\nstaging_directory = http://x/dir\n",
	  MC_ERR_CONFIG, "@:2: staging_directory: \"http://x/dir\" is not an https:// URL" },
	{ "relative metrics_file", "[global]\nmetrics_file = mailcert.prom\n",
	  MC_ERR_CONFIG, "@:2: metrics_file: \"mailcert.prom\" is not an absolute path" },
	{ "keep_versions in a cert", CERT "keep_versions = 3\n", MC_ERR_CONFIG,
	  "@:3: keep_versions: unknown key" },
	{ "verify port too big", CERT "verify = imaps://127.0.0.1:70000\n", MC_ERR_CONFIG,
	  "@:3: verify: endpoint URL \"imaps://127.0.0.1:70000\": the port must be 1 to "
	  "65535" },
	{ "verify with a path", CERT "verify = smtp://127.0.0.1/x\n", MC_ERR_CONFIG,
	  "@:3: verify: endpoint URL \"smtp://127.0.0.1/x\": junk after the host" },
	{ "verify user info", CERT "verify = smtp://u@127.0.0.1\n", MC_ERR_CONFIG,
	  "@:3: verify: endpoint URL \"smtp://u@127.0.0.1\": the host is not a DNS name or "
	  "an IP address" },
	{ "verify empty label (the runtime once refused it after writing)",
	  CERT "verify = smtp://127.0.0.1:25 smtp://a..b:25\n", MC_ERR_CONFIG,
	  "@:3: verify: endpoint URL \"smtp://a..b:25\": the host is not a DNS name" },
	{ "verify label ending in a hyphen", CERT "verify = imaps://mail-.example.com\n",
	  MC_ERR_CONFIG, "@:3: verify: endpoint URL \"imaps://mail-.example.com\": the host" },
	{ "unknown target", CERT "targets = postfix nginx\n", MC_ERR_CONFIG,
	  "@:3: targets: \"nginx\" is neither a [target] section nor postfix, dovecot or "
	  "exim; add [target nginx] or remove it" },
	{ "files is a type, not a target", CERT "targets = files\n", MC_ERR_CONFIG,
	  "@:3: targets: \"files\" is neither" },
	{ "target listed twice", CERT "targets = postfix postfix\n", MC_ERR_CONFIG,
	  "@:3: targets: \"postfix\" is listed twice" },
	{ "bad target word", CERT "targets = ../etc\n", MC_ERR_CONFIG,
	  "@:3: targets: \"../etc\" is not a target name" },
	{ "101 names", NULL, MC_ERR_CONFIG,
	  "@:2: names: more than 100 entries; split them over several sections" },
	/* durations */
	{ "duration garbage 5x", CERT "renew_before = 5x\n", MC_ERR_CONFIG,
	  "@:3: renew_before: \"5x\" is not a duration; write a whole number with s, m, h or d" },
	{ "duration unit only", "[global]\nhook_timeout = m\n", MC_ERR_CONFIG,
	  "@:2: hook_timeout: \"m\" is not a duration" },
	{ "duration fraction", "[global]\nverify_timeout = 1.5h\n", MC_ERR_CONFIG,
	  "@:2: verify_timeout: \"1.5h\" is not a duration" },
	{ "duration negative", "[global]\nrenew_before = -5d\n", MC_ERR_CONFIG,
	  "@:2: renew_before: \"-5d\" is not a duration" },
	{ "duration overflow", "[global]\nrenew_before = 99999999999999999999d\n",
	  MC_ERR_CONFIG, "@:2: renew_before: \"99999999999999999999d\" is too large" },
	{ "duration unit overflow", "[global]\nrenew_before = 999999999999999999d\n",
	  MC_ERR_CONFIG, "@:2: renew_before: \"999999999999999999d\" is too large" },
	{ "duration zero", "[global]\nhook_timeout = 0\n", MC_ERR_CONFIG,
	  "@:2: hook_timeout: must be longer than 0" },
	{ "duration with space", "[global]\nhook_timeout = 5 m\n", MC_ERR_CONFIG,
	  "@:2: hook_timeout: \"5 m\" is not a duration" },
	{ "cert override bad", CERT "verify_timeout = soon\n", MC_ERR_CONFIG,
	  "@:3: verify_timeout: \"soon\" is not a duration" },
	/* global keys */
	{ "http directory", "[global]\ndirectory = http://localhost:14000/dir\n",
	  MC_ERR_CONFIG, "@:2: directory: \"http://localhost:14000/dir\" is not an https:// URL" },
	{ "directory without host", "[global]\ndirectory = https:///dir\n", MC_ERR_CONFIG,
	  "@:2: directory: \"https:///dir\" is not an https:// URL" },
	{ "relative state_dir", "[global]\nstate_dir = state\n", MC_ERR_CONFIG,
	  "@:2: state_dir: \"state\" is not an absolute path" },
	{ "relative ca_bundle", "[global]\nca_bundle = ca.pem\n", MC_ERR_CONFIG,
	  "@:2: ca_bundle: \"ca.pem\" is not an absolute path" },
	{ "relative hooks_dir", "[global]\nhooks_dir = hooks\n", MC_ERR_CONFIG,
	  "@:2: hooks_dir: \"hooks\" is not an absolute path" },
	{ "contact without mailto", "[global]\ncontact = postmaster@example.com\n",
	  MC_ERR_CONFIG, "@:2: contact: \"postmaster@example.com\" is not a mailto: address" },
	{ "second contact bad", "[global]\ncontact = mailto:a@example.com tel:+123\n",
	  MC_ERR_CONFIG, "@:2: contact: \"tel:+123\" is not a mailto: address" },
	{ "contact empty address", "[global]\ncontact = mailto:\n", MC_ERR_CONFIG,
	  "@:2: contact: \"mailto:\" has no valid e-mail address" },
	{ "bad log", "[global]\nlog = file\n", MC_ERR_CONFIG,
	  "@:2: log: \"file\" is not a log destination; use auto, stderr or syslog" },
	{ "EAB kid only", "[global]\n\neab_kid = kid-1\n", MC_ERR_CONFIG,
	  "@:3: eab_kid: set without eab_hmac_key; set both (from the CA) or neither" },
	{ "EAB HMAC only", "[global]\neab_hmac_key = zWNDZM6eQGHWpSRTPal5eIUYFTu7\n",
	  MC_ERR_CONFIG, "@:2: eab_hmac_key: set without eab_kid" },
	{ "EAB HMAC not base64url",
	  "[global]\neab_kid = k\neab_hmac_key = zWNDZM6e+GHWpSRT/al5eIUYFTu7\n",
	  MC_ERR_CONFIG, "@:3: eab_hmac_key: not base64url (only A-Z a-z 0-9 - _ are allowed)" },
	{ "EAB HMAC too short", "[global]\neab_kid = k\neab_hmac_key = abc\n",
	  MC_ERR_CONFIG, "@:3: eab_hmac_key: too short for an HMAC key" },
	{ "EAB kid with space", "[global]\neab_kid = a b\neab_hmac_key = zWNDZM6eQGHWpSRT\n",
	  MC_ERR_CONFIG, "@:2: eab_kid: must be one word" },
	/* targets */
	{ "target without type", "[target web]\ncert_file = /x\n", MC_ERR_CONFIG,
	  "@:1: [target web]: type: missing; set type = postfix, dovecot, exim or files" },
	{ "target bad type", "[target web]\ntype = nginx\n", MC_ERR_CONFIG,
	  "@:2: type: \"nginx\" is not a target type; use one of postfix dovecot exim files" },
	{ "files target without files", "[target web]\ntype = files\nmode = 0600\n",
	  MC_ERR_CONFIG, "@:1: [target web]: files: missing; set at least one of chain_file" },
	{ "dovecot target without key", "[target dovecot]\ncert_file = /etc/d/%n.crt\n",
	  MC_ERR_CONFIG, "@:1: [target dovecot]: key_file: missing; the server needs the "
	  "private key" },
	{ "exim target without cert", "[target exim]\nkey_file = /etc/e/%n.key\n",
	  MC_ERR_CONFIG, "@:1: [target exim]: cert_file: missing" },
	{ "mode 0644", "[target exim]\nmode = 0644\n", MC_ERR_CONFIG,
	  "@:2: mode: 0644 lets every local user read or change the private key; use 0600" },
	{ "mode 0666", "[target postfix]\nmode = 666\n", MC_ERR_CONFIG,
	  "@:2: mode: 0666 lets every local user" },
	{ "mode 0660", "[target postfix]\nmode = 0660\n", MC_ERR_CONFIG,
	  "@:2: mode: 0660 does not suit a private key file" },
	{ "mode 0700", "[target postfix]\nmode = 0700\n", MC_ERR_CONFIG,
	  "@:2: mode: 0700 does not suit" },
	{ "mode 0040", "[target postfix]\nmode = 0040\n", MC_ERR_CONFIG,
	  "@:2: mode: 0040 does not suit" },
	{ "mode 4600", "[target postfix]\nmode = 4600\n", MC_ERR_CONFIG,
	  "@:2: mode: 4600 does not suit" },
	{ "mode not octal", "[target postfix]\nmode = 0680\n", MC_ERR_CONFIG,
	  "@:2: mode: \"0680\" is not an octal mode" },
	{ "mode letters", "[target postfix]\nmode = rw-r-----\n", MC_ERR_CONFIG,
	  "@:2: mode: \"rw-r-----\" is not an octal mode" },
	{ "relative daemon config", "[target dovecot]\nconfig = dovecot.conf\n",
	  MC_ERR_CONFIG, "@:2: config: \"dovecot.conf\" is not an absolute path" },
	{ "relative chain_file", "[target postfix]\nchain_file = tls/%n.pem\n",
	  MC_ERR_CONFIG, "@:2: chain_file: \"tls/%n.pem\" is not an absolute path" },
	{ "bad percent", "[target postfix]\nchain_file = /etc/%x.pem\n", MC_ERR_CONFIG,
	  "@:2: chain_file: \"/etc/%x.pem\": only %n (the cert name), %k (the key algorithm: ecdsa or rsa) and %% may follow '%'" },
	{ "trailing percent", "[target postfix]\nchain_file = /etc/x%\n", MC_ERR_CONFIG,
	  "@:2: chain_file: \"/etc/x%\": only %n" },
	{ "bad owner", "[target postfix]\nowner = root:root\n", MC_ERR_CONFIG,
	  "@:2: owner: \"root:root\" is not a user or group name" },
	{ "bad allow_symlink", "[target postfix]\nallow_symlink = sometimes\n",
	  MC_ERR_CONFIG, "@:2: allow_symlink: \"sometimes\" is not yes or no" },
	{ "two targets write one file",
	  "[target a]\ntype = files\ncert_file = /srv/%n.pem\n"
	  "[target b]\ntype = files\nfullchain_file = /srv/mail.pem\n"
	  CERT "targets = a b\n", MC_ERR_CONFIG,
	  "@:9: targets: a (cert_file) and b (fullchain_file) both write /srv/mail.pem; give "
	  "each its own file" },
	{ "one target writes one file twice",
	  "[target a]\ntype = files\ncert_file = /srv/%n.pem\nkey_file = /srv/%n.pem\n"
	  CERT "targets = a\n", MC_ERR_CONFIG,
	  "@:7: targets: a (cert_file) and a (key_file) both write /srv/mail.pem" },
	{ "declared target collides with a built-in",
	  "[target mine]\ntype = files\nkey_file = /etc/dovecot/tls/mail.key\n"
	  CERT "targets = dovecot mine\n", MC_ERR_CONFIG,
	  "@:6: targets: dovecot (key_file) and mine (key_file) both write "
	  "/etc/dovecot/tls/mail.key" },
};

static char many_names[8192];

/* fill_many - a config with 101 names (one more than allowed). */
static void
fill_many(void)
{
	size_t o;
	int i;

	o = (size_t)snprintf(many_names, sizeof(many_names), "[cert big]\nnames =");
	for (i = 0; i < 101; i++)
		o += (size_t)snprintf(many_names + o, sizeof(many_names) - o,
		    " h%03d.example.com", i);
	snprintf(many_names + o, sizeof(many_names) - o, "\n");
}

/* bad_text - the text of a bad case (NULL means the generated 101 names). */
static const char *
bad_text(const struct bad_case *c)
{
	return c->text != NULL ? c->text : many_names;
}

/* write_bad - write a bad case's text, which may contain a NUL byte. */
static void
write_bad(const struct bad_case *c)
{
	const char *text = bad_text(c);
	size_t len = strlen(text);
	FILE *f;

	if (strcmp(c->label, "NUL byte") == 0)
		len += 1 + strlen(text + len + 1);
	f = fopen(conf_path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

/* test_bad - every broken config fails with its category and message. */
static void
test_bad(void **state)
{
	struct mc_config *cfg;
	struct mc_err err;
	char want[1024];
	size_t i;

	(void)state;
	assert_true(sizeof(bad_cases) / sizeof(bad_cases[0]) >= 40);
	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *c = &bad_cases[i];

		write_bad(c);
		cfg = NULL;
		mc_err_clear(&err);
		if (mc_config_load(conf_path, &cfg, &err) == 0) {
			mc_config_free(cfg);
			fail_msg("%s: loaded, expected an error", c->label);
		}
		assert_null(cfg);
		expand_at(c->frag, want, sizeof(want));
		if (err.cat != c->cat || strstr(err.msg, want) == NULL)
			fail_msg("%s:\n  got  [%s] %s\n  want [%s] %s", c->label,
			    mc_err_cat_name(err.cat), err.msg, mc_err_cat_name(c->cat), want);
	}
}

/* test_bad_names_file - every error message starts with "FILE:LINE: ". */
static void
test_bad_names_file(void **state)
{
	struct mc_config *cfg = NULL;
	struct mc_err err;
	size_t i, plen = strlen(conf_path);
	const char *p;

	(void)state;
	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		write_bad(&bad_cases[i]);
		assert_int_equal(mc_config_load(conf_path, &cfg, &err), -1);
		if (strncmp(err.msg, conf_path, plen) != 0 || err.msg[plen] != ':')
			fail_msg("%s: message does not start with the path: %s",
			    bad_cases[i].label, err.msg);
		p = err.msg + plen + 1;
		if (*p < '1' || *p > '9' || strstr(p, ": ") == NULL)
			fail_msg("%s: message has no line: %s", bad_cases[i].label, err.msg);
	}
}

/* test_secret_not_echoed - a bad EAB HMAC key never appears in the message. */
static void
test_secret_not_echoed(void **state)
{
	static const char *const texts[] = {
		"[global]\neab_kid = k\neab_hmac_key = SeCrEt+SeCrEt/SeCrEt\n",
		"[global]\neab_hmac_key = SeCrEtSeCrEtSeCrEt\n",
		"[global]\neab_kid = k\neab_hmac_key = SeCrEt\n",
		("[global]\neab_kid = k\neab_hmac_key = SeCrEtSeCrEtSeCrEt\n"
		 "eab_hmac_key = SeCrEtSeCrEtSeCrEt\n"), /* one text */
		"[global]\neab_hmac_kee = SeCrEtSeCrEtSeCrEt\n",
	};
	struct mc_err err;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		assert_null(load_text(texts[i], &err));
		assert_int_equal(err.cat, MC_ERR_CONFIG);
		if (strstr(err.msg, "SeCrEt") != NULL)
			fail_msg("case %zu echoes the secret: %s", i, err.msg);
	}
}

/* ---- files of 0 to 3 bytes (a BOM check once read past a 1-byte file) -- */

struct tiny_case {
	const char *label;
	const char *bytes;
	size_t len;
	const char *frag; /* NULL: loads; else the error must contain it */
};

static const struct tiny_case tiny_cases[] = {
	{ "empty file", "", 0, NULL },
	{ "one newline", "\n", 1, NULL },
	{ "one letter", "x", 1, "@:1: not a section, a comment or KEY = VALUE" },
	{ "first BOM byte", "\xEF", 1, "@:1: not a section" },
	{ "two BOM bytes", "\xEF\xBB", 2, "@:1: not a section" },
	{ "whole BOM", "\xEF\xBB\xBF", 3, NULL },
	{ "BOM and a section", "\xEF\xBB\xBF[global]\n", 12, NULL },
	{ "one bracket", "[", 1, "@:1: section: header without ']'" },
	{ "one semicolon", ";", 1, NULL },
};

/* write_bytes - write exactly len bytes to conf_path. */
static void
write_bytes(const char *bytes, size_t len)
{
	FILE *f = fopen(conf_path, "w");

	assert_non_null(f);
	assert_int_equal(fwrite(bytes, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

/* test_tiny_files - files shorter than a BOM load or fail cleanly. */
static void
test_tiny_files(void **state)
{
	struct mc_config *cfg;
	struct mc_err err;
	char want[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(tiny_cases) / sizeof(tiny_cases[0]); i++) {
		const struct tiny_case *c = &tiny_cases[i];

		write_bytes(c->bytes, c->len);
		cfg = NULL;
		mc_err_clear(&err);
		if (c->frag == NULL) {
			if (mc_config_load(conf_path, &cfg, &err) == -1)
				fail_msg("%s: %s", c->label, err.msg);
			mc_config_free(cfg);
			continue;
		}
		assert_int_equal(mc_config_load(conf_path, &cfg, &err), -1);
		expand_at(c->frag, want, sizeof(want));
		if (err.cat != MC_ERR_CONFIG || strstr(err.msg, want) == NULL)
			fail_msg("%s: got [%s] %s, want %s", c->label,
			    mc_err_cat_name(err.cat), err.msg, want);
	}
}

/* test_missing_file - a missing or unreadable file names the file and errno. */
static void
test_missing_file(void **state)
{
	struct mc_config *cfg = NULL;
	struct mc_err err;
	char path[256];

	(void)state;
	snprintf(path, sizeof(path), "%s/does-not-exist.conf", tmp_dir);
	assert_int_equal(mc_config_load(path, &cfg, &err), -1);
	assert_null(cfg);
	assert_int_equal(err.cat, MC_ERR_CONFIG);
	assert_non_null(strstr(err.msg, path));
	assert_non_null(strstr(err.msg, "No such file or directory"));
	assert_int_equal(mc_config_load(tmp_dir, &cfg, &err), -1);
	assert_int_equal(err.cat, MC_ERR_CONFIG);
	assert_non_null(strstr(err.msg, "not a regular file"));
}

/* ---- the small parsers ------------------------------------------------- */

struct duration_case {
	const char *text;
	int rc;
	long want;
	const char *frag;
};

static const struct duration_case duration_cases[] = {
	{ "90", 0, 90, NULL },
	{ "0", 0, 0, NULL },
	{ "30s", 0, 30, NULL },
	{ "5m", 0, 300, NULL },
	{ "12h", 0, 43200, NULL },
	{ "30d", 0, 2592000, NULL },
	{ "007m", 0, 420, NULL },
	{ "", -1, 0, "empty duration" },
	{ "m", -1, 0, "\"m\" is not a duration" },
	{ "5x", -1, 0, "\"5x\" is not a duration" },
	{ "1.5h", -1, 0, "\"1.5h\" is not a duration" },
	{ "-5", -1, 0, "\"-5\" is not a duration" },
	{ "+5", -1, 0, "\"+5\" is not a duration" },
	{ " 5", -1, 0, "is not a duration" },
	{ "5 ", -1, 0, "is not a duration" },
	{ "5mm", -1, 0, "\"5mm\" is not a duration" },
	{ "5M", -1, 0, "\"5M\" is not a duration" },
	{ "9223372036854775807", 0, 9223372036854775807L, NULL },
	{ "9223372036854775808", -1, 0, "too large" },
	{ "106751991167301d", -1, 0, "too large" },
};

/* test_duration - mc_parse_duration on its table. */
static void
test_duration(void **state)
{
	struct mc_err err;
	size_t i;
	long v;

	(void)state;
	for (i = 0; i < sizeof(duration_cases) / sizeof(duration_cases[0]); i++) {
		const struct duration_case *c = &duration_cases[i];

		v = -42;
		mc_err_clear(&err);
		if (mc_parse_duration(c->text, &v, &err) != c->rc)
			fail_msg("\"%s\": rc != %d (%s)", c->text, c->rc, err.msg);
		if (c->rc == 0) {
			assert_int_equal(v, c->want);
			continue;
		}
		assert_int_equal(v, -42); /* untouched on failure */
		assert_int_equal(err.cat, MC_ERR_CONFIG);
		if (strstr(err.msg, c->frag) == NULL)
			fail_msg("\"%s\": %s lacks %s", c->text, err.msg, c->frag);
	}
}

struct name_case {
	const char *in;
	bool wildcard;
	const char *want; /* NULL: must fail */
	const char *frag;
};

static const struct name_case name_cases[] = {
	{ "mail.example.com", false, "mail.example.com", NULL },
	{ "MAIL.Example.Com", false, "mail.example.com", NULL },
	{ "mail.example.com.", false, "mail.example.com", NULL },
	{ "a-b.c-d.example", false, "a-b.c-d.example", NULL },
	{ "xn--bcher-kva.example", false, "xn--bcher-kva.example", NULL },
	{ "1.example.com", false, "1.example.com", NULL },
	{ LONG63 ".example.com", false, LONG63 ".example.com", NULL },
	{ LONG63 "." LONG63 "." LONG63 "." "abcdefghijabcdefghijabcdefghijabcdefghij"
	  "abcdefghijabcdefghi12", false, LONG63 "." LONG63 "." LONG63 "."
	  "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghi12", NULL },
	{ LONG63 "." LONG63 "." LONG63 "." LONG62, false, NULL, "name of 254 characters" },
	{ "*.example.com", true, "*.example.com", NULL },
	{ "*.Example.COM.", true, "*.example.com", NULL },
	{ "*.example.com", false, NULL, "wildcards need challenge = dns-01" },
	{ "*.com", true, NULL, "single-label name" },
	{ "*", true, NULL, "'*' is allowed only" },
	{ "a.*.example.com", true, NULL, "'*' is allowed only" },
	{ "*.*.example.com", true, NULL, "'*' is allowed only" },
	{ LONG64 ".example.com", false, NULL, "label of 64 characters" },
	{ "mail_1.example.com", false, NULL, "character other than letters" },
	{ "-a.example.com", false, NULL, "starts or ends with '-'" },
	{ "a-.example.com", false, NULL, "starts or ends with '-'" },
	{ "a..example.com", false, NULL, "empty label" },
	{ ".example.com", false, NULL, "empty label" },
	{ "", false, NULL, "empty name" },
	{ ".", false, NULL, "empty name" },
	{ "localhost", false, NULL, "single-label name" },
	{ "192.0.2.1", false, "192.0.2.1", NULL },
	{ "2001:db8::1", false, "2001:db8::1", NULL },
	{ "2001:DB8:0:0:0:0:0:1", false, "2001:db8::1", NULL },
	{ "::ffff:192.0.2.1", false, "::ffff:192.0.2.1", NULL },
	{ "::1", true, "::1", NULL },
	{ "[::1]", false, NULL, "nor an IPv6 address; write an address without brackets" },
	{ "fe80::1%eth0", false, NULL, "nor an IPv6 address" },
	{ "2001:db8::1:25", false, "2001:db8::1:25", NULL },
	{ "192.0.2.1:25", false, NULL, "nor an IPv6 address" },
	{ "127.1", false, NULL, "neither a DNS name nor an IPv4 address" },
	{ "192.0.2.256", false, NULL, "nor an IPv4 address" },
	{ "192.0.2.1.", false, NULL, "nor an IPv4 address" },
	{ "*.192.0.2.1", true, NULL, "nor an IPv4 address" },
	{ "b\xc3\xbc" "cher.example", false, "xn--bcher-kva.example", NULL },
	{ "B\xc3\x9c" "CHER.Example.", false, "xn--bcher-kva.example", NULL },
	{ "*.b\xc3\xbc" "cher.example", true, "*.xn--bcher-kva.example", NULL },
	{ "*.b\xc3\xbc" "cher.example", false, NULL, "wildcards need challenge" },
	{ "fa\xc3\x9f.de", false, "xn--fa-hia.de", NULL },
	{ "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e.jp", false, "xn--wgv71a119e.jp", NULL },
	{ "\xe2\x98\x83.example", false, NULL, "not a valid international name "
	  "(string contains a disallowed character)" },
	{ "\xff.example", false, NULL, "not a valid international name (string "
	  "encoding error)" },
	{ "a\xe2\x80\x8d" "b.example", false, NULL, "not a valid international name" },
	{ "-\xc3\xbc.example", false, NULL, "not a valid international name" },
	{ "\xc3\xbc", false, NULL, "single-label name" },
	{ "a..\xc3\xbc", false, NULL, "empty label" },
	{ "a b.example.com", false, NULL, "character other than" },
};

/* test_name_normalize - mc_name_normalize on its table. */
static void
test_name_normalize(void **state)
{
	struct mc_err err;
	char *out;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(name_cases) / sizeof(name_cases[0]); i++) {
		const struct name_case *c = &name_cases[i];

		mc_err_clear(&err);
		out = mc_name_normalize(c->in, c->wildcard, &err);
		if (c->want != NULL) {
			if (out == NULL)
				fail_msg("\"%s\": %s", c->in, err.msg);
			assert_string_equal(out, c->want);
			free(out);
			continue;
		}
		if (out != NULL)
			fail_msg("\"%s\": accepted as %s", c->in, out);
		assert_int_equal(err.cat, MC_ERR_CONFIG);
		if (strstr(err.msg, c->frag) == NULL)
			fail_msg("\"%s\": %s lacks %s", c->in, err.msg, c->frag);
	}
}

/* test_name_idn - mc_name_to_alabel and mc_name_to_ulabel on their table. */
static void
test_name_idn(void **state)
{
	static const struct {
		const char *in;
		const char *alabel; /* NULL: must fail */
		const char *ulabel; /* of the A-label form */
		const char *frag;   /* of the error */
	} rows[] = {
		{ "b\xc3\xbc" "cher.example", "xn--bcher-kva.example",
		  "b\xc3\xbc" "cher.example", NULL },
		{ "*.B\xc3\x9c" "cher.Example", "*.xn--bcher-kva.example",
		  "*.b\xc3\xbc" "cher.example", NULL },
		{ "Mail.Example.COM", "mail.example.com", "mail.example.com", NULL },
		{ "XN--BCHER-KVA.example", "xn--bcher-kva.example",
		  "b\xc3\xbc" "cher.example", NULL },
		{ "192.0.2.1", "192.0.2.1", "192.0.2.1", NULL },
		{ "\xe2\x98\x83.example", NULL, NULL,
		  "\"\xe2\x98\x83.example\" is not a valid international name" },
		{ "\xff\x01.example", NULL, NULL,
		  "\"\\xff\\x01.example\" is not a valid international name" },
	};
	struct mc_err err;
	char *a, *u;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		mc_err_clear(&err);
		a = mc_name_to_alabel(rows[i].in, &err);
		if (rows[i].alabel == NULL) {
			assert_null(a);
			assert_int_equal(err.cat, MC_ERR_CONFIG);
			if (strstr(err.msg, rows[i].frag) == NULL)
				fail_msg("%s lacks %s", err.msg, rows[i].frag);
			continue;
		}
		assert_non_null(a);
		assert_string_equal(a, rows[i].alabel);
		u = mc_name_to_ulabel(a, &err);
		assert_non_null(u);
		assert_string_equal(u, rows[i].ulabel);
		free(a);
		free(u);
	}
	assert_null(mc_name_to_ulabel("xn--zz.example", &err));
	assert_int_equal(err.cat, MC_ERR_CONFIG);
}

struct cert_name_case {
	const char *name;
	bool valid;
};

static const struct cert_name_case cert_name_cases[] = {
	{ "mail", true },           { "mail.example.com", true }, { "a_b-c.1", true },
	{ "A", true },              { LONG64, true },             { "x..y", true },
	{ "", false },              { ".", false },               { "..", false },
	{ ".hidden", false },       { "-x", false },              { "a/b", false },
	{ "../x", false },          { LONG65, false },            { "a b", false },
	{ "a\tb", false },          { "caf\xc3\xa9", false },     { "a:b", false },
	{ "a%n", false },           { "*", false },
};

/* test_cert_name_valid - mc_cert_name_valid on its table. */
static void
test_cert_name_valid(void **state)
{
	size_t i;

	(void)state;
	assert_false(mc_cert_name_valid(NULL));
	for (i = 0; i < sizeof(cert_name_cases) / sizeof(cert_name_cases[0]); i++)
		if (mc_cert_name_valid(cert_name_cases[i].name) != cert_name_cases[i].valid)
			fail_msg("\"%s\": expected %s", cert_name_cases[i].name,
			    cert_name_cases[i].valid ? "valid" : "invalid");
}

struct expand_case {
	const char *path;
	const char *name;
	const char *want; /* NULL: must fail */
};

static const struct expand_case expand_cases[] = {
	{ "/etc/postfix/tls/%n.pem", "mail", "/etc/postfix/tls/mail.pem" },
	{ "/x/%n/%n.key", "a.b", "/x/a.b/a.b.key" },
	{ "/x/100%%/%n", "m", "/x/100%/m" },
	{ "/plain", "m", "/plain" },
	{ "%n", "", "" },
	{ "", "m", "" },
	{ "/x/%%n", "m", "/x/%n" },
	{ "/x/%", "m", NULL },
	{ "/x/%d", "m", NULL },
	{ "/x/%N", "m", NULL },
};

/* test_expand - mc_config_expand on its table. */
static void
test_expand(void **state)
{
	struct mc_err err;
	char *out;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(expand_cases) / sizeof(expand_cases[0]); i++) {
		const struct expand_case *c = &expand_cases[i];

		out = mc_config_expand(c->path, c->name, &err);
		if (c->want == NULL) {
			if (out != NULL)
				fail_msg("\"%s\": expanded to %s", c->path, out);
			assert_int_equal(err.cat, MC_ERR_CONFIG);
			assert_non_null(strstr(err.msg, "only %n"));
			continue;
		}
		if (out == NULL)
			fail_msg("\"%s\": %s", c->path, err.msg);
		assert_string_equal(out, c->want);
		free(out);
	}
}

/* test_words - key types and challenge names both ways. */
static void
test_words(void **state)
{
	static const char *const keys[] = { "rsa-2048", "rsa-3072", "rsa-4096",
		"ecdsa-p256", "ecdsa-p384" };
	static const char *const bad[] = { "", "rsa", "rsa-1024", "ecdsa-p521",
		"ed25519", "rsa-2048 " };
	enum mc_key_type t;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		assert_int_equal(mc_key_type_parse(keys[i], &t), 0);
		assert_int_equal(t, (enum mc_key_type)i);
		assert_string_equal(mc_key_type_name(t), keys[i]);
	}
	assert_int_equal(mc_key_type_parse("ECDSA-P384", &t), 0);
	assert_int_equal(t, MC_KEY_EC_P384);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		t = MC_KEY_RSA2048;
		assert_int_equal(mc_key_type_parse(bad[i], &t), -1);
		assert_int_equal(t, MC_KEY_RSA2048);
	}
	assert_string_equal(mc_challenge_name(MC_CHALLENGE_HTTP01), "http-01");
	assert_string_equal(mc_challenge_name(MC_CHALLENGE_TLSALPN01), "tls-alpn-01");
	assert_string_equal(mc_challenge_name(MC_CHALLENGE_DNS01), "dns-01");
}

/* ---- include = GLOB ---------------------------------------------------- */

struct inc_file {
	const char *name; /* in tmp_dir/conf.d */
	const char *text;
};

struct include_case {
	const char *label;
	const char *main; /* "%s" = tmp_dir */
	struct inc_file files[3];
	const char *frag;  /* NULL: loads; "%s" = tmp_dir; a leading '@' = main */
	const char *certs; /* when it loads: the cert names in order */
};

#define INC_GLOBAL "[global]\ninclude = %s/conf.d/*.conf\n"

static const struct include_case include_cases[] = {
	{ "lexical order, other names skipped", INC_GLOBAL "[cert m]\nnames = m.example.com\n",
	  { { "b.conf", "[cert b]\nnames = b.example.com\n" },
	    { "a.conf", "; a\n[cert a]\nnames = a.example.com\n[target t]\ntype = files\n"
	                "cert_file = /srv/%n.crt\nkey_file = /srv/%n.key\n" },
	    { "c.conf.orig", "[cert c]\nnames = c.example.com\n" } },
	  NULL, "m a b" },
	{ "empty directory", INC_GLOBAL, { { NULL, NULL } }, NULL, "" },
	{ "a doubled '/' before the wildcard, as glob(3) reads it",
	  "[global]\ninclude = %s/conf.d//*.conf\n",
	  { { "b.conf", "[cert b]\nnames = b.example.com\n" },
	    { "a.conf", "[cert a]\nnames = a.example.com\n" } },
	  NULL, "a b" },
	{ "files in several directories, in lexical order of the paths",
	  "[global]\ninclude = %s/conf.d/*/*.conf\n",
	  { { "b/0.conf", "[cert b0]\nnames = b0.example.com\n" },
	    { "a/2.conf", "[cert a2]\nnames = a2.example.com\n" },
	    { "a/1.conf", "[cert a1]\nnames = a1.example.com\n" } },
	  NULL, "a1 a2 b0" },
	{ "an error in the second directory names its file",
	  "[global]\ninclude = %s/conf.d/*/*.conf\n",
	  { { "a/1.conf", "[cert a1]\nnames = a1.example.com\n" },
	    { "b/1.conf", "[cert b1]\nnames = b1..example.com\n" } },
	  "%s/conf.d/b/1.conf:2: names:", NULL },
	{ "syntax error names the included file",
	  INC_GLOBAL, { { "a.conf", "[cert a]\nnames = a.example.com\nbroken line\n" } },
	  "%s/conf.d/a.conf:3: not a section, a comment or KEY = VALUE", NULL },
	{ "bad value names the included file and line",
	  INC_GLOBAL, { { "a.conf", "\n[cert a]\nnames = a..example.com\n" } },
	  "%s/conf.d/a.conf:3: names:", NULL },
	{ "cross-check error names the included file",
	  INC_GLOBAL, { { "a.conf", "[cert a]\nnames = a.example.com\nchallenge = dns-01\n" } },
	  "%s/conf.d/a.conf:1: [cert a]: dns_hook:", NULL },
	{ "key before any section of the included file",
	  INC_GLOBAL "[cert m]\nnames = m.example.com\n",
	  { { "a.conf", "names = x.example.com\n[cert a]\nnames = a.example.com\n" } },
	  "%s/conf.d/a.conf:1: names: outside any section", NULL },
	{ "duplicate cert across files", INC_GLOBAL "[cert a]\nnames = m.example.com\n",
	  { { "a.conf", "\n[cert a]\nnames = a.example.com\n" } },
	  "%s/conf.d/a.conf:2: [cert a]: appears twice (first at @:3)", NULL },
	{ "duplicate cert in two included files", INC_GLOBAL,
	  { { "a.conf", "[cert x]\nnames = a.example.com\n" },
	    { "b.conf", "[cert x]\nnames = b.example.com\n" } },
	  "%s/conf.d/b.conf:1: [cert x]: appears twice (first at %s/conf.d/a.conf:1)", NULL },
	{ "[global] in an included file", INC_GLOBAL,
	  { { "a.conf", "[global]\nstate_dir = /srv\n" } },
	  "%s/conf.d/a.conf:1: [global]: appears twice (first at @:1)", NULL },
};

/* inc_fmt - fmt with every %s replaced by tmp_dir and a leading '@' by
 * conf_path, into out. */
static void
inc_fmt(const char *fmt, char *out, size_t size)
{
	char tmp[1024];
	size_t o = 0, i;

	for (i = 0; fmt[i] != '\0' && o + 1 < sizeof(tmp); i++) {
		if (fmt[i] == '%' && fmt[i + 1] == 's') {
			o += (size_t)snprintf(tmp + o, sizeof(tmp) - o, "%s", tmp_dir);
			i++;
		} else if (fmt[i] == '@') {
			o += (size_t)snprintf(tmp + o, sizeof(tmp) - o, "%s", conf_path);
		} else {
			tmp[o++] = fmt[i];
		}
	}
	tmp[o] = '\0';
	snprintf(out, size, "%s", tmp);
}

/* inc_subdir - make (or remove, once empty) the directory of path when
 * it is below tmp_dir/conf.d ("a/1.conf"). */
static void
inc_subdir(const char *path, bool make)
{
	char dir[256], top[256];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	snprintf(top, sizeof(top), "%s/conf.d", tmp_dir);
	slash = strrchr(dir, '/');
	if (slash == NULL)
		return;
	*slash = '\0';
	if (strcmp(dir, top) == 0)
		return;
	if (make)
		mkdir(dir, 0700);
	else
		rmdir(dir);
}

/* inc_write - the case's files under tmp_dir/conf.d (emptied first). */
static void
inc_write(const struct include_case *c)
{
	char path[256], text[1024];
	size_t i;
	FILE *f;

	snprintf(path, sizeof(path), "%s/conf.d", tmp_dir);
	mkdir(path, 0700);
	for (i = 0; i < 3 && c->files[i].name != NULL; i++) {
		snprintf(path, sizeof(path), "%s/conf.d/%s", tmp_dir, c->files[i].name);
		inc_subdir(path, true);
		f = fopen(path, "w");
		assert_non_null(f);
		fputs(c->files[i].text, f);
		assert_int_equal(fclose(f), 0);
	}
	inc_fmt(c->main, text, sizeof(text));
	write_conf(text);
}

/* inc_clean - remove the case's files. */
static void
inc_clean(const struct include_case *c)
{
	char path[256];
	size_t i;

	for (i = 0; i < 3 && c->files[i].name != NULL; i++) {
		snprintf(path, sizeof(path), "%s/conf.d/%s", tmp_dir, c->files[i].name);
		unlink(path);
		inc_subdir(path, false);
	}
}

/* inc_certs - the cert names of cfg joined by spaces into out. */
static void
inc_certs(const struct mc_config *cfg, char *out, size_t size)
{
	size_t i, o = 0;

	out[0] = '\0';
	for (i = 0; i < cfg->n_certs; i++)
		o += (size_t)snprintf(out + o, size - o, "%s%s", i ? " " : "",
		    cfg->certs[i].name);
}

/* test_include - include = GLOB: order, errors naming the included file. */
static void
test_include(void **state)
{
	struct mc_config *cfg;
	struct mc_err err;
	char want[1024], got[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(include_cases) / sizeof(include_cases[0]); i++) {
		const struct include_case *c = &include_cases[i];

		print_message("include: %s\n", c->label);
		inc_write(c);
		cfg = NULL;
		mc_err_clear(&err);
		if (c->frag == NULL) {
			if (mc_config_load(conf_path, &cfg, &err) == -1)
				fail_msg("%s: %s", c->label, err.msg);
			inc_certs(cfg, got, sizeof(got));
			assert_string_equal(got, c->certs);
			mc_config_free(cfg);
		} else {
			assert_int_equal(mc_config_load(conf_path, &cfg, &err), -1);
			assert_null(cfg);
			inc_fmt(c->frag, want, sizeof(want));
			if (err.cat != MC_ERR_CONFIG || strstr(err.msg, want) == NULL)
				fail_msg("%s:\n  got  %s\n  want %s", c->label, err.msg, want);
		}
		inc_clean(c);
	}
}

/* inc_big - write tmp_dir/conf.d/K.conf with [cert] sections up to kib KiB. */
static void
inc_big(int k, size_t kib)
{
	static char big[1200 * 1024];
	char path[256];
	size_t i, o;
	FILE *f;

	for (o = 0, i = 0; o < kib * 1024; i++)
		o += (size_t)snprintf(big + o, sizeof(big) - o,
		    "[cert f%d-%zu]\nnames = n%zu.f%d.example.com\n", k, i, i, k);
	snprintf(path, sizeof(path), "%s/conf.d/%d.conf", tmp_dir, k);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(big, f);
	assert_int_equal(fclose(f), 0);
}

/* test_include_cap - the 1 MiB cap applies to each file, not the total:
 * 3 included files of 600 KiB (~45,000 certs) load; 1.1 MiB is refused. */
static void
test_include_cap(void **state)
{
	struct mc_config *cfg = NULL;
	struct mc_err err;
	char path[256], text[256];
	int k;

	(void)state;
	snprintf(path, sizeof(path), "%s/conf.d", tmp_dir);
	mkdir(path, 0700);
	for (k = 0; k < 3; k++)
		inc_big(k, 600);
	snprintf(text, sizeof(text), "[global]\ninclude = %s/conf.d/*.conf\n", tmp_dir);
	write_conf(text);
	mc_err_clear(&err);
	if (mc_config_load(conf_path, &cfg, &err) == -1)
		fail_msg("3 files of 600 KiB: %s", err.msg);
	assert_true(cfg->n_certs > 40000);
	mc_config_free(cfg);
	cfg = NULL;
	inc_big(3, 1100);
	assert_int_equal(mc_config_load(conf_path, &cfg, &err), -1);
	assert_null(cfg);
	assert_non_null(strstr(err.msg, "/conf.d/3.conf: not a regular file of at most"));
	for (k = 0; k < 4; k++) {
		snprintf(path, sizeof(path), "%s/conf.d/%d.conf", tmp_dir, k);
		unlink(path);
	}
}

#define MANY 600 /* included files: enough to be lexed on several threads */

/* many_write - tmp_dir/conf.d/NNNN.conf for NNNN < MANY, each [cert cNNNN]
 * on line 2 (a comment first), except file bad, which gets text, and
 * file bad2 (when > 0), which gets a bad names value. */
static void
many_write2(int bad, const char *text, int bad2)
{
	char path[256], body[128];
	FILE *f;
	int k;

	snprintf(path, sizeof(path), "%s/conf.d", tmp_dir);
	mkdir(path, 0700);
	for (k = 0; k < MANY; k++) {
		snprintf(path, sizeof(path), "%s/conf.d/%04d.conf", tmp_dir, k);
		snprintf(body, sizeof(body), "; %d\n[cert c%04d]\nnames = c%d.example.com\n",
		    k, k, k);
		f = fopen(path, "w");
		assert_non_null(f);
		if (k == bad2)
			snprintf(body, sizeof(body), "[cert c%04d]\nnames = b..example.com\n", k);
		fputs(k == bad ? text : body, f);
		assert_int_equal(fclose(f), 0);
	}
}

/* many_write - many_write2 with one bad file. */
static void
many_write(int bad, const char *text)
{
	many_write2(bad, text, -1);
}

/* many_clean - remove what many_write and the cases made. */
static void
many_clean(void)
{
	char path[256];
	int k;

	for (k = 0; k < MANY; k++) {
		snprintf(path, sizeof(path), "%s/conf.d/%04d.conf", tmp_dir, k);
		unlink(path);
	}
	snprintf(path, sizeof(path), "%s/conf.d/0300x.conf", tmp_dir);
	unlink(path);
	rmdir(path);
}

struct many_case {
	const char *label;
	int bad;          /* the file given text */
	const char *text;
	const char *frag; /* the error; "%s" = tmp_dir, a leading '@' = main */
	int bad2;         /* a file with a bad value too, or 0 */
};

static const struct many_case many_cases[] = {
	{ "a syntax error in a late file", 450, "[cert x]\nbroken\n",
	  "%s/conf.d/0450.conf:2: not a section, a comment or KEY = VALUE", 0 },
	{ "a cert repeated from an early file, in another run of files", 590,
	  "\n\n[cert c0010]\nnames = x.example.com\n",
	  "%s/conf.d/0590.conf:3: [cert c0010]: appears twice (first at "
	  "%s/conf.d/0010.conf:2)", 0 },
	{ "a cert of the main file repeated", 7, "[cert m]\nnames = x.example.com\n",
	  "%s/conf.d/0007.conf:1: [cert m]: appears twice (first at @:3)", 0 },
	{ "[global] in an included file", 599, "[global]\n",
	  "%s/conf.d/0599.conf:1: [global]: appears twice (first at @:1)", 0 },
	{ "a bad value: found after the files are read", 333,
	  "[cert c0333]\nnames = a..example.com\n", "%s/conf.d/0333.conf:2: names:", 0 },
	{ "two bad values, certs built on several threads: the first in order",
	  90, "[cert c0090]\nnames = a..example.com\n", "%s/conf.d/0090.conf:2: names:",
	  520 },
	{ "the same, the two bad files written the other way round",
	  520, "[cert c0520]\nnames = a..example.com\n", "%s/conf.d/0090.conf:2: names:",
	  90 },
};

/* test_include_many - hundreds of included files (read on several
 * threads) load in lexical order, and every error is the one, naming the
 * same file and line, that reading them one by one finds first. */
static void
test_include_many(void **state)
{
	struct mc_config *cfg = NULL;
	struct mc_err err;
	char text[512], want[512], path[256];
	size_t i;

	(void)state;
	snprintf(text, sizeof(text), "[global]\ninclude = %s/conf.d/*.conf\n"
	    "[cert m]\nnames = m.example.com\n", tmp_dir);
	write_conf(text);
	many_write(-1, NULL);
	mc_err_clear(&err);
	if (mc_config_load(conf_path, &cfg, &err) == -1)
		fail_msg("%d files: %s", MANY, err.msg);
	assert_int_equal(cfg->n_certs, MANY + 1);
	assert_string_equal(cfg->certs[0].name, "m");
	for (i = 1; i <= MANY; i++) {
		snprintf(want, sizeof(want), "c%04zu", i - 1);
		assert_string_equal(cfg->certs[i].name, want);
	}
	mc_config_free(cfg);
	for (i = 0; i < sizeof(many_cases) / sizeof(many_cases[0]); i++) {
		const struct many_case *c = &many_cases[i];

		print_message("many files: %s\n", c->label);
		many_write2(c->bad, c->text, c->bad2 > 0 ? c->bad2 : -1);
		cfg = NULL;
		mc_err_clear(&err);
		assert_int_equal(mc_config_load(conf_path, &cfg, &err), -1);
		assert_null(cfg);
		inc_fmt(c->frag, want, sizeof(want));
		if (err.cat != MC_ERR_CONFIG || strstr(err.msg, want) == NULL)
			fail_msg("%s:\n  got  %s\n  want %s", c->label, err.msg, want);
	}
	/* a directory named like a file: refused by name, as before */
	many_write(-1, NULL);
	snprintf(path, sizeof(path), "%s/conf.d/0300x.conf", tmp_dir);
	assert_int_equal(mkdir(path, 0700), 0);
	mc_err_clear(&err);
	assert_int_equal(mc_config_load(conf_path, &cfg, &err), -1);
	snprintf(want, sizeof(want), "%s: not a regular file", path);
	if (strstr(err.msg, want) == NULL)
		fail_msg("a directory *.conf:\n  got  %s\n  want %s", err.msg, want);
	many_clean();
}

/* test_include_types - what the directory says of a file: a symlink to
 * a file is read (fstat), a directory or a FIFO is refused by name
 * (fstat: d_type was not DT_REG); told "regular" (d_type DT_REG), the
 * file is read without an fstat, and a FIFO swapped in meanwhile reads
 * as empty instead of blocking. */
static void
test_include_types(void **state)
{
	struct cfg_raw raw;
	struct mc_config *cfg = NULL;
	struct mc_err err;
	char dir[256], path[256], text[384];
	int dfd;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/conf.d", tmp_dir);
	mkdir(dir, 0700);
	snprintf(path, sizeof(path), "%s/real.txt", tmp_dir);
	write_conf("[cert s]\nnames = s.example.com\n");
	assert_int_equal(rename(conf_path, path), 0);
	snprintf(text, sizeof(text), "%s/conf.d/s.conf", tmp_dir);
	assert_int_equal(symlink(path, text), 0);
	snprintf(text, sizeof(text), "[global]\ninclude = %s/conf.d/*.conf\n", tmp_dir);
	write_conf(text);
	mc_err_clear(&err);
	if (mc_config_load(conf_path, &cfg, &err) == -1)
		fail_msg("a symlinked file: %s", err.msg);
	assert_int_equal(cfg->n_certs, 1);
	assert_string_equal(cfg->certs[0].name, "s");
	mc_config_free(cfg);
	snprintf(path, sizeof(path), "%s/conf.d/f.conf", tmp_dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	cfg = NULL;
	assert_int_equal(mc_config_load(conf_path, &cfg, &err), -1);
	snprintf(text, sizeof(text), "%s: not a regular file", path);
	assert_non_null(strstr(err.msg, text));
	/* the reader itself, told the type */
	dfd = open(dir, O_RDONLY | O_DIRECTORY);
	assert_true(dfd >= 0);
	memset(&raw, 0, sizeof(raw));
	assert_int_equal(config_lex_file_at(dfd, "f.conf", path, false, &raw, &err), -1);
	assert_non_null(strstr(err.msg, text));
	assert_int_equal(config_lex_file_at(dfd, "f.conf", path, true, &raw, &err), 0);
	assert_int_equal(raw.n_secs, 0);
	snprintf(text, sizeof(text), "%s/conf.d/s.conf", tmp_dir);
	assert_int_equal(config_lex_file_at(dfd, "s.conf", text, true, &raw, &err), 0);
	assert_int_equal(raw.n_secs, 1);
	config_raw_free(&raw);
	close(dfd);
	unlink(path);
	unlink(text);
	snprintf(path, sizeof(path), "%s/real.txt", tmp_dir);
	unlink(path);
}

/* test_dry_run_keys - keep_versions, metrics_file and the staging
 * directory a dry run uses. */
static void
test_dry_run_keys(void **state)
{
	static const struct {
		const char *label, *text, *staging;
		unsigned keep;
	} rows[] = {
		{ "defaults: Let's Encrypt production -> staging", "[global]\n",
		  "https://acme-staging-v02.api.letsencrypt.org/directory", 5 },
		{ "explicit staging wins",
		  "[global]\nstaging_directory = https://ca.example.test/staging\n"
		  "keep_versions = 2\n",
		  "https://ca.example.test/staging", 2 },
		{ "another CA, no staging: none",
		  "[global]\ndirectory = https://ca.example.test/dir\nkeep_versions = 10000\n",
		  NULL, 10000 },
	};
	struct mc_config *cfg;
	struct mc_err err;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		cfg = load_text(rows[i].text, &err);
		if (cfg == NULL)
			fail_msg("%s: %s", rows[i].label, err.msg);
		if (rows[i].staging == NULL)
			assert_null(mc_config_staging_directory(cfg));
		else
			assert_string_equal(mc_config_staging_directory(cfg),
			    rows[i].staging);
		assert_int_equal(cfg->keep_versions, rows[i].keep);
		assert_null(cfg->metrics_file);
		mc_config_free(cfg);
	}
	cfg = load_text("[global]\nmetrics_file = /var/lib/node/mailcert.prom\n", &err);
	assert_non_null(cfg);
	assert_string_equal(cfg->metrics_file, "/var/lib/node/mailcert.prom");
	mc_config_free(cfg);
}

/* test_layouts - key_type with two types, %k paths (the built-in targets'
 * defaults get ".%k" for a dual cert, single certs keep theirs), and
 * verify_without_sni globally and per cert. */
static void
test_layouts(void **state)
{
	static const struct {
		const char *target, *cert, *want;
	} paths[] = {
		{ "postfix", "dual", "/etc/postfix/tls/dual.rsa.pem" },
		{ "dovecot", "dual", "/etc/dovecot/tls/dual.ecdsa.crt" },
		{ "exim", "dual", "/etc/exim4/tls/dual.rsa.key" },
		{ "postfix", "single", "/etc/postfix/tls/single.pem" },
		{ "own", "dual", "/srv/tls/dual-rsa.pem" },
	};
	struct mc_config *cfg;
	const struct mc_cert_conf *dual, *single;
	const struct mc_target *t;
	struct mc_err err;
	char *p;
	size_t i;

	(void)state;
	cfg = load_text("[global]\nverify_without_sni = no\n\n"
	    "[target own]\ntype = files\ncombined_file = /srv/tls/%n-%k.pem\n\n"
	    "[cert dual]\nnames = a.example.com\nkey_type = ecdsa-p256, rsa-2048\n"
	    "targets = postfix dovecot exim own\nverify_without_sni = yes\n\n"
	    "[cert single]\nnames = b.example.com\nkey_type = rsa-3072\n"
	    "targets = postfix\n", &err);
	if (cfg == NULL)
		fail_msg("%s", err.msg);
	dual = cert_of(cfg, "dual");
	single = cert_of(cfg, "single");
	assert_int_equal(dual->n_key_types, 2);
	assert_true(mc_cert_dual(dual));
	assert_int_equal(dual->key_type, MC_KEY_EC_P256);
	assert_int_equal(dual->key_types[1], MC_KEY_RSA2048);
	assert_int_equal(single->n_key_types, 1);
	assert_int_equal(single->key_type, MC_KEY_RSA3072);
	assert_false(cfg->timing.verify_without_sni);
	assert_true(dual->timing.verify_without_sni);
	assert_false(single->timing.verify_without_sni);
	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		const struct mc_cert_conf *cc = cert_of(cfg, paths[i].cert);
		const char *tmpl;
		enum mc_key_type kt = strstr(paths[i].want, "ecdsa")
		    ? MC_KEY_EC_P256 : cc->key_types[mc_cert_dual(cc) ? 1 : 0];

		t = mc_config_target(cfg, paths[i].target);
		tmpl = t->chain_file ? t->chain_file : t->combined_file
		    ? t->combined_file : strstr(paths[i].want, ".crt")
		    ? t->cert_file : t->key_file;
		p = mc_target_expand(t, tmpl, cc->name, kt, mc_cert_dual(cc), &err);
		assert_non_null(p);
		assert_string_equal(p, paths[i].want);
		free(p);
	}
	mc_config_free(cfg);
	p = mc_config_expand_key("/x/%n.%k/%%k.pem", "m", "rsa", &err);
	assert_string_equal(p, "/x/m.rsa/%k.pem");
	free(p);
	assert_null(mc_config_expand("/x/%n.%k.pem", "m", &err));
	assert_non_null(strstr(err.msg, "%k (the key algorithm) has no value"));
}

/* setup - a private temporary directory and the generated configs. */
static int
setup(void **state)
{
	const char *base = getenv("TMPDIR");

	(void)state;
	snprintf(tmp_dir, sizeof(tmp_dir), "%s/mc-config-XXXXXX",
	    base != NULL && strlen(base) < 32 ? base : "/tmp");
	if (mkdtemp(tmp_dir) == NULL)
		return -1;
	snprintf(conf_path, sizeof(conf_path), "%s/mailcert.conf", tmp_dir);
	fill_hundred();
	fill_many();
	return 0;
}

/* teardown - remove the temporary directory. */
static int
teardown(void **state)
{
	char dir[256];

	(void)state;
	unlink(conf_path);
	snprintf(dir, sizeof(dir), "%s/conf.d", tmp_dir);
	rmdir(dir);
	return rmdir(tmp_dir);
}

/* main - run the groups. */
int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_bad_names_file),
		cmocka_unit_test(test_include),
		cmocka_unit_test(test_include_cap),
		cmocka_unit_test(test_include_many),
		cmocka_unit_test(test_include_types),
		cmocka_unit_test(test_secret_not_echoed),
		cmocka_unit_test(test_tiny_files),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_duration),
		cmocka_unit_test(test_name_idn),
		cmocka_unit_test(test_name_normalize),
		cmocka_unit_test(test_cert_name_valid),
		cmocka_unit_test(test_expand),
		cmocka_unit_test(test_layouts),
		cmocka_unit_test(test_words),
		cmocka_unit_test(test_dry_run_keys),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
