/*
 * doctor.c - the doctor's report, and the daemon checks of every target:
 * does the daemon's configuration read the target's files (with the lines
 * to add), does it run, can the files be written.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mailcert/crypto.h"
#include "mailcert/daemon.h"
#include "mailcert/deploy.h"
#include "mailcert/doctor.h"
#include "mailcert/fsio.h"

#include "doctor/doctor_int.h"

/* mc_doctor_level_name - the stable name of a level. */
const char *
mc_doctor_level_name(enum mc_doctor_level level)
{
	static const char *const names[] = {"ok", "info", "warning", "problem"};

	return (size_t)level < 4 ? names[level] : "unknown";
}

/* doctor_add - append an item. */
int
doctor_add(struct mc_doctor_report *rep, const char *cert, const char *subject,
	   const char *check, enum mc_doctor_level level, const char *fix,
	   const char *fmt, ...)
{
	struct mc_doctor_item *it;
	va_list ap;

	if (rep->n_items == rep->cap) {
		size_t cap = rep->cap ? rep->cap * 2 : 32;

		it = realloc(rep->items, cap * sizeof(*it));
		if (it == NULL)
			return -1;
		rep->items = it;
		rep->cap = cap;
	}
	it = &rep->items[rep->n_items++];
	memset(it, 0, sizeof(*it));
	snprintf(it->cert, sizeof(it->cert), "%s", cert ? cert : "");
	snprintf(it->subject, sizeof(it->subject), "%s", subject);
	snprintf(it->check, sizeof(it->check), "%s", check);
	it->level = level;
	snprintf(it->fix, sizeof(it->fix), "%s", fix ? fix : "");
	va_start(ap, fmt);
	vsnprintf(it->message, sizeof(it->message), fmt, ap);
	va_end(ap);
	rep->problems += level == MC_DOCTOR_PROBLEM;
	rep->warnings += level == MC_DOCTOR_WARN;
	return 0;
}

/* mc_doctor_report_clear - free the items. */
void
mc_doctor_report_clear(struct mc_doctor_report *rep)
{
	if (rep == NULL)
		return;
	free(rep->items);
	memset(rep, 0, sizeof(*rep));
}

/* doctor_daemon_name - "Postfix" etc. */
static const char *
doctor_daemon_name(enum mc_target_type type)
{
	static const char *const names[] = {"Postfix", "Dovecot", "Exim", "files"};

	return names[type];
}

/* doctor_reload_hint - how to make t's daemon reread its configuration. */
static const char *
doctor_reload_hint(const struct mc_target *t)
{
	if (t->reload != NULL)
		return t->reload;
	switch (t->type) {
	case MC_TARGET_POSTFIX:
		return "postfix reload";
	case MC_TARGET_DOVECOT:
		return "doveadm reload";
	default:
		return "systemctl reload exim4 (Debian: after update-exim4.conf)";
	}
}

/* doctor_missing_files - whether any file of t for cc is absent. */
static bool
doctor_missing_files(const struct mc_target *t, const struct mc_cert_conf *cc)
{
	char **files = NULL;
	bool missing = false;
	size_t i, n = 0;

	if (mc_deploy_target_files(t, cc, &files, &n, NULL) == -1)
		return true;
	for (i = 0; i < n && !missing; i++)
		missing = !mc_fsio_exists(files[i]);
	mc_strv_free(files, n);
	return missing;
}

/* doctor_fix_lines - the fix text for a daemon that reads other files. */
static void
doctor_fix_lines(const struct mc_target *t, const struct mc_cert_conf *cc,
		 const struct mc_daemon_verdict *v, char *fix, size_t size)
{
	const char *cert = cc->name;
	size_t i, len = 0;

	if (doctor_missing_files(t, cc))
		len += (size_t)snprintf(fix + len, size - len,
			"first write the files (`mailcert issue %s`, or `mailcert "
			"deploy %s` when a version is stored): a daemon cannot "
			"load files that do not exist yet\n", cert, cert);
	len += (size_t)snprintf(fix + len, len < size ? size - len : 0,
				"add to %s:\n", v->where);
	for (i = 0; i < v->n_lines && len < size; i++)
		len += (size_t)snprintf(fix + len, size - len, "    %s\n", v->lines[i]);
	if (len < size)
		snprintf(fix + len, size - len, "then reload the daemon (%s) and run "
			 "`mailcert deploy %s`", doctor_reload_hint(t), cert);
}

/* doctor_daemon_config - does t's daemon read t's files for cc? */
static int
doctor_daemon_config(const struct mc_target *t, const struct mc_cert_conf *cc,
		     struct mc_doctor_report *rep)
{
	struct mc_daemon_verdict v;
	char subject[200], fix[2048];
	const char *d = doctor_daemon_name(t->type);
	struct mc_err err;

	snprintf(subject, sizeof(subject), "target %s", t->name);
	if (t->type == MC_TARGET_FILES)
		return doctor_add(rep, cc->name, subject, "daemon-config", MC_DOCTOR_INFO,
				  NULL, "type files: no daemon configuration to check");
	if (mc_daemon_target_check(t, cc, &v, &err) == -1)
		return doctor_add(rep, cc->name, subject, "daemon-config",
				  MC_DOCTOR_PROBLEM, t->config ? NULL :
				  "is the daemon installed? set `config =` in the "
				  "[target] section when its configuration is elsewhere",
				  "cannot read %s's configuration: %s", d, err.msg);
	switch (v.state) {
	case MC_DAEMON_READS:
		return doctor_add(rep, cc->name, subject, "daemon-config", MC_DOCTOR_OK,
				  NULL, "%s reads mailcert's files%s (%s)", d,
				  v.via_sni ? " by SNI" : "", v.reads);
	case MC_DAEMON_UNKNOWN:
		return doctor_add(rep, cc->name, subject, "daemon-config",
				  MC_DOCTOR_WARN, NULL, "cannot tell whether %s reads "
				  "mailcert's files: %s; the verify endpoints show what "
				  "it serves", d, v.detail);
	case MC_DAEMON_READS_OTHER:
		break;
	}
	doctor_fix_lines(t, cc, &v, fix, sizeof(fix));
	return doctor_add(rep, cc->name, subject, "daemon-config", MC_DOCTOR_PROBLEM,
			  fix, "%s %s: it reads %s", d, v.tls_off ? "offers no TLS "
			  "(turned off in its configuration)" : "does not read "
			  "mailcert's files", v.reads);
}

