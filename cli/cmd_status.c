/*
 * cmd_status.c - `mailcert status [--nagios [--warn DAYS] [--crit DAYS] |
 * --prometheus]`: one row per configured cert (names, key type, version,
 * not-after, days left, due and why, the last attempt, the last live
 * check), then the orphaned state; and the metrics file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "cli.h"
#include "mailcert/crypto.h"
#include "mailcert/fsio.h"
#include "mailcert/log.h"
#include "mailcert/status.h"

#define METRICS_MAX (16 * 1024 * 1024)

struct status_args {
	bool nagios, prometheus;
	struct mc_status_thresholds th;
};

/* status_days_arg - a day count for --warn/--crit. */
static int
status_days_arg(const char *opt, const char *v, long *out)
{
	char *end = NULL;
	long d;

	d = v ? strtol(v, &end, 10) : -1;
	if (v == NULL || end == v || *end != '\0' || d < 0 || d > 100000)
		return cli_usage_error("status", "%s needs a number of days",
				       opt);
	*out = d;
	return 0;
}

/* status_parse - the options; 0 or a usage exit code. */
static int
status_parse(int argc, char **argv, struct status_args *a)
{
	int i;

	memset(a, 0, sizeof(*a));
	a->th.warn_days = a->th.crit_days = -1;
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--nagios") == 0)
			a->nagios = true;
		else if (strcmp(argv[i], "--prometheus") == 0)
			a->prometheus = true;
		else if (strcmp(argv[i], "--warn") == 0 ||
			 strcmp(argv[i], "--crit") == 0) {
			long *slot = argv[i][2] == 'w' ? &a->th.warn_days
						       : &a->th.crit_days;

			if (status_days_arg(argv[i],
					    i + 1 < argc ? argv[i + 1] : NULL,
					    slot) != 0)
				return 2;
			i++;
		} else
			return cli_usage_error("status", "unexpected \"%s\"",
					       argv[i]);
	}
	if (a->nagios && a->prometheus)
		return cli_usage_error("status", "--nagios and --prometheus "
						 "exclude each other");
	return 0;
}

/* status_names - the names of a configured row joined into buf
 * (international names both ways). */
static void
status_names(const struct mc_status_row *r, char *buf, size_t size)
{
	char one[600];
	size_t i, len = 0;

	buf[0] = '\0';
	for (i = 0; r->cc != NULL && i < r->cc->n_names && len + 1 < size;
	     i++) {
		cli_name_display(r->cc->names[i], one, sizeof(one));
		len += (size_t)snprintf(buf + len, size - len, "%s%s",
					i ? " " : "", one);
	}
}

/* status_iso - t as an RFC 3339 UTC string (new JSON reference). */
static json_t *
status_iso(time_t t)
{
	char buf[32];

	return json_string(mc_time_format(t, MC_TIME_ISO, buf, sizeof(buf)));
}

/* status_json_last - the last attempt and live check (new reference). */
static json_t *
status_json_last(const struct mc_last *l)
{
	json_t *o = json_object();

	if (l->at > 0)
		json_object_set_new(
			o, "last_attempt",
			json_pack("{s:o, s:s, s:s, s:i, s:s?}", "at",
				  status_iso(l->at), "command", l->command,
				  "result", l->result, "version",
				  (int)l->version, "error", l->error));
	if (l->live_at > 0)
		json_object_set_new(o, "live",
				    json_pack("{s:o, s:s, s:s}", "at",
					      status_iso(l->live_at), "result",
					      l->live, "serial",
					      l->live_serial));
	return o;
}

/* status_key_types_json - the configured key types (new reference). */
static json_t *
status_key_types_json(const struct mc_cert_conf *cc)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < cc->n_key_types; i++)
		json_array_append_new(a, json_string(mc_key_type_name(
					      cc->key_types[i])));
	return a;
}

/* status_leaves_json - one object per certificate of the current version
 * (two for a dual version; new reference). */
