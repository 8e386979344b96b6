/*
 * test_proc.c - the process runner: exit codes, signals, timeouts (TERM,
 * then KILL), output capture and caps, the exact environment, stdin from
 * /dev/null, no leaked descriptors, EINTR, start errors, describe, split.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "mailcert/proc.h"

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))
#define FIXED_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define CAP (64 * 1024)

enum want {
	W_EXIT,   /* exited with code */
	W_SIGNAL, /* killed by signal code */
	W_TIMEOUT /* timed out, then killed by signal code */
};

static const char *const env_ab[] = {"A=1", "B=two words", NULL};

static const struct run_case {
	const char *label;
	const char *argv[6];
	const char *const *envp;
	long timeout;
	int rc;
	enum want want;
	int code;
	const char *out;     /* exact stdout, NULL: not checked */
	const char *errout;  /* exact stderr, NULL: not checked */
	size_t out_len;      /* exact stdout length when out is NULL, 0: not checked */
	double min_s, max_s; /* elapsed wall time bounds */
	enum mc_err_cat cat;
	const char *frag;
} run_cases[] = {
	{"true", {"/bin/true"}, NULL, 5, 0, W_EXIT, 0, "", "", 0, 0, 2, 0, NULL},
	{"exit 3", {"/bin/sh", "-c", "exit 3"}, NULL, 5, 0, W_EXIT, 3, "", "", 0,
	 0, 2, 0, NULL},
	{"PATH search, both streams", {"sh", "-c", "echo hello; echo oops >&2"},
	 NULL, 5, 0, W_EXIT, 0, "hello\n", "oops\n", 0, 0, 2, 0, NULL},
	{"exit 1 with stderr", {"/bin/sh", "-c", "echo bad config >&2; exit 1"},
	 NULL, 5, 0, W_EXIT, 1, "", "bad config\n", 0, 0, 2, 0, NULL},
	{"killed by signal 9", {"/bin/sh", "-c", "kill -9 $$"}, NULL, 5, 0,
	 W_SIGNAL, 9, NULL, NULL, 0, 0, 2, 0, NULL},
	{"exact environment", {"/usr/bin/env"}, env_ab, 5, 0, W_EXIT, 0,
	 "A=1\nB=two words\n", "", 0, 0, 2, 0, NULL},
	{"default environment", {"/usr/bin/env"}, NULL, 5, 0, W_EXIT, 0,
	 FIXED_PATH "\n", "", 0, 0, 2, 0, NULL},
	{"stdin is /dev/null", {"/bin/sh", "-c", "cat; echo done"}, NULL, 5, 0,
	 W_EXIT, 0, "done\n", "", 0, 0, 2, 0, NULL},
	{"no leaked descriptors", {"/bin/ls", "-1", "/proc/self/fd"}, NULL, 5, 0,
	 W_EXIT, 0, "0\n1\n2\n3\n", "", 0, 0, 2, 0, NULL},
	{"stdout capped, rest drained",
	 {"/bin/sh", "-c", "head -c 300000 /dev/zero | tr '\\0' a; echo end >&2"},
	 NULL, 10, 0, W_EXIT, 0, NULL, "end\n", CAP, 0, 5, 0, NULL},
	{"stderr capped, rest drained",
	 {"/bin/sh", "-c", "head -c 300000 /dev/zero | tr '\\0' b >&2; echo end"},
	 NULL, 10, 0, W_EXIT, 0, "end\n", NULL, 0, 0, 5, 0, NULL},
	{"sleep 100 times out (TERM)", {"/bin/sleep", "100"}, NULL, 1, 0,
	 W_TIMEOUT, SIGTERM, "", "", 0, 0.9, 3, 0, NULL},
	{"TERM ignored: KILL after 5s",
	 {"/bin/sh", "-c", "trap '' TERM; echo armed; sleep 100"}, NULL, 1, 0,
	 W_TIMEOUT, SIGKILL, "armed\n", "", 0, 5.9, 8.5, 0, NULL},
	{"grandchild holding the pipe", {"/bin/sh", "-c", "sleep 4 & echo bye"},
	 NULL, 20, 0, W_EXIT, 0, "bye\n", "", 0, 0, 3, 0, NULL},
	{"missing program", {"/nonexistent/mc-prog", "x"}, NULL, 5, -1, W_EXIT, 0,
	 NULL, NULL, 0, 0, 2, MC_ERR_SYS,
	 "cannot run /nonexistent/mc-prog: No such file or directory"},
	{"missing on PATH", {"mc-no-such-program"}, NULL, 5, -1, W_EXIT, 0, NULL,
	 NULL, 0, 0, 2, MC_ERR_SYS, "cannot run mc-no-such-program (searched"},
	{"not executable", {"/etc/passwd"}, NULL, 5, -1, W_EXIT, 0, NULL, NULL, 0,
	 0, 2, MC_ERR_SYS, "cannot run /etc/passwd: Permission denied"},
	{"a directory", {"/tmp"}, NULL, 5, -1, W_EXIT, 0, NULL, NULL, 0, 0, 2,
	 MC_ERR_SYS, "cannot run /tmp: Permission denied"},
	{"empty program name", {""}, NULL, 5, -1, W_EXIT, 0, NULL, NULL, 0, 0, 2,
	 MC_ERR_SYS, "empty program name"},
	{"empty argv", {NULL}, NULL, 5, -1, W_EXIT, 0, NULL, NULL, 0, 0, 2,
	 MC_ERR_SYS, "empty argv"},
	{"zero timeout", {"/bin/true"}, NULL, 0, -1, W_EXIT, 0, NULL, NULL, 0, 0,
	 2, MC_ERR_SYS, "timeout must be positive"},
	{"negative timeout", {"/bin/true"}, NULL, -5, -1, W_EXIT, 0, NULL, NULL,
	 0, 0, 2, MC_ERR_SYS, "timeout must be positive, not -5"},
};

