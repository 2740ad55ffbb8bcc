/* One BGP-4 session (RFC 4271), sans IO: bytes in, callbacks out, the time passed in. No socket,
 * no clock and no allocation after bgp_sess_new inside, so the unit tests and the fuzz target
 * drive it with hand-built bytes. The speaker (live/speaker.h) owns the TCP connection: it calls
 * bgp_sess_connected when the connection is up, bgp_sess_input with what it read,
 * bgp_sess_timer about once a second, bgp_sess_closed when the connection dropped, and closes
 * the connection (after sending what is queued) when the session falls back to Idle.
 *
 * A collector session never announces routes; in feed mode (darkmap feed) the caller sends
 * UPDATE bodies with bgp_sess_send_update once the session is Established. Received UPDATEs are
 * decoded with bgp/ and turned into elements by mrt/elem (one per prefix). Every error ends
 * with a NOTIFICATION whose code and subcode RFC 4271 §6 (RFC 5492, 6608, 4486, 7313, 8654)
 * prescribe; RFC 7606 errors in attributes withdraw the UPDATE's routes or discard the
 * attribute without a reset. docs/live.md describes the whole. */
#ifndef DM_LIVE_BGP_SESS_H
#define DM_LIVE_BGP_SESS_H

#include <stddef.h>
#include <stdint.h>

#include "base/addr.h"
#include "bgp/bgp.h"
#include "mrt/elem.h"

/* RFC 4271 §8.2.2 states, numbered as RFC 6396 STATE_CHANGE records number them. */
enum bgp_state {
	BGP_ST_IDLE = 1,
	BGP_ST_CONNECT = 2,
	BGP_ST_ACTIVE = 3,
	BGP_ST_OPENSENT = 4,
	BGP_ST_OPENCONFIRM = 5,
	BGP_ST_ESTABLISHED = 6,
};

/* NOTIFICATION error codes (RFC 4271 §4.5, RFC 6608, RFC 7313) and the subcodes used. */
enum bgp_err_code {
	BGP_ERR_HEADER = 1,
	BGP_ERR_OPEN = 2,
	BGP_ERR_UPDATE = 3,
	BGP_ERR_HOLD = 4,
	BGP_ERR_FSM = 5,
	BGP_ERR_CEASE = 6,
	BGP_ERR_REFRESH = 7,
};
enum {
	BGP_HDR_NOT_SYNC = 1, BGP_HDR_BAD_LEN = 2, BGP_HDR_BAD_TYPE = 3,
	BGP_OPEN_BAD_VERSION = 1, BGP_OPEN_BAD_AS = 2, BGP_OPEN_BAD_ID = 3, BGP_OPEN_BAD_OPT = 4,
	BGP_OPEN_BAD_HOLD = 6, BGP_OPEN_UNSUP_CAP = 7,
	BGP_UPD_MALFORMED_ATTRS = 1, BGP_UPD_BAD_NETWORK = 10,
	BGP_FSM_IN_OPENSENT = 1, BGP_FSM_IN_OPENCONFIRM = 2, BGP_FSM_IN_ESTABLISHED = 3,
	BGP_CEASE_MAX_PREFIX = 1, BGP_CEASE_SHUTDOWN = 2, BGP_CEASE_DECONFIGURED = 3, BGP_CEASE_RESET = 4,
	BGP_CEASE_REJECTED = 5, BGP_CEASE_CONFIG_CHANGE = 6, BGP_CEASE_COLLISION = 7, BGP_CEASE_RESOURCES = 8,
	BGP_REFRESH_BAD_LEN = 1,
};

/* Capability codes: src/bgp/bgp.h (the BMP station reads OPENs too). */

enum { BGP_AS_TRANS = 23456, BGP_STD_MAX_MSG = 4096 };

struct bgp_sess_conf {
	uint32_t local_as;
	uint32_t remote_as;      /* 0: any (the OPEN says) */
	uint32_t router_id;      /* our BGP identifier, host order */
	uint16_t hold_time;      /* offered, seconds (0: no keepalives, RFC 4271 §4.2) */
	uint16_t connect_retry;  /* seconds between active attempts */
	uint8_t passive;         /* 1: never start a connection */
	uint8_t addpath_rx;      /* offer ADD-PATH receive (RFC 7911) for IPv4/IPv6 unicast */
	uint8_t ext_msg;         /* offer extended messages (RFC 8654) */
	uint8_t require_as4;     /* a peer without 4-byte ASN support gets 2/7 Unsupported Capability */
	uint8_t feed;            /* feed mode: we send UPDATEs; OPEN offers no ADD-PATH receive */
	uint8_t addpath_tx;      /* feed: offer ADD-PATH send (RFC 7911) for IPv4/IPv6 unicast */
	struct dm_ip peer_ip;    /* the elements' peer address */
};

struct bgp_sess;

/* What the session tells its owner. Any may be NULL. arg is the conf's owner pointer. */
struct bgp_sess_cb {
	void (*send)(void *arg, const uint8_t *bytes, size_t n);
	/* one route event (A/W; S for state changes to or from Established), ts = the time passed in */
	void (*elem)(const struct dm_elem *e, void *arg);   /* dm_elem_fn */
	/* every whole message, in (out = 0) or out (out = 1), for the MRT archiver */
	void (*raw)(void *arg, int out, const uint8_t *msg, size_t n);
	void (*state)(void *arg, int old_state, int new_state);
	/* a NOTIFICATION sent (sent = 1) or received */
	void (*notify)(void *arg, int sent, uint8_t code, uint8_t subcode, const uint8_t *data, size_t n);
	/* active open: the session wants a TCP connection now (state Connect) */
	void (*connect)(void *arg);
	/* End-of-RIB (RFC 4724 §2) for afi/safi */
	void (*eor)(void *arg, uint16_t afi, uint8_t safi);
	void *arg;
};

