/*
 * deploy.h - write a certificate version to the files a daemon reads, and
 * reload the daemon.
 *
 * Each target (postfix, dovecot, exim, files) names up to five files:
 *   chain_file, combined_file: key, then leaf, then intermediates
 *   cert_file, fullchain_file: leaf, then intermediates
 *   key_file:                  key
 * Files holding the key get the target's mode (0600, or 0640 with a
 * group); the others 0644. Owner and group apply to all of them. Every
 * file is replaced atomically (fsio.h), so a daemon that reads a pair of
 * files may briefly see a new key with an old certificate: targets that
 * can, use one file (postfix chain_file).
 *
 * mc_deploy_check() validates everything a write needs (users, groups,
 * symlinks, writable directories) so that a bad target fails before any
 * file changes. Errors: MC_ERR_DEPLOY naming the target, the path and what
 * to do; MC_ERR_SYS for I/O failures during the write.
 */
#ifndef MAILCERT_DEPLOY_H
#define MAILCERT_DEPLOY_H

#include <stdbool.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "mailcert/config.h"
#include "mailcert/err.h"

/* mc_deploy_check - check target t for cert cert_name without changing anything. */
int mc_deploy_check(const struct mc_target *t, const char *cert_name,
		    struct mc_err *err);

/* mc_deploy_write - write key and chain (leaf first) to every file of t. */
int mc_deploy_write(const struct mc_target *t, const char *cert_name,
		    EVP_PKEY *key, STACK_OF(X509) *chain, struct mc_err *err);

/* mc_deploy_target_files - the paths (%n expanded) of every file target t
 * writes for cert cert_name (*out new, free with mc_strv_free). */
int mc_deploy_target_files(const struct mc_target *t, const char *cert_name,
			   char ***out, size_t *n, struct mc_err *err);

/* mc_deploy_cert_files - the files of every target of cc (*out new, free
 * with mc_strv_free). */
int mc_deploy_cert_files(const struct mc_config *cfg, const struct mc_cert_conf *cc,
			 char ***out, size_t *n, struct mc_err *err);

/* mc_deploy_file_of_cert - 1 when the PEM file at path holds the leaf
 * certificate (first certificate) or, for a key-only file, the private key
 * of a stored version of cert name; 0 when not; -1 when unreadable. */
int mc_deploy_file_of_cert(const char *path, const char *state_dir,
			   const char *name, struct mc_err *err);

/* mc_deploy_reload_argv - the reload command of t as a NULL-terminated argv
 * (new; free with mc_proc_argv_free): `reload =` split on blanks, else
 * `systemctl reload UNIT` when systemd runs, else the daemon's own command. */
char **mc_deploy_reload_argv(const struct mc_target *t, struct mc_err *err);

/* mc_deploy_reload - run the reload command with timeout seconds; a
 * non-zero exit, signal or timeout is MC_ERR_DEPLOY with its stderr. */
int mc_deploy_reload(const struct mc_target *t, long timeout, struct mc_err *err);

/* mc_deploy_reload_hooks - run hooks_dir/reload.d/ for version of cc (after
 * its files are written, before the daemons reload: maps built from the
 * files, e.g. `postmap -F`); returns how many hooks failed (first in err).
 * A failed hook is reported, never fatal: the live check shows whether
 * the daemons serve the new certificate. */
int mc_deploy_reload_hooks(const struct mc_config *cfg,
			   const struct mc_cert_conf *cc, unsigned version,
			   struct mc_err *err);

/*
 * The deploy pipeline: write a stored version to every target of a cert,
 * reload each daemon, then prove on every verify endpoint, for each name
 * by SNI and once without SNI, that the served leaf is the deployed one
 * (retrying with backoff up to verify_timeout, since daemons reload
 * asynchronously). If a write, reload or verification fails, the previous
 * good version is written back, reloaded and verified, `current` points at
 * it again, and the failed version is marked "failed" in its meta.json.
 * The error says what failed and whether the previous certificate is live
 * again. Categories: MC_ERR_DEPLOY (check/write/reload; exit 1),
 * MC_ERR_VERIFY (a live endpoint serves something else; exit 3).
 */

enum mc_live_outcome {
	MC_LIVE_MATCH = 0,
	MC_LIVE_INACTIVE,         /* serves another certificate */
	MC_LIVE_UNREACHABLE,      /* connect/timeout/DNS */
	MC_LIVE_STARTTLS_MISSING, /* STARTTLS not offered */
	MC_LIVE_STARTTLS_REFUSED, /* 454/421 and the like */
	MC_LIVE_TLS_FAILED,       /* handshake failed */
	MC_LIVE_PROTOCOL,         /* the server spoke garbage */
};

struct mc_live_row {
	char url[320];
	char sni[256]; /* "" = without SNI */
	enum mc_live_outcome outcome;
	char served_serial[128];
	char served_sha256[65];
	char detail[512];
	long ms;
};

struct mc_live_report {
	char expected_serial[128];
	char expected_sha256[65];
	struct mc_live_row *rows;
	size_t n_rows;
};

enum mc_target_step { MC_STEP_OK = 0, MC_STEP_CHECK, MC_STEP_WRITE, MC_STEP_RELOAD };

struct mc_target_row {
	char target[128];
	enum mc_target_step failed_at; /* MC_STEP_OK: all fine */
	char detail[512];
};

struct mc_deploy_report {
	unsigned version;
	struct mc_target_row *targets;
	size_t n_targets;
	struct mc_live_report live;
	int hook_failures;        /* reload.d hooks that failed */
	bool rolled_back;         /* a rollback was attempted */
	unsigned rollback_version;
	bool rollback_ok;         /* the previous version is verified live again */
	char rollback_error[MC_ERR_MSG_MAX];
};

/* mc_live_outcome_name - "match", "inactive", "unreachable", ... */
const char *mc_live_outcome_name(enum mc_live_outcome o);

/* mc_deploy_report_clear - free the rows of a report. */
void mc_deploy_report_clear(struct mc_deploy_report *rep);

/* mc_deploy_version - the pipeline above for version of cert cc; prev is the
 * version to roll back to (0: none). Fills *rep either way. */
int mc_deploy_version(const struct mc_config *cfg, const struct mc_cert_conf *cc,
		      unsigned version, unsigned prev,
		      struct mc_deploy_report *rep, struct mc_err *err);

/* mc_deploy_verify_live - only the live check of cert cc against expected
 * (the leaf), with retries up to cc's verify_timeout; fills *live. */
int mc_deploy_verify_live(const struct mc_cert_conf *cc, X509 *expected,
			  struct mc_live_report *live, struct mc_err *err);

#endif
