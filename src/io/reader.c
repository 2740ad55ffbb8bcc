/* Transparent decompression with the Debian libraries (zlib or ISA-L, libbz2, liblzma, libzstd).
 * Errors are deferred: bytes decompressed before a corrupt or truncated stream are returned
 * first, the error comes with the next call, so a reader never loses readable data.
 *
 * gzip goes through ISA-L's streaming isal_inflate where the build found libisal (DM_HAVE_ISAL,
 * Makefile) and the input can be read again (a regular file: the replay below); zlib otherwise,
 * and always for pipes. Measured on this 2-core machine (CPU time, best of 5, 2 Dec 2026): the
 * five gz files of ../shared/data/mrt over 1 MB concatenated, 11.1 MB -> 61.0 MB:
 *   zlib 1.2.13 inflate        0.125 s   488 MB/s  (the floor of dump -m: 1.33x gzip -dc)
 *   ISA-L 2.30 isal_inflate    0.055 s  1103 MB/s  0.44x zlib, streaming, Debian 12 libisal-dev
 *   libdeflate 1.14            0.052 s  1165 MB/s  0.42x zlib, but whole-buffer only: no
 *                                                  streaming API, so a 400 MB bview would need
 *                                                  its whole output (GBs) in memory, and a cut
 *                                                  file gives nothing, where every record
 *                                                  before the damage must come out
 *   zlib-ng                    -                   not in Debian 12 (libz-ng-dev is Debian 13's)
 * (/tmp program, the same 256 KB output buffer for the streaming two.)
 * ISA-L is within 6% of libdeflate and, of the two, the one that streams. Its errors are not zlib's (other messages, another
 * byte offset: it reads up to 8 bytes ahead), and a stream that is corrupt or ends early must
 * give the same messages, offsets and recovered bytes as before; so on any failure of ISA-L the
 * current gzip member is decoded again by zlib from its first byte (re-read from the file), its
 * output up to what ISA-L already returned is dropped, and zlib goes on from there and says what
 * it says today. Only damaged files pay for that second pass. */
#include "io/reader.h"

#include "base/cpu.h"
#include "io/bz2par.h"

#include <bzlib.h>
#include <errno.h>
#include <fcntl.h>
#include <lzma.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>
#ifdef DM_HAVE_ISAL
#include <isa-l/igzip_lib.h>
#endif
#include <pthread.h>
#include <stdatomic.h>

/* IN_CAP: the compressed input buffer, smaller for a smaller regular file (at least IN_MIN): a
 * fixed 256 KB per open cost the fuzz target more than a small input's decoding. The ring of the
 * decompression thread: RING blocks of BLOCK bytes, the first filled to BLOCK_FIRST, each next one
 * to twice the last, so that the first records reach the decoders after 16 KB are inflated, not
 * 256 KB. Every page of these is touched for the first time in a 30 ms dump -m: 256 KB input and
 * 8 blocks of 256 KB had been 500-600 page faults more than now (docs/dump.md, "Page faults,
 * start-up, the copies"). Smaller blocks cost ISA-L calls (each keeps the 32 KB window): 64 KB
 * blocks made 248 calls on the 2002 bview; 4 of 128 KB were no clearer a gain. */
enum { IN_CAP = 64 * 1024, IN_MIN = 4096, RING = 8, BLOCK = 64 * 1024, BLOCK_FIRST = 16 * 1024 };
/* The decompression thread starts only for files at least this large (or pipes): see
 * dm_reader_open. */
enum { THREAD_MIN_FILE = 256 * 1024 };

struct dm_reader {
	int fd;
	char *name;
	enum dm_compression comp;
	uint8_t *in;           /* compressed input buffer, in_cap bytes */
	size_t in_cap;
	size_t in_pos, in_len; /* unread bytes are in[in_pos..in_len) */
	int in_eof;
	uint64_t in_total;     /* compressed bytes read from fd */
	uint64_t file_size;
	int done;              /* end of data reached (or error already reported) */
	int stream_ended;      /* the last compressed member/frame ended cleanly */
	struct dm_error pending;
	int has_pending;
	uint64_t out_total;    /* decompressed bytes returned */
	uint64_t bad_at;       /* compressed offset of the byte where decompression failed */
	uint64_t step_at;      /* compressed offset where that step's input began */
	uint64_t zero_pad;     /* zero bytes skipped after a complete compressed stream */
	uint64_t zero_pad_at;  /* compressed offset where they began */
	int pad_then_data;     /* a further stream followed the zeros */
	char note[160];        /* not an error, said once the input ended (dm_reader_note) */
	union {
		z_stream z;
		bz_stream bz;
		lzma_stream xz;
	} s;
	int z_init;            /* s.z is initialised (zlib decodes gzip) */
	gz_header gz_head;     /* zlib fills it as it reads a member's header: done is 1 once read
	                        * (step: a failure past it is in a member, not after the data) */
#ifdef DM_HAVE_ISAL
	struct inflate_state *isal; /* non-NULL while ISA-L decodes gzip (see the top of this file) */
	int isal_fresh;        /* the next step starts a gzip member: note where */
	uint64_t member_at;    /* compressed offset of the current member's first byte */
	int member_after_end;  /* stream_ended as it was there */
	uint64_t member_out;   /* bytes the current member has produced */
#endif
	int seekable;          /* a regular file: can be read again from an offset */
	size_t raw_made;       /* gzip: output of the last step, before any was dropped */
	int gz_drained;        /* gzip: at the end of input, the decoder holds no more output */
	uint64_t discard;      /* output already returned by ISA-L (zlib's replay) or by the
	                        * block-parallel bzip2 path (the sequential one's): dropped */
	int bz_threads;        /* bzip2 blocks decoded on this many threads (bz2par.h); 0: not */
	ZSTD_DCtx *zstd;
	size_t zstd_hint;      /* input the zstd decoder needs to finish its current block (see step) */
	int zstd_flush;        /* the last zstd call filled the output: flush before giving input */
	uint8_t zstd_hdr[3];   /* the last 3 bytes the previous call was given: the header of the block
	                        * the next call completes (RFC 8878 §3.1.1.2) */
	int s_init;
	int xz_finishing;
	/* Decompression runs in its own thread so that it overlaps decoding (2 cores: the
	 * decoder's time hides behind the decompressor's). Blocks go through a small ring. */
	int threaded;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t nonempty, nonfull;
	struct block {
		uint8_t *data;
		size_t len;
		int status;          /* 0 data, 1 end of input, -1 error (e) */
		struct dm_error e;
	} ring[RING];
	unsigned head, tail, count;  /* consumer takes ring[head], producer fills ring[tail] */
	size_t head_pos;             /* bytes of ring[head] already handed out */
	int stop, finished;
	_Atomic uint64_t consumed;   /* compressed bytes consumed, for progress */
};

