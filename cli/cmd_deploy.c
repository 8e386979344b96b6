/*
 * cmd_deploy.c - `mailcert deploy NAME [--version N] [--force]`: write the
 * current (or stored version N) to every target, reload, verify; roll back
 * to the previous good version on failure. With `tlsa` names, a version
 * whose key DNS does not pin (secure TLSA 3 1 1) is refused unless --force.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "mailcert/dane.h"
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
 * never version itself, nor the one current before it (prev, or the
 * newest good one older than version). */
void
cli_deploy_prune(const struct mc_config *cfg, const struct mc_cert_conf *cc,
	     unsigned version, unsigned prev)
{
	unsigned keep = prev, removed = 0;
	struct mc_err err;

	mc_err_clear(&err);
	if ((keep == 0 || keep > version) &&
	    mc_store_previous(cfg->state_dir, cc->name, version, &keep,
			      NULL) != 1)
		keep = 0;
	if (mc_store_prune(cfg->state_dir, cc->name, cfg->keep_versions,
			   version, keep, &removed, &err) == -1)
		mc_log_warn("%s: keep_versions: %s", cc->name, err.msg);
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
	cli->hook_failures += rep.hook_failures;
	cli_last_deploy(cfg, cc, &rep, rc);
	if (into != NULL)
		json_object_set_new(into, "deploy", cli_report_json(&rep));
	else if (cli->json)
		cli_print_json(cli_report_json(&rep));
	else if (cli->verbosity >= 0)
		cli_report_text(cc->name, &rep);
	if (rc == 0 && !cli->json && cli->verbosity >= 0)
		printf("%s: version %04u %s\n", cc->name, version,
		       cc->n_verify > 0 ? "deployed and verified live"
					: "deployed, not verified (no verify "
					  "endpoints)");
	if (rc == 0)
		cli_deploy_prune(cfg, cc, version, prev);
	mc_deploy_report_clear(&rep);
	return rc;
}

/* deploy_current - the current and the previous good version of cc. */
static int
deploy_current(const struct mc_config *cfg, const struct mc_cert_conf *cc,
	       unsigned *cur, unsigned *prev, struct mc_err *err)
{
	int found = mc_store_current(cfg->state_dir, cc->name, cur, err);

	if (found == -1)
		return -1;
	if (found == 0)
		return mc_err_set(err, MC_ERR_USAGE,
				  "%s has no certificate yet; run `mailcert "
				  "issue %s`",
				  cc->name, cc->name);
	*prev = 0;
	return mc_store_previous(cfg->state_dir, cc->name, *cur, prev, err) ==
			       -1
		       ? -1
		       : 0;
}

/* deploy_command - `deploy NAME` (the current version; on failure back to
 * the previous good one) or `rollback NAME` (the previous good version; on
 * failure back to the current one). */
static int
deploy_command(struct cli *cli, int argc, char **argv, bool rollback)
{
	const char *cmd = rollback ? "rollback" : "deploy";
	struct mc_config *cfg = NULL;
	const struct mc_cert_conf *cc;
	struct deploy_args args;
	struct mc_err err;
	unsigned cur = 0, prev = 0, to, back;
	int lock = -1, rc = 0;

	mc_err_clear(&err);
	if (deploy_parse(argc, argv, rollback, &args, &err) == -1 ||
	    cli_load_config(cli, &cfg, &err) == -1 ||
	    (cc = cli_cert_arg(cfg, cmd, args.argc, args.argv, &err)) == NULL ||
	    (lock = mc_lock_take(cfg->state_dir, &err)) == -1 ||
	    deploy_current(cfg, cc, &cur, &prev, &err) == -1)
		goto fail;
	if (rollback && prev == 0) {
		mc_err_set(&err, MC_ERR_USAGE,
			   "%s: no earlier good version than %04u to roll "
			   "back to",
			   cc->name, cur);
		goto fail;
	}
	to = rollback ? prev : args.version ? args.version : cur;
	back = rollback || (args.version && args.version != cur) ? cur : prev;
	if (deploy_dane_gate(cfg, cc, to, args.force, &err) == -1)
		goto fail;
	rc = cli_deploy_run(cli, cfg, cc, to, back, NULL, &err);
	cli_last_attempt(cfg, cc->name, cmd, to, rc == 0 ? NULL : &err);
	cli_metrics_update(cfg);
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

/* cli_cmd_deploy - `deploy NAME`. */
int
cli_cmd_deploy(struct cli *cli, int argc, char **argv)
{
	return deploy_command(cli, argc, argv, false);
}

/* cli_cmd_rollback - `rollback NAME`: make the previous version current. */
int
cli_cmd_rollback(struct cli *cli, int argc, char **argv)
{
	return deploy_command(cli, argc, argv, true);
}
