/* The BGP speaker: many sessions (live/bgp_sess.h) on one libevent loop. Listeners on IPv4 and
 * IPv6, peers from a config file (fixed addresses or address ranges accepting any AS), active
 * and passive open, connection collision (RFC 4271 §6.8), TCP-MD5 (RFC 2385), reload without
 * dropping unchanged sessions, and per-peer bounds: an input buffer limit, at most N messages
 * per peer per loop turn (a flooding peer cannot starve the others), a stalled peer cut by its
 * hold timer, an output queue limit. docs/live.md has the config syntax. */
#ifndef DM_LIVE_SPEAKER_H
#define DM_LIVE_SPEAKER_H

#include <stddef.h>
#include <stdint.h>

#include "base/addr.h"
#include "live/bgp_sess.h"

struct event_base;

enum { SPEAKER_MAX_LISTEN = 8, SPEAKER_PASSWORD_MAX = 80 };

struct speaker_peer_conf {
	struct dm_prefix range;      /* a host (/32, /128) or a range of accepted addresses */
	uint32_t remote_as;          /* 0: any */
	struct dm_ip local;          /* local address to bind for active open (afi 0: any) */
	uint16_t port;               /* active open: the peer's port (179) */
	uint8_t passive;             /* ranges are always passive */
	char password[SPEAKER_PASSWORD_MAX + 1];   /* TCP-MD5 key ("" none) */
	uint16_t hold_time;          /* 0: the speaker's */
	uint32_t router_id;          /* 0: the speaker's (darkmap feed gives each session its own) */
	uint32_t local_as;           /* 0: the speaker's (darkmap feed speaks as each archived peer) */
	uint8_t addpath_tx;          /* feed: offer ADD-PATH send (the archived peer's UPDATEs have
	                              * path ids) */
	uint32_t max_prefix;         /* routes (prefix, path id) per family a session may hold; past
	                              * it: Cease/1 (RFC 4486) and the session ends. 0: no limit */
	void *user;                  /* the owner's pointer, in speaker_peer_info.user */
};

struct speaker_conf {
	uint32_t local_as;
	uint32_t router_id;
	uint16_t hold_time;                      /* offered (default 90) */
	uint16_t connect_retry;                  /* seconds (default 5) */
	struct { struct dm_ip addr; uint16_t port; } listen[SPEAKER_MAX_LISTEN];
	unsigned nlisten;
	struct speaker_peer_conf *peer;          /* malloc'd; speaker_conf_free */
	unsigned npeer;
	size_t max_input;                        /* per-peer input buffer bound (bytes) */
	size_t max_output;                       /* per-peer output queue bound before cut-off */
	unsigned max_msgs_per_turn;              /* messages per peer per loop turn */
	uint8_t addpath_rx, ext_msg, feed;
};

/* Defaults: hold 90, retry 5, 256 KiB input, 4 MiB output, 64 messages per turn, ADD-PATH
 * receive and extended messages offered. */
void speaker_conf_default(struct speaker_conf *c);
/* Parses config text (docs/live.md) into c (on top of what it holds). Returns 0, or -1 with a
 * "line N: what" message in err. */
int speaker_conf_parse(struct speaker_conf *c, const char *text, char *err, size_t errlen);
/* "ADDR,ASN" / "ADDR/LEN,ASN" (ASN 0 or "any": any) as a passive peer, then ",active" or
 * ",passive" and any "KEY=VALUE" of the config file's peer settings (",max-prefix=1000"). */
int speaker_conf_add_peer(struct speaker_conf *c, const char *spec, char *err, size_t errlen);
/* "ADDR:PORT", "[V6]:PORT" */
int speaker_conf_add_listen(struct speaker_conf *c, const char *spec, char *err, size_t errlen);
void speaker_conf_free(struct speaker_conf *c);

struct speaker;
struct speaker_peer;

/* What the owner sees of a peer. */
struct speaker_peer_info {
	struct dm_ip addr, local;
	uint16_t port, local_port;
	uint32_t local_as;
	const struct bgp_sess *sess;   /* the session (negotiation, stats); NULL when none */
	void *user;                    /* the owner's pointer (speaker_peer_set_user) */
};

struct speaker_cb {
	void (*elem)(const struct speaker_peer_info *p, const struct dm_elem *e, void *arg);
	void (*raw)(const struct speaker_peer_info *p, int out, const uint8_t *msg, size_t n, void *arg);
	void (*state)(const struct speaker_peer_info *p, int old_state, int new_state, void *arg);
	void (*notify)(const struct speaker_peer_info *p, int sent, uint8_t code, uint8_t subcode, void *arg);
	void (*eor)(const struct speaker_peer_info *p, uint16_t afi, uint8_t safi, void *arg);
	/* feed: the peer's output queue fell below its low mark (or it became Established) */
	void (*writable)(const struct speaker_peer_info *p, void *arg);
	void *arg;
};

/* Binds the listeners and starts the active peers. NULL with err filled on failure. */
struct speaker *speaker_new(struct event_base *base, const struct speaker_conf *c, const struct speaker_cb *cb,
                            char *err, size_t errlen);
/* Ceases every session (Cease/2 administrative shutdown), flushes, frees. */
void speaker_free(struct speaker *sp);
/* Applies a new config: peers whose settings did not change keep their sessions; removed peers
 * get Cease/3 (deconfigured), changed ones Cease/6 (other configuration change). Listeners are
 * not rebound. */
int speaker_reload(struct speaker *sp, const struct speaker_conf *c, char *err, size_t errlen);
/* Sends Cease/2 to every peer and stops accepting; the loop ends once all are closed. */
void speaker_shutdown(struct speaker *sp);
/* The port of listener i (useful when it was bound to port 0). 0 if none. */
uint16_t speaker_listen_port(const struct speaker *sp, unsigned i);

/* Feed mode */
int speaker_peer_send_update(struct speaker_peer *p, const uint8_t *body, size_t n);
size_t speaker_peer_outq(const struct speaker_peer *p);
/* the largest message the peer's session may send (0: no session) */
size_t speaker_peer_max_msg(const struct speaker_peer *p);
void speaker_peer_set_user(struct speaker_peer *p, void *user);
/* the families we send path ids in (RFC 7911, negotiated): 1 IPv4, 2 IPv6 unicast (0: none) */
int speaker_peer_addpath_tx(const struct speaker_peer *p);
struct speaker_peer *speaker_peer_of(const struct speaker_peer_info *i);

/* Memory per peer with a connection: fn(arg, address, AS, bytes held, input buffer bytes). */
void speaker_memory(const struct speaker *sp,
                    void (*fn)(void *arg, const struct dm_ip *addr, uint32_t as, size_t held, size_t input),
                    void *arg);
/* One line per peer (address, AS, state, messages, elements, bytes of memory held) into f. */
void speaker_report(const struct speaker *sp, void *file);
/* Number of peers with an Established session / configured or dynamic peers. */
unsigned speaker_established(const struct speaker *sp);
unsigned speaker_npeers(const struct speaker *sp);

#endif