static int start_thread(struct dm_reader *r);

const char *dm_compression_name(enum dm_compression c)
{
	switch (c) {
	case DM_COMP_GZIP: return "gzip";
	case DM_COMP_BZIP2: return "bzip2";
	case DM_COMP_XZ: return "xz";
	case DM_COMP_ZSTD: return "zstd";
	default: return "none";
	}
}

/* At the end of a regular file: did it shrink since it was opened (truncated or replaced
 * underneath us)? Then the input ends early, an error with both offsets. */
static int check_shrunk(struct dm_reader *r, uint64_t out_offset, struct dm_error *err)
{
	struct stat st;
	if (!r->file_size || r->in_total >= r->file_size || fstat(r->fd, &st) != 0)
		return 0;
	return dm_fail(err, DM_ERR_IO, out_offset,
	               "file truncated while being read: ends at byte %llu, was %llu bytes when opened, "
	               "%llu now", (unsigned long long)r->in_total, (unsigned long long)r->file_size,
	               (unsigned long long)st.st_size);
}

static const char *lzma_error_name(lzma_ret lr)
{
	switch (lr) {
	case LZMA_FORMAT_ERROR: return "not in the xz format";
	case LZMA_OPTIONS_ERROR: return "unsupported options";
	case LZMA_DATA_ERROR: return "compressed data is corrupt";
	case LZMA_MEM_ERROR: return "out of memory";
	case LZMA_MEMLIMIT_ERROR: return "memory limit reached";
	case LZMA_UNSUPPORTED_CHECK: return "unsupported integrity check";
	default: return "decoder error";
	}
}

static int fill(struct dm_reader *r, struct dm_error *err)
{
	if (r->in_eof)
		return 0;
	if (r->in_pos > 0 && r->in_pos < r->in_len)
		memmove(r->in, r->in + r->in_pos, r->in_len - r->in_pos);
	r->in_len -= r->in_pos;
	r->in_pos = 0;
	while (r->in_len < r->in_cap) {
		ssize_t n = read(r->fd, r->in + r->in_len, r->in_cap - r->in_len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return dm_fail(err, DM_ERR_IO, r->out_total, "read: %s", strerror(errno));
		}
		if (n == 0) {
			r->in_eof = 1;
			if (check_shrunk(r, r->out_total, err) < 0)
				return -1;
			break;
		}
		r->in_len += (size_t)n;
		r->in_total += (uint64_t)n;
		if (r->fd != 0 || r->in_len >= 4096)
			break; /* pipes: don't wait for the whole buffer */
	}
	return 0;
}

static enum dm_compression sniff(const uint8_t *b, size_t n)
{
	if (n >= 2 && b[0] == 0x1f && b[1] == 0x8b)
		return DM_COMP_GZIP;
	if (n >= 3 && b[0] == 'B' && b[1] == 'Z' && b[2] == 'h')
		return DM_COMP_BZIP2;
	if (n >= 6 && !memcmp(b, "\xfd" "7zXZ\0", 6))
		return DM_COMP_XZ;
	if (n >= 4 && b[0] == 0x28 && b[1] == 0xb5 && b[2] == 0x2f && b[3] == 0xfd)
		return DM_COMP_ZSTD;
	return DM_COMP_NONE;
}

/* Asks zlib to fill r->gz_head as it reads the next member's header (again after each reset:
 * inflateReset forgets it), so that a failure can be placed in a member or after the data. */
static void gz_watch_header(struct dm_reader *r)
{
	memset(&r->gz_head, 0, sizeof r->gz_head);
	inflateGetHeader(&r->s.z, &r->gz_head);
}

