/*
 * hooks.h - run hook scripts with the documented environment.
 *
 * Hooks are executables in hooks_dir/{pre,reload,deploy,post,failure}.d/, run in
 * lexical (byte) order, plus a cert's own deploy_hook. Each is exec'd
 * directly (no shell) with no arguments, stdin /dev/null, a clean
 * environment holding only PATH and the variables of INTERFACE.md, and a
 * timeout (SIGTERM, then SIGKILL). Entries that are not regular
 * executable files, or whose names start with '.' or end in '~' or
 * contain ".dpkg-", are skipped.
 *
 * A failing hook is reported, never fatal to the run: mc_hooks_run_event
 * runs every hook and returns the number that failed, with the first
 * failure in err (MC_ERR_HOOK naming the hook and what happened).
 */
#ifndef MAILCERT_HOOKS_H
#define MAILCERT_HOOKS_H

#include <stdbool.h>
#include <stddef.h>

#include "mailcert/config.h"
#include "mailcert/err.h"

struct mc_hook_env {
	const char *event;     /* "pre", "reload", "deploy", "post", "failure" */
	const char *cert_name; /* NULL for pre/post */
	const char *names;     /* space separated, or NULL */
	const char *lineage;   /* directory with cert.pem chain.pem fullchain.pem privkey.pem */
	const char *error;     /* failure only */
	/* the key types of the version in lineage (0: unknown): each gets
	 * MAILCERT_ECDSA_* or MAILCERT_RSA_* (CERT, KEY, CHAIN, FULLCHAIN
	 * _FILE) naming its files there (mc_pair_file); the plain
	 * MAILCERT_*_FILE and RENEWED_LINEAGE are the first key type's */
	enum mc_key_type key_types[MC_KEY_TYPES_MAX];
	size_t n_key_types;
};

/* mc_hooks_envp - the environment for env (new NULL-terminated array;
 * free with mc_hooks_envp_free). */
char **mc_hooks_envp(const struct mc_hook_env *env, struct mc_err *err);

/* mc_hooks_envp_free - free an environment from mc_hooks_envp. */
void mc_hooks_envp_free(char **envp);

/* mc_hooks_run_one - run one hook program; 0 if it exited 0. */
int mc_hooks_run_one(const char *path, const struct mc_hook_env *env,
		     long timeout, struct mc_err *err);

/* mc_hooks_name_ignored - whether a hook directory entry of this name is
 * skipped by name (starts with '.', ends in '~', contains ".dpkg-"). */
bool mc_hooks_name_ignored(const char *name);

/* mc_hooks_run_event - run hooks_dir/<event>.d/ in order; returns the
 * number of failed hooks (first failure in err), or -1 if the directory
 * cannot be read. A missing directory runs nothing. */
int mc_hooks_run_event(const char *hooks_dir, const struct mc_hook_env *env,
		       long timeout, struct mc_err *err);

/* mc_hooks_count - how many hooks hooks_dir/<event>.d/ holds that would
 * run (0 for a missing directory), or -1 when it cannot be read. */
int mc_hooks_count(const char *hooks_dir, const char *event);

/* mc_hooks_run_cert_event - mc_hooks_run_event for event with the
 * environment of cert cc (NULL for the run-wide pre and post): its name,
 * its names and lineage (the directory holding cert.pem, chain.pem,
 * fullchain.pem and privkey.pem of the version concerned, and of a dual
 * version the second key type's files) whose key types are types[0..n)
 * (n 0: cc's); error for failure events; for "deploy" also cc's
 * deploy_hook, after the directory. Returns what mc_hooks_run_event
 * returns (the deploy_hook counted in). */
int mc_hooks_run_cert_event(const char *hooks_dir, const char *event,
			    const struct mc_cert_conf *cc, const char *lineage,
			    const enum mc_key_type *types, size_t n,
			    const char *error, long timeout, struct mc_err *err);

#endif
