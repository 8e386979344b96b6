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
#include "mailcert/interrupt.h"
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

/* issue_current_key - the current version's key of type (reuse_key),
 * unless it was revoked for keyCompromise; NULL when there is none. */
static EVP_PKEY *
issue_current_key(const struct mc_config *cfg, const struct mc_cert_conf *cc,
		  enum mc_key_type type)
{
	struct mc_pairs pairs;
	EVP_PKEY *key = NULL;
	unsigned cur;
	size_t i;

	memset(&pairs, 0, sizeof(pairs));
	if (mc_store_current(cfg->state_dir, cc->name, &cur, NULL) != 1 ||
	    mc_store_load_pairs(cfg->state_dir, cc->name, cur, &pairs, NULL) == -1)
		return NULL;
	for (i = 0; i < pairs.n && key == NULL; i++)
		if (mc_key_type_of(pairs.p[i].key) == (int)type) {
			key = pairs.p[i].key;
			pairs.p[i].key = NULL;
		}
	mc_pairs_clear(&pairs);
	if (key == NULL)
		mc_log_info("%s: no current %s key (key_type changed); generating "
			    "a new key", cc->name, mc_key_type_name(type));
	else if (issue_key_compromised(cfg, cc, key)) {
		mc_log_info("%s: the %s key was revoked for keyCompromise; "
			    "generating a new key", cc->name, mc_key_type_name(type));
		EVP_PKEY_free(key);
		key = NULL;
	}
	return key;
}

/* issue_key - the key of cc's key type number slot: the DANE renewal key,
 * the current key of that type (reuse_key), or a new one. */
static EVP_PKEY *
issue_key(const struct mc_config *cfg, const struct mc_cert_conf *cc,
	  size_t slot, struct mc_err *err)
{
	enum mc_key_type type = cc->key_types[slot];
	EVP_PKEY *key;

	if (cc->n_tlsa > 0) /* DANE: the next key only once DNS pins it */
		return mc_dane_renewal_key(cfg, cc, slot, err);
	if (cc->reuse_key && (key = issue_current_key(cfg, cc, type)) != NULL)
		return key;
	return mc_key_generate(type, err);
}

/* issue_order - run the ACME order for cc's key type slot with key;
 * fills *cert. */
static int
issue_order(struct cli_run *run, const struct mc_cert_conf *cc, size_t slot,
	    EVP_PKEY *key, struct mc_acme_cert *cert, struct mc_err *err)
{
	struct mc_acme_challenge_conf chall = {
		cc->challenge,	    cc->http_listen, cc->webroot,
		cc->tls_alpn_listen, cc->dns_hook,    cc->dns_wait,
		cc->timing.hook_timeout, run->cfg->nsupdate_server,
		run->cfg->nsupdate_key,
	};
	struct mc_acme_order_req req = {
		(const char *const *)cc->names, cc->n_names, key, &chall,
		cc->preferred_chain, run->replaces[slot], cc->order_timeout,
		cc->profile,
	};

	if (mc_cert_dual(cc))
		mc_log_info("%s: ordering the %s certificate", cc->name,
			    mc_key_type_name(cc->key_types[slot]));
	if (mc_acme_order(run->acme, &req, cert, err) == -1)
		return mc_err_prefix(err, "%s order", mc_key_type_name(
							cc->key_types[slot]));
	return 0;
}

/* issue_chain - the chain of an order, checked against its key and cc's
 * names (new stack). */
static STACK_OF(X509) *
issue_chain(const struct mc_cert_conf *cc, EVP_PKEY *key,
	    const struct mc_acme_cert *cert, struct mc_err *err)
{
	STACK_OF(X509) *chain = X509_chain_up_ref(cert->chain);

	if (chain == NULL) {
		mc_err_set(err, MC_ERR_SYS, "out of memory");
		return NULL;
	}
	if (mc_x509_check_issued(chain, key, (const char *const *)cc->names,
				 cc->n_names, time(NULL), err) == 0)
		return chain;
	mc_err_prefix(err, "certificate from %s refused, nothing stored",
		      cert->cert_url);
	sk_X509_pop_free(chain, X509_free);
	return NULL;
}

