/*
 * fsio.c - durable, atomic file writes and careful reads (see fsio.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "mailcert/fsio.h"

/* fsio_split - copy path into dir and base parts (caller frees both). */
static int
fsio_split(const char *path, char **dir, char **base, struct mc_err *err)
{
	char *a = strdup(path), *b = strdup(path);

	if (a == NULL || b == NULL) {
		free(a);
		free(b);
		return mc_err_errno(err, MC_ERR_SYS, "out of memory");
	}
	*dir = strdup(dirname(a));
	*base = strdup(basename(b));
	free(a);
	free(b);
	if (*dir == NULL || *base == NULL) {
		free(*dir);
		free(*base);
		return mc_err_errno(err, MC_ERR_SYS, "out of memory");
	}
	return 0;
}

/* fsio_temp_name - ".<base>.<random hex>" into out. */
static void
fsio_temp_name(const char *base, char *out, size_t size)
{
	unsigned char r[6] = {0};
	unsigned long v = (unsigned long)getpid();

	if (RAND_bytes(r, sizeof(r)) == 1)
		v = (unsigned long)r[0] << 40 | (unsigned long)r[1] << 32 |
		    (unsigned long)r[2] << 24 | (unsigned long)r[3] << 16 |
		    (unsigned long)r[4] << 8 | r[5];
	snprintf(out, size, ".%s.%012lx", base, v);
}

/* fsio_write_all - write len bytes, retrying short writes. */
static int
fsio_write_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	ssize_t n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* fsio_check_target - refuse a symlink (unless allowed) or a non-file. */
static int
fsio_check_target(int dfd, const char *base, const char *path,
		  bool allow_symlink, struct mc_err *err)
{
	struct stat st;

	if (fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) == -1) {
		if (errno == ENOENT)
			return 0;
		return mc_err_errno(err, MC_ERR_SYS, "%s", path);
	}
	if (S_ISLNK(st.st_mode) && !allow_symlink)
		return mc_err_set(err, MC_ERR_INPUT,
				  "%s is a symbolic link; refusing to replace "
				  "it (set allow_symlink = yes to allow)",
				  path);
	if (!S_ISLNK(st.st_mode) && !S_ISREG(st.st_mode))
		return mc_err_set(err, MC_ERR_INPUT,
				  "%s exists and is not a regular file", path);
	return 0;
}

/* fsio_write_temp - create, own, fill and (sync) fsync the temp file
 * (unlinked again on failure). */
static int
fsio_write_temp(int dfd, const char *tmp, const char *path, const void *data,
		size_t len, mode_t mode, struct mc_fsio_owner owner, bool sync,
		struct mc_err *err)
{
	int fd, rc = -1;

	fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
				      O_CLOEXEC,
		    mode & 07777);
	if (fd == -1)
		return mc_err_errno(err, MC_ERR_SYS,
				    "cannot create a temporary file for %s",
				    path);
	if ((owner.uid != (uid_t)-1 || owner.gid != (gid_t)-1) &&
	    fchown(fd, owner.uid, owner.gid) == -1) {
		mc_err_errno(err, MC_ERR_SYS, "cannot set the owner of %s",
			     path);
		goto out;
	}
	if (fchmod(fd, mode & 07777) == -1) {
		mc_err_errno(err, MC_ERR_SYS, "cannot set the mode of %s", path);
		goto out;
	}
	if (fsio_write_all(fd, data, len) == -1 || (sync && fsync(fd) == -1)) {
		mc_err_errno(err, MC_ERR_SYS, "cannot write %s", path);
		goto out;
	}
	rc = 0;
out:
	if (close(fd) == -1 && rc == 0)
		rc = mc_err_errno(err, MC_ERR_SYS, "cannot write %s", path);
	if (rc == -1)
		unlinkat(dfd, tmp, 0);
	return rc;
}

/* mc_fsio_abort - unlink a staged temp file and release p. */
void
mc_fsio_abort(struct mc_fsio_pending *p)
{
	if (p == NULL || p->dfd < 0)
		return;
	if (p->tmp[0] != '\0')
		unlinkat(p->dfd, p->tmp, 0);
	close(p->dfd);
	free(p->dir);
	free(p->base);
	p->dfd = -1;
	p->dir = p->base = NULL;
}

