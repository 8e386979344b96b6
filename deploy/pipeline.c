/*
 * pipeline.c - write, reload, verify; roll back when any of it fails.
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

#define RELOAD_TIMEOUT 60

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

/* One pipeline run over the targets of a cert. */
struct pipe {
	const struct mc_config *cfg;
	const struct mc_cert_conf *cc;
	const struct mc_target **t;
	struct mc_deploy_report *rep;
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

/* pipeline_apply - switch every target to version and reload them; the
 * pairs stay in *pairs for the live check. */
static int
pipeline_apply(const struct pipe *p, unsigned version, struct mc_pairs *pairs,
	       struct mc_err *err)
{
	size_t i;

	if (pipeline_load(p, version, pairs, err) == -1)
		return -1;
	if (pipeline_switch(p, version, pairs, err) == -1)
		return -1;
	p->rep->hook_failures +=
		mc_deploy_reload_hooks(p->cfg, p->cc, version, NULL);
	for (i = 0; i < p->cc->n_targets; i++)
		if (mc_deploy_reload(p->t[i], RELOAD_TIMEOUT, err) == -1) {
			pipeline_note(&p->rep->targets[i], MC_STEP_RELOAD, err);
			return -1;
		}
	return 0;
}

/* pipeline_run - apply version and verify it live. */
static int
pipeline_run(const struct pipe *p, unsigned version, struct mc_err *err)
{
	struct mc_pairs pairs;
	int rc;

	memset(&pairs, 0, sizeof(pairs));
	mc_log_info("%s: deploying version %04u to %zu target(s)", p->cc->name,
		    version, p->cc->n_targets);
	rc = pipeline_apply(p, version, &pairs, err);
	for (size_t i = 0; i < pairs.n; i++) { /* the check needs the leaves */
		EVP_PKEY_free(pairs.p[i].key);
		pairs.p[i].key = NULL;
	}
	if (rc == 0) {
		free(p->rep->live.rows);
		memset(&p->rep->live, 0, sizeof(p->rep->live));
		rc = mc_deploy_verify_live(p->cc, &pairs, &p->rep->live, err);
	}
	mc_pairs_clear(&pairs);
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

/* pipeline_settle - the version is live and verified: record it, make it
 * current (back: as a rollback, keeping its prior), close the journal. */
static int
pipeline_settle(const struct pipe *p, unsigned version, bool back,
		struct mc_err *err)
{
	const char *sd = p->cfg->state_dir, *name = p->cc->name;

	pipeline_mark(p, version, "deployed", NULL);
	if ((back ? mc_store_set_current_back(sd, name, version, err)
		  : mc_store_set_current(sd, name, version, err)) == -1)
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
	back.rep = &again;
	if (again.targets == NULL)
		mc_err_set(&err, MC_ERR_SYS, "out of memory");
	else if (pipeline_journal(p, "rollback", prev, 0, &err) == 0 &&
		 pipeline_run(&back, prev, &err) == 0 &&
		 pipeline_settle(&back, prev, true, &err) == 0)
		p->rep->rollback_ok = true;
	if (!p->rep->rollback_ok)
		snprintf(p->rep->rollback_error, sizeof(p->rep->rollback_error),
			 "%s", err.msg);
	mc_deploy_report_clear(&again);
}

/* pipeline_explain - the final error message of a failed deployment. */
static void
pipeline_explain(const struct mc_cert_conf *cc, unsigned version,
		 unsigned prev, bool repair, const struct mc_deploy_report *rep,
		 struct mc_err *err)
{
	if (!rep->changed)
		mc_err_prefix(err, "%s: version %04u was not deployed; nothing "
				   "was changed",
			      cc->name, version);
	else if (repair)
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

/* What a pipeline run is for. */
enum pipe_op {
	PIPE_DEPLOY,   /* a version becomes current (its prior is recorded) */
	PIPE_BACK,     /* a rollback: the version becomes current again */
	PIPE_REPAIR,   /* current again; no rollback, no failed mark */
};

/* pipeline_go - the whole pipeline (see deploy.h). */
static int
pipeline_go(const struct mc_config *cfg, const struct mc_cert_conf *cc,
	    unsigned version, unsigned prev, enum pipe_op op,
	    struct mc_deploy_report *rep, struct mc_err *err)
{
	static const char *const ops[] = {"deploy", "rollback", "repair"};
	struct pipe p = {cfg, cc, NULL, rep};
	bool repair = op == PIPE_REPAIR;
	int rc = -1;

	memset(rep, 0, sizeof(*rep));
	rep->version = version;
	if (repair)
		prev = 0;
	if (pipeline_targets(cfg, cc, rep, &p.t, err) == -1)
		return -1;
	if (pipeline_journal(&p, ops[op], version, prev, err) == -1)
		goto out;
	if (pipeline_run(&p, version, err) == 0) {
		rc = pipeline_settle(&p, version, op != PIPE_DEPLOY, err);
		goto out;
	}
	if (!rep->changed)
		mc_store_journal_clear(cfg->state_dir, cc->name, NULL);
	else if (prev != 0)
		pipeline_rollback(&p, version, prev, err);
	else if (!repair)
		pipeline_mark(&p, version, "failed", err->msg);
	pipeline_explain(cc, version, prev, repair, rep, err);
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
	return pipeline_go(cfg, cc, version, prev, PIPE_DEPLOY, rep, err);
}

/* mc_deploy_rollback - deploy version as a rollback from prev. */
int
mc_deploy_rollback(const struct mc_config *cfg, const struct mc_cert_conf *cc,
		   unsigned version, unsigned prev,
		   struct mc_deploy_report *rep, struct mc_err *err)
{
	return pipeline_go(cfg, cc, version, prev, PIPE_BACK, rep, err);
}

/* mc_deploy_repair - deploy version again, without a rollback. */
int
mc_deploy_repair(const struct mc_config *cfg, const struct mc_cert_conf *cc,
		 unsigned version, struct mc_deploy_report *rep,
		 struct mc_err *err)
{
	return pipeline_go(cfg, cc, version, 0, PIPE_REPAIR, rep, err);
}
