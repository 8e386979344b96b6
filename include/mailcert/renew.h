/*
 * renew.h - when a certificate is due for renewal.
 *
 * Pure decisions, no I/O: given the current version's facts and the cert's
 * configuration, say whether it is due now and why. The reasons, in order:
 * "no certificate yet", "revoked" ("revoked (REASON)" when the reason is
 * known), "current version failed" (its deployment failed and nothing
 * replaced it), "directory changed" (issued by another ACME directory,
 * e.g. staging before production), "names changed", "key type changed",
 * "ARI window" (meta->ari_renew_at reached), "renew_before" (fixed
 * duration) or "1/3 of lifetime left" ("1/2 of lifetime left" under 10
 * days) for auto.
 */
#ifndef MAILCERT_RENEW_H
#define MAILCERT_RENEW_H

#include <stdbool.h>
#include <time.h>

#include "mailcert/config.h"
#include "mailcert/store.h"

struct mc_due {
	bool due;
	time_t when;        /* when it becomes (or became) due */
	char reason[64];
};

/* mc_renew_due - decide for cc with its current version meta (NULL: none);
 * directory: the configured ACME directory (NULL: not compared). */
void mc_renew_due(const struct mc_cert_conf *cc, const struct mc_cert_meta *meta,
		  const char *directory, time_t now, struct mc_due *out);

/* mc_renew_key_compromised - whether meta's key was revoked for
 * keyCompromise (it must never be used again). */
bool mc_renew_key_compromised(const struct mc_cert_meta *meta);

#endif
