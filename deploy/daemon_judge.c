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

/* The files a target writes for one key type of a cert, after %n and %k
 * expansion ("" unset). */
struct want {
	char chain[PATH_LEN]; /* key + leaf + intermediates */
	char cert[PATH_LEN];  /* leaf + intermediates (or the chain file) */
	char key[PATH_LEN];   /* key (or the chain file) */
};

/* Those of every key type of the cert (two: dual certificates). */
struct wants {
	struct want w[MC_KEY_TYPES_MAX];
	size_t n;
};

/* judge_expand - expand template (may be NULL) of t for key type kt. */
static int
judge_expand(const struct mc_target *t, const char *template,
	     const struct mc_cert_conf *cc, enum mc_key_type kt, char *buf,
	     size_t size, struct mc_err *err)
{
	char *p;

	buf[0] = '\0';
	if (template == NULL)
		return 0;
	p = mc_target_expand(t, template, cc->name, kt, mc_cert_dual(cc), err);
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

/* judge_want_one - the files of t for key type kt of cc. */
static int
judge_want_one(const struct mc_target *t, const struct mc_cert_conf *cc,
	       enum mc_key_type kt, struct want *w, struct mc_err *err)
{
	const char *chain = t->chain_file ? t->chain_file : t->combined_file;
	const char *cert = t->cert_file ? t->cert_file : t->fullchain_file;

	if (judge_expand(t, chain, cc, kt, w->chain, PATH_LEN, err) == -1 ||
	    judge_expand(t, cert, cc, kt, w->cert, PATH_LEN, err) == -1 ||
	    judge_expand(t, t->key_file, cc, kt, w->key, PATH_LEN, err) == -1)
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

/* judge_want - the files of t for every key type of cc. */
static int
judge_want(const struct mc_target *t, const struct mc_cert_conf *cc,
	   struct wants *ws, struct mc_err *err)
{
	size_t k;

	memset(ws, 0, sizeof(*ws));
	for (k = 0; k < cc->n_key_types && k < MC_KEY_TYPES_MAX; k++) {
		if (judge_want_one(t, cc, cc->key_types[k], &ws->w[k], err) == -1)
			return -1;
		ws->n = k + 1;
	}
	return 0;
}

/* judge_line - append "name = pre ITEM[sep pre ITEM...]" (n items) to v. */
static void
judge_line(struct mc_daemon_verdict *v, const char *name, const char *pre,
	   const char *sep, const char *const *items, size_t n)
{
	size_t i, len, size = sizeof(v->lines[0]);
	char *l;

	if (v->n_lines == MC_DAEMON_LINES_MAX)
		return;
	l = v->lines[v->n_lines++];
	len = (size_t)snprintf(l, size, "%s = ", name);
	for (i = 0; i < n && len < size; i++)
		len += (size_t)snprintf(l + len, size - len, "%s%s%.512s",
					i ? sep : "", pre, items[i]);
}

/* judge_pair_lines - "CERT = ..." and "KEY = ..." for the pair of ws at
 * slot (Dovecot: the main and the alt settings). */
static void
judge_pair_lines(struct mc_daemon_verdict *v, const struct wants *ws,
		 size_t slot, const char *cert, const char *key,
		 const char *pre)
{
	const char *c = ws->w[slot].cert, *k = ws->w[slot].key;

	judge_line(v, cert, pre, "", &c, 1);
	judge_line(v, key, pre, "", &k, 1);
}

/* judge_lines - the lines for ws on a daemon of type (Dovecot: version):
 * Postfix one chain file per key type, Dovecot ssl_cert (+ ssl_alt_cert),
 * Exim certificate and key lists. */
static void
judge_lines(enum mc_target_type type, int version, const struct wants *ws,
	    struct mc_daemon_verdict *v)
{
	const char *a[2 * MC_KEY_TYPES_MAX], *b[MC_KEY_TYPES_MAX];
	size_t i, n = 0;

	switch (type) {
	case MC_TARGET_POSTFIX:
		for (i = 0; i < ws->n; i++) {
			if (ws->w[i].chain[0] == '\0')
				a[n++] = ws->w[i].key;
			a[n++] = ws->w[i].chain[0] ? ws->w[i].chain : ws->w[i].cert;
		}
		judge_line(v, "smtpd_tls_chain_files", "", ", ", a, n);
		break;
	case MC_TARGET_DOVECOT:
		judge_pair_lines(v, ws, 0, version == 24 ? "ssl_server_cert_file"
							 : "ssl_cert",
				 version == 24 ? "ssl_server_key_file" : "ssl_key",
				 version == 24 ? "" : "<");
		if (ws->n > 1)
			judge_pair_lines(v, ws, 1,
					 version == 24 ? "ssl_server_alt_cert_file"
						       : "ssl_alt_cert",
					 version == 24 ? "ssl_server_alt_key_file"
						       : "ssl_alt_key",
					 version == 24 ? "" : "<");
		break;
	case MC_TARGET_EXIM:
		for (i = 0; i < ws->n; i++) {
			a[i] = ws->w[i].cert;
			b[i] = ws->w[i].key;
		}
		judge_line(v, "tls_certificate", "", " : ", a, ws->n);
		judge_line(v, "tls_privatekey", "", " : ", b, ws->n);
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

/* judge_reads_one - whether c's files include w's. */
static bool
judge_reads_one(const struct mc_daemon_conf *c, const struct want *w)
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

/* judge_reads - whether c's files include those of every key type. */
static bool
judge_reads(const struct mc_daemon_conf *c, const struct wants *ws)
{
	size_t k;

	for (k = 0; k < ws->n; k++)
		if (!judge_reads_one(c, &ws->w[k]))
			return false;
	return ws->n > 0;
}

/* judge_sni_line - whether one line of an SNI map names the files of
 * every key type. */
static bool
judge_sni_line(const char *line, const struct wants *ws)
{
	const struct want *w;
	size_t k;

	for (k = 0; k < ws->n; k++) {
		w = &ws->w[k];
		if (!((w->chain[0] != '\0' && strstr(line, w->chain) != NULL) ||
		      (strstr(line, w->key) != NULL &&
		       strstr(line, w->cert) != NULL)))
			return false;
	}
	return ws->n > 0;
}

/* judge_sni_map - whether the Postfix SNI map source names ws's files on
 * one line (NAME FILE[, FILE...]). */
static bool
judge_sni_map(const struct mc_daemon_conf *c, const struct wants *ws)
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
		found = judge_sni_line(line, ws);
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
mc_daemon_lines(const struct mc_target *t, const struct mc_cert_conf *cc,
		int dovecot_version, struct mc_daemon_verdict *v,
		struct mc_err *err)
{
	struct wants ws;

	if (judge_want(t, cc, &ws, err) == -1)
		return -1;
	v->n_lines = 0;
	judge_lines(t->type, dovecot_version, &ws, v);
	return 0;
}

/* mc_daemon_judge - whether conf reads t's files for cc. */
int
mc_daemon_judge(const struct mc_target *t, const struct mc_cert_conf *cc,
		const struct mc_daemon_conf *conf, struct mc_daemon_verdict *v,
		struct mc_err *err)
{
	struct wants w;

	memset(v, 0, sizeof(*v));
	if (judge_want(t, cc, &w, err) == -1)
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

/* judge_local_names - Dovecot: whether a local_name block of one of cc's
 * names reads the files (SNI). */
static void
judge_local_names(const struct mc_target *t, const struct mc_cert_conf *cc,
		  int version, struct mc_daemon_verdict *v)
{
	struct mc_daemon_verdict sni;
	struct mc_daemon_conf c;
	size_t i;

	for (i = 0; i < cc->n_names; i++) {
		if (daemon_conf_read_lname(t, cc->names[i], version, &c, NULL) ==
		    -1)
			return;
		if (mc_daemon_judge(t, cc, &c, &sni, NULL) == 0 &&
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
	rc = mc_daemon_judge(t, cc, &c, v, err);
	if (rc == 0 && v->state != MC_DAEMON_READS && !c.tls_off &&
	    t->type == MC_TARGET_DOVECOT)
		judge_local_names(t, cc, c.dovecot_version, v);
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
