/*
 * dane.c - the DANE-safe key lifecycle (see mailcert/dane.h): next.key,
 * the TLSA gate, publishing and retiring records.
 *
 * dane.json (0600, beside next.key):
 *   { "next_spki": HEX,                      the key the rest refers to
 *     "published": [TLSA_NAME...],           where we published its record
 *     "seen": { TLSA_NAME: FIRST_SEEN },     first seen secure in DNS
 *     "retire": [ { "name": TLSA_NAME, "record": "3 1 1 HEX",
 *                   "after": TIME } ] }      old records to remove
 * A lost or damaged dane.json costs time (the gate waits again), never
 * safety: every decision re-reads DNS.
 *
 * Dual certificates: each key type has its own next key and state, the
 * first key type's as above, the second's in next-ALG.key and
 * dane-ALG.json (ALG: ecdsa or rsa). Each runs the same lifecycle on its
 * own: its records are published beside the other's at every tlsa name
 * (a sender may negotiate either certificate), and a version is deployed
 * only when DNS pins both of its keys.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "mailcert/buf.h"
#include "mailcert/crypto.h"
#include "mailcert/dane.h"
#include "mailcert/dns.h"
#include "mailcert/fsio.h"
#include "mailcert/log.h"
#include "mailcert/proc.h"
#include "mailcert/store.h"

#define DANE_PATH_MAX 4200
#define DANE_STATE_MAX (256 * 1024)

struct dane {
	const struct mc_config *cfg;
	const struct mc_cert_conf *cc;
	size_t slot;              /* which key type of cc */
	enum mc_key_type type;    /* cc->key_types[slot] */
	struct mc_dns *dns; /* opened on first use */
	json_t *st;         /* dane.json */
	EVP_PKEY *next;
	char next_spki[65];
	bool warned;
};

/* dane_path - "state_dir/certs/NAME/FILE" (FILE of d's key type:
 * mc_pair_file) into buf. */
static int
dane_path(const struct dane *d, const char *file, char *buf, size_t size,
	  struct mc_err *err)
{
	char own[64];
	int n;

	mc_pair_file(file, file[0] ? d->slot : 0, d->type, own, sizeof(own));
	n = snprintf(buf, size, "%s/certs/%s/%s", d->cfg->state_dir,
		     d->cc->name, own);

	if (n < 0 || (size_t)n >= size)
		return mc_err_set(err, MC_ERR_SYS, "%s: state path too long", d->cc->name);
	return 0;
}

/* dane_state_load - read dane.json (a missing or damaged one starts empty). */
static int
dane_state_load(struct dane *d, struct mc_err *err)
{
	char path[DANE_PATH_MAX], *text = NULL;
	size_t len = 0;

	if (dane_path(d, "dane.json", path, sizeof(path), err) == -1)
		return -1;
	if (mc_fsio_exists(path) &&
	    mc_fsio_read(path, DANE_STATE_MAX, &text, &len, NULL) == 0)
		d->st = json_loadb(text, len, 0, NULL);
	free(text);
	if (!json_is_object(d->st)) {
		if (text != NULL)
			mc_log_warn("%s: %s is damaged; DANE state starts afresh",
				    d->cc->name, path);
		json_decref(d->st);
		d->st = json_object();
	}
	return d->st == NULL ? mc_err_set(err, MC_ERR_SYS, "out of memory") : 0;
}

/* dane_state_save - write dane.json atomically. */
static int
dane_state_save(struct dane *d, struct mc_err *err)
{
	char path[DANE_PATH_MAX], *text;
	int rc;

	if (dane_path(d, "dane.json", path, sizeof(path), err) == -1)
		return -1;
	text = json_dumps(d->st, JSON_INDENT(2) | JSON_SORT_KEYS);
	if (text == NULL)
		return mc_err_set(err, MC_ERR_SYS, "out of memory");
	rc = mc_fsio_write(path, text, strlen(text), 0600, MC_FSIO_KEEP_OWNER,
			   false, err);
	free(text);
	return rc;
}

