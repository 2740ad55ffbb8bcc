/* JSON Lines writer for elements. No library encoder (see json.h), no allocation: every value is
 * a number, an address, an AS path or a community list that darkmap formats itself, and the only
 * free text (the collector name) is escaped once per input. */
#include "out/json.h"

#include <string.h>


static const char HEX[] = "0123456789abcdef";

/* Length of a valid UTF-8 sequence starting at s (n bytes available), 0 if invalid
 * (RFC 3629: no overlongs, no surrogates, nothing above U+10FFFF). */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned c = s[0];
	size_t l;
	unsigned min;
	if (c < 0x80)
		return 1;
	if ((c & 0xe0) == 0xc0)
		l = 2, min = 0x80, c &= 0x1f;
	else if ((c & 0xf0) == 0xe0)
		l = 3, min = 0x800, c &= 0x0f;
	else if ((c & 0xf8) == 0xf0)
		l = 4, min = 0x10000, c &= 0x07;
	else
		return 0;
	if (n < l)
		return 0;
	for (size_t i = 1; i < l; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	return l;
}

void json_str(struct obuf *o, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	obuf_reserve(o, n * 6 + 2);
	char *d = o->buf + o->len;
	size_t k = 0;
	d[k++] = '"';
	for (size_t i = 0; i < n;) {
		unsigned c = s[i];
		if (c >= 0x80) {
			size_t l = utf8_len(s + i, n - i);
			if (!l) {
				memcpy(d + k, "\\ufffd", 6);
				k += 6;
				i++;
			} else {
				memcpy(d + k, s + i, l);
				k += l;
				i += l;
			}
			continue;
		}
		if (c == '"' || c == '\\') {
			d[k++] = '\\';
			d[k++] = (char)c;
		} else if (c < 0x20 || c == 0x7f) {
			const char *esc = c == '\n' ? "\\n" : c == '\t' ? "\\t" : c == '\r' ? "\\r" : NULL;
			if (esc) {
				memcpy(d + k, esc, 2);
				k += 2;
			} else {
				memcpy(d + k, "\\u00", 4);
				d[k + 4] = HEX[c >> 4];
				d[k + 5] = HEX[c & 15];
				k += 6;
			}
		} else {
			d[k++] = (char)c;
		}
		i++;
	}
	d[k++] = '"';
	o->len += k;
}

void json_src_init(struct json_src *src, const char *collector, const struct mrt_ctx *ctx)
{
	struct obuf tmp;
	obuf_init_mem(&tmp);
	size_t n = strlen(collector);
	if (n > 90)
		n = 90;   /* 90 bytes escape to at most 540 */
	json_str(&tmp, collector, n);
	memcpy(src->collector_json, tmp.buf, tmp.len);
	src->collector_json_len = tmp.len;
	obuf_free(&tmp);
	src->collector = collector;
	src->ctx = ctx;
}

static size_t put_ip4(char *d, const uint8_t *b)
{
	size_t n = 0;
	for (int i = 0; i < 4; i++) {
		unsigned v = b[i];
		if (i)
			d[n++] = '.';
		if (v >= 100)
			d[n++] = (char)('0' + v / 100);
		if (v >= 10)
			d[n++] = (char)('0' + v / 10 % 10);
		d[n++] = (char)('0' + v % 10);
	}
	return n;
}

/* IPv6 as glibc's inet_ntop prints it (the BIND algorithm, close to RFC 5952): lower-case hex
 * without leading zeros; the longest run (first on ties) of two or more zero words becomes
 * "::"; ::a.b.c.d and ::ffff:a.b.c.d keep a dotted IPv4 tail. Unlike the -m output (bgpdump's
 * own text, which also compresses a lone zero word), JSON carries the standard form. */
