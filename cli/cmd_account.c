/*
 * cmd_account.c - `mailcert account show|register|rollover|deactivate`.
 *
 * rollover generates a new ecdsa-p256 account key, has the CA switch to it
 * (RFC 8555 7.3.5) and only then replaces account.key atomically; the old
 * key is not kept. deactivate (RFC 8555 7.3.6) is permanent and needs --yes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "mailcert/crypto.h"
#include "mailcert/lock.h"
#include "mailcert/store.h"

/* account_print - the account as text or JSON. */
static void
account_print(const struct cli *cli, const struct mc_config *cfg,
	      const struct mc_acme_account *acct, const char *fp)
{
	json_t *o, *c;
	char *text;
	size_t i;

	if (!cli->json) {
		printf("directory: %s\naccount:   %s\nstatus:    %s\n",
		       cfg->directory, acct->url, acct->status);
		for (i = 0; i < acct->n_contact; i++)
			printf("contact:   %s\n", acct->contact[i]);
		printf("key:       SPKI SHA-256 %s\n", fp);
		return;
	}
	c = json_array();
	for (i = 0; i < acct->n_contact; i++)
		json_array_append_new(c, json_string(acct->contact[i]));
	o = json_pack("{s:s, s:s, s:s, s:o, s:s}", "directory", cfg->directory,
		      "url", acct->url, "status", acct->status ? acct->status : "",
		      "contact", c, "key_spki_sha256", fp);
	text = o ? json_dumps(o, JSON_INDENT(2)) : NULL;
	if (text != NULL)
		printf("%s\n", text);
	free(text);
	json_decref(o);
}

/* account_run - register (or look up) the account and print it. */
static int
account_run(struct cli *cli, const struct mc_config *cfg, bool do_register,
	    struct mc_err *err)
{
	struct mc_acme_account acct = {0};
	struct mc_acme *acme;
	EVP_PKEY *key = NULL;
	char fp[65] = "";
	int rc = -1;

	if (do_register) {
		acme = cli_acme_client(cfg, err);
		if (acme != NULL &&
		    cli_account_register(cfg, acme, &key, err) == -1) {
			mc_acme_free(acme);
			acme = NULL;
		}
	} else {
		acme = cli_account_open(cfg, false, &key, err);
	}
	if (acme == NULL)
		return -1;
	if (mc_acme_kid(acme) == NULL) {
		mc_err_set(err, MC_ERR_USAGE,
			   "no account at %s yet; run `mailcert account "
			   "register`",
			   cfg->directory);
		goto out;
	}
	if (mc_acme_account_get(acme, &acct, err) == -1 ||
	    mc_key_spki_sha256(key, fp, err) == -1)
		goto out;
	mc_store_account_save(cfg->state_dir, cfg->directory, acct.url,
			      acct.status, (const char *const *)acct.contact,
			      acct.n_contact, NULL);
	account_print(cli, cfg, &acct, fp);
	rc = 0;
out:
	mc_acme_account_clear(&acct);
	mc_acme_free(acme);
	EVP_PKEY_free(key);
	return rc;
}

/* account_opened - the client for an existing account (kid known). */
static struct mc_acme *
account_opened(const struct mc_config *cfg, EVP_PKEY **key,
	       struct mc_err *err)
{
	struct mc_acme *acme = cli_account_open(cfg, false, key, err);

	if (acme != NULL && mc_acme_kid(acme) == NULL) {
		mc_err_set(err, MC_ERR_USAGE,
			   "no account at %s yet; run `mailcert account "
			   "register`",
			   cfg->directory);
		mc_acme_free(acme);
		EVP_PKEY_free(*key);
		*key = NULL;
		return NULL;
	}
	return acme;
}

/* account_keep_new_key - save new_key; if that fails, switch the CA back
 * to old_key so that the account stays usable with the file on disk. */
static int
account_keep_new_key(const struct mc_config *cfg, struct mc_acme *acme,
		     EVP_PKEY *old_key, EVP_PKEY *new_key, struct mc_err *err)
{
	struct mc_err back;

	if (mc_store_account_save_key(cfg->state_dir, cfg->directory, new_key,
				      err) == 0)
		return 0;
	mc_err_clear(&back);
	if (mc_acme_key_change(acme, old_key, &back) == 0)
		return mc_err_prefix(err, "rollover undone at the CA (the old "
					  "key stays valid): cannot save the "
					  "new key");
	return mc_err_prefix(err, "the CA now expects a new key that could "
				  "not be saved, and switching back failed "
				  "(%s); the account is lost: register a new "
				  "one",
			     back.msg);
}

/* account_rollover - a new account key at the CA, then in account.key. */
static int
account_rollover(struct cli *cli, const struct mc_config *cfg,
		 struct mc_err *err)
{
	struct mc_acme *acme;
	EVP_PKEY *key = NULL, *new_key = NULL;
	char fp_old[65] = "", fp_new[65] = "";
	int rc = -1;