static json_t *
status_leaves_json(const struct mc_cert_meta *meta)
{
	const struct mc_cert_meta *m;
	json_t *a = json_array();
	size_t i;

	for (i = 0; (m = mc_store_meta_leaf(meta, i)) != NULL; i++)
		json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:o, s:o}",
			"key_type", mc_key_type_name(m->key_type), "serial",
			m->serial, "spki_sha256", m->spki_sha256, "not_before",
			status_iso(m->not_before), "not_after",
			status_iso(m->not_after)));
	return a;
}

/* status_json_row - the JSON object of a row (new reference). */
static json_t *
status_json_row(const struct mc_status_row *r)
{
	json_t *o = json_object(), *names = json_array();
	size_t i;

	json_object_set_new(o, "name", json_string(r->name));
	json_object_set_new(o, "versions", json_integer((json_int_t)r->n_versions));
	if (r->problem[0])
		json_object_set_new(o, "error", json_string(r->problem));
	if (r->have_last) {
		json_t *last = status_json_last(&r->last);

		json_object_update(o, last);
		json_decref(last);
	}
	if (r->cc == NULL) {
		json_decref(names);
		json_object_set_new(o, "orphaned", json_true());
		return o;
	}
	for (i = 0; i < r->cc->n_names; i++)
		json_array_append_new(names, json_string(r->cc->names[i]));
	json_object_set_new(o, "names", names);
	json_object_set_new(o, "key_type",
			    json_string(mc_key_type_name(r->cc->key_type)));
	json_object_set_new(o, "key_types", status_key_types_json(r->cc));
	json_object_set_new(o, "due", json_boolean(r->due.due));
	json_object_set_new(o, "due_reason", json_string(r->due.reason));
	json_object_set_new(o, "due_at", status_iso(r->due.when));
	if (!r->have)
		return o;
	json_object_set_new(o, "version", json_integer(r->meta.version));
	json_object_set_new(o, "serial", json_string(r->meta.serial));
	json_object_set_new(o, "issuer", json_string(r->meta.issuer));
	json_object_set_new(o, "not_before", status_iso(r->meta.not_before));
	json_object_set_new(o, "not_after", status_iso(
		mc_store_meta_earliest(&r->meta)->not_after));
	json_object_set_new(o, "days_left", json_integer(r->days_left));
	json_object_set_new(o, "certificates", status_leaves_json(&r->meta));
	json_object_set_new(o, "last_result", json_string(r->meta.status));
	return o;
}

/* status_key_text - "ecdsa-p256", or "ecdsa-p256+rsa-2048" (dual). */
static void
status_key_text(const struct mc_cert_conf *cc, char *buf, size_t size)
{
	size_t i;

	mc_key_types_text(cc->key_types, cc->n_key_types, buf, size);
	for (i = 0; buf[i] != '\0'; i++)
		if (buf[i] == ' ')
			buf[i] = '+';
}

/* status_attempt_text - "ok 2025-01-02 03:04" or "-" into buf. */
static void
status_attempt_text(const struct mc_status_row *r, char *buf, size_t size)
{
	char when[64];

	if (!r->have_last || r->last.at == 0) {
		snprintf(buf, size, "-");
		return;
	}
	cli_format_time(r->last.at, when, sizeof(when));
	snprintf(buf, size, "%s %.16s", r->last.result, when);
}

/* status_text_row - one table row, then the problem or last error. */
static void
status_text_row(const struct mc_status_row *r)
{
	char names[512], when[64], due[96], attempt[64], key[64];
	const char *live = r->have_last && r->last.live[0] ? r->last.live : "-";

	status_names(r, names, sizeof(names));
	status_attempt_text(r, attempt, sizeof(attempt));
	snprintf(due, sizeof(due), "%s (%s)", r->due.due ? "yes" : "no",
		 r->due.reason);
	if (r->have)
		cli_format_time(mc_store_meta_earliest(&r->meta)->not_after,
				when, sizeof(when));
	else
		snprintf(when, sizeof(when), "-");
	status_key_text(r->cc, key, sizeof(key));
	printf("%-12s %-10s ", r->name, key);
	if (r->have)
		printf("%04u %-23s %5ld", r->meta.version, when, r->days_left);
	else
		printf("%-4s %-23s %5s", "-", "-", "-");
	printf("  %-28s %-24s %-10s %s\n", due, attempt, live, names);
	if (r->problem[0])
		printf("  error: %s\n", r->problem);
	if (r->have_last && strcmp(r->last.result, "failed") == 0 &&
	    r->last.error != NULL)
		printf("  last %s failed: %s\n", r->last.command,
		       r->last.error);
}

