/* SQLite persistence: one file, WAL mode, prepared statements, an in-memory entity-id cache so
 * a bin insert is one bind+step on a clustered (entity, t) B-tree. Schema: docs/plot.md. */
#include "store/store.h"
#include "store/store_pg.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

/* The schema, exactly as created; docs/plot.md reproduces it. bins is WITHOUT ROWID so rows
 * are stored in (entity, t) order: a range read for one entity is one sequential B-tree walk. */
static const char schema_sql[] =
	"CREATE TABLE meta (\n"
	"  key   TEXT PRIMARY KEY,\n"
	"  value TEXT NOT NULL\n"
	");\n"
	"CREATE TABLE entities (\n"
	"  id   INTEGER PRIMARY KEY,\n"
	"  kind INTEGER NOT NULL,            -- 1 country, 2 origin AS, 3 global\n"
	"  afi  INTEGER NOT NULL,            -- 1 IPv4, 2 IPv6\n"
	"  cc   TEXT    NOT NULL DEFAULT '', -- ISO 3166 alpha-2 (kind 1), else ''\n"
	"  asn  INTEGER NOT NULL DEFAULT 0,  -- AS number (kind 2), else 0\n"
	"  name TEXT,                        -- human name, NULL when unknown\n"
	"  UNIQUE (kind, afi, cc, asn)\n"
	");\n"
	"CREATE TABLE bins (\n"
	"  entity           INTEGER NOT NULL REFERENCES entities(id),\n"
	"  t                INTEGER NOT NULL, -- bin start, UTC unix seconds\n"
	"  visible_prefixes INTEGER NOT NULL,\n"
	"  slash24          INTEGER NOT NULL, -- visible /24 (IPv6: /48) equivalents\n"
	"  baseline_slash24 INTEGER NOT NULL,\n"
	"  peers_seeing     INTEGER NOT NULL, -- full-feed peers seeing >= 1 prefix\n"
	"  full_feed_peers  INTEGER NOT NULL,\n"
	"  peers_up         INTEGER NOT NULL,\n"
	"  peer_frac        REAL    NOT NULL, -- mean over full-feed peers of seen/baseline /24s\n"
	"  announcements    INTEGER NOT NULL,\n"
	"  withdrawals      INTEGER NOT NULL,\n"
	"  interruptions    INTEGER NOT NULL,\n"
	"  more_specifics   INTEGER NOT NULL,\n"
	"  quality          INTEGER NOT NULL, -- sig_quality flags: 1 gap, 2 peers dropped, 4 no data,\n"
	"                                     -- 8 full-feed set changed\n"
	"  ff_joined        INTEGER NOT NULL DEFAULT 0, -- peers that joined the full-feed set\n"
	"  ff_left          INTEGER NOT NULL DEFAULT 0, -- peers that left it (table size)\n"
	"  PRIMARY KEY (entity, t)\n"
	") WITHOUT ROWID;\n"
	"CREATE TABLE events (\n"
	"  id               INTEGER PRIMARY KEY,\n"
	"  entity           INTEGER NOT NULL REFERENCES entities(id),\n"
	"  type             INTEGER NOT NULL, -- 1 outage, 2 partial, 3 recovery, 4 instability, 5 unknown, 6 newnormal\n"
	"  start_t          INTEGER NOT NULL, -- UTC unix seconds\n"
	"  end_t            INTEGER NOT NULL, -- UTC unix seconds; 0 while ongoing\n"
	"  severity         REAL    NOT NULL, -- 0..1\n"
	"  baseline_slash24 INTEGER NOT NULL,\n"
	"  slash24          INTEGER NOT NULL,\n"
	"  peers_lost       INTEGER NOT NULL,\n"
	"  full_feed_peers  INTEGER NOT NULL,\n"
	"  rate             REAL    NOT NULL, -- interruptions/hour (instability)\n"
	"  baseline_rate    REAL    NOT NULL,\n"
	"  quality          INTEGER NOT NULL,\n"
	"  affected         TEXT    NOT NULL,\n"
	"  reason           TEXT    NOT NULL,\n"
	"  of_type          INTEGER NOT NULL DEFAULT 0, -- recovery: the type it ends (1 or 2)\n"
	"  raised_t         INTEGER NOT NULL DEFAULT 0, -- start of the bin that raised it, UTC s\n"
	"  window_s         INTEGER NOT NULL DEFAULT 0, -- instability: sliding window, seconds\n"
	"  interruptions    INTEGER NOT NULL DEFAULT 0, -- instability: interruptions in the window\n"
	"  episode_start    INTEGER NOT NULL DEFAULT 0, -- first bin of the whole (staged) episode\n"
	"  prev_start       INTEGER NOT NULL DEFAULT 0, -- start of the event this one closes\n"
	"  evidence         TEXT    NOT NULL DEFAULT '', -- origin ASes, upstream, mapping notes\n"
	"  UNIQUE (entity, type, start_t)\n"
	");\n"
	"CREATE INDEX events_by_entity_time ON events (entity, start_t);\n"
	"CREATE INDEX events_by_time ON events (start_t);\n"
	"CREATE TABLE vis_changes (\n"
	"  t               INTEGER NOT NULL, -- the element's time, UTC unix seconds\n"
	"  afi             INTEGER NOT NULL, -- 1 IPv4, 2 IPv6\n"
	"  prefix          TEXT    NOT NULL,\n"
	"  visible         INTEGER NOT NULL, -- 1 became visible, 0 lost\n"
	"  covered         INTEGER NOT NULL, -- 1: a visible less-specific still covers it\n"
	"  cc              TEXT    NOT NULL, -- country with the largest share of its addresses\n"
	"  origin          INTEGER NOT NULL, -- origin AS of the path of the peer below\n"
	"  upstream        INTEGER NOT NULL, -- AS before the origin in that path, 0 none\n"
	"  units           INTEGER NOT NULL, -- /24s (IPv6 /48s) of the prefix, 0 when longer\n"
	"  peers_before    INTEGER NOT NULL, -- full-feed peers holding it just before\n"
	"  full_feed_peers INTEGER NOT NULL,\n"
	"  peer_asn        INTEGER NOT NULL, -- the full-feed peer whose element made the change\n"
	"  peer            TEXT    NOT NULL, -- its address\n"
	"  collector       TEXT    NOT NULL,\n"
	"  countries       TEXT    NOT NULL DEFAULT '' -- every country's /24s (/48s): 'CN:192,HK:64'\n"
	");\n"
	"CREATE INDEX vis_changes_by_time ON vis_changes (t);\n"
	"CREATE INDEX vis_changes_by_cc ON vis_changes (cc, t);\n"
	"CREATE INDEX vis_changes_by_origin ON vis_changes (origin, t);\n"
	"CREATE VIEW entity_labels AS\n"
	"  SELECT id, CASE kind WHEN 1 THEN cc WHEN 2 THEN 'AS' || asn ELSE 'global' END\n"
	"         || CASE afi WHEN 2 THEN '/v6' ELSE '' END AS label, name FROM entities;\n"
	"CREATE VIEW bins_view AS\n"
	"  SELECT l.label, datetime(b.t, 'unixepoch') AS utc, b.* FROM bins b\n"
	"  JOIN entity_labels l ON l.id = b.entity;\n"
	"CREATE VIEW events_view AS\n"
	"  SELECT l.label,\n"
	"         CASE e.type WHEN 1 THEN 'outage' WHEN 2 THEN 'partial' WHEN 3 THEN 'recovery'\n"
	"                     WHEN 4 THEN 'instability' WHEN 5 THEN 'unknown' WHEN 6 THEN 'newnormal'\n"
	"                     ELSE 'other' END AS kind,\n"
	"         datetime(e.start_t, 'unixepoch') AS start_utc,\n"
	"         CASE e.end_t WHEN 0 THEN NULL ELSE datetime(e.end_t, 'unixepoch') END AS end_utc,\n"
	"         e.* FROM events e JOIN entity_labels l ON l.id = e.entity;\n";

