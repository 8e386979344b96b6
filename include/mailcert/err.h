/*
 * err.h - error reporting for the mailcert library.
 *
 * Every fallible function returns 0 / -1 (or NULL) and takes a
 * `struct mc_err *err` as its last argument. The function where the
 * failure starts sets a category and a message (with errno text, the
 * drained OpenSSL error queue, or the ACME problem); callers only
 * prepend context with mc_err_prefix(). The library never prints an
 * error and never exits: cli/ prints it once and maps the category to
 * the exit code of INTERFACE.md with mc_err_exit_code().
 *
 * `err` may be NULL when the caller does not care.
 */
#ifndef MAILCERT_ERR_H
#define MAILCERT_ERR_H

#include <stddef.h>

enum mc_err_cat {
	MC_ERR_NONE = 0,
	MC_ERR_USAGE,     /* bad command line (exit 2) */
	MC_ERR_CONFIG,    /* bad configuration file (exit 2) */
	MC_ERR_SYS,       /* system call failed (exit 1) */
	MC_ERR_CRYPTO,    /* OpenSSL failure (exit 1) */
	MC_ERR_NET,       /* connect, TLS, timeout, size limit (exit 1) */
	MC_ERR_CA,        /* the ACME server said no or sent garbage (exit 1) */
	MC_ERR_CHALLENGE, /* a challenge or authorization failed (exit 1) */
	MC_ERR_INPUT,     /* malformed data from a peer or file (exit 1) */
	MC_ERR_DEPLOY,    /* writing targets or reloading failed (exit 1) */
	MC_ERR_HOOK,      /* a hook failed or timed out (exit 1) */
	MC_ERR_VERIFY,    /* a live endpoint does not serve ours (exit 3) */
	MC_ERR_LOCKED,    /* another run holds the lock (exit 4) */
	MC_ERR_INTERRUPTED, /* SIGTERM/SIGINT/SIGHUP: stopped, cleaned up (exit 1) */
};

#define MC_ERR_MSG_MAX 2048

struct mc_err {
	enum mc_err_cat cat;
	char msg[MC_ERR_MSG_MAX];
};

/* mc_err_clear - reset err to "no error". */
void mc_err_clear(struct mc_err *err);

/* mc_err_set - set category and message; returns -1 for `return mc_err_set(...)`. */
int mc_err_set(struct mc_err *err, enum mc_err_cat cat, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* mc_err_errno - like mc_err_set, appending ": " and strerror(errno). */
int mc_err_errno(struct mc_err *err, enum mc_err_cat cat, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* mc_err_openssl - MC_ERR_CRYPTO with the whole OpenSSL error queue appended (and drained). */
int mc_err_openssl(struct mc_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* mc_err_prefix - prepend "context: " to the message, keeping the category; returns -1. */
int mc_err_prefix(struct mc_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* mc_err_exit_code - the process exit code for a category (INTERFACE.md). */
int mc_err_exit_code(enum mc_err_cat cat);

/* mc_err_cat_name - a short stable name for a category ("config", "ca", ...). */
const char *mc_err_cat_name(enum mc_err_cat cat);

#endif
