/*
 * fleet.c - fleet mode in the runs of `issue`, `renew` and `sync`
 * (fleet.h has the store): every run first syncs (pulls the shared current
 * version when it differs from this host's, deploys, reloads, verifies,
 * records nodes/<node>/<cert>); an order takes the fleet lock first (a run
 * that finds it held waits, serving the fleet's http-01 answers on its
 * own http_listen meanwhile, then takes what was stored); the holder's new
 * version goes to the store (fenced) before any host deploys it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "mailcert/fleet.h"
#include "mailcert/log.h"
#include "mailcert/store.h"

#define FLEET_MAX_SERVE 8

struct cli_fleet_cert {
	const struct mc_cert_conf *cc;
	struct mc_fleet_current cur; /* shared current at the last sync */
	long long own_rev;            /* store revision of our own push */
	bool synced;                  /* this host has it (or there is none) */
};

struct cli_fleet {
	struct mc_fleet *f;
	struct cli_fleet_cert *certs; /* one per configured cert */
	size_t n_certs;
	struct mc_acme_token_sink sink;
	struct mc_acme_responder *serve[FLEET_MAX_SERVE];
	size_t n_serve;
	struct cli_run *run;
};

static int fleet_take_lock(struct cli_run *run, struct mc_err *err);

/* fleet_publish - the acme sink: publish an http-01 answer. */
static int
fleet_publish(void *arg, const char *token, const char *keyauth,
              struct mc_err *err)
{
	struct cli_fleet *cf = arg;

	return mc_fleet_token_publish(cf->f, token, keyauth, err);
}

/* fleet_withdraw - the acme sink: withdraw an answer. */
static void
fleet_withdraw(void *arg, const char *token)
{
	struct cli_fleet *cf = arg;

	mc_fleet_token_withdraw(cf->f, token);
}

/* cli_fleet_open - fleet mode for run when the config has a store. */
int
cli_fleet_open(struct cli_run *run, struct mc_err *err)
{
	struct cli_fleet *cf;
	struct mc_fleet *f = NULL;
	size_t i;

	if (mc_fleet_open(run->cfg, &f, err) == -1)
		return -1;
	if (f == NULL)
		return 0;
	cf = calloc(1, sizeof(*cf));
	if (cf != NULL)
		cf->certs = calloc(run->cfg->n_certs + 1, sizeof(*cf->certs));
	if (cf == NULL || cf->certs == NULL) {
		free(cf);
		mc_fleet_close(f);
		return mc_err_set(err, MC_ERR_SYS, "out of memory");
	}
	cf->f = f;
	cf->run = run;
	cf->n_certs = run->cfg->n_certs;
	for (i = 0; i < cf->n_certs; i++)
		cf->certs[i].cc = &run->cfg->certs[i];
	cf->sink.publish = fleet_publish;
	cf->sink.withdraw = fleet_withdraw;
	cf->sink.arg = cf;
	run->fleet = cf;
	return 0;
}

/* fleet_serve_stop - stop the responders of a wait. */
static void
fleet_serve_stop(void *arg)
{
	struct cli_fleet *cf = arg;
	size_t i;

	for (i = 0; i < cf->n_serve; i++)
		mc_acme_http01_serve_stop(cf->serve[i]);
	cf->n_serve = 0;
}

/* cli_fleet_close - release the lock and everything of fleet mode. */
void
cli_fleet_close(struct cli_run *run)
{
	struct cli_fleet *cf = run->fleet;

	if (cf == NULL)
		return;
	fleet_serve_stop(cf);
	mc_fleet_close(cf->f);
	free(cf->certs);
	free(cf);
	run->fleet = NULL;
}

/* fleet_slot - the state of cc. */
static struct cli_fleet_cert *
fleet_slot(struct cli_fleet *cf, const struct mc_cert_conf *cc)
{
	size_t i;

	for (i = 0; i < cf->n_certs; i++)
		if (cf->certs[i].cc == cc)
			return &cf->certs[i];
	abort(); /* cc is always a cert of run->cfg */
}

