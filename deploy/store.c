/*
 * store.c - versioned certificate store: write, switch, find, load.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "mailcert/crypto.h"
#include "mailcert/fsio.h"
#include "mailcert/log.h"
#include "mailcert/store.h"
#include "deploy/store_int.h"

#define STORE_PATH_MAX 4096

/* store_cert_dir - "state_dir/certs/name[/sub]" into buf. */
static int
store_cert_dir(const char *state_dir, const char *name, const char *sub,
	       char *buf, size_t size, struct mc_err *err)
{
	int n = snprintf(buf, size, "%s/certs/%s%s%s", state_dir, name,
			 sub ? "/" : "", sub ? sub : "");

	if (n < 0 || (size_t)n >= size)
		return mc_err_set(err, MC_ERR_INPUT, "path too long: %s",
				  state_dir);
	return 0;
}

/* mc_store_path - path of a version (or of a file in it). */
int
mc_store_path(const char *state_dir, const char *name, unsigned number,
	      const char *file, char *buf, size_t size, struct mc_err *err)
{
	int n = snprintf(buf, size, "%s/certs/%s/versions/%04u%s%s", state_dir,
			 name, number, file ? "/" : "", file ? file : "");

	if (n < 0 || (size_t)n >= size)
		return mc_err_set(err, MC_ERR_INPUT, "path too long: %s",
				  state_dir);
	return 0;
}

/* store_parse_number - "0001" into 1; 0 if the name is not a version. */
static unsigned
store_parse_number(const char *s)
{
	char *end = NULL;
	unsigned long v;

	if (strlen(s) < 4 || s[0] < '0' || s[0] > '9')
		return 0;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || v == 0 || v > 999999)
		return 0;
	return (unsigned)v;
}

/* store_max_version - the highest version number in dir (0: none). */
static int
store_max_version(const char *dir, unsigned *max, struct mc_err *err)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	unsigned v;

	*max = 0;
	if (d == NULL) {
		if (errno == ENOENT)
			return 0;
		return mc_err_errno(err, MC_ERR_SYS, "cannot list %s", dir);
	}
	while ((e = readdir(d)) != NULL) {
		v = store_parse_number(e->d_name);
		if (v > *max)
			*max = v;
	}
	closedir(d);
	return 0;
}

/* mc_store_last_version - the highest stored version number of name. */
int
mc_store_last_version(const char *state_dir, const char *name, unsigned *max,
		      struct mc_err *err)
{
	char dir[STORE_PATH_MAX];

	if (store_cert_dir(state_dir, name, "versions", dir, sizeof(dir),
			   err) == -1)
		return -1;
	return store_max_version(dir, max, err);
}

static int store_not_a_link(const char *state_dir, const char *name,
			    const char *link, mode_t mode, struct mc_err *err);

/* store_write_pair - the files of pair slot (key, cert, chain,
 * fullchain; mc_pair_file names them) into the new directory dfd (dir). */
static int
store_write_pair(int dfd, const char *dir, const struct mc_pair *pair,
		 size_t slot, struct mc_err *err)
{
	static const struct {
		const char *file;
		int from, to; /* chain slice [from, to), to -1: end */
	} parts[] = {{"cert.pem", 0, 1}, {"chain.pem", 1, -1},
		     {"fullchain.pem", 0, -1}};
	struct mc_buf pem;
	char file[64];
	size_t i;
	int rc = -1;

	mc_buf_init(&pem, 0);
	mc_pair_file("privkey.pem", slot, pair->type, file, sizeof(file));
	if (mc_key_to_pem(pair->key, &pem, err) == -1 ||
	    mc_fsio_create_at(dfd, dir, file, pem.data, pem.len, 0600,
			      MC_FSIO_KEEP_OWNER, err) == -1)
		goto out;
	for (i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		STACK_OF(X509) *slice = sk_X509_new_null();
		int j, to = parts[i].to < 0 ? sk_X509_num(pair->chain)
					    : parts[i].to;

		for (j = parts[i].from; slice && j < to; j++)
			sk_X509_push(slice, sk_X509_value(pair->chain, j));
		mc_buf_clear_free(&pem);
		rc = slice ? mc_x509_chain_pem(slice, 0, &pem, err) : -1;
		sk_X509_free(slice);
		mc_pair_file(parts[i].file, slot, pair->type, file, sizeof(file));
		if (rc == -1 ||
		    mc_fsio_create_at(dfd, dir, file, pem.data, pem.len, 0644,
				      MC_FSIO_KEEP_OWNER, err) == -1) {
			rc = -1;
			goto out;
		}
	}
	rc = 0;
out:
	mc_buf_clear_free(&pem);
	return rc;
}

