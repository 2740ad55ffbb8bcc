/* darkmap dump: decode MRT archives and print bgpdump -m / -M lines or JSON elements.
 * Errors never stop the run: each one is a line on stderr naming the file and byte offset, the
 * record is skipped and counted, decoding goes on; the exit status says whether any happened. */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/cpu.h"
#include "base/err.h"
#include "base/log.h"
#include "base/hugeheap.h"
#include "base/obuf.h"
#include "cmd/cmds.h"
#include "mrt/elem.h"
#include "mrt/mrt.h"
#include "mrt/reader.h"
#include "out/bgpdump.h"
#include "out/json.h"

static const char USAGE[] =
	"usage: darkmap dump [-m | -M | --json] [--progress] [-q] FILE...\n"
	"\n"
	"Decode MRT archives (RFC 6396: TABLE_DUMP, TABLE_DUMP_V2, BGP4MP, BGP4MP_ET, the\n"
	"deprecated BGP type; gzip, bzip2, xz, zstd or plain, detected from the content) and\n"
	"print one line per route event. FILE '-' reads standard input; several files are read\n"
	"one after the other, each with its own PEER_INDEX_TABLE.\n"
	"\n"
	"output:\n"
	"  -m          bgpdump -m lines (the default), byte-identical to bgpdump 1.6.2:\n"
	"              TYPE|TIME|A/W/B|PEER|PEER_AS|PREFIX|AS_PATH|ORIGIN|NEXT_HOP|LOCAL_PREF|\n"
	"              MED|COMMUNITIES|AG/NAG|AGGREGATOR|  and  TYPE|TIME|STATE|PEER|AS|OLD|NEW\n"
	"  -M          bgpdump -M lines: MM/DD/YY HH:MM:SS times, routes end after ORIGIN\n"
	"  --json      JSON Lines, one object per element (BGPStream-style fields: type,\n"
	"              timestamp, collector, peer_address, peer_asn, prefix, path_id, next_hop,\n"
	"              as_path, origin_asns, origin, med, local_pref, communities,\n"
	"              extended_communities, large_communities, aggregator, atomic_aggregate,\n"
	"              old_state, new_state)\n"
	"\n"
	"options:\n"
	"  --progress  on a terminal, show percent done and throughput on stderr\n"
	"  -q          no per-error messages and no summary (the exit status still tells)\n"
	"  -h, --help  this text\n"
	"\n"
	"Problems in the data (truncated records, impossible lengths, lost framing, bad\n"
	"attributes) are reported on stderr as 'FILE: offset N: what', at most 20 per kind\n"
	"before they are only counted; the record is skipped and decoding goes on. A summary\n"
	"(files, records, lines, errors by kind) ends the run on stderr.\n"
	"\n"
	"exit status: 0 no problem, 1 some data could not be read, 2 usage error, 3 the output\n"
	"could not be written (a full disk, a closed pipe): the error names what failed.\n";

enum { OUT_M = 'm', OUT_BIG_M = 'M', OUT_JSON = 'j' };

/* decoding on two threads: see dump_par. 4 batches of 16 KB: every buffer is touched for the
 * first time in a 30 ms run, and 8 of 32 KB (with their text buffers) had been 300-1,000 page
 * faults more (perf stat; docs/dump.md "Page faults, start-up, the copies"). */
enum { PB_N = 4, PB_BYTES = 16 * 1024, PB_ITEMS = 4096, PAR_MIN_FILE = 256 * 1024 };
/* what dump's buffers take at most on an update file (4 batches of up to 400 KB of lines, the
 * ring's 512 KB, the output buffer, the decoders' state): the heap made huge-page eligible */
enum { DUMP_HEAP = 6u << 20 };
enum { PB_FREE, PB_QUEUED, PB_WORKING, PB_DONE };
enum { PI_REC, PI_READERR };
struct pitem {
	struct mrt_hdr hdr;
	size_t body;          /* the record's body at bytes + body; for a reader error its index in rerr */
	uint32_t ev_end;      /* end of its problems in ev */
	uint32_t lines;
	uint8_t kind;         /* PI_REC, PI_READERR */
	uint8_t failed;       /* mrt_decode failed: ev holds why, no text */
	uint8_t unkept;       /* the next entry of uk is its */
};

struct punkept {
	uint32_t n;
	uint32_t by[DM_ERR_COUNT_];
};

