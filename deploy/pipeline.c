/*
 * pipeline.c - write, reload, verify; roll back when any of it fails.
 * A target whose daemon does not read the files yet, or does not run, is
 * written and left pending (pipeline_gate.c): not a failure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mailcert/crypto.h"
#include "mailcert/deploy.h"
#include "mailcert/log.h"
#include "mailcert/store.h"
#include "deploy/live_int.h"
#include "deploy/pipeline_int.h"

#define RELOAD_TIMEOUT 60
#define RELISTEN_MS 5000 /* a reloaded master back on its listeners */

/* mc_live_outcome_name - the stable name of an outcome. */
const char *
mc_live_outcome_name(enum mc_live_outcome o)
{
	static const char *const names[] = {
		[MC_LIVE_MATCH] = "match",
		[MC_LIVE_INACTIVE] = "inactive",
		[MC_LIVE_UNREACHABLE] = "unreachable",
		[MC_LIVE_STARTTLS_MISSING] = "starttls-missing",
		[MC_LIVE_STARTTLS_REFUSED] = "starttls-refused",
		[MC_LIVE_TLS_FAILED] = "tls-failed",
		[MC_LIVE_PROTOCOL] = "protocol-error",
		[MC_LIVE_SKIPPED] = "skipped",
	};

	if ((size_t)o >= sizeof(names) / sizeof(names[0]))
		return "unknown";
	return names[o];
}

/* mc_deploy_report_clear - free the rows of a report. */
void
mc_deploy_report_clear(struct mc_deploy_report *rep)
{
	if (rep == NULL)
		return;
	free(rep->targets);
	free(rep->live.rows);
	memset(rep, 0, sizeof(*rep));
}

/* pipeline_targets - the struct mc_target of every target name of cc. */
static int
pipeline_targets(const struct mc_config *cfg, const struct mc_cert_conf *cc,
		 struct mc_deploy_report *rep, const struct mc_target ***out,
		 struct mc_err *err)
{
	const struct mc_target **t = calloc(cc->n_targets + 1, sizeof(*t));
	size_t i;

	free(rep->targets);
	rep->targets = calloc(cc->n_targets + 1, sizeof(*rep->targets));
	if (t == NULL || rep->targets == NULL) {
		free(t);
		return mc_err_errno(err, MC_ERR_SYS, "out of memory");
	}
	rep->n_targets = cc->n_targets;
	for (i = 0; i < cc->n_targets; i++) {
		t[i] = mc_config_target(cfg, cc->targets[i]);
		snprintf(rep->targets[i].target, sizeof(rep->targets[i].target),
			 "%s", cc->targets[i]);
		if (t[i] == NULL) { /* the config loader guarantees this */
			free(t);
			return mc_err_set(err, MC_ERR_CONFIG,
					  "cert %s: unknown target %s", cc->name,
					  cc->targets[i]);
		}
	}
	*out = t;
	return 0;
}

/* pipeline_note - record a target's failure in the report. */
static void
pipeline_note(struct mc_target_row *row, enum mc_target_step step,
	      const struct mc_err *err)
{
	row->failed_at = step;
	snprintf(row->detail, sizeof(row->detail), "%.500s", err->msg);
}

/* What a pipeline run is for. */
enum pipe_op {
	PIPE_DEPLOY,   /* a version becomes current (its prior is recorded) */
	PIPE_BACK,     /* a rollback: the version becomes current again */
	PIPE_REPAIR,   /* current again; no rollback, no failed mark */
	PIPE_FINISH,   /* current's pending targets: reload, verify; no write */
};

/* One pipeline run over the targets of a cert. */
struct pipe {
	const struct mc_config *cfg;
	const struct mc_cert_conf *cc;
	const struct mc_target **t;
	struct mc_deploy_report *rep;
	enum pipe_op op;
	const struct mc_store_pending *finish; /* PIPE_FINISH: which targets */
};

/* pipeline_fits - version holds as many key types as cc wants (the
 * targets' files follow the configuration: one pair per key type). */
