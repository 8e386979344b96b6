/*
 * config.h - the mailcert configuration file (INI, read with inih).
 *
 * Format and keys are fixed in INTERFACE.md: one [global] section, any
 * number of [cert NAME] and [target NAME] sections. mc_config_load()
 * parses, applies defaults and validates everything (names, durations,
 * key types, target references); every problem is an MC_ERR_CONFIG error
 * whose message starts with "FILE:LINE: KEY: " (or "FILE: " when no line
 * applies) and says what to do.
 *
 * Ownership: the whole struct mc_config and everything it points to is
 * owned by it and released by mc_config_free(). Pointers into it are
 * borrowed for the life of the config.
 */
#ifndef MAILCERT_CONFIG_H
#define MAILCERT_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "mailcert/addr.h"
#include "mailcert/err.h"
#include "mailcert/log.h"

#define MC_CONFIG_DEFAULT_PATH "/etc/mailcert/mailcert.conf"
#define MC_CONFIG_DEFAULT_DIRECTORY "https://acme-v02.api.letsencrypt.org/directory"

enum mc_key_type {
	MC_KEY_RSA2048 = 0,
	MC_KEY_RSA3072,
	MC_KEY_RSA4096,
	MC_KEY_EC_P256,
	MC_KEY_EC_P384,
};

/* A cert has one key type, or two - one ECDSA and one RSA - for dual
 * certificates: two orders, one version holding both pairs, deployed,
 * switched and verified as one unit. */
#define MC_KEY_TYPES_MAX 2

enum mc_challenge_type {
	MC_CHALLENGE_HTTP01 = 0,
	MC_CHALLENGE_TLSALPN01,
	MC_CHALLENGE_DNS01,
};

enum mc_target_type {
	MC_TARGET_POSTFIX = 0,
	MC_TARGET_DOVECOT,
	MC_TARGET_EXIM,
	MC_TARGET_FILES,
};

/* The renewal and verification keys a [cert] may override. Durations are
 * in seconds. renew_before: -1 means "auto". */
struct mc_timing {
	long renew_before;
	long hook_timeout;
	long verify_timeout;
	bool verify_without_sni; /* probe each endpoint without SNI too */
};

struct mc_target {
	char *name;
	enum mc_target_type type;
	char *chain_file;     /* key + leaf + intermediates; may contain %n */
	char *cert_file;      /* leaf + intermediates */
	char *key_file;
	char *fullchain_file; /* leaf + intermediates (certbot's fullchain) */
	char *combined_file;  /* key + leaf + intermediates */
	char *owner;          /* NULL: root */
	char *group;          /* NULL: root */
	mode_t mode;          /* mode of files holding the key */
	bool default_files;   /* the paths are the type's defaults (with two
				 key types they get ".%k" before the
				 extension: mc_target_expand) */
	bool allow_symlink;
	char *reload;         /* NULL: the type's default */
	char *config;         /* the daemon's configuration doctor reads
				 (Postfix dir, Dovecot/Exim file); NULL: the system one */
	bool declared;        /* from a [target] section (else built in) */
	int line;             /* line of the section header, 0 if built in */
};

struct mc_cert_conf {
	char *name;
	char **names; /* DNS names lower-cased or IP addresses (mc_name_normalize), no duplicates */
	size_t n_names;
	enum mc_key_type key_type; /* the first of key_types */
	enum mc_key_type key_types[MC_KEY_TYPES_MAX]; /* one, or one EC and one RSA */
	size_t n_key_types;
	bool reuse_key;
	enum mc_challenge_type challenge;
	char *http_listen;     /* "HOST:PORT" (checked by mc_addr_listen_parse;
	                        * the default is shared by every cert: never
	                        * free or change it, nor tls_alpn_listen) */
	char *webroot;         /* NULL: use the built-in responder */
	char *tls_alpn_listen; /* "HOST:PORT" */
	char *dns_hook;
	long dns_wait;         /* seconds to wait after the dns_hook adds; 0 none */
	long order_timeout;    /* seconds one order may take, after any dns_wait */
	char *preferred_chain;
	char *profile;         /* ACME profile for newOrder; NULL: the CA's default */
	char *deploy_hook;
	char **targets; /* names of struct mc_target in the config */
	size_t n_targets;
	char **verify; /* endpoint URLs as written */
	struct mc_endpoint *endpoints; /* verify[i] parsed (n_verify of them) */
	size_t n_verify;
	struct mc_timing timing;
	/* DANE (issue 12) */
	char **tlsa;     /* TLSA owner names "_PORT._tcp.HOST", lower-cased */
	size_t n_tlsa;
	char *tlsa_hook; /* HOOK add|del TLSA_NAME "3 1 1 HEX" */
	int line;
};

