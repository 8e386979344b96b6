/*
 * store.h - the versioned certificate store and the ACME account state.
 *
 * Layout (INTERFACE.md):
 *   state_dir/accounts/<directory host>/account.key (0600), account.json
 *   state_dir/certs/<name>/versions/<NNNN>/{privkey.pem (0600), cert.pem,
 *       chain.pem, fullchain.pem, meta.json}
 *   state_dir/certs/<name>/current -> versions/<NNNN>
 *
 * A version directory is written completely under a temporary name, every
 * file fsync'ed, then renamed into place; `current` is switched last with
 * an atomic symlink rename. A crash leaves the previous version current.
 * Nothing here talks to the network.
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
};

/* mc_store_meta_clear - free the members of meta. */
void mc_store_meta_clear(struct mc_cert_meta *meta);

/* mc_store_meta_fill - fill the certificate facts of meta from the chain
 * (serial, hashes, issuer, validity, ARI certID); names etc. are the caller's. */
int mc_store_meta_fill(struct mc_cert_meta *meta, STACK_OF(X509) *chain,
		       struct mc_err *err);

/* mc_store_add_version - write a complete new version (not yet current);
 * sets *number. meta->version is ignored. */
int mc_store_add_version(const char *state_dir, const char *name, EVP_PKEY *key,
			 STACK_OF(X509) *chain, const struct mc_cert_meta *meta,
			 unsigned *number, struct mc_err *err);

/* mc_store_set_current - atomically make version number current. */
int mc_store_set_current(const char *state_dir, const char *name,
			 unsigned number, struct mc_err *err);

/* mc_store_current - the current version: 1 and *number, 0 if none, -1 error. */
int mc_store_current(const char *state_dir, const char *name, unsigned *number,
		     struct mc_err *err);

/* mc_store_previous - the newest version before number that is not marked
 * failed or revoked: 1 and *out, 0 if none, -1 error. */
int mc_store_previous(const char *state_dir, const char *name, unsigned number,
		      unsigned *out, struct mc_err *err);

/* mc_store_load_meta - read versions/<number>/meta.json into *meta. */
int mc_store_load_meta(const char *state_dir, const char *name, unsigned number,
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
 * ari_next_poll, status; free with mc_store_meta_clear; load the whole
 * meta.json before saving it), 0 no current version, -1 err. Also
 * remembers the entry for the next index: after changing a cert, call
 * it again for that cert. */
int mc_store_index_current(struct mc_store_index *ix, const char *name,
			   struct mc_cert_meta *meta, struct mc_err *err);

/* mc_store_index_save - write the next index (atomically) when the one on
 * disk is missing or out of date and complete says every configured cert
 * was asked for. Call under the state lock. */
int mc_store_index_save(struct mc_store_index *ix, bool complete,
			struct mc_err *err);

/* mc_store_account_dir - "state_dir/accounts/<host of directory>" (new string). */
char *mc_store_account_dir(const char *state_dir, const char *directory,
			   struct mc_err *err);

/* mc_store_account_load - the account key and URL (*kid may be NULL when
 * not registered yet): 1 found, 0 no key yet, -1 error. */
int mc_store_account_load(const char *state_dir, const char *directory,
			  EVP_PKEY **key, char **kid, struct mc_err *err);

/* mc_store_account_save_key - write account.key (0600). */
int mc_store_account_save_key(const char *state_dir, const char *directory,
			      EVP_PKEY *key, struct mc_err *err);

/* mc_store_account_save - write account.json with the URL, status and contacts. */
int mc_store_account_save(const char *state_dir, const char *directory,
			  const char *url, const char *status,
			  const char *const *contact, size_t n_contact,
			  struct mc_err *err);

#endif
