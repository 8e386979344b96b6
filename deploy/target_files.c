/*
 * target_files.c - the files a target writes for a cert, by name (for
 * reports, `delete --targets` and the dry run), and whether a file holds
 * one of the cert's stored certificates or keys. Nothing here writes.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "mailcert/crypto.h"
#include "mailcert/deploy.h"
#include "mailcert/fsio.h"
#include "mailcert/store.h"
#include "deploy/targets_int.h"

#define TARGET_FILE_MAX (1024 * 1024)

/* mc_deploy_target_files - the expanded paths of every file of t. */
int
mc_deploy_target_files(const struct mc_target *t, const struct mc_cert_conf *cc,
		       char ***out, size_t *n, struct mc_err *err)
{
	struct tplan p;
	size_t i;
	char **v;

	if (tplan_init_cc(&p, t, cc, false, err) == -1)
		return -1;
	v = calloc(p.n + 1, sizeof(*v));
	if (v == NULL) {
		tplan_clear(&p);
		return mc_err_errno(err, MC_ERR_SYS, "out of memory");
	}
	for (i = 0; i < p.n; i++) {
		v[i] = p.f[i].path; /* taken */
		p.f[i].path = NULL;
	}
	*n = p.n;
	tplan_clear(&p);
	*out = v;
	return 0;
}

/* mc_deploy_cert_files - the files of every target of cc. */
int
mc_deploy_cert_files(const struct mc_config *cfg, const struct mc_cert_conf *cc,
		     char ***out, size_t *n, struct mc_err *err)
{
	char **all = calloc(1, sizeof(char *)), **one = NULL, **grown;
	size_t count = 0, k = 0, i, j;
	const struct mc_target *t;

	if (all == NULL)
		return mc_err_errno(err, MC_ERR_SYS, "out of memory");
	for (i = 0; i < cc->n_targets; i++) {
		t = mc_config_target(cfg, cc->targets[i]);
		if (t == NULL)
			continue;
		if (mc_deploy_target_files(t, cc, &one, &k, err) == -1)
			goto fail;
		grown = realloc(all, (count + k + 1) * sizeof(char *));
		if (grown == NULL) {
			mc_strv_free(one, k);
			mc_err_errno(err, MC_ERR_SYS, "out of memory");
			goto fail;
		}
		all = grown;
		for (j = 0; j < k; j++)
			all[count++] = one[j];
		free(one);
	}
	*out = all;
	*n = count;
	return 0;
fail:
	mc_strv_free(all, count);
	return -1;
}

/* target_file_facts - the leaf's SHA-256 or, for a key-only file, the
 * key's SPKI SHA-256 of the PEM file at path into hex; 0, or -1. */
static int
target_file_facts(const char *path, char hex[65], bool *is_key,
		  struct mc_err *err)
{
	STACK_OF(X509) *chain = NULL;
	struct mc_x509_info info;
	EVP_PKEY *key = NULL;
	char *pem = NULL;
	size_t len = 0;
	int rc = -1;

	if (mc_fsio_read(path, TARGET_FILE_MAX, &pem, &len, err) == -1)
		return -1;
	chain = mc_x509_chain_parse(pem, len, NULL);
	if (chain != NULL) {
		*is_key = false;
		rc = mc_x509_info(sk_X509_value(chain, 0), &info, err);
		if (rc == 0)
			memcpy(hex, info.sha256, 65);
	} else if ((key = mc_key_from_pem(pem, len, NULL)) != NULL) {
		*is_key = true;
		rc = mc_key_spki_sha256(key, hex, err);
	} else {
		mc_err_set(err, MC_ERR_INPUT,
			   "%s holds neither a certificate nor a key", path);
	}
	sk_X509_pop_free(chain, X509_free);
	EVP_PKEY_free(key);
	OPENSSL_clear_free(pem, len);
	return rc;
}

/* A file's fact: the leaf's SHA-256, or a key's SPKI SHA-256. */
struct file_fact {
	const char *hex;
	bool is_key;
};

/* target_fact_matches - whether a version's meta (either pair) has the
 * file's fact. */
static bool
target_fact_matches(const struct mc_cert_meta *meta, const void *arg)
{
	const struct file_fact *f = arg;
	const struct mc_cert_meta *m;
	size_t i;

	for (i = 0; (m = mc_store_meta_leaf(meta, i)) != NULL; i++)
		if (strcmp(f->is_key ? m->spki_sha256 : m->sha256, f->hex) == 0)
			return true;
	return false;
}

/* mc_deploy_file_of_cert - whether path holds a stored version's leaf or
 * key of cert name. */
int
mc_deploy_file_of_cert(const char *path, const char *state_dir,
		       const char *name, struct mc_err *err)
{
	struct file_fact f = {NULL, false};
	char hex[65];

	if (target_file_facts(path, hex, &f.is_key, err) == -1)
		return -1;
	f.hex = hex;
	return mc_store_any_version(state_dir, name, target_fact_matches, &f,
				    err);
}
