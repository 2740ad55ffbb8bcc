/* darkmap's own bzip2 block decoder (bz2dec.h). Why not libbz2 here: `dump -m` on bzip2 files
 * is bound by block decoding (docs/dump.md, "bzip2"): with libbz2 the decoders alone cost 1.06x
 * `bzip2 -dc`'s instructions, so two cores cannot reach 0.6x. libbz2 is slow where a decoder
 * written for whole blocks in memory need not be: it reads bits one call at a time through a
 * resumable state machine, decodes Huffman codes a bit at a time from the shortest length up,
 * walks the inverse BWT as one chain of dependent cache misses through 3.6 MB, and updates the
 * CRC a byte at a time inside the run-length loop. Here (measured numbers in docs/dump.md):
 *  - a 64-bit bit buffer refilled 8 bytes at a time (branch-free refill);
 *  - Huffman codes up to 10 bits in one table lookup, longer ones (up to 20) canonically;
 *  - move-to-front on a 16-byte vector blend for the common small indices;
 *  - the inverse BWT walked as eight independent chains at once: the T vector's cycle cut into
 *    segments at every 1024th row (flagged while T is built), eight walked at a time, then
 *    put in order (walk() below), so eight cache misses are in flight instead of one;
 *  - the initial run-length decoding 8 bytes at a time where no two neighbours are equal, and
 *    the CRC slice-by-8 over the output afterwards.
 *
 * The format (bzip2 1.0.x; Seward's sources are the definition, Joe Tsai's "bzip2 format
 * specification" the description used here): "BZh" + level '1'..'9' (block size limit 100 000 x
 * level bytes), blocks, each: 48-bit magic 0x314159265359, 32-bit block CRC, randomised bit,
 * 24-bit origPtr, a 16 x 16 bit map of the bytes used, 3 bits: Huffman tables (2..6), 15 bits:
 * selectors (>= 1, each a unary MTF index of a table, one table per 50 symbols), each table's
 * code lengths (5-bit start, then per symbol "10" +1 / "11" -1 / "0" next, lengths 1..20), then
 * the symbols: RUNA/RUNB (bijective base-2 run of the front byte), MTF indices + 1, EOB. Then
 * end-of-stream magic 0x177245385090, the stream CRC (block CRCs folded with a 1-bit rotation),
 * padding to a byte. The block's bytes are the inverse BWT (row origPtr) of the symbols, then
 * runs of 4 equal bytes followed by a count byte (0..255 more). CRC: CRC-32 MSB first, poly
 * 0x04c11db7, initial and final xor 0xffffffff.
 *
 * Where it stays stricter than libbz2 (every such input is an error here; the caller hands it to
 * libbz2): randomised blocks, oversubscribed or incomplete codes that reach an unassigned code,
 * run lengths of 20 or more RUNA/RUNB symbols (they exceed every block size anyway). */
#include "io/bz2dec.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define MAGIC_BLOCK 0x314159265359ULL
#define MAGIC_EOS 0x177245385090ULL

enum {
	NMAX = 900000,      /* largest block (level 9) */
	MAX_ALPHA = 258,
	MAX_GROUPS = 6,
	MAX_SEL = 18002,    /* libbz2 keeps at most this many selectors (2 + 900000 / 50) */
	MAX_LEN = 20,
	FAST = 10,          /* bits resolved by one table lookup */
	GROUP = 50,         /* symbols per selector */
	HUGE = 2 << 20,
	VEC_BYTES = HUGE * ((NMAX * 4 + HUGE - 1) / HUGE),  /* tt, on 2 MB pages */
	SEG_SHIFT = 10,
	SEG = 1 << SEG_SHIFT,   /* the walk's segments start at every SEG-th row (walk() says why) */
	MAX_SEGS = NMAX / SEG + 2,
	LANES = 8,              /* segments walked at once: LANE_LIST's length */
};
#define LANE_LIST(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7)

