/*
 * cmd_renew.c - `mailcert renew [NAME...] [--force] [--jitter DURATION]
 * [--dry-run]`: for timers and cron. First finishes what an earlier run
 * left undone and repairs targets that differ from `current` (deploy.h),
 * then renews what is due (see renew.h), deploys, reloads and verifies
 * it; one cert's failure does not stop the others. When nothing is due it
 * prints one line and makes no network request. --dry-run orders every
 * selected cert from the staging directory into a throwaway state
 * (dry_run.c) and changes nothing else.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "cli.h"
#include "mailcert/dane.h"
#include "mailcert/interrupt.h"
#include "mailcert/lock.h"
#include "mailcert/log.h"
#include "mailcert/renew.h"
#include "mailcert/store.h"
#include "mailcert/time.h"

struct renew_args {
	bool force;
	bool dry_run;
	long jitter; /* seconds; 0 none */
	char **names;
	int n_names;
};

/* renew_parse - options and names. */
static int
renew_parse(int argc, char **argv, struct renew_args *a, struct mc_err *err)
{
	int i;

	memset(a, 0, sizeof(*a));
	a->names = argv + 1;
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--force") == 0) {
			a->force = true;
		} else if (strcmp(argv[i], "--dry-run") == 0) {
			a->dry_run = true;
		} else if (strcmp(argv[i], "--jitter") == 0 && i + 1 < argc) {
			if (mc_parse_duration(argv[++i], &a->jitter, err) == -1) {
				err->cat = MC_ERR_USAGE;
				return mc_err_prefix(err, "renew: --jitter");
			}
		} else if (argv[i][0] == '-') {
			return mc_err_set(err, MC_ERR_USAGE,
					  "renew: unknown option %s", argv[i]);
		} else {
			a->names[a->n_names++] = argv[i];
		}
	}
	return 0;
}

/* renew_jitter - sleep a random time below seconds, unless on a TTY. */
static void
renew_jitter(long seconds)
{
	unsigned int r = 0;
	long wait;

	if (seconds <= 0 || isatty(STDIN_FILENO) || isatty(STDOUT_FILENO))
		return;
	RAND_bytes((unsigned char *)&r, sizeof(r));
	wait = (long)(r % (unsigned long)seconds);
	mc_log_info("sleeping %lds (--jitter)", wait);
	mc_sleep_ms(wait * 1000LL); /* a SIGTERM/SIGINT ends it */
}

/* renew_selected - whether cc is among the names (all when none given). */
static bool
renew_selected(const struct renew_args *a, const struct mc_cert_conf *cc)
{
	int i;

	for (i = 0; i < a->n_names; i++)
		if (strcmp(a->names[i], cc->name) == 0)
			return true;
	return a->n_names == 0;
}

/* renew_check_names - every named cert exists. */
static int
renew_check_names(const struct mc_config *cfg, const struct renew_args *a,
		  struct mc_err *err)
{
	int i;

	for (i = 0; i < a->n_names; i++)
		if (mc_config_cert(cfg, a->names[i]) == NULL)
			return mc_err_set(err, MC_ERR_USAGE,
					  "renew: no [cert %s] in %s",
					  a->names[i], cfg->path);
	return 0;
}

/* renew_any_due - whether a selected cert is due now, from the state as
 * it is (no lock, no network; an ARI poll may find more later): --jitter
 * sleeps only then, before the lock is taken. Reads the renew index
 * (never writes it: no lock is held). */
static bool
renew_any_due(const struct mc_config *cfg, const struct renew_args *a)
{
	struct mc_store_index *ix;
	struct mc_cert_meta meta;
	struct mc_due due = {0};
	bool have;
	size_t i;

	if (a->force)
		return true;
	ix = mc_store_index_open(cfg->state_dir, NULL);
	if (ix == NULL)
		return true; /* cannot tell: wait as asked */
	for (i = 0; i < cfg->n_certs && !due.due; i++) {
		if (!renew_selected(a, &cfg->certs[i]))
			continue;
		have = mc_store_index_current(ix, cfg->certs[i].name, &meta,
					      NULL) == 1;
		mc_renew_due(&cfg->certs[i], have ? &meta : NULL,
			     cfg->directory, time(NULL), &due);
		mc_store_meta_clear(&meta);
	}
	mc_store_index_close(ix);
	return due.due;
}

