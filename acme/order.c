/*
 * order.c - one certificate order (RFC 8555 7.4): newOrder, authorizations
 * (authz.c), finalize with a CSR, poll, download the chain and pick the
 * preferred alternate chain.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "acme/acme_int.h"
#include "mailcert/crypto.h"
#include "mailcert/log.h"
#include "mailcert/time.h"

#define DEFAULT_ORDER_DEADLINE 300
#define AUTHZ_MAX 100
#define PEM_CHAIN "application/pem-certificate-chain"

struct order_obj {
	char *status;
	char **authz;
	size_t n_authz;
	char *finalize;
	char *certificate; /* NULL until valid */
	char *error;       /* the order's problem as one line, or NULL */
};

/* order_obj_clear - free the members of an order. */
static void
order_obj_clear(struct order_obj *o)
{
	free(o->status);
	mc_strv_free(o->authz, o->n_authz);
	free(o->finalize);
	free(o->certificate);
	free(o->error);
	memset(o, 0, sizeof(*o));
}

/* order_authz - the authorizations array of an order. */
static int
order_authz(const json_t *obj, const char *url, struct order_obj *o,
            struct mc_err *err)
{
	const json_t *arr = json_object_get(obj, "authorizations"), *v;
	size_t i;

	if (!json_is_array(arr) || json_array_size(arr) > AUTHZ_MAX)
		return mc_err_set(
		    err, MC_ERR_INPUT,
		    "%s: field \"authorizations\" is missing or not an array",
		    url);
	o->authz = calloc(json_array_size(arr) + 1, sizeof(char *));
	if (o->authz == NULL)
		return mc_err_errno(err, MC_ERR_SYS, "out of memory");
	json_array_foreach(arr, i, v)
	{
		if (!json_is_string(v) ||
		    strncasecmp(json_string_value(v), "https://", 8) != 0)
			return mc_err_set(
			    err, MC_ERR_INPUT,
			    "%s: field \"authorizations\" holds a value that "
			    "is not an https:// URL",
			    url);
		o->authz[i] = strdup(json_string_value(v));
		if (o->authz[i] == NULL)
			return mc_err_errno(err, MC_ERR_SYS, "out of memory");
		o->n_authz = i + 1;
	}
	return 0;
}

/* order_error - the order's "error" problem as one line (or NULL). */
static int
order_error(const json_t *obj, struct order_obj *o, struct mc_err *err)
{
	const json_t *e = json_object_get(obj, "error");
	struct mc_buf line;

	if (!json_is_object(e))
		return 0;
	mc_buf_init(&line, 1024);
	(void)acme_problem_append(&line, e, NULL); /* truncation is fine */
	o->error = mc_buf_take(&line);
	if (o->error == NULL)
		return mc_err_errno(err, MC_ERR_SYS, "out of memory");
	return 0;
}

/* order_parse - an order object from url into *o (cleared on failure). */
static int
order_parse(const json_t *obj, const char *url, struct order_obj *o,
            struct mc_err *err)
{
	const char *status, *fin, *cert;

	memset(o, 0, sizeof(*o));
	if (acme_json_str(obj, "status", url, true, false, &status, err) ==
	        -1 ||
	    acme_json_str(obj, "finalize", url, true, true, &fin, err) == -1 ||
	    acme_json_str(obj, "certificate", url, false, true, &cert, err) ==
	        -1 ||
	    order_authz(obj, url, o, err) == -1 ||
	    order_error(obj, o, err) == -1 ||
	    acme_strdup_opt(status, &o->status, err) == -1 ||
	    acme_strdup_opt(fin, &o->finalize, err) == -1 ||
	    acme_strdup_opt(cert, &o->certificate, err) == -1) {
		order_obj_clear(o);
		return -1;
	}
	return 0;
}

/* order_payload - the newOrder request body (new object): identifiers of
 * type "ip" (RFC 8738) or "dns", "replaces" (RFC 9773) and "profile"
 * (draft-ietf-acme-profiles) when set. */