struct huff {
	uint16_t fast[1 << FAST];   /* sym << 5 | len; 0: the code is longer than FAST bits */
	uint32_t first[MAX_LEN + 1];  /* the first code of each length */
	uint16_t cnt[MAX_LEN + 1], base[MAX_LEN + 1];  /* codes of each length; their index in perm */
	uint16_t perm[MAX_ALPHA];   /* symbols by code length, then value */
	unsigned maxlen;
};

typedef uint8_t v16 __attribute__((vector_size(16)));

struct bz2dec {
	uint8_t *ll;          /* the block's BWT bytes, then the walked (pre run-length) bytes */
	uint32_t *tt;         /* T vector: segment flag << 31 | next row << 8 | this row's first byte */
	uint8_t *lanes;       /* the walk's output, LANES regions of NMAX bytes */
	struct seg {
		uint32_t at, len;   /* its bytes: lanes[at, at + len) */
		uint32_t next;      /* the row after its last: the start of another segment */
	} seg[MAX_SEGS];
	struct huff huff[MAX_GROUPS];
	uint8_t sel[MAX_SEL];
	v16 mask[16];         /* lane j: 0xff when j < k (MTF shift by k) */
};

static uint32_t crc_tab[8][256];

/* ---------- CRC (MSB first, slice-by-8) ---------- */

static void crc_init(void)
{
	for (unsigned i = 0; i < 256; i++) {
		uint32_t c = i << 24;
		for (int k = 0; k < 8; k++)
			c = c & 0x80000000u ? c << 1 ^ 0x04c11db7u : c << 1;
		crc_tab[0][i] = c;
	}
	for (unsigned i = 0; i < 256; i++)
		for (int t = 1; t < 8; t++)
			crc_tab[t][i] = crc_tab[t - 1][i] << 8 ^ crc_tab[0][crc_tab[t - 1][i] >> 24];
}

static inline uint32_t load_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint32_t crc_update(uint32_t c, const uint8_t *p, size_t n)
{
	for (; n >= 8; n -= 8, p += 8) {
		uint32_t x = c ^ load_be32(p);
		c = crc_tab[7][x >> 24] ^ crc_tab[6][x >> 16 & 0xff] ^ crc_tab[5][x >> 8 & 0xff] ^ crc_tab[4][x & 0xff] ^
		    crc_tab[3][p[4]] ^ crc_tab[2][p[5]] ^ crc_tab[1][p[6]] ^ crc_tab[0][p[7]];
	}
	for (; n; n--, p++)
		c = c << 8 ^ crc_tab[0][(c >> 24) ^ *p];
	return c;
}

/* ---------- bits ---------- */

struct br {
	const uint8_t *p, *start, *end;
	uint64_t bb;     /* the next bn bits, from the top; below them zeros or the bits that follow */
	unsigned bn;
	uint64_t over;   /* zero bits supplied past the end */
};

static inline uint64_t load_be64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return __builtin_bswap64(v);
}

/* At least 56 bits in bb after. */
static inline void br_refill(struct br *b)
{
	if (b->end - b->p >= 8) {
		b->bb |= load_be64(b->p) >> b->bn;
		b->p += (63 - b->bn) >> 3;
		b->bn |= 56;
	} else {
		while (b->bn <= 56) {
			uint64_t byte = 0;
			if (b->p < b->end)
				byte = *b->p++;
			else
				b->over += 8;
			b->bb |= byte << (56 - b->bn);
			b->bn += 8;
		}
	}
}

static inline uint32_t br_get(struct br *b, unsigned n)  /* 1 <= n <= 32 */
{
	if (b->bn < n)
		br_refill(b);
	uint32_t v = (uint32_t)(b->bb >> (64 - n));
	b->bb <<= n;
	b->bn -= n;
	return v;
}

/* Bits consumed past the end of the input (0 while within it). */
static inline int br_overrun(const struct br *b)
{
	return b->over > b->bn;
}

/* ---------- Huffman tables ---------- */

