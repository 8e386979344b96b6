/*
 * starttls.c - the plain-text dialogs that lead up to TLS.
 *
 * One small function per step, as posttls-finger does: SMTP (RFC 5321,
 * 3207), IMAP (RFC 9051 / 3501), POP3 (RFC 2595), ManageSieve (RFC 5804).
 * Each dialog reads the whole greeting before it speaks (postscreen's
 * pregreet test), checks the advertised capability, asks for TLS and
 * expects the go-ahead. A refusal keeps the server's text; a missing
 * capability ends the session politely (QUIT / LOGOUT).
 */
#include <ctype.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mailcert/text.h"
#include "verify/verify_int.h"

#define EXCERPT_MAX 100
#define GOODBYE_TIMEOUT_MS 100 /* best effort: do not wait long */
#define IMPLICIT_PORT_GREET_MS 3000

struct smtp_reply {
	int code;
	bool starttls; /* an EHLO line after the first is STARTTLS */
	char text[MC_VERIFY_LINE_MAX]; /* the last line, for messages */
};

/* starttls_garbage - PROTOCOL_ERROR quoting a short excerpt of line. */
static int
starttls_garbage(struct verify_conn *c, const char *line)
{
	char ex[EXCERPT_MAX];

	mc_text_excerpt(line, strlen(line), ex, sizeof(ex), MC_TEXT_QUOTE);
	return verify_fail(c->res, MC_PROBE_PROTOCOL_ERROR,
	                   "%s: unexpected reply \"%s\"", c->stage, ex);
}

/* starttls_refused - STARTTLS_REFUSED keeping the server's words. */
static int
starttls_refused(struct verify_conn *c, const char *line)
{
	struct mc_probe_result *res = c->res;

	mc_text_excerpt(line, strlen(line), res->server_text,
	                sizeof(res->server_text), MC_TEXT_QUOTE);
	return verify_fail(res, MC_PROBE_STARTTLS_REFUSED,
	                   "%s: the server refused: \"%s\"", c->stage,
	                   res->server_text);
}

/* starttls_missing - STARTTLS_MISSING for a session without the capability. */
static int
starttls_missing(struct verify_conn *c, const char *what)
{
	return verify_fail(c->res, MC_PROBE_STARTTLS_MISSING,
	                   "%s: the server does not offer %s", c->stage, what);
}

/* starttls_has_word - whether text contains word as a token (no case). */
static bool
starttls_has_word(const char *text, const char *word)
{
	size_t wlen = strlen(word);
	const char *p = text;

	while (*p != '\0') {
		size_t n;

		p += strspn(p, " []()\"");
		n = strcspn(p, " []()\"");
		if (n == wlen && strncasecmp(p, word, wlen) == 0)
			return true;
		p += n;
	}
	return false;
}

/* starttls_goodbye - send cmd and read one line, ignoring any failure. */
static void
starttls_goodbye(struct verify_conn *c, const char *cmd)
{
	struct mc_probe_result scratch;
	struct mc_probe_result *saved = c->res;
	char line[MC_VERIFY_LINE_MAX];
	int io = c->io_timeout_ms;

	memset(&scratch, 0, sizeof(scratch));
	c->res = &scratch;
	c->io_timeout_ms = io < GOODBYE_TIMEOUT_MS ? io : GOODBYE_TIMEOUT_MS;
	if (verify_conn_writeline(c, cmd) == 0)
		(void)verify_conn_readline(c, line, sizeof(line));
	c->io_timeout_ms = io;
	c->res = saved;
}

/* smtp_line - check one reply line; 1 last, 0 more follow, -1 garbage. */
static int
smtp_line(const char *line, int *code)
{
	int v;

	if (!isdigit((unsigned char)line[0]) || line[0] < '2' ||
	    line[0] > '5' || !isdigit((unsigned char)line[1]) ||
	    !isdigit((unsigned char)line[2]))
		return -1;
	if (line[3] != '\0' && line[3] != ' ' && line[3] != '-')
		return -1;
	v = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
	if (*code != 0 && *code != v)
		return -1;
	*code = v;
	return line[3] == '-' ? 0 : 1;
}

/* smtp_reply - read a whole (multi-line) reply into r; the lines of a
 * greeting also go to verify_greeting. */
