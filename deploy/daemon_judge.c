/*
 * daemon_judge.c - does a daemon's configuration read a target's files,
 * and which lines would make it (see include/mailcert/daemon.h).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "mailcert/daemon.h"
#include "mailcert/fsio.h"

#include "deploy/daemon_int.h"

#define PATH_LEN 512
#define SNI_MAP_MAX (4 * 1024 * 1024)
#define PID_FILE_MAX 64

/* The files a target writes for one cert, after %n expansion ("" unset). */
struct want {
	char chain[PATH_LEN]; /* key + leaf + intermediates */
	char cert[PATH_LEN];  /* leaf + intermediates (or the chain file) */
	char key[PATH_LEN];   /* key (or the chain file) */
};

/* judge_expand - expand template (may be NULL) into buf. */
static int
judge_expand(const char *template, const char *cert_name, char *buf,
	     size_t size, struct mc_err *err)
{
	char *p;

	buf[0] = '\0';
	if (template == NULL)
		return 0;
	p = mc_config_expand(template, cert_name, err);
	if (p == NULL)
		return -1;
	if (strlen(p) >= size) {
		mc_err_set(err, MC_ERR_CONFIG, "path %.100s... is too long", p);
		free(p);
		return -1;
	}
	snprintf(buf, size, "%s", p);
	free(p);
	return 0;
}

/* judge_want - the files of t for cert_name. */
static int
judge_want(const struct mc_target *t, const char *cert_name, struct want *w,
	   struct mc_err *err)
{
	const char *chain = t->chain_file ? t->chain_file : t->combined_file;
	const char *cert = t->cert_file ? t->cert_file : t->fullchain_file;

	if (judge_expand(chain, cert_name, w->chain, PATH_LEN, err) == -1 ||
	    judge_expand(cert, cert_name, w->cert, PATH_LEN, err) == -1 ||
	    judge_expand(t->key_file, cert_name, w->key, PATH_LEN, err) == -1)
		return -1;
	if (w->cert[0] == '\0')
		snprintf(w->cert, PATH_LEN, "%s", w->chain);
	if (w->key[0] == '\0')
		snprintf(w->key, PATH_LEN, "%s", w->chain);
	if (w->cert[0] == '\0' || w->key[0] == '\0')
		return mc_err_set(err, MC_ERR_CONFIG, "target %s names no key and "
				  "certificate file", t->name);
	return 0;
}

/* judge_line - append the line "name = pre A[sep B]" to v. */
static void
judge_line(struct mc_daemon_verdict *v, const char *name, const char *pre,
	   const char *a, const char *b)
{
	if (v->n_lines == MC_DAEMON_LINES_MAX)
		return;
	snprintf(v->lines[v->n_lines++], sizeof(v->lines[0]), "%s = %s%.512s%s%.512s",
		 name, pre, a, b ? ", " : "", b ? b : "");
}

/* judge_lines - the lines for w on a daemon of type (Dovecot: version). */
static void
judge_lines(enum mc_target_type type, int version, const struct want *w,
	    struct mc_daemon_verdict *v)
{
	switch (type) {
	case MC_TARGET_POSTFIX:
		if (w->chain[0] != '\0')
			judge_line(v, "smtpd_tls_chain_files", "", w->chain, NULL);
		else
			judge_line(v, "smtpd_tls_chain_files", "", w->key, w->cert);
		break;
	case MC_TARGET_DOVECOT:
		if (version == 24) {
			judge_line(v, "ssl_server_cert_file", "", w->cert, NULL);
			judge_line(v, "ssl_server_key_file", "", w->key, NULL);
		} else {
			judge_line(v, "ssl_cert", "<", w->cert, NULL);
			judge_line(v, "ssl_key", "<", w->key, NULL);
		}
		break;
	case MC_TARGET_EXIM:
		judge_line(v, "tls_certificate", "", w->cert, NULL);
		judge_line(v, "tls_privatekey", "", w->key, NULL);
		break;
	case MC_TARGET_FILES:
		break;
	}
}

/* judge_listed - whether path is one of the Postfix chain files. */
static bool
judge_listed(const struct mc_daemon_conf *c, const char *path)
{
	size_t i;

	for (i = 0; path[0] != '\0' && i < c->n_chain_files; i++)
		if (strcmp(c->chain_files[i], path) == 0)
			return true;
	return false;
}

