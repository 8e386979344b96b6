/*
 * status.c - collect what the state says about every cert (status.h) and
 * write it in the Prometheus text format.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mailcert/crypto.h"
#include "mailcert/status.h"

#define DAY 86400L

/* status_versions - how many versions name has (0 when unreadable). */
static size_t
status_versions(const struct mc_config *cfg, const char *name)
{
	unsigned *v = NULL;
	size_t n = 0;

	if (mc_store_versions(cfg->state_dir, name, &v, &n, NULL) == -1)
		return 0;
	free(v);
	return n;
}

/* status_row - the facts of one cert (cc NULL: orphaned state name). */
static void
status_row(const struct mc_config *cfg, const struct mc_cert_conf *cc,
	   const char *name, time_t now, struct mc_status_row *row)
{
	struct mc_err err;
	unsigned cur = 0;
	int found;

	memset(row, 0, sizeof(*row));
	row->cc = cc;
	snprintf(row->name, sizeof(row->name), "%s", name);
	mc_err_clear(&err);
	found = mc_store_current(cfg->state_dir, name, &cur, &err);
	if (found == 1 && mc_store_load_meta(cfg->state_dir, name, cur,
					     &row->meta, &err) == 0)
		row->have = true;
	else if (found != 0)
		snprintf(row->problem, sizeof(row->problem), "%s", err.msg);
	mc_err_clear(&err);
	found = mc_store_load_last(cfg->state_dir, name, &row->last, &err);
	row->have_last = found == 1;
	if (found == -1 && row->problem[0] == '\0')
		snprintf(row->problem, sizeof(row->problem), "%s", err.msg);
	row->n_versions = status_versions(cfg, name);
	if (row->have)
		row->days_left =
			(long)((mc_store_meta_earliest(&row->meta)->not_after -
				now) / DAY);
	if (cc != NULL)
		mc_renew_due(cc, row->have ? &row->meta : NULL, cfg->directory,
			     now, &row->due);
}

/* status_orphans - the names with state but no [cert] section (new strv). */
static int
status_orphans(const struct mc_config *cfg, char ***out, size_t *n,
	       struct mc_err *err)
{
	char **names = NULL;
	size_t count = 0, i, kept = 0;

	if (mc_store_cert_names(cfg->state_dir, &names, &count, err) == -1)
		return -1;
	for (i = 0; i < count; i++) {
		if (mc_config_cert(cfg, names[i]) != NULL)
			free(names[i]);
		else
			names[kept++] = names[i];
	}
	*out = names;
	*n = kept;
	return 0;
}

/* mc_status_collect - the rows of every cert of cfg at now. */
int
mc_status_collect(const struct mc_config *cfg, time_t now,
		  struct mc_status *st, struct mc_err *err)
{
	char **orphans = NULL;
	size_t n_orphans = 0, i;

	memset(st, 0, sizeof(*st));
	st->now = now;
	if (status_orphans(cfg, &orphans, &n_orphans, err) == -1)
		return -1;
	st->rows = calloc(cfg->n_certs + n_orphans + 1, sizeof(*st->rows));
	if (st->rows == NULL) {
		mc_strv_free(orphans, n_orphans);
		return mc_err_errno(err, MC_ERR_SYS, "out of memory");
	}
	for (i = 0; i < cfg->n_certs; i++)
		status_row(cfg, &cfg->certs[i], cfg->certs[i].name, now,
			   &st->rows[st->n_rows++]);
	for (i = 0; i < n_orphans; i++)
		status_row(cfg, NULL, orphans[i], now,
			   &st->rows[st->n_rows++]);
	st->n_orphans = n_orphans;
	mc_strv_free(orphans, n_orphans);
	return 0;
}

/* mc_status_clear - free the rows. */
void
mc_status_clear(struct mc_status *st)
{
	size_t i;

	for (i = 0; st->rows != NULL && i < st->n_rows; i++) {
		mc_store_meta_clear(&st->rows[i].meta);
		mc_store_last_clear(&st->rows[i].last);
	}
	free(st->rows);
	memset(st, 0, sizeof(*st));
}

