/*
 * daemon_conf.c - ask postconf, doveconf and exim -bP which TLS files the
 * daemon reads, and parse their answers (see include/mailcert/daemon.h).
 *
 * Every child runs through daemon_query(), the one place that starts a
 * configuration tool, so switching to another child runner or failure
 * summary is a change here only.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mailcert/daemon.h"
#include "mailcert/fsio.h"
#include "mailcert/proc.h"

#include "deploy/daemon_int.h"

#define QUERY_TIMEOUT 20     /* seconds for one configuration tool */
#define EXIM_CONF_MAX (4 * 1024 * 1024)
#define VALUE_MAX 4096

/* daemon_set - replace *slot with a copy of value (NULL or "" clears). */
static int
daemon_set(char **slot, const char *value, struct mc_err *err)
{
	free(*slot);
	*slot = NULL;
	if (value == NULL || value[0] == '\0')
		return 0;
	*slot = strdup(value);
	return *slot ? 0 : mc_err_errno(err, MC_ERR_SYS, "out of memory");
}

/* daemon_value - the value of setting name in the tool's "name = value"
 * lines, copied into buf ("" when absent); whether it was present. */
static bool
daemon_value(const char *text, const char *name, char *buf, size_t size)
{
	size_t nlen = strlen(name), vlen;
	const char *p = text, *v;

	buf[0] = '\0';
	for (; p != NULL && *p != '\0'; p = strchr(p, '\n'), p = p ? p + 1 : p) {
		if (strncmp(p, name, nlen) != 0)
			continue;
		v = p + nlen;
		v += strspn(v, " \t");
		if (*v != '=')
			continue;
		v++;
		v += strspn(v, " \t");
		vlen = strcspn(v, "\n");
		while (vlen > 0 && isspace((unsigned char)v[vlen - 1]))
			vlen--;
		snprintf(buf, size, "%.*s", (int)(vlen < size ? vlen : size - 1), v);
		return true;
	}
	return false;
}

/* daemon_split - split a list on any of seps into up to MC_DAEMON_FILES_MAX
 * new strings in out[]; returns the count or -1. */
static int
daemon_split(const char *list, const char *seps, char **out, struct mc_err *err)
{
	size_t n = 0, len;

	while (*list != '\0' && n < MC_DAEMON_FILES_MAX) {
		list += strspn(list, seps);
		list += strspn(list, " \t");
		len = strcspn(list, seps);
		while (len > 0 && isspace((unsigned char)list[len - 1]))
			len--;
		if (len == 0)
			break;
		out[n] = strndup(list, len);
		if (out[n] == NULL)
			return mc_err_errno(err, MC_ERR_SYS, "out of memory");
		n++;
		list += strcspn(list, seps);
	}
	return (int)n;
}

/* daemon_add_pair - append (cert, key) to conf's pairs. */
static int
daemon_add_pair(struct mc_daemon_conf *c, const char *cert, const char *key,
		struct mc_err *err)
{
	struct mc_daemon_pair *p;

	if (cert[0] == '\0' || c->n_pairs == MC_DAEMON_FILES_MAX)
		return 0;
	p = &c->pairs[c->n_pairs];
	p->cert = strdup(cert);
	p->key = strdup(key[0] != '\0' ? key : cert);
	c->n_pairs++;
	if (p->cert == NULL || p->key == NULL)
		return mc_err_errno(err, MC_ERR_SYS, "out of memory");
	return 0;
}

/* daemon_map_source - the source file of a Postfix map "type:/path" (the
 * file postmap reads), or "" for map types without one. */
static void
daemon_map_source(const char *map, char *buf, size_t size)
{
	static const char *const file_types[] = {"hash:", "lmdb:", "btree:",
						 "cdb:", "texthash:", "dbm:"};
	size_t i;

	buf[0] = '\0';
	for (i = 0; i < sizeof(file_types) / sizeof(file_types[0]); i++)
		if (strncmp(map, file_types[i], strlen(file_types[i])) == 0 &&
		    map[strlen(file_types[i])] == '/')
			snprintf(buf, size, "%s", map + strlen(file_types[i]));
}

