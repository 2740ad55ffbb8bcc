/* BMP station: a libevent listener accepting routers' BMP connections (RFC 7854 §3.2: the router
 * connects to the station) and feeding each stream to a bmp.c decoder, on the caller's event loop
 * (so `darkmap collect` runs it beside its BGP sessions).
 *
 * Every monitored peer becomes a peer of the routing state under the collector name
 * "bmp:<router address>" (pre-policy Adj-RIB-In), "bmp-post:<router address>" (post-policy, the
 * L flag) or "bmp-locrib:<router address>" (the router's Loc-RIB, RFC 9069: one "peer" 0.0.0.0
 * with the router's AS): the RIB keys routes by peer, so the views of one peer must be distinct
 * peers or each would overwrite and withdraw the other's routes. Which to count in the signal is
 * the pipeline's choice (a router sending several views shows each peer several times).
 *
 * When a router's connection ends (closed, reset, or its framing lost), the peers it reported up
 * get a state element Established -> Idle: their routes are no longer watched. */
#ifndef DM_LIVE_BMP_STATION_H
#define DM_LIVE_BMP_STATION_H

#include <stdint.h>

#include "base/err.h"
#include "live/bmp.h"
#include "mrt/elem.h"
#include "mrt/mrt.h"

struct event_base;

struct bmp_station_opts {
	const char *listen;           /* "ADDR:PORT", "[ADDR]:PORT"; port 0 picks one */
	int no_post_policy;           /* 1: drop post-policy routes instead of a bmp-post: collector */
	int no_loc_rib;               /* 1: drop Loc-RIB routes instead of a bmp-locrib: collector */
	size_t max_routers;           /* connections accepted at once (default 64) */
};

struct bmp_station_cb {
	void *arg;
	/* An element of a monitored peer; collector: "bmp:", "bmp-post:" or "bmp-locrib:<router>". */
	void (*elem)(void *arg, const char *collector, const struct dm_elem *e);
	/* For an archive: each Route Monitoring's UPDATE as received, and each peer state change,
	 * with the session as MRT describes it (peer, the router's local address and AS from Peer
	 * Up, as4 = the ASN size the UPDATE was decoded with, addpath). */
	void (*message)(void *arg, const char *collector, int64_t ts, uint32_t usec, const struct mrt_session *s,
	                const uint8_t *msg, size_t len);
	void (*state)(void *arg, const char *collector, int64_t ts, uint32_t usec, const struct mrt_session *s,
	              uint16_t old_state, uint16_t new_state);
	/* A router connected (up = 1, sys_name "" until its Initiation) or went away (up = 0). */
	void (*router)(void *arg, const char *router, int up, const char *sys_name);
	/* A message skipped (err->offset in that router's stream) or a connection dropped. */
	void (*error)(void *arg, const char *router, const struct dm_error *err);
};

struct bmp_station_stats {
	uint64_t connections, routers_now, messages, elems, errors, dropped;
};

struct bmp_station;

struct bmp_station *bmp_station_new(struct event_base *base, const struct bmp_station_opts *o,
                                    const struct bmp_station_cb *cb, struct dm_error *err);
/* Closes every connection (their up peers get their state element) and the listener. */
void bmp_station_free(struct bmp_station *s);
/* The port listened on (useful when 0 was asked). */
uint16_t bmp_station_port(const struct bmp_station *s);
void bmp_station_stats(const struct bmp_station *s, struct bmp_station_stats *out);

#endif
