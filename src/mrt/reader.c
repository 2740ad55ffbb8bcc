/* MRT framing: 12-byte headers (RFC 6396 §2), records handed out zero-copy from a buffer of
 * decompressed input. Framing problems are reported with the byte offset and, where the
 * header is impossible, the reader resynchronises on the next plausible header so that the
 * rest of the file is still read (old RIS bviews declare wrong lengths). */
#include "mrt/reader.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "io/reader.h"

enum {
	/* The buffer starts at BUF_FIRST and doubles at each refill up to BUF_STEADY: a small
	 * file gets a small buffer and a big one reaches 256 KB reads after 4 refills. A fixed 1 MB
	 * per open was most of fuzz_reader's time under ASan (allocating, filling and
	 * quarantining 1 MB for a 2 KB input: 12 ms a run) and of replay's opening of small files;
	 * 1 MB at the top was 192 page faults more in a 30 ms dump -m than 256 KB, whose reads are
	 * still few (27 for the 6.9 MB of the 2002 bview). */
	BUF_FIRST = 16 << 10,
	BUF_STEADY = 256 << 10,
	MAX_RECORD = 64 << 20,      /* larger lengths are treated as corrupt framing */
	RESYNC_WINDOW = 16 << 20,   /* how far to look for the next plausible header */
	TS_SLACK = 7 * 86400,       /* consecutive records' timestamps are this close */
	/* one BGP message (65535, RFC 8654) + BGP4MP_ENTRY's fixed part, next hop and prefix */
	MAX_BGP_BODY = 65535 + 400,
	/* Record times that cannot be real (issue 9: records stamped 0xFFFFFFFF made replay print 8
	 * million bins of 1970 once 32-bit bin arithmetic wrapped). The first MRT archives are
	 * RouteViews' of November 1997 and RIS's of 1999; BGP-4 itself is RFC 1771, March 1995:
	 * nothing was written before 1 Jan 1995. The upper bound is the clock plus a day, room for
	 * a collector whose clock runs ahead or a file written in another time zone's "UTC". */
	TS_MIN = 788918400,         /* 1995-01-01 00:00:00 UTC */
	TS_AHEAD = 86400,
};

struct mrt_reader {
	struct dm_reader *in;
	uint8_t *buf;
	size_t cap, pos, len;       /* unread data is buf[pos..len) */
	uint64_t base;              /* input offset of buf[0] */
	int eof;                    /* no more input */
	int read_full;              /* the last read filled the space it was given */
	int io_failed;              /* the decompressor reported an error: end after the buffer */
	struct dm_error io_err;
	int io_err_pending;
	uint32_t last_ts;           /* the file's established time: the last record handed out */
	int have_ts;
	uint64_t skipped, nskips;   /* bytes of damage skipped, in how many regions */
	struct dm_error pending;    /* reported by the next call (a record was handed out first) */
	int have_pending;
	uint64_t nrec, nerr;        /* records and errors handed out (end of input checks) */
	uint64_t ts_max;            /* latest believable record time: the clock at open + TS_AHEAD */
	uint64_t hold;              /* with held: bytes from this input offset on stay buffered */
	int held;
};

struct mrt_reader *mrt_reader_open(const char *path, struct dm_error *err)
{
	struct dm_reader *in = dm_reader_open(path, err);
	if (!in)
		return NULL;
	struct mrt_reader *r = calloc(1, sizeof *r);
	if (r)
		r->buf = malloc(BUF_FIRST);
	if (!r || !r->buf) {
		free(r);
		dm_reader_close(in);
		dm_fail(err, DM_ERR_NOMEM, 0, "out of memory");
		return NULL;
	}
	r->in = in;
	r->cap = BUF_FIRST;
	r->ts_max = (uint64_t)time(NULL) + TS_AHEAD;
	/* Uncompressed files are read(2), not mapped: a mapped file truncated while we read it
	 * (collect rotates files others are reading) kills the process with SIGBUS, and the
	 * copy costs little next to decoding. */
	return r;
}

void mrt_reader_close(struct mrt_reader *r)
{
	if (!r)
		return;
	dm_reader_close(r->in);
	free(r->buf);
	free(r);
}

const char *mrt_reader_name(const struct mrt_reader *r) { return dm_reader_name(r->in); }
uint64_t mrt_reader_offset(const struct mrt_reader *r) { return r->base + r->pos; }
uint64_t mrt_reader_compressed_offset(const struct mrt_reader *r)
{
	return dm_reader_compressed_bytes(r->in);
}
uint64_t mrt_reader_file_size(const struct mrt_reader *r) { return dm_reader_file_size(r->in); }
const char *mrt_reader_note(const struct mrt_reader *r) { return dm_reader_note(r->in); }

/* Makes at least want bytes available at buf[pos] unless the input ends first.
 * Returns the number of bytes available. need() is the check, inlined at each of the several
 * calls a record makes (a tenth of a RIB's framing instructions were calls that found the bytes
 * there, callgrind); need_more() reads. */
static size_t need_more(struct mrt_reader *r, size_t want);

static inline size_t need(struct mrt_reader *r, size_t want)
{
	size_t have = r->len - r->pos;
	return have >= want ? have : need_more(r, want);
}

