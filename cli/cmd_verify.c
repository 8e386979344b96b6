/*
 * cmd_verify.c - `mailcert verify NAME`: does every endpoint serve the
 * current version, for each name by SNI and once without SNI (unless
 * verify_without_sni = no), for each key type of the cert?
 */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "mailcert/lock.h"
#include "mailcert/store.h"

/* verify_record - the outcome in last.json, when no other run holds the
 * lock (it records its own outcome then). */
static void
verify_record(const struct mc_config *cfg, const struct mc_cert_conf *cc,
	      const struct mc_live_report *live, int rc)
{
	int lock = mc_lock_take(cfg->state_dir, NULL);

	if (lock == -1)
		return;
	cli_last_live(cfg, cc, live, rc);
	cli_metrics_update(cfg);
	mc_lock_release(lock);
}

/* verify_run - load the current leaf and check it live. */
static int
verify_run(struct cli *cli, const struct mc_config *cfg,
	   const struct mc_cert_conf *cc, struct mc_err *err)
{
	struct mc_live_report live = {0};
	struct mc_pairs pairs;
	unsigned cur = 0;
	int found, rc = -1;

	found = mc_store_current(cfg->state_dir, cc->name, &cur, err);
	if (found != 1)
		return found == -1 ? -1
				   : mc_err_set(err, MC_ERR_USAGE,
						"%s has no certificate yet",
						cc->name);
	if (cc->n_verify == 0)
		return mc_err_set(err, MC_ERR_USAGE,
				  "[cert %s] has no verify endpoints", cc->name);
	if (mc_store_load_chains(cfg->state_dir, cc->name, cur, &pairs, err) ==
	    -1)
		return -1;
	rc = mc_deploy_verify_live(cc, &pairs, &live, err);
	verify_record(cfg, cc, &live, rc);
	if (cli->json)
		cli_print_json(cli_report_live_json(&live));
	else if (cli->verbosity >= 0)
		cli_report_live_text(cc->name, &live);
	free(live.rows);
	mc_pairs_clear(&pairs);
	return rc;
}

/* cli_cmd_verify - `verify NAME`. */
int
cli_cmd_verify(struct cli *cli, int argc, char **argv)
{
	struct mc_config *cfg = NULL;
	const struct mc_cert_conf *cc;
	struct mc_err err;
	int rc = 0;

	mc_err_clear(&err);
	if (cli_load_config(cli, &cfg, &err) == -1 ||
	    (cc = cli_cert_arg(cfg, "verify", argc, argv, &err)) == NULL ||
	    verify_run(cli, cfg, cc, &err) == -1)
		rc = cli_fail(&err);
	mc_config_free(cfg);
	return rc;
}
