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
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mailcert/config.h"
#include "mailcert/pool.h"

#include "core/config_int.h"

#define FILES_MAX 100000 /* included files */
#define FILES_PAR_MIN 512 /* included files: below, one thread reads them */
#define FILES_PARTS 8     /* runs of files lexed apart, in order */
#define FILES_THREADS 4   /* at most */

/* The files of one run lexed apart (files_part_run). */
struct files_part {
	struct cfg_raw raw; /* their sections; file names borrowed */
	size_t from, to;    /* indexes into the main raw's incl */
	bool failed;
	struct mc_err err;
};

struct files_job {
	const struct cfg_raw *main;
	struct files_part *parts;
	int dfd; /* the walked directory */
};

/* The files found: each "TYPE PATH\0" (TYPE one byte, the d_type) one
 * after the other in text; offs[i] the offset of the i-th PATH, turned
 * into the sorted raw->incl.paths once all are found. */
struct files_found {
	char *text;
	size_t len, cap;
	size_t *offs;
	size_t n, cap_offs;
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

/* files_too_many - the error for more than FILES_MAX matches (the walk
 * stops at the first one too many, so no count is given). */
static int
files_too_many(const struct cfg_ctx *ctx, const struct cfg_entry *e)
{
	return config_fail(ctx, e->line, e->key, "\"%.80s\" names more than %d "
	    "files, the most mailcert reads; put several [cert] sections in "
	    "one file", e->value, FILES_MAX);
}

/* files_add - append "TYPE dir/name" (dir dlen bytes, no '/' added
 * after one; dlen 0: name is a whole path) to f; 0 or -1. */
static int
files_add(struct files_found *f, const char *dir, size_t dlen,
    const char *name, unsigned char type)
{
	size_t sep = dlen > 0 && dir[dlen - 1] != '/'; /* "/" + name: none */
	size_t len = strlen(name) + 1, need = 1 + dlen + sep + len, cap;
	void *p;

	if (f->len + need > f->cap) {
		cap = f->cap ? f->cap * 2 : 16384;
		while (cap < f->len + need)
			cap *= 2;
		if ((p = realloc(f->text, cap)) == NULL)
			return -1;
		f->text = p;
		f->cap = cap;
	}
	if (f->n == f->cap_offs) {
		cap = f->cap_offs ? f->cap_offs * 2 : 256;
		if ((p = realloc(f->offs, cap * sizeof(*f->offs))) == NULL)
			return -1;
		f->offs = p;
		f->cap_offs = cap;
	}
	p = f->text + f->len;
	*(unsigned char *)p = type;
	memcpy((char *)p + 1, dir, dlen);
	if (sep)
		((char *)p)[1 + dlen] = '/';
	memcpy((char *)p + 1 + dlen + sep, name, len);
	f->offs[f->n++] = f->len + 1;
	f->len += need;
	return 0;
}

/* files_set - f's paths, sorted byte by byte, as raw's included files
 * (f is taken); 0 or -1 (out of memory). */
static int
files_set(struct cfg_raw *raw, struct files_found *f, struct mc_err *err)
{
	char **paths = (char **)f->offs; /* the same array, offsets to paths */
	size_t i;

	if (f->n == 0) {
		free(f->text);
		free(f->offs);
		return 0;
	}
	for (i = 0; i < f->n; i++)
		paths[i] = f->text + f->offs[i];
	qsort(paths, f->n, sizeof(char *), files_strcmp);
	raw->incl.text = f->text;
	raw->incl.paths = paths;
	raw->incl.n = f->n;
	(void)err;
	return 0;
}

/* files_glob - the files matching e's pattern through glob(3), sorted,
 * into raw->incl (types unknown). */
static int
files_glob(const struct cfg_ctx *ctx, const struct cfg_entry *e,
    struct cfg_raw *raw)
{
	struct files_found f = { NULL, 0, 0, NULL, 0, 0 };
	glob_t g;
	size_t i, n;
	int rc;

	rc = glob(e->value, GLOB_ERR | GLOB_NOSORT, NULL, &g);
	if (rc == GLOB_NOMATCH)
		return files_glob_dir(ctx, e); /* an empty conf.d is fine */
	if (rc != 0)
		return files_unreadable(ctx, e, rc == GLOB_NOSPACE);
	n = g.gl_pathc;
	for (i = 0; i < n && n <= FILES_MAX; i++)
		if (files_add(&f, "", 0, g.gl_pathv[i], DT_UNKNOWN) == -1)
			break;
	globfree(&g);
	if (n > FILES_MAX || i < n) {
		free(f.text);
		free(f.offs);
		return n > FILES_MAX ? files_too_many(ctx, e)
		                     : mc_err_set(ctx->err, MC_ERR_SYS, "out of memory");
	}
	return files_set(raw, &f, ctx->err);
}

/* files_walk - the names in d matching base (fnmatch, glob's rules),
 * each behind dir (dlen bytes), into f; 0, -1 (out of memory or a read
 * error: errno), or -2 (too many). */
static int
files_walk(DIR *d, const char *dir, size_t dlen, const char *base,
    struct files_found *f)
{
	/* "*SUFFIX" (the usual *.conf) without fnmatch: what it matches */
	const char *suffix = base[0] == '*' && base[1 + strcspn(base + 1,
	    "*?[\\")] == '\0' ? base + 1 : NULL;
	size_t slen = suffix != NULL ? strlen(suffix) : 0, len;
	struct dirent *de;