/* What the OPEN exchange settled (valid from OpenConfirm on). */
struct bgp_sess_neg {
	uint32_t peer_as;
	uint32_t peer_id;
	uint16_t hold_time;         /* negotiated: min of both, 0 = none */
	uint8_t as4;                /* both support 4-byte ASNs (RFC 6793) */
	uint8_t addpath_v4, addpath_v6;  /* the peer sends path ids (RFC 7911) */
	uint8_t addpath_tx_v4, addpath_tx_v6;  /* we send path ids (feed, the peer receives them) */
	uint8_t ext_msg;            /* both support extended messages */
	uint8_t refresh;            /* the peer supports route refresh */
	uint8_t mp_v4, mp_v6;       /* unicast families negotiated (none advertised: IPv4 only) */
	uint8_t gr;                 /* the peer advertised graceful restart (RFC 4724) */
	uint16_t gr_time;           /* its restart time, seconds */
	uint8_t gr_v4, gr_v6;       /* families whose forwarding state it preserves */
};

struct bgp_sess_stats {
	uint64_t msgs_in, msgs_out, updates_in, elems, withdrawn_7606, attrs_discarded;
	uint64_t bytes_in;
	int64_t established_at;     /* the time passed in when it last became Established */
};

/* Allocates a session in Idle; the conf and callbacks are copied. */
struct bgp_sess *bgp_sess_new(const struct bgp_sess_conf *conf, const struct bgp_sess_cb *cb);
void bgp_sess_free(struct bgp_sess *s);

/* ManualStart (RFC 4271 §8.1.2): passive -> Active (waits for the peer), active -> Connect
 * (cb.connect asks for a connection). now: microseconds since the epoch. */
void bgp_sess_start(struct bgp_sess *s, int64_t now);
/* The TCP connection is up (either direction): sends our OPEN, -> OpenSent. */
void bgp_sess_connected(struct bgp_sess *s, int64_t now);
/* Consumes whole messages from bytes[0..n) (at most max_msgs of them, 0 = no limit) and returns
 * the bytes consumed; the caller keeps the rest and calls again with more. After an error the
 * session is Idle and consumes nothing more. */
size_t bgp_sess_input(struct bgp_sess *s, const uint8_t *bytes, size_t n, int64_t now, unsigned max_msgs);
/* Timers (hold, keepalive, connect retry): call about once a second. */
void bgp_sess_timer(struct bgp_sess *s, int64_t now);
/* The connection dropped (no NOTIFICATION): -> Idle, or Active for an active session. */
void bgp_sess_closed(struct bgp_sess *s, int64_t now);
/* Sends NOTIFICATION Cease/subcode (RFC 4486) with data and goes Idle (admin shutdown, reset,
 * max prefix, collision). */
void bgp_sess_cease(struct bgp_sess *s, uint8_t subcode, const uint8_t *data, size_t n, int64_t now);
/* Feed mode: frames one UPDATE body (withdrawn length .. NLRI) and sends it. Returns -1 when
 * the session is not Established or the message exceeds the negotiated maximum. */
int bgp_sess_send_update(struct bgp_sess *s, const uint8_t *body, size_t n);
/* Sends a ROUTE-REFRESH for afi/safi (RFC 2918) if the peer supports it; -1 otherwise. */
int bgp_sess_refresh(struct bgp_sess *s, uint16_t afi, uint8_t safi);

int bgp_sess_state(const struct bgp_sess *s);
const struct bgp_sess_neg *bgp_sess_neg(const struct bgp_sess *s);
const struct bgp_sess_stats *bgp_sess_stats(const struct bgp_sess *s);
/* Largest message the session accepts / may send: 4096, or 65535 with extended messages. */
size_t bgp_sess_max_msg(const struct bgp_sess *s);
/* Bytes the session holds (struct, decoding arena). */
size_t bgp_sess_mem(const struct bgp_sess *s);
/* The last NOTIFICATION sent (code 0: none) */
void bgp_sess_last_error(const struct bgp_sess *s, uint8_t *code, uint8_t *subcode);
/* Was this connection opened by us (active) or accepted? Set by the owner. */
void bgp_sess_set_initiator(struct bgp_sess *s, int local);
int bgp_sess_is_initiator(const struct bgp_sess *s);

/* RFC 4271 §6.8 connection collision: of two connections to the same peer, both having
 * received the peer's OPEN (bgp_id = its identifier), returns the one to close with
 * Cease/7: when our identifier is lower, the one we initiated; otherwise the one the peer
 * initiated. */
struct bgp_sess *bgp_sess_collision(struct bgp_sess *a, struct bgp_sess *b);

/* RFC 7606 classification of a decoded UPDATE (swap point for bgp/'s own classification). */
enum bgp_upd_action {
	BGP_UPD_OK = 0,
	BGP_UPD_DISCARD_ATTR,     /* an optional attribute was malformed: dropped, routes kept */
	BGP_UPD_TREAT_AS_WITHDRAW,
	BGP_UPD_RESET,            /* session reset: NOTIFICATION code and subcode given */
};
enum bgp_upd_action bgp_update_action(const struct bgp_update *u, int decode_rc, uint8_t *code, uint8_t *subcode);

const char *bgp_state_name(int state);
/* "Cease/administrative shutdown" style text of a NOTIFICATION code and subcode. */
const char *bgp_err_name(uint8_t code);

#endif
