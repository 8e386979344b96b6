/*
 * fsio_dir.c - directories without path races (see fsio.h): a walk of
 * openat(O_DIRECTORY|O_NOFOLLOW) steps, mkdirat for what is missing,
 * fchmod/fchown on the descriptor of what was made; removal of flat
 * directories and of our stale temporary files.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mailcert/fsio.h"

#define FSIO_TEMP_HEX 12

/* dir_trusted - whether nobody but root (or we) can change entries of the
 * directory dfd: then a link in it was put there by its owner. */
static bool
dir_trusted(int dfd)
{
	struct stat st;

	if (fstat(dfd, &st) == -1)
		return false;
	if (st.st_uid != 0 && st.st_uid != geteuid())
		return false;
	return (st.st_mode & (S_IWGRP | S_IWOTH)) == 0;
}

/* dir_open_existing - open name in dfd as a directory: without following
 * a link, or (follow) following one that sits in a trusted directory. */
static int
dir_open_existing(int dfd, const char *dirpath, const char *name, bool follow,
		  struct mc_err *err)
{
	struct stat st;
	int fd, e;

	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd != -1 || !follow || (errno != ELOOP && errno != ENOTDIR))
		goto out;
	e = errno;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == -1 ||
	    !S_ISLNK(st.st_mode)) {
		errno = e;
		goto out;
	}
	if (!dir_trusted(dfd)) {
		mc_err_set(err, MC_ERR_INPUT,
			   "%s/%s is a symbolic link in a directory that "
			   "others can write; refusing to follow it (make "
			   "%s writable by root only, or use the real path)",
			   dirpath, name, dirpath);
		return -1;
	}
	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
out:
	if (fd == -1 && (errno == ENOTDIR || errno == ELOOP) &&
	    fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISLNK(st.st_mode))
		mc_err_set(err, MC_ERR_SYS,
			   "cannot open directory %s/%s: it is a symbolic "
			   "link, not followed here",
			   dirpath, name);
	else if (fd == -1 && errno == ENOTDIR)
		mc_err_set(err, MC_ERR_INPUT,
			   "%s/%s exists and is not a directory", dirpath,
			   name);
	else if (fd == -1)
		mc_err_errno(err, MC_ERR_SYS, "cannot open directory %s/%s",
			     dirpath, name);
	return fd;
}

/* dir_make - mkdirat name in dfd, open what is there now without following
 * links, and set mode and owner on that descriptor once it is proven to be
 * the directory we made. -2 (no error set): it existed already. */
static int
dir_make(int dfd, const char *dirpath, const char *name, mode_t mode,
	 struct mc_fsio_owner owner, struct mc_err *err)
{
	struct stat st;
	int fd;

	if (mkdirat(dfd, name, 0700) == -1) {
		if (errno == EEXIST)
			return -2;
		return mc_err_errno(err, MC_ERR_SYS,
				    "cannot create directory %s/%s", dirpath,
				    name);
	}
	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1 || fstat(fd, &st) == -1 || !S_ISDIR(st.st_mode) ||
	    st.st_uid != geteuid()) {
		if (fd != -1)
			close(fd);
		return mc_err_set(err, MC_ERR_INPUT,
				  "%s/%s was replaced while mailcert created "
				  "it (by another user who can write %s?); "
				  "nothing was changed there",
				  dirpath, name, dirpath);
	}
	if (((owner.uid != (uid_t)-1 || owner.gid != (gid_t)-1) &&
	     fchown(fd, owner.uid, owner.gid) == -1) ||
	    fchmod(fd, mode & 07777) == -1) {
		mc_err_errno(err, MC_ERR_SYS,
			     "cannot set owner and mode of %s/%s", dirpath,
			     name);
		close(fd);
		return -1;
	}
	return fd;
}

/* dir_sub - open (or make) directory name in dfd; follow: a trusted link. */
static int
dir_sub(int dfd, const char *dirpath, const char *name, bool create,
	bool follow, mode_t mode, struct mc_fsio_owner owner, bool *made,
	struct mc_err *err)
{
	int fd = -2;

	if (made != NULL)
		*made = false;
	if (create) {
		fd = dir_make(dfd, dirpath, name, mode, owner, err);
		if (fd >= 0 && made != NULL)
			*made = true;
	}
	if (fd == -2)
		fd = dir_open_existing(dfd, dirpath, name, follow, err);
	return fd;
}

/* mc_fsio_subdir - open (or make) directory name in dfd, never following
 * a link there. */
int
mc_fsio_subdir(int dfd, const char *dirpath, const char *name, bool create,
	       mode_t mode, struct mc_fsio_owner owner, bool *made,
	       struct mc_err *err)
{
	return dir_sub(dfd, dirpath, name, create, false, mode, owner, made,
		       err);
}

/* dir_step - one component of the walk; dfd is replaced by the new one. */
static int
dir_step(int *dfd, char *walked, size_t size, const char *name, bool last,
	 bool create, mode_t mode, struct mc_fsio_owner owner,
	 struct mc_err *err)
{
	size_t len = strlen(walked);
	int fd;

	fd = dir_sub(*dfd, len ? walked : ".", name, create, !last,
		     last ? mode : 0755, last ? owner : MC_FSIO_KEEP_OWNER, NULL,
		     err);
	if (fd == -1)
		return -1;
	snprintf(walked + len, size - len, "%s%s",
		 len && walked[len - 1] != '/' ? "/" : "", name);
	close(*dfd);
	*dfd = fd;
	return 0;
}

/* mc_fsio_open_dir - walk path one openat() at a time (see fsio.h). */
int
mc_fsio_open_dir(const char *path, bool create, mode_t mode,
		 struct mc_fsio_owner owner, struct mc_err *err)
{
	char *copy = strdup(path), *s, *next, walked[4400];
	int dfd;