static int
pipeline_fits(const struct pipe *p, unsigned version,
	      const struct mc_pairs *pairs, struct mc_err *err)
{
	enum mc_key_type types[MC_KEY_TYPES_MAX];
	char have[64], want[64];
	size_t i;

	if (pairs->n == p->cc->n_key_types)
		return 0;
	for (i = 0; i < pairs->n && i < MC_KEY_TYPES_MAX; i++)
		types[i] = pairs->p[i].type;
	mc_key_types_text(types, pairs->n, have, sizeof(have));
	mc_key_types_text(p->cc->key_types, p->cc->n_key_types, want,
			  sizeof(want));
	return mc_err_set(err, MC_ERR_INPUT,
			  "version %04u holds %s, but key_type is %s: its "
			  "files do not fit the targets; order anew (`mailcert "
			  "renew --force %s`) or set key_type back",
			  version, have, want, p->cc->name);
}

/* pipeline_load - the pairs of version, fit to be served now. */
static int
pipeline_load(const struct pipe *p, unsigned version, struct mc_pairs *pairs,
	      struct mc_err *err)
{
	const char *sd = p->cfg->state_dir, *name = p->cc->name;
	size_t i;

	if (mc_store_load_pairs(sd, name, version, pairs, err) == -1)
		return -1;
	for (i = 0; i < pairs->n; i++) {
		if (mc_x509_check_usable(sk_X509_value(pairs->p[i].chain, 0),
					 pairs->p[i].key, time(NULL), err) == 0)
			continue;
		mc_err_prefix(err, "version %04u (%s key and certificate)",
			      version, mc_key_type_alg(pairs->p[i].type));
		mc_pairs_clear(pairs);
		return -1;
	}
	if (pipeline_fits(p, version, pairs, err) == -1) {
		mc_pairs_clear(pairs);
		return -1;
	}
	return 0;
}

/* pipeline_switch - check and stage every target, then switch them all:
 * nothing a daemon reads changes unless every target could be staged. */
static int
pipeline_switch(const struct pipe *p, unsigned version,
		const struct mc_pairs *pairs, struct mc_err *err)
{
	struct mc_deploy_staged **st;
	size_t i, n = p->cc->n_targets;
	int rc = 0;

	for (i = 0; i < n; i++)
		if (mc_deploy_check(p->t[i], p->cc, err) == -1) {
			pipeline_note(&p->rep->targets[i], MC_STEP_CHECK, err);
			return -1;
		}
	st = calloc(n + 1, sizeof(*st));
	if (st == NULL)
		return mc_err_errno(err, MC_ERR_SYS, "out of memory");
	for (i = 0; i < n && rc == 0; i++)
		if ((rc = mc_deploy_stage(p->t[i], p->cc, version, pairs, &st[i],
					  err)) == -1)
			pipeline_note(&p->rep->targets[i], MC_STEP_WRITE, err);
	for (i = 0; i < n; i++) {
		if (rc == -1) {
			mc_deploy_abort(st[i]);
		} else if (mc_deploy_commit(st[i], &p->rep->changed, err) == -1) {
			pipeline_note(&p->rep->targets[i], MC_STEP_WRITE, err);
			rc = -1;
		}
	}
	free(st);
	return rc;
}

/* pipeline_reloads - whether target i is reloaded in this run (a finish
 * reloads only the pending targets). */
static bool
pipeline_reloads(const struct pipe *p, size_t i)
{
	size_t j;

	if (p->op != PIPE_FINISH)
		return true;
	for (j = 0; j < p->finish->n; j++)
		if (strcmp(p->finish->targets[j].target, p->cc->targets[i]) == 0)
			return true;
	return false;
}

/* pipeline_reload - run t's reload; then, when its master (pid > 0) is
 * known, wait until it listens on as many sockets as before (Exim
 * re-execs and binds anew: owner_wait_listening) so the live check finds
 * every endpoint's listener where it belongs. */
static int
pipeline_reload(const struct mc_target *t, long pid, struct mc_err *err)
{
	int before = pid > 0 ? owner_listen_count(pid) : -1;

	if (mc_deploy_reload(t, RELOAD_TIMEOUT, err) == -1)
		return -1;
	if (before > 0 && !owner_wait_listening(pid, before, RELISTEN_MS))
		mc_log_info("target %s: its daemon (pid %ld) listens on fewer "
			    "sockets %d s after the reload than before (%d); "
			    "checking its endpoints all the same",
			    t->name, pid, RELISTEN_MS / 1000, before);
	return 0;
}

/* pipeline_gates - judge every target's daemon (od: one entry per daemon
 * target, *n_od of them) and reload those that read the files and run. */
