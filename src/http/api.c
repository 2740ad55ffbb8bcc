/* The JSON API over the database (docs/serve.md lists every endpoint and field). Bins are stored
 * run-length in time (docs/plot.md): the state of an entity at T is its last row with t <= T,
 * valid up to meta "series_end". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/time.h"
#include "detect/event.h"
#include "geo/geo.h"
#include "http/http_impl.h"
#include "out/alert.h"
#include "out/json.h"
#include "store/store.h"

/* an entity with its last bin row at or before ?1 (NULL columns when it has none) */
#define SNAP_SQL                                                                                                       \
	"SELECT e.id, e.cc, e.asn, e.name, b.t, b.slash24, b.baseline_slash24, b.peers_seeing, "                       \
	"b.full_feed_peers, b.quality, b.visible_prefixes, b.peer_frac FROM entities e "                               \
	"LEFT JOIN bins b ON b.entity = e.id AND b.t = (SELECT max(t) FROM bins WHERE entity = e.id AND t <= ?1) "
/* the columns event_json reads, in its order */
#define EVENT_SQL                                                                                                      \
	"SELECT ev.id, e.kind, e.afi, e.cc, e.asn, e.name, ev.type, ev.start_t, ev.end_t, ev.severity, "               \
	"ev.baseline_slash24, ev.slash24, ev.peers_lost, ev.full_feed_peers, ev.rate, ev.baseline_rate, "              \
	"ev.quality, ev.affected, ev.reason, ev.of_type, ev.raised_t, ev.window_s, ev.interruptions, "                 \
	"ev.episode_start, ev.prev_start, ev.evidence FROM events ev JOIN entities e ON e.id = ev.entity "

static const char *const sql[Q_COUNT_] = {
	[Q_DATA_VERSION] = NULL, /* db_version_sql: the engine's own */
	[Q_EVENT_EXISTS] = "SELECT 1 FROM events WHERE id = ?1",
	[Q_META] = "SELECT value FROM meta WHERE key = ?1",
	/* one index seek per entity: (entity, t) is the primary key (type=asn&cc=; the rest is
	 * answered from snapshots, snapshot.c) */
	[Q_SNAP_CC] =
	    SNAP_SQL "WHERE e.kind = 2 AND e.afi = ?3 AND e.asn IN (SELECT origin FROM vis_changes WHERE cc = ?2)",
	[Q_OPEN_EV] =
	    "SELECT entity, type, id, start_t, end_t FROM events WHERE start_t <= ?1 AND (end_t > ?1 OR end_t = 0) "
	    "AND type IN (1, 2, 4, 5) ORDER BY entity, start_t",
	[Q_ENTITY_ID] = "SELECT id, name FROM entities WHERE kind = ?1 AND afi = ?2 AND cc = ?3 AND asn = ?4",
	[Q_SERIES] = "SELECT t, visible_prefixes, slash24, baseline_slash24, peers_seeing, full_feed_peers, peers_up, "
	             "peer_frac, announcements, withdrawals, interruptions, more_specifics, quality FROM bins "
	             "WHERE entity = ?1 AND t >= coalesce((SELECT max(t) FROM bins WHERE entity = ?1 AND t <= ?2), 0) "
	             "AND t < ?3 ORDER BY t",
	[Q_FIRST_BIN] = "SELECT min(t) FROM bins WHERE entity = ?1",
	[Q_EVENTS] = EVENT_SQL
	"WHERE ev.start_t < ?2 AND (ev.end_t > ?1 OR ev.end_t = 0 OR ev.start_t >= ?1) "
	"AND (?3 = 0 OR ev.entity = ?3) AND (?4 = 0 OR ev.type = ?4) ORDER BY ev.start_t, ev.type, ev.id LIMIT ?5",
	[Q_EVENTS_SINCE] = EVENT_SQL "WHERE ev.id > ?1 ORDER BY ev.id LIMIT 1000",
};

static const char *const kind_names[] = { "", "outage", "partial", "recovery", "instability", "unknown", "newnormal" };
static const char *kind_name(int t)
{
	return t >= 1 && t <= 6 ? kind_names[t] : "other";
}

void api_error(struct obuf *o, const char *param, const char *msg)
{
	o->len = 0;
	obuf_puts(o, "{\"error\":");
	json_str(o, msg, strlen(msg));
	if (param) {
		obuf_puts(o, ",\"param\":");
		json_str(o, param, strlen(param));
	}
	obuf_puts(o, "}\n");
}

int api_db_open(struct api_db *a, const char *path, struct dm_error *err)
{
	memset(a, 0, sizeof *a);
	a->db = db_open(path, err);
	if (!a->db)
		return -1;
	if (!(a->path = strdup(path))) {
		dm_fail(err, DM_ERR_NOMEM, 0, "out of memory");
		api_db_close(a);
		return -1;
	}
	for (int i = 0; i < Q_COUNT_; i++)
		if (!(a->st[i] = db_prepare(a->db, i == Q_DATA_VERSION ? db_version_sql(a->db) : sql[i]))) {
			dm_fail(err, DM_ERR_BAD_VALUE, 0, "%s: not a darkmap database: %s", path, db_errmsg(a->db));
			api_db_close(a);
			return -1;
		}
	a->data_version = -1;
	if (api_db_refresh(a) < 0) {
		dm_fail(err, DM_ERR_IO, 0, "%s: %s", path, db_errmsg(a->db));
		api_db_close(a);
		return -1;
	}
	return 0;
}

void api_db_close(struct api_db *a)
{
	api_snapshot_jobs_end(a);
	free(a->path);
	a->path = NULL;
	for (int k = 0; k < 2; k++)
		for (int f = 0; f < 2; f++) {
			snapshot_free(a->snap[k][f]);
			a->snap[k][f] = NULL;
		}
	for (int i = 0; i < Q_COUNT_; i++)
		db_finalize(a->st[i]);
	db_close(a->db);
	memset(a->st, 0, sizeof a->st);
	a->db = NULL;
}

static int meta_u32(struct api_db *a, const char *key, uint32_t *v)
{
	struct dbst *st = a->st[Q_META];
	db_bind_text(st, 1, key, -1);
	int rc = db_step(st);
	if (rc == DB_ROW) {
		const char *t = (const char *)db_text(st, 0);
		char *e;
		unsigned long long x = t ? strtoull(t, &e, 10) : 0;
		*v = t && !*e && x <= UINT32_MAX ? (uint32_t)x : 0;
	}
	db_reset(st);
	return rc == DB_ROW || rc == DB_DONE ? 0 : -1;
}

