/* Alert text lines and JSON objects. Not a hot path (a few lines per event): snprintf is fine. */
#include "out/alert.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/addr.h"
#include "base/time.h"
#include "detect/detect.h"
#include "geo/geo.h"
#include "store/store.h"

size_t alert_entity_label(const struct sig_entity *e, const struct alert_names *names, char *buf, size_t n)
{
	const char *name = NULL;
	int len;
	if (n == 0)
		return 0;
	if (e->kind == SIG_COUNTRY) {
		char cc[3] = {e->cc[0], e->cc[1], 0};
		if (names && names->country_name)
			name = names->country_name(cc);
		len = name && *name ? snprintf(buf, n, "%s (%s)", cc, name) : snprintf(buf, n, "%s", cc);
	} else if (e->kind == SIG_ASN) {
		if (names && names->as_name)
			name = names->as_name(names->geo, e->asn);
		len = name && *name ? snprintf(buf, n, "AS%u (%s)", e->asn, name) : snprintf(buf, n, "AS%u", e->asn);
	} else {
		len = snprintf(buf, n, "global");
	}
	if (len < 0)
		len = 0;
	size_t l = (size_t)len < n ? (size_t)len : n - 1;
	if (e->afi == DM_AFI_IPV6 && l + 5 < n) {
		memcpy(buf + l, " IPv6", 6);
		l += 5;
	}
	return l;
}

size_t alert_duration(uint32_t seconds, char *buf, size_t n)
{
	uint32_t m = seconds / 60, d = m / 1440, h = m / 60 % 24;
	m %= 60;
	size_t l = 0;
	int w;
	if (n == 0)
		return 0;
	buf[0] = 0;
	if (d) {
		w = snprintf(buf + l, n - l, "%u d", d);
		l += w > 0 && (size_t)w < n - l ? (size_t)w : 0;
	}
	if (h) {
		w = snprintf(buf + l, n - l, "%s%u h", l ? " " : "", h);
		l += w > 0 && (size_t)w < n - l ? (size_t)w : 0;
	}
	if (m || l == 0) {
		w = snprintf(buf + l, n - l, "%s%u min", l ? " " : "", m);
		l += w > 0 && (size_t)w < n - l ? (size_t)w : 0;
	}
	return l;
}

/* "2014-12-22 16:15" (UTC), or "2014-12-22T16:15:00Z" for JSON. */
static void fmt_time(int64_t t, int iso, char buf[32])
{
	dm_time_fmt(t, iso ? DM_TIME_ISO : DM_TIME_MIN, buf);
}

static const char *unit(const struct sig_entity *e)
{
	return e->afi == DM_AFI_IPV6 ? "/48s" : "/24s";
}

int alert_is_alert(const struct dm_event *ev)
{
	return ev->type == DM_EV_OUTAGE || ev->type == DM_EV_PARTIAL || ev->type == DM_EV_RECOVERY ||
	       ev->type == DM_EV_INSTABILITY || ev->type == DM_EV_NEWNORMAL;
}

/* " (evidence)" before the line's end, when the caller found some. */
static void put_evidence(struct obuf *o, const struct dm_event *ev)
{
	size_t n = strnlen(ev->evidence, sizeof ev->evidence);
	if (n) {
		obuf_puts(o, "; ");
		obuf_put(o, ev->evidence, n);
	}
	obuf_putc(o, '\n');
}

