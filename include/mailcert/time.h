/*
 * time.h - the one monotonic clock and sleep of mailcert.
 *
 * Every timeout, deadline, backoff and poll interval is measured with
 * mc_now_ms() (CLOCK_MONOTONIC: wall-clock steps do not move deadlines)
 * and waited with mc_sleep_ms(), which resumes after signal interruptions
 * so a wait is never cut short. Neither can fail.
 */
#ifndef MAILCERT_TIME_H
#define MAILCERT_TIME_H

/* mc_now_ms - monotonic milliseconds (arbitrary epoch). */
long long mc_now_ms(void);

/* mc_sleep_ms - sleep ms milliseconds (nothing when ms <= 0). */
void mc_sleep_ms(long long ms);

#endif
