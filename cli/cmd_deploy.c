/*
 * cmd_deploy.c - `mailcert deploy NAME [--version N]` and `mailcert
 * rollback NAME`. Both first finish a deployment an earlier run left
 * interrupted. `deploy` writes the current version to every target again,
 * reloads and verifies (no rollback: current is what should be live);
 * `deploy --version N` makes stored version N current once verified, and
 * `rollback` the version that was current before the present one; those
 * two roll back to the present version if they fail.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "mailcert/fsio.h"
#include "mailcert/lock.h"
#include "mailcert/store.h"

/* deploy_print - the report of a deployment, and its one-line outcome. */
static void
deploy_print(struct cli *cli, const struct mc_cert_conf *cc,
	     const struct mc_deploy_report *rep, int rc, json_t *into)
{
	if (into != NULL)
		json_object_set_new(into, "deploy", cli_report_json(rep));
	else if (cli->json)
		cli_print_json(cli_report_json(rep));
	else if (cli->verbosity >= 0)
		cli_report_text(cc->name, rep);
	if (rc == 0 && !cli->json && cli->verbosity >= 0)
		printf("%s: version %04u deployed and verified live\n",
		       cc->name, rep->version);
}

/* cli_deploy_run - deploy version of cc (prev: rollback target) and report. */
int
cli_deploy_run(struct cli *cli, const struct mc_config *cfg,
	       const struct mc_cert_conf *cc, unsigned version, unsigned prev,
	       json_t *into, struct mc_err *err)
{
	struct mc_deploy_report rep;
	int rc;

	rc = mc_deploy_version(cfg, cc, version, prev, &rep, err);
	deploy_print(cli, cc, &rep, rc, into);
	mc_deploy_report_clear(&rep);
	return rc;
}

/* deploy_repair_run - write the current version again (no rollback). */
static int
deploy_repair_run(struct cli *cli, const struct mc_config *cfg,
		  const struct mc_cert_conf *cc, unsigned cur,
		  struct mc_err *err)
{
	struct mc_deploy_report rep;
	int rc;

	rc = mc_deploy_repair(cfg, cc, cur, &rep, err);
	deploy_print(cli, cc, &rep, rc, NULL);
	mc_deploy_report_clear(&rep);
	return rc;
}

/* deploy_args - take `--version N` out of argv (deploy only). */
static int
deploy_args(int *argc, char **argv, bool rollback, unsigned *version,
	    struct mc_err *err)
{
	char *end = NULL;
	unsigned long v;
	int i, j;

	*version = 0;
	for (i = j = 1; i < *argc; i++) {
		if (strcmp(argv[i], "--version") != 0) {
			argv[j++] = argv[i];
			continue;
		}
		if (rollback || i + 1 >= *argc)
			return mc_err_set(err, MC_ERR_USAGE,
					  "%s: --version takes a version "
					  "number (deploy only)",
					  rollback ? "rollback" : "deploy");
		errno = 0;
		v = strtoul(argv[++i], &end, 10);
		if (errno != 0 || *end != '\0' || v == 0 || v > 999999)
			return mc_err_set(err, MC_ERR_USAGE,
					  "deploy: --version %s is not a "
					  "version number",
					  argv[i]);
		*version = (unsigned)v;
	}
	*argc = j;
	return 0;
}

/* deploy_converge - finish an interrupted deployment first; report drift. */
static int
deploy_converge(struct cli *cli, const struct mc_config *cfg,
		const struct mc_cert_conf *cc, struct mc_err *err)
{
	struct mc_converge_report rep;
	int rc;

	rc = mc_deploy_converge(cfg, cc, MC_CONVERGE_JOURNAL, &rep, err);
	if (cli_converge_eventful(&rep) && !cli->json && cli->verbosity >= 0)
		cli_converge_text(cc->name, &rep);
	mc_converge_report_clear(&rep);
	return rc;
}

/* deploy_prior - the version rollback goes to: the one current before
 * cur, if it can be served. */
