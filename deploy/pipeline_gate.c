/*
 * pipeline_gate.c - after a target's files are written: does its daemon
 * read them, does it run (see deploy/pipeline_int.h)?
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mailcert/daemon.h"
#include "mailcert/log.h"
#include "deploy/pipeline_int.h"

/* gate_daemon - "Postfix", "Dovecot", "Exim". */
static const char *
gate_daemon(enum mc_target_type type)
{
	static const char *const names[] = {"Postfix", "Dovecot", "Exim",
					    "files"};

	return names[type];
}

/* gate_start - the command that starts t's daemon, into buf. */
static void
gate_start(const struct mc_target *t, char *buf, size_t size)
{
	static const char *const unit[] = {"postfix", "dovecot", "exim4"};
	const char *c = t->config;

	if (c == NULL && access("/run/systemd/system", F_OK) == 0)
		snprintf(buf, size, "systemctl start %s", unit[t->type]);
	else if (t->type == MC_TARGET_POSTFIX)
		snprintf(buf, size, "postfix%s%.400s start", c ? " -c " : "",
			 c ? c : "");
	else if (t->type == MC_TARGET_DOVECOT)
		snprintf(buf, size, "dovecot%s%.400s", c ? " -c " : "",
			 c ? c : "");
	else if (c != NULL)
		snprintf(buf, size, "exim4 -C %.400s -bd -q30m", c);
	else
		snprintf(buf, size, "service exim4 start");
}

/* gate_unconfigured - the row of a daemon that reads other files. */
static void
gate_unconfigured(const struct mc_target *t, const struct mc_cert_conf *cc,
		  const struct mc_daemon_verdict *v, struct mc_target_row *row)
{
	size_t i, len = 0, size = sizeof(row->fix);

	row->failed_at = MC_STEP_UNCONFIGURED;
	snprintf(row->detail, sizeof(row->detail),
		 "not yet configured: %s %s%.400s", gate_daemon(t->type),
		 v->tls_off ? "offers no TLS" : "reads ",
		 v->tls_off ? "" : v->reads);
	len = (size_t)snprintf(row->fix, size, "add to %.500s:\n", v->where);
	for (i = 0; i < v->n_lines && len < size; i++)
		len += (size_t)snprintf(row->fix + len, size - len,
					"    %.500s\n", v->lines[i]);
	if (len < size)
		snprintf(row->fix + len, size - len,
			 "then reload %s and run `mailcert deploy %s`",
			 gate_daemon(t->type), cc->name);
}

/* gate_down - the row of a daemon that does not run. */
static void
gate_down(const struct mc_target *t, const struct mc_cert_conf *cc,
	  const struct mc_daemon_verdict *v, struct mc_target_row *row)
{
	char start[600];

	gate_start(t, start, sizeof(start));
	row->failed_at = MC_STEP_DOWN;
	snprintf(row->detail, sizeof(row->detail),
		 "%s is not running (%.400s)", gate_daemon(t->type), v->down);
	snprintf(row->fix, sizeof(row->fix),
		 "start it (`%s`); the next `mailcert renew` (or `mailcert "
		 "deploy %s`) reloads it and checks its endpoints",
		 start, cc->name);
}

/* gate_target - judge t's daemon; whether to reload it. */
bool
gate_target(const struct mc_target *t, const struct mc_cert_conf *cc,
	    struct mc_target_row *row, struct owner_daemon *od, bool *has_od)
{
	struct mc_daemon_verdict v;
	struct mc_err err;

	*has_od = t->type != MC_TARGET_FILES;
	memset(od, 0, sizeof(*od));
	od->target = t->name;
	od->type = t->type;
	od->pid = -1;
	if (!*has_od)
		return true;
	mc_err_clear(&err);
	if (mc_daemon_target_check(t, cc, &v, &err) == -1) {
		mc_log_warn("%s: target %s: %s; deploying as configured",
			    cc->name, t->name, err.msg);
		return true;
	}
	od->pid = v.running == 1 ? v.pid : v.running == 0 ? 0 : -1;
	if (v.state == MC_DAEMON_READS_OTHER)
		gate_unconfigured(t, cc, &v, row);
	else if (v.running == 0)
		gate_down(t, cc, &v, row);
	else
		return true;
	od->skip = true;
	od->why = row->failed_at == MC_STEP_DOWN ? "its daemon is not running"
						 : "not yet configured";
	mc_log_warn("%s: target %s: %s", cc->name, t->name, row->detail);
	return false;
}

/* gate_pending - the pending targets of rep as a store record. */
int
gate_pending(const struct mc_deploy_report *rep, unsigned version,
	     struct mc_store_pending *out, struct mc_err *err)
{
	struct mc_store_pending_target *pt;
	size_t i;

	memset(out, 0, sizeof(*out));
	out->targets = calloc(rep->n_targets + 1, sizeof(*out->targets));
	if (out->targets == NULL)
		return mc_err_errno(err, MC_ERR_SYS, "out of memory");
	out->version = version;
	out->since = time(NULL);
	for (i = 0; i < rep->n_targets; i++) {
		const struct mc_target_row *r = &rep->targets[i];

		if (r->failed_at != MC_STEP_UNCONFIGURED &&
		    r->failed_at != MC_STEP_DOWN)
			continue;
		pt = &out->targets[out->n++];
		snprintf(pt->target, sizeof(pt->target), "%s", r->target);
		snprintf(pt->reason, sizeof(pt->reason), "%s",
			 r->failed_at == MC_STEP_DOWN ? "down" : "unconfigured");
		snprintf(pt->detail, sizeof(pt->detail), "%.500s\n%.1000s",
			 r->detail, r->fix);
	}
	return 0;
}

/* gate_flat - fix text on one line into buf: configuration lines (those
 * indented) quoted in backticks and joined with "and". */
static void
gate_flat(const char *fix, char *buf, size_t size)
{
	const char *p = fix;
	size_t len = 0, n;
	bool quoted = false;

	buf[0] = '\0';
	while (*p != '\0' && len < size) {
		n = strcspn(p, "\n");
		if (strncmp(p, "    ", 4) == 0) {
			len += (size_t)snprintf(buf + len, size - len, "%s`%.*s`",
						quoted ? " and " : " ",
						(int)n - 4, p + 4);
			quoted = true;
		} else {
			len += (size_t)snprintf(buf + len, size - len, "%s%.*s",
						len ? (quoted ? ", " : " ") : "",
						(int)n, p);
			quoted = false;
		}
		p += n + (p[n] == '\n');
	}
}

/* gate_explain - the message of a deployment with pending targets. */
void
gate_explain(const struct mc_cert_conf *cc, const struct mc_deploy_report *rep,
	     struct mc_err *err)
{
	char msg[MC_ERR_MSG_MAX], flat[1200];
	size_t i, len = 0;
	bool down = false;

	msg[0] = '\0';
	for (i = 0; i < rep->n_targets && len < sizeof(msg); i++) {
		const struct mc_target_row *r = &rep->targets[i];

		if (r->failed_at != MC_STEP_UNCONFIGURED &&
		    r->failed_at != MC_STEP_DOWN)
			continue;
		down |= r->failed_at == MC_STEP_DOWN;
		gate_flat(r->fix, flat, sizeof(flat));
		len += (size_t)snprintf(msg + len, sizeof(msg) - len,
					"%starget %s: %s: %s", len ? "; " : "",
					r->target, r->detail, flat);
	}
	(void)cc;
	mc_err_set(err, down ? MC_ERR_DEPLOY : MC_ERR_VERIFY, "%s", msg);
}