struct pbatch {
	int state;            /* PB_*, under par.mu */
	/* by the framer */
	struct mrt_peer_index *pi;
	const char *collector;
	int fmt;              /* OUT_* */
	uint8_t *bytes;       /* the run of input the batch spans (headers too) */
	size_t blen, bcap;    /* blen: the records' body bytes (the batch's size) */
	struct pitem *it;
	size_t n, icap;
	struct dm_error *rerr;
	size_t nrerr, rcap;
	/* by the thread that decodes it */
	struct dm_error *ev;
	size_t nev, evcap;
	struct punkept *uk;
	size_t nuk, ukcap;
	struct obuf out;
	int oom;              /* decoding ran out of memory: merged serially */
};

struct par {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t th;
	int started, quit;
	unsigned head, tail;           /* batches head .. tail-1 are in flight, b[i % PB_N] */
	struct pbatch b[PB_N];
	struct mrt_ctx wctx, hctx;     /* the second thread's and this one's: peer_index borrowed */
};

struct dump {
	int out;
	int progress;          /* redraw a progress line on stderr */
	int quiet;
	struct obuf o;
	/* counters over all files */
	uint64_t files, records, lines, errors;
	uint64_t by_kind[DM_ERR_COUNT_];
	/* progress state */
	double t_start, t_last;
	uint64_t bytes_done;   /* decompressed bytes of finished files */
	const char *collector; /* the current file's base name (JSON) */
	struct json_src src;   /* the current file's, for JSON from this thread */
	struct par par;        /* the second decoding thread, started at the first file that wants it */
};

struct elem_arg {
	struct obuf *o;
	const struct json_src *src;
};

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* One problem: counted by kind always, printed unless rate-limited or -q. */
static void report(struct dump *d, const char *name, const struct dm_error *err)
{
	int kind = -(int)err->code;
	if (kind <= 0 || kind >= DM_ERR_COUNT_)
		kind = -(int)DM_ERR_BAD_VALUE;
	d->errors++;
	d->by_kind[kind]++;
	if (d->progress)
		fputs("\r\033[K", stderr);
	dm_log_rl(kind, "%s: offset %" PRIu64 ": %s", name, err->offset, err->what);
}

/* The problems of a record beyond the ones kept with their text: counted, never printed. */
static void count_unkept_n(struct dump *d, uint32_t n, const uint32_t *by_kind)
{
	d->errors += n;
	for (int k = 1; k < DM_ERR_COUNT_; k++) {
		d->by_kind[k] += by_kind[k];
		dm_log_rl_skip(k, by_kind[k]);
	}
}

static void draw_progress(struct dump *d, struct mrt_reader *r, const char *name)
{
	double t = now();
	if (t - d->t_last < 0.25)
		return;
	d->t_last = t;
	double el = t - d->t_start;
	uint64_t in = mrt_reader_compressed_offset(r), size = mrt_reader_file_size(r);
	uint64_t out = d->bytes_done + mrt_reader_offset(r);
	char pct[16] = "";
	if (size)
		snprintf(pct, sizeof pct, "%5.1f%% ", 100.0 * (double)in / (double)size);
	fprintf(stderr, "\r\033[K%s: %s%.1f MB read, %.1f MB/s decoded, %" PRIu64 " records", name,
	        pct, in / 1e6, el > 0 ? out / 1e6 / el : 0.0, d->records);
}

static void on_elem(const struct dm_elem *e, void *arg)
{
	struct elem_arg *a = arg;
	json_elem(a->o, a->src, e);
}

static const char *base_name(const char *path)
{
	if (!strcmp(path, "-"))
		return "stdin";
	const char *s = strrchr(path, '/');
	return s && s[1] ? s + 1 : path;
}

/* Formats a decoded record into o as fmt asks (JSON elements with src, or -m/-M lines) and
 * returns the lines (elements) written: the step the serial loop and the batches share. For -m
 * and -M, ctx decodes with lazy_td1 (set_lazy): a TABLE_DUMP entry's attribute block is decoded
 * here only when its text is not cached, and any problem it has joins rec's warnings, so a
 * record's warnings are read after this. */
