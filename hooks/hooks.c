/*
 * hooks.c - run hook scripts with the documented environment.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mailcert/buf.h"
#include "mailcert/hooks.h"
#include "mailcert/log.h"
#include "mailcert/proc.h"

#define HOOKS_MAX 256
#define HOOK_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* hooks_var - "NAME=value" (new string), or NULL with err. */
static char *
hooks_var(const char *name, const char *value, const char *file,
	  struct mc_err *err)
{
	size_t n = strlen(name) + strlen(value) + (file ? strlen(file) : 0) + 3;
	char *s = malloc(n);

	if (s == NULL) {
		mc_err_errno(err, MC_ERR_SYS, "out of memory");
		return NULL;
	}
	snprintf(s, n, "%s=%s%s%s", name, value, file ? "/" : "",
		 file ? file : "");
	return s;
}

/* hooks_key_vars - MAILCERT_<ALG>_{CERT,KEY,CHAIN,FULLCHAIN}_FILE of each
 * key type of env into envp from *o on. */
static int
hooks_key_vars(const struct mc_hook_env *env, char **envp, size_t *o,
	       struct mc_err *err)
{
	static const char *const vars[][2] = {
		{"CERT", "cert.pem"}, {"KEY", "privkey.pem"},
		{"CHAIN", "chain.pem"}, {"FULLCHAIN", "fullchain.pem"}};
	char name[64], file[64];
	size_t k, i;

	for (k = 0; env->lineage != NULL && k < env->n_key_types &&
		    k < MC_KEY_TYPES_MAX; k++)
		for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
			snprintf(name, sizeof(name), "MAILCERT_%s_%s_FILE",
				 mc_key_type_is_ec(env->key_types[k]) ? "ECDSA"
								      : "RSA",
				 vars[i][0]);
			mc_pair_file(vars[i][1], k, env->key_types[k], file,
				     sizeof(file));
			envp[*o] = hooks_var(name, env->lineage, file, err);
			if (envp[(*o)++] == NULL)
				return -1;
		}
	return 0;
}

/* mc_hooks_envp - the environment for env. */
char **
mc_hooks_envp(const struct mc_hook_env *env, struct mc_err *err)
{
	const struct {
		const char *name, *value, *file;
	} vars[] = {
		{"MAILCERT_EVENT", env->event, NULL},
		{"MAILCERT_RUN_ID", mc_log_run_id(), NULL},
		{"MAILCERT_CERT_NAME", env->cert_name, NULL},
		{"MAILCERT_NAMES", env->names, NULL},
		{"MAILCERT_CERT_FILE", env->lineage, "cert.pem"},
		{"MAILCERT_KEY_FILE", env->lineage, "privkey.pem"},
		{"MAILCERT_CHAIN_FILE", env->lineage, "chain.pem"},
		{"MAILCERT_FULLCHAIN_FILE", env->lineage, "fullchain.pem"},
		{"MAILCERT_ERROR", env->error, NULL},
		{"RENEWED_LINEAGE", env->lineage, NULL},
		{"RENEWED_DOMAINS", env->names, NULL},
	};
	size_t n = sizeof(vars) / sizeof(vars[0]), i, o = 0;
	char **envp = calloc(n + 2 + 4 * MC_KEY_TYPES_MAX, sizeof(char *));

	if (envp == NULL || (envp[o++] = strdup(HOOK_PATH)) == NULL)
		goto fail;
	for (i = 0; i < n; i++) {
		if (vars[i].value == NULL)
			continue;
		envp[o] = hooks_var(vars[i].name, vars[i].value, vars[i].file,
				    err);
		if (envp[o++] == NULL)
			goto fail;
	}
	if (hooks_key_vars(env, envp, &o, err) == -1)
		goto fail;
	return envp;
fail:
	if (envp == NULL || o <= 1)
		mc_err_errno(err, MC_ERR_SYS, "out of memory");
	mc_hooks_envp_free(envp);
	return NULL;
}

/* mc_hooks_envp_free - free an environment. */
void
mc_hooks_envp_free(char **envp)
{
	size_t i;

	if (envp == NULL)
		return;
	for (i = 0; envp[i] != NULL; i++)
		free(envp[i]);
	free(envp);
}

/* mc_hooks_run_one - run one hook program. */
int
mc_hooks_run_one(const char *path, const struct mc_hook_env *env,
		 long timeout, struct mc_err *err)
{
	const char *argv[] = {path, NULL};
	struct mc_proc_result res;
	char **envp = mc_hooks_envp(env, err);
	char what[MC_PROC_EXCERPT_MAX + 128];
	int rc = -1;

	memset(&res, 0, sizeof(res));
	if (envp == NULL)
		return -1;
	mc_log_info("running %s hook %s", env->event, path);
	if (mc_proc_run(argv, (const char *const *)envp, timeout, &res, err) ==
	    -1) {
		mc_err_prefix(err, "%s hook", env->event);
		goto out;
	}
	if (!mc_proc_failed(&res)) {
		rc = 0;
		goto out;
	}
	mc_proc_summary(&res, timeout, what, sizeof(what));
	mc_err_set(err, MC_ERR_HOOK, "%s hook %s %s", env->event, path, what);
out:
	mc_proc_result_clear(&res);
	mc_hooks_envp_free(envp);
	return rc;
}

