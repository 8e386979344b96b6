/*
 * store_meta.c - meta.json of a certificate version (Jansson stays here).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "mailcert/crypto.h"
#include "mailcert/fsio.h"
#include "mailcert/store.h"
#include "deploy/store_int.h"

#define META_MAX (256 * 1024)

/* mc_store_meta_clear - free the members of meta. */
void
mc_store_meta_clear(struct mc_cert_meta *meta)
{
	if (meta == NULL)
		return;
	mc_strv_free(meta->names, meta->n_names);
	free(meta->directory);
	free(meta->order_url);
	free(meta->cert_url);
	free(meta->ari_cert_id);
	free(meta->last_error);
	if (meta->second != NULL) {
		mc_store_meta_clear(meta->second);
		free(meta->second);
	}
	memset(meta, 0, sizeof(*meta));
}

/* mc_store_meta_leaf - the facts of pair slot (0: meta, 1: second). */
const struct mc_cert_meta *
mc_store_meta_leaf(const struct mc_cert_meta *meta, size_t slot)
{
	return slot == 0 ? meta : slot == 1 ? meta->second : NULL;
}

/* mc_store_meta_earliest - the leaf that expires first. */
const struct mc_cert_meta *
mc_store_meta_earliest(const struct mc_cert_meta *meta)
{
	if (meta->second != NULL && meta->second->not_after < meta->not_after)
		return meta->second;
	return meta;
}

/* mc_store_meta_pairs - 1, or 2 for a dual version. */
size_t
mc_store_meta_pairs(const struct mc_cert_meta *meta)
{
	return meta->second != NULL ? 2 : 1;
}

/* mc_store_meta_fill - certificate facts of the chain into meta. */
int
mc_store_meta_fill(struct mc_cert_meta *meta, STACK_OF(X509) *chain,
		   struct mc_err *err)
{
	X509 *leaf = sk_X509_value(chain, 0);
	struct mc_x509_info info;
	char *id;

	if (leaf == NULL || mc_x509_info(leaf, &info, err) == -1)
		return mc_err_set(err, MC_ERR_INPUT, "no readable certificate");
	memcpy(meta->serial, info.serial, sizeof(meta->serial));
	memcpy(meta->sha256, info.sha256, sizeof(meta->sha256));
	snprintf(meta->issuer, sizeof(meta->issuer), "%s", info.issuer_cn);
	meta->not_before = info.not_before;
	meta->not_after = info.not_after;
	if (mc_key_spki_sha256(X509_get0_pubkey(leaf), meta->spki_sha256,
			       err) == -1)
		return -1;
	id = mc_x509_ari_cert_id(leaf, NULL);
	free(meta->ari_cert_id);
	meta->ari_cert_id = id; /* NULL when the leaf has no AKI */
	return 0;
}

/* meta_set_str - add key: value when value is set. */
static int
meta_set_str(json_t *o, const char *key, const char *value)
{
	if (value == NULL || value[0] == '\0')
		return 0;
	return json_object_set_new(o, key, json_string(value));
}

/* meta_facts_json - the certificate facts of m into o; nonzero on error. */
static int
meta_facts_json(json_t *o, const struct mc_cert_meta *m)
{
	int bad = 0;

	bad |= meta_set_str(o, "key_type", mc_key_type_name(m->key_type));
	bad |= meta_set_str(o, "serial", m->serial);
	bad |= meta_set_str(o, "sha256", m->sha256);
	bad |= meta_set_str(o, "spki_sha256", m->spki_sha256);
	bad |= meta_set_str(o, "issuer", m->issuer);
	bad |= json_object_set_new(o, "not_before", json_integer(m->not_before));
	bad |= json_object_set_new(o, "not_after", json_integer(m->not_after));
	bad |= meta_set_str(o, "order_url", m->order_url);
	bad |= meta_set_str(o, "cert_url", m->cert_url);
	bad |= meta_set_str(o, "ari_cert_id", m->ari_cert_id);
	if (m->ari_renew_at)
		bad |= json_object_set_new(o, "ari_renew_at",
					   json_integer(m->ari_renew_at));
	if (m->ari_next_poll)
		bad |= json_object_set_new(o, "ari_next_poll",
					   json_integer(m->ari_next_poll));
	return bad;
}