/* judge_reads - whether c's files include w's. */
static bool
judge_reads(const struct mc_daemon_conf *c, const struct want *w)
{
	size_t i;

	if (judge_listed(c, w->chain) ||
	    (judge_listed(c, w->key) && judge_listed(c, w->cert)))
		return true;
	for (i = 0; i < c->n_pairs; i++)
		if (strcmp(c->pairs[i].cert, w->cert) == 0 &&
		    strcmp(c->pairs[i].key, w->key) == 0)
			return true;
	return false;
}

/* judge_sni_map - whether the Postfix SNI map source names w's files on
 * one line (NAME FILE[, FILE]). */
static bool
judge_sni_map(const struct mc_daemon_conf *c, const struct want *w)
{
	char *text = NULL, *line;
	size_t len = 0;
	bool found = false;

	if (c->sni_map == NULL ||
	    mc_fsio_read(c->sni_map, SNI_MAP_MAX, &text, &len, NULL) == -1)
		return false;
	for (line = text; line != NULL && !found; line = strchr(line, '\n')) {
		char *end;

		line += line[0] == '\n';
		end = line + strcspn(line, "\n");
		*end = '\0';
		found = (w->chain[0] != '\0' && strstr(line, w->chain) != NULL) ||
			(strstr(line, w->key) != NULL && strstr(line, w->cert) != NULL);
		*end = end == text + len ? '\0' : '\n';
		line = end == text + len ? NULL : end;
	}
	free(text);
	return found;
}

/* judge_setting - the setting names of pair i of c, and the "<" prefix. */
static void
judge_setting(const struct mc_daemon_conf *c, size_t i, const char **cert,
	      const char **key, const char **lt)
{
	static const char *const names[][2][2] = {
		[MC_TARGET_POSTFIX] = {{"smtpd_tls_cert_file", "smtpd_tls_key_file"},
				       {"smtpd_tls_eccert_file", "smtpd_tls_eckey_file"}},
		[MC_TARGET_DOVECOT] = {{"ssl_cert", "ssl_key"},
				       {"ssl_alt_cert", "ssl_alt_key"}},
		[MC_TARGET_EXIM] = {{"tls_certificate", "tls_privatekey"},
				    {"tls_certificate", "tls_privatekey"}},
		[MC_TARGET_FILES] = {{"cert", "key"}, {"cert", "key"}},
	};
	static const char *const dc24[2][2] = {
		{"ssl_server_cert_file", "ssl_server_key_file"},
		{"ssl_server_alt_cert_file", "ssl_server_alt_key_file"}};
	size_t j = i > 0 ? 1 : 0;

	*lt = "";
	if (c->type == MC_TARGET_DOVECOT && c->dovecot_version == 24) {
		*cert = dc24[j][0];
		*key = dc24[j][1];
		return;
	}
	if (c->type == MC_TARGET_DOVECOT)
		*lt = "<";
	*cert = names[c->type][j][0];
	*key = names[c->type][j][1];
}

/* judge_describe - what c reads, as settings, into v->reads. */
static void
judge_describe(const struct mc_daemon_conf *c, struct mc_daemon_verdict *v)
{
	size_t i, len = 0, size = sizeof(v->reads);
	const char *cert, *key, *lt;

	v->reads[0] = '\0';
	for (i = 0; i < c->n_chain_files && len < size; i++)
		len += (size_t)snprintf(v->reads + len, size - len, "%s%s",
			i ? ", " : "smtpd_tls_chain_files = ", c->chain_files[i]);
	for (i = 0; i < c->n_pairs && len < size; i++) {
		judge_setting(c, i, &cert, &key, &lt);
		len += (size_t)snprintf(v->reads + len, size - len,
			"%s%s = %s%s, %s = %s%s", len ? "; " : "", cert, lt,
			c->pairs[i].cert, key, lt, c->pairs[i].key);
	}
	if (v->reads[0] == '\0')
		snprintf(v->reads, size, "no certificate file");
}

/* mc_daemon_lines - the lines that make a daemon of t's type read t's files. */
int
mc_daemon_lines(const struct mc_target *t, const char *cert_name,
		int dovecot_version, struct mc_daemon_verdict *v,
		struct mc_err *err)
{
	struct want w;

	if (judge_want(t, cert_name, &w, err) == -1)
		return -1;
	v->n_lines = 0;
	judge_lines(t->type, dovecot_version, &w, v);
	return 0;
}

