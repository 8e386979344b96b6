/*
 * cmd_sync.c - `mailcert sync [NAME...]`: fleet mode. Deploy and verify
 * here what the shared store holds as current, where it differs from this
 * host (or was never proven here), and record the outcome under
 * PREFIX/nodes/<node>/. Never orders and never changes the shared current;
 * a deployment that fails is rolled back here only. `renew` does the same
 * first.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "mailcert/lock.h"

/* sync_select - the certs named (or all) into a new array. */
static int
sync_select(const struct mc_config *cfg, int argc, char **argv,
            const struct mc_cert_conf ***out, size_t *n, struct mc_err *err)
{
	size_t count = argc > 1 ? (size_t)(argc - 1) : cfg->n_certs, i;
	const struct mc_cert_conf **sel = calloc(count + 1, sizeof(*sel));

	if (sel == NULL)
		return mc_err_set(err, MC_ERR_SYS, "out of memory");
	for (i = 0; i < count; i++) {
		if (argc > 1 && argv[i + 1][0] == '-') {
			free(sel);
			return mc_err_set(err, MC_ERR_USAGE,
			                  "sync: unknown option %s", argv[i + 1]);
		}
		sel[i] = argc > 1 ? mc_config_cert(cfg, argv[i + 1])
		                  : &cfg->certs[i];
		if (sel[i] == NULL) {
			free(sel);
			return mc_err_set(err, MC_ERR_USAGE,
			                  "sync: no [cert %s] in %s", argv[i + 1],
			                  cfg->path);
		}
	}
	*out = sel;
	*n = count;
	return 0;
}

/* cli_cmd_sync - `sync [NAME...]`. */
int
cli_cmd_sync(struct cli *cli, int argc, char **argv)
{
	const struct mc_cert_conf **sel = NULL;
	struct mc_config *cfg = NULL;
	struct cli_run run;
	struct mc_err err;
	size_t n = 0;
	int lock = -1, rc;

	memset(&run, 0, sizeof(run));
	mc_err_clear(&err);
	if (cli_load_config(cli, &cfg, &err) == -1 ||
	    sync_select(cfg, argc, argv, &sel, &n, &err) == -1 ||
	    (lock = mc_lock_take(cfg->state_dir, &err)) == -1) {
		rc = cli_fail(&err);
		goto out;
	}
	if (cfg->store == NULL) {
		mc_err_set(&err, MC_ERR_USAGE,
		           "sync: %s has no store (fleet mode is off); set store "
		           "= etcd://... in [global]",
		           cfg->path);
		rc = cli_fail(&err);
		goto out;
	}
	run.cli = cli;
	run.cfg = cfg;
	run.results = cli->json ? json_array() : NULL;
	if (cli_fleet_open(&run, &err) == -1) {
		rc = cli_fail(&err);
		goto out;
	}
	cli_fleet_sync_certs(&run, sel, n);
	if (run.results != NULL)
		cli_print_json(json_incref(run.results));
	rc = run.failed > 0 ? mc_err_exit_code(run.first_err.cat) : 0;
out:
	cli_run_free(&run);
	mc_lock_release(lock);
	free(sel);
	mc_config_free(cfg);
	return rc;
}
