/*
 * cmd_issue.c - `mailcert issue NAME... | --all`: obtain a certificate now
 * for each named cert, check it, and store it as the new current version.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "cli.h"
#include "mailcert/crypto.h"
#include "mailcert/lock.h"
#include "mailcert/log.h"
#include "mailcert/store.h"

struct issue_run {
	struct cli *cli;
	const struct mc_config *cfg;
	struct mc_acme *acme;
	json_t *results; /* --json: array of per-cert objects */
};

/* issue_key - the current key (reuse_key, same type) or a new one. */
static EVP_PKEY *
issue_key(const struct mc_config *cfg, const struct mc_cert_conf *cc,
	  struct mc_err *err)
{
	unsigned cur;
	EVP_PKEY *key;

	if (cc->reuse_key &&
	    mc_store_current(cfg->state_dir, cc->name, &cur, NULL) == 1) {
		key = mc_store_load_key(cfg->state_dir, cc->name, cur, err);
		if (key == NULL)
			return NULL;
		if (mc_key_type_of(key) == (int)cc->key_type)
			return key;
		mc_log_info("%s: key_type changed; generating a new key",
			    cc->name);
		EVP_PKEY_free(key);
	}
	return mc_key_generate(cc->key_type, err);
}

/* issue_order - run the ACME order for cc with key; fills *cert. */
static int
issue_order(struct issue_run *run, const struct mc_cert_conf *cc, EVP_PKEY *key,
	    struct mc_acme_cert *cert, struct mc_err *err)
{
	struct mc_acme_challenge_conf chall = {
		cc->challenge,	    cc->http_listen, cc->webroot,
		cc->tls_alpn_listen, cc->dns_hook,    0,
		cc->timing.hook_timeout,
	};
	struct mc_acme_order_req req = {
		(const char *const *)cc->names, cc->n_names, key, &chall,
		cc->preferred_chain, NULL, 0,
	};

	return mc_acme_order(run->acme, &req, cert, err);
}

/* issue_store - check the chain and store it as the new current version. */
static int
issue_store(struct issue_run *run, const struct mc_cert_conf *cc, EVP_PKEY *key,
	    const struct mc_acme_cert *cert, struct mc_cert_meta *meta,
	    struct mc_err *err)
{
	STACK_OF(X509) *chain;
	int rc = -1;

	chain = mc_x509_chain_parse(cert->chain_pem, cert->chain_len, err);
	if (chain == NULL)
		return mc_err_prefix(err, "certificate from %s", cert->cert_url);
	if (mc_x509_check_issued(chain, key, (const char *const *)cc->names,
				 cc->n_names, time(NULL), err) == -1) {
		mc_err_prefix(err, "certificate from %s refused, nothing "
				   "stored",
			      cert->cert_url);
		goto out;
	}
	meta->names = cc->names;
	meta->n_names = cc->n_names;
	meta->key_type = cc->key_type;
	meta->issued_at = time(NULL);
	meta->directory = run->cfg->directory;
	meta->order_url = cert->order_url;
	meta->cert_url = cert->cert_url;
	snprintf(meta->status, sizeof(meta->status), "issued");
	if (mc_store_meta_fill(meta, chain, err) == -1 ||
	    mc_store_add_version(run->cfg->state_dir, cc->name, key, chain,
				 meta, &meta->version, err) == -1)
		goto out;
	rc = 0;
out:
	sk_X509_pop_free(chain, X509_free);
	return rc;
}

/* issue_report - one line (or one JSON object) about an issued cert. */
static void
issue_report(struct issue_run *run, const struct mc_cert_conf *cc,
	     const struct mc_cert_meta *meta, const struct mc_err *err)
{
	char when[64];
	json_t *o;

	if (run->results != NULL) {
		o = json_array_get(run->results,
				   json_array_size(run->results) - 1);
		if (err != NULL && o != NULL &&
		    strcmp(json_string_value(json_object_get(o, "name")),
			   cc->name) == 0) {
			json_object_set_new(o, "ok", json_false());
			json_object_set_new(o, "error", json_string(err->msg));
			return;
		}
		o = json_pack("{s:s, s:b}", "name", cc->name, "ok", err == NULL);
		if (o != NULL && err != NULL)
			json_object_set_new(o, "error", json_string(err->msg));
		if (o != NULL && err == NULL) {
			json_object_set_new(o, "version",
					    json_integer(meta->version));
			json_object_set_new(o, "serial",
					    json_string(meta->serial));
			json_object_set_new(o, "not_after",
					    json_integer(meta->not_after));
		}
		json_array_append_new(run->results, o);
		return;
	}
	if (err != NULL)
		return;
	cli_format_time(meta->not_after, when, sizeof(when));
	printf("%s: issued version %04u, serial %s, valid until %s\n",
	       cc->name, meta->version, meta->serial, when);
}

/* issue_activate - make a stored version current: through the deploy
 * pipeline when the cert has targets or verify endpoints, else directly. */
