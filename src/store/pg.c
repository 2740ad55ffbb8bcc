/* PostgreSQL behind store.h (docs/scale.md "The store"): the same tables and views as the
 * SQLite file (docs/plot.md), in PostgreSQL's types; bins and visibility changes are written in
 * batches with COPY (into a temporary table, then one INSERT ... ON CONFLICT, so that putting
 * a bin again replaces it as in SQLite). Rows are stored dense (every bin of every entity):
 * SQLite's run-length form saves a file's size; COPY makes the dense form cheap, and readers
 * get the same series either way. vis_changes has an id column (BIGSERIAL) for the put order
 * SQLite keeps in its rowid. */
#include <libpq-fe.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_pg.h"

struct pent {
	uint64_t key;
	int64_t id;
};

struct store_pg {
	PGconn *c;
	int readonly, in_tx, failed_tx;
	int dirty; /* written in this transaction: meta data_version is bumped at commit */
	/* meta "series_end", the end of the last bin put, as store.c keeps it for SQLite (serve
	 * reads it): bin from store_set_bin */
	uint32_t bin;
	int64_t series_end, series_end_saved;
	char errmsg[256];
	char *bins;               /* COPY text of the bins put since the last flush */
	size_t nbins, capbins;
	char *chg;
	size_t nchg, capchg;
	struct pent *ents;        /* entity key -> id */
	size_t nents, capents;
};

static const char pg_schema[] =
	"CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);\n"
	"CREATE TABLE IF NOT EXISTS entities (\n"
	"  id   BIGSERIAL PRIMARY KEY,\n"
	"  kind INTEGER NOT NULL, afi INTEGER NOT NULL,\n"
	"  cc   TEXT NOT NULL DEFAULT '', asn BIGINT NOT NULL DEFAULT 0, name TEXT,\n"
	"  UNIQUE (kind, afi, cc, asn));\n"
	"CREATE TABLE IF NOT EXISTS bins (\n"
	"  entity BIGINT NOT NULL REFERENCES entities(id), t BIGINT NOT NULL,\n"
	"  visible_prefixes BIGINT NOT NULL, slash24 BIGINT NOT NULL, baseline_slash24 BIGINT NOT NULL,\n"
	"  peers_seeing INTEGER NOT NULL, full_feed_peers INTEGER NOT NULL, peers_up INTEGER NOT NULL,\n"
	"  peer_frac DOUBLE PRECISION NOT NULL, announcements BIGINT NOT NULL, withdrawals BIGINT NOT NULL,\n"
	"  interruptions BIGINT NOT NULL, more_specifics BIGINT NOT NULL, quality INTEGER NOT NULL,\n"
	"  ff_joined INTEGER NOT NULL DEFAULT 0, ff_left INTEGER NOT NULL DEFAULT 0,\n"
	"  PRIMARY KEY (entity, t));\n"
	"CREATE TABLE IF NOT EXISTS events (\n"
	"  id BIGSERIAL PRIMARY KEY, entity BIGINT NOT NULL REFERENCES entities(id),\n"
	"  type INTEGER NOT NULL, start_t BIGINT NOT NULL, end_t BIGINT NOT NULL,\n"
	"  severity DOUBLE PRECISION NOT NULL, baseline_slash24 BIGINT NOT NULL, slash24 BIGINT NOT NULL,\n"
	"  peers_lost INTEGER NOT NULL, full_feed_peers INTEGER NOT NULL, rate DOUBLE PRECISION NOT NULL,\n"
	"  baseline_rate DOUBLE PRECISION NOT NULL, quality INTEGER NOT NULL, affected TEXT NOT NULL,\n"
	"  reason TEXT NOT NULL, of_type INTEGER NOT NULL DEFAULT 0, raised_t BIGINT NOT NULL DEFAULT 0,\n"
	"  window_s BIGINT NOT NULL DEFAULT 0, interruptions BIGINT NOT NULL DEFAULT 0,\n"
	"  episode_start BIGINT NOT NULL DEFAULT 0, prev_start BIGINT NOT NULL DEFAULT 0,\n"
	"  evidence TEXT NOT NULL DEFAULT '', UNIQUE (entity, type, start_t));\n"
	"CREATE INDEX IF NOT EXISTS events_by_time ON events (start_t);\n"
	"CREATE TABLE IF NOT EXISTS vis_changes (\n"
	"  id BIGSERIAL PRIMARY KEY, t BIGINT NOT NULL, afi INTEGER NOT NULL, prefix TEXT NOT NULL,\n"
	"  visible INTEGER NOT NULL, covered INTEGER NOT NULL, cc TEXT NOT NULL, origin BIGINT NOT NULL,\n"
	"  upstream BIGINT NOT NULL, units BIGINT NOT NULL, peers_before INTEGER NOT NULL,\n"
	"  full_feed_peers INTEGER NOT NULL, peer_asn BIGINT NOT NULL, peer TEXT NOT NULL,\n"
	"  collector TEXT NOT NULL, countries TEXT NOT NULL DEFAULT '');\n"
	"CREATE INDEX IF NOT EXISTS vis_changes_by_time ON vis_changes (t);\n"
	"CREATE OR REPLACE VIEW entity_labels AS\n"
	"  SELECT id, CASE kind WHEN 1 THEN cc WHEN 2 THEN 'AS' || asn::text ELSE 'global' END\n"
	"         || CASE afi WHEN 2 THEN '/v6' ELSE '' END AS label, name FROM entities;\n"
	"CREATE OR REPLACE VIEW bins_view AS\n"
	"  SELECT l.label, to_char(to_timestamp(b.t) AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') AS utc, b.*\n"
	"  FROM bins b JOIN entity_labels l ON l.id = b.entity;\n"
	"CREATE OR REPLACE VIEW events_view AS\n"
	"  SELECT l.label, CASE e.type WHEN 1 THEN 'outage' WHEN 2 THEN 'partial' WHEN 3 THEN 'recovery'\n"
	"         WHEN 4 THEN 'instability' WHEN 5 THEN 'unknown' WHEN 6 THEN 'newnormal' ELSE 'other' END AS kind,\n"
	"         to_char(to_timestamp(e.start_t) AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') AS start_utc,\n"
	"         CASE e.end_t WHEN 0 THEN NULL ELSE to_char(to_timestamp(e.end_t) AT TIME ZONE 'UTC',\n"
	"         'YYYY-MM-DD HH24:MI:SS') END AS end_utc, e.*\n"
	"  FROM events e JOIN entity_labels l ON l.id = e.entity;\n"
	"INSERT INTO meta VALUES ('schema_version', '2') ON CONFLICT (key) DO NOTHING;\n";

