/* darkmap feed: play MRT archives into BGP sessions. Each archived peer (or each of N copies of
 * one peer) gets its own active session to the target, from its own loopback address, speaking
 * with the peer's AS number; RIB entries with the same attributes are packed into one UPDATE,
 * archived UPDATEs are sent as they were. The pace: the archive's (update records, --speed N
 * times faster), or as fast as the receiver reads (RIB dumps, --speed 0). */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sys/socket.h>
#include <sys/un.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "cmd/cmds.h"
#include "live/speaker.h"
#include "mrt/mrt.h"
#include "mrt/reader.h"
#include "out/bgpdump.h"

static const char USAGE[] =
	"usage: darkmap feed --to ADDR:PORT [--as ASN] [--copies N] [--peer-index I] [--speed X]\n"
	"                    [--hold S] [--sim-clock PATH] [-q] FILE...\n"
	"\n"
	"Play MRT archives (TABLE_DUMP_V2 RIBs, BGP4MP updates; any compression) into BGP\n"
	"sessions to ADDR:PORT (active open). One session per archived peer, each from its own\n"
	"loopback address (127.0.0.2, 127.0.0.3, ...) when ADDR is in 127.0.0.0/8, speaking as\n"
	"the archived peer's AS with its own BGP identifier.\n"
	"\n"
	"  --to ADDR:PORT   the receiver ([V6]:PORT for IPv6)\n"
	"  --as ASN         the receiver's AS (default: any)\n"
	"  --copies N       N sessions each playing the table of one archived peer (--peer-index,\n"
	"                   default 0) instead of one session per peer\n"
	"  --speed X        update records at X times the archive's pace (default 1); 0: as fast\n"
	"                   as the receiver takes them. RIB dumps always go as fast as that.\n"
	"  --hold S         keep the sessions S seconds after the end (default 1; -1: until\n"
	"                   SIGINT/SIGTERM), then close them with Cease/2\n"
	"  --wait S         give up on sessions not Established after S seconds (default 30)\n"
	"  --sim-clock PATH drive the clock of `darkmap collect --sim-clock PATH` (a Unix socket):\n"
	"                   the receiver stamps what it receives with the archive's times, so a\n"
	"                   live run gives exactly what `darkmap replay` gives on the same files\n"
	"                   (docs/live.md); --speed is then ignored: records go as fast as the\n"
	"                   receiver confirms each second of the archive\n"
	"  -q               no summary on standard error\n"
	"\n"
	"Each session ends its table (the RIB dumps) with End-of-RIB (RFC 4724) for IPv4 and IPv6\n"
	"unicast, before the first update record. The\n"
	"summary says sessions, UPDATEs, prefixes, seconds and prefixes per second.\n"
	"exit status: 0 ok, 1 some records could not be read or sent, 2 usage, 3 failure.\n";

enum {
	PACK_SLOTS = 64,             /* attribute sets being packed per session */
	HIGH_WATER = 1 << 20,        /* output queued per session before reading pauses */
	RECORDS_PER_TURN = 2000,
	MAX_SESSIONS = 60000,
};

struct pack {
	uint8_t *attrs;              /* attribute block without MP_REACH/MP_UNREACH */
	size_t alen;
	uint8_t afi;
	uint8_t nh[32], nhlen;       /* IPv6 next hop (MP_REACH) */
	uint8_t nlri[BGP_MAX_MSG];
	size_t nlen;
	uint32_t nprefix;
	uint64_t key;
};

struct fpeer {
	struct dm_ip arch_ip;
	uint32_t arch_as, arch_id;
	struct speaker_peer *sp;
	int state;
	struct pack *slot;           /* PACK_SLOTS */
	uint64_t updates, prefixes;
	int done;
	uint8_t addpath;             /* its archived UPDATEs or RIB entries carry path ids (RFC 8050) */
};

struct feed {
	struct event_base *base;
	struct speaker *sp;
	struct speaker_conf conf;
	struct dm_ip target;
	uint16_t port;
	uint32_t remote_as;
	int copies, peer_index;
	double speed;                /* < 0: default */
	double hold, wait;
	int quiet;
	char **files;
	int nfiles, cur_file;
	struct mrt_reader *rd;
	struct mrt_ctx ctx;
	struct fpeer *peer;
	unsigned npeer;
	int started, finished, paused, errors;
	double t_start, t_end;
	int64_t ts0;                 /* first update record's time */
	double wall0;
	int held;                    /* a record waits for its time */
	struct mrt_hdr held_hdr;
	const uint8_t *held_body;
	struct event *pump_ev, *pace_ev, *wait_ev, *end_ev, *sig_int, *sig_term;
	uint64_t sent;               /* UPDATE messages queued, End-of-RIB included */
	int eor_sent;
	/* the simulated clock (--sim-clock): before a record of a new second, "T SECONDS SENT" goes
	 * to the receiver, which answers "ok" once it has received SENT UPDATEs and moved its clock;
	 * "L SENT" ends its table load (after End-of-RIB), "E SENT" the run */
	const char *sim_path;
	struct bufferevent *sim;
	int sim_wait;                /* an answer is awaited */
	int64_t sim_ts;              /* the receiver's clock */
	uint32_t sim_usec;
	int sim_loaded, sim_ended;
	int64_t first_ts;            /* the first record's time */
	uint8_t tmp[BGP_MAX_MSG * 2];
};

static double mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t hash_bytes(const uint8_t *p, size_t n, uint64_t h)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 1099511628211ull;
	return h;
}

/* ------------------------------------------------------------------ peers */