static int stream_init(struct dm_reader *r)
{
	memset(&r->s, 0, sizeof r->s);
	switch (r->comp) {
	case DM_COMP_GZIP: {
#ifdef DM_HAVE_ISAL
		/* DARKMAP_INFLATE=zlib: zlib throughout (make bench times both; fuzz_reader compares) */
		const char *which = getenv("DARKMAP_INFLATE");
		if (r->seekable && !(which && !strcmp(which, "zlib"))) {
			r->isal = malloc(sizeof *r->isal);
			if (!r->isal)
				return -1;
			isal_inflate_init(r->isal);
			r->isal->crc_flag = ISAL_GZIP;
			r->isal_fresh = 1;
			break;
		}
#endif
		/* 15 + 32: zlib or gzip header, detected */
		if (inflateInit2(&r->s.z, 15 + 32) != Z_OK)
			return -1;
		r->z_init = 1;
		gz_watch_header(r);
		break;
	}
	case DM_COMP_BZIP2:
		if (BZ2_bzDecompressInit(&r->s.bz, 0, 0) != BZ_OK)
			return -1;
		break;
	case DM_COMP_XZ: {
		lzma_stream init = LZMA_STREAM_INIT;
		r->s.xz = init;
		if (lzma_stream_decoder(&r->s.xz, UINT64_MAX, LZMA_CONCATENATED) != LZMA_OK)
			return -1;
		break;
	}
	case DM_COMP_ZSTD:
		r->zstd = ZSTD_createDCtx();
		r->zstd_hint = 1;
		if (!r->zstd)
			return -1;
		break;
	default:
		break;
	}
	r->s_init = 1;
	return 0;
}

static void stream_end(struct dm_reader *r)
{
	if (!r->s_init)
		return;
	switch (r->comp) {
	case DM_COMP_GZIP:
		if (r->z_init)
			inflateEnd(&r->s.z);
		r->z_init = 0;
#ifdef DM_HAVE_ISAL
		free(r->isal);
		r->isal = NULL;
#endif
		break;
	case DM_COMP_BZIP2: BZ2_bzDecompressEnd(&r->s.bz); break;
	case DM_COMP_XZ: lzma_end(&r->s.xz); break;
	case DM_COMP_ZSTD: ZSTD_freeDCtx(r->zstd); r->zstd = NULL; break;
	default: break;
	}
	r->s_init = 0;
}

struct dm_reader *dm_reader_open(const char *path, struct dm_error *err)
{
	int fd = strcmp(path, "-") ? open(path, O_RDONLY | O_CLOEXEC) : 0;
	if (fd < 0) {
		dm_fail(err, DM_ERR_IO, 0, "cannot open: %s", strerror(errno));
		return NULL;
	}
	struct stat st;
	int regular = fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
	size_t in_cap = regular && (uint64_t)st.st_size < IN_CAP ? (size_t)st.st_size + 1 : IN_CAP;
	if (in_cap < IN_MIN)
		in_cap = IN_MIN;
	struct dm_reader *r = calloc(1, sizeof *r);
	if (!r || !(r->in = malloc(in_cap)) || !(r->name = strdup(strcmp(path, "-") ? path : "(stdin)"))) {
		if (r) {
			free(r->in);
			free(r);
		}
		if (fd)
			close(fd);
		dm_fail(err, DM_ERR_NOMEM, 0, "out of memory");
		return NULL;
	}
	r->fd = fd;
	r->in_cap = in_cap;
	r->seekable = regular;
	if (regular)
		r->file_size = (uint64_t)st.st_size;
#ifdef POSIX_FADV_SEQUENTIAL
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
	/* Read until we have enough bytes to sniff the magic (pipes may deliver less). */
	while (r->in_len < 6 && !r->in_eof) {
		if (fill(r, err) < 0) {
			dm_reader_close(r);
			return NULL;
		}
	}
	r->comp = sniff(r->in, r->in_len);
	if (stream_init(r) < 0) {
		dm_fail(err, DM_ERR_NOMEM, 0, "cannot initialise %s decoder", dm_compression_name(r->comp));
		dm_reader_close(r);
		return NULL;
	}
	/* With a second core, decompression overlaps decoding: dump -m of concatenated real
	 * archives 0.129 s threaded vs 0.211 s inline (zcat alone 0.217 s). Where no core is free
	 * it costs instead (handing blocks over, a copy of every byte): with ISA-L, at load average
	 * 4 on 2 cores, dump -m of updates.et-header.2015.gz took 126 ms threaded, 93 ms inline (perf
	 * stat, 15 runs, 2 Dec 2026). So the thread starts only when the load average leaves most of
	 * a core free. DARKMAP_DECOMPRESS_THREAD=0 turns it off, =1 forces it; `make bench` prints
	 * both. */
	const char *th = getenv("DARKMAP_DECOMPRESS_THREAD");
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	/* Nor for a small file: a thread, its ring and its arena cost about 1.5 ms of page faults and
	 * system time at every open, more than a file of a few KB takes to decode. Replay of 4 days of
	 * the demo (about 1,500 bzip2 files of 2 KB): 4.8 s with a thread per file (74,000 page faults,
	 * 2.6 s system), 1.9 s inline (20,800, 0.3 s); perf stat, 3 Dec 2026. A file of 256 KB or more
	 * takes tens of ms to decode, which the thread can halve. */
	int small = regular && r->file_size < THREAD_MIN_FILE;
	int want = th ? *th == '1' : !small && dm_core_free();
	/* bzip2 from a regular file: its blocks on every core (bz2par.h). Measured on this 2-core
	 * machine: see docs/dump.md, "bzip2". DARKMAP_BZIP2_THREADS=N sets the count (1: off). */
	if (r->comp == DM_COMP_BZIP2 && r->seekable && want) {
		const char *bt = getenv("DARKMAP_BZIP2_THREADS");
		r->bz_threads = bt ? atoi(bt) : (int)cores;
		if (r->bz_threads > 64)
			r->bz_threads = 64;
	}
	if (r->comp != DM_COMP_NONE && want)
		start_thread(r); /* on failure: decompress inline */
	return r;
}

