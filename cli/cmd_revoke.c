/*
 * cmd_revoke.c - `mailcert revoke`: revoke certificates at the CA (RFC 8555
 * 7.6).
 *
 *   revoke NAME [--reason R] [--all-versions] [--with-cert-key]
 *   revoke --cert FILE --key FILE [--directory URL] [--ca-bundle FILE]
 *          [--reason R]
 *
 * NAME revokes the current version at the CA that issued it (meta.json's
 * directory), signed with that directory's account key, or with
 * --with-cert-key with the certificate's own key (no account needed);
 * --all-versions also revokes every other stored version with the same
 * public key (what reuse_key leaves behind), skipping expired ones. Each
 * revoked version is marked "revoked" in meta.json with its reason
 * ("revocation_reason", e.g. keyCompromise) and time ("revoked_at"), for
 * the renewal logic to act on. --cert/--key needs no configuration,
 * state or account: the directory is --directory, else the configuration's
 * (when one is named with -c or $MAILCERT_CONFIG, or the default exists),
 * else Let's Encrypt's; the CA file for the ACME server is --ca-bundle,
 * else the configuration's ca_bundle, else the system store. A default
 * configuration that does not load is ignored there (with a warning).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/x509.h>

#include "cli.h"
#include "mailcert/crypto.h"
#include "mailcert/lock.h"
#include "mailcert/log.h"
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

struct revoke_opts {
	const char *name;      /* NAME, or NULL with --cert */
	size_t reason;         /* index into revoke_reasons */
	bool all_versions;
	bool with_cert_key;
	const char *cert_file; /* --cert */
	const char *key_file;  /* --key */
	const char *directory; /* --directory */
	const char *ca_bundle; /* --ca-bundle */
};

/* One revocation run over the versions of a cert; one ACME client at a
 * time, reopened when a version comes from another directory. */
struct revoker {
	struct cli *cli;
	const struct mc_config *cfg;
	const struct revoke_opts *opts;
	struct mc_acme *acme;
	char *directory; /* of acme */
	EVP_PKEY *account_key;
	json_t *versions; /* --json --all-versions */
	int failed;
};

/* revoke_reason - the index of a reason name, or -1. */
static int
revoke_reason(const char *name)
{
	size_t i;

	for (i = 0; i < N_REASONS; i++)
		if (strcmp(name, revoke_reasons[i].name) == 0)
			return (int)i;
	return -1;
}

/* revoke_value - the value of option argv[*i] into *out; 0 or exit code. */
static int
revoke_value(int argc, char **argv, int *i, const char **out)
{
	if (*i + 1 >= argc)
		return cli_usage_error("revoke", "%s needs a value", argv[*i]);
	*out = argv[++*i];
	return 0;
}

/* revoke_option - one option at argv[*i]; 0 or the usage exit code. */
static int
revoke_option(int argc, char **argv, int *i, struct revoke_opts *o)
{
	const char *v = NULL;
	int rc = 0, r;

	if (strcmp(argv[*i], "--all-versions") == 0)
		o->all_versions = true;
	else if (strcmp(argv[*i], "--with-cert-key") == 0)
		o->with_cert_key = true;
	else if (strcmp(argv[*i], "--cert") == 0)
		rc = revoke_value(argc, argv, i, &o->cert_file);
	else if (strcmp(argv[*i], "--key") == 0)
		rc = revoke_value(argc, argv, i, &o->key_file);
	else if (strcmp(argv[*i], "--directory") == 0)
		rc = revoke_value(argc, argv, i, &o->directory);
	else if (strcmp(argv[*i], "--ca-bundle") == 0)
		rc = revoke_value(argc, argv, i, &o->ca_bundle);
	else if (strcmp(argv[*i], "--reason") == 0) {
		rc = revoke_value(argc, argv, i, &v);
		r = rc == 0 ? revoke_reason(v) : 0;
		if (r < 0)
			return cli_usage_error(
			    "revoke",
			    "unknown reason \"%s\" (use unspecified, "
			    "keyCompromise, superseded, cessationOfOperation "
			    "or affiliationChanged)",
			    v);
		o->reason = (size_t)r;
	} else
		return cli_usage_error("revoke", "unexpected \"%s\"", argv[*i]);
	return rc;
}