/* renew_ari_window - apply a fresh ARI answer to a leaf's facts: keep the
 * chosen moment while it lies inside the window, else pick a new one. */
static void
renew_ari_window(const struct mc_cert_conf *cc, struct mc_cert_meta *leaf,
		 const struct mc_acme_ari *ari, time_t now)
{
	char when[64];

	if (leaf->ari_renew_at < ari->start || leaf->ari_renew_at >= ari->end) {
		if (mc_acme_ari_pick(ari->start, ari->end, NULL,
				     &leaf->ari_renew_at, NULL) == -1)
			leaf->ari_renew_at = ari->start;
		cli_format_time(leaf->ari_renew_at, when, sizeof(when));
		mc_log_info("%s: ARI window (%s); renewing at %s", cc->name,
			    mc_key_type_name(leaf->key_type), when);
	}
	leaf->ari_next_poll = now + mc_acme_ari_retry_clamp(ari->retry_after);
}

/* renew_ari_leaf_wants - whether one leaf's renewalInfo is to be asked
 * now: it has a certID and its last answer's Retry-After has passed. */
static bool
renew_ari_leaf_wants(const struct mc_cert_meta *leaf, time_t now)
{
	return leaf != NULL && leaf->ari_cert_id != NULL &&
	       leaf->ari_next_poll != 0 && now >= leaf->ari_next_poll;
}

/* renew_ari_poll_leaf - ask renewalInfo for one leaf when its last
 * answer's Retry-After has passed; whether anything changed. A failure
 * only delays the next poll (the threshold still applies). */
static bool
renew_ari_poll_leaf(struct cli_run *run, const struct mc_cert_conf *cc,
		    struct mc_cert_meta *leaf)
{
	struct mc_acme_ari ari;
	struct mc_err err;
	time_t now = time(NULL);

	if (!renew_ari_leaf_wants(leaf, now))
		return false;
	memset(&ari, 0, sizeof(ari));
	mc_err_clear(&err);
	if (cli_run_client(run, &err) == 0 &&
	    mc_acme_renewal_info(run->acme, leaf->ari_cert_id, &ari, &err) == 0)
		renew_ari_window(cc, leaf, &ari, now);
	else {
		mc_log_warn("%s: renewalInfo: %s; asking again later", cc->name,
			    err.msg);
		leaf->ari_next_poll = now + MC_ACME_ARI_RETRY_DEFAULT;
	}
	mc_acme_ari_clear(&ari);
	return true;
}

/* renew_ari_wants - whether cc's renewalInfo is to be asked now: ARI in
 * use (renew_before auto) and a leaf of the current version (both of a
 * dual one) wants it. */
static bool
renew_ari_wants(const struct mc_cert_conf *cc, const struct mc_cert_meta *meta,
		time_t now)
{
	return cc->timing.renew_before < 0 &&
	       (renew_ari_leaf_wants(meta, now) ||
		renew_ari_leaf_wants(meta->second, now));
}

/* renew_ari_poll - ARI for each certificate of cc's current version (both
 * of a dual one), saved in its meta.json. */
static void
renew_ari_poll(struct cli_run *run, const struct mc_cert_conf *cc,
	       struct mc_cert_meta *meta)
{
	struct mc_err err;
	bool polled;

	if (cc->timing.renew_before >= 0)
		return;
	polled = renew_ari_poll_leaf(run, cc, meta);
	if (meta->second != NULL && renew_ari_poll_leaf(run, cc, meta->second))
		polled = true;
	mc_err_clear(&err);
	if (polled &&
	    mc_store_save_meta(run->cfg->state_dir, cc->name, meta, &err) == -1)
		mc_log_warn("%s: %s", cc->name, err.msg);
}

/* renew_replaces - for each key type of cc, the ARI certID of the current
 * certificate of the same algorithm the new order replaces (borrowed from
 * meta), or NULL. */
static void
renew_replaces(struct cli_run *run, const struct mc_cert_conf *cc,
	       const struct mc_cert_meta *meta)
{
	const struct mc_cert_meta *leaf;
	size_t k, i;

	for (k = 0; k < MC_KEY_TYPES_MAX; k++)
		run->replaces[k] = NULL;
	for (k = 0; k < cc->n_key_types; k++)
		for (i = 0; (leaf = mc_store_meta_leaf(meta, i)) != NULL; i++)
			if (mc_key_type_is_ec(leaf->key_type) ==
				    mc_key_type_is_ec(cc->key_types[k]) &&
			    leaf->ari_next_poll != 0)
				run->replaces[k] = leaf->ari_cert_id;
}

