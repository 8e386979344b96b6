/*
 * certbot.c - import certbot lineages (see include/mailcert/import.h).
 *
 * Per lineage: read renewal/NAME.conf, follow its privkey and fullchain
 * links (a link into archive/ that points nowhere is a partial lineage),
 * check that the key belongs to the leaf and has a key type mailcert uses,
 * take the names from the certificate, store the version (status
 * "imported") and make it current - unless the state already holds cert
 * NAME. Nothing under the certbot directory is opened for writing.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mailcert/crypto.h"
#include "mailcert/fsio.h"
#include "mailcert/store.h"

#include "import/import_int.h"

#define CHAIN_MAX (256 * 1024)

/* One lineage being imported. */
struct lineage {
	struct certbot_conf conf;
	EVP_PKEY *key;
	STACK_OF(X509) *chain;
	char **names;
	size_t n_names;
	enum mc_key_type type;
};

/* lineage_free - release what l holds. */
static void
lineage_free(struct lineage *l)
{
	certbot_conf_free(&l->conf);
	EVP_PKEY_free(l->key);
	sk_X509_pop_free(l->chain, X509_free);
	mc_strv_free(l->names, l->n_names);
	memset(l, 0, sizeof(*l));
}

/* lineage_file - the file a renewal conf key names, resolved through its
 * live/ link; fails naming both ends when the link points nowhere. */
static int
lineage_file(const struct certbot_conf *c, const char *key, char *buf,
	     struct mc_err *err)
{
	const char *path = certbot_conf_get(c, "", key);
	char target[PATH_MAX];
	ssize_t n;

	if (path == NULL)
		return mc_err_set(err, MC_ERR_INPUT, "the renewal configuration "
				  "names no %s", key);
	if (realpath(path, buf) != NULL)
		return 0;
	n = readlink(path, target, sizeof(target) - 1);
	target[n > 0 ? n : 0] = '\0';
	return mc_err_errno(err, MC_ERR_INPUT, "%s %s%s%s", key, path,
			    n > 0 ? " -> " : "", target);
}

/* lineage_load - key, chain, names and key type of l. */
static int
lineage_load(struct lineage *l, struct mc_err *err)
{
	char key_path[PATH_MAX], chain_path[PATH_MAX], *text = NULL;
	size_t len = 0;
	int type;

	if (lineage_file(&l->conf, "privkey", key_path, err) == -1 ||
	    lineage_file(&l->conf, "fullchain", chain_path, err) == -1)
		return -1;
	l->key = mc_key_load(key_path, err);
	if (l->key == NULL)
		return -1;
	if (mc_fsio_read(chain_path, CHAIN_MAX, &text, &len, err) == -1)
		return -1;
	l->chain = mc_x509_chain_parse(text, len, err);
	free(text);
	if (l->chain == NULL)
		return mc_err_prefix(err, "%s", chain_path);
	if (X509_check_private_key(sk_X509_value(l->chain, 0), l->key) != 1)
		return mc_err_set(err, MC_ERR_INPUT, "%s does not belong to the "
				  "certificate in %s", key_path, chain_path);
	type = mc_key_type_of(l->key);
	if (type < 0)
		return mc_err_set(err, MC_ERR_INPUT, "the key of %s is none of "
				  "rsa-2048/3072/4096, ecdsa-p256/p384", key_path);
	l->type = (enum mc_key_type)type;
	if (mc_x509_sans(sk_X509_value(l->chain, 0), &l->names, &l->n_names, err) == -1)
		return -1;
	if (l->n_names == 0)
		return mc_err_set(err, MC_ERR_INPUT, "%s names no DNS name", chain_path);
	return 0;
}

/* lineage_store - store l as a new current version of name (unless the
 * state has one already); the result sentence into out. */
static int
lineage_store(const struct mc_config *cfg, const char *name, struct lineage *l,
	      struct mc_import_lineage *out, struct mc_err *err)
{
	struct mc_cert_meta meta, have;
	unsigned cur = 0, num = 0;
	int found, rc = -1;

	memset(&meta, 0, sizeof(meta));
	found = mc_store_current(cfg->state_dir, name, &cur, err);
	if (found == -1 || mc_store_meta_fill(&meta, l->chain, err) == -1)
		goto out;
	if (found == 1) {
		if (mc_store_load_meta(cfg->state_dir, name, cur, &have, err) == -1)
			goto out;
		rc = strcmp(have.sha256, meta.sha256) == 0 ? 0 : -1;
		if (rc == 0)
			snprintf(out->result, sizeof(out->result), "already imported "
				 "(version %04u is this certificate)", cur);
		else
			mc_err_set(err, MC_ERR_INPUT, "the state already has cert %s "
				   "(version %04u, another certificate): not replaced",
				   name, cur);
		mc_store_meta_clear(&have);
		goto out;
	}
	meta.names = l->names;
	meta.n_names = l->n_names;
	meta.key_type = l->type;
	meta.issued_at = time(NULL);
	meta.directory = (char *)certbot_conf_get(&l->conf, "renewalparams", "server");
	snprintf(meta.status, sizeof(meta.status), "imported");
	rc = mc_store_add_version(cfg->state_dir, name,
				  &(struct mc_pairs){{{l->type, l->key, l->chain}}, 1},
				  &meta, &num, err);
	meta.names = NULL;
	meta.n_names = 0;
	meta.directory = NULL;
	if (rc == 0)
		rc = mc_store_set_current(cfg->state_dir, name, num, err);
	if (rc == 0)
		snprintf(out->result, sizeof(out->result), "imported as version %04u "
			 "(current; not deployed), expires %s", num,
			 mc_time_format(meta.not_after, MC_TIME_HUMAN,
					(char[32]){0}, 32));
out:
	mc_store_meta_clear(&meta);
	return rc;
}