/* mc_status_nagios_worse - CRITICAL > UNKNOWN > WARNING > OK. */
bool
mc_status_nagios_worse(enum mc_nagios_state a, enum mc_nagios_state b)
{
	static const int rank[] = {
		[MC_NAGIOS_OK] = 0,
		[MC_NAGIOS_WARNING] = 1,
		[MC_NAGIOS_UNKNOWN] = 2,
		[MC_NAGIOS_CRITICAL] = 3,
	};

	return rank[a] > rank[b];
}

/* status_thresholds - warn/crit seconds before not-after for row r. */
static void
status_thresholds(const struct mc_status_row *r,
		  const struct mc_status_thresholds *th, long *warn_s,
		  long *crit_s)
{
	const struct mc_cert_meta *e = mc_store_meta_earliest(&r->meta);
	long life = (long)(e->not_after - e->not_before);

	*warn_s = th->warn_days >= 0 ? th->warn_days * DAY : life / 6;
	*crit_s = th->crit_days >= 0 ? th->crit_days * DAY : life / 10;
}

/* nagios_say - the reason into why; returns state. */
static enum mc_nagios_state
nagios_say(enum mc_nagios_state state, char *why, size_t size,
	   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static enum mc_nagios_state
nagios_say(enum mc_nagios_state state, char *why, size_t size,
	   const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, size, fmt, ap);
	va_end(ap);
	return state;
}

/* mc_status_nagios_row - the Nagios state of one configured row. */
enum mc_nagios_state
mc_status_nagios_row(const struct mc_status_row *r,
		     const struct mc_status_thresholds *th, time_t now,
		     long *warn_s, long *crit_s, char *why, size_t size)
{
	long left = r->have ? (long)(mc_store_meta_earliest(&r->meta)->not_after -
				     now)
			    : 0;
	bool last = r->have_last;

	*warn_s = *crit_s = 0;
	if (r->problem[0] != '\0')
		return nagios_say(MC_NAGIOS_UNKNOWN, why, size,
				  "state unreadable");
	if (!r->have)
		return nagios_say(MC_NAGIOS_WARNING, why, size,
				  "no certificate yet");
	status_thresholds(r, th, warn_s, crit_s);
	if (left <= 0)
		return nagios_say(MC_NAGIOS_CRITICAL, why, size, "expired");
	if (last && strcmp(r->last.live, "mismatch") == 0)
		return nagios_say(MC_NAGIOS_CRITICAL, why, size,
				  "an endpoint serves another certificate");
	if (left < *crit_s || left < *warn_s)
		return nagios_say(left < *crit_s ? MC_NAGIOS_CRITICAL
						 : MC_NAGIOS_WARNING,
				  why, size, "%ld days left", left / DAY);
	if (last && strcmp(r->last.result, "failed") == 0)
		return nagios_say(MC_NAGIOS_WARNING, why, size,
				  "last attempt failed");
	if (last && strcmp(r->last.live, "failed") == 0)
		return nagios_say(MC_NAGIOS_WARNING, why, size,
				  "last live check failed");
	return nagios_say(MC_NAGIOS_OK, why, size, "%ld days left",
			  left / DAY);
}

/* prom_label - cert="NAME" with the value escaped (\\ \" \n). */
static int
prom_label(struct mc_buf *out, const char *name, struct mc_err *err)
{
	const char *p;
	int rc = mc_buf_appendf(out, err, "{cert=\"");

	for (p = name; rc == 0 && *p != '\0'; p++) {
		if (*p == '\\' || *p == '"')
			rc = mc_buf_appendf(out, err, "\\%c", *p);
		else if (*p == '\n')
			rc = mc_buf_appendf(out, err, "\\n");
		else
			rc = mc_buf_append(out, p, 1, err);
	}
	return rc == 0 ? mc_buf_appendf(out, err, "\"}") : -1;
}

/* One metric family: name, help, and how to get a row's value (false:
 * the row has no value for it). */
struct prom_family {
	const char *name;
	const char *help;
	bool (*value)(const struct mc_status_row *r, double *v);
};

/* prom_not_after - expiry of the current version (its earlier leaf). */
static bool
prom_not_after(const struct mc_status_row *r, double *v)
{
	*v = (double)mc_store_meta_earliest(&r->meta)->not_after;
	return r->have;
}

/* prom_days_left - whole days until expiry (negative when expired). */
static bool
prom_days_left(const struct mc_status_row *r, double *v)
{
	*v = (double)r->days_left;
	return r->have;
}