const char *store_schema_sql(void)
{
	return schema_sql;
}

enum stmt_id {
	ST_INS_BIN,
	ST_SEL_BINS,
	ST_SEL_PREV_BIN,
	ST_INS_EVENT,
	ST_CLOSE_EVENT,
	ST_SEL_EVENTS_ENTITY,
	ST_SEL_EVENTS_ALL,
	ST_INS_META,
	ST_SEL_META,
	ST_SEL_ENTITY,
	ST_INS_ENTITY,
	ST_UPD_NAME,
	ST_SEL_NAME,
	ST_EXTENT,
	ST_INS_CHANGE,
	ST_SEL_CHANGES,
	ST_BEGIN,
	ST_COMMIT,
	ST_COUNT_
};

#define EVENT_COLS                                                                              \
	"k.kind, k.afi, k.cc, k.asn, e.type, e.start_t, e.end_t, e.severity, e.baseline_slash24, " \
	"e.slash24, e.peers_lost, e.full_feed_peers, e.rate, e.baseline_rate, e.quality, "         \
	"e.affected, e.reason, e.of_type, e.raised_t, e.window_s, e.interruptions, "                 \
	"e.episode_start, e.prev_start, e.evidence"
#define EVENT_OVERLAP "e.start_t < ?3 AND (e.end_t > ?2 OR e.end_t = 0 OR e.start_t >= ?2)"

static const char *const stmt_sql[ST_COUNT_] = {
	[ST_INS_BIN] = "INSERT OR REPLACE INTO bins (entity, t, visible_prefixes, slash24, "
	               "baseline_slash24, peers_seeing, full_feed_peers, peers_up, peer_frac, "
	               "announcements, withdrawals, interruptions, more_specifics, quality, ff_joined, "
	               "ff_left) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, "
	               "?15, ?16)",
	[ST_SEL_BINS] = "SELECT t, visible_prefixes, slash24, baseline_slash24, peers_seeing, "
	                "full_feed_peers, peers_up, peer_frac, announcements, withdrawals, "
	                "interruptions, more_specifics, quality, ff_joined, ff_left FROM bins "
	                "WHERE entity = ?1 AND t >= ?2 AND t < ?3 ORDER BY t",
	[ST_SEL_PREV_BIN] = "SELECT t, visible_prefixes, slash24, baseline_slash24, peers_seeing, "
	                    "full_feed_peers, peers_up, peer_frac, announcements, withdrawals, interruptions, "
	                    "more_specifics, quality, ff_joined, ff_left FROM bins WHERE entity = ?1 AND t < ?2 "
	                    "ORDER BY t DESC LIMIT 1",
	[ST_INS_EVENT] = "INSERT OR REPLACE INTO events (entity, type, start_t, end_t, severity, "
	                 "baseline_slash24, slash24, peers_lost, full_feed_peers, rate, "
	                 "baseline_rate, quality, affected, reason, of_type, raised_t, window_s, "
	                 "interruptions, episode_start, prev_start, evidence) VALUES (?1, ?2, ?3, ?4, ?5, "
	                 "?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21)",
	/* docs/detect.md: an outage opens with end 0 and is closed by a recovery (or an escalation,
	 * de-escalation or new normal) naming its start; the open row gets the closing time so
	 * range reads see it ended. */
	[ST_CLOSE_EVENT] = "UPDATE events SET end_t = ?4 WHERE entity = ?1 AND start_t = ?3 AND "
	                   "end_t = 0 AND (type = ?2 OR (?2 = 0 AND type IN (1, 2)))",
	[ST_SEL_EVENTS_ENTITY] = "SELECT " EVENT_COLS " FROM events e JOIN entities k ON k.id = "
	                         "e.entity WHERE e.entity = ?1 AND " EVENT_OVERLAP
	                         " ORDER BY e.start_t, e.type",
	[ST_SEL_EVENTS_ALL] = "SELECT " EVENT_COLS " FROM events e JOIN entities k ON k.id = "
	                      "e.entity WHERE ?1 = ?1 AND " EVENT_OVERLAP
	                      " ORDER BY e.start_t, e.type, e.entity",
	[ST_INS_META] = "INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)",
	[ST_SEL_META] = "SELECT value FROM meta WHERE key = ?1",
	[ST_SEL_ENTITY] = "SELECT id FROM entities WHERE kind = ?1 AND afi = ?2 AND cc = ?3 AND "
	                  "asn = ?4",
	[ST_INS_ENTITY] = "INSERT OR IGNORE INTO entities (kind, afi, cc, asn) VALUES (?1, ?2, ?3, ?4)",
	[ST_UPD_NAME] = "UPDATE entities SET name = ?2 WHERE id = ?1",
	[ST_SEL_NAME] = "SELECT name FROM entities WHERE id = ?1",
	[ST_EXTENT] = "SELECT min(t), max(t) FROM bins WHERE entity = ?1",
	[ST_INS_CHANGE] = "INSERT INTO vis_changes (t, afi, prefix, visible, covered, cc, origin, "
	                  "upstream, units, peers_before, full_feed_peers, peer_asn, peer, collector, "
	                  "countries) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, "
	                  "?14, ?15)",
	/* ?3: 0 any family, ?4: '' any country (else: the country has a share), ?5: 0 any origin */
	[ST_SEL_CHANGES] = "SELECT t, afi, prefix, visible, covered, cc, origin, upstream, units, "
	                   "peers_before, full_feed_peers, peer_asn, peer, collector, countries FROM "
	                   "vis_changes WHERE t >= ?1 AND t < ?2 AND (?3 = 0 OR afi = ?3) AND (?4 = '' "
	                   "OR cc = ?4 OR instr(',' || countries, ',' || ?4 || ':') > 0) "
	                   "AND (?5 = 0 OR origin = ?5) ORDER BY t, rowid",
	[ST_BEGIN] = "BEGIN",
	[ST_COMMIT] = "COMMIT",
};

/* Entity key -> row id, open addressing. The key packs kind, afi, cc and asn in 64 bits. */
struct entity_map {
	uint64_t *keys;   /* 0 = empty slot (kind is never 0 for a valid entity) */
	int64_t *ids;
	size_t cap, n;
};

/* A bin put inside a transaction waits here and is inserted at commit (or when the buffer is
 * full) sorted by (entity, t): replay produces bins time-major, one per entity, and inserting
 * them entity-major touches each B-tree leaf once instead of once per bin. */
struct pending_bin {
	int64_t entity;
	uint32_t seq;            /* put order: the last put of an (entity, t) wins */
	struct sig_bin b;
};
/* Plausibility of what a database says about its series: replay's largest --bin, and the most
 * dense bins one entity's series may expand to (2^23: 16 years of 60 s bins, 600 MB). */
enum { STORE_MAX_BIN = 604800, STORE_MAX_DENSE = 1 << 23 };
enum { PENDING_MAX = 1 << 18 };   /* 16 MiB */

