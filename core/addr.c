/*
 * addr.c - endpoint URLs and listen addresses (see include/mailcert/addr.h).
 *
 * The one parser of each syntax: core/config_keys.c calls it when the
 * config is loaded, verify/, cli/cmd_check.c, doctor/ and
 * acme/chall_listen.c at run time (mc_hostport_parse: core/dns.c,
 * core/nsupdate.c, core/storeurl.c), so nothing the config accepts can
 * fail later on its syntax.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mailcert/addr.h"
#include "mailcert/config.h"

#define QUOTE_MAX 120
#define NAME_MAX_LEN 253
#define LABEL_MAX 63

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

/* addr_dns_name_ok - labels of letters, digits, '-' (not at either end)
 * and '_', 1 to 63 long; at most 253 characters; one trailing dot. */
static bool
addr_dns_name_ok(const char *host)
{
	size_t label = 0, len = strlen(host);
	const char *p;

	if (len > 0 && host[len - 1] == '.')
		len--;
	if (len == 0 || len > NAME_MAX_LEN)
		return false;
	for (p = host; p < host + len; p++) {
		if (*p == '.') {
			if (label == 0 || p[-1] == '-')
				return false;
			label = 0;
		} else if (isalnum((unsigned char)*p) || *p == '_' ||
		           (*p == '-' && label > 0)) {
			if (++label > LABEL_MAX)
				return false;
		} else {
			return false;
		}
	}
	return label > 0 && p[-1] != '-';
}

/* addr_port - parse 1..65535 from the n characters at text. */
static int
addr_port(const char *text, size_t n, unsigned short *port)
{
	unsigned long v = 0;
	size_t i;

	if (n == 0 || n > 5)
		return -1;
	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)text[i]))
			return -1;
		v = v * 10 + (unsigned long)(text[i] - '0');
	}
	if (v == 0 || v > 65535)
		return -1;
	*port = (unsigned short)v;
	return 0;
}

/* url_split - HOST and the text after it (":PORT", "/" or "") of rest. */
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
	unsigned char bin[16];

	if (ip6) {
		if (inet_pton(AF_INET6, host, bin) != 1) {
			*why = "the bracketed host is not an IPv6 address";
			return -1;
		}
		*is_ip = true;
		return 0;
	}
	*is_ip = inet_pton(AF_INET, host, bin) == 1;
	if (!*is_ip && !addr_dns_name_ok(host)) {
		*why = "the host is not a DNS name or an IP address";
		return -1;
	}
	return 0;
}

/* url_tail - the port after the host (or the scheme's default); the
 * reason in *why if the tail is bad. */