/* dane_obj - the member key of the state, created as an empty object or
 * array when missing. Borrowed. */
static json_t *
dane_obj(struct dane *d, const char *key, bool array)
{
	json_t *v = json_object_get(d->st, key);

	if ((array && json_is_array(v)) || (!array && json_is_object(v)))
		return v;
	v = array ? json_array() : json_object();
	json_object_set_new(d->st, key, v);
	return v;
}

/* dane_published - whether the next record was published at name by us. */
static bool
dane_published(struct dane *d, const char *name)
{
	json_t *a = dane_obj(d, "published", true), *v;
	size_t i;

	json_array_foreach(a, i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), name) == 0)
			return true;
	return false;
}

/* dane_record - "3 1 1 HEX" of an SPKI hash into buf. */
static void
dane_record(const char *spki, char *buf, size_t size)
{
	snprintf(buf, size, "3 1 1 %s", spki);
}

/* dane_hook - run `tlsa_hook add|del NAME "3 1 1 HEX"`. */
static int
dane_hook(const struct mc_cert_conf *cc, const char *op, const char *name,
	  const char *record, struct mc_err *err)
{
	const char *argv[] = { cc->tlsa_hook, op, name, record, NULL };
	struct mc_proc_result res;
	char what[MC_PROC_EXCERPT_MAX + 128];
	int rc = -1;

	memset(&res, 0, sizeof(res));
	if (mc_proc_run(argv, NULL, cc->timing.hook_timeout, &res, err) == -1)
		return mc_err_prefix(err, "tlsa_hook %s %s", op, name);
	if (!mc_proc_failed(&res)) {
		rc = 0;
		goto out;
	}
	mc_proc_summary(&res, cc->timing.hook_timeout, what, sizeof(what));
	mc_err_set(err, MC_ERR_HOOK, "tlsa_hook %s %s %s \"%s\" %s", cc->tlsa_hook,
		   op, name, record, what);
out:
	mc_proc_result_clear(&res);
	return rc;
}

/* dane_publish - add or delete one record with the hook or nsupdate:
 * 1 done, 0 no way to publish (the caller says what to do), -1 error. */
static int
dane_publish(struct dane *d, enum mc_dns_op op, const char *name,
	     const char *record, struct mc_err *err)
{
	struct mc_dns_update_conf up = { d->cfg->nsupdate_server,
					 d->cfg->nsupdate_key, 0 };
	const char *ops = op == MC_DNS_ADD ? "add" : "del";

	if (d->cc->tlsa_hook != NULL) {
		if (dane_hook(d->cc, ops, name, record, err) == -1)
			return -1;
	} else if (d->cfg->nsupdate_server != NULL) {
		if (mc_dns_update(&up, op, name, "TLSA", record, err) == -1)
			return -1;
	} else {
		return 0;
	}
	mc_log_info("%s: %s TLSA %s %s", d->cc->name,
		    op == MC_DNS_ADD ? "published" : "removed", name, record);
	return 1;
}

/* dane_key_load - next.key if it exists and has cc's type; else NULL. */
static int
dane_key_load(struct dane *d, struct mc_err *err)
{
	char path[DANE_PATH_MAX];

	EVP_PKEY_free(d->next);
	d->next = NULL;
	if (dane_path(d, "next.key", path, sizeof(path), err) == -1)
		return -1;
	if (!mc_fsio_exists(path))
		return 0;
	d->next = mc_key_load(path, err);
	if (d->next == NULL)
		return mc_err_prefix(err, "%s: next.key", d->cc->name);
	if (mc_key_type_of(d->next) != (int)d->type) {
		mc_log_info("%s: key_type changed; making a new next key", d->cc->name);
		EVP_PKEY_free(d->next);
		d->next = NULL;
	}
	return 0;
}