/* prom_due - 1 when renewal is due now. */
static bool
prom_due(const struct mc_status_row *r, double *v)
{
	*v = r->due.due ? 1 : 0;
	return r->cc != NULL;
}

/* prom_attempt_time - when the last attempt ran. */
static bool
prom_attempt_time(const struct mc_status_row *r, double *v)
{
	*v = (double)r->last.at;
	return r->have_last && r->last.at > 0;
}

/* prom_attempt_ok - 1 when the last attempt succeeded. */
static bool
prom_attempt_ok(const struct mc_status_row *r, double *v)
{
	*v = strcmp(r->last.result, "ok") == 0 ? 1 : 0;
	return r->have_last && r->last.at > 0;
}

/* prom_live_match - 1 when the last live check found the current
 * certificate served everywhere, 0 when not (no endpoints: absent). */
static bool
prom_live_match(const struct mc_status_row *r, double *v)
{
	*v = strcmp(r->last.live, "match") == 0 ? 1 : 0;
	return r->have_last && r->last.live_at > 0 &&
	       strcmp(r->last.live, "unverified") != 0;
}

/* prom_live_time - when the last live check ran. */
static bool
prom_live_time(const struct mc_status_row *r, double *v)
{
	*v = (double)r->last.live_at;
	return r->have_last && r->last.live_at > 0;
}

/* prom_version - the current version number. */
static bool
prom_version(const struct mc_status_row *r, double *v)
{
	*v = (double)r->meta.version;
	return r->have;
}

static const struct prom_family prom_families[] = {
	{"mailcert_cert_not_after_timestamp_seconds",
	 "Expiry (notAfter) of the current certificate.", prom_not_after},
	{"mailcert_cert_days_left",
	 "Whole days until the current certificate expires.", prom_days_left},
	{"mailcert_cert_due", "1 when a renewal is due now.", prom_due},
	{"mailcert_cert_version", "The current version number in the store.",
	 prom_version},
	{"mailcert_last_attempt_timestamp_seconds",
	 "When the last issue/renew/deploy/rollback of the cert ran.",
	 prom_attempt_time},
	{"mailcert_last_attempt_success",
	 "1 when the last attempt succeeded, 0 when it failed.",
	 prom_attempt_ok},
	{"mailcert_live_match",
	 "1 when the last live check found the current certificate served "
	 "on every endpoint, else 0.",
	 prom_live_match},
	{"mailcert_live_check_timestamp_seconds",
	 "When the last live check ran.", prom_live_time},
};

/* prom_family_write - HELP, TYPE and one sample per configured row. */
static int
prom_family_write(const struct mc_status *st, const struct prom_family *f,
		  struct mc_buf *out, struct mc_err *err)
{
	size_t i;
	double v;

	if (mc_buf_appendf(out, err, "# HELP %s %s\n# TYPE %s gauge\n",
			   f->name, f->help, f->name) == -1)
		return -1;
	for (i = 0; i < st->n_rows; i++) {
		if (st->rows[i].cc == NULL || !f->value(&st->rows[i], &v))
			continue;
		if (mc_buf_appendf(out, err, "%s", f->name) == -1 ||
		    prom_label(out, st->rows[i].name, err) == -1 ||
		    mc_buf_appendf(out, err, " %.0f\n", v) == -1)
			return -1;
	}
	return 0;
}

/* mc_status_prometheus - the Prometheus text format of st. */
int
mc_status_prometheus(const struct mc_status *st, struct mc_buf *out,
		     struct mc_err *err)
{
	size_t i;

	for (i = 0; i < sizeof(prom_families) / sizeof(prom_families[0]); i++)
		if (prom_family_write(st, &prom_families[i], out, err) == -1)
			return -1;
	return mc_buf_appendf(
		out, err,
		"# HELP mailcert_orphaned_certs Certs with state but no "
		"[cert] section.\n# TYPE mailcert_orphaned_certs gauge\n"
		"mailcert_orphaned_certs %zu\n"
		"# HELP mailcert_status_timestamp_seconds When these metrics "
		"were written.\n# TYPE mailcert_status_timestamp_seconds "
		"gauge\nmailcert_status_timestamp_seconds %lld\n",
		st->n_orphans, (long long)st->now);
}
