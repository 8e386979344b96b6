/*
 * deploy.h - write a certificate version to the files a daemon reads,
 * reload the daemon, prove it serves it, and converge after any crash.
 *
 * Each target (postfix, dovecot, exim, files) names up to five files:
 *   chain_file, combined_file: key, then leaf, then intermediates
 *   cert_file, fullchain_file: leaf, then intermediates
 *   key_file:                  key
 * once per key type of the cert: with two (dual certificates) every path
 * names %k (ecdsa, rsa) and each key type goes to its own files; the
 * files of both pairs form one set, switched at once.
 * Files holding the key get the target's mode (0600, or 0640 with a
 * group); the others 0644. Owner and group apply to all of them.
 *
 * What a daemon can see, per target (also in README and mailcert.conf(5)):
 * - One file (Postfix chain_file, a `files` target with only a
 *   combined_file): the file is replaced by one rename (fsio.h). The daemon
 *   reads the old file or the new one, whole; a kill at any moment leaves
 *   one of them.
 * - Several files (Dovecot and Exim cert_file + key_file, `files` targets):
 *   each path is a symbolic link into a set directory beside the key file,
 *   .mailcert.<cert>.<target>/, whose `live` link names one complete
 *   version of all the files; a deployment writes the new version and
 *   switches `live` with one rename (target_set.c). A daemon that opens
 *   the key and then the certificate gets both old or both new, whenever
 *   mailcert is killed; only a daemon that opens them at the very
 *   instant of that rename can read one of each (a reload after it reads
 *   both new). Tools that read the paths follow the links; `allow_symlink`
 *   is not needed for links mailcert made.
 * The first deployment to paths that are still regular files converts
 * them to links without changing what they hold (a snapshot version first).
 *
 * mc_deploy_check() validates everything a write needs (users, groups,
 * symlinks, writable directories) so that a bad target fails before any
 * file changes; mc_deploy_stage() then writes all new files, so a full
 * disk also fails before anything a daemon reads has changed. Errors:
 * MC_ERR_DEPLOY naming the target, the path and what to do; MC_ERR_SYS
 * for I/O failures during the write.
 */
#ifndef MAILCERT_DEPLOY_H
#define MAILCERT_DEPLOY_H

#include <stdbool.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "mailcert/config.h"
#include "mailcert/err.h"
#include "mailcert/store.h"

/* mc_deploy_check - check target t for cert cc (its key types) without
 * changing anything. */
int mc_deploy_check(const struct mc_target *t, const struct mc_cert_conf *cc,
		    struct mc_err *err);

/* A target's new files, written and synced, not yet what the daemon reads. */
struct mc_deploy_staged;

/* mc_deploy_stage - write every new file of t for the pairs of version
 * of cert cc (its number names the set's version directory; 0 if none)
 * without changing what a daemon reads; *out is the caller's until commit
 * or abort. */
int mc_deploy_stage(const struct mc_target *t, const struct mc_cert_conf *cc,
		    unsigned version, const struct mc_pairs *pairs,
		    struct mc_deploy_staged **out, struct mc_err *err);

/* mc_deploy_commit - switch the staged files in (one rename per path for
 * a one-file target; links, then `live`, for a set) and release s. Sets
 * *changed when what the daemon reads has changed (also on a failure
 * after the switch). */
int mc_deploy_commit(struct mc_deploy_staged *s, bool *changed,
		     struct mc_err *err);

/* mc_deploy_abort - remove what the stage wrote; release s; NULL: no-op. */
void mc_deploy_abort(struct mc_deploy_staged *s);

/* mc_deploy_write - stage and commit: each pair's key and chain (leaf
 * first) to its files of t. */
int mc_deploy_write(const struct mc_target *t, const struct mc_cert_conf *cc,
		    const struct mc_pairs *pairs, struct mc_err *err);

/* mc_deploy_target_files - the paths (%n and %k expanded) of every file
 * target t writes for cert cc (*out new, free with mc_strv_free). */
int mc_deploy_target_files(const struct mc_target *t,
			   const struct mc_cert_conf *cc, char ***out,
			   size_t *n, struct mc_err *err);

/* mc_deploy_cert_files - the files of every target of cc (*out new, free
 * with mc_strv_free). */