/* cli_fleet_down - why the store is unreachable in this run, or NULL. */
const char *
cli_fleet_down(const struct cli_run *run)
{
	return run->fleet ? mc_fleet_down(run->fleet->f) : NULL;
}

/* fleet_record - record what this node has of cc after a deploy. */
static void
fleet_record(struct cli_run *run, const struct mc_cert_conf *cc,
             unsigned version, unsigned live, const char *result,
             const char *error)
{
	struct mc_fleet_node st;
	struct mc_cert_meta meta;
	struct mc_err err;

	memset(&st, 0, sizeof(st));
	snprintf(st.cert, sizeof(st.cert), "%s", cc->name);
	snprintf(st.result, sizeof(st.result), "%s", result);
	snprintf(st.error, sizeof(st.error), "%.500s", error ? error : "");
	st.version = version;
	st.live = live;
	st.at = time(NULL);
	if (mc_store_load_meta(run->cfg->state_dir, cc->name, version, &meta,
	                       NULL) == 0) {
		snprintf(st.serial, sizeof(st.serial), "%s", meta.serial);
		mc_store_meta_clear(&meta);
	}
	mc_err_clear(&err);
	if (mc_fleet_record(run->fleet->f, &st, &err) == -1)
		mc_log_warn("%s: %s", cc->name, err.msg);
}

/* cli_fleet_record - record the outcome of deploying version of cc. */
void
cli_fleet_record(struct cli_run *run, const struct mc_cert_conf *cc,
                 unsigned version, int rc, const struct mc_err *err)
{
	unsigned live = 0;

	if (run->fleet == NULL)
		return;
	if (rc == 0) {
		/* a cert without targets and endpoints is kept, not proven */
		fleet_record(run, cc, version, version,
		             cc->n_targets == 0 && cc->n_verify == 0 ? "stored"
		                                                     : "verified",
		             NULL);
		return;
	}
	if (mc_store_current(run->cfg->state_dir, cc->name, &live, NULL) != 1 ||
	    live == version)
		live = 0;
	fleet_record(run, cc, version, live, live ? "rolled-back" : "failed",
	             err ? err->msg : NULL);
}

/* fleet_deploy - the deploy pipeline for version (prev: rollback). */
static int
fleet_deploy(struct cli_run *run, const struct mc_cert_conf *cc,
             unsigned version, unsigned prev, struct mc_err *err)
{
	json_t *o = NULL;
	int rc;

	if (run->results != NULL) { /* --json: one object per synced cert */
		o = json_pack("{s:s, s:b, s:i}", "name", cc->name, "synced", 1,
		              "version", (int)version);
		json_array_append_new(run->results, o);
	}
	if (cc->n_targets == 0 && cc->n_verify == 0)
		rc = mc_store_set_current(run->cfg->state_dir, cc->name, version,
		                          err);
	else
		rc = cli_deploy_run(run->cli, run->cfg, cc, version, prev, o, err);
	if (o != NULL) {
		json_object_set_new(o, "ok", json_boolean(rc == 0));
		if (rc == -1)
			json_object_set_new(o, "error", json_string(err->msg));
	}
	cli_fleet_record(run, cc, version, rc, err);
	return rc;
}

/* fleet_recorded - whether this node's record says version is verified. */
static bool
fleet_recorded(struct cli_run *run, const struct mc_cert_conf *cc,
               unsigned version)
{
	struct mc_fleet_node *nodes = NULL;
	const char *me = mc_fleet_node_name(run->fleet->f);
	bool ok = false;
	size_t n = 0, i;

	if (mc_fleet_nodes(run->fleet->f, cc->name, &nodes, &n, NULL) == -1)
		return false;
	for (i = 0; i < n; i++)
		if (strcmp(nodes[i].node, me) == 0 && nodes[i].version == version &&
		    (strcmp(nodes[i].result, "verified") == 0 ||
		     strcmp(nodes[i].result, "stored") == 0))
			ok = true;
	free(nodes);
	return ok;
}