int api_db_refresh(struct api_db *a)
{
	struct dbst *st = a->st[Q_DATA_VERSION];
	int64_t v = db_step(st) == DB_ROW ? db_int64(st, 0) : -1;
	db_reset(st);
	if (v == a->data_version)
		return 0;
	a->data_version = v;
	if (meta_u32(a, "bin", &a->bin) || meta_u32(a, "series_end", &a->series_end))
		return -1;
	if (!(st = db_prepare(a->db, "SELECT coalesce(max(id), 0) FROM events")))
		return -1;
	a->max_event_id = db_step(st) == DB_ROW ? db_int64(st, 0) : 0;
	db_finalize(st);
	return 1;
}

int api_check_params(const struct http_request *req, const char *const *allowed, struct obuf *o)
{
	for (size_t i = 0; i < req->nparams; i++) {
		int ok = 0;
		for (const char *const *k = allowed; *k; k++)
			if (!strcmp(*k, req->params[i].key))
				ok = 1;
		for (size_t j = 0; j < i; j++)
			if (!strcmp(req->params[j].key, req->params[i].key)) {
				api_error(o, req->params[i].key, "parameter given twice");
				return 400;
			}
		if (!ok) {
			api_error(o, req->params[i].key, "unknown parameter");
			return 400;
		}
	}
	return 0;
}

static int param_time(const struct http_request *req, const char *key, uint32_t *t, struct obuf *o)
{
	const char *v = http_param_get(req, key);
	if (!v)
		return 0;
	if (dm_time_parse(v, t)) {
		char msg[200];
		snprintf(msg, sizeof msg,
		         "want a UTC time: 2014-12-22T16:15, '2014-12-22 16:15', 2014-12-22 or unix seconds");
		api_error(o, key, msg);
		return 400;
	}
	return 0;
}

static int param_uint(const struct http_request *req, const char *key, uint32_t max, uint32_t *v, struct obuf *o)
{
	const char *s = http_param_get(req, key);
	if (!s)
		return 0;
	char *e;
	unsigned long long x = strtoull(s, &e, 10);
	if (!*s || *e || s[0] == '-' || s[0] == '+' || s[0] == ' ' || x > max) {
		char msg[80];
		snprintf(msg, sizeof msg, "want a whole number from 0 to %u", max);
		api_error(o, key, msg);
		return 400;
	}
	*v = (uint32_t)x;
	return 0;
}

static void put_time(struct obuf *o, const char *key, uint32_t t)
{
	char b[32];
	obuf_printf(o, "\"%s\":%u,\"%s_utc\":", key, t, key);
	if (t) {
		dm_time_fmt(t, DM_TIME_ISO, b);
		json_str(o, b, strlen(b));
	} else {
		obuf_puts(o, "null");
	}
}

/* ,"key":"text" (null for NULL) */
static void put_text(struct obuf *o, const char *key, const unsigned char *s)
{
	obuf_printf(o, ",\"%s\":", key);
	if (s)
		json_str(o, (const char *)s, strlen((const char *)s));
	else
		obuf_puts(o, "null");
}

static void put_double(struct obuf *o, double d)
{
	if (d != d || d > 1e300 || d < -1e300)
		obuf_puts(o, "null");
	else
		obuf_printf(o, "%.9g", d);
}

/* The entity of a country or AS label with its database id; 404 when absent. */
static int find_entity(struct api_db *a, const char *label, const char *param, struct sig_entity *e, int64_t *id,
                       char *name, size_t nn, struct obuf *o)
{
	if (http_entity_parse(label, e)) {
		api_error(o, param,
		          "want a country code (KP), an AS (AS131279 or 131279) or global, with /v6 for IPv6");
		return 400;
	}
	struct dbst *st = a->st[Q_ENTITY_ID];
	db_bind_int64(st, 1, e->kind);
	db_bind_int64(st, 2, e->afi);
	db_bind_text(st, 3, e->kind == SIG_COUNTRY ? e->cc : "", -1);
	db_bind_int64(st, 4, e->kind == SIG_ASN ? e->asn : 0);
	int rc = db_step(st);
	if (rc == DB_ROW) {
		*id = db_int64(st, 0);
		const unsigned char *nm = db_text(st, 1);
		snprintf(name, nn, "%s", nm ? (const char *)nm : "");
	}
	db_reset(st);
	if (rc == DB_ROW) {
		if (!name[0] && e->kind == SIG_COUNTRY && geo_country_name(e->cc))
			snprintf(name, nn, "%s", geo_country_name(e->cc));
		return 0;
	}
	if (rc != DB_DONE) {
		api_error(o, NULL, db_errmsg(a->db));
		return 500;
	}
	char msg[120], lb[32];
	http_entity_label(e, lb, sizeof lb);
	snprintf(msg, sizeof msg, "no entity %s in the database", lb);
	api_error(o, param, msg);
	return 404;
}

/* Room for one more element in *v (n used of *cap): 0, or -1 out of memory. */
static int grow(void *v, size_t n, size_t *cap, size_t elem)
{
	void **pv = v;
	if (n < *cap)
		return 0;
	size_t nc = *cap ? *cap * 2 : 64;
	void *nv = realloc(*pv, nc * elem);
	if (!nv)
		return -1;
	*pv = nv;
	*cap = nc;
	return 0;
}

/* ---------------- /api/entities ---------------- */

struct snap_row {
	struct snap_ent *e;
	const struct snap_bin *b; /* NULL: no bin at T */
	uint32_t bin_t;
	const char *state;
	int unstable;
	struct snap_ev *ev; /* the event that sets the state */
	struct snap_ev *inst;
	int64_t loss;
};

static int cmp_loss(const void *x, const void *y)
{
	const struct snap_row *a = x, *b = y;
	if (a->loss != b->loss)
		return a->loss > b->loss ? -1 : 1;
	return strcmp(a->e->label, b->e->label);
}

static void swap_rows(struct snap_row *a, struct snap_row *b)
{
	struct snap_row t = *a;
	*a = *b;
	*b = t;
}

/* Moves the k first rows in cmp_loss order to v[0..k), unordered (quickselect: a ranking of 70,000
 * ASes shown 1,000 at a time sorts 1,000, not 70,000). No two rows compare equal (labels differ). */
static void select_first(struct snap_row *v, size_t n, size_t k)
{
	size_t lo = 0, hi = n;
	while (hi - lo > 1 && k > lo && k < hi) {
		size_t mid = lo + (hi - lo) / 2, last = hi - 1;
		/* median of three to the end: input in label order must not go quadratic */
		if (cmp_loss(&v[mid], &v[lo]) < 0)
			swap_rows(&v[mid], &v[lo]);
		if (cmp_loss(&v[last], &v[lo]) < 0)
			swap_rows(&v[last], &v[lo]);
		if (cmp_loss(&v[mid], &v[last]) < 0)
			swap_rows(&v[mid], &v[last]);
		size_t s = lo;
		for (size_t i = lo; i < last; i++)
			if (cmp_loss(&v[i], &v[last]) < 0)
				swap_rows(&v[i], &v[s++]);
		swap_rows(&v[s], &v[last]);
		if (k <= s)
			hi = s;
		else
			lo = s + 1;
	}
}

