/* A partition's exact snapshot (cluster.h cl_part_snapshot): its RIB, its signal and the
 * partition's own counters and last sums, written after a barrier's close with the stream id
 * of the last message it covers, so that a worker taking the partition over loads it and reads
 * the stream after that id instead of from its start (docs/scale.md "Snapshots").
 *
 * Layout: "DMSNAP" 0 1 | u32 version | u32 byte order mark | u32 partition | u32 barrier seq |
 * i64 barrier time | u16 id length + stream id | u64 batch | u64 body length | u32 CRC-32 of the body |
 * body (partition, RIB, signal). Numbers in the machine's order (base/snapbuf.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "base/snapbuf.h"
#include "cluster/part_impl.h"

static const uint8_t magic[8] = { 'D', 'M', 'S', 'N', 'A', 'P', 0, 1 };
enum { SNAP_VERSION = 1, BOM = 0x01020304u, PART_TAG = 0x50415231u /* "PAR1" */ };

int cl_part_snapshot(const struct cl_part *p, const struct cl_barrier *b, const char *stream_id, uint64_t batch,
                     struct snapbuf *out)
{
	size_t idlen = stream_id ? strlen(stream_id) : 0;
	if (idlen > CL_SNAP_ID_MAX)
		return -1;
	snap_put(out, magic, sizeof magic);
	snap_u32(out, SNAP_VERSION);
	snap_u32(out, BOM);
	snap_u32(out, p->id);
	snap_u32(out, b->seq);
	snap_i64(out, b->t);
	uint16_t l = (uint16_t)idlen;
	snap_put(out, &l, 2);
	snap_put(out, stream_id, idlen);
	snap_u64(out, batch);
	size_t at = out->n;
	snap_u64(out, 0);
	snap_u32(out, 0);
	size_t body = out->n;
	snap_u32(out, PART_TAG);
	snap_arr(out, p->sums, p->nsums * 2, sizeof *p->sums);
	snap_u64(out, p->rr[0]);
	snap_u64(out, p->rr[1]);
	snap_u64(out, p->bad);
	snap_u64(out, p->elems);
	rib_snap_write(p->rib, out);
	sig_snap_write(p->sig, out);
	if (out->failed)
		return -1;
	uint64_t n = out->n - body;
	uint32_t crc = (uint32_t)crc32_z(0, out->p + body, n);
	memcpy(out->p + at, &n, 8);
	memcpy(out->p + at + 8, &crc, 4);
	return 0;
}

static int fail(struct dm_error *err, enum dm_err code, const struct cur *c, const char *what)
{
	return dm_fail(err, code, cur_off(c), "snapshot: %s", what);
}

int cl_snap_header(const uint8_t *buf, size_t len, struct cl_snap_info *info, struct cur *body, struct dm_error *err)
{
	struct cur c = cur_make(buf, len);
	uint8_t m[8];
	uint32_t v, bom;
	uint16_t l;
	uint64_t n;
	uint32_t crc;
	memset(info, 0, sizeof *info);
	if (cur_copy(&c, m, 8) || memcmp(m, magic, 8))
		return fail(err, DM_ERR_BAD_TYPE, &c, "not a darkmap snapshot");
	if (snap_ru32(&c, &v) || snap_ru32(&c, &bom) || v != SNAP_VERSION || bom != BOM)
		return fail(err, DM_ERR_BAD_VALUE, &c, "of another version or byte order");
	if (snap_ru32(&c, &info->part) || snap_ru32(&c, &info->seq) || snap_ri64(&c, &info->t) || cur_copy(&c, &l, 2) ||
	    l > CL_SNAP_ID_MAX || cur_copy(&c, info->stream_id, l) || snap_ru64(&c, &info->batch) || snap_ru64(&c, &n) || snap_ru32(&c, &crc))
		return fail(err, DM_ERR_TRUNCATED, &c, "header truncated");
	info->stream_id[l] = 0;
	if (strlen(info->stream_id) != l)
		return fail(err, DM_ERR_BAD_VALUE, &c, "stream id holds a NUL");
	if (n != cur_left(&c))
		return fail(err, DM_ERR_TRUNCATED, &c, "body length is not the bytes that follow");
	if ((uint32_t)crc32_z(0, c.p, n) != crc)
		return fail(err, DM_ERR_BAD_VALUE, &c, "checksum mismatch");
	*body = c;
	return 0;
}

int cl_part_restore(struct cl_part *p, const uint8_t *buf, size_t len, struct cl_snap_info *info, struct dm_error *err)
{
	struct cur c;
	if (cl_snap_header(buf, len, info, &c, err))
		return -1;
	if (info->part != p->id)
		return fail(err, DM_ERR_BAD_VALUE, &c, "of another partition");
	uint32_t tag, n;
	const uint8_t *src;
	if (snap_ru32(&c, &tag) || tag != PART_TAG || snap_rarr(&c, &n, 0x7ffffffeu, sizeof *p->sums, &src) ||
	    (n & 1))
		return fail(err, DM_ERR_BAD_VALUE, &c, "partition state");
	free(p->sums);
	p->sums = malloc((size_t)(n ? n : 2) * sizeof *p->sums);
	if (!p->sums)
		return dm_fail(err, DM_ERR_NOMEM, 0, "out of memory");
	memcpy(p->sums, src, (size_t)n * sizeof *p->sums);
	p->nsums = n / 2;
	if (snap_ru64(&c, &p->rr[0]) || snap_ru64(&c, &p->rr[1]) || snap_ru64(&c, &p->bad) || snap_ru64(&c, &p->elems))
		return fail(err, DM_ERR_TRUNCATED, &c, "partition state truncated");
	if (rib_snap_read(p->rib, &c))
		return fail(err, DM_ERR_BAD_VALUE, &c, "RIB");
	if (sig_snap_read(p->sig, &c))
		return fail(err, DM_ERR_BAD_VALUE, &c, "signal");
	if (cur_left(&c))
		return fail(err, DM_ERR_BAD_LENGTH, &c, "extra bytes after the state");
	if (p->nsums > rib_peer_count(p->rib))
		return fail(err, DM_ERR_BAD_VALUE, &c, "sums for more peers than known");
	/* the signal reads the sums in place until the next barrier's: as after cl_part_close */
	if (p->nsums)
		sig_set_ff_sizes(p->sig, p->sums, p->nsums, p->rr);
	return 0;
}

int cl_snap_save(const char *path, const struct snapbuf *b, struct dm_error *err)
{
	/* a temporary name, then rename: a reader sees the old snapshot or the new one whole */
	char tmp[4096];
	if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
		return dm_fail(err, DM_ERR_BAD_VALUE, 0, "%s: path too long", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return dm_fail(err, DM_ERR_IO, 0, "%s: %s", tmp, strerror(errno));
	size_t off = 0;
	while (off < b->n) {
		ssize_t w = write(fd, b->p + off, b->n - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			int e = errno;
			close(fd);
			unlink(tmp);
			return dm_fail(err, DM_ERR_IO, off, "%s: %s", tmp, strerror(e));
		}
		off += (size_t)w;
	}
	if (fsync(fd) || close(fd) || rename(tmp, path)) {
		int e = errno;
		unlink(tmp);
		return dm_fail(err, DM_ERR_IO, 0, "%s: %s", path, strerror(e));
	}
	return 0;
}
