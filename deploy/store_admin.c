/*
 * store_admin.c - list, prune and delete what the store holds: the
 * versions of a cert, old versions past keep_versions, a whole cert, the
 * cert names present (for orphaned state).
 *
 * Removal never follows a symlink: directories are opened with
 * O_NOFOLLOW|O_DIRECTORY and their entries removed with unlinkat(), so a
 * link planted in the state directory cannot make us delete elsewhere.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mailcert/crypto.h"
#include "mailcert/fsio.h"
#include "mailcert/log.h"
#include "mailcert/store.h"

#define ADMIN_PATH_MAX 4096
#define ADMIN_DEPTH_MAX 8
#define ADMIN_LIST_MAX 100000

/* admin_number - "0001" into 1; 0 when the name is not a version. */
static unsigned
admin_number(const char *s)
{
	unsigned long v = 0;
	size_t i, len = strlen(s);

	if (len < 4 || len > 6)
		return 0;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	return (unsigned)v;
}

/* admin_cmp_unsigned - ascending order for qsort. */
static int
admin_cmp_unsigned(const void *a, const void *b)
{
	unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;

	return x < y ? -1 : x > y;
}

/* admin_cmp_str - byte order of strings for qsort. */
static int
admin_cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* admin_grow - make room for one more element in *v (capacity *cap). */
static int
admin_grow(void **v, size_t n, size_t *cap, size_t size, struct mc_err *err)
{
	void *p;

	if (n < *cap)
		return 0;
	if (n >= ADMIN_LIST_MAX)
		return mc_err_set(err, MC_ERR_INPUT,
				  "more than %d entries; clean up the state "
				  "directory",
				  ADMIN_LIST_MAX);
	*cap = *cap ? *cap * 2 : 16;
	p = realloc(*v, *cap * size);
	if (p == NULL)
		return mc_err_errno(err, MC_ERR_SYS, "out of memory");
	*v = p;
	return 0;
}

/* mc_store_versions - the version numbers of name, ascending. */
int
mc_store_versions(const char *state_dir, const char *name, unsigned **out,
		  size_t *n, struct mc_err *err)
{
	char dir[ADMIN_PATH_MAX];
	unsigned *v = NULL, num;
	size_t count = 0, cap = 0;
	struct dirent *e;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/certs/%s/versions", state_dir, name);
	d = opendir(dir);
	if (d == NULL && errno != ENOENT)
		return mc_err_errno(err, MC_ERR_SYS, "cannot list %s", dir);
	while (d != NULL && (e = readdir(d)) != NULL) {
		num = admin_number(e->d_name);
		if (num == 0)
			continue;
		if (admin_grow((void **)&v, count, &cap, sizeof(*v), err) ==
		    -1) {
			closedir(d);
			free(v);
			return -1;
		}
		v[count++] = num;
	}
	if (d != NULL)
		closedir(d);
	if (count > 0)
		qsort(v, count, sizeof(*v), admin_cmp_unsigned);
	*out = v;
	*n = count;
	return 0;
}

/* mc_store_cert_names - the cert names that have state, sorted. */
int
mc_store_cert_names(const char *state_dir, char ***out, size_t *n,
		    struct mc_err *err)
{
	char dir[ADMIN_PATH_MAX], **v = NULL;
	size_t count = 0, cap = 0;
	struct dirent *e;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/certs", state_dir);
	d = opendir(dir);
	if (d == NULL && errno != ENOENT)
		return mc_err_errno(err, MC_ERR_SYS, "cannot list %s", dir);
	while (d != NULL && (e = readdir(d)) != NULL) {
		if (!mc_cert_name_valid(e->d_name) || e->d_type == DT_LNK)
			continue;
		if (admin_grow((void **)&v, count, &cap, sizeof(*v), err) ==
			    -1 ||
		    (v[count] = strdup(e->d_name)) == NULL) {
			if (err->cat == MC_ERR_NONE)
				mc_err_errno(err, MC_ERR_SYS, "out of memory");
			closedir(d);
			mc_strv_free(v, count);
			return -1;
		}
		count++;
	}
	if (d != NULL)
		closedir(d);
	if (count > 0)
		qsort(v, count, sizeof(*v), admin_cmp_str);
	*out = v;
	*n = count;
	return 0;
}

/* admin_remove_at - remove the entry name in dfd, recursing into
 * directories (never through a symlink), at most depth levels deep. */