enum { PENDING_CHANGES_MAX = 4096 };

struct store {
	struct store_pg *pg;   /* a postgresql:// URI: every call goes to pg.c (store_pg.h) */
	sqlite3 *db;
	int readonly;
	int in_tx;
	int tx_failed;   /* a write of the open transaction failed: it is never committed in part */
	struct pending_bin *pend;
	size_t npend;
	struct sig_change *pchg;   /* visibility changes waiting for the commit */
	size_t npchg;
	sqlite3_stmt *st[ST_COUNT_];
	struct entity_map ents;
	/* Run-length storage in time (store_set_bin): a bin row is written only when a value
	 * differs from the entity's previous bin; readers repeat the previous row for the bins in
	 * between, up to series_end. last[] holds, per entity id, the last bin put. */
	uint32_t bin;
	int64_t series_end, series_end_saved;
	struct rle_last {
		struct sig_bin b;
		uint8_t has;
	} *last;
	size_t nlast;
	char path[256];
	char errmsg[256];
};

static int fail(struct store *s, enum dm_err code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct store *s, enum dm_err code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(s->errmsg, sizeof s->errmsg, fmt, ap);
	va_end(ap);
	return code;
}

/* Last SQLite error as a store failure: "what: message". */
static int fail_db(struct store *s, const char *what)
{
	int rc = sqlite3_errcode(s->db);
	if (s->in_tx)
		s->tx_failed = 1;   /* the transaction cannot be trusted any more: never committed */
	return fail(s, rc == SQLITE_NOMEM ? DM_ERR_NOMEM : DM_ERR_IO, "%s: %s: %s", s->path, what,
	            sqlite3_errmsg(s->db));
}

const char *store_errmsg(const struct store *s)
{
	if (s && s->pg)
		return pg_errmsg(s->pg);
	return s ? s->errmsg : "";
}

/* --- entity keys and the id cache --------------------------------------------------------- */

/* Normalised: a country ignores asn, an AS ignores cc, global ignores both. */
static void entity_norm(const struct sig_entity *e, struct sig_entity *out)
{
	memset(out, 0, sizeof *out);
	out->kind = e->kind;
	out->afi = e->afi;
	if (e->kind == SIG_COUNTRY) {
		out->cc[0] = e->cc[0];
		out->cc[1] = e->cc[0] ? e->cc[1] : 0;
	} else if (e->kind == SIG_ASN) {
		out->asn = e->asn;
	}
}

static uint64_t entity_key(const struct sig_entity *n)
{
	return (uint64_t)n->kind << 56 | (uint64_t)n->afi << 48 | (uint64_t)(uint8_t)n->cc[0] << 40 |
	       (uint64_t)(uint8_t)n->cc[1] << 32 | n->asn;
}

static size_t key_slot(uint64_t k, size_t cap)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdULL;
	k ^= k >> 33;
	return (size_t)k & (cap - 1);
}

static int64_t map_find(const struct entity_map *m, uint64_t k)
{
	if (!m->cap)
		return 0;
	for (size_t i = key_slot(k, m->cap);; i = (i + 1) & (m->cap - 1)) {
		if (m->keys[i] == k)
			return m->ids[i];
		if (!m->keys[i])
			return 0;
	}
}

static int map_add(struct entity_map *m, uint64_t k, int64_t id)
{
	if ((m->n + 1) * 2 > m->cap) {
		size_t ncap = m->cap ? m->cap * 2 : 256;
		uint64_t *nk = calloc(ncap, sizeof *nk);
		int64_t *ni = calloc(ncap, sizeof *ni);
		if (!nk || !ni) {
			free(nk);
			free(ni);
			return DM_ERR_NOMEM;
		}
		for (size_t i = 0; i < m->cap; i++) {
			if (!m->keys[i])
				continue;
			size_t j = key_slot(m->keys[i], ncap);
			while (nk[j])
				j = (j + 1) & (ncap - 1);
			nk[j] = m->keys[i];
			ni[j] = m->ids[i];
		}
		free(m->keys);
		free(m->ids);
		m->keys = nk;
		m->ids = ni;
		m->cap = ncap;
	}
	size_t i = key_slot(k, m->cap);
	while (m->keys[i] && m->keys[i] != k)
		i = (i + 1) & (m->cap - 1);
	if (!m->keys[i])
		m->n++;
	m->keys[i] = k;
	m->ids[i] = id;
	return 0;
}

static void bind_entity(sqlite3_stmt *st, const struct sig_entity *n)
{
	char cc[3] = { n->cc[0], n->cc[1], 0 };
	sqlite3_bind_int(st, 1, n->kind);
	sqlite3_bind_int(st, 2, n->afi);
	sqlite3_bind_text(st, 3, cc, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 4, n->asn);
}

/* Row id of an entity; 0 when absent and create is 0. Returns <0 on error. */
static int64_t entity_id(struct store *s, const struct sig_entity *e, int create)
{
	struct sig_entity n;
	entity_norm(e, &n);
	if (n.kind < SIG_COUNTRY || n.kind > SIG_GLOBAL)
		return fail(s, DM_ERR_BAD_VALUE, "%s: entity kind %u is not 1..3", s->path, n.kind);
	uint64_t k = entity_key(&n);
	int64_t id = map_find(&s->ents, k);
	if (id)
		return id;
	for (int pass = 0; pass < 2; pass++) {
		sqlite3_stmt *st = s->st[ST_SEL_ENTITY];
		bind_entity(st, &n);
		int rc = sqlite3_step(st);
		if (rc == SQLITE_ROW)
			id = sqlite3_column_int64(st, 0);
		sqlite3_reset(st);
		if (rc != SQLITE_ROW && rc != SQLITE_DONE)
			return fail_db(s, "entity lookup");
		if (id) {
			if (map_add(&s->ents, k, id))
				return fail(s, DM_ERR_NOMEM, "%s: out of memory", s->path);
			return id;
		}
		if (!create || s->readonly || pass)
			return 0;
		st = s->st[ST_INS_ENTITY];
		bind_entity(st, &n);
		rc = sqlite3_step(st);
		sqlite3_reset(st);
		if (rc != SQLITE_DONE)
			return fail_db(s, "entity insert");
	}
	return 0;
}

/* --- open / close -------------------------------------------------------------------------- */

static int exec(struct store *s, const char *sql)
{
	char *msg = NULL;
	if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		fail(s, DM_ERR_IO, "%s: %s", s->path, msg ? msg : sqlite3_errmsg(s->db));
		sqlite3_free(msg);
		return DM_ERR_IO;
	}
	return 0;
}

static int pragma_int(struct store *s, const char *sql, int64_t *v)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		return fail_db(s, "reading the header");
	int rc = sqlite3_step(st);
	*v = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return fail_db(s, "reading the header");
	return 0;
}