static json_t *
order_payload(const struct mc_acme_order_req *req, struct mc_err *err)
{
	json_t *ids = json_array(), *p = NULL;
	size_t i;

	for (i = 0; ids != NULL && i < req->n_names; i++)
		if (json_array_append_new(
		        ids, json_pack("{s:s, s:s}", "type",
		                       mc_name_is_ip(req->names[i]) ? "ip"
		                                                    : "dns",
		                       "value", req->names[i])) != 0)
			goto fail;
	p = json_pack("{s:o}", "identifiers", ids);
	ids = NULL;
	if (p == NULL || (req->replaces != NULL && req->replaces[0] != '\0' &&
	                  json_object_set_new(p, "replaces",
	                                      json_string(req->replaces)) != 0))
		goto fail;
	if (req->profile != NULL && req->profile[0] != '\0' &&
	    json_object_set_new(p, "profile", json_string(req->profile)) != 0)
		goto fail;
	return p;
fail:
	json_decref(ids);
	json_decref(p);
	mc_err_set(err, MC_ERR_SYS, "cannot build the newOrder request");
	return NULL;
}

/* order_replaces_refused - whether an error answer to newOrder refuses the
 * "replaces" field: alreadyReplaced (RFC 9773), or malformed naming it. */
static bool
order_replaces_refused(const struct mc_http_resp *r)
{
	json_t *prob;
	const char *type, *detail;
	bool refused;

	if (r->status < 400 || r->body == NULL ||
	    r->content_type == NULL ||
	    strcmp(r->content_type, "application/problem+json") != 0)
		return false;
	prob = json_loadb(r->body, r->body_len, 0, NULL);
	type = json_string_value(json_object_get(prob, "type"));
	detail = json_string_value(json_object_get(prob, "detail"));
	refused = type != NULL &&
	          (strcmp(type, ACME_PROBLEM "alreadyReplaced") == 0 ||
	           (strcmp(type, ACME_PROBLEM "malformed") == 0 &&
	            detail != NULL && strstr(detail, "replaces") != NULL));
	json_decref(prob);
	return refused;
}

/* order_create - POST newOrder; *url is the order URL (new). *refused
 * tells whether the CA refused the request's "replaces" field. */
static int
order_create(struct mc_acme *acme, const struct mc_acme_order_req *req,
             char **url, struct order_obj *o, bool *refused,
             struct mc_err *err)
{
	struct mc_http_resp r = {0};
	json_t *payload = order_payload(req, err), *obj = NULL;
	const char *nurl = acme->dir.new_order;
	int ret = -1;

	*refused = false;
	if (payload == NULL ||
	    acme_post_json(acme, nurl, payload, &r, &obj, err) == -1) {
		*refused = req->replaces != NULL && req->replaces[0] != '\0' &&
		           order_replaces_refused(&r);
		goto out;
	}
	if (r.location == NULL || strncasecmp(r.location, "https://", 8) != 0) {
		mc_err_set(err, MC_ERR_INPUT,
		           "%s: the Location header (order URL) is missing or "
		           "not https://",
		           nurl);
		goto out;
	}
	if (order_parse(obj, nurl, o, err) == -1)
		goto out;
	*url = r.location;
	r.location = NULL;
	ret = 0;
out:
	if (ret == -1)
		mc_err_prefix(err, "newOrder");
	json_decref(payload);
	json_decref(obj);
	mc_http_resp_clear(&r);
	return ret;
}

/* order_fetch - POST (payload) or POST-as-GET (NULL) url, parse the order into
 * *o. */
static int
order_fetch(struct mc_acme *acme, const char *url, const json_t *payload,
            struct order_obj *o, long *retry_after, struct mc_err *err)
{
	struct mc_http_resp r = {0};
	json_t *obj = NULL;
	int ret = -1;

	if (acme_post_json(acme, url, payload, &r, &obj, err) == 0 &&
	    order_parse(obj, url, o, err) == 0) {
		*retry_after = r.retry_after;
		ret = 0;
	}
	json_decref(obj);
	mc_http_resp_clear(&r);
	return ret;
}

/* order_wait - poll the order until it is ready (or valid when want_valid). */
static int
order_wait(struct mc_acme *acme, const char *url, bool want_valid,
           struct order_obj *o, long retry_after, struct mc_err *err)
{
	long step = ACME_POLL_FIRST_MS;

	for (;;) {
		if (strcmp(o->status, "valid") == 0 ||
		    (!want_valid && strcmp(o->status, "ready") == 0))
			return 0;
		if (strcmp(o->status, "invalid") == 0 ||
		    (want_valid && strcmp(o->status, "ready") == 0))
			return mc_err_set(err, MC_ERR_CA, "order %s is %s: %s",
			                  url, o->status,
			                  o->error ? o->error : "no detail");
		if (acme_poll_wait(acme, retry_after, &step) == -1)
			return mc_err_set(err, MC_ERR_CA,
			                  "order %s still %s at the deadline",
			                  url, o->status);
		order_obj_clear(o);
		if (order_fetch(acme, url, NULL, o, &retry_after, err) == -1)
			return -1;
	}
}

