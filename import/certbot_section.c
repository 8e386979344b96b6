/*
 * certbot_section.c - the [cert NAME] section proposed for a certbot
 * lineage, with targets suggested from what the daemons' configuration
 * reads (daemon.h, as `doctor` asks it).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mailcert/addr.h"
#include "mailcert/buf.h"
#include "mailcert/daemon.h"

#include "import/import_int.h"

static const char *const builtin[3] = {"postfix", "dovecot", "exim"};

/* daemons_keep - remember path as read by daemon i. */
static void
daemons_keep(struct import_daemons *d, size_t i, const char *path)
{
	if (d->n_files[i] < 16 && (d->files[i][d->n_files[i]] = strdup(path)) != NULL)
		d->n_files[i]++;
}

/* import_daemons_read - what the three built-in targets' daemons read. */
void
import_daemons_read(const struct mc_config *cfg, struct import_daemons *d)
{
	struct mc_daemon_conf c;
	size_t i, j;

	memset(d, 0, sizeof(*d));
	for (i = 0; i < 3; i++) {
		const struct mc_target *t = mc_config_target(cfg, builtin[i]);

		if (t == NULL || t->type == MC_TARGET_FILES ||
		    mc_daemon_conf_read(t, &c, NULL) == -1)
			continue;
		d->installed[i] = true;
		for (j = 0; j < c.n_chain_files; j++)
			daemons_keep(d, i, c.chain_files[j]);
		for (j = 0; j < c.n_pairs; j++) {
			daemons_keep(d, i, c.pairs[j].cert);
			daemons_keep(d, i, c.pairs[j].key);
		}
		mc_daemon_conf_clear(&c);
	}
}

/* import_daemons_free - free d's strings. */
void
import_daemons_free(struct import_daemons *d)
{
	size_t i, j;

	for (i = 0; i < 3; i++)
		for (j = 0; j < d->n_files[i]; j++)
			free(d->files[i][j]);
	memset(d, 0, sizeof(*d));
}

/* daemons_read_lineage - whether daemon i reads a file of lineage name. */
static bool
daemons_read_lineage(const struct import_daemons *d, size_t i, const char *dir,
		     const char *name)
{
	char live[4300], archive[4300];
	size_t j;

	snprintf(live, sizeof(live), "%s/live/%s/", dir, name);
	snprintf(archive, sizeof(archive), "%s/archive/%s/", dir, name);
	for (j = 0; j < d->n_files[i]; j++)
		if (strncmp(d->files[i][j], live, strlen(live)) == 0 ||
		    strncmp(d->files[i][j], archive, strlen(archive)) == 0)
			return true;
	return false;
}

/* section_targets - "targets = ..." from the daemons reading the lineage,
 * else a comment naming the installed ones. */
static void
section_targets(struct mc_buf *b, const struct import_daemons *d,
		const char *dir, const char *name)
{
	char reads[64] = "", installed[64] = "";
	size_t i;

	for (i = 0; i < 3; i++) {
		if (daemons_read_lineage(d, i, dir, name))
			snprintf(reads + strlen(reads), sizeof(reads) - strlen(reads),
				 " %s", builtin[i]);
		if (d->installed[i])
			snprintf(installed + strlen(installed),
				 sizeof(installed) - strlen(installed), " %s", builtin[i]);
	}
	if (reads[0] != '\0') {
		mc_buf_appendf(b, NULL, "; these daemons read certbot's files of this "
			      "lineage now; `mailcert doctor %s` gives the lines that "
			      "point them at mailcert's files\ntargets =%s\n", name, reads);
		return;
	}
	mc_buf_appendf(b, NULL, "; no daemon configuration reads this lineage; "
		      "choose its targets%s%s%s\n; targets = postfix dovecot exim\n",
		      installed[0] ? " (installed:" : "", installed,
		      installed[0] ? ")" : "");
}

/* section_executable - whether path is an executable regular file. */
static bool
section_executable(const char *path)
{
	struct stat st;

	return path[0] == '/' && stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
	       access(path, X_OK) == 0;
}

/* section_hooks - deploy_hook from renew_hook (certbot runs it through a
 * shell; mailcert runs one program without arguments). */
