/*
 * store_account.c - the ACME account key and account.json per directory host.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "mailcert/crypto.h"
#include "mailcert/fsio.h"
#include "mailcert/store.h"

#define ACCOUNT_JSON_MAX (64 * 1024)

/* account_host - the host[:port] part of an https URL, made file-safe. */
static int
account_host(const char *url, char *out, size_t size, struct mc_err *err)
{
	const char *p = strstr(url, "://"), *end;
	size_t n, i;

	if (p == NULL)
		return mc_err_set(err, MC_ERR_CONFIG,
				  "directory %s is not a URL", url);
	p += 3;
	end = p + strcspn(p, "/?#");
	n = (size_t)(end - p);
	if (n == 0 || n >= size)
		return mc_err_set(err, MC_ERR_CONFIG,
				  "directory %s has no usable host", url);
	for (i = 0; i < n; i++) {
		char c = p[i];
		int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			 (c >= '0' && c <= '9') || c == '.' || c == '-' ||
			 c == '_';

		out[i] = ok ? c : '_'; /* ':' of a port, '[' of IPv6 */
	}
	out[n] = '\0';
	if (out[0] == '.')
		out[0] = '_';
	return 0;
}

/* mc_store_account_dir - "state_dir/accounts/<host>". */
char *
mc_store_account_dir(const char *state_dir, const char *directory,
		     struct mc_err *err)
{
	char host[256], *dir;
	size_t n;

	if (account_host(directory, host, sizeof(host), err) == -1)
		return NULL;
	n = strlen(state_dir) + strlen(host) + 16;
	dir = malloc(n);
	if (dir == NULL) {
		mc_err_errno(err, MC_ERR_SYS, "out of memory");
		return NULL;
	}
	snprintf(dir, n, "%s/accounts/%s", state_dir, host);
	return dir;
}

/* account_read_kid - the URL from account.json, if any. */
static int
account_read_kid(const char *dir, char **kid, struct mc_err *err)
{
	char path[4200], *text = NULL;
	size_t len = 0;
	json_t *o;
	const char *url;

	*kid = NULL;
	snprintf(path, sizeof(path), "%s/account.json", dir);
	if (!mc_fsio_exists(path))
		return 0;
	if (mc_fsio_read(path, ACCOUNT_JSON_MAX, &text, &len, err) == -1)
		return -1;
	o = json_loadb(text, len, 0, NULL);
	free(text);
	url = json_string_value(json_object_get(o, "url"));
	if (url != NULL)
		*kid = strdup(url);
	json_decref(o);
	if (url == NULL)
		return mc_err_set(err, MC_ERR_INPUT,
				  "%s is damaged (no \"url\"); remove it and "
				  "run `mailcert account register`",
				  path);
	return 0;
}

/* mc_store_account_load - account key and URL. */
int
mc_store_account_load(const char *state_dir, const char *directory,
		      EVP_PKEY **key, char **kid, struct mc_err *err)
{
	char *dir = mc_store_account_dir(state_dir, directory, err);
	char path[4200];
	EVP_PKEY *k = NULL;
	int rc = -1;

	if (dir == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/account.key", dir);
	if (!mc_fsio_exists(path)) {
		rc = 0;
		goto out;
	}
	k = mc_key_load(path, err);
	if (k == NULL || account_read_kid(dir, kid, err) == -1)
		goto out;
	*key = k;
	k = NULL;
	rc = 1;
out:
	EVP_PKEY_free(k);
	free(dir);
	return rc;
}

/* mc_store_account_save_key - write account.key (0600). */
int
mc_store_account_save_key(const char *state_dir, const char *directory,
			  EVP_PKEY *key, struct mc_err *err)
{
	char *dir = mc_store_account_dir(state_dir, directory, err);
	char path[4200];
	struct mc_buf pem;
	int rc = -1;

	mc_buf_init(&pem, 0);
	if (dir == NULL || mc_fsio_mkdirs(dir, 0700, err) == -1 ||
	    mc_key_to_pem(key, &pem, err) == -1)
		goto out;
	snprintf(path, sizeof(path), "%s/account.key", dir);
	rc = mc_fsio_write(path, pem.data, pem.len, 0600, MC_FSIO_KEEP_OWNER,
			   false, err);
out:
	mc_buf_clear_free(&pem);
	free(dir);
	return rc;
}

/* mc_store_account_save - write account.json. */
int
mc_store_account_save(const char *state_dir, const char *directory,
		      const char *url, const char *status,
		      const char *const *contact, size_t n_contact,
		      struct mc_err *err)
{
	char *dir = mc_store_account_dir(state_dir, directory, err);
	char path[4200], *text = NULL;
	json_t *o = json_object(), *c = json_array();
	size_t i;
	int rc = -1;

	if (dir == NULL || o == NULL || c == NULL)
		goto out;
	for (i = 0; i < n_contact; i++)
		json_array_append_new(c, json_string(contact[i]));
	json_object_set_new(o, "url", json_string(url));
	json_object_set_new(o, "status", json_string(status ? status : ""));
	json_object_set_new(o, "directory", json_string(directory));
	json_object_set(o, "contact", c);
	text = json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS);
	if (text == NULL) {
		mc_err_set(err, MC_ERR_SYS, "cannot encode account.json");
		goto out;
	}
	snprintf(path, sizeof(path), "%s/account.json", dir);
	rc = mc_fsio_write(path, text, strlen(text), 0600, MC_FSIO_KEEP_OWNER,
			   false, err);
out:
	free(text);
	json_decref(c);
	json_decref(o);
	free(dir);
	return rc;
}
