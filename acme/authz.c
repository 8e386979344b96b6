/*
 * authz.c - satisfy the authorizations of an order (RFC 8555 7.5, 7.5.1):
 * pick the configured challenge, publish the key authorization through a
 * responder (acme/challenge.h), tell the CA, poll until valid or invalid.
 * Only identifiers of the order are answered: an authorization for any
 * other name is refused before a hook or responder sees it. Responders
 * are stopped and DNS records deleted on every path, also after SIGTERM
 * (the next request fails with MC_ERR_INTERRUPTED, mailcert/interrupt.h).
 */
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "acme/acme_int.h"
#include "acme/challenge.h"
#include "acme/jws.h"
#include "mailcert/config.h"
#include "mailcert/log.h"
#include "mailcert/time.h"

#define TOKEN_MAX 256
#define POLL_STEP_MAX_MS 500L /* backoff cap: a finished validation is seen
                                 at most this late */
#define RETRY_AFTER_MAX 60L   /* seconds: a longer Retry-After is cut */

struct authz_pending {
	char *authz_url;
	char *ident;
	char *chall_url;
};

struct authz_ctx {
	struct mc_acme *acme;
	const struct mc_acme_order_req *req;
	const struct mc_acme_challenge_conf *conf;
	const char *type; /* "http-01", ... */
	struct acme_http01 *http;
	struct acme_tlsalpn01 *alpn;
	char **dns_fqdn;
	char **dns_value;
	size_t n_dns;
	struct authz_pending *pend;
	size_t n_pend;
	char **sunk; /* tokens published through conf->http01_sink */
	size_t n_sunk;
};

struct authz_info {
	const char *status;
	const char *ident;
	bool wildcard;         /* the authorization is for "*." + ident */
	const char *chall_url; /* of the configured type; NULL if none */
	const char *token;
};

/* acme_poll_wait - sleep before the next poll, within the deadline. */
int
acme_poll_wait(struct mc_acme *acme, long retry_after, long *step_ms)
{
	long long now = mc_now_ms(), wait;

	if (acme->deadline > 0 && now >= acme->deadline)
		return -1;
	if (retry_after > 0) {
		wait = 1000LL * (retry_after > RETRY_AFTER_MAX ? RETRY_AFTER_MAX
		                                               : retry_after);
	} else { /* none, or "0": our own backoff */
		wait = *step_ms;
		*step_ms = *step_ms * 2 > POLL_STEP_MAX_MS ? POLL_STEP_MAX_MS
		                                           : *step_ms * 2;
	}
	if (acme->deadline > 0 && now + wait > acme->deadline)
		wait = acme->deadline - now; /* one last look at the deadline */
	mc_sleep_ms(wait);
	return 0;
}

/* authz_token_ok - a token may only hold base64url characters. */
static bool
authz_token_ok(const char *t)
{
	size_t n = strlen(t);

	return n > 0 && n <= TOKEN_MAX &&
	       strspn(t, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	                 "0123456789-_") == n;
}

/* authz_name_ok - a DNS name or challenge type: [A-Za-z0-9.*_-], 1..253. */
static bool
authz_name_ok(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= 253 &&
	       strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	                 "0123456789.-_*") == n;
}

/* authz_pick - the challenge of type among the authorization's challenges. */
static int
authz_pick(const json_t *obj, const char *url, const char *type,
           struct authz_info *info, struct mc_err *err)
{
	const json_t *arr = json_object_get(obj, "challenges"), *c;
	const char *ctype;
	size_t i;

	if (!json_is_array(arr))
		return mc_err_set(
		    err, MC_ERR_INPUT,
		    "%s: field \"challenges\" is missing or not an array", url);
	json_array_foreach(arr, i, c)
	{
		if (acme_json_str(c, "type", url, true, false, &ctype, err) ==
		    -1)
			return -1;
		if (strcmp(ctype, type) != 0)
			continue;
		if (acme_json_str(c, "url", url, true, true, &info->chall_url,
		                  err) == -1 ||
		    acme_json_str(c, "token", url, true, false, &info->token,
		                  err) == -1)
			return -1;
		if (!authz_token_ok(info->token))
			return mc_err_set(
			    err, MC_ERR_INPUT,
			    "%s: field \"token\" is not base64url", url);
		return 0;
	}
	return 0;
}

