/*
 * time.c - the monotonic clock and sleep (see time.h).
 */
#include <errno.h>
#include <stdbool.h>
#include <time.h>

#include "mailcert/interrupt.h"
#include "mailcert/time.h"

#define SLEEP_SLICE_MS 200 /* a signal between two checks waits this long */

/* mc_now_ms - monotonic milliseconds. */
long long
mc_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* time_sleep - sleep until ms milliseconds from now on the monotonic
 * clock; when stoppable, end early once a stop signal is pending. */
static int
time_sleep(long long ms, bool stoppable)
{
	long long end = mc_now_ms() + ms, left;
	struct timespec ts;

	for (;;) {
		if (stoppable && mc_interrupt_pending() != 0)
			return -1;
		left = end - mc_now_ms();
		if (left <= 0)
			return 0;
		if (left > SLEEP_SLICE_MS)
			left = SLEEP_SLICE_MS;
		ts.tv_sec = (time_t)(left / 1000);
		ts.tv_nsec = (long)(left % 1000) * 1000000L;
		if (nanosleep(&ts, NULL) == -1 && errno != EINTR)
			return 0;
	}
}

/* mc_sleep_ms - sleep, ending early on a stop signal. */
int
mc_sleep_ms(long long ms)
{
	return time_sleep(ms, true);
}

/* mc_sleep_ms_full - sleep the whole time, whatever signal comes. */
void
mc_sleep_ms_full(long long ms)
{
	(void)time_sleep(ms, false);
}