void alert_text(struct obuf *o, const struct dm_event *ev, const struct alert_names *names)
{
	char who[160], t0[32], t1[32], te[32], dur[48], win[48], q[96];
	alert_entity_label(&ev->entity, names, who, sizeof who);
	fmt_time(ev->start, 0, t0);
	fmt_time(ev->end, 0, t1);
	int64_t ep = ev->episode_start && ev->episode_start < ev->start ? ev->episode_start : ev->start;
	fmt_time(ep, 0, te);
	unsigned long long base = (unsigned long long)ev->baseline_slash24;
	unsigned long long lost = ev->baseline_slash24 > ev->slash24 ? (unsigned long long)(ev->baseline_slash24 - ev->slash24) : 0;

	switch (ev->type) {
	case DM_EV_OUTAGE:
	case DM_EV_PARTIAL:
		if (ev->of_type == DM_EV_PARTIAL && ev->type == DM_EV_OUTAGE)
			obuf_printf(o, "%s: escalated to a full outage, %llu of %llu %s unreachable", who, lost, base,
			            unit(&ev->entity));
		else if (ev->of_type == DM_EV_OUTAGE && ev->type == DM_EV_PARTIAL)
			obuf_printf(o, "%s: partly back, still %llu of %llu %s unreachable", who, lost, base,
			            unit(&ev->entity));
		else
			obuf_printf(o, "%s: %s%llu of %llu %s unreachable", who,
			            ev->type == DM_EV_PARTIAL ? "partial outage, " : "", lost, base, unit(&ev->entity));
		if (ev->peers_lost)
			obuf_printf(o, ", withdrawn by %u of %u full-feed peers", ev->peers_lost, ev->full_feed_peers);
		if (ev->end)
			obuf_printf(o, ", %s - %s UTC", t0, t1);
		else
			obuf_printf(o, ", since %s UTC", t0);
		if (ev->of_type && ep < ev->start)
			obuf_printf(o, " (down since %s UTC)", te);
		put_evidence(o, ev);
		break;
	case DM_EV_RECOVERY:
		alert_duration(ev->end > ep ? (uint32_t)(ev->end - ep) : 0, dur, sizeof dur);
		/* a staged episode (partial <-> full) is "down" as a whole; a partial one "partly" */
		int partly = ev->of_type == DM_EV_PARTIAL && ep == ev->start;
		obuf_printf(o, "%s: %s after %s (%s %s - %s UTC", who, partly ? "fully reachable again" : "back", dur,
		            partly ? "partly down" : "down", te, t1);
		if (ep < ev->start)
			obuf_printf(o, "; %s from %s", ev->of_type == DM_EV_PARTIAL ? "partial" : "full outage", t0);
		obuf_puts(o, ")");
		put_evidence(o, ev);
		break;
	case DM_EV_NEWNORMAL:
		alert_duration(ev->end > ev->start ? (uint32_t)(ev->end - ev->start) : 0, dur, sizeof dur);
		obuf_printf(o, "%s: %llu of %llu %s still unreachable after %s (since %s UTC): taken as the new normal, "
		            "baseline learnt again from now", who, lost, base, unit(&ev->entity), dur, t0);
		put_evidence(o, ev);
		break;
	case DM_EV_INSTABILITY:
		alert_duration(ev->window, win, sizeof win);
		if (!ev->end)
			obuf_printf(o, "%s: rising instability, %u interruption%s in the last %s vs %.1f baseline\n", who,
			            ev->interruptions, ev->interruptions == 1 ? "" : "s", win,
			            ev->baseline_rate * ev->window / 3600.0);
		else
			obuf_printf(o, "%s: instability subsided, %u interruption%s in the last %s vs %.1f baseline "
			            "(rising %s - %s UTC)\n", who, ev->interruptions, ev->interruptions == 1 ? "" : "s",
			            win, ev->baseline_rate * ev->window / 3600.0, t0, t1);
		break;
	case DM_EV_UNKNOWN:
		dm_quality_words(ev->quality, q, sizeof q);
		if (!ev->end) {
			obuf_printf(o, "%s: state unknown since %s UTC (%s", who, t0, q);
			if (ev->full_feed_peers && (ev->quality & SIG_Q_PEERS_DROPPED))
				obuf_printf(o, ", %u full-feed peers", ev->full_feed_peers);
			obuf_puts(o, "), not judged\n");
		} else {
			alert_duration(ev->end > ev->start ? (uint32_t)(ev->end - ev->start) : 0, dur, sizeof dur);
			obuf_printf(o, "%s: data quality restored after %s (unknown %s - %s UTC, %s)\n", who, dur, t0, t1, q);
		}
		break;
	default:
		obuf_printf(o, "%s: event type %u\n", who, ev->type);
	}
}

static void json_str(struct obuf *o, const char *s)
{
	obuf_putc(o, '"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\') {
			obuf_putc(o, '\\');
			obuf_putc(o, (char)c);
		} else if (c < 0x20) {
			obuf_printf(o, "\\u%04x", c);
		} else {
			obuf_putc(o, (char)c);
		}
	}
	obuf_putc(o, '"');
}

/* JSON has no NaN or infinity. */
static void json_num(struct obuf *o, double x)
{
	if (!isfinite(x))
		obuf_puts(o, "null");
	else
		obuf_printf(o, "%.6g", x);
}