static int
deploy_prior(const struct mc_config *cfg, const struct mc_cert_conf *cc,
	     unsigned cur, unsigned *out, struct mc_err *err)
{
	struct mc_cert_meta meta;
	int found = mc_store_prior(cfg->state_dir, cc->name, cur, out, err);
	bool revoked;

	if (found == -1)
		return -1;
	if (found == 0)
		return mc_err_set(err, MC_ERR_USAGE,
				  "%s: no version was current before %04u; "
				  "nothing to roll back to (deploy --version N "
				  "deploys any stored version)",
				  cc->name, cur);
	if (mc_store_load_meta(cfg->state_dir, cc->name, *out, &meta, err) ==
	    -1)
		return -1;
	revoked = strcmp(meta.status, "revoked") == 0;
	mc_store_meta_clear(&meta);
	if (revoked)
		return mc_err_set(err, MC_ERR_USAGE,
				  "%s: version %04u, current before %04u, is "
				  "revoked; not rolling back to it",
				  cc->name, *out, cur);
	return 0;
}

/* deploy_current - the current version of cc, or a usage error. */
static int
deploy_current(const struct mc_config *cfg, const struct mc_cert_conf *cc,
	       unsigned *cur, struct mc_err *err)
{
	int found = mc_store_current(cfg->state_dir, cc->name, cur, err);

	if (found == -1)
		return -1;
	if (found == 0)
		return mc_err_set(err, MC_ERR_USAGE,
				  "%s has no current certificate; run `mailcert "
				  "issue %s`, or `mailcert deploy %s --version "
				  "N` for a stored version",
				  cc->name, cc->name, cc->name);
	return 0;
}

/* deploy_go - after convergence: what the command asked for. */
static int
deploy_go(struct cli *cli, const struct mc_config *cfg,
	  const struct mc_cert_conf *cc, bool rollback, unsigned version,
	  struct mc_err *err)
{
	char dir[4200];
	unsigned cur = 0, prior = 0;

	if (version != 0) {
		if (mc_store_path(cfg->state_dir, cc->name, version, NULL, dir,
				  sizeof(dir), err) == -1)
			return -1;
		if (!mc_fsio_exists(dir))
			return mc_err_set(err, MC_ERR_USAGE,
					  "%s: there is no stored version "
					  "%04u (%s)",
					  cc->name, version, dir);
		if (mc_store_current(cfg->state_dir, cc->name, &cur, err) == -1)
			return -1;
		if (version != cur)
			return cli_deploy_run(cli, cfg, cc, version, cur, NULL,
					      err);
	}
	if (deploy_current(cfg, cc, &cur, err) == -1)
		return -1;
	if (!rollback)
		return deploy_repair_run(cli, cfg, cc, cur, err);
	if (deploy_prior(cfg, cc, cur, &prior, err) == -1)
		return -1;
	return cli_deploy_run(cli, cfg, cc, prior, cur, NULL, err);
}

/* deploy_command - `deploy NAME [--version N]` or `rollback NAME`. */
static int
deploy_command(struct cli *cli, int argc, char **argv, bool rollback)
{
	const char *cmd = rollback ? "rollback" : "deploy";
	struct mc_config *cfg = NULL;
	const struct mc_cert_conf *cc;
	struct mc_err err;
	unsigned version = 0;
	int lock = -1, rc = 0;

	mc_err_clear(&err);
	if (deploy_args(&argc, argv, rollback, &version, &err) == -1 ||
	    cli_load_config(cli, &cfg, &err) == -1 ||
	    (cc = cli_cert_arg(cfg, cmd, argc, argv, &err)) == NULL ||
	    (lock = mc_lock_take(cfg->state_dir, &err)) == -1 ||
	    deploy_converge(cli, cfg, cc, &err) == -1 ||
	    deploy_go(cli, cfg, cc, rollback, version, &err) == -1)
		rc = cli_fail(&err);
	mc_lock_release(lock);
	mc_config_free(cfg);
	return rc;
}

/* cli_cmd_deploy - `deploy NAME [--version N]`. */
int
cli_cmd_deploy(struct cli *cli, int argc, char **argv)
{
	return deploy_command(cli, argc, argv, false);
}

/* cli_cmd_rollback - `rollback NAME`: the version current before, again. */
int
cli_cmd_rollback(struct cli *cli, int argc, char **argv)
{
	return deploy_command(cli, argc, argv, true);
}
