/*
 * client.c - the ACME client object: directory, nonces, signed POSTs with
 * badNonce and Retry-After retries (RFC 8555 sections 6.5, 6.6, 7.1.1).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "acme/acme_int.h"
#include "acme/jws.h"
#include "mailcert/log.h"
#include "mailcert/time.h"

#define DEFAULT_CONNECT_TIMEOUT 10
#define DEFAULT_REQUEST_TIMEOUT 30
#define DEFAULT_MAX_RESPONSE (1024L * 1024L)
#define DEFAULT_RETRY_WINDOW_MS 60000LL
#define NONCE_MAX 512
/* badNonce: retried at once while the deadline allows; after this many in
 * a row, with a growing pause (a CA that rejects every nonce is not
 * hammered), from BADNONCE_PAUSE_MS up to BADNONCE_PAUSE_MAX_MS */
#define BADNONCE_QUICK 8
#define BADNONCE_PAUSE_MS 50LL
#define BADNONCE_PAUSE_MAX_MS 2000LL
#define RETRY_AFTER_ZERO_MS 50LL

/* acme_http - one request to the CA (see acme_int.h). */
int
acme_http(struct mc_acme *acme, const char *method, const char *url,
          const char *jws, const char *accept, struct mc_http_resp *out,
          struct mc_err *err)
{
	char accept_line[160];
	const char *hdrs[3] = {accept_line, NULL, NULL};
	struct mc_http_req req = {0};

	snprintf(accept_line, sizeof(accept_line), "Accept: %s",
	         accept != NULL ? accept : "application/json");
	if (strcmp(method, "POST") == 0)
		hdrs[1] = "Content-Type: application/jose+json";
	req.method = method;
	req.url = url;
	req.body = jws;
	req.body_len = jws != NULL ? strlen(jws) : 0;
	req.headers = hdrs;
	req.allow_http = false;
	req.connect_timeout_ms = acme->connect_ms;
	req.timeout_ms = acme->request_ms;
	req.max_body = acme->max_response;
	req.interruptible = true; /* SIGTERM: no new request to the CA */
	return mc_http_request(acme->http, &req, out, err);
}

/* acme_strdup_opt - copy s (NULL stays NULL). */
int
acme_strdup_opt(const char *s, char **out, struct mc_err *err)
{
	char *c = NULL;

	if (s != NULL && (c = strdup(s)) == NULL)
		return mc_err_errno(err, MC_ERR_SYS, "out of memory");
	*out = c;
	return 0;
}

/* acme_parse_object - parse a JSON object received from url. */
json_t *
acme_parse_object(const char *url, const char *body, size_t len,
                  struct mc_err *err)
{
	json_error_t jerr;
	json_t *o = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	char excerpt[120];

	if (o == NULL) {
		acme_excerpt(body, len, excerpt, sizeof(excerpt));
		mc_err_set(
		    err, MC_ERR_INPUT,
		    "%s: malformed JSON (parse error at line %d: %s): %s", url,
		    jerr.line, jerr.text, excerpt);
		return NULL;
	}
	if (!json_is_object(o)) {
		json_decref(o);
		mc_err_set(err, MC_ERR_INPUT,
		           "%s: malformed JSON: not an object", url);
		return NULL;
	}
	return o;
}

/* client_has_control - whether s holds a C0 control character or DEL
 * (a status, URL, token or identifier never does). */
