/*
 * http_hdr.c - the response headers of the transport (see http.h): Link
 * (RFC 8288), Retry-After (RFC 9110 10.2.3), Content-Type media types.
 * No libcurl here: http.c hands the header lines over.
 */
#define _XOPEN_SOURCE 700 /* strptime */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/http_int.h"
#include "mailcert/http.h"

#define LINKS_MAX 64

/* mc_http_resp_clear - free the members of a response. */
void
mc_http_resp_clear(struct mc_http_resp *resp)
{
	size_t i;

	if (resp == NULL)
		return;
	free(resp->body);
	free(resp->location);
	free(resp->nonce);
	free(resp->content_type);
	for (i = 0; i < resp->n_links; i++) {
		free(resp->links[i].rel);
		free(resp->links[i].url);
	}
	free(resp->links);
	memset(resp, 0, sizeof(*resp));
	resp->retry_after = -1;
}

/* mc_http_link - the first link with rel. */
const char *
mc_http_link(const struct mc_http_resp *resp, const char *rel)
{
	size_t i;

	for (i = 0; i < resp->n_links; i++)
		if (strcmp(resp->links[i].rel, rel) == 0)
			return resp->links[i].url;
	return NULL;
}

/* http_trim_dup - a trimmed copy of [p, p+n) (new string or NULL). */
char *
http_trim_dup(const char *p, size_t n)
{
	while (n > 0 && isspace((unsigned char)*p)) {
		p++;
		n--;
	}
	while (n > 0 && isspace((unsigned char)p[n - 1]))
		n--;
	return strndup(p, n);
}

/* link_rel - the rel parameter in [p, end) as a new lower-case string, or NULL.
 */
static char *
link_rel(const char *p, const char *end)
{
	const char *v, *ve;
	char *rel;
	size_t i;

	while (p < end) {
		while (p < end && (*p == ';' || isspace((unsigned char)*p)))
			p++;
		if (end - p > 4 && strncasecmp(p, "rel", 3) == 0 &&
		    (p[3] == '=' || isspace((unsigned char)p[3]))) {
			v = memchr(p, '=', (size_t)(end - p));
			if (v == NULL)
				return NULL;
			v++;
			while (v < end && isspace((unsigned char)*v))
				v++;
			if (v < end && *v == '"') {
				v++;
				ve = memchr(v, '"', (size_t)(end - v));
				if (ve == NULL)
					ve = end;
			} else {
				for (ve = v; ve < end && *ve != ';' &&
				             !isspace((unsigned char)*ve);
				     ve++)
					;
			}
			rel = strndup(v, (size_t)(ve - v));
			for (i = 0; rel != NULL && rel[i] != '\0'; i++)
				rel[i] = (char)tolower((unsigned char)rel[i]);
			return rel;
		}
		p = memchr(p, ';', (size_t)(end - p));
		if (p == NULL)
			return NULL;
	}
	return NULL;
}

/* link_add - append one (rel, url) pair; takes both strings. */
static int
link_add(struct mc_http_resp *resp, char *rel, char *url, struct mc_err *err)
{
	struct mc_http_link *n;

	if (resp->n_links >= LINKS_MAX) {
		free(rel);
		free(url);
		return mc_err_set(err, MC_ERR_INPUT,
		                  "more than %d Link headers", LINKS_MAX);
	}
	n = realloc(resp->links, (resp->n_links + 1) * sizeof(*n));
	if (n == NULL) {
		free(rel);
		free(url);
		return mc_err_errno(err, MC_ERR_SYS, "out of memory");
	}
	resp->links = n;
	resp->links[resp->n_links].rel = rel;
	resp->links[resp->n_links].url = url;
	resp->n_links++;
	return 0;
}

/* mc_http_parse_link - parse `<url>; rel="x", <url2>; rel=y` into resp. */
int
mc_http_parse_link(struct mc_http_resp *resp, const char *value,
                     struct mc_err *err)
{
	const char *p = value, *u, *ue, *end;
	char *rel, *url;

	for (;;) {
		while (*p == ',' || isspace((unsigned char)*p))
			p++;
		if (*p == '\0')
			return 0;
		if (*p != '<')
			return mc_err_set(err, MC_ERR_INPUT,
			                  "malformed Link header (no <URL>)");
		u = p + 1;
		ue = strchr(u, '>');
		if (ue == NULL)
			return mc_err_set(err, MC_ERR_INPUT,
			                  "malformed Link header (no '>')");
		end = strchr(ue, ',');
		if (end == NULL)
			end = ue + strlen(ue);
		rel = link_rel(ue + 1, end);
		if (rel != NULL) {
			url = strndup(u, (size_t)(ue - u));
			if (url == NULL || link_add(resp, rel, url, err) == -1)
				return url == NULL
				           ? mc_err_errno(err, MC_ERR_SYS,
				                          "out of memory")
				           : -1;
		}
		p = end;
	}
}

/* hdr_http_date - an HTTP-date (RFC 9110 5.6.7: IMF-fixdate, or the
 * obsolete RFC 850 and asctime forms) as time_t, or -1. */
static time_t
hdr_http_date(const char *value)
{
	static const char *const forms[] = {
	    "%a, %d %b %Y %H:%M:%S GMT", /* Sun, 06 Nov 1994 08:49:37 GMT */
	    "%A, %d-%b-%y %H:%M:%S GMT", /* Sunday, 06-Nov-94 08:49:37 GMT */
	    "%a %b %e %H:%M:%S %Y",      /* Sun Nov  6 08:49:37 1994 */
	};
	struct tm tm;
	const char *end;
	size_t i;

	for (i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		memset(&tm, 0, sizeof(tm));
		end = strptime(value, forms[i], &tm);
		while (end != NULL && isspace((unsigned char)*end))
			end++;
		if (end != NULL && *end == '\0')
			return timegm(&tm);
	}
	return -1;
}

/* mc_http_parse_retry_after - delta-seconds or an HTTP-date. */
long
mc_http_parse_retry_after(const char *value)
{
	char *end;
	long v;
	time_t when;

	while (isspace((unsigned char)*value))
		value++;
	if (isdigit((unsigned char)*value)) {
		v = strtol(value, &end, 10);
		while (isspace((unsigned char)*end))
			end++;
		if (*end != '\0' || v < 0 || v > 86400 * 7)
			return -1;
		return v;
	}
	when = hdr_http_date(value);
	if (when == -1)
		return -1;
	v = (long)(when - time(NULL));
	return v < 0 ? 0 : (v > 86400 * 7 ? -1 : v);
}

/* http_media_type - the lower-case media type of a Content-Type value. */
char *
http_media_type(const char *value)
{
	size_t n = strcspn(value, ";");
	char *t = http_trim_dup(value, n);
	size_t i;

	for (i = 0; t != NULL && t[i] != '\0'; i++)
		t[i] = (char)tolower((unsigned char)t[i]);
	return t;
}