static inline __attribute__((always_inline)) unsigned format_record(struct obuf *o, struct mrt_ctx *ctx,
                                                                    struct mrt_rec *rec, int fmt,
                                                                    const struct json_src *src)
{
	if (fmt == OUT_JSON) {
		struct elem_arg ea = { o, src };
		return mrt_elems(ctx, rec, on_elem, &ea);
	}
	return bgpdump_m_record_lazy(o, ctx, rec, fmt == OUT_BIG_M ? BGPDUMP_MODE_BIG_M : BGPDUMP_MODE_M);
}

/* The decoding mode format_record expects: TABLE_DUMP blocks left as bytes for -m/-M (mrt.h
 * lazy_td1); JSON's elements need them decoded. */
static void set_lazy(struct mrt_ctx *ctx, int fmt) { ctx->lazy_td1 = fmt != OUT_JSON; }

/* One framed record as the serial loop handles it: decoded with ctx into rec (the caller's; its
 * header may be rec->hdr, read there by the reader: mrt_decode copies nothing then, mrt.h), its
 * problems reported, its text into the output. Returns -1 when the output failed. */
static inline __attribute__((always_inline)) int serial_record(struct dump *d, struct mrt_ctx *ctx, const char *shown,
                                                                struct mrt_reader *r, struct mrt_rec *rec,
                                                                const struct mrt_hdr *hdr, const uint8_t *body,
                                                                struct dm_error *err, unsigned *tick)
{
	d->records++;
	int dr = mrt_decode(ctx, hdr, body, rec, err);
	if (dr < 0) {
		report(d, shown, err);
		return 0;
	}
	d->lines += format_record(&d->o, ctx, rec, d->out, &d->src);
	for (unsigned i = 0; i < rec->nwarn; i++)
		report(d, shown, &rec->warn[i]);
	if (rec->nwarn_unkept)
		count_unkept_n(d, rec->nwarn_unkept, rec->warn_unkept);
	if (d->o.failed)
		return -1;   /* stdout is gone (EPIPE, ENOSPC): nothing more to do */
	if (d->progress && !(++*tick & 1023))
		draw_progress(d, r, shown);
	return 0;
}

/* A reader error in the serial loop: reported; returns -1 when the reader is stuck on one spot
 * (it promises progress after an error; this guards against a reader bug looping on the same
 * spot rather than spinning forever). */
struct stuck {
	int n;
	uint64_t last;
};

static int reader_error(struct stuck *s, struct mrt_reader *r)
{
	uint64_t off = mrt_reader_offset(r);
	if (off == s->last && ++s->n > 3)
		return -1;
	s->last = off;
	return 0;
}

/* ---------------------------------------------------------------- decoding on two threads */

/* Decoding and formatting are the wall time of dump -m once decompression has a thread of its
 * own (src/io/reader.c): callgrind per thread gave the decoding thread 322 M instructions on the
 * 2015 update transfer against ISA-L's 123 M (563 M against 116 M on the 2000 bview), so the
 * inflate thread idled most of the run. Of the directions measured, this one pays most: fewer
 * instructions per line gave 0-2.4% (peer texts, tail-cache sizes and keys: docs/dump.md), the
 * output writes were already 1 MiB; two decoding threads lower the bound two cores allow (the
 * larger of the busiest thread and half the total) to 0.60-0.71 of the one-thread time on the five
 * gz files over 1 MB, for 2-3% more instructions in all.
 * Records are independent once framed except for the PEER_INDEX_TABLE, so the framer (this
 * thread) cuts the input into batches of whole records, and a second thread and this one (when
 * every batch is taken) decode + format batches into per-batch buffers; this thread then replays
 * each batch in input order: its problems go through report() as the serial loop's do (order,
 * offsets, 20-per-kind limits, counts), then its text goes out in one writev. Only the counts of
 * the "output incomplete" message differ when a write fails (a batch, not a record, is the unit).
 * A PEER_INDEX_TABLE is decoded here once every batch before it is written out (the batches after
 * it borrow it read-only: no decoder writes ctx->peer_index outside that record).
 * A batch's bytes are one copy of the run of input it spans: the reader holds the run in its
 * buffer while the batch is framed (mrt_reader_hold), where a copy of each record cost 10 M
 * instructions on the 2002 bview (115,521 records: memcpy's per-call cost, callgrind).
 * Out of memory for a batch loses nothing: the batch is done by the serial path and the rest of
 * the file too (a batch the framer could not build) or that batch alone (one its decoder could
 * not finish).
 * Measured: docs/dump.md, "Decoding and formatting on two threads". */

