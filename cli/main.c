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
#include "mailcert/log.h"

static const struct cli_command commands[] = {
	{"issue", "issue NAME... | --all", cli_cmd_issue},
	{"renew", "renew [NAME...] [--force] [--jitter DURATION]", cli_cmd_renew},
	{"deploy", "deploy NAME [--version N] [--force]", cli_cmd_deploy},
	{"verify", "verify NAME", cli_cmd_verify},
	{"rollback", "rollback NAME [--force]", cli_cmd_rollback},
	{"tlsa", "tlsa NAME", cli_cmd_tlsa},
	{"status", "status", cli_cmd_status},
	{"revoke", "revoke NAME [--reason R]", cli_cmd_revoke},
	{"account", "account show|register|rollover|deactivate [--yes]", cli_cmd_account},
	{"check", "check URL... [options]", cli_cmd_check},
	{"doctor", "doctor [NAME...]", cli_cmd_doctor},
	{"import", "import certbot [DIR] [--write]", cli_cmd_import},
};

/* usage - the help text. */
static void
usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: mailcert [-c FILE] [-v] [-q] [--json] COMMAND "
		   "[ARGS]\n       mailcert --version | --help\n\ncommands:\n");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %s\n", commands[i].usage);
	fprintf(f, "\nconfig: -c FILE, else $MAILCERT_CONFIG, else %s\n",
		MC_CONFIG_DEFAULT_PATH);
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
	struct cli cli = {NULL, 0, false};
	size_t i;
	int first;

	harden();
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
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[first], commands[i].name) == 0)
			return commands[i].run(&cli, argc - first,
					       argv + first);
	fprintf(stderr, "mailcert: unknown command \"%s\"\n", argv[first]);
	usage(stderr);
	return 2;
}
