/*
 * text.c - the one sanitizer for untrusted text (see include/mailcert/text.h).
 *
 * The input is cut into units: one printable character (1 to 4 bytes of
 * valid UTF-8), one blank (space, tab) or line break (CR, LF, VT, FF), or
 * one bad unit (a control code point, or a single byte that does not start
 * valid UTF-8). Output is written a whole unit at a time, so a cut never
 * splits a character.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "mailcert/text.h"

#define TEXT_CUT "..."
#define TEXT_MID " ... "
#define TEXT_TAIL_MIN 24 /* below this room a tail is not worth it */

enum text_kind {
	TEXT_OK,    /* printable: copy */
	TEXT_BLANK, /* space, tab */
	TEXT_BREAK, /* CR, LF, VT, FF */
	TEXT_BAD,   /* control character or invalid byte: '?' */
};

/* the writer of one excerpt */
struct text_em {
	char *out;
	size_t len; /* bytes written */
	size_t cap; /* bytes that may be written (no NUL) */
	unsigned flags;
	int pend; /* blank seen since the last unit: 0 no, 1 blank, 2 break */
	bool full;
};

/* text_ascii - the kind of an ASCII byte. */
static enum text_kind
text_ascii(unsigned char c)
{
	if (c == ' ' || c == '\t')
		return TEXT_BLANK;
	if (c == '\n' || c == '\r' || c == '\v' || c == '\f')
		return TEXT_BREAK;
	return c < 0x20 || c == 0x7f ? TEXT_BAD : TEXT_OK;
}

/* text_control - whether code point cp is a control we refuse (C1, line
 * and paragraph separators, bidirectional controls). */
static bool
text_control(uint32_t cp)
{
	return (cp >= 0x80 && cp <= 0x9f) || cp == 0x2028 || cp == 0x2029 ||
	       cp == 0x061c || cp == 0x200e || cp == 0x200f ||
	       (cp >= 0x202a && cp <= 0x202e) ||
	       (cp >= 0x2066 && cp <= 0x2069);
}

/* text_utf8 - decode the sequence at p (n >= 1 bytes, p[0] >= 0x80): its
 * length, or 0 if it is not valid UTF-8. */
static size_t
text_utf8(const unsigned char *p, size_t n, uint32_t *cp)
{
	size_t len, i;

	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		len = 2;
		*cp = p[0] & 0x1fu;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		len = 3;
		*cp = p[0] & 0x0fu;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		len = 4;
		*cp = p[0] & 0x07u;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		*cp = *cp << 6 | (p[i] & 0x3fu);
	}
	if ((len == 3 && *cp < 0x800) || (len == 4 && *cp < 0x10000) ||
	    *cp > 0x10ffff || (*cp >= 0xd800 && *cp <= 0xdfff))
		return 0;
	return len;
}

/* text_unit - the length (>= 1) and kind of the unit at p (n >= 1). */
static size_t
text_unit(const unsigned char *p, size_t n, enum text_kind *kind)
{
	uint32_t cp = 0;
	size_t len;

	if (p[0] < 0x80) {
		*kind = text_ascii(p[0]);
		return 1;
	}
	len = text_utf8(p, n, &cp);
	if (len == 0) {
		*kind = TEXT_BAD; /* one byte; the next is looked at afresh */
		return 1;
	}
	*kind = text_control(cp) ? TEXT_BAD : TEXT_OK;
	return len;
}

/* em_put - write the pending blank and the n bytes at b; false if full. */
static bool
em_put(struct text_em *em, const char *b, size_t n)
{
	const char *sep = "";
	size_t sl;

	if (em->len > 0 && em->pend != 0)
		sep = em->pend == 2 && (em->flags & MC_TEXT_LINES) ? " | " : " ";
	sl = strlen(sep);
	if (em->full || em->len + sl + n > em->cap) {
		em->full = true;
		return false;
	}
	memcpy(em->out + em->len, sep, sl);
	memcpy(em->out + em->len + sl, b, n);
	em->len += sl + n;
	em->pend = 0;
	return true;
}

