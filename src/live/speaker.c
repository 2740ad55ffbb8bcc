/* The BGP speaker: sockets, timers and peers around the sans-IO sessions. */
#include "live/speaker.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

/* The routes a session holds, for max-prefix: a set of (family, prefix, path id), open
 * addressing with linear probing and backward-shift deletion; held only when a limit is set,
 * and never more than the limit + 1 entries before the session is cut. */
struct rkey {
	uint8_t used, afi, len, pad;
	uint32_t path_id;
	uint8_t b[16];
};
struct rset {
	struct rkey *k;
	size_t cap, n;
	uint32_t count[3];          /* by AFI (1 IPv4, 2 IPv6) */
};

static uint64_t rkey_hash(const struct rkey *k)
{
	uint64_t h = 1469598103934665603ull;   /* FNV-1a over the key's bytes */
	const uint8_t *p = (const uint8_t *)k;
	for (size_t i = 1; i < sizeof *k; i++)
		h = (h ^ p[i]) * 1099511628211ull;
	return h;
}

static struct rkey *rset_slot(const struct rset *s, const struct rkey *k)
{
	size_t i = (size_t)rkey_hash(k) & (s->cap - 1);
	while (s->k[i].used && memcmp(&s->k[i], k, sizeof *k))
		i = (i + 1) & (s->cap - 1);
	return &s->k[i];
}

static int rset_grow(struct rset *s)
{
	size_t cap = s->cap ? s->cap * 2 : 256;
	struct rkey *old = s->k;
	size_t ocap = s->cap;
	s->k = calloc(cap, sizeof *s->k);
	if (!s->k) {
		s->k = old;
		return -1;
	}
	s->cap = cap;
	for (size_t i = 0; i < ocap; i++)
		if (old[i].used)
			*rset_slot(s, &old[i]) = old[i];
	free(old);
	return 0;
}

/* Adds (1) or removes (0) a route; returns the family's count after, or -1 out of memory. */
static int64_t rset_apply(struct rset *s, const struct dm_elem *e, int add)
{
	struct rkey k;
	memset(&k, 0, sizeof k);
	k.used = 1;
	k.afi = e->prefix.afi;
	k.len = e->prefix.len;
	k.path_id = e->has_path_id ? e->path_id : 0;
	struct dm_prefix pm = e->prefix;
	dm_prefix_mask(&pm);   /* bits past the length are as received */
	memcpy(k.b, pm.b, sizeof k.b);
	unsigned f = k.afi == DM_AFI_IPV6 ? 2 : 1;
	if (add && (s->n + 1) * 4 > s->cap * 3 && rset_grow(s) < 0)
		return -1;
	if (!s->cap)
		return s->count[f];
	struct rkey *slot = rset_slot(s, &k);
	if (add && !slot->used) {
		*slot = k;
		s->n++;
		s->count[f]++;
	} else if (!add && slot->used) {
		/* backward shift: move later entries of the cluster into the hole */
		size_t i = (size_t)(slot - s->k), j = i;
		s->k[i].used = 0;
		for (;;) {
			j = (j + 1) & (s->cap - 1);
			if (!s->k[j].used)
				break;
			size_t h = (size_t)rkey_hash(&s->k[j]) & (s->cap - 1);
			/* j's home h lies cyclically in (i, j]: it stays */
			if (i <= j ? (i < h && h <= j) : (i < h || h <= j))
				continue;
			s->k[i] = s->k[j];
			s->k[j].used = 0;
			i = j;
		}
		s->n--;
		s->count[f]--;
	}
	return s->count[f];
}

static size_t rset_bytes(const struct rset *s)
{
	return s->cap * sizeof *s->k;
}

struct conn {
	struct speaker_peer *peer;
	struct bufferevent *bev;
	struct bgp_sess *sess;
	struct event *more;         /* input left after this turn's budget: run again next turn */
	uint8_t closing;
	uint8_t connecting;
	uint8_t cease_pending;      /* Cease subcode to send after the current input (collision) */
	uint8_t cease_data[7];      /* and its data (max-prefix: AFI, SAFI, limit; RFC 4486 §4) */
	uint8_t cease_len;
	struct rset routes;         /* max-prefix: the routes the session holds */
	struct conn *next;
};

struct speaker_peer {
	struct speaker *sp;
	struct speaker_peer_conf conf;
	struct speaker_peer_info info;
	struct conn *conns;
	uint8_t dynamic;            /* made from a range on accept; freed with its connection */
	uint8_t removed;            /* deconfigured: freed when its connections are gone */
	int64_t reconnect_at;
	struct speaker_peer *next;
};

struct speaker {
	struct event_base *base;
	struct speaker_conf conf;   /* peer array not owned: the peers list is */
	struct speaker_cb cb;
	struct evconnlistener *lis[SPEAKER_MAX_LISTEN];
	unsigned nlis;
	struct speaker_peer *peers;
	struct event *tick;
	uint8_t shutting_down;
};

static int64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void set_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (err && errlen)
		vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* ------------------------------------------------------------------ config */

void speaker_conf_default(struct speaker_conf *c)
{
	memset(c, 0, sizeof *c);
	c->hold_time = 90;
	c->connect_retry = 5;
	c->max_input = 256 << 10;
	c->max_output = 4 << 20;
	c->max_msgs_per_turn = 64;
	c->addpath_rx = 1;
	c->ext_msg = 1;
}

void speaker_conf_free(struct speaker_conf *c)
{
	free(c->peer);
	c->peer = NULL;
	c->npeer = 0;
}

static int parse_u32(const char *s, uint32_t *v)
{
	char *end;
	errno = 0;
	unsigned long long x = strtoull(s, &end, 10);
	if (!*s || *end || errno || x > 0xffffffffull || *s == '-')
		return -1;
	*v = (uint32_t)x;
	return 0;
}