struct mc_config {
	char *path;
	char *state_dir;
	char *directory;
	char *contact; /* may be NULL */
	char *ca_bundle;
	char *trust_bundle;
	char *eab_kid;
	char *eab_hmac_key; /* secret: never logged */
	char *hooks_dir;
	char *include; /* glob of more config files, or NULL */
	enum mc_log_dest log;
	struct mc_timing timing;
	/* fleet (issue 13): store NULL means local only */
	char *store;          /* etcd://HOST:PORT[,HOST:PORT...]/PREFIX */
	char *node;           /* this host in the fleet; NULL: the hostname */
	char *store_key_file; /* 32-byte secret sealing keys (required with store) */
	char *store_ca;       /* CA file: https to etcd */
	char *store_cert;     /* client certificate for etcd (with store_key) */
	char *store_key;
	long store_lease;     /* seconds of the fleet lock's lease; 0: 10 */
	long store_wait;      /* seconds a run waits for another host's lock; 0: 15m */
	/* DNS (issue 12): NULL means the default */
	char *resolver;        /* ADDR[:PORT], "recursive"; NULL: /etc/resolv.conf */
	char *dnssec_anchor;   /* NULL: MC_DNS_DEFAULT_ANCHOR */
	char *nsupdate_server; /* ADDR[:PORT] (port 53 if none) */
	char *nsupdate_key;    /* TSIG key file (BIND syntax); NULL: unsigned */
	/* dry runs, pruning, metrics */
	char *staging_directory; /* NULL: see mc_config_staging_directory */
	unsigned keep_versions;  /* versions kept after a verified deploy */
	char *metrics_file;      /* Prometheus textfile; NULL: none */
	struct mc_cert_conf *certs;
	size_t n_certs;
	struct mc_target *targets;
	size_t n_targets;
};

/* mc_config_load - read and validate path into a new config (*out, caller frees). */
int mc_config_load(const char *path, struct mc_config **out, struct mc_err *err);

/* mc_config_free - free a config; NULL is a no-op. */
void mc_config_free(struct mc_config *cfg);

/* mc_config_cert - the [cert NAME] section, or NULL. Borrowed. */
const struct mc_cert_conf *mc_config_cert(const struct mc_config *cfg, const char *name);

/* mc_config_target - the target named name (declared or built in), or NULL. Borrowed. */
const struct mc_target *mc_config_target(const struct mc_config *cfg, const char *name);

/* mc_config_expand - path with every %n replaced by cert_name (new string,
 * caller frees); a %k is an error (use mc_config_expand_key). */
char *mc_config_expand(const char *path, const char *cert_name, struct mc_err *err);

/* mc_config_expand_key - the same with every %k replaced by alg ("ecdsa"
 * or "rsa", mc_key_type_alg; NULL: %k is an error). */
char *mc_config_expand_key(const char *path, const char *cert_name,
			   const char *alg, struct mc_err *err);

/* mc_target_expand - the path of target t's file template tmpl (one of
 * t's path fields) for cert cert_name and its key type kt: with dual (the
 * cert has two key types) a default path gets ".%k" before its extension
 * (/etc/postfix/tls/%n.pem -> /etc/postfix/tls/%n.%k.pem); then %n and %k
 * are expanded (new string). */
char *mc_target_expand(const struct mc_target *t, const char *tmpl,
		       const char *cert_name, enum mc_key_type kt, bool dual,
		       struct mc_err *err);

/* mc_cert_dual - whether cc has two key types (dual certificates). */
bool mc_cert_dual(const struct mc_cert_conf *cc);