static size_t put_ip6(char *d, const uint8_t *b)
{
	unsigned w[8];
	int best_base = -1, best_len = 0, cur_base = -1, cur_len = 0;
	for (int i = 0; i < 8; i++) {
		w[i] = (unsigned)b[2 * i] << 8 | b[2 * i + 1];
		if (w[i] == 0) {
			if (cur_base < 0)
				cur_base = i, cur_len = 1;
			else
				cur_len++;
		} else if (cur_base >= 0) {
			if (best_base < 0 || cur_len > best_len)
				best_base = cur_base, best_len = cur_len;
			cur_base = -1;
		}
	}
	if (cur_base >= 0 && (best_base < 0 || cur_len > best_len))
		best_base = cur_base, best_len = cur_len;
	if (best_base >= 0 && best_len < 2)
		best_base = -1;
	size_t n = 0;
	for (int i = 0; i < 8; i++) {
		if (best_base >= 0 && i >= best_base && i < best_base + best_len) {
			if (i == best_base)
				d[n++] = ':';
			continue;
		}
		if (i)
			d[n++] = ':';
		if (i == 6 && best_base == 0 && (best_len == 6 || (best_len == 5 && w[5] == 0xffff)))
			return n + put_ip4(d + n, b + 12);
		unsigned v = w[i];
		if (v >= 0x1000)
			d[n++] = HEX[v >> 12];
		if (v >= 0x100)
			d[n++] = HEX[v >> 8 & 15];
		if (v >= 0x10)
			d[n++] = HEX[v >> 4 & 15];
		d[n++] = HEX[v & 15];
	}
	if (best_base >= 0 && best_base + best_len == 8)
		d[n++] = ':';
	return n;
}

size_t json_ip_fmt(char *d, const struct dm_ip *ip)
{
	return ip->afi == DM_AFI_IPV6 ? put_ip6(d, ip->b) : put_ip4(d, ip->b);
}

static size_t prefix_fmt(char *d, const struct dm_prefix *p)
{
	size_t n = p->afi == DM_AFI_IPV6 ? put_ip6(d, p->b) : put_ip4(d, p->b);
	d[n++] = '/';
	unsigned l = p->len;
	if (l >= 100)
		d[n++] = (char)('0' + l / 100);
	if (l >= 10)
		d[n++] = (char)('0' + l / 10 % 10);
	d[n++] = (char)('0' + l % 10);
	return n;
}

static inline void put(struct obuf *o, const char *s, size_t n) { obuf_put(o, s, n); }
#define PUTS(o, lit) put((o), (lit), sizeof(lit) - 1)

static void put_ip(struct obuf *o, const struct dm_ip *ip)
{
	obuf_reserve(o, DM_IP_STRLEN + 2);
	char *d = o->buf + o->len;
	d[0] = '"';
	size_t n = 1 + json_ip_fmt(d + 1, ip);
	d[n++] = '"';
	o->len += n;
}

/* The AS path as text, same notation as bgpdump ("1 2 {3,4}"), without bgpdump's length cap. */
static void put_path(struct obuf *o, const struct as_path *p)
{
	obuf_putc(o, '"');
	for (unsigned i = 0; i < p->nseg; i++) {
		const struct as_seg *s = &p->seg[i];
		obuf_reserve(o, (size_t)s->count * 11 + 4);
		char *d = o->buf + o->len;
		size_t n = 0;
		if (i)
			d[n++] = ' ';
		char open = s->type == AS_SET ? '{' : s->type == AS_CONFED_SET ? '[' :
		            s->type == AS_CONFED_SEQUENCE ? '(' : 0;
		char close = s->type == AS_SET ? '}' : s->type == AS_CONFED_SET ? ']' :
		             s->type == AS_CONFED_SEQUENCE ? ')' : 0;
		char sep = (s->type == AS_SET || s->type == AS_CONFED_SET) ? ',' : ' ';
		if (open)
			d[n++] = open;
		for (unsigned k = 0; k < s->count; k++) {
			if (k)
				d[n++] = sep;
			char tmp[10];
			size_t l = 0;
			uint32_t v = s->asn[k];
			do {
				tmp[l++] = (char)('0' + v % 10);
				v /= 10;
			} while (v);
			while (l)
				d[n++] = tmp[--l];
		}
		if (close)
			d[n++] = close;
		o->len += n;
	}
	obuf_putc(o, '"');
}

/* origin_asns: the last ASN of the path, or every member when the last segment is an AS_SET
 * (the origin is then ambiguous; consumers see all candidates). */
static void put_origins(struct obuf *o, const struct as_path *p)
{
	obuf_putc(o, '[');
	if (p->nseg) {
		const struct as_seg *s = &p->seg[p->nseg - 1];
		if (s->type == AS_SET || s->type == AS_CONFED_SET) {
			for (unsigned k = 0; k < s->count; k++) {
				if (k)
					obuf_putc(o, ',');
				obuf_u32(o, s->asn[k]);
			}
		} else if (s->count) {
			obuf_u32(o, s->asn[s->count - 1]);
		}
	}
	obuf_putc(o, ']');
}

