/*
 * time.h - the one monotonic clock and sleep of mailcert.
 *
 * Every timeout, deadline, backoff and poll interval is measured with
 * mc_now_ms() (CLOCK_MONOTONIC: wall-clock steps do not move deadlines)
 * and waited with mc_sleep_ms(), which resumes after signal interruptions
 * that are not a request to stop, and ends early when one is
 * (SIGTERM/SIGINT/SIGHUP caught by mc_interrupt_catch(), see
 * mailcert/interrupt.h): poll waits, Retry-After, dns_wait and
 * --jitter end, and the next ACME request fails with
 * MC_ERR_INTERRUPTED. Processes that catch no signal never see that.
 */
#ifndef MAILCERT_TIME_H
#define MAILCERT_TIME_H

/* mc_now_ms - monotonic milliseconds (arbitrary epoch). */
long long mc_now_ms(void);

/* mc_sleep_ms - sleep ms milliseconds (nothing when ms <= 0); 0 after
 * the full time, -1 when a stop signal is pending (at once or within
 * 200 ms of its arrival). */
int mc_sleep_ms(long long ms);

/* mc_sleep_ms_full - sleep ms milliseconds even after a stop signal: for
 * a pause inside a step that must finish once begun (the live check of a
 * deployment, which decides on rollback; etcd's retry pause, through
 * which the fleet lock is released). */
void mc_sleep_ms_full(long long ms);

#endif
