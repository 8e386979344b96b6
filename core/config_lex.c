/*
 * config_lex.c - read the configuration file into raw sections with inih.
 *
 * Why a custom reader around ini_parse_stream(): inih (Debian's r55) does
 * not give the handler line numbers (INI_HANDLER_LINENO is 0), keeps
 * section names in a 50-byte buffer, never reports a section without
 * keys, and reads lines into a 200-byte buffer, splitting longer lines
 * into several "lines" (which shifts every later line number). So inih
 * reads from lex_reader(), which owns the physical lines:
 *
 *  - it counts physical lines; inih calls the handler for a line before it
 *    asks the reader for the next one, so lx->lineno is the line of every
 *    handler call and of every error;
 *  - it parses "[...]" headers itself (any length, empty sections too) and
 *    hands inih a placeholder "[s]" so inih still resets its previous key;
 *  - it strips inline comments exactly as inih would (';' after blank) and
 *    cuts values longer than inih's buffer into pieces - at a blank where
 *    it can, else inside a word (a 253-byte DNS name, a long path) -
 *    handing inih the first piece as "key=piece" and the rest as indented
 *    continuation lines, which inih (INI_ALLOW_MULTILINE, the default)
 *    passes to the handler under the same key; the handler joins them
 *    with one space, or with nothing after a cut inside a word (runs of
 *    blanks at a cut shrink to one). Indented lines the user writes below
 *    a key continue it the same way, so long "names" lists may span
 *    lines; an indented "key = value" is a key, not a continuation.
 *  - an error in a value spread over several lines names the key's line.
 *
 * The piece size comes from the buffer size inih passes to the reader, so
 * this works whatever INI_MAX_LINE the library was built with. If inih
 * were built without multi-line support it would reject a continuation
 * and ini_parse_stream() would return that line, reported as an error.
 *
 * The handler only records (key, value, line) after rejecting unknown and
 * duplicate keys; values are checked later by config.c. The first error
 * stops the reader (it returns NULL, i.e. end of file).
 *
 * config_lex_file() reads one file into the raw sections; config_files.c
 * reads the main file and its includes. Section names are kept in a hash
 * table (raw->idx), so finding a duplicate header costs the same for the
 * 1st and the 50,000th section, whatever file each is in.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ini.h>
#include <openssl/crypto.h>

#include "mailcert/config.h"

#include "core/config_int.h"

#define LEX_MAX_FILE (1024 * 1024)
#define LEX_MAX_KEY 64
#define LEX_SHOW 80 /* how much of a bad header an error quotes */

struct lex {
	struct cfg_ctx ctx;
	int dirfd;       /* rel is opened below it (AT_FDCWD: rel is the path) */
	const char *rel;
	char *data; /* the whole file, NUL-terminated; lines are cut in place */
	size_t len;
	size_t pos;
	int lineno;
	const char *key; /* key of the last key line (in data) */
	char *rest;      /* value text of this line not yet handed to inih */
	bool cont;       /* the text handed to inih continues the last entry */
	bool glue;       /* ... and joins it without a space (a word was cut) */
	bool hard_cut;   /* the last piece ended inside a word */
	bool have_key;   /* inih has a previous key in this section */
	bool failed;
	struct cfg_raw *raw;
	size_t first_sec; /* sections before this file */
};

/* lex_fail - record the first error at the current line; returns NULL. */
static char *
lex_fail(struct lex *lx, const char *what, const char *msg)
{
	lx->failed = true;
	if (what == NULL)
		mc_err_set(lx->ctx.err, MC_ERR_CONFIG, "%s:%d: %s", lx->ctx.path,
		    lx->lineno, msg);
	else
		config_fail(&lx->ctx, lx->lineno, what, "%s", msg);
	return NULL;
}

