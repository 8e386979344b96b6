/*
 * common.c - helpers shared by the commands: errors, config, account.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "mailcert/crypto.h"
#include "mailcert/log.h"
#include "mailcert/store.h"

/* cli_fail - print err once and return its exit code. */
int
cli_fail(const struct mc_err *err)
{
	int code = mc_err_exit_code(err->cat);

	fflush(stdout);
	fprintf(stderr, "mailcert: %s\n", err->msg[0] ? err->msg : "failed");
	mc_log(MC_LOG_DEBUG, "exit %d (%s)", code, mc_err_cat_name(err->cat));
	return code == 0 ? 1 : code;
}

/* cli_usage_error - print a usage error and return 2. */
int
cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "mailcert: %s%s", cmd ? cmd : "", cmd ? ": " : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry `mailcert --help`.\n");
	return 2;
}

/* cli_load_config - load the config from -c, $MAILCERT_CONFIG or the default. */
int
cli_load_config(struct cli *cli, struct mc_config **cfg, struct mc_err *err)
{
	const char *path = cli->config_path;

	if (path == NULL)
		path = getenv("MAILCERT_CONFIG");
	if (path == NULL || path[0] == '\0')
		path = MC_CONFIG_DEFAULT_PATH;
	if (mc_config_load(path, cfg, err) == -1)
		return -1;
	mc_log_set_dest((*cfg)->log);
	return 0;
}

/* cli_format_time - UTC time as text. */
void
cli_format_time(time_t t, char *buf, size_t size)
{
	mc_time_format(t, MC_TIME_HUMAN, buf, size);
}

/* account_inactive - whether a recorded account status rules the account
 * out ("deactivated" by us, "revoked" by the CA). */
static bool
account_inactive(const char *status)
{
	return status != NULL && (strcmp(status, "deactivated") == 0 ||
				  strcmp(status, "revoked") == 0);
}

/* account_new_key - a new account key, saved (when save) and logged. */
static EVP_PKEY *
account_new_key(const struct mc_config *cfg, bool save, struct mc_err *err)
{
	EVP_PKEY *key = mc_key_generate(MC_KEY_EC_P256, err);
	char fp[65];

	if (key != NULL && save &&
	    mc_store_account_save_key(cfg->state_dir, cfg->directory, key,
				      err) == -1) {
		EVP_PKEY_free(key);
		return NULL;
	}
	if (key != NULL && mc_key_spki_sha256(key, fp, NULL) == 0)
		mc_log_info("created a new account key (SPKI SHA-256 %s)", fp);
	return key;
}

/* account_key - load the account key (with its URL and status), or, when
 * create, make and save a new one. */
static EVP_PKEY *
account_key(const struct mc_config *cfg, bool create, char **kid,
	    char **status, struct mc_err *err)
{
	EVP_PKEY *key = NULL;
	int found;

	found = mc_store_account_load(cfg->state_dir, cfg->directory, &key, kid,
				      status, err);
	if (found == -1)
		return NULL;
	if (found == 1)
		return key;
	if (!create) {
		mc_err_set(err, MC_ERR_USAGE,
			   "no account for %s in %s yet; run `mailcert account "
			   "register`",
			   cfg->directory, cfg->state_dir);
		return NULL;
	}
	return account_new_key(cfg, true, err);
}

/* account_eab_check - a CA whose directory says externalAccountRequired
 * gets no newAccount without EAB: say which keys to set instead. */
static int
account_eab_check(const struct mc_config *cfg, const struct mc_acme *acme,
		  struct mc_err *err)
{
	if (!mc_acme_eab_required(acme) || cfg->eab_kid != NULL)
		return 0;
	return mc_err_set(err, MC_ERR_CONFIG,
			  "%s: the CA at %s requires External Account Binding "
			  "(its directory says externalAccountRequired): set "
			  "eab_kid and eab_hmac_key in [global] to the key ID "
			  "and HMAC key the CA gives you; nothing was sent",
			  cfg->path, cfg->directory);
}

