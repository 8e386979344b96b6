/*
 * fsio.h - durable, atomic file writes and careful reads.
 *
 * Every file mailcert writes goes through mc_fsio_write(): the directory is
 * opened as mc_fsio_open_dir() below says, a temp file ".<name>.<random>"
 * (12 hex digits, see mc_fsio_is_temp) is
 * created with O_EXCL|O_NOFOLLOW and its final mode, chown'ed and chmod'ed
 * before any byte is written, written, fsync'ed, renamed over the final
 * name, and the directory is fsync'ed. On any failure the temp file is
 * unlinked and the old file is untouched. A crash at any moment leaves
 * either the old or the new file, never a partial one.
 *
 * Errors: MC_ERR_SYS with the path and errno text; MC_ERR_INPUT for size
 * limits and refused symlinks.
 */
#ifndef MAILCERT_FSIO_H
#define MAILCERT_FSIO_H

#include <dirent.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "mailcert/err.h"

struct mc_fsio_owner {
	uid_t uid; /* (uid_t)-1: leave as created */
	gid_t gid; /* (gid_t)-1: leave as created */
};

#define MC_FSIO_KEEP_OWNER ((struct mc_fsio_owner){(uid_t)-1, (gid_t)-1})

/* mc_fsio_write - atomically replace path with data (see above). If
 * allow_symlink is false and path is a symlink, fail without writing. */
int mc_fsio_write(const char *path, const void *data, size_t len, mode_t mode,
		  struct mc_fsio_owner owner, bool allow_symlink, struct mc_err *err);

/* mc_fsio_write_transient - mc_fsio_write (owner kept, no symlink
 * replaced) without its two fsyncs: readers still see the old file or the
 * whole new one, but a power loss may lose the new one or leave it empty.
 * Only for a file whose loss costs nothing because nothing reads it after
 * a crash: an http-01 token in a webroot, read by the CA's validation
 * within the run and removed at its end (a crashed run's order is dead,
 * and its token with it). Two fsyncs of a file and its directory cost
 * ~0.25 ms of CPU each on a virtio disk. */
int mc_fsio_write_transient(const char *path, const void *data, size_t len,
			    mode_t mode, struct mc_err *err);

/* A staged write: the temp file (or link) is complete and synced, not yet
 * renamed. Staging everything first means a full disk or a refused file
 * fails before anything a reader sees has changed. */
struct mc_fsio_pending {
	int dfd;
	char *dir;
	char *base;
	char tmp[300];
	bool transient; /* mc_fsio_write_transient: no fsync at all */
};

/* mc_fsio_stage - the first half of mc_fsio_write: checks, temp file
 * written with owner and mode, fsync'ed. Then commit or abort p. */
int mc_fsio_stage(const char *path, const void *data, size_t len, mode_t mode,
		  struct mc_fsio_owner owner, bool allow_symlink,
		  struct mc_fsio_pending *p, struct mc_err *err);

/* mc_fsio_commit - rename the staged file into place and fsync the directory. */
int mc_fsio_commit(struct mc_fsio_pending *p, struct mc_err *err);

/* mc_fsio_abort - unlink the staged temp file; safe on a released p. */
void mc_fsio_abort(struct mc_fsio_pending *p);

/* mc_fsio_stage_at - mc_fsio_stage for the file base in the open directory
 * dfd (dirpath only names it in messages); p keeps its own descriptor. */
int mc_fsio_stage_at(int dfd, const char *dirpath, const char *base,
		     const void *data, size_t len, mode_t mode,
		     struct mc_fsio_owner owner, bool allow_symlink,
		     struct mc_fsio_pending *p, struct mc_err *err);

/* mc_fsio_stage_symlink_at - stage a symbolic link base -> target in dfd: the
 * temp link ".<base>.<random>" is made now, mc_fsio_commit renames it over
 * base (replacing a file or link there, never a directory). */
int mc_fsio_stage_symlink_at(int dfd, const char *dirpath, const char *base,
			     const char *target, struct mc_fsio_pending *p,
			     struct mc_err *err);

/* mc_fsio_create_at - create the new file name in dfd (O_EXCL, never
 * following a link) with owner and mode set before any byte is written,
 * write data and fsync it. For files of a directory no reader knows yet;
 * the caller fsyncs the directory. */