/* status_drift_version - the version a row's targets are compared with. */
static unsigned
status_drift_version(const struct mc_status_row *r)
{
	return r->have ? r->meta.version : 0;
}

/* status_text - the table (with the drift of each cert's targets under
 * its row) and the orphaned state. */
static void
status_text(const struct mc_config *cfg, const struct mc_status *st)
{
	size_t i;

	printf("%-12s %-10s %-4s %-23s %5s  %-28s %-24s %-10s %s\n", "CERT",
	       "KEY", "VER", "NOT AFTER", "DAYS", "DUE", "LAST ATTEMPT",
	       "LIVE", "NAMES");
	for (i = 0; i < st->n_rows; i++)
		if (st->rows[i].cc != NULL) {
			status_text_row(&st->rows[i]);
			cli_status_drift_text(cfg, st->rows[i].cc,
					      status_drift_version(&st->rows[i]));
		}
	if (st->n_orphans == 0)
		return;
	printf("\norphaned state (no [cert] section in the config):\n");
	for (i = 0; i < st->n_rows; i++)
		if (st->rows[i].cc == NULL)
			printf("  %-12s %zu version(s); `mailcert delete %s` "
			       "removes it\n",
			       st->rows[i].name, st->rows[i].n_versions,
			       st->rows[i].name);
}

/* status_json - every row as a JSON array, with each target's drift. */
static void
status_json(const struct mc_config *cfg, const struct mc_status *st)
{
	json_t *all = json_array(), *o;
	size_t i;

	for (i = 0; i < st->n_rows; i++) {
		o = status_json_row(&st->rows[i]);
		if (o != NULL && st->rows[i].cc != NULL)
			cli_status_drift_json(cfg, st->rows[i].cc,
					      status_drift_version(&st->rows[i]),
					      o);
		json_array_append_new(all, o);
	}
	cli_fleet_status(cfg, all); /* fleet mode: "fleet" in each row */
	cli_print_json(all);
}

static const char *const nagios_names[] = {
	[MC_NAGIOS_OK] = "OK",
	[MC_NAGIOS_WARNING] = "WARNING",
	[MC_NAGIOS_CRITICAL] = "CRITICAL",
	[MC_NAGIOS_UNKNOWN] = "UNKNOWN",
};

/* status_nagios - the status line with perfdata, then one line per cert;
 * returns the Nagios exit code. */