/* an AS number, "any" (0), or asdot "1.2" (RFC 5396) */
static int parse_asn(const char *s, uint32_t *v)
{
	if (!strcmp(s, "any")) {
		*v = 0;
		return 0;
	}
	const char *dot = strchr(s, '.');
	if (dot) {
		char hi[12];
		uint32_t h, l;
		size_t n = (size_t)(dot - s);
		if (n == 0 || n >= sizeof hi)
			return -1;
		memcpy(hi, s, n);
		hi[n] = 0;
		if (parse_u32(hi, &h) < 0 || parse_u32(dot + 1, &l) < 0 || h > 0xffff || l > 0xffff)
			return -1;
		*v = h << 16 | l;
		return 0;
	}
	return parse_u32(s, v);
}

static int parse_id(const char *s, uint32_t *v)
{
	struct dm_ip ip;
	if (dm_ip_parse(s, &ip) == 0 && ip.afi == DM_AFI_IPV4) {
		*v = dm_ip4(&ip);
		return 0;
	}
	return parse_u32(s, v);
}

/* host or prefix */
static int parse_range(const char *s, struct dm_prefix *p)
{
	if (strchr(s, '/')) {
		if (dm_prefix_parse(s, p) < 0)
			return -1;
		dm_prefix_mask(p);
		return 0;
	}
	struct dm_ip ip;
	if (dm_ip_parse(s, &ip) < 0)
		return -1;
	memset(p, 0, sizeof *p);
	p->afi = ip.afi;
	p->len = ip.afi == DM_AFI_IPV6 ? 128 : 32;
	memcpy(p->b, ip.b, 16);
	return 0;
}

static struct speaker_peer_conf *conf_new_peer(struct speaker_conf *c)
{
	struct speaker_peer_conf *np = realloc(c->peer, (c->npeer + 1) * sizeof *np);
	if (!np)
		return NULL;
	c->peer = np;
	struct speaker_peer_conf *p = &np[c->npeer++];
	memset(p, 0, sizeof *p);   /* peers are compared with memcmp on reload */
	p->port = 179;
	p->passive = 1;
	return p;
}

static int is_host(const struct dm_prefix *p)
{
	return p->len == (p->afi == DM_AFI_IPV6 ? 128 : 32);
}

/* "peer ADDR[/LEN] as ASN [local ADDR] [port N] [password KEY] [passive|active] [hold-time N]
 *  [router-id ID] [max-prefix N]" split into words */
static int peer_words(struct speaker_conf *c, char **w, int n, char *err, size_t errlen)
{
	struct speaker_peer_conf *p = conf_new_peer(c);
	if (!p) {
		set_err(err, errlen, "out of memory");
		return -1;
	}
	if (n < 1 || parse_range(w[0], &p->range) < 0) {
		set_err(err, errlen, "peer: address or range expected, got '%s'", n ? w[0] : "");
		goto bad;
	}
	int have_as = 0;
	for (int i = 1; i < n; i++) {
		const char *k = w[i], *v = i + 1 < n ? w[i + 1] : NULL;
		uint32_t x;
		if (!strcmp(k, "passive")) {
			p->passive = 1;
			continue;
		}
		if (!strcmp(k, "active")) {
			p->passive = 0;
			continue;
		}
		if (!v) {
			set_err(err, errlen, "peer: '%s' needs a value", k);
			goto bad;
		}
		i++;
		if (!strcmp(k, "as")) {
			if (parse_asn(v, &p->remote_as) < 0) {
				set_err(err, errlen, "peer: bad AS number '%s'", v);
				goto bad;
			}
			have_as = 1;
		} else if (!strcmp(k, "local")) {
			if (dm_ip_parse(v, &p->local) < 0) {
				set_err(err, errlen, "peer: bad local address '%s'", v);
				goto bad;
			}
		} else if (!strcmp(k, "port")) {
			if (parse_u32(v, &x) < 0 || !x || x > 65535) {
				set_err(err, errlen, "peer: bad port '%s'", v);
				goto bad;
			}
			p->port = (uint16_t)x;
		} else if (!strcmp(k, "password")) {
			if (strlen(v) > SPEAKER_PASSWORD_MAX) {
				set_err(err, errlen, "peer: password longer than %d bytes", SPEAKER_PASSWORD_MAX);
				goto bad;
			}
			strcpy(p->password, v);
		} else if (!strcmp(k, "hold-time")) {
			if (parse_u32(v, &x) < 0 || x > 65535 || x == 1 || x == 2) {
				set_err(err, errlen, "peer: bad hold time '%s' (0 or 3..65535)", v);
				goto bad;
			}
			p->hold_time = (uint16_t)x;
		} else if (!strcmp(k, "router-id")) {
			if (parse_id(v, &p->router_id) < 0 || !p->router_id) {
				set_err(err, errlen, "peer: bad router id '%s'", v);
				goto bad;
			}
		} else if (!strcmp(k, "max-prefix")) {
			if (parse_u32(v, &p->max_prefix) < 0 || !p->max_prefix) {
				set_err(err, errlen, "peer: bad max-prefix '%s' (1..4294967295)", v);
				goto bad;
			}
		} else {
			set_err(err, errlen, "peer: unknown setting '%s'", k);
			goto bad;
		}
	}
	if (!have_as) {
		set_err(err, errlen, "peer: 'as ASN' (or 'as any') missing");
		goto bad;
	}
	if (!p->passive && !is_host(&p->range)) {
		set_err(err, errlen, "peer: a range can only be passive");
		goto bad;
	}
	if (p->local.afi && p->local.afi != p->range.afi) {
		set_err(err, errlen, "peer: local address of another family");
		goto bad;
	}
	return 0;
bad:
	c->npeer--;
	return -1;
}

