/*
 * cmd_status.c - `mailcert status`: one row per configured cert.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "cli.h"
#include "mailcert/crypto.h"
#include "mailcert/renew.h"
#include "mailcert/store.h"

struct status_row {
	const struct mc_cert_conf *cc;
	bool have;   /* a current version exists */
	struct mc_cert_meta meta;
	struct mc_due due;
	long days_left;
	char problem[MC_ERR_MSG_MAX]; /* state that could not be read */
};

/* status_collect - facts of one cert from the store. */
static void
status_collect(const struct mc_config *cfg, const struct mc_cert_conf *cc,
	       time_t now, struct status_row *row)
{
	struct mc_err err;
	unsigned cur = 0;
	int found;

	memset(row, 0, sizeof(*row));
	row->cc = cc;
	mc_err_clear(&err);
	found = mc_store_current(cfg->state_dir, cc->name, &cur, &err);
	if (found == 1 &&
	    mc_store_load_meta(cfg->state_dir, cc->name, cur, &row->meta,
			       &err) == 0)
		row->have = true;
	else if (found != 0)
		snprintf(row->problem, sizeof(row->problem), "%s", err.msg);
	mc_renew_due(cc, row->have ? &row->meta : NULL, now, &row->due);
	if (row->have)
		row->days_left = (long)((row->meta.not_after - now) / 86400);
}

/* status_names - the names joined by spaces into buf. */
static void
status_names(const struct mc_cert_conf *cc, char *buf, size_t size)
{
	size_t i, len = 0;

	buf[0] = '\0';
	for (i = 0; i < cc->n_names && len + 1 < size; i++)
		len += (size_t)snprintf(buf + len, size - len, "%s%s",
					i ? " " : "", cc->names[i]);
}

/* status_iso - t as an RFC 3339 UTC string (new JSON reference). */
static json_t *
status_iso(time_t t)
{
	char buf[32];

	return json_string(mc_time_format(t, MC_TIME_ISO, buf, sizeof(buf)));
}

/* status_json_row - the JSON object of a row (new reference). */
static json_t *
status_json_row(const struct status_row *r)
{
	json_t *o = json_object(), *names = json_array();
	size_t i;

	for (i = 0; i < r->cc->n_names; i++)
		json_array_append_new(names, json_string(r->cc->names[i]));
	json_object_set_new(o, "name", json_string(r->cc->name));
	json_object_set_new(o, "names", names);
	json_object_set_new(o, "key_type",
			    json_string(mc_key_type_name(r->cc->key_type)));
	json_object_set_new(o, "due", json_boolean(r->due.due));
	json_object_set_new(o, "due_reason", json_string(r->due.reason));
	json_object_set_new(o, "due_at", status_iso(r->due.when));
	if (r->problem[0])
		json_object_set_new(o, "error", json_string(r->problem));
	if (!r->have)
		return o;
	json_object_set_new(o, "version", json_integer(r->meta.version));
	json_object_set_new(o, "serial", json_string(r->meta.serial));
	json_object_set_new(o, "issuer", json_string(r->meta.issuer));
	json_object_set_new(o, "not_before", status_iso(r->meta.not_before));
	json_object_set_new(o, "not_after", status_iso(r->meta.not_after));
	json_object_set_new(o, "days_left", json_integer(r->days_left));
	json_object_set_new(o, "last_result", json_string(r->meta.status));
	return o;
}

/* status_text_row - one table row. */
static void
status_text_row(const struct status_row *r)
{
	char names[512], when[64], due[96];

	status_names(r->cc, names, sizeof(names));
	if (!r->have) {
		printf("%-12s %-10s %-4s %-23s %5s  %-28s %-9s %s\n",
		       r->cc->name, mc_key_type_name(r->cc->key_type), "-", "-",
		       "-", "yes (no certificate yet)",
		       r->problem[0] ? "error" : "-", names);
		if (r->problem[0])
			printf("  %s\n", r->problem);
		return;
	}
	cli_format_time(r->meta.not_after, when, sizeof(when));
	snprintf(due, sizeof(due), "%s (%s)", r->due.due ? "yes" : "no",
		 r->due.reason);
	printf("%-12s %-10s %04u %-23s %5ld  %-28s %-9s %s\n", r->cc->name,
	       mc_key_type_name(r->meta.key_type), r->meta.version, when,
	       r->days_left, due, r->meta.status, names);
}

/* cli_cmd_status - `status`. */
int
cli_cmd_status(struct cli *cli, int argc, char **argv)
{
	struct mc_config *cfg = NULL;
	struct status_row row;
	struct mc_err err;
	json_t *all = NULL;
	char *text;
	size_t i;

	(void)argv;
	mc_err_clear(&err);
	if (argc > 1)
		return cli_usage_error("status", "takes no arguments");
	if (cli_load_config(cli, &cfg, &err) == -1)
		return cli_fail(&err);
	all = cli->json ? json_array() : NULL;
	if (all == NULL)
		printf("%-12s %-10s %-4s %-23s %5s  %-28s %-9s %s\n", "CERT",
		       "KEY", "VER", "NOT AFTER", "DAYS", "DUE", "LAST RUN",
		       "NAMES");
	for (i = 0; i < cfg->n_certs; i++) {
		status_collect(cfg, &cfg->certs[i], time(NULL), &row);
		if (all != NULL) {
			json_t *o = status_json_row(&row);

			cli_status_drift_json(cfg, row.cc, row.meta.version, o);
			json_array_append_new(all, o);
		} else {
			status_text_row(&row);
			cli_status_drift_text(cfg, row.cc, row.meta.version);
		}
		mc_store_meta_clear(&row.meta);
	}
	if (all != NULL) {
		text = json_dumps(all, JSON_INDENT(2));
		printf("%s\n", text ? text : "[]");
		free(text);
		json_decref(all);
	}
	mc_config_free(cfg);
	return 0;
}