static int
pipeline_gates(const struct pipe *p, struct owner_daemon *od, size_t *n_od,
	       struct mc_err *err)
{
	struct mc_target_row *row;
	bool has_od, reload;
	size_t i;

	*n_od = 0;
	for (i = 0; i < p->cc->n_targets; i++) {
		row = &p->rep->targets[i];
		reload = gate_target(p->t[i], p->cc, row, &od[*n_od], &has_od);
		*n_od += has_od;
		if (!reload)
			p->rep->n_pending++;
		else if (pipeline_reloads(p, i) &&
			 pipeline_reload(p->t[i], has_od ? od[*n_od - 1].pid : -1,
					 err) == -1) {
			pipeline_note(row, MC_STEP_RELOAD, err);
			return -1;
		}
	}
	return 0;
}

/* pipeline_apply - switch every target to version (not for a finish) and
 * reload the daemons that read the files; the pairs stay in *pairs for the
 * live check. */
static int
pipeline_apply(const struct pipe *p, unsigned version, struct mc_pairs *pairs,
	       struct owner_daemon *od, size_t *n_od, struct mc_err *err)
{
	if (pipeline_load(p, version, pairs, err) == -1)
		return -1;
	if (p->op != PIPE_FINISH &&
	    pipeline_switch(p, version, pairs, err) == -1)
		return -1;
	if (p->op != PIPE_FINISH)
		p->rep->hook_failures +=
			mc_deploy_reload_hooks(p->cfg, p->cc, version, NULL);
	return pipeline_gates(p, od, n_od, err);
}

/* pipeline_run - apply version and verify it live (the endpoints of
 * pending targets left out). */
static int
pipeline_run(const struct pipe *p, unsigned version, struct mc_err *err)
{
	struct mc_pairs pairs;
	struct owner_daemon *od = calloc(p->cc->n_targets + 1, sizeof(*od));
	size_t n_od = 0;
	int rc;

	if (od == NULL)
		return mc_err_errno(err, MC_ERR_SYS, "out of memory");
	memset(&pairs, 0, sizeof(pairs));
	mc_log_info("%s: %s version %04u to %zu target(s)", p->cc->name,
		    p->op == PIPE_FINISH ? "finishing" : "deploying", version,
		    p->cc->n_targets);
	p->rep->n_pending = 0;
	rc = pipeline_apply(p, version, &pairs, od, &n_od, err);
	for (size_t i = 0; i < pairs.n; i++) { /* the check needs the leaves */
		EVP_PKEY_free(pairs.p[i].key);
		pairs.p[i].key = NULL;
	}
	if (rc == 0) {
		free(p->rep->live.rows);
		memset(&p->rep->live, 0, sizeof(p->rep->live));
		rc = live_verify(p->cc, &pairs, od, n_od, &p->rep->live, err);
	}
	mc_pairs_clear(&pairs);
	free(od);
	return rc;
}

/* pipeline_mark - set status (and error) in a version's meta.json. */
static void
pipeline_mark(const struct pipe *p, unsigned version, const char *status,
	      const char *error)
{
	const char *sd = p->cfg->state_dir, *name = p->cc->name;
	struct mc_cert_meta meta;

	if (mc_store_load_meta(sd, name, version, &meta, NULL) == -1)
		return;
	snprintf(meta.status, sizeof(meta.status), "%s", status);
	free(meta.last_error);
	meta.last_error = error ? strdup(error) : NULL;
	if (mc_store_save_meta(sd, name, &meta, NULL) == -1)
		mc_log_warn("%s: cannot record status %s in version %04u",
			    name, status, version);
	mc_store_meta_clear(&meta);
}

/* pipeline_journal - record the deployment in progress (op, to, from). */
static int
pipeline_journal(const struct pipe *p, const char *op, unsigned to,
		 unsigned from, struct mc_err *err)
{
	struct mc_store_journal j;

	memset(&j, 0, sizeof(j));
	snprintf(j.op, sizeof(j.op), "%s", op);
	j.to = to;
	j.from = from;
	j.started = time(NULL);
	j.pid = (long)getpid();
	return mc_store_journal_write(p->cfg->state_dir, p->cc->name, &j, err);
}

/* pipeline_pending - record (or clear) the pending targets of version. */
static int
pipeline_pending(const struct pipe *p, unsigned version, struct mc_err *err)
{
	const char *sd = p->cfg->state_dir, *name = p->cc->name;
	struct mc_store_pending rec;
	int rc;

	if (p->rep->n_pending == 0)
		return mc_store_pending_clear(sd, name, err);
	if (gate_pending(p->rep, version, &rec, err) == -1)
		return -1;
	rc = mc_store_pending_write(sd, name, &rec, err);
	mc_store_pending_free(&rec);
	return rc;
}

