/*
 * store_index.c - the renew index: what `renew` needs of every cert's
 * current version, in one file (state_dir/renew-index), so a run with
 * nothing due reads one file instead of one meta.json per cert.
 *
 * It is a cache derived from meta.json, never the truth. Format (text,
 * one parser, here): a header line "mailcert-renew-index 1", then one
 * line per cert, sorted by name:
 *
 *   NAME VERSION KEY_TYPE NOT_BEFORE NOT_AFTER ARI_RENEW_AT ARI_NEXT_POLL
 *       STATUS ARI_CERT_ID NAME...
 *
 * ("-" for an empty STATUS or ARI_CERT_ID). Consistency: every change of
 * a version's meta.json or of `current` goes through mc_store_save_meta()
 * or mc_store_set_current(), which first remove the index (durably);
 * `renew` writes a new one, under the state lock, from what it read. An
 * index that is missing, has another header or a malformed line is not
 * used: the caller reads meta.json for that cert (and all others when
 * the whole file is refused).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mailcert/buf.h"
#include "mailcert/crypto.h"
#include "mailcert/fsio.h"
#include "mailcert/store.h"

#define INDEX_FILE "renew-index"
#define INDEX_HEADER "mailcert-renew-index 1"
#define INDEX_MAX ((size_t)256 * 1024 * 1024)
#define INDEX_FIELDS 9 /* before the names */

struct mc_store_index {
	char *text;   /* the file, lines cut in place */
	size_t len;
	char **lines; /* entries, sorted by name */
	size_t n;
};

/* index_path - "state_dir/renew-index" into buf. */
static void
index_path(const char *state_dir, char *buf, size_t size)
{
	snprintf(buf, size, "%s/" INDEX_FILE, state_dir);
}

/* index_namecmp - compare the names that start lines a and b. */
static int
index_namecmp(const char *a, const char *b)
{
	size_t la = strcspn(a, " "), lb = strcspn(b, " ");
	int c = memcmp(a, b, la < lb ? la : lb);

	return c != 0 ? c : (la > lb) - (la < lb);
}

/* index_qcmp - qsort/bsearch comparison of two line pointers. */
static int
index_qcmp(const void *a, const void *b)
{
	return index_namecmp(*(char *const *)a, *(char *const *)b);
}

/* index_split - cut text into lines after the header; 0 or -1. */
static int
index_split(struct mc_store_index *ix)
{
	char *p = ix->text, *nl;
	size_t n = 0, cap = 0;
	char **l;

	nl = strchr(p, '\n');
	if (nl == NULL || (size_t)(nl - p) != strlen(INDEX_HEADER) ||
	    strncmp(p, INDEX_HEADER, strlen(INDEX_HEADER)) != 0)
		return -1;
	for (p = nl + 1; *p != '\0'; p = nl + 1) {
		nl = strchr(p, '\n');
		if (nl == NULL)
			return -1; /* cut short */
		*nl = '\0';
		if (n == cap) {
			cap = cap ? cap * 2 : 256;
			l = realloc(ix->lines, cap * sizeof(*l));
			if (l == NULL)
				return -1;
			ix->lines = l;
		}
		ix->lines[n++] = p;
	}
	ix->n = n;
	for (n = 1; n < ix->n; n++)
		if (index_namecmp(ix->lines[n - 1], ix->lines[n]) >= 0)
			return -1; /* not written by us */
	return 0;
}

/* mc_store_index_load - the index of state_dir, or NULL (absent, refused). */
struct mc_store_index *
mc_store_index_load(const char *state_dir)
{
	struct mc_store_index *ix = calloc(1, sizeof(*ix));
	char path[4200];
	struct mc_err err;

	if (ix == NULL)
		return NULL;
	index_path(state_dir, path, sizeof(path));
	if (mc_fsio_read(path, INDEX_MAX, &ix->text, &ix->len, &err) == -1 ||
	    index_split(ix) == -1) {
		mc_store_index_free(ix);
		return NULL;
	}
	return ix;
}

/* mc_store_index_free - free an index; NULL is a no-op. */
void
mc_store_index_free(struct mc_store_index *ix)
{
	if (ix == NULL)
		return;
	free(ix->text);
	free(ix->lines);
	free(ix);
}

/* index_word - the next space-separated word of *p (cut in place). */
static char *
index_word(char **p)
{
	char *w = *p, *e;

	if (w == NULL || *w == '\0')
		return NULL;
	e = strchr(w, ' ');
	if (e != NULL)
		*e++ = '\0';
	*p = e;
	return w;
}

/* index_num - a decimal number >= 0; 0 or -1. */
static int
index_num(const char *s, long long *out)
{
	char *end;

	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	*out = strtoll(s, &end, 10);
	return errno == 0 && *end == '\0' ? 0 : -1;
}

/* index_names - the remaining words of p into m->names. */
static int
index_names(char *p, struct mc_cert_meta *m)
{
	size_t n = 0, i;
	char *w;

	for (i = 0; p[i] != '\0'; i++)
		n += p[i] == ' ';
	m->names = calloc(n + 1, sizeof(char *));
	if (m->names == NULL)
		return -1;
	while ((w = index_word(&p)) != NULL) {
		m->names[m->n_names] = strdup(w);
		if (m->names[m->n_names++] == NULL)
			return -1;
	}
	return m->n_names > 0 ? 0 : -1;
}