static ssize_t fail_or_return(struct dm_reader *r, size_t produced, struct dm_error *e, struct dm_error *err)
{
	r->done = 1;
	if (produced) {
		r->pending = *e;
		r->has_pending = 1;
		r->out_total += produced;
		return (ssize_t)produced;
	}
	if (err)
		*err = *e;
	return -1;
}

static const char *bz_error_name(int br)
{
	switch (br) {
	case BZ_DATA_ERROR: return "bad block or block CRC mismatch";
	case BZ_DATA_ERROR_MAGIC: return "bad stream magic";
	case BZ_MEM_ERROR: return "out of memory";
	case BZ_PARAM_ERROR: return "parameter error";
	case BZ_SEQUENCE_ERROR: return "sequence error";
	default: return "error";
	}
}

#ifdef DM_HAVE_ISAL
/* ISA-L failed on the current gzip member (corrupt, cut short, or the file went wrong under
 * it): from here zlib decodes, from the member's first byte, read again from the file. What
 * ISA-L already returned of the member is dropped from zlib's output (r->discard), so the caller
 * sees one continuous stream, and zlib reaches the damage and reports it as it always did. */
static int gz_replay(struct dm_reader *r, struct dm_error *e)
{
	free(r->isal);
	r->isal = NULL;
	memset(&r->s.z, 0, sizeof r->s.z);
	if (lseek(r->fd, (off_t)r->member_at, SEEK_SET) < 0 || inflateInit2(&r->s.z, 15 + 32) != Z_OK) {
		r->step_at = r->bad_at = r->in_total - (r->in_len - r->in_pos);
		return dm_fail(e, DM_ERR_IO, 0, "gzip: cannot go back to compressed offset %llu to decode it again: %s",
		               (unsigned long long)r->member_at, strerror(errno));
	}
	r->z_init = 1;
	gz_watch_header(r);
	r->in_pos = r->in_len = 0;
	r->in_eof = 0;
	r->in_total = r->member_at;
	r->stream_ended = r->member_after_end;
	r->discard = r->member_out;
	return 0;
}
#endif

/* A second decoder going over what a first one already returned (zlib after ISA-L, libbz2's one
 * stream after the block-parallel path): the first r->discard bytes of its output are dropped.
 * Returns what is left of the made bytes at out. */
static size_t drop_returned(struct dm_reader *r, uint8_t *out, size_t made)
{
	if (!r->discard || !made)
		return made;
	size_t drop = made < r->discard ? made : (size_t)r->discard;
	memmove(out, out + drop, made - drop);
	r->discard -= drop;
	return made - drop;
}

/* The input ended inside a compressed stream: the error, the same whichever path met it. */
static void truncated(struct dm_reader *r, struct dm_error *e, uint64_t in_total, uint64_t out_total)
{
	dm_fail(e, DM_ERR_IO, out_total, "%s stream truncated (ends without end-of-stream marker) at compressed "
	        "offset %llu, uncompressed %llu", dm_compression_name(r->comp), (unsigned long long)in_total,
	        (unsigned long long)out_total);
}