/* Tests only: DARKMAP_DUMP_FAIL_ALLOC=N makes the Nth batch allocation fail (the fallback above). */
static long alloc_fail_at, alloc_count;

/* The array at *pp (a pointer to any object pointer) grown to hold need items of size bytes, cap
 * updated: 0, or -1 with the array and cap unchanged (out of memory). */
static int xgrow_more(void *pp, size_t *cap, size_t need, size_t size);

/* The check inline, the growth out of line: a batch asks for room per record (2.5 M calls'
 * instructions on the 2002 bview, callgrind). */
static inline int xgrow(void *pp, size_t *cap, size_t need, size_t size)
{
	return need <= *cap ? 0 : xgrow_more(pp, cap, need, size);
}

static int xgrow_more(void *pp, size_t *cap, size_t need, size_t size)
{
	if (alloc_fail_at && __atomic_add_fetch(&alloc_count, 1, __ATOMIC_RELAXED) == alloc_fail_at)
		return -1;
	size_t c = *cap ? *cap : 64;
	while (c < need)
		c *= 2;
	void *p;
	memcpy(&p, pp, sizeof p);
	void *q = realloc(p, c * size);
	if (!q)
		return -1;
	memcpy(pp, &q, sizeof q);
	*cap = c;
	return 0;
}

/* Decodes and formats batch b with ctx (either thread's): what the serial loop does per record
 * between mrt_reader_next and the output, kept for the replay in pbatch_merge. Out of memory sets
 * b->oom: the merge then does the batch serially. */
static void pbatch_run(struct pbatch *b, struct mrt_ctx *ctx)
{
	ctx->peer_index = b->pi;
	set_lazy(ctx, b->fmt);
	struct json_src src;
	if (b->fmt == OUT_JSON)
		json_src_init(&src, b->collector, ctx);
	b->out.len = 0;
	b->nev = b->nuk = 0;
	b->oom = 0;
	struct dm_error err;
	memset(&err, 0, sizeof err);
	for (size_t i = 0; i < b->n; i++) {
		struct pitem *it = &b->it[i];
		if (it->kind == PI_REC) {
			struct mrt_rec rec;
			int dr = mrt_decode(ctx, &it->hdr, b->bytes + it->body, &rec, &err);
			it->failed = dr < 0;
			it->unkept = 0;
			it->lines = 0;
			if (dr == 0)
				it->lines = format_record(&b->out, ctx, &rec, b->fmt, &src);
			if (xgrow(&b->ev, &b->evcap, b->nev + (dr < 0 ? 1 : rec.nwarn), sizeof *b->ev) < 0)
				goto oom;
			if (dr < 0) {
				b->ev[b->nev++] = err;
			} else {
				if (rec.nwarn) {
					memcpy(b->ev + b->nev, rec.warn, rec.nwarn * sizeof *rec.warn);
					b->nev += rec.nwarn;
				}
				if (rec.nwarn_unkept) {
					if (xgrow(&b->uk, &b->ukcap, b->nuk + 1, sizeof *b->uk) < 0)
						goto oom;
					b->uk[b->nuk].n = rec.nwarn_unkept;
					memcpy(b->uk[b->nuk].by, rec.warn_unkept, sizeof b->uk[b->nuk].by);
					b->nuk++;
					it->unkept = 1;
				}
			}
		}
		it->ev_end = (uint32_t)b->nev;
	}
	ctx->peer_index = NULL;
	return;
oom:
	b->oom = 1;
	ctx->peer_index = NULL;
}

/* Batch b's items the serial way, from body bytes at base + it->body (b->bytes, or the reader's
 * held run): what a batch falls back to when memory ran out. Returns -1 when the output failed. */
static int pbatch_serial(struct dump *d, const struct pbatch *b, const uint8_t *base, struct mrt_ctx *ctx,
                         const char *shown, struct mrt_reader *r, unsigned *tick)
{
	struct dm_error err;
	memset(&err, 0, sizeof err);
	struct mrt_rec rec;
	for (size_t i = 0; i < b->n; i++) {
		const struct pitem *it = &b->it[i];
		if (it->kind == PI_READERR)
			report(d, shown, &b->rerr[it->body]);
		else if (serial_record(d, ctx, shown, r, &rec, &it->hdr, base + it->body, &err, tick) < 0)
			return -1;
	}
	return 0;
}