/* fsio_pending_init - p with its own copy of dfd and the names. */
static int
fsio_pending_init(struct mc_fsio_pending *p, int dfd, const char *dirpath,
		  const char *base, struct mc_err *err)
{
	memset(p, 0, sizeof(*p));
	p->dfd = fcntl(dfd, F_DUPFD_CLOEXEC, 0);
	p->dir = strdup(dirpath);
	p->base = strdup(base);
	if (p->dfd != -1 && p->dir != NULL && p->base != NULL)
		return 0;
	mc_err_errno(err, MC_ERR_SYS, "cannot prepare a write in %s", dirpath);
	if (p->dfd != -1)
		close(p->dfd);
	free(p->dir);
	free(p->base);
	memset(p, 0, sizeof(*p));
	p->dfd = -1;
	return -1;
}

/* fsio_stage_at - write data to a temp file beside base in dfd, synced
 * unless transient (then commit does not sync the directory either). */
static int
fsio_stage_at(int dfd, const char *dirpath, const char *base,
	      const void *data, size_t len, mode_t mode,
	      struct mc_fsio_owner owner, bool allow_symlink, bool transient,
	      struct mc_fsio_pending *p, struct mc_err *err)
{
	char path[4400];

	snprintf(path, sizeof(path), "%s/%s", dirpath, base);
	if (fsio_pending_init(p, dfd, dirpath, base, err) == -1)
		return -1;
	p->transient = transient;
	if (fsio_check_target(p->dfd, base, path, allow_symlink, err) == -1)
		goto fail;
	fsio_temp_name(base, p->tmp, sizeof(p->tmp));
	if (fsio_write_temp(p->dfd, p->tmp, path, data, len, mode, owner,
			    !transient, err) == 0)
		return 0;
	p->tmp[0] = '\0'; /* fsio_write_temp removed it */
fail:
	mc_fsio_abort(p);
	return -1;
}

/* mc_fsio_stage_at - write data to a synced temp file beside base in dfd. */
int
mc_fsio_stage_at(int dfd, const char *dirpath, const char *base,
		 const void *data, size_t len, mode_t mode,
		 struct mc_fsio_owner owner, bool allow_symlink,
		 struct mc_fsio_pending *p, struct mc_err *err)
{
	return fsio_stage_at(dfd, dirpath, base, data, len, mode, owner,
			     allow_symlink, false, p, err);
}

/* mc_fsio_stage_symlink_at - make the temp link that commit renames over base. */
int
mc_fsio_stage_symlink_at(int dfd, const char *dirpath, const char *base,
			 const char *target, struct mc_fsio_pending *p,
			 struct mc_err *err)
{
	if (fsio_pending_init(p, dfd, dirpath, base, err) == -1)
		return -1;
	fsio_temp_name(base, p->tmp, sizeof(p->tmp));
	if (symlinkat(target, p->dfd, p->tmp) == 0)
		return 0;
	mc_err_errno(err, MC_ERR_SYS, "cannot create a link in %s", dirpath);
	p->tmp[0] = '\0';
	mc_fsio_abort(p);
	return -1;
}

/* fsio_stage - write data to a temp file beside path (see fsio_stage_at). */
static int
fsio_stage(const char *path, const void *data, size_t len, mode_t mode,
	   struct mc_fsio_owner owner, bool allow_symlink, bool transient,
	   struct mc_fsio_pending *p, struct mc_err *err)
{
	char *dir = NULL, *base = NULL;
	int dfd = -1, rc = -1;

	memset(p, 0, sizeof(*p));
	p->dfd = -1;
	if (fsio_split(path, &dir, &base, err) == -1)
		return -1;
	dfd = mc_fsio_open_dir(dir, false, 0, MC_FSIO_KEEP_OWNER, err);
	if (dfd != -1)
		rc = fsio_stage_at(dfd, dir, base, data, len, mode, owner,
				   allow_symlink, transient, p, err);
	if (dfd != -1)
		close(dfd);
	free(dir);
	free(base);
	return rc;
}

/* mc_fsio_stage - write data to a synced temp file beside path. */
int
mc_fsio_stage(const char *path, const void *data, size_t len, mode_t mode,
	      struct mc_fsio_owner owner, bool allow_symlink,
	      struct mc_fsio_pending *p, struct mc_err *err)
{
	return fsio_stage(path, data, len, mode, owner, allow_symlink, false,
			  p, err);
}

/* mc_fsio_create_at - a new, complete, synced file name in dfd. */
int
mc_fsio_create_at(int dfd, const char *dirpath, const char *name,
		  const void *data, size_t len, mode_t mode,
		  struct mc_fsio_owner owner, struct mc_err *err)
{
	char path[4400];

