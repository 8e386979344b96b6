/*
 * test_verify_url.c - endpoint URL parsing: every scheme, default ports,
 * IP literals, and the ways a URL can be wrong.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "mailcert/verify.h"

static const struct {
	const char *label;
	const char *url;
	enum mc_scheme scheme;
	const char *host;
	unsigned short port;
	bool is_ip;
	const char *canonical;
} good[] = {
    {"smtp default", "smtp://mail.example.com", MC_SCHEME_SMTP,
     "mail.example.com", 25, false, "smtp://mail.example.com:25"},
    {"submission default", "submission://mx.example.org", MC_SCHEME_SUBMISSION,
     "mx.example.org", 587, false, "submission://mx.example.org:587"},
    {"smtps default", "smtps://mx.example.org", MC_SCHEME_SMTPS,
     "mx.example.org", 465, false, "smtps://mx.example.org:465"},
    {"imap default", "imap://127.0.0.1", MC_SCHEME_IMAP, "127.0.0.1", 143, true,
     "imap://127.0.0.1:143"},
    {"imaps default", "imaps://imap.example.com", MC_SCHEME_IMAPS,
     "imap.example.com", 993, false, "imaps://imap.example.com:993"},
    {"pop3 default", "pop3://pop.example.com", MC_SCHEME_POP3,
     "pop.example.com", 110, false, "pop3://pop.example.com:110"},
    {"pop3s default", "pop3s://pop.example.com", MC_SCHEME_POP3S,
     "pop.example.com", 995, false, "pop3s://pop.example.com:995"},
    {"sieve default", "sieve://localhost", MC_SCHEME_SIEVE, "localhost", 4190,
     false, "sieve://localhost:4190"},
    {"tls with port", "tls://127.0.0.1:8443", MC_SCHEME_TLS, "127.0.0.1", 8443,
     true, "tls://127.0.0.1:8443"},
    {"explicit port", "smtp://127.0.0.1:2525", MC_SCHEME_SMTP, "127.0.0.1",
     2525, true, "smtp://127.0.0.1:2525"},
    {"port 1", "imaps://h.example:1", MC_SCHEME_IMAPS, "h.example", 1, false,
     "imaps://h.example:1"},
    {"port 65535", "pop3://h.example:65535", MC_SCHEME_POP3, "h.example", 65535,
     false, "pop3://h.example:65535"},
    {"ipv6 default port", "smtps://[::1]", MC_SCHEME_SMTPS, "::1", 465, true,
     "smtps://[::1]:465"},
    {"ipv6 with port", "imap://[2001:db8::25]:1143", MC_SCHEME_IMAP,
     "2001:db8::25", 1143, true, "imap://[2001:db8::25]:1143"},
    {"trailing slash", "smtp://mail.example.com:25/", MC_SCHEME_SMTP,
     "mail.example.com", 25, false, "smtp://mail.example.com:25"},
    {"upper-case scheme", "SMTPS://mail.example.com", MC_SCHEME_SMTPS,
     "mail.example.com", 465, false, "smtps://mail.example.com:465"},
    {"single label host", "sieve://mailhost:2000", MC_SCHEME_SIEVE, "mailhost",
     2000, false, "sieve://mailhost:2000"},
};

static const struct {
	const char *label;
	const char *url;
	const char *fragment;
} bad[] = {
    {"unknown scheme", "http://mail.example.com", "unknown or missing scheme"},
    {"no scheme", "mail.example.com:25", "unknown or missing scheme"},
    {"scheme prefix only", "smt://mail.example.com",
     "unknown or missing scheme"},
    {"empty", "", "unknown or missing scheme"},
    {"missing host", "smtp://", "missing or bad host"},
    {"missing host with port", "imaps://:993", "missing or bad host"},
    {"port 0", "smtp://mail.example.com:0", "port must be 1 to 65535"},
    {"port 65536", "smtp://mail.example.com:65536", "port must be 1 to 65535"},
    {"port abc", "smtp://mail.example.com:abc", "port must be 1 to 65535"},
    {"empty port", "smtp://mail.example.com:", "port must be 1 to 65535"},
    {"huge port", "smtp://h.example:0000000025", "port must be 1 to 65535"},
    {"negative port", "smtp://h.example:-1", "port must be 1 to 65535"},
    {"tls without port", "tls://mail.example.com", "tls:// needs a port"},
    {"tls ipv6 without port", "tls://[::1]", "tls:// needs a port"},
    {"junk after port", "smtp://mail.example.com:25x", "junk after the port"},
    {"path after port", "imap://h.example:143/INBOX", "junk after the port"},
    {"path after host", "imap://h.example/INBOX", "junk after the host"},
    {"junk after ipv6", "smtp://[::1]x", "junk after the host"},
    {"unclosed ipv6", "smtp://[::1", "missing or bad host"},
    {"bad ipv6", "smtp://[fe80::zz]:25", "not an IPv6 address"},
    {"bracketed ipv4", "smtp://[127.0.0.1]:25", "not an IPv6 address"},
    {"bare ipv6", "smtp://::1", "missing or bad host"},
    {"userinfo", "smtp://user@mail.example.com", "not a DNS name"},
    {"space in host", "smtp://mail example.com", "not a DNS name"},
    {"empty label", "smtp://mail..example.com", "not a DNS name"},
};

/* test_url_good - every good URL parses to scheme, host, port, canonical. */
static void
test_url_good(void **state)
{
	struct mc_endpoint ep;
	struct mc_err err;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		mc_err_clear(&err);
		memset(&ep, 0xa5, sizeof(ep));
		if (mc_verify_url_parse(good[i].url, &ep, &err) != 0)
			fail_msg("%s: %s", good[i].label, err.msg);
		assert_int_equal(ep.scheme, good[i].scheme);
		assert_string_equal(ep.host, good[i].host);
		assert_int_equal(ep.port, good[i].port);
		assert_int_equal(ep.host_is_ip, good[i].is_ip);
		assert_string_equal(ep.url, good[i].canonical);
	}
}

