/*
 * main.c - global options and dispatch to one command.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "cli.h"
#include "mailcert/crypto.h"
#include "mailcert/log.h"

static const struct cli_command commands[] = {
	{"issue", "issue NAME... | --all [--no-deploy] [--dry-run]", cli_cmd_issue,
	 "obtain a certificate now (due or not), then deploy, reload, verify"},
	{"renew", "renew [NAME...] [--force] [--jitter DURATION] [--dry-run]",
	 cli_cmd_renew, "renew what is due, deploy, reload, verify (for cron/timers)"},
	{"deploy", "deploy NAME [--version N] [--force]", cli_cmd_deploy,
	 "write the current (or stored version N) to every target, reload, verify"},
	{"verify", "verify NAME", cli_cmd_verify,
	 "check that every verify endpoint serves the current version"},
	{"rollback", "rollback NAME [--force]", cli_cmd_rollback,
	 "make the version current before this one current again"},
	{"status", "status [--nagios [--warn DAYS] [--crit DAYS] | --prometheus]",
	 cli_cmd_status, "one row per cert: expiry, due, last attempt, live match"},
	{"doctor", "doctor [NAME...]", cli_cmd_doctor,
	 "check the host: do the daemons read mailcert's files; changes nothing"},
	{"tlsa", "tlsa NAME", cli_cmd_tlsa,
	 "the DANE TLSA records of the current and the staged next key"},
	{"revoke",
	 "revoke NAME [--reason R] [--all-versions] [--with-cert-key] | "
	 "--cert FILE --key FILE [--directory URL] [--ca-bundle FILE]",
	 cli_cmd_revoke,
	 "revoke at the CA, with the account or the certificate's key"},
	{"delete", "delete NAME [--yes] [--targets]", cli_cmd_delete,
	 "forget a cert: its state (all versions and keys), with --targets its files"},
	{"import", "import certbot [DIR] [--write]", cli_cmd_import,
	 "import certbot lineages (keys, account, hooks) without a new order"},
	{"account", "account show|register|rollover|deactivate [--yes]",
	 cli_cmd_account, "the ACME account at the configured directory"},
	{"check",
	 "check URL...|--file PEM [--servername NAME] [--profile "
	 "mx|submission|strict] [--expect FILE] [--trust-bundle FILE] "
	 "[--warn DAYS] [--crit DAYS] [--json|--nagios] [--from FILE] "
	 "[--parallel N] [--timeout S] [--no-fetch] [--dane]",
	 cli_cmd_check,
	 "diagnose any TLS endpoint or certificate file (no config needed); "
	 "see mailcert(1)"},
	{"sync", "sync [NAME...]", cli_cmd_sync,
	 "fleet mode: deploy and verify here what the shared store holds as current"},
	{"help", "help [COMMAND]", cli_cmd_help, "this list, or one command's usage"},
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

/* usage - the help text. */
static void
usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: mailcert [-c FILE] [-v] [-q] [--json] COMMAND "
		   "[ARGS]\n       mailcert --version | --help\n\ncommands:\n");
	for (i = 0; i < N_COMMANDS; i++)
		fprintf(f, "  %s\n", commands[i].usage);
	fprintf(f, "\n`mailcert COMMAND --help` says what one command does.\n"
		   "config: -c FILE, else $MAILCERT_CONFIG, else %s\n",
		MC_CONFIG_DEFAULT_PATH);
}

/* command_find - the table row of name, or NULL. */
static const struct cli_command *
command_find(const char *name)
{
	size_t i;

	for (i = 0; i < N_COMMANDS; i++)
		if (strcmp(name, commands[i].name) == 0)
			return &commands[i];
	return NULL;
}

/* command_help - the one line of --help for a command. */
static int
command_help(const struct cli_command *c)
{
	printf("usage: mailcert %s%s%s\n", c->usage, c->summary ? " - " : "",
	       c->summary ? c->summary : "");
	return 0;
}

/* wants_help - whether a command's arguments ask for --help / -h. */
static bool
wants_help(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return true;
	return false;
}

/* cli_cmd_help - `help [COMMAND]`: no config needed. */
int
cli_cmd_help(struct cli *cli, int argc, char **argv)
{
	const struct cli_command *c;

	(void)cli;
	if (argc < 2) {
		usage(stdout);
		return 0;
	}
	c = command_find(argv[1]);
	if (c == NULL || argc > 2)
		return cli_usage_error("help", "no command \"%s\"", argv[1]);
	return command_help(c);
}

/* harden - umask 077 and no core dumps, before any key exists. */
static void
harden(void)
{
	struct rlimit rl = {0, 0};

	umask(077);
	setrlimit(RLIMIT_CORE, &rl);
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

/* parse_global - global options; returns the index of the command or -1/-2. */
static int
parse_global(struct cli *cli, int argc, char **argv)
{
	int i;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "-c") == 0 && i + 1 < argc)
			cli->config_path = argv[++i];
		else if (strcmp(argv[i], "-v") == 0)
			cli->verbosity++;
		else if (strcmp(argv[i], "-q") == 0)
			cli->verbosity = -1;
		else if (strcmp(argv[i], "--json") == 0)
			cli->json = true;
		else if (strcmp(argv[i], "--version") == 0)
			return -3;
		else if (strcmp(argv[i], "--help") == 0 ||
			 strcmp(argv[i], "-h") == 0)
			return -2;
		else {
			cli_usage_error(NULL, "unknown option %s", argv[i]);
			return -1;
		}
	}
	return i;
}

/* log_level - verbosity into a log level. */
static enum mc_log_level
log_level(int verbosity)
{
	if (verbosity < 0)
		return MC_LOG_ERROR;
	return verbosity == 0 ? MC_LOG_INFO : MC_LOG_DEBUG;
}

int
main(int argc, char **argv)
{
	struct cli cli = {.config_path = NULL};
	const struct cli_command *cmd;
	int first;

	harden();
	mc_crypto_init();
	/* Whole lines reach stdout at once, so a log or error line on stderr
	 * never lands inside a table row when both go to one pipe (cron). */
	setvbuf(stdout, NULL, _IOLBF, 0);
	first = parse_global(&cli, argc, argv);
	if (first == -3) {
		printf("mailcert %s\n", MAILCERT_VERSION);
		return 0;
	}
	if (first == -1)
		return 2;
	if (first == -2 || first >= argc) {
		usage(first == -2 ? stdout : stderr);
		return first == -2 ? 0 : 2;
	}
	mc_log_init(MC_LOG_STDERR, log_level(cli.verbosity), NULL);
	cmd = command_find(argv[first]);
	if (cmd != NULL && wants_help(argc - first, argv + first))
		return command_help(cmd);
	if (cmd != NULL)
		return cmd->run(&cli, argc - first, argv + first);
	fprintf(stderr, "mailcert: unknown command \"%s\"\n", argv[first]);
	usage(stderr);
	return 2;
}
