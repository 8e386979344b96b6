/*
 * converge.c - the start of every run that holds the lock (deploy.h):
 * leftovers removed, an interrupted deployment finished, targets that
 * differ from `current` repaired, all before anything else happens.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mailcert/crypto.h"
#include "mailcert/deploy.h"
#include "mailcert/log.h"
#include "mailcert/store.h"

/* mc_converge_report_clear - free a converge report. */
void
mc_converge_report_clear(struct mc_converge_report *rep)
{
	if (rep == NULL)
		return;
	free(rep->drift);
	mc_deploy_report_clear(&rep->deploy);
	memset(rep, 0, sizeof(*rep));
}

/* converge_clean - what interrupted runs left, in the state and beside
 * the targets (only names of our patterns; we hold the lock). */
static void
converge_clean(const struct mc_config *cfg, const struct mc_cert_conf *cc,
	       struct mc_converge_report *rep)
{
	const struct mc_target *t;
	size_t i;

	mc_store_clean(cfg->state_dir, cc->name, &rep->removed, NULL);
	for (i = 0; i < cc->n_targets; i++) {
		t = mc_config_target(cfg, cc->targets[i]);
		if (t != NULL)
			mc_deploy_clean(t, cc, &rep->removed, NULL);
	}
	if (rep->removed > 0)
		mc_log_info("%s: removed %u file(s) or directories left by an "
			    "interrupted run",
			    cc->name, rep->removed);
}

/* drift_holds - the newest stored version whose (first) leaf has sha256
 * (0: none). */
static unsigned
drift_holds(const struct mc_config *cfg, const struct mc_cert_conf *cc,
	    const char *sha256, unsigned newest)
{
	struct mc_cert_meta meta;
	unsigned v;
	bool same;

	for (v = newest; v >= 1 && sha256[0] != '\0'; v--) {
		if (mc_store_load_meta(cfg->state_dir, cc->name, v, &meta,
				       NULL) == -1)
			continue;
		same = strcmp(meta.sha256, sha256) == 0;
		mc_store_meta_clear(&meta);
		if (same)
			return v;
	}
	return 0;
}

/* drift_keytypes - rows for targets whose version holds other key types
 * than cc asks for: nothing to compare (the files follow the
 * configuration), a renewal orders the key types configured. */
static void
drift_keytypes(const struct mc_cert_conf *cc, unsigned version,
	       const struct mc_pairs *pairs, struct mc_drift_row *r)
{
	enum mc_key_type types[MC_KEY_TYPES_MAX];
	char have[64], want[64];
	size_t i;

	for (i = 0; i < pairs->n && i < MC_KEY_TYPES_MAX; i++)
		types[i] = pairs->p[i].type;
	mc_key_types_text(types, pairs->n, have, sizeof(have));
	mc_key_types_text(cc->key_types, cc->n_key_types, want, sizeof(want));
	for (i = 0; i < cc->n_targets; i++) {
		snprintf(r[i].target, sizeof(r[i].target), "%s", cc->targets[i]);
		r[i].state = MC_DRIFT_KEYTYPES;
		snprintf(r[i].detail, sizeof(r[i].detail),
			 "version %04u holds %s, key_type is %s: the next "
			 "renewal orders it",
			 version, have, want);
	}
}

/* mc_deploy_drift - every target of cc against stored version. */
int
mc_deploy_drift(const struct mc_config *cfg, const struct mc_cert_conf *cc,
		unsigned version, struct mc_drift_row **rows, size_t *n,
		struct mc_err *err)
{
	struct mc_drift_row *r = NULL;
	const struct mc_target *t;
	struct mc_pairs pairs;
	unsigned newest = version;
	size_t i;
	int rc = -1;

	memset(&pairs, 0, sizeof(pairs));
	mc_store_max_version(cfg->state_dir, cc->name, &newest, NULL);
	if (mc_store_load_pairs(cfg->state_dir, cc->name, version, &pairs,
				err) == -1)
		goto out;
	r = calloc(cc->n_targets + 1, sizeof(*r));
	if (r == NULL) {
		mc_err_errno(err, MC_ERR_SYS, "out of memory");
		goto out;
	}
	if (pairs.n != cc->n_key_types)
		drift_keytypes(cc, version, &pairs, r);
	for (i = 0; pairs.n == cc->n_key_types && i < cc->n_targets; i++) {
		t = mc_config_target(cfg, cc->targets[i]);
		if (t == NULL ||
		    mc_deploy_target_drift(t, cc, &pairs, &r[i], err) == -1)
			goto out;
		if (r[i].state == MC_DRIFT_OTHER)
			r[i].holds = drift_holds(cfg, cc, r[i].leaf_sha256,
						 newest);
	}
	*rows = r;
	*n = cc->n_targets;
	r = NULL;
	rc = 0;
out:
	free(r);
	mc_pairs_clear(&pairs);
	return rc;
}

/* converge_usable - whether version exists and was not revoked. */
static bool
converge_usable(const struct mc_config *cfg, const struct mc_cert_conf *cc,
		unsigned version)
{
	struct mc_cert_meta meta;
	bool ok;

	if (version == 0 || mc_store_load_meta(cfg->state_dir, cc->name,
					       version, &meta, NULL) == -1)
		return false;
	ok = strcmp(meta.status, "revoked") != 0;
	mc_store_meta_clear(&meta);
	return ok;
}

/* converge_finish - the deployment a journal says was interrupted: its
 * `to` version again (rolling back to `from` if that fails), or `from`
 * when `to` cannot be used any more. */