/* dane_key_make - a new next.key (0600, atomic); forgets the old one's state. */
static int
dane_key_make(struct dane *d, struct mc_err *err)
{
	char path[DANE_PATH_MAX], dir[DANE_PATH_MAX];
	struct mc_buf pem;
	int rc = -1;

	mc_buf_init(&pem, 0);
	EVP_PKEY_free(d->next);
	d->next = mc_key_generate(d->type, err);
	if (d->next == NULL || dane_path(d, "next.key", path, sizeof(path), err) == -1 ||
	    dane_path(d, "", dir, sizeof(dir), err) == -1 ||
	    mc_fsio_mkdirs(dir, 0700, err) == -1 ||
	    mc_key_to_pem(d->next, &pem, err) == -1 ||
	    mc_fsio_write(path, pem.data, pem.len, 0600, MC_FSIO_KEEP_OWNER, false,
			  err) == -1)
		goto out;
	json_object_del(d->st, "published");
	json_object_del(d->st, "seen");
	rc = 0;
out:
	mc_buf_clear_free(&pem);
	return rc;
}

/* dane_next - load or make next.key; publish its record where missing. */
static int
dane_next(struct dane *d, struct mc_err *err)
{
	const char *old;

	if (dane_key_load(d, err) == -1)
		return -1;
	if (d->next == NULL) {
		if (dane_key_make(d, err) == -1)
			return -1;
		mc_log_info("%s: made the next %s key (for the DANE rollover)",
			    d->cc->name, mc_key_type_name(d->type));
	}
	if (mc_key_spki_sha256(d->next, d->next_spki, err) == -1)
		return -1;
	old = json_string_value(json_object_get(d->st, "next_spki"));
	if (old == NULL || strcmp(old, d->next_spki) != 0) {
		json_object_del(d->st, "published");
		json_object_del(d->st, "seen");
		json_object_set_new(d->st, "next_spki", json_string(d->next_spki));
	}
	return 0;
}

/* dane_publish_next - publish the next record at every tlsa name not yet
 * done; say what to publish where when there is no way to. */
static void
dane_publish_next(struct dane *d)
{
	char record[80];
	struct mc_err e;
	size_t i;
	int r;

	dane_record(d->next_spki, record, sizeof(record));
	for (i = 0; i < d->cc->n_tlsa; i++) {
		const char *name = d->cc->tlsa[i];

		if (dane_published(d, name))
			continue;
		mc_err_clear(&e);
		r = dane_publish(d, MC_DNS_ADD, name, record, &e);
		if (r == 1)
			json_array_append_new(dane_obj(d, "published", true),
					      json_string(name));
		else if (r == -1)
			mc_log_warn("%s: publishing the next key's TLSA: %s",
				    d->cc->name, e.msg);
	}
}

/* dane_resolver - the validating resolver, opened on first use. */
static struct mc_dns *
dane_resolver(struct dane *d, struct mc_err *err)
{
	struct mc_dns_conf conf = { d->cfg->resolver, d->cfg->dnssec_anchor, 0 };

	if (d->dns == NULL)
		d->dns = mc_dns_new(&conf, err);
	return d->dns;
}

/* dane_lookup_has - look up name: 1 when the RRset is secure and holds
 * 3 1 1 spki (*ttl set), 0 when not (why in err), -1 lookup error. */
static int
dane_lookup_has(struct dane *d, const char *name, const char *spki, long *ttl,
		struct mc_err *err)
{
	struct mc_tlsa_rrset set = { 0 };
	unsigned char bin[32];
	size_t i;
	int rc;