/* revoke_check_opts - the combinations that make sense. */
static int
revoke_check_opts(const struct revoke_opts *o)
{
	if (o->cert_file == NULL && o->key_file == NULL) {
		if (o->name == NULL)
			return cli_usage_error("revoke", "name one cert, or "
							 "give --cert FILE "
							 "--key FILE");
		if (o->directory != NULL || o->ca_bundle != NULL)
			return cli_usage_error(
			    "revoke", "--directory and --ca-bundle go with "
				      "--cert and --key; NAME is revoked at the "
				      "CA that issued it");
		return 0;
	}
	if (o->cert_file == NULL || o->key_file == NULL)
		return cli_usage_error("revoke",
				       "--cert and --key go together");
	if (o->name != NULL || o->all_versions || o->with_cert_key)
		return cli_usage_error(
		    "revoke", "--cert/--key revoke one certificate file with "
			      "its key; leave out NAME, --all-versions and "
			      "--with-cert-key");
	return 0;
}

/* revoke_args - parse argv into *o; 0 or the usage exit code. */
static int
revoke_args(int argc, char **argv, struct revoke_opts *o)
{
	int i, rc;

	memset(o, 0, sizeof(*o));
	for (i = 1; i < argc; i++) {
		if (argv[i][0] != '-') {
			if (o->name != NULL)
				return cli_usage_error(
				    "revoke", "unexpected \"%s\"", argv[i]);
			o->name = argv[i];
			continue;
		}
		rc = revoke_option(argc, argv, &i, o);
		if (rc != 0)
			return rc;
	}
	return revoke_check_opts(o);
}

/* revoke_print - one line (or JSON object) about one revoked version. */
static void
revoke_print(struct revoker *rv, const struct mc_cert_meta *meta,
	     const char *what, const char *error)
{
	const char *reason = revoke_reasons[rv->opts->reason].name;
	json_t *o;

	if (rv->cli->json) {
		o = json_pack("{s:s, s:i, s:s, s:s, s:s}", "name",
			      rv->opts->name, "version", (int)meta->version,
			      "serial", meta->serial, "reason", reason,
			      "status", what);
		if (o != NULL && error != NULL)
			json_object_set_new(o, "error", json_string(error));
		if (rv->versions != NULL)
			json_array_append_new(rv->versions, o);
		else
			cli_print_json(o);
		return;
	}
	if (rv->cli->verbosity < 0 || error != NULL)
		return;
	if (strcmp(what, "revoked") == 0)
		printf("%s: version %04u (serial %s) revoked at the CA, reason "
		       "%s\n",
		       rv->opts->name, meta->version, meta->serial, reason);
	else
		printf("%s: version %04u (serial %s): %s\n", rv->opts->name,
		       meta->version, meta->serial, what);
}

/* revoke_add_hint - append that --with-cert-key needs no account. */
static void
revoke_add_hint(const struct revoker *rv, struct mc_err *err)
{
	size_t n = strlen(err->msg);

	snprintf(err->msg + n, sizeof(err->msg) - n,
		 "; `mailcert revoke %s --with-cert-key` signs with the "
		 "certificate's key instead, without an account",
		 rv->opts->name);
}

/* revoke_client - rv->acme for directory (reused when it is the same);
 * with the account of that directory unless --with-cert-key. */
static int
revoke_client(struct revoker *rv, const char *directory, struct mc_err *err)
{
	struct mc_config dcfg = *rv->cfg;

	if (rv->acme != NULL && strcmp(rv->directory, directory) == 0)
		return 0;
	mc_acme_free(rv->acme);
	EVP_PKEY_free(rv->account_key);
	free(rv->directory);
	rv->acme = NULL;
	rv->account_key = NULL;
	rv->directory = strdup(directory);
	if (rv->directory == NULL)
		return mc_err_errno(err, MC_ERR_SYS, "out of memory");
	dcfg.directory = rv->directory;
	if (rv->opts->with_cert_key) {
		rv->acme = cli_acme_client(&dcfg, err);
		return rv->acme == NULL ? -1 : 0;
	}
	rv->acme = cli_account_open(&dcfg, false, &rv->account_key, err);
	if (rv->acme == NULL && err->cat == MC_ERR_USAGE)
		revoke_add_hint(rv, err);
	return rv->acme == NULL ? -1 : 0;
}

/* revoke_hint - after a failed account-signed revocation the CA blamed on
 * the account, point at the certificate key. */
