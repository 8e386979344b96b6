/*
 * dry_run.c - `issue --dry-run` and `renew --dry-run`: the whole order
 * against the staging directory, into a throwaway state
 * (state_dir/.dry-run.XXXXXX, removed at the end), with no target written,
 * no reload and no hook, and a report of what a real run would do.
 *
 * The staging account is the one thing kept: it is copied from the real
 * state before the run and, when the run had to register one, copied back
 * after it, so repeated dry runs do not register new accounts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "cli.h"
#include "mailcert/crypto.h"
#include "mailcert/fsio.h"
#include "mailcert/hooks.h"
#include "mailcert/log.h"
#include "mailcert/proc.h"
#include "mailcert/store.h"

#define ACCOUNT_FILE_MAX (64 * 1024)

struct cli_dry {
	struct mc_config cfg; /* the real config with state_dir, directory replaced */
	const struct mc_config *real;
	char *tmp;            /* the throwaway state_dir */
	bool had_account;     /* the real state had a staging account */
};

static const char *const account_files[] = {"account.key", "account.json"};

/* dry_copy_account - copy the account files for dir from state src to dst;
 * 1 when there was an account key to copy, 0 when not, -1 error. */
static int
dry_copy_account(const char *src, const char *dst, const char *dir,
		 struct mc_err *err)
{
	char *from = mc_store_account_dir(src, dir, err), *to = NULL;
	char path[4200], *data = NULL;
	size_t len = 0, i;
	int rc = -1;

	if (from == NULL || (to = mc_store_account_dir(dst, dir, err)) == NULL)
		goto out;
	snprintf(path, sizeof(path), "%s/account.key", from);
	if (!mc_fsio_exists(path)) {
		rc = 0;
		goto out;
	}
	if (mc_fsio_mkdirs(to, 0700, err) == -1)
		goto out;
	for (i = 0; i < sizeof(account_files) / sizeof(account_files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", from, account_files[i]);
		if (!mc_fsio_exists(path))
			continue;
		if (mc_fsio_read(path, ACCOUNT_FILE_MAX, &data, &len, err) == -1)
			goto out;
		snprintf(path, sizeof(path), "%s/%s", to, account_files[i]);
		if (mc_fsio_write(path, data, len, 0600, MC_FSIO_KEEP_OWNER,
				  false, err) == -1)
			goto out;
		OPENSSL_clear_free(data, len);
		data = NULL;
	}
	rc = 1;
out:
	OPENSSL_clear_free(data, len);
	free(from);
	free(to);
	return rc;
}

/* cli_dry_begin - the throwaway state and the staging directory. */
int
cli_dry_begin(const struct mc_config *real, struct cli_dry **out,
	      struct mc_err *err)
{
	const char *staging = mc_config_staging_directory(real);
	struct cli_dry *dry;
	int had;

