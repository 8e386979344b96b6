/*
 * account.c - ACME accounts: newAccount (with EAB), lookup, POST-as-GET
 * (RFC 8555 section 7.3); what a failed request means for the account
 * (the command that fixes it) and the one automatic re-registration after
 * accountDoesNotExist (RFC 8555 section 7.3.1: newAccount with the same
 * key creates the account anew when the CA has lost it).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "acme/acme_int.h"
#include "acme/jws.h"
#include "mailcert/crypto.h"
#include "mailcert/log.h"

/* mc_acme_account_clear - free the members of an account struct. */
void
mc_acme_account_clear(struct mc_acme_account *acct)
{
	if (acct == NULL)
		return;
	free(acct->url);
	free(acct->status);
	mc_strv_free(acct->contact, acct->n_contact);
	free(acct->orders);
	memset(acct, 0, sizeof(*acct));
}

/* account_contacts - the contact array of obj into acct. */
static int
account_contacts(const json_t *obj, const char *url,
                 struct mc_acme_account *acct, struct mc_err *err)
{
	const json_t *arr = json_object_get(obj, "contact"), *v;
	size_t i;

	if (arr == NULL || json_is_null(arr))
		return 0;
	if (!json_is_array(arr) || json_array_size(arr) > 64)
		return mc_err_set(
		    err, MC_ERR_INPUT,
		    "%s: field \"contact\" is not an array of URIs", url);
	acct->contact = calloc(json_array_size(arr) + 1, sizeof(char *));
	if (acct->contact == NULL)
		return mc_err_errno(err, MC_ERR_SYS, "out of memory");
	json_array_foreach(arr, i, v)
	{
		if (!json_is_string(v))
			return mc_err_set(
			    err, MC_ERR_INPUT,
			    "%s: field \"contact\" holds a non-string", url);
		acct->contact[i] = strdup(json_string_value(v));
		if (acct->contact[i] == NULL)
			return mc_err_errno(err, MC_ERR_SYS, "out of memory");
		acct->n_contact = i + 1;
	}
	return 0;
}

/* account_parse - the account object from url (kid) into *out. */
static int
account_parse(const json_t *obj, const char *url, const char *kid,
              struct mc_acme_account *out, struct mc_err *err)
{
	struct mc_acme_account a = {0};
	const char *status, *orders;

	if (acme_json_str(obj, "status", url, true, false, &status, err) ==
	        -1 ||
	    acme_json_str(obj, "orders", url, false, true, &orders, err) ==
	        -1 ||
	    account_contacts(obj, url, &a, err) == -1 ||
	    acme_strdup_opt(kid, &a.url, err) == -1 ||
	    acme_strdup_opt(status, &a.status, err) == -1 ||
	    acme_strdup_opt(orders, &a.orders, err) == -1) {
		mc_acme_account_clear(&a);
		return -1;
	}
	*out = a;
	return 0;
}

/* account_contact_array - a space-separated contact string as a JSON array. */
static json_t *
account_contact_array(const char *contact, struct mc_err *err)
{
	json_t *arr = json_array();
	const char *p = contact;
	size_t n;

	if (arr == NULL)
		goto oom;
	while (p != NULL && *p != '\0') {
		p += strspn(p, " \t,");
		n = strcspn(p, " \t,");
		if (n > 0 &&
		    json_array_append_new(arr, json_stringn(p, n)) != 0)
			goto oom;
		p += n;
	}
	return arr;
oom:
	json_decref(arr);
	mc_err_set(err, MC_ERR_SYS, "out of memory");
	return NULL;
}

/* account_payload - the newAccount request body (new object). */
static json_t *
account_payload(struct mc_acme *acme, const struct mc_acme_new_account *req,
                struct mc_err *err)
{
	json_t *p = json_pack("{s:b}", "termsOfServiceAgreed", 1);
	json_t *v;

	if (p == NULL) {
		mc_err_set(err, MC_ERR_SYS, "out of memory");
		return NULL;
	}
	if (req->only_return_existing &&
	    json_object_set_new(p, "onlyReturnExisting", json_true()) != 0)
		goto fail;
	if (req->contact != NULL && req->contact[0] != '\0') {
		v = account_contact_array(req->contact, err);
		if (v == NULL || json_object_set_new(p, "contact", v) != 0)
			goto fail;
	}
	if (req->eab_kid != NULL && req->eab_kid[0] != '\0') {
		v = acme_jws_eab(acme->key, req->eab_kid, req->eab_hmac_key,
		                 acme->dir.new_account, err);
		if (v == NULL ||
		    json_object_set_new(p, "externalAccountBinding", v) != 0)
			goto fail;
	}
	return p;
fail:
	json_decref(p);
	if (err != NULL && err->cat == MC_ERR_NONE)
		mc_err_set(err, MC_ERR_SYS,
		           "cannot build the newAccount request");
	return NULL;
}

/* mc_acme_account_new - newAccount (or lookup); sets the kid. */
int
mc_acme_account_new(struct mc_acme *acme, const struct mc_acme_new_account *req,
                    struct mc_acme_account *out, struct mc_err *err)
{
	struct mc_http_resp r = {0};
	const char *url = acme->dir.new_account;
	json_t *payload = NULL, *obj = NULL;
	int ret = -1;