/* lex_lskip - the first non-blank character of s. */
static char *
lex_lskip(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

/* lex_rtrim - cut trailing blanks (and CR) off s. */
static void
lex_rtrim(char *s)
{
	size_t n = strlen(s);

	while (n > 0 && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
}

/* lex_strip_comment - cut an inline comment (';' after a blank) as inih does. */
static void
lex_strip_comment(char *s)
{
	bool was_space = false;

	for (; *s != '\0'; s++) {
		if (was_space && *s == ';') {
			*s = '\0';
			return;
		}
		was_space = isspace((unsigned char)*s) != 0;
	}
}

/* lex_check_nul - refuse a file with a NUL byte, naming its line. */
static int
lex_check_nul(struct lex *lx)
{
	const char *nul = memchr(lx->data, '\0', lx->len), *p;
	int line = 1;

	if (nul == NULL)
		return 0;
	for (p = lx->data; p < nul; p++)
		if (*p == '\n')
			line++;
	return mc_err_set(lx->ctx.err, MC_ERR_CONFIG,
	    "%s:%d: NUL byte in the line; the file must be text", lx->ctx.path, line);
}

/* lex_buf - make room for at least want bytes in raw's read buffer
 * (kept from file to file: tens of thousands of small included files
 * then cost no allocation each); 0 or -1. */
static int
lex_buf(struct lex *lx, size_t want)
{
	struct cfg_raw *raw = lx->raw;
	size_t cap = raw->cap ? raw->cap : 16384;
	char *p;

	if (want <= raw->cap)
		return 0;
	while (cap < want)
		cap *= 2;
	p = malloc(cap);
	if (p == NULL)
		return mc_err_set(lx->ctx.err, MC_ERR_SYS, "out of memory");
	if (raw->buf != NULL) {
		memcpy(p, raw->buf, lx->len);
		OPENSSL_clear_free(raw->buf, raw->cap);
	}
	raw->buf = p;
	raw->cap = cap;
	lx->data = p;
	return 0;
}

/* lex_too_big - the error for what is not a regular file of at most
 * LEX_MAX_FILE bytes. */
static int
lex_too_big(struct lex *lx)
{
	return mc_err_set(lx->ctx.err, MC_ERR_CONFIG,
	    "%s: not a regular file of at most %d bytes", lx->ctx.path,
	    LEX_MAX_FILE);
}

/* lex_read_fd - read fd to its end into the buffer (at most LEX_MAX_FILE
 * bytes, NUL-terminated): one read for a small file, and the read that
 * returns 0. */
static int
lex_read_fd(struct lex *lx, int fd, size_t hint)
{
	ssize_t n;

	if (lex_buf(lx, hint + 2) == -1)
		return -1;
	lx->data = lx->raw->buf;
	for (;;) {
		if (lx->len + 1 == lx->raw->cap &&
		    lex_buf(lx, lx->raw->cap * 2) == -1)
			return -1;
		n = read(fd, lx->data + lx->len, lx->raw->cap - 1 - lx->len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return mc_err_errno(lx->ctx.err, MC_ERR_CONFIG,
			    "%s: cannot read", lx->ctx.path);
		if (n == 0)
			break;
		lx->len += (size_t)n;
		if (lx->len > LEX_MAX_FILE)
			return lex_too_big(lx);
	}
	lx->data[lx->len] = '\0';
	return 0;
}

/* lex_read_file - read the whole file (regular, at most LEX_MAX_FILE
 * bytes) into raw's buffer; without an fstat when regular says the
 * directory gave its type (a file swapped for a FIFO meanwhile reads
 * empty: O_NONBLOCK; a device is refused by the size cap). */
static int
lex_read_file(struct lex *lx, bool regular)
{
	struct stat st;
	size_t hint = 0;
	int fd, ret = -1;

	/* O_NONBLOCK: a FIFO must be refused below, not waited on */
	fd = openat(lx->dirfd, lx->rel, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd == -1)
		return mc_err_errno(lx->ctx.err, MC_ERR_CONFIG, "%s: cannot open",
		    lx->ctx.path);
	if (!regular) {
		if (fstat(fd, &st) == -1) {
			mc_err_errno(lx->ctx.err, MC_ERR_CONFIG, "%s: cannot stat",
			    lx->ctx.path);
			goto out;
		}
		if (!S_ISREG(st.st_mode) || st.st_size > LEX_MAX_FILE) {
			lex_too_big(lx);
			goto out;
		}
		hint = (size_t)st.st_size;
	}
	if (lex_read_fd(lx, fd, hint) == 0)
		ret = lex_check_nul(lx);
out:
	close(fd);
	return ret;
}

/* lex_next_line - cut the next physical line out of data, or NULL at the end. */
static char *
lex_next_line(struct lex *lx)
{
	char *line, *nl;

	if (lx->pos >= lx->len)
		return NULL;
	line = lx->data + lx->pos;
	nl = memchr(line, '\n', lx->len - lx->pos);
	if (nl != NULL) {
		*nl = '\0';
		lx->pos = (size_t)(nl - lx->data) + 1;
	} else {
		lx->pos = lx->len;
	}
	lx->lineno++;
	/* the line is NUL-terminated: strncmp stops there, memcmp would not */
	if (lx->lineno == 1 && strncmp(line, "\xEF\xBB\xBF", 3) == 0)
		line += 3;
	lex_rtrim(line);
	return line;
}

/* lex_check_chars - refuse control characters (except tab) on a line. */
static int
lex_check_chars(struct lex *lx, const char *line)
{
	size_t i;

	for (i = 0; line[i] != '\0'; i++) {
		unsigned char c = (unsigned char)line[i];

		if ((c < 0x20 && c != '\t') || c == 0x7f) {
			lex_fail(lx, NULL, "control character in the line; remove it");
			return -1;
		}
	}
	return 0;
}

/* lex_put - write prefix + text[0..len) + "\n" into inih's buffer. */
static char *
lex_put(char *str, int num, const char *prefix, const char *text, size_t len)
{
	size_t plen = strlen(prefix);

	if (plen + len + 2 > (size_t)num)
		abort(); /* callers size the pieces to fit */
	memcpy(str, prefix, plen);
	memcpy(str + plen, text, len);
	str[plen + len] = '\n';
	str[plen + len + 1] = '\0';
	return str;
}

/* lex_split_point - where to cut text to at most room bytes, at a blank if
 * possible; *hard says the cut splits a word (the pieces join without a space). */
static size_t
lex_split_point(const char *text, size_t room, bool *hard)
{
	size_t i;

	*hard = false;
	for (i = room; i > 0; i--) {
		if (!isspace((unsigned char)text[i]))
			continue;
		/* inih would take a piece starting with ';' or '#' for a comment */
		if (text[i + 1] == ';' || text[i + 1] == '#' || isspace((unsigned char)text[i + 1]))
			continue;
		return i;
	}
	*hard = true;
	for (i = room; i > 1 && (text[i] == ';' || text[i] == '#'); i--)
		;
	return i;
}

/* lex_piece - hand inih the next piece of lx->rest behind prefix. */
static char *
lex_piece(struct lex *lx, char *str, int num, const char *prefix)
{
	size_t room, len, cut;
	char *text = lx->rest;
	bool hard;

	if ((size_t)num < strlen(prefix) + 16)
		return lex_fail(lx, lx->key, "key too long for inih's line buffer");
	room = (size_t)num - 3 - strlen(prefix);
	len = strlen(text);
	lx->glue = lx->hard_cut;
	lx->hard_cut = false;
	if (len <= room) {
		lx->rest = NULL;
		return lex_put(str, num, prefix, text, len);
	}
	cut = lex_split_point(text, room, &hard);
	lx->hard_cut = hard;
	lx->rest = hard ? text + cut : lex_lskip(text + cut);
	return lex_put(str, num, prefix, text, cut);
}

/* lex_hash - FNV-1a of kind and name. */
static uint64_t
lex_hash(enum cfg_kind kind, const char *name)
{
	uint64_t h = 1469598103934665603ULL ^ (uint64_t)kind;

	for (; name != NULL && *name != '\0'; name++) {
		h ^= (unsigned char)*name;
		h *= 1099511628211ULL;
	}
	return h;
}

/* lex_same - whether section s is of kind and name. */
static bool
lex_same(const struct cfg_section *s, enum cfg_kind kind, const char *name)
{
	if (s->kind != kind)
		return false;
	return name == NULL ? s->name == NULL
	                    : s->name != NULL && strcmp(s->name, name) == 0;
}

/* lex_section_find - index+1 of the section of kind and name, or 0. */
static size_t
lex_section_find(const struct lex *lx, enum cfg_kind kind, const char *name)
{
	const struct cfg_index *ix = &lx->raw->idx;
	size_t i;

	if (ix->cap == 0)
		return 0;
	for (i = lex_hash(kind, name) & (ix->cap - 1); ix->slots[i] != 0;
	     i = (i + 1) & (ix->cap - 1))
		if (lex_same(&lx->raw->secs[ix->slots[i] - 1], kind, name))
			return ix->slots[i];
	return 0;
}

/* lex_index_put - record section number n (index+1) in ix. */
static void
lex_index_put(struct cfg_index *ix, const struct cfg_section *s, size_t n)
{
	size_t i = lex_hash(s->kind, s->name) & (ix->cap - 1);

	while (ix->slots[i] != 0)
		i = (i + 1) & (ix->cap - 1);
	ix->slots[i] = n;
	ix->used++;
}

/* lex_index_add - index the last section of raw, growing at half full. */
static int
lex_index_add(struct lex *lx)
{
	struct cfg_index *ix = &lx->raw->idx, grown = { NULL, 0, 0 };
	size_t i;

	if ((ix->used + 1) * 2 > ix->cap) {
		grown.cap = ix->cap ? ix->cap * 2 : 64;
		grown.slots = calloc(grown.cap, sizeof(*grown.slots));
		if (grown.slots == NULL)
			return mc_err_set(lx->ctx.err, MC_ERR_SYS, "out of memory");
		for (i = 0; i + 1 < lx->raw->n_secs; i++)
			lex_index_put(&grown, &lx->raw->secs[i], i + 1);
		free(ix->slots);
		*ix = grown;
	}
	lex_index_put(ix, &lx->raw->secs[lx->raw->n_secs - 1], lx->raw->n_secs);
	return 0;
}

/* lex_section_add - append a section of kind and name (copied) at this line. */
static int
lex_section_add(struct lex *lx, enum cfg_kind kind, const char *name)
{
	struct cfg_raw *raw = lx->raw;
	struct cfg_section *secs, *s;

	if (raw->n_secs == raw->cap_secs) {
		secs = realloc(raw->secs, (raw->cap_secs ? raw->cap_secs * 2 : 16) *
		    sizeof(*secs));
		if (secs == NULL)
			return mc_err_set(lx->ctx.err, MC_ERR_SYS, "out of memory");
		raw->secs = secs;
		raw->cap_secs = raw->cap_secs ? raw->cap_secs * 2 : 16;
	}
	secs = raw->secs;
	s = &secs[raw->n_secs];
	memset(s, 0, sizeof(*s));
	s->kind = kind;
	s->file = lx->ctx.path;
	s->line = lx->lineno;
	if (name != NULL) {
		s->name = strdup(name);
		if (s->name == NULL)
			return mc_err_set(lx->ctx.err, MC_ERR_SYS, "out of memory");
	}
	raw->n_secs++;
	return lex_index_add(lx);
}

/* lex_twice - the error for a section header seen before (at first). */
static int
lex_twice(struct lex *lx, const char *what, size_t first)
{
	const struct cfg_section *f = &lx->raw->secs[first - 1];

	if (strcmp(f->file, lx->ctx.path) == 0)
		return config_fail(&lx->ctx, lx->lineno, what,
		    "appears twice (first at line %d); merge the two sections",
		    f->line);
	return config_fail(&lx->ctx, lx->lineno, what,
	    "appears twice (first at %s:%d); merge the two sections", f->file,
	    f->line);
}

/* lex_section_named - check a [cert NAME] / [target NAME] header and add it. */
static int
lex_section_named(struct lex *lx, enum cfg_kind kind, const char *name,
    const char *what)
{
	const char *kname = config_kind_name(kind);
	size_t first;

	if (*name == '\0')
		return config_fail(&lx->ctx, lx->lineno, what,
		    "missing name; write [%s NAME]", kname);
	if (!mc_cert_name_valid(name))
		return config_fail(&lx->ctx, lx->lineno, what,
		    "not a safe %s name; use 1 to 64 letters, digits, '.', '-' and "
		    "'_', not starting with '.' or '-'", kname);
	first = lex_section_find(lx, kind, name);
	if (first != 0)
		return lex_twice(lx, what, first);
	return lex_section_add(lx, kind, name);
}

/* lex_section_dispatch - add the section "kind name" from a header's inside. */
static int
lex_section_dispatch(struct lex *lx, char *inside, const char *what)
{
	char *name = inside + strcspn(inside, " \t");
	size_t first;

	if (*name != '\0')
		*name++ = '\0';
	name = lex_lskip(name);
	if (strcmp(inside, "global") == 0 && *name == '\0') {
		first = lex_section_find(lx, CFG_GLOBAL, NULL);
		if (first != 0)
			return lex_twice(lx, what, first);
		return lex_section_add(lx, CFG_GLOBAL, NULL);
	}
	if (strcmp(inside, "cert") == 0)
		return lex_section_named(lx, CFG_CERT, name, what);
	if (strcmp(inside, "target") == 0)
		return lex_section_named(lx, CFG_TARGET, name, what);
	return config_fail(&lx->ctx, lx->lineno, what,
	    "unknown section; use [global], [cert NAME] or [target NAME]");
}

/* lex_section - parse a "[...]" header line starting at s. */
static int
lex_section(struct lex *lx, char *s)
{
	char *close = strchr(s, ']');
	char *after;
	char what[LEX_SHOW + 8];
	size_t len;

	if (close == NULL)
		return config_fail(&lx->ctx, lx->lineno, "section",
		    "header without ']'; write [cert NAME]");
	*close = '\0';
	after = lex_lskip(close + 1);
	if (*after != '\0' && *after != ';' && *after != '#')
		return config_fail(&lx->ctx, lx->lineno, "section",
		    "text after ']'; put comments after ';'");
	s = lex_lskip(s + 1);
	lex_rtrim(s);
	len = strnlen(s, LEX_SHOW); /* "[%.80s]" without printf: every header */
	what[0] = '[';
	memcpy(what + 1, s, len);
	memcpy(what + 1 + len, "]", 2);
	return lex_section_dispatch(lx, s, what);
}

/* lex_looks_like_key - whether an indented line is "identifier = ..." (not a continuation). */
static bool
lex_looks_like_key(const char *s)
{
	const char *p = s;

	while (isalnum((unsigned char)*p) || *p == '_')
		p++;
	if (p == s)
		return false;
	while (*p == ' ' || *p == '\t')
		p++;
	return *p == '=';
}

/* lex_key_line - a "key = value" line: hand inih "key=" + the first piece. */
static char *
lex_key_line(struct lex *lx, char *s, char *str, int num)
{
	size_t klen = strcspn(s, "=:");
	char prefix[LEX_MAX_KEY + 2];
	char *value;

	if (s[klen] == '\0')
		return lex_fail(lx, NULL,
		    "not a section, a comment or KEY = VALUE; check the syntax");
	value = s + klen + 1;
	s[klen] = '\0';
	lex_rtrim(s);
	if (*s == '\0')
		return lex_fail(lx, NULL, "'=' without a key in front; write KEY = VALUE");
	if (strlen(s) > LEX_MAX_KEY)
		return lex_fail(lx, NULL, "unknown key (longer than 64 characters)");
	if (lx->raw->n_secs == lx->first_sec)
		return lex_fail(lx, s,
		    "outside any section; put it under [global], [cert NAME] or "
		    "[target NAME]");
	lex_strip_comment(value);
	value = lex_lskip(value);
	lex_rtrim(value);
	lx->key = s;
	lx->rest = value;
	lx->cont = false;
	lx->hard_cut = false;
	lx->have_key = true;
	klen = strlen(s); /* <= LEX_MAX_KEY: "%s=" without printf */
	memcpy(prefix, s, klen);
	memcpy(prefix + klen, "=", 2);
	return lex_piece(lx, str, num, prefix);
}

/* lex_continuation - an indented line that continues the previous key's value. */
static char *
lex_continuation(struct lex *lx, char *s, char *str, int num)
{
	if (!lx->have_key)
		return lex_fail(lx, NULL,
		    "indented line but no key above it in this section; remove the "
		    "indentation or write KEY = VALUE");
	lex_strip_comment(s);
	lex_rtrim(s);
	if (*s == '\0')
		return lex_put(str, num, "", "", 0);
	lx->rest = s;
	lx->cont = true;
	lx->hard_cut = false;
	return lex_piece(lx, str, num, "\t");
}

/* lex_line - classify one physical line and hand inih what it should see. */
static char *
lex_line(struct lex *lx, char *line, char *str, int num)
{
	char *s = lex_lskip(line);

	if (lex_check_chars(lx, line) == -1)
		return NULL;
	if (*s == '\0' || *s == ';' || *s == '#')
		return lex_put(str, num, "", "", 0);
	if (*s == '[') {
		if (lex_section(lx, s) == -1) {
			lx->failed = true;
			return NULL;
		}
		lx->have_key = false;
		return lex_put(str, num, "[s]", "", 0);
	}
	if (s > line && !lex_looks_like_key(s))
		return lex_continuation(lx, s, str, num);
	return lex_key_line(lx, s, str, num);
}

/* lex_reader - inih's fgets: the next piece of the current line, or the next line. */
static char *
lex_reader(char *str, int num, void *stream)
{
	struct lex *lx = stream;
	char *line;

	if (lx->failed)
		return NULL;
	if (lx->rest != NULL) {
		lx->cont = true;
		return lex_piece(lx, str, num, "\t");
	}
	line = lex_next_line(lx);
	if (line == NULL)
		return NULL;
	return lex_line(lx, line, str, num);
}

/* lex_append - add a continuation piece to the last entry, joined by a space
 * (or by nothing when the reader cut a word in two). */
static int
lex_append(struct lex *lx, const char *value)
{
	size_t sep;
	struct cfg_section *sec = &lx->raw->secs[lx->raw->n_secs - 1];
	struct cfg_entry *e;
	size_t old, add = strlen(value);
	char *v;

	if (sec->n_entries == 0 || add == 0)
		return 0;
	e = &sec->entries[sec->n_entries - 1];
	old = strlen(e->value);
	sep = old > 0 && !lx->glue ? 1 : 0;
	v = malloc(old + sep + add + 1);
	if (v == NULL)
		return mc_err_set(lx->ctx.err, MC_ERR_SYS, "out of memory");
	memcpy(v, e->value, old);
	if (sep != 0)
		v[old] = ' ';
	memcpy(v + old + sep, value, add + 1);
	OPENSSL_clear_free(e->value, old + 1);
	e->value = v;
	return 0;
}

/* lex_check_key - refuse a key unknown in sec's kind, or already set in
 * sec; else the key's row of the key table into *row. */
static int
lex_check_key(struct lex *lx, const struct cfg_section *sec, const char *key,
    const struct cfg_key **row)
{
	char hint[160];
	const struct cfg_entry *first;

	*row = config_key_find(sec->kind, key);
	if (*row == NULL) {
		config_key_hint(sec->kind, key, hint, sizeof(hint));
		return config_fail(&lx->ctx, lx->lineno, key,
		    "unknown key in [%s%s%s]%s", config_kind_name(sec->kind),
		    sec->name != NULL ? " " : "", sec->name != NULL ? sec->name : "",
		    hint);
	}
	first = config_entry_find(sec, key);
	if (first != NULL)
		return config_fail(&lx->ctx, lx->lineno, key,
		    "set twice in this section (first at line %d); keep one",
		    first->line);
	return 0;
}

/* lex_add - record "key = value" at this line in the current section. */
static int
lex_add(struct lex *lx, const char *key, const char *value)
{
	struct cfg_section *sec = &lx->raw->secs[lx->raw->n_secs - 1];
	struct cfg_entry *entries, *e;
	const struct cfg_key *row;

	if (lex_check_key(lx, sec, key, &row) == -1)
		return -1;
	entries = realloc(sec->entries, (sec->n_entries + 1) * sizeof(*entries));
	if (entries == NULL)
		return mc_err_set(lx->ctx.err, MC_ERR_SYS, "out of memory");
	sec->entries = entries;
	e = &entries[sec->n_entries];
	e->key = row->name; /* static: no copy per entry */
	e->value = strdup(value);
	e->line = lx->lineno;
	if (e->value == NULL)
		return mc_err_set(lx->ctx.err, MC_ERR_SYS, "out of memory");
	sec->n_entries++;
	return 0;
}

/* lex_handler - inih's callback: record or continue an entry; 0 stops. */
static int
lex_handler(void *user, const char *section, const char *name, const char *value)
{
	struct lex *lx = user;
	int rc;

	(void)section; /* inih truncates it; lx->raw knows the real one */
	if (lx->failed)
		return 0;
	if (lx->cont)
		rc = lex_append(lx, value);
	else
		rc = lex_add(lx, name, value);
	if (rc == -1) {
		lx->failed = true;
		return 0;
	}
	return 1;
}

/* config_section_release - free a section's entries and name (cleansed). */
void
config_section_release(struct cfg_section *s)
{
	size_t j;

	for (j = 0; j < s->n_entries; j++) {
		OPENSSL_clear_free(s->entries[j].value, strlen(s->entries[j].value));
	}
	free(s->entries);
	free(s->name);
	s->entries = NULL;
	s->n_entries = 0;
	s->name = NULL;
}

/* config_raw_free - free raw sections, cleansing values (they may hold secrets). */
void
config_raw_free(struct cfg_raw *raw)
{
	size_t i;

	if (raw == NULL)
		return;
	for (i = 0; i < raw->n_secs; i++)
		config_section_release(&raw->secs[i]);
	free(raw->secs);
	for (i = 0; i < raw->n_own_files; i++)
		free(raw->files[i]);
	free(raw->files);
	free(raw->incl.text);
	free(raw->incl.paths);
	config_lex_buf_free(raw);
	free(raw->idx.slots);
	memset(raw, 0, sizeof(*raw));
}

/* lex_add_file - keep path in raw: a copy (copy true: only before any
 * borrowed one), or path itself, which must live as long as raw (an
 * included file's name in raw->incl); the kept name, or NULL. */
static const char *
lex_add_file(struct cfg_raw *raw, char *path, bool copy, struct mc_err *err)
{
	size_t cap = raw->cap_files ? raw->cap_files * 2 : 8;
	char **files = raw->files;

	if (copy && raw->n_files != raw->n_own_files)
		abort(); /* the copies come first: config_raw_free frees them */
	if (raw->n_files == raw->cap_files) {
		files = realloc(raw->files, cap * sizeof(*files));
		if (files == NULL) {
			mc_err_set(err, MC_ERR_SYS, "out of memory");
			return NULL;
		}
		raw->files = files;
		raw->cap_files = cap;
	}
	files[raw->n_files] = copy ? strdup(path) : path;
	if (files[raw->n_files] == NULL) {
		mc_err_set(err, MC_ERR_SYS, "out of memory");
		return NULL;
	}
	if (copy)
		raw->n_own_files++;
	return files[raw->n_files++];
}

/* config_raw_adopt - append part's sections and files to raw, moving
 * them (part is left empty, to be freed with config_raw_free); 0, or -1
 * when a section of part is one raw already has (no message: the caller
 * reads the files again one by one, which names both places). */
int
config_raw_adopt(struct cfg_raw *raw, struct cfg_raw *part,
    struct mc_err *err)
{
	struct lex lx;
	size_t i, need = raw->n_secs + part->n_secs;
	struct cfg_section *secs;
	char **files;

	memset(&lx, 0, sizeof(lx));
	lx.raw = raw;
	lx.ctx.err = err;
	for (i = 0; i < part->n_secs; i++)
		if (lex_section_find(&lx, part->secs[i].kind, part->secs[i].name) != 0)
			return -1;
	if (need > raw->cap_secs) {
		secs = realloc(raw->secs, need * sizeof(*secs));
		if (secs == NULL)
			return mc_err_set(err, MC_ERR_SYS, "out of memory");
		raw->secs = secs;
		raw->cap_secs = need;
	}
	if (raw->n_files + part->n_files > raw->cap_files) {
		files = realloc(raw->files, (raw->n_files + part->n_files) *
		    sizeof(*files));
		if (files == NULL)
			return mc_err_set(err, MC_ERR_SYS, "out of memory");
		raw->files = files;
		raw->cap_files = raw->n_files + part->n_files;
	}
	memcpy(raw->files + raw->n_files, part->files,
	    part->n_files * sizeof(*files));
	raw->n_files += part->n_files;
	part->n_files = 0;
	for (i = 0; i < part->n_secs; i++) {
		raw->secs[raw->n_secs++] = part->secs[i];
		memset(&part->secs[i], 0, sizeof(part->secs[i])); /* raw's now */
		if (lex_index_add(&lx) == -1)
			return -1;
	}
	part->n_secs = 0;
	return 0;
}

/* config_raw_truncate - drop the sections of raw after the first n_secs
 * and its files after the first n_files (borrowed names), and index what
 * is left; 0 or -1 (out of memory). */
int
config_raw_truncate(struct cfg_raw *raw, size_t n_secs, size_t n_files,
    struct mc_err *err)
{
	struct lex lx;
	size_t i, n = raw->n_secs;

	if (n_files < raw->n_own_files || n_secs > n)
		abort(); /* only what was added after them */
	while (raw->n_secs > n_secs)
		config_section_release(&raw->secs[--raw->n_secs]);
	raw->n_files = n_files;
	free(raw->idx.slots);
	memset(&raw->idx, 0, sizeof(raw->idx));
	memset(&lx, 0, sizeof(lx));
	lx.raw = raw;
	lx.ctx.err = err;
	for (i = 0; i < n_secs; i++) {
		raw->n_secs = i + 1;
		if (lex_index_add(&lx) == -1) {
			raw->n_secs = n_secs;
			return -1;
		}
	}
	return 0;
}

/* config_lex_buf_free - free raw's read buffer (cleansed). */
void
config_lex_buf_free(struct cfg_raw *raw)
{
	if (raw->buf != NULL)
		OPENSSL_clear_free(raw->buf, raw->cap);
	raw->buf = NULL;
	raw->cap = 0;
}

/* lex_file - read one file, appending its sections to raw (see
 * config_lex_file_at; copy: keep a copy of path, else path itself). */
static int
lex_file(int dirfd, const char *rel, char *path, bool copy, bool regular,
    struct cfg_raw *raw, struct mc_err *err)
{
	struct lex lx;
	int rc, ret = -1;

	memset(&lx, 0, sizeof(lx));
	lx.dirfd = dirfd;
	lx.rel = rel;
	lx.ctx.path = lex_add_file(raw, path, copy, err);
	lx.ctx.err = err;
	lx.raw = raw;
	lx.first_sec = raw->n_secs;
	if (lx.ctx.path == NULL || lex_read_file(&lx, regular) == -1)
		goto out;
	rc = ini_parse_stream(lex_reader, &lx, lex_handler, &lx);
	if (lx.failed)
		goto out;
	if (rc != 0) {
		/* our reader only hands inih lines it accepts; keep a clear message anyway */
		mc_err_set(err, MC_ERR_CONFIG, "%s:%d: syntax error; write KEY = VALUE",
		    path, rc > 0 ? rc : 0);
		goto out;
	}
	ret = 0;
out:
	if (lx.data != NULL) /* the buffer stays for the next file */
		OPENSSL_cleanse(lx.data, lx.len + 1);
	return ret;
}

/* config_lex_file_at - read one included file, appending its sections. */
int
config_lex_file_at(int dirfd, const char *rel, char *path, bool regular,
    struct cfg_raw *raw, struct mc_err *err)
{
	return lex_file(dirfd, rel, path, false, regular, raw, err);
}

/* config_lex_file - read one file, appending its sections to raw. */
int
config_lex_file(const char *path, struct cfg_raw *raw, struct mc_err *err)
{
	return lex_file(AT_FDCWD, path, (char *)path, true, false, raw, err);
}