static int
smtp_reply(struct verify_conn *c, struct smtp_reply *r, bool greeting)
{
	int i, last;

	r->code = 0;
	r->starttls = false;
	for (i = 0; i < MC_VERIFY_LINES_MAX; i++) {
		if (verify_conn_readline(c, r->text, sizeof(r->text)) == -1)
			return -1;
		last = smtp_line(r->text, &r->code);
		if (last == -1)
			return starttls_garbage(c, r->text);
		if (greeting)
			verify_greeting(c->res, r->text);
		if (i > 0 && r->text[3] != '\0' &&
		    strcasecmp(r->text + 4, "STARTTLS") == 0)
			r->starttls = true;
		if (last == 1)
			return 0;
	}
	return verify_fail(c->res, MC_PROBE_PROTOCOL_ERROR,
	                   "%s: more than %d reply lines", c->stage,
	                   MC_VERIFY_LINES_MAX);
}

/* smtp_no - a non-success reply: refused, and QUIT unless 421 closed it. */
static int
smtp_no(struct verify_conn *c, const struct smtp_reply *r)
{
	if (r->code != 421)
		starttls_goodbye(c, "QUIT");
	return starttls_refused(c, r->text);
}

/* smtp_ehlo_rejected - no EHLO means no STARTTLS; keep the server's words. */
static int
smtp_ehlo_rejected(struct verify_conn *c, const struct smtp_reply *r)
{
	struct mc_probe_result *res = c->res;

	mc_text_excerpt(r->text, strlen(r->text), res->server_text,
	                sizeof(res->server_text), MC_TEXT_QUOTE);
	starttls_goodbye(c, "QUIT");
	return verify_fail(res, MC_PROBE_STARTTLS_MISSING,
	                   "%s: the server rejected EHLO (\"%s\"), so it "
	                   "cannot offer STARTTLS",
	                   c->stage, res->server_text);
}

/* smtp_dialog - greeting, EHLO, STARTTLS, 220. */
static int
smtp_dialog(struct verify_conn *c, const char *ehlo_name)
{
	struct smtp_reply r;
	char cmd[300];

	c->stage = "SMTP greeting";
	if (smtp_reply(c, &r, true) == -1)
		return -1;
	if (r.code != 220)
		return smtp_no(c, &r);
	c->stage = "SMTP EHLO";
	snprintf(cmd, sizeof(cmd), "EHLO %s", ehlo_name);
	if (verify_conn_writeline(c, cmd) == -1 ||
	    smtp_reply(c, &r, false) == -1)
		return -1;
	if (r.code == 421)
		return smtp_no(c, &r);
	if (r.code != 250)
		return smtp_ehlo_rejected(c, &r);
	if (!r.starttls) {
		starttls_goodbye(c, "QUIT");
		return starttls_missing(c, "STARTTLS");
	}
	c->stage = "SMTP STARTTLS";
	if (verify_conn_writeline(c, "STARTTLS") == -1 ||
	    smtp_reply(c, &r, false) == -1)
		return -1;
	if (r.code != 220)
		return smtp_no(c, &r);
	return 0;
}

/* imap_untagged_caps - whether an untagged line advertises STARTTLS. */
static bool
imap_untagged_caps(const char *line)
{
	return (strncasecmp(line, "* CAPABILITY ", 13) == 0 ||
	        strncasecmp(line, "* OK [CAPABILITY ", 17) == 0) &&
	       starttls_has_word(line, "STARTTLS");
}

/* imap_tagged - read to the tagged reply of tag; sets *caps; 0 OK, 1 NO/BAD. */
static int
imap_tagged(struct verify_conn *c, const char *tag, char *line, bool *caps)
{
	size_t tlen = strlen(tag);
	int i;

	for (i = 0; i < MC_VERIFY_LINES_MAX; i++) {
		if (verify_conn_readline(c, line, MC_VERIFY_LINE_MAX) == -1)
			return -1;
		if (strncasecmp(line, "* BYE", 5) == 0)
			return starttls_refused(c, line);
		if (strncmp(line, "* ", 2) == 0) {
			*caps = *caps || imap_untagged_caps(line);
			continue;
		}
		if (strncmp(line, tag, tlen) != 0 || line[tlen] != ' ')
			return starttls_garbage(c, line);
		if (strncasecmp(line + tlen + 1, "OK", 2) == 0)
			return 0;
		if (strncasecmp(line + tlen + 1, "NO", 2) == 0 ||
		    strncasecmp(line + tlen + 1, "BAD", 3) == 0)
			return 1;
		return starttls_garbage(c, line);
	}
	return verify_fail(c->res, MC_PROBE_PROTOCOL_ERROR,
	                   "%s: more than %d reply lines", c->stage,
	                   MC_VERIFY_LINES_MAX);
}

