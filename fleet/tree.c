/*
 * tree.c - versions and accounts between the fleet's tree in etcd and the
 * local state_dir (the cache): push a new version (fenced), pull a version,
 * the next version number, share the ACME account.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/x509.h>

#include "fleet/fleet_int.h"
#include "mailcert/buf.h"
#include "mailcert/crypto.h"
#include "mailcert/fsio.h"
#include "mailcert/log.h"

#define ROLE_PRIVKEY "privkey"
#define ROLE_ACCOUNT "account"
#define ACCOUNT_JSON_MAX (64 * 1024)

/* tree_version_key - PREFIX/certs/<cert>/versions/<NNNN>/<file>. */
static int
tree_version_key(const struct mc_fleet *f, const char *cert, unsigned v,
                 const char *file, char *buf, size_t size, struct mc_err *err)
{
	return fleet_key(f, buf, size, err, "certs/%s/versions/%04u/%s", cert, v,
	                 file);
}

/* tree_seal_key - the sealed PEM of key for (role, name, version) (new). */
static int
tree_seal_key(struct mc_fleet *f, EVP_PKEY *key, const char *role,
              const char *name, unsigned version, unsigned char **out,
              size_t *len, struct mc_err *err)
{
	struct mc_buf pem;
	int rc;

	mc_buf_init(&pem, 0);
	rc = mc_key_to_pem(key, &pem, err);
	if (rc == 0)
		rc = mc_fleet_seal(f->seal_key, role, name, version,
		                   (const unsigned char *)pem.data, pem.len, out,
		                   len, err);
	mc_buf_clear_free(&pem);
	return rc;
}

/* tree_push_pair - the puts of pair slot of version v: its fullchain and
 * its sealed key (role "privkey", or "privkey-ALG" for a second pair). */
static int
tree_push_pair(struct mc_fleet *f, const char *cert, unsigned v,
               const struct mc_pair *pair, size_t slot, json_t *ops,
               struct mc_err *err)
{
	char k[FLEET_KEY_MAX + 1], file[64], role[32];
	unsigned char *sealed = NULL;
	size_t sealed_len = 0;
	struct mc_buf pem;
	int rc = -1;

	mc_buf_init(&pem, 0);
	mc_pair_file(ROLE_PRIVKEY, slot, pair->type, role, sizeof(role));
	if (mc_x509_chain_pem(pair->chain, 0, &pem, err) == -1 ||
	    tree_seal_key(f, pair->key, role, cert, v, &sealed, &sealed_len,
	                  err) == -1)
		goto out;
	mc_pair_file("fullchain.pem", slot, pair->type, file, sizeof(file));
	if (tree_version_key(f, cert, v, file, k, sizeof(k), err) == -1)
		goto out;
	json_array_append_new(ops, etcd_op_put(k, pem.data, pem.len, 0));
	mc_pair_file("privkey.sealed", slot, pair->type, file, sizeof(file));
	tree_version_key(f, cert, v, file, k, sizeof(k), NULL);
	json_array_append_new(ops, etcd_op_put(k, sealed, sealed_len, 0));
	rc = 0;
out:
	free(sealed);
	mc_buf_free(&pem);
	return rc;
}

/* tree_push_ops - the puts of a version and of current (new array). */
static int
tree_push_ops(struct mc_fleet *f, const char *cert,
              const struct mc_pairs *pairs, const struct mc_cert_meta *meta,
              json_t *ops, struct mc_err *err)
{
	struct mc_cert_meta shared = *meta;
	char k[FLEET_KEY_MAX + 1], cur[16], *text = NULL;
	size_t i;
	int rc = -1;

	snprintf(shared.status, sizeof(shared.status), "issued");
	shared.last_error = NULL; /* what one host saw stays on that host */
	text = mc_store_meta_text(&shared, err);
	if (text == NULL ||
	    tree_version_key(f, cert, meta->version, "meta.json", k, sizeof(k),
	                     err) == -1)
		goto out;
	json_array_append_new(ops, etcd_op_put(k, text, strlen(text), 0));
	for (i = 0; i < pairs->n; i++)
		if (tree_push_pair(f, cert, meta->version, &pairs->p[i], i, ops,
		                   err) == -1)
			goto out;
	fleet_key(f, k, sizeof(k), NULL, "certs/%s/current", cert);
	snprintf(cur, sizeof(cur), "%04u", meta->version);
	json_array_append_new(ops, etcd_op_put(k, cur, strlen(cur), 0));
	rc = 0;
out:
	free(text);
	return rc;
}