static int
admin_remove_at(int dfd, const char *name, int depth, struct mc_err *err)
{
	struct dirent *e;
	struct stat st;
	int fd, rc = 0;
	DIR *d;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == -1)
		return errno == ENOENT ? 0
				       : mc_err_errno(err, MC_ERR_SYS,
						      "cannot stat %s", name);
	if (!S_ISDIR(st.st_mode)) {
		if (unlinkat(dfd, name, 0) == -1 && errno != ENOENT)
			return mc_err_errno(err, MC_ERR_SYS,
					    "cannot remove %s", name);
		return 0;
	}
	if (depth <= 0)
		return mc_err_set(err, MC_ERR_INPUT,
				  "%s is nested too deeply; remove it by hand",
				  name);
	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1 || (d = fdopendir(fd)) == NULL) {
		if (fd != -1)
			close(fd);
		return mc_err_errno(err, MC_ERR_SYS, "cannot open %s", name);
	}
	while (rc == 0 && (e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			rc = admin_remove_at(dirfd(d), e->d_name, depth - 1,
					     err);
	closedir(d);
	if (rc == 0 && unlinkat(dfd, name, AT_REMOVEDIR) == -1 &&
	    errno != ENOENT)
		rc = mc_err_errno(err, MC_ERR_SYS, "cannot remove %s", name);
	if (rc == -1)
		mc_err_prefix(err, "%s", name);
	return rc;
}

/* admin_remove_in - remove dir/name (recursively), then fsync dir. */
static int
admin_remove_in(const char *dir, const char *name, struct mc_err *err)
{
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	int rc;

	if (dfd == -1)
		return errno == ENOENT ? 0
				       : mc_err_errno(err, MC_ERR_SYS,
						      "cannot open %s", dir);
	rc = admin_remove_at(dfd, name, ADMIN_DEPTH_MAX, err);
	if (rc == 0 && fsync(dfd) == -1)
		rc = mc_err_errno(err, MC_ERR_SYS, "cannot fsync %s", dir);
	close(dfd);
	if (rc == -1)
		mc_err_prefix(err, "%s", dir);
	return rc;
}

/* mc_store_remove_tree - delete parent/name and everything under it. */
int
mc_store_remove_tree(const char *parent, const char *name, struct mc_err *err)
{
	if (strchr(name, '/') != NULL || strcmp(name, "..") == 0 ||
	    strcmp(name, ".") == 0 || name[0] == '\0')
		return mc_err_set(err, MC_ERR_USAGE, "\"%s\" is not a name in %s",
				  name, parent);
	return admin_remove_in(parent, name, err);
}

/* mc_store_remove_version - delete one version (key and all) durably. */
int
mc_store_remove_version(const char *state_dir, const char *name,
			unsigned number, struct mc_err *err)
{
	char dir[ADMIN_PATH_MAX], entry[16];

	snprintf(dir, sizeof(dir), "%s/certs/%s/versions", state_dir, name);
	snprintf(entry, sizeof(entry), "%04u", number);
	return admin_remove_in(dir, entry, err);
}

/* mc_store_remove_cert - delete certs/<name> and everything under it. */
int
mc_store_remove_cert(const char *state_dir, const char *name,
		     struct mc_err *err)
{
	char dir[ADMIN_PATH_MAX];

	if (!mc_cert_name_valid(name))
		return mc_err_set(err, MC_ERR_USAGE,
				  "\"%s\" is not a cert name", name);
	snprintf(dir, sizeof(dir), "%s/certs", state_dir);
	return admin_remove_in(dir, name, err);
}

/* admin_prunable - whether version v may go: older than current, neither
 * current nor the one before it. */
static bool
admin_prunable(unsigned v, unsigned current, unsigned prev)
{
	return v < current && v != prev;
}

/* mc_store_prune - remove the oldest versions until at most keep remain. */
int
mc_store_prune(const char *state_dir, const char *name, unsigned keep,
	       unsigned current, unsigned prev, unsigned *removed,
	       struct mc_err *err)
{
	unsigned *v = NULL;
	size_t n = 0, left, i;
	int rc = 0;

	*removed = 0;
	if (keep == 0 || current == 0 ||
	    mc_store_versions(state_dir, name, &v, &n, err) == -1)
		return keep == 0 || current == 0 ? 0 : -1;
	left = n;
	for (i = 0; i < n && left > keep && rc == 0; i++) {
		if (!admin_prunable(v[i], current, prev))
			continue;
		rc = mc_store_remove_version(state_dir, name, v[i], err);
		if (rc == 0) {
			mc_log_info("%s: removed version %04u and its key "
				    "(keep_versions = %u)",
				    name, v[i], keep);
			(*removed)++;
			left--;
		}
	}
	free(v);
	return rc;
}

/* mc_store_any_version - whether match holds for a version of name. */
int
mc_store_any_version(const char *state_dir, const char *name,
		     bool (*match)(const struct mc_cert_meta *meta,
				   const void *arg),
		     const void *arg, struct mc_err *err)
{
	struct mc_cert_meta meta;
	unsigned *v = NULL;
	size_t n = 0, i;
	int found = 0;

	if (mc_store_versions(state_dir, name, &v, &n, err) == -1)
		return -1;
	for (i = 0; i < n && !found; i++) {
		if (mc_store_load_meta(state_dir, name, v[i], &meta, NULL) == -1)
			continue;
		found = match(&meta, arg);
		mc_store_meta_clear(&meta);
	}
	free(v);
	return found;
}

/* admin_compromised - the version has the key and lost it to keyCompromise. */
static bool
admin_compromised(const struct mc_cert_meta *meta, const void *spki)
{
	const struct mc_cert_meta *m;
	size_t i;

	if (strcmp(meta->revocation_reason, "keyCompromise") != 0)
		return false;
	for (i = 0; (m = mc_store_meta_leaf(meta, i)) != NULL; i++)
		if (strcmp(m->spki_sha256, spki) == 0)
			return true;
	return false;
}

/* mc_store_key_compromised - whether a version of name with the key spki
 * was revoked for keyCompromise. */
int
mc_store_key_compromised(const char *state_dir, const char *name,
			 const char *spki_sha256, struct mc_err *err)
{
	return mc_store_any_version(state_dir, name, admin_compromised,
				    spki_sha256, err);
}