	for (i = 0; i < 32; i++)
		sscanf(spki + 2 * i, "%2hhx", &bin[i]);
	if (dane_resolver(d, err) == NULL || mc_dns_tlsa(d->dns, name, &set, err) == -1)
		return -1;
	*ttl = set.ttl;
	if (!set.secure)
		rc = mc_err_set(err, MC_ERR_DEPLOY, "%s TLSA is not DNSSEC-secure "
				"(insecure: no sender uses it)", name) + 1;
	else if (!mc_tlsa_rrset_has(&set, 3, 1, 1, bin, sizeof(bin)))
		rc = mc_err_set(err, MC_ERR_DEPLOY, "%s has %zu TLSA record(s), none "
				"is 3 1 1 %s", name, set.n, spki) + 1;
	else
		rc = 1;
	mc_tlsa_rrset_clear(&set);
	return rc;
}

/* dane_observe - update first-seen times of the next record; whether every
 * name has had it secure for 2 x TTL (*open). Warns once what is missing. */
static void
dane_observe(struct dane *d, bool *open)
{
	json_t *seen = dane_obj(d, "seen", false);
	time_t now = time(NULL), first;
	char record[80];
	struct mc_err e;
	long ttl = 0;
	size_t i;
	int r;

	*open = true;
	dane_record(d->next_spki, record, sizeof(record));
	for (i = 0; i < d->cc->n_tlsa; i++) {
		const char *name = d->cc->tlsa[i];

		mc_err_clear(&e);
		r = dane_lookup_has(d, name, d->next_spki, &ttl, &e);
		if (r != 1) {
			json_object_del(seen, name);
			*open = false;
			if (d->warned)
				continue;
			if (r == 0)
				mc_log_warn("%s: the next key is not used yet: publish "
					    "\"%s. IN TLSA %s\" (%s)", d->cc->name, name,
					    record, e.msg);
			else
				mc_log_warn("%s: the next key is not used yet: %s",
					    d->cc->name, e.msg);
			continue;
		}
		first = (time_t)json_integer_value(json_object_get(seen, name));
		if (first == 0) {
			first = now;
			json_object_set_new(seen, name, json_integer((json_int_t)now));
		}
		if (now - first < 2 * ttl) {
			*open = false;
			if (!d->warned)
				mc_log_info("%s: %s TLSA %s is in DNS since %lds; the "
					    "next key is used once it has been there "
					    "for 2 x TTL = %lds", d->cc->name, name,
					    record, (long)(now - first), 2 * ttl);
		}
	}
	if (!*open)
		d->warned = true;
}

/* dane_init - d for key type slot of cc, nothing loaded. */
static void
dane_init(struct dane *d, const struct mc_config *cfg,
	  const struct mc_cert_conf *cc, size_t slot)
{
	memset(d, 0, sizeof(*d));
	d->cfg = cfg;
	d->cc = cc;
	d->slot = slot;
	d->type = cc->key_types[slot];
}

/* dane_open - the shared start: config, state, next key (published). */
static int
dane_open(struct dane *d, const struct mc_config *cfg,
	  const struct mc_cert_conf *cc, size_t slot, struct mc_err *err)
{
	dane_init(d, cfg, cc, slot);
	if (dane_state_load(d, err) == -1 || dane_next(d, err) == -1)
		return -1;
	dane_publish_next(d);
	return 0;
}

/* dane_close - save the state (unless failed) and free. */
static int
dane_close(struct dane *d, int rc, struct mc_err *err)
{
	struct mc_err e;

	mc_err_clear(&e);
	if (d->st != NULL && dane_state_save(d, &e) == -1) {
		mc_log_warn("%s: %s", d->cc->name, e.msg);
		if (rc == 0 && err != NULL)
			*err = e;
		rc = rc == 0 ? -1 : rc;
	}
	json_decref(d->st);
	EVP_PKEY_free(d->next);
	mc_dns_free(d->dns);
	return rc;
}

/* dane_current_key - the current version's key of d's type: 1 and *out,
 * 0 when there is none to keep (no version yet, or key_type changed), -1
 * error. */