/* mc_fleet_push - store a version and make it current (one fenced txn). */
int
mc_fleet_push(struct mc_fleet *f, const char *cert,
              const struct mc_pairs *pairs, const struct mc_cert_meta *meta,
              struct mc_err *err)
{
	json_t *ops = json_array();
	char what[300];

	if (ops == NULL)
		return mc_err_set(err, MC_ERR_SYS, "out of memory");
	if (tree_push_ops(f, cert, pairs, meta, ops, err) == -1) {
		json_decref(ops);
		return -1;
	}
	snprintf(what, sizeof(what), "%s: version %04u", cert, meta->version);
	if (lock_fenced_txn(f, ops, what, err) == -1)
		return -1;
	mc_log_info("%s: version %04u stored in the fleet and made current",
	            cert, meta->version);
	return 0;
}

/* tree_find - the value of PREFIX/.../file among kvs, or NULL. */
static const struct fleet_kv *
tree_find(const struct fleet_kvs *kvs, const char *file)
{
	size_t i, n = strlen(file), k;

	for (i = 0; i < kvs->n; i++) {
		k = strlen(kvs->kv[i].key);
		if (k > n && kvs->kv[i].key[k - n - 1] == '/' &&
		    strcmp(kvs->kv[i].key + k - n, file) == 0)
			return &kvs->kv[i];
	}
	return NULL;
}

/* tree_open_key - the private key of a shared version (new). */
static EVP_PKEY *
tree_open_key(struct mc_fleet *f, const struct fleet_kv *kv, const char *role,
              const char *name, unsigned version, struct mc_err *err)
{
	unsigned char *pem = NULL;
	size_t len = 0;
	EVP_PKEY *key;

	if (mc_fleet_unseal(f->seal_key, role, name, version, kv->value,
	                    kv->value_len, &pem, &len, err) == -1)
		return NULL;
	key = mc_key_from_pem((const char *)pem, len, err);
	OPENSSL_clear_free(pem, len + 1);
	return key;
}

/* tree_check_pair - a pair of a shared version agrees with itself and
 * with its facts in meta.json (the key matches the leaf, the leaf is the
 * one described). */
static int
tree_check_pair(const char *cert, unsigned v, const struct mc_pair *pair,
                const struct mc_cert_meta *facts_want, struct mc_err *err)
{
	struct mc_cert_meta facts;
	int same;

	if (X509_check_private_key(sk_X509_value(pair->chain, 0), pair->key) != 1)
		return mc_err_set(err, MC_ERR_INPUT,
		                  "%s version %04u in the store: the %s key does not "
		                  "match its certificate",
		                  cert, v, mc_key_type_alg(pair->type));
	memset(&facts, 0, sizeof(facts));
	if (mc_store_meta_fill(&facts, pair->chain, err) == -1)
		return -1;
	same = strcmp(facts.sha256, facts_want->sha256) == 0;
	free(facts.ari_cert_id);
	if (!same)
		return mc_err_set(err, MC_ERR_INPUT,
		                  "%s version %04u in the store: meta.json does not "
		                  "describe its %s certificate",
		                  cert, v, mc_key_type_alg(pair->type));
	return 0;
}

/* tree_local_same - whether local version v of cert exists: 1 the same
 * certificate as sha256, 0 absent, -1 another one (error). */