/* issue_facts - the certificate facts of one order into m (meta itself
 * or its second; ari_cert_id is m's, the URLs are borrowed). */
static int
issue_facts(struct cli_run *run, enum mc_key_type type,
	    const struct mc_acme_cert *cert, STACK_OF(X509) *chain,
	    struct mc_cert_meta *m, struct mc_err *err)
{
	m->key_type = type;
	m->order_url = cert->order_url;
	m->cert_url = cert->cert_url;
	if (mc_acme_has_renewal_info(run->acme))
		m->ari_next_poll = time(NULL); /* poll at the next run */
	return mc_store_meta_fill(m, chain, err);
}

/* issue_store - check each chain and store them as one new version. */
static int
issue_store(struct cli_run *run, const struct mc_cert_conf *cc,
	    struct mc_pairs *pairs, const struct mc_acme_cert *certs,
	    struct mc_cert_meta *meta, struct mc_err *err)
{
	size_t i;

	for (i = 0; i < pairs->n; i++) {
		pairs->p[i].chain = issue_chain(cc, pairs->p[i].key, &certs[i],
						err);
		if (pairs->p[i].chain == NULL)
			return -1;
	}
	meta->names = cc->names;
	meta->n_names = cc->n_names;
	meta->issued_at = time(NULL);
	meta->directory = run->cfg->directory;
	snprintf(meta->status, sizeof(meta->status), "issued");
	if (pairs->n > 1 && (meta->second = calloc(1, sizeof(*meta))) == NULL)
		return mc_err_errno(err, MC_ERR_SYS, "out of memory");
	for (i = 0; i < pairs->n; i++)
		if (issue_facts(run, pairs->p[i].type, &certs[i],
				pairs->p[i].chain, i == 0 ? meta : meta->second,
				err) == -1)
			return -1;
	if (cli_fleet_store(run, cc, pairs, meta, err) == -1 ||
	    mc_store_add_version(run->cfg->state_dir, cc->name, pairs, meta,
				 &meta->version, err) == -1)
		return -1;
	return 0;
}

/* issue_meta_free - what issue_store made meta own (the rest is borrowed). */
static void
issue_meta_free(struct mc_cert_meta *meta)
{
	free(meta->ari_cert_id);
	if (meta->second != NULL)
		free(meta->second->ari_cert_id);
	free(meta->second);
	meta->second = NULL;
}

/* issue_second_json - the second pair of a dual version (new reference). */
static json_t *
issue_second_json(const struct mc_cert_meta *meta)
{
	return json_pack("{s:s, s:s, s:I}", "key_type",
			 mc_key_type_name(meta->second->key_type), "serial",
			 meta->second->serial, "not_after",
			 (json_int_t)meta->second->not_after);
}

/* issue_serials - "serial S" or "serials S (ecdsa-p256), R (rsa-2048)". */
static void
issue_serials(const struct mc_cert_meta *meta, char *buf, size_t size)
{
	if (meta->second == NULL)
		snprintf(buf, size, "serial %s", meta->serial);
	else
		snprintf(buf, size, "serials %s (%s), %s (%s)", meta->serial,
			 mc_key_type_name(meta->key_type), meta->second->serial,
			 mc_key_type_name(meta->second->key_type));
}

/* issue_report - one line (or one JSON object) about an issued cert. */
static void
issue_report(struct cli_run *run, const struct mc_cert_conf *cc,
	     const struct mc_cert_meta *meta, const struct mc_err *err)
{
	char when[64], serials[400];
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
			if (meta->second != NULL)
				json_object_set_new(o, "second",
						    issue_second_json(meta));
		}
		json_array_append_new(run->results, o);
		return;
	}
	if (err != NULL)
		return;
	cli_format_time(meta->not_after, when, sizeof(when));
	issue_serials(meta, serials, sizeof(serials));
	if (run->dry != NULL)
		printf("%s: dry run: the staging CA issued %s, valid "
		       "until %s\n",
		       cc->name, serials, when);
	else
		printf("%s: issued version %04u, %s, valid until %s\n",
		       cc->name, meta->version, serials, when);
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

