/*
 * fsio.h - durable, atomic file writes and careful reads.
 *
 * Every file mailcert writes goes through mc_fsio_write(): the directory is
 * opened without following links, a temp file ".<name>.<random>" is
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

/* A staged write: the temp file is complete and synced, not yet renamed.
 * Staging several files and then committing them back to back makes the
 * moment where a reader sees a mix of old and new files as short as two
 * renames (used for a key and its certificate in separate files). */
struct mc_fsio_pending {
	int dfd;
	char *dir;
	char *base;
	char tmp[300];
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

/* mc_fsio_read - read a whole regular file of at most max bytes into a new
 * NUL-terminated buffer (*out, caller frees; *len without the NUL). */
int mc_fsio_read(const char *path, size_t max, char **out, size_t *len,
		 struct mc_err *err);

/* mc_fsio_mkdirs - create path and missing parents with mode (existing
 * directories are left alone); refuses a symlink as the last component. */
int mc_fsio_mkdirs(const char *path, mode_t mode, struct mc_err *err);

/* mc_fsio_symlink - atomically point link at target (temp link + rename +
 * directory fsync). */
int mc_fsio_symlink(const char *target, const char *link, struct mc_err *err);

/* mc_fsio_fsync_dir - fsync the directory at path. */
int mc_fsio_fsync_dir(const char *path, struct mc_err *err);

/* mc_fsio_exists - whether path exists (lstat). */
bool mc_fsio_exists(const char *path);

#endif
