/*
 * cmd_doctor.c - `mailcert doctor [NAME...]`: check the host, change nothing.
 *
 * Exit: 0 clean (warnings allowed), 1 problems found, 2 config error.
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "mailcert/doctor.h"

/* doctor_label - the column text of a level. */
static const char *
doctor_label(enum mc_doctor_level level)
{
	static const char *const labels[] = {"ok", "info", "WARNING", "PROBLEM"};

	return labels[level];
}

/* doctor_print_fix - the fix, indented under its item. */
static void
doctor_print_fix(const char *fix)
{
	const char *p = fix;
	size_t n;

	while (*p != '\0') {
		n = strcspn(p, "\n");
		printf("           %.*s\n", (int)n, p);
		p += n + (p[n] == '\n');
	}
}

/* doctor_text - one line per item, grouped under host and each cert. */
static void
doctor_text(const struct mc_config *cfg, const struct mc_doctor_report *rep)
{
	const char *group = NULL;
	size_t i;

	printf("mailcert doctor: %s\n", cfg->path);
	for (i = 0; i < rep->n_items; i++) {
		const struct mc_doctor_item *it = &rep->items[i];

		if (group == NULL || strcmp(group, it->cert) != 0) {
			group = it->cert;
			if (group[0] == '\0')
				printf("\nhost\n");
			else
				printf("\ncert %s\n", group);
		}
		printf("  %-8s %s: %s\n", doctor_label(it->level), it->subject,
		       it->message);
		if (it->fix[0] != '\0' && it->level >= MC_DOCTOR_WARN)
			doctor_print_fix(it->fix);
	}
	if (rep->problems == 0)
		printf("\nno problems found%s\n", rep->warnings ? " (see the warnings)" : "");
	else
		printf("\n%zu problem%s found\n", rep->problems,
		       rep->problems == 1 ? "" : "s");
}

/* doctor_json - the report as JSON (new reference). */
static json_t *
doctor_json(const struct mc_config *cfg, const struct mc_doctor_report *rep)
{
	json_t *o = json_object(), *items = json_array();
	size_t i;

	for (i = 0; i < rep->n_items; i++) {
		const struct mc_doctor_item *it = &rep->items[i];

		json_array_append_new(items, json_pack("{s:s?,s:s,s:s,s:s,s:s,s:s?}",
			"cert", it->cert[0] ? it->cert : NULL, "subject", it->subject,
			"check", it->check, "level", mc_doctor_level_name(it->level),
			"message", it->message, "fix", it->fix[0] ? it->fix : NULL));
	}
	json_object_set_new(o, "config", json_string(cfg->path));
	json_object_set_new(o, "items", items);
	json_object_set_new(o, "problems", json_integer((json_int_t)rep->problems));
	json_object_set_new(o, "warnings", json_integer((json_int_t)rep->warnings));
	return o;
}

/* cli_cmd_doctor - run every check of the certs named (default: all). */
int
cli_cmd_doctor(struct cli *cli, int argc, char **argv)
{
	struct mc_doctor_report rep;
	struct mc_config *cfg = NULL;
	struct mc_err err;
	int i, code;

	mc_err_clear(&err);
	for (i = 1; i < argc; i++)
		if (argv[i][0] == '-')
			return cli_usage_error("doctor", "unknown option %s", argv[i]);
	if (cli_load_config(cli, &cfg, &err) == -1)
		return cli_fail(&err);
	if (mc_doctor_run(cfg, argv + 1, (size_t)(argc - 1), &rep, &err) == -1) {
		mc_config_free(cfg);
		return cli_fail(&err);
	}
	if (cli->json)
		cli_print_json(doctor_json(cfg, &rep));
	else
		doctor_text(cfg, &rep);
	code = rep.problems > 0 ? 1 : 0;
	mc_doctor_report_clear(&rep);
	mc_config_free(cfg);
	return code;
}
