/*
 * targets.c - the files of a deploy target: plan, checks, content, and the
 * stage/commit of one-file targets (sets of files: target_set.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libgen.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mailcert/crypto.h"
#include "deploy/targets_int.h"

enum content { C_KEY_CHAIN, C_CHAIN, C_KEY };

struct file_kind {
	const char *key; /* config key, for messages and set member names */
	size_t offset;   /* of the path in struct mc_target */
	enum content content;
};

static const struct file_kind kinds[TKINDS] = {
	{"chain_file", offsetof(struct mc_target, chain_file), C_KEY_CHAIN},
	{"combined_file", offsetof(struct mc_target, combined_file), C_KEY_CHAIN},
	{"cert_file", offsetof(struct mc_target, cert_file), C_CHAIN},
	{"fullchain_file", offsetof(struct mc_target, fullchain_file), C_CHAIN},
	{"key_file", offsetof(struct mc_target, key_file), C_KEY},
};

/* kind_path - the configured path template of kind k in t, or NULL. */
static const char *
kind_path(const struct mc_target *t, size_t k)
{
	return *(char *const *)((const char *)t + kinds[k].offset);
}

/* tkind_key - the config key of a kind. */
const char *
tkind_key(int kind)
{
	return kinds[kind].key;
}

/* tkind_has_chain - whether a kind holds certificates. */
bool
tkind_has_chain(int kind)
{
	return kinds[kind].content != C_KEY;
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

/* tfile_set - fill f for kind k of pair slot (type) from the expanded
 * path (taken). */
static int
tfile_set(struct tfile *f, int k, size_t slot, enum mc_key_type type,
	  char *path, struct mc_err *err)
{
	char *a = strdup(path), *b = strdup(path);

	f->kind = k;
	f->slot = slot;
	f->type = type;
	f->path = path;
	f->has_key = kinds[k].content != C_CHAIN;
	if (slot == 0)
		snprintf(f->member, sizeof(f->member), "%s", kinds[k].key);
	else
		snprintf(f->member, sizeof(f->member), "%s-%s", kinds[k].key,
			 mc_key_type_alg(type));
	f->dir = a ? strdup(dirname(a)) : NULL;
	f->base = b ? strdup(basename(b)) : NULL;
	free(a);
	free(b);
	if (f->dir == NULL || f->base == NULL)
		return mc_err_errno(err, MC_ERR_SYS, "out of memory");
	return 0;
}

/* tplan_add - the files of t for pair slot of type. */
static int
tplan_add(struct tplan *p, const struct mc_cert_conf *cc, size_t slot,
	  enum mc_key_type type, struct mc_err *err)
{
	char *path;
	size_t k;

	for (k = 0; k < TKINDS; k++) {
		if (kind_path(p->t, k) == NULL)
			continue;
		path = mc_target_expand(p->t, kind_path(p->t, k), cc->name, type,
					mc_cert_dual(cc), err);
		if (path == NULL)
			return -1;
		if (tfile_set(&p->f[p->n++], (int)k, slot, type, path, err) ==
		    -1)
			return -1;
	}
	return 0;
}

/* tplan_init - expand the files of t for cert cc and key types. */
int
tplan_init(struct tplan *p, const struct mc_target *t,
	   const struct mc_cert_conf *cc, const enum mc_key_type *types,
	   size_t n, bool owner, struct mc_err *err)
{
	size_t k;

	memset(p, 0, sizeof(*p));
	p->t = t;
	p->cert = cc->name;
	p->owner = MC_FSIO_KEEP_OWNER;
	if (owner && targets_owner(t, &p->owner, err) == -1)
		return -1;
	for (k = 0; k < n && k < MC_KEY_TYPES_MAX; k++)
		if (tplan_add(p, cc, k, types[k], err) == -1) {
			tplan_clear(p);
			return -1;
		}
	if (p->n == 0)
		return mc_err_set(err, MC_ERR_DEPLOY,
				  "target %s has no file to write", t->name);
	for (k = p->n; k > 0; k--)
		if (p->f[k - 1].has_key)
			p->anchor = k - 1;
	snprintf(p->set_name, sizeof(p->set_name), ".mailcert.%s.%s", cc->name,
		 t->name);
	return 0;
}

/* tplan_init_cc - tplan_init with cc's own key types. */
int
tplan_init_cc(struct tplan *p, const struct mc_target *t,
	      const struct mc_cert_conf *cc, bool owner, struct mc_err *err)
{
	return tplan_init(p, t, cc, cc->key_types, cc->n_key_types, owner, err);
}

/* tplan_clear - free the paths. */
void
tplan_clear(struct tplan *p)
{
	size_t i;

	for (i = 0; i < p->n; i++) {
		free(p->f[i].path);
		free(p->f[i].dir);
		free(p->f[i].base);
	}
	p->n = 0;
}

/* tfile_mode - the mode of file i. */
mode_t
tfile_mode(const struct tplan *p, size_t i)
{
	return p->f[i].has_key ? p->t->mode : 0644;
}

/* tlink_text - "SET/live/KIND", relative when the path is beside the set. */
void
tlink_text(const struct tplan *p, size_t i, char *buf, size_t size)
{
	const struct tfile *a = &p->f[p->anchor];

	if (strcmp(p->f[i].dir, a->dir) == 0)
		snprintf(buf, size, "%s/live/%s", p->set_name, p->f[i].member);
	else
		snprintf(buf, size, "%s/%s/live/%s", a->dir, p->set_name,
			 p->f[i].member);
}

/* tlink_read - the link at file i's path, and the text it must have
 * (want, cut after "SET/live/" with prefix). */
static bool
tlink_read(const struct tplan *p, size_t i, int dfd, bool prefix, char *got,
	   char *want, size_t size)
{
	ssize_t n = readlinkat(dfd, p->f[i].base, got, size - 1);
	char *cut;

	if (n < 0)
		return false;
	got[n] = '\0';
	tlink_text(p, i, want, size);
	cut = strrchr(want, '/');
	if (prefix && cut != NULL)
		cut[1] = '\0';
	return true;
}

/* tlink_is_ours - whether file i's path is the link our set put there. */
bool
tlink_is_ours(const struct tplan *p, size_t i, int dfd)
{
	char want[4400], got[4400];

	return tlink_read(p, i, dfd, false, got, want, sizeof(got)) &&
	       strcmp(got, want) == 0;
}

/* tlink_in_set - whether file i's path is a link into our set's live
 * version, of any kind (the target may have been configured otherwise). */
bool
tlink_in_set(const struct tplan *p, size_t i, int dfd)
{
	char want[4400], got[4400];
	size_t len;

	if (!tlink_read(p, i, dfd, true, got, want, sizeof(got)))
		return false;
	len = strlen(want);
	return strncmp(got, want, len) == 0 && strchr(got + len, '/') == NULL;
}

/* tdir_open - the directory of file i, made when missing (0750 with the
 * group when any file of the target in it holds the key). */
int
tdir_open(const struct tplan *p, size_t i, struct mc_err *err)
{
	bool grouped = false;
	struct mc_fsio_owner o;
	size_t j;

	for (j = 0; j < p->n && p->owner.gid != (gid_t)-1; j++)
		if (p->f[j].has_key && strcmp(p->f[j].dir, p->f[i].dir) == 0)
			grouped = true;
	o.uid = (uid_t)-1;
	o.gid = grouped ? p->owner.gid : (gid_t)-1;

	return mc_fsio_open_dir(p->f[i].dir, true, grouped ? 0750 : 0755, o,
				err);
}

/* tcontent - the bytes of file f from its pair. */
int
tcontent(const struct tfile *f, const struct mc_pairs *pairs,
	 struct mc_buf *out, struct mc_err *err)
{
	enum content c = kinds[f->kind].content;
	const struct mc_pair *pair;

	if (f->slot >= pairs->n)
		return mc_err_set(err, MC_ERR_INPUT, "no %s key in this version",
				  mc_key_type_alg(f->type));
	pair = &pairs->p[f->slot];
	if (c != C_CHAIN && mc_key_to_pem(pair->key, out, err) == -1)
		return -1;
	if (c != C_KEY && mc_x509_chain_pem(pair->chain, 0, out, err) == -1)
		return -1;
	return 0;
}

/* targets_dir_writable - the nearest existing ancestor of path's directory
 * is a writable directory (so missing parts can be created). */
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

/* tfile_link_ours - whether file i is the link of our set (by path). */
static bool
tfile_link_ours(const struct tplan *p, size_t i)
{
	int dfd = open(p->f[i].dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	bool ours = dfd != -1 && tlink_in_set(p, i, dfd);

	if (dfd != -1)
		close(dfd);
	return ours;
}

/* targets_check_file - file i: not a foreign symlink (unless allowed), a
 * regular file if present, and a writable place. */
static int
targets_check_file(const struct tplan *p, size_t i, struct mc_err *err)
{
	const struct mc_target *t = p->t;
	const char *key = p->f[i].member, *path = p->f[i].path;
	struct stat st;

	if (lstat(path, &st) == 0) {
		if (S_ISLNK(st.st_mode) && !t->allow_symlink &&
		    !tfile_link_ours(p, i))
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
mc_deploy_check(const struct mc_target *t, const struct mc_cert_conf *cc,
		struct mc_err *err)
{
	struct tplan p;
	size_t i;
	int rc = 0;

	if (tplan_init_cc(&p, t, cc, true, err) == -1)
		return -1;
	for (i = 0; i < p.n && rc == 0; i++)
		rc = targets_check_file(&p, i, err);
	tplan_clear(&p);
	return rc;
}

/* single_stage - a one-file target: the temp file beside it. */
static int
single_stage(struct mc_deploy_staged *s, const struct mc_pairs *pairs,
	     struct mc_err *err)
{
	const struct tplan *p = &s->plan;
	const struct tfile *f = &p->f[0];
	struct mc_buf data;
	int dfd, rc = -1;

	mc_buf_init(&data, 0);
	dfd = tdir_open(p, 0, err);
	if (dfd == -1 || tcontent(f, pairs, &data, err) == -1)
		goto out;
	rc = mc_fsio_stage_at(dfd, f->dir, f->base, data.data, data.len,
			      tfile_mode(p, 0), p->owner,
			      p->t->allow_symlink || tlink_in_set(p, 0, dfd),
			      &s->single, err);
out:
	if (dfd != -1)
		close(dfd);
	mc_buf_clear_free(&data);
	return rc;
}

/* staged_free - release a staged target (after commit or abort). */
static void
staged_free(struct mc_deploy_staged *s)
{
	if (s->set_fd != -1)
		close(s->set_fd);
	tplan_clear(&s->plan);
	free(s);
}

/* pairs_types - the key types of pairs into types. */
static void
pairs_types(const struct mc_pairs *pairs, enum mc_key_type *types)
{
	size_t i;

	for (i = 0; i < pairs->n && i < MC_KEY_TYPES_MAX; i++)
		types[i] = pairs->p[i].type;
}

/* mc_deploy_stage - write everything a switch of t needs, changing
 * nothing a daemon reads. */
int
mc_deploy_stage(const struct mc_target *t, const struct mc_cert_conf *cc,
		unsigned version, const struct mc_pairs *pairs,
		struct mc_deploy_staged **out, struct mc_err *err)
{
	struct mc_deploy_staged *s = calloc(1, sizeof(*s));
	enum mc_key_type types[MC_KEY_TYPES_MAX];
	int rc;

	if (s == NULL)
		return mc_err_errno(err, MC_ERR_SYS, "out of memory");
	s->set_fd = -1;
	s->single.dfd = s->live.dfd = s->live_snapshot.dfd = -1;
	for (size_t i = 0; i < TFILES; i++)
		s->links[i].dfd = -1;
	pairs_types(pairs, types);
	if (tplan_init(&s->plan, t, cc, types, pairs->n, true, err) == -1) {
		free(s);
		return mc_err_prefix(err, "target %s", t->name);
	}
	s->set = s->plan.n > 1;
	rc = s->set ? tset_stage(s, version, pairs, err)
		    : single_stage(s, pairs, err);
	if (rc == -1) {
		mc_err_prefix(err, "target %s", t->name);
		mc_deploy_abort(s);
		return -1;
	}
	*out = s;
	return 0;
}

/* mc_deploy_commit - make the staged files what the daemon reads. */
int
mc_deploy_commit(struct mc_deploy_staged *s, bool *changed, struct mc_err *err)
{
	int rc;

	if (s->set) {
		rc = tset_commit(s, changed, err);
	} else {
		rc = mc_fsio_commit(&s->single, err);
		*changed = *changed || rc == 0;
	}
	if (rc == -1)
		mc_err_prefix(err, "target %s", s->plan.t->name);
	staged_free(s);
	return rc;
}

/* mc_deploy_abort - undo a stage; NULL is a no-op. */
void
mc_deploy_abort(struct mc_deploy_staged *s)
{
	if (s == NULL)
		return;
	if (s->set)
		tset_abort(s);
	else
		mc_fsio_abort(&s->single);
	staged_free(s);
}

/* mc_deploy_write - stage and commit t. */
int
mc_deploy_write(const struct mc_target *t, const struct mc_cert_conf *cc,
		const struct mc_pairs *pairs, struct mc_err *err)
{
	struct mc_deploy_staged *s = NULL;
	bool changed = false;

	if (mc_deploy_stage(t, cc, 0, pairs, &s, err) == -1)
		return -1;
	return mc_deploy_commit(s, &changed, err);
}

/* mc_deploy_clean - remove our stale temp files beside t's files and the
 * unused versions of its set. */
int
mc_deploy_clean(const struct mc_target *t, const struct mc_cert_conf *cc,
		unsigned *removed, struct mc_err *err)
{
	const char *bases[TFILES];
	struct tplan p;
	size_t i, j, n;
	int dfd;

	if (tplan_init_cc(&p, t, cc, false, err) == -1)
		return -1;
	for (i = 0; i < p.n; i++) {
		for (j = n = 0; j < p.n; j++)
			if (strcmp(p.f[j].dir, p.f[i].dir) == 0)
				bases[n++] = p.f[j].base;
		dfd = mc_fsio_open_dir(p.f[i].dir, false, 0,
				       MC_FSIO_KEEP_OWNER, NULL);
		if (dfd == -1)
			continue;
		mc_fsio_remove_temps(dfd, p.f[i].dir, bases, n, removed, NULL);
		close(dfd);
	}
	if (p.n > 1)
		tset_clean(&p, removed);
	tplan_clear(&p);
	return 0;
}
