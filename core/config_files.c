/*
 * config_files.c - which files make the configuration: the main file, then
 * the files its [global] include = GLOB names (absolute, glob(3), sorted
 * byte by byte, each read by config_lex_file() under its own 1 MiB cap).
 * They may hold [cert] and [target] sections; every error names the file
 * it is in. A pattern that matches nothing is fine in an existing
 * directory (an empty conf.d), an error when the directory is missing or
 * a plain file name does not exist (a typo would drop certs silently).
 */
#include <fcntl.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mailcert/config.h"

#include "core/config_int.h"

#define FILES_MAX 100000 /* included files */

/* files_strcmp - qsort comparison of two paths, byte by byte. */
static int
files_strcmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* files_glob_dir - a pattern that matches nothing must at least name an
 * existing directory (a mistyped one would silently drop its certs). */
static int
files_glob_dir(const struct cfg_ctx *ctx, const struct cfg_entry *e)
{
	char dir[4096];
	size_t meta = strcspn(e->value, "*?["), cut;
	struct stat st;

	if (e->value[meta] == '\0')
		return config_fail(ctx, e->line, e->key,
		    "%.200s does not exist; create it or fix the path", e->value);
	snprintf(dir, sizeof(dir), "%.*s", (int)meta, e->value);
	cut = strlen(dir);
	while (cut > 1 && dir[cut - 1] != '/')
		cut--;
	dir[cut] = '\0';
	if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode))
		return 0;
	return config_fail(ctx, e->line, e->key,
	    "the directory %s of \"%.80s\" does not exist; create it or fix the "
	    "path", dir, e->value);
}

/* files_glob - the files matching e's pattern, sorted (*g, globfree). */
static int
files_glob(const struct cfg_ctx *ctx, const struct cfg_entry *e, glob_t *g)
{
	int rc;

	if (e->value[0] != '/')
		return config_fail(ctx, e->line, e->key,
		    "\"%.80s\" is not an absolute path; write it from /, e.g. "
		    "/etc/mailcert/conf.d/*.conf", e->value);
	rc = glob(e->value, GLOB_ERR | GLOB_NOSORT, NULL, g);
	if (rc == GLOB_NOMATCH)
		return files_glob_dir(ctx, e); /* an empty conf.d is fine */
	if (rc == GLOB_ABORTED && files_glob_dir(ctx, e) == -1)
		return -1;
	if (rc != 0)
		return config_fail(ctx, e->line, e->key,
		    "cannot read what \"%.80s\" names (%s)", e->value,
		    rc == GLOB_NOSPACE ? "out of memory" : "a directory is unreadable");
	if (g->gl_pathc > FILES_MAX)
		return config_fail(ctx, e->line, e->key,
		    "\"%.80s\" names %zu files, more than %d", e->value,
		    (size_t)g->gl_pathc, FILES_MAX);
	qsort(g->gl_pathv, g->gl_pathc, sizeof(char *), files_strcmp);
	return 0;
}

/* files_dir - the open directory of path (its part up to the last '/'),
 * reusing *dfd when it is the directory of the previous file (*dir, *dlen):
 * a conf.d of 50,000 files is then one directory walk, not one per file.
 * Where it cannot be opened, AT_FDCWD (path is then opened whole, and that
 * open reports the error). The offset of the file's name in path. */
static size_t
files_dir(const char *path, int *dfd, const char **dir, size_t *dlen)
{
	const char *slash = strrchr(path, '/');
	size_t len = slash != NULL ? (size_t)(slash - path) : 0;
	char d[4096];

	if (slash == NULL || len >= sizeof(d))
		return 0;
	if (*dir != NULL && *dlen == len && memcmp(*dir, path, len) == 0)
		return *dfd == AT_FDCWD ? 0 : len + 1;
	if (*dfd != AT_FDCWD)
		close(*dfd);
	memcpy(d, path, len);
	d[len] = '\0';
	*dfd = open(len > 0 ? d : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (*dfd == -1)
		*dfd = AT_FDCWD;
	*dir = path;
	*dlen = len;
	return *dfd == AT_FDCWD ? 0 : len + 1;
}

/* files_includes - read the files of [global] include = GLOB, in order. */
static int
files_includes(struct cfg_raw *raw, struct mc_err *err)
{
	const struct cfg_section *global = NULL;
	const struct cfg_entry *e;
	struct cfg_ctx ctx = { raw->files[0], err };
	const char *dir = NULL;
	glob_t *g = &raw->incl; /* its names are raw->files: freed with raw */
	size_t i, dlen = 0, off;
	int ret = 0, dfd = AT_FDCWD;

	for (i = 0; i < raw->n_secs && global == NULL; i++)
		if (raw->secs[i].kind == CFG_GLOBAL)
			global = &raw->secs[i];
	e = global != NULL ? config_entry_find(global, "include") : NULL;
	if (e == NULL || e->value[0] == '\0')
		return 0;
	if (files_glob(&ctx, e, g) == -1)
		ret = -1;
	for (i = 0; ret == 0 && i < g->gl_pathc; i++) {
		off = files_dir(g->gl_pathv[i], &dfd, &dir, &dlen);
		ret = config_lex_file_at(dfd, g->gl_pathv[i] + off, g->gl_pathv[i],
		    raw, err);
	}
	if (dfd != AT_FDCWD)
		close(dfd);
	return ret;
}

/* config_lex - read path and its includes into raw sections. */
int
config_lex(const char *path, struct cfg_raw *raw, struct mc_err *err)
{
	int ret = -1;

	memset(raw, 0, sizeof(*raw));
	if (config_lex_file(path, raw, err) == 0 &&
	    files_includes(raw, err) == 0)
		ret = 0;
	free(raw->idx.slots); /* only needed while lexing */
	memset(&raw->idx, 0, sizeof(raw->idx));
	if (ret == -1)
		config_raw_free(raw);
	return ret;
}
