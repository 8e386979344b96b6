/*
 * store_journal.c - the deployment journal of a cert (journal.json) and the
 * removal of what interrupted runs left in the state directory.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "mailcert/fsio.h"
#include "mailcert/store.h"
#include "deploy/store_int.h"

#define JOURNAL_MAX 4096

/* journal_path - "state_dir/certs/name/journal.json" into buf. */
static void
journal_path(const char *state_dir, const char *name, char *buf, size_t size)
{
	snprintf(buf, size, "%s/certs/%s/journal.json", state_dir, name);
}

/* mc_store_journal_write - write journal.json atomically. */
int
mc_store_journal_write(const char *state_dir, const char *name,
		       const struct mc_store_journal *j, struct mc_err *err)
{
	char path[4200];

	journal_path(state_dir, name, path, sizeof(path));
	return store_json_write(
		path,
		json_pack("{s:s, s:I, s:I, s:I, s:I}", "op", j->op, "to",
			  (json_int_t)j->to, "from", (json_int_t)j->from,
			  "started", (json_int_t)j->started, "pid",
			  (json_int_t)j->pid),
		0600, err);
}

/* journal_parse - the fields of text into *j. */
static int
journal_parse(const char *text, size_t len, struct mc_store_journal *j)
{
	json_t *o = json_loadb(text, len, 0, NULL);
	const char *op = json_string_value(json_object_get(o, "op"));
	json_int_t to = json_integer_value(json_object_get(o, "to"));
	json_int_t from = json_integer_value(json_object_get(o, "from"));
	int rc = -1;

	if (op != NULL && to > 0 && to <= 999999 && from >= 0 &&
	    from <= 999999) {
		memset(j, 0, sizeof(*j));
		snprintf(j->op, sizeof(j->op), "%s", op);
		j->to = (unsigned)to;
		j->from = (unsigned)from;
		j->started = (time_t)json_integer_value(
			json_object_get(o, "started"));
		j->pid = (long)json_integer_value(json_object_get(o, "pid"));
		rc = 0;
	}
	json_decref(o);
	return rc;
}

/* mc_store_journal_read - the journal, if there is one. */
int
mc_store_journal_read(const char *state_dir, const char *name,
		      struct mc_store_journal *j, struct mc_err *err)
{
	char path[4200], *text = NULL;
	size_t len = 0;
	int rc;

	journal_path(state_dir, name, path, sizeof(path));
	if (!mc_fsio_exists(path))
		return 0;
	if (mc_fsio_read(path, JOURNAL_MAX, &text, &len, err) == -1)
		return -1;
	rc = journal_parse(text, len, j);
	free(text);
	if (rc == -1)
		return mc_err_set(err, MC_ERR_INPUT,
				  "%s is damaged; remove it (the next run then "
				  "repairs the targets from `current`)",
				  path);
	return 1;
}

/* mc_store_journal_clear - remove journal.json and sync its directory. */
int
mc_store_journal_clear(const char *state_dir, const char *name,
		       struct mc_err *err)
{
	char path[4200], dir[4200];

	journal_path(state_dir, name, path, sizeof(path));
	if (unlink(path) == -1)
		return errno == ENOENT ? 0
				       : mc_err_errno(err, MC_ERR_SYS,
						      "cannot remove %s", path);
	snprintf(dir, sizeof(dir), "%s/certs/%s", state_dir, name);
	return mc_fsio_fsync_dir(dir, err);
}

/* clean_is_staging - whether name is ".new-NNNN.PID" exactly. */
static bool
clean_is_staging(const char *name)
{
	const char *p = name + 5;
	size_t digits = 0;

	if (strncmp(name, ".new-", 5) != 0)
		return false;
	for (; *p >= '0' && *p <= '9'; p++)
		digits++;
	if (digits < 4 || *p++ != '.' || *p == '\0')
		return false;
	for (; *p >= '0' && *p <= '9'; p++)
		;
	return *p == '\0';
}

/* clean_versions - in the versions directory path: staging directories,
 * our temp files, and those inside each version directory. One pass over
 * a fresh stream (the state directory is ours alone: no walk needed). */
static void
clean_versions(const char *path, unsigned *removed)
{
	struct dirent *e;
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d = fd == -1 ? NULL : fdopendir(fd);

	if (d == NULL) {
		if (fd != -1)
			close(fd);
		return;
	}
	while ((e = readdir(d)) != NULL) {
		if (clean_is_staging(e->d_name)) {
			if (mc_fsio_remove_flat_at(fd, e->d_name, NULL) == 0 &&
			    removed != NULL)
				(*removed)++;
		} else if (mc_fsio_is_temp(e->d_name, NULL)) {
			if (unlinkat(fd, e->d_name, 0) == 0 && removed != NULL)
				(*removed)++;
		} else if (e->d_name[0] != '.') {
			mc_fsio_remove_temps_at(fd, e->d_name, NULL, 0, removed,
						NULL);
		}
	}
	closedir(d);
}

/* mc_store_clean - remove the leftovers of interrupted runs for name. */
int
mc_store_clean(const char *state_dir, const char *name, unsigned *removed,
	       struct mc_err *err)
{
	char path[4200];

	snprintf(path, sizeof(path), "%s/certs/%s", state_dir, name);
	if (mc_fsio_remove_temps_at(AT_FDCWD, path, NULL, 0, removed, err) ==
	    -1)
		return -1;
	snprintf(path, sizeof(path), "%s/certs/%s/versions", state_dir, name);
	clean_versions(path, removed);
	return 0;
}

/* mc_store_clean_accounts - temp files in state_dir/accounts/<dir>/. */
int
mc_store_clean_accounts(const char *state_dir, unsigned *removed,
			struct mc_err *err)
{
	char path[4200];

	(void)err;
	snprintf(path, sizeof(path), "%s/accounts", state_dir);
	clean_versions(path, removed);
	return 0;
}