static void json_time(struct obuf *o, int64_t t)
{
	char b[32];
	if (!t) {
		obuf_puts(o, "null");
		return;
	}
	fmt_time(t, 1, b);
	json_str(o, b);
}

void alert_json(struct obuf *o, const struct dm_event *ev, const struct alert_names *names)
{
	const struct sig_entity *e = &ev->entity;
	char id[24], label[160], q[96];
	if (e->kind == SIG_COUNTRY)
		snprintf(id, sizeof id, "%c%c", e->cc[0], e->cc[1]);
	else if (e->kind == SIG_ASN)
		snprintf(id, sizeof id, "AS%u", e->asn);
	else
		snprintf(id, sizeof id, "global");
	alert_entity_label(e, names, label, sizeof label);

	obuf_puts(o, "{\"entity\":");
	json_str(o, id);
	obuf_puts(o, ",\"kind\":");
	json_str(o, e->kind == SIG_COUNTRY ? "country" : e->kind == SIG_ASN ? "asn" : "global");
	obuf_printf(o, ",\"afi\":%u,\"label\":", e->afi == DM_AFI_IPV6 ? 6 : 4);
	json_str(o, label);
	obuf_puts(o, ",\"type\":");
	json_str(o, dm_event_type_name(ev->type));
	if (ev->of_type) {
		obuf_puts(o, ",\"ends\":");
		json_str(o, dm_event_type_name(ev->of_type));
	}
	obuf_puts(o, ",\"start\":");
	json_time(o, ev->start);
	obuf_puts(o, ",\"end\":");
	json_time(o, ev->end);
	obuf_printf(o, ",\"start_ts\":%lld,\"end_ts\":", (long long)ev->start);
	if (ev->end)
		obuf_printf(o, "%lld,\"duration\":%lld", (long long)ev->end, (long long)(ev->end > ev->start ? ev->end - ev->start : 0));
	else
		obuf_puts(o, "null,\"duration\":null");
	obuf_puts(o, ",\"raised\":");
	json_time(o, ev->raised);
	obuf_puts(o, ",\"severity\":");
	json_num(o, ev->severity);
	obuf_printf(o, ",\"unit\":\"%s\",\"baseline\":%llu,\"value\":%llu", e->afi == DM_AFI_IPV6 ? "/48" : "/24",
	            (unsigned long long)ev->baseline_slash24, (unsigned long long)ev->slash24);
	if (ev->episode_start) {
		obuf_puts(o, ",\"episode_start\":");
		json_time(o, ev->episode_start);
		obuf_printf(o, ",\"episode_start_ts\":%lld", (long long)ev->episode_start);
	}
	if (ev->prev_start)
		obuf_printf(o, ",\"closes_start_ts\":%lld", (long long)ev->prev_start);
	{
		char evd[sizeof ev->evidence + 1];
		memcpy(evd, ev->evidence, sizeof ev->evidence);
		evd[sizeof ev->evidence] = 0;
		obuf_puts(o, ",\"evidence\":");
		json_str(o, evd);
	}
	obuf_puts(o, ",\"affected\":[");
	const char *p = ev->affected;
	int first = 1;
	size_t alen = strnlen(ev->affected, sizeof ev->affected);
	const char *end = ev->affected + alen;
	while (p < end) {
		while (p < end && *p == ' ')
			p++;
		const char *w = p;
		while (p < end && *p != ' ')
			p++;
		if (p > w) {
			char tok[sizeof ev->affected];
			memcpy(tok, w, (size_t)(p - w));
			tok[p - w] = 0;
			if (!first)
				obuf_putc(o, ',');
			json_str(o, tok);
			first = 0;
		}
	}
	obuf_printf(o, "],\"peers_lost\":%u,\"full_feed_peers\":%u,\"peers_share_lost\":", ev->peers_lost,
	            ev->full_feed_peers);
	json_num(o, ev->full_feed_peers ? (double)ev->peers_lost / ev->full_feed_peers : 0);
	if (ev->type == DM_EV_INSTABILITY) {
		obuf_printf(o, ",\"window\":%u,\"interruptions\":%u,\"rate\":", ev->window, ev->interruptions);
		json_num(o, ev->rate);
		obuf_puts(o, ",\"baseline_rate\":");
		json_num(o, ev->baseline_rate);
	}
	obuf_printf(o, ",\"quality\":%u,\"quality_text\":", ev->quality);
	dm_quality_words(ev->quality, q, sizeof q);
	json_str(o, q[0] ? q : "ok");
	char reason[sizeof ev->reason + 1];
	memcpy(reason, ev->reason, sizeof ev->reason);
	reason[sizeof ev->reason] = 0;
	obuf_puts(o, ",\"reason\":");
	json_str(o, reason);
	obuf_putc(o, '}');
}