static struct fpeer *peer_add(struct feed *f, const struct dm_ip *ip, uint32_t as, uint32_t id)
{
	if (f->npeer >= MAX_SESSIONS)
		return NULL;
	struct fpeer *np = realloc(f->peer, (f->npeer + 1) * sizeof *np);
	if (!np)
		return NULL;
	f->peer = np;
	struct fpeer *p = &np[f->npeer++];
	memset(p, 0, sizeof *p);
	p->arch_ip = *ip;
	p->arch_as = as;
	p->arch_id = id;
	return p;
}

static struct fpeer *peer_find(struct feed *f, const struct dm_ip *ip, uint32_t as)
{
	for (unsigned i = 0; i < f->npeer; i++)
		if (f->peer[i].arch_as == as && !memcmp(&f->peer[i].arch_ip, ip, sizeof *ip))
			return &f->peer[i];
	return NULL;
}

/* The archive's peers: the PEER_INDEX_TABLE of a RIB dump, else every session address of the
 * update records (a first pass over the files). */
static int scan_peers(struct feed *f)
{
	for (int i = 0; i < f->nfiles; i++) {
		struct dm_error err;
		struct mrt_reader *r = mrt_reader_open(f->files[i], &err);
		if (!r) {
			fprintf(stderr, "darkmap feed: %s: %s\n", f->files[i], err.what);
			return -1;
		}
		struct mrt_ctx ctx;
		mrt_ctx_init(&ctx);
		struct mrt_hdr hdr;
		const uint8_t *body;
		int rc, indexed = 0;
		while ((rc = mrt_reader_next(r, &hdr, &body, &err)) != 0) {
			if (rc < 0)
				continue;
			if (indexed) {
				/* the first RIB record says whether the dump is an ADD-PATH one (RFC 8050
				 * §4.3: subtypes 8..12): then every peer's session offers ADD-PATH send */
				if (hdr.type == MRT_TABLE_DUMP_V2 && hdr.subtype >= MRT_TD2_RIB_IPV4_UNICAST_ADDPATH &&
				    hdr.subtype <= MRT_TD2_RIB_IPV4_UNICAST_ADDPATH + 4)
					for (unsigned k = 0; k < f->npeer; k++)
						f->peer[k].addpath = 1;
				break;
			}
			if (!f->first_ts)
				f->first_ts = (int64_t)hdr.ts;
			struct mrt_rec rec;
			if (mrt_decode(&ctx, &hdr, body, &rec, &err) < 0)
				continue;
			if (rec.kind == MRT_K_PEER_INDEX) {
				const struct mrt_peer_index *pi = ctx.peer_index;
				for (uint16_t k = 0; k < pi->npeers; k++)
					if (!peer_find(f, &pi->peers[k].addr, pi->peers[k].asn))
						peer_add(f, &pi->peers[k].addr, pi->peers[k].asn, pi->peers[k].bgp_id);
				indexed = 1;   /* a RIB dump: the table names every peer; one more record */
				continue;
			}
			const struct mrt_session *s = rec.kind == MRT_K_MESSAGE ? &rec.u.msg.s :
			                              rec.kind == MRT_K_STATE ? &rec.u.state.s : NULL;
			if (rec.kind == MRT_K_TD1) {
				if (!peer_find(f, &rec.u.td1.peer_ip, rec.u.td1.peer_as))
					peer_add(f, &rec.u.td1.peer_ip, rec.u.td1.peer_as, 0);
			} else if (s && s->peer_ip.afi) {
				struct fpeer *p = peer_find(f, &s->peer_ip, s->peer_as);
				if (!p)
					p = peer_add(f, &s->peer_ip, s->peer_as, 0);
				/* its session offers ADD-PATH send: the UPDATEs go out with their path ids */
				if (p && rec.kind == MRT_K_MESSAGE && s->addpath && !s->local)
					p->addpath = 1;
			}
		}
		mrt_ctx_free(&ctx);
		mrt_reader_close(r);
	}
	return 0;
}

/* ------------------------------------------------------------------ UPDATE building */

/* Appends one attribute (flags, type, value) to d; returns bytes written. */
static size_t attr_put(uint8_t *d, uint8_t flags, uint8_t type, const uint8_t *v, size_t len)
{
	size_t n = 0;
	flags &= (uint8_t)~BGP_ATTR_F_EXTLEN;
	if (len > 255)
		flags |= BGP_ATTR_F_EXTLEN;
	d[n++] = flags;
	d[n++] = type;
	if (len > 255) {
		be16_put(d + n, (unsigned)len);
		n += 2;
	} else {
		d[n++] = (uint8_t)len;
	}
	memcpy(d + n, v, len);
	return n + len;
}

/* One path attribute's framing (RFC 4271 §4.3): flags, type, its value as a sub-cursor. The
 * attributes were decoded by bgp/ already; this only walks their bytes. */
/* The attribute block to send for a route: the archived attributes byte for byte, except
 * MP_REACH/MP_UNREACH (rebuilt around the prefixes; the IPv6 next hop goes to *nh) and, from
 * a 2-byte source (as2), AS_PATH/AGGREGATOR rewritten with 4-byte ASNs from the decoded
 * attributes (RFC 6793 merge done by bgp/), AS4_PATH/AS4_AGGREGATOR dropped. Returns the
 * length, or -1 when it does not fit. */