/* One decompression step for the compressed formats; returns bytes produced or sets e. */
static int step(struct dm_reader *r, uint8_t *out, size_t n, size_t *produced, struct dm_error *e)
{
	const uint8_t *in = r->in + r->in_pos;
	size_t avail = r->in_len - r->in_pos;
	size_t used = 0, made = 0;
	int rc = 0;

	switch (r->comp) {
	case DM_COMP_GZIP: {
#ifdef DM_HAVE_ISAL
		if (r->isal) {
			struct inflate_state *st = r->isal;
			if (r->isal_fresh) {
				r->member_at = r->in_total - (r->in_len - r->in_pos);
				r->member_after_end = r->stream_ended;
				r->isal_fresh = 0;
				/* ISA-L reads past header fields zlib refuses (a method other than deflate,
				 * reserved flag bits) and does not check a header CRC: such a member, or one
				 * whose flags byte is not in the buffer yet (rare: a header across a buffer
				 * end), goes to zlib from its first byte, so both paths give the same bytes
				 * and errors (fuzz_reader, 3 Dec: 46 bytes out of a member zlib refuses) */
				if (avail < 4 || (in[0] == 0x1f && in[1] == 0x8b && (in[2] != 8 || (in[3] & 0xe2)))) {
					*produced = 0;
					return gz_replay(r, e);
				}
			}
			st->next_in = (uint8_t *)in;
			st->avail_in = (uint32_t)(avail < UINT32_MAX ? avail : UINT32_MAX);
			st->next_out = out;
			st->avail_out = (uint32_t)(n < UINT32_MAX ? n : UINT32_MAX);
			uint32_t in0 = st->avail_in, out0 = st->avail_out;
			int ir = isal_inflate(st);
			used = in0 - st->avail_in;
			made = out0 - st->avail_out;
			if (ir < 0 || ir > ISAL_OUT_OVERFLOW || (avail && n && !used && !made &&
			                                         st->block_state != ISAL_BLOCK_FINISH)) {
				/* corrupt, or stuck: zlib decodes the member again and says what is wrong */
				*produced = 0;
				return gz_replay(r, e);
			}
			r->member_out += made;
			r->raw_made = made;
			if (st->block_state == ISAL_BLOCK_FINISH) {
				r->stream_ended = 1;
				isal_inflate_reset(st); /* a following gzip member continues the data */
				st->crc_flag = ISAL_GZIP;
				r->isal_fresh = 1;
				r->member_out = 0;
			} else if (used || made) {
				r->stream_ended = 0;
			}
			break;
		}
#endif
		z_stream *z = &r->s.z;
		z->next_in = (Bytef *)in;
		z->avail_in = (uInt)avail;
		z->next_out = out;
		z->avail_out = (uInt)n;
		int zr = inflate(z, Z_NO_FLUSH);
		used = avail - z->avail_in;
		made = n - z->avail_out;
		r->raw_made = made;
		made = drop_returned(r, out, made);   /* ISA-L returned these bytes before it failed */
		if (zr == Z_STREAM_END) {
			r->stream_ended = 1;
			inflateReset(z); /* a following gzip member continues the data */
			gz_watch_header(r);
		} else if (zr == Z_OK || zr == Z_BUF_ERROR) {
			if (used || made)
				r->stream_ended = 0;
		} else {
			dm_fail(e, DM_ERR_IO, 0, "gzip data corrupt (%s)", z->msg ? z->msg : "inflate error");
			if (r->gz_head.done == 1)
				r->stream_ended = 0;   /* a member whose header was read: damaged, not trailing bytes */
			rc = -1;
		}
		break;
	}
	case DM_COMP_BZIP2: {
		bz_stream *bz = &r->s.bz;
		bz->next_in = (char *)in;
		bz->avail_in = (unsigned)avail;
		bz->next_out = (char *)out;
		bz->avail_out = (unsigned)n;
		int br = BZ2_bzDecompress(bz);
		used = avail - bz->avail_in;
		made = n - bz->avail_out;
		made = drop_returned(r, out, made);   /* the block-parallel path returned these first */
		if (br == BZ_STREAM_END) {
			r->stream_ended = 1;
			BZ2_bzDecompressEnd(bz);
			memset(bz, 0, sizeof *bz);
			BZ2_bzDecompressInit(bz, 0, 0); /* concatenated bzip2 streams (pbzip2) */
		} else if (br == BZ_OK) {
			if (used || made)
				r->stream_ended = 0;
		} else {
			dm_fail(e, DM_ERR_IO, 0, "bzip2 data corrupt (%s)", bz_error_name(br));
			rc = -1;
		}
		break;
	}
	case DM_COMP_XZ: {
		lzma_stream *x = &r->s.xz;
		x->next_in = in;
		x->avail_in = avail;
		x->next_out = out;
		x->avail_out = n;
		/* LZMA_CONCATENATED reports the end only when told the input is finished. */
		lzma_ret lr = lzma_code(x, r->in_eof ? LZMA_FINISH : LZMA_RUN);
		used = avail - x->avail_in;
		made = n - x->avail_out;
		if (lr == LZMA_STREAM_END) {
			r->stream_ended = 1;
		} else if (lr == LZMA_OK || lr == LZMA_BUF_ERROR) {
			r->stream_ended = 0;
			if (lr == LZMA_BUF_ERROR && r->in_eof) {
				dm_fail(e, DM_ERR_IO, 0, "xz stream truncated (ends without end-of-stream marker)");
				rc = -1;
			}
		} else {
			dm_fail(e, DM_ERR_IO, 0, "xz data corrupt (%s)", lzma_error_name(lr));
			rc = -1;
		}
		break;
	}
	case DM_COMP_ZSTD: {
		/* On an error libzstd reports neither the input consumed nor the output produced by the
		 * call, so a call that decoded good blocks before a corrupt one would lose them and
		 * point at its first byte. Each call is therefore given at most the decoder's own hint
		 * (the rest of the current block or header) and no input while decoded output waits:
		 * a corrupt block fails in the call holding exactly its bytes, after every block
		 * before it was handed out, and its last byte is where a decoder fed byte by byte fails. */
		size_t give = r->zstd_flush ? 0 : avail;
		if (r->zstd_hint && give > r->zstd_hint)
			give = r->zstd_hint;
		ZSTD_inBuffer ib = { in, give, 0 };
		ZSTD_outBuffer ob = { out, n, 0 };
		size_t zr = ZSTD_decompressStream(r->zstd, &ob, &ib);
		used = ib.pos;
		made = ob.pos;
		if (ZSTD_isError(zr)) {
			dm_fail(e, DM_ERR_IO, 0, "zstd data corrupt (%s)", ZSTD_getErrorName(zr));
			/* the hint also covered the next block's header: the failing byte is the last of
			 * the block itself, whose size its header (ending the previous call) gives */
			uint32_t h = (uint32_t)r->zstd_hdr[0] | (uint32_t)r->zstd_hdr[1] << 8 | (uint32_t)r->zstd_hdr[2] << 16;
			size_t bsz = ((h >> 1) & 3) == 1 ? 1 : h >> 3;
			used = bsz && bsz < give ? bsz : give;
			made = 0;
			rc = -1;
		} else {
			r->stream_ended = zr == 0;
			r->zstd_hint = zr ? zr : 1;   /* a new frame: its header byte by byte */
			r->zstd_flush = ob.pos == ob.size;
			if (ib.pos >= 3)
				memcpy(r->zstd_hdr, in + ib.pos - 3, 3);
		}
		break;
	}
	default:
		break;
	}
	if (rc < 0) {   /* the byte that made the decoder fail: the last one it consumed */
		r->step_at = r->in_total - (r->in_len - r->in_pos);
		r->bad_at = r->step_at + (used ? used - 1 : 0);
	}
	r->in_pos += used;
	*produced = made;
	return rc;
}