/* parse_postfix - smtpd_tls_chain_files wins over the legacy cert/key pairs. */
static int
parse_postfix(const char *text, struct mc_daemon_conf *c, struct mc_err *err)
{
	char v[VALUE_MAX], k[VALUE_MAX], path[VALUE_MAX + 32];
	int n;

	daemon_value(text, "smtpd_tls_chain_files", v, sizeof(v));
	n = daemon_split(v, ", \t", c->chain_files, err);
	if (n < 0)
		return -1;
	c->n_chain_files = (size_t)n;
	if (n == 0) {
		daemon_value(text, "smtpd_tls_cert_file", v, sizeof(v));
		daemon_value(text, "smtpd_tls_key_file", k, sizeof(k));
		if (daemon_add_pair(c, v, k, err) == -1)
			return -1;
		daemon_value(text, "smtpd_tls_eccert_file", v, sizeof(v));
		daemon_value(text, "smtpd_tls_eckey_file", k, sizeof(k));
		if (daemon_add_pair(c, v, k, err) == -1)
			return -1;
	}
	daemon_value(text, "smtpd_tls_security_level", v, sizeof(v));
	daemon_value(text, "smtpd_use_tls", k, sizeof(k));
	c->tls_off = strcmp(v, "none") == 0 || (v[0] == '\0' && strcmp(k, "yes") != 0);
	if (c->tls_off &&
	    daemon_set(&c->tls_off_line, "smtpd_tls_security_level = may", err) == -1)
		return -1;
	daemon_value(text, "tls_server_sni_maps", v, sizeof(v));
	daemon_map_source(v, k, sizeof(k));
	if (daemon_set(&c->sni_map, k, err) == -1)
		return -1;
	if (!daemon_value(text, "queue_directory", v, sizeof(v)) || v[0] != '/')
		return 0;
	snprintf(path, sizeof(path), "%s/pid/master.pid", v);
	return daemon_set(&c->pid_file, path, err);
}

/* dovecot_file - a Dovecot 2.3 file value "<path" as a path; an inline
 * PEM value is recorded as unjudgeable. */
static int
dovecot_file(struct mc_daemon_conf *c, const char *name, char *v, size_t size,
	     struct mc_err *err)
{
	char why[256];

	if (v[0] == '<') {
		memmove(v, v + 1, strlen(v));
		return 0;
	}
	if (v[0] == '\0' || c->dovecot_version == 24)
		return 0;
	snprintf(why, sizeof(why), "%s holds the PEM text itself, not a file "
		 "name", name);
	v[0] = '\0';
	(void)size;
	return daemon_set(&c->unjudgeable, why, err);
}

/* parse_dovecot - 2.3 names (ssl_cert = <FILE) or 2.4 names (ssl_server_*_file). */
static int
parse_dovecot(const char *text, struct mc_daemon_conf *c, struct mc_err *err)
{
	static const char *const v23[] = {"ssl_cert", "ssl_key", "ssl_alt_cert",
					  "ssl_alt_key"};
	static const char *const v24[] = {"ssl_server_cert_file",
					  "ssl_server_key_file",
					  "ssl_server_alt_cert_file",
					  "ssl_server_alt_key_file"};
	const char *const *names = v23;
	char cert[VALUE_MAX], key[VALUE_MAX], path[VALUE_MAX + 32];
	int i;

	c->dovecot_version = daemon_value(text, "ssl_cert", cert, sizeof(cert)) ? 23 : 24;
	if (c->dovecot_version == 24)
		names = v24;
	for (i = 0; i < 4; i += 2) {
		daemon_value(text, names[i], cert, sizeof(cert));
		daemon_value(text, names[i + 1], key, sizeof(key));
		if (dovecot_file(c, names[i], cert, sizeof(cert), err) == -1 ||
		    dovecot_file(c, names[i + 1], key, sizeof(key), err) == -1 ||
		    daemon_add_pair(c, cert, key, err) == -1)
			return -1;
	}
	daemon_value(text, "ssl", cert, sizeof(cert));
	c->tls_off = strcmp(cert, "no") == 0;
	if (c->tls_off && daemon_set(&c->tls_off_line, "ssl = yes", err) == -1)
		return -1;
	if (!daemon_value(text, "base_dir", cert, sizeof(cert)) || cert[0] != '/')
		return 0;
	snprintf(path, sizeof(path), "%s/master.pid", cert);
	return daemon_set(&c->pid_file, path, err);
}