/* pipeline_settle - the version is live and verified where its daemons
 * read it and run: record it ("deployed", or "pending" with the pending
 * targets), make it current (back: as a rollback, keeping its prior; a
 * finish: it is current already), close the journal. */
static int
pipeline_settle(const struct pipe *p, unsigned version, bool back,
		struct mc_err *err)
{
	const char *sd = p->cfg->state_dir, *name = p->cc->name;

	pipeline_mark(p, version, p->rep->n_pending ? "pending" : "deployed",
		      NULL);
	if (p->op != PIPE_FINISH &&
	    (back ? mc_store_set_current_back(sd, name, version, err)
		  : mc_store_set_current(sd, name, version, err)) == -1)
		return -1;
	if (pipeline_pending(p, version, err) == -1)
		return -1;
	return mc_store_journal_clear(sd, name, err);
}

/* pipeline_rollback - put prev back everywhere and verify it. */
static void
pipeline_rollback(const struct pipe *p, unsigned version, unsigned prev,
		  const struct mc_err *cause)
{
	struct mc_deploy_report again;
	struct pipe back = *p;
	struct mc_err err;

	pipeline_mark(p, version, "failed", cause->msg);
	p->rep->rolled_back = true;
	p->rep->rollback_version = prev;
	memset(&again, 0, sizeof(again));
	mc_err_clear(&err);
	again.targets = calloc(p->cc->n_targets + 1, sizeof(*again.targets));
	again.n_targets = p->cc->n_targets;
	for (size_t i = 0; i < again.n_targets && again.targets != NULL; i++)
		snprintf(again.targets[i].target, sizeof(again.targets[i].target),
			 "%s", p->cc->targets[i]);
	back.rep = &again;
	back.op = PIPE_BACK;
	if (again.targets == NULL)
		mc_err_set(&err, MC_ERR_SYS, "out of memory");
	else if (pipeline_journal(p, "rollback", prev, 0, &err) == 0 &&
		 pipeline_run(&back, prev, &err) == 0 &&
		 pipeline_settle(&back, prev, true, &err) == 0)
		p->rep->rollback_ok = true;
	if (!p->rep->rollback_ok)
		snprintf(p->rep->rollback_error, sizeof(p->rep->rollback_error),
			 "%s", err.msg);
	else if (again.n_pending > 0)
		mc_log_warn("%s: version %04u is back; %zu target(s) of it are "
			    "pending (not yet configured, or down): see `mailcert "
			    "status`",
			    p->cc->name, prev, again.n_pending);
	mc_deploy_report_clear(&again);
}

/* pipeline_also - append what the pending targets of a failed
 * deployment need, so that one run names every fix. */
static void
pipeline_also(const struct mc_cert_conf *cc, const struct mc_deploy_report *rep,
	      struct mc_err *err)
{
	struct mc_err more;
	char first[MC_ERR_MSG_MAX];

	if (rep->n_pending == 0)
		return;
	gate_explain(cc, rep, &more);
	snprintf(first, sizeof(first), "%s", err->msg);
	mc_err_set(err, err->cat, "%.1000s; also %s", first, more.msg);
}

/* pipeline_partial - the error of a deployment that settled with pending
 * targets (rep->partial). */
static int
pipeline_partial(const struct pipe *p, unsigned version, struct mc_err *err)
{
	p->rep->partial = true;
	gate_explain(p->cc, p->rep, err);
	if (p->op == PIPE_FINISH)
		return mc_err_prefix(err, "%s: version %04u is not live on "
					  "every target yet",
				     p->cc->name, version);
	return mc_err_prefix(err, "%s: version %04u is written to every "
				  "target and is current, but not live on "
				  "every one yet",
			     p->cc->name, version);
}

/* pipeline_explain - the final error message of a failed deployment. */
static void
pipeline_explain(const struct pipe *p, unsigned version, unsigned prev,
		 struct mc_err *err)
{
	const struct mc_cert_conf *cc = p->cc;
	const struct mc_deploy_report *rep = p->rep;