/* doctor_daemon_running - does t's daemon run (once per target)? */
static int
doctor_daemon_running(const struct mc_target *t, const char *cert,
		      struct mc_doctor_report *rep)
{
	struct mc_daemon_conf c;
	char subject[200], why[600];
	const char *d = doctor_daemon_name(t->type);
	long pid = 0;
	int rc;

	if (t->type == MC_TARGET_FILES)
		return 0;
	snprintf(subject, sizeof(subject), "target %s", t->name);
	if (mc_daemon_conf_read(t, &c, NULL) == -1)
		return 0; /* reported by doctor_daemon_config */
	rc = mc_daemon_running(&c, &pid, why, sizeof(why));
	mc_daemon_conf_clear(&c);
	if (rc == 1)
		return doctor_add(rep, cert, subject, "daemon-running", MC_DOCTOR_OK,
				  NULL, "%s runs (pid %ld)", d, pid);
	if (rc == -1)
		return doctor_add(rep, cert, subject, "daemon-running", MC_DOCTOR_WARN,
				  NULL, "%s: no pid file known; cannot tell whether "
				  "it runs", d);
	return doctor_add(rep, cert, subject, "daemon-running", MC_DOCTOR_PROBLEM,
			  "start it; a deploy reloads the daemons and verifies them live",
			  "%s does not run: %s", d, why);
}

/* doctor_target_files - can the target's files be written? */
static int
doctor_target_files(const struct mc_target *t, const struct mc_cert_conf *cc,
		    struct mc_doctor_report *rep)
{
	char subject[200];
	struct mc_err err;

	snprintf(subject, sizeof(subject), "target %s", t->name);
	if (mc_deploy_check(t, cc, &err) == -1)
		return doctor_add(rep, cc->name, subject, "target-files",
				  MC_DOCTOR_PROBLEM, NULL, "%s", err.msg);
	return doctor_add(rep, cc->name, subject, "target-files", MC_DOCTOR_OK, NULL,
			  "its files can be written%s",
			  doctor_missing_files(t, cc) ? " (not written yet)" : "");
}

/* doctor_seen - whether name is in seen[0..n); else add it. */
static bool
doctor_seen(const char **seen, size_t *n, const char *name)
{
	size_t i;

	for (i = 0; i < *n; i++)
		if (strcmp(seen[i], name) == 0)
			return true;
	seen[(*n)++] = name;
	return false;
}

/* doctor_cert - every check of one cert. */
static int
doctor_cert(const struct mc_config *cfg, const struct mc_cert_conf *cc,
	    const char **seen, size_t *n_seen, struct mc_doctor_report *rep)
{
	const struct mc_target *t;
	size_t i;

	if (doctor_cert_state(cfg, cc, rep) == -1 || doctor_challenge(cc, rep) == -1)
		return -1;
	if (cc->n_targets == 0 &&
	    doctor_add(rep, cc->name, "targets", "daemon-config", MC_DOCTOR_WARN,
		       "add e.g. `targets = postfix dovecot`", "no targets: "
		       "nothing is deployed to a daemon") == -1)
		return -1;
	for (i = 0; i < cc->n_targets; i++) {
		t = mc_config_target(cfg, cc->targets[i]);
		if (t == NULL)
			continue;
		if (doctor_daemon_config(t, cc, rep) == -1 ||
		    doctor_target_files(t, cc, rep) == -1)
			return -1;
		if (!doctor_seen(seen, n_seen, t->name) &&
		    doctor_daemon_running(t, cc->name, rep) == -1)
			return -1;
	}
	return doctor_endpoints(cfg, cc, rep);
}

/* mc_doctor_run - every check, for the certs named (all when none). */
int
mc_doctor_run(const struct mc_config *cfg, char *const *names, size_t n_names,
	      struct mc_doctor_report *rep, struct mc_err *err)
{
	const char **seen = NULL;
	size_t i, n_seen = 0;
	int rc = -1;

	memset(rep, 0, sizeof(*rep));
	for (i = 0; i < n_names; i++)
		if (mc_config_cert(cfg, names[i]) == NULL)
			return mc_err_set(err, MC_ERR_USAGE, "doctor: no [cert %s] "
					  "in %s", names[i], cfg->path);
	seen = calloc(cfg->n_targets + 1, sizeof(*seen));
	if (seen == NULL || doctor_host(cfg, rep) == -1)
		goto out;
	for (i = 0; i < (n_names ? n_names : cfg->n_certs); i++) {
		const struct mc_cert_conf *cc = n_names ?
			mc_config_cert(cfg, names[i]) : &cfg->certs[i];

		if (doctor_cert(cfg, cc, seen, &n_seen, rep) == -1)
			goto out;
	}
	rc = 0;
out:
	free(seen);
	if (rc == -1)
		mc_err_set(err, MC_ERR_SYS, "doctor: out of memory");
	return rc;
}