/* authz_parse - status, identifier and the challenge of our type. */
static int
authz_parse(const json_t *obj, const char *url, const char *type,
            struct authz_info *info, struct mc_err *err)
{
	const json_t *id = json_object_get(obj, "identifier");
	const char *idtype;

	memset(info, 0, sizeof(*info));
	if (acme_json_str(obj, "status", url, true, false, &info->status,
	                  err) == -1)
		return -1;
	if (!json_is_object(id))
		return mc_err_set(
		    err, MC_ERR_INPUT,
		    "%s: field \"identifier\" is missing or not an object",
		    url);
	if (acme_json_str(id, "type", url, true, false, &idtype, err) == -1 ||
	    acme_json_str(id, "value", url, true, false, &info->ident, err) ==
	        -1)
		return -1;
	if (strcmp(idtype, "ip") == 0) { /* RFC 8738 */
		if (!mc_name_is_ip(info->ident))
			return mc_err_set(err, MC_ERR_INPUT,
			                  "%s: identifier value is not an IP "
			                  "address",
			                  url);
		return authz_pick(obj, url, type, info, err);
	}
	if (strcmp(idtype, "dns") != 0)
		return mc_err_set(err, MC_ERR_INPUT,
		                  "%s: identifier type is neither dns nor ip",
		                  url);
	if (!authz_name_ok(info->ident))
		return mc_err_set(err, MC_ERR_INPUT,
		                  "%s: identifier value is not a DNS name",
		                  url);
	info->wildcard = json_is_true(json_object_get(obj, "wildcard"));
	return authz_pick(obj, url, type, info, err);
}

/* authz_ordered - whether the authorization's identifier is one we
 * ordered (a wildcard authorization names the base domain, RFC 8555 7.1.4;
 * IP addresses compare as addresses, whatever their spelling). */
static bool
authz_ordered(const struct mc_acme_order_req *req,
              const struct authz_info *info)
{
	unsigned char want[16], have[16];
	size_t i, len = mc_name_ip(info->ident, have);

	for (i = 0; i < req->n_names; i++) {
		const char *n = req->names[i];

		if (len > 0) {
			if (mc_name_ip(n, want) == len &&
			    memcmp(want, have, len) == 0)
				return true;
			continue;
		}
		if (info->wildcard && strncmp(n, "*.", 2) == 0 &&
		    strcasecmp(n + 2, info->ident) == 0)
			return true;
		if (!info->wildcard && strcasecmp(n, info->ident) == 0)
			return true;
	}
	return false;
}

/* authz_redact - replace every occurrence of token in line by "<token>"
 * (the CA's detail often quotes the challenge URL; tokens stay out of logs). */
static void
authz_redact(struct mc_buf *line, const char *token)
{
	static const char mark[] = "<token>";
	size_t tlen = token != NULL ? strlen(token) : 0, i = 0, o = 0;
	char *s = line->data;

	if (s == NULL || tlen < sizeof(mark) - 1)
		return;
	while (s[i] != '\0') {
		if (strncmp(s + i, token, tlen) == 0) {
			memcpy(s + o, mark, sizeof(mark) - 1);
			o += sizeof(mark) - 1;
			i += tlen;
		} else {
			s[o++] = s[i++];
		}
	}
	s[o] = '\0';
	line->len = o;
}

/* authz_failure - MC_ERR_CHALLENGE for an authorization that is not valid. */
static int
authz_failure(const json_t *obj, const char *url, const char *ident,
              const char *type, const char *status, struct mc_err *err)
{
	const json_t *arr = json_object_get(obj, "challenges"), *c, *e,
	             *found = NULL;
	const char *ctype = type;
	struct mc_buf line;
	size_t i;

	json_array_foreach(arr, i, c)
	{
		const char *t = json_string_value(json_object_get(c, "type"));

		e = json_object_get(c, "error");
		if (!json_is_object(e))
			continue;
		if (found == NULL || (t != NULL && strcmp(t, type) == 0))
			found = c;
	}
	if (found == NULL)
		return mc_err_set(
		    err, MC_ERR_CHALLENGE,
		    "authorization for %s (%s) is %s (%s challenge, no error "
		    "detail from the CA)",
		    ident, url, status, type);
	if (json_is_string(json_object_get(found, "type")) &&
	    authz_name_ok(json_string_value(json_object_get(found, "type"))))
		ctype = json_string_value(json_object_get(found, "type"));
	mc_buf_init(&line, MC_ERR_MSG_MAX);
	(void)acme_problem_append(&line, json_object_get(found, "error"), NULL);
	authz_redact(&line, json_string_value(json_object_get(found, "token")));
	mc_err_set(err, MC_ERR_CHALLENGE,
	           "authorization for %s (%s) is %s: %s challenge: %s", ident,
	           url, status, ctype, line.data != NULL ? line.data : "?");
	mc_buf_free(&line);
	return -1;
}

