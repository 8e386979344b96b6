/*
 * url.c - endpoint URLs: scheme://HOST[:PORT][/] (INTERFACE.md).
 *
 * HOST is a DNS name (U-labels become A-labels), an IPv4 literal or a
 * bracketed IPv6 literal; PORT
 * defaults per scheme, except tls:// where it is required. Every error is
 * MC_ERR_USAGE and quotes the (shortened) URL.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mailcert/config.h"
#include "mailcert/verify.h"

#define QUOTE_MAX 120

static const struct {
	const char *name;
	enum mc_scheme scheme;
	unsigned short port; /* 0: required */
	bool starttls;
} schemes[] = {
    {"smtp", MC_SCHEME_SMTP, 25, true},
    {"submission", MC_SCHEME_SUBMISSION, 587, true},
    {"smtps", MC_SCHEME_SMTPS, 465, false},
    {"imap", MC_SCHEME_IMAP, 143, true},
    {"imaps", MC_SCHEME_IMAPS, 993, false},
    {"pop3", MC_SCHEME_POP3, 110, true},
    {"pop3s", MC_SCHEME_POP3S, 995, false},
    {"sieve", MC_SCHEME_SIEVE, 4190, true},
    {"tls", MC_SCHEME_TLS, 0, false},
};

#define N_SCHEMES (sizeof(schemes) / sizeof(schemes[0]))

/* url_fail - MC_ERR_USAGE naming the URL and the problem. */
static int
url_fail(struct mc_err *err, const char *url, const char *why)
{
	return mc_err_set(err, MC_ERR_USAGE,
	                  "endpoint URL \"%.*s\": %s; use SCHEME://HOST[:PORT] "
	                  "with smtp, submission, smtps, imap, imaps, pop3, "
	                  "pop3s, sieve or tls://HOST:PORT",
	                  QUOTE_MAX, url, why);
}

/* url_scheme - index of the scheme before "://" in url, or -1. */
static int
url_scheme(const char *url, const char **rest)
{
	const char *sep = strstr(url, "://");
	size_t i, len;

	if (sep == NULL)
		return -1;
	len = (size_t)(sep - url);
	for (i = 0; i < N_SCHEMES; i++) {
		if (strlen(schemes[i].name) == len &&
		    strncasecmp(url, schemes[i].name, len) == 0) {
			*rest = sep + 3;
			return (int)i;
		}
	}
	return -1;
}

/* url_dns_name_ok - letters, digits, hyphens, dots; labels 1..63. */
static bool
url_dns_name_ok(const char *host)
{
	size_t label = 0;
	const char *p;

	for (p = host; *p != '\0'; p++) {
		if (*p == '.') {
			if (label == 0)
				return false;
			label = 0;
		} else if (isalnum((unsigned char)*p) || *p == '-' ||
		           *p == '_') {
			if (++label > 63)
				return false;
		} else {
			return false;
		}
	}
	return p != host && (label > 0 || p[-1] == '.');
}

/* url_port - parse 1..65535 from the whole of text. */
static int
url_port(const char *text, unsigned short *port)
{
	unsigned long v = 0;
	const char *p;

	if (*text == '\0' || strlen(text) > 5)
		return -1;
	for (p = text; *p != '\0'; p++) {
		if (!isdigit((unsigned char)*p))
			return -1;
		v = v * 10 + (unsigned long)(*p - '0');
	}
	if (v == 0 || v > 65535)
		return -1;
	*port = (unsigned short)v;
	return 0;
}

/* url_split - HOST and the text after it (":PORT" or "") of rest. */
static const char *
url_split(const char *rest, char *host, size_t size, bool *ip6)
{
	const char *end;
	size_t len;

	*ip6 = rest[0] == '[';
	if (*ip6) {
		end = strchr(rest, ']');
		if (end == NULL)
			return NULL;
		len = (size_t)(end - rest - 1);
		rest++;
		end++;
	} else {
		end = rest + strcspn(rest, ":/");
		len = (size_t)(end - rest);
	}
	if (len == 0 || len >= size)
		return NULL;
	memcpy(host, rest, len);
	host[len] = '\0';
	return end;
}