/* now_s - the monotonic clock in seconds. */
static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* check_result - compare a finished run with its row. */
static void
check_result(const struct run_case *c, const struct mc_proc_result *res)
{
	assert_non_null(res->out);
	assert_non_null(res->errout);
	assert_int_equal(res->timed_out, c->want == W_TIMEOUT);
	assert_int_equal(res->signaled, c->want != W_EXIT);
	if (c->want == W_EXIT)
		assert_int_equal(res->exit_code, c->code);
	else
		assert_int_equal(res->term_signal, c->code);
	if (c->out != NULL)
		assert_string_equal(res->out, c->out);
	if (c->errout != NULL)
		assert_string_equal(res->errout, c->errout);
	if (c->out_len != 0)
		assert_int_equal(strlen(res->out), c->out_len);
	if (c->out == NULL && c->errout == NULL)
		return;
	if (c->errout == NULL) /* the stderr cap row */
		assert_int_equal(strlen(res->errout), CAP);
}

/* run_one - run one row and check it. */
static void
run_one(const struct run_case *c)
{
	struct mc_proc_result res;
	struct mc_err err;
	double t0, dt;
	int rc;

	print_message("proc: %s\n", c->label);
	memset(&res, 0, sizeof(res));
	mc_err_clear(&err);
	t0 = now_s();
	rc = mc_proc_run(c->argv, c->envp, c->timeout, &res, &err);
	dt = now_s() - t0;
	if (rc != c->rc)
		fail_msg("%s: rc %d, want %d (%s)", c->label, rc, c->rc, err.msg);
	if (dt < c->min_s || dt > c->max_s)
		fail_msg("%s: took %.2fs, want %.1f..%.1f", c->label, dt, c->min_s,
			 c->max_s);
	if (rc == 0) {
		check_result(c, &res);
	} else {
		assert_int_equal(err.cat, c->cat);
		if (strstr(err.msg, c->frag) == NULL)
			fail_msg("%s: \"%s\" lacks \"%s\"", c->label, err.msg, c->frag);
		assert_null(res.out);
	}
	mc_proc_result_clear(&res);
}

/* test_run - every row of run_cases, with a descriptor open that a
 * careless runner would leak. */
static void
test_run(void **state)
{
	int leak = open("/dev/null", O_RDONLY); /* deliberately not O_CLOEXEC */
	size_t i;

	(void)state;
	assert_true(leak >= 3);
	for (i = 0; i < N_OF(run_cases); i++)
		run_one(&run_cases[i]);
	close(leak);
}