static int huff_build(struct huff *h, const uint8_t *len, unsigned n)
{
	memset(h->cnt, 0, sizeof h->cnt);
	for (unsigned i = 0; i < n; i++)
		h->cnt[len[i]]++;
	uint32_t code = 0;
	unsigned idx = 0;
	h->maxlen = 0;
	for (unsigned l = 1; l <= MAX_LEN; l++) {
		h->first[l] = code;
		h->base[l] = (uint16_t)idx;
		code += h->cnt[l];
		idx += h->cnt[l];
		if (code > (1u << l))
			return -1;   /* oversubscribed */
		if (h->cnt[l])
			h->maxlen = l;
		code <<= 1;
	}
	uint16_t at[MAX_LEN + 1];
	memcpy(at, h->base, sizeof at);
	for (unsigned i = 0; i < n; i++)
		h->perm[at[len[i]]++] = (uint16_t)i;
	memset(h->fast, 0, sizeof h->fast);
	for (unsigned l = 1; l <= FAST && l <= h->maxlen; l++) {
		for (unsigned k = 0; k < h->cnt[l]; k++) {
			unsigned sym = h->perm[h->base[l] + k];
			unsigned c = (h->first[l] + k) << (FAST - l);
			uint16_t e = (uint16_t)(sym << 5 | l);
			for (unsigned j = 0; j < 1u << (FAST - l); j++)
				h->fast[c + j] = e;
		}
	}
	return 0;
}

/* ---------- the inverse BWT walk ---------- */

/* tt[LF(i)] for rows i in [i, to), flagged where i is a multiple of SEG; cf: each byte's next LF. */
static void build_tt(uint32_t *tt, const uint8_t *ll, uint32_t *cf, uint32_t i, uint32_t to)
{
	while (i < to) {
		uint32_t end = (i & ~(uint32_t)(SEG - 1)) + SEG;
		if (end > to)
			end = to;
		if (!(i & (SEG - 1))) {
			uint32_t c = ll[i];
			tt[cf[c]++] = 1u << 31 | i << 8 | c;
			i++;
		}
		for (; i < end; i++) {
			uint32_t c = ll[i];
			tt[cf[c]++] = i << 8 | c;
		}
	}
}

/* The block's n bytes into ll: row orig, then T(orig), T(T(orig)), ... each giving its first
 * byte. Walked as one chain, each step is a cache miss that waits for the one before (88% of the
 * decoder's time went there with two chains, forward with T and backward with LF). So the cycle
 * is cut at every SEG-th row and at orig (the rows flagged in tt): each piece from one such row
 * to the next is a segment, LANES of them are walked at once into lanes of their own (LANES
 * misses in flight), each lane taking the next segment when its own ends; then the segments
 * are copied out in the order the cycle goes from orig. Eight chains took 0.28-0.43x the two
 * chains' CPU on the same blocks (load 7-11, docs/dump.md); sixteen did no better. -1 when the
 * rows do not close up as a permutation's must (cannot happen: tt is one by construction). A
 * periodic block (u repeated) has T in several cycles; the walk of n steps from orig repeats
 * orig's cycle, as here. */