/* url_host_check - classify host; -1 with the reason in *why if bad. */
static int
url_host_check(const char *host, bool ip6, bool *is_ip, const char **why)
{
	unsigned char addr[16];

	if (ip6) {
		if (inet_pton(AF_INET6, host, addr) != 1) {
			*why = "the bracketed host is not an IPv6 address";
			return -1;
		}
		*is_ip = true;
		return 0;
	}
	*is_ip = inet_pton(AF_INET, host, addr) == 1;
	if (!*is_ip && !url_dns_name_ok(host)) {
		*why = "the host is not a DNS name or an IP address";
		return -1;
	}
	return 0;
}

/* url_idn - a host with U-labels in its A-label form, in place (-1 with
 * the reason in *why when it is no valid name). */
static int
url_idn(char *host, size_t size, const char **why)
{
	const char *p;
	char *a;

	for (p = host; *p != '\0' && (unsigned char)*p < 0x80; p++)
		;
	if (*p == '\0')
		return 0;
	a = mc_name_to_alabel(host, NULL);
	if (a == NULL || strlen(a) >= size || a[0] == '*') {
		free(a);
		*why = "the host is not a valid international domain name";
		return -1;
	}
	snprintf(host, size, "%s", a);
	free(a);
	return 0;
}

/* mc_verify_url_parse - parse an endpoint URL into out. */
int
mc_verify_url_parse(const char *url, struct mc_endpoint *out,
                    struct mc_err *err)
{
	struct mc_endpoint ep;
	const char *rest = NULL, *tail, *why = NULL;
	size_t tlen, digits;
	bool ip6;
	int i;

	memset(&ep, 0, sizeof(ep));
	i = url_scheme(url, &rest);
	if (i < 0)
		return url_fail(err, url, "unknown or missing scheme");
	tail = url_split(rest, ep.host, sizeof(ep.host), &ip6);
	if (tail == NULL)
		return url_fail(err, url, "missing or bad host");
	if ((!ip6 && url_idn(ep.host, sizeof(ep.host), &why) == -1) ||
	    url_host_check(ep.host, ip6, &ep.host_is_ip, &why) == -1)
		return url_fail(err, url, why);
	tlen = strlen(tail);
	if (tlen > 0 && tail[tlen - 1] == '/')
		tlen--; /* one trailing slash, as the config accepts */
	ep.port = schemes[i].port;
	if (tlen > 0) {
		char port[8];

		if (tail[0] != ':')
			return url_fail(err, url, "junk after the host");
		digits = strspn(tail + 1, "0123456789");
		if (digits > 0 && digits != tlen - 1)
			return url_fail(err, url, "junk after the port");
		if (tlen - 1 >= sizeof(port))
			return url_fail(err, url,
			                "the port must be 1 to 65535");
		memcpy(port, tail + 1, tlen - 1);
		port[tlen - 1] = '\0';
		if (url_port(port, &ep.port) == -1)
			return url_fail(err, url,
			                "the port must be 1 to 65535");
	}
	if (ep.port == 0)
		return url_fail(err, url, "tls:// needs a port");
	ep.scheme = schemes[i].scheme;
	snprintf(ep.url, sizeof(ep.url), ip6 ? "%s://[%s]:%u" : "%s://%s:%u",
	         schemes[i].name, ep.host, (unsigned)ep.port);
	*out = ep;
	return 0;
}

/* mc_verify_scheme_name - the scheme's URL name. */
const char *
mc_verify_scheme_name(enum mc_scheme scheme)
{
	size_t i;

	for (i = 0; i < N_SCHEMES; i++)
		if (schemes[i].scheme == scheme)
			return schemes[i].name;
	return "unknown";
}

/* mc_verify_scheme_starttls - whether the scheme upgrades a plain session. */
bool
mc_verify_scheme_starttls(enum mc_scheme scheme)
{
	size_t i;

	for (i = 0; i < N_SCHEMES; i++)
		if (schemes[i].scheme == scheme)
			return schemes[i].starttls;
	return false;
}