int store_is_pg(const char *path)
{
	return !strncmp(path, "postgresql://", 13) || !strncmp(path, "postgres://", 11);
}

static int fail(struct store_pg *s, const char *what, const PGresult *r)
{
	const char *m = r ? PQresultErrorMessage(r) : PQerrorMessage(s->c);
	snprintf(s->errmsg, sizeof s->errmsg, "postgresql %s: %.*s", what, (int)strcspn(m, "\n"), m);
	if (s->in_tx)
		s->failed_tx = 1;
	return DM_ERR_IO;
}

static int exec(struct store_pg *s, const char *sql, const char *what)
{
	PGresult *r = PQexec(s->c, sql);
	int ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
	int rc = ok ? 0 : fail(s, what, r);
	PQclear(r);
	return rc;
}

static PGresult *params(struct store_pg *s, const char *sql, int n, const char *const *v)
{
	return PQexecParams(s->c, sql, n, NULL, v, NULL, NULL, 0);
}

static uint64_t ekey(const struct sig_entity *e)
{
	return (uint64_t)e->kind << 56 | (uint64_t)e->afi << 48 | (uint64_t)(uint8_t)e->cc[0] << 40 |
	       (uint64_t)(uint8_t)e->cc[1] << 32 | e->asn;
}

static int64_t ent_find(const struct store_pg *s, uint64_t k)
{
	for (size_t i = 0; i < s->nents; i++)   /* entities are few per batch; linear is fine here */
		if (s->ents[i].key == k)
			return s->ents[i].id;
	return 0;
}

static int ent_cache(struct store_pg *s, uint64_t k, int64_t id)
{
	if (s->nents == s->capents) {
		size_t cap = s->capents ? s->capents * 2 : 256;
		struct pent *p = realloc(s->ents, cap * sizeof *p);
		if (!p)
			return -1;
		s->ents = p;
		s->capents = cap;
	}
	s->ents[s->nents].key = k;
	s->ents[s->nents++].id = id;
	return 0;
}

/* The entity's id (created when add); 0 when absent and not added, <0 error. */
static int64_t entity_id(struct store_pg *s, const struct sig_entity *e, int add)
{
	uint64_t k = ekey(e);
	int64_t id = ent_find(s, k);
	if (id)
		return id;
	char kind[8], afi[8], cc[3] = { e->cc[0], e->cc[1], 0 }, asn[16];
	snprintf(kind, sizeof kind, "%u", e->kind);
	snprintf(afi, sizeof afi, "%u", e->afi);
	snprintf(asn, sizeof asn, "%u", e->kind == SIG_ASN ? e->asn : 0);
	if (e->kind != SIG_COUNTRY)
		cc[0] = 0;
	const char *v[] = { kind, afi, cc, asn };
	if (add && !s->readonly) {
		PGresult *r = params(s, "INSERT INTO entities (kind, afi, cc, asn) VALUES ($1, $2, $3, $4) "
		                        "ON CONFLICT (kind, afi, cc, asn) DO NOTHING", 4, v);
		int bad = PQresultStatus(r) != PGRES_COMMAND_OK;
		if (bad) {
			fail(s, "entities insert", r);
			PQclear(r);
			return -DM_ERR_IO;
		}
		PQclear(r);
	}
	PGresult *r = params(s, "SELECT id FROM entities WHERE kind = $1 AND afi = $2 AND cc = $3 AND asn = $4", 4, v);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		fail(s, "entities read", r);
		PQclear(r);
		return -DM_ERR_IO;
	}
	id = PQntuples(r) ? strtoll(PQgetvalue(r, 0, 0), NULL, 10) : 0;
	PQclear(r);
	if (id && ent_cache(s, k, id))
		return DM_ERR_NOMEM;
	return id;
}