/* lineage_one - import one renewal configuration into out. */
static int
lineage_one(const struct mc_config *cfg, const char *dir, const char *file,
	    const struct import_daemons *d, struct mc_import_report *rep,
	    struct mc_import_lineage *out)
{
	struct lineage l;
	struct mc_err err;
	size_t n = strlen(file) - 5;
	char *acct;

	memset(&l, 0, sizeof(l));
	snprintf(out->name, sizeof(out->name), "%.*s", (int)n, file);
	snprintf(out->conf, sizeof(out->conf), "%s/renewal/%s", dir, file);
	out->in_config = mc_config_cert(cfg, out->name) != NULL;
	if (!mc_cert_name_valid(out->name) || n >= sizeof(out->name))
		mc_err_set(&err, MC_ERR_INPUT, "\"%s\" is not usable as a cert name",
			   out->name);
	else if (certbot_conf_read(out->conf, &l.conf, &err) == 0 &&
		 lineage_load(&l, &err) == 0 &&
		 mc_key_spki_sha256(l.key, out->spki_sha256, &err) == 0 &&
		 lineage_store(cfg, out->name, &l, out, &err) == 0) {
		out->imported = true;
		out->section = import_section(cfg, out->name, &l.conf, l.names,
					      l.n_names, l.type, d, dir);
		acct = import_account(cfg, dir,
				      certbot_conf_get(&l.conf, "renewalparams", "server"),
				      certbot_conf_get(&l.conf, "renewalparams", "account"));
		lineage_free(&l);
		if (acct == NULL || out->section == NULL)
			return -1;
		return import_note_account(rep, acct);
	}
	snprintf(out->result, sizeof(out->result), "skipped: %.1000s", err.msg);
	rep->skipped++;
	lineage_free(&l);
	return 0;
}

/* import_note_account - keep line unless the same line is there (takes it). */
int
import_note_account(struct mc_import_report *rep, char *line)
{
	char **grown;
	size_t i;

	for (i = 0; i < rep->n_accounts; i++)
		if (strcmp(rep->accounts[i], line) == 0 ||
		    (strstr(line, "already imported") != NULL &&
		     strncmp(rep->accounts[i], line, strcspn(line, ":")) == 0)) {
			free(line);
			return 0;
		}
	grown = realloc(rep->accounts, (rep->n_accounts + 1) * sizeof(*grown));
	if (grown == NULL) {
		free(line);
		return -1;
	}
	rep->accounts = grown;
	rep->accounts[rep->n_accounts++] = line;
	return 0;
}

/* conf_filter - the NAME.conf entries of renewal/. */
static int
conf_filter(const struct dirent *de)
{
	size_t n = strlen(de->d_name);

	return de->d_name[0] != '.' && n > 5 && strcmp(de->d_name + n - 5, ".conf") == 0;
}

/* mc_import_certbot - import every lineage of dir. */
int
mc_import_certbot(const struct mc_config *cfg, const char *dir, bool link_hooks,
		  struct mc_import_report *rep, struct mc_err *err)
{
	struct import_daemons d;
	struct dirent **list = NULL;
	char renewal[4200];
	int n, i, rc = -1;

	memset(rep, 0, sizeof(*rep));
	snprintf(renewal, sizeof(renewal), "%s/renewal", dir);
	n = scandir(renewal, &list, conf_filter, alphasort);
	if (n < 0)
		return mc_err_errno(err, MC_ERR_USAGE, "import certbot: cannot read %s "
				    "(is %s certbot's configuration directory?)",
				    renewal, dir);
	import_daemons_read(cfg, &d);
	rep->lineages = calloc((size_t)n + 1, sizeof(*rep->lineages));
	if (rep->lineages == NULL)
		goto out;
	for (i = 0; i < n; i++, rep->n_lineages++)
		if (lineage_one(cfg, dir, list[i]->d_name, &d, rep,
				&rep->lineages[i]) == -1)
			goto out;
	rc = import_hooks(cfg, dir, link_hooks, rep, err);
out:
	if (rc == -1 && err != NULL && err->cat == MC_ERR_NONE)
		mc_err_set(err, MC_ERR_SYS, "import certbot: out of memory");
	for (i = 0; i < n; i++)
		free(list[i]);
	free(list);
	import_daemons_free(&d);
	return rc;
}

/* mc_import_report_clear - free what rep owns. */
void
mc_import_report_clear(struct mc_import_report *rep)
{
	size_t i;

	if (rep == NULL)
		return;
	for (i = 0; i < rep->n_lineages; i++)
		free(rep->lineages[i].section);
	free(rep->lineages);
	free(rep->hooks);
	for (i = 0; i < rep->n_accounts; i++)
		free(rep->accounts[i]);
	free(rep->accounts);
	memset(rep, 0, sizeof(*rep));
}
