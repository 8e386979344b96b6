/*
 * check_int.h - shared between cmd_check.c (arguments, probing, threads)
 * and check_out.c (human, JSON and Nagios output) of `mailcert check`.
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

/* One endpoint: its input, the probe and the findings. */
struct check_ep {
	const char *url; /* as given (borrowed from argv or the list) */
	struct mc_endpoint ep;
	char servername[MC_VERIFY_HOST_MAX]; /* name checked ("" none) */
	bool sni;                            /* SNI sent */
	struct mc_probe_result probe;
	struct mc_findings findings;
	bool failed; /* a local failure: see err */
	struct mc_err err;
	const struct mc_dns_conf *dane; /* DANE lookup of this endpoint; NULL none */
	bool dane_asked;                /* --dane: say when it cannot be tested */
};

struct check_run {
	struct check_ep *eps;
	size_t n;
	struct mc_check_opts copts;
	int parallel;
	bool progress; /* progress line on stderr (a TTY) */
	struct mc_config *cfg;  /* when given or present: resolver, dnssec_anchor */
	struct mc_dns_conf dns; /* DANE lookups */
};

/* check_out_json - the JSON document of all endpoints (new reference). */
json_t *check_out_json(const struct check_run *run);

/* check_out_text - the human report on stdout (colour on a TTY). */
void check_out_text(const struct check_run *run);

/* check_out_nagios - the Nagios status line and details; the exit code. */
int check_out_nagios(const struct check_run *run);

#endif
