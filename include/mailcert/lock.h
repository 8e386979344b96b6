/*
 * lock.h - one mailcert run at a time per state directory.
 *
 * flock(LOCK_EX|LOCK_NB) on state_dir/lock. A held lock fails at once with
 * MC_ERR_LOCKED (exit 4). The lock lives as long as the file descriptor.
 */
#ifndef MAILCERT_LOCK_H
#define MAILCERT_LOCK_H

#include "mailcert/err.h"

/* mc_lock_take - create state_dir if needed and lock it; returns the fd or -1. */
int mc_lock_take(const char *state_dir, struct mc_err *err);

/* mc_lock_release - release and close; -1 is a no-op. */
void mc_lock_release(int fd);

#endif