/* exim_list - split an Exim list (default separator ':', "<X" changes it,
 * "::" is a literal colon - not in paths we judge) into out[]. */
static int
exim_list(const char *list, char **out, struct mc_err *err)
{
	char seps[3] = {':', '\0', '\0'};

	list += strspn(list, " \t");
	if (list[0] == '<' && list[1] != '\0' && !isspace((unsigned char)list[1])) {
		seps[0] = list[1];
		list += 2;
	}
	return daemon_split(list, seps[0] == ':' ? ": \t" : seps, out, err);
}

/* parse_exim - tls_certificate / tls_privatekey lists, paired by position. */
static int
parse_exim(const char *text, struct mc_daemon_conf *c, struct mc_err *err)
{
	char v[VALUE_MAX], k[VALUE_MAX], *certs[MC_DAEMON_FILES_MAX] = {0};
	char *keys[MC_DAEMON_FILES_MAX] = {0};
	int nc, nk = 0, i, rc = -1;

	daemon_value(text, "tls_certificate", v, sizeof(v));
	daemon_value(text, "tls_privatekey", k, sizeof(k));
	if (strchr(v, '$') != NULL || strchr(k, '$') != NULL) {
		rc = daemon_set(&c->unjudgeable, "tls_certificate or tls_privatekey "
				"is an expansion (${...}); mailcert cannot tell which "
				"file Exim reads", err);
		goto tls;
	}
	nc = exim_list(v, certs, err);
	if (nc < 0 || (nk = exim_list(k, keys, err)) < 0)
		goto out;
	for (i = 0; i < nc; i++)
		if (daemon_add_pair(c, certs[i], i < nk ? keys[i] : "", err) == -1)
			goto out;
	rc = 0;
tls:
	daemon_value(text, "tls_advertise_hosts", v, sizeof(v));
	c->tls_off = v[0] == '\0';
	if (c->tls_off && daemon_set(&c->tls_off_line, "tls_advertise_hosts = *", err) == -1)
		rc = -1;
	if (rc == 0 && daemon_value(text, "pid_file_path", v, sizeof(v)) && v[0] == '/')
		rc = daemon_set(&c->pid_file, v, err);
out:
	for (i = 0; i < MC_DAEMON_FILES_MAX; i++) {
		free(certs[i]);
		free(keys[i]);
	}
	return rc;
}

/* mc_daemon_conf_clear - free what conf owns and zero it. */
void
mc_daemon_conf_clear(struct mc_daemon_conf *conf)
{
	size_t i;

	if (conf == NULL)
		return;
	for (i = 0; i < conf->n_chain_files; i++)
		free(conf->chain_files[i]);
	for (i = 0; i < conf->n_pairs; i++) {
		free(conf->pairs[i].cert);
		free(conf->pairs[i].key);
	}
	free(conf->tls_off_line);
	free(conf->pid_file);
	free(conf->sni_map);
	free(conf->where);
	free(conf->unjudgeable);
	memset(conf, 0, sizeof(*conf));
}

/* mc_daemon_parse - the tool's output for type into *out. */
int
mc_daemon_parse(enum mc_target_type type, const char *text, const char *where,
		struct mc_daemon_conf *out, struct mc_err *err)
{
	int rc;