int speaker_conf_add_listen(struct speaker_conf *c, const char *spec, char *err, size_t errlen)
{
	char host[64];
	const char *colon;
	size_t hl;
	if (spec[0] == '[') {
		const char *close = strchr(spec, ']');
		if (!close || close[1] != ':') {
			set_err(err, errlen, "listen: '[ADDR]:PORT' expected, got '%s'", spec);
			return -1;
		}
		hl = (size_t)(close - spec - 1);
		if (hl >= sizeof host)
			goto bad;
		memcpy(host, spec + 1, hl);
		colon = close + 1;
	} else {
		colon = strrchr(spec, ':');
		if (!colon)
			goto bad;
		hl = (size_t)(colon - spec);
		if (hl >= sizeof host)
			goto bad;
		memcpy(host, spec, hl);
	}
	host[hl] = 0;
	uint32_t port;
	if (c->nlisten >= SPEAKER_MAX_LISTEN) {
		set_err(err, errlen, "listen: at most %d listeners", SPEAKER_MAX_LISTEN);
		return -1;
	}
	if (dm_ip_parse(host, &c->listen[c->nlisten].addr) < 0 || parse_u32(colon + 1, &port) < 0 || port > 65535)
		goto bad;
	c->listen[c->nlisten++].port = (uint16_t)port;
	return 0;
bad:
	set_err(err, errlen, "listen: 'ADDR:PORT' or '[ADDR]:PORT' expected, got '%s'", spec);
	return -1;
}

int speaker_conf_add_peer(struct speaker_conf *c, const char *spec, char *err, size_t errlen)
{
	char buf[256], *w[16];
	int n = 0;
	if (strlen(spec) >= sizeof buf) {
		set_err(err, errlen, "peer: '%.40s...' too long", spec);
		return -1;
	}
	strcpy(buf, spec);
	char *save = NULL;
	char *addr = strtok_r(buf, ",", &save);
	char *as = strtok_r(NULL, ",", &save);
	if (!addr || !as) {
		set_err(err, errlen, "peer: 'ADDR,ASN[,active][,KEY=VALUE]...' expected, got '%s'", spec);
		return -1;
	}
	w[n++] = addr;
	w[n++] = "as";
	w[n++] = as;
	/* then "active"/"passive" and KEY=VALUE settings, as words of a config line */
	for (char *t; (t = strtok_r(NULL, ",", &save));) {
		char *eq = strchr(t, '=');
		if (n + 2 > (int)(sizeof w / sizeof w[0])) {
			set_err(err, errlen, "peer: too many settings in '%s'", spec);
			return -1;
		}
		w[n++] = t;
		if (eq) {
			*eq = 0;
			w[n++] = eq + 1;
		}
	}
	return peer_words(c, w, n, err, errlen);
}

int speaker_conf_parse(struct speaker_conf *c, const char *text, char *err, size_t errlen)
{
	unsigned lineno = 0;
	const char *p = text;
	while (*p) {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);
		lineno++;
		char line[1024];
		if (len >= sizeof line) {
			set_err(err, errlen, "line %u: longer than %zu bytes", lineno, sizeof line - 1);
			return -1;
		}
		memcpy(line, p, len);
		line[len] = 0;
		p += len + (eol != NULL);
		char *hash = strchr(line, '#');
		if (hash)
			*hash = 0;
		char *w[24];
		int n = 0;
		char *save = NULL;
		for (char *t = strtok_r(line, " \t\r", &save); t; t = strtok_r(NULL, " \t\r", &save)) {
			if (n == (int)(sizeof w / sizeof w[0])) {
				set_err(err, errlen, "line %u: too many words", lineno);
				return -1;
			}
			w[n++] = t;
		}
		if (!n)
			continue;
		char msg[200] = "";
		int rc = 0;
		uint32_t x = 0;
		const char *k = w[0];
		if (!strcmp(k, "peer")) {
			rc = peer_words(c, w + 1, n - 1, msg, sizeof msg);
		} else if (n != 2) {
			snprintf(msg, sizeof msg, "'%s' takes one value", k);
			rc = -1;
		} else if (!strcmp(k, "local-as")) {
			rc = parse_asn(w[1], &c->local_as) < 0 || !c->local_as ? -1 : 0;
		} else if (!strcmp(k, "router-id")) {
			rc = parse_id(w[1], &c->router_id) < 0 || !c->router_id ? -1 : 0;
		} else if (!strcmp(k, "hold-time")) {
			rc = parse_u32(w[1], &x) < 0 || x > 65535 || x == 1 || x == 2 ? -1 : 0;
			c->hold_time = (uint16_t)x;
		} else if (!strcmp(k, "connect-retry")) {
			rc = parse_u32(w[1], &x) < 0 || !x || x > 65535 ? -1 : 0;
			c->connect_retry = (uint16_t)x;
		} else if (!strcmp(k, "listen")) {
			rc = speaker_conf_add_listen(c, w[1], msg, sizeof msg);
		} else if (!strcmp(k, "max-input")) {
			rc = parse_u32(w[1], &x) < 0 || x < BGP_MAX_MSG ? -1 : 0;
			c->max_input = x;
		} else if (!strcmp(k, "max-msgs-per-turn")) {
			rc = parse_u32(w[1], &x) < 0 || !x ? -1 : 0;
			c->max_msgs_per_turn = x;
		} else if (!strcmp(k, "addpath")) {
			rc = strcmp(w[1], "on") && strcmp(w[1], "off") ? -1 : 0;
			c->addpath_rx = !strcmp(w[1], "on");
		} else {
			snprintf(msg, sizeof msg, "unknown setting '%s'", k);
			rc = -1;
		}
		if (rc < 0) {
			if (!msg[0])
				snprintf(msg, sizeof msg, "bad value '%s' for '%s'", w[1], k);
			set_err(err, errlen, "line %u: %s", lineno, msg);
			return -1;
		}
	}
	return 0;
}

/* ------------------------------------------------------------------ addresses */