/* imap_greeting - "* OK"; PREAUTH forbids STARTTLS, BYE refuses. */
static int
imap_greeting(struct verify_conn *c, char *line, bool *caps)
{
	c->stage = "IMAP greeting";
	if (verify_conn_readline(c, line, MC_VERIFY_LINE_MAX) == -1)
		return -1;
	verify_greeting(c->res, line);
	if (strncasecmp(line, "* OK", 4) == 0) {
		*caps = imap_untagged_caps(line);
		return 0;
	}
	if (strncasecmp(line, "* PREAUTH", 9) == 0)
		return starttls_missing(c, "STARTTLS (PREAUTH greeting)");
	if (strncasecmp(line, "* BYE", 5) == 0)
		return starttls_refused(c, line);
	return starttls_garbage(c, line);
}

/* imap_dialog - greeting, CAPABILITY (unless the greeting had it), STARTTLS. */
static int
imap_dialog(struct verify_conn *c)
{
	char line[MC_VERIFY_LINE_MAX];
	bool caps = false;
	int rc;

	if (imap_greeting(c, line, &caps) == -1)
		return -1;
	if (!caps) {
		c->stage = "IMAP CAPABILITY";
		if (verify_conn_writeline(c, "a CAPABILITY") == -1)
			return -1;
		rc = imap_tagged(c, "a", line, &caps);
		if (rc == -1)
			return -1;
		if (rc == 1 || !caps) {
			starttls_goodbye(c, "z LOGOUT");
			return starttls_missing(c, "STARTTLS");
		}
	}
	c->stage = "IMAP STARTTLS";
	if (verify_conn_writeline(c, "b STARTTLS") == -1)
		return -1;
	rc = imap_tagged(c, "b", line, &caps);
	if (rc == 1) {
		starttls_goodbye(c, "z LOGOUT");
		return starttls_refused(c, line);
	}
	return rc;
}

/* pop3_status - +OK 0, -ERR 1, garbage -1 (with res set). */
static int
pop3_status(struct verify_conn *c, char *line)
{
	if (verify_conn_readline(c, line, MC_VERIFY_LINE_MAX) == -1)
		return -1;
	if (strncmp(line, "+OK", 3) == 0)
		return 0;
	if (strncmp(line, "-ERR", 4) == 0)
		return 1;
	return starttls_garbage(c, line);
}

/* pop3_capa - CAPA: whether the list up to "." has STLS; -1 on failure. */
static int
pop3_capa(struct verify_conn *c, char *line, bool *stls)
{
	int i, rc;

	c->stage = "POP3 CAPA";
	if (verify_conn_writeline(c, "CAPA") == -1)
		return -1;
	rc = pop3_status(c, line);
	if (rc != 0)
		return rc == 1 ? 0 : -1; /* -ERR: no capabilities at all */
	for (i = 0; i < MC_VERIFY_LINES_MAX; i++) {
		if (verify_conn_readline(c, line, MC_VERIFY_LINE_MAX) == -1)
			return -1;
		if (strcmp(line, ".") == 0)
			return 0;
		if (strncasecmp(line, "STLS", 4) == 0 &&
		    (line[4] == '\0' || line[4] == ' '))
			*stls = true;
	}
	return verify_fail(c->res, MC_PROBE_PROTOCOL_ERROR,
	                   "%s: more than %d reply lines", c->stage,
	                   MC_VERIFY_LINES_MAX);
}

/* pop3_dialog - +OK greeting, CAPA, STLS, +OK. */
static int
pop3_dialog(struct verify_conn *c)
{
	char line[MC_VERIFY_LINE_MAX];
	bool stls = false;
	int rc;

	c->stage = "POP3 greeting";
	rc = pop3_status(c, line);
	if (rc != -1)
		verify_greeting(c->res, line);
	if (rc != 0)
		return rc == 1 ? starttls_refused(c, line) : -1;
	if (pop3_capa(c, line, &stls) == -1)
		return -1;
	if (!stls) {
		starttls_goodbye(c, "QUIT");
		return starttls_missing(c, "STLS");
	}
	c->stage = "POP3 STLS";
	if (verify_conn_writeline(c, "STLS") == -1)
		return -1;
	rc = pop3_status(c, line);
	if (rc == 1) {
		starttls_goodbye(c, "QUIT");
		return starttls_refused(c, line);
	}
	return rc;
}

