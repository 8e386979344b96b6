/*
 * test_interrupt.c - SIGTERM/SIGINT/SIGHUP as a request to stop
 * (core/interrupt.c), the sleep it ends (core/time.c) and the requests
 * it stops (core/http.c). Each case runs in a child process, since the flag
 * is per process and a second signal kills: the child reports by its
 * exit status (0 ok, 1+ the failed step) or by the signal that ended it.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "mailcert/err.h"
#include "mailcert/http.h"
#include "mailcert/interrupt.h"
#include "mailcert/time.h"
#include "tests/unit/testnet.h"

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* case_flag - one signal sets the flag and the error names it. */
static int
case_flag(int sig)
{
	struct mc_err err;

	mc_err_clear(&err);
	if (mc_interrupt_pending() != 0 || mc_interrupt_check(&err) != 0)
		return 1;
	mc_interrupt_catch();
	raise(sig);
	if (mc_interrupt_pending() != sig)
		return 2;
	if (mc_interrupt_check(&err) != -1 || err.cat != MC_ERR_INTERRUPTED ||
	    mc_err_exit_code(err.cat) != 1)
		return 3;
	if (strstr(err.msg, sig == SIGTERM ? "interrupted by SIGTERM"
	                    : sig == SIGINT ? "interrupted by SIGINT"
	                                    : "interrupted by SIGHUP") == NULL)
		return 4;
	return 0;
}

/* case_sleep_pending - a sleep after the signal returns at once. */
static int
case_sleep_pending(int sig)
{
	long t0;

	mc_interrupt_catch();
	raise(sig);
	t0 = tn_now_ms();
	if (mc_sleep_ms(5000) != -1)
		return 1;
	return tn_now_ms() - t0 < 100 ? 0 : 2;
}

/* case_sleep_woken - sig from another process 150 ms into a 10 s sleep
 * ends it. */
static int
case_sleep_woken(int sig)
{
	long t0, took;

	mc_interrupt_catch();
	if (fork() == 0) {
		usleep(150000);
		kill(getppid(), sig);
		_exit(0);
	}
	t0 = tn_now_ms();
	if (mc_sleep_ms(10000) != -1)
		return 1;
	took = tn_now_ms() - t0;
	wait(NULL);
	return took >= 100 && took < 1000 ? 0 : 2;
}

/* case_sleep_full - without a signal the whole time is slept. */
static int
case_sleep_full(int sig)
{
	long t0;

	(void)sig;
	mc_interrupt_catch();
	t0 = tn_now_ms();
	if (mc_sleep_ms(450) != 0)
		return 1;
	return tn_now_ms() - t0 >= 440 ? 0 : 2;
}

/* case_http - after the signal an interruptible request (the ACME
 * client's) is MC_ERR_INTERRUPTED with nothing sent; another one (etcd,
 * whose lock must still be released) is still made (here: refused by a
 * closed port, MC_ERR_NET). */
static int
case_http(int sig)
{
	struct mc_http_req req = {0};
	struct mc_http_resp resp = {0};
	struct mc_http *http;
	struct mc_err err;
	int rc = 0;

	mc_interrupt_catch();
	raise(sig);
	http = mc_http_new(NULL, &err);
	if (http == NULL)
		return 1;
	req.method = "GET";
	req.url = "https://127.0.0.1:1/dir";
	req.interruptible = true;
	if (mc_http_request(http, &req, &resp, &err) != -1 ||
	    err.cat != MC_ERR_INTERRUPTED)
		rc = 2;
	req.interruptible = false;
	if (rc == 0 && (mc_http_request(http, &req, &resp, &err) != -1 ||
	                err.cat != MC_ERR_NET))
		rc = 3;
	mc_http_resp_clear(&resp);
	mc_http_free(http);
	return rc;
}

/* case_second_kills - the second signal ends the process by that signal. */
static int
case_second_kills(int sig)
{
	mc_interrupt_catch();
	raise(sig);
	raise(sig); /* does not return */
	return 9;
}

static const struct {
	const char *label;
	int (*fn)(int sig);
	int sig;
	int want_exit;   /* -1: ended by want_signal */
	int want_signal;
} cases[] = {
	{"SIGTERM sets the flag", case_flag, SIGTERM, 0, 0},
	{"SIGINT sets the flag", case_flag, SIGINT, 0, 0},
	{"SIGHUP sets the flag", case_flag, SIGHUP, 0, 0},
	{"sleep after the signal", case_sleep_pending, SIGINT, 0, 0},
	{"signal during a sleep", case_sleep_woken, SIGTERM, 0, 0},
	{"sleep without a signal", case_sleep_full, 0, 0, 0},
	{"no ACME request after the signal", case_http, SIGTERM, 0, 0},
	{"second SIGTERM kills", case_second_kills, SIGTERM, -1, SIGTERM},
	{"second SIGINT kills", case_second_kills, SIGINT, -1, SIGINT},
};

/* test_cases - run every row in its own child. */
static void
test_cases(void **state)
{
	pid_t pid;
	size_t i;
	int st;

	(void)state;
	for (i = 0; i < N_OF(cases); i++) {
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0)
			_exit(cases[i].fn(cases[i].sig));
		assert_int_equal(waitpid(pid, &st, 0), pid);
		if (cases[i].want_exit >= 0 &&
		    (!WIFEXITED(st) || WEXITSTATUS(st) != cases[i].want_exit))
			fail_msg("%s: child status 0x%x", cases[i].label, st);
		if (cases[i].want_exit < 0 &&
		    (!WIFSIGNALED(st) || WTERMSIG(st) != cases[i].want_signal))
			fail_msg("%s: child status 0x%x", cases[i].label, st);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cases),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
