/* serve's read connection: a SQLite file or a PostgreSQL database (postgresql://...), both with
 * the schema of src/store (docs/plot.md, docs/scale.md "The store"). The API's queries are
 * written once, in the SQL both engines accept, with SQLite's ?N parameters; on PostgreSQL
 * they become $N and run as one PQexecParams each (parameters typed by their bind call). The
 * calls mirror sqlite3's prepare / bind / step / column / reset, so that the handlers read the
 * same either way. Private to src/http. */
#ifndef DM_HTTP_DB_H
#define DM_HTTP_DB_H

#include <stdint.h>

#include "base/err.h"

struct db;
struct dbst;

enum { DB_DONE = 0, DB_ROW = 1 };                          /* db_step; < 0 error */
enum { DB_NULL = 0, DB_INT = 1, DB_FLOAT = 2, DB_TEXT = 3 }; /* db_type */

/* Read-only; checks that path is a darkmap database of this schema (src/store). */
struct db *db_open(const char *path, struct dm_error *err);
void db_close(struct db *d);
int db_is_pg(const struct db *d);
const char *db_errmsg(const struct db *d);
/* A statement or an SQL command without rows (BEGIN, COMMIT): 0, or <0 error. */
int db_exec(struct db *d, const char *sql);
/* A read transaction whose statements see one commit; db_end closes it. */
int db_begin_read(struct db *d);
void db_end(struct db *d);
/* The query of the database's change counter (one integer): a different value means another
 * connection committed (SQLite PRAGMA data_version; PostgreSQL meta "data_version", bumped by
 * every commit of src/store/pg.c that wrote). */
const char *db_version_sql(const struct db *d);
/* 1 when the database has a table of that name. */
int db_has_table(struct db *d, const char *name);

struct dbst *db_prepare(struct db *d, const char *sql); /* NULL: error (db_errmsg) */
void db_finalize(struct dbst *st);
/* Parameters are numbered from 1 as in the SQL (?1); values are copied. */
void db_bind_int64(struct dbst *st, int i, int64_t v);
void db_bind_text(struct dbst *st, int i, const char *v, int len); /* len < 0: up to NUL */
int db_step(struct dbst *st);
/* Forgets the rows; the bindings stay (sqlite3_reset). */
void db_reset(struct dbst *st);
int db_ncols(struct dbst *st);
const char *db_colname(struct dbst *st, int col);
int db_type(struct dbst *st, int col);
int64_t db_int64(struct dbst *st, int col);
int db_int(struct dbst *st, int col);
double db_double(struct dbst *st, int col);
const unsigned char *db_text(struct dbst *st, int col); /* NULL for NULL */

#endif