static socklen_t to_sockaddr(const struct dm_ip *ip, uint16_t port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof *ss);
	if (ip->afi == DM_AFI_IPV6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		memcpy(&s6->sin6_addr, ip->b, 16);
		return sizeof *s6;
	}
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	s4->sin_family = AF_INET;
	s4->sin_port = htons(port);
	memcpy(&s4->sin_addr, ip->b, 4);
	return sizeof *s4;
}

static void from_sockaddr(const struct sockaddr *sa, struct dm_ip *ip, uint16_t *port)
{
	memset(ip, 0, sizeof *ip);
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
		/* an IPv4 peer on a dual-stack socket: its IPv4 address */
		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
			ip->afi = DM_AFI_IPV4;
			memcpy(ip->b, s6->sin6_addr.s6_addr + 12, 4);
		} else {
			ip->afi = DM_AFI_IPV6;
			memcpy(ip->b, &s6->sin6_addr, 16);
		}
		*port = ntohs(s6->sin6_port);
		return;
	}
	const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
	ip->afi = DM_AFI_IPV4;
	memcpy(ip->b, &s4->sin_addr, 4);
	*port = ntohs(s4->sin_port);
}

static int range_has(const struct dm_prefix *r, const struct dm_ip *ip)
{
	if (r->afi != ip->afi)
		return 0;
	unsigned full = r->len / 8, rest = r->len % 8;
	if (memcmp(r->b, ip->b, full))
		return 0;
	if (rest && ((r->b[full] ^ ip->b[full]) & (0xff << (8 - rest))))
		return 0;
	return 1;
}

/* RFC 2385 key for one peer (or range, TCP_MD5SIG_EXT) on a socket. */
static int md5_set(int fd, const struct speaker_peer_conf *p)
{
	if (!p->password[0])
		return 0;
	struct tcp_md5sig m;
	memset(&m, 0, sizeof m);
	struct dm_ip ip = { .afi = p->range.afi };
	memcpy(ip.b, p->range.b, 16);
	to_sockaddr(&ip, 0, (struct sockaddr_storage *)&m.tcpm_addr);
	m.tcpm_keylen = (uint16_t)strlen(p->password);
	memcpy(m.tcpm_key, p->password, m.tcpm_keylen);
	if (is_host(&p->range))
		return setsockopt(fd, IPPROTO_TCP, TCP_MD5SIG, &m, sizeof m);
	m.tcpm_flags = TCP_MD5SIG_FLAG_PREFIX;
	m.tcpm_prefixlen = p->range.len;
	return setsockopt(fd, IPPROTO_TCP, TCP_MD5SIG_EXT, &m, sizeof m);
}

/* ------------------------------------------------------------------ connections */

static void peer_maybe_free(struct speaker_peer *p);

static void conn_free(struct conn *c)
{
	struct speaker_peer *p = c->peer;
	for (struct conn **pp = &p->conns; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	if (c->bev)
		bufferevent_free(c->bev);
	if (c->more)
		event_free(c->more);
	if (p->info.sess == c->sess)
		p->info.sess = NULL;
	bgp_sess_free(c->sess);
	free(c->routes.k);
	free(c);
	if (!p->conf.passive && !p->removed)
		p->reconnect_at = now_us() + (int64_t)p->sp->conf.connect_retry * 1000000;
	peer_maybe_free(p);
}

static void drained_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		conn_free(c);
}

static void closing_event_cb(struct bufferevent *bev, short what, void *arg)
{
	conn_free(arg);
}

/* Ends a connection: the session learns it (if it did not end it), queued bytes (a
 * NOTIFICATION) are flushed, then the socket closes. */
static void conn_close(struct conn *c)
{
	if (c->closing)
		return;
	c->closing = 1;
	struct speaker_peer *p = c->peer;
	p->info.sess = c->sess;
	bgp_sess_closed(c->sess, now_us());
	if (!c->bev || c->connecting || evbuffer_get_length(bufferevent_get_output(c->bev)) == 0) {
		conn_free(c);
		return;
	}
	bufferevent_disable(c->bev, EV_READ);
	bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
	bufferevent_setcb(c->bev, NULL, drained_cb, closing_event_cb, c);
}

static void s_send(void *arg, const uint8_t *b, size_t n)
{
	struct conn *c = arg;
	if (c->bev && !c->closing)
		bufferevent_write(c->bev, b, n);
}

static void s_elem(const struct dm_elem *e, void *arg)
{
	struct conn *c = arg;
	struct speaker *sp = c->peer->sp;
	c->peer->info.sess = c->sess;
	if (sp->cb.elem)
		sp->cb.elem(&c->peer->info, e, sp->cb.arg);
	uint32_t max = c->peer->conf.max_prefix;
	if (!max || c->cease_pending || (e->type != DM_ELEM_ANNOUNCE && e->type != DM_ELEM_WITHDRAW))
		return;
	int64_t n = rset_apply(&c->routes, e, e->type == DM_ELEM_ANNOUNCE);
	if (n >= 0 && n <= (int64_t)max)
		return;
	/* RFC 4486 §4: Cease/1 with AFI, SAFI and the upper bound; sent once this UPDATE is done
	 * (out of memory for the set: the limit cannot be kept, Cease/8) */
	c->cease_pending = n < 0 ? BGP_CEASE_RESOURCES : BGP_CEASE_MAX_PREFIX;
	if (n < 0)
		return;
	uint8_t *d = c->cease_data;
	d[0] = 0;
	d[1] = e->prefix.afi;
	d[2] = DM_SAFI_UNICAST;
	d[3] = (uint8_t)(max >> 24);
	d[4] = (uint8_t)(max >> 16);
	d[5] = (uint8_t)(max >> 8);
	d[6] = (uint8_t)max;
	c->cease_len = 7;
}

