/*
 * test_addr.c - the one parser of each address syntax (core/addr.c):
 * endpoint URLs (every scheme, default ports, IP literals, the ways a URL
 * can be wrong) and listen addresses (IPv4, [IPv6], localhost; no names).
 * The config loader and the runtime both call these functions; the config
 * side is covered by test_config and t_config_errors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cmocka.h>

#include "mailcert/addr.h"

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

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
    {"trailing dot", "smtp://mx.example.com.:25", MC_SCHEME_SMTP,
     "mx.example.com.", 25, false, "smtp://mx.example.com.:25"},
    {"underscore label", "imaps://mail_1.example.com", MC_SCHEME_IMAPS,
     "mail_1.example.com", 993, false, "imaps://mail_1.example.com:993"},
    {"hyphen inside", "pop3s://mail-1.example.com", MC_SCHEME_POP3S,
     "mail-1.example.com", 995, false, "pop3s://mail-1.example.com:995"},
    {"IDN host as A-labels", "smtp://b\xc3\xbc" "cher.example", MC_SCHEME_SMTP,
     "xn--bcher-kva.example", 25, false, "smtp://xn--bcher-kva.example:25"},
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
    {"empty label, short", "smtp://a..b:25", "not a DNS name"},
    {"leading dot", "smtp://.example.com", "not a DNS name"},
    {"two trailing dots", "smtp://example.com..", "not a DNS name"},
    {"leading hyphen", "imaps://-mail.example.com", "not a DNS name"},
    {"trailing hyphen", "imaps://mail-.example.com", "not a DNS name"},
    {"64-char label",
     "smtp://abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghij1234"
     ".example",
     "not a DNS name"},
    {"control byte", "smtp://mail\x7f.example.com", "not a DNS name"},
    {"percent", "smtp://mail%2eexample.com", "not a DNS name"},
    {"bad UTF-8 host", "smtp://b\xfc" "cher.example", "international domain"},
    {"IDN wildcard", "smtp://*.b\xc3\xbc" "cher.example", "international domain"},
    {"NULL", NULL, "empty"},
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
		if (mc_addr_endpoint_parse(good[i].url, &ep, &err) != 0)
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
		if (mc_addr_endpoint_parse(bad[i].url, &ep, &err) != -1)
			fail_msg("%s: \"%s\" was accepted", bad[i].label,
			         bad[i].url);
		assert_int_equal(err.cat, MC_ERR_USAGE);
		if (strstr(err.msg, bad[i].fragment) == NULL ||
		    (bad[i].url != NULL && strchr(bad[i].url, 0x7f) == NULL &&
		     strchr(bad[i].url, '\xfc') == NULL && /* shown as '?' */
		     strstr(err.msg, bad[i].url) == NULL))
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
		    mc_addr_scheme_name(scheme_rows[i].scheme),
		    scheme_rows[i].name);
		assert_int_equal(
		    mc_addr_scheme_starttls(scheme_rows[i].scheme),
		    scheme_rows[i].starttls);
	}
	assert_string_equal(mc_addr_scheme_name((enum mc_scheme)99),
	                    "unknown");
}

/* ---- listen addresses ---- */

static const struct {
	const char *label;
	const char *spec;
	int family; /* 0: error */
	int port;
	const char *frag;
} listen_cases[] = {
	{"IPv4", "127.0.0.1:8080", AF_INET, 8080, NULL},
	{"any IPv4", "0.0.0.0:80", AF_INET, 80, NULL},
	{"localhost", "localhost:443", AF_INET, 443, NULL},
	{"IPv6 loopback", "[::1]:443", AF_INET6, 443, NULL},
	{"any IPv6", "[::]:80", AF_INET6, 80, NULL},
	{"highest port", "127.0.0.1:65535", AF_INET, 65535, NULL},
	{"empty", "", 0, 0, "no listen address"},
	{"NULL", NULL, 0, 0, "no listen address"},
	{"no port", "127.0.0.1", 0, 0, "\"127.0.0.1\": no :PORT"},
	{"empty port", "127.0.0.1:", 0, 0, "port must be 1 to 65535"},
	{"port 0", "127.0.0.1:0", 0, 0, "port must be 1 to 65535"},
	{"port too big", "127.0.0.1:65536", 0, 0, "port must be 1 to 65535"},
	{"port with junk", "127.0.0.1:80x", 0, 0, "port must be 1 to 65535"},
	{"negative port", "127.0.0.1:-1", 0, 0, "port must be 1 to 65535"},
	{"host name", "mail.example.com:80", 0, 0,
	 "\"mail.example.com:80\": the host is not an IPv4 address or localhost"},
	{"host name, short", "host.name:80", 0, 0, "host names are not resolved"},
	{"bad IPv4", "256.1.1.1:80", 0, 0, "not an IPv4 address"},
	{"IPv6 without brackets", "::1:80", 0, 0, "an IPv6 address needs brackets"},
	{"bracket without colon", "[::1]80", 0, 0, "no :PORT after ']'"},
	{"unclosed bracket", "[::1:80", 0, 0, "no ']'"},
	{"IPv4 in brackets", "[127.0.0.1]:80", 0, 0, "not an IPv6 address"},
	{"localhost in brackets", "[localhost]:80", 0, 0, "not an IPv6 address"},
	{"no host", ":80", 0, 0, "no host before the port"},
	{"empty brackets", "[]:80", 0, 0, "no host before the port"},
	{"long host", "1234567890123456789012345678901234567890123456789:80", 0, 0,
	 "host too long"},
};

/* test_listen_parse - every row of listen_cases. */
static void
test_listen_parse(void **state)
{
	struct mc_listen_addr la, before;
	struct mc_err err;
	size_t i;
	int rc;

	(void)state;
	for (i = 0; i < N_OF(listen_cases); i++) {
		mc_err_clear(&err);
		memset(&la, 0x5a, sizeof(la));
		before = la;
		rc = mc_addr_listen_parse(listen_cases[i].spec, &la, &err);
		if (listen_cases[i].family == 0) {
			if (rc != -1)
				fail_msg("%s: accepted", listen_cases[i].label);
			if (err.cat != MC_ERR_CONFIG ||
			    strstr(err.msg, listen_cases[i].frag) == NULL ||
			    strstr(err.msg, "write HOST:PORT") == NULL)
				fail_msg("%s: [%s] %s lacks \"%s\"",
				         listen_cases[i].label,
				         mc_err_cat_name(err.cat), err.msg,
				         listen_cases[i].frag);
			assert_memory_equal(&la, &before, sizeof(la));
			continue;
		}
		if (rc != 0)
			fail_msg("%s: %s", listen_cases[i].label, err.msg);
		assert_int_equal(la.ss.ss_family, listen_cases[i].family);
		assert_int_equal(ntohs(((struct sockaddr_in *)&la.ss)->sin_port),
		                 listen_cases[i].port);
		assert_int_equal(la.len, listen_cases[i].family == AF_INET
		                             ? sizeof(struct sockaddr_in)
		                             : sizeof(struct sockaddr_in6));
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_url_good),
	    cmocka_unit_test(test_url_bad),
	    cmocka_unit_test(test_scheme_table),
	    cmocka_unit_test(test_listen_parse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