/* ---- evidence: what carries a loss, from the visibility changes replay stored ---- */

struct tally {
	uint32_t key;      /* an ASN, or a country as cc[0] << 8 | cc[1] */
	uint64_t units;
};

static void tally_add(struct tally *t, size_t *n, size_t cap, uint32_t key, uint64_t units)
{
	for (size_t i = 0; i < *n; i++)
		if (t[i].key == key) {
			t[i].units += units;
			return;
		}
	if (*n < cap)
		t[(*n)++] = (struct tally){key, units};
}

static int tally_cmp(const void *a, const void *b)
{
	const struct tally *x = a, *y = b;
	return x->units < y->units ? 1 : x->units > y->units ? -1 : (x->key > y->key) - (x->key < y->key);
}

/* The window an event's evidence is read from: [start - bin, raised + bin). */
void alert_evidence_window(const struct dm_event *ev, uint32_t bin, int64_t *from, int64_t *to)
{
	*from = ev->start > bin ? ev->start - bin : 0;
	*to = (ev->raised > ev->start ? ev->raised : ev->start) + bin;
}

/* The predicate of the stores' query (store.c ST_SEL_CHANGES, pg.c): the family, a country
 * named as the change's main country or with a share in it, the origin AS. */
int alert_change_of(const struct sig_change *c, const struct sig_entity *e)
{
	if (e->afi && c->prefix.afi != e->afi)
		return 0;
	if (e->kind == SIG_ASN && e->asn && c->origin_asn != e->asn)
		return 0;
	return e->kind != SIG_COUNTRY || (c->cc[0] == e->cc[0] && c->cc[1] == e->cc[1] && !c->cc[2]) ||
	       sig_change_country(c, e->cc) != NULL;
}

/* Appends to ev->evidence: the origin ASes that carry the lost /24s with their shares, the
 * upstream the lost routes were last seen through (for KP: "last seen via AS4837"), and, for a
 * country, the largest share of those addresses that the other mapping view places in another
 * country (an entity mapped by registration: what geolocation says, and the reverse; docs/geo.md
 * "Views"). Nothing when replay stored no change for it (an older database, or a loss made only
 * of full-feed set changes). */
void alert_evidence(struct store *st, struct dm_event *ev, uint32_t bin, const struct geo_db *geo)
{
	struct sig_change *ch = NULL;
	size_t n = 0;
	int64_t from, to;
	alert_evidence_window(ev, bin, &from, &to);
	if (store_get_changes(st, from, to, &ev->entity, &ch, &n) == 0)
		alert_evidence_of(ev, ch, n, geo);
	free(ch);
}