static void
section_hooks(struct mc_buf *b, const struct certbot_conf *c)
{
	const char *hook = certbot_conf_get(c, "renewalparams", "renew_hook");
	const char *pre = certbot_conf_get(c, "renewalparams", "pre_hook");
	const char *post = certbot_conf_get(c, "renewalparams", "post_hook");

	if (hook != NULL && section_executable(hook))
		mc_buf_appendf(b, NULL, "deploy_hook = %s\n", hook);
	else if (hook != NULL)
		mc_buf_appendf(b, NULL, "; certbot ran this deploy hook through a shell: "
			      "%.300s\n; put it in an executable script and set "
			      "deploy_hook = /path/to/script\n", hook);
	if (pre != NULL)
		mc_buf_appendf(b, NULL, "; certbot's pre_hook: %.300s (mailcert: "
			      "hooks_dir/pre.d/)\n", pre);
	if (post != NULL)
		mc_buf_appendf(b, NULL, "; certbot's post_hook: %.300s (mailcert: "
			      "hooks_dir/post.d/)\n", post);
}

/* section_listen - http_listen from certbot's standalone address and
 * port, checked by the parser the config loader uses (an address mailcert
 * cannot listen on becomes a comment and the default). */
static void
section_listen(struct mc_buf *b, const char *addr, const char *port)
{
	struct mc_listen_addr la;
	char spec[320];

	if (addr == NULL || addr[0] == '\0')
		addr = "0.0.0.0";
	snprintf(spec, sizeof(spec), strchr(addr, ':') != NULL ? "[%.200s]:%.20s"
								: "%.200s:%.20s",
		 addr, port != NULL && port[0] != '\0' ? port : "80");
	if (mc_addr_listen_parse(spec, &la, NULL) == -1) {
		mc_buf_appendf(b, NULL, "; certbot listened on %s, which is not "
			      "an address mailcert can listen on\n", spec);
		snprintf(spec, sizeof(spec), "0.0.0.0:80");
	}
	mc_buf_appendf(b, NULL, "challenge = http-01\nhttp_listen = %s\n", spec);
}

/* section_challenge - the challenge lines from certbot's authenticator. */
static void
section_challenge(struct mc_buf *b, const struct certbot_conf *c)
{
	const char *auth = certbot_conf_get(c, "renewalparams", "authenticator");
	const char *addr = certbot_conf_get(c, "renewalparams", "http01_address");
	const char *port = certbot_conf_get(c, "renewalparams", "http01_port");
	char root[4096];

	if (auth == NULL)
		auth = "(none)";
	if (strcmp(auth, "webroot") == 0) {
		certbot_conf_first(c, "renewalparams", "webroot_path", root, sizeof(root));
		mc_buf_appendf(b, NULL, "challenge = http-01\n%swebroot = %s\n",
			      root[0] ? "" : "; certbot's webroot is not recorded: ",
			      root[0] ? root : "/var/www/html");
	} else if (strcmp(auth, "standalone") == 0) {
		section_listen(b, addr, port);
	} else if (strncmp(auth, "dns", 3) == 0) {
		mc_buf_appendf(b, NULL, "; certbot used the %s plugin: write a dns_hook "
			      "script (HOOK add|del FQDN VALUE), then uncomment:\n"
			      "; challenge = dns-01\n; dns_hook = /etc/mailcert/dns-hook\n",
			      auth);
	} else {
		mc_buf_appendf(b, NULL, "; certbot's %s authenticator answered http-01; "
			      "set webroot = the web server's document root, or "
			      "http_listen\nchallenge = http-01\n", auth);
	}
}

/* import_section - the section text (new string). */
char *
import_section(const struct mc_config *cfg, const char *name,
	       const struct certbot_conf *c, char *const *names, size_t n_names,
	       enum mc_key_type type, const struct import_daemons *d, const char *dir)
{
	const char *reuse = certbot_conf_get(c, "renewalparams", "reuse_key");
	const char *server = certbot_conf_get(c, "renewalparams", "server");
	struct mc_buf b;
	size_t i;

	mc_buf_init(&b, 0);
	mc_buf_appendf(&b, NULL, "[cert %s]\n; imported from certbot: %s/renewal/%s.conf\n",
		      name, dir, name);
	if (server != NULL && strcmp(server, cfg->directory) != 0)
		mc_buf_appendf(&b, NULL, "; certbot renewed at %s, but [global] "
			      "directory is %s: set directory = %s to renew there\n",
			      server, cfg->directory, server);
	mc_buf_append(&b, "names =", 7, NULL);
	for (i = 0; i < n_names; i++)
		mc_buf_appendf(&b, NULL, " %s", names[i]);
	mc_buf_appendf(&b, NULL, "\nkey_type = %s\nreuse_key = %s\n",
		      mc_key_type_name(type),
		      reuse && strcasecmp(reuse, "true") == 0 ? "yes" : "no");
	section_challenge(&b, c);
	section_hooks(&b, c);
	section_targets(&b, d, dir, name);
	return mc_buf_take(&b);
}