/* account_save - account.json for acct, and one log line. */
static int
account_save(const struct mc_config *cfg, const struct mc_acme_account *acct,
	     struct mc_err *err)
{
	if (mc_store_account_save(cfg->state_dir, cfg->directory, acct->url,
				  acct->status,
				  (const char *const *)acct->contact,
				  acct->n_contact, err) == -1)
		return -1;
	mc_log_info("account %s is %s", acct->url,
		    acct->status ? acct->status : "registered");
	return 0;
}

/* account_saved - mc_acme_recovery callback: save the new account. */
static int
account_saved(void *arg, const struct mc_acme_account *acct,
	      struct mc_err *err)
{
	return account_save(arg, acct, err);
}

/* account_register - newAccount with the client's key; save account.json. */
static int
account_register(const struct mc_config *cfg, struct mc_acme *acme,
		 struct mc_err *err)
{
	struct mc_acme_new_account req = {cfg->contact, cfg->eab_kid,
					  cfg->eab_hmac_key, false};
	struct mc_acme_account acct = {0};
	int rc;

	if (account_eab_check(cfg, acme, err) == -1)
		return -1;
	if (mc_acme_account_new(acme, &req, &acct, err) == -1)
		return mc_err_prefix(err, "account");
	rc = account_save(cfg, &acct, err);
	mc_acme_account_clear(&acct);
	return rc;
}

/* cli_acme_client - an ACME client for cfg's directory, no account yet. */
struct mc_acme *
cli_acme_client(const struct mc_config *cfg, struct mc_err *err)
{
	struct mc_acme_opts opts = {cfg->directory, cfg->ca_bundle, 0, 0, 0};

	return mc_acme_new(&opts, err);
}

/* account_refuse_inactive - an error naming the command for an account
 * recorded as deactivated or revoked. */
static int
account_refuse_inactive(const struct mc_config *cfg, const char *kid,
			const char *status, struct mc_err *err)
{
	return mc_err_set(err, MC_ERR_USAGE,
			  "the account %s at %s is %s; run `mailcert account "
			  "register` to register a new one (with a new key)",
			  kid, cfg->directory, status);
}

/* cli_account_attach - load (or create) the account key into acme and,
 * when do_register is true, register the account if it has no URL yet
 * and allow the one re-registration after accountDoesNotExist. */
int
cli_account_attach(const struct mc_config *cfg, struct mc_acme *acme,
		   bool do_register, EVP_PKEY **key, struct mc_err *err)
{
	struct mc_acme_recovery rec = {
		{cfg->contact, cfg->eab_kid, cfg->eab_hmac_key, false},
		account_saved, (void *)cfg};
	char *kid = NULL, *status = NULL;
	EVP_PKEY *k = NULL;

	k = account_key(cfg, do_register, &kid, &status, err);
	if (k == NULL)
		goto fail;
	if (kid != NULL && account_inactive(status)) {
		account_refuse_inactive(cfg, kid, status, err);
		goto fail;
	}
	mc_acme_set_key(acme, k);
	if (kid != NULL && mc_acme_set_kid(acme, kid, err) == -1)
		goto fail;
	if (kid == NULL && do_register && account_register(cfg, acme, err) == -1)
		goto fail;
	if (do_register)
		mc_acme_set_recovery(acme, &rec);
	free(kid);
	free(status);
	*key = k;
	return 0;
fail:
	mc_acme_set_key(acme, NULL);
	free(kid);
	free(status);
	EVP_PKEY_free(k);
	return -1;
}

/* account_replace - register a new account with a new key (the old one is
 * deactivated or refused), then save the key and account.json. */
static int
account_replace(const struct mc_config *cfg, struct mc_acme *acme,
		const char *old_kid, const char *why, EVP_PKEY **key,
		struct mc_err *err)
{
	EVP_PKEY *k;

