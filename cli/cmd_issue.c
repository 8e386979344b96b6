/*
 * cmd_issue.c - `mailcert issue NAME... | --all [--no-deploy] [--dry-run]`:
 * obtain a certificate now for each named cert (due or not), then deploy,
 * reload and verify it; --no-deploy stores it only; --dry-run orders from
 * the staging directory into a throwaway state (dry_run.c).
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "mailcert/interrupt.h"
#include "mailcert/lock.h"
#include "mailcert/log.h"
#include "mailcert/store.h"

struct issue_args {
	bool all, no_deploy, dry_run;
	char **names;
	size_t n_names;
};

/* issue_parse - names and options; 0 or the usage exit code. */
static int
issue_parse(int argc, char **argv, struct issue_args *a)
{
	int i;

	memset(a, 0, sizeof(*a));
	a->names = argv + 1;
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--all") == 0)
			a->all = true;
		else if (strcmp(argv[i], "--no-deploy") == 0)
			a->no_deploy = true;
		else if (strcmp(argv[i], "--dry-run") == 0)
			a->dry_run = true;
		else if (argv[i][0] == '-')
			return cli_usage_error("issue", "unknown option %s",
					       argv[i]);
		else
			a->names[a->n_names++] = argv[i];
	}
	if (a->all == (a->n_names > 0))
		return cli_usage_error("issue", "name a cert, or use --all");
	if (a->no_deploy && a->dry_run)
		return cli_usage_error("issue", "--no-deploy and --dry-run "
						"exclude each other");
	return 0;
}

/* issue_select - the certs named on the command line (or all). */
static int
issue_select(const struct mc_config *cfg, const struct issue_args *a,
	     const struct mc_cert_conf ***out, size_t *n, struct mc_err *err)
{
	const struct mc_cert_conf **sel;
	size_t count = a->all ? cfg->n_certs : a->n_names, i;

	if (count == 0)
		return mc_err_set(err, MC_ERR_USAGE, "no [cert] section in %s",
				  cfg->path);
	sel = calloc(count, sizeof(*sel));
	if (sel == NULL)
		return mc_err_errno(err, MC_ERR_SYS, "out of memory");
	for (i = 0; i < count; i++) {
		sel[i] = a->all ? &cfg->certs[i]
				: mc_config_cert(cfg, a->names[i]);
		if (sel[i] == NULL) {
			free(sel);
			return mc_err_set(err, MC_ERR_USAGE,
					  "issue: no [cert %s] in %s",
					  a->names[i], cfg->path);
		}
	}
	*out = sel;
	*n = count;
	return 0;
}

/* issue_fleet_run - order cc, in fleet mode under the fleet lock (not
 * again when another host stored a version while this run waited). */
static void
issue_fleet_run(struct cli_run *run, const struct mc_cert_conf *cc)
{
	struct mc_err err;
	int held;

	mc_err_clear(&err);
	held = cli_fleet_hold(run, cc, &err);
	if (held == 0) {
		cli_run_cert(run, cc);
		return;
	}
	if (held == 1)
		return;
	if (run->failed++ == 0)
		run->first_err = err;
	fprintf(stderr, "mailcert: issue %s: %s\n", cc->name, err.msg);
}

/* cli_cmd_issue - `issue NAME... | --all [--no-deploy] [--dry-run]`: each
 * cert after finishing what an interrupted run left (its deployment then
 * writes every target). */
int
cli_cmd_issue(struct cli *cli, int argc, char **argv)
{
	struct mc_config *cfg = NULL;
	const struct mc_cert_conf **sel = NULL;
	struct issue_args args;
	struct cli_run run;
	struct mc_err err;
	size_t n = 0, i;
	bool stop;
	int lock = -1, rc;

	memset(&run, 0, sizeof(run));
	mc_err_clear(&err);
	rc = issue_parse(argc, argv, &args);
	if (rc != 0)
		return rc;
	mc_interrupt_catch(); /* SIGTERM: clean up, then exit 1 */
	if (cli_load_config(cli, &cfg, &err) == -1 ||
	    issue_select(cfg, &args, &sel, &n, &err) == -1 ||
	    (lock = mc_lock_take_run(cfg->state_dir, &run.interrupted,
				     &err)) == -1 ||
	    (args.dry_run && cli_dry_begin(cfg, &run.dry, &err) == -1)) {
		rc = cli_fail(&err);
		goto out;
	}
	run.cli = cli;
	run.cfg = run.dry ? cli_dry_config(run.dry) : cfg;
	run.command = "issue";
	run.no_deploy = args.no_deploy;
	run.results = cli->json ? json_array() : NULL;
	if (cfg->store != NULL && args.no_deploy && !args.dry_run) {
		mc_err_set(&err, MC_ERR_USAGE,
			   "issue: --no-deploy is not available in fleet mode: a "
			   "stored version becomes the fleet's current and every "
			   "host deploys it");
		rc = cli_fail(&err);
		goto out;
	}
	/* a dry run never touches the fleet: its state is thrown away */
	if (run.dry == NULL && cli_fleet_open(&run, &err) == -1) {
		rc = cli_fail(&err);
		goto out;
	}
	if (run.dry == NULL && run.interrupted)
		mc_store_clean_accounts(cfg->state_dir, NULL, NULL);
	if (cli_fleet_sync_certs(&run, sel, n) == 0)
		for (i = 0; i < n; i++)
			if (cli_run_converge(&run, sel[i], MC_CONVERGE_JOURNAL,
					     &stop) == 0 ||
			    !stop)
				issue_fleet_run(&run, sel[i]);
	rc = cli_run_finish(&run);
out:
	cli_dry_end(run.dry);
	cli_run_free(&run);
	mc_lock_release(lock);
	free(sel);
	mc_config_free(cfg);
	return rc;
}
