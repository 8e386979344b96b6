/*
 * ari.c - ACME Renewal Information (RFC 9773): fetch the suggested renewal
 * window of a certificate, parse its RFC 3339 timestamps, clamp the
 * Retry-After poll interval and pick a random moment inside the window.
 *
 * The renewalInfo request is a plain GET (RFC 9773 section 4.1), bounded
 * by the client's timeouts and response cap like every other request.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include "acme/acme_int.h"
#include "mailcert/buf.h"

#define ARI_CERT_ID_MAX 1024
#define ARI_PICK_TRIES 64

/* ari_digits - n decimal digits at *p into *v; advances *p. */
static int
ari_digits(const char **p, int n, int *v)
{
	int i, x = 0;

	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return -1;
		x = x * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*v = x;
	return 0;
}

/* ari_expect - the character c (or its lower-case form lc) at *p. */
static int
ari_expect(const char **p, char c, char lc)
{
	if (**p != c && **p != lc)
		return -1;
	(*p)++;
	return 0;
}

/* ari_mday_ok - whether day exists in month of year (Gregorian). */
static int
ari_mday_ok(int year, int mon, int day)
{
	static const int mdays[12] = {31, 29, 31, 30, 31, 30,
				      31, 31, 30, 31, 30, 31};
	int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

	if (mon < 1 || mon > 12 || day < 1 || day > mdays[mon - 1])
		return 0;
	return mon != 2 || day <= 28 || leap;
}

/* ari_offset - the zone "Z" or "+hh:mm"/"-hh:mm" as seconds east of UTC. */
static int
ari_offset(const char **p, long *off)
{
	int sign, hh, mm;

	if (**p == 'Z' || **p == 'z') {
		(*p)++;
		*off = 0;
		return 0;
	}
	if (**p != '+' && **p != '-')
		return -1;
	sign = **p == '-' ? -1 : 1;
	(*p)++;
	if (ari_digits(p, 2, &hh) == -1 || ari_expect(p, ':', ':') == -1 ||
	    ari_digits(p, 2, &mm) == -1 || hh > 23 || mm > 59)
		return -1;
	*off = sign * (hh * 3600L + mm * 60L);
	return 0;
}

/* mc_acme_parse_time - an RFC 3339 date-time as UTC time_t. */
int
mc_acme_parse_time(const char *text, time_t *out)
{
	const char *p = text;
	struct tm tm = {0};
	int y, mo, d, h, mi, s;
	long off;
	time_t t;

	if (p == NULL || ari_digits(&p, 4, &y) == -1 ||
	    ari_expect(&p, '-', '-') == -1 || ari_digits(&p, 2, &mo) == -1 ||
	    ari_expect(&p, '-', '-') == -1 || ari_digits(&p, 2, &d) == -1 ||
	    ari_expect(&p, 'T', 't') == -1 || ari_digits(&p, 2, &h) == -1 ||
	    ari_expect(&p, ':', ':') == -1 || ari_digits(&p, 2, &mi) == -1 ||
	    ari_expect(&p, ':', ':') == -1 || ari_digits(&p, 2, &s) == -1)
		return -1;
	if (*p == '.') {
		if (!isdigit((unsigned char)p[1]))
			return -1;
		for (p++; isdigit((unsigned char)*p); p++)
			;
	}
	if (ari_offset(&p, &off) == -1 || *p != '\0' ||
	    !ari_mday_ok(y, mo, d) || h > 23 || mi > 59 || s > 60)
		return -1;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = s;
	t = timegm(&tm);
	if (t == (time_t)-1 && (y != 1969 || mo != 12 || d != 31))
		return -1;
	*out = t - (time_t)off;
	return 0;
}

/* mc_acme_ari_retry_clamp - the poll interval for a Retry-After value. */
long
mc_acme_ari_retry_clamp(long retry_after)
{
	if (retry_after < 0)
		return MC_ACME_ARI_RETRY_DEFAULT;
	if (retry_after < MC_ACME_ARI_RETRY_MIN)
		return MC_ACME_ARI_RETRY_MIN;
	if (retry_after > MC_ACME_ARI_RETRY_MAX)
		return MC_ACME_ARI_RETRY_MAX;
	return retry_after;
}

/* mc_acme_ari_pick - a uniformly random moment in [start, end). */
int
mc_acme_ari_pick(time_t start, time_t end,
		 int (*rand_bytes)(unsigned char *buf, int num), time_t *out,
		 struct mc_err *err)
{
	uint64_t span, reject, r;
	unsigned char b[8];
	int i, k;

