/* darkmap's own bzip2 block decoder (issue 12), written from the format; bz2dec.c says why it
 * replaces libbz2 on the block-parallel path (src/io/bz2par.c) and what it costs against it.
 *
 * It decodes clean data fast and stops at the first thing it does not take: a bad CRC, an invalid
 * table, a randomised block (obsolete since bzip2 0.9.5), truncation, trailing bytes. Every such
 * case returns an error code (never a crash, never output past what it returns); the caller then
 * decodes the same bytes with libbz2, which says what is wrong. Whenever it returns BZ2DEC_OK the
 * bytes are those libbz2 gives (tests/fuzz/fuzz_bz2dec.c checks that differentially). */
#ifndef DM_IO_BZ2DEC_H
#define DM_IO_BZ2DEC_H

#include <stddef.h>
#include <stdint.h>

enum bz2dec_err {
	BZ2DEC_OK = 0,
	BZ2DEC_EDATA = -1,   /* invalid data: magic, table, symbol stream, origPtr, trailing bytes */
	BZ2DEC_ECRC = -2,    /* a block or stream CRC does not match */
	BZ2DEC_ERAND = -3,   /* a randomised block: not handled here */
	BZ2DEC_ETRUNC = -4,  /* the input ends inside the stream */
	BZ2DEC_ENOMEM = -5,
};

struct bz2dec;  /* a decoder's work arrays (about 6 MB touched at level 9); one per thread */

struct bz2dec *bz2dec_new(void);
void bz2dec_free(struct bz2dec *d);

/* Growable output: bytes are appended at len (realloc'd; at most max bytes, else BZ2DEC_ENOMEM). */
struct bz2dec_out {
	uint8_t *buf;
	size_t len, cap, max;
};

/* Decodes exactly one bzip2 stream filling in[0, len): "BZh" and a level digit, its blocks, the
 * end-of-stream magic and stream CRC, padding to a byte, nothing after. The output is appended to
 * o (on an error, o->len is left where it was). */
int bz2dec_stream(struct bz2dec *d, const uint8_t *in, size_t len, struct bz2dec_out *o);

#endif