/* Checks the file is a darkmap database of our schema version, or an empty file to initialise. */
static int check_or_create(struct store *s)
{
	int64_t app, ver, tables;
	int rc;
	/* The first read of the header: a non-SQLite file fails here with "file is not a database". */
	if ((rc = pragma_int(s, "PRAGMA application_id", &app)))
		return fail(s, rc, "%s: not a darkmap database: %s", s->path, sqlite3_errmsg(s->db));
	if ((rc = pragma_int(s, "PRAGMA user_version", &ver)))
		return rc;
	if ((rc = pragma_int(s, "SELECT count(*) FROM sqlite_master", &tables)))
		return rc;
	if (app == STORE_APPLICATION_ID) {
		if (ver != STORE_SCHEMA_VERSION)
			return fail(s, DM_ERR_BAD_VALUE,
			            "%s: darkmap database schema version %lld, this darkmap reads %d",
			            s->path, (long long)ver, STORE_SCHEMA_VERSION);
		return 0;
	}
	if (app != 0 || tables != 0)
		return fail(s, DM_ERR_BAD_VALUE,
		            "%s: not a darkmap database (an SQLite file with application_id %lld and "
		            "%lld schema objects)",
		            s->path, (long long)app, (long long)tables);
	if (s->readonly)
		return fail(s, DM_ERR_BAD_VALUE, "%s: empty database, no darkmap schema", s->path);
	char pragmas[128];
	snprintf(pragmas, sizeof pragmas, "PRAGMA application_id = %d; PRAGMA user_version = %d;",
	         STORE_APPLICATION_ID, STORE_SCHEMA_VERSION);
	if ((rc = exec(s, "BEGIN IMMEDIATE")))
		return rc;
	/* Another process may have created it between our check and our lock. */
	if ((rc = pragma_int(s, "PRAGMA application_id", &app)))
		return rc;
	if (app == STORE_APPLICATION_ID)
		return exec(s, "COMMIT");
	if ((rc = exec(s, schema_sql)) || (rc = exec(s, pragmas))) {
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
		return rc;
	}
	return exec(s, "COMMIT");
}

/* A WAL database read on a read-only file system or directory: SQLite must create PATH-shm to
 * read it and cannot ("unable to open database file"). With no PATH-wal holding transactions
 * not yet in the database, nobody can be changing the file: open it immutable (no locks, no
 * -shm). Returns 1 when reopened so, 0 when it does not apply, -1 (message in s) on failure. */
