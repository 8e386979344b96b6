/*
 * test_dns.c - the parts of core/dns.c and core/nsupdate.c that need no
 * DNS server: the trust anchor file check (mc_dns_new), the BIND key-file
 * parser (mc_dns_update fails on a bad file before any packet is sent; a
 * good file gets as far as the network: connection refused on port 1),
 * mc_hostport_parse, mc_tlsa_name_parse and mc_tlsa_rec_text. Lookups and
 * updates against real servers are in the t_dane_* integration tests.
 */
#include "tests/unit/tmpdir.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "mailcert/config.h"
#include "mailcert/dns.h"

static char dir[] = "/tmp/mc-test-dns.XXXXXX";

/* write_file - dir/name with text; returns the path (static buffer). */
static const char *
write_file(const char *name, const char *text)
{
	static char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
	return path;
}

static const struct anchor_case {
	const char *label;
	const char *text; /* NULL: no file */
	enum mc_err_cat cat;
	const char *frag; /* NULL: accepted */
} anchor_cases[] = {
	{ "DS", "dane.example. IN DS 1 13 2 " "AB12", MC_ERR_NONE, NULL },
	{ "DS with TTL and comments", "; anchor\n\n. 172800 IN DS 20326 8 2 E06D\n",
	  MC_ERR_NONE, NULL },
	{ "DNSKEY (root.key style)", ". IN DNSKEY 257 3 8 AwEAAaz ; keytag 20326\n",
	  MC_ERR_NONE, NULL },
	{ "no file", NULL, MC_ERR_SYS, "dnssec_anchor (install dns-root-data" },
	{ "empty", "", MC_ERR_CONFIG, "no DS or DNSKEY record in it" },
	{ "comments only", "; nothing\n# else\n", MC_ERR_CONFIG, "no DS or DNSKEY" },
	{ "garbage line 2", ". IN DS 1 8 2 AB\nhello world\n", MC_ERR_CONFIG,
	  "anchor.txt:2: not a DS or DNSKEY record" },
	{ "A record", "example. IN A 192.0.2.1\n", MC_ERR_CONFIG,
	  "anchor.txt:1: not a DS or DNSKEY record" },
	{ "BIND trust-anchors syntax", "trust-anchors {\n . initial-key 257 3 8 \"Aw\";\n};\n",
	  MC_ERR_CONFIG, "anchor.txt:1: not a DS or DNSKEY record" },
};

/* test_anchor - every row of anchor_cases. */
static void
test_anchor(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(anchor_cases) / sizeof(anchor_cases[0]); i++) {
		const struct anchor_case *c = &anchor_cases[i];
		char missing[512];
		struct mc_dns_conf conf = { "127.0.0.1:1", NULL, 1 };
		struct mc_dns *dns;
		struct mc_err err;

		snprintf(missing, sizeof(missing), "%s/none", dir);
		conf.anchor = c->text ? write_file("anchor.txt", c->text) : missing;
		mc_err_clear(&err);
		dns = mc_dns_new(&conf, &err);
		if (c->frag == NULL && dns == NULL)
			fail_msg("%s: %s", c->label, err.msg);
		if (c->frag != NULL && (dns != NULL || err.cat != c->cat ||
					strstr(err.msg, c->frag) == NULL))
			fail_msg("%s: got [%s] %s", c->label, mc_err_cat_name(err.cat),
				 err.msg);
		mc_dns_free(dns);
	}
}

#define SECRET "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0IQ=="

static const struct key_case {
	const char *label;
	const char *text;
	enum mc_err_cat cat;
	const char *frag;
} key_cases[] = {
	{ "tsig-keygen output", "key \"upd.\" {\n\talgorithm hmac-sha256;\n\tsecret \""
	  SECRET "\";\n};\n", MC_ERR_NET, "127.0.0.1:1" },
	{ "comments, no dot, one line", "# c\n// d\n/* e\n f */ key upd { secret \"" SECRET
	  "\"; algorithm HMAC-SHA512; };", MC_ERR_NET, "127.0.0.1:1" },
	{ "empty file", "", MC_ERR_CONFIG, "key.txt:1: expected \"key\"" },
	{ "no braces", "key \"upd\";\n", MC_ERR_CONFIG, "key.txt:1: expected \"{\"" },
	{ "unknown algorithm", "key \"u\" {\n algorithm hmac-md5;\n secret \"" SECRET
	  "\";\n};\n", MC_ERR_CONFIG, "key.txt:2: algorithm \"hmac-md5\" is not supported" },
	{ "no secret", "key \"u\" { algorithm hmac-sha256; };\n", MC_ERR_CONFIG,
	  "needs both algorithm and secret" },
	{ "no algorithm", "key \"u\" { secret \"" SECRET "\"; };\n", MC_ERR_CONFIG,
	  "needs both algorithm and secret" },
	{ "unknown clause", "key \"u\" {\n\n owner x;\n};\n", MC_ERR_CONFIG,
	  "key.txt:3: unknown clause \"owner\"" },
	{ "missing semicolon", "key \"u\" { algorithm hmac-sha256 secret \"x\"; };\n",
	  MC_ERR_CONFIG, "expected \";\"" },
	{ "unterminated string", "key \"u { algorithm hmac-sha256; };\n", MC_ERR_CONFIG,
	  "expected a value" },
	{ "no final semicolon", "key \"u\" { algorithm hmac-sha256; secret \"" SECRET
	  "\"; }\n", MC_ERR_CONFIG, "expected \";\"" },
};

