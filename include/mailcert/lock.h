/*
 * lock.h - one mailcert run at a time per state directory.
 *
 * flock(LOCK_EX|LOCK_NB) on state_dir/lock. A held lock fails at once with
 * MC_ERR_LOCKED (exit 4). The lock lives as long as the file descriptor.
 * While a run holds it, the file says "running PID" (written with
 * fdatasync); mc_lock_release empties it. A run that finds it not empty
 * knows the run before was interrupted and cleans up what that one left
 * (deploy.h, convergence) - only then, so that runs stay cheap.
 */
#ifndef MAILCERT_LOCK_H
#define MAILCERT_LOCK_H

#include <stdbool.h>

#include "mailcert/err.h"

/* mc_lock_take - create state_dir if needed and lock it; returns the fd or -1. */
int mc_lock_take(const char *state_dir, struct mc_err *err);

/* mc_lock_take_run - mc_lock_take; *interrupted (may be NULL): the run
 * before this one did not release the lock (killed, crashed). */
int mc_lock_take_run(const char *state_dir, bool *interrupted,
		     struct mc_err *err);

/* mc_lock_release - empty the marker, release and close; -1 is a no-op. */
void mc_lock_release(int fd);

#endif