static void
revoke_hint(const struct revoker *rv, struct mc_err *err)
{
	const char *p = mc_acme_last_problem(rv->acme);

	if (!rv->opts->with_cert_key && (strcmp(p, "unauthorized") == 0 ||
					 strcmp(p, "accountDoesNotExist") == 0))
		revoke_add_hint(rv, err);
}

/* revoke_send - revoke the leaves of version meta->version at its CA
 * (both of a dual version); *any: at least one was revoked (then the
 * version is marked revoked even when the other failed). */
static int
revoke_send(struct revoker *rv, const struct mc_cert_meta *meta, bool *any,
	    struct mc_err *err)
{
	const char *dir = meta->directory != NULL && meta->directory[0]
			      ? meta->directory
			      : rv->cfg->directory;
	struct mc_pairs pairs;
	size_t i;
	int rc = -1;

	*any = false;
	memset(&pairs, 0, sizeof(pairs));
	if (revoke_client(rv, dir, err) == -1 ||
	    (rv->opts->with_cert_key
		     ? mc_store_load_pairs(rv->cfg->state_dir, rv->opts->name,
					   meta->version, &pairs, err)
		     : mc_store_load_chains(rv->cfg->state_dir, rv->opts->name,
					    meta->version, &pairs, err)) == -1)
		return -1;
	for (i = 0, rc = 0; i < pairs.n && rc == 0; i++) {
		rc = mc_acme_revoke(rv->acme, sk_X509_value(pairs.p[i].chain, 0),
				    pairs.p[i].key,
				    revoke_reasons[rv->opts->reason].code, err);
		if (rc == 0)
			*any = true;
		else if (pairs.n > 1)
			mc_err_prefix(err, "the %s certificate%s",
				      mc_key_type_name(pairs.p[i].type),
				      *any ? " (the other one IS revoked)" : "");
	}
	if (rc == -1)
		revoke_hint(rv, err);
	mc_pairs_clear(&pairs);
	return rc;
}

/* revoke_mark - record the revocation in meta.json (status, reason, time). */
static int
revoke_mark(struct revoker *rv, struct mc_cert_meta *meta, struct mc_err *err)
{
	snprintf(meta->status, sizeof(meta->status), "%s", "revoked");
	snprintf(meta->revocation_reason, sizeof(meta->revocation_reason), "%s",
		 revoke_reasons[rv->opts->reason].name);
	meta->revoked_at = time(NULL);
	if (mc_store_save_meta(rv->cfg->state_dir, rv->opts->name, meta,
			       err) == -1)
		return mc_err_prefix(err, "%s version %04u IS revoked at the "
					  "CA, but",
				     rv->opts->name, meta->version);
	return 0;
}

/* revoke_version - revoke one version and record it; with --all-versions
 * an already revoked or expired version is reported, not an error. */
static int
revoke_version(struct revoker *rv, struct mc_cert_meta *meta,
	       struct mc_err *err)
{
	bool all = rv->opts->all_versions, any = false;
	struct mc_err mark;

	if (all && strcmp(meta->status, "revoked") == 0) {
		revoke_print(rv, meta, "already revoked", NULL);
		return 0;
	}
	if (all && meta->not_after <= time(NULL)) {
		revoke_print(rv, meta, "expired, not revoked", NULL);
		return 0;
	}
	if (revoke_send(rv, meta, &any, err) == -1) {
		if (any) /* half a unit is revoked: the unit is */
			revoke_mark(rv, meta, &mark);
		if (!all || rv->acme == NULL ||
		    strcmp(mc_acme_last_problem(rv->acme), "alreadyRevoked") !=
			0)
			return mc_err_prefix(err, "revoke %s version %04u",
					     rv->opts->name, meta->version);
		if (revoke_mark(rv, meta, err) == -1)
			return -1;
		revoke_print(rv, meta, "already revoked at the CA", NULL);
		return 0;
	}
	if (revoke_mark(rv, meta, err) == -1)
		return -1;
	revoke_print(rv, meta, "revoked", NULL);
	return 0;
}