static long attrs_for_send(const struct bgp_attrs *a, int as2, uint8_t *out, size_t cap, uint8_t *nh,
                           uint8_t *nhlen)
{
	struct cur c = cur_make(a->raw, a->raw_len);
	size_t n = 0;
	*nhlen = 0;
	while (cur_left(&c)) {
		uint8_t flags, type;
		struct cur v;
		if (bgp_attr_next(&c, &flags, &type, &v) < 0)
			return -1;
		size_t len = cur_left(&v);
		if (n + len + 4 > cap)
			return -1;
		if (type == BGP_ATTR_MP_REACH_NLRI) {
			const struct bgp_mp_reach *m = &a->mp_reach;
			if (m->nexthop.afi == DM_AFI_IPV6) {
				memcpy(nh, m->nexthop.b, 16);
				*nhlen = 16;
				if (m->nexthop_ll.afi) {
					memcpy(nh + 16, m->nexthop_ll.b, 16);
					*nhlen = 32;
				}
			}
			continue;
		}
		if (type == BGP_ATTR_MP_UNREACH_NLRI)
			continue;
		if (as2 && (type == BGP_ATTR_AS4_PATH || type == BGP_ATTR_AS4_AGGREGATOR))
			continue;
		if (as2 && type == BGP_ATTR_AS_PATH) {
			uint8_t path[4096];
			size_t pl = 0;
			for (uint16_t i = 0; i < a->path.nseg; i++) {
				const struct as_seg *s = &a->path.seg[i];
				if (pl + 2 + 4u * s->count > sizeof path)
					return -1;
				path[pl++] = s->type;
				path[pl++] = s->count;
				for (unsigned k = 0; k < s->count; k++, pl += 4)
					be32_put(path + pl, s->asn[k]);
			}
			if (n + pl + 4 > cap)
				return -1;
			n += attr_put(out + n, flags, type, path, pl);
			continue;
		}
		if (as2 && type == BGP_ATTR_AGGREGATOR && len == 6) {
			uint8_t ag[8];
			int trans = a->aggregator_as == BGP_AS_TRANS &&
			            (a->present & BGP_ATTR_BIT(BGP_ATTR_AS4_AGGREGATOR));
			be32_put(ag, trans ? a->as4_aggregator_as : a->aggregator_as);
			memcpy(ag + 4, trans ? a->as4_aggregator_addr.b : a->aggregator_addr.b, 4);
			n += attr_put(out + n, flags, type, ag, sizeof ag);
			continue;
		}
		n += attr_put(out + n, flags, type, v.p, len);
	}
	return (long)n;
}

static void send_body(struct feed *f, struct fpeer *p, const uint8_t *body, size_t n)
{
	if (speaker_peer_send_update(p->sp, body, n) < 0) {
		f->errors++;
		return;
	}
	p->updates++;
	f->sent++;
}

static void pack_flush(struct feed *f, struct fpeer *p, struct pack *k)
{
	if (!k->nprefix)
		return;
	uint8_t *b = f->tmp;
	size_t n = 0;
	be16_put(b, 0);                 /* no withdrawn routes */
	n = 4;
	memcpy(b + n, k->attrs, k->alen);
	n += k->alen;
	if (k->afi == DM_AFI_IPV6) {
		uint8_t mp[BGP_MAX_MSG];
		size_t ml = 0;
		be16_put(mp, DM_AFI_IPV6);
		mp[2] = DM_SAFI_UNICAST;
		mp[3] = k->nhlen;
		ml = 4;
		memcpy(mp + ml, k->nh, k->nhlen);
		ml += k->nhlen;
		mp[ml++] = 0;
		memcpy(mp + ml, k->nlri, k->nlen);
		ml += k->nlen;
		n += attr_put(b + n, BGP_ATTR_F_OPTIONAL, BGP_ATTR_MP_REACH_NLRI, mp, ml);
		be16_put(b + 2, (unsigned)(n - 4));
	} else {
		be16_put(b + 2, (unsigned)(n - 4));
		memcpy(b + n, k->nlri, k->nlen);
		n += k->nlen;
	}
	send_body(f, p, b, n);
	p->prefixes += k->nprefix;
	k->nprefix = 0;
	k->nlen = 0;
}

/* Adds one route to its session's packing slot; a slot holding other attributes, or full, is
 * sent first. */
/* path_id goes in front of the prefix where the session sends path ids for its family (RFC
 * 7911 §3; 0 for an entry that had none) */
static void route_add(struct feed *f, struct fpeer *p, const struct dm_prefix *pfx, const struct bgp_attrs *a, int as2,
                      uint32_t path_id)
{
	if (!p->sp || p->state != BGP_ST_ESTABLISHED)
		return;
	uint8_t attrs[BGP_MAX_MSG], nh[32], nhlen;
	long al = attrs_for_send(a, as2, attrs, sizeof attrs, nh, &nhlen);
	if (al < 0 || (pfx->afi == DM_AFI_IPV6 && !nhlen)) {
		f->errors++;
		return;
	}
	uint64_t key = hash_bytes(attrs, (size_t)al, 1469598103934665603ull ^ pfx->afi);
	key = hash_bytes(nh, nhlen, key);
	struct pack *k = &p->slot[key % PACK_SLOTS];
	int same = k->nprefix && k->key == key && k->afi == pfx->afi && k->alen == (size_t)al &&
	           !memcmp(k->attrs, attrs, (size_t)al) && k->nhlen == nhlen && !memcmp(k->nh, nh, nhlen);
	int ap = (speaker_peer_addpath_tx(p->sp) & (pfx->afi == DM_AFI_IPV6 ? 2 : 1)) != 0;
	size_t plen = (ap ? 4u : 0u) + 1 + (pfx->len + 7u) / 8;
	size_t max = speaker_peer_max_msg(p->sp) - BGP_HEADER_LEN;
	size_t mp_over = pfx->afi == DM_AFI_IPV6 ? 4 + 5 + nhlen : 0;
	if (same && 4 + k->alen + mp_over + k->nlen + plen > max) {
		pack_flush(f, p, k);
		same = 0;
	}
	if (!same) {
		pack_flush(f, p, k);
		uint8_t *na = realloc(k->attrs, (size_t)al ? (size_t)al : 1);
		if (!na) {
			f->errors++;
			return;
		}
		k->attrs = na;
		memcpy(k->attrs, attrs, (size_t)al);
		k->alen = (size_t)al;
		k->afi = pfx->afi;
		memcpy(k->nh, nh, nhlen);
		k->nhlen = nhlen;
		k->key = key;
		if (4 + k->alen + mp_over + plen > max) {
			f->errors++;
			return;
		}
	}
	uint8_t *d = k->nlri + k->nlen;
	if (ap) {
		be32_put(d, path_id);
		d += 4;
	}
	d[0] = pfx->len;
	memcpy(d + 1, pfx->b, (pfx->len + 7u) / 8);
	k->nlen += plen;
	k->nprefix++;
}

