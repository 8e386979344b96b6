/*
 * pipeline_int.h - the per-target gate of the deploy pipeline
 * (deploy/pipeline_gate.c): after a target's files are written, does its
 * daemon read them (mc_daemon_target_check) and does it run? A daemon
 * that reads other files is left "not yet configured", one that does not
 * run "down": neither is reloaded, their endpoints are not checked, and
 * the target is recorded as pending (store.h). Everything else goes on
 * as before: reload, live check, rollback on failure.
 */
#ifndef MAILCERT_DEPLOY_PIPELINE_INT_H
#define MAILCERT_DEPLOY_PIPELINE_INT_H

#include "mailcert/deploy.h"
#include "mailcert/store.h"
#include "deploy/owner_int.h"

/* gate_target - judge t's daemon for cert cc: fills row (failed_at
 * MC_STEP_UNCONFIGURED or MC_STEP_DOWN, with detail and fix) and, when t
 * has a daemon, *od (*has_od true; od->why a static string). Returns
 * whether t is to be reloaded. A configuration that cannot be read is
 * logged and the target deployed as configured. */
bool gate_target(const struct mc_target *t, const struct mc_cert_conf *cc,
		 struct mc_target_row *row, struct owner_daemon *od,
		 bool *has_od);

/* gate_pending - the pending targets of rep for version (new targets
 * array in *out: free with mc_store_pending_free). */
int gate_pending(const struct mc_deploy_report *rep, unsigned version,
		 struct mc_store_pending *out, struct mc_err *err);

/* gate_explain - append to err what each pending target of rep needs:
 * MC_ERR_DEPLOY when a daemon is down, else MC_ERR_VERIFY (not yet
 * configured). */
void gate_explain(const struct mc_cert_conf *cc,
		  const struct mc_deploy_report *rep, struct mc_err *err);

#endif