/* Replays a decoded batch in input order: its problems are reported and counted as the serial
 * loop would, then its text is written in one piece (obuf_put_big: no copy of every line). Returns
 * -1 when the output failed; the counts then include the whole batch, where the serial loop
 * stops counting at the record whose text found the output gone (the difference is in the
 * numbers of the "output incomplete" message only). A batch whose decoding ran out of memory is
 * done here serially with ctx (the file's: its peer_index is the batch's, every batch before a
 * PEER_INDEX_TABLE is merged before the table is decoded). */
static int pbatch_merge(struct dump *d, const struct pbatch *b, struct mrt_ctx *ctx, const char *shown,
                        struct mrt_reader *r, unsigned *tick)
{
	if (b->oom)
		return pbatch_serial(d, b, b->bytes, ctx, shown, r, tick);
	size_t ev = 0, uk = 0;
	for (size_t i = 0; i < b->n; i++) {
		const struct pitem *it = &b->it[i];
		if (it->kind == PI_READERR) {
			report(d, shown, &b->rerr[it->body]);
			continue;
		}
		d->records++;
		for (; ev < it->ev_end; ev++)
			report(d, shown, &b->ev[ev]);
		if (it->failed)
			continue;
		if (it->unkept) {
			count_unkept_n(d, b->uk[uk].n, b->uk[uk].by);
			uk++;
		}
		d->lines += it->lines;
		if (d->progress && !(++*tick & 1023))
			draw_progress(d, r, shown);
	}
	obuf_put_big(&d->o, b->out.buf, b->out.len);
	return d->o.failed ? -1 : 0;
}

/* The oldest queued batch, or NULL (under mu). */
static struct pbatch *par_queued(struct par *p)
{
	for (unsigned i = p->head; i != p->tail; i++)
		if (p->b[i % PB_N].state == PB_QUEUED)
			return &p->b[i % PB_N];
	return NULL;
}

