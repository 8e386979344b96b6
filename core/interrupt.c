/*
 * interrupt.c - SIGTERM, SIGINT and SIGHUP as a request to stop cleanly
 * (see include/mailcert/interrupt.h).
 */
#define _GNU_SOURCE 1 /* sigabbrev_np */

#include <signal.h>
#include <string.h>

#include "mailcert/interrupt.h"

static volatile sig_atomic_t interrupt_signal;
static const int interrupt_signals[] = {SIGTERM, SIGINT, SIGHUP};

/* interrupt_handler - record the first signal; a second one ends us. */
static void
interrupt_handler(int sig)
{
	if (interrupt_signal != 0) {
		signal(sig, SIG_DFL); /* both async-signal-safe */
		raise(sig);
		return;
	}
	interrupt_signal = sig;
}

/* mc_interrupt_catch - install the handlers. */
void
mc_interrupt_catch(void)
{
	struct sigaction sa;
	size_t i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = interrupt_handler;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0; /* no SA_RESTART: blocking calls return EINTR */
	for (i = 0; i < sizeof(interrupt_signals) / sizeof(interrupt_signals[0]);
	     i++)
		sigaction(interrupt_signals[i], &sa, NULL);
}

/* mc_interrupt_pending - the signal received, or 0. */
int
mc_interrupt_pending(void)
{
	return interrupt_signal;
}

/* mc_interrupt_check - MC_ERR_INTERRUPTED when a signal is pending. */
int
mc_interrupt_check(struct mc_err *err)
{
	int sig = interrupt_signal;
	const char *name;

	if (sig == 0)
		return 0;
	name = sigabbrev_np(sig);
	return mc_err_set(err, MC_ERR_INTERRUPTED,
	                  "interrupted by SIG%s; stopped before the next step "
	                  "and cleaned up",
	                  name != NULL ? name : "?");
}
