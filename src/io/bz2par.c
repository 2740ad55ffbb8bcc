/* Block-parallel bzip2 decoding (bz2par.h says what and when). The format (bzip2 1.0.x, as
 * libbz2 writes and reads it): a stream is "BZh" and a level digit, then blocks, each starting
 * with the 48-bit magic 0x314159265359 and its 32-bit block CRC, at any bit offset; then the
 * end-of-stream magic 0x177245385090 and the 32-bit stream CRC (each block CRC folded in with a
 * one-bit rotation), padded to a byte. Streams may follow one another (pbzip2, lbzip2).
 *
 * The caller's thread scans ahead for block boundaries and queues up to two blocks a thread; the worker
 * threads, and the caller while it waits for the next block in order, decode them. Each block is
 * copied out of the scan buffer as a one-block stream of its own, so no two threads share a
 * byte of input or output. Each block is decoded by darkmap's own decoder (bz2dec.h: measured
 * against libbz2 in docs/dump.md); whatever it does not take (a bad CRC, an invalid table, a
 * randomised block, anything) is decoded again with libbz2, exactly as before it existed, so
 * errors, offsets and counts on damaged files stay libbz2's. DARKMAP_BZ2DEC=0: libbz2 only. */
#include "io/bz2par.h"
#include "io/bz2dec.h"

#include <bzlib.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAGIC_BLOCK 0x314159265359ULL
#define MAGIC_EOS 0x177245385090ULL
#define MASK48 0xffffffffffffULL

/* Blocks in flight: two a thread, one decoding and one waiting (each slot holds up to a block in
 * and out, about 3 MB at level 9); at most MAX_SLOTS.
 * READ: the scan buffer grows by this much. OUT_MAX: a block's output is at most about 46 MB
 * (900 KB of run-length pairs each giving 255 bytes); anything beyond means a false block. */
enum { MAX_SLOTS = 32, READ = 1 << 20, OUT_MAX = 64 << 20 };

enum job_state { J_EMPTY, J_QUEUED, J_TAKEN, J_DONE, J_FAILED };

struct job {
	uint8_t *in;        /* the block as a one-block stream */
	size_t in_len, in_cap;
	uint8_t *out;
	size_t out_len, out_cap;
	uint64_t end_byte;  /* compressed bytes covered once this block's output is handed out */
	enum job_state state;
};

struct bz2par {
	int fd;
	uint64_t size;
	uint8_t *buf;        /* file bytes [buf_off, buf_off + buf_len) */
	size_t buf_len, buf_cap;
	uint64_t buf_off;
	uint64_t scan_bit;   /* absolute bit where the next magic may start */
	int64_t blk_start;   /* absolute bit of the open block's magic, -1 when none */
	uint32_t blk_crc;
	uint32_t combined;   /* the stream CRC over the blocks queued so far */
	int level;           /* '1'..'9' of the current stream */
	int scan_done;       /* the last stream ended at the end of the file */
	int scan_failed;     /* the scanner met something this path does not handle */
	int truncated;       /* ... namely a file cut inside a stream, clean as far as it goes */
	int failed;          /* sticky: bz2par_next returns -1 from now on */

	struct job job[MAX_SLOTS];
	unsigned slots;      /* in use */
	uint64_t next_queue, next_take, next_out;  /* block sequence numbers; slot = n % slots */
	int handed;          /* the slot handed out by the last call, to be freed by the next */
	uint64_t consumed;

	pthread_mutex_t mu;
	pthread_cond_t work, done;
	int stop;
	int nthreads;
	pthread_t *threads;
	int own_dec;         /* blocks go to bz2dec first (DARKMAP_BZ2DEC unset or not "0") */
	struct bz2dec *dec;  /* the caller's thread's (the workers have their own) */
	uint8_t maybe[256];  /* byte values that can be a magic's second byte: bit k = shift k */
};

/* ---------- bits ---------- */

/* The 8 bits of the scan buffer starting at absolute bit `bit` (zeros past its end). */
static inline unsigned bits8(const struct bz2par *p, uint64_t bit)
{
	size_t i = (size_t)((bit >> 3) - p->buf_off);
	unsigned sh = (unsigned)(bit & 7);
	unsigned hi = i < p->buf_len ? p->buf[i] : 0, lo = i + 1 < p->buf_len ? p->buf[i + 1] : 0;
	return ((hi << 8 | lo) << sh >> 8) & 0xff;
}