static size_t need_more(struct mrt_reader *r, size_t want)
{
	while (r->len - r->pos < want && !r->eof) {
		/* bytes before buf[keep] may go: the consumed ones, except those held (mrt_reader_hold) */
		size_t keep = r->pos;
		if (r->held && r->hold < r->base + r->pos)
			keep = r->hold > r->base ? (size_t)(r->hold - r->base) : 0;
		if (keep > 0 && (r->cap - r->len < want || keep > r->cap / 2)) {
			memmove(r->buf, r->buf + keep, r->len - keep);
			r->base += keep;
			r->len -= keep;
			r->pos -= keep;
		}
		/* Grow a full buffer by doubling, not to want at once: a damaged length (64 MB
		 * declared in a 2 KB file) gets memory only as its bytes arrive. And ramp up to
		 * BUF_STEADY while reads fill what they are offered (more input is likely). */
		if (r->len == r->cap || (r->cap < BUF_STEADY && r->read_full)) {
			size_t cap = r->cap * 2;
			uint8_t *nb = realloc(r->buf, cap);
			if (!nb) {
				r->eof = 1;
				break;
			}
			r->buf = nb;
			r->cap = cap;
		}
		struct dm_error e;
		ssize_t n = dm_reader_read(r->in, r->buf + r->len, r->cap - r->len, &e);
		if (n < 0) {
			r->io_err = e;
			r->io_err_pending = 1;
			r->eof = 1;
			break;
		}
		if (n == 0) {
			r->eof = 1;
			break;
		}
		r->read_full = (size_t)n == r->cap - r->len;
		r->len += (size_t)n;
	}
	return r->len - r->pos;
}

static inline int is_et(uint16_t type)
{
	return type == MRT_BGP4MP_ET || type == MRT_ISIS_ET || type == MRT_OSPFV3_ET;
}

/* The header checks below are forced inline: a record's framing reads its own header and the
 * next (twice for a TABLE_DUMP), and the calls were a fifth of a RIB's framing (callgrind). */
#define HOT static inline __attribute__((always_inline))

HOT void parse_hdr(const uint8_t *p, struct mrt_hdr *h)
{
	h->ts = be32(p);
	h->type = be16(p + 4);
	h->subtype = be16(p + 6);
	h->len = be32(p + 8);
	h->usec = 0;
}

/* Can a record of this type, subtype and length exist? Types and subtypes of RFC 6396 §4 and
 * Appendix B that archives hold; lengths between the smallest body of the type and the largest
 * one the type can carry. A zero run (type 0, length 0) fails here: it is damage, never a record.
 * Limits per type are what make a flipped bit in a length visible at once: a BGP4MP body holds
 * one BGP message (at most 65535 bytes, RFC 8654) after at most 44 bytes of session header. */
HOT int shape_ok(const struct mrt_hdr *h)
{
	uint32_t n = h->len;
	/* The types of update files and RIBs first, by tests: the switch's jump table (an indirect
	 * branch, twice a record: its header and the next) was 1.5% of decoding an update file's
	 * instructions (callgrind). */
	if (h->type == MRT_BGP4MP_ET || h->type == MRT_BGP4MP) {   /* Zebra's 8-byte STATE_CHANGE is the smallest body */
		uint32_t et = h->type == MRT_BGP4MP_ET ? 4 : 0;
		return h->subtype <= MRT_BGP4MP_MESSAGE_AS4_LOCAL_ADDPATH && n >= 8 + et && n <= MAX_BGP_BODY + et;
	}
	if (h->type == MRT_TABLE_DUMP_V2)   /* smallest: a RIB with no entry (seq, /0, count) */
		return h->subtype >= MRT_TD2_PEER_INDEX_TABLE && h->subtype <= MRT_TD2_RIB_GENERIC_ADDPATH && n >= 7 &&
		       n <= MAX_RECORD;
	if (h->type == MRT_TABLE_DUMP)      /* fixed part 22 (IPv4) or 46 (IPv6) bytes */
		return ((h->subtype == MRT_TD_AFI_IPV4 && n >= 22) || (h->subtype == MRT_TD_AFI_IPV6 && n >= 46)) &&
		       n <= MAX_RECORD;
	switch (h->type) {
	case MRT_BGP_DEPRECATED:   /* peer AS + peer address at least */
		return h->subtype <= MRT_BGP5_KEEPALIVE && n >= 6 && n <= MAX_BGP_BODY;
	case 11:                   /* OSPFv2 */
		return n >= 4 && n <= MAX_BGP_BODY;
	case MRT_ISIS:
	case MRT_ISIS_ET:
	case MRT_OSPFV3:
	case MRT_OSPFV3_ET: {
		uint32_t et = is_et(h->type) ? 4 : 0;
		return n >= 1 + et && n <= MAX_BGP_BODY + et;
	}
	default:
		return 0;
	}
}

HOT int ts_real(const struct mrt_reader *r, uint32_t ts)
{
	return ts >= TS_MIN && ts <= r->ts_max;
}

HOT int ts_close(uint32_t a, uint32_t b)
{
	int64_t d = (int64_t)a - (int64_t)b;
	return d >= -TS_SLACK && d <= TS_SLACK;
}

/* Plausible header at p (12 bytes available) where a record is expected after the record of time
 * ts: close to the file's time, or, when that record starts a new time (concatenated archives:
 * it is not close to the file's), close to that record's own. */
HOT int plausible(const struct mrt_reader *r, const uint8_t *p, uint32_t ts)
{
	struct mrt_hdr h;
	parse_hdr(p, &h);
	uint32_t ref = r->have_ts && ts_close(ts, r->last_ts) ? r->last_ts : ts;
	return shape_ok(&h) && ts_real(r, h.ts) && (!r->have_ts || ts_close(h.ts, ref));
}