static int reopen_immutable(struct store *s, const char *path)
{
	char wal[sizeof s->path + 8];
	snprintf(wal, sizeof wal, "%s-wal", path);
	FILE *f = fopen(wal, "rb");
	if (f) {
		int c = fgetc(f);
		fclose(f);
		if (c != EOF)
			return fail(s, DM_ERR_IO, "%s: cannot read in a read-only folder: its -wal file holds transactions "
			            "not yet in the database (open it once where it can be written)", path);
	}
	/* file: URI, the path percent-encoded where URI syntax needs it */
	char uri[3 * sizeof s->path + 32] = "file:";
	size_t n = strlen(uri);
	for (const unsigned char *p = (const unsigned char *)path; *p && n + 4 < sizeof uri - 16; p++) {
		if (*p == '%' || *p == '?' || *p == '#' || *p <= ' ' || *p >= 0x7f)
			n += (size_t)snprintf(uri + n, sizeof uri - n, "%%%02X", *p);
		else
			uri[n++] = (char)*p;
	}
	snprintf(uri + n, sizeof uri - n, "?immutable=1");
	sqlite3_close(s->db);
	s->db = NULL;
	if (sqlite3_open_v2(uri, &s->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK)
		return fail_db(s, "opening read-only");
	return 1;
}

static struct store *open_common(const char *path, int readonly, struct dm_error *err)
{
	struct store *s = calloc(1, sizeof *s);
	if (!s) {
		dm_fail(err, DM_ERR_NOMEM, 0, "%s: out of memory", path);
		return NULL;
	}
	s->readonly = readonly;
	snprintf(s->path, sizeof s->path, "%s", path);
	if (store_is_pg(path)) {
		if (!(s->pg = pg_open(path, readonly, err))) {
			free(s);
			return NULL;
		}
		return s;
	}
	int flags = (readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) |
	            SQLITE_OPEN_NOMUTEX;   /* one connection per thread: no per-call mutex */
	int rc = sqlite3_open_v2(path, &s->db, flags, NULL);
	if (rc != SQLITE_OK) {
		dm_fail(err, DM_ERR_IO, 0, "%s: cannot open: %s", path,
		        s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
		store_close(s);
		return NULL;
	}
	if (readonly && sqlite3_exec(s->db, "SELECT count(*) FROM sqlite_master", NULL, NULL, NULL) == SQLITE_CANTOPEN &&
	    (rc = reopen_immutable(s, path)) < 0)
		goto failed;
	sqlite3_busy_timeout(s->db, 5000);   /* a reader (serve, plot) beside a writer (replay) */
	/* SQLite opens a write-protected file read-only without a word: every write would fail
	 * later, one batch at a time. Say it now. */
	if (!readonly && sqlite3_db_readonly(s->db, "main") == 1) {
		rc = fail(s, DM_ERR_IO, "%s: cannot write: the file or its file system is read-only", path);
		goto failed;
	}
	if ((rc = check_or_create(s)))
		goto failed;
	if (!readonly) {
		/* WAL: readers never block the writer; synchronous=NORMAL is durable at checkpoints,
		 * and a crash loses at most the last transactions, never the file. */
		if ((rc = exec(s, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;")))
			goto failed;
	}
	if ((rc = exec(s, "PRAGMA cache_size = -32768; PRAGMA temp_store = MEMORY;")))
		goto failed;
	for (int i = 0; i < ST_COUNT_; i++) {
		if (sqlite3_prepare_v3(s->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->st[i],
		                       NULL) != SQLITE_OK) {
			rc = fail_db(s, "preparing statements");
			goto failed;
		}
	}
	/* The bin size and series end decide how many dense bins store_get_bins makes from the
	 * run-length rows: read strictly, a damaged value is refused here (fuzz_parse made one
	 * database ask for 206 GB). */
	char buf[32];
	unsigned long v;
	char *end;
	if (store_get_meta(s, "bin", buf, sizeof buf) == 0) {
		v = strtoul(buf, &end, 10);
		if (end == buf || *end || v < 1 || v > STORE_MAX_BIN) {
			rc = fail(s, DM_ERR_BAD_VALUE, "%s: meta bin '%s' is not a bin size (1..%u s): damaged database",
			          path, buf, STORE_MAX_BIN);
			goto failed;
		}
		s->bin = (uint32_t)v;
	}
	if (store_get_meta(s, "series_end", buf, sizeof buf) == 0) {
		long long se = strtoll(buf, &end, 10);
		if (end == buf || *end || se < 0) {
			rc = fail(s, DM_ERR_BAD_VALUE, "%s: meta series_end '%s' is not a time: damaged database", path, buf);
			goto failed;
		}
		s->series_end = s->series_end_saved = se;
	}
	return s;
failed:
	dm_fail(err, rc, 0, "%s", s->errmsg);
	store_close(s);
	return NULL;
}

struct store *store_open(const char *path, struct dm_error *err)
{
	return open_common(path, 0, err);
}

struct store *store_open_ro(const char *path, struct dm_error *err)
{
	return open_common(path, 1, err);
}

void store_close(struct store *s)
{
	if (!s)
		return;
	if (s->pg) {
		pg_close(s->pg);
		free(s);
		return;
	}
	if (s->in_tx && s->tx_failed)
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	else if (s->in_tx)
		store_commit(s);
	for (int i = 0; i < ST_COUNT_; i++)
		sqlite3_finalize(s->st[i]);
	sqlite3_close(s->db);
	free(s->ents.keys);
	free(s->ents.ids);
	free(s->pend);
	free(s->pchg);
	free(s->last);
	free(s);
}

/* --- writes -------------------------------------------------------------------------------- */

static int step_done(struct store *s, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return fail_db(s, what);
	return 0;
}

static int flush_bins(struct store *s);
static int flush_changes(struct store *s);

int store_begin(struct store *s)
{
	if (s->pg)
		return pg_begin(s->pg);
	if (s->in_tx)
		return 0;
	int rc = step_done(s, s->st[ST_BEGIN], "begin");
	if (!rc) {
		s->in_tx = 1;
		s->tx_failed = 0;
	}
	return rc;
}

static int save_series_end(struct store *s);

int store_commit(struct store *s)
{
	if (s->pg)
		return pg_commit(s->pg);
	if (!s->in_tx)
		return 0;
	if (s->tx_failed) {   /* an earlier write of this transaction failed (errmsg says which) */
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
		s->in_tx = 0;
		return DM_ERR_IO;
	}
	int rc = flush_bins(s);
	if (!rc)
		rc = flush_changes(s);
	if (!rc)
		rc = save_series_end(s);
	if (rc) {
		/* A failed insert leaves a transaction nobody can trust: roll it back whole. */
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
		s->in_tx = 0;
		return rc;
	}
	rc = step_done(s, s->st[ST_COMMIT], "commit");
	if (!rc)
		s->in_tx = 0;
	return rc;
}

static int insert_bin(struct store *s, int64_t id, const struct sig_bin *b)
{
	sqlite3_stmt *st = s->st[ST_INS_BIN];
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, b->t);
	sqlite3_bind_int64(st, 3, b->visible_prefixes);
	sqlite3_bind_int64(st, 4, b->slash24);
	sqlite3_bind_int64(st, 5, b->baseline_slash24);
	sqlite3_bind_int(st, 6, b->peers_seeing);
	sqlite3_bind_int(st, 7, b->full_feed_peers);
	sqlite3_bind_int(st, 8, b->peers_up);
	sqlite3_bind_double(st, 9, b->peer_frac);   /* float -> double -> float is exact */
	sqlite3_bind_int64(st, 10, b->announcements);
	sqlite3_bind_int64(st, 11, b->withdrawals);
	sqlite3_bind_int64(st, 12, b->interruptions);
	sqlite3_bind_int64(st, 13, b->more_specifics);
	sqlite3_bind_int(st, 14, b->quality);
	sqlite3_bind_int(st, 15, b->ff_joined);
	sqlite3_bind_int(st, 16, b->ff_left);
	return step_done(s, st, "bins insert");
}

static int pending_cmp(const void *pa, const void *pb)
{
	const struct pending_bin *a = pa, *b = pb;
	if (a->entity != b->entity)
		return a->entity < b->entity ? -1 : 1;
	if (a->b.t != b->b.t)
		return a->b.t < b->b.t ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static int flush_bins(struct store *s)
{
	int rc = 0;
	if (!s->npend)
		return 0;
	qsort(s->pend, s->npend, sizeof *s->pend, pending_cmp);
	for (size_t i = 0; i < s->npend && !rc; i++)
		rc = insert_bin(s, s->pend[i].entity, &s->pend[i].b);
	s->npend = 0;
	return rc;
}

static int same_values(const struct sig_bin *a, const struct sig_bin *b)
{
	return a->visible_prefixes == b->visible_prefixes && a->slash24 == b->slash24 &&
	       a->baseline_slash24 == b->baseline_slash24 && a->peers_seeing == b->peers_seeing &&
	       a->full_feed_peers == b->full_feed_peers && a->peers_up == b->peers_up &&
	       a->peer_frac == b->peer_frac && a->announcements == b->announcements &&
	       a->withdrawals == b->withdrawals && a->interruptions == b->interruptions &&
	       a->more_specifics == b->more_specifics && a->quality == b->quality &&
	       a->ff_joined == b->ff_joined && a->ff_left == b->ff_left;
}

int store_set_bin(struct store *s, uint32_t bin)
{
	if (s->pg)
		return pg_set_bin(s->pg, bin);
	char buf[16];
	s->bin = bin;
	snprintf(buf, sizeof buf, "%u", bin);
	return store_put_meta(s, "bin", buf);
}

static int save_series_end(struct store *s)
{
	if (!s->bin || s->series_end == s->series_end_saved)
		return 0;
	char buf[16];
	snprintf(buf, sizeof buf, "%lld", (long long)s->series_end);
	int rc = store_put_meta(s, "series_end", buf);
	if (!rc)
		s->series_end_saved = s->series_end;
	return rc;
}

int store_put_bin(struct store *s, const struct sig_entity *e, const struct sig_bin *b)
{
	if (s->pg)
		return pg_put_bin(s->pg, e, b);
	int64_t id = entity_id(s, e, 1);
	if (id <= 0)
		return id < 0 ? (int)id : fail(s, DM_ERR_IO, "%s: read-only", s->path);
	if (s->bin) {
		if ((size_t)id >= s->nlast) {
			size_t n = s->nlast ? s->nlast : 256;
			while (n <= (size_t)id)
				n *= 2;
			struct rle_last *m = realloc(s->last, n * sizeof *m);
			if (!m)
				return fail(s, DM_ERR_NOMEM, "%s: out of memory", s->path);
			memset(m + s->nlast, 0, (n - s->nlast) * sizeof *m);
			s->last = m;
			s->nlast = n;
		}
		struct rle_last *L = &s->last[id];
		if (b->t + s->bin > s->series_end)
			s->series_end = b->t + s->bin;
		if (L->has && b->t == L->b.t + s->bin && same_values(&L->b, b)) {
			L->b.t = b->t; /* the run goes on: nothing to write */
			if (!s->in_tx)
				return save_series_end(s);
			return 0;
		}
		L->b = *b;
		L->has = 1;
		if (!s->in_tx) {
			int rc = save_series_end(s);
			if (rc)
				return rc;
		}
	}
	if (!s->in_tx)
		return insert_bin(s, id, b);
	if (!s->pend && !(s->pend = malloc(PENDING_MAX * sizeof *s->pend)))
		return fail(s, DM_ERR_NOMEM, "%s: out of memory", s->path);
	struct pending_bin *p = &s->pend[s->npend];
	p->entity = id;
	p->seq = (uint32_t)s->npend++;
	p->b = *b;
	return s->npend == PENDING_MAX ? flush_bins(s) : 0;
}

int store_put_event(struct store *s, const struct dm_event *ev)
{
	if (s->pg)
		return pg_put_event(s->pg, ev);
	int64_t id = entity_id(s, &ev->entity, 1);
	if (id <= 0)
		return id < 0 ? (int)id : fail(s, DM_ERR_IO, "%s: read-only", s->path);
	sqlite3_stmt *st = s->st[ST_INS_EVENT];
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int(st, 2, ev->type);
	sqlite3_bind_int64(st, 3, ev->start);
	sqlite3_bind_int64(st, 4, ev->end);
	sqlite3_bind_double(st, 5, ev->severity);
	sqlite3_bind_int64(st, 6, ev->baseline_slash24);
	sqlite3_bind_int64(st, 7, ev->slash24);
	sqlite3_bind_int(st, 8, ev->peers_lost);
	sqlite3_bind_int(st, 9, ev->full_feed_peers);
	sqlite3_bind_double(st, 10, ev->rate);
	sqlite3_bind_double(st, 11, ev->baseline_rate);
	sqlite3_bind_int(st, 12, ev->quality);
	sqlite3_bind_text(st, 13, ev->affected, (int)strnlen(ev->affected, sizeof ev->affected),
	                  SQLITE_STATIC);
	sqlite3_bind_text(st, 14, ev->reason, (int)strnlen(ev->reason, sizeof ev->reason),
	                  SQLITE_STATIC);
	sqlite3_bind_int(st, 15, ev->of_type);
	sqlite3_bind_int64(st, 16, ev->raised);
	sqlite3_bind_int64(st, 17, ev->window);
	sqlite3_bind_int64(st, 18, ev->interruptions);
	sqlite3_bind_int64(st, 19, ev->episode_start);
	sqlite3_bind_int64(st, 20, ev->prev_start);
	sqlite3_bind_text(st, 21, ev->evidence, (int)strnlen(ev->evidence, sizeof ev->evidence), SQLITE_STATIC);
	int rc = step_done(s, st, "events insert");
	sqlite3_clear_bindings(st);
	/* What closes an outage or partial event: a recovery or new normal (at its end), an
	 * escalation or de-escalation (at its own start). */
	int closes_level = ev->of_type == DM_EV_OUTAGE || ev->of_type == DM_EV_PARTIAL || ev->of_type == 0;
	int64_t at;
	if (ev->type == DM_EV_RECOVERY || ev->type == DM_EV_NEWNORMAL)
		at = ev->end;
	else if ((ev->type == DM_EV_OUTAGE || ev->type == DM_EV_PARTIAL) && ev->of_type && ev->prev_start)
		at = ev->start;
	else
		at = 0;
	if (rc || !closes_level || !at)
		return rc;
	st = s->st[ST_CLOSE_EVENT];
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int(st, 2, ev->of_type);
	sqlite3_bind_int64(st, 3, ev->prev_start ? ev->prev_start : ev->start);
	sqlite3_bind_int64(st, 4, at);
	return step_done(s, st, "closing the ended event");
}

static int insert_change(struct store *s, const struct sig_change *c)
{
	sqlite3_stmt *st = s->st[ST_INS_CHANGE];
	char pfx[DM_PREFIX_STRLEN], ip[DM_IP_STRLEN];
	dm_prefix_fmt(&c->prefix, pfx);
	if (c->peer_addr.afi)
		dm_ip_fmt(&c->peer_addr, ip);
	else
		ip[0] = 0;
	char cc[3] = { c->cc[0], c->cc[1], 0 };
	sqlite3_bind_int64(st, 1, c->t);
	sqlite3_bind_int(st, 2, c->prefix.afi);
	sqlite3_bind_text(st, 3, pfx, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 4, c->visible);
	sqlite3_bind_int(st, 5, c->covered);
	sqlite3_bind_text(st, 6, cc, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 7, c->origin_asn);
	sqlite3_bind_int64(st, 8, c->upstream_asn);
	sqlite3_bind_int64(st, 9, (sqlite3_int64)c->units);
	sqlite3_bind_int(st, 10, c->peers_before);
	sqlite3_bind_int(st, 11, c->full_feed_peers);
	sqlite3_bind_int64(st, 12, c->peer_asn);
	sqlite3_bind_text(st, 13, ip, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 14, c->collector, (int)strnlen(c->collector, sizeof c->collector), SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 15, c->countries, (int)strnlen(c->countries, sizeof c->countries), SQLITE_TRANSIENT);
	return step_done(s, st, "vis_changes insert");
}

static int flush_changes(struct store *s)
{
	int rc = 0;
	for (size_t i = 0; i < s->npchg && !rc; i++)
		rc = insert_change(s, &s->pchg[i]);
	s->npchg = 0;
	return rc;
}

int store_put_change(struct store *s, const struct sig_change *c)
{
	if (s->pg)
		return pg_put_change(s->pg, c);
	if (s->readonly)
		return fail(s, DM_ERR_IO, "%s: read-only", s->path);
	if (!s->in_tx)
		return insert_change(s, c);
	if (!s->pchg && !(s->pchg = malloc(PENDING_CHANGES_MAX * sizeof *s->pchg)))
		return fail(s, DM_ERR_NOMEM, "%s: out of memory", s->path);
	s->pchg[s->npchg++] = *c;
	return s->npchg == PENDING_CHANGES_MAX ? flush_changes(s) : 0;
}

int store_put_meta(struct store *s, const char *key, const char *value)
{
	if (s->pg)
		return pg_put_meta(s->pg, key, value);
	sqlite3_stmt *st = s->st[ST_INS_META];
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
	int rc = step_done(s, st, "meta insert");
	sqlite3_clear_bindings(st);
	return rc;
}

static int get_text(struct store *s, sqlite3_stmt *st, char *buf, size_t len, const char *what)
{
	int rc = sqlite3_step(st);
	int found = 0;
	if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
		const char *v = (const char *)sqlite3_column_text(st, 0);
		if (len)
			snprintf(buf, len, "%s", v ? v : "");
		found = 1;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return fail_db(s, what);
	return found ? 0 : 1;
}

int store_get_meta(struct store *s, const char *key, char *buf, size_t len)
{
	if (s->pg)
		return pg_get_meta(s->pg, key, buf, len);
	sqlite3_stmt *st = s->st[ST_SEL_META];
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	return get_text(s, st, buf, len, "meta read");
}

int store_put_entity_name(struct store *s, const struct sig_entity *e, const char *name)
{
	if (s->pg)
		return pg_put_entity_name(s->pg, e, name);
	int64_t id = entity_id(s, e, 1);
	if (id <= 0)
		return id < 0 ? (int)id : fail(s, DM_ERR_IO, "%s: read-only", s->path);
	sqlite3_stmt *st = s->st[ST_UPD_NAME];
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	int rc = step_done(s, st, "entity name");
	sqlite3_clear_bindings(st);
	return rc;
}

int store_get_entity_name(struct store *s, const struct sig_entity *e, char *buf, size_t len)
{
	if (s->pg)
		return pg_get_entity_name(s->pg, e, buf, len);
	int64_t id = entity_id(s, e, 0);
	if (id <= 0)
		return id < 0 ? (int)id : 1;
	sqlite3_stmt *st = s->st[ST_SEL_NAME];
	sqlite3_bind_int64(st, 1, id);
	return get_text(s, st, buf, len, "entity name");
}

/* --- reads --------------------------------------------------------------------------------- */

/* Room for element cnt of a result array being filled from a statement (doubling): returns the
 * array, or NULL after freeing it and setting the error (the caller resets or finalizes st). */
static void *result_room(struct store *s, void *v, size_t cnt, size_t *cap, size_t elem)
{
	if (cnt < *cap)
		return v;
	size_t ncap = *cap ? *cap * 2 : 64;
	void *nv = realloc(v, ncap * elem);
	if (!nv) {
		free(v);
		fail(s, DM_ERR_NOMEM, "%s: out of memory", s->path);
		return NULL;
	}
	*cap = ncap;
	return nv;
}

/* A bin's time as darkmap writes it: an INTEGER of 32 bits (times are uint32_t throughout). A
 * damaged file can hold a REAL or TEXT there (columns without STRICT take any type): read as
 * an integer, 1419265200.5 became its neighbour's time and a series had two bins at one time
 * (found by fuzz_parse). */
static int bin_time_ok(sqlite3_stmt *st, int col)
{
	if (sqlite3_column_type(st, col) != SQLITE_INTEGER)
		return 0;
	int64_t t = sqlite3_column_int64(st, col);
	return t >= 0 && t <= UINT32_MAX;
}

/* A bins row that is not what darkmap writes: refused with the file and the entity's id. */
static int fail_bin_row(struct store *s, int64_t id, sqlite3_stmt *st, int col, const char *why)
{
	const char *t = (const char *)sqlite3_column_text(st, col);
	return fail(s, DM_ERR_BAD_VALUE, "%s: damaged database: entity %lld has a bin at time '%.40s' %s",
	            s->path, (long long)id, t ? t : "NULL", why);
}

static void read_bin_row(sqlite3_stmt *st, struct sig_bin *b)
{
	memset(b, 0, sizeof *b);
	b->t = sqlite3_column_int64(st, 0);
	b->visible_prefixes = (uint64_t)sqlite3_column_int64(st, 1);
	b->slash24 = (uint64_t)sqlite3_column_int64(st, 2);
	b->baseline_slash24 = (uint64_t)sqlite3_column_int64(st, 3);
	b->peers_seeing = (uint16_t)sqlite3_column_int(st, 4);
	b->full_feed_peers = (uint16_t)sqlite3_column_int(st, 5);
	b->peers_up = (uint16_t)sqlite3_column_int(st, 6);
	b->peer_frac = (float)sqlite3_column_double(st, 7);
	b->announcements = (uint32_t)sqlite3_column_int64(st, 8);
	b->withdrawals = (uint32_t)sqlite3_column_int64(st, 9);
	b->interruptions = (uint32_t)sqlite3_column_int64(st, 10);
	b->more_specifics = (uint32_t)sqlite3_column_int64(st, 11);
	b->quality = (uint8_t)sqlite3_column_int(st, 12);
	b->ff_joined = (uint16_t)sqlite3_column_int(st, 13);
	b->ff_left = (uint16_t)sqlite3_column_int(st, 14);
}

/* Run-length storage: rebuild the dense series of [from, to) from the stored rows (rows holds
 * those in the range) and the last row before from, repeating each row until the next one or
 * the end of the series. */
static int expand_runs(struct store *s, int64_t id, int64_t from, int64_t to, struct sig_bin *rows, size_t nrows,
                       struct sig_bin **out, size_t *n)
{
	struct sig_bin prev;
	int have_prev = 0;
	sqlite3_stmt *st = s->st[ST_SEL_PREV_BIN];
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, from);
	if (sqlite3_step(st) == SQLITE_ROW) {
		if (!bin_time_ok(st, 0)) {
			fail_bin_row(s, id, st, 0, "(not a time)");
			sqlite3_reset(st);
			free(rows);
			return DM_ERR_BAD_VALUE;
		}
		read_bin_row(st, &prev);
		have_prev = 1;
	}
	sqlite3_reset(st);
	int64_t end = s->series_end ? s->series_end : 0;
	if (nrows && rows[nrows - 1].t + s->bin > end)
		end = rows[nrows - 1].t + s->bin;
	if (have_prev && prev.t + s->bin > end)
		end = prev.t + s->bin;
	if (end > to)
		end = to;
	int64_t first = nrows ? rows[0].t : end;
	if (have_prev) {
		/* the first bin of the run at or after from */
		int64_t k = from > prev.t ? (from - prev.t + s->bin - 1) / s->bin : 0;
		first = prev.t + k * s->bin;
	}
	uint64_t dense = first < end ? (uint64_t)(end - first) / s->bin : 0;
	if (dense > STORE_MAX_DENSE) {
		/* more than decades of bins for one entity: a damaged series_end or row time */
		free(rows);
		return fail(s, DM_ERR_BAD_VALUE, "%s: one entity's series would be %llu bins of %u s (to %llu): "
		            "damaged database", s->path, (unsigned long long)dense, s->bin, (unsigned long long)end);
	}
	size_t cap = (size_t)dense + nrows + 1;
	struct sig_bin *v = malloc(cap * sizeof *v);
	if (!v) {
		free(rows);
		return fail(s, DM_ERR_NOMEM, "%s: out of memory", s->path);
	}
	size_t cnt = 0, r = 0;
	struct sig_bin cur = have_prev ? prev : (nrows ? rows[0] : prev);
	int have_cur = have_prev || nrows;
	for (int64_t t = first; have_cur && t < end && cnt < cap; t += s->bin) {
		while (r < nrows && rows[r].t <= t)
			cur = rows[r++];
		if (cur.t > t)
			continue; /* before the entity's first row */
		v[cnt] = cur;
		v[cnt].t = t;
		cnt++;
	}
	free(rows);
	*out = v;
	*n = cnt;
	return 0;
}

int store_get_bins(struct store *s, const struct sig_entity *e, int64_t from, int64_t to,
                   struct sig_bin **out, size_t *n)
{
	if (s->pg)
		return pg_get_bins(s->pg, e, from, to, out, n);
	*out = NULL;
	*n = 0;
	int rc = s->npend ? flush_bins(s) : 0;
	if (rc)
		return rc;
	int64_t id = entity_id(s, e, 0);
	if (id <= 0)
		return id < 0 ? (int)id : 0;
	sqlite3_stmt *st = s->st[ST_SEL_BINS];
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, from);
	sqlite3_bind_int64(st, 3, to);
	struct sig_bin *v = NULL;
	size_t cnt = 0, cap = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		/* the callers (detect, plot, the API) take the series as strictly increasing in time */
		const char *bad = !bin_time_ok(st, 0) ? "(not a time)"
		                  : cnt && sqlite3_column_int64(st, 0) <= v[cnt - 1].t ? "(out of order)" : NULL;
		if (bad) {
			fail_bin_row(s, id, st, 0, bad);
			sqlite3_reset(st);
			free(v);
			return DM_ERR_BAD_VALUE;
		}
		if (!(v = result_room(s, v, cnt, &cap, sizeof *v))) {
			sqlite3_reset(st);
			return DM_ERR_NOMEM;
		}
		read_bin_row(st, &v[cnt++]);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		free(v);
		return fail_db(s, "bins read");
	}
	if (s->bin)
		return expand_runs(s, id, from, to, v, cnt, out, n);
	*out = v;
	*n = cnt;
	return 0;
}

int store_get_events(struct store *s, const struct sig_entity *e, int64_t from, int64_t to,
                     struct dm_event **out, size_t *n)
{
	if (s->pg)
		return pg_get_events(s->pg, e, from, to, out, n);
	*out = NULL;
	*n = 0;
	int64_t id = 0;
	if (e) {
		id = entity_id(s, e, 0);
		if (id <= 0)
			return id < 0 ? (int)id : 0;
	}
	sqlite3_stmt *st = s->st[e ? ST_SEL_EVENTS_ENTITY : ST_SEL_EVENTS_ALL];
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, from);
	sqlite3_bind_int64(st, 3, to);
	struct dm_event *v = NULL;
	size_t cnt = 0, cap = 0;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (!(v = result_room(s, v, cnt, &cap, sizeof *v))) {
			sqlite3_reset(st);
			return DM_ERR_NOMEM;
		}
		struct dm_event *ev = &v[cnt++];
		memset(ev, 0, sizeof *ev);
		ev->entity.kind = (uint8_t)sqlite3_column_int(st, 0);
		ev->entity.afi = (uint8_t)sqlite3_column_int(st, 1);
		const char *cc = (const char *)sqlite3_column_text(st, 2);
		if (cc && cc[0]) {
			ev->entity.cc[0] = cc[0];
			ev->entity.cc[1] = cc[1];
		}
		ev->entity.asn = (uint32_t)sqlite3_column_int64(st, 3);
		ev->type = (uint8_t)sqlite3_column_int(st, 4);
		ev->start = sqlite3_column_int64(st, 5);
		ev->end = sqlite3_column_int64(st, 6);
		ev->severity = sqlite3_column_double(st, 7);
		ev->baseline_slash24 = (uint64_t)sqlite3_column_int64(st, 8);
		ev->slash24 = (uint64_t)sqlite3_column_int64(st, 9);
		ev->peers_lost = (uint16_t)sqlite3_column_int(st, 10);
		ev->full_feed_peers = (uint16_t)sqlite3_column_int(st, 11);
		ev->rate = sqlite3_column_double(st, 12);
		ev->baseline_rate = sqlite3_column_double(st, 13);
		ev->quality = (uint8_t)sqlite3_column_int(st, 14);
		const char *a = (const char *)sqlite3_column_text(st, 15);
		const char *r = (const char *)sqlite3_column_text(st, 16);
		snprintf(ev->affected, sizeof ev->affected, "%s", a ? a : "");
		snprintf(ev->reason, sizeof ev->reason, "%s", r ? r : "");
		ev->of_type = (uint8_t)sqlite3_column_int(st, 17);
		ev->raised = sqlite3_column_int64(st, 18);
		ev->window = (uint32_t)sqlite3_column_int64(st, 19);
		ev->interruptions = (uint32_t)sqlite3_column_int64(st, 20);
		ev->episode_start = sqlite3_column_int64(st, 21);
		ev->prev_start = sqlite3_column_int64(st, 22);
		const char *evd = (const char *)sqlite3_column_text(st, 23);
		snprintf(ev->evidence, sizeof ev->evidence, "%s", evd ? evd : "");
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		free(v);
		return fail_db(s, "events read");
	}
	*out = v;
	*n = cnt;
	return 0;
}