static struct snap_ev *ev_find(struct snapshot *m, int64_t entity)
{
	size_t lo = 0, hi = m->nevs;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (m->evs[mid].entity < entity)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < m->nevs && m->evs[lo].entity == entity ? &m->evs[lo] : NULL;
}

/* The state of e at T from a snapshot: its row, then the events open at T. */
static void entity_state(struct snapshot *m, struct snap_ent *e, uint32_t at, int valid_t,
                         uint32_t bin, struct snap_row *r)
{
	memset(r, 0, sizeof *r);
	r->e = e;
	r->b = valid_t ? snapshot_at(m, e, at) : NULL;
	const struct snap_hot *h = r->b ? &m->hot[r->b - m->bins] : NULL;
	if (h) {
		r->bin_t = at - (at % bin);
		r->loss = h->loss;
		/* the row's text is read when the answer is written: fetched now, while the next
		 * entities are looked up, its cache miss overlaps theirs */
		if (h->frag) {
			__builtin_prefetch(m->fragbuf + h->frag);
			__builtin_prefetch(m->fragbuf + h->frag + 64); /* about 130 bytes */
		}
	}
	/* outage > partial > unknown (event or data quality) > normal; instability is a flag on
	 * top: an entity can flap and be partly out at once, and the map shows both */
	r->state = h && !h->quality ? "normal" : "unknown";
	int rank = 0;
	for (struct snap_ev *oe = ev_find(m, e->id); oe && oe < m->evs + m->nevs && oe->entity == e->id; oe++) {
		if (oe->start > at || (oe->end <= at && oe->end != 0))
			continue;
		int k = oe->type == DM_EV_OUTAGE ? 3 : oe->type == DM_EV_PARTIAL ? 2 : oe->type == DM_EV_UNKNOWN ? 1 : 0;
		if (oe->type == DM_EV_INSTABILITY) {
			r->unstable = 1;
			r->inst = oe;
		} else if (k > rank) {
			rank = k;
			r->ev = oe;
			r->state = k == 3 ? "outage" : k == 2 ? "partial" : "unknown";
		}
	}
}

/* The parts of an answer that depend only on the snapshot are made once, when first answered,
 * and copied after: the entity's opening, a row's values, an event (printf and the UTC
 * formatting were most of a computed answer's time). */
static const char *ent_json(struct snap_ent *e)
{
	if (!e->json) {
		struct obuf t;
		obuf_init_mem(&t);
		obuf_puts(&t, "{\"entity\":");
		json_str(&t, e->label, strlen(e->label));
		put_text(&t, "name", (const unsigned char *)e->name);
		obuf_putc(&t, 0);
		e->json = t.buf; /* obuf's memory is malloc'd: freed with the snapshot */
	}
	return e->json;
}

static const char *ev_json(struct snap_ev *ev)
{
	if (!ev->json) {
		struct obuf t;
		obuf_init_mem(&t);
		obuf_printf(&t, "{\"id\":%lld,\"kind\":\"%s\",", (long long)ev->id, kind_name(ev->type));
		put_time(&t, "start", ev->start);
		obuf_putc(&t, ',');
		put_time(&t, "end", ev->end);
		obuf_puts(&t, "}");
		obuf_putc(&t, 0);
		ev->json = t.buf;
	}
	return ev->json;
}

/* A row's values after "bin_t": written to o, and kept in the snapshot for the next answers. */
static void put_row(struct obuf *o, struct snapshot *m, const struct snap_bin *b)
{
	size_t i = (size_t)(b - m->bins);
	if (m->hot[i].frag) {
		const char *f = m->fragbuf + m->hot[i].frag;
		obuf_put(o, f + 2, (size_t)(unsigned char)f[0] | (size_t)(unsigned char)f[1] << 8);
		return;
	}
	size_t start = o->len;
	/* obuf's integer formatting, not printf */
	static const char *const keys[] = { ",\"slash24\":",        ",\"baseline_slash24\":", ",\"loss_slash24\":",
		                            ",\"visible_prefixes\":", ",\"peers_seeing\":",     ",\"full_feed_peers\":",
		                            ",\"quality\":" };
	const int64_t vals[] = { b->slash24, b->baseline, b->baseline - b->slash24, b->visible, b->seeing, b->ffp, b->quality };
	for (size_t k = 0; k < sizeof vals / sizeof vals[0]; k++) {
		obuf_puts(o, keys[k]);
		obuf_i64(o, vals[k]);
	}
	obuf_puts(o, ",\"peer_frac\":");
	if (b->peer_frac == 0 || b->peer_frac == 1)
		obuf_putc(o, b->peer_frac ? '1' : '0');
	else
		put_double(o, b->peer_frac);
	size_t n = o->len - start;
	if (n > 0xffff || m->fraglen + n + 2 > UINT32_MAX)
		return;
	if (m->fraglen + n + 2 > m->fragcap) {
		size_t nc = m->fragcap ? m->fragcap * 2 : 1 << 16;
		while (nc < m->fraglen + n + 2)
			nc *= 2;
		char *nb = realloc(m->fragbuf, nc);
		if (!nb)
			return; /* not kept: made again next time */
		m->fragbuf = nb;
		m->fragcap = nc;
	}
	if (!m->fraglen)
		m->fraglen = 1; /* offset 0 means "not made" */
	char *f = m->fragbuf + m->fraglen;
	f[0] = (char)(n & 0xff);
	f[1] = (char)(n >> 8);
	memcpy(f + 2, o->buf + start, n);
	m->hot[i].frag = (uint32_t)m->fraglen;
	m->fraglen += n + 2;
}

/* type=asn&cc=CC: the few ASes of a country, read from SQLite into a snapshot of their rows at
 * T (one row each) and the events open at T. */