struct store_pg *pg_open(const char *uri, int readonly, struct dm_error *err)
{
	struct store_pg *s = calloc(1, sizeof *s);
	if (!s) {
		dm_fail(err, DM_ERR_NOMEM, 0, "out of memory");
		return NULL;
	}
	s->readonly = readonly;
	s->c = PQconnectdb(uri);
	if (PQstatus(s->c) != CONNECTION_OK) {
		const char *m = PQerrorMessage(s->c);
		dm_fail(err, DM_ERR_IO, 0, "%s: cannot connect: %.*s", uri, (int)strcspn(m, "\n"), m);
		pg_close(s);
		return NULL;
	}
	/* quiet: NOTICEs of CREATE ... IF NOT EXISTS would go to stderr */
	if (exec(s, "SET client_min_messages = warning", "settings") ||
	    (!readonly && exec(s, pg_schema, "schema")) ||
	    (!readonly && exec(s, "CREATE TEMP TABLE bins_in (LIKE bins) ON COMMIT DELETE ROWS", "bins_in"))) {
		dm_fail(err, DM_ERR_IO, 0, "%s: %s", uri, s->errmsg);
		pg_close(s);
		return NULL;
	}
	return s;
}

void pg_close(struct store_pg *s)
{
	if (!s)
		return;
	if (s->in_tx)
		pg_commit(s);
	PQfinish(s->c);
	free(s->bins);
	free(s->chg);
	free(s->ents);
	free(s);
}

const char *pg_errmsg(const struct store_pg *s) { return s->errmsg; }