/* fleet_sync_version - bring this host to shared version v of cc. */
static int
fleet_sync_version(struct cli_run *run, const struct mc_cert_conf *cc,
                   unsigned v, struct mc_err *err)
{
	unsigned local = 0, prev = 0;
	int have;

	if (mc_fleet_pull(run->fleet->f, cc->name, v, err) == -1) {
		fleet_record(run, cc, v, 0, "failed", err->msg);
		return -1;
	}
	have = mc_store_current(run->cfg->state_dir, cc->name, &local, err);
	if (have == -1)
		return -1;
	if (have == 1 && local == v && fleet_recorded(run, cc, v))
		return 0; /* in sync and proven */
	if (have == 1 && local != v)
		prev = local;
	else if (mc_store_prior(run->cfg->state_dir, cc->name, v, &prev,
	                           err) == -1)
		return -1;
	if (have == 1 && local == v)
		mc_log_info("%s: version %04u is not proven live on this host "
		            "yet: deploying it",
		            cc->name, v);
	else if (have == 1)
		mc_log_info("%s: the fleet's current version is %04u, this "
		            "host's %04u: deploying it",
		            cc->name, v, local);
	else
		mc_log_info("%s: the fleet's current version is %04u, this host "
		            "has none: deploying it",
		            cc->name, v);
	return fleet_deploy(run, cc, v, prev, err);
}

/* fleet_pushed - remember the revision of our own push of cc. */
static void
fleet_pushed(struct cli_run *run, struct cli_fleet_cert *slot)
{
	struct mc_err err;

	mc_err_clear(&err);
	if (mc_fleet_current(run->fleet->f, slot->cc->name, &slot->cur, &err) == 0)
		slot->own_rev = slot->cur.mod_rev;
}

/* fleet_seed_push - store this host's version local of cc as the fleet's. */
static int
fleet_seed_push(struct cli_run *run, const struct mc_cert_conf *cc,
                struct mc_cert_meta *meta, struct mc_err *err)
{
	struct mc_pairs pairs;
	int rc = -1;

	memset(&pairs, 0, sizeof(pairs));
	if (mc_store_load_pairs(run->cfg->state_dir, cc->name, meta->version,
	                        &pairs, err) == 0)
		rc = mc_fleet_push(run->fleet->f, cc->name, &pairs, meta, err);
	mc_pairs_clear(&pairs);
	return rc;
}

/* fleet_seed - the fleet has no version of cc yet: offer this host's
 * current one (a host joining the fleet with its certificates), under the
 * lock, so joining orders nothing. */
static int
fleet_seed(struct cli_run *run, const struct mc_cert_conf *cc,
           struct mc_err *err)
{
	struct cli_fleet_cert *slot = fleet_slot(run->fleet, cc);
	struct mc_cert_meta meta;
	unsigned local = 0;
	int rc = 0;

	memset(&meta, 0, sizeof(meta));
	if (mc_store_current(run->cfg->state_dir, cc->name, &local, NULL) != 1 ||
	    mc_store_load_meta(run->cfg->state_dir, cc->name, local, &meta,
	                       NULL) == -1)
		return 0;
	if (strcmp(meta.status, "failed") == 0 ||
	    strcmp(meta.status, "revoked") == 0 || meta.not_after <= time(NULL))
		goto out;
	if (fleet_take_lock(run, err) == -1 ||
	    mc_fleet_current(run->fleet->f, cc->name, &slot->cur, err) == -1) {
		rc = -1;
		goto out;
	}
	if (slot->cur.version != 0)
		goto out; /* another host was first */
	mc_log_info("%s: the fleet has no version yet; storing this host's "
	            "version %04u (serial %s) as the fleet's",
	            cc->name, local, meta.serial);
	rc = fleet_seed_push(run, cc, &meta, err);
	if (rc == 0)
		fleet_pushed(run, slot);
out:
	mc_store_meta_clear(&meta);
	return rc;
}