static int snapshot_cc(struct api_db *a, const char *cc, int afi, uint32_t at, struct snapshot *m)
{
	size_t cap = 0;
	struct dbst *st = a->st[Q_OPEN_EV];
	db_bind_int64(st, 1, at);
	int rc;
	while ((rc = db_step(st)) == DB_ROW) {
		if (grow(&m->evs, m->nevs, &cap, sizeof *m->evs)) {
			rc = -1;
			break;
		}
		m->evs[m->nevs++] = (struct snap_ev){ db_int64(st, 0), db_int64(st, 2),
			                              db_int(st, 1), (uint32_t)db_int64(st, 3),
			                              (uint32_t)db_int64(st, 4), NULL };
	}
	db_reset(st);
	if (rc != DB_DONE)
		return -1;
	st = a->st[Q_SNAP_CC];
	db_bind_int64(st, 1, at);
	db_bind_text(st, 2, cc, 2);
	db_bind_int64(st, 3, afi);
	size_t bcap = 0;
	cap = 0;
	while ((rc = db_step(st)) == DB_ROW) {
		if (grow(&m->ents, m->nents, &cap, sizeof *m->ents) || grow(&m->bins, m->nbins, &bcap, sizeof *m->bins)) {
			rc = -1;
			break;
		}
		struct snap_ent *e = &m->ents[m->nents++];
		memset(e, 0, sizeof *e);
		e->id = db_int64(st, 0);
		struct sig_entity se = { .kind = SIG_ASN, .afi = (uint8_t)afi, .asn = (uint32_t)db_int64(st, 2) };
		http_entity_label(&se, e->label, sizeof e->label);
		const unsigned char *nm = db_text(st, 3);
		e->name = nm ? strdup((const char *)nm) : NULL;
		if (db_type(st, 4) != DB_NULL) {
			e->first = m->nbins;
			e->n = 1;
			m->bins[m->nbins++] = snap_bin_read(st, 4);
		}
	}
	db_reset(st);
	if (rc != DB_DONE)
		return -1;
	if (snapshot_index(m, 0))
		return -1;
	return 0; /* events come by (entity, start) as ev_find wants: Q_OPEN_EV orders them so */
}

int api_entities(struct api_db *a, const struct http_request *req, struct obuf *o)
{
	static const char *const allowed[] = { "type", "at", "afi", "cc", "limit", NULL };
	int rc = api_check_params(req, allowed, o);
	if (rc)
		return rc;
	const char *type = http_param_get(req, "type");
	int kind = SIG_COUNTRY;
	if (type && !strcmp(type, "asn"))
		kind = SIG_ASN;
	else if (type && strcmp(type, "country")) {
		api_error(o, "type", "want country or asn");
		return 400;
	}
	uint32_t at = a->series_end >= a->bin && a->bin ? a->series_end - a->bin : 0, afi = 4, limit = 0;
	if ((rc = param_time(req, "at", &at, o)) || (rc = param_uint(req, "afi", 6, &afi, o)) ||
	    (rc = param_uint(req, "limit", 1000000, &limit, o)))
		return rc;
	if (afi != 4 && afi != 6) {
		api_error(o, "afi", "want 4 or 6");
		return 400;
	}
	const char *cc = http_param_get(req, "cc");
	struct sig_entity ce;
	if (cc && (kind != SIG_ASN || http_entity_parse(cc, &ce) || ce.kind != SIG_COUNTRY)) {
		api_error(o, "cc", kind != SIG_ASN ? "only with type=asn" : "want a two-letter country code");
		return 400;
	}
	if (kind == SIG_ASN && !limit)
		limit = 1000;
	int dafi = afi == 6 ? DM_AFI_IPV6 : DM_AFI_IPV4;
	struct snapshot *ccm = NULL;
	struct snapshot *m;
	if (cc) {
		if (!(ccm = calloc(1, sizeof *ccm)) || snapshot_cc(a, ce.cc, dafi, at, ccm)) {
			api_error(o, NULL, ccm ? db_errmsg(a->db) : "out of memory");
			snapshot_free(ccm);
			return 500;
		}
		m = ccm;
	} else if (!(m = api_snapshot(a, kind, dafi))) {
		api_error(o, NULL, db_errmsg(a->db));
		return 500;
	}
	size_t n = m->nents;
	struct snap_row *rows = malloc((n ? n : 1) * sizeof *rows);
	if (!rows) {
		api_error(o, NULL, "out of memory");
		rc = 500;
		goto done;
	}
	int valid_t = a->bin && at < a->series_end;
	enum { AHEAD = 8 };
	for (size_t i = 0; i < n && i < AHEAD && valid_t; i++)
		snapshot_prefetch(m, i, at);
	for (size_t i = 0; i < n; i++) {
		if (valid_t)
			snapshot_prefetch(m, i + AHEAD, at);
		if (m->ents[i].json)
			__builtin_prefetch(m->ents[i].json); /* read when written, like the rows' text */
		entity_state(m, &m->ents[i], at, valid_t, a->bin, &rows[i]);
	}
	size_t shown = limit && limit < n ? limit : n;
	if (kind == SIG_ASN) {
		select_first(rows, n, shown);
		qsort(rows, shown, sizeof *rows, cmp_loss);
	}
	obuf_reserve(o, 256 + shown * 320); /* a country's object is about 240 bytes: no regrowth */
	obuf_printf(o, "{\"type\":\"%s\",\"afi\":%u,", kind == SIG_ASN ? "asn" : "country", afi);
	put_time(o, "at", at);
	obuf_printf(o, ",\"bin\":%u,", a->bin);
	put_time(o, "series_end", a->series_end);
	obuf_printf(o, ",\"count\":%zu,\"shown\":%zu,\"entities\":[", n, shown);
	struct obuf bt;
	obuf_init_mem(&bt);
	uint32_t bt_val = 0;
	for (size_t i = 0; i < shown; i++) {
		struct snap_row *r = &rows[i];
		obuf_puts(o, i ? ",\n" : "\n");
		obuf_puts(o, ent_json(r->e));
		obuf_puts(o, ",\"state\":\"");
		obuf_puts(o, r->state);
		obuf_puts(o, r->unstable ? "\",\"unstable\":true" : "\",\"unstable\":false");
		if (r->b) {
			/* every row answered holds the same bin_t: its text is made once */
			if (r->bin_t != bt_val || !bt.len) {
				bt.len = 0;
				obuf_puts(&bt, ",\"bin_t\":");
				obuf_u32(&bt, r->bin_t);
				bt_val = r->bin_t;
			}
			obuf_put(o, bt.buf, bt.len);
			put_row(o, m, r->b);
		} else {
			obuf_puts(o, ",\"bin_t\":null");
		}
		if (r->ev) {
			obuf_puts(o, ",\"event\":");
			obuf_puts(o, ev_json(r->ev));
		}
		if (r->inst) {
			obuf_puts(o, ",\"instability\":");
			obuf_puts(o, ev_json(r->inst));
		}
		obuf_putc(o, '}');
	}
	obuf_puts(o, "]}\n");
	obuf_free(&bt);
	rc = 200;
done:
	free(rows);
	snapshot_free(ccm);
	return rc;
}