static int
tree_local_same(const struct mc_fleet *f, const char *cert, unsigned v,
                const char *sha256, struct mc_err *err)
{
	struct mc_cert_meta have;
	char dir[4200];
	int same;

	mc_store_path(f->cfg->state_dir, cert, v, NULL, dir, sizeof(dir), NULL);
	if (!mc_fsio_exists(dir))
		return 0;
	if (mc_store_load_meta(f->cfg->state_dir, cert, v, &have, err) == -1)
		return -1;
	same = strcmp(have.sha256, sha256) == 0;
	mc_store_meta_clear(&have);
	if (same)
		return 1;
	return mc_err_set(err, MC_ERR_INPUT,
	                  "%s: the local version %04u (%s) is another certificate "
	                  "than the fleet's version %04u; move that directory "
	                  "aside (or `mailcert delete %s`) so this host can take "
	                  "the fleet's versions",
	                  cert, v, dir, v, cert);
}

/* tree_pull_pair - pair slot of shared version v from kvs into *pair. */
static int
tree_pull_pair(struct mc_fleet *f, const char *cert, unsigned v,
               const struct fleet_kvs *kvs, size_t slot,
               const struct mc_cert_meta *facts, struct mc_pair *pair,
               struct mc_err *err)
{
	char cfile[64], kfile[64], role[32];
	const struct fleet_kv *c, *k;

	pair->type = facts->key_type;
	mc_pair_file("fullchain.pem", slot, pair->type, cfile, sizeof(cfile));
	mc_pair_file("privkey.sealed", slot, pair->type, kfile, sizeof(kfile));
	mc_pair_file(ROLE_PRIVKEY, slot, pair->type, role, sizeof(role));
	c = tree_find(kvs, cfile);
	k = tree_find(kvs, kfile);
	if (c == NULL || k == NULL)
		return mc_err_set(err, MC_ERR_INPUT,
		                  "%s version %04u is incomplete in the store "
		                  "(meta.json, %s and %s are needed)",
		                  cert, v, cfile, kfile);
	pair->chain = mc_x509_chain_parse((const char *)c->value, c->value_len,
	                                  err);
	if (pair->chain == NULL)
		return mc_err_prefix(err, "%s version %04u in the store", cert, v);
	pair->key = tree_open_key(f, k, role, cert, v, err);
	if (pair->key == NULL)
		return -1;
	return tree_check_pair(cert, v, pair, facts, err);
}

/* tree_pull_parts - parse the parts of shared version v into the outs. */
static int
tree_pull_parts(struct mc_fleet *f, const char *cert, unsigned v,
                const struct fleet_kvs *kvs, struct mc_cert_meta *meta,
                struct mc_pairs *pairs, struct mc_err *err)
{
	const struct fleet_kv *m = tree_find(kvs, "meta.json");
	char where[300];
	size_t i;

	snprintf(where, sizeof(where), "%s version %04u meta.json in the store",
	         cert, v);
	if (m == NULL)
		return mc_err_set(err, MC_ERR_INPUT,
		                  "%s version %04u is incomplete in the store "
		                  "(no meta.json)",
		                  cert, v);
	if (mc_store_meta_parse((const char *)m->value, m->value_len, where, meta,
	                        err) == -1)
		return -1;
	for (i = 0; i < mc_store_meta_pairs(meta); i++) {
		pairs->n = i + 1;
		if (tree_pull_pair(f, cert, v, kvs, i, mc_store_meta_leaf(meta, i),
		                   &pairs->p[i], err) == -1)
			return -1;
	}
	return 0;
}

/* mc_fleet_pull - copy shared version number of cert into the local state. */
int
mc_fleet_pull(struct mc_fleet *f, const char *cert, unsigned number,
              struct mc_err *err)
{
	struct fleet_kvs kvs = {0};
	struct mc_cert_meta meta;
	struct mc_pairs pairs;
	char prefix[FLEET_KEY_MAX + 1];
	unsigned got = 0;
	int rc = -1;

