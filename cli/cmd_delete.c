/*
 * cmd_delete.c - `mailcert delete NAME [--yes] [--targets]`: forget a
 * cert: its state (every version and key, last.json, current) and, with
 * --targets, the files it deployed. Works when the [cert NAME] section is
 * gone: the files then come from the record of the last deployment.
 *
 * Without --yes it asks on a terminal and refuses elsewhere. A target
 * file is removed only when it holds one of the cert's stored
 * certificates or keys (never another cert's file; never a symlink but
 * those mailcert made into a target's set, whose directory goes too).
 */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "mailcert/crypto.h"
#include "mailcert/fsio.h"
#include "mailcert/lock.h"
#include "mailcert/store.h"

struct delete_args {
	const char *name;
	bool yes, targets;
};

/* delete_parse - NAME, --yes, --targets; 0 or a usage exit code. */
static int
delete_parse(int argc, char **argv, struct delete_args *a)
{
	int i;

	memset(a, 0, sizeof(*a));
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--yes") == 0)
			a->yes = true;
		else if (strcmp(argv[i], "--targets") == 0)
			a->targets = true;
		else if (argv[i][0] == '-' || a->name != NULL)
			return cli_usage_error("delete", "unexpected \"%s\"",
					       argv[i]);
		else
			a->name = argv[i];
	}
	if (a->name == NULL)
		return cli_usage_error("delete", "name one cert");
	if (!mc_cert_name_valid(a->name))
		return cli_usage_error("delete", "\"%s\" is not a cert name",
				       a->name);
	return 0;
}

/* delete_files - the files --targets removes: from the config when the
 * cert is still configured, else from the last deployment's record. */
static int
delete_files(const struct mc_config *cfg, const char *name, char ***out,
	     size_t *n, struct mc_err *err)
{
	const struct mc_cert_conf *cc = mc_config_cert(cfg, name);
	struct mc_last last;
	int found;

	if (cc != NULL)
		return mc_deploy_cert_files(cfg, cc, out, n, err);
	memset(&last, 0, sizeof(last));
	found = mc_store_load_last(cfg->state_dir, name, &last, err);
	if (found == -1)
		return -1;
	if (found == 0 || last.n_files == 0) {
		mc_store_last_clear(&last);
		return mc_err_set(err, MC_ERR_USAGE,
				  "delete %s: --targets: [cert %s] is not in %s "
				  "and no deployment of it is recorded; remove "
				  "its files by hand, then run `mailcert delete "
				  "%s` without --targets",
				  name, name, cfg->path, name);
	}
	*out = last.files;
	*n = last.n_files;
	last.files = NULL;
	last.n_files = 0;
	mc_store_last_clear(&last);
	return 0;
}

/* delete_confirm - --yes, or a "y" on a terminal. */
static int
delete_confirm(const struct delete_args *a, const char *state_dir,
	       size_t n_versions, size_t n_files, struct mc_err *err)
{
	char line[16];

	if (a->yes)
		return 0;
	if (!isatty(STDIN_FILENO))
		return mc_err_set(err, MC_ERR_USAGE,
				  "delete %s: this removes %zu version(s) and "
				  "their keys from %s%s; add --yes to do it",
				  a->name, n_versions, state_dir,
				  a->targets ? " and its target files" : "");
	printf("Delete %s: %zu version(s) and their private keys in %s",
	       a->name, n_versions, state_dir);
	if (a->targets)
		printf(", and %zu target file(s)", n_files);
	printf("? [y/N] ");
	fflush(stdout);
	if (fgets(line, sizeof(line), stdin) == NULL ||
	    (line[0] != 'y' && line[0] != 'Y'))
		return mc_err_set(err, MC_ERR_USAGE, "delete %s: not confirmed; "
						     "nothing was deleted",
				  a->name);
	return 0;
}

/* delete_one_file - remove path when it holds one of name's certificates
 * or keys (true); anything else stays, with a warning. A link mailcert
 * made into a target's set (deploy.h) is judged by what it points at; its
 * set directory is noted in setdir (else setdir is ""). */