/* The common case, decided from buffered bytes alone: a record of the file's time (close to the
 * last one handed out) whose body, the next header and 8 bytes more are buffered, both headers
 * possible, the next of the same type, real, and close in time to this one and to the file's.
 * next_record's checks then all pass without reading and change nothing: fix_short_length finds
 * the next header plausible, chains takes one link and it chains, repair_pit_type sees no
 * TABLE_DUMP_V2 record after a record of another type; only the BGP4MP message length is left
 * to check. They had cost the 2002 bview 300 instructions a record (three parses and shape checks
 * of the next header, callgrind), a seventh of dump -m's. */
HOT int fast_ok(const struct mrt_reader *r, const struct mrt_hdr *h)
{
	if (!r->have_ts || !shape_ok(h) || !ts_real(r, h->ts) || !ts_close(h->ts, r->last_ts))
		return 0;
	size_t total = MRT_HEADER_LEN + (size_t)h->len;
	if (r->len - r->pos < total + MRT_HEADER_LEN + 8)
		return 0;
	struct mrt_hdr n;
	parse_hdr(r->buf + r->pos + total, &n);
	return n.type == h->type && shape_ok(&n) && ts_real(r, n.ts) && ts_close(n.ts, h->ts) &&
	       ts_close(n.ts, r->last_ts);
}

/* 1 to 8: how many bytes past at (relative to pos) a header follows that is possible, real and close
 * to time prev, the whole header buffered; 0 when none does. */
static size_t short_link(struct mrt_reader *r, size_t at, uint32_t prev)
{
	for (size_t s = 1; s <= 8; s++) {
		if (need(r, at + s + MRT_HEADER_LEN) < at + s + MRT_HEADER_LEN)
			return 0;
		struct mrt_hdr h;
		parse_hdr(r->buf + r->pos + at + s, &h);
		if (shape_ok(&h) && ts_close(h.ts, prev) && ts_real(r, h.ts))
			return s;
	}
	return 0;
}

/* Does the record whose header is at pos+k (already shape_ok, length total with its header)
 * lead somewhere believable? The next header must be plausible and close in time to this one,
 * or the input must end there (also inside a header or record: a cut file). A record whose time
 * is not close to the file's established time (spliced or concatenated archives, or a flipped
 * bit in its timestamp) starts a new time only if the record after the next agrees as well. */
static int chains(struct mrt_reader *r, size_t k, size_t total, uint32_t ts)
{
	int links = (!r->have_ts || ts_close(ts, r->last_ts)) ? 1 : 2;
	uint32_t prev = ts;
	uint16_t prev_type = 0;
	for (int i = 0; i < links; i++) {
		size_t at = k + total;
		size_t avail = need(r, at + MRT_HEADER_LEN);
		if (avail < at + MRT_HEADER_LEN)
			return r->eof;  /* the input ends here, or inside the next record: a cut file */
		struct mrt_hdr h;
		parse_hdr(r->buf + r->pos + at, &h);
		if (!shape_ok(&h) || !ts_close(h.ts, prev) || !ts_real(r, h.ts)) {
			/* The second link of a new time: its first record may be a TABLE_DUMP declared a few
			 * bytes short, as every record of a 2000 RIS bview is (fix_short_length, which frames
			 * the first record the same way): the next header 1 to 8 bytes on. Without it such an
			 * archive after another one in the same stream never chained and was lost whole. */
			size_t s = i > 0 && prev_type == MRT_TABLE_DUMP ? short_link(r, at, prev) : 0;
			if (!s)
				return 0;
			at += s;
			parse_hdr(r->buf + r->pos + at, &h);
		}
		prev = h.ts;
		prev_type = h.type;
		k = at;
		total = MRT_HEADER_LEN + (size_t)h.len;
	}
	return 1;
}

/* The first offset k >= from (relative to pos) where a plausible record starts and chains on
 * (see chains()). Returns 1 and sets *k when found within RESYNC_WINDOW, else 0. */
static int find_next(struct mrt_reader *r, size_t from, size_t *k)
{
	for (size_t i = from; i < RESYNC_WINDOW; i++) {
		/* Per byte of damage: the buffered bytes and the type's high byte (every known type
		 * is below 256) are looked at first; the scan was most of fuzz_reader's time. */
		if (r->len - r->pos < i + MRT_HEADER_LEN && need(r, i + MRT_HEADER_LEN) < i + MRT_HEADER_LEN)
			return 0;
		if (r->buf[r->pos + i + 4] != 0)
			continue;
		struct mrt_hdr h;
		parse_hdr(r->buf + r->pos + i, &h);
		if (!shape_ok(&h) || !ts_real(r, h.ts))
			continue;
		size_t total = MRT_HEADER_LEN + (size_t)h.len;
		/* a candidate cut by the end of input is believed only at the established time (with no
		 * time yet, nothing vouches for it: a stray header inside a damaged first record) */
		if (need(r, i + total) < i + total && (!r->have_ts || !ts_close(h.ts, r->last_ts)))
			continue;
		if (chains(r, i, total, h.ts)) {
			*k = i;
			return 1;
		}
	}
	return 0;
}

/* How much to skip when find_next found no plausible record: what is buffered up to the end of
 * input, but never more than the window searched. What is buffered beyond it depends on how the
 * input came (mapped, inflated in line or by the decompression thread), and the report and what
 * follows must not: the next call looks again from the window's end. */
static size_t unfound_extent(const struct mrt_reader *r)
{
	size_t left = r->len - r->pos;
	return left < RESYNC_WINDOW ? left : RESYNC_WINDOW;
}

