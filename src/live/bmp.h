/* BMP station decoder (RFC 7854), sans-IO: the bytes of one router's TCP stream go in (split
 * anywhere), callbacks come out. No sockets, no clock: the caller passes the arrival time.
 *
 *  - Every message is framed by its common header (version 3, length, type). A message whose
 *    framing is sane but whose content is bad (a truncated per-peer header, an UPDATE that does
 *    not decode, an unknown type) is reported through the error callback with its stream offset,
 *    counted, and skipped. A header that cannot be a BMP v3 message (another version, a length
 *    below 6 or above BMP_MAX_MSG) loses the framing: bmp_input returns DM_ERR_FRAMING and the
 *    caller drops the session (every later call returns the same).
 *  - Route Monitoring UPDATEs are decoded by bgp/ with what the Peer Up's OPENs negotiated
 *    (ADD-PATH) and the per-peer header's A flag (2-byte AS_PATH), and turned into elements by
 *    bgp_update_elems (mrt/elem.h), exactly as MRT records are.
 *  - Pre-policy, post-policy (the L flag) and Loc-RIB (peer type 3, RFC 9069) routes are told
 *    apart by the `view` argument of the callbacks; a station makes them distinct peers of the
 *    routing state (bmp_station.h).
 *  - Routers do not all encode as they negotiated: gobgpd re-encodes post-policy UPDATEs without
 *    the ADD-PATH path ids its pre-policy ones carry, and some forward a 2-byte session's UPDATEs
 *    without the A flag. An UPDATE that does not decode as negotiated is decoded again without
 *    path ids, or with 2-byte ASNs when the OPENs said 2-byte; when that decodes cleanly it is
 *    used (and counted in decode_retry), else the first decoding and its error stand.
 *  - Element times are arrival times (the `now` of bmp_input), as for a BGP session: a router
 *    replaying its Adj-RIB-In after Peer Up stamps routes with when it learnt them, hours ago,
 *    which would land in bins already closed. The per-peer header's time stays available in
 *    struct bmp_peer_hdr. */
#ifndef DM_LIVE_BMP_H
#define DM_LIVE_BMP_H

#include <stddef.h>
#include <stdint.h>

#include "base/addr.h"
#include "base/err.h"
#include "bgp/bgp.h"
#include "mrt/elem.h"

enum bmp_msg_type {
	BMP_ROUTE_MONITORING = 0,
	BMP_STATISTICS_REPORT = 1,
	BMP_PEER_DOWN = 2,
	BMP_PEER_UP = 3,
	BMP_INITIATION = 4,
	BMP_TERMINATION = 5,
	BMP_ROUTE_MIRRORING = 6,
};

enum {
	BMP_VERSION = 3,
	BMP_COMMON_LEN = 6,           /* version 1, length 4, type 1 (RFC 7854 §4.1) */
	BMP_PEER_HDR_LEN = 42,        /* §4.2 */
	BMP_MAX_MSG = 1 << 20,        /* above this the length field is garbage: framing lost */
	BMP_STAT_TYPES = 18,          /* statistics types kept (RFC 7854 §4.8 and IANA, 0..17) */
};

/* Which routes a Route Monitoring message carries. */
enum bmp_view { BMP_VIEW_PRE = 0, BMP_VIEW_POST = 1, BMP_VIEW_LOC_RIB = 2 };

/* Per-peer header flags (§4.2; O from RFC 8671; for peer type 3 0x80 is RFC 9069's F flag). */
enum bmp_peer_flag { BMP_PF_V = 0x80, BMP_PF_L = 0x40, BMP_PF_A = 0x20, BMP_PF_O = 0x10 };
enum bmp_peer_type { BMP_PEER_GLOBAL = 0, BMP_PEER_RD = 1, BMP_PEER_LOCAL = 2, BMP_PEER_LOC_RIB = 3 };

/* Peer Down reasons (§4.9; 6 from RFC 9069). */
enum bmp_down_reason {
	BMP_DOWN_LOCAL_NOTIFY = 1,    /* local system closed, NOTIFICATION PDU follows */
	BMP_DOWN_LOCAL_FSM = 2,       /* local system closed, no NOTIFICATION: 2-byte FSM event */
	BMP_DOWN_REMOTE_NOTIFY = 3,   /* remote system closed, NOTIFICATION PDU follows */
	BMP_DOWN_REMOTE = 4,          /* remote system closed, no data */
	BMP_DOWN_DECONFIGURED = 5,    /* peer de-configured */
	BMP_DOWN_LOC_RIB = 6,         /* Loc-RIB instance closed (RFC 9069) */
};

/* Statistics types whose value is per AFI/SAFI (§4.8 types 9, 10): kept for IPv4 and IPv6
 * unicast in stat_afi. */
enum { BMP_STAT_ADJ_RIB_IN_AFI = 9, BMP_STAT_LOC_RIB_AFI = 10 };

