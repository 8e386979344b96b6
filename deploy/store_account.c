/*
 * store_account.c - the ACME account key and account.json, one account per
 * directory URL: state_dir/accounts/<host>[_<port>]/<path segments>/.
 *
 * The host is lower-cased and every byte other than letters, digits, '.',
 * '-' and '_' becomes '_' (the ':' of a port, the brackets of an IPv6
 * literal); each path segment keeps letters, digits, '.', '-', '_', '~'
 * and percent-encodes everything else (a "." or ".." segment entirely), so
 * two directory URLs never share a folder and no segment can climb out.
 * Empty segments are skipped (".../dir/" is ".../dir"); a query is part of
 * the last segment; a fragment is ignored.
 *
 * Before this layout, accounts lived in accounts/<host> (the host as
 * written, port included). On first use of a directory whose folder has no
 * key yet, an old folder of its host whose account.json names this
 * directory (or names none) is moved into place: account.json first, then
 * account.key, each an atomic rename followed by an fsync of both folders.
 * A crash in between leaves the key behind, and the next run moves it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "mailcert/crypto.h"
#include "mailcert/fsio.h"
#include "mailcert/log.h"
#include "mailcert/store.h"

#define ACCOUNT_JSON_MAX (64 * 1024)
#define ACCOUNT_PATH_MAX 4096

/* account_authority - the authority part of url (after "://"): *start, length. */
static int
account_authority(const char *url, const char **start, size_t *len,
		  struct mc_err *err)
{
	const char *p = strstr(url, "://");

	if (p == NULL)
		return mc_err_set(err, MC_ERR_CONFIG,
				  "directory %s is not a URL", url);
	p += 3;
	*start = p;
	*len = strcspn(p, "/?#");
	if (*len == 0 || *len > 255)
		return mc_err_set(err, MC_ERR_CONFIG,
				  "directory %s has no usable host", url);
	return 0;
}

/* account_host_name - the host[:port] of url made file-safe into out
 * (lower-cased unless keep_case: the old layout kept the case). */
static int
account_host_name(const char *url, bool keep_case, char *out, size_t size,
		  struct mc_err *err)
{
	const char *p = NULL;
	size_t n = 0, i;

	if (account_authority(url, &p, &n, err) == -1)
		return -1;
	if (n >= size)
		return mc_err_set(err, MC_ERR_CONFIG,
				  "directory %s has no usable host", url);
	for (i = 0; i < n; i++) {
		char c = p[i];
		int ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
			 c == '.' || c == '-' || c == '_';

		if (c >= 'A' && c <= 'Z') {
			ok = 1;
			c = keep_case ? c : (char)(c - 'A' + 'a');
		}
		out[i] = ok ? c : '_'; /* ':' of a port, '[' of IPv6 */
	}
	out[n] = '\0';
	if (out[0] == '.')
		out[0] = '_';
	return 0;
}

/* account_seg_char - whether c stays as it is in a path segment. */
static bool
account_seg_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_' ||
	       c == '~';
}

/* account_append_seg - "/" and the encoded segment s[0..n) onto b. */
static int
account_append_seg(struct mc_buf *b, const char *s, size_t n)
{
	bool dots = strspn(s, ".") >= n; /* "." or "..": encode it all */
	size_t i;
	int rc = mc_buf_append(b, "/", 1, NULL);

	for (i = 0; rc == 0 && i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (account_seg_char(c) && !dots)
			rc = mc_buf_append(b, s + i, 1, NULL);
		else
			rc = mc_buf_appendf(b, NULL, "%%%02X", c);
	}
	return rc;
}

/* account_path_segs - the encoded path segments of url onto b, then its
 * query (if any) as one more segment starting with "%3F". */
static int
account_path_segs(const char *url, struct mc_buf *b, struct mc_err *err)
{
	const char *p = NULL, *path_end, *end;
	size_t n = 0, seg;

	if (account_authority(url, &p, &n, err) == -1)
		return -1;
	p += n;
	end = p + strcspn(p, "#");
	path_end = p + strcspn(p, "?#");
	while (p < path_end) {
		p += strspn(p, "/");
		seg = strcspn(p, "/?#");
		if (seg > 0 && account_append_seg(b, p, seg) == -1)
			goto long_url;
		p += seg;
	}
	if (path_end < end && end - path_end > 1 &&
	    account_append_seg(b, path_end, (size_t)(end - path_end)) == -1)
		goto long_url;
	return 0;
long_url:
	return mc_err_set(err, MC_ERR_CONFIG, "directory %s is too long", url);
}

/* mc_store_account_dir - "state_dir/accounts/<host>/<path>". */
char *
mc_store_account_dir(const char *state_dir, const char *directory,
		     struct mc_err *err)
{
	char host[256];
	struct mc_buf b;