/* issue_orders - a key and an order per key type of cc: every order must
 * succeed (a certificate already issued for one type is not kept when
 * another fails: the unit is one). */
static int
issue_orders(struct cli_run *run, const struct mc_cert_conf *cc,
	     struct mc_pairs *pairs, struct mc_acme_cert *certs,
	     struct mc_err *err)
{
	size_t i;

	for (i = 0; i < cc->n_key_types; i++) {
		pairs->p[i].type = cc->key_types[i];
		pairs->p[i].key = issue_key(run->cfg, cc, i, err);
		pairs->n = i + 1;
		if (pairs->p[i].key == NULL)
			return -1;
	}
	if (cli_run_acme(run, err) == -1 || cli_fleet_ready(run, err) == -1)
		return -1;
	for (i = 0; i < pairs->n; i++) {
		if (issue_order(run, cc, i, pairs->p[i].key, &certs[i], err) == 0)
			continue;
		if (i > 0)
			mc_err_prefix(err, "the %s certificate issued before is "
				      "not kept (both or neither)",
				      mc_key_type_name(pairs->p[0].type));
		return -1;
	}
	return 0;
}

/* issue_targets_ready - whether every target of cc could be written
 * (mc_deploy_check, which changes nothing): a run that cannot deploy
 * must not spend an order (the CA's duplicate-certificate limit). */
static int
issue_targets_ready(const struct cli_run *run, const struct mc_cert_conf *cc,
		    struct mc_err *err)
{
	const struct mc_target *t;
	size_t i;

	if (run->no_deploy || run->dry != NULL)
		return 0;
	for (i = 0; i < cc->n_targets; i++) {
		t = mc_config_target(run->cfg, cc->targets[i]);
		if (t != NULL && mc_deploy_check(t, cc, err) == -1) {
			mc_err_prefix(err, "nothing ordered (the certificate "
					   "could not be deployed; fix this, "
					   "or `issue --no-deploy`)");
			return -1;
		}
	}
	return 0;
}

/* issue_log_order - the info line before ordering cc. */
static void
issue_log_order(const struct mc_cert_conf *cc)
{
	char types[64];

	mc_key_types_text(cc->key_types, cc->n_key_types, types, sizeof(types));
	mc_log_info("%s: ordering %s %s certificate%s for %zu name(s) with %s",
		    cc->name, mc_cert_dual(cc) ? "dual" : "a", types,
		    mc_cert_dual(cc) ? "s" : "", cc->n_names,
		    mc_challenge_name(cc->challenge));
}

/* issue_one - issue and store one cert. */
static int
issue_one(struct cli_run *run, const struct mc_cert_conf *cc,
	  struct mc_err *err)
{
	struct mc_acme_cert certs[MC_KEY_TYPES_MAX];
	struct mc_cert_meta meta;
	struct mc_pairs pairs;
	size_t i;
	int rc = -1;

	memset(&meta, 0, sizeof(meta));
	memset(&pairs, 0, sizeof(pairs));
	memset(certs, 0, sizeof(certs));
	issue_log_order(cc);
	cli_log_idn(cc);
	if (issue_targets_ready(run, cc, err) == -1 ||
	    issue_orders(run, cc, &pairs, certs, err) == -1 ||
	    issue_store(run, cc, &pairs, certs, &meta, err) == -1) {
		mc_err_prefix(err, "issue %s", cc->name);
		goto out;
	}
	mc_log_info("%s: stored version %04u (serial %s%s%s)", cc->name,
		    meta.version, meta.serial, meta.second ? " and " : "",
		    meta.second ? meta.second->serial : "");
	run->version = meta.version;
	issue_report(run, cc, &meta, NULL);
	rc = issue_activate(run, cc, meta.version, err);
	cli_fleet_record(run, cc, meta.version, rc, err);
	if (rc == 0)
		run_dane_after_live(run, cc, meta.version);
out:
	issue_meta_free(&meta);
	for (i = 0; i < MC_KEY_TYPES_MAX; i++)
		mc_acme_cert_clear(&certs[i]);
	mc_pairs_clear(&pairs);
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
	enum mc_key_type types[MC_KEY_TYPES_MAX];
	char lineage[4200];
	struct mc_err err;
	unsigned cur;
	size_t n = 0;
	int failed;

