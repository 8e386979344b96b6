/*
 * cmd_issue.c - `mailcert issue NAME... | --all`: obtain a certificate now
 * for each named cert (due or not), then deploy, reload and verify it.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "mailcert/lock.h"
#include "mailcert/store.h"

/* issue_select - the certs named on the command line (or all). */
static int
issue_select(const struct mc_config *cfg, int argc, char **argv,
	     const struct mc_cert_conf ***out, size_t *n, struct mc_err *err)
{
	const struct mc_cert_conf **sel;
	bool all = argc == 2 && strcmp(argv[1], "--all") == 0;
	size_t count = all ? cfg->n_certs : (size_t)(argc - 1), i;

	if (count == 0)
		return mc_err_set(err, MC_ERR_USAGE,
				  all ? "no [cert] section in %s"
				      : "issue: name a cert, or use --all (%s)",
				  cfg->path);
	sel = calloc(count, sizeof(*sel));
	if (sel == NULL)
		return mc_err_errno(err, MC_ERR_SYS, "out of memory");
	for (i = 0; i < count; i++) {
		sel[i] = all ? &cfg->certs[i] : mc_config_cert(cfg, argv[i + 1]);
		if (sel[i] == NULL) {
			free(sel);
			return mc_err_set(err, MC_ERR_USAGE,
					  "issue: no [cert %s] in %s",
					  argv[i + 1], cfg->path);
		}
	}
	*out = sel;
	*n = count;
	return 0;
}

/* cli_cmd_issue - `issue NAME... | --all`: each cert after finishing what
 * an interrupted run left (its deployment then writes every target). */
int
cli_cmd_issue(struct cli *cli, int argc, char **argv)
{
	struct mc_config *cfg = NULL;
	const struct mc_cert_conf **sel = NULL;
	struct cli_run run;
	struct mc_err err;
	size_t n = 0, i;
	bool stop;
	int lock = -1, rc;

	memset(&run, 0, sizeof(run));
	mc_err_clear(&err);
	if (argc < 2)
		return cli_usage_error("issue", "name a cert, or use --all");
	if (cli_load_config(cli, &cfg, &err) == -1 ||
	    issue_select(cfg, argc, argv, &sel, &n, &err) == -1 ||
	    (lock = mc_lock_take(cfg->state_dir, &err)) == -1) {
		rc = cli_fail(&err);
		goto out;
	}
	run.cli = cli;
	run.cfg = cfg;
	run.results = cli->json ? json_array() : NULL;
	mc_store_clean_accounts(cfg->state_dir, NULL, NULL);
	for (i = 0; i < n; i++)
		if (cli_run_converge(&run, sel[i], MC_CONVERGE_JOURNAL, &stop) ==
			    0 ||
		    !stop)
			cli_run_cert(&run, sel[i]);
	rc = cli_run_finish(&run);
out:
	cli_run_free(&run);
	mc_lock_release(lock);
	free(sel);
	mc_config_free(cfg);
	return rc;
}
