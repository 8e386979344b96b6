/*
 * report.c - print a deploy report: one row per target and per live check.
 */
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#include "cli.h"

static const char *const step_names[] = {
	[MC_STEP_OK] = "ok",
	[MC_STEP_CHECK] = "check failed",
	[MC_STEP_WRITE] = "write failed",
	[MC_STEP_RELOAD] = "reload failed",
};

/* report_expected - "serial S" or, with several key types, "ecdsa
 * serial S, rsa serial R" (from the rows) into buf. */
static void
report_expected(const struct mc_live_report *live, char *buf, size_t size)
{
	size_t i, len = 0, keys = 0;

	if (live->n_keys < 2) {
		snprintf(buf, size, "serial %s", live->expected_serial);
		return;
	}
	buf[0] = '\0';
	for (i = 0; i < live->n_rows && keys < live->n_keys && len < size;
	     i++, keys++)
		len += (size_t)snprintf(buf + len, size - len, "%s%s serial %s",
					i ? ", " : "", live->rows[i].key,
					live->rows[i].expected_serial);
}

/* cli_report_live_text - the live table (with a key column when the cert
 * has several key types). */
void
cli_report_live_text(const char *cert, const struct mc_live_report *live)
{
	char expected[400];
	size_t i;

	if (live->n_rows == 0)
		return;
	report_expected(live, expected, sizeof(expected));
	printf("%s: live check, expected %s\n", cert, expected);
	for (i = 0; i < live->n_rows; i++) {
		const struct mc_live_row *r = &live->rows[i];

		printf("  %-34s %-28s ", r->url, r->sni[0] ? r->sni : "(no SNI)");
		if (live->n_keys > 1)
			printf("%-6s ", r->key);
		printf("%-16s %5ldms", mc_live_outcome_name(r->outcome), r->ms);
		if (r->outcome != MC_LIVE_MATCH)
			printf("  %s%s%s", r->detail,
			       r->served_sha256[0] ? " sha256 " : "",
			       r->served_sha256);
		printf("\n");
	}
}

/* cli_report_text - targets, then live checks, then the rollback. */
void
cli_report_text(const char *cert, const struct mc_deploy_report *rep)
{
	size_t i;

	for (i = 0; i < rep->n_targets; i++) {
		const struct mc_target_row *t = &rep->targets[i];

		printf("%s: target %-12s %s%s%s\n", cert, t->target,
		       step_names[t->failed_at], t->detail[0] ? ": " : "",
		       t->detail);
	}
	cli_report_live_text(cert, &rep->live);
	if (rep->rolled_back)
		printf("%s: rolled back to version %04u: %s%s\n", cert,
		       rep->rollback_version,
		       rep->rollback_ok ? "live and verified" : "FAILED: ",
		       rep->rollback_ok ? "" : rep->rollback_error);
}

/* cli_report_live_json - the live rows as a JSON array (new reference). */
json_t *
cli_report_live_json(const struct mc_live_report *live)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < live->n_rows; i++) {
		const struct mc_live_row *r = &live->rows[i];

		json_array_append_new(
			a, json_pack("{s:s, s:s?, s:s, s:s, s:s, s:s, s:s, "
				     "s:s, s:I}",
				     "url", r->url, "sni",
				     r->sni[0] ? r->sni : NULL, "key", r->key,
				     "expected_serial", r->expected_serial,
				     "result", mc_live_outcome_name(r->outcome),
				     "served_serial", r->served_serial,
				     "served_sha256", r->served_sha256,
				     "detail", r->detail, "ms",
				     (json_int_t)r->ms));
	}
	return a;
}

/* cli_report_json - the whole report as a JSON object (new reference). */
json_t *
cli_report_json(const struct mc_deploy_report *rep)
{
	json_t *o = json_object(), *targets = json_array();
	size_t i;

	for (i = 0; i < rep->n_targets; i++)
		json_array_append_new(
			targets,
			json_pack("{s:s, s:s, s:s}", "target",
				  rep->targets[i].target, "result",
				  step_names[rep->targets[i].failed_at],
				  "detail", rep->targets[i].detail));
	json_object_set_new(o, "version", json_integer(rep->version));
	json_object_set_new(o, "targets", targets);
	json_object_set_new(o, "expected_serial",
			    json_string(rep->live.expected_serial));
	json_object_set_new(o, "expected_sha256",
			    json_string(rep->live.expected_sha256));
	json_object_set_new(o, "live", cli_report_live_json(&rep->live));
	if (rep->rolled_back)
		json_object_set_new(
			o, "rollback",
			json_pack("{s:i, s:b, s:s}", "version",
				  (int)rep->rollback_version, "ok",
				  rep->rollback_ok, "error",
				  rep->rollback_error));
	return o;
}

/* cli_print_json - print a JSON value on stdout and release it. */
void
cli_print_json(json_t *v)
{
	char *text = v ? json_dumps(v, JSON_INDENT(2)) : NULL;

	if (text != NULL)
		printf("%s\n", text);
	free(text);
	json_decref(v);
}