int mc_fsio_create_at(int dfd, const char *dirpath, const char *name,
		      const void *data, size_t len, mode_t mode,
		      struct mc_fsio_owner owner, struct mc_err *err);

/* mc_fsio_read - read a whole regular file of at most max bytes into a new
 * NUL-terminated buffer (*out, caller frees; *len without the NUL). The
 * file is opened with O_NONBLOCK, so a FIFO or device at path is refused
 * (MC_ERR_INPUT) instead of blocking. */
int mc_fsio_read(const char *path, size_t max, char **out, size_t *len,
		 struct mc_err *err);

/*
 * Directories. mc_fsio_open_dir() walks path one component at a time from
 * "/" (or the working directory) with openat(O_DIRECTORY|O_NOFOLLOW), so no
 * step resolves a path a second time. A parent component that is a
 * symbolic link is followed only when the directory holding it belongs to
 * root (or to us) and nobody else may write it: nobody but its owner can
 * have swapped it in. The last component is never followed. A missing component is made with mkdirat() and opened again with
 * O_NOFOLLOW; if what is there then is not a directory we own, someone
 * swapped it in between and the walk fails. Mode and owner are set with
 * fchmod/fchown on that descriptor, only on directories made here (the
 * umask does not apply): existing directories are never changed.
 */

/* mc_fsio_open_dir - open directory path (an O_DIRECTORY descriptor, the
 * caller closes it) as described above; with create, missing components
 * are made: the last with mode and owner, the others 0755. -1 on error. */
int mc_fsio_open_dir(const char *path, bool create, mode_t mode,
		     struct mc_fsio_owner owner, struct mc_err *err);

/* mc_fsio_subdir - one step of the walk: open (with create: make when
 * missing, with mode and owner; *made says so, may be NULL) directory name
 * in dfd. dirpath names dfd in messages. Returns a descriptor or -1. */
int mc_fsio_subdir(int dfd, const char *dirpath, const char *name, bool create,
		   mode_t mode, struct mc_fsio_owner owner, bool *made,
		   struct mc_err *err);

/* mc_fsio_mkdirs - create path and missing parents with mode (existing
 * directories are left alone): mc_fsio_open_dir with create. */
int mc_fsio_mkdirs(const char *path, mode_t mode, struct mc_err *err);

/* mc_fsio_remove_flat_at - remove directory name in dfd and the files and
 * links in it (not following links; a subdirectory makes it fail).
 * 0 also when name does not exist. */
int mc_fsio_remove_flat_at(int dfd, const char *name, struct mc_err *err);

/* mc_fsio_dirstream - a directory stream over a copy of the open
 * directory dfd, at its start (closedir it; dfd stays open), or NULL. */
DIR *mc_fsio_dirstream(int dfd);

/* mc_fsio_is_temp - whether name is one of our temporary files for base:
 * exactly "." base "." and 12 lower-case hex digits; base NULL: for any
 * base (only for directories that hold nothing but ours). */
bool mc_fsio_is_temp(const char *name, const char *base);

/* mc_fsio_remove_temps - unlink our temporary files (regular files and
 * links, never directories) for any of the n bases (n 0: any base) in dfd;
 * *removed (may be NULL) is increased by their number. */
int mc_fsio_remove_temps(int dfd, const char *dirpath,
			 const char *const *bases, size_t n, unsigned *removed,
			 struct mc_err *err);

/* mc_fsio_remove_temps_at - the same in directory name of dfd (AT_FDCWD:
 * a path), opened without following a link; 0 when it is not there. */
int mc_fsio_remove_temps_at(int dfd, const char *name,
			    const char *const *bases, size_t n,
			    unsigned *removed, struct mc_err *err);

/* mc_fsio_symlink - atomically point link at target (temp link + rename +
 * directory fsync). */
int mc_fsio_symlink(const char *target, const char *link, struct mc_err *err);

/* mc_fsio_fsync_dir - fsync the directory at path. */
int mc_fsio_fsync_dir(const char *path, struct mc_err *err);

/* mc_fsio_exists - whether path exists (lstat). */
bool mc_fsio_exists(const char *path);

#endif