/* RFC 1997 communities as "AS:VAL" (well-known values too: 65535:65281 is NO_EXPORT). */
static void put_communities(struct obuf *o, const uint8_t *c, uint32_t n)
{
	obuf_putc(o, '[');
	for (uint32_t i = 0; i < n; i++, c += 4) {
		if (i)
			obuf_putc(o, ',');
		obuf_putc(o, '"');
		obuf_u32(o, be16(c));
		obuf_putc(o, ':');
		obuf_u32(o, be16(c + 2));
		obuf_putc(o, '"');
	}
	obuf_putc(o, ']');
}

/* RFC 8092 large communities as "GLOBAL:LOCAL1:LOCAL2". */
static void put_large(struct obuf *o, const uint8_t *c, uint32_t n)
{
	obuf_putc(o, '[');
	for (uint32_t i = 0; i < n; i++, c += 12) {
		if (i)
			obuf_putc(o, ',');
		obuf_putc(o, '"');
		obuf_u32(o, be32(c));
		obuf_putc(o, ':');
		obuf_u32(o, be32(c + 4));
		obuf_putc(o, ':');
		obuf_u32(o, be32(c + 8));
		obuf_putc(o, '"');
	}
	obuf_putc(o, ']');
}

/* RFC 4360 extended communities: route target "rt:G:L" and route origin "soo:G:L" (subtypes 2
 * and 3) of the two-octet-AS (type 0x00/0x40), IPv4-address (0x01/0x41) and four-octet-AS
 * (0x02/0x42, RFC 5668) types; anything else as its 8 bytes in hex, "0x0102030405060708". */
static void put_ext(struct obuf *o, const uint8_t *c, uint32_t n)
{
	obuf_putc(o, '[');
	for (uint32_t i = 0; i < n; i++, c += 8) {
		if (i)
			obuf_putc(o, ',');
		obuf_putc(o, '"');
		unsigned t = c[0] & 0xbf, st = c[1];
		if ((st == 2 || st == 3) && t <= 2) {
			if (st == 2)
				PUTS(o, "rt:");
			else
				PUTS(o, "soo:");
			if (t == 0) {
				obuf_u32(o, be16(c + 2));
				obuf_putc(o, ':');
				obuf_u32(o, be32(c + 4));
			} else if (t == 1) {
				struct dm_ip a = { DM_AFI_IPV4, { c[2], c[3], c[4], c[5] } };
				obuf_reserve(o, DM_IP_STRLEN);
				o->len += json_ip_fmt(o->buf + o->len, &a);
				obuf_putc(o, ':');
				obuf_u32(o, be16(c + 6));
			} else {
				obuf_u32(o, be32(c + 2));
				obuf_putc(o, ':');
				obuf_u32(o, be16(c + 6));
			}
		} else {
			PUTS(o, "0x");
			obuf_reserve(o, 16);
			for (int k = 0; k < 8; k++) {
				o->buf[o->len++] = HEX[c[k] >> 4];
				o->buf[o->len++] = HEX[c[k] & 15];
			}
		}
		obuf_putc(o, '"');
	}
	obuf_putc(o, ']');
}

static void put_timestamp(struct obuf *o, int64_t ts, uint32_t usec)
{
	obuf_i64(o, ts);
	obuf_putc(o, '.');
	obuf_u32_pad(o, usec, 6);
}

