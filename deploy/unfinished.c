/*
 * unfinished.c - a stored version that an earlier run left undone: it
 * was stored (ordered, imported) but never verified live. `renew` deploys
 * it before it orders anything, `deploy` when there is no current
 * version: a certificate the CA issued is never thrown away for a new
 * order (Let's Encrypt allows 5 duplicate certificates a week).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mailcert/deploy.h"
#include "mailcert/renew.h"
#include "mailcert/store.h"

/* unfinished_never_live - whether status says the version never became
 * current through a verified deployment. */
static bool
unfinished_never_live(const char *status)
{
	return strcmp(status, "issued") == 0 ||
	       strcmp(status, "imported") == 0 ||
	       strcmp(status, "failed") == 0;
}

/* unfinished_fits - whether meta may be deployed instead of a new order:
 * unexpired, not revoked, and (strict) never live, of cc's names, key
 * type and directory, and not due itself. */
static bool
unfinished_fits(const struct mc_config *cfg, const struct mc_cert_conf *cc,
		struct mc_cert_meta *meta, bool strict, time_t now)
{
	struct mc_due due;
	char status[sizeof(meta->status)];

	if (meta->not_after <= now || strcmp(meta->status, "revoked") == 0 ||
	    meta->revocation_reason[0] != '\0')
		return false;
	if (!strict)
		return true;
	if (!unfinished_never_live(meta->status))
		return false;
	/* judged as if it were current and fine: names, key type, ARI,
	 * threshold, directory */
	memcpy(status, meta->status, sizeof(status));
	snprintf(meta->status, sizeof(meta->status), "issued");
	mc_renew_due(cc, meta, cfg->directory, now, &due);
	memcpy(meta->status, status, sizeof(status));
	return !due.due;
}

/* mc_deploy_unfinished - the newest stored version above cur that an
 * earlier run left undone. */
int
mc_deploy_unfinished(const struct mc_config *cfg, const struct mc_cert_conf *cc,
		     unsigned cur, bool strict, unsigned *out,
		     struct mc_err *err)
{
	struct mc_cert_meta meta;
	unsigned *v = NULL;
	size_t n = 0, i;
	bool fits = false;
	time_t now = time(NULL);

	if (mc_store_versions(cfg->state_dir, cc->name, &v, &n, err) == -1)
		return -1;
	for (i = n; i > 0 && !fits && v[i - 1] > cur; i--) {
		if (mc_store_load_meta(cfg->state_dir, cc->name, v[i - 1], &meta,
				       NULL) == -1)
			continue;
		fits = unfinished_fits(cfg, cc, &meta, strict, now);
		mc_store_meta_clear(&meta);
		if (fits)
			*out = v[i - 1];
	}
	free(v);
	return fits ? 1 : 0;
}