/* ---------------- /api/series ---------------- */

enum {
	S_VISIBLE,
	S_SLASH24,
	S_BASELINE,
	S_SEEING,
	S_FFP,
	S_UP,
	S_PEER_FRAC,
	S_ANN,
	S_WD,
	S_INTR,
	S_MORE,
	S_QUALITY,
	S_SEEING_FRAC,
	S_COUNT_
};
static const char *const signal_names[S_COUNT_] = {
	"visible_prefixes", "slash24",   "baseline_slash24", "peers_seeing", "full_feed_peers",
	"peers_up",         "peer_frac", "announcements",    "withdrawals",  "interruptions",
	"more_specifics",   "quality",   "seeing_frac",
};
enum { SERIES_MAX_BINS = 200000 };

struct srow {
	uint32_t t;
	int64_t v[12];
	double peer_frac;
};

int api_series(struct api_db *a, const struct http_request *req, struct obuf *o)
{
	static const char *const allowed[] = { "entity", "from", "to", "signals", NULL };
	int rc = api_check_params(req, allowed, o);
	if (rc)
		return rc;
	const char *label = http_param_get(req, "entity");
	if (!label) {
		api_error(o, "entity", "missing: want entity=KP, entity=AS131279, entity=global");
		return 400;
	}
	int want[S_COUNT_] = { 0 };
	const char *sig = http_param_get(req, "signals");
	if (!sig || !*sig)
		sig = "slash24,baseline_slash24,seeing_frac,peer_frac,interruptions,quality";
	for (const char *p = sig; *p;) {
		const char *c = strchr(p, ',');
		size_t l = c ? (size_t)(c - p) : strlen(p);
		int found = 0;
		for (int i = 0; i < S_COUNT_; i++)
			if (strlen(signal_names[i]) == l && !memcmp(signal_names[i], p, l))
				want[i] = found = 1;
		if (!found) {
			char msg[HTTP_MAX_VALUE + 120];
			snprintf(msg, sizeof msg,
			         "unknown signal '%.*s'; known: visible_prefixes, slash24, baseline_slash24, "
			         "peers_seeing, full_feed_peers, peers_up, peer_frac, seeing_frac, announcements, "
			         "withdrawals, "
			         "interruptions, more_specifics, quality",
			         (int)l, p);
			api_error(o, "signals", msg);
			return 400;
		}
		p += l + (c ? 1 : 0);
	}
	struct sig_entity e;
	int64_t id = 0;
	char name[256] = "";
	if ((rc = find_entity(a, label, "entity", &e, &id, name, sizeof name, o)))
		return rc;
	uint32_t from = 0, to = a->series_end;
	int have_from = http_param_get(req, "from") != NULL;
	if ((rc = param_time(req, "from", &from, o)) || (rc = param_time(req, "to", &to, o)))
		return rc;
	if (!have_from) {
		struct dbst *st = a->st[Q_FIRST_BIN];
		db_bind_int64(st, 1, id);
		if (db_step(st) == DB_ROW)
			from = (uint32_t)db_int64(st, 0);
		db_reset(st);
	}
	uint32_t bin = a->bin ? a->bin : 300;
	from -= from % bin;
	if (to > a->series_end)
		to = a->series_end;
	if (to < from)
		to = from;
	if ((to - from) / bin > SERIES_MAX_BINS) {
		api_error(o, "to", "range holds more than 200000 bins: ask for less");
		return 400;
	}
	size_t nb = (to - from + bin - 1) / bin;
	/* the rows read, and for each bin of the range the row that holds there (1-based; 0: none
	 * yet): run-length rows repeat over many bins, and a row's values are formatted once and
	 * copied to its next bins (printf's %.9g of the fractions was 55% of an answer, perf) */
	struct srow *rows = NULL;
	size_t nrows = 0, rcap = 0;
	uint32_t *have = calloc(nb ? nb : 1, sizeof *have);
	if (!have) {
		api_error(o, NULL, "out of memory");
		return 500;
	}
	struct dbst *st = a->st[Q_SERIES];
	db_bind_int64(st, 1, id);
	db_bind_int64(st, 2, from);
	db_bind_int64(st, 3, to);
	size_t k = 0;
	int nomem = 0;
	while ((rc = db_step(st)) == DB_ROW) {
		if (grow(&rows, nrows, &rcap, sizeof *rows)) {
			nomem = 1;
			break;
		}
		struct srow *r = &rows[nrows];
		r->t = (uint32_t)db_int64(st, 0);
		for (int i = 0; i < 12; i++)
			r->v[i] = db_int64(st, 1 + i);
		r->peer_frac = db_double(st, 7);
		/* run-length rows: the previous row holds until the next one */
		for (; k < nb && from + k * bin < r->t; k++)
			have[k] = (uint32_t)nrows; /* the previous row, 1-based; 0 before the first */
		nrows++;
	}
	db_reset(st);
	for (; k < nb && nrows; k++)
		have[k] = (uint32_t)nrows;
	if (nomem || rc != DB_DONE) {
		free(rows);
		free(have);
		api_error(o, NULL, nomem ? "out of memory" : db_errmsg(a->db));
		return 500;
	}
	char lb[32];
	http_entity_label(&e, lb, sizeof lb);
	obuf_puts(o, "{\"entity\":");
	json_str(o, lb, strlen(lb));
	put_text(o, "name", name[0] ? (const unsigned char *)name : NULL);
	obuf_printf(o, ",\"bin\":%u,", bin);
	put_time(o, "from", from);
	obuf_putc(o, ',');
	put_time(o, "to", to);
	obuf_printf(o, ",\"n\":%zu,\"t\":[", nb);
	obuf_reserve(o, nb * 11);
	for (size_t i = 0; i < nb; i++) {
		if (i)
			obuf_putc(o, ',');
		obuf_u32(o, (uint32_t)(from + i * bin));
	}
	obuf_putc(o, ']');
	for (int s = 0; s < S_COUNT_; s++) {
		if (!want[s])
			continue;
		obuf_printf(o, ",\n\"%s\":[", signal_names[s]);
		size_t ps = 0, pl = 0; /* the previous value's text in o: offset, length */
		for (size_t i = 0; i < nb; i++) {
			if (i)
				obuf_putc(o, ',');
			if (i && have[i] == have[i - 1]) {
				obuf_reserve(o, pl); /* may move o->buf: offsets stay valid */
				memcpy(o->buf + o->len, o->buf + ps, pl);
				ps = o->len;
				o->len += pl;
				continue;
			}
			size_t start = o->len;
			const struct srow *r = have[i] ? &rows[have[i] - 1] : NULL;
			if (!r)
				obuf_puts(o, "null");
			else if (s == S_PEER_FRAC)
				put_double(o, r->v[S_FFP] ? r->peer_frac : 0.0 / 0.0);
			else if (s == S_SEEING_FRAC)
				put_double(o, r->v[S_FFP] ? (double)r->v[S_SEEING] / (double)r->v[S_FFP] : 0.0 / 0.0);
			else if (s < 12)
				obuf_i64(o, r->v[s]);
			ps = start;
			pl = o->len - start;
		}
		obuf_putc(o, ']');
	}
	obuf_puts(o, "}\n");
	free(rows);
	free(have);
	return 200;
}

