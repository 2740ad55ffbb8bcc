/* libpq, loaded when first used rather than at every start. Linking libpq made the dynamic loader
 * map and relocate it and its 25 dependencies (Kerberos, LDAP, GnuTLS, OpenSSL...) before main()
 * of every darkmap command: 10.0 M of the 23.8 M instructions of `darkmap dump` on a 3-record
 * file, measured with callgrind (3 Dec 2026), when only --db postgresql://... ever uses it.
 * So darkmap is not linked with libpq (Makefile): these functions, with libpq's own names and
 * prototypes (its header), open libpq.so.5 on first call and forward to it. When it cannot be
 * loaded, connecting fails with a message saying so (PQconnectdb gives NULL, PQstatus(NULL)
 * CONNECTION_BAD, PQerrorMessage the loader's reason), as a refused connection would. */
#include <dlfcn.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>

/* Every libpq function darkmap calls: return type, name, parameters. */
#define PQ_FUNCS(X)                                                                                      \
	X(void, PQclear, (PGresult *res))                                                                    \
	X(PGconn *, PQconnectdb, (const char *conninfo))                                                     \
	X(char *, PQerrorMessage, (const PGconn *conn))                                                      \
	X(PGresult *, PQexec, (PGconn *conn, const char *query))                                             \
	X(PGresult *, PQexecParams, (PGconn *conn, const char *command, int nParams, const Oid *paramTypes,  \
	                             const char *const *paramValues, const int *paramLengths,                \
	                             const int *paramFormats, int resultFormat))                             \
	X(void, PQfinish, (PGconn *conn))                                                                    \
	X(char *, PQfname, (const PGresult *res, int field_num))                                             \
	X(Oid, PQftype, (const PGresult *res, int field_num))                                                \
	X(PGresult *, PQgetResult, (PGconn *conn))                                                           \
	X(int, PQgetisnull, (const PGresult *res, int tup_num, int field_num))                               \
	X(int, PQgetlength, (const PGresult *res, int tup_num, int field_num))                               \
	X(char *, PQgetvalue, (const PGresult *res, int tup_num, int field_num))                             \
	X(int, PQnfields, (const PGresult *res))                                                             \
	X(int, PQntuples, (const PGresult *res))                                                             \
	X(int, PQputCopyData, (PGconn *conn, const char *buffer, int nbytes))                                \
	X(int, PQputCopyEnd, (PGconn *conn, const char *errormsg))                                           \
	X(void, PQreset, (PGconn *conn))                                                                     \
	X(char *, PQresultErrorMessage, (const PGresult *res))                                               \
	X(ExecStatusType, PQresultStatus, (const PGresult *res))                                             \
	X(ConnStatusType, PQstatus, (const PGconn *conn))

#define PQ_PTR(ret, name, params) ret(*name) params;
static struct {
	PQ_FUNCS(PQ_PTR)
} pq;
static pthread_once_t pq_once = PTHREAD_ONCE_INIT;
static int pq_loaded;
static char pq_why[256] = "libpq was not loaded";

static void pq_load(void)
{
	void *h = dlopen("libpq.so.5", RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		snprintf(pq_why, sizeof pq_why, "PostgreSQL's client library cannot be loaded (%s)\n", dlerror());
		return;
	}
#define PQ_SYM(ret, name, params)                                                                        \
	if (!(*(void **)&pq.name = dlsym(h, #name))) {                                                       \
		snprintf(pq_why, sizeof pq_why, "libpq.so.5 has no %s\n", #name);                                \
		return;                                                                                          \
	}
	PQ_FUNCS(PQ_SYM)
	pq_loaded = 1;
}

static int pq_ready(void)
{
	pthread_once(&pq_once, pq_load);
	return pq_loaded;
}

/* What each function answers when libpq is not there: only PQconnectdb is ever called first, and
 * it fails; the rest see its NULL connection (or a NULL result) as libpq itself would. */
void PQclear(PGresult *res)
{
	if (res && pq_ready())
		pq.PQclear(res);
}

void PQfinish(PGconn *conn)
{
	if (conn && pq_ready())
		pq.PQfinish(conn);
}

void PQreset(PGconn *conn)
{
	if (conn && pq_ready())
		pq.PQreset(conn);
}

PGconn *PQconnectdb(const char *conninfo) { return pq_ready() ? pq.PQconnectdb(conninfo) : NULL; }
char *PQerrorMessage(const PGconn *conn) { return pq_ready() ? pq.PQerrorMessage(conn) : pq_why; }
ConnStatusType PQstatus(const PGconn *conn) { return pq_ready() ? pq.PQstatus(conn) : CONNECTION_BAD; }
PGresult *PQexec(PGconn *conn, const char *query) { return pq_ready() ? pq.PQexec(conn, query) : NULL; }
PGresult *PQexecParams(PGconn *conn, const char *command, int nParams, const Oid *paramTypes,
                       const char *const *paramValues, const int *paramLengths, const int *paramFormats,
                       int resultFormat)
{
	return pq_ready() ? pq.PQexecParams(conn, command, nParams, paramTypes, paramValues, paramLengths,
	                                    paramFormats, resultFormat)
	                  : NULL;
}
char *PQfname(const PGresult *res, int field_num) { return pq_ready() ? pq.PQfname(res, field_num) : NULL; }
Oid PQftype(const PGresult *res, int field_num) { return pq_ready() ? pq.PQftype(res, field_num) : 0; }
PGresult *PQgetResult(PGconn *conn) { return pq_ready() ? pq.PQgetResult(conn) : NULL; }
int PQgetisnull(const PGresult *res, int tup_num, int field_num)
{
	return pq_ready() ? pq.PQgetisnull(res, tup_num, field_num) : 1;
}
int PQgetlength(const PGresult *res, int tup_num, int field_num)
{
	return pq_ready() ? pq.PQgetlength(res, tup_num, field_num) : 0;
}
char *PQgetvalue(const PGresult *res, int tup_num, int field_num)
{
	static char empty[1];
	return pq_ready() ? pq.PQgetvalue(res, tup_num, field_num) : empty;
}
int PQnfields(const PGresult *res) { return pq_ready() ? pq.PQnfields(res) : 0; }
int PQntuples(const PGresult *res) { return pq_ready() ? pq.PQntuples(res) : 0; }
int PQputCopyData(PGconn *conn, const char *buffer, int nbytes)
{
	return pq_ready() ? pq.PQputCopyData(conn, buffer, nbytes) : -1;
}
int PQputCopyEnd(PGconn *conn, const char *errormsg) { return pq_ready() ? pq.PQputCopyEnd(conn, errormsg) : -1; }
char *PQresultErrorMessage(const PGresult *res) { return pq_ready() ? pq.PQresultErrorMessage(res) : pq_why; }
ExecStatusType PQresultStatus(const PGresult *res) { return pq_ready() ? pq.PQresultStatus(res) : PGRES_FATAL_ERROR; }
