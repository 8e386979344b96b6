/*
 * status.h - what the state says about every cert, for `status`, its
 * Nagios and Prometheus forms and the metrics file.
 *
 * mc_status_collect() reads, for each configured cert, the current
 * version's meta.json, the due decision (renew.h) and last.json (the last
 * attempt and live check, store.h), and lists the certs that have state
 * but no [cert] section ("orphaned"). Nothing here talks to the network or
 * writes. A cert whose state cannot be read gets a row with `problem` set,
 * never an error for the whole status.
 *
 * Ownership: struct mc_status owns its rows (mc_status_clear); rows
 * borrow their struct mc_cert_conf from the config.
 */
#ifndef MAILCERT_STATUS_H
#define MAILCERT_STATUS_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "mailcert/buf.h"
#include "mailcert/config.h"
#include "mailcert/renew.h"
#include "mailcert/store.h"

enum mc_nagios_state {
	MC_NAGIOS_OK = 0,
	MC_NAGIOS_WARNING = 1,
	MC_NAGIOS_CRITICAL = 2,
	MC_NAGIOS_UNKNOWN = 3,
};

struct mc_status_row {
	const struct mc_cert_conf *cc; /* NULL: orphaned state */
	char name[256];
	bool have;                     /* a current version exists */
	struct mc_cert_meta meta;      /* of the current version */
	struct mc_due due;
	long days_left;
	bool have_last;
	struct mc_last last;
	size_t n_versions;
	char problem[MC_ERR_MSG_MAX];  /* state that could not be read */
};

struct mc_status {
	time_t now;
	struct mc_status_row *rows; /* configured certs, then orphaned ones */
	size_t n_rows;
	size_t n_orphans;
};

/* Nagios thresholds in days; -1: a fraction of the certificate's lifetime
 * (warn 1/6, crit 1/10). */
struct mc_status_thresholds {
	long warn_days;
	long crit_days;
};

/* mc_status_collect - the rows of every cert of cfg at now. */
int mc_status_collect(const struct mc_config *cfg, time_t now,
		      struct mc_status *st, struct mc_err *err);

/* mc_status_clear - free the rows. */
void mc_status_clear(struct mc_status *st);

/* mc_status_nagios_row - the Nagios state of one configured row and, in
 * why, the reason (at most size bytes); *warn_s / *crit_s the thresholds
 * in seconds before not-after. */
enum mc_nagios_state mc_status_nagios_row(const struct mc_status_row *r,
					  const struct mc_status_thresholds *th,
					  time_t now, long *warn_s, long *crit_s,
					  char *why, size_t size);

/* mc_status_nagios_worse - whether state a is worse than b (CRITICAL >
 * UNKNOWN > WARNING > OK). */
bool mc_status_nagios_worse(enum mc_nagios_state a, enum mc_nagios_state b);

/* mc_status_prometheus - the Prometheus text format (0.0.4) of st,
 * appended to out. */
int mc_status_prometheus(const struct mc_status *st, struct mc_buf *out,
			 struct mc_err *err);

#endif