	pipeline_also(cc, rep, err);
	if (p->op == PIPE_FINISH)
		mc_err_prefix(err, "%s: version %04u (current) is not verified "
				   "live on every target; the next run tries "
				   "again",
			      cc->name, version);
	else if (!rep->changed)
		mc_err_prefix(err, "%s: version %04u was not deployed; nothing "
				   "was changed",
			      cc->name, version);
	else if (p->op == PIPE_REPAIR)
		mc_err_prefix(err, "%s: version %04u was written again but is "
				   "not verified live; the next run tries again",
			      cc->name, version);
	else if (prev == 0)
		mc_err_prefix(err, "%s: version %04u failed and there is no "
				   "version that was live before it to go back "
				   "to: the targets hold version %04u, not "
				   "verified; the next run tries again",
			      cc->name, version, version);
	else if (rep->rollback_ok)
		mc_err_prefix(err, "%s: version %04u failed and was rolled "
				   "back; version %04u is live and verified again",
			      cc->name, version, rep->rollback_version);
	else
		mc_err_prefix(err, "%s: version %04u failed, and ROLLBACK "
				   "FAILED (%s); the daemons may serve a broken "
				   "or unverified certificate: fix this by hand "
				   "(the next run tries version %04u again)",
			      cc->name, version, rep->rollback_error, prev);
}

/* pipeline_go - the whole pipeline (see deploy.h). */
static int
pipeline_go(const struct mc_config *cfg, const struct mc_cert_conf *cc,
	    unsigned version, unsigned prev, enum pipe_op op,
	    const struct mc_store_pending *finish,
	    struct mc_deploy_report *rep, struct mc_err *err)
{
	static const char *const ops[] = {"deploy", "rollback", "repair"};
	struct pipe p = {cfg, cc, NULL, rep, op, finish};
	bool repair = op == PIPE_REPAIR || op == PIPE_FINISH;
	int rc = -1;

	memset(rep, 0, sizeof(*rep));
	rep->version = version;
	if (repair)
		prev = 0;
	if (pipeline_targets(cfg, cc, rep, &p.t, err) == -1)
		return -1;
	if (op != PIPE_FINISH &&
	    pipeline_journal(&p, ops[op], version, prev, err) == -1)
		goto out;
	if (pipeline_run(&p, version, err) == 0) {
		rc = pipeline_settle(&p, version, op != PIPE_DEPLOY, err);
		if (rc == 0 && rep->n_pending > 0)
			rc = pipeline_partial(&p, version, err);
		goto out;
	}
	if (!rep->changed && op != PIPE_FINISH)
		mc_store_journal_clear(cfg->state_dir, cc->name, NULL);
	else if (prev != 0)
		pipeline_rollback(&p, version, prev, err);
	else if (!repair)
		pipeline_mark(&p, version, "failed", err->msg);
	pipeline_explain(&p, version, prev, err);
out:
	free(p.t);
	return rc;
}

/* mc_deploy_version - deploy version, rolling back to prev on failure. */
int
mc_deploy_version(const struct mc_config *cfg, const struct mc_cert_conf *cc,
		  unsigned version, unsigned prev, struct mc_deploy_report *rep,
		  struct mc_err *err)
{
	return pipeline_go(cfg, cc, version, prev, PIPE_DEPLOY, NULL, rep, err);
}

/* mc_deploy_rollback - deploy version as a rollback from prev. */
int
mc_deploy_rollback(const struct mc_config *cfg, const struct mc_cert_conf *cc,
		   unsigned version, unsigned prev,
		   struct mc_deploy_report *rep, struct mc_err *err)
{
	return pipeline_go(cfg, cc, version, prev, PIPE_BACK, NULL, rep, err);
}

/* mc_deploy_repair - deploy version again, without a rollback. */
int
mc_deploy_repair(const struct mc_config *cfg, const struct mc_cert_conf *cc,
		 unsigned version, struct mc_deploy_report *rep,
		 struct mc_err *err)
{
	return pipeline_go(cfg, cc, version, 0, PIPE_REPAIR, NULL, rep, err);
}

/* mc_deploy_finish - reload and verify the pending targets of version. */
int
mc_deploy_finish(const struct mc_config *cfg, const struct mc_cert_conf *cc,
		 unsigned version, const struct mc_store_pending *pending,
		 struct mc_deploy_report *rep, struct mc_err *err)
{
	return pipeline_go(cfg, cc, version, 0, PIPE_FINISH, pending, rep, err);
}
