/* MRT record framing over a (decompressed) input stream. */
#ifndef DM_MRT_READER_H
#define DM_MRT_READER_H

#include <stdint.h>

#include "base/err.h"
#include "mrt/mrt.h"

struct mrt_reader;

struct mrt_reader *mrt_reader_open(const char *path, struct dm_error *err);
void mrt_reader_close(struct mrt_reader *r);
const char *mrt_reader_name(const struct mrt_reader *r);

/* Next record: returns 1 with *hdr and *body (hdr->len bytes, valid until the next call),
 * 0 at the end of input, or a negative dm_err with err filled:
 *  - DM_ERR_TRUNCATED: the input ends inside a record (header or body); the next call returns 0.
 *  - DM_ERR_FRAMING: damage: a header that cannot be a record (a zero run, an unknown type or
 *    subtype, a length impossible for the type) or a record that leads to no believable next
 *    record (a wrong length, a timestamp foreign to the file). The reader has skipped the region
 *    to the next believable record; err->offset is where the region starts, err->what gives its
 *    length, how much of it is zero and where reading resumes. The next call goes on from there.
 *    Also DM_ERR_FRAMING, nothing skipped: the record handed out by the previous call had one
 *    damaged header field (a length its content and the next record contradict, an unknown type
 *    its content identifies, a BGP4MP length past its message onto the next record) and was read
 *    as its content says; err->offset is the field's.
 *  - DM_ERR_IO: the compressed stream is corrupt or ends early; what was decompressed before
 *    has been returned; the next call returns 0.
 * For _ET types hdr->usec is filled and *body starts after the microsecond field
 * (hdr->len is then the remaining length). */
int mrt_reader_next(struct mrt_reader *r, struct mrt_hdr *hdr, const uint8_t **body,
                    struct dm_error *err);

uint64_t mrt_reader_offset(const struct mrt_reader *r);          /* decompressed bytes consumed */

/* Holding a run of records where they are (dump's batches, src/cmd/dump.c: one copy of a run of
 * records instead of one per record). mrt_reader_hold(r, off), with off at most
 * mrt_reader_offset(r) (the offset before the first record of the run), keeps the decompressed
 * bytes from off on in the reader's buffer while later calls of mrt_reader_next read on: the
 * buffer may move or grow, the bytes stay. mrt_reader_held gives the n bytes at input offset off
 * of the held run (off >= the held offset, off + n <= mrt_reader_offset(r)), valid until the next
 * call of mrt_reader_next; NULL when they are not held (also after a "no valid MRT record" error,
 * which reads the rest of the input through the buffer). A record handed out by mrt_reader_next
 * has its body at input offset mrt_reader_offset(r) - hdr->len right after the call. Holding
 * changes nothing of what mrt_reader_next hands out; it costs the held bytes of memory (a long
 * run of damage read while holding stays buffered too). mrt_reader_release ends the hold. */
void mrt_reader_hold(struct mrt_reader *r, uint64_t off);
const uint8_t *mrt_reader_held(const struct mrt_reader *r, uint64_t off, size_t n);
void mrt_reader_release(struct mrt_reader *r);
uint64_t mrt_reader_compressed_offset(const struct mrt_reader *r);
uint64_t mrt_reader_file_size(const struct mrt_reader *r);
/* The input layer's note (not an error) once mrt_reader_next has returned 0, or NULL. */
const char *mrt_reader_note(const struct mrt_reader *r);
/* Bytes of damage skipped so far (each region was one DM_ERR_FRAMING) and, in *regions, how many
 * regions. */
uint64_t mrt_reader_skipped(const struct mrt_reader *r, uint64_t *regions);

#endif
