/*
 * certbot_conf.c - read a certbot renewal configuration (renewal/NAME.conf,
 * Python configobj syntax) with inih, the project's INI parser.
 *
 * What certbot writes is plain INI: top-level "key = value" lines (the
 * lineage's files), a [renewalparams] section, and nested sections such as
 * [[webroot_map]], which inih reads as a section named "[webroot_map" (we
 * drop the extra brackets). configobj extras handled here: surrounding
 * quotes on a value, and "a, b," lists (certbot_conf_first takes the first
 * item). inih reads lines into a buffer of INI_MAX_LINE (200 bytes in
 * Debian's build) and splits longer ones; so the reader hands inih each
 * physical line whole when it fits, and otherwise "key=\001N" with the
 * real value kept aside (entry N), which the handler puts back. A line
 * inih cannot parse is an error naming the file and line.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#include "mailcert/fsio.h"

#include "import/import_int.h"

#define CONF_MAX (256 * 1024)
#define LONG_MARK '\001'

struct reader {
	char *data;   /* the file; lines are cut in place */
	size_t pos, len;
	char **longs; /* values of lines too long for inih */
	size_t n_longs;
	struct certbot_conf *conf;
	bool oom;
};

/* conf_trim - s without surrounding blanks and one pair of quotes (in place). */
static char *
conf_trim(char *s)
{
	size_t n;

	while (isspace((unsigned char)*s))
		s++;
	n = strlen(s);
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	if (n >= 2 && (s[0] == '"' || s[0] == '\'') && s[n - 1] == s[0]) {
		s[n - 1] = '\0';
		s++;
	}
	return s;
}

/* conf_reader - inih's line source (see the header comment). */
static char *
conf_reader(char *buf, int size, void *user)
{
	struct reader *r = user;
	char *line, *eq, **grown;
	size_t n;

	if (r->pos >= r->len || size < 16)
		return NULL;
	line = r->data + r->pos;
	n = strcspn(line, "\n");
	line[n] = '\0';
	r->pos += n + 1;
	if (n + 2 <= (size_t)size || (eq = strchr(line, '=')) == NULL) {
		snprintf(buf, (size_t)size, "%s\n", line);
		return buf;
	}
	grown = realloc(r->longs, (r->n_longs + 1) * sizeof(*grown));
	if (grown == NULL || (grown[r->n_longs] = strdup(eq + 1)) == NULL) {
		r->oom = true;
		if (grown != NULL)
			r->longs = grown;
		return NULL;
	}
	r->longs = grown;
	snprintf(buf, (size_t)size, "%.*s=%c%zu\n",
		 (int)((size_t)(eq - line) < (size_t)size - 24 ? eq - line : size - 24),
		 line, LONG_MARK, r->n_longs++);
	return buf;
}

/* conf_handler - record one entry. */
static int
conf_handler(void *user, const char *section, const char *name, const char *value)
{
	struct reader *r = user;
	struct certbot_conf *c = r->conf;
	struct certbot_entry *e;
	char *v;

	if (value[0] == LONG_MARK)
		value = r->longs[strtoul(value + 1, NULL, 10)];
	e = realloc(c->entries, (c->n_entries + 1) * sizeof(*e));
	if (e == NULL)
		return 0;
	c->entries = e;
	e = &c->entries[c->n_entries];
	while (*section == '[')
		section++;
	e->section = strdup(section);
	e->key = strdup(name);
	v = strdup(value);
	e->value = v ? strdup(conf_trim(v)) : NULL;
	free(v);
	c->n_entries++;
	return e->section && e->key && e->value;
}

/* certbot_conf_read - parse path into *c (free with certbot_conf_free). */
int
certbot_conf_read(const char *path, struct certbot_conf *c, struct mc_err *err)
{
	struct reader r;
	size_t i;
	int rc;

	memset(c, 0, sizeof(*c));
	memset(&r, 0, sizeof(r));
	r.conf = c;
	if (mc_fsio_read(path, CONF_MAX, &r.data, &r.len, err) == -1)
		return -1;
	rc = ini_parse_stream(conf_reader, &r, conf_handler, &r);
	for (i = 0; i < r.n_longs; i++)
		free(r.longs[i]);
	free(r.longs);
	free(r.data);
	if (r.oom || rc < 0)
		rc = mc_err_set(err, MC_ERR_SYS, "%s: out of memory", path);
	else if (rc > 0)
		rc = mc_err_set(err, MC_ERR_INPUT, "%s:%d: not a certbot renewal "
				"configuration line", path, rc);
	if (rc != 0)
		certbot_conf_free(c);
	return rc == 0 ? 0 : -1;
}

/* certbot_conf_free - free the entries. */
void
certbot_conf_free(struct certbot_conf *c)
{
	size_t i;

	for (i = 0; i < c->n_entries; i++) {
		free(c->entries[i].section);
		free(c->entries[i].key);
		free(c->entries[i].value);
	}
	free(c->entries);
	memset(c, 0, sizeof(*c));
}

/* certbot_conf_get - the value of key in section ("" top level), or NULL. */
const char *
certbot_conf_get(const struct certbot_conf *c, const char *section, const char *key)
{
	size_t i;

	for (i = 0; i < c->n_entries; i++)
		if (strcmp(c->entries[i].section, section) == 0 &&
		    strcmp(c->entries[i].key, key) == 0)
			return c->entries[i].value[0] ? c->entries[i].value : NULL;
	return NULL;
}

/* certbot_conf_first - the first item of a configobj list value into buf
 * ("" when absent). */
const char *
certbot_conf_first(const struct certbot_conf *c, const char *section,
		   const char *key, char *buf, size_t size)
{
	const char *v = certbot_conf_get(c, section, key);
	size_t n;

	buf[0] = '\0';
	if (v == NULL)
		return buf;
	n = strcspn(v, ",");
	while (n > 0 && isspace((unsigned char)v[n - 1]))
		n--;
	snprintf(buf, size, "%.*s", (int)(n < size ? n : size - 1), v);
	return buf;
}
