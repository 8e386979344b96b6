/*
 * cli.h - shared state and helpers of the mailcert command line.
 *
 * The CLI is the only place that prints errors and picks exit codes
 * (INTERFACE.md). Commands receive the global options and their own argv
 * (argv[0] is the command name) and return an exit code.
 */
#ifndef MAILCERT_CLI_H
#define MAILCERT_CLI_H

#include <stdbool.h>

#include <openssl/evp.h>

#include <jansson.h>

#include "mailcert/acme.h"
#include "mailcert/deploy.h"
#include "mailcert/config.h"
#include "mailcert/err.h"
#include "mailcert/store.h"

struct cli {
	const char *config_path;
	int verbosity; /* -1 quiet, 0 normal, 1+ verbose */
	bool json;
	int hook_failures; /* reload.d hooks that failed in deployments */
};

struct cli_command {
	const char *name;
	const char *usage;
	int (*run)(struct cli *cli, int argc, char **argv);
	const char *summary; /* one line for `COMMAND --help`; may be NULL */
};

struct cli_fleet; /* fleet mode (cli/fleet.c) */

/* One issue/renew run over several certs (cli/run.c). */
struct cli_run {
	struct cli *cli;
	const struct mc_config *cfg;
	struct mc_acme *acme;     /* opened on first use */
	EVP_PKEY *account_key;
	json_t *results;          /* --json: array of per-cert objects */
	const char *replaces[MC_KEY_TYPES_MAX]; /* ARI certID the next order of
				     each key type replaces, or NULL */
	int renewed;
	int failed;
	int hook_failures;
	bool pre_done;
	bool signalled;           /* a failure said "interrupted by SIG..." */
	bool interrupted;         /* the lock says the run before was killed */
	struct mc_err first_err;
	struct cli_fleet *fleet;  /* NULL: local only */
	const char *command;      /* "issue" or "renew", for the record */
	unsigned version;         /* the version the current cert stored; 0 none */
	bool no_deploy;           /* issue --no-deploy: store only */
	struct cli_dry *dry;      /* --dry-run; NULL otherwise */
};

struct cli_dry;

/* cli_run_client - open run->acme (directory only) on first use. */
int cli_run_client(struct cli_run *run, struct mc_err *err);

/* cli_run_acme - cli_run_client plus the account, on first use. */
int cli_run_acme(struct cli_run *run, struct mc_err *err);

/* cli_run_cert - obtain, store, deploy and verify one cert, with hooks;
 * a failure is printed, recorded and passed to the failure hooks. */
int cli_run_cert(struct cli_run *run, const struct mc_cert_conf *cc);

/* cli_run_converge - converge cc before anything else (deploy.h) and
 * print what was done; a failure is recorded, printed and hooked like a
 * cert's failure. -1 with *stop: nothing more may be done for cc in this
 * run (its state is broken). */
int cli_run_converge(struct cli_run *run, const struct mc_cert_conf *cc,
		     enum mc_converge_mode mode, bool *stop);

/* cli_run_finish - post hooks, JSON output; returns the exit code. */
int cli_run_finish(struct cli_run *run);

/* cli_run_free - release the run. */
void cli_run_free(struct cli_run *run);

/* cli_fail - print err once and return its exit code. */
int cli_fail(const struct mc_err *err);