int store_get_changes(struct store *s, int64_t from, int64_t to, const struct sig_entity *e,
                      struct sig_change **out, size_t *n)
{
	if (s->pg)
		return pg_get_changes(s->pg, from, to, e, out, n);
	*out = NULL;
	*n = 0;
	int rc = s->npchg ? flush_changes(s) : 0;
	if (rc)
		return rc;
	sqlite3_stmt *st = s->st[ST_SEL_CHANGES];
	char cc[3] = { 0 };
	if (e && e->kind == SIG_COUNTRY) {
		cc[0] = e->cc[0];
		cc[1] = e->cc[1];
	}
	sqlite3_bind_int64(st, 1, from);
	sqlite3_bind_int64(st, 2, to);
	sqlite3_bind_int(st, 3, e ? e->afi : 0);
	sqlite3_bind_text(st, 4, cc, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 5, e && e->kind == SIG_ASN ? e->asn : 0);
	struct sig_change *v = NULL;
	size_t cnt = 0, cap = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (!(v = result_room(s, v, cnt, &cap, sizeof *v))) {
			sqlite3_reset(st);
			return DM_ERR_NOMEM;
		}
		struct sig_change *c = &v[cnt++];
		memset(c, 0, sizeof *c);
		c->t = sqlite3_column_int64(st, 0);
		const char *pfx = (const char *)sqlite3_column_text(st, 2);
		if (!pfx || dm_prefix_parse(pfx, &c->prefix))
			c->prefix.afi = (uint8_t)sqlite3_column_int(st, 1);
		c->visible = (uint8_t)sqlite3_column_int(st, 3);
		c->covered = (uint8_t)sqlite3_column_int(st, 4);
		const char *ccv = (const char *)sqlite3_column_text(st, 5);
		if (ccv && ccv[0]) {
			c->cc[0] = ccv[0];
			c->cc[1] = ccv[1];
		}
		c->origin_asn = (uint32_t)sqlite3_column_int64(st, 6);
		c->upstream_asn = (uint32_t)sqlite3_column_int64(st, 7);
		c->units = (uint64_t)sqlite3_column_int64(st, 8);
		c->peers_before = (uint16_t)sqlite3_column_int(st, 9);
		c->full_feed_peers = (uint16_t)sqlite3_column_int(st, 10);
		c->peer_asn = (uint32_t)sqlite3_column_int64(st, 11);
		const char *ip = (const char *)sqlite3_column_text(st, 12);
		if (ip && ip[0])
			dm_ip_parse(ip, &c->peer_addr);
		const char *col = (const char *)sqlite3_column_text(st, 13);
		snprintf(c->collector, sizeof c->collector, "%s", col ? col : "");
		const char *cs = (const char *)sqlite3_column_text(st, 14);
		snprintf(c->countries, sizeof c->countries, "%s", cs ? cs : "");
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_DONE) {
		free(v);
		return fail_db(s, "vis_changes read");
	}
	*out = v;
	*n = cnt;
	return 0;
}