static int buf_printf(char **buf, size_t *n, size_t *cap, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int buf_printf(char **buf, size_t *n, size_t *cap, const char *fmt, ...)
{
	for (;;) {
		va_list ap;
		va_start(ap, fmt);
		int w = vsnprintf(*buf ? *buf + *n : NULL, *buf ? *cap - *n : 0, fmt, ap);
		va_end(ap);
		if (w < 0)
			return -1;
		if (*buf && *n + (size_t)w < *cap) {
			*n += (size_t)w;
			return 0;
		}
		size_t c = *cap ? *cap * 2 : 1 << 16;
		while (c < *n + (size_t)w + 1)
			c *= 2;
		char *b = realloc(*buf, c);
		if (!b)
			return -1;
		*buf = b;
		*cap = c;
	}
}

static int copy_in(struct store_pg *s, const char *sql, const char *data, size_t n, const char *what)
{
	PGresult *r = PQexec(s->c, sql);
	if (PQresultStatus(r) != PGRES_COPY_IN) {
		int rc = fail(s, what, r);
		PQclear(r);
		return rc;
	}
	PQclear(r);
	int ok = PQputCopyData(s->c, data, (int)n) == 1;
	ok &= PQputCopyEnd(s->c, ok ? NULL : "write failed") == 1;
	int rc = 0;
	while ((r = PQgetResult(s->c))) {
		if (PQresultStatus(r) != PGRES_COMMAND_OK && !rc)
			rc = fail(s, what, r);
		PQclear(r);
	}
	return ok ? rc : (rc ? rc : fail(s, what, NULL));
}

static int flush(struct store_pg *s)
{
	int rc = 0;
	if (s->nbins) {
		rc = copy_in(s, "COPY bins_in FROM STDIN", s->bins, s->nbins, "bins copy");
		if (!rc)
			rc = exec(s,
			          "INSERT INTO bins SELECT * FROM bins_in ON CONFLICT (entity, t) DO UPDATE SET "
			          "visible_prefixes = EXCLUDED.visible_prefixes, slash24 = EXCLUDED.slash24, "
			          "baseline_slash24 = EXCLUDED.baseline_slash24, peers_seeing = EXCLUDED.peers_seeing, "
			          "full_feed_peers = EXCLUDED.full_feed_peers, peers_up = EXCLUDED.peers_up, "
			          "peer_frac = EXCLUDED.peer_frac, announcements = EXCLUDED.announcements, "
			          "withdrawals = EXCLUDED.withdrawals, interruptions = EXCLUDED.interruptions, "
			          "more_specifics = EXCLUDED.more_specifics, quality = EXCLUDED.quality, "
			          "ff_joined = EXCLUDED.ff_joined, ff_left = EXCLUDED.ff_left; TRUNCATE bins_in",
			          "bins insert");
		s->nbins = 0;
		if (!rc && s->series_end > s->series_end_saved) {
			char se[24];
			snprintf(se, sizeof se, "%lld", (long long)s->series_end);
			const char *v[] = { se };
			/* never backwards: a bin put again, or a writer behind another, leaves it */
			PGresult *r = params(s,
			                     "INSERT INTO meta VALUES ('series_end', $1) ON CONFLICT (key) DO UPDATE SET value = "
			                     "greatest(meta.value::bigint, EXCLUDED.value::bigint)::text",
			                     1, v);
			rc = PQresultStatus(r) == PGRES_COMMAND_OK ? 0 : fail(s, "series_end", r);
			PQclear(r);
			if (!rc)
				s->series_end_saved = s->series_end;
		}
	}
	if (!rc && s->nchg) {
		rc = copy_in(s,
		             "COPY vis_changes (t, afi, prefix, visible, covered, cc, origin, upstream, units, peers_before, "
		             "full_feed_peers, peer_asn, peer, collector, countries) FROM STDIN",
		             s->chg, s->nchg, "vis_changes copy");
		s->nchg = 0;
	}
	return rc;
}

/* meta "data_version" counts the commits that wrote, as SQLite's PRAGMA data_version tells a
 * reader (serve, src/http/db.c) that another connection committed: in the same transaction as
 * the rows, so a reader that sees the new value sees them. */
static int bump(struct store_pg *s)
{
	s->dirty = 0;
	return exec(s,
	            "INSERT INTO meta VALUES ('data_version', '1') ON CONFLICT (key) DO UPDATE SET value = "
	            "(meta.value::bigint + 1)::text",
	            "data_version");
}

/* After a write: bumped now outside a transaction, at commit inside one. */
static int wrote(struct store_pg *s, int rc)
{
	if (rc)
		return rc;
	if (s->in_tx) {
		s->dirty = 1;
		return 0;
	}
	return bump(s);
}

int pg_begin(struct store_pg *s)
{
	if (s->in_tx)
		return 0;
	s->failed_tx = 0;
	int rc = exec(s, "BEGIN", "begin");
	s->in_tx = !rc;
	return rc;
}

int pg_commit(struct store_pg *s)
{
	int rc = flush(s);
	if (!s->in_tx)
		return rc;
	s->in_tx = 0;
	if (!rc && !s->failed_tx && s->dirty)
		rc = bump(s);
	if (rc || s->failed_tx) {
		exec(s, "ROLLBACK", "rollback");
		return rc ? rc : DM_ERR_IO;
	}
	return exec(s, "COMMIT", "commit");
}

int pg_put_bin(struct store_pg *s, const struct sig_entity *e, const struct sig_bin *b)
{
	int64_t id = entity_id(s, e, 1);
	if (id <= 0)
		return id < 0 ? (int)id : DM_ERR_IO;
	if (s->bin && b->t + (int64_t)s->bin > s->series_end)
		s->series_end = b->t + (int64_t)s->bin;
	/* %.9g: a float's every digit, read back to the same float */
	if (buf_printf(&s->bins, &s->nbins, &s->capbins,
	               "%lld\t%lld\t%llu\t%llu\t%llu\t%u\t%u\t%u\t%.9g\t%u\t%u\t%u\t%u\t%u\t%u\t%u\n", (long long)id,
	               (long long)b->t, (unsigned long long)b->visible_prefixes, (unsigned long long)b->slash24,
	               (unsigned long long)b->baseline_slash24, b->peers_seeing, b->full_feed_peers, b->peers_up,
	               (double)b->peer_frac, b->announcements, b->withdrawals, b->interruptions, b->more_specifics,
	               b->quality, b->ff_joined, b->ff_left))
		return DM_ERR_NOMEM;
	if (s->nbins > (32u << 20))
		return wrote(s, flush(s));
	return wrote(s, s->in_tx ? 0 : flush(s));
}

/* COPY text: a tab, newline or backslash in a value escaped. */
static void copy_text(char *out, size_t n, const char *in)
{
	size_t k = 0;
	for (; *in && k + 3 < n; in++) {
		if (*in == '\t' || *in == '\n' || *in == '\\' || *in == '\r') {
			out[k++] = '\\';
			out[k++] = *in == '\t' ? 't' : *in == '\n' ? 'n' : *in == '\r' ? 'r' : '\\';
		} else {
			out[k++] = *in;
		}
	}
	out[k] = 0;
}

int pg_put_change(struct store_pg *s, const struct sig_change *c)
{
	char pfx[DM_PREFIX_STRLEN], ip[DM_IP_STRLEN], col[80], cs[200];
	dm_prefix_fmt(&c->prefix, pfx);
	if (c->peer_addr.afi)
		dm_ip_fmt(&c->peer_addr, ip);
	else
		ip[0] = 0;
	char cc[3] = { c->cc[0], c->cc[1], 0 };
	copy_text(col, sizeof col, c->collector);
	copy_text(cs, sizeof cs, c->countries);
	if (buf_printf(&s->chg, &s->nchg, &s->capchg, "%lld\t%u\t%s\t%u\t%u\t%s\t%u\t%u\t%llu\t%u\t%u\t%u\t%s\t%s\t%s\n",
	               (long long)c->t, c->prefix.afi, pfx, c->visible, c->covered, cc, c->origin_asn, c->upstream_asn,
	               (unsigned long long)c->units, c->peers_before, c->full_feed_peers, c->peer_asn, ip, col, cs))
		return DM_ERR_NOMEM;
	return wrote(s, s->in_tx ? 0 : flush(s));
}

int pg_get_changes(struct store_pg *s, int64_t from, int64_t to, const struct sig_entity *e, struct sig_change **out,
                   size_t *n)
{
	*out = NULL;
	*n = 0;
	int rc = flush(s);
	if (rc)
		return rc;
	char f[24], t[24], afi[8], cc[3] = { 0 }, asn[16];
	snprintf(f, sizeof f, "%lld", (long long)from);
	snprintf(t, sizeof t, "%lld", (long long)to);
	snprintf(afi, sizeof afi, "%u", e ? e->afi : 0);
	if (e && e->kind == SIG_COUNTRY) {
		cc[0] = e->cc[0];
		cc[1] = e->cc[1];
	}
	snprintf(asn, sizeof asn, "%u", e && e->kind == SIG_ASN ? e->asn : 0);
	const char *v[] = { f, t, afi, cc, asn };
	PGresult *r = params(s,
	                     "SELECT t, afi, prefix, visible, covered, cc, origin, upstream, units, peers_before, "
	                     "full_feed_peers, peer_asn, peer, collector, countries FROM vis_changes WHERE t >= $1 "
	                     "AND t < $2 AND ($3::int = 0 OR afi = $3::int) AND ($4 = '' OR cc = $4 OR "
	                     "strpos(',' || countries, ',' || $4 || ':') > 0) AND ($5::bigint = 0 OR origin = "
	                     "$5::bigint) ORDER BY t, id",
	                     5, v);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		rc = fail(s, "vis_changes read", r);
		PQclear(r);
		return rc;
	}
	int rows = PQntuples(r);
	struct sig_change *x = calloc(rows ? (size_t)rows : 1, sizeof *x);
	if (!x) {
		PQclear(r);
		return DM_ERR_NOMEM;
	}
	for (int i = 0; i < rows; i++) {
		struct sig_change *c = &x[i];
		c->t = strtoll(PQgetvalue(r, i, 0), NULL, 10);
		if (dm_prefix_parse(PQgetvalue(r, i, 2), &c->prefix))
			c->prefix.afi = (uint8_t)atoi(PQgetvalue(r, i, 1));
		c->visible = (uint8_t)atoi(PQgetvalue(r, i, 3));
		c->covered = (uint8_t)atoi(PQgetvalue(r, i, 4));
		const char *ccv = PQgetvalue(r, i, 5);
		if (ccv[0]) {
			c->cc[0] = ccv[0];
			c->cc[1] = ccv[1];
		}
		c->origin_asn = (uint32_t)strtoul(PQgetvalue(r, i, 6), NULL, 10);
		c->upstream_asn = (uint32_t)strtoul(PQgetvalue(r, i, 7), NULL, 10);
		c->units = strtoull(PQgetvalue(r, i, 8), NULL, 10);
		c->peers_before = (uint16_t)atoi(PQgetvalue(r, i, 9));
		c->full_feed_peers = (uint16_t)atoi(PQgetvalue(r, i, 10));
		c->peer_asn = (uint32_t)strtoul(PQgetvalue(r, i, 11), NULL, 10);
		if (PQgetvalue(r, i, 12)[0])
			dm_ip_parse(PQgetvalue(r, i, 12), &c->peer_addr);
		snprintf(c->collector, sizeof c->collector, "%s", PQgetvalue(r, i, 13));
		snprintf(c->countries, sizeof c->countries, "%s", PQgetvalue(r, i, 14));
	}
	PQclear(r);
	*out = x;
	*n = (size_t)rows;
	return 0;
}