static uint32_t bits32(const struct bz2par *p, uint64_t bit)
{
	uint32_t v = 0;
	for (int k = 0; k < 4; k++)
		v = v << 8 | bits8(p, bit + 8u * (unsigned)k);
	return v;
}

struct bitw {
	uint8_t *b;
	size_t n;
	uint64_t acc;
	unsigned nacc;
};

static inline void putbits(struct bitw *w, uint64_t v, unsigned n)  /* n <= 32 */
{
	w->acc = w->acc << n | (v & ((1ULL << n) - 1));
	w->nacc += n;
	while (w->nacc >= 8) {
		w->nacc -= 8;
		w->b[w->n++] = (uint8_t)(w->acc >> w->nacc);
	}
}

/* ---------- scanning ---------- */

/* Reads more of the file into the scan buffer, first dropping what lies before `keep_bit`.
 * 1 when bytes came, 0 at the end of the file, -1 on an error or a file shorter than its size. */
static int read_more(struct bz2par *p, uint64_t keep_bit)
{
	uint64_t keep = keep_bit >> 3;
	if (keep > p->buf_off) {
		size_t drop = (size_t)(keep - p->buf_off);
		if (drop > p->buf_len)
			drop = p->buf_len;
		memmove(p->buf, p->buf + drop, p->buf_len - drop);
		p->buf_len -= drop;
		p->buf_off += drop;
	}
	uint64_t at = p->buf_off + p->buf_len;
	if (at >= p->size)
		return 0;
	if (p->buf_cap - p->buf_len < READ) {
		size_t cap = p->buf_len + READ;
		uint8_t *nb = realloc(p->buf, cap);
		if (!nb)
			return -1;
		p->buf = nb;
		p->buf_cap = cap;
	}
	size_t want = p->size - at < READ ? (size_t)(p->size - at) : READ;
	ssize_t k;
	do
		k = pread(p->fd, p->buf + p->buf_len, want, (off_t)at);
	while (k < 0 && errno == EINTR);
	if (k <= 0)
		return -1;   /* an error, or the file shrank: the sequential decoder says which */
	p->buf_len += (size_t)k;
	return 1;
}

/* The first block or end-of-stream magic at or after absolute bit `from` in the scan buffer:
 * its bit, with *eos set for the end-of-stream one; -1 when none starts early enough to be
 * whole in the buffer. */
static int64_t find_magic(const struct bz2par *p, uint64_t from, int *eos)
{
	if ((from >> 3) < p->buf_off)
		return -1;
	size_t i = (size_t)((from >> 3) - p->buf_off);
	for (; i + 8 <= p->buf_len; i++) {
		unsigned m = p->maybe[p->buf[i + 1]];
		if (!m)
			continue;
		uint64_t w = 0;
		for (int k = 0; k < 8; k++)
			w = w << 8 | p->buf[i + (size_t)k];
		for (unsigned sh = 0; sh < 8; sh++) {
			if (!(m >> sh & 1))
				continue;
			uint64_t bit = (p->buf_off + i) * 8 + sh;
			if (bit < from)
				continue;
			uint64_t v = w >> (16 - sh) & MASK48;
			if (v == MAGIC_BLOCK || v == MAGIC_EOS) {
				*eos = v == MAGIC_EOS;
				return (int64_t)bit;
			}
		}
	}
	return -1;
}

/* Writes into j->in a stream of its own: the header of the current level, then bits [from, end)
 * of the file, then (close) the end-of-stream magic with crc as the stream CRC, padded to a byte.
 * -1 when out of memory. */
static int one_block_stream(struct bz2par *p, struct job *j, uint64_t from, uint64_t end, int close, uint32_t crc)
{
	size_t cap = (size_t)((end - from) / 8) + 4 + 16;
	if (j->in_cap < cap) {
		uint8_t *nb = realloc(j->in, cap);
		if (!nb)
			return -1;
		j->in = nb;
		j->in_cap = cap;
	}
	struct bitw w = { j->in, 0, 0, 0 };
	putbits(&w, 'B', 8);
	putbits(&w, 'Z', 8);
	putbits(&w, 'h', 8);
	putbits(&w, (uint64_t)p->level, 8);
	/* whole bytes straight from the scan buffer (the writer is at a byte boundary after the
	 * header; every byte read holds bits before end, so within the buffer), then the tail */
	uint64_t nbytes = (end - from) / 8, bit = from + nbytes * 8;
	if (nbytes && (from >> 3) >= p->buf_off && (end + 7) / 8 <= p->buf_off + p->buf_len) {
		const uint8_t *src = p->buf + ((from >> 3) - p->buf_off);
		unsigned sh = (unsigned)(from & 7);
		uint8_t *dst = w.b + w.n;
		if (sh == 0) {
			memcpy(dst, src, (size_t)nbytes);
		} else {
			for (size_t k = 0; k < nbytes; k++)
				dst[k] = (uint8_t)(src[k] << sh | src[k + 1] >> (8 - sh));
		}
		w.n += (size_t)nbytes;
	} else {
		for (bit = from; bit + 8 <= end; bit += 8)
			putbits(&w, bits8(p, bit), 8);
	}
	if (end > bit)
		putbits(&w, bits8(p, bit) >> (8 - (end - bit)), (unsigned)(end - bit));
	if (close) {
		putbits(&w, MAGIC_EOS >> 24, 24);
		putbits(&w, MAGIC_EOS & 0xffffff, 24);
		putbits(&w, crc, 32);
	}
	if (w.nacc)
		putbits(&w, 0, 8 - w.nacc);
	j->in_len = w.n;
	return 0;
}

