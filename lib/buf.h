/*
 * buf — a bounded, growable byte buffer that is always NUL-terminated.
 *
 * Every buffer has a maximum size chosen by its owner (the body limit of a
 * request, the output cap of a subprocess, ...). Appending past it fails with
 * BERR_TOOLARGE and leaves the buffer as it was; so does running out of
 * memory (BERR_NOMEM). This is curl's dynbuf "toobig" idea: no buffer in
 * Berth grows without bound.
 *
 *     struct buf b;
 *     buf_init(&b, 1 << 20);
 *     if (buf_printf(&b, "%s=%d", key, n) < 0) ...
 *     use(b.ptr, b.len);
 *     buf_release(&b);
 *
 * ptr is never NULL after buf_init (it points at a static "" until the first
 * append), and ptr[len] is always '\0', so a buf holding text is a C string.
 */
#ifndef BERTH_BUF_H
#define BERTH_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
	char *ptr;   /* owned unless it points at the static empty string */
	size_t len;  /* bytes used, not counting the trailing NUL */
	size_t cap;  /* bytes allocated (0 while ptr is the static "") */
	size_t max;  /* the bound on len */
};

/* A bound for buffers whose owner has no better one. */
#define BUF_DEFAULT_MAX ((size_t)64 << 20)

/* Initialises an empty buffer that may hold at most max bytes. Cannot fail. */
void buf_init(struct buf *b, size_t max);

/* Frees the memory and leaves b empty (still usable, same max). */
void buf_release(struct buf *b);

/* Empties b, keeping its memory. */
void buf_reset(struct buf *b);

/* Makes room for at least extra more bytes. 0, BERR_TOOLARGE or BERR_NOMEM. */
int buf_grow(struct buf *b, size_t extra);

/* Appends bytes / a C string / one byte. 0 or a BERR code; b unchanged on
 * failure. */
int buf_append(struct buf *b, const void *data, size_t len);
int buf_puts(struct buf *b, const char *s);
int buf_putc(struct buf *b, char c);

/* Appends formatted text. 0 or a BERR code; b unchanged on failure. */
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

/* Appends s percent-encoded for a URL path segment or query value: the
 * RFC 3986 unreserved characters (A-Z a-z 0-9 - . _ ~) as they are, every
 * other byte as "%XX" (upper-case hex). 0 or a BERR code; b unchanged on
 * failure. */
int buf_put_url_escaped(struct buf *b, const char *s);

/* Shortens b to len bytes (no-op when len >= b->len). */
void buf_truncate(struct buf *b, size_t len);

/* Hands the memory to the caller (free() it) and leaves b empty. Returns a
 * newly allocated "" when b never held memory; NULL only if that allocation
 * fails. If ret_len is not NULL it receives the length. */
char *buf_detach(struct buf *b, size_t *ret_len);

#endif