/* revoke_same_key - whether version v of name has the public key of pub. */
static bool
revoke_same_key(const struct mc_config *cfg, const char *name, unsigned v,
		EVP_PKEY *pub)
{
	STACK_OF(X509) *chain = mc_store_load_chain(cfg->state_dir, name, v,
						    NULL);
	bool same = chain != NULL &&
		    EVP_PKEY_eq(X509_get0_pubkey(sk_X509_value(chain, 0)),
				pub) == 1;

	if (chain != NULL)
		sk_X509_pop_free(chain, X509_free);
	return same;
}

/* revoke_one_of - revoke version v (a failure is printed and counted when
 * more versions follow). */
static void
revoke_one_of(struct revoker *rv, unsigned v, struct mc_err *first)
{
	struct mc_cert_meta meta = {0};
	struct mc_err err;

	mc_err_clear(&err);
	if (mc_store_load_meta(rv->cfg->state_dir, rv->opts->name, v, &meta,
			       &err) == 0 &&
	    revoke_version(rv, &meta, &err) == 0) {
		mc_store_meta_clear(&meta);
		return;
	}
	if (rv->failed++ == 0)
		*first = err;
	if (!rv->cli->json)
		fprintf(stderr, "mailcert: %s\n", err.msg);
	revoke_print(rv, &meta, "failed", err.msg);
	mc_store_meta_clear(&meta);
}

/* revoke_all - every stored version with the current version's key. */
static int
revoke_all(struct revoker *rv, unsigned cur, struct mc_err *err)
{
	const struct mc_config *cfg = rv->cfg;
	STACK_OF(X509) *chain;
	EVP_PKEY *pub;
	unsigned last = 0, v, tried = 0;

	chain = mc_store_load_chain(cfg->state_dir, rv->opts->name, cur, err);
	if (chain == NULL ||
	    mc_store_last_version(cfg->state_dir, rv->opts->name, &last,
				  err) == -1) {
		if (chain != NULL)
			sk_X509_pop_free(chain, X509_free);
		return -1;
	}
	pub = X509_get0_pubkey(sk_X509_value(chain, 0));
	for (v = 1; v <= last; v++)
		if (v == cur || revoke_same_key(cfg, rv->opts->name, v, pub)) {
			tried++;
			revoke_one_of(rv, v, err);
		}
	sk_X509_pop_free(chain, X509_free);
	if (rv->cli->json)
		cli_print_json(json_pack(
		    "{s:s, s:s, s:O}", "name", rv->opts->name, "reason",
		    revoke_reasons[rv->opts->reason].name, "versions",
		    rv->versions));
	if (rv->failed == 0)
		return 0;
	return mc_err_set(err, err->cat,
			  "revoke %s: %d of %u versions with this key could "
			  "not be revoked (see above)",
			  rv->opts->name, rv->failed, tried);
}

/* revoke_named - revoke NAME's current version (or all with its key). */
static int
revoke_named(struct cli *cli, const struct mc_config *cfg,
	     const struct revoke_opts *opts, struct mc_err *err)
{
	struct revoker rv = {cli, cfg, opts, NULL, NULL, NULL, NULL, 0};
	struct mc_cert_meta meta = {0};
	unsigned cur = 0;
	int found, ret = -1;

	found = mc_store_current(cfg->state_dir, opts->name, &cur, err);
	if (found == 0)
		mc_err_set(err, MC_ERR_USAGE,
			   "%s has no certificate to revoke", opts->name);
	if (found != 1)
		return -1;
	if (opts->all_versions) {
		rv.versions = json_array();
		ret = revoke_all(&rv, cur, err);
	} else if (mc_store_load_meta(cfg->state_dir, opts->name, cur, &meta,
				      err) == 0) {
		ret = revoke_version(&rv, &meta, err);
	}
	mc_store_meta_clear(&meta);
	json_decref(rv.versions);
	mc_acme_free(rv.acme);
	EVP_PKEY_free(rv.account_key);
	free(rv.directory);
	return ret;
}

/* revoke_load_cert - the first certificate of a PEM file (new reference). */
static X509 *
revoke_load_cert(const char *path, struct mc_err *err)
{
	STACK_OF(X509) *chain = mc_x509_chain_load(path, err);
	X509 *leaf;

	if (chain == NULL)
		return NULL;
	leaf = sk_X509_shift(chain);
	sk_X509_pop_free(chain, X509_free);
	return leaf;
}

/* revoke_files_config - the configuration when one is named (-c,
 * $MAILCERT_CONFIG) or the default exists; *cfg stays NULL otherwise. */
