/*
 * cmd_revoke.c - `mailcert revoke NAME [--reason R]`: revoke the current
 * certificate of NAME at the CA (RFC 8555 7.6) with the account key, and
 * mark its version "revoked" in meta.json.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/x509.h>

#include "cli.h"
#include "mailcert/lock.h"
#include "mailcert/store.h"

/* RFC 5280 CRLReason codes a subscriber may give. */
static const struct {
	const char *name;
	int code;
} revoke_reasons[] = {
	{"unspecified", 0},          {"keyCompromise", 1},
	{"affiliationChanged", 3},   {"superseded", 4},
	{"cessationOfOperation", 5},
};

#define N_REASONS (sizeof(revoke_reasons) / sizeof(revoke_reasons[0]))

/* revoke_reason - the code of a reason name, or -1. */
static int
revoke_reason(const char *name)
{
	size_t i;

	for (i = 0; i < N_REASONS; i++)
		if (strcmp(name, revoke_reasons[i].name) == 0)
			return (int)i;
	return -1;
}

/* revoke_args - NAME and --reason R; returns 0 or the usage exit code. */
static int
revoke_args(int argc, char **argv, const char **name, size_t *reason)
{
	int i, r;

	*name = NULL;
	*reason = 0;
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--reason") == 0) {
			if (i + 1 >= argc)
				return cli_usage_error("revoke",
						       "--reason needs a value");
			r = revoke_reason(argv[++i]);
			if (r < 0)
				return cli_usage_error(
				    "revoke",
				    "unknown reason \"%s\" (use unspecified, "
				    "keyCompromise, superseded, "
				    "cessationOfOperation or affiliationChanged)",
				    argv[i]);
			*reason = (size_t)r;
		} else if (argv[i][0] == '-' || *name != NULL) {
			return cli_usage_error("revoke", "unexpected \"%s\"",
					       argv[i]);
		} else {
			*name = argv[i];
		}
	}
	if (*name == NULL)
		return cli_usage_error("revoke", "name one cert");
	return 0;
}

/* revoke_print - the one line (or JSON object) about the revocation. */
static void
revoke_print(const struct cli *cli, const char *name,
	     const struct mc_cert_meta *meta, size_t reason)
{
	if (cli->json)
		cli_print_json(json_pack("{s:s, s:i, s:s, s:s, s:s}", "name",
					 name, "version", (int)meta->version,
					 "serial", meta->serial, "reason",
					 revoke_reasons[reason].name, "status",
					 "revoked"));
	else if (cli->verbosity >= 0)
		printf("%s: version %04u (serial %s) revoked at the CA, reason "
		       "%s\n",
		       name, meta->version, meta->serial,
		       revoke_reasons[reason].name);
}

/* revoke_current - revoke the current version of name and record it. */
static int
revoke_current(struct cli *cli, const struct mc_config *cfg, const char *name,
	       size_t reason, struct mc_err *err)
{
	struct mc_cert_meta meta = {0};
	STACK_OF(X509) *chain = NULL;
	struct mc_acme *acme = NULL;
	EVP_PKEY *key = NULL;
	unsigned cur = 0;
	int found, ret = -1;

	found = mc_store_current(cfg->state_dir, name, &cur, err);
	if (found == 0)
		mc_err_set(err, MC_ERR_USAGE,
			   "%s has no certificate to revoke", name);
	if (found != 1 ||
	    mc_store_load_meta(cfg->state_dir, name, cur, &meta, err) == -1 ||
	    (chain = mc_store_load_chain(cfg->state_dir, name, cur, err)) ==
		NULL ||
	    (acme = cli_account_open(cfg, false, &key, err)) == NULL)
		goto out;
	if (mc_acme_kid(acme) == NULL) {
		mc_err_set(err, MC_ERR_USAGE,
			   "no account at %s; run `mailcert account register`",
			   cfg->directory);
		goto out;
	}
	if (mc_acme_revoke(acme, sk_X509_value(chain, 0),
			   revoke_reasons[reason].code, err) == -1) {
		mc_err_prefix(err, "revoke %s version %04u", name, cur);
		goto out;
	}
	snprintf(meta.status, sizeof(meta.status), "%s", "revoked");
	if (mc_store_save_meta(cfg->state_dir, name, &meta, err) == -1) {
		mc_err_prefix(err, "%s version %04u IS revoked at the CA, but",
			      name, cur);
		goto out;
	}
	revoke_print(cli, name, &meta, reason);
	ret = 0;
out:
	mc_store_meta_clear(&meta);
	if (chain != NULL)
		sk_X509_pop_free(chain, X509_free);
	mc_acme_free(acme);
	EVP_PKEY_free(key);
	return ret;
}

/* cli_cmd_revoke - `revoke NAME [--reason R]`. */
int
cli_cmd_revoke(struct cli *cli, int argc, char **argv)
{
	struct mc_config *cfg = NULL;
	struct mc_err err;
	const char *name;
	size_t reason;
	int lock = -1, rc;

	mc_err_clear(&err);
	rc = revoke_args(argc, argv, &name, &reason);
	if (rc != 0)
		return rc;
	if (cli_load_config(cli, &cfg, &err) == -1)
		goto fail;
	if (mc_config_cert(cfg, name) == NULL) {
		mc_err_set(&err, MC_ERR_USAGE, "revoke: no [cert %s] in %s",
			   name, cfg->path);
		goto fail;
	}
	if ((lock = mc_lock_take(cfg->state_dir, &err)) == -1 ||
	    revoke_current(cli, cfg, name, reason, &err) == -1)
		goto fail;
	goto out;
fail:
	rc = cli_fail(&err);
out:
	mc_lock_release(lock);
	mc_config_free(cfg);
	return rc;
}
