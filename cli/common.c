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

/* account_key - load the account key, or create and save a new one. */
static EVP_PKEY *
account_key(const struct mc_config *cfg, bool create, char **kid,
	    struct mc_err *err)
{
	EVP_PKEY *key = NULL;
	char fp[65];
	int found;

	found = mc_store_account_load(cfg->state_dir, cfg->directory, &key, kid,
				      err);
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
	key = mc_key_generate(MC_KEY_EC_P256, err);
	if (key == NULL ||
	    mc_store_account_save_key(cfg->state_dir, cfg->directory, key,
				      err) == -1) {
		EVP_PKEY_free(key);
		return NULL;
	}
	if (mc_key_spki_sha256(key, fp, NULL) == 0)
		mc_log_info("created a new account key (SPKI SHA-256 %s)", fp);
	return key;
}

/* account_register - newAccount and save account.json. */
static int
account_register(const struct mc_config *cfg, struct mc_acme *acme,
		 struct mc_err *err)
{
	struct mc_acme_new_account req = {cfg->contact, cfg->eab_kid,
					  cfg->eab_hmac_key, false};
	struct mc_acme_account acct = {0};
	int rc;

	if (mc_acme_account_new(acme, &req, &acct, err) == -1)
		return mc_err_prefix(err, "account");
	rc = mc_store_account_save(cfg->state_dir, cfg->directory, acct.url,
				   acct.status,
				   (const char *const *)acct.contact,
				   acct.n_contact, err);
	if (rc == 0)
		mc_log_info("account %s is %s", acct.url,
			    acct.status ? acct.status : "registered");
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

/* cli_account_attach - load (or create) the account key into acme and,
 * when do_register is true, register the account if it has no URL yet. */
int
cli_account_attach(const struct mc_config *cfg, struct mc_acme *acme,
		   bool do_register, EVP_PKEY **key, struct mc_err *err)
{
	EVP_PKEY *k = NULL;
	char *kid = NULL;

	k = account_key(cfg, do_register, &kid, err);
	if (k == NULL)
		goto fail;
	mc_acme_set_key(acme, k);
	if (kid != NULL && mc_acme_set_kid(acme, kid, err) == -1)
		goto fail;
	if (kid == NULL && do_register && account_register(cfg, acme, err) == -1)
		goto fail;
	free(kid);
	*key = k;
	return 0;
fail:
	mc_acme_set_key(acme, NULL);
	free(kid);
	EVP_PKEY_free(k);
	return -1;
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