static void flush_all(struct feed *f, struct fpeer *p)
{
	for (unsigned i = 0; i < PACK_SLOTS; i++)
		pack_flush(f, p, &p->slot[i]);
}

/* An archived UPDATE: the message body as it was (4-byte sessions), or rebuilt with 4-byte
 * ASNs (2-byte sessions). */
static void message_send(struct feed *f, struct fpeer *p, const struct mrt_hdr *hdr, const uint8_t *body,
                         const struct mrt_message *m)
{
	if (!p->sp || p->state != BGP_ST_ESTABLISHED || m->msg.type != BGP_MSG_UPDATE || m->s.local || m->msg_err)
		return;
	/* RFC 7911: path ids go out only where the receiver takes them, for both families (an
	 * MRT _ADDPATH record says so for the whole message); an UPDATE without them cannot go on
	 * a session that negotiated them */
	if (m->s.addpath != (speaker_peer_addpath_tx(p->sp) == 3)) {
		f->errors++;
		return;
	}
	flush_all(f, p);   /* order: packed RIB routes before the update */
	/* RFC 6396 §4.4.3: the BGP message follows the two addresses */
	size_t iplen = m->s.afi == DM_AFI_IPV6 ? 16 : 4;
	size_t off = (m->s.as4 ? 8 : 4) + 4 + 2 * iplen;
	if (hdr->len < off + BGP_HEADER_LEN) {
		f->errors++;
		return;
	}
	const uint8_t *msg = body + off;
	size_t mlen = hdr->len - off;
	struct cur c = cur_make(msg + BGP_HEADER_LEN, mlen - BGP_HEADER_LEN);
	if (m->s.as4) {
		send_body(f, p, c.p, cur_left(&c));
		return;
	}
	uint16_t wl, al;
	struct cur w, at;
	if (cur_u16(&c, &wl) < 0 || cur_take(&c, wl, &w) < 0 || cur_u16(&c, &al) < 0 || cur_take(&c, al, &at) < 0) {
		f->errors++;
		return;
	}
	uint8_t *b = f->tmp, nh[32], nhlen;
	size_t n = 0;
	be16_put(b, wl);
	memcpy(b + 2, w.p, wl);
	n = 2 + wl;
	size_t alen_at = n;
	n += 2;
	long l = attrs_for_send(&m->msg.u.update.attrs, 1, b + n, sizeof f->tmp - n - 8192, nh, &nhlen);
	if (l < 0) {
		f->errors++;
		return;
	}
	n += (size_t)l;
	/* MP_REACH/MP_UNREACH as they were (their NLRI are not the sender's ASN business) */
	struct cur ac = at;
	while (cur_left(&ac)) {
		const uint8_t *start = ac.p;
		uint8_t fl, ty;
		struct cur v;
		if (bgp_attr_next(&ac, &fl, &ty, &v) < 0)
			break;
		if (ty == BGP_ATTR_MP_REACH_NLRI || ty == BGP_ATTR_MP_UNREACH_NLRI) {
			memcpy(b + n, start, (size_t)(ac.p - start));
			n += (size_t)(ac.p - start);
		}
	}
	be16_put(b + alen_at, (unsigned)(n - alen_at - 2));
	memcpy(b + n, c.p, cur_left(&c));
	n += cur_left(&c);
	send_body(f, p, b, n);
}

/* ------------------------------------------------------------------ the pump */

static void finish(struct feed *f);

/* the next turn of reading after the sockets were served (a zero timeout: an event activated
 * from its own callback could run again before any socket is written) */
static void pump_later(struct feed *f)
{
	static const struct timeval zero = { 0, 0 };
	evtimer_add(f->pump_ev, &zero);
}

static struct fpeer *rib_peer(struct feed *f, uint16_t idx, unsigned *count)
{
	if (f->copies) {
		*count = idx == f->peer_index ? f->npeer : 0;
		return f->peer;
	}
	*count = idx < f->npeer ? 1 : 0;
	return idx < f->npeer ? &f->peer[idx] : NULL;
}

static int any_full(struct feed *f)
{
	for (unsigned i = 0; i < f->npeer; i++)
		if (f->peer[i].sp && speaker_peer_outq(f->peer[i].sp) > HIGH_WATER)
			return 1;
	return 0;
}