/* test_keyfile - every row of key_cases; the secret is never in a message. */
static void
test_keyfile(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(key_cases) / sizeof(key_cases[0]); i++) {
		const struct key_case *c = &key_cases[i];
		struct mc_dns_update_conf conf = { "127.0.0.1:1", NULL, 2 };
		struct mc_err err;

		conf.keyfile = write_file("key.txt", c->text);
		mc_err_clear(&err);
		if (mc_dns_update(&conf, MC_DNS_ADD, "_25._tcp.mx.example.com", "TLSA",
				  "3 1 1 ab", &err) == 0)
			fail_msg("%s: succeeded", c->label);
		if (err.cat != c->cat || strstr(err.msg, c->frag) == NULL ||
		    strstr(err.msg, SECRET) != NULL)
			fail_msg("%s: got [%s] %s", c->label, mc_err_cat_name(err.cat),
				 err.msg);
	}
}

static const struct name_case {
	const char *in;
	const char *out; /* NULL: refused */
} name_cases[] = {
	{ "_25._tcp.mx.example.com", "_25._tcp.mx.example.com" },
	{ "_25._TCP.MX.Example.COM.", "_25._tcp.mx.example.com" },
	{ "_443._udp.a.example", "_443._udp.a.example" },
	{ "_65535._sctp.a.example", "_65535._sctp.a.example" },
	{ "_0._tcp.mx.example.com", NULL },
	{ "_65536._tcp.mx.example.com", NULL },
	{ "_25.tcp.mx.example.com", NULL },
	{ "25._tcp.mx.example.com", NULL },
	{ "_25._tcp.", NULL },
	{ "_25._tcp.localhost", NULL },
	{ "_x._tcp.mx.example.com", NULL },
	{ "", NULL },
};

/* test_tlsa_name - mc_tlsa_name_parse. */
static void
test_tlsa_name(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(name_cases) / sizeof(name_cases[0]); i++) {
		struct mc_err err;
		char *got = mc_tlsa_name_parse(name_cases[i].in, &err);

		if (name_cases[i].out == NULL && got != NULL)
			fail_msg("%s: accepted as %s", name_cases[i].in, got);
		if (name_cases[i].out != NULL &&
		    (got == NULL || strcmp(got, name_cases[i].out) != 0))
			fail_msg("%s: got %s", name_cases[i].in, got ? got : err.msg);
		free(got);
	}
}

static const struct hp_case {
	const char *in;
	const char *host; /* NULL: refused */
	int port;
} hp_cases[] = {
	{ "127.0.0.1", "127.0.0.1", 0 },
	{ "127.0.0.1:5353", "127.0.0.1", 5353 },
	{ "[::1]:53", "::1", 53 },
	{ "[2001:db8::1]", "2001:db8::1", 0 },
	{ "ns.example.com:53", "ns.example.com", 53 },
	{ "127.0.0.1:0", NULL, 0 },
	{ "127.0.0.1:65536", NULL, 0 },
	{ "127.0.0.1:", NULL, 0 },
	{ "::1", NULL, 0 },
	{ "[::1", NULL, 0 },
	{ "a b", NULL, 0 },
	{ "", NULL, 0 },
};

/* test_hostport - mc_hostport_parse. */
static void
test_hostport(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(hp_cases) / sizeof(hp_cases[0]); i++) {
		const struct hp_case *c = &hp_cases[i];
		char host[64];
		int port = -1, rc;
		struct mc_err err;

		rc = mc_hostport_parse(c->in, host, sizeof(host), &port, &err);
		if (c->host == NULL && rc == 0)
			fail_msg("%s: accepted as %s %d", c->in, host, port);
		if (c->host != NULL && (rc != 0 || strcmp(host, c->host) != 0 ||
					port != c->port))
			fail_msg("%s: rc %d host %s port %d", c->in, rc, host, port);
	}
}

/* test_rec_text - "U S M HEX", truncated with "..." when too long. */
static void
test_rec_text(void **state)
{
	unsigned char data[40] = { 0xab, 0x01 };
	struct mc_tlsa_rec r = { 3, 1, 1, data, 2 };
	char buf[100], small[16];

	(void)state;
	assert_string_equal(mc_tlsa_rec_text(&r, buf, sizeof(buf)), "3 1 1 ab01");
	r.len = sizeof(data);
	mc_tlsa_rec_text(&r, small, sizeof(small));
	assert_string_equal(small, "3 1 1 ab0100...");
}

/* setup - a private temp dir. */
static int
setup(void **state)
{
	(void)state;
	return mkdtemp(dir) == NULL ? -1 : 0;
}

/* teardown - remove it. */
static int
teardown(void **state)
{
	(void)state;
	return td_remove(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_anchor),
		cmocka_unit_test(test_keyfile),
		cmocka_unit_test(test_tlsa_name),
		cmocka_unit_test(test_hostport),
		cmocka_unit_test(test_rec_text),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