	if (end <= start)
		return mc_err_set(err, MC_ERR_INPUT,
				  "ARI window: the end is not after the start");
	if (rand_bytes == NULL)
		rand_bytes = RAND_bytes;
	span = (uint64_t)(end - start);
	reject = (0 - span) % span; /* values below this would bias r % span */
	for (i = 0; i < ARI_PICK_TRIES; i++) {
		if (rand_bytes(b, (int)sizeof(b)) != 1)
			return mc_err_openssl(err, "ARI window: no random bytes");
		for (r = 0, k = 0; k < 8; k++)
			r = (r << 8) | b[k];
		if (r >= reject) {
			*out = start + (time_t)(r % span);
			return 0;
		}
	}
	return mc_err_set(err, MC_ERR_CRYPTO,
			  "ARI window: the random source keeps returning "
			  "biased values");
}

/* ari_url - "<renewalInfo>/<cert_id>" after checking cert_id (new string). */
static char *
ari_url(const struct mc_acme *acme, const char *cert_id, struct mc_err *err)
{
	const char *base = acme->dir.renewal_info;
	size_t n, blen;
	struct mc_buf b;

	if (base == NULL) {
		mc_err_set(err, MC_ERR_CA,
			   "%s: the directory offers no renewalInfo (ARI)",
			   acme->directory);
		return NULL;
	}
	n = cert_id != NULL ? strlen(cert_id) : 0;
	if (n == 0 || n > ARI_CERT_ID_MAX ||
	    strspn(cert_id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			    "0123456789-_.") != n ||
	    strchr(cert_id, '.') == NULL) {
		mc_err_set(err, MC_ERR_INPUT,
			   "ARI: \"%.80s\" is not a certID (base64url AKI "
			   "\".\" base64url serial)",
			   cert_id != NULL ? cert_id : "");
		return NULL;
	}
	blen = strlen(base);
	mc_buf_init(&b, blen + n + 2);
	if (mc_buf_appendf(&b, err, "%s%s%s", base,
			   blen > 0 && base[blen - 1] == '/' ? "" : "/",
			   cert_id) == -1) {
		mc_buf_free(&b);
		return NULL;
	}
	return mc_buf_take(&b);
}

/* ari_window - suggestedWindow of obj into *out (start < end). */
static int
ari_window(const json_t *obj, const char *url, struct mc_acme_ari *out,
	   struct mc_err *err)
{
	const json_t *w = json_object_get(obj, "suggestedWindow");
	const char *start, *end, *expl;

	if (!json_is_object(w))
		return mc_err_set(err, MC_ERR_INPUT,
				  "%s: field \"suggestedWindow\" is missing or "
				  "not an object",
				  url);
	if (acme_json_str(w, "start", url, true, false, &start, err) == -1 ||
	    acme_json_str(w, "end", url, true, false, &end, err) == -1 ||
	    acme_json_str(obj, "explanationURL", url, false, false, &expl,
			  err) == -1)
		return -1;
	if (mc_acme_parse_time(start, &out->start) == -1)
		return mc_err_set(err, MC_ERR_INPUT,
				  "%s: suggestedWindow.start \"%.64s\" is not "
				  "an RFC 3339 timestamp",
				  url, start);
	if (mc_acme_parse_time(end, &out->end) == -1)
		return mc_err_set(err, MC_ERR_INPUT,
				  "%s: suggestedWindow.end \"%.64s\" is not an "
				  "RFC 3339 timestamp",
				  url, end);
	if (out->end <= out->start)
		return mc_err_set(err, MC_ERR_INPUT,
				  "%s: suggestedWindow ends (%s) before or when "
				  "it starts (%s)",
				  url, end, start);
	return acme_strdup_opt(expl, &out->explanation_url, err);
}

/* mc_acme_renewal_info - GET renewalInfo/<cert_id> and parse it. */
int
mc_acme_renewal_info(struct mc_acme *acme, const char *cert_id,
		     struct mc_acme_ari *out, struct mc_err *err)
{
	struct mc_http_resp r = {0};
	struct mc_acme_ari a = {0};
	json_t *obj = NULL;
	char *url;
	int ret = -1;

	mc_err_clear(err);
	url = ari_url(acme, cert_id, err);
	if (url == NULL)
		goto out;
	if (acme_http(acme, "GET", url, NULL, NULL, &r, err) == -1)
		goto out;
	if (r.status != 200) {
		acme_problem_error(url, r.status, r.content_type, r.body,
				   r.body_len, err);
		goto out;
	}
	obj = acme_parse_object(url, r.body, r.body_len, err);
	if (obj == NULL || ari_window(obj, url, &a, err) == -1)
		goto out;
	a.retry_after = mc_acme_ari_retry_clamp(r.retry_after);
	*out = a;
	memset(&a, 0, sizeof(a));
	ret = 0;
out:
	if (ret == -1)
		mc_err_prefix(err, "renewalInfo");
	mc_acme_ari_clear(&a);
	json_decref(obj);
	mc_http_resp_clear(&r);
	free(url);
	return ret;
}

/* mc_acme_ari_clear - free the members of an ARI result. */
void
mc_acme_ari_clear(struct mc_acme_ari *ari)
{
	if (ari == NULL)
		return;
	free(ari->explanation_url);
	memset(ari, 0, sizeof(*ari));
}