static void record(struct feed *f, const struct mrt_hdr *hdr, const uint8_t *body, const struct mrt_rec *rec)
{
	switch (rec->kind) {
	case MRT_K_RIB: {
		const struct mrt_rib *r = &rec->u.rib;
		if (!r->has_prefix || r->safi != DM_SAFI_UNICAST)
			return;
		for (uint16_t i = 0; i < r->n; i++) {
			unsigned cnt;
			struct fpeer *p = rib_peer(f, r->e[i].peer_index, &cnt);
			if (r->e[i].attr_err) {
				f->errors++;
				continue;
			}
			for (unsigned k = 0; k < cnt; k++)
				route_add(f, &p[k], &r->prefix, &r->e[i].attrs, 0, r->addpath ? r->e[i].path_id : 0);
		}
		return;
	}
	case MRT_K_TD1: {
		for (const struct mrt_td1 *t = &rec->u.td1; t; t = NULL) {
			struct fpeer *p = peer_find(f, &t->peer_ip, t->peer_as);
			if (p && !t->attr_err)
				route_add(f, p, &t->prefix, &t->attrs, 1, 0);
		}
		return;
	}
	case MRT_K_MESSAGE: {
		const struct mrt_message *m = &rec->u.msg;
		if (f->copies) {
			struct fpeer *src = peer_find(f, &m->s.peer_ip, m->s.peer_as);
			(void)src;
			return;   /* copies play RIB tables */
		}
		struct fpeer *p = peer_find(f, &m->s.peer_ip, m->s.peer_as);
		if (p)
			message_send(f, p, hdr, body, m);
		return;
	}
	default:
		return;
	}
}

static int next_file(struct feed *f)
{
	if (f->rd) {
		mrt_reader_close(f->rd);
		f->rd = NULL;
	}
	while (f->cur_file < f->nfiles) {
		struct dm_error err;
		f->rd = mrt_reader_open(f->files[f->cur_file++], &err);
		if (f->rd)
			return 1;
		fprintf(stderr, "darkmap feed: %s: %s\n", f->files[f->cur_file - 1], err.what);
		f->errors++;
	}
	return 0;
}

/* End-of-RIB (RFC 4724 §2) for IPv4 and IPv6 unicast on every Established session: the table
 * transfer is over. Sent once, before the first update record or at the end. */
static void send_eor(struct feed *f)
{
	static const uint8_t eor4[] = { 0, 0, 0, 0 };
	/* End-of-RIB for IPv6 unicast is an empty MP_UNREACH_NLRI */
	static const uint8_t eor6[] = { 0, 0, 0, 6, BGP_ATTR_F_OPTIONAL, BGP_ATTR_MP_UNREACH_NLRI, 3, 0, DM_AFI_IPV6,
		                        DM_SAFI_UNICAST };
	if (f->eor_sent)
		return;
	f->eor_sent = 1;
	for (unsigned i = 0; i < f->npeer; i++) {
		struct fpeer *p = &f->peer[i];
		flush_all(f, p);
		if (p->sp && p->state == BGP_ST_ESTABLISHED) {
			f->sent += speaker_peer_send_update(p->sp, eor4, sizeof eor4) == 0;
			f->sent += speaker_peer_send_update(p->sp, eor6, sizeof eor6) == 0;
		}
	}
}

/* Sends one line to the simulated clock's owner and waits (without blocking the loop: the
 * sessions' queues keep draining) for its "ok". */
static void sim_send(struct feed *f, char kind, int64_t ts, uint32_t usec)
{
	for (unsigned i = 0; i < f->npeer; i++)
		flush_all(f, &f->peer[i]);   /* what belongs before the line goes out first */
	char line[64];
	int n = kind == 'T' ? snprintf(line, sizeof line, "T %lld %u %llu\n", (long long)ts, usec,
	                               (unsigned long long)f->sent) :
	                      snprintf(line, sizeof line, "%c %llu\n", kind, (unsigned long long)f->sent);
	bufferevent_write(f->sim, line, (size_t)n);
	f->sim_wait++;
	if (kind == 'T') {
		f->sim_ts = ts;
		f->sim_usec = usec;
	}
}

/* 1 when the record in f->held_hdr must wait: for its time (--speed), for the End-of-RIB and the
 * load's end, or for the simulated clock to reach its second. */
static int record_waits(struct feed *f)
{
	const struct mrt_hdr *hdr = &f->held_hdr;
	int is_update = hdr->type == MRT_BGP4MP || hdr->type == MRT_BGP4MP_ET;
	if (is_update && !f->eor_sent)
		send_eor(f);
	if (f->sim) {
		if (f->sim_wait)
			return 1;
		if (is_update && !f->sim_loaded) {
			f->sim_loaded = 1;
			sim_send(f, 'L', 0, 0);
			return 1;
		}
		if ((int64_t)hdr->ts != f->sim_ts || hdr->usec != f->sim_usec) {
			sim_send(f, 'T', (int64_t)hdr->ts, hdr->usec);
			return 1;
		}
		return 0;
	}
	/* the archive's pace, for update records */
	double speed = f->speed < 0 ? 1 : f->speed;
	if (!is_update || speed <= 0)
		return 0;
	if (!f->ts0) {
		f->ts0 = (int64_t)hdr->ts * 1000000 + hdr->usec;
		f->wall0 = mono();
	}
	double due = f->wall0 + (double)((int64_t)hdr->ts * 1000000 + hdr->usec - f->ts0) / 1e6 / speed;
	double now = mono();
	if (due <= now + 0.001)
		return 0;
	/* not yet: keep the record (the reader keeps its bytes until the next call) and come back
	 * when it is due; what is packed goes out now */
	for (unsigned i = 0; i < f->npeer; i++)
		flush_all(f, &f->peer[i]);
	struct timeval tv = { (time_t)(due - now), (suseconds_t)(fmod(due - now, 1.0) * 1e6) };
	evtimer_add(f->pace_ev, &tv);
	return 1;
}

