/* Block-parallel bzip2 decoding for regular files (issue 12): bzip2 compresses 100-900 KB blocks
 * independently, each starting with a 48-bit magic at any bit offset, so the blocks of a file can
 * be found by a bit scan and decoded on several cores at once. Each block is cut out, shifted to a
 * byte boundary and closed as a one-block stream of its own (the stream CRC of one block is its
 * block CRC), which darkmap's block decoder (bz2dec.h) decodes and checks; any block it refuses,
 * libbz2 decodes and checks as it checks any stream.
 *
 * Only clean data takes this path. Anything it does not expect (a block that does not decode
 * alone, a magic that was a false match, a stream CRC that does not add up, zero padding, trailing
 * bytes, a file that shrinks) ends it with -1: the reader then decodes the file again from its
 * first byte on libbz2's ordinary stream, dropping what this path already returned, so messages,
 * offsets and recovered bytes on damaged files stay exactly those of the sequential decoder. */
#ifndef DM_IO_BZ2PAR_H
#define DM_IO_BZ2PAR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct bz2par;

/* fd: a regular file holding bzip2 data from offset 0 (read with pread; the caller keeps its own
 * offset); size: its size. threads: decoders including the caller's (at least 1). NULL when out
 * of memory or the file does not start as bzip2. */
struct bz2par *bz2par_open(int fd, uint64_t size, int threads);
/* The next piece of the output, in order: its length (>0) with *data pointing at it (valid until
 * the next call), 0 at the clean end of the file, -1 when this path cannot go on (see above), -2
 * when the file ends inside a stream whose last block is clean as far as it goes: the sequential
 * decoder would have returned the same bytes, then found the stream cut at the end of the file
 * (the first megabyte of a RIB is such a file). */
ssize_t bz2par_next(struct bz2par *p, const uint8_t **data);
/* Compressed bytes whose output has been handed out (progress). */
uint64_t bz2par_consumed(const struct bz2par *p);
void bz2par_close(struct bz2par *p);

#endif