static int
dane_current_key(const struct dane *d, EVP_PKEY **out, struct mc_err *err)
{
	const char *sd = d->cfg->state_dir, *name = d->cc->name;
	struct mc_pairs pairs;
	unsigned cur;
	size_t i;
	int found = mc_store_current(sd, name, &cur, err);

	if (found != 1)
		return found;
	if (mc_store_load_pairs(sd, name, cur, &pairs, err) == -1)
		return -1;
	for (i = 0, found = 0; i < pairs.n && found == 0; i++)
		if (mc_key_type_of(pairs.p[i].key) == (int)d->type) {
			*out = pairs.p[i].key;
			pairs.p[i].key = NULL;
			found = 1;
		}
	mc_pairs_clear(&pairs);
	if (found == 0)
		mc_log_warn("%s: key_type changed; the new %s key breaks the TLSA "
			    "records of the current one", name,
			    mc_key_type_name(d->type));
	return found;
}

/* mc_dane_renewal_key - the next key when the gate is open, else the current. */
EVP_PKEY *
mc_dane_renewal_key(const struct mc_config *cfg, const struct mc_cert_conf *cc,
		    size_t slot, struct mc_err *err)
{
	struct dane d;
	EVP_PKEY *key = NULL;
	bool open = false;
	int have;

	if (dane_open(&d, cfg, cc, slot, err) == -1) {
		dane_close(&d, -1, NULL);
		return NULL;
	}
	have = dane_current_key(&d, &key, err);
	if (have == 1)
		dane_observe(&d, &open);
	if (have == 1 && open) {
		EVP_PKEY_free(key);
		key = d.next;
		EVP_PKEY_up_ref(key);
		mc_log_info("%s: the next %s key's TLSA is published and secure "
			    "at every tlsa name: switching to it", cc->name,
			    mc_key_type_name(d.type));
	} else if (have == 1) {
		mc_log_info("%s: renewing with the current %s key (DANE stays "
			    "valid)", cc->name, mc_key_type_name(d.type));
	} else if (have == 0) {
		key = mc_key_generate(d.type, err);
	}
	if (dane_close(&d, have == -1 ? -1 : 0, err) == -1) {
		EVP_PKEY_free(key);
		return NULL;
	}
	return key;
}

/* dane_version_spki - the SPKI hash of a stored version's key of type's
 * algorithm ("" when the version has none: it holds other key types). */
static int
dane_version_spki(const struct mc_config *cfg, const struct mc_cert_conf *cc,
		  unsigned version, enum mc_key_type type, char spki[65],
		  struct mc_err *err)
{
	const struct mc_cert_meta *m;
	struct mc_cert_meta meta;
	size_t i;

	memset(&meta, 0, sizeof(meta));
	spki[0] = '\0';
	if (mc_store_load_meta(cfg->state_dir, cc->name, version, &meta, err) == -1)
		return -1;
	for (i = 0; (m = mc_store_meta_leaf(&meta, i)) != NULL; i++)
		if (mc_key_type_is_ec(m->key_type) == mc_key_type_is_ec(type))
			snprintf(spki, 65, "%s", m->spki_sha256);
	mc_store_meta_clear(&meta);
	if (strlen(spki) != 64)
		return mc_err_set(err, MC_ERR_INPUT, "%s: version %04u has no %s "
				  "key's SPKI hash in meta.json", cc->name,
				  version, mc_key_type_alg(type));
	return 0;
}

/* dane_retire_add - schedule removal of 3 1 1 spki at every tlsa name once
 * the RRset's TTL has passed. */
static void
dane_retire_add(struct dane *d, const char *spki)
{
	json_t *retire = dane_obj(d, "retire", true);
	char record[80];
	struct mc_err e;
	long ttl;
	size_t i;

	dane_record(spki, record, sizeof(record));
	for (i = 0; i < d->cc->n_tlsa; i++) {
		ttl = 3600;
		mc_err_clear(&e);
		if (dane_lookup_has(d, d->cc->tlsa[i], d->next_spki, &ttl, &e) == -1)
			mc_log_warn("%s: %s", d->cc->name, e.msg);
		json_array_append_new(retire, json_pack("{s:s, s:s, s:I}", "name",
					  d->cc->tlsa[i], "record", record, "after",
					  (json_int_t)(time(NULL) + ttl)));
	}
}