static int walk(struct bz2dec *d, uint32_t n, uint32_t orig)
{
	const uint32_t nreg = (n + SEG - 1) >> SEG_SHIFT;   /* segments at rows 0, SEG, 2 SEG, ... */
	const uint32_t nseg = nreg + ((orig & (SEG - 1)) != 0);   /* and orig's, last */
	uint32_t fp[LANES], cur[LANES], next = 0;
	uint8_t *o[LANES], *beg[LANES];
	unsigned live = 0;
	for (unsigned l = 0; l < LANES; l++) {
		o[l] = beg[l] = d->lanes + (size_t)l * NMAX;
		cur[l] = UINT32_MAX;
		fp[l] = 0;
		if (next < nseg) {
			uint32_t k = next++;
			cur[l] = k;
			fp[l] = k < nreg ? k << SEG_SHIFT : orig;
			d->seg[k].at = (uint32_t)(o[l] - d->lanes);
			live++;
		}
	}
	const uint32_t *tt = d->tt;
	while (live) {
		unsigned hit = 0;
		if (live == LANES) {
			/* every lane steps once a round, in registers, until one meets a segment's end */
#define LOAD(k) uint32_t f##k = fp[k]; uint8_t *o##k = o[k];
#define STEP(k)                                               \
	{                                                     \
		uint32_t v = tt[f##k];                        \
		o##k[t] = (uint8_t)v;                         \
		f##k = v >> 8 & 0xfffff;                      \
		if (__builtin_expect(v >> 31, 0)) {           \
			hit = k;                              \
			break;                                \
		}                                             \
	}
/* lanes before the one that hit stepped t + 1 times, it too, those after t times */
#define SAVE(k) fp[k] = f##k; o[k] = o##k + t + ((k) < hit + 1);
			LANE_LIST(LOAD)
			size_t t = 0;
			for (;; t++) {
				LANE_LIST(STEP)
			}
			LANE_LIST(SAVE)
#undef LOAD
#undef STEP
#undef SAVE
		} else {
			/* the last segments: the lanes still walking step in turn (their misses still
			 * overlap) until one ends */
			for (int ended = 0; !ended;) {
				for (unsigned l = 0; l < LANES; l++) {
					if (cur[l] == UINT32_MAX)
						continue;
					uint32_t v = tt[fp[l]];
					*o[l]++ = (uint8_t)v;
					fp[l] = v >> 8 & 0xfffff;
					if (v >> 31) {
						hit = l;
						ended = 1;
						break;
					}
				}
			}
		}
		/* lane hit ends its segment: record it, take the next */
		struct seg *g = &d->seg[cur[hit]];
		g->len = (uint32_t)(o[hit] - beg[hit]);
		g->next = fp[hit];
		if (next < nseg) {
			uint32_t k = next++;
			cur[hit] = k;
			fp[hit] = k < nreg ? k << SEG_SHIFT : orig;
			beg[hit] = o[hit];
			d->seg[k].at = (uint32_t)(o[hit] - d->lanes);
		} else {
			cur[hit] = UINT32_MAX;
			live--;
		}
	}
	uint8_t *s = d->ll;
	uint32_t total = 0, r = orig;
	for (uint32_t k = 0; k < nseg; k++) {
		const struct seg *g = &d->seg[r & (SEG - 1) ? nreg : r >> SEG_SHIFT];
		if (g->len > n - total)
			return -1;
		memcpy(s + total, d->lanes + g->at, g->len);
		total += g->len;
		r = g->next;
		if (r == orig)
			break;
	}
	if (r != orig)
		return -1;
	for (uint32_t i = total; i < n; i *= 2)   /* s[i] = s[i % total]; i stays a multiple of total */
		memcpy(s + i, s, i < n - i ? i : n - i);
	return 0;
}

/* ---------- one block ---------- */

static int out_grow(struct bz2dec_out *o, size_t need)
{
	if (o->cap - o->len >= need)
		return 0;
	size_t cap = o->cap ? o->cap : 1 << 20;
	while (cap - o->len < need) {
		if (cap > o->max / 2)
			cap = o->max;
		else
			cap *= 2;
		if (cap - o->len < need && cap == o->max)
			return -1;
	}
	uint8_t *nb = realloc(o->buf, cap);
	if (!nb)
		return -1;
	o->buf = nb;
	o->cap = cap;
	return 0;
}

/* The block after its magic: appends its bytes to o, *crc: its stored CRC. */
static int decode_block(struct bz2dec *d, struct br *b, unsigned level, struct bz2dec_out *o, uint32_t *crc)
{
	const uint32_t nmax = 100000u * level;
	uint32_t stored = br_get(b, 32);
	if (br_get(b, 1))
		return BZ2DEC_ERAND;
	uint32_t orig = br_get(b, 24);
	if (orig > 10 + nmax)
		return BZ2DEC_EDATA;

	/* the bytes used */
	uint8_t seq[256];
	unsigned nuse = 0;
	uint32_t used16 = br_get(b, 16);
	for (unsigned i = 0; i < 16; i++) {
		if (!(used16 >> (15 - i) & 1))
			continue;
		uint32_t m = br_get(b, 16);
		for (unsigned j = 0; j < 16; j++)
			if (m >> (15 - j) & 1)
				seq[nuse++] = (uint8_t)(i * 16 + j);
	}
	if (nuse == 0)
		return BZ2DEC_EDATA;
	const unsigned alpha = nuse + 2, eob = nuse + 1;

	/* tables and selectors */
	unsigned ngroups = br_get(b, 3);
	if (ngroups < 2 || ngroups > MAX_GROUPS)
		return BZ2DEC_EDATA;
	unsigned nsel = br_get(b, 15);
	if (nsel < 1)
		return BZ2DEC_EDATA;
	uint8_t pos[MAX_GROUPS];
	for (unsigned i = 0; i < ngroups; i++)
		pos[i] = (uint8_t)i;
	for (unsigned i = 0; i < nsel; i++) {
		unsigned j = 0;
		while (br_get(b, 1)) {
			if (++j >= ngroups)
				return BZ2DEC_EDATA;
		}
		uint8_t t = pos[j];
		for (; j > 0; j--)
			pos[j] = pos[j - 1];
		pos[0] = t;
		if (i < MAX_SEL)
			d->sel[i] = t;
		if ((i & 1023) == 0 && br_overrun(b))
			return BZ2DEC_ETRUNC;
	}
	if (nsel > MAX_SEL)
		nsel = MAX_SEL;
	for (unsigned t = 0; t < ngroups; t++) {
		uint8_t len[MAX_ALPHA];
		int cur = (int)br_get(b, 5);
		for (unsigned i = 0; i < alpha; i++) {
			for (;;) {
				if (cur < 1 || cur > MAX_LEN)
					return BZ2DEC_EDATA;
				if (!br_get(b, 1))
					break;
				cur += br_get(b, 1) ? -1 : 1;
			}
			len[i] = (uint8_t)cur;
		}
		if (br_overrun(b))
			return BZ2DEC_ETRUNC;
		if (huff_build(&d->huff[t], len, alpha) < 0)
			return BZ2DEC_EDATA;
	}

	/* the symbols: the BWT bytes into ll, counted */
	uint32_t freq[256];
	memset(freq, 0, sizeof freq);
	uint8_t mtfbuf[256 + 32];
	uint8_t *mtf = mtfbuf;
	memset(mtfbuf, 0, sizeof mtfbuf);
	memcpy(mtf, seq, nuse);
	uint8_t *ll = d->ll;
	uint32_t n = 0, run = 0;
	unsigned rbit = 0, gsel = 0, gleft = 0;
	const struct huff *h = NULL;
	uint64_t bb = b->bb;
	unsigned bn = b->bn;
	for (;;) {
		if (gleft == 0) {
			if (gsel >= nsel)
				goto bad;
			h = &d->huff[d->sel[gsel++]];
			gleft = GROUP;
		}
		gleft--;
		if (bn < MAX_LEN) {
			b->bb = bb;
			b->bn = bn;
			br_refill(b);
			bb = b->bb;
			bn = b->bn;
		}
		unsigned e = h->fast[bb >> (64 - FAST)], sym, l;
		if (e) {
			l = e & 31;
			sym = e >> 5;
		} else {
			for (l = FAST + 1;; l++) {
				if (l > h->maxlen)
					goto bad;
				uint32_t c = (uint32_t)(bb >> (64 - l)) - h->first[l];
				if (c < h->cnt[l]) {
					sym = h->perm[h->base[l] + c];
					break;
				}
			}
		}
		bb <<= l;
		bn -= l;
		if (sym <= 1) {
			if (rbit >= 20)
				goto bad;
			run += (sym + 1) << rbit;
			rbit++;
			continue;
		}
		if (run) {
			if (run > nmax - n)
				goto bad;
			uint8_t c = mtf[0];
			memset(ll + n, c, run);
			freq[c] += run;
			n += run;
			run = 0;
			rbit = 0;
		}
		if (sym == eob)
			break;
		if (n >= nmax)
			goto bad;
		unsigned k = sym - 1;
		uint8_t c = mtf[k];
		if (k < 16) {
			v16 a, s;
			memcpy(&a, mtf, 16);
			memcpy(&s, mtf + 1, 16);
			v16 m = d->mask[k];
			v16 r = (a & m) | (s & ~m);
			memcpy(mtf + 1, &r, 16);
		} else {
			memmove(mtf + 1, mtf, k);
		}
		mtf[0] = c;
		ll[n++] = c;
		freq[c]++;
	}
	b->bb = bb;
	b->bn = bn;
	if (br_overrun(b))
		return BZ2DEC_ETRUNC;
	if (orig >= n)
		return BZ2DEC_EDATA;

	/* the T vector. Rows are the block's rotations sorted; ll holds each row's last byte c, so
	 * row i's rotation starting one byte earlier is row j = LF(i) = (rows ending in a byte < c)
	 * + (rows before i ending in c), and T(j) = i: tt[j] keeps T(j), F[j] (= c) and a flag
	 * when T(j) starts a segment (below). */
	uint32_t cf[256], sum = 0;
	for (unsigned c = 0; c < 256; c++) {
		cf[c] = sum;
		sum += freq[c];
	}
	uint32_t *tt = d->tt;
	build_tt(tt, ll, cf, 0, orig);
	uint32_t jo = cf[ll[orig]];   /* LF(orig): T(jo) = orig */
	build_tt(tt, ll, cf, orig, n);
	tt[jo] |= 1u << 31;
	if (walk(d, n, orig) < 0)
		return BZ2DEC_EDATA;
	uint8_t *s = ll;

	/* runs of 4 equal bytes and a count. 8 positions at a time: where none starts a run,
	 * 8 bytes are copied; else the bytes before the first run, then the run. */
	size_t start = o->len;
	memset(s + n, 0, 16);
	const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
	uint32_t i = 0;
	while (i < n) {
		if (o->cap - o->len < 1024 && out_grow(o, 1024) < 0)
			return BZ2DEC_ENOMEM;
		uint8_t *op = o->buf + o->len, *oend = o->buf + o->cap - 288;
		while (op < oend) {
			if (i + 11 <= n) {
				uint64_t a, b1, b2, b3;
				memcpy(&a, s + i, 8);
				memcpy(&b1, s + i + 1, 8);
				memcpy(&b2, s + i + 2, 8);
				memcpy(&b3, s + i + 3, 8);
				/* a zero byte k: s[i+k .. i+k+3] equal (the lowest flagged byte is exact) */
				uint64_t z = (a ^ b1) | (a ^ b2) | (a ^ b3);
				uint64_t m = (z - ones) & ~z & highs;
				memcpy(op, &a, 8);
				if (!m) {
					op += 8;
					i += 8;
					continue;
				}
				unsigned k0 = (unsigned)__builtin_ctzll(m) >> 3;   /* little-endian: byte 0 is s[i] */
				op += k0;
				i += k0;
			} else if (i >= n) {
				break;
			} else if (!(i + 3 < n && s[i + 1] == s[i] && s[i + 2] == s[i] && s[i + 3] == s[i])) {
				*op++ = s[i++];
				continue;
			}
			/* a run starts at i */
			if (i + 4 >= n) {
				o->len = start;
				return BZ2DEC_EDATA;   /* libbz2 wants the count byte */
			}
			v16 c16;
			memset(&c16, s[i], 16);
			unsigned r = 4u + s[i + 4];
			for (unsigned w = 0; w < r; w += 16)
				memcpy(op + w, &c16, 16);
			op += r;
			i += 5;
		}
		o->len = (size_t)(op - o->buf);
	}
	uint32_t got = ~crc_update(0xffffffffu, o->buf + start, o->len - start);
	if (got != stored) {
		o->len = start;
		return BZ2DEC_ECRC;
	}
	*crc = stored;
	return BZ2DEC_OK;
bad:
	return br_overrun(b) ? BZ2DEC_ETRUNC : BZ2DEC_EDATA;
}

/* ---------- the interface ---------- */

struct bz2dec *bz2dec_new(void)
{
	static pthread_once_t crc_once = PTHREAD_ONCE_INIT;
	pthread_once(&crc_once, crc_init);   /* decoders are made on several threads at once */
	struct bz2dec *d = calloc(1, sizeof *d);
	if (!d)
		return NULL;
	d->ll = malloc(NMAX + 32);
	/* each lane may take any share of the n bytes (a segment runs to the next flagged row:
	 * its length is known only at its end); what they take adds up to n, so about n bytes
	 * of the 7.2 MB are ever touched */
	d->lanes = malloc((size_t)LANES * NMAX);
	/* tt on 2 MB pages where the kernel gives them (madvise mode): the walk's loads land
	 * anywhere in 3.6 MB, and with 4 KB pages nearly each one also misses
	 * the TLB (half the walk's time on this machine, measured) */
	void *big = NULL;
	if (posix_memalign(&big, HUGE, VEC_BYTES) != 0)
		big = NULL;
	if (!d->ll || !d->lanes || !big) {
		free(big);
		bz2dec_free(d);
		return NULL;
	}
#ifdef MADV_HUGEPAGE
	madvise(big, VEC_BYTES, MADV_HUGEPAGE);
#endif
	d->tt = big;
	for (unsigned k = 0; k < 16; k++)
		for (unsigned j = 0; j < 16; j++)
			d->mask[k][j] = j < k ? 0xff : 0;
	return d;
}

void bz2dec_free(struct bz2dec *d)
{
	if (!d)
		return;
	free(d->ll);
	free(d->lanes);
	free(d->tt);
	free(d);
}

int bz2dec_stream(struct bz2dec *d, const uint8_t *in, size_t len, struct bz2dec_out *o)
{
	if (len < 4 || memcmp(in, "BZh", 3) || in[3] < '1' || in[3] > '9')
		return BZ2DEC_EDATA;
	unsigned level = (unsigned)(in[3] - '0');
	struct br b = { in + 4, in, in + len, 0, 0, 0 };
	size_t start = o->len;
	uint32_t combined = 0;
	int rc;
	for (;;) {
		uint64_t magic = (uint64_t)br_get(&b, 24) << 24;
		magic |= br_get(&b, 24);
		if (br_overrun(&b)) {
			rc = BZ2DEC_ETRUNC;
			break;
		}
		if (magic == MAGIC_BLOCK) {
			uint32_t crc = 0;
			rc = decode_block(d, &b, level, o, &crc);
			if (rc != BZ2DEC_OK)
				break;
			combined = (combined << 1 | combined >> 31) ^ crc;
			continue;
		}
		if (magic != MAGIC_EOS) {
			rc = BZ2DEC_EDATA;
			break;
		}
		uint32_t stored = br_get(&b, 32);
		if (br_overrun(&b)) {
			rc = BZ2DEC_ETRUNC;
			break;
		}
		if (stored != combined) {
			rc = BZ2DEC_ECRC;
			break;
		}
		/* padding: the rest of the byte; nothing may follow */
		uint64_t bits = (uint64_t)(b.p - b.start) * 8 + b.over - b.bn;
		rc = (bits + 7) / 8 == len ? BZ2DEC_OK : BZ2DEC_EDATA;
		break;
	}
	if (rc != BZ2DEC_OK)
		o->len = start;
	return rc;
}