/* renew_meta_file - the whole meta.json of cc's current version (in fleet
 * mode the fleet's current, not this host's). */
static bool
renew_meta_file(struct cli_run *run, const struct mc_cert_conf *cc,
		struct mc_cert_meta *meta)
{
	unsigned cur = 0;
	bool ok;

	mc_store_meta_clear(meta);
	if (run->fleet != NULL) /* the fleet's current, not this host's */
		cur = cli_fleet_shared(run, cc, &ok);
	else if (mc_store_current(run->cfg->state_dir, cc->name, &cur,
				  NULL) != 1)
		cur = 0;
	return cur != 0 &&
	       mc_store_load_meta(run->cfg->state_dir, cc->name, cur, meta,
				  NULL) == 0;
}

/* renew_meta - what the decision needs of cc's current version: its
 * renew index entry, or with no index (fleet mode) the whole meta.json. */
static bool
renew_meta(struct cli_run *run, struct mc_store_index *ix,
	   const struct mc_cert_conf *cc, struct mc_cert_meta *meta)
{
	if (ix == NULL)
		return renew_meta_file(run, cc, meta);
	mc_store_meta_clear(meta);
	return mc_store_index_current(ix, cc->name, meta, NULL) == 1;
}

/* renew_decide - whether cc is due now (or forced); fills due and, for an
 * ARI-capable order, the certIDs the new orders replace. The decision
 * reads the renew index (store.h; ix NULL: none); an ARI poll and a due
 * cert read the whole meta.json. */
static bool
renew_decide(struct cli_run *run, struct mc_store_index *ix,
	     const struct mc_cert_conf *cc, bool force,
	     struct mc_cert_meta *meta, struct mc_due *due)
{
	bool have = renew_meta(run, ix, cc, meta);

	if (have && !force && renew_ari_wants(cc, meta, time(NULL)) &&
	    (ix == NULL || renew_meta_file(run, cc, meta))) {
		renew_ari_poll(run, cc, meta);
		if (ix != NULL) { /* meta.json changed: its new entry */
			mc_store_meta_clear(meta);
			have = renew_meta(run, ix, cc, meta);
		}
	}
	mc_renew_due(cc, have ? meta : NULL, run->cfg->directory, time(NULL),
		     due);
	if (force && !due->due) {
		due->due = true;
		snprintf(due->reason, sizeof(due->reason), "--force");
	}
	if (due->due && have && ix != NULL)
		have = renew_meta_file(run, cc, meta);
	if (have)
		renew_replaces(run, cc, meta);
	return due->due;
}

/* renew_not_due - remember the earliest upcoming renewal for the summary. */
static void
renew_not_due(struct cli_run *run, const struct mc_cert_conf *cc,
	      const struct mc_due *due, const struct mc_cert_conf **next,
	      time_t *next_at)
{
	if (*next == NULL || due->when < *next_at) {
		*next = cc;
		*next_at = due->when;
	}
	if (run->results != NULL)
		json_array_append_new(
			run->results,
			json_pack("{s:s, s:b, s:b, s:s, s:I}", "name", cc->name,
				  "ok", 1, "renewed", 0, "reason", due->reason,
				  "due_at", (json_int_t)due->when));
}

/* renew_fleet_ok - fleet mode: whether cc's sync succeeded (a cert this
 * host could not sync is never ordered: that would duplicate orders). */
static bool
renew_fleet_ok(struct cli_run *run, const struct mc_cert_conf *cc)
{
	bool ok = true;

	if (run->fleet != NULL)
		cli_fleet_shared(run, cc, &ok);
	return ok;
}

/* renew_fleet_hold - fleet mode: the fleet lock before an order; 0 order,
 * else not (another host stored a version meanwhile, or an error, counted). */
static int
renew_fleet_hold(struct cli_run *run, const struct mc_cert_conf *cc)
{
	struct mc_err err;
	int rc;

	mc_err_clear(&err);
	rc = cli_fleet_hold(run, cc, &err);
	if (rc == -1) {
		if (run->failed++ == 0)
			run->first_err = err;
		fprintf(stderr, "mailcert: renew %s: %s\n", cc->name, err.msg);
	}
	return rc;
}

