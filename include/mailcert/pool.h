/*
 * pool.h - the concurrency helpers of mailcert: the one worker pool (run
 * fn(arg, i) for every i in 0..n-1 with at most k threads at once), and
 * the one per-key limit (at most max holders of a key at once across all
 * the threads of a run, e.g. connections to one server address).
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

/* The per-key limit. mc_limit_take blocks (on a condition variable, no
 * polling, no timeout) until a slot of key is free; the waiters of one key
 * get their slots in the order they asked (each freed slot is handed to
 * the longest waiter), so none starves. Keys are short strings (a numeric
 * address), compared exactly. A key without holders or waiters costs no
 * memory.
 *
 * Deadlock: a thread must never wait for a slot while it holds one (of
 * any key): then every holder is doing work that ends and gives its slot
 * back. So a thread holds at most one slot, and gives it back itself:
 * mc_limit_take aborts when the calling thread already holds one.
 * Errors: MC_ERR_SYS when memory runs out (nothing held then). */
struct mc_limit;
struct mc_limit_slot;

#define MC_LIMIT_KEY_MAX 64 /* bytes of a key, NUL included */

/* mc_limit_new - a limit of max (>= 1) holders per key (NULL with
 * MC_ERR_SYS). */
struct mc_limit *mc_limit_new(unsigned max, struct mc_err *err);

/* mc_limit_max - the holders allowed per key. */
unsigned mc_limit_max(const struct mc_limit *l);

/* mc_limit_free - free l (NULL: no-op); every slot must have been given
 * back. */
void mc_limit_free(struct mc_limit *l);

/* mc_limit_take - wait for a slot of key (truncated to MC_LIMIT_KEY_MAX -
 * 1 bytes); the slot (give it back with mc_limit_give, on this thread),
 * or NULL with MC_ERR_SYS; aborts if this thread holds a slot already. */
struct mc_limit_slot *mc_limit_take(struct mc_limit *l, const char *key,
                                    struct mc_err *err);

/* mc_limit_give - give the slot back (NULL: no-op); the longest waiter
 * of its key, if any, gets it. */
void mc_limit_give(struct mc_limit_slot *slot);

#endif