/* Skips n bytes of damage at pos and reports them: offset, length, how many are zero, and where
 * reading goes on. */
static int skip_damage(struct mrt_reader *r, size_t n, int found, const char *why, struct dm_error *err)
{
	uint64_t off = r->base + r->pos;
	size_t zeros = 0;
	for (size_t i = 0; i < n; i++)
		zeros += r->buf[r->pos + i] == 0;
	r->pos += n;
	r->skipped += n;
	r->nskips++;
	char z[64] = "";
	if (zeros == n)
		snprintf(z, sizeof z, ", all zero,");
	else if (zeros * 2 > n)
		snprintf(z, sizeof z, ", %zu of them zero,", zeros);
	if (found)
		return dm_fail(err, DM_ERR_FRAMING, off,
		               "MRT framing lost: %s; skipped %zu bytes%s to the next plausible record at offset %llu",
		               why, n, z, (unsigned long long)(off + n));
	return dm_fail(err, DM_ERR_FRAMING, off, "MRT framing lost: %s; no plausible record follows, %zu bytes%s skipped",
	               why, n, z);
}

/* The record whose declared length is total (with its header) really ends k bytes later: the
 * k bytes are taken into it (reported by the caller from len_fixed). Returns its new total. */
static size_t take_extra(struct mrt_hdr *hdr, size_t total, size_t k)
{
	hdr->len += (uint32_t)k;
	hdr->len_fixed = (uint8_t)k;
	return total + k;
}

/* RIS bviews of 2000 declare TABLE_DUMP lengths a few bytes short of what was written
 * (bgpkit documents 4). When the bytes after the declared end are not a plausible header but a
 * plausible header follows within 8 bytes, the record really ends there: take the extra bytes
 * into the record instead of losing framing. */
static size_t fix_short_length(struct mrt_reader *r, struct mrt_hdr *hdr, size_t total)
{
	size_t avail = need(r, total + MRT_HEADER_LEN + 8);
	if (avail == total)
		return total;
	if (avail > total && avail <= total + 8 && r->eof)
		return take_extra(hdr, total, avail - total);   /* the input ends a few bytes after the declared end */
	if (avail < total + MRT_HEADER_LEN || plausible(r, r->buf + r->pos + total, hdr->ts))
		return total;
	for (size_t k = 1; k <= 8; k++) {
		/* the input ends k bytes after the declared end, or a plausible record starts there */
		if (avail == total + k ||
		    (avail >= total + k + MRT_HEADER_LEN && plausible(r, r->buf + r->pos + total + k, hdr->ts)))
			return take_extra(hdr, total, k);
	}
	/* The last record of a short-declared archive followed by an archive of another time (cat
	 * of two files): the header k bytes on is not close in time, so plausible() refuses it, but
	 * a record there that chains as a new time would (chains(), two links) is believed, unless
	 * one already starts at the declared end. */
	for (size_t k = 0; k <= 8 && avail >= total + k + MRT_HEADER_LEN; k++) {
		struct mrt_hdr n;
		parse_hdr(r->buf + r->pos + total + k, &n);
		if (shape_ok(&n) && ts_real(r, n.ts) && !ts_close(n.ts, hdr->ts) &&
		    chains(r, total + k, MRT_HEADER_LEN + (size_t)n.len, n.ts))
			return take_extra(hdr, total, k);
	}
	return total;
}

/* A BGP4MP(_ET) MESSAGE record holds one BGP message: its body length is the session header
 * plus the message's own length. Returns that length (ET: with the 4 microsecond bytes), or 0
 * when the record is not such a message or the message header is not where it should be. */
static size_t bgp4mp_msg_len(const struct mrt_hdr *h, const uint8_t *body)
{
	if (h->type != MRT_BGP4MP && h->type != MRT_BGP4MP_ET)
		return 0;
	uint16_t st = h->subtype;
	if (st != MRT_BGP4MP_MESSAGE && st != MRT_BGP4MP_MESSAGE_AS4 && (st < MRT_BGP4MP_MESSAGE_LOCAL || st > 11))
		return 0;
	size_t et = h->type == MRT_BGP4MP_ET ? 4 : 0;
	int as4 = st == MRT_BGP4MP_MESSAGE_AS4 || st == MRT_BGP4MP_MESSAGE_AS4_LOCAL ||
	          st == MRT_BGP4MP_MESSAGE_AS4_ADDPATH || st == MRT_BGP4MP_MESSAGE_AS4_LOCAL_ADDPATH;
	size_t sess = (as4 ? 8 : 4) + 4;
	if (h->len < et + sess)
		return 0;
	uint16_t afi = be16(body + et + sess - 2);
	sess += afi == DM_AFI_IPV4 ? 8 : afi == DM_AFI_IPV6 ? 32 : 0;
	if (afi != DM_AFI_IPV4 && afi != DM_AFI_IPV6)
		return 0;
	if (h->len < et + sess + 19)
		return 0;
	if (!bgp_is_marker(body + et + sess))
		return 0;
	uint16_t mlen = be16(body + et + sess + 16);
	return mlen >= 19 ? et + sess + mlen : 0;
}

/* The length a record's own content gives (TABLE_DUMP one entry, TABLE_DUMP_V2 PEER_INDEX_TABLE
 * and RIB_*, BGP4MP STATE_CHANGE and MESSAGE), read from the avail bytes at body; 0 when the type
 * does not say or the content does not fit in avail. Used only when the declared length is in
 * doubt: a length corrupted on its own leaves the content that tells the true one. */
