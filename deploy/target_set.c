/*
 * target_set.c - a target with several files (Dovecot and Exim: a key and
 * a certificate) switched as one unit.
 *
 * Beside the first file that holds the key lives the set directory
 * .mailcert.<cert>.<target>/ with one complete version directory
 * vNNNN.<random>/ (a file per kind: key_file, cert_file, ...; for the
 * second key type of a dual certificate key_file-ALG, cert_file-ALG, ...)
 * and the link `live` -> vNNNN.<random>. Each configured path is a link
 * to .mailcert.<cert>.<target>/live/<member> (absolute when it lives in
 * another directory). Switching a deployment is one rename of `live`, so
 * a daemon that opens the keys and the certificates can only ever see all
 * old or all new, whenever mailcert is killed. The first key type keeps
 * the plain member names, so the links of a target that was single-key
 * before stay valid (and hold the first key type) after it turns dual.
 *
 * The first deployment to paths that are still regular files (or missing)
 * converts them without changing what a daemon reads: a snapshot version
 * holds the files as they are, `live` points at it, each path becomes its
 * link, and only then is `live` switched to the new version.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "deploy/targets_int.h"

#define SET_FILE_MAX (1024 * 1024)
#define SET_HEX 12

/* set_path - "ANCHORDIR/SET" into buf (for messages). */
static void
set_path(const struct tplan *p, char *buf, size_t size)
{
	snprintf(buf, size, "%s/%s", p->f[p->anchor].dir, p->set_name);
}

/* set_version_name - "vNNNN.<12 random hex>" into buf. */
static void
set_version_name(unsigned version, char *buf, size_t size)
{
	unsigned char r[SET_HEX / 2] = {0};
	char hex[SET_HEX + 1];
	size_t i;

	if (RAND_bytes(r, sizeof(r)) != 1) {
		unsigned long v = (unsigned long)getpid() ^ (unsigned long)time(NULL);
		memcpy(r, &v, sizeof(r) < sizeof(v) ? sizeof(r) : sizeof(v));
	}
	for (i = 0; i < sizeof(r); i++)
		snprintf(hex + 2 * i, 3, "%02x", r[i]);
	snprintf(buf, size, "v%04u.%s", version, hex);
}

/* set_is_version - whether name is a version directory of ours. */
static bool
set_is_version(const char *name)
{
	const char *dot = strchr(name, '.');
	size_t digits, i;

	if (name[0] != 'v' || dot == NULL)
		return false;
	digits = (size_t)(dot - name - 1);
	if (digits < 4 || strspn(name + 1, "0123456789") != digits ||
	    strlen(dot + 1) != SET_HEX)
		return false;
	for (i = 1; i <= SET_HEX; i++)
		if (strchr("0123456789abcdef", dot[i]) == NULL)
			return false;
	return true;
}

/* set_live_target - what `live` points at into buf; false if nothing
 * usable (missing, or not a directory of ours). */
static bool
set_live_target(int set_fd, char *buf, size_t size)
{
	struct stat st;
	ssize_t n = readlinkat(set_fd, "live", buf, size - 1);

	if (n < 0)
		return false;
	buf[n] = '\0';
	return set_is_version(buf) && fstatat(set_fd, buf, &st, 0) == 0 &&
	       S_ISDIR(st.st_mode);
}

/* set_write_version - directory name in the set with each file of the
 * plan (key/chain content, or the bytes of what is there now when
 * snapshot is set), all synced. */
static int
set_write_version(struct mc_deploy_staged *s, const char *name, bool snapshot,
		  const struct mc_pairs *pairs, struct mc_err *err)
{
	const struct tplan *p = &s->plan;
	char where[4400], *old;
	struct mc_buf data;
	size_t i, len;
	int vfd, rc = 0;

	set_path(p, where, sizeof(where));
	vfd = mc_fsio_subdir(s->set_fd, where, name, true, 0755,
			     MC_FSIO_KEEP_OWNER, NULL, err);
	if (vfd == -1)
		return -1;
	for (i = 0; i < p->n && rc == 0; i++) {
		mc_buf_init(&data, 0);
		if (!snapshot) {
			rc = tcontent(&p->f[i], pairs, &data, err);
		} else if (mc_fsio_read(p->f[i].path, SET_FILE_MAX, &old, &len,
					NULL) == 0) {
			rc = mc_buf_append(&data, old, len, err);
			OPENSSL_clear_free(old, len);
		} else {
			continue; /* missing now: missing in the snapshot */
		}
		if (rc == 0)
			rc = mc_fsio_create_at(vfd, where, p->f[i].member,
					       data.data, data.len,
					       tfile_mode(p, i), p->owner, err);
		mc_buf_clear_free(&data);
	}
	if (rc == 0 && fsync(vfd) == -1)
		rc = mc_err_errno(err, MC_ERR_SYS, "cannot sync %s/%s", where,
				  name);
	close(vfd);
	return rc;
}