/* order_finalize - POST the CSR to the finalize URL, wait until valid. */
static int
order_finalize(struct mc_acme *acme, const struct mc_acme_order_req *req,
               const char *url, struct order_obj *o, struct mc_err *err)
{
	char *csr =
	    acme_csr_b64url(req->cert_key, req->names, req->n_names, err);
	char *fin = o->finalize;
	json_t *payload = NULL;
	long retry_after = -1;
	int ret = -1;

	o->finalize = NULL;
	if (csr == NULL)
		goto out;
	payload = json_pack("{s:s}", "csr", csr);
	if (payload == NULL) {
		mc_err_set(err, MC_ERR_SYS,
		           "cannot build the finalize request");
		goto out;
	}
	order_obj_clear(o);
	if (order_fetch(acme, fin, payload, o, &retry_after, err) == -1) {
		mc_err_prefix(err, "finalize");
		goto out;
	}
	ret = order_wait(acme, url, true, o, retry_after, err);
out:
	free(csr);
	free(fin);
	json_decref(payload);
	return ret;
}

/* order_top_issuer_is - whether the issuer CN of the chain's last
 * certificate is cn. */
static bool
order_top_issuer_is(STACK_OF(X509) *chain, const char *cn)
{
	struct mc_x509_info info;

	return mc_x509_info(sk_X509_value(chain, sk_X509_num(chain) - 1),
	                    &info, NULL) == 0 &&
	       strcmp(info.issuer_cn, cn) == 0;
}

/* order_download - POST-as-GET a chain; *chain is its certificates (new):
 * it must be PEM certificates. */
static int
order_download(struct mc_acme *acme, const char *url, struct mc_http_resp *r,
               STACK_OF(X509) **chain, struct mc_err *err)
{
	if (acme_post(acme, url, NULL, false, PEM_CHAIN, r, err) == -1)
		return mc_err_prefix(err, "certificate");
	*chain = mc_x509_chain_parse(r->body, r->body_len, err);
	if (*chain == NULL)
		return mc_err_prefix(err, "certificate %s", url);
	return 0;
}

/* order_pick_chain - the default chain, or the first alternate whose top
 * issuer CN is preferred; fills out->cert_url, chain_pem and chain. */
static int
order_pick_chain(struct mc_acme *acme, const char *cert_url,
                 const char *preferred, struct mc_acme_cert *out,
                 struct mc_err *err)
{
	struct mc_http_resp def = {0}, alt = {0};
	struct mc_http_resp *chosen = &def;
	STACK_OF(X509) *dchain = NULL, *achain = NULL, **cchain = &dchain;
	const char *chosen_url = cert_url;
	struct mc_err aerr;
	size_t i;
	int ret = -1;

	if (order_download(acme, cert_url, &def, &dchain, err) == -1)
		goto out;
	if (preferred != NULL && preferred[0] != '\0' &&
	    !order_top_issuer_is(dchain, preferred)) {
		for (i = 0; i < def.n_links; i++) {
			if (strcmp(def.links[i].rel, "alternate") != 0)
				continue;
			mc_err_clear(&aerr);
			mc_http_resp_clear(&alt);
			sk_X509_pop_free(achain, X509_free);
			achain = NULL;
			if (order_download(acme, def.links[i].url, &alt,
			                   &achain, &aerr) == -1) {
				mc_log_warn("alternate chain: %s", aerr.msg);
				continue;
			}
			if (order_top_issuer_is(achain, preferred)) {
				chosen = &alt;
				cchain = &achain;
				chosen_url = def.links[i].url;
				break;
			}
		}
		if (chosen == &def)
			mc_log_info("no chain issued by \"%s\"; keeping the "
			            "default chain",
			            preferred);
	}
	if (acme_strdup_opt(chosen_url, &out->cert_url, err) == -1)
		goto out;
	out->chain_len = chosen->body_len;
	out->chain_pem = chosen->body;
	chosen->body = NULL;
	out->chain = *cchain;
	*cchain = NULL;
	ret = 0;
out:
	sk_X509_pop_free(dchain, X509_free);
	sk_X509_pop_free(achain, X509_free);
	mc_http_resp_clear(&def);
	mc_http_resp_clear(&alt);
	return ret;
}