static size_t self_len(const struct mrt_hdr *h, const uint8_t *body, size_t avail)
{
	struct cur c = cur_make(body, avail);
	uint16_t st = h->subtype, n, v16;
	uint8_t v8;
	uint32_t v32;
	switch (h->type) {
	case MRT_TABLE_DUMP: {
		size_t fixed = st == MRT_TD_AFI_IPV6 ? 46 : 22;
		if (avail < fixed)
			return 0;
		size_t len = fixed + be16(body + fixed - 2);
		return len <= avail ? len : 0;
	}
	case MRT_TABLE_DUMP_V2:
		if (st == MRT_TD2_PEER_INDEX_TABLE) {
			if (cur_skip(&c, 4) < 0 || cur_u16(&c, &v16) < 0 || cur_skip(&c, v16) < 0 || cur_u16(&c, &n) < 0)
				return 0;
			for (unsigned i = 0; i < n; i++) {
				if (cur_u8(&c, &v8) < 0 ||
				    cur_skip(&c, 4 + (v8 & 1 ? 16u : 4u) + (v8 & 2 ? 4u : 2u)) < 0)
					return 0;
			}
			return cur_off(&c);
		}
		if ((st >= MRT_TD2_RIB_IPV4_UNICAST && st <= MRT_TD2_RIB_GENERIC) ||
		    (st >= MRT_TD2_RIB_IPV4_UNICAST_ADDPATH && st <= MRT_TD2_RIB_GENERIC_ADDPATH)) {
			int addpath = st >= MRT_TD2_RIB_IPV4_UNICAST_ADDPATH;
			if (cur_skip(&c, 4) < 0)
				return 0;
			if ((addpath ? st - 6 : st) == MRT_TD2_RIB_GENERIC && cur_skip(&c, 3) < 0)
				return 0;
			if (cur_u8(&c, &v8) < 0 || cur_skip(&c, (v8 + 7u) / 8) < 0 || cur_u16(&c, &n) < 0)
				return 0;
			for (unsigned i = 0; i < n; i++) {
				if (cur_skip(&c, addpath ? 10 : 6) < 0 || cur_u16(&c, &v16) < 0 || cur_skip(&c, v16) < 0)
					return 0;
			}
			return cur_off(&c);
		}
		return 0;
	case MRT_BGP4MP:
	case MRT_BGP4MP_ET: {
		size_t et = h->type == MRT_BGP4MP_ET ? 4 : 0;
		int as4 = st == MRT_BGP4MP_MESSAGE_AS4 || st == MRT_BGP4MP_STATE_CHANGE_AS4 ||
		          st == MRT_BGP4MP_MESSAGE_AS4_LOCAL || st == MRT_BGP4MP_MESSAGE_AS4_ADDPATH ||
		          st == MRT_BGP4MP_MESSAGE_AS4_LOCAL_ADDPATH;
		int state = st == MRT_BGP4MP_STATE_CHANGE || st == MRT_BGP4MP_STATE_CHANGE_AS4;
		if (!state && st != MRT_BGP4MP_MESSAGE && st != MRT_BGP4MP_MESSAGE_AS4 &&
		    (st < MRT_BGP4MP_MESSAGE_LOCAL || st > MRT_BGP4MP_MESSAGE_AS4_LOCAL_ADDPATH))
			return 0;
		if (cur_skip(&c, et + (as4 ? 8 : 4) + 2) < 0 || cur_u16(&c, &v16) < 0 ||
		    (v16 != DM_AFI_IPV4 && v16 != DM_AFI_IPV6) || cur_skip(&c, v16 == DM_AFI_IPV4 ? 8 : 32) < 0)
			return 0;
		if (state)
			return cur_skip(&c, 4) < 0 ? 0 : cur_off(&c);
		for (int i = 0; i < 16; i++)
			if (cur_u8(&c, &v8) < 0 || v8 != 0xff)
				return 0;
		if (cur_u16(&c, &v16) < 0 || v16 < 19 || cur_skip(&c, v16 - 18u) < 0)
			return 0;
		(void)v32;
		return cur_off(&c);
	}
	default:
		return 0;
	}
}

/* Reports the header at pos, whose body runs past the end of input, as truncated. */
static int truncated_record(struct mrt_reader *r, const struct mrt_hdr *hdr, size_t avail, struct dm_error *err)
{
	uint64_t off = r->base + r->pos;
	size_t have = avail - MRT_HEADER_LEN;
	r->pos = r->len;
	if (r->io_err_pending) {
		r->io_err_pending = 0;
		return dm_fail(err, DM_ERR_TRUNCATED, off,
		               "%s record truncated: length %u, only %zu bytes before the input ends (%s)",
		               mrt_type_name(hdr->type), hdr->len, have, r->io_err.what);
	}
	return dm_fail(err, DM_ERR_TRUNCATED, off, "%s record truncated: length %u, only %zu bytes before the end of input",
	               mrt_type_name(hdr->type), hdr->len, have);
}

/* The header at pos has a time of the file but a length that leads nowhere: when the record's
 * own content ends elsewhere and a believable record starts right there, only the length was
 * damaged. Sets hdr->len and *total to the content's, schedules the error for the next call and
 * returns 1. */
