/*
 * import.h - import an existing certbot setup (INTERFACE.md `import certbot`).
 *
 * mc_import_certbot() reads every lineage of a certbot configuration
 * directory (renewal/NAME.conf and the files it names under live/ and
 * archive/), and for each one that is complete: stores its current
 * certificate, chain and key as a new version of cert NAME that becomes
 * `current` (no deploy; the key - and any TLSA record pinned to it -
 * survives), and proposes a [cert NAME] section (names from the
 * certificate, key type from the key, reuse_key, the challenge from the
 * authenticator, deploy_hook from renew_hook, targets from what the
 * daemons' configuration reads). The ACME account of each lineage's server
 * (accounts/.../private_key.json and regr.json) is stored for that
 * directory, so no new registration is needed. renewal-hooks/{pre,deploy,
 * post}/ are listed with the hooks_dir entries they map to; with
 * link_hooks they are linked there (an existing entry is never replaced).
 * Nothing under the certbot directory is written. A lineage that is bad or
 * incomplete is reported with the reason and skipped; the others go on.
 *
 * Ownership: the report owns its arrays (mc_import_report_clear).
 * Errors: -1 only when the directory cannot be read at all (MC_ERR_USAGE
 * naming it) or memory runs out.
 */
#ifndef MAILCERT_IMPORT_H
#define MAILCERT_IMPORT_H

#include <stdbool.h>
#include <stddef.h>

#include "mailcert/config.h"
#include "mailcert/err.h"

struct mc_import_lineage {
	char name[128];
	char conf[4200];      /* the renewal configuration file */
	bool imported;        /* stored now, or already stored identically */
	char result[1024];    /* what happened (or why it was skipped) */
	char spki_sha256[65]; /* of the imported key */
	bool in_config;       /* the config already has [cert NAME] */
	char *section;        /* the proposed [cert NAME] section (owned) */
};

struct mc_import_hook {
	char stage[8];        /* pre, deploy, post */
	char source[4200];    /* certbot's hook */
	char dest[4200];      /* hooks_dir/<stage>.d/<name> */
	char result[256];     /* "linked", "exists: not replaced", "" when listed */
};

struct mc_import_report {
	struct mc_import_lineage *lineages;
	size_t n_lineages;
	struct mc_import_hook *hooks;
	size_t n_hooks;
	char **accounts;      /* one line per certbot account seen */
	size_t n_accounts;
	size_t skipped;
};

/* mc_import_certbot - import the lineages of dir (see above) into cfg's state. */
int mc_import_certbot(const struct mc_config *cfg, const char *dir,
		      bool link_hooks, struct mc_import_report *rep,
		      struct mc_err *err);

/* mc_import_report_clear - free what rep owns and zero it. */
void mc_import_report_clear(struct mc_import_report *rep);

#endif
