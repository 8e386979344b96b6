/*
 * client.c - the ACME client object: directory, nonces, signed POSTs with
 * badNonce and Retry-After retries (RFC 8555 sections 6.5, 6.6, 7.1.1).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "acme/acme_int.h"
#include "acme/jws.h"
#include "mailcert/interrupt.h"
#include "mailcert/log.h"

#define DEFAULT_CONNECT_TIMEOUT 10
#define DEFAULT_REQUEST_TIMEOUT 30
#define DEFAULT_MAX_RESPONSE (1024L * 1024L)
#define DEFAULT_RETRY_WINDOW 60.0
#define NONCE_MAX 512

/* acme_now - monotonic seconds. */
double
acme_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* acme_sleep - sleep for seconds; a SIGTERM/SIGINT ends it early (the
 * next acme_post then fails with MC_ERR_INTERRUPTED). */
void
acme_sleep(double seconds)
{
	if (seconds > 0)
		(void)mc_interrupt_sleep_ms((long)(seconds * 1000.0));
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
client_keep_nonce(struct mc_acme *acme, struct acme_http_resp *resp)
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
	struct acme_http_resp r = {0};
	const char *method = "HEAD";
	int i;

	for (i = 0; i < 2 && acme->nonce == NULL; i++, method = "GET") {
		if (acme_http_request(&acme->http, method, acme->dir.new_nonce,
		                      NULL, NULL, &r, err) == -1)
			return mc_err_prefix(err, "newNonce");
		if (r.status >= 400) {
			acme_problem_error(acme->dir.new_nonce, r.status,
			                   r.content_type, r.body, r.body_len,
			                   err);
			acme_http_resp_clear(&r);
			return mc_err_prefix(err, "newNonce");
		}
		client_keep_nonce(acme, &r);
		acme_http_resp_clear(&r);
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
            bool use_jwk, const char *accept, struct acme_http_resp *out,
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
	rc = acme_http_request(&acme->http, "POST", url, jws, accept, out, err);
	free(jws);
	if (rc == 0)
		client_keep_nonce(acme, out);
	return rc;
}

/* client_should_retry - whether an error response is worth another try. */
static bool
client_should_retry(const char *url, const struct acme_http_resp *r,
                    int *bad_nonces, double deadline)
{
	char *type = acme_problem_type(r->content_type, r->body, r->body_len);
	bool bad = type != NULL && strcmp(type, ACME_PROBLEM "badNonce") == 0;
	double wait;

	free(type);
	if (bad && *bad_nonces < ACME_BADNONCE_RETRIES) {
		(*bad_nonces)++;
		mc_log_debug("%s: badNonce, retrying (%d/%d)", url, *bad_nonces,
		             ACME_BADNONCE_RETRIES);
		return true;
	}
	if ((r->status != 429 && r->status != 503) || r->retry_after < 0)
		return false;
	wait = r->retry_after < 1 ? 1.0 : (double)r->retry_after;
	if (acme_now() + wait > deadline)
		return false;
	mc_log_info("%s: HTTP %ld, retrying in %.0f s (Retry-After)", url,
	            r->status, wait);
	acme_sleep(wait);
	return true;
}

/* client_deadline - the time until which retries are allowed. */
static double
client_deadline(const struct mc_acme *acme)
{
	return acme->deadline > 0 ? acme->deadline
	                          : acme_now() + DEFAULT_RETRY_WINDOW;
}

/* acme_post - a signed POST with retries (see acme_int.h). */
int
acme_post(struct mc_acme *acme, const char *url, const json_t *payload,
          bool use_jwk, const char *accept, struct acme_http_resp *out,
          struct mc_err *err)
{
	double deadline = client_deadline(acme);
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
		if (mc_interrupt_check(err) == -1 ||
		    client_send(acme, url, text, use_jwk, accept, out, err) == -1)
			goto out;
		if (out->status >= 200 && out->status < 300)
			break;
		if (!client_should_retry(url, out, &bad_nonces, deadline)) {
			if (acme_account_answer(acme, url, use_jwk, out, err) ==
			    1)
				continue;
			goto out;
		}
	}
	ret = 0;
out:
	free(text);
	return ret;
}

/* acme_post_json - acme_post, then parse the body as a JSON object. */
int
acme_post_json(struct mc_acme *acme, const char *url, const json_t *payload,
               struct acme_http_resp *resp, json_t **json, struct mc_err *err)
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
client_get(struct mc_acme *acme, const char *url, struct acme_http_resp *out,
           struct mc_err *err)
{
	double deadline = client_deadline(acme);
	int unused = ACME_BADNONCE_RETRIES;

	for (;;) {
		if (acme_http_request(&acme->http, "GET", url, NULL, NULL, out,
		                      err) == -1)
			return -1;
		client_keep_nonce(acme, out);
		if (out->status == 200)
			return 0;
		if (!client_should_retry(url, out, &unused, deadline))
			return acme_problem_error(url, out->status,
			                          out->content_type, out->body,
			                          out->body_len, err);
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
	if (opts->ca_bundle != NULL && opts->ca_bundle[0] != '\0' &&
	    acme_strdup_opt(opts->ca_bundle, &acme->ca_bundle, err) == -1)
		return -1;
	acme->http.ca_bundle = acme->ca_bundle;
	acme->http.connect_timeout = opts->connect_timeout > 0
	                                 ? opts->connect_timeout
	                                 : DEFAULT_CONNECT_TIMEOUT;
	acme->http.request_timeout = opts->request_timeout > 0
	                                 ? opts->request_timeout
	                                 : DEFAULT_REQUEST_TIMEOUT;
	acme->http.max_response =
	    opts->max_response > 0 ? opts->max_response : DEFAULT_MAX_RESPONSE;
	return 0;
}

/* mc_acme_new - a client for opts->directory, with the directory fetched. */
struct mc_acme *
mc_acme_new(const struct mc_acme_opts *opts, struct mc_err *err)
{
	struct mc_acme *acme = calloc(1, sizeof(*acme));
	struct acme_http_resp r = {0};
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
	acme_http_resp_clear(&r);
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
	free(acme->ca_bundle);
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
