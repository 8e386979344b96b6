/*
 * cmd_account.c - `mailcert account show|register`.
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

	acme = cli_account_open(cfg, do_register, &key, err);
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

/* cli_cmd_account - `account show|register`. */
int
cli_cmd_account(struct cli *cli, int argc, char **argv)
{
	struct mc_config *cfg = NULL;
	struct mc_err err;
	bool reg;
	int lock = -1, rc = 0;

	mc_err_clear(&err);
	if (argc != 2 || (strcmp(argv[1], "show") != 0 &&
			  strcmp(argv[1], "register") != 0))
		return cli_usage_error("account", "use: account show|register");
	reg = strcmp(argv[1], "register") == 0;
	if (cli_load_config(cli, &cfg, &err) == -1 ||
	    (lock = mc_lock_take(cfg->state_dir, &err)) == -1 ||
	    account_run(cli, cfg, reg, &err) == -1)
		rc = cli_fail(&err);
	mc_lock_release(lock);
	mc_config_free(cfg);
	return rc;
}
