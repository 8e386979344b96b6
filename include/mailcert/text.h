/*
 * text.h - the one sanitizer for untrusted text.
 *
 * Text that comes from outside - hook, reload and dns hook output, CA
 * problem details and other response bodies, mail server replies, the
 * messages of parsers fed with such input - must never carry a line
 * break, a terminal escape or any other control character into an error
 * message, a log line (stderr or syslog), JSON output or MAILCERT_ERROR.
 *
 * Both functions apply the same rules to each character:
 *  - printable ASCII and valid UTF-8 stay as they are;
 *  - space, tab, CR, LF, VT and FF are blanks (see each function);
 *  - every other control character - C0, DEL, C1 (U+0080..U+009F), the
 *    line and paragraph separators U+2028/U+2029 and the bidirectional
 *    controls U+061C, U+200E/U+200F, U+202A..U+202E, U+2066..U+2069 - and
 *    every byte that is not part of valid UTF-8 (overlong forms,
 *    surrogates, code points above U+10FFFF, cut sequences) becomes '?'.
 * So the result is always valid UTF-8 (JSON-safe) without control
 * characters.
 *
 * mc_text_excerpt() makes one bounded line for a message: runs of blanks
 * become one space (with MC_TEXT_LINES a run holding a line break becomes
 * " | "), blanks at both ends are dropped, and text that does not fit is
 * cut at a character boundary and marked "..." (MC_TEXT_TAIL: the head
 * and the tail are kept around " ... ", since a failing program says why
 * in its last lines as often as in its first). mc_text_scrub() cleans a
 * string in place without shortening anything but bad characters; the
 * error and log code run every message through it as the last line of
 * defence.
 *
 * Neither allocates nor fails.
 */
#ifndef MAILCERT_TEXT_H
#define MAILCERT_TEXT_H

#include <stddef.h>

#define MC_TEXT_QUOTE 0x1u /* '"' becomes '\'' (the caller quotes with ") */
#define MC_TEXT_LINES 0x2u /* line breaks become " | " instead of " " */
#define MC_TEXT_TAIL 0x4u  /* when cut: head " ... " tail, else head "..." */

/* mc_text_excerpt - the first len bytes of in (NUL bytes included) as one
 * sanitized line in out (always NUL-terminated when size > 0); returns the
 * length written. */
size_t mc_text_excerpt(const char *in, size_t len, char *out, size_t size,
                       unsigned flags);

/* mc_text_scrub - sanitize the NUL-terminated s in place: blanks become
 * ' ', other control characters and invalid bytes '?'. NULL is a no-op. */
void mc_text_scrub(char *s);

#endif