	if (run->dry != NULL)
		return;
	if (cc != NULL)
		run_lineage(run, cc, lineage, sizeof(lineage));
	if (cc == NULL ||
	    mc_store_current(run->cfg->state_dir, cc->name, &cur, NULL) != 1 ||
	    mc_store_key_types(run->cfg->state_dir, cc->name, cur, types, &n,
			       NULL) == -1)
		n = 0; /* the configured ones */
	mc_err_clear(&err);
	failed = mc_hooks_run_cert_event(
		run->cfg->hooks_dir, event, cc, cc ? lineage : NULL, types, n,
		error,
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
	if (one->cat == MC_ERR_INTERRUPTED)
		run->signalled = true;
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

	if (mc_interrupt_pending())
		return -1; /* stopping: cli_run_finish reports it once */
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

/* run_unfinished_pick - the stored version renew deploys instead of an
 * order (deploy.h, mc_deploy_unfinished), DANE permitting; 0: none. */
static unsigned
run_unfinished_pick(struct cli_run *run, const struct mc_cert_conf *cc)
{
	unsigned cur = 0, v = 0;
	struct mc_err err;

	mc_err_clear(&err);
	if (run->fleet != NULL || run->dry != NULL || run->no_deploy ||
	    mc_store_current(run->cfg->state_dir, cc->name, &cur, NULL) == -1 ||
	    mc_deploy_unfinished(run->cfg, cc, cur, true, &v, NULL) != 1)
		return 0;
	if (cc->n_tlsa > 0 &&
	    mc_dane_check_version(run->cfg, cc, v, &err) == -1) {
		mc_log_info("%s: stored version %04u is not deployed: %s",
			    cc->name, v, err.msg);
		return 0;
	}
	return v;
}

/* cli_run_unfinished - renew: deploy the newest stored version that an
 * earlier run left undone (never verified live) instead of ordering a new
 * one; 1 when there was one (its outcome recorded, printed and hooked as
 * a cert's), 0 when not. */
int
cli_run_unfinished(struct cli_run *run, const struct mc_cert_conf *cc)
{
	unsigned v = run_unfinished_pick(run, cc);
	struct mc_err one;

	if (v == 0)
		return 0;
	mc_log_info("%s: version %04u was stored but never verified live; "
		    "deploying it instead of ordering a new certificate",
		    cc->name, v);
	if (run->results != NULL)
		json_array_append_new(run->results,
				      json_pack("{s:s, s:b, s:b, s:I}", "name",
						cc->name, "ok", 1, "renewed", 0,
						"stored_version", (json_int_t)v));
	else if (run->cli->verbosity >= 0)
		printf("%s: deploying stored version %04u (never verified "
		       "live; no new order)\n",
		       cc->name, v);
	if (!run->pre_done) {
		run->pre_done = true;
		run_hooks(run, "pre", NULL, NULL);
	}
	mc_err_clear(&one);
	run->version = v;
	if (issue_activate(run, cc, v, &one) == 0) {
		run->renewed++;
		run_record(run, cc, NULL);
		run_hooks(run, "deploy", cc, NULL);
		run_dane_after_live(run, cc, v);
	} else {
		run_failure(run, cc, &one);
	}
	return 1;
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

/* run_interrupted - record a pending signal as the run's failure (once). */
static void
run_interrupted(struct cli_run *run)
{
	struct mc_err e;

	mc_err_clear(&e);
	if (run->signalled || mc_interrupt_check(&e) == 0)
		return;
	run->signalled = true;
	if (run->failed++ == 0)
		run->first_err = e;
	fprintf(stderr, "mailcert: %s\n", e.msg);
	if (!mc_log_is_stderr())
		mc_log_error("%s", e.msg);
}

/* cli_run_finish - post hooks after every run that ran pre, whatever its
 * result (a service stopped in pre is started again); the metrics file;
 * the exit code of the run. */
int
cli_run_finish(struct cli_run *run)
{
	int hooks;

	run_interrupted(run);
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
