/*
 * store_index.c - the renew index: what `renew` needs of every cert's
 * current version in one file (state_dir/renew-index), so a run with
 * nothing due reads one file and stats each meta.json instead of reading
 * and parsing every one of them.
 *
 * It is a cache derived from meta.json, never the truth. Each entry
 * carries the identity of the meta.json it was made from (inode, size,
 * mtime in ns, of certs/NAME/current/meta.json, following `current`); an
 * entry is used only while that file is still the same, so any change -
 * a new version made current, a rollback, a meta.json rewritten by any
 * code or by hand - sends the reader back to meta.json for that cert. A
 * meta.json changed less than INDEX_FRESH seconds before the index is
 * written is left out (its mtime could still be shared by a second change
 * within the same clock tick). A missing index, another header, or a
 * line that does not parse: meta.json is read instead. A dual version
 * (two certificates, meta->second) has no entry: renew reads its
 * meta.json.
 *
 * An entry also records DIR_NS and VERSIONS_NS, the mtimes (ns) of
 * certs/NAME and certs/NAME/versions, and SETTLED (1 or 0): whether, when
 * they were taken, there was no journal.json (no interrupted deployment)
 * and no version above current (nothing stored and never made live). Any
 * journal, `current` or version made since changes one of these
 * directories, so while both still match (and meta.json's identity), a
 * cert without targets needs no convergence and no look for an unfinished
 * version (mc_store_index_settled): three stats instead of reading
 * `current`, the journal and versions/ (the third is of
 * versions/VERSION/meta.json by its own path: while certs/NAME is
 * unchanged, so is `current`). When a directory changed, the
 * entry is made again from meta.json (once); directories changed less
 * than INDEX_FRESH seconds before are left out, as meta.json is.
 *
 * Format (text, one parser: here): "mailcert-renew-index 3", then one line
 * per cert, sorted by name:
 *
 *   NAME INODE SIZE MTIME_NS DIR_NS VERSIONS_NS SETTLED VERSION KEY_TYPE
 *       NOT_BEFORE NOT_AFTER
 *       ARI_RENEW_AT ARI_NEXT_POLL STATUS ARI_CERT_ID REVOCATION_REASON
 *       DIRECTORY NAME...
 *
 * ("-" for an empty STATUS, ARI_CERT_ID, REVOCATION_REASON or DIRECTORY;
 * an index of another version is not read).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mailcert/buf.h"
#include "mailcert/crypto.h"
#include "mailcert/fsio.h"
#include "mailcert/pool.h"
#include "mailcert/store.h"

#define INDEX_FILE "renew-index"
#define INDEX_HEADER "mailcert-renew-index 3"
#define INDEX_MAX ((size_t)256 * 1024 * 1024)
#define INDEX_FIELDS 17 /* before the names */
#define INDEX_FRESH 2   /* seconds */
#define PROBE_CHUNK 256 /* certs a probe thread takes at a time */
#define PROBE_THREADS 4 /* at most */

/* What a probe found of an entry (ix->probe[i] for ix->lines[i]). */
enum {
	PROBE_NONE = 0, /* not probed: mc_store_index_settled stats */
	PROBE_SETTLED,  /* stamps all match, the entry says settled */
	PROBE_NOT,      /* not settled (or the entry is malformed) */
	PROBE_REDO,     /* its directories changed: made again this run */
};

struct index_stamp {
	unsigned long long ino;
	long long size;
	long long mtime_ns;
	long long dir_ns;  /* certs/NAME */
	long long vers_ns; /* certs/NAME/versions */
	bool settled;	   /* no journal, no version above current */
};

struct mc_store_index {
	char *state_dir;
	int certs_fd; /* state_dir/certs, or -1 */
	char *text;   /* the old index, lines cut in place */
	char **lines; /* its entries, sorted by name */
	size_t n;
	/* the next index: the old entries still true (kept[i] for lines[i],
	 * one byte each) and entries made anew this run (fresh, ours) */
	unsigned char *kept;
	char **fresh;
	size_t n_fresh, cap_fresh;
	bool stale; /* the file on disk is missing, refused or out of date */
	const char *proved; /* the entry mc_store_index_settled just proved */
	char *const *proved_hit; /* ... where it is in lines */
	struct mc_cert_meta proved_meta; /* ... parsed, for the next lookup */
	const char *redo;   /* an entry whose directories changed */
	unsigned char *probe; /* mc_store_index_probe's findings, or NULL */
};

