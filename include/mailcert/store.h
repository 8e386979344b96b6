/*
 * store.h - the versioned certificate store and the ACME account state.
 *
 * Layout (INTERFACE.md):
 *   state_dir/accounts/<directory host + path>/account.key (0600), account.json
 *   state_dir/certs/<name>/versions/<NNNN>/{privkey.pem (0600), cert.pem,
 *       chain.pem, fullchain.pem, meta.json}
 *   a dual version (two key types) also holds the second pair as
 *       privkey-ALG.pem (0600), cert-ALG.pem, chain-ALG.pem and
 *       fullchain-ALG.pem (ALG: ecdsa or rsa, mc_pair_file); the plain
 *       names are always the first key type's, so a single-key version
 *       is exactly as before and certbot-style readers see one pair
 *   state_dir/certs/<name>/current -> versions/<NNNN>
 *   state_dir/certs/<name>/journal.json  (0600; a deployment in progress)
 *   state_dir/certs/<name>/pending.json  (0600; targets not yet live)
 *
 * A version directory is written completely under a temporary name
 * (versions/.new-NNNN.PID), every file fsync'ed, then renamed into place;
 * `current` is switched last with an atomic symlink rename, after the
 * new version's meta.json recorded the version it replaces ("prior"), so
 * that rollbacks walk back the way deployments went. A crash leaves the
 * previous version current. `current` must be a symbolic link: a
 * directory there (a state dir copied with cp -r) is an MC_ERR_INPUT error
 * that names the path and the command that fixes it, so nothing is ordered
 * or deployed on top of it. Nothing here talks to the network.
 *
 * state_dir/renew-index caches what `renew` needs of every current
 * version (deploy/store_index.c); an entry is used only while the
 * meta.json it was made from is unchanged (inode, size, mtime).
 *
 * Errors: MC_ERR_SYS (paths with errno text), MC_ERR_INPUT (a damaged
 * meta.json or key file, naming the file).
 */
#ifndef MAILCERT_STORE_H
#define MAILCERT_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "mailcert/config.h"
#include "mailcert/err.h"

struct mc_cert_meta {
	unsigned version;
	char **names;
	size_t n_names;
	enum mc_key_type key_type;
	char serial[128];
	char sha256[65];      /* of the leaf DER */
	char spki_sha256[65]; /* of the public key */
	char issuer[256];
	time_t not_before;
	time_t not_after;
	time_t issued_at;
	char *directory;
	char *order_url;
	char *cert_url;
	char *ari_cert_id;
	time_t ari_renew_at;   /* 0: none chosen */
	time_t ari_next_poll;  /* 0: poll at will */
	char status[16];       /* "issued", "deployed", "failed", "revoked" */
	char *last_error;      /* NULL unless failed */
	unsigned prior;        /* the version current when a deployment made
				  this one current (0: none): what rollback
				  goes back to */
	char revocation_reason[32]; /* RFC 5280 name, e.g. "keyCompromise"; "" none */
	time_t revoked_at;            /* 0: not revoked by mailcert */
	struct mc_cert_meta *second;  /* a dual version: the second pair's
					 certificate facts (key_type, serial,
					 hashes, issuer, validity, order and
					 cert URL, ARI); NULL otherwise. Owned
					 (freed by mc_store_meta_clear); in
					 meta.json as "second" */
};

/* One private key and its certificate chain (leaf first). */
struct mc_pair {
	enum mc_key_type type;
	EVP_PKEY *key;
	STACK_OF(X509) *chain;
};

/* The pairs of a version: one, or two for a dual certificate, in the
 * order of its key types (p[1] is what meta->second describes). */
struct mc_pairs {
	struct mc_pair p[MC_KEY_TYPES_MAX];
	size_t n;
};

/* mc_pairs_clear - free the keys and chains of pairs and zero it. */
void mc_pairs_clear(struct mc_pairs *pairs);