void json_elem(struct obuf *o, const struct json_src *src, const struct dm_elem *e)
{
	char type = e->type == DM_ELEM_RIB ? 'R' : e->type;
	PUTS(o, "{\"type\":\"");
	obuf_putc(o, type);
	PUTS(o, "\",\"timestamp\":");
	put_timestamp(o, e->ts, e->usec);
	PUTS(o, ",\"collector\":");
	put(o, src->collector_json, src->collector_json_len);
	if (src->ctx && src->ctx->peer_index && e->type == DM_ELEM_RIB) {
		struct dm_ip id = { DM_AFI_IPV4, { 0 } };
		uint32_t v = src->ctx->peer_index->collector_id;
		id.b[0] = (uint8_t)(v >> 24), id.b[1] = (uint8_t)(v >> 16);
		id.b[2] = (uint8_t)(v >> 8), id.b[3] = (uint8_t)v;
		PUTS(o, ",\"collector_bgp_id\":");
		put_ip(o, &id);
	}
	PUTS(o, ",\"peer_address\":");
	if (e->peer_ip)
		put_ip(o, e->peer_ip);
	else
		PUTS(o, "null");
	PUTS(o, ",\"peer_asn\":");
	obuf_u32(o, e->peer_asn);
	if (e->type == DM_ELEM_STATE) {
		PUTS(o, ",\"old_state\":");
		obuf_u32(o, e->old_state);
		PUTS(o, ",\"new_state\":");
		obuf_u32(o, e->new_state);
		PUTS(o, "}\n");
		return;
	}
	/* Canonical prefix: host bits past the length cleared (the -m output keeps them as
	 * received, like bgpdump 1.6.2). */
	struct dm_prefix p = e->prefix;
	dm_prefix_mask(&p);
	PUTS(o, ",\"prefix\":\"");
	obuf_reserve(o, DM_PREFIX_STRLEN + 1);
	o->len += prefix_fmt(o->buf + o->len, &p);
	obuf_putc(o, '"');
	if (e->has_path_id) {
		PUTS(o, ",\"path_id\":");
		obuf_u32(o, e->path_id);
	}
	const struct bgp_attrs *a = e->attrs;
	if (e->type == DM_ELEM_WITHDRAW || !a) {
		PUTS(o, "}\n");
		return;
	}
	PUTS(o, ",\"next_hop\":");
	if (e->next_hop && e->next_hop->afi)
		put_ip(o, e->next_hop);
	else
		PUTS(o, "null");
	PUTS(o, ",\"as_path\":");
	put_path(o, &a->path);
	PUTS(o, ",\"origin_asns\":");
	put_origins(o, &a->path);
	PUTS(o, ",\"origin\":");
	if (!(a->present & BGP_ATTR_BIT(BGP_ATTR_ORIGIN)))
		PUTS(o, "null");
	else if (a->origin == BGP_ORIGIN_IGP)
		PUTS(o, "\"IGP\"");
	else if (a->origin == BGP_ORIGIN_EGP)
		PUTS(o, "\"EGP\"");
	else
		PUTS(o, "\"INCOMPLETE\"");
	PUTS(o, ",\"med\":");
	if (a->present & BGP_ATTR_BIT(BGP_ATTR_MULTI_EXIT_DISC))
		obuf_u32(o, a->med);
	else
		PUTS(o, "null");
	PUTS(o, ",\"local_pref\":");
	if (a->present & BGP_ATTR_BIT(BGP_ATTR_LOCAL_PREF))
		obuf_u32(o, a->local_pref);
	else
		PUTS(o, "null");
	PUTS(o, ",\"communities\":");
	put_communities(o, a->communities, a->n_communities);
	PUTS(o, ",\"extended_communities\":");
	put_ext(o, a->ext_communities, a->n_ext_communities);
	PUTS(o, ",\"large_communities\":");
	put_large(o, a->large_communities, a->n_large_communities);
	/* Aggregator as "AS a.b.c.d" (bgpdump's notation); AS4_AGGREGATOR replaces an AS_TRANS
	 * AGGREGATOR (RFC 6793 §4.2.3). */
	PUTS(o, ",\"aggregator\":");
	if (a->present & BGP_ATTR_BIT(BGP_ATTR_AGGREGATOR)) {
		uint32_t as = a->aggregator_as;
		const struct dm_ip *addr = &a->aggregator_addr;
		if (as == 23456 && (a->present & BGP_ATTR_BIT(BGP_ATTR_AS4_AGGREGATOR)))
			as = a->as4_aggregator_as, addr = &a->as4_aggregator_addr;
		obuf_putc(o, '"');
		obuf_u32(o, as);
		obuf_putc(o, ' ');
		obuf_reserve(o, DM_IP_STRLEN);
		o->len += json_ip_fmt(o->buf + o->len, addr);
		obuf_putc(o, '"');
	} else {
		PUTS(o, "null");
	}
	PUTS(o, ",\"atomic_aggregate\":");
	if (a->present & BGP_ATTR_BIT(BGP_ATTR_ATOMIC_AGGREGATE))
		PUTS(o, "true");
	else
		PUTS(o, "false");
	if (a->present & BGP_ATTR_BIT(BGP_ATTR_ONLY_TO_CUSTOMER)) {
		PUTS(o, ",\"only_to_customer\":");
		obuf_u32(o, a->otc);
	}
	PUTS(o, "}\n");
}