/* A decompression error from step(): the offsets as the user needs them, the uncompressed
 * offset reached (everything before it was handed out) and the compressed offset of the byte
 * where the decoder failed (where to look in the file). produced: output of this call so far. */
static void step_error(struct dm_reader *r, struct dm_error *e, size_t produced)
{
	char what[sizeof e->what];
	snprintf(what, sizeof what, "%s", e->what);
	e->offset = r->out_total + produced;
	if (r->stream_ended)
		dm_fail(e, DM_ERR_IO, e->offset, "%s: bytes after the end of the data, at compressed "
		        "offset %llu, are neither a further %s member nor zero padding", what,
		        (unsigned long long)r->step_at, dm_compression_name(r->comp));
	else
		dm_fail(e, DM_ERR_IO, e->offset, "%s at compressed offset %llu, uncompressed %llu", what,
		        (unsigned long long)r->bad_at, (unsigned long long)e->offset);
}

static ssize_t raw_read(struct dm_reader *r, void *buf, size_t n, struct dm_error *err)
{
	if (r->has_pending) {
		r->has_pending = 0;
		if (err)
			*err = r->pending;
		return -1;
	}
	if (r->done || n == 0)
		return 0;

	if (r->comp == DM_COMP_NONE) {
		/* Serve buffered bytes first, then read straight into the caller's buffer. */
		size_t got = 0;
		if (r->in_pos < r->in_len) {
			got = r->in_len - r->in_pos < n ? r->in_len - r->in_pos : n;
			memcpy(buf, r->in + r->in_pos, got);
			r->in_pos += got;
		}
		while (got < n) {
			ssize_t k = read(r->fd, (uint8_t *)buf + got, n - got);
			if (k < 0) {
				if (errno == EINTR)
					continue;
				struct dm_error e;
				dm_fail(&e, DM_ERR_IO, r->out_total + got, "read: %s", strerror(errno));
				return fail_or_return(r, got, &e, err);
			}
			if (k == 0) {
				r->in_eof = 1;
				struct dm_error e;
				if (check_shrunk(r, r->out_total + got, &e) < 0)
					return fail_or_return(r, got, &e, err);
				break;
			}
			r->in_total += (uint64_t)k;
			got += (size_t)k;
			if (r->fd == 0)
				break;
		}
		if (got == 0)
			r->done = 1;
		r->out_total += got;
		return (ssize_t)got;
	}

	uint8_t *out = buf;
	size_t produced = 0;
	while (produced < n) {
		if (r->in_pos == r->in_len) {
			if (r->in_eof && r->comp == DM_COMP_GZIP && !r->stream_ended && !r->gz_drained) {
				/* The input is all given but the member has not ended: the decoder may still
				 * hold output (ISA-L its look-ahead, zlib the rest of a match it could not
				 * copy into a full buffer: fuzz_reader found zlib's last byte lost there), so
				 * it is asked with no input until it gives nothing. Then the member is cut
				 * short: ISA-L hands it to zlib (gz_replay), zlib reports it below. */
				size_t made = 0;
				struct dm_error e;
				r->raw_made = 0;
				int rc = step(r, out + produced, n - produced, &made, &e);
				produced += made;
				if (rc < 0) {
					step_error(r, &e, produced);
					return fail_or_return(r, produced, &e, err);
				}
				if (r->raw_made || r->stream_ended)
					continue;
#ifdef DM_HAVE_ISAL
				if (r->isal) {
					if (gz_replay(r, &e) < 0)
						return fail_or_return(r, produced, &e, err);
					continue;
				}
#endif
				r->gz_drained = r->in_eof; /* (not when step() itself went back to replay) */
				continue;
			}
			if (r->in_eof && r->comp == DM_COMP_XZ && !r->stream_ended && !r->xz_finishing) {
				/* one more call with no input and LZMA_FINISH to learn whether the data ended */
				r->xz_finishing = 1;
				size_t made = 0;
				struct dm_error e;
				int rc = step(r, out + produced, n - produced, &made, &e);
				produced += made;
				if (rc < 0) {
					step_error(r, &e, produced);
					return fail_or_return(r, produced, &e, err);
				}
				if (made)
					r->xz_finishing = 0; /* output was pending: ask again next time */
				continue;
			}
			if (r->in_eof) {
				if (r->stream_ended || (r->in_total == 0)) {
					if (r->zero_pad && r->pad_then_data)
						snprintf(r->note, sizeof r->note,
						         "%llu zero bytes between %s members (from compressed offset %llu) "
						         "skipped and the data after them read (%s -dc stops at them)",
						         (unsigned long long)r->zero_pad, dm_compression_name(r->comp),
						         (unsigned long long)r->zero_pad_at, dm_compression_name(r->comp));
					else if (r->zero_pad)
						snprintf(r->note, sizeof r->note,
						         "%llu zero bytes after the end of the %s data (compressed offset "
						         "%llu) ignored, as %s -dc does", (unsigned long long)r->zero_pad,
						         dm_compression_name(r->comp), (unsigned long long)r->zero_pad_at,
						         dm_compression_name(r->comp));
					r->done = 1;
					break;
				}
				struct dm_error e;
				truncated(r, &e, r->in_total, r->out_total + produced);
				return fail_or_return(r, produced, &e, err);
			}
			struct dm_error e;
			if (fill(r, &e) < 0) {
#ifdef DM_HAVE_ISAL
				/* zlib reads to the same point and fails there as it always did */
				if (r->isal && gz_replay(r, &e) == 0)
					continue;
#endif
				return fail_or_return(r, produced, &e, err);
			}
			continue;
		}
		if (r->stream_ended && r->in[r->in_pos] == 0 && r->comp != DM_COMP_XZ) {
			/* Zero padding after a complete stream (mirrors pad files to a block size):
			 * no gzip, bzip2 or zstd member starts with a zero byte. gzip -dc and bzip2 -dc
			 * accept it, so do we, with a note. (xz's own stream padding is liblzma's.) */
			if (!r->zero_pad)
				r->zero_pad_at = r->in_total - (r->in_len - r->in_pos);
			while (r->in_pos < r->in_len && r->in[r->in_pos] == 0) {
				r->in_pos++;
				r->zero_pad++;
			}
			if (r->in_pos < r->in_len)
				r->pad_then_data = 1;   /* gzip -dc stops at the zeros; we read on */
			continue;
		}
		size_t made = 0;
		struct dm_error e;
		int rc = step(r, out + produced, n - produced, &made, &e);
		produced += made;
		if (rc < 0) {
			step_error(r, &e, produced);
			return fail_or_return(r, produced, &e, err);
		}
		if (made == 0 && r->in_pos < r->in_len && r->stream_ended) {
			/* Trailing bytes after a complete stream that do not start a new one:
			 * gzip allows trailing garbage in practice; report and stop. */
			continue;
		}
		if (made > 0 && produced >= n / 2)
			break; /* enough for the caller; avoid tiny tail iterations */
	}
	r->out_total += produced;
	return (ssize_t)produced;
}