	mc_buf_init(&b, ACCOUNT_PATH_MAX);
	if (account_host_name(directory, false, host, sizeof(host), err) == -1)
		return NULL;
	if (mc_buf_appendf(&b, err, "%s/accounts/%s", state_dir, host) == -1 ||
	    account_path_segs(directory, &b, err) == -1) {
		mc_buf_free(&b);
		return NULL;
	}
	return mc_buf_take(&b);
}

/* account_file - "dir/name" into buf. */
static void
account_file(const char *dir, const char *name, char *buf, size_t size)
{
	snprintf(buf, size, "%s/%s", dir, name);
}

/* account_read_json - dir/account.json as an object (*out new, NULL when
 * the file does not exist). */
static int
account_read_json(const char *dir, json_t **out, struct mc_err *err)
{
	char path[ACCOUNT_PATH_MAX + 32], *text = NULL;
	size_t len = 0;
	json_t *o;

	*out = NULL;
	account_file(dir, "account.json", path, sizeof(path));
	if (!mc_fsio_exists(path))
		return 0;
	if (mc_fsio_read(path, ACCOUNT_JSON_MAX, &text, &len, err) == -1)
		return -1;
	o = json_loadb(text, len, 0, NULL);
	free(text);
	if (!json_is_object(o)) {
		json_decref(o);
		return mc_err_set(err, MC_ERR_INPUT,
				  "%s is damaged (not a JSON object); remove it "
				  "and run `mailcert account register`",
				  path);
	}
	*out = o;
	return 0;
}

/* account_move - rename old_dir/name to new_dir/name if it exists. */
static int
account_move(const char *old_dir, const char *new_dir, const char *name,
	     struct mc_err *err)
{
	char from[ACCOUNT_PATH_MAX + 32], to[ACCOUNT_PATH_MAX + 32];

	account_file(old_dir, name, from, sizeof(from));
	account_file(new_dir, name, to, sizeof(to));
	if (!mc_fsio_exists(from))
		return 0;
	if (rename(from, to) == -1)
		return mc_err_errno(err, MC_ERR_SYS, "cannot move %s to %s",
				    from, to);
	if (mc_fsio_fsync_dir(new_dir, err) == -1 ||
	    mc_fsio_fsync_dir(old_dir, err) == -1)
		return -1;
	return 0;
}

/* account_old_dir - the folder of the host-only layout into *out (new
 * string), left NULL when it is the new folder itself. */
static int
account_old_dir(const char *state_dir, const char *directory,
		const char *new_dir, char **out, struct mc_err *err)
{
	char host[256], *dir;
	size_t n;

	*out = NULL;
	if (account_host_name(directory, true, host, sizeof(host), err) == -1)
		return -1;
	n = strlen(state_dir) + strlen(host) + 16;
	dir = malloc(n);
	if (dir == NULL)
		return mc_err_errno(err, MC_ERR_SYS, "out of memory");
	snprintf(dir, n, "%s/accounts/%s", state_dir, host);
	if (strcmp(dir, new_dir) == 0)
		free(dir);
	else
		*out = dir;
	return 0;
}

/* account_belongs - whether the old folder's account is directory's: its
 * account.json names it, or names no directory. */
static int
account_belongs(const char *old_dir, const char *directory, bool *yes,
		struct mc_err *err)
{
	json_t *o = NULL;
	const char *named;

	if (account_read_json(old_dir, &o, err) == -1)
		return -1;
	named = json_string_value(json_object_get(o, "directory"));
	*yes = named == NULL || strcmp(named, directory) == 0;
	json_decref(o);
	return 0;
}

/* account_migrate - move the account of the host-only layout into new_dir
 * when it belongs to directory and new_dir has no key yet. */
static int
account_migrate(const char *state_dir, const char *directory,
		const char *new_dir, struct mc_err *err)
{
	char key[ACCOUNT_PATH_MAX + 32], *old_dir = NULL;
	bool mine = false;
	int rc = -1;

	account_file(new_dir, "account.key", key, sizeof(key));
	if (mc_fsio_exists(key))
		return 0;
	if (account_old_dir(state_dir, directory, new_dir, &old_dir, err) == -1)
		return -1;
	if (old_dir == NULL)
		return 0;
	account_file(old_dir, "account.key", key, sizeof(key));
	if (!mc_fsio_exists(key)) {
		rc = 0;
		goto out;
	}
	if (account_belongs(old_dir, directory, &mine, err) == -1)
		goto out;
	if (!mine) {
		rc = 0;
		goto out;
	}
	if (mc_fsio_mkdirs(new_dir, 0700, err) == -1 ||
	    account_move(old_dir, new_dir, "account.json", err) == -1 ||
	    account_move(old_dir, new_dir, "account.key", err) == -1) {
		mc_err_prefix(err, "moving the account of %s to %s", directory,
			      new_dir);
		goto out;
	}
	mc_log_info("moved the account of %s from %s to %s (one account per "
		    "directory URL)",
		    directory, old_dir, new_dir);
	rc = 0;
out:
	free(old_dir);
	return rc;
}