static int repair_length(struct mrt_reader *r, struct mrt_hdr *hdr, size_t avail, struct dm_error *err,
                         size_t *total)
{
	(void)err;
	if (r->have_ts && !ts_close(hdr->ts, r->last_ts))
		return 0;
	if (avail <= MRT_HEADER_LEN)
		return 0;
	size_t sl = self_len(hdr, r->buf + r->pos + MRT_HEADER_LEN, avail - MRT_HEADER_LEN);
	if (!sl || sl == hdr->len || !chains(r, 0, MRT_HEADER_LEN + sl, hdr->ts))
		return 0;
	dm_fail(&r->pending, DM_ERR_FRAMING, hdr->offset + 8,
	        "%s/%s record declares length %u but its content ends after %zu bytes, where the next record "
	        "starts: read as %zu", mrt_type_name(hdr->type), mrt_subtype_name(hdr->type, hdr->subtype), hdr->len, sl,
	        sl);
	r->have_pending = 1;
	hdr->len = (uint32_t)sl;
	*total = MRT_HEADER_LEN + sl;
	return 1;
}

/* The header at pos has an unknown type but a time of the file and a length that leads to a
 * believable record: when exactly one type makes the content end exactly at the declared length
 * (a PEER_INDEX_TABLE, a RIB, a BGP4MP message...), only the type was damaged. Sets hdr->type,
 * schedules the error for the next call and returns 1. */
static int repair_type(struct mrt_reader *r, struct mrt_hdr *hdr, size_t *total)
{
	static const uint16_t types[] = { MRT_TABLE_DUMP, MRT_TABLE_DUMP_V2, MRT_BGP4MP, MRT_BGP4MP_ET };
	if (hdr->len > MAX_RECORD || (r->have_ts && !ts_close(hdr->ts, r->last_ts)))
		return 0;
	size_t t = MRT_HEADER_LEN + (size_t)hdr->len;
	if (need(r, t) < t || !chains(r, 0, t, hdr->ts))
		return 0;
	struct mrt_hdr c = *hdr;
	uint16_t found = 0;
	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
		c.type = types[i];
		if (shape_ok(&c) && self_len(&c, r->buf + r->pos + MRT_HEADER_LEN, hdr->len) == hdr->len) {
			if (found)
				return 0;   /* two types fit: no way to tell */
			found = types[i];
		}
	}
	if (!found)
		return 0;
	dm_fail(&r->pending, DM_ERR_FRAMING, hdr->offset + 4,
	        "MRT type %u unknown; the record's content is a %s/%s of exactly its length %u: read as one",
	        hdr->type, mrt_type_name(found), mrt_subtype_name(found, hdr->subtype), hdr->len);
	r->have_pending = 1;
	hdr->type = found;
	*total = t;
	return 1;
}

/* Zero bytes ending the body of the record at pos (total bytes with its header) when the byte
 * after it, where the next header should start, is zero too: one zero run over the record's end. */
static uint32_t zero_tail(const struct mrt_reader *r, size_t total)
{
	if (r->len - r->pos <= total || r->buf[r->pos + total] != 0)
		return 0;
	uint32_t n = 0;
	while (n + MRT_HEADER_LEN < total && r->buf[r->pos + total - 1 - n] == 0)
		n++;
	return n;
}

/* A record of another type (a flipped type bit turns TABLE_DUMP_V2 13 into type 5, 9, 12, 15 ...)
 * whose subtype is PEER_INDEX_TABLE's, whose content is exactly a PEER_INDEX_TABLE of its length,
 * and which is followed by a TABLE_DUMP_V2 RIB record: it is the table, whose loss would cost
 * every RIB line after it. Read as one, reported with the next call. */
static void repair_pit_type(struct mrt_reader *r, struct mrt_hdr *hdr, size_t total)
{
	if (hdr->type == MRT_TABLE_DUMP_V2 || hdr->subtype != MRT_TD2_PEER_INDEX_TABLE || r->have_pending)
		return;
	if (need(r, total + MRT_HEADER_LEN) < total + MRT_HEADER_LEN)
		return;
	struct mrt_hdr next, c = *hdr;
	parse_hdr(r->buf + r->pos + total, &next);
	if (next.type != MRT_TABLE_DUMP_V2 || next.subtype == MRT_TD2_PEER_INDEX_TABLE || !shape_ok(&next))
		return;
	c.type = MRT_TABLE_DUMP_V2;
	if (!shape_ok(&c) || self_len(&c, r->buf + r->pos + MRT_HEADER_LEN, hdr->len) != hdr->len)
		return;
	dm_fail(&r->pending, DM_ERR_FRAMING, hdr->offset + 4,
	        "MRT type %u (%s) record is exactly a TABLE_DUMP_V2/PEER_INDEX_TABLE of its length %u and TABLE_DUMP_V2 "
	        "RIB records follow: read as the PEER_INDEX_TABLE", hdr->type, mrt_type_name(hdr->type), hdr->len);
	r->have_pending = 1;
	hdr->type = MRT_TABLE_DUMP_V2;
}

/* A record is handed out only once it is believable (shape_ok: type, subtype, length; chains:
 * the next header plausible, the time consistent). Otherwise the reader looks for the next
 * believable record and reports the bytes in between as one skipped region:
 *  - an impossible header (a zero run, a flipped type): skip to the next believable record;
 *  - a length past the end of input: when a believable record starts inside the declared body,
 *    the length is the damage: skip to it; otherwise the file is cut: truncated;
 *  - a possible header that does not chain: when a believable record starts inside the declared
 *    body (a length grown or shrunk by damage, a flipped timestamp), skip to it; when none does,
 *    the damage is after this record (the next header): hand it out if its time is the file's. */