static volatile sig_atomic_t ticks;

/* on_alarm - count timer signals. */
static void
on_alarm(int sig)
{
	(void)sig;
	ticks++;
}

/* test_eintr - a storm of signals without SA_RESTART changes nothing. */
static void
test_eintr(void **state)
{
	static const char *const argv[] = {"/bin/sh", "-c",
					   "sleep 0.5; echo ok; echo e >&2", NULL};
	struct itimerval it = {{0, 2000}, {0, 2000}}, off = {{0, 0}, {0, 0}};
	struct sigaction sa;
	struct mc_proc_result res;
	struct mc_err err;

	(void)state;
	memset(&sa, 0, sizeof(sa));
	memset(&res, 0, sizeof(res));
	sa.sa_handler = on_alarm;
	sigemptyset(&sa.sa_mask);
	assert_int_equal(sigaction(SIGALRM, &sa, NULL), 0);
	ticks = 0;
	assert_int_equal(setitimer(ITIMER_REAL, &it, NULL), 0);
	assert_int_equal(mc_proc_run(argv, NULL, 5, &res, &err), 0);
	setitimer(ITIMER_REAL, &off, NULL);
	signal(SIGALRM, SIG_DFL);
	assert_true(ticks > 10);
	assert_false(res.signaled);
	assert_int_equal(res.exit_code, 0);
	assert_string_equal(res.out, "ok\n");
	assert_string_equal(res.errout, "e\n");
	mc_proc_result_clear(&res);
}

/* test_sigdefault - a parent that ignores SIGTERM does not pass that on. */
static void
test_sigdefault(void **state)
{
	static const char *const argv[] = {"/bin/sleep", "100", NULL};
	struct mc_proc_result res;
	struct mc_err err;
	void (*old)(int) = signal(SIGTERM, SIG_IGN);
	double t0 = now_s();

	(void)state;
	memset(&res, 0, sizeof(res));
	assert_int_equal(mc_proc_run(argv, NULL, 1, &res, &err), 0);
	signal(SIGTERM, old);
	assert_true(res.timed_out);
	assert_int_equal(res.term_signal, SIGTERM);
	assert_true(now_s() - t0 < 3);
	mc_proc_result_clear(&res);
}

#define LONG_OUT                                                               \
	"line 1: starting the hook\n"                                         \
	"................................................................"     \
	"................................................................"     \
	"................................................................"     \
	"................................................................"     \
	"................................................................\n"   \
	"error: the real reason is on the last line\n"

static const struct {
	const char *label;
	struct mc_proc_result res;
	long timeout;
	size_t size;
	bool failed;
	const char *want;
} summary_cases[] = {
	{"exit 0", {0, 0, false, false, NULL, NULL}, 5, 64, false,
	 "exited with status 0"},
	{"exit 3", {3, 0, false, false, NULL, NULL}, 5, 64, true,
	 "exited with status 3"},
	{"exit 3, empty output", {3, 0, false, false, "", " \n"}, 5, 64, true,
	 "exited with status 3"},
	{"signal 9", {0, 9, true, false, NULL, NULL}, 5, 64, true,
	 "killed by signal 9 (SIGKILL)"},
	{"signal 6", {0, 6, true, false, NULL, NULL}, 5, 64, true,
	 "killed by signal 6 (SIGABRT)"},
	{"timeout wins", {0, 15, true, true, NULL, NULL}, 5, 64, true,
	 "timed out after 5s"},
	{"timeout 300 with output", {0, 9, true, true, NULL, "waiting...\n"},
	 300, 64, true, "timed out after 300s: waiting..."},
	{"stderr first", {1, 0, false, false, "on stdout", "on stderr\n"}, 5,
	 64, true, "exited with status 1: on stderr"},
	{"stdout when stderr is empty", {2, 0, false, false, "fatal: no\n", ""},
	 5, 64, true, "exited with status 2: fatal: no"},
	{"lines joined", {1, 0, false, false, NULL, "one\ntwo\r\nthree\n"},
	 5, 64, true, "exited with status 1: one | two | three"},
	{"escapes and controls", {1, 0, false, false, NULL,
	 "\x1b[31mERROR\x1b[0m\a\n\x1b]0;title\x07"}, 5, 64, true,
	 "exited with status 1: ?[31mERROR?[0m? | ?]0;title?"},
	{"invalid UTF-8", {1, 0, false, false, NULL, "caf\xe9 \xc3\xa9"}, 5,
	 64, true, "exited with status 1: caf? \xc3\xa9"},
	{"head and tail of long output", {1, 0, false, false, NULL, LONG_OUT},
	 5, 512, true, NULL},
	{"truncated", {0, 9, true, false, NULL, NULL}, 5, 7, true, "killed"},
	{"no room for output", {4, 0, false, false, NULL, "text"}, 5, 21, true,
	 "exited with status 4"},
};