	acme = account_opened(cfg, &key, err);
	if (acme == NULL)
		return -1;
	if ((new_key = mc_key_generate(MC_KEY_EC_P256, err)) == NULL ||
	    mc_key_spki_sha256(key, fp_old, err) == -1 ||
	    mc_key_spki_sha256(new_key, fp_new, err) == -1 ||
	    mc_acme_key_change(acme, new_key, err) == -1 ||
	    account_keep_new_key(cfg, acme, key, new_key, err) == -1) {
		mc_err_prefix(err, "account rollover");
		goto out;
	}
	if (cli->json)
		cli_print_json(json_pack("{s:s, s:s, s:s}", "url",
					 mc_acme_kid(acme), "old_key_spki_sha256",
					 fp_old, "key_spki_sha256", fp_new));
	else if (cli->verbosity >= 0)
		printf("account %s: key rolled over (SPKI SHA-256 %s, was "
		       "%s)\n",
		       mc_acme_kid(acme), fp_new, fp_old);
	rc = 0;
out:
	mc_acme_free(acme);
	EVP_PKEY_free(key);
	EVP_PKEY_free(new_key);
	return rc;
}

/* account_deactivate - deactivate the account and record it. */
static int
account_deactivate(struct cli *cli, const struct mc_config *cfg,
		   struct mc_err *err)
{
	struct mc_acme_account acct = {0};
	struct mc_acme *acme;
	EVP_PKEY *key = NULL;
	int rc = -1;

	acme = account_opened(cfg, &key, err);
	if (acme == NULL)
		return -1;
	if (mc_acme_account_get(acme, &acct, err) == -1 ||
	    mc_acme_account_deactivate(acme, err) == -1 ||
	    mc_store_account_save(cfg->state_dir, cfg->directory, acct.url,
				  "deactivated",
				  (const char *const *)acct.contact,
				  acct.n_contact, err) == -1)
		goto out;
	if (cli->json)
		cli_print_json(json_pack("{s:s, s:s}", "url", acct.url,
					 "status", "deactivated"));
	else if (cli->verbosity >= 0)
		printf("account %s: deactivated\n", acct.url);
	rc = 0;
out:
	mc_acme_account_clear(&acct);
	mc_acme_free(acme);
	EVP_PKEY_free(key);
	return rc;
}

/* account_args - the subcommand; 0 ok, else the usage exit code. */
static int
account_args(int argc, char **argv, const char **sub)
{
	static const char *const subs[] = {"show", "register", "rollover",
					   "deactivate"};
	size_t i;

	*sub = NULL;
	for (i = 0; argc >= 2 && i < sizeof(subs) / sizeof(subs[0]); i++)
		if (strcmp(argv[1], subs[i]) == 0)
			*sub = subs[i];
	if (*sub == NULL ||
	    (argc != 2 && !(argc == 3 && strcmp(*sub, "deactivate") == 0 &&
			    strcmp(argv[2], "--yes") == 0)))
		return cli_usage_error(
		    "account",
		    "use: account show|register|rollover|deactivate [--yes]");
	return 0;
}

/* account_dispatch - run the subcommand sub. */
static int
account_dispatch(struct cli *cli, const struct mc_config *cfg,
		 const char *sub, struct mc_err *err)
{
	if (strcmp(sub, "rollover") == 0)
		return account_rollover(cli, cfg, err);
	if (strcmp(sub, "deactivate") == 0)
		return account_deactivate(cli, cfg, err);
	return account_run(cli, cfg, strcmp(sub, "register") == 0, err);
}

/* cli_cmd_account - `account show|register|rollover|deactivate [--yes]`. */
int
cli_cmd_account(struct cli *cli, int argc, char **argv)
{
	struct mc_config *cfg = NULL;
	struct mc_err err;
	const char *sub;
	int lock = -1, rc;

	mc_err_clear(&err);
	rc = account_args(argc, argv, &sub);
	if (rc != 0)
		return rc;
	if (cli_load_config(cli, &cfg, &err) == -1)
		goto fail;
	if (strcmp(sub, "deactivate") == 0 && argc != 3) {
		rc = cli_usage_error(
		    "account deactivate",
		    "this would permanently deactivate your ACME account at "
		    "%s: no certificate could be issued or revoked with it "
		    "again. Add --yes to do it",
		    cfg->directory);
		goto out;
	}
	if ((lock = mc_lock_take(cfg->state_dir, &err)) == -1 ||
	    account_dispatch(cli, cfg, sub, &err) == -1)
		goto fail;
	goto out;
fail:
	rc = cli_fail(&err);
out:
	mc_lock_release(lock);
	mc_config_free(cfg);
	return rc;
}
