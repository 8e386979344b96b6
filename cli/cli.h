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

struct cli {
	const char *config_path;
	int verbosity; /* -1 quiet, 0 normal, 1+ verbose */
	bool json;
};

struct cli_command {
	const char *name;
	const char *usage;
	int (*run)(struct cli *cli, int argc, char **argv);
};

/* One issue/renew run over several certs (cli/run.c). */
struct cli_run {
	struct cli *cli;
	const struct mc_config *cfg;
	struct mc_acme *acme;     /* opened on first use */
	EVP_PKEY *account_key;
	json_t *results;          /* --json: array of per-cert objects */
	const char *replaces;     /* ARI certID for the next order, or NULL */
	int renewed;
	int failed;
	int hook_failures;
	bool pre_done;
	struct mc_err first_err;
};

/* cli_run_client - open run->acme (directory only) on first use. */
int cli_run_client(struct cli_run *run, struct mc_err *err);

/* cli_run_acme - cli_run_client plus the account, on first use. */
int cli_run_acme(struct cli_run *run, struct mc_err *err);

/* cli_run_cert - obtain, store, deploy and verify one cert, with hooks;
 * a failure is printed, recorded and passed to the failure hooks. */
int cli_run_cert(struct cli_run *run, const struct mc_cert_conf *cc);

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

/* cli_account_attach - the account key (and registration) for acme. */
int cli_account_attach(const struct mc_config *cfg, struct mc_acme *acme,
		       bool do_register, EVP_PKEY **key, struct mc_err *err);

/* cli_format_time - "YYYY-MM-DD HH:MM:SS UTC" into buf. */
void cli_format_time(time_t t, char *buf, size_t size);

/* cli_report_text / cli_report_live_text - human tables of a deploy report. */
void cli_report_text(const char *cert, const struct mc_deploy_report *rep);
void cli_report_live_text(const char *cert, const struct mc_live_report *live);

/* cli_report_json / cli_report_live_json - the same as JSON (new references). */
json_t *cli_report_json(const struct mc_deploy_report *rep);
json_t *cli_report_live_json(const struct mc_live_report *live);

/* cli_print_json - print v on stdout and release it. */
void cli_print_json(json_t *v);

/* cli_cert_arg - the [cert NAME] named by the single argument of cmd. */
const struct mc_cert_conf *cli_cert_arg(const struct mc_config *cfg,
					const char *cmd, int argc, char **argv,
					struct mc_err *err);

/* cli_deploy_run - run the deploy pipeline for version and print its report
 * (or, with into, add it there as "deploy"). */
int cli_deploy_run(struct cli *cli, const struct mc_config *cfg,
		   const struct mc_cert_conf *cc, unsigned version,
		   unsigned prev, json_t *into, struct mc_err *err);

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

#endif