static int
status_nagios(const struct mc_status *st, const struct mc_status_thresholds *th)
{
	enum mc_nagios_state worst = MC_NAGIOS_OK, s;
	char why[256], summary[512] = "", perf[4096] = "";
	size_t i, slen = 0, plen = 0, shown = 0, certs = 0;
	long warn_s, crit_s;

	for (i = 0; i < st->n_rows; i++) {
		const struct mc_status_row *r = &st->rows[i];

		if (r->cc == NULL)
			continue;
		certs++;
		s = mc_status_nagios_row(r, th, st->now, &warn_s, &crit_s, why,
					 sizeof(why));
		if (mc_status_nagios_worse(s, worst))
			worst = s;
		if (s != MC_NAGIOS_OK && shown++ < 5 && slen < sizeof(summary))
			slen += (size_t)snprintf(summary + slen,
						 sizeof(summary) - slen,
						 "%s%s %s", shown > 1 ? ", " : ": ",
						 r->name, why);
		if (r->have && plen < sizeof(perf))
			plen += (size_t)snprintf(perf + plen, sizeof(perf) - plen,
						 " '%s_days_left'=%ld;%ld;%ld",
						 r->name, r->days_left,
						 warn_s / 86400, crit_s / 86400);
	}
	printf("MAILCERT %s - %zu cert%s%s%s%s\n", nagios_names[worst], certs,
	       certs == 1 ? "" : "s", summary, perf[0] ? " |" : "", perf);
	for (i = 0; i < st->n_rows; i++) {
		const struct mc_status_row *r = &st->rows[i];

		if (r->cc == NULL) {
			printf("%s: orphaned state (no [cert] section)\n",
			       r->name);
			continue;
		}
		s = mc_status_nagios_row(r, th, st->now, &warn_s, &crit_s, why,
					 sizeof(why));
		printf("%s: %s: %s; due: %s (%s)%s%s\n", r->name,
		       nagios_names[s], why, r->due.due ? "yes" : "no",
		       r->due.reason, r->problem[0] ? "; " : "", r->problem);
	}
	return (int)worst;
}

/* status_prometheus_text - the metrics text of cfg's state (new). */
static char *
status_prometheus_text(const struct mc_config *cfg, struct mc_err *err)
{
	struct mc_status st;
	struct mc_buf b;

	mc_buf_init(&b, METRICS_MAX);
	if (mc_status_collect(cfg, time(NULL), &st, err) == -1)
		return NULL;
	if (mc_status_prometheus(&st, &b, err) == -1) {
		mc_status_clear(&st);
		mc_buf_free(&b);
		return NULL;
	}
	mc_status_clear(&st);
	return mc_buf_take(&b);
}

/* cli_metrics_update - rewrite metrics_file atomically (0644: the
 * node exporter's textfile collector runs as another user). */
void
cli_metrics_update(const struct mc_config *cfg)
{
	struct mc_err err;
	char *text;

	if (cfg->metrics_file == NULL)
		return;
	mc_err_clear(&err);
	text = status_prometheus_text(cfg, &err);
	if (text == NULL ||
	    mc_fsio_write(cfg->metrics_file, text, strlen(text), 0644,
			  MC_FSIO_KEEP_OWNER, false, &err) == -1)
		mc_log_warn("metrics_file %s: %s", cfg->metrics_file, err.msg);
	free(text);
}

/* status_nagios_fail - an UNKNOWN status line for a failure. */
static int
status_nagios_fail(const struct mc_err *err)
{
	printf("MAILCERT UNKNOWN - %s\n", err->msg);
	return MC_NAGIOS_UNKNOWN;
}

/* cli_cmd_status - `status [--nagios [--warn D] [--crit D] | --prometheus]`. */
int
cli_cmd_status(struct cli *cli, int argc, char **argv)
{
	struct mc_config *cfg = NULL;
	struct status_args a;
	struct mc_status st;
	struct mc_err err;
	char *text;
	int rc = 0;

	mc_err_clear(&err);
	memset(&st, 0, sizeof(st));
	rc = status_parse(argc, argv, &a);
	if (rc != 0)
		return a.nagios ? MC_NAGIOS_UNKNOWN : rc;
	if (cli_load_config(cli, &cfg, &err) == -1)
		return a.nagios ? status_nagios_fail(&err) : cli_fail(&err);
	if (a.prometheus) {
		text = status_prometheus_text(cfg, &err);
		if (text != NULL)
			fputs(text, stdout);
		else
			rc = cli_fail(&err);
		free(text);
	} else if (mc_status_collect(cfg, time(NULL), &st, &err) == -1) {
		rc = a.nagios ? status_nagios_fail(&err) : cli_fail(&err);
	} else if (a.nagios) {
		rc = status_nagios(&st, &a.th);
	} else if (cli->json) {
		status_json(cfg, &st);
	} else {
		status_text(cfg, &st);
		cli_fleet_status(cfg, NULL);
	}
	mc_status_clear(&st);
	mc_config_free(cfg);
	return rc;
}