int store_bin_extent(struct store *s, const struct sig_entity *e, int64_t *first, int64_t *last)
{
	if (s->pg)
		return pg_bin_extent(s->pg, e, first, last);
	*first = *last = 0;
	int rc = s->npend ? flush_bins(s) : 0;
	if (rc)
		return rc;
	int64_t id = entity_id(s, e, 0);
	if (id <= 0)
		return id < 0 ? (int)id : 1;
	sqlite3_stmt *st = s->st[ST_EXTENT];
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	int found = 0;
	if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
		if (!bin_time_ok(st, 0) || !bin_time_ok(st, 1)) {
			/* min() and max() over mixed types: a TEXT time is the max of any INTEGER */
			int col = bin_time_ok(st, 0);
			fail_bin_row(s, id, st, col, "(not a time)");
			sqlite3_reset(st);
			return DM_ERR_BAD_VALUE;
		}
		*first = sqlite3_column_int64(st, 0);
		*last = sqlite3_column_int64(st, 1);
		found = 1;
		/* run-length storage: the last row's value lasts to the end of the series */
		if (s->bin && s->series_end >= s->bin && s->series_end - s->bin > *last)
			*last = s->series_end - s->bin;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return fail_db(s, "bins extent");
	return found ? 0 : 1;
}

int store_list_entities(struct store *s, struct sig_entity **out, size_t *n)
{
	if (s->pg)
		return pg_list_entities(s->pg, out, n);
	*out = NULL;
	*n = 0;
	int rc = s->npend ? flush_bins(s) : 0;
	if (rc)
		return rc;
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db, "SELECT kind, afi, cc, asn FROM entities ORDER BY kind, afi, cc, asn", -1, &st,
	                       NULL) != SQLITE_OK)
		return fail_db(s, "entity list");
	size_t cap = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (!(*out = result_room(s, *out, *n, &cap, sizeof **out))) {
			sqlite3_finalize(st);
			*n = 0;
			return DM_ERR_NOMEM;
		}
		struct sig_entity *e = &(*out)[(*n)++];
		memset(e, 0, sizeof *e);
		e->kind = (uint8_t)sqlite3_column_int(st, 0);
		e->afi = (uint8_t)sqlite3_column_int(st, 1);
		const unsigned char *cc = sqlite3_column_text(st, 2);
		if (cc)
			snprintf(e->cc, sizeof e->cc, "%s", (const char *)cc);
		e->asn = (uint32_t)sqlite3_column_int64(st, 3);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		free(*out);
		*out = NULL;
		*n = 0;
		return fail_db(s, "entity list");
	}
	return 0;
}
