/*
 * reload.c - reload the daemon behind a deploy target.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mailcert/deploy.h"
#include "mailcert/hooks.h"
#include "mailcert/log.h"
#include "mailcert/proc.h"
#include "mailcert/store.h"

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
				   "--pidfile /run/exim4/exim.pid "
				   "--name exim4",
	};

	if (t->type == MC_TARGET_FILES)
		return NULL;
	if (access("/run/systemd/system", F_OK) == 0)
		return systemd[t->type];
	return own[t->type];
}

/* mc_deploy_reload_argv - the reload argv of t. */
char **
mc_deploy_reload_argv(const struct mc_target *t, struct mc_err *err)
{
	const char *cmd = t->reload ? t->reload : reload_default(t);

	if (cmd == NULL || cmd[0] == '\0') {
		mc_err_set(err, MC_ERR_DEPLOY,
			   "target %s: no reload command (type files needs "
			   "reload = COMMAND)",
			   t->name);
		return NULL;
	}
	return mc_proc_split(cmd, err);
}

/* mc_deploy_reload - run the reload command of t. */
int
mc_deploy_reload(const struct mc_target *t, long timeout, struct mc_err *err)
{
	struct mc_proc_result res;
	char **argv, what[MC_PROC_EXCERPT_MAX + 128];
	int rc = -1;

	memset(&res, 0, sizeof(res));
	if (t->type == MC_TARGET_FILES && t->reload == NULL)
		return 0; /* nothing to reload */
	argv = mc_deploy_reload_argv(t, err);
	if (argv == NULL)
		return -1;
	mc_log_info("target %s: reloading with %s", t->name, argv[0]);
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
