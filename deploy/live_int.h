/*
 * live_int.h - the live check with endpoints left out (deploy-internal):
 * the pipeline leaves out the endpoints of daemons that do not read
 * mailcert's files yet or do not run (owner_int.h says which endpoint is
 * whose); their rows are MC_LIVE_SKIPPED and never probed.
 */
#ifndef MAILCERT_DEPLOY_LIVE_INT_H
#define MAILCERT_DEPLOY_LIVE_INT_H

#include "mailcert/deploy.h"
#include "deploy/owner_int.h"

/* live_verify - mc_deploy_verify_live, leaving out the endpoints that
 * belong to a daemon of d (n of them) marked skip. */
int live_verify(const struct mc_cert_conf *cc, const struct mc_pairs *pairs,
		const struct owner_daemon *d, size_t n,
		struct mc_live_report *live, struct mc_err *err);

#endif
