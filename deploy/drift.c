/*
 * drift.c - do a target's files hold a given version? Read as the daemon
 * reads them (following links), byte for byte against what a deployment
 * of that version writes; when they differ, say what they hold instead.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/crypto.h>
#include <openssl/err.h>

#include "mailcert/crypto.h"
#include "mailcert/store.h"
#include "deploy/targets_int.h"

#define DRIFT_FILE_MAX (1024 * 1024)

/* What the files of a target hold, as far as they could be read: per
 * pair slot (key type) the first key and leaf found. */
struct held {
	EVP_PKEY *key[MC_KEY_TYPES_MAX];
	X509 *leaf[MC_KEY_TYPES_MAX];
	bool mixed;        /* two files disagree, or a key is not its leaf's */
	bool unreadable;
	bool differs;      /* some file is not byte for byte the version's */
	char detail[512];
};

/* mc_drift_state_name - the stable name of a drift state. */
const char *
mc_drift_state_name(enum mc_drift_state s)
{
	static const char *const names[] = {
		[MC_DRIFT_OK] = "ok",
		[MC_DRIFT_MISSING] = "missing",
		[MC_DRIFT_OTHER] = "other",
		[MC_DRIFT_MIXED] = "mixed",
		[MC_DRIFT_UNREADABLE] = "unreadable",
		[MC_DRIFT_KEYTYPES] = "keytypes",
	};

	if ((size_t)s >= sizeof(names) / sizeof(names[0]))
		return "unknown";
	return names[s];
}

/* held_key - note the key of a file of slot; a second, different key is
 * mixed. */
static void
held_key(struct held *h, size_t slot, const char *path, const char *text,
	 size_t len)
{
	EVP_PKEY *k = mc_key_from_pem(text, len, NULL);

	ERR_clear_error();
	if (k == NULL) {
		h->unreadable = true;
		snprintf(h->detail, sizeof(h->detail), "%s holds no private key",
			 path);
	} else if (h->key[slot] == NULL) {
		h->key[slot] = k;
		return;
	} else if (EVP_PKEY_eq(h->key[slot], k) != 1) {
		h->mixed = true;
	}
	EVP_PKEY_free(k);
}

/* held_leaf - note the leaf of a file of slot; a second, different leaf
 * is mixed. */
static void
held_leaf(struct held *h, size_t slot, const char *path, const char *text,
	  size_t len)
{
	STACK_OF(X509) *chain = mc_x509_chain_parse(text, len, NULL);
	X509 *leaf = chain ? sk_X509_shift(chain) : NULL;

	sk_X509_pop_free(chain, X509_free);
	if (leaf == NULL) {
		h->unreadable = true;
		snprintf(h->detail, sizeof(h->detail),
			 "%s holds no certificate", path);
	} else if (h->leaf[slot] == NULL) {
		h->leaf[slot] = leaf;
		return;
	} else if (X509_cmp(h->leaf[slot], leaf) != 0) {
		h->mixed = true;
	}
	X509_free(leaf);
}

/* drift_file - read file i of p and compare it with the version's bytes;
 * returns MC_DRIFT_MISSING/UNREADABLE for a file that cannot be read. */
static enum mc_drift_state
drift_file(const struct tplan *p, size_t i, const struct mc_pairs *pairs,
	   struct held *h)
{
	const struct tfile *f = &p->f[i];
	struct mc_buf want;
	struct mc_err err;
	struct stat st;
	char *text = NULL;
	size_t len = 0;

	if (stat(f->path, &st) == -1 && errno == ENOENT) {
		snprintf(h->detail, sizeof(h->detail), "%.400s is missing",
			 f->path);
		return MC_DRIFT_MISSING;
	}
	if (mc_fsio_read(f->path, DRIFT_FILE_MAX, &text, &len, &err) == -1) {
		snprintf(h->detail, sizeof(h->detail), "%.500s", err.msg);
		return MC_DRIFT_UNREADABLE;
	}
	mc_buf_init(&want, 0);
	if (tcontent(f, pairs, &want, NULL) == -1 ||
	    want.len != len || CRYPTO_memcmp(want.data, text, len) != 0)
		h->differs = true;
	mc_buf_clear_free(&want);
	if (f->has_key)
		held_key(h, f->slot, f->path, text, len);
	if (tkind_has_chain(f->kind))
		held_leaf(h, f->slot, f->path, text, len);
	OPENSSL_clear_free(text, len);
	return MC_DRIFT_OK;
}

/* drift_pair_mixed - whether the key of slot is not its leaf's. */
static bool
drift_pair_mixed(const struct held *h, size_t slot)
{
	bool mixed = h->key[slot] != NULL && h->leaf[slot] != NULL &&
		     EVP_PKEY_eq(X509_get0_pubkey(h->leaf[slot]),
				 h->key[slot]) != 1;

	ERR_clear_error();
	return mixed;
}

/* drift_judge - the state of a target from what its files hold. */
static enum mc_drift_state
drift_judge(struct held *h, size_t n_slots, struct mc_drift_row *row)
{
	struct mc_x509_info info;
	size_t i;

	if (h->leaf[0] != NULL && mc_x509_info(h->leaf[0], &info, NULL) == 0)
		memcpy(row->leaf_sha256, info.sha256, sizeof(row->leaf_sha256));
	if (h->unreadable)
		return MC_DRIFT_UNREADABLE;
	for (i = 0; i < n_slots && i < MC_KEY_TYPES_MAX; i++)
		h->mixed = h->mixed || drift_pair_mixed(h, i);
	if (h->mixed) {
		snprintf(h->detail, sizeof(h->detail),
			 "its key and certificate files do not belong "
			 "together: the daemon cannot load them");
		return MC_DRIFT_MIXED;
	}
	if (!h->differs)
		return MC_DRIFT_OK;
	snprintf(h->detail, sizeof(h->detail), "holds another certificate");
	return MC_DRIFT_OTHER;
}

/* mc_deploy_target_drift - compare t's files with the pairs of a version. */
int
mc_deploy_target_drift(const struct mc_target *t, const struct mc_cert_conf *cc,
		       const struct mc_pairs *pairs, struct mc_drift_row *row,
		       struct mc_err *err)
{
	enum mc_key_type types[MC_KEY_TYPES_MAX];
	struct held h;
	struct tplan p;
	enum mc_drift_state st = MC_DRIFT_OK;
	size_t i;

	memset(row, 0, sizeof(*row));
	memset(&h, 0, sizeof(h));
	snprintf(row->target, sizeof(row->target), "%s", t->name);
	for (i = 0; i < pairs->n && i < MC_KEY_TYPES_MAX; i++)
		types[i] = pairs->p[i].type;
	if (tplan_init(&p, t, cc, types, pairs->n, false, err) == -1)
		return -1;
	for (i = 0; i < p.n && st == MC_DRIFT_OK; i++)
		st = drift_file(&p, i, pairs, &h);
	if (st == MC_DRIFT_OK)
		st = drift_judge(&h, pairs->n, row);
	row->state = st;
	snprintf(row->detail, sizeof(row->detail), "%s", h.detail);
	for (i = 0; i < MC_KEY_TYPES_MAX; i++) {
		EVP_PKEY_free(h.key[i]);
		X509_free(h.leaf[i]);
	}
	tplan_clear(&p);
	return 0;
}
