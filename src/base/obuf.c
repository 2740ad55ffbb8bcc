#include "base/obuf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/uio.h>
#include <unistd.h>

/* OBUF_FD_CAP: 256 KB, not 1 MB: the buffer is filled once before its first write, each of its
 * pages a page fault (190 fewer in a serial dump -m of a 6 MB file, where a fault cost 10 us:
 * bench/touch.c); 4x the writes of 1 MB cost nothing measurable. */
enum { OBUF_FD_CAP = 1 << 18, OBUF_BIG = 16 << 10 };

static void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n);
	if (!q) {
		/* Out of memory for an output buffer: nothing sensible remains to do. */
		fputs("darkmap: out of memory\n", stderr);
		_exit(70);
	}
	return q;
}

void obuf_init_fd(struct obuf *o, int fd)
{
	o->cap = OBUF_FD_CAP;
	o->buf = xrealloc(NULL, o->cap);
	o->len = 0;
	o->fd = fd;
	o->failed = 0;
}

void obuf_init_mem(struct obuf *o)
{
	o->cap = 256;
	o->buf = xrealloc(NULL, o->cap);
	o->len = 0;
	o->fd = -1;
	o->failed = 0;
}

/* Writes n bytes of s to o's descriptor unless a write failed before; sets o->failed. */
static void write_all(struct obuf *o, const char *s, size_t n)
{
	size_t off = 0;
	while (off < n && !o->failed) {
		ssize_t w = write(o->fd, s + off, n - off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			o->failed = errno ? errno : EIO;
			break;
		}
		if (w == 0) {   /* not an error by POSIX, but no progress either */
			o->failed = EIO;
			break;
		}
		off += (size_t)w;
	}
}

int obuf_flush(struct obuf *o)
{
	if (o->fd < 0)
		return 0;
	write_all(o, o->buf, o->len);
	o->len = 0;
	return o->failed;
}

void obuf_put_big(struct obuf *o, const void *s, size_t n)
{
	if (o->fd < 0 || n < OBUF_BIG) {
		obuf_put(o, s, n);
		return;
	}
	/* what is buffered and s in one writev; what a short write leaves, with write_all */
	struct iovec v[2] = { { o->buf, o->len }, { (void *)s, n } };
	ssize_t w;
	do
		w = o->failed ? 0 : writev(o->fd, v, 2);
	while (w < 0 && errno == EINTR);
	if (w < 0) {
		o->failed = errno ? errno : EIO;
	} else if ((size_t)w < o->len + n && !o->failed) {
		size_t done = (size_t)w;
		if (done < o->len) {
			write_all(o, o->buf + done, o->len - done);
			done = 0;
		} else {
			done -= o->len;
		}
		write_all(o, (const char *)s + done, n - done);
	}
	o->len = 0;
}

void obuf_grow_(struct obuf *o, size_t need)
{
	if (o->fd >= 0) {
		obuf_flush(o);
		if (o->cap - o->len >= need)
			return;
	}
	size_t cap = o->cap * 2;
	while (cap - o->len < need)
		cap *= 2;
	o->buf = xrealloc(o->buf, cap);
	o->cap = cap;
}

int obuf_free(struct obuf *o)
{
	int rc = obuf_flush(o);
	free(o->buf);
	o->buf = NULL;
	o->len = o->cap = 0;
	return rc;
}

void obuf_u64(struct obuf *o, uint64_t v)
{
	char tmp[20];
	int n = 0;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	obuf_reserve(o, (size_t)n);
	char *d = o->buf + o->len;
	for (int i = 0; i < n; i++)
		d[i] = tmp[n - 1 - i];
	o->len += (size_t)n;
}

void obuf_i64(struct obuf *o, int64_t v)
{
	if (v < 0) {
		obuf_putc(o, '-');
		obuf_u64(o, (uint64_t)0 - (uint64_t)v);
	} else {
		obuf_u64(o, (uint64_t)v);
	}
}

void obuf_u32_pad(struct obuf *o, uint32_t v, int width)
{
	char tmp[12];
	int n = 0;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v && n < 11);
	while (n < width && n < 11)
		tmp[n++] = '0';
	obuf_reserve(o, (size_t)n);
	for (int i = 0; i < n; i++)
		o->buf[o->len + (size_t)i] = tmp[n - 1 - i];
	o->len += (size_t)n;
}

void obuf_printf(struct obuf *o, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	obuf_reserve(o, (size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(o->buf + o->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	o->len += (size_t)n;
}