/* store_write_files - every file of a version into the new directory
 * dir: each file created there and synced, then the directory synced
 * once (a temp file and a rename per file would add nothing: no reader
 * knows dir before it is renamed into versions/). */
static int
store_write_files(const char *dir, const struct mc_pairs *pairs,
		  const struct mc_cert_meta *meta, struct mc_err *err)
{
	size_t i;
	int dfd, rc = -1;

	if (pairs->n == 0 || pairs->n > MC_KEY_TYPES_MAX ||
	    (pairs->n > 1) != (meta->second != NULL))
		return mc_err_set(err, MC_ERR_INPUT, "a version holds one pair, "
				  "or two with the second described");
	dfd = mc_fsio_open_dir(dir, false, 0, MC_FSIO_KEEP_OWNER, err);
	if (dfd == -1)
		return -1;
	for (i = 0; i < pairs->n; i++)
		if (store_write_pair(dfd, dir, &pairs->p[i], i, err) == -1)
			goto out;
	if (store_meta_create_at(dfd, dir, meta, err) == -1)
		goto out;
	if (fsync(dfd) == -1) {
		mc_err_errno(err, MC_ERR_SYS, "cannot sync directory %s", dir);
		goto out;
	}
	rc = 0;
out:
	close(dfd);
	return rc;
}

/* mc_store_add_version - write a complete new version. */
int
mc_store_add_version(const char *state_dir, const char *name,
		     const struct mc_pairs *pairs,
		     const struct mc_cert_meta *meta, unsigned *number,
		     struct mc_err *err)
{
	char vdir[STORE_PATH_MAX], tmp[STORE_PATH_MAX + 32], dst[STORE_PATH_MAX];
	struct mc_cert_meta m = *meta;
	unsigned max, cur = 0;

	if (store_cert_dir(state_dir, name, "versions", vdir, sizeof(vdir),
			   err) == -1 ||
	    mc_fsio_mkdirs(vdir, 0700, err) == -1 ||
	    store_max_version(vdir, &max, err) == -1)
		return -1;
	m.version = meta->version ? meta->version : max + 1;
	/* the version current now is recorded as prior at once: making this
	 * one current (store_switch) then rewrites meta.json only if another
	 * has become current meanwhile, so an issuance writes meta.json once
	 * (the rewrite was a file, a rename and two fsyncs that published
	 * nothing) */
	if (m.prior == 0 && mc_store_current(state_dir, name, &cur, NULL) == 1 &&
	    cur != m.version)
		m.prior = cur;
	mc_store_path(state_dir, name, m.version, NULL, dst, sizeof(dst), NULL);
	if (mc_fsio_exists(dst))
		return mc_err_set(err, MC_ERR_INPUT,
				  "version %04u of %s exists already (%s)",
				  m.version, name, dst);
	snprintf(tmp, sizeof(tmp), "%s/.new-%04u.%ld", vdir, m.version,
		 (long)getpid());
	if (mkdir(tmp, 0700) == -1)
		return mc_err_errno(err, MC_ERR_SYS, "cannot create %s", tmp);
	if (store_write_files(tmp, pairs, &m, err) == -1)
		goto fail;
	if (rename(tmp, dst) == -1) {
		mc_err_errno(err, MC_ERR_SYS, "cannot rename %s", tmp);
		goto fail;
	}
	if (mc_fsio_fsync_dir(vdir, err) == -1)
		return -1;
	*number = m.version;
	return 0;
fail:
	store_remove_dir(tmp);
	return -1;
}

/* mc_store_max_version - the highest version number of name (0: none). */
int
mc_store_max_version(const char *state_dir, const char *name, unsigned *max,
		     struct mc_err *err)
{
	char vdir[STORE_PATH_MAX];

	if (store_cert_dir(state_dir, name, "versions", vdir, sizeof(vdir),
			   err) == -1)
		return -1;
	return store_max_version(vdir, max, err);
}

/* store_remove_dir - remove a flat directory of files (best effort). */
void
store_remove_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[STORE_PATH_MAX + 300];

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

