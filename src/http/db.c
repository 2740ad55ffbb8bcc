/* serve's read connection over SQLite or PostgreSQL (db.h). */
#include <libpq-fe.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/db.h"
#include "store/store.h"

enum { MAX_PARAMS = 8 };

struct db {
	sqlite3 *sq;
	PGconn *pg;
	char errmsg[256];
};

struct dbst {
	struct db *d;
	sqlite3_stmt *sq;
	/* PostgreSQL: the SQL with $N, the bound values as text, the result read row by row */
	char *sql;
	char *val[MAX_PARAMS];
	Oid type[MAX_PARAMS];
	int nparams;
	PGresult *res;
	int row, nrows;
};

/* PostgreSQL type oids (server/catalog/pg_type_d.h, not shipped with libpq-dev) */
enum { OID_BOOL = 16, OID_INT8 = 20, OID_INT2 = 21, OID_INT4 = 23, OID_OID = 26, OID_FLOAT4 = 700,
       OID_FLOAT8 = 701, OID_NUMERIC = 1700 };

static void pg_err(struct db *d, const PGresult *r)
{
	const char *m = r ? PQresultErrorMessage(r) : PQerrorMessage(d->pg);
	snprintf(d->errmsg, sizeof d->errmsg, "postgresql: %.*s", (int)strcspn(m, "\n"), m);
}