	memset(&meta, 0, sizeof(meta));
	memset(&pairs, 0, sizeof(pairs));
	if (fleet_key(f, prefix, sizeof(prefix), err, "certs/%s/versions/%04u/",
	              cert, number) == -1 ||
	    fleet_note(f, etcd_range(&f->etcd, prefix, true, false, &kvs, err),
	               err) == -1 ||
	    tree_pull_parts(f, cert, number, &kvs, &meta, &pairs, err) == -1)
		goto out;
	rc = tree_local_same(f, cert, number, meta.sha256, err);
	if (rc != 0) {
		rc = rc == 1 ? 0 : -1;
		goto out;
	}
	meta.version = number;
	rc = mc_store_add_version(f->cfg->state_dir, cert, &pairs, &meta, &got,
	                          err);
	if (rc == 0)
		mc_log_info("%s: version %04u (serial %s) pulled from the fleet",
		            cert, number, meta.serial);
out:
	if (rc == -1)
		mc_err_prefix(err, "pull %s version %04u", cert, number);
	mc_store_meta_clear(&meta);
	mc_pairs_clear(&pairs);
	etcd_kvs_clear(&kvs);
	return rc;
}

/* mc_fleet_next_version - above every shared and every local version. */
int
mc_fleet_next_version(struct mc_fleet *f, const char *cert, unsigned *out,
                      struct mc_err *err)
{
	struct fleet_kvs kvs = {0};
	char prefix[FLEET_KEY_MAX + 1];
	unsigned max = 0, v;
	size_t i, plen;

	if (mc_store_max_version(f->cfg->state_dir, cert, &max, err) == -1 ||
	    fleet_key(f, prefix, sizeof(prefix), err, "certs/%s/versions/",
	              cert) == -1 ||
	    fleet_note(f, etcd_range(&f->etcd, prefix, true, true, &kvs, err),
	               err) == -1)
		return -1;
	plen = strlen(prefix);
	for (i = 0; i < kvs.n; i++) {
		v = (unsigned)strtoul(kvs.kv[i].key + plen, NULL, 10);
		if (v > max)
			max = v;
	}
	etcd_kvs_clear(&kvs);
	*out = max + 1;
	return 0;
}

/* tree_account_rel - "accounts/<dir>" of directory (relative to state_dir). */
static int
tree_account_rel(const struct mc_fleet *f, const char *directory, char *buf,
                 size_t size, char **abs, struct mc_err *err)
{
	size_t n = strlen(f->cfg->state_dir);

	*abs = mc_store_account_dir(f->cfg->state_dir, directory, err);
	if (*abs == NULL)
		return -1;
	if (strncmp(*abs, f->cfg->state_dir, n) != 0 || (*abs)[n] != '/') {
		free(*abs);
		*abs = NULL;
		return mc_err_set(err, MC_ERR_SYS, "account dir outside state_dir");
	}
	snprintf(buf, size, "%s", *abs + n + 1);
	return 0;
}

/* tree_account_write - the shared account's key and account.json into dir. */
static int
tree_account_write(struct mc_fleet *f, const char *directory, const char *dir,
                   const char *rel, const struct fleet_kv *kkv,
                   const struct fleet_kv *jkv, struct mc_err *err)
{
	EVP_PKEY *key = tree_open_key(f, kkv, ROLE_ACCOUNT, rel, 0, err), *have = NULL;
	char path[4200], a[65] = "", b[65] = "", *kid = NULL;
	int rc = -1;

	if (key == NULL)
		return -1;
	if (mc_store_account_load(f->cfg->state_dir, directory, &have, &kid, NULL,
	                          NULL) == 1 &&
	    mc_key_spki_sha256(have, a, NULL) == 0 &&
	    mc_key_spki_sha256(key, b, NULL) == 0 && strcmp(a, b) == 0) {
		rc = 0; /* the same account */
		goto out;
	}
	if (have != NULL)
		mc_log_info("ACME account for %s: taking the fleet's account "
		            "(SPKI %.16s...) instead of this host's",
		            directory, b);
	snprintf(path, sizeof(path), "%s/account.json", dir);
	if (mc_fsio_mkdirs(dir, 0700, err) == -1 ||
	    mc_store_account_save_key(f->cfg->state_dir, directory, key, err) == -1 ||
	    mc_fsio_write(path, jkv->value, jkv->value_len, 0644,
	                  MC_FSIO_KEEP_OWNER, false, err) == -1)
		goto out;
	rc = 0;
out:
	free(kid);
	EVP_PKEY_free(have);
	EVP_PKEY_free(key);
	return rc;
}