/* mc_daemon_judge - whether conf reads t's files for cert_name. */
int
mc_daemon_judge(const struct mc_target *t, const char *cert_name,
		const struct mc_daemon_conf *conf, struct mc_daemon_verdict *v,
		struct mc_err *err)
{
	struct want w;

	memset(v, 0, sizeof(*v));
	if (judge_want(t, cert_name, &w, err) == -1)
		return -1;
	snprintf(v->where, sizeof(v->where), "%s", conf->where ? conf->where : "");
	judge_describe(conf, v);
	if (judge_reads(conf, &w)) {
		v->state = MC_DAEMON_READS;
	} else if (conf->type == MC_TARGET_POSTFIX && judge_sni_map(conf, &w)) {
		v->state = MC_DAEMON_READS;
		v->via_sni = true;
	} else if (conf->unjudgeable != NULL) {
		v->state = MC_DAEMON_UNKNOWN;
		snprintf(v->detail, sizeof(v->detail), "%s", conf->unjudgeable);
	} else {
		v->state = MC_DAEMON_READS_OTHER;
		judge_lines(conf->type, conf->dovecot_version, &w, v);
	}
	if (conf->tls_off) {
		if (v->state == MC_DAEMON_READS)
			v->state = MC_DAEMON_READS_OTHER;
		v->tls_off = true;
		if (v->n_lines < MC_DAEMON_LINES_MAX)
			snprintf(v->lines[v->n_lines++], sizeof(v->lines[0]), "%s",
				 conf->tls_off_line);
		snprintf(v->detail, sizeof(v->detail), "TLS is turned off");
	}
	return 0;
}

/* judge_local_names - Dovecot 2.3: whether a local_name block of one of
 * cc's names reads the files (SNI). */
static void
judge_local_names(const struct mc_target *t, const struct mc_cert_conf *cc,
		  struct mc_daemon_verdict *v)
{
	struct mc_daemon_verdict sni;
	struct mc_daemon_conf c;
	size_t i;

	for (i = 0; i < cc->n_names; i++) {
		if (daemon_conf_read_lname(t, cc->names[i], &c, NULL) == -1)
			return;
		if (mc_daemon_judge(t, cc->name, &c, &sni, NULL) == 0 &&
		    sni.state == MC_DAEMON_READS) {
			*v = sni;
			v->via_sni = true;
			mc_daemon_conf_clear(&c);
			return;
		}
		mc_daemon_conf_clear(&c);
	}
}

/* mc_daemon_target_check - read t's daemon configuration and judge it for cc. */
int
mc_daemon_target_check(const struct mc_target *t, const struct mc_cert_conf *cc,
		       struct mc_daemon_verdict *v, struct mc_err *err)
{
	struct mc_daemon_conf c;
	int rc;

	memset(v, 0, sizeof(*v));
	if (t->type == MC_TARGET_FILES) {
		v->state = MC_DAEMON_READS;
		snprintf(v->detail, sizeof(v->detail), "type files: no daemon "
			 "configuration to read");
		return 0;
	}
	if (mc_daemon_conf_read(t, &c, err) == -1)
		return -1;
	rc = mc_daemon_judge(t, cc->name, &c, v, err);
	if (rc == 0 && v->state != MC_DAEMON_READS && !c.tls_off &&
	    t->type == MC_TARGET_DOVECOT && c.dovecot_version == 23)
		judge_local_names(t, cc, v);
	mc_daemon_conf_clear(&c);
	return rc;
}

/* mc_daemon_running - whether the master of conf's pid file lives. */
int
mc_daemon_running(const struct mc_daemon_conf *conf, long *pid, char *buf,
		  size_t size)
{
	char *text = NULL, *end;
	size_t len = 0;
	long p;

	if (conf->pid_file == NULL)
		return -1;
	if (mc_fsio_read(conf->pid_file, PID_FILE_MAX, &text, &len, NULL) == -1) {
		snprintf(buf, size, "no pid file %s", conf->pid_file);
		return 0;
	}
	errno = 0;
	p = strtol(text, &end, 10);
	free(text);
	if (errno != 0 || p <= 1 || end == NULL) {
		snprintf(buf, size, "%s holds no pid", conf->pid_file);
		return 0;
	}
	if (kill((pid_t)p, 0) == -1 && errno == ESRCH) {
		snprintf(buf, size, "pid %ld of %s is gone", p, conf->pid_file);
		return 0;
	}
	*pid = p;
	return 1;
}