/* account_read - kid and status from account.json (both may stay NULL). */
static int
account_read(const char *dir, char **kid, char **status, struct mc_err *err)
{
	char path[ACCOUNT_PATH_MAX + 32];
	const char *url, *st;
	json_t *o = NULL;
	int rc = -1;

	if (account_read_json(dir, &o, err) == -1)
		return -1;
	if (o == NULL)
		return 0;
	url = json_string_value(json_object_get(o, "url"));
	st = json_string_value(json_object_get(o, "status"));
	if (url == NULL || url[0] == '\0') {
		account_file(dir, "account.json", path, sizeof(path));
		mc_err_set(err, MC_ERR_INPUT,
			   "%s is damaged (no \"url\"); run `mailcert account "
			   "register` to register the key again",
			   path);
		goto out;
	}
	*kid = strdup(url);
	if (status != NULL && st != NULL && st[0] != '\0')
		*status = strdup(st);
	if (*kid == NULL || (status != NULL && st != NULL && st[0] != '\0' &&
			     *status == NULL)) {
		mc_err_errno(err, MC_ERR_SYS, "out of memory");
		goto out;
	}
	rc = 0;
out:
	json_decref(o);
	return rc;
}

/* mc_store_account_load - account key, URL and status. */
int
mc_store_account_load(const char *state_dir, const char *directory,
		      EVP_PKEY **key, char **kid, char **status,
		      struct mc_err *err)
{
	char *dir = mc_store_account_dir(state_dir, directory, err);
	char path[ACCOUNT_PATH_MAX + 32], *k_url = NULL, *k_status = NULL;
	EVP_PKEY *k = NULL;
	int rc = -1;

	if (dir == NULL || account_migrate(state_dir, directory, dir, err) == -1)
		goto out;
	account_file(dir, "account.key", path, sizeof(path));
	if (!mc_fsio_exists(path)) {
		rc = 0;
		goto out;
	}
	k = mc_key_load(path, err);
	if (k == NULL) {
		mc_err_prefix(err, "account key (move it away and run "
				   "`mailcert account register` for a new "
				   "account)");
		goto out;
	}
	if (account_read(dir, &k_url, &k_status, err) == -1)
		goto out;
	*key = k;
	*kid = k_url;
	if (status != NULL)
		*status = k_status;
	else
		free(k_status);
	k = NULL;
	k_url = k_status = NULL;
	rc = 1;
out:
	EVP_PKEY_free(k);
	free(k_url);
	free(k_status);
	free(dir);
	return rc;
}

/* mc_store_account_save_key - write account.key (0600). */
int
mc_store_account_save_key(const char *state_dir, const char *directory,
			  EVP_PKEY *key, struct mc_err *err)
{
	char *dir = mc_store_account_dir(state_dir, directory, err);
	char path[ACCOUNT_PATH_MAX + 32];
	struct mc_buf pem;
	int rc = -1;

	mc_buf_init(&pem, 0);
	if (dir == NULL || mc_fsio_mkdirs(dir, 0700, err) == -1 ||
	    mc_key_to_pem(key, &pem, err) == -1)
		goto out;
	account_file(dir, "account.key", path, sizeof(path));
	rc = mc_fsio_write(path, pem.data, pem.len, 0600, MC_FSIO_KEEP_OWNER,
			   false, err);
out:
	mc_buf_clear_free(&pem);
	free(dir);
	return rc;
}

/* account_json - the account.json object (new reference) or NULL. */
static json_t *
account_json(const char *directory, const char *url, const char *status,
	     const char *const *contact, size_t n_contact)
{
	json_t *o = json_object(), *c = json_array();
	size_t i;
	int bad = o == NULL || c == NULL;

	for (i = 0; !bad && i < n_contact; i++)
		bad |= json_array_append_new(c, json_string(contact[i]));
	bad |= json_object_set_new(o, "url", json_string(url));
	bad |= json_object_set_new(o, "status",
				   json_string(status ? status : ""));
	bad |= json_object_set_new(o, "directory", json_string(directory));
	bad |= json_object_set(o, "contact", c);
	json_decref(c);
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* mc_store_account_save - write account.json. */
int
mc_store_account_save(const char *state_dir, const char *directory,
		      const char *url, const char *status,
		      const char *const *contact, size_t n_contact,
		      struct mc_err *err)
{
	char *dir = mc_store_account_dir(state_dir, directory, err);
	char path[ACCOUNT_PATH_MAX + 32], *text = NULL;
	json_t *o = NULL;
	int rc = -1;

	if (dir == NULL || mc_fsio_mkdirs(dir, 0700, err) == -1)
		goto out;
	o = account_json(directory, url, status, contact, n_contact);
	text = o ? json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;
	if (text == NULL) {
		mc_err_set(err, MC_ERR_SYS, "cannot encode account.json");
		goto out;
	}
	account_file(dir, "account.json", path, sizeof(path));
	rc = mc_fsio_write(path, text, strlen(text), 0600, MC_FSIO_KEEP_OWNER,
			   false, err);
out:
	free(text);
	json_decref(o);
	free(dir);
	return rc;
}