/* mc_store_meta_leaf - the facts of pair slot of meta (slot 0: meta
 * itself, 1: meta->second), or NULL. Borrowed. */
const struct mc_cert_meta *mc_store_meta_leaf(const struct mc_cert_meta *meta,
					      size_t slot);

/* mc_store_meta_pairs - how many pairs the version of meta holds (1 or 2). */
size_t mc_store_meta_pairs(const struct mc_cert_meta *meta);

/* mc_store_meta_earliest - the facts of the leaf of meta that expires
 * first (meta itself for a single-key version): a dual version is as
 * old as its older certificate. Borrowed. */
const struct mc_cert_meta *
mc_store_meta_earliest(const struct mc_cert_meta *meta);

/* mc_store_meta_clear - free the members of meta. */
void mc_store_meta_clear(struct mc_cert_meta *meta);

/* mc_store_meta_fill - fill the certificate facts of meta from the chain
 * (serial, hashes, issuer, validity, ARI certID); names etc. are the caller's. */
int mc_store_meta_fill(struct mc_cert_meta *meta, STACK_OF(X509) *chain,
		       struct mc_err *err);

/* mc_store_add_version - write a complete new version (not yet current)
 * holding pairs (one, or two with meta->second describing the second);
 * sets *number: the next free number, or exactly meta->version when it is
 * not 0 (fleet mode: the number the fleet gave the version; MC_ERR_INPUT
 * when that version exists). */
int mc_store_add_version(const char *state_dir, const char *name,
			 const struct mc_pairs *pairs,
			 const struct mc_cert_meta *meta, unsigned *number,
			 struct mc_err *err);

/* mc_store_max_version - the highest version number of name (0: none). */
int mc_store_max_version(const char *state_dir, const char *name,
			 unsigned *max, struct mc_err *err);

/* mc_store_set_current - atomically make version number current; when
 * it replaces another, number's meta.json records that one as its prior
 * first. */
int mc_store_set_current(const char *state_dir, const char *name,
			 unsigned number, struct mc_err *err);

/* mc_store_set_current_back - the same for a rollback: number becomes
 * current again and keeps its prior, so a further rollback goes further
 * back. */
int mc_store_set_current_back(const char *state_dir, const char *name,
			      unsigned number, struct mc_err *err);

/* mc_store_current - the current version: 1 and *number, 0 if none, -1 error. */
int mc_store_current(const char *state_dir, const char *name, unsigned *number,
		     struct mc_err *err);

/* mc_store_prior - the version that was current before cur became
 * current (cur's prior; for state written before priors were recorded:
 * the newest version below cur that was verified live, status
 * "deployed"): 1 and *out, 0 if none, -1 error. The caller judges its
 * status (revoked, failed). */
int mc_store_prior(const char *state_dir, const char *name, unsigned cur,
		   unsigned *out, struct mc_err *err);

/*
 * The deployment journal: written (atomically) before the first file of a
 * target changes and removed once the outcome is settled - verified live,
 * or rolled back and verified. Finding it means a run was interrupted.
 */
struct mc_store_journal {
	char op[16];     /* "deploy", "rollback", "repair" */
	unsigned to;     /* the version being made live */
	unsigned from;   /* the version to go back to if that fails; 0: none */
	time_t started;
	long pid;
};

/* mc_store_journal_read - 1 and *j, 0 if there is none, -1 error. */
int mc_store_journal_read(const char *state_dir, const char *name,
			  struct mc_store_journal *j, struct mc_err *err);

/* mc_store_journal_write - write journal.json atomically (0600). */
int mc_store_journal_write(const char *state_dir, const char *name,
			   const struct mc_store_journal *j, struct mc_err *err);

/* mc_store_journal_clear - remove journal.json (durably); 0 if absent. */
int mc_store_journal_clear(const char *state_dir, const char *name,
			   struct mc_err *err);