/* sieve_response - read to OK/NO/BYE; *caps if a line is "STARTTLS". */
static int
sieve_response(struct verify_conn *c, char *line, bool *caps)
{
	int i;

	for (i = 0; i < MC_VERIFY_LINES_MAX; i++) {
		if (verify_conn_readline(c, line, MC_VERIFY_LINE_MAX) == -1)
			return -1;
		if (line[0] == '"') {
			if (strncasecmp(line, "\"STARTTLS\"", 10) == 0)
				*caps = true;
			if (strncasecmp(line, "\"IMPLEMENTATION\"", 16) == 0)
				verify_greeting(c->res, line);
			continue;
		}
		if (strncasecmp(line, "OK", 2) == 0 &&
		    (line[2] == '\0' || line[2] == ' '))
			return 0;
		if (strncasecmp(line, "NO", 2) == 0 ||
		    strncasecmp(line, "BYE", 3) == 0)
			return starttls_refused(c, line);
		return starttls_garbage(c, line);
	}
	return verify_fail(c->res, MC_PROBE_PROTOCOL_ERROR,
	                   "%s: more than %d reply lines", c->stage,
	                   MC_VERIFY_LINES_MAX);
}

/* sieve_dialog - capability greeting ending in OK, STARTTLS, OK. */
static int
sieve_dialog(struct verify_conn *c)
{
	char line[MC_VERIFY_LINE_MAX];
	bool caps = false;

	c->stage = "ManageSieve greeting";
	if (sieve_response(c, line, &caps) == -1)
		return -1;
	if (!caps) {
		starttls_goodbye(c, "LOGOUT");
		return starttls_missing(c, "STARTTLS");
	}
	c->stage = "ManageSieve STARTTLS";
	if (verify_conn_writeline(c, "STARTTLS") == -1)
		return -1;
	return sieve_response(c, line, &caps);
}

/* starttls_ehlo_default - this host's FQDN, else the local address literal. */
static void
starttls_ehlo_default(int fd, char *out, size_t size)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char host[256], addr[NI_MAXHOST];

	host[sizeof(host) - 1] = '\0';
	if (gethostname(host, sizeof(host) - 1) == 0 &&
	    strchr(host, '.') != NULL &&
	    strspn(host,
	           "abcdefghijklmnopqrstuvwxyz"
	           "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") == strlen(host)) {
		snprintf(out, size, "%s", host);
		return;
	}
	if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0 &&
	    getnameinfo((struct sockaddr *)&ss, len, addr, sizeof(addr), NULL,
	                0, NI_NUMERICHOST) == 0) {
		snprintf(out, size,
		         ss.ss_family == AF_INET6 ? "[IPv6:%s]" : "[%s]", addr);
		return;
	}
	snprintf(out, size, "localhost");
}

/* verify_greeting - remember the greeting line and the daemon it names. */
void
verify_greeting(struct mc_probe_result *res, const char *line)
{
	if (res->greeting[0] == '\0')
		mc_text_excerpt(line, strlen(line), res->greeting,
		                sizeof(res->greeting), MC_TEXT_QUOTE);
	if (res->server == MC_SERVER_UNKNOWN)
		res->server = mc_verify_server_kind(line);
}

/* mc_verify_server_kind - the daemon a greeting line names. */
enum mc_server_kind
mc_verify_server_kind(const char *greeting)
{
	if (starttls_has_word(greeting, "Postfix"))
		return MC_SERVER_POSTFIX;
	if (starttls_has_word(greeting, "Exim"))
		return MC_SERVER_EXIM;
	if (starttls_has_word(greeting, "Dovecot"))
		return MC_SERVER_DOVECOT;
	return MC_SERVER_UNKNOWN;
}

/* mc_verify_server_name - "postfix", "exim", "dovecot" or "". */
const char *
mc_verify_server_name(enum mc_server_kind kind)
{
	switch (kind) {
	case MC_SERVER_POSTFIX:
		return "postfix";
	case MC_SERVER_EXIM:
		return "exim";
	case MC_SERVER_DOVECOT:
		return "dovecot";
	default:
		return "";
	}
}

/* starttls_refusal - whether line, sent right after the go-ahead, is the
 * scheme's way of saying no (4xx/5xx, * BYE/NO/BAD, -ERR, NO/BYE). */
