/*
 * proc.h - run a program without a shell, with a clean environment and a
 * timeout.
 *
 * mc_proc_run() posix_spawn()s argv[0] (an absolute or relative path; no
 * PATH search unless it has no slash, then a fixed PATH is searched) with
 * exactly the environment envp (NULL: an empty one plus a fixed
 * PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin), stdin
 * from /dev/null, stdout and stderr captured (each capped; the rest is
 * discarded), every other descriptor closed. After timeout seconds the child
 * gets SIGTERM, then SIGKILL 5 seconds later. The child is always reaped.
 *
 * Errors: MC_ERR_SYS when the program cannot be started (names it and the
 * errno text). A program that ran is not an error: the caller reads
 * struct mc_proc_result.
 */
#ifndef MAILCERT_PROC_H
#define MAILCERT_PROC_H

#include <stdbool.h>
#include <stddef.h>

#include "mailcert/err.h"

struct mc_proc_result {
	int exit_code;    /* valid when !signaled && !timed_out */
	int term_signal;  /* valid when signaled */
	bool signaled;
	bool timed_out;
	char *out;        /* captured stdout (NUL-terminated, capped), caller frees via mc_proc_result_clear */
	char *errout;     /* captured stderr, likewise */
};

/* mc_proc_run - run argv with envp; fills *res (cleared with mc_proc_result_clear). */
int mc_proc_run(const char *const *argv, const char *const *envp, long timeout,
		struct mc_proc_result *res, struct mc_err *err);

/* mc_proc_result_clear - free the captured output. */
void mc_proc_result_clear(struct mc_proc_result *res);

/* mc_proc_failed - whether the child did not exit with status 0 (a
 * signal, the timeout or a non-zero status). */
bool mc_proc_failed(const struct mc_proc_result *res);

#define MC_PROC_EXCERPT_MAX 300 /* characters of output in a summary */

/* mc_proc_summary - the one way to say why a child failed, into buf:
 * "exited with status 3", "killed by signal 9 (SIGKILL)" or "timed out
 * after 5s", then ": " and a sanitized excerpt of its stderr (or, when
 * that is empty, its stdout): one line, lines joined by " | ", at most
 * MC_PROC_EXCERPT_MAX characters, head and tail kept when cut
 * (mailcert/text.h). Callers prefix what ran ("deploy hook /x: "). */
void mc_proc_summary(const struct mc_proc_result *res, long timeout,
                     char *buf, size_t size);

/* mc_proc_split - split a command line on blanks into a NULL-terminated argv
 * (no quoting, no expansion; new array, free with mc_proc_argv_free). */
char **mc_proc_split(const char *cmdline, struct mc_err *err);

/* mc_proc_argv_free - free an argv from mc_proc_split. */
void mc_proc_argv_free(char **argv);

#endif
