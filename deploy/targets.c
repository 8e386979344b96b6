/*
 * targets.c - check and write the files of a deploy target.
 */
#include <errno.h>
#include <grp.h>
#include <libgen.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mailcert/buf.h"
#include "mailcert/crypto.h"
#include "mailcert/deploy.h"
#include "mailcert/fsio.h"

enum content { C_KEY_CHAIN, C_CHAIN, C_KEY };

struct file_kind {
	const char *key; /* config key, for messages */
	size_t offset;   /* of the path in struct mc_target */
	enum content content;
};

static const struct file_kind kinds[] = {
	{"chain_file", offsetof(struct mc_target, chain_file), C_KEY_CHAIN},
	{"combined_file", offsetof(struct mc_target, combined_file), C_KEY_CHAIN},
	{"cert_file", offsetof(struct mc_target, cert_file), C_CHAIN},
	{"fullchain_file", offsetof(struct mc_target, fullchain_file), C_CHAIN},
	{"key_file", offsetof(struct mc_target, key_file), C_KEY},
};

#define N_KINDS (sizeof(kinds) / sizeof(kinds[0]))

/* kind_path - the configured path template of kind k in t, or NULL. */
static const char *
kind_path(const struct mc_target *t, size_t k)
{
	return *(char *const *)((const char *)t + kinds[k].offset);
}

/* targets_owner - uid/gid from the target's owner and group. */
static int
targets_owner(const struct mc_target *t, struct mc_fsio_owner *o,
	      struct mc_err *err)
{
	struct passwd *pw;
	struct group *gr;

	*o = MC_FSIO_KEEP_OWNER;
	if (t->owner != NULL) {
		errno = 0;
		pw = getpwnam(t->owner);
		if (pw == NULL)
			return mc_err_set(err, MC_ERR_DEPLOY,
					  "target %s: owner: no user \"%s\" "
					  "on this system; create it or fix "
					  "the owner",
					  t->name, t->owner);
		o->uid = pw->pw_uid;
	}
	if (t->group != NULL) {
		errno = 0;
		gr = getgrnam(t->group);
		if (gr == NULL)
			return mc_err_set(err, MC_ERR_DEPLOY,
					  "target %s: group: no group \"%s\" "
					  "on this system; create it or fix "
					  "the group",
					  t->name, t->group);
		o->gid = gr->gr_gid;
	}
	return 0;
}

/* targets_dir_writable - the nearest existing ancestor of dir is a
 * writable directory (so missing parts can be created). */
static int
targets_dir_writable(const struct mc_target *t, const char *path,
		     struct mc_err *err)
{
	char *copy = strdup(path), *dir;
	struct stat st;
	int rc = -1;

	if (copy == NULL)
		return mc_err_errno(err, MC_ERR_SYS, "out of memory");
	dir = dirname(copy);
	while (stat(dir, &st) == -1) {
		if (errno != ENOENT || strcmp(dir, "/") == 0) {
			mc_err_errno(err, MC_ERR_DEPLOY, "target %s: %s",
				     t->name, dir);
			goto out;
		}
		dir = dirname(dir);
	}
	if (!S_ISDIR(st.st_mode))
		mc_err_set(err, MC_ERR_DEPLOY,
			   "target %s: %s is not a directory; fix the path "
			   "of %s",
			   t->name, dir, path);
	else if (access(dir, W_OK | X_OK) == -1)
		mc_err_errno(err, MC_ERR_DEPLOY,
			     "target %s: cannot write in %s", t->name, dir);
	else
		rc = 0;
out:
	free(copy);
	return rc;
}

/* targets_check_file - one file: not a symlink (unless allowed), a regular
 * file if present, and a writable place. */
static int
targets_check_file(const struct mc_target *t, const char *key,
		   const char *path, struct mc_err *err)
{
	struct stat st;

	if (lstat(path, &st) == 0) {
		if (S_ISLNK(st.st_mode) && !t->allow_symlink)
			return mc_err_set(err, MC_ERR_DEPLOY,
					  "target %s: %s %s is a symbolic "
					  "link; remove it or set "
					  "allow_symlink = yes",
					  t->name, key, path);
		if (!S_ISLNK(st.st_mode) && !S_ISREG(st.st_mode))
			return mc_err_set(err, MC_ERR_DEPLOY,
					  "target %s: %s %s exists and is not "
					  "a regular file",
					  t->name, key, path);
	} else if (errno != ENOENT) {
		return mc_err_errno(err, MC_ERR_DEPLOY, "target %s: %s %s",
				    t->name, key, path);
	}
	return targets_dir_writable(t, path, err);
}