/* ---------------- /api/events ---------------- */

static int is_acked(const struct api_db *a, int64_t id)
{
	for (size_t i = 0; i < a->nacked; i++)
		if (a->acked[i] == id)
			return 1;
	return 0;
}

/* One events row (Q_EVENTS / Q_EVENTS_SINCE columns) as the API's JSON object. */
static void event_json(struct api_db *a, struct dbst *st, struct obuf *o)
{
	struct dm_event ev;
	memset(&ev, 0, sizeof ev);
	int64_t id = db_int64(st, 0);
	ev.entity.kind = (uint8_t)db_int(st, 1);
	ev.entity.afi = (uint8_t)db_int(st, 2);
	const unsigned char *cc = db_text(st, 3);
	if (cc && cc[0] && cc[1])
		memcpy(ev.entity.cc, cc, 2);
	ev.entity.asn = (uint32_t)db_int64(st, 4);
	ev.type = (uint8_t)db_int(st, 6);
	ev.start = (uint32_t)db_int64(st, 7);
	ev.end = (uint32_t)db_int64(st, 8);
	ev.severity = db_double(st, 9);
	ev.baseline_slash24 = (uint64_t)db_int64(st, 10);
	ev.slash24 = (uint64_t)db_int64(st, 11);
	ev.peers_lost = (uint16_t)db_int(st, 12);
	ev.full_feed_peers = (uint16_t)db_int(st, 13);
	ev.rate = db_double(st, 14);
	ev.baseline_rate = db_double(st, 15);
	ev.quality = (uint8_t)db_int(st, 16);
	const unsigned char *t;
	if ((t = db_text(st, 17)))
		snprintf(ev.affected, sizeof ev.affected, "%s", t);
	if ((t = db_text(st, 18)))
		snprintf(ev.reason, sizeof ev.reason, "%s", t);
	ev.of_type = (uint8_t)db_int(st, 19);
	ev.raised = (uint32_t)db_int64(st, 20);
	ev.window = (uint32_t)db_int64(st, 21);
	ev.interruptions = (uint32_t)db_int64(st, 22);
	ev.episode_start = (uint32_t)db_int64(st, 23);
	ev.prev_start = (uint32_t)db_int64(st, 24);
	if ((t = db_text(st, 25)))
		snprintf(ev.evidence, sizeof ev.evidence, "%s", t);
	char lb[32];
	http_entity_label(&ev.entity, lb, sizeof lb);
	obuf_printf(o, "{\"id\":%lld,\"entity\":", (long long)id);
	json_str(o, lb, strlen(lb));
	const unsigned char *nm = db_text(st, 5);
	if (!nm && ev.entity.kind == SIG_COUNTRY)
		nm = (const unsigned char *)geo_country_name(ev.entity.cc);
	put_text(o, "name", nm);
	obuf_printf(o, ",\"kind\":\"%s\",", kind_name(ev.type));
	put_time(o, "start", ev.start);
	obuf_putc(o, ',');
	put_time(o, "end", ev.end);
	obuf_printf(o, ",\"severity\":");
	put_double(o, ev.severity);
	obuf_printf(o, ",\"baseline_slash24\":%llu,\"slash24\":%llu,\"peers_lost\":%u,\"full_feed_peers\":%u,\"rate\":",
	            (unsigned long long)ev.baseline_slash24, (unsigned long long)ev.slash24, ev.peers_lost,
	            ev.full_feed_peers);
	put_double(o, ev.rate);
	obuf_puts(o, ",\"baseline_rate\":");
	put_double(o, ev.baseline_rate);
	obuf_printf(o, ",\"quality\":%u,\"ends\":", ev.quality);
	if (ev.type == DM_EV_RECOVERY)
		obuf_printf(o, "\"%s\"", kind_name(ev.of_type));
	else
		obuf_puts(o, "null");
	obuf_puts(o, ",\"affected\":");
	json_str(o, ev.affected, strlen(ev.affected));
	obuf_puts(o, ",\"reason\":");
	json_str(o, ev.reason, strlen(ev.reason));
	obuf_puts(o, ",\"evidence\":");
	json_str(o, ev.evidence, strlen(ev.evidence));
	struct alert_names names = { geo_country_name, NULL, NULL };
	struct obuf txt;
	obuf_init_mem(&txt);
	alert_text(&txt, &ev, &names);
	while (txt.len && txt.buf[txt.len - 1] == '\n')
		txt.len--;
	obuf_puts(o, ",\"text\":");
	json_str(o, txt.buf ? txt.buf : "", txt.len);
	obuf_free(&txt);
	obuf_printf(o, ",\"alert\":%s,\"acked\":%s}", alert_is_alert(&ev) ? "true" : "false",
	            is_acked(a, id) ? "true" : "false");
}

int api_events(struct api_db *a, const struct http_request *req, struct obuf *o)
{
	static const char *const allowed[] = { "from", "to", "entity", "kind", "limit", NULL };
	int rc = api_check_params(req, allowed, o);
	if (rc)
		return rc;
	uint32_t from = 0, to = UINT32_MAX, limit = 1000;
	if ((rc = param_time(req, "from", &from, o)) || (rc = param_time(req, "to", &to, o)) ||
	    (rc = param_uint(req, "limit", 100000, &limit, o)))
		return rc;
	int type = 0;
	const char *k = http_param_get(req, "kind");
	if (k) {
		for (int i = 1; i <= 6; i++)
			if (!strcmp(k, kind_names[i]))
				type = i;
		if (!type) {
			api_error(o, "kind", "want outage, partial, recovery, instability, unknown or newnormal");
			return 400;
		}
	}
	int64_t id = 0;
	const char *label = http_param_get(req, "entity");
	if (label) {
		struct sig_entity e;
		char name[256];
		if ((rc = find_entity(a, label, "entity", &e, &id, name, sizeof name, o)))
			return rc;
	}
	struct dbst *st = a->st[Q_EVENTS];
	db_bind_int64(st, 1, from);
	db_bind_int64(st, 2, to);
	db_bind_int64(st, 3, id);
	db_bind_int64(st, 4, type);
	db_bind_int64(st, 5, limit);
	obuf_puts(o, "{\"events\":[");
	size_t n = 0;
	while ((rc = db_step(st)) == DB_ROW) {
		obuf_puts(o, n++ ? ",\n" : "\n");
		event_json(a, st, o);
	}
	db_reset(st);
	if (rc != DB_DONE) {
		api_error(o, NULL, db_errmsg(a->db));
		return 500;
	}
	obuf_printf(o, "],\"count\":%zu}\n", n);
	return 200;
}