/* mc_store_clean - remove what interrupted runs left in the state of cert
 * name: versions/.new-NNNN.PID directories and our ".FILE.<12 hex>" temp
 * files (some hold private keys) in the cert's directory and versions.
 * Only names of exactly our patterns; call it under the lock. *removed
 * (may be NULL) is increased by their number. */
int mc_store_clean(const char *state_dir, const char *name, unsigned *removed,
		   struct mc_err *err);

/* mc_store_clean_accounts - the same for the temp files of accounts/. */
int mc_store_clean_accounts(const char *state_dir, unsigned *removed,
			    struct mc_err *err);

/* mc_store_last_version - the highest version number stored for name
 * (*max 0 when there is none; lower numbers may be gone). */
int mc_store_last_version(const char *state_dir, const char *name,
			  unsigned *max, struct mc_err *err);

/* mc_store_load_meta - read versions/<number>/meta.json into *meta. */
int mc_store_load_meta(const char *state_dir, const char *name, unsigned number,
		       struct mc_cert_meta *meta, struct mc_err *err);

/* mc_store_meta_text - meta as the text of a meta.json (new string). */
char *mc_store_meta_text(const struct mc_cert_meta *meta, struct mc_err *err);

/* mc_store_meta_parse - the text of a meta.json into *meta (where names
 * it in errors: MC_ERR_INPUT). */
int mc_store_meta_parse(const char *text, size_t len, const char *where,
			struct mc_cert_meta *meta, struct mc_err *err);

/* mc_store_save_meta - rewrite meta.json of meta->version atomically. */
int mc_store_save_meta(const char *state_dir, const char *name,
		       const struct mc_cert_meta *meta, struct mc_err *err);

/* mc_store_load_key - the private key of a version (new reference). */
EVP_PKEY *mc_store_load_key(const char *state_dir, const char *name,
			    unsigned number, struct mc_err *err);

/* mc_store_load_chain - leaf and intermediates of a version (fullchain.pem). */
STACK_OF(X509) *mc_store_load_chain(const char *state_dir, const char *name,
				    unsigned number, struct mc_err *err);

/* mc_store_load_pairs - every pair of a version (its meta.json says how
 * many and of which types) into *out (clear with mc_pairs_clear). */
int mc_store_load_pairs(const char *state_dir, const char *name,
			unsigned number, struct mc_pairs *out,
			struct mc_err *err);

/* mc_store_key_types - the key types of a version (from meta.json), in
 * order, into types[0..*n). */
int mc_store_key_types(const char *state_dir, const char *name,
		       unsigned number, enum mc_key_type types[MC_KEY_TYPES_MAX],
		       size_t *n, struct mc_err *err);

/* mc_store_load_chains - the same without the private keys (key NULL). */
int mc_store_load_chains(const char *state_dir, const char *name,
			 unsigned number, struct mc_pairs *out,
			 struct mc_err *err);

/* mc_store_path - "state_dir/certs/name/versions/NNNN[/file]" into buf. */
int mc_store_path(const char *state_dir, const char *name, unsigned number,
		  const char *file, char *buf, size_t size, struct mc_err *err);

/* --- the renew index (a cache of meta.json, see above) --- */

struct mc_store_index;

/* mc_store_index_open - the renew index of state_dir (new, free with
 * mc_store_index_close); a missing or unusable file is an empty index.
 * NULL only when out of memory. */
struct mc_store_index *mc_store_index_open(const char *state_dir,
					   struct mc_err *err);

/* mc_store_index_close - free an index; NULL is a no-op. */
void mc_store_index_close(struct mc_store_index *ix);

/* mc_store_index_current - name's current version for renew: from the
 * index while its entry matches certs/NAME/current/meta.json (no read),
 * else from meta.json. 1 and the fields renew reads in *meta (version,
 * names, key_type, not_before, not_after, ari_cert_id, ari_renew_at,
 * ari_next_poll, status, revocation_reason, directory; free with
 * mc_store_meta_clear; load the whole meta.json before saving it), 0 no
 * current version, -1 err. Also
 * remembers the entry for the next index: after changing a cert, call
 * it again for that cert. */