/* index_parse - one entry (a copy of it in buf) into *m. */
static int
index_parse(char *buf, struct mc_cert_meta *m)
{
	char *p = buf, *w[INDEX_FIELDS];
	long long v[INDEX_FIELDS];
	enum mc_key_type kt;
	size_t i;

	for (i = 0; i < INDEX_FIELDS; i++)
		if ((w[i] = index_word(&p)) == NULL)
			return -1;
	for (i = 3; i < 7; i++)
		if (index_num(w[i], &v[i]) == -1)
			return -1;
	if (index_num(w[1], &v[1]) == -1 || v[1] <= 0 || v[1] > 9999 ||
	    mc_key_type_parse(w[2], &kt) == -1 || strlen(w[7]) >= sizeof(m->status) ||
	    p == NULL)
		return -1;
	m->version = (unsigned)v[1];
	m->key_type = kt;
	m->not_before = (time_t)v[3];
	m->not_after = (time_t)v[4];
	m->ari_renew_at = (time_t)v[5];
	m->ari_next_poll = (time_t)v[6];
	if (strcmp(w[7], "-") != 0)
		snprintf(m->status, sizeof(m->status), "%s", w[7]);
	if (strcmp(w[8], "-") != 0 && (m->ari_cert_id = strdup(w[8])) == NULL)
		return -1;
	return index_names(p, m);
}

/* mc_store_index_get - the entry of name: 1 found, 0 none, -1 malformed. */
int
mc_store_index_get(const struct mc_store_index *ix, const char *name,
		   struct mc_cert_meta *meta, const char **line)
{
	struct mc_cert_meta m;
	char *const *hit;
	char key[80], *copy;
	int rc;

	if (ix == NULL || ix->n == 0)
		return 0;
	snprintf(key, sizeof(key), "%s", name);
	copy = key;
	hit = bsearch(&copy, ix->lines, ix->n, sizeof(char *), index_qcmp);
	if (hit == NULL)
		return 0;
	copy = strdup(*hit);
	if (copy == NULL)
		return -1;
	memset(&m, 0, sizeof(m));
	rc = index_parse(copy, &m);
	free(copy);
	if (rc == -1) {
		mc_store_meta_clear(&m);
		return -1;
	}
	*meta = m;
	if (line != NULL)
		*line = *hit;
	return 1;
}

/* index_token_ok - a word the format can hold (no blank, not empty). */
static bool
index_token_ok(const char *s)
{
	return s != NULL && s[0] != '\0' && strpbrk(s, " \t\r\n") == NULL;
}

/* mc_store_index_line - the entry for name's current version (new). */
char *
mc_store_index_line(const char *name, const struct mc_cert_meta *m)
{
	struct mc_buf b;
	size_t i;
	int bad;

	if (!index_token_ok(name) || m->n_names == 0 ||
	    (m->status[0] != '\0' && !index_token_ok(m->status)) ||
	    (m->ari_cert_id != NULL && !index_token_ok(m->ari_cert_id)))
		return NULL;
	mc_buf_init(&b, 0);
	bad = mc_buf_appendf(&b, NULL, "%s %u %s %lld %lld %lld %lld %s %s", name,
			     m->version, mc_key_type_name(m->key_type),
			     (long long)m->not_before, (long long)m->not_after,
			     (long long)m->ari_renew_at,
			     (long long)m->ari_next_poll,
			     m->status[0] ? m->status : "-",
			     m->ari_cert_id ? m->ari_cert_id : "-");
	for (i = 0; bad == 0 && i < m->n_names; i++)
		bad = index_token_ok(m->names[i])
			      ? mc_buf_appendf(&b, NULL, " %s", m->names[i])
			      : -1;
	if (bad != 0) {
		mc_buf_free(&b);
		return NULL;
	}
	return mc_buf_take(&b);
}

/* index_text - the header and the sorted lines (new string). */
static char *
index_text(char **lines, size_t n, size_t *len)
{
	struct mc_buf b;
	size_t i;

	qsort(lines, n, sizeof(char *), index_qcmp);
	mc_buf_init(&b, 0);
	if (mc_buf_appendf(&b, NULL, "%s\n", INDEX_HEADER) == -1)
		goto fail;
	for (i = 0; i < n; i++) {
		if (i > 0 && index_namecmp(lines[i - 1], lines[i]) == 0)
			goto fail; /* one entry per name */
		if (mc_buf_append(&b, lines[i], strlen(lines[i]), NULL) == -1 ||
		    mc_buf_append(&b, "\n", 1, NULL) == -1)
			goto fail;
	}
	*len = b.len;
	return mc_buf_take(&b);
fail:
	mc_buf_free(&b);
	return NULL;
}

/* mc_store_index_save - write the index of these entries atomically. */
int
mc_store_index_save(const char *state_dir, char **lines, size_t n,
		    struct mc_err *err)
{
	char path[4200], *text;
	size_t len = 0;
	int rc;

	text = index_text(lines, n, &len);
	if (text == NULL)
		return mc_err_set(err, MC_ERR_SYS,
				  "cannot build the renew index");
	index_path(state_dir, path, sizeof(path));
	rc = mc_fsio_write(path, text, len, 0600, MC_FSIO_KEEP_OWNER, false,
			   err);
	free(text);
	return rc;
}

/* mc_store_index_drop - remove the index, durably, before a change. */
int
mc_store_index_drop(const char *state_dir, struct mc_err *err)
{
	char path[4200];

	index_path(state_dir, path, sizeof(path));
	if (unlink(path) == -1)
		return errno == ENOENT
			       ? 0
			       : mc_err_errno(err, MC_ERR_SYS,
					      "cannot remove %s", path);
	return mc_fsio_fsync_dir(state_dir, err);
}