	for (;;) {
		errno = 0;
		de = readdir(d);
		if (de == NULL)
			return errno == 0 ? 0 : -1;
		if (suffix != NULL) { /* '*' never matches a leading '.' */
			len = strlen(de->d_name);
			if (de->d_name[0] == '.' || len < slen ||
			    memcmp(de->d_name + len - slen, suffix, slen) != 0)
				continue;
		} else if (fnmatch(base, de->d_name, FNM_PERIOD) != 0)
			continue;
		if (f->n == FILES_MAX)
			return -2;
		if (files_add(f, dlen > 0 ? dir : "/", dlen > 0 ? dlen : 1,
		    de->d_name, de->d_type) == -1)
			return -1;
	}
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
 * open directory they are all in (the walk), else NULL (glob). */
static int
files_list(const struct cfg_ctx *ctx, const struct cfg_entry *e,
    struct cfg_raw *raw, DIR **dp)
{
	struct files_found f = { NULL, 0, 0, NULL, 0, 0 };
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
	rc = files_walk(*dp, e->value, dlen, e->value + dlen + 1, &f);
	if (rc == 0)
		return files_set(raw, &f, ctx->err);
	free(f.text);
	free(f.offs);
	if (rc == -2)
		return files_too_many(ctx, e);
	return files_unreadable(ctx, e, errno == ENOMEM);
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

/* files_name - the name of a walked file in its directory: what follows
 * the last '/' of its path (the directory part of the pattern may end in
 * '/' itself: a doubled slash before the wildcard, as glob(3) reads it). */
static const char *
files_name(const char *path)
{
	return strrchr(path, '/') + 1;
}

/* files_part_run - lex the files of part i (a pool item) into its raw. */
static int
files_part_run(void *arg, size_t i, struct mc_err *err)
{
	struct files_job *job = arg;
	struct files_part *part = &job->parts[i];
	char *path;
	size_t k;

	for (k = part->from; k < part->to && !part->failed; k++) {
		path = job->main->incl.paths[k];
		if (config_lex_file_at(job->dfd, files_name(path), path,
		    (unsigned char)path[-1] == DT_REG, &part->raw,
		    &part->err) == -1)
			part->failed = true;
	}
	config_lex_buf_free(&part->raw);
	free(part->raw.idx.slots);
	memset(&part->raw.idx, 0, sizeof(part->raw.idx));
	if (part->failed)
		*err = part->err;
	return part->failed ? -1 : 0;
}

/* files_parallel - lex the walked files in FILES_PARTS runs on up to one
 * thread per CPU and append their sections to raw in file order: the
 * result is what one thread reading them in order makes. 1 done, 0 when
 * a run failed or repeated a section (raw is then as before: the caller
 * reads the files one by one, which finds the first error in order and
 * names it as always), -1 out of memory. */
static int
files_parallel(struct cfg_raw *raw, int dfd, struct mc_err *err)
{
	struct files_part parts[FILES_PARTS];
	struct files_job job = { raw, parts, dfd };
	size_t i, n = raw->incl.n, n_secs = raw->n_secs, n_files = raw->n_files;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	size_t k = cpus > 1 ? (size_t)cpus : 1;
	int ret = 1;

	memset(parts, 0, sizeof(parts));
	for (i = 0; i < FILES_PARTS; i++) {
		parts[i].from = n * i / FILES_PARTS;
		parts[i].to = n * (i + 1) / FILES_PARTS;
	}
	/* the threads allocate from the main arena: what the sections hold
	 * is freed as the certs are built and reused by them (an arena per
	 * thread would keep it apart: +0.5 MB peak at 10,000 certs). The
	 * limit holds for the rest of the run: glibc fixes its arena count
	 * when a thread first needs one and never raises it (mallopt cannot
	 * set it back), so threads later in the run (live checks) share the
	 * main arena too; they wait on the network, not on malloc. */
	mallopt(M_ARENA_MAX, 1);
	if (mc_pool_run(FILES_PARTS, k < FILES_THREADS ? k : FILES_THREADS,
	    files_part_run, &job, NULL) == -1)
		ret = 0;
	for (i = 0; i < FILES_PARTS; i++) { /* each freed once taken */
		if (ret == 1 && (parts[i].failed ||
		    config_raw_adopt(raw, &parts[i].raw, err) == -1))
			ret = err->cat == MC_ERR_SYS ? -1 : 0;
		config_raw_free(&parts[i].raw);
	}
	if (ret == 0 && config_raw_truncate(raw, n_secs, n_files, err) == -1)
		return -1; /* back to the main file's sections */
	return ret;
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
	size_t i, dlen = 0, off;
	int ret = 0, dfd = AT_FDCWD;
	DIR *d = NULL;

	for (i = 0; i < raw->n_secs && global == NULL; i++)
		if (raw->secs[i].kind == CFG_GLOBAL)
			global = &raw->secs[i];
	e = global != NULL ? config_entry_find(global, "include") : NULL;
	if (e == NULL || e->value[0] == '\0')
		return 0;
	if (files_list(&ctx, e, raw, &d) == -1)
		ret = -1;
	if (ret == 0 && d != NULL && raw->incl.n >= FILES_PAR_MIN) {
		mc_err_clear(err);
		ret = files_parallel(raw, dirfd(d), err);
		i = ret == 1 ? raw->incl.n : 0; /* 0: once more, one by one */
		ret = ret == 1 ? 0 : ret;
	} else
		i = 0;
	for (; ret == 0 && i < raw->incl.n; i++) {
		path = raw->incl.paths[i];
		if (d != NULL) /* all in the walked directory: its fd, the name */
			ret = config_lex_file_at(dirfd(d), files_name(path), path,
			    (unsigned char)path[-1] == DT_REG, raw, err);
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