int mc_store_index_current(struct mc_store_index *ix, const char *name,
			   struct mc_cert_meta *meta, struct mc_err *err);

/* mc_store_index_settled - whether name's entry shows it settled: its
 * meta.json, certs/NAME and certs/NAME/versions unchanged since the entry
 * was made with no journal.json and no version above current. Then a cert
 * without targets needs no convergence and has no unfinished version; the
 * next mc_store_index_current of name uses the entry without a stat.
 * false: do both as usual (an entry whose directories changed is made
 * again from meta.json by mc_store_index_current). */
bool mc_store_index_settled(struct mc_store_index *ix, const char *name);

/* mc_store_index_probe - the stats of mc_store_index_settled for names[0..n)
 * (NULL: skipped) taken now, on up to one thread per CPU (at most 4; none
 * below 512 names): each name's next mc_store_index_settled uses what its
 * probe found instead of stating again (once; later calls stat). Call
 * under the state lock, right before asking: a change the run itself
 * makes to a cert must come after that cert's mc_store_index_settled (no
 * other mailcert changes the state meanwhile; a hand edit made while the
 * run goes on is seen by the next run). */
void mc_store_index_probe(struct mc_store_index *ix, const char *const *names,
			  size_t n);

/* mc_store_index_save - write the next index (atomically) when the one on
 * disk is missing or out of date and complete says every configured cert
 * was asked for (removing a temporary file a killed run left of it).
 * Call under the state lock. */
int mc_store_index_save(struct mc_store_index *ix, bool complete,
			struct mc_err *err);

/* mc_store_account_dir - "state_dir/accounts/<host>[_<port>]/<path>" of a
 * directory URL, each path segment file-safe (new string). */
char *mc_store_account_dir(const char *state_dir, const char *directory,
			   struct mc_err *err);

/* mc_store_account_load - the account key, URL and status as last seen
 * ("valid", "deactivated"; status may be NULL when not wanted). *kid and
 * *status stay NULL when not registered yet. An account of the old
 * host-only layout that belongs to directory is moved into place first.
 * 1 found, 0 no key yet, -1 error. */
int mc_store_account_load(const char *state_dir, const char *directory,
			  EVP_PKEY **key, char **kid, char **status,
			  struct mc_err *err);

/* mc_store_account_save_key - write account.key (0600). */
int mc_store_account_save_key(const char *state_dir, const char *directory,
			      EVP_PKEY *key, struct mc_err *err);

/* mc_store_account_save - write account.json with the URL, status and contacts. */
int mc_store_account_save(const char *state_dir, const char *directory,
			  const char *url, const char *status,
			  const char *const *contact, size_t n_contact,
			  struct mc_err *err);

/*
 * Listing, pruning and deleting (store_admin.c). Removal never follows a
 * symlink; a removed version's directory is fsync'ed away with its key.
 */

/* mc_store_versions - the version numbers of name, ascending (*out new,
 * NULL when *n is 0; a cert without state has none). */
int mc_store_versions(const char *state_dir, const char *name, unsigned **out,
		      size_t *n, struct mc_err *err);

/* mc_store_cert_names - the cert names with state under state_dir/certs,
 * sorted (*out new; free with mc_strv_free). */
int mc_store_cert_names(const char *state_dir, char ***out, size_t *n,
			struct mc_err *err);

/* mc_store_remove_tree - delete parent/name (one path component) and
 * everything under it, never following a symlink. */
int mc_store_remove_tree(const char *parent, const char *name,
			 struct mc_err *err);

/* mc_store_remove_version - delete versions/<number> and its key. */
int mc_store_remove_version(const char *state_dir, const char *name,
			    unsigned number, struct mc_err *err);