static void pump_cb(evutil_socket_t fd, short what, void *arg)
{
	struct feed *f = arg;
	if (f->finished)
		return;
	for (int n = 0; n < RECORDS_PER_TURN; n++) {
		if (any_full(f)) {
			f->paused = 1;   /* resumed by the writable callback */
			return;
		}
		if (!f->held) {
			if (!f->rd && !next_file(f)) {
				finish(f);
				return;
			}
			struct dm_error err;
			int rc = mrt_reader_next(f->rd, &f->held_hdr, &f->held_body, &err);
			if (rc == 0) {
				mrt_ctx_free(&f->ctx);
				mrt_ctx_init(&f->ctx);
				if (!next_file(f)) {
					finish(f);
					return;
				}
				continue;
			}
			if (rc < 0) {
				f->errors++;
				continue;
			}
			f->held = 1;
		}
		if (record_waits(f))
			return;   /* the pace timer or the clock's answer calls again */
		f->held = 0;
		struct mrt_rec rec;
		struct dm_error err;
		if (mrt_decode(&f->ctx, &f->held_hdr, f->held_body, &rec, &err) < 0) {
			f->errors++;
			continue;
		}
		record(f, &f->held_hdr, f->held_body, &rec);
	}
	pump_later(f);
}

/* The clock owner's answers: one "ok" per line sent. */
static void sim_read_cb(struct bufferevent *bev, void *arg)
{
	struct feed *f = arg;
	char *line;
	while ((line = evbuffer_readln(bufferevent_get_input(bev), NULL, EVBUFFER_EOL_LF))) {
		int ok = !strcmp(line, "ok");
		free(line);
		if (!ok || !f->sim_wait) {
			fprintf(stderr, "darkmap feed: --sim-clock %s: unexpected answer\n", f->sim_path);
			f->errors++;
			continue;
		}
		if (--f->sim_wait)
			continue;
		if (f->sim_ended)
			finish(f);   /* the receiver has everything: the sessions may end */
		else if (f->started)
			pump_later(f);
	}
}

static void sim_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct feed *f = arg;
	if (!(what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)))
		return;
	if (!f->sim_ended || f->sim_wait) {   /* after the last answer the receiver is done */
		fprintf(stderr, "darkmap feed: --sim-clock %s: the receiver closed the clock\n", f->sim_path);
		f->errors++;
	}
	f->sim_wait = 0;
	bufferevent_free(f->sim);
	f->sim = NULL;
	if (!f->finished)
		finish(f);
}