static int
revoke_files_config(struct cli *cli, struct mc_config **cfg,
		    struct mc_err *err)
{
	const char *env = getenv("MAILCERT_CONFIG");
	struct mc_err ignored;

	*cfg = NULL;
	if (cli->config_path != NULL || (env != NULL && env[0] != '\0'))
		return cli_load_config(cli, cfg, err);
	if (access(MC_CONFIG_DEFAULT_PATH, F_OK) != 0)
		return 0;
	mc_err_clear(&ignored);
	if (cli_load_config(cli, cfg, &ignored) == -1)
		mc_log_warn("ignoring %s: %s", MC_CONFIG_DEFAULT_PATH,
			    ignored.msg);
	return 0;
}

/* revoke_files_print - the line (or JSON) about a revoked file. */
static void
revoke_files_print(const struct cli *cli, const char *directory, X509 *cert,
		   const struct revoke_opts *opts)
{
	struct mc_x509_info info;
	const char *reason = revoke_reasons[opts->reason].name;

	if (mc_x509_info(cert, &info, NULL) == -1)
		snprintf(info.serial, sizeof(info.serial), "?");
	if (cli->json)
		cli_print_json(json_pack("{s:s, s:s, s:s, s:s, s:s}", "cert",
					 opts->cert_file, "serial", info.serial,
					 "directory", directory, "reason",
					 reason, "status", "revoked"));
	else if (cli->verbosity >= 0)
		printf("%s (serial %s) revoked at %s, reason %s\n",
		       opts->cert_file, info.serial, directory, reason);
}

/* revoke_files - `revoke --cert FILE --key FILE [--directory URL]`. */
static int
revoke_files(struct cli *cli, const struct revoke_opts *opts,
	     struct mc_err *err)
{
	struct mc_config *cfg = NULL;
	struct mc_acme_opts aopts = {NULL, NULL, 0, 0, 0};
	struct mc_acme *acme = NULL;
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	int ret = -1;

	if (revoke_files_config(cli, &cfg, err) == -1 ||
	    (cert = revoke_load_cert(opts->cert_file, err)) == NULL ||
	    (key = mc_key_load(opts->key_file, err)) == NULL)
		goto out;
	aopts.directory = opts->directory != NULL ? opts->directory
			  : cfg != NULL	      ? cfg->directory
						      : MC_CONFIG_DEFAULT_DIRECTORY;
	aopts.ca_bundle = opts->ca_bundle != NULL ? opts->ca_bundle
			  : cfg != NULL		  ? cfg->ca_bundle
						  : NULL;
	acme = mc_acme_new(&aopts, err);
	if (acme == NULL ||
	    mc_acme_revoke(acme, cert, key, revoke_reasons[opts->reason].code,
			   err) == -1) {
		mc_err_prefix(err, "revoke %s", opts->cert_file);
		goto out;
	}
	revoke_files_print(cli, aopts.directory, cert, opts);
	ret = 0;
out:
	mc_acme_free(acme);
	EVP_PKEY_free(key);
	X509_free(cert);
	mc_config_free(cfg);
	return ret;
}

/* cli_cmd_revoke - `revoke NAME ...` or `revoke --cert FILE --key FILE`. */
int
cli_cmd_revoke(struct cli *cli, int argc, char **argv)
{
	struct mc_config *cfg = NULL;
	struct revoke_opts opts;
	struct mc_err err;
	int lock = -1, rc;

	mc_err_clear(&err);
	rc = revoke_args(argc, argv, &opts);
	if (rc != 0)
		return rc;
	if (opts.cert_file != NULL)
		return revoke_files(cli, &opts, &err) == -1 ? cli_fail(&err) : 0;
	if (cli_load_config(cli, &cfg, &err) == -1)
		goto fail;
	if (mc_config_cert(cfg, opts.name) == NULL) {
		mc_err_set(&err, MC_ERR_USAGE, "revoke: no [cert %s] in %s",
			   opts.name, cfg->path);
		goto fail;
	}
	if ((lock = mc_lock_take(cfg->state_dir, &err)) == -1 ||
	    revoke_named(cli, cfg, &opts, &err) == -1)
		goto fail;
	goto out;
fail:
	rc = cli_fail(&err);
out:
	mc_lock_release(lock);
	mc_config_free(cfg);
	return rc;
}