/* store_link_version - the version a link "versions/NNNN" names: 1 and
 * *number, 0 if there is no link; a directory or file there instead of a
 * link is an error with the way to fix it. */
static int
store_link_version(const char *state_dir, const char *name, const char *which,
		   unsigned *number, struct mc_err *err)
{
	char link[STORE_PATH_MAX], target[64];
	struct stat st;
	ssize_t n;
	unsigned v;

	if (store_cert_dir(state_dir, name, which, link, sizeof(link), err) ==
	    -1)
		return -1;
	/* one readlink on the path every run takes (renew checks each
	 * cert); lstat only to say what is there instead of a link */
	n = readlink(link, target, sizeof(target) - 1);
	if (n == -1 && errno == ENOENT)
		return 0;
	if (n == -1 && errno == EINVAL && lstat(link, &st) == 0 &&
	    !S_ISLNK(st.st_mode))
		return store_not_a_link(state_dir, name, link, st.st_mode, err);
	if (n == -1)
		return mc_err_errno(err, MC_ERR_SYS, "cannot read %s", link);
	target[n] = '\0';
	v = strncmp(target, "versions/", 9) == 0 ? store_parse_number(target + 9)
						  : 0;
	if (v == 0)
		return mc_err_set(err, MC_ERR_INPUT,
				  "%s points at %s, not at a version; point it "
				  "at one: ln -sfn versions/NNNN %s",
				  link, target, link);
	*number = v;
	return 1;
}

/* store_not_a_link - the error for a copied `current` (cp -r, a backup
 * restored without links): name the path and the command that fixes it. */
static int
store_not_a_link(const char *state_dir, const char *name, const char *link,
		 mode_t mode, struct mc_err *err)
{
	char vdir[STORE_PATH_MAX];
	struct mc_cert_meta meta;
	unsigned v = 0;

	if (S_ISDIR(mode) && store_meta_read(link, &meta, NULL) == 0) {
		v = meta.version;
		mc_store_meta_clear(&meta);
	}
	if (v == 0 && store_cert_dir(state_dir, name, "versions", vdir,
				     sizeof(vdir), NULL) == 0)
		store_max_version(vdir, &v, NULL);
	return mc_err_set(err, MC_ERR_INPUT,
			  "%s is a %s, not a symbolic link to a version (was "
			  "the state directory copied without its links?); "
			  "mailcert stops here so that nothing is ordered or "
			  "deployed twice: fix it with `rm -r %s && ln -s "
			  "versions/%04u %s` (check that version %04u is the "
			  "one you want)",
			  link, S_ISDIR(mode) ? "directory" : "file", link, v,
			  link, v);
}

/* store_record_prior - note in number's meta.json that cur was current
 * when number was made current. */
static int
store_record_prior(const char *state_dir, const char *name, unsigned number,
		   unsigned cur, struct mc_err *err)
{
	struct mc_cert_meta meta;
	int rc = 0;

	if (mc_store_load_meta(state_dir, name, number, &meta, err) == -1)
		return -1;
	/* mc_store_add_version recorded the version current then: most
	 * often this one */
	if (meta.prior != cur) {
		meta.prior = cur;
		rc = mc_store_save_meta(state_dir, name, &meta, err);
	}
	mc_store_meta_clear(&meta);
	return rc;
}

/* store_switch - make version number current (recording its prior when
 * forward). */
static int
store_switch(const char *state_dir, const char *name, unsigned number,
	     bool forward, struct mc_err *err)
{
	char link[STORE_PATH_MAX], target[32], check[STORE_PATH_MAX];
	struct stat st;
	unsigned cur = 0;
	int found;

	mc_store_path(state_dir, name, number, NULL, check, sizeof(check),
		      NULL);
	if (stat(check, &st) == -1 || !S_ISDIR(st.st_mode))
		return mc_err_errno(err, MC_ERR_SYS, "version %04u of %s",
				    number, name);
	found = store_link_version(state_dir, name, "current", &cur, err);
	if (found == -1)
		return -1;
	if (found == 1 && cur == number)
		return 0;
	if (found == 1 && forward &&
	    store_record_prior(state_dir, name, number, cur, err) == -1)
		return -1;
	if (store_cert_dir(state_dir, name, "current", link, sizeof(link),
			   err) == -1)
		return -1;
	snprintf(target, sizeof(target), "versions/%04u", number);
	return mc_fsio_symlink(target, link, err);
}

