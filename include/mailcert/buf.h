/*
 * buf.h - growable byte buffer with a hard size cap.
 *
 * The buffer owns `data`, which is always NUL-terminated (the NUL is not
 * counted in `len`). Appending past `max` fails with MC_ERR_INPUT and
 * leaves the buffer as it was. Buffers that held secrets are released with
 * mc_buf_clear_free(), which cleanses the memory.
 */
#ifndef MAILCERT_BUF_H
#define MAILCERT_BUF_H

#include <stddef.h>

#include "mailcert/err.h"

struct mc_buf {
	char *data;
	size_t len;
	size_t cap;
	size_t max; /* 0 = 64 MiB */
};

/* mc_buf_init - an empty buffer that may grow to max bytes. */
void mc_buf_init(struct mc_buf *b, size_t max);

/* mc_buf_append - append n bytes; -1 with MC_ERR_INPUT past the cap. */
int mc_buf_append(struct mc_buf *b, const void *p, size_t n, struct mc_err *err);

/* mc_buf_appendf - append formatted text. */
int mc_buf_appendf(struct mc_buf *b, struct mc_err *err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* mc_buf_take - hand the data to the caller (free()), leaving b empty. */
char *mc_buf_take(struct mc_buf *b);

/* mc_buf_free - free the data; b becomes empty. */
void mc_buf_free(struct mc_buf *b);

/* mc_buf_clear_free - cleanse, then free the data. */
void mc_buf_clear_free(struct mc_buf *b);

#endif