struct db *db_open(const char *path, struct dm_error *err)
{
	/* src/store checks that it is a darkmap database of this schema version, and says so */
	struct store *s = store_open_ro(path, err);
	if (!s)
		return NULL;
	store_close(s);
	struct db *d = calloc(1, sizeof *d);
	if (!d) {
		dm_fail(err, DM_ERR_NOMEM, 0, "%s: out of memory", path);
		return NULL;
	}
	if (store_is_pg(path)) {
		d->pg = PQconnectdb(path);
		if (PQstatus(d->pg) != CONNECTION_OK) {
			pg_err(d, NULL);
			dm_fail(err, DM_ERR_IO, 0, "%s", d->errmsg);
			db_close(d);
			return NULL;
		}
		/* serve never writes; the session says so, as SQLITE_OPEN_READONLY does */
		PQclear(PQexec(d->pg, "SET default_transaction_read_only = on"));
		return d;
	}
	if (sqlite3_open_v2(path, &d->sq, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		dm_fail(err, DM_ERR_IO, 0, "%s: cannot open: %s", path, d->sq ? sqlite3_errmsg(d->sq) : "out of memory");
		db_close(d);
		return NULL;
	}
	sqlite3_busy_timeout(d->sq, 2000);
	/* the file mapped rather than pread page by page; a 16 MiB page cache (the default is 2 MiB) */
	sqlite3_exec(d->sq, "PRAGMA mmap_size = 1073741824; PRAGMA cache_size = -16384", NULL, NULL, NULL);
	return d;
}

void db_close(struct db *d)
{
	if (!d)
		return;
	if (d->sq)
		sqlite3_close(d->sq);
	if (d->pg)
		PQfinish(d->pg);
	free(d);
}

int db_is_pg(const struct db *d)
{
	return d->pg != NULL;
}

const char *db_errmsg(const struct db *d)
{
	return d->sq ? sqlite3_errmsg(d->sq) : d->errmsg;
}

int db_exec(struct db *d, const char *sql)
{
	if (d->sq)
		return sqlite3_exec(d->sq, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
	PGresult *r = PQexec(d->pg, sql);
	int st = PQresultStatus(r), rc = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK ? 0 : -1;
	if (rc)
		pg_err(d, r);
	PQclear(r);
	return rc;
}

int db_begin_read(struct db *d)
{
	/* PostgreSQL's default (read committed) gives each statement its own snapshot */
	return db_exec(d, d->sq ? "BEGIN" : "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
}

void db_end(struct db *d)
{
	db_exec(d, "COMMIT");
}

static int64_t one_int(struct db *d, const char *sql, const char *text)
{
	struct dbst *st = db_prepare(d, sql);
	if (!st)
		return -1;
	if (text)
		db_bind_text(st, 1, text, -1);
	int rc = db_step(st);
	int64_t v = rc == DB_ROW ? db_int64(st, 0) : rc == DB_DONE ? 0 : -1;
	db_finalize(st);
	return v;
}

const char *db_version_sql(const struct db *d)
{
	return d->sq ? "PRAGMA data_version"
	             : "SELECT coalesce((SELECT value::bigint FROM meta WHERE key = 'data_version'), 0)";
}

int db_has_table(struct db *d, const char *name)
{
	return one_int(d,
	               d->sq ? "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1"
	                     : "SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() "
	                       "AND table_name = ?1",
	               name) == 1;
}

struct dbst *db_prepare(struct db *d, const char *sql)
{
	struct dbst *st = calloc(1, sizeof *st);
	if (!st)
		return NULL;
	st->d = d;
	if (d->sq) {
		if (sqlite3_prepare_v3(d->sq, sql, -1, SQLITE_PREPARE_PERSISTENT, &st->sq, NULL) != SQLITE_OK) {
			free(st);
			return NULL;
		}
		return st;
	}
	/* ?N -> $N: the API's SQL has no '?' inside literals */
	st->sql = strdup(sql);
	if (!st->sql) {
		free(st);
		snprintf(d->errmsg, sizeof d->errmsg, "out of memory");
		return NULL;
	}
	for (char *p = st->sql; (p = strchr(p, '?')); p++) {
		*p = '$';
		int n = atoi(p + 1);
		if (n > st->nparams)
			st->nparams = n;
	}
	if (st->nparams > MAX_PARAMS) {
		snprintf(d->errmsg, sizeof d->errmsg, "too many parameters");
		db_finalize(st);
		return NULL;
	}
	return st;
}

void db_finalize(struct dbst *st)
{
	if (!st)
		return;
	if (st->sq)
		sqlite3_finalize(st->sq);
	PQclear(st->res);
	for (int i = 0; i < MAX_PARAMS; i++)
		free(st->val[i]);
	free(st->sql);
	free(st);
}

static void set_val(struct dbst *st, int i, char *v, Oid type)
{
	if (i < 1 || i > MAX_PARAMS) {
		free(v);
		return;
	}
	free(st->val[i - 1]);
	st->val[i - 1] = v;
	st->type[i - 1] = type;
}

void db_bind_int64(struct dbst *st, int i, int64_t v)
{
	if (st->sq) {
		sqlite3_bind_int64(st->sq, i, v);
		return;
	}
	char buf[24];
	snprintf(buf, sizeof buf, "%lld", (long long)v);
	set_val(st, i, strdup(buf), OID_INT8);
}

void db_bind_text(struct dbst *st, int i, const char *v, int len)
{
	if (st->sq) {
		sqlite3_bind_text(st->sq, i, v, len, SQLITE_TRANSIENT);
		return;
	}
	set_val(st, i, len < 0 ? strdup(v) : strndup(v, (size_t)len), 0 /* inferred: text or the column's */);
}

int db_step(struct dbst *st)
{
	if (st->sq) {
		int rc = sqlite3_step(st->sq);
		return rc == SQLITE_ROW ? DB_ROW : rc == SQLITE_DONE ? DB_DONE : -1;
	}
	if (!st->res) {
		st->res = PQexecParams(st->d->pg, st->sql, st->nparams, st->type, (const char *const *)st->val, NULL,
		                       NULL, 0);
		if (PQstatus(st->d->pg) == CONNECTION_BAD) {
			/* the server restarted or the network broke: connect again, once per statement
			 * (outside a transaction: one in progress is lost with the connection) */
			PQclear(st->res);
			PQreset(st->d->pg);
			PQclear(PQexec(st->d->pg, "SET default_transaction_read_only = on"));
			st->res = PQexecParams(st->d->pg, st->sql, st->nparams, st->type, (const char *const *)st->val,
			                       NULL, NULL, 0);
		}
		if (PQresultStatus(st->res) != PGRES_TUPLES_OK && PQresultStatus(st->res) != PGRES_COMMAND_OK) {
			pg_err(st->d, st->res);
			PQclear(st->res);
			st->res = NULL;
			return -1;
		}
		st->nrows = PQntuples(st->res);
		st->row = -1;
	}
	if (st->row + 1 >= st->nrows) {
		st->row = st->nrows;
		return DB_DONE;
	}
	st->row++;
	return DB_ROW;
}

void db_reset(struct dbst *st)
{
	if (st->sq) {
		sqlite3_reset(st->sq);
		return;
	}
	PQclear(st->res);
	st->res = NULL;
}

int db_ncols(struct dbst *st)
{
	return st->sq ? sqlite3_column_count(st->sq) : st->res ? PQnfields(st->res) : 0;
}

const char *db_colname(struct dbst *st, int col)
{
	return st->sq ? sqlite3_column_name(st->sq, col) : PQfname(st->res, col);
}

static int pg_null(struct dbst *st, int col)
{
	return !st->res || st->row < 0 || st->row >= st->nrows || col >= PQnfields(st->res) ||
	       PQgetisnull(st->res, st->row, col);
}

int db_type(struct dbst *st, int col)
{
	if (st->sq) {
		switch (sqlite3_column_type(st->sq, col)) {
		case SQLITE_INTEGER: return DB_INT;
		case SQLITE_FLOAT: return DB_FLOAT;
		case SQLITE_NULL: return DB_NULL;
		default: return DB_TEXT;
		}
	}
	if (pg_null(st, col))
		return DB_NULL;
	switch (PQftype(st->res, col)) {
	case OID_BOOL: /* SQLite's comparisons give 0 or 1 */
	case OID_INT2:
	case OID_INT4:
	case OID_INT8:
	case OID_OID: return DB_INT;
	case OID_FLOAT4:
	case OID_FLOAT8:
	case OID_NUMERIC: return DB_FLOAT;
	default: return DB_TEXT;
	}
}

int64_t db_int64(struct dbst *st, int col)
{
	if (st->sq)
		return sqlite3_column_int64(st->sq, col);
	if (pg_null(st, col))
		return 0;
	const char *v = PQgetvalue(st->res, st->row, col);
	if (PQftype(st->res, col) == OID_BOOL)
		return v[0] == 't';
	return strtoll(v, NULL, 10);
}

int db_int(struct dbst *st, int col)
{
	return (int)db_int64(st, col);
}

double db_double(struct dbst *st, int col)
{
	if (st->sq)
		return sqlite3_column_double(st->sq, col);
	/* float8's text is its shortest exact form (extra_float_digits 1, the default since 12) */
	return pg_null(st, col) ? 0 : strtod(PQgetvalue(st->res, st->row, col), NULL);
}

const unsigned char *db_text(struct dbst *st, int col)
{
	if (st->sq)
		return sqlite3_column_text(st->sq, col);
	return pg_null(st, col) ? NULL : (const unsigned char *)PQgetvalue(st->res, st->row, col);
}