void alert_evidence_of(struct dm_event *ev, const struct sig_change *ch, size_t n, const struct geo_db *geo)
{
	if (n == 0)
		return;
	struct tally org[64], up[64], reg[16];
	size_t norg = 0, nup = 0, nreg = 0;
	uint64_t total = 0, addrs = 0;
	struct sig_change last;   /* the latest loss: the withdrawal that completed it */
	memset(&last, 0, sizeof last);
	for (size_t i = 0; i < n; i++) {
		const struct sig_change *c = &ch[i];
		/* a country counts its own share of a prefix that spans countries (rows without the
		 * split, written by older replays or by hand, count whole for their main country) */
		uint64_t units = ev->entity.kind == SIG_COUNTRY && c->countries[0]
		                         ? sig_change_country_units(c, ev->entity.cc) : c->units;
		if (c->visible || c->covered || !units)
			continue;
		total += units;
		if (c->t >= last.t)
			last = *c;
		tally_add(org, &norg, 64, c->origin_asn, units);
		if (c->upstream_asn)
			tally_add(up, &nup, 64, c->upstream_asn, units);
		if (geo && ev->entity.kind == SIG_COUNTRY) {
			/* where the two views differ, the country the other view names: for an entity
			 * mapped by registration (old data) what geolocation says, and the reverse */
			struct geo_differ df[8];
			int k = geo_prefix_differ(geo, &c->prefix, df, 8);
			uint64_t size = c->prefix.afi == DM_AFI_IPV6 ? (c->prefix.len >= 64 ? 1 : 1ull << (64 - c->prefix.len))
			                                             : 1ull << (32 - c->prefix.len);
			addrs += size;
			for (int j = 0; j < k; j++) {
				int ours_reg = df[j].reg[0] == ev->entity.cc[0] && df[j].reg[1] == ev->entity.cc[1];
				int ours_geo = df[j].geoloc[0] == ev->entity.cc[0] && df[j].geoloc[1] == ev->entity.cc[1];
				if (!ours_reg && !ours_geo)
					continue;
				const char *cc = ours_reg ? df[j].geoloc : df[j].reg;
				/* key: the view that names another country (1 geolocation, 2 registration), cc */
				tally_add(reg, &nreg, 16, (uint32_t)(ours_reg ? 1 : 2) << 16 | (uint32_t)(uint8_t)cc[0] << 8 |
				                              (uint8_t)cc[1], df[j].addrs);
			}
		}
	}
	if (!total)
		return;
	qsort(org, norg, sizeof *org, tally_cmp);
	qsort(up, nup, sizeof *up, tally_cmp);
	qsort(reg, nreg, sizeof *reg, tally_cmp);
	char *b = ev->evidence;
	size_t cap = sizeof ev->evidence, len = strnlen(b, cap);
#define PUT(...)                                                                                                       	do {                                                                                                           		if (len < cap) {                                                                                       			int w_ = snprintf(b + len, cap - len, __VA_ARGS__);                                            			len = w_ > 0 ? len + (size_t)w_ : len;                                                         		}                                                                                                      	} while (0)
	PUT("%slost %s: ", len ? "; " : "", ev->entity.afi == DM_AFI_IPV6 ? "/48s" : "/24s");
	for (size_t i = 0; i < norg && i < 3; i++)
		PUT("%sAS%u %llu (%.0f%%)", i ? ", " : "", org[i].key, (unsigned long long)org[i].units,
		    100.0 * (double)org[i].units / (double)total);
	if (norg > 3)
		PUT(" and %zu more ASes", norg - 3);
	if (nup)
		PUT("; last seen via AS%u (%.0f%%)", up[0].key, 100.0 * (double)up[0].units / (double)total);
	if (last.peer_asn) {
		char ip[DM_IP_STRLEN];
		dm_ip_fmt(&last.peer_addr, ip);
		PUT("; last withdrawn by AS%u %s%s%s", last.peer_asn, ip, last.collector[0] ? " at " : "", last.collector);
	}
	if (addrs && nreg && reg[0].units * 10 >= addrs) {
		char cc[3] = {(char)(reg[0].key >> 8), (char)reg[0].key, 0};
		const char *name = geo_country_name(cc);
		PUT("; sources disagree: %s places %.0f%% of these addresses in %s%s%s%s",
		    reg[0].key >> 16 == 1 ? "geolocation" : "registration", 100.0 * (double)reg[0].units / (double)addrs, cc,
		    name ? " (" : "", name ? name : "", name ? ")" : "");
	}
#undef PUT
}


void alert_open_collect(struct detector *d, struct alert_open *o)
{
	o->n = 0;
	for (;;) {
		struct dm_event ev[DETECT_MAX_EVENTS];
		int got = detector_finish(d, ev, DETECT_MAX_EVENTS);
		if (got <= 0)
			break;
		for (int j = 0; j < got; j++) {
			if (!alert_is_alert(&ev[j]))
				continue;
			if (o->n < sizeof o->ev / sizeof o->ev[0])
				o->ev[o->n] = ev[j];
			o->n++;
		}
	}
}

void alert_open_print(FILE *f, const char *who, const struct alert_open *o, const struct alert_names *names)
{
	if (!o->n)
		return;
	const size_t cap = sizeof o->ev / sizeof o->ev[0];
	char t0[32];
	fprintf(f, "%s: %zu event%s still open at the end of the data:", who, o->n, o->n == 1 ? "" : "s");
	for (size_t i = 0; i < o->n && i < cap; i++) {
		char label[160];
		alert_entity_label(&o->ev[i].entity, names, label, sizeof label);
		fprintf(f, "%s %s %s since %s", i ? "," : "", label, dm_event_type_name(o->ev[i].type),
		        dm_time_fmt(o->ev[i].start, DM_TIME_UTC, t0));
	}
	fprintf(f, "%s\n", o->n > cap ? ", ..." : "");
}
