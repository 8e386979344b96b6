/*
 * check_int.h - shared between cmd_check.c (arguments, configuration,
 * threads) and check_out.c (human, JSON and Nagios output) of `mailcert
 * check`.
 */
#ifndef MAILCERT_CLI_CHECK_INT_H
#define MAILCERT_CLI_CHECK_INT_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "mailcert/check.h"
#include "mailcert/config.h"
#include "mailcert/dns.h"
#include "mailcert/verify.h"

/* One endpoint (or the --file): its input and its report. */
struct check_ep {
	const char *url;  /* as given (borrowed from argv or the list) */
	const char *file; /* --file PATH, or NULL for an endpoint */
	char servername[MC_VERIFY_HOST_MAX]; /* name checked, A-label ("" none) */
	bool sni;                            /* SNI sent */
	bool profile_given;                  /* --profile (else the default) */
	struct mc_check_report rep;
	bool failed; /* a local failure: see err */
	struct mc_err err;
	const struct mc_dns_conf *dane; /* DANE lookup of this endpoint; NULL none */
	bool dane_asked;                /* --dane: say when it cannot be tested */
};

struct check_run {
	struct check_ep *eps;
	size_t n;
	struct mc_config *cfg; /* -c, MAILCERT_CONFIG or the default; or NULL */
	char *pem; /* --file's text (cleansed when freed: it may hold keys) */
	size_t pem_len;
	struct mc_check_opts copts;
	int parallel;
	bool progress; /* progress line on stderr (a TTY) */
	struct mc_dns_conf dns; /* DANE lookups (resolver, anchor from cfg) */
};

/* check_out_json - the JSON document of all endpoints (new reference). */
json_t *check_out_json(const struct check_run *run);

/* check_out_text - the human report on stdout (colour on a TTY). */
void check_out_text(const struct check_run *run);

/* check_out_nagios - the Nagios status line and details; the exit code. */
int check_out_nagios(const struct check_run *run);

#endif
