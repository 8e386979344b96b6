/*
 * measure_exec.c - run one command and report its own cost on fd 3:
 * "WALL_MS CPU_MS RSS_KB EXIT".
 *
 * Built and run by bench/measure.py (not part of mailcert). It forks,
 * execs the command and reaps it with wait4(), so the figures are those of
 * the command and every descendant it waited for, and nothing of this
 * launcher: CPU_MS is ru_utime + ru_stime of that wait4 (microsecond
 * resolution), RSS_KB its ru_maxrss (the largest of those processes; the
 * fork's copy of this small launcher is the floor, about 1 MB), WALL_MS
 * from just before the fork to just after the reap (CLOCK_MONOTONIC).
 * EXIT is the exit code, or 128 + the signal that ended it. fd 3 is
 * closed in the command (close-on-exec); the command keeps fd 0-2.
 *
 * usage: measure_exec CMD [ARG...]   (the result goes to fd 3)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ms_between - milliseconds from a to b. */
static double
ms_between(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) * 1e3 +
	       (double)(b->tv_nsec - a->tv_nsec) / 1e6;
}

int
main(int argc, char **argv)
{
	struct timespec t0, t1;
	struct rusage ru;
	int status, code;
	double cpu;
	pid_t pid;

	if (argc < 2 || fcntl(3, F_SETFD, FD_CLOEXEC) == -1) {
		fprintf(stderr, "usage: measure_exec CMD [ARG...] (result on fd 3)\n");
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid = fork();
	if (pid == -1) {
		perror("measure_exec: fork");
		return 2;
	}
	if (pid == 0) {
		execvp(argv[1], argv + 1);
		perror(argv[1]);
		_exit(127);
	}
	while (wait4(pid, &status, 0, &ru) == -1) {
		if (errno != EINTR) {
			perror("measure_exec: wait4");
			return 2;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	code = WIFEXITED(status) ? WEXITSTATUS(status)
				 : 128 + WTERMSIG(status);
	cpu = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
	      (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
	dprintf(3, "%.1f %.2f %ld %d\n", ms_between(&t0, &t1), cpu,
		ru.ru_maxrss, code);
	return 0;
}
