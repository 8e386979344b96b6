/*
 * last.c - record in the state what a run did to a cert (last.json, see
 * store.h): the attempt and its result even when it did not become
 * current, the outcome of the live check, the files deployed. A record
 * that cannot be written is a warning; the run's result stands.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "mailcert/crypto.h"
#include "mailcert/log.h"
#include "mailcert/store.h"

/* last_load - the record of name, or an empty one. */
static void
last_load(const struct mc_config *cfg, const char *name, struct mc_last *l)
{
	struct mc_err err;

	memset(l, 0, sizeof(*l));
	mc_err_clear(&err);
	if (mc_store_load_last(cfg->state_dir, name, l, &err) == -1)
		mc_log_warn("%s: %s; starting a new record", name, err.msg);
}

/* last_save - write the record of name back. */
static void
last_save(const struct mc_config *cfg, const char *name,
	  const struct mc_last *l)
{
	struct mc_err err;

	mc_err_clear(&err);
	if (mc_store_save_last(cfg->state_dir, name, l, &err) == -1)
		mc_log_warn("%s: cannot record the last attempt: %s", name,
			    err.msg);
}

/* cli_last_attempt - record an attempt of name: failure NULL means ok. */
void
cli_last_attempt(const struct mc_config *cfg, const char *name,
		 const char *command, unsigned version,
		 const struct mc_err *failure)
{
	struct mc_last l;

	last_load(cfg, name, &l);
	l.at = time(NULL);
	snprintf(l.command, sizeof(l.command), "%s", command);
	snprintf(l.result, sizeof(l.result), "%s", failure ? "failed" : "ok");
	snprintf(l.run_id, sizeof(l.run_id), "%s", mc_log_run_id());
	l.version = version;
	free(l.error);
	l.error = failure ? strdup(failure->msg) : NULL;
	last_save(cfg, name, &l);
	mc_store_last_clear(&l);
}

/* last_files - the files the targets of cc write, into l. */
static void
last_files(const struct mc_config *cfg, const struct mc_cert_conf *cc,
	   struct mc_last *l)
{
	char **files = NULL;
	size_t n = 0;

	if (mc_deploy_cert_files(cfg, cc, &files, &n, NULL) == -1)
		return;
	mc_strv_free(l->files, l->n_files);
	l->files = files;
	l->n_files = n;
}

/* last_live_set - the live outcome and the serial it concerns. */
static void
last_live_set(struct mc_last *l, const char *live, const char *serial)
{
	l->live_at = time(NULL);
	snprintf(l->live, sizeof(l->live), "%s", live);
	snprintf(l->live_serial, sizeof(l->live_serial), "%s",
		 serial ? serial : "");
}

/* last_live_outcome - "match", else "mismatch" when an endpoint serves
 * another certificate, else "failed" (unreachable, TLS or dialog errors). */
static const char *
last_live_outcome(const struct mc_live_report *live, int rc)
{
	size_t i;

	if (rc == 0)
		return "match";
	for (i = 0; i < live->n_rows; i++)
		if (live->rows[i].outcome == MC_LIVE_INACTIVE)
			return "mismatch";
	return "failed";
}

/* last_prev_serial - the serial of version v of name into buf. */
static const char *
last_prev_serial(const struct mc_config *cfg, const char *name, unsigned v,
		 char *buf, size_t size)
{
	struct mc_cert_meta meta;

	buf[0] = '\0';
	if (mc_store_load_meta(cfg->state_dir, name, v, &meta, NULL) == 0) {
		snprintf(buf, size, "%s", meta.serial);
		mc_store_meta_clear(&meta);
	}
	return buf;
}

/* cli_last_deploy - record the live outcome and files of a deployment
 * (rc: its result); a failure that changed nothing changes no record. */
void
cli_last_deploy(const struct mc_config *cfg, const struct mc_cert_conf *cc,
		const struct mc_deploy_report *rep, int rc)
{
	char serial[128];
	struct mc_last l;

	if (rc != 0 && !rep->rolled_back)
		return; /* nothing was changed */
	last_load(cfg, cc->name, &l);
	if (rc == 0) {
		last_live_set(&l, cc->n_verify ? "match" : "unverified",
			      rep->live.expected_serial);
		last_files(cfg, cc, &l);
	} else if (rep->rollback_ok) {
		last_live_set(&l, cc->n_verify ? "match" : "unverified",
			      last_prev_serial(cfg, cc->name,
					       rep->rollback_version, serial,
					       sizeof(serial)));
	} else {
		last_live_set(&l, "failed", rep->live.expected_serial);
	}
	last_save(cfg, cc->name, &l);
	mc_store_last_clear(&l);
}

/* cli_last_live - record the outcome of `verify` (rc: its result). */
void
cli_last_live(const struct mc_config *cfg, const struct mc_cert_conf *cc,
	      const struct mc_live_report *live, int rc)
{
	struct mc_last l;

	last_load(cfg, cc->name, &l);
	last_live_set(&l, last_live_outcome(live, rc), live->expected_serial);
	last_save(cfg, cc->name, &l);
	mc_store_last_clear(&l);
}