/* text_emit - write the units of in[0..len) until em is full; the number
 * of bytes of in consumed. */
static size_t
text_emit(struct text_em *em, const unsigned char *in, size_t len)
{
	enum text_kind k;
	size_t i = 0, n;
	bool ok = true;

	while (i < len) {
		n = text_unit(in + i, len - i, &k);
		if (k == TEXT_BLANK && em->pend == 0)
			em->pend = 1;
		else if (k == TEXT_BREAK)
			em->pend = 2;
		else if (k == TEXT_BAD)
			ok = em_put(em, "?", 1);
		else if (k == TEXT_OK && n == 1 && in[i] == '"' &&
		         (em->flags & MC_TEXT_QUOTE))
			ok = em_put(em, "'", 1);
		else if (k == TEXT_OK)
			ok = em_put(em, (const char *)in + i, n);
		if (!ok)
			return i;
		i += n;
	}
	return i;
}

/* text_start - t moved past UTF-8 continuation bytes (at most 3). */
static size_t
text_start(const unsigned char *in, size_t len, size_t t)
{
	int i;

	for (i = 0; i < 3 && t < len && (in[t] & 0xc0) == 0x80; i++)
		t++;
	return t;
}

/* text_head - head "..." into out (room bytes, no NUL); its length. */
static size_t
text_head(const unsigned char *in, size_t len, char *out, size_t room,
          unsigned flags)
{
	struct text_em em = {out, 0, 0, flags, 0, false};
	size_t cut = strlen(TEXT_CUT);

	if (room < cut)
		return 0;
	em.cap = room - cut;
	text_emit(&em, in, len);
	memcpy(out + em.len, TEXT_CUT, cut);
	return em.len + cut;
}

/* text_tail - head " ... " tail into out (room bytes, no NUL); its length. */
static size_t
text_tail(const unsigned char *in, size_t len, char *out, size_t room,
          unsigned flags)
{
	size_t mid = strlen(TEXT_MID), used, t;
	struct text_em head = {out, 0, (room - mid) / 2, flags, 0, false};
	struct text_em tail;

	used = text_emit(&head, in, len);
	t = room - mid - head.len; /* the tail's room */
	t = len > t ? len - t : 0;
	if (t < used)
		t = used;
	for (;;) {
		t = text_start(in, len, t);
		tail = (struct text_em){out + head.len + mid, 0,
		                        room - mid - head.len, flags, 0, false};
		text_emit(&tail, in + t, len - t);
		if (!tail.full)
			break;
		t += 1 + (len - t) / 8; /* the tail cleans up longer: drop more */
	}
	memcpy(out + head.len, TEXT_MID, mid);
	return head.len + mid + tail.len;
}

/* mc_text_excerpt - in[0..len) as one sanitized line in out. */
size_t
mc_text_excerpt(const char *in, size_t len, char *out, size_t size,
                unsigned flags)
{
	const unsigned char *u = (const unsigned char *)in;
	struct text_em em = {out, 0, 0, flags, 0, false};
	size_t n;

	if (size == 0)
		return 0;
	if (in == NULL)
		len = 0;
	em.cap = size - 1;
	text_emit(&em, u, len);
	n = em.len;
	if (em.full && (flags & MC_TEXT_TAIL) && size - 1 >= TEXT_TAIL_MIN)
		n = text_tail(u, len, out, size - 1, flags);
	else if (em.full)
		n = text_head(u, len, out, size - 1, flags);
	out[n] = '\0';
	return n;
}

/* mc_text_scrub - sanitize s in place. */
void
mc_text_scrub(char *s)
{
	unsigned char *u = (unsigned char *)s;
	enum text_kind k;
	size_t r = 0, w = 0, len, n;

	if (s == NULL)
		return;
	len = strlen(s);
	while (r < len) {
		n = text_unit(u + r, len - r, &k);
		if (k == TEXT_OK)
			memmove(u + w, u + r, n);
		else
			u[w] = k == TEXT_BAD ? '?' : ' ';
		w += k == TEXT_OK ? n : 1;
		r += n;
	}
	u[w] = '\0';
}