static void s_raw(void *arg, int out, const uint8_t *m, size_t n)
{
	struct conn *c = arg;
	struct speaker *sp = c->peer->sp;
	c->peer->info.sess = c->sess;
	if (sp->cb.raw)
		sp->cb.raw(&c->peer->info, out, m, n, sp->cb.arg);
}

/* RFC 4271 §6.8: a connection whose peer just sent its OPEN meets another connection to the
 * same peer that got as far. */
static void collision_check(struct conn *c)
{
	for (struct conn *o = c->peer->conns; o; o = o->next) {
		if (o == c || o->closing)
			continue;
		int st = bgp_sess_state(o->sess);
		if (st == BGP_ST_ESTABLISHED) {
			c->cease_pending = BGP_CEASE_COLLISION;
			return;
		}
		if (st == BGP_ST_OPENCONFIRM) {
			struct bgp_sess *loser = bgp_sess_collision(o->sess, c->sess);
			if (loser == c->sess) {
				c->cease_pending = BGP_CEASE_COLLISION;
			} else {
				bgp_sess_cease(o->sess, BGP_CEASE_COLLISION, NULL, 0, now_us());
				conn_close(o);
			}
			return;
		}
	}
}

static void s_state(void *arg, int old, int st)
{
	struct conn *c = arg;
	struct speaker *sp = c->peer->sp;
	c->peer->info.sess = c->sess;
	if (st == BGP_ST_OPENCONFIRM)
		collision_check(c);
	if (sp->cb.state)
		sp->cb.state(&c->peer->info, old, st, sp->cb.arg);
	if (st == BGP_ST_ESTABLISHED && sp->cb.writable)
		sp->cb.writable(&c->peer->info, sp->cb.arg);
}

static void s_notify(void *arg, int sent, uint8_t code, uint8_t sub, const uint8_t *d, size_t n)
{
	struct conn *c = arg;
	struct speaker *sp = c->peer->sp;
	c->peer->info.sess = c->sess;
	if (sp->cb.notify)
		sp->cb.notify(&c->peer->info, sent, code, sub, sp->cb.arg);
}

static void s_eor(void *arg, uint16_t afi, uint8_t safi)
{
	struct conn *c = arg;
	struct speaker *sp = c->peer->sp;
	c->peer->info.sess = c->sess;
	if (sp->cb.eor)
		sp->cb.eor(&c->peer->info, afi, safi, sp->cb.arg);
}

/* At most max_msgs_per_turn messages, then the rest waits for the next loop turn so that
 * every other peer gets its turn first. */
static void conn_input(struct conn *c)
{
	struct speaker *sp = c->peer->sp;
	struct evbuffer *in = bufferevent_get_input(c->bev);
	int64_t now = now_us();
	unsigned budget = sp->conf.max_msgs_per_turn;
	while (budget && !c->closing) {
		size_t avail = evbuffer_get_length(in);
		if (avail < BGP_HEADER_LEN)
			break;
		uint8_t h[BGP_HEADER_LEN];
		evbuffer_copyout(in, h, sizeof h);
		size_t len = be16(h + 16);
		size_t give = len >= BGP_HEADER_LEN && len <= avail ? len : BGP_HEADER_LEN;
		const uint8_t *p = evbuffer_pullup(in, (ssize_t)give);
		size_t used = bgp_sess_input(c->sess, p, give, now, 1);
		if (c->cease_pending && bgp_sess_state(c->sess) != BGP_ST_IDLE)
			bgp_sess_cease(c->sess, c->cease_pending, c->cease_len ? c->cease_data : NULL, c->cease_len, now);
		if (bgp_sess_state(c->sess) == BGP_ST_IDLE) {
			conn_close(c);
			return;
		}
		if (!used)
			break;
		evbuffer_drain(in, used);
		budget--;
	}
	if (!budget && evbuffer_get_length(in) >= BGP_HEADER_LEN) {
		/* a zero timeout, not event_active: an event activated from a callback may run again
		 * in the same loop turn, before the other sockets are polled */
		static const struct timeval zero = { 0, 0 };
		evtimer_add(c->more, &zero);
	}
}

static void read_cb(struct bufferevent *bev, void *arg)
{
	conn_input(arg);
}

static void more_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	if (!c->closing)
		conn_input(c);
}

static void write_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	struct speaker *sp = c->peer->sp;
	if (sp->cb.writable && bgp_sess_state(c->sess) == BGP_ST_ESTABLISHED) {
		c->peer->info.sess = c->sess;
		sp->cb.writable(&c->peer->info, sp->cb.arg);
	}
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;
	if (what & BEV_EVENT_CONNECTED) {
		c->connecting = 0;
		struct sockaddr_storage ss;
		socklen_t sl = sizeof ss;
		if (getsockname(bufferevent_getfd(bev), (struct sockaddr *)&ss, &sl) == 0)
			from_sockaddr((struct sockaddr *)&ss, &c->peer->info.local, &c->peer->info.local_port);
		bgp_sess_connected(c->sess, now_us());
		return;
	}
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		conn_close(c);
}