/* Reads and discards the rest of the input; returns the bytes discarded (buffered ones too). */
static uint64_t drain(struct mrt_reader *r)
{
	uint64_t n = r->len - r->pos;
	r->pos = r->len;
	r->held = 0;   /* the reads below overwrite the buffer (only before the first record) */
	while (!r->eof) {
		struct dm_error e;
		ssize_t k = dm_reader_read(r->in, r->buf, r->cap, &e);
		if (k < 0 && !r->io_err_pending) {
			r->io_err = e;
			r->io_err_pending = 1;
		}
		if (k <= 0)
			break;
		n += (uint64_t)k;
	}
	r->eof = 1;
	return n;
}

static int next_record(struct mrt_reader *r, struct mrt_hdr *hdr, const uint8_t **body, struct dm_error *err)
{
	for (;;) {
		if (r->have_pending) {
			r->have_pending = 0;
			if (err)
				*err = r->pending;
			return r->pending.code;
		}
		size_t avail = need(r, MRT_HEADER_LEN);
		uint64_t off = r->base + r->pos;
		if (avail == 0) {
			if (r->io_err_pending) {
				r->io_err_pending = 0;
				if (err)
					*err = r->io_err;
				return DM_ERR_IO;
			}
			return 0;
		}
		if (avail < MRT_HEADER_LEN) {
			r->pos = r->len;
			if (r->io_err_pending) {
				r->io_err_pending = 0;
				return dm_fail(err, DM_ERR_TRUNCATED, off,
				               "MRT header truncated: %zu of 12 bytes before the input ends (%s)",
				               avail, r->io_err.what);
			}
			return dm_fail(err, DM_ERR_TRUNCATED, off,
			               "MRT header truncated: %zu of 12 bytes before the end of input", avail);
		}
		parse_hdr(r->buf + r->pos, hdr);
		hdr->offset = off;
		hdr->len_fixed = 0;
		hdr->zero_tail = 0;
		char why[160];
		size_t k = 0, total;
		if (fast_ok(r, hdr)) {
			total = MRT_HEADER_LEN + (size_t)hdr->len;
			goto framed;
		}
		if (!ts_real(r, hdr->ts) && shape_ok(hdr)) {
			/* A record framed like one but stamped with a time that cannot be real (0, a wrapped
			 * or flipped timestamp): when its length leads to a possible header (or the end of
			 * input), skip just this record; the others stand or fall on their own times. */
			total = MRT_HEADER_LEN + (size_t)hdr->len;
			size_t got = need(r, total + MRT_HEADER_LEN);
			struct mrt_hdr nh = { 0 };   /* read below only when parsed (LTO's inlining can't tell) */
			if (got >= total + MRT_HEADER_LEN)
				parse_hdr(r->buf + r->pos + total, &nh);
			char when[40];
			time_t t = (time_t)hdr->ts;
			struct tm tm;
			strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", gmtime_r(&t, &tm));
			if (hdr->type == MRT_TABLE_DUMP_V2 && hdr->subtype == MRT_TD2_PEER_INDEX_TABLE &&
			    got >= total + MRT_HEADER_LEN && shape_ok(&nh) && ts_real(r, nh.ts)) {
				/* A PEER_INDEX_TABLE's time names nothing, and every RIB line after it needs the
				 * table: read it with the next record's time. */
				dm_fail(&r->pending, DM_ERR_BAD_VALUE, off,
				        "TABLE_DUMP_V2/PEER_INDEX_TABLE record time %u (%s) cannot be real: read with the next "
				        "record's time %u (a table's time names nothing)", hdr->ts, when, nh.ts);
				r->have_pending = 1;
				hdr->ts = nh.ts;
			} else if (got == total || (got >= total + MRT_HEADER_LEN && shape_ok(&nh))) {
				r->pos += total;
				return dm_fail(err, DM_ERR_BAD_VALUE, off,
				               "%s/%s record time %u (%s) cannot be real (before 1995-01-01 or more than a day "
				               "after this machine's clock): record skipped", mrt_type_name(hdr->type),
				               mrt_subtype_name(hdr->type, hdr->subtype), hdr->ts, when);
			}
		}
		if (!shape_ok(hdr)) {
			/* a known type and subtype with an impossible length: perhaps only the length */
			struct mrt_hdr t = *hdr;
			t.len = 100;   /* a length every type allows */
			if (shape_ok(&t) && repair_length(r, hdr, need(r, MRT_HEADER_LEN + 4 * MAX_BGP_BODY), err, &total))
				goto hand_out;
			if (!shape_ok(&t) && repair_type(r, hdr, &total))
				goto hand_out;
			snprintf(why, sizeof why, "impossible header (type %u, subtype %u, length %u)", hdr->type,
			         hdr->subtype, hdr->len);
			int found = find_next(r, 1, &k);
			if (!found && r->nrec == 0) {
				/* nothing in this input is MRT: say so with the whole size, not the window */
				uint64_t rest = drain(r);   /* a decompression error is reported next */
				return dm_fail(err, DM_ERR_FRAMING, off,
				               "no valid MRT record: %llu bytes skipped (first header: type %u, subtype %u, "
				               "length %u)", (unsigned long long)rest, hdr->type, hdr->subtype, hdr->len);
			}
			return skip_damage(r, found ? k : unfound_extent(r), found, why, err);
		}
		total = MRT_HEADER_LEN + (size_t)hdr->len;
		avail = need(r, total);
		if (avail < total) {
			if (repair_length(r, hdr, avail, err, &total))
				goto hand_out;
			if (find_next(r, 1, &k)) {
				snprintf(why, sizeof why, "%s/%s length %u points past the end of input (%zu bytes left)",
				         mrt_type_name(hdr->type), mrt_subtype_name(hdr->type, hdr->subtype), hdr->len,
				         avail - MRT_HEADER_LEN);
				return skip_damage(r, k, 1, why, err);
			}
			return truncated_record(r, hdr, need(r, total), err);
		}
		if (hdr->type == MRT_TABLE_DUMP)
			total = fix_short_length(r, hdr, total);
		if (!chains(r, 0, total, hdr->ts)) {
			if (repair_length(r, hdr, need(r, total + MAX_BGP_BODY), err, &total))
				goto hand_out;
			int found = find_next(r, 1, &k);
			int timely = !r->have_ts || ts_close(hdr->ts, r->last_ts);
			if ((found && k < total) || !timely) {
				if (!timely)
					snprintf(why, sizeof why, "%s/%s record at time %u, %+lld s from the file's time, leads to no "
					         "record of its time", mrt_type_name(hdr->type), mrt_subtype_name(hdr->type, hdr->subtype),
					         hdr->ts, (long long)hdr->ts - (long long)r->last_ts);
				else
					snprintf(why, sizeof why, "%s/%s length %u does not end at a record (a record starts %zu bytes "
					         "into it)", mrt_type_name(hdr->type), mrt_subtype_name(hdr->type, hdr->subtype),
					         hdr->len, k);
				return skip_damage(r, found ? k : unfound_extent(r), found, why, err);
			}
			/* no record starts inside this one: it is sound, the damage comes after it. When the
			 * damage is a zero run that began inside this record, the zeros ending its body are
			 * damage too: the decoder must not take them for values (a PEER_INDEX_TABLE's
			 * last peers). */
			hdr->zero_tail = zero_tail(r, total);
		}
		repair_pit_type(r, hdr, total);
	framed:;
		/* A length grown by damage that still lands on a record swallows records silently:
		 * for a BGP message the true end is known, and if a record chains from there the length
		 * is wrong. The record is handed out with its message's length, the error comes next. */
		size_t mlen = bgp4mp_msg_len(hdr, r->buf + r->pos + MRT_HEADER_LEN);
		if (mlen && mlen < hdr->len && chains(r, 0, MRT_HEADER_LEN + mlen, hdr->ts)) {
			dm_fail(&r->pending, DM_ERR_FRAMING, off + 8,
			        "%s/%s record declares length %u but its BGP message ends after %zu bytes and a record "
			        "starts there: read as %zu, %u bytes left to the records after it",
			        mrt_type_name(hdr->type), mrt_subtype_name(hdr->type, hdr->subtype), hdr->len, mlen, mlen,
			        hdr->len - (unsigned)mlen);
			r->have_pending = 1;
			hdr->len = (uint32_t)mlen;
			total = MRT_HEADER_LEN + mlen;
		}
	hand_out:;   /* C11: a label is followed by a statement, not a declaration */
		if (!ts_real(r, hdr->ts)) {
			/* framed, but its time cannot be real and nothing after it vouches for it */
			r->have_pending = 0;
			snprintf(why, sizeof why, "%s/%s record time %u cannot be real", mrt_type_name(hdr->type),
			         mrt_subtype_name(hdr->type, hdr->subtype), hdr->ts);
			return skip_damage(r, total, need(r, total + 1) > total, why, err);
		}
		const uint8_t *p = r->buf + r->pos;
		r->pos += total;
		*body = p + MRT_HEADER_LEN;
		if (is_et(hdr->type)) {
			/* RFC 6396 §3: the microsecond field is counted in Length (shape_ok: len >= 4). */
			hdr->usec = be32(*body);
			*body += 4;
			hdr->len -= 4;
		}
		r->last_ts = hdr->ts;
		r->have_ts = 1;
		return 1;
	}
}