/* Copies the open block, bits [blk_start, end), into job j as a one-block stream (the stream CRC
 * of one block is its block CRC). */
static int make_job(struct bz2par *p, struct job *j, uint64_t end, uint64_t end_byte)
{
	if (one_block_stream(p, j, (uint64_t)p->blk_start, end, 1, p->blk_crc) < 0)
		return -1;
	j->end_byte = end_byte;
	j->out_len = 0;
	p->combined = (p->combined << 1 | p->combined >> 31) ^ p->blk_crc;
	return 0;
}

/* The file ends inside a stream (no end-of-stream magic): is what is there of the last block
 * clean as far as it goes? libbz2 is given it as a stream of its own: when it takes every byte
 * and asks for more, without output (a block's output comes only once the block is whole), the
 * sequential decoder would have stopped at the same point the same way, and the reader reports
 * the cut as it does. Anything else (a data error in the piece) goes back to the sequential
 * decoder. Uses job j's buffers as scratch. */
static int cut_clean(struct bz2par *p, struct job *j)
{
	uint64_t end = (p->buf_off + p->buf_len) * 8;
	uint64_t from = p->blk_start >= 0 ? (uint64_t)p->blk_start : p->scan_bit;
	if (from > end || (from >> 3) < p->buf_off || one_block_stream(p, j, from, end, 0, 0) < 0)
		return 0;
	bz_stream s;
	memset(&s, 0, sizeof s);
	if (BZ2_bzDecompressInit(&s, 0, 0) != BZ_OK)
		return 0;
	char sink[4096];
	s.next_in = (char *)j->in;
	s.avail_in = (unsigned)j->in_len;
	s.next_out = sink;
	s.avail_out = sizeof sink;
	int br = BZ2_bzDecompress(&s);
	int clean = br == BZ_OK && s.avail_in == 0 && s.avail_out == sizeof sink;
	BZ2_bzDecompressEnd(&s);
	return clean;
}

/* Scans to the end of the next block and fills job j with it: 1 when a job was made, 0 when the
 * file ended cleanly (scan_done), -1 when this path stops (scan_failed). */