/* index_namecmp - compare the names that start lines a and b (a name
 * ends at a blank or at the end: the shorter of two sorts first). */
static int
index_namecmp(const char *a, const char *b)
{
	unsigned ca, cb;

	for (;; a++, b++) {
		ca = *a == ' ' ? 0 : (unsigned char)*a;
		cb = *b == ' ' ? 0 : (unsigned char)*b;
		if (ca != cb)
			return ca < cb ? -1 : 1;
		if (ca == 0)
			return 0;
	}
}

/* index_rel - "NAME/TAIL" into rel (size bytes), a path below certs/;
 * 0, or -1 when it does not fit (then nothing is found). */
static int
index_rel(char *rel, size_t size, const char *name, const char *tail)
{
	size_t ln = strlen(name), lt = strlen(tail);

	if (ln + 1 + lt >= size)
		return -1;
	memcpy(rel, name, ln);
	rel[ln] = '/';
	memcpy(rel + ln + 1, tail, lt + 1);
	return 0;
}

/* index_qcmp - qsort/bsearch comparison of two line pointers. */
static int
index_qcmp(const void *a, const void *b)
{
	return index_namecmp(*(char *const *)a, *(char *const *)b);
}

/* index_split - cut the old index into sorted entries; 0 or -1. */
static int
index_split(struct mc_store_index *ix)
{
	char *p = ix->text, *nl, **l;
	size_t n = 0, cap = 0;

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
		if (n > 1 && index_namecmp(ix->lines[n - 2], p) >= 0)
			return -1; /* not sorted, or twice: not ours */
	}
	ix->n = n;
	return 0;
}

/* index_read - the old index of ix->state_dir into ix (stale if none). */
static void
index_read(struct mc_store_index *ix)
{
	char path[4200];
	struct mc_err err;
	size_t len;

	snprintf(path, sizeof(path), "%s/" INDEX_FILE, ix->state_dir);
	if (mc_fsio_read(path, INDEX_MAX, &ix->text, &len, &err) == -1 ||
	    index_split(ix) == -1 ||
	    (ix->kept = calloc(ix->n + 1, 1)) == NULL) {
		free(ix->lines);
		ix->lines = NULL;
		ix->n = 0;
		ix->stale = true;
	}
}

/* mc_store_index_open - the index of state_dir (see store.h). */
struct mc_store_index *
mc_store_index_open(const char *state_dir, struct mc_err *err)
{
	struct mc_store_index *ix = calloc(1, sizeof(*ix));
	char path[4200];

	if (ix == NULL || (ix->state_dir = strdup(state_dir)) == NULL) {
		free(ix);
		mc_err_set(err, MC_ERR_SYS, "out of memory");
		return NULL;
	}
	snprintf(path, sizeof(path), "%s/certs", state_dir);
	ix->certs_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	index_read(ix);
	return ix;
}

/* mc_store_index_close - free ix. */
void
mc_store_index_close(struct mc_store_index *ix)
{
	size_t i;

	if (ix == NULL)
		return;
	for (i = 0; i < ix->n_fresh; i++)
		free(ix->fresh[i]);
	free(ix->fresh);
	free(ix->kept);
	free(ix->probe);
	mc_store_meta_clear(&ix->proved_meta);
	if (ix->certs_fd != -1)
		close(ix->certs_fd);
	free(ix->text);
	free(ix->lines);
	free(ix->state_dir);
	free(ix);
}

/* index_file_stamp - the identity of the regular file certs/NAME/TAIL
 * (flags: of fstatat); 0 or -1. */
static int
index_file_stamp(const struct mc_store_index *ix, const char *name,
		 const char *tail, int flags, struct index_stamp *s)
{
	char rel[300];
	struct stat st;

	if (ix->certs_fd == -1 ||
	    index_rel(rel, sizeof(rel), name, tail) == -1 ||
	    fstatat(ix->certs_fd, rel, &st, flags) == -1 || !S_ISREG(st.st_mode))
		return -1;
	s->ino = (unsigned long long)st.st_ino;
	s->size = (long long)st.st_size;
	s->mtime_ns = (long long)st.st_mtim.tv_sec * 1000000000LL +
		      st.st_mtim.tv_nsec;
	return 0;
}

