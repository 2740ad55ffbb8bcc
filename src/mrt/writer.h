/* MRT encoder (RFC 6396): TABLE_DUMP_V2 and BGP4MP(_ET) records, to a FILE* or to a file that is
 * gzip- or bzip2-compressed according to its name. Used by the scenario generator and (later)
 * the live archive writer; the bytes are checked against Debian's bgpdump in the tests.
 *
 * Every record is built in one reusable byte buffer with bounds checks: a field that does not fit
 * its length (an attribute over 65535 bytes, a BGP message over 4096 bytes, more than 65535 RIB
 * entries) is refused with DM_ERR_BAD_LENGTH and nothing is written for that record. */
#ifndef DM_MRT_WRITER_H
#define DM_MRT_WRITER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base/err.h"
#include "bgp/bgp.h"
#include "io/reader.h"
#include "mrt/mrt.h"

/* A growable byte buffer with big-endian appenders. An append that would pass `limit` (0: no
 * limit but memory) sets `overflow` instead of writing; the caller checks once at the end. */
struct wbuf {
	uint8_t *p;
	size_t len, cap;
	size_t limit;
	int overflow;
};

void wbuf_init(struct wbuf *b);
void wbuf_free(struct wbuf *b);
void wbuf_put(struct wbuf *b, const void *data, size_t n);
void wbuf_u8(struct wbuf *b, uint8_t v);
void wbuf_u16(struct wbuf *b, uint16_t v);
void wbuf_u32(struct wbuf *b, uint32_t v);
void wbuf_set_u16(struct wbuf *b, size_t at, uint16_t v);  /* back-patch a length */
void wbuf_set_u32(struct wbuf *b, size_t at, uint32_t v);

/* Record encoders: append one whole MRT record (12-byte header included) to b.
 * Return 0 or a negative dm_err (err filled, b->len restored to its value on entry). */
int mrt_encode_peer_index(struct wbuf *b, uint32_t ts, const struct mrt_peer_index *pi,
                          struct dm_error *err);
/* TABLE_DUMP_V2 RIB_IPV4_UNICAST or RIB_IPV6_UNICAST, from rib->prefix.afi. Each entry's attrs:
 * ORIGIN, AS_PATH (4-byte ASNs, RFC 6396 §4.3.4), NEXT_HOP (IPv4), MULTI_EXIT_DISC, LOCAL_PREF,
 * COMMUNITIES when their bit is set in attrs.present; for IPv6 the next hop (mp_reach.nexthop,
 * and nexthop_ll when its afi is set) goes in the abbreviated MP_REACH_NLRI of §4.3.4. */
int mrt_encode_rib(struct wbuf *b, uint32_t ts, const struct mrt_rib *rib, struct dm_error *err);

/* BGP4MP(_ET) MESSAGE_AS4 carrying a BGP UPDATE. s gives peer/local AS and addresses (s->afi
 * and the address families must agree). u->withdrawn / u->announced are IPv4 unicast; IPv6 goes
 * in u->attrs.mp_reach (BGP_ATTR_MP_REACH_NLRI present: afi, safi, nexthop[, nexthop_ll], nlri)
 * and u->attrs.mp_unreach. Attributes as for mrt_encode_rib. et: 1 = BGP4MP_ET with usec. */
int mrt_encode_update(struct wbuf *b, int et, uint32_t ts, uint32_t usec,
                      const struct mrt_session *s, const struct bgp_update *u,
                      struct dm_error *err);
/* BGP4MP(_ET) STATE_CHANGE_AS4 (RFC 6396 §4.4.8): FSM states 1 Idle .. 6 Established. */
int mrt_encode_state(struct wbuf *b, int et, uint32_t ts, uint32_t usec,
                     const struct mrt_session *s, uint16_t old_state, uint16_t new_state,
                     struct dm_error *err);

/* BGP4MP(_ET) carrying a whole BGP message as received (marker and header included), for an
 * archive: subtype MESSAGE_AS4 when s->as4 (the message's AS_PATH uses 4-byte ASNs), else MESSAGE
 * (2-byte AS fields; RFC 6396 §4.4.2), the _ADDPATH variant (RFC 8050 §4.2) when s->addpath. */
int mrt_encode_message(struct wbuf *b, int et, uint32_t ts, uint32_t usec, const struct mrt_session *s,
                       const uint8_t *msg, size_t len, struct dm_error *err);

/* A RIB record written entry by entry (no array of decoded entries): mrt_rib_begin writes the
 * header, sequence number and prefix (subtype from the prefix's family, the _ADDPATH one of
 * RFC 8050 §4.3 when addpath) and returns where the record starts; mrt_rib_entry appends one entry
 * whose attribute block is already in the RIB form (see bgp_attrs_rib_form); mrt_rib_end patches
 * the entry count and the length, or rewinds b to `start` and fails when a field overflowed. */