/* With the lock held: waits for a free block; NULL when the reader is being closed. */
static struct block *wait_free_block(struct dm_reader *r)
{
	while (r->count == RING && !r->stop)
		pthread_cond_wait(&r->nonfull, &r->mu);
	return r->stop ? NULL : &r->ring[r->tail];
}

/* With the lock held: hands the block at tail to the consumer. */
static void publish_block(struct dm_reader *r, size_t len, int status)
{
	struct block *b = &r->ring[r->tail];
	b->len = len;
	b->status = status;
	r->tail = (r->tail + 1) % RING;
	r->count++;
	pthread_cond_signal(&r->nonempty);
}

/* The block-parallel bzip2 path (bz2par.h): its output into the ring. 1 when it reached the end
 * (published), 0 when the sequential decoder must take over (r->discard set: what was
 * published is dropped from its output), -1 when the reader is being closed. */
static int producer_bz2par(struct dm_reader *r)
{
	/* Nothing of the file has been consumed yet (the parallel path reads it with pread): the
	 * sequential decoder can start from r->in as it is. */
	struct bz2par *bp = bz2par_open(r->fd, r->file_size, r->bz_threads);
	if (!bp)
		return 0;
	uint64_t pushed = 0;
	int rc = 0;
	for (;;) {
		const uint8_t *d;
		ssize_t k = bz2par_next(bp, &d);
		if (k == 0 || k == -2) {
			/* the end, or the cut the sequential decoder reports at the end of the file */
			pthread_mutex_lock(&r->mu);
			struct block *b = wait_free_block(r);
			if (b && k == -2)
				truncated(r, &b->e, r->file_size, pushed);
			if (b)
				publish_block(r, 0, k == 0 ? 1 : -1);
			pthread_mutex_unlock(&r->mu);
			atomic_store(&r->consumed, r->file_size);
			rc = 1;
			break;
		}
		if (k < 0)
			break;
		for (size_t off = 0; off < (size_t)k;) {
			pthread_mutex_lock(&r->mu);
			struct block *b = wait_free_block(r);
			pthread_mutex_unlock(&r->mu);
			if (!b) {
				bz2par_close(bp);
				return -1;
			}
			size_t len = (size_t)k - off < BLOCK ? (size_t)k - off : BLOCK;
			memcpy(b->data, d + off, len);
			off += len;
			pushed += len;
			pthread_mutex_lock(&r->mu);
			publish_block(r, len, 0);
			pthread_mutex_unlock(&r->mu);
		}
		atomic_store(&r->consumed, bz2par_consumed(bp));
	}
	bz2par_close(bp);
	/* the sequential decoder's offsets count from the first byte: what was handed out counts */
	r->discard = pushed;
	r->out_total = pushed;
	return rc;
}

