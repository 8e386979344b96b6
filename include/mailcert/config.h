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

#include "mailcert/err.h"
#include "mailcert/log.h"

#define MC_CONFIG_DEFAULT_PATH "/etc/mailcert/mailcert.conf"

enum mc_key_type {
	MC_KEY_RSA2048 = 0,
	MC_KEY_RSA3072,
	MC_KEY_RSA4096,
	MC_KEY_EC_P256,
	MC_KEY_EC_P384,
};

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

/* Durations are in seconds. renew_before: -1 means "auto". */
struct mc_timing {
	long renew_before;
	long hook_timeout;
	long verify_timeout;
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
	bool allow_symlink;
	char *reload;         /* NULL: the type's default */
	char *config;         /* the daemon's configuration doctor reads
				 (Postfix dir, Dovecot/Exim file); NULL: the system one */
	bool declared;        /* from a [target] section (else built in) */
	int line;             /* line of the section header, 0 if built in */
};

struct mc_cert_conf {
	char *name;
	char **names; /* lower-cased, validated, no duplicates */
	size_t n_names;
	enum mc_key_type key_type;
	bool reuse_key;
	enum mc_challenge_type challenge;
	char *http_listen;     /* "HOST:PORT" */
	char *webroot;         /* NULL: use the built-in responder */
	char *tls_alpn_listen; /* "HOST:PORT" */
	char *dns_hook;
	long dns_wait;         /* seconds to wait after the dns_hook adds; 0 none */
	long order_timeout;    /* seconds one order may take, after any dns_wait */
	char *preferred_chain;
	char *deploy_hook;
	char **targets; /* names of struct mc_target in the config */
	size_t n_targets;
	char **verify; /* endpoint URLs */
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
	/* DNS (issue 12): NULL means the default */
	char *resolver;        /* ADDR[:PORT], "recursive"; NULL: /etc/resolv.conf */
	char *dnssec_anchor;   /* NULL: MC_DNS_DEFAULT_ANCHOR */
	char *nsupdate_server; /* ADDR[:PORT] (port 53 if none) */
	char *nsupdate_key;    /* TSIG key file (BIND syntax); NULL: unsigned */
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

/* mc_config_expand - path with every %n replaced by cert_name (new string, caller frees). */
char *mc_config_expand(const char *path, const char *cert_name, struct mc_err *err);

/* mc_parse_duration - "90", "30s", "5m", "12h", "30d" into seconds. */
int mc_parse_duration(const char *text, long *out, struct mc_err *err);

/* mc_name_normalize - validate a DNS name (LDH labels, lengths; "*." only if
 * allow_wildcard) and return it lower-cased (new string). */
char *mc_name_normalize(const char *name, bool allow_wildcard, struct mc_err *err);

/* mc_hostport_parse - split "HOST[:PORT]" (HOST a DNS name, an IPv4
 * address or a [bracketed] IPv6 address; port 1-65535) into host (without
 * brackets, at most size-1 bytes) and *port (0 when absent). The one parser
 * of that syntax, used by the config loader and at run time. 0 or -1
 * (MC_ERR_INPUT naming the text). */
int mc_hostport_parse(const char *text, char *host, size_t size, int *port,
    struct mc_err *err);

/* mc_tlsa_name_parse - check a TLSA owner name "_PORT._tcp.HOST" (also
 * _udp, _sctp) and return it lower-cased without a final dot (new string);
 * NULL and MC_ERR_INPUT saying what is wrong. */
char *mc_tlsa_name_parse(const char *text, struct mc_err *err);

/* mc_cert_name_valid - whether a cert NAME is a safe file name. */
bool mc_cert_name_valid(const char *name);

/* mc_key_type_name / mc_key_type_parse - "ecdsa-p256" etc. */
const char *mc_key_type_name(enum mc_key_type type);
int mc_key_type_parse(const char *text, enum mc_key_type *out);

/* mc_challenge_name - "http-01" etc. */
const char *mc_challenge_name(enum mc_challenge_type type);

#endif
