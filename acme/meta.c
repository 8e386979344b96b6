/*
 * meta.c - the directory's "meta" object (RFC 8555 section 7.1.1):
 * termsOfService, externalAccountRequired, and the profiles of
 * draft-ietf-acme-profiles ("profiles": {"NAME": "description", ...}).
 * A profile name that is not a short printable word is ignored (it could
 * not be configured anyway) so it never reaches a message or a log line.
 */
#include <stdlib.h>
#include <string.h>

#include "acme/acme_int.h"
#include "mailcert/buf.h"
#include "mailcert/crypto.h"
#include "mailcert/log.h"

#define PROFILES_MAX 64
#define PROFILE_NAME_MAX 64

/* meta_profile_name_ok - a printable ASCII word of 1..64 bytes, no quotes. */
static bool
meta_profile_name_ok(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > PROFILE_NAME_MAX)
		return false;
	for (i = 0; i < n; i++)
		if (s[i] <= ' ' || s[i] > '~' || s[i] == '"' || s[i] == '\\')
			return false;
	return true;
}

/* meta_profiles - the names of meta.profiles into dir. */
static int
meta_profiles(struct acme_dir *dir, const json_t *obj, const char *url,
              struct mc_err *err)
{
	const char *name;
	json_t *v;

	if (obj == NULL || json_is_null(obj))
		return 0;
	if (!json_is_object(obj))
		return mc_err_set(err, MC_ERR_INPUT,
		                  "%s: field \"meta.profiles\" is not an object",
		                  url);
	dir->profiles = calloc(PROFILES_MAX + 1, sizeof(char *));
	if (dir->profiles == NULL)
		return mc_err_errno(err, MC_ERR_SYS, "out of memory");
	json_object_foreach((json_t *)obj, name, v)
	{
		(void)v; /* the description is for humans reading the directory */
		if (!meta_profile_name_ok(name) ||
		    dir->n_profiles == PROFILES_MAX) {
			mc_log_debug("%s: ignoring a profile with an unusable "
			             "name (or more than %d)",
			             url, PROFILES_MAX);
			continue;
		}
		dir->profiles[dir->n_profiles] = strdup(name);
		if (dir->profiles[dir->n_profiles] == NULL)
			return mc_err_errno(err, MC_ERR_SYS, "out of memory");
		dir->n_profiles++;
	}
	return 0;
}

/* acme_meta_parse - termsOfService, externalAccountRequired, profiles. */
int
acme_meta_parse(struct acme_dir *dir, const json_t *meta, const char *url,
                struct mc_err *err)
{
	const json_t *eab;
	const char *terms;

	if (meta == NULL || json_is_null(meta))
		return 0;
	if (!json_is_object(meta))
		return mc_err_set(err, MC_ERR_INPUT,
		                  "%s: field \"meta\" is not an object", url);
	eab = json_object_get(meta, "externalAccountRequired");
	if (eab != NULL && !json_is_boolean(eab))
		return mc_err_set(err, MC_ERR_INPUT,
		                  "%s: field \"meta.externalAccountRequired\" is "
		                  "not true or false",
		                  url);
	dir->eab_required = json_is_true(eab);
	if (acme_json_str(meta, "termsOfService", url, false, false, &terms,
	                  err) == -1 ||
	    acme_strdup_opt(terms, &dir->terms, err) == -1)
		return -1;
	return meta_profiles(dir, json_object_get(meta, "profiles"), url, err);
}

/* acme_meta_clear - free what acme_meta_parse stored. */
void
acme_meta_clear(struct acme_dir *dir)
{
	free(dir->terms);
	mc_strv_free(dir->profiles, dir->n_profiles);
	dir->terms = NULL;
	dir->profiles = NULL;
	dir->n_profiles = 0;
}

/* mc_acme_eab_required - the directory's meta.externalAccountRequired. */
bool
mc_acme_eab_required(const struct mc_acme *acme)
{
	return acme->dir.eab_required;
}

/* meta_profile_list - "a, b, c" of the offered profiles (new string). */
static char *
meta_profile_list(const struct acme_dir *dir)
{
	struct mc_buf b;
	size_t i;

	mc_buf_init(&b, 0);
	for (i = 0; i < dir->n_profiles; i++)
		if (mc_buf_appendf(&b, NULL, "%s%s", i ? ", " : "",
		                   dir->profiles[i]) == -1) {
			mc_buf_free(&b);
			return NULL;
		}
	return mc_buf_take(&b);
}

/* mc_acme_profile_check - whether the directory offers profile. */
int
mc_acme_profile_check(const struct mc_acme *acme, const char *profile,
                      struct mc_err *err)
{
	char *list;
	size_t i;

	if (profile == NULL || profile[0] == '\0')
		return 0;
	for (i = 0; i < acme->dir.n_profiles; i++)
		if (strcmp(acme->dir.profiles[i], profile) == 0)
			return 0;
	if (acme->dir.n_profiles == 0)
		return mc_err_set(err, MC_ERR_CONFIG,
		                  "profile \"%.64s\": the CA at %s offers no "
		                  "ACME profiles; remove the profile key",
		                  profile, acme->directory);
	list = meta_profile_list(&acme->dir);
	mc_err_set(err, MC_ERR_CONFIG,
	           "profile \"%.64s\" is not offered by the CA at %s; it offers: "
	           "%s; set profile to one of them",
	           profile, acme->directory, list != NULL ? list : "?");
	free(list);
	return -1;
}