/* mc_store_set_current - make version number current (a deployment). */
int
mc_store_set_current(const char *state_dir, const char *name, unsigned number,
		     struct mc_err *err)
{
	return store_switch(state_dir, name, number, true, err);
}

/* mc_store_set_current_back - make version number current (a rollback). */
int
mc_store_set_current_back(const char *state_dir, const char *name,
			  unsigned number, struct mc_err *err)
{
	struct mc_cert_meta meta;
	unsigned from = 0;

	if (mc_store_current(state_dir, name, &from, NULL) == -1)
		from = 0;
	if (store_switch(state_dir, name, number, false, err) == -1)
		return -1;
	/* the version rolled back from was current, so it was not left
	 * undone: mark it, or `renew` would deploy it again as a stored
	 * version never verified live (a cert without targets or endpoints
	 * keeps "issued") */
	if (from == 0 || from == number ||
	    mc_store_load_meta(state_dir, name, from, &meta, NULL) == -1)
		return 0;
	if (strcmp(meta.status, "issued") == 0 ||
	    strcmp(meta.status, "imported") == 0) {
		snprintf(meta.status, sizeof(meta.status), "rolled-back");
		if (mc_store_save_meta(state_dir, name, &meta, NULL) == -1)
			mc_log_warn("%s: cannot record version %04u as rolled "
				    "back", name, from);
	}
	mc_store_meta_clear(&meta);
	return 0;
}

/* mc_store_current - the version `current` points at. */
int
mc_store_current(const char *state_dir, const char *name, unsigned *number,
		 struct mc_err *err)
{
	return store_link_version(state_dir, name, "current", number, err);
}

/* store_newest_deployed - the newest version below cur marked deployed. */
static int
store_newest_deployed(const char *state_dir, const char *name, unsigned cur,
		      unsigned *out)
{
	char dir[STORE_PATH_MAX];
	struct mc_cert_meta meta;
	unsigned v;
	bool deployed;

	for (v = cur - 1; v >= 1 && cur > 0; v--) {
		mc_store_path(state_dir, name, v, NULL, dir, sizeof(dir), NULL);
		if (!mc_fsio_exists(dir) || store_meta_read(dir, &meta, NULL) == -1)
			continue;
		deployed = strcmp(meta.status, "deployed") == 0;
		mc_store_meta_clear(&meta);
		if (deployed) {
			*out = v;
			return 1;
		}
	}
	return 0;
}

/* mc_store_prior - the version that was current before cur became current. */
int
mc_store_prior(const char *state_dir, const char *name, unsigned cur,
	       unsigned *out, struct mc_err *err)
{
	char dir[STORE_PATH_MAX];
	struct mc_cert_meta meta;
	unsigned v;

	if (cur == 0)
		return 0;
	if (mc_store_load_meta(state_dir, name, cur, &meta, err) == -1)
		return -1;
	v = meta.prior;
	mc_store_meta_clear(&meta);
	if (v == 0)
		return store_newest_deployed(state_dir, name, cur, out);
	mc_store_path(state_dir, name, v, NULL, dir, sizeof(dir), NULL);
	if (v == cur || !mc_fsio_exists(dir))
		return 0;
	*out = v;
	return 1;
}

/* mc_store_load_meta - read a version's meta.json. */
int
mc_store_load_meta(const char *state_dir, const char *name, unsigned number,
		   struct mc_cert_meta *meta, struct mc_err *err)
{
	char dir[STORE_PATH_MAX];

	if (mc_store_path(state_dir, name, number, NULL, dir, sizeof(dir),
			  err) == -1 ||
	    store_meta_read(dir, meta, err) == -1)
		return -1;
	meta->version = number;
	return 0;
}

/* mc_store_save_meta - rewrite meta.json of meta->version. */
int
mc_store_save_meta(const char *state_dir, const char *name,
		   const struct mc_cert_meta *meta, struct mc_err *err)
{
	char dir[STORE_PATH_MAX];

	if (mc_store_path(state_dir, name, meta->version, NULL, dir,
			  sizeof(dir), err) == -1)
		return -1;
	return store_meta_write(dir, meta, err);
}

