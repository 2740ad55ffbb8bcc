/* Buffered output with fast integer formatting: the text writers produce millions of
 * lines a second, and stdio's per-call locking and printf parsing would dominate. */
#ifndef DM_BASE_OBUF_H
#define DM_BASE_OBUF_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct obuf {
	char *buf;
	size_t len, cap;
	int fd;          /* flushed with write(2) when full; -1: grow in memory instead */
	int failed;      /* errno of the first failed write (EPIPE, ENOSPC): further output is dropped */
};

void obuf_init_fd(struct obuf *o, int fd);     /* 1 MiB buffer to a file descriptor */
void obuf_init_mem(struct obuf *o);            /* growable in-memory string */
/* Both return 0, or the errno of the first failed write since init (issue 9: every write is
 * checked; a caller whose output failed says so and exits 3). */
int obuf_flush(struct obuf *o);
int obuf_free(struct obuf *o);                 /* flushes first when fd-backed */
void obuf_grow_(struct obuf *o, size_t need);
/* obuf_put for text that is large and ready (16 KB or more): written to the descriptor with what
 * is buffered (one writev), not copied through the buffer (dump's batches decoded on its second
 * thread, cmd/dump.c: the copy of all output was 8% of the instructions, callgrind). */
void obuf_put_big(struct obuf *o, const void *s, size_t n);

static inline void obuf_reserve(struct obuf *o, size_t n)
{
	if (o->cap - o->len < n)
		obuf_grow_(o, n);
}

static inline void obuf_put(struct obuf *o, const void *s, size_t n)
{
	obuf_reserve(o, n);
	memcpy(o->buf + o->len, s, n);
	o->len += n;
}

static inline void obuf_puts(struct obuf *o, const char *s) { obuf_put(o, s, strlen(s)); }

static inline void obuf_putc(struct obuf *o, char c)
{
	obuf_reserve(o, 1);
	o->buf[o->len++] = c;
}

void obuf_u64(struct obuf *o, uint64_t v);
static inline void obuf_u32(struct obuf *o, uint32_t v) { obuf_u64(o, v); }
void obuf_i64(struct obuf *o, int64_t v);
/* Zero-padded to width digits (for microseconds "%06u"). */
void obuf_u32_pad(struct obuf *o, uint32_t v, int width);
void obuf_printf(struct obuf *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
