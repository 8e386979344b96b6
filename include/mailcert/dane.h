/*
 * dane.h - the DANE-safe key lifecycle of a cert with `tlsa` names
 * ("current + next", RFC 7671 section 8.1):
 *
 *   - state_dir/certs/<name>/next.key (0600) is the staged next key; its
 *     TLSA record "3 1 1 <SHA-256 of the SPKI>" is published at every tlsa
 *     name (tlsa_hook, else nsupdate_server, else a warning says what to
 *     publish where) long before it is used;
 *   - the gate: a renewal uses the next key only when every tlsa name has a
 *     DNSSEC-secure TLSA RRset holding the next key's record, and has had it
 *     for at least twice the RRset's TTL (first-seen times are kept in
 *     state_dir/certs/<name>/dane.json); otherwise it renews with the
 *     current key, so the published records stay valid;
 *   - after a key switch is verified live, a new next key is made and
 *     published, and the old key's record is removed once the RRset's TTL
 *     has passed (at the first run after that moment);
 *   - deploying or rolling back to a version whose key has no secure
 *     matching record at every tlsa name is refused (mc_dane_check_version).
 *
 * Dual certificates: each key type runs this lifecycle on its own (the
 * second's files are next-ALG.key and dane-ALG.json); both keys' records
 * are published at every tlsa name, and a version is deployed only when
 * DNS pins both of its keys.
 *
 * Records are read through the validating resolver of mailcert/dns.h only.
 * Errors: MC_ERR_DEPLOY for a refused version (the message names every
 * missing record and where), the categories of dns.h, store.h and hooks.
 * Warnings (what to publish, a gate that stays closed and why) go to the log.
 */
#ifndef MAILCERT_DANE_H
#define MAILCERT_DANE_H

#include <stdbool.h>
#include <time.h>

#include <openssl/evp.h>

#include "mailcert/config.h"
#include "mailcert/err.h"

/* mc_dane_renewal_key - the key a renewal of cc's key type number slot
 * uses: the next key when the gate is open, else the current key of that
 * type, else (no version yet, or key_type changed) a new key. Makes and
 * publishes that type's next key when there is none. New reference. */
EVP_PKEY *mc_dane_renewal_key(const struct mc_config *cfg,
			      const struct mc_cert_conf *cc, size_t slot,
			      struct mc_err *err);

/* mc_dane_after_live - after version of cc was verified live: for each
 * key type whose key is its next key, make and publish a new next key and
 * schedule the removal of the old key's records. */
int mc_dane_after_live(const struct mc_config *cfg, const struct mc_cert_conf *cc,
		       unsigned version, struct mc_err *err);

/* mc_dane_tend - the work a run does for cc when nothing is due: publish
 * the next key's records if not yet done, note when they are first seen
 * secure, remove retired records whose time has come. */
int mc_dane_tend(const struct mc_config *cfg, const struct mc_cert_conf *cc,
		 struct mc_err *err);

/* mc_dane_check_version - 0 when every tlsa name of cc has a secure TLSA
 * RRset with the record of each key of version; else -1 (MC_ERR_DEPLOY
 * naming the missing records, or the lookup error, e.g. a bogus answer). */
int mc_dane_check_version(const struct mc_config *cfg,
			  const struct mc_cert_conf *cc, unsigned version,
			  struct mc_err *err);

/* The 3 1 1 records of a cert (mailcert tlsa), per key type. */
struct mc_dane_records {
	size_t n;                              /* key types (0: no version) */
	enum mc_key_type type[MC_KEY_TYPES_MAX];
	char current[MC_KEY_TYPES_MAX][65]; /* SPKI SHA-256 hex of the current
					       key of that type; "" if none */
	char next[MC_KEY_TYPES_MAX][65];    /* of the next key; "" if none */
};

/* mc_dane_records - the current and next key's SPKI hashes of each key
 * type (makes a next key when there is none and the cert has a current
 * version). */
int mc_dane_records(const struct mc_config *cfg, const struct mc_cert_conf *cc,
		    struct mc_dane_records *out, struct mc_err *err);

#endif