static int
issue_activate(struct issue_run *run, const struct mc_cert_conf *cc,
	       unsigned version, struct mc_err *err)
{
	unsigned prev = 0;

	if (cc->n_targets == 0 && cc->n_verify == 0)
		return mc_store_set_current(run->cfg->state_dir, cc->name,
					    version, err);
	if (mc_store_previous(run->cfg->state_dir, cc->name, version, &prev,
			      err) == -1)
		return -1;
	return cli_deploy_run(run->cli, run->cfg, cc, version, prev,
			      run->results ? json_array_get(run->results,
							    json_array_size(run->results) - 1)
					   : NULL,
			      err);
}

/* issue_one - issue and store one cert. */
static int
issue_one(struct issue_run *run, const struct mc_cert_conf *cc,
	  struct mc_err *err)
{
	struct mc_acme_cert cert = {0};
	struct mc_cert_meta meta;
	EVP_PKEY *key;
	int rc = -1;

	memset(&meta, 0, sizeof(meta));
	mc_log_info("%s: ordering a %s certificate for %zu name(s) with %s",
		    cc->name, mc_key_type_name(cc->key_type), cc->n_names,
		    mc_challenge_name(cc->challenge));
	key = issue_key(run->cfg, cc, err);
	if (key == NULL || issue_order(run, cc, key, &cert, err) == -1 ||
	    issue_store(run, cc, key, &cert, &meta, err) == -1) {
		mc_err_prefix(err, "issue %s", cc->name);
		goto out;
	}
	mc_log_info("%s: stored version %04u (serial %s)", cc->name,
		    meta.version, meta.serial);
	issue_report(run, cc, &meta, NULL);
	rc = issue_activate(run, cc, meta.version, err);
out:
	free(meta.ari_cert_id); /* the only member meta owns here */
	mc_acme_cert_clear(&cert);
	EVP_PKEY_free(key);
	return rc;
}

/* issue_select - the certs named on the command line (or all). */
static int
issue_select(const struct mc_config *cfg, int argc, char **argv,
	     const struct mc_cert_conf ***out, size_t *n, struct mc_err *err)
{
	const struct mc_cert_conf **sel;
	bool all = argc == 2 && strcmp(argv[1], "--all") == 0;
	size_t count = all ? cfg->n_certs : (size_t)(argc - 1), i;

	if (count == 0)
		return mc_err_set(err, MC_ERR_USAGE,
				  all ? "no [cert] section in %s"
				      : "issue: name a cert, or use --all (%s)",
				  cfg->path);
	sel = calloc(count, sizeof(*sel));
	if (sel == NULL)
		return mc_err_errno(err, MC_ERR_SYS, "out of memory");
	for (i = 0; i < count; i++) {
		sel[i] = all ? &cfg->certs[i] : mc_config_cert(cfg, argv[i + 1]);
		if (sel[i] == NULL) {
			free(sel);
			return mc_err_set(err, MC_ERR_USAGE,
					  "issue: no [cert %s] in %s",
					  argv[i + 1], cfg->path);
		}
	}
	*out = sel;
	*n = count;
	return 0;
}

/* issue_all - issue every selected cert; the first error is kept. */
static int
issue_all(struct issue_run *run, const struct mc_cert_conf **sel, size_t n,
	  struct mc_err *err)
{
	struct mc_err one;
	size_t i;
	int failed = 0;

	for (i = 0; i < n; i++) {
		mc_err_clear(&one);
		if (issue_one(run, sel[i], &one) == -1) {
			if (!failed)
				*err = one;
			failed = 1;
			if (run->results == NULL)
				fprintf(stderr, "mailcert: %s\n", one.msg);
			issue_report(run, sel[i], NULL, &one);
		}
	}
	return failed ? -1 : 0;
}

/* issue_print_json - the --json document on stdout. */
static void
issue_print_json(json_t *results)
{
	char *text = json_dumps(results, JSON_INDENT(2));

	if (text != NULL)
		printf("%s\n", text);
	free(text);
}

/* cli_cmd_issue - `issue NAME... | --all`. */
int
cli_cmd_issue(struct cli *cli, int argc, char **argv)
{
	struct mc_config *cfg = NULL;
	const struct mc_cert_conf **sel = NULL;
	struct issue_run run = {NULL, NULL, NULL, NULL};
	struct mc_err err;
	EVP_PKEY *account_key = NULL;
	size_t n = 0;
	int lock = -1, rc;

	mc_err_clear(&err);
	if (argc < 2)
		return cli_usage_error("issue", "name a cert, or use --all");
	if (cli_load_config(cli, &cfg, &err) == -1 ||
	    issue_select(cfg, argc, argv, &sel, &n, &err) == -1 ||
	    (lock = mc_lock_take(cfg->state_dir, &err)) == -1)
		goto fail;
	run.cli = cli;
	run.cfg = cfg;
	run.results = cli->json ? json_array() : NULL;
	run.acme = cli_account_open(cfg, true, &account_key, &err);
	if (run.acme == NULL)
		goto fail;
	rc = issue_all(&run, sel, n, &err) == -1 ? mc_err_exit_code(err.cat) : 0;
	goto out;
fail:
	rc = cli_fail(&err);
out:
	if (run.results != NULL)
		issue_print_json(run.results);
	json_decref(run.results);
	mc_acme_free(run.acme);
	EVP_PKEY_free(account_key);
	mc_lock_release(lock);
	free(sel);
	mc_config_free(cfg);
	return rc;
}