int mc_deploy_cert_files(const struct mc_config *cfg, const struct mc_cert_conf *cc,
			 char ***out, size_t *n, struct mc_err *err);

/* mc_deploy_file_of_cert - 1 when the PEM file at path holds the leaf
 * certificate (first certificate) or, for a key-only file, the private key
 * of a stored version of cert name; 0 when not; -1 when unreadable. */
int mc_deploy_file_of_cert(const char *path, const char *state_dir,
			   const char *name, struct mc_err *err);

/* mc_deploy_set_of_link - whether path is a link mailcert made into a set
 * of cert (".mailcert.<cert>.<target>/live/<kind>"); the set directory's
 * path into buf. For `delete --targets`. */
bool mc_deploy_set_of_link(const char *path, const char *cert, char *buf,
			   size_t size);

/* mc_deploy_remove_set - remove set directory setdir: every version of the
 * files in it (keys too), `live` and our temp links; never follows a link. */
int mc_deploy_remove_set(const char *setdir, struct mc_err *err);

/* mc_deploy_clean - remove what interrupted runs left beside t's files:
 * our ".FILE.<12 hex>" temp files (exactly the names of t's files) and the
 * set's unused version directories (some hold keys). Under the lock. */
int mc_deploy_clean(const struct mc_target *t, const struct mc_cert_conf *cc,
		    unsigned *removed, struct mc_err *err);

/*
 * Drift: whether a target's files, read as the daemon reads them
 * (following links), hold exactly what deploying a version would write.
 */
enum mc_drift_state {
	MC_DRIFT_OK = 0,     /* the files are the version's */
	MC_DRIFT_MISSING,    /* a file is missing */
	MC_DRIFT_OTHER,      /* a matching pair of another certificate */
	MC_DRIFT_MIXED,      /* key and certificate do not belong together */
	MC_DRIFT_UNREADABLE, /* not a regular file, or not PEM */
	MC_DRIFT_KEYTYPES,   /* the version holds other key types than the
				configuration asks for (one vs two): a
				renewal orders them; not repaired */
};

struct mc_drift_row {
	char target[128];
	enum mc_drift_state state;
	char leaf_sha256[65]; /* of the leaf the target holds ("" unknown) */
	unsigned holds;       /* the stored version with that leaf (0: none) */
	char detail[512];
};

/* mc_drift_state_name - "ok", "missing", "other", "mixed", "unreadable",
 * "keytypes". */
const char *mc_drift_state_name(enum mc_drift_state s);

/* mc_deploy_target_drift - compare t's files with the pairs of a version
 * of cc (each pair its files: a matching pair per key type); fills *row
 * (holds stays 0). -1 only for internal errors. */
int mc_deploy_target_drift(const struct mc_target *t,
			   const struct mc_cert_conf *cc,
			   const struct mc_pairs *pairs,
			   struct mc_drift_row *row, struct mc_err *err);

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
 * The deploy pipeline (pipeline.c): the version is checked first (its key
 * matches its leaf, notBefore at most MC_X509_CLOCK_SKEW ahead, not
 * expired - for each pair of a dual certificate, and it must hold as many
 * key types as the cert is configured with), then every target; the
 * journal (store.h) is written; every target is staged (both pairs), then
 * switched; each daemon is reloaded; then every verify endpoint must
 * serve the new leaf, for each name by SNI and once without SNI (unless
 * verify_without_sni = no), and for each key type with a probe that
 * offers only that type's signature algorithms (retrying with backoff up
 * to verify_timeout, since daemons reload asynchronously). If something fails before any target changed,
 * the error says "nothing was changed" and nothing is rolled back. If it
 * fails after, the version that was current before (prev) is written back,
 * reloaded and verified, `current` points at it again, and the failed
 * version is marked "failed" in its meta.json. The journal is removed once
 * the outcome is settled; a run that finds it finishes the deployment
 * (mc_deploy_converge). Categories: MC_ERR_DEPLOY (check/write/reload;
 * exit 1), MC_ERR_INPUT (an unusable version; exit 1), MC_ERR_VERIFY (a
 * live endpoint serves something else; exit 3).
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
	char key[8];   /* the key type the probe allowed: "ecdsa" or "rsa" */
	char expected_serial[128]; /* of the leaf of that key type */
	enum mc_live_outcome outcome;
	char served_serial[128];
	char served_sha256[65];
	char detail[512];
	long ms;
};