/* index_stamp - the identity of name's current meta.json; 0 or -1. */
static int
index_stamp(const struct mc_store_index *ix, const char *name,
	    struct index_stamp *s)
{
	return index_file_stamp(ix, name, "current/meta.json", 0, s);
}

/* index_dirs - the mtimes of certs/NAME and certs/NAME/versions into s;
 * 0 or -1. */
static int
index_dirs(const struct mc_store_index *ix, const char *name,
	   struct index_stamp *s)
{
	char rel[300];
	struct stat st;

	if (ix->certs_fd == -1 ||
	    fstatat(ix->certs_fd, name, &st, AT_SYMLINK_NOFOLLOW) == -1 ||
	    !S_ISDIR(st.st_mode))
		return -1;
	s->dir_ns = (long long)st.st_mtim.tv_sec * 1000000000LL +
		    st.st_mtim.tv_nsec;
	if (index_rel(rel, sizeof(rel), name, "versions") == -1 ||
	    fstatat(ix->certs_fd, rel, &st, AT_SYMLINK_NOFOLLOW) == -1 ||
	    !S_ISDIR(st.st_mode))
		return -1;
	s->vers_ns = (long long)st.st_mtim.tv_sec * 1000000000LL +
		     st.st_mtim.tv_nsec;
	return 0;
}

/* index_settle - after index_dirs: whether name has no journal.json and
 * no version above cur. */
