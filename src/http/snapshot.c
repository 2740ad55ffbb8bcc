/* /api/entities' in-memory snapshots (http_impl.h "struct snapshot"): one read of every entity
 * of a kind and family with its run-length bin rows, kept until the data changes and the duty
 * cap allows a reread. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "detect/event.h"
#include "geo/geo.h"
#include "http/http_impl.h"

static double mono_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

void snapshot_free(struct snapshot *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->nents; i++) {
		free(m->ents[i].name);
		free(m->ents[i].json);
	}
	for (size_t i = 0; i < m->nevs; i++)
		free(m->evs[i].json);
	free(m->ents);
	free(m->bins);
	free(m->ts);
	free(m->frag);
	free(m->fragbuf);
	free(m->evs);
	free(m);
}

struct snap_bin snap_bin_read(struct dbst *st, int col)
{
	return (struct snap_bin){
		.t = (uint32_t)db_int64(st, col),
		.slash24 = db_int64(st, col + 1),
		.baseline = db_int64(st, col + 2),
		.seeing = db_int64(st, col + 3),
		.ffp = db_int64(st, col + 4),
		.quality = db_int(st, col + 5),
		.visible = db_int64(st, col + 6),
		.peer_frac = db_double(st, col + 7),
	};
}

/* Room for one more element in *v (n used of *cap): 0, or -1 out of memory. */
static int grow(void *v, size_t n, size_t *cap, size_t elem)
{
	void **pv = v;
	if (n < *cap)
		return 0;
	size_t nc = *cap ? *cap * 2 : 256;
	void *nv = realloc(*pv, nc * elem);
	if (!nv)
		return -1;
	*pv = nv;
	*cap = nc;
	return 0;
}

/* Entities and rows ordered alike (cc, asn: the UNIQUE index's order, which is the answer's
 * order for countries), so each entity's rows are the next run of the row query. */
static const char ents_sql[] = "SELECT id, cc, asn, name FROM entities WHERE kind = ?1 AND afi = ?2 ORDER BY cc, asn";
static const char bins_sql[] =
    "SELECT e.id, b.t, b.slash24, b.baseline_slash24, b.peers_seeing, b.full_feed_peers, b.quality, "
    "b.visible_prefixes, b.peer_frac FROM entities e JOIN bins b ON b.entity = e.id "
    "WHERE e.kind = ?1 AND e.afi = ?2 ORDER BY e.cc, e.asn, b.t";
static const char evs_sql[] = "SELECT entity, id, type, start_t, end_t FROM events WHERE type IN (1, 2, 4, 5) "
                              "ORDER BY entity, start_t";

static int read_snapshot(struct api_db *a, int kind, int afi, struct snapshot *m)
{
	struct dbst *st = NULL;
	size_t cap = 0;
	int rc;
	if (!(st = db_prepare(a->db, ents_sql)))
		return -1;
	db_bind_int64(st, 1, kind);
	db_bind_int64(st, 2, afi);
	while ((rc = db_step(st)) == DB_ROW) {
		if (grow(&m->ents, m->nents, &cap, sizeof *m->ents))
			break;
		struct snap_ent *e = &m->ents[m->nents];
		memset(e, 0, sizeof *e);
		e->id = db_int64(st, 0);
		struct sig_entity se = { .kind = (uint8_t)kind, .afi = (uint8_t)afi };
		const unsigned char *c = db_text(st, 1);
		if (c && c[0] && c[1]) {
			se.cc[0] = (char)c[0];
			se.cc[1] = (char)c[1];
		}
		se.asn = (uint32_t)db_int64(st, 2);
		http_entity_label(&se, e->label, sizeof e->label);
		const unsigned char *nm = db_text(st, 3);
		const char *gn = kind == SIG_COUNTRY ? geo_country_name(se.cc) : NULL;
		e->name = nm ? strdup((const char *)nm) : gn ? strdup(gn) : NULL;
		m->nents++;
	}
	db_finalize(st);
	if (rc != DB_DONE || !(st = db_prepare(a->db, bins_sql)))
		return -1;
	db_bind_int64(st, 1, kind);
	db_bind_int64(st, 2, afi);
	cap = 0;
	size_t k = 0;
	while ((rc = db_step(st)) == DB_ROW) {
		int64_t id = db_int64(st, 0);
		while (k < m->nents && m->ents[k].id != id)
			k++;
		if (k == m->nents || grow(&m->bins, m->nbins, &cap, sizeof *m->bins)) {
			rc = -1; /* out of memory, or an order the two queries do not share */
			break;
		}
		struct snap_ent *e = &m->ents[k];
		if (!e->n)
			e->first = m->nbins;
		e->n++;
		m->bins[m->nbins++] = snap_bin_read(st, 1);
	}
	db_finalize(st);
	if (rc != DB_DONE || !(m->ts = malloc((m->nbins ? m->nbins : 1) * sizeof *m->ts)) ||
	    !(m->frag = calloc(m->nbins ? m->nbins : 1, sizeof *m->frag)))
		return -1;
	for (size_t i = 0; i < m->nbins; i++)
		m->ts[i] = m->bins[i].t;
	if (!(st = db_prepare(a->db, evs_sql)))
		return -1;
	cap = 0;
	while ((rc = db_step(st)) == DB_ROW) {
		if (grow(&m->evs, m->nevs, &cap, sizeof *m->evs))
			break;
		m->evs[m->nevs++] = (struct snap_ev){ db_int64(st, 0), db_int64(st, 1),
			                              db_int(st, 2), (uint32_t)db_int64(st, 3),
			                              (uint32_t)db_int64(st, 4), NULL };
	}
	db_finalize(st);
	return rc == DB_DONE ? 0 : -1;
}

struct snapshot *api_snapshot(struct api_db *a, int kind, int afi)
{
	struct snapshot **slot = &a->snap[kind == SIG_ASN][afi == DM_AFI_IPV6];
	struct snapshot *old = *slot;
	if (old && old->version == a->data_version)
		return old;
	double t0 = mono_s();
	if (old && old->changes == a->changes && t0 - old->built_at < SNAP_DUTY * old->cost) {
		a->snap_stale++;
		return old;
	}
	struct snapshot *m = calloc(1, sizeof *m);
	if (!m)
		return old;
	/* one read transaction: entities, rows and events of the same commit */
	int ok = db_begin_read(a->db) == 0;
	struct dbst *st = a->st[Q_DATA_VERSION];
	m->version = ok && db_step(st) == DB_ROW ? db_int64(st, 0) : -1;
	db_reset(st);
	ok = ok && m->version >= 0 && read_snapshot(a, kind, afi, m) == 0;
	db_end(a->db);
	m->built_at = mono_s();
	m->cost = m->built_at - t0;
	if (!ok) {
		snapshot_free(m);
		if (old)
			old->built_at = mono_s(); /* try again after the cap, answering from the old one */
		return old;
	}
	a->snap_builds++;
	m->changes = a->changes;
	snapshot_free(old);
	*slot = m;
	return m;
}

const struct snap_bin *snapshot_at(const struct snapshot *m, const struct snap_ent *e, uint32_t t)
{
	const uint32_t *ts = m->ts + e->first;
	size_t lo = 0, hi = e->n; /* the first row after t */
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (ts[mid] <= t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo ? &m->bins[e->first + lo - 1] : NULL;
}
