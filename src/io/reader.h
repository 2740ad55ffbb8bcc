/* Input streams: a file or stdin, decompressed transparently. The compression is detected from
 * magic bytes (gzip 1f 8b, bzip2 "BZh", xz fd "7zXZ", zstd 28 b5 2f fd), not from the name.
 * Concatenated streams (multi-member gzip, bzip2, xz, zstd) are read through. */
#ifndef DM_IO_READER_H
#define DM_IO_READER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/err.h"

enum dm_compression { DM_COMP_NONE, DM_COMP_GZIP, DM_COMP_BZIP2, DM_COMP_XZ, DM_COMP_ZSTD };

struct dm_reader;

/* path "-" reads stdin. Returns NULL and fills err when the file cannot be opened. */
struct dm_reader *dm_reader_open(const char *path, struct dm_error *err);
/* Reads up to n decompressed bytes. Returns bytes read (0 at end), or -1 with err filled: a
 * corrupt or truncated compressed stream (err->what gives the compressed offset where the
 * decoder failed, err->offset the uncompressed offset reached), or a file that shrank while it
 * was read (input is read(2), never mapped: a file cut underneath is an error, not a SIGBUS).
 * Data decompressed before the problem has already been returned by earlier calls, so nothing
 * readable is lost. */
ssize_t dm_reader_read(struct dm_reader *r, void *buf, size_t n, struct dm_error *err);
void dm_reader_close(struct dm_reader *r);
/* Something the caller should tell the user that is not an error (zero padding after the
 * compressed data was ignored), or NULL. Set once dm_reader_read has returned 0. */
const char *dm_reader_note(const struct dm_reader *r);

const char *dm_reader_name(const struct dm_reader *r);
enum dm_compression dm_reader_compression(const struct dm_reader *r);
const char *dm_compression_name(enum dm_compression c);
uint64_t dm_reader_compressed_bytes(const struct dm_reader *r);  /* consumed so far */
uint64_t dm_reader_file_size(const struct dm_reader *r);         /* 0 when unknown (pipe) */

#endif
