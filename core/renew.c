/*
 * renew.c - when a certificate is due for renewal (see renew.h).
 */
#include <stdio.h>
#include <string.h>

#include "mailcert/renew.h"

#define SHORT_LIFETIME (10 * 86400L)

/* renew_names_differ - whether the configured names differ from meta's. */
static bool
renew_names_differ(const struct mc_cert_conf *cc,
		   const struct mc_cert_meta *meta)
{
	size_t i, j;

	if (cc->n_names != meta->n_names)
		return true;
	for (i = 0; i < cc->n_names; i++) {
		for (j = 0; j < meta->n_names; j++)
			if (strcmp(cc->names[i], meta->names[j]) == 0)
				break;
		if (j == meta->n_names)
			return true;
	}
	return false;
}

/* renew_threshold - the moment renew_before says to renew, and its reason. */
static time_t
renew_threshold(const struct mc_cert_conf *cc, const struct mc_cert_meta *meta,
		char *reason, size_t size)
{
	long lifetime = (long)(meta->not_after - meta->not_before);

	if (cc->timing.renew_before >= 0) {
		snprintf(reason, size, "renew_before");
		return meta->not_after - cc->timing.renew_before;
	}
	if (lifetime < SHORT_LIFETIME) {
		snprintf(reason, size, "1/2 of lifetime left");
		return meta->not_after - lifetime / 2;
	}
	snprintf(reason, size, "1/3 of lifetime left");
	return meta->not_after - lifetime / 3;
}

/* renew_state_reason - a reason from the version's own state (revoked,
 * failed, another directory) into out; false when there is none. */
static bool
renew_state_reason(const struct mc_cert_meta *meta, const char *directory,
		   struct mc_due *out)
{
	if (strcmp(meta->status, "revoked") == 0 ||
	    meta->revocation_reason[0] != '\0') {
		if (meta->revocation_reason[0] != '\0')
			snprintf(out->reason, sizeof(out->reason),
				 "revoked (%.40s)", meta->revocation_reason);
		else
			snprintf(out->reason, sizeof(out->reason), "revoked");
		return true;
	}
	if (strcmp(meta->status, "failed") == 0) {
		snprintf(out->reason, sizeof(out->reason),
			 "current version failed");
		return true;
	}
	if (directory != NULL && meta->directory != NULL &&
	    strcmp(directory, meta->directory) != 0) {
		snprintf(out->reason, sizeof(out->reason),
			 "directory changed");
		return true;
	}
	return false;
}

/* mc_renew_key_compromised - whether meta's key was revoked for keyCompromise. */
bool
mc_renew_key_compromised(const struct mc_cert_meta *meta)
{
	return meta != NULL &&
	       strcmp(meta->revocation_reason, "keyCompromise") == 0;
}

/* renew_types_differ - whether the configured key types differ from the
 * version's (their number, or a type, in order). */
static bool
renew_types_differ(const struct mc_cert_conf *cc,
		   const struct mc_cert_meta *meta)
{
	size_t n = meta->second != NULL ? 2 : 1;

	return cc->n_key_types != n || cc->key_types[0] != meta->key_type ||
	       (n == 2 && cc->key_types[1] != meta->second->key_type);
}

/* renew_leaf_when - when one leaf of the version is due, and why. */
static time_t
renew_leaf_when(const struct mc_cert_conf *cc, const struct mc_cert_meta *leaf,
		char *reason, size_t size)
{
	if (leaf->ari_renew_at > 0 && cc->timing.renew_before < 0) {
		snprintf(reason, size, "ARI window");
		return leaf->ari_renew_at;
	}
	return renew_threshold(cc, leaf, reason, size);
}

/* mc_renew_due - decide whether cc is due now: the earliest moment of
 * its leaves (a dual version is due when either certificate is). */
void
mc_renew_due(const struct mc_cert_conf *cc, const struct mc_cert_meta *meta,
	     const char *directory, time_t now, struct mc_due *out)
{
	char reason[sizeof(out->reason)];
	time_t when;

	memset(out, 0, sizeof(*out));
	out->when = now;
	out->due = true;
	if (meta == NULL) {
		snprintf(out->reason, sizeof(out->reason), "no certificate yet");
		return;
	}
	if (renew_state_reason(meta, directory, out))
		return;
	if (renew_names_differ(cc, meta)) {
		snprintf(out->reason, sizeof(out->reason), "names changed");
		return;
	}
	if (renew_types_differ(cc, meta)) {
		snprintf(out->reason, sizeof(out->reason), "key type changed");
		return;
	}
	out->when = renew_leaf_when(cc, meta, out->reason, sizeof(out->reason));
	if (meta->second != NULL) {
		when = renew_leaf_when(cc, meta->second, reason, sizeof(reason));
		if (when < out->when) {
			out->when = when;
			snprintf(out->reason, sizeof(out->reason), "%.40s (%s)",
				 reason, mc_key_type_name(meta->second->key_type));
		}
	}
	out->due = now >= out->when;
}