int pg_put_event(struct store_pg *s, const struct dm_event *ev)
{
	int rc = flush(s);
	if (rc)
		return rc;
	int64_t id = entity_id(s, &ev->entity, 1);
	if (id <= 0)
		return id < 0 ? (int)id : DM_ERR_IO;
	char a[21][32];
	snprintf(a[0], 32, "%lld", (long long)id);
	snprintf(a[1], 32, "%u", ev->type);
	snprintf(a[2], 32, "%lld", (long long)ev->start);
	snprintf(a[3], 32, "%lld", (long long)ev->end);
	snprintf(a[4], 32, "%.17g", ev->severity);
	snprintf(a[5], 32, "%llu", (unsigned long long)ev->baseline_slash24);
	snprintf(a[6], 32, "%llu", (unsigned long long)ev->slash24);
	snprintf(a[7], 32, "%u", ev->peers_lost);
	snprintf(a[8], 32, "%u", ev->full_feed_peers);
	snprintf(a[9], 32, "%.17g", ev->rate);
	snprintf(a[10], 32, "%.17g", ev->baseline_rate);
	snprintf(a[11], 32, "%u", ev->quality);
	snprintf(a[14], 32, "%u", ev->of_type);
	snprintf(a[15], 32, "%lld", (long long)ev->raised);
	snprintf(a[16], 32, "%u", ev->window);
	snprintf(a[17], 32, "%u", ev->interruptions);
	snprintf(a[18], 32, "%lld", (long long)ev->episode_start);
	snprintf(a[19], 32, "%lld", (long long)ev->prev_start);
	char aff[sizeof ev->affected + 1], why[sizeof ev->reason + 1], evi[sizeof ev->evidence + 1];
	snprintf(aff, sizeof aff, "%.*s", (int)sizeof ev->affected, ev->affected);
	snprintf(why, sizeof why, "%.*s", (int)sizeof ev->reason, ev->reason);
	snprintf(evi, sizeof evi, "%.*s", (int)sizeof ev->evidence, ev->evidence);
	const char *v[21];
	for (int i = 0; i < 21; i++)
		v[i] = a[i];
	v[12] = aff;
	v[13] = why;
	v[20] = evi;
	PGresult *r = params(s,
	                     "INSERT INTO events (entity, type, start_t, end_t, severity, baseline_slash24, slash24, "
	                     "peers_lost, full_feed_peers, rate, baseline_rate, quality, affected, reason, of_type, "
	                     "raised_t, window_s, interruptions, episode_start, prev_start, evidence) VALUES ($1, $2, "
	                     "$3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21) "
	                     "ON CONFLICT (entity, type, start_t) DO UPDATE SET end_t = EXCLUDED.end_t, severity = "
	                     "EXCLUDED.severity, baseline_slash24 = EXCLUDED.baseline_slash24, slash24 = "
	                     "EXCLUDED.slash24, peers_lost = EXCLUDED.peers_lost, full_feed_peers = "
	                     "EXCLUDED.full_feed_peers, rate = EXCLUDED.rate, baseline_rate = EXCLUDED.baseline_rate, "
	                     "quality = EXCLUDED.quality, affected = EXCLUDED.affected, reason = EXCLUDED.reason, "
	                     "of_type = EXCLUDED.of_type, raised_t = EXCLUDED.raised_t, window_s = EXCLUDED.window_s, "
	                     "interruptions = EXCLUDED.interruptions, episode_start = EXCLUDED.episode_start, "
	                     "prev_start = EXCLUDED.prev_start, evidence = EXCLUDED.evidence",
	                     21, v);
	rc = PQresultStatus(r) == PGRES_COMMAND_OK ? 0 : fail(s, "events insert", r);
	PQclear(r);
	/* closing the event it ends, as store.c does (docs/detect.md) */
	int closes_level = ev->of_type == DM_EV_OUTAGE || ev->of_type == DM_EV_PARTIAL || ev->of_type == 0;
	int64_t at = ev->type == DM_EV_RECOVERY || ev->type == DM_EV_NEWNORMAL ? ev->end
	             : (ev->type == DM_EV_OUTAGE || ev->type == DM_EV_PARTIAL) && ev->of_type && ev->prev_start ? ev->start
	                                                                                                         : 0;
	if (rc || !closes_level || !at)
		return wrote(s, rc);
	char st[32], en[32];
	snprintf(st, sizeof st, "%lld", (long long)(ev->prev_start ? ev->prev_start : ev->start));
	snprintf(en, sizeof en, "%lld", (long long)at);
	const char *w[] = { a[0], a[14], st, en };
	r = params(s,
	           "UPDATE events SET end_t = $4 WHERE entity = $1 AND start_t = $3 AND end_t = 0 AND "
	           "(type = $2::int OR ($2::int = 0 AND type IN (1, 2)))",
	           4, w);
	rc = PQresultStatus(r) == PGRES_COMMAND_OK ? 0 : fail(s, "closing the ended event", r);
	PQclear(r);
	return wrote(s, rc);
}