/* mc_store_remove_cert - delete certs/<name> with every version and key. */
int mc_store_remove_cert(const char *state_dir, const char *name,
			 struct mc_err *err);

/* mc_store_any_version - 1 when match(meta, arg) is true for a version of
 * name (unreadable versions are skipped), 0 when for none, -1 on error. */
int mc_store_any_version(const char *state_dir, const char *name,
			 bool (*match)(const struct mc_cert_meta *meta,
				       const void *arg),
			 const void *arg, struct mc_err *err);

/* mc_store_key_compromised - 1 when a version of name whose key has the
 * SPKI hash spki_sha256 was revoked for keyCompromise (never use that key
 * again), 0 when none was, -1 on error. */
int mc_store_key_compromised(const char *state_dir, const char *name,
			     const char *spki_sha256, struct mc_err *err);

/* mc_store_prune - remove the oldest versions older than current until at
 * most keep versions remain; never current, never prev (the version that
 * was current before it). *removed: how many went. */
int mc_store_prune(const char *state_dir, const char *name, unsigned keep,
		   unsigned current, unsigned prev, unsigned *removed,
		   struct mc_err *err);

/*
 * Pending targets (store_pending.c): certs/<name>/pending.json lists the
 * targets of the current version whose files hold it but whose daemon has
 * not been shown to serve it: "unconfigured" (its configuration reads
 * other files; detail: the lines to add) or "down" (it does not run;
 * detail: how to start it). Written when such a deployment settles,
 * removed once every target is verified live (deploy.h).
 */
struct mc_store_pending_target {
	char target[128];
	char reason[16];   /* "unconfigured", "down" */
	char detail[1536];
};

struct mc_store_pending {
	unsigned version;  /* the version the targets' files hold */
	time_t since;
	struct mc_store_pending_target *targets;
	size_t n;
};

/* mc_store_pending_read - 1 and *p (free with mc_store_pending_free), 0
 * if there is none, -1 error (a damaged file: MC_ERR_INPUT naming it). */
int mc_store_pending_read(const char *state_dir, const char *name,
			  struct mc_store_pending *p, struct mc_err *err);

/* mc_store_pending_write - write pending.json atomically (0600). */
int mc_store_pending_write(const char *state_dir, const char *name,
			   const struct mc_store_pending *p, struct mc_err *err);

/* mc_store_pending_clear - remove pending.json (durably); 0 if absent. */
int mc_store_pending_clear(const char *state_dir, const char *name,
			   struct mc_err *err);

/* mc_store_pending_free - free what p owns; NULL: no-op. */
void mc_store_pending_free(struct mc_store_pending *p);

/*
 * The last attempt and the last live check of a cert (store_last.c):
 * state_dir/certs/<name>/last.json, rewritten atomically. It records what
 * `status` and the metrics report even when the attempt did not make a
 * new version current.
 */
struct mc_last {
	time_t at;           /* of the last attempt; 0: none recorded */
	char command[16];    /* issue, renew, deploy, rollback */
	char result[16];     /* "ok" or "failed" */
	unsigned version;    /* the version it concerned; 0: none stored */
	char *error;         /* "failed" only */
	char run_id[40];
	time_t live_at;      /* of the last live check; 0: none */
	char live[16];       /* "match", "mismatch", "failed", "unverified",
				"partial" (pending targets left out) */
	char live_serial[128];
	char **files;        /* target files written by the last deploy */
	size_t n_files;
};

/* mc_store_last_clear - free the members of last. */
void mc_store_last_clear(struct mc_last *last);

/* mc_store_load_last - read last.json: 1 and *last, 0 none, -1 error. */
int mc_store_load_last(const char *state_dir, const char *name,
		       struct mc_last *last, struct mc_err *err);

/* mc_store_save_last - write last.json atomically. */
int mc_store_save_last(const char *state_dir, const char *name,
		       const struct mc_last *last, struct mc_err *err);

#endif