/* test_url_bad - every bad URL fails with MC_ERR_USAGE naming URL and why. */
static void
test_url_bad(void **state)
{
	struct mc_endpoint ep, before;
	struct mc_err err;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		mc_err_clear(&err);
		memset(&ep, 0x5a, sizeof(ep));
		before = ep;
		if (mc_verify_url_parse(bad[i].url, &ep, &err) != -1)
			fail_msg("%s: \"%s\" was accepted", bad[i].label,
			         bad[i].url);
		assert_int_equal(err.cat, MC_ERR_USAGE);
		if (strstr(err.msg, bad[i].fragment) == NULL ||
		    strstr(err.msg, bad[i].url) == NULL)
			fail_msg("%s: message \"%s\" lacks \"%s\" or the URL",
			         bad[i].label, err.msg, bad[i].fragment);
		assert_memory_equal(&ep, &before, sizeof(ep)); /* untouched */
	}
}

static const struct {
	enum mc_scheme scheme;
	const char *name;
	bool starttls;
} scheme_rows[] = {
    {MC_SCHEME_SMTP, "smtp", true},
    {MC_SCHEME_SUBMISSION, "submission", true},
    {MC_SCHEME_SMTPS, "smtps", false},
    {MC_SCHEME_IMAP, "imap", true},
    {MC_SCHEME_IMAPS, "imaps", false},
    {MC_SCHEME_POP3, "pop3", true},
    {MC_SCHEME_POP3S, "pop3s", false},
    {MC_SCHEME_SIEVE, "sieve", true},
    {MC_SCHEME_TLS, "tls", false},
};

/* test_scheme_table - names and STARTTLS flags of every scheme. */
static void
test_scheme_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(scheme_rows) / sizeof(scheme_rows[0]); i++) {
		assert_string_equal(
		    mc_verify_scheme_name(scheme_rows[i].scheme),
		    scheme_rows[i].name);
		assert_int_equal(
		    mc_verify_scheme_starttls(scheme_rows[i].scheme),
		    scheme_rows[i].starttls);
	}
	assert_string_equal(mc_verify_scheme_name((enum mc_scheme)99),
	                    "unknown");
}

/* test_outcome_names - stable names of the outcomes. */
static void
test_outcome_names(void **state)
{
	(void)state;
	assert_string_equal(mc_verify_outcome_name(MC_PROBE_OK), "ok");
	assert_string_equal(mc_verify_outcome_name(MC_PROBE_STARTTLS_MISSING),
	                    "starttls-missing");
	assert_string_equal(mc_verify_outcome_name(MC_PROBE_PROTOCOL_ERROR),
	                    "protocol-error");
	assert_string_equal(mc_verify_outcome_name((enum mc_probe_outcome)42),
	                    "unknown");
	assert_true(mc_verify_outcome_transient(MC_PROBE_UNREACHABLE));
	assert_false(mc_verify_outcome_transient(MC_PROBE_STARTTLS_MISSING));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_url_good),
	    cmocka_unit_test(test_url_bad),
	    cmocka_unit_test(test_scheme_table),
	    cmocka_unit_test(test_outcome_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
