/*
 * run.c - the issuance engine shared by `issue` and `renew`: for each cert,
 * order -> check -> store -> deploy -> reload -> verify, with the hooks
 * around it. The ACME client is opened on first use only, so a renew run
 * with nothing due makes no network request.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "cli.h"
#include "mailcert/buf.h"
#include "mailcert/crypto.h"
#include "mailcert/dane.h"
#include "mailcert/hooks.h"
#include "mailcert/log.h"
#include "mailcert/store.h"

/* cli_run_client - open the ACME client (directory only) on first use. */
int
cli_run_client(struct cli_run *run, struct mc_err *err)
{
	if (run->acme == NULL)
		run->acme = cli_acme_client(run->cfg, err);
	return run->acme == NULL ? -1 : 0;
}

/* cli_run_acme - the client plus the account, on first use. */
int
cli_run_acme(struct cli_run *run, struct mc_err *err)
{
	if (cli_run_client(run, err) == -1)
		return -1;
	if (run->account_key != NULL)
		return 0;
	return cli_account_attach(run->cfg, run->acme, true, &run->account_key,
				  err);
}

/* issue_key_compromised - whether key was revoked for keyCompromise in any
 * version of cc (unreadable state counts as compromised: a new key is
 * always safe). */
static bool
issue_key_compromised(const struct mc_config *cfg,
		      const struct mc_cert_conf *cc, EVP_PKEY *key)
{
	char spki[65];

	if (mc_key_spki_sha256(key, spki, NULL) == -1)
		return true;
	return mc_store_key_compromised(cfg->state_dir, cc->name, spki,
					NULL) != 0;
}

/* issue_key - the current key (reuse_key, same type) or a new one. */
static EVP_PKEY *
issue_key(const struct mc_config *cfg, const struct mc_cert_conf *cc,
	  struct mc_err *err)
{
	unsigned cur;
	EVP_PKEY *key;

	if (cc->n_tlsa > 0) /* DANE: the next key only once DNS pins it */
		return mc_dane_renewal_key(cfg, cc, err);
	if (cc->reuse_key &&
	    mc_store_current(cfg->state_dir, cc->name, &cur, NULL) == 1) {
		key = mc_store_load_key(cfg->state_dir, cc->name, cur, err);
		if (key == NULL)
			return NULL;
		if (issue_key_compromised(cfg, cc, key))
			mc_log_info("%s: the key was revoked for "
				    "keyCompromise; generating a new key",
				    cc->name);
		else if (mc_key_type_of(key) == (int)cc->key_type)
			return key;
		else
			mc_log_info("%s: key_type changed; generating a new "
				    "key",
				    cc->name);
		EVP_PKEY_free(key);
	}
	return mc_key_generate(cc->key_type, err);
}

/* issue_order - run the ACME order for cc with key; fills *cert. */
static int
issue_order(struct cli_run *run, const struct mc_cert_conf *cc, EVP_PKEY *key,
	    struct mc_acme_cert *cert, struct mc_err *err)
{
	struct mc_acme_challenge_conf chall = {
		cc->challenge,	    cc->http_listen, cc->webroot,
		cc->tls_alpn_listen, cc->dns_hook,    cc->dns_wait,
		cc->timing.hook_timeout, run->cfg->nsupdate_server,
		run->cfg->nsupdate_key,
	};
	struct mc_acme_order_req req = {
		(const char *const *)cc->names, cc->n_names, key, &chall,
		cc->preferred_chain, run->replaces, cc->order_timeout, cc->profile,
	};

	return mc_acme_order(run->acme, &req, cert, err);
}

/* issue_store - check the chain and store it as the new current version. */
static int
issue_store(struct cli_run *run, const struct mc_cert_conf *cc, EVP_PKEY *key,
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
	if (mc_acme_has_renewal_info(run->acme))
		meta->ari_next_poll = meta->issued_at; /* poll at the next run */
	if (mc_store_meta_fill(meta, chain, err) == -1 ||
	    cli_fleet_store(run, cc, key, chain, meta, err) == -1 ||
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
issue_report(struct cli_run *run, const struct mc_cert_conf *cc,
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
			json_object_set_new(o, "renewed", json_true());
		}
		json_array_append_new(run->results, o);
		return;
	}
	if (err != NULL)
		return;
	cli_format_time(meta->not_after, when, sizeof(when));
	if (run->dry != NULL)
		printf("%s: dry run: the staging CA issued serial %s, valid "
		       "until %s\n",
		       cc->name, meta->serial, when);
	else
		printf("%s: issued version %04u, serial %s, valid until %s\n",
		       cc->name, meta->version, meta->serial, when);
}