	snprintf(path, sizeof(path), "%s/%s", dirpath, name);
	return fsio_write_temp(dfd, name, path, data, len, mode, owner, true,
			       err);
}

/* mc_fsio_commit - rename the staged file over its final name, sync the
 * directory, release p. */
int
mc_fsio_commit(struct mc_fsio_pending *p, struct mc_err *err)
{
	int rc = 0;

	if (renameat(p->dfd, p->tmp, p->dfd, p->base) == -1) {
		rc = mc_err_errno(err, MC_ERR_SYS, "cannot rename into %s/%s",
				  p->dir, p->base);
		mc_fsio_abort(p);
		return rc;
	}
	if (!p->transient && fsync(p->dfd) == -1)
		rc = mc_err_errno(err, MC_ERR_SYS, "cannot sync directory %s",
				  p->dir);
	p->tmp[0] = '\0';
	close(p->dfd);
	p->dfd = -1;
	free(p->dir);
	free(p->base);
	p->dir = p->base = NULL;
	return rc;
}

/* mc_fsio_write - atomically replace path with data. */
int
mc_fsio_write(const char *path, const void *data, size_t len, mode_t mode,
	      struct mc_fsio_owner owner, bool allow_symlink,
	      struct mc_err *err)
{
	struct mc_fsio_pending p;

	if (mc_fsio_stage(path, data, len, mode, owner, allow_symlink, &p,
			  err) == -1)
		return -1;
	return mc_fsio_commit(&p, err);
}

/* mc_fsio_write_transient - atomically replace path with data, not
 * durably (see fsio.h). */
int
mc_fsio_write_transient(const char *path, const void *data, size_t len,
			mode_t mode, struct mc_err *err)
{
	struct mc_fsio_pending p;

	if (fsio_stage(path, data, len, mode, MC_FSIO_KEEP_OWNER, false, true,
		       &p, err) == -1)
		return -1;
	return mc_fsio_commit(&p, err);
}

/* mc_fsio_read - read a whole regular file of at most max bytes. */
int
mc_fsio_read(const char *path, size_t max, char **out, size_t *len,
	     struct mc_err *err)
{
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	ssize_t n;
	int fd, rc = -1;

	/* O_NONBLOCK: opening a FIFO must not wait for a writer */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd == -1)
		return mc_err_errno(err, MC_ERR_SYS, "cannot read %s", path);
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		mc_err_set(err, MC_ERR_INPUT,
			   "%s is not a regular file (a FIFO, device or "
			   "directory?); replace it with the file it should be",
			   path);
		goto out;
	}
	if ((size_t)st.st_size > max) {
		mc_err_set(err, MC_ERR_INPUT,
			   "%s is larger than %zu bytes", path, max);
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL) {
		mc_err_errno(err, MC_ERR_SYS, "out of memory");
		goto out;
	}
	while (got < (size_t)st.st_size) {
		n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			mc_err_errno(err, MC_ERR_SYS, "cannot read %s", path);
			goto out;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	buf[got] = '\0';
	*out = buf;
	*len = got;
	buf = NULL;
	rc = 0;
out:
	free(buf);
	close(fd);
	return rc;
}

/* mc_fsio_fsync_dir - fsync the directory at path. */
int
mc_fsio_fsync_dir(const char *path, struct mc_err *err)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd == -1)
		return mc_err_errno(err, MC_ERR_SYS, "cannot open %s", path);
	if (fsync(fd) == -1) {
		mc_err_errno(err, MC_ERR_SYS, "cannot sync %s", path);
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/* mc_fsio_symlink - atomically point link at target. */
int
mc_fsio_symlink(const char *target, const char *link, struct mc_err *err)
{
	struct mc_fsio_pending p;
	char *dir = NULL, *base = NULL;
	int dfd, rc = -1;

	if (fsio_split(link, &dir, &base, err) == -1)
		return -1;
	dfd = mc_fsio_open_dir(dir, false, 0, MC_FSIO_KEEP_OWNER, err);
	if (dfd != -1 &&
	    mc_fsio_stage_symlink_at(dfd, dir, base, target, &p, err) == 0)
		rc = mc_fsio_commit(&p, err);
	if (dfd != -1)
		close(dfd);
	free(dir);
	free(base);
	return rc;
}

/* mc_fsio_exists - whether path exists. */
bool
mc_fsio_exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}