struct bmp_peer_hdr {
	uint8_t type;                 /* enum bmp_peer_type */
	uint8_t flags;                /* enum bmp_peer_flag */
	uint64_t rd;                  /* route distinguisher (type 1, 2) */
	struct dm_ip addr;            /* IPv4 or IPv6 per the V flag (Loc-RIB: 0.0.0.0) */
	uint32_t asn;
	uint32_t bgp_id;
	uint32_t ts, usec;            /* when the router saw it (0: not given) */
};

/* A monitored peer: keyed by (peer type, RD, address). */
struct bmp_peer {
	struct bmp_peer_hdr hdr;      /* the latest message's per-peer header */
	uint8_t up;                   /* between Peer Up and Peer Down */
	struct dm_ip local_addr;      /* Peer Up: the router's end of the session */
	uint16_t local_port, remote_port;
	uint32_t local_asn;           /* the sent OPEN's AS (4-byte capability, else My AS) */
	uint32_t local_bgp_id;
	uint8_t as4;                  /* both OPENs carry the 4-byte ASN capability (RFC 6793) */
	uint8_t addpath;              /* ADD-PATH (RFC 7911) toward the router negotiated for a
	                               * unicast family: the peer sends and the router receives */
	uint8_t down_reason;          /* the last Peer Down's */
	uint8_t post_seen;            /* post-policy Route Monitoring seen: the post-policy view is
	                               * a peer of its own, which goes up and down with the session */
	uint64_t stat[BMP_STAT_TYPES];   /* the last value received of each statistics type */
	uint64_t stat_afi[2][2];      /* [type 9 / 10][IPv4 / IPv6 unicast] */
	uint32_t stat_seen;           /* bit per type received */
	uint64_t stat_reports;        /* Statistics Reports received */
	uint64_t updates;             /* Route Monitoring messages decoded */
	uint64_t elems;               /* elements produced */
	uint64_t errors;              /* messages about this peer skipped or partly decoded */
	uint64_t decode_retry;        /* UPDATEs that decoded only without ADD-PATH or with 2-byte
	                               * ASNs, not as negotiated (see above) */
};

struct bmp_cb {
	void *arg;
	/* Initiation (§4.3): sysName and sysDescr TLVs (NUL-terminated, "" when absent). */
	void (*initiation)(void *arg, const char *sys_name, const char *sys_descr);
	/* Peer Up: p->up is 1, p's OPEN-derived fields are set; sent/received are the OPENs. */
	void (*peer_up)(void *arg, const struct bmp_peer *p, const struct bgp_msg *sent,
	                const struct bgp_msg *received);
	/* Peer Down: reason (enum bmp_down_reason), the NOTIFICATION when it carries one. */
	void (*peer_down)(void *arg, const struct bmp_peer *p, uint8_t reason,
	                  const struct bgp_notification *n);
	/* Route events of a monitored peer: A and W from Route Monitoring (view: enum bmp_view), and
	 * S for Peer Up (old 5 OpenConfirm, new 6 Established) and Peer Down (6 -> 1 Idle, view 0). */
	void (*elem)(void *arg, const struct bmp_peer *p, int view, const struct dm_elem *e);
	/* The BGP UPDATE of each Route Monitoring message as received (header included), with the
	 * ASN size and ADD-PATH it was decoded with: what an MRT archive stores. */
	void (*update)(void *arg, const struct bmp_peer *p, int view, const uint8_t *msg, size_t len,
	               uint8_t asn_size, uint8_t addpath);
	/* Statistics Report: p->stat* updated. */
	void (*stats)(void *arg, const struct bmp_peer *p);
	/* Termination (§4.5): reason (0xffff when absent) and the string TLV. */
	void (*termination)(void *arg, uint16_t reason, const char *info);
	/* A message skipped or partly decoded; err->offset is in the stream. */
	void (*error)(void *arg, const struct dm_error *err);
};

struct bmp_counts {
	uint64_t bytes;               /* stream bytes consumed */
	uint64_t messages;            /* whole messages framed */
	uint64_t by_type[8];          /* by message type (7: any other) */
	uint64_t errors;              /* messages skipped or partly decoded */
	uint64_t elems;
};

struct bmp;

struct bmp *bmp_new(const struct bmp_cb *cb);
void bmp_free(struct bmp *b);

/* Feeds n bytes of the stream received at `now` (seconds, microseconds). Returns 0, or
 * DM_ERR_FRAMING (err filled, offset in the stream) once the framing is lost: the caller closes
 * the connection. Returns 0 for more input after a Termination, which ends the session (the
 * router closes it). */
int bmp_input(struct bmp *b, const uint8_t *p, size_t n, int64_t now, uint32_t now_usec,
              struct dm_error *err);

/* 1 after a Termination message. */
int bmp_terminated(const struct bmp *b);
const struct bmp_counts *bmp_counts(const struct bmp *b);
const char *bmp_sys_name(const struct bmp *b);
const char *bmp_sys_descr(const struct bmp *b);
/* The monitored peers, in order of first appearance: i < bmp_npeers. */
uint32_t bmp_npeers(const struct bmp *b);
const struct bmp_peer *bmp_peer(const struct bmp *b, uint32_t i);

#endif