	mc_err_clear(err);
	payload = account_payload(acme, req, err);
	if (payload == NULL ||
	    acme_post(acme, url, payload, true, NULL, &r, err) == -1)
		goto out;
	if (r.location == NULL || strncasecmp(r.location, "https://", 8) != 0) {
		mc_err_set(err, MC_ERR_INPUT,
		           "%s: the Location header (account URL) is missing "
		           "or not https://",
		           url);
		goto out;
	}
	obj = acme_parse_object(url, r.body, r.body_len, err);
	if (obj == NULL ||
	    account_parse(obj, url, r.location, out, err) == -1 ||
	    mc_acme_set_kid(acme, r.location, err) == -1)
		goto out;
	ret = 0;
out:
	if (ret == -1)
		mc_err_prefix(err, req->only_return_existing ? "account lookup"
		                                             : "newAccount");
	json_decref(payload);
	json_decref(obj);
	mc_http_resp_clear(&r);
	return ret;
}

/* mc_acme_account_get - POST-as-GET the account. */
int
mc_acme_account_get(struct mc_acme *acme, struct mc_acme_account *out,
                    struct mc_err *err)
{
	struct mc_http_resp r = {0};
	json_t *obj = NULL;
	int ret = -1;

	if (acme->kid == NULL)
		return mc_err_set(err, MC_ERR_INPUT,
		                  "account: no account URL known");
	if (acme_post_json(acme, acme->kid, NULL, &r, &obj, err) == -1 ||
	    account_parse(obj, acme->kid, acme->kid, out, err) == -1) {
		mc_err_prefix(err, "account");
		goto out;
	}
	ret = 0;
out:
	json_decref(obj);
	mc_http_resp_clear(&r);
	return ret;
}

/* mc_acme_set_recovery - allow one re-registration (rec copied). */
void
mc_acme_set_recovery(struct mc_acme *acme, const struct mc_acme_recovery *rec)
{
	if (rec == NULL)
		memset(&acme->recovery, 0, sizeof(acme->recovery));
	else
		acme->recovery = *rec;
}

/* mc_acme_last_problem - the type of the last error answer. */
const char *
mc_acme_last_problem(const struct mc_acme *acme)
{
	return acme->last_problem;
}

/* account_note_problem - remember the problem type (prefix dropped). */
static void
account_note_problem(struct mc_acme *acme, const char *type)
{
	size_t n = strlen(ACME_PROBLEM);

	if (type != NULL && strncmp(type, ACME_PROBLEM, n) == 0 &&
	    strlen(type + n) < sizeof(acme->last_problem))
		snprintf(acme->last_problem, sizeof(acme->last_problem), "%s",
		         type + n);
	else
		acme->last_problem[0] = '\0';
}

/* account_hint - append to err the command that fixes an account problem
 * of a kid-signed request: an unknown or a deactivated account. */
static void
account_hint(const struct mc_acme *acme, struct mc_err *err)
{
	const char *hint = NULL;
	size_t n;

	if (err == NULL)
		return;
	if (strcmp(acme->last_problem, "accountDoesNotExist") == 0)
		hint = "; the CA does not know this account (was it reset?): "
		       "run `mailcert account register` to register the key "
		       "again";
	else if (strcmp(acme->last_problem, "unauthorized") == 0 &&
	         strstr(err->msg, "deactivated") != NULL)
		hint = "; the account is deactivated: run `mailcert account "
		       "register` to register a new one (with a new key)";
	n = strlen(err->msg);
	if (hint != NULL && n < sizeof(err->msg))
		snprintf(err->msg + n, sizeof(err->msg) - n, "%s", hint);
}

/* account_reregister - drop the kid and register the key again (once). */
static int
account_reregister(struct mc_acme *acme, struct mc_err *err)
{
	struct mc_acme_new_account req = acme->recovery.req;
	struct mc_acme_account acct = {0};
	char *old = acme->kid;
	int rc = -1;

	acme->recovered = true;
	acme->kid = NULL;
	req.only_return_existing = false;
	mc_log_warn("the CA no longer knows account %s (accountDoesNotExist); "
	            "registering the same key again",
	            old);
	if (mc_acme_account_new(acme, &req, &acct, err) == -1 ||
	    acme->recovery.registered(acme->recovery.arg, &acct, err) == -1) {
		mc_err_prefix(err,
		              "the CA no longer knows account %s and registering "
		              "the key again failed (run `mailcert account "
		              "register` when the CA works again)",
		              old);
		goto out;
	}
	mc_log_info("registered account %s with the same key (was %s)",
	            acct.url, old);
	rc = 0;
out:
	if (acme->kid == NULL) { /* keep the old kid: nothing better known */
		acme->kid = old;
		old = NULL;
	}
	free(old);
	mc_acme_account_clear(&acct);
	return rc;
}

/* acme_account_answer - an error answer into err, or a re-registration. */
int
acme_account_answer(struct mc_acme *acme, const char *url, bool use_jwk,
                    const struct mc_http_resp *r, struct mc_err *err)
{
	char *type = acme_problem_type(r->content_type, r->body, r->body_len);

	account_note_problem(acme, type);
	free(type);
	if (!use_jwk && acme->kid != NULL &&
	    strcmp(acme->last_problem, "accountDoesNotExist") == 0 &&
	    acme->recovery.registered != NULL && !acme->recovered)
		return account_reregister(acme, err) == 0 ? 1 : -1;
	acme_problem_error(url, r->status, r->content_type, r->body,
	                   r->body_len, err);
	if (!use_jwk)
		account_hint(acme, err);
	return -1;
}