/* authz_clear_free - cleanse and free a secret string. */
static void
authz_clear_free(char *s)
{
	if (s != NULL)
		OPENSSL_clear_free(s, strlen(s));
}

/* authz_dns_add - publish the TXT record for ident (recorded for deletion
 * first). */
static int
authz_dns_add(struct authz_ctx *ctx, const char *ident, const char *keyauth,
              struct mc_err *err)
{
	char **f, **v, *fqdn, *value;
	size_t n = strlen(ident) + sizeof("_acme-challenge.");

	if (mc_name_is_ip(ident))
		return mc_err_set(err, MC_ERR_CONFIG,
		                  "%s is an IP address, which dns-01 cannot "
		                  "prove (RFC 8738); use http-01 or tls-alpn-01",
		                  ident);
	value = acme_dns01_value(keyauth, err);
	fqdn = malloc(n);
	f = realloc(ctx->dns_fqdn, (ctx->n_dns + 1) * sizeof(*f));
	if (f != NULL)
		ctx->dns_fqdn = f;
	v = realloc(ctx->dns_value, (ctx->n_dns + 1) * sizeof(*v));
	if (v != NULL)
		ctx->dns_value = v;
	if (value == NULL || fqdn == NULL || f == NULL || v == NULL) {
		free(value);
		free(fqdn);
		return value == NULL
		           ? -1
		           : mc_err_errno(err, MC_ERR_SYS, "out of memory");
	}
	snprintf(fqdn, n, "_acme-challenge.%s", ident);
	ctx->dns_fqdn[ctx->n_dns] = fqdn;
	ctx->dns_value[ctx->n_dns] = value;
	ctx->n_dns++;
	return acme_dns01_publish(ctx->conf, "add", fqdn, value, err);
}

/* authz_sink - publish token through the fleet's sink too. */
static int
authz_sink(struct authz_ctx *ctx, const char *token, const char *keyauth,
           struct mc_err *err)
{
	const struct mc_acme_token_sink *sink = ctx->acme->http01_sink;
	char **v = realloc(ctx->sunk, (ctx->n_sunk + 1) * sizeof(*v));

	if (v == NULL)
		return mc_err_errno(err, MC_ERR_SYS, "out of memory");
	ctx->sunk = v;
	v[ctx->n_sunk] = strdup(token);
	if (v[ctx->n_sunk] == NULL)
		return mc_err_errno(err, MC_ERR_SYS, "out of memory");
	ctx->n_sunk++;
	return sink->publish(sink->arg, token, keyauth, err);
}

/* authz_publish - make the key authorization for info visible to the CA. */
static int
authz_publish(struct authz_ctx *ctx, const struct authz_info *info,
              struct mc_err *err)
{
	const struct mc_acme_challenge_conf *conf = ctx->conf;
	char *keyauth = acme_key_authz(ctx->acme->key, info->token, err);
	int rc = -1;

	if (keyauth == NULL)
		return -1;
	switch (conf->type) {
	case MC_CHALLENGE_HTTP01:
		if (ctx->http == NULL &&
		    (ctx->http = acme_http01_start(conf->http_listen,
		                                   conf->webroot, err)) == NULL)
			break;
		rc = acme_http01_add(ctx->http, info->token, keyauth, err);
		if (rc == 0 && ctx->acme->http01_sink != NULL)
			rc = authz_sink(ctx, info->token, keyauth, err);
		break;
	case MC_CHALLENGE_TLSALPN01:
		if (ctx->alpn == NULL &&
		    (ctx->alpn = acme_tlsalpn01_start(conf->tls_alpn_listen,
		                                      err)) == NULL)
			break;
		rc = acme_tlsalpn01_add(ctx->alpn, info->ident, keyauth, err);
		break;
	case MC_CHALLENGE_DNS01:
		rc = authz_dns_add(ctx, info->ident, keyauth, err);
		break;
	}
	authz_clear_free(keyauth);
	return rc;
}