static void *par_thread(void *arg)
{
	struct par *p = arg;
	pthread_mutex_lock(&p->mu);
	for (;;) {
		struct pbatch *b = NULL;
		while (!p->quit && !(b = par_queued(p)))
			pthread_cond_wait(&p->cv, &p->mu);
		if (p->quit)
			break;
		b->state = PB_WORKING;
		pthread_mutex_unlock(&p->mu);
		pbatch_run(b, &p->wctx);
		pthread_mutex_lock(&p->mu);
		b->state = PB_DONE;
		pthread_cond_broadcast(&p->cv);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

static int par_start(struct par *p)
{
	if (p->started)
		return 0;
	memset(p, 0, sizeof *p);
	for (int i = 0; i < PB_N; i++)
		obuf_init_mem(&p->b[i].out);
	mrt_ctx_init(&p->wctx);
	mrt_ctx_init(&p->hctx);
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	if (pthread_create(&p->th, NULL, par_thread, p) != 0) {
		pthread_mutex_destroy(&p->mu);
		pthread_cond_destroy(&p->cv);
		mrt_ctx_free(&p->wctx);
		mrt_ctx_free(&p->hctx);
		for (int i = 0; i < PB_N; i++)
			obuf_free(&p->b[i].out);
		return -1;
	}
	p->started = 1;
	return 0;
}

static void par_stop(struct par *p)
{
	if (!p->started)
		return;
	pthread_mutex_lock(&p->mu);
	p->quit = 1;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	pthread_join(p->th, NULL);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
	mrt_ctx_free(&p->wctx);
	mrt_ctx_free(&p->hctx);
	for (int i = 0; i < PB_N; i++) {
		struct pbatch *b = &p->b[i];
		free(b->bytes);
		free(b->it);
		free(b->rerr);
		free(b->ev);
		free(b->uk);
		obuf_free(&b->out);
	}
	p->started = 0;
}

/* One step towards freeing the oldest batch: merge it when decoded, else decode the oldest
 * queued one here, else wait for the other thread. With fail set (the output failed) batches are
 * dropped instead of merged. Returns -1 when a merge found the output failed. */
static int par_step(struct dump *d, struct par *p, struct mrt_ctx *ctx, const char *shown, struct mrt_reader *r,
                    unsigned *tick, int fail)
{
	pthread_mutex_lock(&p->mu);
	struct pbatch *h = &p->b[p->head % PB_N];
	if (h->state == PB_DONE || (fail && h->state == PB_QUEUED)) {
		pthread_mutex_unlock(&p->mu);
		int rc = fail ? 0 : pbatch_merge(d, h, ctx, shown, r, tick);
		pthread_mutex_lock(&p->mu);
		h->state = PB_FREE;
		p->head++;
		pthread_mutex_unlock(&p->mu);
		return rc;
	}
	struct pbatch *q = fail ? NULL : par_queued(p);
	if (q) {
		q->state = PB_WORKING;
		pthread_mutex_unlock(&p->mu);
		pbatch_run(q, &p->hctx);
		pthread_mutex_lock(&p->mu);
		q->state = PB_DONE;
	} else {
		while (h->state != PB_DONE)
			pthread_cond_wait(&p->cv, &p->mu);
	}
	pthread_mutex_unlock(&p->mu);
	return 0;
}

/* Every batch in flight merged (or, fail set, dropped). */
static int par_drain(struct dump *d, struct par *p, struct mrt_ctx *ctx, const char *shown, struct mrt_reader *r,
                     unsigned *tick, int fail)
{
	while (p->head != p->tail)
		if (par_step(d, p, ctx, shown, r, tick, fail) < 0)
			fail = 1;
	return fail ? -1 : 0;
}

/* Whether this file is decoded on two threads: as for the decompression thread (reader.c),
 * only when a core is free (dm_core_free) and the file is not small (256 KB or more, or a
 * pipe): a thread and its batches cost more than a small file's decoding. DARKMAP_DUMP_THREAD=0
 * turns it off, =1 forces it. */
static int want_par(struct mrt_reader *r)
{
	const char *th = getenv("DARKMAP_DUMP_THREAD");
	if (th)
		return *th == '1';
	uint64_t size = mrt_reader_file_size(r);
	if (size && size < PAR_MIN_FILE)
		return 0;
	return dm_core_free();
}

enum { PAR_DONE, PAR_SERIAL };

/* The loop of dump_file on two threads (see "decoding on two threads" above). Returns PAR_DONE
 * when the input ends, framing is stuck, or the output failed; PAR_SERIAL when memory for a batch
 * ran out: every record read so far is out, the caller reads the rest serially. */
static int dump_par(struct dump *d, struct par *p, struct mrt_reader *r, struct mrt_ctx *ctx, const char *shown,
                    const char *collector, struct stuck *stuck)
{
	struct dm_error err;
	memset(&err, 0, sizeof err);
	unsigned tick = 0;
	int end = 0, fail = 0;
	while (!end && !fail) {
		while (p->tail - p->head == PB_N)
			if (par_step(d, p, ctx, shown, r, &tick, 0) < 0) {
				fail = 1;
				break;
			}
		if (fail)
			break;
		struct pbatch *b = &p->b[p->tail % PB_N];
		b->pi = ctx->peer_index;
		b->collector = collector;
		b->fmt = d->out;
		b->blen = b->n = b->nrerr = 0;
		b->oom = 0;
		int oom = 0;
		struct mrt_hdr hdr;
		struct mrt_rec rec;   /* for the records decoded here, serially (a PEER_INDEX_TABLE, out of memory) */
		const uint8_t *body = NULL;
		int pi_rec = 0, rc = 0, in_hand = 0;   /* in_hand: the last record read is not in b */
		uint64_t b0 = mrt_reader_offset(r), bend = b0;
		mrt_reader_hold(r, b0);
		while (b->blen < PB_BYTES && b->n < PB_ITEMS) {
			rc = mrt_reader_next(r, &hdr, &body, &err);
			if (rc == 0) {
				end = 1;
				break;
			}
			if (xgrow(&b->it, &b->icap, b->n + 1, sizeof *b->it) < 0 ||
			    (rc < 0 && xgrow(&b->rerr, &b->rcap, b->nrerr + 1, sizeof *b->rerr) < 0)) {
				oom = in_hand = 1;   /* done below */
				break;
			}
			struct pitem *it = &b->it[b->n];
			if (rc < 0) {
				b->rerr[b->nrerr] = err;
				it->kind = PI_READERR;
				it->body = b->nrerr++;
				b->n++;
				if (reader_error(stuck, r) < 0) {
					end = 1;
					break;
				}
				continue;
			}
			stuck->n = 0;
			if (hdr.type == MRT_TABLE_DUMP_V2 && hdr.subtype == MRT_TD2_PEER_INDEX_TABLE) {
				pi_rec = in_hand = 1;   /* decoded here once the batches before it are out */
				break;
			}
			bend = mrt_reader_offset(r);
			it->kind = PI_REC;
			it->hdr = hdr;
			it->body = bend - hdr.len - b0;
			b->blen += hdr.len;
			b->n++;
		}
		/* the run the batch's records span, in one copy (the reader held it) */
		const uint8_t *run = mrt_reader_held(r, b0, bend - b0);
		if (!oom && bend > b0) {
			if (xgrow(&b->bytes, &b->bcap, bend - b0 + 1, 1) == 0)
				memcpy(b->bytes, run, bend - b0);
			else
				oom = 1;
		}
		if (oom) {
			/* the batches before this one out, then this one and the record in hand serially
			 * (their bytes are still held), then the rest of the file by the caller */
			int stop = 0;
			if (par_drain(d, p, ctx, shown, r, &tick, 0) < 0 || pbatch_serial(d, b, run, ctx, shown, r, &tick) < 0)
				fail = 1;
			else if (in_hand && rc < 0)
				report(d, shown, &err);
			else if (in_hand && serial_record(d, ctx, shown, r, &rec, &hdr, body, &err, &tick) < 0)
				fail = 1;
			mrt_reader_release(r);
			if (in_hand && rc < 0 && !fail)
				stop = reader_error(stuck, r) < 0;
			b->n = 0;
			return fail || stop ? PAR_DONE : PAR_SERIAL;
		}
		mrt_reader_release(r);
		if (b->n) {
			pthread_mutex_lock(&p->mu);
			b->state = PB_QUEUED;
			p->tail++;
			pthread_cond_broadcast(&p->cv);
			pthread_mutex_unlock(&p->mu);
		}
		if (pi_rec || end) {
			if (par_drain(d, p, ctx, shown, r, &tick, 0) < 0)
				fail = 1;
			else if (pi_rec && serial_record(d, ctx, shown, r, &rec, &hdr, body, &err, &tick) < 0)
				fail = 1;
		}
		/* merge what is decoded already: the output flows and the batches come free */
		while (!fail) {
			pthread_mutex_lock(&p->mu);
			int done = p->head != p->tail && p->b[p->head % PB_N].state == PB_DONE;
			pthread_mutex_unlock(&p->mu);
			if (!done)
				break;
			if (par_step(d, p, ctx, shown, r, &tick, 0) < 0)
				fail = 1;
		}
	}
	par_drain(d, p, ctx, shown, r, &tick, fail);
	return PAR_DONE;
}

/* The loop of dump_file on this thread alone. */
static void dump_serial(struct dump *d, struct mrt_reader *r, struct mrt_ctx *ctx, const char *shown,
                        struct stuck *stuck)
{
	struct dm_error err;
	memset(&err, 0, sizeof err);
	unsigned tick = 0;
	struct mrt_rec rec;
	for (;;) {
		const uint8_t *body;
		/* the header read into rec, as replay reads it (pipeline/source.c): mrt_decode's copy of
		 * it, 16-byte loads over the reader's narrower stores just made, waited for them */
		int rc = mrt_reader_next(r, &rec.hdr, &body, &err);
		if (rc == 0)
			break;
		if (rc < 0) {
			report(d, shown, &err);
			if (reader_error(stuck, r) < 0)
				break;
			continue;
		}
		stuck->n = 0;
		if (serial_record(d, ctx, shown, r, &rec, &rec.hdr, body, &err, &tick) < 0)
			break;
	}
}

static void dump_file(struct dump *d, const char *path)
{
	struct dm_error err;
	memset(&err, 0, sizeof err);
	const char *shown = strcmp(path, "-") ? path : "(stdin)";
	struct mrt_reader *r = mrt_reader_open(path, &err);
	d->files++;
	if (!r) {
		d->errors++;
		d->by_kind[-(int)DM_ERR_IO]++;
		if (!d->quiet)
			fprintf(stderr, "darkmap: %s: %s\n", shown, err.what[0] ? err.what : "cannot open");
		return;
	}
	struct mrt_ctx ctx;
	mrt_ctx_init(&ctx);
	set_lazy(&ctx, d->out);
	d->collector = base_name(path);
	if (d->out == OUT_JSON)
		json_src_init(&d->src, d->collector, &ctx);
	struct stuck stuck = { 0, UINT64_MAX };
	if (!(want_par(r) && par_start(&d->par) == 0) ||
	    dump_par(d, &d->par, r, &ctx, shown, d->collector, &stuck) == PAR_SERIAL)
		dump_serial(d, r, &ctx, shown, &stuck);
	const char *note = mrt_reader_note(r);
	if (note)   /* not an error (zero padding after the compressed data) */
		dm_log_rl(DM_ERR_COUNT_, "%s: note: %s", shown, note);
	d->bytes_done += mrt_reader_offset(r);
	mrt_ctx_free(&ctx);
	mrt_reader_close(r);
	if (d->progress)
		fputs("\r\033[K", stderr);
}

static void summary(const struct dump *d, double seconds)
{
	fprintf(stderr, "darkmap dump: %" PRIu64 " file%s, %" PRIu64 " records, %" PRIu64 " %s, %"
	        PRIu64 " error%s, %.2f s\n", d->files, d->files == 1 ? "" : "s", d->records,
	        d->lines, d->out == OUT_JSON ? "elements" : "lines", d->errors,
	        d->errors == 1 ? "" : "s", seconds);
	if (!d->errors)
		return;
	fputs("darkmap dump: errors by kind:", stderr);
	const char *sep = " ";
	for (int k = 1; k < DM_ERR_COUNT_; k++) {
		if (!d->by_kind[k])
			continue;
		fprintf(stderr, "%s%s %" PRIu64, sep, dm_err_name((enum dm_err) - k), d->by_kind[k]);
		sep = ", ";
	}
	fputc('\n', stderr);
}

int cmd_dump(int argc, char **argv)
{
	struct dump d;
	memset(&d, 0, sizeof d);
	d.out = OUT_M;
	int nfiles = 0, opts_done = 0;
	char **files = calloc((size_t)argc + 1, sizeof *files);
	if (!files)
		return EXIT_FAILURE_;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (opts_done || a[0] != '-' || !strcmp(a, "-")) {
			files[nfiles++] = argv[i];
		} else if (!strcmp(a, "--")) {
			opts_done = 1;
		} else if (!strcmp(a, "-m")) {
			d.out = OUT_M;
		} else if (!strcmp(a, "-M")) {
			d.out = OUT_BIG_M;
		} else if (!strcmp(a, "--json") || !strcmp(a, "-j")) {
			d.out = OUT_JSON;
		} else if (!strcmp(a, "--progress")) {
			d.progress = 1;
		} else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
			d.quiet = 1;
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			fputs(USAGE, stdout);
			free(files);
			return EXIT_OK;
		} else {
			fprintf(stderr, "darkmap dump: unknown option '%s'\n\n%s", a, USAGE);
			free(files);
			return EXIT_USAGE;
		}
	}
	if (!nfiles) {
		fprintf(stderr, "darkmap dump: no input file (use '-' for standard input)\n\n%s", USAGE);
		free(files);
		return EXIT_USAGE;
	}
	d.progress = d.progress && !d.quiet && isatty(2);
	dm_log_quiet = d.quiet;
	/* every buffer of a dump (the ring, the batches' output, the decoders) is first touched in
	 * the run: on huge pages, a fault each 2 MiB instead of each 4 KiB (base/hugeheap.c) */
	hugeheap_reserve(DUMP_HEAP);
	obuf_init_fd(&d.o, 1);
	const char *fa = getenv("DARKMAP_DUMP_FAIL_ALLOC");
	alloc_fail_at = fa ? atol(fa) : 0;
	alloc_count = 0;
	d.t_start = d.t_last = now();
	for (int i = 0; i < nfiles && !d.o.failed; i++)
		dump_file(&d, files[i]);
	par_stop(&d.par);
	int werr = obuf_free(&d.o);
	free(files);
	if (!d.quiet)
		dm_log_flush_suppressed();
	if (werr) {
		/* The output is incomplete: no summary that reads like a success, even with -q. */
		fprintf(stderr, "darkmap dump: writing standard output failed: %s; output incomplete (%" PRIu64
		        " records read, %" PRIu64 " %s formatted, not all written)\n", strerror(werr), d.records, d.lines,
		        d.out == OUT_JSON ? "elements" : "lines");
		return EXIT_FAILURE_;
	}
	if (!d.quiet)
		summary(&d, now() - d.t_start);
	return d.errors ? EXIT_DATA_ERRORS : EXIT_OK;
}