	if (staging == NULL)
		return mc_err_set(err, MC_ERR_USAGE,
				  "--dry-run: no staging directory is known for "
				  "%s; set staging_directory in [global] of %s",
				  real->directory, real->path);
	dry = calloc(1, sizeof(*dry));
	if (dry == NULL)
		return mc_err_errno(err, MC_ERR_SYS, "out of memory");
	dry->real = real;
	dry->cfg = *real;
	dry->cfg.directory = (char *)staging;
	dry->tmp = malloc(strlen(real->state_dir) + 32);
	if (dry->tmp != NULL)
		snprintf(dry->tmp, strlen(real->state_dir) + 32,
			 "%s/.dry-run.XXXXXX", real->state_dir);
	if (dry->tmp == NULL || mkdtemp(dry->tmp) == NULL) {
		mc_err_errno(err, MC_ERR_SYS, "--dry-run: cannot create %s",
			     dry->tmp ? dry->tmp : "a throwaway state");
		free(dry->tmp);
		free(dry);
		return -1;
	}
	dry->cfg.state_dir = dry->tmp;
	had = dry_copy_account(real->state_dir, dry->tmp, staging, err);
	if (had == -1) {
		cli_dry_end(dry);
		return mc_err_prefix(err, "--dry-run: staging account");
	}
	dry->had_account = had == 1;
	mc_log_info("dry run against %s in %s (nothing outside it changes)",
		    staging, dry->tmp);
	*out = dry;
	return 0;
}

/* cli_dry_config - the config a dry run runs with. */
const struct mc_config *
cli_dry_config(const struct cli_dry *dry)
{
	return &dry->cfg;
}

/* cli_dry_end - keep a newly registered staging account, remove the rest. */
void
cli_dry_end(struct cli_dry *dry)
{
	struct mc_err err;
	char *base;

	if (dry == NULL)
		return;
	mc_err_clear(&err);
	if (!dry->had_account &&
	    dry_copy_account(dry->tmp, dry->real->state_dir,
			     dry->cfg.directory, &err) == -1)
		mc_log_warn("--dry-run: cannot keep the staging account: %s",
			    err.msg);
	base = strrchr(dry->tmp, '/');
	if (base != NULL) {
		*base = '\0';
		if (mc_store_remove_tree(dry->tmp, base + 1, &err) == -1)
			mc_log_warn("--dry-run: cannot remove %s/%s: %s",
				    dry->tmp, base + 1, err.msg);
	}
	free(dry->tmp);
	free(dry);
}

/* dry_target - one target: its files and whether a write would pass the
 * checks (mc_deploy_check changes nothing), then its reload command. */
static void
dry_target(const struct mc_config *cfg, const struct mc_cert_conf *cc,
	   const char *name, json_t *targets)
{
	const struct mc_target *t = mc_config_target(cfg, name);
	char **files = NULL, **argv = NULL, reload[512] = "";
	size_t n = 0, i, len = 0;
	struct mc_err err;
	int ok;

	mc_err_clear(&err);
	if (t == NULL || mc_deploy_target_files(t, cc, &files, &n,
						&err) == -1)
		return;
	ok = mc_deploy_check(t, cc, &err) == 0;
	if (!(t->type == MC_TARGET_FILES && t->reload == NULL))
		argv = mc_deploy_reload_argv(t, NULL);
	for (i = 0; argv != NULL && argv[i] != NULL && len < sizeof(reload); i++)
		len += (size_t)snprintf(reload + len, sizeof(reload) - len,
					"%s%s", i ? " " : "", argv[i]);
	mc_proc_argv_free(argv);
	if (targets != NULL) {
		json_t *f = json_array();

		for (i = 0; i < n; i++)
			json_array_append_new(f, json_string(files[i]));
		json_array_append_new(
			targets, json_pack("{s:s, s:o, s:b, s:s?, s:s}", "target",
					   name, "files", f, "ok", ok, "problem",
					   ok ? NULL : err.msg, "reload", reload));
	} else {
		printf("%s: would write target %s:", cc->name, name);
		for (i = 0; i < n; i++)
			printf(" %s", files[i]);
		printf(" (%s%s)\n", ok ? "checks pass" : "PROBLEM: ",
		       ok ? "" : err.msg);
		if (reload[0])
			printf("%s: would reload target %s with `%s`\n",
			       cc->name, name, reload);
	}
	mc_strv_free(files, n);
}

/* dry_hooks - how many hooks each stage would run. */
static void
dry_hooks(const struct mc_config *cfg, const struct mc_cert_conf *cc,
	  json_t *into)
{
	static const char *const stages[] = {"pre", "reload", "deploy", "post"};
	size_t i;
	int n;

	if (into == NULL)
		printf("%s: would run hooks:", cc->name);
	for (i = 0; i < sizeof(stages) / sizeof(stages[0]); i++) {
		n = mc_hooks_count(cfg->hooks_dir, stages[i]);
		if (into != NULL)
			json_object_set_new(into, stages[i], json_integer(n));
		else
			printf(" %s.d %d", stages[i], n);
	}
	if (into == NULL)
		printf("%s (in %s)\n", cc->deploy_hook ? " + deploy_hook" : "",
		       cfg->hooks_dir);
}

/* cli_dry_report - what a real run would do with the version it got. */
void
cli_dry_report(struct cli_run *run, const struct mc_cert_conf *cc,
	       unsigned version)
{
	const struct mc_config *cfg = run->dry->real;
	json_t *o = NULL, *targets = NULL, *hooks = NULL;
	size_t i, checks = cc->n_verify * (cc->n_names + 1);

	(void)version;
	if (run->results != NULL) {
		o = json_array_get(run->results,
				   json_array_size(run->results) - 1);
		targets = json_array();
		hooks = json_object();
	}
	for (i = 0; i < cc->n_targets; i++)
		dry_target(cfg, cc, cc->targets[i], targets);
	dry_hooks(cfg, cc, hooks);
	if (o != NULL) {
		json_object_set_new(
			o, "dry_run",
			json_pack("{s:s, s:o, s:o, s:i}", "directory",
				  run->dry->cfg.directory, "targets", targets,
				  "hooks", hooks, "live_checks", (int)checks));
		return;
	}
	if (cc->n_targets == 0)
		printf("%s: no targets: a real run would only store it\n",
		       cc->name);
	printf("%s: would verify %zu endpoint(s), %zu live check(s)\n",
	       cc->name, cc->n_verify, checks);
	printf("%s: dry run done: nothing was written outside the throwaway "
	       "state, nothing reloaded, no hook run\n",
	       cc->name);
}
