/*
 * interrupt.c - SIGTERM, SIGINT and SIGHUP as a request to stop cleanly
 * (see include/mailcert/interrupt.h).
 */
#define _GNU_SOURCE 1 /* sigabbrev_np */

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <time.h>

#include "mailcert/interrupt.h"

#define SLEEP_SLICE_MS 200 /* a signal between two checks waits this long */

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

/* mc_interrupt_sleep_ms - sleep in slices, ending early on a signal. */
int
mc_interrupt_sleep_ms(long ms)
{
	struct timespec ts;
	long slice;

	while (ms > 0) {
		if (interrupt_signal != 0)
			return -1;
		slice = ms < SLEEP_SLICE_MS ? ms : SLEEP_SLICE_MS;
		ts.tv_sec = slice / 1000;
		ts.tv_nsec = (slice % 1000) * 1000000L;
		if (nanosleep(&ts, NULL) == -1 && errno != EINTR)
			break;
		ms -= slice; /* an EINTR slice counts as slept: at most 200 ms */
	}
	return interrupt_signal != 0 ? -1 : 0;
}