/* dane_after_live_one - rotate key type slot's next key after a
 * verified switch to it. */
static int
dane_after_live_one(const struct mc_config *cfg, const struct mc_cert_conf *cc,
		    size_t slot, unsigned version, struct mc_err *err)
{
	char spki[65], old[65] = "";
	unsigned prev = 0;
	struct dane d;
	int rc = -1;

	if (dane_open(&d, cfg, cc, slot, err) == -1 ||
	    dane_version_spki(cfg, cc, version, d.type, spki, err) == -1)
		goto out;
	rc = 0;
	if (strcmp(spki, d.next_spki) != 0)
		goto out;
	if (mc_store_prior(cfg->state_dir, cc->name, version, &prev, NULL) == 1 &&
	    dane_version_spki(cfg, cc, prev, d.type, old, NULL) == 0 &&
	    strcmp(old, spki) != 0)
		dane_retire_add(&d, old);
	mc_log_info("%s: switched to the next %s key (SPKI %s), live; making "
		    "a new next key", cc->name, mc_key_type_name(d.type), spki);
	rc = -1;
	if (dane_key_make(&d, err) == -1 || dane_next(&d, err) == -1)
		goto out;
	dane_publish_next(&d);
	rc = 0;
out:
	return dane_close(&d, rc, err);
}

/* mc_dane_after_live - the same for every key type of cc. */
int
mc_dane_after_live(const struct mc_config *cfg, const struct mc_cert_conf *cc,
		   unsigned version, struct mc_err *err)
{
	size_t i;
	int rc = 0;

	for (i = 0; i < cc->n_key_types; i++)
		if (dane_after_live_one(cfg, cc, i, version, err) == -1)
			rc = -1;
	return rc;
}

/* dane_retire_due - remove the retired records whose time has come. */
static void
dane_retire_due(struct dane *d)
{
	json_t *retire = dane_obj(d, "retire", true), *r;
	const char *name, *record;
	struct mc_err e;
	size_t i;
	int done;

	for (i = 0; i < json_array_size(retire);) {
		r = json_array_get(retire, i);
		name = json_string_value(json_object_get(r, "name"));
		record = json_string_value(json_object_get(r, "record"));
		if (name == NULL || record == NULL) {
			json_array_remove(retire, i);
			continue;
		}
		if ((time_t)json_integer_value(json_object_get(r, "after")) > time(NULL)) {
			i++;
			continue;
		}
		mc_err_clear(&e);
		done = dane_publish(d, MC_DNS_DEL, name, record, &e);
		if (done == -1) {
			mc_log_warn("%s: removing the old key's TLSA: %s", d->cc->name, e.msg);
			i++;
			continue;
		}
		if (done == 0)
			mc_log_warn("%s: the old key is retired: remove \"%s. IN TLSA "
				    "%s\"", d->cc->name, name, record);
		json_array_remove(retire, i);
	}
}

/* mc_dane_tend - publish, observe and retire when nothing is due (each
 * key type on its own). */
int
mc_dane_tend(const struct mc_config *cfg, const struct mc_cert_conf *cc,
	     struct mc_err *err)
{
	struct dane d;
	unsigned cur;
	bool open;
	size_t i;
	int rc = 0;

	if (mc_store_current(cfg->state_dir, cc->name, &cur, err) != 1)
		return 0;
	for (i = 0; i < cc->n_key_types; i++) {
		if (dane_open(&d, cfg, cc, i, err) == 0) {
			dane_retire_due(&d);
			dane_observe(&d, &open);
			rc = dane_close(&d, 0, err) == -1 ? -1 : rc;
		} else {
			dane_close(&d, -1, err);
			rc = -1;
		}
	}
	return rc;
}