/* cli_fleet_sync - sync cc: pull the shared current, deploy, verify, record.
 * MC_ERR_NET when the store is unreachable. */
int
cli_fleet_sync(struct cli_run *run, const struct mc_cert_conf *cc,
               struct mc_err *err)
{
	struct cli_fleet_cert *slot = fleet_slot(run->fleet, cc);

	slot->synced = false;
	if (mc_fleet_current(run->fleet->f, cc->name, &slot->cur, err) == -1 ||
	    (slot->cur.version == 0 && fleet_seed(run, cc, err) == -1))
		return -1;
	if (slot->cur.version == 0) {
		slot->synced = true; /* nothing shared yet */
		return 0;
	}
	if (fleet_sync_version(run, cc, slot->cur.version, err) == -1)
		return mc_err_prefix(err, "sync %s", cc->name);
	slot->synced = true;
	return 0;
}

/* cli_fleet_shared - the shared current version of cc at the last sync
 * (0: none); *ok false when that sync failed (then nothing may be ordered). */
unsigned
cli_fleet_shared(struct cli_run *run, const struct mc_cert_conf *cc, bool *ok)
{
	struct cli_fleet_cert *slot = fleet_slot(run->fleet, cc);

	*ok = slot->synced;
	return slot->cur.version;
}

/* fleet_lookup - the responder's lookup: the fleet's answer for token. */
static char *
fleet_lookup(void *arg, const char *token)
{
	return mc_fleet_token_lookup(arg, token);
}

/* fleet_serve_start - while another host holds the lock: answer the
 * fleet's http-01 tokens on every http_listen of the selected certs. */
static void
fleet_serve_start(void *arg, const char *holder)
{
	struct cli_fleet *cf = arg;
	struct mc_err err;
	size_t i, j;

	for (i = 0; i < cf->n_certs && cf->n_serve < FLEET_MAX_SERVE; i++) {
		const struct mc_cert_conf *cc = cf->certs[i].cc;
		bool dup = false;

		if (cc->challenge != MC_CHALLENGE_HTTP01 || cc->webroot != NULL)
			continue;
		for (j = 0; j < i; j++)
			dup |= cf->certs[j].cc->challenge == MC_CHALLENGE_HTTP01 &&
			       cf->certs[j].cc->webroot == NULL &&
			       strcmp(cf->certs[j].cc->http_listen, cc->http_listen) == 0;
		if (dup)
			continue;
		mc_err_clear(&err);
		cf->serve[cf->n_serve] = mc_acme_http01_serve(
		    cc->http_listen, fleet_lookup, cf->f, &err);
		if (cf->serve[cf->n_serve] == NULL) {
			mc_log_warn("%s: cannot answer the fleet's http-01 "
			            "challenges while %s orders: %s",
			            cc->name, holder, err.msg);
			continue;
		}
		mc_log_info("answering the fleet's http-01 challenges on %s "
		            "while %s holds the lock",
		            cc->http_listen, holder);
		cf->n_serve++;
	}
}

/* fleet_take_lock - the lock, the shared account, the acme sink. */
static int
fleet_take_lock(struct cli_run *run, struct mc_err *err)
{
	struct cli_fleet *cf = run->fleet;
	long wait = run->cfg->store_wait > 0 ? run->cfg->store_wait
	                                     : MC_FLEET_DEFAULT_WAIT;

	if (mc_fleet_locked(cf->f))
		return 0;
	if (mc_fleet_lock(cf->f, wait, fleet_serve_start, fleet_serve_stop, cf,
	                  err) == -1)
		return -1;
	if (mc_fleet_account_pull(cf->f, run->cfg->directory, err) == -1)
		return -1;
	return 0;
}

