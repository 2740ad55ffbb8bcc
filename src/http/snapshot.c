/* /api/entities' in-memory snapshots (http_impl.h "struct snapshot"): one read of every entity
 * of a kind and family with its run-length bin rows, kept until the data changes and the duty
 * cap allows a reread, which runs on a thread beside the event loop. */
#include <pthread.h>
#include <stdatomic.h>
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
	free(m->hot);
	free(m->ck);
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

static int read_snapshot(struct db *db, int kind, int afi, struct snapshot *m)
{
	struct dbst *st = NULL;
	size_t cap = 0;
	int rc;
	if (!(st = db_prepare(db, ents_sql)))
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
	if (rc != DB_DONE || !(st = db_prepare(db, bins_sql)))
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
	if (rc != DB_DONE || snapshot_index(m, 1))
		return -1;
	if (!(st = db_prepare(db, evs_sql)))
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

/* A reread off the event loop. When a writer commits (replay every 200,000 rows and at its end,
 * collect every bin), a reread on the loop stopped every answer for its whole length (94 ms for
 * 250 countries on a quiet machine, 160-263 ms loaded): that was p99 of /api/entities beside
 * replay (65 ms quiet, 80-381 ms loaded, bench/serve.sh; 26-35 ms with this at load 6-7). The thread reads with a connection of its own into a snapshot
 * nobody else sees, then sets done; the loop takes the snapshot at its next look (answering
 * from the previous one meanwhile, as it already did between rereads). Nothing is shared while
 * the thread runs but the job, and done (release/acquire) orders its other fields. */
struct snap_job {
	pthread_t th;
	char *path;
	int kind, afi;
	int64_t version;     /* the loop connection's data_version when started: the read is at least as new */
	uint64_t changes;    /* api_db.changes when started */
	double started_at;   /* monotonic seconds */
	struct snapshot *m;  /* the result; NULL: the read failed */
	atomic_int done;
};

static void *job_main(void *arg)
{
	struct snap_job *j = arg;
	double t0 = mono_s();
	struct snapshot *m = calloc(1, sizeof *m);
	struct dm_error err;
	struct db *db = m ? db_open(j->path, &err) : NULL;   /* SQLite or PostgreSQL, read-only */
	int ok = db != NULL;
	if (ok) {
		ok = db_begin_read(db) == 0 && read_snapshot(db, j->kind, j->afi, m) == 0;
		db_end(db);
	}
	db_close(db);
	if (ok) {
		m->version = j->version;
		m->changes = j->changes;
		m->built_at = mono_s();
		m->cost = m->built_at - t0;
	} else {
		snapshot_free(m);
		m = NULL;
	}
	j->m = m;
	atomic_store_explicit(&j->done, 1, memory_order_release);
	return NULL;
}

static void job_free(struct snap_job *j)
{
	pthread_join(j->th, NULL);
	snapshot_free(j->m);
	free(j->path);
	free(j);
}

void api_snapshot_jobs_end(struct api_db *a)
{
	for (int k = 0; k < 2; k++)
		for (int f = 0; f < 2; f++) {
			if (a->job[k][f])
				job_free(a->job[k][f]);
			a->job[k][f] = NULL;
		}
}

/* Starts a background reread of a slot: 0, or -1 (no thread: the caller reads on the loop). */
static int job_start(struct api_db *a, int kind, int afi, struct snap_job **slot)
{
	struct snap_job *j = calloc(1, sizeof *j);
	if (!j || !a->path || !(j->path = strdup(a->path))) {
		free(j);
		return -1;
	}
	j->kind = kind;
	j->afi = afi;
	j->version = a->data_version;
	j->changes = a->changes;
	j->started_at = mono_s();
	atomic_init(&j->done, 0);
	if (pthread_create(&j->th, NULL, job_main, j)) {
		free(j->path);
		free(j);
		return -1;
	}
	*slot = j;
	return 0;
}

struct snapshot *api_snapshot(struct api_db *a, int kind, int afi)
{
	struct snapshot **slot = &a->snap[kind == SIG_ASN][afi == DM_AFI_IPV6];
	struct snap_job **jslot = &a->job[kind == SIG_ASN][afi == DM_AFI_IPV6];
	struct snapshot *old = *slot;
	if (*jslot && atomic_load_explicit(&(*jslot)->done, memory_order_acquire)) {
		struct snap_job *j = *jslot;
		*jslot = NULL;
		if (j->m && !(old && old->built_at >= j->started_at)) { /* not overtaken by a read on the loop */
			a->snap_builds++;
			a->snap_background++;
			snapshot_free(old);
			*slot = old = j->m;
			j->m = NULL;
		} else if (old && !j->m) {
			old->built_at = mono_s(); /* try again after the cap, answering from the old one */
		}
		job_free(j);
	}
	if (old && old->version == a->data_version)
		return old;
	double t0 = mono_s();
	if (old && old->changes == a->changes) {
		/* a read in progress or the duty cap: the old one answers; else a read starts beside
		 * the loop, and the old one answers until it is done */
		if (*jslot || t0 - old->built_at < SNAP_DUTY * old->cost || job_start(a, kind, afi, jslot) == 0) {
			a->snap_stale++;
			return old;
		}
	}
	/* the first snapshot (nothing to answer from meanwhile), or a writer in this process that
	 * says it committed (http_server_db_changed: its clients want the new state at once): read
	 * now, on the loop */
	struct snapshot *m = calloc(1, sizeof *m);
	if (!m)
		return old;
	/* one read transaction: entities, rows and events of the same commit */
	int ok = db_begin_read(a->db) == 0;
	struct dbst *st = a->st[Q_DATA_VERSION];
	m->version = ok && db_step(st) == DB_ROW ? db_int64(st, 0) : -1;
	db_reset(st);
	ok = ok && m->version >= 0 && read_snapshot(a->db, kind, afi, m) == 0;
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

int snapshot_index(struct snapshot *m, int with_ck)
{
	size_t nb = m->nbins ? m->nbins : 1;
	if (!(m->ts = malloc(nb * sizeof *m->ts)) || !(m->hot = calloc(nb, sizeof *m->hot)))
		return -1;
	uint32_t t0 = UINT32_MAX, t1 = 0;
	for (size_t i = 0; i < m->nbins; i++) {
		const struct snap_bin *b = &m->bins[i];
		m->ts[i] = b->t;
		m->hot[i].quality = b->quality;
		m->hot[i].loss = b->baseline - b->slash24;
		t0 = b->t < t0 ? b->t : t0;
		t1 = b->t > t1 ? b->t : t1;
	}
	if (!with_ck || !m->nents || !m->nbins)
		return 0;
	/* as many entries as rows: about one row per entity between two checkpoints */
	size_t nck = m->nbins / m->nents;
	nck = nck < 1 ? 1 : nck;
	uint64_t span = (uint64_t)t1 - t0 + 1, step = (span + nck - 1) / nck;
	nck = (size_t)((span + step - 1) / step);
	if (!(m->ck = malloc(nck * m->nents * sizeof *m->ck)))
		return -1;
	for (size_t i = 0; i < m->nents; i++) {
		const struct snap_ent *e = &m->ents[i];
		size_t k = 0;
		for (size_t c = 0; c < nck; c++) {
			uint64_t ct = t0 + c * step;
			while (k < e->n && m->ts[e->first + k] <= ct)
				k++;
			m->ck[c * m->nents + i] = (uint32_t)k;
		}
	}
	m->nck = nck;
	m->ck_t0 = t0;
	m->ck_step = (uint32_t)step;
	return 0;
}

void snapshot_prefetch(const struct snapshot *m, size_t i, uint32_t t)
{
	if (!m->ck || t < m->ck_t0 || i >= m->nents)
		return;
	size_t c = (t - m->ck_t0) / m->ck_step;
	size_t r = m->ents[i].first + m->ck[(c < m->nck ? c : m->nck - 1) * m->nents + i];
	if (r >= m->nbins)
		r = m->nbins - 1;
	__builtin_prefetch(&m->ts[r]);
	__builtin_prefetch(&m->hot[r ? r - 1 : 0]);
}

const struct snap_bin *snapshot_at(const struct snapshot *m, const struct snap_ent *e, uint32_t t)
{
	const uint32_t *ts = m->ts + e->first;
	size_t lo = 0, hi = e->n; /* the first row after t */
	if (m->ck && t >= m->ck_t0) {
		size_t c = (t - m->ck_t0) / m->ck_step;
		lo = m->ck[(c < m->nck ? c : m->nck - 1) * m->nents + (size_t)(e - m->ents)];
		/* a few steps from the checkpoint; an entity with many rows between two (the
		 * checkpoints follow the average) is searched from there */
		for (int s = 0; s < 8 && lo < hi; s++, lo++)
			if (ts[lo] > t)
				return lo ? &m->bins[e->first + lo - 1] : NULL;
	}
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (ts[mid] <= t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo ? &m->bins[e->first + lo - 1] : NULL;
}
