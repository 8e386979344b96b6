/*
 * pool.h - the one worker pool of mailcert: run fn(arg, i) for every i in
 * 0..n-1 with at most k threads at once.
 *
 * Items are handed out in ascending order, each exactly once, to whichever
 * thread is free; fn must keep its own results per item (the caller then
 * reports them in item order, so output does not depend on timing). The
 * first item that fails wins: no item is started after it, the items under
 * way finish, and mc_pool_run returns -1 with that item's error. With k <= 1,
 * n <= 1, or when no thread can be created, the items run in the calling
 * thread (fewer threads than asked is not an error).
 *
 * fn runs concurrently with itself: whatever it shares through arg must be
 * read-only or guarded by the caller. Errors: those of fn; the pool itself
 * never fails.
 */
#ifndef MAILCERT_POOL_H
#define MAILCERT_POOL_H

#include <stddef.h>

#include "mailcert/err.h"

/* An item: 0, or -1 with err set (err is the item's own, never shared). */
typedef int (*mc_pool_fn)(void *arg, size_t i, struct mc_err *err);

/* mc_pool_run - fn(arg, i) for i in 0..n-1, at most k at once; -1 with the
 * first failing item's error. */
int mc_pool_run(size_t n, size_t k, mc_pool_fn fn, void *arg,
		struct mc_err *err);

#endif
