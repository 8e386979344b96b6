/*
 * import_int.h - shared by the files of import/.
 */
#ifndef MAILCERT_IMPORT_INT_H
#define MAILCERT_IMPORT_INT_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "mailcert/config.h"
#include "mailcert/err.h"
#include "mailcert/import.h"

struct certbot_entry {
	char *section; /* "" top level, "renewalparams", "webroot_map" */
	char *key;
	char *value;
};

/* A renewal/NAME.conf as read by certbot_conf_read(). */
struct certbot_conf {
	struct certbot_entry *entries;
	size_t n_entries;
};

/* certbot_conf_read - parse a renewal configuration (see certbot_conf.c). */
int certbot_conf_read(const char *path, struct certbot_conf *c, struct mc_err *err);

/* certbot_conf_free - free the entries of c. */
void certbot_conf_free(struct certbot_conf *c);

/* certbot_conf_get - value of key in section ("" top level), NULL if absent or empty. */
const char *certbot_conf_get(const struct certbot_conf *c, const char *section,
			     const char *key);

/* certbot_conf_first - the first item of a list value into buf ("" if absent). */
const char *certbot_conf_first(const struct certbot_conf *c, const char *section,
			       const char *key, char *buf, size_t size);

/* What the daemons' configuration reads, for target suggestions. */
struct import_daemons {
	bool installed[3];  /* postfix, dovecot, exim: configuration readable */
	char *files[3][16]; /* the files each reads */
	size_t n_files[3];
};

/* import_daemons_read - ask the built-in targets' daemons (daemon.h). */
void import_daemons_read(const struct mc_config *cfg, struct import_daemons *d);

/* import_daemons_free - free d's strings. */
void import_daemons_free(struct import_daemons *d);

/* import_section - the [cert NAME] section proposed for a lineage (new). */
char *import_section(const struct mc_config *cfg, const char *name,
		     const struct certbot_conf *c, char *const *names,
		     size_t n_names, enum mc_key_type type,
		     const struct import_daemons *d, const char *dir);

/* import_account - store the certbot account of server (account id) in
 * cfg's state; a line describing the result (new string). */
char *import_account(const struct mc_config *cfg, const char *dir,
		     const char *server, const char *account);

/* import_note_account - keep an account line (takes line; duplicates dropped). */
int import_note_account(struct mc_import_report *rep, char *line);

/* import_hooks - list (and with link, link) renewal-hooks into rep. */
int import_hooks(const struct mc_config *cfg, const char *dir, bool link,
		 struct mc_import_report *rep, struct mc_err *err);

#endif
