/*
 * cmd_import.c - `mailcert import certbot [DIR] [--write]`.
 *
 * Imports certbot's lineages (import.h), prints what happened to each and
 * the proposed [cert] sections; with --write appends the sections that the
 * config does not have yet (never replacing one; the new file is loaded
 * before it replaces the old, so a config that would not load is not
 * written) and links certbot's renewal hooks into hooks_dir.
 * Exit: 0 every lineage imported, 1 some were skipped (the rest imported),
 * 2 usage or config error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"
#include "mailcert/buf.h"
#include "mailcert/fsio.h"
#include "mailcert/import.h"

#define CONFIG_MAX (1024 * 1024)

/* import_append - append the new sections to the config file, checked. */
static int
import_append(const struct mc_config *cfg, const struct mc_import_report *rep,
	      size_t *added, struct mc_err *err)
{
	struct mc_config *check = NULL;
	char *old = NULL, tmp[4300];
	struct mc_buf b;
	struct stat st;
	size_t len = 0, i;
	int rc = -1;

	*added = 0;
	mc_buf_init(&b, 0);
	if (stat(cfg->path, &st) == -1 ||
	    mc_fsio_read(cfg->path, CONFIG_MAX, &old, &len, err) == -1 ||
	    mc_buf_append(&b, old, len, err) == -1)
		goto out;
	for (i = 0; i < rep->n_lineages; i++) {
		const struct mc_import_lineage *l = &rep->lineages[i];

		if (l->section == NULL || l->in_config)
			continue;
		if (mc_buf_appendf(&b, err, "%s%s", b.len && b.data[b.len - 1] != '\n' ?
				   "\n\n" : "\n", l->section) == -1)
			goto out;
		(*added)++;
	}
	if (*added == 0) {
		rc = 0;
		goto out;
	}
	snprintf(tmp, sizeof(tmp), "%s.import-check", cfg->path);
	if (mc_fsio_write(tmp, b.data, b.len, 0600, MC_FSIO_KEEP_OWNER, false, err) == -1)
		goto out;
	rc = mc_config_load(tmp, &check, err);
	unlink(tmp);
	if (rc == -1) {
		mc_err_prefix(err, "import: the config with the new sections would "
			      "not load; %s is unchanged", cfg->path);
		goto out;
	}
	rc = mc_fsio_write(cfg->path, b.data, b.len, st.st_mode & 07777,
			   MC_FSIO_KEEP_OWNER, false, err);
out:
	mc_config_free(check);
	free(old);
	mc_buf_free(&b);
	return rc;
}

/* import_text - the human report. */
static void
import_text(const struct mc_import_report *rep, bool write, const char *dir)
{
	size_t i;

	for (i = 0; i < rep->n_lineages; i++)
		printf("lineage %s: %s\n", rep->lineages[i].name, rep->lineages[i].result);
	for (i = 0; i < rep->n_accounts; i++)
		printf("%s\n", rep->accounts[i]);
	for (i = 0; i < rep->n_lineages; i++) {
		const struct mc_import_lineage *l = &rep->lineages[i];

		if (l->section == NULL)
			continue;
		if (l->in_config)
			printf("\n; [cert %s] is already in the config: not changed\n",
			       l->name);
		else
			printf("\n%s", l->section);
	}
	if (rep->n_hooks > 0)
		printf("\ncertbot's renewal hooks -> mailcert's hooks_dir:\n");
	for (i = 0; i < rep->n_hooks; i++)
		printf("  %-6s %s -> %s%s%s\n", rep->hooks[i].stage, rep->hooks[i].source,
		       rep->hooks[i].dest, rep->hooks[i].result[0] ? ": " : "",
		       rep->hooks[i].result);
	printf("\nnext: %s`mailcert doctor` (it names the lines that point the daemons "
	       "at mailcert's files), then stop certbot's renewals (systemctl "
	       "disable --now certbot.timer, or remove /etc/cron.d/certbot); "
	       "nothing in %s was changed\n",
	       write ? "" : "append the sections (--write does it), ", dir);
}

/* import_json - the report as JSON (new reference). */
static json_t *
import_json(const struct mc_import_report *rep)
{
	json_t *o = json_object(), *ls = json_array(), *hs = json_array(),
	       *as = json_array();
	size_t i;

	for (i = 0; i < rep->n_lineages; i++) {
		const struct mc_import_lineage *l = &rep->lineages[i];

		json_array_append_new(ls, json_pack("{s:s,s:s,s:b,s:s,s:s?,s:s?,s:b}",
			"name", l->name, "conf", l->conf, "imported", l->imported,
			"result", l->result, "spki_sha256",
			l->spki_sha256[0] ? l->spki_sha256 : NULL, "section", l->section,
			"in_config", l->in_config));
	}
	for (i = 0; i < rep->n_hooks; i++)
		json_array_append_new(hs, json_pack("{s:s,s:s,s:s,s:s}", "stage",
			rep->hooks[i].stage, "source", rep->hooks[i].source, "dest",
			rep->hooks[i].dest, "result", rep->hooks[i].result));
	for (i = 0; i < rep->n_accounts; i++)
		json_array_append_new(as, json_string(rep->accounts[i]));
	json_object_set_new(o, "lineages", ls);
	json_object_set_new(o, "hooks", hs);
	json_object_set_new(o, "accounts", as);
	json_object_set_new(o, "skipped", json_integer((json_int_t)rep->skipped));
	return o;
}

/* import_args - parse `import certbot [DIR] [--write]`. */
static int
import_args(int argc, char **argv, const char **dir, bool *write)
{
	int i;

	if (argc < 2 || strcmp(argv[1], "certbot") != 0)
		return cli_usage_error("import", "say `import certbot [DIR]`");
	for (i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--write") == 0)
			*write = true;
		else if (argv[i][0] != '-' && *dir == NULL)
			*dir = argv[i];
		else
			return cli_usage_error("import", "unexpected argument %s", argv[i]);
	}
	if (*dir == NULL)
		*dir = "/etc/letsencrypt";
	return 0;
}

/* cli_cmd_import - import certbot's lineages, account and hooks. */
int
cli_cmd_import(struct cli *cli, int argc, char **argv)
{
	struct mc_import_report rep;
	struct mc_config *cfg = NULL;
	const char *dir = NULL;
	struct mc_err err;
	bool write = false;
	size_t added = 0;
	int code;

	mc_err_clear(&err);
	if (import_args(argc, argv, &dir, &write) != 0)
		return 2;
	if (cli_load_config(cli, &cfg, &err) == -1)
		return cli_fail(&err);
	if (mc_import_certbot(cfg, dir, write, &rep, &err) == -1) {
		mc_config_free(cfg);
		return cli_fail(&err);
	}
	code = rep.skipped > 0 ? 1 : 0;
	if (write && import_append(cfg, &rep, &added, &err) == -1)
		code = cli_fail(&err);
	if (cli->json)
		cli_print_json(import_json(&rep));
	else
		import_text(&rep, write, dir);
	if (write && added > 0)
		fprintf(stderr, "mailcert: appended %zu [cert] section%s to %s\n", added,
			added == 1 ? "" : "s", cfg->path);
	mc_import_report_clear(&rep);
	mc_config_free(cfg);
	return code;
}
