/*
 * reload.c - reload the daemon behind a deploy target: `reload =`, else
 * the daemon's own command for the instance that reads the target's
 * `config` (postfix -c DIR reload, doveadm -c FILE reload, a HUP to the
 * pid of the Exim config's pid_file_path), else `systemctl reload UNIT`
 * when systemd runs, else the daemon's own command for the system one.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mailcert/daemon.h"
#include "mailcert/deploy.h"
#include "mailcert/hooks.h"
#include "mailcert/log.h"
#include "mailcert/proc.h"
#include "mailcert/store.h"

/* Debian's Exim keeps its pid here unless pid_file_path says otherwise. */
#define RELOAD_EXIM_PID "/run/exim4/exim.pid"

/* reload_default - the built-in command line for t's type. */
static const char *
reload_default(const struct mc_target *t)
{
	static const char *const systemd[] = {
		[MC_TARGET_POSTFIX] = "systemctl reload postfix",
		[MC_TARGET_DOVECOT] = "systemctl reload dovecot",
		[MC_TARGET_EXIM] = "systemctl reload exim4",
	};
	static const char *const own[] = {
		[MC_TARGET_POSTFIX] = "postfix reload",
		[MC_TARGET_DOVECOT] = "doveadm reload",
		/* no --oknodo: a HUP that reaches no Exim is a failure */
		[MC_TARGET_EXIM] = "start-stop-daemon --stop --signal HUP "
				   "--pidfile " RELOAD_EXIM_PID " "
				   "--name exim4",
	};

	if (t->type == MC_TARGET_FILES)
		return NULL;
	if (access("/run/systemd/system", F_OK) == 0)
		return systemd[t->type];
	return own[t->type];
}

/* reload_words - a new argv (mc_proc_argv_free) of the n words. */
static char **
reload_words(const char *const *words, size_t n, struct mc_err *err)
{
	char **argv = calloc(n + 1, sizeof(*argv));
	size_t i;

	for (i = 0; argv != NULL && i < n; i++)
		if ((argv[i] = strdup(words[i])) == NULL)
			break;
	if (argv != NULL && i == n)
		return argv;
	mc_proc_argv_free(argv);
	mc_err_errno(err, MC_ERR_SYS, "out of memory");
	return NULL;
}

/* reload_exim_pid_file - the pid file of the Exim that reads t's config
 * (pid_file_path), else Debian's compiled-in default, into buf. */
static void
reload_exim_pid_file(const struct mc_target *t, char *buf, size_t size)
{
	struct mc_daemon_conf conf;

	snprintf(buf, size, "%s", RELOAD_EXIM_PID);
	memset(&conf, 0, sizeof(conf));
	if (mc_daemon_conf_read(t, &conf, NULL) == 0 && conf.pid_file != NULL)
		snprintf(buf, size, "%s", conf.pid_file);
	mc_daemon_conf_clear(&conf);
}

/* reload_with_config - the daemon's own reload for the instance that
 * reads t's `config` (systemctl would reload the system's instance). */
static char **
reload_with_config(const struct mc_target *t, struct mc_err *err)
{
	const char *postfix[] = {"postfix", "-c", t->config, "reload"};
	const char *dovecot[] = {"doveadm", "-c", t->config, "reload"};
	char pid_file[4200];
	const char *exim[] = {"start-stop-daemon", "--stop", "--signal", "HUP",
			      "--pidfile", pid_file, "--name", "exim4"};

	switch (t->type) {
	case MC_TARGET_POSTFIX:
		return reload_words(postfix, 4, err);
	case MC_TARGET_DOVECOT:
		return reload_words(dovecot, 4, err);
	default:
		reload_exim_pid_file(t, pid_file, sizeof(pid_file));
		return reload_words(exim, 8, err);
	}
}

/* mc_deploy_reload_argv - the reload argv of t. */
char **
mc_deploy_reload_argv(const struct mc_target *t, struct mc_err *err)
{
	const char *cmd = t->reload ? t->reload : reload_default(t);

	if (t->reload == NULL && t->config != NULL && t->type != MC_TARGET_FILES)
		return reload_with_config(t, err);
	if (cmd == NULL || cmd[0] == '\0') {
		mc_err_set(err, MC_ERR_DEPLOY,
			   "target %s: no reload command (type files needs "
			   "reload = COMMAND)",
			   t->name);
		return NULL;
	}
	return mc_proc_split(cmd, err);
}

/* mc_deploy_argv_line - argv joined by blanks into buf. */
void
mc_deploy_argv_line(char *const *argv, char *buf, size_t size)
{
	size_t i, len = 0;
	int n;

	if (size == 0)
		return;
	buf[0] = '\0';
	for (i = 0; argv != NULL && argv[i] != NULL && len < size; i++) {
		n = snprintf(buf + len, size - len, "%s%s", i ? " " : "",
			     argv[i]);
		if (n < 0)
			break;
		len += (size_t)n;
	}
}

/* mc_deploy_reload - run the reload command of t. */
int
mc_deploy_reload(const struct mc_target *t, long timeout, struct mc_err *err)
{
	struct mc_proc_result res;
	char **argv, what[MC_PROC_EXCERPT_MAX + 128], cmd[1024];
	int rc = -1;

	memset(&res, 0, sizeof(res));
	if (t->type == MC_TARGET_FILES && t->reload == NULL)
		return 0; /* nothing to reload */
	argv = mc_deploy_reload_argv(t, err);
	if (argv == NULL)
		return -1;
	mc_deploy_argv_line(argv, cmd, sizeof(cmd));
	mc_log_info("target %s: reloading with `%s`", t->name, cmd);
	if (mc_proc_run((const char *const *)argv, NULL, timeout, &res, err) ==
	    -1) {
		mc_err_prefix(err, "target %s: reload", t->name);
		goto out;
	}
	if (!mc_proc_failed(&res)) {
		rc = 0;
		goto out;
	}
	mc_proc_summary(&res, timeout, what, sizeof(what));
	mc_err_set(err, MC_ERR_DEPLOY, "target %s: reload `%s` %s%s", t->name,
		   argv[0], what,
		   t->reload == NULL ? "; is the daemon running?" : "");
out:
	mc_proc_result_clear(&res);
	mc_proc_argv_free(argv);
	return rc;
}

/* mc_deploy_reload_hooks - hooks_dir/reload.d/ for version of cc, after
 * its files are written and before the daemons reload. */
int
mc_deploy_reload_hooks(const struct mc_config *cfg,
		       const struct mc_cert_conf *cc, unsigned version,
		       struct mc_err *err)
{
	enum mc_key_type types[MC_KEY_TYPES_MAX];
	char lineage[4200];
	size_t n = 0;
	int failed;

	if (mc_store_path(cfg->state_dir, cc->name, version, NULL, lineage,
			  sizeof(lineage), err) == -1)
		return 1;
	if (mc_store_key_types(cfg->state_dir, cc->name, version, types, &n,
			       NULL) == -1)
		n = 0; /* the configured ones */
	failed = mc_hooks_run_cert_event(cfg->hooks_dir, "reload", cc, lineage,
					 types, n, NULL,
					 cc->timing.hook_timeout, err);
	return failed < 0 ? 1 : failed;
}