/* meta_to_json - the JSON object of meta (new reference). */
static json_t *
meta_to_json(const struct mc_cert_meta *m)
{
	json_t *o = json_object(), *names = json_array(), *second = NULL;
	size_t i;
	int bad = (o == NULL || names == NULL);

	for (i = 0; !bad && i < m->n_names; i++)
		bad |= json_array_append_new(names, json_string(m->names[i]));
	bad |= json_object_set_new(o, "names", names);
	bad |= json_object_set_new(o, "version", json_integer(m->version));
	bad |= meta_facts_json(o, m);
	bad |= json_object_set_new(o, "issued_at", json_integer(m->issued_at));
	bad |= meta_set_str(o, "directory", m->directory);
	bad |= meta_set_str(o, "status", m->status);
	bad |= meta_set_str(o, "last_error", m->last_error);
	if (m->prior)
		bad |= json_object_set_new(o, "prior", json_integer(m->prior));
	bad |= meta_set_str(o, "revocation_reason", m->revocation_reason);
	if (m->revoked_at)
		bad |= json_object_set_new(o, "revoked_at",
					   json_integer(m->revoked_at));
	if (m->second != NULL) {
		second = json_object();
		bad |= second == NULL || meta_facts_json(second, m->second);
		bad |= json_object_set_new(o, "second", second);
	}
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* store_json_write - encode o and write it to path atomically. */
int
store_json_write(const char *path, json_t *o, mode_t mode, struct mc_err *err)
{
	char *text = o ? json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;
	int rc;

	json_decref(o);
	if (text == NULL)
		return mc_err_set(err, MC_ERR_SYS, "cannot encode %s", path);
	rc = mc_fsio_write(path, text, strlen(text), mode, MC_FSIO_KEEP_OWNER,
			   false, err);
	free(text);
	return rc;
}

/* store_state_remove - remove a cert's state file durably. */
int
store_state_remove(const char *state_dir, const char *name, const char *file,
		   struct mc_err *err)
{
	char path[4200], dir[4200];

	snprintf(dir, sizeof(dir), "%s/certs/%s", state_dir, name);
	snprintf(path, sizeof(path), "%.4000s/%s", dir, file);
	if (unlink(path) == -1)
		return errno == ENOENT ? 0
				       : mc_err_errno(err, MC_ERR_SYS,
						      "cannot remove %s", path);
	return mc_fsio_fsync_dir(dir, err);
}

/* store_meta_write - write meta.json into dir atomically. */
int
store_meta_write(const char *dir, const struct mc_cert_meta *meta,
		 struct mc_err *err)
{
	char path[4200];

	snprintf(path, sizeof(path), "%s/meta.json", dir);
	return store_json_write(path, meta_to_json(meta), 0644, err);
}

/* store_meta_create_at - meta.json into a new directory (see store_int.h). */
int
store_meta_create_at(int dfd, const char *dir, const struct mc_cert_meta *meta,
		     struct mc_err *err)
{
	json_t *o = meta_to_json(meta);
	char *text = o ? json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;
	int rc;

	json_decref(o);
	if (text == NULL)
		return mc_err_set(err, MC_ERR_SYS, "cannot encode %s/meta.json",
				  dir);
	rc = mc_fsio_create_at(dfd, dir, "meta.json", text, strlen(text), 0644,
			       MC_FSIO_KEEP_OWNER, err);
	free(text);
	return rc;
}

/* meta_dup - a copy of a JSON string member, or NULL. */
static char *
meta_dup(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? strdup(s) : NULL;
}

/* meta_copy - a JSON string member into a fixed buffer. */
static void
meta_copy(json_t *o, const char *key, char *buf, size_t size)
{
	const char *s = json_string_value(json_object_get(o, key));

	snprintf(buf, size, "%s", s ? s : "");
}

/* meta_names - the names array into meta. */
static int
meta_names(json_t *o, struct mc_cert_meta *m)
{
	json_t *a = json_object_get(o, "names"), *v;
	size_t i;

	if (!json_is_array(a) || json_array_size(a) == 0)
		return -1;
	m->names = calloc(json_array_size(a), sizeof(char *));
	if (m->names == NULL)
		return -1;
	json_array_foreach(a, i, v) {
		if (!json_is_string(v))
			return -1;
		m->names[i] = strdup(json_string_value(v));
		if (m->names[i] == NULL)
			return -1;
		m->n_names = i + 1;
	}
	return 0;
}

/* meta_facts_from_json - the certificate facts of o into m. */
static int
meta_facts_from_json(json_t *o, struct mc_cert_meta *m)
{
	const char *kts = json_string_value(json_object_get(o, "key_type"));
	enum mc_key_type kt;

	if (!json_is_object(o) || kts == NULL || mc_key_type_parse(kts, &kt) == -1)
		return -1;
	m->key_type = kt;
	meta_copy(o, "serial", m->serial, sizeof(m->serial));
	meta_copy(o, "sha256", m->sha256, sizeof(m->sha256));
	meta_copy(o, "spki_sha256", m->spki_sha256, sizeof(m->spki_sha256));
	meta_copy(o, "issuer", m->issuer, sizeof(m->issuer));
	m->not_before = json_integer_value(json_object_get(o, "not_before"));
	m->not_after = json_integer_value(json_object_get(o, "not_after"));
	m->ari_renew_at = json_integer_value(json_object_get(o, "ari_renew_at"));
	m->ari_next_poll =
		json_integer_value(json_object_get(o, "ari_next_poll"));
	m->order_url = meta_dup(o, "order_url");
	m->cert_url = meta_dup(o, "cert_url");
	m->ari_cert_id = meta_dup(o, "ari_cert_id");
	return m->not_after > 0 ? 0 : -1;
}

/* meta_second_from_json - the "second" object of o (if any) into m. */
static int
meta_second_from_json(json_t *o, struct mc_cert_meta *m)
{
	json_t *s = json_object_get(o, "second");

	if (s == NULL)
		return 0;
	m->second = calloc(1, sizeof(*m->second));
	if (m->second == NULL || meta_facts_from_json(s, m->second) == -1)
		return -1;
	return mc_key_type_is_ec(m->key_type) !=
			       mc_key_type_is_ec(m->second->key_type)
		       ? 0
		       : -1;
}

/* meta_from_json - the fields of o into m. */
static int
meta_from_json(json_t *o, struct mc_cert_meta *m)
{
	if (!json_is_object(o) || meta_names(o, m) == -1 ||
	    meta_facts_from_json(o, m) == -1)
		return -1;
	m->version = (unsigned)json_integer_value(json_object_get(o, "version"));
	meta_copy(o, "status", m->status, sizeof(m->status));
	meta_copy(o, "revocation_reason", m->revocation_reason,
		  sizeof(m->revocation_reason));
	m->revoked_at = json_integer_value(json_object_get(o, "revoked_at"));
	m->issued_at = json_integer_value(json_object_get(o, "issued_at"));
	m->directory = meta_dup(o, "directory");
	m->last_error = meta_dup(o, "last_error");
	m->prior = (unsigned)json_integer_value(json_object_get(o, "prior"));
	return meta_second_from_json(o, m);
}

/* store_meta_read - parse dir/meta.json into *meta. */
int
store_meta_read(const char *dir, struct mc_cert_meta *meta, struct mc_err *err)
{
	char path[4200], *text = NULL;
	size_t len = 0;
	json_error_t jerr;
	json_t *o;
	struct mc_cert_meta m;

	memset(&m, 0, sizeof(m));
	snprintf(path, sizeof(path), "%s/meta.json", dir);
	if (mc_fsio_read(path, META_MAX, &text, &len, err) == -1)
		return -1;
	o = json_loadb(text, len, 0, &jerr);
	free(text);
	if (o == NULL)
		return mc_err_set(err, MC_ERR_INPUT, "%s:%d: %s", path,
				  jerr.line, jerr.text);
	if (meta_from_json(o, &m) == -1) {
		json_decref(o);
		mc_store_meta_clear(&m);
		return mc_err_set(err, MC_ERR_INPUT,
				  "%s: missing or malformed fields; restore "
				  "it from a backup or issue anew",
				  path);
	}
	json_decref(o);
	*meta = m;
	return 0;
}

/* mc_store_meta_text - meta as the text of a meta.json (new string). */
char *
mc_store_meta_text(const struct mc_cert_meta *meta, struct mc_err *err)
{
	json_t *o = meta_to_json(meta);
	char *text = o ? json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;

	json_decref(o);
	if (text == NULL)
		mc_err_set(err, MC_ERR_SYS, "cannot encode meta.json");
	return text;
}

/* mc_store_meta_parse - the text of a meta.json (from where: for errors). */
int
mc_store_meta_parse(const char *text, size_t len, const char *where,
		    struct mc_cert_meta *meta, struct mc_err *err)
{
	struct mc_cert_meta m;
	json_error_t jerr;
	json_t *o;

	memset(&m, 0, sizeof(m));
	o = json_loadb(text, len, 0, &jerr);
	if (o == NULL)
		return mc_err_set(err, MC_ERR_INPUT, "%s:%d: %s", where,
				  jerr.line, jerr.text);
	if (meta_from_json(o, &m) == -1) {
		json_decref(o);
		mc_store_meta_clear(&m);
		return mc_err_set(err, MC_ERR_INPUT,
				  "%s: missing or malformed fields", where);
	}
	json_decref(o);
	*meta = m;
	return 0;
}
