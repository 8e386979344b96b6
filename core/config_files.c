/*
 * config_files.c - which files make the configuration: the main file, then
 * the files its [global] include = GLOB names (absolute, sorted byte by
 * byte, each read by config_lex_file_at() under its own 1 MiB cap). They
 * may hold [cert] and [target] sections; every error names the file it
 * is in. A pattern that matches nothing is fine in an existing directory
 * (an empty conf.d), an error when the directory is missing or a plain
 * file name does not exist (a typo would drop certs silently).
 *
 * The usual pattern, wildcards in the last part only (DIR/ *.conf), is
 * one walk of DIR: readdir, fnmatch(3) with glob(3)'s rules (FNM_PERIOD:
 * a leading '.' is matched only by a '.'), no stat; each file is then
 * opened below the one open DIR and read, and only a name whose d_type
 * is not DT_REG (a symlink, a directory, a filesystem that gives
 * DT_UNKNOWN) is fstat'ed to refuse what is not a regular file. Any other
 * pattern (wildcards in a directory part, escapes, none at all) goes
 * through glob(3). Either way a directory or a FIFO that matches is an
 * error naming it, as before.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mailcert/config.h"

#include "core/config_int.h"

#define FILES_MAX 100000 /* included files */

/* A name found in the directory: its offset in the names buffer, d_type. */
struct files_ent {
	size_t off;
	const char *name; /* set once the walk is done */
	unsigned char type;
};

/* The names of one directory walk, before they are sorted. */
struct files_walk {
	char *names; /* NUL-terminated, one after the other */
	size_t len, cap;
	struct files_ent *ents;
	size_t n, cap_ents;
};

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

/* files_unreadable - the error for a directory of e's pattern that
 * exists but cannot be read (or whatever files_glob_dir finds first). */
static int
files_unreadable(const struct cfg_ctx *ctx, const struct cfg_entry *e,
    bool nospace)
{
	if (!nospace && files_glob_dir(ctx, e) == -1)
		return -1;
	return config_fail(ctx, e->line, e->key,
	    "cannot read what \"%.80s\" names (%s)", e->value,
	    nospace ? "out of memory" : "a directory is unreadable");
}

/* files_too_many - the error for more than FILES_MAX matches. */
static int
files_too_many(const struct cfg_ctx *ctx, const struct cfg_entry *e, size_t n)
{
	return config_fail(ctx, e->line, e->key, "\"%.80s\" names %zu files, more "
	    "than %d", e->value, n, FILES_MAX);
}

/* files_set - the n paths of text (NUL-separated, in order) as raw's
 * included files, types[i] the d_type of each (taken); 0 or -1. */
static int
files_set(struct cfg_raw *raw, char *text, size_t n, unsigned char *types,
    struct mc_err *err)
{
	char *p = text;
	size_t i;

	raw->incl.text = text;
	raw->incl.types = types;
	raw->incl.paths = malloc((n + 1) * sizeof(char *));
	if (raw->incl.paths == NULL)
		return mc_err_set(err, MC_ERR_SYS, "out of memory");
	for (i = 0; i < n; i++) {
		raw->incl.paths[i] = p;
		p += strlen(p) + 1;
	}
	raw->incl.n = n;
	return 0;
}

/* files_glob - the files matching e's pattern through glob(3), sorted,
 * into raw->incl (types unknown). */
static int
files_glob(const struct cfg_ctx *ctx, const struct cfg_entry *e,
    struct cfg_raw *raw)
{
	glob_t g;
	size_t i, len = 0, o = 0;
	char *text;
	unsigned char *types;
	int rc;

	rc = glob(e->value, GLOB_ERR | GLOB_NOSORT, NULL, &g);
	if (rc == GLOB_NOMATCH)
		return files_glob_dir(ctx, e); /* an empty conf.d is fine */
	if (rc != 0)
		return files_unreadable(ctx, e, rc == GLOB_NOSPACE);
	if (g.gl_pathc > FILES_MAX) {
		len = g.gl_pathc;
		globfree(&g);
		return files_too_many(ctx, e, len);
	}
	qsort(g.gl_pathv, g.gl_pathc, sizeof(char *), files_strcmp);
	for (i = 0; i < g.gl_pathc; i++)
		len += strlen(g.gl_pathv[i]) + 1;
	text = malloc(len + 1);
	types = calloc(g.gl_pathc + 1, 1); /* DT_UNKNOWN is 0 */
	if (text == NULL || types == NULL) {
		free(text);
		free(types);
		globfree(&g);
		return mc_err_set(ctx->err, MC_ERR_SYS, "out of memory");
	}
	for (i = 0; i < g.gl_pathc; i++) {
		len = strlen(g.gl_pathv[i]) + 1;
		memcpy(text + o, g.gl_pathv[i], len);
		o += len;
	}
	rc = files_set(raw, text, g.gl_pathc, types, ctx->err);
	globfree(&g);
	return rc;
}

/* files_add - append name (d_type type) to w; 0 or -1. */
static int
files_add(struct files_walk *w, const char *name, unsigned char type)
{
	size_t len = strlen(name) + 1, cap;
	void *p;

	if (w->len + len > w->cap) {
		cap = w->cap ? w->cap * 2 : 16384;
		while (cap < w->len + len)
			cap *= 2;
		if ((p = realloc(w->names, cap)) == NULL)
			return -1;
		w->names = p;
		w->cap = cap;
	}
	if (w->n == w->cap_ents) {
		cap = w->cap_ents ? w->cap_ents * 2 : 256;
		if ((p = realloc(w->ents, cap * sizeof(*w->ents))) == NULL)
			return -1;
		w->ents = p;
		w->cap_ents = cap;
	}
	memcpy(w->names + w->len, name, len);
	w->ents[w->n].off = w->len;
	w->ents[w->n++].type = type;
	w->len += len;
	return 0;
}

