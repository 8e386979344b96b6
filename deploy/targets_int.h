/*
 * targets_int.h - the files of one target for one cert, shared by
 * targets.c (plan, checks, one-file targets), target_set.c (targets with
 * several files, switched as one set) and drift.c (deploy-internal).
 */
#ifndef MAILCERT_DEPLOY_TARGETS_INT_H
#define MAILCERT_DEPLOY_TARGETS_INT_H

#include <stdbool.h>

#include "mailcert/buf.h"
#include "mailcert/deploy.h"
#include "mailcert/fsio.h"
#include "mailcert/store.h"

#define TKINDS 5 /* chain_file combined_file cert_file fullchain_file key_file */
#define TFILES (TKINDS * MC_KEY_TYPES_MAX)

/* One configured file of the target for one key type, %n and %k expanded. */
struct tfile {
	int kind;      /* index into the kinds table of targets.c */
	size_t slot;   /* the pair it holds (0: the first key type) */
	enum mc_key_type type;
	char member[48]; /* its name in a set version: the kind, with
			    "-ALG" for the second key type */
	char *path;
	char *dir;     /* dirname of path */
	char *base;    /* basename of path */
	bool has_key;  /* the file holds the private key */
};

/* The target's files for one cert: each configured file once per key
 * type (slot-major). With two or more files they form a set: each path is
 * a link "SET/live/MEMBER" into the set directory .mailcert.<cert>.<target>
 * beside the file named by `anchor` (the first file holding the key),
 * whose `live` link is switched with one rename - both pairs of a dual
 * certificate at once. */
struct tplan {
	const struct mc_target *t;
	const char *cert;
	struct mc_fsio_owner owner;
	struct tfile f[TFILES];
	size_t n;
	size_t anchor;
	char set_name[300];
};

/* tplan_init - expand t's files for cert cc and the key types types[0..n)
 * (those of a version, or cc's own; paths follow cc: with two key types
 * each has its own files); with owner, resolve the target's owner and
 * group too (else they stay MC_FSIO_KEEP_OWNER). */
int tplan_init(struct tplan *p, const struct mc_target *t,
	       const struct mc_cert_conf *cc, const enum mc_key_type *types,
	       size_t n, bool owner, struct mc_err *err);

/* tplan_init_cc - tplan_init with cc's own key types. */
int tplan_init_cc(struct tplan *p, const struct mc_target *t,
		  const struct mc_cert_conf *cc, bool owner, struct mc_err *err);

/* tplan_clear - free the paths of p. */
void tplan_clear(struct tplan *p);

/* tkind_key - the config key of a kind ("cert_file", ...). */
const char *tkind_key(int kind);

/* tkind_has_chain - whether a kind holds certificates. */
bool tkind_has_chain(int kind);

/* tcontent - append the bytes of file f (its kind, of its pair in pairs)
 * to out (a secret buffer when it holds the key). */
int tcontent(const struct tfile *f, const struct mc_pairs *pairs,
	     struct mc_buf *out, struct mc_err *err);

/* tfile_mode - the mode of file i: the target's mode with the key, else 0644. */
mode_t tfile_mode(const struct tplan *p, size_t i);

/* tlink_text - the link text that makes path i a member of p's set. */
void tlink_text(const struct tplan *p, size_t i, char *buf, size_t size);

/* tlink_is_ours - whether file i's base in dfd is a link whose text is
 * tlink_text(i); tlink_in_set: a link into the set's live version, of any
 * kind (made when the target was configured otherwise). */
bool tlink_is_ours(const struct tplan *p, size_t i, int dfd);
bool tlink_in_set(const struct tplan *p, size_t i, int dfd);

/* tdir_open - open (creating what is missing) the directory of file i:
 * 0750 with the target's group when a file of the target in it holds the
 * key, else 0755. */
int tdir_open(const struct tplan *p, size_t i, struct mc_err *err);

/* The staged state of one target (mc_deploy_stage). */
struct mc_deploy_staged {
	struct tplan plan;
	bool set;
	struct mc_fsio_pending single;         /* a one-file target */
	int set_fd;                            /* a set: its directory */
	char version[64];                      /* new version directory */
	char snapshot[64];                     /* "" or the snapshot of before */
	struct mc_fsio_pending live_snapshot;  /* live -> snapshot */
	struct mc_fsio_pending links[TFILES];  /* paths that become links */
	struct mc_fsio_pending live;           /* live -> version */
};

/* tset_stage / tset_commit / tset_abort - the set half of
 * mc_deploy_stage/commit/abort. */
int tset_stage(struct mc_deploy_staged *s, unsigned version,
	       const struct mc_pairs *pairs, struct mc_err *err);
int tset_commit(struct mc_deploy_staged *s, bool *changed, struct mc_err *err);
void tset_abort(struct mc_deploy_staged *s);

/* tset_clean - remove the unused version directories and temp links of
 * p's set (when it has one). */
void tset_clean(const struct tplan *p, unsigned *removed);

#endif