static struct conn *conn_new(struct speaker_peer *p, evutil_socket_t fd, int local_init)
{
	struct speaker *sp = p->sp;
	struct conn *c = calloc(1, sizeof *c);
	if (!c)
		return NULL;
	c->peer = p;
	struct bgp_sess_conf sc;
	memset(&sc, 0, sizeof sc);
	sc.local_as = p->conf.local_as ? p->conf.local_as : sp->conf.local_as;
	sc.remote_as = p->conf.remote_as;
	sc.router_id = p->conf.router_id ? p->conf.router_id : sp->conf.router_id;
	sc.hold_time = p->conf.hold_time ? p->conf.hold_time : sp->conf.hold_time;
	sc.connect_retry = sp->conf.connect_retry;
	sc.passive = 1;   /* the speaker, not the session, reconnects */
	sc.addpath_rx = sp->conf.addpath_rx;
	sc.ext_msg = sp->conf.ext_msg;
	sc.feed = sp->conf.feed;
	sc.addpath_tx = p->conf.addpath_tx;
	sc.peer_ip = p->info.addr;
	struct bgp_sess_cb cb = { s_send, s_elem, s_raw, s_state, s_notify, NULL, s_eor, c };
	c->sess = bgp_sess_new(&sc, &cb);
	if (sp->conf.feed) {
		/* A sender (darkmap feed) writes whole packed UPDATEs; Nagle would hold each small
		 * last segment for the peer's delayed ACK (40 ms): with --sim-clock, every second of an
		 * archive would wait that long. */
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	}
	c->bev = bufferevent_socket_new(sp->base, fd, BEV_OPT_CLOSE_ON_FREE);
	c->more = evtimer_new(sp->base, more_cb, c);
	if (!c->sess || !c->bev || !c->more) {
		if (c->bev)
			bufferevent_free(c->bev);
		else if (fd >= 0)
			close(fd);
		if (c->more)
			event_free(c->more);
		bgp_sess_free(c->sess);
		free(c);
		return NULL;
	}
	bgp_sess_set_initiator(c->sess, local_init);
	/* the input bound: libevent stops reading the socket beyond it (TCP pushes back) */
	bufferevent_setwatermark(c->bev, EV_READ, 0, sp->conf.max_input);
	bufferevent_setwatermark(c->bev, EV_WRITE, 64 << 10, 0);
	bufferevent_setcb(c->bev, read_cb, write_cb, event_cb, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	c->next = p->conns;
	p->conns = c;
	return c;
}

/* ------------------------------------------------------------------ peers */

static struct speaker_peer *peer_new(struct speaker *sp, const struct speaker_peer_conf *pc, const struct dm_ip *addr)
{
	struct speaker_peer *p = calloc(1, sizeof *p);
	if (!p)
		return NULL;
	p->sp = sp;
	p->conf = *pc;
	p->info.addr = *addr;
	p->info.port = pc->port;
	p->info.local = pc->local;
	p->info.local_as = pc->local_as ? pc->local_as : sp->conf.local_as;
	p->info.user = pc->user;
	p->next = sp->peers;
	sp->peers = p;
	return p;
}

static void peer_unlink(struct speaker_peer *p)
{
	for (struct speaker_peer **pp = &p->sp->peers; *pp; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			return;
		}
}

static void peer_maybe_free(struct speaker_peer *p)
{
	if (p->conns || !(p->dynamic || p->removed))
		return;
	peer_unlink(p);
	free(p);
}

static void peer_connect(struct speaker_peer *p)
{
	struct speaker *sp = p->sp;
	int family = p->info.addr.afi == DM_AFI_IPV6 ? AF_INET6 : AF_INET;
	int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	p->reconnect_at = now_us() + (int64_t)sp->conf.connect_retry * 1000000;
	if (fd < 0)
		return;
	struct sockaddr_storage ss;
	socklen_t sl;
	if (p->conf.local.afi) {
		int one = 1;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
		sl = to_sockaddr(&p->conf.local, 0, &ss);
		if (bind(fd, (struct sockaddr *)&ss, sl) < 0) {
			close(fd);
			return;
		}
	}
	if (md5_set(fd, &p->conf) < 0) {
		close(fd);
		return;
	}
	struct conn *c = conn_new(p, fd, 1);
	if (!c)
		return;
	c->connecting = 1;
	bgp_sess_start(c->sess, now_us());   /* Idle -> Connect */
	sl = to_sockaddr(&p->info.addr, p->conf.port, &ss);
	if (bufferevent_socket_connect(c->bev, (struct sockaddr *)&ss, (int)sl) < 0)
		conn_close(c);
}

static void accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int socklen, void *arg)
{
	struct speaker *sp = arg;
	struct dm_ip ip;
	uint16_t port;
	from_sockaddr(sa, &ip, &port);
	if (sp->shutting_down) {
		close(fd);
		return;
	}
	struct speaker_peer *p = NULL, *range = NULL;
	for (struct speaker_peer *q = sp->peers; q; q = q->next) {
		if (q->removed || q->dynamic)
			continue;
		if (is_host(&q->conf.range) && range_has(&q->conf.range, &ip)) {
			p = q;
			break;
		}
		if (!range && !is_host(&q->conf.range) && range_has(&q->conf.range, &ip))
			range = q;
	}
	if (!p && range) {
		/* a dynamic peer per connecting address; a second connection from the same address
		 * (collision) joins it */
		for (struct speaker_peer *q = sp->peers; q; q = q->next)
			if (q->dynamic && !memcmp(&q->info.addr, &ip, sizeof ip))
				p = q;
		if (!p) {
			p = peer_new(sp, &range->conf, &ip);
			if (!p) {
				close(fd);
				return;
			}
			p->dynamic = 1;
		}
	}
	if (!p) {
		close(fd);   /* not a configured peer */
		return;
	}
	evutil_make_socket_nonblocking(fd);
	struct conn *c = conn_new(p, fd, 0);
	if (!c) {
		peer_maybe_free(p);
		return;
	}
	p->info.port = port;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
		from_sockaddr((struct sockaddr *)&ss, &p->info.local, &p->info.local_port);
	int64_t now = now_us();
	bgp_sess_start(c->sess, now);       /* -> Active */
	bgp_sess_connected(c->sess, now);   /* -> OpenSent */
}

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct speaker *sp = arg;
	int64_t now = now_us();
	struct speaker_peer *next;
	for (struct speaker_peer *p = sp->peers; p; p = next) {
		next = p->next;
		if (!p->conns && !p->conf.passive && !p->removed && !sp->shutting_down && now >= p->reconnect_at) {
			peer_connect(p);
			continue;
		}
		struct conn *cn;
		for (struct conn *c = p->conns; c; c = cn) {
			cn = c->next;
			if (c->closing || c->connecting)
				continue;
			bgp_sess_timer(c->sess, now);
			if (bgp_sess_state(c->sess) != BGP_ST_IDLE &&
			    evbuffer_get_length(bufferevent_get_output(c->bev)) > sp->conf.max_output)
				bgp_sess_cease(c->sess, BGP_CEASE_RESOURCES, NULL, 0, now);
			if (bgp_sess_state(c->sess) == BGP_ST_IDLE)
				conn_close(c);
		}
	}
}