/* mc_hooks_name_ignored - names never run: dot files, backups, dpkg leftovers. */
bool
mc_hooks_name_ignored(const char *name)
{
	size_t len = strlen(name);

	return name[0] == '.' || len == 0 || name[len - 1] == '~' ||
	       strstr(name, ".dpkg-") != NULL;
}

/* hooks_wanted - whether a directory entry is a hook to run. */
static int
hooks_wanted(const char *dir, const char *name, char *path, size_t size)
{
	struct stat st;

	if (mc_hooks_name_ignored(name))
		return 0;
	if ((size_t)snprintf(path, size, "%s/%s", dir, name) >= size)
		return 0;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
	       access(path, X_OK) == 0;
}

/* hooks_cmp - byte order of names for qsort. */
static int
hooks_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* hooks_list - sorted entry names of dir (new); 0 entries if missing. */
static int
hooks_list(const char *dir, char ***out, size_t *n, struct mc_err *err)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **v = calloc(HOOKS_MAX, sizeof(char *));
	size_t c = 0;

	*out = v;
	*n = 0;
	if (v == NULL)
		return mc_err_errno(err, MC_ERR_SYS, "out of memory");
	if (d == NULL)
		return errno == ENOENT ? 0
				       : mc_err_errno(err, MC_ERR_HOOK,
						      "cannot read %s", dir);
	while ((e = readdir(d)) != NULL && c < HOOKS_MAX)
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			v[c++] = strdup(e->d_name);
	closedir(d);
	qsort(v, c, sizeof(char *), hooks_cmp);
	*n = c;
	return 0;
}

/* mc_hooks_run_event - run hooks_dir/<event>.d/ in order. */
int
mc_hooks_run_event(const char *hooks_dir, const struct mc_hook_env *env,
		   long timeout, struct mc_err *err)
{
	char dir[4096], path[4400];
	char **names = NULL;
	struct mc_err one;
	size_t n = 0, i;
	int failed = 0;

	snprintf(dir, sizeof(dir), "%s/%s.d", hooks_dir, env->event);
	if (hooks_list(dir, &names, &n, err) == -1) {
		free(names);
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (names[i] == NULL ||
		    !hooks_wanted(dir, names[i], path, sizeof(path)))
			continue;
		mc_err_clear(&one);
		if (mc_hooks_run_one(path, env, timeout, &one) == -1) {
			mc_log_error("%s", one.msg);
			if (failed++ == 0 && err != NULL)
				*err = one;
		}
	}
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return failed;
}

/* mc_hooks_count - how many hooks hooks_dir/<event>.d/ would run. */
int
mc_hooks_count(const char *hooks_dir, const char *event)
{
	char dir[4096], path[4400];
	char **names = NULL;
	size_t n = 0, i;
	int count = 0;

	snprintf(dir, sizeof(dir), "%s/%s.d", hooks_dir, event);
	if (hooks_list(dir, &names, &n, NULL) == -1) {
		free(names);
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (names[i] != NULL &&
		    hooks_wanted(dir, names[i], path, sizeof(path)))
			count++;
		free(names[i]);
	}
	free(names);
	return count;
}

/* hooks_names - cc's names joined by spaces (new string), or NULL. */
static char *
hooks_names(const struct mc_cert_conf *cc)
{
	struct mc_buf b;
	size_t i;

	mc_buf_init(&b, 0);
	for (i = 0; i < cc->n_names; i++)
		if (mc_buf_appendf(&b, NULL, "%s%s", i ? " " : "",
				   cc->names[i]) == -1) {
			mc_buf_free(&b);
			return NULL;
		}
	return mc_buf_take(&b);
}

/* mc_hooks_run_cert_event - run an event's hooks for cert cc. */
int
mc_hooks_run_cert_event(const char *hooks_dir, const char *event,
			const struct mc_cert_conf *cc, const char *lineage,
			const enum mc_key_type *types, size_t n,
			const char *error, long timeout, struct mc_err *err)
{
	struct mc_hook_env env;
	struct mc_err one;
	char *names = NULL;
	int failed;

	memset(&env, 0, sizeof(env));
	env.event = event;
	env.error = error;
	mc_err_clear(&one);
	if (cc != NULL) {
		names = hooks_names(cc);
		if (names == NULL)
			return mc_err_errno(err, MC_ERR_SYS, "out of memory");
		env.cert_name = cc->name;
		env.names = names;
		env.lineage = lineage;
		if (n == 0 || types == NULL) {
			types = cc->key_types;
			n = cc->n_key_types;
		}
		env.n_key_types = n < MC_KEY_TYPES_MAX ? n : MC_KEY_TYPES_MAX;
		memcpy(env.key_types, types, env.n_key_types * sizeof(*types));
	}
	failed = mc_hooks_run_event(hooks_dir, &env, timeout, err);
	if (failed >= 0 && cc != NULL && cc->deploy_hook != NULL &&
	    strcmp(event, "deploy") == 0 &&
	    mc_hooks_run_one(cc->deploy_hook, &env, timeout, &one) == -1) {
		mc_log_error("%s", one.msg);
		if (failed++ == 0 && err != NULL)
			*err = one;
	}
	free(names);
	return failed;
}
