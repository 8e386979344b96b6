/*
 * time.c - the monotonic clock and sleep (see time.h).
 */
#include <errno.h>
#include <time.h>

#include "mailcert/time.h"

/* mc_now_ms - monotonic milliseconds. */
long long
mc_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* mc_sleep_ms - sleep ms milliseconds, resuming after signals. */
void
mc_sleep_ms(long long ms)
{
	struct timespec ts;

	if (ms <= 0)
		return;
	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}