	if (copy == NULL)
		return mc_err_errno(err, MC_ERR_SYS, "out of memory");
	snprintf(walked, sizeof(walked), "%s", path[0] == '/' ? "/" : "");
	dfd = open(path[0] == '/' ? "/" : ".",
		   O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd == -1) {
		mc_err_errno(err, MC_ERR_SYS, "cannot open %s", path);
		goto out;
	}
	for (s = copy; s != NULL; s = next) {
		next = strchr(s, '/');
		if (next != NULL)
			*next++ = '\0';
		while (next != NULL && *next == '/')
			next++;
		if (*s == '\0' || strcmp(s, ".") == 0)
			continue;
		if (dir_step(&dfd, walked, sizeof(walked), s,
			     next == NULL || *next == '\0', create, mode,
			     owner, err) == -1) {
			close(dfd);
			dfd = -1;
			break;
		}
	}
out:
	free(copy);
	return dfd;
}

/* mc_fsio_mkdirs - create path and missing parents. */
int
mc_fsio_mkdirs(const char *path, mode_t mode, struct mc_err *err)
{
	int fd = mc_fsio_open_dir(path, true, mode, MC_FSIO_KEEP_OWNER, err);

	if (fd == -1)
		return -1;
	close(fd);
	return 0;
}

/* mc_fsio_remove_flat_at - remove directory name in dfd with its files. */
int
mc_fsio_remove_flat_at(int dfd, const char *name, struct mc_err *err)
{
	struct dirent *e;
	DIR *d;
	int fd;

	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1)
		return errno == ENOENT ? 0
				       : mc_err_errno(err, MC_ERR_SYS,
						      "cannot open %s", name);
	d = fdopendir(fd);
	if (d == NULL) {
		close(fd);
		return mc_err_errno(err, MC_ERR_SYS, "cannot list %s", name);
	}
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			unlinkat(fd, e->d_name, 0);
	closedir(d);
	if (unlinkat(dfd, name, AT_REMOVEDIR) == -1 && errno != ENOENT)
		return mc_err_errno(err, MC_ERR_SYS, "cannot remove %s", name);
	return 0;
}

/* mc_fsio_is_temp - "." base "." and 12 lower-case hex digits. */
bool
mc_fsio_is_temp(const char *name, const char *base)
{
	size_t len = strlen(name), i, blen;

	if (len < FSIO_TEMP_HEX + 3 || name[0] != '.' ||
	    name[len - FSIO_TEMP_HEX - 1] != '.')
		return false;
	for (i = len - FSIO_TEMP_HEX; i < len; i++)
		if (!((name[i] >= '0' && name[i] <= '9') ||
		      (name[i] >= 'a' && name[i] <= 'f')))
			return false;
	blen = len - FSIO_TEMP_HEX - 2;
	if (base == NULL)
		return blen > 0;
	return strlen(base) == blen && strncmp(name + 1, base, blen) == 0;
}

/* temp_wanted - whether name is a temp file of one of the bases. */
static bool
temp_wanted(const char *name, const char *const *bases, size_t n)
{
	size_t i;

	if (n == 0)
		return mc_fsio_is_temp(name, NULL);
	for (i = 0; i < n; i++)
		if (mc_fsio_is_temp(name, bases[i]))
			return true;
	return false;
}

/* mc_fsio_dirstream - a stream over a copy of dfd, rewound. */
DIR *
mc_fsio_dirstream(int dfd)
{
	int fd = fcntl(dfd, F_DUPFD_CLOEXEC, 0);
	DIR *d = fd == -1 ? NULL : fdopendir(fd);

	if (d == NULL && fd != -1)
		close(fd);
	if (d != NULL)
		rewinddir(d);
	return d;
}

/* temps_scan - unlink the temp files of the bases among the entries of d
 * (a stream over dfd). */
static void
temps_scan(DIR *d, int dfd, const char *const *bases, size_t n,
	   unsigned *removed)
{
	struct dirent *e;
	struct stat st;

	while ((e = readdir(d)) != NULL) {
		if (!temp_wanted(e->d_name, bases, n) ||
		    fstatat(dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) == -1 ||
		    !(S_ISREG(st.st_mode) || S_ISLNK(st.st_mode)))
			continue;
		if (unlinkat(dfd, e->d_name, 0) == 0 && removed != NULL)
			(*removed)++;
	}
}

/* mc_fsio_remove_temps - unlink our stale temporary files in dfd. */
int
mc_fsio_remove_temps(int dfd, const char *dirpath, const char *const *bases,
		     size_t n, unsigned *removed, struct mc_err *err)
{
	DIR *d = mc_fsio_dirstream(dfd);

	if (d == NULL)
		return mc_err_errno(err, MC_ERR_SYS, "cannot list %s", dirpath);
	temps_scan(d, dfd, bases, n, removed);
	closedir(d);
	return 0;
}

/* mc_fsio_remove_temps_at - the same in directory name of dfd (opened
 * without following a link); 0 when it is not there. */
int
mc_fsio_remove_temps_at(int dfd, const char *name, const char *const *bases,
			size_t n, unsigned *removed, struct mc_err *err)
{
	int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
					   O_CLOEXEC);
	DIR *d = fd == -1 ? NULL : fdopendir(fd);

	if (d == NULL) {
		if (fd != -1)
			close(fd);
		return errno == ENOENT || errno == ENOTDIR
			       ? 0
			       : mc_err_errno(err, MC_ERR_SYS, "cannot list %s",
					      name);
	}
	temps_scan(d, fd, bases, n, removed);
	closedir(d);
	return 0;
}
