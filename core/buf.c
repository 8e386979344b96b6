/*
 * buf.c - growable byte buffer with a hard size cap.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "mailcert/buf.h"

#define BUF_DEFAULT_MAX ((size_t)64 * 1024 * 1024)

/* mc_buf_init - an empty buffer that may grow to max bytes. */
void
mc_buf_init(struct mc_buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max ? max : BUF_DEFAULT_MAX;
}

/* buf_grow - make room for need more bytes plus the NUL. */
static int
buf_grow(struct mc_buf *b, size_t need, struct mc_err *err)
{
	size_t cap;
	char *p;

	if (need > b->max || b->len > b->max - need)
		return mc_err_set(err, MC_ERR_INPUT,
				  "data exceeds the limit of %zu bytes", b->max);
	if (b->len + need + 1 <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 256;
	while (cap < b->len + need + 1)
		cap *= 2;
	p = realloc(b->data, cap);
	if (p == NULL)
		return mc_err_errno(err, MC_ERR_SYS, "out of memory");
	b->data = p;
	b->cap = cap;
	return 0;
}

/* mc_buf_append - append n bytes. */
int
mc_buf_append(struct mc_buf *b, const void *p, size_t n, struct mc_err *err)
{
	if (buf_grow(b, n, err) == -1)
		return -1;
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

/* mc_buf_appendf - append formatted text. */
int
mc_buf_appendf(struct mc_buf *b, struct mc_err *err, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return mc_err_set(err, MC_ERR_SYS, "cannot format text");
	if (buf_grow(b, (size_t)n, err) == -1)
		return -1;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

/* mc_buf_take - hand the data over to the caller. */
char *
mc_buf_take(struct mc_buf *b)
{
	char *p = b->data;

	if (p == NULL)
		p = calloc(1, 1);
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	return p;
}

/* mc_buf_free - free the data. */
void
mc_buf_free(struct mc_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

/* mc_buf_clear_free - cleanse, then free. */
void
mc_buf_clear_free(struct mc_buf *b)
{
	if (b->data != NULL)
		OPENSSL_clear_free(b->data, b->cap);
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}