/* set_check_path - file i may become our link: missing, a regular file,
 * a link into our set, or (allow_symlink) another link. *link: it must. */
static int
set_check_path(const struct tplan *p, size_t i, int dfd, bool *link,
	       struct mc_err *err)
{
	struct stat st;

	*link = !tlink_is_ours(p, i, dfd);
	if (!*link || fstatat(dfd, p->f[i].base, &st, AT_SYMLINK_NOFOLLOW) == -1)
		return 0;
	if (S_ISREG(st.st_mode) ||
	    (S_ISLNK(st.st_mode) &&
	     (p->t->allow_symlink || tlink_in_set(p, i, dfd))))
		return 0;
	return mc_err_set(err, MC_ERR_DEPLOY,
			  "%s is %s; remove it%s", p->f[i].path,
			  S_ISLNK(st.st_mode) ? "a symbolic link"
					      : "not a regular file",
			  S_ISLNK(st.st_mode) ? " or set allow_symlink = yes" : "");
}

/* set_stage_links - check every path, snapshot what is there when the set
 * has no usable `live` yet, and stage the links of the paths. */
static int
set_stage_links(struct mc_deploy_staged *s, int *fds, struct mc_err *err)
{
	const struct tplan *p = &s->plan;
	char text[4400], live[64], where[4400];
	bool link[TFILES], any = false;
	size_t i;

	for (i = 0; i < p->n; i++) {
		if (set_check_path(p, i, fds[i], &link[i], err) == -1)
			return -1;
		any = any || link[i];
	}
	if (any && !set_live_target(s->set_fd, live, sizeof(live))) {
		set_path(p, where, sizeof(where));
		set_version_name(0, s->snapshot, sizeof(s->snapshot));
		if (set_write_version(s, s->snapshot, true, NULL, err) == -1 ||
		    mc_fsio_stage_symlink_at(s->set_fd, where, "live",
					     s->snapshot, &s->live_snapshot,
					     err) == -1)
			return -1;
	}
	for (i = 0; i < p->n; i++) {
		if (!link[i])
			continue;
		tlink_text(p, i, text, sizeof(text));
		if (mc_fsio_stage_symlink_at(fds[i], p->f[i].dir, p->f[i].base,
					     text, &s->links[i], err) == -1)
			return -1;
	}
	return 0;
}

/* tset_stage - everything a switch of the set needs, nothing switched. */
int
tset_stage(struct mc_deploy_staged *s, unsigned version,
	   const struct mc_pairs *pairs, struct mc_err *err)
{
	struct tplan *p = &s->plan;
	char where[4400];
	int fds[TFILES];
	size_t i;
	int rc = -1;

	for (i = 0; i < TFILES; i++)
		fds[i] = -1;
	for (i = 0; i < p->n; i++)
		if ((fds[i] = tdir_open(p, i, err)) == -1)
			goto out;
	s->set_fd = mc_fsio_subdir(fds[p->anchor], p->f[p->anchor].dir,
				   p->set_name, true, 0755, MC_FSIO_KEEP_OWNER,
				   NULL, err);
	if (s->set_fd == -1 || set_stage_links(s, fds, err) == -1)
		goto out;
	set_path(p, where, sizeof(where));
	set_version_name(version, s->version, sizeof(s->version));
	if (set_write_version(s, s->version, false, pairs, err) == -1 ||
	    mc_fsio_stage_symlink_at(s->set_fd, where, "live", s->version,
				     &s->live, err) == -1)
		goto out;
	rc = 0;
out:
	for (i = 0; i < p->n; i++)
		if (fds[i] != -1)
			close(fds[i]);
	return rc;
}

/* set_remove_unused - every version directory but the live one, and our
 * stale temp links of `live`. */
static void
set_remove_unused(int set_fd, const char *where, unsigned *removed)
{
	static const char *const live_base[] = {"live"};
	char live[64] = "";
	struct dirent *e;
	DIR *d = mc_fsio_dirstream(set_fd);

	if (d == NULL)
		return;
	if (!set_live_target(set_fd, live, sizeof(live)))
		live[0] = '\0';
	while ((e = readdir(d)) != NULL)
		if (set_is_version(e->d_name) && strcmp(e->d_name, live) != 0 &&
		    mc_fsio_remove_flat_at(set_fd, e->d_name, NULL) == 0 &&
		    removed != NULL)
			(*removed)++;
	closedir(d);
	mc_fsio_remove_temps(set_fd, where, live_base, 1, removed, NULL);
}

/* tset_commit - the links of the paths first, then `live`: one rename. */
int
tset_commit(struct mc_deploy_staged *s, bool *changed, struct mc_err *err)
{
	char live[64], where[4400];
	size_t i;
	int rc = -1;

	if (s->live_snapshot.dfd != -1 &&
	    mc_fsio_commit(&s->live_snapshot, err) == -1)
		goto fail;
	for (i = 0; i < s->plan.n; i++)
		if (s->links[i].dfd != -1 &&
		    mc_fsio_commit(&s->links[i], err) == -1)
			goto fail;
	rc = mc_fsio_commit(&s->live, err);
fail:
	if (set_live_target(s->set_fd, live, sizeof(live)) &&
	    strcmp(live, s->version) == 0)
		*changed = true;
	if (rc == -1) {
		tset_abort(s);
		return -1;
	}
	set_path(&s->plan, where, sizeof(where));
	set_remove_unused(s->set_fd, where, NULL);
	return 0;
}