void mrt_reader_hold(struct mrt_reader *r, uint64_t off)
{
	r->held = off >= r->base && off <= r->base + r->pos;
	r->hold = off;
}

void mrt_reader_release(struct mrt_reader *r) { r->held = 0; }

const uint8_t *mrt_reader_held(const struct mrt_reader *r, uint64_t off, size_t n)
{
	if (!r->held || off < r->hold || off < r->base || off - r->base > r->len || n > r->len - (off - r->base))
		return NULL;
	return r->buf + (off - r->base);
}

uint64_t mrt_reader_skipped(const struct mrt_reader *r, uint64_t *regions)
{
	if (regions)
		*regions = r->nskips;
	return r->skipped;
}

int mrt_reader_next(struct mrt_reader *r, struct mrt_hdr *hdr, const uint8_t **body, struct dm_error *err)
{
	int rc = next_record(r, hdr, body, err);
	if (rc > 0)
		r->nrec++;
	else if (rc < 0)
		r->nerr++;
	else if (r->nrec == 0 && r->nerr == 0) {
		/* An input without a single record is not success: no routes and no error would
		 * read as "nothing happened" to an outage detector. */
		r->nerr++;
		enum dm_compression c = dm_reader_compression(r->in);
		if (c == DM_COMP_NONE)
			return dm_fail(err, DM_ERR_FRAMING, 0, "empty input");
		return dm_fail(err, DM_ERR_FRAMING, 0, "empty input (the %s stream holds 0 bytes)",
		               dm_compression_name(c));
	}
	return rc;
}
