/*
 * doctor.h - check a host before and after a run, changing nothing.
 *
 * mc_doctor_run() looks at everything a run depends on and returns one
 * item per check: for every target of the certs asked about, whether the
 * daemon's configuration reads the target's files (daemon.h) with the exact
 * lines to add, whether the daemon runs, whether the target's files can be
 * written; per cert the challenge's needs (http_listen / tls_alpn_listen
 * can be bound, webroot, dns_hook), deploy_hook, and whether every verify
 * endpoint answers and serves the current version; for the host the state
 * directory, the account key and the hooks in hooks_dir. It writes nothing
 * and starts nothing but the daemons' configuration tools and one TLS
 * probe per endpoint.
 *
 * Ownership: the report owns its items (mc_doctor_report_clear).
 * Errors: -1 only for local failures (out of memory); every finding about
 * the host is an item, not an error.
 */
#ifndef MAILCERT_DOCTOR_H
#define MAILCERT_DOCTOR_H

#include <stddef.h>

#include "mailcert/config.h"
#include "mailcert/err.h"

enum mc_doctor_level {
	MC_DOCTOR_OK = 0,
	MC_DOCTOR_INFO,    /* worth knowing, nothing to fix */
	MC_DOCTOR_WARN,    /* could not be checked, or a risk */
	MC_DOCTOR_PROBLEM, /* a run would fail or not be served: fix it */
};

struct mc_doctor_item {
	char cert[128];    /* "" for the host as a whole */
	char subject[256]; /* "target postfix", "http_listen", "verify URL", ... */
	char check[32];    /* stable code: daemon-config, daemon-running,
			      target-files, listen, webroot, dns-hook,
			      deploy-hook, hook, endpoint, state, account, config */
	enum mc_doctor_level level;
	char message[1024];
	char fix[2048];    /* what to do, lines separated by '\n'; "" if none */
};

struct mc_doctor_report {
	struct mc_doctor_item *items;
	size_t n_items;
	size_t cap;
	size_t problems;
	size_t warnings;
};

/* mc_doctor_run - check the certs named (all when n_names is 0; every name
 * must be a [cert] of cfg, else MC_ERR_USAGE) into *rep. */
int mc_doctor_run(const struct mc_config *cfg, char *const *names,
		  size_t n_names, struct mc_doctor_report *rep,
		  struct mc_err *err);

/* mc_doctor_report_clear - free the items of rep and zero it. */
void mc_doctor_report_clear(struct mc_doctor_report *rep);

/* mc_doctor_level_name - "ok", "info", "warning", "problem". */
const char *mc_doctor_level_name(enum mc_doctor_level level);

#endif