int pg_put_meta(struct store_pg *s, const char *key, const char *value)
{
	const char *v[] = { key, value };
	PGresult *r = params(s, "INSERT INTO meta VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
	                     2, v);
	int rc = PQresultStatus(r) == PGRES_COMMAND_OK ? 0 : fail(s, "meta", r);
	PQclear(r);
	return rc;
}

int pg_get_meta(struct store_pg *s, const char *key, char *buf, size_t len)
{
	const char *v[] = { key };
	PGresult *r = params(s, "SELECT value FROM meta WHERE key = $1", 1, v);
	int rc;
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		rc = fail(s, "meta read", r);
	else if (!PQntuples(r))
		rc = 1;
	else {
		snprintf(buf, len, "%s", PQgetvalue(r, 0, 0));
		rc = 0;
	}
	PQclear(r);
	return rc;
}

int pg_set_bin(struct store_pg *s, uint32_t bin)
{
	char b[16];
	snprintf(b, sizeof b, "%u", bin);
	s->bin = bin;
	return pg_put_meta(s, "bin", b);
}

int pg_put_entity_name(struct store_pg *s, const struct sig_entity *e, const char *name)
{
	int64_t id = entity_id(s, e, 1);
	if (id <= 0)
		return id < 0 ? (int)id : DM_ERR_IO;
	char ids[24];
	snprintf(ids, sizeof ids, "%lld", (long long)id);
	const char *v[] = { name, ids };
	PGresult *r = params(s, "UPDATE entities SET name = $1 WHERE id = $2", 2, v);
	int rc = PQresultStatus(r) == PGRES_COMMAND_OK ? 0 : fail(s, "entity name", r);
	PQclear(r);
	return rc;
}