static void *producer(void *arg)
{
	struct dm_reader *r = arg;
	if (r->bz_threads > 1) {
		int rc = producer_bz2par(r);
		if (rc != 0)
			return NULL;
	}
	size_t fill_to = BLOCK_FIRST;
	for (;;) {
		pthread_mutex_lock(&r->mu);
		struct block *b = wait_free_block(r);
		pthread_mutex_unlock(&r->mu);
		if (!b)
			return NULL;

		/* fill the whole block unless the input ends or fails */
		size_t len = 0;
		int status = 0;
		while (len < fill_to) {
			ssize_t k = raw_read(r, b->data + len, fill_to - len, &b->e);
			if (k <= 0) {
				status = k < 0 ? -1 : 1;
				break;
			}
			len += (size_t)k;
		}
		atomic_store(&r->consumed, r->in_total - (r->in_len - r->in_pos));
		pthread_mutex_lock(&r->mu);
		if (len > 0 && status != 0) {
			/* deliver the data first, the end or the error in a block of its own */
			struct dm_error e = b->e;
			publish_block(r, len, 0);
			if (!(b = wait_free_block(r))) {
				pthread_mutex_unlock(&r->mu);
				return NULL;
			}
			b->e = e;
			len = 0;
		}
		publish_block(r, len, status);
		pthread_mutex_unlock(&r->mu);
		if (status != 0)
			return NULL;
		if (fill_to < BLOCK)
			fill_to *= 2;
	}
}

static int start_thread(struct dm_reader *r)
{
	for (int i = 0; i < RING; i++) {
		r->ring[i].data = malloc(BLOCK);
		if (!r->ring[i].data)
			return -1;
	}
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->nonempty, NULL);
	pthread_cond_init(&r->nonfull, NULL);
	/* kept off the caller's CPU when the caller asks (base/cpu.h), but not when it starts bzip2's
	 * block decoders, which are the work and inherit where it may run */
	int rc = r->bz_threads > 1 ? pthread_create(&r->thread, NULL, producer, r)
	                           : dm_helper_create(&r->thread, NULL, producer, r);
	if (rc != 0) {
		pthread_mutex_destroy(&r->mu);
		pthread_cond_destroy(&r->nonempty);
		pthread_cond_destroy(&r->nonfull);
		return -1;
	}
	r->threaded = 1;
	return 0;
}

ssize_t dm_reader_read(struct dm_reader *r, void *buf, size_t n, struct dm_error *err)
{
	if (!r->threaded)
		return raw_read(r, buf, n, err);
	if (r->finished || n == 0)
		return 0;
	pthread_mutex_lock(&r->mu);
	while (r->count == 0)
		pthread_cond_wait(&r->nonempty, &r->mu);
	struct block *b = &r->ring[r->head];
	pthread_mutex_unlock(&r->mu);
	if (b->status != 0) {
		r->finished = 1;
		if (b->status < 0) {
			if (err)
				*err = b->e;
			return -1;
		}
		return 0;
	}
	size_t k = b->len - r->head_pos < n ? b->len - r->head_pos : n;
	memcpy(buf, b->data + r->head_pos, k);
	r->head_pos += k;
	if (r->head_pos == b->len) {
		r->head_pos = 0;
		pthread_mutex_lock(&r->mu);
		r->head = (r->head + 1) % RING;
		r->count--;
		/* A producer ahead waits for a free block (wait_free_block): woken when half the
		 * ring is free, not at every block, it fills four in one go. Each wake was a futex
		 * call on this thread and a thread start on the other core: 206 of them in a 13.5 MB
		 * table transfer, about 1% of its replay (issue 12). */
		if (r->count == RING / 2)
			pthread_cond_signal(&r->nonfull);
		pthread_mutex_unlock(&r->mu);
	}
	return (ssize_t)k;
}

void dm_reader_close(struct dm_reader *r)
{
	if (!r)
		return;
	if (r->threaded) {
		pthread_mutex_lock(&r->mu);
		r->stop = 1;
		pthread_cond_broadcast(&r->nonfull);
		pthread_mutex_unlock(&r->mu);
		pthread_join(r->thread, NULL);
		pthread_mutex_destroy(&r->mu);
		pthread_cond_destroy(&r->nonempty);
		pthread_cond_destroy(&r->nonfull);
	}
	for (int i = 0; i < RING; i++)
		free(r->ring[i].data);
	stream_end(r);
	if (r->fd > 0)
		close(r->fd);
	free(r->in);
	free(r->name);
	free(r);
}

const char *dm_reader_name(const struct dm_reader *r) { return r->name; }
enum dm_compression dm_reader_compression(const struct dm_reader *r) { return r->comp; }
uint64_t dm_reader_compressed_bytes(const struct dm_reader *r)
{
	if (r->threaded)
		return atomic_load(&((struct dm_reader *)r)->consumed);
	return r->in_total - (r->in_len - r->in_pos);
}

uint64_t dm_reader_file_size(const struct dm_reader *r) { return r->file_size; }
const char *dm_reader_note(const struct dm_reader *r) { return r->note[0] ? r->note : NULL; }