static int sim_open(struct feed *f)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(f->sim_path) >= sizeof sa.sun_path) {
		fprintf(stderr, "darkmap feed: --sim-clock %s: path too long\n", f->sim_path);
		return -1;
	}
	strcpy(sa.sun_path, f->sim_path);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		fprintf(stderr, "darkmap feed: --sim-clock %s: %s\n", f->sim_path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	/* The sessions come up at the archive's first second: the receiver's clock is set before
	 * any session starts (a blocking exchange, before the loop runs). */
	char line[64], ans[4];
	int n = snprintf(line, sizeof line, "T %lld 0 0\n", (long long)f->first_ts);
	size_t got = 0;
	ssize_t r = write(fd, line, (size_t)n);
	while (r == n && got < 3) {
		ssize_t k = read(fd, ans + got, 3 - got);
		if (k <= 0)
			break;
		got += (size_t)k;
	}
	if (r != n || got != 3 || memcmp(ans, "ok\n", 3)) {
		fprintf(stderr, "darkmap feed: --sim-clock %s: no answer from the receiver\n", f->sim_path);
		close(fd);
		return -1;
	}
	f->sim_ts = f->first_ts;
	evutil_make_socket_nonblocking(fd);
	f->sim = bufferevent_socket_new(f->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (!f->sim) {
		close(fd);
		return -1;
	}
	bufferevent_setcb(f->sim, sim_read_cb, NULL, sim_event_cb, f);
	bufferevent_enable(f->sim, EV_READ);
	return 0;
}

static void end_cb(evutil_socket_t fd, short what, void *arg)
{
	struct feed *f = arg;
	speaker_shutdown(f->sp);
	struct timeval quick = { 0, 300000 };
	event_base_loopexit(f->base, &quick);
}

static void finish(struct feed *f)
{
	if (f->sim && !f->sim_ended) {
		/* the receiver's load and run end once it has received everything */
		send_eor(f);
		if (!f->sim_loaded) {
			f->sim_loaded = 1;
			sim_send(f, 'L', 0, 0);
		}
		f->sim_ended = 1;
		sim_send(f, 'E', 0, 0);
		return;   /* called again by the answer */
	}
	if (f->sim_wait)
		return;
	f->finished = 1;
	send_eor(f);
	uint64_t ups = 0, pfx = 0;
	unsigned up = 0;
	for (unsigned i = 0; i < f->npeer; i++) {
		struct fpeer *p = &f->peer[i];
		up += p->sp && p->state == BGP_ST_ESTABLISHED;
		ups += p->updates;
		pfx += p->prefixes;
	}
	f->t_end = mono();
	double dt = f->t_end - f->t_start;
	if (!f->quiet)
		fprintf(stderr, "darkmap feed: %u sessions, %llu UPDATEs, %llu prefixes packed from RIB entries in %.2f s "
		                "(%.0f prefixes/s), %d problems\n",
		        up, (unsigned long long)ups, (unsigned long long)pfx, dt, dt > 0 ? (double)pfx / dt : 0.0,
		        f->errors);
	if (f->hold >= 0) {
		struct timeval tv = { (time_t)f->hold, (suseconds_t)(fmod(f->hold, 1.0) * 1e6) };
		f->end_ev = evtimer_new(f->base, end_cb, f);
		evtimer_add(f->end_ev, &tv);
	}
}

static void start(struct feed *f)
{
	if (f->started)
		return;
	f->started = 1;
	f->t_start = mono();
	pump_later(f);
}

static void on_state(const struct speaker_peer_info *i, int old, int st, void *arg)
{
	struct feed *f = arg;
	struct fpeer *p = i->user;
	if (!p)
		return;
	p->sp = speaker_peer_of(i);
	p->state = st;
	if (old == BGP_ST_ESTABLISHED && !f->finished && !f->quiet) {
		char a[DM_IP_STRLEN];
		dm_ip_fmt(&i->local, a);
		fprintf(stderr, "darkmap feed: session from %s dropped\n", a);
	}
	unsigned up = 0;
	for (unsigned k = 0; k < f->npeer; k++)
		up += f->peer[k].state == BGP_ST_ESTABLISHED;
	if (up == f->npeer)
		start(f);
}

static void on_writable(const struct speaker_peer_info *i, void *arg)
{
	struct feed *f = arg;
	if (f->paused && !any_full(f)) {
		f->paused = 0;
		pump_later(f);
	}
}

static void on_notify(const struct speaker_peer_info *i, int sent, uint8_t code, uint8_t sub, void *arg)
{
	struct feed *f = arg;
	if (f->quiet)
		return;
	char a[DM_IP_STRLEN];
	dm_ip_fmt(&i->local, a);
	fprintf(stderr, "darkmap feed: session from %s: NOTIFICATION %s %u/%u (%s)\n", a, sent ? "sent" : "received",
	        code, sub, bgp_err_name(code));
}

static void wait_cb(evutil_socket_t fd, short what, void *arg)
{
	struct feed *f = arg;
	if (f->started)
		return;
	unsigned up = 0;
	for (unsigned k = 0; k < f->npeer; k++)
		up += f->peer[k].state == BGP_ST_ESTABLISHED;
	if (!f->quiet)
		fprintf(stderr, "darkmap feed: %u of %u sessions Established after %.0f s: going on with those\n", up,
		        f->npeer, f->wait);
	start(f);
}

static void sig_cb(evutil_socket_t sig, short what, void *arg)
{
	struct feed *f = arg;
	if (!f->finished)
		f->finished = 1;
	end_cb(-1, 0, f);
}

static int make_sessions(struct feed *f)
{
	speaker_conf_default(&f->conf);
	f->conf.feed = 1;
	f->conf.local_as = 65000;
	f->conf.router_id = 0x0a000001;
	f->conf.connect_retry = 1;
	f->conf.hold_time = 180;
	int loop4 = f->target.afi == DM_AFI_IPV4 && f->target.b[0] == 127;
	if (f->copies) {
		struct fpeer base = f->peer[f->peer_index];
		free(f->peer);
		f->peer = NULL;
		f->npeer = 0;
		for (int i = 0; i < f->copies; i++)
			if (!peer_add(f, &base.arch_ip, base.arch_as, 0))
				return -1;
	}
	f->conf.peer = calloc(f->npeer ? f->npeer : 1, sizeof *f->conf.peer);
	if (!f->conf.peer)
		return -1;
	for (unsigned i = 0; i < f->npeer; i++) {
		struct speaker_peer_conf *pc = &f->conf.peer[i];
		memset(pc, 0, sizeof *pc);
		pc->range.afi = f->target.afi;
		pc->range.len = f->target.afi == DM_AFI_IPV6 ? 128 : 32;
		memcpy(pc->range.b, f->target.b, 16);
		pc->remote_as = f->remote_as;
		pc->port = f->port;
		pc->passive = 0;
		pc->addpath_tx = f->copies ? 0 : f->peer[i].addpath;
		/* its own identifier: 10.x.y.z from the index (the archived one may repeat) */
		pc->router_id = 0x0a000002 + i;
		pc->local_as = f->peer[i].arch_as;
		pc->user = &f->peer[i];
		if (loop4) {
			/* 127.0.0.2, 127.0.0.3, ... 127.0.0.251, 127.0.1.2, ... */
			pc->local.afi = DM_AFI_IPV4;
			pc->local.b[0] = 127;
			pc->local.b[2] = (uint8_t)(i / 250);
			pc->local.b[3] = (uint8_t)(2 + i % 250);
		}
	}
	f->conf.npeer = f->npeer;
	if (!f->quiet)
		for (unsigned i = 0; i < f->npeer; i++) {
			char a[DM_IP_STRLEN], l[DM_IP_STRLEN] = "-";
			a[bgpdump_ip_fmt(a, &f->peer[i].arch_ip)] = 0;   /* as bgpdump -m prints it */
			if (f->conf.peer[i].local.afi)
				dm_ip_fmt(&f->conf.peer[i].local, l);
			fprintf(stderr, "darkmap feed: session %u from %s plays peer %s AS%u\n", i, l, a, f->peer[i].arch_as);
		}
	char err[256];
	struct speaker_cb cb = { NULL, NULL, on_state, on_notify, NULL, on_writable, f };
	f->sp = speaker_new(f->base, &f->conf, &cb, err, sizeof err);
	if (!f->sp) {
		fprintf(stderr, "darkmap feed: %s\n", err);
		return -1;
	}
	return 0;
}

int cmd_feed(int argc, char **argv)
{
	struct feed f;
	memset(&f, 0, sizeof f);
	f.speed = -1;
	f.hold = 1;
	f.wait = 30;
	const char *to = NULL;
	int rc = EXIT_USAGE;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		char *end = NULL;
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			fputs(USAGE, stdout);
			return EXIT_OK;
		} else if (!strcmp(a, "-q")) {
			f.quiet = 1;
		} else if (a[0] == '-' && a[1] == '-' && !v) {
			fprintf(stderr, "darkmap feed: %s needs a value\n%s", a, USAGE);
			return EXIT_USAGE;
		} else if (!strcmp(a, "--to")) {
			to = argv[++i];
		} else if (!strcmp(a, "--as")) {
			f.remote_as = (uint32_t)strtoul(argv[++i], &end, 10);
		} else if (!strcmp(a, "--copies")) {
			long n = strtol(argv[++i], &end, 10);
			if (n < 1 || n > MAX_SESSIONS)
				end = NULL;
			f.copies = (int)n;
		} else if (!strcmp(a, "--peer-index")) {
			long n = strtol(argv[++i], &end, 10);
			if (n < 0 || n > 65535)
				end = NULL;
			f.peer_index = (int)n;
		} else if (!strcmp(a, "--speed")) {
			f.speed = strtod(argv[++i], &end);
			if (f.speed < 0)
				end = NULL;
		} else if (!strcmp(a, "--hold")) {
			f.hold = strtod(argv[++i], &end);
		} else if (!strcmp(a, "--sim-clock")) {
			f.sim_path = argv[++i];
			continue;
		} else if (!strcmp(a, "--wait")) {
			f.wait = strtod(argv[++i], &end);
			if (f.wait <= 0)
				end = NULL;
		} else if (a[0] == '-' && a[1]) {
			fprintf(stderr, "darkmap feed: unknown option '%s'\n%s", a, USAGE);
			return EXIT_USAGE;
		} else {
			continue;
		}
		if (end && *end) {
			fprintf(stderr, "darkmap feed: %s: bad value '%s'\n", a, argv[i]);
			return EXIT_USAGE;
		}
		if (!end && strcmp(a, "--to") && strcmp(a, "-q")) {
			fprintf(stderr, "darkmap feed: %s: value out of range '%s'\n", a, argv[i]);
			return EXIT_USAGE;
		}
	}
	/* the files: arguments that are not options or option values */
	f.files = calloc((size_t)argc, sizeof *f.files);
	if (!f.files)
		return EXIT_FAILURE_;
	for (int i = 1; i < argc; i++) {
		if (argv[i][0] == '-' && argv[i][1]) {
			if (strcmp(argv[i], "-q"))
				i++;
			continue;
		}
		f.files[f.nfiles++] = argv[i];
	}
	struct speaker_conf parse;
	char err[256];
	speaker_conf_default(&parse);
	if (!to || speaker_conf_add_listen(&parse, to, err, sizeof err) < 0 || !parse.listen[0].port) {
		fprintf(stderr, "darkmap feed: --to ADDR:PORT needed%s%s\n%s", to ? ": " : "", to ? to : "", USAGE);
		goto out;
	}
	f.target = parse.listen[0].addr;
	f.port = parse.listen[0].port;
	if (!f.nfiles) {
		fprintf(stderr, "darkmap feed: no MRT file given\n%s", USAGE);
		goto out;
	}
	rc = EXIT_FAILURE_;
	if (scan_peers(&f) < 0)
		goto out;
	if (!f.npeer) {
		fprintf(stderr, "darkmap feed: no peer in the archives\n");
		goto out;
	}
	if (f.copies && (unsigned)f.peer_index >= f.npeer) {
		fprintf(stderr, "darkmap feed: --peer-index %d: the archive has %u peers\n", f.peer_index, f.npeer);
		rc = EXIT_USAGE;
		goto out;
	}
	signal(SIGPIPE, SIG_IGN);
	f.base = event_base_new();
	if (!f.base)
		goto out;
	mrt_ctx_init(&f.ctx);
	f.pump_ev = evtimer_new(f.base, pump_cb, &f);
	f.pace_ev = evtimer_new(f.base, pump_cb, &f);
	if (f.sim_path && sim_open(&f) < 0)
		goto out;
	if (make_sessions(&f) < 0)
		goto out;
	for (unsigned i = 0; i < f.npeer; i++) {
		f.peer[i].slot = calloc(PACK_SLOTS, sizeof *f.peer[i].slot);
		if (!f.peer[i].slot)
			goto out;
	}
	f.wait_ev = evtimer_new(f.base, wait_cb, &f);
	struct timeval wt = { (time_t)f.wait, 0 };
	evtimer_add(f.wait_ev, &wt);
	f.sig_int = evsignal_new(f.base, SIGINT, sig_cb, &f);
	f.sig_term = evsignal_new(f.base, SIGTERM, sig_cb, &f);
	event_add(f.sig_int, NULL);
	event_add(f.sig_term, NULL);
	event_base_dispatch(f.base);
	rc = f.errors ? EXIT_DATA_ERRORS : EXIT_OK;
out:
	if (f.sp)
		speaker_free(f.sp);
	if (f.sim)
		bufferevent_free(f.sim);
	if (f.rd)
		mrt_reader_close(f.rd);
	if (f.base)
		mrt_ctx_free(&f.ctx);
	for (unsigned i = 0; i < f.npeer; i++) {
		if (!f.peer[i].slot)
			continue;
		for (unsigned k = 0; k < PACK_SLOTS; k++)
			free(f.peer[i].slot[k].attrs);
		free(f.peer[i].slot);
	}
	free(f.peer);
	speaker_conf_free(&f.conf);
	struct event *evs[] = { f.pump_ev, f.pace_ev, f.wait_ev, f.end_ev, f.sig_int, f.sig_term };
	for (size_t i = 0; i < sizeof evs / sizeof evs[0]; i++)
		if (evs[i])
			event_free(evs[i]);
	if (f.base)
		event_base_free(f.base);
	free(f.files);
	return rc;
}
