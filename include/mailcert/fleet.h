/*
 * fleet.h - fleet mode: several mail hosts share one certificate through
 * etcd (INTERFACE.md: `store`, `node`, `store_key_file`, `store_ca`,
 * `store_cert`, `store_key`; command `sync`).
 *
 * The state tree lives under PREFIX in etcd:
 *   PREFIX/certs/<name>/current                     "NNNN"
 *   PREFIX/certs/<name>/versions/<NNNN>/meta.json   as in state_dir
 *   PREFIX/certs/<name>/versions/<NNNN>/fullchain.pem
 *   PREFIX/certs/<name>/versions/<NNNN>/privkey.sealed
 *   PREFIX/accounts/<dir>/account.json, account.key.sealed
 *   PREFIX/nodes/<node>/<name>                      what <node> deployed
 *   PREFIX/lock                                     the fleet lock (leased)
 *   PREFIX/http01/<token>                           http-01 answers (leased)
 * Private keys are stored only sealed: AES-256-GCM under the 32-byte key
 * of store_key_file, a random 96-bit nonce per value, and the role, cert
 * (or account) name and version as additional authenticated data, so a
 * sealed key copied to another name or version does not open.
 *
 * Each host keeps its state_dir as a cache: versions are pulled into it
 * and deployed from it, and when etcd cannot be reached the host keeps
 * working from it (deploy and verify what it has; no orders).
 *
 * One lock for the fleet: PREFIX/lock is created under a lease that a
 * thread keeps alive while the run lasts; every write of the holder is a
 * txn that compares the lock key's create_revision with its own (fencing),
 * so a holder whose lease ended (a stopped process, a partition) cannot
 * overwrite what a newer holder stored.
 *
 * Ownership: struct mc_fleet is the caller's (mc_fleet_close); strings
 * returned as char * are the caller's. Thread-safety: one thread uses an
 * mc_fleet, except mc_fleet_token_lookup (any thread, e.g. a responder).
 *
 * Errors: MC_ERR_NET (no etcd member answers: the store is unreachable),
 * MC_ERR_LOCKED (another host holds the lock past the wait; our lock was
 * lost), MC_ERR_INPUT (the store holds something malformed, a sealed key
 * that does not open, a version that differs from the local one of the
 * same number), MC_ERR_CONFIG (store_key_file unusable), MC_ERR_CRYPTO,
 * MC_ERR_SYS.
 */
#ifndef MAILCERT_FLEET_H
#define MAILCERT_FLEET_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "mailcert/config.h"
#include "mailcert/err.h"
#include "mailcert/store.h"

#define MC_FLEET_KEY_LEN 32
#define MC_FLEET_DEFAULT_LEASE 10L   /* seconds */
#define MC_FLEET_DEFAULT_WAIT 900L   /* seconds */

struct mc_fleet;

/* What one node deployed of one cert (PREFIX/nodes/<node>/<cert>). */
struct mc_fleet_node {
	char node[256];
	char cert[256];
	unsigned version;  /* the version it tried last */
	unsigned live;     /* the version it serves, verified (0: unknown) */
	char serial[128];
	char result[16];   /* "verified", "stored" (no targets, no endpoints),
			      "failed", "rolled-back" */
	char error[512];
	time_t at;
};

/* The shared current version of a cert. */
struct mc_fleet_current {
	unsigned version;  /* 0: none */
	long long mod_rev; /* store revision when it was set */
};

/* mc_fleet_open - the fleet of cfg into *out (NULL when cfg->store is
 * unset: local only). Reads store_key_file; sends no request. */
int mc_fleet_open(const struct mc_config *cfg, struct mc_fleet **out,
                  struct mc_err *err);

/* mc_fleet_close - release the lock (if held) and free; NULL is a no-op. */
void mc_fleet_close(struct mc_fleet *f);

/* mc_fleet_node_name - this host's node name. Borrowed. */
const char *mc_fleet_node_name(const struct mc_fleet *f);

/* mc_fleet_down - why the store could not be reached in this run, or NULL
 * when every request so far reached it. Borrowed. */
const char *mc_fleet_down(const struct mc_fleet *f);

/* mc_fleet_current - the shared current version of cert (version 0: none). */
int mc_fleet_current(struct mc_fleet *f, const char *cert,
                     struct mc_fleet_current *out, struct mc_err *err);

/* mc_fleet_start_rev - the store's revision at the first request of this
 * run (a current set later was set while this run waited). */
long long mc_fleet_start_rev(const struct mc_fleet *f);