/* renew_fleet_sync - fleet mode: sync every selected cert first; -1 when
 * the store is unreachable (nothing is ordered then). */
static int
renew_fleet_sync(struct cli_run *run, const struct renew_args *a)
{
	const struct mc_cert_conf **sel;
	size_t i, n = 0;
	int rc;

	if (run->fleet == NULL)
		return 0;
	sel = calloc(run->cfg->n_certs + 1, sizeof(*sel));
	if (sel == NULL)
		return -1;
	for (i = 0; i < run->cfg->n_certs; i++)
		if (renew_selected(a, &run->cfg->certs[i]))
			sel[n++] = &run->cfg->certs[i];
	rc = cli_fleet_sync_certs(run, sel, n);
	free(sel);
	return rc;
}

/* renew_dane_tend - DANE work of a cert that is not due (publish the next
 * key's record, note it in DNS, remove retired records). */
static void
renew_dane_tend(struct cli_run *run, const struct mc_cert_conf *cc)
{
	struct mc_err err;

	mc_err_clear(&err);
	if (cc->n_tlsa > 0 && mc_dane_tend(run->cfg, cc, &err) == -1)
		mc_log_warn("%s: DANE: %s", cc->name, err.msg);
}

/* renew_dry - a dry run orders every selected cert; it says whether the
 * cert is due now (from the real state, which it does not change). */
static void
renew_dry(struct cli_run *run, const struct mc_config *real,
	  const struct mc_cert_conf *cc)
{
	struct mc_cert_meta meta;
	struct mc_due due;
	unsigned cur = 0;
	bool have;

	memset(&meta, 0, sizeof(meta));
	have = mc_store_current(real->state_dir, cc->name, &cur, NULL) == 1 &&
	       mc_store_load_meta(real->state_dir, cc->name, cur, &meta,
				  NULL) == 0;
	mc_renew_due(cc, have ? &meta : NULL, real->directory, time(NULL),
		     &due);
	if (run->results == NULL && run->cli->verbosity >= 0)
		printf("%s: due now: %s (%s); the dry run orders it anyway\n",
		       cc->name, due.due ? "yes" : "no", due.reason);
	mc_store_meta_clear(&meta);
	cli_run_cert(run, cc);
}

/* renew_probe - take the settled stats of every selected cert without
 * targets at once (on several threads when there are many; see
 * mc_store_index_probe): the loop then asks the index without a stat. */
static void
renew_probe(struct cli_run *run, struct mc_store_index *ix,
	    const struct renew_args *a)
{
	const char **names;
	size_t i;

	if (ix == NULL || run->interrupted || run->cfg->n_certs == 0)
		return;
	names = calloc(run->cfg->n_certs, sizeof(*names));
	if (names == NULL)
		return; /* each cert is stated in the loop instead */
	for (i = 0; i < run->cfg->n_certs; i++)
		if (run->cfg->certs[i].n_targets == 0 &&
		    renew_selected(a, &run->cfg->certs[i]))
			names[i] = run->cfg->certs[i].name;
	mc_store_index_probe(ix, names, run->cfg->n_certs);
	free(names);
}

/* renew_loop - for every selected cert: converge (finish an interrupted
 * deployment, repair targets that differ from current), then renew it
 * when due. */
