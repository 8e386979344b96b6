/*
 * err.c - error reporting: categories, messages, context prefixes. Every
 * message passes mc_text_scrub(), so no control character from any source
 * reaches an error text, a log line, JSON or MAILCERT_ERROR.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>

#include "mailcert/err.h"
#include "mailcert/text.h"

/* mc_err_clear - reset err to "no error". */
void
mc_err_clear(struct mc_err *err)
{
	if (err == NULL)
		return;
	err->cat = MC_ERR_NONE;
	err->msg[0] = '\0';
}

/* err_vset - format the message into err. */
static void __attribute__((format(printf, 3, 0)))
err_vset(struct mc_err *err, enum mc_err_cat cat, const char *fmt, va_list ap)
{
	err->cat = cat;
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	mc_text_scrub(err->msg); /* no control character ever leaves here */
}

/* err_append - append text to the message, truncating at the cap. */
static void
err_append(struct mc_err *err, const char *text)
{
	size_t len = strlen(err->msg);

	if (len + 1 >= sizeof(err->msg))
		return;
	snprintf(err->msg + len, sizeof(err->msg) - len, "%s", text);
	mc_text_scrub(err->msg + len);
}

/* mc_err_set - set category and message. */
int
mc_err_set(struct mc_err *err, enum mc_err_cat cat, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return -1;
	va_start(ap, fmt);
	err_vset(err, cat, fmt, ap);
	va_end(ap);
	return -1;
}

/* mc_err_errno - set the message with strerror(errno) appended. */
int
mc_err_errno(struct mc_err *err, enum mc_err_cat cat, const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	if (err == NULL)
		return -1;
	va_start(ap, fmt);
	err_vset(err, cat, fmt, ap);
	va_end(ap);
	err_append(err, ": ");
	err_append(err, strerror(saved));
	errno = saved;
	return -1;
}

/* mc_err_openssl - set the message with the drained OpenSSL queue appended. */
int
mc_err_openssl(struct mc_err *err, const char *fmt, ...)
{
	char line[256];
	unsigned long code;
	int first = 1;
	va_list ap;

	if (err == NULL) {
		ERR_clear_error();
		return -1;
	}
	va_start(ap, fmt);
	err_vset(err, MC_ERR_CRYPTO, fmt, ap);
	va_end(ap);
	while ((code = ERR_get_error()) != 0) {
		ERR_error_string_n(code, line, sizeof(line));
		err_append(err, first ? ": " : "; ");
		err_append(err, line);
		first = 0;
	}
	return -1;
}

/* mc_err_prefix - prepend context to the message. */
int
mc_err_prefix(struct mc_err *err, const char *fmt, ...)
{
	char ctx[512];
	char old[MC_ERR_MSG_MAX];
	va_list ap;

	if (err == NULL)
		return -1;
	va_start(ap, fmt);
	vsnprintf(ctx, sizeof(ctx), fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof(old));
	snprintf(err->msg, sizeof(err->msg), "%s: ", ctx);
	mc_text_scrub(err->msg);
	err_append(err, old);
	if (err->cat == MC_ERR_NONE)
		err->cat = MC_ERR_SYS;
	return -1;
}

/* mc_err_exit_code - map a category to the exit codes of INTERFACE.md. */
int
mc_err_exit_code(enum mc_err_cat cat)
{
	switch (cat) {
	case MC_ERR_NONE:
		return 0;
	case MC_ERR_USAGE:
	case MC_ERR_CONFIG:
		return 2;
	case MC_ERR_VERIFY:
		return 3;
	case MC_ERR_LOCKED:
		return 4;
	default:
		return 1;
	}
}

/* mc_err_cat_name - short stable name of a category. */
const char *
mc_err_cat_name(enum mc_err_cat cat)
{
	static const char *const names[] = {
		[MC_ERR_NONE] = "none",       [MC_ERR_USAGE] = "usage",
		[MC_ERR_CONFIG] = "config",   [MC_ERR_SYS] = "system",
		[MC_ERR_CRYPTO] = "crypto",   [MC_ERR_NET] = "network",
		[MC_ERR_CA] = "ca",           [MC_ERR_CHALLENGE] = "challenge",
		[MC_ERR_INPUT] = "input",     [MC_ERR_DEPLOY] = "deploy",
		[MC_ERR_HOOK] = "hook",       [MC_ERR_VERIFY] = "verify",
		[MC_ERR_LOCKED] = "locked",   [MC_ERR_INTERRUPTED] = "interrupted",
	};

	if ((size_t)cat >= sizeof(names) / sizeof(names[0]))
		return "unknown";
	return names[cat];
}