/* cli_usage_error - print a usage error for cmd and return 2. */
int cli_usage_error(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* cli_load_config - load the configuration named by -c / MAILCERT_CONFIG / default. */
int cli_load_config(struct cli *cli, struct mc_config **cfg, struct mc_err *err);

/* cli_account_open - an ACME client for cfg's directory with the account key
 * loaded (or created) and, when register is true, the account registered. */
struct mc_acme *cli_account_open(const struct mc_config *cfg, bool do_register,
				 EVP_PKEY **key, struct mc_err *err);

/* cli_acme_client - an ACME client for cfg's directory, no account yet. */
struct mc_acme *cli_acme_client(const struct mc_config *cfg, struct mc_err *err);

/* cli_account_attach - the account key (and registration) for acme; an
 * account recorded as deactivated or revoked is an error naming `account
 * register`; with do_register the client may register the key again once
 * after accountDoesNotExist (mc_acme_set_recovery). */
int cli_account_attach(const struct mc_config *cfg, struct mc_acme *acme,
		       bool do_register, EVP_PKEY **key, struct mc_err *err);

/* cli_account_register - `account register`: register the key (created
 * if missing); a deactivated, revoked or refused account is replaced by a
 * new one with a new key, a forgotten one registered again with the same
 * key. On success acme holds *key (new reference) and the kid. */
int cli_account_register(const struct mc_config *cfg, struct mc_acme *acme,
			 EVP_PKEY **key, struct mc_err *err);

/* cli_format_time - "YYYY-MM-DD HH:MM:SS UTC" into buf. */
void cli_format_time(time_t t, char *buf, size_t size);

/* cli_report_text / cli_report_live_text - human tables of a deploy report. */
void cli_report_text(const char *cert, const struct mc_deploy_report *rep);
void cli_report_live_text(const char *cert, const struct mc_live_report *live);

/* cli_report_json / cli_report_live_json - the same as JSON (new references). */
json_t *cli_report_json(const struct mc_deploy_report *rep);
json_t *cli_report_live_json(const struct mc_live_report *live);

/* cli_converge_text / cli_converge_json - what convergence did (an
 * interrupted deployment, drift, a finish or repair); _eventful: whether
 * there is anything to say. */
void cli_converge_text(const char *cert, const struct mc_converge_report *rep);
json_t *cli_converge_json(const struct mc_converge_report *rep);
bool cli_converge_eventful(const struct mc_converge_report *rep);

/* cli_status_drift_text / _json - for `status`: targets of cc that differ
 * from version cur, and an interrupted deployment (changes nothing). */
void cli_status_drift_text(const struct mc_config *cfg,
			   const struct mc_cert_conf *cc, unsigned cur);
void cli_status_drift_json(const struct mc_config *cfg,
			   const struct mc_cert_conf *cc, unsigned cur,
			   json_t *o);

/* cli_print_json - print v on stdout and release it. */
void cli_print_json(json_t *v);

/* cli_name_display - name, with its Unicode form in parentheses when it
 * is an international name in A-label form, into buf. */
void cli_name_display(const char *name, char *buf, size_t size);

/* cli_log_idn - one info line per international name of cc, both ways. */
void cli_log_idn(const struct mc_cert_conf *cc);

/* cli_cert_arg - the [cert NAME] named by the single argument of cmd. */
const struct mc_cert_conf *cli_cert_arg(const struct mc_config *cfg,
					const char *cmd, int argc, char **argv,
					struct mc_err *err);

/* cli_deploy_run - run the deploy pipeline for version and print its report
 * (or, with into, add it there as "deploy"). */
int cli_deploy_run(struct cli *cli, const struct mc_config *cfg,
		   const struct mc_cert_conf *cc, unsigned version,
		   unsigned prev, json_t *into, struct mc_err *err);

/* --- fleet mode (cli/fleet.c); every function is a no-op without a store --- */

/* cli_fleet_open - fleet mode for run when the config has a store. */
int cli_fleet_open(struct cli_run *run, struct mc_err *err);

/* cli_fleet_close - release the fleet lock and the fleet. */
void cli_fleet_close(struct cli_run *run);

/* cli_fleet_sync - pull the shared current of cc, deploy, verify, record. */
int cli_fleet_sync(struct cli_run *run, const struct mc_cert_conf *cc,
		   struct mc_err *err);

/* cli_fleet_shared - the shared current version of cc (0: none); *ok
 * false when the last sync failed. */
unsigned cli_fleet_shared(struct cli_run *run, const struct mc_cert_conf *cc,
			  bool *ok);

/* cli_fleet_down - why the store is unreachable, or NULL. */
const char *cli_fleet_down(const struct cli_run *run);

/* cli_fleet_hold - the fleet lock before ordering cc: 0 order, 1 another
 * host stored a version meanwhile (now deployed here), -1 error. */
int cli_fleet_hold(struct cli_run *run, const struct mc_cert_conf *cc,
		   struct mc_err *err);

/* cli_fleet_ready - before an order: the fleet lock is still ours; the
 * ACME client publishes http-01 answers to the fleet. */
int cli_fleet_ready(struct cli_run *run, struct mc_err *err);

/* cli_fleet_sync_certs - sync each cert (failures counted in run); -1
 * when the store is unreachable (printed, counted): order nothing. */
int cli_fleet_sync_certs(struct cli_run *run,
			 const struct mc_cert_conf *const *certs, size_t n);

/* cli_fleet_store - number and store a new version in the fleet (fenced). */
int cli_fleet_store(struct cli_run *run, const struct mc_cert_conf *cc,
		    const struct mc_pairs *pairs, struct mc_cert_meta *meta,
		    struct mc_err *err);

/* cli_fleet_record - record this node's outcome of deploying version. */
void cli_fleet_record(struct cli_run *run, const struct mc_cert_conf *cc,
		      unsigned version, int rc, const struct mc_err *err);

/* cli_fleet_status - the fleet section of `status` (rows: the JSON rows,
 * one per cert in config order, each gets "fleet"; NULL: printed). */
int cli_fleet_status(const struct mc_config *cfg, json_t *rows);

int cli_cmd_sync(struct cli *cli, int argc, char **argv);
/* cli_last_attempt - record an attempt of cert name in its last.json
 * (failure NULL: it succeeded); a failed write is a warning. */
void cli_last_attempt(const struct mc_config *cfg, const char *name,
		      const char *command, unsigned version,
		      const struct mc_err *failure);

/* cli_last_deploy - record the live outcome and the files of a deployment. */
void cli_last_deploy(const struct mc_config *cfg, const struct mc_cert_conf *cc,
		     const struct mc_deploy_report *rep, int rc);

/* cli_last_live - record the outcome of a live check (`verify`). */
void cli_last_live(const struct mc_config *cfg, const struct mc_cert_conf *cc,
		   const struct mc_live_report *live, int rc);

/* cli_dry_begin - --dry-run: a throwaway state under state_dir and the
 * staging directory (dry->cfg is the config to run with); the staging
 * account of the real state is reused. */
int cli_dry_begin(const struct mc_config *real, struct cli_dry **dry,
		  struct mc_err *err);

/* cli_dry_config - the config a dry run runs with (borrowed). */
const struct mc_config *cli_dry_config(const struct cli_dry *dry);

/* cli_dry_report - what a real run would do with version of cc. */
void cli_dry_report(struct cli_run *run, const struct mc_cert_conf *cc,
		    unsigned version);

/* cli_dry_end - keep a new staging account, remove the throwaway state. */
void cli_dry_end(struct cli_dry *dry);

/* cli_deploy_prune - keep_versions after version of cc became current
 * (prev: the version current before it, 0 if unknown). */
void cli_deploy_prune(const struct mc_config *cfg, const struct mc_cert_conf *cc,
		      unsigned version, unsigned prev);

/* cli_metrics_update - rewrite [global] metrics_file (when set) from the
 * state; a failure is a warning. */
void cli_metrics_update(const struct mc_config *cfg);

int cli_cmd_deploy(struct cli *cli, int argc, char **argv);
int cli_cmd_verify(struct cli *cli, int argc, char **argv);
int cli_cmd_rollback(struct cli *cli, int argc, char **argv);
int cli_cmd_renew(struct cli *cli, int argc, char **argv);
int cli_cmd_issue(struct cli *cli, int argc, char **argv);
int cli_cmd_status(struct cli *cli, int argc, char **argv);
int cli_cmd_account(struct cli *cli, int argc, char **argv);
int cli_cmd_check(struct cli *cli, int argc, char **argv);
int cli_cmd_revoke(struct cli *cli, int argc, char **argv);
int cli_cmd_tlsa(struct cli *cli, int argc, char **argv);
int cli_cmd_doctor(struct cli *cli, int argc, char **argv);
int cli_cmd_import(struct cli *cli, int argc, char **argv);
int cli_cmd_delete(struct cli *cli, int argc, char **argv);
int cli_cmd_help(struct cli *cli, int argc, char **argv);

#endif