/* issue_activate - make a stored version current: through the deploy
 * pipeline when the cert has targets or verify endpoints, else directly. */
static int
issue_activate(struct cli_run *run, const struct mc_cert_conf *cc,
	       unsigned version, struct mc_err *err)
{
	unsigned prev = 0;

	if (run->dry != NULL) {
		cli_dry_report(run, cc, version);
		return 0;
	}
	if (run->no_deploy) {
		if (run->results == NULL && run->cli->verbosity >= 0)
			printf("%s: version %04u stored, not deployed "
			       "(--no-deploy)\n",
			       cc->name, version);
		return 0;
	}
	/* roll back only to what was live: the version current until now */
	if (mc_store_current(run->cfg->state_dir, cc->name, &prev, err) == -1)
		return -1;
	if (cc->n_targets == 0 && cc->n_verify == 0) {
		if (mc_store_set_current(run->cfg->state_dir, cc->name, version,
					 err) == -1)
			return -1;
		cli_deploy_prune(run->cfg, cc, version, prev);
		return 0;
	}
	return cli_deploy_run(run->cli, run->cfg, cc, version, prev,
			      run->results ? json_array_get(run->results,
							    json_array_size(run->results) - 1)
					   : NULL,
			      err);
}

/* run_dane_after_live - a verified switch to the next key makes a new one;
 * a failure there is logged, the deployment stands. */
static void
run_dane_after_live(struct cli_run *run, const struct mc_cert_conf *cc,
		    unsigned version)
{
	struct mc_err e;

	mc_err_clear(&e);
	if (cc->n_tlsa > 0 &&
	    mc_dane_after_live(run->cfg, cc, version, &e) == -1)
		mc_log_error("%s: DANE: %s", cc->name, e.msg);
}

/* issue_one - issue and store one cert. */
static int
issue_one(struct cli_run *run, const struct mc_cert_conf *cc,
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
	cli_log_idn(cc);
	key = issue_key(run->cfg, cc, err);
	if (key == NULL || cli_run_acme(run, err) == -1 ||
	    cli_fleet_ready(run, err) == -1 ||
	    issue_order(run, cc, key, &cert, err) == -1 ||
	    issue_store(run, cc, key, &cert, &meta, err) == -1) {
		mc_err_prefix(err, "issue %s", cc->name);
		goto out;
	}
	mc_log_info("%s: stored version %04u (serial %s)", cc->name,
		    meta.version, meta.serial);
	run->version = meta.version;
	issue_report(run, cc, &meta, NULL);
	rc = issue_activate(run, cc, meta.version, err);
	cli_fleet_record(run, cc, meta.version, rc, err);
	if (rc == 0)
		run_dane_after_live(run, cc, meta.version);
out:
	free(meta.ari_cert_id); /* the only member meta owns here */
	mc_acme_cert_clear(&cert);
	EVP_PKEY_free(key);
	return rc;
}


/* run_lineage - "state_dir/certs/NAME/current" into buf. */
static void
run_lineage(const struct cli_run *run, const struct mc_cert_conf *cc,
	    char *buf, size_t size)
{
	snprintf(buf, size, "%s/certs/%s/current", run->cfg->state_dir,
		 cc->name);
}

/* run_hooks - run the event's hooks (for deploy also the cert's
 * deploy_hook); failures are counted, never fatal. A dry run runs none. */
static void
run_hooks(struct cli_run *run, const char *event,
	  const struct mc_cert_conf *cc, const char *error)
{
	char lineage[4200];
	struct mc_err err;
	int failed;

	if (run->dry != NULL)
		return;
	if (cc != NULL)
		run_lineage(run, cc, lineage, sizeof(lineage));
	mc_err_clear(&err);
	failed = mc_hooks_run_cert_event(
		run->cfg->hooks_dir, event, cc, cc ? lineage : NULL, error,
		cc ? cc->timing.hook_timeout : run->cfg->timing.hook_timeout,
		&err);
	if (failed != 0)
		run->hook_failures += failed < 0 ? 1 : failed;
}