/* authz_remember - queue an authorization whose challenge we answer. */
static int
authz_remember(struct authz_ctx *ctx, const char *url,
               const struct authz_info *info, struct mc_err *err)
{
	struct authz_pending *p =
	    realloc(ctx->pend, (ctx->n_pend + 1) * sizeof(*p));

	if (p == NULL)
		return mc_err_errno(err, MC_ERR_SYS, "out of memory");
	ctx->pend = p;
	p = &ctx->pend[ctx->n_pend];
	p->authz_url = strdup(url);
	p->ident = strdup(info->ident);
	p->chall_url = strdup(info->chall_url);
	ctx->n_pend++;
	if (p->authz_url == NULL || p->ident == NULL || p->chall_url == NULL)
		return mc_err_errno(err, MC_ERR_SYS, "out of memory");
	return 0;
}

/* authz_prepare - fetch one authorization and publish its challenge. */
static int
authz_prepare(struct authz_ctx *ctx, const char *url, struct mc_err *err)
{
	struct mc_http_resp r = {0};
	struct authz_info info;
	json_t *obj = NULL;
	int ret = -1;

	if (acme_post_json(ctx->acme, url, NULL, &r, &obj, err) == -1 ||
	    authz_parse(obj, url, ctx->type, &info, err) == -1) {
		mc_err_prefix(err, "authorization");
		goto out;
	}
	if (!authz_ordered(ctx->req, &info)) {
		mc_err_set(err, MC_ERR_CA,
		           "authorization %s is for %s%s, which this order did "
		           "not ask for; nothing was published for it",
		           url, info.wildcard ? "*." : "", info.ident);
		goto out;
	}
	if (strcmp(info.status, "valid") == 0) {
		mc_log_debug("authorization for %s is already valid",
		             info.ident);
		ret = 0;
		goto out;
	}
	if (strcmp(info.status, "pending") != 0) {
		authz_failure(obj, url, info.ident, ctx->type, info.status,
		              err);
		goto out;
	}
	if (info.chall_url == NULL) {
		mc_err_set(
		    err, MC_ERR_CHALLENGE,
		    "authorization for %s (%s): the CA offers no %s challenge",
		    info.ident, url, ctx->type);
		goto out;
	}
	if (authz_publish(ctx, &info, err) == -1 ||
	    authz_remember(ctx, url, &info, err) == -1)
		goto out;
	ret = 0;
out:
	json_decref(obj);
	mc_http_resp_clear(&r);
	return ret;
}

/* authz_respond - tell the CA the challenge is ready (POST {}). */
static int
authz_respond(struct authz_ctx *ctx, const struct authz_pending *p,
              struct mc_err *err)
{
	struct mc_http_resp r = {0};
	json_t *empty = json_object();
	int rc;

	if (empty == NULL)
		return mc_err_set(err, MC_ERR_SYS, "out of memory");
	rc = acme_post(ctx->acme, p->chall_url, empty, false, NULL, &r, err);
	if (rc == -1)
		mc_err_prefix(err, "%s challenge for %s", ctx->type, p->ident);
	json_decref(empty);
	mc_http_resp_clear(&r);
	return rc;
}

/* authz_poll_once - fetch the authorization: 1 valid, 0 still pending, -1
 * error. */
static int
authz_poll_once(struct authz_ctx *ctx, const struct authz_pending *p,
                long *retry_after, struct mc_err *err)
{
	struct mc_http_resp r = {0};
	struct authz_info info;
	json_t *obj = NULL;
	int ret = -1;

	if (acme_post_json(ctx->acme, p->authz_url, NULL, &r, &obj, err) ==
	        -1 ||
	    authz_parse(obj, p->authz_url, ctx->type, &info, err) == -1) {
		mc_err_prefix(err, "authorization for %s", p->ident);
		goto out;
	}
	*retry_after = r.retry_after;
	if (strcmp(info.status, "valid") == 0)
		ret = 1;
	else if (strcmp(info.status, "pending") == 0 ||
	         strcmp(info.status, "processing") == 0)
		ret = 0;
	else
		authz_failure(obj, p->authz_url, p->ident, ctx->type,
		              info.status, err);
out:
	json_decref(obj);
	mc_http_resp_clear(&r);
	return ret;
}