static int scan_job(struct bz2par *p, struct job *j)
{
	for (;;) {
		int eos = 0;
		int64_t at = find_magic(p, p->scan_bit, &eos);
		if (at < 0) {
			uint64_t keep = p->blk_start >= 0 ? (uint64_t)p->blk_start : p->scan_bit;
			int r = read_more(p, keep);
			if (r > 0)
				continue;
			/* cut short (the first MB of a RIB), shrunk, or unreadable */
			if (r == 0 && cut_clean(p, j))
				p->truncated = 1;
			p->scan_failed = 1;
			return -1;
		}
		/* the first magic of a stream comes right after its header */
		if (p->blk_start < 0 && (uint64_t)at != p->scan_bit) {
			p->scan_failed = 1;
			return -1;
		}
		if (!eos) {
			/* the magic, the block CRC, and at least the randomised bit and origPtr follow */
			while ((uint64_t)at + 80 > (p->buf_off + p->buf_len) * 8) {
				if (read_more(p, p->blk_start >= 0 ? (uint64_t)p->blk_start : (uint64_t)at) <= 0) {
					p->scan_failed = 1;
					return -1;
				}
			}
			int made = 0;
			if (p->blk_start >= 0) {
				if (make_job(p, j, (uint64_t)at, (uint64_t)at >> 3) < 0) {
					p->scan_failed = 1;
					return -1;
				}
				made = 1;
			}
			p->blk_start = at;
			p->blk_crc = bits32(p, (uint64_t)at + 48);
			p->scan_bit = (uint64_t)at + 80;
			if (made)
				return 1;
			continue;
		}
		/* end of stream: its CRC, then a byte boundary, then the end of the file or a stream */
		uint64_t end_bits = (uint64_t)at + 80, next = (end_bits + 7) / 8;
		while (next + 4 > p->buf_off + p->buf_len && next < p->size) {
			if (read_more(p, p->blk_start >= 0 ? (uint64_t)p->blk_start : (uint64_t)at) <= 0)
				break;
		}
		if (end_bits > (p->buf_off + p->buf_len) * 8) {
			p->scan_failed = 1;
			return -1;
		}
		int made = 0;
		if (p->blk_start >= 0) {
			if (make_job(p, j, (uint64_t)at, next) < 0) {
				p->scan_failed = 1;
				return -1;
			}
			made = 1;
		}
		uint32_t stored = bits32(p, (uint64_t)at + 48);
		if (stored != p->combined) {
			p->scan_failed = 1;
			return -1;
		}
		p->blk_start = -1;
		p->combined = 0;
		if (next == p->size) {
			p->scan_done = 1;
		} else {
			size_t i = (size_t)(next - p->buf_off);
			if (next + 4 > p->buf_off + p->buf_len || memcmp(p->buf + i, "BZh", 3) ||
			    p->buf[i + 3] < '1' || p->buf[i + 3] > '9') {
				p->scan_failed = 1;   /* padding or trailing bytes: the sequential path notes them */
				return made ? 1 : -1;
			}
			p->level = p->buf[i + 3];
			p->scan_bit = (next + 4) * 8;
		}
		if (made)
			return 1;
		if (p->scan_done)
			return 0;
	}
}

/* ---------- decoding ---------- */

/* Decodes job j (taken by this thread) with libbz2 or, first when dec is not NULL, with bz2dec:
 * J_DONE or J_FAILED, which the caller stores under the lock. */
static enum job_state decode_job(struct job *j, struct bz2dec *dec)
{
	if (dec) {
		struct bz2dec_out o = { j->out, 0, j->out_cap, OUT_MAX };
		int rc = bz2dec_stream(dec, j->in, j->in_len, &o);
		j->out = o.buf;
		j->out_cap = o.cap;
		if (rc == BZ2DEC_OK) {
			j->out_len = o.len;
			return J_DONE;
		}
	}
	bz_stream s;
	memset(&s, 0, sizeof s);
	if (BZ2_bzDecompressInit(&s, 0, 0) != BZ_OK)
		return J_FAILED;
	s.next_in = (char *)j->in;
	s.avail_in = (unsigned)j->in_len;
	j->out_len = 0;
	int ok = 0;
	for (;;) {
		if (j->out_cap - j->out_len < 64 * 1024) {
			size_t cap = j->out_cap ? j->out_cap * 2 : 1 << 20;
			uint8_t *nb = cap <= OUT_MAX ? realloc(j->out, cap) : NULL;
			if (!nb)
				break;
			j->out = nb;
			j->out_cap = cap;
		}
		s.next_out = (char *)j->out + j->out_len;
		s.avail_out = (unsigned)(j->out_cap - j->out_len);
		unsigned before = s.avail_out, in_before = s.avail_in;
		int br = BZ2_bzDecompress(&s);
		j->out_len += before - s.avail_out;
		if (br == BZ_STREAM_END) {
			ok = s.avail_in == 0;
			break;
		}
		if (br != BZ_OK || (s.avail_out == before && s.avail_in == in_before))
			break;
	}
	BZ2_bzDecompressEnd(&s);
	return ok ? J_DONE : J_FAILED;
}

/* With the lock held and a queued block nobody has taken: takes the oldest, decodes it without
 * the lock, stores its state and wakes whoever waits for it. The workers and the reading thread
 * (while it waits for the next block in order) both call it. */
static void take_and_decode(struct bz2par *p, struct bz2dec *dec)
{
	struct job *j = &p->job[p->next_take++ % p->slots];
	j->state = J_TAKEN;
	pthread_mutex_unlock(&p->mu);
	enum job_state st = decode_job(j, dec);
	pthread_mutex_lock(&p->mu);
	j->state = st;
	pthread_cond_broadcast(&p->done);
}

