/*
 * interrupt.h - SIGTERM, SIGINT and SIGHUP as a request to stop cleanly.
 *
 * A run that orders a certificate leaves things behind when it simply
 * dies: TXT records published by the dns hook, token files in a webroot,
 * a service stopped by a pre hook. So `issue` and `renew` call
 * mc_interrupt_catch() first: the handler it installs does nothing but
 * store the signal number in a volatile sig_atomic_t (async-signal-safe),
 * and it is installed without SA_RESTART, so a blocking sleep or poll
 * returns early. The engine looks at the flag at its next step: no new
 * ACME request is started (mc_interrupt_check gives MC_ERR_INTERRUPTED),
 * sleeps end (mc_sleep_ms, mailcert/time.h), further certs are skipped, and the
 * cleanup that follows - dns hook `del`, webroot files, responders,
 * failure and post hooks - runs to the end; then the process exits 1.
 * A second signal restores the default action and re-raises it, so a
 * second Ctrl-C (or kill) ends the process at once.
 *
 * Threads that must not take the signal (the challenge responders) block
 * all signals; the handler then runs on the main thread.
 */
#ifndef MAILCERT_INTERRUPT_H
#define MAILCERT_INTERRUPT_H

#include "mailcert/err.h"

/* mc_interrupt_catch - install the handlers (once per process). */
void mc_interrupt_catch(void);

/* mc_interrupt_pending - the signal received (SIGTERM ...), or 0. */
int mc_interrupt_pending(void);

/* mc_interrupt_check - -1 with MC_ERR_INTERRUPTED ("interrupted by
 * SIGTERM") when a signal is pending, else 0. */
int mc_interrupt_check(struct mc_err *err);

#endif