/* cli_fleet_hold - before ordering cc: take the fleet lock (waiting while
 * another host holds it), then take whatever was stored meanwhile. 0:
 * order; 1: a version stored since this run began is now deployed here
 * (nothing to order); -1: error. */
int
cli_fleet_hold(struct cli_run *run, const struct mc_cert_conf *cc,
               struct mc_err *err)
{
	struct cli_fleet_cert *slot;

	if (run->fleet == NULL)
		return 0;
	slot = fleet_slot(run->fleet, cc);
	if (fleet_take_lock(run, err) == -1 || cli_fleet_sync(run, cc, err) == -1)
		return -1;
	if (slot->cur.version != 0 && slot->cur.mod_rev != slot->own_rev &&
	    slot->cur.mod_rev > mc_fleet_start_rev(run->fleet->f)) {
		mc_log_info("%s: version %04u was stored by another host during "
		            "this run; not ordering again",
		            cc->name, slot->cur.version);
		return 1;
	}
	return 0;
}

/* cli_fleet_ready - before an order: the lock is still ours, and the ACME
 * client publishes http-01 answers to the fleet. */
int
cli_fleet_ready(struct cli_run *run, struct mc_err *err)
{
	if (run->fleet == NULL)
		return 0;
	if (run->acme != NULL)
		mc_acme_set_http01_sink(run->acme, &run->fleet->sink);
	return mc_fleet_lock_check(run->fleet->f, err);
}

/* fleet_fail - count a failure of the run and print it. */
static void
fleet_fail(struct cli_run *run, const struct mc_err *err)
{
	if (run->failed++ == 0)
		run->first_err = *err;
	fprintf(stderr, "mailcert: %s\n", err->msg);
	if (!mc_log_is_stderr())
		mc_log_error("%s", err->msg);
}

/* cli_fleet_sync_certs - sync each of the n certs; failures are counted
 * in run. -1 when the store is unreachable (then nothing may be ordered;
 * the reason is printed and counted). */
int
cli_fleet_sync_certs(struct cli_run *run,
                     const struct mc_cert_conf *const *certs, size_t n)
{
	struct mc_err err;
	size_t i;

	if (run->fleet == NULL)
		return 0;
	for (i = 0; i < n; i++) {
		mc_err_clear(&err);
		if (cli_fleet_sync(run, certs[i], &err) == 0)
			continue;
		if (mc_fleet_down(run->fleet->f) != NULL) {
			mc_err_set(&err, MC_ERR_NET,
			           "the fleet's store is unreachable (%s); this "
			           "host keeps serving what it has, and nothing "
			           "is ordered",
			           mc_fleet_down(run->fleet->f));
			fleet_fail(run, &err);
			return -1;
		}
		fleet_fail(run, &err);
	}
	return 0;
}

/* cli_fleet_store - a new version of cc: its number in the fleet, then
 * the fenced push (with the account, if it is new). Sets meta->version. */
int
cli_fleet_store(struct cli_run *run, const struct mc_cert_conf *cc,
                const struct mc_pairs *pairs, struct mc_cert_meta *meta,
                struct mc_err *err)
{
	struct mc_fleet *f;
	unsigned next = 0;

	if (run->fleet == NULL)
		return 0;
	f = run->fleet->f;
	if (mc_fleet_account_push(f, run->cfg->directory, err) == -1 ||
	    mc_fleet_next_version(f, cc->name, &next, err) == -1)
		return -1;
	meta->version = next;
	if (mc_fleet_push(f, cc->name, pairs, meta, err) == -1) {
		meta->version = 0;
		return mc_err_prefix(err, "the new certificate (serial %s) is "
		                          "not kept",
		                     meta->serial);
	}
	fleet_pushed(run, fleet_slot(run->fleet, cc));
	return 0;
}