static int
url_tail(const char *tail, unsigned short *port, const char **why)
{
	size_t tlen = strlen(tail), digits;

	if (tlen > 0 && tail[tlen - 1] == '/')
		tlen--; /* one trailing slash */
	if (tlen == 0)
		return 0;
	if (tail[0] != ':') {
		*why = "junk after the host";
		return -1;
	}
	digits = strspn(tail + 1, "0123456789");
	if (digits > 0 && digits != tlen - 1) {
		*why = "junk after the port";
		return -1;
	}
	if (addr_port(tail + 1, tlen - 1, port) == -1) {
		*why = "the port must be 1 to 65535";
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

/* mc_addr_endpoint_parse - parse an endpoint URL into out. */
int
mc_addr_endpoint_parse(const char *url, struct mc_endpoint *out,
                       struct mc_err *err)
{
	struct mc_endpoint ep;
	const char *rest = NULL, *tail, *why = NULL;
	bool ip6;
	int i;

	if (url == NULL)
		return url_fail(err, "", "empty");
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
	ep.port = schemes[i].port;
	if (url_tail(tail, &ep.port, &why) == -1)
		return url_fail(err, url, why);
	if (ep.port == 0)
		return url_fail(err, url, "tls:// needs a port");
	ep.scheme = schemes[i].scheme;
	snprintf(ep.url, sizeof(ep.url), ip6 ? "%s://[%s]:%u" : "%s://%s:%u",
	         schemes[i].name, ep.host, (unsigned)ep.port);
	*out = ep;
	return 0;
}

/* mc_addr_scheme_name - the scheme's URL name. */
const char *
mc_addr_scheme_name(enum mc_scheme scheme)
{
	size_t i;

	for (i = 0; i < N_SCHEMES; i++)
		if (schemes[i].scheme == scheme)
			return schemes[i].name;
	return "unknown";
}

/* mc_addr_scheme_starttls - whether the scheme upgrades a plain session. */
bool
mc_addr_scheme_starttls(enum mc_scheme scheme)
{
	size_t i;

	for (i = 0; i < N_SCHEMES; i++)
		if (schemes[i].scheme == scheme)
			return schemes[i].starttls;
	return false;
}

/* listen_fail - MC_ERR_CONFIG naming the address and the problem. */
static int
listen_fail(struct mc_err *err, const char *spec, const char *why)
{
	return mc_err_set(err, MC_ERR_CONFIG,
	                  "listen address \"%.*s\": %s; write HOST:PORT with "
	                  "an IPv4 address, a [bracketed IPv6 address] or "
	                  "localhost, e.g. 0.0.0.0:80 or [::]:80",
	                  QUOTE_MAX, spec, why);
}

/* listen_split - host (brackets removed) and the port text of spec. */
static int
listen_split(const char *spec, char *host, size_t size, const char **port,
             const char **why)
{
	const char *colon, *end;

	if (spec[0] == '[') {
		end = strchr(spec, ']');
		if (end == NULL || end[1] != ':') {
			*why = end == NULL ? "no ']' after the IPv6 address"
			                   : "no :PORT after ']'";
			return -1;
		}
		spec++;
		colon = end + 1;
	} else {
		colon = strrchr(spec, ':');
		if (colon == NULL) {
			*why = "no :PORT";
			return -1;
		}
		if (memchr(spec, ':', (size_t)(colon - spec)) != NULL) {
			*why = "an IPv6 address needs brackets";
			return -1;
		}
		end = colon;
	}
	if (end == spec || (size_t)(end - spec) >= size) {
		*why = end == spec ? "no host before the port" : "host too long";
		return -1;
	}
	memcpy(host, spec, (size_t)(end - spec));
	host[end - spec] = '\0';
	*port = colon + 1;
	return 0;
}

/* listen_sockaddr - fill out with host (IPv6 when bracketed) and port. */
static int
listen_sockaddr(const char *host, bool bracketed, unsigned short port,
                struct mc_listen_addr *out)
{
	struct sockaddr_in *in4 = (struct sockaddr_in *)&out->ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&out->ss;

	memset(out, 0, sizeof(*out));
	if (!bracketed && strcmp(host, "localhost") == 0)
		host = "127.0.0.1";
	if (!bracketed && inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons(port);
		out->len = sizeof(*in4);
		return 0;
	}
	if (bracketed && inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		out->len = sizeof(*in6);
		return 0;
	}
	return -1;
}

/* mc_addr_listen_parse - parse a listen address into out. */
int
mc_addr_listen_parse(const char *spec, struct mc_listen_addr *out,
                     struct mc_err *err)
{
	char host[INET6_ADDRSTRLEN + 1];
	struct mc_listen_addr la;
	const char *port_s = NULL, *why = NULL;
	unsigned short port = 0;

	if (spec == NULL || spec[0] == '\0')
		return listen_fail(err, "", "no listen address");
	if (listen_split(spec, host, sizeof(host), &port_s, &why) == -1)
		return listen_fail(err, spec, why);
	if (addr_port(port_s, strlen(port_s), &port) == -1)
		return listen_fail(err, spec, "the port must be 1 to 65535");
	if (listen_sockaddr(host, spec[0] == '[', port, &la) == -1)
		return listen_fail(err, spec,
		                   spec[0] == '['
		                       ? "the bracketed host is not an IPv6 "
		                         "address"
		                       : "the host is not an IPv4 address or "
		                         "localhost (host names are not "
		                         "resolved for listening)");
	*out = la;
	return 0;
}

/* hostport_host - the length of HOST at s (a name of letters, digits, '.'
 * and '-', or a [bracketed IPv6 address]), or 0. */
static size_t
hostport_host(const char *s)
{
	char addr[64];
	unsigned char bin[16];
	size_t n;

	if (*s == '[') {
		n = strcspn(s, "]");
		if (s[n] != ']' || n - 1 >= sizeof(addr))
			return 0;
		memcpy(addr, s + 1, n - 1);
		addr[n - 1] = '\0';
		if (inet_pton(AF_INET6, addr, bin) != 1)
			return 0;
		return n + 1;
	}
	for (n = 0; isalnum((unsigned char)s[n]) || s[n] == '.' || s[n] == '-';
	     n++)
		;
	return n;
}

/* mc_hostport_parse - split "HOST[:PORT]" into host and port (0 if none). */
int
mc_hostport_parse(const char *text, char *host, size_t size, int *port,
                  struct mc_err *err)
{
	size_t h = hostport_host(text);
	const char *p = text + h;
	unsigned short v = 0;

	if (h == 0 || (*p != '\0' && *p != ':') ||
	    (*p == ':' && addr_port(p + 1, strlen(p + 1), &v) == -1))
		return mc_err_set(err, MC_ERR_INPUT,
		                  "\"%.*s\" is not HOST[:PORT]; write e.g. "
		                  "127.0.0.1:53 or [::1]:53 (port 1 to 65535)",
		                  QUOTE_MAX, text);
	if (text[0] == '[') {
		text++;
		h -= 2;
	}
	if (h >= size)
		return mc_err_set(err, MC_ERR_INPUT, "\"%.*s\": host too long",
		                  QUOTE_MAX, text);
	memcpy(host, text, h);
	host[h] = '\0';
	*port = (int)v;
	return 0;
}