/* tset_abort - remove what the stage made and no link points at. */
void
tset_abort(struct mc_deploy_staged *s)
{
	char live[64] = "";
	size_t i;

	mc_fsio_abort(&s->live_snapshot);
	mc_fsio_abort(&s->live);
	for (i = 0; i < TFILES; i++)
		mc_fsio_abort(&s->links[i]);
	if (s->set_fd == -1)
		return;
	if (!set_live_target(s->set_fd, live, sizeof(live)))
		live[0] = '\0';
	if (s->version[0] != '\0' && strcmp(s->version, live) != 0)
		mc_fsio_remove_flat_at(s->set_fd, s->version, NULL);
	if (s->snapshot[0] != '\0' && strcmp(s->snapshot, live) != 0)
		mc_fsio_remove_flat_at(s->set_fd, s->snapshot, NULL);
}

/* tset_clean - the unused versions and temp links of p's set. */
void
tset_clean(const struct tplan *p, unsigned *removed)
{
	char where[4400];
	int afd, sfd;

	afd = mc_fsio_open_dir(p->f[p->anchor].dir, false, 0,
			       MC_FSIO_KEEP_OWNER, NULL);
	if (afd == -1)
		return;
	set_path(p, where, sizeof(where));
	sfd = mc_fsio_subdir(afd, p->f[p->anchor].dir, p->set_name, false, 0,
			     MC_FSIO_KEEP_OWNER, NULL, NULL);
	close(afd);
	if (sfd == -1)
		return;
	set_remove_unused(sfd, where, removed);
	close(sfd);
}

/* mc_deploy_set_of_link - the set directory a link of cert points into. */
bool
mc_deploy_set_of_link(const char *path, const char *cert, char *buf,
		      size_t size)
{
	char text[4400], prefix[300], *live, *set;
	ssize_t n = readlink(path, text, sizeof(text) - 1);
	size_t dirlen;

	if (n <= 0)
		return false;
	text[n] = '\0';
	live = strstr(text, "/live/");
	if (live == NULL || strchr(live + 6, '/') != NULL)
		return false;
	*live = '\0';
	set = strrchr(text, '/');
	set = set ? set + 1 : text;
	snprintf(prefix, sizeof(prefix), ".mailcert.%s.", cert);
	if (strncmp(set, prefix, strlen(prefix)) != 0 ||
	    set[strlen(prefix)] == '\0')
		return false;
	if (text[0] == '/') {
		snprintf(buf, size, "%s", text);
		return true;
	}
	dirlen = strrchr(path, '/') ? (size_t)(strrchr(path, '/') - path) : 0;
	snprintf(buf, size, "%.*s%s%s", (int)dirlen, path, dirlen ? "/" : "",
		 text);
	return true;
}

/* mc_deploy_remove_set - remove a set directory with its versions. */
int
mc_deploy_remove_set(const char *setdir, struct mc_err *err)
{
	char *copy = strdup(setdir), *base;
	struct dirent *e;
	DIR *d;
	int pfd = -1, sfd = -1, rc = -1;

	if (copy == NULL)
		return mc_err_errno(err, MC_ERR_SYS, "out of memory");
	base = strrchr(copy, '/');
	if (base == NULL || base[1] == '\0') {
		mc_err_set(err, MC_ERR_INPUT, "%s is not a set directory", setdir);
		goto out;
	}
	*base++ = '\0';
	pfd = mc_fsio_open_dir(copy[0] ? copy : "/", false, 0,
			       MC_FSIO_KEEP_OWNER, err);
	if (pfd == -1 || (sfd = mc_fsio_subdir(pfd, copy, base, false, 0,
					       MC_FSIO_KEEP_OWNER, NULL,
					       err)) == -1)
		goto out;
	d = mc_fsio_dirstream(sfd);
	while (d != NULL && (e = readdir(d)) != NULL) {
		if (set_is_version(e->d_name))
			mc_fsio_remove_flat_at(sfd, e->d_name, NULL);
		else if (strcmp(e->d_name, "live") == 0 ||
			 mc_fsio_is_temp(e->d_name, "live"))
			unlinkat(sfd, e->d_name, 0);
	}
	if (d != NULL)
		closedir(d);
	if (unlinkat(pfd, base, AT_REMOVEDIR) == -1 || fsync(pfd) == -1)
		mc_err_errno(err, MC_ERR_SYS, "cannot remove %s", setdir);
	else
		rc = 0;
out:
	if (sfd != -1)
		close(sfd);
	if (pfd != -1)
		close(pfd);
	free(copy);
	return rc;
}