static bool
index_settle(const struct mc_store_index *ix, const char *name, unsigned cur)
{
	char rel[300];
	struct stat st;
	unsigned max = 0;

	snprintf(rel, sizeof(rel), "%s/journal.json", name);
	if (fstatat(ix->certs_fd, rel, &st, AT_SYMLINK_NOFOLLOW) == 0 ||
	    errno != ENOENT)
		return false;
	return mc_store_max_version(ix->state_dir, name, &max, NULL) == 0 &&
	       max == cur;
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

/* index_digits - the decimal number >= 0 at s, up to the first byte
 * that is not a digit (*end); 0, or -1 when none or above LLONG_MAX.
 * (Not strtoll: no sign, no blank, no locale - twelve numbers a cert,
 * tens of thousands of certs: no overflow test per digit either, 19
 * digits fit in 64 bits unsigned.) */
static int
index_digits(const char *s, long long *out, const char **end)
{
	unsigned long long v = 0;
	size_t n;

	for (n = 0; s[n] >= '0' && s[n] <= '9'; n++)
		v = v * 10 + (unsigned)(s[n] - '0');
	if (n == 0 || n > 19 || v > (unsigned long long)LLONG_MAX)
		return -1;
	*out = (long long)v;
	*end = s + n;
	return 0;
}

/* index_num - a word that is a decimal number >= 0; 0 or -1. */
static int
index_num(const char *s, long long *out)
{
	const char *end;

	return s != NULL && index_digits(s, out, &end) == 0 && *end == '\0'
		       ? 0
		       : -1;
}

/* index_names - the remaining words of p into m->names. */
static int
index_names(char *p, struct mc_cert_meta *m)
{
	size_t n = 1, i;
	char *w;

	for (i = 0; p != NULL && p[i] != '\0'; i++)
		n += p[i] == ' ';
	m->names = calloc(n, sizeof(char *));
	if (m->names == NULL)
		return -1;
	while ((w = index_word(&p)) != NULL) {
		m->names[m->n_names] = strdup(w);
		if (m->names[m->n_names++] == NULL)
			return -1;
	}
	return m->n_names > 0 ? 0 : -1;
}

/* index_stamps - the identity fields and version of entry line (the
 * first 8 words; read in place, nothing allocated: probe threads share
 * the lines); 0 or -1. */
static int
index_stamps(const char *line, struct index_stamp *s, unsigned *version)
{
	const char *p = strchr(line, ' ');
	long long v[7];
	size_t i;

	for (i = 0; i < 7; i++) {
		if (p == NULL || *p != ' ' || index_digits(p + 1, &v[i], &p) == -1)
			return -1;
	}
	if (*p != ' ' || v[5] > 1 || v[6] <= 0 || v[6] > 9999)
		return -1;
	s->ino = (unsigned long long)v[0];
	s->size = v[1];
	s->mtime_ns = v[2];
	s->dir_ns = v[3];
	s->vers_ns = v[4];
	s->settled = v[5] == 1;
	*version = (unsigned)v[6];
	return 0;
}

/* index_parse - one entry (a copy in buf) into *s and *m; 0 or -1. */
static int
index_parse(char *buf, struct index_stamp *s, struct mc_cert_meta *m)
{
	char *p = buf, *w[INDEX_FIELDS];
	long long v[INDEX_FIELDS];
	enum mc_key_type kt;
	size_t i;

	if (index_stamps(buf, s, &m->version) == -1) /* words 1-7 */
		return -1;
	for (i = 0; i < INDEX_FIELDS; i++)
		if ((w[i] = index_word(&p)) == NULL)
			return -1;
	for (i = 9; i < 13; i++)
		if (index_num(w[i], &v[i]) == -1)
			return -1;
	if (mc_key_type_parse(w[8], &kt) == -1 ||
	    strlen(w[13]) >= sizeof(m->status) ||
	    strlen(w[15]) >= sizeof(m->revocation_reason))
		return -1;
	m->key_type = kt;
	m->not_before = (time_t)v[9];
	m->not_after = (time_t)v[10];
	m->ari_renew_at = (time_t)v[11];
	m->ari_next_poll = (time_t)v[12];
	/* lengths checked above: copies, not printf (one entry a cert) */
	if (strcmp(w[13], "-") != 0)
		memcpy(m->status, w[13], strlen(w[13]) + 1);
	if (strcmp(w[14], "-") != 0 && (m->ari_cert_id = strdup(w[14])) == NULL)
		return -1;
	if (strcmp(w[15], "-") != 0)
		memcpy(m->revocation_reason, w[15], strlen(w[15]) + 1);
	if (strcmp(w[16], "-") != 0 && (m->directory = strdup(w[16])) == NULL)
		return -1;
	return index_names(p, m);
}

/* index_keep - keep the old entry *hit (of ix->lines) in the next index. */
static void
index_keep(struct mc_store_index *ix, char *const *hit)
{
	ix->kept[hit - ix->lines] = 1;
}

/* index_keep_new - add a new entry (taken) to the next index; NULL: the
 * cert is left out (read from meta.json next time). */
static void
index_keep_new(struct mc_store_index *ix, char *line)
{
	char **f;
	size_t cap;

	ix->stale = true;
	if (line == NULL)
		return;
	if (ix->n_fresh == ix->cap_fresh) {
		cap = ix->cap_fresh ? ix->cap_fresh * 2 : 16;
		f = realloc(ix->fresh, cap * sizeof(*f));
		if (f == NULL) {
			free(line);
			return;
		}
		ix->fresh = f;
		ix->cap_fresh = cap;
	}
	ix->fresh[ix->n_fresh++] = line;
}

/* index_entry - parse the entry *hit (from a copy: the line is kept as
 * is) into *s and *m (cleared on failure); 0 or -1. */
static int
index_entry(char *const *hit, struct index_stamp *s, struct mc_cert_meta *m)
{
	char *copy, local[512];
	size_t len = strlen(*hit);
	int rc;

	copy = len < sizeof(local) ? memcpy(local, *hit, len + 1) : strdup(*hit);
	if (copy == NULL)
		return -1;
	rc = index_parse(copy, s, m);
	if (copy != local)
		free(copy);
	if (rc == -1)
		mc_store_meta_clear(m);
	return rc;
}

/* index_lookup - name's entry, when it still matches its meta.json: 1 and
 * *m, else 0 (no entry, changed, malformed). */
static int
index_lookup(struct mc_store_index *ix, const char *name,
	     struct mc_cert_meta *m)
{
	struct index_stamp want = {0}, have = {0};
	const char *kp = name;
	char *const *hit;

	if (ix->proved != NULL && index_namecmp(ix->proved, name) == 0)
		hit = ix->proved_hit; /* just asked: no search */
	else
		hit = ix->n ? bsearch(&kp, ix->lines, ix->n, sizeof(char *),
				      index_qcmp)
			    : NULL;
	if (hit == NULL || *hit == ix->redo)
		return 0;
	if (*hit == ix->proved) { /* stamped and parsed just now */
		*m = ix->proved_meta;
		memset(&ix->proved_meta, 0, sizeof(ix->proved_meta));
		ix->proved = NULL;
		index_keep(ix, hit);
		return 1;
	}
	if (index_entry(hit, &want, m) == 0 &&
	    index_stamp(ix, name, &have) == 0 && have.ino == want.ino &&
	    have.size == want.size && have.mtime_ns == want.mtime_ns) {
		index_keep(ix, hit);
		return 1;
	}
	mc_store_meta_clear(m);
	return 0;
}

/* index_token_ok - a word the format can hold (no blank, not empty). */
static bool
index_token_ok(const char *s)
{
	return s != NULL && s[0] != '\0' && strpbrk(s, " \t\r\n") == NULL;
}

/* index_line - the entry for name (new), or NULL when it cannot be one. */
static char *
index_line(const char *name, const struct index_stamp *s,
	   const struct mc_cert_meta *m)
{
	struct mc_buf b;
	size_t i;
	int bad;

	if (!index_token_ok(name) || m->n_names == 0 ||
	    m->second != NULL || /* dual: read from meta.json */
	    (m->status[0] != '\0' && !index_token_ok(m->status)) ||
	    (m->ari_cert_id != NULL && !index_token_ok(m->ari_cert_id)) ||
	    (m->revocation_reason[0] != '\0' &&
	     !index_token_ok(m->revocation_reason)) ||
	    (m->directory != NULL && !index_token_ok(m->directory)))
		return NULL;
	mc_buf_init(&b, 0);
	bad = mc_buf_appendf(&b, NULL,
			     "%s %llu %lld %lld %lld %lld %d %u %s %lld %lld %lld "
			     "%lld %s %s %s %s",
			     name, s->ino, s->size, s->mtime_ns, s->dir_ns,
			     s->vers_ns, s->settled ? 1 : 0, m->version,
			     mc_key_type_name(m->key_type),
			     (long long)m->not_before, (long long)m->not_after,
			     (long long)m->ari_renew_at,
			     (long long)m->ari_next_poll,
			     m->status[0] ? m->status : "-",
			     m->ari_cert_id ? m->ari_cert_id : "-",
			     m->revocation_reason[0] ? m->revocation_reason
						     : "-",
			     m->directory ? m->directory : "-");
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

/* mc_store_index_current - name's current version (see store.h). */
int
mc_store_index_current(struct mc_store_index *ix, const char *name,
		       struct mc_cert_meta *meta, struct mc_err *err)
{
	struct index_stamp s = {0};
	unsigned cur = 0;
	long long old;
	bool stamped;
	int rc;

	memset(meta, 0, sizeof(*meta));
	if (index_lookup(ix, name, meta) == 1)
		return 1;
	/* the identities first: a change after them shows as a mismatch */
	stamped = index_dirs(ix, name, &s) == 0 &&
		  index_stamp(ix, name, &s) == 0;
	rc = mc_store_current(ix->state_dir, name, &cur, err);
	if (rc == 1 &&
	    mc_store_load_meta(ix->state_dir, name, cur, meta, err) == -1)
		rc = -1;
	if (rc != 1)
		return rc;
	ix->stale = true; /* the old index lacked it or was out of date */
	old = (long long)time(NULL) - INDEX_FRESH;
	if (stamped && s.mtime_ns / 1000000000LL < old &&
	    s.dir_ns / 1000000000LL < old && s.vers_ns / 1000000000LL < old) {
		s.settled = index_settle(ix, name, meta->version);
		index_keep_new(ix, index_line(name, &s, meta));
	}
	return 1;
}

/* index_stamp_version - the identity of certs/NAME/versions/NNNN/meta.json
 * (version's own path, not through `current`); 0 or -1. */
static int
index_stamp_version(const struct mc_store_index *ix, const char *name,
		    unsigned version, struct index_stamp *s)
{
	char tail[] = "versions/NNNN/meta.json";
	unsigned v = version, i;

	for (i = 12; i >= 9; i--, v /= 10) /* %04u; version <= 9999 */
		tail[i] = (char)('0' + v % 10);
	return index_file_stamp(ix, name, tail, AT_SYMLINK_NOFOLLOW, s);
}

/* index_probe_one - the stats of the entry line of name: PROBE_SETTLED,
 * PROBE_NOT or PROBE_REDO. Reads ix only (probe threads run it at once).
 *
 * Why three stats, and which change each one notices (a no-op renew must
 * notice anything that would make it act, else it trusts the entry):
 *  - certs/NAME (its mtime, DIR_NS): `current` swapped (by us: a rename;
 *    by hand: ln -sfn, also a rename, or rm + ln), journal.json made or
 *    removed (an interrupted deployment or rollback to finish: a journal
 *    for a rollback or a repair changes nothing else), the cert's
 *    directory replaced (another directory has another mtime, and its
 *    versions/ too);
 *  - certs/NAME/versions (VERSIONS_NS): a version stored above current
 *    and never made live (a crash between the rename of .new-NNNN.PID and
 *    the swap of `current`, an import, a hand copy) - made in versions/
 *    only, so certs/NAME does not change; a staging directory left by a
 *    crash; a version removed by hand (rm -r versions/NNNN);
 *  - versions/VERSION/meta.json (inode, size, mtime in ns): the facts the
 *    decision reads (not_after, the ARI window, status): rewritten by a
 *    rename (another inode) or in place (another mtime), by us (an ARI
 *    poll, a revocation) or by hand - neither changes a directory above
 *    versions/VERSION.
 * None of them can stand in for another, so fewer stats would miss one
 * of these. `current` itself is not followed: while certs/NAME is
 * unchanged it names the version it named when the entry was made.
 * Directories changed less than INDEX_FRESH seconds before an entry was
 * made are never recorded (their mtime could be shared by a second change
 * in the same clock tick). */
static unsigned char
index_probe_one(const struct mc_store_index *ix, char *const *hit,
		const char *name)
{
	struct index_stamp want = {0}, have = {0};
	unsigned version = 0;

	if (index_stamps(*hit, &want, &version) == -1 ||
	    index_dirs(ix, name, &have) == -1)
		return PROBE_NOT;
	if (have.dir_ns != want.dir_ns || have.vers_ns != want.vers_ns)
		return PROBE_REDO;
	if (!want.settled ||
	    index_stamp_version(ix, name, version, &have) == -1 ||
	    have.ino != want.ino || have.size != want.size ||
	    have.mtime_ns != want.mtime_ns)
		return PROBE_NOT;
	return PROBE_SETTLED;
}

/* index_hit - name's entry in ix->lines, or NULL. */
static char *const *
index_hit(const struct mc_store_index *ix, const char *name)
{
	const char *kp = name;

	return ix->n ? bsearch(&kp, ix->lines, ix->n, sizeof(char *), index_qcmp)
		     : NULL;
}

/* mc_store_index_settled - whether name is settled (see store.h and
 * index_probe_one): from a probe taken before, or three stats now. */
bool
mc_store_index_settled(struct mc_store_index *ix, const char *name)
{
	struct index_stamp want = {0};
	struct mc_cert_meta *m = &ix->proved_meta;
	char *const *hit;
	unsigned char found;

	ix->proved = NULL;
	mc_store_meta_clear(m);
	hit = index_hit(ix, name);
	if (hit == NULL)
		return false;
	found = ix->probe != NULL ? ix->probe[hit - ix->lines] : PROBE_NONE;
	if (found != PROBE_NONE)
		ix->probe[hit - ix->lines] = PROBE_NONE; /* once: then stats */
	else
		found = index_probe_one(ix, hit, name);
	if (found == PROBE_REDO)
		ix->redo = *hit; /* made again from meta.json this run */
	if (found != PROBE_SETTLED || index_entry(hit, &want, m) == -1) {
		mc_store_meta_clear(m);
		return false;
	}
	ix->proved = *hit; /* its facts (m) go to the next lookup of name */
	ix->proved_hit = hit;
	return true;
}

struct probe_job {
	struct mc_store_index *ix;
	const char *const *names;
	size_t n;
};

/* probe_chunk - probe the names of chunk i (a pool item). Each entry's
 * byte is written by the one thread that found it (names are unique). */
static int
probe_chunk(void *arg, size_t i, struct mc_err *err)
{
	struct probe_job *job = arg;
	char *const *hit;
	size_t k, end = (i + 1) * PROBE_CHUNK;

	(void)err;
	for (k = i * PROBE_CHUNK; k < end && k < job->n; k++) {
		if (job->names[k] == NULL ||
		    (hit = index_hit(job->ix, job->names[k])) == NULL)
			continue;
		job->ix->probe[hit - job->ix->lines] =
		    index_probe_one(job->ix, hit, job->names[k]);
	}
	return 0;
}

/* mc_store_index_probe - take the stats of mc_store_index_settled for
 * many certs at once (see store.h). */
void
mc_store_index_probe(struct mc_store_index *ix, const char *const *names,
		     size_t n)
{
	struct probe_job job = {ix, names, n};
	size_t chunks = (n + PROBE_CHUNK - 1) / PROBE_CHUNK;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	size_t k = cpus > 1 ? (size_t)cpus : 1;

	if (ix->n == 0 || n < 2 * PROBE_CHUNK || ix->certs_fd == -1)
		return; /* a few stats each: not worth a thread */
	free(ix->probe);
	ix->probe = calloc(ix->n, 1);
	if (ix->probe == NULL)
		return;
	(void)mc_pool_run(chunks, k < PROBE_THREADS ? k : PROBE_THREADS,
			  probe_chunk, &job, NULL);
}

struct index_seq {
	const char *line;
	size_t seq; /* the order it was kept in */
};

/* index_seqcmp - by name, then by the order the entries were kept in. */
static int
index_seqcmp(const void *a, const void *b)
{
	const struct index_seq *x = a, *y = b;
	int c = index_namecmp(x->line, y->line);

	return c != 0 ? c : (x->seq > y->seq) - (x->seq < y->seq);
}

/* index_fresh_sorted - the new entries sorted by name, only the last
 * made of each name (read again after a change); new array of n. */
static const char **
index_fresh_sorted(const struct mc_store_index *ix, size_t *n)
{
	struct index_seq *v = malloc((ix->n_fresh + 1) * sizeof(*v));
	const char **out = malloc((ix->n_fresh + 1) * sizeof(*out));
	size_t i;

	*n = 0;
	if (v == NULL || out == NULL) {
		free(v);
		free(out);
		return NULL;
	}
	for (i = 0; i < ix->n_fresh; i++) {
		v[i].line = ix->fresh[i];
		v[i].seq = i;
	}
	qsort(v, ix->n_fresh, sizeof(*v), index_seqcmp);
	for (i = 0; i < ix->n_fresh; i++)
		if (i + 1 == ix->n_fresh ||
		    index_namecmp(v[i].line, v[i + 1].line) != 0)
			out[(*n)++] = v[i].line;
	free(v);
	return out;
}

/* index_put - one entry and its newline into b; 0 or -1. */
static int
index_put(struct mc_buf *b, const char *line)
{
	return mc_buf_append(b, line, strlen(line), NULL) == 0 &&
			       mc_buf_append(b, "\n", 1, NULL) == 0
		       ? 0
		       : -1;
}

/* index_text - header and entries sorted by name: the old entries kept
 * merged with the new ones; a new entry of a name replaces the old one
 * (it was read from meta.json after a change) (new string). */
static char *
index_text(const struct mc_store_index *ix, size_t *len)
{
	const char **f;
	struct mc_buf b;
	size_t nf, i = 0, k = 0;
	int bad, c;

	f = index_fresh_sorted(ix, &nf);
	if (f == NULL)
		return NULL;
	mc_buf_init(&b, 0);
	bad = mc_buf_appendf(&b, NULL, "%s\n", INDEX_HEADER);
	while (bad == 0 && (i < ix->n || k < nf)) {
		if (i < ix->n && !ix->kept[i]) {
			i++;
			continue;
		}
		c = i == ix->n ? 1 : k == nf ? -1
					      : index_namecmp(ix->lines[i], f[k]);
		if (c < 0)
			bad = index_put(&b, ix->lines[i++]);
		else {
			i += c == 0; /* replaced by the new entry */
			bad = index_put(&b, f[k++]);
		}
	}
	free(f);
	if (bad != 0) {
		mc_buf_free(&b);
		return NULL;
	}
	*len = b.len;
	return mc_buf_take(&b);
}

/* mc_store_index_save - write the next index when needed (see store.h). */
int
mc_store_index_save(struct mc_store_index *ix, bool complete,
		    struct mc_err *err)
{
	static const char *const base = INDEX_FILE;
	char path[4200], *text;
	size_t len = 0;
	int rc;

	if (!ix->stale || !complete)
		return 0;
	text = index_text(ix, &len);
	if (text == NULL)
		return mc_err_set(err, MC_ERR_SYS,
				  "cannot build the renew index");
	/* a run killed while writing it left a temporary file (we hold
	 * the lock: none is being written now) */
	(void)mc_fsio_remove_temps_at(AT_FDCWD, ix->state_dir, &base, 1, NULL,
				      NULL);
	snprintf(path, sizeof(path), "%s/" INDEX_FILE, ix->state_dir);
	rc = mc_fsio_write(path, text, len, 0600, MC_FSIO_KEEP_OWNER, false,
			   err);
	free(text);
	return rc;
}