static int listen_one(struct speaker *sp, const struct dm_ip *addr, uint16_t port, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sl = to_sockaddr(addr, port, &ss);
	int family = addr->afi == DM_AFI_IPV6 ? AF_INET6 : AF_INET;
	int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0)
		goto fail;
	for (unsigned i = 0; i < sp->conf.npeer; i++)
		if (sp->conf.peer[i].range.afi == addr->afi && md5_set(fd, &sp->conf.peer[i]) < 0) {
			char a[DM_PREFIX_STRLEN];
			dm_prefix_fmt(&sp->conf.peer[i].range, a);
			set_err(err, errlen, "TCP-MD5 key for %s: %s", a, strerror(errno));
			close(fd);
			return -1;
		}
	struct evconnlistener *l = evconnlistener_new(sp->base, accept_cb, sp, LEV_OPT_CLOSE_ON_FREE, 64, fd);
	if (!l)
		goto fail;
	sp->lis[sp->nlis++] = l;
	return 0;
fail:;
	char a[DM_IP_STRLEN];
	dm_ip_fmt(addr, a);
	set_err(err, errlen, "listen on %s port %u: %s", a, port, strerror(errno));
	if (fd >= 0)
		close(fd);
	return -1;
}

static void add_peers(struct speaker *sp, const struct speaker_conf *c)
{
	for (unsigned i = 0; i < c->npeer; i++) {
		struct dm_ip ip = { .afi = c->peer[i].range.afi };
		memcpy(ip.b, c->peer[i].range.b, 16);
		struct speaker_peer *p = peer_new(sp, &c->peer[i], &ip);
		if (p)
			p->reconnect_at = 0;   /* active peers connect at the first tick */
	}
}

struct speaker *speaker_new(struct event_base *base, const struct speaker_conf *c, const struct speaker_cb *cb,
                            char *err, size_t errlen)
{
	struct speaker *sp = calloc(1, sizeof *sp);
	if (!sp) {
		set_err(err, errlen, "out of memory");
		return NULL;
	}
	sp->base = base;
	sp->conf = *c;
	if (cb)
		sp->cb = *cb;
	for (unsigned i = 0; i < c->nlisten; i++)
		if (listen_one(sp, &c->listen[i].addr, c->listen[i].port, err, errlen) < 0) {
			speaker_free(sp);
			return NULL;
		}
	sp->conf.peer = NULL;
	sp->conf.npeer = 0;
	add_peers(sp, c);
	sp->tick = event_new(base, -1, EV_PERSIST, tick_cb, sp);
	struct timeval one = { 1, 0 };
	if (!sp->tick || event_add(sp->tick, &one) < 0) {
		set_err(err, errlen, "libevent timer failed");
		speaker_free(sp);
		return NULL;
	}
	/* active peers start now rather than a second later */
	event_active(sp->tick, EV_TIMEOUT, 0);
	return sp;
}

uint16_t speaker_listen_port(const struct speaker *sp, unsigned i)
{
	if (i >= sp->nlis)
		return 0;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	struct dm_ip ip;
	uint16_t port = 0;
	if (getsockname(evconnlistener_get_fd(sp->lis[i]), (struct sockaddr *)&ss, &sl) == 0)
		from_sockaddr((struct sockaddr *)&ss, &ip, &port);
	return port;
}

static void peer_cease(struct speaker_peer *p, uint8_t subcode)
{
	struct conn *cn;
	int64_t now = now_us();
	for (struct conn *c = p->conns; c; c = cn) {
		cn = c->next;
		if (c->closing)
			continue;
		bgp_sess_cease(c->sess, subcode, NULL, 0, now);
		conn_close(c);
	}
}

void speaker_shutdown(struct speaker *sp)
{
	sp->shutting_down = 1;
	for (unsigned i = 0; i < sp->nlis; i++)
		evconnlistener_disable(sp->lis[i]);
	struct speaker_peer *next;
	for (struct speaker_peer *p = sp->peers; p; p = next) {
		next = p->next;
		p->removed = 1;
		peer_cease(p, BGP_CEASE_SHUTDOWN);
		peer_maybe_free(p);
	}
	if (sp->tick)
		event_del(sp->tick);
}

void speaker_free(struct speaker *sp)
{
	if (!sp)
		return;
	while (sp->peers) {
		struct speaker_peer *p = sp->peers;
		while (p->conns) {
			struct conn *c = p->conns;
			p->conns = c->next;
			if (c->bev)
				bufferevent_free(c->bev);
			if (c->more)
				event_free(c->more);
			bgp_sess_free(c->sess);
			free(c);
		}
		sp->peers = p->next;
		free(p);
	}
	for (unsigned i = 0; i < sp->nlis; i++)
		evconnlistener_free(sp->lis[i]);
	if (sp->tick)
		event_free(sp->tick);
	free(sp);
}

