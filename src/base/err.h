/* Decoder error values. A decoder returns 0 or a negative enum dm_err and fills a
 * struct dm_error with the byte offset and a short description; it never prints. */
#ifndef DM_BASE_ERR_H
#define DM_BASE_ERR_H

#include <stddef.h>
#include <stdint.h>

enum dm_err {
	DM_OK = 0,
	DM_ERR_TRUNCATED = -1,      /* data ends before a declared length */
	DM_ERR_BAD_LENGTH = -2,     /* a length field is impossible */
	DM_ERR_BAD_TYPE = -3,       /* unknown or unsupported type/subtype */
	DM_ERR_BAD_VALUE = -4,      /* a field holds an impossible value */
	DM_ERR_NO_PEER_INDEX = -5,  /* TABLE_DUMP_V2 RIB before/without PEER_INDEX_TABLE */
	DM_ERR_BAD_ATTR = -6,       /* malformed BGP path attribute (RFC 7606) */
	DM_ERR_BAD_NLRI = -7,       /* malformed prefix in NLRI/withdrawn routes */
	DM_ERR_FRAMING = -8,        /* MRT framing lost; bytes skipped to resync */
	DM_ERR_IO = -9,             /* read or decompression failure */
	DM_ERR_NOMEM = -10,
	DM_ERR_COUNT_ = 11
};

struct dm_error {
	enum dm_err code;
	uint64_t offset;  /* byte offset in the (decompressed) input where the problem is */
	char what[200];   /* e.g. "BGP attribute AS_PATH: length 34 exceeds remaining 12" */
};

/* Sets err (when non-NULL) and returns code, so decoders can `return dm_fail(...)`. */
int dm_fail(struct dm_error *err, enum dm_err code, uint64_t offset, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Short stable name of an error kind, used in summaries ("truncated", "bad-length", ...). */
const char *dm_err_name(enum dm_err code);

#endif