static bool
delete_one_file(const struct mc_config *cfg, const char *name,
		const char *path, bool quiet, char *setdir, size_t size)
{
	struct mc_err err;
	struct stat st;
	char *copy;
	int mine;

	mc_err_clear(&err);
	setdir[0] = '\0';
	if (lstat(path, &st) == -1) {
		if (errno != ENOENT)
			fprintf(stderr, "mailcert: %s: %s; left alone\n", path,
				strerror(errno));
		return false;
	}
	if (!S_ISREG(st.st_mode) &&
	    !(S_ISLNK(st.st_mode) &&
	      mc_deploy_set_of_link(path, name, setdir, size))) {
		fprintf(stderr, "mailcert: %s is not a regular file; left "
				"alone\n",
			path);
		return false;
	}
	mine = mc_deploy_file_of_cert(path, cfg->state_dir, name, &err);
	if (mine != 1) {
		fprintf(stderr, "mailcert: %s %s; left alone\n", path,
			mine == 0 ? "holds no certificate or key of this cert"
				  : err.msg);
		return false;
	}
	copy = strdup(path);
	mine = unlink(path) == 0;
	if (!mine)
		fprintf(stderr, "mailcert: cannot remove %s: %s\n", path,
			strerror(errno));
	else if (!quiet)
		printf("%s: removed %s\n", name, path);
	if (copy != NULL)
		mc_fsio_fsync_dir(dirname(copy), NULL);
	free(copy);
	return mine;
}

/* delete_index - the index of s among the n strings of v, or n. */
static size_t
delete_index(char **v, size_t n, const char *s)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(v[i], s) == 0)
			break;
	return i;
}

/* delete_run - confirm, remove the target files (and the set directories
 * of our links), then the state. */
static int
delete_run(struct cli *cli, const struct mc_config *cfg,
	   const struct delete_args *a, struct mc_err *err)
{
	char **files = NULL;
	size_t n_files = 0, n_versions = 0, i;
	unsigned *versions = NULL;
	int rc = -1;
	char dir[4200], set[4400] = "", **sets = NULL;
	bool *keep = NULL, gone;
	size_t n_sets = 0, j;

	snprintf(dir, sizeof(dir), "%s/certs/%s", cfg->state_dir, a->name);
	if (!mc_fsio_exists(dir))
		return mc_err_set(err, MC_ERR_USAGE,
				  "delete: no state for %s in %s", a->name,
				  cfg->state_dir);
	if (mc_store_versions(cfg->state_dir, a->name, &versions, &n_versions,
			      err) == -1)
		return -1;
	free(versions);
	if ((a->targets && delete_files(cfg, a->name, &files, &n_files,
					err) == -1) ||
	    delete_confirm(a, cfg->state_dir, n_versions, n_files, err) == -1)
		goto out;
	sets = calloc(n_files + 1, sizeof(*sets));
	keep = calloc(n_files + 1, sizeof(*keep));
	if (sets == NULL || keep == NULL) {
		mc_err_errno(err, MC_ERR_SYS, "out of memory");
		goto out;
	}
	for (i = 0; i < n_files; i++) {
		gone = delete_one_file(cfg, a->name, files[i],
				       cli->verbosity < 0, set, sizeof(set));
		if (set[0] == '\0')
			continue;
		j = delete_index(sets, n_sets, set);
		if (j == n_sets && (sets[n_sets] = strdup(set)) != NULL)
			n_sets++;
		if (j < n_sets)
			keep[j] = keep[j] || !gone; /* a link left alone keeps its set */
	}
	for (i = 0; i < n_sets; i++)
		if (!keep[i] && mc_deploy_remove_set(sets[i], err) == -1)
			goto out;
	if (mc_store_remove_cert(cfg->state_dir, a->name, err) == -1)
		goto out;
	if (cli->verbosity >= 0)
		printf("%s: deleted %zu version(s) and their keys\n", a->name,
		       n_versions);
	if (mc_config_cert(cfg, a->name) != NULL)
		fprintf(stderr, "mailcert: [cert %s] is still in %s; the next "
				"renew issues it anew unless you remove it\n",
			a->name, cfg->path);
	rc = 0;
out:
	free(keep);
	mc_strv_free(sets, n_sets);
	mc_strv_free(files, n_files);
	return rc;
}

/* cli_cmd_delete - `delete NAME [--yes] [--targets]`. */
int
cli_cmd_delete(struct cli *cli, int argc, char **argv)
{
	struct mc_config *cfg = NULL;
	struct delete_args a;
	struct mc_err err;
	int lock = -1, rc;

	mc_err_clear(&err);
	rc = delete_parse(argc, argv, &a);
	if (rc != 0)
		return rc;
	if (cli_load_config(cli, &cfg, &err) == -1 ||
	    (lock = mc_lock_take(cfg->state_dir, &err)) == -1 ||
	    delete_run(cli, cfg, &a, &err) == -1)
		rc = cli_fail(&err);
	else
		cli_metrics_update(cfg);
	mc_lock_release(lock);
	mc_config_free(cfg);
	return rc;
}