int pg_get_entity_name(struct store_pg *s, const struct sig_entity *e, char *buf, size_t len)
{
	int64_t id = entity_id(s, e, 0);
	if (id <= 0)
		return id < 0 ? (int)id : 1;
	char ids[24];
	snprintf(ids, sizeof ids, "%lld", (long long)id);
	const char *v[] = { ids };
	PGresult *r = params(s, "SELECT name FROM entities WHERE id = $1 AND name IS NOT NULL", 1, v);
	int rc = PQresultStatus(r) != PGRES_TUPLES_OK ? fail(s, "entity name read", r) : PQntuples(r) ? 0 : 1;
	if (!rc)
		snprintf(buf, len, "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	return rc;
}

int pg_get_bins(struct store_pg *s, const struct sig_entity *e, int64_t from, int64_t to, struct sig_bin **out,
                size_t *n)
{
	*out = NULL;
	*n = 0;
	int rc = flush(s);
	if (rc)
		return rc;
	int64_t id = entity_id(s, e, 0);
	if (id <= 0)
		return id < 0 ? (int)id : 0;
	char a[3][24];
	snprintf(a[0], 24, "%lld", (long long)id);
	snprintf(a[1], 24, "%lld", (long long)from);
	snprintf(a[2], 24, "%lld", (long long)to);
	const char *v[] = { a[0], a[1], a[2] };
	PGresult *r = params(s,
	                     "SELECT t, visible_prefixes, slash24, baseline_slash24, peers_seeing, full_feed_peers, "
	                     "peers_up, peer_frac, announcements, withdrawals, interruptions, more_specifics, quality, "
	                     "ff_joined, ff_left FROM bins WHERE entity = $1 AND t >= $2 AND t < $3 ORDER BY t",
	                     3, v);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		rc = fail(s, "bins read", r);
		PQclear(r);
		return rc;
	}
	int rows = PQntuples(r);
	struct sig_bin *b = calloc(rows ? (size_t)rows : 1, sizeof *b);
	if (!b) {
		PQclear(r);
		return DM_ERR_NOMEM;
	}
	for (int i = 0; i < rows; i++) {
		b[i].t = strtoll(PQgetvalue(r, i, 0), NULL, 10);
		b[i].visible_prefixes = strtoull(PQgetvalue(r, i, 1), NULL, 10);
		b[i].slash24 = strtoull(PQgetvalue(r, i, 2), NULL, 10);
		b[i].baseline_slash24 = strtoull(PQgetvalue(r, i, 3), NULL, 10);
		b[i].peers_seeing = (uint16_t)atoi(PQgetvalue(r, i, 4));
		b[i].full_feed_peers = (uint16_t)atoi(PQgetvalue(r, i, 5));
		b[i].peers_up = (uint16_t)atoi(PQgetvalue(r, i, 6));
		b[i].peer_frac = (float)strtod(PQgetvalue(r, i, 7), NULL);
		b[i].announcements = (uint32_t)strtoul(PQgetvalue(r, i, 8), NULL, 10);
		b[i].withdrawals = (uint32_t)strtoul(PQgetvalue(r, i, 9), NULL, 10);
		b[i].interruptions = (uint32_t)strtoul(PQgetvalue(r, i, 10), NULL, 10);
		b[i].more_specifics = (uint32_t)strtoul(PQgetvalue(r, i, 11), NULL, 10);
		b[i].quality = (uint8_t)atoi(PQgetvalue(r, i, 12));
		b[i].ff_joined = (uint16_t)atoi(PQgetvalue(r, i, 13));
		b[i].ff_left = (uint16_t)atoi(PQgetvalue(r, i, 14));
	}
	PQclear(r);
	*out = b;
	*n = (size_t)rows;
	return 0;
}