/* mc_fleet_pull - copy shared version number of cert into the local state
 * (nothing to do when the same version is there). MC_ERR_INPUT when the
 * local version of that number holds another certificate. */
int mc_fleet_pull(struct mc_fleet *f, const char *cert, unsigned number,
                  struct mc_err *err);

/* mc_fleet_next_version - the number of a new version of cert: above
 * every shared and every local one. */
int mc_fleet_next_version(struct mc_fleet *f, const char *cert,
                          unsigned *out, struct mc_err *err);

/* mc_fleet_push - store version meta->version of cert (every pair: its
 * fullchain and its key, sealed) and make it the shared current, in one
 * fenced txn (needs the lock). */
int mc_fleet_push(struct mc_fleet *f, const char *cert,
                  const struct mc_pairs *pairs, const struct mc_cert_meta *meta,
                  struct mc_err *err);

/* mc_fleet_record - write what this node deployed of cert. */
int mc_fleet_record(struct mc_fleet *f, const struct mc_fleet_node *st,
                    struct mc_err *err);

/* mc_fleet_nodes - every node's record of cert (new array in *out). */
int mc_fleet_nodes(struct mc_fleet *f, const char *cert,
                   struct mc_fleet_node **out, size_t *n, struct mc_err *err);

/* mc_fleet_lock - take the fleet lock, waiting up to wait seconds while
 * another host holds it; waiting(arg, holder) is called once when the
 * wait starts and done(arg) when it ends. MC_ERR_LOCKED past the wait. */
int mc_fleet_lock(struct mc_fleet *f, long wait,
                  void (*waiting)(void *arg, const char *holder),
                  void (*done)(void *arg), void *arg, struct mc_err *err);

/* mc_fleet_locked - whether this run holds the lock (not known lost). */
bool mc_fleet_locked(const struct mc_fleet *f);

/* mc_fleet_lock_check - the lock is still ours (a fenced no-op txn). */
int mc_fleet_lock_check(struct mc_fleet *f, struct mc_err *err);

/* mc_fleet_unlock - release the lock (revoke its lease); safe when not held. */
void mc_fleet_unlock(struct mc_fleet *f);

/* mc_fleet_account_pull - the shared ACME account of directory into the
 * local state: 1 pulled (or the same), 0 the store has none. */
int mc_fleet_account_pull(struct mc_fleet *f, const char *directory,
                          struct mc_err *err);

/* mc_fleet_account_push - share the local account of directory (fenced;
 * nothing when the store has one). */
int mc_fleet_account_push(struct mc_fleet *f, const char *directory,
                          struct mc_err *err);

/* mc_fleet_token_publish - an http-01 answer for every host's responder,
 * under the lock's lease (fenced). */
int mc_fleet_token_publish(struct mc_fleet *f, const char *token,
                           const char *keyauth, struct mc_err *err);

/* mc_fleet_token_withdraw - remove a published answer (best effort). */
void mc_fleet_token_withdraw(struct mc_fleet *f, const char *token);

/* mc_fleet_token_lookup - the published answer for token (new string), or
 * NULL. Any thread. */
char *mc_fleet_token_lookup(struct mc_fleet *f, const char *token);

/* mc_fleet_key_load - read the 32-byte store key from path: a regular file
 * of 32 bytes, 64 hex digits or 44 base64 characters (a final newline
 * allowed), owned by us or root, not readable or writable by group or
 * others. MC_ERR_CONFIG naming the file and the fix. */
int mc_fleet_key_load(const char *path, unsigned char key[MC_FLEET_KEY_LEN],
                      struct mc_err *err);

/* mc_fleet_seal - AES-256-GCM of pt under key with AAD (role, name,
 * version) into a new buffer: "MCS1" | nonce (12) | ciphertext | tag (16). */
int mc_fleet_seal(const unsigned char key[MC_FLEET_KEY_LEN], const char *role,
                  const char *name, unsigned version, const unsigned char *pt,
                  size_t len, unsigned char **out, size_t *out_len,
                  struct mc_err *err);

/* mc_fleet_unseal - the inverse; MC_ERR_INPUT when the value is not sealed
 * for (role, name, version) under key. *out is secret: the caller
 * cleanses it (OPENSSL_clear_free with *out_len). */
int mc_fleet_unseal(const unsigned char key[MC_FLEET_KEY_LEN], const char *role,
                    const char *name, unsigned version,
                    const unsigned char *sealed, size_t len,
                    unsigned char **out, size_t *out_len, struct mc_err *err);

#endif