/* mc_store_load_key - the private key of a version. */
EVP_PKEY *
mc_store_load_key(const char *state_dir, const char *name, unsigned number,
		  struct mc_err *err)
{
	char path[STORE_PATH_MAX];

	if (mc_store_path(state_dir, name, number, "privkey.pem", path,
			  sizeof(path), err) == -1)
		return NULL;
	return mc_key_load(path, err);
}

/* mc_store_load_chain - leaf and intermediates of a version. */
STACK_OF(X509) *
mc_store_load_chain(const char *state_dir, const char *name, unsigned number,
		    struct mc_err *err)
{
	char path[STORE_PATH_MAX];

	if (mc_store_path(state_dir, name, number, "fullchain.pem", path,
			  sizeof(path), err) == -1)
		return NULL;
	return mc_x509_chain_load(path, err);
}

/* mc_pairs_clear - free the keys and chains of pairs. */
void
mc_pairs_clear(struct mc_pairs *pairs)
{
	size_t i;

	if (pairs == NULL)
		return;
	for (i = 0; i < pairs->n && i < MC_KEY_TYPES_MAX; i++) {
		EVP_PKEY_free(pairs->p[i].key);
		sk_X509_pop_free(pairs->p[i].chain, X509_free);
	}
	memset(pairs, 0, sizeof(*pairs));
}

/* store_load_pair - key (with_key) and fullchain of pair slot of a version. */
static int
store_load_pair(const char *state_dir, const char *name, unsigned number,
		size_t slot, bool with_key, struct mc_pair *pair,
		struct mc_err *err)
{
	char path[STORE_PATH_MAX], file[64];

	mc_pair_file("privkey.pem", slot, pair->type, file, sizeof(file));
	if (with_key &&
	    (mc_store_path(state_dir, name, number, file, path, sizeof(path),
			   err) == -1 ||
	     (pair->key = mc_key_load(path, err)) == NULL))
		return -1;
	mc_pair_file("fullchain.pem", slot, pair->type, file, sizeof(file));
	if (mc_store_path(state_dir, name, number, file, path, sizeof(path),
			  err) == -1 ||
	    (pair->chain = mc_x509_chain_load(path, err)) == NULL)
		return -1;
	return 0;
}

/* mc_store_key_types - the key types of a version. */
int
mc_store_key_types(const char *state_dir, const char *name, unsigned number,
		   enum mc_key_type types[MC_KEY_TYPES_MAX], size_t *n,
		   struct mc_err *err)
{
	struct mc_cert_meta meta;
	size_t i;

	if (mc_store_load_meta(state_dir, name, number, &meta, err) == -1)
		return -1;
	*n = mc_store_meta_pairs(&meta);
	for (i = 0; i < *n; i++)
		types[i] = mc_store_meta_leaf(&meta, i)->key_type;
	mc_store_meta_clear(&meta);
	return 0;
}

/* store_load_pairs - every pair of a version (keys with with_key). */
static int
store_load_pairs(const char *state_dir, const char *name, unsigned number,
		 bool with_key, struct mc_pairs *out, struct mc_err *err)
{
	struct mc_cert_meta meta;
	struct mc_pairs got;
	size_t i;
	int rc = 0;

	memset(&got, 0, sizeof(got));
	if (mc_store_load_meta(state_dir, name, number, &meta, err) == -1)
		return -1;
	got.n = mc_store_meta_pairs(&meta);
	for (i = 0; i < got.n; i++)
		got.p[i].type = mc_store_meta_leaf(&meta, i)->key_type;
	mc_store_meta_clear(&meta);
	for (i = 0; i < got.n && rc == 0; i++)
		rc = store_load_pair(state_dir, name, number, i, with_key,
				     &got.p[i], err);
	if (rc == -1) {
		mc_pairs_clear(&got);
		return -1;
	}
	*out = got;
	return 0;
}

/* mc_store_load_pairs - every pair of a version. */
int
mc_store_load_pairs(const char *state_dir, const char *name, unsigned number,
		    struct mc_pairs *out, struct mc_err *err)
{
	return store_load_pairs(state_dir, name, number, true, out, err);
}

/* mc_store_load_chains - every pair of a version, without the keys. */
int
mc_store_load_chains(const char *state_dir, const char *name, unsigned number,
		     struct mc_pairs *out, struct mc_err *err)
{
	return store_load_pairs(state_dir, name, number, false, out, err);
}