/* files_walk - the names in d matching base (fnmatch, glob's rules) into
 * w; 0, -1 (out of memory or a read error: errno), or -2 (too many). */
static int
files_walk(DIR *d, const char *base, struct files_walk *w)
{
	struct dirent *de;

	for (;;) {
		errno = 0;
		de = readdir(d);
		if (de == NULL)
			return errno == 0 ? 0 : -1;
		if (fnmatch(base, de->d_name, FNM_PERIOD) != 0)
			continue;
		if (w->n == FILES_MAX)
			return -2;
		if (files_add(w, de->d_name, de->d_type) == -1)
			return -1;
	}
}

/* files_entcmp - qsort comparison of two entries by name. */
static int
files_entcmp(const void *a, const void *b)
{
	return strcmp(((const struct files_ent *)a)->name,
	    ((const struct files_ent *)b)->name);
}

/* files_sorted - w's names sorted, each behind dir (dlen bytes) and '/',
 * into raw->incl; 0 or -1. */
static int
files_sorted(struct files_walk *w, const char *dir, size_t dlen,
    struct cfg_raw *raw, struct mc_err *err)
{
	unsigned char *types = malloc(w->n + 1);
	char *text = malloc(w->len + w->n * (dlen + 1) + 1);
	size_t i, o = 0, len;
	const char *name;

	if (types == NULL || text == NULL) {
		free(types);
		free(text);
		return mc_err_set(err, MC_ERR_SYS, "out of memory");
	}
	for (i = 0; i < w->n; i++)
		w->ents[i].name = w->names + w->ents[i].off;
	qsort(w->ents, w->n, sizeof(*w->ents), files_entcmp);
	for (i = 0; i < w->n; i++) {
		name = w->ents[i].name;
		len = strlen(name) + 1;
		memcpy(text + o, dir, dlen);
		text[o + dlen] = '/';
		memcpy(text + o + dlen + 1, name, len);
		o += dlen + 1 + len;
		types[i] = w->ents[i].type;
	}
	return files_set(raw, text, w->n, types, err);
}

/* files_simple - whether e's pattern has wildcards in its last part only
 * (and no escape): then the length of its directory part. */
static bool
files_simple(const char *pat, size_t *dlen)
{
	const char *slash = strrchr(pat, '/');

	if (slash == NULL || strcspn(pat, "*?[\\") < (size_t)(slash - pat) ||
	    slash[1 + strcspn(slash + 1, "*?[")] == '\0')
		return false;
	*dlen = (size_t)(slash - pat);
	return true;
}

/* files_list - the files of e's pattern into raw->incl, sorted; *dp the
 * open directory they are all in and *dlen the length of its path (the
 * walk), else NULL (glob). */
static int
files_list(const struct cfg_ctx *ctx, const struct cfg_entry *e,
    struct cfg_raw *raw, DIR **dp, size_t *dlen_out)
{
	struct files_walk w = { NULL, 0, 0, NULL, 0, 0 };
	char dir[4096];
	size_t dlen;
	int rc;

	*dp = NULL;
	if (e->value[0] != '/')
		return config_fail(ctx, e->line, e->key,
		    "\"%.80s\" is not an absolute path; write it from /, e.g. "
		    "/etc/mailcert/conf.d/*.conf", e->value);
	if (!files_simple(e->value, &dlen) || dlen >= sizeof(dir))
		return files_glob(ctx, e, raw);
	memcpy(dir, e->value, dlen);
	dir[dlen] = '\0';
	*dp = opendir(dlen > 0 ? dir : "/");
	if (*dp == NULL)
		return errno == ENOMEM ? files_unreadable(ctx, e, true)
		                       : files_unreadable(ctx, e, false);
	*dlen_out = dlen;
	rc = files_walk(*dp, e->value + dlen + 1, &w);
	if (rc == -2)
		rc = files_too_many(ctx, e, (size_t)FILES_MAX + 1);
	else if (rc == -1)
		rc = files_unreadable(ctx, e, errno == ENOMEM);
	else
		rc = files_sorted(&w, e->value, dlen, raw, ctx->err);
	free(w.names);
	free(w.ents);
	return rc;
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
	char *path;
	size_t i, dlen = 0, off, walked = 0;
	int ret = 0, dfd = AT_FDCWD;
	DIR *d = NULL;

	for (i = 0; i < raw->n_secs && global == NULL; i++)
		if (raw->secs[i].kind == CFG_GLOBAL)
			global = &raw->secs[i];
	e = global != NULL ? config_entry_find(global, "include") : NULL;
	if (e == NULL || e->value[0] == '\0')
		return 0;
	if (files_list(&ctx, e, raw, &d, &walked) == -1)
		ret = -1;
	for (i = 0; ret == 0 && i < raw->incl.n; i++) {
		path = raw->incl.paths[i];
		if (d != NULL) /* all in the walked directory: its fd, the name */
			ret = config_lex_file_at(dirfd(d), path + walked + 1, path,
			    raw->incl.types[i] == DT_REG, raw, err);
		else {
			off = files_dir(path, &dfd, &dir, &dlen);
			ret = config_lex_file_at(dfd, path + off, path, false, raw,
			    err);
		}
	}
	if (d != NULL)
		closedir(d);
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
	config_lex_buf_free(raw); /* cleansed after each file */
	if (ret == -1)
		config_raw_free(raw);
	return ret;
}