static void *worker(void *arg)
{
	struct bz2par *p = arg;
	struct bz2dec *dec = p->own_dec ? bz2dec_new() : NULL;   /* NULL: libbz2 only */
	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (!p->stop && p->next_take == p->next_queue)
			pthread_cond_wait(&p->work, &p->mu);
		if (p->stop)
			break;
		take_and_decode(p, dec);
	}
	pthread_mutex_unlock(&p->mu);
	bz2dec_free(dec);
	return NULL;
}

/* ---------- the interface ---------- */

struct bz2par *bz2par_open(int fd, uint64_t size, int threads)
{
	struct bz2par *p = calloc(1, sizeof *p);
	if (!p)
		return NULL;
	p->fd = fd;
	p->size = size;
	p->blk_start = -1;
	p->handed = -1;
	for (unsigned sh = 0; sh < 8; sh++) {
		p->maybe[MAGIC_BLOCK >> (32 + sh) & 0xff] |= (uint8_t)(1u << sh);
		p->maybe[MAGIC_EOS >> (32 + sh) & 0xff] |= (uint8_t)(1u << sh);
	}
	if (read_more(p, 0) <= 0 || p->buf_len < 4 || memcmp(p->buf, "BZh", 3) || p->buf[3] < '1' || p->buf[3] > '9') {
		free(p->buf);
		free(p);
		return NULL;
	}
	p->level = p->buf[3];
	p->scan_bit = 32;
	const char *own = getenv("DARKMAP_BZ2DEC");
	p->own_dec = !(own && !strcmp(own, "0"));
	if (p->own_dec)
		p->dec = bz2dec_new();
	p->slots = threads < 1 ? 2 : threads > MAX_SLOTS / 2 ? MAX_SLOTS : 2 * (unsigned)threads;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->work, NULL);
	pthread_cond_init(&p->done, NULL);
	if (threads > 1 && (p->threads = calloc((size_t)threads - 1, sizeof *p->threads))) {
		for (int i = 0; i < threads - 1; i++) {
			if (pthread_create(&p->threads[i], NULL, worker, p) != 0)
				break;
			p->nthreads++;
		}
	}
	return p;
}

ssize_t bz2par_next(struct bz2par *p, const uint8_t **data)
{
	for (;;) {
		if (p->failed)
			return p->truncated ? -2 : -1;
		pthread_mutex_lock(&p->mu);
		if (p->handed >= 0) {
			p->job[p->handed].state = J_EMPTY;
			p->handed = -1;
		}
		pthread_mutex_unlock(&p->mu);
		/* queue blocks while slots are free (the scan runs on this thread, without the lock:
		 * the workers touch only jobs already queued) */
		while (p->next_queue - p->next_out < p->slots && !p->scan_done && !p->scan_failed) {
			struct job *j = &p->job[p->next_queue % p->slots];
			if (scan_job(p, j) != 1)
				break;
			pthread_mutex_lock(&p->mu);
			j->state = J_QUEUED;
			p->next_queue++;
			pthread_cond_signal(&p->work);
			pthread_mutex_unlock(&p->mu);
		}
		if (p->next_out == p->next_queue) {
			if (p->scan_done && !p->scan_failed)
				return 0;
			p->failed = 1;
			return p->truncated ? -2 : -1;
		}
		struct job *j = &p->job[p->next_out % p->slots];
		pthread_mutex_lock(&p->mu);
		while (j->state != J_DONE && j->state != J_FAILED) {
			if (p->next_take < p->next_queue) {
				take_and_decode(p, p->dec);   /* help: the oldest block nobody has taken */
			} else {
				pthread_cond_wait(&p->done, &p->mu);
			}
		}
		enum job_state st = j->state;
		pthread_mutex_unlock(&p->mu);
		if (st == J_FAILED) {
			p->failed = 1;
			return -1;
		}
		p->handed = (int)(p->next_out % p->slots);
		p->next_out++;
		p->consumed = j->end_byte;
		if (j->out_len) {
			*data = j->out;
			return (ssize_t)j->out_len;
		}
	}
}

uint64_t bz2par_consumed(const struct bz2par *p) { return p->consumed; }

void bz2par_close(struct bz2par *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	p->stop = 1;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->mu);
	for (int i = 0; i < p->nthreads; i++)
		pthread_join(p->threads[i], NULL);
	free(p->threads);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->work);
	pthread_cond_destroy(&p->done);
	for (int i = 0; i < MAX_SLOTS; i++) {
		free(p->job[i].in);
		free(p->job[i].out);
	}
	bz2dec_free(p->dec);
	free(p->buf);
	free(p);
}