static bool
starttls_refusal(enum mc_scheme scheme, const char *line)
{
	switch (scheme) {
	case MC_SCHEME_SMTP:
	case MC_SCHEME_SUBMISSION:
		return (line[0] == '4' || line[0] == '5') &&
		       isdigit((unsigned char)line[1]) &&
		       isdigit((unsigned char)line[2]);
	case MC_SCHEME_IMAP:
		return strncasecmp(line, "* BYE", 5) == 0 ||
		       strncasecmp(line, "* NO", 4) == 0 ||
		       strncasecmp(line, "* BAD", 5) == 0;
	case MC_SCHEME_POP3:
		return strncmp(line, "-ERR", 4) == 0;
	case MC_SCHEME_SIEVE:
		return strncasecmp(line, "NO", 2) == 0 ||
		       strncasecmp(line, "BYE", 3) == 0;
	default:
		return false;
	}
}

/* starttls_after_goahead - the server sent more than its go-ahead: its
 * words when they refuse (a Dovecot that cannot load its key says "* BYE
 * [UNAVAILABLE] TLS initialization failed"), else a protocol error. */
static int
starttls_after_goahead(struct verify_conn *c, enum mc_scheme scheme)
{
	struct mc_probe_result *res = c->res;
	char line[MC_VERIFY_LINE_MAX], ex[EXCERPT_MAX];
	size_t n = 0;

	while (n < c->len && n + 1 < sizeof(line) && c->buf[n] != '\r' &&
	       c->buf[n] != '\n')
		n++;
	memcpy(line, c->buf, n);
	line[n] = '\0';
	if (starttls_refusal(scheme, line)) {
		mc_text_excerpt(line, n, res->server_text,
		                sizeof(res->server_text), MC_TEXT_QUOTE);
		return verify_fail(res, MC_PROBE_STARTTLS_REFUSED,
		                   "%s: the server gave its go-ahead and then "
		                   "said \"%s\" instead of starting TLS",
		                   c->stage, res->server_text);
	}
	mc_text_excerpt(line, n, ex, sizeof(ex), MC_TEXT_QUOTE);
	return verify_fail(res, MC_PROBE_PROTOCOL_ERROR,
	                   "%s: the server sent data after the TLS "
	                   "go-ahead (\"%s\"; command injection?)",
	                   c->stage, ex);
}

/* starttls_greet_timeout - the wait for the greeting's first byte: the
 * caller's, and short on the ports of implicit TLS (a STARTTLS URL
 * pointed there hears nothing). */
static int
starttls_greet_timeout(const struct mc_endpoint *ep, int wanted)
{
	if ((ep->port == 465 || ep->port == 993 || ep->port == 995) &&
	    (wanted <= 0 || wanted > IMPLICIT_PORT_GREET_MS))
		return IMPLICIT_PORT_GREET_MS;
	return wanted;
}

/* verify_starttls - run the scheme's STARTTLS dialog up to the go-ahead. */
int
verify_starttls(struct verify_conn *c, const struct mc_endpoint *ep,
                const struct mc_probe_opts *opts)
{
	const char *ehlo_name = opts->ehlo_name;
	enum mc_scheme scheme = ep->scheme;
	char ehlo[300];
	int rc;

	c->greet_timeout_ms =
	    starttls_greet_timeout(ep, opts->greeting_timeout_ms);
	switch (scheme) {
	case MC_SCHEME_SMTP:
	case MC_SCHEME_SUBMISSION:
		if (ehlo_name == NULL)
			starttls_ehlo_default(c->fd, ehlo, sizeof(ehlo));
		else
			snprintf(ehlo, sizeof(ehlo), "%s", ehlo_name);
		rc = smtp_dialog(c, ehlo);
		break;
	case MC_SCHEME_IMAP:
		rc = imap_dialog(c);
		break;
	case MC_SCHEME_POP3:
		rc = pop3_dialog(c);
		break;
	case MC_SCHEME_SIEVE:
		rc = sieve_dialog(c);
		break;
	default:
		return 0;
	}
	if (rc == 0 && c->len > 0)
		return starttls_after_goahead(c, scheme);
	return rc;
}

/* verify_goodbye - the logout command of a scheme (sent inside TLS). */
const char *
verify_goodbye(enum mc_scheme scheme)
{
	switch (scheme) {
	case MC_SCHEME_SMTP:
	case MC_SCHEME_SUBMISSION:
	case MC_SCHEME_SMTPS:
	case MC_SCHEME_POP3:
	case MC_SCHEME_POP3S:
		return "QUIT";
	case MC_SCHEME_IMAP:
	case MC_SCHEME_IMAPS:
		return "z LOGOUT";
	case MC_SCHEME_SIEVE:
		return "LOGOUT";
	default:
		return NULL;
	}
}