	memset(out, 0, sizeof(*out));
	out->type = type;
	if (daemon_set(&out->where, where, err) == -1)
		return -1;
	switch (type) {
	case MC_TARGET_POSTFIX:
		rc = parse_postfix(text, out, err);
		break;
	case MC_TARGET_DOVECOT:
		rc = parse_dovecot(text, out, err);
		break;
	case MC_TARGET_EXIM:
		rc = parse_exim(text, out, err);
		break;
	default:
		rc = mc_err_set(err, MC_ERR_INPUT, "type files has no daemon "
				"configuration");
	}
	if (rc == -1)
		mc_daemon_conf_clear(out);
	return rc;
}

/* daemon_query - run one configuration tool; its stdout (new string) when
 * it exits 0, else an error quoting the first line it printed. */
static char *
daemon_query(const char *const *argv, struct mc_err *err)
{
	struct mc_proc_result res;
	char what[MC_PROC_EXCERPT_MAX + 128], *out = NULL;

	if (mc_proc_run(argv, NULL, QUERY_TIMEOUT, &res, err) == -1)
		return NULL;
	if (!mc_proc_failed(&res)) {
		out = res.out;
		res.out = NULL;
	} else {
		mc_proc_summary(&res, QUERY_TIMEOUT, what, sizeof(what));
		mc_err_set(err, MC_ERR_DEPLOY, "`%s` %s", argv[0], what);
	}
	mc_proc_result_clear(&res);
	return out;
}

/* query_postfix - postconf [-c DIR] -x NAMES. */
static char *
query_postfix(const char *dir, struct mc_err *err)
{
	const char *argv[16] = {"postconf"};
	static const char *const names[] = {
		"smtpd_tls_chain_files", "smtpd_tls_cert_file",
		"smtpd_tls_key_file", "smtpd_tls_eccert_file",
		"smtpd_tls_eckey_file", "smtpd_tls_security_level",
		"smtpd_use_tls", "tls_server_sni_maps", "queue_directory"};
	size_t n = 1, i;

	if (dir != NULL) {
		argv[n++] = "-c";
		argv[n++] = dir;
	}
	argv[n++] = "-x";
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		argv[n++] = names[i];
	return daemon_query(argv, err);
}

/* query_dovecot - doveconf [-c FILE] [-f FILTER] with the 2.3 and 2.4
 * names; when a Dovecot refuses names it does not know, the 2.4 ones.
 * FILTER is lname=NAME (2.3) or local_name=NAME (2.4): a local_name
 * block, the certificate a client asking for NAME by SNI gets. */
static char *
query_dovecot(const char *file, const char *filter, struct mc_err *err)
{
	const char *argv[24] = {"doveconf"};
	static const char *const names[] = {
		"base_dir", "ssl", "ssl_cert", "ssl_key", "ssl_alt_cert",
		"ssl_alt_key", "ssl_server_cert_file", "ssl_server_key_file",
		"ssl_server_alt_cert_file", "ssl_server_alt_key_file"};
	size_t n = 1, i, first;
	char *out;

	if (file != NULL) {
		argv[n++] = "-c";
		argv[n++] = file;
	}
	if (filter != NULL) {
		argv[n++] = "-f";
		argv[n++] = filter;
	}
	first = n;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		argv[n++] = names[i];
	out = daemon_query(argv, err);
	if (out != NULL || err == NULL || strstr(err->msg, "nknown setting") == NULL)
		return out;
	memmove(&argv[first + 2], &argv[first + 6], 5 * sizeof(argv[0]));
	return daemon_query(argv, err);
}

/* exim_binary - the exim_path of the configuration file, if it names an
 * executable; else exim4, then exim (resolved on the standard PATH). */
static void
exim_binary(const char *file, char *buf, size_t size)
{
	char *text = NULL, *p;
	size_t len = 0, n;

	snprintf(buf, size, "exim4");
	if (file == NULL || mc_fsio_read(file, EXIM_CONF_MAX, &text, &len, NULL) == -1)
		return;
	for (p = text; p != NULL; p = strchr(p, '\n'), p = p ? p + 1 : p) {
		p += strspn(p, " \t");
		if (strncmp(p, "exim_path", 9) != 0)
			continue;
		p += 9 + strspn(p + 9, " \t");
		if (*p != '=')
			continue;
		p += 1 + strspn(p + 1, " \t");
		n = strcspn(p, " \t\r\n");
		snprintf(buf, size, "%.*s", (int)(n < size ? n : size - 1), p);
		if (buf[0] != '/' || access(buf, X_OK) == -1)
			snprintf(buf, size, "exim4");
		break;
	}
	free(text);
}