/* mc_deploy_check - validate target t without changing anything. */
int
mc_deploy_check(const struct mc_target *t, const char *cert_name,
		struct mc_err *err)
{
	struct mc_fsio_owner owner;
	char *path;
	size_t k;
	int rc = 0, any = 0;

	if (targets_owner(t, &owner, err) == -1)
		return -1;
	for (k = 0; k < N_KINDS && rc == 0; k++) {
		if (kind_path(t, k) == NULL)
			continue;
		any = 1;
		path = mc_config_expand(kind_path(t, k), cert_name, err);
		rc = path ? targets_check_file(t, kinds[k].key, path, err) : -1;
		free(path);
	}
	if (rc == 0 && !any)
		return mc_err_set(err, MC_ERR_DEPLOY,
				  "target %s has no file to write", t->name);
	return rc;
}

/* targets_content - the bytes of a file kind (a secret buffer if it has the key). */
static int
targets_content(enum content c, EVP_PKEY *key, STACK_OF(X509) *chain,
		struct mc_buf *out, struct mc_err *err)
{
	if (c != C_CHAIN && mc_key_to_pem(key, out, err) == -1)
		return -1;
	if (c != C_KEY && mc_x509_chain_pem(chain, 0, out, err) == -1)
		return -1;
	return 0;
}

/* targets_mkdir - create the file's directory when missing: 0755, or
 * 0750 with the group for directories of key files. */
static int
targets_mkdir(const char *path, bool has_key, struct mc_fsio_owner owner,
	      struct mc_err *err)
{
	char *copy = strdup(path), *dir;
	bool grouped = has_key && owner.gid != (gid_t)-1;
	int rc = 0;

	if (copy == NULL)
		return mc_err_errno(err, MC_ERR_SYS, "out of memory");
	dir = dirname(copy);
	if (!mc_fsio_exists(dir)) {
		rc = mc_fsio_mkdirs(dir, grouped ? 0750 : 0755, err);
		if (rc == 0 && grouped && chown(dir, (uid_t)-1, owner.gid) == -1)
			rc = mc_err_errno(err, MC_ERR_SYS, "cannot chown %s",
					  dir);
	}
	free(copy);
	return rc;
}

/* targets_stage_one - stage one file of t (written and synced, not renamed). */
static int
targets_stage_one(const struct mc_target *t, size_t k, const char *path,
		  EVP_PKEY *key, STACK_OF(X509) *chain,
		  struct mc_fsio_owner owner, struct mc_fsio_pending *p,
		  struct mc_err *err)
{
	struct mc_buf data;
	bool has_key = kinds[k].content != C_CHAIN;
	int rc = -1;

	mc_buf_init(&data, 0);
	if (targets_mkdir(path, has_key, owner, err) == -1 ||
	    targets_content(kinds[k].content, key, chain, &data, err) == -1)
		goto out;
	rc = mc_fsio_stage(path, data.data, data.len,
			   has_key ? t->mode : 0644, owner, t->allow_symlink,
			   p, err);
out:
	mc_buf_clear_free(&data);
	if (rc == -1)
		mc_err_prefix(err, "target %s: %s", t->name, kinds[k].key);
	return rc;
}

/* mc_deploy_write - stage every file of t, then rename them back to back,
 * so a daemon reading a key and a certificate from two files sees a mixed
 * pair only between two renames. */
int
mc_deploy_write(const struct mc_target *t, const char *cert_name,
		EVP_PKEY *key, STACK_OF(X509) *chain, struct mc_err *err)
{
	struct mc_fsio_pending staged[N_KINDS];
	struct mc_fsio_owner owner;
	size_t k, n = 0;
	char *path;
	int rc = 0;

	if (targets_owner(t, &owner, err) == -1)
		return -1;
	for (k = 0; k < N_KINDS && rc == 0; k++) {
		if (kind_path(t, k) == NULL)
			continue;
		path = mc_config_expand(kind_path(t, k), cert_name, err);
		rc = path ? targets_stage_one(t, k, path, key, chain, owner,
					      &staged[n], err)
			  : -1;
		n += rc == 0;
		free(path);
	}
	for (k = 0; k < n; k++) {
		if (rc == -1)
			mc_fsio_abort(&staged[k]);
		else if (mc_fsio_commit(&staged[k], err) == -1)
			rc = mc_err_prefix(err, "target %s", t->name);
	}
	return rc;
}
