/* The `bgpdump -m` / `-M` one-line text format, byte-identical to Debian's bgpdump 1.6.2 on the
 * records bgpdump decodes correctly. It formats straight from a decoded struct mrt_rec (not from
 * elements) because bgpdump's per-record rules matter: one attribute "tail" shared by every
 * prefix of an UPDATE, withdrawals before announcements, its own AS4_PATH merge, its defaults for
 * missing attributes. The rules are written down next to the code in bgpdump.c. */
#ifndef DM_OUT_BGPDUMP_H
#define DM_OUT_BGPDUMP_H

#include "base/obuf.h"
#include "mrt/elem.h"
#include "mrt/mrt.h"

enum bgpdump_mode {
	BGPDUMP_MODE_M = 'm',   /* unix timestamps, all 15 fields */
	BGPDUMP_MODE_BIG_M = 'M' /* "MM/DD/YY HH:MM:SS" timestamps, route lines end after ORIGIN */
};

/* Appends the lines of one decoded record to o (no allocation, no printf) and returns how many
 * lines were written (0 for records bgpdump prints nothing for: PEER_INDEX_TABLE, OPEN,
 * KEEPALIVE, NOTIFICATION, ...). ctx supplies the PEER_INDEX_TABLE for TABLE_DUMP_V2 entries. */
unsigned bgpdump_m_record(struct obuf *o, const struct mrt_ctx *ctx, const struct mrt_rec *rec,
                          int mode);

/* bgpdump_m_record for a record decoded with ctx->lazy_td1 (mrt.h), where the attribute blocks
 * of TABLE_DUMP entries may be left as bytes: such a block is printed from the text of an equal
 * block printed before on this thread, or decoded (a problem is appended to rec's warnings,
 * mrt_td1_entry_decode) and printed. The lines are bgpdump_m_record's for the record decoded
 * eagerly, and so are the warnings once this returns. */
unsigned bgpdump_m_record_lazy(struct obuf *o, struct mrt_ctx *ctx, struct mrt_rec *rec, int mode);

/* One element (A, W, S) as a bgpdump -m line of a BGP4MP_ET MESSAGE_AS4 record (see
 * bgpdump.c); as4 = 0 applies the AS4_PATH merge of 2-byte sessions. Returns lines written. */
unsigned bgpdump_m_elem(struct obuf *o, const struct dm_elem *e, int as4);

/* Text helpers shared with the JSON writer; each writes into dst and returns the length written
 * (no NUL). dst needs DM_IP_STRLEN / DM_PREFIX_STRLEN bytes. The IPv6 form is bgpdump's own
 * (it compresses a single zero word to "::", unlike inet_ntop; see bgpdump.c). */
size_t bgpdump_ip_fmt(char *dst, const struct dm_ip *ip);
size_t bgpdump_prefix_fmt(char *dst, const struct dm_prefix *p);
/* bgpdump's AS path text for a path as decoded ("1 2 {3,4} (5 6) [7,8]"); dst needs
 * BGPDUMP_ASPATH_MAX bytes. */
enum { BGPDUMP_ASPATH_MAX = 8100 };
size_t bgpdump_aspath_fmt(char *dst, const struct as_path *p);
/* "MM/DD/YY HH:MM:SS" in UTC, 17 characters. */
size_t bgpdump_time_fmt(char *dst, uint32_t t);

#endif