int speaker_reload(struct speaker *sp, const struct speaker_conf *c, char *err, size_t errlen)
{
	/* keep: the same peer settings; the rest goes */
	uint8_t *kept = calloc(c->npeer ? c->npeer : 1, 1);
	if (!kept) {
		set_err(err, errlen, "out of memory");
		return -1;
	}
	struct speaker_peer *next;
	for (struct speaker_peer *p = sp->peers; p; p = next) {
		next = p->next;
		if (p->removed)
			continue;
		int found = 0, same_addr = 0;
		for (unsigned i = 0; i < c->npeer; i++) {
			if (!memcmp(&c->peer[i], &p->conf, sizeof p->conf)) {
				found = 1;
				kept[i] = 1;
				break;
			}
			if (!memcmp(&c->peer[i].range, &p->conf.range, sizeof p->conf.range))
				same_addr = 1;
		}
		if (found)
			continue;
		p->removed = 1;
		peer_cease(p, same_addr ? BGP_CEASE_CONFIG_CHANGE : BGP_CEASE_DECONFIGURED);
		peer_maybe_free(p);
	}
	struct speaker_conf add = *c;
	add.npeer = 0;
	add.peer = malloc((c->npeer ? c->npeer : 1) * sizeof *add.peer);
	if (!add.peer) {
		free(kept);
		set_err(err, errlen, "out of memory");
		return -1;
	}
	for (unsigned i = 0; i < c->npeer; i++)
		if (!kept[i])
			add.peer[add.npeer++] = c->peer[i];
	add_peers(sp, &add);
	free(add.peer);
	free(kept);
	/* the global settings apply to sessions made from now on */
	sp->conf.hold_time = c->hold_time;
	sp->conf.connect_retry = c->connect_retry;
	sp->conf.max_input = c->max_input;
	sp->conf.max_output = c->max_output;
	sp->conf.max_msgs_per_turn = c->max_msgs_per_turn;
	return 0;
}

/* ------------------------------------------------------------------ feed and reports */

static struct conn *best_conn(const struct speaker_peer *p)
{
	struct conn *best = NULL;
	for (struct conn *c = p->conns; c; c = c->next)
		if (!c->closing && (!best || bgp_sess_state(c->sess) > bgp_sess_state(best->sess)))
			best = c;
	return best;
}

int speaker_peer_send_update(struct speaker_peer *p, const uint8_t *body, size_t n)
{
	struct conn *c = best_conn(p);
	return c ? bgp_sess_send_update(c->sess, body, n) : -1;
}

size_t speaker_peer_outq(const struct speaker_peer *p)
{
	struct conn *c = best_conn(p);
	return c && c->bev ? evbuffer_get_length(bufferevent_get_output(c->bev)) : 0;
}

size_t speaker_peer_max_msg(const struct speaker_peer *p)
{
	struct conn *c = best_conn(p);
	return c ? bgp_sess_max_msg(c->sess) : 0;
}

void speaker_peer_set_user(struct speaker_peer *p, void *user) { p->info.user = user; }

int speaker_peer_addpath_tx(const struct speaker_peer *p)
{
	struct conn *c = best_conn(p);
	if (!c)
		return 0;
	const struct bgp_sess_neg *n = bgp_sess_neg(c->sess);
	return (n->addpath_tx_v4 ? 1 : 0) | (n->addpath_tx_v6 ? 2 : 0);
}

struct speaker_peer *speaker_peer_of(const struct speaker_peer_info *i)
{
	return (struct speaker_peer *)((char *)i - offsetof(struct speaker_peer, info));
}

unsigned speaker_established(const struct speaker *sp)
{
	unsigned n = 0;
	for (const struct speaker_peer *p = sp->peers; p; p = p->next) {
		const struct conn *c = best_conn(p);
		n += c && bgp_sess_state(c->sess) == BGP_ST_ESTABLISHED;
	}
	return n;
}

unsigned speaker_npeers(const struct speaker *sp)
{
	unsigned n = 0;
	for (const struct speaker_peer *p = sp->peers; p; p = p->next)
		n++;
	return n;
}

/* What a peer's connection holds: the structures, the session, the max-prefix set, the
 * buffers. */
static size_t conn_mem(const struct speaker_peer *p, const struct conn *c, size_t *in, size_t *out)
{
	*in = evbuffer_get_length(bufferevent_get_input(c->bev));
	*out = evbuffer_get_length(bufferevent_get_output(c->bev));
	return sizeof *p + sizeof *c + bgp_sess_mem(c->sess) + rset_bytes(&c->routes) + *in + *out;
}

static uint32_t peer_as(const struct speaker_peer *p, const struct conn *c)
{
	uint32_t as = bgp_sess_neg(c->sess)->peer_as;
	return as ? as : p->conf.remote_as;
}

void speaker_memory(const struct speaker *sp,
                    void (*fn)(void *arg, const struct dm_ip *addr, uint32_t as, size_t held, size_t input),
                    void *arg)
{
	for (const struct speaker_peer *p = sp->peers; p; p = p->next) {
		const struct conn *c = best_conn(p);
		size_t in = 0, out = 0;
		if (c) {
			size_t held = conn_mem(p, c, &in, &out);
			fn(arg, &p->info.addr, peer_as(p, c), held, in);
		}
	}
}

void speaker_report(const struct speaker *sp, void *file)
{
	FILE *f = file;
	for (const struct speaker_peer *p = sp->peers; p; p = p->next) {
		char a[DM_PREFIX_STRLEN];
		dm_ip_fmt(&p->info.addr, a);
		const struct conn *c = best_conn(p);
		if (!c) {
			fprintf(f, "peer %s as %u: %s, no connection\n", a, p->conf.remote_as,
			        p->conf.passive ? "Active" : "Idle");
			continue;
		}
		const struct bgp_sess_stats *st = bgp_sess_stats(c->sess);
		size_t in, out, mem = conn_mem(p, c, &in, &out);
		fprintf(f,
		        "peer %s as %u: %s, %llu messages in, %llu updates, %llu elements, %zu bytes held "
		        "(input %zu of %zu, output %zu)\n",
		        a, peer_as(p, c), bgp_state_name(bgp_sess_state(c->sess)), (unsigned long long)st->msgs_in,
		        (unsigned long long)st->updates_in, (unsigned long long)st->elems, mem, in, sp->conf.max_input,
		        out);
	}
}
