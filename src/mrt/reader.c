/* MRT framing: 12-byte headers (RFC 6396 §2), records handed out zero-copy from a buffer of
 * decompressed input. Framing problems are reported with the byte offset and, where the
 * header is impossible, the reader resynchronises on the next plausible header so that the
 * rest of the file is still read (old RIS bviews declare wrong lengths). */
#include "mrt/reader.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/reader.h"

enum {
	BUF_INIT = 1 << 20,
	MAX_RECORD = 64 << 20,      /* larger lengths are treated as corrupt framing */
	RESYNC_WINDOW = 16 << 20,   /* how far to look for the next plausible header */
	TS_SLACK = 7 * 86400,       /* a resync candidate's timestamp must be this close */
};

struct mrt_reader {
	struct dm_reader *in;
	uint8_t *buf;
	size_t cap, pos, len;       /* unread data is buf[pos..len) */
	uint64_t base;              /* input offset of buf[0] */
	int eof;                    /* no more input */
	int io_failed;              /* the decompressor reported an error: end after the buffer */
	struct dm_error io_err;
	int io_err_pending;
	uint32_t last_ts;
	int have_ts;
	uint64_t nrec, nerr;        /* records and errors handed out (end of input checks) */
};

struct mrt_reader *mrt_reader_open(const char *path, struct dm_error *err)
{
	struct dm_reader *in = dm_reader_open(path, err);
	if (!in)
		return NULL;
	struct mrt_reader *r = calloc(1, sizeof *r);
	if (r)
		r->buf = malloc(BUF_INIT);
	if (!r || !r->buf) {
		free(r);
		dm_reader_close(in);
		dm_fail(err, DM_ERR_NOMEM, 0, "out of memory");
		return NULL;
	}
	r->in = in;
	r->cap = BUF_INIT;
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
 * Returns the number of bytes available. */
static size_t need(struct mrt_reader *r, size_t want)
{
	while (r->len - r->pos < want && !r->eof) {
		if (r->pos > 0 && (r->cap - r->len < want || r->pos > r->cap / 2)) {
			memmove(r->buf, r->buf + r->pos, r->len - r->pos);
			r->base += r->pos;
			r->len -= r->pos;
			r->pos = 0;
		}
		if (r->cap - r->pos < want) {
			size_t cap = r->cap;
			while (cap - r->pos < want)
				cap *= 2;
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
		r->len += (size_t)n;
	}
	return r->len - r->pos;
}

static int type_known(uint16_t type)
{
	/* RFC 6396 §4 and Appendix B (deprecated 0-10). */
	return type <= 17 || type == 32 || type == 33 || type == 48 || type == 49;
}

static int is_et(uint16_t type)
{
	return type == MRT_BGP4MP_ET || type == MRT_ISIS_ET || type == MRT_OSPFV3_ET;
}

static void parse_hdr(const uint8_t *p, struct mrt_hdr *h)
{
	h->ts = be32(p);
	h->type = be16(p + 4);
	h->subtype = be16(p + 6);
	h->len = be32(p + 8);
	h->usec = 0;
}

/* Plausible header at p (12 bytes available)? Used only while resynchronising. */
static int plausible(const struct mrt_reader *r, const uint8_t *p)
{
	struct mrt_hdr h;
	parse_hdr(p, &h);
	if (!type_known(h.type) || h.type < 5 || h.len > MAX_RECORD || h.len < 4)
		return 0;
	if (h.type == MRT_TABLE_DUMP && (h.subtype < 1 || h.subtype > 2))
		return 0;
	if (h.type == MRT_TABLE_DUMP_V2 && (h.subtype < 1 || h.subtype > 12))
		return 0;
	if ((h.type == MRT_BGP4MP || h.type == MRT_BGP4MP_ET) && h.subtype > 11)
		return 0;
	if (h.type == MRT_BGP_DEPRECATED && h.subtype > 7)
		return 0;
	if (r->have_ts) {
		int64_t d = (int64_t)h.ts - (int64_t)r->last_ts;
		if (d < -TS_SLACK || d > TS_SLACK)
			return 0;
	}
	return 1;
}

/* Looks for the next offset after the bad header where a plausible header starts and is
 * followed by another plausible header (or the end of input). Returns 0 and moves pos when
 * found. */
static int resync(struct mrt_reader *r, size_t *skipped)
{
	size_t start = r->pos;
	for (size_t k = 1; k < RESYNC_WINDOW; k++) {
		size_t avail = need(r, k + MRT_HEADER_LEN);
		if (avail < k + MRT_HEADER_LEN)
			break;
		/* need() may move the buffer: recompute from pos each time */
		const uint8_t *p = r->buf + r->pos + k;
		if (!plausible(r, p))
			continue;
		uint32_t len = be32(p + 8);
		size_t next = k + MRT_HEADER_LEN + len;
		size_t avail2 = need(r, next + MRT_HEADER_LEN);
		p = r->buf + r->pos + k;
		if (avail2 == next || (avail2 >= next + MRT_HEADER_LEN && plausible(r, r->buf + r->pos + next))) {
			*skipped = k;
			r->pos += k;
			return 0;
		}
	}
	(void)start;
	return -1;
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
	if (avail > total && avail <= total + 8 && r->eof) {
		/* the input ends a few bytes after the declared end: they belong to the record */
		hdr->len += (uint32_t)(avail - total);
		hdr->len_fixed = (uint8_t)(avail - total);
		return avail;
	}
	if (avail < total + MRT_HEADER_LEN || plausible(r, r->buf + r->pos + total))
		return total;
	for (size_t k = 1; k <= 8; k++) {
		if (avail == total + k) {
			/* the input ends k bytes after the declared end: those bytes belong to the record */
			hdr->len += (uint32_t)k;
			hdr->len_fixed = (uint8_t)k;
			return total + k;
		}
		if (avail >= total + k + MRT_HEADER_LEN && plausible(r, r->buf + r->pos + total + k)) {
			hdr->len += (uint32_t)k;
			hdr->len_fixed = (uint8_t)k;
			return total + k;
		}
	}
	return total;
}

/* Reads and discards the rest of the input; returns the bytes discarded (buffered ones too). */
static uint64_t drain(struct mrt_reader *r)
{
	uint64_t n = r->len - r->pos;
	r->pos = r->len;
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
		const uint8_t *p = r->buf + r->pos;
		parse_hdr(p, hdr);
		hdr->offset = off;
		/* Type 0 (NULL, RFC 6396 Appendix B) is never written: a header of type 0 is a run
		 * of zero bytes or damage, not a record (its timestamp 0 would block resync). */
		if (hdr->type == 0 || !type_known(hdr->type) || hdr->len > MAX_RECORD) {
			struct mrt_hdr bad = *hdr;
			size_t skipped = 0;
			if (resync(r, &skipped) == 0)
				return dm_fail(err, DM_ERR_FRAMING, off,
				               "MRT framing lost: impossible header (type %u, subtype %u, length %u); "
				               "skipped %zu bytes to the next plausible record",
				               bad.type, bad.subtype, bad.len, skipped);
			if (r->nrec == 0) {
				/* nothing in this input is MRT: say so with the whole size, not the window */
				uint64_t rest = drain(r);   /* a decompression error is reported next */
				return dm_fail(err, DM_ERR_FRAMING, off,
				               "no valid MRT record: %llu bytes skipped (first header: type %u, "
				               "subtype %u, length %u)", (unsigned long long)rest, bad.type,
				               bad.subtype, bad.len);
			}
			uint64_t rest = r->len - r->pos;
			r->pos = r->len;
			r->eof = 1;   /* a pending decompression error is reported by the next call */
			return dm_fail(err, DM_ERR_FRAMING, off,
			               "MRT framing lost: impossible header (type %u, subtype %u, length %u); "
			               "no plausible record follows, %llu bytes skipped",
			               bad.type, bad.subtype, bad.len, (unsigned long long)rest);
		}
		size_t total = MRT_HEADER_LEN + (size_t)hdr->len;
		avail = need(r, total);
		if (avail < total) {
			p = r->buf + r->pos;
			size_t have = avail - MRT_HEADER_LEN;
			r->pos = r->len;
			if (r->io_err_pending) {
				r->io_err_pending = 0;
				return dm_fail(err, DM_ERR_TRUNCATED, off,
				               "%s record truncated: length %u, only %zu bytes before the input ends (%s)",
				               mrt_type_name(hdr->type), hdr->len, have, r->io_err.what);
			}
			return dm_fail(err, DM_ERR_TRUNCATED, off,
			               "%s record truncated: length %u, only %zu bytes before the end of input",
			               mrt_type_name(hdr->type), hdr->len, have);
		}
		hdr->len_fixed = 0;
		if (hdr->type == MRT_TABLE_DUMP)
			total = fix_short_length(r, hdr, total);
		p = r->buf + r->pos;
		r->pos += total;
		*body = p + MRT_HEADER_LEN;
		if (is_et(hdr->type)) {
			/* RFC 6396 §3: the microsecond field is counted in Length. */
			if (hdr->len < 4)
				return dm_fail(err, DM_ERR_BAD_LENGTH, off,
				               "%s record length %u cannot hold the microsecond timestamp",
				               mrt_type_name(hdr->type), hdr->len);
			hdr->usec = be32(*body);
			*body += 4;
			hdr->len -= 4;
		}
		r->last_ts = hdr->ts;
		r->have_ts = 1;
		return 1;
	}
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
