/*
 * lock.c - one mailcert run at a time per state directory.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mailcert/fsio.h"
#include "mailcert/lock.h"

/* mc_lock_take - lock state_dir/lock without waiting. */
int
mc_lock_take(const char *state_dir, struct mc_err *err)
{
	char path[4096];
	struct stat st;
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
	return fd;
}

/* mc_lock_release - release and close. */
void
mc_lock_release(int fd)
{
	if (fd < 0)
		return;
	flock(fd, LOCK_UN);
	close(fd);
}
