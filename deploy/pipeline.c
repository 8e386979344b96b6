/*
 * pipeline.c - write, reload, verify; roll back when any of it fails.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* pipeline_apply - check, write and reload every target with version. */
static int
pipeline_apply(const struct mc_config *cfg, const struct mc_cert_conf *cc,
	       const struct mc_target **t, unsigned version,
	       struct mc_deploy_report *rep, STACK_OF(X509) **chain_out,
	       bool *changed, struct mc_err *err)
{
	EVP_PKEY *key = mc_store_load_key(cfg->state_dir, cc->name, version, err);
	STACK_OF(X509) *chain = NULL;
	size_t i;
	int rc = -1;

	if (key == NULL ||
	    (chain = mc_store_load_chain(cfg->state_dir, cc->name, version,
					 err)) == NULL)
		goto out;
	for (i = 0; i < cc->n_targets; i++)
		if (mc_deploy_check(t[i], cc->name, err) == -1) {
			pipeline_note(&rep->targets[i], MC_STEP_CHECK, err);
			goto out;
		}
	*changed = true;
	for (i = 0; i < cc->n_targets; i++)
		if (mc_deploy_write(t[i], cc->name, key, chain, err) == -1) {
			pipeline_note(&rep->targets[i], MC_STEP_WRITE, err);
			goto out;
		}
	rep->hook_failures += mc_deploy_reload_hooks(cfg, cc, version, NULL);
	for (i = 0; i < cc->n_targets; i++)
		if (mc_deploy_reload(t[i], RELOAD_TIMEOUT, err) == -1) {
			pipeline_note(&rep->targets[i], MC_STEP_RELOAD, err);
			goto out;
		}
	rc = 0;
out:
	EVP_PKEY_free(key);
	if (rc == 0 && chain_out != NULL)
		*chain_out = chain;
	else
		sk_X509_pop_free(chain, X509_free);
	return rc;
}

/* pipeline_run - apply version and verify it live. */
static int
pipeline_run(const struct mc_config *cfg, const struct mc_cert_conf *cc,
	     const struct mc_target **t, unsigned version,
	     struct mc_deploy_report *rep, bool *changed, struct mc_err *err)
{
	STACK_OF(X509) *chain = NULL;
	int rc;

	mc_log_info("%s: deploying version %04u to %zu target(s)", cc->name,
		    version, cc->n_targets);
	if (pipeline_apply(cfg, cc, t, version, rep, &chain, changed, err) ==
	    -1)
		return -1;
	free(rep->live.rows);
	memset(&rep->live, 0, sizeof(rep->live));
	rc = mc_deploy_verify_live(cc, sk_X509_value(chain, 0), &rep->live,
				   err);
	sk_X509_pop_free(chain, X509_free);
	return rc;
}

/* pipeline_mark - set status (and error) in a version's meta.json. */
static void
pipeline_mark(const struct mc_config *cfg, const struct mc_cert_conf *cc,
	      unsigned version, const char *status, const char *error)
{
	struct mc_cert_meta meta;

	if (mc_store_load_meta(cfg->state_dir, cc->name, version, &meta,
			       NULL) == -1)
		return;
	snprintf(meta.status, sizeof(meta.status), "%s", status);
	free(meta.last_error);
	meta.last_error = error ? strdup(error) : NULL;
	if (mc_store_save_meta(cfg->state_dir, cc->name, &meta, NULL) == -1)
		mc_log_warn("%s: cannot record status %s in version %04u",
			    cc->name, status, version);
	mc_store_meta_clear(&meta);
}

/* pipeline_rollback - put prev back everywhere and verify it. */
static void
pipeline_rollback(const struct mc_config *cfg, const struct mc_cert_conf *cc,
		  const struct mc_target **t, unsigned version, unsigned prev,
		  struct mc_deploy_report *rep, const struct mc_err *cause)
{
	struct mc_deploy_report again;
	struct mc_err err;
	bool changed = false;

	pipeline_mark(cfg, cc, version, "failed", cause->msg);
	rep->rolled_back = true;
	rep->rollback_version = prev;
	if (prev == 0) {
		snprintf(rep->rollback_error, sizeof(rep->rollback_error),
			 "there is no previous version to roll back to");
		return;
	}
	memset(&again, 0, sizeof(again));
	mc_err_clear(&err);
	again.targets = calloc(cc->n_targets + 1, sizeof(*again.targets));
	if (again.targets != NULL &&
	    pipeline_run(cfg, cc, t, prev, &again, &changed, &err) == 0 &&
	    mc_store_set_current(cfg->state_dir, cc->name, prev, &err) == 0)
		rep->rollback_ok = true;
	else
		snprintf(rep->rollback_error, sizeof(rep->rollback_error), "%s",
			 err.msg[0] ? err.msg : "out of memory");
	mc_deploy_report_clear(&again);
}

/* pipeline_explain - the final error message after a rollback. */
static void
pipeline_explain(const struct mc_cert_conf *cc, unsigned version,
		 const struct mc_deploy_report *rep, struct mc_err *err)
{
	if (rep->rollback_ok)
		mc_err_prefix(err, "%s: version %04u failed and was rolled "
				   "back; version %04u is live and verified again",
			      cc->name, version, rep->rollback_version);
	else
		mc_err_prefix(err, "%s: version %04u failed, and ROLLBACK "
				   "FAILED (%s); the daemons may serve a broken "
				   "or unverified certificate: fix this by hand",
			      cc->name, version, rep->rollback_error);
}

/* mc_deploy_version - the whole pipeline for one version. */
int
mc_deploy_version(const struct mc_config *cfg, const struct mc_cert_conf *cc,
		  unsigned version, unsigned prev, struct mc_deploy_report *rep,
		  struct mc_err *err)
{
	const struct mc_target **t = NULL;
	bool changed = false;
	int rc = -1;

	memset(rep, 0, sizeof(*rep));
	rep->version = version;
	if (pipeline_targets(cfg, cc, rep, &t, err) == -1)
		return -1;
	if (pipeline_run(cfg, cc, t, version, rep, &changed, err) == 0) {
		pipeline_mark(cfg, cc, version, "deployed", NULL);
		rc = mc_store_set_current(cfg->state_dir, cc->name, version,
					  err);
		goto out;
	}
	if (!changed) {
		mc_err_prefix(err, "%s: nothing was changed", cc->name);
		goto out;
	}
	pipeline_rollback(cfg, cc, t, version, prev, rep, err);
	pipeline_explain(cc, version, rep, err);
out:
	free(t);
	return rc;
}