struct mc_live_report {
	char expected_serial[128]; /* of the first key type's leaf */
	char expected_sha256[65];
	size_t n_keys;             /* key types checked (2: dual) */
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
	bool changed;             /* a target's files were switched */
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
 * version to roll back to (the one current before; 0: none). Fills *rep
 * either way. */
int mc_deploy_version(const struct mc_config *cfg, const struct mc_cert_conf *cc,
		      unsigned version, unsigned prev,
		      struct mc_deploy_report *rep, struct mc_err *err);

/* mc_deploy_rollback - the pipeline for a rollback from prev to version:
 * version becomes current again keeping its own prior (deployments record
 * the version they replace; rollbacks walk back along that), and prev is
 * put back if it fails. */
int mc_deploy_rollback(const struct mc_config *cfg, const struct mc_cert_conf *cc,
		       unsigned version, unsigned prev,
		       struct mc_deploy_report *rep, struct mc_err *err);

/* mc_deploy_repair - the pipeline for version (normally `current`) without
 * a rollback: on failure the version is not marked failed and the journal
 * stays, so the next run tries again. */
int mc_deploy_repair(const struct mc_config *cfg, const struct mc_cert_conf *cc,
		     unsigned version, struct mc_deploy_report *rep,
		     struct mc_err *err);

/*
 * Convergence (converge.c), at the start of every run that holds the lock:
 * with clean (the lock says the run before was interrupted: lock.h), remove
 * what it left (staging dirs, temp files, unused set versions); refuse a
 * `current` that is not a link; finish a deployment a
 * journal says was interrupted (deploy its `to` version, rolling back to
 * `from` if that fails); then compare every target with `current` and,
 * with MC_CONVERGE_REPAIR, redeploy `current` (verified live) where one
 * differs. MC_CONVERGE_JOURNAL stops after the journal (for commands that
 * write every target next anyway) and only reports drift.
 */
enum mc_converge_mode { MC_CONVERGE_REPAIR = 0, MC_CONVERGE_JOURNAL };

struct mc_converge_report {
	bool stop;                /* the cert's state is broken: order and
				     deploy nothing for it (see the error) */
	unsigned removed;         /* leftover files and directories removed */
	bool interrupted;         /* a journal was found */
	char journal_op[16];
	unsigned journal_to, journal_from;
	unsigned current;         /* current after converging (0: none) */
	struct mc_drift_row *drift; /* one row per target, vs current */
	size_t n_drift;
	size_t n_bad;             /* rows not MC_DRIFT_OK */
	bool deployed;            /* a deployment ran: see deploy */
	bool deploy_ok;           /* ... and it was verified live */
	unsigned deployed_version;
	struct mc_deploy_report deploy;
};

/* mc_deploy_converge - the above for cert cc; fills *rep. -1: cc cannot
 * go on this run (its state is broken, or the finish/repair failed). */
int mc_deploy_converge(const struct mc_config *cfg, const struct mc_cert_conf *cc,
		       enum mc_converge_mode mode, bool clean,
		       struct mc_converge_report *rep, struct mc_err *err);

/* mc_converge_report_clear - free a converge report. */
void mc_converge_report_clear(struct mc_converge_report *rep);

/* mc_deploy_drift - one row per target of cc: its files vs stored version
 * (new array in *rows; *n rows). Changes nothing, needs no lock. */
int mc_deploy_drift(const struct mc_config *cfg, const struct mc_cert_conf *cc,
		    unsigned version, struct mc_drift_row **rows, size_t *n,
		    struct mc_err *err);

/* mc_deploy_verify_live - only the live check of cert cc against the
 * leaves of pairs (keys may be NULL: mc_store_load_chains), every endpoint
 * x name (and no SNI unless verify_without_sni = no) x key type, with
 * retries up to cc's verify_timeout; fills *live. */
int mc_deploy_verify_live(const struct mc_cert_conf *cc,
			  const struct mc_pairs *pairs,
			  struct mc_live_report *live, struct mc_err *err);

#endif