static bool
client_has_control(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

/* acme_json_str - a validated string member (see acme_int.h). */
int
acme_json_str(const json_t *obj, const char *name, const char *url,
              bool required, bool https, const char **out, struct mc_err *err)
{
	const json_t *v = json_object_get(obj, name);
	const char *s;

	if (v == NULL || json_is_null(v)) {
		if (required)
			return mc_err_set(err, MC_ERR_INPUT,
			                  "%s: field \"%s\" is missing", url,
			                  name);
		*out = NULL;
		return 0;
	}
	if (!json_is_string(v))
		return mc_err_set(err, MC_ERR_INPUT,
		                  "%s: field \"%s\" is not a string", url,
		                  name);
	s = json_string_value(v);
	if (https && strncasecmp(s, "https://", 8) != 0)
		return mc_err_set(err, MC_ERR_INPUT,
		                  "%s: field \"%s\" is not an https:// URL",
		                  url, name);
	if (strlen(s) > 4096)
		return mc_err_set(err, MC_ERR_INPUT,
		                  "%s: field \"%s\" is too long", url, name);
	if (client_has_control(s))
		return mc_err_set(err, MC_ERR_INPUT,
		                  "%s: field \"%s\" holds a control character",
		                  url, name);
	*out = s;
	return 0;
}

/* client_keep_nonce - remember the Replay-Nonce of resp if it looks sane. */
static void
client_keep_nonce(struct mc_acme *acme, struct mc_http_resp *resp)
{
	const char *n = resp->nonce;
	size_t len;

	if (n == NULL)
		return;
	len = strlen(n);
	if (len == 0 || len > NONCE_MAX ||
	    strspn(n, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	              "0123456789-_") != len) {
		mc_log_debug("ignoring a malformed Replay-Nonce");
		return;
	}
	free(acme->nonce);
	acme->nonce = resp->nonce;
	resp->nonce = NULL;
}

/* client_fetch_nonce - HEAD newNonce (then GET) until we hold a nonce. */
static int
client_fetch_nonce(struct mc_acme *acme, struct mc_err *err)
{
	struct mc_http_resp r = {0};
	const char *method = "HEAD";
	int i;

	for (i = 0; i < 2 && acme->nonce == NULL; i++, method = "GET") {
		if (acme_http(acme, method, acme->dir.new_nonce, NULL, NULL,
		              &r, err) == -1)
			return mc_err_prefix(err, "newNonce");
		if (r.status >= 400) {
			acme_problem_error(acme->dir.new_nonce, r.status,
			                   r.content_type, r.body, r.body_len,
			                   err);
			mc_http_resp_clear(&r);
			return mc_err_prefix(err, "newNonce");
		}
		client_keep_nonce(acme, &r);
		mc_http_resp_clear(&r);
	}
	if (acme->nonce == NULL)
		return mc_err_set(err, MC_ERR_INPUT,
		                  "%s: no Replay-Nonce header",
		                  acme->dir.new_nonce);
	return 0;
}

/* client_send - sign payload with the current nonce and POST it once. */
static int
client_send(struct mc_acme *acme, const char *url, const char *payload,
            bool use_jwk, const char *accept, struct mc_http_resp *out,
            struct mc_err *err)
{
	char *jws;
	int rc;

	if (acme->nonce == NULL && client_fetch_nonce(acme, err) == -1)
		return -1;
	jws = acme_jws_sign(acme->key, use_jwk ? NULL : acme->kid, acme->nonce,
	                    url, payload, err);
	free(acme->nonce);
	acme->nonce = NULL;
	if (jws == NULL)
		return -1;
	rc = acme_http(acme, "POST", url, jws, accept, out, err);
	free(jws);
	if (rc == 0)
		client_keep_nonce(acme, out);
	return rc;
}

/* client_is_bad_nonce - whether an error answer is badNonce. */
static bool
client_is_bad_nonce(const struct mc_http_resp *r)
{
	char *type = acme_problem_type(r->content_type, r->body, r->body_len);
	bool bad = type != NULL && strcmp(type, ACME_PROBLEM "badNonce") == 0;

	free(type);
	return bad;
}

/* client_retry_bad_nonce - whether to send again after the bad_nonces-th
 * badNonce in a row: while the deadline allows, pausing after
 * BADNONCE_QUICK of them. The error answer's Replay-Nonce is already kept. */
static bool
client_retry_bad_nonce(const char *url, int bad_nonces, long long deadline)
{
	long long pause = 0;
	int i;

	if (bad_nonces > BADNONCE_QUICK) {
		pause = BADNONCE_PAUSE_MS;
		for (i = BADNONCE_QUICK + 1;
		     i < bad_nonces && pause < BADNONCE_PAUSE_MAX_MS; i++)
			pause *= 2;
		if (pause > BADNONCE_PAUSE_MAX_MS)
			pause = BADNONCE_PAUSE_MAX_MS;
	}
	if (mc_now_ms() + pause >= deadline)
		return false;
	mc_log_debug("%s: badNonce, sending again with a fresh nonce (%d)",
	             url, bad_nonces);
	mc_sleep_ms(pause);
	return true;
}

/* client_retry_later - whether a 429/503 with Retry-After is retried:
 * after exactly that many seconds, if that is before the deadline. */
static bool
client_retry_later(const char *url, const struct mc_http_resp *r,
                   long long deadline)
{
	long long wait;

	if ((r->status != 429 && r->status != 503) || r->retry_after < 0)
		return false;
	wait = r->retry_after > 0 ? r->retry_after * 1000LL
	                          : RETRY_AFTER_ZERO_MS;
	if (mc_now_ms() + wait > deadline)
		return false;
	mc_log_info("%s: HTTP %ld, retrying in %ld s (Retry-After)", url,
	            r->status, r->retry_after);
	mc_sleep_ms(wait);
	return true;
}

/* client_deadline - the time until which retries are allowed. */
static long long
client_deadline(const struct mc_acme *acme)
{
	return acme->deadline > 0 ? acme->deadline
	                          : mc_now_ms() + DEFAULT_RETRY_WINDOW_MS;
}

/* client_give_up - the error for an answer that is not retried (again). */
static int
client_give_up(const char *url, const struct mc_http_resp *r,
               struct mc_err *err)
{
	return acme_problem_error(url, r->status, r->content_type, r->body,
	                          r->body_len, err);
}

/* client_answer - after an error answer r to url: 1 to send again
 * (badNonce while the deadline allows, 429/503 after Retry-After, or the
 * account registered again after accountDoesNotExist), else -1 with err
 * (the problem, the command that fixes an account problem, and how many
 * badNonce answers came in a row). */
static int
client_answer(struct mc_acme *acme, const char *url, bool use_jwk,
              const struct mc_http_resp *r, int *bad_nonces,
              long long deadline, struct mc_err *err)
{
	if (client_is_bad_nonce(r)) {
		if (client_retry_bad_nonce(url, ++*bad_nonces, deadline))
			return 1;
	} else {
		*bad_nonces = 0;
		if (client_retry_later(url, r, deadline))
			return 1;
	}
	if (acme_account_answer(acme, url, use_jwk, r, err) == 1)
		return 1;
	if (*bad_nonces > 0)
		mc_err_prefix(err,
		              "gave up after %d badNonce answer(s) in a row "
		              "(deadline reached)",
		              *bad_nonces);
	return -1;
}

/* acme_post - a signed POST with retries (see acme_int.h). */
int
acme_post(struct mc_acme *acme, const char *url, const json_t *payload,
          bool use_jwk, const char *accept, struct mc_http_resp *out,
          struct mc_err *err)
{
	long long deadline = client_deadline(acme);
	char *text = NULL;
	int bad_nonces = 0, ret = -1;

	if (acme->key == NULL)
		return mc_err_set(err, MC_ERR_INPUT, "no account key set");
	if (!use_jwk && acme->kid == NULL)
		return mc_err_set(err, MC_ERR_INPUT,
		                  "no account URL (kid) known");
	if (payload != NULL &&
	    (text = json_dumps(payload, JSON_COMPACT)) == NULL)
		return mc_err_set(err, MC_ERR_SYS,
		                  "cannot serialize the payload");
	for (;;) {
		if (client_send(acme, url, text, use_jwk, accept, out, err) ==
		    -1)
			goto out;
		if (out->status >= 200 && out->status < 300)
			break;
		if (client_answer(acme, url, use_jwk, out, &bad_nonces,
		                  deadline, err) == -1)
			goto out;
	}
	if (bad_nonces > 0)
		mc_log_debug("%s: accepted after %d badNonce answer(s)", url,
		             bad_nonces);
	ret = 0;
out:
	free(text);
	return ret;
}

/* acme_post_json - acme_post, then parse the body as a JSON object. */
int
acme_post_json(struct mc_acme *acme, const char *url, const json_t *payload,
               struct mc_http_resp *resp, json_t **json, struct mc_err *err)
{
	json_t *o;

	if (acme_post(acme, url, payload, false, NULL, resp, err) == -1)
		return -1;
	o = acme_parse_object(url, resp->body, resp->body_len, err);
	if (o == NULL)
		return -1;
	*json = o;
	return 0;
}

/* client_get - GET url (the directory) with 429/503 retries; 200 required. */
static int
client_get(struct mc_acme *acme, const char *url, struct mc_http_resp *out,
           struct mc_err *err)
{
	long long deadline = client_deadline(acme);

	for (;;) {
		if (acme_http(acme, "GET", url, NULL, NULL, out, err) == -1)
			return -1;
		client_keep_nonce(acme, out);
		if (out->status == 200)
			return 0;
		if (!client_retry_later(url, out, deadline))
			return client_give_up(url, out, err);
	}
}

/* client_dir_url - copy one directory URL member into *slot. */
static int
client_dir_url(const json_t *obj, const char *name, const char *url,
               bool required, char **slot, struct mc_err *err)
{
	const char *s;

	if (acme_json_str(obj, name, url, required, true, &s, err) == -1)
		return -1;
	return acme_strdup_opt(s, slot, err);
}

/* client_parse_dir - the directory object into acme->dir. */
static int
client_parse_dir(struct mc_acme *acme, const json_t *d, struct mc_err *err)
{
	const char *url = acme->directory;

	if (client_dir_url(d, "newNonce", url, true, &acme->dir.new_nonce,
	                   err) == -1 ||
	    client_dir_url(d, "newAccount", url, true, &acme->dir.new_account,
	                   err) == -1 ||
	    client_dir_url(d, "newOrder", url, true, &acme->dir.new_order,
	                   err) == -1 ||
	    client_dir_url(d, "revokeCert", url, false, &acme->dir.revoke_cert,
	                   err) == -1 ||
	    client_dir_url(d, "keyChange", url, false, &acme->dir.key_change,
	                   err) == -1 ||
	    client_dir_url(d, "renewalInfo", url, false,
	                   &acme->dir.renewal_info, err) == -1)
		return -1;
	return acme_meta_parse(&acme->dir, json_object_get(d, "meta"), url,
	                       err);
}

/* client_opts - copy the options with their defaults. */
static int
client_opts(struct mc_acme *acme, const struct mc_acme_opts *opts,
            struct mc_err *err)
{
	if (opts->directory == NULL ||
	    strncasecmp(opts->directory, "https://", 8) != 0)
		return mc_err_set(err, MC_ERR_CONFIG,
		                  "directory \"%s\" is not an https:// URL",
		                  opts->directory != NULL ? opts->directory
		                                          : "");
	if (acme_strdup_opt(opts->directory, &acme->directory, err) == -1)
		return -1;
	acme->http = mc_http_new(opts->ca_bundle, err);
	if (acme->http == NULL)
		return -1;
	acme->connect_ms = 1000L * (opts->connect_timeout > 0
	                                ? opts->connect_timeout
	                                : DEFAULT_CONNECT_TIMEOUT);
	acme->request_ms = 1000L * (opts->request_timeout > 0
	                                ? opts->request_timeout
	                                : DEFAULT_REQUEST_TIMEOUT);
	acme->max_response = (size_t)(opts->max_response > 0
	                                  ? opts->max_response
	                                  : DEFAULT_MAX_RESPONSE);
	return 0;
}

/* mc_acme_new - a client for opts->directory, with the directory fetched. */
struct mc_acme *
mc_acme_new(const struct mc_acme_opts *opts, struct mc_err *err)
{
	struct mc_acme *acme = calloc(1, sizeof(*acme));
	struct mc_http_resp r = {0};
	json_t *dir = NULL;
	int ok = 0;

	if (acme == NULL) {
		mc_err_errno(err, MC_ERR_SYS, "out of memory");
		return NULL;
	}
	if (client_opts(acme, opts, err) == -1)
		goto out;
	if (client_get(acme, acme->directory, &r, err) == -1 ||
	    (dir = acme_parse_object(acme->directory, r.body, r.body_len,
	                             err)) == NULL ||
	    client_parse_dir(acme, dir, err) == -1) {
		mc_err_prefix(err, "ACME directory");
		goto out;
	}
	ok = 1;
out:
	json_decref(dir);
	mc_http_resp_clear(&r);
	if (!ok) {
		mc_acme_free(acme);
		return NULL;
	}
	return acme;
}

/* mc_acme_free - free a client. */
void
mc_acme_free(struct mc_acme *acme)
{
	if (acme == NULL)
		return;
	free(acme->directory);
	mc_http_free(acme->http);
	free(acme->dir.new_nonce);
	free(acme->dir.new_account);
	free(acme->dir.new_order);
	free(acme->dir.revoke_cert);
	free(acme->dir.key_change);
	free(acme->dir.renewal_info);
	acme_meta_clear(&acme->dir);
	free(acme->nonce);
	free(acme->kid);
	free(acme);
}

/* mc_acme_set_key - the account key (borrowed). */
void
mc_acme_set_key(struct mc_acme *acme, EVP_PKEY *account_key)
{
	acme->key = account_key;
}

/* mc_acme_set_http01_sink - publish http-01 answers through sink too. */
void
mc_acme_set_http01_sink(struct mc_acme *acme,
                        const struct mc_acme_token_sink *sink)
{
	acme->http01_sink = sink;
}

/* mc_acme_set_kid - the account URL (copied). */
int
mc_acme_set_kid(struct mc_acme *acme, const char *kid, struct mc_err *err)
{
	char *c;

	if (kid == NULL || strncasecmp(kid, "https://", 8) != 0)
		return mc_err_set(err, MC_ERR_INPUT,
		                  "account URL \"%s\" is not an https:// URL",
		                  kid != NULL ? kid : "");
	if (acme_strdup_opt(kid, &c, err) == -1)
		return -1;
	free(acme->kid);
	acme->kid = c;
	return 0;
}

/* mc_acme_kid - the account URL or NULL. */
const char *
mc_acme_kid(const struct mc_acme *acme)
{
	return acme->kid;
}

/* mc_acme_terms - the termsOfService URL or NULL. */
const char *
mc_acme_terms(const struct mc_acme *acme)
{
	return acme->dir.terms;
}

/* mc_acme_has_renewal_info - whether the directory offers ARI. */
bool
mc_acme_has_renewal_info(const struct mc_acme *acme)
{
	return acme->dir.renewal_info != NULL;
}