/* authz_poll - poll one authorization until valid, invalid or the deadline. */
static int
authz_poll(struct authz_ctx *ctx, const struct authz_pending *p,
           struct mc_err *err)
{
	long step = ACME_POLL_FIRST_MS;
	long retry_after = -1;
	int rc;

	for (;;) {
		rc = authz_poll_once(ctx, p, &retry_after, err);
		if (rc != 0)
			return rc == 1 ? 0 : -1;
		if (acme_poll_wait(ctx->acme, retry_after, &step) == -1)
			return mc_err_set(
			    err, MC_ERR_CHALLENGE,
			    "authorization for %s (%s): %s challenge still "
			    "pending at the deadline",
			    p->ident, p->authz_url, ctx->type);
	}
}

/* authz_cleanup - stop responders, delete DNS records, free the context. */
static void
authz_cleanup(struct authz_ctx *ctx)
{
	struct mc_err e;
	size_t i;

	acme_http01_stop(ctx->http);
	acme_tlsalpn01_stop(ctx->alpn);
	for (i = 0; i < ctx->n_sunk; i++) {
		ctx->acme->http01_sink->withdraw(ctx->acme->http01_sink->arg,
		                                 ctx->sunk[i]);
		free(ctx->sunk[i]);
	}
	free(ctx->sunk);
	for (i = 0; i < ctx->n_dns; i++) {
		mc_err_clear(&e);
		if (acme_dns01_publish(ctx->conf, "del", ctx->dns_fqdn[i],
		                       ctx->dns_value[i], &e) == -1)
			mc_log_warn("dns-01 cleanup of %s: %s",
			            ctx->dns_fqdn[i], e.msg);
		free(ctx->dns_fqdn[i]);
		free(ctx->dns_value[i]);
	}
	free(ctx->dns_fqdn);
	free(ctx->dns_value);
	for (i = 0; i < ctx->n_pend; i++) {
		free(ctx->pend[i].authz_url);
		free(ctx->pend[i].ident);
		free(ctx->pend[i].chall_url);
	}
	free(ctx->pend);
}

/* authz_dns_wait - wait for DNS propagation; the time is not the order's:
 * its deadline moves by as much (dns_wait may be longer than the order
 * itself is allowed to take). */
static void
authz_dns_wait(struct mc_acme *acme, long seconds)
{
	long long start = mc_now_ms();

	mc_log_info("dns-01: waiting %ld s for the TXT records to propagate "
	            "(dns_wait)",
	            seconds);
	mc_sleep_ms(seconds * 1000LL);
	if (acme->deadline > 0)
		acme->deadline += mc_now_ms() - start;
}

/* acme_authorize - satisfy every authorization (see acme_int.h). */
int
acme_authorize(struct mc_acme *acme, const struct mc_acme_order_req *req,
               char *const *authz_urls, size_t n_authz, struct mc_err *err)
{
	struct authz_ctx ctx = {0};
	size_t i;
	int ret = -1;

	if (req->challenge == NULL)
		return mc_err_set(err, MC_ERR_CONFIG,
		                  "no challenge configuration");
	ctx.acme = acme;
	ctx.req = req;
	ctx.conf = req->challenge;
	ctx.type = mc_challenge_name(req->challenge->type);
	for (i = 0; i < n_authz; i++)
		if (authz_prepare(&ctx, authz_urls[i], err) == -1)
			goto out;
	if (ctx.n_dns > 0 && ctx.conf->dns_propagation_wait > 0)
		authz_dns_wait(acme, ctx.conf->dns_propagation_wait);
	for (i = 0; i < ctx.n_pend; i++)
		if (authz_respond(&ctx, &ctx.pend[i], err) == -1)
			goto out;
	for (i = 0; i < ctx.n_pend; i++)
		if (authz_poll(&ctx, &ctx.pend[i], err) == -1)
			goto out;
	ret = 0;
out:
	authz_cleanup(&ctx);
	return ret;
}