/* test_summary - every row of summary_cases. */
static void
test_summary(void **state)
{
	char buf[512];
	size_t i;

	(void)state;
	for (i = 0; i < N_OF(summary_cases); i++) {
		print_message("summary: %s\n", summary_cases[i].label);
		memset(buf, 'x', sizeof(buf));
		assert_int_equal(mc_proc_failed(&summary_cases[i].res),
				 summary_cases[i].failed);
		mc_proc_summary(&summary_cases[i].res, summary_cases[i].timeout,
				buf, summary_cases[i].size);
		if (summary_cases[i].want != NULL) {
			assert_string_equal(buf, summary_cases[i].want);
			continue;
		}
		/* long output: bounded, first and last line kept */
		assert_true(strlen(buf) <= 40 + MC_PROC_EXCERPT_MAX);
		assert_non_null(strstr(buf, "exited with status 1: line 1: "));
		assert_non_null(strstr(buf, " ... "));
		assert_non_null(strstr(buf, "the real reason is on the last line"));
	}
	buf[0] = 'x';
	mc_proc_summary(&summary_cases[0].res, 5, buf, 0);
	assert_int_equal(buf[0], 'x');
}

static const struct {
	const char *label;
	const char *cmdline;
	const char *want[5]; /* NULL-terminated; want[0] NULL: error */
	enum mc_err_cat cat;
	const char *frag;
} split_cases[] = {
	{"one word", "postfix", {"postfix"}, 0, NULL},
	{"two words", "postfix reload", {"postfix", "reload"}, 0, NULL},
	{"blanks everywhere", " \t systemctl  reload\tdovecot \t",
	 {"systemctl", "reload", "dovecot"}, 0, NULL},
	{"no quoting", "sh -c 'a b'", {"sh", "-c", "'a", "b'"}, 0, NULL},
	{"empty", "", {NULL}, MC_ERR_CONFIG, "empty command line"},
	{"only blanks", " \t  ", {NULL}, MC_ERR_CONFIG, "empty command line"},
	{"newline only", "\n", {NULL}, MC_ERR_CONFIG, "empty command line"},
	{"NULL", NULL, {NULL}, MC_ERR_CONFIG, "empty command line"},
};

/* test_split - every row of split_cases. */
static void
test_split(void **state)
{
	struct mc_err err;
	char **argv;
	size_t i, j;

	(void)state;
	for (i = 0; i < N_OF(split_cases); i++) {
		print_message("split: %s\n", split_cases[i].label);
		mc_err_clear(&err);
		argv = mc_proc_split(split_cases[i].cmdline, &err);
		if (split_cases[i].want[0] == NULL) {
			assert_null(argv);
			assert_int_equal(err.cat, split_cases[i].cat);
			assert_non_null(strstr(err.msg, split_cases[i].frag));
			continue;
		}
		assert_non_null(argv);
		for (j = 0; split_cases[i].want[j] != NULL; j++) {
			assert_non_null(argv[j]);
			assert_string_equal(argv[j], split_cases[i].want[j]);
		}
		assert_null(argv[j]);
		mc_proc_argv_free(argv);
	}
	mc_proc_argv_free(NULL);
}

/* main - run the tests. */
int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_run),      cmocka_unit_test(test_eintr),
		cmocka_unit_test(test_sigdefault), cmocka_unit_test(test_summary),
		cmocka_unit_test(test_split),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