/* order_check_req - refuse an order request that cannot work. */
static int
order_check_req(const struct mc_acme_order_req *req, struct mc_err *err)
{
	size_t i;

	if (req->names == NULL || req->n_names == 0 || req->n_names > AUTHZ_MAX)
		return mc_err_set(err, MC_ERR_INPUT,
		                  "order: need 1 to %d names", AUTHZ_MAX);
	for (i = 0; i < req->n_names; i++)
		if (req->names[i] == NULL || req->names[i][0] == '\0')
			return mc_err_set(err, MC_ERR_INPUT,
			                  "order: empty name");
	if (req->cert_key == NULL || req->challenge == NULL)
		return mc_err_set(
		    err, MC_ERR_INPUT,
		    "order: no certificate key or challenge configuration");
	return 0;
}

/* order_create_once_more - newOrder; when the CA refuses "replaces",
 * log it and try once more without it (RFC 9773: the order itself is fine). */
static int
order_create_once_more(struct mc_acme *acme,
                       const struct mc_acme_order_req *req, char **url,
                       struct order_obj *o, struct mc_err *err)
{
	struct mc_acme_order_req plain = *req;
	bool refused;

	if (order_create(acme, req, url, o, &refused, err) == 0)
		return 0;
	if (!refused)
		return -1;
	mc_log_warn("%s; retrying the order without \"replaces\"",
	            err != NULL ? err->msg : "newOrder refused \"replaces\"");
	mc_err_clear(err);
	plain.replaces = NULL;
	return order_create(acme, &plain, url, o, &refused, err);
}

/* order_run - the steps of mc_acme_order after the checks. */
static int
order_run(struct mc_acme *acme, const struct mc_acme_order_req *req,
          struct mc_acme_cert *out, struct mc_err *err)
{
	struct order_obj o = {0};
	char *url = NULL;
	int ret = -1;

	if (order_create_once_more(acme, req, &url, &o, err) == -1)
		goto out;
	if (strcmp(o.status, "pending") == 0 &&
	    acme_authorize(acme, req, o.authz, o.n_authz, err) == -1)
		goto out;
	if (strcmp(o.status, "pending") == 0) {
		order_obj_clear(&o);
		if (order_fetch(acme, url, NULL, &o, &(long){-1}, err) == -1)
			goto out;
	}
	if (order_wait(acme, url, false, &o, -1, err) == -1)
		goto out;
	if (strcmp(o.status, "ready") == 0 &&
	    order_finalize(acme, req, url, &o, err) == -1)
		goto out;
	if (o.certificate == NULL) {
		mc_err_set(err, MC_ERR_INPUT,
		           "order %s is valid but has no certificate URL", url);
		goto out;
	}
	if (order_pick_chain(acme, o.certificate, req->preferred_chain, out,
	                     err) == -1)
		goto out;
	out->order_url = url;
	url = NULL;
	ret = 0;
out:
	free(url);
	order_obj_clear(&o);
	return ret;
}

/* mc_acme_order - newOrder, authorizations, finalize, download. */
int
mc_acme_order(struct mc_acme *acme, const struct mc_acme_order_req *req,
              struct mc_acme_cert *out, struct mc_err *err)
{
	struct mc_acme_cert res = {0};
	long long saved = acme->deadline;
	int rc;

	if (order_check_req(req, err) == -1 ||
	    mc_acme_profile_check(acme, req->profile, err) == -1)
		return -1;
	mc_err_clear(err);
	acme->deadline =
	    mc_now_ms() + 1000LL * (req->deadline > 0 ? req->deadline
	                                              : DEFAULT_ORDER_DEADLINE);
	rc = order_run(acme, req, &res, err);
	acme->deadline = saved;
	if (rc == -1) {
		mc_acme_cert_clear(&res);
		return -1;
	}
	*out = res;
	return 0;
}

/* mc_acme_cert_clear - free the members of a result. */
void
mc_acme_cert_clear(struct mc_acme_cert *cert)
{
	if (cert == NULL)
		return;
	free(cert->order_url);
	free(cert->cert_url);
	free(cert->chain_pem);
	sk_X509_pop_free(cert->chain, X509_free);
	memset(cert, 0, sizeof(*cert));
}
