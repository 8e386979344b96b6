/*
 * daemon.h - what the mail daemons' configuration makes them read.
 *
 * mailcert writes certificates to the files of its targets; a daemon only
 * serves them when its own configuration names those files. This module
 * asks each daemon's configuration tool (never parses main.cf etc. itself):
 *   Postfix: postconf [-c DIR] -x smtpd_tls_chain_files smtpd_tls_cert_file
 *            smtpd_tls_key_file smtpd_tls_eccert_file smtpd_tls_eckey_file
 *            smtpd_tls_security_level smtpd_use_tls tls_server_sni_maps
 *            queue_directory
 *   Dovecot: doveconf [-c FILE] base_dir ssl ssl_cert ssl_key ssl_alt_cert
 *            ssl_alt_key (2.3) or ssl_server_cert_file ssl_server_key_file
 *            ssl_server_alt_cert_file ssl_server_alt_key_file (2.4)
 *   Exim:    exim [-C FILE] -bP tls_certificate tls_privatekey
 *            tls_advertise_hosts pid_file_path (the binary: the file's
 *            exim_path, else exim4 or exim on the standard PATH)
 * where DIR/FILE is the target's `config` (default: the system one), and
 * judges whether the daemon reads the target's files for a cert; if not,
 * it gives the exact configuration lines to add and the file they go in.
 *
 * The parsers (mc_daemon_parse) take the tools' text output and are pure,
 * so recorded outputs (Dovecot 2.4, which Debian 12 does not ship) are
 * unit-tested without the daemon.
 *
 * Ownership: struct mc_daemon_conf owns its strings (mc_daemon_conf_clear);
 * struct mc_daemon_verdict is fixed-size, nothing to free.
 * Errors: MC_ERR_SYS when the tool cannot be started (the daemon is not
 * installed), MC_ERR_DEPLOY when it fails (its message quoted), MC_ERR_INPUT
 * for output that does not parse.
 */
#ifndef MAILCERT_DAEMON_H
#define MAILCERT_DAEMON_H

#include <stdbool.h>
#include <stddef.h>

#include "mailcert/config.h"
#include "mailcert/err.h"

#define MC_DAEMON_FILES_MAX 8 /* files or pairs kept per setting */
#define MC_DAEMON_LINES_MAX 6

/* One certificate a daemon loads: cert file and key file (equal when one
 * file holds both, e.g. a Postfix chain file). */
struct mc_daemon_pair {
	char *cert;
	char *key;
};

struct mc_daemon_conf {
	enum mc_target_type type;
	int dovecot_version;   /* 23 or 24 (Dovecot), else 0 */
	char *chain_files[MC_DAEMON_FILES_MAX]; /* Postfix smtpd_tls_chain_files */
	size_t n_chain_files;
	struct mc_daemon_pair pairs[MC_DAEMON_FILES_MAX];
	size_t n_pairs;
	bool tls_off;          /* the daemon offers no TLS at all */
	char *tls_off_line;    /* the line that turns it on */
	char *pid_file;        /* the master's pid file, or NULL */
	char *sni_map;         /* Postfix tls_server_sni_maps source file, or NULL */
	char *where;           /* the file configuration lines go into */
	char *unjudgeable;     /* why the files cannot be told (expansion, inline PEM) */
};

enum mc_daemon_state {
	MC_DAEMON_READS = 0,   /* the configuration reads the target's files */
	MC_DAEMON_READS_OTHER, /* it reads other files: add lines[] */
	MC_DAEMON_UNKNOWN,     /* cannot tell (detail says why) */
};

struct mc_daemon_verdict {
	enum mc_daemon_state state;
	bool via_sni;          /* read through tls_server_sni_maps / local_name */
	bool tls_off;          /* the daemon offers no TLS (lines[] turn it on) */
	char where[512];       /* where the lines go */
	char reads[1024];      /* what the daemon reads now, as settings */
	char lines[MC_DAEMON_LINES_MAX][1100]; /* the exact lines to add */
	size_t n_lines;
	char detail[512];
};

/* mc_daemon_parse - parse the "name = value" output of the type's tool
 * (see above) into *out (cleared first; free with mc_daemon_conf_clear).
 * where is the configuration file the lines go in (copied). */
int mc_daemon_parse(enum mc_target_type type, const char *text,
		    const char *where, struct mc_daemon_conf *out,
		    struct mc_err *err);

/* mc_daemon_conf_read - run the tool for target t and parse its output. */
int mc_daemon_conf_read(const struct mc_target *t, struct mc_daemon_conf *out,
			struct mc_err *err);

/* mc_daemon_conf_clear - free what conf owns and zero it. */
void mc_daemon_conf_clear(struct mc_daemon_conf *conf);

/* mc_daemon_judge - whether conf reads t's files for cert cc (those of
 * every key type: dual certificates need both pairs read - Postfix chain
 * files, Dovecot ssl_cert and ssl_alt_cert, Exim lists); the lines to add
 * when not. Pure (no child, no file read but the SNI map). */
int mc_daemon_judge(const struct mc_target *t, const struct mc_cert_conf *cc,
		    const struct mc_daemon_conf *conf,
		    struct mc_daemon_verdict *v, struct mc_err *err);

/* mc_daemon_lines - the configuration lines that make a daemon of t's type
 * read t's files for cert cc (Dovecot: version 23 or 24) into v. */
int mc_daemon_lines(const struct mc_target *t, const struct mc_cert_conf *cc,
		    int dovecot_version, struct mc_daemon_verdict *v,
		    struct mc_err *err);

/* mc_daemon_target_check - read the configuration of t's daemon and judge
 * it for cert cc (Dovecot 2.3 local_name blocks of cc's names included).
 * For the deploy pipeline and doctor: -1 only when the configuration
 * cannot be read at all; type files is always MC_DAEMON_READS. */
int mc_daemon_target_check(const struct mc_target *t,
			   const struct mc_cert_conf *cc,
			   struct mc_daemon_verdict *v, struct mc_err *err);

/* mc_daemon_running - whether the master process of conf's pid file
 * lives: 1 yes (*pid set), 0 no (why in buf), -1 no pid file known. */
int mc_daemon_running(const struct mc_daemon_conf *conf, long *pid,
		      char *buf, size_t size);

#endif
