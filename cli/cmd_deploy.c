/*
 * cmd_deploy.c - `mailcert deploy NAME [--version N] [--force]` and
 * `mailcert rollback NAME`. Both first finish a deployment an earlier run
 * left interrupted (deploy.h, convergence). `deploy` writes the current
 * version to every target again, reloads and verifies (no rollback:
 * current is what should be live); `deploy --version N` makes stored
 * version N current once verified, and `rollback` the version that was
 * current before the present one; those two put the present version back
 * if they fail. With `tlsa` names, a version whose key DNS does not pin
 * (secure TLSA 3 1 1) is refused unless --force.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "mailcert/dane.h"
#include "mailcert/fsio.h"
#include "mailcert/lock.h"
#include "mailcert/log.h"
#include "mailcert/store.h"

struct deploy_args {
	char *argv[2];  /* command, NAME: what cli_cert_arg takes */
	int argc;
	unsigned version; /* 0: the current one */
	bool force;
};

/* deploy_parse - NAME, --version N (deploy only) and --force. */
static int
deploy_parse(int argc, char **argv, bool rollback, struct deploy_args *a,
	     struct mc_err *err)
{
	char *end;
	long v;
	int i;

	memset(a, 0, sizeof(*a));
	a->argv[a->argc++] = argv[0];
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--force") == 0) {
			a->force = true;
		} else if (!rollback && strcmp(argv[i], "--version") == 0 &&
			   i + 1 < argc) {
			v = strtol(argv[++i], &end, 10);
			if (*end != '\0' || v < 1 || v > 9999)
				return mc_err_set(err, MC_ERR_USAGE, "deploy: --version "
						  "wants a version number (1-9999)");
			a->version = (unsigned)v;
		} else if (argv[i][0] == '-' || a->argc == 2) {
			return mc_err_set(err, MC_ERR_USAGE, "%s: unexpected \"%s\"",
					  argv[0], argv[i]);
		} else {
			a->argv[a->argc++] = argv[i];
		}
	}
	return 0;
}

/* deploy_dane_gate - refuse a version whose key DNS does not pin (DANE). */
static int
deploy_dane_gate(const struct mc_config *cfg, const struct mc_cert_conf *cc,
		 unsigned version, bool force, struct mc_err *err)
{
	if (cc->n_tlsa == 0 || mc_dane_check_version(cfg, cc, version, err) == 0)
		return 0;
	if (!force)
		return -1;
	fprintf(stderr, "mailcert: --force: deploying anyway: %s\n", err->msg);
	mc_err_clear(err);
	return 0;
}

/* cli_deploy_prune - keep_versions after a verified deployment of version;
 * never version itself, nor the one a rollback from it would go to (its
 * prior; prev when none is recorded). */
void
cli_deploy_prune(const struct mc_config *cfg, const struct mc_cert_conf *cc,
	     unsigned version, unsigned prev)
{
	unsigned keep = prev, removed = 0;
	struct mc_err err;

	mc_err_clear(&err);
	if (mc_store_prior(cfg->state_dir, cc->name, version, &keep, NULL) != 1)
		keep = prev == version ? 0 : prev;
	if (mc_store_prune(cfg->state_dir, cc->name, cfg->keep_versions,
			   version, keep, &removed, &err) == -1)
		mc_log_warn("%s: keep_versions: %s", cc->name, err.msg);
}

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
		printf("%s: version %04u %s\n", cc->name, rep->version,
		       cc->n_verify > 0 ? "deployed and verified live"
					: "deployed, not verified (no verify "
					  "endpoints)");
}

/* deploy_done - what follows any deployment: hooks counted, last.json,
 * the printed report, keep_versions. */
static void
deploy_done(struct cli *cli, const struct mc_config *cfg,
	    const struct mc_cert_conf *cc, struct mc_deploy_report *rep,
	    unsigned prev, int rc, json_t *into)
{
	cli->hook_failures += rep->hook_failures;
	cli_last_deploy(cfg, cc, rep, rc);
	deploy_print(cli, cc, rep, rc, into);
	if (rc == 0)
		cli_deploy_prune(cfg, cc, rep->version, prev);
	mc_deploy_report_clear(rep);
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
	deploy_done(cli, cfg, cc, &rep, prev, rc, into);
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
	deploy_done(cli, cfg, cc, &rep, 0, rc, NULL);
	return rc;
}

/* deploy_back_run - roll back from cur to version (cur again if that fails). */
static int
deploy_back_run(struct cli *cli, const struct mc_config *cfg,
		const struct mc_cert_conf *cc, unsigned version, unsigned cur,
		struct mc_err *err)
{
	struct mc_deploy_report rep;
	int rc;