static void
renew_loop(struct cli_run *run, const struct mc_config *real,
	   const struct renew_args *a, size_t *checked)
{
	const struct mc_cert_conf *next = NULL;
	struct mc_store_index *ix = NULL;
	struct mc_cert_meta meta;
	struct mc_due due;
	struct mc_err err;
	time_t next_at = 0;
	char when[64];
	bool stop, settled;
	size_t i;

	mc_err_clear(&err);
	/* the index caches this host's versions: not for a dry run's
	 * throwaway state, nor in fleet mode (the fleet's current decides) */
	if (run->dry == NULL && run->fleet == NULL &&
	    (ix = mc_store_index_open(run->cfg->state_dir, &err)) == NULL) {
		mc_log_error("renew: %s", err.msg);
		run->failed++;
		return;
	}
	renew_probe(run, ix, a);
	for (i = 0; i < run->cfg->n_certs; i++) {
		const struct mc_cert_conf *cc = &run->cfg->certs[i];

		if (mc_interrupt_pending())
			return; /* cli_run_finish reports it */
		if (!renew_selected(a, cc))
			continue;
		(*checked)++;
		memset(&meta, 0, sizeof(meta));
		/* a cert without targets whose index entry shows no journal,
		 * no version above current and nothing changed since: nothing
		 * to converge, nothing unfinished (three stats) */
		settled = ix != NULL && cc->n_targets == 0 &&
			  !run->interrupted &&
			  mc_store_index_settled(ix, cc->name);
		if (run->dry == NULL && !settled &&
		    cli_run_converge(run, cc, MC_CONVERGE_REPAIR, &stop) == -1 &&
		    stop)
			continue; /* nothing is ordered on a broken state */
		if (run->dry != NULL)
			renew_dry(run, real, cc);
		else if (!renew_fleet_ok(run, cc))
			(*checked)--; /* its sync failed: reported already */
		else if (!settled && cli_run_unfinished(run, cc) == 1)
			; /* a stored version, deployed instead of an order */
		else if (renew_decide(run, ix, cc, a->force, &meta, &due)) {
			mc_log_info("%s: due (%s)", cc->name, due.reason);
			if (renew_fleet_hold(run, cc) == 0)
				cli_run_cert(run, cc);
			if (ix != NULL) { /* its entry, from disk */
				mc_store_meta_clear(&meta);
				(void)mc_store_index_current(ix, cc->name,
							     &meta, NULL);
			}
		} else {
			renew_not_due(run, cc, &due, &next, &next_at);
			renew_dane_tend(run, cc);
		}
		memset(run->replaces, 0, sizeof(run->replaces));
		mc_store_meta_clear(&meta);
	}
	if (ix != NULL && mc_store_index_save(ix, a->n_names == 0, &err) == -1)
		mc_log_warn("renew index: %s (meta.json is read instead)",
			    err.msg);
	mc_store_index_close(ix);
	if (run->renewed + run->failed > 0 || run->results != NULL ||
	    run->cli->verbosity < 0)
		return;
	cli_format_time(next_at, when, sizeof(when));
	printf("mailcert: nothing due among %zu certificate(s)%s%s%s%s\n",
	       *checked, next ? "; next: " : "", next ? next->name : "",
	       next ? " at " : "", next ? when : "");
}

/* cli_cmd_renew - `renew [NAME...] [--force] [--jitter DURATION]`. */
int
cli_cmd_renew(struct cli *cli, int argc, char **argv)
{
	struct mc_config *cfg = NULL;
	struct renew_args args;
	struct cli_run run;
	struct mc_err err;
	size_t checked = 0;
	int lock = -1, rc;

	memset(&run, 0, sizeof(run));
	mc_err_clear(&err);
	mc_interrupt_catch(); /* SIGTERM: clean up, then exit 1 */
	if (renew_parse(argc, argv, &args, &err) == -1 ||
	    cli_load_config(cli, &cfg, &err) == -1 ||
	    renew_check_names(cfg, &args, &err) == -1) {
		rc = cli_fail(&err);
		goto out;
	}
	if (!args.dry_run && args.jitter > 0 && renew_any_due(cfg, &args))
		renew_jitter(args.jitter);
	lock = mc_lock_take_run(cfg->state_dir, &run.interrupted, &err);
	if (lock == -1 ||
	    (args.dry_run && cli_dry_begin(cfg, &run.dry, &err) == -1)) {
		rc = cli_fail(&err);
		goto out;
	}
	run.cli = cli;
	run.cfg = run.dry ? cli_dry_config(run.dry) : cfg;
	run.command = "renew";
	run.results = cli->json ? json_array() : NULL;
	/* a dry run never touches the fleet: its state is thrown away */
	if (run.dry == NULL && cli_fleet_open(&run, &err) == -1) {
		rc = cli_fail(&err);
		goto out;
	}
	if (run.dry == NULL && run.interrupted)
		mc_store_clean_accounts(cfg->state_dir, NULL, NULL);
	if (renew_fleet_sync(&run, &args) == 0)
		renew_loop(&run, cfg, &args, &checked);
	rc = cli_run_finish(&run);
out:
	cli_dry_end(run.dry);
	cli_run_free(&run);
	mc_lock_release(lock);
	mc_config_free(cfg);
	return rc;
}