/* mc_config_staging_directory - the directory for --dry-run: staging_directory,
 * else Let's Encrypt staging when directory is Let's Encrypt production,
 * else NULL. Borrowed. */
const char *mc_config_staging_directory(const struct mc_config *cfg);

/* mc_parse_duration - "90", "30s", "5m", "12h", "30d" into seconds. */
int mc_parse_duration(const char *text, long *out, struct mc_err *err);

/* mc_name_normalize - validate a certificate name and return it as it goes
 * to the CA (new string): a DNS name (U-labels converted to A-labels with
 * mc_name_to_alabel; LDH labels, lengths; "*." only if allow_wildcard)
 * lower-cased, or an IPv4/IPv6 address (RFC 8738) in its canonical text
 * form (inet_ntop). */
char *mc_name_normalize(const char *name, bool allow_wildcard, struct mc_err *err);

/* mc_name_to_alabel - name with its U-labels (bücher.example) converted to
 * A-labels (xn--bcher-kva.example), lower-cased (new string); IDNA2008
 * with UTS #46 non-transitional mapping (libidn2); a leading "*." is kept.
 * An ASCII name passes through lower-cased, unchecked (mc_name_normalize
 * checks). MC_ERR_CONFIG naming the name when it is no valid IDN. */
char *mc_name_to_alabel(const char *name, struct mc_err *err);

/* mc_name_to_ulabel - name with every xn-- label decoded to Unicode, for
 * display (new string); MC_ERR_CONFIG when a label does not decode. */
char *mc_name_to_ulabel(const char *name, struct mc_err *err);

/* mc_name_ip - if name is an IPv4 (dotted quad) or IPv6 literal, its binary
 * address into addr and its length (4 or 16); else 0. */
size_t mc_name_ip(const char *name, unsigned char addr[16]);

/* mc_name_is_ip - whether name is an IP address literal (see mc_name_ip). */
bool mc_name_is_ip(const char *name);

/* mc_name_check_host - whether name, in A-label form (mc_name_to_alabel),
 * is a host name a client may ask for (SNI, RFC 9525 matching): LDH labels
 * of 1..63 characters, 253 in all, xn-- labels that decode (IDNA2008); a
 * single label passes, a wildcard or an IP address does not. 0, or -1 with
 * MC_ERR_CONFIG quoting the name and saying what is wrong. */
int mc_name_check_host(const char *name, struct mc_err *err);

/* mc_tlsa_name_parse - check a TLSA owner name "_PORT._tcp.HOST" (also
 * _udp, _sctp) and return it lower-cased without a final dot (new string);
 * NULL and MC_ERR_INPUT saying what is wrong. */
char *mc_tlsa_name_parse(const char *text, struct mc_err *err);

/* mc_cert_name_valid - whether a cert NAME is a safe file name. */
bool mc_cert_name_valid(const char *name);

/* mc_key_type_name / mc_key_type_parse - "ecdsa-p256" etc. */
const char *mc_key_type_name(enum mc_key_type type);
int mc_key_type_parse(const char *text, enum mc_key_type *out);

/* mc_key_type_alg - the algorithm of a key type: "ecdsa" or "rsa" (what
 * %k expands to, and the suffix of a dual version's second files). */
const char *mc_key_type_alg(enum mc_key_type type);

/* mc_key_type_is_ec - whether type is an ECDSA type. */
bool mc_key_type_is_ec(enum mc_key_type type);

/* mc_key_types_text - "ecdsa-p256" or "ecdsa-p256 rsa-2048" into buf. */
void mc_key_types_text(const enum mc_key_type *types, size_t n, char *buf,
		       size_t size);

/* mc_pair_file - the name of file base ("privkey.pem", "cert.pem",
 * "chain.pem", "fullchain.pem") of the pair at slot in a stored version:
 * slot 0 (the first key type) as base, slot 1 with "-ALG" before ".pem"
 * ("privkey-rsa.pem"), into buf. */
void mc_pair_file(const char *base, size_t slot, enum mc_key_type type,
		  char *buf, size_t size);

/* mc_challenge_name - "http-01" etc. */
const char *mc_challenge_name(enum mc_challenge_type type);

#endif
