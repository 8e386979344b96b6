/*
 * doctor_int.h - shared by the files of doctor/ (see mailcert/doctor.h).
 */
#ifndef MAILCERT_DOCTOR_INT_H
#define MAILCERT_DOCTOR_INT_H

#include "mailcert/doctor.h"

/* doctor_add - append an item; fix may be NULL. 0 or -1 (out of memory). */
int doctor_add(struct mc_doctor_report *rep, const char *cert,
	       const char *subject, const char *check,
	       enum mc_doctor_level level, const char *fix, const char *fmt, ...)
	__attribute__((format(printf, 7, 8)));

/* doctor_host - state_dir, account key, hooks_dir, the config file. */
int doctor_host(const struct mc_config *cfg, struct mc_doctor_report *rep);

/* doctor_challenge - what cc's challenge needs (listen, webroot, dns_hook)
 * and its deploy_hook; seen collects the listen addresses already tried. */
int doctor_challenge(const struct mc_cert_conf *cc, struct mc_doctor_report *rep);

/* doctor_endpoints - every verify endpoint of cc answers and serves the
 * current version (if any). */
int doctor_endpoints(const struct mc_config *cfg, const struct mc_cert_conf *cc,
		     struct mc_doctor_report *rep);

/* doctor_cert_state - the current version's files of cc. */
int doctor_cert_state(const struct mc_config *cfg, const struct mc_cert_conf *cc,
		      struct mc_doctor_report *rep);

#endif