/* run_record - the attempt in the cert's last.json (not for dry runs). */
static void
run_record(struct cli_run *run, const struct mc_cert_conf *cc,
	   const struct mc_err *failure)
{
	if (run->dry == NULL)
		cli_last_attempt(run->cfg, cc->name,
				 run->command ? run->command : "issue",
				 run->version, failure);
}

/* run_failure - record, print and hook the failure of one cert. */
static void
run_failure(struct cli_run *run, const struct mc_cert_conf *cc,
	    const struct mc_err *one)
{
	if (run->failed++ == 0)
		run->first_err = *one;
	run_record(run, cc, one);
	if (run->results == NULL)
		fprintf(stderr, "mailcert: %s\n", one->msg);
	else
		issue_report(run, cc, NULL, one);
	if (!mc_log_is_stderr())
		mc_log_error("%s", one->msg);
	run_hooks(run, "failure", cc, one->msg);
}

/* cli_run_cert - obtain, store, deploy and verify one cert, with hooks:
 * pre before the first attempt of the run, deploy after a verified
 * deployment, failure after a failed attempt. */
int
cli_run_cert(struct cli_run *run, const struct mc_cert_conf *cc)
{
	struct mc_err one;

	if (!run->pre_done) {
		run->pre_done = true;
		run_hooks(run, "pre", NULL, NULL);
	}
	mc_err_clear(&one);
	run->version = 0;
	if (issue_one(run, cc, &one) == 0) {
		run->renewed++;
		run_record(run, cc, NULL);
		if (!run->no_deploy)
			run_hooks(run, "deploy", cc, NULL);
		return 0;
	}
	run_failure(run, cc, &one);
	return -1;
}

/* run_converge_report - print (or add to the JSON results) what
 * convergence did, when it did anything. */
static void
run_converge_report(struct cli_run *run, const struct mc_cert_conf *cc,
		    const struct mc_converge_report *rep, bool ok)
{
	json_t *o;

	if (!cli_converge_eventful(rep))
		return;
	if (run->results != NULL) {
		o = json_pack("{s:s, s:b}", "name", cc->name, "ok", ok);
		if (o != NULL)
			json_object_set_new(o, "converge",
					    cli_converge_json(rep));
		json_array_append_new(run->results, o);
	} else if (run->cli->verbosity >= 0) {
		cli_converge_text(cc->name, rep);
	}
}

/* cli_run_converge - finish, repair and clean up before anything else. */
int
cli_run_converge(struct cli_run *run, const struct mc_cert_conf *cc,
		 enum mc_converge_mode mode, bool *stop)
{
	struct mc_converge_report rep;
	struct mc_err err;
	int rc;

	*stop = false;
	if (run->dry != NULL)
		return 0; /* a dry run changes nothing: not even this */
	mc_err_clear(&err);
	rc = mc_deploy_converge(run->cfg, cc, mode, run->interrupted, &rep,
				&err);
	*stop = rep.stop;
	run_converge_report(run, cc, &rep, rc == 0);
	run->version = rep.deployed_version;
	if (rep.deployed) {
		run->cli->hook_failures += rep.deploy.hook_failures;
		cli_last_deploy(run->cfg, cc, &rep.deploy, rc);
	}
	if (rc == -1)
		run_failure(run, cc, &err);
	else if (rep.deployed)
		run_hooks(run, "deploy", cc, NULL);
	run->version = 0;
	mc_converge_report_clear(&rep);
	return rc;
}

/* cli_run_finish - post hooks after every run that ran pre, whatever its
 * result (a service stopped in pre is started again); the metrics file;
 * the exit code of the run. */
int
cli_run_finish(struct cli_run *run)
{
	int hooks;

	if (run->pre_done)
		run_hooks(run, "post", NULL, NULL);
	if (run->dry == NULL)
		cli_metrics_update(run->cfg);
	if (run->results != NULL)
		cli_print_json(json_incref(run->results));
	if (run->failed > 0)
		return mc_err_exit_code(run->first_err.cat);
	hooks = run->hook_failures + run->cli->hook_failures;
	if (hooks > 0) {
		fprintf(stderr, "mailcert: %d hook(s) failed; the deployment "
				"stays (see the log)\n",
			hooks);
		return 1;
	}
	return 0;
}

/* cli_run_free - release what the run holds. */
void
cli_run_free(struct cli_run *run)
{
	cli_fleet_close(run);
	json_decref(run->results);
	mc_acme_free(run->acme);
	EVP_PKEY_free(run->account_key);
	memset(run, 0, sizeof(*run));
}