int api_stream_events(struct api_db *a, int64_t *last, struct obuf *o)
{
	struct dbst *st = a->st[Q_EVENTS_SINCE];
	db_bind_int64(st, 1, *last);
	int rc, n = 0;
	while ((rc = db_step(st)) == DB_ROW) {
		int64_t id = db_int64(st, 0);
		obuf_printf(o, "id: %lld\nevent: event\ndata: ", (long long)id);
		event_json(a, st, o);
		obuf_puts(o, "\n\n");
		*last = id;
		n++;
	}
	db_reset(st);
	return rc == DB_DONE ? n : -1;
}

/* ---------------- /api/peers, /api/collectors ---------------- */

/* Every row of a query as a JSON array of objects named by the columns. */
static int rows_json(struct api_db *a, const char *q, struct obuf *o)
{
	struct dbst *st;
	if (!(st = db_prepare(a->db, q)))
		return -1;
	obuf_putc(o, '[');
	int rc, n = 0;
	while ((rc = db_step(st)) == DB_ROW) {
		obuf_puts(o, n++ ? ",\n{" : "\n{");
		for (int i = 0; i < db_ncols(st); i++) {
			const char *cn = db_colname(st, i);
			if (i)
				obuf_putc(o, ',');
			json_str(o, cn, strlen(cn));
			obuf_putc(o, ':');
			switch (db_type(st, i)) {
			case DB_INT: obuf_i64(o, db_int64(st, i)); break;
			case DB_FLOAT: put_double(o, db_double(st, i)); break;
			case DB_NULL: obuf_puts(o, "null"); break;
			default: {
				const char *t = (const char *)db_text(st, i);
				json_str(o, t ? t : "", t ? strlen(t) : 0);
			}
			}
		}
		obuf_putc(o, '}');
	}
	db_finalize(st);
	obuf_putc(o, ']');
	return rc == DB_DONE ? 0 : -1;
}

/* The global entities' full-feed and peers-up counts in the last bin, "since" the start of the
 * run of equal rows it ends: SQLite stores a row only where a value changed (store.c
 * same_values), PostgreSQL every bin, so there the run's start is looked for. */
static int global_now(struct api_db *a, struct obuf *o)
{
	char q[1200], since[700];
	uint32_t at = a->series_end >= a->bin && a->bin ? a->series_end - a->bin : 0;
	if (db_is_pg(a->db))
		snprintf(since, sizeof since,
		         "coalesce((SELECT max(p.t) FROM bins p WHERE p.entity = e.id AND p.t < b.t AND "
		         "(p.visible_prefixes, p.slash24, p.baseline_slash24, p.peers_seeing, p.full_feed_peers, "
		         "p.peers_up, p.peer_frac, p.announcements, p.withdrawals, p.interruptions, p.more_specifics, "
		         "p.quality, p.ff_joined, p.ff_left) IS DISTINCT FROM (b.visible_prefixes, b.slash24, "
		         "b.baseline_slash24, b.peers_seeing, b.full_feed_peers, b.peers_up, b.peer_frac, "
		         "b.announcements, b.withdrawals, b.interruptions, b.more_specifics, b.quality, b.ff_joined, "
		         "b.ff_left)) + %u, (SELECT min(t) FROM bins WHERE entity = e.id))",
		         a->bin);
	else
		snprintf(since, sizeof since, "b.t");
	snprintf(
	    q, sizeof q,
	    "SELECT CASE e.afi WHEN 2 THEN 6 ELSE 4 END AS afi, %s AS since, b.full_feed_peers, b.peers_up, b.quality "
	    "FROM entities e JOIN bins b ON b.entity = e.id AND b.t = (SELECT max(t) FROM bins WHERE entity = e.id "
	    "AND t <= %u) WHERE e.kind = 3 ORDER BY e.afi",
	    since, at);
	return rows_json(a, q, o);
}

int api_peers(struct api_db *a, const struct http_request *req, struct obuf *o)
{
	static const char *const allowed[] = { NULL };
	int rc = api_check_params(req, allowed, o);
	if (rc)
		return rc;
	obuf_puts(o, "{\"at\":");
	obuf_u32(o, a->series_end >= a->bin && a->bin ? a->series_end - a->bin : 0);
	obuf_puts(o, ",\"full_feed\":");
	if (global_now(a, o))
		goto fail;
	/* a replayed database keeps no session table: the peers it names are the full-feed peers
	 * whose elements changed a prefix's visibility (vis_changes); collect's live state, when a
	 * database has a peers table, comes first */
	obuf_puts(o, ",\n\"peers\":");
	if (db_has_table(a->db, "peers")) {
		if (rows_json(a, "SELECT * FROM peers", o))
			goto fail;
		obuf_puts(o, ",\"source\":\"peers table\"}\n");
	} else {
		if (rows_json(a,
		              "SELECT collector, peer, peer_asn, count(*) AS visibility_changes, max(t) AS last_change "
		              "FROM vis_changes GROUP BY collector, peer, peer_asn ORDER BY collector, peer_asn, peer",
		              o))
			goto fail;
		obuf_puts(o, ",\"source\":\"vis_changes: full-feed peers whose routes changed a prefix's visibility; "
		             "session state is not stored by replay\"}\n");
	}
	return 200;
fail:
	api_error(o, NULL, db_errmsg(a->db));
	return 500;
}

