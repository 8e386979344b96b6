/*
 * lock.c - one mailcert run at a time per state directory.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mailcert/fsio.h"
#include "mailcert/lock.h"

/* lock_mark - whether the lock file says a run did not finish (it left
 * "running PID"); then mark this run, durably, for the next one to see. */
static bool
lock_mark(int fd)
{
	char buf[64], mark[64];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	int len = snprintf(mark, sizeof(mark), "running %ld\n", (long)getpid());

	if (ftruncate(fd, 0) == 0 && pwrite(fd, mark, (size_t)len, 0) == len)
		fdatasync(fd);
	return n > 0;
}

/* mc_lock_take - lock state_dir/lock without waiting. */
int
mc_lock_take(const char *state_dir, struct mc_err *err)
{
	return mc_lock_take_run(state_dir, NULL, err);
}

/* mc_lock_take_run - lock state_dir/lock; *interrupted: a run before this
 * one ended without releasing it (killed, crashed, power lost). */
int
mc_lock_take_run(const char *state_dir, bool *interrupted, struct mc_err *err)
{
	char path[4096];
	struct stat st;
	bool was;
	int fd;

	if (mc_fsio_mkdirs(state_dir, 0700, err) == -1)
		return mc_err_prefix(err, "state directory");
	snprintf(path, sizeof(path), "%s/lock", state_dir);
	fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK,
		  0600);
	if (fd == -1)
		return mc_err_errno(err, MC_ERR_SYS, "cannot open %s", path);
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		close(fd);
		return mc_err_set(err, MC_ERR_INPUT,
				  "%s is not a regular file; remove it (mailcert "
				  "creates it again)",
				  path);
	}
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		if (errno == EWOULDBLOCK)
			mc_err_set(err, MC_ERR_LOCKED,
				   "another mailcert run holds %s; try again "
				   "when it has finished",
				   path);
		else
			mc_err_errno(err, MC_ERR_SYS, "cannot lock %s", path);
		close(fd);
		return -1;
	}
	was = lock_mark(fd);
	if (interrupted != NULL)
		*interrupted = was;
	return fd;
}

/* mc_lock_release - clear the run's marker, release and close. */
void
mc_lock_release(int fd)
{
	int rc;

	if (fd < 0)
		return;
	/* the run finished: no marker (if this fails, the next run only
	 * cleans up for nothing) */
	rc = ftruncate(fd, 0);
	(void)rc;
	flock(fd, LOCK_UN);
	close(fd);
}