	mc_log_warn("account %s %s; registering a new account with a new key",
		    old_kid, why);
	k = account_new_key(cfg, false, err);
	if (k == NULL)
		return -1;
	mc_acme_set_key(acme, k);
	if (account_register(cfg, acme, err) == -1 ||
	    mc_store_account_save_key(cfg->state_dir, cfg->directory, k,
				      err) == -1) {
		mc_acme_set_key(acme, *key);
		EVP_PKEY_free(k);
		return -1;
	}
	EVP_PKEY_free(*key);
	*key = k;
	return 0;
}

/* cli_account_register - `account register`: register the account key
 * (creating it), or replace an account that is deactivated, revoked or
 * refused with a new key; an account the CA has forgotten is registered
 * again with the same key. acme then holds *key and the kid. */
int
cli_account_register(const struct mc_config *cfg, struct mc_acme *acme,
		     EVP_PKEY **key, struct mc_err *err)
{
	char *kid = NULL, *status = NULL;
	EVP_PKEY *k = account_key(cfg, true, &kid, &status, err);
	int rc = -1;

	if (k == NULL)
		return -1;
	mc_acme_set_key(acme, k);
	if (kid != NULL && account_inactive(status)) {
		rc = account_replace(cfg, acme, kid,
				     strcmp(status, "revoked") == 0
					 ? "is revoked"
					 : "is deactivated",
				     &k, err);
	} else if (account_register(cfg, acme, err) == 0) {
		rc = 0;
		if (kid != NULL && strcmp(kid, mc_acme_kid(acme)) != 0)
			mc_log_warn("the CA no longer knew account %s; "
				    "registered the same key as %s",
				    kid, mc_acme_kid(acme));
	} else if (kid != NULL &&
		   strcmp(mc_acme_last_problem(acme), "unauthorized") == 0) {
		rc = account_replace(cfg, acme, kid, "is refused by the CA", &k,
				     err);
	}
	free(kid);
	free(status);
	if (rc == -1) {
		mc_acme_set_key(acme, NULL);
		EVP_PKEY_free(k);
		return -1;
	}
	*key = k;
	return 0;
}

/* cli_account_open - ACME client with account key (and account). */
struct mc_acme *
cli_account_open(const struct mc_config *cfg, bool do_register, EVP_PKEY **key,
		 struct mc_err *err)
{
	struct mc_acme *acme = cli_acme_client(cfg, err);

	if (acme != NULL &&
	    cli_account_attach(cfg, acme, do_register, key, err) == -1) {
		mc_acme_free(acme);
		return NULL;
	}
	return acme;
}

/* cli_name_display - name, with its Unicode form in parentheses when it
 * has xn-- labels that decode: "xn--bcher-kva.example (bücher.example)". */
void
cli_name_display(const char *name, char *buf, size_t size)
{
	char *u = mc_name_to_ulabel(name, NULL);

	if (u != NULL && strcmp(u, name) != 0)
		snprintf(buf, size, "%s (%s)", name, u);
	else
		snprintf(buf, size, "%s", name);
	free(u);
}

/* cli_log_idn - log the Unicode form of each international name of cc. */
void
cli_log_idn(const struct mc_cert_conf *cc)
{
	char buf[600];
	size_t i;

	for (i = 0; i < cc->n_names; i++) {
		cli_name_display(cc->names[i], buf, sizeof(buf));
		if (strcmp(buf, cc->names[i]) != 0)
			mc_log_info("%s: %s", cc->name, buf);
	}
}

/* cli_cert_arg - the [cert NAME] named by the single argument of cmd. */
const struct mc_cert_conf *
cli_cert_arg(const struct mc_config *cfg, const char *cmd, int argc,
	     char **argv, struct mc_err *err)
{
	const struct mc_cert_conf *cc;

	if (argc != 2) {
		mc_err_set(err, MC_ERR_USAGE, "%s: name one cert", cmd);
		return NULL;
	}
	cc = mc_config_cert(cfg, argv[1]);
	if (cc == NULL)
		mc_err_set(err, MC_ERR_USAGE, "%s: no [cert %s] in %s", cmd,
			   argv[1], cfg->path);
	return cc;
}