	rc = mc_deploy_rollback(cfg, cc, version, cur, &rep, err);
	deploy_done(cli, cfg, cc, &rep, 0, rc, NULL);
	return rc;
}

/* deploy_converge - finish an interrupted deployment first (and, after an
 * interrupted run, remove what it left); report drift. */
static int
deploy_converge(struct cli *cli, const struct mc_config *cfg,
		const struct mc_cert_conf *cc, bool interrupted,
		struct mc_err *err)
{
	struct mc_converge_report rep;
	int rc;

	rc = mc_deploy_converge(cfg, cc, MC_CONVERGE_JOURNAL, interrupted, &rep,
				err);
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

/* deploy_target - what the command deploys (*to) and what it falls back
 * to (*back; 0: no rollback, the repair of current). */
static int
deploy_target(const struct mc_config *cfg, const struct mc_cert_conf *cc,
	      bool rollback, unsigned version, unsigned *to, unsigned *back,
	      struct mc_err *err)
{
	char dir[4200];
	unsigned cur = 0;
	int found = mc_store_current(cfg->state_dir, cc->name, &cur, err);

	if (found == -1)
		return -1;
	*to = cur;
	*back = 0;
	if (version != 0 && version != cur) {
		if (mc_store_path(cfg->state_dir, cc->name, version, NULL, dir,
				  sizeof(dir), err) == -1)
			return -1;
		if (!mc_fsio_exists(dir))
			return mc_err_set(err, MC_ERR_USAGE,
					  "%s: there is no stored version "
					  "%04u (%s)",
					  cc->name, version, dir);
		*to = version;
		*back = cur;
		return 0;
	}
	if (found == 0)
		return mc_err_set(err, MC_ERR_USAGE,
				  "%s has no current certificate; run `mailcert "
				  "issue %s`, or `mailcert deploy %s --version "
				  "N` for a stored version",
				  cc->name, cc->name, cc->name);
	if (!rollback)
		return 0;
	*back = cur;
	return deploy_prior(cfg, cc, cur, to, err);
}

/* deploy_go - after convergence: what the command asked for; *to: the
 * version a deployment was attempted of (0: none was). */
static int
deploy_go(struct cli *cli, const struct mc_config *cfg,
	  const struct mc_cert_conf *cc, bool rollback,
	  const struct deploy_args *a, unsigned *to, struct mc_err *err)
{
	unsigned v = 0, back = 0;

	*to = 0;
	if (deploy_target(cfg, cc, rollback, a->version, &v, &back, err) == -1 ||
	    deploy_dane_gate(cfg, cc, v, a->force, err) == -1)
		return -1;
	*to = v;
	if (back == 0)
		return deploy_repair_run(cli, cfg, cc, v, err);
	if (rollback)
		return deploy_back_run(cli, cfg, cc, v, back, err);
	return cli_deploy_run(cli, cfg, cc, v, back, NULL, err);
}

/* deploy_command - `deploy NAME [--version N] [--force]` or `rollback NAME`. */
static int
deploy_command(struct cli *cli, int argc, char **argv, bool rollback)
{
	const char *cmd = rollback ? "rollback" : "deploy";
	struct mc_config *cfg = NULL;
	const struct mc_cert_conf *cc = NULL;
	struct deploy_args args;
	struct mc_err err;
	unsigned to = 0;
	bool interrupted = false;
	int lock = -1, rc = 0;

	mc_err_clear(&err);
	if (deploy_parse(argc, argv, rollback, &args, &err) == -1 ||
	    cli_load_config(cli, &cfg, &err) == -1 ||
	    (cc = cli_cert_arg(cfg, cmd, args.argc, args.argv, &err)) == NULL ||
	    (lock = mc_lock_take_run(cfg->state_dir, &interrupted, &err)) == -1 ||
	    deploy_converge(cli, cfg, cc, interrupted, &err) == -1)
		goto fail;
	rc = deploy_go(cli, cfg, cc, rollback, &args, &to, &err);
	if (to != 0) {
		cli_last_attempt(cfg, cc->name, cmd, to, rc == 0 ? NULL : &err);
		cli_metrics_update(cfg);
	}
	if (rc == -1)
		goto fail;
	if (cli->hook_failures > 0) {
		fprintf(stderr, "mailcert: %d reload.d hook(s) failed; the "
				"deployment stays (see the log)\n",
			cli->hook_failures);
		rc = 1;
	}
	goto out;
fail:
	rc = cli_fail(&err);
out:
	mc_lock_release(lock);
	mc_config_free(cfg);
	return rc;
}

/* cli_cmd_deploy - `deploy NAME [--version N] [--force]`. */
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
