/*
 * certbot_account.c - certbot's ACME account and renewal hooks.
 *
 * certbot keeps an account in accounts/<server host[:port]><server path>/
 * <id>/ with private_key.json (a JWK) and regr.json ({"uri": account URL,
 * "body": {...}}). It is stored through the store's account functions for
 * the same directory URL, so the layout of the state follows the store.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "mailcert/crypto.h"
#include "mailcert/hooks.h"
#include "mailcert/fsio.h"
#include "mailcert/store.h"

#include "import/import_int.h"

#define JSON_MAX (64 * 1024)
#define LINE_MAX_ 1400

/* account_dir - DIR/accounts/<host[:port]><path>/<id> into buf. */
static int
account_dir(const char *dir, const char *server, const char *id, char *buf,
	    size_t size)
{
	const char *p = strstr(server, "://");
	int n;

	if (p == NULL || strchr(id, '/') != NULL || id[0] == '.')
		return -1;
	p += 3;
	n = snprintf(buf, size, "%s/accounts/%s/%s", dir, p, id);
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

/* account_url - the account URL from regr.json (new string). */
static char *
account_url(const char *path, struct mc_err *err)
{
	char *text = NULL, *url = NULL;
	size_t len = 0;
	json_t *o;
	const char *u;

	if (mc_fsio_read(path, JSON_MAX, &text, &len, err) == -1)
		return NULL;
	o = json_loadb(text, len, 0, NULL);
	u = json_string_value(json_object_get(o, "uri"));
	if (u != NULL && strncmp(u, "https://", 8) == 0)
		url = strdup(u);
	else
		mc_err_set(err, MC_ERR_INPUT, "%s has no account \"uri\"", path);
	json_decref(o);
	free(text);
	return url;
}

/* account_key - the key from private_key.json (the text is cleansed). */
static EVP_PKEY *
account_key(const char *path, struct mc_err *err)
{
	char *text = NULL;
	size_t len = 0;
	EVP_PKEY *key;

	if (mc_fsio_read(path, JSON_MAX, &text, &len, err) == -1)
		return NULL;
	key = mc_key_from_jwk(text, len, err);
	OPENSSL_clear_free(text, len);
	if (key == NULL)
		mc_err_prefix(err, "%s", path);
	return key;
}

/* account_store - save key and url for server unless an account exists. */
static void
account_store(const struct mc_config *cfg, const char *server, EVP_PKEY *key,
	      const char *url, char *line, size_t size)
{
	EVP_PKEY *have = NULL;
	char *kid = NULL, a[65], b[65];
	struct mc_err err;
	int found;

	found = mc_store_account_load(cfg->state_dir, server, &have, &kid, NULL,
				      &err);
	if (found == 1) {
		mc_key_spki_sha256(have, a, NULL);
		mc_key_spki_sha256(key, b, NULL);
		snprintf(line, size, strcmp(a, b) == 0 ?
			 "account %s: already imported (%s)" :
			 "account %s: mailcert already has another account for this "
			 "directory; certbot's (%s) was not imported", server, url);
	} else if (found == -1 ||
		   mc_store_account_save_key(cfg->state_dir, server, key, &err) == -1 ||
		   mc_store_account_save(cfg->state_dir, server, url, "valid", NULL, 0,
					 &err) == -1) {
		snprintf(line, size, "account %s: NOT imported: %.1000s", server, err.msg);
	} else {
		snprintf(line, size, "account %s: imported (%s); no new registration "
			 "is needed", server, url);
	}
	EVP_PKEY_free(have);
	free(kid);
}

/* import_account - store the certbot account id of server (a line, new). */
char *
import_account(const struct mc_config *cfg, const char *dir, const char *server,
	       const char *id)
{
	char adir[4200], path[4400], line[LINE_MAX_];
	EVP_PKEY *key = NULL;
	char *url = NULL;
	struct mc_err err;

	if (server == NULL || id == NULL ||
	    account_dir(dir, server, id, adir, sizeof(adir)) == -1) {
		snprintf(line, sizeof(line), "account %s: the renewal configuration "
			 "names no usable server and account", server ? server : "?");
		return strdup(line);
	}
	snprintf(path, sizeof(path), "%s/regr.json", adir);
	url = account_url(path, &err);
	snprintf(path, sizeof(path), "%s/private_key.json", adir);
	if (url != NULL)
		key = account_key(path, &err);
	if (key == NULL)
		snprintf(line, sizeof(line), "account %.200s: NOT imported: %.1000s",
			 server, err.msg);
	else
		account_store(cfg, server, key, url, line, sizeof(line));
	EVP_PKEY_free(key);
	free(url);
	return strdup(line);
}

/* hooks_link - link h->dest to h->source unless something is there. */
static void
hooks_link(struct mc_import_hook *h, const char *stage_dir)
{
	struct mc_err err;

	if (mc_fsio_exists(h->dest)) {
		snprintf(h->result, sizeof(h->result), "%.200s exists: not replaced", h->dest);
		return;
	}
	if (mc_fsio_mkdirs(stage_dir, 0755, &err) == -1 ||
	    mc_fsio_symlink(h->source, h->dest, &err) == -1)
		snprintf(h->result, sizeof(h->result), "NOT linked: %.200s", err.msg);
	else
		snprintf(h->result, sizeof(h->result), "linked");
}

/* hooks_stage - the executables of renewal-hooks/<stage>/ into rep. */
static int
hooks_stage(const struct mc_config *cfg, const char *dir, const char *stage,
	    bool link, struct mc_import_report *rep)
{
	char src_dir[4200], stage_dir[4200];
	struct mc_import_hook *h;
	struct dirent *de;
	struct stat st;
	DIR *d;

	snprintf(src_dir, sizeof(src_dir), "%s/renewal-hooks/%s", dir, stage);
	snprintf(stage_dir, sizeof(stage_dir), "%s/%s.d", cfg->hooks_dir, stage);
	d = opendir(src_dir);
	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		if (mc_hooks_name_ignored(de->d_name))
			continue;
		h = realloc(rep->hooks, (rep->n_hooks + 1) * sizeof(*h));
		if (h == NULL) {
			closedir(d);
			return -1;
		}
		rep->hooks = h;
		h = &rep->hooks[rep->n_hooks++];
		memset(h, 0, sizeof(*h));
		snprintf(h->stage, sizeof(h->stage), "%s", stage);
		snprintf(h->source, sizeof(h->source), "%.2000s/%.200s", src_dir, de->d_name);
		snprintf(h->dest, sizeof(h->dest), "%.2000s/%.200s", stage_dir, de->d_name);
		if (stat(h->source, &st) == -1 || !S_ISREG(st.st_mode) ||
		    access(h->source, X_OK) == -1)
			snprintf(h->result, sizeof(h->result), "not an executable "
				 "file: certbot did not run it either");
		else if (link)
			hooks_link(h, stage_dir);
	}
	closedir(d);
	return 0;
}

/* import_hooks - renewal-hooks/{pre,deploy,post}/ into rep (linked if link). */
int
import_hooks(const struct mc_config *cfg, const char *dir, bool link,
	     struct mc_import_report *rep, struct mc_err *err)
{
	static const char *const stages[] = {"pre", "deploy", "post"};
	size_t i;

	for (i = 0; i < 3; i++)
		if (hooks_stage(cfg, dir, stages[i], link, rep) == -1)
			return mc_err_set(err, MC_ERR_SYS, "out of memory");
	return 0;
}