size_t mrt_rib_begin(struct wbuf *b, uint32_t ts, int addpath, uint32_t seq, const struct dm_prefix *p);
void mrt_rib_entry(struct wbuf *b, int addpath, uint16_t peer_index, uint32_t originated, uint32_t path_id,
                   const uint8_t *attrs, size_t len);
int mrt_rib_end(struct wbuf *b, size_t start, uint16_t n, struct dm_error *err);

/* An UPDATE's attribute block (raw, as received with asn_size-byte ASNs) in the TABLE_DUMP_V2
 * form of RFC 6396 §4.3.4: AS_PATH with 4-byte ASNs (merged with AS4_PATH when the block came
 * from a 2-byte session), AGGREGATOR 8 bytes, no AS4_PATH / AS4_AGGREGATOR / MP_(UN)REACH_NLRI;
 * then, when nexthop is an IPv6 address, the abbreviated MP_REACH_NLRI carrying it. Every other
 * attribute is copied byte for byte. a holds the decoding's temporary memory. */
int bgp_attrs_rib_form(struct wbuf *b, const uint8_t *raw, size_t len, uint8_t asn_size,
                       const struct dm_ip *nexthop, struct arena *a, struct dm_error *err);

/* The BGP path attribute block alone (RFC 4271 §4.3), as used in RIB entries (rib_form = 1:
 * abbreviated MP_REACH, 4-byte AS_PATH) and UPDATEs (rib_form = 0). */
int bgp_attrs_encode(struct wbuf *b, const struct bgp_attrs *a, int rib_form,
                     struct dm_error *err);
/* One prefix in the RFC 4271 §4.3 form: length byte, then ceil(len/8) bytes. */
void bgp_prefix_encode(struct wbuf *b, const struct dm_prefix *p);

/* A writer: an output sink plus a reusable record buffer. */
struct mrt_writer;

/* Opens path for writing; compression from the suffix: ".gz" gzip (zlib), ".bz2" bzip2
 * (libbz2), anything else uncompressed. NULL with err filled when the file cannot be created. */
struct mrt_writer *mrt_writer_open(const char *path, struct dm_error *err);
/* Writes to an open stream (not closed by mrt_writer_close), compressed as asked
 * (DM_COMP_NONE, DM_COMP_GZIP or DM_COMP_BZIP2). */
struct mrt_writer *mrt_writer_open_stream(FILE *f, enum dm_compression comp,
                                          struct dm_error *err);
/* Flushes the compressor, closes the file (when opened by path), frees. Returns 0 or DM_ERR_IO
 * (a write failed at any point: disk full, ...). */
int mrt_writer_close(struct mrt_writer *w, struct dm_error *err);

/* Creates path for writing and fails (DM_ERR_IO, errno EEXIST) when it exists: a writer that must
 * never truncate an earlier file. Uncompressed; every hand-over to the file is one write(2) of
 * whole records, so a process killed at any moment leaves whole records behind, except a record
 * cut by a kill inside that very write. */
struct mrt_writer *mrt_writer_create(const char *path, struct dm_error *err);
/* Hands the buffered records to the sink (a compressed stream is complete only at close); with
 * sync, fdatasync(2) as well. 0 or DM_ERR_IO. */
int mrt_writer_flush(struct mrt_writer *w, int sync, struct dm_error *err);
/* Appends bytes already encoded (whole records, or any bytes when copying a file into a
 * compressed one). */
int mrt_write_bytes(struct mrt_writer *w, const void *p, size_t n, struct dm_error *err);
int mrt_write_message(struct mrt_writer *w, uint32_t ts, uint32_t usec, const struct mrt_session *s,
                      const uint8_t *msg, size_t len, struct dm_error *err);

/* 1 (default): BGP4MP_ET with microseconds; 0: plain BGP4MP, usec dropped. */
void mrt_writer_set_extended_time(struct mrt_writer *w, int et);

int mrt_write_peer_index(struct mrt_writer *w, uint32_t ts, const struct mrt_peer_index *pi,
                         struct dm_error *err);
int mrt_write_rib(struct mrt_writer *w, uint32_t ts, const struct mrt_rib *rib,
                  struct dm_error *err);
int mrt_write_update(struct mrt_writer *w, uint32_t ts, uint32_t usec,
                     const struct mrt_session *s, const struct bgp_update *u,
                     struct dm_error *err);
int mrt_write_state(struct mrt_writer *w, uint32_t ts, uint32_t usec,
                    const struct mrt_session *s, uint16_t old_state, uint16_t new_state,
                    struct dm_error *err);

uint64_t mrt_writer_records(const struct mrt_writer *w);  /* records written so far */
uint64_t mrt_writer_bytes(const struct mrt_writer *w);    /* uncompressed bytes so far */

#endif