/* mc_fleet_account_pull - the shared account into the local state. */
int
mc_fleet_account_pull(struct mc_fleet *f, const char *directory,
                      struct mc_err *err)
{
	struct fleet_kvs kvs = {0};
	const struct fleet_kv *kkv, *jkv;
	char rel[1024], prefix[FLEET_KEY_MAX + 1], *dir = NULL;
	int rc = -1;

	if (tree_account_rel(f, directory, rel, sizeof(rel), &dir, err) == -1 ||
	    fleet_key(f, prefix, sizeof(prefix), err, "%s/", rel) == -1 ||
	    fleet_note(f, etcd_range(&f->etcd, prefix, true, false, &kvs, err),
	               err) == -1)
		goto out;
	kkv = tree_find(&kvs, "account.key.sealed");
	jkv = tree_find(&kvs, "account.json");
	if (kkv == NULL || jkv == NULL || jkv->value_len > ACCOUNT_JSON_MAX) {
		rc = 0;
		goto out;
	}
	rc = tree_account_write(f, directory, dir, rel, kkv, jkv, err) == 0 ? 1
	                                                                   : -1;
out:
	free(dir);
	etcd_kvs_clear(&kvs);
	return rc == -1 ? mc_err_prefix(err, "fleet account") : rc;
}

/* mc_fleet_account_push - share the local account (fenced). */
int
mc_fleet_account_push(struct mc_fleet *f, const char *directory,
                      struct mc_err *err)
{
	char rel[1024], k[FLEET_KEY_MAX + 1], path[4200], *dir = NULL, *json = NULL,
	     *kid = NULL;
	unsigned char *sealed = NULL;
	size_t sealed_len = 0, json_len = 0;
	EVP_PKEY *key = NULL;
	json_t *ops = NULL;
	int rc = -1;

	if (tree_account_rel(f, directory, rel, sizeof(rel), &dir, err) == -1)
		return -1;
	rc = mc_fleet_account_pull(f, directory, err);
	if (rc != 0) /* the store has one (now local too), or error */
		goto out;
	rc = -1;
	snprintf(path, sizeof(path), "%s/account.json", dir);
	if (mc_store_account_load(f->cfg->state_dir, directory, &key, &kid, NULL,
	                          err) != 1 ||
	    mc_fsio_read(path, ACCOUNT_JSON_MAX, &json, &json_len, err) == -1 ||
	    tree_seal_key(f, key, ROLE_ACCOUNT, rel, 0, &sealed, &sealed_len,
	                  err) == -1)
		goto out;
	ops = json_array();
	fleet_key(f, k, sizeof(k), NULL, "%s/account.key.sealed", rel);
	json_array_append_new(ops, etcd_op_put(k, sealed, sealed_len, 0));
	fleet_key(f, k, sizeof(k), NULL, "%s/account.json", rel);
	json_array_append_new(ops, etcd_op_put(k, json, json_len, 0));
	rc = lock_fenced_txn(f, ops, "ACME account", err);
	if (rc == 0)
		mc_log_info("ACME account for %s shared with the fleet", directory);
out:
	free(kid);
	EVP_PKEY_free(key);
	free(sealed);
	free(json);
	free(dir);
	return rc == -1 ? -1 : 0;
}