/* query_exim - exim [-C FILE] -bP NAMES. */
static char *
query_exim(const char *file, struct mc_err *err)
{
	const char *argv[12];
	char bin[1024];
	size_t n = 0;
	char *out;

	exim_binary(file, bin, sizeof(bin));
	argv[n++] = bin;
	if (file != NULL) {
		argv[n++] = "-C";
		argv[n++] = file;
	}
	argv[n++] = "-bP";
	argv[n++] = "tls_certificate";
	argv[n++] = "tls_privatekey";
	argv[n++] = "tls_advertise_hosts";
	argv[n++] = "pid_file_path";
	argv[n] = NULL;
	out = daemon_query(argv, err);
	if (out == NULL && err->cat == MC_ERR_SYS && strcmp(bin, "exim4") == 0) {
		argv[0] = "exim";
		out = daemon_query(argv, err);
	}
	return out;
}

/* daemon_where - the file lines go in for t (new string). */
static char *
daemon_where(const struct mc_target *t, const char *text)
{
	char buf[4200];

	switch (t->type) {
	case MC_TARGET_POSTFIX:
		snprintf(buf, sizeof(buf), "%s/main.cf",
			 t->config ? t->config : "/etc/postfix");
		break;
	case MC_TARGET_DOVECOT:
		snprintf(buf, sizeof(buf), "%s",
			 t->config ? t->config : "/etc/dovecot/dovecot.conf");
		break;
	default:
		snprintf(buf, sizeof(buf), "%s",
			 t->config ? t->config : "the Exim configuration "
			 "(Debian: /etc/exim4/exim4.conf.localmacros as "
			 "MAIN_TLS_CERTIFICATE / MAIN_TLS_PRIVATEKEY)");
	}
	(void)text;
	return strdup(buf);
}

/* daemon_conf_query - run t's tool (for Dovecot with filter when set). */
static int
daemon_conf_query(const struct mc_target *t, const char *filter,
		  struct mc_daemon_conf *out, struct mc_err *err)
{
	char *text = NULL, *where = NULL;
	struct mc_err local;
	int rc = -1;

	if (err == NULL)
		err = &local;
	switch (t->type) {
	case MC_TARGET_POSTFIX:
		text = query_postfix(t->config, err);
		break;
	case MC_TARGET_DOVECOT:
		text = query_dovecot(t->config, filter, err);
		break;
	case MC_TARGET_EXIM:
		text = query_exim(t->config, err);
		break;
	default:
		return mc_err_set(err, MC_ERR_DEPLOY, "target %s: type files has "
				  "no daemon configuration", t->name);
	}
	if (text == NULL)
		return mc_err_prefix(err, "target %s: reading the daemon's "
				     "configuration", t->name);
	where = daemon_where(t, text);
	if (where == NULL)
		mc_err_errno(err, MC_ERR_SYS, "out of memory");
	else
		rc = mc_daemon_parse(t->type, text, where, out, err);
	free(where);
	free(text);
	return rc;
}

/* mc_daemon_conf_read - run the tool for target t and parse its output. */
int
mc_daemon_conf_read(const struct mc_target *t, struct mc_daemon_conf *out,
		    struct mc_err *err)
{
	return daemon_conf_query(t, NULL, out, err);
}

/* daemon_conf_read_lname - Dovecot's settings for local_name lname. */
int
daemon_conf_read_lname(const struct mc_target *t, const char *lname,
		       int version, struct mc_daemon_conf *out,
		       struct mc_err *err)
{
	char filter[300];

	snprintf(filter, sizeof(filter), "%s=%s",
		 version == 24 ? "local_name" : "lname", lname);
	return daemon_conf_query(t, filter, out, err);
}