int pg_get_events(struct store_pg *s, const struct sig_entity *e, int64_t from, int64_t to, struct dm_event **out,
                  size_t *n)
{
	*out = NULL;
	*n = 0;
	int rc = flush(s);
	if (rc)
		return rc;
	int64_t id = e ? entity_id(s, e, 0) : 0;
	if (e && id <= 0)
		return id < 0 ? (int)id : 0;
	char a[3][24];
	snprintf(a[0], 24, "%lld", (long long)id);
	snprintf(a[1], 24, "%lld", (long long)from);
	snprintf(a[2], 24, "%lld", (long long)to);
	const char *v[] = { a[0], a[1], a[2] };
	PGresult *r = params(s,
	                     "SELECT k.kind, k.afi, k.cc, k.asn, e.type, e.start_t, e.end_t, e.severity, "
	                     "e.baseline_slash24, e.slash24, e.peers_lost, e.full_feed_peers, e.rate, e.baseline_rate, "
	                     "e.quality, e.affected, e.reason, e.of_type, e.raised_t, e.window_s, e.interruptions, "
	                     "e.episode_start, e.prev_start, e.evidence FROM events e JOIN entities k ON k.id = "
	                     "e.entity WHERE ($1::bigint = 0 OR e.entity = $1::bigint) AND e.start_t < $3 AND "
	                     "(e.end_t > $2 OR e.end_t = 0 OR e.start_t >= $2) ORDER BY e.start_t, e.type",
	                     3, v);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		rc = fail(s, "events read", r);
		PQclear(r);
		return rc;
	}
	int rows = PQntuples(r);
	struct dm_event *x = calloc(rows ? (size_t)rows : 1, sizeof *x);
	if (!x) {
		PQclear(r);
		return DM_ERR_NOMEM;
	}
	for (int i = 0; i < rows; i++) {
		struct dm_event *ev = &x[i];
		ev->entity.kind = (uint8_t)atoi(PQgetvalue(r, i, 0));
		ev->entity.afi = (uint8_t)atoi(PQgetvalue(r, i, 1));
		snprintf(ev->entity.cc, sizeof ev->entity.cc, "%s", PQgetvalue(r, i, 2));
		ev->entity.asn = (uint32_t)strtoul(PQgetvalue(r, i, 3), NULL, 10);
		ev->type = (uint8_t)atoi(PQgetvalue(r, i, 4));
		ev->start = strtoll(PQgetvalue(r, i, 5), NULL, 10);
		ev->end = strtoll(PQgetvalue(r, i, 6), NULL, 10);
		ev->severity = strtod(PQgetvalue(r, i, 7), NULL);
		ev->baseline_slash24 = strtoull(PQgetvalue(r, i, 8), NULL, 10);
		ev->slash24 = strtoull(PQgetvalue(r, i, 9), NULL, 10);
		ev->peers_lost = (uint16_t)atoi(PQgetvalue(r, i, 10));
		ev->full_feed_peers = (uint16_t)atoi(PQgetvalue(r, i, 11));
		ev->rate = strtod(PQgetvalue(r, i, 12), NULL);
		ev->baseline_rate = strtod(PQgetvalue(r, i, 13), NULL);
		ev->quality = (uint8_t)atoi(PQgetvalue(r, i, 14));
		snprintf(ev->affected, sizeof ev->affected, "%s", PQgetvalue(r, i, 15));
		snprintf(ev->reason, sizeof ev->reason, "%s", PQgetvalue(r, i, 16));
		ev->of_type = (uint8_t)atoi(PQgetvalue(r, i, 17));
		ev->raised = strtoll(PQgetvalue(r, i, 18), NULL, 10);
		ev->window = (uint32_t)strtoul(PQgetvalue(r, i, 19), NULL, 10);
		ev->interruptions = (uint32_t)strtoul(PQgetvalue(r, i, 20), NULL, 10);
		ev->episode_start = strtoll(PQgetvalue(r, i, 21), NULL, 10);
		ev->prev_start = strtoll(PQgetvalue(r, i, 22), NULL, 10);
		snprintf(ev->evidence, sizeof ev->evidence, "%s", PQgetvalue(r, i, 23));
	}
	PQclear(r);
	*out = x;
	*n = (size_t)rows;
	return 0;
}

int pg_list_entities(struct store_pg *s, struct sig_entity **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	int rc = flush(s);
	if (rc)
		return rc;
	PGresult *r = PQexec(s->c, "SELECT kind, afi, cc, asn FROM entities ORDER BY kind, afi, cc, asn");
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		rc = fail(s, "entity list", r);
		PQclear(r);
		return rc;
	}
	int rows = PQntuples(r);
	struct sig_entity *x = calloc(rows ? (size_t)rows : 1, sizeof *x);
	if (!x) {
		PQclear(r);
		return DM_ERR_NOMEM;
	}
	for (int i = 0; i < rows; i++) {
		x[i].kind = (uint8_t)atoi(PQgetvalue(r, i, 0));
		x[i].afi = (uint8_t)atoi(PQgetvalue(r, i, 1));
		snprintf(x[i].cc, sizeof x[i].cc, "%s", PQgetvalue(r, i, 2));
		x[i].asn = (uint32_t)strtoul(PQgetvalue(r, i, 3), NULL, 10);
	}
	PQclear(r);
	*out = x;
	*n = (size_t)rows;
	return 0;
}

int pg_bin_extent(struct store_pg *s, const struct sig_entity *e, int64_t *first, int64_t *last)
{
	*first = *last = 0;
	int rc = flush(s);
	if (rc)
		return rc;
	int64_t id = entity_id(s, e, 0);
	if (id <= 0)
		return id < 0 ? (int)id : 1;
	char ids[24];
	snprintf(ids, sizeof ids, "%lld", (long long)id);
	const char *v[] = { ids };
	PGresult *r = params(s, "SELECT min(t), max(t) FROM bins WHERE entity = $1", 1, v);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		rc = fail(s, "bins extent", r);
		PQclear(r);
		return rc;
	}
	rc = PQgetisnull(r, 0, 0) ? 1 : 0;
	if (!rc) {
		*first = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
		*last = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
	}
	PQclear(r);
	return rc;
}
