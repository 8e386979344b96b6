/*
 * converge_out.c - what convergence did (deploy.h), and the drift that
 * `status` shows: text and JSON.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "mailcert/store.h"

/* drift_text - one line (after lead) for a target that differs from
 * version cur. */
static void
drift_text(const char *lead, unsigned cur, const struct mc_drift_row *r)
{
	if (r->holds != 0 && r->holds != cur)
		printf("%s target %-12s drift: holds version %04u (%s than "
		       "current %04u)\n",
		       lead, r->target, r->holds,
		       r->holds > cur ? "newer" : "older", cur);
	else if (r->holds == cur && r->state == MC_DRIFT_OTHER)
		printf("%s target %-12s drift: holds version %04u, but not "
		       "as mailcert writes it (chain or key encoding)\n",
		       lead, r->target, cur);
	else
		printf("%s target %-12s drift: %s: %s\n", lead, r->target,
		       mc_drift_state_name(r->state), r->detail);
}

/* cli_converge_text - the interrupted deployment, drift and what was
 * deployed about them; nothing when all was in order. */
void
cli_converge_text(const char *cert, const struct mc_converge_report *rep)
{
	char lead[160];
	size_t i;

	snprintf(lead, sizeof(lead), "%s:", cert);
	if (rep->interrupted)
		printf("%s: an interrupted %s of version %04u was found\n",
		       cert, rep->journal_op, rep->journal_to);
	for (i = 0; i < rep->n_drift; i++)
		if (rep->drift[i].state != MC_DRIFT_OK)
			drift_text(lead, rep->current, &rep->drift[i]);
	if (!rep->deployed)
		return;
	cli_report_text(cert, &rep->deploy);
	if (rep->deploy_ok)
		printf("%s: version %04u deployed and verified live\n", cert,
		       rep->deployed_version);
}

/* drift_json - the rows as a JSON array (new reference). */
static json_t *
drift_json(const struct mc_drift_row *rows, size_t n)
{
	json_t *a = json_array(), *o;
	size_t i;

	for (i = 0; i < n; i++) {
		o = json_pack("{s:s, s:s}", "target", rows[i].target, "state",
			      mc_drift_state_name(rows[i].state));
		if (o != NULL && rows[i].holds != 0)
			json_object_set_new(o, "holds",
					    json_integer(rows[i].holds));
		if (o != NULL && rows[i].detail[0] != '\0')
			json_object_set_new(o, "detail",
					    json_string(rows[i].detail));
		json_array_append_new(a, o);
	}
	return a;
}

/* interrupted_json - the interrupted deployment of rep (new reference). */
static json_t *
interrupted_json(const struct mc_converge_report *rep)
{
	return json_pack("{s:s, s:I, s:I}", "op", rep->journal_op, "to",
			 (json_int_t)rep->journal_to, "from",
			 (json_int_t)rep->journal_from);
}

/* cli_converge_json - the report as a JSON object (new reference). */
json_t *
cli_converge_json(const struct mc_converge_report *rep)
{
	json_t *o = json_object();

	json_object_set_new(o, "removed", json_integer(rep->removed));
	if (rep->interrupted)
		json_object_set_new(o, "interrupted", interrupted_json(rep));
	json_object_set_new(o, "drift", drift_json(rep->drift, rep->n_drift));
	if (rep->deployed)
		json_object_set_new(o, "deploy", cli_report_json(&rep->deploy));
	return o;
}

/* cli_converge_eventful - whether the report is worth printing. */
bool
cli_converge_eventful(const struct mc_converge_report *rep)
{
	return rep->interrupted || rep->n_bad > 0 || rep->deployed;
}

/* status_drift - drift of cc's targets against cur, and the journal. */
static int
status_drift(const struct mc_config *cfg, const struct mc_cert_conf *cc,
	     unsigned cur, struct mc_converge_report *rep, struct mc_err *err)
{
	struct mc_store_journal j;
	size_t i;
	int found;

	memset(rep, 0, sizeof(*rep));
	found = mc_store_journal_read(cfg->state_dir, cc->name, &j, err);
	if (found == 1) {
		rep->interrupted = true;
		snprintf(rep->journal_op, sizeof(rep->journal_op), "%s", j.op);
		rep->journal_to = j.to;
		rep->journal_from = j.from;
	}
	rep->current = cur;
	if (cur != 0 && cc->n_targets != 0 &&
	    mc_deploy_drift(cfg, cc, cur, &rep->drift, &rep->n_drift,
			    found == -1 ? NULL : err) == -1)
		found = -1;
	for (i = 0; i < rep->n_drift; i++)
		rep->n_bad += rep->drift[i].state != MC_DRIFT_OK &&
			      rep->drift[i].state != MC_DRIFT_KEYTYPES;
	return found == -1 ? -1 : 0;
}

/* cli_status_drift_text - status lines under a cert's row: targets that
 * differ from current and an interrupted deployment (changes nothing). */
void
cli_status_drift_text(const struct mc_config *cfg,
		      const struct mc_cert_conf *cc, unsigned cur)
{
	struct mc_converge_report rep;
	struct mc_err err;

	mc_err_clear(&err);
	if (status_drift(cfg, cc, cur, &rep, &err) == -1)
		printf("  %s\n", err.msg);
	if (rep.interrupted)
		printf("  an interrupted %s of version %04u: the next run "
		       "(renew, deploy) finishes it\n",
		       rep.journal_op, rep.journal_to);
	for (size_t i = 0; i < rep.n_drift; i++)
		if (rep.drift[i].state != MC_DRIFT_OK)
			drift_text(" ", cur, &rep.drift[i]);
	if (rep.n_bad > 0)
		printf("  run `mailcert renew` to deploy version %04u to "
		       "%s again\n",
		       cur, rep.n_bad > 1 ? "them" : "it");
	mc_converge_report_clear(&rep);
}

/* cli_status_drift_json - "drift" (and "interrupted") into o. */
void
cli_status_drift_json(const struct mc_config *cfg,
		      const struct mc_cert_conf *cc, unsigned cur, json_t *o)
{
	struct mc_converge_report rep;
	struct mc_err err;

	mc_err_clear(&err);
	if (status_drift(cfg, cc, cur, &rep, &err) == -1)
		json_object_set_new(o, "state_error", json_string(err.msg));
	json_object_set_new(o, "drift", drift_json(rep.drift, rep.n_drift));
	if (rep.interrupted)
		json_object_set_new(o, "interrupted", interrupted_json(&rep));
	mc_converge_report_clear(&rep);
}