int api_collectors(struct api_db *a, const struct http_request *req, struct obuf *o)
{
	static const char *const allowed[] = { NULL };
	int rc = api_check_params(req, allowed, o);
	if (rc)
		return rc;
	obuf_printf(o, "{\"bin\":%u,", a->bin);
	put_time(o, "series_end", a->series_end);
	obuf_puts(o, ",\n\"collectors\":");
	int bad;
	if (db_has_table(a->db, "collectors"))
		bad = rows_json(a, "SELECT * FROM collectors", o);
	else
		bad = rows_json(a,
		                "SELECT collector, count(*) AS visibility_changes, min(t) AS first_change, "
		                "max(t) AS last_change FROM vis_changes GROUP BY collector ORDER BY collector",
		                o);
	if (bad)
		goto fail;
	/* "unknown" made visible: every stretch of bins the signal flagged (gap, peers dropped, no
	 * data, full-feed set changed), from the global IPv4 series */
	obuf_puts(o, ",\n\"quality_periods\":");
	char q[1000];
	/* consecutive flagged bins with the same flags are one period (the rows are run-length
	 * in time, but a flagged stretch may hold several rows whose counts differ) */
	snprintf(q, sizeof q,
	         "WITH g AS (SELECT b.t, b.quality, lead(b.t) OVER (ORDER BY b.t) AS next, lag(b.quality) OVER (ORDER "
	         "BY b.t) "
	         "AS prev FROM bins b JOIN entities e ON e.id = b.entity WHERE e.kind = 3 AND e.afi = 1), "
	         "i AS (SELECT t, coalesce(next, %u) AS e, quality, sum(CASE WHEN prev = quality THEN 0 ELSE 1 END) "
	         "OVER (ORDER BY t) AS grp FROM g) "
	         "SELECT min(t) AS start, max(e) AS end, quality, (quality & 1) != 0 AS gap, (quality & 2) != 0 AS "
	         "peers_dropped, "
	         "(quality & 4) != 0 AS no_data, (quality & 8) != 0 AS full_feed_changed FROM i WHERE quality != 0 "
	         "GROUP BY grp, quality ORDER BY start",
	         a->series_end);
	if (rows_json(a, q, o))
		goto fail;
	obuf_puts(o, ",\n\"inputs\":");
	if (rows_json(a, "SELECT count(*) AS files FROM meta WHERE key LIKE 'replay.input.%'", o))
		goto fail;
	obuf_puts(o, ",\n\"geo\":");
	if (rows_json(a, "SELECT value AS source FROM meta WHERE key LIKE 'replay.geo.%' ORDER BY key", o))
		goto fail;
	obuf_puts(o, "}\n");
	return 200;
fail:
	api_error(o, NULL, db_errmsg(a->db));
	return 500;
}

/* ---------------- /metrics ---------------- */

int api_metrics(struct api_db *a, struct obuf *o, uint32_t now, int with_lag)
{
	obuf_puts(o, "# HELP darkmap_series_end_seconds End of the last stored bin (UTC unix seconds).\n"
	             "# TYPE darkmap_series_end_seconds gauge\n");
	obuf_printf(o, "darkmap_series_end_seconds %u\n", a->series_end);
	obuf_puts(o, "# HELP darkmap_bin_seconds Bin size of the stored series.\n# TYPE darkmap_bin_seconds gauge\n");
	obuf_printf(o, "darkmap_bin_seconds %u\n", a->bin);
	if (with_lag) {
		obuf_puts(o, "# HELP darkmap_bin_lag_seconds Wall clock minus the end of the last stored bin.\n"
		             "# TYPE darkmap_bin_lag_seconds gauge\n");
		obuf_printf(o, "darkmap_bin_lag_seconds %lld\n", (long long)now - (long long)a->series_end);
	}
	struct dbst *st;
	obuf_puts(o,
	          "# HELP darkmap_entities Entities with a series in the database.\n# TYPE darkmap_entities gauge\n");
	if (!(st = db_prepare(a->db, "SELECT kind, afi, count(*) FROM entities GROUP BY kind, afi ORDER BY kind, afi")))
		return -1;
	while (db_step(st) == DB_ROW) {
		int k = db_int(st, 0);
		obuf_printf(o, "darkmap_entities{kind=\"%s\",afi=\"%d\"} %lld\n",
		            k == 1   ? "country"
		            : k == 2 ? "asn"
		                     : "global",
		            db_int(st, 1) == 2 ? 6 : 4, (long long)db_int64(st, 2));
	}
	db_finalize(st);
	obuf_puts(o, "# HELP darkmap_events_stored Events stored, by kind.\n# TYPE darkmap_events_stored gauge\n");
	if (!(st = db_prepare(a->db, "SELECT type, count(*), sum(CASE WHEN end_t = 0 THEN 1 ELSE 0 END) FROM events "
	                                "GROUP BY type ORDER BY type")))
		return -1;
	struct obuf open;
	obuf_init_mem(&open);
	while (db_step(st) == DB_ROW) {
		int t = db_int(st, 0);
		obuf_printf(o, "darkmap_events_stored{kind=\"%s\"} %lld\n", kind_name(t),
		            (long long)db_int64(st, 1));
		if (t != DM_EV_RECOVERY)
			obuf_printf(&open, "darkmap_events_open{kind=\"%s\"} %lld\n", kind_name(t),
			            (long long)db_int64(st, 2));
	}
	db_finalize(st);
	obuf_puts(o, "# HELP darkmap_events_open Outage, partial, instability and unknown events still open (end 0).\n"
	             "# TYPE darkmap_events_open gauge\n");
	if (open.len)
		obuf_put(o, open.buf, open.len);
	obuf_free(&open);
	uint32_t at = a->series_end >= a->bin && a->bin ? a->series_end - a->bin : 0;
	char q[400];
	snprintf(
	    q, sizeof q,
	    "SELECT e.afi, b.full_feed_peers, b.peers_up, b.quality FROM entities e JOIN bins b ON b.entity = e.id "
	    "AND b.t = (SELECT max(t) FROM bins WHERE entity = e.id AND t <= %u) WHERE e.kind = 3 ORDER BY e.afi",
	    at);
	if (!(st = db_prepare(a->db, q)))
		return -1;
	/* a family's samples must follow its HELP and TYPE lines together (text format 0.0.4) */
	static const char *const fam[3][2] = {
		{ "darkmap_full_feed_peers", "Full-feed peers in the last stored bin." },
		{ "darkmap_bin_peers_up", "Peers with an established session in the last stored bin." },
		{ "darkmap_bin_quality",
		  "Data-quality flags of the last stored bin (1 gap, 2 peers dropped, 4 no data, 8 full-feed set changed)." },
	};
	struct obuf f[3];
	for (int i = 0; i < 3; i++) {
		obuf_init_mem(&f[i]);
		obuf_printf(&f[i], "# HELP %s %s\n# TYPE %s gauge\n", fam[i][0], fam[i][1], fam[i][0]);
	}
	while (db_step(st) == DB_ROW) {
		int afi = db_int(st, 0) == 2 ? 6 : 4;
		for (int i = 0; i < 3; i++)
			obuf_printf(&f[i], "%s{afi=\"%d\"} %lld\n", fam[i][0], afi, (long long)db_int64(st, 1 + i));
	}
	for (int i = 0; i < 3; i++) {
		obuf_put(o, f[i].buf, f[i].len);
		obuf_free(&f[i]);
	}
	db_finalize(st);
	return 0;
}