/* dane_check_names - every tlsa name pins spki securely; else err lists why. */
static int
dane_check_names(struct dane *d, const char *spki, struct mc_err *err)
{
	struct mc_buf why;
	struct mc_err e;
	long ttl;
	size_t i, bad = 0;
	int r, rc;

	mc_buf_init(&why, 16384);
	for (i = 0; i < d->cc->n_tlsa; i++) {
		mc_err_clear(&e);
		r = dane_lookup_has(d, d->cc->tlsa[i], spki, &ttl, &e);
		if (r == 1)
			continue;
		bad++;
		mc_buf_appendf(&why, NULL, "%s%s", why.len ? "; " : "", e.msg);
	}
	rc = bad == 0 ? 0 : mc_err_set(err, MC_ERR_DEPLOY, "%s", why.data);
	mc_buf_free(&why);
	return rc;
}

/* mc_dane_check_version - whether DNS pins every key of version securely. */
int
mc_dane_check_version(const struct mc_config *cfg, const struct mc_cert_conf *cc,
		      unsigned version, struct mc_err *err)
{
	const struct mc_cert_meta *m;
	struct mc_cert_meta meta;
	struct dane d;
	size_t i;
	int rc = 0;

	if (cc->n_tlsa == 0)
		return 0;
	if (mc_store_load_meta(cfg->state_dir, cc->name, version, &meta, err) == -1)
		return -1;
	dane_init(&d, cfg, cc, 0);
	for (i = 0; rc == 0 && (m = mc_store_meta_leaf(&meta, i)) != NULL; i++) {
		if (strlen(m->spki_sha256) != 64)
			rc = mc_err_set(err, MC_ERR_INPUT, "%s: version %04u has "
					"no SPKI hash in meta.json", cc->name,
					version);
		else if (dane_check_names(&d, m->spki_sha256, err) == -1)
			rc = mc_err_prefix(err, "%s: version %04u (%s key SPKI "
					   "%s) has no DNSSEC-secure TLSA 3 1 1 "
					   "record at every tlsa name, refused: "
					   "publish the record, wait for the TTL "
					   "and try again, or use --force",
					   cc->name, version,
					   mc_key_type_name(m->key_type),
					   m->spki_sha256);
	}
	mc_store_meta_clear(&meta);
	mc_dns_free(d.dns);
	return rc;
}

/* dane_records_one - current and next SPKI of key type slot into out. */
static int
dane_records_one(const struct mc_config *cfg, const struct mc_cert_conf *cc,
		 unsigned cur, size_t slot, struct mc_dane_records *out,
		 struct mc_err *err)
{
	struct dane d;
	int rc = -1;

	dane_init(&d, cfg, cc, slot);
	out->type[slot] = d.type;
	if (dane_version_spki(cfg, cc, cur, d.type, out->current[slot], NULL) ==
	    -1)
		out->current[slot][0] = '\0'; /* key_type changed since */
	if (dane_state_load(&d, err) == -1 || dane_next(&d, err) == -1)
		goto out;
	snprintf(out->next[slot], sizeof(out->next[slot]), "%s", d.next_spki);
	rc = 0;
out:
	return dane_close(&d, rc, err);
}

/* mc_dane_records - the current and next key's SPKI hashes per key type. */
int
mc_dane_records(const struct mc_config *cfg, const struct mc_cert_conf *cc,
		struct mc_dane_records *out, struct mc_err *err)
{
	unsigned cur;
	size_t i;
	int found;

	memset(out, 0, sizeof(*out));
	found = mc_store_current(cfg->state_dir, cc->name, &cur, err);
	if (found != 1)
		return found;
	out->n = cc->n_key_types;
	for (i = 0; i < cc->n_key_types; i++)
		if (dane_records_one(cfg, cc, cur, i, out, err) == -1)
			return -1;
	return 0;
}