static int
converge_finish(const struct mc_config *cfg, const struct mc_cert_conf *cc,
		const struct mc_store_journal *j, struct mc_converge_report *rep,
		struct mc_err *err)
{
	unsigned to = j->to, from = j->from;
	int rc;

	if (!converge_usable(cfg, cc, to)) {
		to = from;
		from = 0;
	}
	if (to == 0)
		return mc_store_journal_clear(cfg->state_dir, cc->name, err);
	mc_log_warn("%s: a %s of version %04u was interrupted (pid %ld); "
		    "finishing it with version %04u",
		    cc->name, j->op, j->to, j->pid, to);
	rep->deployed = true;
	rep->deployed_version = to;
	if (from != 0 && strcmp(j->op, "rollback") == 0)
		rc = mc_deploy_rollback(cfg, cc, to, from, &rep->deploy, err);
	else if (from != 0)
		rc = mc_deploy_version(cfg, cc, to, from, &rep->deploy, err);
	else
		rc = mc_deploy_repair(cfg, cc, to, &rep->deploy, err);
	rep->deploy_ok = rc == 0;
	return rc;
}

/* converge_report_drift - log each target that differs from current. */
static void
converge_report_drift(const struct mc_cert_conf *cc, unsigned cur,
		      struct mc_converge_report *rep)
{
	const struct mc_drift_row *r;
	size_t i;

	for (i = 0; i < rep->n_drift; i++) {
		r = &rep->drift[i];
		if (r->state == MC_DRIFT_OK)
			continue;
		if (r->state == MC_DRIFT_KEYTYPES) { /* renewal's job */
			mc_log_info("%s: target %s: %s", cc->name, r->target,
				    r->detail);
			continue;
		}
		rep->n_bad++;
		if (r->holds != 0 && r->holds != cur)
			mc_log_warn("%s: target %s holds version %04u, %s than "
				    "current %04u",
				    cc->name, r->target, r->holds,
				    r->holds > cur ? "newer" : "older", cur);
		else
			mc_log_warn("%s: target %s differs from current %04u "
				    "(%s): %s",
				    cc->name, r->target, cur,
				    mc_drift_state_name(r->state), r->detail);
	}
}

/* converge_drift - compare the targets with current; with repair, deploy
 * current again (verified live) when one differs. */
static int
converge_drift(const struct mc_config *cfg, const struct mc_cert_conf *cc,
	       enum mc_converge_mode mode, struct mc_converge_report *rep,
	       struct mc_err *err)
{
	if (mc_deploy_drift(cfg, cc, rep->current, &rep->drift, &rep->n_drift,
			    err) == -1)
		return mc_err_prefix(err, "%s: comparing the targets with "
					  "current",
				     cc->name);
	converge_report_drift(cc, rep->current, rep);
	if (rep->n_bad == 0 || mode != MC_CONVERGE_REPAIR || rep->deployed)
		return 0;
	mc_log_warn("%s: repairing %zu target(s): deploying current version "
		    "%04u again",
		    cc->name, rep->n_bad, rep->current);
	rep->deployed = true;
	rep->deployed_version = rep->current;
	if (mc_deploy_repair(cfg, cc, rep->current, &rep->deploy, err) == -1)
		return -1;
	rep->deploy_ok = true;
	return 0;
}

/* converge_state - the current version (0: none), refusing state that
 * would make a renewal order blindly or hang: `current` not a link, or its
 * meta.json not a regular file (a FIFO, a directory). */
static int
converge_state(const struct mc_config *cfg, const struct mc_cert_conf *cc,
	       unsigned *cur, struct mc_err *err)
{
	char path[4200];
	struct stat st;

	if (mc_store_current(cfg->state_dir, cc->name, cur, err) == -1)
		return -1;
	if (*cur == 0 || mc_store_path(cfg->state_dir, cc->name, *cur,
				       "meta.json", path, sizeof(path),
				       err) == -1)
		return *cur == 0 ? 0 : -1;
	if (stat(path, &st) == -1)
		return mc_err_errno(err, MC_ERR_INPUT,
				    "%s: current version %04u: %s", cc->name,
				    *cur, path);
	if (!S_ISREG(st.st_mode))
		return mc_err_set(err, MC_ERR_INPUT,
				  "%s: current version %04u: %s is not a regular "
				  "file (a FIFO, device or directory?); replace "
				  "it with the file it should be",
				  cc->name, *cur, path);
	return 0;
}

/* mc_deploy_converge - bring cert cc back to a settled state. */
int
mc_deploy_converge(const struct mc_config *cfg, const struct mc_cert_conf *cc,
		   enum mc_converge_mode mode, bool clean,
		   struct mc_converge_report *rep, struct mc_err *err)
{
	struct mc_store_journal j;
	int found, rc = 0;

	memset(rep, 0, sizeof(*rep));
	if (clean)
		converge_clean(cfg, cc, rep);
	if (converge_state(cfg, cc, &rep->current, err) == -1 ||
	    (found = mc_store_journal_read(cfg->state_dir, cc->name, &j,
					   err)) == -1) {
		rep->stop = true;
		return -1;
	}
	if (found == 1) {
		rep->interrupted = true;
		snprintf(rep->journal_op, sizeof(rep->journal_op), "%s", j.op);
		rep->journal_to = j.to;
		rep->journal_from = j.from;
		rc = converge_finish(cfg, cc, &j, rep, err);
		rep->current = 0;
		if (mc_store_current(cfg->state_dir, cc->name, &rep->current,
				     NULL) == -1)
			rep->current = 0;
	}
	if (rc == -1 || rep->current == 0 || cc->n_targets == 0)
		return rc;
	return converge_drift(cfg, cc, mode, rep, err);
}
